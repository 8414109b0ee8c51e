/* SPDX-License-Identifier: MIT */
/*
 * swim_crypto's AES-GCM back ends (intel-ipsec-mb, libsodium, EVP)
 * against EVP: what one seals the other opens, byte for byte the same given the same nonce, for every
 * key size, both versions, with and without AAD (memberlist >= 0.3's
 * label, the stream header); and every way to fail gives the same error
 * code from all. libsodium's AES-256-GCM needs AES-NI + PCLMUL and
 * ipsec-mb must be built in: a back end that cannot run here is skipped.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "crypto_util.h"
#include "swim_crypto.h"
#include "swim_crypto_backend.h"

TestSuite(crypto_backend, .init = crypto_setup, .timeout = 60);

enum { BUF = 512, MAX_MSG = 300 };

static const size_t key_lens[] = { 16, 24, 32 };

/* AAD cases: none, a short label, the longest label, a stream header. */
static const struct {
	const char *what;
	size_t len;
} aads[] = {
	{ "none", 0 }, { "label dc1", 3 }, { "label of 255", 255 },
	{ "stream header", SWIM_CRYPTO_STREAM_HDR },
};

/* A ring with one key of len bytes starting at first. */
static struct swim_keyring *
ring_of(size_t len, uint8_t first)
{
	uint8_t key[SWIM_CRYPTO_KEY_LEN];
	struct swim_keyring *r = swim_keyring_new(NULL);

	cr_assert_not_null(r);
	key_seq(key, len, first);
	cr_assert_eq(swim_keyring_add(r, key, len), 0);
	return r;
}

/* A context wanting backend, bound to r. */
static struct swim_crypto_ctx *
ctx_of(enum swim_crypto_backend backend, const struct swim_keyring *r)
{
	struct swim_crypto_ctx *c = swim_crypto_ctx_new(NULL);

	cr_assert_not_null(c);
	cr_assert_eq(swim_crypto_ctx_set_backend(c, backend), 0);
	cr_assert_eq(swim_crypto_ctx_bind(c, r), 0);
	return c;
}

static void
need_sodium(void)
{
	if (!swim_crypto_sodium_available())
		cr_skip_test("libsodium's AES-256-GCM needs AES-NI + PCLMUL");
}

/* The back ends compared with EVP, where they run. */
static const enum swim_crypto_backend fast[] = {
	SWIM_CRYPTO_BACKEND_SODIUM, SWIM_CRYPTO_BACKEND_IPSEC_MB,
};

static bool
runs_here(int b)
{
	if (b == SWIM_CRYPTO_BACKEND_SODIUM)
		return swim_crypto_sodium_available();
	if (b == SWIM_CRYPTO_BACKEND_IPSEC_MB)
		return swim_crypto_ipsec_mb_available();
	return true;
}

/* What a context wanting b uses for a key of len bytes. */
static int
used_for(enum swim_crypto_backend b, size_t len)
{
	if (b == SWIM_CRYPTO_BACKEND_SODIUM && len != 32)
		return SWIM_CRYPTO_BACKEND_EVP;
	return (int)b;
}

static void
fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

