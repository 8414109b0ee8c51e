#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Anti-entropy cost and heal time (issue 14 part 1): memberlist's full
# push/pull against gossipd's delta sync, in one invocation.
#
# Steady sync bytes/s, for each N in $SIZES (default "10000 100000
# 1000000"): one gossipd in an N-member pool whose other N - 1 members
# are one gossip-swarm, twice:
#   full   gossip-swarm --no-delta-sync: its members do not advertise the
#          capability, so gossipd's periodic push/pulls with them are
#          memberlist's full ones. One full exchange is forced
#          (`gossipctl join <a swarm member>`: a push/pull of N both ways,
#          what a periodic one moves); its bytes are gossipd's counter
#          (gossipd_sync_bytes_total{kind="full"}, TCP payload both ways)
#          and, to check it, twice /proc/PID/io's rchar over the sync (the
#          stream's inbound half; send(2) and UDP are not counted there);
#          a node sends one and answers one on average per
#          scaled PushPullInterval (30 s x (ceil(log2 N - 5) + 1)), so
#          B/s = 2 x bytes / interval.
#   delta  the swarm answers delta sync: gossipd's periodic push/pull and
#          its --delta-sync-interval exchanges ($DI s) are delta ones,
#          each starting with a HELLO over UDP (the swarm answers it);
#          bytes are the TCP streams' payload plus those datagrams.
#          Over $WINDOW s in steady state, the delta counters give bytes
#          and exchanges; B/s = 2 x (bytes per exchange) x (1/DI + 1/PPI)
#          (each node starts one and answers one per interval).
# The table gives both B/s and full/delta.
#
# Heal ($HEAL=1, N = $HEAL_N, default 10000): gossipd A and B in one pool
# with the swarm (joined to both), B cut off for $PAUSE s (SIGSTOP; the
# swarm pings it 100x harder, so its UDP buffer is full within seconds
# and the rest is lost, as behind a real cut); meanwhile $HEAL_FAIL swarm
# members fail (declared dead by the pool's simulated detector, gossiped
# to A): B misses that, and once the dead broadcasts have run out only
# anti-entropy tells it. After SIGCONT: seconds until B lists all of
# them failed, and until A and B both list N - HEAL_FAIL alive. Once
# with full push/pulls everywhere (gossipd --delta-sync=false, swarm
# --no-delta-sync), once with delta sync, the same partition.
#
# Loopback only, ports below 32768, every process ours and killed by PID.
# Usage: scripts/bench-sync.sh [build-dir]
#   env: SIZES, DI (10), WINDOW (60), JOIN_MAX, HEAL (1), HEAL_N (10000),
#        HEAL_FAIL (50), PAUSE (45), HEAL_MAX (330), OUT
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-build}
GOSSIPD=${GOSSIPD:-$BUILD/control/gossipd}
GOSSIPCTL=${GOSSIPCTL:-$BUILD/control/gossipctl}
SWARM=${GOSSIP_SWARM:-$BUILD/tools/swarm/gossip-swarm}
SIZES=${SIZES-"10000 100000 1000000"}
DI=${DI:-10}
WINDOW=${WINDOW:-60}
HEAL=${HEAL:-1}
HEAL_N=${HEAL_N:-10000}
HEAL_FAIL=${HEAL_FAIL:-50}
PAUSE=${PAUSE:-45}
HEAL_MAX=${HEAL_MAX:-330}
OUT=${OUT:-$(mktemp -d /tmp/bench-sync.XXXXXX)}
mkdir -p "$OUT"
# shellcheck source=lib/bench-live.sh
. "$HERE/lib/bench-live.sh"

live_require

# sync counters of a gossipd: "full_bytes delta_bytes full insync delta
# udp_bytes insync_udp" (the last two: delta sync's HELLO over UDP, an
# exchange that ended there, in sync, with no TCP connection)
sync_counts() {
	local m
	m=$(curl -s --max-time 10 "http://127.0.0.1:$1/metrics" 2>/dev/null)
	awk '$1 == "gossipd_sync_bytes_total{kind=\"full\"}" { fb = $2 }
	     $1 == "gossipd_sync_bytes_total{kind=\"delta\"}" { db = $2 }
	     $1 == "gossipd_sync_exchanges_total{kind=\"full\"}" { f = $2 }
	     $1 == "gossipd_sync_exchanges_total{kind=\"insync\"}" { i = $2 }
	     $1 == "gossipd_sync_exchanges_total{kind=\"delta\"}" { d = $2 }
	     $1 == "gossipd_sync_bytes_total{kind=\"delta_udp\"}" { ub = $2 }
	     $1 == "gossipd_sync_exchanges_total{kind=\"insync_udp\"}" { iu = $2 }
	     END { print fb + 0, db + 0, f + 0, i + 0, d + 0, ub + 0, iu + 0 }' <<<"$m"
}

# stop_pids SWARM PID...: SIGINT the swarm, SIGTERM the rest, SIGKILL
# whatever still runs 30 s later (a 10^6 swarm's summary can take long).
stop_pids() {
	local p all=("$@")
	kill -INT "$1" 2>/dev/null
	kill -TERM "${all[@]:1}" 2>/dev/null
	for _ in $(seq 60); do
		kill -0 "${all[@]}" 2>/dev/null || break
		sleep 0.5
	done
	for p in "${all[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
}

