//! `fund` (SPEC §4.13): MDF and co-op funds. Available this period = the ledger's fund balance +
//! `accrual_rate` × qualifying revenue (co-op) + `allocation` (fixed, or by level: MDF). Approved claims
//! decided in the period are paid in claim_id order up to what is available, one `claim` line each; the
//! rest stays in the fund (balances.csv `fund:RULE_ID`). A partner outside the rule's `when` accrues
//! nothing and its claims are paid nothing, with a warning; a balance it already had is kept.

use super::{RuleOutput, revenue};
use crate::engine::context::PartnerCtx;
use crate::engine::line::{Line, LineKind, Source};
use crate::error::{Result, Warning, WarningCode};
use crate::model::money::format_percent;
use crate::program::Rule;
use crate::program::parse::{Bad, Tbl, non_negative, rate};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// A fund's allocation per period: fixed, or by level.
#[derive(Debug, Clone, PartialEq)]
pub enum Allocation {
    Fixed(Decimal),
    ByLevel(BTreeMap<String, Decimal>),
}

/// `fund`'s configuration: co-op accrual, MDF allocation, or both.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub accrual_rate: Option<Decimal>,
    pub allocation: Option<Allocation>,
}

/// The keys a `fund` rule may have besides `id`, `kind`, `when` and `cap`.
pub const KEYS: &[&str] = &["accrual_rate", "allocation"];

/// Only the period's own rows.
pub const HISTORY: super::History = super::PERIOD_ONLY;

pub(crate) fn parse(t: &Tbl) -> Result<Config, Bad> {
    let accrual_rate = t.value("accrual_rate", rate);
    let allocation = match t.by_level("allocation", non_negative) {
        Some(by_level) => by_level.map(|m| Some(Allocation::ByLevel(m))),
        None => t
            .value("allocation", non_negative)
            .map(|a| a.map(Allocation::Fixed)),
    };
    let (accrual_rate, allocation) = (accrual_rate?, allocation?);
    if accrual_rate.is_none() && allocation.is_none() {
        let path = &t.path;
        return Err(t.error(format!(
            "`{path}` (fund) needs `accrual_rate`, `allocation` or both"
        )));
    }
    Ok(Config {
        accrual_rate,
        allocation,
    })
}

