/* SPDX-License-Identifier: MIT */
/*
 * The ping -> ack fast path on plain byte buffers: byte-exact acks
 * (memberlist-wire.md 5.1/5.2 vectors), where they go, what control still
 * sees, piggyback compounds, malformed input. No EAL, no sockets.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "dp.h"
#include "dp_fastpath.h"
#include "dp_internal.h"
#include "swim_wire.h"

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

/* wire.md 5.1: ping SeqNo 1 for node "b", no source fields. */
static const uint8_t ping_b[] = {
	0x00, 0x82, 0xa4, 'N', 'o', 'd', 'e', 0xa1, 'b',
	0xa5, 'S', 'e', 'q', 'N', 'o', 0x01,
};

/* wire.md 5.2: the minimal ack, SeqNo 1, nil payload. */
static const uint8_t ack_1_nil[] = {
	0x02, 0x82, 0xa7, 'P', 'a', 'y', 'l', 'o', 'a', 'd', 0xc0,
	0xa5, 'S', 'e', 'q', 'N', 'o', 0x01,
};

/* suspect {From: b, Incarnation: 1, Node: c}: gossip for control. */
static const uint8_t suspect_c[] = {
	0x03, 0x83, 0xa4, 'F', 'r', 'o', 'm', 0xa1, 'b',
	0xab, 'I', 'n', 'c', 'a', 'r', 'n', 'a', 't', 'i', 'o', 'n', 0x01,
	0xa4, 'N', 'o', 'd', 'e', 0xa1, 'c',
};

static const struct swim_addr src_9 = {
	.ip = { 127, 0, 0, 9 }, .ip_len = 4, .port = 40000,
};

static void
fp_with(struct dp_fp *fp, const char *name)
{
	struct dp_snapshot snap;

	memset(&snap, 0, sizeof(snap));
	strcpy(snap.name, name);
	dp_fp_init(fp);
	dp_fp_set_snapshot(fp, &snap, 1);
}

/* A compound of two parts into out. @retval its length. */
static size_t
compound2(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
	  uint8_t *out)
{
	out[0] = SWIM_MSG_COMPOUND;
	out[1] = 2;
	out[2] = (uint8_t)(alen >> 8);
	out[3] = (uint8_t)alen;
	out[4] = (uint8_t)(blen >> 8);
	out[5] = (uint8_t)blen;
	memcpy(out + 6, a, alen);
	memcpy(out + 6 + alen, b, blen);
	return 6 + alen + blen;
}

Test(dp_fastpath, bare_ping_to_us_gets_the_exact_minimal_ack)
{
	struct dp_fp fp;
	struct dp_pkt ack;

	fp_with(&fp, "b");
	cr_assert_eq(dp_fp_process(&fp, ping_b, sizeof(ping_b), &src_9, &ack),
		     DP_FP_ACKED);
	cr_assert_eq(ack.len, sizeof(ack_1_nil));
	cr_assert_eq(memcmp(ack.data, ack_1_nil, sizeof(ack_1_nil)), 0);
	cr_assert_eq(memcmp(&ack.addr, &src_9, sizeof(src_9)), 0,
		     "no SourceAddr: the ack goes to the datagram's source");
	cr_assert_eq(ack.flags, 0);
}

Test(dp_fastpath, ack_goes_to_source_addr_and_port_of_the_ping)
{
	struct dp_fp fp;
	struct dp_pkt ack;

	fp_with(&fp, "a");
	cr_assert_eq(dp_fp_process(&fp, ping_a_src, sizeof(ping_a_src),
				   &src_9, &ack), DP_FP_ACKED);
	cr_assert_eq(ack.len, sizeof(ack_1_nil));
	cr_assert_eq(memcmp(ack.data, ack_1_nil, sizeof(ack_1_nil)), 0);
	cr_assert_eq(ack.addr.ip_len, 4);
	cr_assert_eq(memcmp(ack.addr.ip, "\x7f\x00\x00\x01", 4), 0);
	cr_assert_eq(ack.addr.port, 17947);
}

Test(dp_fastpath, ping_for_another_node_goes_to_control)
{
	struct dp_fp fp;
	struct dp_pkt ack;

	fp_with(&fp, "z");
	cr_assert_eq(dp_fp_process(&fp, ping_b, sizeof(ping_b), &src_9, &ack),
		     DP_FP_PASS);
}

Test(dp_fastpath, nothing_published_passes_everything)
{
	struct dp_fp fp;
	struct dp_pkt ack;

	dp_fp_init(&fp);
	cr_assert_eq(dp_fp_process(&fp, ping_b, sizeof(ping_b), &src_9, &ack),
		     DP_FP_PASS);
}

