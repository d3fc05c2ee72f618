//! Nudges (an addition to SPEC §5, documented in docs/RULES.md): partners within `[nudges] within` (a
//! fraction of the next threshold) of the next tier of a tiered rule, a rebate threshold or tier, a
//! goal target, or the next computed level. `gain` is computed, not guessed: the rule is evaluated
//! again with the gap closed, by one qualifying deal of exactly the gap closing on the period's last
//! day (deal-count measures: that many deals of zero revenue), and the difference in what the rule
//! pays (after its cap) is the gain. For a level, the gain is what all rules would pay this period at
//! the next level.

use super::line::Calc;
use super::{Line, PartnerCtx, evaluate_rules, rules};
use crate::error::{Error, Result};
use crate::model::{Deal, DealSource, DealStatus};
use crate::program::{Measure, Rule};
use rust_decimal::Decimal;

#[derive(Debug, Clone, PartialEq)]
pub struct Nudge {
    pub partner: usize,
    pub rule_id: String,
    pub current: Decimal,
    pub next_threshold: Decimal,
    pub gap: Decimal,
    pub gain: Decimal,
    /// The measure counts deals or units (current, next_threshold and gap are counts, not money).
    pub counts_deals: bool,
}

/// How a gap is closed: revenue (money), a number of deals, or a number of units (one deal of
/// that quantity, SPEC §8.4).
#[derive(Clone, Copy)]
enum Gap {
    Revenue(Decimal),
    Deals(Decimal),
    Units(Decimal),
}

fn synthetic_deals(rule: &Rule, ctx: &PartnerCtx, gap: Gap) -> Vec<Deal> {
    let (count, credited, quantity) = match gap {
        Gap::Revenue(g) => (1, g.max(rule.when.min_amount.unwrap_or(Decimal::ZERO)), 1),
        Gap::Deals(n) => (n.ceil().try_into().unwrap_or(1usize), Decimal::ZERO, 1),
        Gap::Units(n) => (
            1,
            rule.when.min_amount.unwrap_or(Decimal::ZERO),
            n.ceil().try_into().unwrap_or(1u64).max(1),
        ),
    };
    let source = match rule
        .when
        .source
        .as_ref()
        .and_then(|s| s.first())
        .map(String::as_str)
    {
        Some("influenced") => DealSource::Influenced,
        _ => DealSource::Sourced,
    };
    (0..count)
        .map(|i| Deal {
            // `~` sorts after every ordinary id, so the synthetic deals come last on the last day.
            deal_id: format!("~nudge-{i:06}").into(),
            partner: ctx.index,
            closed_on: ctx.period.end,
            amount: credited,
            currency: ctx.program.currency.as_str().into(),
            share: Decimal::ONE,
            quantity,
            credited,
            product: rule
                .when
                .product
                .as_ref()
                .and_then(|p| p.first())
                .map(|p| p.as_str().into()),
            customer_type: rule
                .when
                .customer_type
                .as_ref()
                .and_then(|p| p.first())
                .map(|p| p.as_str().into()),
            deal_name: None,
            source,
            status: DealStatus::Won,
            reversed_on: None,
            reversed_amount: None,
            credit: crate::model::Credit::Split,
        })
        .collect()
}

/// What one rule pays the partner (after its cap) over the given deals.
fn rule_total(rule: &Rule, ctx: &PartnerCtx) -> Result<Decimal> {
    let lines = super::rule_lines(ctx, rule, &mut Vec::new())?.lines;
    ctx.calc(rule)
        .sum(lines.iter().map(|l| l.amount), || "the rule's total".into())
}

fn gain_with_gap_closed(rule: &Rule, ctx: &PartnerCtx, gap: Gap) -> Result<Decimal> {
    let before = rule_total(rule, ctx)?;
    let mut deals: Vec<Deal> = ctx.deals.to_vec();
    deals.extend(synthetic_deals(rule, ctx, gap));
    let closed = PartnerCtx {
        deals: &deals,
        ..*ctx
    };
    let after = rule_total(rule, &closed).map_err(while_nudging)?;
    ctx.calc(rule)
        .ok(after.checked_sub(before), || "the nudge's gain".into())
}

/// An overflow met while re-evaluating a rule with the gap closed says so.
fn while_nudging(error: Error) -> Error {
    match error {
        Error::Calculation(m) => Error::Calculation(format!(
            "{m} (while computing the nudge gain with the gap to the next threshold closed)"
        )),
        other => other,
    }
}

pub fn nudges_for(ctx: &PartnerCtx, lines: &[Line]) -> Result<Vec<Nudge>> {
    let Some(config) = &ctx.program.nudges else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut consider = |calc: Calc,
                        counts_deals: bool,
                        current: Decimal,
                        next: Decimal,
                        gain: &dyn Fn(Gap) -> Result<Decimal>|
     -> Result<()> {
        let gap = calc.ok(next.checked_sub(current), || {
            "the gap to the next threshold".into()
        })?;
        let reach = calc.mul(config.within, next, || "the nudge window".into())?;
        if gap > Decimal::ZERO && gap <= reach {
            let gain = gain(if counts_deals {
                Gap::Deals(gap)
            } else {
                Gap::Revenue(gap)
            })?;
            if gain > Decimal::ZERO {
                out.push(Nudge {
                    partner: ctx.index,
                    rule_id: calc.rule.to_string(),
                    current,
                    next_threshold: next,
                    gap,
                    gain,
                    counts_deals,
                });
            }
        }
        Ok(())
    };
    for rule in &ctx.program.rules {
        if !rule.when.matches_partner(ctx.partner, ctx.level)
            || !rule.when.valid_during(ctx.period.start, ctx.period.end)
        {
            continue;
        }
        if let Some(t) = rules::next_threshold(rule, ctx)? {
            consider(ctx.calc(rule), t.counts_deals, t.current, t.next, &|gap| {
                let gap = match (t.counts_units, gap) {
                    (true, Gap::Deals(n)) => Gap::Units(n),
                    (_, gap) => gap,
                };
                gain_with_gap_closed(rule, ctx, gap)
            })?;
        }
    }
    if let Some(levels) = &ctx.program.levels {
        let measure = super::level_measure(levels, ctx.inputs.deals, ctx.index);
        if let Some(next) = levels.tiers.iter().find(|t| t.from > measure) {
            let calc = Calc {
                partner: &ctx.partner.id,
                rule: "levels",
            };
            let now = calc.sum(lines.iter().map(|l| l.amount), || {
                "the partner's lines".into()
            })?;
            consider(
                calc,
                levels.measure != Measure::Revenue,
                measure,
                next.from,
                &|_| {
                    let at_next = PartnerCtx {
                        level: Some(next.id.as_str()),
                        ..*ctx
                    };
                    let lines = evaluate_rules(&at_next, &mut Vec::new())
                        .map_err(while_nudging)?
                        .lines;
                    let then = calc.sum(lines.iter().map(|l| l.amount), || {
                        "the partner's lines at the next level".into()
                    })?;
                    calc.ok(then.checked_sub(now), || "the nudge's gain".into())
                },
            )?;
        }
    }
    Ok(out)
}
