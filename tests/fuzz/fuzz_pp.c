/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the streamed push/pull decoder (swim_pp_dec_next):
 * the input is a peer's stream. It is fed twice into fresh cores, once
 * whole and once in chunks whose sizes come from the input's first byte,
 * through a window that keeps only unconsumed bytes, as the sync engine
 * does. Findings: crashes, sanitizer reports, and __builtin_trap() when
 * the chunked run ends differently from the whole one (error, nodes
 * merged, members, phase), consumes more than it was given, or holds a
 * piece past SWIM_PP_PIECE_MAX without an error.
 *
 *   scripts/fuzz.sh pp
 */
#include "swim.h"
#include "swim_wire.h"

#include <string.h>

#include "fuzz_check.h"

#define FUZZ_WINDOW (64 * 1024)

struct fuzz_run {
	int rc;			/* last error, or 0 */
	uint32_t nodes;		/* node maps merged */
	uint32_t members;	/* table size after */
	enum swim_pp_dec_phase phase;
};

static struct swim *
fuzz_core(void)
{
	struct swim_cfg cfg;
	const char *err;

	swim_cfg_default_local(&cfg);
	memcpy(cfg.name, "fuzz", 5);
	cfg.addr.ip_len = 4;
	cfg.addr.ip[0] = 127;
	cfg.addr.ip[3] = 1;
	cfg.addr.port = 7946;
	return swim_new(&cfg, &err);
}

/* Feed data in chunks of at most step bytes (0: all at once). */
static void
fuzz_feed(const uint8_t *data, size_t size, size_t step,
	  struct fuzz_run *r)
{
	static uint8_t win[FUZZ_WINDOW];
	struct swim *s = fuzz_core();
	struct swim_pp_dec d;
	size_t in = 0, len = 0;

	FUZZ_CHECK(s != NULL);
	swim_pp_dec_start(s, &d);
	r->rc = 0;
	while (d.phase != SWIM_PP_DEC_USER) {
		size_t k = step == 0 ? size - in : step;
		if (k > size - in)
			k = size - in;
		if (k > FUZZ_WINDOW - len)
			k = FUZZ_WINDOW - len;
		memcpy(win + len, data + in, k);
		len += k;
		in += k;
		int c = swim_pp_dec_next(s, 1, &d, win, len, 1u << 20);
		if (c < 0) {
			r->rc = c;
			break;
		}
		FUZZ_CHECK((size_t)c <= len);
		memmove(win, win + c, len - (size_t)c);
		len -= (size_t)c;
		/* an incomplete piece never fills the window: it is an
		 * error by SWIM_PP_PIECE_MAX first */
		FUZZ_CHECK(len < SWIM_PP_PIECE_MAX ||
			   d.phase == SWIM_PP_DEC_USER);
		FUZZ_CHECK(c > 0 || k > 0 || in == size);
		if (c == 0 && in == size)
			break;	/* the stream ends inside a piece */
	}
	r->nodes = d.nodes_done;
	r->members = swim_member_count(s);
	r->phase = d.phase;
	swim_delete(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_run whole, chunked;
	size_t step;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 61 + 1;
	fuzz_feed(data + 1, size - 1, 0, &whole);
	fuzz_feed(data + 1, size - 1, step, &chunked);
	FUZZ_CHECK(whole.rc == chunked.rc);
	FUZZ_CHECK(whole.nodes == chunked.nodes);
	FUZZ_CHECK(whole.members == chunked.members);
	FUZZ_CHECK(whole.phase == chunked.phase);
	return 0;
}
