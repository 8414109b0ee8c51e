/* SPDX-License-Identifier: MIT */
/*
 * Differential test of the ping fast path against the general codec
 * (fp_oracle.h says what is compared with what): swim_wire_match_ping,
 * dp_fp_process and dp_fp_build_ack on seeded random packets built from
 * valid pings (fp_gen.h) and then mutated, on every name length, and on
 * acks of every SeqNo width with and without piggyback. Seeded: a failure
 * prints the seed, the iteration and the input bytes, and reproduces.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp.h"
#include "dp_fastpath.h"
#include "dp_pkt.h"
#include "fp_gen.h"
#include "fp_oracle.h"
#include "pkt_oracle.h"
#include "swim_wire.h"
#include "swim_wire_ping.h"

/* Our names: every length class the recognizer compares differently
 * (<4, 4..7, 8..16 bytes, longer; fixstr up to 31, str16 from 32). */
static const char *const our_names[] = {
	"b", "abc", "node", "node-1", "bench-no", "a-name-of-16-ch.",
	"seventeen-chars-x", "a-thirty-one-byte-long-node-nam",
	"a-thirty-two-byte-long-node-name",
};
#define NB_NAMES (sizeof(our_names) / sizeof(our_names[0]))

/* Iterations of the mutation tests, each over every name. */
#define MUTATIONS_PER_TEST 80000

static struct dp_fp fps[NB_NAMES];

/* A snapshot for name i: payloads and piggyback vary with i. */
static void
snap_for(unsigned i, struct dp_snapshot *snap)
{
	static const uint16_t payload[] = { 0, 1, 20, 21, 31, 32, 130, 131,
					    256 };
	size_t off = 0;

	memset(snap, 0, sizeof(*snap));
	snprintf(snap->name, sizeof(snap->name), "%s", our_names[i]);
	snap->ack_payload_len = payload[i % 9];
	for (unsigned j = 0; j < snap->ack_payload_len; j++)
		snap->ack_payload[j] = (uint8_t)(0xc0 + 7 * j);
	for (unsigned p = 0; p < i % 4; p++) {	/* 0..3 parts, odd sizes */
		unsigned len = 9 + 4 * p + i;

		snap->piggyback[off] = 0;
		snap->piggyback[off + 1] = (uint8_t)len;
		snap->piggyback[off + 2] = SWIM_MSG_SUSPECT;
		memset(snap->piggyback + off + 3, (int)(p + 0x41), len - 1);
		off += 2 + len;
	}
	snap->piggyback_len = (uint16_t)off;
	snap->nb_piggyback = (uint16_t)(i % 4);
}

static void
fps_init(void)
{
	static struct dp_snapshot snap;

	for (unsigned i = 0; i < NB_NAMES; i++) {
		snap_for(i, &snap);
		dp_fp_init(&fps[i]);
		dp_fp_set_snapshot(&fps[i], &snap, i + 1);
	}
}

/* Every check on one input (in a buffer of exactly len bytes). */
static void
check_all(const uint8_t *pkt, size_t len, unsigned i, uint64_t seed,
	  unsigned it)
{
	static const char *const others[] = { "", "other", "bb" };
	const char *name = our_names[i];
	uint8_t *buf = malloc(len != 0 ? len : 1);
	const char *err;

	cr_assert_not_null(buf);
	memcpy(buf, pkt, len);
	err = fpo_check_match(buf, len, name, strlen(name));
	for (unsigned k = 0; err == NULL && k < 3; k++)
		err = fpo_check_match(buf, len, others[k], strlen(others[k]));
	if (err == NULL)
		err = fpo_check_process(&fps[i], buf, len);
	free(buf);
	cr_assert_null(err, "seed %llu iteration %u, name '%s': %s\n"
		       "input (%zu bytes): %s", (unsigned long long)seed, it,
		       name, err, len, oracle_hex(pkt, len));
}

/* Which packets the valid seeds exercise (a guard on the generator). */
struct tally {
	unsigned found, acked, pass_acked;
};

