/* SPDX-License-Identifier: MIT */
/*
 * Churn by stopped processes (a long GC pause, SIGSTOP): the node keeps
 * its state but runs nothing while the cluster moves on.
 *  - A 2 s pause: it misses probes and is suspected, but on resume it
 *    reads the accusation and refutes well within Lifeguard's minimum
 *    suspicion timeout (4 s at N = 10): never dead.
 *  - A 60 s pause: everyone declares it dead. On resume it first reads
 *    what waited in its socket buffer, among it the dead{it} gossiped to
 *    the dead for GossipToTheDeadTime (§6.4), and refutes at once (its
 *    overdue push/pull would tell it too, §6.3); it is alive again.
 */
#include "sc.h"

#define PAUSE_N 10

struct pause_wait {
	unsigned v;
};

/* Every other node has v alive at v's own incarnation. */
static bool
pause_alive_everywhere(void *ctx, struct sim *sim)
{
	const struct pause_wait *w = ctx;
	uint32_t inc = swim_self_incarnation(sim_swim(sim, w->v));
	unsigned o;

	for (o = 0; o < PAUSE_N; o++) {
		if (o != w->v && (sim_status(sim, o, w->v) != SWIM_STATUS_ALIVE ||
				  sim_incarnation(sim, o, w->v) != inc))
			return false;
	}
	return true;
}

Test(pause, short_pause_is_refuted_never_dead, .timeout = 60)
{
	struct sc_track t;
	struct sim *sim = sc_cluster(PAUSE_N, NULL, SIM_MS(10), SIM_S(30));
	struct pause_wait w = { .v = 4 };
	int rc;

	sc_track_init(&t, sim);
	sim_run_for(sim, SIM_S(5));
	sc_track_reset(&t);
	sim_pause(sim, w.v);
	sim_run_for(sim, SIM_S(2));
	sim_resume(sim, w.v);
	rc = sc_wait_poll(sim, pause_alive_everywhere, &w, SIM_MS(10),
			  SIM_S(10));
	sc_assert(sim, rc == 0, "n%u not alive everywhere after a 2 s pause",
		  w.v);
	sim_run_for(sim, SIM_S(30));
	sim_result(sim, "pause2s", "suspect_events", t.m[w.v].nb_suspect,
		   "observer-events");
	sim_result(sim, "pause2s", "incarnation",
		   swim_self_incarnation(sim_swim(sim, w.v)), "");
	sim_print_counters(sim, "pause2s");
	sc_assert(sim, t.m[w.v].nb_dead == 0, "paused n%u declared dead %u "
		  "times", w.v, t.m[w.v].nb_dead);
	sc_assert(sim, t.false_deads == 0, "%" PRIu64 " false deaths",
		  t.false_deads);
	sc_assert(sim, sim_wait_fullmesh(sim, 0) == 0, "%s", "no full mesh");
	sc_track_fini(&t);
	sim_delete(sim);
}

Test(pause, long_pause_is_dead_then_alive_again_after_resume, .timeout = 60)
{
	struct sim *sim = sc_cluster(PAUSE_N, NULL, SIM_MS(10), SIM_S(30));
	struct pause_wait w = { .v = 6 };
	uint64_t t0;
	int rc;

	sim_run_for(sim, SIM_S(5));
	sim_pause(sim, w.v);
	rc = sim_wait_status(sim, SIM_ANY, w.v, SWIM_STATUS_DEAD, SIM_S(60));
	sc_assert(sim, rc == 0, "paused n%u not dead everywhere in 60 s", w.v);
	sim_run_for(sim, SIM_S(60));
	t0 = sim_now(sim);
	sim_resume(sim, w.v);
	rc = sc_wait_poll(sim, pause_alive_everywhere, &w, SIM_MS(10),
			  SIM_S(120));
	sim_result(sim, "pause_long", "alive_everywhere_after_resume",
		   (sim_now(sim) - t0) / 1e6, "s");
	sim_result(sim, "pause_long", "incarnation",
		   swim_self_incarnation(sim_swim(sim, w.v)), "");
	sim_print_counters(sim, "pause_long");
	sc_assert(sim, rc == 0, "n%u not alive everywhere 120 s after resume",
		  w.v);
	sc_assert(sim, sim_wait_fullmesh(sim, SIM_S(30)) == 0, "%s",
		  "no full mesh after the long pause");
	sim_delete(sim);
}
