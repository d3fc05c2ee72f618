//! Units (SPEC §8.4) as properties and as a user checks them: marginal units tiers pay what the
//! band-by-band formula gives; a deals.csv without a `quantity` column is the same as one whose every
//! quantity is 1 (or empty); a bad quantity cell refuses the run naming file, line, column and value;
//! the sample per-seat program runs over its fixture.

mod common;

use chrono::NaiveDate;
use common::{Workdir, repo};
use payline::engine::{self, Inputs};
use payline::input::{
    Deal, DealData, DealSource, DealStatus, FxTable, LedgerData, Partner, PartnerSet, PartnerStatus,
};
use payline::period::Period;
use payline::program;
use payline::run::DataPaths;
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::path::Path;

fn partner(i: usize) -> Partner {
    Partner {
        id: format!("P{i}"),
        name: format!("Partner {i}"),
        partner_type: "reseller".into(),
        region: None,
        level: None,
        quota: None,
        currency: "USD".into(),
        status: PartnerStatus::Active,
        kyc_verified: true,
        joined_on: None,
    }
}

/// One partner's rows, from (day, quantity, share in quarters 1..=4, cents), in loader order.
fn rows(raw: &[(u32, u64, i64, i64)]) -> Vec<Deal> {
    let mut rows: Vec<Deal> = raw
        .iter()
        .enumerate()
        .map(|(i, &(day, quantity, quarters, cents))| {
            let amount = Decimal::new(cents, 2);
            let share = Decimal::new(quarters * 25, 2);
            Deal {
                deal_id: format!("D{i:03}").into(),
                partner: 0,
                closed_on: NaiveDate::from_ymd_opt(2026, 10, day).unwrap(),
                amount,
                currency: "USD".into(),
                share,
                quantity,
                credited: (amount * share).round_dp(2),
                product: None,
                customer_type: None,
                deal_name: None,
                source: DealSource::Sourced,
                status: DealStatus::Won,
                reversed_on: None,
                reversed_amount: None,
                credit: payline::input::Credit::Split,
            }
        })
        .collect();
    rows.sort_by(|a, b| (a.closed_on, &a.deal_id).cmp(&(b.closed_on, &b.deal_id)));
    rows
}

