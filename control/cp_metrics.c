/* SPDX-License-Identifier: MIT */
/*
 * The daemon's telemetry (cp_metrics.h): libmicrohttpd serves /metrics
 * from its own thread, statsd lines leave through a non-blocking UDP
 * socket. Control renders once per second (CP_METRICS_PERIOD_US) and
 * swaps the published text under pub_lock; the HTTP thread copies the
 * latest text under the same lock and reads nothing else.
 */
#include "cp_metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cp_log.h"

/* How often the text is rendered and statsd lines are sent. */
#define CP_METRICS_PERIOD_US (1000ull * 1000)
/* statsd datagram size: fits any path MTU statsd daemons expect. */
#define CP_STATSD_DGRAM 1400
/* Suspicions remembered for the time-to-detect histogram (a slot per
 * name hash; a collision loses one sample, never a wrong one). */
#define CP_DETECT_SLOTS 1024

/* Probe round trips: 100 µs (loopback) to 2.5 s (beyond ProbeTimeout). */
static const double cp_rtt_bounds[] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
	0.05, 0.1, 0.25, 0.5, 1, 2.5,
};
/* Suspect -> failed: Lifeguard's suspicion timeout spans these. */
static const double cp_detect_bounds[] = {
	0.5, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 60, 120,
};

/* Push/pulls: a LAN exchange takes ms, a big state over TCP seconds. */
static const double cp_pp_bounds[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
	0.5, 1, 2.5, 5, 10,
};
/* Outbound push/pulls in flight remembered (by address hash). */
#define CP_PP_SLOTS 64

struct cp_detect_slot {
	uint64_t hash;			/* 0: empty */
	uint64_t since_us;		/* when the suspicion was seen */
};

struct cp_metrics {
	struct MHD_Daemon *mhd;
	int http_fd;			/* our listener until MHD owns it */
	uint16_t http_port;
	pthread_mutex_t pub_lock;	/* guards pub and pub_len only */
	char *pub;			/* the latest rendering */
	size_t pub_len;
	int statsd_fd;			/* connected UDP socket, or -1 */
	bool has_tel;			/* "/gossipd/stats" registered */
	uint64_t statsd_sent;
	uint64_t statsd_dropped;
	bool has_prev;
	struct cp_metrics_input prev;	/* what statsd last sent */
	struct cp_metrics_input cur;	/* scratch, not on the stack */
	uint64_t next_us;
	struct cp_metrics_hist rtt;
	struct cp_metrics_hist detect;
	struct cp_detect_slot slots[CP_DETECT_SLOTS];
	struct cp_metrics_hist pp;	/* push/pull durations */
	struct cp_detect_slot pp_slots[CP_PP_SLOTS];	/* by address */
};

#define CP_NB_BOUNDS(a) ((unsigned)(sizeof(a) / sizeof((a)[0])))

/* --- HTTP (the MHD thread) --- */

static enum MHD_Result
cp_metrics_reply(struct MHD_Connection *c, unsigned status, char *body,
		 size_t len, const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
cp_metrics_http(void *cls, struct MHD_Connection *c, const char *url,
		const char *method, const char *version, const char *upload,
		size_t *upload_size, void **con_cls)
{
	struct cp_metrics *m = cls;
	char *body;
	size_t len;

	(void)version;
	(void)upload;
	(void)con_cls;
	if (*upload_size != 0)
		return MHD_NO;	/* GET has no body: drop the connection */
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return cp_metrics_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED,
					strdup("GET only\n"), 9, "text/plain");
	if (strcmp(url, "/metrics") != 0)
		return cp_metrics_reply(c, MHD_HTTP_NOT_FOUND,
					strdup("see /metrics\n"), 13,
					"text/plain");
	pthread_mutex_lock(&m->pub_lock);
	len = m->pub_len;
	body = malloc(len + 1);
	if (body != NULL && len > 0)
		memcpy(body, m->pub, len);
	pthread_mutex_unlock(&m->pub_lock);
	if (body == NULL)
		return MHD_NO;
	return cp_metrics_reply(c, MHD_HTTP_OK, body, len,
				"text/plain; version=0.0.4; charset=utf-8");
}

