/* SPDX-License-Identifier: MIT */
/*
 * dataplane/dp_spsc.h, the ring of the build without DPDK: sizes, order,
 * full and empty, bursts across the wrap, and two threads passing a
 * bounded count of numbered elements (every one arrives, once, in order).
 */
#include <criterion/criterion.h>

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "dp_spsc.h"

/* 24 bytes: not a power of two, so slot offsets are really multiplied */
struct elem {
	uint64_t seq;
	uint64_t check;
	uint32_t pad[2];
};

static struct dp_spsc *
ring_new(uint32_t size)
{
	size_t sz = dp_spsc_memsize(sizeof(struct elem), size);
	struct dp_spsc *r;

	cr_assert_neq(sz, 0);
	r = aligned_alloc(DP_SPSC_LINE, sz);
	cr_assert_not_null(r);
	cr_assert_eq(dp_spsc_init(r, sizeof(struct elem), size), 0);
	return r;
}

static struct elem
elem_of(uint64_t seq)
{
	struct elem e = { .seq = seq, .check = ~seq * 0x9e3779b97f4a7c15ull };

	return e;
}

Test(dp_spsc, memsize_and_init_reject_bad_sizes)
{
	cr_assert_eq(dp_spsc_memsize(8, 0), 0);
	cr_assert_eq(dp_spsc_memsize(8, 1), 0);
	cr_assert_eq(dp_spsc_memsize(8, 3), 0);
	cr_assert_eq(dp_spsc_memsize(8, 1000), 0);
	cr_assert_eq(dp_spsc_memsize(8, DP_SPSC_SIZE_MAX * 2), 0);
	cr_assert_eq(dp_spsc_memsize(0, 8), 0);
	cr_assert_eq(dp_spsc_memsize(65537, 8), 0);
	cr_assert_eq(dp_spsc_memsize(8, 2) % DP_SPSC_LINE, 0);
	cr_assert_geq(dp_spsc_memsize(8, 1024),
		      sizeof(struct dp_spsc) + 8 * 1024);
	cr_assert_eq(dp_spsc_init(NULL, 8, 8), -EINVAL);

	struct dp_spsc r;

	cr_assert_eq(dp_spsc_init(&r, 8, 6), -EINVAL);
	cr_assert_eq(dp_spsc_init(&r, 0, 8), -EINVAL);
}

Test(dp_spsc, new_ring_is_empty_and_holds_size_minus_one)
{
	struct dp_spsc *r = ring_new(8);
	struct elem in[10], out[10];

	cr_assert(dp_spsc_empty(r));
	cr_assert_eq(dp_spsc_count(r), 0);
	cr_assert_eq(dp_spsc_capacity(r), 7);
	cr_assert_eq(dp_spsc_dequeue_burst(r, out, 10), 0, "empty: none");
	for (unsigned i = 0; i < 10; i++)
		in[i] = elem_of(i);
	/* as rte_ring without RING_F_EXACT_SZ: size 8 holds 7 */
	cr_assert_eq(dp_spsc_enqueue_burst(r, in, 10), 7);
	cr_assert_eq(dp_spsc_count(r), 7);
	cr_assert_not(dp_spsc_empty(r));
	cr_assert_eq(dp_spsc_enqueue_burst(r, in, 1), 0, "full: none");
	cr_assert_eq(dp_spsc_dequeue_burst(r, out, 10), 7);
	cr_assert_eq(memcmp(out, in, 7 * sizeof(in[0])), 0, "in order");
	cr_assert(dp_spsc_empty(r));
	free(r);
}

Test(dp_spsc, zero_sized_bursts_do_nothing)
{
	struct dp_spsc *r = ring_new(4);
	struct elem e = elem_of(1);

	cr_assert_eq(dp_spsc_enqueue_burst(r, &e, 0), 0);
	cr_assert_eq(dp_spsc_dequeue_burst(r, &e, 0), 0);
	cr_assert(dp_spsc_empty(r));
	free(r);
}

/* Bursts of every length 1..size-1 from every start slot: the copy
 * splits at the end of the slot array and must keep order. */
Test(dp_spsc, bursts_across_the_wrap_keep_order)
{
	struct dp_spsc *r = ring_new(16);
	struct elem in[15], out[15];
	uint64_t seq = 0, want = 0;

	for (unsigned start = 0; start < 16; start++) {
		for (unsigned n = 1; n <= 15; n++) {
			for (unsigned i = 0; i < n; i++)
				in[i] = elem_of(seq++);
			cr_assert_eq(dp_spsc_enqueue_burst(r, in, n), n);
			cr_assert_eq(dp_spsc_count(r), n);
			cr_assert_eq(dp_spsc_dequeue_burst(r, out, n), n);
			for (unsigned i = 0; i < n; i++, want++)
				cr_assert_eq(out[i].seq, want,
					     "start %u n %u i %u", start, n, i);
			cr_assert_eq(memcmp(out, in, n * sizeof(in[0])), 0);
		}
		/* move the start slot by one for the next round */
		in[0] = elem_of(seq++);
		cr_assert_eq(dp_spsc_enqueue_burst(r, in, 1), 1);
		cr_assert_eq(dp_spsc_dequeue_burst(r, out, 1), 1);
		cr_assert_eq(out[0].seq, want++);
	}
}

