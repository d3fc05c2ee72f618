//! SPEC §9 as properties, over random six-month chains (January to June 2026) of monthly runs with
//! `--ledger`, and beside them the chain of the two quarterly runs `2026-Q1`, `2026-Q2`. Every run
//! reads the exports of its own month end (a quarterly run the export of its quarter's last month),
//! and the exports change as a CRM's and a bank's do: deal rows (split and overlay, §9.4) arrive late
//! and are refunded in whole or in part (§9.6, `reversed_amount`); payments.csv gains partial
//! payments, refunds of payments, overpayments, payments that appear in a later export than their
//! month (late), and payments whose `paid_on` changes between exports (re-dated); approvals.csv gains
//! decisions that arrive late, decline, and change between exports (§9.3); `hold_days` is on or off,
//! `clawback_days` short or long. The program pays on cash (`pay_on = "payment"`, with and without
//! `for_months`, §9.1–§9.2), on full payment (`percent` and `flat`), with manual approval, and in a
//! rule group (§9.5) whose first rule takes overlay rows and second rule large rows (on the credited
//! amount, which a partial reversal lowers, so a row may change rule after it was paid).
//!
//! The properties, each checked on every batch or over the whole chain:
//! 1. money is conserved: balances.csv = the ledger's sums per (partner, account); payouts.csv's
//!    `earned`, `clawed_back`, `paid`, `carried_in`, `balance`, `carried_out` and `pending` are the
//!    sums of the period's lines and balances; journal.csv balances and books what lines.csv moved;
//! 2. nothing is paid twice: a (partner, rule, payment_id) has at most one payment line; a (partner,
//!    rule, deal) row at most one earned line, a group at most one for its rules together, and at
//!    most one amount put on `payout` (earned or released) whatever the approvals do;
//! 3. a `pay_on = "payment"` rule never stands for more cash than the row's covered total, computed
//!    here from the last payments.csv: rate × round(covered × share) ≥ its payment lines ≥ 0, a cent
//!    per line for rounding;
//! 4. a quarter run monthly pays the payment-based rules what the quarterly run pays, account by
//!    account, at each quarter's end.
//!
//! What a monthly and a quarterly chain cannot agree on by construction is left out of property 4
//! (its cases are generated "on time", `Chain::on_time`):
//! - a payment that appears after its month, or whose `paid_on` changes after it was paid: the
//!   monthly runs pay it by T (SPEC §9.1) on the cash parts the earlier runs recorded, the quarterly
//!   run on its own part in the quarter's order, so the cash is split over other payments (other
//!   per-line roundings), and a T no new payment can carry "waits for a later payment" in the months
//!   only. The on-time generator has every payment appear in the export of its month and never re-dates
//!   one (a deal row that appears late brings all its payments at once, which is the same for both);
//! - a partial reversal of a row paid on full payment: the months pay the row's usual line and claw
//!   back round(paid × x ÷ amount) (§9.6), the quarter pays once on the reduced amount — a `flat`
//!   line is not reduced at all, a `percent` one differs by a rounding. On-time cases reverse rows
//!   whole;
//! - a full-payment line paid and then reversed past `clawback_days` is kept by the months and never
//!   paid by the quarter (§4.12): full-payment rules are compared only with the long `clawback_days`;
//! - a row of amount 0 (paid in full on its close, payments or not) that arrives after its month:
//!   like any deal line of a row that arrives after its period (§2), the months do not pay it then
//!   (they do, late, once a payment names it), the quarter does. On-time cases have such rows arrive
//!   in their month.

mod common;

use common::decimal_or_zero as dec;
use common::{balances, check_journal, csv_rows as rows, ledger_sums, scratch_dir};

use chrono::{Datelike, Days, Months, NaiveDate};
use payline::period::Period;
use payline::run::{DataPaths, run};
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// (rule id, kind, rate) of the rules paying on cash; `window` has `for_months = WINDOW_MONTHS`.
const CASH_RULES: [(&str, &str); 2] = [("cash", "0.10"), ("window", "0.05")];
const WINDOW_MONTHS: u32 = 2;
const FULL_PAYMENT_RULES: [&str; 2] = ["full-pct", "full-flat"];
const GROUP_RULES: [&str; 3] = ["dist", "big", "base"];
const LONG_CLAWBACK_DAYS: i64 = 400;

