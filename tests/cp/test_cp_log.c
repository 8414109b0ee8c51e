/* SPDX-License-Identifier: MIT */
/*
 * cp_log's sink (what feeds `serf monitor`): every level reaches it in the
 * agent's line format whatever the stderr threshold, a line logged from
 * inside the sink does not come back into it, and removing the sink stops
 * the feed.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "cp_log.h"

/* Lines the sink received; one test process each (Criterion forks). */
struct sink_rec {
	char lines[8][1024];	/* copies, oldest first */
	int nb;			/* lines received */
	bool log_inside;	/* log a line from inside the sink */
};

static void
sink_keep(void *ctx, const char *line)
{
	struct sink_rec *r = ctx;

	if (r->nb < 8)
		snprintf(r->lines[r->nb], sizeof(r->lines[0]), "%s", line);
	r->nb++;
	if (r->log_inside)
		CP_LOG(WARN, "from inside the sink");
}

/* "YYYY/MM/DD HH:MM:SS [LEVEL] text", as the agent and its monitor. */
static void
assert_line(const char *line, const char *level, const char *text)
{
	char want[128];

	snprintf(want, sizeof(want), " [%s] %s", level, text);
	cr_assert_eq(strlen(line), 19 + strlen(want), "line '%s'", line);
	cr_assert_str_eq(line + 19, want);
	cr_assert(line[4] == '/' && line[7] == '/' && line[10] == ' ' &&
		  line[13] == ':' && line[16] == ':', "date in '%s'", line);
}

Test(cp_log, sink_gets_every_level_whatever_the_threshold)
{
	struct sink_rec r = {0};

	cp_log_set_level(CP_LOG_ERR);	/* stderr: errors only */
	cp_log_set_sink(sink_keep, &r);
	CP_LOG(DEBUG, "d %d", 1);
	CP_LOG(INFO, "serf: EventMemberJoin: %s %s", "a", "127.0.0.1");
	CP_LOG(WARN, "w");
	CP_LOG(ERR, "e");
	cr_assert_eq(r.nb, 4);
	assert_line(r.lines[0], "DEBUG", "d 1");
	assert_line(r.lines[1], "INFO", "serf: EventMemberJoin: a 127.0.0.1");
	assert_line(r.lines[2], "WARN", "w");
	assert_line(r.lines[3], "ERR", "e");
}

Test(cp_log, line_logged_by_the_sink_is_not_fed_back)
{
	struct sink_rec r = {0};

	r.log_inside = true;
	cp_log_set_sink(sink_keep, &r);
	CP_LOG(INFO, "outer");
	cr_assert_eq(r.nb, 1, "the sink ran %d times", r.nb);
	assert_line(r.lines[0], "INFO", "outer");
	CP_LOG(INFO, "next");	/* the guard was reset */
	cr_assert_eq(r.nb, 2);
}

Test(cp_log, removed_sink_gets_nothing)
{
	struct sink_rec r = {0};

	cp_log_set_sink(sink_keep, &r);
	cp_log_set_sink(NULL, NULL);
	CP_LOG(ERR, "after removal");
	cr_assert_eq(r.nb, 0);
}

Test(cp_log, long_line_is_cut_not_overflowed)
{
	static char big[4096];
	struct sink_rec r = {0};

	memset(big, 'x', sizeof(big) - 1);
	cp_log_set_sink(sink_keep, &r);
	CP_LOG(INFO, "%s", big);
	cr_assert_eq(r.nb, 1);
	cr_assert_eq(strlen(r.lines[0]), 1023);
}
