/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The simulator's insides, shared by sim.c (clock, heap, nodes),
 * sim_net.c (filters, UDP, TCP exchanges), sim_view.c (event view,
 * waiters) and sim_report.c. Tests use sim.h only.
 */
#ifndef SIM_PRIV_H_INCLUDED
#define SIM_PRIV_H_INCLUDED

#include "sim.h"

/** What a heap event does when its time comes. */
enum sim_hev_kind {
	SIM_HEV_DELIVER,	/* a UDP packet reaches node */
	SIM_HEV_TICK,		/* node's swim_next_deadline is due */
	SIM_HEV_PUSH_PULL,	/* node (initiator) connects to peer */
	SIM_HEV_PP_FAILED,	/* report a failed push/pull to node */
	SIM_HEV_TCP_PING,	/* report a TCP ping result to node */
	SIM_HEV_JOIN,		/* node joins through peer (staggered joins) */
	SIM_HEV_RECONNECT,	/* Serf's reconnect round over all nodes */
};

/** One heap entry. Ordered by (at_us, seq): seq keeps equal times FIFO. */
struct sim_hev {
	uint64_t at_us;		/* virtual time it fires */
	uint64_t seq;		/* insertion order, tie breaker */
	uint8_t kind;		/* enum sim_hev_kind */
	bool flag;		/* PUSH_PULL/PP_FAILED: join; TCP_PING: acked */
	uint32_t node;		/* receiver / initiator */
	uint32_t peer;		/* sender / responder */
	uint32_t gen;		/* node's generation when scheduled */
	uint32_t seq_no;	/* TCP_PING: the probe's SeqNo */
	uint8_t *pkt;		/* DELIVER: malloc'd datagram, freed on pop */
	uint32_t len;		/* DELIVER: datagram length */
};

/**
 * A layer above each core (the Serf layer, sim_serf.c), run by the
 * simulator beside the core: started after swim_new, stopped before
 * swim_delete, fed every core event, ticked at its own deadline, and
 * given its part of every push/pull. NULL hooks are skipped.
 */
struct sim_layer {
	int (*start)(struct sim *sim, unsigned i);
	void (*stop)(struct sim *sim, unsigned i);
	void (*event)(struct sim *sim, unsigned i, const struct swim_event *ev);
	/* Earliest time tick has work; UINT64_MAX: none. */
	uint64_t (*deadline)(const struct sim *sim, unsigned i);
	void (*tick)(struct sim *sim, unsigned i);
	/* The push/pull user state; > cap: retry with that size. */
	size_t (*state)(struct sim *sim, unsigned i, uint8_t *buf, size_t cap);
	void (*merge)(struct sim *sim, unsigned i, const uint8_t *buf,
		      size_t len, bool join);
	/* i's join push/pull succeeded (Serf: gossip the join intent). */
	void (*joined)(struct sim *sim, unsigned i);
};

/** Push/pull scratch: initiator's stream, responder's, a user state. */
#define SIM_PP_BUFS 3
#define SIM_PP_US 2

/** Members an observer's view has as suspect (a short list). */
struct sim_susp {
	uint32_t *m;
	uint32_t nb;
	uint32_t cap;
};

/** One simulated node. */
struct sim_node {
	struct swim *swim;	/* NULL while killed */
	void *layer_ctx;	/* the layer's state (struct serf *) */
	struct swim_cfg cfg;	/* what swim_new got; reused by restart */
	uint32_t gen;		/* bumped by kill and restart: stale events die */
	uint32_t nb_restarts;	/* feeds the per-node PRNG seed */
	uint64_t sched_us;	/* earliest TICK in the heap, UINT64_MAX: none */
	uint8_t group;		/* partition side */
	bool is_paused;		/* frozen: inputs are held, not processed */
	struct sim_hev *held;	/* inputs that arrived while paused */
	uint32_t nb_held;
	uint32_t cap_held;
};

/** Inputs a paused node holds (its socket buffers); the rest are lost. */
#define SIM_HELD_MAX 4096

struct sim {
	uint64_t seed;		/* run seed, printed by every assertion */
	uint64_t rng;		/* splitmix64 state */
	uint64_t now_us;	/* virtual clock */
	uint64_t next_seq;	/* heap tie breaker */
	unsigned nb_nodes;
	unsigned nb_up;
	struct sim_node *nodes;	/* [nb_nodes] */

	struct sim_hev *heap;	/* binary min-heap */
	size_t heap_len;
	size_t heap_cap;

	/* Filters. */
	unsigned drop_pct;	/* global UDP drop percent */
	uint8_t *link_drop;	/* [from * n + to] percent */
	uint8_t *link_block;	/* [from * n + to] SIM_BLOCK_* */
	uint32_t *link_delay;	/* [from * n + to] extra µs one way */
	uint64_t lat_fixed_us;
	uint64_t lat_jitter_us;
	uint64_t reconnect_us;	/* 0: off */
	uint32_t reconnect_gen;	/* only the latest reconnect chain runs */

	/* What each node's events say it knows: [observer * n + member],
	 * 0 = unknown, else 1 + enum swim_status. */
	uint8_t *view;
	/* [member * SWIM_STATUS_COUNT + status]: up observers != member
	 * whose view has member in that status. */
	uint32_t *seeing;
	/* [observer]: the members of that row in SUSPECT. memberlist emits
	 * no event when a suspect is cleared (suspect -> alive), so these
	 * cells are re-read from the core after each of its steps: a list,
	 * not a row scan, so a step costs O(suspects), not O(n). */
	struct sim_susp *susp;
	bool view_dirty;	/* a view entry changed since the last check */

	sim_event_f hook;
	void *hook_ctx;

	const struct sim_layer *layer;	/* NULL: bare cores */
	sim_sync_f sync_f;		/* NULL: memberlist's push/pull */
	void *sync_ctx;
	void (*sync_free)(void *ctx);	/* frees sync_ctx at sim_delete */

	/* Scratch for push/pull streams, grown on demand. */
	uint8_t *pp_buf[SIM_PP_BUFS];
	size_t pp_cap[SIM_PP_BUFS];
	struct sim_counters cnt;
};

/* sim.c */
void sim_heap_push(struct sim *sim, const struct sim_hev *ev);
void sim_node_drain(struct sim *sim, unsigned i);
uint64_t sim_rand_below(struct sim *sim, uint64_t n);
struct sim *sim_new_layer(unsigned nb_nodes, const struct swim_cfg *tmpl,
			  uint64_t seed, const struct sim_layer *layer);

/* sim_net.c */
void sim_net_output(struct sim *sim, unsigned i, const struct swim_output *o);
void sim_net_deliver(struct sim *sim, struct sim_hev *ev);
void sim_net_push_pull(struct sim *sim, const struct sim_hev *ev);
void sim_net_reconnect(struct sim *sim, const struct sim_hev *ev);
size_t sim_pp_encode(struct sim *sim, unsigned i, bool join, int k);
bool sim_pp_merge(struct sim *sim, unsigned i, int k, size_t len, bool join);
int sim_net_init(struct sim *sim);
void sim_net_fini(struct sim *sim);

/* sim_view.c */
void sim_view_event(struct sim *sim, unsigned node, const struct swim_event *ev);
void sim_view_reset_row(struct sim *sim, unsigned node);
void sim_view_refresh_suspects(struct sim *sim, unsigned node);
void sim_view_node_up(struct sim *sim, unsigned node, bool up);
int sim_view_init(struct sim *sim);
void sim_view_fini(struct sim *sim);

#endif /* SIM_PRIV_H_INCLUDED */
