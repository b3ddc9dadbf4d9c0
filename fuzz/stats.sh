#!/usr/bin/env bash
# Prints a RESULTS.md table row for each fuzz log given (default: fuzz/logs/*.log), from
# libFuzzer's final `Done … runs in … second(s)` and `DONE` lines and `-print_final_stats` figures.
cd "$(dirname "$0")"
logs=("$@")
[ ${#logs[@]} -gt 0 ] || logs=(logs/*.log)
for log in "${logs[@]}"; do
    t=$(basename "$log" .log)
    stat() { grep -E "^stat::$1:" "$log" | tail -1 | awk '{print $2}'; }
    done_line=$(grep -E '^#[0-9]+\s+DONE' "$log" | tail -1)
    [ -n "$done_line" ] || { echo "| $t | (no DONE line: crashed or running) |"; continue; }
    cov=$(sed -E 's/.*cov: ([0-9]+).*/\1/' <<<"$done_line")
    ft=$(sed -E 's/.*ft: ([0-9]+).*/\1/' <<<"$done_line")
    corp=$(sed -E 's/.*corp: ([^ ]+).*/\1/' <<<"$done_line")
    secs=$(grep -E '^Done [0-9]+ runs in' "$log" | tail -1 | awk '{print $5}')
    echo "| $t | $secs | $(stat number_of_executed_units) | $(stat average_exec_per_sec) | $corp | $cov | $ft | $(stat peak_rss_mb) |"
done
