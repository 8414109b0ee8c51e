/* SPDX-License-Identifier: MIT */
/*
 * The daemon's loop bookkeeping (control/cp_loop.c) with the real core,
 * Serf layer, TCP sync and socket dataplane on 127.0.0.1, driven one
 * iteration at a time: --join outcomes (exit 1 when no seed answers),
 * --retry-join rescheduling and its cap, the graceful leave on a signal
 * (and the immediate exit on a second one), and two in-process daemons
 * joining each other over real sockets.
 */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cp.h"
#include "cp_fixture.h"
#include "serf.h"

/* Iterate until *flag or ms pass. */
static void
run(struct cp *a, struct cp *b, int ms, const bool *flag)
{
	uint64_t end = cp_now_us() + (uint64_t)ms * 1000;

	while (cp_now_us() < end && (flag == NULL || !*flag)) {
		cp_loop_once(a);
		if (b != NULL)
			cp_loop_once(b);
	}
}

/* Two ports nobody listens on. */
static void
dead_seeds(struct swim_addr *seeds, unsigned nb)
{
	for (unsigned i = 0; i < nb; i++) {
		cp_addr_parse("127.0.0.1:1", 0, &seeds[i]);
		seeds[i].port = cp_fx_free_port();
	}
}

Test(cp_loop, start_join_with_no_answer_exits_1)
{
	struct cp *cp = cp_fx_daemon_new("t1");
	struct swim_addr seeds[2];

	dead_seeds(seeds, 2);
	cr_assert_eq(cp_join_start(cp, cp_now_us(), CP_JOIN_START, 0, seeds,
				   2), 0);
	run(cp, NULL, 2000, &cp->is_done);
	cr_assert(cp->is_done);
	cr_assert_eq(cp->exit_code, 1);
	cr_assert_not(cp->is_joined);
	cp_fx_daemon_delete(cp);
}

Test(cp_loop, retry_join_reschedules_and_stops_at_max)
{
	struct cp *cp = cp_fx_daemon_new("t2");

	dead_seeds(cp->cfg.retry_join, 1);
	cp->cfg.nb_retry_join = 1;
	cp->cfg.retry_interval_us = 50000;
	cp->cfg.retry_max = 3;
	cp->retry_next_us = cp_now_us();
	run(cp, NULL, 200, NULL);
	cr_assert_geq(cp->retry_attempts, 2, "retried every 50 ms");
	run(cp, NULL, 600, NULL);
	cr_assert_eq(cp->retry_attempts, 3, "stops at --retry-max");
	cr_assert_eq(cp->retry_next_us, 0);
	cr_assert_not(cp->is_done, "retry-join never stops the daemon");
	cp_fx_daemon_delete(cp);
}

Test(cp_loop, two_daemons_join_and_leave)
{
	struct cp *a = cp_fx_daemon_new("a");
	struct cp *b = cp_fx_daemon_new("b");
	struct serf_member_info m;
	uint64_t t0;

	cr_assert_eq(cp_join_start(b, cp_now_us(), CP_JOIN_START, 0,
				   &a->cfg.advertise, 1), 0);
	run(a, b, 2000, &b->is_joined);
	cr_assert(b->is_joined);
	run(a, b, 500, NULL);
	cr_assert_eq(serf_member_find(a->serf, "b", 1, &m), 0);
	cr_assert_eq(m.status, SERF_STATUS_ALIVE);
	cr_assert_eq(serf_member_find(b->serf, "a", 1, &m), 0);
	cr_assert_eq(m.status, SERF_STATUS_ALIVE);
	/* SIGTERM to b: intent, dead, then done within the 5 s cap. */
	t0 = cp_now_us();
	b->nb_signals = 1;
	run(a, b, 5500, &b->is_done);
	cr_assert(b->is_done);
	cr_assert_eq(b->exit_code, 0);
	cr_assert_lt(cp_now_us() - t0, 5200000u);
	run(a, NULL, 300, NULL);
	cr_assert_eq(serf_member_find(a->serf, "b", 1, &m), 0);
	cr_assert_eq(m.status, SERF_STATUS_LEFT, "a saw b leave: %d",
		     m.status);
	cp_fx_daemon_delete(a);
	cp_fx_daemon_delete(b);
}

Test(cp_loop, second_signal_exits_at_once)
{
	struct cp *cp = cp_fx_daemon_new("t3");

	cp->nb_signals = 1;
	cp_loop_once(cp);
	cr_assert_neq(cp->leave, CP_LEAVE_NONE);
	cp->nb_signals = 2;
	cp_loop_once(cp);
	cr_assert(cp->is_done);
	cp_fx_daemon_delete(cp);
}
