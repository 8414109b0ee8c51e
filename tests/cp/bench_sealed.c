/* SPDX-License-Identifier: MIT */
/*
 * Encrypted full sync at scale on the engine alone (no daemon, no UDP):
 * node A holds n members, a fresh node B joins it by address (one
 * push/pull both ways over loopback, one process, one reactor), with a
 * keyring (B's one frame out, A's state back as sealed chunks) or
 * without (plain streamed, for comparison). Prints one line:
 *   mode n ok merged sync_ms cpu_ms peak_buf_bytes rss_growth_kib
 *
 *   bench_sealed sealed 1000000      bench_sealed plain 1000000
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "pp_peer.h"
#include "swim_sealed_stream.h"

static uint64_t
cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static long
rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static struct swim_keyring *
bench_ring(void)
{
	uint8_t key[32];
	struct swim_keyring *r;

	memset(key, 9, sizeof(key));
	if (sodium_init() < 0)
		abort();
	r = swim_keyring_new(NULL);
	if (r == NULL || swim_keyring_add(r, key, sizeof(key)) != 0)
		abort();
	return r;
}

int
main(int argc, char **argv)
{
	bool sealed = argc > 1 && strcmp(argv[1], "sealed") == 0;
	uint32_t n = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 10000;
	int epfd = epoll_create1(0);
	struct swim_keyring *ring = sealed ? bench_ring() : NULL;
	struct pp_peer a, b;
	struct pp_peer *ps[2] = {&a, &b};
	struct swim_addr to;
	uint64_t t0, c0;
	long r0;

	pp_peer_init_caps(&a, epfd, "a", true, 0, SWIM_CAP_SEALED_STREAM);
	pp_peer_init_caps(&b, epfd, "b", true, 0, SWIM_CAP_SEALED_STREAM);
	if (sealed) {
		cp_sync_set_keyring(a.sync, ring);
		cp_sync_set_keyring(b.sync, ring);
	}
	pp_peer_fill(&a, "m", n);
	pp_peer_addr(&a, &to);
	r0 = rss_kib();
	t0 = cp_now_us();
	c0 = cpu_us();
	cp_sync_push_pull_node(b.sync, t0, &to, NULL, true);
	pp_peer_pump(epfd, ps, 2, 600000, &b.nb_done);
	printf("%s %u %d %u %.1f %.1f %zu %ld\n", sealed ? "sealed" : "plain",
	       n, b.nb_done == 1 && b.last_err == 0, swim_member_count(b.swim),
	       (double)(cp_now_us() - t0) / 1000,
	       (double)(cpu_us() - c0) / 1000,
	       a.peak_buf > b.peak_buf ? a.peak_buf : b.peak_buf,
	       rss_kib() - r0);
	pp_peer_fini(&a);
	pp_peer_fini(&b);
	swim_keyring_delete(ring);
	close(epfd);
	return 0;
}
