/* SPDX-License-Identifier: MIT */
/*
 * gossip-sim's command line: GNU long options, memberlist's timing names
 * (ProbeInterval -> --probe-interval ...). Durations take a unit (us, ms,
 * s, m, h); a bare number is seconds. Every bad value is one line on
 * stderr and exit code 2, before anything runs.
 */
#include "gsim.h"
#include "swim_dsync.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	O_MEMBERS = 256, O_DURATION, O_LOSS, O_FAIL, O_PARTITION, O_PAUSE,
	O_SEED, O_PROFILE, O_PROBE_INTERVAL, O_PROBE_TIMEOUT,
	O_GOSSIP_INTERVAL, O_GOSSIP_NODES, O_GOSSIP_DEAD, O_SUSP_MULT,
	O_SUSP_MAX_MULT, O_RETRANSMIT_MULT, O_PUSH_PULL, O_INDIRECT,
	O_AWARENESS, O_TCP_TIMEOUT, O_RECLAIM, O_UDP_BUFFER, O_NO_TCP_PINGS,
	O_LATENCY, O_START, O_JOIN_STAGGER, O_SYNC, O_DELTA_INTERVAL,
	O_NO_SERF, O_JSON, O_WARMUP, O_HELP, O_VERSION,
};

static const struct option gsim_longopts[] = {
	{ "members", required_argument, NULL, O_MEMBERS },
	{ "duration", required_argument, NULL, O_DURATION },
	{ "loss", required_argument, NULL, O_LOSS },
	{ "fail", required_argument, NULL, O_FAIL },
	{ "partition", required_argument, NULL, O_PARTITION },
	{ "pause", required_argument, NULL, O_PAUSE },
	{ "seed", required_argument, NULL, O_SEED },
	{ "profile", required_argument, NULL, O_PROFILE },
	{ "probe-interval", required_argument, NULL, O_PROBE_INTERVAL },
	{ "probe-timeout", required_argument, NULL, O_PROBE_TIMEOUT },
	{ "gossip-interval", required_argument, NULL, O_GOSSIP_INTERVAL },
	{ "gossip-nodes", required_argument, NULL, O_GOSSIP_NODES },
	{ "gossip-to-the-dead-time", required_argument, NULL, O_GOSSIP_DEAD },
	{ "suspicion-mult", required_argument, NULL, O_SUSP_MULT },
	{ "suspicion-max-timeout-mult", required_argument, NULL,
	  O_SUSP_MAX_MULT },
	{ "retransmit-mult", required_argument, NULL, O_RETRANSMIT_MULT },
	{ "push-pull-interval", required_argument, NULL, O_PUSH_PULL },
	{ "indirect-checks", required_argument, NULL, O_INDIRECT },
	{ "awareness-max-multiplier", required_argument, NULL, O_AWARENESS },
	{ "tcp-timeout", required_argument, NULL, O_TCP_TIMEOUT },
	{ "dead-node-reclaim-time", required_argument, NULL, O_RECLAIM },
	{ "udp-buffer-size", required_argument, NULL, O_UDP_BUFFER },
	{ "disable-tcp-pings", no_argument, NULL, O_NO_TCP_PINGS },
	{ "latency", required_argument, NULL, O_LATENCY },
	{ "start", required_argument, NULL, O_START },
	{ "join-stagger", required_argument, NULL, O_JOIN_STAGGER },
	{ "sync", required_argument, NULL, O_SYNC },
	{ "delta-sync-interval", required_argument, NULL, O_DELTA_INTERVAL },
	{ "no-serf", no_argument, NULL, O_NO_SERF },
	{ "json", no_argument, NULL, O_JSON },
	{ "warmup", required_argument, NULL, O_WARMUP },
	{ "help", no_argument, NULL, O_HELP },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

static const char gsim_usage[] =
"Usage: gossip-sim [OPTION]...\n"
"Simulate a gossipd/memberlist pool: N real SWIM cores and Serf layers on\n"
"a fake network, deterministically from a seed. Durations take a unit\n"
"(us, ms, s, m, h); a bare number is seconds.\n"
"\n"
"  --members N             pool size (2..20000; default 100)\n"
"  --duration D            simulated time after the start (default 60)\n"
"  --loss PCT              UDP packets lost, 0..100 (default 0)\n"
"  --fail N@T              crash N random members at T (default 1@D/4)\n"
"  --partition T1:T2[:F]   cut off a fraction F (default 0.5) of the pool\n"
"                          from T1 to T2; heal_s is T2 -> full mesh\n"
"  --pause [N@]T:D         N members (default 1) stop for D at T (GC pause)\n"
"  --seed S                run seed (default 1)\n"
"  --profile P             lan | wan | local (memberlist's Default*Config)\n"
"  --probe-interval D, --probe-timeout D, --gossip-interval D,\n"
"  --gossip-nodes N, --gossip-to-the-dead-time D, --suspicion-mult N,\n"
"  --suspicion-max-timeout-mult N, --retransmit-mult N,\n"
"  --push-pull-interval D, --indirect-checks N,\n"
"  --awareness-max-multiplier N, --tcp-timeout D,\n"
"  --dead-node-reclaim-time D, --udp-buffer-size BYTES,\n"
"  --disable-tcp-pings     memberlist's Config fields of the same names\n"
"  --latency F[:J]         one-way UDP latency F plus uniform jitter J\n"
"                          (default 0.5ms:0.5ms)\n"
"  --start MODE            steady (default: everyone knows everyone at 0,\n"
"                          the join's gossip long done) | converged (the\n"
"                          same with every join's gossip still queued) |\n"
"                          join (node k joins node 0 at k x --join-stagger;\n"
"                          times count from the last join; converge_s)\n"
"  --warmup D              run D before the timeline and the counters\n"
"                          start (default 0): every member's first\n"
"                          push/pull comes within the unscaled interval\n"
"  --join-stagger D        default 20ms, as tests/integration/test_cluster.py\n"
"  --sync MODE             full (memberlist's push/pull) | delta (digests,\n"
"                          then only what differs: swim_dsync)\n"
"  --delta-sync-interval D the delta sync's interval: the push/pull\n"
"                          interval it replaces (scaled with N as\n"
"                          memberlist scales it; default the profile's)\n"
"  --no-serf               cores only, no Serf layer\n"
"  --json                  one JSON object instead of a summary\n"
"  --help, --version\n";

/* One line, exit code 2 (the caller returns it). */
static int
gsim_bad(const char *what, const char *arg)
{
	fprintf(stderr, "gossip-sim: %s: '%s' (see --help)\n", what,
		arg != NULL ? arg : "");
	return 2;
}

static int
gsim_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s == '\0' || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
gsim_double(const char *s, char **end, double *out)
{
	errno = 0;
	*out = strtod(s, end);
	if (errno != 0 || *end == s || !isfinite(*out) || *out < 0)
		return -1;
	return 0;
}

/* A duration of at most 30 days, with its unit. @retval 0 or -1. */
static int
gsim_dur_n(const char *s, size_t n, uint64_t *us)
{
	static const struct { const char *u; double mult; } units[] = {
		{ "", 1e6 }, { "us", 1 }, { "ms", 1e3 }, { "s", 1e6 },
		{ "m", 60e6 }, { "h", 3600e6 },
	};
	char buf[64], *end;
	double v;
	size_t k;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (gsim_double(buf, &end, &v) != 0)
		return -1;
	for (k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
		if (strcmp(end, units[k].u) == 0 &&
		    v * units[k].mult <= 30.0 * 86400e6) {
			*us = (uint64_t)llround(v * units[k].mult);
			return 0;
		}
	}
	return -1;
}

static int
gsim_dur(const char *s, uint64_t *us)
{
	return gsim_dur_n(s, strlen(s), us);
}

static double
gsim_s(uint64_t us)
{
	return (double)us / 1e6;
}

/* "N@T". */
static int
gsim_parse_fail(struct gsim_opt *o, const char *s)
{
	const char *at = strchr(s, '@');
	char num[24];
	uint64_t n, t;

	if (at == NULL || at == s || (size_t)(at - s) >= sizeof(num))
		return -1;
	memcpy(num, s, (size_t)(at - s));
	num[at - s] = '\0';
	if (gsim_u64(num, 0, SIM_NODES_MAX, &n) != 0 || gsim_dur(at + 1, &t) != 0)
		return -1;
	o->fail_n = (unsigned)n;
	o->fail_at_s = gsim_s(t);
	return 0;
}

/* "T1:T2" or "T1:T2:F", 0 < F < 1. */
static int
gsim_parse_partition(struct gsim_opt *o, const char *s)
{
	const char *c1 = strchr(s, ':'), *c2;
	uint64_t t1, t2;
	char *end;
	double f = 0.5;

	if (c1 == NULL)
		return -1;
	c2 = strchr(c1 + 1, ':');
	if (gsim_dur_n(s, (size_t)(c1 - s), &t1) != 0 ||
	    gsim_dur_n(c1 + 1, c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1),
		       &t2) != 0 || t2 <= t1)
		return -1;
	if (c2 != NULL && (gsim_double(c2 + 1, &end, &f) != 0 || *end != '\0' ||
			   f <= 0 || f >= 1))
		return -1;
	o->has_partition = true;
	o->part_from_s = gsim_s(t1);
	o->part_to_s = gsim_s(t2);
	o->part_frac = f;
	return 0;
}

