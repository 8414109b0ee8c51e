/* SPDX-License-Identifier: MIT */
/*
 * The control loop: the only caller of the SWIM core. One iteration drains
 * the dataplane rings into swim_on_packet, runs swim_tick, flushes outputs
 * (UDP to the tx ring, TCP requests to cp_sync), dispatches events to the
 * Serf layer, publishes the fast-path snapshot, then sleeps in the reactor
 * until the earliest strict deadline (core, TCP streams, snapshot while
 * gossip is queued, handlers, retry-join, leave, a Serf query of ours)
 * or lax one plus its slack (Serf's reaps and reconnects, agent, metrics,
 * the stats check: cp_loop.h), or
 * until work arrives: TCP and RPC sockets, a signal, an inline socket
 * dataplane's UDP socket (whose turn then runs here, dp_inline_run), or
 * the doorbell that a threaded dataplane's lcore rings when it queues a
 * packet while control sleeps (dp_park). Nothing polls.
 *
 * Also here: the join bookkeeping (--join, --retry-join, RPC join) and the
 * graceful leave. Control thread only; never blocks outside epoll_pwait.
 */
#include "cp.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include "cp_agent.h"
#include "cp_loop.h"
#include "cp_metrics.h"
#include "cp_handler.h"
#include "cp_rpc.h"
#include "cp_sync_delta.h"
#include "cp_thp.h"
#include "dp.h"
#include "serf.h"

/* Extra wait after one gossip interval before dead{From: self}. */
#define CP_LEAVE_INTENT_SLACK_US (100ull * 1000)
/* Hard cap on a graceful leave. */
#define CP_LEAVE_MAX_US (5000ull * 1000)
/* How often the dataplane drop counters are checked for warnings. */
#define CP_STATS_PERIOD_US (10000ull * 1000)

/* --- dataplane in and out --- */

/* Send one datagram through the tx ring; too big or ring full = drop. */
static void
cp_loop_send(struct cp *cp, const struct swim_output *o)
{
	static struct dp_pkt pkt;	/* 2 KiB: not on the stack */

	if (o->len > DP_PKT_MAX) {
		CP_LOG(WARN, "memberlist: dropping %zu-byte packet", o->len);
		return;
	}
	pkt.addr = o->to;
	pkt.len = (uint16_t)o->len;
	pkt.flags = 0;
	memcpy(pkt.data, o->data, o->len);
	dp_send(cp->dp, &pkt);
}

/* Flush every pending core output. */
static void
cp_loop_outputs(struct cp *cp, uint64_t now_us)
{
	struct swim_output o;

	while (swim_pop_output(cp->swim, &o)) {
		switch (o.kind) {
		case SWIM_OUT_PACKET:
			cp_loop_send(cp, &o);
			break;
		case SWIM_OUT_TCP_PING:
			cp_sync_ping(cp->sync, now_us, &o.to, o.node, o.seq_no,
				     o.deadline_us);
			break;
		case SWIM_OUT_PUSH_PULL:
			cp_metrics_pp_start(cp->metrics, now_us, &o.to);
			/* a gossipd peer: delta sync (cp_sync_delta.h) */
			if (!o.join && cp_sync_delta_push_pull(cp->sync, now_us,
							       &o.to, o.node))
				break;
			cp_sync_push_pull_node(cp->sync, now_us, &o.to,
					       o.node, o.join);
			break;
		}
	}
}

/* Dispatch membership events: the Serf layer logs and reacts. */
void
cp_loop_events(struct cp *cp, uint64_t now_us)
{
	struct swim_event ev;

	while (swim_pop_event(cp->swim, &ev)) {
		if (ev.kind == SWIM_EV_SUSPECT)
			CP_LOG(INFO, "memberlist: Suspect %.*s has failed, "
			       "no acks received", (int)ev.member.name.len,
			       (const char *)ev.member.name.ptr);
		cp_metrics_on_event(cp->metrics, now_us, &ev);
		cp_serf_on_event(cp, now_us, &ev);
	}
}

/*
 * Drain every rx ring into the core. Events and outputs are taken after
 * each packet, so the core's bounded event and output queues never fill
 * within a burst.
 */
