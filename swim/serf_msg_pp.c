/* SPDX-License-Identifier: MIT */
/*
 * Serf's push/pull user state (messagePushPull) and the walkers over its
 * decoded parts (see serf_msg.h). Never allocates.
 */
#include "serf_msg.h"
#include "serf_mp.h"

#include <string.h>

/** One slot of the event buffer: nil, or {Events: [{Name, Payload}], LTime}. */
static void
w_pp_group(struct serf_w *w, const struct serf_msg_pp_group *g)
{
	if (g->is_nil) {
		serf_w_u8(w, 0xc0);
		return;
	}
	serf_w_map(w, 2);
	serf_w_key(w, "Events");
	serf_w_array(w, g->nb_events);
	for (uint32_t i = 0; i < g->nb_events; i++) {
		serf_w_map(w, 2);
		serf_w_key(w, "Name");
		serf_w_gostr(w, &g->events[i].name);
		serf_w_key(w, "Payload");
		serf_w_bytes(w, &g->events[i].payload);
	}
	serf_w_key(w, "LTime");
	serf_w_uint(w, g->ltime);
}

int
serf_msg_encode_push_pull(const struct serf_msg_push_pull *m, uint8_t *out,
			  size_t cap)
{
	struct serf_w w;

	serf_w_init(&w, out, cap);
	serf_w_u8(&w, SERF_MSG_PUSH_PULL);
	serf_w_map(&w, 6);
	serf_w_key(&w, "EventLTime");
	serf_w_uint(&w, m->event_ltime);
	serf_w_key(&w, "Events");
	serf_w_array(&w, m->nb_groups);
	for (uint32_t i = 0; i < m->nb_groups; i++)
		w_pp_group(&w, &m->groups[i]);
	serf_w_key(&w, "LTime");
	serf_w_uint(&w, m->ltime);
	serf_w_key(&w, "LeftMembers");
	serf_w_array(&w, m->nb_left);
	for (uint32_t i = 0; i < m->nb_left; i++)
		serf_w_gostr(&w, &m->left[i]);
	serf_w_key(&w, "QueryLTime");
	serf_w_uint(&w, m->query_ltime);
	serf_w_key(&w, "StatusLTimes");
	serf_w_map(&w, m->nb_status);
	for (uint32_t i = 0; i < m->nb_status; i++) {
		serf_w_gostr(&w, &m->status[i].name);
		serf_w_uint(&w, m->status[i].ltime);
	}
	return serf_w_result(&w);
}

/** Validate a raw slice by walking it fully with a walker. */
static int
pp_validate(const struct swim_str *raw, int (*next)(const uint8_t **,
	    const uint8_t *, void *), void *item)
{
	const uint8_t *p = raw->ptr;
	const uint8_t *end = raw->ptr + raw->len;
	int rc;

	if (raw->ptr == NULL)
		return 0;
	while ((rc = next(&p, end, item)) == 1)
		;
	return rc;
}

static int
pp_status_any(const uint8_t **p, const uint8_t *e, void *it)
{
	return serf_msg_pp_status_next(p, e, it);
}

static int
pp_left_any(const uint8_t **p, const uint8_t *e, void *it)
{
	return serf_msg_pp_left_next(p, e, it);
}

/** A group and every event inside it. */
static int
pp_group_any(const uint8_t **p, const uint8_t *e, void *it)
{
	struct serf_msg_pp_group *g = it;
	struct serf_msg_pp_event ev;
	int rc = serf_msg_pp_group_next(p, e, g);

	if (rc != 1 || g->is_nil)
		return rc;
	const uint8_t *q = g->raw_events.ptr;
	const uint8_t *qe = q + g->raw_events.len;
	int rc2;
	while ((rc2 = serf_msg_pp_event_next(&q, qe, &ev)) == 1)
		;
	return rc2 < 0 ? rc2 : 1;
}

