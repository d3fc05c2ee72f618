#!/usr/bin/env bash
# Rendering every statement of a batch against the file system's floor for the same files, paired in one
# hyperfine measurement on the same disk:
#   statements  `payline statements BATCH --out DIR`: verify the batch, render every partner's HTML and
#               CSV statement, write them into a temporary folder, flush it (syncfs), rename it into place;
#   cp          `cp -r` of that rendered folder into a new folder (the same files, created by the kernel's
#               fastest path: no rendering, no verification);
#   cp+sync     the same copy flushed to disk (`sync -f`), the durability `payline statements` gives.
# First pair: each run writes a fresh folder, the previous one removed just before, outside the timing
# (on ext4, files created right after as many were deleted are the slowest of all: see BENCHMARKS.md).
# Second pair (fresh): each run writes a new folder beside the earlier ones and nothing is deleted
# until the end, as month-end statements are written in practice.
# usage: scripts/bench/statements.sh [DEALS] [PARTNERS]   (defaults 1000000 20000; data cached in /tmp)
# needs: python3, hyperfine (apt-get install hyperfine), cargo.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
deals=${1:-1000000}; partners=${2:-20000}
(cd "$root" && cargo build --release --quiet --bin payline)
bin="$root/target/release/payline"
data=/tmp/payline-bench-$deals-$partners
[ -f "$data/deals.csv" ] || python3 "$here/gen.py" "$data" "$partners" "$deals"
work=$(mktemp -d)
"$bin" run --program "$here/program.toml" --partners "$data/partners.csv" --deals "$data/deals.csv" \
  --fx "$data/fx.csv" --period 2026-10 --out "$work/batch" --json > /dev/null
"$bin" statements "$work/batch" --out "$work/rendered"
echo "statements: $(ls "$work/rendered" | wc -l) files, $(du -sh "$work/rendered" | cut -f1)"
hyperfine --warmup 1 --runs ${RUNS:-5} --export-markdown "$work/statements.md" \
  -n statements --prepare "rm -rf $work/out; sync" "$bin statements $work/batch --out $work/out" \
  -n cp --prepare "rm -rf $work/copy; sync" "cp -r $work/rendered $work/copy" \
  -n cp+sync --prepare "rm -rf $work/copy; sync" "cp -r $work/rendered $work/copy && sync -f $work/copy"
cat "$work/statements.md"
mkdir "$work/fresh"
hyperfine --warmup 1 --runs ${RUNS:-5} --export-markdown "$work/fresh.md" \
  -n statements-fresh "$bin statements $work/batch --out $work/fresh/s-\$(date +%s%N)" \
  -n cp+sync-fresh "d=$work/fresh/c-\$(date +%s%N); cp -r $work/rendered \$d && sync -f \$d"
cat "$work/fresh.md"
# The rendered folder is byte-identical however often it is rendered.
diff -r "$work/rendered" "$work/out" > /dev/null && echo "re-rendered: byte-identical"
rm -rf "$work"
