/**
 * @file
 * The SWIM + Lifeguard protocol core, with HashiCorp memberlist's semantics.
 *
 * Pure: no sockets, threads, clock reads or global state. The caller feeds
 * it packets and the time, and pulls out what to send and what changed:
 *
 *   swim_on_packet(s, now_us, from, bytes, len, flags);   inbound UDP
 *   swim_tick(s, now_us);                                  timers
 *   while (swim_pop_output(s, &out)) send(out);            outbound
 *   while (swim_pop_event(s, &ev)) notify(ev);             membership
 *   sleep until swim_next_deadline(s);
 *
 * TCP work (push/pull, the fallback ping) is requested as outputs; the I/O
 * layer runs the exchange and reports back with swim_push_pull_* and
 * swim_on_tcp_ping_result. Randomness comes from a PRNG seeded by cfg.
 */
#ifndef SWIM_H_INCLUDED
#define SWIM_H_INCLUDED

#include "swim_msg.h"

struct swim;
struct swim_dsync;

/** memberlist's Config, the fields the protocol uses; times in µs. */
struct swim_cfg {
	char name[SWIM_NAME_MAX + 1];	/* this node's unique name */
	struct swim_addr addr;		/* advertised address */
	uint8_t meta[SWIM_META_MAX];	/* node meta (serf tags) */
	uint32_t meta_len;
	uint8_t vsn[SWIM_VSN_LEN];	/* advertised protocol versions */
	/* Capability byte sent as Vsn[6] (swim_dsync.h); 0: send serf's 6 */
	uint8_t vsn_caps;

	uint64_t probe_interval_us;		/* ProbeInterval */
	uint64_t probe_timeout_us;		/* ProbeTimeout */
	/*
	 * gossipd: a probe due within this much may start early, on a
	 * wakeup the node has anyway (swim_tick called for a packet). The
	 * ticker's grid stays, so the rate is memberlist's and every probe
	 * starts at or before its tick; an idle node saves the probe's own
	 * wakeup whenever a ping of a peer comes shortly before it. 0: a
	 * fixed ticker, as memberlist (every profile's default).
	 */
	uint64_t probe_early_us;
	uint64_t gossip_interval_us;		/* GossipInterval */
	uint32_t gossip_nodes;			/* GossipNodes */
	uint64_t gossip_to_the_dead_time_us;	/* GossipToTheDeadTime */
	uint32_t retransmit_mult;		/* RetransmitMult */
	uint32_t suspicion_mult;		/* SuspicionMult */
	uint32_t suspicion_max_timeout_mult;	/* SuspicionMaxTimeoutMult */
	uint32_t indirect_checks;		/* IndirectChecks */
	uint32_t awareness_max_multiplier;	/* AwarenessMaxMultiplier */
	uint64_t push_pull_interval_us;		/* PushPullInterval; 0 = off */
	uint64_t tcp_timeout_us;		/* TCPTimeout */
	uint64_t dead_node_reclaim_time_us;	/* DeadNodeReclaimTime; 0 = never */
	uint32_t udp_buffer_size;		/* UDPBufferSize */
	/* Most broadcasts in memberlist's queue, 0 = no bound (memberlist
	 * has none; serf bounds its own queues with MaxQueueDepth): when
	 * full, the one with the most transmits goes (Prune's order). */
	uint32_t max_queue_depth;
	/*
	 * EncryptionEnabled() && GossipVerifyOutgoing: the I/O layer seals
	 * every packet after it leaves the core, so piggyback leaves
	 * SWIM_ENCRYPT_OVERHEAD bytes of UDPBufferSize for the seal.
	 */
	bool is_encrypted;
	bool enable_compression;		/* EnableCompression */
	bool disable_tcp_pings;			/* DisableTcpPings */
	uint64_t seed;				/* PRNG seed */
};

/**
 * memberlist's encryptOverhead(1): what sealing adds to a UDP packet
 * (version byte 1 + nonce 12 + GCM tag 16). Version 1 is the only one we
 * seal, and the one memberlist picks at protocol version 2 and up.
 */
