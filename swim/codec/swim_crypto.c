/* SPDX-License-Identifier: MIT */
/*
 * memberlist's security.go and keyring.go in C: the keyring (primary +
 * secondaries, raw AES-128/192/256 keys), its text forms (base64, serf's
 * keyring file), and the UDP/stream framing around the AES-GCM payload
 * that swim_crypto_evp.c seals and opens (memberlist-wire.md §8.5).
 *
 * Owns: key material, kept only in sodium_malloc memory (guard pages,
 * mlock'd; the ring around it is plain heap) and wiped on delete (the key schedules live in the cipher
 * contexts, which libcrypto cleanses on free). Must never: log, read
 * clocks, or accept a tag that did not verify. sodium_init() is main's
 * job.
 */
#include "swim_crypto.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "swim_crypto_int.h"

enum {
	CRYPTO_B64_MAX = 128,	/* longest base64 key text we look at */
};

/* The next keyring stamp: every ring of the process, every mutation. */
static _Atomic uint64_t crypto_stamp_next = 1;

/* A stamp no ring had before (contexts bound at the old one re-key). */
static void
crypto_restamp(struct swim_keyring *ring)
{
	ring->stamp = atomic_fetch_add_explicit(&crypto_stamp_next, 1,
						memory_order_relaxed);
}

static const char *const crypto_err_str[] = {
	[0] = "ok",
	[1] = "payload is too small to decrypt",
	[2] = "unsupported encryption version (> 1)",
	[3] = "no installed key decrypts the payload (bad tag or wrong key)",
	[4] = "bad PKCS#7 padding in a version 0 payload",
	[5] = "output buffer too small",
	[6] = "key must be 16, 24 or 32 bytes (AES-128, AES-192 or AES-256)",
	[7] = "AES-128/AES-192 refusal (no longer returned: 16- and 24-byte keys are supported)",
	[8] = "key is not valid standard base64",
	[9] = "keyring is full",
	[10] = "key is not installed (or the keyring is empty)",
	[11] = "removing the primary key is not allowed",
	[12] = "AES-GCM back end not available (libcrypto without AES-GCM, or no AES-NI/PCLMUL for libsodium, or ipsec-mb not built in)",
	[13] = "out of memory (sodium_malloc or libcrypto)",
	[14] = "stream is not an encrypted frame (0x0a)",
	[15] = "encrypted stream is longer than 20 MiB",
	[16] = "encrypted stream frame is incomplete",
	[17] = "keyring file is not a non-empty JSON array of base64 strings",
};
_Static_assert(sizeof(crypto_err_str) / sizeof(crypto_err_str[0]) ==
	       (size_t)-SWIM_CRYPTO_E_COUNT, "one string per error");

const char *
swim_crypto_strerror(int err)
{
	if (err > 0 || err <= SWIM_CRYPTO_E_COUNT)
		return "unknown crypto error";
	return crypto_err_str[-err];
}

/* The default nonce source: fresh random bytes, as memberlist does. */
static void
crypto_nonce_random(void *ctx, uint8_t nonce[SWIM_CRYPTO_NONCE_LEN])
{
	(void)ctx;
	randombytes_buf(nonce, SWIM_CRYPTO_NONCE_LEN);
}

void
swim_crypto_nonce_gen_init(struct swim_crypto_nonce_gen *g)
{
	randombytes_buf(g->next, sizeof(g->next));
}

void
swim_crypto_nonce_gen_next(void *ctx, uint8_t nonce[SWIM_CRYPTO_NONCE_LEN])
{
	struct swim_crypto_nonce_gen *g = ctx;

	memcpy(nonce, g->next, SWIM_CRYPTO_NONCE_LEN);
	/* Big-endian increment: a 2^96 period before any repeat. */
	for (int i = SWIM_CRYPTO_NONCE_LEN - 1; i >= 0; i--) {
		if (++g->next[i] != 0)
			break;
	}
}

