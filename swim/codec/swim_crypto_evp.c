/* SPDX-License-Identifier: MIT */
/*
 * AES-GCM seal/open for every key size (16, 24, 32 bytes), byte-identical
 * to Go's gcm.Seal given the same key and nonce (memberlist-wire.md §8.5),
 * through three back ends (swim_crypto_backend.h): intel-ipsec-mb for
 * every key size where it is built in (swim_crypto_imb.c), libsodium's
 * precomputed AES-256-GCM state for 32-byte keys on a CPU with AES-NI +
 * PCLMUL, and OpenSSL's EVP for everything else. The choice is made per key when a
 * context is keyed; per packet it is one flag test.
 *
 * Owns: struct swim_crypto_ctx (a thread's key states: ipsec-mb's or
 * libsodium's, inline and aligned, or keyed EVP_CIPHER_CTXs) and the pool of
 * them a keyring lends to the ring-based calls. Must never: log, read
 * clocks, allocate per packet (only when a context is created or
 * re-keyed for EVP), or return plaintext whose tag did not verify.
 */
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>

#include "swim_crypto.h"
#include "swim_crypto_backend.h"
#include "swim_crypto_int.h"

/* Offsets inside an encrypted payload. */
enum {
	EVP_OFF_NONCE = 1,
	EVP_OFF_CT = 1 + SWIM_CRYPTO_NONCE_LEN,
	EVP_BLOCK = 16,		/* PKCS#7 block size of version 0 */
	EVP_VSN_MAX = 1,	/* memberlist's maxEncryptionVersion */
	NA_KEY_LEN = crypto_aead_aes256gcm_KEYBYTES,
};

_Static_assert(crypto_aead_aes256gcm_NPUBBYTES == SWIM_CRYPTO_NONCE_LEN,
	       "libsodium's AES-GCM nonce is memberlist's");
_Static_assert(crypto_aead_aes256gcm_ABYTES == SWIM_CRYPTO_TAG_LEN,
	       "libsodium's AES-GCM tag is memberlist's");

/* One key's expanded state for the back end that took it. */
union crypto_key_state {
	crypto_aead_aes256gcm_state na;	/* libsodium (16-byte aligned) */
	struct crypto_imb_key imb;	/* ipsec-mb (64-byte aligned) */
};

/* Which back end key i of a context uses (ctx->be[i]). */
enum { BE_EVP, BE_NA, BE_IMB };

struct swim_crypto_ctx {
	/* The expanded keys (round keys, powers of H) of every key that
	 * libsodium or ipsec-mb took; first, so the context's alignment
	 * (aligned_alloc) is theirs. Read-only per packet. */
	union crypto_key_state st[SWIM_CRYPTO_MAX_KEYS];
	/* BE_* of key i. */
	uint8_t be[SWIM_CRYPTO_MAX_KEYS];
	/* Key i's length (16, 24, 32). */
	uint8_t len[SWIM_CRYPTO_MAX_KEYS];
	/* What the owner asked for (enum swim_crypto_backend). */
	enum swim_crypto_backend want;
	/* The ring and its stamp at the last bind (ring is only compared,
	 * never read, outside swim_crypto_ctx_bind). */
	const struct swim_keyring *ring;
	uint64_t stamp;
	/* Keys held, same order as the ring's at bind time. */
	unsigned nb_keys;
	/* EVP: sealing with the primary key (when be[0] is BE_EVP). */
	EVP_CIPHER_CTX *enc;
	/* EVP: opening with key i (when be[i] is BE_EVP). */
	EVP_CIPHER_CTX *dec[SWIM_CRYPTO_MAX_KEYS];
};

/* The GCM cipher for a key length (checked by the keyring: 16/24/32). */
static const EVP_CIPHER *
evp_cipher(size_t key_len)
{
	if (key_len == 16)
		return EVP_aes_128_gcm();
	if (key_len == 24)
		return EVP_aes_192_gcm();
	return EVP_aes_256_gcm();
}

