/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The layout of struct dp that every backend shares, and the lcore-side
 * helpers for the rings, counters and the published snapshot.
 *
 * A backend embeds struct dp as the FIRST member of its own struct and
 * calls dp_base_init()/dp_base_fini() from its create/destroy; dp_ring.c
 * then serves control without knowing the backend.
 *
 * Threads: fields marked "control" are touched only by the control
 * thread; fields marked "lcore i" only by lcore i. What crosses goes
 * through an SPSC rte_ring or an atomic with a named pairing. Nothing
 * here locks, and nothing after dp_base_init() allocates.
 */
#ifndef DP_INTERNAL_H_INCLUDED
#define DP_INTERNAL_H_INCLUDED

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>

#include "dp.h"

/** Assumed cache line; keeps lcores' written lines apart. */
#define DP_CACHE_LINE 64
/** Default ring size when dp_cfg.ring_size is 0. */
#define DP_RING_SIZE_DEFAULT 1024
/** Largest ring accepted (elements); 2 KiB each, so 64 MiB per ring. */
#define DP_RING_SIZE_MAX 32768
/** Bounded retries of a snapshot read before keeping the old copy. */
#define DP_SNAP_READ_TRIES 4

struct rte_ring;

/** Counter indices; same order as the fields of struct dp_stats. */
enum dp_stat {
	DP_STAT_RX_PKTS,
	DP_STAT_TX_PKTS,
	DP_STAT_ACKS_FAST,
	DP_STAT_TO_CONTROL,
	DP_STAT_DROP_RING_FULL,
	DP_STAT_DROP_TOO_BIG,
	DP_STAT_DROP_MALFORMED,
	DP_STAT_DROP_TX,
	DP_STAT_DROP_OTHER,
	DP_STAT_COUNT,
};

/**
 * One lcore's counters, on their own cache lines. Written only by the
 * owning lcore (dp_stat_add), read by control with relaxed loads in
 * dp_get_stats(): a counter may lag, never tear.
 */
struct dp_lcore_stats {
	alignas(DP_CACHE_LINE) _Atomic uint64_t v[DP_STAT_COUNT];
};

/**
 * Control's doorbell (the mirror of dp_lcore's is_parked/kick_fd): control
 * sets is_parked, then rechecks every rx ring, then sleeps in epoll with
 * fd among its fds (dp_park); an lcore enqueues, then exchanges is_parked
 * to 0 and writes fd if it was 1 (dp_lcore_to_control). Both sides fence
 * seq_cst between their store and their load, so one of them always sees
 * the other (Dekker): no lost wakeup, and a busy control costs lcores one
 * fence and one load of a line nobody writes.
 */
struct dp_bell {
	alignas(DP_CACHE_LINE) _Atomic unsigned is_parked; /* 1: control asleep */
	int fd;				/* eventfd, or -1: never rung */
	_Atomic uint64_t nb_rung;	/* rings so far (any lcore; tests) */
};

/** What one lcore shares with control. */
struct dp_lcore {
	struct rte_ring *rx;		/* lcore -> control; SP lcore, SC control */
	struct rte_ring *tx;		/* control -> lcore; SP control, SC lcore */
	void *rx_mem;			/* aligned_alloc'ed memory of rx */
	void *tx_mem;			/* aligned_alloc'ed memory of tx */
	/*
	 * Doorbell for backends whose lcores sleep when idle (socket). The
	 * lcore sets is_parked, then rechecks its tx ring, then sleeps on
	 * kick_fd too; dp_send enqueues, then exchanges is_parked to 0 and
	 * writes kick_fd if it was 1. Both sides use seq_cst so one of them
	 * always sees the other (Dekker). kick_fd is -1 for busy pollers.
	 */
	_Atomic unsigned is_parked;	/* 1: lcore asleep or about to be */
	int kick_fd;			/* eventfd, or -1: never kicked */
	struct dp_bell *cp_bell;	/* control's doorbell (dp->cp_bell) */
	struct dp_lcore_stats stats;	/* written by this lcore only */
};

