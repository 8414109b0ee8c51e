#!/usr/bin/env bash
# Install what is missing, build, and run every test.
# Usage: scripts/test.sh [meson test args...]   (SANITIZE=1 for ASan/UBSan)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SANITIZE:-0}" = 1 ]; then
	export BUILD=${BUILD:-build-asan}
	scripts/setup.sh -Dsanitize_all=true
else
	export BUILD=${BUILD:-build}
	scripts/setup.sh
fi
rc=0
meson test -C "$BUILD" --print-errorlogs --num-processes 2 "$@" || rc=$?

# One closing line in the plain 'N passed, N failed' form, from meson's summary.
log="$BUILD/meson-logs/testlog.json"
if [ -f "$log" ]; then
	python3 - "$log" <<'PY'
import json, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0, "TIMEOUT": 0, "ERROR": 0}
for line in open(sys.argv[1]):
    r = json.loads(line).get("result", "")
    counts[r] = counts.get(r, 0) + 1
bad = counts["FAIL"] + counts["TIMEOUT"] + counts["ERROR"]
print(f"gossipd: {counts['OK']} passed, {bad} failed, {counts['SKIP']} skipped")
PY
fi
exit $rc
