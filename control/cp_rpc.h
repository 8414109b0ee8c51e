/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Serf's agent RPC ("IPC") server, so the unmodified `serf` CLI and our
 * `gossipctl` can drive gossipd (shared/protocol/serf-rpc.md).
 *
 * Runs on the control thread only and never blocks: all sockets are
 * non-blocking and driven through one epoll fd (cp_rpc_fd) that the control
 * loop polls or nests into its own epoll, calling cp_rpc_poll(rpc, 0) when it
 * is readable. This file owns no membership state: everything it reports or
 * changes goes through the struct cp_rpc_ops callback table, which control
 * fills in (wiring it to the SWIM core and the Serf layer).
 *
 * Limits: a client cap, a per-client input buffer cap (a request that does
 * not fit closes the connection) and a per-client output backlog cap (a
 * client that does not read its replies is dropped, never waited for).
 *
 * Extension (gossipd only): when a `members` / `members-filtered` request
 * body carries the extra key `Incarnation: true`, every Member record in the
 * reply gets a 12th key `Incarnation` (uint). The serf CLI never sends that
 * key, so it sees byte-for-byte the 11-key records a real agent sends.
 */
#ifndef CP_RPC_H_INCLUDED
#define CP_RPC_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cp_rpc;

/** Member status as Serf reports it. Index of cp_rpc_status_str. */
enum cp_rpc_status {
	CP_RPC_STATUS_NONE,
	CP_RPC_STATUS_ALIVE,
	CP_RPC_STATUS_LEAVING,
	CP_RPC_STATUS_LEFT,
	CP_RPC_STATUS_FAILED,
	CP_RPC_STATUS_COUNT,
};

/** "none", "alive", "leaving", "left", "failed": Serf's exact spelling. */
extern const char *const cp_rpc_status_str[CP_RPC_STATUS_COUNT];

/** One tag; both strings NUL-terminated, owned by whoever built the array. */
struct cp_rpc_kv {
	const char *key;	/* tag name */
	const char *value;	/* tag value, may be "" */
};

/**
 * One member as the ops table reports it. Every pointer only needs to live
 * for the duration of the visit callback: the server encodes it at once.
 */
struct cp_rpc_member {
	const char *name;		/* node name, NUL-terminated */
	uint8_t addr[16];		/* gossip IP, network byte order */
	uint8_t addr_len;		/* 4 (IPv4) or 16 (IPv6) */
	uint16_t port;			/* gossip port, host byte order */
	const struct cp_rpc_kv *tags;	/* nb_tags entries, may be NULL */
	uint32_t nb_tags;		/* number of tags */
	enum cp_rpc_status status;	/* Serf status */
	uint8_t protocol_min;		/* memberlist protocol range: 1 */
	uint8_t protocol_max;		/* 5 */
	uint8_t protocol_cur;		/* 2 */
	uint8_t delegate_min;		/* Serf protocol range: 2 */
	uint8_t delegate_max;		/* 5 */
	uint8_t delegate_cur;		/* 5 */
	uint32_t incarnation;		/* SWIM incarnation (extension only) */
};

/**
 * Called by ops->members once per member.
 * @retval 0 go on; non-zero stops the walk (ops->members should return it).
 */
typedef int (*cp_rpc_member_visit_f)(void *arg,
				     const struct cp_rpc_member *m);

/**
 * Called by ops->stats once per value; strings are copied at once. A NULL
 * key declares a section that may stay empty (event_handlers: {}).
 */
typedef void (*cp_rpc_stat_emit_f)(void *arg, const char *section,
				   const char *key, const char *value);

/** A `query` request (`serf query`, `serf reachability`): serf-rpc.md 7.3. */
struct cp_rpc_query {
	const char *name;			/* query name, NUL-terminated */
	const uint8_t *payload;			/* NULL: nil payload */
	size_t payload_len;			/* bytes at payload */
	const char *const *filter_nodes;	/* only these nodes, if any */
	uint32_t nb_filter_nodes;		/* count */
	const struct cp_rpc_kv *filter_tags;	/* tag -> regex, all must match */
	uint32_t nb_filter_tags;		/* count */
	bool request_ack;			/* ask for acks */
	uint8_t relay_factor;			/* 0..5 in Serf */
	uint64_t timeout_us;			/* 0: control's default */
};

/** Most Vivaldi dimensions a coordinate carries (Serf uses 8). */
#define CP_RPC_COORD_DIM_MAX 8

/** A network coordinate for `get-coordinate` (`serf rtt`). */
struct cp_rpc_coord {
	double vec[CP_RPC_COORD_DIM_MAX];	/* Euclidean part, seconds */
	uint32_t dim;				/* entries of vec used */
	double error;				/* confidence */
	double adjustment;			/* per-node offset, seconds */
	double height;				/* access-link part, seconds */
};

