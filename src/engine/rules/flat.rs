//! `flat` (SPEC §4.1): a fixed amount × the partner's share, per qualifying deal row (referral fees).

use super::{RuleOutput, deal_line, share_note};
use crate::engine::PartnerCtx;
use crate::error::Result;
use crate::program::Rule;
use rust_decimal::Decimal;

pub fn evaluate(rule: &Rule, amount: Decimal, ctx: &PartnerCtx) -> Result<RuleOutput> {
    let calc = ctx.calc(rule);
    let lines = ctx
        .qualifying(rule, ctx.deals)
        .into_iter()
        .map(|deal| {
            let note = format!("flat {} per deal{}", ctx.money(amount), share_note(deal));
            let raw = calc.mul(amount, deal.share, || {
                format!("deal {}: the fee", deal.deal_id)
            })?;
            deal_line(rule, ctx, deal, deal.share, Some(amount), raw, note)
        })
        .collect::<Result<_>>()?;
    Ok(RuleOutput::lines(lines))
}
