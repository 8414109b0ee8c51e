/* SPDX-License-Identifier: MIT */
/*
 * The metrics renderer: one walk over a cp_metrics_input (cp_metrics_visit)
 * yields every scalar sample, family by family, and feeds both outputs:
 * Prometheus' text format (HELP and TYPE once per family, histograms after
 * the scalars) and statsd lines. Pure: no clock, no I/O, no shared state.
 */
#include "cp_metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Label values for lcore numbers (CP_METRICS_LCORES_MAX of them). */
static const char *const cp_lcore_names[CP_METRICS_LCORES_MAX] = {
	"0", "1", "2", "3", "4", "5", "6", "7",
	"8", "9", "10", "11", "12", "13", "14", "15",
};

/* One sample: a family (name, type, help) and up to two labels. */
struct cp_msample {
	const char *name;
	const char *type;		/* "gauge" or "counter" */
	const char *help;
	const char *lk[2];		/* label keys; NULL: absent */
	const char *lv[2];
	uint64_t v;
};

typedef void (*cp_visit_f)(void *arg, const struct cp_msample *s);

/* A family's rows: label values and value. */
struct cp_mrow {
	const char *l0;
	const char *l1;
	uint64_t v;
};

struct cp_mfam {
	const char *name;
	const char *type;
	const char *help;
	const char *k0;
	const char *k1;
};

static void
cp_visit_rows(const struct cp_mfam *fam, const struct cp_mrow *rows,
	      unsigned nb, cp_visit_f f, void *arg)
{
	for (unsigned i = 0; i < nb; i++) {
		struct cp_msample s = {
			.name = fam->name, .type = fam->type,
			.help = fam->help,
			.lk = { fam->k0, fam->k1 },
			.lv = { rows[i].l0, rows[i].l1 },
			.v = rows[i].v,
		};
		f(arg, &s);
	}
}

#define CP_NB(a) (sizeof(a) / sizeof((a)[0]))
#define CP_FAM(f, rows) cp_visit_rows(&(f), rows, CP_NB(rows), fn, arg)

/* The gauges: members, queues, streams, health, clocks. */
static void
cp_visit_gauges(const struct cp_metrics_input *in, cp_visit_f fn, void *arg)
{
	static const struct cp_mfam members = {
		.name = "gossipd_members", .type = "gauge",
		.help = "Members by status (alive and suspect from the SWIM "
			"core; failed, left and leaving from the Serf layer)",
		.k0 = "status" };
	static const struct cp_mfam bq = {
		.name = "gossipd_broadcast_queue_depth", .type = "gauge",
		.help = "Broadcasts queued for gossip (memberlist + Serf)" };
	static const struct cp_mfam tcp = {
		.name = "gossipd_tcp_streams_open", .type = "gauge",
		.help = "memberlist TCP streams open now" };
	static const struct cp_mfam health = {
		.name = "gossipd_health_score", .type = "gauge",
		.help = "Lifeguard awareness score (0 is healthy)" };
	static const struct cp_mfam clk = {
		.name = "gossipd_serf_lamport_time", .type = "gauge",
		.help = "Serf Lamport clocks", .k0 = "clock" };
	const struct cp_mrow m[] = {
		{ "alive", NULL, in->members[CP_MS_ALIVE] },
		{ "suspect", NULL, in->members[CP_MS_SUSPECT] },
		{ "failed", NULL, in->members[CP_MS_FAILED] },
		{ "left", NULL, in->members[CP_MS_LEFT] },
		{ "leaving", NULL, in->members[CP_MS_LEAVING] },
	};
	const struct cp_mrow q[] = { { NULL, NULL, in->broadcast_queue } };
	const struct cp_mrow t[] = { { NULL, NULL, in->tcp_streams } };
	const struct cp_mrow h[] = {
		{ NULL, NULL, in->health_score } };
	const struct cp_mrow c[] = {
		{ "member", NULL, in->serf.member_time },
		{ "event", NULL, in->serf.event_time },
		{ "query", NULL, in->serf.query_time },
	};

	CP_FAM(members, m);
	CP_FAM(bq, q);
	CP_FAM(tcp, t);
	CP_FAM(health, h);
	CP_FAM(clk, c);
}

