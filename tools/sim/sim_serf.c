/* SPDX-License-Identifier: MIT */
/*
 * The Serf layer over every simulated core, wired as control/cp_serf.c
 * wires it in gossipd: core events in, serf_tick at its deadline, its
 * user state on every push/pull, the join intent after a join. Its own
 * events are popped and counted (nothing reads them here), so its queue
 * stays as short as a running daemon's.
 */
#include "sim_priv.h"

#include <stdio.h>
#include <stdlib.h>

#include "serf.h"

static struct serf *
sim_serf_of(const struct sim *sim, unsigned i)
{
	return sim->nodes[i].layer_ctx;
}

static void
sim_serf_drain(struct sim *sim, unsigned i)
{
	struct serf_event *ev = malloc(sizeof(*ev));	/* about 2 KB */
	struct serf *serf = sim_serf_of(sim, i);

	if (ev == NULL || serf == NULL) {
		free(ev);
		return;
	}
	while (serf_pop_event(serf, ev))
		sim->cnt.layer_events++;
	free(ev);
}

static int
sim_serf_start(struct sim *sim, unsigned i)
{
	struct sim_node *n = &sim->nodes[i];
	struct serf_cfg sc;
	const char *err = NULL;

	serf_cfg_default(&sc);
	snprintf(sc.name, sizeof(sc.name), "%s", n->cfg.name);
	sc.gossip_interval_us = n->cfg.gossip_interval_us;
	sc.seed = n->cfg.seed ^ 0x5e2f;	/* as cp_serf_init derives it */
	n->layer_ctx = serf_new(&sc, n->swim, &err);
	if (n->layer_ctx == NULL) {
		fprintf(stderr, "sim: serf_new(n%u): %s\n", i, err ? err : "?");
		return -1;
	}
	return 0;
}

static void
sim_serf_stop(struct sim *sim, unsigned i)
{
	serf_delete(sim_serf_of(sim, i));
	sim->nodes[i].layer_ctx = NULL;
}

static void
sim_serf_event(struct sim *sim, unsigned i, const struct swim_event *ev)
{
	serf_on_swim_event(sim_serf_of(sim, i), sim->now_us, ev);
	sim_serf_drain(sim, i);
}

static uint64_t
sim_serf_deadline(const struct sim *sim, unsigned i)
{
	uint64_t d = serf_next_deadline(sim_serf_of(sim, i));

	return d == 0 ? sim->now_us : d;
}

static void
sim_serf_tick(struct sim *sim, unsigned i)
{
	struct serf *serf = sim_serf_of(sim, i);

	if (serf_next_deadline(serf) <= sim->now_us)
		serf_tick(serf, sim->now_us);
	sim_serf_drain(sim, i);
}

static size_t
sim_serf_state(struct sim *sim, unsigned i, uint8_t *buf, size_t cap)
{
	return serf_local_state(sim_serf_of(sim, i), buf, cap);
}

static void
sim_serf_merge(struct sim *sim, unsigned i, const uint8_t *buf, size_t len,
	       bool join)
{
	if (serf_merge_remote_state(sim_serf_of(sim, i), sim->now_us, buf, len,
				    join) < 0)
		sim->cnt.push_pull_merge_errs++;
	sim_serf_drain(sim, i);
}

static void
sim_serf_joined(struct sim *sim, unsigned i)
{
	serf_join_intent(sim_serf_of(sim, i), sim->now_us);
	sim_serf_drain(sim, i);
}

static const struct sim_layer sim_serf_layer = {
	.start = sim_serf_start,
	.stop = sim_serf_stop,
	.event = sim_serf_event,
	.deadline = sim_serf_deadline,
	.tick = sim_serf_tick,
	.state = sim_serf_state,
	.merge = sim_serf_merge,
	.joined = sim_serf_joined,
};

struct sim *
sim_new_serf(unsigned nb_nodes, const struct swim_cfg *tmpl, uint64_t seed)
{
	return sim_new_layer(nb_nodes, tmpl, seed, &sim_serf_layer);
}

struct serf *
sim_serf(struct sim *sim, unsigned i)
{
	if (i >= sim->nb_nodes || sim->layer != &sim_serf_layer)
		return NULL;
	return sim_serf_of(sim, i);
}
