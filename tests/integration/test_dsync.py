#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Delta sync in a mixed pool (issue 14 part 1): three gossipd and one serf
agent. The gossipds recognise each other (Vsn[6]) and run delta exchanges
with each other (their counters say so), never with serf: no exchange is
refused or falls back, serf logs no message type it could not read, and
full push/pulls both ways with serf still work (a join each way). Then
GOSSIP_SWARM (when set) adds 3,000 virtual members through g0 only: g0's
broadcast queue (1,024 deep) drops most of their alives, so g1 and g2 can
learn them only by anti-entropy, and do within seconds through delta
exchanges that transferred leaves (a full push/pull would come every
150 s at this size)."""
import os
import re
import subprocess
import time

import gossip_lib as g

SWARM = os.environ.get("GOSSIP_SWARM", "")
FAST = ["--delta-sync-interval", "1s"]


def info(node):
    """gossipctl info's gossipd counters as a dict (empty on failure)."""
    try:
        out = subprocess.run([g.GOSSIPCTL, "--rpc-addr", node.rpc_addr,
                              "info"], capture_output=True, text=True,
                             timeout=10).stdout
    except (subprocess.TimeoutExpired, OSError):
        return {}
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^\s*(sync_\w+|tcp_\w+|probes\w*) = (\d+)$",
                                 out, re.M)}


def count_alive(node):
    try:
        out = subprocess.run([g.GOSSIPCTL, "--rpc-addr", node.rpc_addr,
                              "members", "--status", "alive", "--count"],
                             capture_output=True, text=True,
                             timeout=10).stdout
        return int(out.strip() or 0)
    except (subprocess.TimeoutExpired, OSError, ValueError):
        return -1


c = g.Checks()
gds = [g.start_gossipd("g0", extra=FAST)]
c.check(g.wait_rpc(gds[0], 10), "g0 up")
seed = gds[0].addr
gds += [g.start_gossipd(f"g{i}", join=[seed], extra=FAST) for i in (1, 2)]
serf = g.start_serf("s0", join=[seed])
nodes = gds + [serf]
names = [n.name for n in nodes]


def all_alive(obs, want):
    def ok():
        for o in obs:
            m = g.members(o)
            if m is None or any(m.get(n, ("?",))[0] != "alive"
                                for n in want):
                return False
        return True
    return ok


ok, dt = g.wait_for(all_alive(nodes, names), 20)
c.check(bool(ok), f"all 4 list all 4 alive ({dt:.2f}s)")


def udp_rounds_seen():
    # each gossipd has started and answered some HELLOs over UDP; the
    # peer draw is random, so wait for it (up to 20 intervals) instead
    # of a fixed sleep that a slow (sanitized) run can miss
    for n in gds:
        st = info(n)
        if st.get("sync_udp_insync", 0) < 2 or \
                st.get("sync_udp_answered", 0) < 1:
            return False
    return True


ok, dt = g.wait_for(udp_rounds_seen, 20, step=0.5)
c.check(bool(ok), f"every gossipd sent and answered UDP HELLOs "
        f"({dt:.1f}s)")


def rides_seen():
    # an idle node's HELLO goes with a probe to a gossipd, and a probe
    # due within half an interval goes with a peer's ping (a wakeup it
    # has anyway): each happens within seconds with 4 members
    return all(info(n).get("sync_udp_hellos_on_probe", 0) >= 1 and
               info(n).get("probes_early", 0) >= 1 for n in gds)


ok, dt = g.wait_for(rides_seen, 30, step=0.5)
rides = [(info(n).get("sync_udp_hellos_on_probe"),
          info(n).get("probes_early")) for n in gds]
c.check(bool(ok), f"every gossipd sent HELLOs with its probes and "
        f"started probes early ({dt:.1f}s; (HELLOs, probes): {rides})")
for n in gds:
    st = info(n)
    # in sync by a UDP HELLO (no TCP), by a TCP exchange, or transferred
    delta = st.get("sync_udp_insync", 0) + st.get("sync_insync", 0) + \
        st.get("sync_delta", 0)
    c.check(delta >= 2, f"{n.name}: delta exchanges with gossipd peers "
            f"({st.get('sync_udp_insync')} in sync over UDP, "
            f"{st.get('sync_insync')} over TCP, {st.get('sync_delta')} "
            f"transferred)")
    c.check(st.get("sync_udp_insync", 0) >= 1 and
            st.get("sync_udp_answered", 0) >= 1,
            f"{n.name}: HELLOs over UDP sent and answered: {st}")
    c.check(st.get("sync_fallback") == 0 and
            st.get("sync_delta_failed") == 0,
            f"{n.name}: no delta exchange refused or failed (none with "
            f"serf): {st}")
    c.check(st.get("sync_delta_bytes", 0) + st.get("sync_udp_bytes", 0) >
            0, f"{n.name}: delta bytes counted (TCP and UDP)")
# full push/pulls with serf, both ways, still work
r = subprocess.run([g.GOSSIPCTL, "--rpc-addr", gds[1].rpc_addr, "join",
                    serf.addr], capture_output=True, text=True, timeout=20)
c.check(r.returncode == 0, f"g1 joins serf: a full push/pull ({r.stdout}"
        f"{r.stderr})")
r = subprocess.run([g.SERF, "join", f"-rpc-addr={serf.rpc_addr}",
                    gds[2].addr], capture_output=True, text=True, timeout=20)
c.check(r.returncode == 0, f"serf joins g2: a full push/pull ({r.stdout})")
st = info(gds[1])
c.check(st.get("sync_full", 0) >= 1, f"g1 counts full push/pulls: {st}")

if SWARM:
    port = g.free_port()
    p = subprocess.Popen([SWARM, "--members", "3000", "--join", seed,
                          "--port", str(port), "--no-leave"],
                         stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(g.LOGDIR, "swarm.log"),
                                     "w"),
                         stdin=subprocess.DEVNULL)
    g._procs.append(p)
    want = 3000 + len(nodes)
    ok, dt = g.wait_for(lambda: all(count_alive(n) == want for n in gds),
                        40, step=0.5)
    c.check(bool(ok), f"all 3 gossipd list {want} alive ({dt:.2f}s; "
            f"{[count_alive(n) for n in gds]})")
    st0 = info(gds[0])
    for n in gds[1:]:
        st = info(n)
        c.check(st.get("sync_delta", 0) >= 1,
                f"{n.name} learnt the members g0 could not gossip through "
                f"delta exchanges that transferred leaves: {st}")
    c.check(st0.get("sync_fallback") == 0, "no fallback after the swarm")

bad = []
for line in serf.log_text().splitlines():
    if re.search(r"msgType|decode|unknown|not supported|panic|invalid|"
                 r"Failed to receive|Failed to handle", line):
        bad.append(line.strip())
c.check(not bad, f"serf logs no errors about what gossipd sent: {bad[:5]}")
c.finish(nodes)
