/* SPDX-License-Identifier: MIT */
/*
 * gossipd: a SWIM/Lifeguard membership daemon that speaks memberlist's
 * wire protocol and joins Serf clusters.
 *
 * main() is the list of init steps; each *_init prints its own one-line
 * error. Exit status: 0 after a graceful leave, 1 when no --join seed could
 * be joined, 2 for bad flags or a resource we cannot take (port in use).
 * Owns process-wide setup only (signals, sodium); the loop is cp_loop.c.
 */
#include "cp.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* The daemon; static so the signal handler can count into it. */
static struct cp cp_daemon;

/* Exit status for a bad flag or an unavailable address. */
#define CP_EXIT_USAGE 2

static int
cp_cfg_init(struct cp *cp, int argc, char **argv)
{
	char err[512];
	int rc;

	cp_cfg_default(&cp->cfg);
	rc = cp_cfg_parse(&cp->cfg, argc, argv, err, sizeof(err));
	if (rc == 1) {
		printf("%s\n", err);
		exit(0);
	}
	if (rc != 0) {
		fprintf(stderr, "gossipd: %s\n", err);
		return -1;
	}
	/* --encrypt / --keyring-file: a bad key is a usage error too. */
	if (sodium_init() < 0) {
		fprintf(stderr, "gossipd: sodium_init failed\n");
		return -1;
	}
	if (cp_cfg_keyring_new(&cp->cfg, &cp->cfg.keyring, err,
			       sizeof(err)) != 0) {
		fprintf(stderr, "gossipd: %s\n", err);
		return -1;
	}
	cp_log_set_level(cp->cfg.log_level);
	return 0;
}

/* SIGINT/SIGTERM: count; the loop starts the leave, a second one exits. */
static void
cp_on_signal(int sig)
{
	(void)sig;
	cp_daemon.nb_signals++;
}

static int
cp_signal_init(struct cp *cp)
{
	struct sigaction sa;

	(void)cp;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cp_on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) != 0 ||
	    sigaction(SIGTERM, &sa, NULL) != 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int
main(int argc, char **argv)
{
	struct cp *cp = &cp_daemon;
	int rc;

	cp->epfd = -1;
	if (cp_cfg_init(cp, argc, argv) != 0)
		return CP_EXIT_USAGE;
	if (cp_signal_init(cp) != 0 || cp_core_init(cp) != 0 ||
	    cp_serf_layer_init(cp) != 0 || cp_reactor_init(cp) != 0) {
		cp_fini(cp);
		return 1;
	}
	if (cp_sync_init(cp) != 0 || cp_dp_init(cp) != 0 ||
	    cp_rpc_server_init(cp) != 0) {
		cp_fini(cp);
		return CP_EXIT_USAGE;
	}
	cp_join_init(cp);
	rc = cp_loop_run(cp);
	if (rc == 0)
		CP_LOG(INFO, "agent: shutdown complete");
	cp_fini(cp);
	return rc;
}
