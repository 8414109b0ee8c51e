/* SPDX-License-Identifier: MIT */
/**
 * @file
 * gossip-swarm's runtime (socket backend): the context shared by the UDP
 * loop (main thread) and the TCP threads (acceptor, stream workers,
 * joiner). Everything in struct swarm is guarded by sw->lock except the
 * atomics and what is marked "main thread only".
 */
#ifndef SWARM_INT_H_INCLUDED
#define SWARM_INT_H_INCLUDED

#include <pthread.h>
#include <stdatomic.h>

#include "swarm.h"
#include "swim_msg.h"
#include "swim_wire.h"

#define SWARM_BURST 64		/* datagrams per recvmmsg / sendmmsg */
#define SWARM_TX_MAX 2048	/* one outgoing datagram, sealed */
#define SWARM_PEND_SIZE 65536	/* seq numbers in flight (power of 2) */
#define SWARM_BQ_SIZE 8192	/* queued broadcasts (power of 2) */
#define SWARM_BMSG_MAX 640	/* one queued broadcast (Meta <= 512) */
#define SWARM_BQ_SENDS 3	/* rounds each broadcast goes out */
#define SWARM_GOSSIP_PKTS 8	/* packets per real node per round */
#define SWARM_TCP_WORKERS 64	/* concurrent streams */

/** Vsn that serf 0.9.4 advertises; every member says the same. */
extern const uint8_t swarm_vsn[SWIM_VSN_LEN];

/** A query being acked by every selected member, a few per turn. */
struct swarm_query_job {
	uint64_t ltime;
	uint32_t id;
	uint32_t ip;		/* querier, host order */
	uint16_t port;
	bool active;
	uint32_t next;		/* next member to ack */
	uint8_t *sel;		/* node-filter bitmap; NULL: everybody */
};

#define SWARM_QJOBS 4

/** A real node of the pool: learnt from push/pull and gossip. */
struct swarm_real {
	char name[SWIM_NAME_MAX];
	uint8_t name_len;
	uint8_t state;		/* enum swim_status */
	uint16_t port;
	uint32_t ip;		/* host order */
	uint32_t inc;
	uint64_t next_probe;	/* run clock, us */
	uint64_t probes, acks, fails;
	uint8_t vsn[SWIM_VSN_LEN];
	uint16_t meta_len;
	uint8_t meta[SWIM_META_MAX];	/* for our push/pull replies */
};

enum swarm_pend_kind {
	SWARM_PEND_FREE = 0,
	SWARM_PEND_PROBE = 1,	/* our probe of a real node */
	SWARM_PEND_RELAY = 2,	/* indirect ping we relay for a requester */
	SWARM_PEND_NACK = 3,	/* nack due for a silent virtual target */
};

/** A sequence number in flight, in slot seq & (SWARM_PEND_SIZE - 1). */
struct swarm_pend {
	uint64_t t_sent;
	uint32_t seq;
	uint32_t member;	/* the virtual member speaking */
	uint32_t req_seq;	/* relay / nack: the requester's SeqNo */
	uint32_t req_ip;	/* relay / nack: where the answer goes */
	uint16_t req_port;
	uint16_t real;		/* probe: index in sw->real */
	uint8_t kind;		/* enum swarm_pend_kind */
	uint8_t stage;		/* 0 before ProbeTimeout, 1 after */
	bool acked;
	bool want_nack;
};

/** A broadcast waiting for gossip rounds. */
struct swarm_bmsg {
	uint16_t len;
	uint8_t sends;
	uint8_t buf[SWARM_BMSG_MAX];
};

/** One datagram waiting for sendmmsg (main thread only). */
struct swarm_tx {
	uint32_t src_ip, dst_ip;	/* host order */
	uint16_t dst_port;
	uint16_t len;
	uint8_t buf[SWARM_TX_MAX];
};

struct swarm_delta;	/* swarm_delta.c: gossipd's delta sync */

struct swarm_stats {
	uint64_t pings_in, acks_out, probes_out, acks_in;
	uint64_t nacks_in, nacks_out, indirect_in, indirect_out;
	uint64_t pkts_in, pkts_out, bytes_in, bytes_out;
	uint64_t dropped, bad_in, send_err;
	uint64_t suspect_seen, dead_seen;	/* about virtual members */
	uint64_t fp_suspect, fp_dead, refutes;
	uint64_t probe_fail;			/* our probes of real nodes */
	uint64_t pp_in, pp_out, tcp_ping_in, stream_err;
	uint64_t joins, leaves, bq_drop, queries;
	uint64_t delta_in;			/* delta exchanges answered */
};

