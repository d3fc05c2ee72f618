//! `tiered` (SPEC §4.3): commission whose rate depends on where the partner's period measure stands.
//!
//! Each deal occupies the interval [cumulative before, cumulative after) of the partner's measure over
//! the period's qualifying deals (credited amount for `revenue`, 1 for `deals`, credited ÷ quota for
//! `attainment`, quantity × share for `units`, SPEC §8.4).
//! - *marginal*: each part of the interval earns the rate of the band it lies in, on the revenue that
//!   part represents; a deal straddling a boundary is split.
//! - *retroactive*: every deal earns the rate of the highest tier whose `from` ≤ the period total.
//! - *interpolated* (SPEC §8.3, a pay curve): the tiers are points (`from`, `rate`); every deal earns
//!   the rate interpolated linearly between the two points around the period total (the last rate
//!   above the last point). The rate is exact; each line is rounded once.
//!
//! `basis = "deal"` (SPEC §8.5) tiers each deal on its own measure instead of the partner's running
//! period total: the deal occupies [0, its measure) and is its own "period total".
//!
//! At a boundary the higher tier applies. Attainment bands are worked in money (`from × quota`) so the
//! arithmetic stays exact: credited × (fraction of the interval) is then just the overlap in money.

use super::{RuleOutput, deal_line, share_note, units, units_note, units_total};
use crate::engine::context::PartnerCtx;
use crate::engine::line::Calc;
use crate::error::{Result, Warning, WarningCode};
use crate::model::Deal;
use crate::model::money::{format_percent, format_rate};
use crate::program::parse::{Bad, Tbl, boolean, choice, tiers};
use crate::program::{Pay, Rule, Tier};
use rust_decimal::Decimal;

/// What a partner's position in the tiers is measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierMeasure {
    Revenue,
    Deals,
    Attainment,
    /// deals.csv `quantity` × share (SPEC §8.4); `amount` tiers pay per unit.
    Units,
}

impl TierMeasure {
    const CHOICES: &[(&str, TierMeasure)] = &[
        ("revenue", TierMeasure::Revenue),
        ("deals", TierMeasure::Deals),
        ("attainment", TierMeasure::Attainment),
        ("units", TierMeasure::Units),
    ];

    pub fn name(self) -> &'static str {
        match self {
            TierMeasure::Revenue => "revenue",
            TierMeasure::Deals => "deals",
            TierMeasure::Attainment => "attainment",
            TierMeasure::Units => "units",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierMode {
    Marginal,
    Retroactive,
    /// A pay curve (SPEC §8.3): the rate is interpolated between the points around the total.
    Interpolated,
}

impl TierMode {
    const CHOICES: &[(&str, TierMode)] = &[
        ("marginal", TierMode::Marginal),
        ("retroactive", TierMode::Retroactive),
        ("interpolated", TierMode::Interpolated),
    ];
}

/// What each deal is tiered on (SPEC §8.5): the partner's period total, or the deal's own measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierBasis {
    Period,
    Deal,
}

impl TierBasis {
    const CHOICES: &[(&str, TierBasis)] =
        &[("period", TierBasis::Period), ("deal", TierBasis::Deal)];
}

/// `tiered`'s configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub measure: TierMeasure,
    pub mode: TierMode,
    /// Ascending, the first from 0; `amount` tiers only with `measure = "deals"` or `"units"`.
    pub tiers: Vec<Tier>,
    /// Rates may fall as thresholds rise.
    pub decelerator: bool,
    /// The measure runs over the quarter or year to date (SPEC §8.7).
    pub accumulate: Option<super::accumulate::Accumulate>,
    /// `period` (default) or `deal`: never `deal` with `measure = "deals"`.
    pub basis: TierBasis,
}

/// The keys a `tiered` rule may have besides `id`, `kind`, `when` and `cap`.
pub const KEYS: &[&str] = &[
    "measure",
    "mode",
    "tiers",
    "decelerator",
    "modifiers",
    "accumulate",
    "basis",
];

/// Only the period's own rows.
pub const HISTORY: super::History = super::PERIOD_ONLY;

pub(crate) fn parse(t: &Tbl) -> Result<Config, Bad> {
    let measure = t.value("measure", choice(TierMeasure::CHOICES));
    // `mode` has no default: marginal and retroactive differ too much in cost to guess.
    let mode = t.value("mode", choice(TierMode::CHOICES));
    let decelerator = t.value("decelerator", boolean);
    let accumulate = super::accumulate::parse(t);
    let basis = t.value("basis", choice(TierBasis::CHOICES));
    let measure = measure?.unwrap_or(TierMeasure::Revenue);
    let counts = matches!(measure, TierMeasure::Deals | TierMeasure::Units);
    // A curve's points pay rates: `amount` is an unknown key on them, whatever the measure.
    let interpolated = matches!(mode, Ok(Some(TierMode::Interpolated)));
    let tiers = tiers(t, counts && !interpolated);
    if let Ok(tiers) = &tiers
        && interpolated
        && tiers.len() < 2
    {
        t.error_at(
            "tiers",
            format!(
                "`{}` of an interpolated rule are the points of a curve and need at least two; \
                 for one rate use `kind = \"percent\"`",
                t.name("tiers")
            ),
        );
    }
    let basis = basis?.unwrap_or(TierBasis::Period);
    if basis == TierBasis::Deal && measure == TierMeasure::Deals {
        // Recorded, not returned: the other keys are still read and reported.
        t.error_at(
            "basis",
            format!(
                "`{}` = \"deal\" cannot be used with `measure = \"deals\"`: every deal counts as one \
                 deal on its own, so every deal would earn the first tier",
                t.name("basis")
            ),
        );
    }
    // SPEC §6: each deal tiered on its own has no period total to accumulate.
    if basis == TierBasis::Deal && matches!(accumulate, Ok(Some(_))) {
        t.error_at(
            "basis",
            format!(
                "`{}` = \"deal\" cannot be used with `accumulate`: a deal tiered on its own has no \
                 quarter or year to date",
                t.name("basis")
            ),
        );
    }
    let mode = t.required("mode", mode)?;
    Ok(Config {
        measure,
        mode,
        tiers: tiers?,
        decelerator: decelerator?.unwrap_or(false),
        accumulate: accumulate?,
        basis,
    })
}

/// Lint: tier rates that fall as thresholds rise, unless `decelerator = true`.
pub(crate) fn lints(config: &Config) -> Vec<(&'static str, String)> {
    super::falling_tiers(&config.tiers, config.decelerator)
}

