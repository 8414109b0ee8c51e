/* SPDX-License-Identifier: MIT */
/*
 * The fast path's shortcuts against the general codec they stand in for:
 * swim_wire_match_ping must give swim_wire_find_ping's result (return
 * code and every field, slices included) on every golden capture and on
 * mutated and cut pings, and the template ack must be byte for byte what
 * swim_wire_encode_msg (and swim_wire_encode_compound) write.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp.h"
#include "dp_fastpath.h"
#include "dp_pkt.h"
#include "swim_wire.h"
#include "swim_wire_ping.h"

static const char *const captures[] = { "plain", "t1", "t2", "t6", "t7",
					"t9" };

/* wire.md 5.1: ping from b (127.0.0.1:17947) to a, SeqNo 1. */
static const uint8_t ping_a_src[] = {
	0x00, 0x85, 0xa4, 'N', 'o', 'd', 'e', 0xa1, 'a',
	0xa5, 'S', 'e', 'q', 'N', 'o', 0x01,
	0xaa, 'S', 'o', 'u', 'r', 'c', 'e', 'A', 'd', 'd', 'r',
	0xa4, 0x7f, 0x00, 0x00, 0x01,
	0xaa, 'S', 'o', 'u', 'r', 'c', 'e', 'N', 'o', 'd', 'e', 0xa1, 'b',
	0xaa, 'S', 'o', 'u', 'r', 'c', 'e', 'P', 'o', 'r', 't',
	0xcd, 0x46, 0x1b,
};

/* The same keys in reverse order, SeqNo as uint32 and Node as str16. */
static const uint8_t ping_a_reversed[] = {
	0x00, 0x85,
	0xaa, 'S', 'o', 'u', 'r', 'c', 'e', 'P', 'o', 'r', 't', 0xcc, 0x80,
	0xaa, 'S', 'o', 'u', 'r', 'c', 'e', 'N', 'o', 'd', 'e', 0xa1, 'b',
	0xaa, 'S', 'o', 'u', 'r', 'c', 'e', 'A', 'd', 'd', 'r',
	0xa4, 0x7f, 0x00, 0x00, 0x01,
	0xa5, 'S', 'e', 'q', 'N', 'o', 0xce, 0x01, 0x02, 0x03, 0x04,
	0xa4, 'N', 'o', 'd', 'e', 0xda, 0x00, 0x01, 'a',
};

/* Both functions on one input: same return code, same ping. */
static void
same_as_general(const uint8_t *buf, size_t len, const char *name,
		const char *what, size_t at)
{
	struct swim_ping fast, slow;
	size_t nlen = strlen(name);
	int rf, rs;

	memset(&fast, 0xa5, sizeof(fast));
	memset(&slow, 0xa5, sizeof(slow));
	rf = swim_wire_match_ping(buf, len, name, nlen, &fast);
	rs = swim_wire_find_ping(buf, len, name, nlen, &slow);
	cr_assert_eq(rf, rs, "%s %zu, name '%s': match %d, find %d", what, at,
		     name, rf, rs);
	if (rs != 1)
		return;
	cr_assert_eq(fast.seq_no, slow.seq_no, "%s %zu", what, at);
	cr_assert_eq(fast.node.ptr, slow.node.ptr, "%s %zu", what, at);
	cr_assert_eq(fast.node.len, slow.node.len, "%s %zu", what, at);
	cr_assert_eq(fast.source_addr.ptr, slow.source_addr.ptr);
	cr_assert_eq(fast.source_addr.len, slow.source_addr.len);
	cr_assert_eq(fast.source_node.ptr, slow.source_node.ptr);
	cr_assert_eq(fast.source_node.len, slow.source_node.len);
	cr_assert_eq(fast.source_port, slow.source_port, "%s %zu", what, at);
}

/* Every name a packet might be for, and some it is not for. */
static void
same_for_names(const uint8_t *buf, size_t len, const char *what, size_t at)
{
	static const char *const names[] = { "a", "b", "c", "zz", "bench",
					     "", "bench-node", "bench-node-x",
					     "a-name-of-16-ch.", "seventeen-chars-x" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		same_as_general(buf, len, names[i], what, at);
}

/* One hex line of a capture into buf. @retval bytes, 0 skip, -1 EOF. */
static int
next_packet(FILE *f, uint8_t *buf, size_t cap)
{
	static char line[2 * 70000];
	size_t n;

	if (fgets(line, sizeof(line), f) == NULL)
		return -1;
	if (line[0] == '#')
		return 0;
	n = strcspn(line, "\r\n");
	if (n % 2 != 0 || n / 2 > cap)
		return 0;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(line + 2 * i, "%2x", &v) != 1)
			return 0;
		buf[i] = (uint8_t)v;
	}
	return (int)(n / 2);
}

