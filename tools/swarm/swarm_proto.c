/* SPDX-License-Identifier: MIT */
/*
 * What a virtual member does with a datagram (ping -> ack, indirect ping
 * -> probe and ack/nack, gossip about itself -> refute or record), and the
 * swarm's aggregate probing of the real nodes: each real node gets about
 * one probe per probe interval (times --probe-rate-mult) from random
 * members, as it would in a pool of that size. Callers hold sw->lock.
 */
#include <string.h>

#include "swarm_int.h"

#define SWARM_PEND_MASK (SWARM_PEND_SIZE - 1)
#define SWARM_PROBES_PER_TICK 4096	/* catch-up cap per real node */

/* The context of one datagram while its messages are visited. */
struct swarm_pkt {
	struct swarm *sw;
	uint32_t src_ip, dst_ip;
	uint16_t src_port;
	int64_t dst_idx;	/* member called, or -1 */
	int real;		/* sending real node, or -1 */
};

static uint32_t
swarm_ip4(const struct swim_str *s)
{
	if (s->len != 4)
		return 0;
	return (uint32_t)s->ptr[0] << 24 | (uint32_t)s->ptr[1] << 16 |
	       (uint32_t)s->ptr[2] << 8 | s->ptr[3];
}

/* Reply address: SourceAddr/SourcePort when given, else the UDP source. */
static void
swarm_reply_to(const struct swarm_pkt *p, const struct swim_str *addr,
	       uint16_t port, uint32_t *ip, uint16_t *out_port)
{
	uint32_t a = swarm_ip4(addr);

	*ip = a != 0 && port != 0 ? a : p->src_ip;
	*out_port = a != 0 && port != 0 ? port : p->src_port;
}

static void
swarm_send_ack(struct swarm *sw, uint32_t from_ip, uint32_t ip, uint16_t port,
	       uint32_t seq)
{
	struct swim_msg msg = { .type = SWIM_MSG_ACK };

	msg.ack.seq_no = seq;
	swarm_send_piggy(sw, from_ip, ip, port, &msg);
	sw->st.acks_out++;
}

static void
swarm_send_nack(struct swarm *sw, uint32_t from_ip, uint32_t ip,
		uint16_t port, uint32_t seq)
{
	struct swim_msg msg = { .type = SWIM_MSG_NACK };

	msg.nack.seq_no = seq;
	swarm_send_msg(sw, from_ip, ip, port, &msg);
	sw->st.nacks_out++;
}

/* A fresh SeqNo with its pending slot (an old occupant is dropped). */
static struct swarm_pend *
swarm_pend_new(struct swarm *sw, enum swarm_pend_kind kind, uint32_t member)
{
	uint32_t seq = sw->next_seq++;
	struct swarm_pend *p = &sw->pend[seq & SWARM_PEND_MASK];

	memset(p, 0, sizeof(*p));
	p->seq = seq;
	p->kind = (uint8_t)kind;
	p->member = member;
	p->t_sent = sw->now;
	return p;
}

/* ping{Node, SeqNo, Source*} from member i to ip:port. */
static void
swarm_send_ping(struct swarm *sw, uint32_t i, uint32_t seq,
		const struct swim_str *node, uint32_t ip, uint16_t port)
{
	char name[SWARM_NAME_LEN_MAX];
	uint32_t a = swarm_map_addr(&sw->map, i);
	uint8_t sa[4] = { (uint8_t)(a >> 24), (uint8_t)(a >> 16),
			  (uint8_t)(a >> 8), (uint8_t)a };
	struct swim_msg msg = { .type = SWIM_MSG_PING };
	int n = swarm_map_name(&sw->map, i, name, sizeof(name));

	msg.ping.seq_no = seq;
	msg.ping.node = *node;
	msg.ping.source_addr = (struct swim_str){ sa, 4 };
	msg.ping.source_node = (struct swim_str){ (const uint8_t *)name,
						  (uint32_t)n };
	msg.ping.source_port = sw->cfg.port;
	swarm_send_piggy(sw, a, ip, port, &msg);
}

static void
swarm_on_ping(struct swarm_pkt *p, const struct swim_ping *ping)
{
	struct swarm *sw = p->sw;
	uint32_t ip;
	uint16_t port;

	sw->st.pings_in++;
	if (p->dst_idx < 0 || !swarm_member_answers(&sw->m[p->dst_idx]))
		return;
	/* A ping for another name at this address is not ours to answer. */
	if (ping->node.len != 0 &&
	    swarm_map_name_index(&sw->map, ping->node.ptr, ping->node.len) !=
		    p->dst_idx)
		return;
	swarm_reply_to(p, &ping->source_addr, ping->source_port, &ip, &port);
	swarm_send_ack(sw, p->dst_ip, ip, port, ping->seq_no);
}

