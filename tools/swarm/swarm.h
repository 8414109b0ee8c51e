/* SPDX-License-Identifier: MIT */
/**
 * @file
 * gossip-swarm: N virtual memberlist/Serf members in one process, joined
 * to a real pool (issue 10). This header holds the pure parts (address and
 * name arithmetic, per-member state, options, the Lifeguard failure
 * simulation, statistics) that the Criterion tests link, and the runtime
 * context the socket backend shares between its files.
 *
 * Memory per virtual member is one struct swarm_member (8 bytes): the
 * name and address are derived from the index, and nothing else is kept
 * per member. The swarm's view of the pool is the small table of real
 * nodes (struct swarm_real) plus the records of injected failures.
 */
#ifndef SWARM_H_INCLUDED
#define SWARM_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/** Most virtual members (the 10^6). */
#define SWARM_MEMBERS_MAX 1000000u
/** Most --join seeds, real nodes tracked, --fail and --tag options. */
#define SWARM_JOIN_MAX 8
#define SWARM_REAL_MAX 64
#define SWARM_FAIL_EV_MAX 16
#define SWARM_TAG_MAX 16
/** Longest derived name: prefix (<= 23) + 7 digits. */
#define SWARM_NAME_PREFIX_MAX 23
#define SWARM_NAME_LEN_MAX 32

/** Exit codes: 2 for bad usage, as getopt tools do. */
enum { SWARM_EXIT_OK = 0, SWARM_EXIT_FAIL = 1, SWARM_EXIT_USAGE = 2 };

/* --- address and name mapping (swarm_map.c) --- */

/**
 * Virtual member i has address first + i (host order) and name
 * prefix + decimal(i). first is the prefix's network address + 1, so the
 * network address itself is never used.
 */
struct swarm_map {
	uint32_t first;		/* address of member 0, host order */
	uint32_t n;		/* number of members */
	char prefix[SWARM_NAME_PREFIX_MAX + 1];
	uint8_t prefix_len;
};

/** Errors of the pure helpers; negative, distinct. */
enum swarm_err {
	SWARM_E_RANGE = -1,	/* number out of range */
	SWARM_E_SYNTAX = -2,	/* malformed text */
	SWARM_E_SPACE = -3,	/* too many members for the prefix */
	SWARM_E_NOSPACE = -4,	/* output buffer too small */
	SWARM_E_FULL = -5,	/* too many of an option */
};

/**
 * @param net network address (host order), plen prefix length 1..30.
 * @retval 0, SWARM_E_SPACE if n does not fit in the prefix (minus the
 *         network and broadcast addresses), SWARM_E_RANGE for a bad plen,
 *         n == 0 or a name prefix over SWARM_NAME_PREFIX_MAX.
 */
int swarm_map_init(struct swarm_map *m, const char *name_prefix,
		   uint32_t net, unsigned plen, uint32_t n);
/** Address of member i (host order); i < n. */
uint32_t swarm_map_addr(const struct swarm_map *m, uint32_t i);
/** Member index of an address (host order), or -1. */
int64_t swarm_map_addr_index(const struct swarm_map *m, uint32_t addr);
/** Write member i's name (no NUL needed by callers). @retval length or <0 */
int swarm_map_name(const struct swarm_map *m, uint32_t i, char *out,
		   size_t cap);
/** Index of a name (prefix + canonical decimal < n), or -1. */
int64_t swarm_map_name_index(const struct swarm_map *m, const uint8_t *name,
			     size_t len);
/** Parse "a.b.c.d/len" (host-order network with host bits zero). */
int swarm_parse_cidr(const char *s, uint32_t *net, unsigned *plen);
/** Parse "a.b.c.d:port" (port 1..65535). */
int swarm_parse_ipport(const char *s, uint32_t *ip, uint16_t *port);

/* --- per-member state (swarm_map.c) --- */

enum swarm_mstate {
	SWARM_M_IDLE = 0,	/* not joined yet (or never) */
	SWARM_M_ALIVE = 1,	/* joined, answering */
	SWARM_M_FAILED = 2,	/* injected failure: silent */
	SWARM_M_LEFT = 3,	/* left gracefully */
};

