/* SPDX-License-Identifier: MIT */
/*
 * The DPDK backend with a keyring (serf's -encrypt), driven for real as
 * test_dpdk_ring.c drives it: EAL (--no-pci --no-huge), a port made of
 * two rte_rings, a worker lcore running the backend's loop, the test
 * playing the wire. The lcore opens every datagram (any installed key,
 * AES-128/192/256), acks a sealed ping to us itself with an ack sealed
 * under the primary key, passes everything else to control as plaintext,
 * seals what control sends, drops what no key opens, and follows a key
 * rotation published in a snapshot. Skips when EAL cannot start.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dp.h"
#include "dp_pkt.h"
#include "swim_crypto.h"
#include "dpdk_eal_test.h"
#include "dpdk_port_fixture.h"

struct rig {
	struct dpdk_port_fx fx;		/* the wire */
	struct dp *dp;
	struct swim_keyring *ring;	/* the node's: K32 primary, K16 */
	struct swim_keyring *k32, *k16, *k24; /* one key each: peers */
	uint8_t frame[2048];		/* last frame read off the wire */
	size_t frame_len;
	uint8_t plain[2048];		/* its payload, opened */
	int plain_len;
};

static struct rig rig;

static struct swim_keyring *
one_key(size_t len, uint8_t first)
{
	struct swim_keyring *r = swim_keyring_new(NULL);
	uint8_t key[SWIM_CRYPTO_KEY_LEN];

	cr_assert_not_null(r);
	for (size_t i = 0; i < len; i++)
		key[i] = (uint8_t)(first + i);
	cr_assert_eq(swim_keyring_add(r, key, len), 0);
	return r;
}

static void
rig_up(void)
{
	char err[256] = "";
	struct dp_cfg cfg = { .nb_lcores = 1, .ring_size = 256 };
	uint8_t key[SWIM_CRYPTO_KEY_LEN];

	cr_assert_geq(sodium_init(), 0);
	dpdk_test_eal_up("test_dpdk_crypt", sysconf(_SC_NPROCESSORS_ONLN) > 1 ?
			 "-l0-1" : "--lcores=0@0,1@0", "gdcrypt");
	rig.k32 = one_key(32, 0);
	rig.k16 = one_key(16, 0x40);
	rig.k24 = one_key(24, 0x80);
	rig.ring = one_key(32, 0);
	for (size_t i = 0; i < 16; i++)
		key[i] = (uint8_t)(0x40 + i);
	cr_assert_eq(swim_keyring_add(rig.ring, key, 16), 0);
	dpdk_port_fx_up(&rig.fx, &cfg);
	cfg.keyring = rig.ring;
	rig.dp = dp_new("dpdk", &cfg, err, sizeof(err));
	cr_assert_not_null(rig.dp, "dp_new: %s", err);
}

static void
rig_down(void)
{
	dpdk_port_fx_down(&rig.fx, rig.dp);
	swim_keyring_delete(rig.ring);
	swim_keyring_delete(rig.k32);
	swim_keyring_delete(rig.k16);
	swim_keyring_delete(rig.k24);
}

/* payload, sealed under r (NULL: plaintext), as a frame from the peer. */
static void
wire_send(const struct swim_keyring *r, const uint8_t *payload, size_t len)
{
	struct dp_udp4_hdrs h = { .src_ip = PEER_IP, .dst_ip = US_IP,
				  .src_port = PEER_PORT, .dst_port = US_PORT };
	uint8_t sealed[2048], f[2048];
	int n;

	if (r != NULL) {
		n = swim_crypto_seal_udp(r, payload, len, sealed,
					 sizeof(sealed));
		cr_assert_gt(n, 0);
		payload = sealed;
		len = (size_t)n;
	}
	memcpy(h.src_mac, peer_mac, 6);
	memcpy(h.dst_mac, rig.fx.us.mac, 6);
	n = dp_pkt_build_udp4(f, sizeof(f), &h, payload, len);
	cr_assert_gt(n, 0);
	dpdk_port_fx_put(&rig.fx, f, (size_t)n, 0);
}

