/* SPDX-License-Identifier: MIT */
/*
 * swim_mp, the msgpack layer both codecs share: go-msgpack's encodings
 * byte for byte, the readers' bounds, and each difference between the
 * memberlist and the Serf rules on one input (swim_mp.h).
 */
#include <criterion/criterion.h>

#include "swim_mp.h"

#include <stdio.h>
#include <string.h>

static uint8_t in[256];
static uint8_t out[256];

/** Hex to bytes; spaces are for the reader. @retval length */
static int
unhex(const char *hex, uint8_t *buf, size_t cap)
{
	size_t n = 0;
	unsigned v;

	for (; *hex != '\0'; hex++) {
		if (*hex == ' ')
			continue;
		cr_assert(n < cap && sscanf(hex, "%2x", &v) == 1, "%s", hex);
		buf[n++] = (uint8_t)v;
		hex++;
	}
	return (int)n;
}

/** Everything a field table can hold, sorted by key. */
struct mp_all {
	bool b;
	double f;
	int64_t i;
	struct swim_str s;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	uint8_t u8;
	struct swim_str x;	/* []byte */
	uint32_t nb_fn;		/* the FN field: an array's count */
};

static int
mp_rd_fn(const uint8_t **pos, const uint8_t *end, void *obj)
{
	struct mp_all *m = obj;
	struct swim_str body;

	return swim_mp_read_body(pos, end, false, &body, &m->nb_fn);
}

static void
mp_wr_fn(struct swim_mp_w *w, const void *obj)
{
	const struct mp_all *m = obj;

	swim_mp_put_array(w, m->nb_fn);
	for (uint32_t i = 0; i < m->nb_fn; i++)
		swim_mp_put_uint(w, i);
}

static const struct swim_mp_field all_f[] = {
	SWIM_MP_F("B", BOOL, struct mp_all, b),
	SWIM_MP_F("F", F64, struct mp_all, f),
	SWIM_MP_FN_FIELD("Fn", mp_rd_fn, mp_wr_fn),
	SWIM_MP_F("I", I64, struct mp_all, i),
	SWIM_MP_F("S", STR, struct mp_all, s),
	SWIM_MP_F("U16", U16, struct mp_all, u16),
	SWIM_MP_F("U32", U32, struct mp_all, u32),
	SWIM_MP_F("U64", U64, struct mp_all, u64),
	SWIM_MP_F("U8", U8, struct mp_all, u8),
	SWIM_MP_F("X", BYTES, struct mp_all, x),
};

/** Encode one field of all_f (by key) holding m, as hex. */
static void
assert_field_hex(const struct mp_all *m, const char *key, const char *hex)
{
	struct swim_mp_w w;
	uint8_t want[64];
	unsigned i = 0;

	while (strcmp(all_f[i].key, key) != 0)
		i++;
	swim_mp_w_create(&w, out, sizeof(out));
	swim_mp_encode_struct(&w, &all_f[i], 1, m);
	int n = swim_mp_w_result(&w);
	int nw = unhex(hex, want, sizeof(want));
	size_t hdr = 2 + strlen(key);	/* fixmap(1), fixstr key */

	cr_assert_eq((size_t)n, hdr + (size_t)nw, "%s: %d bytes", key, n);
	cr_assert_arr_eq(out + hdr, want, (size_t)nw, "%s -> %s", key, hex);
}

Test(mp, ints_smallest_encoding)
{
	struct mp_all m = { 0 };
	static const struct { uint64_t v; const char *hex; } u[] = {
		{ 0, "00" }, { 0x7f, "7f" }, { 0x80, "cc80" }, { 0xff, "ccff" },
		{ 0x100, "cd0100" }, { 0xffff, "cdffff" },
		{ 0x10000, "ce00010000" }, { 0xffffffff, "ceffffffff" },
		{ 0x100000000, "cf0000000100000000" },
	};
	static const struct { int64_t v; const char *hex; } s[] = {
		{ 5, "05" }, { -1, "ff" }, { -32, "e0" }, { -33, "d0df" },
		{ -128, "d080" }, { -129, "d1ff7f" }, { INT16_MIN, "d18000" },
		{ INT16_MIN - 1, "d2ffff7fff" }, { INT32_MIN, "d280000000" },
		{ (int64_t)INT32_MIN - 1, "d3ffffffff7fffffff" },
	};

	for (size_t k = 0; k < sizeof(u) / sizeof(u[0]); k++) {
		m.u64 = u[k].v;
		assert_field_hex(&m, "U64", u[k].hex);
	}
	for (size_t k = 0; k < sizeof(s) / sizeof(s[0]); k++) {
		m.i = s[k].v;
		assert_field_hex(&m, "I", s[k].hex);
	}
	m.u8 = 200;
	assert_field_hex(&m, "U8", "ccc8");
}

