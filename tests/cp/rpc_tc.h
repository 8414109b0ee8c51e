/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Test client for cp_rpc: an in-process server over the fake control plane
 * plus raw loopback client sockets, driven from one thread. "Waiting" pumps
 * the server (cp_rpc_poll) and advances the fake clock by a fixed 5 ms per
 * round, so async completions happen after a bounded number of rounds.
 */
#ifndef RPC_TC_H_INCLUDED
#define RPC_TC_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cp_rpc.h"
#include "cp_rpc_msg.h"
#include "rpc_fake.h"

/** The server side of a test. */
struct rpc_tc_env {
	struct rpc_fake f;	/* fake control plane; f.rpc is the server */
	uint64_t now_ms;	/* fake clock */
};

/** A raw client connection. */
struct rpc_tc {
	int fd;			/* non-blocking socket */
	char *in;		/* received bytes not yet consumed */
	size_t len;		/* bytes in in */
	uint64_t seq;		/* last Seq sent through rpc_tc_send */
	bool is_eof;		/* the server closed */
};

/** Start a server on 127.0.0.1:0; cfg NULL means the defaults. */
void rpc_tc_env_start(struct rpc_tc_env *e, const struct cp_rpc_cfg *cfg,
		      bool capture);
void rpc_tc_env_stop(struct rpc_tc_env *e);

/**
 * The usual suite setup: a server with the defaults, one client connected
 * and through the handshake.
 */
void rpc_tc_open(struct rpc_tc_env *e, struct rpc_tc *c);
/** Its teardown: close the client, stop the server. */
void rpc_tc_shut(struct rpc_tc_env *e, struct rpc_tc *c);

/** Connect (the server accepts on the next pump). */
void rpc_tc_connect(struct rpc_tc_env *e, struct rpc_tc *c);
void rpc_tc_close(struct rpc_tc *c);

/** Send bytes as they are. */
void rpc_tc_send_raw(struct rpc_tc *c, const void *p, size_t len);
/** Send header {Command, Seq = ++seq} and the body if not NULL. */
void rpc_tc_send(struct rpc_tc *c, const char *cmd,
		 const struct cp_rpc_buf *body);

/** Send cmd with the one-entry body {key: val}. */
void rpc_tc_send_str(struct rpc_tc *c, const char *cmd, const char *key,
		     const char *val);
/** Send cmd with the one-entry body {key: v}. */
void rpc_tc_send_uint(struct rpc_tc *c, const char *cmd, const char *key,
		      uint64_t v);

/** Pump for rounds rounds (5 fake ms each), reading the client socket. */
void rpc_tc_pump(struct rpc_tc_env *e, struct rpc_tc *c, int rounds);

/**
 * Wait up to 400 rounds for one complete value at c->in.
 * @retval 0 (*len set), -ETIMEDOUT, -ECONNRESET (closed without one)
 */
int rpc_tc_value(struct rpc_tc_env *e, struct rpc_tc *c, size_t *len);

/** Drop n bytes from the front of c->in. */
void rpc_tc_consume(struct rpc_tc *c, size_t n);

/**
 * Read and consume one response header.
 * @retval 0 with *seq and err filled, or rpc_tc_value's error.
 */
int rpc_tc_header(struct rpc_tc_env *e, struct rpc_tc *c, uint64_t *seq,
		  char *err, size_t errlen);

/** Read one response header; assert its Seq is seq and its Error want. */
void rpc_tc_expect(struct rpc_tc_env *e, struct rpc_tc *c, uint64_t seq,
		   const char *want);

/** True if the server closed the connection with nothing left unread. */
bool rpc_tc_closed(struct rpc_tc_env *e, struct rpc_tc *c);

/** handshake Version 1 (Seq 1) and check the reply is "". */
void rpc_tc_handshake(struct rpc_tc_env *e, struct rpc_tc *c);

/** A member as decoded from a reply, for assertions. */
struct rpc_tc_member {
	char name[64];		/* Name */
	char status[16];	/* Status */
	uint8_t addr[16];	/* Addr bytes */
	uint32_t addr_len;	/* their count */
	uint64_t port;		/* Port */
	uint32_t nb_tags;	/* Tags entries */
	uint32_t nb_keys;	/* keys in the record (11, or 12) */
	bool has_inc;		/* Incarnation present */
	uint64_t inc;		/* its value */
};

/**
 * Decode a {Members:[...]} body of len bytes at c->in (not consumed).
 * @retval number of members (<= max), or -1 if malformed.
 */
int rpc_tc_members(const struct rpc_tc *c, size_t len,
		   struct rpc_tc_member *out, int max);

#endif /* RPC_TC_H_INCLUDED */