static void
tally(struct tally *t, const uint8_t *pkt, size_t len, unsigned i)
{
	static struct dp_pkt ack;
	struct swim_ping p;
	struct swim_addr src = { .ip_len = 4 };
	enum dp_fp_verdict v;

	t->found += swim_wire_match_ping(pkt, len, our_names[i],
					 strlen(our_names[i]), &p) == 1;
	v = dp_fp_process(&fps[i], pkt, len, &src, &ack);
	t->acked += v == DP_FP_ACKED;
	t->pass_acked += v == DP_FP_PASS_ACKED;
}

Test(fp_diff, generated_packets_agree)
{
	static uint8_t pkt[FPG_PKT_MAX];
	struct tally t = { 0 };
	struct fpg_rng r;
	unsigned it = 0;

	fps_init();
	fpg_seed(&r, 1);
	for (; it < 20000; it++) {
		unsigned i = it % NB_NAMES;
		size_t len = fpg_packet(&r, our_names[i], pkt, sizeof(pkt));

		check_all(pkt, len, i, 1, it);
		tally(&t, pkt, len, i);
	}
	/* the generator makes what it should: pings found, both verdicts */
	cr_assert_gt(t.found, it / 3, "found %u of %u", t.found, it);
	cr_assert_gt(t.acked, it / 8, "acked %u of %u", t.acked, it);
	cr_assert_gt(t.pass_acked, it / 8, "pass_acked %u", t.pass_acked);
}

/* A soak, off by default: FP_DIFF_SOAK=n runs n times the mutations
 * from seeds of its own (FP_DIFF_SOAK_BASE + the test's seed). */
static unsigned
soak(uint64_t *seed)
{
	const char *n = getenv("FP_DIFF_SOAK");
	const char *base = getenv("FP_DIFF_SOAK_BASE");

	if (n == NULL || atoi(n) <= 0)
		return 1;
	*seed += base != NULL ? strtoull(base, NULL, 0) : 1000;
	return (unsigned)atoi(n);
}

/* MUTATIONS_PER_TEST mutated packets from seed. */
static void
mutate_run(uint64_t seed)
{
	static uint8_t pkt[FPG_PKT_MAX];
	struct fpg_rng r;
	unsigned n = MUTATIONS_PER_TEST * soak(&seed);

	fps_init();
	fpg_seed(&r, seed);
	for (unsigned it = 0; it < n; it++) {
		unsigned i = it % NB_NAMES;
		size_t len = fpg_packet(&r, our_names[i], pkt, sizeof(pkt));

		len = fpg_mutate(&r, pkt, len, sizeof(pkt));
		/* often a right CRC, so mutations behind it are read */
		if (fpg_below(&r, 2) == 0)
			fpg_fix_crc(pkt, len);
		check_all(pkt, len, i, seed, it);
	}
}

Test(fp_diff, mutated_packets_agree_seed_2) { mutate_run(2); }
Test(fp_diff, mutated_packets_agree_seed_3) { mutate_run(3); }
Test(fp_diff, mutated_packets_agree_seed_4) { mutate_run(4); }
Test(fp_diff, mutated_packets_agree_seed_5) { mutate_run(5); }

/* Every cut of generated packets, each in a buffer of its own size. */
Test(fp_diff, every_cut_agrees)
{
	static uint8_t pkt[FPG_PKT_MAX];
	struct fpg_rng r;

	fps_init();
	fpg_seed(&r, 6);
	for (unsigned it = 0; it < 600; it++) {
		unsigned i = it % NB_NAMES;
		size_t len = fpg_packet(&r, our_names[i], pkt, sizeof(pkt));

		for (size_t cut = 0; cut <= len && cut < 400; cut++)
			check_all(pkt, cut, i, 6, it);
	}
}

/* A bare ping {Node, SeqNo} to a name of n bytes. @retval length */
static size_t
ping_to(const char *name, size_t n, uint32_t seq, uint8_t *out)
{
	struct swim_msg m = { .type = SWIM_MSG_PING };
	int len;

	m.ping.node = (struct swim_str){ (const uint8_t *)name, (uint32_t)n };
	m.ping.seq_no = seq;
	len = swim_wire_encode_msg(&m, out, 512);
	cr_assert_gt(len, 0);
	return (size_t)len;
}

