#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The agent's operations against a real serf agent on 127.0.0.1: a node
configured by a JSON file and a node configured by flags behave the same;
a restart with --snapshot rejoins without seeds; SIGHUP reloads the log
level and the tags file; serf's signal defaults (SIGTERM stops without
leaving, SIGINT leaves); --rpc-auth; a DNS name in --join; bad config
files exit 2 with one line. Skips (77) without serf."""
import json
import os
import shutil
import signal
import subprocess
import time

import gossip_lib as g

if shutil.which(g.SERF) is None:
    print("serf not installed: skip")
    raise SystemExit(77)

c = g.Checks()
tmp = g.LOGDIR


def write(name, obj):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj))
    return path


def start_cfg(name, cfg_path, extra=()):
    """gossipd from a config file only (plus extra flags)."""
    logpath = os.path.join(tmp, f"{name}.log")
    f = open(logpath, "a")
    p = subprocess.Popen([g.GOSSIPD, "--config-file", cfg_path] + list(extra),
                         stdout=f, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    g._procs.append(p)
    with open(cfg_path) as cf:
        conf = json.load(cf)
    port = int(conf["bind"].rsplit(":", 1)[1])
    rpc = int(conf["rpc_addr"].rsplit(":", 1)[1])
    return g.Node("gossipd", name, port, rpc, p, logpath)


def view(node):
    """{name: (status, tags)} without addresses (ports differ)."""
    m = g.members(node) or {}
    return {k: (v[0], v[1]) for k, v in m.items()}


s1 = g.start_serf("s1", tags={"role": "serf"})
c.check(g.wait_rpc(s1, 10), "serf agent s1 up")

# --- 1. a config-file node and a flag node ---
pf, rf = g.free_port(), g.free_port()
cfg = write("gf.json", {
    "node_name": "gf", "bind": f"127.0.0.1:{pf}",
    "rpc_addr": f"127.0.0.1:{rf}", "tags": {"role": "web", "dc": "x"},
    "start_join": [s1.addr], "log_level": "info", "profile": "lan"})
gf = start_cfg("gf", cfg)
gl = g.start_gossipd("gl", join=[s1.addr], tags={"role": "web", "dc": "x"})
ok_f, _ = g.wait_status(s1, "gf", "alive", 15, {"role": "web", "dc": "x"})
ok_l, _ = g.wait_status(s1, "gl", "alive", 15, {"role": "web", "dc": "x"})
c.check(ok_f and ok_l, "file node and flag node both alive in serf with "
        "the same tags")
same, _ = g.wait_for(lambda: view(gf) == view(gl) and len(view(gf)) == 3, 15)
c.check(bool(same), f"both see the same members ({view(gf)} / {view(gl)})")

# --- 2. serf's signal defaults ---
gf.signal(signal.SIGTERM)
rc = gf.wait_exit(10)
c.check(rc == 0, f"SIGTERM: stops, exit 0 ({rc})")
c.check("Gracefully shutting down" not in gf.log_text(),
        "SIGTERM does not leave (leave_on_terminate defaults to false)")
ok, dt = g.wait_status(s1, "gf", "failed", 30)
c.check(ok, f"serf sees the SIGTERMed node failed, not left ({dt:.1f}s)")
gl.signal(signal.SIGINT)
rc = gl.wait_exit(10)
ok, _ = g.wait_status(s1, "gl", "left", 10)
c.check(rc == 0 and ok, f"SIGINT: leaves gracefully ({rc})")

# --- 3. restart with --snapshot rejoins without seeds ---
snap = os.path.join(tmp, "gs.snap")
ps, rs = g.free_port(), g.free_port()
gs = g.start_gossipd("gs", port=ps, rpc=rs, join=[s1.addr],
                     extra=["--snapshot", snap])
ok, _ = g.wait_status(s1, "gs", "alive", 15)
c.check(ok, "snapshot node joined through --join")
has_s1, _ = g.wait_for(
    lambda: os.path.exists(snap) and f"alive: s1 {s1.addr}" in open(snap).read(), 5)
c.check(bool(has_s1), "the snapshot records s1 as alive")
gs.signal(signal.SIGTERM)
gs.wait_exit(10)
gs = g.start_gossipd("gs", port=ps, rpc=rs, extra=["--snapshot", snap])
ok, dt = g.wait_status(gs, "s1", "alive", 15)
c.check(ok, f"restarted without seeds: rejoined s1 from the snapshot ({dt:.1f}s)")
c.check("Attempting re-join to previously known node: s1" in gs.log_text(),
        "logs serf's re-join line")
ok, _ = g.wait_status(s1, "gs", "alive", 15)
c.check(ok, "serf sees the restarted node alive")

# --- 4. SIGHUP reloads the log level and the tags file ---
ph, rh = g.free_port(), g.free_port()
tags = write("gh.tags", {"role": "before"})
hcfg = write("gh.json", {
    "node_name": "gh", "bind": f"127.0.0.1:{ph}", "rpc_addr": f"127.0.0.1:{rh}",
    "tags_file": tags, "start_join": [s1.addr], "log_level": "warn"})
gh = start_cfg("gh", hcfg)
ok, _ = g.wait_status(s1, "gh", "alive", 15, {"role": "before"})
c.check(ok, "tags from the tags file")
c.check("[INFO]" not in gh.log_text(), "log level warn: no INFO lines")
write("gh.json", json.dumps({
    "node_name": "gh", "bind": f"127.0.0.1:{ph}", "rpc_addr": f"127.0.0.1:{rh}",
    "tags_file": tags, "start_join": [s1.addr], "log_level": "debug"}))
write("gh.tags", {"role": "after", "zone": "z1"})
gh.signal(signal.SIGHUP)
ok, _ = g.wait_for(lambda: "[INFO] agent: configuration reloaded: log level "
                   "DEBUG" in gh.log_text(), 10)
c.check(bool(ok), "SIGHUP: log level debug now (INFO lines shown again)")
ok, _ = g.wait_status(s1, "gh", "alive", 15, {"role": "after", "zone": "z1"})
c.check(ok, "SIGHUP: the tags file's new tags reach serf")
c.check(gh.proc.poll() is None, "SIGHUP never kills")
out = subprocess.run([g.SERF, "tags", f"-rpc-addr={gh.rpc_addr}", "-set",
                      "k=v"], capture_output=True, text=True, timeout=10)
ok, _ = g.wait_for(lambda: json.load(open(tags)).get("k") == "v", 5)
c.check(out.returncode == 0 and bool(ok), "serf tags -set is written back "
        "to the tags file")

# --- 5. --rpc-auth, a DNS name in --join ---
ga = g.start_gossipd("ga", join=[f"localhost:{s1.port}"],
                     extra=["--rpc-auth", "tok"])
ok, _ = g.wait_status(s1, "ga", "alive", 15)
c.check(ok, "--join localhost:PORT (a DNS name) joined")
gr = g.start_gossipd("gr", retry_join=[f"localhost:{s1.port}"])
ok, _ = g.wait_status(s1, "gr", "alive", 15)
c.check(ok, "--retry-join localhost:PORT (resolved off the loop) joined")
noauth = subprocess.run([g.SERF, "members", f"-rpc-addr={ga.rpc_addr}"],
                        capture_output=True, text=True, timeout=10)
auth = subprocess.run([g.SERF, "members", f"-rpc-addr={ga.rpc_addr}",
                       "-rpc-auth=tok"], capture_output=True, text=True,
                      timeout=10)
c.check(noauth.returncode != 0 and auth.returncode == 0 and "s1" in auth.stdout,
        "--rpc-auth: refused without the token, served with it")

# --- 6. bad config files: exit 2, one line ---
for text, want in [('{"bogus": 1}', 'unknown key "bogus"'),
                   ('{"bind": 5}', '"bind" must be a string'),
                   ('{"bind": ', "line 1 column 9")]:
    p = subprocess.run([g.GOSSIPD, "--config-file", write("bad.json", text)],
                       capture_output=True, text=True, timeout=10)
    err = p.stderr.strip()
    c.check(p.returncode == 2 and want in err and len(err.splitlines()) == 1,
            f"bad config {text!r}: exit 2, one line ({p.returncode}, {err!r})")
p = subprocess.run([g.GOSSIPD, "--version"], capture_output=True, text=True,
                   timeout=10)
c.check(p.returncode == 0 and p.stdout.startswith("gossipd v"), "--version")

c.finish([s1, gf, gl, gs, gh, ga, gr])
