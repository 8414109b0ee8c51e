#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A flood of malformed UDP datagrams and garbage TCP streams at a gossipd
in a 2-node cluster (gossipd + serf) leaves membership unchanged, the
process alive, and the drops counted (serf info via the RPC)."""
import json
import os
import random
import socket
import subprocess
import time

import gossip_lib as g

c = g.Checks()
s1 = g.start_serf("s1", tags={"role": "serf"})
c.check(g.wait_rpc(s1, 10), "serf s1 up")
ga = g.start_gossipd("ga", join=[s1.addr], tags={"role": "a"})
ok, _ = g.wait_status(s1, "ga", "alive", 5)
c.check(ok, "ga alive in serf")
before = g.members(ga)


def info(node):
    out = subprocess.run(["serf", "info", f"-rpc-addr={node.rpc_addr}",
                          "-format=json"], capture_output=True, text=True,
                         timeout=5)
    return json.loads(out.stdout) if out.returncode == 0 else {}


rnd = random.Random(1234)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
prefixes = [b"", b"\x00", b"\x07\x05", b"\x09\x82", b"\x0c\x00\x00\x00\x00",
            b"\x04\x86", b"\x02\xff", b"\xf4\x03abc", b"\x08\x04\x8b"]
t_end = time.monotonic() + 3
nb_udp = 0
while time.monotonic() < t_end and nb_udp < 30000:
    body = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 300)))
    pkt = rnd.choice(prefixes) + body
    try:
        u.sendto(pkt or b"\x00", ("127.0.0.1", ga.port))
    except OSError:
        pass
    nb_udp += 1
nb_tcp = 0
for i in range(300):
    try:
        t = socket.create_connection(("127.0.0.1", ga.port), timeout=1)
        t.sendall(rnd.choice([b"\x06\xc3", b"\x42garbage", b"\x09\x82\xa4Algo",
                              b"\x0a\x00\x00\x00\x05xxxxx", b"\x00\x85",
                              os.urandom(rnd.randint(1, 2000))]))
        t.close()
        nb_tcp += 1
    except OSError:
        pass
g.log(f"sent {nb_udp} malformed datagrams and {nb_tcp} garbage streams")
time.sleep(2)
c.check(ga.proc.poll() is None, "gossipd survived the flood")
after = g.members(ga)
c.check(after is not None and
        {k: v[0] for k, v in after.items()} == {k: v[0] for k, v in before.items()},
        f"membership unchanged in gossipd: {after}")
ok, _ = g.wait_status(s1, "ga", "alive", 2)
c.check(ok, "serf still lists ga alive")
st = info(ga).get("gossipd", {})
drops = int(st.get("dp_drop_malformed", 0)) + int(st.get("packets_bad", 0))
c.check(drops > 0, f"UDP drops counted: {st}")
c.check(int(st.get("tcp_bad_input", 0)) + int(st.get("tcp_encrypted", 0)) > 0,
        "garbage TCP streams counted")
c.finish([ga, s1])
