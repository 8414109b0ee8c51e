/* SPDX-License-Identifier: MIT */
/*
 * swim_crypto: memberlist's AES-256-GCM encryption over libsodium.
 *
 * The Appendix A vectors (UDP version 1 and 0, stream frame) are
 * reproduced byte-exact through an injected nonce source; every error
 * path returns its own code; and every packet and stream of the real
 * serf <-> serf encrypted capture (captures/enc.pcap, extracted to
 * tests/data/enc.*.hex) opens with the capture's key and then decodes
 * with the wire codec.
 */
#include <criterion/criterion.h>

#include <sodium.h>

#include "swim_crypto.h"
#include "swim_wire.h"
#include "wire_util.h"

#ifndef WIRE_DATA_DIR
#error "WIRE_DATA_DIR must point at tests/data"
#endif

static void
crypto_setup(void)
{
	cr_assert_geq(sodium_init(), 0);
	if (!crypto_aead_aes256gcm_is_available())
		cr_skip_test("no AES-GCM on this CPU");
}

TestSuite(crypto, .init = crypto_setup, .timeout = 30);
TestSuite(crypto_golden, .init = crypto_setup, .timeout = 60);

/* Appendix A: key 00..1f, nonce 00..0b, the 59-byte ping. */
static const char ping_hex[] =
	"0085a44e6f6465a162a55365714e6f01aa536f7572636541646472a47f000001"
	"aa536f757263654e6f6465a161aa536f75726365506f7274cd1f0a";
static const char udp_v1_hex[] =
	"01000102030405060708090a0b47877255aa81a7baefe4c4eec0a7176c2985e8"
	"4182183a3d5c039721626900b3ab43c189dda277d61bc01a4ce92d7b579b2b03"
	"e80ab9d1aef28820804c4c132489b2d357600a6ff296b26f";
static const char udp_v0_hex[] =
	"00000102030405060708090a0b47877255aa81a7baefe4c4eec0a7176c2985e8"
	"4182183a3d5c039721626900b3ab43c189dda277d61bc01a4ce92d7b579b2b03"
	"e80ab9d1aef288201c1de6f0ebb556d1adbe88c940f3b63e022c000dfe";
static const char ack_hex[] = "0282a75061796c6f6164c0a55365714e6f01";
static const char stream_hex[] =
	"0a0000002f01000102030405060708090a0b4580714ba49cae74ec25572ee28c"
	"0923ecd7dbabe67ecfd447a3125636df123fd6a6";

/* The capture's key (captures/enc.key.txt). */
static const char enc_key_b64[] =
	"NfCkMllT5KcahAfYZFkFkM7bZUzlpnSOoPhQcHck/xE=";

/* Test nonce source: 00 01 .. 0b, as Appendix A. */
static void
nonce_fixed(void *ctx, uint8_t nonce[SWIM_CRYPTO_NONCE_LEN])
{
	(void)ctx;
	for (int i = 0; i < SWIM_CRYPTO_NONCE_LEN; i++)
		nonce[i] = (uint8_t)i;
}

/* A raw key whose bytes are first, first+1, ... */
static void
key_seq(uint8_t *key, size_t len, uint8_t first)
{
	for (size_t i = 0; i < len; i++)
		key[i] = (uint8_t)(first + i);
}

/* A keyring holding the key starting at byte first. */
static struct swim_keyring *
ring_with(uint8_t first)
{
	uint8_t key[SWIM_CRYPTO_KEY_LEN];
	int err = -1;
	struct swim_keyring *r = swim_keyring_new(&err);

	cr_assert_not_null(r);
	cr_assert_eq(err, 0);
	key_seq(key, sizeof(key), first);
	cr_assert_eq(swim_keyring_add(r, key, sizeof(key)), 0);
	return r;
}

static int
unhex(const char *hex, uint8_t *out, size_t cap)
{
	int n = wire_unhex(hex, out, cap);

	cr_assert_gt(n, 0, "bad hex in test");
	return n;
}

/* A v1 UDP packet of the 59-byte ping under the ring's primary key. */
static int
sealed_ping(const struct swim_keyring *r, uint8_t *out, size_t cap)
{
	uint8_t ping[64];
	int n = unhex(ping_hex, ping, sizeof(ping));

	return swim_crypto_seal_udp(r, ping, (size_t)n, out, cap);
}

Test(crypto, udp_v1_vector_is_byte_exact)
{
	struct swim_keyring *r = ring_with(0);
	uint8_t ping[64], want[128], out[128], back[128];
	int n = unhex(ping_hex, ping, sizeof(ping));
	int w = unhex(udp_v1_hex, want, sizeof(want));

	swim_keyring_set_nonce_source(r, nonce_fixed, NULL);
	cr_assert_eq(w, 88);
	cr_assert_eq(swim_crypto_seal_udp(r, ping, (size_t)n, out,
					  sizeof(out)), 88);
	cr_assert_arr_eq(out, want, 88);
	cr_assert_eq(swim_crypto_open_udp(r, want, 88, back, sizeof(back)), n);
	cr_assert_arr_eq(back, ping, (size_t)n);
	swim_keyring_delete(r);
}

