//! `percent` (SPEC §4.2): `rate` × the credited amount of each qualifying deal.

use super::{RuleOutput, deal_line};
use crate::engine::context::PartnerCtx;
use crate::engine::payments::PayOn;
use crate::error::Result;
use crate::model::money::format_percent;
use crate::program::Rule;
use crate::program::parse::{Bad, Tbl, rate};
use rust_decimal::Decimal;

/// `percent`'s configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Paid on each qualifying deal's credited amount.
    pub rate: Decimal,
    /// On the deal line (the default), on each payment, or when the row is paid in full (§9.1).
    pub pay_on: PayOn,
}

/// The keys a `percent` rule may have besides `id`, `kind`, `when` and `cap`.
pub const KEYS: &[&str] = &["rate", "modifiers", "pay_on", "for_months"];

/// Only the period's own rows.
pub const HISTORY: super::History = super::PERIOD_ONLY;

pub(crate) fn parse(t: &Tbl) -> Result<Config, Bad> {
    let pay_on = crate::engine::payments::parse(t, true);
    let rate = t.require("rate", rate)?;
    Ok(Config {
        rate,
        pay_on: pay_on?,
    })
}

pub fn evaluate(rule: &Rule, config: &Config, ctx: &PartnerCtx) -> Result<RuleOutput> {
    let rate = config.rate;
    if let PayOn::Payment { for_months } = config.pay_on {
        let paid = super::payment::evaluate(rule, rate, for_months, ctx)?;
        return Ok(RuleOutput {
            lines: paid.lines,
            warnings: paid.warnings,
            paid_payments: paid.paid,
            ..RuleOutput::default()
        });
    }
    let calc = ctx.calc(rule);
    let mut warnings = Vec::new();
    let lines = super::payment::rows_paid(rule, config.pay_on, ctx, &mut warnings)
        .into_iter()
        .map(|(deal, paid_in_full)| {
            let mut note = format!("{} of {}", format_percent(rate), ctx.money(deal.credited));
            if let Some(day) = paid_in_full {
                note.push_str(&format!("; paid in full on {day}"));
            }
            let raw = calc.mul(rate, deal.credited, || {
                format!("deal {}: the commission", deal.deal_id)
            })?;
            deal_line(rule, ctx, deal, deal.credited, Some(rate), raw, note)
        })
        .collect::<Result<_>>()?;
    Ok(RuleOutput {
        lines,
        warnings,
        ..RuleOutput::default()
    })
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{
        Fixture, HEADER, d, deal, expect, parse_errors, partner, program, split,
    };
    use super::super::testkit::{Rows, Want};
    use super::*;
    use crate::engine::rules::RuleKind;

    const COMMISSION: &str = r#"
[[rules]]
id = "com"
kind = "percent"
rate = "0.08"
"#;

    #[test]
    fn pays_the_rate_of_each_credited_amount() {
        let cases: Vec<(&str, Rows, Want)> = vec![
            ("no deals", vec![], vec![]),
            // 0.08 × 1000.00 = 80.00
            (
                "whole",
                vec![deal("D1", "2026-10-05", "1000.00")],
                vec![("D1", "80.00")],
            ),
            // 0.08 × 1234.56 = 98.7648 → 98.76
            (
                "rounds down",
                vec![deal("D1", "2026-10-05", "1234.56")],
                vec![("D1", "98.76")],
            ),
            // 0.08 × 1234.57 = 98.7656 → 98.77
            (
                "rounds up",
                vec![deal("D1", "2026-10-05", "1234.57")],
                vec![("D1", "98.77")],
            ),
            // credited 1000.00 × 0.5 = 500.00; 0.08 × 500.00 = 40.00
            (
                "split share",
                vec![split("D1", "2026-10-05", "1000.00", "0.5")],
                vec![("D1", "40.00")],
            ),
            // 0.08 × 0.06 = 0.0048 → 0.00: a zero line is not written
            ("zero", vec![deal("D1", "2026-10-05", "0.06")], vec![]),
        ];
        for (name, deals, expected) in cases {
            let f = Fixture::new(COMMISSION).deals(deals);
            assert_eq!(f.lines("com"), expect(&expected), "{name}");
        }
    }

    #[test]
    fn the_program_rounding_mode_decides_a_half_cent() {
        let rule = "[[rules]]\nid = \"com\"\nkind = \"percent\"\nrate = \"0.05\"\n";
        // 0.05 × 12.10 = 0.605: half-up 0.61, half-even 0.60
        for (rounding, amount) in [("half-up", "0.61"), ("half-even", "0.60")] {
            let p = program(&format!("{HEADER}rounding = \"{rounding}\"\n{rule}"));
            let f = Fixture::with_program(p).deals(vec![deal("D1", "2026-10-05", "12.10")]);
            assert_eq!(f.lines("com"), expect(&[("D1", amount)]), "{rounding}");
        }
    }

    #[test]
    fn modifiers_and_when() {
        let body = r#"
[[rules]]
id = "com"
kind = "percent"
rate = "0.08"
when = { source = ["sourced"] }
[[rules.modifiers]]
when = { customer_type = ["new"] }
multiplier = "1.5"
[[rules.modifiers]]
when = { partner_type = ["reseller"] }
multiplier = "1.25"
"#;
        let mut new = deal("D1", "2026-10-01", "1000.00");
        new.customer_type = Some("new".into());
        let old = deal("D2", "2026-10-02", "1000.00");
        let mut influenced = deal("D3", "2026-10-03", "1000.00");
        influenced.source = crate::model::DealSource::Influenced;
        let f = Fixture::new(body).deals(vec![new, old, influenced]);
        // D1: 0.08 × 1000 × 1.5 × 1.25 = 150.00; D2: 0.08 × 1000 × 1.25 = 100.00; D3 influenced: none
        assert_eq!(
            f.lines("com"),
            expect(&[("D1", "150.00"), ("D2", "100.00")])
        );
        let out = f.output("com");
        assert_eq!(
            out.lines[0].note,
            "8% of 1000.00 × modifier 1.5 × modifier 1.25"
        );
        // An affiliate: only the customer-type modifier, 0.08 × 1000 × 1.5 = 120.00 and 80.00
        let f = f.partners(vec![crate::model::Partner {
            partner_type: "affiliate".into(),
            ..partner("P1")
        }]);
        assert_eq!(f.lines("com"), expect(&[("D1", "120.00"), ("D2", "80.00")]));
    }

    #[test]
    fn parse_reads_a_float_rate_exactly_and_refuses_one_above_1000() {
        let ok = program(&format!(
            "{HEADER}\n[[rules]]\nid = \"com\"\nkind = \"percent\"\nrate = 0.07\n"
        ));
        assert_eq!(
            ok.rules[0].kind,
            RuleKind::Percent(Config {
                rate: d("0.07"),
                pay_on: PayOn::Close
            })
        );
        let errors = parse_errors(
            r#"[program]
id = "p"
name = "P"
currency = "USD"

[[rules]]
id = "com"
kind = "percent"
rate = "1000.01"
"#,
        );
        // line 9 `rate = "1000.01"`: the value starts after `rate = ` (7 characters), column 8
        assert_eq!(
            errors,
            vec![(
                9,
                8,
                "`rules[0].rate` must be at most 1000, found 1000.01".to_string()
            )]
        );
    }
}
