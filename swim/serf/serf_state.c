/* SPDX-License-Identifier: MIT */
/*
 * The Serf layer's replicated state: the user event buffer (dedupe,
 * delivery, re-gossip decisions) and the push/pull user state that
 * carries the three Lamport clocks, every member's status LTime, the
 * left members and the event buffer across TCP syncs.
 *
 * Must never: touch sockets, read a clock, log, or call rand().
 */
#include "serf_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* --- user events --- */

static void
ev_slot_clear(struct serf_ev_slot *slot)
{
	for (uint32_t i = 0; i < slot->nb; i++)
		free(slot->recs[i].data);
	slot->nb = 0;
}

/** Same name and payload (a nil payload equals an empty one, as Go). */
static bool
ev_rec_eq(const struct serf_ev_rec *r, const struct swim_str *name,
	  const struct swim_str *payload)
{
	return r->name_len == name->len && r->payload_len == payload->len &&
	       (name->len == 0 || memcmp(r->data, name->ptr, name->len) == 0) &&
	       (payload->len == 0 ||
		memcmp(r->data + r->name_len, payload->ptr, payload->len) == 0);
}

static int
ev_slot_add(struct serf_ev_slot *slot, const struct swim_str *name,
	    const struct swim_str *payload)
{
	struct serf_ev_rec *r;

	if (serf_grow((void **)&slot->recs, &slot->cap, slot->nb,
		      sizeof(*slot->recs)) != 0)
		return -ENOMEM;
	r = &slot->recs[slot->nb];
	r->data = malloc((size_t)name->len + payload->len + 1);
	if (r->data == NULL)
		return -ENOMEM;
	if (name->len > 0)
		memcpy(r->data, name->ptr, name->len);
	if (payload->len > 0)
		memcpy(r->data + name->len, payload->ptr, payload->len);
	r->name_len = name->len;
	r->payload_len = payload->len;
	r->payload_nil = payload->ptr == NULL;
	slot->nb++;
	return 0;
}

/** handleUserEvent: dedupe in the event buffer. @retval true if new. */
bool
serf_user_event_handle(struct serf *serf, const struct serf_msg_user_event *m)
{
	uint64_t n = serf->cfg.event_buffer;
	uint64_t cur;
	struct serf_ev_slot *slot;

	serf_clock_witness(&serf->event_clock, m->ltime);
	cur = serf->event_clock.time;
	if (m->ltime < serf->event_min_time || (cur > n && m->ltime < cur - n))
		return false;
	slot = &serf->ev_slots[m->ltime % n];
	if (slot->is_used && slot->ltime == m->ltime) {
		for (uint32_t i = 0; i < slot->nb; i++) {
			if (ev_rec_eq(&slot->recs[i], &m->name, &m->payload))
				return false;
		}
	} else {
		ev_slot_clear(slot);
		slot->is_used = true;
		slot->ltime = m->ltime;
	}
	if (ev_slot_add(slot, &m->name, &m->payload) != 0)
		return false;
	struct serf_event *ev = serf_event_next(serf, SERF_EV_USER);
	if (ev != NULL) {
		ev->ltime = m->ltime;
		ev->coalesce = m->cc;
		if (!serf_event_set_name(ev, &m->name) ||
		    !serf_event_set_payload(ev, &m->payload))
			serf_event_drop_last(serf);
	}
	return true;
}