/**
 * Returned by ops->join and ops->leave when the result comes later through
 * cp_rpc_complete_join / cp_rpc_complete_leave (a join's TCP push/pull or a
 * graceful leave's broadcast wait must not block the control loop). The
 * client gets no reply until then; the server handles its other clients.
 */
#define CP_RPC_PENDING 1

/**
 * What the server asks of the control plane. All callbacks run on the
 * control thread, from inside cp_rpc_poll(). Any of them may be NULL: the
 * command then fails with an error text (members: an empty list).
 *
 * Unless said otherwise a callback returns 0 on success or a negative
 * -errno on failure, after writing the text the user should see into
 * err (at most errlen bytes with the NUL; err[0] is "" on entry). When err
 * is left empty the server uses strerror(-rc).
 */
struct cp_rpc_ops {
	/** Passed back as the first argument of every callback. */
	void *ctx;
	/** Visit every known member, this node included, any status. */
	int (*members)(void *ctx, cp_rpc_member_visit_f visit, void *arg);
	/**
	 * Optional: visit the member named name as it is now (members
	 * replies are streamed: a snapshot of names, each looked up as its
	 * record goes out). @retval visit's value, or -ENOENT.
	 */
	int (*member_find)(void *ctx, const char *name,
			   cp_rpc_member_visit_f visit, void *arg);
	/**
	 * Join through addrs ("host:port", or "host" for the default port).
	 * Set *nb_joined to the number of nodes contacted. May return
	 * CP_RPC_PENDING and finish later with cp_rpc_complete_join(req_id).
	 */
	int (*join)(void *ctx, uint64_t req_id, const char *const *addrs,
		    uint32_t nb_addrs, bool replay, uint32_t *nb_joined,
		    char *err, size_t errlen);
	/**
	 * Graceful leave. May return CP_RPC_PENDING and finish with
	 * cp_rpc_complete_leave(req_id). Whether the daemon then exits (the
	 * real agent does) is control's choice.
	 */
	int (*leave)(void *ctx, uint64_t req_id, char *err, size_t errlen);
	/** Mark node left (prune: forget it). Unknown nodes are not errors. */
	int (*force_leave)(void *ctx, const char *node, bool prune,
			   char *err, size_t errlen);
	/** Local tags: drop every key in del, then set every pair in set. */
	int (*tags)(void *ctx, const struct cp_rpc_kv *set, uint32_t nb_set,
		    const char *const *del, uint32_t nb_del,
		    char *err, size_t errlen);
	/**
	 * Emit the stats shown by `serf info` as (section, key, value)
	 * strings; sections as in serf-rpc.md: agent (name is required by
	 * `serf rtt`), runtime, serf, tags, event_handlers.
	 */
	int (*stats)(void *ctx, cp_rpc_stat_emit_f emit, void *arg);
	/** Broadcast a user event (`serf event`). */
	int (*user_event)(void *ctx, const char *name, const uint8_t *payload,
			  size_t payload_len, bool coalesce,
			  char *err, size_t errlen);
	/**
	 * Start a query (the "_serf_" prefix is refused before this is
	 * called). On 0, *handle names it: control then calls
	 * cp_rpc_query_ack / cp_rpc_query_response for it and finally
	 * cp_rpc_query_done exactly once -- never from inside this callback.
	 */
	int (*query)(void *ctx, const struct cp_rpc_query *q, uint64_t *handle,
		     char *err, size_t errlen);
	/**
	 * Answer a query that cp_rpc_publish_query delivered (its handle).
	 * -ENOENT, -EALREADY, -ETIMEDOUT and -EMSGSIZE with err left empty
	 * become the agent's texts ("No pending queries matching ID",
	 * "failed to respond to key query: response already sent", ...).
	 */
	int (*respond)(void *ctx, uint64_t handle, const uint8_t *payload,
		       size_t payload_len, char *err, size_t errlen);
	/**
	 * Last known coordinate of node (this node included).
	 * @retval 0 found; any error (-ENOENT) answers Ok:false.
	 */
	int (*coordinate)(void *ctx, const char *node, struct cp_rpc_coord *out);
};

/** Server configuration; start from cp_rpc_cfg_default(). */
struct cp_rpc_cfg {
	const char *bind;	/* "IPv4:port", "[IPv6]:port" or "host:port"
				 * (resolved once in cp_rpc_new); port 0 = any */
	const char *auth_key;	/* NULL or "" = no auth (as rpc_auth) */
	uint32_t max_clients;	/* connections beyond this are closed */
	uint32_t max_in_bytes;	/* per client: largest request buffered */
	uint32_t max_out_bytes;	/* per client: unsent reply backlog cap */
	uint32_t max_streams;	/* per client: open `stream` requests */
	struct cp_rpc_ops ops;	/* callbacks, copied by cp_rpc_new */
};

