#!/bin/bash
# gossip-swarm exits 2 with one clear line on stderr for every bad flag,
# and 0 for --help / --version; the dpdk backend (the line-rate mode,
# UDP only) refuses --join and --encrypt, and needs --eal, with exit 2.
set -u
bin=$1
fail=0
check() {
	local want=$1; shift
	local err out rc
	err=$("$bin" "$@" 2>&1 >/dev/null); rc=$?
	if [ "$rc" != "$want" ]; then
		echo "FAIL: gossip-swarm $* -> exit $rc, want $want ($err)"; fail=1
	elif [ "$want" = 2 ] && [ "$(printf '%s\n' "$err" | wc -l)" != 1 ]; then
		echo "FAIL: gossip-swarm $* -> not one line: $err"; fail=1
	fi
}
check 2 --bogus
check 2 --members 0 --join 127.0.0.1:7946
check 2 --members abc --join 127.0.0.1:7946
check 2 --join nowhere
check 2 --members 10
check 2 --join 127.0.0.1:7946 --fail 20@1 --members 10
check 2 --join 127.0.0.1:7946 --loss 2
check 2 --join 127.0.0.1:7946 --dataplane dpdk --eal "--no-pci"
check 2 --dataplane dpdk --encrypt AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= --eal "--no-pci"
check 2 --dataplane dpdk
check 2 --join 127.0.0.1:7946 --flood 198.18.0.1:7946 --flood-name n
check 2 --flood 127.64.0.1:7946
check 2 --dataplane dpdk --eal "--no-pci" --flood 198.18.0.1:7946
check 2 --dataplane dpdk --eal "--no-pci" --flood 198.18.0.1:7946 --flood-name n --flood-window 0
check 0 --help
check 0 --version
exit $fail
