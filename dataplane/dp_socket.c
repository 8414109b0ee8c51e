/* SPDX-License-Identifier: MIT */
/*
 * The kernel-socket backend: nb_lcores threads, each with its own UDP
 * socket on cfg->bind (SO_REUSEPORT when there are several, so the kernel
 * spreads peers over them), moving bursts of DP_BURST with recvmmsg and
 * sendmmsg. Pings to this node are acked on the thread (dp_fastpath);
 * everything else received goes to control through the thread's rx ring,
 * and whatever control queues on its tx ring goes out of its socket.
 *
 * Inline (dp_cfg.is_inline, one lcore; the daemon's choice) there is no
 * thread: control waits for the socket in its own epoll and runs the
 * same turn (dp_inline_run), and dp_send sends at once (send_now), so a
 * datagram costs one wakeup, not two. Otherwise:
 *
 * Sockets are non-blocking and nothing spins: as soon as a turn moved
 * less than a full burst either way, the thread sleeps in poll() on its
 * socket and its eventfd doorbell, which dp_send rings only while it
 * sleeps (struct dp_lcore), and which stop() rings to end it. An idle
 * node costs nothing here, a loaded one never sleeps (full bursts), and
 * control's packets still leave at once. After create() nothing
 * allocates; per-packet trouble goes to counters, never to a log.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dp_fastpath.h"
#include "dp_internal.h"
#include "swim_crypto.h"

/* memberlist asks for a 2 MiB receive buffer, halving until accepted. */
#define DP_SOCK_RCVBUF (2 * 1024 * 1024)
/* Staging for one loop turn: acks of one rx burst + one ring burst. */
#define DP_SOCK_TX_MAX (2 * DP_BURST)

struct dp_sock;

/* One socket thread's private state; only that thread touches it once
 * started (create/destroy run before/after it). */
struct dp_sock_lcore {
	struct dp_sock *owner;		/* the backend */
	struct dp_lcore *lc;		/* rings + counters shared with control */
	unsigned id;			/* 0..nb_lcores-1 */
	int fd;				/* its UDP socket; -1 when closed */
	pthread_t thread;		/* valid when has_thread */
	bool has_thread;		/* control: pthread_create succeeded */
	struct dp_fp fp;		/* fast path snapshot copy */
	struct dp_pkt rx[DP_BURST];	/* one recvmmsg burst */
	bool rx_keep[DP_BURST];		/* rx[i] goes to control */
	struct mmsghdr rx_msg[DP_BURST];
	struct iovec rx_iov[DP_BURST];
	struct sockaddr_storage rx_name[DP_BURST];
	struct dp_pkt tx[DP_SOCK_TX_MAX]; /* acks, then control's packets */
	unsigned nb_tx;			/* staged in tx[] */
	struct mmsghdr tx_msg[DP_SOCK_TX_MAX];
	struct iovec tx_iov[DP_SOCK_TX_MAX];
	struct sockaddr_storage tx_name[DP_SOCK_TX_MAX];
	struct swim_crypto_nonce_gen nonce; /* keyring: this thread's nonces */
	uint8_t crypt[DP_PKT_MAX];	/* keyring: open/seal scratch */
};

struct dp_sock {
	struct dp base;			/* must stay first (dp_internal.h) */
	/* set by stop() (release), polled by threads (acquire) */
	_Atomic bool quit;
	int family;			/* AF_INET or AF_INET6 */
	struct dp_sock_lcore *sl[DP_MAX_LCORES]; /* per thread */
};

/* struct swim_addr -> sockaddr of the socket's family. false: can't. */
static bool
dp_sock_to_sa(int family, const struct swim_addr *a,
	      struct sockaddr_storage *ss, socklen_t *sslen)
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a->port);
		if (a->ip_len == 16) {
			memcpy(&s6->sin6_addr, a->ip, 16);
		} else if (a->ip_len == 4) {
			memcpy(&s6->sin6_addr, v4mapped, 12);
			memcpy((uint8_t *)&s6->sin6_addr + 12, a->ip, 4);
		} else if (a->ip_len != 0) {
			return false;
		}
		*sslen = sizeof(*s6);
		return true;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	s4->sin_family = AF_INET;
	s4->sin_port = htons(a->port);
	if (a->ip_len == 4)
		memcpy(&s4->sin_addr, a->ip, 4);
	else if (a->ip_len == 16 && memcmp(a->ip, v4mapped, 12) == 0)
		memcpy(&s4->sin_addr, a->ip + 12, 4);
	else if (a->ip_len != 0)
		return false;
	*sslen = sizeof(*s4);
	return true;
}

