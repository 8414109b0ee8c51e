/* SPDX-License-Identifier: MIT */
/*
 * The DPDK backend's frames, on byte buffers (no DPDK inside, so the
 * tests drive it without EAL): ARP for the whole prefix, ping -> ack for
 * any answering member, and the flood's pings and acks. Headers are
 * parsed and built by dataplane/dp_pkt.h, whose notion of "our address"
 * is set per frame to the member the frame is for: the swarm is one MAC
 * with N addresses.
 */
#include <stdlib.h>
#include <string.h>

#include "swarm_dpdk.h"

int
swarm_dpdk_init(struct swarm_dpdk *d, const struct swarm_cfg *cfg,
		const uint8_t mac[DP_ETH_ALEN])
{
	memset(d, 0, sizeof(*d));
	d->cfg = cfg;
	memcpy(d->mac, mac, DP_ETH_ALEN);
	if (swarm_map_init(&d->map, cfg->name_prefix, cfg->net, cfg->plen,
			   cfg->members) != 0)
		return -1;
	d->m = calloc(cfg->members, sizeof(*d->m));
	if (d->m == NULL)
		return -1;
	for (uint32_t i = 0; i < cfg->members; i++)
		swarm_member_join(&d->m[i]);
	d->seq = SWARM_DPDK_SEQ0;
	return 0;
}

void
swarm_dpdk_fini(struct swarm_dpdk *d)
{
	free(d->m);
	d->m = NULL;
}

/* A big-endian 32-bit load. */
static uint32_t
swarm_ld32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Who the frame is for: dp_pkt's "self" with the member's address. */
static void
swarm_dpdk_self(const struct swarm_dpdk *d, uint32_t ip,
		struct dp_pkt_self *self)
{
	memcpy(self->mac, d->mac, DP_ETH_ALEN);
	self->ip = ip;
	self->port = d->cfg->port;
}

/* ARP: answer requests for a member; learn the flood target's MAC. */
static enum swarm_dpdk_act
swarm_dpdk_arp(struct swarm_dpdk *d, uint8_t *f, size_t *len, size_t cap,
	       const struct dp_pkt_view *v)
{
	struct dp_pkt_self self;
	int n;

	if (v->arp_op == DP_ARP_OP_REPLY) {
		if (d->cfg->flood_ip != 0 && v->src_ip == d->cfg->flood_ip) {
			memcpy(d->dst_mac, v->arp_sha, DP_ETH_ALEN);
			d->have_dst_mac = true;
			return SWARM_DPDK_FREE;
		}
		d->st.drop_other++;
		return SWARM_DPDK_FREE;
	}
	if (swarm_map_addr_index(&d->map, v->dst_ip) < 0) {
		d->st.drop_member++;
		return SWARM_DPDK_FREE;
	}
	d->st.arp_in++;
	swarm_dpdk_self(d, v->dst_ip, &self);
	n = dp_pkt_build_arp_reply(f, cap, v, &self);
	if (n < 0) {
		d->st.drop_other++;
		return SWARM_DPDK_FREE;
	}
	*len = (size_t)n;
	d->st.arp_out++;
	return SWARM_DPDK_REPLY;
}

/* What one datagram holds, as far as this mode cares. */
struct swarm_dpdk_seen {
	bool ping;
	uint32_t seq;
	const uint8_t *node;
	uint32_t node_len;
	unsigned acks;
};

static int
swarm_dpdk_visit(void *ctx, const struct swim_msg *msg)
{
	struct swarm_dpdk_seen *s = ctx;

	if (msg->type == SWIM_MSG_ACK) {
		s->acks++;
	} else if (msg->type == SWIM_MSG_PING && !s->ping) {
		s->ping = true;
		s->seq = msg->ping.seq_no;
		s->node = msg->ping.node.ptr;
		s->node_len = msg->ping.node.len;
	}
	return 0;
}

