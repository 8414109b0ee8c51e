/* SPDX-License-Identifier: MIT */
/*
 * The Serf layer's name index grows incrementally (serf_table.c): while
 * it moves into a larger table, every member is found by name, a walk
 * meets each member once, erasures and joins during the move are right,
 * the random pick (serf_member_random, over the slots of both tables
 * through swim_index_slot) returns real members, members of either table
 * alike, and the move ends through ticks and member events once joins
 * stop.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "serf_int.h"
#include "swim_index.h"
#include "serf_pp_util.h"

#define NB_MAX 20000u

/* Members seen by a walk, by number (self apart). */
struct seen {
	uint16_t hits[NB_MAX + 200];
	uint32_t self;
	uint32_t nb;
};

static int
seen_visit(void *ctx, const struct serf_member_info *m)
{
	struct seen *s = ctx;
	char buf[32];

	s->nb++;
	if (m->is_self) {
		s->self++;
		return 0;
	}
	cr_assert_lt(m->name.len, sizeof(buf));
	memcpy(buf, m->name.ptr, m->name.len);
	buf[m->name.len] = '\0';
	uint32_t i = (uint32_t)strtoul(buf + 7, NULL, 10);
	cr_assert_lt(i, NB_MAX + 200, "%s", buf);
	s->hits[i]++;
	return 0;
}

/* Members [0, nb) but every third below erased_below are there, once
 * each, found by name and by a walk; the erased ones nowhere. */
static void
check_all(struct node *n, uint32_t nb, uint32_t erased_below)
{
	static struct seen s;
	char name[32];
	uint32_t want = 1;

	memset(&s, 0, sizeof(s));
	serf_member_foreach(n->serf, seen_visit, &s);
	cr_assert_eq(s.self, 1);
	for (uint32_t i = 0; i < nb; i++) {
		bool gone = i < erased_below && i % 3 == 0;
		name_of(name, i);
		cr_assert_eq(get(n, name) == NULL, gone, "%s", name);
		cr_assert_eq(s.hits[i], gone ? 0 : 1, "%s walked %u times",
			     name, s.hits[i]);
		want += !gone;
	}
	cr_assert_eq(s.nb, want);
	cr_assert_eq(serf_member_count(n->serf), want);
	name_of(name, NB_MAX + 150);
	cr_assert_null(get(n, name));
}

/* Every entry of the index sits in exactly one slot of the two tables. */
static void
check_slots(const struct swim_index *x)
{
	uint32_t nb = 0;

	for (uint32_t i = 0; i < swim_index_nb_slots(x); i++)
		nb += swim_index_slot(x, i) != NULL;
	cr_assert_eq(nb, x->nb);
	cr_assert_null(swim_index_slot(x, swim_index_nb_slots(x)));
}

Test(serf_index, every_member_found_and_walked_once_while_moving)
{
	struct node a;
	char name[32];
	uint32_t nb_moves = 0;
	bool checked = false;

	node_new(&a, "self");
	cr_assert(a.serf->index.incremental);
	for (uint32_t i = 0; i < NB_MAX; i++) {
		name_of(name, i);
		join(&a, name, 1);
		if (a.serf->index.old == NULL) {
			checked = false;
			continue;
		}
		if (checked)
			continue;
		/* the first join of a move: most members in the old table */
		checked = true;
		nb_moves++;
		cr_assert_lt(a.serf->index.moved, a.serf->index.old_mask);
		check_all(&a, i + 1, 0);
		check_slots(&a.serf->index);
	}
	cr_assert_geq(nb_moves, 9, "growths from 16 to 32768 slots");
	check_all(&a, NB_MAX, 0);
	node_delete(&a);
}

/* Joins until a move is in progress. @retval members joined. */
static uint32_t
join_until_moving(struct node *n, uint32_t from, uint32_t min)
{
	char name[32];
	uint32_t i = from;

	while (i < min || n->serf->index.old == NULL) {
		cr_assert_lt(i, NB_MAX);
		name_of(name, i++);
		join(n, name, 1);
	}
	return i;
}