Test(crypto, udp_v0_vector_is_byte_exact_and_unpadded)
{
	struct swim_keyring *r = ring_with(0);
	uint8_t ping[64], want[128], out[128], back[128], nonce[12];
	int n = unhex(ping_hex, ping, sizeof(ping));
	int w = unhex(udp_v0_hex, want, sizeof(want));

	nonce_fixed(NULL, nonce);
	cr_assert_eq(w, 93);
	cr_assert_eq(swim_crypto_seal_payload(r, 0, nonce, NULL, 0, ping,
					      (size_t)n, out, sizeof(out)),
		     93);
	cr_assert_arr_eq(out, want, 93);
	cr_assert_eq(swim_crypto_open_udp(r, want, 93, back, sizeof(back)), n);
	cr_assert_arr_eq(back, ping, (size_t)n);
	swim_keyring_delete(r);
}

Test(crypto, stream_vector_is_byte_exact_with_header_aad)
{
	struct swim_keyring *r = ring_with(0);
	uint8_t ack[32], want[64], out[64], back[64];
	int n = unhex(ack_hex, ack, sizeof(ack));
	int w = unhex(stream_hex, want, sizeof(want));
	size_t used = 0;

	swim_keyring_set_nonce_source(r, nonce_fixed, NULL);
	cr_assert_eq(w, 52);
	cr_assert_eq(swim_crypto_seal_stream(r, ack, (size_t)n, out,
					     sizeof(out)), 52);
	cr_assert_arr_eq(out, want, 52);
	cr_assert_eq(swim_crypto_stream_frame_len(want, 5), 52);
	cr_assert_eq(swim_crypto_open_stream(r, want, 52, back, sizeof(back),
					     &used), n);
	cr_assert_eq(used, 52);
	cr_assert_arr_eq(back, ack, (size_t)n);
	/* The header is authenticated: the same body under another AAD. */
	cr_assert_eq(swim_crypto_open_payload(r, NULL, 0, want + 5, 47, back,
					      sizeof(back)),
		     SWIM_CRYPTO_E_AUTH);
	swim_keyring_delete(r);
}

Test(crypto, random_nonces_differ_and_round_trip)
{
	struct swim_keyring *r = ring_with(0);
	uint8_t a[128], b[128], back[128];

	cr_assert_eq(sealed_ping(r, a, sizeof(a)), 88);
	cr_assert_eq(sealed_ping(r, b, sizeof(b)), 88);
	cr_assert_eq(a[0], 1);
	cr_assert(memcmp(a + 1, b + 1, 12) != 0, "nonce reused");
	cr_assert_eq(swim_crypto_open_udp(r, a, 88, back, sizeof(back)), 59);
	cr_assert_eq(swim_crypto_open_udp(r, b, 88, back, sizeof(back)), 59);
	swim_keyring_delete(r);
}

Test(crypto, nonce_generator_counts_with_carry)
{
	struct swim_crypto_nonce_gen g;
	uint8_t n1[12], n2[12];

	swim_crypto_nonce_gen_init(&g);
	memset(g.next, 0xff, sizeof(g.next));
	g.next[0] = 0x00;
	swim_crypto_nonce_gen_next(&g, n1);
	swim_crypto_nonce_gen_next(&g, n2);
	cr_assert_eq(n1[0], 0x00);
	cr_assert_eq(n1[11], 0xff);
	cr_assert_eq(n2[0], 0x01, "carry through 11 bytes");
	for (int i = 1; i < 12; i++)
		cr_assert_eq(n2[i], 0x00);
}

Test(crypto, generator_nonces_seal_distinct_packets)
{
	struct swim_keyring *r = ring_with(0);
	struct swim_crypto_nonce_gen g;
	uint8_t in[4] = {1, 2, 3, 4}, a[64], b[64], back[8];

	swim_crypto_nonce_gen_init(&g);
	swim_keyring_set_nonce_source(r, swim_crypto_nonce_gen_next, &g);
	cr_assert_eq(swim_crypto_seal_udp(r, in, 4, a, sizeof(a)), 33);
	cr_assert_eq(swim_crypto_seal_udp(r, in, 4, b, sizeof(b)), 33);
	cr_assert(memcmp(a + 1, b + 1, 12) != 0);
	cr_assert_eq(swim_crypto_open_udp(r, b, 33, back, sizeof(back)), 4);
	/* NULL restores the random source. */
	swim_keyring_set_nonce_source(r, NULL, NULL);
	cr_assert_eq(swim_crypto_seal_udp(r, in, 4, a, sizeof(a)), 33);
	swim_keyring_delete(r);
}

