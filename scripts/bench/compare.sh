#!/usr/bin/env bash
# Paired benchmark of `payline run` against the anchors on the same generated data, in one measurement:
#   DuckDB running the same program as SQL (duck.py: totals only, no validation, no audit trail) and the
#   parse floor (floor/: read deals.csv once, parse every amount as Decimal, sum per partner).
# usage: scripts/bench/compare.sh [PAYLINE_BINARY] [DEALS] [PARTNERS]
#        (defaults target/release/payline, built here; 10000000 deals; 20000 partners; data cached in /tmp)
# needs: python3 with duckdb (pip install duckdb), hyperfine (apt-get install hyperfine), cargo.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [ -z "${1:-}" ]; then (cd "$root" && cargo build --release --quiet --bin payline); fi
bin="$(realpath "${1:-$root/target/release/payline}")"; deals=${2:-10000000}; partners=${3:-20000}
data=/tmp/payline-bench-$deals-$partners
[ -f "$data/deals.csv" ] || python3 "$here/gen.py" "$data" "$partners" "$deals"
(cd "$here/floor" && cargo build --release --quiet)
out=$(mktemp -d)
# Each payline run writes a fresh --out (the previous one removed before, outside the timing), as a month's
# batch is written in practice; PAYLINE_ARGS adds flags (e.g. --statements to render statements too).
hyperfine --warmup 1 --runs ${RUNS:-3} --export-markdown "$out/compare.md" \
  -n payline --prepare "rm -rf $out/run; sync" "$bin run --program $here/program.toml --partners $data/partners.csv --deals $data/deals.csv --fx $data/fx.csv --period 2026-10 --out $out/run --json ${PAYLINE_ARGS:-}" \
  -n duckdb "python3 $here/duck.py $data $out/duck.csv" \
  -n floor "$here/floor/target/release/floor $data/deals.csv"
cat "$out/compare.md"
for cmd in payline duckdb; do
  case $cmd in
    payline) rm -rf "$out/run"; c=("$bin" run --program "$here/program.toml" --partners "$data/partners.csv" --deals "$data/deals.csv" --fx "$data/fx.csv" --period 2026-10 --out "$out/run" --json ${PAYLINE_ARGS:-}) ;;
    duckdb) c=(python3 "$here/duck.py" "$data" "$out/duck.csv") ;;
  esac
  /usr/bin/time -f "$cmd peak RSS %M KiB" "${c[@]}" >/dev/null
done
# The two must agree on what each partner earned (DuckDB has no holds or minimums: compare earned).
# payline rounds every line (SPEC §4), DuckDB each partner's tier total once: cents may differ there.
python3 - "$out/run/payouts.csv" "$out/duck.csv" <<'PY2'
import csv, sys
from decimal import Decimal
p = {r["partner_id"]: Decimal(r["earned"]) for r in csv.DictReader(open(sys.argv[1]))}
d = {r["partner_id"]: Decimal(r["earned"]) for r in csv.DictReader(open(sys.argv[2]))}
diff = {k: p.get(k, Decimal(0)) - d.get(k, Decimal(0)) for k in set(p) | set(d)}
off = [k for k, v in diff.items() if v != 0]
worst = max((abs(v) for v in diff.values()), default=Decimal(0))
print(f"earned per partner: {len(off)} of {len(diff)} differ, largest difference {worst} (per-line rounding)")
PY2
rm -rf "$out"
