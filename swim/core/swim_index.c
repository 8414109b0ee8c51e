/*
 * Open-addressing name index (linear probing, backward-shift deletion).
 * The slot of a name comes from the high bits of a well-mixed 64-bit
 * hash, so similar names (node-0000001, node-0000002...) spread evenly.
 */
#include "swim_index.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SWIM_INDEX_MIN 16u

uint64_t
swim_index_hash(const char *name, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)name[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/* A slot of the old table that was moved or removed: probes go on. */
static char swim_index_gone_tag;
#define SWIM_INDEX_GONE ((void *)&swim_index_gone_tag)

bool
swim_index_is_entry(const void *slot)
{
	return slot != NULL && slot != SWIM_INDEX_GONE;
}

static uint64_t
swim_index_entry_hash(const struct swim_index *x, const void *e)
{
	size_t len;
	const char *name = x->key(e, &len);

	return swim_index_hash(name, len);
}

int
swim_index_init(struct swim_index *x, swim_index_key_f key)
{
	memset(x, 0, sizeof(*x));
	x->slots = calloc(SWIM_INDEX_MIN, sizeof(*x->slots));
	x->mask = SWIM_INDEX_MIN - 1;
	x->key = key;
	return x->slots == NULL ? -1 : 0;
}

void
swim_index_destroy(struct swim_index *x)
{
	free(x->slots);
	free(x->old);
	x->slots = NULL;
	x->old = NULL;
	x->mask = 0;
	x->old_mask = 0;
	x->moved = 0;
	x->nb = 0;
}

/* Probe one table for a name, past SWIM_INDEX_GONE markers. */
static void *
swim_index_probe(const struct swim_index *x, void **slots, uint32_t mask,
		 uint64_t h, const char *name, size_t len)
{
	uint32_t i = (uint32_t)h & mask;

	for (void *e; (e = slots[i]) != NULL; i = (i + 1) & mask) {
		if (e == SWIM_INDEX_GONE)
			continue;
		size_t elen;
		const char *ename = x->key(e, &elen);
		if (elen == len && memcmp(ename, name, len) == 0)
			return e;
	}
	return NULL;
}

void *
swim_index_find(const struct swim_index *x, const char *name, size_t len)
{
	if (x->slots == NULL)
		return NULL;
	uint64_t h = swim_index_hash(name, len);
	void *e = swim_index_probe(x, x->slots, x->mask, h, name, len);

	if (e == NULL && x->old != NULL)
		e = swim_index_probe(x, x->old, x->old_mask, h, name, len);
	return e;
}

static void
swim_index_place(void **slots, uint32_t mask, uint32_t home, void *e)
{
	uint32_t i = home;

	while (slots[i] != NULL)
		i = (i + 1) & mask;
	slots[i] = e;
}

void
swim_index_set_incremental(struct swim_index *x)
{
	x->incremental = true;
}

/* Move up to budget slots of the old table; free it once all moved. */
void
swim_index_step(struct swim_index *x, uint32_t budget)
{
	while (x->old != NULL && budget-- > 0) {
		void *e = x->old[x->moved];
		if (e != NULL && e != SWIM_INDEX_GONE)
			swim_index_place(x->slots, x->mask,
					 (uint32_t)swim_index_entry_hash(x, e) &
					 x->mask, e);
		/* NULL stays NULL: no probe chain ever crossed it. */
		if (e != NULL)
			x->old[x->moved] = SWIM_INDEX_GONE;
		if (x->moved++ == x->old_mask) {
			free(x->old);
			x->old = NULL;
			x->old_mask = 0;
			x->moved = 0;
		}
	}
}

/* Start moving into a table twice the size (ending a move first). */
static int
swim_index_grow(struct swim_index *x)
{
	uint32_t cap = (x->mask + 1) * 2;
	void **slots = calloc(cap, sizeof(*slots));

	if (slots == NULL)
		return -1;
	swim_index_step(x, UINT32_MAX);	/* never in practice: see .h */
	x->old = x->slots;
	x->old_mask = x->mask;
	x->moved = 0;
	x->slots = slots;
	x->mask = cap - 1;
	if (!x->incremental)
		swim_index_step(x, UINT32_MAX);
	return 0;
}

int
swim_index_insert(struct swim_index *x, void *e)
{
	if (x->slots == NULL || e == NULL)
		return -1;
	/* Keep the load at most 3/4: probe runs stay short. */
	if ((uint64_t)(x->nb + 1) * 4 > (uint64_t)(x->mask + 1) * 3 &&
	    swim_index_grow(x) != 0)
		return -1;
	swim_index_step(x, SWIM_INDEX_STEP);
	swim_index_place(x->slots, x->mask,
			 (uint32_t)swim_index_entry_hash(x, e) & x->mask, e);
	x->nb++;
	return 0;
}

/* Is slot j's entry (home h) still reachable if slot i becomes empty? */
static int
swim_index_can_move(uint32_t i, uint32_t j, uint32_t h, uint32_t mask)
{
	/* It may move into i when i lies cyclically in [h, j). */
	return ((j - h) & mask) >= ((j - i) & mask);
}

/* Remove e from the new table with a backward shift. @retval found. */
static bool
swim_index_remove_new(struct swim_index *x, const void *e, uint64_t h)
{
	uint32_t i = (uint32_t)h & x->mask;

	while (x->slots[i] != NULL && x->slots[i] != e)
		i = (i + 1) & x->mask;
	if (x->slots[i] == NULL)
		return false;
	x->slots[i] = NULL;
	/* Backward shift: pull later entries of the run into the hole. */
	for (uint32_t j = (i + 1) & x->mask; x->slots[j] != NULL;
	     j = (j + 1) & x->mask) {
		uint32_t hj = (uint32_t)swim_index_entry_hash(x, x->slots[j]) &
			      x->mask;
		if (!swim_index_can_move(i, j, hj, x->mask))
			continue;
		x->slots[i] = x->slots[j];
		x->slots[j] = NULL;
		i = j;
	}
	return true;
}

/* Remove e from the old table: its slot becomes a marker. */
static bool
swim_index_remove_old(struct swim_index *x, const void *e, uint64_t h)
{
	uint32_t i = (uint32_t)h & x->old_mask;

	while (x->old[i] != NULL && x->old[i] != e)
		i = (i + 1) & x->old_mask;
	if (x->old[i] == NULL)
		return false;
	x->old[i] = SWIM_INDEX_GONE;
	return true;
}

void
swim_index_remove(struct swim_index *x, const void *e)
{
	if (x->slots == NULL || e == NULL)
		return;
	uint64_t h = swim_index_entry_hash(x, e);

	if (swim_index_remove_new(x, e, h) ||
	    (x->old != NULL && swim_index_remove_old(x, e, h)))
		x->nb--;
	swim_index_step(x, SWIM_INDEX_STEP);
}

void *
swim_index_next(const struct swim_index *x, uint32_t *pos)
{
	if (x->slots == NULL)
		return NULL;
	while (*pos <= x->mask) {
		void *e = x->slots[(*pos)++];
		if (e != NULL)
			return e;
	}
	if (x->old == NULL)
		return NULL;
	while (*pos - x->mask - 1 <= x->old_mask) {
		void *e = x->old[(*pos)++ - x->mask - 1];
		if (e != NULL && e != SWIM_INDEX_GONE)
			return e;
	}
	return NULL;
}

void *
swim_index_slot(const struct swim_index *x, uint32_t i)
{
	void *e = NULL;

	if (x->slots != NULL && i <= x->mask)
		e = x->slots[i];
	else if (x->old != NULL && i - x->mask - 1 <= x->old_mask)
		e = x->old[i - x->mask - 1];
	return e == SWIM_INDEX_GONE ? NULL : e;
}
