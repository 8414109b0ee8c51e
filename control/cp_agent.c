/* SPDX-License-Identifier: MIT */
/*
 * The agent duties of cp_agent.h: signals, reload, snapshot and rejoin,
 * the tags file, --retry-join names. The snapshot is kept by comparing the
 * Serf layer's member list with the snapshot's at most every 500 ms (serf
 * writes on each member event; the file says the same thing, later by at
 * most that much), so nothing in the event path has to know about it.
 */
#include "cp.h"
#include "cp_agent.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cp_cfg_snap.h"
#include "serf.h"

/* serf's clockUpdateInterval and flushInterval. */
#define CP_AGENT_PERIOD_US (500ull * 1000)

/* Counted by the handler; compared with what the agent has handled. */
static volatile sig_atomic_t cp_nb_sigint, cp_nb_sigterm, cp_nb_sighup;

struct cp_agent_hook {
	cp_agent_reload_f f;
	void *ctx;
};

struct cp_agent {
	int argc;
	char **argv;
	sig_atomic_t seen_int, seen_term, seen_hup;
	struct cp_agent_hook hooks[CP_AGENT_HOOKS_MAX];
	unsigned nb_hooks;
	struct cp_snap *snap;		/* NULL without --snapshot */
	uint64_t next_us;		/* next snapshot and tags check */
	struct cp_tag tags_saved[CP_TAGS_MAX];	/* as in the tags file */
	unsigned nb_tags_saved;
	/* --retry-join names: one resolver thread at a time. */
	pthread_t res_thread;
	bool is_resolving;
	uint64_t resolved_for;		/* retry_next_us it resolved for */
	int res_efd;			/* rung when the thread is done */
	struct cp_io res_io;
	struct swim_addr res_addrs[CP_SEEDS_MAX];
	unsigned res_nb;
	char res_err[256];
	struct cp_cfg *res_cfg;		/* seeds and bind, read-only */
};

static struct cp_agent cp_agent_state;

static void
cp_agent_on_signal(int sig)
{
	if (sig == SIGINT)
		cp_nb_sigint++;
	else if (sig == SIGTERM)
		cp_nb_sigterm++;
	else if (sig == SIGHUP)
		cp_nb_sighup++;
}

int
cp_agent_signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cp_agent_on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) != 0 ||
	    sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGHUP, &sa, NULL) != 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* --- snapshot --- */

/* Restore the clocks as serf does (Witness the snapshot's, ignore events
 * up to its event clock) through the Serf layer's push/pull merge: a
 * state with no members and the snapshot's clocks + 1. */
static void
cp_agent_restore_clocks(struct cp *cp, const struct cp_snap *snap)
{
	struct serf_msg_push_pull pp;
	uint8_t buf[128];
	int n;

	if (cp_snap_clock(snap) == 0 && cp_snap_event_clock(snap) == 0 &&
	    cp_snap_query_clock(snap) == 0)
		return;		/* a new snapshot: nothing to restore */
	memset(&pp, 0, sizeof(pp));
	pp.ltime = cp_snap_clock(snap) + 1;
	pp.event_ltime = cp_snap_event_clock(snap) + 1;
	pp.query_ltime = cp_snap_query_clock(snap) + 1;
	n = serf_msg_encode_push_pull(&pp, buf, sizeof(buf));
	if (n > 0)
		serf_merge_remote_state(cp->serf, cp_now_us(), buf, (size_t)n,
					true);
}

static int
cp_agent_snap_visit(void *ctx, const struct serf_member_info *m)
{
	struct cp_snap *snap = ctx;
	char name[SWIM_NAME_MAX + 1], addr[CP_ADDR_STRLEN];

	if (m->status != SERF_STATUS_ALIVE && m->status != SERF_STATUS_LEAVING)
		return 0;
	snprintf(name, sizeof(name), "%.*s", (int)m->name.len,
		 (const char *)m->name.ptr);
	cp_addr_str(&m->addr, addr, sizeof(addr));
	if (cp_snap_alive(snap, name, addr) != 0)
		CP_LOG(ERR, "serf: Failed to update snapshot: %s",
		       strerror(errno));
	return 0;
}