/* The SWIM core's and the Serf layer's counters. */
static void
cp_visit_core(const struct cp_metrics_input *in, cp_visit_f fn, void *arg)
{
	static const struct cp_mfam pk = {
		.name = "gossipd_packets_total", .type = "counter",
		.help = "UDP packets the SWIM core handled",
		.k0 = "direction" };
	static const struct cp_mfam msgs = {
		.name = "gossipd_messages_total", .type = "counter",
		.help = "Messages handled", .k0 = "layer" };
	static const struct cp_mfam pr = {
		.name = "gossipd_probes_total", .type = "counter",
		.help = "Probes by outcome", .k0 = "result" };
	static const struct cp_mfam ref = {
		.name = "gossipd_refutes_total", .type = "counter",
		.help = "Claims about this node refuted", .k0 = "layer" };
	static const struct cp_mfam pp = {
		.name = "gossipd_push_pulls_total", .type = "counter",
		.help = "Push/pull exchanges started by the core" };
	static const struct cp_mfam dr = {
		.name = "gossipd_dropped_total", .type = "counter",
		.help = "Input dropped or lost, by layer and reason",
		.k0 = "layer", .k1 = "reason" };
	static const struct cp_mfam sf = {
		.name = "gossipd_serf_ops_total", .type = "counter",
		.help = "Serf layer work", .k0 = "op" };
	const struct cp_mrow p[] = { { "in", NULL, in->swim.packets_in },
				     { "out", NULL, in->swim.packets_out } };
	const struct cp_mrow g[] = { { "swim", NULL, in->swim.msgs_in },
				     { "serf", NULL, in->serf.msgs_in } };
	const struct cp_mrow o[] = {
		{ "sent", NULL, in->swim.probes },
		{ "failed", NULL, in->swim.probes_failed },
		{ "early", NULL, in->swim.probes_early },
		{ "indirect", NULL, in->swim.indirect_probes } };
	const struct cp_mrow r[] = { { "swim", NULL, in->swim.refutes },
				     { "serf", NULL, in->serf.refutes } };
	const struct cp_mrow u[] = { { NULL, NULL, in->swim.push_pulls } };
	const struct cp_mrow d[] = {
		{ "swim", "malformed", in->swim.packets_bad },
		{ "swim", "unknown_type", in->swim.msgs_unknown },
		{ "swim", "invalid", in->swim.msgs_invalid },
		{ "swim", "event_oom", in->swim.events_dropped },
		{ "swim", "broadcast_queue_full", in->swim.bcasts_dropped },
		{ "serf", "malformed", in->serf.msgs_bad },
		{ "serf", "unknown_type", in->serf.msgs_unknown },
		{ "serf", "stale_intent", in->serf.intents_stale },
		{ "serf", "event_oom", in->serf.events_dropped },
		/* chunked sealed streams (docs/sealed-stream.md) */
		{ "sync", "sealed_auth", in->sync.sealed_auth },
		{ "sync", "sealed_framing", in->sync.sealed_framing },
		{ "sync", "sealed_truncated", in->sync.sealed_truncated } };
	const struct cp_mrow s[] = {
		{ "query_answer", NULL, in->serf.queries_answered },
		{ "relay", NULL, in->serf.relays },
		{ "coordinate_reset", NULL, in->serf.coordinate_resets } };

	CP_FAM(pk, p);
	CP_FAM(msgs, g);
	CP_FAM(pr, o);
	CP_FAM(ref, r);
	CP_FAM(pp, u);
	CP_FAM(dr, d);
	CP_FAM(sf, s);
}