struct swim_crypto_ctx *
swim_crypto_ctx_new(int *err)
{
	enum { A = alignof(struct swim_crypto_ctx) };
	size_t size = (sizeof(struct swim_crypto_ctx) + A - 1) / A * A;
	struct swim_crypto_ctx *ctx = aligned_alloc(A, size);

	if (ctx == NULL) {
		if (err != NULL)
			*err = SWIM_CRYPTO_E_NOMEM;
		return NULL;
	}
	memset(ctx, 0, sizeof(*ctx));
	ctx->want = swim_crypto_default_backend();
	if (err != NULL)
		*err = SWIM_CRYPTO_OK;
	return ctx;
}

void
swim_crypto_ctx_delete(struct swim_crypto_ctx *ctx)
{
	if (ctx == NULL)
		return;
	/* EVP_CIPHER_CTX_free cleanses the key schedules; ours by hand */
	EVP_CIPHER_CTX_free(ctx->enc);
	for (unsigned i = 0; i < SWIM_CRYPTO_MAX_KEYS; i++)
		EVP_CIPHER_CTX_free(ctx->dec[i]);
	sodium_memzero(ctx->st, sizeof(ctx->st));
	free(ctx);
}

int
swim_crypto_ctx_set_backend(struct swim_crypto_ctx *ctx,
			    enum swim_crypto_backend backend)
{
	if (!swim_crypto_backend_ok(backend))
		return SWIM_CRYPTO_E_UNAVAILABLE;
	ctx->want = backend;
	/* re-key at the next bind, even to the same ring */
	ctx->ring = NULL;
	ctx->stamp = 0;
	return 0;
}

int
swim_crypto_ctx_key_backend(const struct swim_crypto_ctx *ctx, unsigned i)
{
	static const int answer[] = {
		[BE_EVP] = SWIM_CRYPTO_BACKEND_EVP,
		[BE_NA] = SWIM_CRYPTO_BACKEND_SODIUM,
		[BE_IMB] = SWIM_CRYPTO_BACKEND_IPSEC_MB,
	};

	if (i >= ctx->nb_keys)
		return SWIM_CRYPTO_E_NOKEY;
	return answer[ctx->be[i]];
}

/* Key *c (created if NULL) for one direction. false on failure. */
static bool
evp_key(EVP_CIPHER_CTX **c, const uint8_t *key, size_t len, int enc)
{
	if (*c == NULL)
		*c = EVP_CIPHER_CTX_new();
	if (*c == NULL)
		return false;
	return EVP_CipherInit_ex2(*c, evp_cipher(len), key, NULL, enc,
				  NULL) == 1;
}

/* The BE_* ctx keys a key of len bytes with. */
static uint8_t
ctx_pick(const struct swim_crypto_ctx *ctx, size_t len)
{
	enum swim_crypto_backend w = ctx->want;

	if ((w == SWIM_CRYPTO_BACKEND_AUTO ||
	     w == SWIM_CRYPTO_BACKEND_IPSEC_MB) && swim_crypto_imb_available())
		return BE_IMB;
	/* only when asked: slower than EVP here (swim_crypto_backend.h) */
	if (w == SWIM_CRYPTO_BACKEND_SODIUM && len == NA_KEY_LEN &&
	    swim_crypto_sodium_available())
		return BE_NA;
	return BE_EVP;
}

/* Key slot i of ctx with key (len bytes), for the back end it picks. */
static bool
ctx_key_one(struct swim_crypto_ctx *ctx, unsigned i, const uint8_t *key,
	    size_t len)
{
	ctx->be[i] = ctx_pick(ctx, len);
	ctx->len[i] = (uint8_t)len;
	if (ctx->be[i] == BE_NA) {
		/* expands the round keys and H; always returns 0 */
		(void)crypto_aead_aes256gcm_beforenm(&ctx->st[i].na, key);
		return true;
	}
	if (ctx->be[i] == BE_IMB) {
		crypto_imb_key(&ctx->st[i].imb, key, len);
		return true;
	}
	sodium_memzero(&ctx->st[i], sizeof(ctx->st[i]));
	if (!evp_key(&ctx->dec[i], key, len, 0))
		return false;
	return i != 0 || evp_key(&ctx->enc, key, len, 1);
}

