/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The control plane of gossipd: the one thread that owns the SWIM core, the
 * Serf layer and every TCP stream. This header declares the small epoll
 * reactor (cp_io), the TCP sync engine (cp_sync: memberlist streams) and the
 * daemon state (struct cp) that main.c initialises step by step.
 *
 * Everything here runs on the control thread only. Nothing here is shared
 * with dataplane lcores except through dp.h (rings and the snapshot).
 */
#ifndef CP_H_INCLUDED
#define CP_H_INCLUDED

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cp_cfg.h"
#include "swim.h"
#include "swim_msg.h"

struct dp;
struct dp_pkt;
struct cp_rpc;
struct serf;
struct cp_keys;
struct swim_keyring;
struct cp_agent;

/* --- the reactor: redis's ae, reduced to one callback per fd --- */

struct cp_io;
/** Called with the epoll events that fired and the time after the wait. */
typedef void (*cp_io_f)(struct cp_io *io, uint32_t events, uint64_t now_us);

/** One registered fd; embedded in its owner, found back by container. */
struct cp_io {
	int fd;			/* the socket or nested epoll fd */
	cp_io_f on_event;	/* dispatch target */
	void *ctx;		/* owner */
};

/** Register / change / remove io in epfd. @retval 0 or -errno. */
int cp_io_add(int epfd, struct cp_io *io, uint32_t events);
int cp_io_mod(int epfd, struct cp_io *io, uint32_t events);
void cp_io_del(int epfd, struct cp_io *io);

/**
 * Wait at most timeout_ms and dispatch what fired.
 * @retval events dispatched, 0 on timeout or EINTR, -errno on failure.
 */
int cp_io_poll(int epfd, int timeout_ms);
/** cp_io_poll with mask as the signal mask during the wait (NULL: none). */
int cp_io_pwait(int epfd, int timeout_ms, const sigset_t *mask);

/** CLOCK_MONOTONIC in µs: control's only clock. */
static inline uint64_t
cp_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* --- TCP streams (memberlist-wire.md §7) --- */

/** memberlist's maxPushStateBytes: the most one stream may carry. */
#define CP_SYNC_MAX_BYTES (20u << 20)
/** memberlist refuses push/pulls beyond 128 concurrent ones. */
#define CP_SYNC_MAX_STREAMS 128

/** errResp text memberlist sends for an encrypted stream it cannot read. */
#define CP_SYNC_ERR_ENCRYPTED \
	"Remote state is encrypted and encryption is not configured"

/**
 * What the sync engine asks of its owner (control wires these to the core
 * and the Serf layer; tests wire them to fakes). All run on the control
 * thread from inside cp_io_poll() or cp_sync_expire().
 */
struct cp_sync_pp_ops;

struct cp_sync_handler {
	void *ctx;
	/**
	 * Our whole push/pull message (type byte 6, plain), with the Join
	 * flag given. @retval bytes; a value > cap means "call again with a
	 * buffer this big"; 0 means nothing to send (an error).
	 */
	size_t (*local_state)(void *ctx, bool join, uint8_t *out, size_t cap);
	/**
	 * Merge a peer's complete plain push/pull (from the type byte 6).
	 * @retval 0 or a negative swim_wire_err.
	 */
	int (*merge)(void *ctx, uint64_t now_us, const uint8_t *buf,
		     size_t len);
	/** An outbound push/pull finished: err 0 on success, else < 0. */
	void (*push_pull_done)(void *ctx, uint64_t now_us,
			       const struct swim_addr *to, bool join, int err);
	/** An outbound TCP ping finished. */
	void (*ping_done)(void *ctx, uint64_t now_us, uint32_t seq_no,
			  bool acked);
	/** A reliable user message (type 8 stream): the raw payload. */
	void (*user_msg)(void *ctx, uint64_t now_us, const uint8_t *data,
			 size_t len);
	/**
	 * Optional: push/pulls streamed both ways in bounded memory
	 * (cp_sync_pp.h). NULL keeps local_state and merge, which sealed
	 * and compressed streams always use.
	 */
	const struct cp_sync_pp_ops *pp;
};

