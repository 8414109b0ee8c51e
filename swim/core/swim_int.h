/**
 * @file
 * Private to the core: struct swim and the functions its files share.
 *   swim.c        lifecycle, inbound dispatch, queries, the tick loop
 *   swim_state.c  aliveNode / suspectNode / deadNode / refute
 *   swim_probe.c  probe round, ack and nack handling, indirect relays
 *   swim_send.c   send path (piggyback, compound, compress, CRC),
 *                 output and event queues, gossip
 *   swim_pp.c     join, periodic push/pull, encode and merge
 */
#ifndef SWIM_INT_H_INCLUDED
#define SWIM_INT_H_INCLUDED

#include "swim.h"
#include "swim_awareness.h"
#include "swim_diss.h"
#include "swim_member.h"
#include "swim_timer.h"
#include "swim_wire.h"

/** What a timer belongs to, for dispatch in swim_tick. */
enum swim_timer_kind {
	SWIM_T_PROBE_TICK,	/* every ProbeInterval */
	SWIM_T_PROBE_PHASE,	/* direct ack wait, then indirect deadline */
	SWIM_T_GOSSIP,		/* every GossipInterval */
	SWIM_T_PUSH_PULL,	/* every scaled PushPullInterval */
	SWIM_T_SUSPECT,		/* a member's suspicion runs out */
	SWIM_T_RELAY,		/* an indirect ping we relay times out */
	SWIM_T_DSYNC_UDP,	/* a delta-sync UDP HELLO's answer is late */
};

/** Ack handlers for pings we send on behalf of others, by our seq. */
#define SWIM_RELAY_MAX 1024
/** Grace after the probe deadline for a late TCP ping result. */
#define SWIM_TCP_PING_GRACE_US 100000ull
/** Most parts in one compound packet. */
#define SWIM_MAX_PARTS 255
/** Largest ack payload we keep. */
#define SWIM_ACK_PAYLOAD_MAX 1024
/** User broadcast queue depth (serf's MaxQueueDepth). */
#define SWIM_USER_QUEUE_MAX 4096

/**
 * A running suspicion: only suspect members have one, found by the
 * member's name in swim.suspects (memberlist keeps it in nodeState; here
 * the 250 bytes of confirmations are not paid by every member).
 */
struct swim_suspect_rec {
	struct swim_timer t;		/* first: container_of is a cast */
	struct swim_member *m;
	struct swim_suspicion susp;
};

/** A dead or left member to reap at `at` (GossipToTheDeadTime later). */
struct swim_reap {
	struct swim_member *m;		/* holds a reference */
	uint64_t at;
};

/** Reap entries in time order: the delay is fixed, so a FIFO ring. */
struct swim_reapq {
	struct swim_reap *v;
	uint32_t head;
	uint32_t nb;
	uint32_t cap;
};

struct swim_relay {
	struct swim_timer t;		/* first: container_of is a cast */
	bool active;
	bool nack;			/* requester wants a nack */
	uint32_t seq;			/* our ping's seq */
	uint32_t req_seq;		/* requester's seq */
	struct swim_addr to;		/* requester */
};

enum swim_probe_phase {
	SWIM_PROBE_IDLE,
	SWIM_PROBE_DIRECT,	/* waiting ProbeTimeout for the direct ack */
	SWIM_PROBE_INDIRECT,	/* indirect + TCP, until the deadline */
	SWIM_PROBE_GRACE,	/* deadline passed, TCP result outstanding */
};

/** The probe in flight: a snapshot of the target as memberlist takes it. */
struct swim_probe {
	enum swim_probe_phase phase;
	uint32_t seq;
	uint64_t sent_us;
	uint64_t deadline_us;		/* sent + scaled probe interval */
	char name[SWIM_NAME_MAX + 1];
	uint32_t name_len;
	uint32_t incarnation;
	struct swim_addr addr;
	uint8_t pmax;
	uint32_t expected_nacks;
	uint32_t nacks;
	bool tcp_pending;
	bool tcp_acked;
	bool tick_pending;		/* a tick came while probing */
};

/** A growable byte arena; reset whenever its queue drains. */
struct swim_arena {
	uint8_t *buf;
	size_t used;
	size_t cap;
};

struct swim_out_slot {
	enum swim_output_kind kind;
	struct swim_addr to;
	uint32_t off;
	uint32_t len;
	char node[SWIM_NAME_MAX + 1];
	uint32_t seq_no;
	uint64_t deadline_us;
	bool join;
};

/**
 * A queued event: 24 bytes. A member event points at its member (which
 * it holds a reference on) and snapshots status and incarnation; name,
 * Meta and address are read from the member when popped. USER and PING
 * data (and the USER source, the PING rtt) live in ev_arena.
 */
struct swim_ev_slot {
	struct swim_member *m;		/* NULL for USER */
	uint32_t incarnation;
	uint32_t data_off;
	uint32_t data_len;
	uint8_t kind;			/* enum swim_event_kind */
	uint8_t status;			/* enum swim_status then */
	bool data_nil;
};

/** A ring that doubles when full, up to max slots. */
struct swim_ring {
	void *v;
	uint32_t head;
	uint32_t nb;
	uint32_t cap;
	uint32_t max;
	size_t size;			/* bytes per slot */
};

