/* SPDX-License-Identifier: MIT */
/*
 * gossip-swarm's command line (getopt_long, GNU long form) and the
 * memberlist timing profiles. Pure apart from printing --help/--version:
 * a bad flag is reported as one line in err, and main exits 2.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swarm.h"

#define SWARM_VERSION "0.1.0"
#define SWARM_DURATION_MAX 86400.0

void
swarm_cfg_default(struct swarm_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->members = 1000;
	cfg->net = 0x7f400000u;		/* 127.64.0.0/10: local on Linux */
	cfg->plen = 10;
	cfg->port = 7950;
	cfg->probe_mult = 1.0;
	cfg->profile = "lan";
	swarm_timing_profile("lan", &cfg->timing);
	cfg->name_prefix = "swarm-";
	cfg->leave_rate = 2000;
	cfg->udp_sockets = 1;
	cfg->seed = 1;
	cfg->flood_n = 1;
	cfg->flood_window = 256;
	cfg->delta_sync = true;
}

int
swarm_timing_profile(const char *name, struct swarm_timing *t)
{
	/* memberlist 0.2.2's DefaultLANConfig/WANConfig/LocalConfig. */
	static const struct swarm_timing lan = {
		1000, 500, 200, 4, 6, 4, 3, 10000 };
	static const struct swarm_timing wan = {
		5000, 3000, 500, 6, 6, 4, 3, 30000 };
	static const struct swarm_timing local = {
		1000, 200, 100, 3, 6, 2, 1, 1000 };

	if (strcmp(name, "lan") == 0)
		*t = lan;
	else if (strcmp(name, "wan") == 0)
		*t = wan;
	else if (strcmp(name, "local") == 0)
		*t = local;
	else
		return SWARM_E_SYNTAX;
	return 0;
}

int
swarm_parse_fail(const char *s, struct swarm_fail_ev *ev)
{
	char *end;
	unsigned long n;
	double t;

	if (*s < '0' || *s > '9')
		return SWARM_E_SYNTAX;
	n = strtoul(s, &end, 10);
	if (*end != '@' || end[1] == '\0')
		return SWARM_E_SYNTAX;
	ev->after_join = end[1] == '+';
	end += ev->after_join ? 2 : 1;
	if (*end < '0' || *end > '9')
		return *end == '-' ? SWARM_E_RANGE : SWARM_E_SYNTAX;
	t = strtod(end, &end);
	if (*end != '\0' || !isfinite(t))
		return SWARM_E_SYNTAX;
	if (n == 0 || n > SWARM_MEMBERS_MAX || t < 0 || t > SWARM_DURATION_MAX)
		return SWARM_E_RANGE;
	ev->n = (uint32_t)n;
	ev->at_ms = (uint64_t)llround(t * 1000.0);
	return 0;
}

void
swarm_usage(FILE *out)
{
	fputs(
"usage: gossip-swarm --join IP:PORT [options]\n"
"  N virtual memberlist/Serf members in one process, joined to a real pool.\n"
"  --members N          virtual members, 1..1000000 (1000)\n"
"  --join IP:PORT       a real node of the pool (repeatable, up to 8)\n"
"  --prefix CIDR        virtual addresses (127.64.0.0/10)\n"
"  --port P             virtual members' UDP and TCP port (7950)\n"
"  --dataplane socket|dpdk   backend (socket); --eal \"ARGS\" for dpdk\n"
"  --churn R            graceful leaves and rejoins per second (0)\n"
"  --fail N@T           N members stop answering at T s (repeatable);\n"
"                       N@+T: T s after every member has joined\n"
"  --flap[=S]           injected failures come back after S s (10)\n"
"  --loss P             drop that fraction of received packets (0)\n"
"  --probe-rate-mult X  probe the real nodes X times harder (1)\n"
"  --encrypt KEY        base64 AES-256 key; --keyring-file F (serf's)\n"
"  --tag K=V            tag of every member (repeatable)\n"
"  --profile lan|wan|local   memberlist timing (lan)\n"
"  --duration S         run time, then leave (0: until SIGINT/SIGTERM)\n"
"  --json FILE          write the summary there\n"
"  --no-leave           do not leave at the end\n"
"  --no-delta-sync      members do not advertise or answer gossipd's\n"
"                       delta sync (full push/pulls only); --delta-sync\n"
"                       turns it back on (the default)\n"
"  --name-prefix P      member names P<index> (swarm-)\n"
"  --join-batch B       members per join push/pull (max(1000, N/10))\n"
"  --join-rate R        members joining per second (0: no cap)\n"
"  --leave-rate R       members leaving per second at the end (2000)\n"
"  --udp-sockets K      SO_REUSEPORT UDP sockets (1)\n"
"  --seed S             PRNG seed (1)\n"
"  --flood IP:PORT      ping flood from the members, socket or dpdk\n"
"                       (line rate; the swarm then joins nothing)\n"
"  --flood-members N    spread over N addresses from IP (1)\n"
"  --flood-name NAME    target's name; with N > 1 its name prefix\n"
"  --flood-window W     pings in flight, 1..65536 (256)\n"
"  --help, --version\n", out);
}

