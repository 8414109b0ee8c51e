/*
 * A binary min-heap of embedded timers. Ties are broken by nothing in
 * particular; owners must not depend on the order of equal deadlines.
 */
#include "swim_timer.h"

#include <stdlib.h>

void
swim_timer_heap_init(struct swim_timer_heap *h)
{
	h->v = NULL;
	h->nb = 0;
	h->cap = 0;
}

void
swim_timer_heap_destroy(struct swim_timer_heap *h)
{
	for (uint32_t i = 0; i < h->nb; i++)
		h->v[i]->idx = SWIM_TIMER_IDLE;
	free(h->v);
	swim_timer_heap_init(h);
}

int
swim_timer_heap_reserve(struct swim_timer_heap *h, uint32_t n)
{
	if (n <= h->cap)
		return 0;
	uint32_t cap = h->cap ? h->cap : 16;
	while (cap < n)
		cap *= 2;
	struct swim_timer **v = realloc(h->v, cap * sizeof(*v));
	if (v == NULL)
		return -1;
	h->v = v;
	h->cap = cap;
	return 0;
}

static void
swim_timer_place(struct swim_timer_heap *h, uint32_t i, struct swim_timer *t)
{
	h->v[i] = t;
	t->idx = i;
}

static void
swim_timer_sift_up(struct swim_timer_heap *h, uint32_t i)
{
	struct swim_timer *t = h->v[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (h->v[parent]->when <= t->when)
			break;
		swim_timer_place(h, i, h->v[parent]);
		i = parent;
	}
	swim_timer_place(h, i, t);
}

static void
swim_timer_sift_down(struct swim_timer_heap *h, uint32_t i)
{
	struct swim_timer *t = h->v[i];

	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= h->nb)
			break;
		if (c + 1 < h->nb && h->v[c + 1]->when < h->v[c]->when)
			c++;
		if (t->when <= h->v[c]->when)
			break;
		swim_timer_place(h, i, h->v[c]);
		i = c;
	}
	swim_timer_place(h, i, t);
}

int
swim_timer_arm(struct swim_timer_heap *h, struct swim_timer *t, uint64_t when)
{
	if (swim_timer_armed(t)) {
		uint64_t old = t->when;
		t->when = when;
		if (when < old)
			swim_timer_sift_up(h, t->idx);
		else
			swim_timer_sift_down(h, t->idx);
		return 0;
	}
	if (swim_timer_heap_reserve(h, h->nb + 1) != 0)
		return -1;
	t->when = when;
	swim_timer_place(h, h->nb++, t);
	swim_timer_sift_up(h, t->idx);
	return 0;
}

void
swim_timer_cancel(struct swim_timer_heap *h, struct swim_timer *t)
{
	if (!swim_timer_armed(t))
		return;
	uint32_t i = t->idx;
	struct swim_timer *last = h->v[--h->nb];

	t->idx = SWIM_TIMER_IDLE;
	if (last == t)
		return;
	swim_timer_place(h, i, last);
	swim_timer_sift_down(h, i);
	swim_timer_sift_up(h, last->idx);
}

uint64_t
swim_timer_next(const struct swim_timer_heap *h)
{
	return h->nb == 0 ? UINT64_MAX : h->v[0]->when;
}

uint64_t
swim_timer_next_except(const struct swim_timer_heap *h,
		       const struct swim_timer *skip)
{
	uint64_t next = UINT64_MAX;

	if (h->nb == 0 || h->v[0] != skip)
		return swim_timer_next(h);
	/* skip is the root: the earliest other one is one of its children */
	if (h->nb > 1)
		next = h->v[1]->when;
	if (h->nb > 2 && h->v[2]->when < next)
		next = h->v[2]->when;
	return next;
}

struct swim_timer *
swim_timer_pop_due(struct swim_timer_heap *h, uint64_t now)
{
	if (h->nb == 0 || h->v[0]->when > now)
		return NULL;
	struct swim_timer *t = h->v[0];
	swim_timer_cancel(h, t);
	return t;
}
