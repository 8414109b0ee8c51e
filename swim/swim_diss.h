/**
 * @file
 * Dissemination: memberlist's TransmitLimitedQueue (queue.go).
 *
 * Each queued broadcast is one complete encoded message part. Taking
 * broadcasts for a packet picks, tier by tier from the fewest transmits,
 * the largest message that still fits (newest first on equal length);
 * every pick counts one transmit and a message is retired when it reaches
 * the retransmit limit. Messages may carry an owner slot (the member they
 * are about): queuing a new one for the same slot drops the old one, so
 * only the newest alive/suspect/dead about a node is gossiped.
 *
 * The order is kept in a treap keyed (transmits asc, len desc, id desc),
 * so queueing and picking are O(log n). Items and their buffers are
 * recycled through a free list: no allocation in steady state.
 */
#ifndef SWIM_DISS_H_INCLUDED
#define SWIM_DISS_H_INCLUDED

#include "swim_msg.h"
#include "swim_rand.h"

/** Flag: the message is our own leave; swim_leave_done waits for it. */
#define SWIM_BCAST_LEAVE 1u

struct swim_bcast {
	struct swim_bcast *left;
	struct swim_bcast *right;
	struct swim_bcast *next;	/* free, retired or reinsert lists */
	uint64_t prio;
	uint64_t id;			/* newer is larger */
	uint32_t transmits;
	uint32_t len;
	uint32_t cap;
	uint32_t flags;
	uint8_t *data;
	struct swim_bcast **owner;	/* cleared when this one goes */
};

struct swim_diss {
	struct swim_bcast *root;
	uint32_t nb;			/* queued */
	uint32_t nb_leave;		/* queued with SWIM_BCAST_LEAVE */
	uint32_t max;			/* queue depth limit, 0 = none */
	uint64_t id_gen;
	struct swim_bcast *free_list;
	uint32_t nb_free;		/* items in free_list, capped */
	struct swim_bcast *retired;	/* finished, data still referenced */
	struct swim_rand rnd;		/* treap priorities */
};

void swim_diss_init(struct swim_diss *q, uint64_t seed, uint32_t max);
void swim_diss_destroy(struct swim_diss *q);

/**
 * Queue a copy of data. With owner, any broadcast in *owner is dropped
 * and *owner points at the new one until it is retired.
 * @retval 0, or -1 (empty, too long, queue full or out of memory).
 */
int swim_diss_push(struct swim_diss *q, const uint8_t *data, size_t len,
		   struct swim_bcast **owner, uint32_t flags);

/** Forget the owner slot of b (the member is going away). */
void swim_diss_detach(struct swim_bcast *b);

/**
 * Take broadcasts into parts[] for a packet with limit bytes of room,
 * each costing its length + overhead. The slices stay valid until
 * swim_diss_release (retired items are only recycled then).
 * @retval number of parts added (at most max_parts); *used += bytes.
 */
unsigned swim_diss_take(struct swim_diss *q, size_t overhead, size_t limit,
			uint32_t transmit_limit, struct swim_str *parts,
			unsigned max_parts, size_t *used);

/** Recycle the items retired by earlier takes. */
void swim_diss_release(struct swim_diss *q);

/** Drop everything (keeps the memory). */
void swim_diss_clear(struct swim_diss *q);

#endif /* SWIM_DISS_H_INCLUDED */
