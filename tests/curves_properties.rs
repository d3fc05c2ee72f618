//! Invariants of pay curves (SPEC §8.3) and tier basis (SPEC §8.5), on generated inputs through the
//! library engine: with rates that rise, more revenue never pays less, and tiering each deal on its
//! own never pays more than tiering it on the period total.

use chrono::NaiveDate;
use payline::engine::{self, Inputs, Outcome};
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

fn partners() -> PartnerSet {
    PartnerSet::new(vec![Partner {
        id: "P1".into(),
        name: "Partner 1".into(),
        partner_type: "reseller".into(),
        region: None,
        level: None,
        quota: Some(Decimal::new(5_000_000, 2)),
        currency: "USD".into(),
        status: PartnerStatus::Active,
        kyc_verified: true,
        joined_on: None,
    }])
}

/// One partner's deals from (day, cents) pairs, sorted the way the loader sorts them.
fn deals(raw: &[(u32, i64)]) -> DealData {
    let mut current: Vec<Deal> = raw
        .iter()
        .enumerate()
        .map(|(i, &(day, cents))| {
            let amount = Decimal::new(cents, 2);
            Deal {
                deal_id: format!("D{i:04}").into(),
                partner: 0,
                closed_on: NaiveDate::from_ymd_opt(2026, 10, day).unwrap(),
                amount,
                currency: "USD".into(),
                share: Decimal::ONE,
                credited: amount,
                product: None,
                customer_type: None,
                deal_name: None,
                source: DealSource::Sourced,
                status: DealStatus::Won,
                reversed_on: None,
                reversed_amount: None,
                credit: payline::input::Credit::Split,
                quantity: 1,
            }
        })
        .collect();
    current.sort_by(|a, b| (a.closed_on, &a.deal_id).cmp(&(b.closed_on, &b.deal_id)));
    DealData {
        current,
        ..DealData::default()
    }
}

