/* SPDX-License-Identifier: MIT */
/*
 * The callbacks that tie the daemon's parts together: cp_sync's handler
 * (push/pull state in and out, TCP ping results, stream user messages) and
 * the RPC server's ops table (members, join, leave, force-leave, tags,
 * stats, user events, queries, coordinates). Owns no state; every call
 * lands on the core or the Serf layer. Control thread only.
 */
#include "cp.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cp_metrics.h"
#include "cp_rpc.h"
#include "cp_sync_pp.h"
#include "dp.h"
#include "serf.h"
#include "swim_dsync_udp.h"
#include "swim_wire.h"

/* --- cp_sync's handler --- */

/* Scratch for the Serf user state; control thread only. */
static uint8_t cp_ops_user_state[256 * 1024];

static size_t
cp_ops_local_state(void *ctx, bool join, uint8_t *out, size_t cap)
{
	struct cp *cp = ctx;
	size_t n;

	n = cp_serf_local_state(cp, cp_ops_user_state,
				sizeof(cp_ops_user_state));
	if (n > sizeof(cp_ops_user_state))
		n = 0;
	return swim_push_pull_encode(cp->swim, join, cp_ops_user_state, n,
				     out, cap);
}

/* Push/pull decode just for the Join flag; nodes are the core's. */
static int
cp_ops_skip_node(void *ctx, const struct swim_push_node *node)
{
	(void)ctx;
	(void)node;
	return 0;
}

static int
cp_ops_merge(void *ctx, uint64_t now_us, const uint8_t *buf, size_t len)
{
	struct cp *cp = ctx;
	struct swim_push_pull_header hdr;
	struct swim_str us = {NULL, 0};
	int rc;

	memset(&hdr, 0, sizeof(hdr));
	swim_wire_decode_push_pull(buf, len, &hdr, cp_ops_skip_node, NULL,
				   &us);
	rc = swim_push_pull_merge(cp->swim, now_us, buf, len, &us);
	if (rc < 0) {
		CP_LOG(WARN, "memberlist: Failed to merge remote state: %s",
		       swim_wire_strerror(rc));
		return rc;
	}
	if (us.len > 0 && us.ptr != NULL) {
		cp_loop_events(cp, now_us);	/* members first, then intents */
		cp_serf_merge_remote(cp, now_us, us.ptr, us.len, hdr.join);
	}
	return 0;
}

static void
cp_ops_push_pull_done(void *ctx, uint64_t now_us, const struct swim_addr *to,
		      bool join, int err)
{
	struct cp *cp = ctx;
	char as[CP_ADDR_STRLEN];

	cp_addr_str(to, as, sizeof(as));
	if (err != 0) {
		cp_log(join ? CP_LOG_WARN : CP_LOG_DEBUG,
		       "memberlist: Failed to %s %s: %s",
		       join ? "join" : "push/pull with", as,
		       strerror(err < 0 && err > -4096 ? -err : EIO));
		swim_push_pull_failed(cp->swim, now_us, to, join);
	} else {
		CP_LOG(DEBUG, "memberlist: Push/pull with %s done (join %d)",
		       as, join);
	}
	cp_metrics_pp_done(cp->metrics, now_us, to, err);
	if (join)
		cp_join_done(cp, now_us, to, err);
}

static void
cp_ops_ping_done(void *ctx, uint64_t now_us, uint32_t seq_no, bool acked)
{
	struct cp *cp = ctx;

	swim_on_tcp_ping_result(cp->swim, now_us, seq_no, acked);
}

static void
cp_ops_user_msg(void *ctx, uint64_t now_us, const uint8_t *data, size_t len)
{
	struct cp *cp = ctx;
	struct swim_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = SWIM_EV_USER;
	ev.data.ptr = data;
	ev.data.len = (uint32_t)len;
	cp_serf_on_event(cp, now_us, &ev);
}

void
cp_sync_handler_init(struct cp *cp, struct cp_sync_handler *h)
{
	h->ctx = cp;
	h->local_state = cp_ops_local_state;
	h->merge = cp_ops_merge;
	h->push_pull_done = cp_ops_push_pull_done;
	h->ping_done = cp_ops_ping_done;
	h->user_msg = cp_ops_user_msg;
	h->pp = cp_sync_core_pp_ops();	/* streamed push/pulls */
}