static int
note_ping(void *ctx, const struct swim_msg *msg)
{
	if (msg->type == SWIM_MSG_PING)
		*(int *)ctx = 1;
	return 0;
}

/* Whether a (plain or compound) packet holds a ping, to anyone. */
static bool
has_ping(const uint8_t *buf, size_t len)
{
	static struct swim_wire_scratch scratch;
	int found = 0;

	/* find_ping does not look inside compression */
	if (len == 0 || buf[0] == SWIM_MSG_COMPRESS)
		return false;
	swim_wire_decode_packet(buf, len, &scratch, note_ping, &found);
	return found != 0;
}

/* Each byte of a ping replaced by values that matter to msgpack. */
static void
mutate_all(const uint8_t *orig, size_t len, const char *what)
{
	static const uint8_t vals[] = {
		0x00, 0x01, 0x05, 0x0a, 0x7f, 0x80, 0x82, 0x85, 0x8f, 0x90,
		0xa0, 0xa1, 0xa4, 0xa5, 0xaa, 0xbf, 0xc0, 0xc1, 0xc2, 0xc4,
		0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd9, 0xda, 0xdb, 0xde, 0xff,
		'N', 'S', 'o',
	};
	uint8_t *buf = malloc(len);

	cr_assert_not_null(buf);
	for (size_t i = 0; i < len; i++) {
		for (size_t v = 0; v < sizeof(vals) + 2; v++) {
			memcpy(buf, orig, len);
			buf[i] = v < sizeof(vals) ? vals[v] :
				 (uint8_t)(orig[i] + (v == sizeof(vals) ? 1 :
								    -1));
			same_for_names(buf, len, what, i);
		}
	}
	/* every cut, each in a buffer of its own size (ASan sees overreads) */
	for (size_t cut = 0; cut <= len; cut++) {
		uint8_t *c = malloc(cut ? cut : 1);

		cr_assert_not_null(c);
		memcpy(c, orig, cut);
		same_for_names(c, cut, what, cut);
		free(c);
	}
	free(buf);
}

Test(dp_fp_match, agrees_with_find_ping_on_every_golden_packet)
{
	static uint8_t pkt[70000];
	int nb_ping = 0, nb_pkt = 0;

	for (size_t i = 0; i < sizeof(captures) / sizeof(captures[0]); i++) {
		char path[512];
		FILE *f;
		int len;

		snprintf(path, sizeof(path), "%s/%s.udp.hex", WIRE_DATA_DIR,
			 captures[i]);
		f = fopen(path, "r");
		cr_assert_not_null(f, "%s", path);
		while ((len = next_packet(f, pkt, sizeof(pkt))) >= 0) {
			if (len == 0)
				continue;
			nb_pkt++;
			same_for_names(pkt, (size_t)len, captures[i],
				       (size_t)nb_pkt);
			nb_ping += has_ping(pkt, (size_t)len);
		}
		fclose(f);
	}
	cr_assert_gt(nb_pkt, 600);
	cr_assert_gt(nb_ping, 10);
}

Test(dp_fp_match, agrees_on_mutated_and_cut_golden_pings)
{
	static uint8_t pkt[70000];
	int nb = 0;

	for (size_t i = 0; i < sizeof(captures) / sizeof(captures[0]); i++) {
		char path[512];
		FILE *f;
		int len;

		snprintf(path, sizeof(path), "%s/%s.udp.hex", WIRE_DATA_DIR,
			 captures[i]);
		f = fopen(path, "r");
		cr_assert_not_null(f, "%s", path);
		/* the first few pings, bare or in a compound, per capture */
		while ((len = next_packet(f, pkt, sizeof(pkt))) >= 0 &&
		       nb < 8 * (int)(i + 1)) {
			if (len <= 0 || len > 400 || !has_ping(pkt, (size_t)len))
				continue;
			mutate_all(pkt, (size_t)len, captures[i]);
			nb++;
		}
		fclose(f);
	}
	cr_assert_gt(nb, 10);
}