const RULES: &str = r#"
[[rules]]
id = "cash"
kind = "percent"
rate = "0.10"
pay_on = "payment"

[[rules]]
id = "window"
kind = "percent"
rate = "0.05"
pay_on = "payment"
for_months = 2

[[rules]]
id = "full-pct"
kind = "percent"
rate = "0.04"
pay_on = "full-payment"

[[rules]]
id = "full-flat"
kind = "flat"
amount = "50.00"
pay_on = "full-payment"

[[rules]]
id = "manual"
kind = "percent"
rate = "0.03"
approval = "manual"

[[rules]]
id = "dist"
kind = "percent"
rate = "0.06"
group = "tier"
when = { credit = ["overlay"] }

[[rules]]
id = "big"
kind = "percent"
rate = "0.02"
group = "tier"
when = { min_amount = "2000" }

[[rules]]
id = "base"
kind = "percent"
rate = "0.01"
group = "tier"
"#;

/// The chain's months; a month's index is also the index of the export read at its end.
const MONTHS: [&str; 6] = [
    "2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06",
];

/// The quarterly chain: (period, the export it reads, the months it stands for).
const QUARTERS: [(&str, usize, &[&str]); 2] = [
    ("2026-Q1", 2, &["2026-01", "2026-02", "2026-03"]),
    ("2026-Q2", 5, &["2026-04", "2026-05", "2026-06"]),
];

fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
}

fn last_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 30).unwrap()
}

fn month_end(m: usize) -> NaiveDate {
    Period::parse(MONTHS[m]).unwrap().end
}

/// The chain's month containing `d` (past the chain: beyond the last index).
fn month_of(d: NaiveDate) -> usize {
    usize::try_from(d.month0()).unwrap() + 12 * usize::try_from(d.year() - 2026).unwrap()
}

fn in_chain(d: NaiveDate) -> NaiveDate {
    d.clamp(first_day(), last_day())
}

fn shifted(d: NaiveDate, days: i64) -> NaiveDate {
    in_chain(d.checked_add_signed(chrono::TimeDelta::days(days)).unwrap())
}

fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

/// One row of a deal: its partner, share and credit (SPEC §9.4).
#[derive(Debug, Clone)]
struct Row {
    partner: usize,
    share: &'static str,
    overlay: bool,
}

/// The deal's rows: split rows whose shares add up to at most 1, and overlay rows besides.
const LAYOUTS: [&[(&str, bool)]; 6] = [
    &[("1", false)],
    &[("0.5", false)],
    &[("0.6", false), ("0.4", false)],
    &[("1", false), ("1", true)],
    &[("0.6", false), ("0.4", false), ("0.5", true)],
    &[("1", true)],
];

/// One payment as payments.csv shows it over time (append-only: its amount never changes).
#[derive(Debug, Clone)]
struct Payment {
    cents: i64,
    paid_on: NaiveDate,
    /// The row (index into the deal's rows) it is restricted to; `None`: every row of the deal.
    row: Option<usize>,
    /// The first export that holds it.
    appears: usize,
    /// From this export on, `paid_on` reads the new date.
    redated: Option<(usize, NaiveDate)>,
}

impl Payment {
    fn paid_on_in(&self, export: usize) -> NaiveDate {
        match self.redated {
            Some((from, date)) if export >= from => date,
            _ => self.paid_on,
        }
    }
}

/// A decision of approvals.csv on one row, as the exports show it over time.
#[derive(Debug, Clone)]
struct Decision {
    row: usize,
    /// Names the rule `manual` (else an empty rule_id: every manual rule of the row).
    names_rule: bool,
    approved: bool,
    decided_on: NaiveDate,
    appears: usize,
    /// From this export on the decision reads (approved, decided_on) instead.
    changed: Option<(usize, bool, NaiveDate)>,
}

