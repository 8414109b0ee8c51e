/* SPDX-License-Identifier: MIT */
/*
 * The DPDK lcore's fused ping -> ack: one straight pass for the usual
 * frame only (to our MAC, IPv4 IHL 5, not a fragment, UDP to our address
 * and port, a bare ping to our name in go-msgpack's usual layout with
 * IPv4 Source* keys, acked from the template to the frame's own sender).
 * Values pass between the steps in registers (a few small structs the
 * compiler keeps there), not through dp_pkt_view and swim_ping in memory;
 * the sender's address and port are re-read from the frame where a load
 * is cheaper than a register kept live (or spilled) across the steps.
 *
 * Every step answers "is this the usual case, and does every check the
 * general path makes pass?" and writes nothing until the last one said
 * yes: on false the caller hands the untouched frame to the general path
 * (dp_pkt_parse_hw, dp_fp_match, send_ack), which then gives the answer
 * and the drop reason. So the two paths agree by construction, and
 * tests/dp/test_fp_diff.c and test_fast_diff.c check that they do.
 *
 * Static inline helpers only (no DPDK, no state): the lcore's loop
 * inlines them. Checksums come from dp_csum.h, as in dp_pkt.c.
 */
#ifndef DP_DPDK_FAST_H_INCLUDED
#define DP_DPDK_FAST_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dp.h"
#include "dp_fastpath.h"
#include "dp_csum.h"
#include "dp_pkt.h"
#include "dp_pkt_usual.h"

#define DP_FAST_INLINE static inline __attribute__((always_inline))

DP_FAST_INLINE void
dp_fast_st16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* What the ping step read: the SeqNo, and where the ack goes (wire). */
struct dp_fast_ping {
	uint32_t seq_no;
	uint16_t port_n;	/* the ack's destination port, as on the wire */
};

/* The SeqNo at q (q < end): swim_wire_ping.c's swim_ping_uint, max 0xce.
 * @retval bytes read, 0: not an encoding the usual ping uses */
DP_FAST_INLINE size_t
dp_fast_seq(const uint8_t *q, const uint8_t *end, uint32_t *v)
{
	size_t avail = (size_t)(end - q);

	if (q[0] <= 0x7f) {
		*v = q[0];
		return 1;
	}
	if (q[0] == 0xce && avail >= 5) {
		*v = DP_PKT_U_BE32(dp_csum_ld32n(q + 1));
		return 5;
	}
	if (q[0] == 0xcd && avail >= 3) {
		*v = DP_PKT_U_BE16(dp_pkt_u_ld16(q + 1));
		return 3;
	}
	if (q[0] == 0xcc && avail >= 2) {
		*v = q[1];
		return 2;
	}
	return 0;
}

/*
 * swim_wire_match_ping_pat's usual case (prefix, SeqNo, swim_ping_source4's
 * fixed-offset Source* keys), then dp_fp_ack_to_source: the ack goes to
 * SourceAddr:SourcePort when SourcePort is set, else to the sender. Only
 * a SourceAddr that is the sender's own address is taken here (its MAC
 * is the frame's); another one waits on the ARP cache: general path.
 * @retval true: *p filled; false: ask the general path
 */
DP_FAST_INLINE bool
dp_fast_ping(const uint8_t *b, size_t len, const struct swim_ping_pat *pat,
	     struct dp_fast_ping *p)
{
	const uint8_t *end = b + len;
	size_t pl = pat->len;
	const uint8_t *q;
	uint64_t diff;
	size_t n;

	/* pl >= 15 once built: the first and last words overlap the rest */
	if (len > DP_PKT_MAX || len <= pl || pl == 0)
		return false;
	diff = (dp_csum_ld64n(b) ^ dp_csum_ld64n(pat->prefix)) |
	       (dp_csum_ld64n(b + pl - 8) ^ dp_csum_ld64n(pat->prefix + pl - 8));
	for (size_t i = 8; i + 8 < pl; i += 8)
		diff |= dp_csum_ld64n(b + i) ^ dp_csum_ld64n(pat->prefix + i);
	if (diff != 0)
		return false;
	q = b + pl;
	n = dp_fast_seq(q, end, &p->seq_no);
	if (n == 0)
		return false;
	q += n;
	if (end - q < 28 ||
	    dp_csum_ld64n(q) != dp_csum_ld64n("\xaaSourceA") ||
	    dp_csum_ld64n(q + 4) != dp_csum_ld64n("rceAddr\xa4") ||
	    dp_csum_ld64n(q + 16) != dp_csum_ld64n("\xaaSourceN") ||
	    dp_csum_ld32n(q + 23) != dp_csum_ld32n("Node") ||
	    (q[27] & 0xe0) != 0xa0)
		return false;
	n = 28 + (size_t)(q[27] & 0x1f);
	if ((size_t)(end - q) < n + 14 ||
	    dp_csum_ld64n(q + n) != dp_csum_ld64n("\xaaSourceP") ||
	    dp_csum_ld32n(q + n + 8) != dp_csum_ld32n("ort\xcd"))
		return false;
	p->port_n = dp_pkt_u_ld16(q + n + 12);
	if (p->port_n == 0) {
		p->port_n = dp_pkt_u_ld16(b - DP_UDP_HLEN);
		return true;
	}
	/* the sender's address, 16 bytes before the UDP header */
	return dp_csum_ld32n(q + 12) ==
	       dp_csum_ld32n(b - DP_UDP_HLEN - DP_IPV4_HLEN + 12);
}

