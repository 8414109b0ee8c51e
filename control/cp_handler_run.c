/* SPDX-License-Identifier: MIT */
/*
 * The event-handler runner (cp_handler.h): scripts run one at a time in
 * event order, as serf's agent runs them, each a posix_spawn'd
 * `/bin/sh -c script` in its own process group. Its stdin pipe, its
 * stdout+stderr pipe and its pidfd sit in the runner's epoll fd, which
 * control nests in its reactor: nothing here ever waits. A read pass
 * takes at most CP_HRUN_READ_MAX bytes, so a script writing without end
 * cannot hold the control thread either.
 *
 * Owns: the queue of events, the script set, the child and its fds.
 */
#include "cp_handler.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cp_log.h"

extern char **environ;

/* Bytes read from a script per dispatch pass, and per read call. */
#define CP_HRUN_READ_MAX (1u << 20)
#define CP_HRUN_CHUNK (64u << 10)
/* Without a pidfd (old kernels), how often the child is checked. */
#define CP_HRUN_POLL_US 20000
/* Drops are logged at most this often (with the count since). */
#define CP_HRUN_DROP_LOG_US (10ull * 1000000)

enum { CP_HRUN_TAG_OUT = 1, CP_HRUN_TAG_IN, CP_HRUN_TAG_PID };

struct cp_hrun {
	struct cp_hrun_cfg cfg;
	int epfd;
	struct cp_hset cur;		/* in effect for the current event */
	struct cp_hset next;		/* newer set, from the next event */
	bool has_next;
	struct cp_hevent *head, *tail;	/* waiting events */
	unsigned nb_queued;
	size_t queued_bytes;
	struct cp_hevent *ev;		/* the event being handled */
	unsigned script_idx;		/* next script to consider */
	const struct cp_hscript *script;	/* running now */
	pid_t pid;			/* 0: nothing running */
	int pidfd, fd_in, fd_out;	/* -1 when closed */
	size_t in_off;			/* stdin bytes written */
	bool is_exited, is_killed, is_slow;
	int status;
	uint64_t start_us, slow_at, kill_at, poll_at;
	uint8_t *ring;			/* the last cfg.out_max bytes */
	size_t ring_head, ring_len;
	uint64_t out_total;
	uint8_t *chunk;			/* read buffer, then linearised out */
	struct cp_hrun_stats st;
	uint64_t drop_log_us, drops_unlogged;
};

void
cp_hrun_cfg_default(struct cp_hrun_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->timeout_us = 60ull * 1000000;
	cfg->slow_us = 1000000;
	cfg->out_max = CP_HANDLER_OUT_MAX;
	cfg->queue_max = 1024;
	cfg->queue_bytes_max = 16u << 20;
	cfg->shell = "/bin/sh";
}

/* A script that quits without reading its stdin must cost an EPIPE, not
 * the process: SIGPIPE ignored unless someone handles it (gossipd
 * ignores it anyway; the children get it back at its default). */
static void
cp_hrun_sigpipe(void)
{
	struct sigaction sa;

	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL &&
	    !(sa.sa_flags & SA_SIGINFO))
		signal(SIGPIPE, SIG_IGN);
}

struct cp_hrun *
cp_hrun_new(const struct cp_hrun_cfg *cfg)
{
	struct cp_hrun *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->cfg = *cfg;
	cp_hrun_sigpipe();
	if (r->cfg.out_max == 0)
		r->cfg.out_max = 1;
	r->pidfd = r->fd_in = r->fd_out = -1;
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	r->ring = malloc(r->cfg.out_max);
	r->chunk = malloc(CP_HRUN_CHUNK > r->cfg.out_max ? CP_HRUN_CHUNK
							 : r->cfg.out_max);
	if (r->epfd < 0 || r->ring == NULL || r->chunk == NULL) {
		cp_hrun_delete(r);
		return NULL;
	}
	return r;
}

int
cp_hrun_fd(const struct cp_hrun *r)
{
	return r->epfd;
}

/* --- the child's fds --- */

static void
cp_hrun_close(struct cp_hrun *r, int *fd)
{
	if (*fd < 0)
		return;
	epoll_ctl(r->epfd, EPOLL_CTL_DEL, *fd, NULL);
	close(*fd);
	*fd = -1;
}

static int
cp_hrun_watch(struct cp_hrun *r, int fd, uint32_t events, uint32_t tag)
{
	struct epoll_event e = {.events = events, .data.u32 = tag};

	return epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &e);
}

