/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the wire codec: every decoder on arbitrary bytes,
 * and re-encoding of whatever decoded, which must then decode again to
 * the same message. Crashes, sanitizer reports and __builtin_trap() on a
 * broken invariant are the findings.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true -Ddataplane=disabled
 *   ninja -C build-fuzz tests/fuzz/fuzz_wire
 *   ./build-fuzz/tests/fuzz/fuzz_wire -max_total_time=60 CORPUS_DIR
 */
#include "swim_wire.h"

#include <string.h>

#include "fuzz_check.h"

static struct swim_wire_scratch scratch;
/* Room for any re-encoding: liberal input (str8) can grow a little. */
static uint8_t out[SWIM_UDP_MAX * 4];
static uint8_t out2[SWIM_UDP_MAX * 4];

/* Re-encode a decoded message; it must decode to the same encoding. */
static int
fuzz_visit(void *ctx, const struct swim_msg *msg)
{
	struct swim_msg again;
	int n, n2;

	(void)ctx;
	n = swim_wire_encode_msg(msg, out, sizeof(out));
	FUZZ_CHECK(n > 0);
	FUZZ_CHECK(swim_wire_decode_msg(out, (size_t)n, &again) == 0);
	n2 = swim_wire_encode_msg(&again, out2, sizeof(out2));
	FUZZ_CHECK(n2 == n && memcmp(out, out2, (size_t)n) == 0);
	return 0;
}

static int
fuzz_node(void *ctx, const struct swim_push_node *node)
{
	(void)ctx;
	FUZZ_CHECK(swim_wire_encode_push_node(node, out, sizeof(out)) > 0);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct swim_push_pull_header h;
	struct swim_str us;
	struct swim_ping p;
	int rc;

	rc = swim_wire_decode_packet(data, size, &scratch, fuzz_visit, NULL);
	FUZZ_CHECK(rc > SWIM_WIRE_E_COUNT);
	rc = swim_wire_find_ping(data, size, "b", 1, &p);
	FUZZ_CHECK(rc > SWIM_WIRE_E_COUNT && rc <= 1);
	rc = swim_wire_decode_push_pull(data, size, &h, fuzz_node, NULL, &us);
	FUZZ_CHECK(rc > SWIM_WIRE_E_COUNT && rc <= (int)size);
	if (size > 0) {
		rc = swim_wire_decode_compress(data + 1, size - 1, out,
					       sizeof(out));
		FUZZ_CHECK(rc > SWIM_WIRE_E_COUNT);
	}
	/* LZW must round-trip anything. */
	if (size <= 4096) {
		rc = swim_lzw_compress(data, size, out, sizeof(out));
		FUZZ_CHECK(rc > 0);
		FUZZ_CHECK(swim_lzw_decompress(out, (size_t)rc, out2,
					       sizeof(out2)) == (int)size);
		FUZZ_CHECK(size == 0 || memcmp(out2, data, size) == 0);
	}
	return 0;
}