Test(dp_fastpath, gossip_goes_to_control)
{
	struct dp_fp fp;
	struct dp_pkt ack;

	fp_with(&fp, "b");
	cr_assert_eq(dp_fp_process(&fp, suspect_c, sizeof(suspect_c), &src_9,
				   &ack), DP_FP_PASS);
}

Test(dp_fastpath, ping_with_gossip_is_acked_and_still_passed)
{
	struct dp_fp fp;
	struct dp_pkt ack;
	uint8_t buf[128];
	size_t len = compound2(ping_b, sizeof(ping_b), suspect_c,
			       sizeof(suspect_c), buf);

	fp_with(&fp, "b");
	cr_assert_eq(dp_fp_process(&fp, buf, len, &src_9, &ack),
		     DP_FP_PASS_ACKED);
	cr_assert_eq(ack.len, sizeof(ack_1_nil));
	cr_assert_eq(memcmp(ack.data, ack_1_nil, sizeof(ack_1_nil)), 0);
}

Test(dp_fastpath, crc_wrapped_ping_is_bare)
{
	struct dp_fp fp;
	struct dp_pkt ack;
	uint8_t buf[64];
	uint32_t crc = swim_crc32(ping_b, sizeof(ping_b));

	buf[0] = SWIM_MSG_HAS_CRC;
	buf[1] = (uint8_t)(crc >> 24);
	buf[2] = (uint8_t)(crc >> 16);
	buf[3] = (uint8_t)(crc >> 8);
	buf[4] = (uint8_t)crc;
	memcpy(buf + 5, ping_b, sizeof(ping_b));
	fp_with(&fp, "b");
	cr_assert_eq(dp_fp_process(&fp, buf, 5 + sizeof(ping_b), &src_9, &ack),
		     DP_FP_ACKED);
	cr_assert_eq(memcmp(ack.data, ack_1_nil, sizeof(ack_1_nil)), 0);
}

Test(dp_fastpath, ack_carries_the_snapshot_payload)
{
	static const uint8_t want[] = {
		0x02, 0x82, 0xa7, 'P', 'a', 'y', 'l', 'o', 'a', 'd',
		0xa3, 0x01, 0x02, 0x03,
		0xa5, 'S', 'e', 'q', 'N', 'o', 0x01,
	};
	struct dp_snapshot snap = { .name = "b", .ack_payload = { 1, 2, 3 },
				    .ack_payload_len = 3 };
	struct dp_fp fp;
	struct dp_pkt ack;

	dp_fp_init(&fp);
	dp_fp_set_snapshot(&fp, &snap, 1);
	cr_assert_eq(dp_fp_process(&fp, ping_b, sizeof(ping_b), &src_9, &ack),
		     DP_FP_ACKED);
	cr_assert_eq(ack.len, sizeof(want));
	cr_assert_eq(memcmp(ack.data, want, sizeof(want)), 0);
}

Test(dp_fastpath, ack_piggybacks_the_snapshot_parts_in_a_compound)
{
	struct dp_snapshot snap = { .name = "b" };
	struct dp_fp fp;
	struct dp_pkt ack;
	uint8_t want[128];
	size_t want_len;

	snap.piggyback[0] = 0;
	snap.piggyback[1] = sizeof(suspect_c);
	memcpy(snap.piggyback + 2, suspect_c, sizeof(suspect_c));
	snap.piggyback_len = (uint16_t)(2 + sizeof(suspect_c));
	snap.nb_piggyback = 1;
	dp_fp_init(&fp);
	dp_fp_set_snapshot(&fp, &snap, 1);
	cr_assert_eq(fp.nb_parts, 1);
	want_len = compound2(ack_1_nil, sizeof(ack_1_nil), suspect_c,
			     sizeof(suspect_c), want);
	cr_assert_eq(dp_fp_process(&fp, ping_b, sizeof(ping_b), &src_9, &ack),
		     DP_FP_ACKED);
	cr_assert_eq(ack.len, want_len);
	cr_assert_eq(memcmp(ack.data, want, want_len), 0);
}

Test(dp_fastpath, malformed_piggyback_is_left_out)
{
	struct dp_snapshot snap = { .name = "b" };
	struct dp_fp fp;
	struct dp_pkt ack;

	/* a zero-length part would crash memberlist: never send one */
	snap.piggyback_len = 2;
	snap.nb_piggyback = 1;
	dp_fp_init(&fp);
	dp_fp_set_snapshot(&fp, &snap, 1);
	cr_assert_eq(fp.nb_parts, 0);
	/* a part running past the blob */
	snap.piggyback[1] = 9;
	snap.piggyback_len = 5;
	dp_fp_set_snapshot(&fp, &snap, 2);
	cr_assert_eq(fp.nb_parts, 0);
	cr_assert_eq(dp_fp_process(&fp, ping_b, sizeof(ping_b), &src_9, &ack),
		     DP_FP_ACKED);
	cr_assert_eq(memcmp(ack.data, ack_1_nil, sizeof(ack_1_nil)), 0);
}

