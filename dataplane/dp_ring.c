/* SPDX-License-Identifier: MIT */
/*
 * Control's side of the dataplane, the same for every backend: choosing a
 * backend by name, the per-lcore SPSC rings (rte_ring without EAL, or
 * dp_spsc.h's ring in a build without DPDK), the counters and the snapshot
 * seqlock. The lcore-side ring and snapshot
 * helpers live here too, so each hand-off's two halves sit side by side.
 *
 * Everything except dp_lcore_* and dp_snap_read runs on the control
 * thread. Nothing here may block; only dp_base_init allocates.
 */
#include "dp.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dp_internal.h"

/*
 * The rings, behind dp_rq_*: rte_ring when DPDK is there (the DPDK lcores
 * and their tests were measured on it), dp_spsc.h without DPDK. Both hold
 * size - 1 packets, take what fits on enqueue and keep order.
 */
#ifdef GOSSIPD_HAVE_DPDK
#include <rte_ring.h>
#include <rte_ring_elem.h>

#define DP_RQ_NAMESIZE RTE_RING_NAMESIZE
#define DP_RQ_ALIGN RTE_CACHE_LINE_SIZE

static ssize_t
dp_rq_memsize(unsigned size)
{
	return rte_ring_get_memsize_elem(sizeof(struct dp_pkt), size);
}

static int
dp_rq_init(struct rte_ring *r, const char *name, unsigned size)
{
	return rte_ring_init(r, name, size, RING_F_SP_ENQ | RING_F_SC_DEQ);
}

static inline unsigned
dp_rq_enqueue(struct rte_ring *r, const struct dp_pkt *pkts, unsigned n)
{
	return rte_ring_sp_enqueue_burst_elem(r, pkts, sizeof(*pkts), n, NULL);
}

static inline unsigned
dp_rq_dequeue(struct rte_ring *r, struct dp_pkt *pkts, unsigned n)
{
	return rte_ring_sc_dequeue_burst_elem(r, pkts, sizeof(*pkts), n, NULL);
}

static inline unsigned
dp_rq_count(const struct rte_ring *r)
{
	return rte_ring_count(r);
}

static inline void
dp_rq_rewind(struct rte_ring *r)
{
	rte_ring_reset(r);	/* not thread safe: one thread only */
}
#else
#include "dp_spsc.h"

/* dp_internal.h's lcore holds struct rte_ring pointers, an incomplete
 * type everywhere else: here, without DPDK, that type is our ring. */
struct rte_ring {
	struct dp_spsc q;
};

#define DP_RQ_NAMESIZE 32
#define DP_RQ_ALIGN DP_SPSC_LINE

static ssize_t
dp_rq_memsize(unsigned size)
{
	size_t sz = dp_spsc_memsize(sizeof(struct dp_pkt), size);

	return sz == 0 ? -EINVAL : (ssize_t)sz;
}

static int
dp_rq_init(struct rte_ring *r, const char *name, unsigned size)
{
	(void)name;	/* only rte_ring names its rings */
	return dp_spsc_init(&r->q, sizeof(struct dp_pkt), size);
}

static inline unsigned
dp_rq_enqueue(struct rte_ring *r, const struct dp_pkt *pkts, unsigned n)
{
	return dp_spsc_enqueue_burst(&r->q, pkts, n);
}

static inline unsigned
dp_rq_dequeue(struct rte_ring *r, struct dp_pkt *pkts, unsigned n)
{
	return dp_spsc_dequeue_burst(&r->q, pkts, n);
}

static inline unsigned
dp_rq_count(const struct rte_ring *r)
{
	return dp_spsc_count(&r->q);
}

static inline void
dp_rq_rewind(struct rte_ring *r)
{
	dp_spsc_rewind(&r->q);
}
#endif

static inline bool
dp_rq_empty(const struct rte_ring *r)
{
	return dp_rq_count(r) == 0;
}

static_assert(sizeof(struct dp_pkt) % 8 == 0, "ring elements: 8-byte multiple");
static_assert(sizeof(struct dp_stats) == DP_STAT_COUNT * sizeof(uint64_t),
	      "enum dp_stat must mirror struct dp_stats");