Test(dp_fp_match, agrees_on_mutated_vectors)
{
	uint8_t buf[256];

	mutate_all(ping_a_src, sizeof(ping_a_src), "wire.md 5.1");
	mutate_all(ping_a_reversed, sizeof(ping_a_reversed), "reversed");
	/* in a compound behind a suspect, and as its second ping */
	buf[0] = SWIM_MSG_COMPOUND;
	buf[1] = 2;
	buf[2] = 0;
	buf[3] = sizeof(ping_a_src);
	buf[4] = 0;
	buf[5] = sizeof(ping_a_reversed);
	memcpy(buf + 6, ping_a_src, sizeof(ping_a_src));
	memcpy(buf + 6 + sizeof(ping_a_src), ping_a_reversed,
	       sizeof(ping_a_reversed));
	mutate_all(buf, 6 + sizeof(ping_a_src) + sizeof(ping_a_reversed),
		   "compound");
}

Test(dp_fp_match, names_of_every_length_are_compared_whole)
{
	static const char name[] = "0123456789abcdefghij";
	uint8_t buf[64] = { 0x00, 0x82, 0xa4, 'N', 'o', 'd', 'e' };
	struct swim_ping p;

	for (size_t n = 1; n < sizeof(name); n++) {
		buf[7] = (uint8_t)(0xa0 | n);
		memcpy(buf + 8, name, n);
		memcpy(buf + 8 + n, "\xa5SeqNo\x07", 7);
		cr_assert_eq(swim_wire_match_ping(buf, 15 + n, name, n, &p), 1,
			     "length %zu", n);
		for (size_t i = 0; i < n; i++) {
			buf[8 + i] ^= 0x20;
			cr_assert_eq(swim_wire_match_ping(buf, 15 + n, name, n,
							  &p), 0,
				     "length %zu, byte %zu differs", n, i);
			buf[8 + i] ^= 0x20;
		}
	}
}

Test(dp_fp_match, any_key_order_is_read)
{
	struct swim_ping p;

	cr_assert_eq(swim_wire_match_ping(ping_a_reversed,
					  sizeof(ping_a_reversed), "a", 1, &p),
		     1);
	cr_assert_eq(p.seq_no, 0x01020304u);
	cr_assert_eq(p.source_port, 0x80);
	cr_assert_eq(p.node.len, 1);
	cr_assert_eq(p.node.ptr, ping_a_reversed + sizeof(ping_a_reversed) - 1);
	cr_assert_eq(p.source_addr.len, 4);
	cr_assert_eq(memcmp(p.source_addr.ptr, "\x7f\0\0\1", 4), 0);
	cr_assert_eq(swim_wire_match_ping(ping_a_reversed,
					  sizeof(ping_a_reversed), "b", 1, &p),
		     0);
}

Test(dp_fp_match, unusual_layouts_get_the_general_answer)
{
	/* repeated key: the later value wins, as in the general decoder */
	static const uint8_t dup[] = {
		0x00, 0x83, 0xa4, 'N', 'o', 'd', 'e', 0xa1, 'x',
		0xa5, 'S', 'e', 'q', 'N', 'o', 0x01,
		0xa4, 'N', 'o', 'd', 'e', 0xa1, 'b',
	};
	/* map16, nil Node, an unknown key and a negative-fixint-free int8 */
	static const uint8_t odd[] = {
		0x00, 0xde, 0x00, 0x03, 0xa4, 'N', 'o', 'd', 'e', 0xc0,
		0xa3, 'F', 'o', 'o', 0x90,
		0xa5, 'S', 'e', 'q', 'N', 'o', 0xd0, 0x05,
	};
	struct swim_ping p;

	cr_assert_eq(swim_wire_match_ping(dup, sizeof(dup), "b", 1, &p), 1);
	cr_assert_eq(p.seq_no, 1);
	cr_assert_eq(swim_wire_match_ping(dup, sizeof(dup), "x", 1, &p), 0);
	cr_assert_eq(swim_wire_match_ping(odd, sizeof(odd), "q", 1, &p), 1);
	cr_assert_eq(p.seq_no, 5);
	cr_assert_null(p.node.ptr);
	same_for_names(dup, sizeof(dup), "dup", 0);
	same_for_names(odd, sizeof(odd), "odd", 0);
}