Test(dp_fastpath, oversized_lengths_in_a_snapshot_are_not_trusted)
{
	struct dp_snapshot snap = { .name = "b" };
	struct dp_fp fp;
	struct dp_pkt ack;

	snap.ack_payload_len = 60000;
	snap.piggyback_len = 60000;
	snap.nb_piggyback = 3;
	memset(snap.name, 'n', sizeof(snap.name));	/* no NUL */
	dp_fp_init(&fp);
	dp_fp_set_snapshot(&fp, &snap, 1);
	cr_assert_eq(fp.name_len, SWIM_NAME_MAX);
	cr_assert_eq(fp.snap.ack_payload_len, 0);
	cr_assert_eq(fp.nb_parts, 0);
	cr_assert_eq(dp_fp_process(&fp, ping_b, sizeof(ping_b), &src_9, &ack),
		     DP_FP_PASS);
}

Test(dp_fastpath, big_seq_numbers_round_trip)
{
	static const uint8_t ping[] = {
		0x00, 0x82, 0xa4, 'N', 'o', 'd', 'e', 0xa1, 'b',
		0xa5, 'S', 'e', 'q', 'N', 'o', 0xce, 0xde, 0xad, 0xbe, 0xef,
	};
	static const uint8_t want[] = {
		0x02, 0x82, 0xa7, 'P', 'a', 'y', 'l', 'o', 'a', 'd', 0xc0,
		0xa5, 'S', 'e', 'q', 'N', 'o', 0xce, 0xde, 0xad, 0xbe, 0xef,
	};
	struct dp_fp fp;
	struct dp_pkt ack;

	fp_with(&fp, "b");
	cr_assert_eq(dp_fp_process(&fp, ping, sizeof(ping), &src_9, &ack),
		     DP_FP_ACKED);
	cr_assert_eq(ack.len, sizeof(want));
	cr_assert_eq(memcmp(ack.data, want, sizeof(want)), 0);
}

Test(dp_fastpath, empty_and_truncated_datagrams_are_malformed)
{
	struct dp_fp fp;
	struct dp_pkt ack;

	fp_with(&fp, "b");
	cr_assert_eq(dp_fp_process(&fp, ping_b, 0, &src_9, &ack),
		     DP_FP_MALFORMED);
	for (size_t len = 1; len < sizeof(ping_b); len++)
		cr_assert_eq(dp_fp_process(&fp, ping_b, len, &src_9, &ack),
			     DP_FP_MALFORMED, "ping cut at %zu", len);
}

Test(dp_fastpath, refresh_picks_up_a_publication_once)
{
	struct dp_cfg cfg = { .nb_lcores = 1, .ring_size = 4 };
	struct dp_snapshot snap = { .name = "b" };
	char err[64];
	struct dp *dp = dp_new("null", &cfg, err, sizeof(err));
	struct dp_fp fp;
	struct dp_pkt ack;

	cr_assert_not_null(dp);
	dp_fp_init(&fp);
	cr_assert_not(dp_fp_refresh(&fp, &dp->pub));
	dp_publish(dp, &snap);
	cr_assert(dp_fp_refresh(&fp, &dp->pub));
	cr_assert_not(dp_fp_refresh(&fp, &dp->pub));
	cr_assert_eq(dp_fp_process(&fp, ping_b, sizeof(ping_b), &src_9, &ack),
		     DP_FP_ACKED);
	snap.name[0] = 'q';
	dp_publish(dp, &snap);
	cr_assert(dp_fp_refresh(&fp, &dp->pub));
	cr_assert_eq(dp_fp_process(&fp, ping_b, sizeof(ping_b), &src_9, &ack),
		     DP_FP_PASS, "renamed: the ping is no longer ours");
	dp_delete(dp);
}

Test(dp_fastpath, ping_with_empty_node_is_for_anyone)
{
	static const uint8_t ping_any[] = {
		0x00, 0x82, 0xa4, 'N', 'o', 'd', 'e', 0xa0,
		0xa5, 'S', 'e', 'q', 'N', 'o', 0x01,
	};
	struct dp_fp fp;
	struct dp_pkt ack;

	/* memberlist only ignores a ping whose Node is set and not ours */
	fp_with(&fp, "b");
	cr_assert_eq(dp_fp_process(&fp, ping_any, sizeof(ping_any), &src_9,
				   &ack), DP_FP_ACKED);
	cr_assert_eq(memcmp(ack.data, ack_1_nil, sizeof(ack_1_nil)), 0);
}