struct cp_sync_cfg {
	int epfd;			/* the reactor the streams live in */
	struct swim_addr bind;		/* listener: UDP's IP:port */
	struct swim_addr advertise;	/* Source* of our TCP pings */
	const char *name;		/* our name: pings must match */
	uint64_t tcp_timeout_us;	/* TCPTimeout, per exchange phase */
	unsigned max_streams;		/* concurrent streams, in + out */
	size_t max_bytes;		/* largest stream we read */
	struct cp_sync_handler h;	/* callbacks, copied */
	/* Non-NULL: every stream is a sealed 0x0a frame both ways and
	 * plaintext is refused, as memberlist with a keyring (§8.1).
	 * Not owned; must outlive the engine. */
	const struct swim_keyring *keyring;
};

/** Counters; monotonic, read by the owner for stats and tests. */
struct cp_sync_stats {
	uint64_t accepted;		/* inbound connections accepted */
	uint64_t refused_full;		/* closed at once: cap hit */
	uint64_t in_push_pull;		/* inbound push/pulls answered */
	uint64_t in_ping;		/* inbound TCP pings acked */
	uint64_t in_user;		/* inbound user messages delivered */
	uint64_t out_ok;		/* outbound exchanges that succeeded */
	uint64_t out_failed;		/* outbound exchanges that failed */
	uint64_t timeouts;		/* streams closed by TCPTimeout */
	uint64_t bad_input;		/* streams closed: malformed bytes */
	uint64_t encrypted;		/* encrypted streams refused */
	uint64_t too_big;		/* streams closed: byte cap */
	uint64_t err_replies;		/* errResp received from peers */
	/* anti-entropy by kind (cp_sync_delta.c): exchanges, and the TCP
	 * payload bytes of their streams both ways (sealing included) */
	uint64_t x_full;		/* full push/pulls, in and out */
	uint64_t x_delta;		/* delta exchanges that transferred */
	uint64_t x_insync;		/* delta exchanges ending equal */
	uint64_t x_fallback;		/* delta refused: full push/pull */
	uint64_t x_delta_failed;	/* delta exchanges that failed */
	uint64_t bytes_full;
	uint64_t bytes_delta;
	/* delta sync's HELLO over UDP (swim_dsync_udp.h, the core's
	 * counters): our HELLOs answered INSYNC (no TCP), and the payload
	 * bytes of its datagrams both ways (CRC included, before sealing) */
	uint64_t x_insync_udp;
	uint64_t bytes_udp;
	/* chunked sealed streams (cp_sync_sealed.c): streams each way, and
	 * the ones dropped: no key opened a chunk (wrong key, corrupt tag),
	 * a chunk out of order or malformed (index, length, flags), the
	 * stream ended before its final chunk */
	uint64_t sealed_in;
	uint64_t sealed_out;
	uint64_t sealed_auth;
	uint64_t sealed_framing;
	uint64_t sealed_truncated;
};

struct cp_sync;

/** cp_sync_frame's errors that are not a swim_wire_err. */
enum {
	CP_FRAME_ENCRYPTED = -1000,	/* 0x0a: we have no keyring */
	CP_FRAME_UNKNOWN = -1001,	/* a type streams never carry */
};

/** One whole plain message found in a stream by cp_sync_frame. */
struct cp_frame {
	const uint8_t *buf;		/* at the type byte; rx or *plain */
	size_t len;			/* bytes of the message */
	struct swim_push_pull_header hdr;	/* PUSH_PULL: the header */
	struct swim_msg msg;		/* PING, ACK, ERR: decoded */
	struct swim_str user;		/* USER payload; PUSH_PULL state */
};

/**
 * Is there one whole message at the start of rx? A compressed stream is
 * inflated into *plain (grown up to max bytes; the caller frees it).
 * @retval 0 found (f filled), 1 need more bytes, < 0 a swim_wire_err or
 *         CP_FRAME_ENCRYPTED / CP_FRAME_UNKNOWN.
 */
