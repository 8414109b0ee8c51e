/*
 * The member table: lookup, lists by status, probe order fairness and
 * random insertion, random sampling.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "swim_member.h"

static struct swim_members t;
static struct swim_rand rnd;

static void
setup(void)
{
	cr_assert_eq(swim_members_init(&t), 0);
	swim_rand_seed(&rnd, 99);
}

static void
teardown(void)
{
	swim_members_destroy(&t);
}

TestSuite(core_member, .init = setup, .fini = teardown);

static struct swim_member *
add(unsigned i, enum swim_status st)
{
	char name[32];
	int len = snprintf(name, sizeof(name), "node-%u", i);
	struct swim_member *m = swim_members_add(&t, &rnd, name, len, false);
	cr_assert_not_null(m);
	swim_members_set_status(&t, &rnd, m, st);
	return m;
}

Test(core_member, add_find_remove)
{
	struct swim_member *self = swim_members_add(&t, &rnd, "me", 2, true);
	cr_assert_not_null(self);
	cr_assert_eq(self->status, SWIM_STATUS_DEAD);
	cr_assert_eq(self->incarnation, 0);
	struct swim_member *a = add(1, SWIM_STATUS_ALIVE);
	cr_assert_eq(swim_members_find(&t, "node-1", 6), a);
	cr_assert_eq(swim_members_find(&t, "me", 2), self);
	cr_assert_null(swim_members_find(&t, "node-2", 6));
	cr_assert_null(swim_members_find(&t, "node-", 5));
	cr_assert_eq(swim_members_count(&t), 2);
	swim_members_remove(&t, a);
	cr_assert_null(swim_members_find(&t, "node-1", 6));
	cr_assert_eq(swim_members_count(&t), 1);
	cr_assert_eq(t.live.nb, 0);
}

Test(core_member, add_errors)
{
	char big[SWIM_NAME_MAX + 2];
	memset(big, 'x', sizeof(big));
	cr_assert_null(swim_members_add(&t, &rnd, "", 0, false));
	cr_assert_null(swim_members_add(&t, &rnd, big, SWIM_NAME_MAX + 1,
					false));
	cr_assert_not_null(swim_members_add(&t, &rnd, big, SWIM_NAME_MAX,
					    false));
	cr_assert_null(swim_members_add(&t, &rnd, big, SWIM_NAME_MAX, false));
	cr_assert_null(swim_members_find(&t, big, SWIM_NAME_MAX + 1));
}

Test(core_member, many_members_hash_grows)
{
	for (unsigned i = 0; i < 5000; i++)
		add(i, i % 2 ? SWIM_STATUS_ALIVE : SWIM_STATUS_DEAD);
	cr_assert(t.index.mask + 1 >= 5000 * 4 / 3);
	for (unsigned i = 0; i < 5000; i++) {
		char name[32];
		int len = snprintf(name, sizeof(name), "node-%u", i);
		struct swim_member *m = swim_members_find(&t, name, len);
		cr_assert_not_null(m);
		cr_assert_eq(t.all.v[m->idx_all], m);
	}
	cr_assert_eq(t.live.nb, 2500);
	cr_assert_eq(t.dead.nb, 2500);
	cr_assert_eq(t.nb_status[SWIM_STATUS_ALIVE], 2500);
}

Test(core_member, lists_follow_status)
{
	struct swim_member *a = add(1, SWIM_STATUS_ALIVE);
	cr_assert_eq(t.live.nb, 1);
	swim_members_set_status(&t, &rnd, a, SWIM_STATUS_SUSPECT);
	cr_assert_eq(t.live.nb, 1);
	swim_members_set_status(&t, &rnd, a, SWIM_STATUS_DEAD);
	cr_assert_eq(t.live.nb, 0);
	cr_assert_eq(t.dead.nb, 1);
	swim_members_set_status(&t, &rnd, a, SWIM_STATUS_LEFT);
	cr_assert_eq(t.dead.nb, 0);
	cr_assert_eq(t.nb_status[SWIM_STATUS_LEFT], 1);
	swim_members_set_status(&t, &rnd, a, SWIM_STATUS_ALIVE);
	cr_assert_eq(t.live.nb, 1);
	cr_assert_eq(t.nb_status[SWIM_STATUS_LEFT], 0);
}

Test(core_member, probe_round_is_fair)
{
	unsigned seen[50];
	swim_members_add(&t, &rnd, "me", 2, true);
	for (unsigned i = 0; i < 50; i++)
		add(i, i < 40 ? SWIM_STATUS_ALIVE :
			i < 45 ? SWIM_STATUS_DEAD : SWIM_STATUS_LEFT);
	for (int round = 0; round < 5; round++) {
		memset(seen, 0, sizeof(seen));
		for (unsigned k = 0; k < 40; k++) {
			struct swim_member *m = swim_members_next_probe(&t, &rnd);
			cr_assert_not_null(m);
			cr_assert_not(m->is_self);
			cr_assert_eq(m->status, SWIM_STATUS_ALIVE);
			unsigned i;
			sscanf(m->name, "node-%u", &i);
			seen[i]++;
		}
		/* Each alive member exactly once per round. */
		for (unsigned i = 0; i < 40; i++)
			cr_assert_eq(seen[i], 1, "round %d node %u", round, i);
	}
}

