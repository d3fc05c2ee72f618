//! `flat` (SPEC §4.1): a fixed amount × the partner's share, per qualifying deal row (referral fees).

use super::{RuleOutput, deal_line, share_note};
use crate::engine::PartnerCtx;
use crate::error::Result;
use crate::program::Rule;
use crate::program::parse::{Bad, Src, Tbl};
use rust_decimal::Decimal;

/// `flat`'s configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Paid per qualifying deal row, × the row's share.
    pub amount: Decimal,
}

/// The keys a `flat` rule may have besides `id`, `kind`, `when` and `cap`.
pub const KEYS: &[&str] = &["amount", "modifiers"];

pub(crate) fn parse(src: &mut Src, t: &Tbl) -> Result<Config, Bad> {
    let amount = t.non_negative(src, "amount");
    Ok(Config {
        amount: t.required(src, "amount", amount)?,
    })
}

pub fn evaluate(rule: &Rule, config: &Config, ctx: &PartnerCtx) -> Result<RuleOutput> {
    let amount = config.amount;
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
