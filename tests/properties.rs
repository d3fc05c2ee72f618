//! Invariants that must hold for any data, checked on generated inputs through the library engine.

use chrono::NaiveDate;
use payline::engine::{self, Inputs, LineKind, Outcome};
use payline::input::{
    Deal, DealData, DealSource, DealStatus, FxTable, LedgerData, Partner, PartnerSet, PartnerStatus,
};
use payline::period::Period;
use payline::program::{self, Program};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn program(text: &str) -> Program {
    let (p, diags) = program::parse("prop.toml", text);
    p.unwrap_or_else(|| panic!("test program must parse: {diags:?}"))
}

fn partner(i: usize, status: PartnerStatus, kyc: bool) -> Partner {
    Partner {
        id: format!("P{i:03}"),
        name: format!("Partner {i}"),
        partner_type: "reseller".into(),
        region: None,
        level: None,
        quota: None,
        currency: "USD".into(),
        status,
        kyc_verified: kyc,
        joined_on: None,
    }
}

/// Deals for `n` partners from (partner, day, cents) triples, sorted the way the loader sorts them.
fn deals(raw: &[(usize, u32, i64)], partners: usize) -> DealData {
    let mut current: Vec<Deal> = raw
        .iter()
        .enumerate()
        .map(|(i, &(p, day, cents))| {
            let amount = Decimal::new(cents, 2);
            Deal {
                deal_id: format!("D{i:04}").into(),
                partner: p % partners,
                closed_on: NaiveDate::from_ymd_opt(2026, 10, day).unwrap(),
                amount,
                currency: "USD".into(),
                share: Decimal::ONE,
                quantity: 1,
                credited: amount,
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
    current.sort_by(|a, b| {
        (a.partner, a.closed_on, &a.deal_id).cmp(&(b.partner, b.closed_on, &b.deal_id))
    });
    DealData {
        current,
        ..DealData::default()
    }
}

fn evaluate(
    program: &Program,
    partners: &PartnerSet,
    deals: &DealData,
    ledger: &LedgerData,
) -> Outcome {
    let fx = FxTable::none("USD");
    let inputs = Inputs {
        partners,
        deals,
        activities: &[],
        claims: &[],
        adjustments: &[],
        fx: &fx,
        ledger,
        payments: &[],
        payments_file: None,
        approvals_file: None,
        approvals: &[],
    };
    engine::evaluate(program, &Period::parse("2026-10").unwrap(), &inputs).unwrap()
}

fn deal_strategy() -> impl Strategy<Value = Vec<(usize, u32, i64)>> {
    prop::collection::vec((0usize..6, 1u32..=31, 0i64..5_000_000), 0..60)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every payout's earned and clawed_back are sums of its lines, and money is conserved:
    /// carried_in + earned + clawed_back = balance = paid + carried_out.
    #[test]
    fn lines_sum_to_totals_and_money_is_conserved(
        raw in deal_strategy(),
        carried in prop::collection::vec(-50_000i64..50_000, 6),
        minimum in 0i64..100_000,
        cap in 1i64..2_000_000,
        statuses in prop::collection::vec(0u8..4, 6),
    ) {
        let program = program(&format!(r#"
[program]
id = "p"
name = "P"
currency = "USD"
[payout]
minimum = "{}"
[[rules]]
id = "tiers"
kind = "tiered"
measure = "revenue"
mode = "marginal"
cap = "{}"
tiers = [{{ from = "0", rate = "0.05" }}, {{ from = "20000", rate = "0.075" }}, {{ from = "50000", rate = "0.1" }}]
[[rules]]
id = "fee"
kind = "flat"
amount = "12.345"
"#, Decimal::new(minimum, 2), Decimal::new(cap, 2)));
        let partners = PartnerSet::new((0..6).map(|i| match statuses[i] {
            0 => partner(i, PartnerStatus::Suspended, true),
            1 => partner(i, PartnerStatus::Active, false),
            _ => partner(i, PartnerStatus::Active, true),
        }).collect());
        let mut ledger = LedgerData { dir: Some("prev".into()), ..LedgerData::default() };
        for (i, c) in carried.iter().enumerate() {
            if *c != 0 {
                ledger.carried.insert(i, Decimal::new(*c, 2));
            }
        }
        let outcome = evaluate(&program, &partners, &deals(&raw, 6), &ledger);
        for p in &outcome.payouts {
            let lines: Vec<_> = outcome.lines.iter().filter(|l| l.partner == p.partner).collect();
            let earned: Decimal = lines.iter().filter(|l| l.kind != LineKind::Clawback).map(|l| l.amount).sum();
            let clawed: Decimal = lines.iter().filter(|l| l.kind == LineKind::Clawback).map(|l| l.amount).sum();
            prop_assert_eq!(p.earned, earned);
            prop_assert_eq!(p.clawed_back, clawed);
            prop_assert_eq!(p.carried_in + p.earned + p.clawed_back, p.balance);
            prop_assert_eq!(p.balance, p.paid + p.carried_out);
            prop_assert!(p.paid >= Decimal::ZERO);
            for l in &lines {
                prop_assert_eq!(l.amount, l.amount.round_dp(2), "every line is rounded to cents");
            }
            let tiered: Decimal = lines.iter().filter(|l| &*l.rule_id == "tiers").map(|l| l.amount).sum();
            prop_assert!(tiered <= Decimal::new(cap, 2), "the cap holds");
        }
        // Partners with a balance in or out are all in the batch.
        for (i, c) in carried.iter().enumerate() {
            if *c != 0 {
                prop_assert!(outcome.payouts.iter().any(|p| p.partner == i));
            }
        }
    }

    /// With ascending rates, marginal tiers never pay more than retroactive ones, per deal and in total.
    #[test]
    fn marginal_never_exceeds_retroactive(
        raw in deal_strategy(),
        steps in prop::collection::vec((1i64..5_000_000, 0i64..300), 1..5),
        base_rate in 0i64..500,
    ) {
        let mut from = 0i64;
        let mut rate = base_rate;
        let mut tiers = vec![format!(r#"{{ from = "0", rate = "{}" }}"#, Decimal::new(rate, 4))];
        for (gap, rise) in steps {
            from += gap;
            rate += rise;
            tiers.push(format!(r#"{{ from = "{}", rate = "{}" }}"#, Decimal::new(from, 2), Decimal::new(rate, 4)));
        }
        let text = |mode: &str| format!(r#"
[program]
id = "p"
name = "P"
currency = "USD"
[[rules]]
id = "t"
kind = "tiered"
measure = "revenue"
mode = "{mode}"
tiers = [{}]
"#, tiers.join(", "));
        let partners = PartnerSet::new((0..6).map(|i| partner(i, PartnerStatus::Active, true)).collect());
        let data = deals(&raw, 6);
        let ledger = LedgerData::default();
        let marginal = evaluate(&program(&text("marginal")), &partners, &data, &ledger);
        let retro = evaluate(&program(&text("retroactive")), &partners, &data, &ledger);
        for deal in &data.current {
            let amount = |o: &Outcome| o.lines.iter().filter(|l| l.source_id == deal.deal_id).map(|l| l.amount).sum::<Decimal>();
            prop_assert!(amount(&marginal) <= amount(&retro), "deal {}", deal.deal_id);
        }
        let total = |o: &Outcome| o.lines.iter().map(|l| l.amount).sum::<Decimal>();
        prop_assert!(total(&marginal) <= total(&retro));
    }

    /// Budget proration pays exactly the budget when it binds, never more than a partner requested,
    /// and leaves unbudgeted rules alone.
    #[test]
    fn budget_proration_pays_exactly_the_budget(
        raw in deal_strategy(),
        budget_cents in 0i64..20_000_000,
    ) {
        let program = program(&format!(r#"
[program]
id = "p"
name = "P"
currency = "USD"
[budget]
total = "{}"
rules = ["commission"]
[[rules]]
id = "commission"
kind = "percent"
rate = "0.0725"
[[rules]]
id = "fee"
kind = "flat"
amount = "3.00"
"#, Decimal::new(budget_cents, 2)));
        let partners = PartnerSet::new((0..6).map(|i| partner(i, PartnerStatus::Active, true)).collect());
        let data = deals(&raw, 6);
        let outcome = evaluate(&program, &partners, &data, &LedgerData::default());
        let requested: Decimal = outcome.lines.iter().filter(|l| &*l.rule_id == "commission").map(|l| l.amount).sum();
        let adjustments: Decimal = outcome.lines.iter().filter(|l| l.kind == LineKind::BudgetProration).map(|l| l.amount).sum();
        let budget = Decimal::new(budget_cents, 2);
        if requested > budget {
            prop_assert_eq!(requested + adjustments, budget);
        } else {
            prop_assert_eq!(adjustments, Decimal::ZERO);
        }
        for i in 0..6 {
            let asked: Decimal = outcome.lines.iter().filter(|l| l.partner == i && &*l.rule_id == "commission").map(|l| l.amount).sum();
            let adj: Decimal = outcome.lines.iter().filter(|l| l.partner == i && l.kind == LineKind::BudgetProration).map(|l| l.amount).sum();
            prop_assert!(adj <= Decimal::ZERO);
            prop_assert!(asked + adj >= Decimal::ZERO);
            prop_assert_eq!(outcome.lines.iter().filter(|l| l.partner == i && l.kind == LineKind::BudgetProration).count() <= 1, true);
        }
        let fees: Decimal = outcome.lines.iter().filter(|l| &*l.rule_id == "fee").map(|l| l.amount).sum();
        prop_assert_eq!(fees, Decimal::new(300, 2) * Decimal::from(data.current.len()));
    }

    /// The engine is a pure function: evaluating twice gives identical lines and payouts.
    #[test]
    fn evaluation_is_deterministic(raw in deal_strategy()) {
        let program = program(r#"
[program]
id = "p"
name = "P"
currency = "USD"
[[rules]]
id = "t"
kind = "tiered"
measure = "deals"
mode = "retroactive"
tiers = [{ from = "0", rate = "0.01" }, { from = "3", rate = "0.02" }]
"#);
        let partners = PartnerSet::new((0..6).map(|i| partner(i, PartnerStatus::Active, true)).collect());
        let data = deals(&raw, 6);
        let a = evaluate(&program, &partners, &data, &LedgerData::default());
        let b = evaluate(&program, &partners, &data, &LedgerData::default());
        prop_assert_eq!(a.lines, b.lines);
        prop_assert_eq!(a.payouts, b.payouts);
    }
}

/// Every file of a directory tree, relative path → bytes, in sorted order.
fn tree(dir: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Running the same inputs twice writes byte-identical files (no clock, no hash order), for any
    /// data: generated deals in shuffled order, split deals, refunds, a budget that may bind.
    #[test]
    fn reruns_write_byte_identical_files(
        raw in prop::collection::vec((0usize..5, 1u32..=31, 0i64..2_000_000, 0u8..10), 1..40),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(p.join("program.toml"), r#"
[program]
id = "p"
name = "P"
currency = "USD"
[payout]
minimum = "50.00"
[budget]
total = "1000.00"
[nudges]
within = "0.5"
[[rules]]
id = "tiers"
kind = "tiered"
measure = "revenue"
mode = "marginal"
tiers = [{ from = "0", rate = "0.05" }, { from = "10000", rate = "0.08" }]
[[rules]]
id = "fee"
kind = "flat"
amount = "25.00"
"#).unwrap();
        std::fs::write(p.join("partners.csv"), "partner_id,name,type,kyc_verified\nP0,Zero,reseller,true\nP1,One,reseller,false\nP2,Two,var,true\nP3,Three,var,true\nP4,Four,referral,true\n").unwrap();
        let mut deals = String::from("deal_id,partner_id,closed_on,amount,share,status,reversed_on\n");
        for (i, (partner, day, cents, kind)) in raw.iter().enumerate() {
            let amount = Decimal::new(*cents, 2);
            match kind {
                0 => deals.push_str(&format!("D{i},P{partner},2026-10-{day:02},{amount},,refunded,2026-11-02\n")),
                1 => {
                    let other = (partner + 1) % 5;
                    deals.push_str(&format!("D{i},P{partner},2026-10-{day:02},{amount},0.5,,\n"));
                    deals.push_str(&format!("D{i},P{other},2026-10-{day:02},{amount},0.5,,\n"));
                }
                _ => deals.push_str(&format!("D{i},P{partner},2026-10-{day:02},{amount},,,\n")),
            }
        }
        std::fs::write(p.join("deals.csv"), deals).unwrap();
        let paths = payline::run::DataPaths {
            partners: p.join("partners.csv"),
            deals: p.join("deals.csv"),
            activities: None,
            claims: None,
            fx: None,
            ledger: None,
            adjustments: None,
            allow_program_change: false,
            columns: None,
            delimiter: None,
            ..payline::run::DataPaths::default()
        };
        let period = Period::parse("2026-10").unwrap();
        let first = payline::run::run(&p.join("program.toml"), &period, &paths, &p.join("a"), false, &payline::output::OldBatch::RemoveNow, &mut |_| {}).unwrap();
        let second = payline::run::run(&p.join("program.toml"), &period, &paths, &p.join("b"), false, &payline::output::OldBatch::RemoveNow, &mut |_| {}).unwrap();
        prop_assert_eq!(first, second);
        let (a, b) = (tree(&p.join("a")), tree(&p.join("b")));
        prop_assert!(a.contains_key("payouts.csv") && a.contains_key("nudges.csv"));
        prop_assert_eq!(a, b);
    }
}
