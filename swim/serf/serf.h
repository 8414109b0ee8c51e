/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The Serf layer above the memberlist core: Serf member status (alive,
 * leaving, left, failed), join and leave intents ordered by Lamport clocks,
 * tags in Meta, user events, queries (answering, relaying, asking),
 * the push/pull user state and Vivaldi coordinates; serf 0.9.4's rules
 * (shared/protocol/memberlist-wire.md §10).
 *
 * Pure, like the core: no sockets, threads, clock reads, rand() or
 * logging. Control feeds it:
 *
 *   serf_on_swim_event(serf, now_us, &ev);   every event the core pops
 *   serf_tick(serf, now_us);                 reap, query deadlines
 *   while (serf_pop_event(serf, &ev)) log/stream(ev);
 *
 * and it talks to the network only through the core it was given
 * (swim_broadcast_user, swim_send_user, swim_set_meta,
 * swim_set_ack_payload, swim_join). Time is µs; randomness comes from
 * cfg.seed.
 *
 * Control's duties: start the core with swim_cfg.meta = serf_tags_encode
 * of the tags; after a successful join call serf_join_intent; on TCP
 * push/pull send serf_local_state as the user state and hand the peer's
 * user state to serf_merge_remote_state; for a graceful leave call
 * serf_leave, wait for the broadcast (about serf_cfg.broadcast_timeout_us),
 * then swim_leave and serf_leave_done. Hand each core event over before
 * the next core call (USER data points into the packet). With
 * cfg.keyring_enabled, answer the _serf_*-key SERF_EV_QUERY events with
 * serf_query_respond(serf_msg_encode_key_response(...)).
 */
#ifndef SERF_H_INCLUDED
#define SERF_H_INCLUDED

#include "serf_coord.h"
#include "serf_msg.h"
#include "swim.h"

struct serf;

/** Largest user event or query payload an event carries. */
#define SERF_PAYLOAD_MAX SWIM_UDP_BUDGET
/** Most tags decoded per member (Meta is at most 512 bytes anyway). */
#define SERF_TAGS_MAX 64

/** Serf MemberStatus; values as Serf numbers them (conflict responses). */
enum serf_member_status {
	SERF_STATUS_NONE = 0,
	SERF_STATUS_ALIVE = 1,
	SERF_STATUS_LEAVING = 2,
	SERF_STATUS_LEFT = 3,
	SERF_STATUS_FAILED = 4,
	SERF_STATUS_COUNT,
};

/** "none", "alive", "leaving", "left", "failed". */
extern const char *const serf_member_status_str[SERF_STATUS_COUNT];

/** This node's own state (SerfState). */
enum serf_state {
	SERF_STATE_ALIVE,
	SERF_STATE_LEAVING,
	SERF_STATE_LEFT,
	SERF_STATE_COUNT,
};

/** Serf's Config, the parts the protocol uses; times in µs. */
struct serf_cfg {
	char name[SWIM_NAME_MAX + 1];	/* node name, as in swim_cfg */
	const struct serf_tag *tags;	/* initial tags, copied */
	uint32_t nb_tags;
	uint64_t gossip_interval_us;	/* memberlist GossipInterval */
	uint32_t query_timeout_mult;	/* QueryTimeoutMult: 16 */
	uint32_t query_size_limit;	/* QuerySizeLimit: 1024 */
	uint32_t query_response_size_limit;	/* 1024 */
	uint32_t user_event_size_limit;	/* UserEventSizeLimit: 512 */
	uint32_t event_buffer;		/* EventBuffer: 512 slots */
	uint32_t query_buffer;		/* QueryBuffer: 512 slots */
	uint64_t reap_interval_us;	/* ReapInterval: 15 s */
	uint64_t reconnect_interval_us;	/* ReconnectInterval: 30 s; 0 off */
	uint64_t reconnect_timeout_us;	/* ReconnectTimeout: 24 h */
	uint64_t tombstone_timeout_us;	/* TombstoneTimeout: 24 h */
	uint64_t recent_intent_timeout_us;	/* RecentIntentTimeout: 5 min */
	uint64_t broadcast_timeout_us;	/* BroadcastTimeout: 5 s (advice) */
	uint64_t leave_propagate_delay_us;	/* LeavePropagateDelay: 1 s */
	bool disable_coordinates;	/* DisableCoordinates */
	/*
	 * Whether _serf_*-key queries are handed to control as events
	 * (true, it owns the keyring) or answered here with serf's
	 * "encryption not enabled" failure (false).
	 */
	bool keyring_enabled;
	uint64_t seed;			/* PRNG seed: query ids, relays */
};

