/* SPDX-License-Identifier: MIT */
/*
 * memberlist's security.go and keyring.go in C over libsodium: the
 * keyring (primary + secondaries, raw AES-256 keys), seal and open of
 * UDP payloads and stream frames, byte-identical to Go's gcm.Seal given
 * the same key and nonce (memberlist-wire.md §8.5).
 *
 * Owns: key material, kept only in sodium_malloc memory (guard pages,
 * mlock'd) together with each key's precomputed AES-GCM state, and wiped
 * on delete. Must never: log, read clocks, allocate after creation, or
 * accept a tag that did not verify. sodium_init() is main's job.
 */
#include "swim_crypto.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

/* The wire sizes in the header are libsodium's sizes too. */
_Static_assert(SWIM_CRYPTO_KEY_LEN == crypto_aead_aes256gcm_KEYBYTES,
	       "AES-256 key size");
_Static_assert(SWIM_CRYPTO_NONCE_LEN == crypto_aead_aes256gcm_NPUBBYTES,
	       "GCM nonce size");
_Static_assert(SWIM_CRYPTO_TAG_LEN == crypto_aead_aes256gcm_ABYTES,
	       "GCM tag size");

/* Offsets inside an encrypted payload. */
enum {
	CRYPTO_OFF_NONCE = 1,
	CRYPTO_OFF_CT = 1 + SWIM_CRYPTO_NONCE_LEN,
	CRYPTO_BLOCK = 16,	/* PKCS#7 block size of version 0 */
	CRYPTO_VSN_MAX = 1,	/* memberlist's maxEncryptionVersion */
	CRYPTO_B64_MAX = 128,	/* longest base64 key text we look at */
};

struct swim_keyring {
	/*
	 * Per-key expanded AES state (crypto_aead_aes256gcm_beforenm), same
	 * index as key[]; 16-byte aligned as libsodium requires. Written only
	 * by the keyring mutators on the owning thread; read by seal/open.
	 */
	crypto_aead_aes256gcm_state st[SWIM_CRYPTO_MAX_KEYS];
	/* Raw keys; [0] is the primary, the only one used to encrypt. */
	uint8_t key[SWIM_CRYPTO_MAX_KEYS][SWIM_CRYPTO_KEY_LEN];
	/* Installed keys, 0..SWIM_CRYPTO_MAX_KEYS. */
	unsigned nb_keys;
	/* Nonce source for seal_udp/seal_stream; never NULL. */
	swim_crypto_nonce_f nonce_f;
	/* Its argument. */
	void *nonce_ctx;
};

static const char *const crypto_err_str[] = {
	[0] = "ok",
	[1] = "payload is too small to decrypt",
	[2] = "unsupported encryption version (> 1)",
	[3] = "no installed key decrypts the payload (bad tag or wrong key)",
	[4] = "bad PKCS#7 padding in a version 0 payload",
	[5] = "output buffer too small",
	[6] = "key must be 32 bytes (AES-256)",
	[7] = "16- and 24-byte (AES-128/AES-192) keys are not supported: libsodium implements AES-256-GCM only; use a 32-byte key (serf keygen)",
	[8] = "key is not valid standard base64",
	[9] = "keyring is full",
	[10] = "key is not installed (or the keyring is empty)",
	[11] = "removing the primary key is not allowed",
	[12] = "AES-256-GCM is not available on this CPU (libsodium needs AES-NI and PCLMUL)",
	[13] = "out of secure memory (sodium_malloc)",
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

	if (crypto_aead_aes256gcm_is_available() == 0) {
		if (err != NULL)
			*err = SWIM_CRYPTO_E_UNAVAILABLE;
		return NULL;
	}
	ring = sodium_malloc(sizeof(*ring));
	if (ring == NULL) {
		if (err != NULL)
			*err = SWIM_CRYPTO_E_NOMEM;
		return NULL;
	}
	/* sodium_malloc ends the block on a page: aligned as size is. */
	assert((uintptr_t)ring % 16 == 0);
	sodium_memzero(ring, sizeof(*ring));
	ring->nonce_f = crypto_nonce_random;
	if (err != NULL)
		*err = SWIM_CRYPTO_OK;
	return ring;
}

void
swim_keyring_delete(struct swim_keyring *ring)
{
	if (ring == NULL)
		return;
	sodium_memzero(ring, sizeof(*ring));
	sodium_free(ring);
}

/* memberlist's ValidateKey, narrowed to what libsodium can do. */
static int
crypto_check_len(size_t len)
{
	if (len == SWIM_CRYPTO_KEY_LEN)
		return 0;
	if (len == 16 || len == 24)
		return SWIM_CRYPTO_E_AES128;
	return SWIM_CRYPTO_E_KEYLEN;
}

