//! SPEC §8.1 and §8.2 as properties: random chains of months (August to December) of a program with
//! a holding period, random deals (some refunded, before or after their hold ends) and manual
//! adjustments (some re-exported in a later month). Whatever the data, the pending and payout
//! accounts conserve money: every held amount is released to payout or cancelled, exactly once and
//! never both, nothing is left pending once every hold has ended, every adjustment is applied once,
//! and every batch's balances (pending included) equal its ledger's sums.

mod common;

use common::{balances, csv_rows as rows};

use payline::period::Period;
use payline::run::{DataPaths, run};
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

const MONTHS: [&str; 5] = ["2026-08", "2026-09", "2026-10", "2026-11", "2026-12"];

fn program(hold_days: u32, clawback_days: u32) -> String {
    format!(
        r#"[program]
id = "hold-prop"
name = "Hold property"
currency = "USD"
clawback_days = {clawback_days}

[payout]
minimum = "50.00"
hold_days = {hold_days}

[[rules]]
id = "commission"
kind = "percent"
rate = "0.10"

[[rules]]
id = "per-deal"
kind = "flat"
amount = "25.00"
"#
    )
}

#[derive(Debug, Clone)]
struct RawDeal {
    partner: usize,
    /// Deals close in August to October, so every hold (at most 45 days) ends by December's end.
    month: usize,
    day: u32,
    cents: i64,
    /// Refunded this many days after closing, if at all.
    refunded_after: Option<u32>,
}

#[derive(Debug, Clone)]
struct RawAdjustment {
    partner: usize,
    month: usize,
    cents: i64,
    /// Re-exported with its decided_on moved into this later month (must not be applied again).
    redated_to: Option<usize>,
}

fn date(month: usize, day: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, u32::try_from(8 + month).unwrap(), day).unwrap()
}

fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

fn write_inputs(dir: &Path, deals: &[RawDeal], adjustments: &[RawAdjustment], month: usize) {
    let mut text = String::from("partner_id,name,type\n");
    for p in 0..3 {
        text.push_str(&format!("P{p},Partner {p},affiliate\n"));
    }
    std::fs::write(dir.join("partners.csv"), text).unwrap();
    let mut text = String::from("deal_id,partner_id,closed_on,amount,status,reversed_on\n");
    for (i, d) in deals.iter().enumerate() {
        let closed = date(d.month, d.day);
        let (status, reversed) = match d.refunded_after {
            Some(days) => (
                "refunded",
                (closed + chrono::Days::new(u64::from(days))).to_string(),
            ),
            None => ("won", String::new()),
        };
        text.push_str(&format!(
            "D{i},P{},{closed},{},{status},{reversed}\n",
            d.partner,
            money(d.cents)
        ));
    }
    std::fs::write(dir.join("deals.csv"), text).unwrap();
    // This month's export: an adjustment re-dated into a later month shows that date from then on.
    let mut text = String::from("adjustment_id,partner_id,amount,reason,decided_on\n");
    for (i, a) in adjustments.iter().enumerate() {
        let decided = match a.redated_to {
            Some(later) if later <= month => later,
            _ => a.month,
        };
        text.push_str(&format!(
            "J{i},P{},{},Correction {i},{}\n",
            a.partner,
            money(a.cents),
            date(decided, 12)
        ));
    }
    std::fs::write(dir.join("adjustments.csv"), text).unwrap();
}

fn amount(row: &BTreeMap<String, String>) -> Decimal {
    Decimal::from_str(&row["amount"]).unwrap()
}

/// What the ledger shows of one (deal, partner, rule) row on the pending account.
#[derive(Debug, Default)]
struct Held {
    /// The periods of the release or cancel lines.
    resolved_in: Vec<String>,
    written: Vec<Decimal>,
    released_from_pending: Vec<Decimal>,
    released_to_payout: Vec<Decimal>,
    cancelled: Vec<Decimal>,
}

