//! `tiered` (SPEC §4.3): commission whose rate depends on where the partner's period measure stands.
//!
//! Each deal occupies the interval [cumulative before, cumulative after) of the partner's measure over
//! the period's qualifying deals (credited amount for `revenue`, 1 for `deals`, credited ÷ quota for
//! `attainment`).
//! - *marginal*: each part of the interval earns the rate of the band it lies in, on the revenue that
//!   part represents; a deal straddling a boundary is split.
//! - *retroactive*: every deal earns the rate of the highest tier whose `from` ≤ the period total.
//!
//! At a boundary the higher tier applies. Attainment bands are worked in money (`from × quota`) so the
//! arithmetic stays exact: credited × (fraction of the interval) is then just the overlap in money.

use super::{RuleOutput, deal_line, share_note};
use crate::engine::PartnerCtx;
use crate::engine::line::Calc;
use crate::error::{Result, Warning, WarningCode};
use crate::model::Deal;
use crate::model::money::{format_percent, format_rate};
use crate::program::parse::{Bad, Src, Tbl, choice, tiers};
use crate::program::{Pay, Rule, Tier};
use rust_decimal::Decimal;

/// What a partner's position in the tiers is measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierMeasure {
    Revenue,
    Deals,
    Attainment,
}

impl TierMeasure {
    const CHOICES: &[(&str, TierMeasure)] = &[
        ("revenue", TierMeasure::Revenue),
        ("deals", TierMeasure::Deals),
        ("attainment", TierMeasure::Attainment),
    ];

