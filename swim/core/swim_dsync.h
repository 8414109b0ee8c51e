/**
 * @file
 * Delta sync: anti-entropy between gossipd peers that sends only what
 * differs, in place of memberlist's periodic full push/pull (which stays
 * for memberlist peers). Pure, like the rest of swim/: the I/O layer
 * (control) runs the TCP stream, the timers and the peer choice. The
 * protocol and its bytes are in docs/delta-sync.md; in short:
 *
 *   initiator                         responder
 *   HELLO {root, count, bits}  ---->
 *                              <----  INSYNC            (roots equal: done)
 *                              <----  GROUPS {256 group digests}
 *   LEAVES {leaf digests of the
 *           groups that differ} ---->
 *                              <----  MEMBERS {(name hash, digest) of
 *                                      its members of the differing
 *                                      leaves}          (1..n parts)
 *   WANT {name hashes whose
 *         digests differ}      ---->                    (one per part)
 *   push/pull of those members ---->  (memberlist type 6, Join false)
 *                              <----  push/pull of those members
 *
 * A HELLO without SWIM_DSYNC_FLAG_MEMBERS (an older peer, or
 * x->leaf_only) gets DIFF {leaf ids that differ} in place of MEMBERS and
 * the push/pulls carry the differing leaves' members (the first version).
 *
 * Capability. A gossipd node with cfg.vsn_caps != 0 advertises a 7-byte
 * Vsn (serf's 6 bytes + this capability byte) in its alive messages and
 * its own push/pull entry. memberlist only ever reads Vsn[0..5] (aliveNode,
 * mergeState, verifyProtocol), so serf accepts it and re-gossips the alive
 * as it came; its own push/pulls carry 6 bytes. The core keeps the byte
 * per member (sticky: a later 6-byte Vsn, e.g. from a serf push/pull,
 * does not clear it) and answers swim_member_dsync_capable() in O(1).
 * A stale capability is harmless: a peer that does not answer HELLO is
 * synced with a full push/pull (the I/O layer's fallback).
 *
 * Digests. Each member's digest is a fixed 64-bit hash of (name,
 * incarnation, status) (swim_dsync_member_digest, exact definition in
 * docs/delta-sync.md). Only alive and suspect members count: dead and
 * left ones are reaped at different times on different nodes, so
 * counting them would keep two otherwise equal tables unequal until
 * both reaped; a member that is live on one side and dead on the other
 * still differs (it counts on one side only). A member's leaf is the low
 * `bits` bits of swim_index_hash(name) (its group: the low 8 bits). The
 * core keeps one XOR per leaf, updated in O(1) on every change
 * (swim_member.c); groups and the root are XORs computed on demand.
 * `bits` grows with the table from 8 (256 leaves, 2 KiB) to 16 (65,536
 * leaves, 512 KiB: 0.5 byte/member at 10^6), one bit each time the
 * counted members pass 4 x leaves (an O(n) rebuild per doubling,
 * amortized O(1)); nothing is stored per member. Two peers agree on
 * min(their bits) in GROUPS.
 *
 * Session. One struct swim_dsync per exchange, driven by
 * swim_dsync_step() with each message the peer sent; it writes the next
 * message to send into the caller's buffer (SWIM_DSYNC_MSG_MAX bytes is
 * always enough; a smaller buffer cuts MEMBERS into more parts).
 * Decoders are bounds-checked and return the exact error codes below; a
 * session that returned an error is over. The member round may take
 * several MEMBERS/WANT turns (each WAIT with a message to send); the
 * initiator's last step returns TRANSFER or IN_SYNC with its last WANT
 * to send, the responder's with nothing.
 *
 * Transfer. Once the step returns SWIM_DSYNC_TRANSFER, each side streams
 * a memberlist push/pull (type 6, Join false) of its members (any
 * status, self included) that differ: after a member round those whose
 * name hash is in x->want (at most SWIM_DSYNC_WANT_MAX an exchange; the
 * rest waits for the next), else every member of the differing leaves:
 * swim_pp_enc_start_dsync() + swim_pp_enc_next(). The receiver uses the ordinary swim_pp_dec_*
 * (a restricted push/pull is an ordinary one with fewer nodes).
 *
 * Stability: this API is a contract with control (dsync-cp) and the
 * simulator. Changes are additive only and are listed here:
 *   member round: SWIM_DSYNC_MSG_MEMBERS/_WANT, SWIM_DSYNC_FLAG_MEMBERS,
 *   struct swim_dsync_members/_want and their decoders, the fields after
 *   peer_root in struct swim_dsync (it grew to about 140 KiB).
 *   HELLO over UDP: SWIM_DSYNC_CAP_UDP (the rest is swim_dsync_udp.h).
 */
