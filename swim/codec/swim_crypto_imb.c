/* SPDX-License-Identifier: MIT */
/*
 * AES-128/192/256-GCM through intel-ipsec-mb (the library DPDK's
 * aesni_gcm crypto PMD uses): a key is expanded once into its
 * gcm_key_data (round keys and the powers of H that GHASH needs), and
 * each packet is one call, sealing or opening in a single pass. It is the
 * fastest AES-GCM this machine has for memberlist's 100-byte datagrams:
 * seal + open in 117 ns against 289 ns for OpenSSL 3.0's EVP (which pays
 * for its provider plumbing: about 2,000 instructions each way against
 * 600-700 here) and 367 ns for libsodium 1.0.18 (see
 * swim_crypto_backend.h).
 *
 * Owns: the process's table of ipsec-mb's GCM functions, filled once from
 * a manager that init_mb_mgr_auto set up for this CPU (then freed: the
 * one-shot GCM functions take no manager). Must never: log, allocate per
 * packet, or hand on plaintext whose tag did not verify. Built only when
 * meson found the library (SWIM_HAVE_IPSEC_MB); otherwise every call
 * says "unavailable" and the callers use EVP (or libsodium when asked).
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>


#include "swim_crypto.h"
#include "swim_crypto_int.h"

#ifdef SWIM_HAVE_IPSEC_MB
#include <intel-ipsec-mb.h>

_Static_assert(sizeof(struct gcm_key_data) <= sizeof(struct crypto_imb_key),
	       "crypto_imb_key holds ipsec-mb's expanded key");

/* ipsec-mb's GCM functions for this CPU; [0] 128, [1] 192, [2] 256. */
struct imb_fns {
	aes_gcm_pre_t pre[3];
	aes_gcm_enc_dec_t enc[3];
	aes_gcm_enc_dec_t dec[3];
};

enum { IMB_UNKNOWN, IMB_BUSY, IMB_READY, IMB_ABSENT };

static struct imb_fns imb_tab;
/* IMB_UNKNOWN until the first caller fills imb_tab (release: readers
 * that see IMB_READY see the table). */
static _Atomic int imb_state = IMB_UNKNOWN;

/* Fill imb_tab from a manager set up for this CPU. */
static int
imb_fill(void)
{
	IMB_MGR *m = alloc_mb_mgr(0);
	IMB_ARCH arch = IMB_ARCH_NONE;

	if (m == NULL)
		return IMB_ABSENT;
	init_mb_mgr_auto(m, &arch);
	/* without AES-NI ipsec-mb falls back to C: EVP is better then */
	if (imb_get_errno(m) != 0 || arch < IMB_ARCH_SSE) {
		free_mb_mgr(m);
		return IMB_ABSENT;
	}
	imb_tab = (struct imb_fns){
		.pre = { m->gcm128_pre, m->gcm192_pre, m->gcm256_pre },
		.enc = { m->gcm128_enc, m->gcm192_enc, m->gcm256_enc },
		.dec = { m->gcm128_dec, m->gcm192_dec, m->gcm256_dec },
	};
	free_mb_mgr(m);
	return IMB_READY;
}

bool
swim_crypto_imb_available(void)
{
	int s = atomic_load_explicit(&imb_state, memory_order_acquire);
	int expect = IMB_UNKNOWN;

	if (s == IMB_READY || s == IMB_ABSENT)
		return s == IMB_READY;
	if (atomic_compare_exchange_strong(&imb_state, &expect, IMB_BUSY)) {
		atomic_store_explicit(&imb_state, imb_fill(),
				      memory_order_release);
	} else {
		/* another thread is filling: a few microseconds, once */
		while (atomic_load_explicit(&imb_state, memory_order_acquire) ==
		       IMB_BUSY)
			;
	}
	return atomic_load_explicit(&imb_state, memory_order_acquire) ==
	       IMB_READY;
}

/*
 * Whether two tags are equal, in constant time: how much of a forged tag
 * matched stays secret. Two 64-bit XORs ORed, no early exit; about 10
 * instructions where sodium_memcmp's byte loop took 150 a packet.
 */
static bool
imb_tag_eq(const uint8_t a[SWIM_CRYPTO_TAG_LEN],
	   const uint8_t b[SWIM_CRYPTO_TAG_LEN])
{
	uint64_t a0, a1, b0, b1;

	memcpy(&a0, a, 8);
	memcpy(&a1, a + 8, 8);
	memcpy(&b0, b, 8);
	memcpy(&b1, b + 8, 8);
	return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

/* ipsec-mb's parameter checks refuse NULL even with a length of 0: what
 * an empty message or AAD points at instead. */
static const uint8_t imb_empty[1];

/* 0, 1, 2 for a 16-, 24-, 32-byte key. */
static unsigned
imb_idx(size_t len)
{
	return len == 16 ? 0 : len == 24 ? 1 : 2;
}

void
crypto_imb_key(struct crypto_imb_key *k, const uint8_t *key, size_t len)
{
	imb_tab.pre[imb_idx(len)](key, (struct gcm_key_data *)k->opaque);
}

void
crypto_imb_seal(const struct crypto_imb_key *k, size_t key_len,
		const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		const uint8_t *m, size_t len, uint8_t *ct, uint8_t *tag)
{
	struct gcm_context_data cd;

	imb_tab.enc[imb_idx(key_len)]((const struct gcm_key_data *)k->opaque,
				      &cd, ct, len != 0 ? m : imb_empty, len,
				      nonce, aad_len != 0 ? aad : imb_empty,
				      aad_len, tag, SWIM_CRYPTO_TAG_LEN);
}

bool
crypto_imb_open(const struct crypto_imb_key *k, size_t key_len,
		const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		const uint8_t *ct, size_t len, const uint8_t *tag, uint8_t *out)
{
	struct gcm_context_data cd;
	uint8_t want[SWIM_CRYPTO_TAG_LEN];

	imb_tab.dec[imb_idx(key_len)]((const struct gcm_key_data *)k->opaque,
				      &cd, out, len != 0 ? ct : imb_empty, len,
				      nonce, aad_len != 0 ? aad : imb_empty,
				      aad_len, want, sizeof(want));
	return imb_tag_eq(want, tag);
}

#else /* !SWIM_HAVE_IPSEC_MB */

bool
swim_crypto_imb_available(void)
{
	return false;
}

void
crypto_imb_key(struct crypto_imb_key *k, const uint8_t *key, size_t len)
{
	(void)k;
	(void)key;
	(void)len;
}

void
crypto_imb_seal(const struct crypto_imb_key *k, size_t key_len,
		const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		const uint8_t *m, size_t len, uint8_t *ct, uint8_t *tag)
{
	(void)k, (void)key_len, (void)nonce, (void)aad, (void)aad_len;
	(void)m, (void)len, (void)ct, (void)tag;
}

bool
crypto_imb_open(const struct crypto_imb_key *k, size_t key_len,
		const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		const uint8_t *ct, size_t len, const uint8_t *tag, uint8_t *out)
{
	(void)k, (void)key_len, (void)nonce, (void)aad, (void)aad_len;
	(void)ct, (void)len, (void)tag, (void)out;
	return false;
}

#endif /* SWIM_HAVE_IPSEC_MB */