static void
cp_loop_rx(struct cp *cp, uint64_t now_us)
{
	unsigned n;

	do {
		n = dp_recv(cp->dp, cp->rx, DP_BURST);
		for (unsigned i = 0; i < n; i++) {
			const struct dp_pkt *p = &cp->rx[i];
			unsigned flags = 0;

			if (p->flags & DP_PKT_F_PINGS_ANSWERED)
				flags |= SWIM_PKT_PINGS_ANSWERED;
			swim_on_packet(cp->swim, now_us, &p->addr, p->data,
				       p->len, flags);
			cp_loop_events(cp, now_us);
			cp_loop_outputs(cp, now_us);
		}
	} while (n == DP_BURST);
}

/* The node name into the snapshot once, without printf's machinery. */
static void
cp_loop_snap_name(struct dp_snapshot *snap, const char *name)
{
	size_t n = strnlen(name, sizeof(snap->name) - 1);

	memcpy(snap->name, name, n);
	snap->name[n] = '\0';
}

/* Take new piggyback when the lcores answered pings since the last take;
 * the first snapshot takes none: it goes out before the join, when no ack
 * can carry our alive, and a take spends one of its 4 transmits.
 * @retval whether the snapshot's changed. */
static bool
cp_loop_snap_piggyback(struct cp *cp, struct dp_snapshot *snap)
{
	struct dp_stats st;
	unsigned nb = 0;
	size_t n = 0;
	bool had = snap->piggyback_len > 0;

	dp_get_stats(cp->dp, &st);
	if (!cp->has_published) {	/* (snap may hold another cp's: tests) */
		cp->last_acks_fast = st.acks_fast;
		snap->piggyback_len = 0;
		snap->nb_piggyback = 0;
		return had;
	}
	if (st.acks_fast == cp->last_acks_fast)
		return false;
	cp->last_acks_fast = st.acks_fast;
	if (swim_broadcast_queue_len(cp->swim) > 0)
		n = swim_take_piggyback(cp->swim, snap->piggyback,
					sizeof(snap->piggyback), &nb);
	snap->piggyback_len = (uint16_t)n;
	snap->nb_piggyback = (uint16_t)nb;
	return n > 0 || had;
}

/* Our coordinate as the ack payload. @retval whether it changed. */
static bool
cp_loop_snap_payload(struct cp *cp, struct dp_snapshot *snap)
{
	uint8_t buf[sizeof(snap->ack_payload)];
	size_t n = cp_serf_ack_payload(cp, buf, sizeof(buf));

	if (n == snap->ack_payload_len &&
	    memcmp(buf, snap->ack_payload, n) == 0)
		return false;
	memcpy(snap->ack_payload, buf, n);
	snap->ack_payload_len = (uint16_t)n;
	return true;
}

/*
 * Publish the fast-path snapshot about once per gossip interval: on any
 * wakeup at least half an interval after the last one, at the latest one
 * and a half intervals after it (publish_next_us) while gossip is queued
 * (the core's gossip tick wakes the loop once per interval then, so one
 * always falls in that window). With nothing queued it waits for the
 * next wakeup, however late: the snapshot never wakes the thread alone.
 * Piggyback is taken from the core (which counts each take as one
 * transmit) only when the lcores answered pings since the last take, so
 * broadcasts are not used up by snapshots nobody sends. A snapshot equal
 * to the one out already is not copied again (a copy here, two in the
 * dataplane, its ack template rebuilt), except once a probe interval:
 * an idle node's coordinate moves once a probe, its other wakeups
 * (acks, the pings of others) change nothing.
 */
static void
cp_loop_publish(struct cp *cp, uint64_t now_us)
{
	static struct dp_snapshot snap;	/* what went out last */
	static const struct cp *owner;	/* whose (tests run several) */
	static uint64_t last_us;	/* when it went out */
	bool is_changed = !cp->has_published || owner != cp;

	if (now_us + cp->gossip_interval_us < cp->publish_next_us)
		return;
	cp->publish_next_us = now_us + cp->gossip_interval_us * 3 / 2;
	if (is_changed)
		cp_loop_snap_name(&snap, cp->cfg.name);
	owner = cp;
	if (cp_loop_snap_piggyback(cp, &snap))
		is_changed = true;
	if (cp_loop_snap_payload(cp, &snap))
		is_changed = true;
	if (snap.keyring != cp->cfg.keyring) {	/* rotated by cp_keys.c */
		snap.keyring = cp->cfg.keyring;
		is_changed = true;
	}
	if (!is_changed && now_us - last_us < cp->probe_interval_us)
		return;
	dp_publish(cp->dp, &snap);
	cp->has_published = true;
	last_us = now_us;
}

