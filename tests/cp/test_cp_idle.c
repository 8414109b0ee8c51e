/* SPDX-License-Identifier: MIT */
/*
 * The control loop sleeps (control/cp_loop.c): its epoll timeout is the
 * earliest deadline of the core, the Serf layer, the TCP streams, the
 * snapshot, retry-join, the leave and the stats check, never a 1 ms poll;
 * an idle daemon wakes a few times a second; a datagram wakes it through
 * the dataplane's doorbell; a SIGTERM that arrives while it works ends
 * its next sleep (cp_loop_run), which gives the signal mask back. Real core, Serf, TCP and socket dataplane
 * on 127.0.0.1; waits are bounded and assert outcomes, never speed.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cp.h"
#include "cp_fixture.h"
#include "dp.h"
#include "dp_internal.h"
#include "serf.h"

/* Datagrams of the doorbell test. */
#define NB_PINGS 40

/* A memberlist ack nobody waits for: passed to control, then ignored. */
static const uint8_t ack_42[] = {
	0x02, 0x82, 0xa7, 'P', 'a', 'y', 'l', 'o', 'a', 'd', 0xc0,
	0xa5, 'S', 'e', 'q', 'N', 'o', 0x2a,
};

static uint64_t
min_us(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

Test(cp_idle, timeout_is_the_earliest_deadline_not_1ms)
{
	struct cp *cp = cp_fx_daemon_new("d1");
	uint64_t t, want;

	for (int i = 0; i < 3; i++)
		cp_loop_once(cp);
	cr_assert_eq(cp_sync_next_deadline(cp->sync), UINT64_MAX,
		     "no stream open");
	want = min_us(swim_next_deadline(cp->swim),
		      serf_next_deadline(cp->serf));
	/* the stats check rides on the others (a period of grace) */
	want = min_us(want, cp->stats_next_us + 10000000);
	if (swim_broadcast_queue_len(cp->swim) > 0)	/* piggyback to refresh */
		want = min_us(want, cp->publish_next_us);
	t = cp_loop_next_deadline(cp);
	cr_assert_eq(t, want);
	cr_assert_gt(t, 1000000u);
	cr_assert_neq(t, UINT64_MAX);
	/* ms rounded up, 0 once due */
	cr_assert_eq(cp_loop_timeout_ms(cp, t - 150000), 150);
	cr_assert_eq(cp_loop_timeout_ms(cp, t - 1500), 2);
	cr_assert_eq(cp_loop_timeout_ms(cp, t - 1), 1);
	cr_assert_eq(cp_loop_timeout_ms(cp, t), 0);
	cr_assert_eq(cp_loop_timeout_ms(cp, t + 5), 0);
	/* --retry-join due first; in flight (UINT64_MAX) it waits for its
	 * result instead; a leave stops retrying */
	cp->retry_next_us = t - 50000;
	cr_assert_eq(cp_loop_next_deadline(cp), t - 50000);
	cp->retry_next_us = UINT64_MAX;
	cr_assert_eq(cp_loop_next_deadline(cp), t);
	cp->retry_next_us = t - 50000;
	cp->leave = CP_LEAVE_DEAD;
	cp->leave_start_us = t;		/* cap: t + 5 s */
	cr_assert_eq(cp_loop_next_deadline(cp), t);
	/* the leave's own steps: intent -> dead after a gossip round */
	cp->leave = CP_LEAVE_INTENT;
	cp->leave_start_us = t - 2000000;
	cr_assert_lt(cp_loop_next_deadline(cp), t);
	cr_assert_eq(cp_loop_next_deadline(cp),
		     t - 2000000 + cp->gossip_interval_us + 100000);
	cp->leave = CP_LEAVE_DEAD;
	cp->leave_done_us = t - 2000000;
	cr_assert_eq(cp_loop_next_deadline(cp),
		     min_us(t, t - 2000000 + cp->leave_propagate_us));
	cp->leave = CP_LEAVE_NONE;
	cp->retry_next_us = 0;
	cp_fx_daemon_delete(cp);
}

Test(cp_idle, an_idle_daemon_sleeps, .timeout = 30)
{
	struct cp *cp = cp_fx_daemon_new("d3");
	uint64_t end, gen0;
	unsigned turns = 0;

	cp_loop_once(cp);
	gen0 = atomic_load(&cp->dp->pub.gen);
	end = cp_now_us() + 2000000;
	while (cp_now_us() < end) {
		cp_loop_once(cp);
		turns++;
	}
	/* 1 ms polling made ~2000; the core's timers (probe 1 s, gossip
	 * 200 ms only with something to gossip) make a handful */
	cr_assert_lt(turns, 100, "%u loop turns in 2 s", turns);
	/* the snapshot still goes out, riding on those wakeups */
	cr_assert_geq(atomic_load(&cp->dp->pub.gen) - gen0, 1);
	cp_fx_daemon_delete(cp);
}

struct sender {
	uint16_t port;
	_Atomic bool go;
};

/* Send NB_PINGS acks to the daemon, a few ms apart so that each finds
 * control asleep. */
static void *
sender_main(void *arg)
{
	struct sender *s = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(s->port) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	while (!atomic_load(&s->go))
		usleep(1000);
	for (int i = 0; i < NB_PINGS; i++) {
		usleep(5000);
		sendto(fd, ack_42, sizeof(ack_42), 0, (struct sockaddr *)&sa,
		       sizeof(sa));
	}
	close(fd);
	return NULL;
}

Test(cp_idle, a_datagram_wakes_the_sleeping_loop, .timeout = 30)
{
	struct cp *cp = cp_fx_daemon_new("d4");
	struct sender s = { .port = cp->cfg.bind.port };
	uint64_t end = cp_now_us() + 10000000;
	unsigned turns = 0;
	struct dp_stats st;
	pthread_t th;

	/* the daemon's socket dataplane is inline: the loop waits for the
	 * socket itself (a threaded one rings the bell: test_dp_idle) */
	cr_assert_geq(dp_inline_fd(cp->dp), 0);
	cr_assert_eq(pthread_create(&th, NULL, sender_main, &s), 0);
	cp_loop_once(cp);
	atomic_store(&s.go, true);
	do {
		cp_loop_once(cp);
		turns++;
		dp_get_stats(cp->dp, &st);
	} while (st.to_control < NB_PINGS && cp_now_us() < end);
	pthread_join(th, NULL);
	cr_assert_eq(st.to_control, NB_PINGS, "every datagram reached control");
	/* the loop was awake while the inline turn queued them: no ring
	 * (a write, an epoll turn and a read each, for nothing) */
	cr_assert_eq(dp_bell_rung(cp->dp), 0);
	/* 5 ms apart while the idle loop's timers are ~1 s apart: each
	 * datagram woke it (or came with the previous one) */
	cr_assert_geq(turns, NB_PINGS / 2, "%u turns", turns);
	cp_fx_daemon_delete(cp);
}

static struct cp *sig_cp;

static void
on_term(int sig)
{
	(void)sig;
	sig_cp->nb_signals++;
}

/* SIGTERM to the control thread only, while it is busy or asleep. */
static void *
killer_main(void *arg)
{
	pthread_t *control = arg;

	usleep(300000);
	pthread_kill(*control, SIGTERM);
	return NULL;
}

Test(cp_idle, sigterm_ends_the_sleep_and_leaves, .timeout = 30)
{
	struct cp *cp = cp_fx_daemon_new("d5");
	struct sigaction sa;
	pthread_t self = pthread_self(), th;
	sigset_t mask;

	sig_cp = cp;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGTERM, &sa, NULL), 0);
	cr_assert_eq(pthread_create(&th, NULL, killer_main, &self), 0);
	/* blocked outside epoll_pwait: without it the signal would wait
	 * forever and Criterion's timeout would fail the test */
	cr_assert_eq(cp_loop_run(cp), 0);
	pthread_join(th, NULL);
	cr_assert_eq(cp->nb_signals, 1);
	cr_assert_eq(cp->leave, CP_LEAVE_DEAD);
	pthread_sigmask(SIG_SETMASK, NULL, &mask);
	cr_assert_not(sigismember(&mask, SIGTERM), "the mask is given back");
	cp_fx_daemon_delete(cp);
}

