/* SPDX-License-Identifier: MIT */
/*
 * Serf's push/pull user state (messagePushPull) and the walkers over its
 * decoded parts (see serf_msg.h). Field tables as in serf_msg.c; the
 * containers are encoded from arrays and decoded as slices of their
 * entries, walked later. Never allocates.
 */
#include "serf_msg.h"
#include "swim_mp.h"

#include <string.h>

#define F SWIM_MP_F

static const struct swim_mp_field event_f[] = {
	F("Name", STR, struct serf_msg_pp_event, name),
	F("Payload", BYTES, struct serf_msg_pp_event, payload),
};

static int
rd_group_events(const uint8_t **pos, const uint8_t *end, void *obj)
{
	struct serf_msg_pp_group *g = obj;

	return swim_mp_read_body(pos, end, false, &g->raw_events,
				 &g->nb_events);
}

static void
wr_group_events(struct swim_mp_w *w, const void *obj)
{
	const struct serf_msg_pp_group *g = obj;

	swim_mp_put_array(w, g->nb_events);
	for (uint32_t i = 0; i < g->nb_events; i++)
		swim_mp_encode_struct(w, event_f, SWIM_MP_NB(event_f),
				      &g->events[i]);
}

/** One slot of the event buffer: nil, or {Events: [{Name, Payload}], LTime}. */
static const struct swim_mp_field group_f[] = {
	SWIM_MP_FN_FIELD("Events", rd_group_events, wr_group_events),
	F("LTime", U64, struct serf_msg_pp_group, ltime),
};

static int
rd_pp_events(const uint8_t **pos, const uint8_t *end, void *obj)
{
	struct serf_msg_push_pull *m = obj;

	return swim_mp_read_body(pos, end, false, &m->raw_events,
				 &m->nb_groups);
}

static void
wr_pp_events(struct swim_mp_w *w, const void *obj)
{
	const struct serf_msg_push_pull *m = obj;

	swim_mp_put_array(w, m->nb_groups);
	for (uint32_t i = 0; i < m->nb_groups; i++) {
		if (m->groups[i].is_nil)
			swim_mp_put_u8(w, 0xc0);
		else
			swim_mp_encode_struct(w, group_f, SWIM_MP_NB(group_f),
					      &m->groups[i]);
	}
}

static int
rd_pp_left(const uint8_t **pos, const uint8_t *end, void *obj)
{
	struct serf_msg_push_pull *m = obj;

	return swim_mp_read_body(pos, end, false, &m->raw_left, &m->nb_left);
}

static void
wr_pp_left(struct swim_mp_w *w, const void *obj)
{
	const struct serf_msg_push_pull *m = obj;

	swim_mp_put_array(w, m->nb_left);
	for (uint32_t i = 0; i < m->nb_left; i++)
		swim_mp_put_str(w, &m->left[i]);
}

static int
rd_pp_status(const uint8_t **pos, const uint8_t *end, void *obj)
{
	struct serf_msg_push_pull *m = obj;

	return swim_mp_read_body(pos, end, true, &m->raw_status,
				 &m->nb_status);
}

/** StatusLTimes: a map of member name to its status LTime. */
static void
wr_pp_status(struct swim_mp_w *w, const void *obj)
{
	const struct serf_msg_push_pull *m = obj;

	swim_mp_put_map(w, m->nb_status);
	for (uint32_t i = 0; i < m->nb_status; i++) {
		swim_mp_put_str(w, &m->status[i].name);
		swim_mp_put_uint(w, m->status[i].ltime);
	}
}

#define T struct serf_msg_push_pull
static const struct swim_mp_field push_pull_f[] = {
	F("EventLTime", U64, T, event_ltime),
	SWIM_MP_FN_FIELD("Events", rd_pp_events, wr_pp_events),
	F("LTime", U64, T, ltime),
	SWIM_MP_FN_FIELD("LeftMembers", rd_pp_left, wr_pp_left),
	F("QueryLTime", U64, T, query_ltime),
	SWIM_MP_FN_FIELD("StatusLTimes", rd_pp_status, wr_pp_status),
};
#undef T

int
serf_msg_encode_push_pull(const struct serf_msg_push_pull *m, uint8_t *out,
			  size_t cap)
{
	return swim_mp_encode_msg(SERF_MSG_PUSH_PULL, push_pull_f,
				  SWIM_MP_NB(push_pull_f), m, out, cap);
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

int
serf_msg_decode_push_pull(const uint8_t *buf, size_t len,
			  struct serf_msg_push_pull *m)
{
	struct serf_msg_pp_status st;
	struct swim_str name;
	struct serf_msg_pp_group g;
	int rc;

	memset(m, 0, sizeof(*m));
	rc = swim_mp_decode_msg(buf, len, SERF_MSG_PUSH_PULL, push_pull_f,
				SWIM_MP_NB(push_pull_f), m);
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
	int rc = swim_mp_decode_struct(pos, end, SWIM_MP_SERF, group_f,
				       SWIM_MP_NB(group_f), g);
	return rc < 0 ? rc : 1;
}

int
serf_msg_pp_event_next(const uint8_t **pos, const uint8_t *end,
		       struct serf_msg_pp_event *ev)
{
	if (walk_done(*pos, end))
		return 0;
	memset(ev, 0, sizeof(*ev));
	int rc = swim_mp_decode_struct(pos, end, SWIM_MP_SERF, event_f,
				       SWIM_MP_NB(event_f), ev);
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
