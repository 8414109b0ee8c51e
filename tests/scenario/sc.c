/* SPDX-License-Identifier: MIT */
/*
 * Scenario helpers: the event tracker behind the measured figures, the
 * converged-cluster fixture and Lifeguard's timeout arithmetic (§11.3 of
 * memberlist-wire.md), kept here so every scenario computes its bound the
 * same way.
 */
#include "sc.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *
sc_fmt(const char *fmt, ...)
{
	static char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return buf;
}

static void
sc_track_accuse(struct sc_track *t, struct sim *sim, unsigned m,
		const struct swim_event *ev)
{
	struct sc_member_track *mt = &t->m[m];
	uint64_t now = sim_now(sim);
	bool up = sim_is_up(sim, m) && !t->has_left[m];

	if (ev->kind == SWIM_EV_SUSPECT) {
		mt->nb_suspect++;
		if (mt->first_suspect_us == UINT64_MAX)
			mt->first_suspect_us = now;
		mt->nb_false_suspect += up;
		t->false_suspects += up;
	} else if (ev->member.status == SWIM_STATUS_LEFT) {
		mt->nb_left++;
		if (mt->first_left_us == UINT64_MAX)
			mt->first_left_us = now;
	} else {
		mt->nb_dead++;
		if (mt->first_dead_us == UINT64_MAX)
			mt->first_dead_us = now;
		mt->nb_false_dead += up;
		t->false_deads += up;
		if (up) {
			/* The view is updated after the hook: count this one. */
			uint32_t nb = sim_nb_seeing(sim, m, SWIM_STATUS_DEAD) + 1;

			if (nb > t->max_false_dead_observers)
				t->max_false_dead_observers = nb;
		}
		if (up && mt->nb_false_dead == 1)
			printf("SIM-FALSE-DEAD t=%.6fs n%u declared dead "
			       "(inc %u) while up\n", now / 1e6, m,
			       ev->member.incarnation);
		t->leaves_as_dead += t->has_left[m];
	}
}

static void
sc_trace(struct sim *sim, int node, const struct swim_event *ev)
{
	static const char *const kind[SWIM_EV_COUNT] = {
		"join", "update", "suspect", "leave", "user", "ping",
	};

	printf("SIM-TRACE t=%.6fs n%d: %.*s %s status %s inc %u\n",
	       sim_now(sim) / 1e6, node, (int)ev->member.name.len,
	       (const char *)ev->member.name.ptr,
	       ev->kind < SWIM_EV_COUNT ? kind[ev->kind] : "?",
	       ev->member.status < SWIM_STATUS_COUNT ?
	       swim_status_str[ev->member.status] : "?",
	       ev->member.incarnation);
}

static void
sc_track_hook(void *ctx, struct sim *sim, int node, int m,
	      const struct swim_event *ev)
{
	struct sc_track *t = ctx;
	uint64_t now = sim_now(sim);
	struct sc_member_track *nt = &t->m[node];

	if (ev->kind == SWIM_EV_USER) {
		if (nt->nb_user++ > 0)
			return;
		nt->first_user_us = now;
		if (t->rebroadcast_user)
			swim_broadcast_user(sim_swim(sim, (unsigned)node),
					    ev->data.ptr, ev->data.len);
		return;
	}
	if (m < 0 || m == node)
		return;
	if (m == t->trace_member)
		sc_trace(sim, node, ev);
	if (ev->kind == SWIM_EV_SUSPECT || ev->kind == SWIM_EV_LEAVE) {
		sc_track_accuse(t, sim, (unsigned)m, ev);
	} else if (ev->kind == SWIM_EV_UPDATE) {
		uint8_t *seen = &t->update_seen[(size_t)node * t->nb_nodes + m];

		if (*seen)
			return;
		*seen = 1;
		if (t->m[m].nb_update++ == 0)
			t->m[m].first_update_us = now;
		t->m[m].last_update_us = now;
	}
}

void
sc_track_reset(struct sc_track *t)
{
	unsigned i;

	for (i = 0; i < t->nb_nodes; i++) {
		memset(&t->m[i], 0, sizeof(t->m[i]));
		t->m[i].first_suspect_us = UINT64_MAX;
		t->m[i].first_dead_us = UINT64_MAX;
		t->m[i].first_left_us = UINT64_MAX;
		t->m[i].first_update_us = UINT64_MAX;
		t->m[i].first_user_us = UINT64_MAX;
	}
	memset(t->update_seen, 0, (size_t)t->nb_nodes * t->nb_nodes);
	t->false_suspects = 0;
	t->false_deads = 0;
	t->leaves_as_dead = 0;
	t->max_false_dead_observers = 0;
}

