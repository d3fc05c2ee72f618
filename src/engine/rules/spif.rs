//! `spif` (SPEC §4.4): deals closed inside both the SPIF window and the period earn a fixed amount
//! (× share, like `flat`, so a split deal is not paid twice) or a rate of the credited amount; with
//! `max_deals`, only the partner's first deals in (closed_on, deal_id) order.

use super::{RuleOutput, deal_line, share_note};
use crate::engine::PartnerCtx;
use crate::error::Result;
use crate::model::money::format_percent;
use crate::program::{Pay, Rule};
use chrono::NaiveDate;

pub fn evaluate(
    rule: &Rule,
    start: NaiveDate,
    end: NaiveDate,
    pay: Pay,
    max_deals: Option<u64>,
    ctx: &PartnerCtx,
) -> Result<RuleOutput> {
    let calc = ctx.calc(rule);
    let in_window = ctx
        .qualifying(rule, ctx.deals)
        .into_iter()
        .filter(|d| start <= d.closed_on && d.closed_on <= end);
    let limit = max_deals.map(|n| n as usize).unwrap_or(usize::MAX);
    let lines = in_window
        .take(limit)
        .enumerate()
        .map(|(i, deal)| {
            let window = format!("SPIF {start}..{end}");
            let nth = match max_deals {
                Some(n) => format!(", deal {} of at most {n}", i + 1),
                None => String::new(),
            };
            match pay {
                Pay::Amount(amount) => deal_line(
                    rule,
                    ctx,
                    deal,
                    deal.share,
                    Some(amount),
                    calc.mul(amount, deal.share, || {
                        format!("deal {}: the SPIF amount", deal.deal_id)
                    })?,
                    format!(
                        "{window}: {} per deal{}{nth}",
                        ctx.money(amount),
                        share_note(deal)
                    ),
                ),
                Pay::Rate(rate) => deal_line(
                    rule,
                    ctx,
                    deal,
                    deal.credited,
                    Some(rate),
                    calc.mul(rate, deal.credited, || {
                        format!("deal {}: the SPIF amount", deal.deal_id)
                    })?,
                    format!(
                        "{window}: {} of {}{nth}",
                        format_percent(rate),
                        ctx.money(deal.credited)
                    ),
                ),
            }
        })
        .collect::<Result<_>>()?;
    Ok(RuleOutput::lines(lines))
}
