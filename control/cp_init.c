/* SPDX-License-Identifier: MIT */
/*
 * The daemon's init steps, in the order main() calls them, and the
 * teardown. Each step prints its own one-line error to stderr (a person
 * reads it) and returns -1; main() maps the step to an exit status.
 * Runs before the loop starts, on the thread that becomes control.
 */
#include "cp.h"
#include "cp_sync_delta.h"
#include "swim_dsync.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <syslog.h>
#include <unistd.h>

#include "cp_agent.h"
#include "cp_metrics.h"
#include "cp_handler.h"
#include "cp_rpc.h"
#include "dp.h"
#include "swim_crypto.h"
#include "swim_sealed_stream.h"

/* The core leaves room for exactly what the dataplane's seal adds. */
_Static_assert(SWIM_ENCRYPT_OVERHEAD == SWIM_CRYPTO_OVERHEAD,
	       "swim_cfg.is_encrypted budget != swim_crypto_seal_udp overhead");

/* A seed for the core's PRNG; the kernel's, or time and pid. */
static uint64_t
cp_seed(void)
{
	uint64_t seed;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed))
		return seed;
	return cp_now_us() ^ ((uint64_t)getpid() << 32);
}

static void cp_rpc_log_sink(void *ctx, const char *line);

int
cp_core_init(struct cp *cp)
{
	static const uint8_t vsn[SWIM_VSN_LEN] = {1, 5, 2, 2, 5, 5};
	struct swim_cfg sc;
	const char *err = NULL;
	char errbuf[512];
	int n;

	memset(&sc, 0, sizeof(sc));
	/* main() applied serf's advertise rule; callers that did not (the
	 * loop tests) get it here. */
	if (cp->cfg.advertise.ip_len == 0 &&
	    cp_cfg_advertise(&cp->cfg, errbuf, sizeof(errbuf)) != 0) {
		fprintf(stderr, "gossipd: %s\n", errbuf);
		return -1;
	}
	if (cp->cfg.enable_syslog) {
		openlog("gossipd", LOG_PID | LOG_NDELAY,
			cp_cfg_syslog_facility(cp->cfg.syslog_facility));
		cp_log_set_sink(cp_rpc_log_sink, cp);	/* rpc comes later */
	}
	if (swim_cfg_default_profile(&sc, cp->cfg.profile) != 0) {
		fprintf(stderr, "gossipd: unknown profile %s\n",
			cp->cfg.profile);
		return -1;
	}
	snprintf(sc.name, sizeof(sc.name), "%s", cp->cfg.name);
	sc.addr = cp->cfg.advertise;
	n = cp_tags_encode(cp->cfg.tags, cp->cfg.nb_tags, sc.meta,
			   sizeof(sc.meta));
	if (n < 0) {
		fprintf(stderr, "gossipd: tags exceed %d bytes of meta\n",
			SWIM_META_MAX);
		return -1;
	}
	sc.meta_len = (uint32_t)n;
	memcpy(sc.vsn, vsn, sizeof(vsn));
	/* gossipd peers recognise each other by Vsn[6] (swim_dsync.h);
	 * CAP_UDP: the exchange starts with a UDP HELLO (swim_dsync_udp.h) */
	sc.vsn_caps = cp->cfg.delta_sync ?
		      SWIM_DSYNC_CAP_V1 | SWIM_DSYNC_CAP_UDP : 0;
	/* The dataplane seals every packet with a keyring: leave it room. */
	sc.is_encrypted = cp->cfg.keyring != NULL &&
			  swim_keyring_count(cp->cfg.keyring) > 0;
	/* encrypted push/pulls of any size between gossipd peers */
	if (sc.is_encrypted)
		sc.vsn_caps |= SWIM_CAP_SEALED_STREAM;
	/* An idle node's probe rides a peer's ping when one comes in the
	 * last half interval before it (swim.h): same rate, never later. */
	sc.probe_early_us = sc.probe_interval_us / 2;
	cp->seed = cp_seed();
	sc.seed = cp->seed;
	sc.max_queue_depth = cp->cfg.max_queue_depth;
	cp->swim = swim_new(&sc, &err);
	if (cp->swim == NULL) {
		fprintf(stderr, "gossipd: core: %s\n", err ? err : "failed");
		return -1;
	}
	cp->probe_interval_us = sc.probe_interval_us;
	cp->gossip_interval_us = sc.gossip_interval_us;
	cp->tcp_timeout_us = sc.tcp_timeout_us;
	return 0;
}

