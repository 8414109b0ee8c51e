/* SPDX-License-Identifier: MIT */
/**
 * @file
 * @internal Private to cp_rpc.c (sockets, framing, gating) and
 * cp_rpc_cmd.c (one handler per Serf RPC command). Control thread only.
 */
#ifndef CP_RPC_INT_H_INCLUDED
#define CP_RPC_INT_H_INCLUDED

#include "cp_rpc.h"
#include "cp_rpc_msg.h"

/** Longest command name we keep ("members-filtered" is 16). */
#define CP_RPC_CMD_MAX 32
/** Longest `stream` Type filter we keep. */
#define CP_RPC_FILTER_MAX 256
/** Log lines kept for a new `monitor` (the agent replays its last 512). */
#define CP_RPC_LOG_RING 512
/** Longest log line kept in the ring (longer ones are cut). */
#define CP_RPC_LOG_LINE_MAX 1024
/** Serf's default UserEventSizeLimit (name + payload). */
#define CP_RPC_USER_EVENT_MAX 512

/** Queries one connection may run at once (the CLI runs one). */
#define CP_RPC_QUERIES_MAX 4
/** Delivered queries a connection can still `respond` to (oldest lost). */
#define CP_RPC_QUERY_IDS 64

/** A query this connection started: its records go out with seq. */
struct cp_rpc_qout {
	bool is_used;		/* slot taken */
	uint64_t handle;	/* ops->query's handle */
	uint64_t seq;		/* Seq of the query request */
};

/** A query delivered to this connection, by the ID the client sees. */
struct cp_rpc_qin {
	uint64_t id;		/* per-connection, from 1; 0 = empty slot */
	uint64_t handle;	/* cp_rpc_publish_query's handle */
};

/** One open `stream` request on a connection. */
struct cp_rpc_stream {
	uint64_t seq;			/* Seq of the stream request */
	char filter[CP_RPC_FILTER_MAX];	/* Type, validated, "" = "*" */
};

/** What an async request waits for. */
enum cp_rpc_pend {
	CP_RPC_PEND_NONE,
	CP_RPC_PEND_JOIN,
	CP_RPC_PEND_LEAVE,
	CP_RPC_PEND_MEMBERS,	/* a members reply still going out */
	CP_RPC_PEND_KEYS,	/* a key command's query (cp_rpc_keys.c) */
};

/** One RPC connection. Lives in rpc->clients until reaped. */
struct cp_rpc_client {
	int fd;				/* non-blocking TCP socket */
	uint32_t events;		/* epoll events registered now */
	bool is_dead;			/* close at the next reap */
	bool is_closing;		/* close once out is flushed */
	bool has_handshake;		/* a handshake Version 1 succeeded */
	bool has_auth;			/* auth succeeded (or none needed) */
	bool has_hdr;			/* header read, body still expected */
	bool skip_body;			/* discard the next value */
	bool is_eof;			/* peer closed its side */
	bool is_busy;			/* a handler of ours is running */
	char cmd[CP_RPC_CMD_MAX];	/* command of the current header */
	uint64_t seq;			/* Seq of the current header */
	char *in;			/* max_in_bytes of unparsed input */
	uint32_t in_len;		/* bytes in in */
	struct cp_rpc_buf out;		/* replies not yet written */
	enum cp_rpc_pend pend;		/* async request in flight */
	uint64_t pend_id;		/* its req_id given to ops */
	uint64_t pend_seq;		/* its Seq, for the late reply */
	bool has_monitor;		/* a `monitor` is open */
	uint64_t monitor_seq;		/* its Seq */
	unsigned monitor_level;		/* index in cp_rpc_log_levels */
	struct cp_rpc_stream *streams;	/* max_streams slots */
	uint32_t nb_streams;		/* used slots */
	struct cp_rpc_qout qout[CP_RPC_QUERIES_MAX];	/* queries started */
	struct cp_rpc_qin qin[CP_RPC_QUERY_IDS];	/* ring, delivered */
	uint32_t qin_next;		/* ring slot for the next one */
	uint64_t next_query_id;		/* last ID given out */
	struct cp_rpc_mstream *mstream;	/* members reply going out; NULL */
	struct cp_rpc_keyop *keyop;	/* key command waiting; NULL: none */
};

/** The server. */
struct cp_rpc {
	struct cp_rpc_cfg cfg;		/* copy; auth_key points at auth */
	char *auth;			/* copy of cfg.auth_key, "" if none */
	int epfd;			/* epoll over lfd and clients */
	int lfd;			/* listening socket */
	uint16_t port;			/* bound port */
	struct cp_rpc_client **clients;	/* max_clients slots, NULL = free */
	uint64_t next_req_id;		/* for async ops, starts at 1 */
	struct cp_rpc_buf scratch;	/* body staging (members, stats) */
	struct cp_rpc_counters cnt;	/* exported counters */
	bool in_poll;			/* reap is deferred to poll's end */
	int spare_fd;			/* /dev/null, given up on EMFILE */
	char **log_ring;		/* CP_RPC_LOG_RING lines, heap or NULL */
	uint32_t log_next;		/* slot the next line goes to */
};

/** Log levels in Serf order; monitor filters lines below its level. */
extern const char *const cp_rpc_log_levels[5];

/** A command handler; body is NULL for commands without one. */
typedef int (*cp_rpc_cmd_f)(struct cp_rpc *rpc, struct cp_rpc_client *c,
			    const char *body, const char *end);

/** One row of the command table. */
struct cp_rpc_cmd {
	const char *name;	/* Serf command name */
	bool has_body;		/* a request body value follows the header */
	cp_rpc_cmd_f fn;	/* handler */
};

