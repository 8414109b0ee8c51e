/*
 * memberlist's TransmitLimitedQueue over tiers of runs. See swim_diss.h.
 */
#include "swim_diss.h"

#include <stdlib.h>
#include <string.h>

#define SWIM_DISS_SHIFT 10u
#define SWIM_DISS_CHUNK (1u << SWIM_DISS_SHIFT)	/* items: 32 KiB */
#define SWIM_DISS_NIL 0u			/* item 0 is never used */
#define SWIM_DISS_TMAX 65535u			/* transmits fit 16 bits */

/* Internal item flags, beside SWIM_BCAST_LEAVE. */
#define SWIM_BCAST_REF 0x10u	/* p is the owner slot, bytes encoded late */

/* A copy's bytes, with the owner slot a copy may have. */
struct swim_bcopy {
	struct swim_bcast **owner;
	uint8_t data[];
};

_Static_assert(sizeof(struct swim_bcast) <= 32, "an item is 32 bytes");

static inline struct swim_bcast *
swim_diss_at(const struct swim_diss *q, uint32_t i)
{
	return &q->chunks[i >> SWIM_DISS_SHIFT][i & (SWIM_DISS_CHUNK - 1)];
}

/* Serial order: ids wrap, live ones span far less than 2^31. */
static inline bool
swim_id_newer(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

/* --- the pool --- */

static int
swim_diss_grow(struct swim_diss *q)
{
	if (q->nb_chunks == q->cap_chunks) {
		uint32_t cap = q->cap_chunks ? q->cap_chunks * 2 : 4;
		struct swim_bcast **v = realloc(q->chunks, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		q->chunks = v;
		q->cap_chunks = cap;
	}
	struct swim_bcast *c = calloc(SWIM_DISS_CHUNK, sizeof(*c));
	if (c == NULL)
		return -1;
	uint32_t base = q->nb_chunks << SWIM_DISS_SHIFT;
	q->chunks[q->nb_chunks++] = c;
	for (uint32_t k = SWIM_DISS_CHUNK; k-- > 0;) {
		if (base + k == SWIM_DISS_NIL)
			break;
		c[k].next = q->free_head;
		q->free_head = base + k;
	}
	return 0;
}

static uint32_t
swim_diss_alloc(struct swim_diss *q)
{
	if (q->free_head == SWIM_DISS_NIL && swim_diss_grow(q) != 0)
		return SWIM_DISS_NIL;
	uint32_t i = q->free_head;
	struct swim_bcast *b = swim_diss_at(q, i);

	q->free_head = b->next;
	memset(b, 0, sizeof(*b));
	return i;
}

/* An empty queue gives its chunks back (a 10^6 merge's included). */
static void
swim_diss_pool_trim(struct swim_diss *q)
{
	if (q->nb != 0 || q->retired != SWIM_DISS_NIL || q->nb_chunks <= 1)
		return;
	for (uint32_t c = 0; c < q->nb_chunks; c++)
		free(q->chunks[c]);
	q->nb_chunks = 0;
	q->free_head = SWIM_DISS_NIL;
}

/* --- runs: one exact length in one tier, newest first --- */

/* The first run at most len long (runs are longest first). */
static uint32_t
swim_run_lower(const struct swim_diss_tier *t, size_t len)
{
	uint32_t lo = 0;
	uint32_t hi = t->nb_runs;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (t->runs[mid].len > len)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct swim_diss_run *
swim_run_find(const struct swim_diss_tier *t, uint32_t len)
{
	uint32_t r = swim_run_lower(t, len);

	return r < t->nb_runs && t->runs[r].len == len ? &t->runs[r] : NULL;
}

static struct swim_diss_run *
swim_run_get(struct swim_diss_tier *t, uint32_t len)
{
	uint32_t r = swim_run_lower(t, len);

	if (r < t->nb_runs && t->runs[r].len == len)
		return &t->runs[r];
	if (t->nb_runs == t->cap_runs) {
		uint32_t cap = t->cap_runs ? t->cap_runs * 2 : 4;
		struct swim_diss_run *v = realloc(t->runs, cap * sizeof(*v));
		if (v == NULL)
			return NULL;
		t->runs = v;
		t->cap_runs = cap;
	}
	memmove(&t->runs[r + 1], &t->runs[r],
		(t->nb_runs - r) * sizeof(t->runs[0]));
	t->nb_runs++;
	memset(&t->runs[r], 0, sizeof(t->runs[r]));
	t->runs[r].len = len;
	return &t->runs[r];
}

static struct swim_diss_tier *
swim_tier_get(struct swim_diss *q, uint32_t transmits)
{
	if (transmits < q->nb_tiers)
		return &q->tiers[transmits];
	uint32_t nb = transmits + 1;
	struct swim_diss_tier *v = realloc(q->tiers, nb * sizeof(*v));

	if (v == NULL)
		return NULL;
	memset(&v[q->nb_tiers], 0, (nb - q->nb_tiers) * sizeof(*v));
	q->tiers = v;
	q->nb_tiers = nb;
	return &v[transmits];
}

/* Link item i after `after` (NIL: at the head). */
static void
swim_run_link(struct swim_diss *q, struct swim_diss_run *r, uint32_t after,
	      uint32_t i)
{
	struct swim_bcast *b = swim_diss_at(q, i);

	b->prev = after;
	b->next = after == SWIM_DISS_NIL ? r->head :
					   swim_diss_at(q, after)->next;
	if (b->next != SWIM_DISS_NIL)
		swim_diss_at(q, b->next)->prev = i;
	else
		r->tail = i;
	if (after != SWIM_DISS_NIL)
		swim_diss_at(q, after)->next = i;
	else
		r->head = i;
	r->nb++;
}

/*
 * Where an item with this id goes: after the last one newer than it.
 * Head, tail and the finger first; else walk from both ends at once.
 */
static uint32_t
swim_run_pos(struct swim_diss *q, const struct swim_diss_run *r, uint32_t id)
{
	if (r->head == SWIM_DISS_NIL ||
	    swim_id_newer(id, swim_diss_at(q, r->head)->id))
		return SWIM_DISS_NIL;
	if (swim_id_newer(swim_diss_at(q, r->tail)->id, id))
		return r->tail;
	uint32_t f = r->finger;
	if (f != SWIM_DISS_NIL && swim_id_newer(swim_diss_at(q, f)->id, id)) {
		uint32_t nx = swim_diss_at(q, f)->next;
		if (nx == SWIM_DISS_NIL ||
		    swim_id_newer(id, swim_diss_at(q, nx)->id))
			return f;
	}
	/* Here head is newer and tail older than id. */
	uint32_t a = r->head;
	uint32_t z = r->tail;
	for (;;) {
		q->walk_steps++;
		uint32_t an = swim_diss_at(q, a)->next;
		if (an == SWIM_DISS_NIL ||
		    !swim_id_newer(swim_diss_at(q, an)->id, id))
			return a;
		a = an;
		uint32_t zp = swim_diss_at(q, z)->prev;
		if (zp == SWIM_DISS_NIL ||
		    swim_id_newer(swim_diss_at(q, zp)->id, id))
			return zp;
		z = zp;
	}
}

/* Put item i into the tier of its transmits. @retval 0 or -1 (ENOMEM). */
static int
swim_tier_insert(struct swim_diss *q, uint32_t i)
{
	struct swim_bcast *b = swim_diss_at(q, i);
	struct swim_diss_tier *t = swim_tier_get(q, b->transmits);
	struct swim_diss_run *r = t != NULL ? swim_run_get(t, b->len) : NULL;

	if (r == NULL)
		return -1;
	swim_run_link(q, r, swim_run_pos(q, r, b->id), i);
	r->finger = i;
	t->nb++;
	return 0;
}

/* Unlink item i, the r-th run of tier t; an emptied run goes. */
static void
swim_tier_unlink(struct swim_diss *q, struct swim_diss_tier *t, uint32_t r,
		 uint32_t i)
{
	struct swim_diss_run *run = &t->runs[r];
	struct swim_bcast *b = swim_diss_at(q, i);

	if (b->prev != SWIM_DISS_NIL)
		swim_diss_at(q, b->prev)->next = b->next;
	else
		run->head = b->next;
	if (b->next != SWIM_DISS_NIL)
		swim_diss_at(q, b->next)->prev = b->prev;
	else
		run->tail = b->prev;
	if (run->finger == i)
		run->finger = SWIM_DISS_NIL;
	b->prev = SWIM_DISS_NIL;
	b->next = SWIM_DISS_NIL;
	t->nb--;
	if (--run->nb == 0) {
		memmove(run, run + 1, (t->nb_runs - r - 1) * sizeof(*run));
		t->nb_runs--;
	}
}

/* Unlink a queued item known by pointer. @retval its index. */
static uint32_t
swim_tier_remove(struct swim_diss *q, struct swim_bcast *b)
{
	struct swim_diss_tier *t = &q->tiers[b->transmits];
	struct swim_diss_run *run = swim_run_find(t, b->len);
	uint32_t i = b->prev != SWIM_DISS_NIL ?
		     swim_diss_at(q, b->prev)->next : run->head;

	swim_tier_unlink(q, t, (uint32_t)(run - t->runs), i);
	return i;
}

/* --- item life --- */

static struct swim_bcast **
swim_bcast_owner(const struct swim_bcast *b)
{
	if (b->flags & SWIM_BCAST_REF)
		return b->p;
	const struct swim_bcopy *c = b->p;
	return c != NULL ? c->owner : NULL;
}

/* The item leaves the queue for good: unhook its owner and leave flag. */
static void
swim_bcast_finish(struct swim_diss *q, struct swim_bcast *b)
{
	struct swim_bcast **owner = swim_bcast_owner(b);

	if (owner != NULL && *owner == b)
		*owner = NULL;
	if (b->flags & SWIM_BCAST_REF)
		b->p = NULL;
	else if (b->p != NULL)
		((struct swim_bcopy *)b->p)->owner = NULL;
	if (b->flags & SWIM_BCAST_LEAVE)
		q->nb_leave--;
	b->flags &= (uint8_t)~SWIM_BCAST_LEAVE;
	q->nb--;
}

static void
swim_bcast_recycle(struct swim_diss *q, uint32_t i)
{
	struct swim_bcast *b = swim_diss_at(q, i);

	if (!(b->flags & SWIM_BCAST_REF))
		free(b->p);
	b->p = NULL;
	b->flags = 0;
	b->next = q->free_head;
	q->free_head = i;
}

static void
swim_bcast_retire(struct swim_diss *q, uint32_t i)
{
	swim_bcast_finish(q, swim_diss_at(q, i));
	swim_diss_at(q, i)->next = q->retired;
	q->retired = i;
}

/* Drop a queued item now (replaced, evicted, cleared). */
static void
swim_bcast_drop(struct swim_diss *q, struct swim_bcast *b)
{
	uint32_t i = swim_tier_remove(q, b);

	swim_bcast_finish(q, b);
	swim_bcast_recycle(q, i);
}

/*
 * memberlist's Prune order: the item with the most transmits (it did
 * most of its job), the shortest, the oldest. Never our leave.
 */
static int
swim_diss_evict(struct swim_diss *q)
{
	for (uint32_t t = q->nb_tiers; t-- > 0;) {
		struct swim_diss_tier *tier = &q->tiers[t];
		for (uint32_t r = tier->nb_runs; r-- > 0;) {
			uint32_t i = tier->runs[r].tail;
			for (; i != SWIM_DISS_NIL; i = swim_diss_at(q, i)->prev)
				if (!(swim_diss_at(q, i)->flags &
				      SWIM_BCAST_LEAVE))
					break;
			if (i == SWIM_DISS_NIL)
				continue;
			swim_tier_unlink(q, tier, r, i);
			swim_bcast_finish(q, swim_diss_at(q, i));
			swim_bcast_recycle(q, i);
			q->dropped++;
			return 0;
		}
	}
	return -1;
}

void
swim_diss_init(struct swim_diss *q, uint64_t seed, uint32_t max)
{
	(void)seed;	/* no randomness left: kept for the API */
	memset(q, 0, sizeof(*q));
	q->max = max;
}

void
swim_diss_set_encoder(struct swim_diss *q, swim_diss_encode_f f, void *ctx)
{
	q->encode = f;
	q->encode_ctx = ctx;
}

void
swim_diss_destroy(struct swim_diss *q)
{
	swim_diss_clear(q);
	swim_diss_release(q);
	for (uint32_t c = 0; c < q->nb_chunks; c++)
		free(q->chunks[c]);
	free(q->chunks);
	for (uint32_t t = 0; t < q->nb_tiers; t++)
		free(q->tiers[t].runs);
	free(q->tiers);
	free(q->scratch);
	memset(q, 0, sizeof(*q));
}

/*
 * Room for one more: drop the old item of the owner (memberlist's
 * invalidation), then, when full, evict. @retval a fresh item or NIL.
 */
static uint32_t
swim_diss_slot(struct swim_diss *q, struct swim_bcast **owner)
{
	if (owner != NULL && *owner != NULL)
		swim_bcast_drop(q, *owner);
	if (q->max != 0 && q->nb >= q->max && swim_diss_evict(q) != 0)
		return SWIM_DISS_NIL;
	return swim_diss_alloc(q);
}

/* Fill and queue item i at tier 0, newest. */
static int
swim_diss_enqueue(struct swim_diss *q, uint32_t i, struct swim_bcast **owner,
		  size_t len, uint32_t flags)
{
	struct swim_bcast *b = swim_diss_at(q, i);

	b->len = (uint16_t)len;
	b->id = ++q->id_gen;
	b->flags |= (uint8_t)(flags & SWIM_BCAST_LEAVE);
	if (swim_tier_insert(q, i) != 0) {
		swim_bcast_recycle(q, i);
		return -1;
	}
	if (owner != NULL)
		*owner = b;
	if (flags & SWIM_BCAST_LEAVE)
		q->nb_leave++;
	q->nb++;
	return 0;
}

int
swim_diss_push(struct swim_diss *q, const uint8_t *data, size_t len,
	       struct swim_bcast **owner, uint32_t flags)
{
	if (data == NULL || len == 0 || len > UINT16_MAX)
		return -1;
	struct swim_bcopy *c = malloc(sizeof(*c) + len);
	if (c == NULL)
		return -1;
	memcpy(c->data, data, len);
	c->owner = owner;
	uint32_t i = swim_diss_slot(q, owner);
	if (i == SWIM_DISS_NIL) {
		free(c);
		return -1;
	}
	swim_diss_at(q, i)->p = c;
	return swim_diss_enqueue(q, i, owner, len, flags);
}

int
swim_diss_push_ref(struct swim_diss *q, struct swim_bcast **owner,
		   uint8_t kind, uint32_t arg, size_t len, uint32_t flags)
{
	if (owner == NULL || q->encode == NULL || len == 0 ||
	    len > UINT16_MAX)
		return -1;
	uint32_t i = swim_diss_slot(q, owner);
	if (i == SWIM_DISS_NIL)
		return -1;
	struct swim_bcast *b = swim_diss_at(q, i);
	b->p = owner;
	b->kind = kind;
	b->arg = arg;
	b->flags = SWIM_BCAST_REF;
	return swim_diss_enqueue(q, i, owner, len, flags);
}

void
swim_diss_detach(struct swim_bcast *b)
{
	if (b == NULL)
		return;
	if (b->flags & SWIM_BCAST_REF)
		b->p = NULL;	/* unencodable now: dropped when reached */
	else if (b->p != NULL)
		((struct swim_bcopy *)b->p)->owner = NULL;
}

void
swim_diss_materialize(struct swim_diss *q, struct swim_bcast *b)
{
	if (b == NULL || !(b->flags & SWIM_BCAST_REF) || b->p == NULL) {
		swim_diss_detach(b);
		return;
	}
	struct swim_bcast **owner = b->p;
	struct swim_bcopy *c = malloc(sizeof(*c) + b->len);
	int n = c == NULL || q->encode == NULL ? -1 :
		q->encode(q->encode_ctx, owner, b->kind, b->arg, c->data,
			  b->len);
	if (n != (int)b->len) {
		free(c);
		swim_bcast_drop(q, b);
		q->dropped++;
		return;
	}
	if (*owner == b)
		*owner = NULL;
	c->owner = NULL;
	b->p = c;
	b->flags &= (uint8_t)~SWIM_BCAST_REF;
}

/* Bytes of item b for a part of at most room bytes. @retval len or -1. */
static int
swim_diss_emit(struct swim_diss *q, const struct swim_bcast *b, size_t room,
	       struct swim_str *part)
{
	if (!(b->flags & SWIM_BCAST_REF)) {
		part->ptr = ((const struct swim_bcopy *)b->p)->data;
		part->len = b->len;
		return b->len;
	}
	if (b->p == NULL || q->encode == NULL)
		return -1;
	uint8_t *dst = q->scratch + q->scratch_used;
	if (room > q->scratch_cap - q->scratch_used)
		room = q->scratch_cap - q->scratch_used;
	int n = q->encode(q->encode_ctx, b->p, b->kind, b->arg, dst, room);
	if (n <= 0 || (size_t)n > room)
		return -1;
	q->scratch_used += (uint32_t)n;
	part->ptr = dst;
	part->len = (uint32_t)n;
	return n;
}

static int
swim_diss_scratch(struct swim_diss *q, size_t limit)
{
	q->scratch_used = 0;
	if (limit <= q->scratch_cap)
		return 0;
	if (limit > SWIM_UDP_MAX)
		limit = SWIM_UDP_MAX;
	uint8_t *p = realloc(q->scratch, limit);
	if (p == NULL)
		return -1;
	q->scratch = p;
	q->scratch_cap = (uint32_t)limit;
	return 0;
}

/* The lowest and highest tiers holding items. */
static void
swim_diss_span(const struct swim_diss *q, uint32_t *lo, uint32_t *hi)
{
	*lo = 0;
	while (*lo < q->nb_tiers && q->tiers[*lo].nb == 0)
		(*lo)++;
	*hi = q->nb_tiers;
	while (*hi > *lo && q->tiers[*hi - 1].nb == 0)
		(*hi)--;
}

/* Move the picked items up a tier, in pick order (the finger's order). */
static void
swim_diss_reinsert(struct swim_diss *q, uint32_t i)
{
	while (i != SWIM_DISS_NIL) {
		uint32_t next = swim_diss_at(q, i)->next;
		swim_diss_at(q, i)->next = SWIM_DISS_NIL;
		if (swim_tier_insert(q, i) != 0) {
			swim_bcast_retire(q, i);	/* out of memory */
			q->dropped++;
		}
		i = next;
	}
}

unsigned
swim_diss_take(struct swim_diss *q, size_t overhead, size_t limit,
	       uint32_t transmit_limit, struct swim_str *parts,
	       unsigned max_parts, size_t *used)
{
	uint32_t t, hi, head = SWIM_DISS_NIL, tail = SWIM_DISS_NIL;
	unsigned nb = 0;

	if (q->nb == 0 || max_parts == 0 || swim_diss_scratch(q, limit) != 0)
		return 0;
	swim_diss_span(q, &t, &hi);
	while (t < hi && nb < max_parts && *used + overhead < limit) {
		size_t room = limit - *used - overhead;
		struct swim_diss_tier *tier = &q->tiers[t];
		uint32_t r = swim_run_lower(tier, room);
		if (r >= tier->nb_runs) {
			t++;	/* nothing in this tier fits */
			continue;
		}
		uint32_t i = tier->runs[r].head;
		struct swim_bcast *b = swim_diss_at(q, i);
		int n = swim_diss_emit(q, b, room, &parts[nb]);
		swim_tier_unlink(q, tier, r, i);
		if (n < 0 || b->transmits + 1u >= transmit_limit ||
		    b->transmits + 1u >= SWIM_DISS_TMAX) {
			swim_bcast_retire(q, i);
			q->dropped += n < 0;
		} else {
			b->transmits++;	/* up a tier after the walk */
			if (tail != SWIM_DISS_NIL)
				swim_diss_at(q, tail)->next = i;
			else
				head = i;
			tail = i;
		}
		if (n < 0)
			continue;
		nb++;
		*used += overhead + (size_t)n;
	}
	swim_diss_reinsert(q, head);
	return nb;
}

void
swim_diss_release(struct swim_diss *q)
{
	while (q->retired != SWIM_DISS_NIL) {
		uint32_t i = q->retired;
		q->retired = swim_diss_at(q, i)->next;
		swim_bcast_recycle(q, i);
	}
	swim_diss_pool_trim(q);
}

void
swim_diss_clear(struct swim_diss *q)
{
	for (uint32_t t = 0; t < q->nb_tiers; t++) {
		struct swim_diss_tier *tier = &q->tiers[t];
		while (tier->nb_runs > 0) {
			uint32_t i = tier->runs[0].head;
			swim_tier_unlink(q, tier, 0, i);
			swim_bcast_finish(q, swim_diss_at(q, i));
			swim_bcast_recycle(q, i);
		}
	}
	swim_diss_pool_trim(q);
}