#[derive(Debug, Clone)]
struct Deal {
    rows: Vec<Row>,
    closed: NaiveDate,
    /// The first export that holds its rows.
    appears: usize,
    cents: i64,
    /// Refunded on this day, in part (`reversed_amount` cents) or whole.
    reversed: Option<(NaiveDate, Option<i64>)>,
    payments: Vec<Payment>,
    decisions: Vec<Decision>,
}

/// (kind of amount, % of the deal amount, days after the close, restricted to a row, days late,
/// re-dating: (exports after it appears, days moved)).
type RawPayment = (
    u8,
    i64,
    i64,
    Option<usize>,
    Option<i64>,
    Option<(usize, i64)>,
);

fn payment_strategy() -> impl Strategy<Value = RawPayment> {
    (
        // 0..6 a partial payment, 6..8 a refund of a payment, 8 an overpayment.
        0u8..9,
        1i64..101,
        -20i64..120,
        prop::option::weighted(0.3, 0usize..3),
        prop::option::weighted(0.25, 1i64..70),
        prop::option::weighted(0.2, (0usize..3, -45i64..45)),
    )
}

/// (row, names the rule, approved, days after the close, months late, change).
type RawDecision = (usize, bool, bool, i64, usize, Option<(usize, bool, i64)>);

fn decision_strategy() -> impl Strategy<Value = RawDecision> {
    (
        0usize..3,
        any::<bool>(),
        prop::bool::weighted(0.7),
        0i64..80,
        prop_oneof![3 => Just(0usize), 1 => 1usize..3],
        prop::option::weighted(0.3, (1usize..3, any::<bool>(), -20i64..40)),
    )
}

fn deal_strategy() -> impl Strategy<Value = Deal> {
    (
        (0usize..LAYOUTS.len(), 0usize..3),
        0i64..181,
        prop::option::weighted(0.2, 1i64..50),
        prop_oneof![1 => Just(0i64), 19 => 100i64..1_000_000],
        prop::option::weighted(0.3, (0i64..120, prop::option::weighted(0.6, 1i64..100))),
        prop::collection::vec(payment_strategy(), 0..5),
        prop::collection::vec(decision_strategy(), 0..3),
    )
        .prop_map(
            |((layout, first), offset, late, cents, reversal, payments, decisions)| {
                let rows: Vec<Row> = LAYOUTS[layout]
                    .iter()
                    .enumerate()
                    .map(|(i, (share, overlay))| Row {
                        partner: (first + i) % 3,
                        share,
                        overlay: *overlay,
                    })
                    .collect();
                let closed = shifted(first_day(), offset);
                let appears = month_of(closed + Days::new(late.unwrap_or(0).unsigned_abs()));
                let reversed = reversal.map(|(days, percent)| {
                    let part = percent
                        .map(|p| (cents * p / 100).max(1))
                        .filter(|x| *x < cents);
                    (shifted(closed, days), part)
                });
                let payments = payments
                    .into_iter()
                    .map(|raw| payment(raw, &rows, closed, appears, cents))
                    .collect();
                let decisions = decisions
                    .into_iter()
                    .map(|raw| decision(raw, &rows, closed, appears))
                    .collect();
                Deal {
                    rows,
                    closed,
                    appears,
                    cents,
                    reversed,
                    payments,
                    decisions,
                }
            },
        )
}

fn payment(
    raw: RawPayment,
    rows: &[Row],
    closed: NaiveDate,
    appears: usize,
    cents: i64,
) -> Payment {
    let (kind, percent, days, row, late, redate) = raw;
    let amount = match kind {
        0..6 => (cents * percent / 100).max(1),
        6..8 => -(cents * percent / 200).max(1),
        _ => cents + cents * percent / 100 + 1,
    };
    let paid_on = shifted(closed, days);
    let appears = appears.max(month_of(
        paid_on + Days::new(late.unwrap_or(0).unsigned_abs()),
    ));
    Payment {
        cents: amount,
        paid_on,
        row: row.filter(|r| *r < rows.len()),
        appears,
        redated: redate.map(|(after, days)| (appears + after, shifted(paid_on, days))),
    }
}

