#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""gossipd and a real serf agent join each other, both ways, and list each
other alive with tags within 5 s on both sides (serf CLI against both RPC
servers, and gossipctl when it is built). Also two gossipd processes."""
import os
import socket
import subprocess

import gossip_lib as g

c = g.Checks()
nodes = []

# 1. gossipd joins serf.
s1 = g.start_serf("s1", tags={"role": "serf"})
nodes.append(s1)
c.check(g.wait_rpc(s1, 10), "serf agent s1 is up")
g1 = g.start_gossipd("g1", join=[s1.addr], tags={"role": "web", "dc": "x1"})
nodes.append(g1)
ok, dt = g.wait_status(s1, "g1", "alive", 5, {"role": "web", "dc": "x1"})
c.check(ok, f"serf lists gossipd g1 alive with tags ({dt:.2f}s)")
ok, dt = g.wait_status(g1, "s1", "alive", 5, {"role": "serf"})
c.check(ok, f"gossipd g1 lists serf s1 alive with tags ({dt:.2f}s)")

# Queries both ways: serf's `query` through gossipd's RPC, and a query
# from the serf agent that gossipd acks.
out = subprocess.run(["serf", "query", f"-rpc-addr={g1.rpc_addr}",
                      "-timeout=2s", "ping", "hi"],
                     capture_output=True, text=True, timeout=15)
c.check(out.returncode == 0 and "Ack from 's1'" in out.stdout
        and "Ack from 'g1'" in out.stdout,
        f"serf query via gossipd's RPC gets acks from both: {out.stdout!r}")
out = subprocess.run(["serf", "query", f"-rpc-addr={s1.rpc_addr}",
                      "-timeout=2s", "ping", "hi"],
                     capture_output=True, text=True, timeout=15)
c.check(out.returncode == 0 and "Ack from 'g1'" in out.stdout,
        f"a query from the serf agent is acked by gossipd: {out.stdout!r}")

# 2. serf joins gossipd.
g2 = g.start_gossipd("g2", tags={"role": "db"})
nodes.append(g2)
c.check(g.wait_rpc(g2, 5), "gossipd g2 is up")
s2 = g.start_serf("s2", join=[g2.addr], tags={"role": "serf2"})
nodes.append(s2)
ok, dt = g.wait_status(g2, "s2", "alive", 5, {"role": "serf2"})
c.check(ok, f"gossipd g2 lists serf s2 (which joined it) alive ({dt:.2f}s)")
ok, dt = g.wait_status(s2, "g2", "alive", 5, {"role": "db"})
c.check(ok, f"serf s2 lists gossipd g2 alive with tags ({dt:.2f}s)")

# 3. two gossipd processes.
g3 = g.start_gossipd("g3", tags={"k": "v"})
nodes.append(g3)
c.check(g.wait_rpc(g3, 5), "gossipd g3 is up")
g4 = g.start_gossipd("g4", join=[g3.addr])
nodes.append(g4)
ok, dt = g.wait_status(g3, "g4", "alive", 5)
c.check(ok, f"g3 lists g4 alive ({dt:.2f}s)")
ok, dt = g.wait_status(g4, "g3", "alive", 5, {"k": "v"})
c.check(ok, f"g4 lists g3 alive with tags ({dt:.2f}s)")
c.check("EventMemberJoin: g4 127.0.0.1" in g3.log_text(),
        "g3 logs serf-style 'EventMemberJoin: g4 127.0.0.1'")

# 3b. IPv6 loopback, when the kernel has it.
try:
    t6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    t6.bind(("::1", 0))
    t6.close()
    has_v6 = True
except OSError:
    has_v6 = False
if has_v6:
    p6a, p6b = g.free_port(), g.free_port()
    v6a = g.start_gossipd("v6a", extra=["--bind", f"[::1]:{p6a}"])
    c.check(g.wait_rpc(v6a, 5), "IPv6: v6a up")
    v6b = g.start_gossipd("v6b", join=[f"[::1]:{p6a}"],
                          extra=["--bind", f"[::1]:{p6b}"])
    nodes += [v6a, v6b]
    ok, dt = g.wait_status(v6a, "v6b", "alive", 5)
    c.check(ok, f"IPv6: v6a lists v6b alive over [::1] ({dt:.2f}s)")
    m = g.members(v6b) or {}
    c.check(m.get("v6a", ("", {}, ""))[2] == f"[::1]:{p6a}",
            f"IPv6: v6b lists v6a at [::1]:{p6a}: {m.get('v6a')}")

# 4. --retry-join to a seed that comes up later: joined in the background.
sport = g.free_port()
g5 = g.start_gossipd("g5", retry_join=[f"127.0.0.1:{sport}"],
                     extra=["--retry-interval", "300ms"], tags={"r": "1"})
nodes.append(g5)
c.check(g.wait_rpc(g5, 5), "g5 runs while its retry-join seed is down")
s3 = g.start_serf("s3", port=sport)
nodes.append(s3)
ok, dt = g.wait_status(s3, "g5", "alive", 8, {"r": "1"})
c.check(ok, f"retry-join reached the late seed: g5 alive in serf s3 ({dt:.2f}s)")

# 5. gossipctl, when built.
if g.GOSSIPCTL and os.path.exists(g.GOSSIPCTL):
    out = subprocess.run([g.GOSSIPCTL, "--rpc-addr", g1.rpc_addr, "members"],
                         capture_output=True, text=True, timeout=5)
    c.check(out.returncode == 0 and "s1" in out.stdout
            and "alive" in out.stdout,
            f"gossipctl members lists s1 alive: {out.stdout.strip()!r}")
c.finish(nodes)