/* sockaddr -> struct swim_addr; v4-mapped IPv6 becomes plain IPv4. */
static void
dp_sock_from_sa(const struct sockaddr_storage *ss, struct swim_addr *a)
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };

	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		memcpy(a->ip, &s4->sin_addr, 4);
		a->ip_len = 4;
		a->port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		const uint8_t *ip = (const uint8_t *)&s6->sin6_addr;

		if (memcmp(ip, v4mapped, 12) == 0) {
			memcpy(a->ip, ip + 12, 4);
			a->ip_len = 4;
		} else {
			memcpy(a->ip, ip, 16);
			a->ip_len = 16;
		}
		a->port = ntohs(s6->sin6_port);
	}
}

/* SO_RCVBUF: 2 MiB, halved until the kernel accepts it (memberlist). */
static void
dp_sock_set_rcvbuf(int fd)
{
	for (int size = DP_SOCK_RCVBUF; size > 0; size /= 2)
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size,
			       sizeof(size)) == 0)
			return;
}

/* Open and bind one thread's socket; bind->port 0 picks a port. */
static int
dp_sock_open(struct dp_sock *ds, const struct swim_addr *bind_addr,
	     char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int one = 1;
	int fd = socket(ds->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			0);

	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (ds->base.nb_lcores > 1 &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
		snprintf(err, errlen, "setsockopt(SO_REUSEPORT): %s",
			 strerror(errno));
		close(fd);
		return -1;
	}
	dp_sock_to_sa(ds->family, bind_addr, &ss, &sslen);
	if (bind(fd, (struct sockaddr *)&ss, sslen) != 0) {
		snprintf(err, errlen, "bind(port %u): %s", bind_addr->port,
			 strerror(errno));
		close(fd);
		return -1;
	}
	dp_sock_set_rcvbuf(fd);
	return fd;
}

/* The port the first socket got, so the others join its reuseport group. */
static uint16_t
dp_sock_bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct swim_addr a;

	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0)
		return 0;
	dp_sock_from_sa(&ss, &a);
	return a.port;
}

/* Point the rx mmsghdrs at rx[] once; recvmmsg only rewrites lengths. */
static void
dp_sock_lcore_prepare(struct dp_sock_lcore *sl)
{
	for (unsigned i = 0; i < DP_BURST; i++) {
		sl->rx_iov[i].iov_base = sl->rx[i].data;
		sl->rx_iov[i].iov_len = sizeof(sl->rx[i].data);
		sl->rx_msg[i].msg_hdr.msg_iov = &sl->rx_iov[i];
		sl->rx_msg[i].msg_hdr.msg_iovlen = 1;
	}
	for (unsigned i = 0; i < DP_SOCK_TX_MAX; i++) {
		sl->tx_msg[i].msg_hdr.msg_iov = &sl->tx_iov[i];
		sl->tx_msg[i].msg_hdr.msg_iovlen = 1;
		sl->tx_msg[i].msg_hdr.msg_name = &sl->tx_name[i];
	}
	dp_fp_init(&sl->fp);
	if (sl->owner->base.cfg.keyring != NULL)
		swim_crypto_nonce_gen_init(&sl->nonce);
}

static void dp_sock_destroy(struct dp *dp);

/* Allocate the per-thread state and open every socket. */
static int
dp_sock_lcores_open(struct dp_sock *ds, char *err, size_t errlen)
{
	struct swim_addr bind_addr = ds->base.cfg.bind;

	for (unsigned i = 0; i < ds->base.nb_lcores; i++) {
		struct dp_sock_lcore *sl = calloc(1, sizeof(*sl));

		if (sl == NULL) {
			snprintf(err, errlen, "calloc: %s", strerror(ENOMEM));
			return -ENOMEM;
		}
		ds->sl[i] = sl;
		sl->owner = ds;
		sl->lc = &ds->base.lcore[i];
		sl->id = i;
		sl->fd = dp_sock_open(ds, &bind_addr, err, errlen);
		if (sl->fd < 0)
			return -EADDRNOTAVAIL;
		if (sl->lc->kick_fd < 0)	/* unless dp_base_init made it */
			sl->lc->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (sl->lc->kick_fd < 0) {
			snprintf(err, errlen, "eventfd: %s", strerror(errno));
			return -EMFILE;
		}
		if (i == 0 && bind_addr.port == 0)
			bind_addr.port = dp_sock_bound_port(sl->fd);
		dp_sock_lcore_prepare(sl);
	}
	return 0;
}

