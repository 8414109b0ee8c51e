/*
 * Delta sync's member round (docs/delta-sync.md §4). Once the differing
 * leaves are known, the responder lists the (name hash, digest) pairs of
 * its counted members there (MEMBERS, parts of at most
 * SWIM_DSYNC_MSG_MAX bytes, leaves rising); the initiator compares them
 * with its own members of those leaves (a name one side lacks has
 * digest 0 there) and answers each part with the name hashes whose
 * digests differ (WANT). Both sides keep that list (x->want) and the
 * transfer sends only the members it names: the k that differ, not
 * their leaves. At most SWIM_DSYNC_WANT_MAX names an exchange; what is
 * left still differs and waits for the next exchange.
 */
#include "swim_dsync_int.h"
#include "swim_int.h"

#include <stdlib.h>
#include <string.h>

/* Pairs a MEMBERS may carry (its body is at most MSG_MAX - header). */
#define SWIM_DSYNC_PAIRS_MAX \
	((SWIM_DSYNC_MSG_MAX - SWIM_DSYNC_MEMBERS_MIN) / 16u + 1u)

struct swim_dsync_pair {
	uint64_t nh;
	uint64_t d;
	uint32_t leaf;
};

struct swim_dsync_pairs {
	struct swim_dsync_pair *p;
	size_t nb;
	size_t cap;
};

static uint8_t *
swim_dsync_memb_put(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		*p++ = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	return p;
}

static int
swim_dsync_pair_cmp(const void *a, const void *b)
{
	const struct swim_dsync_pair *x = a, *y = b;

	if (x->leaf != y->leaf)
		return x->leaf < y->leaf ? -1 : 1;
	return x->nh < y->nh ? -1 : x->nh > y->nh;
}

static int
swim_dsync_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static bool
swim_dsync_pairs_push(struct swim_dsync_pairs *v, uint64_t nh, uint64_t d,
		      uint32_t leaf)
{
	if (v->nb == v->cap) {
		size_t cap = v->cap != 0 ? v->cap * 2 : 256;
		void *p = realloc(v->p, cap * sizeof(*v->p));
		if (p == NULL)
			return false;
		v->p = p;
		v->cap = cap;
	}
	v->p[v->nb++] = (struct swim_dsync_pair){ nh, d, leaf };
	return true;
}

static uint64_t
swim_dsync_memb_hash(const struct swim_member *m)
{
	return swim_index_hash(m->name, m->name_len);
}

/* --- the responder's MEMBERS --- */

/*
 * Our counted members of the set's leaves from x->cursor on. A walk by
 * leaf stops at the first leaf after `avail` bytes are reached: *stop is
 * the first leaf not collected whole (2^bits: all were).
 */
static int
swim_dsync_memb_collect(const struct swim *s, struct swim_dsync *x,
			size_t avail, struct swim_dsync_pairs *v,
			uint32_t *stop)
{
	struct swim_pp_enc e = { .dsync = x, .leaf = x->cursor };
	bool by_leaf = swim_dsync_walk_by_leaf(&s->mt.index);
	uint64_t mask = ((uint64_t)1 << x->bits) - 1;
	uint32_t last = UINT32_MAX;
	size_t bytes = 0;
	const struct swim_member *m;

	*stop = 1u << x->bits;
	while ((m = swim_dsync_walk_set(&s->mt.index, &e)) != NULL) {
		uint64_t nh = swim_dsync_memb_hash(m);
		uint32_t leaf = (uint32_t)(nh & mask);
		if (leaf < x->cursor)
			continue;	/* the walk over every entry */
		if (by_leaf && leaf != last) {
			if (bytes > avail) {
				*stop = leaf;
				break;
			}
			last = leaf;
			bytes += 2;
		}
		uint64_t d = swim_dsync_digest_h(nh, m->incarnation,
						 m->status);
		if (d == 0)
			continue;	/* dead and left do not count */
		if (!swim_dsync_pairs_push(v, nh, d, leaf))
			return SWIM_DSYNC_E_NOSPACE;
		bytes += 16;
	}
	if (v->nb > 1)	/* (qsort of NULL is undefined, even for 0) */
		qsort(v->p, v->nb, sizeof(*v->p), swim_dsync_pair_cmp);
	/* Two names with one 64-bit hash: one pair, their XOR. */
	size_t k = 0;
	for (size_t i = 0; i < v->nb; i++) {
		if (k > 0 && v->p[k - 1].nh == v->p[i].nh)
			v->p[k - 1].d ^= v->p[i].d;
		else
			v->p[k++] = v->p[i];
	}
	v->nb = k;
	return 0;
}

