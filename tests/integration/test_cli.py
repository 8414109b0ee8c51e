#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""gossipd's command line contract: bad flags, malformed addresses and a
busy port exit 2 with one line naming the problem; an unreachable --join
exits 1; --retry-join never stops the start; SIGTERM exits 0."""
import signal
import socket
import subprocess

import gossip_lib as g

c = g.Checks()


def run(args, timeout=10):
    p = subprocess.run([g.GOSSIPD] + args, capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stderr.strip()


rc, err = run(["--bogus"])
c.check(rc == 2 and err == 'gossipd: unknown flag "--bogus"',
        f"unknown flag: exit 2, one line ({rc}, {err!r})")
rc, err = run(["--bind", "127.0.0.1:99999"])
c.check(rc == 2 and "--bind" in err and len(err.splitlines()) == 1,
        f"malformed --bind: exit 2 naming the flag ({rc}, {err!r})")
rc, err = run(["--join", "nohost:x"])
c.check(rc == 2 and "--join" in err, f"malformed --join: exit 2 ({rc}, {err!r})")
rc, err = run(["--profile", "fast"])
c.check(rc == 2 and "--profile" in err, f"bad --profile: exit 2 ({rc})")
rc, out = run(["--help"])
c.check(rc == 0, "--help exits 0")

# A busy port (UDP and TCP held by us).
busy = g.free_port()
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", busy))
t.listen(1)
rc, err = run(["--name", "busy", "--bind", f"127.0.0.1:{busy}",
               "--rpc-addr", f"127.0.0.1:{g.free_port()}"])
c.check(rc == 2 and "in use" in err and str(busy) in err
        and len(err.splitlines()) == 1,
        f"port in use: exit 2 naming the address ({rc}, {err!r})")
t.close()
rpc_busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
rpc_busy.bind(("127.0.0.1", 0))
rpc_busy.listen(1)
rc, err = run(["--name", "busy", "--bind", f"127.0.0.1:{g.free_port()}",
               "--rpc-addr", f"127.0.0.1:{rpc_busy.getsockname()[1]}"])
c.check(rc == 2 and "rpc" in err, f"RPC port in use: exit 2 ({rc}, {err!r})")
rpc_busy.close()

# --join to nobody: exit 1 (as serf).
dead = g.free_port()
rc, err = run(["--name", "lonely", "--bind", f"127.0.0.1:{g.free_port()}",
               "--rpc-addr", f"127.0.0.1:{g.free_port()}",
               "--join", f"127.0.0.1:{dead}"], timeout=30)
c.check(rc == 1, f"unreachable --join: exit 1 ({rc})")

# --retry-join to nobody: keeps running; SIGTERM: exit 0.
n = g.start_gossipd("retrier", retry_join=[f"127.0.0.1:{dead}"],
                    extra=["--retry-interval", "200ms"])
c.check(g.wait_rpc(n, 5), "retry-join does not stop the start (RPC up)")
c.check(n.proc.poll() is None, "still running after failed retry-joins")
n.signal(signal.SIGTERM)
rc = n.wait_exit(8)
c.check(rc == 0, f"SIGTERM: graceful exit 0 ({rc})")
c.check("Join failed, retrying" in n.log_text(), "retry attempts are logged")
n2 = g.start_gossipd("sigint")
c.check(g.wait_rpc(n2, 5), "second node up")
n2.signal(signal.SIGINT)
rc = n2.wait_exit(8)
c.check(rc == 0, f"SIGINT: graceful exit 0 ({rc})")
c.check("Gracefully shutting down" in n2.log_text(), "SIGINT leaves gracefully")
c.finish([n, n2])
