/* SPDX-License-Identifier: MIT */
/*
 * Scenario 1: a crashed member is suspected, then declared dead by every
 * live member, within the bound SWIM + Lifeguard predict for the LAN
 * profile, and never before Lifeguard's minimum suspicion timeout.
 *
 * Bound (brief, memberlist-wire.md §6.1, §11.3, §11.4):
 *   T_dead <= (N-1) * PI * (1 + awareness)   one probe round reaches it
 *           + PT                              the failed probe's wait
 *           + max = SMaxMult * SMult * max(1, log10 N) * PI
 *           + slack: 2 * ceil(log2 N) gossip rounds for the dead message
 * N-1 nodes probe at once, so the first probe of the victim comes far
 * sooner than a full round; with k = SMult - 2 confirmations from other
 * suspectors the timer shrinks from max towards min, which the measured
 * (first dead - first suspect) shows.
 */
#include "sc.h"

struct detect_fig {
	double first_suspect_s;	/* kill -> first suspect event anywhere */
	double first_dead_s;	/* kill -> first dead event anywhere */
	double all_dead_s;	/* kill -> every live node has it dead */
	double bound_s;		/* predicted upper bound for all_dead */
	double min_s, max_s;	/* Lifeguard suspicion timeout range */
};

static uint32_t
max_awareness(struct sim *sim)
{
	uint32_t a = 0, i;

	for (i = 0; i < sim_nb_nodes(sim); i++) {
		if (sim_is_up(sim, i) && swim_awareness_score(sim_swim(sim, i)) > a)
			a = swim_awareness_score(sim_swim(sim, i));
	}
	return a;
}

static uint64_t
detect_bound_us(const struct swim_cfg *cfg, unsigned n, uint32_t awareness)
{
	uint64_t round = (uint64_t)(n - 1) * cfg->probe_interval_us *
			 (1 + awareness);
	uint64_t slack = 2 * (uint64_t)ceil(log2((double)n)) *
			 cfg->gossip_interval_us;

	return round + cfg->probe_timeout_us + sc_suspicion_max_us(cfg, n) +
	       slack;
}

static void
detect_print(struct sim *sim, const char *profile, unsigned n,
	     const struct detect_fig *f)
{
	char sc[32];

	snprintf(sc, sizeof(sc), "detect_%s_n%u", profile, n);
	sim_result(sim, sc, "first_suspect", f->first_suspect_s, "s");
	sim_result(sim, sc, "first_dead", f->first_dead_s, "s");
	sim_result(sim, sc, "all_dead", f->all_dead_s, "s");
	sim_result(sim, sc, "bound", f->bound_s, "s");
	sim_result(sim, sc, "suspicion_min", f->min_s, "s");
	sim_result(sim, sc, "suspicion_max", f->max_s, "s");
	sim_result(sim, sc, "dead_minus_first_suspect",
		   f->first_dead_s - f->first_suspect_s, "s");
	sim_print_counters(sim, sc);
}

static void
detect_check(struct sim *sim, const struct sc_track *t, unsigned v,
	     const struct detect_fig *f)
{
	sc_assert(sim, t->m[v].nb_suspect > 0,
		  "n%u was never suspected before being declared dead", v);
	sc_assert(sim, f->all_dead_s <= f->bound_s,
		  "all dead after %.3f s > bound %.3f s", f->all_dead_s,
		  f->bound_s);
	/* Not before: nobody's timer can fire earlier than min after the
	 * first suspicion (1 ms for the millisecond floor of §11.3). */
	sc_assert(sim, f->first_dead_s - f->first_suspect_s >= f->min_s - 1e-3,
		  "declared dead %.3f s after first suspicion < min %.3f s",
		  f->first_dead_s - f->first_suspect_s, f->min_s);
	sc_assert(sim, t->false_deads == 0,
		  "%" PRIu64 " live members declared dead", t->false_deads);
}

static void
detect_run(const char *profile, unsigned n)
{
	struct swim_cfg cfg;
	struct sc_track t;
	struct sim *sim;
	struct detect_fig f;
	unsigned v;
	uint64_t t0, bound;
	int rc;

	cr_assert_eq(swim_cfg_default_profile(&cfg, profile), 0,
		     "[GOSSIPD_TEST_SEED=%" PRIu64 "] profile %s",
		     sim_seed_from_env(), profile);
	sim = sc_cluster(n, &cfg, SIM_MS(10), SIM_S(30 + n));
	sc_track_init(&t, sim);
	sim_run_for(sim, SIM_S(5));	/* let join gossip settle */
	sc_track_reset(&t);
	v = 1 + (unsigned)(sim_rand(sim) % (n - 1));
	bound = detect_bound_us(&cfg, n, max_awareness(sim));
	t0 = sim_now(sim);
	sim_kill(sim, v);
	rc = sim_wait_status(sim, SIM_ANY, v, SWIM_STATUS_DEAD, bound);
	sc_assert(sim, rc == 0, "n%u not dead everywhere within %.3f s "
		  "(%u of %u see it dead)", v, (double)bound / 1e6,
		  sim_nb_seeing(sim, v, SWIM_STATUS_DEAD), sim_nb_up(sim));
	f.all_dead_s = (double)(sim_now(sim) - t0) / 1e6;
	f.first_suspect_s = (double)(t.m[v].first_suspect_us - t0) / 1e6;
	f.first_dead_s = (double)(t.m[v].first_dead_us - t0) / 1e6;
	f.bound_s = (double)bound / 1e6;
	f.min_s = (double)sc_suspicion_min_us(&cfg, n) / 1e6;
	f.max_s = (double)sc_suspicion_max_us(&cfg, n) / 1e6;
	detect_print(sim, profile, n, &f);
	detect_check(sim, &t, v, &f);
	sc_track_fini(&t);
	sim_delete(sim);
}

Test(detect, crashed_member_is_dead_everywhere_within_bound_n5, .timeout = 60)
{
	detect_run("lan", 5);
}

Test(detect, crashed_member_is_dead_everywhere_within_bound_n50, .timeout = 120)
{
	detect_run("lan", 50);
}

Test(detect, crashed_member_is_dead_everywhere_within_bound_n100,
     .timeout = 180)
{
	detect_run("lan", 100);
}

/* The other profiles: Local (IndirectChecks 1, ProbeTimeout 200 ms) and
 * WAN (ProbeInterval 5 s, SuspicionMult 6: minutes of virtual time). */
Test(detect, crashed_member_is_dead_within_bound_local_n20, .timeout = 60)
{
	detect_run("local", 20);
}

Test(detect, crashed_member_is_dead_within_bound_wan_n20, .timeout = 60)
{
	detect_run("wan", 20);
}
