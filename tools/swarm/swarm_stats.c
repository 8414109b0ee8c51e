/* SPDX-License-Identifier: MIT */
/*
 * The progress line (one per second on stderr) and the --json summary.
 * Callers hold sw->lock.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "swarm_int.h"

#define SWARM_JSON_FAIL_LIST 1000	/* failures listed one by one */

void
swarm_progress(struct swarm *sw)
{
	const struct swarm_stats *a = &sw->st, *b = &sw->st_prev;

	if (sw->now < sw->next_progress)
		return;
	sw->next_progress += 1000000;
	fprintf(stderr,
		"[swarm %6.1fs] joined %u/%u alive %u real %u | in: ping %"
		PRIu64 "/s ack %" PRIu64 "/s | out: ack %" PRIu64
		"/s probe %" PRIu64 "/s | seen suspect %" PRIu64 " dead %"
		PRIu64 " | fp %" PRIu64 " | kB/s in %.1f out %.1f\n",
		sw->now / 1e6, sw->n_joined, sw->cfg.members, sw->n_alive,
		sw->nb_real, a->pings_in - b->pings_in, a->acks_in - b->acks_in,
		a->acks_out - b->acks_out, a->probes_out - b->probes_out,
		a->suspect_seen, a->dead_seen, a->fp_suspect + a->fp_dead,
		(a->bytes_in - b->bytes_in) / 1e3,
		(a->bytes_out - b->bytes_out) / 1e3);
	sw->st_prev = sw->st;
}

/* {"n":..,"p50":..,"p99":..,"max":..} of v (sorted in place). */
static void
swarm_json_dist(FILE *f, const char *key, double *v, size_t n)
{
	fprintf(f, "\"%s\": {\"n\": %zu, \"p50\": %.3f, \"p99\": %.3f, "
		"\"max\": %.3f}", key, n, swarm_percentile(v, n, 50),
		swarm_percentile(v, n, 99), swarm_percentile(v, n, 100));
}

/* Per failure and real node: seconds from failure to the first claim. */
static size_t
swarm_json_collect(const struct swarm *sw, const uint64_t *seen, double *v)
{
	size_t n = 0;

	for (uint32_t k = 0; k < sw->nb_fails; k++)
		for (unsigned r = 0; r < sw->nb_real && r < SWARM_REAL_MAX;
		     r++) {
			uint64_t t = seen[(size_t)k * SWARM_REAL_MAX + r];

			if (t != 0)
				v[n++] = (double)(t - sw->fails[k].t_fail) / 1e6;
		}
	return n;
}

static void
swarm_json_failures(struct swarm *sw, FILE *f)
{
	size_t cap = (size_t)sw->nb_fails * SWARM_REAL_MAX + 1, n;
	double *v = malloc(cap * sizeof(*v));
	uint32_t n_pool = sw->pool_max;

	if (v == NULL)
		return;
	fprintf(f, "  \"failures\": {\"injected\": %u, \"real_nodes\": %u, ",
		sw->nb_fails, sw->nb_real);
	n = swarm_json_collect(sw, sw->seen_dead, v);
	fprintf(f, "\"pairs\": %zu, \"pairs_declared_dead\": %zu,\n    ",
		(size_t)sw->nb_fails * sw->nb_real, n);
	swarm_json_dist(f, "dead_s", v, n);
	n = swarm_json_collect(sw, sw->seen_suspect, v);
	fprintf(f, ",\n    ");
	swarm_json_dist(f, "suspect_s", v, n);
	n = 0;
	for (uint32_t k = 0; k < sw->nb_fails; k++)
		if (sw->fails[k].t_dead != 0)
			v[n++] = (sw->fails[k].t_dead - sw->fails[k].t_fail) /
				 1e6;
	fprintf(f, ",\n    ");
	swarm_json_dist(f, "simulated_pool_dead_s", v, n);
	fprintf(f, ",\n    \"lifeguard_predicted_s\": %.3f, "
		"\"suspicion_timeout_min_s\": %.3f, "
		"\"suspicion_timeout_max_s\": %.3f, \"pool_n\": %u,\n"
		"    \"list\": [",
		swarm_sim_predict_s(&sw->cfg.timing, n_pool),
		swarm_sim_timeout_us(&sw->cfg.timing, n_pool, UINT32_MAX) / 1e6,
		swarm_sim_timeout_us(&sw->cfg.timing, n_pool, 0) / 1e6, n_pool);
	for (uint32_t k = 0; k < sw->nb_fails && k < SWARM_JSON_FAIL_LIST;
	     k++) {
		char name[SWARM_NAME_LEN_MAX + 1];
		int nl = swarm_map_name(&sw->map, sw->fails[k].idx, name,
					SWARM_NAME_LEN_MAX);

		name[nl > 0 ? nl : 0] = '\0';
		fprintf(f, "%s\n      {\"member\": \"%s\", \"t_fail_s\": %.3f, "
			"\"dead_s\": [", k ? "," : "", name,
			sw->fails[k].t_fail / 1e6);
		for (unsigned r = 0; r < sw->nb_real; r++) {
			uint64_t t = sw->seen_dead[(size_t)k * SWARM_REAL_MAX +
						   r];
			if (t != 0)
				fprintf(f, "%s%.3f", r ? ", " : "",
					(t - sw->fails[k].t_fail) / 1e6);
			else
				fprintf(f, "%snull", r ? ", " : "");
		}
		fprintf(f, "]}");
	}
	fprintf(f, "]},\n");
	free(v);
}