Test(cp_idle, the_stats_check_needs_no_wakeup_of_its_own)
{
	struct cp *cp = cp_fx_daemon_new("d6");
	uint64_t t, now;

	for (int i = 0; i < 3; i++)
		cp_loop_once(cp);
	t = cp_loop_next_deadline(cp);
	cr_assert_neq(t, UINT64_MAX);
	/* due before the next probe: checked on that wakeup, not its own */
	cp->stats_next_us = t - 50000;
	cr_assert_eq(cp_loop_next_deadline(cp), t);
	/* nothing else woke the loop for a whole period: it wakes it */
	cp->stats_next_us = t - 10000000 - 50000;
	cr_assert_eq(cp_loop_next_deadline(cp), t - 50000);
	/* and any wakeup after it is due runs it and sets the next one */
	now = cp_now_us();
	cp->stats_next_us = now - 1;
	cp_loop_once(cp);
	cr_assert_geq(cp->stats_next_us, now + 10000000);
	cp_fx_daemon_delete(cp);
}

Test(cp_idle, the_inline_ring_is_one_turn_deep)
{
	struct cp *cp = cp_fx_daemon_new("d7");

	/* (256 - 1) / DP_BURST bursts a turn, emptied after each: 0.5 MiB
	 * instead of 2 (faulted in at start: dp_socket.c) */
	cr_assert_geq(dp_inline_fd(cp->dp), 0);
	cr_assert_eq(cp->dp->cfg.ring_size, 256);
	cp_fx_daemon_delete(cp);
}
