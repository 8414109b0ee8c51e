/* SPDX-License-Identifier: MIT */
/*
 * gossip-sim's report: one JSON object (jansson, keys in a fixed order,
 * so the same seed prints the same bytes but for wall_s) or a summary.
 * A figure without a sample (no failure, no partition) is null.
 */
#include "gsim.h"

#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* A real, rounded to 6 significant decimals, or null when negative. */
static json_t *
gsim_num(double v)
{
	if (v < 0 || !isfinite(v))
		return json_null();
	return json_real(round(v * 1e6) / 1e6);
}

static json_t *
gsim_counters_json(const struct sim_counters *c)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
			 " s:I, s:I, s:I, s:I, s:I, s:I}",
		"events", (json_int_t)c->events,
		"packets_sent", (json_int_t)c->packets_sent,
		"packets_dropped", (json_int_t)c->packets_dropped,
		"udp_bytes", (json_int_t)c->bytes_sent,
		"push_pulls", (json_int_t)c->push_pulls,
		"push_pulls_failed", (json_int_t)c->push_pulls_failed,
		"push_pull_bytes", (json_int_t)c->pp_bytes,
		"tcp_pings", (json_int_t)c->tcp_pings,
		"serf_events", (json_int_t)c->layer_events,
		"dsync_insync", (json_int_t)c->dsync_insync,
		"dsync_transfers", (json_int_t)c->dsync_transfers,
		"dsync_errors", (json_int_t)c->dsync_errors,
		"dsync_fallbacks", (json_int_t)c->dsync_fallbacks,
		"stuck_deadlines", (json_int_t)c->stuck_deadlines,
		"merge_errors", (json_int_t)c->push_pull_merge_errs,
		"view_mismatches", (json_int_t)c->view_mismatches);
}

/* The run's parameters, so a JSON line says what produced it. */
static json_t *
gsim_params_json(const struct gsim_opt *o)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:b, s:I, s:I, s:I, s:I}",
		"profile", o->profile,
		"sync", o->sync == GSIM_SYNC_DELTA ? "delta" : "full",
		"start", o->start == GSIM_START_JOIN ? "join" :
			 o->start == GSIM_START_STEADY ? "steady" : "converged",
		"seed", (json_int_t)o->seed,
		"serf", o->serf,
		"loss_pct", (json_int_t)o->loss_pct,
		"failed", (json_int_t)o->fail_n,
		"paused", (json_int_t)o->pause_n,
		"push_pull_interval_us", (json_int_t)o->cfg.push_pull_interval_us);
}

/* How a field of struct gsim_result prints. */
enum gsim_kind {
	GSIM_K_NUM,	/* double, gsim_num: null without a sample */
	GSIM_K_MS,	/* double, rounded to the millisecond */
	GSIM_K_UINT,	/* unsigned */
	GSIM_K_U64,	/* uint64_t */
};

/* One key of the JSON object and the result field it shows. */
struct gsim_field {
	const char *key;
	size_t off;		/* offsetof(struct gsim_result, ...) */
	enum gsim_kind kind;
};

