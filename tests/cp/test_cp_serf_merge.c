/*
 * A peer's push/pull merged by the daemon (commit ace450b): the Serf
 * user state's intents about members that arrive in the same push/pull
 * find those members, on the streamed path (cp_sync_core.c and
 * cp_sync_serf.c) and on the whole-message one (cp_ops.c). Without the
 * core's events drained into the Serf layer first, the intents wait as
 * intents about unknown names, a set capped at SERF_INTENTS_MAX (4,096):
 * the oldest are evicted and their members keep LTime 0.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cp.h"
#include "cp_fixture.h"
#include "cp_sync_pp.h"
#include "../unit/serf_pp_util.h"

/* More members than SERF_INTENTS_MAX: some intents would be evicted. */
#define NB (SERF_INTENTS_MAX + 2000)
#define LTIME 7

static struct cp *cp;
static struct node peer;
static uint8_t *msg;
static size_t msg_len;

/* The peer's push/pull: NB members, each with status LTime LTIME. */
static void
setup(void)
{
	char name[32];
	size_t cap = 64 * 1024 + 256 * (size_t)NB;

	cp = cp_fx_daemon_new("gossipd-1");
	node_new(&peer, "peer");
	for (uint32_t i = 0; i < NB; i++) {
		name_of(name, i);
		join(&peer, name, 1);
		get(&peer, name)->status_ltime = LTIME;
	}
	uint8_t *us = malloc(cap);
	size_t us_len = serf_local_state(peer.serf, us, cap);
	cr_assert(us_len > 0 && us_len < cap);
	msg = malloc(cap + us_len);
	msg_len = swim_push_pull_encode(peer.core, false, us, us_len, msg,
					cap + us_len);
	cr_assert(msg_len > us_len && msg_len <= cap + us_len);
	free(us);
}

static void
teardown(void)
{
	free(msg);
	node_delete(&peer);
	cp_fx_daemon_delete(cp);
}

TestSuite(cp_serf_merge, .init = setup, .fini = teardown);

/* Every member reached the daemon's Serf layer with the peer's LTime. */
static void
check_ltimes(void)
{
	struct serf_member_info info;
	char name[32];
	uint32_t zero = 0;

	cp_loop_events(cp, cp_now_us());	/* what the loop does next */
	for (uint32_t i = 0; i < NB; i++) {
		name_of(name, i);
		cr_assert_eq(serf_member_find(cp->serf, name, strlen(name),
					      &info), 0, "%s", name);
		zero += info.status_ltime != LTIME;
	}
	cr_assert_eq(zero, 0, "%u of %u members lost their intent", zero,
		     NB);
}

Test(cp_serf_merge, streamed_intents_find_their_members)
{
	const struct cp_sync_pp_ops *ops = cp_sync_core_pp_ops();
	uint64_t now = cp_now_us();
	void *st = ops->in_start(cp, now);
	bool done = false;
	size_t off = 0;

	cr_assert_not_null(st);
	while (!done && off < msg_len) {
		size_t k = msg_len - off < CP_SYNC_PP_WINDOW ?
			   msg_len - off : CP_SYNC_PP_WINDOW;
		long c = ops->in_feed(cp, st, now, msg + off, k, &done);
		cr_assert_gt(c, 0, "rc %ld at %zu", c, off);
		off += (size_t)c;
	}
	cr_assert(done);
	cr_assert_eq(off, msg_len);
	ops->in_end(cp, st);
	check_ltimes();
}

Test(cp_serf_merge, whole_message_intents_find_their_members)
{
	struct cp_sync_handler h;

	cp_sync_handler_init(cp, &h);
	cr_assert_eq(h.merge(cp, cp_now_us(), msg, msg_len), 0);
	check_ltimes();
}