/* Bring the snapshot up to date with the member list and the clocks. */
static void
cp_agent_snap_tick(struct cp *cp, struct cp_snap *snap)
{
	struct serf_stats st;

	if (cp->leave != CP_LEAVE_NONE) {
		if (cp_snap_leave(snap) != 0)
			CP_LOG(ERR, "serf: failed to sync leave to snapshot");
		return;
	}
	cp_snap_sweep_begin(snap);
	serf_member_foreach(cp->serf, cp_agent_snap_visit, snap);
	cp_snap_sweep_end(snap);
	serf_get_stats(cp->serf, &st);
	/* serf writes clock - 1: no event at the current time exists yet */
	cp_snap_clocks(snap, st.member_time ? st.member_time - 1 : 0,
		       st.event_time ? st.event_time - 1 : 0,
		       st.query_time ? st.query_time - 1 : 0);
	cp_snap_flush(snap);
}

void
cp_agent_rejoin(struct cp *cp, uint64_t now_us)
{
	struct swim_addr addrs[CP_SEEDS_MAX];
	const struct cp_snap_node *nodes;
	unsigned nb, n = 0;

	if (cp->agent == NULL || cp->agent->snap == NULL)
		return;
	nodes = cp_snap_nodes(cp->agent->snap, &nb);
	/* serf shuffles and tries them one by one; we ask up to 16 at
	 * once, the group succeeding when one answers. */
	for (unsigned i = 0; i < nb && n < CP_SEEDS_MAX; i++) {
		if (strcmp(nodes[i].name, cp->cfg.name) == 0 ||
		    cp_addr_parse(nodes[i].addr, 0, &addrs[n]) != 0)
			continue;
		CP_LOG(INFO, "serf: Attempting re-join to previously known "
		       "node: %s: %s", nodes[i].name, nodes[i].addr);
		n++;
	}
	if (n > 0)
		cp_join_start(cp, now_us, CP_JOIN_REJOIN, 0, addrs, n);
}

/* --- the tags file --- */

static void
cp_agent_tags_tick(struct cp *cp, struct cp_agent *a)
{
	int rc;

	if (cp->cfg.tags_file[0] == '\0' ||
	    (cp->cfg.nb_tags == a->nb_tags_saved &&
	     memcmp(cp->cfg.tags, a->tags_saved,
		    cp->cfg.nb_tags * sizeof(cp->cfg.tags[0])) == 0))
		return;
	rc = cp_cfg_tags_write(cp->cfg.tags_file, cp->cfg.tags,
			       cp->cfg.nb_tags);
	if (rc != 0)
		CP_LOG(ERR, "agent: failed to write tags file %s: %s",
		       cp->cfg.tags_file, strerror(-rc));
	/* Remember even a failure: one error line per change, not a flood. */
	memcpy(a->tags_saved, cp->cfg.tags, sizeof(a->tags_saved));
	a->nb_tags_saved = cp->cfg.nb_tags;
}

/* --- --retry-join names --- */

static void *
cp_agent_resolve_main(void *arg)
{
	struct cp_agent *a = arg;
	const struct cp_cfg *cfg = a->res_cfg;
	uint64_t one = 1;

	a->res_nb = cp_cfg_resolve_seeds(
		(const char (*)[CP_SEED_LEN])cfg->retry_seeds,
		cfg->nb_retry_seeds, &cfg->bind, a->res_addrs, CP_SEEDS_MAX,
		a->res_err, sizeof(a->res_err));
	if (write(a->res_efd, &one, sizeof(one)) != sizeof(one))
		return NULL;	/* cannot happen with an eventfd */
	return NULL;
}

/* The resolver is done: its addresses become this attempt's seeds. */
static void
cp_agent_on_resolved(struct cp_io *io, uint32_t events, uint64_t now_us)
{
	struct cp *cp = io->ctx;
	struct cp_agent *a = cp->agent;
	uint64_t v;

	(void)events;
	if (read(a->res_efd, &v, sizeof(v)) != sizeof(v) || !a->is_resolving)
		return;
	pthread_join(a->res_thread, NULL);
	a->is_resolving = false;
	if (a->res_err[0] != '\0')
		CP_LOG(WARN, "agent: retry-join: %s", a->res_err);
	memcpy(cp->cfg.retry_join, a->res_addrs, sizeof(a->res_addrs));
	cp->cfg.nb_retry_join = a->res_nb;
	cp->retry_next_us = now_us;
	a->resolved_for = now_us;
}

