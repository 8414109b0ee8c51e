/* SPDX-License-Identifier: MIT */
/*
 * The doorbells that let control and the socket threads sleep in the
 * kernel (dp_park / dp_unpark / dp_bell_fd, dp_lcore_kick): a packet queued
 * while control is parked rings once per nap and never when control is
 * awake, a producer racing a parking consumer never loses a wakeup, and a
 * socket thread asleep with no timeout is woken by control's packets, by a
 * datagram (which then rings control) and by stop(). Waits are bounded
 * (5 s) and assert that something happened, never how fast.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dp.h"
#include "dp_internal.h"
#include "dp_test_msgs.h"
#include "dp_test_util.h"

#define WAIT_MS 5000
/* Ping-pong rounds of the race test: each one parks and wakes once. */
#define RACE_ROUNDS 20000

/* The null backend: rings and doorbell, the lcore side played by hand. */
static struct dp *
null_dp(void)
{
	struct dp_cfg cfg = { .nb_lcores = 1, .ring_size = 64 };
	char err[128] = "";
	struct dp *dp = dp_new("null", &cfg, err, sizeof(err));

	cr_assert_not_null(dp, "dp_new: %s", err);
	return dp;
}

static void
pkt_fill(struct dp_pkt *p, unsigned seq)
{
	dp_test_pkt_fill(p, dp_test_lo, 7946, &seq, sizeof(seq));
}

/* Is the bell readable within ms? */
static bool
bell_wait(struct dp *dp, int ms)
{
	struct pollfd pfd = { .fd = dp_bell_fd(dp), .events = POLLIN };

	return poll(&pfd, 1, ms) == 1 && (pfd.revents & POLLIN);
}

Test(dp_idle, bell_rings_once_per_nap_and_never_when_awake)
{
	struct dp *dp = null_dp();
	struct dp_pkt in[4], out[4];

	cr_assert_geq(dp_bell_fd(dp), 0);
	/* awake control: the lcore never writes the fd */
	pkt_fill(&in[0], 1);
	cr_assert_eq(dp_lcore_to_control(&dp->lcore[0], in, 1), 1);
	cr_assert_not(bell_wait(dp, 0));
	cr_assert_eq(dp_bell_rung(dp), 0);
	/* a packet waits: parking is refused, and leaves control awake */
	cr_assert_not(dp_park(dp));
	cr_assert_eq(atomic_load(&dp->cp_bell.is_parked), 0);
	cr_assert_eq(dp_recv(dp, out, 4), 1);
	/* parked on empty rings: the first packet rings, the next do not */
	cr_assert(dp_park(dp));
	pkt_fill(&in[0], 2);
	pkt_fill(&in[1], 3);
	cr_assert_eq(dp_lcore_to_control(&dp->lcore[0], in, 1), 1);
	cr_assert_eq(dp_lcore_to_control(&dp->lcore[0], &in[1], 1), 1);
	cr_assert(bell_wait(dp, 0));
	cr_assert_eq(dp_bell_rung(dp), 1);
	dp_unpark(dp);
	dp_bell_clear(dp);
	cr_assert_not(bell_wait(dp, 0), "dp_bell_clear resets it");
	cr_assert_eq(dp_recv(dp, out, 4), 2);
	cr_assert_eq(memcmp(out[1].data, in[1].data, sizeof(unsigned)), 0);
	/* unparked again: silent */
	cr_assert_eq(dp_lcore_to_control(&dp->lcore[0], in, 1), 1);
	cr_assert_eq(dp_bell_rung(dp), 1);
	dp_delete(dp);
}

Test(dp_idle, a_full_ring_is_not_a_ring_of_the_bell)
{
	struct dp *dp = null_dp();
	struct dp_pkt p;
	unsigned n = 0;

	pkt_fill(&p, 0);
	while (dp_lcore_to_control(&dp->lcore[0], &p, 1) == 1 && n < 1000)
		n++;
	cr_assert_lt(n, 1000, "the ring fills");
	cr_assert_not(dp_park(dp), "a full ring is work: no sleep");
	cr_assert_eq(dp_lcore_to_control(&dp->lcore[0], &p, 1), 0);
	cr_assert_eq(dp_bell_rung(dp), 0);
	dp_delete(dp);
}

struct race {
	struct dp *dp;
	_Atomic unsigned consumed;	/* packets control took so far */
	_Atomic bool failed;		/* consumer gave up: stop producing */
};