/* Warn (rate-limited) when the dataplane or TCP streams dropped input. */
static void
cp_loop_stats(struct cp *cp, uint64_t now_us)
{
	struct cp_sync_stats ts;
	struct dp_stats st;
	uint64_t drops, bad;

	if (now_us < cp->stats_next_us)
		return;
	cp->stats_next_us = now_us + CP_STATS_PERIOD_US;
	dp_get_stats(cp->dp, &st);
	drops = st.drop_malformed + st.drop_ring_full + st.drop_too_big +
		st.drop_tx;
	if (drops > cp->last_drops)
		CP_LOG(WARN, "dataplane: %llu packets dropped in the last "
		       "period (malformed %llu, ring full %llu, tx %llu)",
		       (unsigned long long)(drops - cp->last_drops),
		       (unsigned long long)st.drop_malformed,
		       (unsigned long long)st.drop_ring_full,
		       (unsigned long long)st.drop_tx);
	cp->last_drops = drops;
	cp_sync_get_stats(cp->sync, &ts);
	bad = ts.bad_input + ts.encrypted + ts.too_big + ts.refused_full;
	if (bad > cp->last_tcp_bad)
		CP_LOG(WARN, "memberlist: %llu TCP streams refused in the last "
		       "period (malformed %llu, encrypted %llu, too big %llu, "
		       "over the stream cap %llu)",
		       (unsigned long long)(bad - cp->last_tcp_bad),
		       (unsigned long long)ts.bad_input,
		       (unsigned long long)ts.encrypted,
		       (unsigned long long)ts.too_big,
		       (unsigned long long)ts.refused_full);
	cp->last_tcp_bad = bad;
}

/* --- joins --- */

int
cp_join_start(struct cp *cp, uint64_t now_us, enum cp_join_kind kind,
	      uint64_t req_id, const struct swim_addr *seeds, unsigned nb)
{
	struct cp_join_group *g = NULL;

	for (unsigned i = 0; i < CP_JOIN_GROUPS && g == NULL; i++)
		if (!cp->joins[i].in_use)
			g = &cp->joins[i];
	if (g == NULL || nb == 0)
		return -EBUSY;
	if (nb > CP_SEEDS_MAX)
		nb = CP_SEEDS_MAX;
	memset(g, 0, sizeof(*g));
	g->in_use = true;
	g->kind = kind;
	g->req_id = req_id;
	g->nb = nb;
	memcpy(g->addrs, seeds, nb * sizeof(*seeds));
	swim_join(cp->swim, now_us, seeds, nb);
	cp_loop_outputs(cp, now_us);
	return 0;
}

static bool
cp_addr_eq(const struct swim_addr *a, const struct swim_addr *b)
{
	return a->ip_len == b->ip_len && a->port == b->port &&
	       memcmp(a->ip, b->ip, a->ip_len) == 0;
}

/* A group got every answer: tell whoever asked. */
static void
cp_join_finish(struct cp *cp, uint64_t now_us, struct cp_join_group *g)
{
	g->in_use = false;
	if (g->nb_ok > 0) {
		CP_LOG(INFO, "agent: Join completed. Synced with %u initial "
		       "agents", g->nb_ok);
		if (!cp->is_joined)
			cp_serf_joined(cp, now_us);
		cp->is_joined = true;
	}
	switch (g->kind) {
	case CP_JOIN_START:
		if (g->nb_ok > 0)
			return;
		CP_LOG(ERR, "agent: Error joining the cluster: none of the "
		       "%u --join addresses could be contacted", g->nb);
		cp->exit_code = 1;
		cp->is_done = true;
		return;
	case CP_JOIN_RETRY:
		if (g->nb_ok > 0) {
			cp->retry_next_us = 0;
			return;
		}
		cp->retry_attempts++;
		if (cp->cfg.retry_max != 0 &&
		    cp->retry_attempts >= cp->cfg.retry_max) {
			CP_LOG(ERR, "agent: max join retry exhausted");
			cp->retry_next_us = 0;
			return;
		}
		CP_LOG(WARN, "agent: Join failed, retrying in %llu ms",
		       (unsigned long long)(cp->cfg.retry_interval_us / 1000));
		cp->retry_next_us = now_us + cp->cfg.retry_interval_us;
		return;
	case CP_JOIN_REJOIN:
		if (g->nb_ok == 0)
			CP_LOG(WARN, "serf: Failed to re-join any previously "
			       "known node");
		return;
	case CP_JOIN_RPC:
		if (cp->rpc != NULL)
			cp_rpc_complete_join(cp->rpc, g->req_id, g->nb_ok,
					     g->nb_ok > 0 ? NULL :
					     "no seed could be joined");
		return;
	}
}