/** Look a command up by name; NULL if Serf has no such command. */
const struct cp_rpc_cmd *cp_rpc_cmd_find(const char *name);

/** Queue a bodiless reply header for the current request. */
void cp_rpc_reply(struct cp_rpc_client *c, uint64_t seq, const char *err);

/** Mark a client for closing at the next reap. */
void cp_rpc_client_kill(struct cp_rpc *rpc, struct cp_rpc_client *c);

/** Reap dead clients now unless cp_rpc_poll is running (it reaps last). */
void cp_rpc_reap_if_idle(struct cp_rpc *rpc);

/** Try to write c->out now and (re)arm epoll; drops the client on error. */
void cp_rpc_client_flush(struct cp_rpc *rpc, struct cp_rpc_client *c);

/** A str/bin slice of a request, not NUL-terminated. */
struct cp_rpc_sv {
	const char *p;	/* NULL for nil or absent */
	uint32_t len;	/* bytes */
};

/** Heap copy of a slice, NUL-terminated; NULL if it holds a NUL or ENOMEM. */
char *cp_rpc_sv_dup(struct cp_rpc_sv sv);

/** Field kinds of a request body map. */
enum cp_rpc_ft {
	CP_RPC_FT_STR,	/* struct cp_rpc_sv */
	CP_RPC_FT_BOOL,	/* bool */
	CP_RPC_FT_UINT,	/* uint64_t, bounded by max */
	CP_RPC_FT_RAW,	/* const char *: the value, walked later */
};

/** One expected key of a request body. */
struct cp_rpc_field {
	const char *key;	/* Go field name, case-sensitive */
	enum cp_rpc_ft type;	/* how to decode it */
	void *out;		/* where to store it (see enum cp_rpc_ft) */
	uint64_t max;		/* CP_RPC_FT_UINT: largest value accepted */
};

/**
 * Decode a body map into fields: unknown keys skipped, missing ones left
 * as they are. @retval 0, -EINVAL (type), -ERANGE (int too big/negative).
 */
int cp_rpc_body_decode(const char *p, const char *end,
		       const struct cp_rpc_field *f, unsigned nb_f);

/** A list of NUL-terminated strings decoded from a request. */
struct cp_rpc_strv {
	char **v;	/* n strings, heap */
	uint32_t n;	/* count */
};

/**
 * An array of strings (pairs false) or a map of string to string (pairs
 * true: k0 v0 k1 v1 ...); p NULL (absent) or nil gives an empty list.
 * @retval 0, -EINVAL (bad type, NUL inside, too long), -ENOMEM.
 */
int cp_rpc_strv_decode(const char *p, const char *end, bool pairs,
		       struct cp_rpc_strv *out);
void cp_rpc_strv_free(struct cp_rpc_strv *sv);

/** Encode one 11-key Member record (stream records reuse it). */
void cp_rpc_encode_member(struct cp_rpc_buf *b, const struct cp_rpc_member *m);

/* Handlers that live in cp_rpc_stream.c. */
int cp_rpc_cmd_stream(struct cp_rpc *rpc, struct cp_rpc_client *c,
		      const char *body, const char *end);
int cp_rpc_cmd_monitor(struct cp_rpc *rpc, struct cp_rpc_client *c,
		       const char *body, const char *end);
int cp_rpc_cmd_stop(struct cp_rpc *rpc, struct cp_rpc_client *c,
		    const char *body, const char *end);
int cp_rpc_cmd_query(struct cp_rpc *rpc, struct cp_rpc_client *c,
		     const char *body, const char *end);
int cp_rpc_cmd_respond(struct cp_rpc *rpc, struct cp_rpc_client *c,
		       const char *body, const char *end);

/* cp_rpc_keys.c: install-key, use-key, remove-key, list-keys. */
struct cp_rpc_keyop;
int cp_rpc_cmd_keys(struct cp_rpc *rpc, struct cp_rpc_client *c,
		    const char *body, const char *end);
/**
 * A query record for a key command's query: tallied, and the reply sent
 * once all members answered or at "done".
 * @retval true when handle belongs to a key command (consumed).
 */
bool cp_rpc_keys_record(struct cp_rpc *rpc, uint64_t handle,
			const char *type, const char *from,
			const uint8_t *payload, size_t len);
/** Free c's key command state (the client goes away). */
void cp_rpc_keyop_free(struct cp_rpc_client *c);

/** The client whose async request (of kind) has this id, or NULL. */
struct cp_rpc_client *cp_rpc_find_pending(struct cp_rpc *rpc,
					  uint64_t req_id,
					  enum cp_rpc_pend kind);
/** After a late reply: send it, go on with buffered requests. */
void cp_rpc_resume(struct cp_rpc *rpc, struct cp_rpc_client *c);

/* cp_rpc_members.c: members, members-filtered, streamed. */
struct cp_rpc_mstream;
int cp_rpc_cmd_members(struct cp_rpc *rpc, struct cp_rpc_client *c,
		       const char *body, const char *end);
int cp_rpc_cmd_members_filtered(struct cp_rpc *rpc, struct cp_rpc_client *c,
				const char *body, const char *end);
/** Add the next slice of a members reply once c->out runs low. */
void cp_rpc_members_more(struct cp_rpc *rpc, struct cp_rpc_client *c);
/** Free c's members reply state (the client goes away). */
void cp_rpc_members_free(struct cp_rpc_client *c);

/** Replay the log ring to a monitor that has just been acked. */
void cp_rpc_log_replay(struct cp_rpc *rpc, struct cp_rpc_client *c);

/** Does a validated stream filter take this event? name: user event. */
bool cp_rpc_filter_takes(const char *filter, const char *kind,
			 const char *name);

#endif /* CP_RPC_INT_H_INCLUDED */