int
serf_user_event(struct serf *serf, uint64_t now_us, const char *name,
		size_t name_len, const uint8_t *payload, size_t payload_len,
		bool coalesce)
{
	uint8_t buf[SERF_PAYLOAD_MAX + SWIM_NAME_MAX + 64];
	struct serf_msg_user_event m;
	int len;

	(void)now_us;
	if (name_len == 0 || name_len > SWIM_NAME_MAX)
		return -EINVAL;
	if (name_len + payload_len > serf->cfg.user_event_size_limit ||
	    payload_len > SERF_PAYLOAD_MAX)
		return -EMSGSIZE;
	m = (struct serf_msg_user_event){
		.ltime = serf->event_clock.time,
		.name = { (const uint8_t *)name, (uint32_t)name_len },
		.payload = { payload, (uint32_t)payload_len },
		.cc = coalesce,
	};
	len = serf_msg_encode_user_event(&m, buf, sizeof(buf));
	if (len < 0)
		return -EMSGSIZE;
	serf_clock_increment(&serf->event_clock);
	serf_user_event_handle(serf, &m);
	serf_broadcast(serf, buf, len);
	return 0;
}

void
serf_ev_slots_free(struct serf *serf)
{
	if (serf->ev_slots == NULL)
		return;
	for (uint32_t i = 0; i < serf->cfg.event_buffer; i++) {
		ev_slot_clear(&serf->ev_slots[i]);
		free(serf->ev_slots[i].recs);
	}
	free(serf->ev_slots);
	serf->ev_slots = NULL;
}

/* --- push/pull --- */


/** Scratch arrays that LocalState needs, sized for this call. */
struct pp_scratch {
	struct serf_msg_pp_status *status;
	struct swim_str *left;
	struct serf_msg_pp_group *groups;
	struct serf_msg_pp_event *events;
};

static void
pp_scratch_free(struct pp_scratch *s)
{
	free(s->status);
	free(s->left);
	free(s->groups);
	free(s->events);
}

static int
pp_scratch_alloc(struct serf *serf, struct pp_scratch *s)
{
	uint32_t nb_events = 0;

	for (uint32_t i = 0; i < serf->cfg.event_buffer; i++)
		nb_events += serf->ev_slots[i].nb;
	uint32_t nb = serf_member_count(serf);

	s->status = calloc((size_t)nb + 1, sizeof(*s->status));
	s->left = calloc((size_t)nb + 1, sizeof(*s->left));
	s->groups = calloc(serf->cfg.event_buffer, sizeof(*s->groups));
	s->events = calloc(nb_events + 1, sizeof(*s->events));
	if (s->status == NULL || s->left == NULL || s->groups == NULL ||
	    s->events == NULL) {
		pp_scratch_free(s);
		return -ENOMEM;
	}
	return 0;
}

/** The event buffer's used slots, oldest slot index first. */
static uint32_t
pp_fill_groups(struct serf *serf, struct pp_scratch *s)
{
	uint32_t nb = 0;
	struct serf_msg_pp_event *ev = s->events;

	for (uint32_t i = 0; i < serf->cfg.event_buffer; i++) {
		const struct serf_ev_slot *slot = &serf->ev_slots[i];
		if (!slot->is_used)
			continue;
		struct serf_msg_pp_group *g = &s->groups[nb++];
		g->ltime = slot->ltime;
		g->events = ev;
		g->nb_events = slot->nb;
		for (uint32_t j = 0; j < slot->nb; j++, ev++) {
			const struct serf_ev_rec *r = &slot->recs[j];
			ev->name = (struct swim_str){ r->data, r->name_len };
			ev->payload = (struct swim_str){
				r->payload_nil ? NULL : r->data + r->name_len,
				r->payload_len };
		}
	}
	return nb;
}

/*
 * An upper bound of messagePushPull's encoding: a msgpack string costs
 * at most its bytes + 5, an integer 9, a container header 5; the field
 * names and headers of the message itself stay under 256 bytes.
 */
static size_t
pp_bound(const struct serf_msg_push_pull *pp)
{
	size_t n = 256;

	for (uint32_t i = 0; i < pp->nb_status; i++)
		n += (size_t)pp->status[i].name.len + 5 + 9;
	for (uint32_t i = 0; i < pp->nb_left; i++)
		n += (size_t)pp->left[i].len + 5;
	for (uint32_t i = 0; i < pp->nb_groups; i++) {
		const struct serf_msg_pp_group *g = &pp->groups[i];
		n += 64;	/* {LTime, Events} and their headers */
		for (uint32_t j = 0; j < g->nb_events; j++)
			n += 32 + (size_t)g->events[j].name.len + 5 +
			     g->events[j].payload.len + 5;
	}
	return n;
}