static const struct dp_ops dp_null_ops;

/* The null backend: rings and counters but no lcore thread. Lets tests (and
 * control's tests) play the lcore side through dp_lcore_* by hand. */
static struct dp *
dp_null_create(const struct dp_cfg *cfg, char *err, size_t errlen)
{
	struct dp *dp = dp_calloc_lines(sizeof(*dp));

	if (dp == NULL) {
		snprintf(err, errlen, "aligned_alloc: %s", strerror(ENOMEM));
		return NULL;
	}
	if (dp_base_init(dp, &dp_null_ops, cfg, err, errlen) != 0) {
		free(dp);
		return NULL;
	}
	return dp;
}

static int
dp_null_start(struct dp *dp)
{
	(void)dp;
	return 0;
}

static void
dp_null_stop(struct dp *dp)
{
	(void)dp;
}

static void
dp_null_destroy(struct dp *dp)
{
	dp_base_fini(dp);
	free(dp);
}

static const struct dp_ops dp_null_ops = {
	.name = "null",
	.create = dp_null_create,
	.start = dp_null_start,
	.stop = dp_null_stop,
	.destroy = dp_null_destroy,
};

#ifdef DP_HAVE_DPDK_BACKEND
extern const struct dp_ops dp_dpdk_ops;
#endif

/* Every backend dp_new knows, by name. */
static const struct dp_ops *const dp_backends[] = {
	&dp_socket_ops,
	&dp_null_ops,
#ifdef DP_HAVE_DPDK_BACKEND
	&dp_dpdk_ops,
#endif
};

/* Where each enum dp_stat lands in struct dp_stats. */
static const size_t dp_stat_off[DP_STAT_COUNT] = {
	[DP_STAT_RX_PKTS] = offsetof(struct dp_stats, rx_pkts),
	[DP_STAT_TX_PKTS] = offsetof(struct dp_stats, tx_pkts),
	[DP_STAT_ACKS_FAST] = offsetof(struct dp_stats, acks_fast),
	[DP_STAT_TO_CONTROL] = offsetof(struct dp_stats, to_control),
	[DP_STAT_DROP_RING_FULL] = offsetof(struct dp_stats, drop_ring_full),
	[DP_STAT_DROP_TOO_BIG] = offsetof(struct dp_stats, drop_too_big),
	[DP_STAT_DROP_MALFORMED] = offsetof(struct dp_stats, drop_malformed),
	[DP_STAT_DROP_TX] = offsetof(struct dp_stats, drop_tx),
	[DP_STAT_DROP_OTHER] = offsetof(struct dp_stats, drop_other),
};

