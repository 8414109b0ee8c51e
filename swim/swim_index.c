/*
 * Open-addressing name index (linear probing, backward-shift deletion).
 * The slot of a name comes from the high bits of a well-mixed 64-bit
 * hash, so similar names (node-0000001, node-0000002...) spread evenly.
 */
#include "swim_index.h"

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

static uint32_t
swim_index_home(const struct swim_index *x, const void *e)
{
	size_t len;
	const char *name = x->key(e, &len);

	return (uint32_t)swim_index_hash(name, len) & x->mask;
}

int
swim_index_init(struct swim_index *x, swim_index_key_f key)
{
	x->slots = calloc(SWIM_INDEX_MIN, sizeof(*x->slots));
	x->mask = SWIM_INDEX_MIN - 1;
	x->nb = 0;
	x->key = key;
	return x->slots == NULL ? -1 : 0;
}

void
swim_index_destroy(struct swim_index *x)
{
	free(x->slots);
	x->slots = NULL;
	x->mask = 0;
	x->nb = 0;
}

void *
swim_index_find(const struct swim_index *x, const char *name, size_t len)
{
	if (x->slots == NULL)
		return NULL;
	uint32_t i = (uint32_t)swim_index_hash(name, len) & x->mask;

	for (void *e; (e = x->slots[i]) != NULL; i = (i + 1) & x->mask) {
		size_t elen;
		const char *ename = x->key(e, &elen);
		if (elen == len && memcmp(ename, name, len) == 0)
			return e;
	}
	return NULL;
}

static void
swim_index_place(void **slots, uint32_t mask, uint32_t home, void *e)
{
	uint32_t i = home;

	while (slots[i] != NULL)
		i = (i + 1) & mask;
	slots[i] = e;
}

static int
swim_index_grow(struct swim_index *x)
{
	uint32_t cap = (x->mask + 1) * 2;
	void **slots = calloc(cap, sizeof(*slots));

	if (slots == NULL)
		return -1;
	uint32_t old_cap = x->mask + 1;
	void **old = x->slots;
	x->slots = slots;
	x->mask = cap - 1;
	for (uint32_t i = 0; i < old_cap; i++) {
		if (old[i] != NULL)
			swim_index_place(slots, x->mask,
					 swim_index_home(x, old[i]), old[i]);
	}
	free(old);
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
	swim_index_place(x->slots, x->mask, swim_index_home(x, e), e);
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

void
swim_index_remove(struct swim_index *x, const void *e)
{
	if (x->slots == NULL || e == NULL)
		return;
	uint32_t i = swim_index_home(x, e);

	while (x->slots[i] != NULL && x->slots[i] != e)
		i = (i + 1) & x->mask;
	if (x->slots[i] == NULL)
		return;
	x->slots[i] = NULL;
	x->nb--;
	/* Backward shift: pull later entries of the run into the hole. */
	for (uint32_t j = (i + 1) & x->mask; x->slots[j] != NULL;
	     j = (j + 1) & x->mask) {
		uint32_t h = swim_index_home(x, x->slots[j]);
		if (!swim_index_can_move(i, j, h, x->mask))
			continue;
		x->slots[i] = x->slots[j];
		x->slots[j] = NULL;
		i = j;
	}
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
	return NULL;
}
