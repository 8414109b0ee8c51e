#!/usr/bin/env bash
# The main job: a local 3-node gossipd cluster on 127.0.0.1 (plus a real
# serf agent joined to it when serf is installed), membership printed as
# `gossipctl members` shows it, then every change as it happens.
# Ctrl-C leaves gracefully and stops every process this script started.
#
# Usage: scripts/run.sh [--nodes N] [--base-port P] [--profile lan|wan|local]
set -euo pipefail
cd "$(dirname "$0")/.."

NODES=3
BASE=${GOSSIPD_BASE_PORT:-17946}
PROFILE=lan
while [ $# -gt 0 ]; do
	case "$1" in
	--nodes) NODES=$2; shift 2 ;;
	--base-port) BASE=$2; shift 2 ;;
	--profile) PROFILE=$2; shift 2 ;;
	-h|--help) sed -n '2,8p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
done

scripts/setup.sh
BIN=build/control
LOGDIR=$(mktemp -d /tmp/gossipd-run.XXXXXX)
PIDS=()

stop_all() {
	trap - INT TERM EXIT
	echo
	echo "run.sh: leaving gracefully (logs in $LOGDIR)"
	# SIGINT: serf agents leave gracefully only on an interrupt.
	for pid in "${PIDS[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	exit 0
}
trap stop_all INT TERM EXIT

port_of() { echo $((BASE + $1)); }
rpc_of() { echo $((BASE + 1000 + $1)); }

for i in $(seq 0 $((NODES - 1))); do
	args=(--name "node$i" --bind "127.0.0.1:$(port_of "$i")"
	      --rpc-addr "127.0.0.1:$(rpc_of "$i")" --profile "$PROFILE"
	      --tag "role=demo" --tag "index=$i")
	[ "$i" -gt 0 ] && args+=(--join "127.0.0.1:$(port_of 0)")
	# setsid: a terminal's Ctrl-C reaches only this script, which then
	# signals each child once (a second SIGINT means "exit now").
	setsid "$BIN/gossipd" "${args[@]}" >"$LOGDIR/node$i.log" 2>&1 &
	PIDS+=($!)
	sleep 0.3
done

if command -v serf >/dev/null 2>&1; then
	sp=$(port_of "$NODES")
	setsid serf agent -node=serf0 -bind="127.0.0.1:$sp" -rpc-addr="127.0.0.1:$(rpc_of "$NODES")" \
		-join="127.0.0.1:$(port_of 0)" -tag role=serf >"$LOGDIR/serf0.log" 2>&1 &
	PIDS+=($!)
fi

echo "run.sh: ${#PIDS[@]} processes started; logs in $LOGDIR; Ctrl-C to leave"
sleep 2
prev=""
while true; do
	cur=$("$BIN/gossipctl" --rpc-addr "127.0.0.1:$(rpc_of 0)" members 2>&1 || true)
	if [ "$cur" != "$prev" ]; then
		echo "--- $(date +%T) membership as node0 sees it"
		echo "$cur"
		prev=$cur
	fi
	sleep 1
done
