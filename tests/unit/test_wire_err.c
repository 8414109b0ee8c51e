/* SPDX-License-Identifier: MIT */
/*
 * swim_wire rejections: one Test per reason, each asserting the exact
 * enum swim_wire_err, plus the liberal side of the decoder (what Go's
 * decoder accepts, we accept) and truncation at every byte offset.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "swim_wire.h"
#include "wire_util.h"

TestSuite(wire_err, .timeout = 60);

static struct swim_wire_scratch scratch;
static uint8_t buf[4096];

/* decode_msg of a hex message. */
static int
dec_hex(const char *hex, struct swim_msg *m)
{
	int n = wire_unhex(hex, buf, sizeof(buf));

	cr_assert_geq(n, 0, "bad hex in test");
	return swim_wire_decode_msg(buf, (size_t)n, m);
}

static int
count_visit(void *ctx, const struct swim_msg *msg)
{
	(void)msg;
	(*(int *)ctx)++;
	return 0;
}

/* decode_packet of a hex packet; *nb gets the number of visits. */
static int
pkt_hex(const char *hex, int *nb)
{
	int n = wire_unhex(hex, buf, sizeof(buf));

	cr_assert_geq(n, 0, "bad hex in test");
	*nb = 0;
	return swim_wire_decode_packet(buf, (size_t)n, &scratch, count_visit,
				       nb);
}

/* ---- liberal decoding: what go-msgpack accepts ---- */

Test(wire_err, accepts_any_key_order_and_str8)
{
	struct swim_msg m;

	/* SeqNo before Node, Node as str8 (d9), which Go never sends. */
	cr_assert_eq(dec_hex("0082a55365714e6f07a44e6f6465d90162", &m), 0);
	cr_assert_eq(m.ping.seq_no, 7);
	cr_assert(wire_eq(m.ping.node, "b"));
}

Test(wire_err, accepts_any_int_width)
{
	struct swim_msg m;

	cr_assert_eq(dec_hex("0081a55365714e6fd005", &m), 0);
	cr_assert_eq(m.ping.seq_no, 5);
	cr_assert_eq(dec_hex("0081a55365714e6fcf0000000000000007", &m), 0);
	cr_assert_eq(m.ping.seq_no, 7);
	cr_assert_eq(dec_hex("0081a55365714e6fd2ffffffff", &m),
		     SWIM_WIRE_E_RANGE);
	cr_assert_eq(dec_hex("0081a55365714e6fceffffffff", &m), 0);
	cr_assert_eq(m.ping.seq_no, UINT32_MAX);
}

Test(wire_err, accepts_bin_for_bytes)
{
	struct swim_msg m;

	cr_assert_eq(dec_hex("0281a75061796c6f6164c403010203", &m), 0);
	cr_assert_eq(m.ack.payload.len, 3);
	cr_assert_eq(dec_hex("0281a75061796c6f6164c50001ff", &m), 0);
	cr_assert_eq(m.ack.payload.len, 1);
}

Test(wire_err, accepts_nil_anywhere)
{
	struct swim_msg m;

	/* nil body, then nil for every alive field. */
	cr_assert_eq(dec_hex("00c0", &m), 0);
	cr_assert_eq(m.ping.seq_no, 0);
	cr_assert_eq(dec_hex("0486a441646472c0ab496e6361726e6174696f6ec0a44d6574"
			     "61c0a44e6f6465c0a4506f7274c0a356736ec0",
			     &m),
		     0);
	cr_assert_null(m.alive.addr.ptr);
	cr_assert_null(m.alive.vsn.ptr);
	cr_assert_eq(dec_hex("0181a44e61636bc0", &m), 0);
	cr_assert_not(m.indirect_ping.nack);
}

Test(wire_err, skips_unknown_keys_of_any_type)
{
	struct swim_msg m;

	/* X: [ {a: [1,2,3]}, nil ], Y: fixext1, Z: ext8(3), W: float64. */
	cr_assert_eq(dec_hex("0085a1589281a16193010203c0a159d40102a15ac70301aa"
			     "bbcca157cb3ff0000000000000a55365714e6f09",
			     &m),
		     0);
	cr_assert_eq(m.ping.seq_no, 9);
	/* A non-string key is skipped with its value. */
	cr_assert_eq(dec_hex("008201c3a55365714e6f0a", &m), 0);
	cr_assert_eq(m.ping.seq_no, 10);
	/* A map16 body is fine too. */
	cr_assert_eq(dec_hex("00de0001a55365714e6f0b", &m), 0);
	cr_assert_eq(m.ping.seq_no, 11);
}