int
dp_power_parse(const char *name)
{
	static const char *const names[] = {
		[DP_POWER_OFF] = "off",
		[DP_POWER_BACKOFF] = "backoff",
		[DP_POWER_INTERRUPT] = "interrupt",
	};

	for (int i = 0; name != NULL && i < (int)(sizeof(names) /
						  sizeof(*names)); i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -EINVAL;
}

void *
dp_calloc_lines(size_t size)
{
	size_t sz = (size + DP_CACHE_LINE - 1) & ~(size_t)(DP_CACHE_LINE - 1);
	void *p = aligned_alloc(DP_CACHE_LINE, sz);

	if (p != NULL)
		memset(p, 0, sz);
	return p;
}

/* Allocate and init one SPSC ring of struct dp_pkt without EAL. */
static struct rte_ring *
dp_ring_make(const char *name, unsigned size, void **mem)
{
	ssize_t sz = dp_rq_memsize(size);
	struct rte_ring *r;

	*mem = NULL;
	if (sz < 0)
		return NULL;
	/* aligned_alloc wants a multiple of the alignment */
	sz = (sz + DP_RQ_ALIGN - 1) & ~(ssize_t)(DP_RQ_ALIGN - 1);
	r = aligned_alloc(DP_RQ_ALIGN, (size_t)sz);
	if (r == NULL)
		return NULL;
	if (dp_rq_init(r, name, size) != 0) {
		free(r);
		return NULL;
	}
	*mem = r;
	return r;
}

static int
dp_cfg_check(const struct dp_cfg *cfg, char *err, size_t errlen)
{
	unsigned rs = cfg->ring_size;

	if (cfg->nb_lcores < 1 || cfg->nb_lcores > DP_MAX_LCORES) {
		snprintf(err, errlen, "nb_lcores %u not in 1..%u",
			 cfg->nb_lcores, DP_MAX_LCORES);
		return -EINVAL;
	}
	if (cfg->power > DP_POWER_INTERRUPT) {
		snprintf(err, errlen, "power mode %u unknown", cfg->power);
		return -EINVAL;
	}
	if (rs != 0 && (rs < 2 || rs > DP_RING_SIZE_MAX || (rs & (rs - 1)))) {
		snprintf(err, errlen,
			 "ring_size %u: not a power of 2 in 2..%u", rs,
			 DP_RING_SIZE_MAX);
		return -EINVAL;
	}
	return 0;
}

int
dp_base_init(struct dp *dp, const struct dp_ops *ops,
	     const struct dp_cfg *cfg, char *err, size_t errlen)
{
	unsigned size;
	char name[DP_RQ_NAMESIZE];
	int rc = dp_cfg_check(cfg, err, errlen);

	if (rc != 0)
		return rc;
	memset(dp, 0, sizeof(*dp));
	dp->ops = ops;
	dp->cfg = *cfg;
	dp->cfg.eal_args = NULL;	/* the caller's string may not outlive us */
	dp->nb_lcores = cfg->nb_lcores;
	size = cfg->ring_size ? cfg->ring_size : DP_RING_SIZE_DEFAULT;
	dp->cfg.ring_size = size;
	for (unsigned i = 0; i < DP_MAX_LCORES; i++) {
		dp->lcore[i].kick_fd = -1;
		dp->lcore[i].cp_bell = &dp->cp_bell;
	}
	dp->cp_bell.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (dp->cp_bell.fd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -EMFILE;
	}
	for (unsigned i = 0; i < dp->nb_lcores; i++) {
		struct dp_lcore *lc = &dp->lcore[i];

		/* lcores that may sleep (--dp-power) get a doorbell too */
		if (cfg->power != DP_POWER_OFF)
			lc->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		snprintf(name, sizeof(name), "dp_rx%u", i);
		lc->rx = dp_ring_make(name, size, &lc->rx_mem);
		snprintf(name, sizeof(name), "dp_tx%u", i);
		lc->tx = dp_ring_make(name, size, &lc->tx_mem);
		if (lc->rx == NULL || lc->tx == NULL) {
			snprintf(err, errlen, "ring of %u packets: %s", size,
				 strerror(ENOMEM));
			dp_base_fini(dp);
			return -ENOMEM;
		}
	}
	return 0;
}

void
dp_base_fini(struct dp *dp)
{
	for (unsigned i = 0; i < DP_MAX_LCORES; i++) {
		free(dp->lcore[i].rx_mem);
		free(dp->lcore[i].tx_mem);
		dp->lcore[i].rx_mem = dp->lcore[i].tx_mem = NULL;
		dp->lcore[i].rx = dp->lcore[i].tx = NULL;
		if (dp->lcore[i].kick_fd >= 0)	/* backends may close theirs */
			close(dp->lcore[i].kick_fd);
		dp->lcore[i].kick_fd = -1;
	}
	if (dp->cp_bell.fd >= 0)
		close(dp->cp_bell.fd);
	dp->cp_bell.fd = -1;
}

/*
 * create + start with every signal blocked, so that each thread a backend
 * starts (socket threads, EAL lcores, EAL's interrupt thread) inherits the
 * blocked mask: SIGINT/SIGTERM then reach only control, which unblocks
 * them inside its epoll_pwait and cannot miss one while it sleeps.
 */
static struct dp *
dp_new_quiet(const struct dp_ops *ops, const struct dp_cfg *cfg, int *rc,
	     char *err, size_t errlen)
{
	sigset_t all, old;
	struct dp *dp;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	dp = ops->create(cfg, err, errlen);
	*rc = dp != NULL ? ops->start(dp) : 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return dp;
}

struct dp *
dp_new(const char *backend, const struct dp_cfg *cfg, char *err,
       size_t errlen)
{
	const struct dp_ops *ops = NULL;
	struct dp *dp;
	int rc;

	for (size_t i = 0; i < sizeof(dp_backends) / sizeof(*dp_backends); i++)
		if (backend != NULL && strcmp(dp_backends[i]->name, backend) == 0)
			ops = dp_backends[i];
#ifndef DP_HAVE_DPDK_BACKEND
	if (ops == NULL && backend != NULL && strcmp(backend, "dpdk") == 0) {
		snprintf(err, errlen, "built without DPDK: only the socket "
			 "dataplane is available (rebuild with libdpdk-dev "
			 "installed)");
		return NULL;
	}
#endif
	if (ops == NULL) {
		snprintf(err, errlen, "unknown dataplane backend '%s'",
			 backend ? backend : "(null)");
		return NULL;
	}
	dp = dp_new_quiet(ops, cfg, &rc, err, errlen);
	if (dp == NULL)
		return NULL;
	if (rc != 0) {
		snprintf(err, errlen, "%s backend start: %s", ops->name,
			 strerror(-rc));
		ops->destroy(dp);
		return NULL;
	}
	dp->is_started = true;
	return dp;
}

void
dp_delete(struct dp *dp)
{
	if (dp == NULL)
		return;
	if (dp->is_started)
		dp->ops->stop(dp);
	dp->ops->destroy(dp);
}

unsigned
dp_recv(struct dp *dp, struct dp_pkt *pkts, unsigned n)
{
	unsigned got = 0;
	unsigned first = dp->recv_next;

	/* Start one lcore further each call so no lcore starves the rest. */
	dp->recv_next = (first + 1) % dp->nb_lcores;
	for (unsigned k = 0; k < dp->nb_lcores && got < n; k++) {
		struct dp_lcore *lc = &dp->lcore[(first + k) % dp->nb_lcores];

		/* SC dequeue; pairs with the lcore's SP enqueue in
		 * dp_lcore_to_control */
		got += dp_rq_dequeue(lc->rx, &pkts[got], n - got);
		/* inline, this thread fills the ring too: emptied, start
		 * over at slot 0. Walked round slot by slot, a quiet ring
		 * faults its whole 2 MiB in over time (a page every other
		 * packet), and every wakeup pays per resident MiB on a VM
		 * (README, Idle and Scale). */
		if (dp_inline_fd(dp) >= 0 && dp_rq_empty(lc->rx))
			dp_rq_rewind(lc->rx);
	}
	return got;
}

/* FNV-1a of the destination: one peer always goes through one lcore, so
 * the packets control sends it leave in order. */
static unsigned
dp_addr_hash(const struct swim_addr *a)
{
	uint32_t h = 2166136261u;

	for (unsigned i = 0; i < a->ip_len && i < sizeof(a->ip); i++)
		h = (h ^ a->ip[i]) * 16777619u;
	h = (h ^ (a->port & 0xff)) * 16777619u;
	h = (h ^ (a->port >> 8)) * 16777619u;
	return h;
}

/*
 * Lcore i asleep with an empty tx ring: send from here rather than wake
 * it. The acquire load pairs with the lcore's seq_cst store of is_parked,
 * made after its last send: what it sent before is out, and the empty
 * ring means nothing of ours waits, so this datagram overtakes nothing.
 * If it wakes meanwhile, its sends and ours are both fine on one socket.
 */
static bool
dp_send_now(struct dp *dp, unsigned i, const struct dp_pkt *pkt)
{
	struct dp_lcore *lc = &dp->lcore[i];

	if (dp->ops->send_now == NULL ||
	    atomic_load_explicit(&lc->is_parked, memory_order_acquire) == 0 ||
	    !dp_rq_empty(lc->tx) || !dp->ops->send_now(dp, i, pkt))
		return false;
	dp->nb_sent_now++;
	return true;
}

bool
dp_send(struct dp *dp, const struct dp_pkt *pkt)
{
	unsigned first = dp_addr_hash(&pkt->addr) % dp->nb_lcores;

	if (pkt->len > DP_PKT_MAX) {
		dp->send_too_big++;
		return false;
	}
	if (dp_send_now(dp, first, pkt))
		return true;
	/* The hashed lcore first; another one rather than a drop when full. */
	for (unsigned k = 0; k < dp->nb_lcores; k++) {
		struct dp_lcore *lc = &dp->lcore[(first + k) % dp->nb_lcores];

		/* SP enqueue; pairs with the lcore's SC dequeue in
		 * dp_lcore_from_control */
		if (dp_rq_enqueue(lc->tx, pkt, 1) == 1) {
			dp_lcore_kick(dp, lc);
			return true;
		}
	}
	dp->send_full++;
	return false;
}

void
dp_publish(struct dp *dp, const struct dp_snapshot *snap)
{
	struct dp_snap_pub *pub = &dp->pub;
	uint64_t gen = atomic_load_explicit(&pub->gen, memory_order_relaxed);
	struct dp_snap_slot *s = &pub->slot[(gen + 1) & 1];
	uint64_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);

	/* Seqlock write: odd, then the bytes, then even. The release fence
	 * orders the odd store before the copy (pairs with the reader's
	 * acquire fence before its second seq load). */
	atomic_store_explicit(&s->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	memcpy(&s->snap, snap, sizeof(*snap));
	atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
	/* Point readers at the new slot; pairs with the load-acquire of gen
	 * in dp_snap_read. */
	atomic_store_explicit(&pub->gen, gen + 1, memory_order_release);
}

bool
dp_snap_read(const struct dp_snap_pub *pub, uint64_t *gen,
	     struct dp_snapshot *out)
{
	for (unsigned t = 0; t < DP_SNAP_READ_TRIES; t++) {
		uint64_t g = atomic_load_explicit(
			&pub->gen, memory_order_acquire);
		const struct dp_snap_slot *s = &pub->slot[g & 1];
		uint64_t q1, q2;

		if (g == *gen)
			return false;
		q1 = atomic_load_explicit(&s->seq,
					  memory_order_acquire);
		if (q1 & 1)
			continue;	/* control is rewriting this slot */
		memcpy(out, &s->snap, sizeof(*out));
		atomic_thread_fence(memory_order_acquire);
		q2 = atomic_load_explicit(&s->seq,
					  memory_order_relaxed);
		if (q1 == q2) {
			*gen = g;
			return true;
		}
	}
	return false;	/* keep the old copy; the next burst tries again */
}

void
dp_get_stats(const struct dp *dp, struct dp_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < dp->nb_lcores; i++) {
		const struct dp_lcore *lc = &dp->lcore[i];

		for (unsigned s = 0; s < DP_STAT_COUNT; s++) {
			uint64_t *dst = (uint64_t *)((char *)out +
						     dp_stat_off[s]);

			/* pairs with the relaxed store in dp_stat_add */
			*dst += atomic_load_explicit(
				&lc->stats.v[s],
				memory_order_relaxed);
		}
	}
	out->drop_tx += dp->send_full;
	out->tx_pkts += dp->nb_sent_now;
	out->drop_too_big += dp->send_too_big;
}

