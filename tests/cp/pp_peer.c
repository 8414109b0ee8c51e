/* SPDX-License-Identifier: MIT */
/* A push/pull peer for tests and the scale bench (pp_peer.h). */
#include "pp_peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cp_sync_int.h"
#include "swim_wire.h"

/* --- the streamed callbacks over a bare core --- */

struct pp_out {
	struct swim_pp_enc enc;
	size_t user_left;
};

struct pp_in {
	struct swim_pp_dec dec;
	size_t user_got;
};

static void *
pp_out_start(void *ctx, bool join)
{
	struct pp_peer *p = ctx;
	struct pp_out *o = calloc(1, sizeof(*o));

	if (o == NULL)
		return NULL;
	o->user_left = p->user_len;
	swim_pp_enc_start(p->swim, &o->enc, join, (uint32_t)p->user_len);
	return o;
}

static long
pp_out_fill(void *ctx, void *st, uint8_t *out, size_t cap)
{
	struct pp_peer *p = ctx;
	struct pp_out *o = st;
	int n = swim_pp_enc_next(p->swim, &o->enc, out, cap, 4096);
	size_t k = o->user_left < cap ? o->user_left : cap;

	if (n != 0) {
		p->bytes_out += n > 0 ? (uint64_t)n : 0;
		return n;
	}
	memset(out, 'u', k);
	p->bytes_out += k;
	o->user_left -= k;
	return (long)k;
}

static void
pp_free(void *ctx, void *st)
{
	(void)ctx;
	free(st);
}

static void *
pp_in_start(void *ctx, uint64_t now_us)
{
	struct pp_peer *p = ctx;
	struct pp_in *in = calloc(1, sizeof(*in));

	(void)now_us;
	if (in != NULL)
		swim_pp_dec_start(p->swim, &in->dec);
	return in;
}

static long
pp_in_feed(void *ctx, void *st, uint64_t now_us, const uint8_t *buf,
	   size_t len, bool *done)
{
	struct pp_peer *p = ctx;
	struct pp_in *in = st;
	long used = 0;

	if (in->dec.phase != SWIM_PP_DEC_USER) {
		used = swim_pp_dec_next(p->swim, now_us, &in->dec, buf, len,
					4096);
		if (used < 0 || in->dec.phase != SWIM_PP_DEC_USER)
			return used;
	}
	size_t want = in->dec.hdr.user_state_len - in->user_got;
	if (want > len - (size_t)used)
		want = len - (size_t)used;
	in->user_got += want;
	p->user_in += want;
	if (in->user_got == in->dec.hdr.user_state_len)
		*done = true;
	return used + (long)want;
}

static bool
pp_in_join(void *ctx, void *st)
{
	(void)ctx;
	return ((struct pp_in *)st)->dec.hdr.join;
}

/* Vsn[6] of a member of the core (chunked sealed streams). */
static int
pp_peer_caps(void *ctx, const char *node, const struct swim_addr *to)
{
	return swim_member_caps(((struct pp_peer *)ctx)->swim, node, to);
}

static const struct cp_sync_pp_ops pp_ops = {
	pp_out_start, pp_out_fill, pp_free,
	pp_in_start, pp_in_feed, pp_in_join, pp_free, pp_peer_caps,
};

/* --- the whole-message callbacks (before streaming) --- */

static size_t
pp_local_state(void *ctx, bool join, uint8_t *out, size_t cap)
{
	struct pp_peer *p = ctx;
	size_t n = swim_push_pull_encode(p->swim, join, NULL, 0, out, cap);

	if (n <= cap)
		p->bytes_out += n;
	return n;
}

static int
pp_merge(void *ctx, uint64_t now_us, const uint8_t *buf, size_t len)
{
	struct pp_peer *p = ctx;
	struct swim_str us;

	return swim_push_pull_merge(p->swim, now_us, buf, len, &us) < 0 ? -1
									: 0;
}

static void
pp_done(void *ctx, uint64_t now_us, const struct swim_addr *to, bool join,
	int err)
{
	struct pp_peer *p = ctx;

	(void)now_us;
	(void)to;
	(void)join;
	p->nb_done++;
	p->last_err = err;
}

static void
pp_ping_done(void *ctx, uint64_t now_us, uint32_t seq_no, bool acked)
{
	(void)ctx;
	(void)now_us;
	(void)seq_no;
	(void)acked;
}

/* A TCP port free on 127.0.0.1 now (bound, read, closed). */
static uint16_t
pp_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port = 0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	if (port == 0)
		abort();
	return port;
}

void
pp_peer_init(struct pp_peer *p, int epfd, const char *name, bool streamed,
	     size_t max_bytes)
{
	pp_peer_init_caps(p, epfd, name, streamed, max_bytes, 0);
}