static void
swarm_on_indirect(struct swarm_pkt *p, const struct swim_indirect_ping *req)
{
	struct swarm *sw = p->sw;
	uint32_t ip, target = swarm_ip4(&req->target);
	int64_t t = swarm_map_addr_index(&sw->map, target);
	struct swarm_pend *pe;
	uint16_t port;

	sw->st.indirect_in++;
	if (p->dst_idx < 0 || !swarm_member_answers(&sw->m[p->dst_idx]))
		return;
	swarm_reply_to(p, &req->source_addr, req->source_port, &ip, &port);
	if (t >= 0 && swarm_member_answers(&sw->m[t])) {
		/* A virtual target answers the relayed probe at once. */
		swarm_send_ack(sw, p->dst_ip, ip, port, req->seq_no);
		return;
	}
	pe = swarm_pend_new(sw, t >= 0 ? SWARM_PEND_NACK : SWARM_PEND_RELAY,
			    (uint32_t)p->dst_idx);
	pe->req_seq = req->seq_no;
	pe->req_ip = ip;
	pe->req_port = port;
	pe->want_nack = req->nack;
	if (t < 0 && target != 0) {
		swarm_send_ping(sw, (uint32_t)p->dst_idx, pe->seq, &req->node,
				target, req->port != 0 ? req->port : p->src_port);
		sw->st.indirect_out++;
	}
}

static void
swarm_on_ack(struct swarm_pkt *p, const struct swim_ack *ack)
{
	struct swarm *sw = p->sw;
	struct swarm_pend *pe = &sw->pend[ack->seq_no & SWARM_PEND_MASK];

	if (pe->kind == SWARM_PEND_FREE || pe->seq != ack->seq_no ||
	    pe->acked)
		return;
	pe->acked = true;
	if (pe->kind == SWARM_PEND_PROBE) {
		sw->st.acks_in++;
		if (pe->real < sw->nb_real)
			sw->real[pe->real].acks++;
	} else if (pe->kind == SWARM_PEND_RELAY) {
		swarm_send_ack(sw, swarm_map_addr(&sw->map, pe->member),
			       pe->req_ip, pe->req_port, pe->req_seq);
	}
}

/*
 * News about a real node goes on to the other real nodes, as the pool's
 * members would gossip it: without that a real node's refutation, sent to
 * a few random (virtual) members, would never reach its real peers.
 */
static void
swarm_relay(struct swarm *sw, const struct swim_msg *msg)
{
	uint8_t buf[SWARM_BMSG_MAX];

	swarm_bq_push(sw, buf, swim_wire_encode_msg(msg, buf, sizeof(buf)));
}

static void
swarm_on_accuse_real(struct swarm_pkt *p, const struct swim_accuse *a,
		     bool is_dead)
{
	struct swarm *sw = p->sw;
	int r = swarm_real_by_name(sw, a->node.ptr, a->node.len);
	struct swim_msg msg = { .type = is_dead ? SWIM_MSG_DEAD :
						  SWIM_MSG_SUSPECT };
	bool left;
	uint8_t st;

	if (r < 0 || a->incarnation < sw->real[r].inc)
		return;
	left = a->from.len == a->node.len &&
	       memcmp(a->from.ptr, a->node.ptr, a->node.len) == 0;
	st = !is_dead ? SWIM_STATUS_SUSPECT :
	     left     ? SWIM_STATUS_LEFT :
			SWIM_STATUS_DEAD;
	if (sw->real[r].state == st ||
	    (st == SWIM_STATUS_SUSPECT &&
	     sw->real[r].state != SWIM_STATUS_ALIVE))
		return;
	sw->real[r].state = st;
	msg.suspect = *a;
	swarm_relay(sw, &msg);
}

/* suspect or dead about a virtual member or a real node. */
static void
swarm_on_accuse(struct swarm_pkt *p, const struct swim_accuse *a,
		bool is_dead)
{
	struct swarm *sw = p->sw;
	int64_t i = swarm_map_name_index(&sw->map, a->node.ptr, a->node.len);

	if (i < 0) {
		swarm_on_accuse_real(p, a, is_dead);
		return;
	}
	if (is_dead)
		sw->st.dead_seen++;
	else
		sw->st.suspect_seen++;
	struct swarm_member old = sw->m[i];
	enum swarm_verdict v = swarm_member_accused(&sw->m[i], is_dead,
						    a->incarnation);

	swarm_delta_touch(sw, (uint32_t)i, &old);
	switch (v) {
	case SWARM_V_REFUTE:
		if (is_dead)
			sw->st.fp_dead++;
		else
			sw->st.fp_suspect++;
		sw->st.refutes++;
		swarm_bq_alive(sw, (uint32_t)i);
		break;
	case SWARM_V_DETECTED:
		swarm_fail_seen(sw, (uint32_t)i, p->real, is_dead);
		break;
	default:
		break;
	}
}