Test(wire_err, ignores_trailing_bytes)
{
	struct swim_msg m;

	cr_assert_eq(dec_hex("0b81a55365714e6f05ffff", &m), 0);
	cr_assert_eq(m.nack.seq_no, 5);
}

/* ---- one case per rejection reason ---- */

/* A hex input and the exact result its decoder must give. */
struct wire_err_case {
	/* inline, not pointers: params are copied into a new process */
	char what[48];		/* the reason, printed when the case fails */
	char hex[160];		/* the input */
	int want;		/* the exact result */
	int want_nb;		/* packets: visits expected, -1: not checked */
};

/* swim_wire_decode_msg rejections. */
static struct wire_err_case msg_cases[] = {
	{ "int for string", "0081a44e6f646501", SWIM_WIRE_E_TYPE, -1 },
	{ "string for int", "0081a55365714e6fa131", SWIM_WIRE_E_TYPE, -1 },
	{ "float for int", "0081a55365714e6fcb3ff0000000000000",
	  SWIM_WIRE_E_TYPE, -1 },
	/* go-msgpack 0.5.5 refuses bin for a string field. */
	{ "bin for go string", "0081a44e6f6465c40162", SWIM_WIRE_E_TYPE, -1 },
	{ "int for bool", "0181a44e61636b01", SWIM_WIRE_E_TYPE, -1 },
	{ "body not a map", "0093010203", SWIM_WIRE_E_TYPE, -1 },
	/* 0xc1 is never used in msgpack; skipping it must fail cleanly. */
	{ "reserved c1", "0081a158c1", SWIM_WIRE_E_TYPE, -1 },
	{ "negative fixint", "0081a55365714e6fff", SWIM_WIRE_E_RANGE, -1 },
	{ "negative int8", "0081a55365714e6fd080", SWIM_WIRE_E_RANGE, -1 },
	{ "port over u16", "0481a4506f7274ce00011170", SWIM_WIRE_E_RANGE, -1 },
	{ "seq over u32", "0081a55365714e6fcf0000000100000000",
	  SWIM_WIRE_E_RANGE, -1 },
	{ "hostile str32 length", "0081a44e6f6465dbffffffff",
	  SWIM_WIRE_E_LENGTH, -1 },
	/* A sane length that runs past the end is merely truncated. */
	{ "str32 past the end", "0081a44e6f6465db000003e86162",
	  SWIM_WIRE_E_TRUNCATED, -1 },
	{ "hostile bin32 length", "0281a75061796c6f6164c6ffffffff",
	  SWIM_WIRE_E_LENGTH, -1 },
	{ "hostile map32 body", "00dfffffffff", SWIM_WIRE_E_LENGTH, -1 },
	{ "hostile array32 skipped", "0081a158ddffffffff",
	  SWIM_WIRE_E_LENGTH, -1 },
	/* 65536 elements claimed, 2 present: truncated, and no overread. */
	{ "array16 past the end", "0081a158dd000100000102",
	  SWIM_WIRE_E_TRUNCATED, -1 },
};

ParameterizedTestParameters(wire_err, decode_msg_rejects)
{
	return cr_make_param_array(struct wire_err_case, msg_cases,
				   sizeof(msg_cases) / sizeof(msg_cases[0]));
}

ParameterizedTest(struct wire_err_case *c, wire_err, decode_msg_rejects)
{
	struct swim_msg m;

	cr_assert_eq(dec_hex(c->hex, &m), c->want, "%s", c->what);
}