Test(crypto, tampered_tag_ciphertext_or_nonce_is_rejected)
{
	struct swim_keyring *r = ring_with(0);
	static const size_t at[] = {1, 12, 13, 40, 71, 72, 87};
	uint8_t pkt[128], back[128];

	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		cr_assert_eq(unhex(udp_v1_hex, pkt, sizeof(pkt)), 88);
		pkt[at[i]] ^= 0x01;
		cr_assert_eq(swim_crypto_open_udp(r, pkt, 88, back,
						  sizeof(back)),
			     SWIM_CRYPTO_E_AUTH, "flip at %zu", at[i]);
	}
	swim_keyring_delete(r);
}

Test(crypto, wrong_key_is_rejected)
{
	struct swim_keyring *r = ring_with(1);
	uint8_t pkt[128], back[128];

	unhex(udp_v1_hex, pkt, sizeof(pkt));
	cr_assert_eq(swim_crypto_open_udp(r, pkt, 88, back, sizeof(back)),
		     SWIM_CRYPTO_E_AUTH);
	swim_keyring_delete(r);
}

Test(crypto, key_is_found_among_the_secondaries)
{
	struct swim_keyring *r = ring_with(7);
	uint8_t key[32], pkt[128], back[128], k0[32];

	for (uint8_t f = 8; f < 11; f++) {
		key_seq(key, 32, f);
		cr_assert_eq(swim_keyring_add(r, key, 32), 0);
	}
	key_seq(key, 32, 0);
	cr_assert_eq(swim_keyring_add(r, key, 32), 0);
	cr_assert_eq(swim_keyring_count(r), 5);
	cr_assert_eq(swim_keyring_get(r, 0, k0), 0);
	cr_assert_eq(k0[0], 7, "the first key stays primary");
	unhex(udp_v1_hex, pkt, sizeof(pkt));
	cr_assert_eq(swim_crypto_open_udp(r, pkt, 88, back, sizeof(back)), 59);
	/* But sealing uses the primary only: a ring of key 0 cannot open. */
	struct swim_keyring *other = ring_with(0);

	cr_assert_eq(sealed_ping(r, pkt, sizeof(pkt)), 88);
	cr_assert_eq(swim_crypto_open_udp(other, pkt, 88, back, sizeof(back)),
		     SWIM_CRYPTO_E_AUTH);
	swim_keyring_delete(other);
	swim_keyring_delete(r);
}

Test(crypto, use_and_remove_rotate_keys_like_memberlist)
{
	struct swim_keyring *r = ring_with(1);
	uint8_t k0[32], k1[32], got[32], pkt[128], back[128];
	struct swim_keyring *only0 = ring_with(0);

	key_seq(k0, 32, 0);
	key_seq(k1, 32, 1);
	cr_assert_eq(swim_keyring_use(r, k0, 32), SWIM_CRYPTO_E_NOKEY);
	cr_assert_eq(swim_keyring_add(r, k0, 32), 0);
	cr_assert_eq(swim_keyring_add(r, k0, 32), 0, "duplicate is a no-op");
	cr_assert_eq(swim_keyring_count(r), 2);
	cr_assert_eq(swim_keyring_use(r, k0, 32), 0);
	cr_assert_eq(swim_keyring_get(r, 0, got), 0);
	cr_assert_arr_eq(got, k0, 32);
	cr_assert_eq(swim_keyring_get(r, 1, got), 0);
	cr_assert_arr_eq(got, k1, 32);
	cr_assert_eq(swim_keyring_get(r, 2, got), SWIM_CRYPTO_E_NOKEY);
	cr_assert_eq(sealed_ping(r, pkt, sizeof(pkt)), 88);
	cr_assert_eq(swim_crypto_open_udp(only0, pkt, 88, back, sizeof(back)),
		     59, "the new primary seals");
	cr_assert_eq(swim_keyring_remove(r, k0, 32), SWIM_CRYPTO_E_PRIMARY);
	cr_assert_eq(swim_keyring_remove(r, k1, 32), 0);
	cr_assert_eq(swim_keyring_remove(r, k1, 32), SWIM_CRYPTO_E_NOKEY);
	cr_assert_eq(swim_keyring_count(r), 1);
	cr_assert_eq(swim_keyring_remove(r, k1, 16), SWIM_CRYPTO_E_AES128);
	cr_assert_eq(swim_keyring_use(r, k1, 31), SWIM_CRYPTO_E_KEYLEN);
	/* A packet under the removed key no longer opens. */
	struct swim_keyring *only1 = ring_with(1);

	cr_assert_eq(sealed_ping(only1, pkt, sizeof(pkt)), 88);
	cr_assert_eq(swim_crypto_open_udp(r, pkt, 88, back, sizeof(back)),
		     SWIM_CRYPTO_E_AUTH);
	swim_keyring_delete(only1);
	swim_keyring_delete(only0);
	swim_keyring_delete(r);
}