/* The lcore: one packet, then wait until control took it, RACE_ROUNDS
 * times, with a varying pause so that packets land before, during and
 * after control's park. */
static void *
race_producer(void *arg)
{
	struct race *r = arg;
	struct dp_pkt p;

	for (unsigned i = 0; i < RACE_ROUNDS; i++) {
		uint64_t end = dp_test_now_ms() + WAIT_MS;

		for (unsigned spin = 0; spin < (i * 7919u) % 2000u; spin++)
			atomic_signal_fence(memory_order_seq_cst);
		pkt_fill(&p, i);
		while (dp_lcore_to_control(&r->dp->lcore[0], &p, 1) != 1)
			sched_yield();
		while (atomic_load(&r->consumed) <= i &&
		       dp_test_now_ms() < end && !atomic_load(&r->failed))
			sched_yield();
		if (atomic_load(&r->consumed) <= i)
			return NULL;
	}
	return NULL;
}

Test(dp_idle, no_lost_wakeup_when_a_packet_races_the_park, .timeout = 60)
{
	struct race r = { .dp = null_dp() };
	struct dp_pkt out[DP_BURST];
	unsigned got = 0, nb_slept = 0, nb_parks = 0;
	pthread_t th;

	cr_assert_eq(pthread_create(&th, NULL, race_producer, &r), 0);
	while (got < RACE_ROUNDS) {
		unsigned n = dp_recv(r.dp, out, DP_BURST);

		if (n > 0) {
			cr_assert_eq(memcmp(out[0].data, &got, sizeof(got)), 0);
			got += n;
			atomic_store(&r.consumed, got);
			continue;
		}
		/* control's other work between draining and sleeping: the
		 * window where a packet lands unseen unless dp_park looks */
		for (unsigned spin = 0; spin < (got * 104729u) % 3000u; spin++)
			atomic_signal_fence(memory_order_seq_cst);
		nb_parks++;
		if (!dp_park(r.dp))
			continue;	/* it came meanwhile: no sleep */
		nb_slept++;
		/* a lost wakeup: the producer waits for us, we for it */
		if (!bell_wait(r.dp, WAIT_MS)) {
			atomic_store(&r.failed, true);
			cr_assert_fail("lost wakeup after %u packets", got);
		}
		dp_unpark(r.dp);
		dp_bell_clear(r.dp);
	}
	pthread_join(th, NULL);
	cr_assert_eq(got, RACE_ROUNDS);
	cr_assert_gt(nb_slept, 0, "control slept at least once");
	/* A producer may ring a park that then finds its packet and does not
	 * sleep (one spare write, drained by the next wait): so at most one
	 * ring per park, not per nap. */
	cr_assert_leq(dp_bell_rung(r.dp), nb_parks, "at most one ring a park");
	dp_delete(r.dp);
}

/* --- the socket backend --- */

/* A socket dataplane on 127.0.0.1:*port (a free one); is_inline: as the
 * daemon makes it, no thread. */
static struct dp *
sock_dp_ring(uint16_t *port, bool is_inline, unsigned ring_size)
{
	struct dp_cfg cfg = { .nb_lcores = 1, .ring_size = ring_size,
			      .is_inline = is_inline };
	char err[128] = "";
	struct dp *dp;
	int fd = dp_test_udp_open(port);

	close(fd);
	cfg.bind.ip_len = 4;
	memcpy(cfg.bind.ip, "\x7f\x00\x00\x01", 4);
	cfg.bind.port = *port;
	dp = dp_new("socket", &cfg, err, sizeof(err));
	cr_assert_not_null(dp, "dp_new: %s", err);
	return dp;
}

static struct dp *
sock_dp(uint16_t *port, bool is_inline)
{
	return sock_dp_ring(port, is_inline, 256);
}

/* Wait (bounded) until the socket thread is asleep in poll(). */
static void
wait_asleep(struct dp *dp)
{
	uint64_t end = dp_test_now_ms() + WAIT_MS;

	while (atomic_load(&dp->lcore[0].is_parked) == 0 &&
	       dp_test_now_ms() < end)
		usleep(1000);
	cr_assert_eq(atomic_load(&dp->lcore[0].is_parked), 1,
		     "an idle socket thread sleeps");
}