/* swim_wire_decode_packet results: the error, or the number visited. */
static struct wire_err_case pkt_cases[] = {
	/* CRC(ping) with its last byte flipped. */
	{ "bad crc", "0cde796055" HEX_PING59, SWIM_WIRE_E_CRC, 0 },
	{ "good crc", "0cde796054" HEX_PING59, 1, -1 },
	{ "crc header short", "0cde7960", SWIM_WIRE_E_TRUNCATED, -1 },
	/* CRC of nothing is 0. */
	{ "crc empty body", "0c00000000", SWIM_WIRE_E_EMPTY, -1 },
	{ "unknown algo", "0982a4416c676f01a3427566a3000302",
	  SWIM_WIRE_E_ALGO, -1 },
	{ "algo out of range", "0982a4416c676fff", SWIM_WIRE_E_RANGE, -1 },
	/* LZW("") = 00 03 02: a valid stream of nothing. */
	{ "empty decompressed body", "0982a4416c676f00a3427566a3000302",
	  SWIM_WIRE_E_EMPTY, -1 },
	/* compound(244-label, ping-short): the ping is still visited. */
	{ "unknown type in compound, others visited",
	  "070200020010f461" "0082a44e6f6465a162a55365714e6f01", 1, 1 },
	{ "empty compound part", "07010000", SWIM_WIRE_E_EMPTY, -1 },
	/* An empty part beside a good one: the good one counts. */
	{ "empty part beside a good one",
	  "070200000010" "0082a44e6f6465a162a55365714e6f01", 1, -1 },
	{ "compound zero parts", "0700", SWIM_WIRE_E_EMPTY, -1 },
	{ "compound count cut", "07", SWIM_WIRE_E_TRUNCATED, -1 },
	{ "compound len table cut", "070300100010", SWIM_WIRE_E_TRUNCATED,
	  -1 },
};

ParameterizedTestParameters(wire_err, decode_packet_results)
{
	return cr_make_param_array(struct wire_err_case, pkt_cases,
				   sizeof(pkt_cases) / sizeof(pkt_cases[0]));
}

ParameterizedTest(struct wire_err_case *c, wire_err, decode_packet_results)
{
	int nb;

	cr_assert_eq(pkt_hex(c->hex, &nb), c->want, "%s", c->what);
	if (c->want_nb >= 0)
		cr_assert_eq(nb, c->want_nb, "%s", c->what);
}

/* ---- the rejections that need more than a hex input ---- */

Test(wire_err, empty_input)
{
	struct swim_msg m;
	int nb;

	cr_assert_eq(swim_wire_decode_msg(buf, 0, &m), SWIM_WIRE_E_EMPTY);
	cr_assert_eq(swim_wire_decode_packet(buf, 0, &scratch, count_visit,
					     &nb),
		     SWIM_WIRE_E_EMPTY);
}

Test(wire_err, truncated_every_offset_msg)
{
	static const char *const vecs[] = { HEX_PING59, HEX_ALIVE68,
					    HEX_INDIRECT89,
					    "0282a75061796c6f6164c0a55365714e6f01" };
	struct swim_msg m;

	for (size_t v = 0; v < sizeof(vecs) / sizeof(vecs[0]); v++) {
		int n = wire_unhex(vecs[v], buf, sizeof(buf));

		for (int cut = 1; cut < n; cut++)
			cr_assert_eq(swim_wire_decode_msg(buf, (size_t)cut, &m),
				     SWIM_WIRE_E_TRUNCATED, "vec %zu cut %d",
				     v, cut);
		cr_assert_eq(swim_wire_decode_msg(buf, (size_t)n, &m), 0);
	}
}

Test(wire_err, truncated_compound_visits_what_fits)
{
	uint8_t ping[64], alive[128], pkt[256];
	struct swim_str parts[2];
	int n, nb, rc;

	parts[0] = wire_b(ping, (size_t)wire_unhex(HEX_PING59, ping, 64));
	parts[1] = wire_b(alive, (size_t)wire_unhex(HEX_ALIVE68, alive, 128));
	n = swim_wire_encode_compound(parts, 2, pkt, sizeof(pkt));
	for (int cut = 1; cut < n; cut++) {
		nb = 0;
		rc = swim_wire_decode_packet(pkt, (size_t)cut, &scratch,
					     count_visit, &nb);
		if (cut < 6 + 59) {
			cr_assert_eq(rc, SWIM_WIRE_E_TRUNCATED, "cut %d", cut);
			cr_assert_eq(nb, 0);
		} else {
			/* The ping fits: visited, and that is the result. */
			cr_assert_eq(rc, 1, "cut %d", cut);
			cr_assert_eq(nb, 1);
		}
	}
}