/* --- RPC: members --- */

/* Walk state for cp_ops_members. */
struct cp_ops_walk {
	cp_rpc_member_visit_f visit;
	void *arg;
	int rc;
};

static int
cp_ops_member_visit(void *ctx, const struct serf_member_info *m)
{
	static struct cp_rpc_kv kv[SERF_TAGS_MAX];
	struct cp_ops_walk *w = ctx;
	struct cp_rpc_member r;
	char name[SWIM_NAME_MAX + 1];
	size_t nl = m->name.len < SWIM_NAME_MAX ? m->name.len : SWIM_NAME_MAX;
	uint32_t nb = m->nb_tags < SERF_TAGS_MAX ? m->nb_tags : SERF_TAGS_MAX;

	memcpy(name, m->name.ptr, nl);
	name[nl] = '\0';
	for (uint32_t i = 0; i < nb; i++)
		kv[i] = (struct cp_rpc_kv){m->tags[i].key, m->tags[i].value};
	memset(&r, 0, sizeof(r));
	r.name = name;
	memcpy(r.addr, m->addr.ip, sizeof(r.addr));
	r.addr_len = m->addr.ip_len;
	r.port = m->addr.port;
	r.tags = kv;
	r.nb_tags = nb;
	r.status = (enum cp_rpc_status)m->status;
	r.protocol_min = m->vsn[0];
	r.protocol_max = m->vsn[1];
	r.protocol_cur = m->vsn[2];
	r.delegate_min = m->vsn[3];
	r.delegate_max = m->vsn[4];
	r.delegate_cur = m->vsn[5];
	r.incarnation = m->incarnation;
	w->rc = w->visit(w->arg, &r);
	return w->rc;
}

static int
cp_ops_members(void *ctx, cp_rpc_member_visit_f visit, void *arg)
{
	struct cp *cp = ctx;
	struct cp_ops_walk w = {visit, arg, 0};

	serf_member_foreach(cp->serf, cp_ops_member_visit, &w);
	return w.rc;
}

static int
cp_ops_member_find(void *ctx, const char *name, cp_rpc_member_visit_f visit,
		   void *arg)
{
	struct cp *cp = ctx;
	struct cp_ops_walk w = {visit, arg, 0};
	struct serf_member_info m;

	if (serf_member_find(cp->serf, name, strlen(name), &m) != 0)
		return -ENOENT;
	return cp_ops_member_visit(&w, &m);
}

_Static_assert((int)SERF_STATUS_FAILED == (int)CP_RPC_STATUS_FAILED &&
	       (int)SERF_STATUS_LEFT == (int)CP_RPC_STATUS_LEFT &&
	       (int)SERF_STATUS_COUNT == (int)CP_RPC_STATUS_COUNT,
	       "serf_member_status mirrors cp_rpc_status");

/* --- RPC: commands --- */

static int
cp_ops_join(void *ctx, uint64_t req_id, const char *const *addrs,
	    uint32_t nb_addrs, bool replay, uint32_t *nb_joined, char *err,
	    size_t errlen)
{
	struct cp *cp = ctx;
	struct swim_addr seeds[CP_SEEDS_MAX];
	unsigned nb = 0;

	(void)replay;
	*nb_joined = 0;
	for (uint32_t i = 0; i < nb_addrs && nb < CP_SEEDS_MAX; i++) {
		if (cp_addr_parse(addrs[i], CP_DEFAULT_PORT, &seeds[nb]) != 0) {
			snprintf(err, errlen, "Failed to join %s: bad address",
				 addrs[i]);
			return -EINVAL;
		}
		nb++;
	}
	if (nb == 0) {
		snprintf(err, errlen, "no address to join");
		return -EINVAL;
	}
	if (cp_join_start(cp, cp_now_us(), CP_JOIN_RPC, req_id, seeds, nb)) {
		snprintf(err, errlen, "too many joins in progress");
		return -EBUSY;
	}
	return CP_RPC_PENDING;
}

static int
cp_ops_leave(void *ctx, uint64_t req_id, char *err, size_t errlen)
{
	struct cp *cp = ctx;

	(void)err;
	(void)errlen;
	cp->leave_rpc_id = req_id;
	cp->has_leave_rpc = true;
	cp_leave_start(cp, cp_now_us());
	return CP_RPC_PENDING;
}