/* The core's push/pulls that could not take a snapshot slot. */
static void
cp_visit_pp(const struct cp_metrics_input *in, cp_visit_f fn, void *arg)
{
	static const struct cp_mfam ppf = {
		.name = "gossipd_push_pull_fallbacks_total", .type = "counter",
		.help = "Streamed push/pulls that found every snapshot slot "
			"busy and walked the table unmarked" };
	const struct cp_mrow r[] = { { NULL, NULL, in->swim.pp_fallbacks } };

	CP_FAM(ppf, r);
}

/* lcore -1: control's share (the sum minus every lcore's own). */
static void
cp_lcore_rows(const struct cp_metrics_input *in, int i, bool drops,
	      struct cp_mrow *r)
{
	struct dp_stats st = in->dp;
	const char *name = "control";

	if (i >= 0) {
		st = in->lcore[i].st;
		name = cp_lcore_names[i];
	} else {
		for (unsigned k = 0; k < in->nb_lcores; k++) {
			const struct dp_stats *l = &in->lcore[k].st;

			st.rx_pkts -= l->rx_pkts;
			st.tx_pkts -= l->tx_pkts;
			st.acks_fast -= l->acks_fast;
			st.to_control -= l->to_control;
			st.drop_ring_full -= l->drop_ring_full;
			st.drop_too_big -= l->drop_too_big;
			st.drop_malformed -= l->drop_malformed;
			st.drop_tx -= l->drop_tx;
			st.drop_other -= l->drop_other;
		}
	}
	const struct cp_mrow pk[4] = {
		{ name, "rx", st.rx_pkts }, { name, "tx", st.tx_pkts },
		{ name, "fast_ack", st.acks_fast },
		{ name, "to_control", st.to_control } };
	const struct cp_mrow dr[5] = {
		{ name, "ring_full", st.drop_ring_full },
		{ name, "too_big", st.drop_too_big },
		{ name, "malformed", st.drop_malformed },
		{ name, "tx", st.drop_tx }, { name, "other", st.drop_other } };
	if (drops)
		memcpy(r, dr, sizeof(dr));
	else
		memcpy(r, pk, sizeof(pk));
}

/* The dataplane: per lcore packets, drops and ring depths. */
static void
cp_visit_dp(const struct cp_metrics_input *in, cp_visit_f fn, void *arg)
{
	static const struct cp_mfam lc = {
		.name = "gossipd_dp_lcores", .type = "gauge",
		.help = "Dataplane lcores" };
	static const struct cp_mfam depth = {
		.name = "gossipd_dp_ring_depth", .type = "gauge",
		.help = "Packets waiting in an lcore's ring", .k0 = "lcore",
		.k1 = "ring" };
	static const struct cp_mfam pk = {
		.name = "gossipd_dp_packets_total", .type = "counter",
		.help = "Dataplane packets by lcore", .k0 = "lcore",
		.k1 = "kind" };
	static const struct cp_mfam dr = {
		.name = "gossipd_dp_dropped_total", .type = "counter",
		.help = "Dataplane drops by lcore and reason (lcore "
			"\"control\": sends refused before any lcore)",
		.k0 = "lcore", .k1 = "reason" };
	unsigned nb = in->nb_lcores;
	struct cp_mrow r[5];

	if (nb > CP_METRICS_LCORES_MAX)
		nb = CP_METRICS_LCORES_MAX;
	r[0] = (struct cp_mrow){ NULL, NULL, nb };
	cp_visit_rows(&lc, r, 1, fn, arg);
	for (unsigned i = 0; i < nb; i++) {
		r[0] = (struct cp_mrow){ cp_lcore_names[i], "rx",
					 in->lcore[i].rx_depth };
		r[1] = (struct cp_mrow){ cp_lcore_names[i], "tx",
					 in->lcore[i].tx_depth };
		cp_visit_rows(&depth, r, 2, fn, arg);
	}
	for (int i = -1; i < (int)nb; i++) {
		cp_lcore_rows(in, i, false, r);
		cp_visit_rows(&pk, r, 4, fn, arg);
	}
	for (int i = -1; i < (int)nb; i++) {
		cp_lcore_rows(in, i, true, r);
		cp_visit_rows(&dr, r, 5, fn, arg);
	}
}