void
sc_track_init(struct sc_track *t, struct sim *sim)
{
	unsigned n = sim_nb_nodes(sim);

	memset(t, 0, sizeof(*t));
	t->nb_nodes = n;
	t->m = calloc(n, sizeof(*t->m));
	t->update_seen = calloc((size_t)n * n, 1);
	t->has_left = calloc(n, 1);
	sc_assert(sim, t->m != NULL && t->update_seen != NULL &&
		  t->has_left != NULL, "%s", "tracker allocation");
	t->trace_member = getenv("GOSSIPD_SIM_TRACE") ?
			  atoi(getenv("GOSSIPD_SIM_TRACE")) : -1;
	sc_track_reset(t);
	sim_set_event_hook(sim, sc_track_hook, t);
}

void
sc_track_fini(struct sc_track *t)
{
	free(t->m);
	free(t->update_seen);
	free(t->has_left);
}

void
sc_track_left(struct sc_track *t, unsigned member)
{
	if (member < t->nb_nodes)
		t->has_left[member] = 1;
}

unsigned
sc_track_nb_user(const struct sc_track *t, unsigned src)
{
	unsigned i, nb = 0;

	for (i = 0; i < t->nb_nodes; i++)
		nb += i != src && t->m[i].nb_user > 0;
	return nb;
}

struct sim *
sc_cluster(unsigned nb, const struct swim_cfg *tmpl, uint64_t stagger_us,
	   uint64_t timeout_us)
{
	uint64_t seed = sim_seed_from_env();
	struct sim *sim = sim_new(nb, tmpl, seed);
	int rc;

	cr_assert(sim != NULL, "[GOSSIPD_TEST_SEED=%" PRIu64 "] sim_new(%u)",
		  seed, nb);
	sim_join_all(sim, 0, stagger_us);
	rc = sim_wait_fullmesh(sim, timeout_us);
	if (rc != 0)
		sim_print_counters(sim, "cluster");
	sc_assert(sim, rc == 0, "no full mesh of %u nodes within %.1f s", nb,
		  (double)timeout_us / 1e6);
	return sim;
}

int
sc_wait_poll(struct sim *sim, sim_pred_f pred, void *ctx, uint64_t step_us,
	     uint64_t timeout_us)
{
	uint64_t end = sim_now(sim) + timeout_us;

	while (!pred(ctx, sim)) {
		if (sim_now(sim) >= end)
			return -1;
		sim_run_for(sim, step_us);
	}
	return 0;
}

bool
sc_queues_empty(void *ctx, struct sim *sim)
{
	unsigned i;

	(void)ctx;
	for (i = 0; i < sim_nb_nodes(sim); i++) {
		if (sim_is_up(sim, i) &&
		    swim_broadcast_queue_len(sim_swim(sim, i)) != 0)
			return false;
	}
	return true;
}

/* §11.3: scale = max(1, log10(max(1, n))), truncated to 1/1000. */
static double
sc_suspicion_scale(unsigned n)
{
	double s = log10(n < 1 ? 1.0 : (double)n);

	if (s < 1.0)
		s = 1.0;
	return floor(s * 1000.0) / 1000.0;
}

uint64_t
sc_suspicion_min_us(const struct swim_cfg *cfg, unsigned n)
{
	return (uint64_t)(cfg->suspicion_mult * sc_suspicion_scale(n) *
			  (double)cfg->probe_interval_us);
}

uint64_t
sc_suspicion_max_us(const struct swim_cfg *cfg, unsigned n)
{
	return cfg->suspicion_max_timeout_mult * sc_suspicion_min_us(cfg, n);
}

void
sc_dump_mesh(struct sim *sim, unsigned max_lines)
{
	unsigned o, m, n = sim_nb_nodes(sim), lines = 0;

	for (o = 0; o < n && lines < max_lines; o++) {
		for (m = 0; m < n && lines < max_lines; m++) {
			int st;

			if (o == m || !sim_is_up(sim, o) || !sim_is_up(sim, m))
				continue;
			st = sim_status(sim, o, m);
			if (st == SWIM_STATUS_ALIVE)
				continue;
			printf("SIM-MESH t=%.3fs n%u sees n%u %s inc %u "
			       "(own inc %u)\n", sim_now(sim) / 1e6, o, m,
			       st < 0 ? "unknown" : swim_status_str[st],
			       sim_incarnation(sim, o, m),
			       swim_self_incarnation(sim_swim(sim, m)));
			lines++;
		}
	}
	fflush(stdout);
}
