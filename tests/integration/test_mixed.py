#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A mixed cluster of 3 serf agents and 3 gossipd processes: everyone lists
all 6 alive; a SIGKILLed gossipd and then a SIGKILLed serf agent are listed
failed by every survivor (indirect probes, nacks and suspicion
confirmations cross implementations); the serf agents log no error about
what gossipd sent them."""
import re
import signal
import time

import gossip_lib as g

c = g.Checks()
serfs = [g.start_serf("s0", tags={"impl": "serf"})]
c.check(g.wait_rpc(serfs[0], 10), "s0 up")
seed = serfs[0].addr
serfs += [g.start_serf(f"s{i}", join=[seed], tags={"impl": "serf"})
          for i in (1, 2)]
gds = [g.start_gossipd(f"g{i}", join=[seed], tags={"impl": "gossipd"})
       for i in range(3)]
nodes = serfs + gds


def all_alive(obs, names):
    def ok():
        for o in obs:
            m = g.members(o)
            if m is None or any(m.get(n, ("?",))[0] != "alive"
                                for n in names):
                return False
        return True
    return ok


names = [n.name for n in nodes]
# Between the serf agents this is memberlist's own convergence: gossip,
# then a push/pull every 30 s. Once under CI load a serf agent (the last
# to join) had heard no alive of the three gossipds after 15 s; 40 s
# covers its first push/pull. Seconds are in the message either way.
ok, dt = g.wait_for(all_alive(nodes, names), 40)
c.check(bool(ok), f"all 6 list all 6 alive ({dt:.2f}s)")
if not ok:
    for o in nodes:
        m = g.members(o) or {}
        print(f"  {o.name} lists " + ", ".join(
            f"{n}={m.get(n, ('?',))[0]}" for n in names))
m = g.members(serfs[1]) or {}
c.check(m.get("g2", ("", {}))[1].get("impl") == "gossipd",
        "serf sees gossipd's tags")


def all_failed(obs, name):
    def ok():
        for o in obs:
            mm = g.members(o)
            if mm is None or mm.get(name, ("?",))[0] != "failed":
                return False
        return True
    return ok


time.sleep(2)
victim = gds[1]
survivors = [n for n in nodes if n is not victim]
t0 = time.monotonic()
victim.signal(signal.SIGKILL)
ok, dt = g.wait_for(all_failed(survivors, victim.name), 20)
c.check(bool(ok), f"SIGKILL g1: all 5 survivors list it failed ({dt:.2f}s)")
victim2 = serfs[2]
survivors = [n for n in survivors if n is not victim2]
victim2.signal(signal.SIGKILL)
ok, dt = g.wait_for(all_failed(survivors, victim2.name), 20)
c.check(bool(ok), f"SIGKILL s2: all 4 survivors list it failed ({dt:.2f}s)")
bad = []
for s in serfs:
    for line in s.log_text().splitlines():
        # Failures to reach the killed nodes are expected; what must not
        # appear is serf failing to read what gossipd sent.
        if re.search(r"decode|unknown|not supported|panic|invalid|"
                     r"Failed to receive|Failed to handle", line):
            bad.append(line.strip())
c.check(not bad, f"serf logs no errors about gossipd's packets: {bad[:5]}")
c.finish(nodes)