static void
swarm_on_alive_real(struct swarm_pkt *p, const struct swim_alive *a)
{
	struct swarm *sw = p->sw;
	int r = swarm_real_by_name(sw, a->node.ptr, a->node.len);
	uint32_t old_inc = r >= 0 ? sw->real[r].inc : 0;
	bool news = r < 0 || a->incarnation > old_inc;
	struct swim_msg msg = { .type = SWIM_MSG_ALIVE };

	if (swarm_real_upsert(sw, &a->node, &a->addr, a->port,
			      a->incarnation, SWIM_STATUS_ALIVE, &a->meta,
			      &a->vsn) < 0 || !news)
		return;
	msg.alive = *a;
	swarm_relay(sw, &msg);
}

static void
swarm_on_alive(struct swarm_pkt *p, const struct swim_alive *a)
{
	struct swarm *sw = p->sw;
	int64_t i = swarm_map_name_index(&sw->map, a->node.ptr, a->node.len);

	if (i >= 0) {
		struct swarm_member old = sw->m[i];

		if (swarm_member_seen_alive(&sw->m[i], a->incarnation) ==
		    SWARM_V_REFUTE) {
			swarm_delta_touch(sw, (uint32_t)i, &old);
			sw->st.refutes++;
			swarm_bq_alive(sw, (uint32_t)i);
		}
		return;
	}
	/* Not one of ours: a real node (unless it sits in our prefix). */
	if (swarm_map_addr_index(&sw->map, swarm_ip4(&a->addr)) < 0)
		swarm_on_alive_real(p, a);
}

static int
swarm_visit(void *ctx, const struct swim_msg *msg)
{
	struct swarm_pkt *p = ctx;

	switch (msg->type) {
	case SWIM_MSG_PING:
		swarm_on_ping(p, &msg->ping);
		break;
	case SWIM_MSG_INDIRECT_PING:
		swarm_on_indirect(p, &msg->indirect_ping);
		break;
	case SWIM_MSG_ACK:
		swarm_on_ack(p, &msg->ack);
		break;
	case SWIM_MSG_NACK:
		p->sw->st.nacks_in++;
		break;
	case SWIM_MSG_SUSPECT:
		swarm_on_accuse(p, &msg->suspect, false);
		break;
	case SWIM_MSG_DEAD:
		swarm_on_accuse(p, &msg->dead, true);
		break;
	case SWIM_MSG_ALIVE:
		swarm_on_alive(p, &msg->alive);
		break;
	case SWIM_MSG_USER:
		swarm_on_serf(p->sw, msg->user.data.ptr, msg->user.data.len);
		break;
	default:
		break;
	}
	return 0;
}

void
swarm_on_packet(struct swarm *sw, uint32_t src_ip, uint16_t src_port,
		uint32_t dst_ip, const uint8_t *buf, size_t len)
{
	struct swarm_pkt p = {
		.sw = sw, .src_ip = src_ip, .dst_ip = dst_ip,
		.src_port = src_port,
		.dst_idx = swarm_map_addr_index(&sw->map, dst_ip),
		.real = swarm_real_find(sw, src_ip, src_port),
	};

	sw->scratch.used = 0;
	if (swim_wire_decode_packet(buf, len, &sw->scratch, swarm_visit,
				    &p) < 0)
		sw->st.bad_in++;
}

/* --- probing the real nodes --- */

static void
swarm_probe_real(struct swarm *sw, unsigned r)
{
	struct swarm_real *x = &sw->real[r];
	struct swim_str node = { (const uint8_t *)x->name, x->name_len };
	uint32_t i = swarm_pick_alive(sw);
	struct swarm_pend *pe;

	if (i == UINT32_MAX)
		return;
	pe = swarm_pend_new(sw, SWARM_PEND_PROBE, i);
	pe->real = (uint16_t)r;
	swarm_send_ping(sw, i, pe->seq, &node, x->ip, x->port);
	x->probes++;
	sw->st.probes_out++;
}