Test(wire_err, truncated_every_offset_wrapped)
{
	uint8_t ping[64], z[128], pkt[160];
	int n = wire_unhex(HEX_PING59, ping, sizeof(ping));
	int nb, rc;

	n = swim_wire_encode_compress(ping, (size_t)n, z, sizeof(z));
	n = swim_wire_encode_crc(z, (size_t)n, pkt, sizeof(pkt));
	for (int cut = 1; cut < n; cut++) {
		rc = swim_wire_decode_packet(pkt, (size_t)cut, &scratch,
					     count_visit, &nb);
		cr_assert_eq(rc, cut < 5 ? SWIM_WIRE_E_TRUNCATED :
					   SWIM_WIRE_E_CRC, "cut %d", cut);
		/* Without the CRC the compress layer reports the cut. */
		if (cut < 6)
			continue;
		rc = swim_wire_decode_packet(pkt + 5, (size_t)cut - 5, &scratch,
					     count_visit, &nb);
		cr_assert(rc == SWIM_WIRE_E_TRUNCATED || rc == SWIM_WIRE_E_LZW,
			  "cut %d: %d", cut, rc);
	}
}

Test(wire_err, hostile_nested_arrays)
{
	struct swim_msg m;
	size_t n = 0;

	/* 3000 nested array16 of 0xffff: the pending count explodes. */
	buf[n++] = 0x00, buf[n++] = 0x81, buf[n++] = 0xa1, buf[n++] = 'X';
	for (int i = 0; i < 1000; i++)
		buf[n++] = 0xdc, buf[n++] = 0xff, buf[n++] = 0xff;
	cr_assert_eq(swim_wire_decode_msg(buf, n, &m), SWIM_WIRE_E_LENGTH);
	/* Deeply nested fixarrays of one: skipped iteratively, no stack. */
	n = 4;
	for (int i = 0; i < 3000; i++)
		buf[n++] = 0x91;
	buf[n++] = 0xc0;
	buf[n++] = 0xa5;
	memcpy(buf + n, "SeqNo", 5);
	n += 5;
	buf[n++] = 0x03;
	buf[1] = 0x82;
	cr_assert_eq(swim_wire_decode_msg(buf, n, &m), 0);
	cr_assert_eq(m.ping.seq_no, 3);
}

Test(wire_err, crc_only_on_top)
{
	int nb;

	/* A CRC'd CRC: the inner 12 is an unknown message type. */
	uint8_t inner[80], pkt[96];
	int n = wire_unhex("0cde796054" HEX_PING59, inner, sizeof(inner));

	n = swim_wire_encode_crc(inner, (size_t)n, pkt, sizeof(pkt));
	nb = 0;
	cr_assert_eq(swim_wire_decode_packet(pkt, (size_t)n, &scratch,
					     count_visit, &nb),
		     SWIM_WIRE_E_UNKNOWN_MSG);
}

Test(wire_err, unterminated_lzw)
{
	uint8_t out[64];
	int nb;

	/* compress{Algo 0, Buf: CLEAR only}: no EOF code. */
	cr_assert_eq(pkt_hex("0982a4416c676f00a3427566a20001", &nb),
		     SWIM_WIRE_E_LZW);
	cr_assert_eq(swim_wire_decode_compress(
			     (const uint8_t *)"\x82\xa4" "Algo\x00\xa3"
					      "Buf\xc0",
			     12, out, sizeof(out)),
		     SWIM_WIRE_E_LZW);
}

Test(wire_err, no_scratch_for_compress)
{
	uint8_t ping[64], z[128];
	int n = wire_unhex(HEX_PING59, ping, sizeof(ping));
	int nb = 0;

	n = swim_wire_encode_compress(ping, (size_t)n, z, sizeof(z));
	cr_assert_eq(swim_wire_decode_packet(z, (size_t)n, NULL, count_visit,
					     &nb),
		     SWIM_WIRE_E_NOSPACE);
}

Test(wire_err, decompression_bomb)
{
	static uint8_t zeros[SWIM_UDP_MAX * 2 + 1];
	static uint8_t z[SWIM_UDP_MAX];
	int n, nb = 0;

	/* 128 KiB + 1 of zeros, a few kB compressed: more than scratch. */
	zeros[0] = SWIM_MSG_USER;
	n = swim_wire_encode_compress(zeros, sizeof(zeros), z, sizeof(z));
	cr_assert_gt(n, 0);
	cr_assert_lt(n, 4000);
	cr_assert_eq(swim_wire_decode_packet(z, (size_t)n, &scratch,
					     count_visit, &nb),
		     SWIM_WIRE_E_LENGTH);
	/* One byte less fits exactly. */
	n = swim_wire_encode_compress(zeros, sizeof(zeros) - 1, z, sizeof(z));
	cr_assert_eq(swim_wire_decode_packet(z, (size_t)n, &scratch,
					     count_visit, &nb),
		     1);
}

