/* SPDX-License-Identifier: MIT */
/*
 * Leveled logging to stderr. Owns the level and the one sink (the RPC
 * server's `monitor` feed); used from main() and the control thread only,
 * so no locking. One write(2)-sized fprintf per line keeps lines whole
 * when several processes share a terminal.
 */
#include "cp_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

const char *const cp_log_level_str[CP_LOG_LEVEL_COUNT] = {
	[CP_LOG_DEBUG] = "DEBUG",
	[CP_LOG_INFO] = "INFO",
	[CP_LOG_WARN] = "WARN",
	[CP_LOG_ERR] = "ERR",
};

/* Written by main() before the loop starts, read by the control thread. */
static enum cp_log_level cp_log_level_cur = CP_LOG_INFO;
/* The sink and its argument; control thread only. */
static cp_log_sink_f cp_log_sink;
static void *cp_log_sink_ctx;
/* Set while the sink runs: a line it logs itself goes to stderr only. */
static bool cp_log_in_sink;

int
cp_log_level_parse(const char *s, enum cp_log_level *out)
{
	static const struct {
		const char *name;
		enum cp_log_level level;
	} names[] = {
		{"debug", CP_LOG_DEBUG}, {"trace", CP_LOG_DEBUG},
		{"info", CP_LOG_INFO},	 {"warn", CP_LOG_WARN},
		{"warning", CP_LOG_WARN}, {"error", CP_LOG_ERR},
		{"err", CP_LOG_ERR},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i].name) == 0) {
			*out = names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

void
cp_log_set_level(enum cp_log_level level)
{
	cp_log_level_cur = level;
}

int
cp_log_enabled(enum cp_log_level level)
{
	return level >= cp_log_level_cur;
}

void
cp_log_set_sink(cp_log_sink_f sink, void *ctx)
{
	cp_log_sink = sink;
	cp_log_sink_ctx = ctx;
}

void
cp_log(enum cp_log_level level, const char *fmt, ...)
{
	char line[1024];
	struct tm tm;
	time_t t;
	va_list ap;
	int n;
	bool to_sink = cp_log_sink != NULL && !cp_log_in_sink;

	/* The sink takes every level, as the agent's monitor ring does:
	 * `serf monitor -log-level=debug` sees DEBUG lines whatever ours. */
	if (!cp_log_enabled(level) && !to_sink)
		return;
	t = time(NULL);
	localtime_r(&t, &tm);
	n = (int)strftime(line, sizeof(line), "%Y/%m/%d %H:%M:%S ", &tm);
	n += snprintf(line + n, sizeof(line) - (size_t)n, "[%s] ",
		      cp_log_level_str[level]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (cp_log_enabled(level))
		fprintf(stderr, "%s\n", line);
	if (to_sink) {
		cp_log_in_sink = true;
		cp_log_sink(cp_log_sink_ctx, line);
		cp_log_in_sink = false;
	}
}
