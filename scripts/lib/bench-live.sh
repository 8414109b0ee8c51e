# Shared by the live bench scripts (sourced): bench-sync.sh,
# bench-scale-live.sh, bench-swarm.sh, bench-idle-scale.sh, bench-sealed.sh:
# PID bookkeeping and cleanup, time stamps, free loopback ports, CPU and
# memory of a process, a gossipd's RPC counts and metrics.
# The caller sets OUT (a directory) and may set GOSSIPCTL.
# shellcheck shell=bash

HZ=${HZ:-$(getconf CLK_TCK)}
PIDS=()

# Kill every process this script started, by PID (never by name).
live_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	PIDS=()
}

# The binaries the caller named (GOSSIPD, GOSSIPCTL, SWARM) must exist;
# then every process started is killed by PID on exit.
live_require() {
	local x
	for x in "$GOSSIPD" "$GOSSIPCTL" "$SWARM"; do
		[ -x "$x" ] || { echo "no $x (ninja -C $BUILD control/gossipd control/gossipctl tools/swarm/gossip-swarm)"; exit 1; }
	done
	trap live_cleanup EXIT
	trap 'exit 130' INT TERM
}

note() { echo "[$(date +%T)] $*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# free_ports N: N ports in 20000..31999 free for both TCP and UDP.
free_ports() {
	python3 - "$1" <<'PY'
import random, socket, sys
want, out = int(sys.argv[1]), []
for p in random.sample(range(20000, 32000), 2000):
    try:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            s.bind(("0.0.0.0", p))
            s.close()
    except OSError:
        continue
    out.append(p)
    if len(out) == want:
        break
print(" ".join(map(str, out)))
PY
}

# CPU seconds (utime + stime) of a PID; VmRSS / VmHWM in KiB.
cpu_s() {
	awk -v hz="$HZ" '{ sub(/^.*\) /, ""); split($0, f, " ");
		printf "%.2f", (f[12] + f[13]) / hz }' "/proc/$1/stat" 2>/dev/null
}
# ms on CPU of a PID, all its threads: schedstat's first field is ns
# (utime and stime tick in 10 ms, too coarse for an idle daemon).
cpu_ms() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null |
		awk '{ t += $1 } END { printf "%.3f", t / 1e6 }'
}
vm_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
# rchar / wchar of a PID: bytes through read(2)/write(2)-like calls
# (gossipd's TCP streams; its UDP goes through the dataplane's
# recvmmsg/sendmmsg, which /proc/PID/io counts too).
io_kb() { awk -v k="$2:" '$1 == k { printf "%.0f", $2 / 1000 }' "/proc/$1/io" 2>/dev/null; }
io_b() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/io" 2>/dev/null; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# `gossipctl info` on RPC port $1 -> "members failed left" of the Serf layer.
info_counts() {
	timeout 20 "$GOSSIPCTL" --rpc-addr "127.0.0.1:$1" info 2>/dev/null |
		awk '/^serf:/ { s = 1 } /^[a-z]/ && !/^serf:/ { s = 0 }
		     s && $1 == "members" { m = $3 } s && $1 == "failed" { f = $3 }
		     s && $1 == "left" { l = $3 }
		     END { print m + 0, f + 0, l + 0 }'
}

# `gossipctl info` on RPC port $1: the value of KEY ($2) in section $3
# (default gossipd).
info_key() {
	timeout 20 "$GOSSIPCTL" --rpc-addr "127.0.0.1:$1" info 2>/dev/null |
		awk -v k="$2" -v sec="${3:-gossipd}:" '$0 ~ "^" sec { s = 1; next }
		     /^[a-z]/ { s = 0 } s && $1 == k { print $3; exit }'
}

# metric PORT NAME-with-labels from gossipd's /metrics.
metric() {
	curl -s --max-time 10 "http://127.0.0.1:$1/metrics" 2>/dev/null |
		awk -v k="$2" '$1 == k { print $2 }'
}

# memberlist's scaled push/pull interval for N members, seconds.
pp_interval() {
	awk -v n="$1" 'BEGIN { if (n <= 32) { print 30; exit }
		l = log(n) / log(2) - 5; c = int(l); if (c < l) c++;
		print 30 * (c + 1) }'
}
