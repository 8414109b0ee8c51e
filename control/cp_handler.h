/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Event handlers as `serf agent` runs them (serf's agent/invoke.go,
 * event_handler.go, serf/coalesce_*.go):
 *
 *   --event-handler [filter=]script     filter: member-join, member-leave,
 *       member-failed, member-update, member-reap, user, user:NAME, query,
 *       query:NAME or *, comma lists; none = every event
 *
 * Each matching script runs through `/bin/sh -c` with the agent's own
 * environment plus SERF_EVENT, SERF_SELF_NAME, SERF_SELF_ROLE, one
 * SERF_TAG_<KEY> per own tag, and SERF_USER_EVENT/SERF_USER_LTIME or
 * SERF_QUERY_NAME/SERF_QUERY_LTIME; stdin carries one line per member
 * ("name\taddr\trole\ttags") or the payload. stdout and stderr share one
 * buffer of which the last 8 KiB are kept (serf's circbuf); a query is
 * answered with it when the script exits 0 and wrote something (the Serf
 * layer refuses answers past query_response_size_limit, as serf does).
 *
 * Member events are coalesced over 3 s, or until 1 s of quiet, keeping the
 * latest event per member and dropping one that repeats the last event
 * delivered for that member; user events sent with coalesce keep only
 * the highest LTime per name over the same periods (serf's agent
 * settings). Queries and other user events pass at once. Only the
 * scripts see coalesced events; RPC `stream` subscribers get each one
 * (serf coalesces its whole event channel, streams included).
 *
 * Scripts run one at a time, in event order, as serf's event loop runs
 * them, but never on the control thread's time: each is a posix_spawn'd
 * child in its own process group whose pipes and pidfd sit in the
 * runner's epoll fd (nested in control's reactor). Bounds serf does not
 * have: a script still running after the timeout (60 s) has its process
 * group killed; output past the 8 KiB kept is read and discarded,
 * counted; at most 1024 events (16 MiB of stdin) wait, more are dropped,
 * counted and logged.
 *
 * Control thread only. Parsing, formatting and coalescing are pure and
 * take the time as an argument.
 */
#ifndef CP_HANDLER_H_INCLUDED
#define CP_HANDLER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cp_cfg.h"
#include "serf.h"

/* --- scripts and filters --- */

/** Filter kind that matches every event ("*" or no filter). */
#define CP_HF_ANY (-1)
/** Most scripts after comma lists are expanded. */
#define CP_HSCRIPTS_MAX 128
/** serf's maxBufSize: the output kept per run (its last bytes). */
#define CP_HANDLER_OUT_MAX 8192
/** Longest stdin line for one member (escaped name, role and tags). */
#define CP_HLINE_MAX 4096

/** One filter and its script (a comma list gives one per filter). */
struct cp_hscript {
	int kind;			/* enum serf_event_kind or CP_HF_ANY */
	char name[SWIM_NAME_MAX + 1];	/* user:NAME / query:NAME; "" = any */
	char script[CP_HANDLER_LEN];	/* for /bin/sh -c */
};

/** The scripts in effect, in flag order. */
struct cp_hset {
	struct cp_hscript *v;
	unsigned nb;
};

/**
 * Parse one --event-handler value as serf's ParseEventScript: split at
 * the first '=' into filter and script, the filter at ','. An unknown
 * event type fails as serf's agent does ("Invalid event script: Event
 * 'x' invoking 'y'").
 * @retval scripts written to out, or -EINVAL (err filled), -E2BIG when
 *         more than cap.
 */
int cp_handler_parse(const char *spec, struct cp_hscript *out, unsigned cap,
		     char *err, size_t errlen);

/** Parse every spec into set (allocated; cp_hset_free). @retval 0/-errno */
int cp_hset_parse(struct cp_hset *set, const char (*specs)[CP_HANDLER_LEN],
		  unsigned nb, char *err, size_t errlen);
void cp_hset_free(struct cp_hset *set);

/* --- events --- */

/** One event for the scripts, with its stdin already formatted. */
struct cp_hevent {
	struct cp_hevent *next;		/* queue link */
	enum serf_event_kind kind;	/* MEMBER_*, USER or QUERY */
	char name[SWIM_NAME_MAX + 1];	/* USER, QUERY: its name */
	uint64_t ltime;			/* USER, QUERY */
	uint64_t query_handle;		/* QUERY: for the answer */
	bool coalesce;			/* USER */
	uint32_t nb_members;		/* MEMBER_*: lines in stdin */
	size_t in_len;
	uint8_t in[];			/* stdin bytes */
};