static int
push_pull_field(void *arg, const struct swim_str *k, const uint8_t **pos,
		const uint8_t *end)
{
	struct serf_msg_push_pull *m = arg;

	if (serf_key_is(k, "EventLTime"))
		return serf_rd_uint(pos, end, UINT64_MAX, &m->event_ltime);
	if (serf_key_is(k, "LTime"))
		return serf_rd_uint(pos, end, UINT64_MAX, &m->ltime);
	if (serf_key_is(k, "QueryLTime"))
		return serf_rd_uint(pos, end, UINT64_MAX, &m->query_ltime);
	if (serf_key_is(k, "Events"))
		return serf_rd_body(pos, end, false, &m->raw_events,
				    &m->nb_groups);
	if (serf_key_is(k, "LeftMembers"))
		return serf_rd_body(pos, end, false, &m->raw_left, &m->nb_left);
	if (serf_key_is(k, "StatusLTimes"))
		return serf_rd_body(pos, end, true, &m->raw_status,
				    &m->nb_status);
	return 1;
}

int
serf_msg_decode_push_pull(const uint8_t *buf, size_t len,
			  struct serf_msg_push_pull *m)
{
	struct serf_msg_pp_status st;
	struct swim_str name;
	struct serf_msg_pp_group g;
	int rc;

	memset(m, 0, sizeof(*m));
	rc = serf_rd_msg(buf, len, SERF_MSG_PUSH_PULL, m, push_pull_field);
	if (rc == 0)
		rc = pp_validate(&m->raw_status, pp_status_any, &st);
	if (rc == 0)
		rc = pp_validate(&m->raw_left, pp_left_any, &name);
	if (rc == 0)
		rc = pp_validate(&m->raw_events, pp_group_any, &g);
	return rc;
}

/** At the end of a container body slice? */
static bool
walk_done(const uint8_t *pos, const uint8_t *end)
{
	return pos >= end;
}

int
serf_msg_pp_status_next(const uint8_t **pos, const uint8_t *end,
			struct serf_msg_pp_status *st)
{
	if (walk_done(*pos, end))
		return 0;
	int rc = serf_rd_str(pos, end, &st->name);
	if (rc == 0)
		rc = serf_rd_uint(pos, end, UINT64_MAX, &st->ltime);
	return rc < 0 ? rc : 1;
}

int
serf_msg_pp_left_next(const uint8_t **pos, const uint8_t *end,
		      struct swim_str *name)
{
	if (walk_done(*pos, end))
		return 0;
	int rc = serf_rd_str(pos, end, name);
	return rc < 0 ? rc : 1;
}

static int
group_field(void *arg, const struct swim_str *k, const uint8_t **pos,
	    const uint8_t *end)
{
	struct serf_msg_pp_group *g = arg;

	if (serf_key_is(k, "LTime"))
		return serf_rd_uint(pos, end, UINT64_MAX, &g->ltime);
	if (serf_key_is(k, "Events"))
		return serf_rd_body(pos, end, false, &g->raw_events,
				    &g->nb_events);
	return 1;
}

int
serf_msg_pp_group_next(const uint8_t **pos, const uint8_t *end,
		       struct serf_msg_pp_group *g)
{
	if (walk_done(*pos, end))
		return 0;
	memset(g, 0, sizeof(*g));
	if (**pos == 0xc0) {
		(*pos)++;
		g->is_nil = true;
		return 1;
	}
	int rc = serf_rd_struct(pos, end, g, group_field);
	return rc < 0 ? rc : 1;
}

static int
pp_event_field(void *arg, const struct swim_str *k, const uint8_t **pos,
	       const uint8_t *end)
{
	struct serf_msg_pp_event *ev = arg;

	if (serf_key_is(k, "Name"))
		return serf_rd_str(pos, end, &ev->name);
	if (serf_key_is(k, "Payload"))
		return serf_rd_str(pos, end, &ev->payload);
	return 1;
}

int
serf_msg_pp_event_next(const uint8_t **pos, const uint8_t *end,
		       struct serf_msg_pp_event *ev)
{
	if (walk_done(*pos, end))
		return 0;
	memset(ev, 0, sizeof(*ev));
	int rc = serf_rd_struct(pos, end, ev, pp_event_field);
	return rc < 0 ? rc : 1;
}

int
serf_msg_filter_next(const uint8_t **pos, const uint8_t *end,
		     struct swim_str *filter)
{
	if (walk_done(*pos, end))
		return 0;
	int rc = serf_rd_str(pos, end, filter);
	if (rc == 0 && (filter->ptr == NULL || filter->len == 0))
		rc = SWIM_WIRE_E_EMPTY;
	return rc < 0 ? rc : 1;
}