Test(dp_fp_match, errors_are_the_general_ones)
{
	static const uint8_t neg_seq[] = {
		0x00, 0x81, 0xa5, 'S', 'e', 'q', 'N', 'o', 0xff,
	};
	static const uint8_t bin_node[] = {
		0x00, 0x81, 0xa4, 'N', 'o', 'd', 'e', 0xc4, 0x01, 'b',
	};
	uint8_t crc[5 + sizeof(ping_a_src)] = { SWIM_MSG_HAS_CRC, 1, 2, 3, 4 };
	struct swim_ping p;

	memcpy(crc + 5, ping_a_src, sizeof(ping_a_src));
	cr_assert_eq(swim_wire_match_ping(neg_seq, sizeof(neg_seq), "b", 1,
					  &p), SWIM_WIRE_E_RANGE);
	cr_assert_eq(swim_wire_match_ping(bin_node, sizeof(bin_node), "b", 1,
					  &p), SWIM_WIRE_E_TYPE);
	cr_assert_eq(swim_wire_match_ping(ping_a_src, 10, "a", 1, &p),
		     SWIM_WIRE_E_TRUNCATED);
	cr_assert_eq(swim_wire_match_ping(crc, sizeof(crc), "a", 1, &p),
		     SWIM_WIRE_E_CRC);
	cr_assert_eq(swim_wire_match_ping(ping_a_src, 0, "a", 1, &p),
		     SWIM_WIRE_E_EMPTY);
}

/* --- the ack template --- */

/* The reference ack: the general encoders, as dp_fastpath did before. */
static int
ref_ack(const struct dp_snapshot *snap, const struct dp_fp *fp,
	uint32_t seq_no, uint8_t *out, size_t cap)
{
	struct swim_msg m = { .type = SWIM_MSG_ACK };
	struct swim_str parts[1 + DP_FP_MAX_PARTS];
	uint8_t ack[DP_FP_ACK_MAX];
	int n;

	m.ack.seq_no = seq_no;
	if (snap->ack_payload_len > 0) {
		m.ack.payload.ptr = snap->ack_payload;
		m.ack.payload.len = snap->ack_payload_len;
	}
	if (fp->nb_parts == 0)
		return swim_wire_encode_msg(&m, out, cap);
	n = swim_wire_encode_msg(&m, ack, sizeof(ack));
	cr_assert_gt(n, 0);
	parts[0].ptr = ack;
	parts[0].len = (uint32_t)n;
	memcpy(parts + 1, fp->parts + 1, fp->nb_parts * sizeof(parts[0]));
	return swim_wire_encode_compound(parts, 1 + fp->nb_parts, out, cap);
}