# start_gd NAME PORT RPC METRICS [args...]: a gossipd; its PID in GD.
start_gd() {
	local name=$1 port=$2 rpc=$3 mp=$4
	shift 4
	"$GOSSIPD" --name "$name" --bind "127.0.0.1:$port" \
		--rpc-addr "127.0.0.1:$rpc" --metrics-addr "127.0.0.1:$mp" \
		--log-level warn "$@" >"$OUT/$name.log" 2>&1 &
	GD=$!; PIDS+=("$GD")
}

# wait_counts RPC "M F L" SECONDS: until `gossipctl info` says so.
wait_counts() {
	local end=$(($(date +%s) + $3)) c=""
	while [ "$(date +%s)" -lt "$end" ]; do
		c=$(info_counts "$1")
		[ "$c" = "$2" ] && return 0
		sleep 0.5
	done
	note "rpc $1: $c, want $2"
	return 1
}

# steady MODE N: one row half; prints "bytes_per_exchange B/s notes".
steady() {
	local mode=$1 n=$2 gp rp mp sp gd sw flags=()
	local join_max=${JOIN_MAX:-$((120 + n / 2000))}
	read -r gp rp mp sp <<<"$(free_ports 4)"
	[ "$mode" = full ] && flags=(--no-delta-sync)
	start_gd "sync-$mode-$n" "$gp" "$rp" "$mp" --delta-sync-interval "${DI}s"
	gd=$GD
	wait_counts "$rp" "1 0 0" 10 || return 1
	"$SWARM" --members $((n - 1)) --join "127.0.0.1:$gp" --port "$sp" \
		--no-leave "${flags[@]}" >"$OUT/swarm-$mode-$n.log" 2>&1 &
	sw=$!; PIDS+=("$sw")
	wait_counts "$rp" "$n 0 0" "$join_max" || return 1
	# settle: the join's own push/pulls, gossipd's first periodic one
	# (at most 60 s after its start), the join's broadcasts in flight
	sleep "${SETTLE:-45}"
	local c0 c1 io0 io1 ppi
	ppi=$(pp_interval "$n")
	if [ "$mode" = full ]; then
		local t peer fb rb
		c0=$(sync_counts "$mp"); io0=$(io_b "$gd" rchar); t=$(now)
		peer=$(python3 -c "import ipaddress,sys; print(ipaddress.ip_address('127.64.0.0') + 1 + int(sys.argv[1]))" $((n - 2)))
		timeout 300 "$GOSSIPCTL" --rpc-addr "127.0.0.1:$rp" \
			--timeout 300 join "$peer:$sp" >"$OUT/join-$n.out" 2>&1
		t=$(since "$t"); sleep 1
		c1=$(sync_counts "$mp"); io1=$(io_b "$gd" rchar)
		grep -q Successfully "$OUT/join-$n.out" ||
			note "$n: the forced sync failed: $(cat "$OUT/join-$n.out")"
		fb=$(($(echo "$c1" | cut -d' ' -f1) - $(echo "$c0" | cut -d' ' -f1)))
		# read(2) sees the stream's inbound half (UDP and send(2) are
		# not in rchar/wchar): twice it is about both ways
		rb=$((io1 - io0))
		awk -v b="$fb" -v io="$rb" -v p="$ppi" -v t="$t" 'BEGIN {
			printf "%d %.0f sync=%.1fs,read2x=%d,ppi=%ds\n", b, 2 * b / p, t, 2 * io, p }'
	else
		c0=$(sync_counts "$mp")
		sleep "$WINDOW"
		c1=$(sync_counts "$mp")
		read -r _ db0 _ i0 d0 ub0 iu0 <<<"$c0"
		read -r fb1 db1 f1 i1 d1 ub1 iu1 <<<"$c1"
		# bytes: TCP payload of the delta streams + the UDP HELLOs'
		# datagrams (CRC included; IP/UDP headers not counted)
		awk -v db=$((db1 - db0)) -v ub=$((ub1 - ub0)) \
			-v x=$(((i1 - i0) + (d1 - d0) + (iu1 - iu0))) \
			-v ins=$((i1 - i0)) -v iu=$((iu1 - iu0)) -v di="$DI" \
			-v p="$ppi" -v w="$WINDOW" 'BEGIN {
			per = x > 0 ? (db + ub) / x : 0
			printf "%.0f %.2f exchanges=%d(insync %d tcp %d udp),tcp_B=%d,udp_B=%d,window_B/s=%.1f\n",
				per, 2 * per * (1 / di + 1 / p), x, ins, iu, db, ub,
				(db + ub) / w }'
	fi
	stop_pids "$sw" "$gd"
}