/** Defaults: 127.0.0.1:7373, no auth, 64 clients, 64 KiB in, 16 MiB out. */
void cp_rpc_cfg_default(struct cp_rpc_cfg *cfg);

/**
 * Bind and listen (non-blocking, SO_REUSEADDR).
 * @retval the server, or NULL with a one-line reason in err.
 */
struct cp_rpc *cp_rpc_new(const struct cp_rpc_cfg *cfg, char *err,
			  size_t errlen);

/** Close every client and the listener, free everything. NULL is a no-op. */
void cp_rpc_delete(struct cp_rpc *rpc);

/**
 * An epoll fd that is readable whenever cp_rpc_poll has work to do; add it
 * to the control loop's own epoll (EPOLLIN) or poll() it.
 */
int cp_rpc_fd(const struct cp_rpc *rpc);

/** The TCP port actually bound (useful with port 0). */
uint16_t cp_rpc_port(const struct cp_rpc *rpc);

/**
 * Accept, read, answer and flush whatever is ready, waiting at most
 * timeout_ms (0: never wait; the control loop passes 0).
 * @retval number of socket events handled (>= 0)
 * @retval -errno if epoll_wait failed (EINTR is reported as 0)
 */
int cp_rpc_poll(struct cp_rpc *rpc, int timeout_ms);

/**
 * Finish a join that returned CP_RPC_PENDING. err NULL or "" = success.
 * @retval 0 reply queued
 * @retval -ENOENT no such pending request (its client went away)
 */
int cp_rpc_complete_join(struct cp_rpc *rpc, uint64_t req_id,
			 uint32_t nb_joined, const char *err);

/** Finish a leave that returned CP_RPC_PENDING; as cp_rpc_complete_join. */
int cp_rpc_complete_leave(struct cp_rpc *rpc, uint64_t req_id,
			  const char *err);

/** Member event kinds for `stream` subscribers (Serf's event names). */
enum cp_rpc_event {
	CP_RPC_EVENT_MEMBER_JOIN,
	CP_RPC_EVENT_MEMBER_LEAVE,
	CP_RPC_EVENT_MEMBER_FAILED,
	CP_RPC_EVENT_MEMBER_UPDATE,
	CP_RPC_EVENT_MEMBER_REAP,
	CP_RPC_EVENT_COUNT,
};

/** "member-join", ...: Serf's exact spelling. */
extern const char *const cp_rpc_event_str[CP_RPC_EVENT_COUNT];

/**
 * Send a member event to every `stream` whose filter takes it. Clients
 * whose backlog would overflow are dropped. Cheap when nobody streams.
 */
void cp_rpc_publish_members(struct cp_rpc *rpc, enum cp_rpc_event ev,
			    const struct cp_rpc_member *members,
			    uint32_t nb_members);

/** Send a user event to every `stream` taking "user" / "user:<name>". */
void cp_rpc_publish_user_event(struct cp_rpc *rpc, uint64_t ltime,
			       const char *name, const uint8_t *payload,
			       size_t payload_len, bool coalesce);

/**
 * Send one log line (no trailing newline) to every `monitor`; the level is
 * taken from the first "[LEVEL]" token, lines without one always pass.
 */
void cp_rpc_publish_log(struct cp_rpc *rpc, const char *line);

/*
 * Query results for the client whose `query` got this handle: records
 * {From, Payload, Type:"ack"|"response"|"done"} after the ack. Unknown
 * handles (the client went away) are ignored. done ends the stream: the
 * serf CLI waits for it, so control must always send it.
 */
void cp_rpc_query_ack(struct cp_rpc *rpc, uint64_t handle, const char *from);
void cp_rpc_query_response(struct cp_rpc *rpc, uint64_t handle,
			   const char *from, const uint8_t *payload,
			   size_t payload_len);
void cp_rpc_query_done(struct cp_rpc *rpc, uint64_t handle);

/**
 * Deliver a query to answer to every `stream` taking "query" or
 * "query:<name>": {Event:"query", ID, LTime, Name, Payload}, ID being a
 * per-connection number that `respond` quotes; the server maps it back to
 * handle for ops->respond.
 */
void cp_rpc_publish_query(struct cp_rpc *rpc, uint64_t handle, uint64_t ltime,
			  const char *name, const uint8_t *payload,
			  size_t payload_len);

/** Counters for export; all monotonic except nb_clients. */
struct cp_rpc_counters {
	uint32_t nb_clients;		/* connections open now */
	uint64_t accepted;		/* connections accepted */
	uint64_t refused_full;		/* closed at once: max_clients hit */
	uint64_t requests;		/* request headers handled */
	uint64_t bad_input;		/* closed: malformed msgpack/header */
	uint64_t overflow;		/* closed: in or out buffer cap hit */
};

/** Copy the counters out. */
void cp_rpc_get_counters(const struct cp_rpc *rpc,
			 struct cp_rpc_counters *out);

#endif /* CP_RPC_H_INCLUDED */