static bool dp_sock_is_inline(const struct dp *dp);

/*
 * Inline, the rx ring's pages are touched now, in one madvise, instead of
 * by a page fault every second packet over the ring's first lap, which an
 * idle node spreads over minutes (a fault costs ~20 us on a paravirtual
 * VM: a good part of an idle node's CPU). Best effort: an old kernel
 * just faults them in later.
 */
static void
dp_sock_prefault(struct dp *dp)
{
#ifdef MADV_POPULATE_WRITE
	long pg = sysconf(_SC_PAGESIZE);
	uintptr_t a = (uintptr_t)dp->lcore[0].rx_mem;
	uintptr_t start;

	if (pg <= 0 || a == 0)
		return;
	start = a & ~(uintptr_t)(pg - 1);
	/* within the allocation (header, then the slots): all of the ring
	 * but its last header-size bytes */
	(void)madvise((void *)start, a - start + (size_t)dp->cfg.ring_size *
		      sizeof(struct dp_pkt), MADV_POPULATE_WRITE);
#else
	(void)dp;
#endif
}

static struct dp *
dp_sock_create(const struct dp_cfg *cfg, char *err, size_t errlen)
{
	struct dp_sock *ds = dp_calloc_lines(sizeof(*ds));

	if (ds == NULL) {
		snprintf(err, errlen, "aligned_alloc: %s", strerror(ENOMEM));
		return NULL;
	}
	if (dp_base_init(&ds->base, &dp_socket_ops, cfg, err, errlen) != 0) {
		free(ds);
		return NULL;
	}
	if (cfg->bind.ip_len != 0 && cfg->bind.ip_len != 4 &&
	    cfg->bind.ip_len != 16) {
		snprintf(err, errlen, "bind address length %u",
			 cfg->bind.ip_len);
		dp_sock_destroy(&ds->base);
		return NULL;
	}
	ds->family = cfg->bind.ip_len == 16 ? AF_INET6 : AF_INET;
	if (dp_sock_lcores_open(ds, err, errlen) != 0) {
		dp_sock_destroy(&ds->base);
		return NULL;
	}
	if (dp_sock_is_inline(&ds->base))
		dp_sock_prefault(&ds->base);
	return &ds->base;
}

/* Hand rx[from..to) to control in one enqueue. */
static void
dp_sock_rx_flush(struct dp_sock_lcore *sl, unsigned from, unsigned to)
{
	if (to > from)
		dp_lcore_to_control(sl->lc, &sl->rx[from], to - from);
}

/* The keyring of this turn: the snapshot's once control rotated keys
 * (refreshed at the top of each turn), else the one of create(). A
 * plaintext node stays plaintext: control never publishes one then. */
static const struct swim_keyring *
dp_sock_ring(const struct dp_sock_lcore *sl)
{
	const struct swim_keyring *ring = sl->owner->base.cfg.keyring;

	if (ring != NULL && sl->fp.snap.keyring != NULL)
		ring = sl->fp.snap.keyring;
	return ring;
}

/* Keyring: replace pkt's sealed bytes by their plaintext, before the
 * fast path and control see them. false: it does not open (dropped, as
 * memberlist drops what fails to decrypt). */
static bool
dp_sock_rx_open(struct dp_sock_lcore *sl, struct dp_pkt *pkt)
{
	const struct swim_keyring *ring = dp_sock_ring(sl);
	int n;

	if (ring == NULL)
		return true;
	n = swim_crypto_open_udp(ring, pkt->data, pkt->len, sl->crypt,
				 sizeof(sl->crypt));
	if (n <= 0)
		return false;
	memcpy(pkt->data, sl->crypt, (size_t)n);
	pkt->len = (uint16_t)n;
	return true;
}

/* Keyring: seal pkt in place (version 1, this thread's nonce). */
static bool
dp_sock_tx_seal(struct dp_sock_lcore *sl, struct dp_pkt *pkt)
{
	const struct swim_keyring *ring = dp_sock_ring(sl);
	uint8_t nonce[SWIM_CRYPTO_NONCE_LEN];
	int n;

	if (ring == NULL)
		return true;
	swim_crypto_nonce_gen_next(&sl->nonce, nonce);
	n = swim_crypto_seal_udp_nonce(ring, nonce, pkt->data, pkt->len,
				       sl->crypt, sizeof(sl->crypt));
	if (n < 0)
		return false;
	memcpy(pkt->data, sl->crypt, (size_t)n);
	pkt->len = (uint16_t)n;
	return true;
}

