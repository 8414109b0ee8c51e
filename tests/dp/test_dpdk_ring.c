/* SPDX-License-Identifier: MIT */
/*
 * The DPDK backend driven for real: EAL (--no-pci --no-huge, a unique
 * --file-prefix, --no-shconf), an ethdev port made of two rte_rings
 * (rte_eth_from_rings) and a worker lcore running the backend's loop.
 * The test plays the wire: it enqueues frames on the port's rx ring and
 * dequeues what the lcore transmits. Skips when EAL cannot start.
 *
 * Criterion runs every Test in its own process, so each one brings EAL
 * up once (it cannot be brought up twice in a process).
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dp.h"
#include "dp_pkt.h"
#include "swim_wire.h"
#include "dpdk_eal_test.h"
#include "dpdk_port_fixture.h"

#define OTHER_IP 0xc6120003u	/* 198.18.0.3: not yet in the ARP cache */

static const uint8_t other_mac[6] = { 0x02, 0, 0, 0, 0, 0x03 };

/* The test's side of the port and the backend under test. */
struct rig {
	struct dpdk_port_fx fx;		/* the wire */
	struct dp *dp;
	uint8_t frame[2048];		/* last frame read off the wire */
	size_t frame_len;
};

static struct rig rig;

/* EAL in this process, or skip: no hugepages, no shared files. */
static void
eal_up(const char *lcores)
{
	dpdk_test_eal_up("test_dpdk_ring", lcores, "gdtest");
}

static void
rig_up(void)
{
	char err[256] = "";
	struct dp_cfg cfg = { .nb_lcores = 1, .ring_size = 256 };

	eal_up(sysconf(_SC_NPROCESSORS_ONLN) > 1 ? "-l0-1" : "--lcores=0@0,1@0");
	dpdk_port_fx_up(&rig.fx, &cfg);
	cfg.eal_args = NULL;	/* we own EAL */
	rig.dp = dp_new("dpdk", &cfg, err, sizeof(err));
	cr_assert_not_null(rig.dp, "dp_new: %s", err);
}

static void
rig_down(void)
{
	dpdk_port_fx_down(&rig.fx, rig.dp);
}

/* Put one frame on the port's rx side, with a NIC's RX offload flags. */
static void
wire_send_flags(const uint8_t *f, size_t len, uint64_t ol_flags)
{
	dpdk_port_fx_put(&rig.fx, f, len, ol_flags);
}

static void
wire_send(const uint8_t *f, size_t len)
{
	wire_send_flags(f, len, 0);
}

/* Next transmitted frame into rig.frame, waiting up to 2 s. */
static bool
wire_recv(void)
{
	return dpdk_port_fx_take(&rig.fx, rig.frame, sizeof(rig.frame),
				 &rig.frame_len, dp_test_now_ms() + 2000);
}

/* Next frame that is not a gratuitous ARP (the lcore sends one at start). */
static bool
wire_recv_no_garp(void)
{
	struct dp_pkt_self anyone = { .ip = 1 };
	struct dp_pkt_view v;

	while (wire_recv()) {
		memcpy(anyone.mac, rig.frame, 6);
		if (dp_pkt_parse(rig.frame, rig.frame_len, &anyone, &v) ==
			    DP_PKT_ARP && v.src_ip == v.dst_ip)
			continue;
		return true;
	}
	return false;
}

/* A UDP frame from peer (mac, ip) to us carrying payload. */
static size_t
peer_udp(uint8_t *buf, const uint8_t mac[6], uint32_t ip,
	 const uint8_t *payload, size_t len)
{
	struct dp_udp4_hdrs h = { .src_ip = ip, .dst_ip = US_IP,
				  .src_port = PEER_PORT, .dst_port = US_PORT };
	int n;

	memcpy(h.src_mac, mac, 6);
	memcpy(h.dst_mac, rig.fx.us.mac, 6);
	n = dp_pkt_build_udp4(buf, 2048, &h, payload, len);
	cr_assert_gt(n, 0);
	return (size_t)n;
}

