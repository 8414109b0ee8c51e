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

/** Advance the fake clock; completes async join/leave that are due. */
void rpc_fake_tick(struct rpc_fake *f, uint64_t now_ms);

#endif /* RPC_FAKE_H_INCLUDED */