int
swim_crypto_ctx_bind(struct swim_crypto_ctx *ctx,
		     const struct swim_keyring *ring)
{
	if (ring != NULL && ctx->ring == ring && ctx->stamp == ring->stamp)
		return 0;
	ctx->ring = NULL;
	ctx->stamp = 0;
	ctx->nb_keys = 0;
	if (ring == NULL)
		return 0;
	for (unsigned i = 0; i < ring->nb_keys; i++) {
		if (!ctx_key_one(ctx, i, ring->sec->key[i], ring->sec->len[i]))
			return SWIM_CRYPTO_E_NOMEM;
	}
	ctx->nb_keys = ring->nb_keys;
	ctx->ring = ring;
	ctx->stamp = ring->stamp;
	return 0;
}

unsigned
swim_crypto_ctx_count(const struct swim_crypto_ctx *ctx)
{
	return ctx->nb_keys;
}

/*
 * One GCM pass of c (already keyed for its direction): the nonce (and,
 * to open, the expected tag), the AAD, len bytes in -> out (in == out
 * allowed). @retval false on error.
 *
 * The nonce goes in as the GCM "fixed IV" of length -1, which sets the
 * whole IV (EVP_CTRL_GCM_SET_IV_FIXED's long-standing special case, the
 * same in the 3.0 provider): one parameter call, with the tag in the same
 * call when opening, where EVP_CipherInit_ex2 with a new IV costs a
 * provider IV-length query on top (about 1,000 instructions a packet
 * less, a fifth of the seal/open cost). Nothing is allocated either way.
 */
static bool
evp_gcm(EVP_CIPHER_CTX *c, const uint8_t *nonce, uint8_t *tag,
	const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
	uint8_t *out)
{
	/* the provider only copies from these buffers */
	OSSL_PARAM p[3] = {
		OSSL_PARAM_construct_octet_string(
			OSSL_CIPHER_PARAM_AEAD_TLS1_IV_FIXED,
			(void *)(uintptr_t)nonce, (size_t)-1),
		OSSL_PARAM_construct_end(),
		OSSL_PARAM_construct_end(),
	};
	int n = 0;

	if (tag != NULL)
		p[1] = OSSL_PARAM_construct_octet_string(
			OSSL_CIPHER_PARAM_AEAD_TAG, tag, SWIM_CRYPTO_TAG_LEN);
	if (EVP_CIPHER_CTX_set_params(c, p) != 1)
		return false;
	if (aad_len != 0 &&
	    EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) != 1)
		return false;
	return len == 0 || EVP_CipherUpdate(c, out, &n, in, (int)len) == 1;
}

/*
 * The GCM final step of c: computes the tag (seal) or checks the one
 * evp_gcm set (open). GCM writes nothing here, out is only a place.
 *
 * Measured and not kept (callgrind, dpdk-fpbench --encrypt): EVP_Cipher
 * (straight to the provider's one-shot call) instead of
 * EVP_CipherUpdate/Final, and OSSL_PARAMs built in place instead of by
 * OSSL_PARAM_construct_*: 1% fewer instructions per seal+open in a
 * small loop, 3% more on the lcore (EVP_CIPHER_CTX_get/set_params'
 * string compares went up), so within what symbol alignment moves.
 */
static bool
evp_final(EVP_CIPHER_CTX *c, uint8_t *out)
{
	int fin = 0;

	return EVP_CipherFinal_ex(c, out, &fin) == 1;
}

/* The tag c computed, through one parameter: the ctrl call looks up far
 * more parameters than this one. */
static bool
evp_get_tag(EVP_CIPHER_CTX *c, uint8_t tag[SWIM_CRYPTO_TAG_LEN])
{
	OSSL_PARAM p[2] = {
		OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
						  tag, SWIM_CRYPTO_TAG_LEN),
		OSSL_PARAM_construct_end(),
	};

	return EVP_CIPHER_CTX_get_params(c, p) == 1;
}

