#!/usr/bin/env bash
# Benchmark: generate N deal rows (default 1,000,000; 10,000,000 for the design target) and time one
# `payline run` of the mixed program on them, reporting wall time and peak memory.
#   scripts/bench.sh [DEALS] [PARTNERS]
set -euo pipefail
cd "$(dirname "$0")/.."
deals=${1:-1000000}
partners=${2:-20000}
data=bench-data/$deals
cargo build --release --quiet --example generate --bin payline
if [ ! -f "$data/deals.csv" ]; then
  ./target/release/examples/generate --partners "$partners" --deals "$deals" --months 12 --out "$data"
fi
ls -l "$data"
out=$(mktemp -d)
/usr/bin/time -f 'wall %e s, peak RSS %M KiB' ./target/release/payline run --program programs/mixed.toml \
  --partners "$data/partners.csv" --deals "$data/deals.csv" --activities "$data/activities.csv" \
  --claims "$data/claims.csv" --fx "$data/fx.csv" --period 2026-10 --out "$out/run" --json > "$out/summary.json"
grep -E '"(deals_counted|lines|earned|paid)"' "$out/summary.json"
rm -rf "$out"