Test(fp_diff, names_of_every_length_up_to_the_max)
{
	static struct dp_snapshot snap;
	static struct dp_fp fp;
	uint8_t pkt[512];
	char other[SWIM_NAME_MAX + 2];

	for (size_t n = 1; n <= SWIM_NAME_MAX; n++) {
		memset(&snap, 0, sizeof(snap));
		for (size_t k = 0; k < n; k++)
			snap.name[k] = (char)('a' + (k * 7 + n) % 26);
		dp_fp_init(&fp);
		dp_fp_set_snapshot(&fp, &snap, 1);
		for (size_t k = 0; k < n + 2; k++) {
			/* the name, one byte off at k, one shorter/longer */
			memcpy(other, snap.name, n + 1);
			other[n] = 'z';
			if (k < n)
				other[k] ^= 0x01;
			size_t len = ping_to(other, k < n ? n : k == n ? n - 1 :
					     n + 1, (uint32_t)(n * 977), pkt);

			cr_assert_null(fpo_check_match(pkt, len, snap.name, n),
				       "name length %zu, variant %zu", n, k);
			cr_assert_null(fpo_check_process(&fp, pkt, len),
				       "name length %zu, variant %zu", n, k);
		}
		size_t len = ping_to(snap.name, n, 5, pkt);

		cr_assert_null(fpo_check_process(&fp, pkt, len));
		cr_assert_eq(dp_fp_process(&fp, pkt, len,
					   &(struct swim_addr){ .ip_len = 4 },
					   &(struct dp_pkt){ 0 }),
			     DP_FP_ACKED, "name length %zu", n);
	}
}

Test(fp_diff, unterminated_snapshot_name_is_cut_at_the_max)
{
	static struct dp_snapshot snap;
	static struct dp_fp fp;
	uint8_t pkt[512];
	size_t len;

	memset(&snap, 0, sizeof(snap));
	memset(snap.name, 'x', sizeof(snap.name));	/* no NUL at all */
	dp_fp_init(&fp);
	dp_fp_set_snapshot(&fp, &snap, 1);
	len = ping_to(snap.name, SWIM_NAME_MAX, 9, pkt);
	cr_assert_null(fpo_check_process(&fp, pkt, len));
	len = ping_to(snap.name, SWIM_NAME_MAX + 1, 9, pkt);
	cr_assert_null(fpo_check_process(&fp, pkt, len));
}

/* --- acks from the template --- */

static const uint32_t seq_edges[] = {
	0, 1, 0x7e, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x100, 0x101, 0xfffe,
	0xffff, 0x10000, 0x10001, 0xffffff, 0x1000000, 0x7fffffff,
	0x80000000u, 0xfffffffeu, 0xffffffffu,
};
#define NB_EDGES (sizeof(seq_edges) / sizeof(seq_edges[0]))

/* A ping frame to us, parsed: what the ack answers in place. */
static size_t
ping_frame(uint8_t *frame, const struct dp_pkt_self *self,
	   struct dp_pkt_view *v)
{
	static const struct dp_udp4_hdrs peer = {
		.src_mac = { 2, 0, 0, 0, 0, 2 }, .src_ip = 0xc6120002u,
		.src_port = 40001,
	};
	uint8_t ping[64];
	size_t n = ping_to("b", 1, 1, ping);
	size_t len = pko_frame(frame, self, &peer, 0, ping, n, 0, false);

	cr_assert_eq(dp_pkt_parse(frame, len, self, v), DP_PKT_UDP_US);
	return len;
}

/* Every SeqNo width on one snapshot: bytes, sum, and the sum through
 * the header template over the ping's frame, as the DPDK lcore sends it. */
static void
check_acks(const struct dp_snapshot *snap, const char *what,
	   struct fpg_rng *r)
{
	static const struct dp_pkt_self self = {
		.mac = { 2, 0, 0, 0, 0, 1 }, .ip = 0xc6120001u, .port = 7946,
	};
	static struct dp_fp fp;
	static uint8_t ack[DP_PKT_MAX];
	uint8_t frame[128];
	struct dp_pkt_view v;
	size_t flen = ping_frame(frame, &self, &v);

