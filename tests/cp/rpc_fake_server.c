/* SPDX-License-Identifier: MIT */
/*
 * rpc_fake_server: the real cp_rpc server over the fake control plane
 * (rpc_fake.c), for running the real `serf` CLI and gossipctl against it.
 *
 *   rpc_fake_server [--bind IP:PORT] [--auth KEY] [--alpha-port P]
 *                   [--capture] [--max-seconds N]
 *
 * Prints the bound port on stdout, then serves until SIGTERM/SIGINT or
 * --max-seconds (default 300) pass. Every RPC call is also published as a
 * "[INFO] fake: ..." log line, so `serf monitor` shows something.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cp_rpc.h"
#include "rpc_fake.h"

static volatile sig_atomic_t rpc_fake_stop;

static void
rpc_fake_on_signal(int sig)
{
	(void)sig;
	rpc_fake_stop = 1;
}

static uint64_t
rpc_fake_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
main(int argc, char **argv)
{
	struct cp_rpc_cfg cfg;
	cp_rpc_cfg_default(&cfg);
	cfg.bind = "127.0.0.1:0";
	unsigned alpha_port = 7946, max_s = 300;
	bool capture = false;
	for (int i = 1; i < argc; i++) {
		bool has_val = i + 1 < argc;
		if (strcmp(argv[i], "--bind") == 0 && has_val)
			cfg.bind = argv[++i];
		else if (strcmp(argv[i], "--auth") == 0 && has_val)
			cfg.auth_key = argv[++i];
		else if (strcmp(argv[i], "--alpha-port") == 0 && has_val)
			alpha_port = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--max-seconds") == 0 && has_val)
			max_s = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--capture") == 0)
			capture = true;
		else {
			fprintf(stderr, "rpc_fake_server: bad argument '%s'\n",
				argv[i]);
			return 2;
		}
	}
	static struct rpc_fake f;
	rpc_fake_init(&f, (uint16_t)alpha_port, capture);
	rpc_fake_ops(&f, &cfg.ops);
	char err[256];
	f.rpc = cp_rpc_new(&cfg, err, sizeof(err));
	if (f.rpc == NULL) {
		fprintf(stderr, "rpc_fake_server: %s\n", err);
		return 1;
	}
	signal(SIGTERM, rpc_fake_on_signal);
	signal(SIGINT, rpc_fake_on_signal);
	printf("%u\n", cp_rpc_port(f.rpc));
	fflush(stdout);
	uint64_t start = rpc_fake_now_ms(), last_log = start;
	while (!rpc_fake_stop && rpc_fake_now_ms() - start < max_s * 1000ull) {
		cp_rpc_poll(f.rpc, 20);
		uint64_t now = rpc_fake_now_ms();
		rpc_fake_tick(&f, now - start);
		if (now - last_log >= 500) {
			last_log = now;
			cp_rpc_publish_log(f.rpc, "2026/01/01 00:00:00 [INFO] fake: tick");
			cp_rpc_publish_log(f.rpc, "2026/01/01 00:00:00 [DEBUG] fake: debug tick");
		}
	}
	cp_rpc_delete(f.rpc);
	return 0;
}