#define SWIM_ENCRYPT_OVERHEAD 29

/** swim_cfg.max_queue_depth of every profile (swim_cfg.c says why). */
#define SWIM_DEFAULT_QUEUE_DEPTH 1024

/** memberlist profiles: DefaultLANConfig, DefaultWANConfig, DefaultLocalConfig. */
void swim_cfg_default_lan(struct swim_cfg *cfg);
void swim_cfg_default_wan(struct swim_cfg *cfg);
void swim_cfg_default_local(struct swim_cfg *cfg);
/** Pick a profile by name ("lan", "wan", "local"). @retval 0 or -1. */
int swim_cfg_default_profile(struct swim_cfg *cfg, const char *profile);

/**
 * Create a core. The node is alive at incarnation 1 and knows only itself;
 * like memberlist, a SWIM_EV_JOIN for the local node is queued, and its
 * own alive is queued for gossip. Timers start at the first call that
 * passes a time (swim_next_deadline is 0 until then).
 * @retval the core, or NULL with a static reason in *err.
 */
struct swim *swim_new(const struct swim_cfg *cfg, const char **err);
void swim_delete(struct swim *s);

/** Flags for swim_on_packet. */
enum {
	/** The dataplane already acked the pings to us in this packet. */
	SWIM_PKT_PINGS_ANSWERED = 1u << 0,
};

/**
 * Handle one inbound UDP packet (already decrypted): CRC, compound and
 * compressed parts are unpacked here. Malformed packets are counted and
 * dropped. buf is not kept after the call returns.
 */
void swim_on_packet(struct swim *s, uint64_t now_us,
		    const struct swim_addr *from, const uint8_t *buf,
		    size_t len, unsigned flags);

/** Run every timer due at now_us: probes, gossip, suspicion, push/pull. */
void swim_tick(struct swim *s, uint64_t now_us);

/** The earliest time swim_tick has work to do. */
uint64_t swim_next_deadline(const struct swim *s);

/* --- outputs --- */

enum swim_output_kind {
	SWIM_OUT_PACKET,	/* send data as one UDP datagram to `to` */
	SWIM_OUT_TCP_PING,	/* TCP fallback ping: see swim_on_tcp_ping_result */
	SWIM_OUT_PUSH_PULL,	/* TCP push/pull with `to`: see swim_push_pull_* */
};

struct swim_output {
	enum swim_output_kind kind;
	struct swim_addr to;
	/* SWIM_OUT_PACKET: the datagram, valid until the next pop. */
	const uint8_t *data;
	size_t len;
	/* SWIM_OUT_TCP_PING: ping `node` with `seq_no` before deadline_us. */
	char node[SWIM_NAME_MAX + 1];
	uint32_t seq_no;
	uint64_t deadline_us;
	/* SWIM_OUT_PUSH_PULL: a join (true) or periodic sync (false). */
	bool join;
};

/** Pop the next output. @retval false when there is none. */
bool swim_pop_output(struct swim *s, struct swim_output *out);

/* --- membership events --- */

enum swim_event_kind {
	SWIM_EV_JOIN,		/* a member became alive (new, or back from dead/left) */
	SWIM_EV_UPDATE,		/* an alive member's meta changed */
	SWIM_EV_SUSPECT,	/* a member became suspect */
	SWIM_EV_LEAVE,		/* a member became dead (failed) or left */
	SWIM_EV_USER,		/* a user message (serf payload) arrived */
	SWIM_EV_PING,		/* a probe we sent was acked: rtt and ack payload */
	SWIM_EV_COUNT,
};

/** A member of the core's table, opaque outside the core. */
struct swim_member;

/** A read-only view of one member. Slices stay valid until the next call. */
struct swim_member_info {
	struct swim_str name;
	struct swim_addr addr;
	uint32_t incarnation;
	enum swim_status status;
	struct swim_str meta;
	uint8_t vsn[SWIM_VSN_LEN];
	uint8_t caps;			/* Vsn[6] heard (swim_dsync.h), or 0 */
	uint64_t state_change_us;
	bool is_self;
	/* The member itself, for swim_member_hold (NULL from fakes). */
	const struct swim_member *handle;
};

