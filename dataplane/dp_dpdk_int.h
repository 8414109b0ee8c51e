/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The DPDK poll-mode backend's private layout, shared by its files:
 * dp_dpdk.c (lifecycle: EAL, launch, stop), dp_dpdk_port.c (mempool and
 * ports), dp_exc_dpdk.c (the exception interface it makes itself) and
 * dp_dpdk_lcore.c (the per-lcore loop).
 *
 * Threads: struct dp_dpdk is written by control during create/start/
 * stop/destroy only; lcores read it (ports, pool, self) after launch.
 * struct dp_dpdk_lcore belongs to its lcore once launched; control reads
 * its counters only after rte_eal_wait_lcore() (a full barrier).
 */
#ifndef DP_DPDK_INT_H_INCLUDED
#define DP_DPDK_INT_H_INCLUDED

#include <stdatomic.h>

#include <rte_log.h>

#include "dp_arp.h"
#include "dp_dpdk_args.h"
#include "dp_dpdk_fast.h"
#include "dp_exc.h"
#include "dp_fastpath.h"
#include "dp_internal.h"
#include "dp_pkt.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

extern int dp_dpdk_logtype;
#define DP_LOG(level, fmt, ...)                                         \
	rte_log(RTE_LOG_##level, dp_dpdk_logtype, "%s(): " fmt "\n",    \
		__func__, ##__VA_ARGS__)

/** mbufs staged for one tx_burst on the main port. */
#define DP_DPDK_TX_MAX (4 * DP_BURST)
/** ARP news an lcore's mailbox holds (struct dp_dpdk_arp_news). */
#define DP_DPDK_ARP_MBOX 256

/** One IP -> MAC binding an lcore learned from an ARP frame. */
struct dp_dpdk_arp_news {
	uint32_t ip;			/* host order */
	uint8_t mac[6];
	uint8_t pad[6];			/* ring elements: multiple of 4 */
};

/** How often an lcore ages its ARP cache. */
#define DP_DPDK_AGE_US 100000
/** No port: what exc_port holds when there is no exception path. */
#define DP_DPDK_NO_PORT 0xffff

/** Counters beyond struct dp_stats; written by the owning lcore only. */
enum dp_dpdk_ctr {
	DP_DPDK_ARP_ANSWERED,		/* ARP requests for us answered */
	DP_DPDK_ARP_REQUESTS,		/* ARP requests we sent */
	DP_DPDK_ARP_HELD_DROP,		/* held packets ARP gave up on */
	DP_DPDK_ARP_FULL,		/* packets refused: hold queue full */
	DP_DPDK_EXC_TO_KERNEL,		/* frames sent to the tap */
	DP_DPDK_EXC_FROM_KERNEL,	/* tap frames sent out the port */
	DP_DPDK_EXC_NO_PATH,		/* exception frames, no tap: freed */
	DP_DPDK_EXC_TX_FULL,		/* tap tx_burst refused */
	DP_DPDK_MBUF_FAIL,		/* mbuf allocation failed */
	DP_DPDK_SEGMENTED,		/* multi-segment frame: freed */
	DP_DPDK_NOT_IPV4,		/* IPv6 destination from control */
	DP_DPDK_ARP_SHARED,		/* ARP news from other lcores applied */
	DP_DPDK_ARP_MBOX_FULL,		/* ARP news another lcore missed */
	DP_DPDK_BUSY_TSC,		/* TSC cycles in loop turns that got
					 * frames: / rx = cost per frame */
	DP_DPDK_CTR_COUNT,
};

struct dp_dpdk_seal;

/** One worker lcore: owned by it after launch. */
struct dp_dpdk_lcore {
	struct dp_dpdk *owner;		/* the backend */
	struct dp_lcore *lc;	/* rings + dp_stats, shared w/ control */
	uint16_t queue;			/* rx/tx queue on every port, 0..n-1 */
	unsigned lcore_id;		/* EAL lcore running it */
	struct dp_fp fp;		/* fast-path snapshot copy */
	struct dp_pkt_udp4_tmpl hdrs;	/* our datagrams' headers */
	struct dp_fast fast;		/* the fused ping -> ack's constants,
					 * from fp and hdrs */
	struct dp_arp *arp;		/* this lcore's ARP cache */
	/* ARP news from the other lcores: MP enqueue by them, SC dequeue
	 * here; NULL with one lcore. An ARP reply lands on one queue but
	 * any lcore may be waiting for it. */
	struct rte_ring *arp_mbox;
	uint64_t now_us;		/* TSC time of this loop turn */
	uint32_t memo_ip_n;		/* the last UDP sender learned this
					 * turn, network order; 0: none */
	uint8_t memo_mac[DP_ETH_ALEN];	/* and its MAC */
	uint64_t next_age_us;		/* when to age the ARP cache */
	unsigned nb_tx;			/* mbufs in tx[] */
	unsigned nb_exc;		/* mbufs in exc[] */
	unsigned nb_ctl;		/* packets in ctl[] */
	uint64_t drop[DP_PKT_DROP_COUNT]; /* dp_pkt drop reasons */
	uint64_t ctr[DP_DPDK_CTR_COUNT];  /* enum dp_dpdk_ctr */
	struct rte_mbuf *tx[DP_DPDK_TX_MAX]; /* for the main port */
	struct rte_mbuf *exc[DP_BURST];	/* for the tap */
	struct dp_pkt ctl[DP_BURST];	/* datagrams for control */
	struct dp_pkt out[DP_BURST];	/* datagrams from control */
	struct dp_pkt ack;		/* the fast path's ack */
	/* keyring: open every datagram, seal every one sent (lcore's own
	 * cipher contexts, dp_dpdk_seal.h); NULL: plaintext */
	struct dp_dpdk_seal *seal;
};

/** The backend; struct dp first (dp_internal.h). */
struct dp_dpdk {
	struct dp base;			/* must stay first */
	/* set by stop() (release), polled by lcores (acquire) */
	_Atomic bool quit;
	bool has_eal;			/* we ran rte_eal_init: clean it up */
	bool has_base;			/* dp_base_init ran: dp_base_fini */
	bool port_started;		/* main port configured: close it */
	bool exc_started;		/* tap configured: close it */
	bool exc_auto;			/* we make the tap (no net_tap vdev
					 * given, address not local) */
	bool exc_added;			/* its vdev exists: remove it */
	uint16_t port;			/* main ethdev port */
	uint16_t exc_port;		/* net_tap port or DP_DPDK_NO_PORT */
	char exc_vdev[32];		/* the made tap's vdev name */
	char exc_ifname[IF_NAMESIZE];	/* and its kernel interface */
	struct dp_exc exc;		/* what dp_exc_setup did to it */
	uint16_t max_frame;		/* MTU + Ethernet header */
	uint64_t tsc_per_us;		/* rte_get_tsc_hz() / 1e6 */
	struct rte_mempool *pool;	/* every mbuf of every port */
	struct dp_pkt_self self;	/* MAC, IPv4, UDP port */
	unsigned nb_launched;		/* lcores launched so far */
	struct dp_dpdk_lcore *dl[DP_MAX_LCORES]; /* per worker */
	char *eal_argv[DP_EAL_ARGC_MAX + 1]; /* rte_eal_init's argv */
	char eal_buf[DP_EAL_ARGS_MAX];	/* storage of eal_argv */
};

/**
 * Create the mempool, find the tap, configure and start the ports.
 * @retval 0 or -errno with a message in err.
 */
int dp_dpdk_port_init(struct dp_dpdk *dd, char *err, size_t errlen);
/** Stop and close what dp_dpdk_port_init opened; free the pool. */
void dp_dpdk_port_fini(struct dp_dpdk *dd);
/*
 * The exception interface gossipd makes itself (dp_exc_dpdk.c), in the
 * order create calls them. Each returns 0 or -errno with err set.
 */
/** Before EAL: make a tap? (no net_tap in eal_args, address not local);
 * -EPERM without CAP_NET_ADMIN. */
int dp_dpdk_exc_plan(struct dp_dpdk *dd, const char *eal_args, char *err,
		     size_t errlen);
/** Main port started: add the net_tap vdev with its MAC; sets exc_port. */
int dp_dpdk_exc_make(struct dp_dpdk *dd, char *err, size_t errlen);
/** Ports started: the kernel's side (address, rules, ARP knobs). */
int dp_dpdk_exc_configure(struct dp_dpdk *dd, char *err, size_t errlen);
/** Undo configure (the tap still open). */
void dp_dpdk_exc_unconfigure(struct dp_dpdk *dd);
/** The tap closed: remove the vdev made by dp_dpdk_exc_make. */
void dp_dpdk_exc_remove(struct dp_dpdk *dd);

/** Per-queue packet counts of the main port, one log line per queue. */
void dp_dpdk_port_log_queues(const struct dp_dpdk *dd);

/** Process one received burst (the loop's phase 1; callgrind's unit). */
void dp_dpdk_lcore_handle(struct dp_dpdk_lcore *dl, struct rte_mbuf **pkts,
			  uint16_t nb);
/** The loop each worker runs (rte_eal_remote_launch). */
int dp_dpdk_lcore_main(void *arg);

/** The DPDK backend's ops (dp_ring.c lists it). */
extern const struct dp_ops dp_dpdk_ops;

#endif /* DP_DPDK_INT_H_INCLUDED */
