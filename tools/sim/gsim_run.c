/* SPDX-License-Identifier: MIT */
/*
 * One gossip-sim run: build the pool, play the timeline (failures, a
 * partition and its heal, pauses), and measure from the members' own
 * events: when each crashed member is dead everywhere, accusations of
 * live members, heal and convergence times, traffic and memory.
 */
#include "gsim.h"

#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Per member: what happened to it and what the pool said about it. */
struct gsim_member {
	uint64_t kill_us;	/* UINT64_MAX: never crashed */
	uint64_t first_dead_us;	/* first observer declaring it dead */
	uint64_t done_us;	/* every live observer had it dead */
	uint64_t first_accused_us;	/* first suspect or dead about it */
	uint64_t all_accused_us;	/* every live observer had one */
	uint32_t nb_dead_seen;	/* observers that declared it dead */
	uint32_t nb_accused;	/* observers that suspected or declared it */
	uint8_t side;		/* partition group */
	bool paused;		/* paused at some point of the run */
};

struct gsim_ctx {
	const struct gsim_opt *o;
	struct sim *sim;
	struct gsim_member *m;		/* [members] */
	uint8_t *dead_seen;		/* [victim slot * n + observer]:
					   GSIM_SEEN_* bits */
	unsigned *victims;		/* [fail_n] */
	unsigned *order;		/* a seeded permutation of the nodes */
	bool partitioned_ever;
	struct gsim_result *r;
};

static uint64_t
gsim_us(double s)
{
	return (uint64_t)llround(s * 1e6);
}

/* An accusation of a live member: expected (it was paused, or across a
 * partition from its accuser) or false. */
static void
gsim_accused(struct gsim_ctx *c, int node, unsigned m, bool dead)
{
	struct gsim_member *gm = &c->m[m];
	bool across = c->partitioned_ever &&
		      c->m[node].side != gm->side;

	if (gm->paused || across) {
		if (dead && gm->paused)
			c->r->pause_deaths++;
		else if (dead)
			c->r->partition_deaths++;
		return;
	}
	if (dead)
		c->r->false_positives++;
	else
		c->r->false_suspicions++;
}

static int
gsim_victim_slot(const struct gsim_ctx *c, unsigned m)
{
	unsigned k;

	for (k = 0; k < c->o->fail_n; k++) {
		if (c->victims[k] == m)
			return (int)k;
	}
	return -1;
}

enum { GSIM_SEEN_ACCUSED = 1, GSIM_SEEN_DEAD = 2 };

/* The first accusation of a crashed member by node: how far the news
 * spread, counted in gossip periods (dissemination). */
static void
gsim_victim_accused(struct gsim_member *gm, unsigned nb_up, uint64_t now)
{
	if (gm->first_accused_us == UINT64_MAX)
		gm->first_accused_us = now;
	if (++gm->nb_accused >= nb_up && gm->all_accused_us == UINT64_MAX)
		gm->all_accused_us = now;
}

/* A crashed member suspected (dead false) or declared dead by node. */
static void
gsim_victim_event(struct gsim_ctx *c, int node, unsigned m, bool dead)
{
	struct gsim_member *gm = &c->m[m];
	int slot = gsim_victim_slot(c, m);
	unsigned nb_up = sim_nb_up(c->sim);
	uint64_t now = sim_now(c->sim);
	uint8_t *seen;

	if (slot < 0)
		return;
	seen = &c->dead_seen[(size_t)slot * c->o->members + (unsigned)node];
	if (!(*seen & GSIM_SEEN_ACCUSED))
		gsim_victim_accused(gm, nb_up, now);
	*seen |= GSIM_SEEN_ACCUSED;
	if (!dead || (*seen & GSIM_SEEN_DEAD))
		return;
	*seen |= GSIM_SEEN_DEAD;
	if (gm->first_dead_us == UINT64_MAX)
		gm->first_dead_us = now;
	if (++gm->nb_dead_seen >= nb_up && gm->done_us == UINT64_MAX)
		gm->done_us = now;
}

static void
gsim_hook(void *ctx, struct sim *sim, int node, int m,
	  const struct swim_event *ev)
{
	struct gsim_ctx *c = ctx;
	bool dead;

	if (m < 0 || m == node || (ev->kind != SWIM_EV_SUSPECT &&
				   ev->kind != SWIM_EV_LEAVE))
		return;
	dead = ev->kind == SWIM_EV_LEAVE;
	if (dead && ev->member.status != SWIM_STATUS_DEAD)
		return;	/* a graceful leave */
	if (sim_is_up(sim, (unsigned)m))
		gsim_accused(c, node, (unsigned)m, dead);
	else
		gsim_victim_event(c, node, (unsigned)m, dead);
}

