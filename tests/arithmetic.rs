//! SPEC §7 "Arithmetic never wraps or panics": every overflow, in money or in counts, is an error
//! (exit 1, not a panic's 101) naming the partner and the rule, and nothing is written; every amount
//! written stays below 10^20 so next month can read it back. Each test runs the built binary on a
//! small case that used to wrap, panic or write an unreadable ledger.

mod common;

use common::{CORE_FILES, Workdir};

use rust_decimal::Decimal;

const HEADER: &str = r#"[program]
id = "arith"
name = "Arithmetic limits"
currency = "USD"
"#;

const ONE_PARTNER: &str = "partner_id,name,type\nP001,One,reseller\n";

/// A working directory holding one case's inputs.
struct Case {
    work: Workdir,
    extra: Vec<String>,
}

impl std::ops::Deref for Case {
    type Target = Workdir;
    fn deref(&self) -> &Workdir {
        &self.work
    }
}

impl Case {
    /// `rules` is appended to the `[program]` header; the CSVs are written as given.
    fn new(rules: &str, partners: &str, deals: &str) -> Case {
        let case = Case {
            work: Workdir::new(),
            extra: Vec::new(),
        };
        case.write("program.toml", &format!("{HEADER}{rules}"));
        case.write("partners.csv", partners);
        case.write("deals.csv", deals);
        case
    }

    /// Adds an optional input file (`--fx fx.csv`, `--activities activities.csv`).
    fn with(mut self, flag: &str, name: &str, text: &str) -> Case {
        self.work.write(name, text);
        self.extra.push(flag.into());
        self.extra.push(name.into());
        self
    }

    fn run(&self) -> assert_cmd::assert::Assert {
        self.work
            .run_over(CORE_FILES, "2026-10", "out")
            .args(&self.extra)
            .assert()
    }

    /// Exit 1 (never 101), stderr holds every fragment and no panic, and --out was not created.
    fn fails_with(&self, fragments: &[&str]) -> String {
        let output = self.run().get_output().clone();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(1), "stderr:\n{stderr}");
        assert!(!stderr.contains("panicked"), "a panic:\n{stderr}");
        for f in fragments {
            assert!(stderr.contains(f), "stderr lacks {f:?}:\n{stderr}");
        }
        assert!(
            !self.work.path("out").exists(),
            "a failed run must not create --out"
        );
        stderr
    }

    /// Runs successfully and returns payouts.csv.
    fn payouts(&self) -> String {
        let output = self.run().get_output().clone();
        assert_eq!(
            output.status.code(),
            Some(0),
            "stderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        std::fs::read_to_string(self.work.path("out/payouts.csv")).unwrap()
    }
}

fn deals(rows: &[&str]) -> String {
    let mut text = "deal_id,partner_id,closed_on,amount,currency\n".to_string();
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text
}

#[test]
fn activity_quantities_that_overflow_are_an_error_not_a_wrap() {
    // 18446744073709551615 + 2 wrapped to 1 in a release build: 100.00 instead of an error.
    let case = Case::new(
        r#"
[[rules]]
id = "certified"
kind = "activity"
activity = "certification"
amount = "100.00"
"#,
        ONE_PARTNER,
        &deals(&[]),
    )
    .with(
        "--activities",
        "activities.csv",
        "partner_id,activity,occurred_on,quantity\n\
         P001,certification,2026-10-01,18446744073709551615\n\
         P001,certification,2026-10-02,2\n",
    );
    case.fails_with(&[
        "partner P001",
        "rule certified",
        "quantity of `certification`",
    ]);
}

#[test]
fn budget_proration_near_the_input_limit_pays_exactly_the_budget() {
    // 9e19 against 2e20 requested: the proration in minor units overflowed i128 (paid
    // 77,902,548,669,552.42 in a release build).
    let case = Case::new(
        r#"
[budget]
total = "90000000000000000000"
rules = ["resale"]

[[rules]]
id = "resale"
kind = "percent"
rate = "1"
"#,
        "partner_id,name,type\nP001,One,reseller\nP002,Two,reseller\nP003,Three,reseller\n",
        &deals(&[
            "D1,P001,2026-10-01,99999999999999999999,",
            "D2,P002,2026-10-01,50000000000000000000,",
            "D3,P003,2026-10-01,50000000000000000001,",
        ]),
    );
    let payouts = case.payouts();
    let paid: Vec<Decimal> = payouts
        .lines()
        .skip(1)
        .map(|row| row.split(',').nth(10).unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        paid,
        [
            "44999999999999999999.55",
            "22500000000000000000.00",
            "22500000000000000000.45"
        ]
        .map(|s| s.parse::<Decimal>().unwrap())
    );
    assert_eq!(
        paid.iter().sum::<Decimal>(),
        "90000000000000000000.00".parse::<Decimal>().unwrap()
    );
}