Test(crypto_backend, thirty_two_byte_keys_go_to_libsodium_the_rest_to_evp)
{
	struct swim_keyring *r = ring_of(32, 0);
	uint8_t key[SWIM_CRYPTO_KEY_LEN];
	struct swim_crypto_ctx *a, *e;

	need_sodium();
	cr_assert_eq(swim_keyring_set_backend(r, SWIM_CRYPTO_BACKEND_SODIUM),
		     0);
	key_seq(key, 16, 1);
	cr_assert_eq(swim_keyring_add(r, key, 16), 0);
	key_seq(key, 24, 2);
	cr_assert_eq(swim_keyring_add(r, key, 24), 0);
	key_seq(key, 32, 3);
	cr_assert_eq(swim_keyring_add(r, key, 32), 0);
	a = ctx_of(SWIM_CRYPTO_BACKEND_SODIUM, r);
	e = ctx_of(SWIM_CRYPTO_BACKEND_EVP, r);
	cr_assert_eq(swim_crypto_ctx_key_backend(a, 0),
		     SWIM_CRYPTO_BACKEND_SODIUM);
	cr_assert_eq(swim_crypto_ctx_key_backend(a, 1), SWIM_CRYPTO_BACKEND_EVP);
	cr_assert_eq(swim_crypto_ctx_key_backend(a, 2), SWIM_CRYPTO_BACKEND_EVP);
	cr_assert_eq(swim_crypto_ctx_key_backend(a, 3),
		     SWIM_CRYPTO_BACKEND_SODIUM);
	cr_assert_eq(swim_crypto_ctx_key_backend(a, 4), SWIM_CRYPTO_E_NOKEY);
	for (unsigned i = 0; i < 4; i++)
		cr_assert_eq(swim_crypto_ctx_key_backend(e, i),
			     SWIM_CRYPTO_BACKEND_EVP);
	/* another choice re-keys at the next bind, same ring */
	cr_assert_eq(swim_crypto_ctx_set_backend(e, SWIM_CRYPTO_BACKEND_SODIUM),
		     0);
	cr_assert_eq(swim_crypto_ctx_bind(e, r), 0);
	cr_assert_eq(swim_crypto_ctx_key_backend(e, 0),
		     SWIM_CRYPTO_BACKEND_SODIUM);
	/* AUTO: ipsec-mb for every size where it runs, else EVP */
	cr_assert_eq(swim_crypto_ctx_set_backend(e, SWIM_CRYPTO_BACKEND_AUTO),
		     0);
	cr_assert_eq(swim_crypto_ctx_bind(e, r), 0);
	for (unsigned i = 0; i < 4; i++)
		cr_assert_eq(swim_crypto_ctx_key_backend(e, i),
			     swim_crypto_ipsec_mb_available() ?
				     SWIM_CRYPTO_BACKEND_IPSEC_MB :
				     SWIM_CRYPTO_BACKEND_EVP,
			     "key %u", i);
	swim_crypto_ctx_delete(a);
	swim_crypto_ctx_delete(e);
	swim_keyring_delete(r);
}

Test(crypto_backend, bad_choices_have_their_error_code)
{
	struct swim_crypto_ctx *c = swim_crypto_ctx_new(NULL);
	struct swim_keyring *r = ring_of(32, 0);
	enum swim_crypto_backend was = swim_crypto_default_backend();

	cr_assert_eq(swim_crypto_ctx_set_backend(c, 7),
		     SWIM_CRYPTO_E_UNAVAILABLE);
	cr_assert_eq(swim_keyring_set_backend(r, -1),
		     SWIM_CRYPTO_E_UNAVAILABLE);
	cr_assert_eq(swim_crypto_set_default_backend(9),
		     SWIM_CRYPTO_E_UNAVAILABLE);
	cr_assert_eq(swim_crypto_default_backend(), was);
	cr_assert_eq(swim_crypto_backend_parse("aes-ni"),
		     SWIM_CRYPTO_E_UNAVAILABLE);
	cr_assert_eq(swim_crypto_backend_parse(NULL),
		     SWIM_CRYPTO_E_UNAVAILABLE);
	cr_assert_eq(swim_crypto_backend_parse("evp"), SWIM_CRYPTO_BACKEND_EVP);
	cr_assert_eq(swim_crypto_backend_parse("libsodium"),
		     SWIM_CRYPTO_BACKEND_SODIUM);
	cr_assert_eq(swim_crypto_backend_parse("ipsec-mb"),
		     SWIM_CRYPTO_BACKEND_IPSEC_MB);
	cr_assert_str_eq(swim_crypto_backend_name(SWIM_CRYPTO_BACKEND_AUTO),
			 "auto");
	cr_assert_str_eq(swim_crypto_backend_name(9), "unknown");
	/* an unbound context holds no key */
	cr_assert_eq(swim_crypto_ctx_key_backend(c, 0), SWIM_CRYPTO_E_NOKEY);
	if (!swim_crypto_sodium_available())
		cr_assert_eq(swim_crypto_ctx_set_backend(
				     c, SWIM_CRYPTO_BACKEND_SODIUM),
			     SWIM_CRYPTO_E_UNAVAILABLE);
	if (!swim_crypto_ipsec_mb_available())
		cr_assert_eq(swim_crypto_ctx_set_backend(
				     c, SWIM_CRYPTO_BACKEND_IPSEC_MB),
			     SWIM_CRYPTO_E_UNAVAILABLE);
	swim_crypto_ctx_delete(c);
	swim_keyring_delete(r);
}

/* Seal msg with both contexts under one nonce: same bytes; each opens
 * the other's. */
