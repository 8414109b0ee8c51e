#!/usr/bin/env bash
# Build the libFuzzer targets with clang (ASan + UBSan, UB fatal) and run
# each one for a bounded time on a copy of its corpus from the tree
# (tests/fuzz/corpus/<name>). New inputs that add coverage are merged back
# into the tree only with --update-corpus. A crash leaves its input in
# build-fuzz/crashes/ and the script exits non-zero.
#
#   scripts/fuzz.sh [--seconds N] [--update-corpus] [target...]
#
# Targets: wire ping pkt rpc crypto pp cfg dsync serf_pp (default: all of them).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
update=0
targets=()
while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
	--update-corpus) update=1; shift ;;
	-h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "fuzz.sh: unknown flag $1" >&2; exit 2 ;;
	*) targets+=("$1"); shift ;;
	esac
done
case "$seconds" in ''|*[!0-9]*) echo "fuzz.sh: --seconds takes a whole number" >&2; exit 2 ;; esac
[ ${#targets[@]} -gt 0 ] || targets=(wire ping pkt rpc crypto pp cfg dsync serf_pp)

# clang and its fuzzer runtime, besides what scripts/setup.sh installs.
scripts/setup.sh
need=()
for p in clang libclang-rt-14-dev; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

B=build-fuzz
[ -f "$B/build.ninja" ] || CC=clang meson setup "$B" -Dfuzz=true >/dev/null
mkdir -p "$B/crashes"
rc=0
for t in "${targets[@]}"; do
	bin="$B/tests/fuzz/fuzz_$t"
	ninja -C "$B" "tests/fuzz/fuzz_$t" >/dev/null || { echo "fuzz_$t: does not build"; rc=1; continue; }
	tree="tests/fuzz/corpus/$t"
	work=$(mktemp -d)
	[ -d "$tree" ] && cp "$tree"/* "$work"/ 2>/dev/null || true
	if "$bin" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
		-artifact_prefix="$B/crashes/$t-" "$work" >"$B/fuzz_$t.log" 2>&1; then
		echo "fuzz_$t: $(grep -Eo 'Done [0-9]+ runs' "$B/fuzz_$t.log" || echo 'ran') in ${seconds} s, no crash"
	else
		echo "fuzz_$t: FAILED, see $B/fuzz_$t.log and $B/crashes/"
		rc=1
	fi
	if [ "$update" = 1 ]; then
		mkdir -p "$tree"
		"$bin" -merge=1 "$tree" "$work" >/dev/null 2>&1 || true
		echo "fuzz_$t: corpus in the tree now $(ls "$tree" | wc -l) inputs"
	fi
	rm -rf "$work"
done
exit $rc
