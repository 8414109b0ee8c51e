/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the streamed Serf user state decoder
 * (serf_pp_dec_next): the input's first byte picks a chunk size, the
 * rest is a peer's messagePushPull announced at its full length. It is
 * fed twice into fresh Serf layers that know a few members (some alive,
 * failed, leaving, left), once whole and once in chunks, through a
 * window that keeps only unconsumed bytes, as the sync engine does.
 * Findings: crashes, sanitizer reports, and __builtin_trap() when the
 * chunked run ends differently from the whole one (error, done, entries
 * merged, the members' statuses and LTimes, the clocks), consumes more
 * than it was given, or holds a piece past SERF_PP_PIECE_MAX without an
 * error. The same bytes also go through the whole-message merge
 * (serf_merge_remote_state), for crashes and UB only.
 *
 *   scripts/fuzz.sh serf_pp
 */
#include "serf_int.h"
#include "swim.h"
#include "swim_wire.h"

#include <stdio.h>
#include <string.h>

#include "fuzz_check.h"

#define FUZZ_WINDOW (64 * 1024)
#define FUZZ_MEMBERS 6

struct fuzz_run {
	long rc;		/* last error, or 0 */
	bool done;
	uint32_t merged;
	uint64_t clocks[3];
	uint64_t ltimes[FUZZ_MEMBERS];
	uint8_t status[FUZZ_MEMBERS];
};

static void
fuzz_join(struct swim *core, struct serf *serf, const char *name)
{
	static const uint8_t vsn[SWIM_VSN_LEN] = { 1, 5, 2, 2, 5, 4 };
	uint8_t ip[4] = { 10, 0, 0, 2 };
	uint8_t pkt[256];
	struct swim_msg m = { .type = SWIM_MSG_ALIVE };
	struct swim_addr from = { .ip = { 10, 0, 0, 2 }, .ip_len = 4,
				  .port = 7946 };
	struct swim_event ev;

	m.alive.incarnation = 1;
	m.alive.node = (struct swim_str){ (const uint8_t *)name,
					  (uint32_t)strlen(name) };
	m.alive.addr = (struct swim_str){ ip, 4 };
	m.alive.port = 7946;
	m.alive.vsn = (struct swim_str){ vsn, SWIM_VSN_LEN };
	int len = swim_wire_encode_msg(&m, pkt, sizeof(pkt));
	FUZZ_CHECK(len > 0);
	swim_on_packet(core, 1, &from, pkt, (size_t)len, 0);
	while (swim_pop_event(core, &ev))
		serf_on_swim_event(serf, 1, &ev);
}

/* "m0".."m5": alive, failed, leaving, left, alive with LTime 50, alive. */
static struct serf *
fuzz_serf(struct swim **core)
{
	static const uint8_t st[FUZZ_MEMBERS] = {
		SERF_STATUS_ALIVE, SERF_STATUS_FAILED, SERF_STATUS_LEAVING,
		SERF_STATUS_LEFT, SERF_STATUS_ALIVE, SERF_STATUS_ALIVE,
	};
	struct swim_cfg cfg;
	struct serf_cfg sc;
	const char *err;
	char name[8];

	swim_cfg_default_local(&cfg);
	memcpy(cfg.name, "fuzz", 5);
	cfg.addr = (struct swim_addr){ .ip = { 127, 0, 0, 1 }, .ip_len = 4,
				       .port = 7946 };
	*core = swim_new(&cfg, &err);
	FUZZ_CHECK(*core != NULL);
	serf_cfg_default(&sc);
	memcpy(sc.name, "fuzz", 5);
	struct serf *serf = serf_new(&sc, *core, &err);
	FUZZ_CHECK(serf != NULL);
	for (int i = 0; i < FUZZ_MEMBERS; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		fuzz_join(*core, serf, name);
		struct serf_member *m = serf_member_get(serf,
			(const uint8_t *)name, strlen(name));
		FUZZ_CHECK(m != NULL);
		serf_member_set_status(serf, m, st[i]);
		m->status_ltime = i == 4 ? 50 : 0;
	}
	return serf;
}

static void
fuzz_result(struct serf *serf, const struct serf_pp_dec *d,
	    struct fuzz_run *r)
{
	char name[8];

	r->done = serf_pp_dec_done(d);
	r->merged = d->merged;
	r->clocks[0] = serf->clock.time;
	r->clocks[1] = serf->event_clock.time;
	r->clocks[2] = serf->query_clock.time;
	for (int i = 0; i < FUZZ_MEMBERS; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		struct serf_member *m = serf_member_get(serf,
			(const uint8_t *)name, strlen(name));
		FUZZ_CHECK(m != NULL);
		r->ltimes[i] = m->status_ltime;
		r->status[i] = m->status;
	}
}

/* Feed data in chunks of at most step bytes (0: all at once). */
static void
fuzz_feed(const uint8_t *data, size_t size, size_t step,
	  struct fuzz_run *r)
{
	static uint8_t win[FUZZ_WINDOW];
	static struct serf_pp_dec d;
	struct swim *core;
	struct serf *serf = fuzz_serf(&core);
	size_t in = 0, len = 0;

	serf_pp_dec_start(serf, &d, size, false);
	r->rc = 0;
	while (!serf_pp_dec_done(&d)) {
		size_t k = step == 0 ? size - in : step;
		if (k > size - in)
			k = size - in;
		if (k > FUZZ_WINDOW - len)
			k = FUZZ_WINDOW - len;
		memcpy(win + len, data + in, k);
		len += k;
		in += k;
		long c = serf_pp_dec_next(serf, &d, 1, win, len);
		if (c < 0) {
			r->rc = c;
			break;
		}
		FUZZ_CHECK((size_t)c <= len);
		memmove(win, win + c, len - (size_t)c);
		len -= (size_t)c;
		/* nothing taken from a full piece's worth: an error was due */
		FUZZ_CHECK(c > 0 || len < SERF_PP_PIECE_MAX);
		if (c == 0 && in == size)
			break;
	}
	fuzz_result(serf, &d, r);
	serf_delete(serf);
	swim_delete(core);
}

/*
 * The whole-message merge (serf_merge_remote_state: sealed and
 * compressed push/pulls) reads the same bytes; it must only not crash
 * or hit UB. Its results are not compared: it predates the stream.
 */
static void
fuzz_merge_whole(const uint8_t *data, size_t size)
{
	struct swim *core;
	struct serf *serf = fuzz_serf(&core);

	(void)serf_merge_remote_state(serf, 1, data, size, false);
	serf_delete(serf);
	swim_delete(core);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_run whole, chunked;

	if (size < 1)
		return 0;
	fuzz_merge_whole(data + 1, size - 1);
	fuzz_feed(data + 1, size - 1, 0, &whole);
	fuzz_feed(data + 1, size - 1, 1 + data[0] % 97, &chunked);
	FUZZ_CHECK(whole.rc == chunked.rc);
	FUZZ_CHECK(whole.done == chunked.done);
	FUZZ_CHECK(whole.merged == chunked.merged);
	FUZZ_CHECK(memcmp(whole.clocks, chunked.clocks,
			  sizeof(whole.clocks)) == 0);
	FUZZ_CHECK(memcmp(whole.ltimes, chunked.ltimes,
			  sizeof(whole.ltimes)) == 0);
	FUZZ_CHECK(memcmp(whole.status, chunked.status,
			  sizeof(whole.status)) == 0);
	FUZZ_CHECK(whole.rc != 0 || !whole.done || whole.merged <= size);
	return 0;
}
