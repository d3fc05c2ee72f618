#!/usr/bin/env bash
# Benchmark: a 12-month chain. Generates DEALS_PER_MONTH × 12 deal rows over the 12 months ending
# 2026-10 (one cumulative CRM export, as finance re-exports it each month), then runs
# programs/mixed.toml month by month from 2025-11 to 2026-10, each run with --ledger of the previous
# one, and prints each month's wall time, peak memory and the size of the ledger it read.
#   scripts/chain-bench.sh [DEALS_PER_MONTH] [PARTNERS]      (defaults 1000000 20000)
set -euo pipefail
cd "$(dirname "$0")/.."
per_month=${1:-1000000}
partners=${2:-20000}
deals=$((per_month * 12))
data=bench-data/$deals
cargo build --release --quiet --example generate --bin payline
if [ ! -f "$data/deals.csv" ]; then
  ./target/release/examples/generate --partners "$partners" --deals "$deals" --months 12 --out "$data"
fi
out=$(mktemp -d)
previous=()
printf '%-8s %8s %12s %14s %12s\n' month wall_s peak_MiB ledger_in_MB lines_out
for period in 2025-11 2025-12 2026-01 2026-02 2026-03 2026-04 2026-05 2026-06 2026-07 2026-08 2026-09 2026-10; do
  ledger_in=0
  if [ ${#previous[@]} -gt 0 ]; then ledger_in=$(( $(stat -c %s "${previous[1]}/ledger.csv") / 1000000 )); fi
  /usr/bin/time -f '%e %M' -o "$out/time" ./target/release/payline run --program programs/mixed.toml \
    --partners "$data/partners.csv" --deals "$data/deals.csv" --activities "$data/activities.csv" \
    --claims "$data/claims.csv" --fx "$data/fx.csv" --period "$period" --out "$out/$period" \
    "${previous[@]}" > /dev/null
  read -r wall rss < "$out/time"
  printf '%-8s %8s %12s %14s %12s\n' "$period" "$wall" "$((rss / 1024))" "$ledger_in" \
    "$(($(wc -l < "$out/$period/lines.csv") - 1))"
  previous=(--ledger "$out/$period")
done
rm -rf "$out"
