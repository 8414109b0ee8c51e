#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A cluster of N gossipd processes (default 50; GOSSIPD_CLUSTER_N) on
127.0.0.1: every node joins node 0; measure until every node lists N
alive, then SIGKILL one and measure until every survivor lists it failed."""
import math
import os
import signal
import time

import gossip_lib as g

N = int(os.environ.get("GOSSIPD_CLUSTER_N", "50"))
c = g.Checks()
nodes = [g.start_gossipd("n0", level="warn")]
c.check(g.wait_rpc(nodes[0], 10), "n0 up")
t_start = time.monotonic()
for i in range(1, N):
    nodes.append(g.start_gossipd(f"n{i}", join=[nodes[0].addr],
                                 level="warn"))
    time.sleep(0.02)


def alive_count(n):
    m = g.members(n, timeout=5)
    if m is None:
        return -1
    return sum(1 for st, _, _ in m.values() if st == "alive")


def converged():
    return all(alive_count(n) == N for n in nodes)


ok, dt = g.wait_for(converged, 120, step=0.5)
conv_s = time.monotonic() - t_start
c.check(bool(ok), f"{N} nodes converged: every node lists {N} alive, "
        f"{conv_s:.2f}s after the first start")
victim = nodes[N // 2]
survivors = [n for n in nodes if n is not victim]
time.sleep(2)
t0 = time.monotonic()
victim.signal(signal.SIGKILL)


def all_see_failed():
    for n in survivors:
        m = g.members(n, timeout=5)
        if m is None or m.get(victim.name, ("?",))[0] != "failed":
            return False
    return True


ok, dt = g.wait_for(all_see_failed, 90, step=0.5)
c.check(bool(ok), f"killed {victim.name}: every survivor lists it failed "
        f"after {time.monotonic() - t0:.2f}s")
c.check(all(n.proc.poll() is None for n in survivors), "no survivor crashed")
# LAN prediction: detection within ~2 probe intervals, then Lifeguard's
# suspicion timeout shrinks to its minimum SuspicionMult (4) x log10(N) x
# ProbeInterval (1 s) once the 3 expected confirmations arrive.
pred = 2 + 4 * math.log10(N)
print(f"MEASURED cluster_n={N} convergence_s={conv_s:.2f} "
      f"detect_all_s={time.monotonic() - t0:.2f} "
      f"predicted_detect_s~{pred:.1f}", flush=True)
c.finish(nodes[:3])