Test(crypto, short_payloads_are_rejected)
{
	struct swim_keyring *r = ring_with(0);
	uint8_t pkt[128], back[128];

	unhex(udp_v1_hex, pkt, sizeof(pkt));
	cr_assert_eq(swim_crypto_open_udp(r, pkt, 0, back, sizeof(back)),
		     SWIM_CRYPTO_E_SHORT);
	cr_assert_eq(swim_crypto_open_udp(r, pkt, 1, back, sizeof(back)),
		     SWIM_CRYPTO_E_SHORT);
	cr_assert_eq(swim_crypto_open_udp(r, pkt, 28, back, sizeof(back)),
		     SWIM_CRYPTO_E_SHORT);
	unhex(udp_v0_hex, pkt, sizeof(pkt));
	cr_assert_eq(swim_crypto_open_udp(r, pkt, 44, back, sizeof(back)),
		     SWIM_CRYPTO_E_SHORT, "v0 needs a padding block");
	/* The shortest v1 payload (empty plaintext) is fine. */
	cr_assert_eq(swim_crypto_seal_udp(r, pkt, 0, pkt, sizeof(pkt)), 29);
	cr_assert_eq(swim_crypto_open_udp(r, pkt, 29, back, sizeof(back)), 0);
	swim_keyring_delete(r);
}

Test(crypto, version_above_one_is_rejected)
{
	struct swim_keyring *r = ring_with(0);
	uint8_t pkt[128], back[128], nonce[12] = {0};

	unhex(udp_v1_hex, pkt, sizeof(pkt));
	pkt[0] = 2;
	cr_assert_eq(swim_crypto_open_udp(r, pkt, 88, back, sizeof(back)),
		     SWIM_CRYPTO_E_VERSION);
	cr_assert_eq(swim_crypto_open_udp(r, pkt, 1, back, sizeof(back)),
		     SWIM_CRYPTO_E_VERSION, "version is checked first");
	pkt[0] = 0xff;
	cr_assert_eq(swim_crypto_open_udp(r, pkt, 88, back, sizeof(back)),
		     SWIM_CRYPTO_E_VERSION);
	cr_assert_eq(swim_crypto_seal_payload(r, 2, nonce, NULL, 0, back, 4,
					      pkt, sizeof(pkt)),
		     SWIM_CRYPTO_E_VERSION);
	swim_keyring_delete(r);
}

/* A v1 payload of plain whose version byte is then set to 0. */
static int
as_v0(const struct swim_keyring *r, const uint8_t *plain, size_t len,
      uint8_t *out, size_t cap)
{
	uint8_t nonce[12] = {9};
	int n = swim_crypto_seal_payload(r, 1, nonce, NULL, 0, plain, len,
					 out, cap);

	cr_assert_gt(n, 0);
	out[0] = 0;	/* UDP has no AAD, so the tag still verifies */
	return n;
}

Test(crypto, bad_pkcs7_padding_is_rejected)
{
	struct swim_keyring *r = ring_with(0);
	uint8_t plain[32], pkt[128], back[128];
	int n;

	memset(plain, 4, sizeof(plain));
	n = as_v0(r, plain, 32, pkt, sizeof(pkt));
	cr_assert_eq(swim_crypto_open_udp(r, pkt, (size_t)n, back,
					  sizeof(back)), 28, "good pad 4");
	plain[31] = 0;
	n = as_v0(r, plain, 32, pkt, sizeof(pkt));
	cr_assert_eq(swim_crypto_open_udp(r, pkt, (size_t)n, back,
					  sizeof(back)),
		     SWIM_CRYPTO_E_PADDING, "pad 0");
	plain[31] = 17;
	n = as_v0(r, plain, 32, pkt, sizeof(pkt));
	cr_assert_eq(swim_crypto_open_udp(r, pkt, (size_t)n, back,
					  sizeof(back)),
		     SWIM_CRYPTO_E_PADDING, "pad 17");
	plain[31] = 4;
	plain[29] = 3;
	n = as_v0(r, plain, 32, pkt, sizeof(pkt));
	cr_assert_eq(swim_crypto_open_udp(r, pkt, (size_t)n, back,
					  sizeof(back)),
		     SWIM_CRYPTO_E_PADDING, "inconsistent pad bytes");
	swim_keyring_delete(r);
}