static void
publish_name(const char *name)
{
	struct dp_snapshot snap;

	memset(&snap, 0, sizeof(snap));
	snprintf(snap.name, sizeof(snap.name), "%s", name);
	dp_publish(rig.dp, &snap);
}

/*
 * Publish our name and wait until the lcore acks with it: a loaded
 * machine may starve the lcore for a while, so no fixed sleep. Ping
 * copies that reached control before the snapshot are drained.
 */
static void
publish_and_wait(const char *name)
{
	uint8_t f[2048];
	size_t len = 0;
	struct dp_pkt drain[4];

	publish_name(name);
	for (int tries = 0; tries < 40; tries++) {
		struct dp_pkt_self peer = { .ip = PEER_IP, .port = PEER_PORT };
		struct dp_pkt_view v;
		uint64_t d;

		len = peer_udp(f, peer_mac, PEER_IP, ping, sizeof(ping));
		wire_send(f, len);
		memcpy(peer.mac, peer_mac, 6);
		d = dp_test_now_ms() + 100;
		while (dpdk_port_fx_take(&rig.fx, rig.frame, sizeof(rig.frame),
					 &rig.frame_len, d)) {
			if (dp_pkt_parse(rig.frame, rig.frame_len, &peer, &v) ==
				    DP_PKT_UDP_US &&
			    v.payload_len == sizeof(ack)) {
				while (dp_recv(rig.dp, drain, 4) != 0)
					;
				return;
			}
		}
	}
	cr_assert_fail("the lcore never adopted the snapshot");
}

/* Wait until control sees n datagrams (2 s at most). */
static unsigned
recv_wait(struct dp_pkt *pkts, unsigned n)
{
	return dp_test_recv_wait(rig.dp, pkts, n, 2000);
}

static struct dp_stats
stats_wait(size_t off, uint64_t at_least)
{
	uint64_t deadline = dp_test_now_ms() + 2000;
	struct dp_stats st;

	do {
		dp_get_stats(rig.dp, &st);
		if (*(uint64_t *)((char *)&st + off) >= at_least)
			break;
		usleep(100);
	} while (dp_test_now_ms() < deadline);
	return st;
}

TestSuite(dpdk_ring, .init = rig_up, .fini = rig_down, .timeout = 30);

Test(dpdk_ring, arp_request_for_us_is_answered)
{
	uint8_t f[64];
	struct dp_pkt_self peer = { .ip = PEER_IP };
	struct dp_pkt_view v;

	memcpy(peer.mac, peer_mac, 6);
	cr_assert_eq(dp_pkt_build_arp_request(f, sizeof(f), &peer, US_IP), 60);
	wire_send(f, 60);
	cr_assert(wire_recv_no_garp(), "no ARP reply");
	cr_assert_eq(dp_pkt_parse(rig.frame, rig.frame_len, &peer, &v),
		     DP_PKT_ARP);
	cr_assert_eq(v.arp_op, DP_ARP_OP_REPLY);
	cr_assert_eq(v.src_ip, US_IP);
	cr_assert_eq(v.dst_ip, PEER_IP);
	cr_assert_arr_eq(v.arp_sha, rig.fx.us.mac, 6);
	cr_assert_arr_eq(rig.frame, peer_mac, 6, "unicast to the asker");
}