enum {
	OPT_PREFIX = 256, OPT_DATAPLANE, OPT_EAL, OPT_CHURN, OPT_FAIL,
	OPT_FLAP, OPT_LOSS, OPT_MULT, OPT_ENCRYPT, OPT_KEYRING, OPT_TAG,
	OPT_PROFILE, OPT_DURATION, OPT_JSON, OPT_NO_LEAVE, OPT_NAME_PREFIX,
	OPT_JOIN_BATCH, OPT_JOIN_RATE, OPT_LEAVE_RATE, OPT_UDP_SOCKETS,
	OPT_SEED, OPT_VERSION, OPT_FLOOD, OPT_FLOOD_N, OPT_FLOOD_NAME,
	OPT_FLOOD_WINDOW, OPT_DELTA, OPT_NO_DELTA,
};

static const struct option swarm_opts[] = {
	{ "members", required_argument, NULL, 'n' },
	{ "join", required_argument, NULL, 'j' },
	{ "port", required_argument, NULL, 'p' },
	{ "help", no_argument, NULL, 'h' },
	{ "prefix", required_argument, NULL, OPT_PREFIX },
	{ "dataplane", required_argument, NULL, OPT_DATAPLANE },
	{ "eal", required_argument, NULL, OPT_EAL },
	{ "churn", required_argument, NULL, OPT_CHURN },
	{ "fail", required_argument, NULL, OPT_FAIL },
	{ "flap", optional_argument, NULL, OPT_FLAP },
	{ "loss", required_argument, NULL, OPT_LOSS },
	{ "probe-rate-mult", required_argument, NULL, OPT_MULT },
	{ "encrypt", required_argument, NULL, OPT_ENCRYPT },
	{ "keyring-file", required_argument, NULL, OPT_KEYRING },
	{ "tag", required_argument, NULL, OPT_TAG },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "no-leave", no_argument, NULL, OPT_NO_LEAVE },
	{ "delta-sync", no_argument, NULL, OPT_DELTA },
	{ "no-delta-sync", no_argument, NULL, OPT_NO_DELTA },
	{ "name-prefix", required_argument, NULL, OPT_NAME_PREFIX },
	{ "join-batch", required_argument, NULL, OPT_JOIN_BATCH },
	{ "join-rate", required_argument, NULL, OPT_JOIN_RATE },
	{ "leave-rate", required_argument, NULL, OPT_LEAVE_RATE },
	{ "udp-sockets", required_argument, NULL, OPT_UDP_SOCKETS },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "flood", required_argument, NULL, OPT_FLOOD },
	{ "flood-members", required_argument, NULL, OPT_FLOOD_N },
	{ "flood-name", required_argument, NULL, OPT_FLOOD_NAME },
	{ "flood-window", required_argument, NULL, OPT_FLOOD_WINDOW },
	{ NULL, 0, NULL, 0 },
};

/* A finite number in [lo, hi], the whole argument. */
static int
swarm_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end != '\0' || !isfinite(v))
		return SWARM_E_SYNTAX;
	if (v < lo || v > hi)
		return SWARM_E_RANGE;
	*out = v;
	return 0;
}

/* An integer in [lo, hi], the whole argument. */
static int
swarm_uint(const char *s, double lo, double hi, uint64_t *out)
{
	double v;
	int rc = swarm_num(s, lo, hi, &v);

	if (rc == 0 && v != floor(v))
		rc = SWARM_E_SYNTAX;
	if (rc == 0)
		*out = (uint64_t)v;
	return rc;
}

static int
swarm_opt_join(struct swarm_cfg *cfg, const char *arg)
{
	if (cfg->nb_join >= SWARM_JOIN_MAX)
		return SWARM_E_FULL;
	if (swarm_parse_ipport(arg, &cfg->join_ip[cfg->nb_join],
			       &cfg->join_port[cfg->nb_join]) != 0)
		return SWARM_E_SYNTAX;
	cfg->nb_join++;
	return 0;
}

static int
swarm_opt_tag(struct swarm_cfg *cfg, const char *arg)
{
	const char *eq = strchr(arg, '=');

	if (eq == NULL || eq == arg)
		return SWARM_E_SYNTAX;
	if (cfg->nb_tags >= SWARM_TAG_MAX)
		return SWARM_E_FULL;
	cfg->tags[cfg->nb_tags++] = arg;
	return 0;
}

