/* SPDX-License-Identifier: MIT */
/**
 * @file
 * gossip-sim: the simulator (sim.h) as an operator's tool. One run is a
 * pool of N members (real swim/ cores and Serf layers) on the fake
 * network, a timeline (failures, a partition, pauses) and a report.
 * gsim_opt.c parses the command line, gsim_run.c runs and measures,
 * gsim_out.c prints.
 */
#ifndef GSIM_H_INCLUDED
#define GSIM_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "sim.h"

/** How the pool starts. */
enum gsim_start {
	GSIM_START_STEADY,	/* converged, the join's gossip long done */
	GSIM_START_CONVERGED,	/* sim_bootstrap: everyone knows everyone */
	GSIM_START_JOIN,	/* node k joins node 0 at k x join_stagger */
};

/** Anti-entropy between members. */
enum gsim_sync {
	GSIM_SYNC_FULL,		/* memberlist's push/pull */
	GSIM_SYNC_DELTA,	/* swim_dsync: digests, then what differs */
};

struct gsim_opt {
	unsigned members;
	double duration_s;
	unsigned loss_pct;
	uint64_t seed;
	char profile[8];
	struct swim_cfg cfg;		/* profile + timing flags */
	unsigned fail_n;		/* --fail N@T */
	double fail_at_s;
	bool has_partition;		/* --partition T1:T2[:F] */
	double part_from_s, part_to_s, part_frac;
	unsigned pause_n;		/* --pause [N@]T:D */
	double pause_at_s, pause_for_s;
	uint64_t lat_fixed_us, lat_jitter_us;	/* --latency */
	enum gsim_start start;
	uint64_t join_stagger_us;
	uint64_t warmup_us;		/* run before t0 (steady, converged) */
	enum gsim_sync sync;
	uint64_t delta_interval_us;	/* --delta-sync-interval, 0: the cfg's */
	bool serf;			/* run the Serf layer (--no-serf: off) */
	bool json;
};

/**
 * Parse argv into o (defaults first). @retval 0 to run, 1 when --help or
 * --version was printed (exit 0), 2 on a bad flag (one line on stderr).
 */
int gsim_opt_parse(struct gsim_opt *o, int argc, char **argv);

/** What a run measured. Times in s; -1 when there is no sample. */
struct gsim_result {
	double simulated_s, wall_s;
	unsigned failed, detected;
	double detect_p50_s, detect_p99_s, detect_max_s;
	double first_detect_p50_s, first_detect_min_s;	/* kill -> 1st dead */
	double diss_periods_p50, diss_periods_max, diss_periods_expected;
	uint64_t false_positives, false_suspicions;
	uint64_t partition_deaths, pause_deaths;
	double heal_s;			/* partition end -> full mesh */
	double converge_s;		/* last join -> full mesh (--start join) */
	double bytes_per_member_per_s;
	double udp_bytes_per_member_per_s;
	double sync_bytes_per_member_per_s;	/* periodic: full or delta */
	double join_bytes_per_member_per_s;	/* join push/pulls (reconnects) */
	double memory_bytes_per_member;	/* table heap / (members x members) */
	double node_fixed_bytes;	/* heap of one node knowing nobody */
	uint64_t delta_syncs;		/* digest exchanges in the run */
	struct sim_counters cnt;
};

int gsim_run(const struct gsim_opt *o, struct gsim_result *r);

/** Print r as one JSON object (o->json) or a short summary. @retval 0/-1. */
int gsim_print(const struct gsim_opt *o, const struct gsim_result *r);

#endif /* GSIM_H_INCLUDED */
