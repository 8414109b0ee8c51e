/* SPDX-License-Identifier: MIT */
/*
 * The RFC 1071 primitives of dataplane/dp_csum.h against a byte-at-a-time reference: every
 * length 0..300 at every start offset 0..7 (the add-with-carry blocks,
 * the 16- and 8-byte steps, the shifted last load), random seeds, and
 * the sums that fold to either zero.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "dp_csum.h"
#include "fp_gen.h"

/* RFC 1071 on native 16-bit words, a lone last byte zero-padded. */
static uint16_t
ref_fold(uint64_t s)
{
	while (s > 0xffff)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint16_t
ref_sum(const uint8_t *p, size_t len, uint16_t seed)
{
	uint64_t s = seed;

	for (size_t i = 0; i < len; i += 2) {
		uint8_t b[2] = { p[i], i + 1 < len ? p[i + 1] : 0 };
		uint16_t w;

		memcpy(&w, b, 2);
		s += w;
	}
	return ref_fold(s);
}

Test(csum, partial_matches_reference_at_every_length_and_offset)
{
	static uint8_t buf[320];
	struct fpg_rng r;

	fpg_seed(&r, 0xc5);
	for (unsigned round = 0; round < 4; round++) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = round == 3 ? 0xff : (uint8_t)fpg_next(&r);
		for (size_t off = 0; off < 8; off++)
			for (size_t len = 0; len <= 300; len++) {
				uint16_t seed = (uint16_t)fpg_next(&r);
				uint16_t want = ref_sum(buf + off, len, seed);

				cr_assert_eq(dp_csum_fold(dp_csum_partial(
					buf + off, len, seed)), want,
					"len %zu off %zu", len, off);
				if (len >= 8)
					cr_assert_eq(dp_csum_fold(
						dp_csum_partial8(buf + off,
								 len, seed)),
						want, "len %zu off %zu", len,
						off);
			}
	}
}

Test(csum, ip4_header_sum_matches_reference)
{
	uint8_t h[20];
	struct fpg_rng r;

	fpg_seed(&r, 0x1b4);
	for (unsigned i = 0; i < 100000; i++) {
		for (size_t k = 0; k < sizeof(h); k++)
			h[k] = i < 2 ? (uint8_t)(i ? 0xff : 0) :
				       (uint8_t)fpg_next(&r);
		cr_assert_eq(dp_csum_fold(dp_csum_ip4_hdr(h)),
			     ref_sum(h, sizeof(h), 0), "case %u", i);
	}
}

/* dp_csum_ok: a non-zero sum that folds to 0xffff, nothing else. */
Test(csum, ok_is_exactly_a_nonzero_multiple_of_0xffff)
{
	static const uint64_t yes[] = {
		0xffff, 0x1fffe, 0xffffffffffffffffull, 0xffffull * 0x12345,
		0xfffe0001ull + 0xffff,
	};
	static const uint64_t no[] = {
		0, 1, 0xfffe, 0x10000, 0xffffffffffffffffull - 1,
		0xffffull * 0x12345 + 1,
	};
	struct fpg_rng r;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		cr_assert(dp_csum_ok(yes[i]), "%#llx",
			  (unsigned long long)yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		cr_assert(!dp_csum_ok(no[i]), "%#llx",
			  (unsigned long long)no[i]);
	fpg_seed(&r, 0x0c);
	for (unsigned i = 0; i < 1000000; i++) {
		uint64_t s = fpg_next(&r) >> (i % 48);

		cr_assert_eq(dp_csum_ok(s), s != 0 && ref_fold(s) == 0xffff,
			     "%#llx", (unsigned long long)s);
	}
}

/* The ack's header sums: ~fold of an end-around 32-bit sum of words. */
Test(csum, fast_fold_matches_reference)
{
	struct fpg_rng r;

	fpg_seed(&r, 0xf01d);
	for (unsigned i = 0; i < 1000000; i++) {
		uint32_t a = (uint32_t)fpg_next(&r) >> (i % 32);
		uint32_t b = i < 4 ? 0xffffffffu : (uint32_t)fpg_next(&r);
		uint64_t wide = (uint64_t)a + b;

		cr_assert_eq(dp_csum_of32(dp_csum_add32(a, b)),
			     (uint16_t)~ref_fold(wide), "%#x + %#x", a, b);
	}
}