fn decision(raw: RawDecision, rows: &[Row], closed: NaiveDate, appears: usize) -> Decision {
    let (row, names_rule, approved, days, months_late, change) = raw;
    let decided_on = shifted(closed, days);
    let appears = appears.max(month_of(decided_on) + months_late);
    Decision {
        row: row % rows.len(),
        names_rule,
        approved,
        decided_on,
        appears,
        changed: change
            .map(|(after, approved, days)| (appears + after, approved, shifted(decided_on, days))),
    }
}

/// The end of a row's `for_months` window (SPEC §9.2): the same day N months later, or that
/// month's last day.
fn window_end(closed: NaiveDate) -> NaiveDate {
    closed
        .checked_add_months(Months::new(WINDOW_MONTHS))
        .unwrap()
}

/// Makes the exports well formed and, for property 4, "on time" (module doc).
fn restricted(mut deals: Vec<Deal>, on_time: bool) -> Vec<Deal> {
    for deal in &mut deals {
        // A (deal, partner, rule) decision is unique: one per row and rule_id.
        let mut seen = BTreeSet::new();
        deal.decisions
            .retain(|d| seen.insert((d.row, d.names_rule)));
        let end = window_end(deal.closed);
        for p in &mut deal.payments {
            // Re-dating a paid payment keeps the `paid_on` its line names (§9.1): one re-dated across
            // the `for_months` window's end would be taken where the last export no longer shows it,
            // and property 3 computes the covered total from the last export.
            if let Some((_, date)) = p.redated
                && (date < end) != (p.paid_on < end)
            {
                p.redated = None;
            }
            if on_time {
                p.redated = None;
                p.appears = deal.appears.max(month_of(p.paid_on));
            }
        }
        if on_time && let Some((_, part)) = &mut deal.reversed {
            *part = None;
        }
        if on_time && deal.cents == 0 {
            deal.appears = month_of(deal.closed);
        }
    }
    deals
}

fn write_exports(dir: &Path, deals: &[Deal]) {
    for m in 0..MONTHS.len() {
        let mut rows = String::from(
            "deal_id,partner_id,closed_on,amount,share,credit,status,reversed_on,reversed_amount\n",
        );
        let mut payments = String::from("payment_id,deal_id,partner_id,paid_on,amount\n");
        let mut approvals = String::from("deal_id,partner_id,rule_id,decision,decided_on,reason\n");
        for (i, d) in deals.iter().enumerate().filter(|(_, d)| d.appears <= m) {
            let (status, on, part) = match d.reversed {
                Some((on, part)) if on <= month_end(m) => (
                    "refunded",
                    on.to_string(),
                    part.map(money).unwrap_or_default(),
                ),
                _ => ("won", String::new(), String::new()),
            };
            for row in &d.rows {
                let credit = if row.overlay { "overlay" } else { "split" };
                rows.push_str(&format!(
                    "D{i},P{},{},{},{},{credit},{status},{on},{part}\n",
                    row.partner,
                    d.closed,
                    money(d.cents),
                    row.share
                ));
            }
            for (j, p) in d
                .payments
                .iter()
                .enumerate()
                .filter(|(_, p)| p.appears <= m)
            {
                let partner = p.row.map(|r| format!("P{}", d.rows[r].partner));
                payments.push_str(&format!(
                    "PAY-{i}-{j},D{i},{},{},{}\n",
                    partner.unwrap_or_default(),
                    p.paid_on_in(m),
                    money(p.cents)
                ));
            }
            for a in d.decisions.iter().filter(|a| a.appears <= m) {
                let (approved, decided_on) = match a.changed {
                    Some((from, approved, on)) if m >= from => (approved, on),
                    _ => (a.approved, a.decided_on),
                };
                approvals.push_str(&format!(
                    "D{i},P{},{},{},{decided_on},\n",
                    d.rows[a.row].partner,
                    if a.names_rule { "manual" } else { "" },
                    if approved { "approved" } else { "declined" },
                ));
            }
        }
        std::fs::write(dir.join(format!("deals-{m}.csv")), rows).unwrap();
        std::fs::write(dir.join(format!("payments-{m}.csv")), payments).unwrap();
        std::fs::write(dir.join(format!("approvals-{m}.csv")), approvals).unwrap();
    }
}

