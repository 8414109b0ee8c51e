/*
 * The transmit-limited broadcast queue (memberlist queue.go semantics).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "swim_diss.h"

static struct swim_diss q;

static void
setup(void)
{
	swim_diss_init(&q, 42, 0);
}

static void
teardown(void)
{
	swim_diss_destroy(&q);
}

/* A message of len bytes, all equal to tag. */
static void
push(uint8_t tag, size_t len, struct swim_bcast **owner, uint32_t flags)
{
	uint8_t buf[2048];
	memset(buf, tag, len);
	cr_assert_eq(swim_diss_push(&q, buf, len, owner, flags), 0);
}

static unsigned
take(size_t limit, uint32_t tl, uint8_t *tags, unsigned max)
{
	struct swim_str parts[64];
	size_t used = 0;
	unsigned nb = swim_diss_take(&q, 2, limit, tl, parts, max, &used);
	size_t sum = 0;
	for (unsigned i = 0; i < nb; i++) {
		tags[i] = parts[i].ptr[0];
		sum += parts[i].len + 2;
	}
	cr_assert_eq(used, sum);
	cr_assert(used <= limit);
	swim_diss_release(&q);
	return nb;
}

TestSuite(core_diss, .init = setup, .fini = teardown);

Test(core_diss, push_errors)
{
	uint8_t b[1] = { 1 };
	cr_assert_eq(swim_diss_push(&q, b, 0, NULL, 0), -1);
	cr_assert_eq(swim_diss_push(&q, b, SWIM_UDP_MAX + 1, NULL, 0), -1);
	cr_assert_eq(q.nb, 0);
}

Test(core_diss, largest_first_then_newest)
{
	uint8_t t[8];
	push('a', 10, NULL, 0);
	push('b', 30, NULL, 0);
	push('c', 20, NULL, 0);
	push('d', 30, NULL, 0);	/* same length as b, newer */
	cr_assert_eq(take(1000, 10, t, 8), 4);
	cr_assert_eq(memcmp(t, "dbca", 4), 0);
}

Test(core_diss, fewest_transmits_first)
{
	uint8_t t[8];
	push('a', 50, NULL, 0);
	cr_assert_eq(take(1000, 10, t, 8), 1);	/* a now sent once */
	push('b', 10, NULL, 0);
	cr_assert_eq(take(1000, 10, t, 8), 2);
	cr_assert_eq(memcmp(t, "ba", 2), 0);
}

Test(core_diss, only_what_fits)
{
	uint8_t t[8];
	push('a', 100, NULL, 0);
	push('b', 40, NULL, 0);
	push('c', 30, NULL, 0);
	/* 80 bytes: b (42) then c would need 32 -> 74, a never fits */
	cr_assert_eq(take(80, 10, t, 8), 2);
	cr_assert_eq(memcmp(t, "bc", 2), 0);
	/* 44 bytes: a and b do not fit; tier 0 has nothing that fits,
	 * tier 1 holds b and c: the largest fitting is b (42). */
	cr_assert_eq(take(44, 10, t, 8), 1);
	cr_assert_eq(t[0], 'b');
	/* Still queued: a was never sent. */
	cr_assert_eq(q.nb, 3);
}

Test(core_diss, retransmit_limit_retires)
{
	uint8_t t[8];
	push('a', 10, NULL, 0);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(q.nb, 1);
		cr_assert_eq(take(1000, 4, t, 8), 1);
	}
	cr_assert_eq(q.nb, 0);
	cr_assert_eq(take(1000, 4, t, 8), 0);
}

Test(core_diss, limit_one_sends_once)
{
	uint8_t t[8];
	push('a', 10, NULL, 0);
	cr_assert_eq(take(1000, 1, t, 8), 1);
	cr_assert_eq(q.nb, 0);
}

Test(core_diss, one_pick_per_take)
{
	uint8_t t[8];
	push('a', 10, NULL, 0);
	/* Plenty of room: still sent once per packet. */
	cr_assert_eq(take(1000, 10, t, 8), 1);
}

