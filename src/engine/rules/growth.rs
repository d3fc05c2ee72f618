//! `growth` (SPEC §4.7): qualifying revenue counting in the period against the revenue counting in the
//! previous period of the same length (each by its own period's counting rule). Pays when previous > 0
//! and current ≥ previous × (1 + min_growth): `rate` × (current − previous), or a fixed `amount`.

use super::{RuleOutput, period_line, revenue};
use crate::engine::PartnerCtx;
use crate::error::Result;
use crate::model::money::format_percent;
use crate::program::parse::{Bad, Src, Tbl, pay};
use crate::program::{Pay, Rule};
use rust_decimal::Decimal;

/// `growth`'s configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The least growth over the previous period that pays (0.10 = +10%); default 0.
    pub min_growth: Decimal,
    /// A rate of the increase, or a fixed amount.
    pub pay: Pay,
}

/// The keys a `growth` rule may have besides `id`, `kind`, `when` and `cap`.
pub const KEYS: &[&str] = &["min_growth", "rate", "amount"];

pub(crate) fn parse(src: &mut Src, t: &Tbl) -> Result<Config, Bad> {
    let min_growth = t.rate(src, "min_growth");
    let p = pay(src, t);
    Ok(Config {
        min_growth: min_growth?.unwrap_or(Decimal::ZERO),
        pay: p?,
    })
}

pub fn evaluate(rule: &Rule, config: &Config, ctx: &PartnerCtx) -> Result<RuleOutput> {
    let Config { min_growth, pay } = *config;
    let calc = ctx.calc(rule);
    let current = revenue(&ctx.qualifying(rule, ctx.deals), calc)?;
    let previous = revenue(&ctx.qualifying(rule, ctx.previous), calc)?;
    if previous <= Decimal::ZERO {
        return Ok(RuleOutput::default());
    }
    let required = calc.ok(previous.checked_mul(Decimal::ONE + min_growth), || {
        "the revenue required for growth".into()
    })?;
    if current < required {
        return Ok(RuleOutput::default());
    }
    let increase = current - previous;
    let ratio = calc.ok(increase.checked_div(previous), || "the growth rate".into())?;
    let percent = calc.mul(ratio.round_dp(4), Decimal::ONE_HUNDRED, || {
        "the growth rate".into()
    })?;
    let growth = format!("{}%", percent.normalize());
    let base = format!(
        "revenue {} vs {} in {} (+{growth}, at least +{} required)",
        ctx.money(current),
        ctx.money(previous),
        ctx.period.previous(),
        format_percent(min_growth)
    );
    let line = match pay {
        Pay::Rate(rate) => period_line(
            rule,
            ctx,
            Some(increase),
            Some(rate),
            calc.mul(rate, increase, || "the growth bonus".into())?,
            format!(
                "{base}: {} of the increase {}",
                format_percent(rate),
                ctx.money(increase)
            ),
        ),
        Pay::Amount(amount) => period_line(
            rule,
            ctx,
            Some(increase),
            None,
            amount,
            format!("{base}: fixed bonus"),
        ),
    };
    Ok(RuleOutput::lines(vec![line]))
}