/// A deal row as the chain's last deals.csv has it: closed_on, reversed_on.
type Rows = BTreeMap<String, (chrono::NaiveDate, Option<chrono::NaiveDate>)>;

fn deal_rows(deals: &[RawDeal]) -> Rows {
    deals
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let closed = date(d.month, d.day);
            let reversed = d
                .refunded_after
                .map(|days| closed + chrono::Days::new(u64::from(days)));
            (format!("D{i}"), (closed, reversed))
        })
        .collect()
}

/// SPEC §8.2's timing: a held row is resolved in the first period whose last day is on or after
/// closed_on + hold_days, or earlier when it is reversed while held; it is cancelled when reversed on
/// or before that period's last day, released otherwise.
fn check_timing(
    key: &(String, String, String),
    h: &Held,
    rows: &Rows,
    hold_days: u32,
) -> Result<(), TestCaseError> {
    let Some(period) = h.resolved_in.first() else {
        return Ok(());
    };
    let period = Period::parse(period).unwrap();
    let (closed, reversed) = rows[&key.0];
    let due = closed + chrono::Days::new(u64::from(hold_days));
    let reversed_by_end = reversed.is_some_and(|r| r <= period.end);
    if h.cancelled.is_empty() {
        prop_assert!(
            !reversed_by_end,
            "{key:?} released in {period} though reversed on {reversed:?}"
        );
        prop_assert!(
            due <= period.end && due >= period.start,
            "{key:?} released in {period}, due {due}"
        );
    } else {
        prop_assert!(
            reversed_by_end,
            "{key:?} cancelled in {period} though reversed on {reversed:?}"
        );
        let reversed = reversed.unwrap();
        prop_assert!(
            reversed >= period.start || due >= period.start,
            "{key:?} cancelled late in {period}"
        );
    }
    Ok(())
}

/// The invariants of one accepted batch. With `all_holds_over`, nothing may be pending any more.
/// With `rows`, the timing of every release and cancel is checked too.
fn check_batch(
    out: &Path,
    all_holds_over: bool,
    rows_and_hold: Option<(&Rows, u32)>,
) -> Result<(), TestCaseError> {
    let mut sums: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    let mut held: BTreeMap<(String, String, String), Held> = BTreeMap::new();
    let mut adjustments: BTreeMap<String, usize> = BTreeMap::new();
    for r in rows(&out.join("ledger.csv")) {
        let x = amount(&r);
        *sums
            .entry((r["partner_id"].clone(), r["account"].clone()))
            .or_default() += x;
        let key = (
            r["source_id"].clone(),
            r["partner_id"].clone(),
            r["rule_id"].clone(),
        );
        match (r["account"].as_str(), r["kind"].as_str()) {
            ("pending", "release") => held.entry(key).or_default().released_from_pending.push(x),
            ("payout", "release") => {
                let h = held.entry(key).or_default();
                h.released_to_payout.push(x);
                h.resolved_in.push(r["period"].clone());
            }
            ("pending", "cancel") => {
                let h = held.entry(key).or_default();
                h.cancelled.push(x);
                h.resolved_in.push(r["period"].clone());
            }
            ("pending", _) => held.entry(key).or_default().written.push(x),
            ("payout", "adjustment") => {
                *adjustments.entry(r["source_id"].clone()).or_default() += 1
            }
            _ => {}
        }
    }
    for (key, h) in &held {
        prop_assert_eq!(h.written.len(), 1, "{:?} held {:?} times", key, h.written);
        let x = h.written[0];
        prop_assert!(x > Decimal::ZERO, "{key:?} held {x}");
        let released = !h.released_to_payout.is_empty();
        let cancelled = !h.cancelled.is_empty();
        prop_assert!(
            !(released && cancelled),
            "{key:?} both released and cancelled"
        );
        if released {
            prop_assert_eq!(&h.released_to_payout, &vec![x], "{:?}", key);
            prop_assert_eq!(&h.released_from_pending, &vec![-x], "{:?}", key);
        } else {
            prop_assert!(h.released_from_pending.is_empty(), "{key:?} half a release");
        }
        if cancelled {
            prop_assert_eq!(&h.cancelled, &vec![-x], "{:?}", key);
        }
        if all_holds_over {
            prop_assert!(
                released || cancelled,
                "{key:?}: {x} still pending after its hold"
            );
        }
        if let Some((rows, hold_days)) = rows_and_hold {
            check_timing(key, h, rows, hold_days)?;
        }
    }
    for (id, n) in &adjustments {
        prop_assert_eq!(*n, 1, "adjustment {} applied {} times", id, n);
    }
    sums.retain(|_, v| !v.is_zero());
    let balances = balances(out);
    prop_assert_eq!(&sums, &balances, "balances.csv is not the ledger's sums");
    // payouts.csv's `pending` is each partner's pending balance after the run.
    for p in rows(&out.join("payouts.csv")) {
        let pending = Decimal::from_str(&p["pending"]).unwrap();
        let balance = balances
            .get(&(p["partner_id"].clone(), "pending".to_string()))
            .copied()
            .unwrap_or_default();
        prop_assert_eq!(
            pending,
            balance,
            "payouts.csv pending of {}",
            &p["partner_id"]
        );
    }
    if all_holds_over {
        prop_assert!(
            !balances.keys().any(|(_, account)| account == "pending"),
            "money left pending: {balances:?}"
        );
    }
    Ok(())
}

