/* SPDX-License-Identifier: MIT */
/*
 * The event-handler runner (control/cp_handler_run.c) with real /bin/sh
 * children: output and environment, one script at a time in order, the
 * bounds (a hanging script killed with its process group, megabytes of
 * output read and discarded, a full queue dropping with a count), no fd
 * or blocked signal leaking into the child, spawn errors.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cp_handler.h"

struct rec {
	enum serf_event_kind kind;
	char script[CP_HANDLER_LEN];
	struct cp_hresult r;
	char out[CP_HANDLER_OUT_MAX + 1];
};

static struct rec recs[16];
static unsigned nb_recs;
static char dir[64];

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void
on_self(void *ctx, struct cp_hself *out)
{
	static const struct serf_tag t[] = {{"role", "web", 4, 3},
					    {"dc", "x", 2, 1}};

	(void)ctx;
	out->name = "a1";
	out->tags = t;
	out->nb_tags = 2;
}

static void
on_done(void *ctx, const struct cp_hevent *ev, const struct cp_hscript *s,
	const struct cp_hresult *r)
{
	struct rec *x;

	(void)ctx;
	cr_assert_lt(nb_recs, 16);
	x = &recs[nb_recs++];
	x->kind = ev->kind;
	snprintf(x->script, sizeof(x->script), "%s", s->script);
	x->r = *r;
	cr_assert_not_null(r->out);
	memcpy(x->out, r->out, r->out_len);
	x->out[r->out_len] = '\0';
	x->r.out = NULL;
}

static void
setup(void)
{
	nb_recs = 0;
	snprintf(dir, sizeof(dir), "/tmp/cp_handler.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(cp_hrun, .init = setup, .fini = teardown, .timeout = 30);

static struct cp_hrun *
runner(const char *const *specs, unsigned nb, struct cp_hrun_cfg *cfg)
{
	static char sp[8][CP_HANDLER_LEN];
	struct cp_hrun_cfg def;
	struct cp_hrun *r;
	struct cp_hset set;
	char err[256];

	if (cfg == NULL) {
		cp_hrun_cfg_default(&def);
		cfg = &def;
	}
	cfg->self = on_self;
	cfg->done = on_done;
	for (unsigned i = 0; i < nb; i++)
		snprintf(sp[i], sizeof(sp[i]), "%s", specs[i]);
	cr_assert_eq(cp_hset_parse(&set, (const char (*)[CP_HANDLER_LEN])sp,
				   nb, err, sizeof(err)), 0, "%s", err);
	r = cp_hrun_new(cfg);
	cr_assert_not_null(r);
	cp_hrun_set_scripts(r, &set);
	return r;
}

/* The owner's loop: wait on the runner's fd and its deadline. */
static void
drive(struct cp_hrun *r, unsigned max_ms)
{
	uint64_t end = now_us() + (uint64_t)max_ms * 1000;

	while (!cp_hrun_is_idle(r) && now_us() < end) {
		struct pollfd p = {.fd = cp_hrun_fd(r), .events = POLLIN};

		poll(&p, 1, 10);
		cp_hrun_dispatch(r, now_us());
		cp_hrun_tick(r, now_us());
	}
	cr_assert(cp_hrun_is_idle(r), "runner still busy after %u ms",
		  max_ms);
}

static struct cp_hevent *
user_ev(const char *name, const char *payload)
{
	struct cp_hevent *ev = cp_hevent_payload(
		SERF_EV_USER, name, (const uint8_t *)payload, strlen(payload));

	ev->ltime = 9;
	return ev;
}

Test(cp_hrun, output_env_and_stdin)
{
	const char *specs[] = {"user=cat; printf '%s|%s|%s|%s|%s' "
			       "\"$SERF_EVENT\" \"$SERF_USER_EVENT\" "
			       "\"$SERF_USER_LTIME\" \"$SERF_SELF_ROLE\" "
			       "\"$SERF_TAG_DC\" >&2"};
	struct cp_hrun *r = runner(specs, 1, NULL);
	struct cp_hrun_stats st;

	cr_assert_eq(cp_hrun_push(r, now_us(), user_ev("deploy", "v1 2")), 0);
	drive(r, 5000);
	cr_assert_eq(nb_recs, 1);
	cr_assert(recs[0].r.is_ok);
	cr_assert_str_eq(recs[0].out, "v1 2\nuser|deploy|9|web|x");
	cr_assert_eq(recs[0].r.out_total, strlen(recs[0].out));
	cp_hrun_get_stats(r, &st);
	cr_assert_eq(st.runs, 1);
	cr_assert_eq(st.failed, 0);
	cp_hrun_delete(r);
}

