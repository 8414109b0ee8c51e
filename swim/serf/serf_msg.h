/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Serf's messages: bytes <-> structs, byte-exact with serf 0.9.4 on
 * go-msgpack 0.5.5 (shared/protocol/memberlist-wire.md §10).
 *
 * A Serf message is one type byte followed by a msgpack map. It travels as
 * a memberlist user message (the 0x08 prefix is the core's business, never
 * seen here), as the push/pull user state, inside a relay, or inside the
 * payload of a query response (conflict and key responses).
 *
 * Encoders mirror Go: map keys in ascending byte order, the str family for
 * strings and byte slices (never str8/bin), smallest integer encodings,
 * nil (0xc0) for a nil byte slice. They return the bytes written, or
 * SWIM_WIRE_E_NOSPACE when cap is too small.
 * Decoders are liberal (keys in any order, unknown keys skipped, any int
 * width, str or bin, nil anywhere) and strict about bounds: malformed input
 * gives a negative enum swim_wire_err and never an overread. Decoding is
 * zero-copy: slices point into the input buffer.
 *
 * Pure: no allocation, no I/O. Also home of the Lamport clock, the one
 * piece of arithmetic every Serf message carries.
 */
#ifndef SERF_MSG_H_INCLUDED
#define SERF_MSG_H_INCLUDED

#include "swim_msg.h"
#include "swim_wire.h"

/** Serf message types; append only — values are on the wire. */
enum serf_msg_type {
	SERF_MSG_LEAVE = 0,		/* messageLeave: leave intent */
	SERF_MSG_JOIN = 1,		/* messageJoin: join intent */
	SERF_MSG_PUSH_PULL = 2,		/* messagePushPull: user state */
	SERF_MSG_USER_EVENT = 3,	/* messageUserEvent */
	SERF_MSG_QUERY = 4,		/* messageQuery */
	SERF_MSG_QUERY_RESPONSE = 5,	/* messageQueryResponse */
	SERF_MSG_CONFLICT_RESPONSE = 6,	/* Member, in a response payload */
	SERF_MSG_KEY_REQUEST = 7,	/* keyRequest, in a query payload */
	SERF_MSG_KEY_RESPONSE = 8,	/* nodeKeyResponse, in a response */
	SERF_MSG_RELAY = 9,		/* relayHeader + inner message */
};

/** Query flags; values are on the wire. */
enum {
	SERF_QUERY_FLAG_ACK = 1u << 0,		/* ack requested / is an ack */
	SERF_QUERY_FLAG_NO_BROADCAST = 1u << 1,	/* do not re-gossip */
};

/** Query filter types; append only — values are on the wire. */
enum serf_filter_type {
	SERF_FILTER_NODE = 0,	/* msgpack array of node names */
	SERF_FILTER_TAG = 1,	/* msgpack map {Tag, Expr} */
};

/** The magic byte that starts Meta when it holds a msgpack tag map. */
#define SERF_TAG_MAGIC 0xff

/* --- Lamport clocks (serf/lamport.go) --- */

/** A Lamport clock; Serf keeps three (member, event, query). */
struct serf_clock {
	uint64_t time;		/* current value; starts at 1 in serf_new */
};

/** Witness v: the clock moves past it (v + 1) if it is not already. */
static inline void
serf_clock_witness(struct serf_clock *c, uint64_t v)
{
	if (v >= c->time)
		c->time = v + 1;
}

/** Advance the clock. @retval the new value (Go's Increment). */
static inline uint64_t
serf_clock_increment(struct serf_clock *c)
{
	return ++c->time;
}

/* --- messages --- */

/** messageJoin (1): LTime, Node. */
struct serf_msg_join {
	uint64_t ltime;		/* member clock */
	struct swim_str node;	/* the node that joined */
};

/** messageLeave (0): LTime, Node, Prune. */
struct serf_msg_leave {
	uint64_t ltime;		/* member clock */
	struct swim_str node;	/* the node that leaves */
	bool prune;		/* force-leave -prune: erase it */
};

/** messageUserEvent (3): CC, LTime, Name, Payload. */
struct serf_msg_user_event {
	uint64_t ltime;		/* event clock */
	struct swim_str name;	/* event name */
	struct swim_str payload;/* ptr NULL = nil */
	bool cc;		/* may be coalesced */
};

