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
use crate::input::Deal;
use crate::money::{format_percent, format_rate};
use crate::program::{Pay, Rule, Tier, TierMeasure, TierMode};
use rust_decimal::Decimal;

/// The measure's scale in the units deals are counted in: money for revenue and attainment, deals
/// for deals. `None` when attainment has no usable quota.
fn scale(measure: TierMeasure, ctx: &PartnerCtx) -> Option<Decimal> {
    match measure {
        TierMeasure::Revenue | TierMeasure::Deals => Some(Decimal::ONE),
        TierMeasure::Attainment => ctx.partner.quota.filter(|q| *q > Decimal::ZERO),
    }
}

/// Band k covers [from_k × scale, from_{k+1} × scale).
fn band(tiers: &[Tier], k: usize, scale: Decimal) -> (Decimal, Option<Decimal>) {
    (
        tiers[k].from * scale,
        tiers.get(k + 1).map(|t| t.from * scale),
    )
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
pub fn period_total(measure: TierMeasure, deals: &[&Deal]) -> Decimal {
    match measure {
        TierMeasure::Deals => Decimal::from(deals.len()),
        _ => deals.iter().map(|d| d.credited).sum(),
    }
}

pub fn evaluate(
    rule: &Rule,
    measure: TierMeasure,
    mode: TierMode,
    tiers: &[Tier],
    ctx: &PartnerCtx,
) -> RuleOutput {
    let Some(scale) = scale(measure, ctx) else {
        let has_deals = !ctx.qualifying(rule, ctx.deals).is_empty();
        let mut out = RuleOutput::default();
        if has_deals {
            out.warnings.push(format!(
                "partner {}: rule `{}` measures attainment but the partner has no quota; skipped",
                ctx.partner.id, rule.id
            ));
        }
        return out;
    };
    let deals = ctx.qualifying(rule, ctx.deals);
    let lines = match mode {
        TierMode::Marginal => marginal(rule, measure, tiers, scale, ctx, &deals),
        TierMode::Retroactive => retroactive(rule, measure, tiers, scale, ctx, &deals),
    };
    RuleOutput::lines(lines)
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
) -> Vec<crate::engine::Line> {
    let mut cumulative = Decimal::ZERO;
    let mut lines = Vec::with_capacity(deals.len());
    for deal in deals {
        let width = match measure {
            TierMeasure::Deals => Decimal::ONE,
            _ => deal.credited,
        };
        let (lo, hi) = (cumulative, cumulative + width);
        cumulative = hi;
        let mut raw = Decimal::ZERO;
        let mut parts = Vec::new();
        let mut single_rate = None;
        for k in 0..tiers.len() {
            let (band_lo, band_hi) = band(tiers, k, scale);
            let o = overlap(lo, hi, band_lo, band_hi);
            if o.is_zero() {
                continue;
            }
            let pay = tiers[k].pay;
            let (part, on) = match (measure, pay) {
                (TierMeasure::Deals, Pay::Rate(r)) => (r * deal.credited * o, deal.credited * o),
                (TierMeasure::Deals, Pay::Amount(a)) => (a * deal.share * o, deal.credited * o),
                (_, Pay::Rate(r)) => (r * o, o),
                (_, Pay::Amount(a)) => (a * deal.share * o / width, o),
            };
            raw += part;
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
        ));
    }
    lines
}

fn retroactive(
    rule: &Rule,
    measure: TierMeasure,
    tiers: &[Tier],
    scale: Decimal,
    ctx: &PartnerCtx,
    deals: &[&Deal],
) -> Vec<crate::engine::Line> {
    let total = period_total(measure, deals);
    let Some(k) = (0..tiers.len())
        .rev()
        .find(|&k| tiers[k].from * scale <= total)
    else {
        return Vec::new();
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
        TierMeasure::Attainment => format!(
            "period revenue {} is {} of quota, reaching {}",
            ctx.money(total),
            format_percent((total / scale).round_dp(4)),
            format_percent(tier.from)
        ),
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
            match tier.pay {
                Pay::Rate(r) => deal_line(
                    rule,
                    ctx,
                    deal,
                    deal.credited,
                    Some(r),
                    r * deal.credited,
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
                        a * deal.share,
                        note,
                    )
                }
            }
        })
        .collect()
}
