/*
 * memberlist's failure detector (state.go probe / probeNode, net.go
 * handlePing / handleIndirectPing / handleAck / handleNack), as a state
 * machine driven by timers instead of a blocking goroutine:
 *
 *   DIRECT    ping sent; wait ProbeTimeout for its ack
 *   INDIRECT  ping-req to IndirectChecks peers (+ TCP ping); any ack with
 *             our seq before sent + scaled ProbeInterval is success
 *   GRACE     deadline passed while the TCP ping result is outstanding
 *
 * A failed probe makes the target suspect and moves the awareness score.
 */
#include "swim_int.h"
#include "swim_dsync_int.h"

#include <string.h>

static void swim_probe_start(struct swim *s);

static void
swim_ping_init(struct swim *s, struct swim_msg *msg, uint32_t seq,
	       const char *node, uint32_t node_len)
{
	memset(msg, 0, sizeof(*msg));
	msg->type = SWIM_MSG_PING;
	msg->ping.seq_no = seq;
	msg->ping.node.ptr = (const uint8_t *)node;
	msg->ping.node.len = node_len;
	swim_self_ping_fields(s, &msg->ping.source_addr,
			      &msg->ping.source_node, &msg->ping.source_port);
}

void
swim_probe_tick(struct swim *s)
{
	struct swim_timer *t = &s->t_probe_tick;
	uint64_t iv = s->cfg.probe_interval_us;

	/* A ticker: stay on the grid, skip ticks we missed. */
	swim_timer_arm(&s->timers, t, t->when + iv * ((s->now - t->when) / iv + 1));
	if (s->leaving)
		return;
	if (s->probe.phase != SWIM_PROBE_IDLE) {
		/* Go's ticker channel holds one tick for a slow probe. */
		s->probe.tick_pending = true;
		return;
	}
	swim_probe_start(s);
}

void
swim_probe_early(struct swim *s)
{
	struct swim_timer *t = &s->t_probe_tick;

	if (s->cfg.probe_early_us == 0 || !swim_timer_armed(t) ||
	    s->now >= t->when || t->when - s->now > s->cfg.probe_early_us ||
	    s->probe.phase != SWIM_PROBE_IDLE || s->leaving)
		return;
	/* this tick is spent: the next one stays on the grid */
	swim_timer_arm(&s->timers, t, t->when + s->cfg.probe_interval_us);
	s->stats.probes_early++;
	swim_probe_start(s);
}

static void
swim_probe_finish(struct swim *s)
{
	struct swim_probe *p = &s->probe;

	p->phase = SWIM_PROBE_IDLE;
	swim_timer_cancel(&s->timers, &s->t_probe_phase);
	if (p->tick_pending && !s->leaving) {
		p->tick_pending = false;
		swim_probe_start(s);
	}
}

static void
swim_probe_success(struct swim *s, bool direct, const struct swim_ack *ack)
{
	struct swim_probe *p = &s->probe;

	swim_awareness_apply(&s->aware, -1);
	if (direct) {
		struct swim_member *m =
			swim_members_find(&s->mt, p->name, p->name_len);
		if (m != NULL) {
			struct swim_event ev;
			memset(&ev, 0, sizeof(ev));
			ev.kind = SWIM_EV_PING;
			swim_member_info_fill(m, &ev.member);
			ev.data = ack->payload;
			ev.rtt_us = s->now - p->sent_us;
			swim_event_push(s, &ev);
		}
	}
	swim_probe_finish(s);
}

static void
swim_probe_fail(struct swim *s)
{
	struct swim_probe *p = &s->probe;
	struct swim_accuse sus;
	int delta = 1;

	/* Peers that nack tell us whether we are the problem. */
	if (p->expected_nacks > 0) {
		uint32_t got = p->nacks < p->expected_nacks ? p->nacks :
							      p->expected_nacks;
		delta = (int)(p->expected_nacks - got);
	}
	swim_awareness_apply(&s->aware, delta);
	s->stats.probes_failed++;
	sus.incarnation = p->incarnation;
	sus.node.ptr = (const uint8_t *)p->name;
	sus.node.len = p->name_len;
	sus.from.ptr = (const uint8_t *)s->self->name;
	sus.from.len = s->self->name_len;
	/* Before finish: the next probe reuses p->name. */
	swim_suspect_node(s, &sus);
	swim_probe_finish(s);
}

