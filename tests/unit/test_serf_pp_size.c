/* SPDX-License-Identifier: MIT */
/*
 * The streamed Serf user state sized in steps (serf_pp_enc_begin and
 * serf_pp_enc_size, serf_pp_enc.c): the bytes are exactly the announced
 * length and a valid messagePushPull that names every member present at
 * the start once (none twice) while members join, fail, leave, update
 * and ask to be erased between the steps and the index grows and moves
 * under the passes; a filter; a slot released with marks left is
 * cleaned before its next use; an index that moves under every pass
 * ends with a whole one; the error codes.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "serf_int.h"
#include "serf_msg.h"
#include "swim_index.h"
#include "serf_pp_util.h"

#define NB_NAMES 200000u

/* A decoded state: entries per member number (self apart). */
struct tally {
	uint8_t st[NB_NAMES];		/* StatusLTimes entries */
	uint8_t left[NB_NAMES];		/* LeftMembers names */
	uint32_t nb_status, nb_left, self;
};

static uint32_t
tally_num(const struct swim_str *n, struct tally *t, bool st)
{
	char buf[32];

	cr_assert(n->len > 0 && n->len < sizeof(buf));
	memcpy(buf, n->ptr, n->len);
	buf[n->len] = '\0';
	if (strcmp(buf, "self") == 0) {
		t->self += st;
		return UINT32_MAX;
	}
	cr_assert_eq(strncmp(buf, "member-", 7), 0, "%s", buf);
	uint32_t i = (uint32_t)strtoul(buf + 7, NULL, 10);
	cr_assert_lt(i, NB_NAMES);
	return i;
}

static void
tally(const uint8_t *buf, size_t len, struct tally *t)
{
	struct serf_msg_push_pull pp;
	struct serf_msg_pp_status st;
	struct swim_str name;

	memset(t, 0, sizeof(*t));
	cr_assert_eq(serf_msg_decode_push_pull(buf, len, &pp), 0);
	const uint8_t *p = pp.raw_status.ptr;
	const uint8_t *end = p + pp.raw_status.len;
	while (p != NULL && serf_msg_pp_status_next(&p, end, &st) == 1) {
		uint32_t i = tally_num(&st.name, t, true);
		t->nb_status++;
		if (i != UINT32_MAX)
			t->st[i]++;
	}
	p = pp.raw_left.ptr;
	end = p + pp.raw_left.len;
	while (p != NULL && serf_msg_pp_left_next(&p, end, &name) == 1) {
		uint32_t i = tally_num(&name, t, false);
		t->nb_left++;
		if (i != UINT32_MAX)
			t->left[i]++;
	}
	cr_assert_eq(t->nb_status, pp.nb_status);
	cr_assert_eq(t->nb_left, pp.nb_left);
}


/* Size in steps, mutating between them. @retval steps. */
static unsigned
size_steps(struct node *n, struct serf_pp_enc *e, mutate_f mutate)
{
	unsigned k = 0;
	int rc;

	while ((rc = serf_pp_enc_size(n->serf, e)) == -EAGAIN) {
		cr_assert_eq(e->len, 0, "not sized yet");
		if (mutate != NULL)
			mutate(n, k);
		k++;
		cr_assert_lt(k, 100000, "the sizing ends");
	}
	cr_assert_eq(rc, 0);
	return k + 1;
}

static uint32_t next_name;	/* next new member's number */

/* Joins, flips, LTimes grown, updates, erasures asked for. */
static void
churn(struct node *n, unsigned k)
{
	struct swim_member_info info;
	struct serf_member *m;
	char name[32];

	for (int i = 0; i < 150 && next_name < NB_NAMES; i++) {
		name_of(name, next_name++);
		join(n, name, 1);
	}
	for (uint32_t i = k * 37 % 900; i < 48000; i += 911) {
		name_of(name, i);
		m = get(n, name);
		if (m == NULL)
			continue;
		m->status_ltime += 1000000000ull;
		serf_member_set_status(n->serf, m,
				       m->status == SERF_STATUS_LEFT ?
				       SERF_STATUS_ALIVE : SERF_STATUS_LEFT);
		if (swim_member_find(n->core, name, strlen(name), &info) == 0)
			serf_node_update(n->serf, &info);
	}
	name_of(name, 2000 + k % 40000);
	m = get(n, name);
	if (m != NULL)
		serf_member_erase(n->serf, m);	/* deferred now */
	serf_tick(n->serf, 1 + k);
}