/** Allocate an event with room for in_len stdin bytes (copied when in is
 * not NULL). @retval the event or NULL. */
struct cp_hevent *cp_hevent_new(enum serf_event_kind kind, const char *name,
				const uint8_t *in, size_t in_len);

/** Does the script run for this event (serf's EventFilter.Invoke)? */
bool cp_hscript_match(const struct cp_hscript *s, const struct cp_hevent *ev);

/**
 * One member line as serf writes it: "name\taddr\trole\ttags\n", tags as
 * k=v joined by ',' (sorted by key here; serf's order is Go's map order),
 * tabs and newlines in name, role and tags escaped as \t and \n.
 * @retval bytes written (NUL-terminated), or -E2BIG.
 */
int cp_handler_member_line(const char *name, const char *addr,
			   const struct serf_tag *tags, unsigned nb_tags,
			   char *out, size_t cap);

/** A user event's or query's stdin: the payload, with a '\n' appended
 * when it is not empty and does not end in one. NULL on ENOMEM. */
struct cp_hevent *cp_hevent_payload(enum serf_event_kind kind,
				    const char *name, const uint8_t *payload,
				    size_t len);

/** Who we are when a script runs (serf's SelfFunc). */
struct cp_hself {
	const char *name;
	const struct serf_tag *tags;
	unsigned nb_tags;
};

/** SERF_TAG_<KEY>'s name part: upper-cased, every rune outside
 * [A-Z0-9_] replaced by '_'. @retval length, or -E2BIG. */
int cp_handler_tag_var(const char *key, size_t key_len, char *out,
		       size_t cap);

/**
 * The script's environment: base (the agent's) with SERF_EVENT,
 * SERF_SELF_NAME, SERF_SELF_ROLE, SERF_TAG_*, and the event's own
 * variables set over it (a later one replaces an earlier of that name).
 * @retval a NULL-terminated malloc'd array (cp_handler_env_free), or
 *         NULL on ENOMEM.
 */
char **cp_handler_env(char *const *base, const struct cp_hself *self,
		      const struct cp_hevent *ev);
void cp_handler_env_free(char **env);

/* --- coalescing (serf's memberEventCoalescer, userEventCoalescer) --- */

struct cp_hco;

/** One coalescer's periods; 0 in either turns it off (serf's rule). */
struct cp_hco_cfg {
	uint64_t period_us;	/* CoalescePeriod: 3 s for the agent */
	uint64_t quiescent_us;	/* QuiescentPeriod: 1 s for the agent */
};

/** The agent's settings: 3 s / 1 s for both. */
void cp_hco_cfg_agent(struct cp_hco_cfg *member, struct cp_hco_cfg *user);

struct cp_hco *cp_hco_new(const struct cp_hco_cfg *member,
			  const struct cp_hco_cfg *user);
void cp_hco_delete(struct cp_hco *co);

/**
 * Offer a member event: kind, the member's name, its stdin line and a
 * checksum of everything serf compares for member-update (tags, address,
 * versions). @retval 1 taken, 0 not coalescing (pass it on), -ENOMEM.
 */
int cp_hco_member(struct cp_hco *co, uint64_t now_us,
		  enum serf_event_kind kind, const char *name,
		  const char *line, uint64_t sum);
/** Offer a user event. @retval 1 taken (owned now), 0 pass it on. */
int cp_hco_user(struct cp_hco *co, uint64_t now_us, struct cp_hevent *ev);

/** Receives each flushed event (ownership passes). */
typedef void (*cp_hco_emit_f)(void *ctx, struct cp_hevent *ev);
/** Flush the coalescers that are due (all with force), in order: member
 * events by kind (join, leave, failed, update, reap), then user events
 * by first-seen name. */
void cp_hco_flush(struct cp_hco *co, uint64_t now_us, bool force,
		  cp_hco_emit_f emit, void *ctx);
/** When the next flush is due; UINT64_MAX when nothing waits. */
uint64_t cp_hco_next_deadline(const struct cp_hco *co);
/** Members remembered (last event delivered, or one pending). */
unsigned cp_hco_nb_members(const struct cp_hco *co);

/* --- the runner: one script at a time, off the control thread's time --- */