enum {
	SWARM_MF_INJECTED = 1u << 0,	/* chosen by --fail at least once */
	SWARM_MF_SUSPECTED = 1u << 1,	/* the pool suspects it now */
	SWARM_MF_DEAD = 1u << 2,	/* the pool declared it dead/left */
};

/** One virtual member: 8 bytes, the whole per-member cost. */
struct swarm_member {
	uint32_t incarnation;	/* what we last announced */
	uint8_t state;		/* enum swarm_mstate */
	uint8_t flags;		/* SWARM_MF_* */
	uint16_t fp;		/* false accusations seen (saturating) */
};

/** What the caller must do after an accusation or a foreign alive. */
enum swarm_verdict {
	SWARM_V_IGNORE = 0,	/* stale or about a member not in the pool */
	SWARM_V_REFUTE = 1,	/* false positive: gossip alive(incarnation) */
	SWARM_V_DETECTED = 2,	/* about an injected failure: record it */
};

/** Does the member answer pings and streams? */
static inline bool
swarm_member_answers(const struct swarm_member *m)
{
	return m->state == SWARM_M_ALIVE;
}

/** IDLE or LEFT -> ALIVE; a rejoin takes incarnation + 1. @retval 0 or -1 */
int swarm_member_join(struct swarm_member *m);
/** ALIVE -> FAILED (stops answering). @retval 0 or -1 */
int swarm_member_fail(struct swarm_member *m);
/** FAILED -> ALIVE with incarnation + 1 (a flap coming back). */
int swarm_member_recover(struct swarm_member *m);
/** ALIVE -> LEFT. @retval 0 or -1 */
int swarm_member_leave(struct swarm_member *m);
/**
 * suspect (is_dead false) or dead/left about member m at incarnation inc.
 * A healthy member refutes with max(own, inc) + 1; a failed one records.
 */
enum swarm_verdict swarm_member_accused(struct swarm_member *m, bool is_dead,
					uint32_t inc);
/** An alive about m with a higher incarnation than ours (old run). */
enum swarm_verdict swarm_member_seen_alive(struct swarm_member *m,
					   uint32_t inc);

/* --- timing profiles and options (swarm_opt.c) --- */

/** memberlist's timing for a profile (memberlist-wire.md §11.1). */
struct swarm_timing {
	uint32_t probe_interval_ms;
	uint32_t probe_timeout_ms;
	uint32_t gossip_interval_ms;
	uint32_t suspicion_mult;
	uint32_t suspicion_max_mult;
	uint32_t retransmit_mult;
	uint32_t indirect_checks;
	uint32_t tcp_timeout_ms;
};

/**
 * --fail N@T: n members stop answering at_ms into the run, or (N@+T)
 * at_ms after every member has joined.
 */
struct swarm_fail_ev {
	uint32_t n;
	uint64_t at_ms;
	bool after_join;
};

enum swarm_dataplane { SWARM_DP_SOCKET = 0, SWARM_DP_DPDK = 1 };

struct swarm_cfg {
	uint32_t members;
	uint32_t join_ip[SWARM_JOIN_MAX];	/* host order */
	uint16_t join_port[SWARM_JOIN_MAX];
	unsigned nb_join;
	uint32_t net;				/* --prefix, host order */
	unsigned plen;
	uint16_t port;
	enum swarm_dataplane dataplane;
	const char *eal;
	double churn;				/* leaves and joins per s */
	struct swarm_fail_ev fail[SWARM_FAIL_EV_MAX];
	unsigned nb_fail;
	double flap_s;				/* 0: no flapping */
	double loss;				/* 0..1 of what we receive */
	double probe_mult;
	const char *encrypt;			/* base64 key */
	const char *keyring_file;
	const char *tags[SWARM_TAG_MAX];	/* "K=V" */
	unsigned nb_tags;
	const char *profile;
	struct swarm_timing timing;
	double duration_s;			/* 0: until a signal */
	const char *json;
	bool no_leave;
	bool delta_sync;			/* gossipd's delta sync; on */
	const char *name_prefix;
	uint32_t join_batch;			/* members per push/pull */
	double join_rate;			/* members per s, 0: no cap */
	double leave_rate;			/* members per s */
	unsigned udp_sockets;
	uint64_t seed;
	/* --flood (DPDK line-rate mode): ping flood_n members of a target,
	 * addresses flood_ip.. flood_ip + flood_n - 1, names flood_name
	 * (flood_n == 1) or flood_name + index (the target swarm's). */
	uint32_t flood_ip;			/* 0: no flood, host order */
	uint16_t flood_port;
	uint32_t flood_n;
	const char *flood_name;
	uint32_t flood_window;			/* pings in flight */
};

