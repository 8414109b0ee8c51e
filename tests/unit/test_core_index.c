/*
 * The name index (swim_index.h) while it grows incrementally: inserts,
 * removes and finds interleaved with the move from the old table to the
 * new, against a reference (a flag per entry); each call moves at most
 * SWIM_INDEX_STEP old slots; a walk sees every entry once; a move never
 * has to be finished at once by the next growth.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swim_index.h"

#define NB 150000u

struct ent {
	char name[24];
	size_t len;
	bool in;
	unsigned seen;
};

static struct ent *ents;
static struct swim_index x;
static uint32_t seed = 1;

static uint32_t
rnd(uint32_t n)
{
	seed = seed * 1103515245u + 12345u;
	return ((seed >> 8) ^ (seed << 7)) % n;
}

static const char *
ent_key(const void *e, size_t *len)
{
	const struct ent *t = e;
	*len = t->len;
	return t->name;
}

static void
setup(void)
{
	ents = calloc(NB, sizeof(*ents));
	cr_assert_not_null(ents);
	for (uint32_t i = 0; i < NB; i++)
		ents[i].len = (size_t)snprintf(ents[i].name,
					       sizeof(ents[i].name),
					       "node-%07u.lan", i);
	cr_assert_eq(swim_index_init(&x, ent_key), 0);
	swim_index_set_incremental(&x);
}

static void
teardown(void)
{
	swim_index_destroy(&x);
	free(ents);
}

TestSuite(core_index, .init = setup, .fini = teardown);

/* Every entry of the reference is found, the others are not. */
static void
check_some_finds(unsigned nb)
{
	for (unsigned k = 0; k < nb; k++) {
		struct ent *e = &ents[rnd(NB)];
		void *got = swim_index_find(&x, e->name, e->len);
		cr_assert_eq(got, e->in ? e : NULL, "%s", e->name);
	}
}

static void
check_walk(uint32_t nb_in)
{
	uint32_t pos = 0, n = 0;
	struct ent *e;

	for (uint32_t i = 0; i < NB; i++)
		ents[i].seen = 0;
	while ((e = swim_index_next(&x, &pos)) != NULL) {
		cr_assert(e->in);
		cr_assert_eq(e->seen++, 0, "seen twice");
		n++;
	}
	cr_assert_eq(n, nb_in);
}

/* One random insert or remove; the move's bounds checked around it. */
static void
one_op(uint32_t *nb_in, unsigned *during, unsigned *walks)
{
	struct ent *e = &ents[rnd(NB)];
	void **old = x.old;
	uint32_t moved = x.moved, mask = x.mask;

	if (e->in) {
		swim_index_remove(&x, e);
		e->in = false;
		(*nb_in)--;
	} else {
		cr_assert_eq(swim_index_insert(&x, e), 0);
		e->in = true;
		(*nb_in)++;
	}
	cr_assert_eq(x.nb, *nb_in);
	if (x.mask != mask)
		cr_assert_null(old, "grew before the last move ended");
	else if (old != NULL && x.old == old)
		cr_assert_leq(x.moved - moved, SWIM_INDEX_STEP);
	if (x.old != NULL) {
		(*during)++;
		if (rnd(2000) == 0) {
			check_walk(*nb_in);
			(*walks)++;
		}
	}
}

Test(core_index, grows_incrementally_against_reference, .timeout = 60)
{
	uint32_t nb_in = 0;
	unsigned during = 0, walks = 0;

	/* Mostly inserts (the table grows through many moves), then churn. */
	for (unsigned k = 0; k < 400000; k++) {
		if (k < 200000 && rnd(10) < 3 && nb_in > 0) {
			/* a remove of something present, to interleave */
			struct ent *e = &ents[rnd(NB)];
			if (e->in) {
				swim_index_remove(&x, e);
				e->in = false;
				nb_in--;
			}
		}
		one_op(&nb_in, &during, &walks);
		if (k % 64 == 0)
			check_some_finds(8);
	}
	cr_assert_gt(during, 10000, "ops during moves: %u", during);
	cr_assert_gt(walks, 2);
	check_some_finds(20000);
	check_walk(nb_in);
	cr_assert(swim_index_bytes(&x) >= (size_t)(x.mask + 1) * 8);
}

Test(core_index, bulk_insert_then_remove_all)
{
	unsigned moves = 0;

	for (uint32_t i = 0; i < NB; i++) {
		void **old = x.old;
		cr_assert_eq(swim_index_insert(&x, &ents[i]), 0);
		ents[i].in = true;
		moves += x.old != NULL && old == NULL;
		/* the entry just put in and an old one are found */
		cr_assert_eq(swim_index_find(&x, ents[i].name, ents[i].len),
			     &ents[i]);
		cr_assert_eq(swim_index_find(&x, ents[i / 2].name,
					     ents[i / 2].len), &ents[i / 2]);
	}
	cr_assert_gt(moves, 10);
	cr_assert_eq(x.nb, NB);
	check_walk(NB);
	for (uint32_t i = 0; i < NB; i++) {
		swim_index_remove(&x, &ents[i]);
		ents[i].in = false;
		cr_assert_null(swim_index_find(&x, ents[i].name,
					       ents[i].len));
	}
	cr_assert_eq(x.nb, 0);
	cr_assert_null(x.old, "removes finish the move too");
	check_walk(0);
}

/* Inserts stop mid-move: swim_index_step ends it in bounded steps. */
Test(core_index, step_finishes_a_move)
{
	uint32_t i = 0;

	while (x.old == NULL || x.mask < 4095) {
		cr_assert_eq(swim_index_insert(&x, &ents[i]), 0);
		ents[i++].in = true;
	}
	uint32_t moved = x.moved;
	swim_index_step(&x, 100);
	cr_assert(x.old == NULL || x.moved - moved == 100);
	for (unsigned k = 0; k < 1000 && x.old != NULL; k++)
		swim_index_step(&x, 100);
	cr_assert_null(x.old);
	cr_assert_eq(swim_index_bytes(&x), (size_t)(x.mask + 1) * 8);
	check_walk(i);
	swim_index_step(&x, 100);	/* nothing to move: no-op */
}

/* By default an index moves everything at once: one table always. */
Test(core_index, default_grows_at_once)
{
	struct swim_index d;

	cr_assert_eq(swim_index_init(&d, ent_key), 0);
	for (uint32_t i = 0; i < 10000; i++) {
		cr_assert_eq(swim_index_insert(&d, &ents[i]), 0);
		cr_assert_null(d.old);
	}
	for (uint32_t i = 0; i < 10000; i++)
		cr_assert_eq(swim_index_find(&d, ents[i].name, ents[i].len),
			     &ents[i]);
	swim_index_destroy(&d);
}

/* Removing an entry that is not there changes nothing. */
Test(core_index, remove_absent_and_errors)
{
	cr_assert_eq(swim_index_insert(&x, &ents[0]), 0);
	swim_index_remove(&x, &ents[1]);
	swim_index_remove(&x, NULL);
	cr_assert_eq(x.nb, 1);
	cr_assert_eq(swim_index_insert(&x, NULL), -1);
	swim_index_destroy(&x);
	cr_assert_eq(swim_index_insert(&x, &ents[2]), -1);
	cr_assert_null(swim_index_find(&x, "a", 1));
	uint32_t pos = 0;
	cr_assert_null(swim_index_next(&x, &pos));
	cr_assert_eq(swim_index_init(&x, ent_key), 0);
}