Test(core_member, probe_skips_who_died_mid_round)
{
	struct swim_member *m[10];
	for (unsigned i = 0; i < 10; i++)
		m[i] = add(i, SWIM_STATUS_ALIVE);
	struct swim_member *first = swim_members_next_probe(&t, &rnd);
	for (unsigned i = 0; i < 10; i++) {
		if (m[i] != first)
			swim_members_set_status(&t, &rnd, m[i],
						SWIM_STATUS_DEAD);
	}
	/* Only `first` is left to probe, round after round. */
	for (int k = 0; k < 5; k++)
		cr_assert_eq(swim_members_next_probe(&t, &rnd), first);
	swim_members_set_status(&t, &rnd, first, SWIM_STATUS_LEFT);
	cr_assert_null(swim_members_next_probe(&t, &rnd));
}

Test(core_member, probe_survives_removal)
{
	struct swim_member *m[5];
	for (unsigned i = 0; i < 5; i++)
		m[i] = add(i, SWIM_STATUS_ALIVE);
	swim_members_next_probe(&t, &rnd);
	for (unsigned i = 0; i < 4; i++)
		swim_members_remove(&t, m[i]);
	for (int k = 0; k < 3; k++)
		cr_assert_eq(swim_members_next_probe(&t, &rnd), m[4]);
}

Test(core_member, new_members_inserted_at_random)
{
	/* Mid-round, a newcomer lands anywhere in the order: sometimes it
	 * is probed before the round ends, sometimes not. */
	unsigned early = 0;
	for (int trial = 0; trial < 200; trial++) {
		struct swim_members tt;
		swim_members_init(&tt);
		struct swim_member *m;
		char name[32];
		for (unsigned i = 0; i < 20; i++) {
			int len = snprintf(name, sizeof(name), "n%u", i);
			m = swim_members_add(&tt, &rnd, name, len, false);
			swim_members_set_status(&tt, &rnd, m, SWIM_STATUS_ALIVE);
		}
		swim_members_next_probe(&tt, &rnd);
		struct swim_member *nw = swim_members_add(&tt, &rnd, "new", 3,
							  false);
		swim_members_set_status(&tt, &rnd, nw, SWIM_STATUS_ALIVE);
		for (unsigned k = 0; k < 19; k++) {
			if (swim_members_next_probe(&tt, &rnd) == nw)
				early++;
		}
		swim_members_destroy(&tt);
	}
	/* Uniform position: about 19/21 of trials; never all or none. */
	cr_assert(early > 100 && early < 200, "early %u", early);
}

static bool
only_alive(void *ctx, const struct swim_member *m)
{
	(void)ctx;
	return m->status == SWIM_STATUS_ALIVE;
}

Test(core_member, random_distinct_filtered)
{
	struct swim_member *out[8];
	for (unsigned i = 0; i < 10; i++)
		add(i, i < 3 ? SWIM_STATUS_ALIVE : SWIM_STATUS_SUSPECT);
	for (int k = 0; k < 50; k++) {
		uint32_t nb = swim_members_random(&t, &rnd, false, 8,
						  only_alive, NULL, out);
		cr_assert_eq(nb, 3);
		for (uint32_t i = 0; i < nb; i++) {
			cr_assert_eq(out[i]->status, SWIM_STATUS_ALIVE);
			for (uint32_t j = 0; j < i; j++)
				cr_assert_neq(out[i], out[j]);
		}
	}
}

Test(core_member, random_with_dead)
{
	struct swim_member *out[4];
	add(0, SWIM_STATUS_DEAD);
	cr_assert_eq(swim_members_random(&t, &rnd, false, 4, NULL, NULL, out),
		     0);
	cr_assert_eq(swim_members_random(&t, &rnd, true, 4, NULL, NULL, out),
		     1);
	add(1, SWIM_STATUS_LEFT);
	cr_assert_eq(swim_members_random(&t, &rnd, true, 4, NULL, NULL, out),
		     1);
}

Test(core_member, name_hash_is_fnv1a)
{
	cr_assert_eq(swim_name_hash("", 0), 0xcbf29ce484222325ull);
	cr_assert_eq(swim_name_hash("a", 1), 0xaf63dc4c8601ec8cull);
}
