/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the dataplane's ping fast path, differential: on
 * arbitrary bytes as a UDP payload, swim_wire_match_ping must agree with
 * swim_wire_find_ping and with a full swim_wire_decode_packet walk, and
 * dp_fp_match, dp_fp_process and dp_fp_build_ack (the SeqNo taken from
 * the input) with the general encoders, for names of each length class
 * and snapshots with and without payload and piggyback. The oracles are
 * tests/dp/fp_oracle.c, shared with the Criterion test test_fp_diff.
 * A disagreement is printed and trapped; crashes and sanitizer reports
 * are findings too.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true
 *   ninja -C build-fuzz tests/fuzz/fuzz_ping
 *   ./build-fuzz/tests/fuzz/fuzz_ping -max_total_time=60 CORPUS_DIR
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp.h"
#include "dp_fastpath.h"
#include "fp_oracle.h"
#include "swim_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef FUZZ_PING_NO_RING
#include "dp_internal.h"

/* dp_fastpath.c's one reference outside itself, in dp_ring.c (rte_ring):
 * the fuzz build links without DPDK, and never refreshes a snapshot. */
bool
dp_snap_read(const struct dp_snap_pub *pub, uint64_t *gen,
	     struct dp_snapshot *out)
{
	(void)pub;
	(void)gen;
	(void)out;
	return false;
}
#endif

static const char *const fuzz_names[] = {
	"b", "node-1", "a-name-of-16-ch.", "a-thirty-two-byte-long-node-name",
};
#define FUZZ_NB (sizeof(fuzz_names) / sizeof(fuzz_names[0]))

static struct dp_fp fuzz_fp[FUZZ_NB];

static void
fuzz_check(const char *err, const char *what)
{
	if (err == NULL)
		return;
	fprintf(stderr, "fuzz_ping: %s: %s\n", what, err);
	__builtin_trap();
}

/* Snapshot i: payload none, serf-like, odd; piggyback none to two. */
static void
fuzz_init(void)
{
	static struct dp_snapshot snap;

	for (unsigned i = 0; i < FUZZ_NB; i++) {
		memset(&snap, 0, sizeof(snap));
		snprintf(snap.name, sizeof(snap.name), "%s", fuzz_names[i]);
		snap.ack_payload_len = (uint16_t)(i * 43);
		memset(snap.ack_payload, 0xcb, snap.ack_payload_len);
		for (unsigned p = 0; p < i % 3; p++) {
			uint8_t *b = snap.piggyback + snap.piggyback_len;

			b[0] = 0;
			b[1] = (uint8_t)(11 + p);
			b[2] = SWIM_MSG_SUSPECT;
			memset(b + 3, 0x41, 10 + p);
			snap.piggyback_len = (uint16_t)(snap.piggyback_len +
							 13 + p);
			snap.nb_piggyback++;
		}
		dp_fp_init(&fuzz_fp[i]);
		dp_fp_set_snapshot(&fuzz_fp[i], &snap, 1);
	}
}

static void
fuzz_one(const uint8_t *buf, size_t len)
{
	for (unsigned i = 0; i < FUZZ_NB; i++) {
		fuzz_check(fpo_check_match(buf, len, fuzz_names[i],
					   strlen(fuzz_names[i])), "match");
		fuzz_check(fpo_check_process(&fuzz_fp[i], buf, len),
			   "process");
	}
	fuzz_check(fpo_check_match(buf, len, "", 0), "match, empty name");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	uint8_t *buf;

	if (!ready) {
		fuzz_init();
		ready = true;
	}
	/* in a buffer of its own size: ASan sees a read past the end */
	buf = malloc(size != 0 ? size : 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	fuzz_one(buf, size);
	/* under a right CRC, so what the CRC covers is read too */
	if (size >= 5 && buf[0] == SWIM_MSG_HAS_CRC) {
		uint32_t crc = swim_crc32(buf + 5, size - 5);

		buf[1] = (uint8_t)(crc >> 24);
		buf[2] = (uint8_t)(crc >> 16);
		buf[3] = (uint8_t)(crc >> 8);
		buf[4] = (uint8_t)crc;
		fuzz_one(buf, size);
	}
	if (size >= 4) {
		uint32_t seq = (uint32_t)data[0] << 24 |
			       (uint32_t)data[1] << 16 |
			       (uint32_t)data[2] << 8 | data[3];

		for (unsigned i = 0; i < FUZZ_NB; i++)
			fuzz_check(fpo_check_ack(&fuzz_fp[i], seq), "ack");
	}
	free(buf);
	return 0;
}