Test(serf_pp_size, sized_in_steps_while_the_table_changes, .timeout = 60)
{
	static struct tally t;
	struct node a;
	struct serf_pp_enc e;
	char name[32];
	size_t len;
	const uint32_t nb0 = 49000;	/* just under a growth (49,152) */

	node_new(&a, "self");
	fill(&a, nb0, true);
	uint32_t mask0 = a.serf->index.mask;
	cr_assert_eq(serf_pp_enc_begin(a.serf, &e, NULL, NULL), 0);
	cr_assert_eq(serf_pp_enc_next(a.serf, &e, (uint8_t[256]){ 0 }, 256),
		     -EINVAL, "not sized yet");
	next_name = 100000;
	unsigned steps = size_steps(&a, &e, churn);
	cr_assert_neq(a.serf->index.mask, mask0, "the index grew meanwhile");
	cr_assert_gt(steps, 16, "sized in %u steps", steps);
	uint32_t added = next_name;	/* added from here on: never sent */
	uint8_t *s = pp_stream(&a, &e, 4096, churn, 1000000, &len);
	cr_assert_eq(len, e.len, "%zu of the %zu announced", len, e.len);
	tally(s, len, &t);
	cr_assert_eq(t.self, 1);
	for (uint32_t i = 0; i < nb0; i++)
		cr_assert_eq(t.st[i], 1, "member %u: %u entries", i, t.st[i]);
	for (uint32_t i = 100000; i < NB_NAMES; i++) {
		cr_assert_leq(t.st[i], 1, "member %u twice", i);
		cr_assert(i < added || t.st[i] == 0, "%u joined after", i);
	}
	for (uint32_t i = 0; i < NB_NAMES; i++)
		cr_assert(t.left[i] <= t.st[i], "%u: a left name, no entry", i);
	/* no erasure while it ran; they happen once it ended */
	name_of(name, 2000);
	cr_assert_not_null(get(&a, name));
	serf_pp_enc_end(a.serf, &e);
	cr_assert_eq(a.serf->pp_enc_dirty, 0, "a whole stream leaves none");
	serf_tick(a.serf, 1u << 30);
	cr_assert_null(get(&a, name));
	free(s);
	node_delete(&a);
}

static bool
keep_odd(void *ctx, const char *name, size_t len)
{
	(void)ctx;
	return len > 0 && (name[len - 1] - '0') % 2 == 1;
}

Test(serf_pp_size, filter_in_steps)
{
	static struct tally t;
	struct node a;
	struct serf_pp_enc e;
	size_t len;

	node_new(&a, "self");
	fill(&a, 30000, false);
	cr_assert_eq(serf_pp_enc_begin(a.serf, &e, keep_odd, NULL), 0);
	next_name = 100000;
	cr_assert_gt(size_steps(&a, &e, churn), 1);
	uint8_t *s = pp_stream(&a, &e, 65536, NULL, 0, &len);
	cr_assert_eq(len, e.len);
	tally(s, len, &t);
	for (uint32_t i = 0; i < 30000; i++)
		cr_assert_eq(t.st[i], i % 2, "member %u", i);
	cr_assert_eq(t.self, 0);
	serf_pp_enc_end(a.serf, &e);
	free(s);
	node_delete(&a);
}

/* A whole stream from an encoder on a fresh table: each member once. */
static void
check_stream(struct node *a, struct serf_pp_enc *e, uint32_t nb)
{
	static struct tally t;
	size_t len;
	uint8_t *s = pp_stream(a, e, 1024, NULL, 0, &len);

	cr_assert_eq(len, e->len);
	tally(s, len, &t);
	cr_assert_eq(t.nb_status, nb + 1);
	for (uint32_t i = 0; i < nb; i++)
		cr_assert_eq(t.st[i], 1, "member %u", i);
	free(s);
}