/* TCP streams (cp_sync), the RPC server and statsd itself. */
static void
cp_visit_io(const struct cp_metrics_input *in, cp_visit_f fn, void *arg)
{
	static const struct cp_mfam ts = {
		.name = "gossipd_tcp_streams_total", .type = "counter",
		.help = "memberlist TCP streams by outcome", .k0 = "result" };
	static const struct cp_mfam te = {
		.name = "gossipd_tcp_errors_total", .type = "counter",
		.help = "memberlist TCP streams closed on an error",
		.k0 = "reason" };
	static const struct cp_mfam rc = {
		.name = "gossipd_rpc_clients", .type = "gauge",
		.help = "Serf RPC connections open now" };
	static const struct cp_mfam rr = {
		.name = "gossipd_rpc_total", .type = "counter",
		.help = "Serf RPC connections and requests", .k0 = "kind" };
	static const struct cp_mfam re = {
		.name = "gossipd_rpc_errors_total", .type = "counter",
		.help = "Serf RPC connections closed on an error",
		.k0 = "reason" };
	static const struct cp_mfam sd = {
		.name = "gossipd_statsd_packets_total", .type = "counter",
		.help = "statsd datagrams by outcome", .k0 = "result" };
	const struct cp_mrow s[] = {
		{ "accepted", NULL, in->sync.accepted },
		{ "push_pull_in", NULL, in->sync.in_push_pull },
		{ "ping_in", NULL, in->sync.in_ping },
		{ "user_in", NULL, in->sync.in_user },
		{ "out_ok", NULL, in->sync.out_ok },
		{ "out_failed", NULL, in->sync.out_failed } };
	const struct cp_mrow e[] = {
		{ "refused_full", NULL, in->sync.refused_full },
		{ "timeout", NULL, in->sync.timeouts },
		{ "bad_input", NULL, in->sync.bad_input },
		{ "encrypted", NULL, in->sync.encrypted },
		{ "too_big", NULL, in->sync.too_big },
		{ "err_reply", NULL, in->sync.err_replies } };
	const struct cp_mrow c[] = { { NULL, NULL, in->rpc.nb_clients } };
	const struct cp_mrow r[] = {
		{ "connection", NULL, in->rpc.accepted },
		{ "request", NULL, in->rpc.requests } };
	const struct cp_mrow x[] = {
		{ "refused_full", NULL, in->rpc.refused_full },
		{ "bad_input", NULL, in->rpc.bad_input },
		{ "overflow", NULL, in->rpc.overflow } };
	const struct cp_mrow d[] = { { "sent", NULL, in->statsd_sent },
				     { "dropped", NULL, in->statsd_dropped } };

	CP_FAM(ts, s);
	CP_FAM(te, e);
	if (in->has_rpc) {
		CP_FAM(rc, c);
		CP_FAM(rr, r);
		CP_FAM(re, x);
	}
	CP_FAM(sd, d);
}

/* Anti-entropy by kind (cp_sync_delta.c): exchanges and bytes. */
static void
cp_visit_sync(const struct cp_metrics_input *in, cp_visit_f fn, void *arg)
{
	static const struct cp_mfam sx = {
		.name = "gossipd_sync_exchanges_total", .type = "counter",
		.help = "Anti-entropy exchanges by kind: full push/pull, delta "
			"that transferred, delta in sync, delta refused (then "
			"full), delta failed, in sync by a UDP HELLO",
		.k0 = "kind" };
	static const struct cp_mfam sb = {
		.name = "gossipd_sync_bytes_total", .type = "counter",
		.help = "Payload bytes of anti-entropy streams (TCP) and of "
			"delta sync's UDP HELLOs, both ways",
		.k0 = "kind" };
	const struct cp_mrow xs[] = {
		{ "full", NULL, in->sync.x_full },
		{ "delta", NULL, in->sync.x_delta },
		{ "insync", NULL, in->sync.x_insync },
		{ "fallback", NULL, in->sync.x_fallback },
		{ "delta_failed", NULL, in->sync.x_delta_failed },
		{ "insync_udp", NULL, in->sync.x_insync_udp } };
	const struct cp_mrow xb[] = {
		{ "full", NULL, in->sync.bytes_full },
		{ "delta", NULL, in->sync.bytes_delta },
		{ "delta_udp", NULL, in->sync.bytes_udp } };

	CP_FAM(sx, xs);
	CP_FAM(sb, xb);
}

