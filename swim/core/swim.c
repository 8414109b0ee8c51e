/*
 * The SWIM + Lifeguard core: lifecycle, inbound dispatch (memberlist's
 * handleCommand), the timer loop, local actions and queries.
 */
#include "swim_int.h"
#include "swim_dsync_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define SWIM_CONTAINER(p, type, field) \
	((type *)(void *)((char *)(p) - offsetof(type, field)))

static const char *
swim_cfg_check(const struct swim_cfg *cfg)
{
	size_t name_len = strnlen(cfg->name, sizeof(cfg->name));

	if (name_len == 0 || name_len > SWIM_NAME_MAX)
		return "node name must be 1..128 bytes";
	if (cfg->addr.ip_len != 4 && cfg->addr.ip_len != 16)
		return "advertise address must be IPv4 or IPv6";
	if (cfg->meta_len > SWIM_META_MAX)
		return "meta longer than 512 bytes";
	if (cfg->vsn[0] == 0 || cfg->vsn[1] == 0 || cfg->vsn[0] > cfg->vsn[1])
		return "bad protocol version range";
	if (cfg->probe_interval_us == 0 || cfg->probe_timeout_us == 0 ||
	    cfg->gossip_interval_us == 0)
		return "probe and gossip intervals must be > 0";
	if (cfg->udp_buffer_size < 64 || cfg->udp_buffer_size > SWIM_UDP_MAX)
		return "udp buffer size out of range";
	return NULL;
}

static int
swim_alloc(struct swim *s)
{
	s->scratch = malloc(sizeof(*s->scratch));
	s->buf_a = malloc(SWIM_UDP_MAX);
	s->buf_b = malloc(SWIM_UDP_MAX);
	s->buf_c = malloc(SWIM_UDP_MAX);
	s->relays = calloc(SWIM_RELAY_MAX, sizeof(*s->relays));
	if (s->scratch == NULL || s->buf_a == NULL || s->buf_b == NULL ||
	    s->buf_c == NULL || s->relays == NULL)
		return -1;
	for (uint32_t i = 0; i < SWIM_RELAY_MAX; i++)
		swim_timer_init(&s->relays[i].t, SWIM_T_RELAY);
	if (swim_members_init(&s->mt) != 0 || swim_queues_init(s) != 0 ||
	    swim_suspects_init(s) != 0)
		return -1;
	return swim_timer_heap_reserve(&s->timers, SWIM_RELAY_MAX + 64);
}

static int
swim_add_self(struct swim *s)
{
	/* serf's 6 bytes, then our capability byte if we have one. */
	uint8_t vsn[SWIM_VSN_LEN + 1];
	memcpy(vsn, s->cfg.vsn, SWIM_VSN_LEN);
	vsn[SWIM_VSN_LEN] = s->cfg.vsn_caps;
	struct swim_alive a = {
		.incarnation = 1,
		.node = { (const uint8_t *)s->cfg.name,
			  (uint32_t)strlen(s->cfg.name) },
		.addr = { s->cfg.addr.ip, s->cfg.addr.ip_len },
		.port = s->cfg.addr.port,
		.meta = { s->cfg.meta_len ? s->cfg.meta : NULL,
			  s->cfg.meta_len },
		.vsn = { vsn, SWIM_VSN_LEN + (s->cfg.vsn_caps != 0) },
	};

	swim_alive_node(s, &a, true);
	s->self = swim_find_str(s, &a.node);
	return s->self == NULL ? -1 : 0;
}

struct swim *
swim_new(const struct swim_cfg *cfg, const char **err)
{
	const char *why = swim_cfg_check(cfg);
	struct swim *s = NULL;

	if (why != NULL)
		goto fail;
	why = "out of memory";
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto fail;
	s->cfg = *cfg;
	s->cfg.name[SWIM_NAME_MAX] = '\0';
	swim_rand_seed(&s->rnd, cfg->seed);
	swim_timer_heap_init(&s->timers);
	swim_awareness_init(&s->aware, cfg->awareness_max_multiplier);
	swim_diss_init(&s->bq, cfg->seed, cfg->max_queue_depth);
	swim_diss_set_encoder(&s->bq, swim_bcast_encode, s);
	swim_diss_init(&s->uq, cfg->seed + 1, SWIM_USER_QUEUE_MAX);
	swim_timer_init(&s->t_probe_tick, SWIM_T_PROBE_TICK);
	swim_timer_init(&s->t_probe_phase, SWIM_T_PROBE_PHASE);
	swim_timer_init(&s->t_gossip, SWIM_T_GOSSIP);
	swim_timer_init(&s->t_push_pull, SWIM_T_PUSH_PULL);
	if (swim_alloc(s) != 0 || swim_add_self(s) != 0)
		goto fail;
	return s;
fail:
	if (err != NULL)
		*err = why;
	swim_delete(s);
	return NULL;
}

