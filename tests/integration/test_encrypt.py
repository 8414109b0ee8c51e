#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Encrypted clusters (memberlist AES-256-GCM, serf -encrypt): gossipd with
--encrypt joins an encrypted serf agent and an encrypted serf agent joins
gossipd, all listed alive with tags; a plaintext gossipd and one with the
wrong key cannot join (exit 1) and never appear in the cluster."""
import subprocess

import gossip_lib as g

c = g.Checks()
key = subprocess.run(["serf", "keygen"], capture_output=True, text=True,
                     timeout=10).stdout.strip()
other = subprocess.run(["serf", "keygen"], capture_output=True, text=True,
                       timeout=10).stdout.strip()
c.check(len(key) == 44 and key != other, "two serf keygen keys")

se1 = g.start_serf("se1", tags={"role": "serf"}, extra=[f"-encrypt={key}"])
c.check(g.wait_rpc(se1, 10), "encrypted serf agent se1 up")

ge1 = g.start_gossipd("ge1", join=[se1.addr], tags={"role": "web"},
                      extra=["--encrypt", key])
ok, dt = g.wait_status(se1, "ge1", "alive", 5, {"role": "web"})
c.check(ok, f"encrypted: serf lists gossipd ge1 alive with tags ({dt:.2f}s)")
ok, dt = g.wait_status(ge1, "se1", "alive", 5, {"role": "serf"})
c.check(ok, f"encrypted: gossipd lists serf se1 alive with tags ({dt:.2f}s)")

se2 = g.start_serf("se2", join=[ge1.addr], extra=[f"-encrypt={key}"])
ok, dt = g.wait_status(ge1, "se2", "alive", 8)
c.check(ok, f"encrypted: serf se2 joined through gossipd ({dt:.2f}s)")

plain = g.start_gossipd("plain", join=[se1.addr])
rc = plain.wait_exit(15)
c.check(rc == 1, f"plaintext gossipd cannot join an encrypted cluster ({rc})")
wrong = g.start_gossipd("wrong", join=[se1.addr], extra=["--encrypt", other])
rc = wrong.wait_exit(15)
c.check(rc == 1, f"gossipd with the wrong key cannot join ({rc})")
m = g.members(se1) or {}
c.check("plain" not in m and "wrong" not in m,
        f"neither appears in the cluster: {sorted(m)}")
c.finish([se1, ge1, se2, plain, wrong])