/** messageQuery (4), keys Addr..Timeout. */
struct serf_msg_query {
	uint64_t ltime;		/* query clock */
	uint32_t id;		/* random query id */
	struct swim_str addr;	/* querier's raw IP, for direct replies */
	uint16_t port;		/* querier's port */
	struct swim_str source_node;	/* querier's name */
	/*
	 * Filters: the msgpack value as it is on the wire, a nil or an
	 * array of byte strings (see serf_msg_filter_next). ptr NULL on
	 * encode writes nil.
	 */
	struct swim_str filters;
	struct swim_str filters_body;	/* decode: the entries, for _next */
	uint32_t nb_filters;		/* decode: number of filters */
	uint32_t flags;		/* SERF_QUERY_FLAG_* */
	uint8_t relay_factor;	/* extra relayed copies of each answer */
	int64_t timeout_ns;	/* answer window after receipt, Go ns */
	struct swim_str name;	/* query name; "_serf_" prefix internal */
	struct swim_str payload;/* ptr NULL = nil */
};

/** messageQueryResponse (5): Flags, From, ID, LTime, Payload. */
struct serf_msg_query_response {
	uint64_t ltime;		/* copied from the query */
	uint32_t id;		/* copied from the query */
	struct swim_str from;	/* responder's name */
	uint32_t flags;		/* SERF_QUERY_FLAG_ACK for an ack */
	struct swim_str payload;/* ptr NULL = nil */
};

/** relay (9): relayHeader {DestAddr {IP, Port, Zone}, DestName} + inner. */
struct serf_msg_relay {
	struct swim_str dest_ip;	/* raw IP, 4 or 16 bytes */
	uint16_t dest_port;		/* where to forward the inner message */
	struct swim_str dest_zone;	/* IPv6 zone, normally "" */
	struct swim_str dest_name;	/* destination node name */
	struct swim_str inner;		/* <serf type><map>, forwarded as is */
};

/** One user event of a push/pull event group. */
struct serf_msg_pp_event {
	struct swim_str name;
	struct swim_str payload;	/* ptr NULL = nil */
};

/** One slot of Serf's event buffer: the events seen at one LTime. */
struct serf_msg_pp_group {
	uint64_t ltime;
	/* an empty slot: nil on the wire */
	bool is_nil;
	const struct serf_msg_pp_event *events;	/* encode only */
	uint32_t nb_events;
	struct swim_str raw_events;		/* decode only: entries */
};

/** One StatusLTimes entry. */
struct serf_msg_pp_status {
	struct swim_str name;
	uint64_t ltime;
};

/**
 * messagePushPull (2). Encode from the arrays; decode fills the clocks,
 * the counts and the raw_* slices, walked with serf_msg_pp_*_next.
 */
struct serf_msg_push_pull {
	uint64_t ltime;		/* sender's member clock */
	uint64_t event_ltime;	/* sender's event clock */
	uint64_t query_ltime;	/* sender's query clock */
	const struct serf_msg_pp_status *status;	/* encode */
	uint32_t nb_status;
	const struct swim_str *left;			/* encode */
	uint32_t nb_left;
	const struct serf_msg_pp_group *groups;		/* encode */
	uint32_t nb_groups;
	struct swim_str raw_status;	/* decode: StatusLTimes entries */
	struct swim_str raw_left;	/* decode: LeftMembers entries */
	struct swim_str raw_events;	/* decode: Events entries */
};

/** A tag: both strings need not be NUL-terminated on input. */
struct serf_tag {
	const char *key;
	const char *value;
	uint32_t key_len;
	uint32_t value_len;
};

/** Serf's Member struct, the body of a conflict response. */
struct serf_msg_member {
	struct swim_str name;
	struct swim_str addr;		/* raw IP */
	uint16_t port;
	const struct serf_tag *tags;
	uint32_t nb_tags;
	/* Serf MemberStatus: 0 none .. 4 failed */
	uint32_t status;
	uint8_t vsn[SWIM_VSN_LEN];	/* PMin PMax PCur DMin DMax DCur */
};

/** nodeKeyResponse (8): Keys, Message, PrimaryKey, Result. */
struct serf_msg_key_response {
	const struct swim_str *keys;	/* base64 keys; NULL = nil */
	uint32_t nb_keys;
	struct swim_str message;
	struct swim_str primary_key;
	bool result;
};

/* --- encoders: @retval bytes written, or SWIM_WIRE_E_NOSPACE --- */

int serf_msg_encode_join(const struct serf_msg_join *m, uint8_t *out,
			 size_t cap);
int serf_msg_encode_leave(const struct serf_msg_leave *m, uint8_t *out,
			  size_t cap);
int serf_msg_encode_user_event(const struct serf_msg_user_event *m,
			       uint8_t *out, size_t cap);
