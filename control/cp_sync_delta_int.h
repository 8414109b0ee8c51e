/* SPDX-License-Identifier: MIT */
/**
 * @file
 * @internal
 * Delta sync's private types, shared by its two files:
 *   cp_sync_delta.c     starting exchanges (periodic, interval), claiming
 *                       inbound ones, the outcome and the counters;
 *   cp_sync_delta_io.c  one exchange's stream: messages, the transfer.
 * Control thread only. Nothing outside cp_sync_delta*.c includes this.
 */
#ifndef CP_SYNC_DELTA_INT_H_INCLUDED
#define CP_SYNC_DELTA_INT_H_INCLUDED

#include "cp_sync_delta.h"
#include "cp_sync_int.h"
#include "swim_dsync.h"

/* An engine's delta-sync settings and the interval's timer. */
struct cp_dctl {
	struct cp_sync_delta_cfg cfg;
	uint64_t next_us;	/* next interval exchange; 0: arm first */
	uint64_t rnd;		/* splitmix64 state: jitter, peer draws */
	bool is_tick_busy;	/* the interval's exchange is in flight */
	bool is_wanting;	/* its HELLO waits for a probe (core) */
};

/* What a delta stream does once the bytes in tx are written. */
enum cp_dx_next {
	CP_DX_READ_MSG,		/* read the peer's next message */
	CP_DX_PP_OUT,		/* send our push/pull of the leaf set */
	CP_DX_READ_PP,		/* read the peer's */
	CP_DX_DONE,		/* the exchange is over: close */
};

/* One delta exchange on a stream (cp_sess.dx). */
struct cp_dx {
	struct swim_dsync x;	/* the exchange's state machine */
	uint8_t next;		/* enum cp_dx_next, once tx is written */
	bool is_reading_pp;	/* after DIFF: rx carries a push/pull */
	bool is_tick;		/* the interval's exchange */
	bool is_periodic;	/* the core's periodic push/pull */
	bool is_transfer;	/* reached TRANSFER (leaves differ) */
	bool is_enc_on;		/* enc streams our push/pull into tx */
	bool is_failed;		/* ABORT sent: the end is a failure */
	bool is_chunked;	/* encrypted, the peer reads sealed chunks:
				 * our transfer goes as chunks */
	struct swim_pp_enc enc;
	size_t moved;		/* bytes since the deadline last moved */
};

/* --- cp_sync_delta_io.c --- */

/** Reactor callback of every delta stream. */
void cp_dx_on_event(struct cp_io *io, uint32_t events, uint64_t now_us);
/** Queue buf (malloc'ed, taken; sealed here with a keyring), then do
 * `next`. @retval 0 or < 0 (buf freed). */
int cp_dx_send(struct cp_sess *s, uint8_t *buf, size_t len,
	       enum cp_dx_next next);
/** Handle the peer's next message once it is whole in rx (a claimed
 * stream's first one); what follows it stays in rx. */
void cp_dx_read_msgs(struct cp_sess *s, uint64_t now_us);

/* --- cp_sync_delta.c --- */

/** The engine's settings (non-NULL on a delta stream). */
struct cp_dctl *cp_dx_ctl(const struct cp_sess *s);
/**
 * The exchange is over: err 0 (counted by outcome, reported to the
 * owner for an initiator) or < 0 (a periodic initiator that never got
 * to a transfer falls back to a full push/pull). Closes s.
 */
void cp_dx_finish(struct cp_sess *s, uint64_t now_us, int err);

#endif /* CP_SYNC_DELTA_INT_H_INCLUDED */
