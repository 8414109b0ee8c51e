/* SPDX-License-Identifier: MIT */
/*
 * An idle daemon's loop does not allocate (house style: nothing
 * allocates in steady state): pings answered on the fast path, acks to
 * control, its timers, the snapshot; each turn of cp_loop_once, once the
 * first turns have sized what they size. malloc, calloc and realloc are
 * counted on the test's thread by wrapping glibc's (this executable
 * only); a sanitizer's allocator is left alone (the test skips). Real
 * daemon on 127.0.0.1; bounded waits, no timed assertion.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cp.h"
#include "cp_fixture.h"
#include "dp.h"
/* ping_me (answered on the fast path), ack_42 (nobody waits for it:
 * to control) */
#include "../dp/dp_test_msgs.h"

#if defined(__SANITIZE_ADDRESS__)
#define CP_NOALLOC_SKIP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CP_NOALLOC_SKIP 1
#endif
#endif
#ifndef __GLIBC__
#define CP_NOALLOC_SKIP 1
#endif

/* Counting is per thread: Criterion's own threads allocate freely.
 * Volatile: the compiler takes malloc for a builtin that reads no
 * global, and would drop the stores around it. */
static _Thread_local volatile bool is_counting;
static _Thread_local volatile unsigned long nb_allocs;

#ifndef CP_NOALLOC_SKIP
/* glibc's allocator under the names it exports for wrappers. */
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t nmemb, size_t size);
void *__libc_realloc(void *ptr, size_t size);

void *
malloc(size_t size)
{
	if (is_counting)
		nb_allocs++;
	return __libc_malloc(size);
}

void *
calloc(size_t nmemb, size_t size)
{
	if (is_counting)
		nb_allocs++;
	return __libc_calloc(nmemb, size);
}

void *
realloc(void *ptr, size_t size)
{
	if (is_counting)
		nb_allocs++;
	return __libc_realloc(ptr, size);
}
#endif

struct sender {
	uint16_t port;
	atomic_int nb_rounds;	/* rounds to send; the test adds some */
	atomic_int nb_sent;	/* rounds sent */
	atomic_bool is_done;
};

/* A ping and an ack each round, 5 ms apart, so each wakes the loop,
 * until the test is done (nb_rounds bounds it anyway). */
static void *
sender_main(void *arg)
{
	struct sender *s = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(s->port) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	while (!atomic_load(&s->is_done)) {
		if (atomic_load(&s->nb_sent) >= atomic_load(&s->nb_rounds)) {
			usleep(1000);
			continue;
		}
		usleep(5000);
		sendto(fd, ping_me, sizeof(ping_me), 0,
		       (struct sockaddr *)&sa, sizeof(sa));
		sendto(fd, ack_42, sizeof(ack_42), 0, (struct sockaddr *)&sa,
		       sizeof(sa));
		atomic_fetch_add(&s->nb_sent, 1);
	}
	close(fd);
	return NULL;
}

/* Turn the loop until control got to_control datagrams (bounded). */
static void
turn_until(struct cp *cp, uint64_t to_control)
{
	uint64_t end = cp_now_us() + 10000000;
	struct dp_stats st;

	do {
		cp_loop_once(cp);
		dp_get_stats(cp->dp, &st);
	} while (st.to_control < to_control && cp_now_us() < end);
	cr_assert_geq(st.to_control, to_control);
}

/* Warm: the startup broadcasts (our own alive, Serf's join) ride on the
 * fast path's acks until their transmit limit, which sizes the
 * dissemination queue's tiers once; the rings are sized, the snapshot
 * is out. */
static void
warm_up(struct cp *cp)
{
	uint64_t end = cp_now_us() + 20000000;
	struct dp_stats st;

	turn_until(cp, 20);
	while (swim_broadcast_queue_len(cp->swim) > 0 && cp_now_us() < end)
		cp_loop_once(cp);
	cr_assert_eq(swim_broadcast_queue_len(cp->swim), 0);
	dp_get_stats(cp->dp, &st);
	cr_assert_geq(st.acks_fast, 1, "pings answered on the fast path");
}

Test(cp_noalloc, an_idle_loop_does_not_allocate, .timeout = 60)
{
#ifdef CP_NOALLOC_SKIP
	cr_skip_test("a sanitizer's allocator (or not glibc)");
#else
	struct cp *cp = cp_fx_daemon_new("me");
	struct sender s = { .port = cp->cfg.bind.port };
	struct dp_stats st;
	unsigned long n;
	pthread_t th;

	atomic_store(&s.nb_rounds, 100000);
	cr_assert_eq(pthread_create(&th, NULL, sender_main, &s), 0);
	warm_up(cp);
	dp_get_stats(cp->dp, &st);
	is_counting = true;
	turn_until(cp, st.to_control + 40);	/* 40 more rounds */
	for (int i = 0; i < 3; i++)	/* and its timers */
		cp_loop_once(cp);
	is_counting = false;
	n = nb_allocs;
	atomic_store(&s.is_done, true);
	pthread_join(th, NULL);
	cr_assert_eq(n, 0, "%lu allocations in an idle loop's turns", n);
	cp_fx_daemon_delete(cp);
#endif
}

/* The counter counts: the test above cannot pass by counting nothing. */
Test(cp_noalloc, the_counter_sees_an_allocation)
{
#ifdef CP_NOALLOC_SKIP
	cr_skip_test("a sanitizer's allocator (or not glibc)");
#else
	void *volatile p;

	nb_allocs = 0;
	is_counting = true;
	p = malloc(64);
	free(p);
	p = calloc(2, 32);
	p = realloc(p, 128);
	is_counting = false;
	free(p);
	cr_assert_eq(nb_allocs, 3, "%lu", nb_allocs);
#endif
}