void
swim_delete(struct swim *s)
{
	if (s == NULL)
		return;
	/* Broadcasts point back into members: drop them first. */
	swim_diss_destroy(&s->bq);
	swim_diss_destroy(&s->uq);
	swim_timer_heap_destroy(&s->timers);
	/* Queued events and reaps hold members: let go before freeing. */
	swim_events_release(s);
	swim_reapq_destroy(s);
	swim_suspects_destroy(s);
	swim_members_destroy(&s->mt);
	swim_queues_destroy(s);
	free(s->scratch);
	free(s->buf_a);
	free(s->buf_b);
	free(s->buf_c);
	free(s->relays);
	free(s->dudp);
	free(s);
}

void
swim_member_added(struct swim *s, struct swim_member *m)
{
	/* Members carry no timers: suspicions have their own records. */
	(void)s;
	(void)m;
}

/* The first call with a time arms the periodic timers, staggered. */
static void
swim_start(struct swim *s, uint64_t now)
{
	if (s->started)
		return;
	s->started = true;
	s->self->state_change_us = now;
	swim_timer_arm(&s->timers, &s->t_probe_tick, now +
		       swim_rand_below(&s->rnd, s->cfg.probe_interval_us));
	swim_timer_arm(&s->timers, &s->t_gossip, now +
		       swim_rand_below(&s->rnd, s->cfg.gossip_interval_us));
	swim_push_pull_schedule(s, true);
}

/* Every entry point with a time: advance the clock, start the timers. */
void
swim_enter(struct swim *s, uint64_t now)
{
	if (now > s->now)
		s->now = now;
	swim_start(s, s->now);
}

/* --- inbound --- */

static int
swim_visit(void *ctx, const struct swim_msg *msg)
{
	struct swim *s = ctx;

	s->stats.msgs_in++;
	switch (msg->type) {
	case SWIM_MSG_PING:
		if (!(s->pkt_flags & SWIM_PKT_PINGS_ANSWERED))
			swim_handle_ping(s, &msg->ping);
		break;
	case SWIM_MSG_INDIRECT_PING:
		swim_handle_indirect_ping(s, &msg->indirect_ping);
		break;
	case SWIM_MSG_ACK:
		swim_handle_ack(s, &msg->ack);
		break;
	case SWIM_MSG_NACK:
		swim_handle_nack(s, &msg->nack);
		break;
	case SWIM_MSG_SUSPECT:
		swim_suspect_node(s, &msg->suspect);
		break;
	case SWIM_MSG_ALIVE:
		swim_alive_node(s, &msg->alive, false);
		break;
	case SWIM_MSG_DEAD:
		swim_dead_node(s, &msg->dead);
		break;
	case SWIM_MSG_USER: {
		struct swim_event ev = { .kind = SWIM_EV_USER };
		ev.data = msg->user.data;
		ev.from = *s->pkt_from;
		swim_event_push(s, &ev);
		break;
	}
	default:
		s->stats.msgs_unknown++;
		break;
	}
	return 0;
}

void
swim_on_packet(struct swim *s, uint64_t now_us, const struct swim_addr *from,
	       const uint8_t *buf, size_t len, unsigned flags)
{
	swim_enter(s, now_us);
	s->stats.packets_in++;
	if (buf == NULL || len == 0 || from == NULL) {
		s->stats.packets_bad++;
		return;
	}
	/* gossipd's private delta-sync datagrams (swim_dsync_udp.h) */
	if (swim_dsync_udp_on_packet(s, from, buf, len))
		return;
	s->pkt_from = from;
	s->pkt_flags = flags;
	s->scratch->used = 0;
	int rc = swim_wire_decode_packet(buf, len, s->scratch, swim_visit, s);
	if (rc == SWIM_WIRE_E_UNKNOWN_MSG)
		s->stats.msgs_unknown++;
	else if (rc < 0)
		s->stats.packets_bad++;
	s->pkt_from = NULL;
}

/* --- timers --- */

