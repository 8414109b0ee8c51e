/**
 * @file
 * The member table: every node we know, keyed by name with O(1) lookup
 * (swim_index), each member one record sized to its name plus its Meta
 * sized to content, both from the table's slab (swim_slab.h). One array `all` holds every member, partitioned
 * by what the protocol samples from, so no list ever needs a scan:
 *   all[0, live.nb)                  live: alive or suspect, not self:
 *                                    probe, indirect and push/pull peers;
 *   all[live.nb, live.nb + dead.nb)  dead (not left), not self: still
 *                                    gossiped to for a while;
 *   the rest                         self, left.
 * A status change moves a member across the boundaries with at most two
 * swaps (so `all` is not in insertion order). `order` is the probe order,
 * a shuffle of live walked round-robin and reshuffled on wrap; new
 * members go in at a random position.
 * The status rules (aliveNode, suspectNode, deadNode) are in swim_state.c.
 */
#ifndef SWIM_MEMBER_H_INCLUDED
#define SWIM_MEMBER_H_INCLUDED

#include "swim_diss.h"
#include "swim_dsync_tree.h"
#include "swim_index.h"
#include "swim_slab.h"
#include "swim_rand.h"
#include "swim_suspect.h"
#include "swim_timer.h"

#define SWIM_IDX_NONE UINT32_MAX

/** swim_member.flags */
enum {
	SWIM_MF_SUSPECT = 1u << 0,	/* has a suspicion (swim_suspect.h) */
	SWIM_MF_GONE = 1u << 1,		/* out of the table, freed at refs 0 */
};

/*
 * Bits 2..7 of swim_member.flags: streamed push/pull snapshot marks, one
 * per encoder slot (swim_pp.c). Idle, every member's bit equals the same
 * bit of swim_members.pp_pol; an encoder flips its pol bit at start (all
 * members "not emitted"), sets a member's bit back as it emits it; new
 * members take pp_pol (not in the snapshot). No record growth.
 */
#define SWIM_MF_PP_SHIFT 2u
#define SWIM_MF_PP_MASK 0xfcu
#define SWIM_PP_SLOTS 6u

struct swim_member {
	uint8_t *meta;			/* slab, meta_len bytes; NULL if none */
	union {
		struct swim_bcast *bcast;	/* our queued broadcast about it */
		struct swim_slab *gone_slab;	/* SWIM_MF_GONE: freed there */
	};
	uint64_t state_change_us;
	uint32_t incarnation;
	uint32_t idx_all;		/* slot in members.all */
	uint32_t idx_order;		/* slot in order, or SWIM_IDX_NONE */
	uint16_t meta_len;
	/* Queued events and reap entries pointing here: a removed member
	 * is freed only when the last of them is gone. */
	uint16_t refs;
	struct swim_addr addr;
	/* PMin PMax PCur DMin DMax DCur, then the capability byte Vsn[6]
	 * (swim_dsync.h; 0: none heard, the Vsn is serf's 6 bytes) */
	uint8_t vsn[SWIM_VSN_LEN + 1];
	uint8_t status;			/* enum swim_status */
	bool is_self;
	uint8_t flags;			/* SWIM_MF_* */
	uint8_t name_len;
	char name[];			/* name_len bytes + NUL */
};

/** A growable array of member pointers whose members know their slot. */
struct swim_member_vec {
	struct swim_member **v;
	uint32_t nb;
	uint32_t cap;
};

/** A partition of members.all: only its size is kept (see above). */
struct swim_member_part {
	uint32_t nb;
};

struct swim_members {
	struct swim_slab slab;		/* members and their Meta */
	struct swim_index index;	/* name -> member */
	struct swim_member_vec all;	/* live | dead | the rest */
	struct swim_member_part live;
	struct swim_member_part dead;
	struct swim_member_vec order;	/* may hold NULLs and stale members */
	uint32_t probe_idx;
	uint32_t nb_status[SWIM_STATUS_COUNT];
	struct swim_dsync_tree dtree;	/* delta-sync digests (swim_dsync.h) */
	/* Push/pull snapshot walks (see SWIM_MF_PP_MASK): slots in use,
	 * their polarity, per slot the snapshot members not emitted yet,
	 * members created (an encoder that marked nothing undoes in O(1)),
	 * encoders that found no free slot (unmarked walk). */
	uint8_t pp_busy;
	uint8_t pp_pol;
	uint32_t pp_left[SWIM_PP_SLOTS];
	uint32_t pp_adds;
	uint64_t pp_fallbacks;
};

