/* SPDX-License-Identifier: MIT */
/*
 * gossip-swarm's DPDK backend (tools/swarm/swarm_dpdk.h): its frames on
 * byte buffers (ARP for the whole prefix and nothing outside it, ping ->
 * ack from the called member to the sender, silence for a failed member
 * or a wrong name, the flood's pings spread over the target's members,
 * an ack counted and its buffer reused), then two swarms over a pair of
 * net_ring ports (rte_eth_from_rings; EAL with --no-pci --no-huge
 * --no-shconf): ARP resolution, then a flood over 1,000 members of the
 * target, every ping acked.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dpdk_eal_test.h"
#include "swarm_dpdk.h"

#define NET_T 0xc6120000u	/* 198.18.0.0/16: the target swarm */
#define NET_G 0xc6130000u	/* 198.19.0.0/16: the generator */

static const uint8_t mac_t[6] = { 2, 0, 0, 0, 0, 1 };
static const uint8_t mac_g[6] = { 2, 0, 0, 0, 0, 2 };

static void
cfg_target(struct swarm_cfg *c, uint32_t n)
{
	swarm_cfg_default(c);
	c->dataplane = SWARM_DP_DPDK;
	c->members = n;
	c->net = NET_T;
	c->plen = 16;
}

static void
cfg_gen(struct swarm_cfg *c, uint32_t flood_n)
{
	swarm_cfg_default(c);
	c->dataplane = SWARM_DP_DPDK;
	c->members = 10;
	c->net = NET_G;
	c->plen = 16;
	c->flood_ip = NET_T + 1;
	c->flood_port = 7950;
	c->flood_n = flood_n;
	c->flood_name = "swarm-";
	c->flood_window = 4;
}

/* The generator's ARP request, answered by the target, learnt. */
static void
resolve(struct swarm_dpdk *g, struct swarm_dpdk *t)
{
	uint8_t f[2048];
	size_t len;
	int n = swarm_dpdk_build_arp(g, f, sizeof(f));

	cr_assert_eq(n, 60);
	len = (size_t)n;
	cr_assert_eq(swarm_dpdk_frame(t, f, &len, sizeof(f)), SWARM_DPDK_REPLY);
	cr_assert_eq(swarm_dpdk_frame(g, f, &len, sizeof(f)), SWARM_DPDK_FREE);
	cr_assert(g->have_dst_mac);
	cr_assert_arr_eq(g->dst_mac, mac_t, 6);
}

/* Decode the single message of a UDP frame's payload. */
static int
first_msg(void *ctx, const struct swim_msg *msg)
{
	*(struct swim_msg *)ctx = *msg;
	return 1;
}

static struct swim_msg
payload_msg(const uint8_t *f, size_t len, const struct dp_pkt_self *self)
{
	static struct swim_wire_scratch scratch;
	struct dp_pkt_view v;
	struct swim_msg m = { 0 };

	cr_assert_eq(dp_pkt_parse(f, len, self, &v), DP_PKT_UDP_US);
	scratch.used = 0;
	swim_wire_decode_packet(f + v.payload_off, v.payload_len, &scratch,
				first_msg, &m);
	return m;
}

Test(swarm_dpdk, arp_for_the_whole_prefix_only)
{
	struct swarm_cfg ct, cg;
	struct swarm_dpdk t, g;
	struct dp_pkt_self self = { .ip = NET_G + 1 };
	struct dp_pkt_view v;
	uint8_t f[128];
	size_t len;

	cfg_target(&ct, 1000);
	cfg_gen(&cg, 1);
	cr_assert_eq(swarm_dpdk_init(&t, &ct, mac_t), 0);
	cr_assert_eq(swarm_dpdk_init(&g, &cg, mac_g), 0);
	memcpy(self.mac, mac_g, 6);
	/* member 999 is NET_T + 1000: answered, as that address */
	len = (size_t)dp_pkt_build_arp_request(f, sizeof(f), &self,
					       NET_T + 1000);
	cr_assert_eq(swarm_dpdk_frame(&t, f, &len, sizeof(f)),
		     SWARM_DPDK_REPLY);
	cr_assert_eq(dp_pkt_parse(f, len, &self, &v), DP_PKT_ARP);
	cr_assert_eq(v.arp_op, DP_ARP_OP_REPLY);
	cr_assert_eq(v.src_ip, NET_T + 1000);
	cr_assert_arr_eq(v.arp_sha, mac_t, 6);
	/* one past the last member, and the network address: silence */
	len = (size_t)dp_pkt_build_arp_request(f, sizeof(f), &self,
					       NET_T + 1001);
	cr_assert_eq(swarm_dpdk_frame(&t, f, &len, sizeof(f)), SWARM_DPDK_FREE);
	len = (size_t)dp_pkt_build_arp_request(f, sizeof(f), &self, NET_T);
	cr_assert_eq(swarm_dpdk_frame(&t, f, &len, sizeof(f)), SWARM_DPDK_FREE);
	cr_assert_eq(t.st.drop_member, 2);
	cr_assert_eq(t.st.arp_out, 1);
	/* no flood, no MAC: no ping */
	cr_assert_lt(swarm_dpdk_build_ping(&t, f, sizeof(f)), 0);
	cr_assert_lt(swarm_dpdk_build_ping(&g, f, sizeof(f)), 0);
	resolve(&g, &t);
	swarm_dpdk_fini(&t);
	swarm_dpdk_fini(&g);
}