/*
 * The next UDP frame to the peer within ms, checksums checked by
 * dp_pkt_parse, its payload opened under r into rig.plain (plain_len <
 * 0 when it does not open). false: none came.
 */
static bool
wire_recv_udp(const struct swim_keyring *r, unsigned ms)
{
	struct dp_pkt_self peer = { .ip = PEER_IP, .port = PEER_PORT };
	struct dp_pkt_view v;
	uint64_t deadline = dp_test_now_ms() + ms;

	memcpy(peer.mac, peer_mac, 6);
	while (dpdk_port_fx_take(&rig.fx, rig.frame, sizeof(rig.frame),
				 &rig.frame_len, deadline)) {
		if (dp_pkt_parse(rig.frame, rig.frame_len, &peer, &v) !=
		    DP_PKT_UDP_US)
			continue;	/* the GARP, ARP */
		rig.plain_len = swim_crypto_open_udp(
			r, rig.frame + v.payload_off, v.payload_len,
			rig.plain, sizeof(rig.plain));
		return true;
	}
	return false;
}

/* Publish name (and ring, NULL: the create one) and wait for the lcore
 * to ack a ping sealed under peer with it. */
static void
publish_and_wait(const struct swim_keyring *ring,
		 const struct swim_keyring *peer)
{
	struct dp_snapshot snap;
	struct dp_pkt drain[4];

	memset(&snap, 0, sizeof(snap));
	snprintf(snap.name, sizeof(snap.name), "b");
	snap.keyring = ring;
	dp_publish(rig.dp, &snap);
	for (int tries = 0; tries < 40; tries++) {
		wire_send(peer, ping, sizeof(ping));
		if (wire_recv_udp(peer, 100) &&
		    rig.plain_len == (int)sizeof(ack)) {
			while (dp_recv(rig.dp, drain, 4) != 0)
				;
			return;
		}
	}
	cr_assert_fail("the lcore never acked a sealed ping");
}

TestSuite(dpdk_crypt, .init = rig_up, .fini = rig_down, .timeout = 60);

Test(dpdk_crypt, sealed_ping_gets_a_sealed_ack_on_the_lcore)
{
	struct dp_stats st0, st;
	struct dp_pkt got[2];

	publish_and_wait(NULL, rig.k32);
	dp_get_stats(rig.dp, &st0);
	wire_send(rig.k32, ping, sizeof(ping));
	cr_assert(wire_recv_udp(rig.k32, 2000), "no ack");
	cr_assert_eq(rig.plain_len, (int)sizeof(ack));
	cr_assert_arr_eq(rig.plain, ack, sizeof(ack));
	cr_assert_arr_eq(rig.frame, peer_mac, 6);
	dp_get_stats(rig.dp, &st);
	cr_assert_eq(st.acks_fast, st0.acks_fast + 1);
	cr_assert_eq(dp_test_recv_wait(rig.dp, got, 1, 100), 0,
		     "control never saw it");
}

Test(dpdk_crypt, aes128_secondary_opens_and_the_ack_uses_the_primary)
{
	publish_and_wait(NULL, rig.k32);
	wire_send(rig.k16, ping, sizeof(ping));
	cr_assert(wire_recv_udp(rig.k16, 2000), "no ack");
	cr_assert_eq(rig.plain_len, SWIM_CRYPTO_E_AUTH,
		     "sealed with the primary, not the ping's key");
	cr_assert_eq(swim_crypto_open_udp(rig.k32, rig.frame + 42,
					  rig.frame_len - 42, rig.plain,
					  sizeof(rig.plain)),
		     (int)sizeof(ack));
	cr_assert_arr_eq(rig.plain, ack, sizeof(ack));
}