/* Seal m (len bytes) into ct and tag with ctx's primary key. */
static bool
ctx_seal_one(struct swim_crypto_ctx *ctx, const uint8_t *nonce,
	     const uint8_t *aad, size_t aad_len, const uint8_t *m,
	     size_t len, uint8_t *ct, uint8_t *tag)
{

	if (ctx->be[0] == BE_IMB) {
		crypto_imb_seal(&ctx->st[0].imb, ctx->len[0], nonce, aad,
				aad_len, m, len, ct, tag);
		return true;
	}
	if (ctx->be[0] == BE_NA) {
		/* in place (m == ct, version 0) is fine: libsodium reads
		 * each block before it writes it; always returns 0 */
		(void)crypto_aead_aes256gcm_encrypt_detached_afternm(
			ct, tag, NULL, m, len, aad, aad_len, NULL, nonce,
			&ctx->st[0].na);
		return true;
	}
	return evp_gcm(ctx->enc, nonce, NULL, aad, aad_len, m, len, ct) &&
	       evp_final(ctx->enc, tag) && evp_get_tag(ctx->enc, tag);
}

int
swim_crypto_ctx_seal_payload(struct swim_crypto_ctx *ctx, unsigned vsn,
			     const uint8_t nonce[SWIM_CRYPTO_NONCE_LEN],
			     const uint8_t *aad, size_t aad_len,
			     const uint8_t *in, size_t len, uint8_t *out,
			     size_t cap)
{
	size_t pad = vsn == 0 ? EVP_BLOCK - len % EVP_BLOCK : 0;
	const uint8_t *m = in;

	if (ctx->nb_keys == 0)
		return SWIM_CRYPTO_E_NOKEY;
	if (vsn > EVP_VSN_MAX)
		return SWIM_CRYPTO_E_VERSION;
	if (len > SWIM_CRYPTO_STREAM_MAX || aad_len > SWIM_CRYPTO_STREAM_MAX ||
	    cap < SWIM_CRYPTO_OVERHEAD + len + pad)
		return SWIM_CRYPTO_E_NOSPACE;
	out[0] = (uint8_t)vsn;
	memcpy(out + EVP_OFF_NONCE, nonce, SWIM_CRYPTO_NONCE_LEN);
	if (pad != 0) {
		/* Version 0: PKCS#7 in place, then encrypt in place. */
		memmove(out + EVP_OFF_CT, in, len);
		memset(out + EVP_OFF_CT + len, (int)pad, pad);
		m = out + EVP_OFF_CT;
	}
	if (!ctx_seal_one(ctx, out + EVP_OFF_NONCE, aad, aad_len, m,
			  len + pad, out + EVP_OFF_CT,
			  out + EVP_OFF_CT + len + pad))
		return SWIM_CRYPTO_E_NOMEM;
	return (int)(SWIM_CRYPTO_OVERHEAD + len + pad);
}

/* Strip and check version 0's PKCS#7 padding. @retval length or < 0. */
static int
evp_unpad(const uint8_t *buf, size_t len)
{
	uint8_t pad = len > 0 ? buf[len - 1] : 0;

	if (pad == 0 || pad > EVP_BLOCK || pad > len)
		return SWIM_CRYPTO_E_PADDING;
	for (size_t i = len - pad; i < len; i++) {
		if (buf[i] != pad)
			return SWIM_CRYPTO_E_PADDING;
	}
	return (int)(len - pad);
}

