/* SPDX-License-Identifier: MIT */
/*
 * The DPDK lcore's fused ping -> ack: one straight pass for the usual
 * frame only (to our MAC, IPv4 IHL 5, not a fragment, UDP to our address
 * and port, a bare ping to our name in go-msgpack's usual layout with
 * IPv4 Source* keys, acked from the template to the frame's own sender).
 *
 * What is fixed about that frame, from its first byte to the ping's
 * SeqNo, is known per snapshot: struct dp_fast holds it as bytes and a
 * bit mask, checked 16 bytes at a time (our MAC, EtherType, version and
 * IHL, fragment bits, protocol, our address and port, the ping prefix
 * with our name), and the prefix's share of the UDP checksum is summed
 * once. Header sums for the ack are kept in native byte order (RFC 1071's
 * sum does not care), so nothing on the way is byte-swapped twice.
 *
 * Every step answers "is this the usual case, and does every check the
 * general path makes pass?" and writes nothing until the last one said
 * yes: on false the caller hands the untouched frame to the general path
 * (dp_pkt_parse_hw, dp_fp_match, send_ack), which then gives the answer
 * and the drop reason. So the two paths agree by construction, and
 * tests/dp/test_fp_diff.c and test_fast_diff.c check that they do.
 *
 * Static inline steps (no DPDK, no state): the lcore's loop inlines them.
 * dp_fast_init (dp_dpdk_fast.c) builds struct dp_fast.
 */
#ifndef DP_DPDK_FAST_H_INCLUDED
#define DP_DPDK_FAST_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE4_1__)
#include <smmintrin.h>
#endif

#include "dp.h"
#include "dp_fastpath.h"
#include "dp_csum.h"
#include "dp_pkt.h"
#include "dp_pkt_usual.h"

#define DP_FAST_INLINE static inline __attribute__((always_inline))

/** The unit of the frame pattern's compare. */
#define DP_FAST_CHUNK 16
/** Chunks the longest pattern takes (headers, then the ping prefix). */
#define DP_FAST_CHUNKS \
	((DP_UDP4_PAYLOAD_OFF + SWIM_PING_PAT_MAX + DP_FAST_CHUNK - 1) / \
	 DP_FAST_CHUNK)

typedef uint8_t dp_fast_v16 __attribute__((vector_size(DP_FAST_CHUNK)));

/** 16 bytes of the usual frame: what they hold where mask has bits. */
struct dp_fast_chunk {
	dp_fast_v16 want;
	dp_fast_v16 mask;
};

/**
 * The usual ping and its ack, precomputed for one lcore from its
 * snapshot copy (dp_fp) and the node's address (dp_fast_init).
 */
struct dp_fast {
	struct dp_fast_chunk head[3];	/* frame bytes 0..47 */
	struct dp_fast_chunk last;	/* the 16 bytes up to pat_len (they
					 * may overlap the ones before) */
	struct dp_fast_chunk mid[DP_FAST_CHUNKS - 4]; /* 48.. before last */
	size_t nb_mid;
	/* the Source* keys after the SeqNo: at its end, 12 bytes on, and
	 * 2 before SourcePort (dp_fast_ping) */
	struct dp_fast_chunk keys[3];
	size_t pat_len;		/* frame bytes up to the SeqNo; SIZE_MAX:
				 * the fused path is off */
	size_t sum_from;	/* frame offset where the summed part of
				 * the datagram starts */
	uint32_t pat_sum;	/* native sum of bytes 42..sum_from, and of
				 * the pseudo header's protocol word */
	size_t ack_room;	/* room the widest ack takes (with the head
				 * copy's round-up) */
	uint32_t ip_sum_n;	/* hdrs' sums, native words, folded */
	uint32_t udp_sum_n;
	uint8_t hdr[DP_UDP4_PAYLOAD_OFF]; /* the ack's headers, as hdrs */
};

/**
 * Build fc for self's frames and fp's snapshot; max_frame: the largest
 * frame the port sends. A snapshot without a ping pattern or a template,
 * or whose widest ack exceeds max_frame, turns the fused path off: every
 * frame then takes the general path.
 */