static int
cp_ops_force_leave(void *ctx, const char *node, bool prune, char *err,
		   size_t errlen)
{
	struct cp *cp = ctx;
	int rc = cp_serf_force_leave(cp, cp_now_us(), node, prune);

	if (rc != 0)
		snprintf(err, errlen, "force-leave %s failed: %s", node,
			 strerror(-rc));
	return rc;
}

/* Drop a key from cfg->tags (order kept). */
static void
cp_ops_tag_del(struct cp_cfg *cfg, const char *key)
{
	for (unsigned i = 0; i < cfg->nb_tags; i++) {
		if (strcmp(cfg->tags[i].key, key) != 0)
			continue;
		memmove(&cfg->tags[i], &cfg->tags[i + 1],
			(cfg->nb_tags - i - 1) * sizeof(cfg->tags[0]));
		cfg->nb_tags--;
		return;
	}
}

/* Set key=value in cfg->tags. @retval 0 or -E2BIG. */
static int
cp_ops_tag_set(struct cp_cfg *cfg, const char *key, const char *value)
{
	unsigned i;

	if (strlen(key) > CP_TAG_LEN_MAX || strlen(value) > CP_TAG_LEN_MAX)
		return -E2BIG;
	for (i = 0; i < cfg->nb_tags; i++)
		if (strcmp(cfg->tags[i].key, key) == 0)
			break;
	if (i == CP_TAGS_MAX)
		return -E2BIG;
	snprintf(cfg->tags[i].key, sizeof(cfg->tags[i].key), "%s", key);
	snprintf(cfg->tags[i].value, sizeof(cfg->tags[i].value), "%s",
		 value);
	if (i == cfg->nb_tags)
		cfg->nb_tags++;
	return 0;
}

static int
cp_ops_tags(void *ctx, const struct cp_rpc_kv *set, uint32_t nb_set,
	    const char *const *del, uint32_t nb_del, char *err, size_t errlen)
{
	struct cp *cp = ctx;
	struct cp_cfg next = cp->cfg;

	for (uint32_t i = 0; i < nb_del; i++)
		cp_ops_tag_del(&next, del[i]);
	for (uint32_t i = 0; i < nb_set; i++) {
		if (cp_ops_tag_set(&next, set[i].key, set[i].value) != 0) {
			snprintf(err, errlen, "too many or too long tags");
			return -E2BIG;
		}
	}
	if (cp_serf_set_tags(cp, next.tags, next.nb_tags) != 0) {
		snprintf(err, errlen, "Encoded length of tags exceeds limit "
			 "of %d bytes", SWIM_META_MAX);
		return -E2BIG;
	}
	memcpy(cp->cfg.tags, next.tags, sizeof(next.tags));
	cp->cfg.nb_tags = next.nb_tags;
	CP_LOG(INFO, "serf: Tags updated (%u tags)", cp->cfg.nb_tags);
	return 0;
}

/* Go's GOARCH spelling, as `serf info` shows it. */
#if defined(__x86_64__)
#define CP_OPS_ARCH "amd64"
#elif defined(__aarch64__)
#define CP_OPS_ARCH "arm64"
#else
#define CP_OPS_ARCH "unknown"
#endif
#ifndef CP_OPS_VERSION
#define CP_OPS_VERSION "0.1.0"
#endif

static void
cp_ops_emit_u64(cp_rpc_stat_emit_f emit, void *arg, const char *section,
		const char *key, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	emit(arg, section, key, buf);
}

/* Threads of this process (the agent's "goroutines"): /proc, else 1. */
static uint64_t
cp_ops_nb_threads(void)
{
	char line[128];
	unsigned long n = 1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return 1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "Threads: %lu", &n) == 1)
			break;
	}
	fclose(f);
	return n;
}

/* The agent's runtime section: Go's NumCPU and GOMAXPROCS are both the
 * CPUs we may run on (the affinity mask). */
static void
cp_ops_stats_runtime(cp_rpc_stat_emit_f emit, void *arg)
{
	cpu_set_t set;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t nb_cpu = online > 0 ? (uint64_t)online : 1;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 &&
	    CPU_COUNT(&set) > 0)
		nb_cpu = (uint64_t)CPU_COUNT(&set);
	emit(arg, "runtime", "os", "linux");
	emit(arg, "runtime", "arch", CP_OPS_ARCH);
	emit(arg, "runtime", "version", "gossipd " CP_OPS_VERSION);
	cp_ops_emit_u64(emit, arg, "runtime", "cpu_count", nb_cpu);
	cp_ops_emit_u64(emit, arg, "runtime", "max_procs", nb_cpu);
	cp_ops_emit_u64(emit, arg, "runtime", "goroutines",
			cp_ops_nb_threads());
}

