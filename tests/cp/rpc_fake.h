/* SPDX-License-Identifier: MIT */
/**
 * @file
 * A fake control plane behind cp_rpc: a few fixed members, a local tag set,
 * join/leave that can complete asynchronously, and a record of every call,
 * so tests and rpc_fake_server can drive the real RPC server without the
 * SWIM core. Single-threaded, like the control loop.
 */
#ifndef RPC_FAKE_H_INCLUDED
#define RPC_FAKE_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "cp_rpc.h"

#define RPC_FAKE_NODES 8
#define RPC_FAKE_TAGS 16

/** One fake member; node 0 is "this agent". */
struct rpc_fake_node {
	char name[64];				/* node name */
	struct cp_rpc_member m;			/* name/tags point in here */
	struct cp_rpc_kv kv[RPC_FAKE_TAGS];	/* tags, into k/v */
	char k[RPC_FAKE_TAGS][32];		/* tag keys */
	char v[RPC_FAKE_TAGS][64];		/* tag values */
};

/** The fake and what it has been asked. */
struct rpc_fake {
	struct cp_rpc *rpc;		/* set by the user after cp_rpc_new */
	struct rpc_fake_node node[RPC_FAKE_NODES];
	uint32_t nb_nodes;		/* members listed */
	uint64_t now_ms;		/* advanced by rpc_fake_tick */
	uint64_t join_id;		/* async join in flight, 0 = none */
	uint32_t join_num;		/* its Num */
	uint64_t join_due_ms;		/* when it completes */
	uint64_t leave_id;		/* async leave in flight, 0 = none */
	uint64_t leave_due_ms;		/* when it completes */
	bool has_left;			/* a leave completed */
	uint32_t nb_join_calls;		/* ops->join calls */
	bool last_replay;		/* Replay of the last join */
	char last_force[64];		/* Node of the last force-leave */
	bool last_prune;		/* its Prune */
	char last_event[64];		/* Name of the last user event */
	uint32_t last_event_len;	/* its payload length */
	bool last_coalesce;		/* its Coalesce */
	uint64_t ltime;			/* user event Lamport time */
	uint64_t query_handle;		/* query in flight, 0 = none */
	bool query_acked;		/* its acks/response were sent */
	bool query_ack;			/* RequestAck */
	bool query_echo;		/* name "echo": alpha responds */
	uint64_t query_ack_ms;		/* when acks go out */
	uint64_t query_done_ms;		/* when done goes out */
	char last_query[64];		/* Name of the last query */
	uint32_t last_query_nodes;	/* its FilterNodes count */
	uint32_t last_query_tags;	/* its FilterTags count */
	uint64_t last_query_timeout_us;	/* its Timeout */
	uint8_t last_relay;		/* its RelayFactor */
	uint64_t known_query;		/* handle respond accepts, 0 = none */
	uint32_t nb_responds;		/* successful responds */
	uint32_t respond_len;		/* payload length of the last one */
};

/**
 * The fixed member set: alpha (alive, 127.0.0.1:alpha_port, role=web,
 * incarnation 1), b-longer-name (failed, 127.0.0.2:7947, dc=east, inc 7),
 * c6 (left, [::1]:7948, inc 3), d (leaving, v4-mapped 127.0.0.4:7949).
 * capture: instead a single member exactly as serf-rpc.md 10.1 ("a").
 */
void rpc_fake_init(struct rpc_fake *f, uint16_t alpha_port, bool capture);

/** The ops table pointing at f. */
void rpc_fake_ops(struct rpc_fake *f, struct cp_rpc_ops *ops);

/**
 * Queries: acks from every alive member 10 ms after the start (when asked),
 * a response "pong" from alpha to a query named "echo", done at the
 * query's timeout (200 ms by default). respond accepts known_query once.
 */

/** Advance the fake clock; completes async join/leave/query when due. */
void rpc_fake_tick(struct rpc_fake *f, uint64_t now_ms);

#endif /* RPC_FAKE_H_INCLUDED */
