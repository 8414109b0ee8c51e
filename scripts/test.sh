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
meson test -C "$BUILD" --print-errorlogs --num-processes 2 "$@"
