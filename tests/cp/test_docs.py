#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The documentation matches the code: every flag `gossipd --help` lists
(the option table) is in README.md and in the generated man page, every
JSON key is in README.md, and the example config is one gossipd accepts.
Usage: test_docs.py GOSSIPD README EXAMPLE_JSON MANPAGE"""
import re
import subprocess
import sys

exe, readme, example, man = sys.argv[1:5]
failed = 0


def check(cond, what):
    global failed
    print(("PASS " if cond else "FAIL ") + what)
    failed += 0 if cond else 1


helptext = subprocess.run([exe, "--help"], capture_output=True, text=True,
                          check=True).stdout
flags = re.findall(r"^  (--[a-z-]+)", helptext, re.M)
keys = re.findall(r"   \[([a-z_]+)\]$", helptext, re.M)
check(len(flags) > 30 and len(keys) > 25, f"{len(flags)} flags, {len(keys)} keys")
doc = open(readme).read()
manpage = open(man).read().replace("\\-", "-")
for f in flags:
    check(f"`{f}" in doc, f"README documents {f}")
    check(f"\\fB{f}\\fR" in manpage, f"man page lists {f}")
for k in keys:
    check(k in doc, f"README names config key {k}")
p = subprocess.run([exe, "--config-file", example, "--version"],
                   capture_output=True, text=True)
check(p.returncode == 0, f"example config accepted ({p.stderr.strip()})")
print(f"{'FAILED' if failed else 'OK'}: {failed} failed")
if failed:
    print("a new option? regenerate README's table with "
          "packaging/gen_readme_table.py build/control/gossipd")
sys.exit(1 if failed else 0)
