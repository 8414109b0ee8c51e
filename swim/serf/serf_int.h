/* SPDX-License-Identifier: MIT */
/**
 * @file
 * @internal
 * The Serf layer's state, shared by serf.c (members, intents, events,
 * push/pull) and serf_query.c (queries, relays). Not part of the API:
 * only those two files and the unit tests include it.
 */
#ifndef SERF_INT_H_INCLUDED
#define SERF_INT_H_INCLUDED

#include "serf.h"
#include "serf_table.h"
#include "swim_index.h"
#include "swim_slab.h"

/** Intents about unknown names kept at most (the oldest go first). */
#define SERF_INTENTS_MAX 4096
/** Queries awaiting serf_query_respond kept at most (soonest due go). */
#define SERF_INQ_MAX 1024
/** Room for a member's tag strings, NUL-terminated, legacy role included. */
#define SERF_TAG_STRS (SWIM_META_MAX + 2 * SERF_TAGS_MAX + 8)

/** A name held in place (names are at most SWIM_NAME_MAX bytes). */
struct serf_name {
	char str[SWIM_NAME_MAX + 1];	/* NUL-terminated */
	uint32_t len;
};

/** Decoded tags with their own copies of the strings. */
struct serf_tagset {
	struct serf_tag tags[SERF_TAGS_MAX];	/* point into strs */
	uint32_t nb;
	char strs[SERF_TAG_STRS];		/* key\0value\0... */
};

/**
 * nodeIntent: an intent about a node we do not know yet. Found by name
 * through serf->intent_index; kept in a list oldest-stored first, so
 * expiry and eviction take from the head.
 */
struct serf_intent {
	struct serf_intent *prev;
	struct serf_intent *next;
	uint64_t ltime;
	uint64_t wall_us;		/* when stored, for expiry */
	uint8_t type;			/* SERF_MSG_JOIN or SERF_MSG_LEAVE */
	uint8_t name_len;
	char name[];			/* name_len bytes + NUL */
};

/** One user event remembered for dedupe and push/pull. */
struct serf_ev_rec {
	uint8_t *data;			/* malloc: name then payload */
	uint32_t name_len;
	uint32_t payload_len;
	bool payload_nil;
};

/** userEvents: a slot of the event buffer (LTime % size). */
struct serf_ev_slot {
	uint64_t ltime;
	bool is_used;
	struct serf_ev_rec *recs;	/* malloc */
	uint32_t nb;
	uint32_t cap;
};

/** queries: a slot of the query buffer (LTime % size). */
struct serf_q_slot {
	uint64_t ltime;
	bool is_used;
	uint32_t *ids;			/* malloc */
	uint32_t nb;
	uint32_t cap;
};

/** A query delivered to control, awaiting serf_query_respond. */
struct serf_inq {
	uint64_t handle;
	uint64_t ltime;
	uint32_t id;
	struct swim_addr to;		/* the querier's Addr:Port */
	struct serf_name source;	/* the querier's name (relays) */
	uint8_t relay_factor;
	uint64_t deadline_us;
	bool is_answered;
};

/** QueryResponse: a query we started. */
struct serf_outq {
	uint64_t handle;
	uint64_t ltime;
	uint32_t id;
	uint64_t deadline_us;
	bool request_ack;
	struct serf_name *acks;		/* malloc: who acked */
	uint32_t nb_acks;
	struct serf_name *resps;	/* malloc: who responded */
	uint32_t nb_resps;
};

struct serf {
	struct serf_cfg cfg;		/* copy; cfg.tags points at self_tags */
	struct swim *swim;		/* the core, not owned */
	struct serf_name self;
	struct serf_tagset self_tags;
	enum serf_state state;

	struct serf_clock clock;	/* member clock */
	struct serf_clock event_clock;
	struct serf_clock query_clock;
	uint64_t event_min_time;	/* events below are ignored */
	uint64_t query_min_time;

	struct swim_slab slab;		/* serf_member records */
	struct swim_index index;	/* name -> serf_member, any status */
	uint32_t nb_status[SERF_STATUS_COUNT];
	struct serf_member *self_member;

	struct serf_due *due;		/* min-heap by at: reaps, prunes */
	uint32_t nb_due;
	uint32_t cap_due;

	struct swim_index intent_index;	/* name -> serf_intent */
	struct serf_intent *intent_head;	/* oldest stored */
	struct serf_intent *intent_tail;
	uint32_t nb_intents;
	struct serf_tagset *tag_scratch;	/* member views decode here */
	uint8_t self_meta[SWIM_META_MAX];	/* our tags, encoded */
	uint32_t self_meta_len;

	struct serf_ev_slot *ev_slots;	/* cfg.event_buffer slots */
	struct serf_q_slot *q_slots;	/* cfg.query_buffer slots */

