/* SPDX-License-Identifier: MIT */
/*
 * swim_wire: every Appendix A vector of memberlist-wire.md (encode gives
 * the exact bytes, decode gives the fields), the packet walk (CRC,
 * compound, compress, nesting), the ping fast path and push/pull.
 * Rejections, one Test per reason, live in test_wire_err.c.
 */
#include <criterion/criterion.h>

#include "swim_wire.h"
#include "wire_util.h"

TestSuite(wire, .timeout = 10);

static const uint8_t ip4[4] = { 127, 0, 0, 1 };
static const uint8_t ip6[16] = { [15] = 1 };
static const uint8_t serf_vsn[6] = { 1, 5, 2, 2, 5, 5 };
static const uint8_t meta_web[] = { 0xff, 0x81, 0xa4, 'r', 'o', 'l', 'e',
				    0xa3, 'w', 'e', 'b' };

/* Encode msg, compare with hex, decode it back into *out. */
static void
check_vector(const struct swim_msg *msg, const char *hex, struct swim_msg *out,
	     uint8_t *buf, size_t cap)
{
	uint8_t want[512];
	int n = wire_unhex(hex, want, sizeof(want));
	int got = swim_wire_encode_msg(msg, buf, cap);

	cr_assert_gt(n, 0);
	cr_assert_eq(got, n, "encoded %d bytes, want %d", got, n);
	cr_assert_arr_eq(buf, want, (size_t)n);
	/* Every shorter buffer must say NOSPACE, never overrun. */
	for (int cap2 = 0; cap2 < n; cap2++) {
		uint8_t small[512];

		cr_assert_eq(swim_wire_encode_msg(msg, small, (size_t)cap2),
			     SWIM_WIRE_E_NOSPACE);
	}
	cr_assert_eq(swim_wire_decode_msg(buf, (size_t)n, out), SWIM_WIRE_OK);
	cr_assert_eq(out->type, msg->type);
}

Test(wire, ping_full)
{
	struct swim_msg m = { .type = SWIM_MSG_PING }, d;
	uint8_t buf[256];

	m.ping.seq_no = 1;
	m.ping.node = wire_s("b");
	m.ping.source_addr = wire_b(ip4, 4);
	m.ping.source_node = wire_s("a");
	m.ping.source_port = 7946;
	check_vector(&m, HEX_PING59, &d, buf, sizeof(buf));
	cr_assert_eq(d.ping.seq_no, 1);
	cr_assert(wire_eq(d.ping.node, "b"));
	cr_assert(wire_eqb(d.ping.source_addr, ip4, 4));
	cr_assert(wire_eq(d.ping.source_node, "a"));
	cr_assert_eq(d.ping.source_port, 7946);
	/* Slices point into the input: zero copy. */
	cr_assert(d.ping.node.ptr > buf && d.ping.node.ptr < buf + 59);
}

Test(wire, ping_short_omits_source)
{
	struct swim_msg m = { .type = SWIM_MSG_PING }, d;
	uint8_t buf[256];

	m.ping.seq_no = 1;
	m.ping.node = wire_s("b");
	check_vector(&m, "0082a44e6f6465a162a55365714e6f01", &d, buf,
		     sizeof(buf));
	cr_assert_eq(d.ping.seq_no, 1);
	cr_assert(wire_eq(d.ping.node, "b"));
	cr_assert_null(d.ping.source_addr.ptr);
	cr_assert_eq(d.ping.source_port, 0);
}

Test(wire, ack_nil_payload)
{
	struct swim_msg m = { .type = SWIM_MSG_ACK }, d;
	uint8_t buf[256];

	m.ack.seq_no = 1;
	check_vector(&m, "0282a75061796c6f6164c0a55365714e6f01", &d, buf,
		     sizeof(buf));
	cr_assert_eq(d.ack.seq_no, 1);
	cr_assert_null(d.ack.payload.ptr);
}

Test(wire, ack_payload)
{
	static const uint8_t pl[] = { 1, 2, 3 };
	struct swim_msg m = { .type = SWIM_MSG_ACK }, d;
	uint8_t buf[256];

	m.ack.seq_no = 1;
	m.ack.payload = wire_b(pl, 3);
	check_vector(&m, "0282a75061796c6f6164a3010203a55365714e6f01", &d,
		     buf, sizeof(buf));
	cr_assert(wire_eqb(d.ack.payload, pl, 3));
}

