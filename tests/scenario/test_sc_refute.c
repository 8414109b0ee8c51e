/* SPDX-License-Identifier: MIT */
/*
 * Scenario 3: refutation clears a false suspicion. One node is cut off
 * (UDP and TCP, both ways) until somebody suspects it, then reconnected:
 * it hears the accusation (the prober piggybacks suspect on its pings),
 * refutes with a higher incarnation and is alive everywhere, never dead.
 */
#include "sc.h"

struct refute_wait {
	unsigned v;
};

static bool
refute_suspected(void *ctx, struct sim *sim)
{
	const struct refute_wait *w = ctx;

	return sim_nb_seeing(sim, w->v, SWIM_STATUS_SUSPECT) > 0;
}

/* Every up node knows v alive at v's own current incarnation. */
static bool
refute_converged(void *ctx, struct sim *sim)
{
	const struct refute_wait *w = ctx;
	uint32_t inc = swim_self_incarnation(sim_swim(sim, w->v));
	unsigned o;

	for (o = 0; o < sim_nb_nodes(sim); o++) {
		if (o == w->v || !sim_is_up(sim, o))
			continue;
		if (sim_status(sim, o, w->v) != SWIM_STATUS_ALIVE ||
		    sim_incarnation(sim, o, w->v) != inc)
			return false;
	}
	return true;
}

Test(refute, isolated_member_refutes_suspicion_and_stays_alive, .timeout = 60)
{
	struct sc_track t;
	struct sim *sim = sc_cluster(10, NULL, SIM_MS(10), SIM_S(30));
	struct refute_wait w = { .v = 3 };
	uint32_t inc0 = swim_self_incarnation(sim_swim(sim, w.v));
	uint64_t t0, t_sus;
	int rc;

	sc_track_init(&t, sim);
	sim_run_for(sim, SIM_S(5));
	sc_track_reset(&t);
	t0 = sim_now(sim);
	sim_isolate(sim, w.v, SIM_BLOCK_ALL);
	rc = sim_wait(sim, refute_suspected, &w, SIM_S(20));
	sc_assert(sim, rc == 0, "isolated n%u never suspected", w.v);
	t_sus = sim_now(sim);
	sim_isolate(sim, w.v, 0);
	rc = sc_wait_poll(sim, refute_converged, &w, SIM_MS(10), SIM_S(30));
	sc_assert(sim, rc == 0, "n%u not alive at inc %u everywhere", w.v,
		  swim_self_incarnation(sim_swim(sim, w.v)));
	sim_result(sim, "refute", "suspected_after", (t_sus - t0) / 1e6, "s");
	sim_result(sim, "refute", "alive_everywhere_after_unblock",
		   (sim_now(sim) - t_sus) / 1e6, "s");
	sim_result(sim, "refute", "incarnation",
		   swim_self_incarnation(sim_swim(sim, w.v)), "");
	sc_assert(sim, swim_self_incarnation(sim_swim(sim, w.v)) > inc0,
		  "n%u refuted without raising its incarnation", w.v);
	sim_run_for(sim, SIM_S(30));
	sc_assert(sim, t.m[w.v].nb_dead == 0, "n%u declared dead %u times",
		  w.v, t.m[w.v].nb_dead);
	sc_assert(sim, t.false_deads == 0, "%" PRIu64 " false deaths",
		  t.false_deads);
	sim_print_counters(sim, "refute");
	if (sim_wait_fullmesh(sim, 0) != 0)
		sc_dump_mesh(sim, 20);
	sc_assert(sim, sim_wait_fullmesh(sim, 0) == 0, "%s", "no full mesh");
	sc_track_fini(&t);
	sim_delete(sim);
}
