/**
 * @file
 * Private to the core: what swim_pp.c and the delta-sync files share.
 */
#ifndef SWIM_DSYNC_INT_H_INCLUDED
#define SWIM_DSYNC_INT_H_INCLUDED

#include "swim_dsync.h"
#include "swim_dsync_udp.h"
#include "swim_index.h"
#include "swim_int.h"

/**
 * The next member of e->dsync's leaf set after the cursor, advancing it;
 * NULL at the end. The cursor is (e->leaf, e->home, e->run) for a walk
 * of only the leaves' home slots in the name index, or e->pos (as
 * swim_index_next) for a walk of every entry while the index keeps two
 * tables. Bounds-checked against the index as it is now.
 */
const void *swim_dsync_walk_next(const struct swim_index *ix,
				 struct swim_pp_enc *e);

/* Big-endian fields of every message. */
static inline void
swim_dsync_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void
swim_dsync_put64(uint8_t *p, uint64_t v)
{
	swim_dsync_put32(p, (uint32_t)(v >> 32));
	swim_dsync_put32(p + 4, (uint32_t)v);
}

static inline uint32_t
swim_dsync_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
swim_dsync_get64(const uint8_t *p)
{
	return (uint64_t)swim_dsync_get32(p) << 32 | swim_dsync_get32(p + 4);
}

/*
 * A fixed-size message's layout: its type, body length and fields in
 * order, each a kind and the offset of its member in the decoded struct.
 * One encoder and one decoder serve HELLO, INSYNC, ABORT and the two
 * UDP datagrams (swim_dsync_udp.c).
 */
enum swim_dsync_fkind {
	SWIM_DSYNC_F_END,	/* no more fields */
	SWIM_DSYNC_F_U8,
	SWIM_DSYNC_F_ZERO,	/* a 0 byte; not read back */
	SWIM_DSYNC_F_U32,	/* big-endian */
	SWIM_DSYNC_F_U64,	/* big-endian */
};
struct swim_dsync_field {
	uint8_t kind;		/* enum swim_dsync_fkind */
	uint8_t off;		/* offsetof its member */
};
struct swim_dsync_fix {
	uint8_t type;		/* the message's first byte */
	uint8_t body;		/* its body length */
	struct swim_dsync_field f[8];	/* ends with SWIM_DSYNC_F_END */
};
/** Encode msg (a struct laid out as x says). @retval bytes or
 * SWIM_DSYNC_E_NOSPACE. */
int swim_dsync_fix_encode(const struct swim_dsync_fix *x, const void *msg,
			  uint8_t *out, size_t cap);
/**
 * Decode into msg. exact: buf is one datagram, nothing may follow the
 * message (_E_LENGTH); else buf may hold more (a stream).
 * @retval the message's length, or _E_TRUNCATED, _E_TYPE, _E_LENGTH.
 */
int swim_dsync_fix_decode(const struct swim_dsync_fix *x, const uint8_t *buf,
			  size_t len, bool exact, void *msg);

/** Write a message header (type, body length). @retval header + body
 * bytes, or SWIM_DSYNC_E_NOSPACE when cap cannot hold them. */
int swim_dsync_head(uint8_t type, uint32_t body, uint8_t *out, size_t cap);

/* The exchange's steps (struct swim_dsync.step). */
enum swim_dsync_stepno {
	SWIM_DS_START,		/* nothing sent or received yet */
	SWIM_DS_HELLO_SENT,	/* initiator: waits for INSYNC or GROUPS */
	SWIM_DS_GROUPS_SENT,	/* responder: waits for LEAVES */
	SWIM_DS_LEAVES_SENT,	/* initiator: waits for DIFF or MEMBERS */
	SWIM_DS_MEMBERS_SENT,	/* responder: waits for WANT */
	SWIM_DS_WANT_SENT,	/* initiator: waits for the next MEMBERS */
	SWIM_DS_DONE,		/* over: any further call is out of turn */
};

/* The sessions' shared bits (swim_dsync_sess.c). */
bool swim_dsync_bit(const uint64_t *map, uint32_t i);
void swim_dsync_set(uint64_t *map, uint32_t i);
/** Next leaf of x's set at or after `leaf`, or 2^bits. */
uint32_t swim_dsync_next_leaf(const struct swim_dsync *x, uint32_t leaf);
/** The walk of the leaf set only (no x->want filter), for the round. */
const void *swim_dsync_walk_set(const struct swim_index *ix,
				struct swim_pp_enc *e);
/** Does the walk go leaf by leaf (rising) now, or over every entry? */
bool swim_dsync_walk_by_leaf(const struct swim_index *ix);

/* The member round (swim_dsync_memb.c). */
/** Responder: the next MEMBERS from x->cursor on. @retval WAIT or < 0. */
int swim_dsync_send_members(const struct swim *s, struct swim_dsync *x,
			    uint8_t *out, size_t cap, size_t *out_len);
/** Initiator: a MEMBERS in; WANT out. @retval WAIT, TRANSFER, IN_SYNC, < 0 */
int swim_dsync_on_members(const struct swim *s, struct swim_dsync *x,
			  const uint8_t *in, size_t in_len, uint8_t *out,
			  size_t cap, size_t *out_len);
/** Responder: a WANT in; the next MEMBERS or the end. */
int swim_dsync_on_want(const struct swim *s, struct swim_dsync *x,
		       const uint8_t *in, size_t in_len, uint8_t *out,
		       size_t cap, size_t *out_len);
/** Is the member with name hash nh in x->want (sorted)? */
bool swim_dsync_wanted(const struct swim_dsync *x, uint64_t nh);

/* HELLO over UDP (swim_dsync_udp.c). */
/** One HELLO we wait on. */
struct swim_dsync_upend {
	bool is_used;
	uint32_t nonce;			/* echoed by the answer */
	uint64_t deadline_us;		/* no answer by then: timeout */
	struct swim_addr to;		/* the peer's address */
	char name[SWIM_NAME_MAX + 1];	/* for SWIM_OUT_PUSH_PULL */
};

/** The core's UDP HELLO state (swim.dudp, allocated at first use). */
struct swim_dsync_udp {
	struct swim_timer t;		/* first: the earliest deadline */
	struct swim_dsync_upend pend[SWIM_DSYNC_UDP_PENDING];
	bool is_fallback_spent;		/* the last HELLO timed out and fell
					   back: the next timeout does not */
	bool is_wanted;			/* swim_dsync_udp_want: next probe */
	uint64_t want_us;		/* ... asked at this time */
	struct swim_dsync_udp_stats st;
};

/**
 * swim_on_packet's first look: a delta-sync datagram (bare, or in a CRC
 * wrapper that checks) is handled here. @retval true: taken (answered,
 * matched or counted as a drop), false: not ours.
 */
bool swim_dsync_udp_on_packet(struct swim *s, const struct swim_addr *from,
			      const uint8_t *buf, size_t len);
/** swim_probe_start sent its ping to m: a wanted HELLO follows it if
 * m can take one. */
void swim_dsync_udp_on_probe(struct swim *s, const struct swim_member *m);
/** SWIM_T_DSYNC_UDP fired: the HELLOs past their deadline. */
void swim_dsync_udp_expire(struct swim *s);
/** swim_push_pull_tick's periodic push/pull with a UDP capable peer:
 * a HELLO instead. @retval true: sent (no push/pull now). */
bool swim_dsync_udp_periodic(struct swim *s, const struct swim_member *m);

#endif /* SWIM_DSYNC_INT_H_INCLUDED */
