//! `growth` (SPEC §4.7): qualifying revenue counting in the period against the revenue counting in the
//! previous period of the same length (each by its own period's counting rule). Pays when previous > 0
//! and current ≥ previous × (1 + min_growth): `rate` × (current − previous), or a fixed `amount`.

use super::{RuleOutput, period_line, revenue};
use crate::engine::context::PartnerCtx;
use crate::error::Result;
use crate::model::money::format_percent;
use crate::program::parse::{Bad, Tbl, pay, rate};
use crate::program::{Pay, Rule};
use rust_decimal::Decimal;

/// `growth`'s configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The least growth over the previous period that pays (0.10 = +10%); default 0.
    pub min_growth: Decimal,
    /// A rate of the increase, or a fixed amount.
    pub pay: Pay,
}

/// The keys a `growth` rule may have besides `id`, `kind`, `when` and `cap`.
pub const KEYS: &[&str] = &["min_growth", "rate", "amount"];

/// The rows counting in the previous period, to compare with.
pub const HISTORY: super::History = super::History {
    previous_period: true,
    ..super::PERIOD_ONLY
};

pub(crate) fn parse(t: &Tbl) -> Result<Config, Bad> {
    let min_growth = t.value("min_growth", rate);
    let pay = pay(t);
    Ok(Config {
        min_growth: min_growth?.unwrap_or(Decimal::ZERO),
        pay: pay?,
    })
}