/* "[N@]T:D". */
static int
gsim_parse_pause(struct gsim_opt *o, const char *s)
{
	const char *at = strchr(s, '@'), *c;
	uint64_t n = 1, t, d;
	char num[24];

	if (at != NULL) {
		if (at == s || (size_t)(at - s) >= sizeof(num))
			return -1;
		memcpy(num, s, (size_t)(at - s));
		num[at - s] = '\0';
		if (gsim_u64(num, 1, SIM_NODES_MAX, &n) != 0)
			return -1;
		s = at + 1;
	}
	c = strchr(s, ':');
	if (c == NULL || gsim_dur_n(s, (size_t)(c - s), &t) != 0 ||
	    gsim_dur(c + 1, &d) != 0 || d == 0)
		return -1;
	o->pause_n = (unsigned)n;
	o->pause_at_s = gsim_s(t);
	o->pause_for_s = gsim_s(d);
	return 0;
}

/* "F" or "F:J". */
static int
gsim_parse_latency(struct gsim_opt *o, const char *s)
{
	const char *c = strchr(s, ':');

	if (gsim_dur_n(s, c ? (size_t)(c - s) : strlen(s), &o->lat_fixed_us))
		return -1;
	o->lat_jitter_us = 0;
	return c != NULL ? gsim_dur(c + 1, &o->lat_jitter_us) : 0;
}