/* Our own listener, so a busy port is a clear error and port 0 works. */
static int
cp_metrics_listen(struct cp_metrics *m, const char *addr)
{
	struct swim_addr a;
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;

	if (cp_addr_parse(addr, 0, &a) != 0) {
		fprintf(stderr, "gossipd: --metrics-addr %s: not IP:PORT\n",
			addr);
		return -1;
	}
	memset(&ss, 0, sizeof(ss));
	if (a.ip_len == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(a.port);
		memcpy(&s4->sin_addr, a.ip, 4);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a.port);
		memcpy(&s6->sin6_addr, a.ip, 16);
		sl = sizeof(*s6);
	}
	m->http_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (m->http_fd < 0 ||
	    setsockopt(m->http_fd, SOL_SOCKET, SO_REUSEADDR, &one,
		       sizeof(one)) != 0 ||
	    bind(m->http_fd, (struct sockaddr *)&ss, sl) != 0 ||
	    listen(m->http_fd, 64) != 0 ||
	    getsockname(m->http_fd, (struct sockaddr *)&ss, &sl) != 0) {
		fprintf(stderr, "gossipd: --metrics-addr %s: %s\n", addr,
			strerror(errno));
		return -1;
	}
	m->http_port = ntohs(ss.ss_family == AF_INET ?
			     ((struct sockaddr_in *)&ss)->sin_port :
			     ((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/* MHD's thread gets every signal blocked: signals are control's. */
static int
cp_metrics_http_start(struct cp_metrics *m, const char *addr)
{
	sigset_t all, old;

	if (cp_metrics_listen(m, addr) != 0)
		return -1;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	m->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
				  MHD_USE_POLL, 0, NULL, NULL,
				  cp_metrics_http, m,
				  MHD_OPTION_LISTEN_SOCKET, m->http_fd,
				  MHD_OPTION_CONNECTION_LIMIT, 32u,
				  MHD_OPTION_CONNECTION_TIMEOUT, 10u,
				  MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (m->mhd == NULL) {
		fprintf(stderr, "gossipd: --metrics-addr %s: cannot start "
			"the HTTP server\n", addr);
		return -1;
	}
	m->http_fd = -1;	/* MHD_stop_daemon closes it */
	CP_LOG(INFO, "agent: metrics at http://%s/metrics", addr);
	return 0;
}

/* --- statsd --- */

/* HOST:PORT (the config checked its shape); any address family. */
static int
cp_metrics_statsd_open(struct cp_metrics *m, const char *hp)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res = NULL;
	char host[CP_SEED_LEN];
	const char *colon = strrchr(hp, ':');
	int rc;

	if (colon == NULL || (size_t)(colon - hp) >= sizeof(host)) {
		fprintf(stderr, "gossipd: --statsd-addr %s: not HOST:PORT\n",
			hp);
		return -1;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - hp), hp);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "gossipd: --statsd-addr %s: %s\n", hp,
			gai_strerror(rc));
		return -1;
	}
	m->statsd_fd = socket(res->ai_family,
			      SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->statsd_fd < 0 ||
	    connect(m->statsd_fd, res->ai_addr, res->ai_addrlen) != 0) {
		fprintf(stderr, "gossipd: --statsd-addr %s: %s\n", hp,
			strerror(errno));
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return 0;
}

/* Never blocks: a full socket buffer or a refused port is a drop. */
static void
cp_metrics_statsd_emit(void *arg, const char *buf, size_t len)
{
	struct cp_metrics *m = arg;

	if (send(m->statsd_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) ==
	    (ssize_t)len)
		m->statsd_sent++;
	else
		m->statsd_dropped++;
}

/* --- control's side --- */

void
cp_metrics_gather(const struct cp_metrics *m, struct cp *cp,
		  struct cp_metrics_input *in)
{
	uint32_t alive, leaving;