#ifndef SWIM_DSYNC_H_INCLUDED
#define SWIM_DSYNC_H_INCLUDED

#include "swim.h"

/** cfg.vsn_caps / Vsn[6] bit: speaks delta sync version 1. */
#define SWIM_DSYNC_CAP_V1 0x01u
/** Vsn[6] bit: answers the HELLO over UDP (swim_dsync_udp.h). */
#define SWIM_DSYNC_CAP_UDP 0x04u
/** Protocol version carried in HELLO. */
#define SWIM_DSYNC_VERSION 1u

/** Leaf bits: 2^bits leaves, 256 groups of 2^(bits - 8) leaves. */
#define SWIM_DSYNC_BITS_MIN 8u
#define SWIM_DSYNC_BITS_MAX 16u
#define SWIM_DSYNC_GROUPS 256u
#define SWIM_DSYNC_LEAVES_MAX (1u << SWIM_DSYNC_BITS_MAX)

/**
 * Message types: the first byte of every message, in a range memberlist
 * never uses (its types are 0..13 and 244), so a stream that reaches a
 * memberlist peer by mistake is refused at once ("invalid msgType").
 */
enum swim_dsync_msg_type {
	SWIM_DSYNC_MSG_HELLO = 0xd0,	/* R1, initiator */
	SWIM_DSYNC_MSG_INSYNC = 0xd1,	/* R2, responder: equal, done */
	SWIM_DSYNC_MSG_GROUPS = 0xd2,	/* R2, responder: 256 digests */
	SWIM_DSYNC_MSG_LEAVES = 0xd3,	/* R3, initiator */
	SWIM_DSYNC_MSG_DIFF = 0xd4,	/* R4, responder */
	SWIM_DSYNC_MSG_ABORT = 0xd5,	/* either side: give up, no more */
	SWIM_DSYNC_MSG_MEMBERS = 0xd6,	/* R4', responder: member digests */
	SWIM_DSYNC_MSG_WANT = 0xd7,	/* R5', initiator: differing names */
};

/** HELLO flags bit: the initiator speaks the member round (MEMBERS/WANT). */
#define SWIM_DSYNC_FLAG_MEMBERS 0x01u
/**
 * Name hashes one exchange's member round transfers at most (both sides
 * stop there; the rest differs still and waits for the next exchange).
 */
#define SWIM_DSYNC_WANT_MAX 16384u

/** Every message: type (1) + body length (u32 BE) + body. */
#define SWIM_DSYNC_HDR_LEN 5u
#define SWIM_DSYNC_HELLO_LEN (SWIM_DSYNC_HDR_LEN + 16u)
#define SWIM_DSYNC_INSYNC_LEN (SWIM_DSYNC_HDR_LEN + 12u)
#define SWIM_DSYNC_GROUPS_LEN (SWIM_DSYNC_HDR_LEN + 1u + 8u * 256u)
#define SWIM_DSYNC_ABORT_LEN (SWIM_DSYNC_HDR_LEN + 1u)
/** LEAVES with every group at 16 bits: the largest message. */
#define SWIM_DSYNC_MSG_MAX (SWIM_DSYNC_HDR_LEN + 3u + \
	SWIM_DSYNC_GROUPS * (1u + 8u * (SWIM_DSYNC_LEAVES_MAX / 256u)))