/** serf's DefaultConfig for the LAN profile. */
void serf_cfg_default(struct serf_cfg *cfg);

/**
 * Create the layer over a core that already exists. This node starts as
 * an alive member (a member-join event is queued for it); the ack payload
 * is set to our coordinate unless coordinates are disabled.
 * @retval the layer, or NULL with a static reason in *err.
 */
struct serf *serf_new(const struct serf_cfg *cfg, struct swim *swim,
		      const char **err);
void serf_delete(struct serf *serf);

/** Feed one event popped from the core. Malformed Serf input is counted. */
void serf_on_swim_event(struct serf *serf, uint64_t now_us,
			const struct swim_event *ev);

/** Periodic work: reaping, intent expiry, reconnects, query deadlines. */
void serf_tick(struct serf *serf, uint64_t now_us);
/** The earliest time serf_tick has work to do (0 before the first tick). */
uint64_t serf_next_deadline(const struct serf *serf);

/* --- local actions --- */

/** Gossip our join intent (after swim_join reached a peer). */
void serf_join_intent(struct serf *serf, uint64_t now_us);

/**
 * Start a graceful leave: leave intent at the member clock, gossiped if
 * another member is alive. Control then waits and calls swim_leave.
 * @retval 0, or -EALREADY when already leaving or left.
 */
int serf_leave(struct serf *serf, uint64_t now_us);
/** Mark the leave finished (control calls it after swim_leave). */
void serf_leave_done(struct serf *serf);
enum serf_state serf_state(const struct serf *serf);

/**
 * force-leave: a leave intent about another node (failed → left).
 * prune also erases it (member-reap). Unknown names are not errors.
 * @retval 0, or -EINVAL for an empty or too long name.
 */
int serf_force_leave(struct serf *serf, uint64_t now_us, const char *name,
		     size_t name_len, bool prune);

/**
 * Replace our tags: swim_set_meta with 0xff + msgpack map.
 * @retval 0, -EMSGSIZE if the encoding exceeds 512 bytes, -ENOMEM.
 */
int serf_set_tags(struct serf *serf, uint64_t now_us,
		  const struct serf_tag *tags, uint32_t nb);

/** Meta bytes for tags (for swim_cfg.meta). @retval bytes, or < 0. */
int serf_tags_encode(const struct serf_tag *tags, uint32_t nb, uint8_t *out,
		     size_t cap);

/**
 * Broadcast a user event (also delivered locally as an event).
 * @retval 0, -EMSGSIZE past user_event_size_limit, -EINVAL empty name.
 */
int serf_user_event(struct serf *serf, uint64_t now_us, const char *name,
		    size_t name_len, const uint8_t *payload,
		    size_t payload_len, bool coalesce);

/* --- push/pull user state --- */

/**
 * Our push/pull user state: 02 + messagePushPull (clocks, status LTimes,
 * left members, the event buffer's non-empty slots).
 * @retval bytes needed; if > cap nothing useful was written.
 */
size_t serf_local_state(struct serf *serf, uint8_t *buf, size_t cap);

/**
 * Merge a peer's user state (the bytes after its push/pull node list):
 * witness its clocks, apply its left members as leave intents and its
 * status LTimes as join intents, replay its events (never re-gossiped).
 * An empty state is fine (foreign nodes may send none).
 * @param join true only for the reply to OUR join when old events are
 *        to be ignored (`serf join` without -replay): events older than
 *        the peer's event clock are then not delivered. The responder
 *        side of a push/pull passes false, as serf does.
 * @retval 0 or a negative enum swim_wire_err (nothing applied then).
 */
int serf_merge_remote_state(struct serf *serf, uint64_t now_us,
			    const uint8_t *buf, size_t len, bool join);

/*
 * Streamed push/pull user state (serf_pp_enc.c, serf_pp_dec.c): the same
 * messagePushPull as serf_local_state / serf_merge_remote_state, moved
 * through a caller's window in bounded memory (no buffer that grows with
 * the member count) and linear time.
 *
 * Encoding: serf_pp_enc_begin, then serf_pp_enc_size in steps until it
 * returns 0, size the state (passes over the index that mark the members
 * they count; its exact length goes in the push/pull header; the steps
 * are bounded so the control loop runs between them); serf_pp_enc_start
 * does both in one call. serf_pp_enc_next then writes exactly the
 * members counted, whatever happens to the table meanwhile: members
 * the sizing did not count (added once it went by) are skipped, no
 * member is erased while an encoder runs (reaps and prunes wait until
 * the last one ends), every status LTime has one fixed width (room for
 * twice the clock; one that outgrows it goes as 0) so one that grows
 * keeps the length, and the walk makes passes over the index until it
 * wrote every member it counted (the marks say what was sent, whatever
 * the index moved).
 * Fields in serf's own order: LTime, StatusLTimes, LeftMembers,
 * EventLTime, Events, QueryLTime. A member whose left/not-left status
 * changed since the sizing is sent with LTime 0 (an intent every node
 * ignores), never with an LTime that belongs to the other status. At
 * most SERF_PP_ENC_MAX at once.
 */