static int
swarm_opt_dataplane(struct swarm_cfg *cfg, const char *arg)
{
	if (strcmp(arg, "socket") == 0)
		cfg->dataplane = SWARM_DP_SOCKET;
	else if (strcmp(arg, "dpdk") == 0)
		cfg->dataplane = SWARM_DP_DPDK;
	else
		return SWARM_E_SYNTAX;
	return 0;
}

/* Options with numbers; returns 1 when c is not one of them. */
static int
swarm_opt_number(struct swarm_cfg *cfg, int c, const char *arg)
{
	uint64_t u = 0;
	int rc;

	switch (c) {
	case 'n':
		rc = swarm_uint(arg, 1, SWARM_MEMBERS_MAX, &u);
		cfg->members = (uint32_t)u;
		return rc;
	case 'p':
		rc = swarm_uint(arg, 1, 65535, &u);
		cfg->port = (uint16_t)u;
		return rc;
	case OPT_CHURN:
		return swarm_num(arg, 0, 100000, &cfg->churn);
	case OPT_LOSS:
		return swarm_num(arg, 0, 1, &cfg->loss);
	case OPT_MULT:
		return swarm_num(arg, 0.001, 100000, &cfg->probe_mult);
	case OPT_DURATION:
		return swarm_num(arg, 0, SWARM_DURATION_MAX, &cfg->duration_s);
	case OPT_JOIN_BATCH:
		rc = swarm_uint(arg, 1, SWARM_MEMBERS_MAX, &u);
		cfg->join_batch = (uint32_t)u;
		return rc;
	case OPT_JOIN_RATE:
		return swarm_num(arg, 0, 1e7, &cfg->join_rate);
	case OPT_LEAVE_RATE:
		return swarm_num(arg, 1, 1e7, &cfg->leave_rate);
	case OPT_UDP_SOCKETS:
		rc = swarm_uint(arg, 1, 16, &u);
		cfg->udp_sockets = (unsigned)u;
		return rc;
	case OPT_SEED:
		return swarm_uint(arg, 0, 1e15, &cfg->seed);
	case OPT_FLOOD_N:
		rc = swarm_uint(arg, 1, SWARM_MEMBERS_MAX, &u);
		cfg->flood_n = (uint32_t)u;
		return rc;
	case OPT_FLOOD_WINDOW:
		rc = swarm_uint(arg, 1, 65536, &u);
		cfg->flood_window = (uint32_t)u;
		return rc;
	case OPT_FLAP:
		cfg->flap_s = 10;
		return arg == NULL ? 0 : swarm_num(arg, 0.1, 3600, &cfg->flap_s);
	default:
		return 1;
	}
}

/* One option; @retval 0, 1 (done: help/version) or < 0. */
static int
swarm_opt_one(struct swarm_cfg *cfg, int c, const char *arg)
{
	int rc = swarm_opt_number(cfg, c, arg);

	if (rc != 1)
		return rc;
	switch (c) {
	case 'j':
		return swarm_opt_join(cfg, arg);
	case 'h':
		swarm_usage(stdout);
		return 1;
	case OPT_VERSION:
		printf("gossip-swarm %s\n", SWARM_VERSION);
		return 1;
	case OPT_PREFIX:
		return swarm_parse_cidr(arg, &cfg->net, &cfg->plen);
	case OPT_DATAPLANE:
		return swarm_opt_dataplane(cfg, arg);
	case OPT_EAL:
		cfg->eal = arg;
		return 0;
	case OPT_FAIL:
		if (cfg->nb_fail >= SWARM_FAIL_EV_MAX)
			return SWARM_E_FULL;
		return swarm_parse_fail(arg, &cfg->fail[cfg->nb_fail++]);
	case OPT_ENCRYPT:
		cfg->encrypt = arg;
		return 0;
	case OPT_KEYRING:
		cfg->keyring_file = arg;
		return 0;
	case OPT_TAG:
		return swarm_opt_tag(cfg, arg);
	case OPT_PROFILE:
		cfg->profile = arg;
		return swarm_timing_profile(arg, &cfg->timing);
	case OPT_JSON:
		cfg->json = arg;
		return 0;
	case OPT_NO_LEAVE:
		cfg->no_leave = true;
		return 0;
	case OPT_DELTA:
	case OPT_NO_DELTA:
		cfg->delta_sync = c == OPT_DELTA;
		return 0;
	case OPT_FLOOD:
		return swarm_parse_ipport(arg, &cfg->flood_ip,
					  &cfg->flood_port) != 0 ?
			       SWARM_E_SYNTAX : 0;
	case OPT_FLOOD_NAME:
		cfg->flood_name = arg;
		return strlen(arg) == 0 || strlen(arg) > SWARM_NAME_LEN_MAX ?
			       SWARM_E_RANGE : 0;
	case OPT_NAME_PREFIX:
		cfg->name_prefix = arg;
		return strlen(arg) == 0 || strlen(arg) > SWARM_NAME_PREFIX_MAX ?
			       SWARM_E_RANGE : 0;
	default:
		return SWARM_E_SYNTAX;
	}
}

