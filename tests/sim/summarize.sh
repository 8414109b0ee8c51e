#!/bin/sh
# SPDX-License-Identifier: MIT
# Aggregate SIM-RESULT lines (from sim_result) over runs and seeds:
#   GOSSIPD_SIM_RESULTS=/tmp/r.txt meson test -C build --suite scenario
#   tests/sim/summarize.sh /tmp/r.txt      (or pipe a test log in)
# Prints one line per scenario/key: runs, min, mean, max and the unit.
grep -h '^SIM-RESULT ' "${@:--}" | awk '
{
	split($3, kv, "=");
	key = $2 " " kv[1]; v = kv[2] + 0;
	unit[key] = ($4 ~ /^seed=/) ? "" : $4;
	if (!(key in n)) { min[key] = v; max[key] = v; order[++nk] = key; }
	n[key]++; sum[key] += v;
	if (v < min[key]) min[key] = v;
	if (v > max[key]) max[key] = v;
}
END {
	printf "%-48s %5s %10s %10s %10s %s\n", "scenario key", "runs", "min",
	       "mean", "max", "unit";
	for (i = 1; i <= nk; i++) {
		k = order[i];
		printf "%-48s %5d %10.4g %10.4g %10.4g %s\n", k, n[k], min[k],
		       sum[k] / n[k], max[k], unit[k];
	}
}'
