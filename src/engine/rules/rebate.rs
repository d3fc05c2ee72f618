//! `rebate` (SPEC §4.5): once the partner's qualifying revenue in the period reaches the threshold, one
//! period line of `rate` × that whole revenue. With `tiers`, the rate of the highest tier reached
//! applies to the whole revenue (retroactive). With `measure = "units"` (SPEC §8.4) the tiers' `from`
//! are units (quantity × share) and each gives an `amount` per unit: every unit of the period is paid
//! the amount of the highest tier reached.

use super::{RuleOutput, period_line, revenue, units_total};
use crate::engine::context::PartnerCtx;
use crate::error::Result;
use crate::model::money::{format_percent, format_rate};
use crate::program::parse::{Bad, Tbl, boolean, choice, non_negative, rate, tiers};
use crate::program::{Measure, Pay, Rule, Tier};
use rust_decimal::Decimal;

/// What a rebate pays on: one threshold and rate, or retroactive tiers.
#[derive(Debug, Clone, PartialEq)]
pub enum RebateBasis {
    Threshold { threshold: Decimal, rate: Decimal },
    Tiers(Vec<Tier>),
}

/// `rebate`'s configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `revenue` (the default) or `units`; units need tiers that give `amount` per unit.
    pub measure: Measure,
    pub basis: RebateBasis,
    /// Tier rates may fall as thresholds rise.
    pub decelerator: bool,
    /// The revenue runs over the quarter or year to date (SPEC §8.7).
    pub accumulate: Option<super::accumulate::Accumulate>,
}

/// The keys a `rebate` rule may have besides `id`, `kind`, `when` and `cap`.
pub const KEYS: &[&str] = &[
    "threshold",
    "rate",
    "tiers",
    "decelerator",
    "measure",
    "accumulate",
];

/// What a rebate may measure.
const MEASURES: &[(&str, Measure)] = &[("revenue", Measure::Revenue), ("units", Measure::Units)];

/// Only the period's own rows.
pub const HISTORY: super::History = super::PERIOD_ONLY;

pub(crate) fn parse(t: &Tbl) -> Result<Config, Bad> {
    let threshold = t.value("threshold", non_negative);
    let rate = t.value("rate", rate);
    let decelerator = t.value("decelerator", boolean);
    let measure = t
        .value("measure", choice(MEASURES))?
        .unwrap_or(Measure::Revenue);
    let units = measure == Measure::Units;
    if units && t.get("tiers").is_none() {
        let message = format!(
            "`{}` = \"units\" needs `tiers` whose `from` is in units and which give `amount` per unit",
            t.name("measure")
        );
        return Err(t.error_at("measure", message));
    }
    let accumulate = super::accumulate::parse(t);
    let basis = if t.get("tiers").is_some() {
        // A threshold basis beside the tiers is an error, and the tiers are still read.
        let mixed: Vec<&str> = ["threshold", "rate"]
            .into_iter()
            .filter(|key| t.get(key).is_some())
            .collect();
        for key in &mixed {
            t.error_at(
                key,
                format!("`{}` has `tiers`; `{key}` cannot be used with them", t.path),
            );
        }
        let tiers = tiers(t, units);
        if !mixed.is_empty() {
            return Err(Bad);
        }
        let tiers = tiers?;
        // Units tiers pay an amount per unit; a rate of units would mean nothing.
        if let Some(k) = tiers.iter().position(|t| matches!(t.pay, Pay::Rate(_)))
            && units
        {
            let message = format!(
                "`{}` of a units rebate give `amount` per unit; tier {} gives `rate`",
                t.name("tiers"),
                k + 1
            );
            return Err(t.error_at("tiers", message));
        }
        RebateBasis::Tiers(tiers)
    } else {
        let threshold = t.required("threshold", threshold);
        let rate = t.required("rate", rate);
        RebateBasis::Threshold {
            threshold: threshold?,
            rate: rate?,
        }
    };
    Ok(Config {
        measure,
        basis,
        decelerator: decelerator?.unwrap_or(false),
        accumulate: accumulate?,
    })
}

/// Lint: tier rates that fall as thresholds rise, unless `decelerator = true`.
pub(crate) fn lints(config: &Config) -> Vec<(&'static str, String)> {
    match &config.basis {
        RebateBasis::Tiers(tiers) => super::falling_tiers(tiers, config.decelerator),
        RebateBasis::Threshold { .. } => Vec::new(),
    }
}