/* RFC 1071 sum of bytes, big-endian words, folded: the plain reference. */
static uint16_t
ref_sum(const uint8_t *p, size_t len)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += (i & 1) ? p[i] : (uint64_t)p[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint16_t
fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The ack as the DPDK lcore sends it: written over the ping's frame at
 * DP_UDP4_PAYLOAD_OFF, the header template around it from the fast
 * path's sum; byte for byte the general builder's frame, which makes its
 * own pass over the payload. */
static void
check_reply_sum(const uint8_t *ack, size_t len, uint32_t sum)
{
	static const struct dp_pkt_self self = {
		.mac = { 2, 0, 0, 0, 0, 1 }, .ip = 0xc6120001u, .port = 7946,
	};
	struct dp_udp4_hdrs h = { .src_mac = { 2, 0, 0, 0, 0, 2 },
				  .dst_mac = { 2, 0, 0, 0, 0, 1 },
				  .src_ip = 0xc6120002u, .dst_ip = 0xc6120001u,
				  .src_port = 40001, .dst_port = 7946 };
	static uint8_t a[DP_PKT_MAX + 64], b[DP_PKT_MAX + 64];
	struct dp_pkt_udp4_tmpl t;
	struct dp_pkt_view v;
	int na, nb;

	cr_assert_gt(dp_pkt_build_udp4(b, sizeof(b), &h, (const uint8_t *)"x",
				       1), 0);
	cr_assert_eq(dp_pkt_parse(b, 60, &self, &v), DP_PKT_UDP_US);
	/* the reference: from us back to the ping's sender */
	h = (struct dp_udp4_hdrs){ .src_ip = self.ip, .dst_ip = v.src_ip,
				   .src_port = self.port,
				   .dst_port = v.src_port };
	memcpy(h.src_mac, self.mac, 6);
	memcpy(h.dst_mac, v.src_mac, 6);
	na = dp_pkt_build_udp4(a, sizeof(a), &h, ack, len);
	memcpy(b + DP_UDP4_PAYLOAD_OFF, ack, len);
	dp_pkt_udp4_tmpl_init(&t, &self);
	nb = dp_pkt_udp4_hdrs_tmpl(b, sizeof(b), &t, v.src_mac, v.src_ip,
				   v.src_port, len, sum);
	cr_assert_gt(na, 0);
	cr_assert_eq(na, nb);
	cr_assert_eq(memcmp(a, b, (size_t)na), 0, "checksums differ");
	/* and the receiver accepts it */
	cr_assert_eq(dp_pkt_parse(b, (size_t)nb, &(struct dp_pkt_self){
			.mac = { 2, 0, 0, 0, 0, 2 }, .ip = 0xc6120002u,
			.port = 40001 }, &v), DP_PKT_UDP_US);
	cr_assert_eq(v.payload_len, len);
}

static void
check_seqs(const struct dp_snapshot *snap, const char *what)
{
	static const uint32_t seqs[] = {
		0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x12345678,
		0xffffffffu,
	};
	static struct dp_fp fp;
	uint8_t want[DP_PKT_MAX], got[DP_PKT_MAX];

	dp_fp_init(&fp);
	dp_fp_set_snapshot(&fp, snap, 1);
	cr_assert_neq(fp.tmpl.head_len, 0, "%s: no template", what);
	for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]) + 50; i++) {
		uint32_t seq = i < sizeof(seqs) / sizeof(seqs[0]) ? seqs[i] :
			       (uint32_t)rand() << 7 ^ (uint32_t)rand();
		int w = ref_ack(snap, &fp, seq, want, sizeof(want));
		int g = dp_fp_build_ack(&fp, seq, got, sizeof(got));

		cr_assert_gt(w, 0, "%s", what);
		cr_assert_eq(g, w, "%s seq %u: %d bytes, want %d", what, seq,
			     g, w);
		cr_assert_eq(memcmp(got, want, (size_t)w), 0, "%s seq %u",
			     what, seq);
		cr_assert(fp.has_ack_sum, "%s", what);
		cr_assert_eq(fold(fp.ack_sum), ref_sum(want, (size_t)w),
			     "%s seq %u: sum", what, seq);
		if (i % 7 == 0)
			check_reply_sum(got, (size_t)g, fp.ack_sum);
		/* one byte short: no space, as the encoders say */
		cr_assert_eq(dp_fp_build_ack(&fp, seq, got, (size_t)w - 1),
			     SWIM_WIRE_E_NOSPACE, "%s seq %u", what, seq);
	}
}

/* n piggyback parts of len bytes each (a suspect-like type byte first). */
static void
with_parts(struct dp_snapshot *snap, unsigned n, unsigned len)
{
	size_t off = 0;

	for (unsigned i = 0; i < n; i++) {
		snap->piggyback[off] = (uint8_t)(len >> 8);
		snap->piggyback[off + 1] = (uint8_t)len;
		snap->piggyback[off + 2] = SWIM_MSG_SUSPECT;
		memset(snap->piggyback + off + 3, (int)(i + 1), len - 1);
		off += 2 + len;
	}
	snap->piggyback_len = (uint16_t)off;
	snap->nb_piggyback = (uint16_t)n;
}

Test(dp_fp_match, template_acks_are_byte_exact)
{
	static struct dp_snapshot snap;

	srand(7);
	memset(&snap, 0, sizeof(snap));
	strcpy(snap.name, "b");
	check_seqs(&snap, "nil payload");
	snap.ack_payload_len = 130;	/* serf's: a str16 header */
	memset(snap.ack_payload, 0xcb, 130);
	check_seqs(&snap, "serf payload");
	snap.ack_payload_len = 20;	/* a fixstr header */
	check_seqs(&snap, "short payload");
	snap.ack_payload_len = 21;	/* SeqNo at an even offset */
	check_seqs(&snap, "odd payload");
	snap.ack_payload_len = 131;
	check_seqs(&snap, "odd str16 payload");
	snap.ack_payload_len = 256;
	check_seqs(&snap, "largest payload");
	with_parts(&snap, 1, 29);
	check_seqs(&snap, "one part");
	snap.ack_payload_len = 131;
	with_parts(&snap, 2, 17);
	check_seqs(&snap, "odd payload, two odd parts");
	snap.ack_payload_len = 256;
	with_parts(&snap, 3, 300);
	check_seqs(&snap, "three parts");
	with_parts(&snap, 254, 2);
	check_seqs(&snap, "254 parts");
	snap.ack_payload_len = 0;
	with_parts(&snap, 1, 1022);
	check_seqs(&snap, "one big part, nil payload");
}