run_size() {
	local n=$1 f d
	f=$(steady full "$n") || { note "$n: full failed"; return 1; }
	note "$n full: $f"
	d=$(steady delta "$n") || { note "$n: delta failed"; return 1; }
	note "$n delta: $d"
	read -r fx fbs fnote <<<"$f"
	read -r dx dbs dnote <<<"$d"
	printf '%-8s %12s %12s %12s %10s %12s  %s | %s\n' "$n" "$fx" "$fbs" \
		"$dx" "$dbs" \
		"$(awk -v a="$fbs" -v b="$dbs" 'BEGIN { printf "%.0fx", (b > 0) ? a / b : 0 }')" \
		"$fnote" "$dnote" | tee -a "$OUT/table.txt"
}

# --- heal after a partition ---

# failed_count RPC: members listed failed by gossipd on RPC.
failed_count() {
	timeout 20 "$GOSSIPCTL" --rpc-addr "127.0.0.1:$1" members \
		--status failed --count 2>/dev/null || echo 0
}
alive_count() {
	timeout 20 "$GOSSIPCTL" --rpc-addr "127.0.0.1:$1" members \
		--status alive --count 2>/dev/null || echo 0
}

heal() {
	local mode=$1 n=$HEAL_N ap ar am bp br bm sp a b sw
	local gflags=() sflags=()
	read -r ap ar am bp br bm sp <<<"$(free_ports 7)"
	if [ "$mode" = full ]; then
		gflags=(--delta-sync=false); sflags=(--no-delta-sync)
	fi
	start_gd "heal-a-$mode" "$ap" "$ar" "$am" --delta-sync-interval "${DI}s" "${gflags[@]}"
	a=$GD
	wait_counts "$ar" "1 0 0" 10 || return 1
	start_gd "heal-b-$mode" "$bp" "$br" "$bm" --delta-sync-interval "${DI}s" \
		--join "127.0.0.1:$ap" "${gflags[@]}"
	b=$GD
	wait_counts "$br" "2 0 0" 10 || return 1
	local t0 tfail
	t0=$(date +%s)
	tfail=$((${JOIN_WAIT:-60} + 5))	# s after the swarm's start
	# --probe-rate-mult: pings enough to fill a stopped B's UDP buffer in
	# a second or two, so it loses what is gossiped meanwhile (as behind
	# a real cut) instead of reading it all on SIGCONT
	"$SWARM" --members $((n - 2)) --join "127.0.0.1:$ap" \
		--join "127.0.0.1:$bp" --port "$sp" --probe-rate-mult 100 \
		--no-leave --fail "$HEAL_FAIL@$tfail" "${sflags[@]}" \
		>"$OUT/swarm-heal-$mode.log" 2>&1 &
	sw=$!; PIDS+=("$sw")
	wait_counts "$br" "$n 0 0" 120 || return 1
	# stop B before the failures, resume it after the pool declared them
	while [ $(($(date +%s) - t0)) -lt $((tfail - 5)) ]; do sleep 0.5; done
	kill -STOP "$b"
	note "heal $mode: B stopped; $HEAL_FAIL members fail in 5 s"
	sleep "$PAUSE"
	local fa
	fa=$(failed_count "$ar")
	kill -CONT "$b"
	local tc tb="" tall="" end=$(($(date +%s) + HEAL_MAX)) fb ab aa
	tc=$(now)
	note "heal $mode: B resumed; A lists $fa failed"
	while [ "$(date +%s)" -lt "$end" ]; do
		fb=$(failed_count "$br")
		[ -z "$tb" ] && [ "$fb" -ge "$HEAL_FAIL" ] && tb=$(since "$tc")
		aa=$(alive_count "$ar"); ab=$(alive_count "$br")
		echo "$(since "$tc") B_failed=$fb A_alive=$aa B_alive=$ab" \
			>>"$OUT/heal-$mode.trace"
		if [ -n "$tb" ] && [ "$aa" = $((n - HEAL_FAIL)) ] &&
		   [ "$ab" = $((n - HEAL_FAIL)) ]; then
			tall=$(since "$tc"); break
		fi
		sleep 1
	done
	local c
	c=$(sync_counts "$bm")
	printf '%-6s %8s %10s %12s  A_failed_at_resume=%s B_failed=%s A_alive=%s B_alive=%s B_sync(fullB deltaB full insync delta)=%s\n' \
		"$mode" "$n" "${tb:->$HEAL_MAX}" "${tall:->$HEAL_MAX}" "$fa" "${fb:-?}" \
		"${aa:-?}" "${ab:-?}" "$c" | tee -a "$OUT/heal.txt"
	stop_pids "$sw" "$a" "$b"
}

note "output in $OUT; gossipd $GOSSIPD; load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "$SIZES" ]; then
	printf '%-8s %12s %12s %12s %10s %12s  %s\n' N full_B/exch full_B/s \
		delta_B/exch delta_B/s full/delta notes | tee "$OUT/table.txt"
	for n in $SIZES; do
		run_size "$n" || note "size $n failed"
	done
fi
if [ "$HEAL" = 1 ]; then
	printf '%-6s %8s %10s %12s  %s\n' mode N B_learns_s all_agree_s notes |
		tee "$OUT/heal.txt"
	heal full
	heal delta
fi
note "done; load $(cut -d' ' -f1-3 /proc/loadavg)"