/* The ping's Node names member idx (or is empty, as old pings were). */
static bool
swarm_dpdk_name_ok(const struct swarm_dpdk *d, const struct swarm_dpdk_seen *s,
		   int64_t idx)
{
	return s->node_len == 0 ||
	       swarm_map_name_index(&d->map, s->node, s->node_len) == idx;
}

/* The ack to s's ping, over f: from the member to the ping's sender. */
static enum swarm_dpdk_act
swarm_dpdk_ack(struct swarm_dpdk *d, uint8_t *f, size_t *len, size_t cap,
	       const struct dp_pkt_view *v, uint32_t seq)
{
	struct swim_msg ack = { .type = SWIM_MSG_ACK };
	struct dp_udp4_hdrs h = { .src_ip = v->dst_ip, .dst_ip = v->src_ip,
				  .src_port = d->cfg->port,
				  .dst_port = v->src_port };
	int n;

	if (cap < DP_UDP4_PAYLOAD_OFF + 16) {
		d->st.drop_other++;
		return SWARM_DPDK_FREE;
	}
	ack.ack.seq_no = seq;
	n = swim_wire_encode_msg(&ack, f + DP_UDP4_PAYLOAD_OFF,
				 cap - DP_UDP4_PAYLOAD_OFF);
	memcpy(h.src_mac, d->mac, DP_ETH_ALEN);
	memcpy(h.dst_mac, v->src_mac, DP_ETH_ALEN);
	if (n > 0)
		n = dp_pkt_build_udp4_hdrs(f, cap, &h, (size_t)n);
	if (n < 0) {
		d->st.drop_other++;
		return SWARM_DPDK_FREE;
	}
	*len = (size_t)n;
	d->st.acks_out++;
	return SWARM_DPDK_REPLY;
}

/* A UDP datagram to member idx: a ping to answer, acks to count. */
static enum swarm_dpdk_act
swarm_dpdk_udp(struct swarm_dpdk *d, uint8_t *f, size_t *len, size_t cap,
	       const struct dp_pkt_view *v, int64_t idx)
{
	struct swarm_dpdk_seen s = { 0 };

	d->scratch.used = 0;
	if (swim_wire_decode_packet(f + v->payload_off, v->payload_len,
				    &d->scratch, swarm_dpdk_visit, &s) <= 0) {
		d->st.drop_parse++;
		return SWARM_DPDK_FREE;
	}
	if (s.ping) {
		d->st.pings_in++;
		if (!swarm_member_answers(&d->m[idx]) ||
		    !swarm_dpdk_name_ok(d, &s, idx)) {
			d->st.pings_silent++;
			return SWARM_DPDK_FREE;
		}
		return swarm_dpdk_ack(d, f, len, cap, v, s.seq);
	}
	if (s.acks == 0) {
		d->st.drop_other++;
		return SWARM_DPDK_FREE;
	}
	d->st.acks_in += s.acks;
	d->in_flight -= d->in_flight < s.acks ? d->in_flight : s.acks;
	return d->cfg->flood_ip != 0 ? SWARM_DPDK_NEXT : SWARM_DPDK_FREE;
}

enum swarm_dpdk_act
swarm_dpdk_frame(struct swarm_dpdk *d, uint8_t *f, size_t *len, size_t cap)
{
	struct dp_pkt_self self;
	struct dp_pkt_view v;
	uint32_t dst = 0;
	int64_t idx;

	/* The member the frame is for (IPv4 destination), when it has one. */
	if (*len >= DP_ETH_HLEN + DP_IPV4_HLEN)
		dst = swarm_ld32(f + DP_ETH_HLEN + 16);
	swarm_dpdk_self(d, dst, &self);
	switch (dp_pkt_parse(f, *len, &self, &v)) {
	case DP_PKT_ARP:
		return swarm_dpdk_arp(d, f, len, cap, &v);
	case DP_PKT_UDP_US:
		break;
	default:
		d->st.drop_parse++;
		return SWARM_DPDK_FREE;
	}
	idx = swarm_map_addr_index(&d->map, v.dst_ip);
	if (idx < 0) {
		d->st.drop_member++;
		return SWARM_DPDK_FREE;
	}
	return swarm_dpdk_udp(d, f, len, cap, &v, idx);
}