/*
 * gossipd's own counters, a section the agent does not have (the serf CLI
 * prints any section): every malformed datagram lands in exactly one of
 * dp_drop_* / packets_bad / msgs_unknown / serf_msgs_* (a user message
 * Serf cannot decode), every refused TCP stream in one of tcp_bad_input /
 * tcp_encrypted / tcp_too_big / tcp_refused_full.
 */
static void
cp_ops_stats_gossipd(struct cp *cp, cp_rpc_stat_emit_f emit, void *arg)
{
	struct serf_stats sf;
	struct swim_stats ss;
	struct dp_stats ds;
	struct cp_sync_stats ts;
	struct swim_dsync_udp_stats us;
	/* pointers: the structs are filled below */
	const struct {
		const char *key;
		const uint64_t *v;
	} *e, tab[] = {
		{"packets_in", &ss.packets_in},
		{"packets_bad", &ss.packets_bad},
		{"probes", &ss.probes},
		{"probes_early", &ss.probes_early},
		{"msgs_unknown", &ss.msgs_unknown},
		{"msgs_invalid", &ss.msgs_invalid},
		{"serf_msgs_bad", &sf.msgs_bad},
		{"serf_msgs_unknown", &sf.msgs_unknown},
		{"dp_rx", &ds.rx_pkts},
		{"dp_drop_malformed", &ds.drop_malformed},
		{"dp_drop_too_big", &ds.drop_too_big},
		{"dp_drop_ring_full", &ds.drop_ring_full},
		{"dp_acks_fast", &ds.acks_fast},
		{"tcp_accepted", &ts.accepted},
		{"tcp_bad_input", &ts.bad_input},
		{"tcp_encrypted", &ts.encrypted},
		{"tcp_too_big", &ts.too_big},
		{"tcp_timeouts", &ts.timeouts},
		{"tcp_refused_full", &ts.refused_full},
		{"push_pulls_in", &ts.in_push_pull},
		{"push_pull_fallbacks", &ss.pp_fallbacks},
		{"tcp_out_failed", &ts.out_failed},
		{"sync_full", &ts.x_full},
		{"sync_delta", &ts.x_delta},
		{"sync_insync", &ts.x_insync},
		{"sync_fallback", &ts.x_fallback},
		{"sync_delta_failed", &ts.x_delta_failed},
		{"sync_full_bytes", &ts.bytes_full},
		{"sync_delta_bytes", &ts.bytes_delta},
		/* delta sync's HELLO over UDP (swim_dsync_udp.h) */
		{"sync_udp_hellos", &us.hellos_out},
		{"sync_udp_hellos_on_probe", &us.hellos_on_probe},
		{"sync_udp_insync", &us.insync_in},
		{"sync_udp_differ", &us.differ_in},
		{"sync_udp_answered", &us.hellos_in},
		{"sync_udp_timeouts", &us.timeouts},
		{"sync_udp_fallbacks", &us.fallbacks},
		{"sync_udp_stale", &us.stale},
		{"sync_udp_bytes", &us.bytes},
	};

	serf_get_stats(cp->serf, &sf);
	swim_get_stats(cp->swim, &ss);
	dp_get_stats(cp->dp, &ds);
	cp_sync_get_stats(cp->sync, &ts);
	swim_dsync_udp_get_stats(cp->swim, &us);
	for (e = tab; e < tab + sizeof(tab) / sizeof(tab[0]); e++)
		cp_ops_emit_u64(emit, arg, "gossipd", e->key, *e->v);
}

