/* SPDX-License-Identifier: MIT */
/*
 * Lifeguard's premise: a slow node (here every packet to it takes 1.5 s,
 * longer than a whole probe interval, so even late acks miss the probe
 * deadline) fails its own probes and accuses healthy members. Its local
 * health score must rise (§11.4), stretching its probe interval so its
 * probes succeed again, and the members it accused refute. The slow node
 * itself answers late and is suspected every few seconds; it refutes
 * each time (its incarnation climbs).
 *
 * No member may be dead anywhere at the end, and a false death may only
 * be local: one accuser that missed every copy of the refutation (a
 * transmit-limited broadcast, ~8 copies each) until a suspicion at the
 * new incarnation arrived, which memberlist's suspectNode counts as a
 * confirmation of the old timer. The next refutation undoes it. Seen on
 * about 1 seed in 6; the count is printed.
 */
#include "sc.h"

#define SLOW_N 20

Test(slow, slow_node_raises_its_awareness_and_false_deaths_stay_local, .timeout = 60)
{
	struct sc_track t;
	struct sim *sim = sc_cluster(SLOW_N, NULL, SIM_MS(10), SIM_S(30));
	struct swim_stats st0, st1;
	unsigned v = 11;
	uint32_t peak = 0;
	int k;

	sc_track_init(&t, sim);
	sim_run_for(sim, SIM_S(5));
	sc_track_reset(&t);
	swim_get_stats(sim_swim(sim, v), &st0);
	sim_set_link_delay(sim, SIM_ANY, (int)v, 1500000);
	for (k = 0; k < 300; k++) {
		uint32_t a;

		sim_run_for(sim, SIM_S(1));
		a = swim_awareness_score(sim_swim(sim, v));
		peak = a > peak ? a : peak;
	}
	swim_get_stats(sim_swim(sim, v), &st1);
	sim_result(sim, "slow", "awareness_peak", peak, "score");
	sim_result(sim, "slow", "probes_failed",
		   (double)(st1.probes_failed - st0.probes_failed), "probes");
	sim_result(sim, "slow", "probes", (double)(st1.probes - st0.probes),
		   "probes");
	sim_result(sim, "slow", "false_suspect_events", (double)t.false_suspects,
		   "observer-events");
	sim_result(sim, "slow", "false_dead_events", (double)t.false_deads,
		   "observer-events");
	sim_print_counters(sim, "slow");
	sc_assert(sim, peak > 0, "%s", "the slow node's health score never rose");
	sim_result(sim, "slow", "max_false_dead_observers",
		   t.max_false_dead_observers, "observers");
	sc_assert(sim, t.max_false_dead_observers <= 1, "a live member was "
		  "dead at %u observers at once (%" PRIu64 " false deaths)",
		  t.max_false_dead_observers, t.false_deads);
	sim_run_for(sim, SIM_S(10));
	for (k = 0; k < SLOW_N; k++)
		sc_assert(sim, sim_nb_seeing(sim, (unsigned)k,
					     SWIM_STATUS_DEAD) == 0,
			  "%u observers still see n%d dead (%" PRIu64
			  " false deaths)", sim_nb_seeing(sim, (unsigned)k,
			  SWIM_STATUS_DEAD), k, t.false_deads);
	sc_track_fini(&t);
	sim_delete(sim);
}
