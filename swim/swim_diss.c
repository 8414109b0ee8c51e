/*
 * memberlist's TransmitLimitedQueue over a treap. See swim_diss.h.
 */
#include "swim_diss.h"

#include <stdlib.h>
#include <string.h>

/* Treap order: fewest transmits first, then longest, then newest. */
static bool
swim_bcast_less(const struct swim_bcast *a, const struct swim_bcast *b)
{
	if (a->transmits != b->transmits)
		return a->transmits < b->transmits;
	if (a->len != b->len)
		return a->len > b->len;
	return a->id > b->id;
}

static void
swim_treap_split(struct swim_bcast *t, const struct swim_bcast *key,
		 struct swim_bcast **l, struct swim_bcast **r)
{
	while (t != NULL) {
		if (swim_bcast_less(t, key)) {
			*l = t;
			l = &t->right;
			t = t->right;
		} else {
			*r = t;
			r = &t->left;
			t = t->left;
		}
	}
	*l = NULL;
	*r = NULL;
}

static struct swim_bcast *
swim_treap_merge(struct swim_bcast *l, struct swim_bcast *r)
{
	struct swim_bcast *root = NULL;
	struct swim_bcast **link = &root;

	while (l != NULL && r != NULL) {
		if (l->prio > r->prio) {
			*link = l;
			link = &l->right;
			l = l->right;
		} else {
			*link = r;
			link = &r->left;
			r = r->left;
		}
	}
	*link = l != NULL ? l : r;
	return root;
}

static void
swim_treap_insert(struct swim_bcast **link, struct swim_bcast *it)
{
	while (*link != NULL && (*link)->prio >= it->prio)
		link = swim_bcast_less(it, *link) ? &(*link)->left :
						    &(*link)->right;
	swim_treap_split(*link, it, &it->left, &it->right);
	*link = it;
}

static void
swim_treap_remove(struct swim_bcast **link, struct swim_bcast *it)
{
	while (*link != NULL && *link != it)
		link = swim_bcast_less(it, *link) ? &(*link)->left :
						    &(*link)->right;
	if (*link == it)
		*link = swim_treap_merge(it->left, it->right);
	it->left = NULL;
	it->right = NULL;
}

/*
 * Lower bound of (transmits, room): the first item at tier `transmits`
 * that is at most `room` bytes long, or else the first item of a later
 * tier (so the caller can skip empty tiers), or NULL.
 */
static struct swim_bcast *
swim_treap_fit(struct swim_bcast *t, uint32_t transmits, size_t room)
{
	struct swim_bcast *best = NULL;

	while (t != NULL) {
		bool before = t->transmits < transmits ||
			      (t->transmits == transmits && t->len > room);
		if (before) {
			t = t->right;
		} else {
			best = t;
			t = t->left;
		}
	}
	return best;
}

void
swim_diss_init(struct swim_diss *q, uint64_t seed, uint32_t max)
{
	memset(q, 0, sizeof(*q));
	q->max = max;
	swim_rand_seed(&q->rnd, seed ^ 0x5157494d44495353ull);
}

/*
 * Keep a few finished items for reuse, free the rest: a merge of 10^6
 * members queues 10^6 broadcasts once, and their memory must not stay
 * parked in the free list after they went out.
 */
#define SWIM_DISS_FREE_KEEP 1024

static void
swim_bcast_recycle(struct swim_diss *q, struct swim_bcast *b)
{
	if (q->nb_free >= SWIM_DISS_FREE_KEEP) {
		free(b->data);
		free(b);
		return;
	}
	b->next = q->free_list;
	q->free_list = b;
	q->nb_free++;
}

static void
swim_bcast_free_list(struct swim_bcast *b)
{
	while (b != NULL) {
		struct swim_bcast *next = b->next;
		free(b->data);
		free(b);
		b = next;
	}
}

void
swim_diss_destroy(struct swim_diss *q)
{
	swim_diss_clear(q);
	swim_diss_release(q);
	swim_bcast_free_list(q->free_list);
	q->free_list = NULL;
	q->nb_free = 0;
}

/* The item leaves the queue for good: unhook its owner and leave flag. */
static void
swim_bcast_finish(struct swim_diss *q, struct swim_bcast *b)
{
	if (b->owner != NULL && *b->owner == b)
		*b->owner = NULL;
	b->owner = NULL;
	if (b->flags & SWIM_BCAST_LEAVE)
		q->nb_leave--;
	b->flags = 0;
	q->nb--;
}

