/* SPDX-License-Identifier: MIT */
/*
 * The DPDK lcore's encryption (memberlist §8, serf's -encrypt): one
 * struct dp_dpdk_seal per lcore when the node has a keyring. It holds the
 * lcore's own cipher context (swim_crypto_ctx: one expanded AES-GCM key
 * per key of the ring, ipsec-mb's or libsodium's state inline and
 * aligned, or EVP's for what neither takes; swim_crypto_backend.h), its
 * nonce counter and the scratch buffers a datagram is opened into and
 * sealed from, so nothing is allocated or shared per packet.
 *
 * The keyring comes from the lcore's snapshot copy (struct
 * dp_snapshot.keyring, set by control when it rotates keys) or, while
 * that is NULL, from dp_cfg.keyring. dp_dpdk_seal_follow re-keys the
 * context (expands every key again; no allocation for ipsec-mb and
 * libsodium) only when that pointer or the ring's keys changed, right
 * after the lcore adopted a new snapshot, so a rotation reaches the
 * lcores without a restart: the ring is read there and nowhere
 * else, and control keeps a replaced ring alive for a grace period
 * (cp_keys.h) that covers it.
 *
 * Lcore only, after dp_dpdk_seal_new (which allocates, once, at lcore
 * start). Never logs.
 */
#ifndef DP_DPDK_SEAL_H_INCLUDED
#define DP_DPDK_SEAL_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "dp.h"
#include "dp_fastpath.h"
#include "swim_crypto.h"

/** One lcore's encryption state. */
struct dp_dpdk_seal {
	struct swim_crypto_ctx *ctx;	/* keyed from ring; this lcore's */
	const struct swim_keyring *ring; /* the ring ctx was keyed from */
	const struct swim_keyring *cfg_ring; /* dp_cfg.keyring: the default */
	struct swim_crypto_nonce_gen nonce; /* this lcore's nonces */
	uint64_t nb_open_fail;		/* datagrams no key opened */
	uint64_t nb_seal_fail;		/* datagrams that could not be sealed */
	uint64_t nb_rekey;		/* context re-keyed (rotations seen) */
	uint8_t plain[DP_PKT_MAX];	/* the datagram just opened */
	uint8_t ack[DP_PKT_MAX];	/* the fast path's ack, before sealing */
	uint8_t sealed[DP_PKT_MAX];	/* control's datagram, sealed */
};

/**
 * Create the lcore's state keyed from cfg_ring (non-NULL, not empty).
 * @retval the state, or NULL (out of memory).
 */
struct dp_dpdk_seal *dp_dpdk_seal_new(const struct swim_keyring *cfg_ring);

/** Free it and wipe its key schedules. NULL is a no-op. */
void dp_dpdk_seal_delete(struct dp_dpdk_seal *s);

/**
 * Follow the snapshot's keyring (NULL: cfg_ring): re-key when it is
 * another ring or its keys changed. Two compares when nothing did.
 * @retval 0, or SWIM_CRYPTO_E_NOMEM (the context then holds no key:
 *         every datagram fails to open until the next snapshot).
 */
int dp_dpdk_seal_follow(struct dp_dpdk_seal *s,
			const struct swim_keyring *snap_ring);

/**
 * Open a received datagram into s->plain.
 * @retval plaintext length, or a negative swim_crypto_err (counted).
 */
int dp_dpdk_seal_open(struct dp_dpdk_seal *s, const uint8_t *in, size_t len);

/**
 * Seal len bytes of in (version 1, primary key, this lcore's next nonce)
 * into out (cap bytes; may not overlap in).
 * @retval sealed length, or a negative swim_crypto_err (counted).
 */
int dp_dpdk_seal_seal(struct dp_dpdk_seal *s, const uint8_t *in, size_t len,
		      uint8_t *out, size_t cap);

/**
 * The fast path's ack to seq_no (dp_fp_build_ack, into s->ack), sealed
 * into out (cap bytes).
 * @retval sealed length, or a negative error (the ack's or the seal's).
 */
int dp_dpdk_seal_ack(struct dp_dpdk_seal *s, struct dp_fp *fp,
		     uint32_t seq_no, uint8_t *out, size_t cap);

#endif /* DP_DPDK_SEAL_H_INCLUDED */