/*
 * A queued event points at its member (nothing is copied, so a merge of
 * any size queues every event): member.status and .incarnation are as
 * they were when the event happened, the other fields as the member is
 * when the event is popped.
 */
struct swim_event {
	enum swim_event_kind kind;
	struct swim_member_info member;	/* all kinds except SWIM_EV_USER */
	struct swim_str data;		/* USER: payload; PING: ack payload */
	struct swim_addr from;		/* USER: packet source */
	uint64_t rtt_us;		/* PING */
};

/** Pop the next event. @retval false when there is none. */
bool swim_pop_event(struct swim *s, struct swim_event *ev);

/* --- TCP exchanges run by the I/O layer --- */

/** The outcome of a SWIM_OUT_TCP_PING: acked (true) or failed. */
void swim_on_tcp_ping_result(struct swim *s, uint64_t now_us, uint32_t seq_no,
			     bool acked);

/**
 * Encode our side of a push/pull: header + every member's pushNodeState,
 * followed by user_state (the Serf delegate state, may be empty).
 * @retval bytes written; if > cap nothing useful was written and the
 *         caller retries with a buffer of the returned size.
 */
size_t swim_push_pull_encode(struct swim *s, bool join,
			     const uint8_t *user_state, size_t user_state_len,
			     uint8_t *out, size_t cap);

/**
 * Merge a peer's push/pull (the plain, decompressed stream bytes starting
 * at the type byte 6) with memberlist's rules.
 * @retval bytes consumed (> 0) with *user_state pointing into buf,
 *         SWIM_WIRE_E_AGAIN when buf is incomplete, or another < 0 error.
 */
int swim_push_pull_merge(struct swim *s, uint64_t now_us, const uint8_t *buf,
			 size_t len, struct swim_str *user_state);

/**
 * swim_push_pull_merge's error when the peer's protocol versions are
 * incompatible with the cluster's (memberlist's verifyProtocol, doc §9.2).
 * Below every enum swim_wire_err value.
 */
#define SWIM_E_PROTO_VERSION (-100)

/* --- streamed push/pull: any size, bounded memory, sliced work --- */

/** Largest single piece (header or node map) the stream decoder takes. */
#define SWIM_PP_PIECE_MAX 16384
/** Most node maps a streamed push/pull may announce (we never allocate
 * by the count; this only bounds a lie). */
#define SWIM_PP_STREAM_NODES_MAX (1u << 24)

/**
 * Encoder of our push/pull, a slice at a time: a cursor over the member
 * table that writes whole pieces into a fixed buffer the caller drains
 * into the socket. The header's Nodes is fixed at start; if the table
 * shrinks meanwhile the missing tail is made up with our own entry (a
 * duplicate merges as a no-op). The cursor walks the name index, which
 * status changes do not reorder; only a member removed (reaped) or the
 * index doubling (many members added) during the stream can make it
 * send a member twice (harmless) or miss one until the next sync.
 */
struct swim_pp_enc {
	uint32_t nb_nodes;		/* Nodes in the header */
	uint32_t next;			/* node maps written so far */
	uint32_t pos;			/* cursor in the table's name index */
	uint32_t user_state_len;	/* UserStateLen in the header */
	bool join;
	bool header_done;
	/* Restricted to a delta-sync leaf set (swim_pp_enc_start_dsync in
	 * swim_dsync.h), or NULL. Its cursor, in (leaf, name hash) order:
	 * the leaf, pos 1 once one of its members was sent, and that
	 * member's name hash in home (high 32 bits) and run (low 32). */
	const struct swim_dsync *dsync;
	uint32_t leaf;
	uint32_t home;
	uint32_t run;
	/* A full one walks a snapshot (swim_pp.c): its mark slot + 1 (0:
	 * none, the unmarked walk), whether this pass over the index emitted,
	 * passes in a row that emitted nothing, creations at start, and
	 * pad: the snapshot is out, self pads the count. */
	uint8_t slot;
	bool pass_any;
	uint8_t dry;
	bool pad;
	uint32_t adds;
};