	struct serf_inq *inq;		/* malloc */
	uint32_t nb_inq;
	uint32_t cap_inq;
	struct serf_outq *outq;		/* malloc */
	uint32_t nb_outq;
	uint32_t cap_outq;
	uint64_t next_handle;		/* query handles, from 1 */

	struct serf_evq evq;		/* events for serf_pop_event */
	struct serf_event *ev_pending;	/* filled by callers, then queued */
	bool has_pending;

	/* Streamed push/pulls (serf_pp_enc.c): encoders running (one bit
	 * each) and, while any runs, no member is erased; slots released
	 * with marks left on members (cleared by their next encoder). */
	uint8_t pp_enc_busy;
	uint8_t pp_enc_dirty;
	uint16_t pp_dec_gen;		/* last decoder generation */

	struct serf_coord_client coord;
	uint64_t rand_state;		/* xorshift64* */
	uint64_t next_reap_us;
	uint64_t next_reconnect_us;
	struct serf_stats stats;
};

/* serf.c */
bool serf_name_set(struct serf_name *n, const void *ptr, size_t len);
bool serf_name_eq(const struct serf_name *n, const void *ptr, size_t len);

/* serf_member.c */
int serf_intents_init(struct serf *serf);
void serf_intents_free(struct serf *serf);
int serf_tagset_set(struct serf_tagset *ts, const struct serf_tag *tags,
		    uint32_t nb);
/** Copy a tagset; its tag pointers are rebased onto dst's strings. */
void serf_tagset_copy(struct serf_tagset *dst, const struct serf_tagset *src);
/** The core's record an event is about (looked up when not given). */
const struct swim_member *serf_node_of(const struct serf *serf,
				       const struct swim_member_info *info);
/** Queue a member event describing m as it is now. */
void serf_member_event(struct serf *serf, enum serf_event_kind kind,
		       const struct serf_member *m);
void serf_intents_reap(struct serf *serf, uint64_t now_us);
void serf_node_join(struct serf *serf, const struct swim_member_info *info);
void serf_node_leave(struct serf *serf, uint64_t now_us,
		     const struct swim_member_info *info);
void serf_node_update(struct serf *serf, const struct swim_member_info *info);
/** broadcastJoin: our join intent at ltime, applied and gossiped. */
void serf_broadcast_join(struct serf *serf, uint64_t now_us, uint64_t ltime);

/* serf.c, used by serf_query.c */
uint64_t serf_rand(struct serf *serf);
struct serf_member *serf_member_get(const struct serf *serf,
				    const uint8_t *name, size_t len);
/** The next event to fill, zeroed; queued at the next event or pop. */
struct serf_event *serf_event_next(struct serf *serf,
				   enum serf_event_kind kind);
/** Take back the event serf_event_next just queued (counted dropped). */
void serf_event_drop_last(struct serf *serf);
/** Copy a name slice into an event; false if it is too long. */
bool serf_event_set_name(struct serf_event *ev, const struct swim_str *s);
/** Copy a payload into an event; false if it is too long. */
bool serf_event_set_payload(struct serf_event *ev, const struct swim_str *s);
/** Raw IP bytes + port into an address; false unless 4 or 16 bytes. */
bool serf_addr_from(struct swim_addr *a, const struct swim_str *ip,
		    uint16_t port);
/** The slot array growth helper: ensure room for one more entry. */
int serf_grow(void **arr, uint32_t *cap, uint32_t nb, size_t size);

/** Queue a Serf message for gossip (ignores encode errors, len <= 0). */
void serf_broadcast(struct serf *serf, const uint8_t *buf, int len);
/** handleNodeJoinIntent / handleNodeLeaveIntent. @retval re-gossip. */
bool serf_intent_join(struct serf *serf, uint64_t now_us,
		      const struct swim_str *node, uint64_t ltime);
bool serf_intent_leave(struct serf *serf, uint64_t now_us,
		       const struct swim_str *node, uint64_t ltime,
		       bool do_prune);

/* serf_state.c, used by serf.c */
/** handleUserEvent. @retval true if new (re-gossip). */
bool serf_user_event_handle(struct serf *serf,
			    const struct serf_msg_user_event *m);
/** Free every slot of the event buffer. */
void serf_ev_slots_free(struct serf *serf);

/* serf_query.c, used by serf.c */
/** A query (type 4). @retval true to re-gossip it. */
bool serf_query_handle(struct serf *serf, uint64_t now_us,
		       const struct serf_msg_query *q);
void serf_query_handle_response(struct serf *serf, uint64_t now_us,
				const struct serf_msg_query_response *r);
/** Forward a relay's inner message to its destination. */
int serf_relay_handle(struct serf *serf, const uint8_t *buf, size_t len);
/** Expire answered/overdue inbound and finished outbound queries. */
void serf_query_tick(struct serf *serf, uint64_t now_us);
uint64_t serf_query_next_deadline(const struct serf *serf);
void serf_query_free(struct serf *serf);

#endif /* SERF_INT_H_INCLUDED */
