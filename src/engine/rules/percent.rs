//! `percent` (SPEC §4.2): `rate` × the credited amount of each qualifying deal.

use super::{RuleOutput, deal_line};
use crate::engine::PartnerCtx;
use crate::error::Result;
use crate::model::money::format_percent;
use crate::program::Rule;
use crate::program::parse::{Bad, Src, Tbl};
use rust_decimal::Decimal;

/// `percent`'s configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Paid on each qualifying deal's credited amount.
    pub rate: Decimal,
}

/// The keys a `percent` rule may have besides `id`, `kind`, `when` and `cap`.
pub const KEYS: &[&str] = &["rate", "modifiers"];

pub(crate) fn parse(src: &mut Src, t: &Tbl) -> Result<Config, Bad> {
    let rate = t.rate(src, "rate");
    Ok(Config {
        rate: t.required(src, "rate", rate)?,
    })
}

pub fn evaluate(rule: &Rule, config: &Config, ctx: &PartnerCtx) -> Result<RuleOutput> {
    let rate = config.rate;
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
