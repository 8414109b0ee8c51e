/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Push/pulls streamed both ways (memberlist-wire.md §7.2) in bounded
 * memory: the sync engine moves at most one window of bytes per reactor
 * event through these callbacks, so a sync of any size costs a fixed
 * buffer per stream and the control thread keeps answering between
 * slices. Only plain streams are streamed: a sealed stream is one
 * AES-GCM frame whose tag must verify before anything is merged, and a
 * compressed one is one LZW buffer, so both keep the whole-message path
 * (and memberlist's 20 MiB cap). memberlist reads plain push/pulls with
 * no size cap, so a streamed one of any size is fine for it too.
 *
 * cp_sync_core_pp_ops() wires them to the core and the Serf layer;
 * tests wire their own.
 */
#ifndef CP_SYNC_PP_H_INCLUDED
#define CP_SYNC_PP_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct swim_addr;

/** Bytes a streamed push/pull holds per direction: the rx/tx window. */
#define CP_SYNC_PP_WINDOW (64u * 1024)
/** Windows written per reactor event before yielding to other work. */
#define CP_SYNC_PP_TX_SLICE 4u
/** Bytes a streamed push/pull must move to get another TCPTimeout. */
#define CP_SYNC_PP_PROGRESS (16u * 1024)

struct cp_sync_pp_ops {
	/** Start encoding our push/pull with this Join flag. NULL: failed. */
	void *(*out_start)(void *ctx, bool join);
	/**
	 * The next bytes of it into out (cap is CP_SYNC_PP_WINDOW), a
	 * bounded amount of work. @retval bytes, 0 at the end, -EAGAIN
	 * (no byte yet: the work's slice ran out; called again on the next
	 * reactor pass), or < 0.
	 */
	long (*out_fill)(void *ctx, void *st, uint8_t *out, size_t cap);
	void (*out_end)(void *ctx, void *st);
	/** Start decoding a peer's push/pull. NULL: failed. */
	void *(*in_start)(void *ctx, uint64_t now_us);
	/**
	 * Consume the next bytes (whole pieces only; merged at once), a
	 * bounded amount of work. *done once the message is fully merged.
	 * @retval bytes consumed (0: need more), or < 0 (a swim_wire_err,
	 *         SWIM_E_PROTO_VERSION, -ENOMEM).
	 */
	long (*in_feed)(void *ctx, void *st, uint64_t now_us,
			const uint8_t *buf, size_t len, bool *done);
	/** The Join flag of the message being read (after its header). */
	bool (*in_join)(void *ctx, void *st);
	void (*in_end)(void *ctx, void *st);
	/**
	 * Optional: Vsn[6] of the member called node (0: none), or -1 when
	 * no such member is known, so an encrypted push/pull to a gossipd
	 * peer that reads chunked sealed streams (SWIM_CAP_SEALED_STREAM)
	 * is sent as chunks, and one to a stranger asks for a chunked reply.
	 * node NULL (a join to an address): the member at `to`, if any (a
	 * scan of the table is fine: the push/pull itself is O(n)).
	 */
	int (*peer_caps)(void *ctx, const char *node,
			 const struct swim_addr *to);
};

struct cp;
/** The daemon's callbacks: swim_pp_enc/dec and the Serf user state. */
const struct cp_sync_pp_ops *cp_sync_core_pp_ops(void);

/*
 * The Serf user state streamed both ways (cp_sync_serf.c, serf.h's
 * serf_pp_enc/serf_pp_dec). keep (NULL: every member, serf's full
 * state) restricts ours to some members (delta sync); *len is its exact
 * length, for the push/pull header. out_fill may return -EAGAIN: no
 * byte yet, call again on the next reactor pass.
 */
struct cp_serf_out;
struct cp_serf_in;
struct cp_serf_out *cp_sync_serf_out_start(struct cp *cp,
	bool (*keep)(void *ctx, const char *name, size_t len), void *ctx,
	uint32_t *len);
/*
 * The same in bounded steps (out_start sizes the whole table in one
 * call): out_begin, then out_size once per reactor pass until it says 0
 * with *len, before the push/pull header goes. NULL: out of memory.
 */
struct cp_serf_out *cp_sync_serf_out_begin(struct cp *cp,
	bool (*keep)(void *ctx, const char *name, size_t len), void *ctx);
/** @retval 0 (*len set), or -EAGAIN: a step ran, call again. */
int cp_sync_serf_out_size(struct cp *cp, struct cp_serf_out *o,
			  uint32_t *len);
long cp_sync_serf_out_fill(struct cp *cp, struct cp_serf_out *o,
			   uint8_t *out, size_t cap);
void cp_sync_serf_out_end(struct cp *cp, struct cp_serf_out *o);
/** Start merging a peer's state of len bytes (after its nodes). */
struct cp_serf_in *cp_sync_serf_in_start(struct cp *cp, uint64_t now_us,
					 uint32_t len, bool join);
/** As in_feed: bytes consumed, *done once all of it is merged. */
long cp_sync_serf_in_feed(struct cp *cp, struct cp_serf_in *in,
			  uint64_t now_us, const uint8_t *buf, size_t len,
			  bool *done);
void cp_sync_serf_in_end(struct cp_serf_in *in);

#endif /* CP_SYNC_PP_H_INCLUDED */