/* memberlist's decryptPayload checks, in its order, before any key. */
static int
evp_open_check(unsigned nb_keys, const uint8_t *in, size_t len, size_t cap)
{
	if (len == 0)
		return SWIM_CRYPTO_E_SHORT;
	if (in[0] > EVP_VSN_MAX)
		return SWIM_CRYPTO_E_VERSION;
	if (len < (in[0] == 0 ? SWIM_CRYPTO_MIN_V0 : SWIM_CRYPTO_OVERHEAD))
		return SWIM_CRYPTO_E_SHORT;
	if (len > (size_t)INT32_MAX)
		return SWIM_CRYPTO_E_NOSPACE;
	if (cap < len - SWIM_CRYPTO_OVERHEAD)
		return SWIM_CRYPTO_E_NOSPACE;
	if (nb_keys == 0)
		return SWIM_CRYPTO_E_NOKEY;
	return 0;
}

/* Open payload in (len bytes, checked) with ctx's key i into out
 * (len - OVERHEAD bytes). false: the tag did not verify. */
static bool
ctx_open_one(struct swim_crypto_ctx *ctx, unsigned i, const uint8_t *aad,
	     size_t aad_len, const uint8_t *in, size_t len, uint8_t *out)
{
	size_t clen = len - SWIM_CRYPTO_OVERHEAD;
	const uint8_t *tag = in + len - SWIM_CRYPTO_TAG_LEN;
	uint8_t tag_copy[SWIM_CRYPTO_TAG_LEN];

	if (ctx->be[i] == BE_IMB)
		return crypto_imb_open(&ctx->st[i].imb, ctx->len[i],
				       in + EVP_OFF_NONCE, aad, aad_len,
				       in + EVP_OFF_CT, clen, tag, out);
	if (ctx->be[i] == BE_NA)
		return crypto_aead_aes256gcm_decrypt_detached_afternm(
			       out, NULL, in + EVP_OFF_CT, clen, tag, aad,
			       aad_len, in + EVP_OFF_NONCE, &ctx->st[i].na) == 0;
	/* the tag parameter is written from a copy: in is const */
	memcpy(tag_copy, tag, sizeof(tag_copy));
	return evp_gcm(ctx->dec[i], in + EVP_OFF_NONCE, tag_copy, aad,
		       aad_len, in + EVP_OFF_CT, clen, out) &&
	       evp_final(ctx->dec[i], out + clen);
}

int
swim_crypto_ctx_open_payload(struct swim_crypto_ctx *ctx, const uint8_t *aad,
			     size_t aad_len, const uint8_t *in, size_t len,
			     uint8_t *out, size_t cap)
{
	int rc = evp_open_check(ctx->nb_keys, in, len, cap);
	size_t clen = len - SWIM_CRYPTO_OVERHEAD;

	if (rc != 0)
		return rc;
	if (aad_len > SWIM_CRYPTO_STREAM_MAX)
		return SWIM_CRYPTO_E_NOSPACE;
	for (unsigned i = 0; i < ctx->nb_keys; i++) {
		if (!ctx_open_one(ctx, i, aad, aad_len, in, len, out))
			continue;
		if (in[0] == 0)
			return evp_unpad(out, clen);
		return (int)clen;
	}
	/* what a wrong key left in out is noise: do not hand it on */
	memset(out, 0, clen);
	return SWIM_CRYPTO_E_AUTH;
}

int
swim_crypto_ctx_seal_udp(struct swim_crypto_ctx *ctx,
			 const uint8_t nonce[SWIM_CRYPTO_NONCE_LEN],
			 const uint8_t *in, size_t len, uint8_t *out,
			 size_t cap)
{
	return swim_crypto_ctx_seal_payload(ctx, 1, nonce, NULL, 0, in, len,
					    out, cap);
}

int
swim_crypto_ctx_open_udp(struct swim_crypto_ctx *ctx, const uint8_t *in,
			 size_t len, uint8_t *out, size_t cap)
{
	return swim_crypto_ctx_open_payload(ctx, NULL, 0, in, len, out, cap);
}

/* --- the ring's pool, for the ring-based calls --- */

/* A new context wanting what ring's pool wants. */
static struct swim_crypto_ctx *
evp_ctx_for(const struct swim_keyring *ring, int *err)
{
	struct swim_crypto_ctx *ctx = swim_crypto_ctx_new(err);

	if (ctx != NULL)
		ctx->want = ring->backend;
	return ctx;
}

