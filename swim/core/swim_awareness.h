/**
 * @file
 * Lifeguard local health ("awareness", memberlist awareness.go): a score
 * in [0, max - 1] that grows when this node seems to be the slow one and
 * stretches its probe interval so it accuses others less eagerly.
 */
#ifndef SWIM_AWARENESS_H_INCLUDED
#define SWIM_AWARENESS_H_INCLUDED

#include <stdint.h>

struct swim_awareness {
	int score;	/* 0 = healthy */
	int max;	/* AwarenessMaxMultiplier; score stays below it */
};

/** Start healthy. max < 1 is treated as 1 (score pinned at 0). */
void swim_awareness_init(struct swim_awareness *a, uint32_t max);

/** Add delta (may be negative) and clamp into [0, max - 1]. */
void swim_awareness_apply(struct swim_awareness *a, int delta);

/** timeout * (score + 1): the probe interval actually used. */
uint64_t swim_awareness_scale(const struct swim_awareness *a,
			      uint64_t timeout_us);

#endif /* SWIM_AWARENESS_H_INCLUDED */
