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

/* The exchange's steps (struct swim_dsync.step). */
enum swim_dsync_stepno {
	SWIM_DS_START,		/* nothing sent or received yet */
	SWIM_DS_HELLO_SENT,	/* initiator: waits for INSYNC or GROUPS */
	SWIM_DS_GROUPS_SENT,	/* responder: waits for LEAVES */
	SWIM_DS_LEAVES_SENT,	/* initiator: waits for DIFF or MEMBERS */
	SWIM_DS_MEMBERS_SENT,	/* responder: waits for WANT */
	SWIM_DS_WANT_SENT,	/* initiator: waits for the next MEMBERS */
	SWIM_DS_DONE,		/* over: any further call is out of turn */
};

/* The sessions' shared bits (swim_dsync_sess.c). */
bool swim_dsync_bit(const uint64_t *map, uint32_t i);
void swim_dsync_set(uint64_t *map, uint32_t i);
/** Next leaf of x's set at or after `leaf`, or 2^bits. */
uint32_t swim_dsync_next_leaf(const struct swim_dsync *x, uint32_t leaf);
/** The walk of the leaf set only (no x->want filter), for the round. */
const void *swim_dsync_walk_set(const struct swim_index *ix,
				struct swim_pp_enc *e);
/** Does the walk go leaf by leaf (rising) now, or over every entry? */
bool swim_dsync_walk_by_leaf(const struct swim_index *ix);

/* The member round (swim_dsync_memb.c). */
/** Responder: the next MEMBERS from x->cursor on. @retval WAIT or < 0. */
int swim_dsync_send_members(const struct swim *s, struct swim_dsync *x,
			    uint8_t *out, size_t cap, size_t *out_len);
/** Initiator: a MEMBERS in; WANT out. @retval WAIT, TRANSFER, IN_SYNC, < 0 */
int swim_dsync_on_members(const struct swim *s, struct swim_dsync *x,
			  const uint8_t *in, size_t in_len, uint8_t *out,
			  size_t cap, size_t *out_len);
/** Responder: a WANT in; the next MEMBERS or the end. */
int swim_dsync_on_want(const struct swim *s, struct swim_dsync *x,
		       const uint8_t *in, size_t in_len, uint8_t *out,
		       size_t cap, size_t *out_len);
/** Is the member with name hash nh in x->want (sorted)? */
bool swim_dsync_wanted(const struct swim_dsync *x, uint64_t nh);

#endif /* SWIM_DSYNC_INT_H_INCLUDED */