/** MEMBERS: its fixed body part (bits, flags, nb_leaves, nb_pairs). */
#define SWIM_DSYNC_MEMBERS_MIN (SWIM_DSYNC_HDR_LEN + 10u)
/** WANT with SWIM_DSYNC_WANT_MAX hashes. */
#define SWIM_DSYNC_WANT_LEN_MAX (SWIM_DSYNC_HDR_LEN + 4u + \
	8u * SWIM_DSYNC_WANT_MAX)

/** Errors: below swim_wire_err and SWIM_E_PROTO_VERSION. */
enum swim_dsync_err {
	SWIM_DSYNC_E_TRUNCATED = -201,	/* buffer shorter than the message */
	SWIM_DSYNC_E_TYPE = -202,	/* unknown or unexpected type */
	SWIM_DSYNC_E_LENGTH = -203,	/* body length wrong for its type */
	SWIM_DSYNC_E_VERSION = -204,	/* HELLO of an unknown version */
	SWIM_DSYNC_E_BITS = -205,	/* leaf bits out of 8..16 or not agreed */
	SWIM_DSYNC_E_COUNT = -206,	/* a count that the body contradicts */
	SWIM_DSYNC_E_RANGE = -207,	/* group/leaf id out of range, out of
					   order, or not one that was asked */
	SWIM_DSYNC_E_STATE = -208,	/* session over, or step out of turn */
	SWIM_DSYNC_E_NOSPACE = -209,	/* output buffer too small */
	SWIM_DSYNC_E_ABORTED = -210,	/* the peer sent ABORT */
};

/** Static text of an error (or "ok"/"unknown"). */
const char *swim_dsync_strerror(int err);

/* --- capability --- */

/** Is the member named so delta-sync capable? O(1). False if unknown. */
bool swim_member_dsync_capable(const struct swim *s, const char *name,
			       size_t len);

/* --- digests --- */

/**
 * A member's digest; 0 for dead and left (they do not count). Same on
 * every node: no key, no seed.
 */
uint64_t swim_dsync_member_digest(const char *name, size_t len,
				  uint32_t incarnation, enum swim_status st);
/** A name's leaf at `bits` (8..16): the low bits of swim_index_hash. */
uint32_t swim_dsync_leaf_of(const char *name, size_t len, unsigned bits);

/** XOR of every counted member's digest (independent of bits). */
uint64_t swim_dsync_root(const struct swim *s);
/** Members that count (alive or suspect, self included). */
uint32_t swim_dsync_count(const struct swim *s);
/** Leaf bits the core keeps now (8..16). */
unsigned swim_dsync_bits(const struct swim *s);
/** Digest of group g (0..255). O(2^(bits - 8)). */
uint64_t swim_dsync_group_digest(const struct swim *s, unsigned g);
/**
 * Digest of leaf `leaf` at `bits` <= swim_dsync_bits(s) (folded from
 * the finer leaves). 0 for bad arguments.
 */
uint64_t swim_dsync_leaf_digest(const struct swim *s, unsigned bits,
				uint32_t leaf);
/** Heap bytes of the digest structure. */
size_t swim_dsync_mem_bytes(const struct swim *s);

/* --- messages (encoders return bytes written or an error) --- */

/**
 * Length of the message at the head of buf (header + body) once its
 * header is in: > 0; 0 while fewer than SWIM_DSYNC_HDR_LEN bytes;
 * SWIM_DSYNC_E_TYPE for a first byte that is no delta-sync type;
 * SWIM_DSYNC_E_LENGTH for a body longer than its type allows. Use it to
 * frame the stream before calling swim_dsync_step().
 */
long swim_dsync_msg_len(const uint8_t *buf, size_t len);
/** Is b one of enum swim_dsync_msg_type? (a stream's first byte) */
bool swim_dsync_is_msg_type(uint8_t b);

struct swim_dsync_hello {
	uint8_t version;	/* SWIM_DSYNC_VERSION */
	uint8_t bits;		/* the initiator's leaf bits */
	uint8_t flags;		/* 0; unknown bits are ignored */
	uint32_t count;		/* counted members */
	uint64_t root;
};
int swim_dsync_encode_hello(const struct swim_dsync_hello *h, uint8_t *out,
			    size_t cap);
