#!/bin/bash
# SPDX-License-Identifier: MIT
# Encrypted full-state sync of any size (docs/sealed-stream.md), live:
# one gossipd --encrypt as a member of an N-member encrypted pool whose
# other N - 1 members are played by gossip-swarm --encrypt:
#
#   gossipd --encrypt K  <--  gossip-swarm --encrypt K --members N-1
#
# Per size: the swarm joins gossipd (its batches ask for chunked replies:
# gossipd's state passes one sealed frame's 20 MiB near 2 x 10^5), then
# gossipd joins a swarm member by address (`gossipctl join`): memberlist's
# single frame with "SealedChunks" out, the swarm's whole state back as
# chunks, decoded chunk by chunk. Reported:
#   join_s     swarm start until gossipd counts N alive;
#   sync_s     wall time of the `gossipctl join` (one full exchange);
#   sync_cpu   gossipd's CPU (utime + stime) over it, s;
#   rss_mib    gossipd's VmRSS before it; hwm_mib: VmHWM during it (reset
#              by clear_refs first), so hwm - rss is the sync's growth;
#   in_mib     bytes gossipd read(2) during it (the swarm's state, sealed);
#   fresh      a second, fresh gossipd --encrypt --join the first (a
#              stranger's address: one small frame out, N + 1 members
#              back as chunks): seconds until it counts N + 1 alive, its
#              CPU, VmRSS and VmHWM then;
#   load       the 1-minute load average at the end.
#
# Usage: scripts/bench-sealed.sh [build]   (SIZES="100000 1000000")
set -u
BUILD=${1:-build}
GOSSIPD=${GOSSIPD:-$BUILD/control/gossipd}
GOSSIPCTL=${GOSSIPCTL:-$BUILD/control/gossipctl}
SWARM=${GOSSIP_SWARM:-$BUILD/tools/swarm/gossip-swarm}
SIZES=${SIZES-"100000"}
SYNC_MAX=${SYNC_MAX:-300}
KEY=${KEY:-"NfCkMllT5KcahAfYZFkFkM7bZUzlpnSOoPhQcHck/xE="}
# PLAIN=1: the same without --encrypt (plain streamed push/pulls), to
# compare
ENC=(--encrypt "$KEY")
[ "${PLAIN:-0}" = 1 ] && ENC=()
OUT=${OUT:-$(mktemp -d /tmp/bench-sealed.XXXXXX)}
mkdir -p "$OUT"
# shellcheck source=lib/bench-live.sh
. "$(cd "$(dirname "$0")" && pwd)/lib/bench-live.sh"

live_require

