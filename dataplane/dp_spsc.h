/* SPDX-License-Identifier: MIT */
/*
 * A single-producer/single-consumer ring of fixed-size elements, for the
 * build without DPDK (dp_ring.c uses rte_ring when DPDK is there). It keeps
 * what dp_ring.c relies on from rte_ring: a power-of-two size of which
 * size - 1 slots are usable (so ring_size means the same in both builds),
 * burst enqueue that takes what fits (the caller counts the rest as
 * dropped), burst dequeue in order, and a racy count for gauges.
 *
 * Indices run free over uint32_t and are masked on use, so head - tail is
 * the fill level even across the wrap. The producer alone writes head, the
 * consumer alone writes tail; each publishes with a release store that
 * pairs with the other side's acquire load, so a slot's bytes are written
 * before the consumer can see them and read before the producer reuses
 * them. Element bytes are copied (memcpy), like rte_ring's _elem calls.
 */
#ifndef DP_SPSC_H
#define DP_SPSC_H

#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define DP_SPSC_LINE 64
#define DP_SPSC_SIZE_MAX (1u << 24)	/* elements; ample for dp rings */

struct dp_spsc {
	/* read-only after dp_spsc_init: shared by both sides */
	alignas(DP_SPSC_LINE) uint32_t mask;	/* size - 1 */
	uint32_t esize;				/* bytes per element */
	unsigned char *slots;			/* size * esize bytes */
	/* one line each, so the two sides do not share a written line */
	alignas(DP_SPSC_LINE) _Atomic uint32_t head;	/* next slot to fill */
	alignas(DP_SPSC_LINE) _Atomic uint32_t tail;	/* next slot to take */
};

/** Bytes to allocate (aligned to DP_SPSC_LINE) for a ring of @p size
 * elements of @p esize bytes; 0 when size is not a power of 2 in
 * 2..DP_SPSC_SIZE_MAX or esize is 0 or above 64 KiB. */
static inline size_t
dp_spsc_memsize(uint32_t esize, uint32_t size)
{
	size_t sz;

	if (size < 2 || size > DP_SPSC_SIZE_MAX || (size & (size - 1)) ||
	    esize == 0 || esize > 65536)
		return 0;
	sz = sizeof(struct dp_spsc) + (size_t)esize * size;
	return (sz + DP_SPSC_LINE - 1) & ~(size_t)(DP_SPSC_LINE - 1);
}

/** Init a ring in memory of dp_spsc_memsize bytes. 0 or -EINVAL. */
static inline int
dp_spsc_init(struct dp_spsc *r, uint32_t esize, uint32_t size)
{
	if (r == NULL || dp_spsc_memsize(esize, size) == 0)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->mask = size - 1;
	r->esize = esize;
	r->slots = (unsigned char *)(r + 1);
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	return 0;
}

/** Usable slots: size - 1, as rte_ring without RING_F_EXACT_SZ. */
static inline unsigned
dp_spsc_capacity(const struct dp_spsc *r)
{
	return r->mask;
}

/** Elements queued now (exact on either side for its own view; racy for
 * a third thread, which is all a gauge needs). */
static inline unsigned
dp_spsc_count(const struct dp_spsc *r)
{
	/* tail first: head only grows and never passes tail + size - 1,
	 * so a third thread sees h - t >= 0; it can see more than size - 1
	 * when both sides moved between the loads, hence the clamp */
	uint32_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
	uint32_t h = atomic_load_explicit(&r->head, memory_order_acquire);
	uint32_t d = h - t;

	return d > r->mask ? r->mask : d;
}

static inline bool
dp_spsc_empty(const struct dp_spsc *r)
{
	return dp_spsc_count(r) == 0;
}

/** Both sides at once (one thread is producer and consumer), ring empty:
 * start over at slot 0, so a quiet ring keeps reusing the same few
 * slots. Not for a ring two threads share. */
static inline void
dp_spsc_rewind(struct dp_spsc *r)
{
	atomic_store_explicit(&r->head, 0, memory_order_relaxed);
	atomic_store_explicit(&r->tail, 0, memory_order_relaxed);
}

/* Copy n elements between the ring at index i and a flat array,
 * in two pieces when the run wraps past the last slot. */
static inline void
dp_spsc_copy(const struct dp_spsc *r, uint32_t i, void *flat, unsigned n,
	     bool to_ring)
{
	size_t at = (size_t)(i & r->mask) * r->esize;
	unsigned first = r->mask + 1 - (i & r->mask);
	size_t b1, b2;

	if (first > n)
		first = n;
	b1 = (size_t)first * r->esize;
	b2 = (size_t)(n - first) * r->esize;
	if (to_ring) {
		memcpy(r->slots + at, flat, b1);
		memcpy(r->slots, (unsigned char *)flat + b1, b2);
	} else {
		memcpy(flat, r->slots + at, b1);
		memcpy((unsigned char *)flat + b1, r->slots, b2);
	}
}

/** Producer only: queue up to @p n elements from @p objs, in order.
 * @return how many were queued (less than n when the ring is full). */
static inline unsigned
dp_spsc_enqueue_burst(struct dp_spsc *r, const void *objs, unsigned n)
{
	uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	/* pairs with the consumer's release store of tail: its reads of
	 * the slots we are about to reuse are done */
	uint32_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
	unsigned room = r->mask - (h - t);

	if (n > room)
		n = room;
	if (n == 0)
		return 0;
	dp_spsc_copy(r, h, (void *)(uintptr_t)objs, n, true);
	/* pairs with the consumer's acquire load of head */
	atomic_store_explicit(&r->head, h + n, memory_order_release);
	return n;
}

/** Consumer only: take up to @p n elements into @p objs, oldest first.
 * @return how many were taken (0 when empty). */
static inline unsigned
dp_spsc_dequeue_burst(struct dp_spsc *r, void *objs, unsigned n)
{
	uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	/* pairs with the producer's release store of head */
	uint32_t h = atomic_load_explicit(&r->head, memory_order_acquire);
	unsigned avail = h - t;

	if (n > avail)
		n = avail;
	if (n == 0)
		return 0;
	dp_spsc_copy(r, t, objs, n, false);
	/* pairs with the producer's acquire load of tail */
	atomic_store_explicit(&r->tail, t + n, memory_order_release);
	return n;
}

#endif /* DP_SPSC_H */