/* Ping a suspect with its accusation attached, so it can refute. */
static void
swim_probe_send_suspect(struct swim *s, const struct swim_member *m,
			const struct swim_msg *ping)
{
	struct swim_msg sus = { .type = SWIM_MSG_SUSPECT };
	struct swim_str parts[2];

	sus.suspect.incarnation = m->incarnation;
	sus.suspect.node.ptr = (const uint8_t *)m->name;
	sus.suspect.node.len = m->name_len;
	sus.suspect.from.ptr = (const uint8_t *)s->self->name;
	sus.suspect.from.len = s->self->name_len;
	int l1 = swim_wire_encode_msg(ping, s->buf_c, SWIM_UDP_MAX / 2);
	int l2 = swim_wire_encode_msg(&sus, s->buf_c + SWIM_UDP_MAX / 2,
				      SWIM_UDP_MAX / 2);
	if (l1 <= 0 || l2 <= 0)
		return;
	parts[0].ptr = s->buf_c;
	parts[0].len = (uint32_t)l1;
	parts[1].ptr = s->buf_c + SWIM_UDP_MAX / 2;
	parts[1].len = (uint32_t)l2;
	int len = swim_wire_encode_compound(parts, 2, s->buf_a, SWIM_UDP_MAX);
	if (len > 0)
		swim_send_raw(s, &m->addr, m, s->buf_a, (size_t)len);
}

static void
swim_probe_start(struct swim *s)
{
	struct swim_probe *p = &s->probe;
	struct swim_member *m = swim_members_next_probe(&s->mt, &s->rnd);
	struct swim_msg ping;

	if (m == NULL)
		return;
	memset(p, 0, sizeof(*p));
	memcpy(p->name, m->name, m->name_len + 1);
	p->name_len = m->name_len;
	p->incarnation = m->incarnation;
	p->addr = m->addr;
	p->pmax = m->vsn[1];
	p->seq = ++s->seq;
	p->sent_us = s->now;
	p->deadline_us = s->now + swim_awareness_scale(&s->aware,
						       s->cfg.probe_interval_us);
	s->stats.probes++;
	swim_ping_init(s, &ping, p->seq, m->name, m->name_len);
	if (m->status == SWIM_STATUS_ALIVE)
		swim_send_msg(s, &m->addr, &ping);
	else
		swim_probe_send_suspect(s, m, &ping);
	/* a wanted delta-sync HELLO rides the ping (swim_dsync_udp.h) */
	swim_dsync_udp_on_probe(s, m);
	p->phase = SWIM_PROBE_DIRECT;
	uint64_t when = s->now + s->cfg.probe_timeout_us;
	swim_timer_arm(&s->timers, &s->t_probe_phase,
		       when < p->deadline_us ? when : p->deadline_us);
}

struct swim_peer_filter {
	const struct swim_member *target;
};

static bool
swim_indirect_filter(void *ctx, const struct swim_member *m)
{
	const struct swim_peer_filter *f = ctx;

	return m->status == SWIM_STATUS_ALIVE && m != f->target;
}

static void
swim_probe_tcp(struct swim *s)
{
	struct swim_probe *p = &s->probe;

	if (s->cfg.disable_tcp_pings || p->pmax < 3)
		return;
	struct swim_out_slot *o = swim_out_push(s, SWIM_OUT_TCP_PING, &p->addr);
	if (o == NULL)
		return;
	memcpy(o->node, p->name, p->name_len + 1);
	o->seq_no = p->seq;
	o->deadline_us = p->deadline_us;
	p->tcp_pending = true;
}

static void
swim_probe_indirect(struct swim *s)
{
	struct swim_probe *p = &s->probe;
	struct swim_member *peers[16];
	struct swim_peer_filter f = {
		swim_members_find(&s->mt, p->name, p->name_len)
	};
	uint32_t k = s->cfg.indirect_checks > 16 ? 16 : s->cfg.indirect_checks;
	uint32_t nb = swim_members_random(&s->mt, &s->rnd, false, k,
					  swim_indirect_filter, &f, peers);
	struct swim_msg msg = { .type = SWIM_MSG_INDIRECT_PING };
	struct swim_indirect_ping *ind = &msg.indirect_ping;

	ind->seq_no = p->seq;
	ind->target.ptr = p->addr.ip;
	ind->target.len = p->addr.ip_len;
	ind->port = p->addr.port;
	ind->node.ptr = (const uint8_t *)p->name;
	ind->node.len = p->name_len;
	swim_self_ping_fields(s, &ind->source_addr, &ind->source_node,
			      &ind->source_port);
	for (uint32_t i = 0; i < nb; i++) {
		/* Only peers speaking protocol 4+ send nacks. */
		ind->nack = peers[i]->vsn[1] >= 4;
		p->expected_nacks += ind->nack;
		swim_send_msg(s, &peers[i]->addr, &msg);
		s->stats.indirect_probes++;
	}
	swim_probe_tcp(s);
}

/* The scaled probe interval is over: only a TCP ack can still save it. */
static void
swim_probe_deadline(struct swim *s)
{
	struct swim_probe *p = &s->probe;

	if (p->tcp_acked) {
		swim_probe_success(s, false, NULL);
	} else if (p->tcp_pending) {
		p->phase = SWIM_PROBE_GRACE;
		swim_timer_arm(&s->timers, &s->t_probe_phase,
			       s->now + SWIM_TCP_PING_GRACE_US);
	} else {
		swim_probe_fail(s);
	}
}