/* --- the timeline --- */

enum gsim_act_kind { GSIM_ACT_FAIL, GSIM_ACT_SPLIT, GSIM_ACT_HEAL,
		     GSIM_ACT_PAUSE, GSIM_ACT_RESUME, GSIM_ACT_COUNT };

struct gsim_act {
	uint64_t at_us;
	enum gsim_act_kind kind;
};

static void
gsim_do(struct gsim_ctx *c, enum gsim_act_kind kind)
{
	const struct gsim_opt *o = c->o;
	unsigned k, n = o->members;
	uint8_t *group;

	switch (kind) {
	case GSIM_ACT_FAIL:
		for (k = 0; k < o->fail_n; k++) {
			c->m[c->victims[k]].kill_us = sim_now(c->sim);
			sim_kill(c->sim, c->victims[k]);
		}
		break;
	case GSIM_ACT_SPLIT:
		group = calloc(n, 1);
		if (group == NULL)
			break;
		for (k = 0; k < n; k++)
			group[k] = c->m[k].side;
		c->partitioned_ever = true;
		sim_partition(c->sim, group);
		free(group);
		break;
	case GSIM_ACT_HEAL:
		sim_heal(c->sim);
		break;
	case GSIM_ACT_PAUSE:
	case GSIM_ACT_RESUME:
		for (k = 0; k < o->pause_n; k++) {
			unsigned v = c->order[o->fail_n + k];

			c->m[v].paused = true;
			if (kind == GSIM_ACT_PAUSE)
				sim_pause(c->sim, v);
			else
				sim_resume(c->sim, v);
		}
		break;
	case GSIM_ACT_COUNT:
		break;
	}
}

static int
gsim_act_cmp(const void *a, const void *b)
{
	const struct gsim_act *x = a, *y = b;

	if (x->at_us != y->at_us)
		return x->at_us < y->at_us ? -1 : 1;
	return (int)x->kind - (int)y->kind;
}

/* The actions of the options from t0, in time order. @retval count. */
static unsigned
gsim_timeline(const struct gsim_opt *o, uint64_t t0, struct gsim_act *a)
{
	unsigned nb = 0;

	if (o->fail_n > 0 && o->fail_at_s < o->duration_s)
		a[nb++] = (struct gsim_act){ t0 + gsim_us(o->fail_at_s),
					     GSIM_ACT_FAIL };
	if (o->has_partition) {
		a[nb++] = (struct gsim_act){ t0 + gsim_us(o->part_from_s),
					     GSIM_ACT_SPLIT };
		a[nb++] = (struct gsim_act){ t0 + gsim_us(o->part_to_s),
					     GSIM_ACT_HEAL };
	}
	if (o->pause_n > 0) {
		a[nb++] = (struct gsim_act){ t0 + gsim_us(o->pause_at_s),
					     GSIM_ACT_PAUSE };
		a[nb++] = (struct gsim_act){ t0 + gsim_us(o->pause_at_s +
							  o->pause_for_s),
					     GSIM_ACT_RESUME };
	}
	qsort(a, nb, sizeof(*a), gsim_act_cmp);
	return nb;
}

/* A full mesh awaited since `from` (a heal, the last join), or none. */
struct gsim_wait {
	uint64_t from;		/* UINT64_MAX: nothing awaited */
	double *out;		/* gets (full mesh - from) in s */
};

/* Run to t_us; while a full mesh is awaited, stop the clock there first. */
static void
gsim_run_to(struct gsim_ctx *c, uint64_t t_us, struct gsim_wait *w)
{
	uint64_t now = sim_now(c->sim);

	if (t_us <= now)
		return;
	if (w->from != UINT64_MAX &&
	    sim_wait_fullmesh(c->sim, t_us - now) == 0) {
		*w->out = (double)(sim_now(c->sim) - w->from) / 1e6;
		w->from = UINT64_MAX;
	}
	sim_run_until(c->sim, t_us);
}

static void
gsim_play(struct gsim_ctx *c, uint64_t t0)
{
	struct gsim_act acts[GSIM_ACT_COUNT];
	uint64_t end = t0 + gsim_us(c->o->duration_s);
	unsigned nb = gsim_timeline(c->o, t0, acts), k;
	struct gsim_wait w = { UINT64_MAX, NULL };

	if (c->o->start == GSIM_START_JOIN)
		w = (struct gsim_wait){ t0, &c->r->converge_s };
	for (k = 0; k < nb && acts[k].at_us <= end; k++) {
		gsim_run_to(c, acts[k].at_us, &w);
		gsim_do(c, acts[k].kind);
		if (acts[k].kind == GSIM_ACT_HEAL)
			w = (struct gsim_wait){ sim_now(c->sim), &c->r->heal_s };
	}
	gsim_run_to(c, end, &w);
}

