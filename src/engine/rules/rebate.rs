//! `rebate` (SPEC §4.5): once the partner's qualifying revenue in the period reaches the threshold, one
//! period line of `rate` × that whole revenue. With `tiers`, the rate of the highest tier reached
//! applies to the whole revenue (retroactive).

use super::{RuleOutput, period_line, revenue};
use crate::engine::PartnerCtx;
use crate::error::Result;
use crate::model::money::format_percent;
use crate::program::{Pay, RebateBasis, Rule};
use rust_decimal::Decimal;

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

pub fn evaluate(rule: &Rule, basis: &RebateBasis, ctx: &PartnerCtx) -> Result<RuleOutput> {
    let calc = ctx.calc(rule);
    let deals = ctx.qualifying(rule, ctx.deals);
    let total = revenue(&deals, calc)?;
    let Some((threshold, rate)) = reached(basis, total) else {
        return Ok(RuleOutput::default());
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
    Ok(RuleOutput::lines(vec![period_line(
        rule,
        ctx,
        Some(total),
        Some(rate),
        raw,
        note,
    )]))
}
