/**
 * @file
 * The dataplane as control sees it: packets in, packets out, through
 * lock-free single-producer/single-consumer rte_rings, one pair per
 * dataplane thread (lcore). Backends (kernel sockets, DPDK) hide behind
 * struct dp_ops; control/ never knows which one runs.
 *
 *   NIC/socket -> dp lcore -> rx ring -> control -> swim -> tx ring -> dp lcore -> wire
 *
 * A ping addressed to this node is acked on the lcore itself (the fast
 * path), from the snapshot control last published with dp_publish().
 */
#ifndef DP_H_INCLUDED
#define DP_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "swim_msg.h"

/** Largest datagram that crosses a ring (1400 budget + CRC + AES-GCM fits). */
#define DP_PKT_MAX 2040
/** Burst size on every ring and socket call. */
#define DP_BURST 32
/** Most dataplane threads one node runs. */
#define DP_MAX_LCORES 16

enum {
	/** rx: the lcore already acked the pings to us in this packet. */
	DP_PKT_F_PINGS_ANSWERED = 1u << 0,
};

/** One datagram crossing a ring, copied by value (size is a multiple of 8). */
struct dp_pkt {
	struct swim_addr addr;	/* rx: source; tx: destination */
	uint16_t len;
	uint16_t flags;
	uint8_t data[DP_PKT_MAX];
};

/** Counters per lcore, written only by that lcore (relaxed atomics). */
struct dp_stats {
	uint64_t rx_pkts;
	uint64_t tx_pkts;
	uint64_t acks_fast;		/* pings answered on the lcore */
	uint64_t to_control;		/* packets passed to control */
	uint64_t drop_ring_full;	/* rx ring to control was full */
	uint64_t drop_too_big;		/* datagram larger than DP_PKT_MAX */
	uint64_t drop_malformed;	/* not a memberlist packet */
	uint64_t drop_tx;		/* tx failed */
	uint64_t drop_other;		/* frames not for us (DPDK: L2/L3 drops) */
};

/** What the fast path needs from control to build an ack itself. */
struct dp_snapshot {
	char name[SWIM_NAME_MAX + 1];
	uint8_t ack_payload[256];	/* serf: 01 + Vivaldi coordinate */
	uint16_t ack_payload_len;
	uint8_t piggyback[1024];	/* compound parts, <u16 len BE><part>... */
	uint16_t piggyback_len;
	uint16_t nb_piggyback;
	/*
	 * The keyring to open and seal with from the lcore's next turn on
	 * (key rotation); NULL: dp_cfg.keyring. Control keeps a replaced
	 * keyring alive for a grace period (cp_keys.h), so a lcore still in
	 * a turn with the previous snapshot never sees it freed.
	 */
	const struct swim_keyring *keyring;
};

/** How a DPDK lcore with nothing to do gives the CPU back (--dp-power). */
enum dp_power {
	DP_POWER_OFF,		/* poll all the time (the default) */
	DP_POWER_BACKOFF,	/* pause, then sleep growing to a cap */
	DP_POWER_INTERRUPT,	/* sleep on Rx interrupts; else back off */
};

/** "off", "backoff", "interrupt" -> enum dp_power. @retval -EINVAL. */
int dp_power_parse(const char *name);

struct dp_cfg {
	struct swim_addr bind;		/* address and port to listen on */
	/* socket backend: threads (>= 1); DPDK backend: lcores (>= 1), or
	 * 0 for one per EAL worker lcore (the daemon's choice) */
	unsigned nb_lcores;
	unsigned ring_size;		/* elements per ring, power of 2 */
	const char *eal_args;		/* DPDK backend: EAL argument string */
	unsigned port_id;		/* DPDK backend: ethdev port */
	unsigned power;			/* DPDK backend: enum dp_power */
	/* Socket backend with one lcore: no thread; control runs it from
	 * its own loop (dp_inline_fd, dp_inline_run), one wakeup per
	 * datagram instead of two. */
	bool is_inline;
	/* Non-NULL: open every received datagram and seal every sent one
	 * (memberlist §8; socket backend). Read by lcores without locks,
	 * so it must not change after create and must outlive the dp. */
	const struct swim_keyring *keyring;
};