/* Write MEMBERS of nl leaves from x->cursor and the first np pairs. */
static size_t
swim_dsync_memb_write(struct swim_dsync *x, const struct swim_dsync_pairs *v,
		      uint32_t nl, uint32_t np, bool more, uint8_t *out)
{
	uint64_t body = 10 + 2 * (uint64_t)nl + 16 * (uint64_t)np;
	uint8_t *p = out;

	*p++ = SWIM_DSYNC_MSG_MEMBERS;
	p = swim_dsync_memb_put(p, body, 4);
	*p++ = x->bits;
	*p++ = more ? 1 : 0;
	p = swim_dsync_memb_put(p, nl, 4);
	p = swim_dsync_memb_put(p, np, 4);
	uint32_t leaf = x->cursor;
	for (uint32_t i = 0; i < nl; i++, leaf++) {
		leaf = swim_dsync_next_leaf(x, leaf);
		p = swim_dsync_memb_put(p, leaf, 2);
	}
	for (uint32_t i = 0; i < np; i++) {
		p = swim_dsync_memb_put(p, v->p[i].nh, 8);
		p = swim_dsync_memb_put(p, v->p[i].d, 8);
	}
	return (size_t)(p - out);
}

int
swim_dsync_send_members(const struct swim *s, struct swim_dsync *x,
			uint8_t *out, size_t cap, size_t *out_len)
{
	struct swim_dsync_pairs v = { 0 };
	size_t lim = cap < SWIM_DSYNC_MSG_MAX ? cap : SWIM_DSYNC_MSG_MAX;
	uint32_t stop, nl = 0, np = 0, end = 1u << x->bits, last = 0;

	if (out == NULL || lim < SWIM_DSYNC_MEMBERS_MIN)
		return SWIM_DSYNC_E_NOSPACE;
	size_t avail = lim - SWIM_DSYNC_MEMBERS_MIN, used = 0;
	int rc = swim_dsync_memb_collect(s, x, avail, &v, &stop);
	/* Whole leaves, rising, while they fit. */
	for (uint32_t leaf = swim_dsync_next_leaf(x, x->cursor);
	     rc == 0 && leaf < stop; leaf = swim_dsync_next_leaf(x, leaf + 1)) {
		uint32_t c = 0;
		while (np + c < v.nb && v.p[np + c].leaf == leaf)
			c++;
		if (used + 2 + 16 * (size_t)c > avail)
			break;
		used += 2 + 16 * (size_t)c;
		nl++;
		np += c;
		last = leaf;
	}
	if (rc == 0 && nl == 0)
		rc = SWIM_DSYNC_E_NOSPACE;	/* one leaf over a message */
	if (rc == 0) {
		bool more = swim_dsync_next_leaf(x, last + 1) < end;
		*out_len = swim_dsync_memb_write(x, &v, nl, np, more, out);
		x->part_first = swim_dsync_next_leaf(x, x->cursor);
		x->cursor = last + 1;
		x->step = SWIM_DS_MEMBERS_SENT;
		rc = SWIM_DSYNC_WAIT;
	}
	free(v.p);
	return rc;
}

/* --- the end of the round: both sides --- */