unsigned
dp_nb_lcores(const struct dp *dp)
{
	return dp->nb_lcores;
}

int
dp_get_lcore_stats(const struct dp *dp, unsigned i, struct dp_stats *out,
		   unsigned *rx_depth, unsigned *tx_depth)
{
	if (i >= dp->nb_lcores)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	for (unsigned s = 0; s < DP_STAT_COUNT; s++)
		*(uint64_t *)((char *)out + dp_stat_off[s]) =
			atomic_load_explicit(&dp->lcore[i].stats.v[s],
					     memory_order_relaxed);
	/* the count is a racy snapshot, which is all a gauge needs */
	if (rx_depth != NULL)
		*rx_depth = dp_rq_count(dp->lcore[i].rx);
	if (tx_depth != NULL)
		*tx_depth = dp_rq_count(dp->lcore[i].tx);
	return 0;
}

/*
 * After an enqueue to control: wake it if it is parked. The fence pairs
 * with the one in dp_park (store is_parked, fence, look at the rings): we
 * stored into the ring, fence, look at is_parked. The exchange makes one
 * write per nap whichever lcores race here.
 */
static void
dp_lcore_ring_bell(struct dp_bell *b)
{
	uint64_t one = 1;

	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&b->is_parked, memory_order_relaxed) == 0 ||
	    atomic_exchange(&b->is_parked, 0) == 0)
		return;
	atomic_fetch_add_explicit(&b->nb_rung, 1, memory_order_relaxed);
	/* eventfd: cannot block (the counter would need 2^64 - 1 rings) */
	(void)!write(b->fd, &one, sizeof(one));
}