fn program(hold_days: Option<u64>, clawback_days: i64) -> String {
    let mut text = format!(
        "[program]\nid = \"section9-prop\"\nname = \"Section 9 property\"\ncurrency = \"USD\"\nclawback_days = {clawback_days}\n\n"
    );
    if let Some(days) = hold_days {
        text.push_str(&format!("[payout]\nhold_days = {days}\n"));
    }
    text + RULES
}

/// Runs `period` over the exports `export` (deals-N.csv, payments-N.csv, approvals-N.csv).
fn run_period(
    dir: &Path,
    out: &str,
    period: &str,
    export: usize,
    ledger: Option<PathBuf>,
) -> PathBuf {
    let out = dir.join(out);
    let paths = DataPaths {
        partners: dir.join("partners.csv"),
        deals: dir.join(format!("deals-{export}.csv")),
        payments: Some(dir.join(format!("payments-{export}.csv"))),
        approvals: Some(dir.join(format!("approvals-{export}.csv"))),
        ledger,
        ..DataPaths::default()
    };
    if let Err(e) = run(
        &dir.join("program.toml"),
        &Period::parse(period).unwrap(),
        &paths,
        &out,
        false,
        &payline::output::OldBatch::RemoveNow,
        &mut |_| {},
    ) {
        panic!("{period} (export {export}) was refused: {e}");
    }
    out
}

/// Property 1 on one batch: balances.csv, payouts.csv and journal.csv are the sums of its lines.
fn check_money(out: &Path) -> Result<(), TestCaseError> {
    let (sums, balances) = (ledger_sums(out), balances(out));
    prop_assert_eq!(
        &sums,
        &balances,
        "{}: balances.csv is not the sums of ledger.csv per (partner, account)",
        out.display()
    );
    // Per partner: [earned, clawed_back, paid] from the period's lines.
    let mut moved: BTreeMap<String, [Decimal; 3]> = BTreeMap::new();
    for r in rows(&out.join("lines.csv")) {
        let sums = moved.entry(r["partner_id"].clone()).or_default();
        let amount = dec(&r["amount"]);
        match (r["account"].as_str(), r["kind"].as_str()) {
            ("payout", "clawback") => sums[1] += amount,
            ("payout", "payout") => sums[2] -= amount,
            ("payout", _) => sums[0] += amount,
            _ => {}
        }
    }
    let payouts = rows(&out.join("payouts.csv"));
    let listed: BTreeSet<&String> = payouts.iter().map(|p| &p["partner_id"]).collect();
    for partner in moved.keys() {
        prop_assert!(
            listed.contains(partner),
            "{}: partner {partner} has lines but no payouts.csv row",
            out.display()
        );
    }
    for p in &payouts {
        let partner = &p["partner_id"];
        let [earned, clawed_back, paid] = moved.get(partner).copied().unwrap_or_default();
        let balance = |account: &str| {
            balances
                .get(&(partner.clone(), account.to_string()))
                .copied()
                .unwrap_or_default()
        };
        let columns = [
            ("earned", dec(&p["earned"]), earned),
            ("clawed_back", dec(&p["clawed_back"]), clawed_back),
            ("paid", dec(&p["paid"]), paid),
            ("carried_out", dec(&p["carried_out"]), balance("payout")),
            ("pending", dec(&p["pending"]), balance("pending")),
            (
                "balance",
                dec(&p["balance"]),
                dec(&p["carried_in"]) + earned + clawed_back,
            ),
            (
                "balance − paid",
                dec(&p["balance"]) - dec(&p["paid"]),
                dec(&p["carried_out"]),
            ),
        ];
        for (column, written, expected) in columns {
            prop_assert_eq!(
                written,
                expected,
                "{}: payouts.csv {} of {} is not the sum of the period's lines",
                out.display(),
                column,
                partner
            );
        }
    }
    check_journal(out)
}

