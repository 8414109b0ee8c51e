/* SPDX-License-Identifier: MIT */
/*
 * Differential test of the DPDK lcore's fused ping -> ack (dp_dpdk_fast.h)
 * against the general path it stands in for: dp_pkt_parse_hw, dp_fp_match,
 * the send_ack destination rule, dp_fp_ack_tmpl and dp_pkt_udp4_hdrs_put.
 * On seeded random usual pings (every SeqNo width, Source* variants, names
 * of every header class, acks with and without piggyback), framed with
 * random checksum offload verdicts and buffer sizes, then mutated (bytes
 * flipped, sums fixed or not):
 *  - the fused path says yes only when the general path would ack the
 *    frame in place to its sender, and then writes the same frame bytes;
 *  - when it says no, it has written nothing (the lcore then runs the
 *    general path on the untouched frame).
 * Seeded: a failure names the seed and iteration and reproduces.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp.h"
#include "dp_dpdk_fast.h"
#include "dp_fastpath.h"
#include "dp_pkt.h"
#include "fp_gen.h"
#include "pkt_oracle.h"
#include "swim_wire.h"

#define NB_NAMES 4
#define ITERS 300000
#define BUF_MAX 9200

static const char *const names[NB_NAMES] = {
	"b", "node-1", "a-name-of-16-ch.", "a-thirty-two-byte-long-node-name",
};
static const struct dp_pkt_self self = {
	.mac = { 2, 0, 0, 0, 0, 1 }, .ip = 0xc6120001u, .port = 7946,
};
static struct dp_fp fps[NB_NAMES];
static struct dp_pkt_udp4_tmpl hdrs;

/* Name i's snapshot: ack payloads and piggyback parts vary with i. */
static void
setup(void)
{
	static struct dp_snapshot snap;
	static const uint16_t payload[NB_NAMES] = { 0, 21, 131, 256 };

	dp_pkt_udp4_tmpl_init(&hdrs, &self);
	for (unsigned i = 0; i < NB_NAMES; i++) {
		size_t off = 0;

		memset(&snap, 0, sizeof(snap));
		snprintf(snap.name, sizeof(snap.name), "%s", names[i]);
		snap.ack_payload_len = payload[i];
		memset(snap.ack_payload, 0xc3, payload[i]);
		for (unsigned p = 0; p < i % 3; p++) {	/* 0..2 parts */
			unsigned len = 9 + 4 * p + i;

			snap.piggyback[off + 1] = (uint8_t)len;
			snap.piggyback[off + 2] = SWIM_MSG_SUSPECT;
			memset(snap.piggyback + off + 3, 0x41, len - 1);
			off += 2 + len;
		}
		snap.piggyback_len = (uint16_t)off;
		snap.nb_piggyback = (uint16_t)(i % 3);
		dp_fp_init(&fps[i]);
		dp_fp_set_snapshot(&fps[i], &snap, i + 1);
	}
}

/* A usual ping (mostly to name, from peer's address), encoded. */
static size_t
gen_ping(struct fpg_rng *r, const char *name, const struct dp_udp4_hdrs *pe,
	 uint8_t *out, size_t cap)
{
	static const uint32_t seqs[] = { 0, 0x7f, 0x80, 0xff, 0x100, 0xffff,
					 0x10000, 0xffffffffu };
	struct swim_msg m = { .type = SWIM_MSG_PING };
	uint8_t addr[16];
	static char node[40];
	size_t nlen = fpg_below(r, 8) == 0 ? 32 + fpg_below(r, 8) :
					    fpg_below(r, 12);
	int n;

	m.ping.seq_no = fpg_below(r, 2) ? seqs[fpg_below(r, 8)] : fpg_seq(r);
	m.ping.node.ptr = (const uint8_t *)(fpg_below(r, 10) ? name : "other");
	m.ping.node.len = (uint32_t)strlen((const char *)m.ping.node.ptr);
	dp_pkt_put32(addr, fpg_below(r, 5) ? pe->src_ip : (uint32_t)fpg_next(r));
	if (fpg_below(r, 10) == 0)
		memset(addr + 4, 7, 12);
	m.ping.source_addr.ptr = addr;
	m.ping.source_addr.len = fpg_below(r, 10) == 0 ? 16 : 4;
	memset(node, 'p', sizeof(node));
	m.ping.source_node.ptr = (const uint8_t *)node;
	m.ping.source_node.len = (uint32_t)nlen;
	m.ping.source_port = fpg_below(r, 4) == 0 ? 0 :
			     fpg_below(r, 2) ? pe->src_port :
			     (uint16_t)fpg_next(r);
	n = swim_wire_encode_msg(&m, out, cap);
	cr_assert_gt(n, 0);
	return (size_t)n;
}

/* The general path's answer as the lcore's send_ack writes it, in buf.
 * @retval frame length, or 0: the general path does not ack it in place
 * to the frame's own sender (control, a drop, ARP, another MAC...). */
static size_t
general(uint8_t *buf, size_t len, size_t cap, unsigned hw, size_t max_frame,
	struct dp_fp *fp)
{
	struct dp_pkt_view v;
	struct swim_ping ping;
	uint32_t ip;
	uint16_t port;
	int n;