#[test]
fn a_levels_window_beyond_the_calendar_is_an_error_not_a_panic() {
    let case = Case::new(
        r#"
[levels]
measure = "revenue"
window_months = 4000000
tiers = [ { id = "bronze", from = "0" }, { id = "gold", from = "1000" } ]

[[rules]]
id = "resale"
kind = "percent"
rate = "0.10"
"#,
        ONE_PARTNER,
        &deals(&["D1,P001,2026-10-01,1000.00,"]),
    );
    case.fails_with(&["window_months"]);
}

#[test]
fn modifiers_whose_product_overflows_are_an_error_not_a_panic() {
    let modifier = "\n[[rules.modifiers]]\nwhen = { region = [\"NA\"] }\nmultiplier = \"1000\"\n";
    let case = Case::new(
        &format!(
            "\n[[rules]]\nid = \"boosted\"\nkind = \"percent\"\nrate = \"0.10\"\n{}",
            modifier.repeat(10)
        ),
        "partner_id,name,type,region\nP001,One,reseller,NA\n",
        &deals(&["D1,P001,2026-10-01,1000000,"]),
    );
    case.fails_with(&["partner P001", "rule boosted", "deal D1", "modifiers"]);
}

#[test]
fn a_payout_fx_rate_that_overflows_the_conversion_is_an_error_not_a_panic() {
    let case = Case::new(
        "\n[[rules]]\nid = \"resale\"\nkind = \"percent\"\nrate = \"0.10\"\n",
        "partner_id,name,type,currency\nP001,One,reseller,EUR\n",
        &deals(&["D1,P001,2026-10-01,1000000,"]),
    )
    .with(
        "--fx",
        "fx.csv",
        "date,currency,rate\n2026-01-01,EUR,0.0000000000000000000000000001\n",
    );
    case.fails_with(&["partner P001", "EUR", "fx rate"]);
}

#[test]
fn a_credited_amount_that_overflows_is_an_error_not_a_panic() {
    // amount 9.99e19 EUR × fx 9.99e19: the credited amount overflowed Decimal.
    let case = Case::new(
        "\n[[rules]]\nid = \"resale\"\nkind = \"percent\"\nrate = \"0.10\"\n",
        ONE_PARTNER,
        &deals(&["D1,P001,2026-10-01,99900000000000000000,EUR"]),
    )
    .with(
        "--fx",
        "fx.csv",
        "date,currency,rate\n2026-01-01,EUR,99900000000000000000\n",
    );
    case.fails_with(&["deals.csv:2", "partner P001", "deal D1", "credited amount"]);
}

#[test]
fn a_credited_amount_of_10_to_the_20_is_an_error_even_without_overflow() {
    // 6e19 EUR at 2 USD would be credited 1.2e20: it fits Decimal, but no output may hold it.
    let case = Case::new(
        "\n[[rules]]\nid = \"resale\"\nkind = \"percent\"\nrate = \"0.10\"\n",
        ONE_PARTNER,
        &deals(&["D1,P001,2026-10-01,60000000000000000000,EUR"]),
    )
    .with("--fx", "fx.csv", "date,currency,rate\n2026-01-01,EUR,2\n");
    case.fails_with(&["partner P001", "deal D1", "10^20"]);
}

fn attainment_case(mode: &str) -> Case {
    Case::new(
        &format!(
            r#"
[nudges]
within = "0.20"

[[rules]]
id = "quota-tiers"
kind = "tiered"
measure = "attainment"
mode = "{mode}"
tiers = [ {{ from = "0", rate = "0.05" }}, {{ from = "99900000000000000000", rate = "0.10" }} ]
"#
        ),
        "partner_id,name,type,quota\nP001,One,reseller,99900000000000000000\n",
        &deals(&["D1,P001,2026-10-01,1000.00,"]),
    )
}