/** Fill cfg with the defaults (LAN profile, port 7950, 127.64.0.0/10). */
void swarm_cfg_default(struct swarm_cfg *cfg);
/**
 * Parse argv. On a bad flag writes one line into err and returns
 * SWARM_EXIT_USAGE; --help / --version set *done and return 0.
 */
int swarm_cfg_parse(struct swarm_cfg *cfg, int argc, char **argv,
		    char *err, size_t err_cap, bool *done);
/** Parse "N@T" or "N@+T" (T seconds, fractional). @retval 0 or < 0 */
int swarm_parse_fail(const char *s, struct swarm_fail_ev *ev);
/** Timing of "lan", "wan" or "local". @retval 0 or SWARM_E_SYNTAX */
int swarm_timing_profile(const char *name, struct swarm_timing *t);
/** The --help text. */
void swarm_usage(FILE *out);

/* --- Lifeguard failure simulation (swarm_sim.c) --- */

/** Lifeguard's suspicion timeout in us for n members, c confirmations. */
uint64_t swarm_sim_timeout_us(const struct swarm_timing *t, uint32_t n,
			      unsigned c);
/** Confirmations Lifeguard expects (k) for n members. */
unsigned swarm_sim_k(const struct swarm_timing *t, uint32_t n);
/** Expected time from failure to dead: 2 probe intervals + min timeout. */
double swarm_sim_predict_s(const struct swarm_timing *t, uint32_t n);

/** One injected failure as the simulated pool sees it. */
struct swarm_fail {
	uint32_t idx;		/* the member */
	uint32_t from;		/* the first virtual suspecter */
	uint64_t t_fail;	/* us, run clock */
	uint64_t t_suspect;	/* when the simulated pool suspects it */
	uint64_t t_next;	/* next simulated confirmation */
	uint64_t t_dead;	/* when the simulated pool declared it; 0 */
	uint64_t t_recover;	/* flap: when it comes back; 0 never */
	uint8_t conf;		/* confirmations so far */
	uint8_t phase;		/* enum swarm_fail_phase */
};

enum swarm_fail_phase {
	SWARM_FP_WAIT = 0,	/* failed, not probed yet */
	SWARM_FP_SUSPECT = 1,	/* suspect gossiped */
	SWARM_FP_DEAD = 2,	/* dead gossiped */
	SWARM_FP_OVER = 3,	/* recovered (flap) or finished */
};

/** Outputs of one simulation step. */
enum swarm_sim_out {
	SWARM_SIM_NONE = 0,
	SWARM_SIM_SUSPECT = 1,	/* gossip suspect{idx, inc, From: from} */
	SWARM_SIM_DEAD = 2,	/* gossip dead{idx, inc, From: from} */
};

/**
 * Start tracking a failure at now: draws the first probe of the pool
 * (exponential, mean one probe interval) with the uniform r in (0, 1].
 */
void swarm_sim_start(struct swarm_fail *f, const struct swarm_timing *t,
		     uint32_t idx, uint64_t now, double r);
/**
 * Advance f to now for a pool of n members. r1, r2 are uniform in (0,1]
 * (the next confirmation's delay, the next suspecter).
 * @retval what to gossip; *from is the claiming member.
 */
enum swarm_sim_out swarm_sim_step(struct swarm_fail *f,
				  const struct swarm_timing *t, uint32_t n,
				  uint32_t n_members, uint64_t now, double r1,
				  double r2, uint32_t *from);

/* --- statistics helpers (swarm_sim.c) --- */

/** Percentile p (0..100) of v[0..n) after sorting in place; 0 if n == 0. */
double swarm_percentile(double *v, size_t n, double p);

#endif /* SWARM_H_INCLUDED */