/* --- measuring --- */

static int
gsim_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[nb]; -1 without samples. */
static double
gsim_pct(const double *v, unsigned nb, double p)
{
	unsigned k;

	if (nb == 0)
		return -1;
	k = (unsigned)ceil(p * nb);
	return v[k == 0 ? 0 : k - 1];
}

/* Detection and dissemination over the crashed members. */
static void
gsim_detection(struct gsim_ctx *c)
{
	struct gsim_result *r = c->r;
	unsigned nb = c->o->fail_n, k, d = 0, f = 0, s = 0;
	double *det = calloc(nb + 1, sizeof(*det));
	double *first = calloc(nb + 1, sizeof(*first));
	double *diss = calloc(nb + 1, sizeof(*diss));
	double gi = (double)c->o->cfg.gossip_interval_us;

	for (k = 0; k < nb && det && first && diss; k++) {
		const struct gsim_member *gm = &c->m[c->victims[k]];

		if (gm->kill_us == UINT64_MAX)
			continue;
		r->failed++;
		if (gm->first_dead_us != UINT64_MAX)
			first[f++] = (double)(gm->first_dead_us - gm->kill_us) / 1e6;
		if (gm->done_us == UINT64_MAX)
			continue;
		det[d++] = (double)(gm->done_us - gm->kill_us) / 1e6;
		if (gm->all_accused_us != UINT64_MAX)
			diss[s++] = (double)(gm->all_accused_us -
					     gm->first_accused_us) / gi;
	}
	r->detected = d;
	qsort(det, d, sizeof(double), gsim_cmp_double);
	qsort(first, f, sizeof(double), gsim_cmp_double);
	qsort(diss, s, sizeof(double), gsim_cmp_double);
	r->detect_p50_s = gsim_pct(det, d, 0.5);
	r->detect_p99_s = gsim_pct(det, d, 0.99);
	r->detect_max_s = gsim_pct(det, d, 1.0);
	r->first_detect_p50_s = gsim_pct(first, f, 0.5);
	r->first_detect_min_s = f > 0 ? first[0] : -1;
	r->diss_periods_p50 = gsim_pct(diss, s, 0.5);
	r->diss_periods_max = gsim_pct(diss, s, 1.0);
	free(det);
	free(first);
	free(diss);
}

/* Pittel's estimate for push gossip with fanout k to n members:
 * log_{k+1}(n) + ln(n) / k rounds until everyone has the rumour. */
static double
gsim_diss_expected(unsigned n, unsigned k)
{
	if (k == 0 || n < 2)
		return -1;
	return log((double)n) / log((double)k + 1) + log((double)n) / k;
}

static uint64_t
gsim_heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static void
gsim_traffic(struct gsim_ctx *c, const struct sim_counters *at0,
	     uint64_t t0)
{
	const struct sim_counters *e = sim_counters(c->sim);
	struct gsim_result *r = c->r;
	double secs = (double)(sim_now(c->sim) - t0) / 1e6;
	double per = secs > 0 ? 1.0 / (secs * c->o->members) : 0;
	double joins = (double)(e->pp_join_bytes - at0->pp_join_bytes);
	double sync = (double)(e->pp_bytes - at0->pp_bytes) - joins +
		      (double)(e->dsync_bytes - at0->dsync_bytes);

	r->udp_bytes_per_member_per_s =
		(double)(e->bytes_sent - at0->bytes_sent) * per;
	r->sync_bytes_per_member_per_s = sync * per;
	r->join_bytes_per_member_per_s = joins * per;
	r->bytes_per_member_per_s = r->udp_bytes_per_member_per_s +
				    r->sync_bytes_per_member_per_s +
				    r->join_bytes_per_member_per_s;
	r->delta_syncs = e->dsync_runs - at0->dsync_runs;
	r->cnt = *e;
}

/* --- setting up --- */

static int
gsim_ctx_init(struct gsim_ctx *c, const struct gsim_opt *o,
	      struct gsim_result *r)
{
	unsigned n = o->members, k, side1 = (unsigned)llround(o->part_frac * n);

