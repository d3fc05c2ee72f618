//! SPEC §8.7 as a property: with `accumulate = "quarter"`, a chain of monthly runs over a whole
//! quarter (each with the previous month's batch as --ledger) pays every partner, rule by rule,
//! exactly what one quarterly run pays — whatever the deals, whatever is refunded and when (inside
//! the clawback window or after it, deals closed before the quarter included).
//!
//! The chain starts in September, so Q4's months see September's payments in their ledger (and
//! claw back September deals refunded in Q4); the quarterly run gets the same September batch as
//! its --ledger, so both sides claw back the same rows.

use payline::period::Period;
use payline::run::{DataPaths, run};
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Every kind that may accumulate, the deal-based ones in both modes.
const PROGRAM: &str = r#"[program]
id = "accumulate-prop"
name = "Accumulate property"
currency = "USD"
clawback_days = 90

[[rules]]
id = "retro"
kind = "tiered"
mode = "retroactive"
accumulate = "quarter"
tiers = [{ from = "0", rate = "0.05" }, { from = "20000", rate = "0.08" }, { from = "40000", rate = "0.10" }]

[[rules]]
id = "marginal"
kind = "tiered"
mode = "marginal"
accumulate = "quarter"
tiers = [{ from = "0", rate = "0.01" }, { from = "15000", rate = "0.03" }]

[[rules]]
id = "rebate"
kind = "rebate"
threshold = "30000.00"
rate = "0.02"
accumulate = "quarter"

[[rules]]
id = "goal"
kind = "goal"
measure = "deals"
target = 4
amount = "300.00"
accumulate = "quarter"

[[rules]]
id = "curve-goal"
kind = "goal"
measure = "revenue"
target = "20000"
accumulate = "quarter"
curve = [{ at = "0.5", amount = "0" }, { at = "1.0", amount = "1000" }, { at = "2.0", amount = "1500" }]

[[rules]]
id = "units-rebate"
kind = "rebate"
measure = "units"
accumulate = "quarter"
tiers = [{ from = "0", amount = "0" }, { from = "3", amount = "1.00" }, { from = "6", amount = "2.00" }]
"#;

const RULES: [&str; 6] = [
    "retro",
    "marginal",
    "rebate",
    "goal",
    "curve-goal",
    "units-rebate",
];

/// September, then the months of 2026-Q4.
const MONTHS: [&str; 4] = ["2026-09", "2026-10", "2026-11", "2026-12"];

#[derive(Debug, Clone)]
struct RawDeal {
    partner: usize,
    /// 0 = September … 3 = December.
    month: usize,
    day: u32,
    cents: i64,
    /// Refunded this many days after closing, if at all.
    refunded_after: Option<u32>,
}

fn write_inputs(dir: &Path, deals: &[RawDeal]) {
    let mut text = String::from("partner_id,name,type\n");
    for p in 0..3 {
        text.push_str(&format!("P{p},Partner {p},reseller\n"));
    }
    std::fs::write(dir.join("partners.csv"), text).unwrap();
    let mut text = String::from("deal_id,partner_id,closed_on,amount,status,reversed_on\n");
    for (i, d) in deals.iter().enumerate() {
        let closed_on =
            chrono::NaiveDate::from_ymd_opt(2026, 9 + u32::try_from(d.month).unwrap(), d.day)
                .unwrap();
        let (status, reversed) = match d.refunded_after {
            Some(days) => (
                "refunded",
                (closed_on + chrono::Days::new(u64::from(days))).to_string(),
            ),
            None => ("won", String::new()),
        };
        text.push_str(&format!(
            "D{i},P{},{closed_on},{}.{:02},{status},{reversed}\n",
            d.partner,
            d.cents / 100,
            d.cents % 100
        ));
    }
    std::fs::write(dir.join("deals.csv"), text).unwrap();
}