Test(dpdk_crypt, sealed_gossip_reaches_control_as_plaintext)
{
	struct dp_pkt got[2];

	publish_and_wait(NULL, rig.k32);
	wire_send(rig.k32, nack, sizeof(nack));
	cr_assert_eq(dp_test_recv_wait(rig.dp, got, 1, 2000), 1);
	cr_assert_eq(got[0].len, sizeof(nack));
	cr_assert_arr_eq(got[0].data, nack, sizeof(nack));
	cr_assert_eq(got[0].addr.port, PEER_PORT);
}

Test(dpdk_crypt, plaintext_and_wrong_key_datagrams_are_dropped)
{
	struct dp_stats st0, st;
	struct dp_pkt got[2];
	uint64_t deadline;

	publish_and_wait(NULL, rig.k32);
	dp_get_stats(rig.dp, &st0);
	wire_send(NULL, ping, sizeof(ping));
	wire_send(rig.k24, ping, sizeof(ping));
	wire_send(NULL, nack, sizeof(nack));
	deadline = dp_test_now_ms() + 2000;
	do {
		dp_get_stats(rig.dp, &st);
		usleep(100);
	} while (st.drop_malformed < st0.drop_malformed + 3 &&
		 dp_test_now_ms() < deadline);
	cr_assert_eq(st.drop_malformed, st0.drop_malformed + 3);
	cr_assert_eq(st.acks_fast, st0.acks_fast);
	cr_assert_not(wire_recv_udp(rig.k32, 100), "nothing answered");
	cr_assert_eq(dp_test_recv_wait(rig.dp, got, 1, 100), 0,
		     "nothing for control");
}

Test(dpdk_crypt, control_datagrams_leave_sealed_with_fresh_nonces)
{
	struct dp_pkt out;
	uint8_t nonce[SWIM_CRYPTO_NONCE_LEN];

	publish_and_wait(NULL, rig.k32);
	dp_test_pkt_fill(&out, (const uint8_t[]){ 198, 18, 0, 2 }, PEER_PORT,
			 nack, sizeof(nack));
	cr_assert(dp_send(rig.dp, &out));
	cr_assert(wire_recv_udp(rig.k32, 2000), "nothing sent");
	cr_assert_eq(rig.plain_len, (int)sizeof(nack));
	cr_assert_arr_eq(rig.plain, nack, sizeof(nack));
	cr_assert_eq(rig.frame[42], 1, "version 1");
	memcpy(nonce, rig.frame + 43, sizeof(nonce));
	cr_assert(dp_send(rig.dp, &out));
	cr_assert(wire_recv_udp(rig.k32, 2000), "nothing sent");
	cr_assert_eq(rig.plain_len, (int)sizeof(nack));
	cr_assert(memcmp(nonce, rig.frame + 43, sizeof(nonce)) != 0);
}

Test(dpdk_crypt, a_rotated_keyring_reaches_the_lcore_in_a_snapshot)
{
	struct dp_stats st0, st;
	uint64_t deadline;

	publish_and_wait(NULL, rig.k32);
	/* control rotated to the AES-192 key alone */
	publish_and_wait(rig.k24, rig.k24);
	cr_assert_arr_eq(rig.plain, ack, sizeof(ack));
	dp_get_stats(rig.dp, &st0);
	wire_send(rig.k32, ping, sizeof(ping));
	deadline = dp_test_now_ms() + 2000;
	do {
		dp_get_stats(rig.dp, &st);
		usleep(100);
	} while (st.drop_malformed == st0.drop_malformed &&
		 dp_test_now_ms() < deadline);
	cr_assert_eq(st.drop_malformed, st0.drop_malformed + 1,
		     "the old key no longer opens");
	/* and back to the create keyring (snapshot keyring NULL): its
	 * AES-128 secondary opens again, the ack under its primary */
	publish_and_wait(NULL, rig.k32);
	wire_send(rig.k16, ping, sizeof(ping));
	cr_assert(wire_recv_udp(rig.k32, 2000), "no ack");
	cr_assert_eq(rig.plain_len, (int)sizeof(ack));
}
