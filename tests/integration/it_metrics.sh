#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# gossipd's /metrics and statsd on 127.0.0.1, ports below 32768:
#
#   gossipd a (--metrics-addr, --statsd-addr to a python UDP listener)
#   gossipd b joins a, then is SIGKILLed
#
# Checks: the scrape passes `promtool check metrics` (skipped with a
# message when promtool is absent; Debian package prometheus); the alive
# gauge goes 1 -> 2 when b joins; garbage UDP datagrams move a's drop
# counters; the failed gauge goes 0 -> 1 and the time-to-detect histogram
# counts one failure after b's SIGKILL; probe RTTs and b's join push/pull
# are timed; statsd sends to a closed port count as drops; a path
# other than /metrics is 404; statsd lines arrive; a busy --metrics-addr
# exits 2 naming the flag. Every process is killed by PID by a trap, also
# on failure. About 20 s.
# Usage: GOSSIPD=build/control/gossipd tests/integration/it_metrics.sh
set -u

GOSSIPD=${GOSSIPD:-${1:-build/control/gossipd}}
. "$(dirname "$0")/it_lib.sh"

command -v python3 >/dev/null || skip "no python3 (ports, statsd listener)"
command -v curl >/dev/null || skip "no curl (scrapes)"
[ -x "$GOSSIPD" ] || skip "no gossipd at $GOSSIPD"
it_init gd-it-metrics

# The body of port $1's path $2 (default /metrics), or "HTTP <code>".
scrape() {
	local body code
	body=$(curl -s -m 3 -w '\n%{http_code}' "http://127.0.0.1:$1${2:-/metrics}")
	code=${body##*$'\n'}
	if [ "$code" = 200 ]; then
		printf '%s\n' "${body%$'\n'*}"
	else
		echo "HTTP $code"
	fi
}

# Value of sample $2 (name with labels, exact) in a scrape of port $1.
sample() {
	scrape "$1" | awk -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) print "" }'
}

# Sum of every sample of family $2 in a scrape of port $1.
family_sum() {
	scrape "$1" | awk -v f="$2" 'index($1, f "{") == 1 || $1 == f { s += $2 } END { print s + 0 }'
}

# Wait up to $3 s for sample $2 on port $1 to equal $4.
wait_sample() {
	local i
	for ((i = 0; i < $3 * 4; i++)); do
		[ "$(sample "$1" "$2")" = "$4" ] && return 0
		sleep 0.25
	done
	return 1
}

read -r PA RA MA SD PB RB PC1 PC2 MB SB < <(free_ports 10)
[ -n "${SB:-}" ] || skip "no free ports below 32768"

# statsd listener: every datagram appended to a file, for 60 s at most
python3 - "$SD" "$LOG/statsd.txt" <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.settimeout(0.5)
end = time.time() + 60
with open(sys.argv[2], "a") as f:
    while time.time() < end:
        try:
            f.write(s.recv(65536).decode()); f.flush()
        except socket.timeout:
            pass
EOF
PIDS+=($!)

"$GOSSIPD" --node it-ma --bind "127.0.0.1:$PA" --rpc-addr "127.0.0.1:$RA" \
	--metrics-addr "127.0.0.1:$MA" --statsd-addr "127.0.0.1:$SD" \
	>"$LOG/a.log" 2>&1 &
PIDS+=($!)
check "a serves /metrics, alive = 1" \
	'wait_sample $MA "gossipd_members{status=\"alive\"}" 10 1'
scrape "$MA" >"$LOG/scrape1.txt"
check "HELP and TYPE present" \
	'grep -q "^# TYPE gossipd_probe_rtt_seconds histogram$" "$LOG/scrape1.txt"'
check "another path is 404" '[ "$(scrape $MA /other)" = "HTTP 404" ]'

"$GOSSIPD" --node it-mb --bind "127.0.0.1:$PB" --rpc-addr "127.0.0.1:$RB" \
	--join "127.0.0.1:$PA" --metrics-addr "127.0.0.1:$MB" \
	--statsd-addr "127.0.0.1:$SB" >"$LOG/b.log" 2>&1 &
PB_PID=$!
PIDS+=($PB_PID)
check "alive goes to 2 when b joins" \
	'wait_sample $MA "gossipd_members{status=\"alive\"}" 15 2'
check "b timed its join push/pull" \
	'wait_sample $MB gossipd_push_pull_seconds_count 5 1'
# nobody listens on b's statsd port: refused sends are counted drops
check "b counts statsd drops" \
	'for i in $(seq 20); do [ "$(sample $MB "gossipd_statsd_packets_total{result=\"dropped\"}")" -gt 0 ] 2>/dev/null && break; sleep 0.25; done; [ "$(sample $MB "gossipd_statsd_packets_total{result=\"dropped\"}")" -gt 0 ]'

if command -v promtool >/dev/null; then
	scrape "$MA" >"$LOG/scrape2.txt"
	check "promtool check metrics" \
		'promtool check metrics <"$LOG/scrape2.txt" >"$LOG/promtool.txt" 2>&1'
else
	note "SKIP promtool check: promtool not installed (Debian package prometheus)"
fi

# Garbage datagrams: dropped by the dataplane or the core, all counted.
before=$(( $(family_sum $MA gossipd_dropped_total) + \
	   $(family_sum $MA gossipd_dp_dropped_total) ))
for junk in '\xff\x00garbage' 'cccccccccccccccccccccccccccccccccccccccc' \
	    '\x00' '\x07\x01\x02'; do
	for i in 1 2 3 4 5; do
		printf "$junk" >"/dev/udp/127.0.0.1/$PA"
	done
done
drops_moved() {
	local now
	now=$(( $(family_sum $MA gossipd_dropped_total) + \
		$(family_sum $MA gossipd_dp_dropped_total) ))
	[ "$now" -ge $((before + 20)) ]
}
check "drop counters grow by the 20 garbage datagrams" \
	'for i in $(seq 20); do drops_moved && break; sleep 0.25; done; drops_moved'

check "probe RTTs counted" \
	'for i in $(seq 40); do [ "$(sample $MA gossipd_probe_rtt_seconds_count)" -gt 0 ] 2>/dev/null && break; sleep 0.25; done; [ "$(sample $MA gossipd_probe_rtt_seconds_count)" -gt 0 ]'

kill -KILL "$PB_PID"
check "failed goes to 1 after b's SIGKILL" \
	'wait_sample $MA "gossipd_members{status=\"failed\"}" 25 1'
check "alive back to 1" '[ "$(sample $MA "gossipd_members{status=\"alive\"}")" = 1 ]'
check "time to detect counted" \
	'wait_sample $MA gossipd_failure_detect_seconds_count 3 1'

check "statsd lines arrive" \
	'grep -q "^gossipd.members.alive:[0-9]*|g$" "$LOG/statsd.txt"'
check "statsd counters sent" \
	'grep -q "^gossipd.packets.in:[0-9]*|c$" "$LOG/statsd.txt"'

# A busy metrics port: exit 2, the flag named.
"$GOSSIPD" --node it-mc --bind "127.0.0.1:$PC1" \
	--rpc-addr "127.0.0.1:$PC2" --metrics-addr "127.0.0.1:$MA" \
	>"$LOG/c.log" 2>&1 &
PC=$!
PIDS+=($PC)
wait "$PC"
rc=$?
check "busy --metrics-addr: exit 2 naming the flag ($rc)" \
	'[ "$rc" = 2 ] && grep -q -- "--metrics-addr 127.0.0.1:$MA: Address already in use" "$LOG/c.log"'

it_finish
