/*
 * Lifeguard local health score, after memberlist's awareness.go.
 */
#include "swim_awareness.h"

void
swim_awareness_init(struct swim_awareness *a, uint32_t max)
{
	a->score = 0;
	a->max = max < 1 ? 1 : (max > 1024 ? 1024 : (int)max);
}

void
swim_awareness_apply(struct swim_awareness *a, int delta)
{
	long score = (long)a->score + delta;

	if (score < 0)
		score = 0;
	else if (score > a->max - 1)
		score = a->max - 1;
	a->score = (int)score;
}

uint64_t
swim_awareness_scale(const struct swim_awareness *a, uint64_t timeout_us)
{
	return timeout_us * ((uint64_t)a->score + 1);
}
