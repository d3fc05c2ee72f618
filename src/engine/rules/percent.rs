//! `percent` (SPEC §4.2): `rate` × the credited amount of each qualifying deal.

use super::{RuleOutput, deal_line};
use crate::engine::PartnerCtx;
use crate::error::Result;
use crate::model::money::format_percent;
use crate::program::Rule;
use rust_decimal::Decimal;

pub fn evaluate(rule: &Rule, rate: Decimal, ctx: &PartnerCtx) -> Result<RuleOutput> {
    let calc = ctx.calc(rule);
    let lines = ctx
        .qualifying(rule, ctx.deals)
        .into_iter()
        .map(|deal| {
            let note = format!("{} of {}", format_percent(rate), ctx.money(deal.credited));
            let raw = calc.mul(rate, deal.credited, || {
                format!("deal {}: the commission", deal.deal_id)
            })?;
            deal_line(rule, ctx, deal, deal.credited, Some(rate), raw, note)
        })
        .collect::<Result<_>>()?;
    Ok(RuleOutput::lines(lines))
}