/*
 * Borrow a context bound to ring: a free pooled one (created on first
 * use), else a temporary one (*is_temp). NULL + *err on failure.
 */
static struct swim_crypto_ctx *
evp_borrow(const struct swim_keyring *ring, bool *is_temp, int *err)
{
	/* the pool is the ring's mutable part; the ring is never const */
	struct crypto_pool_slot *pool = (struct crypto_pool_slot *)ring->pool;
	struct swim_crypto_ctx *ctx = NULL;
	unsigned i;

	*is_temp = false;
	for (i = 0; i < SWIM_CRYPTO_POOL; i++) {
		if (atomic_exchange_explicit(&pool[i].is_busy, 1,
					     memory_order_acquire) == 0)
			break;
	}
	if (i < SWIM_CRYPTO_POOL) {
		if (pool[i].ctx == NULL)
			pool[i].ctx = evp_ctx_for(ring, err);
		ctx = pool[i].ctx;
	} else {
		*is_temp = true;
		ctx = evp_ctx_for(ring, err);
	}
	if (ctx != NULL && (*err = swim_crypto_ctx_bind(ctx, ring)) == 0)
		return ctx;
	if (ctx == NULL)
		*err = SWIM_CRYPTO_E_NOMEM;
	if (i < SWIM_CRYPTO_POOL)
		atomic_store_explicit(&pool[i].is_busy, 0,
				      memory_order_release);
	else
		swim_crypto_ctx_delete(ctx);
	return NULL;
}

/* Give back what evp_borrow lent. */
static void
evp_give_back(const struct swim_keyring *ring, struct swim_crypto_ctx *ctx,
	      bool is_temp)
{
	struct crypto_pool_slot *pool = (struct crypto_pool_slot *)ring->pool;

	if (is_temp) {
		swim_crypto_ctx_delete(ctx);
		return;
	}
	for (unsigned i = 0; i < SWIM_CRYPTO_POOL; i++) {
		if (pool[i].ctx == ctx) {
			atomic_store_explicit(&pool[i].is_busy, 0,
					      memory_order_release);
			return;
		}
	}
}

void
swim_crypto_pool_fini(struct swim_keyring *ring)
{
	for (unsigned i = 0; i < SWIM_CRYPTO_POOL; i++) {
		swim_crypto_ctx_delete(ring->pool[i].ctx);
		ring->pool[i].ctx = NULL;
	}
}

int
swim_crypto_seal_payload(const struct swim_keyring *ring, unsigned vsn,
			 const uint8_t nonce[SWIM_CRYPTO_NONCE_LEN],
			 const uint8_t *aad, size_t aad_len,
			 const uint8_t *in, size_t len, uint8_t *out,
			 size_t cap)
{
	struct swim_crypto_ctx *ctx;
	bool is_temp;
	int rc;

	if (ring->nb_keys == 0)
		return SWIM_CRYPTO_E_NOKEY;
	ctx = evp_borrow(ring, &is_temp, &rc);
	if (ctx == NULL)
		return rc;
	rc = swim_crypto_ctx_seal_payload(ctx, vsn, nonce, aad, aad_len, in,
					  len, out, cap);
	evp_give_back(ring, ctx, is_temp);
	return rc;
}

int
swim_crypto_open_payload(const struct swim_keyring *ring,
			 const uint8_t *aad, size_t aad_len,
			 const uint8_t *in, size_t len, uint8_t *out,
			 size_t cap)
{
	struct swim_crypto_ctx *ctx;
	bool is_temp;
	int rc = evp_open_check(ring->nb_keys, in, len, cap);

	if (rc != 0)
		return rc;
	ctx = evp_borrow(ring, &is_temp, &rc);
	if (ctx == NULL)
		return rc;
	rc = swim_crypto_ctx_open_payload(ctx, aad, aad_len, in, len, out,
					  cap);
	evp_give_back(ring, ctx, is_temp);
	return rc;
}
