/**
 * @file
 * Deadlines of the core in one binary min-heap. Timers are embedded in
 * their owners (a member's suspicion, the probe, the periodic ticks) and
 * know their heap slot, so arming, moving and cancelling are O(log n) and
 * no work is ever proportional to the number of members per tick.
 */
#ifndef SWIM_TIMER_H_INCLUDED
#define SWIM_TIMER_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#define SWIM_TIMER_IDLE UINT32_MAX

struct swim_timer {
	uint64_t when;		/* µs */
	uint32_t idx;		/* heap slot, SWIM_TIMER_IDLE when not armed */
	uint32_t kind;		/* what the owner is; see swim_int.h */
};

struct swim_timer_heap {
	struct swim_timer **v;
	uint32_t nb;
	uint32_t cap;
};

static inline void
swim_timer_init(struct swim_timer *t, uint32_t kind)
{
	t->when = 0;
	t->idx = SWIM_TIMER_IDLE;
	t->kind = kind;
}

static inline bool
swim_timer_armed(const struct swim_timer *t)
{
	return t->idx != SWIM_TIMER_IDLE;
}

void swim_timer_heap_init(struct swim_timer_heap *h);
void swim_timer_heap_destroy(struct swim_timer_heap *h);

/** Make room for n timers so that arming cannot fail. @retval 0 or -1. */
int swim_timer_heap_reserve(struct swim_timer_heap *h, uint32_t n);

/** Arm or re-arm t at when. @retval 0, or -1 if out of memory. */
int swim_timer_arm(struct swim_timer_heap *h, struct swim_timer *t,
		   uint64_t when);

/** Disarm t; no-op when it is not armed. */
void swim_timer_cancel(struct swim_timer_heap *h, struct swim_timer *t);

/** The earliest deadline, or UINT64_MAX when nothing is armed. */
uint64_t swim_timer_next(const struct swim_timer_heap *h);
/** swim_timer_next as if skip were not armed. */
uint64_t swim_timer_next_except(const struct swim_timer_heap *h,
				const struct swim_timer *skip);

/** Disarm and return the earliest timer due at or before now, or NULL. */
struct swim_timer *swim_timer_pop_due(struct swim_timer_heap *h,
				      uint64_t now);

#endif /* SWIM_TIMER_H_INCLUDED */