int
cp_serf_layer_init(struct cp *cp)
{
	if (cp_serf_init(cp) != 0) {
		fprintf(stderr, "gossipd: serf layer: out of memory\n");
		return -1;
	}
	return 0;
}

int
cp_reactor_init(struct cp *cp)
{
	cp->epfd = epoll_create1(EPOLL_CLOEXEC);
	cp->rx = calloc(DP_BURST, sizeof(*cp->rx));
	if (cp->epfd < 0 || cp->rx == NULL) {
		fprintf(stderr, "gossipd: epoll_create1: %s\n",
			strerror(errno));
		return -1;
	}
	return 0;
}

/* The DPDK dataplane makes the exception interface that holds the bind
 * address, so it comes before the TCP listener needs that address. */
static bool
cp_dp_first(const struct cp *cp)
{
	return strcmp(cp->cfg.dataplane, "dpdk") == 0;
}

/* Delta sync on the engine (cp_sync_delta.h). @retval 0 or -1. */
static int
cp_sync_delta_init(struct cp *cp)
{
	struct cp_sync_delta_cfg dc;

	cp_sync_delta_cfg_default(&dc);
	dc.swim = cp->swim;
	dc.is_enabled = cp->cfg.delta_sync;
	dc.interval_us = cp->cfg.delta_sync_interval_us;
	dc.seed = cp->seed;
	if (cp_sync_delta_enable(cp->sync, &dc) == 0)
		return 0;
	fprintf(stderr, "gossipd: delta sync: out of memory\n");
	return -1;
}

/* TCP first: the same IP:port as UDP, so a busy port fails here. */
int
cp_sync_init(struct cp *cp)
{
	struct cp_sync_cfg sc;
	char err[256];

	if (cp_dp_first(cp) && cp_dp_init(cp) != 0)
		return -1;

	cp_sync_cfg_default(&sc);
	sc.epfd = cp->epfd;
	sc.bind = cp->cfg.bind;
	sc.advertise = cp->cfg.advertise;
	sc.name = cp->cfg.name;
	sc.tcp_timeout_us = cp->tcp_timeout_us;
	sc.keyring = cp->cfg.keyring;
	cp_sync_handler_init(cp, &sc.h);
	cp->sync = cp_sync_new(&sc, err, sizeof(err));
	if (cp->sync == NULL) {
		fprintf(stderr, "gossipd: %s\n", err);
		return -1;
	}
	return cp_sync_delta_init(cp);
}

int
cp_dp_init(struct cp *cp)
{
	struct dp_cfg dc;
	char err[512] = "";

	if (cp->dp != NULL)
		return 0;	/* made before the listener (cp_dp_first) */
	memset(&dc, 0, sizeof(dc));
	dc.bind = cp->cfg.bind;
	/* DPDK: one dataplane lcore per EAL worker lcore */
	dc.nb_lcores = cp_dp_first(cp) ? 0 : 1;
	/* inline (socket), control empties the ring after every turn of at
	 * most (size - 1) / DP_BURST bursts: 256 slots, 0.5 MiB, hold one;
	 * DPDK lcores run ahead of control and need the room */
	dc.ring_size = cp_dp_first(cp) ? 1024 : 256;
	dc.eal_args = cp->cfg.eal[0] != '\0' ? cp->cfg.eal : NULL;
	dc.port_id = cp->cfg.port_id;
	dc.power = (unsigned)dp_power_parse(cp->cfg.dp_power);
	dc.is_inline = true;	/* socket: control runs it (one thread) */
	dc.keyring = cp->cfg.keyring;
	cp->dp = dp_new(cp->cfg.dataplane, &dc, err, sizeof(err));
	if (cp->dp == NULL) {
		fprintf(stderr, "gossipd: dataplane %s: %s\n",
			cp->cfg.dataplane, err);
		return -1;
	}
	return 0;
}

/* The RPC server's nested epoll fd became readable. */
static void
cp_rpc_on_event(struct cp_io *io, uint32_t events, uint64_t now_us)
{
	struct cp *cp = io->ctx;

	(void)events;
	(void)now_us;
	cp_rpc_poll(cp->rpc, 0);
}

/* serf's -syslog: a line at or above the log level goes to syslog with
 * its level's priority, without our timestamp (syslog has its own). */
