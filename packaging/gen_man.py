#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write gossipd(1) from `gossipd --help`, so the man page lists exactly
the flags, JSON keys and defaults of the option table (cp_cfg_opt.c).
Usage: gen_man.py GOSSIPD VERSION > gossipd.1"""
import re
import subprocess
import sys


def esc(s):
    return s.replace("\\", "\\e").replace("-", "\\-")


def main():
    exe, version = sys.argv[1], sys.argv[2]
    text = subprocess.run([exe, "--help"], capture_output=True, text=True,
                          check=True).stdout
    head, _, rest = text.partition("Options:\n")
    opts, _, tail = rest.partition("\nExit status:")
    out = [f'.TH GOSSIPD 1 "" "gossipd {version}" "User Commands"',
           ".SH NAME", "gossipd \\- SWIM membership daemon that joins Serf "
           "clusters", ".SH SYNOPSIS", ".B gossipd", "[\\fIoptions\\fR]",
           ".SH DESCRIPTION"]
    desc = " ".join(l.strip() for l in head.splitlines()[1:] if l.strip())
    out.append(esc(desc))
    out.append(".SH OPTIONS")
    lines = opts.splitlines()
    i = 0
    while i < len(lines):
        k = re.search(r"   \[([a-z_]+)\]$", lines[i])
        head = lines[i][:k.start()] if k else lines[i]
        m = re.match(r"  (--\S+)(?: (.+))?$", head)
        if not m:
            i += 1
            continue
        flag, arg = m.group(1), (m.group(2) or "").strip()
        key = k.group(1) if k else None
        out.append(".TP")
        t = f"\\fB{esc(flag)}\\fR"
        if arg:
            t += f" \\fI{esc(arg)}\\fR"
        if key:
            t += f"  (config key \\fB{esc(key)}\\fR)"
        out.append(t)
        if i + 1 < len(lines):
            out.append(esc(lines[i + 1].strip()))
        i += 2
    out += [".SH FILES", ".TP", "/etc/gossipd/*.json",
            "Read by the systemd unit through \\fB\\-\\-config\\-dir\\fR.",
            ".SH SIGNALS", ".TP", "SIGHUP",
            "Reload: log level, tags file, event handlers.", ".TP", "SIGINT",
            "Leave the cluster gracefully, then exit (unless "
            "skip_leave_on_interrupt).", ".TP", "SIGTERM",
            "Exit without leaving (unless leave_on_terminate).",
            ".SH EXIT STATUS", esc(" ".join(tail.split())),
            ".SH SEE ALSO", "gossipctl(1), serf(1)"]
    print("\n".join(out))


main()
