#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Extract memberlist payloads from pcap captures into golden hex files.

Usage: extract_pcap.py OUT_DIR CAPTURE.pcap...

For each capture NAME.pcap this writes
  OUT_DIR/NAME.udp.hex  one UDP payload per line, in capture order
  OUT_DIR/NAME.tcp.hex  one TCP stream direction per line: the payloads of
                        that (src, dst) flow reassembled by sequence number
Lines starting with '#' are comments (they name the flow).

Parses classic pcap (either byte order, us or ns) with Ethernet, BSD
loopback (DLT_NULL), Linux cooked (SLL) or raw IPv4 link types, then IPv4,
UDP and TCP by hand: no scapy, standard library only. IPv6 and IP
fragments are skipped (loopback captures have neither).
"""
import os
import struct
import sys

DLT_NULL, DLT_EN10MB, DLT_RAW, DLT_LINUX_SLL = 0, 1, 101, 113


def pcap_records(data):
    """Yield (link_type, frame bytes) for each record."""
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise ValueError("not a classic pcap file")
    link = struct.unpack(end + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        off += 16
        yield link, data[off:off + incl]
        off += incl


def ipv4_of(link, frame):
    """The IPv4 packet inside a frame, or None."""
    if link == DLT_EN10MB:
        if len(frame) < 14:
            return None
        etype, off = struct.unpack(">H", frame[12:14])[0], 14
        while etype == 0x8100 and len(frame) >= off + 4:  # VLAN tags
            etype = struct.unpack(">H", frame[off + 2:off + 4])[0]
            off += 4
        return frame[off:] if etype == 0x0800 else None
    if link == DLT_NULL:
        fam = struct.unpack("<I", frame[:4])[0] if len(frame) >= 4 else 0
        return frame[4:] if fam == 2 else None
    if link == DLT_LINUX_SLL:
        if len(frame) < 16:
            return None
        return frame[16:] if frame[14:16] == b"\x08\x00" else None
    if link == DLT_RAW:
        return frame if frame[:1] and frame[0] >> 4 == 4 else None
    return None


def parse_ipv4(pkt):
    """(proto, src, dst, payload) of an unfragmented IPv4 packet, or None."""
    if len(pkt) < 20 or pkt[0] >> 4 != 4:
        return None
    ihl = (pkt[0] & 0x0F) * 4
    total = struct.unpack(">H", pkt[2:4])[0]
    frag = struct.unpack(">H", pkt[6:8])[0]
    if frag & 0x3FFF:  # MF set or an offset: a fragment
        return None
    src = ".".join(str(b) for b in pkt[12:16])
    dst = ".".join(str(b) for b in pkt[16:20])
    return pkt[9], src, dst, pkt[ihl:total]


def extract(path):
    """UDP payloads (list) and TCP flows (dict flow -> {seq: bytes})."""
    with open(path, "rb") as f:
        data = f.read()
    udp, tcp, order = [], {}, []
    for link, frame in pcap_records(data):
        ip = ipv4_of(link, frame)
        parsed = parse_ipv4(ip) if ip is not None else None
        if parsed is None:
            continue
        proto, src, dst, body = parsed
        if proto == 17 and len(body) >= 8:
            sport, dport, ulen = struct.unpack(">HHH", body[:6])
            udp.append(("%s:%d" % (src, sport), "%s:%d" % (dst, dport),
                        body[8:ulen]))
        elif proto == 6 and len(body) >= 20:
            sport, dport, seq = struct.unpack(">HHI", body[:8])
            doff = (body[12] >> 4) * 4
            payload = body[doff:]
            flow = ("%s:%d" % (src, sport), "%s:%d" % (dst, dport))
            if flow not in tcp:
                tcp[flow] = {}
                order.append(flow)
            if payload:
                tcp[flow].setdefault(seq, payload)
    return udp, [(fl, tcp[fl]) for fl in order]


def reassemble(segments):
    """Concatenate segments in sequence order, dropping retransmitted data."""
    out, nxt = b"", None
    for seq in sorted(segments):
        seg = segments[seq]
        if nxt is not None and seq < nxt:
            seg = seg[nxt - seq:]
        out += seg
        nxt = seq + len(segments[seq]) if nxt is None else max(
            nxt, seq + len(segments[seq]))
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    for path in sys.argv[2:]:
        name = os.path.basename(path).rsplit(".", 1)[0]
        udp, tcp = extract(path)
        with open(os.path.join(out_dir, name + ".udp.hex"), "w") as f:
            f.write("# UDP payloads of %s, one per line\n" % name)
            for src, dst, payload in udp:
                f.write("# %s -> %s\n%s\n" % (src, dst, payload.hex()))
        with open(os.path.join(out_dir, name + ".tcp.hex"), "w") as f:
            f.write("# TCP stream payloads of %s, one direction per line\n"
                    % name)
            for (src, dst), segs in tcp:
                stream = reassemble(segs)
                if stream:
                    f.write("# %s -> %s\n%s\n" % (src, dst, stream.hex()))
        print("%s: %d UDP packets, %d TCP flows" % (name, len(udp), len(tcp)))


if __name__ == "__main__":
    main()
