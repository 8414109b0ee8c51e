/* SPDX-License-Identifier: MIT */
/*
 * Churn under loss: a 50-node cluster at 5 % UDP loss where, every 5 s
 * for 300 s, a random node crashes or a crashed one restarts (same name,
 * fresh core) and joins through a random live node. After the churn
 * stops, within 90 s every live node must know every other live node as
 * alive, and no live node may still hold a crashed one as alive or
 * suspect (it is dead, or already reaped from the table).
 */
#include "sc.h"

#define CHURN_N 50
#define CHURN_MIN_UP 40

/* A random node other than n0 and `not`, up or down; 0 when none. */
static unsigned
churn_pick(struct sim *sim, bool up, unsigned not)
{
	unsigned k, i, nb = 0;

	for (i = 1; i < CHURN_N; i++)
		nb += i != not && sim_is_up(sim, i) == up;
	if (nb == 0)
		return 0;
	k = (unsigned)(sim_rand(sim) % nb);
	for (i = 1; i < CHURN_N; i++) {
		if (i != not && sim_is_up(sim, i) == up && k-- == 0)
			return i;
	}
	return 0;
}

/* One churn step: crash a node, or bring a crashed one back. */
static void
churn_step(struct sim *sim, unsigned *nb_kills, unsigned *nb_restarts)
{
	bool restart = sim_nb_up(sim) <= CHURN_MIN_UP ||
		       (sim_nb_up(sim) < CHURN_N && sim_rand(sim) % 2 == 0);
	unsigned v = churn_pick(sim, !restart, 0);

	if (v == 0)
		return;
	if (!restart) {
		sim_kill(sim, v);
		(*nb_kills)++;
		return;
	}
	sc_assert(sim, sim_restart(sim, v) == 0, "restart n%u", v);
	sim_join(sim, v, churn_pick(sim, true, v));	/* n0 if none */
	(*nb_restarts)++;
}

/* No live node holds a crashed node as alive or suspect. */
static bool
churn_dead_settled(void *ctx, struct sim *sim)
{
	unsigned o, m;

	(void)ctx;
	for (m = 0; m < CHURN_N; m++) {
		if (sim_is_up(sim, m))
			continue;
		for (o = 0; o < CHURN_N; o++) {
			int st = sim_status(sim, o, m);

			if (st == SWIM_STATUS_ALIVE || st == SWIM_STATUS_SUSPECT)
				return false;
		}
	}
	return true;
}

Test(churn, crashes_and_restarts_under_loss_settle, .timeout = 120)
{
	struct sim *sim = sc_cluster(CHURN_N, NULL, SIM_MS(10), SIM_S(60));
	unsigned nb_kills = 0, nb_restarts = 0, k;
	uint64_t t0;
	int rc;

	sim_set_drop(sim, SIM_ANY, SIM_ANY, 5);
	for (k = 0; k < 60; k++) {
		churn_step(sim, &nb_kills, &nb_restarts);
		sim_run_for(sim, SIM_S(5));
	}
	t0 = sim_now(sim);
	rc = sim_wait_fullmesh(sim, SIM_S(90));
	sim_result(sim, "churn", "kills", nb_kills, "");
	sim_result(sim, "churn", "restarts", nb_restarts, "");
	sim_result(sim, "churn", "fullmesh_after_churn",
		   (sim_now(sim) - t0) / 1e6, "s");
	sim_print_counters(sim, "churn");
	if (rc != 0)
		sc_dump_mesh(sim, 20);
	sc_assert(sim, rc == 0, "live nodes not a full mesh 90 s after churn "
		  "(%u up)", sim_nb_up(sim));
	rc = sc_wait_poll(sim, churn_dead_settled, NULL, SIM_S(1), SIM_S(90));
	sc_assert(sim, rc == 0, "%s", "a crashed node is still alive or "
		  "suspect somewhere 90 s after churn");
	sim_delete(sim);
}
