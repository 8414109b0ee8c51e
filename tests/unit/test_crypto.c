/* SPDX-License-Identifier: MIT */
/*
 * swim_crypto: memberlist's AES-GCM encryption (libcrypto's EVP), with
 * the AES-256 vectors; the 16- and 24-byte keys are test_crypto_keys.c's.
 *
 * The Appendix A vectors (UDP version 1 and 0, stream frame) are
 * reproduced byte-exact through an injected nonce source; every error
 * path returns its own code; the keyring rotates keys as memberlist's
 * does. The real encrypted captures are test_crypto_golden.c's.
 */
#include <criterion/criterion.h>

#include <sodium.h>

#include "crypto_util.h"
#include "swim_crypto.h"
#include "swim_wire.h"

TestSuite(crypto, .init = crypto_setup, .timeout = 30);

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

/* The capture's key, for the base64 parser. */
static const char enc_key_b64[] = CRYPTO_ENC_KEY_B64;

/* Test nonce source: 00 01 .. 0b, as Appendix A. */
static void
nonce_fixed(void *ctx, uint8_t nonce[SWIM_CRYPTO_NONCE_LEN])
{
	(void)ctx;
	for (int i = 0; i < SWIM_CRYPTO_NONCE_LEN; i++)
		nonce[i] = (uint8_t)i;
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
	cr_assert_eq(swim_keyring_remove(r, k1, 16), SWIM_CRYPTO_E_NOKEY,
		     "16 bytes is a size, but not an installed key");
	cr_assert_eq(swim_keyring_remove(r, k1, 20), SWIM_CRYPTO_E_KEYLEN);
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

Test(crypto, keys_of_other_sizes_than_16_24_32_are_refused)
{
	struct swim_keyring *r = swim_keyring_new(NULL);
	uint8_t key[33] = {0};
	const char *msg = swim_crypto_strerror(SWIM_CRYPTO_E_KEYLEN);

	cr_assert_eq(swim_keyring_add(r, key, 0), SWIM_CRYPTO_E_KEYLEN);
	cr_assert_eq(swim_keyring_add(r, key, 15), SWIM_CRYPTO_E_KEYLEN);
	cr_assert_eq(swim_keyring_add(r, key, 31), SWIM_CRYPTO_E_KEYLEN);
	cr_assert_eq(swim_keyring_add(r, key, 33), SWIM_CRYPTO_E_KEYLEN);
	cr_assert_not_null(strstr(msg, "16, 24 or 32"));
	/* The same through base64, as `serf agent -encrypt` would pass. */
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
		{"[\"AAECAwQFBgcICQoLDA0ODxAREhM=\"]", SWIM_CRYPTO_E_KEYLEN},
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