Test(core_diss, newer_about_same_node_replaces)
{
	struct swim_bcast *owner = NULL;
	uint8_t t[8];
	push('a', 10, &owner, 0);
	cr_assert_not_null(owner);
	take(1000, 10, t, 8);
	push('b', 12, &owner, 0);
	cr_assert_eq(q.nb, 1);
	cr_assert_eq(take(1000, 10, t, 8), 1);
	cr_assert_eq(t[0], 'b');
}

Test(core_diss, owner_cleared_when_retired)
{
	struct swim_bcast *owner = NULL;
	uint8_t t[8];
	push('a', 10, &owner, 0);
	take(1000, 1, t, 8);
	cr_assert_null(owner);
	/* And a new one for the same slot does not touch the old item. */
	push('b', 10, &owner, 0);
	cr_assert_eq(q.nb, 1);
}

Test(core_diss, detach_keeps_message)
{
	struct swim_bcast *owner = NULL;
	uint8_t t[8];
	push('a', 10, &owner, 0);
	swim_diss_detach(owner);
	owner = NULL;
	push('b', 10, &owner, 0);
	cr_assert_eq(q.nb, 2);
	cr_assert_eq(take(1000, 10, t, 8), 2);
}

Test(core_diss, leave_flag_counts_until_done)
{
	struct swim_bcast *owner = NULL;
	uint8_t t[8];
	push('a', 10, &owner, SWIM_BCAST_LEAVE);
	cr_assert_eq(q.nb_leave, 1);
	take(1000, 2, t, 8);
	cr_assert_eq(q.nb_leave, 1);
	take(1000, 2, t, 8);
	cr_assert_eq(q.nb_leave, 0);
	/* Replaced counts as done too. */
	push('a', 10, &owner, SWIM_BCAST_LEAVE);
	push('b', 10, &owner, 0);
	cr_assert_eq(q.nb_leave, 0);
}

Test(core_diss, max_parts_respected)
{
	uint8_t t[8];
	for (int i = 0; i < 6; i++)
		push((uint8_t)('a' + i), 10, NULL, 0);
	cr_assert_eq(take(1000, 10, t, 3), 3);
	cr_assert_eq(q.nb, 6);
}

Test(core_diss, depth_limit)
{
	uint8_t t[8];
	swim_diss_destroy(&q);
	swim_diss_init(&q, 1, 2);
	push('a', 10, NULL, 0);
	cr_assert_eq(take(1000, 10, t, 8), 1);	/* a: one transmit done */
	push('b', 10, NULL, 0);
	/* Full: a, with the most transmits, goes and is counted. */
	push('c', 10, NULL, 0);
	cr_assert_eq(q.nb, 2);
	cr_assert_eq(q.dropped, 1);
	cr_assert_eq(take(1000, 10, t, 8), 2);
	cr_assert_eq(memcmp(t, "cb", 2), 0);
}

Test(core_diss, clear_and_recycle)
{
	struct swim_bcast *owner = NULL;
	push('a', 10, &owner, SWIM_BCAST_LEAVE);
	push('b', 10, NULL, 0);
	swim_diss_clear(&q);
	cr_assert_eq(q.nb, 0);
	cr_assert_eq(q.nb_leave, 0);
	cr_assert_null(owner);
	push('c', 10, NULL, 0);
	cr_assert_eq(q.nb, 1);
}

/* Many messages: every take is ordered by (transmits, len desc, id desc). */
Test(core_diss, stress_order)
{
	struct swim_str parts[64];
	uint32_t seed = 7;
	for (int round = 0; round < 200; round++) {
		seed = seed * 1103515245 + 12345;
		push((uint8_t)round, 1 + (seed >> 16) % 300, NULL, 0);
		size_t used = 0;
		unsigned nb = swim_diss_take(&q, 2, 600, 6, parts, 64, &used);
		cr_assert(used <= 600);
		(void)nb;
		swim_diss_release(&q);
	}
	cr_assert(q.nb > 0);
}