static void
cross_one(struct swim_crypto_ctx *na, struct swim_crypto_ctx *evp,
	  unsigned vsn, const uint8_t *aad, size_t aad_len,
	  const uint8_t *msg, size_t len)
{
	uint8_t nonce[SWIM_CRYPTO_NONCE_LEN];
	uint8_t p1[BUF], p2[BUF], back[BUF];
	int n1, n2;

	fill(nonce, sizeof(nonce), (uint8_t)len);
	n1 = swim_crypto_ctx_seal_payload(na, vsn, nonce, aad, aad_len, msg,
					  len, p1, sizeof(p1));
	n2 = swim_crypto_ctx_seal_payload(evp, vsn, nonce, aad, aad_len, msg,
					  len, p2, sizeof(p2));
	cr_assert_gt(n1, 0, "vsn %u len %zu aad %zu", vsn, len, aad_len);
	cr_assert_eq(n1, n2);
	cr_assert_arr_eq(p1, p2, (size_t)n1, "vsn %u len %zu aad %zu: "
			 "the back ends differ", vsn, len, aad_len);
	cr_assert_eq(swim_crypto_ctx_open_payload(evp, aad, aad_len, p1,
						  (size_t)n1, back,
						  sizeof(back)),
		     (int)len);
	cr_assert_arr_eq(back, msg, len);
	memset(back, 0, sizeof(back));
	cr_assert_eq(swim_crypto_ctx_open_payload(na, aad, aad_len, p2,
						  (size_t)n2, back,
						  sizeof(back)),
		     (int)len);
	cr_assert_arr_eq(back, msg, len);
}

/* Every key size, AAD, both versions, lengths 0..300: fb against EVP. */
static void
cross_all(enum swim_crypto_backend fb)
{
	uint8_t msg[MAX_MSG], aad[255];

	fill(msg, sizeof(msg), 3);
	fill(aad, sizeof(aad), 0x61);
	for (size_t k = 0; k < sizeof(key_lens) / sizeof(key_lens[0]); k++) {
		struct swim_keyring *r = ring_of(key_lens[k], 0x10);
		struct swim_crypto_ctx *f = ctx_of(fb, r);
		struct swim_crypto_ctx *evp =
			ctx_of(SWIM_CRYPTO_BACKEND_EVP, r);

		cr_assert_eq(swim_crypto_ctx_key_backend(f, 0),
			     used_for(fb, key_lens[k]));
		for (size_t a = 0; a < sizeof(aads) / sizeof(aads[0]); a++) {
			/* every length to 300: partial blocks, 128-byte runs */
			for (size_t len = 0; len <= MAX_MSG; len++) {
				cross_one(f, evp, 1, aad, aads[a].len, msg,
					  len);
				if (len % 7 == 0)
					cross_one(f, evp, 0, aad,
						  aads[a].len, msg, len);
			}
		}
		swim_crypto_ctx_delete(f);
		swim_crypto_ctx_delete(evp);
		swim_keyring_delete(r);
	}
}

Test(crypto_backend, libsodium_opens_what_evp_sealed_and_back)
{
	need_sodium();
	cross_all(SWIM_CRYPTO_BACKEND_SODIUM);
}

Test(crypto_backend, ipsec_mb_opens_what_evp_sealed_and_back)
{
	if (!swim_crypto_ipsec_mb_available())
		cr_skip_test("intel-ipsec-mb not built in or no AES-NI");
	cross_all(SWIM_CRYPTO_BACKEND_IPSEC_MB);
}