void dp_fast_init(struct dp_fast *fc, const struct dp_pkt_self *self,
		  const struct dp_pkt_udp4_tmpl *hdrs, const struct dp_fp *fp,
		  size_t max_frame);

DP_FAST_INLINE dp_fast_v16
dp_fast_ld16(const uint8_t *p)
{
	dp_fast_v16 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

DP_FAST_INLINE dp_fast_v16
dp_fast_diff(const uint8_t *p, const struct dp_fast_chunk *c)
{
	return (dp_fast_ld16(p) ^ c->want) & c->mask;
}

DP_FAST_INLINE bool
dp_fast_v16_zero(dp_fast_v16 v)
{
#if defined(__SSE4_1__)
	__m128i x;

	memcpy(&x, &v, sizeof(x));
	return _mm_testz_si128(x, x) != 0;
#else
	uint64_t w[2];

	memcpy(w, &v, sizeof(w));
	return (w[0] | w[1]) == 0;
#endif
}

/* dp_pkt_ip_is_special for an address as loaded from the wire: 0 and
 * all-ones read the same either way, and 224.0.0.0/4 is the first byte's
 * high nibble. */
DP_FAST_INLINE bool
dp_fast_ip_special_n(uint32_t ip_n)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint32_t top = 0xf0u, mcast = 0xe0u;
#else
	const uint32_t top = 0xf0000000u, mcast = 0xe0000000u;
#endif
	return ip_n + 1 <= 1 || (ip_n & top) == mcast;
}

DP_FAST_INLINE void
dp_fast_st16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

/*
 * The frame's fixed bytes, lengths, source and checksums: everything
 * dp_pkt_udp4_usual checks, the fixed part as fc's pattern. Reads only
 * the first pat_len bytes before it knows the lengths.
 * @retval true: a datagram to us starting with our ping prefix, *plen
 *         its payload's length; false: ask the general path
 */
DP_FAST_INLINE bool
dp_fast_frame(const uint8_t *f, size_t len, const struct dp_fast *fc,
	      unsigned hw, size_t *plen)
{
	const uint8_t *ip = f + DP_ETH_HLEN;
	dp_fast_v16 diff;
	size_t tot, ulen;
	uint64_t sum;

	if (len < fc->pat_len)
		return false;
	/* pat_len >= 57: the head's 48 bytes, the last 16, any between */
	diff = dp_fast_diff(f, &fc->head[0]) |
	       dp_fast_diff(f + 16, &fc->head[1]) |
	       dp_fast_diff(f + 32, &fc->head[2]) |
	       dp_fast_diff(f + fc->pat_len - 16, &fc->last);
	for (size_t i = 0; i < fc->nb_mid; i++)
		diff |= dp_fast_diff(f + 48 + 16 * i, &fc->mid[i]);
	if (!dp_fast_v16_zero(diff))
		return false;
	tot = DP_PKT_U_BE16(dp_pkt_u_ld16(ip + 2));
	ulen = DP_PKT_U_BE16(dp_pkt_u_ld16(ip + 24));
	/* after the prefix, at least a SeqNo and the Source* keys (28 +
	 * 14 bytes, dp_fast_ping): so ulen >= 8, and tot >= 28 once
	 * ulen + 20 <= tot */
	if (tot > len - DP_ETH_HLEN || ulen + DP_IPV4_HLEN > tot ||
	    DP_ETH_HLEN + DP_IPV4_HLEN + ulen < fc->pat_len + 1 + 42 ||
	    dp_fast_ip_special_n(dp_csum_ld32n(ip + 12)))
		return false;
	if (!(hw & DP_PKT_HW_IP4_CSUM_GOOD) &&
	    !dp_csum_ok(dp_csum_ip4_hdr(ip)))
		return false;
	*plen = ulen - DP_UDP_HLEN;
	if (dp_pkt_u_ld16(ip + 26) == 0 || (hw & DP_PKT_HW_L4_CSUM_GOOD))
		return true;
	/* addresses, UDP header (its length is the pseudo header's too),
	 * the prefix's known sum, then the bytes after it */
	sum = dp_csum_partial(ip + 12, 16,
			      fc->pat_sum + dp_pkt_u_ld16(ip + 24));
	/* sum_from <= pat_len: more than 42 bytes to go */
	return dp_csum_ok(dp_csum_partial8(f + fc->sum_from,
					  DP_UDP4_PAYLOAD_OFF + *plen -
					  fc->sum_from, sum));
}

