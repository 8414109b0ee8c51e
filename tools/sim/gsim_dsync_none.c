/* SPDX-License-Identifier: MIT */
/* Until swim_dsync.c is linked: --sync delta is refused at run time. */
#include <stdio.h>

#include "gsim_dsync.h"

int
gsim_dsync_attach(struct sim *sim, const struct gsim_opt *o,
		  struct gsim_result *r)
{
	(void)sim;
	(void)r;
	if (o->sync != GSIM_SYNC_DELTA)
		return 0;
	fprintf(stderr, "gossip-sim: --sync delta: not in this build\n");
	return -1;
}

void
gsim_dsync_detach(void)
{
}