struct swim {
	struct swim_cfg cfg;
	struct swim_rand rnd;
	struct swim_members mt;
	struct swim_member *self;
	struct swim_timer_heap timers;
	struct swim_awareness aware;
	struct swim_diss bq;		/* memberlist's broadcasts */
	struct swim_diss uq;		/* user (serf) broadcasts, 0x08 prefixed */
	uint32_t seq;
	bool leaving;
	bool started;			/* periodic timers armed */
	uint64_t now;			/* time of the current call */

	struct swim_timer t_probe_tick;
	struct swim_timer t_probe_phase;
	struct swim_timer t_gossip;
	struct swim_timer t_push_pull;
	struct swim_probe probe;
	struct swim_relay *relays;	/* SWIM_RELAY_MAX, by seq */

	uint8_t ack_payload[SWIM_ACK_PAYLOAD_MAX];
	uint32_t ack_payload_len;
	bool ack_payload_set;

	struct swim_ring outq;
	struct swim_arena out_arena;
	uint8_t *out_cur;		/* the popped packet */
	struct swim_ring evq;
	struct swim_arena ev_arena;
	uint8_t *ev_cur;		/* data of the popped event */
	struct swim_member *ev_held;	/* member of the popped event */
	uint64_t events_dropped;	/* out of memory only */

	struct swim_index suspects;	/* name -> swim_suspect_rec */
	struct swim_reapq reapq;

	struct swim_wire_scratch *scratch;
	uint8_t *buf_a;			/* SWIM_UDP_MAX: compound */
	uint8_t *buf_b;			/* SWIM_UDP_MAX: compress, pushes */
	uint8_t *buf_c;			/* SWIM_UDP_MAX: CRC, encode tmp */

	/* the packet being handled */
	const struct swim_addr *pkt_from;
	unsigned pkt_flags;

	struct swim_stats stats;
	/* delta sync's HELLO over UDP (swim_dsync_udp.c), NULL until used */
	struct swim_dsync_udp *dudp;
};

/* swim.c */
void swim_enter(struct swim *s, uint64_t now);
void swim_member_info_fill(const struct swim_member *m,
			   struct swim_member_info *info);
struct swim_member *swim_find_str(const struct swim *s,
				  const struct swim_str *name);
bool swim_addr_from_str(struct swim_addr *a, const struct swim_str *ip,
			uint16_t port);
void swim_self_ping_fields(struct swim *s, struct swim_str *addr,
			   struct swim_str *node, uint16_t *port);
void swim_member_added(struct swim *s, struct swim_member *m);

/* swim_state.c */
void swim_alive_node(struct swim *s, const struct swim_alive *a,
		     bool bootstrap);
void swim_suspect_node(struct swim *s, const struct swim_accuse *sus);
void swim_dead_node(struct swim *s, const struct swim_accuse *d);
void swim_suspect_timeout(struct swim *s, struct swim_member *m);
void swim_reap_run(struct swim *s);
uint64_t swim_reap_next(const struct swim *s);
void swim_reapq_destroy(struct swim *s);
int swim_suspects_init(struct swim *s);
void swim_suspects_destroy(struct swim *s);
void swim_member_forget(struct swim *s, struct swim_member *m);
int swim_queue_msg(struct swim *s, const struct swim_msg *msg,
		   struct swim_member *about, uint32_t flags);
/* swim_diss_encode_f of the memberlist queue: ctx is the swim. */
int swim_bcast_encode(void *ctx, struct swim_bcast **owner, uint8_t kind,
		      uint32_t inc, uint8_t *buf, size_t cap);

/* swim_probe.c */
void swim_probe_tick(struct swim *s);
/** swim_tick's first step: start a probe due within probe_early_us. */
void swim_probe_early(struct swim *s);
void swim_probe_phase_timeout(struct swim *s);
void swim_handle_ping(struct swim *s, const struct swim_ping *p);
void swim_handle_indirect_ping(struct swim *s,
			       const struct swim_indirect_ping *ind);
void swim_handle_ack(struct swim *s, const struct swim_ack *ack);
void swim_handle_nack(struct swim *s, const struct swim_nack *nack);
void swim_relay_timeout(struct swim *s, struct swim_relay *r);
void swim_probe_tcp_result(struct swim *s, uint32_t seq, bool acked);

/* swim_send.c */
int swim_queues_init(struct swim *s);
void swim_queues_destroy(struct swim *s);
void swim_send_msg(struct swim *s, const struct swim_addr *to,
		   const struct swim_msg *msg);
void swim_send_raw(struct swim *s, const struct swim_addr *to,
		   const struct swim_member *node, const uint8_t *buf,
		   size_t len);
void swim_gossip(struct swim *s);
struct swim_out_slot *swim_out_push(struct swim *s,
				    enum swim_output_kind kind,
				    const struct swim_addr *to);
void swim_event_member(struct swim *s, enum swim_event_kind kind,
		       const struct swim_member *m);
void swim_event_push(struct swim *s, const struct swim_event *ev);
/** Drop the queued events' member references (before freeing members). */
void swim_events_release(struct swim *s);

/* swim_pp.c */
void swim_push_pull_tick(struct swim *s);
void swim_push_pull_schedule(struct swim *s, bool first);
/* An encoder with no snapshot slot (swim_pp_enc_start_dsync's leaf set). */
void swim_pp_enc_init(const struct swim *s, struct swim_pp_enc *e, bool join,
		      uint32_t user_state_len);

#endif /* SWIM_INT_H_INCLUDED */