	memset(in, 0, sizeof(*in));
	swim_get_stats(cp->swim, &in->swim);
	serf_get_stats(cp->serf, &in->serf);
	/* a leaving member is still alive in the core: count it once */
	alive = swim_member_count_status(cp->swim, SWIM_STATUS_ALIVE);
	leaving = in->serf.leaving;
	in->members[CP_MS_ALIVE] = alive > leaving ? alive - leaving : 0;
	in->members[CP_MS_SUSPECT] =
		swim_member_count_status(cp->swim, SWIM_STATUS_SUSPECT);
	in->members[CP_MS_FAILED] = in->serf.failed;
	in->members[CP_MS_LEFT] = in->serf.left;
	in->members[CP_MS_LEAVING] = leaving;
	in->broadcast_queue = swim_broadcast_queue_len(cp->swim);
	in->health_score = swim_awareness_score(cp->swim);
	if (cp->sync != NULL) {
		cp_sync_get_stats(cp->sync, &in->sync);
		in->tcp_streams = cp_sync_nb_streams(cp->sync);
	}
	if (cp->rpc != NULL) {
		cp_rpc_get_counters(cp->rpc, &in->rpc);
		in->has_rpc = true;
	}
	if (cp->dp != NULL) {
		dp_get_stats(cp->dp, &in->dp);
		in->nb_lcores = dp_nb_lcores(cp->dp);
		if (in->nb_lcores > CP_METRICS_LCORES_MAX)
			in->nb_lcores = CP_METRICS_LCORES_MAX;
		for (unsigned i = 0; i < in->nb_lcores; i++)
			dp_get_lcore_stats(cp->dp, i, &in->lcore[i].st,
					   &in->lcore[i].rx_depth,
					   &in->lcore[i].tx_depth);
	}
	if (m != NULL) {
		in->probe_rtt = m->rtt;
		in->detect = m->detect;
		in->push_pull = m->pp;
		in->statsd_sent = m->statsd_sent;
		in->statsd_dropped = m->statsd_dropped;
	} else {
		cp_metrics_hist_init(&in->probe_rtt, cp_rtt_bounds,
				     CP_NB_BOUNDS(cp_rtt_bounds));
		cp_metrics_hist_init(&in->detect, cp_detect_bounds,
				     CP_NB_BOUNDS(cp_detect_bounds));
		cp_metrics_hist_init(&in->push_pull, cp_pp_bounds,
				     CP_NB_BOUNDS(cp_pp_bounds));
	}
}

/* Render and swap: the old text is freed after the lock is let go. */
static void
cp_metrics_publish(struct cp_metrics *m)
{
	struct cp_metrics_buf b = { 0 };
	char *old;

	if (cp_metrics_render(&m->cur, &b) != 0) {
		free(b.p);
		return;	/* out of memory: keep serving the last text */
	}
	pthread_mutex_lock(&m->pub_lock);
	old = m->pub;
	m->pub = b.p;
	m->pub_len = b.len;
	pthread_mutex_unlock(&m->pub_lock);
	free(old);
}

void
cp_metrics_tick(struct cp_metrics *m, struct cp *cp, uint64_t now_us)
{
	if (m == NULL || now_us < m->next_us)
		return;
	m->next_us = now_us + CP_METRICS_PERIOD_US;
	cp_metrics_gather(m, cp, &m->cur);
	if (m->mhd != NULL)
		cp_metrics_publish(m);
	if (m->has_tel)
		cp_metrics_tel_publish(&m->cur);
	if (m->statsd_fd >= 0) {
		cp_metrics_statsd(&m->cur, m->has_prev ? &m->prev : NULL,
				  CP_STATSD_DGRAM, cp_metrics_statsd_emit, m);
		m->prev = m->cur;
		m->has_prev = true;
	}
}

uint64_t
cp_metrics_next_deadline(const struct cp_metrics *m)
{
	return m == NULL ? UINT64_MAX : m->next_us;
}

uint16_t
cp_metrics_http_port(const struct cp_metrics *m)
{
	return m == NULL || m->mhd == NULL ? 0 : m->http_port;
}

/* FNV-1a, never 0 (0 marks an empty slot). */
static uint64_t
cp_metrics_name_hash(const struct swim_str *name)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < name->len; i++)
		h = (h ^ ((const uint8_t *)name->ptr)[i]) * 1099511628211ull;
	return h == 0 ? 1 : h;
}

/* FNV-1a of an address (IP bytes and port), never 0. */
static uint64_t
cp_metrics_addr_hash(const struct swim_addr *a)
{
	uint64_t h = 1469598103934665603ull;
	unsigned n = a->ip_len <= sizeof(a->ip) ? a->ip_len : sizeof(a->ip);

	for (unsigned i = 0; i < n; i++)
		h = (h ^ a->ip[i]) * 1099511628211ull;
	h = (h ^ (a->port & 0xff)) * 1099511628211ull;
	h = (h ^ (a->port >> 8)) * 1099511628211ull;
	return h == 0 ? 1 : h;
}

void
cp_metrics_pp_start(struct cp_metrics *m, uint64_t now_us,
		    const struct swim_addr *to)
{
	uint64_t h;

	if (m == NULL)
		return;
	h = cp_metrics_addr_hash(to);
	m->pp_slots[h % CP_PP_SLOTS].hash = h;
	m->pp_slots[h % CP_PP_SLOTS].since_us = now_us;
}