/** Encoders that may run at once (-EBUSY past that). */
#define SERF_PP_ENC_MAX 8

/**
 * A member filter for a restricted push/pull (delta sync): true keeps
 * the member. Asked during the sizing only (once per member and pass
 * that meets it unmarked: it must answer the same for a name).
 */
typedef bool (*serf_pp_keep_f)(void *ctx, const char *name, size_t len);

struct serf_pp_enc {
	uint64_t ltime, event_ltime, query_ltime;	/* at the sizing */
	uint32_t nb_status;		/* StatusLTimes entries sized */
	uint32_t nb_left;		/* LeftMembers names sized */
	uint32_t done;			/* entries written, this phase */
	uint32_t pos;			/* index slot of the walk (as
					   swim_index_next numbers them) */
	uint8_t slot;			/* its 2 bits in pp_enc marks */
	uint8_t lt_bytes;		/* status LTimes: 2, 4 or 8 bytes */
	uint8_t phase;			/* private */
	bool is_busy;			/* holds its slot until _end */
	/* Private to the passes (serf_pp_enc.c): the sizing's filter and
	 * byte counts, the index layout at the last step (a change means
	 * the pass may have missed an entry), passes that saw one, and the
	 * writing walk's passes in a row that found nothing due. */
	serf_pp_keep_f keep;
	void *keep_ctx;
	size_t st_bytes, left_bytes;
	const void *lay_slots, *lay_old;
	uint32_t lay_moved;
	uint8_t passes;
	bool pass_moved;
	uint8_t dry;
	bool pass_any;
	uint8_t *events;		/* the Events value, encoded */
	size_t events_len;
	size_t events_off;		/* bytes of it written */
	size_t len;			/* the whole state, once sized */
	size_t sent;			/* bytes written so far */
};

/**
 * Start an encoder: take a slot, the clocks and the Events value. Its
 * slot is held (and erasures wait) until serf_pp_enc_end, whatever
 * happens next. keep (may be NULL: every member, exactly serf's full
 * state) restricts the members sent.
 * @retval 0, -EBUSY (SERF_PP_ENC_MAX running), -ENOMEM.
 */
int serf_pp_enc_begin(struct serf *serf, struct serf_pp_enc *e,
		      serf_pp_keep_f keep, void *ctx);
/**
 * One step of the sizing: at most about SERF_PP_SIZE_SCAN index slots.
 * The table may change between steps.
 * @retval 0: sized (e->len is exact; serf_pp_enc_next may run), -EAGAIN:
 *         call again, -EMSGSIZE (over 4 GiB), -EINVAL (ended). On an
 *         error, end the encoder.
 */
int serf_pp_enc_size(struct serf *serf, struct serf_pp_enc *e);
/**
 * serf_pp_enc_begin and the whole sizing in one call (O(n): control
 * runs the steps instead). Nothing is held on an error.
 * @retval 0, -EBUSY (SERF_PP_ENC_MAX running), -ENOMEM, -EMSGSIZE.
 */
int serf_pp_enc_start(struct serf *serf, struct serf_pp_enc *e,
		      serf_pp_keep_f keep, void *ctx);
/**
 * The next bytes (at most cap, whole pieces; cap >= 256) after at most
 * SERF_PP_ENC_SCAN index slots of work.
 * @retval bytes, 0 at the end (e->sent == e->len), -EAGAIN: nothing
 *         written yet, call again (the walk's slice ran out), -EINVAL
 *         (not sized yet, or ended), or -EPROTO (a sized member
 *         vanished: a bug, the stream must be dropped).
 */
long serf_pp_enc_next(struct serf *serf, struct serf_pp_enc *e,
		      uint8_t *out, size_t cap);
/** Release the encoder (at the end or not); erasures resume after the
 * last one. Safe to call twice. */
void serf_pp_enc_end(struct serf *serf, struct serf_pp_enc *e);
/** Index slots one serf_pp_enc_next call visits at most (about: a run
 * of moved slots is crossed whole). */