/// Property 2 over a chain's last ledger: nothing is paid twice.
fn check_paid_once(out: &Path) -> Result<(), TestCaseError> {
    let ledger = rows(&out.join("ledger.csv"));
    let mut payment_lines: BTreeMap<(&str, &str, &str), usize> = BTreeMap::new();
    let mut earned: BTreeMap<(&str, &str, &str), usize> = BTreeMap::new();
    let mut put_on_payout: BTreeMap<(&str, &str, &str), usize> = BTreeMap::new();
    for r in &ledger {
        let (partner, rule, kind, id) = (
            r["partner_id"].as_str(),
            r["rule_id"].as_str(),
            r["kind"].as_str(),
            r["source_id"].as_str(),
        );
        let rule_kind = if rule == "full-flat" {
            "flat"
        } else {
            "percent"
        };
        if r["source"] == "payment" && (kind == rule_kind || kind == "clawback") {
            *payment_lines.entry((partner, rule, id)).or_default() += 1;
        }
        if r["source"] != "deal" {
            continue;
        }
        // The group is one rule for pay-once (SPEC §9.5).
        let payer = if GROUP_RULES.contains(&rule) {
            "group tier"
        } else {
            rule
        };
        if kind == rule_kind {
            *earned.entry((partner, payer, id)).or_default() += 1;
        }
        if r["account"] == "payout" && (kind == rule_kind || kind == "release") {
            *put_on_payout.entry((partner, payer, id)).or_default() += 1;
        }
    }
    for (what, counts) in [
        (
            "payment lines of (partner, rule, payment_id)",
            &payment_lines,
        ),
        ("earned lines of (partner, rule, deal)", &earned),
        (
            "amounts put on payout (earned or released) for (partner, rule, deal)",
            &put_on_payout,
        ),
    ] {
        for (key, n) in counts {
            prop_assert!(*n <= 1, "{}: {n} {what} {key:?}", out.display());
        }
    }
    let mut recorded = BTreeSet::new();
    if out.join("paid_payments.csv").exists() {
        for r in rows(&out.join("paid_payments.csv")) {
            let key = (
                r["partner_id"].clone(),
                r["rule_id"].clone(),
                r["payment_id"].clone(),
            );
            prop_assert!(
                recorded.insert(key.clone()),
                "{}: paid_payments.csv records {key:?} twice",
                out.display()
            );
        }
    }
    Ok(())
}

/// Property 3 over a chain's last ledger: per (partner, cash rule, deal row), its payment lines
/// stand for no more than the row's covered total in the last export's payments, and never for less
/// than nothing.
fn check_covered(out: &Path, deals: &[Deal], export: usize) -> Result<(), TestCaseError> {
    // payment_id → (deal index, partner restriction).
    let mut lines: BTreeMap<(String, &str, usize), (Decimal, i64)> = BTreeMap::new();
    for r in rows(&out.join("ledger.csv")) {
        let Some((rule, _)) = CASH_RULES.iter().find(|(id, _)| r["rule_id"] == *id) else {
            continue;
        };
        if r["source"] != "payment" || r["kind"] == "release" {
            continue;
        }
        let deal: usize = r["source_id"]
            .trim_start_matches("PAY-")
            .split('-')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let sum = lines
            .entry((r["partner_id"].clone(), rule, deal))
            .or_default();
        sum.0 += dec(&r["amount"]);
        sum.1 += 1;
    }
    for (i, d) in deals
        .iter()
        .enumerate()
        .filter(|(_, d)| d.appears <= export)
    {
        for row in &d.rows {
            let partner = format!("P{}", row.partner);
            for (rule, rate) in CASH_RULES {
                let windowed = rule == "window";
                let taken: i64 = d
                    .payments
                    .iter()
                    .filter(|p| p.appears <= export)
                    .filter(|p| p.row.is_none_or(|r| d.rows[r].partner == row.partner))
                    .filter(|p| {
                        !windowed || p.cents < 0 || p.paid_on_in(export) < window_end(d.closed)
                    })
                    .map(|p| p.cents)
                    .sum();
                let covered = if windowed {
                    taken.max(0)
                } else {
                    taken.clamp(0, d.cents)
                };
                let credited = (Decimal::new(covered, 2) * dec(row.share)).round_dp(2);
                let bound = dec(rate) * credited;
                let (paid, n) = lines
                    .get(&(partner.clone(), rule, i))
                    .copied()
                    .unwrap_or_default();
                let slack = Decimal::new(n, 2);
                prop_assert!(
                    paid <= bound + slack && paid >= -slack,
                    "{}: rule {rule} paid {paid} in {n} payment lines for deal D{i} of {partner} \
                     (amount {}, share {}), but {rate} × round(covered {} × share) = {bound}",
                    out.display(),
                    money(d.cents),
                    row.share,
                    money(covered)
                );
            }
        }
    }
    Ok(())
}