pub fn evaluate(
    rule: &Rule,
    config: &Config,
    eligible: bool,
    ctx: &PartnerCtx,
) -> Result<RuleOutput> {
    let (accrual_rate, allocation) = (config.accrual_rate, config.allocation.as_ref());
    let calc = ctx.calc(rule);
    let units = ctx.program.minor_units();
    let carried = ctx
        .inputs
        .ledger
        .funds
        .get(&(ctx.index, rule.id.to_string()))
        .copied()
        .unwrap_or(Decimal::ZERO);
    let mut out = RuleOutput::default();
    // SPEC §8.6: only claims decided inside the fund rule's effective dates are paid from it.
    let (claims, outside): (Vec<_>, Vec<_>) = ctx
        .claims
        .iter()
        .filter(|c| *c.fund == *rule.id)
        .partition(|c| c.decided_on.is_none_or(|d| rule.when.valid_on(d)));
    for c in outside {
        out.warnings.push(Warning::new(
            WarningCode::ClaimOutsideRuleDates,
            format!(
                "claim {} of partner {} on fund `{}` paid nothing: decided on {}, outside the rule's effective dates",
                c.claim_id,
                ctx.partner.id,
                rule.id,
                c.decided_on.map(|d| d.to_string()).unwrap_or_default()
            ),
        ));
    }
    if !eligible {
        for c in &claims {
            out.warnings.push(Warning::new(
                WarningCode::ClaimNotEligible,
                format!(
                    "claim {} of partner {} on fund `{}` paid nothing: the partner is not eligible for the fund",
                    c.claim_id, ctx.partner.id, rule.id
                ),
            ));
        }
        out.fund_available = (!carried.is_zero()).then_some(carried);
        return Ok(out);
    }
    let accrual = match accrual_rate {
        Some(rate) => {
            let revenue = revenue(&ctx.qualifying(rule, ctx.deals), calc)?;
            let accrued = calc.mul(rate, revenue, || "the fund accrual".into())?;
            calc.limited(ctx.program.round(accrued), "the fund accrual", units)?
        }
        None => Decimal::ZERO,
    };
    let in_force = rule.when.valid_during(ctx.period.start, ctx.period.end);
    let allocated = match allocation {
        _ if !in_force => Decimal::ZERO,
        None => Decimal::ZERO,
        Some(Allocation::Fixed(a)) => *a,
        Some(Allocation::ByLevel(table)) => ctx
            .level
            .and_then(|l| table.get(l).copied())
            .unwrap_or(Decimal::ZERO),
    };
    let available = calc.ok(
        carried
            .checked_add(accrual)
            .and_then(|v| v.checked_add(ctx.program.round(allocated))),
        || "the fund's available balance".into(),
    )?;
    let available = calc.limited(available, "the fund's available balance", units)?;
    let mut composition = vec![format!("carried {}", ctx.money(carried))];
    if let Some(rate) = accrual_rate {
        composition.push(format!(
            "accrued {} ({})",
            ctx.money(accrual),
            format_percent(rate)
        ));
    }
    if allocation.is_some() {
        composition.push(format!("allocated {}", ctx.money(allocated)));
    }
    let mut left = available;
    for claim in claims {
        // The claim is rounded to the currency's minor units before it is weighed against what is
        // left, so the fund never pays more than it holds (a 9.995 claim on 10.00 is 10.00).
        let claimed = ctx.program.round(claim.amount);
        let paid = claimed.min(left.max(Decimal::ZERO));
        left -= paid;
        let unpaid = claimed - paid;
        let mut note = format!(
            "claim {} on fund {}: {} available ({})",
            ctx.money(claimed),
            rule.id,
            ctx.money(paid + left),
            composition.join(", ")
        );
        if !unpaid.is_zero() {
            note.push_str(&format!("; {} unpaid", ctx.money(unpaid)));
            out.warnings.push(Warning::new(WarningCode::ClaimUnpaid, format!(
                "claim {} of partner {} on fund `{}`: {} of {} unpaid, the fund has no more available",
                claim.claim_id,
                ctx.partner.id,
                rule.id,
                ctx.money(unpaid),
                ctx.money(claimed)
            )));
        }
        out.lines.push(Line {
            partner: ctx.index,
            rule_id: rule.id.clone(),
            kind: LineKind::Claim,
            source: Source::Claim,
            source_id: claim.claim_id.as_str().into(),
            basis: Some(claimed),
            rate: None,
            amount: paid,
            note,
        });
    }
    if let Some(rate) = accrual_rate {
        out.fund_inflows.push((
            "accrual",
            accrual,
            format!(
                "co-op accrual: {} of qualifying revenue",
                format_percent(rate)
            ),
        ));
    }
    if allocation.is_some() {
        let note = match ctx.level {
            Some(level) => format!("allocation for level {level}"),
            None => "allocation".to_string(),
        };
        out.fund_inflows
            .push(("allocation", ctx.program.round(allocated), note));
    }
    out.fund_available = Some(available);
    Ok(out)
}

/// One fund of one partner after the period: its balance out and the lines that flowed into it.
pub(crate) struct FundState {
    pub balance: Decimal,
    /// `fund` lines on `fund:RULE_ID` for this period's accrual and allocation.
    pub inflows: Vec<Line>,
}

