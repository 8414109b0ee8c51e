/* SPDX-License-Identifier: MIT */
/*
 * swim_wire against real serf <-> serf (and Python node <-> serf) traffic:
 * the plaintext captures of shared/protocol/captures, extracted into
 * tests/data/NAME.{udp,tcp}.hex by tests/data/extract_pcap.py.
 *
 * Every captured UDP packet must decode; every uncompressed simple message
 * must re-encode to the identical bytes, every CRC and compound wrapper
 * too, and every compressed body must re-compress to Go's exact LZW bytes.
 * Every TCP stream (push/pull, TCP ping/ack, user) must decode, push/pulls
 * incrementally and byte-exact on re-encode.
 */
#include <criterion/criterion.h>

#include "swim_wire.h"
#include "wire_util.h"

TestSuite(wire_golden, .timeout = 60);

#ifndef WIRE_DATA_DIR
#error "WIRE_DATA_DIR must point at tests/data"
#endif

static const char *const captures[] = { "plain", "t1", "t2", "t6", "t7",
					"t9" };

enum { LINE_MAX_BYTES = 1 << 17 };

static char line[2 * LINE_MAX_BYTES + 2];
static uint8_t pkt[LINE_MAX_BYTES];
static uint8_t tmp[LINE_MAX_BYTES];
static uint8_t plain[LINE_MAX_BYTES];
static struct swim_wire_scratch scratch;

/* What the golden walk saw, to prove the captures exercised each path. */
struct golden_stats {
	int nb_pkt;		/* UDP packets */
	int nb_msg;		/* messages visited */
	int nb_reenc;		/* messages re-encoded byte-exact */
	int nb_crc;		/* CRC-wrapped packets */
	int nb_compound;	/* compound parts walked */
	int nb_compress;	/* compressed bodies re-compressed exactly */
	int by_type[16];	/* visited messages per type */
	int nb_stream;		/* TCP stream directions */
	int nb_push_pull;	/* push/pull streams decoded */
	int nb_node;		/* push nodes re-encoded exactly */
};

/* Next packet of the capture f into pkt. @retval length, 0 at EOF. */
static int
next_packet(FILE *f)
{
	return wire_next_hex(f, line, sizeof(line), pkt, sizeof(pkt));
}

static int
count_visit(void *ctx, const struct swim_msg *msg)
{
	struct golden_stats *st = ctx;

	st->nb_msg++;
	if ((unsigned)msg->type < 16)
		st->by_type[msg->type]++;
	return 0;
}

/* Re-encode a simple message part and compare with its bytes. */
static void
check_reencode(struct golden_stats *st, const uint8_t *part, size_t len)
{
	struct swim_msg m;
	int n;

	cr_assert_eq(swim_wire_decode_msg(part, len, &m), 0);
	n = swim_wire_encode_msg(&m, tmp, sizeof(tmp));
	cr_assert_eq(n, (int)len, "type %d re-encoded to %d bytes, not %zu",
		     part[0], n, len);
	cr_assert_arr_eq(tmp, part, len, "type %d differs", part[0]);
	st->nb_reenc++;
}

static void check_part(struct golden_stats *st, const uint8_t *buf,
		       size_t len);

/* Re-build a compound from its own parts and check each part. */
static void
check_compound(struct golden_stats *st, const uint8_t *buf, size_t len)
{
	struct swim_str parts[255];
	unsigned nb = buf[1];
	size_t off = 2 + 2 * (size_t)nb;
	uint8_t *re = malloc(len);

	cr_assert_leq(off, len);
	for (unsigned i = 0; i < nb; i++) {
		size_t plen = ((size_t)buf[2 + 2 * i] << 8) | buf[3 + 2 * i];

		cr_assert_leq(off + plen, len);
		parts[i] = wire_b(buf + off, plen);
		off += plen;
		st->nb_compound++;
	}
	cr_assert_eq(off, len, "compound has trailing bytes");
	cr_assert_eq(swim_wire_encode_compound(parts, nb, re, len), (int)len);
	cr_assert_arr_eq(re, buf, len);
	free(re);
	for (unsigned i = 0; i < nb; i++)
		check_part(st, parts[i].ptr, parts[i].len);
}