void
cp_join_done(struct cp *cp, uint64_t now_us, const struct swim_addr *to,
	     int err)
{
	for (unsigned i = 0; i < CP_JOIN_GROUPS; i++) {
		struct cp_join_group *g = &cp->joins[i];

		if (!g->in_use)
			continue;
		for (unsigned j = 0; j < g->nb; j++) {
			if (g->is_done[j] || !cp_addr_eq(&g->addrs[j], to))
				continue;
			g->is_done[j] = true;
			g->nb_done++;
			if (err == 0)
				g->nb_ok++;
			if (g->nb_done == g->nb)
				cp_join_finish(cp, now_us, g);
			return;
		}
	}
}

/* Start a --retry-join attempt when one is due. */
static void
cp_loop_retry(struct cp *cp, uint64_t now_us)
{
	if (cp->retry_next_us == 0 || now_us < cp->retry_next_us ||
	    cp->leave != CP_LEAVE_NONE)
		return;
	cp->retry_next_us = UINT64_MAX;	/* until this attempt finishes */
	CP_LOG(INFO, "agent: Joining cluster... (retry-join attempt %u)",
	       cp->retry_attempts + 1);
	if (cp_join_start(cp, now_us, CP_JOIN_RETRY, 0, cp->cfg.retry_join,
			  cp->cfg.nb_retry_join) != 0)
		cp->retry_next_us = now_us + cp->cfg.retry_interval_us;
}

/* --- graceful leave --- */

void
cp_leave_start(struct cp *cp, uint64_t now_us)
{
	if (cp->leave != CP_LEAVE_NONE)
		return;
	CP_LOG(INFO, "agent: Gracefully shutting down agent...");
	CP_LOG(INFO, "serf: EventMemberLeave (intent): %s", cp->cfg.name);
	cp_serf_leave(cp, now_us);
	cp->leave = CP_LEAVE_INTENT;
	cp->leave_start_us = now_us;
}

/* Intent first, then dead{From: self} a gossip round later, as serf. */
static void
cp_loop_leave(struct cp *cp, uint64_t now_us)
{
	if (cp->nb_signals > 1 && cp->leave != CP_LEAVE_NONE) {
		cp->is_done = true;	/* second signal: stop at once */
		return;
	}
	if (cp->nb_signals > 0 && cp->leave == CP_LEAVE_NONE)
		cp_leave_start(cp, now_us);
	switch (cp->leave) {
	case CP_LEAVE_NONE:
		return;
	case CP_LEAVE_INTENT:
		/* A gossip round for the intent to go out first, as serf. */
		if (now_us - cp->leave_start_us <
		    cp->gossip_interval_us + CP_LEAVE_INTENT_SLACK_US)
			return;
		swim_leave(cp->swim, now_us);
		cp_serf_left(cp);
		cp->leave = CP_LEAVE_DEAD;
		return;
	case CP_LEAVE_DEAD:
		if (cp->leave_done_us == 0 && swim_leave_done(cp->swim))
			cp->leave_done_us = now_us;
		if ((cp->leave_done_us != 0 &&
		     now_us - cp->leave_done_us >= cp->leave_propagate_us) ||
		    now_us - cp->leave_start_us >= CP_LEAVE_MAX_US)
			cp->is_done = true;
		return;
	}
}

/* When cp_loop_leave next has something to do; UINT64_MAX: nothing. A
 * signal ends the wait by itself (EINTR), and swim_leave_done can only
 * turn true in a core call, after which this is asked again. */
static uint64_t
cp_loop_leave_deadline(const struct cp *cp)
{
	uint64_t next;

	switch (cp->leave) {
	case CP_LEAVE_INTENT:
		return cp->leave_start_us + cp->gossip_interval_us +
		       CP_LEAVE_INTENT_SLACK_US;
	case CP_LEAVE_DEAD:
		next = cp->leave_start_us + CP_LEAVE_MAX_US;
		if (cp->leave_done_us != 0 &&
		    cp->leave_done_us + cp->leave_propagate_us < next)
			next = cp->leave_done_us + cp->leave_propagate_us;
		return next;
	case CP_LEAVE_NONE:
		break;
	}
	return UINT64_MAX;
}