struct swarm {
	struct swarm_cfg cfg;
	struct swarm_map map;
	struct swarm_member *m;
	struct swarm_delta *delta;	/* NULL: --no-delta-sync */
	pthread_mutex_t lock;
	struct swim_keyring *ring;	/* NULL: plaintext pool */
	uint8_t meta[SWIM_META_MAX];
	uint32_t meta_len;
	int udp[16];
	unsigned nb_udp;
	int tcp_fd;
	int epfd;
	uint64_t t0;			/* CLOCK_MONOTONIC us at start */
	uint64_t now;			/* run clock, us since t0 */
	uint64_t rng;
	struct swarm_real real[SWARM_REAL_MAX];
	unsigned nb_real;
	struct swarm_pend *pend;
	uint32_t next_seq;
	uint32_t seq_timeout;		/* next seq to pass ProbeTimeout */
	uint32_t seq_final;		/* next seq to pass ProbeInterval */
	struct swarm_bmsg *bq;
	uint32_t bq_head, bq_tail;
	struct swarm_fail *fails;	/* injected failures */
	uint32_t nb_fails, cap_fails;
	uint64_t *seen_suspect;		/* [fail * SWARM_REAL_MAX + real] */
	uint64_t *seen_dead;
	unsigned fail_ev_done;		/* --fail events applied */
	uint64_t ltime;			/* Serf member clock */
	uint32_t n_alive;		/* members the pool should list */
	uint32_t n_joined;		/* members the joiner has handed out */
	uint32_t pool_max;		/* largest pool size seen (n) */
	uint64_t t_join_done;		/* run clock, 0 while joining */
	struct { uint64_t ltime; uint32_t id; } qseen[128]; /* answered */
	unsigned qseen_next;
	struct swarm_query_job qjobs[SWARM_QJOBS];
	unsigned qjob_next;
	uint64_t qjob_last;
	double churn_acc;
	uint64_t last_scn;		/* last scenario tick */
	uint64_t next_gossip, next_progress, next_tick;
	uint32_t leave_pos;		/* leave phase: next member */
	uint64_t leave_next, leave_end;	/* leave phase times */
	int leave_phase;		/* 0 no, 1 leaving, 2 lingering */
	struct swarm_stats st, st_prev;
	atomic_bool stop;		/* signal or --duration */
	atomic_bool joiner_done;
	atomic_bool down;		/* TCP threads must end */
	atomic_int workers;		/* TCP workers running */
	pthread_t acceptor, joiner;
	bool threads_up;
	/* main thread only */
	struct swarm_tx *tx;
	unsigned nb_tx;
	uint8_t *rx;			/* SWARM_BURST x SWIM_UDP_MAX */
	uint8_t *plain;			/* decrypted datagram */
	struct swim_wire_scratch scratch;
};

/* swarm_util.c */
uint64_t swarm_clock_us(void);
uint64_t swarm_rand(struct swarm *sw);
/** Uniform in (0, 1]. */
double swarm_rand01(struct swarm *sw);
/** A random member in state ALIVE (bounded tries), or UINT32_MAX. */
uint32_t swarm_pick_alive(struct swarm *sw);
/** Encode alive about member i. @retval bytes or < 0 */
int swarm_enc_alive(struct swarm *sw, uint32_t i, uint8_t *out, size_t cap);
/** Encode suspect (3) / dead (5) about member i from member `from`. */
int swarm_enc_accuse(struct swarm *sw, enum swim_msg_type type, uint32_t i,
		     uint32_t from, uint8_t *out, size_t cap);
/** 08 + Serf join (1) or leave (0) intent about member i. */
int swarm_enc_intent(struct swarm *sw, bool join, uint32_t i, uint8_t *out,
		     size_t cap);
/** Real node index of ip:port, or -1. */
int swarm_real_find(const struct swarm *sw, uint32_t ip, uint16_t port);
/** Index of a real node by name, or -1. */
int swarm_real_by_name(const struct swarm *sw, const uint8_t *name,
		       size_t len);
/** Learn or update a real node. @retval its index or -1 when full. */
int swarm_real_upsert(struct swarm *sw, const struct swim_str *name,
		      const struct swim_str *addr, uint16_t port,
		      uint32_t inc, enum swim_status st,
		      const struct swim_str *meta, const struct swim_str *vsn);

/* swarm_udp.c */
int swarm_udp_open(struct swarm *sw);
/** Queue a datagram (sealed when keyed); flushes when the batch fills. */
void swarm_send(struct swarm *sw, uint32_t src_ip, uint32_t dst_ip,
		uint16_t dst_port, const uint8_t *buf, size_t len);
/** Encode msg and send it. */
void swarm_send_msg(struct swarm *sw, uint32_t src_ip, uint32_t dst_ip,
		    uint16_t dst_port, const struct swim_msg *msg);
void swarm_flush(struct swarm *sw);
/** Read and handle what is waiting on the UDP sockets (budgeted). */
void swarm_udp_poll(struct swarm *sw, int timeout_ms);

/* swarm_proto.c */
/** Handle one decrypted datagram sent to dst_ip (a virtual address). */
void swarm_on_packet(struct swarm *sw, uint32_t src_ip, uint16_t src_port,
		     uint32_t dst_ip, const uint8_t *buf, size_t len);
/** Probe the real nodes that are due; expire pending seqs. */
void swarm_probe_tick(struct swarm *sw);