void
pp_peer_init_caps(struct pp_peer *p, int epfd, const char *name,
		  bool streamed, size_t max_bytes, uint8_t vsn_caps)
{
	struct swim_cfg sc;
	struct cp_sync_cfg cfg;
	const char *err = NULL;
	char e[256];

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	swim_cfg_default_local(&sc);
	snprintf(sc.name, sizeof(sc.name), "%s", name);
	cp_addr_parse("127.0.0.1:1", 0, &sc.addr);
	/* a capable peer advertises its engine's port, as the daemon does
	 * (a join by address finds it in the table) */
	if (vsn_caps != 0)
		sc.addr.port = pp_free_port();
	sc.seed = 42;
	sc.vsn_caps = vsn_caps;
	p->swim = swim_new(&sc, &err);
	if (p->swim == NULL)
		abort();
	cp_sync_cfg_default(&cfg);
	cfg.epfd = epfd;
	cfg.bind = sc.addr;
	cfg.bind.port = vsn_caps != 0 ? sc.addr.port : 0;
	cfg.advertise = sc.addr;
	cfg.name = p->name;
	if (max_bytes != 0)
		cfg.max_bytes = max_bytes;
	cfg.h = (struct cp_sync_handler){p, pp_local_state, pp_merge, pp_done,
					 pp_ping_done, NULL,
					 streamed ? &pp_ops : NULL};
	p->sync = cp_sync_new(&cfg, e, sizeof(e));
	if (p->sync == NULL)
		abort();
}

void
pp_peer_fini(struct pp_peer *p)
{
	cp_sync_delete(p->sync);
	swim_delete(p->swim);
}

void
pp_peer_addr(const struct pp_peer *p, struct swim_addr *a)
{
	cp_addr_parse("127.0.0.1:1", 0, a);
	a->port = cp_sync_port(p->sync);
}

int
pp_peer_node(const char *prefix, uint32_t i, uint8_t *out, size_t cap)
{
	static const uint8_t vsn[6] = {1, 5, 2, 2, 5, 4};
	/* 0xff + {role: web, dc: eu1, rack: r7}: three short tags */
	static const uint8_t meta[] = "\xff\x83\xa4" "role" "\xa3" "web"
				      "\xa2" "dc" "\xa3" "eu1" "\xa4" "rack"
				      "\xa2" "r7";
	uint8_t ip[4] = {127, (uint8_t)(i >> 16), (uint8_t)(i >> 8),
			 (uint8_t)i};
	char name[64];
	int nl = snprintf(name, sizeof(name), "%s-%07u", prefix, i);
	struct swim_push_node n = {
		.name = {(const uint8_t *)name, (uint32_t)nl},
		.addr = {ip, 4},
		.port = 7946,
		.incarnation = 1,
		.state = SWIM_STATUS_ALIVE,
		.meta = {meta, sizeof(meta) - 1},
		.vsn = {vsn, 6},
	};

	return swim_wire_encode_push_node(&n, out, cap);
}

static void
pp_peer_drain(struct pp_peer *p)
{
	struct swim_event ev;
	struct swim_output out;

	while (swim_pop_event(p->swim, &ev))
		p->nb_events++;
	while (swim_pop_output(p->swim, &out))
		;
}

void
pp_peer_fill(struct pp_peer *p, const char *prefix, uint32_t n)
{
	static uint8_t buf[CP_SYNC_PP_WINDOW];
	struct swim_pp_dec d;
	struct swim_push_pull_header h = {false, n, 0};
	size_t len = 0;
	uint32_t i = 0;

	swim_pp_dec_start(p->swim, &d);
	len = (size_t)swim_wire_encode_push_pull_header(&h, buf, sizeof(buf));
	while (i < n || len > 0) {
		while (i < n && len + 1024 < sizeof(buf))
			len += (size_t)pp_peer_node(prefix, i++, buf + len,
						    sizeof(buf) - len);
		int c = swim_pp_dec_next(p->swim, cp_now_us(), &d, buf, len,
					 1u << 20);
		if (c <= 0)
			abort();
		memmove(buf, buf + c, len - (size_t)c);
		len -= (size_t)c;
		pp_peer_drain(p);
	}
}

/* Largest buffer any stream of the engine holds now. */
static size_t
pp_peer_bufs(const struct pp_peer *p)
{
	const struct cp_sync *sync = p->sync;
	size_t peak = 0;

	for (unsigned i = 0; i < sync->cfg.max_streams; i++) {
		const struct cp_sess *s = sync->sess[i];
		if (s == NULL)
			continue;
		if (s->rx_cap > peak)
			peak = s->rx_cap;
		if (s->tx_len > peak)
			peak = s->tx_len;
		if (s->plain_cap > peak)
			peak = s->plain_cap;
	}
	return peak;
}

static uint64_t
pp_thread_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void
pp_peer_pump(int epfd, struct pp_peer **ps, unsigned nb, int ms,
	     const int *flag)
{
	uint64_t end = cp_now_us() + (uint64_t)ms * 1000;

	while (cp_now_us() < end && (flag == NULL || *flag == 0)) {
		/* CPU time of one reactor pass: the machine may be shared,
		 * so wall time would count other processes' turns. */
		uint32_t before[8];
		for (unsigned i = 0; i < nb && i < 8; i++)
			before[i] = swim_member_count(ps[i]->swim);
		uint64_t t0 = pp_thread_cpu_us();
		cp_io_poll(epfd, 1);
		uint64_t dt = pp_thread_cpu_us() - t0;
		for (unsigned i = 0; i < nb; i++) {
			uint32_t grow = i < 8 ? swim_member_count(ps[i]->swim) -
						before[i] : 0;
			if (grow > ps[i]->max_grow)
				ps[i]->max_grow = grow;
			size_t b = pp_peer_bufs(ps[i]);
			if (b > ps[i]->peak_buf)
				ps[i]->peak_buf = b;
			if (dt > ps[i]->max_slice_us)
				ps[i]->max_slice_us = dt;
			cp_sync_expire(ps[i]->sync, cp_now_us());
			pp_peer_drain(ps[i]);
		}
	}
}
