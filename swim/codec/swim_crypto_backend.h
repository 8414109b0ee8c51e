/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Which AES-GCM implementation a swim_crypto context uses for a key.
 *
 * Three back ends produce the same bytes (memberlist's format does not
 * depend on them):
 *  - intel-ipsec-mb (when meson found it; AES-NI needed): every key
 *    size, expanded once per key when a context is bound, one call per
 *    packet; the fastest here.
 *  - libsodium's precomputed AES-256-GCM state
 *    (crypto_aead_aes256gcm_beforenm, then ..._detached_afternm per
 *    packet): 32-byte keys only, and only on a CPU with AES-NI and
 *    PCLMUL (crypto_aead_aes256gcm_is_available, which needs
 *    sodium_init() first). The state is expanded once per key when a
 *    context is bound and is only read per packet; it lives inside the
 *    context (16-byte aligned), so each thread keys its own.
 *  - OpenSSL's libcrypto (EVP): every key size (16, 24, 32), the fallback.
 *
 * The default (SWIM_CRYPTO_BACKEND_AUTO) takes ipsec-mb for every key
 * when it can, else EVP. Not libsodium: it runs fewer instructions than
 * EVP but takes longer. Measured 2026-12-06 on the 2-vCPU AMD EPYC VM
 * (AVX-512, VAES), seal + open of a 100-byte datagram, best of 400 x 256:
 * ipsec-mb 117 ns, EVP 289 ns, libsodium 1.0.18 367 ns (its per-block
 * tail works byte by byte); callgrind per encrypted ping->ack on the
 * lcore: 2,166 / 5,891 / 3,684 instructions. SWIM_CRYPTO_BACKEND_SODIUM
 * still picks it, and tests and benchmarks force each back end.
 */
#ifndef SWIM_CRYPTO_BACKEND_H_INCLUDED
#define SWIM_CRYPTO_BACKEND_H_INCLUDED

#include <stdbool.h>

#include "swim_crypto.h"

/** A back-end choice (what a context wants) or answer (what a key uses). */
enum swim_crypto_backend {
	/** ipsec-mb where it runs, else EVP. */
	SWIM_CRYPTO_BACKEND_AUTO = 0,
	/** OpenSSL EVP for every key. */
	SWIM_CRYPTO_BACKEND_EVP = 1,
	/** libsodium for 32-byte keys, refused (E_UNAVAILABLE) without
	 * AES-NI + PCLMUL; 16- and 24-byte keys still go to EVP. */
	SWIM_CRYPTO_BACKEND_SODIUM = 2,
	/** intel-ipsec-mb for every key size; refused (E_UNAVAILABLE)
	 * when not built in or without AES-NI. */
	SWIM_CRYPTO_BACKEND_IPSEC_MB = 3,
};

/** Whether libsodium's AES-256-GCM runs on this CPU (after sodium_init). */
bool swim_crypto_sodium_available(void);

/** Whether intel-ipsec-mb is built in and has AES-NI here. */
bool swim_crypto_ipsec_mb_available(void);

/** "auto", "evp", "libsodium", "ipsec-mb", or "unknown". */
const char *swim_crypto_backend_name(int backend);

/**
 * Parse a back-end name as swim_crypto_backend_name prints it.
 * @retval the enum swim_crypto_backend, or SWIM_CRYPTO_E_UNAVAILABLE.
 */
int swim_crypto_backend_parse(const char *name);

/**
 * The choice for contexts and keyrings created from now on (AUTO at
 * start). Process-wide: set it in main or a test's setup, before threads.
 * @retval 0, or SWIM_CRYPTO_E_UNAVAILABLE (SODIUM or IPSEC_MB where
 *         it cannot run, or not an enum value).
 */
int swim_crypto_set_default_backend(enum swim_crypto_backend backend);

/** The current default choice. */
enum swim_crypto_backend swim_crypto_default_backend(void);

/**
 * What ctx wants; it re-keys at its next bind (no allocation unless a
 * key goes to EVP).
 * @retval 0 or SWIM_CRYPTO_E_UNAVAILABLE (as set_default_backend).
 */
int swim_crypto_ctx_set_backend(struct swim_crypto_ctx *ctx,
				enum swim_crypto_backend backend);

/**
 * The back end ctx uses for its key i (0 = primary): _IPSEC_MB, _SODIUM
 * or _EVP.
 * @retval that, or SWIM_CRYPTO_E_NOKEY if i >= swim_crypto_ctx_count.
 */
int swim_crypto_ctx_key_backend(const struct swim_crypto_ctx *ctx,
				unsigned i);

/**
 * What the contexts ring lends to the ring-based calls want (they re-key
 * on next use). Not while other threads use the ring.
 * @retval 0 or SWIM_CRYPTO_E_UNAVAILABLE.
 */
int swim_keyring_set_backend(struct swim_keyring *ring,
			     enum swim_crypto_backend backend);

#endif /* SWIM_CRYPTO_BACKEND_H_INCLUDED */