/* swarm_gossip.c */
/** Queue a broadcast for the next gossip rounds. */
void swarm_bq_push(struct swarm *sw, const uint8_t *buf, int len);
void swarm_bq_alive(struct swarm *sw, uint32_t i);
void swarm_gossip_tick(struct swarm *sw);
/** Send msg with pending broadcasts piggybacked (a compound). */
void swarm_send_piggy(struct swarm *sw, uint32_t src_ip, uint32_t ip,
		      uint16_t port, const struct swim_msg *msg);
/** --fail events, the failure simulation, flaps and churn. */
void swarm_scenario_tick(struct swarm *sw);
/** Record a claim from real node r about injected failure member i. */
void swarm_fail_seen(struct swarm *sw, uint32_t i, int r, bool is_dead);
/** Leave phase; @retval true when the run may end. */
bool swarm_leave_tick(struct swarm *sw);

/* swarm_serf.c */
/** A Serf message (after the 0x08 user type): intents, queries. */
void swarm_on_serf(struct swarm *sw, const uint8_t *buf, size_t len);
/** Send the paced query acks that are due. */
void swarm_query_tick(struct swarm *sw);

/* swarm_tcp.c, swarm_pp.c */
int swarm_tcp_start(struct swarm *sw);
void swarm_tcp_stop(struct swarm *sw);
/** Our push/pull message: type 6, header, nodes, Serf user state. */
int swarm_pp_encode(struct swarm *sw, bool join, uint32_t first,
		    uint32_t count, bool all, uint8_t **out, size_t *len);
/** Merge a push/pull message (type byte first); *join gets its flag. */
int swarm_pp_merge(struct swarm *sw, const uint8_t *buf, size_t len,
		   bool *join);
/** Read one stream message; plaintext, decompressed, malloc'd. */
int swarm_stream_read(struct swarm *sw, int fd, uint8_t **out,
		      size_t *len);
/** swarm_stream_read for a member's inbound stream: *is_chunked says
 * it came as chunks (docs/sealed-stream.md), to be answered in kind. */
int swarm_stream_read_ex(struct swarm *sw, int fd, uint8_t **out,
			 size_t *len, bool *is_chunked);
/** Read the rest of a chunked sealed stream whose first bytes are
 * first; the whole plaintext into *out (malloc'ed). @retval 0 or -1. */
int swarm_sealed_read(struct swarm *sw, int fd, const uint8_t *first,
		      size_t first_len, bool is_reply, uint8_t **out,
		      size_t *len);
/** Write buf as a chunked sealed stream. @retval 0 or -1. */
int swarm_sealed_write(struct swarm *sw, int fd, const uint8_t *buf,
		       size_t len, bool is_reply);
/** Send all of buf on a blocking stream socket. @retval 0 or -1. */
int swarm_write_all(int fd, const uint8_t *buf, size_t len);
int swarm_stream_write(struct swarm *sw, int fd, const uint8_t *buf,
		       size_t len);

/* swarm_pp.c: what the pool says about member m (alive, suspect, ...) */
enum swim_status swarm_pp_status(const struct swarm_member *m);
/** One member's / real node's pushNodeState at p. @retval end or NULL */
uint8_t *swarm_pp_member(struct swarm *sw, uint32_t i, uint8_t *p,
			 uint8_t *end);
uint8_t *swarm_pp_real(const struct swarm_real *x, uint8_t *p, uint8_t *end);

/* swarm_delta.c: gossipd's delta sync (swim_dsync.h), as responder */
int swarm_delta_init(struct swarm *sw);
void swarm_delta_free(struct swarm *sw);
/** Member i changed from *old (state, incarnation): fix the digests. */
void swarm_delta_touch(struct swarm *sw, uint32_t i,
		       const struct swarm_member *old);
/** Root digest and counted members now (real nodes re-hashed). */
uint64_t swarm_delta_root(struct swarm *sw, uint32_t *count);
/** Leaf digest at bits (8..16) as gossipd folds it. */
uint64_t swarm_delta_leaf(const struct swarm *sw, unsigned bits,
			  uint32_t leaf);
/** Our push/pull of the leaves in set (bitmap at bits), no user state. */
int swarm_pp_encode_leaves(struct swarm *sw, unsigned bits,
			   const uint64_t *set, uint8_t **out, size_t *len);
/** A delta-sync UDP HELLO (bare or CRC-wrapped) from src to member dst:
 * answered (or counted bad). @retval true: it was one, false: not. */
bool swarm_delta_udp(struct swarm *sw, uint32_t src_ip, uint16_t src_port,
		     uint32_t dst_ip, const uint8_t *buf, size_t len);
/** Answer a delta exchange whose first message (HELLO) is msg. */
void swarm_delta_serve(struct swarm *sw, int fd, const uint8_t *msg,
		       size_t len);

/* swarm_flood.c: --flood on the socket backend. @retval exit code */
int swarm_flood_main(const struct swarm_cfg *cfg);

/* swarm_stats.c */
void swarm_progress(struct swarm *sw);
int swarm_json(struct swarm *sw, const char *path);

#endif /* SWARM_INT_H_INCLUDED */
