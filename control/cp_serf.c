/* SPDX-License-Identifier: MIT */
/*
 * The daemon's side of the Serf layer (swim/serf/serf.h): creates it over the
 * core, feeds it core events and TCP push/pull user state, drains its
 * events into serf-style log lines and RPC `stream` subscribers.
 *
 * Owns: nothing but the glue. Control thread only. The Serf layer itself
 * is pure and talks to the network only through the core.
 */
#include "cp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cp_handler.h"
#include "cp_keys.h"
#include "cp_loop.h"
#include "cp_rpc.h"
#include "serf.h"

/*
 * Queries started here (cp_serf_query) whose SERF_EV_QUERY_DONE has not
 * come yet: while there is one, the loop wakes exactly for the Serf
 * layer's deadline (cp_loop.h), else its timers are lax. Every query
 * gossipd starts goes through cp_serf_query. Control thread only; one
 * daemon per process (tests with several only make Serf strict longer).
 */
static unsigned cp_serf_nb_queries;

int
cp_serf_init(struct cp *cp)
{
	struct serf_tag tags[CP_TAGS_MAX];
	struct serf_cfg sc;
	const char *err = NULL;

	serf_cfg_default(&sc);
	cp_cfg_to_serf(&cp->cfg, &sc);	/* timeouts, size limits */
	snprintf(sc.name, sizeof(sc.name), "%s", cp->cfg.name);
	cp_cfg_serf_tags(cp->cfg.tags, cp->cfg.nb_tags, tags);
	sc.tags = tags;
	sc.nb_tags = cp->cfg.nb_tags;
	sc.gossip_interval_us = cp->gossip_interval_us;
	sc.seed = cp->seed ^ 0x5e2f;
	/* an encrypted node answers key queries itself (cp_keys.c) */
	sc.keyring_enabled = cp->cfg.keyring != NULL;
	cp->serf = serf_new(&sc, cp->swim, &err);
	if (cp->serf == NULL) {
		CP_LOG(ERR, "serf: %s", err != NULL ? err : "failed");
		return -1;
	}
	if (cp_keys_init(cp) != 0) {
		CP_LOG(ERR, "serf: key rotation: out of memory");
		return -1;
	}
	cp->leave_propagate_us = sc.leave_propagate_delay_us;
	return 0;
}

void
cp_serf_fini(struct cp *cp)
{
	cp_keys_fini(cp);	/* cp_fini calls us after dp and sync go */
	if (cp->serf != NULL)
		serf_delete(cp->serf);
	cp->serf = NULL;
}

/* serf_event kinds that are member changes -> the RPC stream's kinds. */
static int
cp_serf_rpc_kind(enum serf_event_kind k)
{
	switch (k) {
	case SERF_EV_MEMBER_JOIN:
		return CP_RPC_EVENT_MEMBER_JOIN;
	case SERF_EV_MEMBER_LEAVE:
		return CP_RPC_EVENT_MEMBER_LEAVE;
	case SERF_EV_MEMBER_FAILED:
		return CP_RPC_EVENT_MEMBER_FAILED;
	case SERF_EV_MEMBER_UPDATE:
		return CP_RPC_EVENT_MEMBER_UPDATE;
	case SERF_EV_MEMBER_REAP:
		return CP_RPC_EVENT_MEMBER_REAP;
	case SERF_EV_USER:
	case SERF_EV_QUERY:
	case SERF_EV_QUERY_ACK:
	case SERF_EV_QUERY_RESPONSE:
	case SERF_EV_QUERY_DONE:
	case SERF_EV_COUNT:
		break;
	}
	return -1;
}

/* serf's log names for member events. */
static const char *const cp_serf_ev_log[] = {
	[SERF_EV_MEMBER_JOIN] = "EventMemberJoin",
	[SERF_EV_MEMBER_LEAVE] = "EventMemberLeave",
	[SERF_EV_MEMBER_FAILED] = "EventMemberFailed",
	[SERF_EV_MEMBER_UPDATE] = "EventMemberUpdate",
	[SERF_EV_MEMBER_REAP] = "EventMemberReap",
};

/* Tags of an event's meta as NUL-terminated kv pairs for the RPC. */
struct cp_serf_kv {
	struct cp_rpc_kv kv[SERF_TAGS_MAX];
	char strs[SWIM_META_MAX * 2 + SERF_TAGS_MAX * 2];
};

