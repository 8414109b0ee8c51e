/* SPDX-License-Identifier: MIT */
/*
 * Scenario 7: joining through one seed converges to a full mesh, and a
 * node restarted under the same name (fresh core, incarnation 1) rejoins
 * alive with a higher incarnation (§6.5: it reads its own entry in the
 * seed's push/pull reply and jumps above it), both after the cluster
 * declared it dead and when it comes back before anyone noticed.
 */
#include "sc.h"

#define JOIN_N 20

struct join_wait {
	unsigned v;
	uint32_t above;	/* incarnation v must exceed */
};

/* Every up node has v alive at v's own incarnation, which is > above. */
static bool
join_rejoined(void *ctx, struct sim *sim)
{
	const struct join_wait *w = ctx;
	uint32_t inc = swim_self_incarnation(sim_swim(sim, w->v));
	unsigned o;

	if (inc <= w->above)
		return false;
	for (o = 0; o < sim_nb_nodes(sim); o++) {
		if (o != w->v && sim_is_up(sim, o) &&
		    (sim_status(sim, o, w->v) != SWIM_STATUS_ALIVE ||
		     sim_incarnation(sim, o, w->v) != inc))
			return false;
	}
	return true;
}

static uint32_t
join_known_incarnation(struct sim *sim, unsigned v)
{
	uint32_t inc = 0;
	unsigned o;

	for (o = 0; o < sim_nb_nodes(sim); o++) {
		if (o != v && sim_incarnation(sim, o, v) > inc)
			inc = sim_incarnation(sim, o, v);
	}
	return inc;
}

Test(join, nodes_joining_one_seed_converge_to_full_mesh, .timeout = 60)
{
	struct sim *sim = sim_new(JOIN_N, NULL, sim_seed_from_env());
	int rc;

	cr_assert(sim != NULL, "[GOSSIPD_TEST_SEED=%" PRIu64 "] sim_new",
		  sim_seed_from_env());
	sim_join_all(sim, 0, SIM_MS(50));
	rc = sim_wait_fullmesh(sim, SIM_S(60));
	sim_result(sim, "join", "fullmesh_after", sim_now(sim) / 1e6, "s");
	sim_print_counters(sim, "join");
	sc_assert(sim, rc == 0, "no full mesh of %d nodes in 60 s", JOIN_N);
	sim_delete(sim);
}

/*
 * Kill v and restart it under the same name. With wait_dead the cluster
 * first declares it dead; otherwise v first changes its meta (inc 2), so
 * the cluster still holds a higher incarnation than the fresh core's 1.
 * (A restart at an equal incarnation with identical meta is no conflict:
 * memberlist's aliveNode ignores it, and so do we.)
 */
static void
join_restart(struct sim *sim, unsigned v, bool wait_dead, const char *what)
{
	static const uint8_t meta[] = { 0xff, 'v', '2' };
	struct join_wait w = { .v = v };
	uint64_t t0;
	int rc;

	if (!wait_dead) {
		sc_assert(sim, swim_set_meta(sim_swim(sim, v), sim_now(sim), meta,
					     sizeof(meta)) == 0, "%s", "set_meta");
		sim_drain(sim, v);
		sim_run_for(sim, SIM_S(5));
	}
	sim_kill(sim, v);
	if (wait_dead) {
		rc = sim_wait_status(sim, SIM_ANY, v, SWIM_STATUS_DEAD, SIM_S(120));
		sc_assert(sim, rc == 0, "killed n%u never dead everywhere", v);
	}
	w.above = join_known_incarnation(sim, v);
	t0 = sim_now(sim);
	sc_assert(sim, sim_restart(sim, v) == 0, "restart n%u", v);
	sim_join(sim, v, 0);
	rc = sc_wait_poll(sim, join_rejoined, &w, SIM_MS(10), SIM_S(30));
	sim_result(sim, what, "alive_everywhere_after", (sim_now(sim) - t0) / 1e6,
		   "s");
	sim_result(sim, what, "incarnation",
		   swim_self_incarnation(sim_swim(sim, v)), "");
	sc_assert(sim, rc == 0, "restarted n%u (inc %u, old %u) not alive "
		  "everywhere at its incarnation", v,
		  swim_self_incarnation(sim_swim(sim, v)), w.above);
}

Test(join, restarted_node_rejoins_alive_with_higher_incarnation, .timeout = 90)
{
	struct sim *sim = sc_cluster(JOIN_N, NULL, SIM_MS(10), SIM_S(30));

	sim_run_for(sim, SIM_S(5));
	join_restart(sim, 5, true, "restart_after_dead");
	sim_run_for(sim, SIM_S(5));
	join_restart(sim, 9, false, "restart_before_noticed");
	sim_run_for(sim, SIM_S(30));
	sc_assert(sim, sim_wait_fullmesh(sim, 0) == 0, "%s",
		  "no full mesh 30 s after the restarts");
	sim_print_counters(sim, "restart");
	sim_delete(sim);
}