Test(crypto_backend, the_ring_calls_agree_across_back_ends_with_streams)
{
	uint8_t msg[200], frame[BUF], back[BUF];
	size_t used = 0;
	int n;

	fill(msg, sizeof(msg), 9);
	for (size_t f = 0; f < sizeof(fast) / sizeof(fast[0]); f++) {
		struct swim_keyring *fr = ring_of(32, 0x20);
		struct swim_keyring *evp = ring_of(32, 0x20);

		if (!runs_here(fast[f]))
			goto next;
		cr_assert_eq(swim_keyring_set_backend(fr, fast[f]), 0);
		cr_assert_eq(swim_keyring_set_backend(evp,
						      SWIM_CRYPTO_BACKEND_EVP),
			     0);
		for (int dir = 0; dir < 2; dir++) {
			struct swim_keyring *s = dir ? evp : fr;
			struct swim_keyring *o = dir ? fr : evp;

			n = swim_crypto_seal_stream(s, msg, sizeof(msg), frame,
						    sizeof(frame));
			cr_assert_eq(n, (int)sizeof(msg) +
						SWIM_CRYPTO_STREAM_OVERHEAD);
			cr_assert_eq(swim_crypto_open_stream(o, frame,
							     (size_t)n, back,
							     sizeof(back),
							     &used),
				     (int)sizeof(msg));
			cr_assert_eq(used, (size_t)n);
			cr_assert_arr_eq(back, msg, sizeof(msg));
			n = swim_crypto_seal_udp(s, msg, sizeof(msg), frame,
						 sizeof(frame));
			cr_assert_eq(swim_crypto_open_udp(o, frame, (size_t)n,
							  back, sizeof(back)),
				     (int)sizeof(msg));
			cr_assert_arr_eq(back, msg, sizeof(msg));
		}
next:
		swim_keyring_delete(fr);
		swim_keyring_delete(evp);
	}
}

/* One sealed packet opened, damaged in every way, by c: exact codes. */
static void
damage_all(struct swim_crypto_ctx *c, struct swim_crypto_ctx *wrong,
	   const uint8_t *pkt, size_t n, const uint8_t *aad, size_t aad_len)
{
	uint8_t bad[BUF], back[BUF];
	const size_t where[] = { 1, 12, 13, n - 17, n - 16, n - 1 };

	for (size_t w = 0; w < sizeof(where) / sizeof(where[0]); w++) {
		memcpy(bad, pkt, n);
		bad[where[w]] ^= 0x01;	/* nonce, ciphertext or tag */
		memset(back, 0x55, sizeof(back));
		cr_assert_eq(swim_crypto_ctx_open_payload(c, aad, aad_len, bad,
							  n, back,
							  sizeof(back)),
			     SWIM_CRYPTO_E_AUTH, "byte %zu", where[w]);
		/* nothing of a failed open is handed on */
		for (size_t i = 0; i < n - SWIM_CRYPTO_OVERHEAD; i++)
			cr_assert_eq(back[i], 0, "byte %zu left", i);
	}
	cr_assert_eq(swim_crypto_ctx_open_payload(wrong, aad, aad_len, pkt, n,
						  back, sizeof(back)),
		     SWIM_CRYPTO_E_AUTH, "wrong key");
	/* the label (AAD) is checked: another one, or none */
	cr_assert_eq(swim_crypto_ctx_open_payload(c, (const uint8_t *)"dc2",
						  3, pkt, n, back,
						  sizeof(back)),
		     SWIM_CRYPTO_E_AUTH);
	if (aad_len != 0)
		cr_assert_eq(swim_crypto_ctx_open_payload(c, NULL, 0, pkt, n,
							  back, sizeof(back)),
			     SWIM_CRYPTO_E_AUTH);
	/* truncated: a byte off the tag, then below the overhead */
	cr_assert_eq(swim_crypto_ctx_open_payload(c, aad, aad_len, pkt, n - 1,
						  back, sizeof(back)),
		     SWIM_CRYPTO_E_AUTH);
	cr_assert_eq(swim_crypto_ctx_open_payload(c, aad, aad_len, pkt,
						  SWIM_CRYPTO_OVERHEAD - 1,
						  back, sizeof(back)),
		     SWIM_CRYPTO_E_SHORT);
	cr_assert_eq(swim_crypto_ctx_open_payload(c, aad, aad_len, pkt, 0,
						  back, sizeof(back)),
		     SWIM_CRYPTO_E_SHORT);
	cr_assert_eq(swim_crypto_ctx_open_payload(c, aad, aad_len, pkt, n,
						  back,
						  n - SWIM_CRYPTO_OVERHEAD - 1),
		     SWIM_CRYPTO_E_NOSPACE);
	memcpy(bad, pkt, n);
	bad[0] = 2;
	cr_assert_eq(swim_crypto_ctx_open_payload(c, aad, aad_len, bad, n,
						  back, sizeof(back)),
		     SWIM_CRYPTO_E_VERSION);
	/* the version byte is not authenticated (memberlist's format): a
	 * v1 packet read as v0 opens, and its last byte is no padding */
	bad[0] = 0;
	cr_assert_eq(swim_crypto_ctx_open_payload(c, aad, aad_len, bad, n,
						  back, sizeof(back)),
		     SWIM_CRYPTO_E_PADDING);
}

