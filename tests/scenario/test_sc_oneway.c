/* SPDX-License-Identifier: MIT */
/*
 * One-way UDP failure (a misconfigured firewall): node v's outgoing UDP
 * is dropped, everything else works. Nobody gets v's acks, but the TCP
 * fallback ping (§6.1 step 4, "Was able to connect to X but other probes
 * failed") answers for it, so v must never be suspected or declared
 * dead; with TCP pings disabled the same cut makes it dead everywhere.
 */
#include "sc.h"

#define OW_N 10

static void
oneway_run(bool tcp_pings, const char *name)
{
	struct swim_cfg cfg;
	struct sc_track t;
	struct sim *sim;
	unsigned v = 2;
	int rc;

	swim_cfg_default_lan(&cfg);
	cfg.disable_tcp_pings = !tcp_pings;
	sim = sc_cluster(OW_N, &cfg, SIM_MS(10), SIM_S(30));
	sc_track_init(&t, sim);
	sim_run_for(sim, SIM_S(5));
	sc_track_reset(&t);
	sim_block(sim, (int)v, SIM_ANY, SIM_BLOCK_UDP);
	rc = sim_wait_status(sim, SIM_ANY, v, SWIM_STATUS_DEAD, SIM_S(120));
	sim_result(sim, name, "suspect_events", t.m[v].nb_suspect,
		   "observer-events");
	sim_result(sim, name, "dead_everywhere", rc == 0, "bool");
	sim_result(sim, name, "v_awareness", swim_awareness_score(sim_swim(sim, v)),
		   "score");
	sim_print_counters(sim, name);
	if (tcp_pings) {
		sc_assert(sim, rc != 0 && t.m[v].nb_dead == 0,
			  "n%u declared dead %u times although TCP works",
			  v, t.m[v].nb_dead);
		sc_assert(sim, t.m[v].nb_suspect == 0,
			  "n%u suspected %u times although TCP works", v,
			  t.m[v].nb_suspect);
	} else {
		sc_assert(sim, rc == 0, "n%u, mute on UDP and without TCP "
			  "pings, not dead everywhere in 120 s", v);
	}
	sc_track_fini(&t);
	sim_delete(sim);
}

Test(oneway, udp_mute_node_stays_alive_through_tcp_pings, .timeout = 60)
{
	oneway_run(true, "oneway_tcp");
}

Test(oneway, udp_mute_node_without_tcp_pings_is_dead, .timeout = 60)
{
	oneway_run(false, "oneway_notcp");
}
