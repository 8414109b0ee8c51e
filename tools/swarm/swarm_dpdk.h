/* SPDX-License-Identifier: MIT */
/**
 * @file
 * gossip-swarm's DPDK backend, the line-rate mode (--dataplane dpdk):
 * one port, one lcore. It answers ARP for every address of --prefix (one
 * MAC for the whole swarm) and memberlist pings to any virtual member
 * that answers, rewriting the ping's own frame into the ack; with --flood
 * it is also the generator: it keeps --flood-window pings in flight, to
 * --flood-members different members of a target (a second swarm) or to
 * one node (gossipd's DPDK dataplane), from its own members in turn, and
 * turns each ack's frame into the next ping.
 *
 * What this mode leaves out, on purpose: TCP (push/pull, TCP pings) and
 * hence --join; gossip, suspicion, probes of real nodes, Serf; and
 * encryption. A DPDK port is not the kernel's, so the socket backend's
 * TCP listener cannot be reached through it; the line-rate measurement
 * needs ping and ack only. The members are all alive from the start;
 * --fail N@T silences N of them at T s (they stop answering pings).
 *
 * The frame handling (swarm_dpdk_frame.c) works on byte buffers and needs
 * no EAL; swarm_dpdk.c is the ethdev side.
 */
#ifndef SWARM_DPDK_H_INCLUDED
#define SWARM_DPDK_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_pkt.h"
#include "swarm.h"
#include "swim_wire.h"

/** First SeqNo of a flood: from 2^16 on msgpack keeps it 5 bytes. */
#define SWARM_DPDK_SEQ0 0x10000u

struct swarm_dpdk_stats {
	uint64_t rx, tx;			/* frames */
	uint64_t tx_refused;			/* the port's tx was full */
	uint64_t arp_in, arp_out;		/* requests in, replies out */
	uint64_t pings_in, acks_out;		/* as target */
	uint64_t pings_silent;			/* to a failed member */
	uint64_t pings_out, acks_in, lost;	/* as generator */
	uint64_t drop_parse, drop_other;	/* not ours, not understood */
	uint64_t drop_member;			/* outside the prefix */
	uint64_t busy_tsc;			/* polls that received */
};

/** What the caller does with the frame after swarm_dpdk_frame. */
enum swarm_dpdk_act {
	SWARM_DPDK_FREE = 0,	/* consumed or dropped: free it */
	SWARM_DPDK_REPLY = 1,	/* rewritten in place (ARP reply, ack) */
	SWARM_DPDK_NEXT = 2,	/* an ack of ours: reuse for the next ping */
};

struct swarm_dpdk {
	const struct swarm_cfg *cfg;
	struct swarm_map map;
	struct swarm_member *m;		/* members' states (cfg->members) */
	uint8_t mac[DP_ETH_ALEN];	/* the port's MAC: every member's */
	/* --flood */
	uint8_t dst_mac[DP_ETH_ALEN];	/* the target's, by ARP */
	bool have_dst_mac;
	uint32_t next_target;		/* index into the flood's members */
	uint32_t next_source;		/* our member speaking next */
	uint32_t seq;			/* next SeqNo */
	uint64_t in_flight;
	struct swarm_dpdk_stats st;
	struct swim_wire_scratch scratch;
};

/**
 * Set d up for cfg (no EAL needed): the map, every member alive.
 * @retval 0, -1 (bad prefix, out of memory)
 */
int swarm_dpdk_init(struct swarm_dpdk *d, const struct swarm_cfg *cfg,
		    const uint8_t mac[DP_ETH_ALEN]);
void swarm_dpdk_fini(struct swarm_dpdk *d);

/**
 * Handle one received frame f[0..*len) in a buffer of cap bytes: an ARP
 * request for a member becomes the reply, a ping to an answering member
 * the ack (both in place, *len updated), an ARP reply from the flood's
 * target is learnt, and an ack to one of ours is counted (NEXT: the
 * caller makes the buffer the next ping with swarm_dpdk_build_ping).
 */
enum swarm_dpdk_act swarm_dpdk_frame(struct swarm_dpdk *d, uint8_t *f,
				     size_t *len, size_t cap);

/**
 * The next flood ping (next target member, next source member) into f.
 * @retval frame length, or < 0 (no target MAC yet, no room)
 */
int swarm_dpdk_build_ping(struct swarm_dpdk *d, uint8_t *f, size_t cap);

/** ARP request for the flood's first address, from member 0. */
int swarm_dpdk_build_arp(struct swarm_dpdk *d, uint8_t *f, size_t cap);

/** --fail events due at t_ms since start: members stop answering. */
void swarm_dpdk_fail_tick(struct swarm_dpdk *d, uint64_t t_ms,
			  unsigned *done);

struct rte_mempool;

/**
 * One rx burst on port (queue 0): every frame through swarm_dpdk_frame,
 * replies and next pings sent back in their own mbufs, the rest freed.
 * Needs EAL. @retval frames received
 */
uint16_t swarm_dpdk_poll(struct swarm_dpdk *d, uint16_t port);

/** Send fresh flood pings from pool until --flood-window are in flight. */
void swarm_dpdk_fill(struct swarm_dpdk *d, uint16_t port,
		     struct rte_mempool *pool);

/**
 * The whole DPDK run (EAL from cfg->eal, port 0, the loop, the summary).
 * @retval an exit code (SWARM_EXIT_*)
 */
int swarm_dpdk_main(const struct swarm_cfg *cfg);

#endif /* SWARM_DPDK_H_INCLUDED */