bool
swim_dsync_wanted(const struct swim_dsync *x, uint64_t nh)
{
	uint32_t lo = 0, hi = x->nb_want;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (x->want[mid] == nh)
			return true;
		if (x->want[mid] < nh)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Sort and dedupe want[from, nb_want). */
static void
swim_dsync_want_sort(struct swim_dsync *x, uint32_t from)
{
	uint32_t k = from;

	if (x->nb_want - from > 1)
		qsort(x->want + from, x->nb_want - from, sizeof(x->want[0]),
		      swim_dsync_u64_cmp);
	for (uint32_t i = from; i < x->nb_want; i++) {
		if (k == from || x->want[k - 1] != x->want[i])
			x->want[k++] = x->want[i];
	}
	x->nb_want = k;
}

/* The transfer's set: x->want, sorted, and its leaves for the walk. */
static int
swim_dsync_memb_finish(struct swim_dsync *x)
{
	uint64_t mask = ((uint64_t)1 << x->bits) - 1;

	swim_dsync_want_sort(x, 0);
	memset(x->leaves, 0, sizeof(x->leaves));
	x->nb_leaves = 0;
	for (uint32_t i = 0; i < x->nb_want; i++) {
		uint32_t leaf = (uint32_t)(x->want[i] & mask);
		if (!swim_dsync_bit(x->leaves, leaf)) {
			swim_dsync_set(x->leaves, leaf);
			x->nb_leaves++;
		}
	}
	x->is_filtered = true;
	return x->nb_want > 0 ? SWIM_DSYNC_TRANSFER : SWIM_DSYNC_IN_SYNC;
}

/* --- the initiator: compare, WANT --- */

/* Index of the pair (leaf, nh) in mb, or UINT32_MAX. */
static uint32_t
swim_dsync_memb_find(const struct swim_dsync_members *mb, uint32_t leaf,
		     uint64_t nh)
{
	uint64_t mask = ((uint64_t)1 << mb->bits) - 1, d;
	uint32_t lo = 0, hi = mb->nb_pairs;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		uint64_t h = swim_dsync_members_pair(mb, mid, &d);
		uint32_t l = (uint32_t)(h & mask);
		if (l == leaf && h == nh)
			return mid;
		if (l < leaf || (l == leaf && h < nh))
			lo = mid + 1;
		else
			hi = mid;
	}
	return UINT32_MAX;
}

static void
swim_dsync_want_add(struct swim_dsync *x, uint64_t nh)
{
	if (x->nb_want < SWIM_DSYNC_WANT_MAX)
		x->want[x->nb_want++] = nh;
}

/* Append to x->want the names of x->leaves whose digests differ. */
static void
swim_dsync_memb_compare(const struct swim *s, struct swim_dsync *x,
			const struct swim_dsync_members *mb)
{
	uint64_t seen[(SWIM_DSYNC_PAIRS_MAX + 63) / 64] = { 0 };
	uint64_t mask = ((uint64_t)1 << x->bits) - 1, dr;
	struct swim_pp_enc e = { .dsync = x };
	const struct swim_member *m;

	while ((m = swim_dsync_walk_set(&s->mt.index, &e)) != NULL) {
		uint64_t nh = swim_dsync_memb_hash(m);
		uint32_t i = swim_dsync_memb_find(mb, (uint32_t)(nh & mask),
						  nh);
		dr = 0;
		if (i != UINT32_MAX) {
			swim_dsync_members_pair(mb, i, &dr);
			seen[i / 64] |= (uint64_t)1 << (i % 64);
		}
		if (swim_dsync_digest_h(nh, m->incarnation, m->status) != dr)
			swim_dsync_want_add(x, nh);
	}
	/* The peer's names we lack (a digest of 0 here). */
	for (uint32_t i = 0; i < mb->nb_pairs; i++) {
		uint64_t nh = swim_dsync_members_pair(mb, i, &dr);
		if (!(seen[i / 64] >> (i % 64) & 1) && dr != 0)
			swim_dsync_want_add(x, nh);
	}
}

