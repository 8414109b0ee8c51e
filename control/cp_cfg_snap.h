/* SPDX-License-Identifier: MIT */
/**
 * @file
 * serf's snapshot file (serf/snapshot.go): a text log of member and clock
 * changes, replayed at start so a restarted node rejoins the members it
 * knew without seeds and does not replay old events.
 *
 *   alive: NAME IP:PORT        a member became alive
 *   not-alive: NAME            it left or failed
 *   clock: N                   member clock - 1
 *   event-clock: N             last user event's clock
 *   query-clock: N             last query's clock
 *   leave                      we left: forget everything (unless rejoin)
 *
 * Lines starting with '#' and "coordinate: " lines are ignored, unknown
 * lines skipped, as serf does. The file is compacted (rewritten with only
 * the live state) once it outgrows max(128 KiB, 256 B per member).
 * Plain file I/O; the daemon drives it from the control loop.
 */
#ifndef CP_CFG_SNAP_H_INCLUDED
#define CP_CFG_SNAP_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cp_cfg.h"

struct cp_snap;

/** A member the snapshot says was alive. */
struct cp_snap_node {
	char name[SWIM_NAME_MAX + 1];
	char addr[CP_ADDR_STRLEN];	/* "IP:PORT" as written */
	bool is_marked;			/* seen in the current sweep */
};

/**
 * Open (create) path and replay it. With rejoin_after_leave a "leave"
 * line is ignored (serf's -rejoin).
 * @retval the snapshot, or NULL with one line in err.
 */
struct cp_snap *cp_snap_open(const char *path, bool rejoin_after_leave,
			     char *err, size_t errlen);
/** Flush, sync and close. NULL is a no-op. */
void cp_snap_close(struct cp_snap *s);

/** The replayed (then current) clocks. */
uint64_t cp_snap_clock(const struct cp_snap *s);
uint64_t cp_snap_event_clock(const struct cp_snap *s);
uint64_t cp_snap_query_clock(const struct cp_snap *s);
/** The alive members, sorted by name; valid until the next call. */
const struct cp_snap_node *cp_snap_nodes(const struct cp_snap *s,
					 unsigned *nb);

/** Start a sweep: every member is unmarked. */
void cp_snap_sweep_begin(struct cp_snap *s);
/** A member is alive at addr: recorded when new or moved; marked.
 * @retval 0 or -errno (the line could not be written). */
int cp_snap_alive(struct cp_snap *s, const char *name, const char *addr);
/** End a sweep: members not marked are written not-alive, forgotten. */
int cp_snap_sweep_end(struct cp_snap *s);
/** Record clocks that moved forward. @retval 0 or -errno. */
int cp_snap_clocks(struct cp_snap *s, uint64_t clock, uint64_t event_clock,
		   uint64_t query_clock);
/** We left: forget members unless rejoin, write "leave", stop recording.
 * @retval 0 or -errno. */
int cp_snap_leave(struct cp_snap *s);
/** Flush buffered lines to the file. @retval 0 or -errno. */
int cp_snap_flush(struct cp_snap *s);
/** Bytes in the file now (tests check compaction). */
uint64_t cp_snap_size(const struct cp_snap *s);

#endif /* CP_CFG_SNAP_H_INCLUDED */