Test(cp_hrun, scripts_in_order_one_at_a_time)
{
	char spec[2][512];
	const char *specs[2] = {spec[0], spec[1]};
	char path[128], buf[512] = "";
	struct cp_hrun *r;
	FILE *f;

	snprintf(path, sizeof(path), "%s/log", dir);
	snprintf(spec[0], sizeof(spec[0]), "user=echo \"a $(cat) start\" >> "
		 "%s; sleep 0.05; echo a end >> %s", path, path);
	snprintf(spec[1], sizeof(spec[1]), "user:e2=echo b >> %s", path);
	r = runner(specs, 2, NULL);
	cp_hrun_push(r, now_us(), user_ev("e1", "1"));
	cr_assert_not(cp_hrun_is_idle(r));	/* running, not waited for */
	cp_hrun_push(r, now_us(), user_ev("e2", "2"));
	cp_hrun_push(r, now_us(), user_ev("e3", "3"));
	drive(r, 5000);
	cr_assert_eq(nb_recs, 4);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_eq(fread(buf, 1, sizeof(buf) - 1, f) > 0, true);
	fclose(f);
	cr_assert_str_eq(buf, "a 1 start\na end\na 2 start\na end\nb\n"
			 "a 3 start\na end\n");
	cp_hrun_delete(r);
}

Test(cp_hrun, failure_statuses)
{
	const char *specs[] = {"member-join=echo out; exit 3",
			       "member-join=kill -9 $$"};
	struct cp_hrun *r = runner(specs, 2, NULL);
	struct cp_hrun_stats st;

	cp_hrun_push(r, now_us(), cp_hevent_new(SERF_EV_MEMBER_JOIN, "",
						(const uint8_t *)"a\n", 2));
	drive(r, 5000);
	cr_assert_eq(nb_recs, 2);
	cr_assert_not(recs[0].r.is_ok);
	cr_assert(WIFEXITED(recs[0].r.status));
	cr_assert_eq(WEXITSTATUS(recs[0].r.status), 3);
	cr_assert_str_eq(recs[0].out, "out\n");
	cr_assert(WIFSIGNALED(recs[1].r.status));
	cr_assert_eq(WTERMSIG(recs[1].r.status), SIGKILL);
	cp_hrun_get_stats(r, &st);
	cr_assert_eq(st.failed, 2);
	cr_assert_eq(st.timeouts, 0);
	cp_hrun_delete(r);
}

Test(cp_hrun, hanging_script_is_killed_with_its_group)
{
	char spec[256], path[128], buf[32] = "";
	const char *specs[] = {spec};
	struct cp_hrun_cfg cfg;
	struct cp_hrun_stats st;
	struct cp_hrun *r;
	FILE *f;
	int pid;

	snprintf(path, sizeof(path), "%s/pid", dir);
	/* a grandchild holding the output pipe must die too */
	snprintf(spec, sizeof(spec), "sleep 30 & echo $! > %s; sleep 30",
		 path);
	cp_hrun_cfg_default(&cfg);
	cfg.timeout_us = 300000;
	cfg.slow_us = 100000;
	r = runner(specs, 1, &cfg);
	cp_hrun_push(r, now_us(), user_ev("x", ""));
	drive(r, 10000);
	cr_assert_eq(nb_recs, 1);
	cr_assert(recs[0].r.is_timeout);
	cr_assert_not(recs[0].r.is_ok);
	cr_assert_lt(recs[0].r.elapsed_us, 10000000);
	cp_hrun_get_stats(r, &st);
	cr_assert_eq(st.timeouts, 1);
	cr_assert_eq(st.failed, 1);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	pid = atoi(buf);
	cr_assert_gt(pid, 0);
	for (int i = 0; i < 200 && kill(pid, 0) == 0; i++)
		usleep(10000);	/* reparented to init, which reaps it */
	cr_assert_eq(kill(pid, 0), -1);
	cr_assert_eq(errno, ESRCH);
	cp_hrun_delete(r);
}