struct swim_keyring *
swim_keyring_new(int *err)
{
	struct swim_keyring *ring;

	if (EVP_aes_256_gcm() == NULL || EVP_aes_128_gcm() == NULL ||
	    EVP_aes_192_gcm() == NULL) {
		if (err != NULL)
			*err = SWIM_CRYPTO_E_UNAVAILABLE;
		return NULL;
	}
	/* set ipsec-mb up now (once), not in a context's first bind */
	(void)swim_crypto_imb_available();
	ring = calloc(1, sizeof(*ring));
	if (ring != NULL)
		ring->sec = sodium_malloc(sizeof(*ring->sec));
	if (ring == NULL || ring->sec == NULL) {
		free(ring);
		if (err != NULL)
			*err = SWIM_CRYPTO_E_NOMEM;
		return NULL;
	}
	sodium_memzero(ring->sec, sizeof(*ring->sec));
	for (unsigned i = 0; i < SWIM_CRYPTO_POOL; i++)
		atomic_init(&ring->pool[i].is_busy, 0);
	crypto_restamp(ring);
	ring->nonce_f = crypto_nonce_random;
	ring->backend = swim_crypto_default_backend();
	if (err != NULL)
		*err = SWIM_CRYPTO_OK;
	return ring;
}

void
swim_keyring_delete(struct swim_keyring *ring)
{
	if (ring == NULL)
		return;
	swim_crypto_pool_fini(ring);
	sodium_memzero(ring->sec, sizeof(*ring->sec));
	sodium_free(ring->sec);
	free(ring);
}

/* The back-end choice new contexts and rings start with. */
static _Atomic int crypto_default_backend = SWIM_CRYPTO_BACKEND_AUTO;

bool
swim_crypto_sodium_available(void)
{
	return crypto_aead_aes256gcm_is_available() == 1;
}

bool
swim_crypto_ipsec_mb_available(void)
{
	return swim_crypto_imb_available();
}

bool
swim_crypto_backend_ok(enum swim_crypto_backend backend)
{
	if (backend == SWIM_CRYPTO_BACKEND_SODIUM)
		return swim_crypto_sodium_available();
	if (backend == SWIM_CRYPTO_BACKEND_IPSEC_MB)
		return swim_crypto_imb_available();
	return backend == SWIM_CRYPTO_BACKEND_AUTO ||
	       backend == SWIM_CRYPTO_BACKEND_EVP;
}

static const char *const crypto_backend_str[] = {
	[SWIM_CRYPTO_BACKEND_AUTO] = "auto",
	[SWIM_CRYPTO_BACKEND_EVP] = "evp",
	[SWIM_CRYPTO_BACKEND_SODIUM] = "libsodium",
	[SWIM_CRYPTO_BACKEND_IPSEC_MB] = "ipsec-mb",
};

const char *
swim_crypto_backend_name(int backend)
{
	if (backend < 0 || backend > SWIM_CRYPTO_BACKEND_IPSEC_MB)
		return "unknown";
	return crypto_backend_str[backend];
}

int
swim_crypto_backend_parse(const char *name)
{
	for (int b = 0; b <= SWIM_CRYPTO_BACKEND_IPSEC_MB; b++) {
		if (name != NULL && strcmp(name, crypto_backend_str[b]) == 0)
			return b;
	}
	return SWIM_CRYPTO_E_UNAVAILABLE;
}

int
swim_crypto_set_default_backend(enum swim_crypto_backend backend)
{
	if (!swim_crypto_backend_ok(backend))
		return SWIM_CRYPTO_E_UNAVAILABLE;
	atomic_store_explicit(&crypto_default_backend, (int)backend,
			      memory_order_relaxed);
	return 0;
}

enum swim_crypto_backend
swim_crypto_default_backend(void)
{
	return (enum swim_crypto_backend)atomic_load_explicit(
		&crypto_default_backend, memory_order_relaxed);
}

int
swim_keyring_set_backend(struct swim_keyring *ring,
			 enum swim_crypto_backend backend)
{
	if (!swim_crypto_backend_ok(backend))
		return SWIM_CRYPTO_E_UNAVAILABLE;
	ring->backend = backend;
	for (unsigned i = 0; i < SWIM_CRYPTO_POOL; i++) {
		if (ring->pool[i].ctx != NULL)
			(void)swim_crypto_ctx_set_backend(ring->pool[i].ctx,
							  backend);
	}
	return 0;
}

/* memberlist's ValidateKey: AES-128, AES-192 or AES-256. */
static int
crypto_check_len(size_t len)
{
	if (len == 16 || len == 24 || len == 32)
		return 0;
	return SWIM_CRYPTO_E_KEYLEN;
}

