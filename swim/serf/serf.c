/* SPDX-License-Identifier: MIT */
/*
 * The Serf layer's entry points: lifecycle, dispatch of the core's events
 * and of inbound Serf messages, timers (reap, reconnect), local actions
 * and the member view. Member status rules are in serf_member.c, the
 * event buffer and push/pull in serf_state.c, queries in serf_query.c.
 *
 * Must never: touch sockets, read a clock, log, or call rand().
 * Runs on the control thread only.
 */
#include "serf_int.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define US_PER_S 1000000ull

const char *const serf_member_status_str[SERF_STATUS_COUNT] = {
	[SERF_STATUS_NONE] = "none",
	[SERF_STATUS_ALIVE] = "alive",
	[SERF_STATUS_LEAVING] = "leaving",
	[SERF_STATUS_LEFT] = "left",
	[SERF_STATUS_FAILED] = "failed",
};

const char *const serf_event_kind_str[SERF_EV_COUNT] = {
	[SERF_EV_MEMBER_JOIN] = "member-join",
	[SERF_EV_MEMBER_LEAVE] = "member-leave",
	[SERF_EV_MEMBER_FAILED] = "member-failed",
	[SERF_EV_MEMBER_UPDATE] = "member-update",
	[SERF_EV_MEMBER_REAP] = "member-reap",
	[SERF_EV_USER] = "user",
	[SERF_EV_QUERY] = "query",
	[SERF_EV_QUERY_ACK] = "query-ack",
	[SERF_EV_QUERY_RESPONSE] = "query-response",
	[SERF_EV_QUERY_DONE] = "query-done",
};

void
serf_cfg_default(struct serf_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	/* memberlist LAN GossipInterval, for the default query timeout. */
	cfg->gossip_interval_us = 200 * 1000;
	/* Queries live GossipInterval * 16 * log10(N+1): time to spread. */
	cfg->query_timeout_mult = 16;
	/* Queries and responses must fit a UDP packet with room to spare. */
	cfg->query_size_limit = 1024;
	cfg->query_response_size_limit = 1024;
	/* The agent's limit on name + payload of a user event. */
	cfg->user_event_size_limit = 512;
	/* Dedupe windows: this many Lamport ticks of events and queries. */
	cfg->event_buffer = 512;
	cfg->query_buffer = 512;
	cfg->reap_interval_us = 15 * US_PER_S;
	cfg->reconnect_interval_us = 30 * US_PER_S;
	/* Failed and left members are remembered for a day. */
	cfg->reconnect_timeout_us = 24 * 3600 * US_PER_S;
	cfg->tombstone_timeout_us = 24 * 3600 * US_PER_S;
	/* Intents about unknown nodes wait this long for their join. */
	cfg->recent_intent_timeout_us = 5 * 60 * US_PER_S;
	cfg->broadcast_timeout_us = 5 * US_PER_S;
	cfg->leave_propagate_delay_us = 1 * US_PER_S;
	cfg->seed = 1;
}

/* --- small helpers shared with serf_query.c --- */

uint64_t
serf_rand(struct serf *serf)
{
	uint64_t x = serf->rand_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	serf->rand_state = x;
	return x * 0x2545f4914f6cdd1dull;
}