Test(dpdk_ring, ping_to_us_is_acked_byte_exact_on_the_lcore)
{
	uint8_t f[2048];
	uint8_t want[2048];
	struct dp_udp4_hdrs h = { .src_ip = US_IP, .dst_ip = PEER_IP,
				  .src_port = US_PORT,
				  .dst_port = PEER_PORT };
	size_t len = peer_udp(f, peer_mac, PEER_IP, ping, sizeof(ping));
	int want_len;
	struct dp_stats st, st0;

	memcpy(h.src_mac, rig.fx.us.mac, 6);
	memcpy(h.dst_mac, peer_mac, 6);
	want_len = dp_pkt_build_udp4(want, sizeof(want), &h, ack, sizeof(ack));
	publish_and_wait("b");
	dp_get_stats(rig.dp, &st0);
	wire_send(f, len);
	cr_assert(wire_recv_no_garp(), "no ack");
	cr_assert_eq(rig.frame_len, (size_t)want_len);
	cr_assert_arr_eq(rig.frame, want, (size_t)want_len);
	st = stats_wait(offsetof(struct dp_stats, acks_fast),
			st0.acks_fast + 1);
	cr_assert_eq(st.acks_fast, st0.acks_fast + 1);
	cr_assert_eq(st.to_control, st0.to_control,
		     "a bare ping never reaches control");
}

Test(dpdk_ring, ping_before_a_snapshot_goes_to_control)
{
	uint8_t f[2048];
	size_t len = peer_udp(f, peer_mac, PEER_IP, ping, sizeof(ping));
	struct dp_pkt got;

	wire_send(f, len);
	cr_assert_eq(recv_wait(&got, 1), 1);
	cr_assert_eq(got.len, sizeof(ping));
	cr_assert_arr_eq(got.data, ping, sizeof(ping));
}

Test(dpdk_ring, other_memberlist_datagrams_reach_control_with_source)
{
	uint8_t f[2048];
	size_t len = peer_udp(f, peer_mac, PEER_IP, nack, sizeof(nack));
	struct dp_pkt got;

	publish_and_wait("b");
	wire_send(f, len);
	cr_assert_eq(recv_wait(&got, 1), 1);
	cr_assert_eq(got.len, sizeof(nack));
	cr_assert_arr_eq(got.data, nack, sizeof(nack));
	cr_assert_eq(got.addr.ip_len, 4);
	cr_assert_eq(got.addr.ip[3], 2);
	cr_assert_eq(got.addr.port, PEER_PORT);
	cr_assert_eq(got.flags, 0);
}

Test(dpdk_ring, control_datagram_to_a_known_peer_leaves_at_once)
{
	uint8_t f[2048];
	size_t len = peer_udp(f, peer_mac, PEER_IP, nack, sizeof(nack));
	struct dp_pkt out = { .len = sizeof(ack) };
	struct dp_pkt got;
	struct dp_pkt_self peer = { .ip = PEER_IP, .port = PEER_PORT };
	struct dp_pkt_view v;

	wire_send(f, len);	/* teaches the lcore the peer's MAC */
	cr_assert_eq(recv_wait(&got, 1), 1);
	out.addr = got.addr;
	memcpy(out.data, ack, sizeof(ack));
	cr_assert(dp_send(rig.dp, &out));
	cr_assert(wire_recv_no_garp());
	memcpy(peer.mac, peer_mac, 6);
	cr_assert_eq(dp_pkt_parse(rig.frame, rig.frame_len, &peer, &v),
		     DP_PKT_UDP_US);
	cr_assert_eq(v.src_port, US_PORT);
	cr_assert_eq(v.payload_len, sizeof(ack));
	cr_assert_arr_eq(rig.frame + v.payload_off, ack, sizeof(ack));
}