/* A timing flag onto the profile's cfg. @retval 0 or -1 (bad value). */
static int
gsim_timing(struct swim_cfg *c, int code, const char *v)
{
	uint64_t x = 0;

	switch (code) {
	case O_PROBE_INTERVAL:
		return gsim_dur(v, &c->probe_interval_us) || !c->probe_interval_us;
	case O_PROBE_TIMEOUT:
		return gsim_dur(v, &c->probe_timeout_us) || !c->probe_timeout_us;
	case O_GOSSIP_INTERVAL:
		return gsim_dur(v, &c->gossip_interval_us) ||
		       !c->gossip_interval_us;
	case O_GOSSIP_DEAD:
		return gsim_dur(v, &c->gossip_to_the_dead_time_us);
	case O_PUSH_PULL:
		return gsim_dur(v, &c->push_pull_interval_us);
	case O_TCP_TIMEOUT:
		return gsim_dur(v, &c->tcp_timeout_us) || !c->tcp_timeout_us;
	case O_RECLAIM:
		return gsim_dur(v, &c->dead_node_reclaim_time_us);
	default:
		break;
	}
	if (gsim_u64(v, code == O_UDP_BUFFER ? 512 : 0,
		     code == O_UDP_BUFFER ? SWIM_UDP_MAX : 1000, &x) != 0)
		return -1;
	switch (code) {
	case O_GOSSIP_NODES: c->gossip_nodes = (uint32_t)x; break;
	case O_SUSP_MULT: c->suspicion_mult = (uint32_t)x; break;
	case O_SUSP_MAX_MULT: c->suspicion_max_timeout_mult = (uint32_t)x; break;
	case O_RETRANSMIT_MULT: c->retransmit_mult = (uint32_t)x; break;
	case O_INDIRECT: c->indirect_checks = (uint32_t)x; break;
	case O_AWARENESS: c->awareness_max_multiplier = (uint32_t)x; break;
	case O_UDP_BUFFER: c->udp_buffer_size = (uint32_t)x; break;
	default: return -1;
	}
	return 0;
}

