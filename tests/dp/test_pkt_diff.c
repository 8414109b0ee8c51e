/* SPDX-License-Identifier: MIT */
/*
 * Differential test of dp_pkt's parse and in-place UDP reply against the
 * plain references of pkt_oracle.h: seeded random frames (UDP to us and
 * to others, ARP, other protocols, IPv4 options, padding, no checksum),
 * then mutated with the header bytes favoured and, half the time, their
 * checksums made right again so the checks behind them are reached.
 * Every frame sits in a buffer of exactly its length (ASan sees any
 * overread). A failure prints the seed, the iteration and the frame.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_pkt.h"
#include "fp_gen.h"
#include "pkt_oracle.h"

#define FRAME_MAX 3100

/* 198.18.0.1:7946 is us (RFC 2544 space). */
static const struct dp_pkt_self self = {
	.mac = { 0x02, 0, 0, 0, 0, 0x01 }, .ip = 0xc6120001u, .port = 7946,
};

/* What the mutation runs reached: every class and drop reason. */
static unsigned nb_cls[DP_PKT_CLASS_COUNT];
static unsigned nb_drop[DP_PKT_DROP_COUNT];

/* A peer: mostly ordinary, sometimes a source no frame may have. */
static void
gen_peer(struct fpg_rng *r, struct dp_udp4_hdrs *h)
{
	static const uint32_t ips[] = { 0xc6120002u, 0x0a000002u, 0x7f000001u,
					0, 0xffffffffu, 0xe0000001u,
					0xefffffffu, 0xdfffffffu, 0xf0000000u };
	unsigned c = fpg_below(r, 10);

	memset(h, 0, sizeof(*h));
	for (unsigned i = 0; i < 6; i++)
		h->src_mac[i] = (uint8_t)fpg_next(r);
	h->src_mac[0] &= fpg_below(r, 8) == 0 ? 0xff : 0xfe;
	h->src_ip = c < 6 ? ips[0] : c < 8 ? (uint32_t)fpg_next(r) :
		    ips[fpg_below(r, 9)];
	h->src_port = (uint16_t)(fpg_below(r, 4) == 0 ? 7946 :
				 1 + fpg_below(r, 0xffff));
}

/* A payload length: mostly a ping's, sometimes up to a jumbo's. */
static size_t
gen_len(struct fpg_rng *r)
{
	unsigned c = fpg_below(r, 20);

	if (c < 12)
		return fpg_below(r, 80);
	if (c < 19)
		return fpg_below(r, 1473);
	return fpg_below(r, FRAME_MAX - 100 - 60);
}

/* A UDP frame to us, maybe turned into one for another IP, port or
 * protocol afterwards (sums fixed). @retval length */
static size_t
gen_udp(struct fpg_rng *r, uint8_t *out)
{
	static uint8_t payload[FRAME_MAX];
	struct dp_udp4_hdrs peer;
	size_t len = gen_len(r), flen;
	unsigned opt = fpg_below(r, 4) == 0 ? fpg_below(r, 11) : 0;
	size_t pad = fpg_below(r, 3) == 0 ? fpg_below(r, 30) : 0;
	unsigned c = fpg_below(r, 20);

	gen_peer(r, &peer);
	for (size_t i = 0; i < len; i++)
		payload[i] = (uint8_t)fpg_next(r);
	flen = pko_frame(out, &self, &peer, opt, payload, len, pad,
			 fpg_below(r, 10) == 0);
	if (c == 0)
		out[14 + 16] ^= 0x01;	/* another IPv4 address */
	else if (c == 1)
		out[14 + 16] = fpg_below(r, 2) ? 0xff : 0xe0;
	else if (c == 2)
		out[14 + 4 * (opt + 5) + 3] ^= 0x10;	/* another port */
	else if (c == 3)
		out[14 + 9] = fpg_below(r, 2) ? 6 : 1;	/* TCP, ICMP */
	if (c <= 3)
		pko_fix_sums(out, flen);
	return flen;
}

/* An ARP frame, good or not. @retval length (60) */
static size_t
gen_arp(struct fpg_rng *r, uint8_t *out)
{
	static const uint8_t head[] = { 0x08, 0x06, 0, 1, 0x08, 0, 6, 4 };
	uint8_t *a = out + 14;

	memset(out, 0xff, 6);
	if (fpg_below(r, 2))
		memcpy(out, self.mac, 6);
	for (unsigned i = 6; i < 60; i++)
		out[i] = (uint8_t)fpg_next(r);
	memcpy(out + 12, head, sizeof(head));
	a[6] = fpg_below(r, 8) == 0 ? (uint8_t)fpg_next(r) : 0;
	a[7] = (uint8_t)(1 + fpg_below(r, fpg_below(r, 4) ? 2 : 4));
	if (fpg_below(r, 2)) {	/* for us */
		a[24] = 0xc6;
		a[25] = 0x12;
		a[26] = 0;
		a[27] = 1;
	}
	return 60;
}

static size_t
gen_frame(struct fpg_rng *r, uint8_t *out)
{
	unsigned c = fpg_below(r, 20);
	size_t len;

	if (c < 15)
		return gen_udp(r, out);
	if (c < 18)
		return gen_arp(r, out);
	len = gen_udp(r, out);	/* another ethertype, another station */
	if (c == 18)
		out[12 + fpg_below(r, 2)] ^= (uint8_t)(1 + fpg_below(r, 255));
	else
		out[fpg_below(r, 6)] ^= (uint8_t)(2 << fpg_below(r, 6));
	return len;
}