/* Classify rx[i]: fast-path ack, pass to control, or drop. */
static void
dp_sock_rx_one(struct dp_sock_lcore *sl, unsigned i)
{
	struct dp_pkt *pkt = &sl->rx[i];
	const struct msghdr *h = &sl->rx_msg[i].msg_hdr;
	enum dp_fp_verdict v;

	sl->rx_keep[i] = false;
	if (h->msg_flags & MSG_TRUNC) {
		dp_stat_add(sl->lc, DP_STAT_DROP_TOO_BIG, 1);
		return;
	}
	pkt->len = (uint16_t)sl->rx_msg[i].msg_len;
	pkt->flags = 0;
	dp_sock_from_sa(&sl->rx_name[i], &pkt->addr);
	if (!dp_sock_rx_open(sl, pkt)) {
		dp_stat_add(sl->lc, DP_STAT_DROP_MALFORMED, 1);
		return;
	}
	v = dp_fp_process(&sl->fp, pkt->data, pkt->len, &pkt->addr,
			  &sl->tx[sl->nb_tx]);
	switch (v) {
	case DP_FP_ACKED:
		sl->nb_tx++;
		dp_stat_add(sl->lc, DP_STAT_ACKS_FAST, 1);
		return;
	case DP_FP_PASS_ACKED:
		sl->nb_tx++;
		dp_stat_add(sl->lc, DP_STAT_ACKS_FAST, 1);
		pkt->flags |= DP_PKT_F_PINGS_ANSWERED;
		sl->rx_keep[i] = true;
		return;
	case DP_FP_PASS:
		sl->rx_keep[i] = true;
		return;
	case DP_FP_MALFORMED:
	case DP_FP_VERDICT_COUNT:
		dp_stat_add(sl->lc, DP_STAT_DROP_MALFORMED, 1);
		return;
	}
}

