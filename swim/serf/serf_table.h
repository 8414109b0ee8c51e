/* SPDX-License-Identifier: MIT */
/**
 * @file
 * @internal
 * The Serf layer's member table (serf_table.c) and event FIFO
 * (serf_evq.c): their types and calls, for serf_int.h. Not part of the API.
 */
#ifndef SERF_TABLE_H_INCLUDED
#define SERF_TABLE_H_INCLUDED

#include "serf.h"

struct serf;
struct serf_tagset;

/** A member's Vivaldi state, allocated at its first ping. */
struct serf_member_coord {
	bool has_coord;			/* coord below is known */
	struct serf_coord coord;	/* the peer's last ping payload */
	struct serf_coord_filter rtt;	/* its RTT median filter */
};

/** serf_member.flags */
enum {
	SERF_MF_PRUNE = 1u << 0,	/* force-leave -prune: erase when due */
	SERF_MF_GONE = 1u << 1,		/* erased; freed when refs reach 0 */
};

/**
 * memberState: one Serf member, 40 bytes. Its name, address, versions,
 * incarnation and Meta are the core's record (node), held by reference,
 * not copied: the core keeps a record readable while anyone holds it,
 * even after it forgot the member (dead or left members leave the core
 * after 30 s, the Serf layer keeps them for a day). A rejoin under the
 * same name brings a new record and the member moves to it. Tags are
 * decoded on demand; the coordinate only exists once the member was
 * pinged. Found by name through serf->index.
 */
struct serf_member {
	const struct swim_member *node;	/* held (swim_member_hold) */
	struct serf_member_coord *coord;	/* malloc, or NULL */
	uint64_t status_ltime;		/* LTime of the last applied intent */
	uint64_t leave_time_us;		/* failed/left since; 0 otherwise */
	uint16_t refs;			/* deadline heap entries about it */
	uint8_t status;			/* enum serf_member_status */
	uint8_t flags;			/* SERF_MF_* */
	/* Streamed push/pull marks (serf_pp_enc.c, serf_pp_dec.c), in what
	 * was padding: 2 bits per running encoder, a decoder's generation. */
	uint16_t pp_enc;
	uint16_t pp_dec;
};

/** What a deadline heap entry is for. */
enum serf_due_kind {
	SERF_DUE_REAP,		/* failed/left: reap when its timeout passed */
	SERF_DUE_PRUNE,		/* force-leave -prune of a leaving member */
};

/** One deadline about a member (the heap orders by at). */
struct serf_due {
	uint64_t at;
	struct serf_member *m;		/* holds one of m->refs */
	uint64_t stamp;			/* REAP: leave_time_us when queued */
	uint32_t kind;
};

/** A growable byte FIFO of encoded events (serf_pop_event decodes). */
struct serf_evq {
	uint8_t *buf;
	size_t head;			/* next record */
	size_t tail;			/* end of the last record */
	size_t cap;
	uint32_t nb;			/* records queued */
};

/*
 * Index slots a tick (serf_due_run) and a member event move of a growth
 * the inserts left unfinished (each insert and erase moves 8), so an
 * old table does not stay for good once joins stop: a slot costs about
 * 0.5 us at 10^6 (three cache misses), so about 2 ms a tick and 30 us an
 * event; a 2^20-slot move left alone ends after 256 ticks or 16,384
 * member events. Meanwhile finds of absent names probe both tables and
 * the old one holds 8 bytes a slot.
 */
#define SERF_INDEX_TICK_STEP 4096u
#define SERF_INDEX_EVENT_STEP 64u

/* serf_table.c: the member table, status counts, the deadline heap */
int serf_table_init(struct serf *serf);
void serf_table_free(struct serf *serf);
/** Move up to budget slots of the index's growth in progress, if any. */
void serf_table_step(struct serf *serf, uint32_t budget);
/** A new member (status none) over the core's record, indexed by name. */
struct serf_member *serf_member_add(struct serf *serf,
				    const struct swim_member *node);
/** Move m to the core's current record for it (a rejoin brings a new one). */
void serf_member_set_node(struct serf *serf, struct serf_member *m,
			  const struct swim_member *node);
/** m's name, address, versions, incarnation and Meta (the core's record). */
void serf_member_view(const struct serf *serf, const struct serf_member *m,
		      struct swim_member_info *info);
void serf_member_set_status(struct serf *serf, struct serf_member *m,
			    enum serf_member_status st);
/** m's tags decoded; valid until the next call (a shared scratch). */
const struct serf_tagset *serf_member_tags(const struct serf *serf,
					   const struct serf_member *m);
/** eraseNode: forget m (out of the index at once) and queue member-reap. */
void serf_member_erase(struct serf *serf, struct serf_member *m);
/** Queue a deadline about m. @retval 0 or < 0 (nothing queued). */
int serf_due_push(struct serf *serf, struct serf_member *m, uint32_t kind,
		  uint64_t at);
/** Run every deadline due at now_us. */
void serf_due_run(struct serf *serf, uint64_t now_us);
uint64_t serf_due_next(const struct serf *serf);
/** Arm the reap of m, which just failed or left (leave_time_us set). */
void serf_member_arm_reap(struct serf *serf, struct serf_member *m);
/** A random member accepted by filter in at most tries draws, or NULL. */
struct serf_member *serf_member_random(struct serf *serf, uint32_t tries,
	bool (*filter)(const struct serf *, const struct serf_member *));

/* serf_evq.c */
int serf_evq_init(struct serf *serf);
void serf_evq_free(struct serf *serf);

#endif /* SERF_TABLE_H_INCLUDED */