int
dp_bell_fd(const struct dp *dp)
{
	return dp->cp_bell.fd;
}

bool
dp_park(struct dp *dp)
{
	/* seq_cst store + fence; pairs with dp_lcore_ring_bell's fence */
	atomic_store(&dp->cp_bell.is_parked, 1);
	atomic_thread_fence(memory_order_seq_cst);
	for (unsigned i = 0; i < dp->nb_lcores; i++) {
		if (!dp_rq_empty(dp->lcore[i].rx)) {
			atomic_store(&dp->cp_bell.is_parked, 0);
			return false;
		}
	}
	return true;
}

void
dp_unpark(struct dp *dp)
{
	/* A ring racing with this store writes the fd once more: the
	 * next epoll returns at once and dp_bell_clear resets it. */
	atomic_store_explicit(&dp->cp_bell.is_parked, 0,
			      memory_order_relaxed);
}

void
dp_bell_clear(struct dp *dp)
{
	uint64_t v;

	(void)!read(dp->cp_bell.fd, &v, sizeof(v));
}

uint64_t
dp_bell_rung(const struct dp *dp)
{
	return atomic_load_explicit(&dp->cp_bell.nb_rung,
				    memory_order_relaxed);
}

unsigned
dp_lcore_to_control(struct dp_lcore *lc, const struct dp_pkt *pkts,
		    unsigned n)
{
	unsigned done;

	if (n == 0)
		return 0;
	/* SP enqueue; pairs with control's SC dequeue in dp_recv */
	done = dp_rq_enqueue(lc->rx, pkts, n);
	if (done > 0)
		dp_lcore_ring_bell(lc->cp_bell);
	dp_stat_add(lc, DP_STAT_TO_CONTROL, done);
	if (done < n)
		dp_stat_add(lc, DP_STAT_DROP_RING_FULL, n - done);
	return done;
}

void
dp_lcore_kick(struct dp *dp, struct dp_lcore *lc)
{
	uint64_t one = 1;

	if (lc->kick_fd < 0)
		return;
	/* After the enqueue: pairs with the lcore's seq_cst store of
	 * is_parked before it rechecks the ring (dp_lcore_tx_empty). The
	 * exchange makes one kick per nap, not one per packet. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&lc->is_parked, memory_order_relaxed) == 0 ||
	    atomic_exchange(&lc->is_parked, 0) == 0)
		return;
	dp->nb_kicks++;
	/* eventfd: cannot block (the counter would need 2^64 - 1 kicks) */
	(void)!write(lc->kick_fd, &one, sizeof(one));
}

bool
dp_lcore_tx_empty(const struct dp_lcore *lc)
{
	return dp_rq_empty(lc->tx);
}

unsigned
dp_lcore_from_control(struct dp_lcore *lc, struct dp_pkt *pkts, unsigned n)
{
	/* SC dequeue; pairs with control's SP enqueue in dp_send */
	return dp_rq_dequeue(lc->tx, pkts, n);
}