void swim_pp_enc_start(const struct swim *s, struct swim_pp_enc *e,
		       bool join, uint32_t user_state_len);

/**
 * swim_pp_enc_next's "nothing yet": a pass over the index used its slot
 * budget without finding a member to send; call again (not an error).
 */
#define SWIM_E_AGAIN (-101)

/**
 * Release an encoder (done or not: a dropped stream). Its members are
 * sent exactly once from a snapshot taken at start: every member present
 * then and still present is sent once, members created later never,
 * removed ones at most once (then self pads the count). An encoder
 * stopped early costs one walk of the table here (O(1) if it sent
 * nothing and no member was created since its start). Idempotent.
 */
void swim_pp_enc_end(const struct swim *s, struct swim_pp_enc *e);

/**
 * Append the next whole pieces (type byte 6 and header first, then node
 * maps) to out, up to cap bytes and at most max_nodes node maps.
 * @retval bytes written; 0 once every node map is out (the caller then
 *         sends user_state_len bytes of user state); SWIM_WIRE_E_NOSPACE
 *         when cap cannot hold one piece; SWIM_E_AGAIN (see above).
 */
int swim_pp_enc_next(const struct swim *s, struct swim_pp_enc *e,
		     uint8_t *out, size_t cap, uint32_t max_nodes);

enum swim_pp_dec_phase {
	SWIM_PP_DEC_HEADER,	/* type byte and header not in yet */
	SWIM_PP_DEC_NODES,	/* node maps: each merged as it completes */
	SWIM_PP_DEC_USER,	/* nodes done: hdr.user_state_len raw bytes */
};

/**
 * Decoder of a peer's plain push/pull straight from the socket into the
 * table. The protocol-version check (verifyProtocol) runs per node
 * against our table's window, computed at start; the first incompatible
 * node stops the stream (nodes merged before it stay merged: each is a
 * valid claim on its own, as if gossiped).
 */
struct swim_pp_dec {
	enum swim_pp_dec_phase phase;
	struct swim_push_pull_header hdr;
	uint32_t nodes_done;		/* node maps merged */
	uint8_t win[4];			/* local max PMin, min PMax, DMin, DMax */
	uint8_t cur[4];			/* local lo/hi PCur, lo/hi DCur */
};

void swim_pp_dec_start(const struct swim *s, struct swim_pp_dec *d);

/**
 * Consume whole pieces from buf (the stream bytes not consumed yet):
 * the header, then node maps, each merged at once, at most max_nodes.
 * Stops at an incomplete piece, and at the end of the node maps (phase
 * SWIM_PP_DEC_USER: the user state is the caller's).
 * @retval bytes consumed (0: need more bytes), or < 0: a swim_wire_err
 *         (SWIM_WIRE_E_LENGTH for a lying count or a piece larger than
 *         SWIM_PP_PIECE_MAX), SWIM_E_PROTO_VERSION.
 */
int swim_pp_dec_next(struct swim *s, uint64_t now_us, struct swim_pp_dec *d,
		     const uint8_t *buf, size_t len, uint32_t max_nodes);

/** A requested push/pull failed (connect, timeout, bad reply). */
void swim_push_pull_failed(struct swim *s, uint64_t now_us,
			   const struct swim_addr *to, bool join);

/* --- local actions --- */

/** Queue join push/pulls to nb seeds (SWIM_OUT_PUSH_PULL with join). */
void swim_join(struct swim *s, uint64_t now_us, const struct swim_addr *seeds,
	       unsigned nb);

/** Graceful leave: broadcast dead{From: self}; stop probing. */
void swim_leave(struct swim *s, uint64_t now_us);

/** True once no leave broadcast is still waiting to be sent. */
bool swim_leave_done(const struct swim *s);

/** New meta (serf tags): incarnation + 1, alive broadcast. @retval 0 or -1. */
int swim_set_meta(struct swim *s, uint64_t now_us, const uint8_t *meta,
		  size_t len);

