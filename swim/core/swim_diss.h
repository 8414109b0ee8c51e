/**
 * @file
 * Dissemination: memberlist's TransmitLimitedQueue (queue.go).
 *
 * Order, exactly memberlist's btree order: fewest transmits first, then
 * the longest message, then the newest (largest id). Taking broadcasts
 * for a packet walks the tiers from the fewest transmits and picks the
 * longest message that still fits (newest on equal length); every pick
 * counts one transmit, a message is retired at the retransmit limit, and
 * the picked ones move up a tier only after the walk (queue.go's
 * reinsert). A new message with the same owner slot (the member it is
 * about) replaces the old one: only the newest news about a node goes.
 *
 * Items about a member reference it instead of copying it: an item is 32
 * bytes (no buffer) and holds the owner slot (&member->bcast), a kind and
 * a word (the incarnation) that the core's encoder turns into the message
 * at send time. The item says what it said when queued because every
 * change of the member's state queues its own message, which replaces
 * it (memberlist's invalidation); a member that leaves the table turns
 * its item into a copy first (swim_diss_materialize). Messages with no
 * member (user messages, a suspect/dead relayed from a third node) are
 * copies.
 *
 * Structure, O(1) without a tree: a tier per transmit count; in a tier,
 * one run per exact message length (runs sorted longest first, a handful
 * in practice: names and tags are alike), each a list newest first.
 * Push and replace are O(1) (a new item is the newest: head of its run);
 * a pick is a binary search over the tier's runs for the longest that
 * fits, exact, no approximation. Moving a picked item to the next tier
 * keeps the id order of memberlist: it goes in after a finger (the last
 * item moved there), at the head or at the tail, which covers the orders
 * the protocol produces (a fresh message is the newest of the next tier;
 * a bulk drain moves items newest first, each after the previous); any
 * other position is found walking from both ends at once.
 *
 * Depth bound: with max set, a push into a full queue drops the item
 * memberlist's Prune would (the most transmits, then the shortest, then
 * the oldest; never a SWIM_BCAST_LEAVE one) and counts it in dropped.
 *
 * Items live in 32 KiB chunks (stable addresses, 32-bit links); when the
 * queue drains the chunks go back, so a 10^6 merge leaves nothing behind.
 */
#ifndef SWIM_DISS_H_INCLUDED
#define SWIM_DISS_H_INCLUDED

#include "swim_msg.h"
#include "swim_rand.h"

/** Flag: the message is our own leave; swim_leave_done waits for it. */
#define SWIM_BCAST_LEAVE 1u

struct swim_bcast {
	uint32_t prev;			/* links in the pool, 0 = none */
	uint32_t next;
	void *p;			/* ref: owner slot; copy: swim_bcopy */
	uint32_t id;			/* newer is larger (serial order) */
	uint32_t arg;			/* ref: the caller's word */
	uint16_t len;
	uint16_t transmits;
	uint8_t kind;			/* ref: the caller's kind */
	uint8_t flags;			/* SWIM_BCAST_LEAVE, internal bits */
};

/**
 * Encode a referenced item (owner slot, kind, word) into buf.
 * @retval its length, or <= 0 when it cannot be encoded (then dropped).
 */
typedef int (*swim_diss_encode_f)(void *ctx, struct swim_bcast **owner,
				  uint8_t kind, uint32_t arg, uint8_t *buf,
				  size_t cap);

/** Items of one exact length in one tier, newest first. */
struct swim_diss_run {
	uint32_t head;
	uint32_t tail;
	uint32_t finger;		/* last item moved in, or 0 */
	uint32_t nb;
	uint32_t len;
};

struct swim_diss_tier {
	struct swim_diss_run *runs;	/* longest first, none empty */
	uint32_t nb_runs;
	uint32_t cap_runs;
	uint32_t nb;			/* items */
};

struct swim_diss {
	struct swim_bcast **chunks;
	uint32_t nb_chunks;
	uint32_t cap_chunks;
	uint32_t free_head;		/* free items, by next */
	uint32_t retired;		/* finished, bytes still lent out */
	struct swim_diss_tier *tiers;	/* by transmits */
	uint32_t nb_tiers;
	uint32_t nb;			/* queued */
	uint32_t nb_leave;		/* queued with SWIM_BCAST_LEAVE */
	uint32_t max;			/* queue depth limit, 0 = none */
	uint32_t id_gen;
	uint8_t *scratch;		/* refs encoded by the last take */
	uint32_t scratch_cap;
	uint32_t scratch_used;
	uint64_t dropped;		/* evicted by max, or unencodable */
	uint64_t walk_steps;		/* tier moves off head/tail/finger */
	swim_diss_encode_f encode;
	void *encode_ctx;
};

void swim_diss_init(struct swim_diss *q, uint64_t seed, uint32_t max);
void swim_diss_destroy(struct swim_diss *q);

/** Set the encoder of referenced items (before the first push_ref). */
void swim_diss_set_encoder(struct swim_diss *q, swim_diss_encode_f f,
			   void *ctx);

/**
 * Queue a copy of data. With owner, any broadcast in *owner is dropped
 * and *owner points at the new one until it is retired.
 * @retval 0, or -1 (empty, too long, full of leaves, out of memory).
 */
int swim_diss_push(struct swim_diss *q, const uint8_t *data, size_t len,
		   struct swim_bcast **owner, uint32_t flags);

/**
 * Queue a reference: the encoder makes the len-byte message from (owner,
 * kind, arg) when it is taken. owner is required (it is the reference).
 * @retval 0, or -1 (no owner or encoder, bad len, out of memory).
 */
int swim_diss_push_ref(struct swim_diss *q, struct swim_bcast **owner,
		       uint8_t kind, uint32_t arg, size_t len, uint32_t flags);

/**
 * The owner is going away without q at hand: forget it. A copy keeps
 * going out; a reference can no longer be encoded and is dropped unsent.
 */
void swim_diss_detach(struct swim_bcast *b);

/**
 * The owner is going away: a reference becomes a copy of its message
 * (encoded now) and keeps going out; then the owner is forgotten.
 */
void swim_diss_materialize(struct swim_diss *q, struct swim_bcast *b);

/**
 * Take broadcasts into parts[] for a packet with limit bytes of room,
 * each costing its length + overhead. The slices stay valid until
 * swim_diss_release or the next take on q.
 * @retval number of parts added (at most max_parts); *used += bytes.
 */
unsigned swim_diss_take(struct swim_diss *q, size_t overhead, size_t limit,
			uint32_t transmit_limit, struct swim_str *parts,
			unsigned max_parts, size_t *used);

/** Recycle the items retired by earlier takes. */
void swim_diss_release(struct swim_diss *q);

/** Drop everything queued. */
void swim_diss_clear(struct swim_diss *q);

#endif /* SWIM_DISS_H_INCLUDED */
