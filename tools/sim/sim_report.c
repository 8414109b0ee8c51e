/* SPDX-License-Identifier: MIT */
/*
 * The results printer: every measured figure of a scenario goes out as
 * one greppable line, so the soak script and the closing note can
 * quote them ("grep SIM-RESULT meson-logs/testlog.txt").
 */
#include "sim_priv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static void
sim_result_line(FILE *f, const struct sim *sim, const char *scenario,
		const char *key, double value, const char *unit)
{
	fprintf(f, "SIM-RESULT %s %s=%.6g %s seed=%" PRIu64 "\n", scenario,
		key, value, unit, sim->seed);
}

void
sim_result(const struct sim *sim, const char *scenario, const char *key,
	   double value, const char *unit)
{
	const char *path = getenv("GOSSIPD_SIM_RESULTS");

	sim_result_line(stdout, sim, scenario, key, value, unit);
	fflush(stdout);
	if (path != NULL && *path != '\0') {
		FILE *f = fopen(path, "a");

		if (f != NULL) {
			sim_result_line(f, sim, scenario, key, value, unit);
			fclose(f);
		}
	}
}

void
sim_print_counters(const struct sim *sim, const char *scenario)
{
	const struct sim_counters *c = &sim->cnt;

	printf("SIM-COUNTERS %s seed=%" PRIu64 " nodes=%u up=%u t=%.3fs "
	       "events=%" PRIu64 " ticks=%" PRIu64 " pkts=%" PRIu64
	       " dropped=%" PRIu64 " delivered=%" PRIu64 " to_down=%" PRIu64
	       " bytes=%" PRIu64 " push_pulls=%" PRIu64 " pp_failed=%" PRIu64
	       " pp_merge_errs=%" PRIu64 " tcp_pings=%" PRIu64
	       " tcp_pings_failed=%" PRIu64 " stuck_deadlines=%" PRIu64
	       " view_mismatches=%" PRIu64 "\n",
	       scenario, sim->seed, sim->nb_nodes, sim->nb_up,
	       (double)sim->now_us / 1e6, c->events, c->ticks,
	       c->packets_sent, c->packets_dropped, c->packets_delivered,
	       c->packets_to_down, c->bytes_sent, c->push_pulls,
	       c->push_pulls_failed, c->push_pull_merge_errs, c->tcp_pings,
	       c->tcp_pings_failed, c->stuck_deadlines, c->view_mismatches);
	fflush(stdout);
}
