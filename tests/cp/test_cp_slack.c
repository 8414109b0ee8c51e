/* SPDX-License-Identifier: MIT */
/*
 * What an idle daemon does on each wakeup, and which timers may wake it
 * (control/cp_loop.h, cp_mem.h): housekeeping timers (the Serf layer's
 * reaps and reconnects, the agent's snapshot) are lax, running on the
 * first wakeup after they are due and waking the loop only at due +
 * one probe interval; a Serf query of ours makes the Serf layer strict
 * until it ends; a snapshot equal to the one out is not published again
 * before a probe interval; malloc keeps freed buffers in the heap.
 * Real daemons on 127.0.0.1; waits are bounded and assert outcomes,
 * never speed.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cp.h"
#include "cp_fixture.h"
#include "cp_loop.h"
#include "cp_mem.h"
#include "cp_rpc.h"
#include "cp_tmpdir.h"
#include "dp.h"
#include "dp_internal.h"
#include "serf.h"

/* The drop-counter check's slack (cp_loop.c's CP_STATS_PERIOD_US). */
#define STATS_PERIOD_US 10000000ull

static uint64_t
min_us(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* A daemon whose Serf reconnect timer fires every 100 ms. */
static struct cp *
daemon_fast_reconnect(const char *name)
{
	static char bind[32];
	static char *argv[] = {"gossipd", "--name", NULL, "--bind", bind,
			       "--log-level", "warn", "--reconnect-interval",
			       "100ms"};

	argv[2] = (char *)name;
	snprintf(bind, sizeof(bind), "127.0.0.1:%u", cp_fx_free_port());
	return cp_fx_daemon_argv(9, argv, false);
}

/* Turn the loop until the core's next timer (the probe, a probe interval
 * apart) lies after Serf's 100 ms reconnect: right after a probe tick.
 * Each turn sleeps until a deadline: a few turns, bounded. */
static void
turn_until_probe_after_serf(struct cp *cp)
{
	for (int i = 0; i < 20; i++) {
		cp_loop_once(cp);
		if (swim_next_deadline(cp->swim) >
		    serf_next_deadline(cp->serf))
			return;
	}
	cr_assert_fail("the probe never came after the reconnect");
}

/* Wait (bounded) until the clock passes t. */
static void
sleep_past(uint64_t t)
{
	for (int i = 0; i < 3000 && cp_now_us() <= t; i++)
		usleep(1000);
	cr_assert_gt(cp_now_us(), t);
}

Test(cp_slack, the_lax_bound_saturates)
{
	cr_assert_eq(cp_loop_lax_us(100, 50), 150);
	cr_assert_eq(cp_loop_lax_us(0, 1000000), 1000000);
	cr_assert_eq(cp_loop_lax_us(UINT64_MAX, 1), UINT64_MAX,
		     "not armed stays not armed");
	cr_assert_eq(cp_loop_lax_us(UINT64_MAX - 10, 20), UINT64_MAX);
}

Test(cp_slack, the_deadline_is_strict_or_lax_plus_slack)
{
	struct cp *cp = daemon_fast_reconnect("s1");
	uint64_t serf_us, lax, want;

	turn_until_probe_after_serf(cp);
	cr_assert_eq(cp_loop_slack_us(cp), cp->probe_interval_us);
	cr_assert_not(cp_serf_has_query(cp));
	serf_us = serf_next_deadline(cp->serf);
	cr_assert_neq(serf_us, UINT64_MAX);
	/* no agent, no metrics: Serf and the drop check are the lax ones */
	lax = min_us(serf_us + cp->probe_interval_us,
		     cp->stats_next_us + STATS_PERIOD_US);
	cr_assert_eq(cp_loop_lax_deadline(cp), lax);
	want = min_us(cp_loop_strict_deadline(cp), lax);
	cr_assert_eq(cp_loop_next_deadline(cp), want);
	/* Serf is not strict: its own time wakes nobody */
	cr_assert_gt(cp_loop_strict_deadline(cp), serf_us);
	cp_fx_daemon_delete(cp);
}

/* Due 100 ms after its last run, the reconnect timer (lax) neither wakes
 * the loop at its time nor waits past it + slack; the first wakeup after
 * it is due runs it. */
Test(cp_slack, a_lax_timer_rides_on_the_next_wakeup, .timeout = 30)
{
	struct cp *cp = daemon_fast_reconnect("s2");
	uint64_t due, next, strict;

	turn_until_probe_after_serf(cp);
	due = serf_next_deadline(cp->serf);
	strict = cp_loop_strict_deadline(cp);
	next = cp_loop_next_deadline(cp);
	/* a lone daemon's core: the probe, within a probe interval */
	cr_assert_gt(strict, due);
	cr_assert_leq(strict, due + cp->probe_interval_us);
	cr_assert_eq(next, strict, "it rides on the strict wakeup");
	cr_assert_leq(next, due + cp->probe_interval_us,
		      "never later than due + slack");
	sleep_past(due);
	/* whatever wakes the loop now (here: the call) runs it, and the
	 * next run is a reconnect interval later */
	cp_loop_once(cp);
	cr_assert_gt(serf_next_deadline(cp->serf), due);
	cr_assert_geq(serf_next_deadline(cp->serf), due + 100000);
	cp_fx_daemon_delete(cp);
}

/* A query of ours ends at its deadline: the Serf layer is strict while
 * it is out, and lax again once SERF_EV_QUERY_DONE came. */
Test(cp_slack, a_query_of_ours_makes_serf_strict, .timeout = 30)
{
	struct cp *cp = daemon_fast_reconnect("s3");
	struct cp_rpc_query q = {.name = "ping", .timeout_us = 300000};
	uint64_t handle, end;

	for (int i = 0; i < 2; i++)
		cp_loop_once(cp);
	cr_assert_eq(cp_serf_query(cp, &q, &handle), 0);
	cr_assert(cp_serf_has_query(cp));
	cr_assert_leq(cp_loop_strict_deadline(cp),
		      serf_next_deadline(cp->serf));
	cr_assert_leq(cp_loop_next_deadline(cp),
		      serf_next_deadline(cp->serf));
	end = cp_now_us() + 10000000;
	while (cp_serf_has_query(cp) && cp_now_us() < end)
		cp_loop_once(cp);
	cr_assert_not(cp_serf_has_query(cp), "SERF_EV_QUERY_DONE came");
	cr_assert_eq(cp_loop_lax_deadline(cp),
		     min_us(serf_next_deadline(cp->serf) +
			    cp->probe_interval_us,
			    cp->stats_next_us + STATS_PERIOD_US));
	cp_fx_daemon_delete(cp);
}

/* The agent's snapshot tick (every 500 ms) is lax too. */
Test(cp_slack, the_snapshot_tick_is_lax)
{
	char dir[64], path[128], bind[32];
	char *argv[] = {"gossipd", "--name", "s4", "--bind", bind,
			"--log-level", "warn", "--snapshot", path};
	struct cp *cp;
	uint64_t agent;

	cp_tmp_make(dir, sizeof(dir), "cp_slack");
	snprintf(path, sizeof(path), "%s/snap", dir);
	snprintf(bind, sizeof(bind), "127.0.0.1:%u", cp_fx_free_port());
	cp = cp_fx_daemon_argv(9, argv, true);
	for (int i = 0; i < 2; i++)
		cp_loop_once(cp);
	agent = cp_agent_next_deadline(cp);
	cr_assert_neq(agent, UINT64_MAX);
	cr_assert_leq(cp_loop_lax_deadline(cp),
		      agent + cp->probe_interval_us);
	cr_assert_eq(cp_loop_lax_deadline(cp),
		     min_us(min_us(agent, serf_next_deadline(cp->serf)) +
			    cp->probe_interval_us,
			    cp->stats_next_us + STATS_PERIOD_US));
	cp_fx_daemon_delete(cp);
	cp_tmp_remove(dir);
}

/* The snapshot a lone daemon publishes does not change: after the first
 * one it goes out again only once a probe interval passed, and then with
 * the name copied right. */
Test(cp_slack, an_unchanged_snapshot_is_not_copied_again, .timeout = 30)
{
	struct cp *cp = cp_fx_daemon_new("snapshot-node");
	struct dp_snapshot snap;
	uint64_t gen0, gen;

	cp_loop_once(cp);
	gen0 = atomic_load(&cp->dp->pub.gen);
	cr_assert_geq(gen0, 1, "the first one went out");
	cp->publish_next_us = 0;	/* due now */
	cp_loop_once(cp);
	cr_assert_eq(atomic_load(&cp->dp->pub.gen), gen0, "equal: kept");
	sleep_past(cp_now_us() + cp->probe_interval_us);
	cp->publish_next_us = 0;
	cp_loop_once(cp);
	cr_assert_eq(atomic_load(&cp->dp->pub.gen), gen0 + 1,
		     "once a probe interval all the same");
	gen = 0;
	cr_assert(dp_snap_read(&cp->dp->pub, &gen, &snap));
	cr_assert_str_eq(snap.name, "snapshot-node");
	cp_fx_daemon_delete(cp);
}

/* The ack payload comes from a cache while the coordinate is equal (most
 * wakeups): always the bytes an encoding of the coordinate gives. */
Test(cp_slack, the_ack_payload_follows_the_coordinate)
{
	struct cp *cp = cp_fx_daemon_new("s7");
	struct serf_coord *c = (struct serf_coord *)serf_coordinate(cp->serf);
	uint8_t a[256], b[256], first[256];
	size_t na, nfirst;
	int n;

	cr_assert_not_null(c);
	nfirst = cp_serf_ack_payload(cp, first, sizeof(first));
	na = cp_serf_ack_payload(cp, a, sizeof(a));	/* cached */
	n = serf_coord_encode_payload(c, b, sizeof(b));
	cr_assert_gt(n, 0);
	cr_assert_eq(na, (size_t)n);
	cr_assert_eq(nfirst, na);
	cr_assert_arr_eq(a, b, na);
	cr_assert_arr_eq(first, b, na);
	/* the coordinate moves (an RTT sample would): new bytes */
	c->vec[0] += 0.25;
	c->height += 0.001;
	na = cp_serf_ack_payload(cp, a, sizeof(a));
	n = serf_coord_encode_payload(c, b, sizeof(b));
	cr_assert_eq(na, (size_t)n);
	cr_assert_arr_eq(a, b, na);
	cr_assert(na != nfirst || memcmp(a, first, na) != 0, "not the old");
	/* too small a buffer: no copy past it, as the encoder */
	cr_assert_eq(cp_serf_ack_payload(cp, a, 4), 0);
	cp_fx_daemon_delete(cp);
}

/* Counted: every wait, and how it ended. */
Test(cp_slack, the_loop_counts_its_wakeups, .timeout = 30)
{
	struct cp *cp = cp_fx_daemon_new("s6");
	struct cp_loop_stats a, b;

	cp_loop_once(cp);
	cp_loop_get_stats(&a);
	for (int i = 0; i < 3; i++)
		cp_loop_once(cp);
	cp_loop_get_stats(&b);
	cr_assert_eq(b.nb_turns - a.nb_turns, 3);
	cr_assert_leq((b.nb_timeouts - a.nb_timeouts) +
		      (b.nb_events - a.nb_events), 3);
	cp_fx_daemon_delete(cp);
}

#if defined(__SANITIZE_ADDRESS__)
#define CP_SLACK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CP_SLACK_ASAN 1
#endif
#endif

/* 600 KiB, the size class of a sync buffer: with cp_mem_init it comes
 * from the heap, and freeing it neither trims the heap (brk) nor gives
 * the pages back, so the next one costs no syscall and no fault. */
Test(cp_slack, malloc_keeps_a_freed_buffer_in_the_heap)
{
#ifdef CP_SLACK_ASAN
	cr_skip_test("ASan's allocator ignores mallopt");
#else
	size_t len = 600u << 10;
	char *p, *q;
	void *top;

	cr_assert_eq(cp_mem_init(), 0);
	p = malloc(len);
	cr_assert_not_null(p);
	memset(p, 1, len);
	top = sbrk(0);
	cr_assert(p < (char *)top, "from the heap, not mmap");
	free(p);
	cr_assert_eq(sbrk(0), top, "not trimmed");
	q = malloc(len);
	cr_assert_not_null(q);
	cr_assert_eq(sbrk(0), top, "no brk to grow back");
	cr_assert(q < (char *)top);
	free(q);
#endif
}

/* Without it (glibc's defaults), the same buffer is mmapped: the test
 * above would fail if cp_mem_init did nothing. */
Test(cp_slack, without_it_the_buffer_is_mapped)
{
#ifdef CP_SLACK_ASAN
	cr_skip_test("ASan's allocator ignores mallopt");
#else
	char *p = malloc(600u << 10);

	cr_assert_not_null(p);
	cr_assert(p > (char *)sbrk(0), "mmapped above the heap");
	free(p);
#endif
}