Test(swarm_dpdk, ping_ack_and_flood_spread)
{
	struct swarm_cfg ct, cg;
	struct swarm_dpdk t, g;
	struct dp_pkt_self to_g = { .port = 7950 }, to_t = { .port = 7950 };
	uint8_t f[2048];
	struct swim_msg m;
	size_t len;

	cfg_target(&ct, 1000);
	cfg_gen(&cg, 1000);
	cr_assert_eq(swarm_dpdk_init(&t, &ct, mac_t), 0);
	cr_assert_eq(swarm_dpdk_init(&g, &cg, mac_g), 0);
	memcpy(to_g.mac, mac_g, 6);
	memcpy(to_t.mac, mac_t, 6);
	resolve(&g, &t);
	for (uint32_t k = 0; k < 3; k++) {
		len = (size_t)swarm_dpdk_build_ping(&g, f, sizeof(f));
		to_t.ip = NET_T + 1 + k;	/* member k of the target */
		m = payload_msg(f, len, &to_t);
		cr_assert_eq(m.type, SWIM_MSG_PING);
		cr_assert_eq(m.ping.seq_no, SWARM_DPDK_SEQ0 + k);
		cr_assert_eq(m.ping.node.len, 7);
		cr_assert_eq(m.ping.node.ptr[6], '0' + k);
		cr_assert_eq(swarm_dpdk_frame(&t, f, &len, sizeof(f)),
			     SWARM_DPDK_REPLY);
		to_g.ip = NET_G + 1 + k;	/* from our member k */
		m = payload_msg(f, len, &to_g);
		cr_assert_eq(m.type, SWIM_MSG_ACK);
		cr_assert_eq(m.ack.seq_no, SWARM_DPDK_SEQ0 + k);
		cr_assert_eq(swarm_dpdk_frame(&g, f, &len, sizeof(f)),
			     SWARM_DPDK_NEXT);
	}
	cr_assert_eq(g.st.acks_in, 3);
	cr_assert_eq(g.in_flight, 0);
	cr_assert_eq(t.st.acks_out, 3);
	swarm_dpdk_fini(&t);
	swarm_dpdk_fini(&g);
}

Test(swarm_dpdk, silent_for_failed_member_wrong_name_and_garbage)
{
	struct swarm_cfg ct, cg;
	struct swarm_dpdk t, g;
	uint8_t f[2048];
	size_t len;
	unsigned done = 0;

	cfg_target(&ct, 3);
	ct.fail[0] = (struct swarm_fail_ev){ .n = 1, .at_ms = 1000 };
	ct.nb_fail = 1;
	cfg_gen(&cg, 3);
	cr_assert_eq(swarm_dpdk_init(&t, &ct, mac_t), 0);
	cr_assert_eq(swarm_dpdk_init(&g, &cg, mac_g), 0);
	resolve(&g, &t);
	swarm_dpdk_fail_tick(&t, 999, &done);
	cr_assert_eq(done, 0);
	swarm_dpdk_fail_tick(&t, 1000, &done);
	cr_assert_eq(done, 1);
	cr_assert_eq(t.m[2].state, SWARM_M_FAILED);	/* the last member */
	for (int k = 0; k < 3; k++) {
		len = (size_t)swarm_dpdk_build_ping(&g, f, sizeof(f));
		cr_assert_eq(swarm_dpdk_frame(&t, f, &len, sizeof(f)),
			     k == 2 ? SWARM_DPDK_FREE : SWARM_DPDK_REPLY);
	}
	cr_assert_eq(t.st.pings_silent, 1);
	/* a ping to member 0's address that names member 1 */
	g.next_target = 1;
	len = (size_t)swarm_dpdk_build_ping(&g, f, sizeof(f));
	f[DP_ETH_HLEN + 19] = 1;	/* IPv4 dst: member 0 (NET_T + 1) */
	f[DP_ETH_HLEN + 10] = 0;	/* the header checksum, again */
	f[DP_ETH_HLEN + 11] = 0;
	f[DP_UDP4_PAYLOAD_OFF - 2] = 0;	/* UDP checksum: none */
	f[DP_UDP4_PAYLOAD_OFF - 1] = 0;
	{
		uint32_t s = 0;

		for (int i = 0; i < 20; i += 2)
			s += (uint32_t)f[DP_ETH_HLEN + i] << 8 |
			     f[DP_ETH_HLEN + i + 1];
		s = (s & 0xffff) + (s >> 16);
		s = (s & 0xffff) + (s >> 16);
		f[DP_ETH_HLEN + 10] = (uint8_t)(~s >> 8);
		f[DP_ETH_HLEN + 11] = (uint8_t)~s;
	}
	cr_assert_eq(swarm_dpdk_frame(&t, f, &len, sizeof(f)), SWARM_DPDK_FREE);
	cr_assert_eq(t.st.pings_silent, 2);
	/* a runt, and a UDP payload that is no memberlist message */
	len = 10;
	cr_assert_eq(swarm_dpdk_frame(&t, f, &len, sizeof(f)), SWARM_DPDK_FREE);
	cr_assert_eq(t.st.drop_parse, 1);
	swarm_dpdk_fini(&t);
	swarm_dpdk_fini(&g);
}

