//! `flat` (SPEC §4.1): a fixed amount × the partner's share, per qualifying deal row (referral fees).
//! With `per = "unit"` (SPEC §8.4) the amount is paid per unit: × the row's units (quantity × share).

use super::{Per, RuleOutput, deal_line, share_note, units, units_note};
use crate::engine::context::PartnerCtx;
use crate::engine::payments::PayOn;
use crate::error::Result;
use crate::program::Rule;
use crate::program::parse::{Bad, Tbl, choice, non_negative};
use rust_decimal::Decimal;

/// `flat`'s configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Paid per qualifying deal row, × the row's share; or per unit, × the row's units.
    pub amount: Decimal,
    /// `per = "deal"` (the default) or `"unit"`.
    pub per: Per,
    /// On the deal line (the default) or when the row is paid in full (§9.1).
    pub pay_on: PayOn,
}

/// The keys a `flat` rule may have besides `id`, `kind`, `when` and `cap`.
pub const KEYS: &[&str] = &["amount", "per", "modifiers", "pay_on", "for_months"];

/// Only the period's own rows.
pub const HISTORY: super::History = super::PERIOD_ONLY;

pub(crate) fn parse(t: &Tbl) -> Result<Config, Bad> {
    let per = t.value("per", choice(Per::CHOICES));
    let pay_on = crate::engine::payments::parse(t, false);
    let amount = t.require("amount", non_negative)?;
    Ok(Config {
        amount,
        per: per?.unwrap_or_default(),
        pay_on: pay_on?,
    })
}