Test(wire, nack)
{
	struct swim_msg m = { .type = SWIM_MSG_NACK }, d;
	uint8_t buf[64];

	m.nack.seq_no = 300;
	check_vector(&m, "0b81a55365714e6fcd012c", &d, buf, sizeof(buf));
	cr_assert_eq(d.nack.seq_no, 300);
}

Test(wire, err)
{
	struct swim_msg m = { .type = SWIM_MSG_ERR }, d;
	uint8_t buf[64];

	m.err.error = wire_s("boom");
	check_vector(&m, "0d81a54572726f72a4626f6f6d", &d, buf, sizeof(buf));
	cr_assert(wire_eq(d.err.error, "boom"));
}

Test(wire, err_str16_at_32)
{
	const char *s32 = "0123456789abcdef0123456789abcdef";
	struct swim_msg m = { .type = SWIM_MSG_ERR }, d;
	uint8_t buf[64];
	int n;

	m.err.error = wire_s(s32);
	n = swim_wire_encode_msg(&m, buf, sizeof(buf));
	cr_assert_eq(n, 43);
	cr_assert_eq(buf[8], 0xda);
	cr_assert_eq(buf[9], 0x00);
	cr_assert_eq(buf[10], 0x20);
	cr_assert_eq(swim_wire_decode_msg(buf, (size_t)n, &d), 0);
	cr_assert(wire_eq(d.err.error, s32));
}

Test(wire, indirect_ping)
{
	struct swim_msg m = { .type = SWIM_MSG_INDIRECT_PING }, d;
	struct swim_indirect_ping *ip = &m.indirect_ping;
	uint8_t buf[256];

	ip->seq_no = 70000;
	ip->target = wire_b(ip4, 4);
	ip->port = 7947;
	ip->node = wire_s("c");
	ip->nack = true;
	ip->source_addr = wire_b(ip4, 4);
	ip->source_node = wire_s("a");
	ip->source_port = 7946;
	check_vector(&m, HEX_INDIRECT89, &d, buf, sizeof(buf));
	cr_assert_eq(d.indirect_ping.seq_no, 70000);
	cr_assert(wire_eqb(d.indirect_ping.target, ip4, 4));
	cr_assert_eq(d.indirect_ping.port, 7947);
	cr_assert(wire_eq(d.indirect_ping.node, "c"));
	cr_assert(d.indirect_ping.nack);
	cr_assert(wire_eq(d.indirect_ping.source_node, "a"));
	cr_assert_eq(d.indirect_ping.source_port, 7946);
}

/* suspect and dead share their body (struct swim_accuse): encode it as
 * type, compare with hex, decode it back. */
static void
check_accuse(enum swim_msg_type type, uint32_t inc, const char *node,
	     const char *from, const char *hex)
{
	struct swim_msg m = { .type = type }, d;
	struct swim_accuse *a = type == SWIM_MSG_DEAD ? &m.dead : &m.suspect;
	const struct swim_accuse *b;
	uint8_t buf[64];

	a->incarnation = inc;
	a->node = wire_s(node);
	a->from = wire_s(from);
	check_vector(&m, hex, &d, buf, sizeof(buf));
	b = type == SWIM_MSG_DEAD ? &d.dead : &d.suspect;
	cr_assert_eq(b->incarnation, inc);
	cr_assert(wire_eq(b->node, node));
	cr_assert(wire_eq(b->from, from));
}

Test(wire, suspect)
{
	check_accuse(SWIM_MSG_SUSPECT, 5, "c", "a",
		     "0383a446726f6da161ab496e6361726e6174696f6e05"
		     "a44e6f6465a163");
}

Test(wire, dead_leave)
{
	check_accuse(SWIM_MSG_DEAD, 1, "a", "a",
		     "0583a446726f6da161ab496e6361726e6174696f6e01"
		     "a44e6f6465a161");
}

Test(wire, alive)
{
	struct swim_msg m = { .type = SWIM_MSG_ALIVE }, d;
	uint8_t buf[256];

	m.alive.incarnation = 1;
	m.alive.node = wire_s("a");
	m.alive.addr = wire_b(ip4, 4);
	m.alive.port = 7946;
	m.alive.meta = wire_b(meta_web, sizeof(meta_web));
	m.alive.vsn = wire_b(serf_vsn, 6);
	check_vector(&m, HEX_ALIVE68, &d, buf, sizeof(buf));
	cr_assert_eq(d.alive.incarnation, 1);
	cr_assert(wire_eq(d.alive.node, "a"));
	cr_assert(wire_eqb(d.alive.addr, ip4, 4));
	cr_assert_eq(d.alive.port, 7946);
	cr_assert(wire_eqb(d.alive.meta, meta_web, sizeof(meta_web)));
	cr_assert(wire_eqb(d.alive.vsn, serf_vsn, 6));
}