/* WANT of want[from, nb_want). */
static int
swim_dsync_send_want(const struct swim_dsync *x, uint32_t from,
		     uint8_t *out, size_t cap, size_t *out_len)
{
	uint32_t n = x->nb_want - from;
	uint64_t body = 4 + 8 * (uint64_t)n;

	if (out == NULL || cap < SWIM_DSYNC_HDR_LEN + body)
		return SWIM_DSYNC_E_NOSPACE;
	uint8_t *p = out;
	*p++ = SWIM_DSYNC_MSG_WANT;
	p = swim_dsync_memb_put(p, body, 4);
	p = swim_dsync_memb_put(p, n, 4);
	for (uint32_t i = from; i < x->nb_want; i++)
		p = swim_dsync_memb_put(p, x->want[i], 8);
	*out_len = (size_t)(p - out);
	return 0;
}

/* The part's leaves: rising after the last part's, of groups we sent. */
static int
swim_dsync_memb_leaves(struct swim_dsync *x,
		       const struct swim_dsync_members *mb)
{
	if (mb->bits != x->bits)
		return SWIM_DSYNC_E_BITS;
	if (mb->nb_leaves == 0)
		return SWIM_DSYNC_E_COUNT;
	memset(x->leaves, 0, sizeof(x->leaves));
	x->nb_leaves = 0;
	for (uint32_t i = 0; i < mb->nb_leaves; i++) {
		uint32_t leaf = swim_dsync_members_leaf(mb, i);
		if (leaf < x->cursor ||
		    !swim_dsync_bit(x->groups, leaf % SWIM_DSYNC_GROUPS)) {
			memset(x->leaves, 0, sizeof(x->leaves));
			return SWIM_DSYNC_E_RANGE;
		}
		swim_dsync_set(x->leaves, leaf);
	}
	x->nb_leaves = mb->nb_leaves;
	x->cursor = swim_dsync_members_leaf(mb, mb->nb_leaves - 1) + 1;
	return 0;
}

int
swim_dsync_on_members(const struct swim *s, struct swim_dsync *x,
		      const uint8_t *in, size_t in_len, uint8_t *out,
		      size_t cap, size_t *out_len)
{
	struct swim_dsync_members mb;
	uint32_t from = x->nb_want;
	int rc = swim_dsync_decode_members(in, in_len, &mb);

	if (rc >= 0)
		rc = swim_dsync_memb_leaves(x, &mb);
	if (rc < 0)
		return rc;
	swim_dsync_memb_compare(s, x, &mb);
	swim_dsync_want_sort(x, from);
	rc = swim_dsync_send_want(x, from, out, cap, out_len);
	if (rc < 0)
		return rc;
	if (mb.more && x->nb_want < SWIM_DSYNC_WANT_MAX) {
		x->step = SWIM_DS_WANT_SENT;
		return SWIM_DSYNC_WAIT;
	}
	return swim_dsync_memb_finish(x);
}

/* --- the responder: a WANT --- */

int
swim_dsync_on_want(const struct swim *s, struct swim_dsync *x,
		   const uint8_t *in, size_t in_len, uint8_t *out,
		   size_t cap, size_t *out_len)
{
	struct swim_dsync_want w;
	uint64_t mask = ((uint64_t)1 << x->bits) - 1;
	int rc = swim_dsync_decode_want(in, in_len, &w);

	if (rc < 0)
		return rc;
	if (w.nb > SWIM_DSYNC_WANT_MAX - x->nb_want)
		return SWIM_DSYNC_E_COUNT;
	/* Only names of the leaves our last MEMBERS listed. */
	for (uint32_t i = 0; i < w.nb; i++) {
		uint32_t leaf = (uint32_t)(swim_dsync_want_hash(&w, i) & mask);
		if (leaf < x->part_first || leaf >= x->cursor ||
		    !swim_dsync_bit(x->leaves, leaf))
			return SWIM_DSYNC_E_RANGE;
	}
	for (uint32_t i = 0; i < w.nb; i++)
		x->want[x->nb_want++] = swim_dsync_want_hash(&w, i);
	if (x->nb_want < SWIM_DSYNC_WANT_MAX &&
	    swim_dsync_next_leaf(x, x->cursor) < (1u << x->bits))
		return swim_dsync_send_members(s, x, out, cap, out_len);
	return swim_dsync_memb_finish(x);
}
