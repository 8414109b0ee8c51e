/*
 * The member table: a chained hash by name plus index-tracked vectors,
 * so that insert, lookup, removal and status moves are all O(1).
 */
#include "swim_member.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define SWIM_IDX(m, off) ((uint32_t *)((char *)(m) + (off)))
#define OFF_ALL offsetof(struct swim_member, idx_all)
#define OFF_LIST offsetof(struct swim_member, idx_list)
#define OFF_ORDER offsetof(struct swim_member, idx_order)
/** Up to this many candidates, sampling is exact (a lazy shuffle). */
#define SWIM_RANDOM_SMALL 256

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

static int
swim_vec_reserve(struct swim_member_vec *v, uint32_t n)
{
	if (n <= v->cap)
		return 0;
	uint32_t cap = v->cap ? v->cap * 2 : 16;
	while (cap < n)
		cap *= 2;
	struct swim_member **p = realloc(v->v, cap * sizeof(*p));
	if (p == NULL)
		return -1;
	v->v = p;
	v->cap = cap;
	return 0;
}

static int
swim_vec_push(struct swim_member_vec *v, struct swim_member *m, size_t off)
{
	if (swim_vec_reserve(v, v->nb + 1) != 0)
		return -1;
	*SWIM_IDX(m, off) = v->nb;
	v->v[v->nb++] = m;
	return 0;
}

/* Swap-remove; the member moved into the hole learns its new slot. */
static void
swim_vec_del(struct swim_member_vec *v, struct swim_member *m, size_t off)
{
	uint32_t i = *SWIM_IDX(m, off);

	if (i >= v->nb || v->v[i] != m)
		return;
	struct swim_member *last = v->v[--v->nb];
	v->v[i] = last;
	*SWIM_IDX(last, off) = i;
	*SWIM_IDX(m, off) = SWIM_IDX_NONE;
}

int
swim_members_init(struct swim_members *t)
{
	memset(t, 0, sizeof(*t));
	t->nb_buckets = 64;
	t->buckets = calloc(t->nb_buckets, sizeof(*t->buckets));
	return t->buckets == NULL ? -1 : 0;
}