	if (dp_pkt_parse_hw(buf, len, &self, hw, &v) != DP_PKT_UDP_US ||
	    v.payload_len > DP_PKT_MAX ||
	    dp_fp_match(fp, buf + v.payload_off, v.payload_len, &ping) !=
	    DP_FP_ACKED)
		return 0;
	ip = v.src_ip;
	port = v.src_port;
	if (dp_fp_ack_to_source(&ping)) {
		if (ping.source_addr.len != 4)
			return 0;
		ip = (uint32_t)ping.source_addr.ptr[0] << 24 |
		     (uint32_t)ping.source_addr.ptr[1] << 16 |
		     (uint32_t)ping.source_addr.ptr[2] << 8 |
		     ping.source_addr.ptr[3];
		port = ping.source_port;
	}
	if (ip != v.src_ip)
		return 0;	/* the ARP cache's business */
	n = dp_fp_ack_tmpl(fp, ping.seq_no, buf + DP_UDP4_PAYLOAD_OFF,
			   cap - DP_UDP4_PAYLOAD_OFF);
	if (n < 0)
		return 0;
	n = dp_pkt_udp4_hdrs_put(buf, cap, &hdrs, v.src_mac, ip, port,
				 (size_t)n, fp->ack_sum);
	if (n < 0 || (size_t)n > max_frame)
		return 0;
	return (size_t)n;
}

/* The fused path on buf, as the lcore runs it (its constants built for
 * this max_frame). @retval frame length, 0: "ask the general". */
static size_t
fused(uint8_t *buf, size_t len, size_t cap, unsigned hw, size_t max_frame,
      const struct dp_fp *fp)
{
	static struct dp_fast fc;

	dp_fast_init(&fc, &self, &hdrs, fp, max_frame);
	return dp_fast_ping_ack(buf, len, cap, hw, &fc, &fp->tmpl);
}

/* Flip a few bytes, headers most often; fix the sums sometimes. */
static void
mutate(struct fpg_rng *r, uint8_t *f, size_t len)
{
	unsigned k = 1 + fpg_below(r, 3);

	for (unsigned i = 0; i < k; i++) {
		size_t at = fpg_below(r, 2) ? fpg_below(r, 48) :
			    fpg_below(r, (uint32_t)len);

		if (at < len)
			f[at] ^= (uint8_t)(1u << fpg_below(r, 8));
	}
	if (fpg_below(r, 2))
		pko_fix_sums(f, len);
}

/* One case: frame it, maybe mutate it, run both paths, compare. */
static bool
one(struct fpg_rng *r, uint64_t seed, unsigned it)
{
	static uint8_t payload[1024], orig[BUF_MAX];
	static const size_t caps[] = { 2048, 9000, 130, 300 };
	static const size_t maxes[] = { 1514, 9014, 90, 300 };
	struct dp_udp4_hdrs pe = { .src_mac = { 2, 0, 0, 0, 0, 2 },
				   .src_ip = 0xc6120002u, .src_port = 7947 };
	unsigned i = fpg_below(r, NB_NAMES);
	struct dp_fp *fp = &fps[i];
	unsigned hw = fpg_below(r, 4);
	size_t plen = gen_ping(r, names[i], &pe, payload, sizeof(payload));
	size_t len = pko_frame(orig, &self, &pe, fpg_below(r, 8) == 0, payload,
			       plen, fpg_below(r, 4) == 0 ? fpg_below(r, 20) : 0,
			       fpg_below(r, 8) == 0);
	/* mostly room for any ack; sometimes too little (general path) */
	size_t cap = caps[fpg_below(r, 4) ? 0 : fpg_below(r, 4)];
	size_t max_frame = maxes[fpg_below(r, 4) ? 0 : fpg_below(r, 4)];
	uint8_t *a, *b;
	size_t na, nb;

	if (fpg_below(r, 2))
		mutate(r, orig, len);
	if (cap < len)
		cap = len + fpg_below(r, 64);
	a = malloc(cap);
	b = malloc(cap);
	cr_assert(a != NULL && b != NULL);
	memset(orig + len, 0x5a, cap - len);
	memcpy(a, orig, cap);
	memcpy(b, orig, cap);
	na = fused(a, len, cap, hw, max_frame, fp);
	if (na == 0) {
		cr_assert(memcmp(a, orig, cap) == 0,
			  "seed %llu it %u: the fused path wrote, then said no",
			  (unsigned long long)seed, it);
	} else {
		nb = general(b, len, cap, hw, max_frame, fp);
		cr_assert_eq(na, nb, "seed %llu it %u: fused %zu, general %zu",
			     (unsigned long long)seed, it, na, nb);
		cr_assert(memcmp(a, b, na) == 0,
			  "seed %llu it %u: ack bytes differ",
			  (unsigned long long)seed, it);
	}
	free(a);
	free(b);
	return na != 0;
}