fn run_month(dir: &Path, month: usize, ledger: Option<PathBuf>) -> PathBuf {
    let out = dir.join(MONTHS[month]);
    let paths = DataPaths {
        partners: dir.join("partners.csv"),
        deals: dir.join("deals.csv"),
        activities: None,
        claims: None,
        fx: None,
        ledger,
        adjustments: Some(dir.join("adjustments.csv")),
        allow_program_change: false,
        columns: None,
        delimiter: None,
        ..DataPaths::default()
    };
    let period = Period::parse(MONTHS[month]).unwrap();
    run(
        &dir.join("program.toml"),
        &period,
        &paths,
        &out,
        false,
        &payline::output::OldBatch::RemoveNow,
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("{}: {e}", MONTHS[month]));
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::property_cases(32), .. ProptestConfig::default() })]

    #[test]
    fn held_money_is_released_or_cancelled_once_and_never_lost(
        hold_days in 0u32..46,
        clawback_days in prop::sample::select(vec![0u32, 30, 90]),
        deals in prop::collection::vec(
            (0usize..3, 0usize..3, 1u32..31, 1000i64..500_000, prop::option::weighted(0.35, 0u32..80))
                .prop_map(|(partner, month, day, cents, refunded_after)| RawDeal { partner, month, day, cents, refunded_after }),
            1..30),
        adjustments in prop::collection::vec(
            (0usize..3, 0usize..5, -20_000i64..20_000, prop::option::weighted(0.3, 1usize..5))
                .prop_map(|(partner, month, cents, redated_to)| RawAdjustment {
                    partner,
                    month,
                    cents,
                    redated_to: redated_to.filter(|m| *m > month),
                }),
            0..8),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(dir.join("program.toml"), program(hold_days, clawback_days)).unwrap();
        let mut ledger = None;
        for month in 0..MONTHS.len() {
            write_inputs(dir, &deals, &adjustments, month);
            let out = run_month(dir, month, ledger.take());
            check_batch(&out, month == MONTHS.len() - 1, Some((&deal_rows(&deals), hold_days)))?;
            ledger = Some(out);
        }
    }
}