	memset(c, 0, sizeof(*c));
	c->o = o;
	c->r = r;
	c->m = calloc(n, sizeof(*c->m));
	c->order = calloc(n, sizeof(*c->order));
	c->dead_seen = calloc((size_t)n * (o->fail_n + 1), 1);
	if (c->m == NULL || c->order == NULL || c->dead_seen == NULL)
		return -1;
	for (k = 0; k < n; k++) {
		c->m[k].kill_us = c->m[k].first_dead_us = UINT64_MAX;
		c->m[k].done_us = UINT64_MAX;
		c->m[k].first_accused_us = c->m[k].all_accused_us = UINT64_MAX;
		c->m[k].side = o->has_partition && k >= n - side1;
		c->order[k] = k;
	}
	return 0;
}

static void
gsim_ctx_fini(struct gsim_ctx *c)
{
	sim_delete(c->sim);
	free(c->m);
	free(c->order);
	free(c->dead_seen);
}

/* Victims and paused members: a seeded shuffle (Fisher-Yates). */
static void
gsim_pick(struct gsim_ctx *c)
{
	unsigned n = c->o->members, k;

	for (k = n - 1; k > 0; k--) {
		unsigned j = (unsigned)(sim_rand(c->sim) % (k + 1));
		unsigned t = c->order[k];

		c->order[k] = c->order[j];
		c->order[j] = t;
	}
	c->victims = c->order;	/* the first fail_n */
}

static double
gsim_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* GSIM_VERBOSE=1: wall time of each phase on stderr (profiling). */
static void
gsim_phase(const char *what, double *w)
{
	double now = gsim_wall();

	if (getenv("GSIM_VERBOSE") != NULL)
		fprintf(stderr, "gossip-sim: %s %.2f s\n", what, now - *w);
	*w = now;
}

/* Build the pool; @retval t0, where the timeline starts. */
static uint64_t
gsim_start(struct gsim_ctx *c)
{
	const struct gsim_opt *o = c->o;
	uint64_t last;

	sim_set_latency(c->sim, o->lat_fixed_us, o->lat_jitter_us);
	if (o->start != GSIM_START_JOIN) {
		double w = gsim_wall();

		sim_bootstrap(c->sim);
		gsim_phase("bootstrap", &w);
		if (o->start == GSIM_START_STEADY)
			sim_settle(c->sim);
		gsim_phase("settle", &w);
		/* memberlist draws each member's first push/pull from the
		 * unscaled interval: a warm-up moves that burst out of the
		 * measured window. */
		sim_run_for(c->sim, o->warmup_us);
		gsim_phase("warmup", &w);
		return sim_now(c->sim);
	}
	sim_join_all(c->sim, 0, o->join_stagger_us);
	last = sim_now(c->sim) + (uint64_t)(o->members - 2) * o->join_stagger_us;
	sim_run_until(c->sim, last);
	return last;	/* gsim_play awaits the full mesh from here */
}

int
gsim_run(const struct gsim_opt *o, struct gsim_result *r)
{
	struct gsim_ctx c;
	struct sim_counters at0;
	double w0 = gsim_wall();
	uint64_t heap0 = gsim_heap_bytes(), heap1, heap2, t0;
	double w;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	r->heal_s = r->converge_s = -1;
	if (gsim_ctx_init(&c, o, r) != 0)
		goto out;
	c.sim = o->serf ? sim_new_serf(o->members, &o->cfg, o->seed) :
			  sim_new(o->members, &o->cfg, o->seed);
	if (c.sim == NULL ||
	    (o->sync == GSIM_SYNC_DELTA && sim_use_dsync(c.sim) != 0))
		goto out;
	heap1 = gsim_heap_bytes();
	gsim_pick(&c);
	sim_set_event_hook(c.sim, gsim_hook, &c);
	t0 = gsim_start(&c);
	heap2 = gsim_heap_bytes();	/* before any member is killed */
	sim_set_drop(c.sim, SIM_ANY, SIM_ANY, o->loss_pct);
	at0 = *sim_counters(c.sim);
	w = gsim_wall();
	gsim_play(&c, t0);
	gsim_phase("run", &w);
	r->simulated_s = (double)(sim_now(c.sim) - t0) / 1e6;
	gsim_detection(&c);
	r->diss_periods_expected = gsim_diss_expected(o->members,
						      o->cfg.gossip_nodes);
	gsim_traffic(&c, &at0, t0);
	/* A node's tables (both layers) per member it knows once the pool
	 * formed, and what a node holds before it knows anyone (the core's
	 * buffers). The simulator's view adds 1 byte to the first. */
	r->memory_bytes_per_member = (double)(heap2 - heap1) /
				     ((double)o->members * o->members);
	r->node_fixed_bytes = (double)(heap1 - heap0) / o->members;
	rc = 0;
out:
	gsim_ctx_fini(&c);
	r->wall_s = gsim_wall() - w0;
	return rc;
}