Test(dp_fastpath, bad_crc_is_malformed)
{
	struct dp_fp fp;
	struct dp_pkt ack;
	uint8_t buf[64] = { SWIM_MSG_HAS_CRC, 0xde, 0xad, 0xbe, 0xef };

	memcpy(buf + 5, ping_b, sizeof(ping_b));
	fp_with(&fp, "b");
	cr_assert_eq(dp_fp_process(&fp, buf, 5 + sizeof(ping_b), &src_9, &ack),
		     DP_FP_MALFORMED);
	/* a CRC header with nothing under it */
	cr_assert_eq(dp_fp_process(&fp, buf, 5, &src_9, &ack),
		     DP_FP_MALFORMED);
}

Test(dp_fastpath, types_that_never_travel_on_udp_are_malformed)
{
	static const uint8_t types[] = {
		SWIM_MSG_PUSH_PULL, SWIM_MSG_ENCRYPT, SWIM_MSG_ERR,
		SWIM_MSG_HAS_LABEL, 14, 0x42, 0xff,
	};
	struct dp_fp fp;
	struct dp_pkt ack;
	uint8_t buf[8] = { 0, 0x80 };

	fp_with(&fp, "b");
	for (size_t i = 0; i < sizeof(types); i++) {
		buf[0] = types[i];
		cr_assert_eq(dp_fp_process(&fp, buf, 2, &src_9, &ack),
			     DP_FP_MALFORMED, "type %u", types[i]);
	}
}

/* gossipd's delta-sync HELLO and answer over UDP (swim_dsync_udp.h),
 * bare or under a CRC: control's core answers them. */
Test(dp_fastpath, delta_sync_datagrams_go_to_control)
{
	uint8_t buf[32] = { 0xd8, 0, 0, 0, 20 };
	struct dp_fp fp;
	struct dp_pkt ack;

	fp_with(&fp, "b");
	cr_assert_eq(dp_fp_process(&fp, buf, 25, &src_9, &ack), DP_FP_PASS);
	buf[0] = 0xd9;
	cr_assert_eq(dp_fp_process(&fp, buf, 22, &src_9, &ack), DP_FP_PASS);
	memmove(buf + 5, buf, 22);
	uint32_t crc = swim_crc32(buf + 5, 22);
	buf[0] = SWIM_MSG_HAS_CRC;
	for (int i = 0; i < 4; i++)
		buf[1 + i] = (uint8_t)(crc >> (24 - 8 * i));
	cr_assert_eq(dp_fp_process(&fp, buf, 27, &src_9, &ack), DP_FP_PASS);
}

Test(dp_fastpath, truncated_compound_is_malformed)
{
	struct dp_fp fp;
	struct dp_pkt ack;
	uint8_t buf[128];
	size_t len = compound2(ping_b, sizeof(ping_b), suspect_c,
			       sizeof(suspect_c), buf);

	fp_with(&fp, "b");
	/* the header promises more parts than the datagram holds */
	cr_assert_eq(dp_fp_process(&fp, buf, 4, &src_9, &ack),
		     DP_FP_MALFORMED);
	cr_assert_neq(dp_fp_process(&fp, buf, len, &src_9, &ack),
		      DP_FP_MALFORMED);
}

Test(dp_fastpath, compressed_packets_go_to_control)
{
	struct dp_fp fp;
	struct dp_pkt ack;
	uint8_t buf[256];
	int n = swim_wire_encode_compress(ping_b, sizeof(ping_b), buf,
					  sizeof(buf));

	cr_assert_gt(n, 0);
	fp_with(&fp, "b");
	/* the fast path does not inflate LZW: control answers these */
	cr_assert_eq(dp_fp_process(&fp, buf, (size_t)n, &src_9, &ack),
		     DP_FP_PASS);
}

Test(dp_fastpath, ack_too_big_for_the_buffer_is_left_to_control)
{
	struct dp_snapshot snap = { .name = "b" };
	struct dp_fp fp;
	uint8_t out[16];

	dp_fp_init(&fp);
	dp_fp_set_snapshot(&fp, &snap, 1);
	cr_assert_eq(dp_fp_build_ack(&fp, 1, out, sizeof(out)),
		     SWIM_WIRE_E_NOSPACE);
}