void
cp_metrics_pp_done(struct cp_metrics *m, uint64_t now_us,
		   const struct swim_addr *to, int err)
{
	struct cp_detect_slot *s;
	uint64_t h;

	if (m == NULL)
		return;
	h = cp_metrics_addr_hash(to);
	s = &m->pp_slots[h % CP_PP_SLOTS];
	if (s->hash != h)
		return;	/* its slot was taken by another: not measured */
	if (err == 0 && now_us >= s->since_us)
		cp_metrics_hist_observe(&m->pp,
					(double)(now_us - s->since_us) / 1e6);
	s->hash = 0;
}

void
cp_metrics_on_event(struct cp_metrics *m, uint64_t now_us,
		    const struct swim_event *ev)
{
	struct cp_detect_slot *s;
	uint64_t h;

	if (m == NULL)
		return;
	if (ev->kind == SWIM_EV_PING) {
		cp_metrics_hist_observe(&m->rtt, (double)ev->rtt_us / 1e6);
		return;
	}
	if (ev->kind != SWIM_EV_SUSPECT && ev->kind != SWIM_EV_LEAVE &&
	    ev->kind != SWIM_EV_JOIN)
		return;
	h = cp_metrics_name_hash(&ev->member.name);
	s = &m->slots[h % CP_DETECT_SLOTS];
	if (ev->kind == SWIM_EV_SUSPECT) {
		s->hash = h;
		s->since_us = now_us;
		return;
	}
	if (s->hash != h)
		return;
	if (ev->kind == SWIM_EV_LEAVE &&
	    ev->member.status == SWIM_STATUS_DEAD && now_us >= s->since_us)
		cp_metrics_hist_observe(&m->detect,
					(double)(now_us - s->since_us) / 1e6);
	s->hash = 0;	/* failed, left or back: the suspicion is over */
}

struct cp_metrics *
cp_metrics_new(struct cp *cp, int *err)
{
	struct cp_metrics *m;

	bool is_dpdk = strcmp(cp->cfg.dataplane, "dpdk") == 0;

	*err = 0;
	if (cp->cfg.metrics_addr[0] == '\0' &&
	    cp->cfg.statsd_addr[0] == '\0' && !is_dpdk)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		fprintf(stderr, "gossipd: metrics: %s\n", strerror(ENOMEM));
		*err = -1;
		return NULL;
	}
	m->http_fd = -1;
	m->statsd_fd = -1;
	pthread_mutex_init(&m->pub_lock, NULL);
	cp_metrics_hist_init(&m->rtt, cp_rtt_bounds,
			     CP_NB_BOUNDS(cp_rtt_bounds));
	cp_metrics_hist_init(&m->detect, cp_detect_bounds,
			     CP_NB_BOUNDS(cp_detect_bounds));
	cp_metrics_hist_init(&m->pp, cp_pp_bounds, CP_NB_BOUNDS(cp_pp_bounds));
	if ((cp->cfg.statsd_addr[0] != '\0' &&
	     cp_metrics_statsd_open(m, cp->cfg.statsd_addr) != 0) ||
	    (cp->cfg.metrics_addr[0] != '\0' &&
	     cp_metrics_http_start(m, cp->cfg.metrics_addr) != 0)) {
		cp_metrics_delete(m);
		*err = -1;
		return NULL;
	}
	/* EAL runs by now (cp_dp_init came first) */
	if (is_dpdk && cp_metrics_tel_register() == 0)
		m->has_tel = true;
	/* a scrape right after start already gets every metric */
	cp_metrics_tick(m, cp, cp_now_us());
	return m;
}

int
cp_metrics_init(struct cp *cp)
{
	int err;

	cp->metrics = cp_metrics_new(cp, &err);
	return err;
}

void
cp_metrics_delete(struct cp_metrics *m)
{
	if (m == NULL)
		return;
	if (m->mhd != NULL)
		MHD_stop_daemon(m->mhd);	/* joins the HTTP thread */
	if (m->http_fd >= 0)
		close(m->http_fd);
	if (m->statsd_fd >= 0)
		close(m->statsd_fd);
	if (m->has_tel)
		cp_metrics_tel_clear();
	pthread_mutex_destroy(&m->pub_lock);
	free(m->pub);
	free(m);
}
