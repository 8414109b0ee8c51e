/* SPDX-License-Identifier: MIT */
/*
 * The UDP budget of piggybacked broadcasts, as memberlist computes it:
 * UDPBufferSize, less encryptOverhead (29 bytes for AES-GCM version 1)
 * when packets are sealed after the core (swim_cfg.is_encrypted). Each
 * packet is sealed here with a real keyring, and the sealed datagram must
 * stay within UDPBufferSize; without encryption the whole budget is used.
 *
 * The gossip path CRC-wraps packets to PMax >= 5 peers after the budget,
 * as memberlist does (its gossip() does not count the 5 bytes either), so
 * there the bound is on the compound before the CRC.
 */
#include <criterion/criterion.h>

#include <sodium.h>
#include <string.h>

#include "swim.h"
#include "swim_crypto.h"
#include "swim_wire.h"

#define MS 1000ull
#define S (1000ull * MS)
/* 7-byte user payloads: parts of 8 bytes + 2 of length, so a full
 * packet ends within 10 bytes of its budget. */
#define BUDGET_USER_LEN 7
#define BUDGET_NB_USER 400

_Static_assert(SWIM_ENCRYPT_OVERHEAD == SWIM_CRYPTO_OVERHEAD,
	       "the core's room for the seal is what the seal adds");

static const uint8_t budget_vsn[SWIM_VSN_LEN] = { 1, 5, 2, 2, 5, 5 };
static uint8_t peer_ip[4] = { 10, 0, 0, 2 };

/* One core "me" at 10.0.0.1 that knows "peer" at 10.0.0.2. */
struct budget {
	struct swim *s;
	struct swim_addr peer;	/* 10.0.0.2:7946 */
	uint64_t now_us;
};

static void
budget_setup(void)
{
	cr_assert_geq(sodium_init(), 0);
}

TestSuite(core_budget, .init = budget_setup, .timeout = 30);

/* Feed one message from the peer. */
static void
budget_feed(struct budget *b, const struct swim_msg *m)
{
	uint8_t buf[512];
	int len = swim_wire_encode_msg(m, buf, sizeof(buf));

	cr_assert_gt(len, 0);
	swim_on_packet(b->s, b->now_us, &b->peer, buf, (size_t)len, 0);
}

/* Drop every pending output. */
static void
budget_drain(struct budget *b)
{
	struct swim_output o;

	while (swim_pop_output(b->s, &o))
		;
}

/* A core with the peer alive and the user queue full of small parts. */
static void
budget_create(struct budget *b, bool is_encrypted)
{
	struct swim_msg m = { .type = SWIM_MSG_ALIVE };
	uint8_t data[BUDGET_USER_LEN];
	struct swim_cfg cfg;
	const char *err = NULL;

	swim_cfg_default_lan(&cfg);
	strcpy(cfg.name, "me");
	cfg.addr.ip[0] = 10;
	cfg.addr.ip[3] = 1;
	cfg.addr.ip_len = 4;
	cfg.addr.port = 7946;
	cfg.enable_compression = false;	/* the budget is pre-compression */
	cfg.is_encrypted = is_encrypted;
	b->s = swim_new(&cfg, &err);
	cr_assert_not_null(b->s, "%s", err);
	b->now_us = 1 * S;
	swim_tick(b->s, b->now_us);
	memset(&b->peer, 0, sizeof(b->peer));
	memcpy(b->peer.ip, peer_ip, 4);
	b->peer.ip_len = 4;
	b->peer.port = 7946;
	m.alive.incarnation = 1;
	m.alive.node = (struct swim_str){ (const uint8_t *)"peer", 4 };
	m.alive.addr = (struct swim_str){ peer_ip, 4 };
	m.alive.port = 7946;
	m.alive.vsn = (struct swim_str){ budget_vsn, SWIM_VSN_LEN };
	budget_feed(b, &m);
	for (int i = 0; i < BUDGET_NB_USER; i++) {
		memset(data, i, sizeof(data));
		cr_assert_eq(swim_broadcast_user(b->s, data, sizeof(data)), 0);
	}
	budget_drain(b);
}

/* The peer pings us: the ack goes out through memberlist's sendMsg. */
static size_t
budget_ack_len(struct budget *b, uint8_t *out, size_t cap)
{
	struct swim_msg m = { .type = SWIM_MSG_PING };
	struct swim_output o;
	size_t len = 0;

	m.ping.seq_no = 42;
	m.ping.node = (struct swim_str){ (const uint8_t *)"me", 2 };
	m.ping.source_addr = (struct swim_str){ peer_ip, 4 };
	m.ping.source_node = (struct swim_str){ (const uint8_t *)"peer", 4 };
	m.ping.source_port = 7946;
	budget_feed(b, &m);
	while (swim_pop_output(b->s, &o)) {
		if (o.kind != SWIM_OUT_PACKET || len != 0)
			continue;
		cr_assert_leq(o.len, cap);
		memcpy(out, o.data, o.len);
		len = o.len;
	}
	cr_assert_gt(len, 0, "no ack");
	return len;
}