Test(crypto, small_output_buffers_are_rejected)
{
	struct swim_keyring *r = ring_with(0);
	uint8_t pkt[128], back[128];

	unhex(udp_v1_hex, pkt, sizeof(pkt));
	cr_assert_eq(swim_crypto_open_udp(r, pkt, 88, back, 58),
		     SWIM_CRYPTO_E_NOSPACE);
	cr_assert_eq(swim_crypto_open_udp(r, pkt, 88, back, 59), 59);
	cr_assert_eq(swim_crypto_seal_udp(r, back, 59, pkt, 87),
		     SWIM_CRYPTO_E_NOSPACE);
	cr_assert_eq(swim_crypto_seal_stream(r, back, 59, pkt, 92),
		     SWIM_CRYPTO_E_NOSPACE);
	cr_assert_eq(swim_crypto_seal_stream(r, back, 59, pkt, 93), 93);
	cr_assert_eq(swim_crypto_seal_stream(r, back,
					     SWIM_CRYPTO_STREAM_MAX, pkt,
					     sizeof(pkt)),
		     SWIM_CRYPTO_E_LENGTH);
	swim_keyring_delete(r);
}

Test(crypto, empty_keyring_neither_seals_nor_opens)
{
	struct swim_keyring *r = swim_keyring_new(NULL);
	uint8_t pkt[128], back[128], nonce[12] = {0};

	cr_assert_not_null(r);
	cr_assert_eq(swim_keyring_count(r), 0);
	unhex(udp_v1_hex, pkt, sizeof(pkt));
	cr_assert_eq(swim_crypto_open_udp(r, pkt, 88, back, sizeof(back)),
		     SWIM_CRYPTO_E_NOKEY);
	cr_assert_eq(swim_crypto_seal_udp(r, back, 4, pkt, sizeof(pkt)),
		     SWIM_CRYPTO_E_NOKEY);
	cr_assert_eq(swim_crypto_seal_stream(r, back, 4, pkt, sizeof(pkt)),
		     SWIM_CRYPTO_E_NOKEY);
	cr_assert_eq(swim_crypto_seal_payload(r, 1, nonce, NULL, 0, back, 4,
					      pkt, sizeof(pkt)),
		     SWIM_CRYPTO_E_NOKEY);
	swim_keyring_delete(r);
	swim_keyring_delete(NULL);
}

Test(crypto, keyring_holds_at_most_sixteen_keys)
{
	struct swim_keyring *r = swim_keyring_new(NULL);
	uint8_t key[32];

	for (int i = 0; i < SWIM_CRYPTO_MAX_KEYS; i++) {
		key_seq(key, 32, (uint8_t)(i * 3));
		cr_assert_eq(swim_keyring_add(r, key, 32), 0);
	}
	key_seq(key, 32, 200);
	cr_assert_eq(swim_keyring_add(r, key, 32), SWIM_CRYPTO_E_FULL);
	key_seq(key, 32, 0);
	cr_assert_eq(swim_keyring_add(r, key, 32), 0, "already there");
	cr_assert_eq(swim_keyring_count(r), SWIM_CRYPTO_MAX_KEYS);
	swim_keyring_delete(r);
}

