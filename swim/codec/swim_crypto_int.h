/* SPDX-License-Identifier: MIT */
/*
 * swim_crypto's private parts, shared by swim_crypto.c (the keyring and
 * its text forms) and swim_crypto_evp.c (cipher contexts, seal/open).
 */
#ifndef SWIM_CRYPTO_INT_H_INCLUDED
#define SWIM_CRYPTO_INT_H_INCLUDED

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swim_crypto.h"
#include "swim_crypto_backend.h"

/* One context a keyring lends to its ring-based seal/open calls. */
struct crypto_pool_slot {
	/* 1 while a thread uses ctx: exchange(1) to borrow, store(0) to
	 * give back (release: the next borrower sees ctx's state) */
	_Atomic int is_busy;
	/* created on the slot's first use; bound to the ring on each use */
	struct swim_crypto_ctx *ctx;
};

/* The key material: in sodium_malloc memory (guard pages, mlock'd). */
struct crypto_keys {
	/* Raw keys; [0] is the primary, the only one used to encrypt. */
	uint8_t key[SWIM_CRYPTO_MAX_KEYS][SWIM_CRYPTO_KEY_LEN];
	/* Their lengths: 16, 24 or 32. */
	uint8_t len[SWIM_CRYPTO_MAX_KEYS];
};

/*
 * The ring itself is ordinary heap memory, so that leak checkers see the
 * cipher contexts its pool points to (they do not scan sodium_malloc's
 * pages).
 */
struct swim_keyring {
	/* never NULL */
	struct crypto_keys *sec;
	/* Installed keys, 0..SWIM_CRYPTO_MAX_KEYS. */
	unsigned nb_keys;
	/* New on every mutation and unique among all rings of the process
	 * (never 0): a context bound at another stamp re-keys. */
	uint64_t stamp;
	/* Nonce source for seal_udp/seal_stream; never NULL. */
	swim_crypto_nonce_f nonce_f;
	/* Its argument. */
	void *nonce_ctx;
	/* What the pooled contexts want (enum swim_crypto_backend). */
	enum swim_crypto_backend backend;
	/* Contexts for the ring-based calls; written through a const ring
	 * only by borrow/give-back, which the atomics order. */
	struct crypto_pool_slot pool[SWIM_CRYPTO_POOL];
};

/* --- intel-ipsec-mb's AES-GCM (swim_crypto_imb.c) --- */

/* One key expanded for ipsec-mb (its struct gcm_key_data, which the
 * library wants 16-byte aligned; 64 keeps it on cache lines). */
struct crypto_imb_key {
	_Alignas(64) uint8_t opaque[1024];
};

/* Whether ipsec-mb was built in and runs with AES-NI here (the first
 * call sets the library up: it allocates, once per process). */
bool swim_crypto_imb_available(void);

/* Expand key (16, 24 or 32 bytes) into k. Only when available. */
void crypto_imb_key(struct crypto_imb_key *k, const uint8_t *key,
		    size_t len);

/* Seal m (len bytes) into ct and the 16-byte tag. */
void crypto_imb_seal(const struct crypto_imb_key *k, size_t key_len,
		     const uint8_t *nonce, const uint8_t *aad,
		     size_t aad_len, const uint8_t *m, size_t len,
		     uint8_t *ct, uint8_t *tag);

/* Open ct (len bytes) into out. false: tag did not verify (out then
 * holds noise the caller must wipe). */
bool crypto_imb_open(const struct crypto_imb_key *k, size_t key_len,
		     const uint8_t *nonce, const uint8_t *aad,
		     size_t aad_len, const uint8_t *ct, size_t len,
		     const uint8_t *tag, uint8_t *out);

/* Whether backend is a choice this CPU can honour. */
bool swim_crypto_backend_ok(enum swim_crypto_backend backend);

/* Free every pooled context of ring (none may be borrowed). */
void swim_crypto_pool_fini(struct swim_keyring *ring);

#endif /* SWIM_CRYPTO_INT_H_INCLUDED */