/* Decompress, re-compress to the identical bytes, check the inside. */
static void
check_compress(struct golden_stats *st, const uint8_t *buf, size_t len)
{
	uint8_t *inner = malloc(LINE_MAX_BYTES);
	uint8_t *re = malloc(len + 64);
	int n = swim_wire_decode_compress(buf + 1, len - 1, inner,
					  LINE_MAX_BYTES);

	cr_assert_gt(n, 0, "decompress: %s", swim_wire_strerror(n));
	cr_assert_eq(swim_wire_encode_compress(inner, (size_t)n, re, len + 64),
		     (int)len, "re-compressed length differs");
	cr_assert_arr_eq(re, buf, len, "LZW output differs from Go's");
	st->nb_compress++;
	check_part(st, inner, (size_t)n);
	free(re);
	free(inner);
}

static void
check_part(struct golden_stats *st, const uint8_t *buf, size_t len)
{
	cr_assert_gt(len, 0);
	switch (buf[0]) {
	case SWIM_MSG_COMPOUND:
		check_compound(st, buf, len);
		return;
	case SWIM_MSG_COMPRESS:
		check_compress(st, buf, len);
		return;
	case SWIM_MSG_PING:
	case SWIM_MSG_INDIRECT_PING:
	case SWIM_MSG_ACK:
	case SWIM_MSG_SUSPECT:
	case SWIM_MSG_ALIVE:
	case SWIM_MSG_DEAD:
	case SWIM_MSG_NACK:
		check_reencode(st, buf, len);
		return;
	default:
		return;
	}
}

static void
check_udp(struct golden_stats *st, size_t len)
{
	int rc = swim_wire_decode_packet(pkt, len, &scratch, count_visit, st);

	cr_assert_gt(rc, 0, "packet %d (%zu bytes): %s", st->nb_pkt, len,
		     swim_wire_strerror(rc));
	st->nb_pkt++;
	if (pkt[0] == SWIM_MSG_HAS_CRC) {
		cr_assert_eq(swim_wire_encode_crc(pkt + 5, len - 5, tmp,
						  sizeof(tmp)),
			     (int)len);
		cr_assert_arr_eq(tmp, pkt, len);
		st->nb_crc++;
		check_part(st, pkt + 5, len - 5);
	} else {
		check_part(st, pkt, len);
	}
}

/* Re-encoding of a whole push/pull, built node by node. */
struct pp_rebuild {
	struct golden_stats *st;	/* counters */
	uint8_t *out;			/* rebuilt stream */
	size_t len;			/* bytes in out */
	size_t cap;			/* its size */
};

static int
node_reencode(void *ctx, const struct swim_push_node *n)
{
	struct pp_rebuild *r = ctx;
	int len = swim_wire_encode_push_node(n, r->out + r->len,
					     r->cap - r->len);

	cr_assert_gt(len, 0);
	r->len += (size_t)len;
	r->st->nb_node++;
	return 0;
}

/* A plain push/pull: every prefix is AGAIN, then all of it is consumed. */
static void
check_push_pull(struct golden_stats *st, const uint8_t *buf, size_t len)
{
	struct pp_rebuild r = { .st = st, .out = tmp, .cap = sizeof(tmp) };
	struct swim_push_pull_header h;
	struct swim_str us;
	int n;

	for (size_t i = 0; i < len; i += 7)
		cr_assert_eq(swim_wire_decode_push_pull(buf, i, &h, NULL, NULL,
							&us),
			     SWIM_WIRE_E_AGAIN, "prefix %zu of %zu", i, len);
	/* Decode header, then nodes re-encoded in order after it. */
	n = swim_wire_decode_push_pull(buf, len, &h, NULL, NULL, &us);
	cr_assert_eq(n, (int)len);
	n = swim_wire_encode_push_pull_header(&h, tmp, sizeof(tmp));
	cr_assert_gt(n, 0);
	r.len = (size_t)n;
	cr_assert_eq(swim_wire_decode_push_pull(buf, len, &h, node_reencode,
						&r, &us),
		     (int)len);
	cr_assert_gt(h.nb_nodes, 0);
	cr_assert_eq(us.len, h.user_state_len);
	memcpy(tmp + r.len, us.ptr, us.len);
	r.len += us.len;
	cr_assert_eq(r.len, len);
	cr_assert_arr_eq(tmp, buf, len, "push/pull re-encoding differs");
	st->nb_push_pull++;
}