/* ProbeTimeout passed without an ack: indirect probes through others. */
static void
swarm_probe_indirect(struct swarm *sw, const struct swarm_pend *pe)
{
	const struct swarm_real *x = &sw->real[pe->real];
	char name[SWARM_NAME_LEN_MAX];
	uint32_t a = swarm_map_addr(&sw->map, pe->member);
	uint8_t sa[4] = { (uint8_t)(a >> 24), (uint8_t)(a >> 16),
			  (uint8_t)(a >> 8), (uint8_t)a };
	uint8_t ta[4] = { (uint8_t)(x->ip >> 24), (uint8_t)(x->ip >> 16),
			  (uint8_t)(x->ip >> 8), (uint8_t)x->ip };
	struct swim_msg msg = { .type = SWIM_MSG_INDIRECT_PING };
	unsigned sent = 0;
	int n = swarm_map_name(&sw->map, pe->member, name, sizeof(name));

	msg.indirect_ping = (struct swim_indirect_ping){
		.seq_no = pe->seq, .target = { ta, 4 }, .port = x->port,
		.node = { (const uint8_t *)x->name, x->name_len },
		.nack = true, .source_addr = { sa, 4 },
		.source_node = { (const uint8_t *)name, (uint32_t)n },
		.source_port = sw->cfg.port };
	for (unsigned r = 0; r < sw->nb_real; r++) {
		if (r == pe->real || sw->real[r].state != SWIM_STATUS_ALIVE ||
		    sent >= sw->cfg.timing.indirect_checks)
			continue;
		swarm_send_msg(sw, a, sw->real[r].ip, sw->real[r].port, &msg);
		sent++;
	}
}

/* The probe interval ended without any ack: suspect it, as a pool would. */
static void
swarm_probe_failed(struct swarm *sw, const struct swarm_pend *pe)
{
	struct swarm_real *x = &sw->real[pe->real];
	char name[SWARM_NAME_LEN_MAX];
	uint8_t buf[SWARM_BMSG_MAX];
	struct swim_msg msg = { .type = SWIM_MSG_SUSPECT };
	int n = swarm_map_name(&sw->map, pe->member, name, sizeof(name));

	sw->st.probe_fail++;
	x->fails++;
	msg.suspect = (struct swim_accuse){
		.incarnation = x->inc,
		.node = { (const uint8_t *)x->name, x->name_len },
		.from = { (const uint8_t *)name, (uint32_t)n } };
	swarm_bq_push(sw, buf, swim_wire_encode_msg(&msg, buf, sizeof(buf)));
}

static void
swarm_pend_timeout(struct swarm *sw, struct swarm_pend *pe)
{
	pe->stage = 1;
	if (pe->acked)
		return;
	if (pe->kind == SWARM_PEND_PROBE && pe->real < sw->nb_real)
		swarm_probe_indirect(sw, pe);
	else if (pe->kind == SWARM_PEND_NACK ||
		 (pe->kind == SWARM_PEND_RELAY && pe->want_nack))
		if (pe->want_nack)
			swarm_send_nack(sw, swarm_map_addr(&sw->map, pe->member),
					pe->req_ip, pe->req_port, pe->req_seq);
}

/* Walk the seqs in order: they were sent in order, so expire in order. */
static void
swarm_pend_expire(struct swarm *sw)
{
	uint64_t pt = sw->cfg.timing.probe_timeout_ms * 1000ull;
	uint64_t pi = sw->cfg.timing.probe_interval_ms * 1000ull;
	struct swarm_pend *pe;

	for (; sw->seq_timeout != sw->next_seq; sw->seq_timeout++) {
		pe = &sw->pend[sw->seq_timeout & SWARM_PEND_MASK];
		if (pe->kind == SWARM_PEND_FREE || pe->seq != sw->seq_timeout)
			continue;
		if (sw->now < pe->t_sent + pt)
			break;
		swarm_pend_timeout(sw, pe);
	}
	for (; sw->seq_final != sw->seq_timeout; sw->seq_final++) {
		pe = &sw->pend[sw->seq_final & SWARM_PEND_MASK];
		if (pe->kind == SWARM_PEND_FREE || pe->seq != sw->seq_final)
			continue;
		if (sw->now < pe->t_sent + pi)
			break;
		if (pe->kind == SWARM_PEND_PROBE && !pe->acked &&
		    pe->real < sw->nb_real)
			swarm_probe_failed(sw, pe);
		pe->kind = SWARM_PEND_FREE;
	}
}

void
swarm_probe_tick(struct swarm *sw)
{
	uint64_t every = (uint64_t)(sw->cfg.timing.probe_interval_ms * 1000.0 /
				    sw->cfg.probe_mult);

	if (every == 0)
		every = 1;
	for (unsigned r = 0; r < sw->nb_real; r++) {
		struct swarm_real *x = &sw->real[r];
		unsigned k = 0;

		if (x->state != SWIM_STATUS_ALIVE &&
		    x->state != SWIM_STATUS_SUSPECT)
			continue;
		for (; x->next_probe <= sw->now && k < SWARM_PROBES_PER_TICK;
		     k++) {
			swarm_probe_real(sw, r);
			x->next_probe += every;
		}
		if (x->next_probe + 1000000u < sw->now)
			x->next_probe = sw->now;
	}
	swarm_pend_expire(sw);
}