Test(mp, strings_floats_and_containers)
{
	static const char s32[] = "0123456789abcdef0123456789abcdef";
	struct mp_all m = { 0 };

	assert_field_hex(&m, "S", "a0");	/* nil string: "" */
	assert_field_hex(&m, "X", "c0");	/* nil []byte: nil */
	m.s = (struct swim_str){ (const uint8_t *)s32, 32 };
	m.x = m.s;
	/* str16 for 32 bytes: go-msgpack never writes str8 (d9) or bin. */
	assert_field_hex(&m, "S", "da0020 30313233343536373839616263646566"
				  "30313233343536373839616263646566");
	m.f = 1.5;
	assert_field_hex(&m, "F", "cb3ff8000000000000");
	m.b = true;
	assert_field_hex(&m, "B", "c3");
	m.nb_fn = 16;
	assert_field_hex(&m, "Fn", "dc0010000102030405060708090a0b0c0d0e0f");
}

Test(mp, writer_remembers_running_out)
{
	struct swim_mp_w w;
	struct mp_all m = { .u64 = 1 };

	for (size_t cap = 0; cap < 60; cap++) {
		int n = swim_mp_encode_msg(9, all_f, SWIM_MP_NB(all_f), &m, out,
					   cap);
		if (n > 0) {
			cr_assert_eq((size_t)n, cap, "fits exactly at %d", n);
			break;
		}
		cr_assert_eq(n, SWIM_WIRE_E_NOSPACE, "cap %zu", cap);
	}
	swim_mp_w_create(&w, out, 2);
	swim_mp_put_raw(&w, "abc", 3);
	swim_mp_put_u8(&w, 1);	/* fits, but the writer is already full */
	cr_assert_eq(swim_mp_w_result(&w), SWIM_WIRE_E_NOSPACE);
}

Test(mp, table_round_trip_and_any_order)
{
	struct mp_all a = {
		.b = true, .f = -0.25, .i = -70000, .u16 = 65535,
		.u32 = 70000, .u64 = UINT64_MAX, .u8 = 7, .nb_fn = 3,
		.s = { (const uint8_t *)"name", 4 },
		.x = { (const uint8_t *)"\x00\x01", 2 },
	};
	struct mp_all b;
	int n = swim_mp_encode_msg(9, all_f, SWIM_MP_NB(all_f), &a, in,
				   sizeof(in));

	cr_assert_gt(n, 0);
	memset(&b, 0, sizeof(b));
	cr_assert_eq(swim_mp_decode_msg(in, (size_t)n, 9, all_f,
					SWIM_MP_NB(all_f), &b), 0);
	cr_assert(b.b && b.f == -0.25 && b.i == -70000 && b.u16 == 65535);
	cr_assert(b.u32 == 70000 && b.u64 == UINT64_MAX && b.u8 == 7);
	cr_assert(b.nb_fn == 3 && b.s.len == 4 && b.x.len == 2);
	cr_assert_eq(memcmp(b.s.ptr, "name", 4), 0);
	/* Keys in any order, unknown ones skipped, nil leaves zero. */
	n = unhex("09 84 a25538 0c a15a 92c0a178 a14c c0 a142 c0", in,
		  sizeof(in));
	memset(&b, 0, sizeof(b));
	cr_assert_eq(swim_mp_decode_msg(in, (size_t)n, 9, all_f,
					SWIM_MP_NB(all_f), &b), 0);
	cr_assert_eq(b.u8, 12);
	cr_assert_eq(swim_mp_decode_msg(in, 0, 9, all_f, 1, &b),
		     SWIM_WIRE_E_EMPTY);
	cr_assert_eq(swim_mp_decode_msg(in, (size_t)n, 8, all_f, 1, &b),
		     SWIM_WIRE_E_UNKNOWN_MSG);
}

/** Decode hex (a map) under rules r into all_f. */
static int
dec(enum swim_mp_rules r, const char *hex)
{
	struct mp_all m;
	int n = unhex(hex, in, sizeof(in));
	const uint8_t *pos = in;

	memset(&m, 0, sizeof(m));
	return swim_mp_decode_struct(&pos, in + n, r, all_f,
				     SWIM_MP_NB(all_f), &m);
}

static void
assert_rules(const char *hex, int memberlist, int serf)
{
	cr_assert_eq(dec(SWIM_MP_MEMBERLIST, hex), memberlist,
		     "memberlist %s: %d", hex, dec(SWIM_MP_MEMBERLIST, hex));
	cr_assert_eq(dec(SWIM_MP_SERF, hex), serf, "serf %s: %d", hex,
		     dec(SWIM_MP_SERF, hex));
}