static bool
gsim_is_timing(int code)
{
	return (code >= O_PROBE_INTERVAL && code <= O_UDP_BUFFER);
}

static void
gsim_opt_defaults(struct gsim_opt *o)
{
	memset(o, 0, sizeof(*o));
	o->members = 100;
	o->duration_s = 60;
	o->seed = 1;
	snprintf(o->profile, sizeof(o->profile), "lan");
	o->fail_n = 1;
	o->fail_at_s = -1;	/* duration / 4 */
	o->lat_fixed_us = 500;
	o->lat_jitter_us = 500;
	o->join_stagger_us = 20000;
	o->serf = true;
}

/* The flags that pick a mode by name. @retval 0 or 2. */
static int
gsim_opt_mode(struct gsim_opt *o, int c, const char *v)
{
	switch (c) {
	case O_PROFILE:
		if (strcmp(v, "lan") && strcmp(v, "wan") && strcmp(v, "local"))
			return gsim_bad("--profile: lan, wan or local", v);
		snprintf(o->profile, sizeof(o->profile), "%s", v);
		return 0;
	case O_START:
		if (strcmp(v, "steady") == 0)
			o->start = GSIM_START_STEADY;
		else if (strcmp(v, "converged") == 0)
			o->start = GSIM_START_CONVERGED;
		else if (strcmp(v, "join") == 0)
			o->start = GSIM_START_JOIN;
		else
			return gsim_bad("--start: steady, converged or join", v);
		return 0;
	case O_JOIN_STAGGER:
		return gsim_dur(v, &o->join_stagger_us) ?
		       gsim_bad("--join-stagger", v) : 0;
	case O_SYNC:
		if (strcmp(v, "full") == 0)
			o->sync = GSIM_SYNC_FULL;
		else if (strcmp(v, "delta") == 0)
			o->sync = GSIM_SYNC_DELTA;
		else
			return gsim_bad("--sync: full or delta", v);
		return 0;
	default:
		return 2;
	}
}