/// The next tier boundary (a curve's next point) above the partner's period measure, for nudges
/// (money boundaries rounded up to a cent that reaches them). None with `basis = "deal"`: selling
/// more in the period does not move any deal to another tier.
pub(crate) fn next_threshold(
    rule: &Rule,
    config: &Config,
    ctx: &PartnerCtx,
) -> Result<Option<super::Threshold>> {
    if config.basis == TierBasis::Deal {
        return Ok(None);
    }
    let Some(scale) = scale(config.measure, ctx) else {
        return Ok(None);
    };
    let calc = ctx.calc(rule);
    let deals = super::accumulate::measured(rule, ctx);
    let total = period_total(config.measure, &deals, calc)?;
    let counts_deals = matches!(config.measure, TierMeasure::Deals | TierMeasure::Units);
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
        counts_units: config.measure == TierMeasure::Units,
    }))
}

/// The measure's scale in the units deals are counted in: money for revenue and attainment, deals
/// for deals. `None` when attainment has no usable quota.
fn scale(measure: TierMeasure, ctx: &PartnerCtx) -> Option<Decimal> {
    match measure {
        TierMeasure::Revenue | TierMeasure::Deals | TierMeasure::Units => Some(Decimal::ONE),
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
        TierMeasure::Units => units_total(deals, calc),
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
    let deals = super::accumulate::measured(rule, ctx);
    let basis = config.basis;
    let run = |deals: &[&Deal]| match mode {
        TierMode::Marginal => marginal(rule, measure, tiers, scale, ctx, deals, basis),
        TierMode::Retroactive => retroactive(rule, measure, tiers, scale, ctx, deals, basis),
        TierMode::Interpolated => interpolated(rule, measure, tiers, scale, ctx, deals, basis),
    };
    let lines = match basis {
        TierBasis::Period => run(&deals)?,
        // Each deal alone is its own "period": it starts at 0 and its measure is its total.
        TierBasis::Deal => {
            let mut lines = Vec::with_capacity(deals.len());
            for deal in &deals {
                lines.extend(run(std::slice::from_ref(deal))?);
            }
            lines
        }
    };
    // Accumulating: the earlier deals' lines become the true-up (SPEC §8.7).
    match super::accumulate::Span::of(rule, ctx.period) {
        Some(span) => {
            let earlier = span.earlier_deals(rule, ctx);
            let (lines, true_up_parts) = span.settle_deals(rule, ctx, &earlier, lines)?;
            Ok(RuleOutput {
                true_up_parts,
                ..RuleOutput::lines(lines)
            })
        }
        None => Ok(RuleOutput::lines(lines)),
    }
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
    basis: TierBasis,
) -> Result<Vec<crate::engine::line::Line>> {
    let calc = ctx.calc(rule);
    let bounds = bounds(tiers, scale, calc)?;
    let mut cumulative = Decimal::ZERO;
    let mut lines = Vec::with_capacity(deals.len());
    for deal in deals {
        let width = match measure {
            TierMeasure::Deals => Decimal::ONE,
            TierMeasure::Units => units(deal, calc)?,
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
                // Units: an amount per unit of the band; a rate on the revenue the band's units carry.
                (TierMeasure::Units, Pay::Amount(a)) => (a.checked_mul(o), Some(o)),
                (TierMeasure::Units, Pay::Rate(r)) => (
                    r.checked_mul(deal.credited)
                        .and_then(|v| v.checked_mul(o))
                        .and_then(|v| v.checked_div(width)),
                    Some(o),
                ),
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
            parts.push(match (measure, pay) {
                (TierMeasure::Units, Pay::Amount(a)) => format!(
                    "tier {} ({} per unit) on {}",
                    k + 1,
                    ctx.money(a),
                    format_rate(o)
                ),
                (TierMeasure::Units, Pay::Rate(r)) => {
                    format!(
                        "tier {} ({}) on {}",
                        k + 1,
                        format_percent(r),
                        format_rate(o)
                    )
                }
                (TierMeasure::Deals, _) => {
                    format!("tier {} ({})", k + 1, describe_pay(pay, ctx))
                }
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
        let per_unit = tiers.iter().any(|t| matches!(t.pay, Pay::Amount(_)));
        let note = match measure {
            TierMeasure::Units => {
                let of = match per_unit {
                    true => String::new(),
                    false => format!(" of {}", ctx.money(deal.credited)),
                };
                format!(
                    "{} of {}{of}; cumulative {} → {} units",
                    parts.join(" + "),
                    units_note(deal, width),
                    format_rate(lo),
                    format_rate(hi)
                )
            }
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
            _ if basis == TierBasis::Deal => format!(
                "{} of {}, the deal tiered on its own{}",
                parts.join(" + "),
                ctx.money(deal.credited),
                quota_note(measure, ctx)
            ),
            _ => format!(
                "{} of {}; cumulative {} → {}{}",
                parts.join(" + "),
                ctx.money(deal.credited),
                ctx.money(lo),
                ctx.money(hi),
                quota_note(measure, ctx)
            ),
        };
        let basis = match (measure, per_unit) {
            (TierMeasure::Units, true) => width,
            _ => deal.credited,
        };
        lines.push(deal_line(rule, ctx, deal, basis, single_rate, raw, note)?);
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
    basis: TierBasis,
) -> Result<Vec<crate::engine::line::Line>> {
    let calc = ctx.calc(rule);
    let bounds = bounds(tiers, scale, calc)?;
    let total = period_total(measure, deals, calc)?;
    let revenue = match basis {
        TierBasis::Period => "period revenue",
        TierBasis::Deal => "the deal's revenue",
    };
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
        TierMeasure::Units => format!(
            "{} units in the period reach {}",
            format_rate(total),
            format_rate(tier.from)
        ),
        TierMeasure::Revenue => format!(
            "{revenue} {} reaches {}",
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
                "{revenue} {} is {}% of quota, reaching {}%",
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
                Pay::Amount(a) if measure == TierMeasure::Units => {
                    let units = units(deal, calc)?;
                    let note = format!(
                        "tier {} ({} per unit) × {}: {reach}",
                        k + 1,
                        ctx.money(a),
                        units_note(deal, units)
                    );
                    let raw = calc.mul(a, units, overflow)?;
                    deal_line(rule, ctx, deal, units, Some(a), raw, note)
                }
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

/// Where the measure stands, for an interpolated rule's notes: "period revenue 125000.00", "the
/// deal's revenue 40000.00", "period revenue 12500.00 is 125% of quota", "7 deals in the period".
fn standing(
    measure: TierMeasure,
    total: Decimal,
    scale: Decimal,
    basis: TierBasis,
    ctx: &PartnerCtx,
    calc: Calc,
) -> Result<String> {
    let revenue = match basis {
        TierBasis::Period => "period revenue",
        TierBasis::Deal => "the deal's revenue",
    };
    Ok(match measure {
        TierMeasure::Deals => format!("{total} deals in the period"),
        TierMeasure::Units => match basis {
            TierBasis::Period => format!("{} units in the period", format_rate(total)),
            TierBasis::Deal => format!("the deal's {} units", format_rate(total)),
        },
        TierMeasure::Revenue => format!("{revenue} {}", ctx.money(total)),
        TierMeasure::Attainment => {
            let attainment = calc.ok(total.checked_div(scale), || "the attainment".into())?;
            format!(
                "{revenue} {} is {} of quota",
                ctx.money(total),
                percent_of(attainment, calc)?
            )
        }
    })
}

/// A ratio as a percentage for notes, to at most two decimals (`about` when rounded): 1.25 → 125%.
fn percent_of(ratio: Decimal, calc: Calc) -> Result<String> {
    let percent = calc.mul(ratio, Decimal::ONE_HUNDRED, || "a percentage".into())?;
    let shown = percent.round_dp(2);
    let about = if shown == percent { "" } else { "about " };
    Ok(format!("{about}{}%", shown.normalize()))
}

/// A curve point as the partner reads it: money for revenue, % of quota, or a deal count.
fn point(measure: TierMeasure, from: Decimal, ctx: &PartnerCtx, calc: Calc) -> Result<String> {
    Ok(match measure {
        TierMeasure::Revenue => ctx.money(from),
        TierMeasure::Deals => format!("{} deals", format_rate(from)),
        TierMeasure::Units => format!("{} units", format_rate(from)),
        TierMeasure::Attainment => percent_of(from, calc)?,
    })
}

/// A rate for notes: exact when it has at most four decimals as a percentage, else `about` it
/// rounded to four (the line itself uses the exact rate).
fn rate_note(rate: Decimal, calc: Calc) -> Result<String> {
    let percent = calc.mul(rate, Decimal::ONE_HUNDRED, || "a percentage".into())?;
    let shown = percent.round_dp(4);
    let about = if shown == percent { "" } else { "about " };
    Ok(format!("{about}{}%", shown.normalize()))
}

/// The pay curve (SPEC §8.3): the rate at `total` on the line through the points around it, as the
/// fraction `numerator ÷ width` so a line can be `credited × numerator ÷ width`, dividing last (exact
/// whenever the result has a finite decimal form). At or above the last point, its rate.
struct Interpolated {
    numerator: Decimal,
    width: Decimal,
    rate: Decimal,
    /// Words for the note: "between 100000.00 (5%) and 150000.00 (8%)".
    position: String,
}

fn interpolate(
    measure: TierMeasure,
    tiers: &[Tier],
    bounds: &[Decimal],
    total: Decimal,
    ctx: &PartnerCtx,
    calc: Calc,
) -> Result<Interpolated> {
    let rate_of = |k: usize| match tiers[k].pay {
        Pay::Rate(r) | Pay::Amount(r) => r,
    };
    // The first point is at 0 (parse), so some point is at or below any total.
    let k = (0..bounds.len())
        .rev()
        .find(|&k| bounds[k] <= total)
        .unwrap_or(0);
    let here = || point(measure, tiers[k].from, ctx, calc);
    let (r, last) = (rate_of(k), k + 1 == bounds.len());
    if last || bounds[k] == total {
        let position = match last && bounds[k] < total {
            true => format!("above the last point {} ({})", here()?, format_percent(r)),
            false => format!("on the point {} ({})", here()?, format_percent(r)),
        };
        return Ok(Interpolated {
            numerator: r,
            width: Decimal::ONE,
            rate: r,
            position,
        });
    }
    let what = || "the interpolated rate".to_string();
    let width = calc.ok(bounds[k + 1].checked_sub(bounds[k]), what)?;
    let rise = calc.ok(rate_of(k + 1).checked_sub(r), what)?;
    let along = calc.ok(total.checked_sub(bounds[k]), what)?;
    let numerator = calc.ok(
        calc.mul(r, width, what)?
            .checked_add(calc.mul(rise, along, what)?),
        what,
    )?;
    let rate = calc.ok(numerator.checked_div(width), what)?;
    let position = format!(
        "between {} ({}) and {} ({})",
        here()?,
        format_percent(r),
        point(measure, tiers[k + 1].from, ctx, calc)?,
        format_percent(rate_of(k + 1))
    );
    Ok(Interpolated {
        numerator,
        width,
        rate,
        position,
    })
}

fn interpolated(
    rule: &Rule,
    measure: TierMeasure,
    tiers: &[Tier],
    scale: Decimal,
    ctx: &PartnerCtx,
    deals: &[&Deal],
    basis: TierBasis,
) -> Result<Vec<crate::engine::line::Line>> {
    let calc = ctx.calc(rule);
    let bounds = bounds(tiers, scale, calc)?;
    let total = period_total(measure, deals, calc)?;
    let curve = interpolate(measure, tiers, &bounds, total, ctx, calc)?;
    let reach = format!(
        "{}, {}",
        standing(measure, total, scale, basis, ctx, calc)?,
        curve.position
    );
    let rate = rate_note(curve.rate, calc)?;
    deals
        .iter()
        .map(|deal| {
            let overflow = || format!("deal {}: the tiered commission", deal.deal_id);
            let raw = calc.mul(deal.credited, curve.numerator, overflow)?;
            let raw = calc.ok(raw.checked_div(curve.width), overflow)?;
            let note = format!(
                "interpolated rate {rate} on {}: {reach}",
                ctx.money(deal.credited)
            );
            deal_line(rule, ctx, deal, deal.credited, Some(curve.rate), raw, note)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{Fixture, d, deal, expect, parse_errors, program, split};
    use super::super::testkit::{Rows, Want};
    use super::*;
    use crate::engine::rules::RuleKind;

    const TIERS: &str = r#"[{ from = "0", rate = "0.05" }, { from = "10000", rate = "0.08" }, { from = "20000", rate = "0.10" }]"#;

    fn body(measure: &str, mode: &str, tiers: &str) -> String {
        format!(
            "[[rules]]\nid = \"t\"\nkind = \"tiered\"\nmeasure = \"{measure}\"\nmode = \"{mode}\"\ntiers = {tiers}\n"
        )
    }

    #[test]
    fn marginal_revenue_splits_a_deal_across_bands() {
        let cases: Vec<(&str, Rows, Want)> = vec![
            // D1 [0, 6000): 0.05 × 6000 = 300.00
            // D2 [6000, 12000): 0.05 × 4000 + 0.08 × 2000 = 200 + 160 = 360.00
            (
                "straddles one boundary",
                vec![
                    deal("D1", "2026-10-01", "6000.00"),
                    deal("D2", "2026-10-02", "6000.00"),
                ],
                vec![("D1", "300.00"), ("D2", "360.00")],
            ),
            // D1 [0, 10000): all band 1, 0.05 × 10000 = 500.00
            // D2 [10000, 10001): starts on the boundary, the higher tier: 0.08 × 1 = 0.08
            (
                "ends exactly on a boundary",
                vec![
                    deal("D1", "2026-10-01", "10000.00"),
                    deal("D2", "2026-10-02", "1.00"),
                ],
                vec![("D1", "500.00"), ("D2", "0.08")],
            ),
            // D1 [0, 25000): 0.05 × 10000 + 0.08 × 10000 + 0.10 × 5000 = 500 + 800 + 500 = 1800.00
            (
                "straddles two boundaries",
                vec![deal("D1", "2026-10-01", "25000.00")],
                vec![("D1", "1800.00")],
            ),
            // order is (closed_on, deal_id): D2 (10-01) then D1 (10-02)
            // D2 [0, 8000): 0.05 × 8000 = 400.00
            // D1 [8000, 12000): 0.05 × 2000 + 0.08 × 2000 = 100 + 160 = 260.00
            (
                "processing order is by closed_on",
                vec![
                    deal("D1", "2026-10-02", "4000.00"),
                    deal("D2", "2026-10-01", "8000.00"),
                ],
                vec![("D2", "400.00"), ("D1", "260.00")],
            ),
            // same day: DA before DB. DA [0, 9999.99): 0.05 × 9999.99 = 499.9995 → 500.00
            // DB [9999.99, 10000.01): 0.05 × 0.01 + 0.08 × 0.01 = 0.0005 + 0.0008 = 0.0013 → 0.00
            // (not written)
            (
                "a cent each side of the boundary",
                vec![
                    deal("DB", "2026-10-01", "0.02"),
                    deal("DA", "2026-10-01", "9999.99"),
                ],
                vec![("DA", "500.00")],
            ),
        ];
        for (name, deals, expected) in cases {
            let f = Fixture::new(&body("revenue", "marginal", TIERS)).deals(deals);
            assert_eq!(f.lines("t"), expect(&expected), "{name}");
        }
    }

    #[test]
    fn marginal_note_names_every_band() {
        let f = Fixture::new(&body("revenue", "marginal", TIERS)).deals(vec![
            deal("D1", "2026-10-01", "6000.00"),
            deal("D2", "2026-10-02", "6000.00"),
        ]);
        let out = f.output("t");
        assert_eq!(
            out.lines[1].note,
            "tier 1 (5%) on 4000.00 + tier 2 (8%) on 2000.00 of 6000.00; cumulative 6000.00 → 12000.00"
        );
        // two bands: no single rate
        assert_eq!(out.lines[1].rate, None);
        assert_eq!(out.lines[0].rate, Some(d("0.05")));
    }

    #[test]
    fn retroactive_pays_every_deal_the_tier_the_total_reaches() {
        let cases: Vec<(&str, Rows, Want)> = vec![
            // total 9999.99 < 10000: 0.05 × 5000 = 250.00; 0.05 × 4999.99 = 249.9995 → 250.00
            (
                "a cent short",
                vec![
                    deal("D1", "2026-10-01", "5000.00"),
                    deal("D2", "2026-10-02", "4999.99"),
                ],
                vec![("D1", "250.00"), ("D2", "250.00")],
            ),
            // total exactly 10000.00 reaches tier 2: 0.08 × 5000 = 400.00 each
            (
                "exactly on the boundary",
                vec![
                    deal("D1", "2026-10-01", "5000.00"),
                    deal("D2", "2026-10-02", "5000.00"),
                ],
                vec![("D1", "400.00"), ("D2", "400.00")],
            ),
            // total exactly 20000.00: tier 3, 0.10 × 20000 = 2000.00
            (
                "top tier",
                vec![deal("D1", "2026-10-01", "20000.00")],
                vec![("D1", "2000.00")],
            ),
            // credited 30000 × 0.5 = 15000.00 → tier 2: 0.08 × 15000 = 1200.00
            (
                "split share counts its credited amount",
                vec![split("D1", "2026-10-01", "30000.00", "0.5")],
                vec![("D1", "1200.00")],
            ),
        ];
        for (name, deals, expected) in cases {
            let f = Fixture::new(&body("revenue", "retroactive", TIERS)).deals(deals);
            assert_eq!(f.lines("t"), expect(&expected), "{name}");
        }
    }

    #[test]
    fn deal_count_tiers_pay_amounts_times_share() {
        let tiers = r#"[{ from = "0", amount = "10" }, { from = "2", amount = "25" }]"#;
        let rows = || {
            vec![
                deal("D1", "2026-10-01", "100.00"),
                deal("D2", "2026-10-02", "100.00"),
                split("D3", "2026-10-03", "100.00", "0.5"),
            ]
        };
        // marginal: D1 is deal [0,1) → 10 × 1 = 10.00; D2 [1,2) → 10.00;
        // D3 [2,3) starts on the boundary → 25 × 0.5 = 12.50
        let f = Fixture::new(&body("deals", "marginal", tiers)).deals(rows());
        assert_eq!(
            f.lines("t"),
            expect(&[("D1", "10.00"), ("D2", "10.00"), ("D3", "12.50")])
        );
        // retroactive: 3 deals ≥ 2 → every deal 25 × share: 25.00, 25.00, 12.50
        let f = Fixture::new(&body("deals", "retroactive", tiers)).deals(rows());
        assert_eq!(
            f.lines("t"),
            expect(&[("D1", "25.00"), ("D2", "25.00"), ("D3", "12.50")])
        );
        // retroactive with only 1 deal: tier 1, 10.00
        let f = Fixture::new(&body("deals", "retroactive", tiers)).deals(vec![deal(
            "D1",
            "2026-10-01",
            "100.00",
        )]);
        assert_eq!(f.lines("t"), expect(&[("D1", "10.00")]));
    }

    #[test]
    fn attainment_works_against_the_quota() {
        let tiers = r#"[{ from = "0", rate = "0.02" }, { from = "1.0", rate = "0.05" }]"#;
        let retro = body("attainment", "retroactive", tiers);
        let marginal = body("attainment", "marginal", tiers);
        let with_quota = |text: &str, quota: Option<&str>, deals: Rows| {
            Fixture::new(text)
                .edit("P1", |p| p.quota = quota.map(d))
                .deals(deals)
        };
        let cases: Vec<(&str, &String, Option<&str>, Rows, Want)> = vec![
            // quota 10000; total 10000.00 = 100% reaches tier 2: 0.05 × 6000 = 300.00, 0.05 × 4000 = 200.00
            (
                "exactly 100%",
                &retro,
                Some("10000.00"),
                vec![
                    deal("D1", "2026-10-01", "6000.00"),
                    deal("D2", "2026-10-02", "4000.00"),
                ],
                vec![("D1", "300.00"), ("D2", "200.00")],
            ),
            // total 9999.99 < 100%: 0.02 × 6000 = 120.00, 0.02 × 3999.99 = 79.9998 → 80.00
            (
                "a cent short of 100%",
                &retro,
                Some("10000.00"),
                vec![
                    deal("D1", "2026-10-01", "6000.00"),
                    deal("D2", "2026-10-02", "3999.99"),
                ],
                vec![("D1", "120.00"), ("D2", "80.00")],
            ),
            // marginal, band 2 starts at 1.0 × 10000 = 10000: D1 [0, 12000):
            // 0.02 × 10000 + 0.05 × 2000 = 200 + 100 = 300.00
            (
                "marginal over the quota",
                &marginal,
                Some("10000.00"),
                vec![deal("D1", "2026-10-01", "12000.00")],
                vec![("D1", "300.00")],
            ),
            // quota 20000: boundary 20000, D1 [0, 12000) all band 1: 0.02 × 12000 = 240.00
            (
                "bigger quota",
                &marginal,
                Some("20000.00"),
                vec![deal("D1", "2026-10-01", "12000.00")],
                vec![("D1", "240.00")],
            ),
        ];
        for (name, text, quota, deals, expected) in cases {
            let f = with_quota(text, quota, deals);
            assert_eq!(f.lines("t"), expect(&expected), "{name}");
            assert!(f.output("t").warnings.is_empty(), "{name}");
        }
        // No quota, or a zero one: no lines and a warning; without deals no warning either.
        let warning =
            "partner P1: rule `t` measures attainment but the partner has no quota; skipped";
        for quota in [None, Some("0.00")] {
            let f = with_quota(&retro, quota, vec![deal("D1", "2026-10-01", "6000.00")]);
            let out = f.output("t");
            assert!(out.lines.is_empty(), "{quota:?}");
            assert_eq!(
                super::super::testkit::messages(&out.warnings),
                vec![warning.to_string()],
                "{quota:?}"
            );
            let f = with_quota(&marginal, quota, vec![]);
            let out = f.output("t");
            assert!(out.lines.is_empty() && out.warnings.is_empty(), "{quota:?}");
        }
    }

    #[test]
    fn next_threshold_is_the_next_boundary_above_the_total() {
        let cases: Vec<(&str, Option<(&str, &str)>)> = vec![
            // total 6000 → next boundary 10000
            ("6000.00", Some(("6000.00", "10000.00"))),
            // total exactly 10000: already in tier 2 → next 20000
            ("10000.00", Some(("10000.00", "20000.00"))),
            // above the last boundary: none
            ("25000.00", None),
        ];
        for (total, expected) in cases {
            let f = Fixture::new(&body("revenue", "marginal", TIERS)).deals(vec![deal(
                "D1",
                "2026-10-01",
                total,
            )]);
            let got = f
                .threshold("t")
                .map(|t| (t.current, t.next, t.counts_deals));
            assert_eq!(got, expected.map(|(c, n)| (d(c), d(n), false)), "{total}");
        }
    }

    #[test]
    fn lints_falling_rates_unless_decelerator() {
        let falling = r#"[{ from = "0", rate = "0.08" }, { from = "10000", rate = "0.05" }]"#;
        let p = program(&format!(
            "{}{}",
            super::super::testkit::HEADER,
            body("revenue", "marginal", falling)
        ));
        assert_eq!(
            p.rules[0].kind.lints(),
            vec![(
                "tiers",
                "tier rates fall as thresholds rise (0.05 from 10000 after 0.08 from 0); set \
                 `decelerator = true` if that is intended"
                    .to_string()
            )]
        );
        let p = program(&format!(
            "{}{}decelerator = true\n",
            super::super::testkit::HEADER,
            body("revenue", "marginal", falling)
        ));
        assert!(p.rules[0].kind.lints().is_empty());
        // rising rates: no lint
        let p = program(&format!(
            "{}{}",
            super::super::testkit::HEADER,
            body("revenue", "marginal", TIERS)
        ));
        assert!(p.rules[0].kind.lints().is_empty());
    }

    #[test]
    fn parse_reads_the_config_and_reports_tiers_that_do_not_ascend() {
        let ok = program(
            r#"[program]
id = "p"
name = "P"
currency = "USD"

[[rules]]
id = "t"
kind = "tiered"
mode = "retroactive"
tiers = [{ from = "0", rate = "0.05" }, { from = "10000", rate = 0.08 }]
"#,
        );
        assert_eq!(
            ok.rules[0].kind,
            RuleKind::Tiered(Config {
                // measure defaults to revenue, decelerator to false
                measure: TierMeasure::Revenue,
                mode: TierMode::Retroactive,
                tiers: vec![
                    Tier {
                        from: d("0"),
                        pay: Pay::Rate(d("0.05"))
                    },
                    Tier {
                        from: d("10000"),
                        pay: Pay::Rate(d("0.08"))
                    },
                ],
                decelerator: false,
                accumulate: None,
                basis: TierBasis::Period,
            })
        );
        let errors = parse_errors(
            r#"[program]
id = "p"
name = "P"
currency = "USD"

[[rules]]
id = "t"
kind = "tiered"
mode = "marginal"
tiers = [{ from = "0", rate = "0.05" }, { from = "0", rate = "0.08" }]
"#,
        );
        // line 10: `tiers = [` is 9 characters, the first table `{ from = "0", rate = "0.05" }`
        // is 29 (columns 10–38), then `, `: the second table starts at column 41
        assert_eq!(
            errors,
            vec![(
                10,
                41,
                "tiers of `rules[0].tiers` must ascend: tier 2 starts at 0 after 0".to_string()
            )]
        );
        let errors = parse_errors(
            r#"[program]
id = "p"
name = "P"
currency = "USD"

[[rules]]
id = "t"
kind = "tiered"
mode = "cumulative"
tiers = [{ from = "0", rate = "0.05" }]
"#,
        );
        // line 9 `mode = "cumulative"`: the value starts at column 8
        assert_eq!(
            errors,
            vec![(
                9,
                8,
                "`rules[0].mode` must be one of marginal, retroactive, interpolated, found \"cumulative\""
                    .to_string()
            )]
        );
    }

    const PER_UNIT: &str =
        r#"[{ from = "0", amount = "5.00" }, { from = "100", amount = "10.00" }]"#;

    #[test]
    fn units_marginal_splits_a_deals_units_across_bands() {
        use super::super::testkit::qty;
        let cases: Vec<(&str, Rows, Want)> = vec![
            // D1 [0, 60): 5 × 60 = 300.00; D2 [60, 130): 5 × 40 + 10 × 30 = 200 + 300 = 500.00
            (
                "straddles the boundary",
                vec![
                    qty(deal("D1", "2026-10-01", "1.00"), 60),
                    qty(deal("D2", "2026-10-02", "1.00"), 70),
                ],
                vec![("D1", "300.00"), ("D2", "500.00")],
            ),
            // D1 [0, 100): 5 × 100 = 500.00; D2 [100, 101) starts on the boundary: 10 × 1 = 10.00
            (
                "ends exactly on the boundary",
                vec![
                    qty(deal("D1", "2026-10-01", "1.00"), 100),
                    deal("D2", "2026-10-02", "1.00"),
                ],
                vec![("D1", "500.00"), ("D2", "10.00")],
            ),
            // 3 × 0.5 = 1.5 units, [0, 1.5): 5 × 1.5 = 7.50
            (
                "a split row's units",
                vec![qty(split("D1", "2026-10-01", "1.00", "0.5"), 3)],
                vec![("D1", "7.50")],
            ),
        ];
        for (name, deals, expected) in cases {
            let f = Fixture::new(&body("units", "marginal", PER_UNIT)).deals(deals);
            assert_eq!(f.lines("t"), expect(&expected), "{name}");
        }
        let f = Fixture::new(&body("units", "marginal", PER_UNIT)).deals(vec![
            qty(deal("D1", "2026-10-01", "1.00"), 60),
            qty(deal("D2", "2026-10-02", "1.00"), 70),
        ]);
        let out = f.output("t");
        assert_eq!(
            out.lines[1].note,
            "tier 1 (5.00 per unit) on 40 + tier 2 (10.00 per unit) on 30 of 70 units; \
             cumulative 60 → 130 units"
        );
        // basis: the deal's units; two bands, no single rate
        assert_eq!(
            (out.lines[1].basis, out.lines[1].rate),
            (Some(d("70")), None)
        );
        assert_eq!(out.lines[0].rate, Some(d("5.00")));
    }

    #[test]
    fn units_with_rate_tiers_pay_the_rate_on_the_revenue_of_each_band() {
        use super::super::testkit::qty;
        let tiers = r#"[{ from = "0", rate = "0.05" }, { from = "10", rate = "0.10" }]"#;
        // D1: 20 units, 2000.00, [0, 20): half the units in each band:
        // 0.05 × 2000 × 10/20 + 0.10 × 2000 × 10/20 = 50 + 100 = 150.00
        let f = Fixture::new(&body("units", "marginal", tiers))
            .deals(vec![qty(deal("D1", "2026-10-01", "2000.00"), 20)]);
        assert_eq!(f.lines("t"), expect(&[("D1", "150.00")]));
        assert_eq!(
            f.output("t").lines[0].note,
            "tier 1 (5%) on 10 + tier 2 (10%) on 10 of 20 units of 2000.00; cumulative 0 → 20 units"
        );
        // retroactive: 20 units reach tier 2, every deal 0.10 × its credited amount
        let f = Fixture::new(&body("units", "retroactive", tiers)).deals(vec![
            qty(deal("D1", "2026-10-01", "2000.00"), 15),
            qty(deal("D2", "2026-10-02", "500.00"), 5),
        ]);
        assert_eq!(f.lines("t"), expect(&[("D1", "200.00"), ("D2", "50.00")]));
    }

    #[test]
    fn units_retroactive_pays_every_unit_the_reached_amount() {
        use super::super::testkit::qty;
        let cases: Vec<(&str, Rows, Want)> = vec![
            // 99 units < 100: 5 × 60 = 300.00, 5 × 39 = 195.00
            (
                "a unit short",
                vec![
                    qty(deal("D1", "2026-10-01", "1.00"), 60),
                    qty(deal("D2", "2026-10-02", "1.00"), 39),
                ],
                vec![("D1", "300.00"), ("D2", "195.00")],
            ),
            // 100 units reach tier 2: 10 × 60 = 600.00, 10 × 40 = 400.00
            (
                "exactly on the boundary",
                vec![
                    qty(deal("D1", "2026-10-01", "1.00"), 60),
                    qty(deal("D2", "2026-10-02", "1.00"), 40),
                ],
                vec![("D1", "600.00"), ("D2", "400.00")],
            ),
        ];
        for (name, deals, expected) in cases {
            let f = Fixture::new(&body("units", "retroactive", PER_UNIT)).deals(deals);
            assert_eq!(f.lines("t"), expect(&expected), "{name}");
        }
        let f = Fixture::new(&body("units", "retroactive", PER_UNIT)).deals(vec![
            qty(split("D1", "2026-10-01", "1.00", "0.5"), 200),
            qty(deal("D2", "2026-10-02", "1.00"), 12),
        ]);
        let out = f.output("t");
        assert_eq!(
            out.lines[0].note,
            "tier 2 (10.00 per unit) × 100 units (quantity 200 × share 0.5): 112 units in the \
             period reach 100"
        );
        assert_eq!(
            out.lines[1].note,
            "tier 2 (10.00 per unit) × 12 units: 112 units in the period reach 100"
        );
    }

    #[test]
    fn units_next_threshold_counts_units() {
        use super::super::testkit::qty;
        let f = Fixture::new(&body("units", "marginal", PER_UNIT))
            .deals(vec![qty(split("D1", "2026-10-01", "1.00", "0.5"), 181)]);
        // 181 × 0.5 = 90.5 units: next boundary 100, a count (not rounded to cents)
        let t = f.threshold("t").unwrap();
        assert_eq!(
            (t.current, t.next, t.counts_deals, t.counts_units),
            (d("90.5"), d("100"), true, true)
        );
    }

    #[test]
    fn units_overflow_is_an_error_naming_partner_and_rule() {
        use super::super::testkit::qty;
        let tiers = r#"[{ from = "0", amount = "99999999999999" }]"#;
        let f = Fixture::new(&body("units", "marginal", tiers))
            .deals(vec![qty(deal("D1", "2026-10-01", "1.00"), u64::MAX)]);
        let err = f.try_output("t").unwrap_err().to_string();
        assert!(err.starts_with("partner P1, rule t: deal D1"), "{err}");
    }

    const POINTS: &str = r#"[{ from = "0", rate = "0.02" }, { from = "10000", rate = "0.05" }, { from = "20000", rate = "0.08" }]"#;

    #[test]
    fn interpolated_reads_the_rate_off_the_curve_and_pays_every_deal_at_it() {
        let cases: Vec<(&str, Rows, Want)> = vec![
            // total 10000.00 exactly on the point → 5%: 0.05 × 6000 = 300.00, 0.05 × 4000 = 200.00
            (
                "on a point",
                vec![
                    deal("D1", "2026-10-01", "6000.00"),
                    deal("D2", "2026-10-02", "4000.00"),
                ],
                vec![("D1", "300.00"), ("D2", "200.00")],
            ),
            // total 15000: 0.05 + 0.03 × 5000 / 10000 = 0.065; 0.065 × 15000 = 975.00
            (
                "half way between two points",
                vec![deal("D1", "2026-10-01", "15000.00")],
                vec![("D1", "975.00")],
            ),
            // total 5000: 0.02 + 0.03 × 0.5 = 0.035: 0.035 × 1000 = 35.00, 0.035 × 4000 = 140.00
            (
                "first segment, the early deal earns the period's rate too",
                vec![
                    deal("D1", "2026-10-01", "1000.00"),
                    deal("D2", "2026-10-30", "4000.00"),
                ],
                vec![("D1", "35.00"), ("D2", "140.00")],
            ),
            // total 25000 above the last point → 8%: 2000.00
            (
                "beyond the last point",
                vec![deal("D1", "2026-10-01", "25000.00")],
                vec![("D1", "2000.00")],
            ),
            // total 9999.99: 0.02 + 0.03 × 9999.99 / 10000 = 0.049999997;
            // × 9999.99 = 499.9995 − 0.00003 = 499.99947… → 500.00 (not the 5% line: 499.9995 exactly)
            (
                "a cent short of a point",
                vec![deal("D1", "2026-10-01", "9999.99")],
                vec![("D1", "500.00")],
            ),
        ];
        for (name, deals, expected) in cases {
            let f = Fixture::new(&body("revenue", "interpolated", POINTS)).deals(deals);
            assert_eq!(f.lines("t"), expect(&expected), "{name}");
        }
    }

    #[test]
    fn interpolated_notes_say_where_the_total_lies_and_the_rate_is_exact() {
        let f = Fixture::new(&body("revenue", "interpolated", POINTS)).deals(vec![
            deal("D1", "2026-10-01", "5000.00"),
            deal("D2", "2026-10-02", "10000.00"),
        ]);
        let out = f.output("t");
        assert_eq!(
            out.lines[0].note,
            "interpolated rate 6.5% on 5000.00: period revenue 15000.00, between 10000.00 (5%) and \
             20000.00 (8%)"
        );
        assert_eq!(out.lines[0].rate, Some(d("0.065")));
        // on a point, and above the last one
        let f = Fixture::new(&body("revenue", "interpolated", POINTS)).deals(vec![deal(
            "D1",
            "2026-10-01",
            "20000.00",
        )]);
        assert_eq!(
            f.output("t").lines[0].note,
            "interpolated rate 8% on 20000.00: period revenue 20000.00, on the point 20000.00 (8%)"
        );
        let f = Fixture::new(&body("revenue", "interpolated", POINTS)).deals(vec![deal(
            "D1",
            "2026-10-01",
            "20000.01",
        )]);
        assert_eq!(
            f.output("t").lines[0].note,
            "interpolated rate 8% on 20000.01: period revenue 20000.01, above the last point \
             20000.00 (8%)"
        );
        // Points 0 → 0% and 30000 → 10%; total 10000 → rate 1/30, not a finite decimal. Each line is
        // credited × 0.1 × 10000 ÷ 30000, divided last: 5000 → 166.666… → 166.67 (twice), and the note
        // shows the rate rounded, saying so.
        let curve = r#"[{ from = "0", rate = "0" }, { from = "30000", rate = "0.10" }]"#;
        let f = Fixture::new(&body("revenue", "interpolated", curve)).deals(vec![
            deal("D1", "2026-10-01", "5000.00"),
            deal("D2", "2026-10-02", "5000.00"),
        ]);
        assert_eq!(f.lines("t"), expect(&[("D1", "166.67"), ("D2", "166.67")]));
        let out = f.output("t");
        assert!(
            out.lines[0]
                .note
                .starts_with("interpolated rate about 3.3333% on 5000.00: period revenue 10000.00"),
            "{}",
            out.lines[0].note
        );
        assert_eq!(out.lines[0].rate, Some(d("1") / d("30")));
    }

    #[test]
    fn interpolated_attainment_and_deal_count_curves() {
        // quota 10000; points at 0, 100% and 150% of quota; revenue 12500 = 125% → 6.5%: 812.50
        let curve = r#"[{ from = "0", rate = "0.02" }, { from = "1.0", rate = "0.05" }, { from = "1.5", rate = "0.08" }]"#;
        let f = Fixture::new(&body("attainment", "interpolated", curve))
            .edit("P1", |p| p.quota = Some(d("10000.00")))
            .deals(vec![deal("D1", "2026-10-01", "12500.00")]);
        assert_eq!(f.lines("t"), expect(&[("D1", "812.50")]));
        assert_eq!(
            f.output("t").lines[0].note,
            "interpolated rate 6.5% on 12500.00: period revenue 12500.00 is 125% of quota, between \
             100% (5%) and 150% (8%)"
        );
        // deal counts: points 0 → 1%, 4 → 5%; 2 deals → 3% on each: 30.00 and 15.00
        let curve = r#"[{ from = "0", rate = "0.01" }, { from = "4", rate = "0.05" }]"#;
        let f = Fixture::new(&body("deals", "interpolated", curve)).deals(vec![
            deal("D1", "2026-10-01", "1000.00"),
            deal("D2", "2026-10-02", "500.00"),
        ]);
        assert_eq!(f.lines("t"), expect(&[("D1", "30.00"), ("D2", "15.00")]));
        assert_eq!(
            f.output("t").lines[1].note,
            "interpolated rate 3% on 500.00: 2 deals in the period, between 0 deals (1%) and 4 \
             deals (5%)"
        );
    }

    #[test]
    fn deal_basis_tiers_each_deal_on_its_own_amount() {
        let rows = || {
            vec![
                deal("D1", "2026-10-01", "8000.00"),
                deal("D2", "2026-10-02", "12000.00"),
            ]
        };
        let with_basis = |mode: &str| format!("{}basis = \"deal\"\n", body("revenue", mode, TIERS));
        let cases: Vec<(&str, Want)> = vec![
            // D1 [0, 8000): 5% → 400.00; D2 [0, 12000): 10000 × 5% + 2000 × 8% = 500 + 160 = 660.00
            ("marginal", vec![("D1", "400.00"), ("D2", "660.00")]),
            // D1 8000 < 10000: 5% → 400.00; D2 12000 ≥ 10000: 8% → 960.00
            ("retroactive", vec![("D1", "400.00"), ("D2", "960.00")]),
            // points 0 → 5%, 10000 → 8%, 20000 → 10%: D1 at 8000: 0.05 + 0.03 × 0.8 = 0.074 → 592.00;
            // D2 at 12000: 0.08 + 0.02 × 0.2 = 0.084 → 1008.00
            ("interpolated", vec![("D1", "592.00"), ("D2", "1008.00")]),
        ];
        for (mode, expected) in cases {
            let f = Fixture::new(&with_basis(mode)).deals(rows());
            assert_eq!(f.lines("t"), expect(&expected), "{mode}");
            // and the period basis (said out loud) is the default's answer, different here
            let period = format!("{}basis = \"period\"\n", body("revenue", mode, TIERS));
            let f_period = Fixture::new(&period).deals(rows());
            let f_default = Fixture::new(&body("revenue", mode, TIERS)).deals(rows());
            assert_eq!(f_period.lines("t"), f_default.lines("t"), "{mode}");
            assert_ne!(f_period.lines("t"), f.lines("t"), "{mode}");
        }
        let f = Fixture::new(&with_basis("marginal")).deals(rows());
        assert_eq!(
            f.output("t").lines[1].note,
            "tier 1 (5%) on 10000.00 + tier 2 (8%) on 2000.00 of 12000.00, the deal tiered on its own"
        );
        let f = Fixture::new(&with_basis("retroactive")).deals(rows());
        assert_eq!(
            f.output("t").lines[1].note,
            "tier 2 (8%) of 12000.00: the deal's revenue 12000.00 reaches 10000.00"
        );
        // attainment per deal: quota 10000, tiers 0 → 2%, 100% → 5%; D2 alone is 120% of quota
        let tiers = r#"[{ from = "0", rate = "0.02" }, { from = "1.0", rate = "0.05" }]"#;
        let text = format!(
            "{}basis = \"deal\"\n",
            body("attainment", "retroactive", tiers)
        );
        let f = Fixture::new(&text)
            .edit("P1", |p| p.quota = Some(d("10000.00")))
            .deals(rows());
        // D1 80% → 2% → 160.00; D2 120% → 5% → 600.00 (the period total 200% plays no part)
        assert_eq!(f.lines("t"), expect(&[("D1", "160.00"), ("D2", "600.00")]));
    }

    #[test]
    fn next_threshold_of_a_curve_is_the_next_point_and_none_per_deal() {
        let f = Fixture::new(&body("revenue", "interpolated", POINTS)).deals(vec![deal(
            "D1",
            "2026-10-01",
            "12000.00",
        )]);
        let t = f.threshold("t").expect("threshold");
        assert_eq!((t.current, t.next), (d("12000.00"), d("20000")));
        let text = format!("{}basis = \"deal\"\n", body("revenue", "marginal", TIERS));
        let f = Fixture::new(&text).deals(vec![deal("D1", "2026-10-01", "6000.00")]);
        assert!(f.threshold("t").is_none());
    }

    #[test]
    fn parse_refuses_curves_and_bases_that_cannot_be_meant() {
        let rule = |extra: &str| {
            format!(
                "[program]\nid = \"p\"\nname = \"P\"\ncurrency = \"USD\"\n\n[[rules]]\nid = \"t\"\nkind = \"tiered\"\n{extra}"
            )
        };
        // line 10 `tiers = [...]`: the value at column 9
        assert_eq!(
            parse_errors(&rule(
                "mode = \"interpolated\"\ntiers = [{ from = \"0\", rate = \"0.05\" }]\n"
            )),
            vec![(
                10,
                9,
                "`rules[0].tiers` of an interpolated rule are the points of a curve and need at \
                 least two; for one rate use `kind = \"percent\"`"
                    .to_string()
            )]
        );
        // a curve pays rates, also on deal counts: `amount` is an unknown key (line 11: `tiers = [{
        // from = "0", ` is 23 characters, `amount` at column 24), and the point misses its rate
        assert_eq!(
            parse_errors(&rule(
                "measure = \"deals\"\nmode = \"interpolated\"\ntiers = [{ from = \"0\", amount = \"5\" }, { from = \"2\", rate = \"0.1\" }]\n"
            )),
            vec![
                (
                    11,
                    24,
                    "unknown key `rules[0].tiers[0].amount`; expected one of: from, rate"
                        .to_string()
                ),
                (
                    11,
                    10,
                    "missing required key `rules[0].tiers[0].rate`".to_string()
                ),
            ]
        );
        // line 11 `basis = "deal"`: the value at column 9
        assert_eq!(
            parse_errors(&rule(
                "measure = \"deals\"\nmode = \"marginal\"\nbasis = \"deal\"\ntiers = [{ from = \"0\", rate = \"0.05\" }]\n"
            )),
            vec![(
                11,
                9,
                "`rules[0].basis` = \"deal\" cannot be used with `measure = \"deals\"`: every deal \
                 counts as one deal on its own, so every deal would earn the first tier"
                    .to_string()
            )]
        );
        assert_eq!(
            parse_errors(&rule(
                "mode = \"marginal\"\nbasis = \"partner\"\ntiers = [{ from = \"0\", rate = \"0.05\" }]\n"
            )),
            vec![(
                10,
                9,
                "`rules[0].basis` must be one of period, deal, found \"partner\"".to_string()
            )]
        );
        let ok = program(&rule(
            "mode = \"interpolated\"\nbasis = \"deal\"\ntiers = [{ from = \"0\", rate = \"0.05\" }, { from = \"1000\", rate = \"0.06\" }]\n",
        ));
        assert!(matches!(
            &ok.rules[0].kind,
            RuleKind::Tiered(Config {
                mode: TierMode::Interpolated,
                basis: TierBasis::Deal,
                ..
            })
        ));
    }

    #[test]
    fn deal_basis_with_accumulate_is_refused_at_basis() {
        let errors = parse_errors(
            r#"[program]
id = "p"
name = "P"
currency = "USD"

[[rules]]
id = "t"
kind = "tiered"
basis = "deal"
accumulate = "quarter"
mode = "marginal"
tiers = [{ from = "0", rate = "0.05" }, { from = "100", rate = "0.08" }]
"#,
        );
        // line 9 `basis = "deal"`: the value starts at column 9
        assert_eq!(
            errors,
            vec![(
                9,
                9,
                "`rules[0].basis` = \"deal\" cannot be used with `accumulate`: a deal tiered on its own \
                 has no quarter or year to date"
                    .to_string()
            )]
        );
    }
}
