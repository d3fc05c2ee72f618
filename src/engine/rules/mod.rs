//! One module per rule kind; each file holds that kind's whole semantics (SPEC §4.1–4.8, §4.13).

mod activity;
mod flat;
mod fund;
mod goal;
pub(crate) use goal::{current as goal_current, target_for as goal_target};
mod growth;
mod milestone;
mod percent;
mod rebate;
mod spif;
pub mod tiered;

use super::line::Calc;
use super::{Line, LineKind, PartnerCtx, Source};
use crate::error::Result;
use crate::model::Deal;
use crate::model::money::format_rate;
use crate::program::{Rule, RuleKind};
use rust_decimal::Decimal;

#[derive(Debug, Default)]
pub struct RuleOutput {
    pub lines: Vec<Line>,
    pub warnings: Vec<String>,
    /// Fund rules: what the partner had available in the fund this period (before claims).
    pub fund_available: Option<Decimal>,
    /// Fund rules: what flowed into the fund this period, as (`accrual` | `allocation`, amount, note).
    pub fund_inflows: Vec<(&'static str, Decimal, String)>,
}

impl RuleOutput {
    fn lines(lines: Vec<Line>) -> Self {
        RuleOutput {
            lines,
            ..RuleOutput::default()
        }
    }
}

impl PartnerCtx<'_> {
    /// Checked arithmetic whose errors name this partner and `rule`.
    pub(crate) fn calc<'r>(&'r self, rule: &'r Rule) -> Calc<'r> {
        Calc {
            partner: &self.partner.id,
            rule: &rule.id,
        }
    }
}

/// Evaluates one rule for one partner. Partner keys of `when` are checked here; deal keys by each rule.
/// An overflow anywhere in the rule's arithmetic is an error naming the partner and the rule.
pub fn evaluate(rule: &Rule, rule_index: usize, ctx: &PartnerCtx) -> Result<RuleOutput> {
    let eligible = rule.when.matches_partner(ctx.partner, ctx.level);
    match &rule.kind {
        RuleKind::Fund {
            accrual_rate,
            allocation,
        } => fund::evaluate(rule, *accrual_rate, allocation.as_ref(), eligible, ctx),
        _ if !eligible => Ok(RuleOutput::default()),
        RuleKind::Flat { amount } => flat::evaluate(rule, *amount, ctx),
        RuleKind::Percent { rate } => percent::evaluate(rule, *rate, ctx),
        RuleKind::Tiered {
            measure,
            mode,
            tiers,
            ..
        } => tiered::evaluate(rule, *measure, *mode, tiers, ctx),
        RuleKind::Spif {
            start,
            end,
            pay,
            max_deals,
        } => spif::evaluate(rule, *start, *end, *pay, *max_deals, ctx),
        RuleKind::Rebate { basis, .. } => rebate::evaluate(rule, basis, ctx),
        RuleKind::Goal {
            measure,
            target,
            amount,
        } => goal::evaluate(rule, *measure, target, *amount, ctx),
        RuleKind::Growth { min_growth, pay } => growth::evaluate(rule, *min_growth, *pay, ctx),
        RuleKind::Activity {
            activity,
            amount,
            max_per_period,
        } => activity::evaluate(rule, activity, *amount, *max_per_period, ctx),
        RuleKind::Milestone { nth_deal, amount } => {
            milestone::evaluate(rule, rule_index, *nth_deal, *amount, ctx)
        }
    }
}

/// A deal-based line: `raw` times every matching modifier, rounded once (SPEC §3 modifiers).
pub(crate) fn deal_line(
    rule: &Rule,
    ctx: &PartnerCtx,
    deal: &Deal,
    basis: Decimal,
    rate: Option<Decimal>,
    raw: Decimal,
    mut note: String,
) -> Result<Line> {
    let calc = ctx.calc(rule);
    let mut multiplier = Decimal::ONE;
    for m in &rule.modifiers {
        if m.when.matches_partner(ctx.partner, ctx.level) && m.when.matches_deal(deal) {
            multiplier = calc.mul(multiplier, m.multiplier, || {
                format!("deal {}: the product of its modifiers", deal.deal_id)
            })?;
            note.push_str(&format!(" × modifier {}", format_rate(m.multiplier)));
        }
    }
    let amount = calc.mul(raw, multiplier, || {
        format!("deal {}: the line amount", deal.deal_id)
    })?;
    Ok(Line {
        partner: ctx.index,
        rule_id: rule.id.clone(),
        kind: LineKind::Rule(rule.kind.name()),
        source: Source::Deal,
        source_id: deal.deal_id.clone(),
        basis: Some(basis),
        rate,
        amount: ctx.program.round(amount),
        note,
    })
}

/// A period line (rebate, goal, growth): one per partner and period.
pub(crate) fn period_line(
    rule: &Rule,
    ctx: &PartnerCtx,
    basis: Option<Decimal>,
    rate: Option<Decimal>,
    raw: Decimal,
    note: String,
) -> Line {
    Line {
        partner: ctx.index,
        rule_id: rule.id.clone(),
        kind: LineKind::Rule(rule.kind.name()),
        source: Source::Period,
        source_id: ctx.period.to_string(),
        basis,
        rate,
        amount: ctx.program.round(raw),
        note,
    }
}

/// `× share 0.5` for split deals, nothing for whole ones.
pub(crate) fn share_note(deal: &Deal) -> String {
    if deal.share == Decimal::ONE {
        String::new()
    } else {
        format!(" × share {}", format_rate(deal.share))
    }
}

/// The total a set of qualifying deals credits, checked.
pub(crate) fn revenue(deals: &[&Deal], calc: Calc) -> Result<Decimal> {
    calc.sum(deals.iter().map(|d| d.credited), || {
        "the partner's qualifying revenue".into()
    })
}