static struct swim_bcast *
swim_bcast_get(struct swim_diss *q, size_t len)
{
	struct swim_bcast *b = q->free_list;

	if (b != NULL) {
		q->free_list = b->next;
		q->nb_free--;
	} else {
		b = calloc(1, sizeof(*b));
		if (b == NULL)
			return NULL;
	}
	if (b->cap < len) {
		uint8_t *data = realloc(b->data, len);
		if (data == NULL) {
			swim_bcast_recycle(q, b);
			return NULL;
		}
		b->data = data;
		b->cap = (uint32_t)len;
	}
	return b;
}

int
swim_diss_push(struct swim_diss *q, const uint8_t *data, size_t len,
	       struct swim_bcast **owner, uint32_t flags)
{
	if (len == 0 || len > SWIM_UDP_MAX)
		return -1;
	if (owner != NULL && *owner != NULL) {
		struct swim_bcast *old = *owner;
		swim_treap_remove(&q->root, old);
		swim_bcast_finish(q, old);
		swim_bcast_recycle(q, old);
	}
	if (q->max != 0 && q->nb >= q->max)
		return -1;
	struct swim_bcast *b = swim_bcast_get(q, len);
	if (b == NULL)
		return -1;
	memcpy(b->data, data, len);
	b->len = (uint32_t)len;
	b->transmits = 0;
	b->id = ++q->id_gen;
	b->prio = swim_rand_next(&q->rnd);
	b->flags = flags;
	b->owner = owner;
	b->next = NULL;
	if (owner != NULL)
		*owner = b;
	if (flags & SWIM_BCAST_LEAVE)
		q->nb_leave++;
	q->nb++;
	swim_treap_insert(&q->root, b);
	return 0;
}

void
swim_diss_detach(struct swim_bcast *b)
{
	if (b != NULL)
		b->owner = NULL;
}

static uint32_t
swim_treap_max_transmits(const struct swim_bcast *t)
{
	while (t->right != NULL)
		t = t->right;
	return t->transmits;
}

static uint32_t
swim_treap_min_transmits(const struct swim_bcast *t)
{
	while (t->left != NULL)
		t = t->left;
	return t->transmits;
}

/* One pick: count the transmit, then retire it or keep it for reinsert. */
static void
swim_diss_count(struct swim_diss *q, struct swim_bcast *b,
		uint32_t transmit_limit, struct swim_bcast **reinsert)
{
	swim_treap_remove(&q->root, b);
	if (b->transmits + 1 >= transmit_limit) {
		swim_bcast_finish(q, b);
		b->next = q->retired;
		q->retired = b;
	} else {
		b->transmits++;
		b->next = *reinsert;
		*reinsert = b;
	}
}

unsigned
swim_diss_take(struct swim_diss *q, size_t overhead, size_t limit,
	       uint32_t transmit_limit, struct swim_str *parts,
	       unsigned max_parts, size_t *used)
{
	if (q->root == NULL || max_parts == 0)
		return 0;
	struct swim_bcast *reinsert = NULL;
	unsigned nb = 0;
	uint32_t tier = swim_treap_min_transmits(q->root);
	uint32_t max_tier = swim_treap_max_transmits(q->root);

	while (tier <= max_tier && nb < max_parts) {
		if (*used + overhead >= limit)
			break;
		size_t room = limit - *used - overhead;
		struct swim_bcast *b = swim_treap_fit(q->root, tier, room);
		if (b == NULL)
			break;
		if (b->transmits != tier) {
			/* Nothing fits at this tier: go to the next non-empty. */
			tier = b->transmits;
			continue;
		}
		parts[nb].ptr = b->data;
		parts[nb].len = b->len;
		nb++;
		*used += overhead + b->len;
		swim_diss_count(q, b, transmit_limit, &reinsert);
	}
	/* Reinsert after the walk so a message is not picked twice. */
	while (reinsert != NULL) {
		struct swim_bcast *b = reinsert;
		reinsert = b->next;
		b->next = NULL;
		swim_treap_insert(&q->root, b);
	}
	return nb;
}

void
swim_diss_release(struct swim_diss *q)
{
	while (q->retired != NULL) {
		struct swim_bcast *b = q->retired;
		q->retired = b->next;
		swim_bcast_recycle(q, b);
	}
}

static void
swim_diss_clear_tree(struct swim_diss *q, struct swim_bcast *t)
{
	while (t != NULL) {
		swim_diss_clear_tree(q, t->left);
		struct swim_bcast *right = t->right;
		t->left = NULL;
		t->right = NULL;
		swim_bcast_finish(q, t);
		swim_bcast_recycle(q, t);
		t = right;
	}
}

void
swim_diss_clear(struct swim_diss *q)
{
	swim_diss_clear_tree(q, q->root);
	q->root = NULL;
}
