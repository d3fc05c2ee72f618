//! `goal` (SPEC §4.6): a fixed `amount`, paid once per period when the partner's period measure
//! (qualifying revenue or deal count) reaches the target. The target is a number, the partner's
//! `quota`, or a table by level; a partner whose level is not in the table has no goal.

use super::{RuleOutput, period_line, revenue};
use crate::engine::PartnerCtx;
use crate::error::Result;
use crate::model::money::format_rate;
use crate::program::{Measure, Rule, Target};
use rust_decimal::Decimal;

/// The partner's target and how it was chosen, or why there is none.
pub fn target_for(target: &Target, ctx: &PartnerCtx) -> Result<(Decimal, String), Option<String>> {
    match target {
        Target::Fixed(t) => Ok((*t, String::new())),
        // Never paid for reaching a target of zero (SPEC §4.6): no quota and a zero quota alike.
        Target::Quota => match ctx.partner.quota {
            Some(q) if q > Decimal::ZERO => Ok((q, " (quota)".into())),
            Some(q) => Err(Some(format!(
                "partner {} has a quota of {}, not a positive one",
                ctx.partner.id,
                ctx.money(q)
            ))),
            None => Err(Some(format!("partner {} has no quota", ctx.partner.id))),
        },
        Target::ByLevel(table) => match ctx.level.and_then(|l| table.get(l).map(|t| (l, *t))) {
            Some((level, t)) => Ok((t, format!(" ({level})"))),
            None => Err(None),
        },
    }
}

/// The partner's period measure for a goal.
pub fn current(rule: &Rule, measure: Measure, ctx: &PartnerCtx) -> Result<Decimal> {
    let deals = ctx.qualifying(rule, ctx.deals);
    match measure {
        Measure::Revenue => revenue(&deals, ctx.calc(rule)),
        Measure::Deals => Ok(Decimal::from(deals.len())),
    }
}

pub fn format_measure(measure: Measure, value: Decimal, ctx: &PartnerCtx) -> String {
    match measure {
        Measure::Revenue => ctx.money(value),
        Measure::Deals => format_rate(value),
    }
}

pub fn evaluate(
    rule: &Rule,
    measure: Measure,
    target: &Target,
    amount: Decimal,
    ctx: &PartnerCtx,
) -> Result<RuleOutput> {
    let (goal, how) = match target_for(target, ctx) {
        Ok(t) => t,
        Err(reason) => {
            let mut out = RuleOutput::default();
            if let Some(reason) = reason {
                out.warnings
                    .push(format!("{reason}: goal rule `{}` skipped", rule.id));
            }
            return Ok(out);
        }
    };
    let value = current(rule, measure, ctx)?;
    if value < goal {
        return Ok(RuleOutput::default());
    }
    let note = format!(
        "{} {} reaches target {}{how}",
        measure.name(),
        format_measure(measure, value, ctx),
        format_measure(measure, goal, ctx)
    );
    Ok(RuleOutput::lines(vec![period_line(
        rule,
        ctx,
        Some(value),
        None,
        amount,
        note,
    )]))
}