Test(wire, alive_ipv6_nil_meta)
{
	struct swim_msg m = { .type = SWIM_MSG_ALIVE }, d;
	uint8_t buf[256];

	m.alive.incarnation = 1;
	m.alive.node = wire_s("a");
	m.alive.addr = wire_b(ip6, 16);
	m.alive.port = 7946;
	m.alive.vsn = wire_b(serf_vsn, 6);
	check_vector(&m,
		     "0486a441646472b000000000000000000000000000000001ab496e63"
		     "61726e6174696f6e01a44d657461c0a44e6f6465a161a4506f7274cd"
		     "1f0aa356736ea6010502020505",
		     &d, buf, sizeof(buf));
	cr_assert(wire_eqb(d.alive.addr, ip6, 16));
	cr_assert_null(d.alive.meta.ptr);
}

Test(wire, user_raw)
{
	static const uint8_t body[] = { 0x01, 0x82, 0xa5 };
	struct swim_msg m = { .type = SWIM_MSG_USER }, d;
	uint8_t buf[16];

	m.user.data = wire_b(body, 3);
	cr_assert_eq(swim_wire_encode_msg(&m, buf, sizeof(buf)), 4);
	cr_assert_eq(buf[0], 8);
	cr_assert_eq(swim_wire_decode_msg(buf, 4, &d), 0);
	cr_assert(wire_eqb(d.user.data, body, 3));
}

Test(wire, compound_ping_alive)
{
	uint8_t ping[64], alive[128], out[256], want[256];
	struct swim_str parts[2];
	int n;

	parts[0] = wire_b(ping, (size_t)wire_unhex(HEX_PING59, ping, 64));
	parts[1] = wire_b(alive, (size_t)wire_unhex(HEX_ALIVE68, alive, 128));
	memcpy(want, "\x07\x02\x00\x3b\x00\x44", 6);
	memcpy(want + 6, ping, 59);
	memcpy(want + 65, alive, 68);
	n = swim_wire_encode_compound(parts, 2, out, sizeof(out));
	cr_assert_eq(n, 133);
	cr_assert_eq(swim_wire_compound_len(2, 127), 133);
	cr_assert_arr_eq(out, want, 133);
	cr_assert_eq(swim_wire_encode_compound(parts, 2, out, 132),
		     SWIM_WIRE_E_NOSPACE);
}

Test(wire, crc_ping)
{
	uint8_t ping[64], out[80], want[80];
	int n = wire_unhex(HEX_PING59, ping, sizeof(ping));

	cr_assert_eq(swim_crc32(ping, (size_t)n), 0xde796054u);
	wire_unhex("0cde796054" HEX_PING59, want, sizeof(want));
	cr_assert_eq(swim_wire_encode_crc(ping, (size_t)n, out, sizeof(out)),
		     64);
	cr_assert_arr_eq(out, want, 64);
	cr_assert_eq(swim_wire_encode_crc(ping, (size_t)n, out, 63),
		     SWIM_WIRE_E_NOSPACE);
	cr_assert_eq(swim_crc32((const uint8_t *)"123456789", 9), 0xcbf43926u);
}

Test(wire, compress_ping)
{
	uint8_t ping[64], out[128], want[128], back[128];
	int n = wire_unhex(HEX_PING59, ping, sizeof(ping));
	int w = wire_unhex(
		"0982a4416c676f00a3427566da003a"
		"00011422e5e40d9932a1c4949a52264ec100aaa6bca923674c992064c8c8"
		"21f50700008812295a2c7830549888132b9681f2460e9d661f140404",
		want, sizeof(want));

	cr_assert_eq(w, 73);
	cr_assert_eq(swim_wire_encode_compress(ping, (size_t)n, out,
					       sizeof(out)),
		     73);
	cr_assert_arr_eq(out, want, 73);
	cr_assert_eq(swim_wire_decode_compress(out + 1, 72, back,
					       sizeof(back)),
		     59);
	cr_assert_arr_eq(back, ping, 59);
}