struct dp;
struct swim_keyring;

/** A backend: every function is called from the control thread. */
struct dp_ops {
	const char *name;
	struct dp *(*create)(const struct dp_cfg *cfg, char *err, size_t errlen);
	int (*start)(struct dp *dp);
	void (*stop)(struct dp *dp);
	void (*destroy)(struct dp *dp);
	/*
	 * Optional: send pkt through lcore i's port from the control thread,
	 * called by dp_send only while that lcore sleeps with nothing queued
	 * (so nothing is overtaken), which saves waking it for one datagram.
	 * @retval false: not sent; dp_send queues it instead.
	 */
	bool (*send_now)(struct dp *dp, unsigned i, const struct dp_pkt *pkt);
};

/* Control's side, the same for every backend (dp_ring.c). */

/** Create and start the named backend ("socket" or "dpdk"). NULL + err. */
struct dp *dp_new(const char *backend, const struct dp_cfg *cfg, char *err,
		  size_t errlen);
/** Stop every lcore and free everything. */
void dp_delete(struct dp *dp);
/** Dequeue up to n received packets from all lcores. @retval count. */
unsigned dp_recv(struct dp *dp, struct dp_pkt *pkts, unsigned n);
/** Queue one packet to send. @retval false when dropped (ring full). */
bool dp_send(struct dp *dp, const struct dp_pkt *pkt);
/** Publish the fast path snapshot; lcores pick it up without locks. */
void dp_publish(struct dp *dp, const struct dp_snapshot *snap);
/** Sum of every lcore's counters. */
void dp_get_stats(const struct dp *dp, struct dp_stats *out);
/** Lcores (ring pairs) of the dataplane. */
unsigned dp_nb_lcores(const struct dp *dp);
/**
 * Lcore i's own counters (dp_get_stats adds control's send-side drops to
 * their sum) and the packets waiting now in its rx (to control) and tx
 * (from control) rings; rx_depth/tx_depth may be NULL.
 * @retval 0, or -EINVAL when i is not an lcore.
 */
int dp_get_lcore_stats(const struct dp *dp, unsigned i, struct dp_stats *out,
		       unsigned *rx_depth, unsigned *tx_depth);

/*
 * Control's doorbell, so that control can sleep in the kernel while the rx
 * rings are empty and still wake at once when an lcore queues a packet:
 *
 *   if (dp_park(dp))                 rings empty: lcores ring from now on
 *       epoll_wait(..., timeout);    with dp_bell_fd(dp) registered
 *   dp_unpark(dp);                   busy again: lcores stop ringing
 *   ... dp_bell_fd readable -> dp_bell_clear(dp)
 *
 * An lcore writes the eventfd only while control is parked, once per nap.
 */

/** The doorbell's fd (an eventfd, EPOLLIN), or -1 when there is none. */
int dp_bell_fd(const struct dp *dp);
/**
 * About to sleep: mark control parked, then recheck every rx ring.
 * @retval true when they are empty (sleep now; a packet rings the bell);
 *         false when packets wait (not parked: do not sleep).
 */
bool dp_park(struct dp *dp);
/** Awake: lcores stop ringing. */
void dp_unpark(struct dp *dp);
/** The bell fd was readable: reset it. */
void dp_bell_clear(struct dp *dp);
/** Times an lcore rang the bell so far. */
uint64_t dp_bell_rung(const struct dp *dp);

/*
 * An inline dataplane (dp_cfg.is_inline, socket backend): control polls
 * its socket itself and runs the lcore's work on its own thread.
 */

/** The fd to wait for (EPOLLIN), or -1: not inline. */
int dp_inline_fd(const struct dp *dp);
/**
 * Do the lcore's work now: with rx, receive what waits (fast-path acks,
 * the rest to the rx ring for dp_recv); always send what is queued.
 * No-op when not inline.
 */
void dp_inline_run(struct dp *dp, bool rx);

#endif /* DP_H_INCLUDED */