run_size() {
	local n=$1 m=$(($1 - 1)) tag="n$1" gp rp mp sp gd sw
	local join_max=${JOIN_MAX:-$((120 + $1 / 2000))}
	read -r gp rp mp sp <<<"$(free_ports 4)"
	"$GOSSIPD" --name "sealed-$n" --bind "127.0.0.1:$gp" "${ENC[@]}" \
		--rpc-addr "127.0.0.1:$rp" --metrics-addr "127.0.0.1:$mp" \
		--log-level warn >"$OUT/gossipd-$tag.log" 2>&1 &
	gd=$!; PIDS+=("$gd")
	local i c t0 tj="" end
	for i in $(seq 50); do
		c=$(info_counts "$rp")
		[ "${c%% *}" = 1 ] && break
		sleep 0.2
	done
	[ "${c%% *}" = 1 ] || { note "$tag: gossipd did not start"; return 1; }
	t0=$(now)
	"$SWARM" --members "$m" --join "127.0.0.1:$gp" --port "$sp" \
		"${ENC[@]}" --no-leave --json "$OUT/swarm-$tag.json" \
		2>"$OUT/swarm-$tag.log" &
	sw=$!; PIDS+=("$sw")
	end=$(($(date +%s) + join_max))
	while [ "$(date +%s)" -lt "$end" ]; do
		kill -0 "$gd" 2>/dev/null || { note "$tag: gossipd died"; return 1; }
		c=$(info_counts "$rp")
		if [ "$c" = "$n 0 0" ]; then tj=$(since "$t0"); break; fi
		sleep 0.5
	done
	[ -n "$tj" ] || tj="timeout(${c// //})"
	note "$tag: join $tj s"
	sleep 5	# the swarm's last batches
	local rss hwm cpu0 rc0 ts jp jrc sync_s sync_cpu rc1 peer
	echo 5 >"/proc/$gd/clear_refs" 2>/dev/null || note "no clear_refs"
	rss=$(vm_kb "$gd" VmRSS); cpu0=$(cpu_s "$gd"); rc0=$(io_b "$gd" rchar)
	peer=$(python3 -c "import ipaddress,sys; print(ipaddress.ip_address('127.64.0.0') + 1 + int(sys.argv[1]))" $((m - 1)))
	ts=$(now)
	timeout "$SYNC_MAX" "$GOSSIPCTL" --rpc-addr "127.0.0.1:$rp" \
		--timeout "$SYNC_MAX" join "$peer:$sp" >"$OUT/join-$tag.out" 2>&1 &
	jp=$!; PIDS+=("$jp")
	wait "$jp"; jrc=$?
	sync_s=$(since "$ts")
	sync_cpu=$(awk -v a="$cpu0" -v b="$(cpu_s "$gd")" 'BEGIN { printf "%.2f", b - a }')
	rc1=$(io_b "$gd" rchar)
	hwm=$(vm_kb "$gd" VmHWM)
	c=$(info_counts "$rp")
	local sealed
	sealed=$(curl -s "http://127.0.0.1:$mp/metrics" | grep -E 'sealed|dropped_total\{layer="sync"' | tr '\n' ' ')
	printf '%-8s join_s %-8s sync rc=%s %s s cpu %s s rss %s MiB hwm %s MiB in %s MiB counts %s load %s\n' \
		"$n" "$tj" "$jrc" "$sync_s" "$sync_cpu" "$(mib "$rss")" "$(mib "$hwm")" \
		"$(awk -v a="$rc0" -v b="$rc1" 'BEGIN { printf "%.1f", (b - a) / 1048576 }')" \
		"${c// //}" "$(cut -d' ' -f1 /proc/loadavg)"
	[ -n "$sealed" ] && note "$tag: $sealed"
	fresh "$n" "$gp"
	kill "$sw" "$gd" 2>/dev/null
	wait "$sw" "$gd" 2>/dev/null
}

# fresh N SEED_PORT: a new gossipd joins the pool through the first one.
fresh() {
	local n=$(($1 + 1)) gp rp g2 t0 tj="" c end
	read -r gp rp <<<"$(free_ports 2)"
	t0=$(now)
	"$GOSSIPD" --name "fresh-$1" --bind "127.0.0.1:$gp" "${ENC[@]}" \
		--rpc-addr "127.0.0.1:$rp" --join "127.0.0.1:$2" \
		--log-level warn >"$OUT/fresh-n$1.log" 2>&1 &
	g2=$!; PIDS+=("$g2")
	end=$(($(date +%s) + ${JOIN_MAX:-$((120 + $1 / 2000))}))
	while [ "$(date +%s)" -lt "$end" ]; do
		kill -0 "$g2" 2>/dev/null || { note "fresh: gossipd died"; return 1; }
		c=$(info_counts "$rp")
		if [ "${c%% *}" -ge "$n" ] 2>/dev/null; then tj=$(since "$t0"); break; fi
		sleep 0.2
	done
	printf '%-8s fresh join %s s cpu %s s rss %s MiB hwm %s MiB counts %s load %s\n' \
		"$1" "${tj:-timeout}" "$(cpu_s "$g2")" "$(mib "$(vm_kb "$g2" VmRSS)")" \
		"$(mib "$(vm_kb "$g2" VmHWM)")" "${c// //}" "$(cut -d' ' -f1 /proc/loadavg)"
	kill "$g2" 2>/dev/null
	wait "$g2" 2>/dev/null
}

note "output in $OUT; load $(cut -d' ' -f1-3 /proc/loadavg)"
for n in $SIZES; do
	run_size "$n"
done