Test(dpdk_ring, datagram_to_unknown_peer_waits_for_arp_then_leaves)
{
	struct dp_pkt out;
	struct dp_pkt_self other = { .ip = OTHER_IP, .port = PEER_PORT };
	struct dp_pkt_view v;
	uint8_t f[64];

	memcpy(other.mac, other_mac, 6);
	dp_test_pkt_fill(&out, (const uint8_t[]){ 198, 18, 0, 3 }, PEER_PORT,
			 ack, sizeof(ack));
	cr_assert(dp_send(rig.dp, &out));
	cr_assert(wire_recv_no_garp(), "no ARP request");
	cr_assert_eq(dp_pkt_parse(rig.frame, rig.frame_len, &other, &v),
		     DP_PKT_ARP, "a broadcast who-has");
	cr_assert_eq(v.arp_op, DP_ARP_OP_REQUEST);
	cr_assert_eq(v.dst_ip, OTHER_IP);
	cr_assert_eq(v.src_ip, US_IP);
	/* The answer releases the held datagram. */
	dp_pkt_build_arp(f, sizeof(f), DP_ARP_OP_REPLY, rig.fx.us.mac,
			 other_mac, OTHER_IP, rig.fx.us.mac, US_IP);
	wire_send(f, 60);
	cr_assert(wire_recv_no_garp(), "held datagram not sent");
	cr_assert_eq(dp_pkt_parse(rig.frame, rig.frame_len, &other, &v),
		     DP_PKT_UDP_US);
	cr_assert_arr_eq(rig.frame + v.payload_off, ack, sizeof(ack));
}

Test(dpdk_ring, ping_in_a_compound_is_acked_and_the_rest_goes_to_control)
{
	uint8_t f[2048];
	uint8_t comp[64] = { 0x07, 2, 0, sizeof(ping), 0, sizeof(nack) };
	size_t clen = 6;
	struct dp_pkt got;
	struct dp_pkt_self peer = { .ip = PEER_IP, .port = PEER_PORT };
	struct dp_pkt_view v;

	memcpy(comp + clen, ping, sizeof(ping));
	clen += sizeof(ping);
	memcpy(comp + clen, nack, sizeof(nack));
	clen += sizeof(nack);
	publish_and_wait("b");
	wire_send(f, peer_udp(f, peer_mac, PEER_IP, comp, clen));
	cr_assert(wire_recv_no_garp(), "no ack");
	memcpy(peer.mac, peer_mac, 6);
	cr_assert_eq(dp_pkt_parse(rig.frame, rig.frame_len, &peer, &v),
		     DP_PKT_UDP_US);
	cr_assert_arr_eq(rig.frame + v.payload_off, ack, sizeof(ack));
	cr_assert_eq(recv_wait(&got, 1), 1);
	cr_assert_eq(got.len, clen);
	cr_assert_eq(got.flags, DP_PKT_F_PINGS_ANSWERED);
}

/* A ping {SeqNo 1, Node "b"} whose SourceAddr (addr_len bytes) and
 * SourcePort 7948 are not the sender's; its length in body. */
static int
ping_b_from(const uint8_t *addr, uint32_t addr_len, uint8_t *body,
	    size_t cap)
{
	struct swim_msg m = { .type = SWIM_MSG_PING };
	int n;

	m.ping.seq_no = 1;
	m.ping.node.ptr = (const uint8_t *)"b";
	m.ping.node.len = 1;
	m.ping.source_addr.ptr = addr;
	m.ping.source_addr.len = addr_len;
	m.ping.source_port = 7948;
	n = swim_wire_encode_msg(&m, body, cap);
	cr_assert_gt(n, 0);
	return n;
}

Test(dpdk_ring, ack_to_another_source_addr_is_resolved_by_arp)
{
	static const uint8_t other_ip[4] = { 198, 18, 0, 3 };
	struct dp_pkt_self other = { .ip = OTHER_IP, .port = 7948 };
	struct dp_pkt_view v;
	uint8_t body[128], f[2048];
	int n;

	n = ping_b_from(other_ip, 4, body, sizeof(body));
	publish_and_wait("b");
	wire_send(f, peer_udp(f, peer_mac, PEER_IP, body, (size_t)n));
	memcpy(other.mac, other_mac, 6);
	cr_assert(wire_recv_no_garp(), "no ARP request");
	cr_assert_eq(dp_pkt_parse(rig.frame, rig.frame_len, &other, &v),
		     DP_PKT_ARP);
	cr_assert_eq(v.dst_ip, OTHER_IP, "who-has the SourceAddr");
	dp_pkt_build_arp(f, sizeof(f), DP_ARP_OP_REPLY, rig.fx.us.mac,
			 other_mac, OTHER_IP, rig.fx.us.mac, US_IP);
	wire_send(f, 60);
	cr_assert(wire_recv_no_garp(), "held ack not sent");
	cr_assert_eq(dp_pkt_parse(rig.frame, rig.frame_len, &other, &v),
		     DP_PKT_UDP_US, "to SourceAddr:SourcePort via its MAC");
	cr_assert_arr_eq(rig.frame + v.payload_off, ack, sizeof(ack));
}

