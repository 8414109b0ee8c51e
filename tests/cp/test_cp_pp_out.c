/* SPDX-License-Identifier: MIT */
/*
 * The daemon's streamed push/pull out (cp_sync_core.c, cp_sync_serf.c):
 * the Serf user state is sized in steps before the header goes (out_fill
 * says -EAGAIN, no byte, once per step), members join between the steps
 * and between the windows, and still the header's UserStateLen is the
 * length of the Serf state that follows the nodes, and a second daemon
 * merges the whole stream: every member with its intent's LTime.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cp.h"
#include "cp_fixture.h"
#include "cp_sync_pp.h"
#include "serf_msg.h"
#include "../unit/serf_pp_util.h"

/* Members: a Serf index of 2^15 slots, four sizing steps (three say
 * -EAGAIN, the last one sizes and the header goes). */
#define NB 20000u
#define LTIME 9

static struct cp *a, *b;

/* a's core and Serf layer as a struct node, for join(). */
static struct node
node_of(struct cp *cp)
{
	return (struct node){ .core = cp->swim, .serf = cp->serf };
}

/* NB members, each with status LTime LTIME, into cp as a peer's
 * push/pull would bring them (the streamed in path). */
static void
seed(struct cp *cp)
{
	const struct cp_sync_pp_ops *ops = cp_sync_core_pp_ops();
	size_t cap = 64 * 1024 + 256 * (size_t)NB;
	struct node peer;
	char name[32];
	bool done = false;

	node_new(&peer, "peer");
	for (uint32_t i = 0; i < NB; i++) {
		name_of(name, i);
		join(&peer, name, 1);
		get(&peer, name)->status_ltime = LTIME;
	}
	peer.serf->clock.time = LTIME + 1;
	uint8_t *us = malloc(cap);
	size_t us_len = serf_local_state(peer.serf, us, cap);
	uint8_t *msg = malloc(cap + us_len);
	size_t len = swim_push_pull_encode(peer.core, false, us, us_len, msg,
					   cap + us_len);
	void *st = ops->in_start(cp, cp_now_us());
	for (size_t off = 0; !done && off < len;) {
		long c = ops->in_feed(cp, st, cp_now_us(), msg + off,
				      len - off, &done);
		cr_assert_gt(c, 0);
		off += (size_t)c;
	}
	cr_assert(done);
	ops->in_end(cp, st);
	cp_loop_events(cp, cp_now_us());
	free(us);
	free(msg);
	node_delete(&peer);
}

static void
setup(void)
{
	a = cp_fx_daemon_new("gossipd-a");
	b = cp_fx_daemon_new("gossipd-b");
	seed(a);
	cr_assert_geq(serf_member_count(a->serf), NB + 1);
}

static void
teardown(void)
{
	cp_fx_daemon_delete(a);
	cp_fx_daemon_delete(b);
}

TestSuite(cp_pp_out, .init = setup, .fini = teardown);

static uint32_t next_name = 1000000;

/* Five more members into a, as the loop would take them in. */
static void
join_five(void)
{
	struct node n = node_of(a);
	char name[32];

	for (int i = 0; i < 5; i++) {
		name_of(name, next_name++);
		join(&n, name, 1);
	}
}

static int
count_node(void *ctx, const struct swim_push_node *nd)
{
	(void)nd;
	(*(uint32_t *)ctx)++;
	return 0;
}

Test(cp_pp_out, sized_in_steps_the_header_tells_the_truth)
{
	const struct cp_sync_pp_ops *ops = cp_sync_core_pp_ops();
	size_t cap = 64u << 20;
	uint8_t *out = malloc(cap);
	uint8_t *win = malloc(CP_SYNC_PP_WINDOW);
	unsigned again = 0;
	size_t len = 0;
	long n;

	void *st = ops->out_start(a, false);
	cr_assert_not_null(st);
	while ((n = ops->out_fill(a, st, win, CP_SYNC_PP_WINDOW)) != 0) {
		join_five();	/* between every step and window */
		if (n == -EAGAIN) {
			again += len == 0;
			continue;
		}
		cr_assert_gt(n, 0, "rc %ld", n);
		cr_assert_leq(len + (size_t)n, cap);
		memcpy(out + len, win, (size_t)n);
		len += (size_t)n;
	}
	ops->out_end(a, st);
	cr_assert_geq(again, 3, "%u steps before the first byte", again);
	/* the header's UserStateLen is what follows the nodes */
	struct swim_push_pull_header h;
	struct swim_str us;
	uint32_t nb_nodes = 0;
	int rc = swim_wire_decode_push_pull(out, len, &h, count_node,
					    &nb_nodes, &us);
	cr_assert_eq(rc, (int)len, "rc %d of %zu", rc, len);
	cr_assert_eq(nb_nodes, h.nb_nodes);
	cr_assert_eq(us.len, h.user_state_len);
	struct serf_msg_push_pull pp;
	cr_assert_eq(serf_msg_decode_push_pull(us.ptr, us.len, &pp), 0);
	cr_assert_geq(pp.nb_status, NB + 1);
	/* and b merges it: every member with its LTime */
	bool done = false;
	st = ops->in_start(b, cp_now_us());
	for (size_t off = 0; !done && off < len;) {
		size_t k = len - off < CP_SYNC_PP_WINDOW ? len - off :
			   CP_SYNC_PP_WINDOW;
		long c = ops->in_feed(b, st, cp_now_us(), out + off, k, &done);
		cr_assert_gt(c, 0, "rc %ld at %zu", c, off);
		off += (size_t)c;
	}
	cr_assert(done);
	ops->in_end(b, st);
	cp_loop_events(b, cp_now_us());
	struct serf_member_info info;
	char name[32];
	for (uint32_t i = 0; i < NB; i++) {
		name_of(name, i);
		cr_assert_eq(serf_member_find(b->serf, name, strlen(name),
					      &info), 0, "%s", name);
		cr_assert_eq(info.status_ltime, LTIME, "%s", name);
	}
	free(out);
	free(win);
}

/* A stream dropped while it sizes gives everything back. */
Test(cp_pp_out, dropped_while_sizing)
{
	const struct cp_sync_pp_ops *ops = cp_sync_core_pp_ops();
	uint8_t *win = malloc(CP_SYNC_PP_WINDOW);

	void *st = ops->out_start(a, false);
	cr_assert_eq(ops->out_fill(a, st, win, CP_SYNC_PP_WINDOW), -EAGAIN);
	ops->out_end(a, st);
	cr_assert_eq(a->serf->pp_enc_busy, 0);
	/* the next one is whole */
	st = ops->out_start(a, false);
	size_t len = 0;
	long n;
	while ((n = ops->out_fill(a, st, win, CP_SYNC_PP_WINDOW)) != 0) {
		cr_assert(n > 0 || n == -EAGAIN, "rc %ld", n);
		len += n > 0 ? (size_t)n : 0;
	}
	ops->out_end(a, st);
	cr_assert_gt(len, (size_t)NB * 20);
	free(win);
}
