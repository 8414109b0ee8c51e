/**
 * @file
 * Decoded memberlist messages: the contract between the wire codec
 * (swim_wire.c), the protocol core (swim.c), the dataplane and control.
 *
 * Decoding is zero-copy: every string or byte field is a struct swim_str
 * slice pointing into the buffer that was decoded, so a decoded message
 * lives exactly as long as that buffer. Nothing here allocates.
 */
#ifndef SWIM_MSG_H_INCLUDED
#define SWIM_MSG_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Longest node name we accept (memberlist has no limit; serf's are short). */
#define SWIM_NAME_MAX 128
/** memberlist's MetaMaxSize. */
#define SWIM_META_MAX 512
/** memberlist's UDPBufferSize: the budget of one outgoing UDP packet. */
#define SWIM_UDP_BUDGET 1400
/** Largest UDP datagram we read (memberlist's receive buffer). */
#define SWIM_UDP_MAX 65536
/** Vsn that a serf 0.9.4 agent advertises: PMin PMax PCur DMin DMax DCur. */
#define SWIM_VSN_LEN 6
/*
 * Longest Vsn we accept: serf's 6 bytes, then capability bytes (gossipd
 * sends a 7th, swim_dsync.h). memberlist reads only Vsn[0..5].
 */
#define SWIM_VSN_WIRE_MAX 16
#define swim_vsn_len_ok(len) \
	((len) == 0 || ((len) >= SWIM_VSN_LEN && (len) <= SWIM_VSN_WIRE_MAX))

/** A byte slice into a decoded buffer. ptr is NULL for msgpack nil. */
struct swim_str {
	const uint8_t *ptr;
	uint32_t len;
};

/** A peer's address: raw IPv4 (4 bytes) or IPv6 (16 bytes) and a port. */
struct swim_addr {
	uint8_t ip[16];
	uint8_t ip_len;		/* 4 or 16; 0 means unset */
	uint16_t port;		/* host byte order */
};

/** memberlist message type codes; append only — values are on the wire. */
enum swim_msg_type {
	SWIM_MSG_PING = 0,
	SWIM_MSG_INDIRECT_PING = 1,
	SWIM_MSG_ACK = 2,
	SWIM_MSG_SUSPECT = 3,
	SWIM_MSG_ALIVE = 4,
	SWIM_MSG_DEAD = 5,
	SWIM_MSG_PUSH_PULL = 6,
	SWIM_MSG_COMPOUND = 7,
	SWIM_MSG_USER = 8,
	SWIM_MSG_COMPRESS = 9,
	SWIM_MSG_ENCRYPT = 10,
	SWIM_MSG_NACK = 11,
	SWIM_MSG_HAS_CRC = 12,
	SWIM_MSG_ERR = 13,
	SWIM_MSG_HAS_LABEL = 244,
};

/** Member state as push/pull carries it; append only — values are on the wire. */
enum swim_status {
	SWIM_STATUS_ALIVE = 0,
	SWIM_STATUS_SUSPECT = 1,
	SWIM_STATUS_DEAD = 2,
	SWIM_STATUS_LEFT = 3,
	SWIM_STATUS_COUNT,
};

extern const char *const swim_status_str[SWIM_STATUS_COUNT];

/** ping (0). Source fields are omitempty on the wire. */
struct swim_ping {
	uint32_t seq_no;
	struct swim_str node;		/* target name; empty: any */
	struct swim_str source_addr;	/* raw IP bytes */
	struct swim_str source_node;
	uint16_t source_port;
};

/** indirectPingReq (1). */
struct swim_indirect_ping {
	uint32_t seq_no;
	struct swim_str target;		/* raw IP bytes of the node to probe */
	uint16_t port;
	struct swim_str node;
	bool nack;
	struct swim_str source_addr;
	struct swim_str source_node;
	uint16_t source_port;
};

/** ackResp (2). payload.ptr == NULL encodes as msgpack nil. */
struct swim_ack {
	uint32_t seq_no;
	struct swim_str payload;
};

/** nackResp (11). */
struct swim_nack {
	uint32_t seq_no;
};

/** suspect (3) and dead (5) share this shape. dead with from == node is a leave. */
struct swim_accuse {
	uint32_t incarnation;
	struct swim_str node;
	struct swim_str from;
};

/** alive (4). */
struct swim_alive {
	uint32_t incarnation;
	struct swim_str node;
	struct swim_str addr;		/* raw IP bytes */
	uint16_t port;
	struct swim_str meta;
	struct swim_str vsn;		/* 0 or exactly SWIM_VSN_LEN bytes */
};

/** user (8) on UDP: raw bytes to the end of the part. */
struct swim_user {
	struct swim_str data;
};

/** errResp (13), on streams only. */
struct swim_err {
	struct swim_str error;
};

/** One decoded memberlist message. */
struct swim_msg {
	enum swim_msg_type type;
	union {
		struct swim_ping ping;
		struct swim_indirect_ping indirect_ping;
		struct swim_ack ack;
		struct swim_nack nack;
		struct swim_accuse suspect;
		struct swim_alive alive;
		struct swim_accuse dead;
		struct swim_user user;
		struct swim_err err;
	};
};

/** pushPullHeader, the first map of a push/pull stream. */
struct swim_push_pull_header {
	bool join;
	uint32_t nb_nodes;
	uint32_t user_state_len;
};

/** pushNodeState: one member in a push/pull. */
struct swim_push_node {
	struct swim_str name;
	struct swim_str addr;
	uint16_t port;
	uint32_t incarnation;
	enum swim_status state;
	struct swim_str meta;
	struct swim_str vsn;
};

#endif /* SWIM_MSG_H_INCLUDED */