int cp_sync_frame(const uint8_t *rx, size_t len, uint8_t **plain,
		  size_t *plain_cap, size_t max, struct cp_frame *f);

/** Defaults: 10 s timeout, 128 streams, 20 MiB. Caller fills the rest. */
void cp_sync_cfg_default(struct cp_sync_cfg *cfg);

/**
 * Bind and listen on cfg->bind. @retval the engine, or NULL with a
 * one-line reason in err ("address already in use" names the address).
 */
struct cp_sync *cp_sync_new(const struct cp_sync_cfg *cfg, char *err,
			    size_t errlen);
/** Close every stream and the listener. NULL is a no-op. */
void cp_sync_delete(struct cp_sync *sync);

/** Port the listener is bound to (useful with port 0 in tests). */
uint16_t cp_sync_port(const struct cp_sync *sync);

/**
 * Start an outbound push/pull. The result always comes back through
 * h.push_pull_done (also for failures detected here, before returning).
 */
void cp_sync_push_pull(struct cp_sync *sync, uint64_t now_us,
		       const struct swim_addr *to, bool join);
/**
 * cp_sync_push_pull to the member called node (NULL: unknown, as a join
 * to an address): with a keyring, a peer that reads chunked sealed
 * streams (docs/sealed-stream.md) gets chunks, any size.
 */
void cp_sync_push_pull_node(struct cp_sync *sync, uint64_t now_us,
			    const struct swim_addr *to, const char *node,
			    bool join);

/** Start an outbound TCP ping; the result comes through h.ping_done. */
void cp_sync_ping(struct cp_sync *sync, uint64_t now_us,
		  const struct swim_addr *to, const char *node,
		  uint32_t seq_no, uint64_t deadline_us);

/** Close streams whose deadline passed, reporting outbound failures. */
void cp_sync_expire(struct cp_sync *sync, uint64_t now_us);
/** When cp_sync_expire next has work: UINT64_MAX with no stream open. */
uint64_t cp_sync_next_deadline(const struct cp_sync *sync);

/** Streams open now. */
unsigned cp_sync_nb_streams(const struct cp_sync *sync);

/**
 * Seal and open with ring from now on (key rotation, cp_keys.c): every
 * later seal and open uses it, streams already open included. ring must
 * not be NULL when the engine was created with a keyring, and must
 * outlive the engine or the next call.
 */
void cp_sync_set_keyring(struct cp_sync *sync,
			 const struct swim_keyring *ring);

void cp_sync_get_stats(const struct cp_sync *sync, struct cp_sync_stats *st);

/* --- the Serf layer as the daemon uses it (cp_serf.c wraps serf.h) --- */

struct cp;

/** Create the Serf layer for cp (tags from cp->cfg). @retval 0 or -1. */
int cp_serf_init(struct cp *cp);
void cp_serf_fini(struct cp *cp);
/** Feed one core event (join, leave, user message, ping rtt, ...). */
void cp_serf_on_event(struct cp *cp, uint64_t now_us,
		      const struct swim_event *ev);
/** Timers of the Serf layer (reap, coalescing); may queue broadcasts. */
void cp_serf_tick(struct cp *cp, uint64_t now_us);
/** Our push/pull user state (02 + messagePushPull). @retval bytes. */
size_t cp_serf_local_state(struct cp *cp, uint8_t *out, size_t cap);
/** A peer's push/pull user state. */
void cp_serf_merge_remote(struct cp *cp, uint64_t now_us,
			  const uint8_t *buf, size_t len, bool join);
/** We joined a cluster: gossip our join intent. */
void cp_serf_joined(struct cp *cp, uint64_t now_us);
/** Start a graceful leave: gossip the leave intent. */
void cp_serf_leave(struct cp *cp, uint64_t now_us);
/** The ack payload for the fast path (01 + coordinate). @retval bytes. */
size_t cp_serf_ack_payload(struct cp *cp, uint8_t *out, size_t cap);
/** swim_leave was called: Serf's own state becomes left. */
void cp_serf_left(struct cp *cp);
/** Replace our tags (new meta, incarnation + 1). @retval 0 or -errno. */
int cp_serf_set_tags(struct cp *cp, const struct cp_tag *tags, unsigned nb);
/** Mark a failed node left (force-leave). @retval 0 or -errno. */
int cp_serf_force_leave(struct cp *cp, uint64_t now_us, const char *node,
			bool prune);
