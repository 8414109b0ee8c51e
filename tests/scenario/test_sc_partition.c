/* SPDX-License-Identifier: MIT */
/*
 * Scenario 4: a partition heals. The cluster splits into two halves for
 * long enough that each side declares the other dead; then the network
 * heals. memberlist never probes dead members again; it only gossips to
 * them for GossipToTheDeadTime (30 s) while it has broadcasts queued, so
 * a heal soon after the split may repair itself that way. Past that,
 * healing is Serf's job: every ReconnectInterval (30 s) each node runs a
 * join push/pull with one random dead member (sim_set_reconnect). The
 * push/pull carries "you are dead" to the other side (merged as suspect,
 * §6.3), which refutes with a higher incarnation, and the alive spreads.
 * Either way the heal must complete within one reconnect interval plus
 * gossip time, and it must take a refutation (incarnation > 1).
 */
#include "sc.h"

#define PART_N 10
#define PART_RECONNECT_US SIM_S(30)

static uint8_t part_group[PART_N];

/* Every up node has every node of the other side as dead. */
static bool
part_split_done(void *ctx, struct sim *sim)
{
	unsigned o, m;

	(void)ctx;
	for (o = 0; o < PART_N; o++) {
		for (m = 0; m < PART_N; m++) {
			if (part_group[o] != part_group[m] &&
			    sim_status(sim, o, m) != SWIM_STATUS_DEAD)
				return false;
		}
	}
	return true;
}

static uint32_t
part_max_incarnation(struct sim *sim)
{
	uint32_t inc = 0;
	unsigned i;

	for (i = 0; i < PART_N; i++) {
		if (swim_self_incarnation(sim_swim(sim, i)) > inc)
			inc = swim_self_incarnation(sim_swim(sim, i));
	}
	return inc;
}

Test(partition, halves_declare_each_other_dead_then_heal, .timeout = 90)
{
	struct sc_track t;
	struct sim *sim = sc_cluster(PART_N, NULL, SIM_MS(10), SIM_S(30));
	uint64_t t0, t_split;
	unsigned i;
	int rc;

	for (i = 0; i < PART_N; i++)
		part_group[i] = i < PART_N / 2 ? 0 : 1;
	sc_track_init(&t, sim);
	sim_run_for(sim, SIM_S(5));
	t0 = sim_now(sim);
	sim_partition(sim, part_group);
	rc = sc_wait_poll(sim, part_split_done, NULL, SIM_MS(100), SIM_S(180));
	sc_assert(sim, rc == 0, "%s", "sides did not declare each other dead");
	t_split = sim_now(sim);
	sim_heal(sim);
	sim_set_reconnect(sim, PART_RECONNECT_US);
	rc = sim_wait_fullmesh(sim, PART_RECONNECT_US + SIM_S(15));
	sim_result(sim, "partition", "all_dead_after_split", (t_split - t0) / 1e6,
		   "s");
	sim_result(sim, "partition", "fullmesh_after_heal",
		   (sim_now(sim) - t_split) / 1e6, "s");
	sim_result(sim, "partition", "max_incarnation",
		   part_max_incarnation(sim), "");
	sim_print_counters(sim, "partition");
	sc_assert(sim, rc == 0, "no full mesh %.1f s after the heal",
		  (sim_now(sim) - t_split) / 1e6);
	sc_assert(sim, part_max_incarnation(sim) > 1, "%s",
		  "healed without any refutation");
	sim_run_for(sim, SIM_S(30));
	sc_assert(sim, sim_wait_fullmesh(sim, 0) == 0, "%s",
		  "full mesh did not hold after the heal");
	sc_track_fini(&t);
	sim_delete(sim);
}