#define SERF_PP_ENC_SCAN 32768u
/** Index slots one serf_pp_enc_size step visits at most (as above):
 * about a millisecond at 10^6, where each member costs a few cache
 * misses (256 steps over 2^21 slots; the whole sizing took 85-184 ms in
 * one call before). */
#define SERF_PP_SIZE_SCAN 8192u

/*
 * Decoding: bytes as they arrive (any cut), each StatusLTimes entry,
 * LeftMembers name and Events group merged as it completes, so a peer's
 * state of any size costs a fixed struct. Both field orders merge as
 * serf_merge_remote_state does: serf's (StatusLTimes before LeftMembers: an
 * entry newer than an alive or failed member's LTime sets it at once, as a
 * join and a leave both would, and marks the member; a left name then makes
 * the leave's status change; entries about leaving or left members, whose
 * join and leave differ in more, wait until the end; past SERF_PP_DEFER_MAX
 * of them an entry about such a member is ignored: it stays leaving or left
 * until memberlist says otherwise, a rejoin's alive does) and the one older
 * gossipd sends (LeftMembers first: the names are marked, their entries
 * become leave intents). Unknown fields and trailing bytes are skipped.
 */

/** Longest piece (a name, an Events group) the decoder waits for. */
#define SERF_PP_PIECE_MAX (32u * 1024)
/** Entries about leaving or left members held until the end. */
#define SERF_PP_DEFER_MAX 256

struct serf_pp_dec {
	uint64_t left;			/* bytes of the state to come */
	uint64_t skip_vals;		/* values to skip */
	uint64_t skip_bytes;		/* str/bin bytes to skip */
	uint32_t fields;		/* top-level map entries to come */
	uint32_t items;			/* entries of this container */
	uint32_t merged;		/* entries, names and groups merged */
	uint16_t gen;			/* member marks of this decode */
	uint8_t phase;			/* private */
	uint8_t field;			/* private */
	uint8_t order;			/* private: the first list */
	bool join;
	uint32_t nb_defer;
	struct serf_pp_defer {
		uint64_t ltime;
		uint8_t len;
		bool is_left;		/* a left name claimed it */
		char name[SWIM_NAME_MAX];
	} defer[SERF_PP_DEFER_MAX];
};

/** Start decoding a peer's state of len bytes (UserStateLen). */
void serf_pp_dec_start(struct serf *serf, struct serf_pp_dec *d,
		       uint64_t len, bool join);
/**
 * Consume the next bytes: whole pieces only, merged at once.
 * @retval bytes consumed (0: need more, or done), or < 0: a negative
 *         enum swim_wire_err (counted in msgs_bad; what was whole before
 *         is merged, as memberlist merges a stream cut short).
 */
long serf_pp_dec_next(struct serf *serf, struct serf_pp_dec *d,
		      uint64_t now_us, const uint8_t *buf, size_t len);
/** Is the whole state consumed and merged? */
bool serf_pp_dec_done(const struct serf_pp_dec *d);

/* --- queries --- */

/** QueryParam. */
struct serf_query_param {
	const struct swim_str *filter_nodes;	/* names, may be NULL */
	uint32_t nb_filter_nodes;
	const struct serf_tag *filter_tags;	/* tag -> regex */
	uint32_t nb_filter_tags;
	bool request_ack;
	uint8_t relay_factor;
	uint64_t timeout_us;	/* 0: serf_query_default_timeout */
};

/** GossipInterval × QueryTimeoutMult × ceil(log10(N + 1)). */
uint64_t serf_query_default_timeout(const struct serf *serf);

/**
 * Start a query; acks, responses and the end arrive as SERF_EV_QUERY_ACK,
 * _RESPONSE and _DONE events carrying *handle.
 * @retval 0, -EMSGSIZE past query_size_limit, -EINVAL bad name/params.
 */
int serf_query(struct serf *serf, uint64_t now_us, const char *name,
	       size_t name_len, const uint8_t *payload, size_t payload_len,
	       const struct serf_query_param *param, uint64_t *handle);

/**
 * Respond to a SERF_EV_QUERY (its query_handle), once, before its deadline.
 * @retval 0, -ENOENT unknown handle, -EALREADY already answered,
 *         -ETIMEDOUT past the deadline, -EMSGSIZE too big.
 */
int serf_query_respond(struct serf *serf, uint64_t now_us, uint64_t handle,
		       const uint8_t *payload, size_t payload_len);

/* --- events out --- */

