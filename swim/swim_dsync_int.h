/**
 * @file
 * Private to the core: what swim_pp.c and the delta-sync files share.
 */
#ifndef SWIM_DSYNC_INT_H_INCLUDED
#define SWIM_DSYNC_INT_H_INCLUDED

#include "swim_dsync.h"
#include "swim_index.h"

/**
 * The next member of e->dsync's leaf set after the cursor, advancing it;
 * NULL at the end. The cursor is (e->leaf, e->home, e->run) for a walk
 * of only the leaves' home slots in the name index, or e->pos (as
 * swim_index_next) for a walk of every entry while the index keeps two
 * tables. Bounds-checked against the index as it is now.
 */
const void *swim_dsync_walk_next(const struct swim_index *ix,
				 struct swim_pp_enc *e);

#endif /* SWIM_DSYNC_INT_H_INCLUDED */