static void
check_stream(struct golden_stats *st, size_t len)
{
	const uint8_t *buf = pkt;
	struct swim_msg m;
	int n;

	st->nb_stream++;
	if (pkt[0] == SWIM_MSG_COMPRESS) {
		/* TCP always compresses (if enabled), even when it grows. */
		check_compress(st, pkt, len);
		n = swim_wire_decode_compress(pkt + 1, len - 1, plain,
					      sizeof(plain));
		buf = plain;
		len = (size_t)n;
	}
	if (buf[0] == SWIM_MSG_PUSH_PULL) {
		check_push_pull(st, buf, len);
		return;
	}
	cr_assert_eq(swim_wire_decode_msg(buf, len, &m), 0,
		     "stream type %d", buf[0]);
}

static void
check_capture(const char *name, struct golden_stats *st)
{
	FILE *f = wire_open_data(name, "udp");
	int len;

	while ((len = next_packet(f)) > 0)
		check_udp(st, (size_t)len);
	fclose(f);
	f = wire_open_data(name, "tcp");
	while ((len = next_packet(f)) > 0)
		check_stream(st, (size_t)len);
	fclose(f);
}

Test(wire_golden, all_captures)
{
	struct golden_stats st = { 0 };

	for (size_t i = 0; i < sizeof(captures) / sizeof(captures[0]); i++)
		check_capture(captures[i], &st);
	cr_log_info("%d packets, %d msgs, %d re-encoded, %d crc, %d compound "
		    "parts, %d compressed, %d streams, %d push/pull, %d nodes",
		    st.nb_pkt, st.nb_msg, st.nb_reenc, st.nb_crc,
		    st.nb_compound, st.nb_compress, st.nb_stream,
		    st.nb_push_pull, st.nb_node);
	/* The captures' own counts (see captures/ *-decoded.txt). */
	cr_assert_eq(st.nb_pkt, 74 + 223 + 159 + 49 + 115 + 24);
	cr_assert_eq(st.nb_stream, 2 + 52 + 16 + 4 + 4 + 2);
	cr_assert_gt(st.nb_crc, 0);
	cr_assert_gt(st.nb_compound, 0);
	cr_assert_gt(st.nb_compress, 0);
	cr_assert_gt(st.nb_push_pull, 0);
	cr_assert_gt(st.by_type[SWIM_MSG_PING], 0);
	cr_assert_gt(st.by_type[SWIM_MSG_ACK], 0);
	cr_assert_gt(st.by_type[SWIM_MSG_ALIVE], 0);
	cr_assert_gt(st.by_type[SWIM_MSG_USER], 0);
	cr_assert_gt(st.by_type[SWIM_MSG_INDIRECT_PING], 0);
	cr_assert_gt(st.by_type[SWIM_MSG_NACK], 0);
	cr_assert_gt(st.by_type[SWIM_MSG_DEAD], 0);
}

/* The dataplane's fast path agrees with the full decode on every packet. */
static int
first_ping(void *ctx, const struct swim_msg *msg)
{
	struct swim_ping *p = ctx;

	if (msg->type == SWIM_MSG_PING && p->seq_no == 0) {
		*p = msg->ping;
		p->seq_no = msg->ping.seq_no == 0 ? 1 : msg->ping.seq_no;
	}
	return 0;
}

Test(wire_golden, find_ping_matches_full_decode)
{
	int nb_found = 0;

	for (size_t i = 0; i < sizeof(captures) / sizeof(captures[0]); i++) {
		FILE *f = wire_open_data(captures[i], "udp");
		int len;

		while ((len = next_packet(f)) > 0) {
			struct swim_ping full = { 0 }, fast;
			int rc;

			/* Only uncompressed packets are in the fast path. */
			if (pkt[0] == SWIM_MSG_COMPRESS ||
			    (pkt[0] == SWIM_MSG_HAS_CRC &&
			     pkt[5] == SWIM_MSG_COMPRESS))
				continue;
			swim_wire_decode_packet(pkt, (size_t)len, &scratch,
						first_ping, &full);
			rc = full.seq_no == 0 ? 0 :
			     swim_wire_find_ping(pkt, (size_t)len,
						 (const char *)full.node.ptr,
						 full.node.len, &fast);
			cr_assert_eq(rc, full.seq_no != 0 ? 1 : 0);
			if (rc == 1) {
				cr_assert_eq(fast.seq_no, full.seq_no);
				nb_found++;
			}
		}
		fclose(f);
	}
	cr_assert_gt(nb_found, 10);
}