Test(cp_hrun, megabytes_of_output_are_read_and_discarded)
{
	const char *specs[] = {"user=head -c 5000000 /dev/zero; "
			       "head -c 3000000 /dev/zero >&2; printf END"};
	struct cp_hrun *r = runner(specs, 1, NULL);
	struct cp_hrun_stats st;

	cp_hrun_push(r, now_us(), user_ev("x", ""));
	drive(r, 20000);
	cr_assert_eq(nb_recs, 1);
	cr_assert(recs[0].r.is_ok);
	cr_assert_eq(recs[0].r.out_total, 8000003);
	cr_assert_eq(recs[0].r.out_len, CP_HANDLER_OUT_MAX);
	/* the last bytes are kept, as serf's circbuf */
	cr_assert_str_eq(recs[0].out + CP_HANDLER_OUT_MAX - 3, "END");
	cp_hrun_get_stats(r, &st);
	cr_assert_eq(st.truncated, 1);
	cr_assert_eq(st.out_discarded, 8000003 - CP_HANDLER_OUT_MAX);
	cp_hrun_delete(r);
}

Test(cp_hrun, full_queue_drops_and_counts)
{
	const char *specs[] = {"sleep 0.2"};
	struct cp_hrun_cfg cfg;
	struct cp_hrun_stats st;
	struct cp_hrun *r;
	struct cp_hevent *big;

	cp_hrun_cfg_default(&cfg);
	cfg.queue_max = 2;
	cfg.queue_bytes_max = 100;
	r = runner(specs, 1, &cfg);
	cr_assert_eq(cp_hrun_push(r, now_us(), user_ev("a", "")), 0);
	cr_assert_eq(cp_hrun_push(r, now_us(), user_ev("b", "")), 0);
	cr_assert_eq(cp_hrun_push(r, now_us(), user_ev("c", "")), 0);
	cr_assert_eq(cp_hrun_push(r, now_us(), user_ev("d", "")), -ENOBUFS);
	cp_hrun_get_stats(r, &st);
	cr_assert_eq(st.dropped, 1);
	cr_assert_eq(st.queued, 2);
	drive(r, 5000);
	cr_assert_eq(nb_recs, 3);
	big = cp_hevent_new(SERF_EV_USER, "big", NULL, 101);
	memset(big->in, 'x', 101);
	cr_assert_eq(cp_hrun_push(r, now_us(), big), -ENOBUFS);
	cp_hrun_get_stats(r, &st);
	cr_assert_eq(st.dropped, 2);
	cp_hrun_delete(r);
}

Test(cp_hrun, large_stdin_and_a_script_that_does_not_read_it)
{
	const char *specs[] = {"member-join=wc -c", "member-join=true"};
	struct cp_hrun *r = runner(specs, 2, NULL);
	struct cp_hevent *ev = cp_hevent_new(SERF_EV_MEMBER_JOIN, "", NULL,
					     1 << 20);

	memset(ev->in, 'm', ev->in_len);
	cp_hrun_push(r, now_us(), ev);
	drive(r, 10000);
	cr_assert_eq(nb_recs, 2);
	cr_assert_eq(atoi(recs[0].out), 1 << 20);
	cr_assert(recs[1].r.is_ok);
	cp_hrun_delete(r);
}

Test(cp_hrun, no_fd_and_no_blocked_signal_leak)
{
	char spec[128];
	const char *specs[] = {spec};
	sigset_t term, old;
	struct cp_hrun *r;
	int fd = open("/dev/null", O_RDONLY);	/* no O_CLOEXEC on purpose */

	snprintf(spec, sizeof(spec), "[ -e /proc/$$/fd/%d ] && echo leak; "
		 "kill -TERM $$; sleep 5; echo survived", fd);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term, &old);	/* as control's loop */
	r = runner(specs, 1, NULL);
	cp_hrun_push(r, now_us(), user_ev("x", ""));
	drive(r, 10000);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(fd);
	cr_assert_eq(nb_recs, 1);
	cr_assert_str_eq(recs[0].out, "");
	cr_assert(WIFSIGNALED(recs[0].r.status));
	cr_assert_eq(WTERMSIG(recs[0].r.status), SIGTERM);
	cp_hrun_delete(r);
}

