/* SPDX-License-Identifier: MIT */
/**
 * @file
 * RFC 1071 Internet checksum primitives for the packet code: one copy,
 * static inline, used by dp_pkt.c (parse and build) and by the lcore's
 * fused ping -> ack (dp_dpdk_fast.h). Sums are native-order 64-bit
 * accumulators with end-around carry; fold at the end (RFC 1071 2(B),
 * 2(C): wider words and either byte order give the same 16-bit sum, up
 * to one final swap). Unaligned loads go through memcpy.
 */
#ifndef DP_CSUM_H_INCLUDED
#define DP_CSUM_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define DP_CSUM_INLINE static inline __attribute__((always_inline))

DP_CSUM_INLINE uint64_t
dp_csum_ld64n(const void *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

DP_CSUM_INLINE uint32_t
dp_csum_ld32n(const void *p)
{
	uint32_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/* sum + w with the carry out added back in (end-around carry): an add
 * and an add-with-carry on x86-64 and arm64. */
DP_CSUM_INLINE uint64_t
dp_csum_add(uint64_t sum, uint64_t w)
{
	sum += w;
	return sum + (sum < w);
}

/* dp_csum_add on 32 bits. */
DP_CSUM_INLINE uint32_t
dp_csum_add32(uint32_t sum, uint32_t w)
{
	sum += w;
	return sum + (sum < w);
}

/* The checksum of a 32-bit end-around-carry sum: ~(its 16-bit fold), as
 * in Linux's csum_fold (the rotated copy adds the halves, carry included,
 * into the high half). */
DP_CSUM_INLINE uint16_t
dp_csum_of32(uint32_t s)
{
	return (uint16_t)((~s - (s >> 16 | s << 16)) >> 16);
}

/* Fold a 64-bit accumulator into 16 bits: 64 -> 32 with the end-around
 * carry, then 32 -> 16 in two steps, each carry at most one bit wide. */
DP_CSUM_INLINE uint16_t
dp_csum_fold(uint64_t sum)
{
	uint32_t hi = (uint32_t)(sum >> 32);
	uint32_t s = (uint32_t)sum + hi;

	s += s < hi;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The last len % 8 bytes (len < 8) as one native word, zero-padded. */
DP_CSUM_INLINE uint64_t
dp_csum_ld_tail(const uint8_t *p, size_t len)
{
	uint64_t w = 0;

	if (len & 4) {
		w = dp_csum_ld32n(p);
		p += 4;
	}
	if (len & 2) {
		uint16_t h;

		memcpy(&h, p, 2);
		w |= (uint64_t)h << (8 * (len & 4));
		p += 2;
	}
	if (len & 1)
		w |= (uint64_t)p[0] << (8 * (len & 6));
	return w;
}

/*
 * dp_csum_partial for len >= 8: the carries of each 32 (and 16) bytes
 * ride one add-with-carry chain on x86-64, as in the kernel's
 * csum_partial (about one instruction per 8 bytes), and the last 1..8
 * bytes are one load ending at the last byte, the bytes before them
 * shifted out (by 64 - 8 * (their count), which is -8 * len modulo 64).
 */
DP_CSUM_INLINE uint64_t
dp_csum_partial8(const uint8_t *p, size_t len, uint64_t sum)
{
	const uint8_t *start = p;
	size_t whole = (len - 1) & ~(size_t)7;
	const uint8_t *end32 = p + (whole & ~(size_t)31);
	uint64_t last;

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
		sum = dp_csum_add(sum, dp_csum_ld64n(p));
		sum = dp_csum_add(sum, dp_csum_ld64n(p + 8));
		sum = dp_csum_add(sum, dp_csum_ld64n(p + 16));
		sum = dp_csum_add(sum, dp_csum_ld64n(p + 24));
#endif
	}
	if (whole & 16) {
#if defined(__x86_64__)
		__asm__("addq 0(%[p]), %[s]\n\t"
			"adcq 8(%[p]), %[s]\n\t"
			"adcq $0, %[s]"
			: [s] "+r"(sum)
			: [p] "r"(p), "m"(*(const uint8_t(*)[16])p)
			: "cc");
#else
		sum = dp_csum_add(sum, dp_csum_ld64n(p));
		sum = dp_csum_add(sum, dp_csum_ld64n(p + 8));
#endif
		p += 16;
	}
	if (whole & 8)
		sum = dp_csum_add(sum, dp_csum_ld64n(p));
	last = dp_csum_ld64n(start + len - 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return dp_csum_add(sum, last >> ((0 - 8 * len) & 63));
#else
	return dp_csum_add(sum, last << ((0 - 8 * len) & 63));
#endif
}

/* Ones' complement sum of len bytes as native 16-bit words, unfolded,
 * added to sum. */
DP_CSUM_INLINE uint64_t
dp_csum_partial(const uint8_t *p, size_t len, uint64_t sum)
{
	if (len < 8)
		return dp_csum_add(sum, dp_csum_ld_tail(p, len));
	return dp_csum_partial8(p, len, sum);
}

/* The unfolded sum of a 20-byte IPv4 header (no options): two words and
 * a half, one add-with-carry chain on x86-64. */
DP_CSUM_INLINE uint64_t
dp_csum_ip4_hdr(const uint8_t *ip)
{
	uint64_t sum = dp_csum_ld64n(ip);
	uint64_t tail = dp_csum_ld32n(ip + 16);

#if defined(__x86_64__)
	__asm__("addq 8(%[p]), %[s]\n\t"
		"adcq %[t], %[s]\n\t"
		"adcq $0, %[s]"
		: [s] "+r"(sum)
		: [p] "r"(ip), [t] "r"(tail), "m"(*(const uint8_t(*)[16])ip)
		: "cc");
	return sum;
#else
	return dp_csum_add(dp_csum_add(sum, dp_csum_ld64n(ip + 8)), tail);
#endif
}

/* Whether an end-around-carry sum folds to 0xffff (the header or the
 * datagram verifies): folding keeps the value mod 0xffff (2^16 and 2^64
 * are 1 mod 0xffff) and gives 0 only for 0, so that is "a non-zero
 * multiple of 0xffff". GCC divides for "% 0xffff == 0"; the multiply by
 * 0xffff's inverse mod 2^64 tests the same (a multiple maps to at most
 * (2^64 - 1) / 0xffff, anything else above it). */
DP_CSUM_INLINE bool
dp_csum_ok(uint64_t sum)
{
	return sum != 0 &&
	       sum * 0xfffefffefffeffffull <= 0x1000100010001ull;
}

#endif /* DP_CSUM_H_INCLUDED */