Test(serf_pp_size, a_slot_left_with_marks_is_cleaned_first)
{
	struct node a;
	struct serf_pp_enc e[SERF_PP_ENC_MAX + 1];
	uint8_t win[512];

	node_new(&a, "self");
	fill(&a, 3000, true);
	/* ended once sized: its marks stay, slot 0 is dirty */
	cr_assert_eq(serf_pp_enc_start(a.serf, &e[0], NULL, NULL), 0);
	serf_pp_enc_end(a.serf, &e[0]);
	cr_assert_eq(a.serf->pp_enc_dirty, 1);
	/* ended mid-stream: slot 0 again? no, a clean one first (1) */
	cr_assert_eq(serf_pp_enc_start(a.serf, &e[1], NULL, NULL), 0);
	cr_assert_eq(e[1].slot, 1);
	cr_assert_gt(serf_pp_enc_next(a.serf, &e[1], win, sizeof(win)), 0);
	serf_pp_enc_end(a.serf, &e[1]);
	cr_assert_eq(a.serf->pp_enc_dirty, 3);
	/* ended before any mark: stays clean */
	cr_assert_eq(serf_pp_enc_begin(a.serf, &e[2], NULL, NULL), 0);
	cr_assert_eq(e[2].slot, 2);
	serf_pp_enc_end(a.serf, &e[2]);
	cr_assert_eq(a.serf->pp_enc_dirty, 3);
	/* every clean slot busy: a dirty one, cleaned in passes first */
	for (int i = 2; i < SERF_PP_ENC_MAX; i++)
		cr_assert_eq(serf_pp_enc_start(a.serf, &e[i], NULL, NULL), 0);
	cr_assert_eq(serf_pp_enc_begin(a.serf, &e[SERF_PP_ENC_MAX], NULL,
					NULL), 0);
	struct serf_pp_enc *d = &e[SERF_PP_ENC_MAX];
	cr_assert_eq(d->slot, 0);
	cr_assert_eq(size_steps(&a, d, NULL), 2, "a cleaning pass, a sizing");
	cr_assert_eq(a.serf->pp_enc_dirty, 2, "slot 0 clean again");
	check_stream(&a, d, 3000);
	serf_pp_enc_end(a.serf, d);
	for (int i = 2; i < SERF_PP_ENC_MAX; i++) {
		check_stream(&a, &e[i], 3000);
		serf_pp_enc_end(a.serf, &e[i]);
	}
	cr_assert_eq(serf_pp_enc_start(a.serf, &e[1], NULL, NULL), 0);
	cr_assert_eq(e[1].slot, 0, "clean first");
	serf_pp_enc_end(a.serf, &e[1]);
	cr_assert_eq(a.serf->pp_enc_dirty, 3);
	node_delete(&a);
}

/*
 * The writing walk in passes: the index grows mid-stream and its move
 * runs slowly (one join a window, 72 slots) until the walk has crossed
 * the new table into the old one's part; then ten joins a window move
 * old slots faster than the walk goes, so members still due land in the
 * new table behind it: a later pass must meet them.
 */