/* What the ping step read: the SeqNo, and where the ack goes (wire). */
struct dp_fast_ping {
	uint32_t seq_no;
	uint16_t port_n;	/* the ack's destination port, as on the wire */
};

/* The SeqNo at q, with at least 5 bytes there (dp_fast_frame saw to
 * that): swim_wire_ping.c's swim_ping_uint, max 0xce, the widest first
 * (a prober's SeqNo passes 0xffff within a day and stays there).
 * @retval bytes read, 0: not an encoding the usual ping uses */
DP_FAST_INLINE size_t
dp_fast_seq(const uint8_t *q, uint32_t *v)
{
	if (q[0] == 0xce) {
		*v = DP_PKT_U_BE32(dp_csum_ld32n(q + 1));
		return 5;
	}
	if (q[0] <= 0x7f) {
		*v = q[0];
		return 1;
	}
	if (q[0] == 0xcd) {
		*v = DP_PKT_U_BE16(dp_pkt_u_ld16(q + 1));
		return 3;
	}
	if (q[0] == 0xcc) {
		*v = q[1];
		return 2;
	}
	return 0;
}

/*
 * After the prefix dp_fast_frame matched, in the payload of plen bytes:
 * swim_wire_match_ping_pat's usual case (SeqNo, swim_ping_source4's
 * fixed-offset Source* keys), then dp_fp_ack_to_source: the ack goes to
 * SourceAddr:SourcePort when SourcePort is set, else to the sender. Only
 * a SourceAddr that is the sender's own address is taken here (its MAC
 * is the frame's); another one waits on the ARP cache: general path.
 * @retval true: *p filled; false: ask the general path
 */
DP_FAST_INLINE bool
dp_fast_ping(const uint8_t *f, size_t plen, const struct dp_fast *fc,
	     struct dp_fast_ping *p)
{
	const uint8_t *end = f + DP_UDP4_PAYLOAD_OFF + plen;
	const uint8_t *q = f + fc->pat_len;
	size_t n;

	if (plen > DP_PKT_MAX)
		return false;
	n = dp_fast_seq(q, &p->seq_no);
	if (n == 0)
		return false;
	q += n;
	/* SourceAddr, a 4-byte address, SourceNode, a fixstr header: 28
	 * bytes (dp_fast_frame left 43 after the prefix, so 38 remain);
	 * the name; SourcePort, a uint16: 14 bytes */
	n = 28 + (size_t)(q[27] & 0x1f);
	if ((size_t)(end - q) < n + 14 ||
	    !dp_fast_v16_zero(dp_fast_diff(q, &fc->keys[0]) |
			      dp_fast_diff(q + 12, &fc->keys[1]) |
			      dp_fast_diff(q + n - 2, &fc->keys[2])))
		return false;
	p->port_n = dp_pkt_u_ld16(q + n + 12);
	if (p->port_n == 0) {
		p->port_n = dp_pkt_u_ld16(f + DP_ETH_HLEN + DP_IPV4_HLEN);
		return true;
	}
	/* the sender's address */
	return dp_csum_ld32n(q + 12) == dp_csum_ld32n(f + DP_ETH_HLEN + 12);
}

/* The ack's payload from t at out: dp_fp_ack_tmpl's bytes and sum.
 * @retval the payload's length; *sum its unfolded sum */
DP_FAST_INLINE size_t
dp_fast_ack_body(uint8_t *out, const struct dp_fp_tmpl *t, uint32_t seq_no,
		 uint32_t *sum)
{
	dp_fp_copy_blocks(out, t->bytes, t->head_blocks);
	return dp_fp_tmpl_finish(out, t, seq_no, sum);
}