Test(fast_diff, fused_acks_what_the_general_path_acks)
{
	uint64_t seed = getenv("FAST_DIFF_SEED") ?
			strtoull(getenv("FAST_DIFF_SEED"), NULL, 0) : 0x5eed;
	unsigned soak = getenv("FAST_DIFF_SOAK") ?
			(unsigned)atoi(getenv("FAST_DIFF_SOAK")) : 1;
	struct fpg_rng r;
	unsigned taken = 0;

	setup();
	fpg_seed(&r, seed);
	for (unsigned it = 0; it < ITERS * (soak ? soak : 1); it++)
		taken += one(&r, seed, it);
	cr_log_info("fused %u of %u", taken, ITERS * (soak ? soak : 1));
	/* the fused path must have been taken, and left often enough */
	cr_assert_gt(taken, ITERS / 10, "fused path taken %u times", taken);
	cr_assert_lt(taken, ITERS * (soak ? soak : 1) - ITERS / 10);
}

/* The bench's ping to names[1], clean, from src_ip (also its
 * SourceAddr). */
static size_t
clean_frame(uint8_t *f, uint32_t src_ip)
{
	struct dp_udp4_hdrs pe = { .src_mac = { 2, 0, 0, 0, 0, 2 },
				   .src_ip = src_ip, .src_port = 7947 };
	struct swim_msg m = { .type = SWIM_MSG_PING };
	uint8_t src[4], payload[256];
	int n;

	dp_pkt_put32(src, src_ip);
	m.ping.seq_no = 0x10000;
	m.ping.node.ptr = (const uint8_t *)names[1];
	m.ping.node.len = (uint32_t)strlen(names[1]);
	m.ping.source_addr.ptr = src;
	m.ping.source_addr.len = 4;
	m.ping.source_node.ptr = (const uint8_t *)"peer";
	m.ping.source_node.len = 4;
	m.ping.source_port = 7947;
	n = swim_wire_encode_msg(&m, payload, sizeof(payload));
	cr_assert_gt(n, 0);
	return pko_frame(f, &self, &pe, 0, payload, (size_t)n, 0, false);
}

/* The bench's ping, clean, with every offload verdict: always fused. */
Test(fast_diff, clean_usual_ping_is_fused)
{
	static uint8_t a[2048], b[2048];

	setup();
	for (unsigned hw = 0; hw < 4; hw++) {
		size_t len = clean_frame(a, 0xc6120002u);

		memcpy(b, a, sizeof(a));
		size_t na = fused(a, len, sizeof(a), hw, 1514, &fps[1]);
		size_t nb = general(b, len, sizeof(b), hw, 1514, &fps[1]);

		cr_assert_gt(na, 0, "hw %u", hw);
		cr_assert_eq(na, nb);
		cr_assert(memcmp(a, b, na) == 0);
	}
}

/* 0.0.0.0, 255.255.255.255 and 224.0.0.0/4 are never a peer: the fused
 * path leaves such a ping to the general one, which drops it. */
Test(fast_diff, special_sources_take_the_general_path)
{
	static const uint32_t special[] = { 0, 0xffffffffu, 0xe0000001u,
					    0xefffffffu };
	static const uint32_t usual[] = { 0xdf000001u, 0xf0000001u, 1 };
	static uint8_t a[2048], b[2048];

	setup();
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
		size_t len = clean_frame(a, special[i]);

		memcpy(b, a, sizeof(a));
		cr_assert_eq(fused(a, len, sizeof(a), 0, 1514, &fps[1]), 0,
			     "%#x", special[i]);
		cr_assert_eq(general(b, len, sizeof(b), 0, 1514, &fps[1]), 0);
	}
	for (size_t i = 0; i < sizeof(usual) / sizeof(usual[0]); i++) {
		size_t len = clean_frame(a, usual[i]);

		cr_assert_gt(fused(a, len, sizeof(a), 0, 1514, &fps[1]), 0,
			     "%#x", usual[i]);
	}
}

/* No name, or acks that would not fit the port's frames: the fused path
 * is off and every frame goes to the general path. */
Test(fast_diff, off_without_a_name_or_frame_room)
{
	static struct dp_snapshot snap;
	static struct dp_fp nameless;
	static struct dp_fast fc;
	static uint8_t a[2048];
	size_t len;

	setup();
	len = clean_frame(a, 0xc6120002u);
	dp_fast_init(&fc, &self, &hdrs, &fps[1], 1514);
	cr_assert_neq(fc.pat_len, SIZE_MAX);
	/* the widest ack is 42 + head + 5 + tail bytes */
	dp_fast_init(&fc, &self, &hdrs, &fps[1], DP_UDP4_PAYLOAD_OFF +
		     fps[1].tmpl.head_len + 5 + fps[1].tmpl.tail_len - 1);
	cr_assert_eq(dp_fast_ping_ack(a, len, sizeof(a), 0, &fc,
				      &fps[1].tmpl), 0);
	dp_fp_init(&nameless);
	dp_fp_set_snapshot(&nameless, &snap, 1);
	dp_fast_init(&fc, &self, &hdrs, &nameless, 1514);
	cr_assert_eq(fc.pat_len, SIZE_MAX);
	cr_assert_eq(dp_fast_ping_ack(a, len, sizeof(a), 0, &fc,
				      &nameless.tmpl), 0);
}
