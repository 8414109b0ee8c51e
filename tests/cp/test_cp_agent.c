/* SPDX-License-Identifier: MIT */
/*
 * The agent duties (control/cp_agent.c) on an in-process daemon on
 * 127.0.0.1: serf's signal defaults and their two options, SIGHUP reloads
 * the config files (log level, tags file) and calls the reload hooks, the
 * snapshot restores the Serf clocks and lists the members to rejoin.
 */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cp.h"
#include "cp_fixture.h"
#include "cp_tmpdir.h"
#include "cp_agent.h"
#include "serf.h"

static char dir[64];

static void
setup(void)
{
	cp_tmp_make(dir, sizeof(dir), "cp_agent");
	cr_assert_eq(cp_agent_signals_init(), 0);
}

static void
teardown(void)
{
	cp_tmp_remove(dir);
}

TestSuite(cp_agent, .init = setup, .fini = teardown);

/* Write dir/name with text; return the path (static buffer). */
static const char *
put(const char *name, const char *text)
{
	return cp_tmp_put(dir, name, text);
}

/* argv must outlive the daemon (reloads read it again). */
static char *args[16];

/* A daemon as main() builds it, from a config file plus extra flags. */
static struct cp *
daemon_new(const char *cfg_json, const char *extra)
{
	static char json[1024], bind[32];
	int argc = 0;

	snprintf(bind, sizeof(bind), "127.0.0.1:%u", cp_fx_free_port());
	snprintf(json, sizeof(json), "%s", cfg_json);
	args[argc++] = "gossipd";
	args[argc++] = "--config-file";
	args[argc++] = (char *)put("g.json", json);
	args[argc++] = "--bind";
	args[argc++] = bind;
	if (extra != NULL)
		args[argc++] = (char *)extra;
	args[argc] = NULL;
	return cp_fx_daemon_argv(argc, args, true);
}

Test(cp_agent, sigterm_stops_without_leaving_by_default)
{
	struct cp *cp = daemon_new("{\"node_name\": \"t1\"}", NULL);

	raise(SIGTERM);
	cp_agent_tick(cp, cp_now_us());
	cr_assert(cp->is_done, "SIGTERM stops");
	cr_assert_eq(cp->leave, CP_LEAVE_NONE, "without a leave");
	cr_assert_eq(cp->exit_code, 0);
	cp_fx_daemon_delete(cp);
}

Test(cp_agent, sigterm_leaves_with_leave_on_terminate)
{
	struct cp *cp = daemon_new("{\"node_name\": \"t2\", "
				   "\"leave_on_terminate\": true}", NULL);

	raise(SIGTERM);
	cp_agent_tick(cp, cp_now_us());
	cr_assert_not(cp->is_done);
	cr_assert_neq(cp->leave, CP_LEAVE_NONE, "a graceful leave started");
	raise(SIGTERM);
	cp_agent_tick(cp, cp_now_us());
	cr_assert(cp->is_done, "a second signal stops at once");
	cp_fx_daemon_delete(cp);
}

Test(cp_agent, sigint_leaves_unless_skip)
{
	struct cp *cp = daemon_new("{\"node_name\": \"t3\"}", NULL);

	raise(SIGINT);
	cp_agent_tick(cp, cp_now_us());
	cr_assert_neq(cp->leave, CP_LEAVE_NONE, "SIGINT leaves");
	cp_fx_daemon_delete(cp);
	cp = daemon_new("{\"node_name\": \"t4\"}", "--skip-leave-on-interrupt");
	raise(SIGINT);
	cp_agent_tick(cp, cp_now_us());
	cr_assert(cp->is_done);
	cr_assert_eq(cp->leave, CP_LEAVE_NONE);
	cp_fx_daemon_delete(cp);
}

static int hook_calls;
static enum cp_log_level hook_level;
static unsigned hook_handlers;

static void
hook(struct cp *cp, const struct cp_cfg *next, void *ctx)
{
	(void)cp;
	cr_assert_eq(ctx, &hook_calls);
	hook_calls++;
	hook_level = next->log_level;
	hook_handlers = next->nb_event_handlers;
}