/*
 * The ack's headers around its payload of plen bytes (sum: its sum as
 * big-endian words), to the ping's sender: dp_pkt_udp4_hdrs_put's bytes.
 * The sums run on native words; on a little-endian CPU, sum rotated by 8
 * bits is the same sum in native words (times 2^8 modulo 2^32 - 1, which
 * is a byte swap modulo 0xffff).
 * @retval the frame's length, padded to DP_ETH_ZLEN
 */
DP_FAST_INLINE size_t
dp_fast_ack_hdrs(uint8_t *f, const struct dp_fast *fc, uint16_t port_n,
		 size_t plen, uint32_t sum)
{
	uint8_t *ip = f + DP_ETH_HLEN;
	uint8_t *ud = ip + DP_IPV4_HLEN;
	uint32_t mac_lo = dp_csum_ld32n(f + DP_ETH_ALEN);
	uint16_t mac_hi = dp_pkt_u_ld16(f + DP_ETH_ALEN + 4);
	/* the ping's source, re-read: cheaper than a register kept live */
	uint32_t dst_n = dp_csum_ld32n(ip + 12);
	uint16_t ulen_n = DP_PKT_U_BE16((uint16_t)(DP_UDP_HLEN + plen));
	uint16_t tot_n = DP_PKT_U_BE16((uint16_t)(DP_IPV4_HLEN +
						  DP_UDP_HLEN + plen));
	size_t frame_len = DP_UDP4_PAYLOAD_OFF + plen;
	uint16_t csum;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	sum = sum << 8 | sum >> 24;
#endif
	/* 32 + 8 + 2 bytes, fixed-size moves: as one 42-byte memcpy GCC
	 * emitted rep movsb here (one instruction per byte under callgrind) */
	__builtin_memcpy(f, fc->hdr, 32);
	__builtin_memcpy(f + 32, fc->hdr + 32, 8);
	__builtin_memcpy(f + 40, fc->hdr + 40, 2);
	memcpy(f, &mac_lo, 4);
	memcpy(f + 4, &mac_hi, 2);
	dp_fast_st16(ip + 2, tot_n);
	dp_fast_st16(ip + 10, dp_csum_of32(dp_csum_add32(fc->ip_sum_n +
							   tot_n, dst_n)));
	memcpy(ip + 16, &dst_n, 4);
	dp_fast_st16(ud + 2, port_n);
	dp_fast_st16(ud + 4, ulen_n);
	/* the UDP length counts twice: pseudo header and UDP header */
	csum = dp_csum_of32(dp_csum_add32(dp_csum_add32(fc->udp_sum_n +
			port_n + 2u * ulen_n, dst_n), sum));
	/* 0 means "no checksum" on the wire; send its other zero. */
	dp_fast_st16(ud + 6, csum == 0 ? 0xffff : csum);
	if (frame_len < DP_ETH_ZLEN) {
		memset(f + frame_len, 0, DP_ETH_ZLEN - frame_len);
		frame_len = DP_ETH_ZLEN;
	}
	return frame_len;
}

/*
 * The usual ping in f (len bytes received, cap bytes of room) acked in
 * place, from fc and the template t it was built with.
 * @retval the ack frame's length; 0: f untouched, ask the general path
 */
DP_FAST_INLINE size_t
dp_fast_ping_ack(uint8_t *f, size_t len, size_t cap, unsigned hw,
		 const struct dp_fast *fc, const struct dp_fp_tmpl *t)
{
	struct dp_fast_ping p;
	uint32_t sum;
	size_t plen;

	if (!dp_fast_frame(f, len, fc, hw, &plen) ||
	    !dp_fast_ping(f, plen, fc, &p) || cap < fc->ack_room)
		return 0;
	plen = dp_fast_ack_body(f + DP_UDP4_PAYLOAD_OFF, t, p.seq_no, &sum);
	return dp_fast_ack_hdrs(f, fc, p.port_n, plen, sum);
}

#endif /* DP_DPDK_FAST_H_INCLUDED */
