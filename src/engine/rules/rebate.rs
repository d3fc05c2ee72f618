//! `rebate` (SPEC §4.5): once the partner's qualifying revenue in the period reaches the threshold, one
//! period line of `rate` × that whole revenue. With `tiers`, the rate of the highest tier reached
//! applies to the whole revenue (retroactive).

use super::{RuleOutput, period_line, revenue};
use crate::engine::PartnerCtx;
use crate::error::Result;
use crate::model::money::format_percent;
use crate::program::parse::{Bad, Src, Tbl, tiers};
use crate::program::{Pay, Rule, Tier};
use rust_decimal::Decimal;

/// What a rebate pays on: one threshold and rate, or retroactive tiers.
#[derive(Debug, Clone, PartialEq)]
pub enum RebateBasis {
    Threshold { threshold: Decimal, rate: Decimal },
    Tiers(Vec<Tier>),
}

/// `rebate`'s configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub basis: RebateBasis,
    /// Tier rates may fall as thresholds rise.
    pub decelerator: bool,
}

/// The keys a `rebate` rule may have besides `id`, `kind`, `when` and `cap`.
pub const KEYS: &[&str] = &["threshold", "rate", "tiers", "decelerator"];

pub(crate) fn parse(src: &mut Src, t: &Tbl) -> Result<Config, Bad> {
    let threshold = t.non_negative(src, "threshold");
    let rate = t.rate(src, "rate");
    let decelerator = t.boolean(src, "decelerator");
    let basis = if t.get("tiers").is_some() {
        let mut mixed = false;
        for key in ["threshold", "rate"] {
            if let Some(v) = t.get(key) {
                src.error(
                    v.span(),
                    format!("`{}` has `tiers`; `{key}` cannot be used with them", t.path),
                );
                mixed = true;
            }
        }
        let tiers = tiers(src, t, false);
        if mixed {
            return Err(Bad);
        }
        RebateBasis::Tiers(tiers?)
    } else {
        let threshold = t.required(src, "threshold", threshold);
        let rate = t.required(src, "rate", rate);
        RebateBasis::Threshold {
            threshold: threshold?,
            rate: rate?,
        }
    };
    Ok(Config {
        basis,
        decelerator: decelerator?.unwrap_or(false),
    })
}

/// Lint: tier rates that fall as thresholds rise, unless `decelerator = true`.
pub(crate) fn lints(config: &Config) -> Vec<(&'static str, String)> {
    match &config.basis {
        RebateBasis::Tiers(tiers) => super::falling_tiers(tiers, config.decelerator),
        RebateBasis::Threshold { .. } => Vec::new(),
    }
}

/// The next threshold above the partner's qualifying revenue, for nudges.
pub(crate) fn next_threshold(
    rule: &Rule,
    config: &Config,
    ctx: &PartnerCtx,
) -> Result<Option<super::Threshold>> {
    let total = revenue(&ctx.qualifying(rule, ctx.deals), ctx.calc(rule))?;
    let next = match &config.basis {
        RebateBasis::Threshold { threshold, .. } => Some(*threshold).filter(|t| *t > total),
        RebateBasis::Tiers(tiers) => tiers.iter().map(|t| t.from).find(|f| *f > total),
    };
    Ok(next.map(|next| super::Threshold {
        current: total,
        next,
        counts_deals: false,
    }))
}

/// The threshold reached and its rate, for a revenue figure.
pub fn reached(basis: &RebateBasis, revenue: Decimal) -> Option<(Decimal, Decimal)> {
    match basis {
        RebateBasis::Threshold { threshold, rate } => {
            (revenue >= *threshold).then_some((*threshold, *rate))
        }
        RebateBasis::Tiers(tiers) => tiers.iter().rev().find(|t| t.from <= revenue).map(|t| {
            let rate = match t.pay {
                Pay::Rate(r) | Pay::Amount(r) => r,
            };
            (t.from, rate)
        }),
    }
}

pub fn evaluate(rule: &Rule, config: &Config, ctx: &PartnerCtx) -> Result<RuleOutput> {
    let basis = &config.basis;
    let calc = ctx.calc(rule);
    let deals = ctx.qualifying(rule, ctx.deals);
    let total = revenue(&deals, calc)?;
    let Some((threshold, rate)) = reached(basis, total) else {
        return Ok(RuleOutput::default());
    };
    let raw = calc.mul(rate, total, || "the rebate".into())?;
    let note = format!(
        "period revenue {} over {} qualifying deal{} reaches {}: {} of {}",
        ctx.money(total),
        deals.len(),
        if deals.len() == 1 { "" } else { "s" },
        ctx.money(threshold),
        format_percent(rate),
        ctx.money(total)
    );
    Ok(RuleOutput::lines(vec![period_line(
        rule,
        ctx,
        Some(total),
        Some(rate),
        raw,
        note,
    )]))
}