size_t
serf_local_state(struct serf *serf, uint8_t *buf, size_t cap)
{
	struct pp_scratch s;
	struct serf_msg_pp_status *st;
	const struct serf_member *m;
	uint32_t nb_left = 0;
	uint32_t nb = 0;
	uint32_t pos = 0;

	if (pp_scratch_alloc(serf, &s) != 0)
		return 0;
	while ((m = swim_index_next(&serf->index, &pos)) != NULL) {
		st = &s.status[nb++];
		size_t len;
		const char *name = swim_member_name(m->node, &len);
		st->name = (struct swim_str){ (const uint8_t *)name,
					      (uint32_t)len };
		st->ltime = m->status_ltime;
		if (m->status == SERF_STATUS_LEFT)
			s.left[nb_left++] = st->name;
	}
	struct serf_msg_push_pull pp = {
		.ltime = serf->clock.time,
		.event_ltime = serf->event_clock.time,
		.query_ltime = serf->query_clock.time,
		.status = s.status, .nb_status = nb,
		.left = s.left, .nb_left = nb_left,
		.groups = s.groups, .nb_groups = pp_fill_groups(serf, &s),
	};
	int rc = serf_msg_encode_push_pull(&pp, buf, cap);
	/* Too small: one encode into room for the worst case gives the exact
	 * size (no doubling, no cap: a gossipd peer takes any size). */
	if (rc == SWIM_WIRE_E_NOSPACE) {
		size_t need = pp_bound(&pp);
		uint8_t *tmp = need <= INT32_MAX ? malloc(need) : NULL;
		if (tmp != NULL)
			rc = serf_msg_encode_push_pull(&pp, tmp, need);
		free(tmp);
	}
	pp_scratch_free(&s);
	return rc < 0 ? 0 : (size_t)rc;
}

static const char *
pp_status_key(const void *e, size_t *len)
{
	const struct serf_msg_pp_status *st = e;

	*len = st->name.len;
	return (const char *)st->name.ptr;
}

static const char *
pp_left_key(const void *e, size_t *len)
{
	const struct swim_str *name = e;

	*len = name->len;
	return (const char *)name->ptr;
}

/** The peer's StatusLTimes and LeftMembers, decoded and indexed by name. */
struct pp_remote {
	struct serf_msg_pp_status *st;
	uint32_t nb_st;
	struct swim_str *left;
	uint32_t nb_left;
	struct swim_index st_index;
	struct swim_index left_index;
};

static void
pp_remote_free(struct pp_remote *r)
{
	free(r->st);
	free(r->left);
	swim_index_destroy(&r->st_index);
	swim_index_destroy(&r->left_index);
}

/*
 * Index both lists by name (nameless entries are skipped), so applying
 * n entries costs O(n) whatever a peer sends, never n * n.
 */
static int
pp_remote_load(const struct serf_msg_push_pull *pp, struct pp_remote *r)
{
	const uint8_t *p = pp->raw_status.ptr;
	const uint8_t *end = p + pp->raw_status.len;

	memset(r, 0, sizeof(*r));
	r->st = malloc(((size_t)pp->nb_status + 1) * sizeof(*r->st));
	r->left = malloc(((size_t)pp->nb_left + 1) * sizeof(*r->left));
	if (r->st == NULL || r->left == NULL ||
	    swim_index_init(&r->st_index, pp_status_key) != 0 ||
	    swim_index_init(&r->left_index, pp_left_key) != 0)
		return -ENOMEM;
	while (r->nb_st < pp->nb_status &&
	       serf_msg_pp_status_next(&p, end, &r->st[r->nb_st]) == 1) {
		if (r->st[r->nb_st].name.ptr != NULL &&
		    swim_index_insert(&r->st_index, &r->st[r->nb_st]) != 0)
			return -ENOMEM;
		r->nb_st++;
	}
	p = pp->raw_left.ptr;
	end = p + pp->raw_left.len;
	while (r->nb_left < pp->nb_left &&
	       serf_msg_pp_left_next(&p, end, &r->left[r->nb_left]) == 1) {
		if (r->left[r->nb_left].ptr != NULL &&
		    swim_index_insert(&r->left_index,
				      &r->left[r->nb_left]) != 0)
			return -ENOMEM;
		r->nb_left++;
	}
	return 0;
}

