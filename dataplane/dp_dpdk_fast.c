/* SPDX-License-Identifier: MIT */
/*
 * dp_fast_init: the usual ping's frame pattern and the ack's constants
 * for the fused ping -> ack (dp_dpdk_fast.h), rebuilt by the lcore when
 * its snapshot changes.
 */
#include <string.h>

#include "dp_dpdk_fast.h"

/* Set frame bytes [off, off + n) of the pattern to want, fully fixed. */
static void
pat_put(uint8_t *want, uint8_t *mask, size_t off, const void *bytes,
	size_t n)
{
	memcpy(want + off, bytes, n);
	memset(mask + off, 0xff, n);
}

/*
 * The fixed bits of the usual ping's frame: what dp_pkt_udp4_usual
 * compares to constants (our MAC, EtherType IPv4, version 4 with IHL 5,
 * no MF and offset 0, UDP, our address and port), then the ping prefix.
 */
static void
pat_build(uint8_t *want, uint8_t *mask, const struct dp_pkt_self *self,
	  const struct swim_ping_pat *pat)
{
	const uint8_t eth_ip4[3] = { 0x08, 0x00, 0x45 };
	uint8_t ip[4], port[2];

	dp_pkt_put32(ip, self->ip);
	dp_pkt_put16(port, self->port);
	pat_put(want, mask, 0, self->mac, DP_ETH_ALEN);
	pat_put(want, mask, 12, eth_ip4, sizeof(eth_ip4));
	mask[DP_ETH_HLEN + 6] = 0x3f;	/* MF and the offset's high bits */
	mask[DP_ETH_HLEN + 7] = 0xff;
	pat_put(want, mask, DP_ETH_HLEN + 9, "\x11", 1);
	pat_put(want, mask, DP_ETH_HLEN + 16, ip, sizeof(ip));
	pat_put(want, mask, DP_ETH_HLEN + DP_IPV4_HLEN + 2, port, sizeof(port));
	pat_put(want, mask, DP_UDP4_PAYLOAD_OFF, pat->prefix, pat->len);
}

/* A big-endian-word sum as the same sum of native words, folded. */
static uint32_t
native_sum(uint32_t be_sum)
{
	uint16_t s = dp_pkt_fold32(be_sum);

	return DP_PKT_U_BE16(s);
}

static void
chunk_set(struct dp_fast_chunk *c, const uint8_t *want, const uint8_t *mask,
	  size_t off)
{
	memcpy(&c->want, want + off, DP_FAST_CHUNK);
	memcpy(&c->mask, mask + off, DP_FAST_CHUNK);
}

/* swim_ping_source4's keys around the address, name and port. */
static void
keys_build(struct dp_fast_chunk keys[3])
{
	uint8_t want[16] = { 0 }, mask[16] = { 0 };

	pat_put(want, mask, 0, "\xaaSourceAddr\xa4", 12);
	chunk_set(&keys[0], want, mask, 0);
	memset(mask, 0, sizeof(mask));
	pat_put(want, mask, 4, "\xaaSourceNode\xa0", 12);
	mask[15] = 0xe0;	/* a fixstr, any length */
	chunk_set(&keys[1], want, mask, 0);
	memset(mask, 0, sizeof(mask));
	pat_put(want, mask, 2, "\xaaSourcePort\xcd", 12);
	chunk_set(&keys[2], want, mask, 0);
}

static void
fast_off(struct dp_fast *fc)
{
	memset(fc, 0, sizeof(*fc));
	fc->pat_len = SIZE_MAX;
}

void
dp_fast_init(struct dp_fast *fc, const struct dp_pkt_self *self,
	     const struct dp_pkt_udp4_tmpl *hdrs, const struct dp_fp *fp,
	     size_t max_frame)
{
	const struct dp_fp_tmpl *t = &fp->tmpl;
	size_t ack_max = DP_UDP4_PAYLOAD_OFF + t->head_len + 5 + t->tail_len;
	uint8_t want[DP_FAST_CHUNKS * DP_FAST_CHUNK] = { 0 };
	uint8_t mask[DP_FAST_CHUNKS * DP_FAST_CHUNK] = { 0 };
	size_t pl = fp->ping_pat.len;

	fast_off(fc);
	/* a prefix is >= 15 bytes: the pattern spans >= 4 chunks */
	if (pl < 15 || pl > SWIM_PING_PAT_MAX || t->head_len == 0 ||
	    ack_max > max_frame || max_frame < DP_ETH_ZLEN)
		return;
	pat_build(want, mask, self, &fp->ping_pat);
	keys_build(fc->keys);
	fc->pat_len = DP_UDP4_PAYLOAD_OFF + pl;
	for (size_t i = 0; i < 3; i++)
		chunk_set(&fc->head[i], want, mask, 16 * i);
	chunk_set(&fc->last, want, mask, fc->pat_len - DP_FAST_CHUNK);
	fc->nb_mid = (fc->pat_len - 48 - 1) / DP_FAST_CHUNK;
	for (size_t i = 0; i < fc->nb_mid; i++)
		chunk_set(&fc->mid[i], want, mask, 48 + 16 * i);
	/* the prefix's whole words, and the protocol's pseudo header word */
	fc->sum_from = DP_UDP4_PAYLOAD_OFF + (pl & ~(size_t)7);
	fc->pat_sum = dp_csum_fold(dp_csum_partial(want + DP_UDP4_PAYLOAD_OFF,
			fc->sum_from - DP_UDP4_PAYLOAD_OFF,
			DP_PKT_U_BE16((uint16_t)DP_IPPROTO_UDP)));
	fc->ack_room = ack_max + DP_FP_COPY;
	fc->ip_sum_n = native_sum(hdrs->ip_sum);
	fc->udp_sum_n = native_sum(hdrs->udp_sum);
	memcpy(fc->hdr, hdrs->hdr, sizeof(fc->hdr));
}