/** append only: indexes serf_event_kind_str. */
enum serf_event_kind {
	SERF_EV_MEMBER_JOIN,
	SERF_EV_MEMBER_LEAVE,
	SERF_EV_MEMBER_FAILED,
	SERF_EV_MEMBER_UPDATE,
	SERF_EV_MEMBER_REAP,
	SERF_EV_USER,		/* a user event */
	SERF_EV_QUERY,		/* a query to answer (serf_query_respond) */
	SERF_EV_QUERY_ACK,	/* an ack to a query we started */
	SERF_EV_QUERY_RESPONSE,	/* a response to a query we started */
	SERF_EV_QUERY_DONE,	/* a query we started passed its deadline */
	SERF_EV_COUNT,
};

/** "member-join" ... "user", "query", "query-ack", ... */
extern const char *const serf_event_kind_str[SERF_EV_COUNT];

/** One event; a self-contained copy (nothing points into the layer). */
struct serf_event {
	enum serf_event_kind kind;
	/* MEMBER_*: the member's name; USER, QUERY: the event/query name;
	 * QUERY_ACK, QUERY_RESPONSE: the responder. NUL-terminated. */
	char name[SWIM_NAME_MAX + 1];
	uint32_t name_len;
	/* MEMBER_*: the member as it is after the change. */
	struct swim_addr addr;
	enum serf_member_status status;
	uint8_t meta[SWIM_META_MAX];	/* its tags: serf_msg_decode_tags */
	uint32_t meta_len;
	uint8_t vsn[SWIM_VSN_LEN];
	uint32_t incarnation;
	/* USER, QUERY: Lamport time; USER: may coalesce. */
	uint64_t ltime;
	bool coalesce;
	/* QUERY: handle for serf_query_respond; QUERY_*: serf_query's. */
	uint64_t query_handle;
	uint64_t deadline_us;		/* QUERY: answer before this */
	bool has_payload;		/* false: nil payload */
	uint32_t payload_len;
	uint8_t payload[SERF_PAYLOAD_MAX];
};

/** Pop the oldest event. @retval false when there is none. */
bool serf_pop_event(struct serf *serf, struct serf_event *ev);
/**
 * Events waiting for serf_pop_event. The queue grows as needed (records
 * sized to content), so bursts (a merge, a mass reap) lose nothing.
 */
uint32_t serf_event_queue_len(const struct serf *serf);

/* --- member view --- */

/** A read-only view of one Serf member; valid until the next call. */
struct serf_member_info {
	struct swim_str name;
	struct swim_addr addr;
	const struct serf_tag *tags;	/* NUL-terminated key/value copies */
	uint32_t nb_tags;
	struct swim_str meta;		/* raw Meta */
	enum serf_member_status status;
	uint8_t vsn[SWIM_VSN_LEN];	/* PMin PMax PCur DMin DMax DCur */
	uint32_t incarnation;		/* memberlist incarnation */
	uint64_t status_ltime;		/* Lamport time of last intent */
	uint64_t leave_time_us;		/* when it failed or left; else 0 */
	const struct serf_coord *coord;	/* last known, or NULL */
	bool is_self;
};

typedef int (*serf_member_visit_f)(void *ctx,
				   const struct serf_member_info *m);
/** Visit every member, self included, any status; stops on non-zero. */
void serf_member_foreach(const struct serf *serf, serf_member_visit_f f,
			 void *ctx);
/** @retval 0 and *info, or -ENOENT. */
int serf_member_find(const struct serf *serf, const char *name, size_t len,
		     struct serf_member_info *info);
uint32_t serf_member_count(const struct serf *serf);

/** Our coordinate, or NULL when coordinates are disabled. */
const struct serf_coord *serf_coordinate(const struct serf *serf);
/** Our current tags. */
const struct serf_tag *serf_tags(const struct serf *serf, uint32_t *nb);

/** What `serf info` shows under "serf", plus counters. */
struct serf_stats {
	uint32_t members;		/* known members, any status */
	uint32_t failed;
	uint32_t left;
	uint64_t member_time;		/* member clock */
	uint64_t event_time;		/* event clock */
	uint64_t query_time;		/* query clock */
	uint64_t coordinate_resets;
	uint64_t msgs_in;		/* Serf messages handled */
	uint64_t msgs_bad;		/* malformed, dropped */
	uint64_t msgs_unknown;		/* unknown Serf type, dropped */
	uint64_t intents_stale;		/* intents ignored as old */
	uint64_t events_dropped;	/* event queue full */
	uint64_t queries_answered;	/* acks + responses we sent */
	uint64_t relays;		/* relay messages forwarded */
	uint64_t refutes;		/* leave intents about us refuted */
	uint32_t leaving;		/* members leaving (intent seen) */
};
void serf_get_stats(const struct serf *serf, struct serf_stats *st);

#endif /* SERF_H_INCLUDED */