/* Seal like the dataplane. @retval the datagram's length. */
static size_t
budget_seal(const uint8_t *plain, size_t len)
{
	static uint8_t sealed[SWIM_UDP_MAX];
	struct swim_keyring *r = swim_keyring_new(NULL);
	uint8_t key[SWIM_CRYPTO_KEY_LEN] = { 0 };
	int n;

	cr_assert_eq(swim_keyring_add(r, key, sizeof(key)), 0);
	n = swim_crypto_seal_udp(r, plain, len, sealed, sizeof(sealed));
	cr_assert_gt(n, 0, "%s", swim_crypto_strerror(n));
	swim_keyring_delete(r);
	return (size_t)n;
}

Test(core_budget, encrypted_ack_with_piggyback_fits_after_sealing)
{
	static uint8_t pkt[SWIM_UDP_MAX];
	struct budget b;
	size_t len, sealed;

	budget_create(&b, true);
	len = budget_ack_len(&b, pkt, sizeof(pkt));
	cr_assert_eq(pkt[0], SWIM_MSG_COMPOUND, "the ack carries piggyback");
	sealed = budget_seal(pkt, len);
	cr_log_info("encrypted: ack compound %zu bytes, sealed %zu", len,
		    sealed);
	cr_assert_eq(sealed, len + SWIM_ENCRYPT_OVERHEAD);
	cr_assert_leq(sealed, SWIM_UDP_BUDGET, "sealed %zu bytes", sealed);
	/* ... and the reduced budget is still filled (parts are 10 bytes). */
	cr_assert_gt(sealed, SWIM_UDP_BUDGET - 10, "sealed %zu bytes", sealed);
	swim_delete(b.s);
}

Test(core_budget, plain_ack_uses_the_whole_budget)
{
	static uint8_t pkt[SWIM_UDP_MAX];
	struct budget b;
	size_t len;

	budget_create(&b, false);
	len = budget_ack_len(&b, pkt, sizeof(pkt));
	cr_assert_eq(pkt[0], SWIM_MSG_COMPOUND);
	cr_log_info("plain: ack compound %zu bytes", len);
	cr_assert_leq(len, SWIM_UDP_BUDGET, "%zu bytes", len);
	cr_assert_gt(len, SWIM_UDP_BUDGET - SWIM_ENCRYPT_OVERHEAD,
		     "%zu bytes: no room kept for a seal nobody adds", len);
	swim_delete(b.s);
}

/* The largest gossip compound sent to the peer, CRC wrapper removed. */
static size_t
budget_gossip_len(struct budget *b)
{
	struct swim_output o;
	size_t max = 0;

	b->now_us += 1 * S;	/* several GossipIntervals */
	swim_tick(b->s, b->now_us);
	while (swim_pop_output(b->s, &o)) {
		size_t len = o.len;

		if (o.kind != SWIM_OUT_PACKET || o.len == 0)
			continue;
		if (o.data[0] == SWIM_MSG_HAS_CRC)
			len -= 5;	/* outside the budget, as memberlist */
		if (o.data[o.len - len] == SWIM_MSG_COMPOUND && len > max)
			max = len;
	}
	cr_assert_gt(max, 0, "no gossip compound");
	return max;
}

Test(core_budget, gossip_leaves_room_for_the_seal)
{
	struct budget b;
	size_t room = SWIM_UDP_BUDGET - SWIM_ENCRYPT_OVERHEAD;
	size_t len;

	budget_create(&b, true);
	len = budget_gossip_len(&b);
	cr_log_info("encrypted: largest compound %zu bytes", len);
	cr_assert_leq(len, room, "%zu bytes", len);
	cr_assert_gt(len, room - 10, "%zu bytes", len);
	swim_delete(b.s);
	budget_create(&b, false);
	len = budget_gossip_len(&b);
	cr_log_info("plain: largest compound %zu bytes", len);
	cr_assert_leq(len, SWIM_UDP_BUDGET, "%zu bytes", len);
	cr_assert_gt(len, room, "%zu bytes", len);
	swim_delete(b.s);
}

Test(core_budget, user_broadcast_must_fit_the_sealed_budget)
{
	static uint8_t data[SWIM_UDP_BUDGET];
	/* type byte + 2 length bytes + compound header 2 */
	size_t max_plain = SWIM_UDP_BUDGET - 5;
	size_t max_sealed = max_plain - SWIM_ENCRYPT_OVERHEAD;
	struct budget b;

	budget_create(&b, true);
	cr_assert_eq(swim_broadcast_user(b.s, data, max_sealed), 0);
	cr_assert_eq(swim_broadcast_user(b.s, data, max_sealed + 1), -1);
	swim_delete(b.s);
	budget_create(&b, false);
	cr_assert_eq(swim_broadcast_user(b.s, data, max_plain), 0);
	cr_assert_eq(swim_broadcast_user(b.s, data, max_plain + 1), -1);
	swim_delete(b.s);
}