pub fn evaluate(rule: &Rule, config: &Config, ctx: &PartnerCtx) -> Result<RuleOutput> {
    let Config { min_growth, pay } = *config;
    let calc = ctx.calc(rule);
    let current = revenue(&ctx.qualifying(rule, ctx.deals), calc)?;
    let previous = revenue(&ctx.qualifying(rule, ctx.previous), calc)?;
    if previous <= Decimal::ZERO {
        return Ok(RuleOutput::default());
    }
    let required = calc.ok(previous.checked_mul(Decimal::ONE + min_growth), || {
        "the revenue required for growth".into()
    })?;
    if current < required {
        return Ok(RuleOutput::default());
    }
    let increase = current - previous;
    let ratio = calc.ok(increase.checked_div(previous), || "the growth rate".into())?;
    let percent = calc.mul(ratio.round_dp(4), Decimal::ONE_HUNDRED, || {
        "the growth rate".into()
    })?;
    let growth = format!("{}%", percent.normalize());
    let base = format!(
        "revenue {} vs {} in {} (+{growth}, at least +{} required)",
        ctx.money(current),
        ctx.money(previous),
        ctx.period.previous(),
        format_percent(min_growth)
    );
    let line = match pay {
        Pay::Rate(rate) => period_line(
            rule,
            ctx,
            Some(increase),
            Some(rate),
            calc.mul(rate, increase, || "the growth bonus".into())?,
            format!(
                "{base}: {} of the increase {}",
                format_percent(rate),
                ctx.money(increase)
            ),
        ),
        Pay::Amount(amount) => period_line(
            rule,
            ctx,
            Some(increase),
            None,
            amount,
            format!("{base}: fixed bonus"),
        ),
    };
    Ok(RuleOutput::lines(vec![line]))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::Want;
    use super::super::testkit::{Fixture, d, deal, expect, parse_errors, product, program};
    use super::*;
    use crate::engine::rules::RuleKind;

    fn body(min_growth: &str, pay: &str) -> String {
        format!("[[rules]]\nid = \"g\"\nkind = \"growth\"\n{min_growth}\n{pay}\n")
    }

    #[test]
    fn pays_from_min_growth_on() {
        let rate = body("min_growth = \"0.10\"", "rate = \"0.05\"");
        let fixed = body("min_growth = \"0.10\"", "amount = \"250.00\"");
        let cases: Vec<(&str, &String, Option<&str>, &str, Want)> = vec![
            // previous 10000, required 10000 × 1.10 = 11000; current 11000.00 is exactly +10%:
            // 0.05 × (11000 − 10000) = 50.00
            (
                "exactly +10%",
                &rate,
                Some("10000.00"),
                "11000.00",
                vec![("2026-10", "50.00")],
            ),
            // 10999.99 < 11000: nothing
            ("a cent short", &rate, Some("10000.00"), "10999.99", vec![]),
            // 0.05 × (12345.67 − 10000) = 0.05 × 2345.67 = 117.2835 → 117.28
            (
                "more",
                &rate,
                Some("10000.00"),
                "12345.67",
                vec![("2026-10", "117.28")],
            ),
            // fixed amount at exactly +10%: 250.00
            (
                "fixed",
                &fixed,
                Some("10000.00"),
                "11000.00",
                vec![("2026-10", "250.00")],
            ),
            // previous period without revenue: never paid, however large the growth
            ("previous zero", &rate, None, "50000.00", vec![]),
            ("previous zero, fixed", &fixed, None, "50000.00", vec![]),
            // previous revenue exactly 0.00 (a zero deal): still nothing
            ("previous 0.00", &fixed, Some("0.00"), "50000.00", vec![]),
        ];
        for (name, text, previous, current, expected) in cases {
            let f = Fixture::new(text)
                .previous(
                    previous
                        .map(|p| vec![deal("P0", "2026-09-15", p)])
                        .unwrap_or_default(),
                )
                .deals(vec![deal("D1", "2026-10-15", current)]);
            assert_eq!(f.lines("g"), expect(&expected), "{name}");
        }
    }

    #[test]
    fn min_growth_defaults_to_zero() {
        let text = body("", "amount = \"250.00\"");
        // previous 10000, current 10000: 10000 ≥ 10000 × (1 + 0), the fixed 250.00 is paid
        let f = Fixture::new(&text)
            .previous(vec![deal("P0", "2026-09-15", "10000.00")])
            .deals(vec![deal("D1", "2026-10-15", "10000.00")]);
        assert_eq!(f.lines("g"), expect(&[("2026-10", "250.00")]));
        // current 9999.99 < 10000: nothing
        let f = Fixture::new(&text)
            .previous(vec![deal("P0", "2026-09-15", "10000.00")])
            .deals(vec![deal("D1", "2026-10-15", "9999.99")]);
        assert_eq!(f.lines("g"), expect(&[]));
    }

    #[test]
    fn when_filters_both_periods() {
        let text = format!(
            "{}when = {{ product = [\"hw\"] }}\n",
            body("min_growth = \"0.10\"", "rate = \"0.05\"")
        );
        let f = Fixture::new(&text)
            .previous(vec![
                product(deal("P0", "2026-09-10", "10000.00"), "hw"),
                product(deal("P1", "2026-09-11", "90000.00"), "sw"),
            ])
            .deals(vec![
                product(deal("D1", "2026-10-10", "12000.00"), "hw"),
                product(deal("D2", "2026-10-11", "1.00"), "sw"),
            ]);
        // hw only: previous 10000, current 12000 ≥ 11000: 0.05 × 2000 = 100.00
        let out = f.output("g");
        assert_eq!(
            super::super::testkit::amounts(&out.lines),
            expect(&[("2026-10", "100.00")])
        );
        assert_eq!(out.lines[0].basis, Some(d("2000.00")));
        assert_eq!(
            out.lines[0].note,
            "revenue 12000.00 vs 10000.00 in 2026-09 (+20%, at least +10% required): 5% of the \
             increase 2000.00"
        );
    }

    #[test]
    fn parse_defaults_min_growth_and_refuses_a_negative_one() {
        let ok = program(&format!(
            "{}{}",
            super::super::testkit::HEADER,
            body("", "rate = \"0.05\"")
        ));
        assert_eq!(
            ok.rules[0].kind,
            RuleKind::Growth(Config {
                min_growth: d("0"),
                pay: Pay::Rate(d("0.05")),
            })
        );
        let errors = parse_errors(
            r#"[program]
id = "p"
name = "P"
currency = "USD"

[[rules]]
id = "g"
kind = "growth"
min_growth = "-0.1"
rate = "0.05"
"#,
        );
        // line 9 `min_growth = "-0.1"`: column 14
        assert_eq!(
            errors,
            vec![(
                9,
                14,
                "`rules[0].min_growth` must be zero or more, found -0.1".to_string()
            )]
        );
        let errors = parse_errors(
            "[program]\nid = \"p\"\nname = \"P\"\ncurrency = \"USD\"\n\n[[rules]]\nid = \"g\"\nkind = \"growth\"\n",
        );
        // neither amount nor rate: reported at `[[rules]]`, line 6 column 1
        assert_eq!(
            errors,
            vec![(6, 1, "`rules[0]` needs `amount` or `rate`".to_string())]
        );
    }
}