Test(crypto, aes128_and_aes192_keys_are_refused_by_name)
{
	struct swim_keyring *r = swim_keyring_new(NULL);
	uint8_t key[33] = {0};
	const char *msg = swim_crypto_strerror(SWIM_CRYPTO_E_AES128);

	cr_assert_eq(swim_keyring_add(r, key, 16), SWIM_CRYPTO_E_AES128);
	cr_assert_eq(swim_keyring_add(r, key, 24), SWIM_CRYPTO_E_AES128);
	cr_assert_eq(swim_keyring_add(r, key, 0), SWIM_CRYPTO_E_KEYLEN);
	cr_assert_eq(swim_keyring_add(r, key, 31), SWIM_CRYPTO_E_KEYLEN);
	cr_assert_eq(swim_keyring_add(r, key, 33), SWIM_CRYPTO_E_KEYLEN);
	cr_assert_not_null(strstr(msg, "AES-128"));
	cr_assert_not_null(strstr(msg, "libsodium"));
	cr_assert_not_null(strstr(msg, "32-byte"));
	/* The same through base64, as `serf agent -encrypt` would pass. */
	cr_assert_eq(swim_keyring_add_base64(r, "AAECAwQFBgcICQoLDA0ODw==",
					     24),
		     SWIM_CRYPTO_E_AES128, "16 bytes");
	cr_assert_eq(swim_keyring_add_base64(
			     r, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX", 32),
		     SWIM_CRYPTO_E_AES128, "24 bytes");
	cr_assert_eq(swim_keyring_add_base64(r, "AAECAwQFBgcICQoLDA0ODxAREhM=",
					     28),
		     SWIM_CRYPTO_E_KEYLEN, "20 bytes");
	cr_assert_eq(swim_keyring_count(r), 0);
	swim_keyring_delete(r);
}

Test(crypto, base64_keys_parse_like_serf)
{
	struct swim_keyring *r = swim_keyring_new(NULL);
	const char *with_nl = "NfCkMllT5KcahAfYZFkFkM7bZUzlpnSOoPhQcHck/xE=\n";
	uint8_t key[32];

	cr_assert_eq(swim_keyring_add_base64(r, with_nl, strlen(with_nl)), 0);
	cr_assert_eq(swim_keyring_get(r, 0, key), 0);
	cr_assert_eq(key[0], 0x35);
	cr_assert_eq(key[31], 0x11);
	cr_assert_eq(swim_crypto_key_from_base64(enc_key_b64,
						 strlen(enc_key_b64), key,
						 sizeof(key)),
		     32);
	cr_assert_eq(swim_crypto_key_from_base64(enc_key_b64,
						 strlen(enc_key_b64), key, 31),
		     SWIM_CRYPTO_E_KEYLEN);
	swim_keyring_delete(r);
}

Test(crypto, bad_base64_is_rejected)
{
	static const char *const bad[] = {
		"",					/* empty */
		"   ",					/* blank */
		"NfCkMllT5KcahAfYZFkFkM7bZUzlpnSOoPhQcHck/xE",	/* no pad */
		"NfCkMllT5KcahAfYZFkFkM7bZUzlpnSOoPhQcHck_xE=",	/* URL-safe */
		"NfCkMllT5KcahAfYZFkFkM7bZUzlpnSOoPhQcHck/x!=",	/* bad char */
		"NfCkMllT5KcahAfYZFkFkM7bZ zlpnSOoPhQcHck/xE=",	/* inner sp */
		"NfCkMllT5KcahAfYZFkFkM7bZUzlpnSOoPhQcHck/x==",	/* bad bits */
		"=NfCkMllT5KcahAfYZFkFkM7bZUzlpnSOoPhQcHck/x",	/* pad first */
	};
	struct swim_keyring *r = swim_keyring_new(NULL);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(swim_keyring_add_base64(r, bad[i], strlen(bad[i])),
			     SWIM_CRYPTO_E_BASE64, "case %zu", i);
	cr_assert_eq(swim_keyring_count(r), 0);
	swim_keyring_delete(r);
}

Test(crypto, keyring_file_json_puts_the_first_key_primary)
{
	const char *json = " [\n  \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\",\n"
			   "  \"NfCkMllT5KcahAfYZFkFkM7bZUzlpnSOoPhQcHck\\/xE=\"\n]\n";
	struct swim_keyring *r = swim_keyring_new(NULL);
	uint8_t key[32], pkt[128], back[128];

	cr_assert_eq(swim_keyring_add_json(r, json, strlen(json)), 2);
	cr_assert_eq(swim_keyring_count(r), 2);
	cr_assert_eq(swim_keyring_get(r, 0, key), 0);
	cr_assert_eq(key[0], 0);
	cr_assert_eq(key[31], 0x1f);
	cr_assert_eq(swim_keyring_get(r, 1, key), 0);
	cr_assert_eq(key[0], 0x35, "\\/ unescaped");
	unhex(udp_v1_hex, pkt, sizeof(pkt));
	cr_assert_eq(swim_crypto_open_udp(r, pkt, 88, back, sizeof(back)), 59);
	swim_keyring_delete(r);
}

Test(crypto, malformed_keyring_files_are_rejected)
{
	static const struct {
		const char *text;
		int err;
	} cases[] = {
		{"", SWIM_CRYPTO_E_JSON},
		{"[]", SWIM_CRYPTO_E_JSON},
		{" [ ] ", SWIM_CRYPTO_E_JSON},
		{"{\"k\": 1}", SWIM_CRYPTO_E_JSON},
		{"\"AAECAwQFBgcICQoLDA0ODw==\"", SWIM_CRYPTO_E_JSON},
		{"[1]", SWIM_CRYPTO_E_JSON},
		{"[\"NfCkMllT5KcahAfYZFkFkM7bZUzlpnSOoPhQcHck/xE=\"",
		 SWIM_CRYPTO_E_JSON},
		{"[\"NfCkMllT5KcahAfYZFkFkM7bZUzlpnSOoPhQcHck/xE=\",]",
		 SWIM_CRYPTO_E_JSON},
		{"[\"NfCkMllT5KcahAfYZFkFkM7bZUzlpnSOoPhQcHck/xE=\"] x",
		 SWIM_CRYPTO_E_JSON},
		{"[\"NfCkMllT5KcahAfYZFkFkM7bZUzlpnSOoPhQcHck/xE=",
		 SWIM_CRYPTO_E_JSON},
		{"[\"\\u0041\"]", SWIM_CRYPTO_E_JSON},
		{"[\"AAECAwQFBgcICQoLDA0ODw==\"]", SWIM_CRYPTO_E_AES128},
		{"[\"not base64\"]", SWIM_CRYPTO_E_BASE64},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct swim_keyring *r = swim_keyring_new(NULL);

		cr_assert_eq(swim_keyring_add_json(r, cases[i].text,
						   strlen(cases[i].text)),
			     cases[i].err, "case %zu: %s", i, cases[i].text);
		swim_keyring_delete(r);
	}
}

Test(crypto, stream_frame_errors_have_their_own_codes)
{
	struct swim_keyring *r = ring_with(0);
	uint8_t frame[64], back[64];
	static const uint8_t huge[] = {0x0a, 0x01, 0x40, 0x00, 0x01};
	static const uint8_t plain[] = {0x00, 0x82, 0xa4};

	unhex(stream_hex, frame, sizeof(frame));
	for (size_t i = 0; i < 52; i++)
		cr_assert_eq(swim_crypto_open_stream(r, frame, i, back,
						     sizeof(back), NULL),
			     SWIM_CRYPTO_E_AGAIN, "prefix %zu", i);
	cr_assert_eq(swim_crypto_stream_frame_len(plain, sizeof(plain)),
		     SWIM_CRYPTO_E_FRAME);
	cr_assert_eq(swim_crypto_open_stream(r, plain, sizeof(plain), back,
					     sizeof(back), NULL),
		     SWIM_CRYPTO_E_FRAME);
	cr_assert_eq(swim_crypto_stream_frame_len(huge, sizeof(huge)),
		     SWIM_CRYPTO_E_LENGTH);
	/* Exactly the cap is allowed (memberlist: > maxPushStateBytes). */
	static const uint8_t cap[] = {0x0a, 0x01, 0x40, 0x00, 0x00};

	cr_assert_eq(swim_crypto_stream_frame_len(cap, sizeof(cap)),
		     5 + (long)SWIM_CRYPTO_STREAM_MAX);
	/* A frame with trailing bytes opens and says what it used. */
	size_t used = 0;

	frame[52] = 0x77;
	cr_assert_eq(swim_crypto_open_stream(r, frame, 53, back, sizeof(back),
					     &used), 18);
	cr_assert_eq(used, 52);
	/* A body shorter than the overhead. */
	static const uint8_t tiny[] = {0x0a, 0, 0, 0, 2, 1, 0};

	cr_assert_eq(swim_crypto_open_stream(r, tiny, sizeof(tiny), back,
					     sizeof(back), NULL),
		     SWIM_CRYPTO_E_SHORT);
	/* A UDP packet carried as a stream body: the AAD differs. */
	uint8_t udp[128], fr[160];

	unhex(udp_v1_hex, udp, sizeof(udp));
	memcpy(fr, "\x0a\x00\x00\x00\x58", 5);
	memcpy(fr + 5, udp, 88);
	cr_assert_eq(swim_crypto_open_stream(r, fr, 93, udp, sizeof(udp),
					     NULL),
		     SWIM_CRYPTO_E_AUTH);
	swim_keyring_delete(r);
}

Test(crypto, every_error_has_a_distinct_name)
{
	for (int e = 0; e > SWIM_CRYPTO_E_COUNT; e--) {
		const char *s = swim_crypto_strerror(e);

		cr_assert_not_null(s);
		cr_assert_gt(strlen(s), 1);
		cr_assert_null(strchr(s, '\n'));
		for (int f = 0; f > e; f--)
			cr_assert_str_neq(s, swim_crypto_strerror(f));
	}
	cr_assert_str_eq(swim_crypto_strerror(SWIM_CRYPTO_E_COUNT),
			 "unknown crypto error");
	cr_assert_str_eq(swim_crypto_strerror(5), "unknown crypto error");
}

/* --- the real encrypted capture --- */

enum { LINE_MAX_BYTES = 1 << 16 };

static char line[2 * LINE_MAX_BYTES + 2];
static uint8_t pkt[LINE_MAX_BYTES];
static uint8_t plain[LINE_MAX_BYTES];
static uint8_t inner[LINE_MAX_BYTES];
static struct swim_wire_scratch scratch;

/* Next hex line of f into pkt. @retval length, 0 at EOF. */
static int
next_packet(FILE *f)
{
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strcspn(line, "\r\n");

		if (n == 0 || line[0] == '#')
			continue;
		line[n] = 0;
		return unhex(line, pkt, sizeof(pkt));
	}
	return 0;
}