/*
 * Whether the ack from t goes over a frame of cap bytes as the general
 * path writes it (dp_fp_ack_tmpl's block copy, no drop as too big), room
 * reckoned for the widest SeqNo: a tighter frame takes the general path.
 */
DP_FAST_INLINE bool
dp_fast_ack_fits(const struct dp_fp_tmpl *t, size_t cap, size_t max_frame)
{
	size_t need = DP_UDP4_PAYLOAD_OFF + t->head_len + 5 + t->tail_len;

	return t->head_len != 0 && need + DP_FP_COPY <= cap &&
	       need <= max_frame && max_frame >= DP_ETH_ZLEN;
}

/* The ack's payload from t at out: dp_fp_ack_tmpl's bytes and sum.
 * @retval the payload's length; *sum its unfolded sum */
DP_FAST_INLINE size_t
dp_fast_ack_body(uint8_t *out, const struct dp_fp_tmpl *t, uint32_t seq_no,
		 uint32_t *sum)
{
	dp_fp_copy_blocks(out, t->bytes, t->head_len);
	return dp_fp_tmpl_finish(out, t, seq_no, sum);
}

/*
 * The ack's headers around its payload of plen bytes (sum: its sum), to
 * the ping's sender: dp_pkt_udp4_hdrs_put's bytes, from the values the
 * frame step kept (the sender's MAC is read before the copy covers it).
 * @retval the frame's length, padded to DP_ETH_ZLEN
 */
DP_FAST_INLINE size_t
dp_fast_ack_hdrs(uint8_t *f, const struct dp_pkt_udp4_tmpl *h,
		 uint16_t port_n, size_t plen, uint32_t sum)
{
	uint8_t *ip = f + DP_ETH_HLEN;
	uint8_t *ud = ip + DP_IPV4_HLEN;
	uint32_t mac_lo = dp_csum_ld32n(f + DP_ETH_ALEN);
	uint16_t mac_hi = dp_pkt_u_ld16(f + DP_ETH_ALEN + 4);
	/* the ping's source, re-read: cheaper than keeping it in a register
	 * (or on the stack) through every step */
	uint32_t dst_n = dp_csum_ld32n(ip + 12);
	uint32_t dst = DP_PKT_U_BE32(dst_n);
	uint32_t dst_sum = (dst >> 16) + (dst & 0xffff);
	uint16_t ulen = (uint16_t)(DP_UDP_HLEN + plen);
	size_t frame_len = DP_UDP4_PAYLOAD_OFF + plen;
	uint16_t csum;

	/* 32 + 8 + 2 bytes, fixed-size moves: as one 42-byte memcpy GCC
	 * emitted rep movsb here (one instruction per byte under callgrind) */
	__builtin_memcpy(f, h->hdr, 32);
	__builtin_memcpy(f + 32, h->hdr + 32, 8);
	__builtin_memcpy(f + 40, h->hdr + 40, 2);
	memcpy(f, &mac_lo, 4);
	memcpy(f + 4, &mac_hi, 2);
	dp_pkt_put16(ip + 2, (uint16_t)(DP_IPV4_HLEN + ulen));
	/* every term below 2^20: no 32-bit overflow */
	dp_pkt_put16(ip + 10, (uint16_t)~dp_pkt_fold32(h->ip_sum + dst_sum +
						       DP_IPV4_HLEN + ulen));
	memcpy(ip + 16, &dst_n, 4);
	dp_fast_st16(ud + 2, port_n);
	dp_pkt_put16(ud + 4, ulen);
	/* the UDP length counts twice: pseudo header and UDP header */
	csum = (uint16_t)~dp_pkt_fold48((uint64_t)sum + h->udp_sum + dst_sum +
					DP_PKT_U_BE16(port_n) + 2u * ulen);
	/* 0 means "no checksum" on the wire; send its other zero. */
	dp_pkt_put16(ud + 6, csum == 0 ? 0xffff : csum);
	if (frame_len < DP_ETH_ZLEN) {
		memset(f + frame_len, 0, DP_ETH_ZLEN - frame_len);
		frame_len = DP_ETH_ZLEN;
	}
	return frame_len;
}

#endif /* DP_DPDK_FAST_H_INCLUDED */