/** FNV-1a 64 of a name: table key and suspicion confirmer identity. */
uint64_t swim_name_hash(const char *name, size_t len);

int swim_members_init(struct swim_members *t);
/** Free every member; timers and broadcasts must be torn down first. */
void swim_members_destroy(struct swim_members *t);

struct swim_member *swim_members_find(const struct swim_members *t,
				      const char *name, size_t len);

/**
 * Insert a new member, status dead at incarnation 0 (memberlist creates
 * unknown nodes dead, then applies the alive). It goes into the probe
 * order at a random position.
 * @retval the member, or NULL (name too long, duplicate, out of memory).
 */
struct swim_member *swim_members_add(struct swim_members *t,
				     struct swim_rand *rnd, const char *name,
				     size_t len, bool is_self);

/**
 * Unlink m (its timers and broadcast must be detached) and free it, or,
 * while refs holds it, mark it SWIM_MF_GONE for swim_member_unref.
 */
void swim_members_remove(struct swim_members *t, struct swim_member *m);

/** Take a reference (false when refs is saturated: do not keep m). */
bool swim_member_ref(struct swim_member *m);
/** Drop a reference; frees a removed member at the last one. */
void swim_member_unref(struct swim_member *m);

/** Replace m's Meta, sized to content. @retval 0 or -1 (ENOMEM, too long). */
int swim_member_set_meta(struct swim_members *t, struct swim_member *m,
			 const uint8_t *meta, size_t len);

/** Set m's incarnation (keeps the delta-sync digests current). */
void swim_members_set_inc(struct swim_members *t, struct swim_member *m,
			  uint32_t inc);

/** Vsn[6] bit: reads and writes chunked sealed streams, encrypted
 * push/pulls of any size (swim_sealed_stream.h; 0x01 and 0x04 are delta
 * sync's, swim_dsync.h). */
#define SWIM_CAP_SEALED_STREAM 0x02u

/** Take a Vsn heard on the wire (< 6 bytes: ignored; 6: caps kept). */
void swim_member_set_vsn(struct swim_member *m, const uint8_t *vsn,
			 uint32_t len);

/** Bytes of m's Vsn on the wire: 7 with a capability byte, else 6. */
static inline uint32_t
swim_member_vsn_len(const struct swim_member *m)
{
	return m->vsn[SWIM_VSN_LEN] != 0 ? SWIM_VSN_LEN + 1 : SWIM_VSN_LEN;
}

/** Change m's status and move it between the lists. */
void swim_members_set_status(struct swim_members *t, struct swim_rand *rnd,
			     struct swim_member *m, enum swim_status st);

/**
 * memberlist's probe(): the next alive or suspect member in the probe
 * order, reshuffling on wrap. @retval NULL when there is none.
 */
struct swim_member *swim_members_next_probe(struct swim_members *t,
					    struct swim_rand *rnd);

typedef bool (*swim_member_filter_f)(void *ctx, const struct swim_member *m);

/**
 * memberlist's kRandomNodes over live (and dead when with_dead): up to k
 * distinct members accepted by filter, by random draws with rejection.
 * The number of draws is bounded, so this never walks the table.
 * @retval number written to out.
 */
uint32_t swim_members_random(const struct swim_members *t,
			     struct swim_rand *rnd, bool with_dead, uint32_t k,
			     swim_member_filter_f filter, void *ctx,
			     struct swim_member **out);

/** Number of members of any status, self included. */
static inline uint32_t
swim_members_count(const struct swim_members *t)
{
	return t->all.nb;
}

#endif /* SWIM_MEMBER_H_INCLUDED */