/** Most node or tag filters one RPC query carries. */
#define CP_SERF_FILTERS_MAX 64
struct cp_rpc_query;
/** Start a query for the RPC; results come as cp_rpc_query_* calls. */
int cp_serf_query(struct cp *cp, const struct cp_rpc_query *q,
		  uint64_t *handle);
/** Answer a query delivered to RPC streams. @retval 0 or -errno. */
int cp_serf_respond(struct cp *cp, uint64_t handle, const uint8_t *payload,
		    size_t len);
/** Broadcast a user event. @retval 0 or -errno. */
int cp_serf_user_event(struct cp *cp, const char *name, const uint8_t *data,
		       size_t len, bool coalesce);

/* --- the daemon --- */

/** Who asked for a group of join push/pulls, and so who hears back. */
enum cp_join_kind {
	CP_JOIN_START,		/* --join: none succeeds -> exit 1 */
	CP_JOIN_RETRY,		/* --retry-join: retried in background */
	CP_JOIN_RPC,		/* the RPC join command: reply when done */
	CP_JOIN_REJOIN,		/* the snapshot's members: logged only */
};

/** Most join groups in flight (start, retry, a few RPC clients). */
#define CP_JOIN_GROUPS 8

/** One batch of join push/pulls that completes together. */
struct cp_join_group {
	bool in_use;
	enum cp_join_kind kind;
	uint64_t req_id;			/* CP_JOIN_RPC: request id */
	struct swim_addr addrs[CP_SEEDS_MAX];	/* seeds asked */
	bool is_done[CP_SEEDS_MAX];		/* addrs[i] answered */
	unsigned nb;
	unsigned nb_done;
	unsigned nb_ok;				/* push/pulls merged */
};

/** The graceful leave, driven by the loop after SIGINT/SIGTERM or RPC. */
enum cp_leave_state {
	CP_LEAVE_NONE,
	CP_LEAVE_INTENT,	/* serf leave intent gossiped; waiting */
	CP_LEAVE_DEAD,		/* swim_leave called; waiting for done */
};

/** The whole daemon; one, static in main.c, owned by the control thread. */
struct cp {
	struct cp_cfg cfg;		/* the command line */
	struct swim *swim;		/* the core */
	struct dp *dp;			/* the dataplane (rings) */
	struct cp_sync *sync;		/* TCP streams */
	struct cp_rpc *rpc;		/* RPC server; may be NULL */
	struct serf *serf;		/* the Serf layer over swim */
	uint64_t seed;			/* PRNG seed for core and Serf */
	uint64_t leave_propagate_us;	/* Serf's LeavePropagateDelay */
	int epfd;			/* the reactor */
	struct cp_io rpc_io;		/* RPC server's nested epoll */
	uint64_t probe_interval_us;	/* the profile's, for timing */
	uint64_t gossip_interval_us;	/* the profile's, for publishing */
	uint64_t tcp_timeout_us;	/* the profile's */
	struct cp_join_group joins[CP_JOIN_GROUPS]; /* joins in flight */
	bool is_joined;			/* some join push/pull merged */
	uint64_t retry_next_us;		/* next --retry-join; 0 = none */
	unsigned retry_attempts;	/* --retry-join attempts made */
	enum cp_leave_state leave;	/* graceful leave progress */
	uint64_t leave_start_us;	/* when the leave started */
	uint64_t leave_done_us;		/* when swim_leave_done held */
	uint64_t leave_rpc_id;		/* RPC leave waiting; 0 = none */
	bool has_leave_rpc;
	uint64_t publish_next_us;	/* next periodic snapshot */
	uint64_t last_acks_fast;	/* dp acks_fast at the last take */
	bool has_published;		/* a snapshot went out already */
	uint64_t stats_next_us;		/* next drop-warning check */
	uint64_t last_drops;		/* dp drops at the last check */
	uint64_t last_tcp_bad;		/* refused streams, last check */
	bool is_done;			/* leave the loop */
	int exit_code;			/* main's return value */
	volatile sig_atomic_t nb_signals;	/* SIGINT/SIGTERM seen */
	struct dp_pkt *rx;		/* DP_BURST packets for dp_recv */
	struct cp_keys *keys;		/* key rotation (cp_keys.h); NULL:
					 * plaintext node */
	struct cp_agent *agent;		/* signals, snapshot, reload */
	struct cp_metrics *metrics;	/* /metrics, statsd; NULL: off */
	struct cp_io bell_io;		/* the dataplane's doorbell (dp_park) */
	bool has_bell_io;		/* bell_io is in epfd */
	struct cp_io dp_io;		/* an inline dataplane's socket */
	bool has_dp_io;			/* dp_io is in epfd */
	/* cp_loop_run: SIGINT/TERM/HUP are blocked outside epoll_pwait,
	 * which waits with this mask, so a signal always ends the wait */
	sigset_t wait_sigmask;
	bool has_wait_sigmask;
};