    pub fn name(self) -> &'static str {
        match self {
            TierMeasure::Revenue => "revenue",
            TierMeasure::Deals => "deals",
            TierMeasure::Attainment => "attainment",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierMode {
    Marginal,
    Retroactive,
}

impl TierMode {
    const CHOICES: &[(&str, TierMode)] = &[
        ("marginal", TierMode::Marginal),
        ("retroactive", TierMode::Retroactive),
    ];
}

/// `tiered`'s configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub measure: TierMeasure,
    pub mode: TierMode,
    /// Ascending, the first from 0; `amount` tiers only with `measure = "deals"`.
    pub tiers: Vec<Tier>,
    /// Rates may fall as thresholds rise.
    pub decelerator: bool,
}

/// The keys a `tiered` rule may have besides `id`, `kind`, `when` and `cap`.
pub const KEYS: &[&str] = &["measure", "mode", "tiers", "decelerator", "modifiers"];

pub(crate) fn parse(src: &mut Src, t: &Tbl) -> Result<Config, Bad> {
    let measure = choice(src, t, "measure", TierMeasure::CHOICES);
    // `mode` has no default: marginal and retroactive differ too much in cost to guess.
    let mode = choice(src, t, "mode", TierMode::CHOICES);
    let decelerator = t.boolean(src, "decelerator");
    let measure = measure?.unwrap_or(TierMeasure::Revenue);
    let tiers = tiers(src, t, measure == TierMeasure::Deals);
    let mode = t.required(src, "mode", mode)?;
    Ok(Config {
        measure,
        mode,
        tiers: tiers?,
        decelerator: decelerator?.unwrap_or(false),
    })
}

/// Lint: tier rates that fall as thresholds rise, unless `decelerator = true`.
pub(crate) fn lints(config: &Config) -> Vec<(&'static str, String)> {
    super::falling_tiers(&config.tiers, config.decelerator)
}

/// The next tier boundary above the partner's period measure, for nudges (money boundaries rounded
/// up to a cent that reaches them).
pub(crate) fn next_threshold(
    rule: &Rule,
    config: &Config,
    ctx: &PartnerCtx,
) -> Result<Option<super::Threshold>> {
    let Some(scale) = scale(config.measure, ctx) else {
        return Ok(None);
    };
    let calc = ctx.calc(rule);
    let deals = ctx.qualifying(rule, ctx.deals);
    let total = period_total(config.measure, &deals, calc)?;
    let counts_deals = config.measure == TierMeasure::Deals;
    let next = bounds(&config.tiers, scale, calc)?
        .into_iter()
        .find(|f| *f > total)
        .map(|next| {
            if counts_deals {
                next
            } else {
                next.round_dp_with_strategy(
                    ctx.program.minor_units(),
                    rust_decimal::RoundingStrategy::ToPositiveInfinity,
                )
            }
        });
    Ok(next.map(|next| super::Threshold {
        current: total,
        next,
        counts_deals,
    }))
}

/// The measure's scale in the units deals are counted in: money for revenue and attainment, deals
/// for deals. `None` when attainment has no usable quota.
fn scale(measure: TierMeasure, ctx: &PartnerCtx) -> Option<Decimal> {
    match measure {
        TierMeasure::Revenue | TierMeasure::Deals => Some(Decimal::ONE),
        TierMeasure::Attainment => ctx.partner.quota.filter(|q| *q > Decimal::ZERO),
    }
}

/// Each tier's lower boundary in counting units: `from × scale`. Band k covers
/// [bounds_k, bounds_{k+1}). A boundary too large to compute (from × quota) is an error.
pub(crate) fn bounds(tiers: &[Tier], scale: Decimal, calc: Calc) -> Result<Vec<Decimal>> {
    tiers
        .iter()
        .enumerate()
        .map(|(k, t)| {
            calc.mul(t.from, scale, || {
                format!(
                    "the boundary of tier {} (from {} × {})",
                    k + 1,
                    format_rate(t.from),
                    format_rate(scale)
                )
            })
        })
        .collect()
}

fn band(bounds: &[Decimal], k: usize) -> (Decimal, Option<Decimal>) {
    (bounds[k], bounds.get(k + 1).copied())
}

fn overlap(lo: Decimal, hi: Decimal, band_lo: Decimal, band_hi: Option<Decimal>) -> Decimal {
    let top = match band_hi {
        Some(h) => hi.min(h),
        None => hi,
    };
    (top - lo.max(band_lo)).max(Decimal::ZERO)
}

fn describe_pay(pay: Pay, ctx: &PartnerCtx) -> String {
    match pay {
        Pay::Rate(r) => format_percent(r),
        Pay::Amount(a) => format!("{} per deal", ctx.money(a)),
    }
}

/// The partner's period total of the measure, in counting units (money, or deals).
pub(crate) fn period_total(measure: TierMeasure, deals: &[&Deal], calc: Calc) -> Result<Decimal> {
    match measure {
        TierMeasure::Deals => Ok(Decimal::from(deals.len())),
        _ => super::revenue(deals, calc),
    }
}

pub fn evaluate(rule: &Rule, config: &Config, ctx: &PartnerCtx) -> Result<RuleOutput> {
    let (measure, mode, tiers) = (config.measure, config.mode, config.tiers.as_slice());
    let Some(scale) = scale(measure, ctx) else {
        let has_deals = !ctx.qualifying(rule, ctx.deals).is_empty();
        let mut out = RuleOutput::default();
        if has_deals {
            out.warnings.push(Warning::new(
                WarningCode::NoQuota,
                format!(
                    "partner {}: rule `{}` measures attainment but the partner has no quota; skipped",
                    ctx.partner.id, rule.id
                ),
            ));
        }
        return Ok(out);
    };
    let deals = ctx.qualifying(rule, ctx.deals);
    let lines = match mode {
        TierMode::Marginal => marginal(rule, measure, tiers, scale, ctx, &deals)?,
        TierMode::Retroactive => retroactive(rule, measure, tiers, scale, ctx, &deals)?,
    };
    Ok(RuleOutput::lines(lines))
}

fn quota_note(measure: TierMeasure, ctx: &PartnerCtx) -> String {
    match (measure, ctx.partner.quota) {
        (TierMeasure::Attainment, Some(q)) => format!(" (quota {})", ctx.money(q)),
        _ => String::new(),
    }
}

fn marginal(
    rule: &Rule,
    measure: TierMeasure,
    tiers: &[Tier],
    scale: Decimal,
    ctx: &PartnerCtx,
    deals: &[&Deal],
) -> Result<Vec<crate::engine::Line>> {
    let calc = ctx.calc(rule);
    let bounds = bounds(tiers, scale, calc)?;
    let mut cumulative = Decimal::ZERO;
    let mut lines = Vec::with_capacity(deals.len());
    for deal in deals {
        let width = match measure {
            TierMeasure::Deals => Decimal::ONE,
            _ => deal.credited,
        };
        let overflow = || format!("deal {}: the tiered commission", deal.deal_id);
        let lo = cumulative;
        let hi = calc.ok(cumulative.checked_add(width), || {
            "the partner's cumulative measure".into()
        })?;
        cumulative = hi;
        let mut raw = Decimal::ZERO;
        let mut parts = Vec::new();
        let mut single_rate = None;
        for (k, tier) in tiers.iter().enumerate() {
            let (band_lo, band_hi) = band(&bounds, k);
            let o = overlap(lo, hi, band_lo, band_hi);
            if o.is_zero() {
                continue;
            }
            let pay = tier.pay;
            let (part, on) = match (measure, pay) {
                (TierMeasure::Deals, Pay::Rate(r)) => (
                    r.checked_mul(deal.credited).and_then(|v| v.checked_mul(o)),
                    deal.credited.checked_mul(o),
                ),
                (TierMeasure::Deals, Pay::Amount(a)) => (
                    a.checked_mul(deal.share).and_then(|v| v.checked_mul(o)),
                    deal.credited.checked_mul(o),
                ),
                (_, Pay::Rate(r)) => (r.checked_mul(o), Some(o)),
                (_, Pay::Amount(a)) => (
                    a.checked_mul(deal.share)
                        .and_then(|v| v.checked_mul(o))
                        .and_then(|v| v.checked_div(width)),
                    Some(o),
                ),
            };
            let (part, on) = (calc.ok(part, overflow)?, calc.ok(on, overflow)?);
            raw = calc.ok(raw.checked_add(part), overflow)?;
            single_rate = if parts.is_empty() {
                match pay {
                    Pay::Rate(r) => Some(r),
                    Pay::Amount(a) => Some(a),
                }
            } else {
                None
            };
            parts.push(match measure {
                TierMeasure::Deals => format!("tier {} ({})", k + 1, describe_pay(pay, ctx)),
                _ => format!(
                    "tier {} ({}) on {}",
                    k + 1,
                    describe_pay(pay, ctx),
                    ctx.money(on)
                ),
            });
        }
        if parts.is_empty() {
            continue;
        }
        let note = match measure {
            TierMeasure::Deals => {
                let on = if tiers.iter().any(|t| matches!(t.pay, Pay::Amount(_))) {
                    share_note(deal)
                } else {
                    format!(" of {}", ctx.money(deal.credited))
                };
                format!(
                    "deal {} of the period: {}{on}",
                    format_rate(hi),
                    parts.join(" + ")
                )
            }
            _ => format!(
                "{} of {}; cumulative {} → {}{}",
                parts.join(" + "),
                ctx.money(deal.credited),
                ctx.money(lo),
                ctx.money(hi),
                quota_note(measure, ctx)
            ),
        };
        lines.push(deal_line(
            rule,
            ctx,
            deal,
            deal.credited,
            single_rate,
            raw,
            note,
        )?);
    }
    Ok(lines)
}

fn retroactive(
    rule: &Rule,
    measure: TierMeasure,
    tiers: &[Tier],
    scale: Decimal,
    ctx: &PartnerCtx,
    deals: &[&Deal],
) -> Result<Vec<crate::engine::Line>> {
    let calc = ctx.calc(rule);
    let bounds = bounds(tiers, scale, calc)?;
    let total = period_total(measure, deals, calc)?;
    let Some(k) = (0..tiers.len()).rev().find(|&k| bounds[k] <= total) else {
        return Ok(Vec::new());
    };
    let tier = tiers[k];
    let reach = match measure {
        TierMeasure::Deals => format!(
            "{} deals in the period reach {}",
            total,
            format_rate(tier.from)
        ),
        TierMeasure::Revenue => format!(
            "period revenue {} reaches {}",
            ctx.money(total),
            ctx.money(tier.from)
        ),
        TierMeasure::Attainment => {
            let attainment = calc.ok(total.checked_div(scale), || "the attainment".into())?;
            let percent = calc.mul(attainment.round_dp(4), Decimal::ONE_HUNDRED, || {
                "the attainment".into()
            })?;
            let from = calc.mul(tier.from, Decimal::ONE_HUNDRED, || {
                format!("tier {} (from {})", k + 1, format_rate(tier.from))
            })?;
            format!(
                "period revenue {} is {}% of quota, reaching {}%",
                ctx.money(total),
                percent.normalize(),
                from.normalize()
            )
        }
    };
    deals
        .iter()
        .map(|deal| {
            let note = format!(
                "tier {} ({}) of {}: {reach}",
                k + 1,
                describe_pay(tier.pay, ctx),
                ctx.money(deal.credited)
            );
            let overflow = || format!("deal {}: the tiered commission", deal.deal_id);
            match tier.pay {
                Pay::Rate(r) => deal_line(
                    rule,
                    ctx,
                    deal,
                    deal.credited,
                    Some(r),
                    calc.mul(r, deal.credited, overflow)?,
                    note,
                ),
                Pay::Amount(a) => {
                    let note = format!("{note}{}", share_note(deal));
                    deal_line(
                        rule,
                        ctx,
                        deal,
                        deal.credited,
                        Some(a),
                        calc.mul(a, deal.share, overflow)?,
                        note,
                    )
                }
            }
        })
        .collect()
}