/// Per (partner, rule, account), the sum of the `rules`' lines in `file` of `periods`.
fn paid_by_rule(
    file: &Path,
    periods: &[&str],
    rules: &[&str],
) -> BTreeMap<(String, String, String), Decimal> {
    let mut sums = BTreeMap::new();
    for r in rows(file) {
        if periods.contains(&r["period"].as_str()) && rules.contains(&r["rule_id"].as_str()) {
            *sums
                .entry((
                    r["partner_id"].clone(),
                    r["rule_id"].clone(),
                    r["account"].clone(),
                ))
                .or_insert(Decimal::ZERO) += dec(&r["amount"]);
        }
    }
    sums.retain(|_, v| !v.is_zero());
    sums
}

/// One generated case: the deals with their payments and decisions, and the program's switches.
#[derive(Debug, Clone)]
struct Chain {
    deals: Vec<Deal>,
    hold_days: Option<u64>,
    long_clawback: bool,
    /// Property 4's cases (module doc): no payment late or re-dated, no partial reversal.
    on_time: bool,
}

fn chain_strategy() -> impl Strategy<Value = Chain> {
    (
        prop::collection::vec(deal_strategy(), 1..14),
        prop::option::weighted(0.5, 1u64..46),
        any::<bool>(),
        prop::bool::weighted(0.4),
    )
        .prop_map(|(deals, hold_days, long_clawback, on_time)| Chain {
            deals: restricted(deals, on_time),
            hold_days,
            long_clawback,
            on_time,
        })
}

fn check_chain(chain: &Chain) -> Result<(), TestCaseError> {
    let tmp = scratch_dir();
    let dir = tmp.path();
    let clawback_days = if chain.long_clawback {
        LONG_CLAWBACK_DAYS
    } else {
        30
    };
    std::fs::write(
        dir.join("program.toml"),
        program(chain.hold_days, clawback_days),
    )
    .unwrap();
    std::fs::write(
        dir.join("partners.csv"),
        "partner_id,name,type\nP0,Partner 0,reseller\nP1,Partner 1,reseller\nP2,Partner 2,distributor\n",
    )
    .unwrap();
    write_exports(dir, &chain.deals);

    let mut previous = None;
    for (m, month) in MONTHS.iter().enumerate() {
        let out = run_period(dir, &format!("m-{month}"), month, m, previous);
        check_money(&out)?;
        previous = Some(out);
    }
    let monthly = previous.unwrap();
    let mut previous = None;
    let mut quarterly = Vec::new();
    for (quarter, export, _) in QUARTERS {
        let out = run_period(dir, &format!("q-{quarter}"), quarter, export, previous);
        check_money(&out)?;
        quarterly.push(out.clone());
        previous = Some(out);
    }
    let last = MONTHS.len() - 1;
    for out in [&monthly, &quarterly[1]] {
        check_paid_once(out)?;
        check_covered(out, &chain.deals, last)?;
    }
    if chain.on_time {
        let mut compared: Vec<&str> = CASH_RULES.iter().map(|(id, _)| *id).collect();
        if chain.long_clawback {
            compared.extend(FULL_PAYMENT_RULES);
        }
        for ((quarter, _, months), once) in QUARTERS.iter().zip(&quarterly) {
            let by_months = paid_by_rule(&monthly.join("ledger.csv"), months, &compared);
            let by_quarter = paid_by_rule(&once.join("lines.csv"), &[quarter], &compared);
            prop_assert_eq!(
                &by_months,
                &by_quarter,
                "{}: the months paid the payment-based rules (partner, rule, account) otherwise than the quarter",
                quarter
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::property_cases(64), .. ProptestConfig::default() })]

    #[test]
    fn section9_chains_conserve_money_pay_once_and_agree_by_quarter(chain in chain_strategy()) {
        check_chain(&chain)?;
    }
}