static void
cp_metrics_visit(const struct cp_metrics_input *in, cp_visit_f fn, void *arg)
{
	cp_visit_gauges(in, fn, arg);
	cp_visit_core(in, fn, arg);
	cp_visit_pp(in, fn, arg);
	cp_visit_dp(in, fn, arg);
	cp_visit_io(in, fn, arg);
	cp_visit_sync(in, fn, arg);
}

/* --- histograms --- */

void
cp_metrics_hist_init(struct cp_metrics_hist *h, const double *bounds,
		     unsigned nb)
{
	memset(h, 0, sizeof(*h));
	h->bounds = bounds;
	h->nb = nb > CP_METRICS_BUCKETS_MAX ? CP_METRICS_BUCKETS_MAX : nb;
}

void
cp_metrics_hist_observe(struct cp_metrics_hist *h, double v)
{
	unsigned i = 0;

	while (i < h->nb && v > h->bounds[i])
		i++;
	h->counts[i]++;
	h->count++;
	h->sum += v;
}

/* --- the text buffer --- */

int
cp_metrics_printf(struct cp_metrics_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->len;

		if (b->oom)
			return -ENOMEM;
		va_start(ap, fmt);
		n = vsnprintf(b->p == NULL ? NULL : b->p + b->len, room, fmt,
			      ap);
		va_end(ap);
		if (n < 0)
			return -EINVAL;
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return 0;
		}
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap - b->len <= (size_t)n)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = true;
			return -ENOMEM;
		}
		b->p = p;
		b->cap = cap;
	}
}

bool
cp_metrics_name_ok(const char *name)
{
	if (name == NULL || *name == '\0')
		return false;
	for (const char *c = name; *c != '\0'; c++) {
		bool alpha = (*c >= 'a' && *c <= 'z') ||
			     (*c >= 'A' && *c <= 'Z') || *c == '_' ||
			     *c == ':';
		bool digit = *c >= '0' && *c <= '9';

		if (!alpha && !(digit && c != name))
			return false;
	}
	return true;
}

/* --- Prometheus text format 0.0.4 --- */

struct cp_prom {
	struct cp_metrics_buf *b;
	const char *last;		/* family of the previous sample */
};

static void
cp_prom_sample(void *arg, const struct cp_msample *s)
{
	struct cp_prom *p = arg;

	if (p->last == NULL || strcmp(p->last, s->name) != 0) {
		cp_metrics_printf(p->b, "# HELP %s %s\n# TYPE %s %s\n",
				  s->name, s->help, s->name, s->type);
		p->last = s->name;
	}
	cp_metrics_printf(p->b, "%s", s->name);
	for (unsigned i = 0; i < 2 && s->lk[i] != NULL; i++)
		cp_metrics_printf(p->b, "%s%s=\"%s\"", i == 0 ? "{" : ",",
				  s->lk[i], s->lv[i]);
	cp_metrics_printf(p->b, "%s %llu\n", s->lk[0] != NULL ? "}" : "",
			  (unsigned long long)s->v);
}

/* Buckets are cumulative in the format: each le counts all below it. */
static void
cp_prom_hist(struct cp_metrics_buf *b, const char *name, const char *help,
	     const struct cp_metrics_hist *h)
{
	uint64_t acc = 0;

	cp_metrics_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name,
			  help, name);
	for (unsigned i = 0; i < h->nb; i++) {
		acc += h->counts[i];
		cp_metrics_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name,
				  h->bounds[i], (unsigned long long)acc);
	}
	cp_metrics_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name,
			  (unsigned long long)h->count);
	cp_metrics_printf(b, "%s_sum %.9g\n%s_count %llu\n", name, h->sum,
			  name, (unsigned long long)h->count);
}