/* Flags other than the timing ones. @retval 0, 1 (help/version), 2. */
static int
gsim_opt_one(struct gsim_opt *o, int c, const char *v)
{
	uint64_t x;
	int bad = 0;

	switch (c) {
	case O_MEMBERS:
		bad = gsim_u64(v, 2, SIM_NODES_MAX, &x);
		o->members = (unsigned)x;
		return bad ? gsim_bad("--members: 2..20000", v) : 0;
	case O_DURATION:
		bad = gsim_dur(v, &x) || x == 0;
		o->duration_s = gsim_s(x);
		return bad ? gsim_bad("--duration", v) : 0;
	case O_LOSS:
		bad = gsim_u64(v, 0, 100, &x);
		o->loss_pct = (unsigned)x;
		return bad ? gsim_bad("--loss: 0..100", v) : 0;
	case O_FAIL:
		return gsim_parse_fail(o, v) ? gsim_bad("--fail: N@T", v) : 0;
	case O_PARTITION:
		return gsim_parse_partition(o, v) ?
		       gsim_bad("--partition: T1:T2[:F], T1 < T2, 0 < F < 1", v) : 0;
	case O_PAUSE:
		return gsim_parse_pause(o, v) ? gsim_bad("--pause: [N@]T:D", v) : 0;
	case O_SEED:
		return gsim_u64(v, 0, UINT64_MAX, &o->seed) ?
		       gsim_bad("--seed", v) : 0;
	case O_NO_TCP_PINGS:
		return 0;	/* applied with the timing flags */
	case O_LATENCY:
		return gsim_parse_latency(o, v) ? gsim_bad("--latency: F[:J]", v) : 0;
	case O_DELTA_INTERVAL:
		return gsim_dur(v, &o->delta_interval_us) ?
		       gsim_bad("--delta-sync-interval", v) : 0;
	case O_NO_SERF:
		o->serf = false;
		return 0;
	case O_JSON:
		o->json = true;
		return 0;
	case O_WARMUP:
		return gsim_dur(v, &o->warmup_us) ? gsim_bad("--warmup", v) : 0;
	case O_HELP:
		fputs(gsim_usage, stdout);
		return 1;
	case O_VERSION:
		printf("gossip-sim %s\n", GOSSIPD_VERSION);
		return 1;
	default:
		return gsim_opt_mode(o, c, v);
	}
}

/* Cross-flag checks, once everything is read. @retval 0 or 2. */
static int
gsim_opt_check(struct gsim_opt *o)
{
	char v[64];

	if (o->fail_at_s < 0)
		o->fail_at_s = o->duration_s / 4;
	snprintf(v, sizeof(v), "%u", o->fail_n);
	if (o->fail_n >= o->members)
		return gsim_bad("--fail: N must be below --members", v);
	snprintf(v, sizeof(v), "%u", o->pause_n);
	if (o->pause_n + o->fail_n >= o->members)
		return gsim_bad("--pause: N + failed must be below --members", v);
	if (o->cfg.probe_timeout_us > o->cfg.probe_interval_us) {
		snprintf(v, sizeof(v), "%.3fs", o->cfg.probe_timeout_us / 1e6);
		return gsim_bad("--probe-timeout: above the probe interval", v);
	}
	return 0;
}

/* The timing flags, in order, over the profile. @retval 0 or 2. */
static int
gsim_opt_apply(struct gsim_opt *o, int argc, char **argv)
{
	int c;

	swim_cfg_default_profile(&o->cfg, o->profile);
	optind = 0;
	while ((c = getopt_long(argc, argv, "", gsim_longopts, NULL)) != -1) {
		if (c == O_NO_TCP_PINGS)
			o->cfg.disable_tcp_pings = true;
		else if (gsim_is_timing(c) &&
			 gsim_timing(&o->cfg, c, optarg) != 0)
			return gsim_bad(gsim_longopts[c - O_MEMBERS].name,
					optarg);
	}
	if (o->sync == GSIM_SYNC_DELTA) {
		/* Every member advertises the capability; the delta sync
		 * takes the periodic push/pull's place and cadence. */
		o->cfg.vsn_caps = SWIM_DSYNC_CAP_V1;
		if (o->delta_interval_us != 0)
			o->cfg.push_pull_interval_us = o->delta_interval_us;
	}
	return gsim_opt_check(o);
}

int
gsim_opt_parse(struct gsim_opt *o, int argc, char **argv)
{
	int c, rc;

	gsim_opt_defaults(o);
	opterr = 0;	/* our own one-line errors */
	optind = 0;
	while ((c = getopt_long(argc, argv, ":", gsim_longopts, NULL)) != -1) {
		if (c == '?' || c == ':') {
			const char *a = optind > 0 && optind <= argc ?
					argv[optind - 1] : "";

			return gsim_bad(c == ':' ? "missing value" :
					"unknown option", a);
		}
		if (gsim_is_timing(c))
			continue;
		rc = gsim_opt_one(o, c, optarg);
		if (rc != 0)
			return rc;
	}
	if (optind < argc)
		return gsim_bad("unexpected argument", argv[optind]);
	return gsim_opt_apply(o, argc, argv);
}