Test(cp_agent, sighup_reloads_log_level_tags_file_and_hooks)
{
	const char *tags = put("tags.json", "{\"role\": \"before\"}");
	char cfg[512];
	struct cp *cp;

	snprintf(cfg, sizeof(cfg), "{\"node_name\": \"t5\", \"log_level\": "
		 "\"warn\", \"tags_file\": \"%s\"}", tags);
	cp = daemon_new(cfg, NULL);
	/* main() loads the tags file before the core; do the same here */
	cr_assert_eq(cp->cfg.log_level, CP_LOG_WARN);
	cr_assert_eq(cp_agent_on_reload(cp, hook, &hook_calls), 0);
	snprintf(cfg, sizeof(cfg), "{\"node_name\": \"t5\", \"log_level\": "
		 "\"debug\", \"tags_file\": \"%s\", \"event_handlers\": "
		 "[\"/bin/true\"]}", tags);
	put("g.json", cfg);
	put("tags.json", "{\"role\": \"after\", \"zone\": \"z\"}");
	raise(SIGHUP);
	cp_agent_tick(cp, cp_now_us());
	cr_assert_not(cp->is_done, "SIGHUP never stops");
	cr_assert_eq(hook_calls, 1);
	cr_assert_eq(hook_level, CP_LOG_DEBUG);
	cr_assert_eq(hook_handlers, 1);
	cr_assert_eq(cp->cfg.log_level, CP_LOG_DEBUG);
	cr_assert(cp_log_enabled(CP_LOG_DEBUG));
	cr_assert_eq(cp->cfg.nb_event_handlers, 1);
	cr_assert_eq(cp->cfg.nb_tags, 2);
	cr_assert_str_eq(cp->cfg.tags[0].value, "after");
	/* A broken config keeps the old one. */
	put("g.json", "{\"log_level\": \"loud\"}");
	raise(SIGHUP);
	cp_agent_tick(cp, cp_now_us());
	cr_assert_eq(hook_calls, 1);
	cr_assert_eq(cp->cfg.log_level, CP_LOG_DEBUG);
	cp_fx_daemon_delete(cp);
	cp_log_set_level(CP_LOG_WARN);
}

Test(cp_agent, snapshot_restores_clocks)
{
	const char *snap = put("s.snap", "alive: t6 127.0.0.1:1\n"
					 "alive: peer 127.0.0.1:2\n"
					 "clock: 100\nevent-clock: 50\n"
					 "query-clock: 7\n");
	char extra[160];
	struct serf_stats st;
	struct cp *cp;

	snprintf(extra, sizeof(extra), "--snapshot=%s", snap);
	cp = daemon_new("{\"node_name\": \"t6\"}", extra);
	serf_get_stats(cp->serf, &st);
	cr_assert_geq(st.member_time, 101, "witnessed the snapshot's clock");
	cr_assert_geq(st.event_time, 51);
	cr_assert_geq(st.query_time, 8);
	cp_agent_rejoin(cp, cp_now_us());
	cr_assert(cp->joins[0].in_use, "the peer, not ourselves");
	cr_assert_eq(cp->joins[0].kind, CP_JOIN_REJOIN);
	cr_assert_eq(cp->joins[0].nb, 1);
	cr_assert_eq(cp->joins[0].addrs[0].port, 2);
	cp_fx_daemon_delete(cp);
}

Test(cp_agent, bad_snapshot_path_fails_init)
{
	struct cp *cp = calloc(1, sizeof(*cp));
	char *argv[] = {"gossipd", "--bind", "127.0.0.1:1", "--snapshot",
			"/nonexistent/dir/s"};
	char err[256];

	cp->epfd = -1;
	cp_cfg_default(&cp->cfg);
	cr_assert_eq(cp_cfg_parse(&cp->cfg, 5, argv, err, sizeof(err)), 0);
	cr_assert_eq(cp_core_init(cp), 0);
	cr_assert_eq(cp_serf_layer_init(cp), 0);
	cr_assert_eq(cp_reactor_init(cp), 0);
	cr_assert_eq(cp_agent_init(cp, 5, argv), -1);
	cp_fx_daemon_delete(cp);
}