static FILE *
open_data(const char *name, const char *kind)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.%s.hex", WIRE_DATA_DIR, name,
		 kind);
	f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s", path);
	return f;
}

static struct swim_keyring *
capture_ring(void)
{
	struct swim_keyring *r = swim_keyring_new(NULL);

	cr_assert_eq(swim_keyring_add_base64(r, enc_key_b64,
					     strlen(enc_key_b64)), 0);
	return r;
}

static int
count_msgs(void *ctx, const struct swim_msg *msg)
{
	(void)msg;
	++*(int *)ctx;
	return 0;
}

/*
 * The encrypted captures: enc (serf <-> serf) and t3 (serf <-> the
 * libsodium-based Python node), both under the key of enc.key.txt.
 */
static const char *const enc_captures[] = { "enc", "t3" };

/* Open and decode every UDP packet of one capture. @retval packets. */
static int
check_udp_capture(const struct swim_keyring *r, const char *name,
		  int *nb_msg)
{
	FILE *f = open_data(name, "udp");
	int len, nb_pkt = 0;

	while ((len = next_packet(f)) > 0) {
		int n = swim_crypto_open_udp(r, pkt, (size_t)len, plain,
					     sizeof(plain));

		cr_assert_eq(n, len - SWIM_CRYPTO_OVERHEAD, "%s packet %d: %s",
			     name, nb_pkt, swim_crypto_strerror(n));
		cr_assert_eq(pkt[0], 1, "version 1 is what serf sends");
		n = swim_wire_decode_packet(plain, (size_t)n, &scratch,
					    count_msgs, nb_msg);
		cr_assert_gt(n, 0, "%s packet %d: %s", name, nb_pkt,
			     swim_wire_strerror(n));
		nb_pkt++;
	}
	fclose(f);
	return nb_pkt;
}