/// The sample program with its refund window over the sample data, August to October, with the
/// sample adjustments: every batch's balances (pending included) are its ledger's sums.
#[test]
fn the_sample_hold_program_chains_over_the_sample_data() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ledger: Option<PathBuf> = None;
    for month in &MONTHS[..3] {
        let out = tmp.path().join(month);
        let paths = DataPaths {
            partners: common::repo("fixtures/partners.csv"),
            deals: common::repo("fixtures/deals.csv"),
            activities: None,
            claims: None,
            fx: Some(common::repo("fixtures/fx.csv")),
            ledger: ledger.take(),
            adjustments: Some(common::repo("fixtures/adjustments.csv")),
            allow_program_change: false,
            columns: None,
            delimiter: None,
            ..DataPaths::default()
        };
        run(
            &common::repo("programs/affiliate-hold.toml"),
            &Period::parse(month).unwrap(),
            &paths,
            &out,
            false,
            &payline::output::OldBatch::RemoveNow,
            &mut |_| {},
        )
        .unwrap();
        check_batch(&out, false, None).unwrap();
        ledger = Some(out);
    }
    // October: the September sale of P002 (D1011, 450.00 to a new customer: 12% × 1.25 = 67.50) is
    // released; its October sale D1019 (1200.00, new: 180.00) waits until November 7.
    let october = rows(&tmp.path().join("2026-10/lines.csv"));
    let line = |account: &str, kind: &str, deal: &str| {
        october
            .iter()
            .find(|r| r["account"] == account && r["kind"] == kind && r["source_id"] == deal)
            .map(amount)
    };
    assert_eq!(
        line("payout", "release", "D1011"),
        Some(Decimal::new(6750, 2))
    );
    assert_eq!(
        line("pending", "release", "D1011"),
        Some(Decimal::new(-6750, 2))
    );
    assert_eq!(
        line("pending", "percent", "D1019"),
        Some(Decimal::new(18000, 2))
    );
    assert_eq!(
        line("payout", "adjustment", "ADJ-1014"),
        Some(Decimal::new(12000, 2))
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `--ledger` verification covers the pending account: a pending balance that is not the sum of the
/// ledger's pending lines is refused, even with the manifest's hash forged to match.
#[test]
fn a_pending_balance_that_is_not_the_ledgers_sum_is_refused() {
    let case = common::repo("tests/golden/34-hold-release-exact-day");
    let tmp = tempfile::tempdir().unwrap();
    let paths = |ledger: Option<PathBuf>| DataPaths {
        partners: case.join("partners.csv"),
        deals: case.join("deals.csv"),
        activities: None,
        claims: None,
        fx: None,
        ledger,
        adjustments: None,
        allow_program_change: false,
        columns: None,
        delimiter: None,
        ..DataPaths::default()
    };
    let run_to = |period: &str, out: &Path, ledger: Option<PathBuf>| {
        run(
            &case.join("program.toml"),
            &Period::parse(period).unwrap(),
            &paths(ledger),
            out,
            false,
            &payline::output::OldBatch::RemoveNow,
            &mut |_| {},
        )
    };
    let september = tmp.path().join("2026-09");
    run_to("2026-09", &september, None).unwrap();
    let balances = std::fs::read_to_string(september.join("balances.csv")).unwrap();
    assert_eq!(balances, "partner_id,account,balance\nP1,pending,300.00\n");
    let forged = balances.replace("300.00", "250.00");
    std::fs::write(september.join("balances.csv"), &forged).unwrap();
    let manifest = std::fs::read_to_string(september.join("manifest.json"))
        .unwrap()
        .replace(
            &sha256_hex(balances.as_bytes()),
            &sha256_hex(forged.as_bytes()),
        );
    std::fs::write(september.join("manifest.json"), manifest).unwrap();
    let october = tmp.path().join("2026-10");
    let err = run_to("2026-10", &october, Some(september))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("balances.csv says partner P1 has 250.00 on account `pending`, but ledger.csv's lines for that account add up to 300.00"),
        "{err}"
    );
    assert!(!october.exists());
}
