#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Failure detection across gossipd and serf, with LAN timings:
SIGKILL of a gossipd -> failed in serf within the predicted time;
SIGTERM -> left; SIGKILL of a serf agent -> gossipd lists it failed, and a
restart with the same name -> alive again; SIGSTOP 3 s then SIGCONT ->
never failed."""
import signal
import subprocess
import threading
import time

import gossip_lib as g

# LAN, 2 members: the next probe within 1-2 s (ProbeInterval 1 s; a tick
# is skipped when the shuffled list wraps, doc §6.1), the failed probe
# round (1 s), then the suspicion timeout SuspicionMult (4) x
# max(1, log10(2)) x 1 s = 4 s with no confirmations expected: <= 7 s;
# 9 s leaves room for a loaded machine.
PREDICTED_S = 7.0
BOUND_S = 9.0

c = g.Checks()
nodes = []

s1 = g.start_serf("s1", tags={"role": "serf"})
nodes.append(s1)
c.check(g.wait_rpc(s1, 10), "serf s1 up")

# SIGKILL gossipd -> failed.
ga = g.start_gossipd("ga", join=[s1.addr], tags={"role": "a"})
nodes.append(ga)
ok, _ = g.wait_status(s1, "ga", "alive", 5)
c.check(ok, "ga alive in serf")
time.sleep(1)
t0 = time.monotonic()
ga.signal(signal.SIGKILL)
ok, dt = g.wait_status(s1, "ga", "failed", BOUND_S + 2)
c.check(ok and dt <= BOUND_S,
        f"SIGKILL gossipd: failed in serf after {dt:.2f}s "
        f"(LAN prediction ~{PREDICTED_S:.0f}s, bound {BOUND_S:.0f}s)")

# Restart gossipd with the same name and port -> alive again in serf
# (it must refute its own dead entry from the join push/pull reply).
ga2 = g.start_gossipd("ga", port=ga.port, rpc=ga.rpc, join=[s1.addr],
                      tags={"role": "a2"})
nodes.append(ga2)
ok, dt = g.wait_status(s1, "ga", "alive", 10, {"role": "a2"})
c.check(ok, f"restarted gossipd ga is alive again in serf ({dt:.2f}s)")
ga2.signal(signal.SIGKILL)

# SIGTERM gossipd with leave_on_terminate -> left, exit 0 (serf's default
# without it is to stop without leaving: it_agent_cfg checks that).
gb = g.start_gossipd("gb", join=[s1.addr], extra=["--leave-on-terminate"])
nodes.append(gb)
ok, _ = g.wait_status(s1, "gb", "alive", 5)
c.check(ok, "gb alive in serf")
time.sleep(1)
gb.signal(signal.SIGTERM)
ok, dt = g.wait_status(s1, "gb", "left", 5)
c.check(ok, f"SIGTERM gossipd: left in serf after {dt:.2f}s")
rc = gb.wait_exit(6)
c.check(rc == 0, f"gb exited 0 after the graceful leave ({rc})")

# SIGKILL serf -> failed in gossipd; restart -> alive again.
gc = g.start_gossipd("gc", tags={"role": "c"})
nodes.append(gc)
c.check(g.wait_rpc(gc, 5), "gc up")
s2 = g.start_serf("s2", join=[gc.addr])
nodes.append(s2)
ok, _ = g.wait_status(gc, "s2", "alive", 5)
c.check(ok, "s2 alive in gc")
time.sleep(1)
s2.signal(signal.SIGKILL)
s2.wait_exit(5)
ok, dt = g.wait_status(gc, "s2", "failed", BOUND_S + 2)
c.check(ok and dt <= BOUND_S,
        f"SIGKILL serf: failed in gossipd after {dt:.2f}s")
# force-leave through gossipd's RPC: failed -> left.
out = subprocess.run(["serf", "force-leave", f"-rpc-addr={gc.rpc_addr}", "s2"],
                     capture_output=True, text=True, timeout=10)
ok, dt = g.wait_status(gc, "s2", "left", 5)
c.check(out.returncode == 0 and ok,
        f"serf force-leave via gossipd: s2 failed -> left ({dt:.2f}s)")
s2b = g.start_serf("s2", port=s2.port, rpc=s2.rpc, join=[gc.addr])
nodes.append(s2b)
ok, dt = g.wait_status(gc, "s2", "alive", 10)
c.check(ok, f"restarted serf s2 is alive again in gossipd ({dt:.2f}s)")

# SIGSTOP gossipd 3 s -> never failed in serf.
gd = g.start_gossipd("gd", join=[s1.addr])
nodes.append(gd)
ok, _ = g.wait_status(s1, "gd", "alive", 5)
c.check(ok, "gd alive in serf")
time.sleep(1)
seen = set()
stop = threading.Event()


def watch():
    while not stop.is_set():
        st = g.status_of(s1, "gd")
        if st:
            seen.add(st)
        time.sleep(0.1)


w = threading.Thread(target=watch)
w.start()
gd.signal(signal.SIGSTOP)
time.sleep(3)
gd.signal(signal.SIGCONT)
time.sleep(6)
stop.set()
w.join()
c.check("failed" not in seen and "alive" in seen,
        f"SIGSTOP 3s + SIGCONT: never failed (statuses seen {sorted(seen)})")
ok, _ = g.wait_status(s1, "gd", "alive", 3)
c.check(ok, "gd alive after SIGCONT")
c.finish(nodes)