static uint32_t
cp_serf_kv_fill(const struct serf_event *ev, struct cp_serf_kv *out)
{
	struct serf_tag tags[SERF_TAGS_MAX];
	char *o = out->strs;
	int n = serf_msg_decode_tags(ev->meta, ev->meta_len, tags,
				     SERF_TAGS_MAX);

	if (n < 0)
		return 0;
	if (n > SERF_TAGS_MAX)
		n = SERF_TAGS_MAX;
	for (int i = 0; i < n; i++) {
		out->kv[i].key = o;
		memcpy(o, tags[i].key, tags[i].key_len);
		o += tags[i].key_len;
		*o++ = '\0';
		out->kv[i].value = o;
		memcpy(o, tags[i].value, tags[i].value_len);
		o += tags[i].value_len;
		*o++ = '\0';
	}
	return (uint32_t)n;
}

/* Send a member event to the RPC `stream` subscribers. */
static void
cp_serf_publish_member(struct cp *cp, const struct serf_event *ev, int kind)
{
	static struct cp_serf_kv kv;
	struct cp_rpc_member m;

	memset(&m, 0, sizeof(m));
	m.name = ev->name;
	memcpy(m.addr, ev->addr.ip, sizeof(m.addr));
	m.addr_len = ev->addr.ip_len;
	m.port = ev->addr.port;
	m.nb_tags = cp_serf_kv_fill(ev, &kv);
	m.tags = kv.kv;
	m.status = (enum cp_rpc_status)ev->status;
	m.protocol_min = ev->vsn[0];
	m.protocol_max = ev->vsn[1];
	m.protocol_cur = ev->vsn[2];
	m.delegate_min = ev->vsn[3];
	m.delegate_max = ev->vsn[4];
	m.delegate_cur = ev->vsn[5];
	m.incarnation = ev->incarnation;
	cp_rpc_publish_members(cp->rpc, (enum cp_rpc_event)kind, &m, 1);
}

/* Query events: to answer (streams), or results of an RPC `query`. */
static void
cp_serf_dispatch_query(struct cp *cp, const struct serf_event *ev)
{
	const uint8_t *payload = ev->has_payload ? ev->payload : NULL;

	if (ev->kind == SERF_EV_QUERY_DONE && cp_serf_nb_queries > 0)
		cp_serf_nb_queries--;
	if (ev->kind == SERF_EV_QUERY && cp_keys_on_query(cp, cp_now_us(), ev))
		return;		/* _serf_*-key: answered, not for streams */
	if (ev->kind == SERF_EV_QUERY) {
		CP_LOG(INFO, "agent: Received event: query: %s", ev->name);
		cp_handler_on_event(cp, ev);	/* --event-handler scripts */
	}
	if (cp->rpc == NULL)
		return;
	switch (ev->kind) {
	case SERF_EV_QUERY:
		cp_rpc_publish_query(cp->rpc, ev->query_handle, ev->ltime,
				     ev->name, payload, ev->payload_len);
		return;
	case SERF_EV_QUERY_ACK:
		cp_rpc_query_ack(cp->rpc, ev->query_handle, ev->name);
		return;
	case SERF_EV_QUERY_RESPONSE:
		cp_rpc_query_response(cp->rpc, ev->query_handle, ev->name,
				      payload, ev->payload_len);
		return;
	case SERF_EV_QUERY_DONE:
		cp_rpc_query_done(cp->rpc, ev->query_handle);
		return;
	default:
		CP_LOG(DEBUG, "serf: event %s", serf_event_kind_str[ev->kind]);
		return;
	}
}

/* One Serf event: a log line, and the RPC streams when there are any. */
static void
cp_serf_dispatch(struct cp *cp, const struct serf_event *ev)
{
	char ip[CP_ADDR_STRLEN];
	int kind = cp_serf_rpc_kind(ev->kind);

	if (kind >= 0) {
		CP_LOG(INFO, "serf: %s: %s %s", cp_serf_ev_log[ev->kind],
		       ev->name, cp_ip_str(&ev->addr, ip, sizeof(ip)));
		if (cp->rpc != NULL)
			cp_serf_publish_member(cp, ev, kind);
		cp_handler_on_event(cp, ev);	/* --event-handler scripts */
		return;
	}
	switch (ev->kind) {
	case SERF_EV_USER:
		CP_LOG(INFO, "agent: Received event: user-event: %s",
		       ev->name);
		if (cp->rpc != NULL)
			cp_rpc_publish_user_event(cp->rpc, ev->ltime, ev->name,
						  ev->has_payload ? ev->payload
								  : NULL,
						  ev->payload_len,
						  ev->coalesce);
		cp_handler_on_event(cp, ev);	/* --event-handler scripts */
		return;
	default:
		cp_serf_dispatch_query(cp, ev);
		return;
	}
}

