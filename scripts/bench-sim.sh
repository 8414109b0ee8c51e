#!/bin/sh
# SPDX-License-Identifier: MIT
# gossip-sim's tables for the README (issue 14): detection, dissemination
# and false positives by pool size and loss; partition heal, full
# push/pull vs delta sync; convergence after 50 joins one by one.
#   scripts/bench-sim.sh [BUILD_DIR] [table...]
# tables: loss heal converge (default: all three). Knobs (environment):
#   SIZES="100 500 1000 5000"  LOSSES="0 5 10"  BIG_LOSSES="0 10" (5000)
#   WARMUP=30s (before the measured 60 s: every member's first push/pull,
#   drawn from memberlist's unscaled interval, falls in it)
#   HEAL_N=1000 HEAL_SEEDS=10 HEAL_DURATION=300 HEAL_FLAGS= (--no-serf:
#   no Serf reconnects, the sync alone heals)   CONV_SEEDS=100
# Every run is deterministic (its seed is printed); wall time and CPU are
# this machine's (2 vCPUs shared with other work: read CPU, not wall).
set -eu
build=${1:-build}
[ $# -gt 0 ] && shift
sim="$build/tools/sim/gossip-sim"
[ -x "$sim" ] || { echo "bench-sim: no $sim (ninja -C $build tools/sim/gossip-sim)" >&2; exit 2; }
tables=${*:-loss heal converge}
SIZES=${SIZES:-100 500 1000 5000}
LOSSES=${LOSSES:-0 5 10}
BIG_LOSSES=${BIG_LOSSES:-0 10}
HEAL_N=${HEAL_N:-1000}
HEAL_SEEDS=${HEAL_SEEDS:-10}
HEAL_DURATION=${HEAL_DURATION:-300}
HEAL_FLAGS=${HEAL_FLAGS:-}
CONV_SEEDS=${CONV_SEEDS:-100}
WARMUP=${WARMUP:-30s}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Run gossip-sim with --json; print the JSON, append "cpu_s" (utime+stime
# of the run, from /usr/bin/time) and the peak RSS in KiB.
run() {
	/usr/bin/time -f '%U %S %M' -o "$out/time" "$sim" --json "$@" > "$out/json"
	read -r u s m < "$out/time"
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["cpu_s"]=round(float(sys.argv[2])+float(sys.argv[3]),1); d["peak_rss_kib"]=int(sys.argv[4]); print(json.dumps(d))' \
		"$out/json" "$u" "$s" "$m"
}

loss_table() {
	echo "## Detection and dissemination (LAN profile, Serf layer, steady pool, $WARMUP warm-up, then 60 s, N/100 crashed at 20 s, seed 1)"
	echo
	echo "| members | loss | dead everywhere / crashed | detect p50 / p99 / max | dissemination periods (expected) | false positives (suspicions) | bytes/member/s | wall / CPU / peak RSS |"
	echo "|---|---|---|---|---|---|---|---|"
	for n in $SIZES; do
		losses=$LOSSES
		[ "$n" -ge 5000 ] && losses=$BIG_LOSSES
		f=$(( n / 100 > 0 ? n / 100 : 1 ))
		for l in $losses; do
			run --members "$n" --loss "$l" --fail "$f@20" --duration 60 \
			    --warmup "$WARMUP" --seed 1 |
			python3 -c '
import json,sys
d=json.load(sys.stdin)
def s(v, f="%.1f"): return "-" if v is None else f % v
print("| %d | %d %% | %d / %d | %s / %s / %s s | %s (%s) | %d (%d) | %s | %.0f s / %.0f s / %.1f GiB |" % (
  d["members"], d["params"]["loss_pct"], d["detected"], d["params"]["failed"], s(d["detect_p50_s"]), s(d["detect_p99_s"]),
  s(d["detect_max_s"]), s(d["dissemination_periods"]), s(d["dissemination_periods_expected"]),
  d["false_positives"], d["false_suspicions"], s(d["bytes_per_member_per_s"], "%.0f"),
  d["wall_s"], d["cpu_s"], d["peak_rss_kib"] / 1048576.0))'
		done
	done
	echo
}

heal_table() {
	echo "## Partition heal, full push/pull vs delta sync ($HEAL_N members, halves cut 30..90 s, $HEAL_DURATION s, seeds 1..$HEAL_SEEDS${HEAL_FLAGS:+, $HEAL_FLAGS})"
	echo
	echo "| sync | interval | heal p50 / max (healed) | periodic sync B/member/s | join push/pull B/member/s | UDP B/member/s |"
	echo "|---|---|---|---|---|---|"
	for mode in "full 30s" "delta 30s" "delta 5s"; do
		set -- $mode
		seed=1
		: > "$out/heal"
		while [ "$seed" -le "$HEAL_SEEDS" ]; do
			run --members "$HEAL_N" --partition 30:90 --duration "$HEAL_DURATION" --fail 0@0 \
			    --sync "$1" --delta-sync-interval "$2" --seed "$seed" \
			    $HEAL_FLAGS >> "$out/heal"
			seed=$((seed + 1))
		done
		python3 - "$out/heal" "$1" "$2" <<'PY'
import json,sys
rs=[json.loads(l) for l in open(sys.argv[1])]
h=sorted(r["heal_s"] for r in rs if r["heal_s"] is not None)
avg=lambda k: sum(r[k] for r in rs)/len(rs)
p50 = h[(len(h)-1)//2] if h else None
print("| %s | %s | %s / %s s (%d of %d) | %.0f | %.0f | %.0f |" % (sys.argv[2], sys.argv[3],
  "-" if p50 is None else "%.1f" % p50, "-" if not h else "%.1f" % h[-1], len(h), len(rs),
  avg("sync_bytes_per_member_per_s"), avg("join_bytes_per_member_per_s"), avg("udp_bytes_per_member_per_s")))
PY
	done
	echo
}

converge_table() {
	echo "## Convergence: 50 members join node 0 one by one, 20 ms apart (seeds 1..$CONV_SEEDS): last join -> every member lists every member"
	echo
	echo "| sync | interval (scaled at 50) | p50 | p99 | worst | not converged in 120 s | periodic sync B/member/s |"
	echo "|---|---|---|---|---|---|---|"
	for mode in "full 30s" "delta 30s" "full 5s" "delta 5s"; do
		set -- $mode
		seed=1
		: > "$out/conv"
		while [ "$seed" -le "$CONV_SEEDS" ]; do
			"$sim" --json --members 50 --start join --fail 0@0 --duration 120 \
			    --sync "$1" --delta-sync-interval "$2" --push-pull-interval "$2" \
			    --seed "$seed" >> "$out/conv"
			seed=$((seed + 1))
		done
		python3 - "$out/conv" "$1" "$2" <<'PY'
import json,sys
rs=[json.loads(l) for l in open(sys.argv[1])]
c=sorted(r["converge_s"] for r in rs if r["converge_s"] is not None)
pick=lambda p: c[min(len(c)-1, max(0, int(round(p*len(c)+0.5))-1))]
sb=sum(r["sync_bytes_per_member_per_s"] for r in rs)/len(rs)
iv=rs[0]["params"]["push_pull_interval_us"]/1e6
print("| %s | %g s (%g s) | %.2f s | %.2f s | %.2f s | %d | %.0f |" % (sys.argv[2], iv, 2*iv,
  pick(0.5), pick(0.99), c[-1], len(rs)-len(c), sb))
PY
	done
	echo
}

for t in $tables; do
	case $t in
	loss) loss_table ;;
	heal) heal_table ;;
	converge) converge_table ;;
	*) echo "bench-sim: unknown table '$t' (loss heal converge)" >&2; exit 2 ;;
	esac
done