int
cp_metrics_render(const struct cp_metrics_input *in,
		  struct cp_metrics_buf *out)
{
	struct cp_prom p = { .b = out, .last = NULL };

	cp_metrics_visit(in, cp_prom_sample, &p);
	cp_prom_hist(out, "gossipd_probe_rtt_seconds",
		     "Round trip of acked probes (direct and indirect)",
		     &in->probe_rtt);
	cp_prom_hist(out, "gossipd_failure_detect_seconds",
		     "Time from a member's suspicion to its failure",
		     &in->detect);
	cp_prom_hist(out, "gossipd_push_pull_seconds",
		     "Duration of successful outbound push/pulls (joins "
		     "included)", &in->push_pull);
	return out->oom ? -ENOMEM : 0;
}

/* --- statsd --- */

/* Most samples one rendering has (16 lcores: about 250). */
#define CP_STATSD_SAMPLES 512

struct cp_statsd {
	uint64_t prev[CP_STATSD_SAMPLES];
	unsigned nb_prev;
	unsigned idx;
	bool has_prev;
	char dgram[2048];
	size_t len;
	size_t max;
	unsigned nb_sent;
	cp_metrics_emit_f emit;
	void *arg;
};

static void
cp_statsd_collect(void *arg, const struct cp_msample *s)
{
	struct cp_statsd *d = arg;

	if (d->nb_prev < CP_STATSD_SAMPLES)
		d->prev[d->nb_prev++] = s->v;
}

static void
cp_statsd_flush(struct cp_statsd *d)
{
	if (d->len == 0)
		return;
	d->emit(d->arg, d->dgram, d->len);
	d->nb_sent++;
	d->len = 0;
}

/* gossipd_dp_dropped_total{lcore="0",reason="tx"} -> gossipd.dp_dropped.0.tx */
static void
cp_statsd_sample(void *arg, const struct cp_msample *s)
{
	struct cp_statsd *d = arg;
	unsigned i = d->idx++;
	uint64_t v = s->v;
	const char *base = s->name + strlen("gossipd_");
	size_t blen = strlen(base);
	char line[256];
	int n;

	if (strcmp(s->type, "counter") == 0) {
		uint64_t p = d->has_prev && i < d->nb_prev ? d->prev[i] : 0;

		if (v <= p)
			return;	/* unchanged (or reset): nothing new */
		v -= p;
		if (blen > 6 && strcmp(base + blen - 6, "_total") == 0)
			blen -= 6;
	}
	n = snprintf(line, sizeof(line), "gossipd.%.*s%s%s%s%s:%llu|%s\n",
		     (int)blen, base, s->lk[0] ? "." : "",
		     s->lk[0] ? s->lv[0] : "", s->lk[1] ? "." : "",
		     s->lk[1] ? s->lv[1] : "", (unsigned long long)v,
		     strcmp(s->type, "counter") == 0 ? "c" : "g");
	if (n <= 0 || (size_t)n >= sizeof(line) || (size_t)n > d->max)
		return;
	if (d->len + (size_t)n > d->max)
		cp_statsd_flush(d);
	memcpy(d->dgram + d->len, line, (size_t)n);
	d->len += (size_t)n;
}

unsigned
cp_metrics_statsd(const struct cp_metrics_input *in,
		  const struct cp_metrics_input *prev, size_t max,
		  cp_metrics_emit_f emit, void *arg)
{
	struct cp_statsd *d = calloc(1, sizeof(*d));
	unsigned nb;

	if (d == NULL)
		return 0;
	d->max = max < sizeof(d->dgram) ? max : sizeof(d->dgram);
	d->emit = emit;
	d->arg = arg;
	if (prev != NULL) {
		cp_metrics_visit(prev, cp_statsd_collect, d);
		d->has_prev = true;
	}
	cp_metrics_visit(in, cp_statsd_sample, d);
	cp_statsd_flush(d);
	nb = d->nb_sent;
	free(d);
	return nb;
}
