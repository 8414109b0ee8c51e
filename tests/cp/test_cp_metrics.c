/* SPDX-License-Identifier: MIT */
/*
 * The metrics renderer (cp_metrics_render.c): Prometheus text format 0.0.4
 * line by line (names, labels, one HELP and TYPE per family, families
 * contiguous), histogram buckets cumulative with +Inf = count, the
 * dataplane's control share, and the statsd lines (deltas, datagram size).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_metrics.h"

static const double tb[] = { 0.001, 0.01, 0.1, 1 };

static void
fill(struct cp_metrics_input *in)
{
	memset(in, 0, sizeof(*in));
	in->members[CP_MS_ALIVE] = 7;
	in->members[CP_MS_SUSPECT] = 1;
	in->members[CP_MS_FAILED] = 2;
	in->members[CP_MS_LEFT] = 3;
	in->members[CP_MS_LEAVING] = 4;
	in->swim.packets_bad = 11;
	in->serf.msgs_bad = 12;
	in->sync.bad_input = 13;
	in->has_rpc = true;
	in->rpc.bad_input = 14;
	in->nb_lcores = 2;
	in->lcore[0].st.rx_pkts = 100;
	in->lcore[1].st.rx_pkts = 50;
	in->lcore[1].st.drop_malformed = 5;
	in->lcore[0].rx_depth = 3;
	in->dp.rx_pkts = 150;
	in->dp.drop_malformed = 5;
	in->dp.drop_tx = 9;	/* control's send-side drops only */
	cp_metrics_hist_init(&in->probe_rtt, tb, 4);
	cp_metrics_hist_init(&in->detect, tb, 4);
	cp_metrics_hist_init(&in->push_pull, tb, 4);
}

static char *
render(const struct cp_metrics_input *in)
{
	struct cp_metrics_buf b = { 0 };

	cr_assert_eq(cp_metrics_render(in, &b), 0);
	cr_assert_not_null(b.p);
	cr_assert_eq(strlen(b.p), b.len);
	return b.p;
}

/* The sample line for key (name plus labels), or NULL. */
static const char *
find_line(const char *text, const char *key)
{
	size_t kl = strlen(key);

	for (const char *l = text; *l != '\0';) {
		if (strncmp(l, key, kl) == 0 && l[kl] == ' ')
			return l;
		l = strchr(l, '\n');
		if (l == NULL)
			break;
		l++;
	}
	return NULL;
}

static unsigned long long
value_of(const char *text, const char *key)
{
	const char *l = find_line(text, key);

	cr_assert_not_null(l, "no sample %s", key);
	return strtoull(l + strlen(key) + 1, NULL, 10);
}

Test(cp_metrics, name_ok)
{
	cr_assert(cp_metrics_name_ok("gossipd_members"));
	cr_assert(cp_metrics_name_ok("a:b_C9"));
	cr_assert(cp_metrics_name_ok("_x"));
	cr_assert_not(cp_metrics_name_ok(""));
	cr_assert_not(cp_metrics_name_ok(NULL));
	cr_assert_not(cp_metrics_name_ok("9lives"));
	cr_assert_not(cp_metrics_name_ok("a-b"));
	cr_assert_not(cp_metrics_name_ok("a b"));
	cr_assert_not(cp_metrics_name_ok("a.b"));
}

/* Every line is a comment or `name[{k="v",...}] value`; each family has
 * one HELP and one TYPE, both before its first sample, and its samples
 * are contiguous. */
Test(cp_metrics, format)
{
	struct cp_metrics_input in;
	char fams[128][96], cur[96] = "";
	unsigned nb_fams = 0, nb_lines = 0;
	char *text, *save = NULL;

	fill(&in);
	text = render(&in);
	cr_assert_eq(text[strlen(text) - 1], '\n');
	for (char *l = strtok_r(text, "\n", &save); l != NULL;
	     l = strtok_r(NULL, "\n", &save), nb_lines++) {
		char name[96], type[32];

		if (strncmp(l, "# HELP ", 7) == 0) {
			cr_assert_eq(sscanf(l + 7, "%95s", name), 1);
			cr_assert(cp_metrics_name_ok(name), "%s", name);
			for (unsigned i = 0; i < nb_fams; i++)
				cr_assert_str_neq(fams[i], name,
						  "family %s twice", name);
			cr_assert_lt(nb_fams, 128);
			strcpy(fams[nb_fams++], name);
			strcpy(cur, name);
			continue;
		}
		if (strncmp(l, "# TYPE ", 7) == 0) {
			cr_assert_eq(sscanf(l + 7, "%95s %31s", name, type), 2);
			cr_assert_str_eq(name, cur);
			cr_assert(strcmp(type, "gauge") == 0 ||
				  strcmp(type, "counter") == 0 ||
				  strcmp(type, "histogram") == 0, "%s", type);
			continue;
		}
		cr_assert_neq(l[0], '#', "stray comment %s", l);
		size_t n = strcspn(l, "{ ");
		cr_assert_lt(n, sizeof(name));
		memcpy(name, l, n);
		name[n] = '\0';
		cr_assert(cp_metrics_name_ok(name), "%s", l);
		/* the sample belongs to the current family */
		cr_assert(strncmp(name, cur, strlen(cur)) == 0, "%s in %s",
			  name, cur);
		if (l[n] == '{') {
			const char *e = strchr(l, '}');

			cr_assert_not_null(e, "%s", l);
			cr_assert(strstr(l, "=\"") != NULL, "%s", l);
			n = (size_t)(e - l) + 1;
		}
		cr_assert_eq(l[n], ' ', "%s", l);
		cr_assert(strspn(l + n + 1, "0123456789.e+-") ==
			  strlen(l + n + 1), "value of %s", l);
	}
	cr_assert_gt(nb_fams, 20);
	cr_assert_gt(nb_lines, 100);
	free(text);
}