/* Start a resolver thread, signals blocked (they are control's). */
static int
cp_agent_resolve_start(struct cp *cp, struct cp_agent *a)
{
	sigset_t all, old;
	int rc;

	a->res_cfg = &cp->cfg;
	a->res_err[0] = '\0';
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&a->res_thread, NULL, cp_agent_resolve_main, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return -rc;
	a->is_resolving = true;
	return 0;
}

/* A retry-join attempt with names is due: resolve first, off-thread. */
static void
cp_agent_retry_tick(struct cp *cp, struct cp_agent *a, uint64_t now_us)
{
	if (cp->cfg.nb_retry_seeds == cp->cfg.nb_retry_join ||
	    a->res_efd < 0 || cp->retry_next_us == 0 ||
	    cp->retry_next_us > now_us || a->resolved_for == cp->retry_next_us)
		return;	/* literals only, not due, or resolved for it */
	if (a->is_resolving || cp_agent_resolve_start(cp, a) == 0) {
		cp->retry_next_us = UINT64_MAX - 1;	/* parked */
		return;
	}
	CP_LOG(WARN, "agent: retry-join: cannot start a resolver thread");
	a->resolved_for = cp->retry_next_us;	/* try with the literals */
}

/* --- reload --- */

int
cp_agent_on_reload(struct cp *cp, cp_agent_reload_f f, void *ctx)
{
	struct cp_agent *a = cp->agent;

	if (a == NULL || a->nb_hooks == CP_AGENT_HOOKS_MAX)
		return -ENOSPC;
	a->hooks[a->nb_hooks++] = (struct cp_agent_hook){f, ctx};
	return 0;
}

/* The tags file changed by hand: apply it as serf's SetTags would. */
static void
cp_agent_reload_tags(struct cp *cp, struct cp_cfg *next)
{
	char err[512];
	int n = cp_cfg_tags_read(next->tags_file, next->tags, CP_TAGS_MAX,
				 err, sizeof(err));

	if (n < 0) {
		CP_LOG(ERR, "agent: %s", err);
		return;
	}
	next->nb_tags = (unsigned)n;
	if (next->nb_tags == cp->cfg.nb_tags &&
	    memcmp(next->tags, cp->cfg.tags,
		   next->nb_tags * sizeof(next->tags[0])) == 0)
		return;
	if (cp_serf_set_tags(cp, next->tags, next->nb_tags) != 0) {
		CP_LOG(ERR, "agent: tags file %s: tags exceed %d bytes of "
		       "meta", next->tags_file, SWIM_META_MAX);
		return;
	}
	memcpy(cp->cfg.tags, next->tags, sizeof(cp->cfg.tags));
	cp->cfg.nb_tags = next->nb_tags;
	/* They came from the file: no need to write them back. */
	memcpy(cp->agent->tags_saved, next->tags, sizeof(next->tags));
	cp->agent->nb_tags_saved = next->nb_tags;
	CP_LOG(INFO, "agent: tags reloaded from %s (%u tags)",
	       next->tags_file, next->nb_tags);
}

void
cp_agent_reload(struct cp *cp)
{
	static struct cp_cfg next;	/* ~60 KiB: not on the stack */
	struct cp_agent *a = cp->agent;
	char err[512];

	CP_LOG(INFO, "agent: Reloading configuration...");
	cp_cfg_default(&next);
	if (a == NULL ||
	    cp_cfg_parse(&next, a->argc, a->argv, err, sizeof(err)) != 0) {
		CP_LOG(ERR, "agent: Failed to reload configs: %s",
		       a == NULL ? "no agent" : err);
		return;
	}
	for (unsigned i = 0; i < a->nb_hooks; i++)
		a->hooks[i].f(cp, &next, a->hooks[i].ctx);
	cp_log_set_level(next.log_level);
	cp->cfg.log_level = next.log_level;
	memcpy(cp->cfg.event_handlers, next.event_handlers,
	       sizeof(next.event_handlers));
	cp->cfg.nb_event_handlers = next.nb_event_handlers;
	if (next.tags_file[0] != '\0' &&
	    strcmp(next.tags_file, cp->cfg.tags_file) == 0)
		cp_agent_reload_tags(cp, &next);
	CP_LOG(INFO, "agent: configuration reloaded: log level %s",
	       cp_log_level_str[next.log_level]);
}

/* --- signals --- */

