//! `goal` (SPEC §4.6): a fixed `amount`, paid once per period when the partner's period measure
//! (qualifying revenue or deal count) reaches the target. The target is a number, the partner's
//! `quota`, or a table by level; a partner whose level is not in the table has no goal.

use super::{RuleOutput, period_line, revenue};
use crate::engine::PartnerCtx;
use crate::error::{Result, Warning, WarningCode};
use crate::model::money::format_rate;
use crate::program::parse::{Bad, LevelValues, Src, Tbl, choice, decimal_value, level_table};
use crate::program::{Measure, Rule};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use toml::de::DeValue;

/// What the goal's measure must reach: a number, the partner's quota, or a number per level.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Fixed(Decimal),
    Quota,
    ByLevel(BTreeMap<String, Decimal>),
}

/// `goal`'s configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub measure: Measure,
    pub target: Target,
    /// Paid once per period when the target is reached.
    pub amount: Decimal,
}

/// The keys a `goal` rule may have besides `id`, `kind`, `when` and `cap`.
pub const KEYS: &[&str] = &["measure", "target", "amount"];

pub(crate) fn parse(src: &mut Src, t: &Tbl) -> Result<Config, Bad> {
    let measure = choice(src, t, "measure", Measure::CHOICES);
    let amount = t.non_negative(src, "amount");
    let target = parse_target(src, t);
    let measure = t.required(src, "measure", measure);
    let amount = t.required(src, "amount", amount);
    Ok(Config {
        measure: measure?,
        target: target?,
        amount: amount?,
    })
}

/// A target of 0 or less is an error, never a lint (SPEC §6): every partner would reach it.
fn parse_target(src: &mut Src, t: &Tbl) -> Result<Target, Bad> {
    let Some(v) = t.get("target") else {
        src.error(
            t.span.clone(),
            format!("missing required key `{}`", t.name("target")),
        );
        return Err(Bad);
    };
    match v.get_ref() {
        DeValue::String(s) if s == "quota" => Ok(Target::Quota),
        DeValue::Table(_) => match t.table(src, "target")? {
            Some(table) => Ok(Target::ByLevel(level_table(
                src,
                &table,
                LevelValues::Positive,
            )?)),
            None => Err(Bad),
        },
        _ => {
            let name = t.name("target");
            let d = decimal_value(src, v, &name)?;
            if d <= Decimal::ZERO {
                src.error(
                    v.span(),
                    format!(
                        "`{name}` must be above 0, found {d}: a target of {d} is reached by every \
                         partner, even one with no deals"
                    ),
                );
                return Err(Bad);
            }
            Ok(Target::Fixed(d))
        }
    }
}

/// The partner's target and where it stands, for nudges; `None` when the partner has no target.
pub(crate) fn next_threshold(
    rule: &Rule,
    config: &Config,
    ctx: &PartnerCtx,
) -> Result<Option<super::Threshold>> {
    let Ok((goal, _)) = target_for(&config.target, ctx) else {
        return Ok(None);
    };
    let current = current(rule, config.measure, ctx)?;
    Ok(Some(super::Threshold {
        current,
        next: goal,
        counts_deals: config.measure == Measure::Deals,
    }))
}

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

pub fn evaluate(rule: &Rule, config: &Config, ctx: &PartnerCtx) -> Result<RuleOutput> {
    let (measure, target, amount) = (config.measure, &config.target, config.amount);
    let (goal, how) = match target_for(target, ctx) {
        Ok(t) => t,
        Err(reason) => {
            let mut out = RuleOutput::default();
            if let Some(reason) = reason {
                out.warnings.push(Warning::new(
                    WarningCode::NoQuota,
                    format!("{reason}: goal rule `{}` skipped", rule.id),
                ));
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
