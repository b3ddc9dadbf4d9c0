#!/usr/bin/env bash
# Runs fuzz targets one after another, each for FUZZ_SECONDS (default 600) on one core, with
# the limits recorded in RESULTS.md; the log of each run goes to fuzz/logs/<target>.log.
#   fuzz/run.sh                 # every target
#   fuzz/run.sh reference tar   # some
set -uo pipefail
cd "$(dirname "$0")"
seconds=${FUZZ_SECONDS:-600}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)
mkdir -p logs
for t in "${targets[@]}"; do
    max_len=65536
    [ "$t" = bundle_tar ] && max_len=1048576
    dict=()
    [ -f "dict/$t.dict" ] && dict=("-dict=dict/$t.dict")
    echo "== $t: ${seconds}s, max_len $max_len, $(date -u +%FT%TZ)"
    cargo +nightly fuzz run -O "$t" -- -max_total_time="$seconds" -rss_limit_mb=2048 \
        -max_len="$max_len" -timeout=10 -print_final_stats=1 "${dict[@]}" >"logs/$t.log" 2>&1
    echo "   exit $?, $(grep -E '^#[0-9]+\s+DONE' "logs/$t.log" | tail -1)"
done
