//! SPEC §7 as a property: random four-month chains (August to November) in which the CRM re-dates
//! paid deals and claims between runs, someone duplicates a ledger line or edits balances.csv, and the
//! wrong `--ledger` is passed. Whatever happens, either payline refuses the run, or the chain it
//! extends never pays a (deal, partner, rule) row or a claim twice, and every account's ledger lines
//! add up to its balance.

mod common;

use common::{balances, check_journal, csv_rows as rows};

use payline::period::Period;
use payline::run::{DataPaths, run};
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

const PROGRAM: &str = r#"[program]
id = "chain-prop"
name = "Chain property"
currency = "USD"

[payout]
minimum = "50.00"

[[rules]]
id = "commission"
kind = "percent"
rate = "0.10"

[[rules]]
id = "per-deal"
kind = "flat"
amount = "25.00"

[[rules]]
id = "mdf"
kind = "fund"
allocation = "100.00"
"#;

const MONTHS: [&str; 4] = ["2026-08", "2026-09", "2026-10", "2026-11"];

#[derive(Debug, Clone)]
struct RawDeal {
    partner: usize,
    month: usize,
    day: u32,
    cents: i64,
    /// Refunded this many days after closing, if at all.
    refunded_after: Option<u32>,
}

#[derive(Debug, Clone)]
struct RawClaim {
    partner: usize,
    month: usize,
    /// Thousandths: claims may carry more decimals than the currency, which the fund rounds.
    mills: i64,
}

/// What goes wrong before a month's run.
#[derive(Debug, Clone, Copy)]
enum Mishap {
    None,
    /// The CRM moves one deal (by index) that closed in an earlier month into this one.
    RedateDeal(usize),
    /// A claim decided in an earlier month is re-exported as decided in this one.
    RedateClaim(usize),
    /// A line of the previous batch's ledger.csv is duplicated.
    DuplicateLedgerLine(usize),
    /// A balance is typed into the previous batch's balances.csv.
    TamperBalance,
    /// The ledger passed is an older batch, not the previous month's.
    WrongLedger,
}

fn mishap() -> impl Strategy<Value = Mishap> {
    prop_oneof![
        3 => Just(Mishap::None),
        3 => (0usize..40).prop_map(Mishap::RedateDeal),
        2 => (0usize..10).prop_map(Mishap::RedateClaim),
        1 => (0usize..200).prop_map(Mishap::DuplicateLedgerLine),
        1 => Just(Mishap::TamperBalance),
        1 => Just(Mishap::WrongLedger),
    ]
}

/// Months 0..=3 are August to November.
fn date(month: usize, day: u32) -> String {
    format!("2026-{:02}-{day:02}", 8 + month)
}

fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn write_inputs(dir: &Path, deals: &[RawDeal], claims: &[RawClaim]) {
    let mut text = String::from("partner_id,name,type\n");
    for p in 0..4 {
        text.push_str(&format!("P{p},Partner {p},affiliate\n"));
    }
    std::fs::write(dir.join("partners.csv"), text).unwrap();
    let mut text = String::from("deal_id,partner_id,closed_on,amount,status,reversed_on\n");
    for (i, d) in deals.iter().enumerate() {
        let closed = date(d.month, d.day);
        let (status, reversed) = match d.refunded_after {
            Some(days) => {
                let closed_on = chrono::NaiveDate::parse_from_str(&closed, "%Y-%m-%d").unwrap();
                (
                    "refunded",
                    (closed_on + chrono::Days::new(u64::from(days))).to_string(),
                )
            }
            None => ("won", String::new()),
        };
        text.push_str(&format!(
            "D{i},P{},{closed},{},{status},{reversed}\n",
            d.partner,
            money(d.cents)
        ));
    }
    std::fs::write(dir.join("deals.csv"), text).unwrap();
    let mut text = String::from("claim_id,partner_id,fund,amount,status,decided_on\n");
    for (i, c) in claims.iter().enumerate() {
        text.push_str(&format!(
            "C{i},P{},mdf,{}.{:03},approved,{}\n",
            c.partner,
            c.mills / 1000,
            c.mills % 1000,
            date(c.month, 10)
        ));
    }
    std::fs::write(dir.join("claims.csv"), text).unwrap();
}