/* The flood's target k: its address and name. @retval name length */
static int
swarm_dpdk_target(const struct swarm_dpdk *d, uint32_t k, uint32_t *ip,
		  char *name, size_t cap)
{
	const char *base = d->cfg->flood_name;
	int n;

	*ip = d->cfg->flood_ip + k;
	if (d->cfg->flood_n == 1)
		n = snprintf(name, cap, "%s", base);
	else
		n = snprintf(name, cap, "%s%u", base, k);
	return n > 0 && (size_t)n < cap ? n : -1;
}

int
swarm_dpdk_build_ping(struct swarm_dpdk *d, uint8_t *f, size_t cap)
{
	char to[SWIM_NAME_MAX + 1], from[SWARM_NAME_LEN_MAX + 1];
	uint32_t src = swarm_map_addr(&d->map, d->next_source), dst;
	uint8_t ip[4] = { (uint8_t)(src >> 24), (uint8_t)(src >> 16),
			  (uint8_t)(src >> 8), (uint8_t)src };
	struct swim_msg m = { .type = SWIM_MSG_PING };
	struct dp_udp4_hdrs h = { .src_ip = src, .src_port = d->cfg->port,
				  .dst_port = d->cfg->flood_port };
	int nt = swarm_dpdk_target(d, d->next_target, &dst, to, sizeof(to));
	int nf = swarm_map_name(&d->map, d->next_source, from, sizeof(from));
	int n;

	if (!d->have_dst_mac || nt < 0 || nf < 0 ||
	    cap < DP_UDP4_PAYLOAD_OFF + 128)
		return -1;
	m.ping = (struct swim_ping){ .seq_no = d->seq,
		.node = { (const uint8_t *)to, (uint32_t)nt },
		.source_addr = { ip, 4 },
		.source_node = { (const uint8_t *)from, (uint32_t)nf },
		.source_port = d->cfg->port };
	n = swim_wire_encode_msg(&m, f + DP_UDP4_PAYLOAD_OFF,
				 cap - DP_UDP4_PAYLOAD_OFF);
	h.dst_ip = dst;
	memcpy(h.src_mac, d->mac, DP_ETH_ALEN);
	memcpy(h.dst_mac, d->dst_mac, DP_ETH_ALEN);
	if (n > 0)
		n = dp_pkt_build_udp4_hdrs(f, cap, &h, (size_t)n);
	if (n < 0)
		return n;
	d->seq++;
	d->next_target = (d->next_target + 1) % d->cfg->flood_n;
	d->next_source = (d->next_source + 1) % d->cfg->members;
	d->st.pings_out++;
	d->in_flight++;
	return n;
}

int
swarm_dpdk_build_arp(struct swarm_dpdk *d, uint8_t *f, size_t cap)
{
	struct dp_pkt_self self;

	swarm_dpdk_self(d, swarm_map_addr(&d->map, 0), &self);
	return dp_pkt_build_arp_request(f, cap, &self, d->cfg->flood_ip);
}

void
swarm_dpdk_fail_tick(struct swarm_dpdk *d, uint64_t t_ms, unsigned *done)
{
	while (*done < d->cfg->nb_fail && d->cfg->fail[*done].at_ms <= t_ms) {
		/* The last members, so a flood over the first ones can be
		 * told apart: member i fails when i >= members - failing. */
		uint32_t n = d->cfg->fail[*done].n, k = 0;

		for (uint32_t i = d->cfg->members; i-- > 0 && k < n;)
			k += swarm_member_fail(&d->m[i]) == 0;
		(*done)++;
	}
}
