/**
 * @file
 * The member table: every node we know, keyed by name with O(1) lookup,
 * plus the lists the protocol samples from without scanning the table:
 *   live  alive or suspect, not self: probe, indirect and push/pull peers;
 *   dead  dead (not left), not self: still gossiped to for a while;
 *   order the probe order, a shuffle of live walked round-robin and
 *         reshuffled on wrap; new members go in at a random position.
 * The status rules (aliveNode, suspectNode, deadNode) are in swim_state.c.
 */
#ifndef SWIM_MEMBER_H_INCLUDED
#define SWIM_MEMBER_H_INCLUDED

#include "swim_diss.h"
#include "swim_rand.h"
#include "swim_suspect.h"
#include "swim_timer.h"

#define SWIM_IDX_NONE UINT32_MAX

struct swim_member {
	struct swim_member *hnext;	/* hash chain */
	uint64_t hash;
	char name[SWIM_NAME_MAX + 1];
	uint32_t name_len;
	struct swim_addr addr;
	uint32_t incarnation;
	enum swim_status status;
	uint8_t meta[SWIM_META_MAX];
	uint32_t meta_len;
	uint8_t vsn[SWIM_VSN_LEN];	/* PMin PMax PCur DMin DMax DCur */
	uint64_t state_change_us;
	bool is_self;
	uint32_t idx_all;		/* slot in members.all */
	uint32_t idx_list;		/* slot in live or dead */
	uint32_t idx_order;		/* slot in order, or SWIM_IDX_NONE */
	struct swim_bcast *bcast;	/* our queued broadcast about it */
	struct swim_timer t_suspect;	/* suspicion deadline */
	struct swim_timer t_reap;	/* dead: drop from the table */
	struct swim_suspicion susp;	/* valid while t_suspect is armed */
};

/** A growable array of member pointers whose members know their slot. */
struct swim_member_vec {
	struct swim_member **v;
	uint32_t nb;
	uint32_t cap;
};

struct swim_members {
	struct swim_member **buckets;
	uint32_t nb_buckets;		/* power of two */
	struct swim_member_vec all;
	struct swim_member_vec live;
	struct swim_member_vec dead;
	struct swim_member_vec order;	/* may hold NULLs and stale members */
	uint32_t probe_idx;
	uint32_t nb_status[SWIM_STATUS_COUNT];
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

/** Unlink and free m (its timers and broadcast must be detached). */
void swim_members_remove(struct swim_members *t, struct swim_member *m);

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
