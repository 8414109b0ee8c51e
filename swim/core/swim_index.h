/**
 * @file
 * A name -> entry index: open addressing with linear probing over an
 * array of entry pointers (8 bytes a slot, load at most 3/4), deletion by
 * backward shift so there are no tombstones. The entries keep their own
 * names; the index asks for them through key(). Insert, find and remove
 * are O(1) expected. Growth doubles the table. By default it moves every
 * entry at once (amortized O(1)); an index set incremental
 * (swim_index_set_incremental: the core's member table) grows
 * incrementally instead: a table twice the size takes
 * the inserts while every insert and remove moves SWIM_INDEX_STEP slots
 * of the old one (whose moved and removed slots become markers that a
 * probe walks past), so no call rehashes all members at once (400 ms at
 * 10^6, longer than a probe timeout); finds look in the new table, then
 * the old. The move ends long before the new table fills (after 1/8 of
 * the old table's size in inserts; the next growth is 3/8 away), or
 * through swim_index_step when inserts stop. Only users that read
 * `slots` directly (not through find/next) need the default.
 * Used by the core's member table and the Serf layer's member table.
 */
#ifndef SWIM_INDEX_H_INCLUDED
#define SWIM_INDEX_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The name an entry is indexed by. */
typedef const char *(*swim_index_key_f)(const void *entry, size_t *len);

struct swim_index {
	void **slots;		/* NULL: empty */
	uint32_t mask;		/* slots - 1; slots is a power of two */
	uint32_t nb;		/* entries, in both tables */
	swim_index_key_f key;
	void **old;		/* the table being moved, or NULL */
	uint32_t old_mask;
	uint32_t moved;		/* old[0, moved) moved */
	bool incremental;	/* grow by steps, see above */
};

/** Old slots moved per insert or remove while the index grows. */
#define SWIM_INDEX_STEP 8u

/** 64-bit hash of a name (FNV-1a, then a murmur3 finalizer). */
uint64_t swim_index_hash(const char *name, size_t len);

/** @retval 0, or -1 when out of memory. */
int swim_index_init(struct swim_index *x, swim_index_key_f key);
void swim_index_destroy(struct swim_index *x);

void *swim_index_find(const struct swim_index *x, const char *name,
		      size_t len);

/** Grow incrementally from now on (see above). */
void swim_index_set_incremental(struct swim_index *x);

/** Move up to budget slots of a growth in progress (none: no-op). */
void swim_index_step(struct swim_index *x, uint32_t budget);

/** Insert e (its name must not be indexed yet). @retval 0 or -1 (ENOMEM). */
int swim_index_insert(struct swim_index *x, void *e);

/** Remove e if it is indexed. */
void swim_index_remove(struct swim_index *x, const void *e);

/**
 * Is a slot's content an entry? Not NULL and not the marker a growing
 * index leaves in its old table (moved or removed): for users that read
 * `slots` and `old` directly (the delta-sync leaf walk).
 */
bool swim_index_is_entry(const void *slot);

/** Bytes the index holds, for memory figures. */
static inline size_t
swim_index_bytes(const struct swim_index *x)
{
	size_t n = x->slots == NULL ? 0 : (size_t)x->mask + 1;

	if (x->old != NULL)
		n += (size_t)x->old_mask + 1;
	return n * sizeof(void *);
}

/** Slots of both tables, numbered as swim_index_next numbers them. */
static inline uint32_t
swim_index_nb_slots(const struct swim_index *x)
{
	uint32_t n = x->slots == NULL ? 0 : x->mask + 1;

	return x->old != NULL ? n + x->old_mask + 1 : n;
}

/**
 * The entry in slot i of swim_index_nb_slots (the new table, then the
 * one being moved), or NULL (empty, moved or removed): a uniform random
 * slot gives every entry the same chance, whatever the move's progress.
 */
void *swim_index_slot(const struct swim_index *x, uint32_t i);

/**
 * Iterate: *pos starts at 0 (the new table, then the old one while it
 * is moved). @retval the next entry, or NULL at the end. The index must
 * not change during a walk (a walk across changes may miss or repeat
 * entries that moved).
 */
void *swim_index_next(const struct swim_index *x, uint32_t *pos);

#endif /* SWIM_INDEX_H_INCLUDED */