/* Index of an installed key, or -1. */
static int
crypto_find(const struct swim_keyring *ring, const uint8_t *key, size_t len)
{
	for (unsigned i = 0; i < ring->nb_keys; i++) {
		if (ring->sec->len[i] == len &&
		    sodium_memcmp(ring->sec->key[i], key, len) == 0)
			return (int)i;
	}
	return -1;
}

int
swim_keyring_add(struct swim_keyring *ring, const uint8_t *key, size_t len)
{
	int rc = crypto_check_len(len);
	unsigned i = ring->nb_keys;

	if (rc != 0)
		return rc;
	if (crypto_find(ring, key, len) >= 0)
		return 0;
	if (i == SWIM_CRYPTO_MAX_KEYS)
		return SWIM_CRYPTO_E_FULL;
	sodium_memzero(ring->sec->key[i], SWIM_CRYPTO_KEY_LEN);
	memcpy(ring->sec->key[i], key, len);
	ring->sec->len[i] = (uint8_t)len;
	ring->nb_keys = i + 1;
	crypto_restamp(ring);
	return 0;
}

/* Move entry from to to, shifting the ones between (order is kept). */
static void
crypto_move(struct swim_keyring *ring, unsigned from, unsigned to)
{
	uint8_t key[SWIM_CRYPTO_KEY_LEN];
	uint8_t len = ring->sec->len[from];

	memcpy(key, ring->sec->key[from], sizeof(key));
	if (from > to) {
		memmove(ring->sec->key[to + 1], ring->sec->key[to],
			(from - to) * sizeof(ring->sec->key[0]));
		memmove(&ring->sec->len[to + 1], &ring->sec->len[to],
			from - to);
	} else {
		memmove(ring->sec->key[from], ring->sec->key[from + 1],
			(to - from) * sizeof(ring->sec->key[0]));
		memmove(&ring->sec->len[from], &ring->sec->len[from + 1],
			to - from);
	}
	memcpy(ring->sec->key[to], key, sizeof(key));
	ring->sec->len[to] = len;
	sodium_memzero(key, sizeof(key));
}

int
swim_keyring_use(struct swim_keyring *ring, const uint8_t *key, size_t len)
{
	int rc = crypto_check_len(len);
	int i;

	if (rc != 0)
		return rc;
	i = crypto_find(ring, key, len);
	if (i < 0)
		return SWIM_CRYPTO_E_NOKEY;
	if (i > 0) {
		crypto_move(ring, (unsigned)i, 0);
		crypto_restamp(ring);
	}
	return 0;
}

int
swim_keyring_remove(struct swim_keyring *ring, const uint8_t *key,
		    size_t len)
{
	int rc = crypto_check_len(len);
	int i;

	if (rc != 0)
		return rc;
	i = crypto_find(ring, key, len);
	if (i < 0)
		return SWIM_CRYPTO_E_NOKEY;
	if (i == 0)
		return SWIM_CRYPTO_E_PRIMARY;
	crypto_move(ring, (unsigned)i, ring->nb_keys - 1);
	ring->nb_keys--;
	sodium_memzero(ring->sec->key[ring->nb_keys], SWIM_CRYPTO_KEY_LEN);
	ring->sec->len[ring->nb_keys] = 0;
	crypto_restamp(ring);
	return 0;
}

unsigned
swim_keyring_count(const struct swim_keyring *ring)
{
	return ring->nb_keys;
}

int
swim_keyring_get(const struct swim_keyring *ring, unsigned i,
		 uint8_t out[SWIM_CRYPTO_KEY_LEN])
{
	if (i >= ring->nb_keys)
		return SWIM_CRYPTO_E_NOKEY;
	/* the slot is zero past a short key's bytes */
	memcpy(out, ring->sec->key[i], SWIM_CRYPTO_KEY_LEN);
	return 0;
}

int
swim_keyring_key_len(const struct swim_keyring *ring, unsigned i)
{
	if (i >= ring->nb_keys)
		return SWIM_CRYPTO_E_NOKEY;
	return ring->sec->len[i];
}