Test(cp_metrics, values)
{
	struct cp_metrics_input in;
	char *t;

	fill(&in);
	t = render(&in);
	cr_assert_eq(value_of(t, "gossipd_members{status=\"alive\"}"), 7);
	cr_assert_eq(value_of(t, "gossipd_members{status=\"suspect\"}"), 1);
	cr_assert_eq(value_of(t, "gossipd_members{status=\"failed\"}"), 2);
	cr_assert_eq(value_of(t, "gossipd_members{status=\"left\"}"), 3);
	cr_assert_eq(value_of(t, "gossipd_members{status=\"leaving\"}"), 4);
	cr_assert_eq(value_of(t, "gossipd_dropped_total{layer=\"swim\","
			      "reason=\"malformed\"}"), 11);
	cr_assert_eq(value_of(t, "gossipd_dropped_total{layer=\"serf\","
			      "reason=\"malformed\"}"), 12);
	cr_assert_eq(value_of(t, "gossipd_tcp_errors_total{reason="
			      "\"bad_input\"}"), 13);
	cr_assert_eq(value_of(t, "gossipd_rpc_errors_total{reason="
			      "\"bad_input\"}"), 14);
	cr_assert_eq(value_of(t, "gossipd_dp_lcores"), 2);
	cr_assert_eq(value_of(t, "gossipd_dp_ring_depth{lcore=\"0\","
			      "ring=\"rx\"}"), 3);
	cr_assert_eq(value_of(t, "gossipd_dp_packets_total{lcore=\"1\","
			      "kind=\"rx\"}"), 50);
	cr_assert_eq(value_of(t, "gossipd_dp_dropped_total{lcore=\"1\","
			      "reason=\"malformed\"}"), 5);
	/* control's share is the sum minus every lcore's own */
	cr_assert_eq(value_of(t, "gossipd_dp_packets_total{lcore="
			      "\"control\",kind=\"rx\"}"), 0);
	cr_assert_eq(value_of(t, "gossipd_dp_dropped_total{lcore="
			      "\"control\",reason=\"tx\"}"), 9);
	cr_assert_eq(value_of(t, "gossipd_dp_dropped_total{lcore="
			      "\"control\",reason=\"malformed\"}"), 0);
	free(t);
}

Test(cp_metrics, no_rpc_no_rpc_family)
{
	struct cp_metrics_input in;
	char *t;

	fill(&in);
	in.has_rpc = false;
	t = render(&in);
	cr_assert_null(strstr(t, "gossipd_rpc_"));
	cr_assert_not_null(strstr(t, "gossipd_tcp_errors_total"));
	free(t);
}

Test(cp_metrics, hist_observe_le)
{
	struct cp_metrics_hist h;

	cp_metrics_hist_init(&h, tb, 4);
	cp_metrics_hist_observe(&h, 0.001);	/* le is <=: first bucket */
	cp_metrics_hist_observe(&h, 0.0011);
	cp_metrics_hist_observe(&h, 5);		/* beyond every bound */
	cp_metrics_hist_observe(&h, 0);
	cr_assert_eq(h.counts[0], 2);
	cr_assert_eq(h.counts[1], 1);
	cr_assert_eq(h.counts[2], 0);
	cr_assert_eq(h.counts[4], 1);
	cr_assert_eq(h.count, 4);
	cr_assert_float_eq(h.sum, 5.0021, 1e-9);
	/* more bounds than fit: clamped, never past counts[] */
	static double many[CP_METRICS_BUCKETS_MAX + 5];
	for (unsigned i = 0; i < CP_METRICS_BUCKETS_MAX + 5; i++)
		many[i] = i;
	cp_metrics_hist_init(&h, many, CP_METRICS_BUCKETS_MAX + 5);
	cr_assert_eq(h.nb, CP_METRICS_BUCKETS_MAX);
	cp_metrics_hist_observe(&h, 1000);
	cr_assert_eq(h.counts[CP_METRICS_BUCKETS_MAX], 1);
}