Test(dpdk_ring, ack_to_an_ipv6_source_addr_is_a_counted_drop)
{
	static const uint8_t v6[16] = { [15] = 1 };
	uint8_t body[128], f[2048];
	struct dp_stats st0, st;
	int n;

	n = ping_b_from(v6, 16, body, sizeof(body));
	publish_and_wait("b");
	dp_get_stats(rig.dp, &st0);
	wire_send(f, peer_udp(f, peer_mac, PEER_IP, body, (size_t)n));
	st = stats_wait(offsetof(struct dp_stats, drop_tx), st0.drop_tx + 1);
	cr_assert_eq(st.drop_tx, st0.drop_tx + 1);
	cr_assert_eq(st.acks_fast, st0.acks_fast);
	cr_assert_eq(rte_ring_count(rig.fx.wire_out), 0, "nothing sent");
}

Test(dpdk_ring, malformed_and_foreign_frames_are_counted_drops)
{
	uint8_t f[2048];
	size_t len = peer_udp(f, peer_mac, PEER_IP, nack, sizeof(nack));
	struct dp_stats st;

	f[24] ^= 0xff;			/* IPv4 header checksum */
	wire_send(f, len);
	len = peer_udp(f, peer_mac, PEER_IP, nack, sizeof(nack));
	f[23] = 6;			/* TCP: no tap, so no kernel */
	f[24] = f[25] = 0;
	uint16_t c = (uint16_t)~dp_pkt_csum(f + 14, 20, 0);

	f[24] = (uint8_t)(c >> 8);
	f[25] = (uint8_t)c;
	wire_send(f, len);
	st = stats_wait(offsetof(struct dp_stats, drop_other), 2);
	cr_assert_eq(st.drop_other, 2);
	cr_assert_eq(st.rx_pkts, 2);
	cr_assert_eq(st.to_control, 0);
}

/* A port that verified the UDP checksum (mbuf flag GOOD) spares the
 * lcore the sum; BAD or UNKNOWN leave it to software, which drops. */
Test(dpdk_ring, rx_checksum_flags_decide_who_verifies)
{
	const uint64_t good = RTE_MBUF_F_RX_IP_CKSUM_GOOD |
			      RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	const uint64_t bad = RTE_MBUF_F_RX_IP_CKSUM_GOOD |
			     RTE_MBUF_F_RX_L4_CKSUM_BAD;
	uint8_t f[2048];
	size_t len = peer_udp(f, peer_mac, PEER_IP, ping, sizeof(ping));
	struct dp_stats st, st0;

	publish_and_wait("b");
	f[40] ^= 0x5a;		/* the UDP checksum no longer matches */
	dp_get_stats(rig.dp, &st0);
	wire_send_flags(f, len, bad);
	wire_send_flags(f, len, 0);
	st = stats_wait(offsetof(struct dp_stats, drop_other),
			st0.drop_other + 2);
	cr_assert_eq(st.drop_other, st0.drop_other + 2);
	cr_assert_eq(st.acks_fast, st0.acks_fast);
	wire_send_flags(f, len, good);
	cr_assert(wire_recv_no_garp(), "no ack to a port-verified ping");
	st = stats_wait(offsetof(struct dp_stats, acks_fast),
			st0.acks_fast + 1);
	cr_assert_eq(st.acks_fast, st0.acks_fast + 1);
}