#define GSIM_F(key, field, kind)                                        \
	{ key, offsetof(struct gsim_result, field), GSIM_K_##kind }

/* The keys in the order they print (after "members"). */
static const struct gsim_field gsim_fields[] = {
	GSIM_F("simulated_s", simulated_s, NUM),
	GSIM_F("wall_s", wall_s, MS),
	GSIM_F("detected", detected, UINT),
	GSIM_F("detect_p50_s", detect_p50_s, NUM),
	GSIM_F("detect_p99_s", detect_p99_s, NUM),
	GSIM_F("detect_max_s", detect_max_s, NUM),
	GSIM_F("first_detect_p50_s", first_detect_p50_s, NUM),
	GSIM_F("first_detect_min_s", first_detect_min_s, NUM),
	GSIM_F("dissemination_periods", diss_periods_p50, NUM),
	GSIM_F("dissemination_periods_max", diss_periods_max, NUM),
	GSIM_F("dissemination_periods_expected", diss_periods_expected, NUM),
	GSIM_F("false_positives", false_positives, U64),
	GSIM_F("false_suspicions", false_suspicions, U64),
	GSIM_F("partition_deaths", partition_deaths, U64),
	GSIM_F("pause_deaths", pause_deaths, U64),
	GSIM_F("heal_s", heal_s, NUM),
	GSIM_F("converge_s", converge_s, NUM),
	GSIM_F("bytes_per_member_per_s", bytes_per_member_per_s, NUM),
	GSIM_F("udp_bytes_per_member_per_s", udp_bytes_per_member_per_s, NUM),
	GSIM_F("sync_bytes_per_member_per_s", sync_bytes_per_member_per_s,
	       NUM),
	GSIM_F("join_bytes_per_member_per_s", join_bytes_per_member_per_s,
	       NUM),
	GSIM_F("delta_syncs", delta_syncs, U64),
	GSIM_F("memory_bytes_per_member", memory_bytes_per_member, NUM),
	GSIM_F("node_fixed_bytes", node_fixed_bytes, NUM),
};

/* The JSON value of one field of r. */
static json_t *
gsim_field_json(const struct gsim_result *r, const struct gsim_field *f)
{
	const char *p = (const char *)r + f->off;
	double d;
	unsigned u;
	uint64_t u64;

	switch (f->kind) {
	case GSIM_K_NUM:
		memcpy(&d, p, sizeof(d));
		return gsim_num(d);
	case GSIM_K_MS:
		memcpy(&d, p, sizeof(d));
		return json_real(round(d * 1e3) / 1e3);
	case GSIM_K_UINT:
		memcpy(&u, p, sizeof(u));
		return json_integer(u);
	case GSIM_K_U64:
		memcpy(&u64, p, sizeof(u64));
		return json_integer((json_int_t)u64);
	}
	return json_null();
}

static json_t *
gsim_json(const struct gsim_opt *o, const struct gsim_result *r)
{
	json_t *j = json_object();

	json_object_set_new(j, "members", json_integer(o->members));
	for (size_t i = 0; i < sizeof(gsim_fields) / sizeof(gsim_fields[0]);
	     i++)
		json_object_set_new(j, gsim_fields[i].key,
				    gsim_field_json(r, &gsim_fields[i]));
	json_object_set_new(j, "params", gsim_params_json(o));
	json_object_set_new(j, "counters", gsim_counters_json(&r->cnt));
	return j;
}

static void
gsim_line(const char *what, double v, const char *unit)
{
	if (v < 0)
		printf("  %-34s -\n", what);
	else
		printf("  %-34s %.3f %s\n", what, v, unit);
}

static void
gsim_summary(const struct gsim_opt *o, const struct gsim_result *r)
{
	printf("gossip-sim: %u members, %s profile, %.0f s simulated in "
	       "%.1f s, seed %llu, %s sync%s\n", o->members, o->profile,
	       r->simulated_s, r->wall_s, (unsigned long long)o->seed,
	       o->sync == GSIM_SYNC_DELTA ? "delta" : "full",
	       o->serf ? ", Serf layer" : "");
	printf("  crashed %u, dead everywhere %u\n", r->failed, r->detected);
	gsim_line("detection p50", r->detect_p50_s, "s");
	gsim_line("detection p99", r->detect_p99_s, "s");
	gsim_line("detection max", r->detect_max_s, "s");
	gsim_line("dissemination (gossip periods)", r->diss_periods_p50, "");
	gsim_line("  SWIM's expectation", r->diss_periods_expected, "");
	printf("  %-34s %llu dead, %llu suspect\n", "false positives",
	       (unsigned long long)r->false_positives,
	       (unsigned long long)r->false_suspicions);
	gsim_line("heal after the partition", r->heal_s, "s");
	gsim_line("convergence after the last join", r->converge_s, "s");
	gsim_line("bytes per member per s", r->bytes_per_member_per_s, "B");
	gsim_line("  of which periodic sync", r->sync_bytes_per_member_per_s,
		  "B");
	gsim_line("  of which join push/pulls", r->join_bytes_per_member_per_s,
		  "B");
	gsim_line("memory per member per node", r->memory_bytes_per_member,
		  "B");
	gsim_line("  plus per node", r->node_fixed_bytes, "B");
}

int
gsim_print(const struct gsim_opt *o, const struct gsim_result *r)
{
	json_t *j;
	int rc;

	if (!o->json) {
		gsim_summary(o, r);
		return 0;
	}
	j = gsim_json(o, r);
	if (j == NULL)
		return -1;
	rc = json_dumpf(j, stdout, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	putchar('\n');
	json_decref(j);
	return rc;
}