Test(serf_pp_size, the_walk_meets_members_a_move_carried_behind_it)
{
	static struct tally t;
	static uint8_t out[1 << 20];
	const struct swim_index *x;
	struct node a;
	struct serf_pp_enc e;
	uint8_t win[4096];
	char name[32];
	size_t len = 0;
	bool in_old = false;
	long rc;

	node_new(&a, "self");
	fill(&a, 3060, true);	/* 4096 slots: grows at 3072 */
	x = &a.serf->index;
	cr_assert_eq(serf_pp_enc_start(a.serf, &e, NULL, NULL), 0);
	next_name = 100000;
	for (unsigned k = 0; (rc = serf_pp_enc_next(a.serf, &e, win,
				in_old ? 256 : sizeof(win))) != 0; k++) {
		if (rc == -EAGAIN)
			continue;
		cr_assert_gt(rc, 0);
		cr_assert_leq(len + (size_t)rc, e.len);
		memcpy(out + len, win, (size_t)rc);
		len += (size_t)rc;
		in_old |= x->old != NULL && e.pos > x->mask;
		for (unsigned i = 0; i < (k == 0 ? 12u : in_old ? 10u : 1u);
		     i++) {
			name_of(name, next_name++);
			join(&a, name, 1);
		}
	}
	cr_assert(in_old, "the case this test is about");
	cr_assert_eq(len, e.len);
	tally(out, len, &t);
	for (uint32_t i = 0; i < 3060; i++)
		cr_assert_eq(t.st[i], 1, "member %u: %u entries", i, t.st[i]);
	cr_assert_eq(t.nb_status, 3061);
	serf_pp_enc_end(a.serf, &e);
	node_delete(&a);
}

/* A move under every pass (faked: the layout read as changed at every
 * step): after SERF_PP_SIZE_PASSES (8) passes the last one runs whole. */
Test(serf_pp_size, an_index_moving_under_every_pass_ends_whole)
{
	struct node a;
	struct serf_pp_enc e;
	unsigned steps = 0;
	int rc;

	node_new(&a, "self");
	fill(&a, 20000, false);
	uint32_t per_pass = swim_index_nb_slots(&a.serf->index) /
			    SERF_PP_SIZE_SCAN;
	cr_assert_eq(serf_pp_enc_begin(a.serf, &e, NULL, NULL), 0);
	while ((rc = serf_pp_enc_size(a.serf, &e)) == -EAGAIN) {
		e.lay_moved++;	/* as if the index moved meanwhile */
		cr_assert_lt(++steps, 1000);
	}
	cr_assert_eq(rc, 0);
	cr_assert_leq(steps + 1, (per_pass + 1) * 8, "%u steps", steps + 1);
	cr_assert_geq(steps + 1, per_pass * 7, "%u steps", steps + 1);
	check_stream(&a, &e, 20000);
	serf_pp_enc_end(a.serf, &e);
	node_delete(&a);
}

Test(serf_pp_size, error_codes)
{
	struct node a;
	struct serf_pp_enc e[SERF_PP_ENC_MAX + 1];
	uint8_t win[256];

	node_new(&a, "self");
	fill(&a, 10, false);
	for (int i = 0; i < SERF_PP_ENC_MAX; i++)
		cr_assert_eq(serf_pp_enc_begin(a.serf, &e[i], NULL, NULL), 0);
	struct serf_pp_enc *x = &e[SERF_PP_ENC_MAX];
	cr_assert_eq(serf_pp_enc_begin(a.serf, x, NULL, NULL), -EBUSY);
	cr_assert_not(x->is_busy);
	cr_assert_eq(serf_pp_enc_size(a.serf, x), -EINVAL);
	cr_assert_eq(serf_pp_enc_next(a.serf, x, win, sizeof(win)), -EINVAL);
	serf_pp_enc_end(a.serf, x);	/* nothing held: fine */
	/* sized: size says 0 again, next writes */
	cr_assert_eq(serf_pp_enc_size(a.serf, &e[0]), 0);
	cr_assert_eq(serf_pp_enc_size(a.serf, &e[0]), 0);
	cr_assert_eq(serf_pp_enc_next(a.serf, &e[0], win, sizeof(win)),
		     (long)e[0].len);
	for (int i = 0; i < SERF_PP_ENC_MAX; i++)
		serf_pp_enc_end(a.serf, &e[i]);
	/* ended: size and next refuse */
	cr_assert_eq(serf_pp_enc_size(a.serf, &e[1]), -EINVAL);
	cr_assert_eq(serf_pp_enc_next(a.serf, &e[1], win, sizeof(win)),
		     -EINVAL);
	cr_assert_eq(a.serf->pp_enc_busy, 0);
	node_delete(&a);
}
