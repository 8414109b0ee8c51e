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
 * inlines them. The checksum helpers are copies of dp_pkt.c's private
 * ones, so this header does not widen dp_pkt.h.
 */
#ifndef DP_DPDK_FAST_H_INCLUDED
#define DP_DPDK_FAST_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dp.h"
#include "dp_fastpath.h"
#include "dp_pkt.h"

#define DP_FAST_INLINE static inline __attribute__((always_inline))

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define DP_FAST_BE16(v) __builtin_bswap16(v)
#define DP_FAST_BE32(v) __builtin_bswap32(v)
/* Bytes 12..14 of the usual frame: type IPv4, version 4, IHL 5. */
#define DP_FAST_ETH_IP4_IHL5 0x450008u
/* Bytes 6..7 of an IPv4 header word at 4, MF and the fragment offset. */
#define DP_FAST_IP4_FRAG 0xff3f0000u
#else
#define DP_FAST_BE16(v) (v)
#define DP_FAST_BE32(v) (v)
#define DP_FAST_ETH_IP4_IHL5 0x08004500u
#define DP_FAST_IP4_FRAG 0x00003fffu
#endif

DP_FAST_INLINE uint64_t
dp_fast_ld64(const void *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

DP_FAST_INLINE uint32_t
dp_fast_ld32(const void *p)
{
	uint32_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

DP_FAST_INLINE uint16_t
dp_fast_ld16(const void *p)
{
	uint16_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

DP_FAST_INLINE void
dp_fast_st16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* sum + w with the end-around carry (dp_pkt.c's csum_add). */
DP_FAST_INLINE uint64_t
dp_fast_csum_add(uint64_t sum, uint64_t w)
{
	sum += w;
	return sum + (sum < w);
}

/* dp_pkt.c's csum_partial: native 64-bit words with end-around carry,
 * the last len % 8 bytes as one load ending at the datagram's end (the
 * usual frame has the 42 header bytes before it, so len >= 8 is not
 * needed for that load to stay inside the frame; len >= 8 anyway, as
 * the UDP header is summed too). */
DP_FAST_INLINE uint64_t
dp_fast_csum_partial(const uint8_t *p, size_t len, uint64_t sum)
{
	const uint8_t *start = p;
	const uint8_t *end32 = p + (len & ~(size_t)31);

	for (; p != end32; p += 32) {
#if defined(__x86_64__)
		__asm__("addq 0(%[p]), %[s]\n\t"
			"adcq 8(%[p]), %[s]\n\t"
			"adcq 16(%[p]), %[s]\n\t"
			"adcq 24(%[p]), %[s]\n\t"
			"adcq $0, %[s]"
			: [s] "+r"(sum)
			: [p] "r"(p), "m"(*(const uint8_t(*)[32])p)
			: "cc");
#else
		sum = dp_fast_csum_add(sum, dp_fast_ld64(p));
		sum = dp_fast_csum_add(sum, dp_fast_ld64(p + 8));
		sum = dp_fast_csum_add(sum, dp_fast_ld64(p + 16));
		sum = dp_fast_csum_add(sum, dp_fast_ld64(p + 24));
#endif
	}
	if (len & 16) {
		sum = dp_fast_csum_add(sum, dp_fast_ld64(p));
		sum = dp_fast_csum_add(sum, dp_fast_ld64(p + 8));
		p += 16;
	}
	if (len & 8)
		sum = dp_fast_csum_add(sum, dp_fast_ld64(p));
	if ((len & 7) != 0) {
		uint64_t w = dp_fast_ld64(start + len - 8);
		unsigned drop = 64 - 8 * (unsigned)(len & 7);

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		sum = dp_fast_csum_add(sum, w >> drop);
#else
		sum = dp_fast_csum_add(sum, w << drop);
#endif
	}
	return sum;
}

/* Whether an end-around-carry sum folds to 0xffff (dp_pkt.c's csum_ok):
 * a non-zero multiple of 0xffff. GCC divides for "% 0xffff == 0" here;
 * the multiply by 0xffff's inverse mod 2^64 tests the same (a multiple
 * maps to at most (2^64 - 1) / 0xffff, anything else above it). */
DP_FAST_INLINE bool
dp_fast_csum_ok(uint64_t sum)
{
	return sum != 0 &&
	       sum * 0xfffefffefffeffffull <= 0x1000100010001ull;
}

/* What the frame step read. The later steps re-read the sender's address
 * and port from the frame: a load costs less than a register kept live
 * (or spilled) through them. */
struct dp_fast_udp {
	uint32_t src_ip;	/* host order */
	uint16_t plen;		/* UDP payload bytes */
};

/*
 * The usual frame, every check of dp_pkt_parse_hw for it (MAC, version,
 * IHL, lengths, header checksum unless hw says GOOD, fragment, source,
 * destination, protocol, port, UDP length and checksum).
 * @retval true: a datagram to us, *u filled; false: ask the general parse
 */
DP_FAST_INLINE bool
dp_fast_udp4(const uint8_t *f, size_t len, const struct dp_pkt_self *self,
	     unsigned hw, struct dp_fast_udp *u)
{
	const uint8_t *ip = f + DP_ETH_HLEN;
	size_t tot, ulen;
	uint64_t addrs;

	if (len < DP_UDP4_PAYLOAD_OFF ||
	    dp_fast_ld32(f) != dp_fast_ld32(self->mac) ||
	    dp_fast_ld16(f + 4) != dp_fast_ld16(self->mac + 4) ||
	    (dp_fast_ld32(f + 12) & 0xffffffu) != DP_FAST_ETH_IP4_IHL5)
		return false;
	/* each field read where it is checked: few values live at once */
	tot = DP_FAST_BE16(dp_fast_ld16(ip + 2));
	ulen = DP_FAST_BE16(dp_fast_ld16(ip + 24));
	u->src_ip = DP_FAST_BE32(dp_fast_ld32(ip + 12));
	if (tot > len - DP_ETH_HLEN || tot < DP_IPV4_HLEN + DP_UDP_HLEN ||
	    (dp_fast_ld32(ip + 4) & DP_FAST_IP4_FRAG) != 0 ||
	    ip[9] != DP_IPPROTO_UDP ||
	    dp_fast_ld32(ip + 16) != DP_FAST_BE32(self->ip) ||
	    dp_pkt_ip_is_special(u->src_ip) ||
	    dp_fast_ld16(ip + 22) != DP_FAST_BE16(self->port) ||
	    ulen < DP_UDP_HLEN || ulen > tot - DP_IPV4_HLEN)
		return false;
	addrs = (uint64_t)dp_fast_ld32(ip + 12) + dp_fast_ld32(ip + 16);
	if (!(hw & DP_PKT_HW_IP4_CSUM_GOOD) &&
	    !dp_fast_csum_ok(addrs + dp_fast_ld32(ip) + dp_fast_ld32(ip + 4) +
			     dp_fast_ld32(ip + 8)))
		return false;
	/* the pseudo header's protocol and length as native words */
	if (dp_fast_ld16(ip + 26) != 0 && !(hw & DP_PKT_HW_L4_CSUM_GOOD) &&
	    !dp_fast_csum_ok(dp_fast_csum_partial(ip + DP_IPV4_HLEN, ulen,
			addrs + DP_FAST_BE16((uint16_t)DP_IPPROTO_UDP) +
			DP_FAST_BE16((uint16_t)ulen))))
		return false;
	u->plen = (uint16_t)(ulen - DP_UDP_HLEN);
	return true;
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
		*v = DP_FAST_BE32(dp_fast_ld32(q + 1));
		return 5;
	}
	if (q[0] == 0xcd && avail >= 3) {
		*v = DP_FAST_BE16(dp_fast_ld16(q + 1));
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
	diff = (dp_fast_ld64(b) ^ dp_fast_ld64(pat->prefix)) |
	       (dp_fast_ld64(b + pl - 8) ^ dp_fast_ld64(pat->prefix + pl - 8));
	for (size_t i = 8; i + 8 < pl; i += 8)
		diff |= dp_fast_ld64(b + i) ^ dp_fast_ld64(pat->prefix + i);
	if (diff != 0)
		return false;
	q = b + pl;
	n = dp_fast_seq(q, end, &p->seq_no);
	if (n == 0)
		return false;
	q += n;
	if (end - q < 28 ||
	    dp_fast_ld64(q) != dp_fast_ld64("\xaaSourceA") ||
	    dp_fast_ld64(q + 4) != dp_fast_ld64("rceAddr\xa4") ||
	    dp_fast_ld64(q + 16) != dp_fast_ld64("\xaaSourceN") ||
	    dp_fast_ld32(q + 23) != dp_fast_ld32("Node") ||
	    (q[27] & 0xe0) != 0xa0)
		return false;
	n = 28 + (size_t)(q[27] & 0x1f);
	if ((size_t)(end - q) < n + 14 ||
	    dp_fast_ld64(q + n) != dp_fast_ld64("\xaaSourceP") ||
	    dp_fast_ld32(q + n + 8) != dp_fast_ld32("ort\xcd"))
		return false;
	p->port_n = dp_fast_ld16(q + n + 12);
	if (p->port_n == 0) {
		p->port_n = dp_fast_ld16(b - DP_UDP_HLEN);
		return true;
	}
	/* the sender's address, 16 bytes before the UDP header */
	return dp_fast_ld32(q + 12) ==
	       dp_fast_ld32(b - DP_UDP_HLEN - DP_IPV4_HLEN + 12);
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
	size_t head = t->head_len;
	uint32_t seq;
	unsigned w;
	size_t n;

	dp_fp_copy_blocks(out, t->bytes, head);
	w = dp_fp_put_seq(out + head, seq_no, t->seq_odd, &seq);
	n = w == 3 ? 5 : w + 1;
	if (t->tail_len != 0)
		memcpy(out + head + n, t->bytes + head, t->tail_len);
	if (t->part_len != 0) {
		/* the ack part's length in the compound header */
		out[2] = (uint8_t)((t->part_len + n) >> 8);
		out[3] = (uint8_t)(t->part_len + n);
	}
	*sum = t->width_sum[w] + seq;
	return head + n + t->tail_len;
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
	uint32_t mac_lo = dp_fast_ld32(f + DP_ETH_ALEN);
	uint16_t mac_hi = dp_fast_ld16(f + DP_ETH_ALEN + 4);
	/* the ping's source, re-read: cheaper than keeping it in a register
	 * (or on the stack) through every step */
	uint32_t dst_n = dp_fast_ld32(ip + 12);
	uint32_t dst = DP_FAST_BE32(dst_n);
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
					DP_FAST_BE16(port_n) + 2u * ulen);
	/* 0 means "no checksum" on the wire; send its other zero. */
	dp_pkt_put16(ud + 6, csum == 0 ? 0xffff : csum);
	if (frame_len < DP_ETH_ZLEN) {
		memset(f + frame_len, 0, DP_ETH_ZLEN - frame_len);
		frame_len = DP_ETH_ZLEN;
	}
	return frame_len;
}

#endif /* DP_DPDK_FAST_H_INCLUDED */
