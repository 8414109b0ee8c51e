/* SPDX-License-Identifier: MIT */
/*
 * Serf's push/pull user state (messagePushPull) and the walkers over its
 * decoded parts (see serf_msg.h). Never allocates.
 */
#include "serf_msg.h"
#include "swim_mp.h"

#include <string.h>

/** One slot of the event buffer: nil, or {Events: [{Name, Payload}], LTime}. */
static void
w_pp_group(struct swim_mp_w *w, const struct serf_msg_pp_group *g)
{
	if (g->is_nil) {
		swim_mp_put_u8(w, 0xc0);
		return;
	}
	swim_mp_put_map(w, 2);
	swim_mp_put_key(w, "Events");
	swim_mp_put_array(w, g->nb_events);
	for (uint32_t i = 0; i < g->nb_events; i++) {
		swim_mp_put_map(w, 2);
		swim_mp_put_key(w, "Name");
		swim_mp_put_str(w, &g->events[i].name);
		swim_mp_put_key(w, "Payload");
		swim_mp_put_bytes(w, &g->events[i].payload);
	}
	swim_mp_put_key(w, "LTime");
	swim_mp_put_uint(w, g->ltime);
}

int
serf_msg_encode_push_pull(const struct serf_msg_push_pull *m, uint8_t *out,
			  size_t cap)
{
	struct swim_mp_w w;

	swim_mp_w_create(&w, out, cap);
	swim_mp_put_u8(&w, SERF_MSG_PUSH_PULL);
	swim_mp_put_map(&w, 6);
	swim_mp_put_key(&w, "EventLTime");
	swim_mp_put_uint(&w, m->event_ltime);
	swim_mp_put_key(&w, "Events");
	swim_mp_put_array(&w, m->nb_groups);
	for (uint32_t i = 0; i < m->nb_groups; i++)
		w_pp_group(&w, &m->groups[i]);
	swim_mp_put_key(&w, "LTime");
	swim_mp_put_uint(&w, m->ltime);
	swim_mp_put_key(&w, "LeftMembers");
	swim_mp_put_array(&w, m->nb_left);
	for (uint32_t i = 0; i < m->nb_left; i++)
		swim_mp_put_str(&w, &m->left[i]);
	swim_mp_put_key(&w, "QueryLTime");
	swim_mp_put_uint(&w, m->query_ltime);
	swim_mp_put_key(&w, "StatusLTimes");
	swim_mp_put_map(&w, m->nb_status);
	for (uint32_t i = 0; i < m->nb_status; i++) {
		swim_mp_put_str(&w, &m->status[i].name);
		swim_mp_put_uint(&w, m->status[i].ltime);
	}
	return swim_mp_w_result(&w);
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

/* The containers are kept as slices of their entries, walked later. */
static int
rd_pp_events(const uint8_t **pos, const uint8_t *end, void *obj)
{
	struct serf_msg_push_pull *m = obj;

	return swim_mp_read_body(pos, end, false, &m->raw_events,
				 &m->nb_groups);
}

static int
rd_pp_left(const uint8_t **pos, const uint8_t *end, void *obj)
{
	struct serf_msg_push_pull *m = obj;

	return swim_mp_read_body(pos, end, false, &m->raw_left, &m->nb_left);
}

static int
rd_pp_status(const uint8_t **pos, const uint8_t *end, void *obj)
{
	struct serf_msg_push_pull *m = obj;

	return swim_mp_read_body(pos, end, true, &m->raw_status,
				 &m->nb_status);
}

int
serf_msg_decode_push_pull(const uint8_t *buf, size_t len,
			  struct serf_msg_push_pull *m)
{
	struct serf_msg_pp_status st;
	struct swim_str name;
	struct serf_msg_pp_group g;
	static const struct swim_mp_field f[] = {
		SWIM_MP_IN("EventLTime", U64, struct serf_msg_push_pull,
			   event_ltime),
		SWIM_MP_IN_FN("Events", rd_pp_events),
		SWIM_MP_IN("LTime", U64, struct serf_msg_push_pull, ltime),
		SWIM_MP_IN_FN("LeftMembers", rd_pp_left),
		SWIM_MP_IN("QueryLTime", U64, struct serf_msg_push_pull,
			   query_ltime),
		SWIM_MP_IN_FN("StatusLTimes", rd_pp_status),
	};
	int rc;

	memset(m, 0, sizeof(*m));
	rc = swim_mp_decode_msg(buf, len, SERF_MSG_PUSH_PULL, f, SWIM_MP_NB(f),
				m);
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
	int rc = swim_mp_read_str(pos, end, &st->name);
	if (rc == 0)
		rc = swim_mp_read_uint(pos, end, UINT64_MAX, &st->ltime);
	return rc < 0 ? rc : 1;
}

int
serf_msg_pp_left_next(const uint8_t **pos, const uint8_t *end,
		      struct swim_str *name)
{
	if (walk_done(*pos, end))
		return 0;
	int rc = swim_mp_read_str(pos, end, name);
	return rc < 0 ? rc : 1;
}

static int
rd_group_events(const uint8_t **pos, const uint8_t *end, void *obj)
{
	struct serf_msg_pp_group *g = obj;

	return swim_mp_read_body(pos, end, false, &g->raw_events,
				 &g->nb_events);
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
	static const struct swim_mp_field f[] = {
		SWIM_MP_IN_FN("Events", rd_group_events),
		SWIM_MP_IN("LTime", U64, struct serf_msg_pp_group, ltime),
	};
	int rc = swim_mp_decode_struct(pos, end, SWIM_MP_SERF, f,
				       SWIM_MP_NB(f), g);
	return rc < 0 ? rc : 1;
}

int
serf_msg_pp_event_next(const uint8_t **pos, const uint8_t *end,
		       struct serf_msg_pp_event *ev)
{
	if (walk_done(*pos, end))
		return 0;
	memset(ev, 0, sizeof(*ev));
	static const struct swim_mp_field f[] = {
		SWIM_MP_IN("Name", BYTES, struct serf_msg_pp_event, name),
		SWIM_MP_IN("Payload", BYTES, struct serf_msg_pp_event, payload),
	};
	int rc = swim_mp_decode_struct(pos, end, SWIM_MP_SERF, f,
				       SWIM_MP_NB(f), ev);
	return rc < 0 ? rc : 1;
}

int
serf_msg_filter_next(const uint8_t **pos, const uint8_t *end,
		     struct swim_str *filter)
{
	if (walk_done(*pos, end))
		return 0;
	int rc = swim_mp_read_str(pos, end, filter);
	if (rc == 0 && (filter->ptr == NULL || filter->len == 0))
		rc = SWIM_WIRE_E_EMPTY;
	return rc < 0 ? rc : 1;
}
