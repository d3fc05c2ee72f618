//! `percent` (SPEC §4.2): `rate` × the credited amount of each qualifying deal.

use super::{RuleOutput, deal_line};
use crate::engine::PartnerCtx;
use crate::money::format_percent;
use crate::program::Rule;
use rust_decimal::Decimal;

pub fn evaluate(rule: &Rule, rate: Decimal, ctx: &PartnerCtx) -> RuleOutput {
    let lines = ctx
        .qualifying(rule, ctx.deals)
        .into_iter()
        .map(|deal| {
            let note = format!("{} of {}", format_percent(rate), ctx.money(deal.credited));
            deal_line(
                rule,
                ctx,
                deal,
                deal.credited,
                Some(rate),
                rate * deal.credited,
                note,
            )
        })
        .collect();
    RuleOutput::lines(lines)
}