void
swim_keyring_set_nonce_source(struct swim_keyring *ring,
			      swim_crypto_nonce_f fn, void *ctx)
{
	ring->nonce_f = fn != NULL ? fn : crypto_nonce_random;
	ring->nonce_ctx = fn != NULL ? ctx : NULL;
}

/* Whether c is JSON/ASCII white space. */
static bool
crypto_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int
swim_crypto_key_from_base64(const char *b64, size_t len, uint8_t *out,
			    size_t cap)
{
	size_t nb_pad = 0;
	size_t bin_len = 0;
	size_t want;

	while (len > 0 && crypto_is_space(b64[0])) {
		b64++;
		len--;
	}
	while (len > 0 && crypto_is_space(b64[len - 1]))
		len--;
	/* Go's StdEncoding: padded, so the text is whole quanta. */
	if (len == 0 || len % 4 != 0)
		return SWIM_CRYPTO_E_BASE64;
	nb_pad = (size_t)(b64[len - 1] == '=') +
		 (size_t)(b64[len - 2] == '=');
	want = len / 4 * 3 - nb_pad;
	if (want > cap)
		return SWIM_CRYPTO_E_KEYLEN;
	if (sodium_base642bin(out, cap, b64, len, NULL, &bin_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin_len != want)
		return SWIM_CRYPTO_E_BASE64;
	return (int)bin_len;
}

int
swim_keyring_add_base64(struct swim_keyring *ring, const char *b64,
			size_t len)
{
	/* Room for any length we can name in an error (16/24/32 and more). */
	uint8_t key[CRYPTO_B64_MAX];
	int n = swim_crypto_key_from_base64(b64, len, key, sizeof(key));
	int rc;

	if (n < 0)
		return n;
	rc = swim_keyring_add(ring, key, (size_t)n);
	sodium_memzero(key, sizeof(key));
	return rc;
}

/* Skip JSON white space at *pos. */
static void
crypto_json_ws(const char **pos, const char *end)
{
	while (*pos < end && crypto_is_space(**pos))
		(*pos)++;
}

/*
 * Read one JSON string into buf (cap bytes, unterminated). Only the
 * escape "\/" is meaningful in base64; any other escape is an error.
 * @retval its length, or SWIM_CRYPTO_E_JSON.
 */
static int
crypto_json_str(const char **pos, const char *end, char *buf, size_t cap)
{
	const char *p = *pos;
	size_t n = 0;

	if (p >= end || *p != '"')
		return SWIM_CRYPTO_E_JSON;
	for (p++; p < end && *p != '"'; p++) {
		char c = *p;

		if (c == '\\') {
			if (++p >= end || *p != '/')
				return SWIM_CRYPTO_E_JSON;
			c = '/';
		}
		if (n == cap)
			return SWIM_CRYPTO_E_BASE64;
		buf[n++] = c;
	}
	if (p >= end)
		return SWIM_CRYPTO_E_JSON;
	*pos = p + 1;
	return (int)n;
}

int
swim_keyring_add_json(struct swim_keyring *ring, const char *text,
		      size_t len)
{
	const char *pos = text, *end = text + len;
	char b64[CRYPTO_B64_MAX];
	int nb = 0;

	crypto_json_ws(&pos, end);
	if (pos == end || *pos++ != '[')
		return SWIM_CRYPTO_E_JSON;
	for (;;) {
		int n, rc;

		crypto_json_ws(&pos, end);
		if (nb == 0 && pos < end && *pos == ']')
			return SWIM_CRYPTO_E_JSON; /* serf: no keys present */
		n = crypto_json_str(&pos, end, b64, sizeof(b64));
		if (n < 0) {
			nb = n;
			goto out_wipe;
		}
		rc = swim_keyring_add_base64(ring, b64, (size_t)n);
		if (rc != 0) {
			nb = rc;
			goto out_wipe;
		}
		nb++;
		crypto_json_ws(&pos, end);
		if (pos < end && *pos == ',') {
			pos++;
			continue;
		}
		if (pos < end && *pos == ']')
			break;
		nb = SWIM_CRYPTO_E_JSON;
		goto out_wipe;
	}
	pos++;
	crypto_json_ws(&pos, end);
	if (pos != end)
		nb = SWIM_CRYPTO_E_JSON;
out_wipe:
	sodium_memzero(b64, sizeof(b64));
	return nb == 0 ? SWIM_CRYPTO_E_JSON : nb;
}

int
swim_crypto_seal_udp_nonce(const struct swim_keyring *ring,
			   const uint8_t nonce[SWIM_CRYPTO_NONCE_LEN],
			   const uint8_t *in, size_t len, uint8_t *out,
			   size_t cap)
{
	return swim_crypto_seal_payload(ring, 1, nonce, NULL, 0, in, len, out,
					cap);
}

int
swim_crypto_seal_udp(const struct swim_keyring *ring, const uint8_t *in,
		     size_t len, uint8_t *out, size_t cap)
{
	uint8_t nonce[SWIM_CRYPTO_NONCE_LEN];

	if (ring->nb_keys == 0)
		return SWIM_CRYPTO_E_NOKEY;
	ring->nonce_f(ring->nonce_ctx, nonce);
	return swim_crypto_seal_udp_nonce(ring, nonce, in, len, out, cap);
}

int
swim_crypto_open_udp(const struct swim_keyring *ring, const uint8_t *in,
		     size_t len, uint8_t *out, size_t cap)
{
	return swim_crypto_open_payload(ring, NULL, 0, in, len, out, cap);
}

int
swim_crypto_seal_stream(const struct swim_keyring *ring, const uint8_t *in,
			size_t len, uint8_t *out, size_t cap)
{
	uint8_t nonce[SWIM_CRYPTO_NONCE_LEN];
	size_t body;
	int n;

	if (ring->nb_keys == 0)
		return SWIM_CRYPTO_E_NOKEY;
	if (len > SWIM_CRYPTO_STREAM_MAX - SWIM_CRYPTO_OVERHEAD)
		return SWIM_CRYPTO_E_LENGTH;
	body = len + SWIM_CRYPTO_OVERHEAD;
	if (cap < SWIM_CRYPTO_STREAM_HDR + body)
		return SWIM_CRYPTO_E_NOSPACE;
	out[0] = SWIM_CRYPTO_STREAM_TYPE;
	out[1] = (uint8_t)(body >> 24);
	out[2] = (uint8_t)(body >> 16);
	out[3] = (uint8_t)(body >> 8);
	out[4] = (uint8_t)body;
	ring->nonce_f(ring->nonce_ctx, nonce);
	n = swim_crypto_seal_payload(ring, 1, nonce, out,
				     SWIM_CRYPTO_STREAM_HDR, in, len,
				     out + SWIM_CRYPTO_STREAM_HDR,
				     cap - SWIM_CRYPTO_STREAM_HDR);
	return n < 0 ? n : n + SWIM_CRYPTO_STREAM_HDR;
}

long
swim_crypto_stream_frame_len(const uint8_t *buf, size_t len)
{
	uint32_t body;

	if (len > 0 && buf[0] != SWIM_CRYPTO_STREAM_TYPE)
		return SWIM_CRYPTO_E_FRAME;
	if (len < SWIM_CRYPTO_STREAM_HDR)
		return SWIM_CRYPTO_E_AGAIN;
	body = (uint32_t)buf[1] << 24 | (uint32_t)buf[2] << 16 |
	       (uint32_t)buf[3] << 8 | buf[4];
	if (body > SWIM_CRYPTO_STREAM_MAX)
		return SWIM_CRYPTO_E_LENGTH;
	return (long)SWIM_CRYPTO_STREAM_HDR + (long)body;
}

int
swim_crypto_open_stream(const struct swim_keyring *ring, const uint8_t *buf,
			size_t len, uint8_t *out, size_t cap,
			size_t *consumed)
{
	long flen = swim_crypto_stream_frame_len(buf, len);
	int n;

	if (flen < 0)
		return (int)flen;
	if (len < (size_t)flen)
		return SWIM_CRYPTO_E_AGAIN;
	n = swim_crypto_open_payload(ring, buf, SWIM_CRYPTO_STREAM_HDR,
				     buf + SWIM_CRYPTO_STREAM_HDR,
				     (size_t)flen - SWIM_CRYPTO_STREAM_HDR,
				     out, cap);
	if (n >= 0 && consumed != NULL)
		*consumed = (size_t)flen;
	return n;
}
