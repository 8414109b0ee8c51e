/**
 * @file
 * Private to the core: what swim_pp.c and the delta-sync files share.
 */
#ifndef SWIM_DSYNC_INT_H_INCLUDED
#define SWIM_DSYNC_INT_H_INCLUDED

#include "swim_dsync.h"
#include "swim_index.h"

/**
 * The next member of e->dsync's leaf set after the cursor (e->leaf,
 * e->home, e->run), advancing it; NULL at the end. A leaf's members sit
 * in the name index at the homes congruent to the leaf id, each one in
 * the probe run that starts at its home, so no member outside the set is
 * looked at except the neighbours in those runs. Bounds-checked against
 * the index as it is now (it may have changed since the last call).
 */
const void *swim_dsync_walk_next(const struct swim_index *ix,
				 struct swim_pp_enc *e);

#endif /* SWIM_DSYNC_INT_H_INCLUDED */