int serf_msg_encode_query(const struct serf_msg_query *m, uint8_t *out,
			  size_t cap);
int serf_msg_encode_query_response(const struct serf_msg_query_response *m,
				   uint8_t *out, size_t cap);
int serf_msg_encode_push_pull(const struct serf_msg_push_pull *m,
			      uint8_t *out, size_t cap);
/** 09 + relay header + inner (already encoded, type byte first). */
int serf_msg_encode_relay(const struct serf_msg_relay *m, uint8_t *out,
			  size_t cap);
/** 06 + Member, or 06 c0 when m is NULL (unknown name). */
int serf_msg_encode_conflict(const struct serf_msg_member *m, uint8_t *out,
			     size_t cap);
int serf_msg_encode_key_response(const struct serf_msg_key_response *m,
				 uint8_t *out, size_t cap);
/** Meta: 0xff + msgpack map string -> string, tags in the given order. */
int serf_msg_encode_tags(const struct serf_tag *tags, uint32_t nb,
			 uint8_t *out, size_t cap);
/**
 * A query's Filters value: nil when there are no filters, else an array
 * of byte strings: 00 + [names] if nb_nodes > 0, then 01 + {Expr, Tag}
 * per tag filter (tag->key is the tag, tag->value the regex).
 */
int serf_msg_encode_filters(const struct swim_str *nodes, uint32_t nb_nodes,
			    const struct serf_tag *tag_filters,
			    uint32_t nb_tag_filters, uint8_t *out, size_t cap);

/* --- decoders: buf starts at the type byte; @retval 0 or < 0 --- */

/** The type byte, or SWIM_WIRE_E_EMPTY. */
int serf_msg_type(const uint8_t *buf, size_t len);
int serf_msg_decode_join(const uint8_t *buf, size_t len,
			 struct serf_msg_join *m);
int serf_msg_decode_leave(const uint8_t *buf, size_t len,
			  struct serf_msg_leave *m);
int serf_msg_decode_user_event(const uint8_t *buf, size_t len,
			       struct serf_msg_user_event *m);
int serf_msg_decode_query(const uint8_t *buf, size_t len,
			  struct serf_msg_query *m);
int serf_msg_decode_query_response(const uint8_t *buf, size_t len,
				   struct serf_msg_query_response *m);
/** Validates every nested value, so the _next walkers cannot fail. */
int serf_msg_decode_push_pull(const uint8_t *buf, size_t len,
			      struct serf_msg_push_pull *m);
int serf_msg_decode_relay(const uint8_t *buf, size_t len,
			  struct serf_msg_relay *m);
int serf_msg_decode_key_response(const uint8_t *buf, size_t len,
				 struct serf_msg_key_response *m,
				 struct swim_str *keys, uint32_t max_keys);

/**
 * Walkers over the entry slices the decoders fill (raw_status,
 * raw_left, raw_events, a group's raw_events, filters_body): *pos starts
 * at slice.ptr, end is slice.ptr + slice.len.
 * @retval 1 got one, 0 at the end, < 0 malformed.
 */
int serf_msg_pp_status_next(const uint8_t **pos, const uint8_t *end,
			    struct serf_msg_pp_status *st);
int serf_msg_pp_left_next(const uint8_t **pos, const uint8_t *end,
			  struct swim_str *name);
int serf_msg_pp_group_next(const uint8_t **pos, const uint8_t *end,
			   struct serf_msg_pp_group *g);
int serf_msg_pp_event_next(const uint8_t **pos, const uint8_t *end,
			   struct serf_msg_pp_event *ev);
/** One filter of a query's filters_body: <type byte><msgpack>. */
int serf_msg_filter_next(const uint8_t **pos, const uint8_t *end,
			 struct swim_str *filter);

/**
 * Decode Meta into tags. Meta that is empty or lacks the magic byte is
 * the legacy form {"role": <meta>}. Slices point into meta.
 * @retval number of tags (may exceed max: only max were stored), or < 0.
 */
int serf_msg_decode_tags(const uint8_t *meta, size_t len,
			 struct serf_tag *tags, uint32_t max);

/** Does a node filter body (after its type byte) list name? @retval 1/0/<0 */
int serf_msg_node_filter_has(const uint8_t *buf, size_t len,
			     const char *name, size_t name_len);
/** A tag filter body (after its type byte): {Expr, Tag}. @retval 0 or < 0 */
int serf_msg_decode_tag_filter(const uint8_t *buf, size_t len,
			       struct swim_str *tag, struct swim_str *expr);

#endif /* SERF_MSG_H_INCLUDED */