Test(dp_idle, datagram_wakes_the_thread_and_rings_parked_control)
{
	uint16_t port, cport;
	struct dp *dp = sock_dp(&port, false);
	int fd = dp_test_udp_open(&cport);
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	struct dp_pkt out;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	wait_asleep(dp);
	cr_assert(dp_park(dp));
	cr_assert_eq(sendto(fd, ack_42, sizeof(ack_42), 0,
			    (struct sockaddr *)&sa, sizeof(sa)),
		     (ssize_t)sizeof(ack_42));
	cr_assert(bell_wait(dp, WAIT_MS), "the datagram rings control");
	dp_unpark(dp);
	dp_bell_clear(dp);
	cr_assert_eq(dp_recv(dp, &out, 1), 1);
	cr_assert_eq(out.len, sizeof(ack_42));
	cr_assert_eq(out.addr.port, cport);
	cr_assert_eq(dp_bell_rung(dp), 1);
	close(fd);
	dp_delete(dp);
}

Test(dp_idle, stop_ends_a_sleep_without_timeout, .timeout = 10)
{
	uint16_t port;

	for (int i = 0; i < 20; i++) {
		struct dp *dp = sock_dp(&port, false);

		/* asleep in poll(fd, -1): only the kick ends it, and
		 * Criterion's timeout fails a dp_delete that hangs */
		wait_asleep(dp);
		dp_delete(dp);
	}
}

/* SigBlk of the thread named comm, from /proc; 0 when not found. */
static unsigned long long
thread_sigblk(const char *comm)
{
	unsigned long long blk = 0;
	char path[96], line[128];
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;

	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL) {
		FILE *f;
		bool is_it = false;

		snprintf(path, sizeof(path), "/proc/self/task/%.32s/status",
			 e->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL) {
			if (strncmp(line, "Name:", 5) == 0)
				is_it = strstr(line, comm) != NULL;
			if (is_it && strncmp(line, "SigBlk:", 7) == 0)
				blk = strtoull(line + 7, NULL, 16);
		}
		fclose(f);
	}
	closedir(d);
	return blk;
}

Test(dp_idle, signals_stay_with_the_caller)
{
	uint16_t port;
	struct dp *dp;
	sigset_t before, after;
	unsigned long long blk;

	pthread_sigmask(SIG_SETMASK, NULL, &before);
	dp = sock_dp(&port, false);
	pthread_sigmask(SIG_SETMASK, NULL, &after);
	/* dp_new gives the caller its mask back ... */
	cr_assert_eq(sigismember(&after, SIGTERM),
		     sigismember(&before, SIGTERM));
	cr_assert_eq(sigismember(&after, SIGINT), sigismember(&before, SIGINT));
	/* ... and its thread blocks them, so they reach control */
	wait_asleep(dp);
	blk = thread_sigblk("dp-sock-0");
	cr_assert(blk & (1ull << (SIGTERM - 1)), "SigBlk %llx", blk);
	cr_assert(blk & (1ull << (SIGINT - 1)), "SigBlk %llx", blk);
	dp_delete(dp);
}

static bool
fd_wait(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, ms) == 1 && (pfd.revents & POLLIN);
}