Test(serf_index, erase_and_join_during_a_move)
{
	struct node a;
	char name[32];
	const uint32_t below = 600;	/* 200 erasures: 1,600 slots moved */

	node_new(&a, "self");
	uint32_t nb = join_until_moving(&a, 0, 5000);
	const struct swim_index *x = &a.serf->index;
	void **old = x->old;
	cr_assert_lt(x->moved, 4096, "a move of 8192 slots has begun");
	/* erase every third of the first members while the move runs */
	for (uint32_t i = 0; i < below; i += 3) {
		name_of(name, i);
		struct serf_member *m = get(&a, name);
		cr_assert_not_null(m, "%s", name);
		serf_member_erase(a.serf, m);
		cr_assert_null(get(&a, name));
	}
	cr_assert_eq(x->old, old, "still the same move");
	check_all(&a, nb, below);
	check_slots(x);
	/* join a few more during it, then let ticks end it */
	for (uint32_t i = nb; i < nb + 20; i++) {
		name_of(name, i);
		join(&a, name, 1);
	}
	nb += 20;
	cr_assert_eq(x->old, old, "still the same move");
	check_all(&a, nb, below);
	for (uint64_t t = 2; x->old != NULL && t < 1000; t++)
		serf_tick(a.serf, t * 16 * 1000000ull);
	cr_assert_null(x->old, "ticks end a move the joins left");
	check_all(&a, nb, below);
	check_slots(x);
	node_delete(&a);
}

/* A member event (here an update) steps the move too. */
Test(serf_index, member_events_end_a_move)
{
	struct node a;
	struct swim_member_info info;
	char name[32];

	node_new(&a, "self");
	join_until_moving(&a, 0, 3000);
	const struct swim_index *x = &a.serf->index;
	uint32_t moved = x->moved;
	name_of(name, 1);
	cr_assert_eq(swim_member_find(a.core, name, strlen(name), &info), 0);
	serf_node_update(a.serf, &info);
	cr_assert_eq(x->moved, moved + SERF_INDEX_EVENT_STEP);
	for (uint32_t k = 0; x->old != NULL && k < 1000; k++)
		serf_node_update(a.serf, &info);
	cr_assert_null(x->old);
	cr_assert_not_null(get(&a, name));
	node_delete(&a);
}

static int
cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

/* The random pick while half the members wait in the old table: every
 * pick is a member, members of both tables are picked alike. */
Test(serf_index, random_pick_is_uniform_over_both_tables)
{
	struct node a;
	const uint32_t draws = 400000;

	node_new(&a, "self");
	uint32_t nb = join_until_moving(&a, 0, 3000) + 1;
	struct swim_index *x = &a.serf->index;
	serf_table_step(a.serf, (x->old_mask + 1) / 2 - x->moved);
	cr_assert_not_null(x->old);
	cr_assert_eq(x->nb, nb);
	/* the members of the old table (the rest are in the new one) */
	uintptr_t *in_old = calloc(nb, sizeof(*in_old));
	uint32_t nb_old = 0;
	for (uint32_t i = x->mask + 1; i < swim_index_nb_slots(x); i++) {
		void *m = swim_index_slot(x, i);
		if (m != NULL)
			in_old[nb_old++] = (uintptr_t)m;
	}
	qsort(in_old, nb_old, sizeof(*in_old), cmp_ptr);
	cr_assert(nb_old > nb / 4 && nb_old < nb * 3 / 4, "%u of %u", nb_old,
		  nb);
	uint32_t hits_old = 0, hits = 0;
	for (uint32_t k = 0; k < draws; k++) {
		struct serf_member *m = serf_member_random(a.serf, 1, NULL);
		if (m == NULL)
			continue;
		size_t len;
		const char *name = swim_member_name(m->node, &len);
		cr_assert_eq(get(&a, name), m, "a real member");
		hits++;
		uintptr_t p = (uintptr_t)m;
		hits_old += bsearch(&p, in_old, nb_old, sizeof(p), cmp_ptr) !=
			    NULL;
	}
	/* a member has 1 slot of nb_slots: hits ~ draws * nb / slots */
	double expect = (double)draws * nb / swim_index_nb_slots(x);
	cr_assert(hits > expect * 0.95 && hits < expect * 1.05, "%u vs %.0f",
		  hits, expect);
	double share = (double)hits_old / hits, want = (double)nb_old / nb;
	cr_assert(share > want * 0.95 && share < want * 1.05,
		  "old table members: %.3f of the picks, %.3f of members",
		  share, want);
	/* an empty table picks nothing; tries bound the draws */
	cr_assert_null(serf_member_random(a.serf, 0, NULL));
	free(in_old);
	node_delete(&a);
}
