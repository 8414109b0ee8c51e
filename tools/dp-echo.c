/* SPDX-License-Identifier: MIT */
/*
 * dp-echo: the socket dataplane and its ping -> ack fast path alone, with
 * no control plane: publishes a snapshot for --name (with a serf-like
 * Vivaldi ack payload, so acks weigh what serf's do) and acks pings until
 * --duration seconds pass or SIGINT/SIGTERM. Whatever reaches the rx
 * rings is drained and discarded. For benchmarks (scripts/
 * bench-dataplane.sh) until control/gossipd exists.
 *
 *   dp-echo --name NODE --bind 127.0.0.1:PORT [--lcores N]
 *           [--duration SECONDS] [--no-payload]
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dp.h"

#define DE_DURATION_MAX 3600	/* seconds: always bounded */

static volatile sig_atomic_t de_quit;

static void
de_on_signal(int sig)
{
	(void)sig;
	de_quit = 1;
}

/* 01 + msgpack Coordinate{Adjustment 0, Error 1.5, Height 1e-5, Vec 8x0}:
 * what a fresh serf node acks with (wire.md 10.9), 130 bytes. */
static uint16_t
de_serf_payload(uint8_t *p)
{
	static const uint8_t err_1_5[8] = { 0x3f, 0xf8 };
	static const uint8_t height_1e_5[8] = { 0x3e, 0xe4, 0xf8, 0xb5,
						0x88, 0xe3, 0x68, 0xf1 };
	uint8_t *s = p;

	*p++ = 0x01;
	*p++ = 0x84;
	memcpy(p, "\xaa" "Adjustment" "\xcb", 12);
	p += 12;
	memset(p, 0, 8);
	p += 8;
	memcpy(p, "\xa5" "Error" "\xcb", 7);
	p += 7;
	memcpy(p, err_1_5, 8);
	p += 8;
	memcpy(p, "\xa6" "Height" "\xcb", 8);
	p += 8;
	memcpy(p, height_1e_5, 8);
	p += 8;
	memcpy(p, "\xa3" "Vec" "\x98", 5);
	p += 5;
	for (int i = 0; i < 8; i++) {
		*p++ = 0xcb;
		memset(p, 0, 8);
		p += 8;
	}
	return (uint16_t)(p - s);
}

static int
de_parse_bind(const char *s, struct swim_addr *a)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	long port;
	char *end;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 0 || port > 65535)
		return -1;
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, host, a->ip) != 1 || a->ip[0] != 127)
		return -1;	/* loopback only: a benchmark tool */
	a->ip_len = 4;
	a->port = (uint16_t)port;
	return 0;
}

struct de_args {
	const char *name;
	struct dp_cfg cfg;
	unsigned duration_s;
	int with_payload;
};

static int
de_parse_args(int argc, char **argv, struct de_args *a)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "bind", required_argument, NULL, 'b' },
		{ "lcores", required_argument, NULL, 'l' },
		{ "duration", required_argument, NULL, 'd' },
		{ "no-payload", no_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, bad = 0;

	memset(a, 0, sizeof(*a));
	a->cfg.nb_lcores = 1;
	a->duration_s = 60;
	a->with_payload = 1;
	while ((opt = getopt_long(argc, argv, "n:b:l:d:P", opts, NULL)) != -1) {
		switch (opt) {
		case 'n': a->name = optarg; break;
		case 'b': bad |= de_parse_bind(optarg, &a->cfg.bind); break;
		case 'l': a->cfg.nb_lcores = (unsigned)atoi(optarg); break;
		case 'd': a->duration_s = (unsigned)atoi(optarg); break;
		case 'P': a->with_payload = 0; break;
		default: bad = 1; break;
		}
	}
	if (bad || a->name == NULL || strlen(a->name) > SWIM_NAME_MAX ||
	    a->cfg.bind.port == 0 || a->duration_s < 1 ||
	    a->duration_s > DE_DURATION_MAX) {
		fprintf(stderr, "usage: dp-echo --name NODE --bind 127.x.x.x:PORT"
			" [--lcores N] [--duration 1..3600] [--no-payload]\n");
		return -1;
	}
	return 0;
}

static void
de_print_stats(const struct dp_stats *st)
{
	printf("dp-echo: rx %" PRIu64 " tx %" PRIu64 " acks_fast %" PRIu64
	       " to_control %" PRIu64 " drop_ring_full %" PRIu64
	       " drop_too_big %" PRIu64 " drop_malformed %" PRIu64
	       " drop_tx %" PRIu64 "\n", st->rx_pkts, st->tx_pkts,
	       st->acks_fast, st->to_control, st->drop_ring_full,
	       st->drop_too_big, st->drop_malformed, st->drop_tx);
}

/* Drain the rx rings (nobody else will) until the deadline or a signal. */
static void
de_run(struct dp *dp, unsigned duration_s)
{
	static struct dp_pkt pkts[DP_BURST];
	time_t end = time(NULL) + duration_s;

	while (!de_quit && time(NULL) < end) {
		if (dp_recv(dp, pkts, DP_BURST) == 0)
			usleep(1000);
	}
}

int
main(int argc, char **argv)
{
	static struct dp_snapshot snap;
	struct de_args a;
	struct dp_stats st;
	char err[256];
	struct dp *dp;

	if (de_parse_args(argc, argv, &a) != 0)
		return 2;
	signal(SIGINT, de_on_signal);
	signal(SIGTERM, de_on_signal);
	dp = dp_new("socket", &a.cfg, err, sizeof(err));
	if (dp == NULL) {
		fprintf(stderr, "dp-echo: %s\n", err);
		return 1;
	}
	snprintf(snap.name, sizeof(snap.name), "%s", a.name);
	if (a.with_payload)
		snap.ack_payload_len = de_serf_payload(snap.ack_payload);
	dp_publish(dp, &snap);
	printf("dp-echo: %s acking on port %u with %u lcore(s)\n", a.name,
	       a.cfg.bind.port, a.cfg.nb_lcores);
	fflush(stdout);
	de_run(dp, a.duration_s);
	dp_get_stats(dp, &st);
	de_print_stats(&st);
	dp_delete(dp);
	return 0;
}