/** One half of the snapshot double buffer, guarded by its own seqlock. */
struct dp_snap_slot {
	/* odd while control writes snap; pairs with the reader's two loads */
	alignas(DP_CACHE_LINE) _Atomic uint64_t seq;
	struct dp_snapshot snap;	/* written by control, copied by lcores */
};

/**
 * The fast-path snapshot, published by control without locks. Control
 * writes the slot lcores are NOT told to read (slot[(gen + 1) & 1]), then
 * bumps gen (release). Lcores read slot[gen & 1] under that slot's seqlock,
 * so a reader only retries if control published twice during its copy.
 */
struct dp_snap_pub {
	/* publications so far; 0 = nothing yet. store-release in dp_publish,
	 * load-acquire in dp_snap_read */
	alignas(DP_CACHE_LINE) _Atomic uint64_t gen;
	struct dp_snap_slot slot[2];
};

/** Every backend's common part; a backend's own struct starts with it. */
struct dp {
	const struct dp_ops *ops;	/* the backend; set by dp_base_init */
	struct dp_cfg cfg;		/* copy of the create config */
	unsigned nb_lcores;		/* 1..DP_MAX_LCORES */
	unsigned recv_next;		/* control: first lcore dp_recv drains */
	uint64_t send_full;		/* control: dp_send refusals, rings full */
	uint64_t send_too_big;		/* control: dp_send refusals, len > max */
	uint64_t nb_kicks;		/* control: doorbells rung by dp_send */
	uint64_t nb_sent_now;		/* control: sent by ops->send_now */
	bool is_started;		/* control: start() succeeded */
	struct dp_snap_pub pub;		/* the published snapshot */
	struct dp_lcore lcore[DP_MAX_LCORES]; /* per-lcore rings + stats */
	struct dp_bell cp_bell;		/* wakes a parked control (dp_park) */
};

/**
 * Validate cfg, fill the common part and create each lcore's two rings.
 * @retval 0, or -EINVAL / -ENOMEM with a message in err.
 */
int dp_base_init(struct dp *dp, const struct dp_ops *ops,
		 const struct dp_cfg *cfg, char *err, size_t errlen);
/** Free the rings dp_base_init created (idempotent). */
void dp_base_fini(struct dp *dp);
/** Zeroed memory aligned to DP_CACHE_LINE (struct dp needs it); free(). */
void *dp_calloc_lines(size_t size);

/** Lcore side: add n to one of this lcore's counters (single writer). */
static inline void
dp_stat_add(struct dp_lcore *lc, enum dp_stat s, uint64_t n)
{
	/* Only this lcore writes: load+store is enough, no locked RMW.
	 * Pairs with the relaxed load in dp_get_stats(). */
	uint64_t v = atomic_load_explicit(&lc->stats.v[s],
					  memory_order_relaxed);

	atomic_store_explicit(&lc->stats.v[s], v + n, memory_order_relaxed);
}

/**
 * Lcore side: pass packets to control. Counts to_control and, for what
 * did not fit, drop_ring_full. @retval packets enqueued.
 */
unsigned dp_lcore_to_control(struct dp_lcore *lc, const struct dp_pkt *pkts,
			     unsigned n);
/** Control side: wake lcore lc if it is parked (see struct dp_lcore). */
void dp_lcore_kick(struct dp *dp, struct dp_lcore *lc);
/** Lcore side: true when control queued nothing for this lcore. */
bool dp_lcore_tx_empty(const struct dp_lcore *lc);
/** Lcore side: take up to n packets control queued for sending. */
unsigned dp_lcore_from_control(struct dp_lcore *lc, struct dp_pkt *pkts,
			       unsigned n);

/**
 * Lcore side: copy the newest snapshot into *out if its generation differs
 * from *gen, never blocking (DP_SNAP_READ_TRIES bounded retries).
 * @retval true when *out and *gen were updated.
 */
bool dp_snap_read(const struct dp_snap_pub *pub, uint64_t *gen,
		  struct dp_snapshot *out);

/** The socket backend (dp_socket.c). */
extern const struct dp_ops dp_socket_ops;

#endif /* DP_INTERNAL_H_INCLUDED */