Test(dp_spsc, partial_dequeue_then_refill)
{
	struct dp_spsc *r = ring_new(4);
	struct elem in[3] = { elem_of(0), elem_of(1), elem_of(2) };
	struct elem more[2] = { elem_of(3), elem_of(4) };
	struct elem out[4];

	cr_assert_eq(dp_spsc_enqueue_burst(r, in, 3), 3);
	cr_assert_eq(dp_spsc_dequeue_burst(r, out, 2), 2);
	cr_assert_eq(out[0].seq, 0);
	cr_assert_eq(out[1].seq, 1);
	/* two slots free again: one more than that is refused */
	cr_assert_eq(dp_spsc_enqueue_burst(r, more, 2), 2);
	cr_assert_eq(dp_spsc_enqueue_burst(r, in, 1), 0);
	cr_assert_eq(dp_spsc_dequeue_burst(r, out, 4), 3);
	cr_assert_eq(out[0].seq, 2);
	cr_assert_eq(out[1].seq, 3);
	cr_assert_eq(out[2].seq, 4);
	free(r);
}

/* One thread on both sides (the inline dataplane): an emptied ring
 * rewound writes slot 0 again, the same memory, and still holds
 * size - 1 in order. */
Test(dp_spsc, rewound_empty_ring_reuses_slot_zero)
{
	struct dp_spsc *r = ring_new(8);
	struct elem e = elem_of(7), out[8];
	const struct elem *slot0 = (const struct elem *)(void *)r->slots;

	for (uint64_t i = 0; i < 5; i++) {
		struct elem x = elem_of(i);

		cr_assert_eq(dp_spsc_enqueue_burst(r, &x, 1), 1);
		cr_assert_eq(dp_spsc_dequeue_burst(r, out, 1), 1);
	}
	/* walked round: the next element would land in slot 5 */
	cr_assert_eq(slot0->seq, 0);
	dp_spsc_rewind(r);
	cr_assert(dp_spsc_empty(r));
	cr_assert_eq(dp_spsc_enqueue_burst(r, &e, 1), 1);
	cr_assert_eq(slot0->seq, 7, "slot 0 written again");
	cr_assert_eq(dp_spsc_dequeue_burst(r, out, 1), 1);
	cr_assert_eq(out[0].seq, 7);
	dp_spsc_rewind(r);
	for (uint64_t i = 0; i < 7; i++) {
		struct elem x = elem_of(100 + i);

		cr_assert_eq(dp_spsc_enqueue_burst(r, &x, 1), 1);
	}
	cr_assert_eq(dp_spsc_enqueue_burst(r, &e, 1), 0, "size - 1 only");
	cr_assert_eq(dp_spsc_dequeue_burst(r, out, 8), 7);
	for (uint64_t i = 0; i < 7; i++)
		cr_assert_eq(out[i].seq, 100 + i);
	free(r);
}

/* Indices run free over uint32_t: start them just below the wrap. */
Test(dp_spsc, index_wrap_at_uint32_max)
{
	struct dp_spsc *r = ring_new(8);
	struct elem in[7], out[7];

	atomic_store(&r->head, UINT32_MAX - 3);
	atomic_store(&r->tail, UINT32_MAX - 3);
	cr_assert(dp_spsc_empty(r));
	for (unsigned round = 0; round < 3; round++) {
		for (unsigned i = 0; i < 7; i++)
			in[i] = elem_of(round * 7 + i);
		cr_assert_eq(dp_spsc_enqueue_burst(r, in, 7), 7);
		cr_assert_eq(dp_spsc_count(r), 7);
		cr_assert_eq(dp_spsc_enqueue_burst(r, in, 1), 0);
		cr_assert_eq(dp_spsc_dequeue_burst(r, out, 7), 7);
		cr_assert_eq(memcmp(out, in, sizeof(in)), 0);
	}
	free(r);
}

#define STRESS_N 1000000u	/* elements; bounded, well under 10 s */
#define STRESS_BURST 13u	/* odd, so bursts straddle the wrap */

static void *
stress_producer(void *arg)
{
	struct dp_spsc *r = arg;
	struct elem buf[STRESS_BURST];
	uint64_t next = 0;

	while (next < STRESS_N) {
		unsigned n = STRESS_N - next < STRESS_BURST ?
			(unsigned)(STRESS_N - next) : STRESS_BURST;

		for (unsigned i = 0; i < n; i++)
			buf[i] = elem_of(next + i);
		/* full: what did not fit is offered again, not lost */
		next += dp_spsc_enqueue_burst(r, buf, n);
	}
	return NULL;
}

Test(dp_spsc, two_threads_every_element_once_in_order, .timeout = 60)
{
	struct dp_spsc *r = ring_new(64);
	struct elem buf[STRESS_BURST + 4];
	pthread_t prod;
	uint64_t want = 0, bad = 0;

	cr_assert_eq(pthread_create(&prod, NULL, stress_producer, r), 0);
	while (want < STRESS_N) {
		unsigned n = dp_spsc_dequeue_burst(r, buf, STRESS_BURST + 4);

		cr_assert_leq(dp_spsc_count(r), dp_spsc_capacity(r));
		for (unsigned i = 0; i < n; i++, want++) {
			struct elem e = elem_of(want);

			bad += buf[i].seq != e.seq || buf[i].check != e.check;
		}
		/* before the join: a producer left with a full ring spins */
		cr_assert_eq(bad, 0, "element %llu lost, repeated or torn",
			     (unsigned long long)want);
	}
	pthread_join(prod, NULL);
	cr_assert_eq(want, STRESS_N);
	cr_assert(dp_spsc_empty(r));
	free(r);
}
