/* SPDX-License-Identifier: MIT */
/*
 * The simulated pool's failure detector for injected failures: in a real
 * pool of n members each member probes one member per probe interval, so
 * a silent member is probed about once per interval by somebody. Its first
 * prober suspects it one probe interval later (timeout, then indirect
 * probes until the interval ends), later probers confirm, and Lifeguard's
 * suspicion timeout (memberlist-wire.md §11.3) shrinks with each
 * confirmation. Pure: time and randomness come in as arguments.
 */
#include <math.h>
#include <stdlib.h>

#include "swarm.h"

/* scale = max(1, log10(max(1, n))), truncated to 1/1000 as memberlist. */
static double
swarm_sim_scale(uint32_t n)
{
	double s = log10(n > 1 ? (double)n : 1.0);

	if (s < 1.0)
		s = 1.0;
	return floor(s * 1000.0) / 1000.0;
}

unsigned
swarm_sim_k(const struct swarm_timing *t, uint32_t n)
{
	unsigned k = t->suspicion_mult > 2 ? t->suspicion_mult - 2 : 0;

	return n < 2 || n - 2 < k ? 0 : k;
}

uint64_t
swarm_sim_timeout_us(const struct swarm_timing *t, uint32_t n, unsigned c)
{
	double min_ms = t->suspicion_mult * swarm_sim_scale(n) *
			t->probe_interval_ms;
	double max_ms = t->suspicion_max_mult * min_ms;
	unsigned k = swarm_sim_k(t, n);
	double ms;

	if (k < 1)
		return (uint64_t)min_ms * 1000;
	if (c > k)
		c = k;
	ms = max_ms - log(c + 1.0) / log(k + 1.0) * (max_ms - min_ms);
	if (ms < min_ms)
		ms = min_ms;
	return (uint64_t)floor(ms) * 1000;
}

double
swarm_sim_predict_s(const struct swarm_timing *t, uint32_t n)
{
	/*
	 * Mean wait for the first probe (one interval), the probe's own
	 * interval, then the minimum timeout: confirmations arrive about
	 * once per interval, so k of them come well before it.
	 */
	return (2.0 * t->probe_interval_ms +
		(double)swarm_sim_timeout_us(t, n, UINT32_MAX) / 1000.0) /
	       1000.0;
}

/* An exponential delay with the given mean, from r in (0, 1]. */
static uint64_t
swarm_sim_exp_us(double mean_us, double r)
{
	if (r <= 0.0 || r > 1.0)
		r = 1.0;
	return (uint64_t)(-log(r) * mean_us);
}

void
swarm_sim_start(struct swarm_fail *f, const struct swarm_timing *t,
		uint32_t idx, uint64_t now, double r)
{
	double pi_us = t->probe_interval_ms * 1000.0;

	f->idx = idx;
	f->from = idx;
	f->t_fail = now;
	f->t_suspect = now + swarm_sim_exp_us(pi_us, r) + (uint64_t)pi_us;
	f->t_next = 0;
	f->t_dead = 0;
	f->conf = 0;
	f->phase = SWARM_FP_WAIT;
}

/* A member other than the failed one, from r in (0, 1]. */
static uint32_t
swarm_sim_pick(const struct swarm_fail *f, uint32_t n_members, double r)
{
	uint32_t i;

	if (n_members < 2)
		return f->idx;
	i = (uint32_t)(r * (n_members - 1));
	if (i >= n_members - 1)
		i = n_members - 2;
	return i >= f->idx ? i + 1 : i;
}

enum swarm_sim_out
swarm_sim_step(struct swarm_fail *f, const struct swarm_timing *t,
	       uint32_t n, uint32_t n_members, uint64_t now, double r1,
	       double r2, uint32_t *from)
{
	double pi_us = t->probe_interval_ms * 1000.0;

	switch (f->phase) {
	case SWARM_FP_WAIT:
		if (now < f->t_suspect)
			return SWARM_SIM_NONE;
		f->phase = SWARM_FP_SUSPECT;
		f->from = swarm_sim_pick(f, n_members, r2);
		f->t_next = f->t_suspect + swarm_sim_exp_us(pi_us, r1);
		*from = f->from;
		return SWARM_SIM_SUSPECT;
	case SWARM_FP_SUSPECT:
		if (now >= f->t_suspect + swarm_sim_timeout_us(t, n, f->conf)) {
			f->phase = SWARM_FP_DEAD;
			f->t_dead = now;
			*from = f->from;
			return SWARM_SIM_DEAD;
		}
		if (now < f->t_next || f->conf >= swarm_sim_k(t, n))
			return SWARM_SIM_NONE;
		/* Another prober failed too: a confirmation from it. */
		f->conf++;
		f->t_next += swarm_sim_exp_us(pi_us, r1);
		*from = swarm_sim_pick(f, n_members, r2);
		return SWARM_SIM_SUSPECT;
	default:
		return SWARM_SIM_NONE;
	}
}

static int
swarm_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
swarm_percentile(double *v, size_t n, double p)
{
	size_t rank;

	if (n == 0)
		return 0.0;
	qsort(v, n, sizeof(*v), swarm_cmp_double);
	/* Nearest rank: the smallest value with p% at or below it. */
	rank = (size_t)ceil(p / 100.0 * (double)n);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}
