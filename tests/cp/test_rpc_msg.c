/* SPDX-License-Identifier: MIT */
/*
 * cp_rpc_msg: the streaming scanner (complete / prefix / never valid), the
 * encoders' exact bytes (go-msgpack RPC dialect) and the lenient decoders'
 * exact error codes.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <string.h>

#include "cp_rpc_msg.h"

TestSuite(rpc_msg, .timeout = 5);

/* One scanner case: bytes, length, expected result and value size. */
struct scan_case {
	char bytes[16];	/* inline: params are copied into a new process */
	size_t len;
	enum cp_rpc_scan want;
	size_t want_len;
};

ParameterizedTestParameters(rpc_msg, scan)
{
	static struct scan_case cases[] = {
		{ "\x01", 1, CP_RPC_SCAN_OK, 1 },
		{ "\xff", 1, CP_RPC_SCAN_OK, 1 },		/* -1 */
		{ "\xc0\x01", 2, CP_RPC_SCAN_OK, 1 },		/* nil, then more */
		{ "\xc1", 1, CP_RPC_SCAN_BAD, 0 },
		{ "", 0, CP_RPC_SCAN_SHORT, 0 },
		{ "\xa3" "ab", 3, CP_RPC_SCAN_SHORT, 0 },
		{ "\xa3" "abc", 4, CP_RPC_SCAN_OK, 4 },
		{ "\xd9", 1, CP_RPC_SCAN_SHORT, 0 },		/* str8, no len */
		{ "\xd9\x02" "ab", 4, CP_RPC_SCAN_OK, 4 },
		{ "\xda\x00\x01" "a", 4, CP_RPC_SCAN_OK, 4 },
		{ "\xdb\x00\x00\x00\x01" "a", 6, CP_RPC_SCAN_OK, 6 },
		{ "\xc4\x01" "a", 3, CP_RPC_SCAN_OK, 3 },
		{ "\xc5\x00", 2, CP_RPC_SCAN_SHORT, 0 },
		{ "\xcd\x1f", 2, CP_RPC_SCAN_SHORT, 0 },
		{ "\xcf\0\0\0\0\0\0\0\x01", 9, CP_RPC_SCAN_OK, 9 },
		{ "\xcb\0\0\0\0\0\0\0\0", 9, CP_RPC_SCAN_OK, 9 },
		{ "\x82\xa1" "a\x01\xa1" "b", 6, CP_RPC_SCAN_SHORT, 0 },
		{ "\x82\xa1" "a\x01\xa1" "b\x91\xc0", 8, CP_RPC_SCAN_OK, 8 },
		{ "\x90", 1, CP_RPC_SCAN_OK, 1 },
		{ "\x80", 1, CP_RPC_SCAN_OK, 1 },
		{ "\xdc\x00\x02\x01\x02", 5, CP_RPC_SCAN_OK, 5 },
		{ "\xdf\x00\x00\x00\x01\x01", 6, CP_RPC_SCAN_SHORT, 0 },
		{ "\xdd\xff\xff\xff\xff\x01", 6, CP_RPC_SCAN_SHORT, 0 },
		{ "\xd4\x01\x02", 3, CP_RPC_SCAN_OK, 3 },	/* fixext1 */
		{ "\xc7\x01\x05" "x", 4, CP_RPC_SCAN_OK, 4 },	/* ext8 */
		{ "\x91\xc1", 2, CP_RPC_SCAN_BAD, 0 },		/* nested bad */
	};
	return cr_make_param_array(struct scan_case, cases,
				   sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct scan_case *c, rpc_msg, scan)
{
	size_t len = 0;
	enum cp_rpc_scan rc = cp_rpc_mp_scan(c->bytes, c->len, &len);
	cr_assert_eq(rc, c->want, "case %02x len %zu: got %d",
		     c->len ? (uint8_t)c->bytes[0] : 0, c->len, rc);
	if (rc == CP_RPC_SCAN_OK)
		cr_assert_eq(len, c->want_len);
}

Test(rpc_msg, scan_every_prefix_of_a_request_is_short)
{
	struct cp_rpc_buf b;
	cp_rpc_buf_create(&b, 1024);
	cp_rpc_enc_map(&b, 2);
	cp_rpc_enc_str(&b, "Existing");
	cp_rpc_enc_array(&b, 1);
	cp_rpc_enc_str(&b, "127.0.0.1:7946-and-a-long-enough-tail-for-str8");
	cp_rpc_enc_str(&b, "Replay");
	cp_rpc_enc_bool(&b, true);
	size_t len;
	for (size_t i = 0; i < b.len; i++)
		cr_assert_eq(cp_rpc_mp_scan(b.data, i, &len),
			     CP_RPC_SCAN_SHORT, "prefix %zu", i);
	cr_assert_eq(cp_rpc_mp_scan(b.data, b.len, &len), CP_RPC_SCAN_OK);
	cr_assert_eq(len, b.len);
	cp_rpc_buf_destroy(&b);
}

Test(rpc_msg, encoders_match_go_msgpack_rpc)
{
	struct cp_rpc_buf b;
	char s40[40];
	memset(s40, 'x', sizeof(s40));
	cp_rpc_buf_create(&b, 1024);
	cp_rpc_enc_header(&b, 2, "");
	cr_assert_eq(b.len, 13);
	cr_assert_arr_eq(b.data, "\x82\xa5" "Error" "\xa0\xa3" "Seq" "\x02",
			 13);
	b.len = 0;
	cp_rpc_enc_strn(&b, s40, 40);		/* str8, as the agent */
	cr_assert_eq((uint8_t)b.data[0], 0xd9);
	cr_assert_eq((uint8_t)b.data[1], 40);
	b.len = 0;
	cp_rpc_enc_bin(&b, "\x7f\0\0\x01", 4);
	cr_assert_arr_eq(b.data, "\xc4\x04\x7f\0\0\x01", 6);
	b.len = 0;
	cp_rpc_enc_bin(&b, NULL, 0);		/* nil slice */
	cp_rpc_enc_uint(&b, 7946);
	cp_rpc_enc_uint(&b, 1000000000);
	cr_assert_arr_eq(b.data, "\xc0\xcd\x1f\x0a\xce\x3b\x9a\xca\x00", 9);
	b.len = 0;
	cp_rpc_enc_str(&b, NULL);
	cr_assert_arr_eq(b.data, "\xa0", 1);
	cp_rpc_buf_destroy(&b);
}

Test(rpc_msg, buffer_cap_sets_overflow_and_sticks)
{
	struct cp_rpc_buf b;
	cp_rpc_buf_create(&b, 8);
	cp_rpc_enc_str(&b, "1234567");	/* 8 bytes: fits */
	cr_assert(!b.overflow);
	cr_assert_eq(b.len, 8);
	cp_rpc_enc_nil(&b);
	cr_assert(b.overflow);
	cr_assert_eq(b.len, 8);
	cp_rpc_buf_consume(&b, 8);
	cp_rpc_enc_nil(&b);		/* still refused: sticky */
	cr_assert_eq(b.len, 0);
	cp_rpc_buf_destroy(&b);
}

Test(rpc_msg, dec_uint_forms_and_errors)
{
	uint64_t v;
	const char *p;
	static const char i32[] = "\xd2\x00\x00\x00\x01";
	p = i32;
	cr_assert_eq(cp_rpc_dec_uint(&p, i32 + 5, UINT64_MAX, &v), 0);
	cr_assert_eq(v, 1);
	cr_assert_eq(p, i32 + 5);
	static const char neg[] = "\xff";
	p = neg;
	cr_assert_eq(cp_rpc_dec_uint(&p, neg + 1, UINT64_MAX, &v), -ERANGE);
	cr_assert_eq(p, neg, "cursor unchanged on error");
	static const char big[] = "\xcd\x01\x00";
	p = big;
	cr_assert_eq(cp_rpc_dec_uint(&p, big + 3, UINT8_MAX, &v), -ERANGE);
	static const char str[] = "\xa1" "1";
	p = str;
	cr_assert_eq(cp_rpc_dec_uint(&p, str + 2, UINT64_MAX, &v), -EINVAL);
	cr_assert_eq(p, str);
	p = str;
	cr_assert_eq(cp_rpc_dec_uint(&p, str, UINT64_MAX, &v), -EINVAL);
	static const char nil[] = "\xc0";
	p = nil;
	cr_assert_eq(cp_rpc_dec_uint(&p, nil + 1, UINT64_MAX, &v), 0);
	cr_assert_eq(v, 0);
}

Test(rpc_msg, dec_bool_accepts_ints_zero_one)
{
	bool v = false;
	const char *p;
	static const char one[] = "\x01", two[] = "\x02", t[] = "\xc3";
	p = one;
	cr_assert_eq(cp_rpc_dec_bool(&p, one + 1, &v), 0);
	cr_assert(v);
	p = two;
	cr_assert_eq(cp_rpc_dec_bool(&p, two + 1, &v), -ERANGE);
	p = t;
	cr_assert_eq(cp_rpc_dec_bool(&p, t + 1, &v), 0);
	cr_assert(v);
}

Test(rpc_msg, dec_strn_str_bin_nil_and_wrong_type)
{
	const char *p, *s;
	uint32_t len;
	static const char bin[] = "\xc4\x02" "hi", nil[] = "\xc0",
			  arr[] = "\x90";
	p = bin;
	cr_assert_eq(cp_rpc_dec_strn(&p, bin + 4, &s, &len), 0);
	cr_assert_eq(len, 2);
	cr_assert_arr_eq(s, "hi", 2);
	p = nil;
	cr_assert_eq(cp_rpc_dec_strn(&p, nil + 1, &s, &len), 0);
	cr_assert_null(s);
	cr_assert_eq(len, 0);
	p = arr;
	cr_assert_eq(cp_rpc_dec_strn(&p, arr + 1, &s, &len), -EINVAL);
	uint32_t n;
	p = nil;
	cr_assert_eq(cp_rpc_dec_map(&p, nil + 1, &n), 0);
	cr_assert_eq(n, 0);
	p = nil;
	cr_assert_eq(cp_rpc_dec_array(&p, nil + 1, &n), 0);
	p = bin;
	cr_assert_eq(cp_rpc_dec_map(&p, bin + 4, &n), -EINVAL);
	cr_assert_eq(cp_rpc_dec_array(&p, bin + 4, &n), -EINVAL);
}

Test(rpc_msg, key_is_exact_and_case_sensitive)
{
	cr_assert(cp_rpc_key_is("Seq", 3, "Seq"));
	cr_assert(!cp_rpc_key_is("seq", 3, "Seq"));
	cr_assert(!cp_rpc_key_is("Se", 2, "Seq"));
	cr_assert(!cp_rpc_key_is(NULL, 0, ""));
}
