/* SPDX-License-Identifier: MIT */
/*
 * Delta sync on the TCP sync engine (cp_sync_delta.h): which exchanges
 * start (the core's periodic push/pull with a capable peer, one more per
 * interval with a random capable peer), claiming inbound ones, how one
 * ends (counted by kind, reported as a push/pull would be, or a full
 * push/pull when the peer refuses it), and the bytes of every stream by
 * kind. A stream's I/O is cp_sync_delta_io.c. Control thread only.
 */
#include "cp_sync_delta_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "swim_dsync_peer.h"
#include "swim_sealed_stream.h"
#include "swim_dsync_udp.h"

void
cp_sync_delta_cfg_default(struct cp_sync_delta_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->is_enabled = true;
	cfg->interval_us = CP_SYNC_DELTA_INTERVAL_US;
	cfg->budget_us = 5ull * 1000 * 1000;
}

int
cp_sync_delta_enable(struct cp_sync *sync, const struct cp_sync_delta_cfg *cfg)
{
	if (cfg->swim == NULL || sync->cfg.h.pp == NULL)
		return -EINVAL;
	if (sync->delta == NULL) {
		sync->delta = calloc(1, sizeof(*sync->delta));
		if (sync->delta == NULL)
			return -ENOMEM;
	}
	sync->delta->cfg = *cfg;
	sync->delta->rnd = cfg->seed ^ 0x6a09e667f3bcc909ull;
	sync->delta->next_us = 0;
	return 0;
}

void
cp_sync_delta_fini(struct cp_sync *sync)
{
	free(sync->delta);
	sync->delta = NULL;
}

struct cp_dctl *
cp_dx_ctl(const struct cp_sess *s)
{
	return s->sync->delta;
}