/* A visitor that records what it saw. */
struct seen {
	int nb;				/* messages visited */
	struct swim_msg msg[16];	/* the first 16 */
	int stop_at;			/* return 42 at this visit, 0: never */
};

static int
seen_visit(void *ctx, const struct swim_msg *msg)
{
	struct seen *s = ctx;

	if (s->nb < 16)
		s->msg[s->nb] = *msg;
	s->nb++;
	return s->stop_at != 0 && s->nb == s->stop_at ? 42 : 0;
}

static struct swim_wire_scratch scratch;

Test(wire, packet_crc_compress_compound)
{
	uint8_t ping[64], alive[128], c[256], z[256], pkt[300];
	struct swim_str parts[2];
	struct seen s = { 0 };
	int n;

	parts[0] = wire_b(ping, (size_t)wire_unhex(HEX_PING59, ping, 64));
	parts[1] = wire_b(alive, (size_t)wire_unhex(HEX_ALIVE68, alive, 128));
	n = swim_wire_encode_compound(parts, 2, c, sizeof(c));
	n = swim_wire_encode_compress(c, (size_t)n, z, sizeof(z));
	cr_assert_gt(n, 0);
	n = swim_wire_encode_crc(z, (size_t)n, pkt, sizeof(pkt));
	cr_assert_eq(swim_wire_decode_packet(pkt, (size_t)n, &scratch,
					     seen_visit, &s),
		     2);
	cr_assert_eq(s.nb, 2);
	cr_assert_eq(s.msg[0].type, SWIM_MSG_PING);
	cr_assert(wire_eq(s.msg[0].ping.node, "b"));
	cr_assert_eq(s.msg[1].type, SWIM_MSG_ALIVE);
	cr_assert_eq(s.msg[1].alive.port, 7946);
	/* Decompressed slices live in the scratch. */
	cr_assert(s.msg[0].ping.node.ptr >= scratch.buf &&
		  s.msg[0].ping.node.ptr < scratch.buf + sizeof(scratch.buf));
}

Test(wire, packet_visitor_stops)
{
	uint8_t ping[64], c[256];
	struct swim_str parts[3];
	struct seen s = { .stop_at = 2 };
	int n;

	parts[0] = parts[1] = parts[2] =
		wire_b(ping, (size_t)wire_unhex(HEX_PING59, ping, 64));
	n = swim_wire_encode_compound(parts, 3, c, sizeof(c));
	cr_assert_eq(swim_wire_decode_packet(c, (size_t)n, &scratch,
					     seen_visit, &s),
		     42);
	cr_assert_eq(s.nb, 2);
}

/* Wrap msg in depth compounds of one part each. @retval length. */
static int
nest_compound(const uint8_t *msg, size_t len, unsigned depth, uint8_t *out,
	      size_t cap)
{
	uint8_t tmp[512];
	struct swim_str part;
	int n = (int)len;

	memcpy(out, msg, len);
	for (unsigned i = 0; i < depth; i++) {
		memcpy(tmp, out, (size_t)n);
		part = wire_b(tmp, (size_t)n);
		n = swim_wire_encode_compound(&part, 1, out, cap);
		cr_assert_gt(n, 0);
	}
	return n;
}

Test(wire, packet_max_depth_ok)
{
	uint8_t ping[64], pkt[512];
	int n = wire_unhex(HEX_PING59, ping, sizeof(ping));
	struct seen s = { 0 };

	n = nest_compound(ping, (size_t)n, SWIM_WIRE_MAX_DEPTH, pkt,
			  sizeof(pkt));
	cr_assert_eq(swim_wire_decode_packet(pkt, (size_t)n, &scratch,
					     seen_visit, &s),
		     1);
}

Test(wire, find_ping_plain_and_compound)
{
	uint8_t ping[64], alive[128], c[256], pkt[300];
	struct swim_str parts[2];
	struct swim_ping p;
	int n;

	parts[0] = wire_b(alive, (size_t)wire_unhex(HEX_ALIVE68, alive, 128));
	parts[1] = wire_b(ping, (size_t)wire_unhex(HEX_PING59, ping, 64));
	cr_assert_eq(swim_wire_find_ping(ping, 59, "b", 1, &p), 1);
	cr_assert_eq(p.seq_no, 1);
	cr_assert(wire_eq(p.source_node, "a"));
	cr_assert_eq(swim_wire_find_ping(ping, 59, "c", 1, &p), 0);
	cr_assert_eq(swim_wire_find_ping(alive, 68, "b", 1, &p), 0);
	n = swim_wire_encode_compound(parts, 2, c, sizeof(c));
	cr_assert_eq(swim_wire_find_ping(c, (size_t)n, "b", 1, &p), 1);
	cr_assert_eq(p.source_port, 7946);
	n = swim_wire_encode_crc(c, (size_t)n, pkt, sizeof(pkt));
	cr_assert_eq(swim_wire_find_ping(pkt, (size_t)n, "b", 1, &p), 1);
	pkt[n - 1] ^= 1;
	cr_assert_eq(swim_wire_find_ping(pkt, (size_t)n, "b", 1, &p),
		     SWIM_WIRE_E_CRC);
}

