/* SPDX-License-Identifier: MIT */
/*
 * gossip-sim: run a simulated pool and print what it measured. Exit 0
 * after a run, 2 on a bad flag, 1 when the run could not be built.
 */
#include <stdio.h>

#include "gsim.h"

int
main(int argc, char **argv)
{
	struct gsim_opt o;
	struct gsim_result r;
	int rc = gsim_opt_parse(&o, argc, argv);

	if (rc == 1)
		return 0;	/* --help, --version */
	if (rc != 0)
		return 2;
	if (gsim_run(&o, &r) != 0) {
		fprintf(stderr, "gossip-sim: could not build a pool of %u "
			"(out of memory?)\n", o.members);
		return 1;
	}
	return gsim_print(&o, &r) == 0 ? 0 : 1;
}
