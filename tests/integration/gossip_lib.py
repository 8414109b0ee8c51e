# SPDX-License-Identifier: MIT
"""Shared helpers for gossipd's integration tests.

Starts gossipd and real `serf agent` processes on 127.0.0.1 with free
ports, reads membership through the serf CLI (`serf members -rpc-addr`,
which works against both: gossipd serves Serf's RPC), waits with bounded
deadlines, and kills every process it started, by PID, on exit or signal.
Traffic stays on loopback.
"""
import atexit
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

GOSSIPD = os.environ.get("GOSSIPD") or (sys.argv[1] if len(sys.argv) > 1 else "gossipd")
GOSSIPCTL = os.environ.get("GOSSIPCTL") or (sys.argv[2] if len(sys.argv) > 2 else "")
SERF = "serf"
LOGDIR = tempfile.mkdtemp(prefix="gossipd-it-")
_procs = []          # every Popen we started
_ports = set()       # ports handed out in this run


def _cleanup(*_):
    for p in _procs:
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGCONT)
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for p in _procs:
        try:
            p.wait(timeout=5)
        except Exception:
            pass


def _on_signal(sig, frame):
    _cleanup()
    sys.exit(128 + sig)


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _low_port_socket():
    """A TCP socket bound to a random port in 20000..32767: below Linux's
    ephemeral range, so no outgoing connection takes it meanwhile (the
    soaks ask for it with GOSSIP_IT_LOW_PORTS=1)."""
    for _ in range(200):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", random.randrange(20000, 32768)))
            return t
        except OSError:
            t.close()
    raise RuntimeError("no free port below 32768")


def free_port():
    """A port free for both TCP and UDP on 127.0.0.1 (and not reused)."""
    for _ in range(200):
        if os.environ.get("GOSSIP_IT_LOW_PORTS"):
            t = _low_port_socket()
        else:
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            t.close()
            continue
        t.close()
        u.close()
        if port not in _ports and port < 60000:
            _ports.add(port)
            return port
    raise RuntimeError("no free port")


def _track(p):
    """Remember p for the cleanup; with GOSSIP_IT_PIDFILE also append its
    PID there, so that a wrapper (scripts/soak-converge.sh) can kill it by
    PID even when this process is itself killed."""
    _procs.append(p)
    path = os.environ.get("GOSSIP_IT_PIDFILE")
    if path:
        with open(path, "a") as f:
            f.write(f"{p.pid}\n")


class Node:
    """One process: gossipd or serf agent."""

    def __init__(self, kind, name, port, rpc, proc, logpath):
        self.kind, self.name, self.port, self.rpc = kind, name, port, rpc
        self.proc, self.logpath = proc, logpath

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    @property
    def rpc_addr(self):
        return f"127.0.0.1:{self.rpc}"

    def log_text(self):
        with open(self.logpath, errors="replace") as f:
            return f.read()

    def signal(self, sig):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None


def _spawn(kind, name, port, rpc, args):
    """Start args with output appended to LOGDIR/name.log."""
    logpath = os.path.join(LOGDIR, f"{name}.log")
    with open(logpath, "a") as f:
        p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
    _track(p)
    return Node(kind, name, port, rpc, p, logpath)


def start_gossipd(name, port=None, rpc=None, join=(), retry_join=(),
                  tags=None, extra=(), profile="lan", level="info"):
    port = port or free_port()
    rpc = rpc or free_port()
    args = [GOSSIPD, "--name", name, "--bind", f"127.0.0.1:{port}",
            "--rpc-addr", f"127.0.0.1:{rpc}", "--profile", profile,
            "--log-level", level]
    for j in join:
        args += ["--join", j]
    for j in retry_join:
        args += ["--retry-join", j]
    for k, v in (tags or {}).items():
        args += ["--tag", f"{k}={v}"]
    return _spawn("gossipd", name, port, rpc, args + list(extra))


def start_serf(name, port=None, rpc=None, join=(), tags=None, extra=()):
    port = port or free_port()
    rpc = rpc or free_port()
    args = [SERF, "agent", f"-node={name}", f"-bind=127.0.0.1:{port}",
            f"-rpc-addr=127.0.0.1:{rpc}", "-log-level=debug"]
    for j in join:
        args.append(f"-join={j}")
    for k, v in (tags or {}).items():
        args.append(f"-tag={k}={v}")
    return _spawn("serf", name, port, rpc, args + list(extra))


def members(node, timeout=3):
    """{name: (status, tags, addr)} as node's RPC reports it, or None."""
    try:
        out = subprocess.run(
            [SERF, "members", f"-rpc-addr={node.rpc_addr}", "-format=json"],
            capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if out.returncode != 0:
        return None
    try:
        data = json.loads(out.stdout)
    except ValueError:
        return None
    return {m["name"]: (m["status"], m.get("tags") or {}, m["addr"])
            for m in data.get("members") or []}


def _ctl_members_parse(out):
    st = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 3:
            st[f[0]] = f[2]
    return st


def statuses_many(nodes, timeout=5):
    """[{name: status} or None] for every node at once: one gossipctl
    (GOSSIPCTL; cheaper than the serf CLI) per node, all in flight
    together, so one round over 50 nodes takes about one call's time.
    Falls back to members() without GOSSIPCTL."""
    if not GOSSIPCTL:
        res = []
        for n in nodes:
            m = members(n, timeout=timeout)
            res.append(None if m is None else
                       {k: v[0] for k, v in m.items()})
        return res
    procs = [subprocess.Popen(
        [GOSSIPCTL, "--rpc-addr", n.rpc_addr, "--timeout", str(timeout),
         "members"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL, text=True) for n in nodes]
    res = []
    for p in procs:
        try:
            out, _ = p.communicate(timeout=timeout + 2)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            res.append(None)
            continue
        res.append(_ctl_members_parse(out) if p.returncode == 0 else None)
    return res


def status_of(observer, name):
    m = members(observer)
    if m is None or name not in m:
        return None
    return m[name][0]


def wait_for(pred, timeout, step=0.1):
    """Poll pred until truthy or timeout; returns (value, seconds)."""
    t0 = time.monotonic()
    while True:
        v = pred()
        if v:
            return v, time.monotonic() - t0
        if time.monotonic() - t0 >= timeout:
            return None, time.monotonic() - t0
        time.sleep(step)


def wait_rpc(node, timeout=5):
    v, _ = wait_for(lambda: members(node) is not None, timeout)
    return bool(v)


def wait_status(observer, name, status, timeout, tags=None):
    def ok():
        m = members(observer)
        if m is None or name not in m:
            return False
        st, tg, _ = m[name]
        if st != status:
            return False
        return tags is None or all(tg.get(k) == v for k, v in tags.items())
    v, dt = wait_for(ok, timeout)
    return bool(v), dt


class Checks:
    """Counts assertions; prints a closing 'N passed, N failed' line."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
            log(f"PASS {what}")
        else:
            self.failed += 1
            log(f"FAIL {what}")
        return cond

    def finish(self, nodes=()):
        if self.failed:
            for n in nodes:
                try:
                    log(f"--- log of {n.name} ({n.logpath}) ---")
                    print(n.log_text()[-4000:], flush=True)
                except OSError:
                    pass
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        _cleanup()
        if not self.failed:
            shutil.rmtree(LOGDIR, ignore_errors=True)
        sys.exit(1 if self.failed else 0)