/* The long name of option c, for error lines. */
static const char *
swarm_opt_name(int c)
{
	for (const struct option *o = swarm_opts; o->name != NULL; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

static const char *
swarm_err_word(int rc)
{
	switch (rc) {
	case SWARM_E_RANGE:
		return "out of range";
	case SWARM_E_FULL:
		return "given too many times";
	default:
		return "malformed";
	}
}

/* The flood (a generator joins nothing) and the DPDK line-rate mode's
 * own rules (swarm_dpdk.h says why). */
static int
swarm_cfg_check_dpdk(const struct swarm_cfg *cfg, char *err, size_t cap)
{
	if ((cfg->flood_ip == 0) != (cfg->flood_name == NULL))
		snprintf(err, cap, "--flood and --flood-name go together");
	else if (cfg->flood_ip != 0 && cfg->nb_join > 0)
		snprintf(err, cap, "--flood and --join exclude each other");
	else if (cfg->flood_ip != 0 &&
		 (uint64_t)cfg->flood_ip + cfg->flood_n > 0xffffffffull)
		snprintf(err, cap, "--flood-members runs past 255.255.255.255");
	else if (cfg->dataplane == SWARM_DP_DPDK && cfg->eal == NULL)
		snprintf(err, cap, "--dataplane dpdk needs --eal \"ARGS\"");
	else
		return 0;
	return -1;
}

/* Checks across options, after all are read. */
static int
swarm_cfg_check(const struct swarm_cfg *cfg, char *err, size_t cap)
{
	struct swarm_map m;
	uint64_t failing = 0;

	if (cfg->nb_join == 0 && cfg->dataplane != SWARM_DP_DPDK &&
	    cfg->flood_ip == 0) {
		snprintf(err, cap, "--join IP:PORT is required");
		return SWARM_EXIT_USAGE;
	}
	if (swarm_cfg_check_dpdk(cfg, err, cap) != 0)
		return SWARM_EXIT_USAGE;
	if (swarm_map_init(&m, cfg->name_prefix, cfg->net, cfg->plen,
			   cfg->members) != 0) {
		snprintf(err, cap, "--members %u does not fit in --prefix",
			 cfg->members);
		return SWARM_EXIT_USAGE;
	}
	for (unsigned i = 0; i < cfg->nb_fail; i++)
		failing += cfg->fail[i].n;
	if (failing > cfg->members) {
		snprintf(err, cap, "--fail: %llu failures for %u members",
			 (unsigned long long)failing, cfg->members);
		return SWARM_EXIT_USAGE;
	}
	if (cfg->eal != NULL && cfg->dataplane != SWARM_DP_DPDK) {
		snprintf(err, cap, "--eal needs --dataplane dpdk");
		return SWARM_EXIT_USAGE;
	}
	if (cfg->encrypt != NULL && cfg->keyring_file != NULL) {
		snprintf(err, cap, "--encrypt and --keyring-file exclude "
			 "each other");
		return SWARM_EXIT_USAGE;
	}
	return 0;
}

int
swarm_cfg_parse(struct swarm_cfg *cfg, int argc, char **argv, char *err,
		size_t err_cap, bool *done)
{
	int c, rc, idx = 0;

	*done = false;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":n:j:p:h", swarm_opts,
				&idx)) != -1) {
		if (c == '?' || c == ':') {
			snprintf(err, err_cap, "%s option '%s'",
				 c == '?' ? "unknown" : "missing value for",
				 argv[optind - 1]);
			return SWARM_EXIT_USAGE;
		}
		rc = swarm_opt_one(cfg, c, optarg);
		if (rc == 1) {
			*done = true;
			return 0;
		}
		if (rc < 0) {
			snprintf(err, err_cap, "bad value '%s' for --%s: %s",
				 optarg != NULL ? optarg : "",
				 swarm_opt_name(c), swarm_err_word(rc));
			return SWARM_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		snprintf(err, err_cap, "unexpected argument '%s'",
			 argv[optind]);
		return SWARM_EXIT_USAGE;
	}
	return swarm_cfg_check(cfg, err, err_cap);
}
