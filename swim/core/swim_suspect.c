/*
 * Lifeguard suspicion arithmetic, with memberlist 0.2.2's rounding so the
 * timeouts match a real serf agent's to the millisecond.
 */
#include "swim_suspect.h"

#include <math.h>

uint64_t
swim_suspicion_min_us(uint32_t mult, uint32_t n, uint64_t interval_us)
{
	double scale = log10(n > 1 ? (double)n : 1.0);

	if (scale < 1.0)
		scale = 1.0;
	/* Go: Duration(mult) * Duration(scale * 1000) * interval / 1000. */
	uint64_t milli = (uint64_t)(scale * 1000.0);
	return (uint64_t)mult * milli * interval_us / 1000;
}

uint32_t
swim_suspicion_k(uint32_t mult, uint32_t n)
{
	if (mult < 2)
		return 0;
	uint32_t k = mult - 2;
	/* n - 2 leaves out ourselves and the suspect. */
	if ((int64_t)n - 2 < (int64_t)k)
		return 0;
	return k > SWIM_SUSPECT_K_MAX ? SWIM_SUSPECT_K_MAX : k;
}

uint64_t
swim_suspicion_total_us(uint32_t c, uint32_t k, uint64_t min_us,
			uint64_t max_us)
{
	if (k == 0 || max_us <= min_us)
		return min_us;
	double frac = log((double)c + 1.0) / log((double)k + 1.0);
	double max_s = (double)max_us / 1e6;
	double min_s = (double)min_us / 1e6;
	double raw = max_s - frac * (max_s - min_s);
	double ms = floor(1000.0 * raw);
	if (ms < 0)
		return min_us;
	uint64_t total = (uint64_t)ms * 1000;
	return total < min_us ? min_us : total;
}

uint32_t
swim_retransmit_limit(uint32_t mult, uint32_t n)
{
	double scale = ceil(log10((double)n + 1.0));
	return mult * (uint32_t)scale;
}

uint64_t
swim_push_pull_scale(uint64_t interval_us, uint32_t n)
{
	if (n <= 32)
		return interval_us;
	double mult = ceil(log2((double)n) - log2(32.0)) + 1.0;
	return (uint64_t)mult * interval_us;
}

void
swim_suspicion_start(struct swim_suspicion *s, uint64_t from, uint32_t k,
		     uint64_t min_us, uint64_t max_us, uint64_t now_us)
{
	s->start_us = now_us;
	s->min_us = min_us;
	s->max_us = max_us;
	s->k = k > SWIM_SUSPECT_K_MAX ? SWIM_SUSPECT_K_MAX : k;
	s->n = 0;
	s->seen[0] = from;
	/* Nothing to wait for: go straight to the short timeout. */
	s->deadline_us = now_us + (s->k < 1 ? min_us : max_us);
}

bool
swim_suspicion_confirm(struct swim_suspicion *s, uint64_t from)
{
	if (s->n >= s->k)
		return false;
	for (uint32_t i = 0; i <= s->n; i++) {
		if (s->seen[i] == from)
			return false;
	}
	s->n++;
	s->seen[s->n] = from;
	s->deadline_us = s->start_us +
		swim_suspicion_total_us(s->n, s->k, s->min_us, s->max_us);
	return true;
}
