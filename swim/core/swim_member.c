/*
 * The member table: an open-addressing index by name plus one array
 * partitioned by status and a probe order, so insert, lookup, removal
 * and status moves are all O(1).
 */
#include "swim_member.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/** Up to this many candidates, sampling is exact (a lazy shuffle). */
#define SWIM_RANDOM_SMALL 256

enum swim_part { SWIM_PART_LIVE, SWIM_PART_DEAD, SWIM_PART_REST };

uint64_t
swim_name_hash(const char *name, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)name[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static const char *
swim_member_key(const void *e, size_t *len)
{
	const struct swim_member *m = e;

	*len = m->name_len;
	return m->name;
}

static int
swim_vec_reserve(struct swim_member_vec *v, uint32_t n)
{
	if (n <= v->cap)
		return 0;
	/* Grow by half: the arrays are 8 bytes a member, keep slack small. */
	uint32_t cap = v->cap ? v->cap + v->cap / 2 : 16;
	while (cap < n)
		cap += cap / 2;
	struct swim_member **p = realloc(v->v, cap * sizeof(*p));
	if (p == NULL)
		return -1;
	v->v = p;
	v->cap = cap;
	return 0;
}

int
swim_members_init(struct swim_members *t)
{
	memset(t, 0, sizeof(*t));
	swim_slab_init(&t->slab);
	if (swim_dsync_tree_init(&t->dtree) != 0)
		return -1;
	if (swim_index_init(&t->index, swim_member_key) != 0)
		return -1;
	/* No 400 ms rehash of 10^6 members in one call (swim_index.h). */
	swim_index_set_incremental(&t->index);
	return 0;
}

static size_t
swim_member_size(size_t name_len)
{
	return offsetof(struct swim_member, name) + name_len + 1;
}

static void
swim_member_free(struct swim_slab *sl, struct swim_member *m)
{
	swim_slab_free(sl, m->meta, m->meta_len);
	swim_slab_free(sl, m, swim_member_size(m->name_len));
}

void
swim_members_destroy(struct swim_members *t)
{
	/* Every record is in the slab: members, Meta, removed ones held. */
	swim_slab_destroy(&t->slab);
	free(t->all.v);
	free(t->order.v);
	swim_index_destroy(&t->index);
	swim_dsync_tree_destroy(&t->dtree);
	memset(t, 0, sizeof(*t));
}

struct swim_member *
swim_members_find(const struct swim_members *t, const char *name, size_t len)
{
	if (name == NULL || len == 0 || len > SWIM_NAME_MAX)
		return NULL;
	return swim_index_find(&t->index, name, len);
}

bool
swim_member_ref(struct swim_member *m)
{
	if (m->refs == UINT16_MAX)
		return false;
	m->refs++;
	return true;
}

void
swim_member_unref(struct swim_member *m)
{
	if (m->refs > 0)
		m->refs--;
	if (m->refs == 0 && (m->flags & SWIM_MF_GONE))
		swim_member_free(m->gone_slab, m);
}

int
swim_member_set_meta(struct swim_members *t, struct swim_member *m,
		     const uint8_t *meta, size_t len)
{
	if (len > SWIM_META_MAX || (len > 0 && meta == NULL))
		return -1;
	if (len == m->meta_len && (len == 0 || memcmp(m->meta, meta, len) == 0))
		return 0;
	uint8_t *p = NULL;
	if (len > 0) {
		p = swim_slab_alloc(&t->slab, len);
		if (p == NULL)
			return -1;
		memcpy(p, meta, len);
	}
	swim_slab_free(&t->slab, m->meta, m->meta_len);
	m->meta = p;
	m->meta_len = (uint16_t)len;
	return 0;
}

/* --- the partitioned array --- */

static enum swim_part
swim_part_of(const struct swim_member *m)
{
	if (m->is_self)
		return SWIM_PART_REST;
	if (m->status == SWIM_STATUS_ALIVE || m->status == SWIM_STATUS_SUSPECT)
		return SWIM_PART_LIVE;
	return m->status == SWIM_STATUS_DEAD ? SWIM_PART_DEAD : SWIM_PART_REST;
}

static void
swim_all_swap(struct swim_members *t, uint32_t i, uint32_t j)
{
	struct swim_member *a = t->all.v[i];
	struct swim_member *b = t->all.v[j];

	t->all.v[i] = b;
	t->all.v[j] = a;
	a->idx_all = j;
	b->idx_all = i;
}

/* One boundary up or down: the member at i changes partition by one. */
static void
swim_part_step(struct swim_members *t, uint32_t i, enum swim_part from,
	       bool down)
{
	uint32_t b1 = t->live.nb;
	uint32_t b2 = b1 + t->dead.nb;

	if (down && from == SWIM_PART_LIVE) {
		swim_all_swap(t, i, b1 - 1);
		t->live.nb--;
		t->dead.nb++;
	} else if (down) {			/* dead -> rest */
		swim_all_swap(t, i, b2 - 1);
		t->dead.nb--;
	} else if (from == SWIM_PART_DEAD) {	/* dead -> live */
		swim_all_swap(t, i, b1);
		t->live.nb++;
		t->dead.nb--;
	} else {				/* rest -> dead */
		swim_all_swap(t, i, b2);
		t->dead.nb++;
	}
}

/* Move m from partition `from` to `to`: at most two swaps, never fails. */
static void
swim_part_move(struct swim_members *t, struct swim_member *m,
	       enum swim_part from, enum swim_part to)
{
	while (from != to) {
		bool down = to > from;
		swim_part_step(t, m->idx_all, from, down);
		from = down ? from + 1 : from - 1;
	}
}

/* memberlist: append, then swap with a random slot. */
static int
swim_order_insert(struct swim_members *t, struct swim_rand *rnd,
		  struct swim_member *m)
{
	struct swim_member_vec *o = &t->order;

	if (swim_vec_reserve(o, o->nb + 1) != 0)
		return -1;
	o->v[o->nb++] = m;
	uint32_t off = (uint32_t)swim_rand_below(rnd, o->nb);
	struct swim_member *other = o->v[off];
	o->v[off] = m;
	o->v[o->nb - 1] = other;
	if (other != NULL)
		other->idx_order = o->nb - 1;
	m->idx_order = off;
	return 0;
}

struct swim_member *
swim_members_add(struct swim_members *t, struct swim_rand *rnd,
		 const char *name, size_t len, bool is_self)
{
	if (name == NULL || len == 0 || len > SWIM_NAME_MAX ||
	    swim_members_find(t, name, len) != NULL)
		return NULL;
	if (swim_vec_reserve(&t->all, t->all.nb + 1) != 0)
		return NULL;
	struct swim_member *m = swim_slab_alloc(&t->slab,
						swim_member_size(len));
	if (m == NULL)
		return NULL;
	memcpy(m->name, name, len);
	m->name_len = (uint8_t)len;
	m->status = SWIM_STATUS_DEAD;
	m->is_self = is_self;
	m->idx_order = SWIM_IDX_NONE;
	/* Outside every running push/pull snapshot (swim_pp.c). */
	m->flags = t->pp_pol;
	if (swim_index_insert(&t->index, m) != 0) {
		swim_slab_free(&t->slab, m, swim_member_size(len));
		return NULL;
	}
	/* In at the end (the rest), then to its partition. */
	m->idx_all = t->all.nb;
	t->all.v[t->all.nb++] = m;
	t->pp_adds++;
	t->nb_status[m->status]++;
	swim_part_move(t, m, SWIM_PART_REST, swim_part_of(m));
	if (!is_self)
		swim_order_insert(t, rnd, m);
	return m;
}

/* m leaves the snapshots of the running push/pulls that did not emit it. */
static void
swim_members_pp_forget(struct swim_members *t, const struct swim_member *m)
{
	uint8_t due = (uint8_t)((m->flags ^ t->pp_pol) & t->pp_busy);

	for (uint32_t b = 0; due != 0 && b < SWIM_PP_SLOTS; b++) {
		if ((due & (1u << (b + SWIM_MF_PP_SHIFT))) && t->pp_left[b] > 0)
			t->pp_left[b]--;
	}
}

void
swim_members_remove(struct swim_members *t, struct swim_member *m)
{
	if (m->flags & SWIM_MF_GONE)
		return;
	swim_members_pp_forget(t, m);
	swim_dsync_tree_out(&t->dtree, m);
	swim_index_remove(&t->index, m);
	swim_part_move(t, m, swim_part_of(m), SWIM_PART_REST);
	swim_all_swap(t, m->idx_all, t->all.nb - 1);
	t->all.nb--;
	if (m->idx_order != SWIM_IDX_NONE && m->idx_order < t->order.nb &&
	    t->order.v[m->idx_order] == m)
		t->order.v[m->idx_order] = NULL;
	m->idx_order = SWIM_IDX_NONE;
	t->nb_status[m->status]--;
	m->flags |= SWIM_MF_GONE;
	/* The broadcast slot now says where to free it. */
	swim_diss_detach(m->bcast);
	m->gone_slab = &t->slab;
	if (m->refs == 0)
		swim_member_free(&t->slab, m);
}

/* m's delta-sync digest back in, after a change (the tree may grow). */
static void
swim_members_digest_in(struct swim_members *t, struct swim_member *m)
{
	if (swim_dsync_tree_in(&t->dtree, m))
		swim_dsync_tree_rebuild(&t->dtree, t->all.v, t->all.nb);
}

void
swim_members_set_inc(struct swim_members *t, struct swim_member *m,
		     uint32_t inc)
{
	if (m->incarnation == inc)
		return;
	swim_dsync_tree_out(&t->dtree, m);
	m->incarnation = inc;
	swim_members_digest_in(t, m);
}

void
swim_member_set_vsn(struct swim_member *m, const uint8_t *vsn, uint32_t len)
{
	if (vsn == NULL || len < SWIM_VSN_LEN)
		return;
	/* Sticky capability: serf's push/pulls carry only 6 bytes. */
	memmove(m->vsn, vsn, SWIM_VSN_LEN);
	if (len > SWIM_VSN_LEN)
		m->vsn[SWIM_VSN_LEN] = vsn[SWIM_VSN_LEN];
}

void
swim_members_set_status(struct swim_members *t, struct swim_rand *rnd,
			struct swim_member *m, enum swim_status st)
{
	if (m->status == st || st >= SWIM_STATUS_COUNT)
		return;
	enum swim_part from = swim_part_of(m);
	t->nb_status[m->status]--;
	swim_dsync_tree_out(&t->dtree, m);
	m->status = (uint8_t)st;
	swim_members_digest_in(t, m);
	t->nb_status[st]++;
	enum swim_part to = swim_part_of(m);
	swim_part_move(t, m, from, to);
	/* Back from the dead: probe it this round too. */
	if (to == SWIM_PART_LIVE && m->idx_order == SWIM_IDX_NONE)
		swim_order_insert(t, rnd, m);
}

/* memberlist's resetNodes: a fresh shuffle of the probe-able members. */
static void
swim_order_reset(struct swim_members *t, struct swim_rand *rnd)
{
	struct swim_member_vec *o = &t->order;

	for (uint32_t i = 0; i < o->nb; i++) {
		if (o->v[i] != NULL)
			o->v[i]->idx_order = SWIM_IDX_NONE;
	}
	o->nb = 0;
	if (swim_vec_reserve(o, t->live.nb) != 0)
		return;
	for (uint32_t i = 0; i < t->live.nb; i++) {
		t->all.v[i]->idx_order = i;
		o->v[i] = t->all.v[i];
	}
	o->nb = t->live.nb;
	for (uint32_t i = o->nb; i > 1; i--) {
		uint32_t j = (uint32_t)swim_rand_below(rnd, i);
		struct swim_member *a = o->v[i - 1];
		struct swim_member *b = o->v[j];
		o->v[i - 1] = b;
		o->v[j] = a;
		b->idx_order = i - 1;
		a->idx_order = j;
	}
	t->probe_idx = 0;
}

static bool
swim_member_probeable(const struct swim_member *m)
{
	return m != NULL && !m->is_self &&
	       (m->status == SWIM_STATUS_ALIVE ||
		m->status == SWIM_STATUS_SUSPECT);
}

struct swim_member *
swim_members_next_probe(struct swim_members *t, struct swim_rand *rnd)
{
	/* A growth the inserts left unfinished ends here, in bounded steps
	 * (4096 slots a probe: 2^21 slots in about 9 minutes). */
	swim_index_step(&t->index, 4096);
	/* Stale slots are skipped; each reshuffle leaves none. */
	for (uint32_t wraps = 0; wraps < 2;) {
		if (t->probe_idx >= t->order.nb) {
			swim_order_reset(t, rnd);
			wraps++;
			if (t->order.nb == 0)
				return NULL;
		}
		struct swim_member *m = t->order.v[t->probe_idx++];
		if (swim_member_probeable(m))
			return m;
	}
	return NULL;
}

static bool
swim_picked(struct swim_member **out, uint32_t nb, const struct swim_member *m)
{
	for (uint32_t i = 0; i < nb; i++) {
		if (out[i] == m)
			return true;
	}
	return false;
}

/* live is all[0, live.nb), dead follows it. */
static struct swim_member *
swim_members_at(const struct swim_members *t, uint32_t idx)
{
	return t->all.v[idx];
}

/* Small tables: walk a lazy random permutation, so nobody is missed. */
static uint32_t
swim_members_random_small(const struct swim_members *t, struct swim_rand *rnd,
			  uint32_t n, uint32_t k, swim_member_filter_f filter,
			  void *ctx, struct swim_member **out)
{
	uint16_t perm[SWIM_RANDOM_SMALL];
	uint32_t nb = 0;

	for (uint32_t i = 0; i < n; i++)
		perm[i] = (uint16_t)i;
	for (uint32_t i = 0; i < n && nb < k; i++) {
		uint32_t j = i + (uint32_t)swim_rand_below(rnd, n - i);
		uint16_t tmp = perm[i];
		perm[i] = perm[j];
		perm[j] = tmp;
		struct swim_member *m = swim_members_at(t, perm[i]);
		if (filter == NULL || filter(ctx, m))
			out[nb++] = m;
	}
	return nb;
}

uint32_t
swim_members_random(const struct swim_members *t, struct swim_rand *rnd,
		    bool with_dead, uint32_t k, swim_member_filter_f filter,
		    void *ctx, struct swim_member **out)
{
	uint32_t n = t->live.nb + (with_dead ? t->dead.nb : 0);
	uint32_t nb = 0;

	if (n <= SWIM_RANDOM_SMALL)
		return swim_members_random_small(t, rnd, n, k, filter, ctx,
						 out);
	/* memberlist draws up to 3n times; expected O(k) draws here. */
	uint64_t draws = 3ull * n;
	uint64_t cap = 64ull * k + 256;
	if (draws > cap)
		draws = cap;
	for (uint64_t i = 0; i < draws && nb < k; i++) {
		struct swim_member *m = swim_members_at(t,
			(uint32_t)swim_rand_below(rnd, n));
		if (filter != NULL && !filter(ctx, m))
			continue;
		if (swim_picked(out, nb, m))
			continue;
		out[nb++] = m;
	}
	return nb;
}