Test(cp_metrics, hist_cumulative)
{
	struct cp_metrics_input in;
	static const double vals[] = { 0.0005, 0.0005, 0.005, 0.05, 0.5,
				       2, 3 };
	char *t;

	fill(&in);
	for (unsigned i = 0; i < 7; i++)
		cp_metrics_hist_observe(&in.probe_rtt, vals[i]);
	cp_metrics_hist_observe(&in.detect, 4.5);
	t = render(&in);
	cr_assert_eq(value_of(t, "gossipd_probe_rtt_seconds_bucket"
			      "{le=\"0.001\"}"), 2);
	cr_assert_eq(value_of(t, "gossipd_probe_rtt_seconds_bucket"
			      "{le=\"0.01\"}"), 3);
	cr_assert_eq(value_of(t, "gossipd_probe_rtt_seconds_bucket"
			      "{le=\"0.1\"}"), 4);
	cr_assert_eq(value_of(t, "gossipd_probe_rtt_seconds_bucket"
			      "{le=\"1\"}"), 5);
	cr_assert_eq(value_of(t, "gossipd_probe_rtt_seconds_bucket"
			      "{le=\"+Inf\"}"), 7);
	cr_assert_eq(value_of(t, "gossipd_probe_rtt_seconds_count"), 7);
	const char *sum = find_line(t, "gossipd_probe_rtt_seconds_sum");
	cr_assert_not_null(sum);
	cr_assert_float_eq(strtod(sum + 30, NULL), 5.556, 1e-6);
	cr_assert_not_null(strstr(t, "# TYPE gossipd_probe_rtt_seconds "
				  "histogram\n"));
	cr_assert_eq(value_of(t, "gossipd_failure_detect_seconds_bucket"
			      "{le=\"1\"}"), 0);
	cr_assert_eq(value_of(t, "gossipd_failure_detect_seconds_bucket"
			      "{le=\"+Inf\"}"), 1);
	cr_assert_eq(value_of(t, "gossipd_failure_detect_seconds_count"), 1);
	cr_assert_eq(value_of(t, "gossipd_push_pull_seconds_bucket"
			      "{le=\"+Inf\"}"), 0);
	cr_assert_eq(value_of(t, "gossipd_push_pull_seconds_count"), 0);
	free(t);
}

Test(cp_metrics, printf_grows_and_latches_oom)
{
	struct cp_metrics_buf b = { 0 };
	char big[10000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(cp_metrics_printf(&b, "%s", "a"), 0);
	cr_assert_eq(cp_metrics_printf(&b, "%s", big), 0);
	cr_assert_eq(b.len, sizeof(big));
	cr_assert_eq(strlen(b.p), b.len);
	b.oom = true;	/* a growth failed before: nothing more is added */
	cr_assert_eq(cp_metrics_printf(&b, "more"), -ENOMEM);
	cr_assert_eq(b.len, sizeof(big));
	free(b.p);
}

/* statsd: collect the datagrams */
struct sd_cap {
	char text[65536];
	size_t len;
	unsigned nb;
	size_t biggest;
};

static void
sd_emit(void *arg, const char *buf, size_t len)
{
	struct sd_cap *c = arg;

	cr_assert_lt(c->len + len, sizeof(c->text));
	cr_assert_eq(buf[len - 1], '\n', "a line was split");
	memcpy(c->text + c->len, buf, len);
	c->len += len;
	c->text[c->len] = '\0';
	c->nb++;
	if (len > c->biggest)
		c->biggest = len;
}

Test(cp_metrics, statsd_lines)
{
	static struct cp_metrics_input in, prev;
	static struct sd_cap c;
	unsigned nb;

	fill(&in);
	nb = cp_metrics_statsd(&in, NULL, 200, sd_emit, &c);
	cr_assert_eq(nb, c.nb);
	cr_assert_gt(nb, 1);
	cr_assert_leq(c.biggest, 200);
	cr_assert_not_null(strstr(c.text, "gossipd.members.alive:7|g\n"));
	cr_assert_not_null(strstr(c.text,
				  "gossipd.dropped.swim.malformed:11|c\n"));
	cr_assert_not_null(strstr(c.text,
				  "gossipd.dp_dropped.1.malformed:5|c\n"));
	/* a zero counter is not sent */
	cr_assert_null(strstr(c.text, "gossipd.dropped.swim.invalid:"));
	/* next period: counters as increases, unchanged ones omitted,
	 * gauges always */
	prev = in;
	in.swim.packets_bad = 15;
	memset(&c, 0, sizeof(c));
	cp_metrics_statsd(&in, &prev, 1400, sd_emit, &c);
	cr_assert_not_null(strstr(c.text,
				  "gossipd.dropped.swim.malformed:4|c\n"));
	cr_assert_null(strstr(c.text, "gossipd.dropped.serf.malformed:"));
	cr_assert_not_null(strstr(c.text, "gossipd.members.left:3|g\n"));
	cr_assert_eq(c.nb, 1);
}
