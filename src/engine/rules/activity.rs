//! `activity` (SPEC §4.8): `amount` per unit of the named activity in the period, at most
//! `max_per_period` units per partner. One line per partner and period.

use super::RuleOutput;
use crate::engine::{Line, LineKind, PartnerCtx, Source};
use crate::error::Result;
use crate::program::Rule;
use crate::program::parse::{Bad, Src, Tbl};
use rust_decimal::Decimal;

/// `activity`'s configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The activity name matched in activities.csv.
    pub activity: String,
    /// Paid per unit of quantity.
    pub amount: Decimal,
    /// At most this many units paid per partner and period.
    pub max_per_period: Option<u64>,
}

/// The keys an `activity` rule may have besides `id`, `kind`, `when` and `cap`.
pub const KEYS: &[&str] = &["activity", "amount", "max_per_period"];

pub(crate) fn parse(src: &mut Src, t: &Tbl) -> Result<Config, Bad> {
    let activity = t.string(src, "activity");
    let amount = t.non_negative(src, "amount");
    let max = t.integer::<u64>(src, "max_per_period", 1, i64::MAX);
    let activity = t.required(src, "activity", activity);
    let amount = t.required(src, "amount", amount);
    Ok(Config {
        activity: activity?,
        amount: amount?,
        max_per_period: max?,
    })
}

pub fn evaluate(rule: &Rule, config: &Config, ctx: &PartnerCtx) -> Result<RuleOutput> {
    let (activity, amount, max) = (
        config.activity.as_str(),
        config.amount,
        config.max_per_period,
    );
    let calc = ctx.calc(rule);
    let recorded = calc.ok(
        ctx.activities
            .iter()
            .filter(|a| a.activity == activity)
            .try_fold(0u64, |sum, a| sum.checked_add(a.quantity)),
        || format!("the total quantity of `{activity}` in the period"),
    )?;
    if recorded == 0 {
        return Ok(RuleOutput::default());
    }
    let raw = calc.mul(amount, Decimal::from(units_paid(recorded, max)), || {
        format!("{activity}: the amount for the units")
    })?;
    let units = units_paid(recorded, max);
    let mut note = format!("{units} × {activity} at {} each", ctx.money(amount));
    if units < recorded {
        note.push_str(&format!(
            " ({recorded} recorded, at most {} paid per period)",
            max.unwrap_or(0)
        ));
    }
    Ok(RuleOutput::lines(vec![Line {
        partner: ctx.index,
        rule_id: rule.id.clone(),
        kind: LineKind::Rule(super::Kind::Activity),
        source: Source::Activity,
        source_id: activity.to_string(),
        basis: Some(Decimal::from(units)),
        rate: Some(amount),
        amount: ctx.program.round(raw),
        note,
    }]))
}

fn units_paid(recorded: u64, max: Option<u64>) -> u64 {
    max.map_or(recorded, |m| recorded.min(m))
}