/* SIGINT or SIGTERM: leave gracefully, or stop; a second one stops. */
static void
cp_agent_stop(struct cp *cp, bool graceful, const char *name,
	      uint64_t now_us)
{
	CP_LOG(INFO, "agent: Caught signal: %s", name);
	if (cp->leave != CP_LEAVE_NONE) {
		CP_LOG(WARN, "agent: second signal: stopping without "
		       "finishing the leave");
		cp->is_done = true;
		return;
	}
	if (!graceful) {
		/* serf: no leave; the others see us fail, then rejoin. */
		cp->is_done = true;
		return;
	}
	cp_leave_start(cp, now_us);
}

static void
cp_agent_signals_tick(struct cp *cp, struct cp_agent *a, uint64_t now_us)
{
	sig_atomic_t hup = cp_nb_sighup, in = cp_nb_sigint;
	sig_atomic_t term = cp_nb_sigterm;

	if (hup != a->seen_hup) {
		a->seen_hup = hup;
		CP_LOG(INFO, "agent: Caught signal: hangup");
		cp_agent_reload(cp);
	}
	if (in != a->seen_int) {
		a->seen_int = in;
		cp_agent_stop(cp, !cp->cfg.skip_leave_on_interrupt,
			      "interrupt", now_us);
	}
	if (term != a->seen_term) {
		a->seen_term = term;
		cp_agent_stop(cp, cp->cfg.leave_on_terminate, "terminated",
			      now_us);
	}
}

/* --- life cycle --- */

int
cp_agent_init(struct cp *cp, int argc, char **argv)
{
	struct cp_agent *a = &cp_agent_state;
	char err[512];

	memset(a, 0, sizeof(*a));
	a->argc = argc;
	a->argv = argv;
	a->seen_int = cp_nb_sigint;
	a->seen_term = cp_nb_sigterm;
	a->seen_hup = cp_nb_sighup;
	memcpy(a->tags_saved, cp->cfg.tags, sizeof(a->tags_saved));
	a->nb_tags_saved = cp->cfg.nb_tags;
	a->res_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	a->res_io = (struct cp_io){a->res_efd, cp_agent_on_resolved, cp};
	if (a->res_efd < 0 || cp_io_add(cp->epfd, &a->res_io, EPOLLIN) != 0) {
		fprintf(stderr, "gossipd: eventfd: %s\n", strerror(errno));
		return -1;
	}
	cp->agent = a;
	if (cp->cfg.snapshot_path[0] == '\0')
		return 0;
	a->snap = cp_snap_open(cp->cfg.snapshot_path,
			       cp->cfg.rejoin_after_leave, err, sizeof(err));
	if (a->snap == NULL) {
		fprintf(stderr, "gossipd: %s\n", err);
		return -1;
	}
	cp_agent_restore_clocks(cp, a->snap);
	return 0;
}

void
cp_agent_tick(struct cp *cp, uint64_t now_us)
{
	struct cp_agent *a = cp->agent;

	if (a == NULL)
		return;
	cp_agent_signals_tick(cp, a, now_us);
	cp_agent_retry_tick(cp, a, now_us);
	if (now_us < a->next_us && cp->leave == CP_LEAVE_NONE)
		return;
	a->next_us = now_us + CP_AGENT_PERIOD_US;
	if (a->snap != NULL)
		cp_agent_snap_tick(cp, a->snap);
	cp_agent_tags_tick(cp, a);
}

uint64_t
cp_agent_next_deadline(const struct cp *cp)
{
	const struct cp_agent *a = cp->agent;

	/* Nothing timed without a snapshot or a tags file to keep. */
	if (a == NULL || (a->snap == NULL && cp->cfg.tags_file[0] == '\0'))
		return UINT64_MAX;
	return a->next_us;
}

void
cp_agent_fini(struct cp *cp)
{
	struct cp_agent *a = cp->agent;

	if (a == NULL)
		return;
	if (a->snap != NULL && cp->serf != NULL)
		cp_agent_snap_tick(cp, a->snap);
	cp_snap_close(a->snap);
	a->snap = NULL;
	if (a->is_resolving)	/* DNS may take seconds: do not wait */
		pthread_detach(a->res_thread);
	else if (a->res_efd >= 0)
		close(a->res_efd);	/* with the epoll fd going too */
	a->is_resolving = false;
	cp->agent = NULL;
}
