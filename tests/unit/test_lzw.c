/* SPDX-License-Identifier: MIT */
/*
 * swim_lzw: Go compress/lzw (LSB, litWidth 8) vectors from memberlist-
 * wire.md §4.3 and Appendix A, round trips up to 300 kB across dictionary
 * resets, and every way a stream can be corrupt.
 */
#include <criterion/criterion.h>

#include "swim_wire.h"
#include "wire_util.h"

TestSuite(lzw, .timeout = 30);

#define HEX_LZW_PING                                                        \
	"00011422e5e40d9932a1c4949a52264ec100aaa6bca923674c992064c8c821f5"  \
	"0700008812295a2c7830549888132b9681f2460e9d661f140404"

enum { BIG = 300 * 1024 };

/* Buffers too big for the stack of a Criterion worker. */
static uint8_t in_buf[BIG + 16];
static uint8_t z_buf[BIG * 2];
static uint8_t out_buf[BIG + 16];

/* Deterministic xorshift64* so failures reproduce. */
static uint64_t
rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static void
check_vector(const uint8_t *in, size_t len, const char *hex)
{
	uint8_t want[128], z[128], back[128];
	int n = wire_unhex(hex, want, sizeof(want));

	cr_assert_eq(swim_lzw_compress(in, len, z, sizeof(z)), n);
	cr_assert_arr_eq(z, want, (size_t)n);
	cr_assert_eq(swim_lzw_decompress(z, (size_t)n, back, sizeof(back)),
		     (int)len);
	if (len > 0)
		cr_assert_arr_eq(back, in, len);
}

Test(lzw, empty)
{
	check_vector(NULL, 0, "000302");
}

Test(lzw, forty_a)
{
	uint8_t a[40];

	memset(a, 'a', sizeof(a));
	check_vector(a, sizeof(a), "00c3081c48b0a0c18308090604");
}

Test(lzw, ping59_to_58)
{
	uint8_t ping[64];
	int n = wire_unhex(HEX_PING59, ping, sizeof(ping));

	cr_assert_eq(n, 59);
	check_vector(ping, 59, HEX_LZW_PING);
}

/* Compress, check the size is sane, decompress and compare. */
static void
round_trip(size_t len, const char *what)
{
	int z = swim_lzw_compress(in_buf, len, z_buf, sizeof(z_buf));
	int back;

	cr_assert_gt(z, 0, "%s len %zu", what, len);
	back = swim_lzw_decompress(z_buf, (size_t)z, out_buf, sizeof(out_buf));
	cr_assert_eq(back, (int)len, "%s len %zu: got %d", what, len, back);
	cr_assert_eq(memcmp(in_buf, out_buf, len), 0, "%s len %zu", what, len);
	/* An exact-size output buffer is enough; one byte less is not. */
	cr_assert_eq(swim_lzw_decompress(z_buf, (size_t)z, out_buf, len), back);
	if (len > 0)
		cr_assert_eq(swim_lzw_decompress(z_buf, (size_t)z, out_buf,
						 len - 1),
			     SWIM_WIRE_E_NOSPACE);
	cr_assert_eq(swim_lzw_compress(in_buf, len, z_buf, (size_t)z - 1),
		     SWIM_WIRE_E_NOSPACE, "%s len %zu", what, len);
}

Test(lzw, random_bytes_round_trip)
{
	static const size_t lens[] = { 1, 2, 255, 256, 1000, 4095, 4096,
				       10000, 65536, 100000, BIG };
	uint64_t s = 0x9e3779b97f4a7c15ull;

	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		for (size_t i = 0; i < lens[k]; i++)
			in_buf[i] = (uint8_t)rng_next(&s);
		round_trip(lens[k], "random");
	}
}

Test(lzw, low_entropy_round_trip)
{
	static const size_t lens[] = { 3, 64, 4097, 50000, BIG };
	uint64_t s = 42;

	/* Few symbols and runs: long matches, KwKwK codes, many resets. */
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		for (size_t i = 0; i < lens[k]; i++) {
			uint64_t r = rng_next(&s);

			in_buf[i] = (r & 7) == 0 ? (uint8_t)(r >> 8) :
						   (uint8_t)("ab"[(r >> 3) & 1]);
		}
		round_trip(lens[k], "low-entropy");
		memset(in_buf, 'x', lens[k]);
		round_trip(lens[k], "run");
	}
}

Test(lzw, msgpack_like_round_trip)
{
	size_t len = 0;
	uint64_t s = 7;

	/* Gossip-shaped input: repeated keys with varying values. */
	while (len + 80 < BIG) {
		int n = snprintf((char *)in_buf + len, 80,
				 "\x86\xa4" "Addr\xa4\x7f%c%c\x01\xa4Node\xa3n%02u",
				 (int)(rng_next(&s) % 200) + 1, 0x20,
				 (unsigned)(rng_next(&s) % 100));
		len += (size_t)n;
	}
	round_trip(len, "msgpack-like");
}

