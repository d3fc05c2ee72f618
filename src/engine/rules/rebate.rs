//! `rebate` (SPEC §4.5): once the partner's qualifying revenue in the period reaches the threshold, one
//! period line of `rate` × that whole revenue. With `tiers`, the rate of the highest tier reached
//! applies to the whole revenue (retroactive).

use super::{RuleOutput, period_line, revenue};
use crate::engine::PartnerCtx;
use crate::error::Result;
use crate::model::money::format_percent;
use crate::program::parse::{Bad, Tbl, boolean, non_negative, rate, tiers};
use crate::program::{Pay, Rule, Tier};
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
    pub basis: RebateBasis,
    /// Tier rates may fall as thresholds rise.
    pub decelerator: bool,
    /// The revenue runs over the quarter or year to date (SPEC §8.7).
    pub accumulate: Option<super::accumulate::Accumulate>,
}

/// The keys a `rebate` rule may have besides `id`, `kind`, `when` and `cap`.
pub const KEYS: &[&str] = &["threshold", "rate", "tiers", "decelerator", "accumulate"];

/// Only the period's own rows.
pub const HISTORY: super::History = super::PERIOD_ONLY;

pub(crate) fn parse(t: &Tbl) -> Result<Config, Bad> {
    let threshold = t.value("threshold", non_negative);
    let rate = t.value("rate", rate);
    let decelerator = t.value("decelerator", boolean);
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
        let tiers = tiers(t, false);
        if !mixed.is_empty() {
            return Err(Bad);
        }
        RebateBasis::Tiers(tiers?)
    } else {
        let threshold = t.required("threshold", threshold);
        let rate = t.required("rate", rate);
        RebateBasis::Threshold {
            threshold: threshold?,
            rate: rate?,
        }
    };
    Ok(Config {
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
    let total = revenue(&super::accumulate::measured(rule, ctx), ctx.calc(rule))?;
    let next = match &config.basis {
        RebateBasis::Threshold { threshold, .. } => Some(*threshold).filter(|t| *t > total),
        RebateBasis::Tiers(tiers) => tiers.iter().map(|t| t.from).find(|f| *f > total),
    };
    Ok(next.map(|next| super::Threshold {
        current: total,
        next,
        counts_deals: false,
    }))
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
    let total = revenue(&deals, calc)?;
    let Some((threshold, rate)) = reached(basis, total) else {
        let lines = super::accumulate::settle_period(rule, ctx, None, || {
            format!("revenue {} reaches no threshold", ctx.money(total))
        })?;
        return Ok(RuleOutput::lines(lines));
    };
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
}
