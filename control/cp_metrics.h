/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Telemetry: Prometheus' text exposition format at http://IP:PORT/metrics
 * (--metrics-addr, served by libmicrohttpd's own thread) and serf-style
 * statsd lines over UDP (--statsd-addr).
 *
 * The control thread owns every source (core, Serf, dataplane, streams,
 * RPC): once per second it copies their counters into a cp_metrics_input,
 * renders the text into a new buffer and publishes it with a pointer swap
 * under a mutex held only for the swap or the scrape's copy. The HTTP
 * thread never touches control's state, and a scrape does no work per
 * member: the counts come from counters the core and Serf already keep.
 *
 * The renderer (cp_metrics_render) is pure, for tests.
 */
#ifndef CP_METRICS_H_INCLUDED
#define CP_METRICS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cp.h"
#include "cp_rpc.h"
#include "dp.h"
#include "serf.h"
#include "swim.h"

/** Most buckets one histogram has (its +Inf bucket not counted). */
#define CP_METRICS_BUCKETS_MAX 16
/** Most lcores whose counters are exported one by one. */
#define CP_METRICS_LCORES_MAX 16

/** A Prometheus histogram: counts[i] holds values <= bounds[i] only (not
 * cumulative here; the renderer sums), counts[nb] the rest. */
struct cp_metrics_hist {
	const double *bounds;		/* ascending upper bounds (s) */
	unsigned nb;			/* <= CP_METRICS_BUCKETS_MAX */
	uint64_t counts[CP_METRICS_BUCKETS_MAX + 1];
	uint64_t count;
	double sum;
};

/** Set h to empty with these bounds (nb clamped to the maximum). */
void cp_metrics_hist_init(struct cp_metrics_hist *h, const double *bounds,
			  unsigned nb);
/** Count one value (seconds). */
void cp_metrics_hist_observe(struct cp_metrics_hist *h, double v);

/** Member counts by status, as the gauge's label values. */
enum cp_metrics_status {
	CP_MS_ALIVE,		/* core alive, not leaving */
	CP_MS_SUSPECT,		/* core suspect */
	CP_MS_FAILED,		/* Serf failed (kept for reconnects) */
	CP_MS_LEFT,		/* Serf left */
	CP_MS_LEAVING,		/* Serf leaving: intent seen, not gone */
	CP_MS_COUNT,
};

/** One lcore's counters and ring depths. */
struct cp_metrics_lcore {
	struct dp_stats st;
	unsigned rx_depth;		/* packets waiting for control */
	unsigned tx_depth;		/* packets waiting for the lcore */
};

/** Everything one rendering shows: plain copies, no pointers to state. */
struct cp_metrics_input {
	uint32_t members[CP_MS_COUNT];
	struct swim_stats swim;
	struct serf_stats serf;
	struct dp_stats dp;		/* sum, with control's send drops */
	struct cp_sync_stats sync;
	struct cp_rpc_counters rpc;
	bool has_rpc;			/* rpc is meaningful */
	uint32_t broadcast_queue;	/* swim_broadcast_queue_len */
	unsigned tcp_streams;		/* cp_sync_nb_streams */
	uint32_t health_score;		/* Lifeguard awareness, 0 best */
	unsigned nb_lcores;		/* <= CP_METRICS_LCORES_MAX */
	struct cp_metrics_lcore lcore[CP_METRICS_LCORES_MAX];
	struct cp_metrics_hist probe_rtt;	/* ack round trips */
	struct cp_metrics_hist detect;	/* suspect -> failed */
	struct cp_metrics_hist push_pull;	/* outbound, successful */
	uint64_t statsd_sent;		/* statsd datagrams sent */
	uint64_t statsd_dropped;	/* statsd datagrams not sent */
};

/** A growable text buffer; oom latches on the first failed growth. */
struct cp_metrics_buf {
	char *p;
	size_t len;
	size_t cap;
	bool oom;
};

/** Append printf-style text. @retval 0 or -ENOMEM (then b->oom). */
int cp_metrics_printf(struct cp_metrics_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** Is name a valid Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)? */
bool cp_metrics_name_ok(const char *name);

/**
 * Render in as Prometheus text format 0.0.4 into out (appended).
 * @retval 0, or -ENOMEM (the text is then incomplete).
 */
int cp_metrics_render(const struct cp_metrics_input *in,
		      struct cp_metrics_buf *out);

/**
 * Render in as statsd lines ("gossipd.members.alive:2|g"), counters as
 * the increase since prev (NULL: since zero), at most one datagram of
 * max bytes per call of emit, lines never split.
 * @retval datagrams emitted.
 */
typedef void (*cp_metrics_emit_f)(void *arg, const char *buf, size_t len);
unsigned cp_metrics_statsd(const struct cp_metrics_input *in,
			   const struct cp_metrics_input *prev, size_t max,
			   cp_metrics_emit_f emit, void *arg);

/* --- the daemon's side (cp_metrics.c); control thread only --- */

struct cp_metrics;

/**
 * Start the HTTP listener and the statsd socket named by cfg (either may
 * be off: ""). @retval the state (NULL when both are off), or NULL with
 * *err set to -1 and a message printed when one cannot start.
 */
struct cp_metrics *cp_metrics_new(struct cp *cp, int *err);
/** cp->metrics = cp_metrics_new(cp). @retval 0 or -1 (printed). */
int cp_metrics_init(struct cp *cp);
/** Stop the HTTP thread and free everything. NULL is a no-op. */
void cp_metrics_delete(struct cp_metrics *m);
/** A core event: probe rtt, suspicion and failure times. NULL: no-op. */
void cp_metrics_on_event(struct cp_metrics *m, uint64_t now_us,
			 const struct swim_event *ev);
/** An outbound push/pull to `to` starts (before cp_sync_push_pull,
 * which may finish it at once). NULL: no-op. */
void cp_metrics_pp_start(struct cp_metrics *m, uint64_t now_us,
			 const struct swim_addr *to);
/** It finished: err 0 counts its duration. NULL: no-op. */
void cp_metrics_pp_done(struct cp_metrics *m, uint64_t now_us,
			const struct swim_addr *to, int err);
/** Render and publish, send statsd, when due. NULL: no-op. */
void cp_metrics_tick(struct cp_metrics *m, struct cp *cp, uint64_t now_us);
/** When cp_metrics_tick is next due; UINT64_MAX for NULL. */
uint64_t cp_metrics_next_deadline(const struct cp_metrics *m);
/** Fill in from cp's sources and m's histograms (m may be NULL). */
void cp_metrics_gather(const struct cp_metrics *m, struct cp *cp,
		       struct cp_metrics_input *in);
/** The HTTP port bound (for port 0), 0 when not serving. */
uint16_t cp_metrics_http_port(const struct cp_metrics *m);

/*
 * DPDK telemetry (cp_metrics_tel.c; cp_metrics_tel_none.c without DPDK):
 * "/gossipd/stats" answers the dataplane counters that control last
 * published, from DPDK's telemetry thread.
 */

/** Register the command once EAL runs. @retval 0 or -1 (no DPDK). */
int cp_metrics_tel_register(void);
/** Publish in's dataplane counters for the command (control thread). */
void cp_metrics_tel_publish(const struct cp_metrics_input *in);
/** Forget them: the command answers an empty dict from now on. */
void cp_metrics_tel_clear(void);

#endif /* CP_METRICS_H_INCLUDED */
