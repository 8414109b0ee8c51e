#!/usr/bin/env bash
# Scale of one gossipd node, one table, all rows measured in this run:
#
#   members (10^3 .. 10^6) x
#     bytes per member  heap (mallinfo2, exact) and RSS growth of a process
#                       holding the core and the Serf layer with N members
#                       (names of 21 bytes, three short tags), after the
#                       join's broadcasts went out (the idle pool), and the
#                       peak while they were queued;
#     join, update      CPU µs (utime + stime) per member-join and per
#                       member-update, through the real paths (UDP alive ->
#                       core -> event -> Serf layer -> Serf event).
#   (tools/bench-members; owner: scale-core.)
#
# scale-sync adds its rows below (join time, full-sync time and peak
# memory, steady sync bytes/s, `serf members` time); gossip-swarm plays
# the rest of the pool for the idle-CPU row.
#
# Usage: scripts/bench-scale.sh [--sizes "1000 10000 100000 1000000"]
# Env: BUILD (default build). Bounded: bench-members stops on its own;
# each size runs under `timeout` (600 s).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
SIZES="1000 10000 100000 1000000"
while [ $# -gt 0 ]; do
	case "$1" in
	--sizes) SIZES="$2"; shift 2 ;;
	*) echo "usage: $0 [--sizes \"1000 10000 ...\"]" >&2; exit 2 ;;
	esac
done

BENCH="$BUILD/tools/bench-members"
if [ ! -x "$BENCH" ]; then
	ninja -C "$BUILD" tools/bench-members >/dev/null
fi

# key=value line -> the value of key
val() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }

printf '%-9s %10s %10s %10s %9s %9s %s\n' members heap_B/m peak_B/m \
	rss_B/m join_us upd_us check
for n in $SIZES; do
	line=$(timeout 600 "$BENCH" "$n") && ok=ok || ok="FAILED($?)"
	printf '%-9s %10s %10s %10s %9s %9s %s\n' "$n" \
		"$(val "$line" heap_per_member)" \
		"$(val "$line" heap_peak_per_member)" \
		"$(val "$line" rss_per_member)" "$(val "$line" join_us)" \
		"$(val "$line" update_us)" "$ok"
done

# --- rows added by scale-sync (streamed push/pull, RPC at scale) ---
