/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The usual cp_rpc test suite around rpc_tc (header only, include once per
 * test file): one server (env) and one client (cli) per test, the suite's
 * init and fini, and the reply checks every suite writes against them.
 * A suite that needs another server config calls rpc_tc_env_start itself.
 */
#ifndef RPC_TC_SUITE_H_INCLUDED
#define RPC_TC_SUITE_H_INCLUDED

#include "rpc_tc.h"

static struct rpc_tc_env env;	/* the server, fresh for every test */
static struct rpc_tc cli;	/* its client, closed by teardown */

/** Suite init: defaults, cli connected and through the handshake. */
static inline void
setup_open(void)
{
	rpc_tc_open(&env, &cli);
}

/** Suite fini: close cli, stop the server. */
static inline void
teardown(void)
{
	rpc_tc_shut(&env, &cli);
}

/** One reply header for seq with this Error. */
static inline void
expect_reply_seq(uint64_t seq, const char *want)
{
	rpc_tc_expect(&env, &cli, seq, want);
}

/** One reply header for the last request cli sent, with this Error. */
static inline void
expect_reply(const char *want)
{
	rpc_tc_expect(&env, &cli, cli.seq, want);
}

#endif /* RPC_TC_SUITE_H_INCLUDED */