/// What amount-per-unit tiers pay for `total` units, band by band: each band's amount × the units
/// of [0, total) inside it.
fn band_by_band(bounds: &[(Decimal, Decimal)], total: Decimal) -> Decimal {
    let mut pay = Decimal::ZERO;
    for (k, &(from, amount)) in bounds.iter().enumerate() {
        let top = bounds
            .get(k + 1)
            .map_or(total, |&(next, _)| next.min(total));
        if top > from {
            pay += amount * (top - from);
        }
    }
    pay
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Marginal units tiers: every deal's line is its units' share of the bands, so the lines add up
    /// to the band-by-band formula over the period's units, within half a cent per line of rounding
    /// (exactly, when every line is a whole number of cents before rounding).
    #[test]
    fn units_marginal_lines_sum_to_the_band_by_band_formula(
        raw in prop::collection::vec((1u32..=31, 1u64..200, 1i64..=4, 0i64..1_000_000), 0..30),
        steps in prop::collection::vec((1i64..300, 0i64..2_000), 1..4),
        base in 0i64..2_000,
    ) {
        let mut bounds = vec![(Decimal::ZERO, Decimal::new(base, 2))];
        let (mut from, mut amount) = (0i64, base);
        for (gap, rise) in steps {
            from += gap;
            amount += rise;
            bounds.push((Decimal::from(from), Decimal::new(amount, 2)));
        }
        let tiers: Vec<String> = bounds
            .iter()
            .map(|(f, a)| format!(r#"{{ from = "{f}", amount = "{a}" }}"#))
            .collect();
        let text = format!(
            "[program]\nid = \"p\"\nname = \"P\"\ncurrency = \"USD\"\n[[rules]]\nid = \"t\"\nkind = \"tiered\"\nmeasure = \"units\"\nmode = \"marginal\"\ntiers = [{}]\n",
            tiers.join(", ")
        );
        let (program, diags) = program::parse("units.toml", &text);
        let program = program.unwrap_or_else(|| panic!("{diags:?}"));
        let partners = PartnerSet::new(vec![partner(0)]);
        let deals = DealData { current: rows(&raw), ..DealData::default() };
        let fx = FxTable::none("USD");
        let ledger = LedgerData::default();
        let inputs = Inputs {
            partners: &partners,
            deals: &deals,
            activities: &[],
            claims: &[],
            adjustments: &[],
            fx: &fx,
            ledger: &ledger,
            payments: &[],
            payments_file: None,
            approvals_file: None,
            approvals: &[],
        };
        let outcome = engine::evaluate(&program, &Period::parse("2026-10").unwrap(), &inputs).unwrap();
        let lines: Vec<_> = outcome.lines.iter().filter(|l| &*l.rule_id == "t").collect();
        let paid: Decimal = lines.iter().map(|l| l.amount).sum();
        let units: Decimal = deals.current.iter().map(|d| Decimal::from(d.quantity) * d.share).sum();
        let formula = band_by_band(&bounds, units);
        let slack = Decimal::new(5, 3) * Decimal::from(deals.current.len());
        prop_assert!((paid - formula).abs() <= slack, "paid {paid}, formula {formula}");
        if deals.current.iter().all(|d| d.share == Decimal::ONE) {
            prop_assert_eq!(paid, formula);
        }
        for l in &lines {
            prop_assert_eq!(l.amount, l.amount.round_dp(2));
        }
    }
}

/// Every kind that reads units, levels by units and nudges: any difference in quantities shows.
const EVERY_UNITS_RULE: &str = r#"[program]
id = "units-everywhere"
name = "Units everywhere"
currency = "USD"

[levels]
measure = "units"
window_months = 3
tiers = [{ id = "bronze", from = "0" }, { id = "silver", from = "4" }]

[nudges]
within = "0.5"

[[rules]]
id = "seat-fee"
kind = "flat"
amount = "5.00"
per = "unit"

[[rules]]
id = "seat-spif"
kind = "spif"
start = 2026-10-01
end = 2026-10-15
amount = "1.25"
per = "unit"

[[rules]]
id = "seat-tiers"
kind = "tiered"
measure = "units"
mode = "marginal"
tiers = [{ from = "0", amount = "1.00" }, { from = "3", amount = "2.50" }]

[[rules]]
id = "seat-rebate"
kind = "rebate"
measure = "units"
tiers = [{ from = "0", amount = "0" }, { from = "2", amount = "0.75" }]

[[rules]]
id = "seat-goal"
kind = "goal"
measure = "units"
target = { bronze = 2, silver = 5 }
amount = "100.00"
"#;

/// The output files compared between two runs (manifest.json differs by the inputs' hashes, and so
/// does statements.json, which names the batch's manifest).
fn outputs(dir: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for name in [
        "payouts.csv",
        "lines.csv",
        "ledger.csv",
        "balances.csv",
        "nudges.csv",
    ] {
        files.push((
            name.to_string(),
            std::fs::read_to_string(dir.join(name)).unwrap(),
        ));
    }
    let mut statements: Vec<_> = std::fs::read_dir(dir.join("statements"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.ends_with(payline::render::STATEMENTS_MANIFEST))
        .collect();
    statements.sort();
    for path in statements {
        let text = std::fs::read_to_string(&path).unwrap();
        files.push((
            path.file_name().unwrap().to_string_lossy().into_owned(),
            text,
        ));
    }
    files
}

fn run_dir(work: &Workdir, deals: &str, out: &str) -> std::path::PathBuf {
    let paths = DataPaths {
        partners: work.path("partners.csv"),
        deals: work.path(deals),
        activities: None,
        claims: None,
        fx: None,
        adjustments: None,
        ledger: None,
        allow_program_change: false,
        columns: None,
        delimiter: None,
        ..DataPaths::default()
    };
    let out = work.path(out);
    payline::run::run_with_statements(
        &work.path("program.toml"),
        &Period::parse("2026-10").unwrap(),
        &paths,
        &out,
        false,
        true,
        &payline::output::OldBatch::RemoveNow,
        &mut |_| {},
    )
    .unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// A deals.csv without `quantity` is read as every quantity 1: the same file with a `quantity`
    /// column of 1s and empty cells (an empty cell is 1) writes byte-identical outputs.
    #[test]
    fn no_quantity_column_is_every_quantity_one(
        raw in prop::collection::vec((0usize..3, 1u32..=31, 8u32..=10, 1i64..=4, 0i64..500_000, any::<bool>()), 1..25),
    ) {
        let work = Workdir::new();
        work.write("program.toml", EVERY_UNITS_RULE);
        work.write("partners.csv", "partner_id,name,type\nP0,Zero,reseller\nP1,One,reseller\nP2,Two,reseller\n");
        let mut without = String::from("deal_id,partner_id,closed_on,amount,share\n");
        let mut with = String::from("deal_id,partner_id,quantity,closed_on,amount,share\n");
        for (i, &(p, day, month, quarters, cents, empty)) in raw.iter().enumerate() {
            let day = day.min(30);
            let (amount, share) = (Decimal::new(cents, 2), Decimal::new(quarters * 25, 2));
            // each deal_id has one row: shares never add up past 1
            without.push_str(&format!("D{i},P{p},2026-{month:02}-{day:02},{amount},{share}\n"));
            let quantity = if empty { "" } else { "1" };
            with.push_str(&format!("D{i},P{p},{quantity},2026-{month:02}-{day:02},{amount},{share}\n"));
        }
        work.write("without.csv", &without);
        work.write("with.csv", &with);
        let a = run_dir(&work, "without.csv", "out-without");
        let b = run_dir(&work, "with.csv", "out-with");
        prop_assert_eq!(outputs(&a), outputs(&b));
    }
}

/// A zero, negative, fractional, padded or non-numeric quantity refuses the run, naming file, line,
/// column and value; an empty cell is 1.
#[test]
fn a_bad_quantity_cell_is_an_error_naming_file_line_column_and_value() {
    let whole =
        "expected a plain whole number like 3 (digits only: no sign +, no spaces, no point)";
    let cases = [
        ("0", "expected a whole number of at least 1".to_string()),
        ("-3", whole.to_string()),
        ("2.5", whole.to_string()),
        ("ten", whole.to_string()),
        ("+3", whole.to_string()),
        (
            "99999999999999999999",
            format!("the number is too large (at most {})", u64::MAX),
        ),
    ];
    for (cell, message) in cases {
        let work = Workdir::new();
        work.write("program.toml", EVERY_UNITS_RULE);
        work.write("partners.csv", "partner_id,name,type\nP0,Zero,reseller\n");
        work.write(
            "deals.csv",
            &format!(
                "deal_id,partner_id,closed_on,amount,quantity\nD1,P0,2026-10-01,10.00,\nD2,P0,2026-10-02,10.00,{cell}\n"
            ),
        );
        let out = work
            .run_over(common::CORE_FILES, "2026-10", "out")
            .assert()
            .code(1);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        let expected =
            format!("error: deals.csv:3: column `quantity`: {message} (value: `{cell}`)");
        assert!(
            stderr.starts_with(&expected),
            "{cell}: {stderr}\nexpected: {expected}"
        );
        assert!(!work.path("out").exists(), "{cell}");
    }
}

/// The sample per-seat program over its fixture, against the seats counted by hand from
/// fixtures/deals-units.csv (October 2026):
/// - P004 (var): S1001 60 seats, S1002 100 × 0.5 = 50 seats. Fee 4.00 × 110 = 440.00; accelerator
///   2.00 × 100 + 3.50 × 10 = 235.00; 675.00. Levels: S0901 200 + 110 + S1006 1 = 311 → silver.
/// - P006 (distributor): 150 + 30 = 180 seats ≥ 50: rebate 1.00 × 180 = 180.00; nudge: 20 seats to
///   200, where every seat earns 1.50: 300.00 − 180.00 = 120.00. Levels: 300 + 180 = 480 → silver.
/// - P010 (reseller): 50 + 10 seats (S1007 was refunded in October): fee 240.00, accelerator
///   2.00 × 60 = 120.00; 360.00. Level bronze.
#[test]
fn the_per_seat_sample_runs_over_its_fixture() {
    let work = Workdir::new();
    let out = work.path("out");
    let mut cmd = work.payline();
    cmd.arg("run")
        .arg("--program")
        .arg(repo("programs/per-seat-rebate.toml"))
        .arg("--partners")
        .arg(repo("fixtures/partners.csv"))
        .arg("--deals")
        .arg(repo("fixtures/deals-units.csv"))
        .args(["--period", "2026-10", "--out"])
        .arg(&out);
    cmd.assert().success();
    let payouts = std::fs::read_to_string(out.join("payouts.csv")).unwrap();
    let earned: Vec<(String, String, String)> = payouts
        .lines()
        .skip(1)
        .map(|row| {
            let cells: Vec<&str> = row.split(',').collect();
            (cells[1].into(), cells[4].into(), cells[6].into())
        })
        .collect();
    let expected = [
        ("P004", "silver", "675.00"),
        ("P006", "silver", "180.00"),
        ("P010", "bronze", "360.00"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(p, l, e)| (p.to_string(), l.to_string(), e.to_string()))
        .collect();
    assert_eq!(earned, expected);
    let lines = std::fs::read_to_string(out.join("lines.csv")).unwrap();
    assert!(lines.contains(
        "2026-10,P006,payout,seat-rebate,rebate,period,2026-10,180,1,180.00,180 units over 2 qualifying deals reach 50: 1.00 per unit × 180 units\n"
    ));
    assert!(lines.contains(
        "2026-10,P004,payout,seat-accelerator,tiered,deal,S1002,50,,115.00,tier 1 (2.00 per unit) on 40 + tier 2 (3.50 per unit) on 10 of 50 units (quantity 100 × share 0.5); cumulative 60 → 110 units\n"
    ));
    let nudges = std::fs::read_to_string(out.join("nudges.csv")).unwrap();
    assert_eq!(
        nudges,
        "partner_id,rule_id,current,next_threshold,gap,gain\nP006,seat-rebate,180,200,20,120.00\n"
    );
}

/// The parallel deal stream keeps the quantities and sums the window units exactly as one pass does,
/// whatever the block size and thread count.
#[test]
fn quantities_and_window_units_read_the_same_in_blocks_on_two_threads() {
    use payline::input::deals::{DealPlan, LoadOptions, load_deals_with};
    use payline::input::load_partners;
    use payline::money::Rounding;
    use std::fmt::Write as _;
    let work = Workdir::new();
    let mut partners = String::from("partner_id,name,type\n");
    for p in 0..20 {
        writeln!(partners, "P{p:02},Partner {p},reseller").unwrap();
    }
    work.write("partners.csv", &partners);
    let mut deals = String::from("deal_id,partner_id,closed_on,amount,share,quantity\n");
    for i in 0..20_000usize {
        let (month, day, p) = (7 + (i / 3) % 4, 1 + i % 28, i % 20);
        // every 5th row half of a split deal, every 7th without a quantity
        let share = if i % 5 == 0 { "0.5" } else { "" };
        let quantity = if i % 7 == 0 {
            String::new()
        } else {
            (1 + i % 250).to_string()
        };
        writeln!(
            deals,
            "D{i:06},P{p:02},2026-{month:02}-{day:02},{}.{:02},{share},{quantity}",
            10 + i % 900,
            i % 100
        )
        .unwrap();
    }
    work.write("deals.csv", &deals);
    let (partners, _) = load_partners(&work.path("partners.csv"), "USD").unwrap();
    let plan = DealPlan {
        period: Period::parse("2026-10").unwrap(),
        previous_period: false,
        window_months: vec![3],
        prior_filters: Vec::new(),
        prior_firsts: Vec::new(),
        span_from: None,
        held_from: None,
        currency: "USD".into(),
        rounding: Rounding::HalfUp,
        minor_units: 2,
        named: None,
    };
    let load = |options: &LoadOptions| {
        let (data, _) = load_deals_with(
            &work.path("deals.csv"),
            &plan,
            &partners,
            &FxTable::none("USD"),
            &mut |_| {},
            options,
        )
        .unwrap();
        format!("{:?}\n{:?}", data.current, data.windows)
    };
    let one_pass = LoadOptions {
        block_bytes: 1 << 30,
        workers: 1,
        ..LoadOptions::default()
    };
    let reference = load(&one_pass);
    assert!(reference.contains("quantity: 250"));
    for workers in [1, 2] {
        let blocks = LoadOptions {
            block_bytes: 16 << 10,
            workers,
            ..LoadOptions::default()
        };
        assert_eq!(load(&blocks), reference, "{workers} workers");
    }
    // P00's window units, by hand: its rows are i = 0, 20, 40, … closed in month 7 + (i / 3) % 4;
    // the 3-month window is 2026-08-01 to 2026-10-31, so the rows of months 8 to 10 count.
    let (data, _) = load_deals_with(
        &work.path("deals.csv"),
        &plan,
        &partners,
        &FxTable::none("USD"),
        &mut |_| {},
        &one_pass,
    )
    .unwrap();
    let mut expected = Decimal::ZERO;
    for i in (0..20_000usize).step_by(20) {
        if 7 + (i / 3) % 4 >= 8 {
            let quantity = if i % 7 == 0 { 1 } else { 1 + i % 250 };
            let share = if i % 5 == 0 {
                Decimal::new(5, 1)
            } else {
                Decimal::ONE
            };
            expected += Decimal::from(quantity) * share;
        }
    }
    assert_eq!(data.window_units(3, 0), expected);
}