/** Start joining seeds; kind says who hears the outcome. @retval 0. */
int cp_join_start(struct cp *cp, uint64_t now_us, enum cp_join_kind kind,
		  uint64_t req_id, const struct swim_addr *seeds, unsigned nb);
/** A join push/pull finished (from the sync engine). */
void cp_join_done(struct cp *cp, uint64_t now_us, const struct swim_addr *to,
		  int err);
/** Begin the graceful leave (signal or RPC). */
void cp_leave_start(struct cp *cp, uint64_t now_us);
/** The wiring of cp_sync's callbacks to the core and Serf. */
void cp_sync_handler_init(struct cp *cp, struct cp_sync_handler *h);
/** Fill the RPC ops table. */
struct cp_rpc_ops;
void cp_rpc_ops_init(struct cp *cp, struct cp_rpc_ops *ops);

/* Init steps (cp_init.c), in main()'s order; each prints its error. */
int cp_core_init(struct cp *cp);		/* swim core from cp->cfg */
int cp_serf_layer_init(struct cp *cp);	/* the Serf layer over it */
int cp_reactor_init(struct cp *cp);	/* epoll + rx burst buffer */
int cp_sync_init(struct cp *cp);	/* TCP listener: busy port fails */
int cp_dp_init(struct cp *cp);		/* dataplane (UDP) */
int cp_rpc_server_init(struct cp *cp);	/* RPC listener */
void cp_join_init(struct cp *cp);	/* log the start, --join */
void cp_fini(struct cp *cp);		/* undo whatever was set up */

/**
 * One loop iteration: rings, tick, outputs, events, snapshot, retry-join,
 * leave, then sleep in the reactor until the next deadline, a socket or
 * RPC event, the dataplane's doorbell (a packet in an rx ring) or a signal.
 */
/**
 * Hand every pending core event to the Serf layer (and metrics). Also
 * called before a peer's Serf state is merged, so intents about members
 * that arrived in the same push/pull find them (memberlist notifies Serf
 * synchronously; without this they would wait as intents about unknown
 * names, a bounded set).
 */
void cp_loop_events(struct cp *cp, uint64_t now_us);
void cp_loop_once(struct cp *cp);
/** The earliest time some timer of the loop is due; UINT64_MAX: none. */
uint64_t cp_loop_next_deadline(const struct cp *cp);
/** ms the reactor may sleep at now_us: 0 if due, -1 for no deadline. */
int cp_loop_timeout_ms(const struct cp *cp, uint64_t now_us);
/** Run the loop until the daemon is done. @retval exit status. */
int cp_loop_run(struct cp *cp);

#endif /* CP_H_INCLUDED */
