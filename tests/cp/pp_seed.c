/* SPDX-License-Identifier: MIT */
/*
 * A push/pull seed for scale tests: a bare core holding N synthetic alive
 * members ("m-<i>" at 127.a.b.c:7946, three short tags) behind a streamed
 * sync engine on 127.0.0.1. Prints its port, then answers push/pulls
 * until killed or max seconds pass. It sends no UDP at all.
 *
 *   pp_seed N [MAX_SECONDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "pp_peer.h"

int
main(int argc, char **argv)
{
	struct pp_peer p;
	struct pp_peer *ps[1] = {&p};
	uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 1000;
	int secs = argc > 2 ? atoi(argv[2]) : 120;
	int epfd = epoll_create1(0);

	if (epfd < 0 || secs <= 0)
		return 2;
	pp_peer_init(&p, epfd, "seed", true, 0);
	pp_peer_fill(&p, "m", n);
	printf("%u\n", (unsigned)cp_sync_port(p.sync));
	fflush(stdout);
	pp_peer_pump(epfd, ps, 1, secs * 1000, NULL);
	pp_peer_fini(&p);
	close(epfd);
	return 0;
}