/* One recvmmsg burst: classify, ack, pass the rest on. @retval received. */
static unsigned
dp_sock_rx(struct dp_sock_lcore *sl)
{
	unsigned start = 0;
	int n;

	for (unsigned i = 0; i < DP_BURST; i++) {
		sl->rx_msg[i].msg_hdr.msg_name = &sl->rx_name[i];
		sl->rx_msg[i].msg_hdr.msg_namelen = sizeof(sl->rx_name[i]);
		sl->rx_msg[i].msg_hdr.msg_flags = 0;
	}
	n = recvmmsg(sl->fd, sl->rx_msg, DP_BURST, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return 0;	/* EAGAIN, or an ICMP error queued on the socket */
	dp_stat_add(sl->lc, DP_STAT_RX_PKTS, (uint64_t)n);
	for (unsigned i = 0; i < (unsigned)n; i++)
		dp_sock_rx_one(sl, i);
	/* enqueue the kept packets in runs, skipping consumed ones */
	for (unsigned i = 0; i < (unsigned)n; i++) {
		if (!sl->rx_keep[i]) {
			dp_sock_rx_flush(sl, start, i);
			start = i + 1;
		}
	}
	dp_sock_rx_flush(sl, start, (unsigned)n);
	return (unsigned)n;
}

/* Fill the mmsghdr of tx[i]. false: unsendable destination. */
static bool
dp_sock_tx_prepare(struct dp_sock_lcore *sl, unsigned i)
{
	struct msghdr *h = &sl->tx_msg[i].msg_hdr;
	socklen_t sslen;

	if (!dp_sock_to_sa(sl->owner->family, &sl->tx[i].addr,
			   &sl->tx_name[i], &sslen) ||
	    sl->tx[i].addr.ip_len == 0 || sl->tx[i].len > DP_PKT_MAX ||
	    !dp_sock_tx_seal(sl, &sl->tx[i]))
		return false;
	h->msg_namelen = sslen;
	sl->tx_iov[i].iov_base = sl->tx[i].data;
	sl->tx_iov[i].iov_len = sl->tx[i].len;
	return true;
}

/* sendmmsg tx[0..nb); a message that fails is counted and skipped. */
static void
dp_sock_tx_send(struct dp_sock_lcore *sl, unsigned nb)
{
	unsigned off = 0;

	/* each turn sends >= 1 or skips 1: at most 2 * nb turns */
	while (off < nb) {
		int rc = sendmmsg(sl->fd, &sl->tx_msg[off], nb - off,
				  MSG_DONTWAIT);

		if (rc > 0) {
			dp_stat_add(sl->lc, DP_STAT_TX_PKTS, (uint64_t)rc);
			off += (unsigned)rc;
			continue;
		}
		dp_stat_add(sl->lc, DP_STAT_DROP_TX, 1);
		off++;
	}
}

/* Send the staged acks plus one burst from control. @retval dequeued. */
static unsigned
dp_sock_tx(struct dp_sock_lcore *sl)
{
	unsigned room = DP_SOCK_TX_MAX - sl->nb_tx;
	unsigned got = dp_lcore_from_control(sl->lc, &sl->tx[sl->nb_tx],
					     room < DP_BURST ? room : DP_BURST);
	unsigned nb = sl->nb_tx + got;
	unsigned ok = 0;

	/* compact away unsendable packets (a copy only when one is bad) */
	for (unsigned i = 0; i < nb; i++) {
		if (i != ok)
			sl->tx[ok] = sl->tx[i];
		if (dp_sock_tx_prepare(sl, ok))
			ok++;
		else
			dp_stat_add(sl->lc, DP_STAT_DROP_TX, 1);
	}
	if (ok > 0)
		dp_sock_tx_send(sl, ok);
	sl->nb_tx = 0;
	return got;
}

/* Sleep until a datagram or the doorbell (no timeout: stop() rings it).
 * The tx ring is rechecked AFTER is_parked is set, so a packet enqueued
 * meanwhile is either seen here or rings the doorbell; a datagram that
 * came meanwhile makes poll() return at once. */
static void
dp_sock_idle(struct dp_sock_lcore *sl)
{
	struct dp_lcore *lc = sl->lc;
	struct pollfd pfd[2] = {
		{ .fd = sl->fd, .events = POLLIN },
		{ .fd = lc->kick_fd, .events = POLLIN },
	};
	uint64_t v;

	/* seq_cst store; pairs with the fence + exchange in dp_lcore_kick */
	atomic_store(&lc->is_parked, 1);
	atomic_thread_fence(memory_order_seq_cst);
	if (dp_lcore_tx_empty(lc) &&
	    !atomic_load_explicit(&sl->owner->quit, memory_order_acquire))
		(void)poll(pfd, 2, -1);
	atomic_store(&lc->is_parked, 0);
	if (pfd[1].revents & POLLIN)
		(void)!read(lc->kick_fd, &v, sizeof(v));	/* reset it */
}

/* The thread: phases rx+ack, tx, sleep, until stop() sets quit. A full
 * burst either way means more may be waiting: go round without sleeping. */
static void *
dp_sock_loop(void *arg)
{
	struct dp_sock_lcore *sl = arg;
	struct dp_sock *ds = sl->owner;
	sigset_t all;

	/* signals are control's (dp_new blocks them for us already) */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	/* pairs with the release store in dp_sock_stop */
	while (!atomic_load_explicit(&ds->quit, memory_order_acquire)) {
		unsigned nb_rx, nb_tx;

		dp_fp_refresh(&sl->fp, &ds->base.pub);
		nb_rx = dp_sock_rx(sl);		/* recv, fast acks, to control */
		nb_tx = dp_sock_tx(sl);		/* acks + control's packets */
		if (nb_rx < DP_BURST && nb_tx < DP_BURST)
			dp_sock_idle(sl);
	}
	return NULL;
}

static void dp_sock_stop(struct dp *dp);

static bool
dp_sock_is_inline(const struct dp *dp)
{
	return dp->ops == &dp_socket_ops && dp->cfg.is_inline &&
	       dp->nb_lcores == 1;
}

int
dp_inline_fd(const struct dp *dp)
{
	return dp_sock_is_inline(dp) ? ((const struct dp_sock *)dp)->sl[0]->fd
				     : -1;
}

/* The thread's turn, on control's thread: bounded bursts of rx, then tx
 * (the acks, and what dp_send had to queue). */
void
dp_inline_run(struct dp *dp, bool rx)
{
	struct dp_sock_lcore *sl;
	unsigned max;

	if (!dp_sock_is_inline(dp))
		return;
	sl = ((struct dp_sock *)dp)->sl[0];
	dp_fp_refresh(&sl->fp, &dp->pub);
	/* control drains the ring after each turn: what fits, at most 8 */
	max = (dp->cfg.ring_size - 1) / DP_BURST;
	max = max < 1 ? 1 : max > 8 ? 8 : max;
	for (unsigned i = 0; i < max; i++) {
		unsigned nb_rx = rx ? dp_sock_rx(sl) : 0;

		if (sl->nb_tx > 0 || !dp_lcore_tx_empty(sl->lc))
			dp_sock_tx(sl);
		if (nb_rx < DP_BURST)
			break;
	}
	/* a failed send_now made dp_send queue and "kick": back to direct */
	atomic_store(&sl->lc->is_parked, 1);
}

static int
dp_sock_start(struct dp *dp)
{
	struct dp_sock *ds = (struct dp_sock *)dp;
	char name[16];

	atomic_store_explicit(&ds->quit, false, memory_order_relaxed);
	if (dp_sock_is_inline(dp)) {
		/* no thread: "asleep" for good, so dp_send sends at once */
		atomic_store(&dp->lcore[0].is_parked, 1);
		return 0;
	}
	for (unsigned i = 0; i < dp->nb_lcores; i++) {
		struct dp_sock_lcore *sl = ds->sl[i];
		int rc = pthread_create(&sl->thread, NULL, dp_sock_loop, sl);

		if (rc != 0) {
			dp_sock_stop(dp);
			return -rc;
		}
		sl->has_thread = true;
		snprintf(name, sizeof(name), "dp-sock-%u", i & 0xffu);
		pthread_setname_np(sl->thread, name);
	}
	return 0;
}

static void
dp_sock_stop(struct dp *dp)
{
	struct dp_sock *ds = (struct dp_sock *)dp;

	uint64_t one = 1;

	/* pairs with the acquire loads in dp_sock_loop and dp_sock_idle */
	atomic_store_explicit(&ds->quit, true, memory_order_release);
	for (unsigned i = 0; i < dp->nb_lcores; i++) {
		struct dp_sock_lcore *sl = ds->sl[i];

		if (sl != NULL && sl->has_thread) {
			/* its sleep has no timeout: this ends it */
			(void)!write(sl->lc->kick_fd, &one, sizeof(one));
			pthread_join(sl->thread, NULL);
			sl->has_thread = false;
		}
	}
}

/* ops->send_now, inline only (the threads are kicked instead: fewer
 * senders on a socket, and the order of dp_send kept by one queue): one
 * sendto from control, sealed first with a keyring (the nonce counter
 * is control's too then). */
static bool
dp_sock_send_now(struct dp *dp, unsigned i, const struct dp_pkt *pkt)
{
	struct dp_sock *ds = (struct dp_sock *)dp;
	struct sockaddr_storage ss;
	socklen_t sslen;

	struct dp_sock_lcore *sl = ds->sl[i];

	if (!dp_sock_is_inline(dp) || pkt->addr.ip_len == 0 ||
	    !dp_sock_to_sa(ds->family, &pkt->addr, &ss, &sslen))
		return false;
	if (dp->cfg.keyring != NULL) {
		/* a rotated keyring (cp_keys.h) must be the one we seal with
		 * even when nothing came in since control published it: the
		 * one before may be freed once its grace period is over */
		dp_fp_refresh(&sl->fp, &dp->pub);
		sl->tx[0] = *pkt;	/* tx[] is free between runs */
		if (!dp_sock_tx_seal(sl, &sl->tx[0]))
			return false;
		pkt = &sl->tx[0];
	}
	return sendto(sl->fd, pkt->data, pkt->len, MSG_DONTWAIT,
		      (struct sockaddr *)&ss, sslen) == (ssize_t)pkt->len;
}

static void
dp_sock_destroy(struct dp *dp)
{
	struct dp_sock *ds = (struct dp_sock *)dp;

	for (unsigned i = 0; i < DP_MAX_LCORES; i++) {
		struct dp_sock_lcore *sl = ds->sl[i];

		if (sl == NULL)
			continue;
		if (sl->fd >= 0)
			close(sl->fd);
		if (sl->lc->kick_fd >= 0)
			close(sl->lc->kick_fd);
		sl->lc->kick_fd = -1;
		free(sl);
		ds->sl[i] = NULL;
	}
	dp_base_fini(dp);
	free(ds);
}

const struct dp_ops dp_socket_ops = {
	.name = "socket",
	.create = dp_sock_create,
	.start = dp_sock_start,
	.stop = dp_sock_stop,
	.destroy = dp_sock_destroy,
	.send_now = dp_sock_send_now,
};