/** The payload we put in acks we send (serf: 01 + Vivaldi coordinate). */
void swim_set_ack_payload(struct swim *s, const uint8_t *data, size_t len);

/**
 * Queue a user message (a Serf message, without the 0x08 prefix) for
 * piggybacked gossip with the retransmit limit. @retval 0 or -1.
 */
int swim_broadcast_user(struct swim *s, const uint8_t *data, size_t len);

/** Send a user message (without 0x08) straight to one address over UDP. */
void swim_send_user(struct swim *s, const struct swim_addr *to,
		    const uint8_t *data, size_t len);

/**
 * Fill buf with piggyback parts for an ack the dataplane builds itself:
 * broadcasts that fit in cap bytes, each counted as one transmit.
 * @retval bytes of compound parts (each <u16 len BE><part>), 0 if none.
 */
size_t swim_take_piggyback(struct swim *s, uint8_t *buf, size_t cap,
			   unsigned *nb_parts);

/* --- queries --- */

/** Number of members in the table, any status, self included. */
uint32_t swim_member_count(const struct swim *s);
/** Members that are alive or suspect, self included. */
uint32_t swim_member_count_alive(const struct swim *s);
/** Members with status st, self included (0 for an unknown status). */
uint32_t swim_member_count_status(const struct swim *s, enum swim_status st);

/** Look a member up by name. @retval 0 and *info, or -1. */
int swim_member_find(const struct swim *s, const char *name, size_t len,
		     struct swim_member_info *info);

/**
 * Keep a member's record readable after the core forgets it: the Serf
 * layer keeps failed and left members for a day and reads their name,
 * address, versions and Meta from the core's record instead of a copy.
 * Reference counting only; a record the core removed is freed at the
 * last release. @retval false when it cannot be held (do not keep it).
 */
bool swim_member_hold(const struct swim_member *m);
void swim_member_release(const struct swim_member *m);
/** The member as it is now (or was when the core removed it). */
void swim_member_view(const struct swim_member *m,
		      struct swim_member_info *info);
const char *swim_member_name(const struct swim_member *m, size_t *len);

/**
 * A member's capability byte (Vsn[6]), found by name or, when name is
 * NULL or empty, by address (a join to an address: O(n), as the
 * push/pull it serves). @retval the byte, or -1 when unknown.
 */
int swim_member_caps(const struct swim *s, const char *name,
		     const struct swim_addr *to);

/** Visit every member. Stops early when f returns non-zero. */
typedef int (*swim_member_visit_f)(void *ctx,
				   const struct swim_member_info *m);
void swim_member_foreach(const struct swim *s, swim_member_visit_f f,
			 void *ctx);

/** Our incarnation, name and awareness (local health) score. */
uint32_t swim_self_incarnation(const struct swim *s);
const char *swim_self_name(const struct swim *s);
uint32_t swim_awareness_score(const struct swim *s);

/** Counters of the core, for `info` and tests. */
struct swim_stats {
	uint64_t packets_in;
	uint64_t packets_bad;		/* malformed packets dropped */
	uint64_t msgs_in;
	uint64_t msgs_unknown;		/* unknown types dropped */
	uint64_t msgs_invalid;		/* well-formed but insane (alive without a
					   name or address, bad Vsn): dropped */
	uint64_t packets_out;
	uint64_t probes;
	uint64_t probes_early;	/* of them, started early (probe_early_us) */
	uint64_t probes_failed;
	uint64_t indirect_probes;
	uint64_t refutes;
	uint64_t push_pulls;
	uint64_t events_dropped;	/* events lost: out of memory only */
	uint64_t bcasts_dropped;	/* broadcasts dropped: queue depth
					   (max_queue_depth) or memory */
	uint64_t pp_fallbacks;		/* streamed push/pulls that found
					   every snapshot slot busy and
					   walked the table unmarked */
};
void swim_get_stats(const struct swim *s, struct swim_stats *st);

/** Current broadcast queue depths: memberlist's plus the user queue's. */
uint32_t swim_broadcast_queue_len(const struct swim *s);

#endif /* SWIM_H_INCLUDED */