/* Drain the Serf layer's events. */
static void
cp_serf_drain(struct cp *cp)
{
	static struct serf_event ev;	/* 2 KiB: not on the stack */

	while (serf_pop_event(cp->serf, &ev))
		cp_serf_dispatch(cp, &ev);
}

void
cp_serf_on_event(struct cp *cp, uint64_t now_us, const struct swim_event *ev)
{
	serf_on_swim_event(cp->serf, now_us, ev);
	cp_serf_drain(cp);
}

/*
 * A full broadcast queue drops by design (max-queue-depth): say how
 * many, at most every 10 s, since a 10^6 merge drops about 10^6.
 */
static void
cp_serf_check_bcast_drops(const struct swim_stats *ss, uint64_t now_us)
{
	static uint64_t seen, last_us;	/* control thread only */

	if (ss->bcasts_dropped == seen || now_us - last_us < 10000000ull)
		return;
	CP_LOG(WARN, "memberlist: %llu broadcasts dropped (queue full, "
	       "--max-queue-depth); push/pull brings what they would have",
	       (unsigned long long)(ss->bcasts_dropped - seen));
	seen = ss->bcasts_dropped;
	last_us = now_us;
}

/*
 * Events are never dropped by design (both queues grow as needed); only
 * a failed allocation loses one. Say so, once per new loss.
 */
static void
cp_serf_check_drops(struct cp *cp)
{
	static uint64_t core_seen, serf_seen;	/* control thread only */
	struct swim_stats ss;
	struct serf_stats fs;

	swim_get_stats(cp->swim, &ss);
	serf_get_stats(cp->serf, &fs);
	if (ss.events_dropped != core_seen || fs.events_dropped != serf_seen)
		CP_LOG(WARN, "serf: events lost (out of memory): %llu from "
		       "memberlist, %llu from serf",
		       (unsigned long long)(ss.events_dropped - core_seen),
		       (unsigned long long)(fs.events_dropped - serf_seen));
	core_seen = ss.events_dropped;
	serf_seen = fs.events_dropped;
	cp_serf_check_bcast_drops(&ss, cp_now_us());
}

void
cp_serf_tick(struct cp *cp, uint64_t now_us)
{
	static uint64_t check_next_us;	/* control thread only */

	if (serf_next_deadline(cp->serf) <= now_us)
		serf_tick(cp->serf, now_us);
	cp_serf_drain(cp);
	/* Losses come from failed allocations: a warning a probe interval
	 * late is as good, and most wakeups (acks, pings of others) skip
	 * reading both layers' counters. Never a wakeup of its own. */
	if (now_us < check_next_us && now_us + cp->probe_interval_us >=
					      check_next_us)
		return;
	check_next_us = now_us + cp->probe_interval_us;
	cp_serf_check_drops(cp);
}

size_t
cp_serf_local_state(struct cp *cp, uint8_t *out, size_t cap)
{
	return serf_local_state(cp->serf, out, cap);
}

void
cp_serf_merge_remote(struct cp *cp, uint64_t now_us, const uint8_t *buf,
		     size_t len, bool join)
{
	int rc = serf_merge_remote_state(cp->serf, now_us, buf, len, join);

	if (rc < 0)
		CP_LOG(WARN, "serf: Failed to merge remote user state: %s",
		       swim_wire_strerror(rc));
	cp_serf_drain(cp);
}

void
cp_serf_joined(struct cp *cp, uint64_t now_us)
{
	serf_join_intent(cp->serf, now_us);
}

void
cp_serf_leave(struct cp *cp, uint64_t now_us)
{
	serf_leave(cp->serf, now_us);
}

void
cp_serf_left(struct cp *cp)
{
	serf_leave_done(cp->serf);
}

/*
 * The last coordinate encoded and its bytes: the loop asks on most
 * wakeups, the coordinate moves once per probe (an ack's RTT), and an
 * equal one needs no msgpack of its floats again (the payload is a
 * function of the coordinate alone). Control thread only.
 */