/// The chain's invariants on one accepted batch: nothing paid twice, balances = the ledger's sums.
fn check_batch(out: &Path) -> Result<(), TestCaseError> {
    let mut earned: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    let mut claims: BTreeMap<String, usize> = BTreeMap::new();
    let mut sums: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for r in rows(&out.join("ledger.csv")) {
        let amount = Decimal::from_str(&r["amount"]).unwrap();
        *sums
            .entry((r["partner_id"].clone(), r["account"].clone()))
            .or_default() += amount;
        if r["source"] == "deal" && r["kind"] != "clawback" {
            *earned
                .entry((
                    r["source_id"].clone(),
                    r["partner_id"].clone(),
                    r["rule_id"].clone(),
                ))
                .or_default() += 1;
        }
        if r["kind"] == "claim" {
            *claims.entry(r["source_id"].clone()).or_default() += 1;
        }
    }
    for (key, n) in &earned {
        prop_assert!(*n == 1, "{key:?} paid {n} times in {}", out.display());
    }
    for (claim, n) in &claims {
        prop_assert!(*n == 1, "claim {claim} paid {n} times in {}", out.display());
    }
    sums.retain(|_, v| !v.is_zero());
    prop_assert_eq!(sums, balances(out), "balances.csv is not the ledger's sums");
    check_journal(out)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A copy of `batch` beside it with one file changed by `change`, and the manifest's SHA-256 of that
/// file updated to match, as a careful forger would: only the ledger's own consistency can tell.
fn tampered(batch: &Path, suffix: &str, file: &str, change: impl Fn(String) -> String) -> PathBuf {
    let copy = batch.with_extension(suffix);
    copy_dir(batch, &copy);
    let text = std::fs::read_to_string(copy.join(file)).unwrap();
    let changed = change(text.clone());
    std::fs::write(copy.join(file), &changed).unwrap();
    let manifest = std::fs::read_to_string(copy.join("manifest.json"))
        .unwrap()
        .replace(
            &sha256_hex(text.as_bytes()),
            &sha256_hex(changed.as_bytes()),
        );
    std::fs::write(copy.join("manifest.json"), manifest).unwrap();
    copy
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::property_cases(48), .. ProptestConfig::default() })]

    #[test]
    fn a_chain_never_pays_twice_and_its_balances_are_its_ledger(
        mut deals in prop::collection::vec(
            (0usize..4, 0usize..4, 1u32..29, 1000i64..500_000, prop::option::weighted(0.25, 0u32..120))
                .prop_map(|(partner, month, day, cents, refunded_after)| RawDeal { partner, month, day, cents, refunded_after }),
            1..40),
        mut claims in prop::collection::vec(
            (0usize..4, 0usize..4, 10_000i64..300_000)
                .prop_map(|(partner, month, mills)| RawClaim { partner, month, mills }),
            0..10),
        mishaps in prop::collection::vec(mishap(), 4),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(dir.join("program.toml"), PROGRAM).unwrap();
        let mut batches: Vec<PathBuf> = Vec::new();
        for (month, mishap) in mishaps.iter().enumerate() {
            let previous = batches.last().cloned();
            let mut ledger = previous.clone();
            let mut must_refuse = false;
            match (*mishap, &previous) {
                (Mishap::RedateDeal(i), _) => {
                    if let Some(d) = deals.get_mut(i) && d.month < month {
                        d.month = month;
                    }
                }
                (Mishap::RedateClaim(i), _) => {
                    if let Some(c) = claims.get_mut(i) && c.month < month {
                        c.month = month;
                    }
                }
                (Mishap::DuplicateLedgerLine(i), Some(prev)) => {
                    ledger = Some(tampered(prev, "dup", "ledger.csv", |text| {
                        let lines: Vec<&str> = text.lines().collect();
                        let dup = lines[1 + i % (lines.len() - 1)].to_string();
                        format!("{text}{dup}\n")
                    }));
                    // August's ledger may be only a header: nothing to duplicate, and no tampering.
                    must_refuse = std::fs::read_to_string(prev.join("ledger.csv")).unwrap().lines().count() > 1;
                }
                (Mishap::TamperBalance, Some(prev)) => {
                    ledger = Some(tampered(prev, "edited", "balances.csv", |text| {
                        format!("{text}P1,payout,9999.99\n")
                    }));
                    must_refuse = true;
                }
                (Mishap::WrongLedger, Some(_)) if batches.len() >= 2 => {
                    ledger = Some(batches[batches.len() - 2].clone());
                    must_refuse = true;
                }
                _ => {}
            }
            write_inputs(dir, &deals, &claims);
            let out = dir.join(MONTHS[month]);
            let period = Period::parse(MONTHS[month]).unwrap();
            let attempt = |ledger: Option<PathBuf>| {
                let paths = DataPaths {
                    partners: dir.join("partners.csv"),
                    deals: dir.join("deals.csv"),
                    activities: None,
                    claims: Some(dir.join("claims.csv")),
                    fx: None,
                    ledger,
                    adjustments: None,
                    allow_program_change: false,
                    columns: None,
                    delimiter: None,
                    ..DataPaths::default()
                };
                run(&dir.join("program.toml"), &period, &paths, &out, false, &payline::output::OldBatch::RemoveNow, &mut |_| {})
            };
            if must_refuse {
                let refused = attempt(ledger.clone());
                prop_assert!(refused.is_err(), "{:?} with ledger {:?} was accepted", mishap, ledger);
                prop_assert!(!out.exists(), "a refused run wrote its --out");
                // Finance notices and runs the month on the right batch.
                ledger = previous;
            }
            if let Err(e) = attempt(ledger) {
                prop_assert!(false, "{:?}: a correct run was refused: {}", mishap, e);
            }
            check_batch(&out)?;
            batches.push(out);
        }
    }
}