Test(dpdk_ring, corrupt_memberlist_udp_to_our_port_is_malformed)
{
	uint8_t f[2048];
	/* A CRC wrapper whose CRC does not match. */
	const uint8_t junk[] = { 0x0c, 0, 0, 0, 0, 0x00, 0x80 };
	size_t len = peer_udp(f, peer_mac, PEER_IP, junk, sizeof(junk));
	struct dp_stats st;

	publish_and_wait("b");
	wire_send(f, len);
	st = stats_wait(offsetof(struct dp_stats, drop_malformed), 1);
	cr_assert_eq(st.drop_malformed, 1);
}

/*
 * Two worker lcores: each owns one rx/tx queue pair of a two-queue ring
 * port and answers what arrives on its own queue, on its own queue.
 */
/* A two-queue ring port under the backend with two worker lcores. */
static void
two_queue_rig(struct rte_ring **in, struct rte_ring **out)
{
	struct dp_cfg cfg = { .nb_lcores = 2, .ring_size = 256 };
	struct rte_ether_addr mac;
	char err[256] = "";
	int p;

	eal_up("--lcores=0@0,1@0,2@1");
	rig.fx.pool = rte_pktmbuf_pool_create("multi_pool", 1023, 0, 0,
					   RTE_MBUF_DEFAULT_BUF_SIZE,
					   SOCKET_ID_ANY);
	for (int q = 0; q < 2; q++) {
		char name[32];

		snprintf(name, sizeof(name), "in%d", q);
		in[q] = rte_ring_create(name, 256, SOCKET_ID_ANY, 0);
		snprintf(name, sizeof(name), "out%d", q);
		out[q] = rte_ring_create(name, 256, SOCKET_ID_ANY, 0);
		cr_assert(in[q] && out[q]);
	}
	p = rte_eth_from_rings("twoq", in, 2, out, 2, SOCKET_ID_ANY);
	cr_assert_geq(p, 0);
	cr_assert_eq(rte_eth_macaddr_get((uint16_t)p, &mac), 0);
	memcpy(rig.fx.us.mac, mac.addr_bytes, 6);
	cfg.port_id = (unsigned)p;
	cfg.bind.ip_len = 4;
	cfg.bind.ip[0] = 198;
	cfg.bind.ip[1] = 18;
	cfg.bind.ip[3] = 1;
	cfg.bind.port = US_PORT;
	rig.dp = dp_new("dpdk", &cfg, err, sizeof(err));
	cr_assert_not_null(rig.dp, "dp_new: %s", err);
}

/* Ping on in[q] until an ack shows up on out[q] (4 s at most). */
static bool
ack_on_queue(struct rte_ring *in, struct rte_ring *out)
{
	uint8_t f[2048];
	size_t len = peer_udp(f, peer_mac, PEER_IP, ping, sizeof(ping));
	uint64_t deadline = dp_test_now_ms() + 4000;
	uint64_t resend = 0;
	bool got_ack = false;
	void *obj;

	while (!got_ack && dp_test_now_ms() < deadline) {
		struct rte_mbuf *m;

		/* Until the lcore adopts the snapshot, pings go to control:
		 * ask again every 200 ms. */
		if (dp_test_now_ms() >= resend) {
			m = rte_pktmbuf_alloc(rig.fx.pool);
			memcpy(rte_pktmbuf_append(m, (uint16_t)len), f, len);
			cr_assert_eq(rte_ring_enqueue(in, m), 0);
			resend = dp_test_now_ms() + 200;
		}
		if (rte_ring_dequeue(out, &obj) != 0) {
			usleep(100);
			continue;
		}
		m = obj;
		got_ack = rte_pktmbuf_data_len(m) >=
				  DP_UDP4_PAYLOAD_OFF + sizeof(ack) &&
			  memcmp(rte_pktmbuf_mtod_offset(m, uint8_t *,
							 DP_UDP4_PAYLOAD_OFF),
				 ack, sizeof(ack)) == 0;
		rte_pktmbuf_free(m);
	}
	return got_ack;
}

