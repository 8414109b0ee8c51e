/* SPDX-License-Identifier: MIT */
/*
 * Scenario 5: a graceful leave shows as left (dead{From: self}, §6.2),
 * never as failed, on every member, and is reaped after the node is gone.
 */
#include "sc.h"

static bool
leave_done(void *ctx, struct sim *sim)
{
	(void)sim;
	return swim_leave_done(ctx);
}

Test(leave, leave_shows_as_left_everywhere, .timeout = 60)
{
	struct sc_track t;
	struct sim *sim = sc_cluster(20, NULL, SIM_MS(10), SIM_S(30));
	unsigned v = 7;
	uint64_t t0;
	int rc;

	sc_track_init(&t, sim);
	sim_run_for(sim, SIM_S(5));
	sc_track_reset(&t);
	sc_track_left(&t, v);
	t0 = sim_now(sim);
	sim_leave(sim, v);
	rc = sim_wait_status(sim, SIM_ANY, v, SWIM_STATUS_LEFT, SIM_S(10));
	sim_result(sim, "leave", "left_everywhere_after",
		   (sim_now(sim) - t0) / 1e6, "s");
	sc_assert(sim, rc == 0, "only %u of %u see n%u left",
		  sim_nb_seeing(sim, v, SWIM_STATUS_LEFT), sim_nb_up(sim) - 1, v);
	/* The daemon stops once its dead{self} has been sent its transmit
	 * limit (swim_leave_done), within serf's BroadcastTimeout of 5 s. */
	t0 = sim_now(sim);
	rc = sc_wait_poll(sim, leave_done, sim_swim(sim, v), SIM_MS(10),
			  SIM_S(5));
	sim_result(sim, "leave", "leave_done_after", (sim_now(sim) - t0) / 1e6,
		   "s");
	sc_assert(sim, rc == 0, "%s", "leave not done within 5 s");
	sim_kill(sim, v);
	/* Left members go after GossipToTheDeadTime (30 s), as memberlist
	 * with its #253 fix does: reaped everywhere, never turned dead. */
	sim_run_for(sim, SIM_S(60));
	for (unsigned i = 0; i < sim_nb_nodes(sim); i++)
		sc_assert(sim, !sim_is_up(sim, i) || sim_status(sim, i, v) < 0,
			  "n%u still lists left n%u 60 s after it stopped",
			  i, v);
	sc_assert(sim, t.m[v].nb_dead == 0 && t.m[v].nb_suspect == 0,
		  "left n%u was suspected %u / declared dead %u times", v,
		  t.m[v].nb_suspect, t.m[v].nb_dead);
	sim_print_counters(sim, "leave");
	sc_track_fini(&t);
	sim_delete(sim);
}