Test(mp, the_two_rule_sets)
{
	/* A str32 claiming 4 GiB: hostile, or merely cut short. */
	assert_rules("81 a153 dbffffffff 6162", SWIM_WIRE_E_LENGTH,
		     SWIM_WIRE_E_TRUNCATED);
	/* A map16 of 256 pairs in 2 bytes: cut short, or hostile. */
	assert_rules("de0100 a155 01", SWIM_WIRE_E_TRUNCATED,
		     SWIM_WIRE_E_LENGTH);
	/* A string where an int goes, cut short: type first, or bounds. */
	assert_rules("81 a3553332 da0010 61", SWIM_WIRE_E_TYPE,
		     SWIM_WIRE_E_TRUNCATED);
	/* fixext under an unknown key: skipped, or never accepted. */
	assert_rules("81 a151 d40102", 0, SWIM_WIRE_E_TYPE);
	/* A key that is an int, or nil: the pair skipped, or refused. */
	assert_rules("81 01 02", 0, SWIM_WIRE_E_TYPE);
	assert_rules("81 c0 02", 0, SWIM_WIRE_E_TYPE);
	/* A Go string sent as bin: go-msgpack's refusal, Serf's leniency. */
	assert_rules("81 a153 c4016e", SWIM_WIRE_E_TYPE, 0);
	/* The same under both. */
	assert_rules("81 a153 c1", SWIM_WIRE_E_TYPE, SWIM_WIRE_E_TYPE);
	assert_rules("81 a25538 ff", SWIM_WIRE_E_RANGE, SWIM_WIRE_E_RANGE);
	assert_rules("81 a25538 cd0100", SWIM_WIRE_E_RANGE,
		     SWIM_WIRE_E_RANGE);
	assert_rules("81 a25538 ca3f800000", SWIM_WIRE_E_TYPE,
		     SWIM_WIRE_E_TYPE);
	assert_rules("81 a142 01", SWIM_WIRE_E_TYPE, SWIM_WIRE_E_TYPE);
	assert_rules("81 a3553136 cd01", SWIM_WIRE_E_TRUNCATED,
		     SWIM_WIRE_E_TRUNCATED);
	assert_rules("90", SWIM_WIRE_E_TYPE, SWIM_WIRE_E_TYPE);
	assert_rules("", SWIM_WIRE_E_TRUNCATED, SWIM_WIRE_E_TRUNCATED);
}

Test(mp, serf_kinds_reject_what_go_would)
{
	/* I: a uint above int64; F: a string; Fn: a map, not an array. */
	cr_assert_eq(dec(SWIM_MP_SERF, "81 a149 cf8000000000000000"),
		     SWIM_WIRE_E_RANGE);
	cr_assert_eq(dec(SWIM_MP_SERF, "81 a146 a131"), SWIM_WIRE_E_TYPE);
	cr_assert_eq(dec(SWIM_MP_SERF, "81 a2466e 80"), SWIM_WIRE_E_TYPE);
	/* An array32 claiming 2^31 entries in 1 byte. */
	cr_assert_eq(dec(SWIM_MP_SERF, "81 a2466e dd80000000 01"),
		     SWIM_WIRE_E_LENGTH);
}

Test(mp, readers)
{
	const uint8_t *p;
	struct swim_str s;
	uint64_t v = 1;
	double d;
	uint32_t nb;
	int n;

	n = unhex("c0", in, sizeof(in));
	p = in;
	cr_assert_eq(swim_mp_read_uint(&p, in + n, 5, &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(p, in + 1);
	n = unhex("ca3fc00000 d0fe a0", in, sizeof(in));
	p = in;
	cr_assert_eq(swim_mp_read_f64(&p, in + n, &d), 0);
	cr_assert_eq(d, 1.5);
	cr_assert_eq(swim_mp_read_f64(&p, in + n, &d), 0);
	cr_assert_eq(d, -2.0);
	cr_assert_eq(swim_mp_read_f64(&p, in + n, &d), SWIM_WIRE_E_TYPE);
	cr_assert_eq(p, in + 7, "a failed read does not move");
	/* A body: the entries' slice and count, each entry validated. */
	n = unhex("92 a161 c3 07", in, sizeof(in));
	p = in;
	cr_assert_eq(swim_mp_read_body(&p, in + n, false, &s, &nb), 0);
	cr_assert(nb == 2 && s.ptr == in + 1 && s.len == 3);
	cr_assert_eq(p, in + 4);
	p = in;
	cr_assert_eq(swim_mp_read_body(&p, in + 3, false, &s, &nb),
		     SWIM_WIRE_E_TRUNCATED);
	p = in;
	cr_assert_eq(swim_mp_read_container(&p, in + n, true, &nb),
		     SWIM_WIRE_E_TYPE);
	cr_assert_eq(p, in);
}