/// The fund after its claims were paid (and capped): what was available less what the claim lines
/// pay, and this period's accrual and allocation as `fund` lines on the fund's own account, so the
/// ledger's lines of `fund:RULE_ID` add up to its balance (SPEC §5).
pub(crate) fn state(
    ctx: &PartnerCtx,
    rule: &Rule,
    available: Decimal,
    claim_lines: &[Line],
    inflows: Vec<(&'static str, Decimal, String)>,
) -> Result<FundState> {
    let calc = ctx.calc(rule);
    let paid = calc.sum(claim_lines.iter().map(|l| l.amount), || {
        "the claims paid from the fund".into()
    })?;
    let left = calc.ok(available.checked_sub(paid), || "the fund balance".into())?;
    let inflows = inflows
        .into_iter()
        .filter(|(_, amount, _)| !amount.is_zero())
        .map(|(what, amount, note)| Line {
            partner: ctx.index,
            rule_id: rule.id.clone(),
            kind: LineKind::Fund,
            source: Source::Period,
            source_id: what.into(),
            basis: None,
            rate: None,
            amount,
            note,
        })
        .collect();
    Ok(FundState {
        balance: calc.limited(left, "the fund balance", ctx.program.minor_units())?,
        inflows,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testkit::Want;
    use super::super::testkit::{Fixture, HEADER, amounts, d, deal, expect, parse_errors, program};
    use super::*;
    use crate::engine::rules::RuleKind;

    const COOP: &str = r#"
[[rules]]
id = "f"
kind = "fund"
accrual_rate = "0.02"
allocation = "1000.00"
"#;

    fn inflows(out: &RuleOutput) -> Vec<(&'static str, Decimal)> {
        out.fund_inflows.iter().map(|(w, a, _)| (*w, *a)).collect()
    }

    #[test]
    fn accrual_and_allocation_pay_claims_in_claim_id_order() {
        // revenue 50000.00: accrual 0.02 × 50000 = 1000.00; allocation 1000.00;
        // available 0 + 1000 + 1000 = 2000.00
        let f = Fixture::new(COOP)
            .deals(vec![deal("D1", "2026-10-01", "50000.00")])
            .claim("C2", "f", "800.00")
            .claim("C1", "f", "1500.00");
        let out = f.output("f");
        // C1 first: 1500.00 of 2000.00, 500.00 left; C2 800.00 → 500.00 paid, 300.00 unpaid
        assert_eq!(
            amounts(&out.lines),
            expect(&[("C1", "1500.00"), ("C2", "500.00")])
        );
        assert_eq!(out.fund_available, Some(d("2000.00")));
        assert_eq!(
            inflows(&out),
            vec![("accrual", d("1000.00")), ("allocation", d("1000.00"))]
        );
        assert_eq!(
            out.lines[1].note,
            "claim 800.00 on fund f: 500.00 available (carried 0.00, accrued 1000.00 (2%), \
             allocated 1000.00); 300.00 unpaid"
        );
        assert_eq!(
            super::super::testkit::messages(&out.warnings),
            vec![
                "claim C2 of partner P1 on fund `f`: 300.00 of 800.00 unpaid, the fund has no \
                 more available"
                    .to_string()
            ]
        );
    }

    #[test]
    fn claims_against_the_carried_balance() {
        let text = "[[rules]]\nid = \"f\"\nkind = \"fund\"\nallocation = \"1000.00\"\n";
        let cases: Vec<(&str, Want, Want)> = vec![
            // available 250 + 1000 = 1250.00; C1 1200.00 paid in full
            ("in full", vec![("C1", "1200.00")], vec![("C1", "1200.00")]),
            // exactly what is available: 1250.00
            (
                "exactly available",
                vec![("C1", "1250.00")],
                vec![("C1", "1250.00")],
            ),
            // a cent more: 1250.00 paid, 0.01 unpaid
            (
                "a cent over",
                vec![("C1", "1250.01")],
                vec![("C1", "1250.00")],
            ),
            // "C10" sorts before "C9": C10 900.00 in full, C9 gets the 350.00 left
            (
                "claim_id order is text order",
                vec![("C9", "900.00"), ("C10", "900.00")],
                vec![("C10", "900.00"), ("C9", "350.00")],
            ),
            // no claims: no lines
            ("no claims", vec![], vec![]),
        ];
        for (name, claims, expected) in cases {
            let mut f = Fixture::new(text).fund_balance("f", "250.00");
            for (id, amount) in claims {
                f = f.claim(id, "f", amount);
            }
            let out = f.output("f");
            assert_eq!(amounts(&out.lines), expect(&expected), "{name}");
            // 250.00 carried + 1000.00
            assert_eq!(out.fund_available, Some(d("1250.00")), "{name}");
        }
    }

    #[test]
    fn a_claim_is_rounded_before_it_is_weighed() {
        let text = "[[rules]]\nid = \"f\"\nkind = \"fund\"\nallocation = \"10.00\"\n";
        // 9.995 rounds half-up to 10.00, exactly the 10.00 available: paid 10.00, nothing unpaid
        let out = Fixture::new(text).claim("C1", "f", "9.995").output("f");
        assert_eq!(amounts(&out.lines), expect(&[("C1", "10.00")]));
        assert!(out.warnings.is_empty());
    }

    #[test]
    fn level_allocations_and_ineligible_partners() {
        let text = "[[rules]]\nid = \"f\"\nkind = \"fund\"\nallocation = { gold = \"2000\", silver = \"500\" }\nwhen = { partner_type = [\"reseller\"] }\n";
        for (level, allocated) in [(Some("silver"), "500"), (Some("gold"), "2000"), (None, "0")] {
            let out = Fixture::new(text)
                .edit("P1", |p| p.level = level.map(String::from))
                .output("f");
            assert_eq!(
                inflows(&out),
                vec![("allocation", d(allocated))],
                "{level:?}"
            );
            assert_eq!(out.fund_available, Some(d(allocated)), "{level:?}");
        }
        // an agency is not eligible: its claim is paid nothing, with a warning; its 70.00 is kept
        let f = Fixture::new(text)
            .edit("P1", |p| p.partner_type = "agency".into())
            .fund_balance("f", "70.00")
            .claim("C1", "f", "50.00");
        let out = f.output("f");
        assert!(out.lines.is_empty());
        assert!(out.fund_inflows.is_empty());
        assert_eq!(out.fund_available, Some(d("70.00")));
        assert_eq!(
            super::super::testkit::messages(&out.warnings),
            vec![
                "claim C1 of partner P1 on fund `f` paid nothing: the partner is not eligible for \
                 the fund"
                    .to_string()
            ]
        );
    }

    #[test]
    fn the_engine_keeps_what_the_claims_left_in_the_fund() {
        // accrual 0.02 × 50000 = 1000.00 + allocation 1000.00 = 2000.00; claim 1500.00 paid;
        // fund balance 2000 − 1500 = 500.00; the partner is paid 1500.00
        let f = Fixture::new(COOP)
            .deals(vec![deal("D1", "2026-10-01", "50000.00")])
            .claim("C1", "f", "1500.00");
        let out = f.run();
        assert_eq!(amounts(&out.lines), expect(&[("C1", "1500.00")]));
        let balances: Vec<(String, Decimal)> = out
            .balances
            .iter()
            .map(|b| (b.account.clone(), b.balance))
            .collect();
        assert_eq!(balances, vec![("fund:f".to_string(), d("500.00"))]);
        assert_eq!(out.payouts[0].paid, d("1500.00"));
        // movements: accrual +1000, allocation +1000, the draw −1500 on the fund, payout −1500
        let movements: Vec<(String, String, Decimal)> = out
            .movements
            .iter()
            .map(|l| (l.account(), l.source_id.to_string(), l.amount))
            .collect();
        assert_eq!(
            movements,
            vec![
                ("fund:f".to_string(), "accrual".to_string(), d("1000.00")),
                ("fund:f".to_string(), "allocation".to_string(), d("1000.00")),
                ("fund:f".to_string(), "C1".to_string(), d("-1500.00")),
                ("payout".to_string(), String::new(), d("-1500.00")),
            ]
        );
    }

    #[test]
    fn parse_reads_both_forms_and_refuses_a_fund_with_neither() {
        let ok = program(&format!("{HEADER}{COOP}"));
        assert_eq!(
            ok.rules[0].kind,
            RuleKind::Fund(Config {
                accrual_rate: Some(d("0.02")),
                allocation: Some(Allocation::Fixed(d("1000"))),
            })
        );
        let errors = parse_errors(
            "[program]\nid = \"p\"\nname = \"P\"\ncurrency = \"USD\"\n\n[[rules]]\nid = \"f\"\nkind = \"fund\"\n",
        );
        // at `[[rules]]`, line 6 column 1
        assert_eq!(
            errors,
            vec![(
                6,
                1,
                "`rules[0]` (fund) needs `accrual_rate`, `allocation` or both".to_string()
            )]
        );
        let errors = parse_errors(
            r#"[program]
id = "p"
name = "P"
currency = "USD"

[[rules]]
id = "f"
kind = "fund"
allocation = { gold = "-5" }
"#,
        );
        // line 9: `allocation = { gold = ` is 22 characters, the value at column 23
        assert_eq!(
            errors,
            vec![(
                9,
                23,
                "`rules[0].allocation.gold` must be zero or more, found -5".to_string()
            )]
        );
    }
}
