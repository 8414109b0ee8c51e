/**
 * @file
 * Private to the core: the delta-sync digest tree the member table keeps
 * (swim_dsync.h explains the design). One XOR of member digests per leaf
 * plus the root and the number of members that count; nothing per
 * member. The table calls out() before and in() after every change of a
 * member's incarnation or status, and out() before removing it.
 */
#ifndef SWIM_DSYNC_TREE_H_INCLUDED
#define SWIM_DSYNC_TREE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct swim_member;

struct swim_dsync_tree {
	uint64_t *leaf;		/* 2^bits XORs */
	uint64_t root;		/* XOR of every counted member's digest */
	uint32_t count;		/* counted members (alive or suspect) */
	uint8_t bits;		/* SWIM_DSYNC_BITS_MIN..MAX */
};

/** @retval 0, or -1 out of memory. */
int swim_dsync_tree_init(struct swim_dsync_tree *t);
void swim_dsync_tree_destroy(struct swim_dsync_tree *t);

/** Take m's contribution out (before a change or removal). */
void swim_dsync_tree_out(struct swim_dsync_tree *t,
			 const struct swim_member *m);
/**
 * Put m's contribution in (after a change).
 * @retval true when the tree should grow: call swim_dsync_tree_rebuild.
 */
bool swim_dsync_tree_in(struct swim_dsync_tree *t,
			const struct swim_member *m);
/**
 * Grow to the bits the count asks for and recompute every leaf from the
 * table (O(n), once per doubling). Out of memory: keeps the old bits.
 */
void swim_dsync_tree_rebuild(struct swim_dsync_tree *t,
			     struct swim_member *const *all, uint32_t nb);

/** The fixed 64-bit mixer (murmur3's fmix64) the digests use. */
static inline uint64_t
swim_dsync_fmix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/** Digest from the name's swim_index_hash; 0 when the status does not count. */
static inline uint64_t
swim_dsync_digest_h(uint64_t name_hash, uint32_t inc, unsigned st)
{
	if (st > 1)	/* only SWIM_STATUS_ALIVE (0) and _SUSPECT (1) count */
		return 0;
	uint64_t v = ((uint64_t)inc << 8 | st) + 0x9e3779b97f4a7c15ull;
	return swim_dsync_fmix(name_hash ^ swim_dsync_fmix(v));
}

#endif /* SWIM_DSYNC_TREE_H_INCLUDED */