/* Keep the last out_max bytes of everything the script wrote. */
static void
cp_hrun_keep(struct cp_hrun *r, const uint8_t *p, size_t n)
{
	size_t max = r->cfg.out_max;

	r->out_total += n;
	if (n >= max) {
		memcpy(r->ring, p + n - max, max);
		r->ring_head = 0;
		r->ring_len = max;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		r->ring[(r->ring_head + r->ring_len) % max] = p[i];
		if (r->ring_len < max)
			r->ring_len++;
		else
			r->ring_head = (r->ring_head + 1) % max;
	}
}

/* Read what the script wrote, at most max bytes this pass. */
static void
cp_hrun_read(struct cp_hrun *r, size_t max)
{
	size_t total = 0;

	while (r->fd_out >= 0 && total < max) {
		ssize_t n = read(r->fd_out, r->chunk, CP_HRUN_CHUNK);

		if (n > 0) {
			cp_hrun_keep(r, r->chunk, (size_t)n);
			total += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		cp_hrun_close(r, &r->fd_out);	/* EOF or error */
	}
}

/* Feed stdin; a script that stops reading early is not an error of
 * ours (serf logs it for payloads), only counted. */
static void
cp_hrun_write(struct cp_hrun *r)
{
	while (r->fd_in >= 0 && r->in_off < r->ev->in_len) {
		ssize_t n = write(r->fd_in, r->ev->in + r->in_off,
				  r->ev->in_len - r->in_off);

		if (n > 0) {
			r->in_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		r->st.stdin_errors++;
		break;
	}
	cp_hrun_close(r, &r->fd_in);
}

/* --- start --- */

/* The spawn attributes: own process group, no blocked signals, serf's
 * children start with default dispositions (we ignore SIGPIPE). */
static int
cp_hrun_attr(posix_spawnattr_t *a)
{
	sigset_t none, def;

	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGHUP);
	sigaddset(&def, SIGCHLD);
	if (posix_spawnattr_init(a) != 0)
		return -1;
	if (posix_spawnattr_setflags(a, POSIX_SPAWN_SETPGROUP |
				     POSIX_SPAWN_SETSIGMASK |
				     POSIX_SPAWN_SETSIGDEF) != 0 ||
	    posix_spawnattr_setpgroup(a, 0) != 0 ||
	    posix_spawnattr_setsigmask(a, &none) != 0 ||
	    posix_spawnattr_setsigdefault(a, &def) != 0) {
		posix_spawnattr_destroy(a);
		return -1;
	}
	return 0;
}

/* stdin from in[0], stdout and stderr to out[1], nothing else open. */
static int
cp_hrun_actions(posix_spawn_file_actions_t *fa, const int in[2],
		const int out[2])
{
	if (posix_spawn_file_actions_init(fa) != 0)
		return -1;
	if (posix_spawn_file_actions_adddup2(fa, in[0], 0) != 0 ||
	    posix_spawn_file_actions_adddup2(fa, out[1], 1) != 0 ||
	    posix_spawn_file_actions_adddup2(fa, out[1], 2) != 0 ||
	    posix_spawn_file_actions_addclosefrom_np(fa, 3) != 0) {
		posix_spawn_file_actions_destroy(fa);
		return -1;
	}
	return 0;
}

static int
cp_hrun_spawn_child(struct cp_hrun *r, const char *script, char **env,
		    const int in[2], const int out[2])
{
	char *argv[] = {(char *)r->cfg.shell, "-c", (char *)script, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int rc;

	if (cp_hrun_attr(&attr) != 0)
		return -ENOMEM;
	if (cp_hrun_actions(&fa, in, out) != 0) {
		posix_spawnattr_destroy(&attr);
		return -ENOMEM;
	}
	rc = posix_spawn(&r->pid, r->cfg.shell, &fa, &attr, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0)
		r->pid = 0;
	return -rc;
}

/* Our pipe ends non-blocking and watched; the child's ends closed. */
static void
cp_hrun_wire(struct cp_hrun *r, const int in[2], const int out[2],
	     uint64_t now_us)
{
	close(in[0]);
	close(out[1]);
	r->fd_in = in[1];
	r->fd_out = out[0];
	fcntl(r->fd_in, F_SETFL, O_NONBLOCK);
	fcntl(r->fd_out, F_SETFL, O_NONBLOCK);
	cp_hrun_watch(r, r->fd_out, EPOLLIN, CP_HRUN_TAG_OUT);
	if (r->ev->in_len > 0)
		cp_hrun_watch(r, r->fd_in, EPOLLOUT, CP_HRUN_TAG_IN);
	else
		cp_hrun_close(r, &r->fd_in);
	r->pidfd = r->cfg.no_pidfd ? -1
				   : (int)syscall(SYS_pidfd_open, r->pid, 0);
	if (r->pidfd >= 0 &&
	    cp_hrun_watch(r, r->pidfd, EPOLLIN, CP_HRUN_TAG_PID) != 0)
		cp_hrun_close(r, &r->pidfd);
	r->start_us = now_us;
	r->slow_at = now_us + r->cfg.slow_us;
	r->kill_at = now_us + r->cfg.timeout_us;
	r->poll_at = now_us + CP_HRUN_POLL_US;
	r->is_exited = r->is_killed = r->is_slow = false;
	r->in_off = 0;
	r->ring_head = r->ring_len = 0;
	r->out_total = 0;
	cp_hrun_write(r);
}

/* Start s for the current event. @retval 0 or -errno (nothing runs). */
static int
cp_hrun_spawn(struct cp_hrun *r, const struct cp_hscript *s, uint64_t now_us)
{
	struct cp_hself self = {"", NULL, 0};
	int in[2] = {-1, -1}, out[2] = {-1, -1};
	char **env;
	int rc;

	if (r->cfg.self != NULL)
		r->cfg.self(r->cfg.ctx, &self);
	env = cp_handler_env(environ, &self, r->ev);
	if (env == NULL)
		return -ENOMEM;
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
		rc = -errno;
	} else {
		rc = cp_hrun_spawn_child(r, s->script, env, in, out);
	}
	cp_handler_env_free(env);
	if (rc != 0) {
		for (int i = 0; i < 2; i++) {
			if (in[i] >= 0)
				close(in[i]);
			if (out[i] >= 0)
				close(out[i]);
		}
		return rc;
	}
	r->script = s;
	r->st.runs++;
	cp_hrun_wire(r, in, out, now_us);
	return 0;
}

/* --- finish --- */

/* The result as serf's invokeEventScript words its errors. */
static void
cp_hrun_log(const struct cp_hrun *r, const struct cp_hresult *res)
{
	const char *script = r->script->script;
	const char *ev = serf_event_kind_str[r->ev->kind];

	if (res->out_total > r->cfg.out_max)
		CP_LOG(WARN, "agent: Script '%s' generated %llu bytes of "
		       "output, truncated to %zu", script,
		       (unsigned long long)res->out_total, r->cfg.out_max);
	if (cp_log_enabled(CP_LOG_DEBUG))
		CP_LOG(DEBUG, "agent: Event '%s' script output: %.*s", ev,
		       (int)res->out_len, (const char *)res->out);
	if (res->is_timeout)
		CP_LOG(ERR, "agent: Error invoking script '%s': killed after "
		       "%llu ms (timeout)", script,
		       (unsigned long long)(r->cfg.timeout_us / 1000));
	else if (WIFEXITED(res->status) && WEXITSTATUS(res->status) != 0)
		CP_LOG(ERR, "agent: Error invoking script '%s': exit status "
		       "%d", script, WEXITSTATUS(res->status));
	else if (WIFSIGNALED(res->status))
		CP_LOG(ERR, "agent: Error invoking script '%s': signal: %s",
		       script, strsignal(WTERMSIG(res->status)));
}

/* The child is gone: take the rest of its output, report, clean up. */
static void
cp_hrun_finish(struct cp_hrun *r, uint64_t now_us)
{
	struct cp_hresult res;
	size_t max = r->cfg.out_max;

	cp_hrun_read(r, CP_HRUN_READ_MAX);	/* what it wrote before exit */
	cp_hrun_close(r, &r->fd_out);	/* a grandchild may hold it open */
	cp_hrun_close(r, &r->fd_in);
	cp_hrun_close(r, &r->pidfd);
	for (size_t i = 0; i < r->ring_len; i++)
		r->chunk[i] = r->ring[(r->ring_head + i) % max];
	memset(&res, 0, sizeof(res));
	res.status = r->status;
	res.is_timeout = r->is_killed;
	res.is_ok = !r->is_killed && WIFEXITED(r->status) &&
		    WEXITSTATUS(r->status) == 0;
	res.out = r->chunk;
	res.out_len = r->ring_len;
	res.out_total = r->out_total;
	res.elapsed_us = now_us - r->start_us;
	if (!res.is_ok)
		r->st.failed++;
	if (r->out_total > max) {
		r->st.truncated++;
		r->st.out_discarded += r->out_total - max;
	}
	cp_hrun_log(r, &res);
	if (r->cfg.done != NULL)
		r->cfg.done(r->cfg.ctx, r->ev, r->script, &res);
	r->pid = 0;
	r->script = NULL;
}

/* Reap the child if it exited. @retval true when it did. */
static bool
cp_hrun_reap(struct cp_hrun *r)
{
	int status = 0;
	pid_t p;

	do {
		p = waitpid(r->pid, &status, WNOHANG);
	} while (p < 0 && errno == EINTR);
	if (p == 0)
		return false;
	/* ECHILD (someone set SIGCHLD to SIG_IGN): gone, status unknown */
	r->status = p > 0 ? status : 0;
	r->is_exited = true;
	return true;
}

/* Spawning failed: report it like a run that never started. */
static void
cp_hrun_spawn_failed(struct cp_hrun *r, const struct cp_hscript *s, int rc)
{
	struct cp_hresult res;

	memset(&res, 0, sizeof(res));
	res.is_spawn_error = true;
	res.out = r->chunk;	/* empty, never NULL */
	r->st.spawn_errors++;
	CP_LOG(ERR, "agent: Error invoking script '%s': %s", s->script,
	       strerror(-rc));
	if (r->cfg.done != NULL)
		r->cfg.done(r->cfg.ctx, r->ev, s, &res);
}

/* The next event from the queue, with the newest script set. */
static bool
cp_hrun_take(struct cp_hrun *r)
{
	if (r->head == NULL)
		return false;
	r->ev = r->head;
	r->head = r->ev->next;
	if (r->head == NULL)
		r->tail = NULL;
	r->ev->next = NULL;
	r->nb_queued--;
	r->queued_bytes -= r->ev->in_len;
	if (r->has_next) {	/* serf swaps in new scripts per event */
		cp_hset_free(&r->cur);
		r->cur = r->next;
		r->next.v = NULL;
		r->next.nb = 0;
		r->has_next = false;
	}
	r->script_idx = 0;
	return true;
}

/* Start the next matching script, of this event or a later one. */
static void
cp_hrun_next(struct cp_hrun *r, uint64_t now_us)
{
	while (r->pid == 0) {
		const struct cp_hscript *s = NULL;
		int rc;

		if (r->ev == NULL && !cp_hrun_take(r))
			return;
		while (s == NULL && r->script_idx < r->cur.nb) {
			s = &r->cur.v[r->script_idx++];
			if (!cp_hscript_match(s, r->ev))
				s = NULL;
		}
		if (s == NULL) {	/* this event is done */
			free(r->ev);
			r->ev = NULL;
			continue;
		}
		rc = cp_hrun_spawn(r, s, now_us);
		if (rc != 0)
			cp_hrun_spawn_failed(r, s, rc);
	}
}

/* --- the owner's calls --- */

static void
cp_hrun_drop(struct cp_hrun *r, uint64_t now_us, struct cp_hevent *ev)
{
	r->st.dropped++;
	r->drops_unlogged++;
	if (r->drop_log_us == 0 || now_us >= r->drop_log_us) {
		CP_LOG(WARN, "agent: event handler queue full (%u events, "
		       "%zu bytes): dropped %llu event(s), the last a %s",
		       r->nb_queued, r->queued_bytes,
		       (unsigned long long)r->drops_unlogged,
		       serf_event_kind_str[ev->kind]);
		r->drops_unlogged = 0;
		r->drop_log_us = now_us + CP_HRUN_DROP_LOG_US;
	}
	free(ev);
}

int
cp_hrun_push(struct cp_hrun *r, uint64_t now_us, struct cp_hevent *ev)
{
	if (r->nb_queued >= r->cfg.queue_max ||
	    r->queued_bytes + ev->in_len > r->cfg.queue_bytes_max) {
		cp_hrun_drop(r, now_us, ev);
		return -ENOBUFS;
	}
	ev->next = NULL;
	if (r->tail == NULL)
		r->head = ev;
	else
		r->tail->next = ev;
	r->tail = ev;
	r->nb_queued++;
	r->queued_bytes += ev->in_len;
	cp_hrun_next(r, now_us);
	return 0;
}

void
cp_hrun_dispatch(struct cp_hrun *r, uint64_t now_us)
{
	struct epoll_event evs[4];
	int n = epoll_wait(r->epfd, evs, 4, 0);

	for (int i = 0; i < n && r->pid != 0; i++) {
		switch (evs[i].data.u32) {
		case CP_HRUN_TAG_OUT:
			cp_hrun_read(r, CP_HRUN_READ_MAX);
			break;
		case CP_HRUN_TAG_IN:
			cp_hrun_write(r);
			break;
		case CP_HRUN_TAG_PID:
			cp_hrun_reap(r);
			break;
		}
	}
	if (r->pid != 0 && r->is_exited)
		cp_hrun_finish(r, now_us);
	cp_hrun_next(r, now_us);
}

/* Past the timeout: kill the script's whole process group. */
static void
cp_hrun_kill(struct cp_hrun *r)
{
	CP_LOG(ERR, "agent: Script '%s' still running after %llu ms: "
	       "killing it", r->script->script,
	       (unsigned long long)(r->cfg.timeout_us / 1000));
	if (kill(-r->pid, SIGKILL) != 0)
		kill(r->pid, SIGKILL);
	r->is_killed = true;
	r->st.timeouts++;
}

void
cp_hrun_tick(struct cp_hrun *r, uint64_t now_us)
{
	if (r->pid != 0 && !r->is_slow && now_us >= r->slow_at) {
		r->is_slow = true;
		CP_LOG(WARN, "agent: Script '%s' slow, execution exceeding "
		       "%llu ms", r->script->script,
		       (unsigned long long)(r->cfg.slow_us / 1000));
	}
	if (r->pid != 0 && !r->is_killed && now_us >= r->kill_at)
		cp_hrun_kill(r);
	if (r->pid != 0 && r->pidfd < 0 && now_us >= r->poll_at) {
		r->poll_at = now_us + CP_HRUN_POLL_US;
		cp_hrun_read(r, CP_HRUN_READ_MAX);
		cp_hrun_reap(r);
	}
	if (r->pid != 0 && r->is_exited)
		cp_hrun_finish(r, now_us);
	cp_hrun_next(r, now_us);
}

uint64_t
cp_hrun_next_deadline(const struct cp_hrun *r)
{
	uint64_t next = UINT64_MAX;

	if (r->pid == 0)
		return r->head != NULL ? 0 : UINT64_MAX;
	if (!r->is_slow)
		next = r->slow_at;
	if (!r->is_killed && r->kill_at < next)
		next = r->kill_at;
	if (r->pidfd < 0 && r->poll_at < next)
		next = r->poll_at;
	return next;
}

bool
cp_hrun_is_idle(const struct cp_hrun *r)
{
	return r->pid == 0 && r->ev == NULL && r->head == NULL;
}

void
cp_hrun_set_scripts(struct cp_hrun *r, struct cp_hset *set)
{
	cp_hset_free(&r->next);
	r->next = *set;
	r->has_next = true;
	set->v = NULL;
	set->nb = 0;
}

unsigned
cp_hrun_nb_scripts(const struct cp_hrun *r)
{
	return r->has_next ? r->next.nb : r->cur.nb;
}

void
cp_hrun_get_stats(const struct cp_hrun *r, struct cp_hrun_stats *st)
{
	*st = r->st;
	st->queued = r->nb_queued;
}

void
cp_hrun_delete(struct cp_hrun *r)
{
	if (r == NULL)
		return;
	if (r->pid != 0) {
		int status;

		if (kill(-r->pid, SIGKILL) != 0)
			kill(r->pid, SIGKILL);
		while (waitpid(r->pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	cp_hrun_close(r, &r->fd_in);
	cp_hrun_close(r, &r->fd_out);
	cp_hrun_close(r, &r->pidfd);
	while (r->head != NULL) {
		struct cp_hevent *ev = r->head;

		r->head = ev->next;
		free(ev);
	}
	free(r->ev);
	cp_hset_free(&r->cur);
	cp_hset_free(&r->next);
	if (r->epfd >= 0)
		close(r->epfd);
	free(r->ring);
	free(r->chunk);
	free(r);
}
