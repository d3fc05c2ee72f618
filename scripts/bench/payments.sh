#!/usr/bin/env bash
# SPEC §9.1's speed check: the bench program plus a `pay_on = "payment"` rule, run over DEALS deal
# rows without --payments and with a payments.csv of about one payment per deal (payments.py),
# paired by hyperfine (each run into a fresh --out, the previous removed outside the timing), and
# peak memory of each, and DuckDB doing the same work (duck.py) as an anchor. Issue 21's goal: with
# payments ≤ 1.5 × without. Needs python3 with duckdb (pip install duckdb) and hyperfine.
# usage: scripts/bench/payments.sh [DEALS] [PARTNERS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
deals=${1:-1000000}
partners=${2:-20000}
data=${BENCH_DATA:-$root/bench-data}/payments-$deals
mkdir -p "$data"
[ -f "$data/deals.csv" ] || python3 "$here/gen.py" "$data" "$partners" "$deals"
[ -f "$data/payments.csv" ] || python3 "$here/payments.py" "$data/deals.csv" "$data/payments.csv"
(cd "$root" && cargo build --release --quiet)
payline="$root/target/release/payline"
program="$data/program.toml"
cat "$here/program.toml" - > "$program" <<'TOML'

[[rules]]
id = "cash-commission"
kind = "percent"
rate = "0.02"
pay_on = "payment"
when = { partner_type = ["agency", "distributor"] }
TOML
common=(run --program "$program" --partners "$data/partners.csv" --deals "$data/deals.csv"
        --fx "$data/fx.csv" --period 2026-10 --force)
echo "deals.csv: $(($(wc -l < "$data/deals.csv") - 1)) rows; payments.csv: $(($(wc -l < "$data/payments.csv") - 1)) rows"
# The anchor: DuckDB running the same program as SQL, without and with the payments' work
# (duck.py PAYMENTS: the deal_ids checked against every row, payment_ids unique, the cash rule).
hyperfine --warmup 1 --runs 3 \
  --prepare "rm -rf $data/out-a $data/out-b" \
  -n without "$payline ${common[*]} --out $data/out-a" \
  -n with "$payline ${common[*]} --payments $data/payments.csv --out $data/out-b" \
  -n duckdb-without "python3 $here/duck.py $data $data/duck-a.csv" \
  -n duckdb-with "python3 $here/duck.py $data $data/duck-b.csv $data/payments.csv"
for which in without with; do
  extra=(); [ "$which" = with ] && extra=(--payments "$data/payments.csv")
  rm -rf "$data/out-x"
  /usr/bin/time -f "$which: peak RSS %M KiB, wall %e s" "$payline" "${common[@]}" "${extra[@]}" --out "$data/out-x" > /dev/null
done
