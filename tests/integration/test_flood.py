#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A flood of malformed UDP datagrams and garbage TCP streams at a gossipd
in a 2-node cluster (gossipd + serf) leaves membership unchanged (same
names, statuses and incarnations on both sides), the process alive, and
every drop counted, exactly, in `gossipctl info` (and `serf info`, which
reads the same stats):

  UDP: dp_drop_malformed + dp_drop_too_big + dp_drop_ring_full
       + packets_bad + msgs_unknown + msgs_invalid + serf_msgs_bad + serf_msgs_unknown
       grows by the number of datagrams the socket received (sent minus
       the kernel's own drops for the socket, read from /proc/net/udp);
       exactly for the paced fixed set, at least for the random flood (a
       compound datagram may carry several bad messages);
  TCP: tcp_bad_input + tcp_encrypted + tcp_too_big + tcp_refused_full
       grows by the number of garbage streams.

Every byte sent comes from a fixed seed, so a run is repeatable."""
import json
import random
import socket
import subprocess
import time

import gossip_lib as g

UDP_DROPS = ["dp_drop_malformed", "dp_drop_too_big", "dp_drop_ring_full",
             "packets_bad", "msgs_unknown", "msgs_invalid", "serf_msgs_bad",
             "serf_msgs_unknown"]
TCP_DROPS = ["tcp_bad_input", "tcp_encrypted", "tcp_too_big",
             "tcp_refused_full"]
# Datagrams no memberlist node accepts, each a different rejection path:
# empty, unknown type, truncated ping, ping body not a map, CRC mismatch,
# bad LZW, sealed without a keyring, truncated compound, indirect ping,
# alive and user message cut short, and one larger than DP_PKT_MAX.
UDP_FIXED = [b"", b"\xff" * 10, b"\x00\x85", b"\x00\xc3",
             b"\x0c\x00\x00\x00\x00\x00\x81", b"\x09\x00\x01\x02",
             b"\x0a" + b"\x00" * 40, b"\x07\x02\x00\x05ab",
             b"\x02\x8a", b"\x04\x86", b"\x08\x04\x8b", b"\x00" * 3000]
# TCP streams no memberlist node accepts: push/pull header not a map,
# unknown type, compressed garbage, sealed (no keyring), a ping header
# cut short, a push/pull claiming more than it carries.
TCP_FIXED = [b"\x06\xc3", b"\x42garbage", b"\x09\x82\xa4Algo",
             b"\x0a\x00\x00\x00\x05xxxxx", b"\x00\x85",
             b"\x06\x84\xa4Join\xc2"]
# Prefixes for the random flood: each datagram is one of these plus up to
# 300 random bytes (type bytes that get past the first classification).
UDP_PREFIXES = [b"", b"\x00", b"\x07\x05", b"\x09\x82", b"\x0c\x00\x00\x00\x00",
                b"\x04\x86", b"\x02\xff", b"\xf4\x03abc", b"\x08\x04\x8b"]


def mp_skip(b, i, depth=0):
    """Index after the msgpack value at b[i], or None if it is cut short
    or not msgpack (0xc1)."""
    if i >= len(b) or depth > 32:
        return None
    t = b[i]
    fixed = {0xc0: 0, 0xc2: 0, 0xc3: 0, 0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8,
             0xd0: 1, 0xd1: 2, 0xd2: 4, 0xd3: 8, 0xca: 4, 0xcb: 8,
             0xd4: 2, 0xd5: 3, 0xd6: 5, 0xd7: 9, 0xd8: 17}   # fixext: +type
    lens = {0xc4: 1, 0xc5: 2, 0xc6: 4, 0xd9: 1, 0xda: 2, 0xdb: 4}
    ext = {0xc7: 1, 0xc8: 2, 0xc9: 4}                      # ext: len, type
    if t in ext:
        w = ext[t]
        n = int.from_bytes(b[i + 1:i + 1 + w], "big")
        end = i + 2 + w + n
        return end if i + 2 + w <= len(b) and end <= len(b) else None
    if t <= 0x7f or t >= 0xe0:
        return i + 1
    if t in fixed:
        return i + 1 + fixed[t] if i + 1 + fixed[t] <= len(b) else None
    if t in lens or 0xa0 <= t <= 0xbf:
        w = lens.get(t, 0)
        n = t & 0x1f if w == 0 else int.from_bytes(b[i + 1:i + 1 + w], "big")
        end = i + 1 + w + n
        return end if i + 1 + w <= len(b) and end <= len(b) else None
    if 0x80 <= t <= 0x9f or t in (0xdc, 0xdd, 0xde, 0xdf):
        w = {0xdc: 2, 0xdd: 4, 0xde: 2, 0xdf: 4}.get(t, 0)
        n = t & 0x0f if w == 0 else int.from_bytes(b[i + 1:i + 1 + w], "big")
        n *= 2 if t <= 0x8f or t in (0xde, 0xdf) else 1
        i += 1 + w
        for _ in range(n):
            i = mp_skip(b, i, depth + 1)
            if i is None:
                return None
        return i
    return None     # 0xc1: never used


def decodable(p):
    """A datagram memberlist itself would decode: a message type with a
    msgpack body whose first value is a whole map (unknown keys are
    skipped, missing fields left empty: e.g. a ping to Node "" is acked)."""
    return (len(p) >= 2 and p[0] in (0, 1, 2, 3, 4, 5, 11, 13) and
            (p[1] == 0xc0 or 0x80 <= p[1] <= 0x8f or p[1] in (0xde, 0xdf))
            and mp_skip(p, 1) is not None)


def ctl(*args):
    out = subprocess.run([g.GOSSIPCTL, "--rpc-addr", ga.rpc_addr] +
                         list(args), capture_output=True, text=True,
                         timeout=5)
    return json.loads(out.stdout) if out.returncode == 0 else None


def counters():
    """gossipctl info --json: the gossipd section as ints."""
    d = ctl("info", "--json") or {}
    return {k: int(v) for k, v in d.get("gossipd", {}).items()}


def view():
    """gossipctl members --json: {name: (status, incarnation)}."""
    return {m["name"]: (m["status"], m["incarnation"])
            for m in ctl("members", "--json") or []}


def kernel_drops(port):
    """Datagrams the kernel dropped for our UDP socket(s) on port."""
    n = 0
    with open("/proc/net/udp") as f:
        for line in f.readlines()[1:]:
            col = line.split()
            if int(col[1].split(":")[1], 16) == port:
                n += int(col[-1])
    return n


def total(c, keys):
    return sum(c.get(k, 0) for k in keys)


def send_udp(pkts, pace):
    """Send every datagram; pace: sleep 1 ms after this many."""
    for i, p in enumerate(pkts):
        u.sendto(p, ("127.0.0.1", ga.port))
        if pace and i % pace == pace - 1:
            time.sleep(0.001)
    return len(pkts)


def send_tcp(streams):
    nb = 0
    for data in streams:
        with socket.create_connection(("127.0.0.1", ga.port), timeout=2) as t:
            t.sendall(data)
        nb += 1
    return nb


def wait_udp(c0, k0, nb_sent, nb_ok=0):
    """Wait (5 s at most) until the drops cover every datagram the socket
    got but nb_ok; returns (counted, received)."""
    def got_want():
        want = nb_sent - (kernel_drops(ga.port) - k0)
        return total(counters(), UDP_DROPS) - total(c0, UDP_DROPS), want
    g.wait_for(lambda: (lambda gw: gw[0] >= gw[1] - nb_ok)(got_want()),
               5, 0.2)
    return got_want()


def wait_tcp(c0, nb):
    def settled():
        got = total(counters(), TCP_DROPS) - total(c0, TCP_DROPS)
        return got if got >= nb else None
    g.wait_for(settled, 5, 0.2)
    c = counters()
    return (total(c, TCP_DROPS) - total(c0, TCP_DROPS),
            c["tcp_accepted"] - c0["tcp_accepted"])


c = g.Checks()
s1 = g.start_serf("s1", tags={"role": "serf"})
c.check(g.wait_rpc(s1, 10), "serf s1 up")
ga = g.start_gossipd("ga", join=[s1.addr], tags={"role": "a"})
ok, _ = g.wait_status(s1, "ga", "alive", 5)
c.check(ok, "ga alive in serf")
time.sleep(1)   # a probe round each way: steady state
before, serf_before = view(), g.members(s1)
c.check(set(before) == {"ga", "s1"} and
        all(isinstance(i, int) for _, i in before.values()),
        f"gossipctl members --json: both, with incarnations: {before}")
rnd = random.Random(1234)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

# 1. The fixed set, paced so the socket keeps up: exact accounting.
c0, k0 = counters(), kernel_drops(ga.port)
c.check(c0.get("dp_rx", 0) > 0 and total(c0, UDP_DROPS) == 0,
        f"counters readable and no drop before the flood: {c0}")
nb = send_udp(UDP_FIXED * 100, 20)
got, want = wait_udp(c0, k0, nb)
c.check(got == want and want > 0,
        f"fixed set: {nb} datagrams sent, {want} received, {got} counted"
        " as UDP drops")
c1 = counters()
big = c1["dp_drop_too_big"] - c0["dp_drop_too_big"]
c.check(big == 100 or kernel_drops(ga.port) > k0,
        f"the 100 datagrams of 3000 bytes are dp_drop_too_big ({big})")
nb = send_tcp(TCP_FIXED * 20)
got, acc = wait_tcp(c1, nb)
c.check(got == nb and acc >= nb,
        f"fixed set: {nb} garbage streams, {got} counted as TCP drops, "
        f"{acc} accepted")

# 2. A random flood at full speed (ring and socket may overflow: those
# drops are counted too), then random garbage streams.
c2, k2 = counters(), kernel_drops(ga.port)
pkts = []
while len(pkts) < 20000:
    body = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 300)))
    pkts.append(rnd.choice(UDP_PREFIXES) + body)
t0 = time.monotonic()
nb = send_udp(pkts, 0)
g.log(f"sent {nb} random datagrams in {time.monotonic() - t0:.2f}s")
nb_ok = sum(map(decodable, pkts))
got, want = wait_udp(c2, k2, nb, nb_ok)
c.check(want > 0 and got >= want - nb_ok,
        f"random flood: {want} of {nb} received, {got} counted as UDP drops"
        f" (at least all but the {nb_ok} well-formed ones)")
c3 = counters()
streams = [bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 2000)))
           for _ in range(200)]
nb = send_tcp(streams)
got, acc = wait_tcp(c3, nb)
c.check(got == nb and acc >= nb,
        f"random garbage: {nb} streams, {got} counted as TCP drops")

# 3. Nothing changed: alive, same members, statuses and incarnations.
time.sleep(2)
c.check(ga.proc.poll() is None, "gossipd survived the flood")
after = view()
c.check(after == before, f"gossipd's members unchanged: {before} -> {after}")
serf_after = g.members(s1)
c.check(serf_after == serf_before,
        f"serf's members unchanged: {serf_before} -> {serf_after}")
# serf info reads the same stats: the same drop counters.
out = subprocess.run(["serf", "info", f"-rpc-addr={ga.rpc_addr}",
                      "-format=json"], capture_output=True, text=True,
                     timeout=5)
si = json.loads(out.stdout).get("gossipd", {}) if out.returncode == 0 else {}
ci = counters()
c.check(all(int(si.get(k, -1)) == ci[k] for k in UDP_DROPS + TCP_DROPS),
        f"serf info shows the same drop counters: {si}")
c.finish([ga, s1])