Test(lzw, dictionary_reset_is_in_stream)
{
	uint64_t s = 1;
	int z;

	/* 5000 random bytes need > 4095 codes: the encoder must CLEAR. */
	for (size_t i = 0; i < 5000; i++)
		in_buf[i] = (uint8_t)rng_next(&s);
	z = swim_lzw_compress(in_buf, 5000, z_buf, sizeof(z_buf));
	cr_assert_gt(z, 5000);
	cr_assert_eq(swim_lzw_decompress(z_buf, (size_t)z, out_buf, 5000),
		     5000);
}

Test(lzw, unterminated)
{
	uint8_t z[128];
	int n = wire_unhex(HEX_LZW_PING, z, sizeof(z));

	/* Any cut before the EOF code is an error, never a short result. */
	for (int i = 0; i < n - 1; i++)
		cr_assert_eq(swim_lzw_decompress(z, (size_t)i, out_buf, 128),
			     SWIM_WIRE_E_LZW, "cut at %d", i);
	cr_assert_eq(swim_lzw_decompress(z, (size_t)n, out_buf, 128), 59);
}

/* A compressed message whose body is empty (a nil slice in Go, NULL here). */
Test(lzw, empty_input_is_an_error)
{
	cr_assert_eq(swim_lzw_decompress(NULL, 0, out_buf, 128),
		     SWIM_WIRE_E_LZW);
}

Test(lzw, no_clear_first_is_fine)
{
	/* 'h' 'i' EOF at 9 bits, no leading CLEAR: Go's reader accepts. */
	uint8_t z[4] = { 0x68, 0xd2, 0x04, 0x04 };

	cr_assert_eq(swim_lzw_decompress(z, sizeof(z), out_buf, 16), 2);
	cr_assert_eq(out_buf[0], 'h');
	cr_assert_eq(out_buf[1], 'i');
}

Test(lzw, invalid_code)
{
	/* CLEAR then code 300 while the table ends at 257. */
	uint8_t z[4] = { 0x00, 0x59, 0x02, 0x00 };

	cr_assert_eq(swim_lzw_decompress(z, sizeof(z), out_buf, 16),
		     SWIM_WIRE_E_LZW);
}

Test(lzw, first_code_is_hi)
{
	/* CLEAR then 258 with no previous code (the KwKwK case needs one). */
	uint8_t z[4] = { 0x00, 0x05, 0x02, 0x00 };

	cr_assert_eq(swim_lzw_decompress(z, sizeof(z), out_buf, 16),
		     SWIM_WIRE_E_LZW);
}

Test(lzw, random_garbage_never_overruns)
{
	uint64_t s = 99;
	uint8_t junk[256];
	uint8_t small[64];

	for (int round = 0; round < 20000; round++) {
		size_t n = rng_next(&s) % sizeof(junk);

		for (size_t i = 0; i < n; i++)
			junk[i] = (uint8_t)rng_next(&s);
		int rc = swim_lzw_decompress(junk, n, small, sizeof(small));

		cr_assert(rc == SWIM_WIRE_E_LZW || rc == SWIM_WIRE_E_NOSPACE ||
				  (rc >= 0 && rc <= (int)sizeof(small)),
			  "rc %d", rc);
	}
}

Test(lzw, bomb_is_capped)
{
	int z;

	/* 300 kB of zeros compress to a few kB; a small cap must hold. */
	memset(in_buf, 0, BIG);
	z = swim_lzw_compress(in_buf, BIG, z_buf, sizeof(z_buf));
	cr_assert_gt(z, 0);
	cr_assert_lt(z, 10000);
	cr_assert_eq(swim_lzw_decompress(z_buf, (size_t)z, out_buf, 1024),
		     SWIM_WIRE_E_NOSPACE);
}

/* Decoder vectors of Go's compress/lzw reader tests (LSB, litWidth 8). */
Test(lzw, go_reader_vectors)
{
	static const uint8_t tobe_z[] = {
		0x54, 0x9e, 0x08, 0x29, 0xf2, 0x44, 0x8a, 0x93, 0x27, 0x54,
		0x04, 0x12, 0x34, 0xb8, 0xb0, 0xe0, 0xc1, 0x84, 0x01, 0x01,
	};
	static const uint8_t gif_z[] = { 0x00, 0x51, 0xfc, 0x1b, 0x28, 0x70,
					 0xa0, 0xc1, 0x83, 0x01, 0x01 };
	static const uint8_t gif[] = { 0x28, 0xff, 0xff, 0xff, 0x28, 0xff,
				       0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				       0xff, 0xff, 0xff };
	static const uint8_t eof_only[] = { 0x01, 0x01 };
	const char *tobe = "TOBEORNOTTOBEORTOBEORNOT";
	uint8_t out[64];

	cr_assert_eq(swim_lzw_decompress(eof_only, 2, out, sizeof(out)), 0);
	cr_assert_eq(swim_lzw_decompress(tobe_z, sizeof(tobe_z), out,
					 sizeof(out)),
		     24);
	cr_assert_arr_eq(out, tobe, 24);
	cr_assert_eq(swim_lzw_decompress(gif_z, sizeof(gif_z), out,
					 sizeof(out)),
		     (int)sizeof(gif));
	cr_assert_arr_eq(out, gif, sizeof(gif));
	/* tobe-truncated: Go says io.ErrUnexpectedEOF. */
	cr_assert_eq(swim_lzw_decompress(tobe_z, 11, out, sizeof(out)),
		     SWIM_WIRE_E_LZW);
}