/** How one run ended. */
struct cp_hresult {
	bool is_ok;		/* exited with status 0 */
	bool is_timeout;	/* killed by the runner's timeout */
	bool is_spawn_error;	/* never started */
	int status;		/* waitpid status (when started) */
	const uint8_t *out;	/* the last out_len bytes of output */
	size_t out_len;
	uint64_t out_total;	/* bytes the script wrote */
	uint64_t elapsed_us;
};

struct cp_hrun_cfg {
	uint64_t timeout_us;	/* kill after: 60 s */
	uint64_t slow_us;	/* warn after: 1 s (serf's warnSlow) */
	size_t out_max;		/* output kept: CP_HANDLER_OUT_MAX */
	unsigned queue_max;	/* events waiting: 1024 */
	size_t queue_bytes_max;	/* their stdin bytes: 16 MiB */
	const char *shell;	/* "/bin/sh" */
	bool no_pidfd;		/* poll waitpid instead (old kernels; tests) */
	/** Fill who we are now (called before each run). */
	void (*self)(void *ctx, struct cp_hself *out);
	/** A run ended; ev and s stay valid during the call. */
	void (*done)(void *ctx, const struct cp_hevent *ev,
		     const struct cp_hscript *s, const struct cp_hresult *r);
	void *ctx;
};

/** Counters; monotonic except queued. */
struct cp_hrun_stats {
	uint64_t runs;		/* scripts started */
	uint64_t failed;	/* exited non-zero or by a signal */
	uint64_t timeouts;	/* killed after timeout_us */
	uint64_t spawn_errors;	/* could not start */
	uint64_t dropped;	/* events refused: queue full */
	uint64_t truncated;	/* runs whose output passed out_max */
	uint64_t out_discarded;	/* output bytes read and not kept */
	uint64_t stdin_errors;	/* stdin not fully written (script quit) */
	unsigned queued;	/* events waiting now */
};

void cp_hrun_cfg_default(struct cp_hrun_cfg *cfg);
/** @retval the runner, or NULL (epoll or memory). Ignores SIGPIPE when
 * it is at its default (a script may close its stdin early). */
struct cp_hrun *cp_hrun_new(const struct cp_hrun_cfg *cfg);
/** Kill a running script's group, reap it, free the queue. NULL-safe. */
void cp_hrun_delete(struct cp_hrun *r);
/** The runner's epoll fd: readable when dispatch has work. */
int cp_hrun_fd(const struct cp_hrun *r);
/** Use set (taken over) from the next event on, as serf's UpdateScripts. */
void cp_hrun_set_scripts(struct cp_hrun *r, struct cp_hset *set);
/** Scripts of the newest set. */
unsigned cp_hrun_nb_scripts(const struct cp_hrun *r);
/**
 * Queue an event (taken over) and start it if nothing runs.
 * @retval 0, or -ENOBUFS when the queue is full (freed, counted, logged).
 */
int cp_hrun_push(struct cp_hrun *r, uint64_t now_us, struct cp_hevent *ev);
/** The fd was readable: move bytes, reap, start the next. */
void cp_hrun_dispatch(struct cp_hrun *r, uint64_t now_us);
/** Timers: slow warning, timeout kill; starts the next run. */
void cp_hrun_tick(struct cp_hrun *r, uint64_t now_us);
/** When cp_hrun_tick next has work; UINT64_MAX: none. */
uint64_t cp_hrun_next_deadline(const struct cp_hrun *r);
/** Nothing running and nothing queued. */
bool cp_hrun_is_idle(const struct cp_hrun *r);
void cp_hrun_get_stats(const struct cp_hrun *r, struct cp_hrun_stats *st);

/* --- the daemon's side (cp_handler_cp.c) --- */

struct cp;

/**
 * Parse cp->cfg's --event-handler values, start the runner in cp->epfd
 * and register the SIGHUP hook. After cp_agent_init and the reactor.
 * @retval 0, or -1 after printing one line (exit 2).
 */
int cp_handler_init(struct cp *cp);
/** A Serf event (cp_serf.c): member changes, user events, queries. */
void cp_handler_on_event(struct cp *cp, const struct serf_event *ev);
/** Loop work: coalescing windows, the runner's timers. */
void cp_handler_tick(struct cp *cp, uint64_t now_us);
/** When cp_handler_tick next has work; UINT64_MAX without handlers. */
uint64_t cp_handler_next_deadline(const struct cp *cp);
/** Stop: kill a running script, free everything. NULL-safe on cp. */
void cp_handler_fini(struct cp *cp);

#endif /* CP_HANDLER_H_INCLUDED */