Test(wire, find_ping_empty_node_matches_any)
{
	struct swim_msg m = { .type = SWIM_MSG_PING };
	struct swim_ping p;
	uint8_t buf[64];
	int n;

	m.ping.seq_no = 9;
	n = swim_wire_encode_msg(&m, buf, sizeof(buf));
	cr_assert_eq(swim_wire_find_ping(buf, (size_t)n, "zz", 2, &p), 1);
	cr_assert_eq(p.seq_no, 9);
}

Test(wire, find_ping_not_through_compress)
{
	uint8_t ping[64], z[128];
	struct swim_ping p;
	int n = wire_unhex(HEX_PING59, ping, sizeof(ping));

	n = swim_wire_encode_compress(ping, (size_t)n, z, sizeof(z));
	cr_assert_eq(swim_wire_find_ping(z, (size_t)n, "b", 1, &p), 0);
}

Test(wire, push_pull_header)
{
	struct swim_push_pull_header h = { .join = true, .nb_nodes = 1 };
	uint8_t out[64], want[64];
	int n = wire_unhex("0683a44a6f696ec3a54e6f64657301ac5573657253746174"
			   "654c656e00",
			   want, sizeof(want));

	cr_assert_eq(swim_wire_encode_push_pull_header(&h, out, sizeof(out)),
		     n);
	cr_assert_arr_eq(out, want, (size_t)n);
	cr_assert_eq(swim_wire_encode_push_pull_header(&h, out, 28),
		     SWIM_WIRE_E_NOSPACE);
}

Test(wire, push_node)
{
	struct swim_push_node nd = {
		.name = wire_s("a"), .addr = wire_b(ip4, 4), .port = 7946,
		.incarnation = 1, .state = SWIM_STATUS_ALIVE,
		.meta = wire_b(meta_web, sizeof(meta_web)),
		.vsn = wire_b(serf_vsn, 6),
	};
	uint8_t out[128], want[128];
	int n = wire_unhex("87a441646472a47f000001ab496e6361726e6174696f6e01"
			   "a44d657461abff81a4726f6c65a3776562a44e616d65a161"
			   "a4506f7274cd1f0aa5537461746500a356736ea601050202"
			   "0505",
			   want, sizeof(want));

	cr_assert_eq(n, 74);
	cr_assert_eq(swim_wire_encode_push_node(&nd, out, sizeof(out)), 74);
	cr_assert_arr_eq(out, want, 74);
}

/* Node visitor: counts and checks names. */
struct pp_seen {
	int nb;			/* nodes visited */
	char names[8][8];	/* their names */
	enum swim_status state[8];
};

static int
pp_visit(void *ctx, const struct swim_push_node *n)
{
	struct pp_seen *s = ctx;

	if (s->nb < 8 && n->name.len < 8) {
		memcpy(s->names[s->nb], n->name.ptr, n->name.len);
		s->names[s->nb][n->name.len] = 0;
		s->state[s->nb] = n->state;
	}
	s->nb++;
	return 0;
}

/* Build 06 header + 3 nodes + 5 bytes of user state. @retval length. */
static int
build_push_pull(uint8_t *buf, size_t cap)
{
	struct swim_push_pull_header h = { .join = false, .nb_nodes = 3,
					   .user_state_len = 5 };
	struct swim_push_node nd = { .addr = wire_b(ip4, 4), .port = 7946,
				     .incarnation = 2,
				     .vsn = wire_b(serf_vsn, 6) };
	static const char *names[3] = { "a", "bb", "ccc" };
	int n = swim_wire_encode_push_pull_header(&h, buf, cap);

	for (int i = 0; i < 3; i++) {
		nd.name = wire_s(names[i]);
		nd.state = (enum swim_status)i;
		n += swim_wire_encode_push_node(&nd, buf + n, cap - (size_t)n);
	}
	memcpy(buf + n, "hello", 5);
	return n + 5;
}