Test(crypto_backend, damage_gives_the_same_error_code_from_both)
{
	uint8_t msg[90], aad[255], pkt[BUF];
	uint8_t nonce[SWIM_CRYPTO_NONCE_LEN] = { 0 };

	fill(msg, sizeof(msg), 1);
	fill(aad, sizeof(aad), 0x41);
	for (size_t k = 0; k < sizeof(key_lens) / sizeof(key_lens[0]); k++) {
		struct swim_keyring *r = ring_of(key_lens[k], 0x30);
		struct swim_keyring *o = ring_of(key_lens[k], 0x31);

		for (int b = SWIM_CRYPTO_BACKEND_EVP;
		     b <= SWIM_CRYPTO_BACKEND_IPSEC_MB; b++) {
			struct swim_crypto_ctx *c, *w;

			if (!runs_here(b))
				continue;
			c = ctx_of(b, r);
			w = ctx_of(b, o);

			for (size_t a = 0; a < sizeof(aads) / sizeof(aads[0]);
			     a++) {
				int n = swim_crypto_ctx_seal_payload(
					c, 1, nonce, aad, aads[a].len, msg,
					sizeof(msg), pkt, sizeof(pkt));

				cr_assert_eq(n, (int)sizeof(msg) +
							SWIM_CRYPTO_OVERHEAD);
				damage_all(c, w, pkt, (size_t)n, aad,
					   aads[a].len);
			}
			swim_crypto_ctx_delete(c);
			swim_crypto_ctx_delete(w);
		}
		swim_keyring_delete(r);
		swim_keyring_delete(o);
	}
}

Test(crypto_backend, a_rotation_re_keys_the_libsodium_states)
{
	struct swim_keyring *r = ring_of(32, 0x50);
	struct swim_keyring *old = ring_of(32, 0x50);
	struct swim_crypto_ctx *c;
	uint8_t key[SWIM_CRYPTO_KEY_LEN], msg[64], pkt[BUF], back[BUF];
	uint8_t nonce[SWIM_CRYPTO_NONCE_LEN] = { 1 };
	int n;

	need_sodium();
	c = ctx_of(SWIM_CRYPTO_BACKEND_SODIUM, r);
	fill(msg, sizeof(msg), 5);
	/* a new 32-byte primary, the old key kept as a secondary */
	key_seq(key, 32, 0x70);
	cr_assert_eq(swim_keyring_add(r, key, 32), 0);
	cr_assert_eq(swim_keyring_use(r, key, 32), 0);
	cr_assert_eq(swim_crypto_ctx_bind(c, r), 0);
	cr_assert_eq(swim_crypto_ctx_count(c), 2);
	n = swim_crypto_ctx_seal_udp(c, nonce, msg, sizeof(msg), pkt,
				     sizeof(pkt));
	cr_assert_eq(swim_crypto_open_udp(old, pkt, (size_t)n, back,
					  sizeof(back)),
		     SWIM_CRYPTO_E_AUTH, "sealed under the new primary");
	n = swim_crypto_seal_udp(old, msg, sizeof(msg), pkt, sizeof(pkt));
	cr_assert_eq(swim_crypto_ctx_open_udp(c, pkt, (size_t)n, back,
					      sizeof(back)),
		     (int)sizeof(msg), "the secondary still opens");
	/* a 16-byte primary: slot 0 goes from libsodium to EVP, the
	 * 32-byte secondaries stay with libsodium */
	key_seq(key, 16, 0x90);
	cr_assert_eq(swim_keyring_add(r, key, 16), 0);
	cr_assert_eq(swim_keyring_use(r, key, 16), 0);
	cr_assert_eq(swim_crypto_ctx_bind(c, r), 0);
	cr_assert_eq(swim_crypto_ctx_key_backend(c, 0), SWIM_CRYPTO_BACKEND_EVP);
	cr_assert_eq(swim_crypto_ctx_key_backend(c, 1),
		     SWIM_CRYPTO_BACKEND_SODIUM);
	n = swim_crypto_ctx_seal_udp(c, nonce, msg, sizeof(msg), pkt,
				     sizeof(pkt));
	cr_assert_eq(swim_crypto_open_udp(r, pkt, (size_t)n, back,
					  sizeof(back)),
		     (int)sizeof(msg));
	swim_crypto_ctx_delete(c);
	swim_keyring_delete(r);
	swim_keyring_delete(old);
}
