/* SPDX-License-Identifier: MIT */
/**
 * @file
 * @internal
 * The TCP sync engine's private types, shared by its three files:
 *   cp_sync.c          the engine: listener, outbound starts, expiry;
 *   cp_sync_stream.c   one stream: buffers, seal/open, non-blocking I/O;
 *   cp_sync_exchange.c what a whole message means: answer, merge, match.
 * Control thread only. Nothing outside cp_sync*.c includes this.
 */
#ifndef CP_SYNC_INT_H_INCLUDED
#define CP_SYNC_INT_H_INCLUDED

#include "cp.h"
#include "cp_sync_pp.h"

#include <sys/types.h>

/* Stream errors of an encrypting engine (beside cp.h's CP_FRAME_*). */
enum {
	CP_SYNC_E_PLAIN = -1100,	/* keyring set, stream not sealed */
	CP_SYNC_E_OPEN = -1101,		/* no installed key opens it */
};

/* Which exchange a stream carries, by who opened it. */
enum cp_sess_kind {
	CP_SESS_IN,		/* accepted: we answer whatever arrives */
	CP_SESS_OUT_PP,		/* we push, then read their push/pull */
	CP_SESS_OUT_PING,	/* we ping, then read the ack */
};

enum cp_sess_state {
	CP_SESS_CONNECTING,	/* outbound: connect() in progress */
	CP_SESS_READING,	/* waiting for the peer's message */
	CP_SESS_WRITING,	/* flushing tx; inbound closes after */
};

/* One TCP exchange. Allocated per connection, freed on close. */
struct cp_sess {
	struct cp_io io;		/* fd + dispatch; io.ctx = this */
	struct cp_sync *sync;		/* owner */
	unsigned slot;			/* index in sync->sess */
	enum cp_sess_kind kind;
	enum cp_sess_state state;
	struct swim_addr peer;		/* remote address */
	bool join;			/* OUT_PP: the Join flag */
	uint32_t seq_no;		/* OUT_PING: seq to match */
	uint64_t deadline_us;		/* close (and fail) after this */
	uint8_t *rx;			/* bytes read so far */
	size_t rx_len;
	size_t rx_cap;
	uint8_t *tx;			/* bytes to write */
	size_t tx_len;
	size_t tx_off;
	uint8_t *plain;			/* inflated message (0x09) */
	size_t plain_cap;
	/* keyring: rx now holds the opened plaintext of the 0x0a frame */
	bool is_opened;
	/* streamed push/pull (cfg.h.pp, plain 0x06): rx and tx are fixed
	 * CP_SYNC_PP_WINDOW windows, pp_in/pp_out the callbacks' state */
	void *pp_in;
	void *pp_out;
	bool pp_in_done;		/* the peer's message is merged */
	size_t pp_moved;		/* bytes since the deadline last moved */
	bool is_legacy;			/* whole-message path for this stream */
	/* delta sync (cp_sync_delta*.c): the exchange, or NULL */
	struct cp_dx *dx;
	/* chunked sealed stream (cp_sync_sealed.c), or NULL: memberlist's
	 * single 0x0a frame or a plain stream */
	struct cp_sst *sst;
	bool is_small;			/* IN: a TCP ping or user message */
};

struct cp_sync {
	struct cp_sync_cfg cfg;		/* copy; cfg.name = name */
	char name[SWIM_NAME_MAX + 1];	/* our node name */
	struct cp_io listen_io;		/* the listener */
	uint16_t port;			/* bound port */
	struct cp_sess **sess;		/* max_streams slots; NULL free */
	unsigned nb_sess;
	struct cp_sync_stats st;
	struct cp_dctl *delta;		/* delta sync settings; NULL: off */
};

/* --- cp_sync_stream.c: one stream's lifetime and I/O --- */

/** Take a free slot and wrap fd in a new session. NULL when full. */
struct cp_sess *cp_sess_new(struct cp_sync *sync, int fd,
			    enum cp_sess_kind kind, uint64_t now_us);
/** Close and free; the owner has already been told the outcome. */
void cp_sess_close(struct cp_sess *s);
/** A non-blocking connect to `to` as a stream of `kind`, in the reactor
 * (CP_SESS_CONNECTING, waiting for EPOLLOUT). NULL: failed. */
struct cp_sess *cp_sync_connect(struct cp_sync *sync, uint64_t now_us,
				const struct swim_addr *to,
				enum cp_sess_kind kind);
/** Report an outbound failure (once) and close. */
void cp_sess_fail(struct cp_sess *s, uint64_t now_us, int err);
/** One read(2) into rx after its rx_len bytes, up to `end` (<= rx_cap).
 * @retval bytes read, 0 nothing now (or no room), -1 EOF or error. */
ssize_t cp_sess_read_some(struct cp_sess *s, size_t end);
/** rx becomes plain (malloc'ed, len bytes of cap): an opened sealed frame. */
void cp_sess_take_plain(struct cp_sess *s, uint8_t *plain, size_t len,
			size_t cap);
/** What a kind of stream does on the reactor's turns. */
struct cp_sess_ops {
	void (*fail)(struct cp_sess *s, uint64_t now_us, int err);
	void (*write)(struct cp_sess *s, uint64_t now_us);
	void (*read)(struct cp_sess *s, uint64_t now_us);
};
/** One reactor turn of a stream: connect completion, then writes and
 * reads through ops (memberlist streams and delta exchanges alike). */
void cp_sess_dispatch(struct cp_sess *s, uint32_t events, uint64_t now_us,
		      const struct cp_sess_ops *ops);
/**
 * With a keyring, replace *buf (malloc'ed, len bytes) by its sealed 0x0a
 * frame. @retval 0, or -ENOMEM / -EMSGSIZE (then *buf is unchanged).
 */