/* One edit, the headers favoured. @retval new length */
static size_t
edit(struct fpg_rng *r, uint8_t *f, size_t len)
{
	size_t hdr = len < 80 ? len : 80;
	size_t at = len == 0 ? 0 : fpg_below(r, 4) ? fpg_below(r, (uint32_t)hdr) :
		    fpg_below(r, (uint32_t)len);
	unsigned c = fpg_below(r, 10);

	if (len == 0 || c == 9) {	/* grow by random bytes */
		size_t n = 1 + fpg_below(r, 16);

		for (; n > 0 && len < FRAME_MAX; n--)
			f[len++] = (uint8_t)fpg_next(r);
		return len;
	}
	if (c < 4)
		f[at] ^= (uint8_t)(1u << fpg_below(r, 8));
	else if (c < 7)
		f[at] = fpg_below(r, 2) ? (uint8_t)fpg_next(r) :
			(uint8_t[]){ 0, 1, 4, 5, 0x11, 0x40, 0x45, 0x4f,
				     0x80, 0xff }[fpg_below(r, 10)];
	else if (c == 7)
		return at;	/* cut */
	else if (at + 1 < len) {	/* a 16-bit field */
		f[at] = (uint8_t)fpg_next(r);
		f[at + 1] = (uint8_t)fpg_next(r);
	}
	return len;
}

/* Parse, and for a UDP_US frame every reply; frame in an exact buffer. */
static void
check_frame(const uint8_t *frame, size_t len, uint64_t seed, unsigned it,
	    struct fpg_rng *r)
{
	static uint8_t payload[FRAME_MAX];
	uint8_t *f = malloc(len != 0 ? len : 1);
	struct dp_pkt_view v;
	const char *err;

	cr_assert_not_null(f);
	memcpy(f, frame, len);
	err = pko_check_parse(f, len, &self, &v);
	if (err == NULL && v.cls == DP_PKT_UDP_US) {
		size_t n = gen_len(r);
		uint32_t sum;

		for (size_t i = 0; i < n; i++)
			payload[i] = (uint8_t)fpg_next(r);
		/* the payload's sum, or one equal to it modulo 0xffff */
		sum = (uint32_t)oracle_sum(payload, n) +
		      0xffffu * fpg_below(r, 3);
		if (fpg_below(r, 4) == 0)
			sum = oracle_fold(sum);
		err = pko_check_reply(f, len, &self, &v, payload, n, &sum);
		if (err == NULL)
			err = pko_check_reply(f, len, &self, &v, NULL, 0, NULL);
		if (err == NULL && it % 64 == 0)
			err = pko_check_reply_errors(f, len, &self, &v);
	}
	nb_cls[v.cls % DP_PKT_CLASS_COUNT]++;
	nb_drop[v.drop % DP_PKT_DROP_COUNT]++;
	free(f);
	cr_assert_null(err, "seed %llu iteration %u: %s\nframe (%zu bytes): %s",
		       (unsigned long long)seed, it, err, len,
		       oracle_hex(frame, len));
}

Test(pkt_diff, generated_frames_agree)
{
	static uint8_t frame[FRAME_MAX];
	struct fpg_rng r;

	fpg_seed(&r, 11);
	for (unsigned it = 0; it < 20000; it++) {
		size_t len = gen_frame(&r, frame);

		check_frame(frame, len, 11, it, &r);
	}
	cr_assert_gt(nb_cls[DP_PKT_UDP_US], 8000);
	cr_assert_gt(nb_cls[DP_PKT_ARP], 1000);
	cr_assert_gt(nb_cls[DP_PKT_EXCEPTION], 1000);
}

/* n mutated frames from seed; returns with the tallies filled. A soak,
 * off by default: PKT_DIFF_SOAK=k runs k times as many from seeds of its
 * own (PKT_DIFF_SOAK_BASE + seed). */
static void
mutate_run(uint64_t seed, unsigned n)
{
	static uint8_t frame[FRAME_MAX];
	const char *k = getenv("PKT_DIFF_SOAK");
	const char *base = getenv("PKT_DIFF_SOAK_BASE");
	struct fpg_rng r;

	if (k != NULL && atoi(k) > 0) {
		n *= (unsigned)atoi(k);
		seed += base != NULL ? strtoull(base, NULL, 0) : 1000;
	}
	fpg_seed(&r, seed);
	for (unsigned it = 0; it < n; it++) {
		size_t len = gen_frame(&r, frame);
		unsigned k = 1 + fpg_below(&r, 3);

		for (unsigned i = 0; i < k; i++)
			len = edit(&r, frame, len);
		if (fpg_below(&r, 2))
			pko_fix_sums(frame, len);
		check_frame(frame, len, seed, it, &r);
	}
}

Test(pkt_diff, mutated_frames_agree_and_reach_every_drop_reason)
{
	mutate_run(12, 150000);
	for (unsigned d = 1; d < DP_PKT_DROP_COUNT; d++)
		cr_assert_gt(nb_drop[d], 0, "no frame dropped as %s",
			     dp_pkt_drop_str[d]);
	cr_assert_gt(nb_cls[DP_PKT_UDP_US], 5000);
}

Test(pkt_diff, mutated_frames_agree_seed_13) { mutate_run(13, 150000); }

Test(pkt_diff, every_cut_agrees)
{
	static uint8_t frame[FRAME_MAX];
	struct fpg_rng r;

	fpg_seed(&r, 14);
	for (unsigned it = 0; it < 300; it++) {
		size_t len = gen_frame(&r, frame);

		for (size_t cut = 0; cut <= len && cut < 200; cut++)
			check_frame(frame, cut, 14, it, &r);
	}
}