static int
cp_ops_stats(void *ctx, cp_rpc_stat_emit_f emit, void *arg)
{
	struct cp *cp = ctx;
	struct serf_stats sf;

	serf_get_stats(cp->serf, &sf);
	emit(arg, "agent", "name", cp->cfg.name);
	cp_ops_stats_runtime(emit, arg);
	cp_ops_emit_u64(emit, arg, "serf", "members", sf.members);
	cp_ops_emit_u64(emit, arg, "serf", "failed", sf.failed);
	cp_ops_emit_u64(emit, arg, "serf", "left", sf.left);
	cp_ops_emit_u64(emit, arg, "serf", "member_time", sf.member_time);
	cp_ops_emit_u64(emit, arg, "serf", "event_time", sf.event_time);
	cp_ops_emit_u64(emit, arg, "serf", "query_time", sf.query_time);
	cp_ops_emit_u64(emit, arg, "serf", "health_score",
			swim_awareness_score(cp->swim));
	/* One broadcast queue carries intents, events and queries here. */
	cp_ops_emit_u64(emit, arg, "serf", "intent_queue",
			swim_broadcast_queue_len(cp->swim));
	emit(arg, "serf", "event_queue", "0");
	emit(arg, "serf", "query_queue", "0");
	cp_ops_emit_u64(emit, arg, "serf", "coordinate_resets",
			sf.coordinate_resets);
	/* as the agent: "true" when a keyring is installed */
	emit(arg, "serf", "encrypted",
	     cp->cfg.keyring != NULL ? "true" : "false");
	cp_ops_stats_gossipd(cp, emit, arg);
	/* Always present, even empty ({}), as the agent sends them; we run
	 * no event handlers. */
	emit(arg, "tags", NULL, NULL);
	for (unsigned i = 0; i < cp->cfg.nb_tags; i++)
		emit(arg, "tags", cp->cfg.tags[i].key, cp->cfg.tags[i].value);
	emit(arg, "event_handlers", NULL, NULL);
	return 0;
}

static int
cp_ops_user_event(void *ctx, const char *name, const uint8_t *payload,
		  size_t payload_len, bool coalesce, char *err, size_t errlen)
{
	struct cp *cp = ctx;
	int rc = cp_serf_user_event(cp, name, payload, payload_len, coalesce);

	if (rc != 0)
		snprintf(err, errlen, "user event failed: %s", strerror(-rc));
	return rc;
}

static int
cp_ops_query(void *ctx, const struct cp_rpc_query *q, uint64_t *handle,
	     char *err, size_t errlen)
{
	int rc = cp_serf_query(ctx, q, handle);

	if (rc != 0)
		snprintf(err, errlen, "query failed: %s", strerror(-rc));
	return rc;
}

static int
cp_ops_respond(void *ctx, uint64_t handle, const uint8_t *payload,
	       size_t payload_len, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	return cp_serf_respond(ctx, handle, payload, payload_len);
}

_Static_assert(CP_RPC_COORD_DIM_MAX >= SERF_COORD_DIM_MAX,
	       "a Serf coordinate fits a get-coordinate reply");

/*
 * get-coordinate (`serf rtt`): serf's GetCachedCoordinate, which holds our
 * own coordinate and the last one each member sent in an ack. -ENOENT
 * (Ok:false) for an unknown node, one that never sent a coordinate, or
 * when coordinates are disabled, as the agent answers.
 */
static int
cp_ops_coordinate(void *ctx, const char *node, struct cp_rpc_coord *out)
{
	struct cp *cp = ctx;
	struct serf_member_info m;
	const struct serf_coord *c;

	if (serf_coordinate(cp->serf) == NULL ||
	    serf_member_find(cp->serf, node, strlen(node), &m) != 0)
		return -ENOENT;
	c = m.coord;
	if (c == NULL || c->dim == 0 || c->dim > SERF_COORD_DIM_MAX)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	memcpy(out->vec, c->vec, c->dim * sizeof(c->vec[0]));
	out->dim = c->dim;
	out->error = c->error;
	out->adjustment = c->adjustment;
	out->height = c->height;
	return 0;
}

void
cp_rpc_ops_init(struct cp *cp, struct cp_rpc_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	ops->ctx = cp;
	ops->members = cp_ops_members;
	ops->member_find = cp_ops_member_find;
	ops->join = cp_ops_join;
	ops->leave = cp_ops_leave;
	ops->force_leave = cp_ops_force_leave;
	ops->tags = cp_ops_tags;
	ops->stats = cp_ops_stats;
	ops->user_event = cp_ops_user_event;
	ops->query = cp_ops_query;
	ops->respond = cp_ops_respond;
	ops->coordinate = cp_ops_coordinate;
}