fn rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            headers
                .iter()
                .zip(r.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// Per (partner, rule), the sum of the rules' lines in `file` whose period is one of `periods`.
fn paid_by_rule(file: &Path, periods: &[&str]) -> BTreeMap<(String, String), Decimal> {
    let mut sums = BTreeMap::new();
    for r in rows(file) {
        if periods.contains(&r["period"].as_str()) && RULES.contains(&r["rule_id"].as_str()) {
            *sums
                .entry((r["partner_id"].clone(), r["rule_id"].clone()))
                .or_insert(Decimal::ZERO) += Decimal::from_str(&r["amount"]).unwrap();
        }
    }
    sums.retain(|_, v| !v.is_zero());
    sums
}

fn run_period(dir: &Path, period: &str, ledger: Option<PathBuf>) -> PathBuf {
    let out = dir.join(period);
    let paths = DataPaths {
        partners: dir.join("partners.csv"),
        deals: dir.join("deals.csv"),
        activities: None,
        claims: None,
        fx: None,
        adjustments: None,
        ledger,
        allow_program_change: false,
        columns: None,
        delimiter: None,
        ..DataPaths::default()
    };
    let period_value = Period::parse(period).unwrap();
    if let Err(e) = run(
        &dir.join("program.toml"),
        &period_value,
        &paths,
        &out,
        false,
        &payline::output::OldBatch::RemoveNow,
        &mut |_| {},
    ) {
        panic!("{period} was refused: {e}");
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, .. ProptestConfig::default() })]

    /// With `hold_days`, lines of deals closed late in a month wait on the `pending` account: the
    /// chain releases them or cancels them (a refund during the hold), and its true-ups count the
    /// cancels as paid back (SPEC §8.2, §8.7). Both sides are summed over both accounts. Holds then
    /// cover the quarter's own deals only: a September line held into the quarter is released or
    /// cancelled by the first run whose last day passes its hold, which §8.2 makes October for the
    /// chain and December 31 for the quarterly run (a refund in between cancels it in one and is a
    /// late reversal in the other) — a difference of run length, not of `accumulate`.
    #[test]
    fn a_quarter_paid_monthly_pays_what_one_quarterly_run_pays(
        deals in prop::collection::vec(
            (0usize..3, 0usize..4, 1u32..29, 100i64..2_500_000, prop::option::weighted(0.3, 0u32..110))
                .prop_map(|(partner, month, day, cents, refunded_after)| RawDeal { partner, month, day, cents, refunded_after }),
            1..30),
        hold_days in prop::option::weighted(0.5, 1i64..45),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        // `[payout]` goes before the rules' array of tables.
        let program = match hold_days {
            Some(days) => PROGRAM.replacen(
                "\n[[rules]]",
                &format!("\n[payout]\nhold_days = {days}\n\n[[rules]]"),
                1,
            ),
            None => PROGRAM.to_string(),
        };
        std::fs::write(dir.join("program.toml"), program).unwrap();
        let deals: Vec<RawDeal> = match hold_days {
            Some(_) => deals.into_iter().filter(|d| d.month > 0).collect(),
            None => deals,
        };
        write_inputs(dir, &deals);

        let september = run_period(dir, MONTHS[0], None);
        let mut previous = september.clone();
        for month in &MONTHS[1..] {
            previous = run_period(dir, month, Some(previous));
        }
        let chain = paid_by_rule(&previous.join("ledger.csv"), &MONTHS[1..]);
        let quarter = run_period(dir, "2026-Q4", Some(september));
        let once = paid_by_rule(&quarter.join("lines.csv"), &["2026-Q4"]);
        prop_assert_eq!(chain, once, "the monthly chain and the quarterly run paid differently");
    }
}

/// SPEC §7 within a span: a row paid before the quarter and re-dated into it counts in the quarter's
/// measure, but no true-up pays it again.
#[test]
fn a_row_paid_before_the_span_and_re_dated_into_it_is_not_paid_again() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join("program.toml"),
        r#"[program]
id = "redate"
name = "Re-dated"
currency = "USD"

[[rules]]
id = "retro"
kind = "tiered"
mode = "retroactive"
accumulate = "quarter"
tiers = [{ from = "0", rate = "0.05" }, { from = "20000", rate = "0.08" }]
"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("partners.csv"),
        "partner_id,name,type\nP1,Partner 1,reseller\n",
    )
    .unwrap();
    let deals = |x_closed: &str| {
        format!(
            "deal_id,partner_id,closed_on,amount\nX,P1,{x_closed},10000.00\nY,P1,2026-11-03,15000.00\n"
        )
    };
    // September pays X 5% × 10000 = 500.00.
    std::fs::write(dir.join("deals.csv"), deals("2026-09-20")).unwrap();
    let september = run_period(dir, "2026-09", None);
    assert_eq!(
        paid_by_rule(&september.join("lines.csv"), &["2026-09"])
            .values()
            .sum::<Decimal>(),
        Decimal::new(50000, 2)
    );
    // The CRM re-dates X into October: it counts there, but its line is not written again.
    std::fs::write(dir.join("deals.csv"), deals("2026-10-05")).unwrap();
    let october = run_period(dir, "2026-10", Some(september));
    assert!(paid_by_rule(&october.join("lines.csv"), &["2026-10"]).is_empty());
    // November: X 10000 + Y 15000 = 25000 → 8%: Y 1200.00. X is re-rated to 800.00 but was paid
    // before the quarter: no true-up for it.
    let november = run_period(dir, "2026-11", Some(october));
    let lines: Vec<(String, String)> = rows(&november.join("lines.csv"))
        .into_iter()
        .filter(|r| r["rule_id"] == "retro")
        .map(|r| (r["source_id"].clone(), r["amount"].clone()))
        .collect();
    assert_eq!(lines, vec![("Y".to_string(), "1200.00".to_string())]);
}
