#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A cluster of N gossipd processes (default 50; GOSSIPD_CLUSTER_N) on
127.0.0.1: every node joins node 0, 20 ms apart; measure until every node
lists N alive, then SIGKILL one and measure until every survivor lists it
failed.

Convergence is timed from the last node's start, node by node (all nodes'
member lists fetched at once each round). A pair (node, member) still
missing after GOSSIPD_CLUSTER_REPORT_S (default 3 s) is named in the
CONVERGE line with how long the node lacked it.
Environment (scripts/soak-converge.sh sets them):
  GOSSIPD_EXTRA_ARGS             more gossipd flags (shell words)
  GOSSIPD_CLUSTER_CONVERGE_ONLY  1: stop after convergence (no kill)
  GOSSIPD_CLUSTER_BOUND_S        assert convergence within this many s
                                 after the last start (default: the
                                 derived bound, with delta sync on)
  GOSSIPD_CLUSTER_CONV_TIMEOUT_S give up waiting after this (120)
  GOSSIPD_CLUSTER_LOG_LEVEL      gossipd's --log-level (warn)
  GOSSIPD_CLUSTER_KEEP_DIR       copy the logs of n0 and of the late
                                 pairs' nodes here
The last line before the closing one is machine-readable:
  CONVERGE {"conv_s": ..., "late": [...], ...}"""
import json
import math
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

import gossip_lib as g

N = int(os.environ.get("GOSSIPD_CLUSTER_N", "50"))
EXTRA = shlex.split(os.environ.get("GOSSIPD_EXTRA_ARGS", ""))
CONV_ONLY = os.environ.get("GOSSIPD_CLUSTER_CONVERGE_ONLY") == "1"


def option(flag, default):
    """The value of gossipd flag in EXTRA (last one wins), or default."""
    val = default
    for k, a in enumerate(EXTRA):
        if a == flag:       # a bare boolean flag is "true"
            nxt = EXTRA[k + 1] if k + 1 < len(EXTRA) else "--"
            val = "true" if nxt.startswith("--") else nxt
        elif a.startswith(flag + "="):
            val = a[len(flag) + 1:]
    return val


def seconds(dur):
    """'10s', '500ms', '2m' or a bare number of seconds -> float s."""
    m = re.fullmatch(r"([0-9.]+)(ms|s|m|h)?", dur.strip())
    if not m:
        raise ValueError(f"bad duration {dur!r}")
    return float(m.group(1)) * {"ms": 1e-3, "s": 1, "m": 60, "h": 3600,
                                None: 1}[m.group(2)]


def gossipd_help():
    """gossipd --help (what this build supports)."""
    out = subprocess.run([g.GOSSIPD, "--help"], capture_output=True,
                         text=True, timeout=10)
    return out.stdout + out.stderr


def derived_bound():
    """Every node lists every member within this many seconds of the last
    start, when delta sync runs (derivation and measurements in
    scripts/soak-converge.sh): dissemination of
    the last alive, D = 20 gossip rounds of 200 ms (a holder sends each
    alive 4 x ceil(log10(n + 1)) = 8 times, 3 a round, and the storm
    queues about 100 broadcasts per node; measured 1 to 4 s at load 20 on
    2 cores), then one --delta-sync-interval I with its +25 % jitter (a
    node that missed it syncs with a random peer, which has it), then
    1 s for that exchange and one polling round. None: no delta sync (a
    miss waits for the next full push/pull, 30 to 60 s), or a gossipd
    without it."""
    if option("--delta-sync", "true") not in ("true", "1") or \
            "--delta-sync-interval" not in gossipd_help():
        return None
    i_s = seconds(option("--delta-sync-interval", "10s"))
    if i_s <= 0:
        return None
    return 20 * 0.2 + 1.25 * i_s + 1.0


BOUND = float(os.environ.get("GOSSIPD_CLUSTER_BOUND_S", "0") or 0) or \
    derived_bound()
CONV_TIMEOUT = float(os.environ.get("GOSSIPD_CLUSTER_CONV_TIMEOUT_S", "120"))
if os.environ.get("GOSSIPD_CLUSTER_PRINT_BOUND"):  # for the soak script
    print(BOUND or "")
    os.rmdir(g.LOGDIR)
    sys.exit(0)
REPORT_S = float(os.environ.get("GOSSIPD_CLUSTER_REPORT_S", "3"))
LEVEL = os.environ.get("GOSSIPD_CLUSTER_LOG_LEVEL", "warn")
KEEP_DIR = os.environ.get("GOSSIPD_CLUSTER_KEEP_DIR", "")

c = g.Checks()
nodes = [g.start_gossipd("n0", level=LEVEL, extra=EXTRA)]
c.check(g.wait_rpc(nodes[0], 10), "n0 up")
t_start = time.monotonic()
started = {"n0": t_start}
for i in range(1, N):
    nodes.append(g.start_gossipd(f"n{i}", join=[nodes[0].addr],
                                 level=LEVEL, extra=EXTRA))
    started[f"n{i}"] = time.monotonic()
    if i < N - 1:
        time.sleep(0.02)
t_last = time.monotonic()
names = [n.name for n in nodes]


def lacking(st):
    """Members st does not list alive: {name: its status or 'absent'}."""
    return {m: st.get(m, "absent") for m in names if st.get(m) != "alive"}


def watch():
    """Poll every node not yet full until each has listed all N alive
    once, or CONV_TIMEOUT. Returns ({node: s after t_last}, {(node,
    member): [first, last s seen lacking, status]})."""
    full, lack = {}, {}
    pending = list(nodes)
    while pending and time.monotonic() - t_last < CONV_TIMEOUT:
        res = g.statuses_many(pending, timeout=5)
        now = time.monotonic() - t_last
        rest = []
        for n, st in zip(pending, res):
            miss = lacking(st) if st is not None else {"?rpc": "?"}
            if not miss:
                full[n.name] = now
                continue
            rest.append(n)
            for m, how in miss.items():
                rec = lack.setdefault((n.name, m), [now, now, how])
                rec[1], rec[2] = now, how
        pending = rest
        if pending:
            time.sleep(0.2)
    return full, lack


full, lack = watch()
conv_s = max(full.values()) if len(full) == N else None
ok = conv_s is not None and all(
    st is not None and not lacking(st) for st in g.statuses_many(nodes))
late = [{"node": n, "member": m, "status": how,
         "member_start_s": round(started[m] - t_last, 2)
         if m in started else None,
         "lacked_until_s": round(full[n], 2) if n in full else None,
         "last_lacking_s": round(last, 2)}
        for (n, m), (first, last, how) in sorted(lack.items())
        if last >= REPORT_S]
times = sorted(full.values())
if late and KEEP_DIR:       # the logs of n0 and of every late pair's nodes
    os.makedirs(KEEP_DIR, exist_ok=True)
    for n in nodes:
        if n.name == "n0" or any(n.name in (x["node"], x["member"])
                                 for x in late):
            shutil.copy(n.logpath, KEEP_DIR)
print("CONVERGE " + json.dumps({
    "n": N, "extra": EXTRA, "conv_s": None if conv_s is None
    else round(conv_s, 2),
    "node_p50_s": round(times[len(times) // 2], 2) if times else None,
    "nodes_full": len(full), "bound_s": BOUND, "late": late,
    "load1": os.getloadavg()[0]}), flush=True)
c.check(bool(ok), f"{N} nodes converged: every node lists {N} alive, "
        f"{(conv_s or float('nan')):.2f}s after the last start "
        f"({time.monotonic() - t_start:.2f}s after the first)")
if BOUND:
    c.check(conv_s is not None and conv_s <= BOUND,
            f"every node listed all {N} alive within the bound "
            f"{BOUND:.1f}s of the last start")
if CONV_ONLY:
    c.finish(nodes[:3])
conv_first_s = (t_last - t_start) + (conv_s or CONV_TIMEOUT)
victim = nodes[N // 2]
survivors = [n for n in nodes if n is not victim]
time.sleep(2)
t0 = time.monotonic()
victim.signal(signal.SIGKILL)


def all_see_failed():
    return all(st is not None and st.get(victim.name) == "failed"
               for st in g.statuses_many(survivors))


ok, dt = g.wait_for(all_see_failed, 90, step=0.5)
c.check(bool(ok), f"killed {victim.name}: every survivor lists it failed "
        f"after {time.monotonic() - t0:.2f}s")
c.check(all(n.proc.poll() is None for n in survivors), "no survivor crashed")
# LAN prediction: detection within ~2 probe intervals, then Lifeguard's
# suspicion timeout shrinks to its minimum SuspicionMult (4) x log10(N) x
# ProbeInterval (1 s) once the 3 expected confirmations arrive.
pred = 2 + 4 * math.log10(N)
print(f"MEASURED cluster_n={N} convergence_s={conv_first_s:.2f} "
      f"detect_all_s={time.monotonic() - t0:.2f} "
      f"predicted_detect_s~{pred:.1f}", flush=True)
c.finish(nodes[:3])
