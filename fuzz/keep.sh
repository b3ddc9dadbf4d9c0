#!/usr/bin/env bash
# Keeps up to N (default 8) inputs of a target's corpus as regression inputs: the corpus is first
# merged to a set that keeps all its coverage, then N of that set's inputs of at most 16 KiB,
# drawn with a fixed seed, are copied to regressions/<target>/corpus-<hash>.
#   fuzz/keep.sh bundle_tar [N]
set -euo pipefail
cd "$(dirname "$0")"
t=$1
n=${2:-8}
min=$(mktemp -d)
trap 'rm -rf "$min"' EXIT
"target/x86_64-unknown-linux-gnu/release/$t" -merge=1 -rss_limit_mb=2048 "$min" "corpus/$t" >/dev/null 2>&1
mkdir -p "regressions/$t"
find "$min" -type f -size -16k | sort | shuf -n "$n" --random-source=<(yes) |
    while read -r f; do cp "$f" "regressions/$t/corpus-$(basename "$f" | cut -c1-16)"; done
ls "regressions/$t" | wc -l
