/*
 * The delta-sync digest tree: per-leaf XORs kept in O(1) per member
 * change (swim_dsync_tree.h), grown by one leaf bit whenever the
 * members that count pass 4 per leaf, up to 2^16 leaves.
 */
#include "swim_dsync_tree.h"
#include "swim_dsync.h"
#include "swim_index.h"
#include "swim_member.h"

#include <stdlib.h>

/* Members per leaf past which the tree grows a bit. */
#define SWIM_DSYNC_GROW_PER_LEAF 4u

int
swim_dsync_tree_init(struct swim_dsync_tree *t)
{
	t->bits = SWIM_DSYNC_BITS_MIN;
	t->root = 0;
	t->count = 0;
	t->leaf = calloc((size_t)1 << t->bits, sizeof(*t->leaf));
	return t->leaf == NULL ? -1 : 0;
}

void
swim_dsync_tree_destroy(struct swim_dsync_tree *t)
{
	free(t->leaf);
	t->leaf = NULL;
}

/* XOR m's digest into the tree; dir +1 in, -1 out. @retval counted. */
static bool
swim_dsync_tree_xor(struct swim_dsync_tree *t, const struct swim_member *m,
		    int dir)
{
	uint64_t h = swim_index_hash(m->name, m->name_len);
	uint64_t d = swim_dsync_digest_h(h, m->incarnation, m->status);

	if (m->status > SWIM_STATUS_SUSPECT)
		return false;
	t->root ^= d;
	if (t->leaf != NULL)
		t->leaf[h & (((uint64_t)1 << t->bits) - 1)] ^= d;
	t->count += dir > 0 ? 1 : (uint32_t)-1;
	return true;
}

void
swim_dsync_tree_out(struct swim_dsync_tree *t, const struct swim_member *m)
{
	swim_dsync_tree_xor(t, m, -1);
}

bool
swim_dsync_tree_in(struct swim_dsync_tree *t, const struct swim_member *m)
{
	return swim_dsync_tree_xor(t, m, 1) && t->bits < SWIM_DSYNC_BITS_MAX &&
	       t->count > (SWIM_DSYNC_GROW_PER_LEAF << t->bits);
}

void
swim_dsync_tree_rebuild(struct swim_dsync_tree *t,
			struct swim_member *const *all, uint32_t nb)
{
	unsigned bits = t->bits;

	while (bits < SWIM_DSYNC_BITS_MAX &&
	       t->count > (SWIM_DSYNC_GROW_PER_LEAF << bits))
		bits++;
	uint64_t *leaf = calloc((size_t)1 << bits, sizeof(*leaf));
	if (leaf == NULL)
		return;		/* stays correct at the old bits */
	free(t->leaf);
	t->leaf = leaf;
	t->bits = (uint8_t)bits;
	t->root = 0;
	t->count = 0;
	for (uint32_t i = 0; i < nb; i++)
		swim_dsync_tree_xor(t, all[i], 1);
}