static uint64_t
cp_dctl_rand(struct cp_dctl *d)
{
	uint64_t z = (d->rnd += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* --- starting an exchange --- */

/* A non-blocking connect (cp_sync_connect's) wrapped in a delta stream.
 * NULL: failed. */
static struct cp_sess *
cp_dx_connect(struct cp_sync *sync, uint64_t now_us,
	      const struct swim_addr *to)
{
	struct cp_sess *s = cp_sync_connect(sync, now_us, to, CP_SESS_OUT_PP);

	if (s == NULL)
		return NULL;
	s->io.on_event = cp_dx_on_event;
	s->dx = calloc(1, sizeof(*s->dx));
	if (s->dx == NULL) {
		cp_sess_close(s);
		return NULL;
	}
	return s;
}

/* Open a stream to `to` and send HELLO. @retval 0 or < 0 (nothing
 * reported: the caller decides). */
static int
cp_dx_start(struct cp_sync *sync, uint64_t now_us, const struct swim_addr *to,
	    const char *node, bool is_tick)
{
	int caps = sync->cfg.keyring != NULL ?
			   cp_sst_peer_caps(sync, node, NULL) : 0;
	struct cp_dctl *d = sync->delta;
	struct cp_sess *s = cp_dx_connect(sync, now_us, to);
	uint8_t *hello = malloc(SWIM_DSYNC_MSG_MAX);
	size_t n = 0;

	if (s == NULL || hello == NULL)
		goto fail;
	s->dx->is_tick = is_tick;
	s->dx->is_periodic = !is_tick;
	/* encrypted, to a peer that reads chunks (docs/sealed-stream.md) */
	s->dx->is_chunked = caps > 0 && (caps & SWIM_CAP_SEALED_STREAM);
	s->deadline_us = now_us + d->cfg.budget_us;
	swim_dsync_start(&s->dx->x, SWIM_DSYNC_INITIATOR);
	if (swim_dsync_step(d->cfg.swim, &s->dx->x, NULL, 0, hello,
			    SWIM_DSYNC_MSG_MAX, &n) != SWIM_DSYNC_WAIT)
		goto fail;
	if (cp_dx_send(s, hello, n, CP_DX_READ_MSG) != 0) {
		cp_sess_close(s);
		return -ENOMEM;
	}
	s->state = CP_SESS_CONNECTING;	/* cp_dx_send set WRITING */
	d->is_tick_busy |= is_tick;
	return 0;
fail:
	free(hello);
	if (s != NULL)
		cp_sess_close(s);
	return -EAGAIN;
}

bool
cp_sync_delta_push_pull(struct cp_sync *sync, uint64_t now_us,
			const struct swim_addr *to, const char *node)
{
	struct cp_dctl *d = sync->delta;

	if (d == NULL || !d->cfg.is_enabled || node == NULL ||
	    !swim_member_dsync_capable(d->cfg.swim, node, strlen(node)))
		return false;
	return cp_dx_start(sync, now_us, to, node, false) == 0;
}

/* The interval's exchange with a random capable peer: a UDP HELLO when
 * both sides can (the core asks for the TCP exchange on DIFFER, as a
 * push/pull), else the TCP exchange at once. */
static void
cp_dctl_exchange(struct cp_sync *sync, uint64_t now_us)
{
	struct cp_dctl *d = sync->delta;
	char name[SWIM_NAME_MAX + 1];
	struct swim_addr to;

	if (swim_dsync_random_peer(d->cfg.swim, cp_dctl_rand(d), name,
				   sizeof(name), &to) != 0)
		return;
	if (swim_dsync_udp_hello(d->cfg.swim, now_us, name,
				 strlen(name)) == 0)
		return;
	if (cp_dx_start(sync, now_us, &to, name, true) != 0)
		sync->st.x_delta_failed++;
}

/* A HELLO asked of the core's next probes: sent, still waiting, or
 * handed back (no capable probe target in time: a random peer then).
 * @retval true while it waits. */
static bool
cp_dctl_wanting(struct cp_sync *sync, uint64_t now_us)
{
	struct cp_dctl *d = sync->delta;
	int rc;

	if (!d->is_wanting)
		return false;
	rc = swim_dsync_udp_want_poll(d->cfg.swim, now_us);
	if (rc == -EINPROGRESS)
		return true;
	d->is_wanting = false;
	if (rc == -ETIMEDOUT && !d->is_tick_busy)
		cp_dctl_exchange(sync, now_us);
	return false;
}

void
cp_sync_delta_tick(struct cp_sync *sync, uint64_t now_us)
{
	struct cp_dctl *d = sync->delta;
	uint64_t iv;

	if (d == NULL || !d->cfg.is_enabled || d->cfg.interval_us == 0 ||
	    cp_dctl_wanting(sync, now_us))
		return;
	iv = d->cfg.interval_us;
	if (d->next_us == 0)	/* first: a random point in one interval */
		d->next_us = now_us + cp_dctl_rand(d) % iv;
	if (now_us < d->next_us)
		return;
	/* the next one 75 % .. 125 % of an interval later */
	d->next_us = now_us + iv - iv / 4 + cp_dctl_rand(d) % (iv / 2 + 1);
	if (d->is_tick_busy)
		return;
	/* with the core's next probe to a capable member: no wakeup, no
	 * extra datagram to wake the peer (swim_dsync_udp_want) */
	if (swim_dsync_udp_want(d->cfg.swim, now_us) == 0) {
		d->is_wanting = true;
		return;
	}
	cp_dctl_exchange(sync, now_us);
}

void
cp_sync_delta_stats(const struct cp_sync *sync, struct cp_sync_stats *st)
{
	struct swim_dsync_udp_stats u;

	if (sync->delta == NULL || sync->delta->cfg.swim == NULL)
		return;
	swim_dsync_udp_get_stats(sync->delta->cfg.swim, &u);
	st->x_insync_udp = u.insync_in;
	st->bytes_udp = u.bytes;
}

/* --- answering, ending, counting --- */

/* Delta sync off here: ABORT (DISABLED), so the peer falls back. */
static void
cp_dx_refuse(struct cp_sess *s)
{
	uint8_t *buf = malloc(SWIM_DSYNC_ABORT_LEN);
	int n = buf != NULL ? swim_dsync_encode_abort(
				      SWIM_DSYNC_ABORT_DISABLED, buf,
				      SWIM_DSYNC_ABORT_LEN) : -1;

	if (n <= 0 || cp_dx_send(s, buf, (size_t)n, CP_DX_DONE) != 0) {
		if (n <= 0)
			free(buf);
		cp_sess_close(s);
	}
}

bool
cp_sess_delta_claim(struct cp_sess *s, uint64_t now_us)
{
	struct cp_dctl *d = s->sync->delta;

	if (s->kind != CP_SESS_IN || s->dx != NULL || s->rx_len == 0 ||
	    !swim_dsync_is_msg_type(s->rx[0]) || d == NULL)
		return false;
	s->dx = calloc(1, sizeof(*s->dx));
	if (s->dx == NULL) {
		cp_sess_close(s);
		return true;
	}
	s->io.on_event = cp_dx_on_event;
	s->deadline_us = now_us + d->cfg.budget_us;
	if (!d->cfg.is_enabled) {
		s->dx->is_failed = true;
		cp_dx_refuse(s);
		return true;
	}
	swim_dsync_start(&s->dx->x, SWIM_DSYNC_RESPONDER);
	cp_dx_read_msgs(s, now_us);
	return true;
}

/* A periodic push/pull the peer would not run as a delta: run it full. */
static void
cp_dx_fall_back(struct cp_sess *s, uint64_t now_us)
{
	struct cp_sync *sync = s->sync;
	struct swim_addr peer = s->peer;

	sync->st.x_fallback++;
	cp_sess_close(s);
	cp_sync_push_pull(sync, now_us, &peer, false);
}

void
cp_dx_finish(struct cp_sess *s, uint64_t now_us, int err)
{
	const struct cp_sync_handler *h = &s->sync->cfg.h;
	struct cp_dx *dx = s->dx;

	if (err == 0 && dx->is_failed)
		err = -EPROTO;
	if (err == 0) {
		if (dx->is_transfer)
			s->sync->st.x_delta++;
		else
			s->sync->st.x_insync++;
	} else {
		s->sync->st.x_delta_failed++;
	}
	if (s->kind == CP_SESS_IN) {
		cp_sess_close(s);
		return;
	}
	if (err == 0) {
		s->sync->st.out_ok++;
		h->push_pull_done(h->ctx, now_us, &s->peer, false, 0);
		cp_sess_close(s);
	} else if (dx->is_periodic && !dx->is_transfer) {
		cp_dx_fall_back(s, now_us);
	} else {
		cp_sess_fail(s, now_us, err);
	}
}

/* TCP payload bytes both ways (sealing included), from the kernel. */
static uint64_t
cp_sess_tcp_bytes(int fd)
{
	struct tcp_info ti;
	socklen_t sl = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &sl) != 0)
		return 0;
	return ti.tcpi_bytes_received +
	       (ti.tcpi_bytes_sent > ti.tcpi_bytes_acked ?
			ti.tcpi_bytes_sent : ti.tcpi_bytes_acked);
}

void
cp_sess_delta_closing(struct cp_sess *s)
{
	struct cp_sync *sync = s->sync;

	if (s->dx != NULL) {
		sync->st.bytes_delta += cp_sess_tcp_bytes(s->io.fd);
		if (s->dx->is_tick && sync->delta != NULL)
			sync->delta->is_tick_busy = false;
		free(s->dx);
		s->dx = NULL;
		return;
	}
	if (s->kind == CP_SESS_OUT_PING || s->is_small)
		return;
	/* a push/pull: ours, or a peer's (its first byte was not a ping's
	 * or a user message's, which cp_sync_exchange.c marks small) */
	uint64_t n = cp_sess_tcp_bytes(s->io.fd);

	if (n == 0)
		return;	/* nothing moved: no exchange */
	sync->st.x_full++;
	sync->st.bytes_full += n;
}