Test(crypto_golden, every_encrypted_udp_packet_opens_and_decodes)
{
	struct swim_keyring *r = capture_ring();
	int nb_pkt = 0, nb_msg = 0;

	for (size_t i = 0; i < 2; i++)
		nb_pkt += check_udp_capture(r, enc_captures[i], &nb_msg);
	cr_log_info("%d packets, %d messages", nb_pkt, nb_msg);
	/* The counts of captures/enc-decoded.txt and t3-decoded.txt. */
	cr_assert_eq(nb_pkt, 156 + 108);
	cr_assert_gt(nb_msg, nb_pkt);
	swim_keyring_delete(r);
}

/* Decode a stream plaintext: optional compress, then one message. */
static void
decode_stream_plain(const uint8_t *buf, size_t len, int *nb_pp)
{
	struct swim_push_pull_header h;
	struct swim_str us;
	struct swim_msg m;

	if (buf[0] == SWIM_MSG_COMPRESS) {
		int n = swim_wire_decode_compress(buf + 1, len - 1, inner,
						  sizeof(inner));

		cr_assert_gt(n, 0, "decompress: %s", swim_wire_strerror(n));
		buf = inner;
		len = (size_t)n;
	}
	if (buf[0] == SWIM_MSG_PUSH_PULL) {
		cr_assert_eq(swim_wire_decode_push_pull(buf, len, &h, NULL,
							NULL, &us),
			     (int)len);
		cr_assert_gt(h.nb_nodes, 0);
		++*nb_pp;
		return;
	}
	cr_assert_eq(swim_wire_decode_msg(buf, len, &m), 0);
}

/* Open, decode and re-seal one stream direction held in pkt. */
static void
check_stream(const struct swim_keyring *r, int len, int *nb_pp)
{
	size_t used = 0;
	uint8_t *re = malloc((size_t)len);
	int n = swim_crypto_open_stream(r, pkt, (size_t)len, plain,
					sizeof(plain), &used);

	cr_assert_gt(n, 0, "stream: %s", swim_crypto_strerror(n));
	cr_assert_eq(used, (size_t)len, "one frame per direction");
	cr_assert_eq(n, len - SWIM_CRYPTO_STREAM_OVERHEAD);
	decode_stream_plain(plain, (size_t)n, nb_pp);
	/* Re-sealing round-trips through our own open. */
	cr_assert_eq(swim_crypto_seal_stream(r, plain, (size_t)n, re,
					     (size_t)len),
		     len);
	cr_assert_eq(swim_crypto_open_stream(r, re, (size_t)len, inner,
					     sizeof(inner), NULL),
		     n);
	cr_assert_arr_eq(inner, plain, (size_t)n);
	free(re);
}

Test(crypto_golden, every_encrypted_stream_opens_and_decodes)
{
	struct swim_keyring *r = capture_ring();
	int len, nb_stream = 0, nb_pp = 0;

	for (size_t i = 0; i < 2; i++) {
		FILE *f = open_data(enc_captures[i], "tcp");

		while ((len = next_packet(f)) > 0) {
			check_stream(r, len, &nb_pp);
			nb_stream++;
		}
		fclose(f);
	}
	cr_log_info("%d streams, %d push/pulls", nb_stream, nb_pp);
	cr_assert_eq(nb_stream, 6 + 4);
	cr_assert_eq(nb_pp, 10, "joins and periodic push/pulls");
	swim_keyring_delete(r);
}

Test(crypto_golden, capture_packets_do_not_open_under_another_key)
{
	struct swim_keyring *r = ring_with(0);
	FILE *f = open_data("enc", "udp");
	int len = next_packet(f);

	fclose(f);
	cr_assert_gt(len, 0);
	cr_assert_eq(swim_crypto_open_udp(r, pkt, (size_t)len, plain,
					  sizeof(plain)),
		     SWIM_CRYPTO_E_AUTH);
	swim_keyring_delete(r);
}