static struct {
	bool has;			/* coord and buf are filled */
	struct serf_coord coord;	/* as encoded, byte for byte */
	uint8_t buf[256];		/* its payload */
	size_t len;			/* bytes of buf */
} cp_serf_ack_cache;

size_t
cp_serf_ack_payload(struct cp *cp, uint8_t *out, size_t cap)
{
	const struct serf_coord *c = serf_coordinate(cp->serf);
	int n;

	if (c == NULL)
		return 0;
	if (cp_serf_ack_cache.has && cp_serf_ack_cache.len <= cap &&
	    memcmp(&cp_serf_ack_cache.coord, c, sizeof(*c)) == 0) {
		memcpy(out, cp_serf_ack_cache.buf, cp_serf_ack_cache.len);
		return cp_serf_ack_cache.len;
	}
	n = serf_coord_encode_payload(c, out, cap);
	if (n <= 0)
		return 0;
	cp_serf_ack_cache.has = (size_t)n <= sizeof(cp_serf_ack_cache.buf);
	if (cp_serf_ack_cache.has) {
		memcpy(&cp_serf_ack_cache.coord, c, sizeof(*c));
		memcpy(cp_serf_ack_cache.buf, out, (size_t)n);
		cp_serf_ack_cache.len = (size_t)n;
	}
	return (size_t)n;
}

int
cp_serf_force_leave(struct cp *cp, uint64_t now_us, const char *node,
		    bool prune)
{
	return serf_force_leave(cp->serf, now_us, node, strlen(node), prune);
}

int
cp_serf_user_event(struct cp *cp, const char *name, const uint8_t *data,
		   size_t len, bool coalesce)
{
	int rc = serf_user_event(cp->serf, cp_now_us(), name, strlen(name),
				 data, len, coalesce);

	cp_serf_drain(cp);
	return rc;
}

int
cp_serf_set_tags(struct cp *cp, const struct cp_tag *tags, unsigned nb)
{
	struct serf_tag st[CP_TAGS_MAX];

	if (nb > CP_TAGS_MAX)
		return -E2BIG;
	cp_cfg_serf_tags(tags, nb, st);
	return serf_set_tags(cp->serf, cp_now_us(), st, nb);
}

/* --- queries started over RPC --- */

int
cp_serf_query(struct cp *cp, const struct cp_rpc_query *q, uint64_t *handle)
{
	struct swim_str nodes[CP_SERF_FILTERS_MAX];
	struct serf_tag tags[CP_SERF_FILTERS_MAX];
	struct serf_query_param p;
	int rc;

	if (q->nb_filter_nodes > CP_SERF_FILTERS_MAX ||
	    q->nb_filter_tags > CP_SERF_FILTERS_MAX)
		return -E2BIG;
	for (uint32_t i = 0; i < q->nb_filter_nodes; i++)
		nodes[i] = (struct swim_str){
			(const uint8_t *)q->filter_nodes[i],
			(uint32_t)strlen(q->filter_nodes[i])};
	for (uint32_t i = 0; i < q->nb_filter_tags; i++)
		tags[i] = (struct serf_tag){
			q->filter_tags[i].key, q->filter_tags[i].value,
			(uint32_t)strlen(q->filter_tags[i].key),
			(uint32_t)strlen(q->filter_tags[i].value)};
	memset(&p, 0, sizeof(p));
	p.filter_nodes = nodes;
	p.nb_filter_nodes = q->nb_filter_nodes;
	p.filter_tags = tags;
	p.nb_filter_tags = q->nb_filter_tags;
	p.request_ack = q->request_ack;
	p.relay_factor = q->relay_factor;
	p.timeout_us = q->timeout_us;
	rc = serf_query(cp->serf, cp_now_us(), q->name, strlen(q->name),
			q->payload, q->payload_len, &p, handle);
	if (rc == 0)
		cp_serf_nb_queries++;
	cp_serf_drain(cp);
	return rc;
}

bool
cp_serf_has_query(const struct cp *cp)
{
	(void)cp;
	return cp_serf_nb_queries > 0;
}

int
cp_serf_respond(struct cp *cp, uint64_t handle, const uint8_t *payload,
		size_t len)
{
	return serf_query_respond(cp->serf, cp_now_us(), handle, payload, len);
}
