/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the swim_crypto tests (test_crypto.c: vectors, errors,
 * keyring; test_crypto_golden.c: the real encrypted captures).
 */
#ifndef CRYPTO_UTIL_H_INCLUDED
#define CRYPTO_UTIL_H_INCLUDED

#include <criterion/criterion.h>

#include <sodium.h>
#include <stdlib.h>

#include "swim_crypto.h"
#include "swim_crypto_backend.h"
#include "wire_util.h"

/* The capture's key (captures/enc.key.txt). */
#define CRYPTO_ENC_KEY_B64 "NfCkMllT5KcahAfYZFkFkM7bZUzlpnSOoPhQcHck/xE="

/* Suite init: libsodium up (key memory, base64, nonces, and its AES-GCM
 * CPU check). SWIM_TEST_CRYPTO_BACKEND (auto, evp, libsodium) picks the
 * back end every ring and context of the run starts with, so meson runs
 * the same tests once per back end; libsodium is skipped on a CPU
 * without AES-NI/PCLMUL. */
static inline void
crypto_setup(void)
{
	const char *want = getenv("SWIM_TEST_CRYPTO_BACKEND");
	int b;

	cr_assert_geq(sodium_init(), 0);
	if (want == NULL || want[0] == '\0')
		return;
	b = swim_crypto_backend_parse(want);
	cr_assert_geq(b, 0, "SWIM_TEST_CRYPTO_BACKEND=%s: unknown", want);
	if (b == SWIM_CRYPTO_BACKEND_SODIUM && !swim_crypto_sodium_available())
		cr_skip_test("libsodium's AES-256-GCM needs AES-NI + PCLMUL");
	cr_assert_eq(swim_crypto_set_default_backend(
			     (enum swim_crypto_backend)b), 0);
}

/* A raw key whose bytes are first, first+1, ... */
static inline void
key_seq(uint8_t *key, size_t len, uint8_t first)
{
	for (size_t i = 0; i < len; i++)
		key[i] = (uint8_t)(first + i);
}

/* A keyring holding the key starting at byte first. */
static inline struct swim_keyring *
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

/* Hex test data into out; bad hex fails the test. */
static inline int
unhex(const char *hex, uint8_t *out, size_t cap)
{
	int n = wire_unhex(hex, out, cap);

	cr_assert_gt(n, 0, "bad hex in test");
	return n;
}

#endif /* CRYPTO_UTIL_H_INCLUDED */
