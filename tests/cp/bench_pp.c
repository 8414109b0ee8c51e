/* SPDX-License-Identifier: MIT */
/*
 * Push/pull at scale, for scripts/bench-scale.sh: node A holds n members,
 * node B joins it (one push/pull, both ways, over loopback), in one
 * process and one reactor. Prints one line:
 *   mode n ok merged sync_ms cpu_ms peak_buf_bytes rss_growth_kib
 *   max_slice_us state_bytes
 * (max_slice_us: the longest reactor pass, CPU time; state_bytes: A's
 * push/pull message)
 * mode "stream": the streamed path (cp_sync_pp.h); "whole": the path
 * before it (whole message in memory, memberlist's 20 MiB cap).
 *
 *   bench_pp stream 100000
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "pp_peer.h"

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

int
main(int argc, char **argv)
{
	struct pp_peer a, b;
	struct pp_peer *ps[2] = {&a, &b};
	struct swim_addr to;
	bool streamed = argc > 1 && strcmp(argv[1], "stream") == 0;
	uint32_t n = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 10000;
	int epfd = epoll_create1(0);

	if (argc < 3 || epfd < 0) {
		fprintf(stderr, "usage: bench_pp stream|whole N\n");
		return 2;
	}
	pp_peer_init(&a, epfd, "a", streamed, 0);
	pp_peer_init(&b, epfd, "b", streamed, 0);
	pp_peer_fill(&a, "m", n);
	long rss0 = rss_kib();
	uint64_t c0 = cpu_us(), t0 = cp_now_us();
	pp_peer_addr(&a, &to);
	cp_sync_push_pull(b.sync, cp_now_us(), &to, true);
	pp_peer_pump(epfd, ps, 2, 600000, &b.nb_done);
	uint64_t t1 = cp_now_us(), c1 = cpu_us();
	/* let A finish and close (not timed) */
	pp_peer_pump(epfd, ps, 2, 50, NULL);
	size_t peak = a.peak_buf > b.peak_buf ? a.peak_buf : b.peak_buf;
	uint64_t slice = a.max_slice_us;
	printf("%s %u %s %u %.1f %.1f %zu %ld %llu %llu\n",
	       streamed ? "stream" : "whole", n,
	       b.nb_done == 1 && b.last_err == 0 ? "ok" : "FAIL",
	       swim_member_count(b.swim), (t1 - t0) / 1000.0,
	       (c1 - c0) / 1000.0, peak, rss_kib() - rss0,
	       (unsigned long long)slice, (unsigned long long)a.bytes_out);
	pp_peer_fini(&a);
	pp_peer_fini(&b);
	close(epfd);
	return b.nb_done == 1 && b.last_err == 0 ? 0 : 1;
}