Test(dp_idle, inline_socket_runs_on_the_callers_thread)
{
	uint16_t port, cport;
	struct dp *dp = sock_dp(&port, true);
	int fd = dp_test_udp_open(&cport);
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	struct dp_snapshot snap;
	struct dp_pkt out;
	uint8_t buf[64];

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memset(&snap, 0, sizeof(snap));
	strcpy(snap.name, "me");
	dp_publish(dp, &snap);
	cr_assert_geq(dp_inline_fd(dp), 0);
	cr_assert_eq(thread_sigblk("dp-sock-0"), 0, "no thread");
	/* gossip: waits in the socket until the caller runs the turn */
	cr_assert_eq(sendto(fd, ack_42, sizeof(ack_42), 0,
			    (struct sockaddr *)&sa, sizeof(sa)),
		     (ssize_t)sizeof(ack_42));
	cr_assert(fd_wait(dp_inline_fd(dp), WAIT_MS));
	cr_assert_eq(dp_recv(dp, &out, 1), 0);
	dp_inline_run(dp, true);
	cr_assert_eq(dp_recv(dp, &out, 1), 1);
	cr_assert_eq(out.addr.port, cport);
	/* a ping to us: acked by the fast path inside the turn */
	cr_assert_eq(sendto(fd, ping_me, sizeof(ping_me), 0,
			    (struct sockaddr *)&sa, sizeof(sa)),
		     (ssize_t)sizeof(ping_me));
	cr_assert(fd_wait(dp_inline_fd(dp), WAIT_MS));
	dp_inline_run(dp, true);
	cr_assert(fd_wait(fd, WAIT_MS), "the ack");
	cr_assert_eq(recv(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(ack_42));
	cr_assert_eq(memcmp(buf, ack_42, sizeof(ack_42)), 0);
	/* dp_send: out at once, no thread to wake, no ring */
	dp_test_pkt_fill(&out, dp_test_lo, cport, ack_42, sizeof(ack_42));
	cr_assert(dp_send(dp, &out));
	cr_assert(fd_wait(fd, WAIT_MS), "sent by dp_send itself");
	cr_assert_eq(recv(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(ack_42));
	cr_assert_eq(dp->nb_sent_now, 1);
	cr_assert_eq(dp->nb_kicks, 0);
	close(fd);
	dp_delete(dp);
}

Test(dp_idle, inline_is_a_no_op_elsewhere)
{
	uint16_t port;
	struct dp *dp = sock_dp(&port, false);		/* threaded */
	struct dp *nd = null_dp();

	cr_assert_eq(dp_inline_fd(dp), -1);
	cr_assert_eq(dp_inline_fd(nd), -1);
	dp_inline_run(dp, true);
	dp_inline_run(nd, true);
	dp_delete(dp);
	dp_delete(nd);
}

/* Send n copies of ack_42 (passed to control) to 127.0.0.1:port. */
static void
send_acks(uint16_t port, unsigned n)
{
	uint16_t cport;
	int fd = dp_test_udp_open(&cport);
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (unsigned i = 0; i < n; i++)
		cr_assert_eq(sendto(fd, ack_42, sizeof(ack_42), 0,
				    (struct sockaddr *)&sa, sizeof(sa)),
			     (ssize_t)sizeof(ack_42));
	close(fd);
}

/* Turns and drains (as control does) until n reached control or the
 * socket had nothing more; @retval packets control got. */
static unsigned
inline_drain(struct dp *dp, unsigned n)
{
	struct dp_pkt out[DP_BURST];
	unsigned got = 0, k;

	for (unsigned turn = 0; turn < 4 * n && got < n; turn++) {
		if (!fd_wait(dp_inline_fd(dp), WAIT_MS))
			break;
		dp_inline_run(dp, true);
		while ((k = dp_recv(dp, out, DP_BURST)) > 0)
			got += k;
	}
	return got;
}

Test(dp_idle, an_inline_turn_takes_what_the_ring_holds)
{
	uint16_t port;
	struct dp *dp = sock_dp_ring(&port, true, 64);	/* 63 slots */
	struct dp_pkt out[DP_BURST];
	struct dp_stats st;

	send_acks(port, 100);
	cr_assert(fd_wait(dp_inline_fd(dp), WAIT_MS));
	/* one turn of 8 bursts would overflow the ring: it takes 1 */
	dp_inline_run(dp, true);
	dp_get_stats(dp, &st);
	cr_assert_eq(st.to_control, DP_BURST);
	cr_assert_eq(st.drop_ring_full, 0);
	cr_assert_eq(dp_recv(dp, out, DP_BURST), DP_BURST);
	cr_assert_eq(dp_recv(dp, out, DP_BURST), 0);
	cr_assert_eq(inline_drain(dp, 100 - DP_BURST), 100 - DP_BURST);
	dp_get_stats(dp, &st);
	cr_assert_eq(st.to_control, 100);
	cr_assert_eq(st.drop_ring_full, 0, "the socket buffer holds the rest");
	dp_delete(dp);
}

static long
minflt(void)
{
	struct rusage ru;

	cr_assert_eq(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_minflt;
}

/* Two 2 KiB slots a page: without the prefault, 200 packets through a
 * fresh 256-slot rx ring fault ~100 pages in, one every second packet. */
Test(dp_idle, an_inline_rx_ring_is_faulted_in_up_front)
{
	uint16_t port;
	struct dp *dp = sock_dp_ring(&port, true, 256);
	long f0;

	send_acks(port, 8);		/* warm the code paths and buffers */
	cr_assert_eq(inline_drain(dp, 8), 8);
	f0 = minflt();
	for (int i = 0; i < 10; i++) {
		send_acks(port, 20);
		cr_assert_eq(inline_drain(dp, 20), 20);
	}
	cr_assert_lt(minflt() - f0, 40, "%ld page faults", minflt() - f0);
	dp_delete(dp);
}