int cp_sync_seal(const struct cp_sync *sync, uint8_t **buf, size_t *len);
/** Queue bytes to write (takes buf) and switch to writing. @retval 0 or -errno. */
int cp_sess_send(struct cp_sess *s, uint8_t *buf, size_t len);
/** cp_sess_send of a fresh copy of buf. @retval 0 or -errno. */
int cp_sess_send_copy(struct cp_sess *s, const uint8_t *buf, size_t len);

/* --- cp_sync_pp.c: streamed push/pulls --- */

/**
 * Pick the stream's path from its first byte (peeked): a plain push/pull
 * with h.pp set and no keyring is streamed. @retval true: streamed.
 */
bool cp_sess_pp_decide(struct cp_sess *s, uint64_t now_us);
/** Read one window and feed it to the decoder (reactor callback). */
void cp_sess_pp_read(struct cp_sess *s, uint64_t now_us);
/** Start streaming our push/pull on s (encoder state). @retval 0 or < 0. */
int cp_sess_pp_out_start(struct cp_sess *s, bool join);
/** Write up to CP_SYNC_PP_TX_SLICE windows. @retval 1 all sent, 0 more
 * to send later, < 0 failed (already reported and closed). */
int cp_sess_pp_write(struct cp_sess *s, uint64_t now_us);
/** Free the callbacks' state (from cp_sess_close). */
void cp_sess_pp_free(struct cp_sess *s);

/* --- cp_sync_sealed.c: chunked sealed streams (docs/sealed-stream.md) --- */

/** Read the peer's push/pull as chunks from now on (its first byte was
 * SWIM_SSTREAM_TYPE). @retval 0 or -ENOMEM. */
int cp_sst_in_start(struct cp_sess *s);
/** A sealed-stream error, already counted (cp_sst_count). */
#define CP_SST_E_DROPPED (-1200)
/** Whether s reads / writes chunks. */
bool cp_sst_in(const struct cp_sess *s);
bool cp_sst_out(const struct cp_sess *s);
/** One read(2) into the chunk buffer. @retval bytes, 0 nothing now (or
 * a whole chunk waits, or the final one was read), -1 EOF or error. */
ssize_t cp_sst_read(struct cp_sess *s);
/** Open every whole chunk into rx (the plaintext the decoder is fed
 * from) while rx has room. @retval 0, or CP_SST_E_DROPPED (a chunk
 * failed: counted by kind; the stream must be closed). */
int cp_sst_open(struct cp_sess *s);
/** A whole chunk waits in the chunk buffer (rx had no room for it). */
bool cp_sst_has_chunk(const struct cp_sess *s);
/** Whether the peer's final chunk was opened. */
bool cp_sst_in_final(const struct cp_sess *s);
/** Seal what the encoder writes from now on (after
 * cp_sess_pp_out_start). @retval 0 or -ENOMEM. */
int cp_sst_out_start(struct cp_sess *s);
/** The plaintext window of our next chunk (SWIM_SSTREAM_CHUNK_MAX). */
uint8_t *cp_sst_plain(struct cp_sess *s);
/** Seal len bytes of it as our next chunk into tx. @retval 1 or < 0. */
int cp_sst_seal_chunk(struct cp_sess *s, size_t len, bool is_final);
/** Open the chunks read so far and feed them to the push/pull decoder
 * (cp_sync_pp.c; s->pp_in_done once merged). @retval 0,
 * CP_SST_E_DROPPED, or a decoder error. */
int cp_sess_pp_feed_chunks(struct cp_sess *s, uint64_t now_us);
/** cp_sess_pp_refill for a sealed stream: one chunk into tx.
 * @retval 1 refilled, 0 the end, 2 nothing yet, < 0. */
int cp_sst_refill(struct cp_sess *s);
/** The member's Vsn[6] by name, or by address when node is NULL or
 * empty (cp_sync_pp_ops.peer_caps), or -1 when unknown (not in the
 * table, no callback). */
int cp_sst_peer_caps(const struct cp_sync *sync, const char *node,
		     const struct swim_addr *to);
/** Our classic sealed push/pull asks for a chunked reply: add the
 * header key to *buf (malloc'ed, *len). @retval 0 or < 0 (unchanged). */
int cp_sst_mark_request(uint8_t **buf, size_t *len);
/** Count a sealed-stream error by kind (stats). */
void cp_sst_count(struct cp_sync *sync, int err);
/** From cp_sess_close. */
void cp_sst_free(struct cp_sess *s);

/* --- cp_sync_exchange.c: handling one whole message --- */

/** A whole message (rc 0, f filled) or a framing error arrived on s. */
void cp_sess_got(struct cp_sess *s, uint64_t now_us, int rc,
		 const struct cp_frame *f);
/** Our push/pull bytes (malloc'ed, *len long), or NULL. */
uint8_t *cp_sync_local_state(struct cp_sync *sync, bool join, size_t *len);

/* --- cp_sync_delta.c: delta sync on the engine's streams --- */

/** An inbound stream's first message is a delta-sync one: take the
 * stream over. @retval true: claimed (or answered and closed). */
bool cp_sess_delta_claim(struct cp_sess *s, uint64_t now_us);
/** From cp_sess_close: count the stream's bytes by kind, free dx. */
void cp_sess_delta_closing(struct cp_sess *s);
/** From cp_sync_delete: free the settings. */
void cp_sync_delta_fini(struct cp_sync *sync);
/** Fill st's UDP HELLO counters from the core (cp_sync_get_stats). */
void cp_sync_delta_stats(const struct cp_sync *sync,
			 struct cp_sync_stats *st);

#endif /* CP_SYNC_INT_H_INCLUDED */