static void
swarm_json_rates(const struct swarm *sw, FILE *f)
{
	double s = sw->now > 0 ? sw->now / 1e6 : 1.0;
	const struct swarm_stats *st = &sw->st;

	fprintf(f, "  \"rates\": {\"pings_in_per_s\": %.1f, "
		"\"acks_out_per_s\": %.1f, \"probes_out_per_s\": %.1f, "
		"\"acks_in_per_s\": %.1f, \"bytes_in_per_s\": %.1f, "
		"\"bytes_out_per_s\": %.1f},\n",
		st->pings_in / s, st->acks_out / s, st->probes_out / s,
		st->acks_in / s, st->bytes_in / s, st->bytes_out / s);
	fprintf(f, "  \"counts\": {\"pings_in\": %" PRIu64 ", \"acks_out\": %"
		PRIu64 ", \"probes_out\": %" PRIu64 ", \"acks_in\": %" PRIu64
		", \"indirect_in\": %" PRIu64 ", \"nacks_out\": %" PRIu64
		", \"nacks_in\": %" PRIu64 ", \"pushpull_in\": %" PRIu64
		", \"pushpull_out\": %" PRIu64 ", \"tcp_pings_in\": %" PRIu64
		", \"dropped_by_loss\": %" PRIu64 ", \"bad_in\": %" PRIu64
		", \"stream_errors\": %" PRIu64 ", \"send_errors\": %" PRIu64
		", \"joins\": %" PRIu64 ", \"leaves\": %" PRIu64
		", \"broadcasts_dropped\": %" PRIu64 ", \"queries\": %" PRIu64
		"},\n",
		st->pings_in, st->acks_out, st->probes_out, st->acks_in,
		st->indirect_in, st->nacks_out, st->nacks_in, st->pp_in,
		st->pp_out, st->tcp_ping_in, st->dropped, st->bad_in,
		st->stream_err, st->send_err, st->joins, st->leaves,
		st->bq_drop, st->queries);
}

static void
swarm_json_fp(const struct swarm *sw, FILE *f)
{
	uint64_t members = 0;

	for (uint32_t i = 0; i < sw->n_joined; i++)
		members += sw->m[i].fp != 0;
	fprintf(f, "  \"false_positives\": {\"suspect\": %" PRIu64
		", \"dead\": %" PRIu64 ", \"members\": %" PRIu64
		", \"refutes\": %" PRIu64 "},\n",
		sw->st.fp_suspect, sw->st.fp_dead, members, sw->st.refutes);
	fprintf(f, "  \"swarm_side\": {\"probe_failures\": %" PRIu64
		", \"seen_suspect_msgs\": %" PRIu64 ", \"seen_dead_msgs\": %"
		PRIu64 "},\n", sw->st.probe_fail, sw->st.suspect_seen,
		sw->st.dead_seen);
}

int
swarm_json(struct swarm *sw, const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fprintf(f, "{\n  \"members\": %u, \"joined\": %u, \"real_nodes\": %u, "
		"\"duration_s\": %.3f, \"join_time_s\": %.3f,\n"
		"  \"profile\": \"%s\", \"probe_rate_mult\": %g, \"loss\": %g, "
		"\"encrypted\": %s, \"bytes_per_member\": %zu,\n",
		sw->cfg.members, sw->n_joined, sw->nb_real, sw->now / 1e6,
		sw->t_join_done / 1e6, sw->cfg.profile, sw->cfg.probe_mult,
		sw->cfg.loss, sw->ring != NULL ? "true" : "false",
		sizeof(struct swarm_member));
	swarm_json_rates(sw, f);
	swarm_json_fp(sw, f);
	swarm_json_failures(sw, f);
	fprintf(f, "  \"real\": [");
	for (unsigned r = 0; r < sw->nb_real; r++)
		fprintf(f, "%s{\"name\": \"%.*s\", \"probes\": %" PRIu64
			", \"acks\": %" PRIu64 ", \"failed_probes\": %" PRIu64
			"}", r ? ", " : "", sw->real[r].name_len,
			sw->real[r].name, sw->real[r].probes, sw->real[r].acks,
			sw->real[r].fails);
	fprintf(f, "]\n}\n");
	return fclose(f) == 0 ? 0 : -1;
}
