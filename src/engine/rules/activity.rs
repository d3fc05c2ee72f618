//! `activity` (SPEC §4.8): `amount` per unit of the named activity in the period, at most
//! `max_per_period` units per partner. One line per partner and period.

use super::RuleOutput;
use crate::engine::{Line, LineKind, PartnerCtx, Source};
use crate::program::Rule;
use rust_decimal::Decimal;

pub fn evaluate(
    rule: &Rule,
    activity: &str,
    amount: Decimal,
    max: Option<u64>,
    ctx: &PartnerCtx,
) -> RuleOutput {
    let recorded: u64 = ctx
        .activities
        .iter()
        .filter(|a| a.activity == activity)
        .map(|a| a.quantity)
        .sum();
    if recorded == 0 {
        return RuleOutput::default();
    }
    let units = max.map_or(recorded, |m| recorded.min(m));
    let mut note = format!("{units} × {activity} at {} each", ctx.money(amount));
    if units < recorded {
        note.push_str(&format!(
            " ({recorded} recorded, at most {} paid per period)",
            max.unwrap_or(0)
        ));
    }
    RuleOutput::lines(vec![Line {
        partner: ctx.index,
        rule_id: rule.id.clone(),
        kind: LineKind::Rule("activity"),
        source: Source::Activity,
        source_id: activity.to_string(),
        basis: Some(Decimal::from(units)),
        rate: Some(amount),
        amount: ctx.program.round(amount * Decimal::from(units)),
        note,
    }])
}
