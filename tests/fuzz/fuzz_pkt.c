/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for dp_pkt, differential: arbitrary bytes as a frame
 * (as given, and with its IPv4 and UDP checksums made right), and as the
 * UDP payload of a valid frame to us, through dp_pkt_parse against a
 * plain reference parser; every UDP_US frame is then answered through
 * dp_pkt_build_udp4 and the header template over the frame (as the DPDK
 * lcore writes its ack), with its own payload in place and with the input
 * as payload, against a reference reply with byte-at-a-time RFC 1071
 * sums. The oracles are tests/dp/pkt_oracle.c, shared with the Criterion
 * test test_pkt_diff.
 * A disagreement is printed and trapped.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true
 *   ninja -C build-fuzz tests/fuzz/fuzz_pkt
 *   ./build-fuzz/tests/fuzz/fuzz_pkt -max_total_time=60 CORPUS_DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_pkt.h"
#include "pkt_oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 198.18.0.1:7946 is us; the wrapped frames come from 198.18.0.2. */
static const struct dp_pkt_self fuzz_self = {
	.mac = { 0x02, 0, 0, 0, 0, 0x01 }, .ip = 0xc6120001u, .port = 7946,
};
static const struct dp_udp4_hdrs fuzz_peer = {
	.src_mac = { 0x02, 0, 0, 0, 0, 0x02 }, .src_ip = 0xc6120002u,
	.src_port = 40001,
};

/* Payloads of wrapped frames: a jumbo frame's at most. */
#define FUZZ_PAYLOAD_MAX 9000

static void
fuzz_check(const char *err, const char *what)
{
	if (err == NULL)
		return;
	fprintf(stderr, "fuzz_pkt: %s: %s\n", what, err);
	__builtin_trap();
}

/* Parse a frame (copied to a buffer of exactly len bytes) and answer it
 * if it is ours. */
static void
fuzz_frame(const uint8_t *frame, size_t len, const uint8_t *payload,
	   size_t plen, int fix)
{
	uint8_t *f = malloc(len != 0 ? len : 1);
	struct dp_pkt_view v;

	if (f == NULL)
		return;
	memcpy(f, frame, len);
	if (fix)
		pko_fix_sums(f, len);
	fuzz_check(pko_check_parse(f, len, &fuzz_self, &v), "parse");
	if (v.cls == DP_PKT_UDP_US) {
		fuzz_check(pko_check_reply(f, len, &fuzz_self, &v, NULL, 0,
					   NULL), "reply in place");
		fuzz_check(pko_check_reply(f, len, &fuzz_self, &v, payload,
					   plen, NULL), "reply");
		fuzz_check(pko_check_reply_errors(f, len, &fuzz_self, &v),
			   "reply errors");
	}
	free(f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t wrapped[FUZZ_PAYLOAD_MAX + 128];
	size_t plen = size < FUZZ_PAYLOAD_MAX ? size : FUZZ_PAYLOAD_MAX;
	size_t n;

	fuzz_frame(data, size, data, plen, 0);
	fuzz_frame(data, size, data, plen, 1);
	/* the bytes as a datagram to us, with options and padding taken
	 * from its length */
	n = pko_frame(wrapped, &fuzz_self, &fuzz_peer, (unsigned)(size % 3),
		      data, plen, size % 7, size % 5 == 0);
	fuzz_frame(wrapped, n, data, plen, 0);
	return 0;
}