void
swim_members_destroy(struct swim_members *t)
{
	for (uint32_t i = 0; i < t->all.nb; i++)
		free(t->all.v[i]);
	free(t->all.v);
	free(t->live.v);
	free(t->dead.v);
	free(t->order.v);
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

struct swim_member *
swim_members_find(const struct swim_members *t, const char *name, size_t len)
{
	if (len > SWIM_NAME_MAX || t->buckets == NULL)
		return NULL;
	uint64_t h = swim_name_hash(name, len);
	struct swim_member *m = t->buckets[h & (t->nb_buckets - 1)];

	for (; m != NULL; m = m->hnext) {
		if (m->hash == h && m->name_len == len &&
		    memcmp(m->name, name, len) == 0)
			return m;
	}
	return NULL;
}

/* Double the buckets when the load passes 1; amortized O(1) per insert. */
static void
swim_members_grow(struct swim_members *t)
{
	uint32_t nb = t->nb_buckets * 2;
	struct swim_member **b = calloc(nb, sizeof(*b));

	if (b == NULL)
		return;	/* keep the longer chains; still correct */
	for (uint32_t i = 0; i < t->all.nb; i++) {
		struct swim_member *m = t->all.v[i];
		uint32_t slot = m->hash & (nb - 1);
		m->hnext = b[slot];
		b[slot] = m;
	}
	free(t->buckets);
	t->buckets = b;
	t->nb_buckets = nb;
}

/* memberlist: append, then swap with a random slot. */
static int
swim_order_insert(struct swim_members *t, struct swim_rand *rnd,
		  struct swim_member *m)
{
	struct swim_member_vec *o = &t->order;

	if (swim_vec_push(o, m, OFF_ORDER) != 0)
		return -1;
	uint32_t off = (uint32_t)swim_rand_below(rnd, o->nb);
	struct swim_member *other = o->v[off];
	o->v[off] = m;
	o->v[o->nb - 1] = other;
	if (other != NULL)
		other->idx_order = o->nb - 1;
	m->idx_order = off;
	return 0;
}

static int
swim_members_link(struct swim_members *t, struct swim_member *m)
{
	/* live and dead never outgrow all: status moves cannot fail. */
	if (swim_vec_reserve(&t->dead, t->all.nb + 1) != 0 ||
	    swim_vec_reserve(&t->live, t->all.nb + 1) != 0 ||
	    swim_vec_push(&t->all, m, OFF_ALL) != 0)
		return -1;
	uint32_t slot = m->hash & (t->nb_buckets - 1);
	m->hnext = t->buckets[slot];
	t->buckets[slot] = m;
	t->nb_status[m->status]++;
	if (!m->is_self)
		swim_vec_push(&t->dead, m, OFF_LIST);
	return 0;
}

struct swim_member *
swim_members_add(struct swim_members *t, struct swim_rand *rnd,
		 const char *name, size_t len, bool is_self)
{
	if (len == 0 || len > SWIM_NAME_MAX ||
	    swim_members_find(t, name, len) != NULL)
		return NULL;
	struct swim_member *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	memcpy(m->name, name, len);
	m->name_len = (uint32_t)len;
	m->hash = swim_name_hash(name, len);
	m->status = SWIM_STATUS_DEAD;
	m->is_self = is_self;
	m->idx_list = SWIM_IDX_NONE;
	m->idx_order = SWIM_IDX_NONE;
	swim_timer_init(&m->t_suspect, 0);
	swim_timer_init(&m->t_reap, 0);
	if (swim_members_link(t, m) != 0) {
		free(m);
		return NULL;
	}
	if (!is_self)
		swim_order_insert(t, rnd, m);
	if (t->all.nb > t->nb_buckets)
		swim_members_grow(t);
	return m;
}

static struct swim_member_vec *
swim_members_list_of(struct swim_members *t, const struct swim_member *m)
{
	if (m->is_self)
		return NULL;
	switch (m->status) {
	case SWIM_STATUS_ALIVE:
	case SWIM_STATUS_SUSPECT:
		return &t->live;
	case SWIM_STATUS_DEAD:
		return &t->dead;
	default:
		return NULL;
	}
}

void
swim_members_remove(struct swim_members *t, struct swim_member *m)
{
	struct swim_member **link = &t->buckets[m->hash & (t->nb_buckets - 1)];

	while (*link != NULL && *link != m)
		link = &(*link)->hnext;
	if (*link == m)
		*link = m->hnext;
	struct swim_member_vec *list = swim_members_list_of(t, m);
	if (list != NULL)
		swim_vec_del(list, m, OFF_LIST);
	if (m->idx_order != SWIM_IDX_NONE && m->idx_order < t->order.nb &&
	    t->order.v[m->idx_order] == m)
		t->order.v[m->idx_order] = NULL;
	swim_vec_del(&t->all, m, OFF_ALL);
	t->nb_status[m->status]--;
	free(m);
}

void
swim_members_set_status(struct swim_members *t, struct swim_rand *rnd,
			struct swim_member *m, enum swim_status st)
{
	if (m->status == st || st >= SWIM_STATUS_COUNT)
		return;
	struct swim_member_vec *from = swim_members_list_of(t, m);
	t->nb_status[m->status]--;
	m->status = st;
	t->nb_status[st]++;
	struct swim_member_vec *to = swim_members_list_of(t, m);
	if (from == to)
		return;
	if (from != NULL)
		swim_vec_del(from, m, OFF_LIST);
	if (to != NULL)
		swim_vec_push(to, m, OFF_LIST);
	/* Back from the dead: probe it this round too. */
	if (to == &t->live && m->idx_order == SWIM_IDX_NONE)
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
	for (uint32_t i = 0; i < t->live.nb; i++)
		swim_vec_push(o, t->live.v[i], OFF_ORDER);
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

static struct swim_member *
swim_members_at(const struct swim_members *t, uint32_t idx)
{
	return idx < t->live.nb ? t->live.v[idx] : t->dead.v[idx - t->live.nb];
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