#[test]
fn an_attainment_tier_boundary_times_quota_that_overflows_is_an_error_not_a_panic() {
    for mode in ["marginal", "retroactive"] {
        attainment_case(mode).fails_with(&["partner P001", "rule quota-tiers", "tier 2"]);
    }
}

#[test]
fn a_line_amount_of_10_to_the_20_or_more_is_an_error_not_an_unreadable_ledger() {
    // Rate 1000 on a 9.99e19 deal wrote a 1e23 line that next month's --ledger refused to read.
    let case = Case::new(
        "\n[[rules]]\nid = \"big-percent\"\nkind = \"percent\"\nrate = \"1000\"\n",
        ONE_PARTNER,
        &deals(&["D1,P001,2026-10-01,99900000000000000000,"]),
    );
    case.fails_with(&[
        "partner P001, rule big-percent: the line amount 99900000000000000000000.00 exceeds what payline can carry to next month (less than 10^20)",
    ]);
}

#[test]
fn an_earned_total_of_10_to_the_20_or_more_is_an_error() {
    // Two lines of 6e19 are each fine; their total is not.
    let case = Case::new(
        "\n[[rules]]\nid = \"resale\"\nkind = \"percent\"\nrate = \"1\"\n",
        ONE_PARTNER,
        &deals(&[
            "D1,P001,2026-10-01,60000000000000000000,",
            "D2,P001,2026-10-02,60000000000000000000,",
        ]),
    );
    case.fails_with(&["partner P001", "earned total 120000000000000000000.00"]);
}

#[test]
fn a_fund_accrual_of_10_to_the_20_or_more_is_an_error() {
    let case = Case::new(
        "\n[[rules]]\nid = \"coop\"\nkind = \"fund\"\naccrual_rate = \"1000\"\n",
        ONE_PARTNER,
        &deals(&["D1,P001,2026-10-01,99900000000000000000,"]),
    );
    case.fails_with(&["partner P001", "rule coop", "fund accrual"]);
}

#[test]
fn a_balance_that_converts_to_zero_yen_is_carried_below_minimum() {
    // 0.01 USD at 0.025 USD per JPY is 0.4 JPY, which rounds to 0: it used to be `paid` with 0 JPY
    // and nothing carried, so the cent vanished.
    let case = Case::new(
        "\n[[rules]]\nid = \"referral\"\nkind = \"flat\"\namount = \"0.01\"\n",
        "partner_id,name,type,currency\nP001,One,reseller,JPY\n",
        &deals(&["D1,P001,2026-10-01,10.00,"]),
    )
    .with(
        "--fx",
        "fx.csv",
        "date,currency,rate\n2026-01-01,JPY,0.025\n",
    );
    let payouts = case.payouts();
    let rows: Vec<&str> = payouts.lines().collect();
    assert_eq!(
        rows[1],
        "2026-10,P001,One,reseller,,USD,0.01,0.00,0.00,0.01,0.00,0.01,below-minimum,,JPY,0.025,0,0.00"
    );
    let balances = std::fs::read_to_string(case.path("out/balances.csv")).unwrap();
    assert!(balances.contains("P001,payout,0.01"), "{balances}");
    case.payline()
        .args(["statements", "out"])
        .assert()
        .success();
    let statement = std::fs::read_to_string(case.path("out/statements/P001.csv")).unwrap();
    assert!(statement.contains("would convert to 0 JPY"), "{statement}");
}

#[test]
fn a_balance_of_one_yen_or_more_is_still_paid() {
    // 0.02 USD is 0.8 JPY, which rounds to 1 JPY: paid as before.
    let case = Case::new(
        "\n[[rules]]\nid = \"referral\"\nkind = \"flat\"\namount = \"0.02\"\n",
        "partner_id,name,type,currency\nP001,One,reseller,JPY\n",
        &deals(&["D1,P001,2026-10-01,10.00,"]),
    )
    .with(
        "--fx",
        "fx.csv",
        "date,currency,rate\n2026-01-01,JPY,0.025\n",
    );
    let payouts = case.payouts();
    assert_eq!(
        payouts.lines().nth(1).unwrap(),
        "2026-10,P001,One,reseller,,USD,0.02,0.00,0.00,0.02,0.02,0.00,paid,2026-11-30,JPY,0.025,1,0.00"
    );
}