Test(cp_hrun, spawn_error_is_reported_and_the_queue_moves_on)
{
	const char *specs[] = {"echo hi"};
	struct cp_hrun_cfg cfg;
	struct cp_hrun_stats st;
	struct cp_hrun *r;

	cp_hrun_cfg_default(&cfg);
	cfg.shell = "/nonexistent/sh";
	r = runner(specs, 1, &cfg);
	cr_assert_eq(cp_hrun_push(r, now_us(), user_ev("a", "")), 0);
	cr_assert_eq(cp_hrun_push(r, now_us(), user_ev("b", "")), 0);
	cr_assert(cp_hrun_is_idle(r));
	cr_assert_eq(nb_recs, 2);
	cr_assert(recs[0].r.is_spawn_error);
	cp_hrun_get_stats(r, &st);
	cr_assert_eq(st.spawn_errors, 2);
	cr_assert_eq(st.runs, 0);
	cp_hrun_delete(r);
}

Test(cp_hrun, new_scripts_from_the_next_event)
{
	const char *specs[] = {"echo old; sleep 0.1"};
	static char sp[1][CP_HANDLER_LEN] = {"echo new"};
	struct cp_hrun *r = runner(specs, 1, NULL);
	struct cp_hset set;
	char err[64];

	cp_hrun_push(r, now_us(), user_ev("a", ""));
	cp_hrun_push(r, now_us(), user_ev("b", ""));
	cr_assert_eq(cp_hset_parse(&set, (const char (*)[CP_HANDLER_LEN])sp,
				   1, err, sizeof(err)), 0);
	cp_hrun_set_scripts(r, &set);	/* "a" is running: keeps "old" */
	cr_assert_eq(cp_hrun_nb_scripts(r), 1);
	drive(r, 5000);
	cr_assert_eq(nb_recs, 2);
	cr_assert_str_eq(recs[0].out, "old\n");
	cr_assert_str_eq(recs[1].out, "new\n");
	cp_hrun_delete(r);
}

Test(cp_hrun, unmatched_events_run_nothing)
{
	const char *specs[] = {"query:uptime=echo up"};
	struct cp_hrun *r = runner(specs, 1, NULL);
	struct cp_hevent *q = cp_hevent_payload(SERF_EV_QUERY, "other", NULL,
						0);

	cp_hrun_push(r, now_us(), user_ev("a", ""));
	cp_hrun_push(r, now_us(), q);
	cr_assert(cp_hrun_is_idle(r));
	cr_assert_eq(nb_recs, 0);
	cr_assert_eq(cp_hrun_next_deadline(r), UINT64_MAX);
	cp_hrun_delete(r);
}

Test(cp_hrun, delete_kills_a_running_script)
{
	char spec[512], path[128], buf[32] = "";
	const char *specs[] = {spec};
	struct cp_hrun *r;
	FILE *f = NULL;
	int pid;

	snprintf(path, sizeof(path), "%s/pid", dir);
	snprintf(spec, sizeof(spec), "echo $$ > %s.t; mv %s.t %s; exec "
		 "sleep 30", path, path, path);
	r = runner(specs, 1, NULL);
	cp_hrun_push(r, now_us(), user_ev("a", ""));
	for (int i = 0; i < 500 && (f = fopen(path, "r")) == NULL; i++)
		usleep(10000);
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	pid = atoi(buf);
	cp_hrun_delete(r);	/* killed and reaped: no zombie left */
	cr_assert_eq(kill(pid, 0), -1);
	cr_assert_eq(errno, ESRCH);
	cr_assert_eq(nb_recs, 0);
}

Test(cp_hrun, without_pidfd_the_child_is_polled)
{
	const char *specs[] = {"user=sleep 0.1; cat", "user=exit 4"};
	struct cp_hrun_cfg cfg;
	struct cp_hrun *r;

	cp_hrun_cfg_default(&cfg);
	cfg.no_pidfd = true;
	r = runner(specs, 2, &cfg);
	cp_hrun_push(r, now_us(), user_ev("a", "in"));
	cr_assert_lt(cp_hrun_next_deadline(r), now_us() + 1000000);
	drive(r, 5000);
	cr_assert_eq(nb_recs, 2);
	cr_assert(recs[0].r.is_ok);
	cr_assert_str_eq(recs[0].out, "in\n");
	cr_assert_eq(WEXITSTATUS(recs[1].r.status), 4);
	cp_hrun_delete(r);
}
