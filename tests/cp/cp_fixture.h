/* SPDX-License-Identifier: MIT */
/*
 * In-process daemons for the control-loop tests (test_cp_idle,
 * test_cp_loop, test_cp_agent): a free loopback port, and a struct cp
 * brought up as main() brings it up (config, core, Serf layer, reactor,
 * agent, TCP sync, socket dataplane), every step asserted. Header only,
 * as dpdk_eal_test.h: each test executable includes it once.
 */
#ifndef CP_FIXTURE_H_INCLUDED
#define CP_FIXTURE_H_INCLUDED

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cp.h"
#include "cp_agent.h"

/* A port free on 127.0.0.1 for both TCP and UDP (best effort). */
static inline uint16_t
cp_fx_free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	close(fd);
	return ntohs(sa.sin_port);
}

/*
 * A daemon from argv (argc entries). with_agent adds cp_agent_init, whose
 * reloads parse argv again: argv must then outlive the daemon.
 */
static inline struct cp *
cp_fx_daemon_argv(int argc, char **argv, bool with_agent)
{
	struct cp *cp = calloc(1, sizeof(*cp));
	char err[512];

	cr_assert_not_null(cp);
	cp->epfd = -1;
	cp_cfg_default(&cp->cfg);
	cr_assert_eq(cp_cfg_parse(&cp->cfg, argc, argv, err, sizeof(err)), 0,
		     "%s", err);
	cp_log_set_level(cp->cfg.log_level);
	cr_assert_eq(cp_core_init(cp), 0);
	cr_assert_eq(cp_serf_layer_init(cp), 0);
	cr_assert_eq(cp_reactor_init(cp), 0);
	if (with_agent)
		cr_assert_eq(cp_agent_init(cp, argc, argv), 0);
	cr_assert_eq(cp_sync_init(cp), 0);
	cr_assert_eq(cp_dp_init(cp), 0);
	return cp;
}

/* A daemon without RPC or agent: --name name, a free --bind, log warn. */
static inline struct cp *
cp_fx_daemon_new(const char *name)
{
	char bind[32];
	char *argv[] = {"gossipd", "--name", (char *)name, "--bind", bind,
			"--log-level", "warn"};

	snprintf(bind, sizeof(bind), "127.0.0.1:%u", cp_fx_free_port());
	return cp_fx_daemon_argv(7, argv, false);
}

static inline void
cp_fx_daemon_delete(struct cp *cp)
{
	cp_fini(cp);
	free(cp);
}

#endif /* CP_FIXTURE_H_INCLUDED */