static void
cp_syslog_line(const char *line)
{
	static const struct {
		const char *tag;
		enum cp_log_level level;
		int priority;
	} levels[] = {
		{"[DEBUG]", CP_LOG_DEBUG, LOG_DEBUG},
		{"[INFO]", CP_LOG_INFO, LOG_INFO},
		{"[WARN]", CP_LOG_WARN, LOG_WARNING},
		{"[ERR]", CP_LOG_ERR, LOG_ERR},
	};

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		const char *at = strstr(line, levels[i].tag);

		if (at == NULL)
			continue;
		if (cp_log_enabled(levels[i].level))
			syslog(levels[i].priority, "%s", at);
		return;
	}
}

/* Every log line to the RPC monitors and, with --syslog, to syslog
 * (cp_log's one sink). */
static void
cp_rpc_log_sink(void *ctx, const char *line)
{
	struct cp *cp = ctx;

	if (cp->rpc != NULL)
		cp_rpc_publish_log(cp->rpc, line);
	if (cp->cfg.enable_syslog)
		cp_syslog_line(line);
}

int
cp_rpc_server_init(struct cp *cp)
{
	struct cp_rpc_cfg rc;
	char bind[CP_ADDR_STRLEN];
	char err[256] = "";

	cp_rpc_cfg_default(&rc);
	rc.bind = cp_addr_str(&cp->cfg.rpc_addr, bind, sizeof(bind));
	rc.auth_key = cp->cfg.rpc_auth;	/* "" = none, as serf's rpc_auth */
	cp_rpc_ops_init(cp, &rc.ops);
	cp->rpc = cp_rpc_new(&rc, err, sizeof(err));
	if (cp->rpc == NULL) {
		fprintf(stderr, "gossipd: %s\n", err);
		return -1;
	}
	cp->rpc_io.fd = cp_rpc_fd(cp->rpc);
	cp->rpc_io.on_event = cp_rpc_on_event;
	cp->rpc_io.ctx = cp;
	/* From here on, lines are kept for `serf monitor` too. */
	cp_log_set_sink(cp_rpc_log_sink, cp);
	return cp_io_add(cp->epfd, &cp->rpc_io, EPOLLIN);
}

/* Log the start like serf and begin --join / --retry-join. */
void
cp_join_init(struct cp *cp)
{
	char b[CP_ADDR_STRLEN], a[CP_ADDR_STRLEN], r[CP_ADDR_STRLEN];
	uint64_t now_us = cp_now_us();

	CP_LOG(INFO, "agent: gossipd agent running: node '%s' bind %s "
	       "advertise %s rpc %s profile %s dataplane %s", cp->cfg.name,
	       cp_addr_str(&cp->cfg.bind, b, sizeof(b)),
	       cp_addr_str(&cp->cfg.advertise, a, sizeof(a)),
	       cp_addr_str(&cp->cfg.rpc_addr, r, sizeof(r)),
	       cp->cfg.profile, cp->cfg.dataplane);
	cp_agent_rejoin(cp, now_us);	/* the snapshot's members, if any */
	if (cp->cfg.nb_join > 0) {
		CP_LOG(INFO, "agent: Joining cluster...(replay: false)");
		cp_join_start(cp, now_us, CP_JOIN_START, 0, cp->cfg.join,
			      cp->cfg.nb_join);
	} else if (cp->cfg.nb_join_seeds > 0) {
		/* --join named only hosts that did not resolve */
		CP_LOG(ERR, "agent: Error joining the cluster: none of the "
		       "%u --join addresses resolved", cp->cfg.nb_join_seeds);
		cp->exit_code = 1;
		cp->is_done = true;
	}
	if (cp->cfg.nb_retry_seeds > 0)
		cp->retry_next_us = now_us;
}

void
cp_fini(struct cp *cp)
{
	cp_handler_fini(cp);		/* kills a running handler script */
	cp_agent_fini(cp);		/* last snapshot lines need serf */
	cp_metrics_delete(cp->metrics);	/* its thread reads only its text */
	cp->metrics = NULL;
	cp_log_set_sink(NULL, NULL);	/* before the server goes */
	cp_rpc_delete(cp->rpc);
	cp->rpc = NULL;
	cp_sync_delete(cp->sync);
	if (cp->dp != NULL)
		dp_delete(cp->dp);
	cp_serf_fini(cp);
	if (cp->swim != NULL)
		swim_delete(cp->swim);
	if (cp->epfd >= 0)
		close(cp->epfd);
	free(cp->rx);
	/* After dp and sync: their threads and streams read it. */
	swim_keyring_delete(cp->cfg.keyring);
	cp->cfg.keyring = NULL;
}