/* Index of an installed key, or -1. */
static int
crypto_find(const struct swim_keyring *ring, const uint8_t *key)
{
	for (unsigned i = 0; i < ring->nb_keys; i++) {
		if (sodium_memcmp(ring->key[i], key, SWIM_CRYPTO_KEY_LEN) == 0)
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
	if (crypto_find(ring, key) >= 0)
		return 0;
	if (i == SWIM_CRYPTO_MAX_KEYS)
		return SWIM_CRYPTO_E_FULL;
	memcpy(ring->key[i], key, SWIM_CRYPTO_KEY_LEN);
	crypto_aead_aes256gcm_beforenm(&ring->st[i], key);
	ring->nb_keys = i + 1;
	return 0;
}

/* Move entry from to to, shifting the ones between (order is kept). */
static void
crypto_move(struct swim_keyring *ring, unsigned from, unsigned to)
{
	crypto_aead_aes256gcm_state st = ring->st[from];
	uint8_t key[SWIM_CRYPTO_KEY_LEN];

	memcpy(key, ring->key[from], sizeof(key));
	if (from > to) {
		memmove(&ring->st[to + 1], &ring->st[to],
			(from - to) * sizeof(ring->st[0]));
		memmove(ring->key[to + 1], ring->key[to],
			(from - to) * sizeof(ring->key[0]));
	} else {
		memmove(&ring->st[from], &ring->st[from + 1],
			(to - from) * sizeof(ring->st[0]));
		memmove(ring->key[from], ring->key[from + 1],
			(to - from) * sizeof(ring->key[0]));
	}
	ring->st[to] = st;
	memcpy(ring->key[to], key, sizeof(key));
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(key, sizeof(key));
}

int
swim_keyring_use(struct swim_keyring *ring, const uint8_t *key, size_t len)
{
	int rc = crypto_check_len(len);
	int i;

	if (rc != 0)
		return rc;
	i = crypto_find(ring, key);
	if (i < 0)
		return SWIM_CRYPTO_E_NOKEY;
	if (i > 0)
		crypto_move(ring, (unsigned)i, 0);
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
	i = crypto_find(ring, key);
	if (i < 0)
		return SWIM_CRYPTO_E_NOKEY;
	if (i == 0)
		return SWIM_CRYPTO_E_PRIMARY;
	crypto_move(ring, (unsigned)i, ring->nb_keys - 1);
	ring->nb_keys--;
	sodium_memzero(&ring->st[ring->nb_keys], sizeof(ring->st[0]));
	sodium_memzero(ring->key[ring->nb_keys], SWIM_CRYPTO_KEY_LEN);
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
	memcpy(out, ring->key[i], SWIM_CRYPTO_KEY_LEN);
	return 0;
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
swim_crypto_seal_payload(const struct swim_keyring *ring, unsigned vsn,
			 const uint8_t nonce[SWIM_CRYPTO_NONCE_LEN],
			 const uint8_t *aad, size_t aad_len,
			 const uint8_t *in, size_t len, uint8_t *out,
			 size_t cap)
{
	size_t pad = vsn == 0 ? CRYPTO_BLOCK - len % CRYPTO_BLOCK : 0;
	unsigned long long clen = 0;
	const uint8_t *m = in;

	if (ring->nb_keys == 0)
		return SWIM_CRYPTO_E_NOKEY;
	if (vsn > CRYPTO_VSN_MAX)
		return SWIM_CRYPTO_E_VERSION;
	if (len > SWIM_CRYPTO_STREAM_MAX ||
	    cap < SWIM_CRYPTO_OVERHEAD + len + pad)
		return SWIM_CRYPTO_E_NOSPACE;
	out[0] = (uint8_t)vsn;
	memcpy(out + CRYPTO_OFF_NONCE, nonce, SWIM_CRYPTO_NONCE_LEN);
	if (pad != 0) {
		/* Version 0: PKCS#7 in place, then encrypt in place. */
		memmove(out + CRYPTO_OFF_CT, in, len);
		memset(out + CRYPTO_OFF_CT + len, (int)pad, pad);
		m = out + CRYPTO_OFF_CT;
	}
	crypto_aead_aes256gcm_encrypt_afternm(out + CRYPTO_OFF_CT, &clen, m,
					      len + pad, aad, aad_len, NULL,
					      nonce, &ring->st[0]);
	return (int)(CRYPTO_OFF_CT + clen);
}

/* Strip and check version 0's PKCS#7 padding. @retval length or < 0. */
static int
crypto_unpad(const uint8_t *buf, size_t len)
{
	uint8_t pad = len > 0 ? buf[len - 1] : 0;

	if (pad == 0 || pad > CRYPTO_BLOCK || pad > len)
		return SWIM_CRYPTO_E_PADDING;
	for (size_t i = len - pad; i < len; i++) {
		if (buf[i] != pad)
			return SWIM_CRYPTO_E_PADDING;
	}
	return (int)(len - pad);
}

int
swim_crypto_open_payload(const struct swim_keyring *ring,
			 const uint8_t *aad, size_t aad_len,
			 const uint8_t *in, size_t len, uint8_t *out,
			 size_t cap)
{
	unsigned long long mlen = 0;

	/* memberlist's decryptPayload checks in this order. */
	if (len == 0)
		return SWIM_CRYPTO_E_SHORT;
	if (in[0] > CRYPTO_VSN_MAX)
		return SWIM_CRYPTO_E_VERSION;
	if (len < (in[0] == 0 ? SWIM_CRYPTO_MIN_V0 : SWIM_CRYPTO_OVERHEAD))
		return SWIM_CRYPTO_E_SHORT;
	if (len > (size_t)INT32_MAX)
		return SWIM_CRYPTO_E_NOSPACE;
	if (cap < len - SWIM_CRYPTO_OVERHEAD)
		return SWIM_CRYPTO_E_NOSPACE;
	if (ring->nb_keys == 0)
		return SWIM_CRYPTO_E_NOKEY;
	for (unsigned i = 0; i < ring->nb_keys; i++) {
		if (crypto_aead_aes256gcm_decrypt_afternm(
			    out, &mlen, NULL, in + CRYPTO_OFF_CT,
			    len - CRYPTO_OFF_CT, aad, aad_len,
			    in + CRYPTO_OFF_NONCE, &ring->st[i]) != 0)
			continue;
		if (in[0] == 0)
			return crypto_unpad(out, (size_t)mlen);
		return (int)mlen;
	}
	return SWIM_CRYPTO_E_AUTH;
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
