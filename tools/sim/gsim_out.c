/* SPDX-License-Identifier: MIT */
/*
 * gossip-sim's report: one JSON object (jansson, keys in a fixed order,
 * so the same seed prints the same bytes but for wall_s) or a summary.
 * A figure without a sample (no failure, no partition) is null.
 */
#include "gsim.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>

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

static json_t *
gsim_json(const struct gsim_opt *o, const struct gsim_result *r)
{
	json_t *j = json_object();

	json_object_set_new(j, "members", json_integer(o->members));
	json_object_set_new(j, "simulated_s", gsim_num(r->simulated_s));
	json_object_set_new(j, "wall_s", json_real(round(r->wall_s * 1e3) / 1e3));
	json_object_set_new(j, "detected", json_integer(r->detected));
	json_object_set_new(j, "detect_p50_s", gsim_num(r->detect_p50_s));
	json_object_set_new(j, "detect_p99_s", gsim_num(r->detect_p99_s));
	json_object_set_new(j, "detect_max_s", gsim_num(r->detect_max_s));
	json_object_set_new(j, "first_detect_p50_s",
			    gsim_num(r->first_detect_p50_s));
	json_object_set_new(j, "first_detect_min_s",
			    gsim_num(r->first_detect_min_s));
	json_object_set_new(j, "dissemination_periods",
			    gsim_num(r->diss_periods_p50));
	json_object_set_new(j, "dissemination_periods_max",
			    gsim_num(r->diss_periods_max));
	json_object_set_new(j, "dissemination_periods_expected",
			    gsim_num(r->diss_periods_expected));
	json_object_set_new(j, "false_positives",
			    json_integer((json_int_t)r->false_positives));
	json_object_set_new(j, "false_suspicions",
			    json_integer((json_int_t)r->false_suspicions));
	json_object_set_new(j, "partition_deaths",
			    json_integer((json_int_t)r->partition_deaths));
	json_object_set_new(j, "pause_deaths",
			    json_integer((json_int_t)r->pause_deaths));
	json_object_set_new(j, "heal_s", gsim_num(r->heal_s));
	json_object_set_new(j, "converge_s", gsim_num(r->converge_s));
	json_object_set_new(j, "bytes_per_member_per_s",
			    gsim_num(r->bytes_per_member_per_s));
	json_object_set_new(j, "udp_bytes_per_member_per_s",
			    gsim_num(r->udp_bytes_per_member_per_s));
	json_object_set_new(j, "sync_bytes_per_member_per_s",
			    gsim_num(r->sync_bytes_per_member_per_s));
	json_object_set_new(j, "join_bytes_per_member_per_s",
			    gsim_num(r->join_bytes_per_member_per_s));
	json_object_set_new(j, "delta_syncs",
			    json_integer((json_int_t)r->delta_syncs));
	json_object_set_new(j, "memory_bytes_per_member",
			    gsim_num(r->memory_bytes_per_member));
	json_object_set_new(j, "node_fixed_bytes",
			    gsim_num(r->node_fixed_bytes));
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
