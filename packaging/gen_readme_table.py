#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Print README.md's option table (flag, config key, default, meaning)
from `gossipd --help`; paste it over the table in README.md after adding
an option to control/cp_cfg_opt.c (tests/cp/test_docs.py checks it).
Usage: packaging/gen_readme_table.py build/control/gossipd"""
import re
import subprocess
import sys

text = subprocess.run([sys.argv[1], "--help"], capture_output=True,
                      text=True, check=True).stdout
opts = text.partition("Options:\n")[2].partition("\nExit status:")[0]
lines = opts.splitlines()
print("| flag | config key | default | meaning |")
print("|---|---|---|---|")
for i, line in enumerate(lines):
    k = re.search(r"   \[([a-z_]+)\]$", line)
    m = re.match(r"  (--\S+)(?: (.+))?$", line[:k.start()] if k else line)
    if not m or i + 1 >= len(lines):
        continue
    flag, arg = m.group(1), (m.group(2) or "").strip()
    key = k.group(1) if k else None
    meaning, default = lines[i + 1].strip(), ""
    d = re.search(r" Default: (.*)\.$", meaning)
    if d:
        default, meaning = d.group(1), meaning[:d.start()]
    cell = ("`" + flag + (" " + arg if arg else "") + "`")
    print("| %s | %s | %s | %s |" % (
        cell.replace("|", "\\|"), "`%s`" % key if key else "",
        default.replace("|", "\\|"), meaning.rstrip(".").replace("|", "\\|")))