int swim_dsync_decode_hello(const uint8_t *buf, size_t len,
			    struct swim_dsync_hello *h);

struct swim_dsync_insync {
	uint32_t count;		/* the responder's, for the record */
	uint64_t root;
};
int swim_dsync_encode_insync(const struct swim_dsync_insync *m,
			     uint8_t *out, size_t cap);
int swim_dsync_decode_insync(const uint8_t *buf, size_t len,
			     struct swim_dsync_insync *m);

struct swim_dsync_groups {
	uint8_t bits;		/* agreed: min(initiator's, responder's) */
	uint64_t d[SWIM_DSYNC_GROUPS];
};
int swim_dsync_encode_groups(const struct swim_dsync_groups *m,
			     uint8_t *out, size_t cap);
int swim_dsync_decode_groups(const uint8_t *buf, size_t len,
			     struct swim_dsync_groups *m);

/**
 * LEAVES, decoded in place: nb_groups entries of (group id, then
 * 2^(bits - 8) leaf digests in leaf order), group ids strictly rising.
 */
struct swim_dsync_leaves {
	uint8_t bits;
	uint16_t nb_groups;
	const uint8_t *entries;	/* into the decoded buffer */
};
int swim_dsync_decode_leaves(const uint8_t *buf, size_t len,
			     struct swim_dsync_leaves *m);
/** Entry i (< nb_groups): its group id; digest j of its leaves. */
unsigned swim_dsync_leaves_group(const struct swim_dsync_leaves *m,
				 uint16_t i);
uint64_t swim_dsync_leaves_digest(const struct swim_dsync_leaves *m,
				  uint16_t i, uint32_t j);

/** DIFF, decoded in place: nb_leaves u16 leaf ids, strictly rising. */
struct swim_dsync_diff {
	uint8_t bits;
	uint32_t nb_leaves;
	const uint8_t *ids;
};
int swim_dsync_decode_diff(const uint8_t *buf, size_t len,
			   struct swim_dsync_diff *m);
uint32_t swim_dsync_diff_leaf(const struct swim_dsync_diff *m, uint32_t i);

/**
 * MEMBERS, decoded in place: its leaves (rising, u16) and the
 * (name hash, digest) pairs of its counted members there, ordered by
 * (leaf, name hash) strictly rising, every pair's leaf among the listed.
 * flags bit 0 (more): leaves remain for another MEMBERS after the WANT.
 */
struct swim_dsync_members {
	uint8_t bits;
	uint8_t more;
	uint32_t nb_leaves;
	uint32_t nb_pairs;
	const uint8_t *ids;
	const uint8_t *pairs;
};
int swim_dsync_decode_members(const uint8_t *buf, size_t len,
			      struct swim_dsync_members *m);
uint32_t swim_dsync_members_leaf(const struct swim_dsync_members *m,
				 uint32_t i);
/** Pair i: name hash (returned) and digest (*d). 0 for i out of range. */
uint64_t swim_dsync_members_pair(const struct swim_dsync_members *m,
				 uint32_t i, uint64_t *d);

/** WANT, decoded in place: nb name hashes, strictly rising. */
struct swim_dsync_want {
	uint32_t nb;
	const uint8_t *hashes;
};
int swim_dsync_decode_want(const uint8_t *buf, size_t len,
			   struct swim_dsync_want *m);
uint64_t swim_dsync_want_hash(const struct swim_dsync_want *m, uint32_t i);

/** ABORT reasons (informative). */
enum swim_dsync_abort_reason {
	SWIM_DSYNC_ABORT_BUSY = 1,	/* too many sessions: full push/pull */
	SWIM_DSYNC_ABORT_ERROR = 2,	/* a message we could not accept */
	SWIM_DSYNC_ABORT_DISABLED = 3,	/* delta sync turned off */
};
int swim_dsync_encode_abort(uint8_t reason, uint8_t *out, size_t cap);
int swim_dsync_decode_abort(const uint8_t *buf, size_t len,
			    uint8_t *reason);