int
serf_grow(void **arr, uint32_t *cap, uint32_t nb, size_t size)
{
	if (nb < *cap)
		return 0;
	uint32_t ncap = *cap == 0 ? 8 : *cap * 2;
	void *p = realloc(*arr, (size_t)ncap * size);
	if (p == NULL)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

bool
serf_name_set(struct serf_name *n, const void *ptr, size_t len)
{
	if (len > SWIM_NAME_MAX)
		return false;
	if (len > 0)
		memcpy(n->str, ptr, len);
	n->str[len] = '\0';
	n->len = (uint32_t)len;
	return true;
}

bool
serf_name_eq(const struct serf_name *n, const void *ptr, size_t len)
{
	return n->len == len && (len == 0 || memcmp(n->str, ptr, len) == 0);
}

bool
serf_addr_from(struct swim_addr *a, const struct swim_str *ip, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	if (ip->ptr == NULL || (ip->len != 4 && ip->len != 16))
		return false;
	memcpy(a->ip, ip->ptr, ip->len);
	a->ip_len = (uint8_t)ip->len;
	a->port = port;
	return true;
}

bool
serf_event_set_name(struct serf_event *ev, const struct swim_str *s)
{
	if (s->len > SWIM_NAME_MAX)
		return false;
	if (s->len > 0)
		memcpy(ev->name, s->ptr, s->len);
	ev->name[s->len] = '\0';
	ev->name_len = s->len;
	return true;
}

bool
serf_event_set_payload(struct serf_event *ev, const struct swim_str *s)
{
	if (s->len > SERF_PAYLOAD_MAX)
		return false;
	ev->has_payload = s->ptr != NULL;
	ev->payload_len = s->len;
	if (s->len > 0)
		memcpy(ev->payload, s->ptr, s->len);
	return true;
}

/* --- inbound Serf messages --- */

static bool
dispatch_intent(struct serf *serf, uint64_t now_us, const uint8_t *buf,
		size_t len, int *rc)
{
	if (buf[0] == SERF_MSG_JOIN) {
		struct serf_msg_join j;
		*rc = serf_msg_decode_join(buf, len, &j);
		return *rc == 0 &&
		       serf_intent_join(serf, now_us, &j.node, j.ltime);
	}
	struct serf_msg_leave l;
	*rc = serf_msg_decode_leave(buf, len, &l);
	return *rc == 0 &&
	       serf_intent_leave(serf, now_us, &l.node, l.ltime, l.prune);
}

/** NotifyMsg: one Serf message from a memberlist user message. */
static void
on_user_msg(struct serf *serf, uint64_t now_us, const uint8_t *buf,
	    size_t len)
{
	bool regossip = false;
	int rc = 0;

	if (len == 0)
		return;
	serf->stats.msgs_in++;
	switch (buf[0]) {
	case SERF_MSG_LEAVE:
	case SERF_MSG_JOIN:
		regossip = dispatch_intent(serf, now_us, buf, len, &rc);
		break;
	case SERF_MSG_USER_EVENT: {
		struct serf_msg_user_event m;
		rc = serf_msg_decode_user_event(buf, len, &m);
		regossip = rc == 0 && serf_user_event_handle(serf, &m);
		break;
	}
	case SERF_MSG_QUERY: {
		struct serf_msg_query q;
		rc = serf_msg_decode_query(buf, len, &q);
		regossip = rc == 0 && serf_query_handle(serf, now_us, &q);
		break;
	}
	case SERF_MSG_QUERY_RESPONSE: {
		struct serf_msg_query_response r;
		rc = serf_msg_decode_query_response(buf, len, &r);
		if (rc == 0)
			serf_query_handle_response(serf, now_us, &r);
		break;
	}
	case SERF_MSG_RELAY:
		rc = serf_relay_handle(serf, buf, len);
		break;
	default:
		serf->stats.msgs_unknown++;
		return;
	}
	if (rc != 0)
		serf->stats.msgs_bad++;
	else if (regossip)	/* re-gossip the very same bytes */
		swim_broadcast_user(serf->swim, buf, len);
}

/** NotifyPingComplete: update our coordinate from a peer's ack payload. */
static void
on_ping(struct serf *serf, const struct swim_event *ev)
{
	struct serf_coord other;
	struct serf_member *m;
	uint8_t buf[SERF_COORD_PAYLOAD_MAX];
	int len;

	if (serf->cfg.disable_coordinates || ev->data.len == 0)
		return;
	if (serf_coord_decode_payload(ev->data.ptr, ev->data.len, &other) != 0)
		return;
	m = serf_member_get(serf, ev->member.name.ptr, ev->member.name.len);
	if (m == NULL)
		return;
	if (m->coord == NULL) {
		m->coord = calloc(1, sizeof(*m->coord));
		if (m->coord == NULL)
			return;
	}
	if (serf_coord_update(&serf->coord, &m->coord->rtt, &other,
			      ev->rtt_us) != 0)
		return;
	m->coord->coord = other;
	m->coord->has_coord = true;
	len = serf_coord_encode_payload(&serf->coord.coord, buf, sizeof(buf));
	if (len > 0)
		swim_set_ack_payload(serf->swim, buf, (size_t)len);
}

void
serf_on_swim_event(struct serf *serf, uint64_t now_us,
		   const struct swim_event *ev)
{
	switch (ev->kind) {
	case SWIM_EV_JOIN:
		serf_node_join(serf, &ev->member);
		break;
	case SWIM_EV_UPDATE:
		serf_node_update(serf, &ev->member);
		break;
	case SWIM_EV_LEAVE:
		serf_node_leave(serf, now_us, &ev->member);
		break;
	case SWIM_EV_USER:
		on_user_msg(serf, now_us, ev->data.ptr, ev->data.len);
		break;
	case SWIM_EV_PING:
		on_ping(serf, ev);
		break;
	case SWIM_EV_SUSPECT:
	case SWIM_EV_COUNT:
		break;
	}
}

/* --- lifecycle --- */

static int
serf_cfg_check(const struct serf_cfg *cfg, const char **err)
{
	size_t len = strnlen(cfg->name, sizeof(cfg->name));

	if (len == 0 || len > SWIM_NAME_MAX)
		*err = "serf: node name empty or too long";
	else if (cfg->event_buffer == 0 || cfg->query_buffer == 0)
		*err = "serf: event and query buffers must not be empty";
	else if (cfg->reap_interval_us == 0)
		*err = "serf: reap interval must not be 0";
	else
		return 0;
	return -EINVAL;
}

/** Our own member record, alive from the start (memberlist's self join). */
static int
serf_add_self(struct serf *serf)
{
	struct swim_member_info info;
	struct serf_member *m = NULL;

	/* Our tags are ours, whatever the core's Meta says yet. */
	int len = serf_msg_encode_tags(serf->self_tags.tags, serf->self_tags.nb,
				       serf->self_meta, sizeof(serf->self_meta));
	serf->self_meta_len = len > 0 ? (uint32_t)len : 0;
	if (swim_member_find(serf->swim, serf->self.str, serf->self.len,
			     &info) == 0)
		m = serf_member_add(serf, serf_node_of(serf, &info));
	if (m == NULL)
		return -ENOMEM;
	serf_member_set_status(serf, m, SERF_STATUS_ALIVE);
	serf_member_event(serf, SERF_EV_MEMBER_JOIN, m);
	return 0;
}

static int
serf_alloc(struct serf *serf)
{
	struct serf_coord_cfg ccfg;

	serf->ev_slots = calloc(serf->cfg.event_buffer,
				sizeof(*serf->ev_slots));
	serf->q_slots = calloc(serf->cfg.query_buffer, sizeof(*serf->q_slots));
	if (serf->ev_slots == NULL || serf->q_slots == NULL ||
	    serf_evq_init(serf) != 0 || serf_table_init(serf) != 0 ||
	    serf_intents_init(serf) != 0)
		return -ENOMEM;
	serf_coord_cfg_default(&ccfg);
	return serf_coord_client_create(&serf->coord, &ccfg,
					serf->cfg.seed ^ 0x5bd1e995ull);
}

/** Tell the core our coordinate: it rides in every ack we send. */
static void
serf_publish_coord(struct serf *serf)
{
	uint8_t buf[SERF_COORD_PAYLOAD_MAX];
	int len;

	if (serf->cfg.disable_coordinates)
		return;
	len = serf_coord_encode_payload(&serf->coord.coord, buf, sizeof(buf));
	if (len > 0)
		swim_set_ack_payload(serf->swim, buf, (size_t)len);
}

struct serf *
serf_new(const struct serf_cfg *cfg, struct swim *swim, const char **err)
{
	struct serf *serf;

	if (serf_cfg_check(cfg, err) != 0)
		return NULL;
	serf = calloc(1, sizeof(*serf));
	if (serf == NULL) {
		*err = "serf: out of memory";
		return NULL;
	}
	serf->cfg = *cfg;
	serf->swim = swim;
	serf_name_set(&serf->self, cfg->name,
		      strnlen(cfg->name, SWIM_NAME_MAX));
	serf->rand_state = cfg->seed != 0 ? cfg->seed : 0x9e3779b97f4a7c15ull;
	/* Clocks start at 1 so that a zero LTime is always old. */
	serf->clock.time = serf->event_clock.time = serf->query_clock.time = 1;
	serf->next_handle = 1;
	if (serf_tagset_set(&serf->self_tags, cfg->tags, cfg->nb_tags) != 0) {
		*err = "serf: too many or too long tags";
		goto out_delete;
	}
	serf->cfg.tags = serf->self_tags.tags;
	if (serf_alloc(serf) != 0 || serf_add_self(serf) != 0) {
		*err = "serf: out of memory";
		goto out_delete;
	}
	serf_publish_coord(serf);
	return serf;
out_delete:
	serf_delete(serf);
	return NULL;
}

void
serf_delete(struct serf *serf)
{
	if (serf == NULL)
		return;
	serf_table_free(serf);
	serf_intents_free(serf);
	serf_ev_slots_free(serf);
	if (serf->q_slots != NULL) {
		for (uint32_t i = 0; i < serf->cfg.query_buffer; i++)
			free(serf->q_slots[i].ids);
	}
	free(serf->q_slots);
	serf_query_free(serf);
	serf_evq_free(serf);
	free(serf);
}

/* --- timers --- */

/** Is m a failed member that reconnect may try? */
static bool
serf_reconnectable(const struct serf_member *m)
{
	return m->status == SERF_STATUS_FAILED && !(m->flags & SERF_MF_GONE);
}

/**
 * reconnect: with probability failed/alive, try a join push/pull to one
 * random failed member, to heal partitions. Every failed member has a
 * reap deadline in the heap: a few random draws there find one without
 * walking the table.
 */
static void
serf_reconnect(struct serf *serf, uint64_t now_us)
{
	uint32_t nb_failed = serf->nb_status[SERF_STATUS_FAILED];
	uint32_t nb_alive = serf_member_count(serf) - nb_failed;
	struct serf_member *pick = NULL;

	if (nb_failed == 0 || serf->nb_due == 0)
		return;
	for (uint32_t i = 0; i < 64 && pick == NULL; i++) {
		struct serf_member *m =
			serf->due[serf_rand(serf) % serf->nb_due].m;
		if (serf_reconnectable(m))
			pick = m;
	}
	if (pick == NULL)
		return;
	if (nb_alive == 0)
		nb_alive = 1;
	if ((serf_rand(serf) >> 11) % nb_alive >= nb_failed)
		return;		/* throttled, as serf does */
	struct swim_member_info info;
	serf_member_view(serf, pick, &info);
	swim_join(serf->swim, now_us, &info.addr, 1);
}

void
serf_tick(struct serf *serf, uint64_t now_us)
{
	/* Reaps and prunes at their own deadlines: O(log n) per one due. */
	serf_due_run(serf, now_us);
	if (serf->next_reap_us == 0)
		serf->next_reap_us = now_us + serf->cfg.reap_interval_us;
	if (now_us >= serf->next_reap_us) {
		serf_intents_reap(serf, now_us);
		serf->next_reap_us = now_us + serf->cfg.reap_interval_us;
	}
	if (serf->cfg.reconnect_interval_us != 0) {
		if (serf->next_reconnect_us == 0)
			serf->next_reconnect_us =
				now_us + serf->cfg.reconnect_interval_us;
		if (now_us >= serf->next_reconnect_us) {
			serf_reconnect(serf, now_us);
			serf->next_reconnect_us =
				now_us + serf->cfg.reconnect_interval_us;
		}
	}
	serf_query_tick(serf, now_us);
}

uint64_t
serf_next_deadline(const struct serf *serf)
{
	uint64_t next = serf->next_reap_us;
	uint64_t q = serf_query_next_deadline(serf);
	uint64_t p = serf_due_next(serf);

	if (serf->cfg.reconnect_interval_us != 0 &&
	    serf->next_reconnect_us < next)
		next = serf->next_reconnect_us;
	if (p < next)
		next = p;
	return q < next ? q : next;
}

/* --- local actions --- */

void
serf_join_intent(struct serf *serf, uint64_t now_us)
{
	serf_broadcast_join(serf, now_us, serf->clock.time);
}

/** Is any member other than us alive (worth gossiping to)? */
static bool
serf_has_alive_peers(const struct serf *serf)
{
	uint32_t alive = serf->nb_status[SERF_STATUS_ALIVE];
	const struct serf_member *self = serf->self_member;

	if (self != NULL && self->status == SERF_STATUS_ALIVE)
		alive--;
	return alive > 0;
}

/** A leave intent at the member clock, applied here, gossiped if useful. */
static void
serf_send_leave(struct serf *serf, uint64_t now_us, const struct swim_str *n,
		bool do_prune)
{
	struct serf_msg_leave msg = { serf->clock.time, *n, do_prune };
	uint8_t buf[SWIM_NAME_MAX + 32];
	int len = serf_msg_encode_leave(&msg, buf, sizeof(buf));

	serf_clock_increment(&serf->clock);
	serf_intent_leave(serf, now_us, n, msg.ltime, do_prune);
	if (serf_has_alive_peers(serf))
		serf_broadcast(serf, buf, len);
}

int
serf_leave(struct serf *serf, uint64_t now_us)
{
	struct swim_str self = { (const uint8_t *)serf->self.str,
				 serf->self.len };

	if (serf->state != SERF_STATE_ALIVE)
		return -EALREADY;
	serf->state = SERF_STATE_LEAVING;
	serf_send_leave(serf, now_us, &self, false);
	return 0;
}

void
serf_leave_done(struct serf *serf)
{
	serf->state = SERF_STATE_LEFT;
}

enum serf_state
serf_state(const struct serf *serf)
{
	return serf->state;
}

int
serf_force_leave(struct serf *serf, uint64_t now_us, const char *name,
		 size_t name_len, bool do_prune)
{
	struct swim_str n = { (const uint8_t *)name, (uint32_t)name_len };

	if (name_len == 0 || name_len > SWIM_NAME_MAX)
		return -EINVAL;
	serf_send_leave(serf, now_us, &n, do_prune);
	return 0;
}

int
serf_set_tags(struct serf *serf, uint64_t now_us, const struct serf_tag *tags,
	      uint32_t nb)
{
	uint8_t meta[SWIM_META_MAX];
	static struct serf_tagset ts;	/* 1.7 KiB; control thread only */
	int len = serf_msg_encode_tags(tags, nb, meta, sizeof(meta));

	if (len < 0 || serf_tagset_set(&ts, tags, nb) != 0)
		return -EMSGSIZE;
	if (swim_set_meta(serf->swim, now_us, meta, (size_t)len) != 0)
		return -EMSGSIZE;
	serf_tagset_copy(&serf->self_tags, &ts);
	serf->cfg.tags = serf->self_tags.tags;
	memcpy(serf->self_meta, meta, (size_t)len);
	serf->self_meta_len = (uint32_t)len;
	return 0;
}

/* --- views --- */

static void
member_info(const struct serf *serf, const struct serf_member *m,
	    struct serf_member_info *info)
{
	const struct serf_tagset *ts = serf_member_tags(serf, m);
	struct swim_member_info node;

	serf_member_view(serf, m, &node);
	info->name = node.name;
	info->addr = node.addr;
	info->tags = ts->tags;
	info->nb_tags = ts->nb;
	info->meta = node.meta;
	info->status = (enum serf_member_status)m->status;
	memcpy(info->vsn, node.vsn, SWIM_VSN_LEN);
	info->incarnation = node.incarnation;
	info->status_ltime = m->status_ltime;
	info->leave_time_us = m->leave_time_us;
	info->is_self = m == serf->self_member;
	info->coord = info->is_self ? serf_coordinate(serf) :
		      m->coord != NULL && m->coord->has_coord ?
		      &m->coord->coord : NULL;
}

void
serf_member_foreach(const struct serf *serf, serf_member_visit_f f,
		    void *ctx)
{
	struct serf_member_info info;
	const struct serf_member *m;
	uint32_t pos = 0;

	while ((m = swim_index_next(&serf->index, &pos)) != NULL) {
		member_info(serf, m, &info);
		if (f(ctx, &info) != 0)
			return;
	}
}

int
serf_member_find(const struct serf *serf, const char *name, size_t len,
		 struct serf_member_info *info)
{
	const struct serf_member *m = serf_member_get(serf,
						      (const uint8_t *)name,
						      len);

	if (m == NULL)
		return -ENOENT;
	member_info(serf, m, info);
	return 0;
}

uint32_t
serf_member_count(const struct serf *serf)
{
	return serf->index.nb;
}

const struct serf_coord *
serf_coordinate(const struct serf *serf)
{
	return serf->cfg.disable_coordinates ? NULL : &serf->coord.coord;
}

const struct serf_tag *
serf_tags(const struct serf *serf, uint32_t *nb)
{
	*nb = serf->self_tags.nb;
	return serf->self_tags.tags;
}

void
serf_get_stats(const struct serf *serf, struct serf_stats *st)
{
	*st = serf->stats;
	st->members = serf->index.nb;
	st->failed = serf->nb_status[SERF_STATUS_FAILED];
	st->left = serf->nb_status[SERF_STATUS_LEFT];
	st->leaving = serf->nb_status[SERF_STATUS_LEAVING];
	st->member_time = serf->clock.time;
	st->event_time = serf->event_clock.time;
	st->query_time = serf->query_clock.time;
	st->coordinate_resets = serf->coord.resets;
}