static void
swim_timer_fire(struct swim *s, struct swim_timer *t)
{
	switch (t->kind) {
	case SWIM_T_PROBE_TICK:
		swim_probe_tick(s);
		break;
	case SWIM_T_PROBE_PHASE:
		swim_probe_phase_timeout(s);
		break;
	case SWIM_T_GOSSIP:
		swim_timer_arm(&s->timers, t, t->when +
			       s->cfg.gossip_interval_us *
			       ((s->now - t->when) / s->cfg.gossip_interval_us + 1));
		swim_gossip(s);
		break;
	case SWIM_T_PUSH_PULL:
		swim_push_pull_tick(s);
		break;
	case SWIM_T_SUSPECT:
		swim_suspect_timeout(s, SWIM_CONTAINER(t,
			struct swim_suspect_rec, t)->m);
		break;
	case SWIM_T_RELAY:
		swim_relay_timeout(s, (struct swim_relay *)(void *)t);
		break;
	case SWIM_T_DSYNC_UDP:
		swim_dsync_udp_expire(s);
		break;
	}
}

void
swim_tick(struct swim *s, uint64_t now_us)
{
	struct swim_timer *t;

	swim_enter(s, now_us);
	while ((t = swim_timer_pop_due(&s->timers, s->now)) != NULL)
		swim_timer_fire(s, t);
	swim_probe_early(s);
	swim_reap_run(s);
}

uint64_t
swim_next_deadline(const struct swim *s)
{
	/* Never ticked yet: the periodic timers wait for a first tick. */
	if (!s->started)
		return 0;
	uint64_t reap = swim_reap_next(s);
	/* Nothing to gossip: the gossip tick would do nothing, so it does
	 * not count; a broadcast queued later makes it due at once (its
	 * time is then past: the news goes out on the turn that brought
	 * it, where memberlist's ticker would hold it up to a gossip
	 * interval; as many transmits either way) and it re-arms on its
	 * grid. An idle daemon wakes for probes, not five times a second
	 * for nothing. */
	uint64_t next = s->bq.nb == 0 && s->uq.nb == 0 ?
		swim_timer_next_except(&s->timers, &s->t_gossip) :
		swim_timer_next(&s->timers);
	return reap < next ? reap : next;
}

/* --- helpers shared by the core's files --- */

struct swim_member *
swim_find_str(const struct swim *s, const struct swim_str *name)
{
	if (name->ptr == NULL || name->len == 0)
		return NULL;
	return swim_members_find(&s->mt, (const char *)name->ptr, name->len);
}

bool
swim_addr_from_str(struct swim_addr *a, const struct swim_str *ip,
		   uint16_t port)
{
	if (ip->ptr == NULL || (ip->len != 4 && ip->len != 16))
		return false;
	memset(a, 0, sizeof(*a));
	memcpy(a->ip, ip->ptr, ip->len);
	a->ip_len = (uint8_t)ip->len;
	a->port = port;
	return true;
}

void
swim_self_ping_fields(struct swim *s, struct swim_str *addr,
		      struct swim_str *node, uint16_t *port)
{
	addr->ptr = s->cfg.addr.ip;
	addr->len = s->cfg.addr.ip_len;
	node->ptr = (const uint8_t *)s->self->name;
	node->len = s->self->name_len;
	*port = s->cfg.addr.port;
}

void
swim_member_info_fill(const struct swim_member *m,
		      struct swim_member_info *info)
{
	info->name.ptr = (const uint8_t *)m->name;
	info->name.len = m->name_len;
	info->addr = m->addr;
	info->incarnation = m->incarnation;
	info->status = m->status;
	info->meta.ptr = m->meta_len ? m->meta : NULL;
	info->meta.len = m->meta_len;
	memcpy(info->vsn, m->vsn, SWIM_VSN_LEN);
	info->caps = m->vsn[SWIM_VSN_LEN];
	info->state_change_us = m->state_change_us;
	info->is_self = m->is_self;
	info->handle = m;
}

/* The holders only read: the casts drop const for the count alone. */
bool
swim_member_hold(const struct swim_member *m)
{
	return m != NULL && swim_member_ref((struct swim_member *)(uintptr_t)m);
}

void
swim_member_release(const struct swim_member *m)
{
	if (m != NULL)
		swim_member_unref((struct swim_member *)(uintptr_t)m);
}

void
swim_member_view(const struct swim_member *m, struct swim_member_info *info)
{
	swim_member_info_fill(m, info);
}

const char *
swim_member_name(const struct swim_member *m, size_t *len)
{
	*len = m->name_len;
	return m->name;
}

/* --- local actions --- */

void
swim_leave(struct swim *s, uint64_t now_us)
{
	struct swim_accuse d;

	swim_enter(s, now_us);
	if (s->leaving)
		return;
	s->leaving = true;
	/* Node == From: peers record us as left, not failed. */
	d.incarnation = s->self->incarnation;
	d.node.ptr = (const uint8_t *)s->self->name;
	d.node.len = s->self->name_len;
	d.from = d.node;
	swim_dead_node(s, &d);
	swim_timer_cancel(&s->timers, &s->t_probe_tick);
	swim_timer_cancel(&s->timers, &s->t_probe_phase);
	swim_timer_cancel(&s->timers, &s->t_push_pull);
	s->probe.phase = SWIM_PROBE_IDLE;
	s->probe.tick_pending = false;
}