/// The next threshold above the partner's qualifying revenue, for nudges.
pub(crate) fn next_threshold(
    rule: &Rule,
    config: &Config,
    ctx: &PartnerCtx,
) -> Result<Option<super::Threshold>> {
    let total = measure_total(rule, config, &super::accumulate::measured(rule, ctx), ctx)?;
    let next = match &config.basis {
        RebateBasis::Threshold { threshold, .. } => Some(*threshold).filter(|t| *t > total),
        RebateBasis::Tiers(tiers) => tiers.iter().map(|t| t.from).find(|f| *f > total),
    };
    Ok(next.map(|next| super::Threshold {
        current: total,
        next,
        counts_deals: config.measure == Measure::Units,
        counts_units: config.measure == Measure::Units,
    }))
}

/// The partner's period measure: qualifying revenue, or units.
fn measure_total(
    rule: &Rule,
    config: &Config,
    deals: &[&crate::model::Deal],
    ctx: &PartnerCtx,
) -> Result<Decimal> {
    match config.measure {
        Measure::Units => units_total(deals, ctx.calc(rule)),
        Measure::Revenue | Measure::Deals => revenue(deals, ctx.calc(rule)),
    }
}

/// The threshold reached and its rate, for a revenue figure.
pub fn reached(basis: &RebateBasis, revenue: Decimal) -> Option<(Decimal, Decimal)> {
    match basis {
        RebateBasis::Threshold { threshold, rate } => {
            (revenue >= *threshold).then_some((*threshold, *rate))
        }
        RebateBasis::Tiers(tiers) => tiers.iter().rev().find(|t| t.from <= revenue).map(|t| {
            let rate = match t.pay {
                Pay::Rate(r) | Pay::Amount(r) => r,
            };
            (t.from, rate)
        }),
    }
}

