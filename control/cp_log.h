/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Leveled logging for the control thread and main(), to stderr, in the
 * serf agent's line format so the two logs read alike:
 *
 *   2026/11/26 16:30:00 [INFO] serf: EventMemberJoin: a 127.0.0.1
 *
 * Owns: the current level and one optional sink that receives every line,
 * whatever the level (control points it at the RPC server, whose `monitor`
 * streams filter by their own level, as the agent's do). Never used by
 * swim/ (the core never logs) nor by dataplane lcores (they count
 * instead).
 */
#ifndef CP_LOG_H_INCLUDED
#define CP_LOG_H_INCLUDED

/** Levels, lowest first; a line is printed when its level >= the current. */
enum cp_log_level {
	CP_LOG_DEBUG,
	CP_LOG_INFO,
	CP_LOG_WARN,
	CP_LOG_ERR,
	CP_LOG_LEVEL_COUNT,
};

/** serf's level tags: "DEBUG", "INFO", "WARN", "ERR". */
extern const char *const cp_log_level_str[CP_LOG_LEVEL_COUNT];

/**
 * Parse a --log-level value: debug, info, warn, error (serf also says
 * "err" and "warning"; both accepted).
 * @retval 0 and *out, or -EINVAL.
 */
int cp_log_level_parse(const char *s, enum cp_log_level *out);

/** Set the threshold (default CP_LOG_INFO). */
void cp_log_set_level(enum cp_log_level level);

/** True when a line at this level would be printed. */
int cp_log_enabled(enum cp_log_level level);

/** Receives one whole line (no newline), any level; must not block. */
typedef void (*cp_log_sink_f)(void *ctx, const char *line);

/**
 * Install the sink (NULL removes it). A line the sink logs while it runs
 * goes to stderr only, never back into the sink.
 */
void cp_log_set_sink(cp_log_sink_f sink, void *ctx);

/** Print one line (the newline is added) and hand it to the sink. */
void cp_log(enum cp_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define CP_LOG(level, ...) cp_log(CP_LOG_##level, __VA_ARGS__)

#endif /* CP_LOG_H_INCLUDED */