bool
swim_leave_done(const struct swim *s)
{
	return s->leaving && (s->bq.nb_leave == 0 || s->mt.live.nb == 0);
}

int
swim_set_meta(struct swim *s, uint64_t now_us, const uint8_t *meta,
	      size_t len)
{
	swim_enter(s, now_us);
	if (len > SWIM_META_MAX || (len > 0 && meta == NULL) || s->leaving)
		return -1;
	struct swim_member *me = s->self;
	uint8_t copy[SWIM_META_MAX];
	if (len > 0)
		memcpy(copy, meta, len);
	struct swim_alive a = {
		.incarnation = me->incarnation + 1,
		.node = { (const uint8_t *)me->name, me->name_len },
		.addr = { me->addr.ip, me->addr.ip_len },
		.port = me->addr.port,
		.meta = { len ? copy : NULL, (uint32_t)len },
		.vsn = { me->vsn, swim_member_vsn_len(me) },
	};
	struct swim_addr addr = me->addr;
	a.addr.ptr = addr.ip;
	swim_alive_node(s, &a, true);
	return me->incarnation == a.incarnation ? 0 : -1;
}

void
swim_set_ack_payload(struct swim *s, const uint8_t *data, size_t len)
{
	if (data == NULL || len == 0 || len > SWIM_ACK_PAYLOAD_MAX) {
		s->ack_payload_set = false;
		s->ack_payload_len = 0;
		return;
	}
	memcpy(s->ack_payload, data, len);
	s->ack_payload_len = (uint32_t)len;
	s->ack_payload_set = true;
}

/* --- queries --- */

uint32_t
swim_member_count(const struct swim *s)
{
	return swim_members_count(&s->mt);
}

uint32_t
swim_member_count_alive(const struct swim *s)
{
	return s->mt.nb_status[SWIM_STATUS_ALIVE] +
	       s->mt.nb_status[SWIM_STATUS_SUSPECT];
}

uint32_t
swim_member_count_status(const struct swim *s, enum swim_status st)
{
	if ((unsigned)st >= SWIM_STATUS_COUNT)
		return 0;
	return s->mt.nb_status[st];
}

int
swim_member_find(const struct swim *s, const char *name, size_t len,
		 struct swim_member_info *info)
{
	if (name == NULL)
		return -1;
	struct swim_member *m = swim_members_find(&s->mt, name, len);
	if (m == NULL)
		return -1;
	if (info != NULL)
		swim_member_info_fill(m, info);
	return 0;
}

void
swim_member_foreach(const struct swim *s, swim_member_visit_f f, void *ctx)
{
	struct swim_member_info info;

	for (uint32_t i = 0; i < s->mt.all.nb; i++) {
		swim_member_info_fill(s->mt.all.v[i], &info);
		if (f(ctx, &info) != 0)
			break;
	}
}

int
swim_member_caps(const struct swim *s, const char *name,
		 const struct swim_addr *to)
{
	struct swim_member_info info;

	if (name != NULL && name[0] != '\0')
		return swim_member_find(s, name, strlen(name), &info) == 0 ?
		       info.caps : -1;
	if (to == NULL)
		return -1;
	for (uint32_t i = 0; i < s->mt.all.nb; i++) {
		const struct swim_addr *a = &s->mt.all.v[i]->addr;

		if (a->port == to->port && a->ip_len == to->ip_len &&
		    memcmp(a->ip, to->ip, a->ip_len) == 0) {
			swim_member_info_fill(s->mt.all.v[i], &info);
			return info.caps;
		}
	}
	return -1;
}

uint32_t
swim_self_incarnation(const struct swim *s)
{
	return s->self->incarnation;
}

const char *
swim_self_name(const struct swim *s)
{
	return s->self->name;
}

uint32_t
swim_awareness_score(const struct swim *s)
{
	return (uint32_t)s->aware.score;
}

void
swim_get_stats(const struct swim *s, struct swim_stats *st)
{
	*st = s->stats;
	st->events_dropped = s->events_dropped;
	st->bcasts_dropped = s->bq.dropped + s->uq.dropped;
	st->pp_fallbacks = s->mt.pp_fallbacks;
}

uint32_t
swim_broadcast_queue_len(const struct swim *s)
{
	return s->bq.nb + s->uq.nb;
}