Test(dpdk_multi, each_lcore_answers_on_its_own_queue, .timeout = 30)
{
	struct rte_ring *in[2], *out[2];
	void *obj;

	two_queue_rig(in, out);
	publish_name("b");
	/* Lcore 0 announces us first (gratuitous ARP on queue 0). */
	for (uint64_t d = dp_test_now_ms() + 2000; dp_test_now_ms() < d;)
		if (rte_ring_dequeue(out[0], &obj) == 0) {
			rte_pktmbuf_free(obj);
			break;
		}
	for (int q = 1; q >= 0; q--) {
		cr_assert(ack_on_queue(in[q], out[q]), "no ack on queue %d", q);
		cr_assert_eq(rte_ring_count(out[1 - q]), 0,
			     "nothing on the other queue");
	}
	dp_delete(rig.dp);
	rte_mempool_free(rig.fx.pool);
	rte_eal_cleanup();
}

/* Which of the two queues sends who-has other->ip (2 s); -1: none. */
static int
queue_asking_for(struct rte_ring **out, const struct dp_pkt_self *other)
{
	struct dp_pkt_view v;
	void *obj;

	for (uint64_t d = dp_test_now_ms() + 2000; dp_test_now_ms() < d;
	     usleep(100)) {
		for (int q = 0; q < 2; q++) {
			struct rte_mbuf *m;
			bool hit;

			if (rte_ring_dequeue(out[q], &obj) != 0)
				continue;
			m = obj;
			hit = dp_pkt_parse(rte_pktmbuf_mtod(m, uint8_t *),
					   rte_pktmbuf_data_len(m), other,
					   &v) == DP_PKT_ARP &&
			      v.dst_ip == other->ip;
			rte_pktmbuf_free(m);
			if (hit)
				return q;
		}
	}
	return -1;
}

/*
 * An ARP reply reaches whichever queue the port picks; the lcore whose
 * datagram waits for it must still hear of it (the ARP mailboxes).
 */
Test(dpdk_multi, arp_reply_on_one_queue_releases_a_datagram_held_on_another,
     .timeout = 30)
{
	struct rte_ring *in[2], *out[2];
	struct dp_pkt out_pkt;
	struct dp_pkt_self other = { .ip = OTHER_IP, .port = PEER_PORT };
	struct dp_pkt_view v;
	uint8_t f[64];
	int asked;
	void *obj;

	two_queue_rig(in, out);
	memcpy(other.mac, other_mac, 6);
	dp_test_pkt_fill(&out_pkt, (const uint8_t[]){ 198, 18, 0, 3 },
			 PEER_PORT, ack, sizeof(ack));
	cr_assert(dp_send(rig.dp, &out_pkt));
	asked = queue_asking_for(out, &other);
	cr_assert_geq(asked, 0, "no ARP request");
	/* The reply arrives on the OTHER queue. */
	struct rte_mbuf *m = rte_pktmbuf_alloc(rig.fx.pool);

	dp_pkt_build_arp(f, sizeof(f), DP_ARP_OP_REPLY, rig.fx.us.mac,
			 other_mac, OTHER_IP, rig.fx.us.mac, US_IP);
	memcpy(rte_pktmbuf_append(m, 60), f, 60);
	cr_assert_eq(rte_ring_enqueue(in[1 - asked], m), 0);
	bool sent = false;

	for (uint64_t d = dp_test_now_ms() + 2000;
	     !sent && dp_test_now_ms() < d;) {
		if (rte_ring_dequeue(out[asked], &obj) != 0) {
			usleep(100);
			continue;
		}
		m = obj;
		sent = dp_pkt_parse(rte_pktmbuf_mtod(m, uint8_t *),
				    rte_pktmbuf_data_len(m), &other, &v) ==
		       DP_PKT_UDP_US;
		rte_pktmbuf_free(m);
	}
	cr_assert(sent, "the held datagram never left queue %d", asked);
	dp_delete(rig.dp);
	rte_mempool_free(rig.fx.pool);
	rte_eal_cleanup();
}
