/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for swim_crypto: arbitrary bytes as a UDP payload and
 * as a stream frame (opened with the capture's key, the Appendix A key
 * and an AES-128 and an AES-192 key, through the ring and through a
 * per-thread context, then decoded as the dataplane and cp_sync would),
 * a seal -> open round trip of the bytes under both versions and under
 * each key size, and the bytes as a base64 key and as a serf keyring
 * file. Crashes, sanitizer reports and
 * __builtin_trap() on a broken invariant are the findings.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true -Ddataplane=disabled
 *   ninja -C build-fuzz tests/fuzz/fuzz_crypto
 *   ./build-fuzz/tests/fuzz/fuzz_crypto -max_total_time=60 CORPUS_DIR
 */
#include "swim_crypto.h"
#include "swim_wire.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

/* Payloads larger than this are only opened, not sealed. */
#define FUZZ_SEAL_MAX (SWIM_UDP_MAX - 64)

static struct swim_keyring *ring;	/* capture key, then key 00..1f,
					 * 00..0f, 00..17 */
static struct swim_keyring *small;	/* key 00..0f alone (AES-128) */
static struct swim_crypto_ctx *ctx;	/* bound to ring */
static struct swim_wire_scratch scratch;
static uint8_t plain[SWIM_UDP_MAX];
static uint8_t sealed[SWIM_UDP_MAX];
static uint8_t back[SWIM_UDP_MAX];

/* At exit: what the leak checker would otherwise report. */
static void
fuzz_fini(void)
{
	swim_crypto_ctx_delete(ctx);
	swim_keyring_delete(small);
	swim_keyring_delete(ring);
}

static void
fuzz_init(void)
{
	static const char key_b64[] =
		"NfCkMllT5KcahAfYZFkFkM7bZUzlpnSOoPhQcHck/xE=";
	uint8_t key[SWIM_CRYPTO_KEY_LEN];

	FUZZ_CHECK(sodium_init() >= 0);
	ring = swim_keyring_new(NULL);
	if (ring == NULL)
		exit(77);	/* no AES-GCM here: nothing to fuzz */
	FUZZ_CHECK(swim_keyring_add_base64(ring, key_b64,
					   sizeof(key_b64) - 1) == 0);
	for (int i = 0; i < SWIM_CRYPTO_KEY_LEN; i++)
		key[i] = (uint8_t)i;
	FUZZ_CHECK(swim_keyring_add(ring, key, sizeof(key)) == 0);
	FUZZ_CHECK(swim_keyring_add(ring, key, 16) == 0);
	FUZZ_CHECK(swim_keyring_add(ring, key, 24) == 0);
	small = swim_keyring_new(NULL);
	FUZZ_CHECK(small != NULL && swim_keyring_add(small, key, 16) == 0);
	ctx = swim_crypto_ctx_new(NULL);
	FUZZ_CHECK(ctx != NULL && swim_crypto_ctx_bind(ctx, ring) == 0);
	atexit(fuzz_fini);
}

/* Open as UDP and as a stream; whatever opens must decode safely. */
static void
fuzz_open(const uint8_t *data, size_t size)
{
	size_t used = 0;
	int n = swim_crypto_open_udp(ring, data, size, plain, sizeof(plain));

	FUZZ_CHECK(n < 0 || (size_t)n + SWIM_CRYPTO_OVERHEAD <= size);
	/* a thread's own context gives the ring's answer */
	FUZZ_CHECK(swim_crypto_ctx_open_udp(ctx, data, size, back,
					    sizeof(back)) == n);
	if (n > 0)
		(void)swim_wire_decode_packet(plain, (size_t)n, &scratch, NULL,
					      NULL);
	n = swim_crypto_open_stream(ring, data, size, plain, sizeof(plain),
				    &used);
	FUZZ_CHECK(n < 0 || (used <= size && (size_t)n < used));
	if (n > 0 && plain[0] == SWIM_MSG_COMPRESS)
		(void)swim_wire_decode_compress(plain + 1, (size_t)n - 1, back,
						sizeof(back));
}

/* Seal under versions 1 and 0, and as a stream; each must open back. */
static void
fuzz_round_trip(const uint8_t *data, size_t size)
{
	uint8_t nonce[SWIM_CRYPTO_NONCE_LEN] = {0};
	int n, m;

	if (size > FUZZ_SEAL_MAX)
		return;
	for (unsigned vsn = 0; vsn <= 1; vsn++) {
		n = swim_crypto_seal_payload(ring, vsn, nonce, NULL, 0, data,
					     size, sealed, sizeof(sealed));
		FUZZ_CHECK(n > 0);
		m = swim_crypto_open_udp(ring, sealed, (size_t)n, back,
					 sizeof(back));
		FUZZ_CHECK(m == (int)size && memcmp(back, data, size) == 0);
	}
	/* AES-128 through a context; the mixed ring opens it */
	n = swim_crypto_seal_udp_nonce(small, nonce, data, size, sealed,
				       sizeof(sealed));
	FUZZ_CHECK(n == (int)size + SWIM_CRYPTO_OVERHEAD);
	m = swim_crypto_ctx_open_udp(ctx, sealed, (size_t)n, back,
				     sizeof(back));
	FUZZ_CHECK(m == (int)size && memcmp(back, data, size) == 0);
	n = swim_crypto_seal_stream(ring, data, size, sealed, sizeof(sealed));
	FUZZ_CHECK(n == (int)size + SWIM_CRYPTO_STREAM_OVERHEAD);
	m = swim_crypto_open_stream(ring, sealed, (size_t)n, back,
				    sizeof(back), NULL);
	FUZZ_CHECK(m == (int)size && memcmp(back, data, size) == 0);
}

/* The bytes as key text: base64 and a keyring file. */
static void
fuzz_keys(const uint8_t *data, size_t size)
{
	uint8_t key[64];
	struct swim_keyring *r;
	int n = swim_crypto_key_from_base64((const char *)data, size, key,
					    sizeof(key));

	FUZZ_CHECK(n < 0 || (size_t)n <= sizeof(key));
	if (size == 0 || data[0] != '[')
		return;
	r = swim_keyring_new(NULL);
	FUZZ_CHECK(r != NULL);
	n = swim_keyring_add_json(r, (const char *)data, size);
	FUZZ_CHECK(n < 0 || (unsigned)n >= swim_keyring_count(r));
	swim_keyring_delete(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (ring == NULL)
		fuzz_init();
	fuzz_open(data, size);
	fuzz_round_trip(data, size);
	fuzz_keys(data, size);
	return 0;
}