/* Wrap a ping in depth layers alternating compound and compress. */
static int
nest(unsigned depth, bool use_compress, uint8_t *out, size_t cap)
{
	static uint8_t tmp[1024];
	int n = wire_unhex(HEX_PING59, out, cap);

	for (unsigned i = 0; i < depth; i++) {
		struct swim_str part;

		memcpy(tmp, out, (size_t)n);
		part = wire_b(tmp, (size_t)n);
		if (use_compress && i % 2 == 1)
			n = swim_wire_encode_compress(tmp, (size_t)n, out, cap);
		else
			n = swim_wire_encode_compound(&part, 1, out, cap);
		cr_assert_gt(n, 0);
	}
	return n;
}

Test(wire_err, deep_nesting)
{
	uint8_t pkt[1024];
	struct swim_ping p;
	int n, nb;

	for (int c = 0; c < 2; c++) {
		n = nest(SWIM_WIRE_MAX_DEPTH + 1, c, pkt, sizeof(pkt));
		nb = 0;
		cr_assert_eq(swim_wire_decode_packet(pkt, (size_t)n, &scratch,
						     count_visit, &nb),
			     SWIM_WIRE_E_NESTING);
		n = nest(SWIM_WIRE_MAX_DEPTH, c, pkt, sizeof(pkt));
		cr_assert_eq(swim_wire_decode_packet(pkt, (size_t)n, &scratch,
						     count_visit, &nb),
			     1);
	}
	n = nest(SWIM_WIRE_MAX_DEPTH + 1, false, pkt, sizeof(pkt));
	cr_assert_eq(swim_wire_find_ping(pkt, (size_t)n, "b", 1, &p),
		     SWIM_WIRE_E_NESTING);
	n = nest(SWIM_WIRE_MAX_DEPTH, false, pkt, sizeof(pkt));
	cr_assert_eq(swim_wire_find_ping(pkt, (size_t)n, "b", 1, &p), 1);
}

Test(wire_err, bad_vsn)
{
	struct swim_msg m;

	cr_assert_eq(dec_hex("0481a356736ea50105020205", &m), SWIM_WIRE_E_VSN);
	/* 7 bytes: gossipd's capability byte after serf's 6 (swim_dsync.h);
	 * memberlist reads Vsn[0..5] only. Past 16 bytes: refused. */
	cr_assert_eq(dec_hex("0481a356736ea701050202050505", &m), 0);
	cr_assert_eq(m.alive.vsn.len, 7);
	cr_assert_eq(dec_hex("0481a356736eb10105020205050000000000000000000000",
			     &m), SWIM_WIRE_E_VSN);
	/* Absent, nil and empty are fine: memberlist skips an empty Vsn. */
	cr_assert_eq(dec_hex("0481a356736ec0", &m), 0);
	cr_assert_eq(dec_hex("0481a356736ea0", &m), 0);
	cr_assert_eq(m.alive.vsn.len, 0);
}

Test(wire_err, bad_vsn_encode)
{
	static const uint8_t v3[3] = { 1, 5, 2 };
	struct swim_msg m = { .type = SWIM_MSG_ALIVE };
	struct swim_push_node nd = { .vsn = wire_b(v3, 3) };
	uint8_t out[128];

	m.alive.vsn = wire_b(v3, 3);
	cr_assert_eq(swim_wire_encode_msg(&m, out, sizeof(out)),
		     SWIM_WIRE_E_VSN);
	cr_assert_eq(swim_wire_encode_push_node(&nd, out, sizeof(out)),
		     SWIM_WIRE_E_VSN);
}

Test(wire_err, unknown_type)
{
	struct swim_msg m;
	int nb;

	cr_assert_eq(dec_hex("f40161", &m), SWIM_WIRE_E_UNKNOWN_MSG);
	cr_assert_eq(dec_hex("0e80", &m), SWIM_WIRE_E_UNKNOWN_MSG);
	/* push/pull, compound, compress, encrypt: not single messages. */
	cr_assert_eq(dec_hex("0680", &m), SWIM_WIRE_E_UNKNOWN_MSG);
	cr_assert_eq(dec_hex("0701000100", &m), SWIM_WIRE_E_UNKNOWN_MSG);
	cr_assert_eq(dec_hex("0980", &m), SWIM_WIRE_E_UNKNOWN_MSG);
	cr_assert_eq(dec_hex("0a00", &m), SWIM_WIRE_E_UNKNOWN_MSG);
	cr_assert_eq(pkt_hex("f40161" HEX_PING59, &nb),
		     SWIM_WIRE_E_UNKNOWN_MSG);
	cr_assert_eq(nb, 0);
	m.type = SWIM_MSG_HAS_LABEL;
	cr_assert_eq(swim_wire_encode_msg(&m, buf, sizeof(buf)),
		     SWIM_WIRE_E_UNKNOWN_MSG);
}

