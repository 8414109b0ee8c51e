/* SPDX-License-Identifier: MIT */
/*
 * The DPDK lcore's encryption state (see dp_dpdk_seal.h): thin on
 * purpose, the cipher work is swim_crypto's; what is here is which ring
 * the lcore keys from and when it re-keys. No DPDK inside, so the tests
 * drive it without EAL.
 */
#include "dp_dpdk_seal.h"

#include <stdlib.h>
#include <string.h>

#include "swim_crypto.h"

struct dp_dpdk_seal *
dp_dpdk_seal_new(const struct swim_keyring *cfg_ring)
{
	struct dp_dpdk_seal *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->ctx = swim_crypto_ctx_new(NULL);
	if (s->ctx == NULL || swim_crypto_ctx_bind(s->ctx, cfg_ring) != 0) {
		dp_dpdk_seal_delete(s);
		return NULL;
	}
	s->ring = cfg_ring;
	s->cfg_ring = cfg_ring;
	swim_crypto_nonce_gen_init(&s->nonce);
	return s;
}

void
dp_dpdk_seal_delete(struct dp_dpdk_seal *s)
{
	if (s == NULL)
		return;
	swim_crypto_ctx_delete(s->ctx);
	/* plaintext of the last datagrams: not left in freed memory */
	memset(s, 0, sizeof(*s));
	free(s);
}

int
dp_dpdk_seal_follow(struct dp_dpdk_seal *s,
		    const struct swim_keyring *snap_ring)
{
	const struct swim_keyring *ring =
		snap_ring != NULL ? snap_ring : s->cfg_ring;
	int rc;

	if (ring != s->ring)
		s->nb_rekey++;
	/* the same ring unchanged: two compares; else re-key */
	rc = swim_crypto_ctx_bind(s->ctx, ring);
	s->ring = rc == 0 ? ring : NULL;
	return rc;
}

int
dp_dpdk_seal_open(struct dp_dpdk_seal *s, const uint8_t *in, size_t len)
{
	int n = swim_crypto_ctx_open_udp(s->ctx, in, len, s->plain,
					 sizeof(s->plain));

	if (n < 0)
		s->nb_open_fail++;
	return n;
}

int
dp_dpdk_seal_seal(struct dp_dpdk_seal *s, const uint8_t *in, size_t len,
		  uint8_t *out, size_t cap)
{
	uint8_t nonce[SWIM_CRYPTO_NONCE_LEN];
	int n;

	swim_crypto_nonce_gen_next(&s->nonce, nonce);
	n = swim_crypto_ctx_seal_udp(s->ctx, nonce, in, len, out, cap);
	if (n < 0)
		s->nb_seal_fail++;
	return n;
}

int
dp_dpdk_seal_ack(struct dp_dpdk_seal *s, struct dp_fp *fp, uint32_t seq_no,
		 uint8_t *out, size_t cap)
{
	int n = dp_fp_build_ack(fp, seq_no, s->ack, sizeof(s->ack));

	if (n < 0)
		return n;
	return dp_dpdk_seal_seal(s, s->ack, (size_t)n, out, cap);
}