/** Left members first (synthetic leave intents), then joins. */
static void
pp_apply_intents(struct serf *serf, uint64_t now_us,
		 const struct serf_msg_push_pull *pp)
{
	struct pp_remote r;

	if (pp_remote_load(pp, &r) != 0)
		goto out_free;
	for (uint32_t i = 0; i < r.nb_left; i++) {
		const struct swim_str *n = &r.left[i];
		if (n->ptr == NULL)
			continue;
		const struct serf_msg_pp_status *found = swim_index_find(
			&r.st_index, (const char *)n->ptr, n->len);
		/* StatusLTimes[name]: 0 when absent, Go's zero value. */
		serf_intent_leave(serf, now_us, n,
				  found != NULL ? found->ltime : 0, false);
	}
	for (uint32_t i = 0; i < r.nb_st; i++) {
		const struct swim_str *n = &r.st[i].name;
		if (n->ptr == NULL ||
		    swim_index_find(&r.left_index, (const char *)n->ptr,
				    n->len) != NULL)
			continue;
		serf_intent_join(serf, now_us, n, r.st[i].ltime);
	}
out_free:
	pp_remote_free(&r);
}

/** Replay the peer's event buffer (delivered, never re-gossiped). */
static void
pp_apply_events(struct serf *serf, const struct serf_msg_push_pull *pp)
{
	const uint8_t *p = pp->raw_events.ptr;
	struct serf_msg_pp_group g;
	struct serf_msg_pp_event e;

	if (p == NULL)
		return;		/* no Events: no arithmetic on a NULL slice */
	const uint8_t *end = p + pp->raw_events.len;
	while (serf_msg_pp_group_next(&p, end, &g) == 1) {
		if (g.is_nil || g.raw_events.ptr == NULL)
			continue;
		const uint8_t *q = g.raw_events.ptr;
		const uint8_t *qe = q + g.raw_events.len;
		while (serf_msg_pp_event_next(&q, qe, &e) == 1) {
			struct serf_msg_user_event m = {
				.ltime = g.ltime, .name = e.name,
				.payload = e.payload,
			};
			serf_user_event_handle(serf, &m);
		}
	}
}

int
serf_merge_remote_state(struct serf *serf, uint64_t now_us,
			const uint8_t *buf, size_t len, bool join)
{
	struct serf_msg_push_pull pp;
	int rc;

	if (len == 0)
		return 0;	/* a foreign node may send no state */
	rc = serf_msg_decode_push_pull(buf, len, &pp);
	if (rc != 0) {
		serf->stats.msgs_bad++;
		return rc;
	}
	/* Witness v - 1: no message at the peer's current time exists yet. */
	if (pp.ltime > 0)
		serf_clock_witness(&serf->clock, pp.ltime - 1);
	if (pp.event_ltime > 0)
		serf_clock_witness(&serf->event_clock, pp.event_ltime - 1);
	if (pp.query_ltime > 0)
		serf_clock_witness(&serf->query_clock, pp.query_ltime - 1);
	pp_apply_intents(serf, now_us, &pp);
	/* Our own join without replay: older events are not ours to see. */
	if (join && pp.event_ltime > serf->event_min_time)
		serf->event_min_time = pp.event_ltime;
	pp_apply_events(serf, &pp);
	return 0;
}
