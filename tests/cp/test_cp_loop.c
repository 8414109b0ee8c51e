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
#include "serf.h"

/* A port free on 127.0.0.1 for both TCP and UDP (best effort). */
static uint16_t
free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	close(fd);
	return ntohs(sa.sin_port);
}

/* A daemon without RPC, as main() builds it. */
static struct cp *
daemon_new(const char *name)
{
	struct cp *cp = calloc(1, sizeof(*cp));
	char bind[32];
	char *argv[] = {"gossipd", "--name", (char *)name, "--bind", bind,
			"--log-level", "warn"};
	char err[256];

	snprintf(bind, sizeof(bind), "127.0.0.1:%u", free_port());
	cp->epfd = -1;
	cp_cfg_default(&cp->cfg);
	cr_assert_eq(cp_cfg_parse(&cp->cfg, 7, argv, err, sizeof(err)), 0);
	cp_log_set_level(CP_LOG_WARN);
	cr_assert_eq(cp_core_init(cp), 0);
	cr_assert_eq(cp_serf_layer_init(cp), 0);
	cr_assert_eq(cp_reactor_init(cp), 0);
	cr_assert_eq(cp_sync_init(cp), 0);
	cr_assert_eq(cp_dp_init(cp), 0);
	return cp;
}

static void
daemon_delete(struct cp *cp)
{
	cp_fini(cp);
	free(cp);
}

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
		seeds[i].port = free_port();
	}
}

Test(cp_loop, start_join_with_no_answer_exits_1)
{
	struct cp *cp = daemon_new("t1");
	struct swim_addr seeds[2];

	dead_seeds(seeds, 2);
	cr_assert_eq(cp_join_start(cp, cp_now_us(), CP_JOIN_START, 0, seeds,
				   2), 0);
	run(cp, NULL, 2000, &cp->is_done);
	cr_assert(cp->is_done);
	cr_assert_eq(cp->exit_code, 1);
	cr_assert_not(cp->is_joined);
	daemon_delete(cp);
}

Test(cp_loop, retry_join_reschedules_and_stops_at_max)
{
	struct cp *cp = daemon_new("t2");

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
	daemon_delete(cp);
}

Test(cp_loop, two_daemons_join_and_leave)
{
	struct cp *a = daemon_new("a");
	struct cp *b = daemon_new("b");
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
	daemon_delete(a);
	daemon_delete(b);
}

Test(cp_loop, second_signal_exits_at_once)
{
	struct cp *cp = daemon_new("t3");

	cp->nb_signals = 1;
	cp_loop_once(cp);
	cr_assert_neq(cp->leave, CP_LEAVE_NONE);
	cp->nb_signals = 2;
	cp_loop_once(cp);
	cr_assert(cp->is_done);
	daemon_delete(cp);
}