Test(wire_err, compound_encode_limits)
{
	static struct swim_str parts[256];
	static uint8_t big[70000];
	uint8_t one = 0, out[16];

	for (int i = 0; i < 256; i++)
		parts[i] = wire_b(&one, 1);
	cr_assert_eq(swim_wire_encode_compound(parts, 0, out, sizeof(out)),
		     SWIM_WIRE_E_LENGTH);
	cr_assert_eq(swim_wire_encode_compound(parts, 256, out, sizeof(out)),
		     SWIM_WIRE_E_LENGTH);
	parts[1].len = 0;
	cr_assert_eq(swim_wire_encode_compound(parts, 2, out, sizeof(out)),
		     SWIM_WIRE_E_EMPTY);
	parts[1] = wire_b(big, sizeof(big));
	cr_assert_eq(swim_wire_encode_compound(parts, 2, out, sizeof(out)),
		     SWIM_WIRE_E_LENGTH);
}

Test(wire_err, encode_nospace_small_buffers)
{
	uint8_t ping[64], out[128];
	int n = wire_unhex(HEX_PING59, ping, sizeof(ping));

	for (int cap = 0; cap < 73; cap++)
		cr_assert_eq(swim_wire_encode_compress(ping, (size_t)n, out,
						       (size_t)cap),
			     SWIM_WIRE_E_NOSPACE, "cap %d", cap);
	cr_assert_eq(swim_wire_encode_compress(ping, (size_t)n, out, 73), 73);
}

/* swim_wire_decode_push_pull of a header and nodes that lie. */
static struct wire_err_case pp_cases[] = {
	{ "Nodes 4,000,001",
	  "0683a44a6f696ec2a54e6f646573ce003d0901ac5573657253746174654c656e00",
	  SWIM_WIRE_E_LENGTH, -1 },
	/* Nodes 2^40 saturates, still LENGTH, not RANGE. */
	{ "Nodes 2^40", "0681a54e6f646573cf0000010000000000",
	  SWIM_WIRE_E_LENGTH, -1 },
	{ "UserStateLen 20 MiB + 1", "0681ac5573657253746174654c656ece01400001",
	  SWIM_WIRE_E_LENGTH, -1 },
	/* Exactly 4,000,000 nodes is allowed: just needs more bytes. */
	{ "Nodes 4,000,000", "0681a54e6f646573ce003d0900", SWIM_WIRE_E_AGAIN,
	  -1 },
	/* header {Nodes 1}, node {State 4} */
	{ "node State 4", "0681a54e6f6465730181a5537461746504",
	  SWIM_WIRE_E_RANGE, -1 },
	{ "node Name 1", "0681a54e6f6465730181a44e616d6501", SWIM_WIRE_E_TYPE,
	  -1 },
	{ "node Vsn 2 bytes", "0681a54e6f6465730181a356736ea20102",
	  SWIM_WIRE_E_VSN, -1 },
	{ "header not a map", "069101", SWIM_WIRE_E_TYPE, -1 },
};

ParameterizedTestParameters(wire_err, decode_push_pull_rejects)
{
	return cr_make_param_array(struct wire_err_case, pp_cases,
				   sizeof(pp_cases) / sizeof(pp_cases[0]));
}

ParameterizedTest(struct wire_err_case *c, wire_err, decode_push_pull_rejects)
{
	struct swim_push_pull_header h;
	struct swim_str us;
	int n = wire_unhex(c->hex, buf, sizeof(buf));

	cr_assert_geq(n, 0, "bad hex in test");
	cr_assert_eq(swim_wire_decode_push_pull(buf, (size_t)n, &h, NULL, NULL,
						&us),
		     c->want, "%s", c->what);
}

