//! `spif` (SPEC §4.4): deals closed inside both the SPIF window and the period earn a fixed amount
//! (× share, like `flat`, so a split deal is not paid twice) or a rate of the credited amount; with
//! `max_deals`, only the partner's first deals in (closed_on, deal_id) order.

use super::{RuleOutput, deal_line, share_note};
use crate::engine::PartnerCtx;
use crate::error::Result;
use crate::model::money::format_percent;
use crate::program::parse::{Bad, Src, Tbl, pay};
use crate::program::{Pay, Rule};
use chrono::NaiveDate;

/// `spif`'s configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The window, both days included.
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// A fixed amount per deal row (× share) or a rate of the credited amount.
    pub pay: Pay,
    /// At most this many deals per partner and period, the first in (closed_on, deal_id) order.
    pub max_deals: Option<u64>,
}

/// The keys a `spif` rule may have besides `id`, `kind`, `when` and `cap`.
pub const KEYS: &[&str] = &["start", "end", "amount", "rate", "max_deals", "modifiers"];

pub(crate) fn parse(src: &mut Src, t: &Tbl) -> Result<Config, Bad> {
    let start = t.date(src, "start");
    let end = t.date(src, "end");
    let max_deals = t.integer::<u64>(src, "max_deals", 1, i64::MAX);
    let p = pay(src, t);
    let start = t.required(src, "start", start);
    let end = t.required(src, "end", end);
    Ok(Config {
        start: start?,
        end: end?,
        pay: p?,
        max_deals: max_deals?,
    })
}

/// Lint: a window is inclusive, so it is empty exactly when it is inverted (start == end is one
/// day); a window with no day in any period `run` accepts can never pay either.
pub(crate) fn lints(config: &Config) -> Vec<(&'static str, String)> {
    let Config { start, end, .. } = config;
    let runnable = NaiveDate::from_ymd_opt(crate::model::period::FIRST_YEAR, 1, 1).zip(
        NaiveDate::from_ymd_opt(crate::model::period::LAST_YEAR, 12, 31),
    );
    if end < start {
        vec![(
            "end",
            format!("SPIF window is empty: end {end} is before start {start}"),
        )]
    } else if runnable.is_some_and(|(first, last)| *end < first || *start > last) {
        vec![(
            "start",
            format!(
                "SPIF window {start} to {end} is outside every period payline can run (years {} \
                 to {}); the rule can never pay",
                crate::model::period::FIRST_YEAR,
                crate::model::period::LAST_YEAR
            ),
        )]
    } else {
        Vec::new()
    }
}

pub fn evaluate(rule: &Rule, config: &Config, ctx: &PartnerCtx) -> Result<RuleOutput> {
    let Config {
        start,
        end,
        pay,
        max_deals,
    } = *config;
    let calc = ctx.calc(rule);
    let in_window = ctx
        .qualifying(rule, ctx.deals)
        .into_iter()
        .filter(|d| start <= d.closed_on && d.closed_on <= end);
    let limit = max_deals
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(usize::MAX);
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
