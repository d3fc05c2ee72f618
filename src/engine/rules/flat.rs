//! `flat` (SPEC §4.1): a fixed amount × the partner's share, per qualifying deal row (referral fees).

use super::{RuleOutput, deal_line, share_note};
use crate::engine::PartnerCtx;
use crate::program::Rule;
use rust_decimal::Decimal;

pub fn evaluate(rule: &Rule, amount: Decimal, ctx: &PartnerCtx) -> RuleOutput {
    let lines = ctx
        .qualifying(rule, ctx.deals)
        .into_iter()
        .map(|deal| {
            let note = format!("flat {} per deal{}", ctx.money(amount), share_note(deal));
            deal_line(
                rule,
                ctx,
                deal,
                deal.share,
                Some(amount),
                amount * deal.share,
                note,
            )
        })
        .collect();
    RuleOutput::lines(lines)
}