/* --- the exchange --- */

enum swim_dsync_role {
	SWIM_DSYNC_INITIATOR,
	SWIM_DSYNC_RESPONDER,
};

/** What swim_dsync_step() asks the caller to do next (> 0). */
enum swim_dsync_status {
	/* Send out[0, *out_len), then read the peer's next message. */
	SWIM_DSYNC_WAIT = 1,
	/* Send out[0, *out_len) if any; tables are equal: done. */
	SWIM_DSYNC_IN_SYNC = 2,
	/* Send out[0, *out_len) if any; then the push/pulls of the
	 * differing members (initiator's first, as memberlist orders a
	 * push/pull): x->want after a member round, else the leaf set. */
	SWIM_DSYNC_TRANSFER = 3,
};

/**
 * One exchange's state (about 140 KiB: the leaf set is a bitmap, the
 * member round's name hashes an array; allocate it, not on a stack).
 */
struct swim_dsync {
	uint8_t role;		/* enum swim_dsync_role */
	uint8_t step;		/* private */
	uint8_t bits;		/* agreed leaf bits, 0 until known */
	uint32_t nb_leaves;	/* leaves in the set */
	uint32_t peer_count;	/* from HELLO or INSYNC */
	uint64_t peer_root;
	uint64_t groups[SWIM_DSYNC_GROUPS / 64];	/* R3's groups */
	uint64_t leaves[SWIM_DSYNC_LEAVES_MAX / 64];	/* the leaf set */
	/* Initiator: set after swim_dsync_start to offer no member round
	 * (then the transfer is by leaf, as with a first-version peer). */
	bool leaf_only;
	uint8_t mode;		/* SWIM_DSYNC_FLAG_* agreed in HELLO */
	bool is_filtered;	/* the transfer is x->want's members */
	uint32_t cursor;	/* member round: first leaf not yet listed */
	uint32_t part_first;	/* responder: first leaf of its last MEMBERS */
	uint32_t nb_want;	/* name hashes in want (sorted at TRANSFER) */
	uint64_t want[SWIM_DSYNC_WANT_MAX];
};

void swim_dsync_start(struct swim_dsync *x, enum swim_dsync_role role);

/**
 * Advance the exchange by one message. The initiator's first call has
 * in == NULL and writes HELLO; every other call takes exactly one whole
 * message (frame it with swim_dsync_msg_len) from the peer. Digests are
 * read from the core at each call (the table may change in between: a
 * change the exchange misses waits for the next one).
 * @retval enum swim_dsync_status, or < 0: enum swim_dsync_err (the
 *         caller may send ABORT, then closes or falls back to a full
 *         push/pull). *out_len is 0 when there is nothing to send.
 */
int swim_dsync_step(const struct swim *s, struct swim_dsync *x,
		    const uint8_t *in, size_t in_len, uint8_t *out,
		    size_t cap, size_t *out_len);

/** Is leaf (at x->bits) in the set? (after a member round: the leaves of
 * x->want's names) */
bool swim_dsync_has_leaf(const struct swim_dsync *x, uint32_t leaf);
/**
 * Members (any status, self included) the transfer sends now: in the
 * set's leaves and, after a member round, named in x->want. O(leaves'
 * members): only their home slots in the name index are looked at (O(n)
 * while an incrementally growing index keeps two tables).
 */
uint32_t swim_dsync_members_in(const struct swim *s,
			       const struct swim_dsync *x);

/**
 * Start a push/pull encoder restricted to x's set (swim_dsync_members_in);
 * then
 * swim_pp_enc_next() as for a full one. x must outlive the encoder.
 * The header's Nodes is the set's member count now (the same make-up
 * rule as the full encoder if the table changes meanwhile).
 */
void swim_pp_enc_start_dsync(const struct swim *s, struct swim_pp_enc *e,
			     bool join, uint32_t user_state_len,
			     const struct swim_dsync *x);

#endif /* SWIM_DSYNC_H_INCLUDED */