pub fn evaluate(rule: &Rule, config: &Config, ctx: &PartnerCtx) -> Result<RuleOutput> {
    let amount = config.amount;
    let calc = ctx.calc(rule);
    let mut warnings = Vec::new();
    let lines = super::payment::rows_paid(rule, config.pay_on, ctx, &mut warnings)
        .into_iter()
        .map(|(deal, paid_in_full)| {
            let fee = || format!("deal {}: the fee", deal.deal_id);
            let mut line = match config.per {
                Per::Deal => {
                    let note = format!("flat {} per deal{}", ctx.money(amount), share_note(deal));
                    let raw = calc.mul(amount, deal.share, fee)?;
                    deal_line(rule, ctx, deal, deal.share, Some(amount), raw, note)
                }
                Per::Unit => {
                    let units = units(deal, calc)?;
                    let note = format!(
                        "flat {} per unit × {}",
                        ctx.money(amount),
                        units_note(deal, units)
                    );
                    let raw = calc.mul(amount, units, fee)?;
                    deal_line(rule, ctx, deal, units, Some(amount), raw, note)
                }
            }?;
            if let Some(day) = paid_in_full {
                line.note.push_str(&format!("; paid in full on {day}"));
            }
            Ok(line)
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
    use super::super::testkit::{Fixture, d, deal, expect, parse_errors, partner, program, split};
    use super::super::testkit::{Rows, Want};
    use super::*;
    use crate::engine::rules::RuleKind;

    const FEE: &str = r#"
[[rules]]
id = "fee"
kind = "flat"
amount = "50.00"
"#;

    #[test]
    fn pays_the_amount_times_the_share_per_row() {
        let cases: Vec<(&str, Rows, Want)> = vec![
            ("no deals, no lines", vec![], vec![]),
            // 50.00 × 1 = 50.00
            (
                "whole row",
                vec![deal("D1", "2026-10-05", "1000.00")],
                vec![("D1", "50.00")],
            ),
            // 50.00 × 0.5 = 25.00, whatever the deal amount
            (
                "half share",
                vec![split("D1", "2026-10-05", "9999.00", "0.5")],
                vec![("D1", "25.00")],
            ),
            // 50.00 × 0.3333 = 16.665 → half-up 16.67
            (
                "share rounds half-up once",
                vec![split("D1", "2026-10-05", "300.00", "0.3333")],
                vec![("D1", "16.67")],
            ),
            // one line per row, in (closed_on, deal_id) order: D2 (10-01), D1 (10-02)
            (
                "two rows in processing order",
                vec![
                    deal("D1", "2026-10-02", "10.00"),
                    split("D2", "2026-10-01", "10.00", "0.25"),
                ],
                vec![("D2", "12.50"), ("D1", "50.00")],
            ),
        ];
        for (name, deals, expected) in cases {
            let f = Fixture::new(FEE).deals(deals);
            assert_eq!(f.lines("fee"), expect(&expected), "{name}");
        }
    }

    #[test]
    fn notes_the_share_of_split_rows() {
        let f = Fixture::new(FEE).deals(vec![split("D1", "2026-10-05", "100.00", "0.5")]);
        let out = f.output("fee");
        assert_eq!(out.lines[0].note, "flat 50.00 per deal × share 0.5");
        assert_eq!(out.lines[0].basis, Some(d("0.5")));
    }

    #[test]
    fn modifiers_multiply_before_the_single_rounding() {
        let body = r#"
[[rules]]
id = "fee"
kind = "flat"
amount = "33.33"
[[rules.modifiers]]
when = { region = ["EMEA"] }
multiplier = "1.10"
[[rules.modifiers]]
when = { product = ["pro"] }
multiplier = "2"
"#;
        let emea = |mut p: crate::model::Partner| {
            p.region = Some("EMEA".into());
            p
        };
        let pro = |mut row: crate::model::Deal| {
            row.product = Some("pro".into());
            row
        };
        let cases: Vec<(&str, crate::model::Partner, crate::model::Deal, &str)> = vec![
            // no modifier matches: 33.33
            (
                "none",
                partner("P1"),
                deal("D1", "2026-10-05", "1.00"),
                "33.33",
            ),
            // 33.33 × 1.10 = 36.663 → 36.66
            (
                "region",
                emea(partner("P1")),
                deal("D1", "2026-10-05", "1.00"),
                "36.66",
            ),
            // 33.33 × 2 = 66.66
            (
                "product",
                partner("P1"),
                pro(deal("D1", "2026-10-05", "1.00")),
                "66.66",
            ),
            // 33.33 × 1.10 × 2 = 73.326 → 73.33 (rounding each step would give 36.66 × 2 = 73.32)
            (
                "both",
                emea(partner("P1")),
                pro(deal("D1", "2026-10-05", "1.00")),
                "73.33",
            ),
        ];
        for (name, p, row, amount) in cases {
            let f = Fixture::new(body).partners(vec![p]).deals(vec![row]);
            assert_eq!(f.lines("fee"), expect(&[("D1", amount)]), "{name}");
        }
    }

    #[test]
    fn when_keys_choose_partners_and_deals() {
        let body = r#"
[[rules]]
id = "fee"
kind = "flat"
amount = "50.00"
when = { partner_type = ["reseller"], min_amount = "500.00" }
"#;
        let f = Fixture::new(body).deals(vec![
            // credited 499.99 < min_amount 500.00: not qualifying
            deal("D1", "2026-10-01", "499.99"),
            // credited exactly 500.00: qualifies, 50.00
            deal("D2", "2026-10-02", "500.00"),
            // credited 1000 × 0.5 = 500.00: qualifies, 50.00 × 0.5 = 25.00
            split("D3", "2026-10-03", "1000.00", "0.5"),
        ]);
        assert_eq!(f.lines("fee"), expect(&[("D2", "50.00"), ("D3", "25.00")]));
        // An affiliate is not a reseller: nothing at all.
        let f = f.edit("P1", |p| p.partner_type = "affiliate".into());
        assert_eq!(f.lines("fee"), expect(&[]));
    }

    #[test]
    fn cap_cuts_the_line_that_crosses_it_through_the_engine() {
        let body = r#"
[[rules]]
id = "fee"
kind = "flat"
amount = "50.00"
cap = "120.00"
"#;
        let f = Fixture::new(body).deals(vec![
            deal("D1", "2026-10-01", "1.00"),
            deal("D2", "2026-10-02", "1.00"),
            deal("D3", "2026-10-03", "1.00"),
        ]);
        let out = f.run();
        // 50 + 50 = 100 used; D3 cut to 120 − 100 = 20.00. Earned 120.00, paid 120.00.
        assert_eq!(
            super::super::testkit::amounts(&out.lines),
            expect(&[("D1", "50.00"), ("D2", "50.00"), ("D3", "20.00")])
        );
        assert_eq!(out.payouts[0].paid, d("120.00"));
    }

    #[test]
    fn parse_reads_the_amount_and_reports_a_negative_one() {
        let ok = program(
            r#"[program]
id = "p"
name = "P"
currency = "USD"

[[rules]]
id = "fee"
kind = "flat"
amount = 12.5
"#,
        );
        assert_eq!(
            ok.rules[0].kind,
            RuleKind::Flat(Config {
                amount: d("12.5"),
                per: Per::Deal,
                pay_on: PayOn::Close,
            })
        );
        let errors = parse_errors(
            r#"[program]
id = "p"
name = "P"
currency = "USD"

[[rules]]
id = "fee"
kind = "flat"
amount = "-5"
"#,
        );
        // line 9 `amount = "-5"`: the value starts after `amount = ` (9 characters), column 10
        assert_eq!(
            errors,
            vec![(
                9,
                10,
                "`rules[0].amount` must be zero or more, found -5".to_string()
            )]
        );
        let missing = parse_errors(
            "[program]\nid = \"p\"\nname = \"P\"\ncurrency = \"USD\"\n\n[[rules]]\nid = \"fee\"\nkind = \"flat\"\n",
        );
        // a missing key is reported where the rule's table starts: `[[rules]]`, line 6 column 1
        assert_eq!(
            missing,
            vec![(6, 1, "missing required key `rules[0].amount`".to_string())]
        );
    }

    const PER_UNIT: &str = r#"
[[rules]]
id = "fee"
kind = "flat"
amount = "5.00"
per = "unit"
"#;

    #[test]
    fn per_unit_pays_the_amount_times_quantity_times_share() {
        use super::super::testkit::qty;
        let cases: Vec<(&str, Rows, Want)> = vec![
            // no quantity: 1 unit, 5.00 × 1 = 5.00
            (
                "default quantity",
                vec![deal("D1", "2026-10-05", "1000.00")],
                vec![("D1", "5.00")],
            ),
            // 5.00 × 12 = 60.00, whatever the amount
            (
                "twelve units",
                vec![qty(deal("D1", "2026-10-05", "1.00"), 12)],
                vec![("D1", "60.00")],
            ),
            // 24 × 0.5 = 12 units: 5.00 × 12 = 60.00
            (
                "split row",
                vec![qty(split("D1", "2026-10-05", "100.00", "0.5"), 24)],
                vec![("D1", "60.00")],
            ),
            // 3 × 0.3333 = 0.9999 units: 5.00 × 0.9999 = 4.9995 → half-up 5.00
            (
                "fractional units round once",
                vec![qty(split("D1", "2026-10-05", "100.00", "0.3333"), 3)],
                vec![("D1", "5.00")],
            ),
        ];
        for (name, deals, expected) in cases {
            let f = Fixture::new(PER_UNIT).deals(deals);
            assert_eq!(f.lines("fee"), expect(&expected), "{name}");
        }
        // per = "deal" (the default) ignores the quantity: 50.00 × 1
        let f = Fixture::new(FEE).deals(vec![qty(deal("D1", "2026-10-05", "1.00"), 12)]);
        assert_eq!(f.lines("fee"), expect(&[("D1", "50.00")]));
    }

    #[test]
    fn per_unit_notes_the_units_and_their_quantity_and_share() {
        use super::super::testkit::qty;
        let f = Fixture::new(PER_UNIT).deals(vec![
            qty(deal("D1", "2026-10-05", "1.00"), 12),
            qty(split("D2", "2026-10-06", "1.00", "0.5"), 24),
        ]);
        let out = f.output("fee");
        assert_eq!(out.lines[0].note, "flat 5.00 per unit × 12 units");
        assert_eq!(
            out.lines[1].note,
            "flat 5.00 per unit × 12 units (quantity 24 × share 0.5)"
        );
        // basis is the units, rate the amount per unit
        assert_eq!(out.lines[1].basis, Some(d("12")));
        assert_eq!(out.lines[1].rate, Some(d("5.00")));
    }

    #[test]
    fn per_unit_overflow_is_an_error_naming_partner_and_rule() {
        use super::super::testkit::qty;
        let body = PER_UNIT.replace("5.00", "99999999999999");
        let f = Fixture::new(&body).deals(vec![qty(deal("D1", "2026-10-05", "1.00"), u64::MAX)]);
        let err = f.try_output("fee").unwrap_err().to_string();
        assert!(err.starts_with("partner P1, rule fee: deal D1"), "{err}");
    }

    #[test]
    fn per_must_be_deal_or_unit() {
        let errors = parse_errors(
            r#"[program]
id = "p"
name = "P"
currency = "USD"

[[rules]]
id = "fee"
kind = "flat"
amount = "5"
per = "seat"
"#,
        );
        // line 10 `per = "seat"`: the value starts at column 7
        assert_eq!(
            errors,
            vec![(
                10,
                7,
                "`rules[0].per` must be one of deal, unit, found \"seat\"".to_string()
            )]
        );
    }
}
