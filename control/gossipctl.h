/* SPDX-License-Identifier: MIT */
/**
 * @file
 * @internal Shared by gossipctl.c (connection, requests, simple commands)
 * and gossipctl_show.c (members and info output). Not a library API.
 */
#ifndef GOSSIPCTL_H_INCLUDED
#define GOSSIPCTL_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cp_rpc_msg.h"

#define CTL_EXIT_RPC 1		/* RPC or connection error */
#define CTL_EXIT_USAGE 2	/* bad command line */
/** Largest reply we accept: no cap of our own (a members list of any
 * pool; the agent's reply is as big as its pool). */
#define CTL_IN_MAX (SIZE_MAX / 4)
/** Largest request we build. */
#define CTL_OUT_MAX (1u << 20)

/** One RPC connection. */
struct ctl_conn {
	int fd;			/* blocking TCP socket with timeouts */
	uint64_t seq;		/* last Seq sent */
	char *in;		/* received, not yet consumed */
	size_t in_len;		/* bytes in in */
	size_t in_cap;		/* bytes allocated */
};

/** Parsed command line shared by every subcommand. */
struct ctl_opts {
	const char *status;	/* members --status */
	const char *name;	/* members --name */
	char **kv;		/* --tag / --set values, argv pointers */
	int nb_kv;		/* count */
	char **del;		/* --delete values */
	int nb_del;		/* count */
	bool json;		/* --json */
	bool detailed;		/* --detailed */
	bool count;		/* members --count: the number only */
	bool summary;		/* members --summary: one line by status */
	bool replay;		/* join --replay */
	bool prune;		/* force-leave --prune */
	bool no_coalesce;	/* event --no-coalesce */
	char **args;		/* positional arguments after the command */
	int nb_args;		/* count */
};

/** One line on stderr; newlines and tabs in the text are folded. */
void ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * Send one request (body NULL: none) and read the reply header; its Error
 * goes to err. With want_body the reply body is left at c->in[0, *body_len)
 * (0 after "Authentication required"); the caller consumes it.
 * @retval 0, or -errno on I/O or framing failure.
 */
int ctl_call(struct ctl_conn *c, const char *cmd, const struct cp_rpc_buf *body,
	     bool want_body, size_t *body_len, char *err, size_t errlen);

/** Drop n bytes from the front of c->in. */
void ctl_consume(struct ctl_conn *c, size_t n);

/** Text for a ctl_call failure ("client closed" for EOF, as serf says). */
const char *ctl_io_text(int rc);

/** `members`: serf's table, or our JSON array. @retval exit code. */
int ctl_members(struct ctl_conn *c, const struct ctl_opts *o);

/** `info`: serf info's sections, or its JSON. @retval exit code. */
int ctl_info(struct ctl_conn *c, const struct ctl_opts *o);

#endif /* GOSSIPCTL_H_INCLUDED */