Test(wire_err, push_pull_not_push_pull)
{
	struct swim_push_pull_header h;
	struct swim_str us;

	cr_assert_eq(swim_wire_decode_push_pull((const uint8_t *)"\x09\x82", 2,
						&h, NULL, NULL, &us),
		     SWIM_WIRE_E_UNKNOWN_MSG);
	cr_assert_eq(swim_wire_decode_push_pull(buf, 0, &h, NULL, NULL, &us),
		     SWIM_WIRE_E_AGAIN);
}

Test(wire_err, push_node_bad_state_encode)
{
	struct swim_push_node nd = { .state = SWIM_STATUS_COUNT };
	uint8_t out[128];

	cr_assert_eq(swim_wire_encode_push_node(&nd, out, sizeof(out)),
		     SWIM_WIRE_E_RANGE);
}

static int
stop_visit(void *ctx, const struct swim_push_node *n)
{
	(void)n;
	(*(int *)ctx)++;
	return -100;
}

Test(wire_err, push_pull_visitor_abort)
{
	struct swim_push_pull_header h;
	struct swim_str us;
	int nb = 0;
	int n = wire_unhex("0681a54e6f6465730280c0", buf, sizeof(buf));

	cr_assert_eq(swim_wire_decode_push_pull(buf, (size_t)n, &h, stop_visit,
						&nb, &us),
		     -100);
	cr_assert_eq(nb, 1);
}

Test(wire_err, find_ping_malformed)
{
	struct swim_ping p;
	int n;

	n = wire_unhex("0081a44e6f646501", buf, sizeof(buf));
	cr_assert_eq(swim_wire_find_ping(buf, (size_t)n, "b", 1, &p),
		     SWIM_WIRE_E_TYPE);
	cr_assert_eq(swim_wire_find_ping(buf, 0, "b", 1, &p),
		     SWIM_WIRE_E_EMPTY);
	n = wire_unhex("070300100010", buf, sizeof(buf));
	cr_assert_eq(swim_wire_find_ping(buf, (size_t)n, "b", 1, &p),
		     SWIM_WIRE_E_TRUNCATED);
	/* A bad ping part does not hide a good one after it. */
	n = wire_unhex("0702000800100081a44e6f646501"
		       "0082a44e6f6465a162a55365714e6f01",
		       buf, sizeof(buf));
	cr_assert_eq(swim_wire_find_ping(buf, (size_t)n, "b", 1, &p), 1);
	cr_assert_eq(swim_wire_find_ping(buf, (size_t)n, "x", 1, &p),
		     SWIM_WIRE_E_TYPE);
}

Test(wire_err, strerror_covers_all)
{
	for (int e = 0; e > SWIM_WIRE_E_COUNT; e--) {
		cr_assert_not_null(swim_wire_strerror(e));
		cr_assert_str_neq(swim_wire_strerror(e), "unknown error",
				  "code %d", e);
	}
	cr_assert_str_eq(swim_wire_strerror(SWIM_WIRE_E_COUNT),
			 "unknown error");
	cr_assert_str_eq(swim_wire_strerror(5), "unknown error");
}

/* Deterministic xorshift64* for the mutation sweep. */
static uint64_t
rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

Test(wire_err, mutations_never_crash)
{
	static const char *const seeds[] = {
		HEX_PING59, HEX_ALIVE68, HEX_INDIRECT89,
		"0cde796054" HEX_PING59,
		"0702003b0044" HEX_PING59 HEX_ALIVE68,
	};
	uint8_t orig[256], pkt[256];
	struct swim_ping p;
	uint64_t s = 12345;
	int nb;

	for (size_t k = 0; k < sizeof(seeds) / sizeof(seeds[0]); k++) {
		int n = wire_unhex(seeds[k], orig, sizeof(orig));

		for (int round = 0; round < 20000; round++) {
			int len = n - (int)(rng_next(&s) % 4);

			memcpy(pkt, orig, (size_t)n);
			for (int f = 0; f < 1 + round % 4; f++)
				pkt[rng_next(&s) % (uint64_t)n] =
					(uint8_t)rng_next(&s);
			nb = 0;
			int rc = swim_wire_decode_packet(pkt, (size_t)len,
							 &scratch, count_visit,
							 &nb);
			cr_assert(rc > SWIM_WIRE_E_COUNT);
			cr_assert(rc < 0 || rc == nb);
			rc = swim_wire_find_ping(pkt, (size_t)len, "b", 1, &p);
			cr_assert(rc > SWIM_WIRE_E_COUNT && rc <= 1);
		}
	}
}
