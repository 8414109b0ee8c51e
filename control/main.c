/* SPDX-License-Identifier: MIT */
/*
 * gossipd: a SWIM/Lifeguard membership daemon that speaks memberlist's
 * wire protocol and joins Serf clusters.
 *
 * main() is the list of init steps; each *_init prints its own one-line
 * error. Exit status: 0 after a stop (graceful leave or not), 1 when no
 * --join seed could be joined, 2 for bad flags or config files or a
 * resource we cannot take (port in use). Owns process-wide setup only
 * (malloc's thresholds, config, sodium); signals and the agent duties
 * are cp_agent.c, the loop cp_loop.c.
 */
#include "cp.h"
#include "cp_agent.h"
#include "cp_metrics.h"
#include "cp_handler.h"
#include "cp_mem.h"
#include "cp_thp.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* The daemon: one per process. */
static struct cp cp_daemon;

/* Exit status for a bad flag or an unavailable address. */
#define CP_EXIT_USAGE 2

/* Resolve --join names now: before the loop, where blocking is fine. */
static void
cp_cfg_join_names(struct cp_cfg *cfg)
{
	char err[512];

	if (cfg->nb_join_seeds == cfg->nb_join)
		return;		/* IP literals only */
	cfg->nb_join = cp_cfg_resolve_seeds(
		(const char (*)[CP_SEED_LEN])cfg->join_seeds,
		cfg->nb_join_seeds, &cfg->bind, cfg->join, CP_SEEDS_MAX, err,
		sizeof(err));
	if (err[0] != '\0')
		fprintf(stderr, "gossipd: --join: %s\n", err);
}

/* What the config needs from the host: tags file, advertise, DNS. */
static int
cp_cfg_host(struct cp_cfg *cfg, char *err, size_t errlen)
{
	if (cfg->tags_file[0] != '\0') {
		int n = cp_cfg_tags_read(cfg->tags_file, cfg->tags,
					 CP_TAGS_MAX, err, errlen);

		if (n < 0)
			return -1;
		cfg->nb_tags = (unsigned)n;
	}
	if (cp_cfg_advertise(cfg, err, errlen) != 0)
		return -1;
	cp_cfg_join_names(cfg);
	return 0;
}

static int
cp_cfg_init(struct cp *cp, int argc, char **argv)
{
	char err[1024];
	int rc;

	cp_cfg_default(&cp->cfg);
	rc = cp_cfg_parse(&cp->cfg, argc, argv, err, sizeof(err));
	if (rc == CP_CFG_HELP || rc == CP_CFG_VERSION) {
		if (rc == CP_CFG_HELP)
			cp_cfg_help(stdout);
		else
			cp_cfg_version(stdout);
		exit(0);
	}
	if (rc != 0 || cp_cfg_host(&cp->cfg, err, sizeof(err)) != 0) {
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

int
main(int argc, char **argv)
{
	struct cp *cp = &cp_daemon;
	int rc;

	cp->epfd = -1;
	(void)cp_mem_init();	/* refused: malloc's defaults, no harm */
	(void)cp_thp_init(CP_THP_SYSFS);	/* off: 4 KiB pages, as before */
	if (cp_cfg_init(cp, argc, argv) != 0)
		return CP_EXIT_USAGE;
	if (cp_agent_signals_init() != 0 || cp_core_init(cp) != 0 ||
	    cp_serf_layer_init(cp) != 0 || cp_reactor_init(cp) != 0) {
		cp_fini(cp);
		return 1;
	}
	if (cp_agent_init(cp, argc, argv) != 0 || cp_handler_init(cp) != 0 ||
	    cp_sync_init(cp) != 0 ||
	    cp_dp_init(cp) != 0 ||
	    cp_rpc_server_init(cp) != 0 || cp_metrics_init(cp) != 0) {
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