Test(wire, push_pull_incremental)
{
	struct swim_push_pull_header h;
	struct swim_str us;
	uint8_t buf[512];
	int n = build_push_pull(buf, sizeof(buf));

	for (int i = 0; i < n; i++) {
		struct pp_seen s = { 0 };

		cr_assert_eq(swim_wire_decode_push_pull(buf, (size_t)i, &h,
							pp_visit, &s, &us),
			     SWIM_WIRE_E_AGAIN, "prefix %d", i);
		cr_assert_eq(s.nb, 0, "visited on a prefix of %d", i);
	}
	struct pp_seen s = { 0 };

	/* Trailing bytes after the message are not consumed. */
	buf[n] = 0x77;
	cr_assert_eq(swim_wire_decode_push_pull(buf, (size_t)n + 1, &h,
						pp_visit, &s, &us),
		     n);
	cr_assert_eq(h.nb_nodes, 3);
	cr_assert_eq(h.user_state_len, 5);
	cr_assert_not(h.join);
	cr_assert_eq(s.nb, 3);
	cr_assert_str_eq(s.names[2], "ccc");
	cr_assert_eq(s.state[2], SWIM_STATUS_DEAD);
	cr_assert(wire_eq(us, "hello"));
}

Test(wire, mp_strl_boundaries)
{
	static const struct {
		uint32_t len;		/* string length */
		uint8_t hdr[5];		/* expected header */
		size_t hdr_len;		/* its size */
	} cases[] = {
		{ 0, { 0xa0 }, 1 },
		{ 31, { 0xbf }, 1 },
		{ 32, { 0xda, 0x00, 0x20 }, 3 },	/* never str8 (d9) */
		{ 255, { 0xda, 0x00, 0xff }, 3 },
		{ 65535, { 0xda, 0xff, 0xff }, 3 },
		{ 65536, { 0xdb, 0x00, 0x01, 0x00, 0x00 }, 5 },
	};
	static uint8_t data[70000], out[70010];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct swim_str s = wire_b(data, cases[i].len);
		uint8_t *end = swim_mp_encode_strl(out, cases[i].len);

		cr_assert_eq((size_t)(end - out), cases[i].hdr_len);
		cr_assert_arr_eq(out, cases[i].hdr, cases[i].hdr_len);
		end = swim_mp_encode_bytes(out, &s);
		cr_assert_eq((size_t)(end - out), swim_mp_sizeof_bytes(&s));
		cr_assert_eq(swim_mp_sizeof_bytes(&s),
			     cases[i].hdr_len + cases[i].len);
	}
	struct swim_str nil = { NULL, 0 };

	cr_assert_eq(swim_mp_encode_bytes(out, &nil) - out, 1);
	cr_assert_eq(out[0], 0xc0);
	cr_assert_eq(swim_mp_sizeof_bytes(&nil), 1);
}

Test(wire, round_trip_all_types_large_fields)
{
	static uint8_t big[70000];
	static uint8_t out[120000];
	struct swim_msg m = { .type = SWIM_MSG_ACK }, d;
	int n;

	/* A str32 payload (> 65535 bytes) survives the round trip. */
	memset(big, 0x5a, sizeof(big));
	m.ack.seq_no = 0xffffffffu;
	m.ack.payload = wire_b(big, sizeof(big));
	n = swim_wire_encode_msg(&m, out, sizeof(out));
	cr_assert_gt(n, 70000);
	cr_assert_eq(swim_wire_decode_msg(out, (size_t)n, &d), 0);
	cr_assert_eq(d.ack.seq_no, 0xffffffffu);
	cr_assert(wire_eqb(d.ack.payload, big, sizeof(big)));
	/* Compress of a str32-sized LZW output, and back. */
	uint64_t r = 88172645463325252ull;

	for (size_t i = 0; i < sizeof(big); i++) {
		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		big[i] = (uint8_t)r;
	}
	n = swim_wire_encode_compress(big, sizeof(big), out, sizeof(out));
	cr_assert_gt(n, 65535);
	cr_assert_eq(out[12], 0xdb);
	static uint8_t back[70000];

	cr_assert_eq(swim_wire_decode_compress(out + 1, (size_t)n - 1, back,
					       sizeof(back)),
		     (int)sizeof(big));
	cr_assert_arr_eq(back, big, sizeof(big));
}
