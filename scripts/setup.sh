#!/usr/bin/env bash
# Install what gossipd needs from Debian (idempotent, quiet when all is
# there) and build into build/. Usage: scripts/setup.sh [meson options...]
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(build-essential meson ninja-build pkg-config libdpdk-dev dpdk
      libsodium-dev libssl-dev libcriterion-dev libmsgpuck-dev libjansson-dev serf iproute2 ethtool
      valgrind python3
      libmicrohttpd-dev prometheus curl  # /metrics; promtool and curl for it_metrics
      dpdk-dev  # dpdk-dev brings the testpmd baseline of scripts/bench-dpdk.sh
      libipsec-mb-dev  # AES-GCM for --encrypt (swim_crypto_imb.c; optional, amd64)
      tcpdump)  # loopback captures when an interop test (it_mixed) fails

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
		|| missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	# We want promtool only: Debian's package also enables and starts a
	# Prometheus server (port 9090) on a systemd host. Stop and disable it.
	if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
		$SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
		echo "setup: prometheus installed for promtool; its server is stopped and disabled"
	fi
fi

BUILD=${BUILD:-build}
if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" "$@" >/dev/null
elif [ $# -gt 0 ]; then
	meson configure "$BUILD" "$@" >/dev/null
fi
ninja -C "$BUILD" >/dev/null