/* Two ports over two rings: what g sends t receives, and back. */
static uint16_t
ring_port(const char *name, struct rte_ring *rx, struct rte_ring *tx,
	  struct rte_mempool *pool)
{
	struct rte_eth_conf conf;
	int p = rte_eth_from_rings(name, &rx, 1, &tx, 1, SOCKET_ID_ANY);

	cr_assert_geq(p, 0, "rte_eth_from_rings: %s", rte_strerror(rte_errno));
	memset(&conf, 0, sizeof(conf));
	cr_assert_eq(rte_eth_dev_configure((uint16_t)p, 1, 1, &conf), 0);
	cr_assert_eq(rte_eth_rx_queue_setup((uint16_t)p, 0, 1024,
					    SOCKET_ID_ANY, NULL, pool), 0);
	cr_assert_eq(rte_eth_tx_queue_setup((uint16_t)p, 0, 1024,
					    SOCKET_ID_ANY, NULL), 0);
	cr_assert_eq(rte_eth_dev_start((uint16_t)p), 0);
	return (uint16_t)p;
}

Test(swarm_dpdk, flood_over_net_ring)
{
	static struct swarm_cfg ct, cg;
	static struct swarm_dpdk t, g;
	struct rte_ring *a, *b;
	struct rte_mempool *pool;
	struct rte_ether_addr ma, mb;
	uint16_t pg, pt;

	dpdk_test_eal_up("test_swarm_dpdk", "-l0", "swdpdk");
	a = rte_ring_create("sw_a", 1024, SOCKET_ID_ANY, 0);
	b = rte_ring_create("sw_b", 1024, SOCKET_ID_ANY, 0);
	pool = rte_pktmbuf_pool_create("sw_pool", 2047, 0, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	cr_assert(a != NULL && b != NULL && pool != NULL);
	pg = ring_port("sw_g", b, a, pool);	/* g sends on a, gets b */
	pt = ring_port("sw_t", a, b, pool);
	cr_assert_eq(rte_eth_macaddr_get(pg, &ma), 0);
	cr_assert_eq(rte_eth_macaddr_get(pt, &mb), 0);
	cfg_target(&ct, 60000);
	cfg_gen(&cg, 1000);
	cg.flood_window = 64;
	cr_assert_eq(swarm_dpdk_init(&t, &ct, mb.addr_bytes), 0);
	cr_assert_eq(swarm_dpdk_init(&g, &cg, ma.addr_bytes), 0);
	/* ARP through the rings: fill does nothing without the MAC */
	swarm_dpdk_fill(&g, pg, pool);
	cr_assert_eq(g.st.pings_out, 0);
	{
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		int n = swarm_dpdk_build_arp(&g, rte_pktmbuf_mtod(m, uint8_t *),
					     128);

		m->data_len = (uint16_t)n;
		m->pkt_len = (uint32_t)n;
		cr_assert_eq(rte_eth_tx_burst(pg, 0, &m, 1), 1);
	}
	cr_assert_eq(swarm_dpdk_poll(&t, pt), 1);
	cr_assert_eq(swarm_dpdk_poll(&g, pg), 1);
	cr_assert(g.have_dst_mac);
	swarm_dpdk_fill(&g, pg, pool);
	cr_assert_eq(g.in_flight, 64);
	for (int r = 0; r < 200; r++) {
		swarm_dpdk_poll(&t, pt);
		swarm_dpdk_poll(&g, pg);
	}
	/* every ping acked, each ack's mbuf the next ping: the window
	 * keeps 64 in flight, over more than all 1,000 target members */
	cr_assert_eq(t.st.pings_silent, 0);
	cr_assert_eq(t.st.acks_out, t.st.pings_in);
	cr_assert_eq(g.st.acks_in, t.st.acks_out);
	cr_assert_gt(g.st.acks_in, 1000);
	cr_assert_eq(g.in_flight, 64);
	cr_assert_eq(g.st.pings_out, g.st.acks_in + 64);
	cr_assert_eq(t.st.drop_parse + t.st.drop_member + t.st.drop_other, 0);
	swarm_dpdk_fini(&t);
	swarm_dpdk_fini(&g);
}