void
swim_probe_phase_timeout(struct swim *s)
{
	struct swim_probe *p = &s->probe;

	switch (p->phase) {
	case SWIM_PROBE_DIRECT:
		p->phase = SWIM_PROBE_INDIRECT;
		swim_probe_indirect(s);
		if (s->now >= p->deadline_us)
			swim_probe_deadline(s);
		else
			swim_timer_arm(&s->timers, &s->t_probe_phase,
				       p->deadline_us);
		break;
	case SWIM_PROBE_INDIRECT:
		swim_probe_deadline(s);
		break;
	case SWIM_PROBE_GRACE:
		swim_probe_fail(s);
		break;
	default:
		break;
	}
}

void
swim_probe_tcp_result(struct swim *s, uint32_t seq, bool acked)
{
	struct swim_probe *p = &s->probe;

	if (seq != p->seq || !p->tcp_pending ||
	    (p->phase != SWIM_PROBE_INDIRECT && p->phase != SWIM_PROBE_GRACE))
		return;
	p->tcp_pending = false;
	p->tcp_acked = acked;
	if (p->phase == SWIM_PROBE_GRACE)
		swim_probe_deadline(s);
}

/* --- inbound --- */

static const struct swim_addr *
swim_reply_addr(struct swim *s, const struct swim_str *addr, uint16_t port,
		struct swim_addr *buf)
{
	if (port > 0 && swim_addr_from_str(buf, addr, port))
		return buf;
	return s->pkt_from;
}

void
swim_handle_ping(struct swim *s, const struct swim_ping *p)
{
	struct swim_msg msg = { .type = SWIM_MSG_ACK };
	struct swim_addr buf;

	/* A ping for another name: that node is gone from this address. */
	if (p->node.len > 0 && (p->node.len != s->self->name_len ||
				memcmp(p->node.ptr, s->self->name,
				       p->node.len) != 0))
		return;
	msg.ack.seq_no = p->seq_no;
	if (s->ack_payload_set) {
		msg.ack.payload.ptr = s->ack_payload;
		msg.ack.payload.len = s->ack_payload_len;
	}
	swim_send_msg(s, swim_reply_addr(s, &p->source_addr, p->source_port,
					 &buf), &msg);
}

static void
swim_relay_free(struct swim *s, struct swim_relay *r)
{
	swim_timer_cancel(&s->timers, &r->t);
	r->active = false;
}

void
swim_handle_indirect_ping(struct swim *s, const struct swim_indirect_ping *ind)
{
	struct swim_addr target;
	struct swim_addr from;
	struct swim_msg ping;
	uint16_t port = ind->port ? ind->port : s->cfg.addr.port;

	if (!swim_addr_from_str(&target, &ind->target, port) ||
	    ind->node.len > SWIM_NAME_MAX)
		return;
	const struct swim_addr *to = swim_reply_addr(s, &ind->source_addr,
						     ind->source_port, &from);
	uint32_t seq = ++s->seq;
	struct swim_relay *r = &s->relays[seq % SWIM_RELAY_MAX];
	/* A full ring drops the oldest relay rather than allocating. */
	swim_relay_free(s, r);
	r->active = true;
	r->seq = seq;
	r->req_seq = ind->seq_no;
	r->nack = ind->nack;
	r->to = *to;
	swim_timer_arm(&s->timers, &r->t, s->now + s->cfg.probe_timeout_us);
	swim_ping_init(s, &ping, seq, (const char *)ind->node.ptr,
		       ind->node.len);
	swim_send_msg(s, &target, &ping);
}

void
swim_relay_timeout(struct swim *s, struct swim_relay *r)
{
	struct swim_msg msg = { .type = SWIM_MSG_NACK };

	r->active = false;
	if (!r->nack)
		return;
	msg.nack.seq_no = r->req_seq;
	swim_send_msg(s, &r->to, &msg);
}

void
swim_handle_ack(struct swim *s, const struct swim_ack *ack)
{
	struct swim_probe *p = &s->probe;

	if (ack->seq_no == p->seq && (p->phase == SWIM_PROBE_DIRECT ||
				      p->phase == SWIM_PROBE_INDIRECT)) {
		swim_probe_success(s, p->phase == SWIM_PROBE_DIRECT, ack);
		return;
	}
	struct swim_relay *r = &s->relays[ack->seq_no % SWIM_RELAY_MAX];
	if (!r->active || r->seq != ack->seq_no)
		return;
	struct swim_msg msg = { .type = SWIM_MSG_ACK };
	msg.ack.seq_no = r->req_seq;
	struct swim_addr to = r->to;
	swim_relay_free(s, r);
	swim_send_msg(s, &to, &msg);
}

void
swim_handle_nack(struct swim *s, const struct swim_nack *nack)
{
	struct swim_probe *p = &s->probe;

	if (nack->seq_no != p->seq || (p->phase != SWIM_PROBE_DIRECT &&
				       p->phase != SWIM_PROBE_INDIRECT))
		return;
	/* Go's nack channel holds IndirectChecks + 1. */
	if (p->nacks < s->cfg.indirect_checks + 1)
		p->nacks++;
}