	dp_fp_init(&fp);
	dp_fp_set_snapshot(&fp, snap, 1);
	for (unsigned k = 0; k < NB_EDGES + 100; k++) {
		uint32_t seq = k < NB_EDGES ? seq_edges[k] : fpg_seq(r);
		const char *err = fpo_check_ack(&fp, seq);
		int n;

		cr_assert_null(err, "%s: %s", what, err);
		n = dp_fp_build_ack(&fp, seq, ack, sizeof(ack));
		cr_assert(fp.has_ack_sum, "%s seq %u: no template", what, seq);
		if (k % 5 != 0)
			continue;
		err = pko_check_reply(frame, flen, &self, &v, ack, (size_t)n,
				      &fp.ack_sum);
		cr_assert_null(err, "%s seq %u: %s", what, seq, err);
	}
}

/* n parts of len bytes each, a suspect-like type byte first. */
static void
parts(struct dp_snapshot *snap, unsigned n, unsigned len, unsigned nb)
{
	size_t off = 0;

	for (unsigned i = 0; i < n; i++) {
		snap->piggyback[off] = (uint8_t)(len >> 8);
		snap->piggyback[off + 1] = (uint8_t)len;
		if (len > 0) {
			snap->piggyback[off + 2] = SWIM_MSG_SUSPECT;
			memset(snap->piggyback + off + 3, (int)(i + 1),
			       len - 1);
		}
		off += 2 + len;
	}
	snap->piggyback_len = (uint16_t)off;
	snap->nb_piggyback = (uint16_t)nb;
}

/* Piggyback blob number k (0: none), valid and malformed ones. */
static const char *
blob(struct dp_snapshot *snap, unsigned k)
{
	snap->piggyback_len = 0;
	snap->nb_piggyback = 0;
	switch (k) {
	case 0: return "no parts";
	case 1: parts(snap, 1, 29, 1); return "one odd part";
	case 2: parts(snap, 1, 30, 1); return "one even part";
	case 3: parts(snap, 2, 17, 2); return "two odd parts";
	case 4: parts(snap, 3, 300, 3); return "three big parts";
	case 5: parts(snap, 254, 2, 254); return "254 parts";
	case 6: parts(snap, 1, 1022, 1); return "one 1022-byte part";
	case 7: parts(snap, 3, 9, 2); return "two of three parts";
	case 8: parts(snap, 2, 0, 2); return "empty parts (bare)";
	case 9:
		parts(snap, 2, 40, 2);
		snap->piggyback_len -= 1;
		return "a cut part (bare)";
	case 10: parts(snap, 255, 1, 255); return "255 parts (bare)";
	case 11:
		parts(snap, 1, 30, 1);
		snap->piggyback_len = 2000;
		return "blob length past the array (bare)";
	default: parts(snap, 4, 9, 9); return "fewer parts than said";
	}
}

Test(fp_diff, template_acks_every_width_payload_and_piggyback)
{
	static const uint16_t payloads[] = { 0, 1, 2, 20, 21, 31, 32, 33,
					     130, 131, 255, 256 };
	static struct dp_snapshot snap;
	struct fpg_rng r;
	char what[128];

	fpg_seed(&r, 7);
	for (size_t p = 0; p < sizeof(payloads) / sizeof(payloads[0]); p++) {
		for (unsigned k = 0; k <= 12; k++) {
			memset(&snap, 0, sizeof(snap));
			strcpy(snap.name, "b");
			snap.ack_payload_len = payloads[p];
			for (unsigned j = 0; j < payloads[p]; j++)
				snap.ack_payload[j] = (uint8_t)(j * 37 + p);
			snprintf(what, sizeof(what), "payload %u, %s",
				 payloads[p], blob(&snap, k));
			check_acks(&snap, what, &r);
		}
	}
}

Test(fp_diff, oversized_payload_length_means_nil)
{
	static struct dp_snapshot snap;
	struct fpg_rng r;

	fpg_seed(&r, 8);
	memset(&snap, 0, sizeof(snap));
	strcpy(snap.name, "b");
	snap.ack_payload_len = sizeof(snap.ack_payload) + 1;
	check_acks(&snap, "payload length 257", &r);
}
