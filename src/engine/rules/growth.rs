//! `growth` (SPEC §4.7): qualifying revenue counting in the period against the revenue counting in the
//! previous period of the same length (each by its own period's counting rule). Pays when previous > 0
//! and current ≥ previous × (1 + min_growth): `rate` × (current − previous), or a fixed `amount`.

use super::{RuleOutput, period_line, revenue};
use crate::engine::PartnerCtx;
use crate::money::format_percent;
use crate::program::{Pay, Rule};
use rust_decimal::Decimal;

pub fn evaluate(rule: &Rule, min_growth: Decimal, pay: Pay, ctx: &PartnerCtx) -> RuleOutput {
    let current = revenue(&ctx.qualifying(rule, ctx.deals));
    let previous = revenue(&ctx.qualifying(rule, ctx.previous));
    if previous <= Decimal::ZERO || current < previous * (Decimal::ONE + min_growth) {
        return RuleOutput::default();
    }
    let increase = current - previous;
    let growth = format_percent((increase / previous).round_dp(4));
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
            rate * increase,
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
    RuleOutput::lines(vec![line])
}