pub fn evaluate(rule: &Rule, config: &Config, ctx: &PartnerCtx) -> Result<RuleOutput> {
    let basis = &config.basis;
    let calc = ctx.calc(rule);
    let deals = super::accumulate::measured(rule, ctx);
    let total = measure_total(rule, config, &deals, ctx)?;
    let Some((threshold, rate)) = reached(basis, total) else {
        let lines = super::accumulate::settle_period(rule, ctx, None, || match config.measure {
            Measure::Units => format!("{} units reach no tier", format_rate(total)),
            _ => format!("revenue {} reaches no threshold", ctx.money(total)),
        })?;
        return Ok(RuleOutput::lines(lines));
    };
    if config.measure == Measure::Units {
        let raw = calc.mul(rate, total, || "the rebate".into())?;
        let (total_text, from) = (format_rate(total), format_rate(threshold));
        let note = format!(
            "{total_text} units over {} qualifying deal{} reach {from}: {} per unit × {total_text} units",
            deals.len(),
            if deals.len() == 1 { "" } else { "s" },
            ctx.money(rate),
        );
        let line = period_line(rule, ctx, Some(total), Some(rate), raw, note);
        let lines = super::accumulate::settle_period(rule, ctx, Some(line), String::new)?;
        return Ok(RuleOutput::lines(lines));
    }
    let raw = calc.mul(rate, total, || "the rebate".into())?;
    let note = format!(
        "period revenue {} over {} qualifying deal{} reaches {}: {} of {}",
        ctx.money(total),
        deals.len(),
        if deals.len() == 1 { "" } else { "s" },
        ctx.money(threshold),
        format_percent(rate),
        ctx.money(total)
    );
    let line = period_line(rule, ctx, Some(total), Some(rate), raw, note);
    let lines = super::accumulate::settle_period(rule, ctx, Some(line), String::new)?;
    Ok(RuleOutput::lines(lines))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{Fixture, d, deal, expect, parse_errors, product, program};
    use super::super::testkit::{Rows, Want};
    use super::*;
    use crate::engine::rules::RuleKind;

    const THRESHOLD: &str = r#"
[[rules]]
id = "r"
kind = "rebate"
threshold = "50000.00"
rate = "0.02"
"#;

    #[test]
    fn pays_once_the_threshold_is_reached() {
        let cases: Vec<(&str, Rows, Want)> = vec![
            ("no deals", vec![], vec![]),
            // 30000 + 19999.99 = 49999.99: a cent short, nothing
            (
                "a cent short",
                vec![
                    deal("D1", "2026-10-01", "30000.00"),
                    deal("D2", "2026-10-02", "19999.99"),
                ],
                vec![],
            ),
            // 30000 + 20000 = 50000.00 exactly: 0.02 × 50000 = 1000.00, one period line
            (
                "exactly at the threshold",
                vec![
                    deal("D1", "2026-10-01", "30000.00"),
                    deal("D2", "2026-10-02", "20000.00"),
                ],
                vec![("2026-10", "1000.00")],
            ),
            // 0.02 × 60000.01 = 1200.0002 → 1200.00, on the whole revenue
            (
                "above",
                vec![deal("D1", "2026-10-01", "60000.01")],
                vec![("2026-10", "1200.00")],
            ),
        ];
        for (name, deals, expected) in cases {
            let f = Fixture::new(THRESHOLD).deals(deals);
            assert_eq!(f.lines("r"), expect(&expected), "{name}");
        }
    }

    #[test]
    fn only_qualifying_deals_count() {
        let body = format!("{THRESHOLD}when = {{ product = [\"hw\"] }}\n");
        let f = Fixture::new(&body).deals(vec![
            product(deal("D1", "2026-10-01", "49999.99"), "hw"),
            product(deal("D2", "2026-10-02", "10000.00"), "sw"),
        ]);
        // hw revenue 49999.99 < 50000: nothing, though all revenue is 59999.99
        assert_eq!(f.lines("r"), expect(&[]));
        let f = f.deal("P1", product(deal("D3", "2026-10-03", "0.01"), "hw"));
        // hw revenue 50000.00: 0.02 × 50000 = 1000.00
        let out = f.output("r");
        assert_eq!(
            super::super::testkit::amounts(&out.lines),
            expect(&[("2026-10", "1000.00")])
        );
        assert_eq!(out.lines[0].basis, Some(d("50000.00")));
        assert_eq!(
            out.lines[0].note,
            "period revenue 50000.00 over 2 qualifying deals reaches 50000.00: 2% of 50000.00"
        );
    }

    #[test]
    fn retroactive_tiers_pay_the_reached_rate_on_everything() {
        let body = r#"
[[rules]]
id = "r"
kind = "rebate"
tiers = [{ from = "0", rate = "0" }, { from = "10000", rate = "0.01" }, { from = "50000", rate = "0.03" }]
"#;
        let cases: Vec<(&str, Want)> = vec![
            // tier 1 rate 0: 0 × 9999.99 = 0, no line written
            ("9999.99", vec![]),
            // exactly 10000: 0.01 × 10000 = 100.00
            ("10000.00", vec![("2026-10", "100.00")]),
            // 0.01 × 49999.99 = 499.9999 → 500.00
            ("49999.99", vec![("2026-10", "500.00")]),
            // exactly 50000: 0.03 × 50000 = 1500.00
            ("50000.00", vec![("2026-10", "1500.00")]),
        ];
        for (revenue, expected) in cases {
            let f = Fixture::new(body).deals(vec![deal("D1", "2026-10-01", revenue)]);
            assert_eq!(f.lines("r"), expect(&expected), "{revenue}");
        }
    }

    #[test]
    fn next_threshold_until_reached() {
        for (revenue, expected) in [
            // 40000 → next 50000
            ("40000.00", Some(("40000.00", "50000.00"))),
            // reached: none
            ("50000.00", None),
        ] {
            let f = Fixture::new(THRESHOLD).deals(vec![deal("D1", "2026-10-01", revenue)]);
            let got = f.threshold("r").map(|t| (t.current, t.next));
            assert_eq!(got, expected.map(|(c, n)| (d(c), d(n))), "{revenue}");
        }
    }

    #[test]
    fn parse_reads_both_forms_and_refuses_them_mixed() {
        let ok = program(&format!("{}{THRESHOLD}", super::super::testkit::HEADER));
        assert_eq!(
            ok.rules[0].kind,
            RuleKind::Rebate(Config {
                basis: RebateBasis::Threshold {
                    threshold: d("50000"),
                    rate: d("0.02")
                },
                measure: Measure::Revenue,
                decelerator: false,
                accumulate: None,
            })
        );
        let errors = parse_errors(
            r#"[program]
id = "p"
name = "P"
currency = "USD"

[[rules]]
id = "r"
kind = "rebate"
tiers = [{ from = "0", rate = "0.01" }]
rate = "0.02"
"#,
        );
        // line 10 `rate = "0.02"`: column 8
        assert_eq!(
            errors,
            vec![(
                10,
                8,
                "`rules[0]` has `tiers`; `rate` cannot be used with them".to_string()
            )]
        );
    }

    const PER_SEAT: &str = r#"
[[rules]]
id = "r"
kind = "rebate"
measure = "units"
tiers = [{ from = "0", amount = "0" }, { from = "50", amount = "2.00" }, { from = "100", amount = "3.00" }]
"#;

    #[test]
    fn units_tiers_pay_every_unit_the_reached_amount() {
        use super::super::testkit::{qty, split};
        let cases: Vec<(&str, Rows, Want)> = vec![
            // 49 units: tier 1 pays 0, no line
            (
                "49 units",
                vec![qty(deal("D1", "2026-10-01", "1.00"), 49)],
                vec![],
            ),
            // exactly 50: 2.00 × 50 = 100.00
            (
                "50 units",
                vec![qty(deal("D1", "2026-10-01", "1.00"), 50)],
                vec![("2026-10", "100.00")],
            ),
            // 60 + 80 × 0.5 = 100 units: 3.00 × 100 = 300.00 (every unit, retroactive)
            (
                "100 units with a split row",
                vec![
                    qty(deal("D1", "2026-10-01", "1.00"), 60),
                    qty(split("D2", "2026-10-02", "1.00", "0.5"), 80),
                ],
                vec![("2026-10", "300.00")],
            ),
        ];
        for (name, deals, expected) in cases {
            let f = Fixture::new(PER_SEAT).deals(deals);
            assert_eq!(f.lines("r"), expect(&expected), "{name}");
        }
        let f = Fixture::new(PER_SEAT).deals(vec![
            qty(deal("D1", "2026-10-01", "1.00"), 60),
            qty(split("D2", "2026-10-02", "1.00", "0.5"), 81),
        ]);
        let out = f.output("r");
        // 60 + 40.5 = 100.5 units × 3.00 = 301.50
        assert_eq!(
            out.lines[0].note,
            "100.5 units over 2 qualifying deals reach 100: 3.00 per unit × 100.5 units"
        );
        assert_eq!(
            (out.lines[0].basis, out.lines[0].rate, out.lines[0].amount),
            (Some(d("100.5")), Some(d("3.00")), d("301.50"))
        );
        // nudges: 100.5 units are past the last tier; 49 units are 1 short of 50
        assert!(f.threshold("r").is_none());
        let f = Fixture::new(PER_SEAT).deals(vec![qty(deal("D1", "2026-10-01", "1.00"), 49)]);
        let t = f.threshold("r").unwrap();
        assert_eq!(
            (t.current, t.next, t.counts_deals, t.counts_units),
            (d("49"), d("50"), true, true)
        );
    }

    #[test]
    fn units_need_amount_tiers() {
        let errors = parse_errors(
            r#"[program]
id = "p"
name = "P"
currency = "USD"

[[rules]]
id = "r"
kind = "rebate"
measure = "units"
tiers = [{ from = "0", amount = "1" }, { from = "10", rate = "0.02" }]
"#,
        );
        // line 10 `tiers = [`: the value starts at column 9
        assert_eq!(
            errors,
            vec![(
                10,
                9,
                "`rules[0].tiers` of a units rebate give `amount` per unit; tier 2 gives `rate`"
                    .to_string()
            )]
        );
        let errors = parse_errors(
            r#"[program]
id = "p"
name = "P"
currency = "USD"

[[rules]]
id = "r"
kind = "rebate"
measure = "units"
threshold = "10"
rate = "0.02"
"#,
        );
        // line 9 `measure = "units"`: the value starts at column 11
        assert_eq!(
            errors,
            vec![(
                9,
                11,
                "`rules[0].measure` = \"units\" needs `tiers` whose `from` is in units and which \
                 give `amount` per unit"
                    .to_string()
            )]
        );
        // a revenue rebate keeps refusing amount tiers; "deals" is not a rebate measure
        let errors = parse_errors(
            r#"[program]
id = "p"
name = "P"
currency = "USD"

[[rules]]
id = "r"
kind = "rebate"
measure = "deals"
tiers = [{ from = "0", amount = "1" }]
"#,
        );
        assert_eq!(
            errors,
            vec![(
                9,
                11,
                "`rules[0].measure` must be one of revenue, units, found \"deals\"".to_string()
            )]
        );
    }
}
