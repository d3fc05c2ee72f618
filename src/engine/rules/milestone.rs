//! `milestone` (SPEC §4.8): an activation bonus paid once, in the period in which the partner's Nth
//! lifetime qualifying deal closes. Deal rows are counted as of the period end in (closed_on, deal_id)
//! order, so a later reversal never changes an old period's answer. The line is attributed to the Nth
//! deal, so reversing that deal within clawback_days claws the bonus back. A partner holds the bonus
//! while the ledger's lines of this milestone add up to non-zero, less what this period's clawbacks
//! recover; while it holds it, it is not paid again. A bonus clawed back with its Nth deal is earned
//! again by the next deal that makes the count N, in the same run when that deal is in the period.

use super::RuleOutput;
use crate::engine::clawback::recovered_now;
use crate::engine::{Line, LineKind, PartnerCtx, Source};
use crate::error::Result;
use crate::program::Rule;
use crate::program::parse::{Bad, Src, Tbl};
use rust_decimal::Decimal;

fn ordinal(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, r) if r != 11 => "st",
        (2, r) if r != 12 => "nd",
        (3, r) if r != 13 => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// `milestone`'s configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The lifetime qualifying deal that earns the bonus (2 = the second).
    pub nth_deal: u64,
    pub amount: Decimal,
}

/// The keys a `milestone` rule may have besides `id`, `kind`, `when` and `cap`.
pub const KEYS: &[&str] = &["nth_deal", "amount"];

pub(crate) fn parse(src: &mut Src, t: &Tbl) -> Result<Config, Bad> {
    let nth = t.integer::<u64>(src, "nth_deal", 1, i64::MAX);
    let amount = t.non_negative(src, "amount");
    let nth = t.required(src, "nth_deal", nth);
    let amount = t.required(src, "amount", amount);
    Ok(Config {
        nth_deal: nth?,
        amount: amount?,
    })
}

pub fn evaluate(rule: &Rule, config: &Config, ctx: &PartnerCtx) -> Result<RuleOutput> {
    let Config {
        nth_deal: nth,
        amount,
    } = *config;
    // The partner holds the bonus while its ledger lines add up to non-zero, less what this period's
    // clawbacks recover: a bonus clawed back with its Nth deal can be earned again in the same run.
    let ledger_sum = ctx
        .inputs
        .ledger
        .rule_sums
        .get(&(ctx.index, rule.id.clone()))
        .copied()
        .unwrap_or(Decimal::ZERO);
    let recovered = ctx.calc(rule).ok(
        recovered_now(ctx.program, ctx.inputs, ctx.index, &rule.id),
        || "what this period's clawbacks recover".into(),
    )?;
    if ledger_sum != recovered {
        return Ok(RuleOutput::default());
    }
    let prior = ctx.inputs.deals.prior_count(&rule.when, ctx.index);
    if prior >= nth {
        return Ok(RuleOutput::default());
    }
    let deals = ctx.qualifying(rule, ctx.deals);
    let Some(deal) = usize::try_from(nth - prior - 1)
        .ok()
        .and_then(|i| deals.get(i))
    else {
        return Ok(RuleOutput::default());
    };
    Ok(RuleOutput::lines(vec![Line {
        partner: ctx.index,
        rule_id: rule.id.clone(),
        kind: LineKind::Rule(super::Kind::Milestone),
        source: Source::Deal,
        source_id: deal.deal_id.clone(),
        basis: Some(Decimal::from(nth)),
        rate: None,
        amount: ctx.program.round(amount),
        note: format!(
            "milestone: deal {} closed {} is the partner's {} lifetime qualifying deal",
            deal.deal_id,
            deal.closed_on,
            ordinal(nth)
        ),
    }]))
}