static uint64_t
cp_min_us(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* --- the loop --- */

/* Wakeups of the loop (cp_loop.h); control thread only. */
static struct cp_loop_stats cp_loop_counters;

uint64_t
cp_loop_lax_us(uint64_t due_us, uint64_t slack_us)
{
	return due_us > UINT64_MAX - slack_us ? UINT64_MAX : due_us + slack_us;
}

uint64_t
cp_loop_slack_us(const struct cp *cp)
{
	return cp->probe_interval_us;
}

uint64_t
cp_loop_strict_deadline(const struct cp *cp)
{
	uint64_t next = swim_next_deadline(cp->swim);

	/* a query of ours ends at its deadline: Serf is strict meanwhile */
	if (cp_serf_has_query(cp))
		next = cp_min_us(next, serf_next_deadline(cp->serf));
	if (cp->sync != NULL)
		next = cp_min_us(next, cp_sync_next_deadline(cp->sync));
	/* The snapshot's own deadline matters only while there is gossip
	 * to piggyback; else it rides on whatever wakes the loop (probes,
	 * acks, RPC), which is when the ack payload changes anyway. */
	if (!cp->has_published || swim_broadcast_queue_len(cp->swim) > 0)
		next = cp_min_us(next, cp->publish_next_us);
	next = cp_min_us(next, cp_handler_next_deadline(cp));
	/* UINT64_MAX while an attempt is in flight: its result wakes us */
	if (cp->retry_next_us != 0 && cp->leave == CP_LEAVE_NONE)
		next = cp_min_us(next, cp->retry_next_us);
	return cp_min_us(next, cp_loop_leave_deadline(cp));
}

uint64_t
cp_loop_lax_deadline(const struct cp *cp)
{
	uint64_t slack = cp_loop_slack_us(cp);
	uint64_t next = UINT64_MAX;

	/* reaps (15 s), reconnects (30 s), reap deadlines of failed and
	 * left members (24 h): a probe interval late at most */
	if (!cp_serf_has_query(cp))
		next = cp_loop_lax_us(serf_next_deadline(cp->serf), slack);
	next = cp_min_us(next, cp_loop_lax_us(cp_agent_next_deadline(cp),
					      slack));
	next = cp_min_us(next, cp_loop_lax_us(
			 cp_metrics_next_deadline(cp->metrics), slack));
	/* The drop-counter check rides on the probes too, and wakes the
	 * loop only when nothing else did for a whole period after it was
	 * due (its slack is its period). */
	return cp_min_us(next, cp_loop_lax_us(cp->stats_next_us,
					      CP_STATS_PERIOD_US));
}

uint64_t
cp_loop_next_deadline(const struct cp *cp)
{
	return cp_min_us(cp_loop_strict_deadline(cp),
			 cp_loop_lax_deadline(cp));
}

void
cp_loop_get_stats(struct cp_loop_stats *st)
{
	*st = cp_loop_counters;
}

int
cp_loop_timeout_ms(const struct cp *cp, uint64_t now_us)
{
	uint64_t next = cp_loop_next_deadline(cp);
	uint64_t ms;

	if (next == UINT64_MAX)
		return -1;
	if (next <= now_us)
		return 0;
	/* rounded up: waking before the deadline would only wake again */
	ms = (next - now_us + 999) / 1000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* The doorbell rang: reset it; the next iteration drains the rings. */
static void
cp_loop_on_bell(struct cp_io *io, uint32_t events, uint64_t now_us)
{
	struct cp *cp = io->ctx;

	(void)events;
	(void)now_us;
	dp_bell_clear(cp->dp);
}

/* An inline dataplane's socket is readable: run its rx and tx here. */
static void
cp_loop_on_dp(struct cp_io *io, uint32_t events, uint64_t now_us)
{
	struct cp *cp = io->ctx;

	(void)events;
	(void)now_us;
	/* Awake now: what the turn passes to control must not ring our own
	 * doorbell (a write, an epoll turn and a read for nothing). */
	dp_unpark(cp->dp);
	dp_inline_run(cp->dp, true);
}

/* Put the doorbell (and an inline dataplane's socket) into the reactor
 * once: the init steps know nothing of them. */
static void
cp_loop_bell_init(struct cp *cp)
{
	if (!cp->has_dp_io && cp->dp != NULL && dp_inline_fd(cp->dp) >= 0) {
		cp->dp_io.fd = dp_inline_fd(cp->dp);
		cp->dp_io.on_event = cp_loop_on_dp;
		cp->dp_io.ctx = cp;
		if (cp_io_add(cp->epfd, &cp->dp_io, EPOLLIN) == 0)
			cp->has_dp_io = true;
	}
	if (cp->has_bell_io || cp->dp == NULL || dp_bell_fd(cp->dp) < 0)
		return;
	cp->bell_io.fd = dp_bell_fd(cp->dp);
	cp->bell_io.on_event = cp_loop_on_bell;
	cp->bell_io.ctx = cp;
	if (cp_io_add(cp->epfd, &cp->bell_io, EPOLLIN) == 0)
		cp->has_bell_io = true;
}

/*
 * Sleep in the reactor until the next deadline or some work. Parked, the
 * lcores ring the doorbell for a packet; dp_park's recheck of the rings
 * after parking is what makes a packet queued just before the sleep
 * count (no lost wakeup). Without a doorbell, poll every 1 ms as before.
 */
static void
cp_loop_wait(struct cp *cp)
{
	int timeout;
	bool is_parked = false;
	int rc;

	cp_loop_bell_init(cp);
	if (cp->dp != NULL)
		dp_inline_run(cp->dp, false);	/* inline: what dp_send queued */
	timeout = cp_loop_timeout_ms(cp, cp_now_us());
	if (!cp->has_bell_io && (timeout < 0 || timeout > 1))
		timeout = 1;
	if (timeout != 0 && cp->dp != NULL) {
		is_parked = dp_park(cp->dp);
		if (!is_parked)
			timeout = 0;
	}
	rc = cp_io_pwait(cp->epfd, timeout,
			 cp->has_wait_sigmask ? &cp->wait_sigmask : NULL);
	if (is_parked)
		dp_unpark(cp->dp);
	cp_loop_counters.nb_turns++;
	if (rc > 0)
		cp_loop_counters.nb_events++;
	else if (rc == 0 && timeout != 0)
		cp_loop_counters.nb_timeouts++;
	if (rc < 0)
		CP_LOG(ERR, "agent: epoll_wait failed");
}

void
cp_loop_once(struct cp *cp)
{
	uint64_t now_us = cp_now_us();

	cp_loop_rx(cp, now_us);
	swim_tick(cp->swim, now_us);
	cp_serf_tick(cp, now_us);
	cp_loop_outputs(cp, now_us);
	cp_loop_events(cp, now_us);
	cp_loop_outputs(cp, now_us);
	cp_loop_publish(cp, now_us);
	cp_agent_tick(cp, now_us);	/* signals, snapshot; before retry */
	cp_handler_tick(cp, now_us);	/* coalescing, handler timers */
	cp_loop_retry(cp, now_us);
	cp_loop_leave(cp, now_us);
	cp_loop_stats(cp, now_us);
	cp_metrics_tick(cp->metrics, cp, now_us);	/* once a second */
	(void)cp_thp_tick();	/* big tables on huge pages (cp_thp.h) */
	if (cp->is_done)
		return;
	cp_loop_wait(cp);
	cp_sync_expire(cp->sync, cp_now_us());
}

int
cp_loop_run(struct cp *cp)
{
	sigset_t stop;

	/* SIGINT/TERM/HUP only inside epoll_pwait: a signal that comes while
	 * the loop works waits there and ends the next sleep at once,
	 * instead of landing between the check and the sleep. The dataplane
	 * threads block every signal (dp_new), so it comes to us. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &stop, &cp->wait_sigmask) == 0)
		cp->has_wait_sigmask = true;
	while (!cp->is_done)
		cp_loop_once(cp);
	if (cp->has_leave_rpc && cp->rpc != NULL) {
		cp_rpc_complete_leave(cp->rpc, cp->leave_rpc_id, NULL);
		cp_rpc_poll(cp->rpc, 0);
	}
	if (cp->has_wait_sigmask)
		pthread_sigmask(SIG_SETMASK, &cp->wait_sigmask, NULL);
	cp->has_wait_sigmask = false;
	return cp->exit_code;
}