fn evaluate(program: &Program, deals: &DealData) -> Outcome {
    let fx = FxTable::none("USD");
    let partners = partners();
    let ledger = LedgerData::default();
    let inputs = Inputs {
        partners: &partners,
        deals,
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
    engine::evaluate(program, &Period::parse("2026-10").unwrap(), &inputs).unwrap()
}

/// Ascending points (`from` in cents, rate in basis points of a percent) with rates that never fall.
fn rising_points() -> impl Strategy<Value = Vec<(i64, i64)>> {
    (
        0i64..500,
        prop::collection::vec((1i64..5_000_000, 0i64..300), 1..5),
    )
        .prop_map(|(base, steps)| {
            let (mut from, mut rate) = (0i64, base);
            let mut points = vec![(0, base)];
            for (gap, rise) in steps {
                from += gap;
                rate += rise;
                points.push((from, rate));
            }
            points
        })
}

fn tiers(points: &[(i64, i64)]) -> String {
    let items: Vec<String> = points
        .iter()
        .map(|&(from, rate)| {
            format!(
                r#"{{ from = "{}", rate = "{}" }}"#,
                Decimal::new(from, 2),
                Decimal::new(rate, 4)
            )
        })
        .collect();
    format!("[{}]", items.join(", "))
}

fn tiered(mode: &str, basis: &str, points: &[(i64, i64)]) -> Program {
    program(&format!(
        r#"
[program]
id = "p"
name = "P"
currency = "USD"
[[rules]]
id = "t"
kind = "tiered"
measure = "revenue"
mode = "{mode}"
basis = "{basis}"
tiers = {}
"#,
        tiers(points)
    ))
}

fn total(o: &Outcome) -> Decimal {
    o.lines
        .iter()
        .filter(|l| &*l.rule_id == "t")
        .map(|l| l.amount)
        .sum()
}

fn line_of(o: &Outcome, deal_id: &str) -> Decimal {
    o.lines
        .iter()
        .filter(|l| &*l.rule_id == "t" && &*l.source_id == deal_id)
        .map(|l| l.amount)
        .sum()
}

fn deal_strategy() -> impl Strategy<Value = Vec<(u32, i64)>> {
    prop::collection::vec((1u32..=30, 0i64..5_000_000), 0..25)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Rising points: as the period measure grows (one more deal, on the last day), the interpolated
    /// rate never falls, no earlier deal's line falls, and the total paid never falls.
    #[test]
    fn interpolated_rate_and_total_never_fall_as_revenue_grows(
        points in rising_points(),
        raw in deal_strategy(),
        extra in 0i64..10_000_000,
    ) {
        let program = tiered("interpolated", "period", &points);
        let before = evaluate(&program, &deals(&raw));
        let mut more = raw.clone();
        more.push((31, extra));
        let after = evaluate(&program, &deals(&more));
        let rate = |o: &Outcome| o.lines.iter().filter(|l| &*l.rule_id == "t").find_map(|l| l.rate);
        if let (Some(r0), Some(r1)) = (rate(&before), rate(&after)) {
            prop_assert!(r1 >= r0, "rate fell from {} to {}", r0, r1);
        }
        for l in before.lines.iter().filter(|l| &*l.rule_id == "t") {
            prop_assert!(line_of(&after, &l.source_id) >= l.amount, "deal {}", l.source_id);
        }
        prop_assert!(total(&after) >= total(&before));
        // Every deal of a period earns the same rate, and it lies within the points' rates.
        let lo = Decimal::new(points[0].1, 4);
        let hi = Decimal::new(points[points.len() - 1].1, 4);
        let rates: Vec<Decimal> = after.lines.iter().filter(|l| &*l.rule_id == "t").filter_map(|l| l.rate).collect();
        prop_assert!(rates.windows(2).all(|w| w[0] == w[1]));
        prop_assert!(rates.iter().all(|r| *r >= lo && *r <= hi));
    }

    /// Rising rates: tiering a deal on its own (`basis = "deal"`) never pays it more than tiering it
    /// on the period total, in every mode; and a deal-basis marginal line never exceeds the
    /// period-basis retroactive one.
    #[test]
    fn deal_basis_never_pays_more_than_period_basis(
        points in rising_points(),
        raw in deal_strategy(),
    ) {
        let data = deals(&raw);
        let mut by_mode = Vec::new();
        for mode in ["marginal", "retroactive", "interpolated"] {
            let per_deal = evaluate(&tiered(mode, "deal", &points), &data);
            let per_period = evaluate(&tiered(mode, "period", &points), &data);
            for deal in &data.current {
                prop_assert!(
                    line_of(&per_deal, &deal.deal_id) <= line_of(&per_period, &deal.deal_id),
                    "{} deal {}", mode, deal.deal_id
                );
            }
            prop_assert!(total(&per_deal) <= total(&per_period), "{}", mode);
            by_mode.push((per_deal, per_period));
        }
        let (deal_marginal, period_retro) = (&by_mode[0].0, &by_mode[1].1);
        for deal in &data.current {
            prop_assert!(line_of(deal_marginal, &deal.deal_id) <= line_of(period_retro, &deal.deal_id));
        }
    }

    /// With one deal, the deal basis and the period basis are the same thing.
    #[test]
    fn one_deal_is_its_own_period(
        points in rising_points(),
        cents in 0i64..10_000_000,
    ) {
        let data = deals(&[(5, cents)]);
        for mode in ["marginal", "retroactive", "interpolated"] {
            let per_deal = evaluate(&tiered(mode, "deal", &points), &data);
            let per_period = evaluate(&tiered(mode, "period", &points), &data);
            prop_assert_eq!(total(&per_deal), total(&per_period), "{}", mode);
        }
    }

    /// A goal curve with amounts that never fall: more revenue never pays less, and the amount stays
    /// between 0 and the last point's.
    #[test]
    fn goal_curve_never_pays_less_for_more(
        steps in prop::collection::vec((1i64..100, 0i64..500_000), 2..5),
        raw in deal_strategy(),
        extra in 0i64..10_000_000,
    ) {
        let (mut at, mut amount) = (0i64, 0i64);
        let mut points = Vec::new();
        for (gap, rise) in steps {
            at += gap;
            amount += rise;
            points.push(format!(r#"{{ at = "{}", amount = "{}" }}"#, Decimal::new(at, 2), Decimal::new(amount, 2)));
        }
        let program = program(&format!(r#"
[program]
id = "p"
name = "P"
currency = "USD"
[[rules]]
id = "t"
kind = "goal"
measure = "revenue"
target = "quota"
curve = [{}]
"#, points.join(", ")));
        let before = evaluate(&program, &deals(&raw));
        let mut more = raw.clone();
        more.push((31, extra));
        let after = evaluate(&program, &deals(&more));
        prop_assert!(total(&after) >= total(&before));
        prop_assert!(total(&after) <= Decimal::new(amount, 2));
        prop_assert!(total(&before) >= Decimal::ZERO);
    }
}
