//! `goal` (SPEC §4.6): a fixed `amount`, paid once per period when the partner's period measure
//! (qualifying revenue, deal count or units, SPEC §8.4) reaches the target. The target is a number, the partner's
//! `quota`, or a table by level; a partner whose level is not in the table has no goal.
//!
//! Instead of `amount`, a pay curve (SPEC §8.3): `curve = [{ at, amount } ...]`, `at` being the
//! measure ÷ target. The amount is interpolated linearly between the points around the partner's
//! `at`; 0 below the first point, the last amount above the last.

use super::{RuleOutput, period_line, revenue, units_total};
use crate::engine::context::PartnerCtx;
use crate::error::{Result, Warning, WarningCode};
use crate::model::money::format_rate;
use crate::program::parse::{Bad, Tbl, choice, decimal, non_negative, positive, tables};
use crate::program::{Measure, Rule};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

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
    /// What reaching (a part of) the target pays.
    pub pay: GoalPay,
    /// The measure runs over the quarter or year to date (SPEC §8.7).
    pub accumulate: Option<super::accumulate::Accumulate>,
}

/// What a goal pays: `amount` once the target is reached, or an amount read off a `curve`.
#[derive(Debug, Clone, PartialEq)]
pub enum GoalPay {
    /// Paid once per period when the target is reached.
    Amount(Decimal),
    /// At least two points, `at` strictly ascending; a first point at 0 pays 0.
    Curve(Vec<CurvePoint>),
}

/// A point of a goal's pay curve: `amount` at `at` × target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    pub at: Decimal,
    pub amount: Decimal,
}

/// The keys a `goal` rule may have besides `id`, `kind`, `when` and `cap`.
pub const KEYS: &[&str] = &["measure", "target", "amount", "curve", "accumulate"];

/// Only the period's own rows.
pub const HISTORY: super::History = super::PERIOD_ONLY;

pub(crate) fn parse(t: &Tbl) -> Result<Config, Bad> {
    let measure = t.value("measure", choice(Measure::CHOICES));
    let amount = t.value("amount", non_negative);
    let curve = t.value("curve", |v| curve(t, v));
    let target = parse_target(t);
    let accumulate = super::accumulate::parse(t);
    let measure = t.required("measure", measure);
    let pay = match (amount, curve) {
        // Reported even when the curve has errors of its own: every error at once (SPEC §1).
        (Ok(Some(_)), _) if t.get("curve").is_some() => Err(t.error_at(
            "curve",
            format!("`{}` has both `amount` and `curve`; give one", t.path),
        )),
        (Ok(None), Ok(None)) => Err(t.error(format!(
            "missing required key `{}` (or a pay `curve`)",
            t.name("amount")
        ))),
        (amount, curve) => match (amount?, curve?) {
            (Some(a), _) => Ok(GoalPay::Amount(a)),
            (_, Some(c)) => Ok(GoalPay::Curve(c)),
            // not reached: both absent is the arm above, and a bad value returned at `?`
            (None, None) => Err(Bad),
        },
    };
    Ok(Config {
        measure: measure?,
        target: target?,
        pay: pay?,
        accumulate: accumulate?,
    })
}

/// A pay curve: at least two points, each `{ at, amount }` (both zero or more), `at` strictly
/// ascending; a first point at 0 must pay 0 (else every partner, even one with no deals, is paid:
/// the same mistake as a target of 0, SPEC §6). Every problem is reported at its point.
fn curve(t: &Tbl, v: &crate::program::parse::Val) -> Result<Vec<CurvePoint>, Bad> {
    let items = tables(v)?;
    let name = t.name("curve");
    let mut points = Vec::with_capacity(items.len());
    let mut bad = false;
    for item in items {
        let Ok(p) = item else {
            bad = true;
            continue;
        };
        p.check_keys(&["at", "amount"]);
        let at = p.require("at", non_negative);
        let amount = p.require("amount", non_negative);
        let (Ok(at), Ok(amount)) = (at, amount) else {
            bad = true;
            continue;
        };
        if let Some(prev) = points.last().map(|q: &CurvePoint| q.at)
            && at <= prev
        {
            let n = points.len() + 1;
            p.error(format!(
                "points of `{name}` must ascend: point {n} is at {at} after {prev}"
            ));
            bad = true;
        }
        if at.is_zero() && amount > Decimal::ZERO {
            p.error_at(
                "amount",
                format!(
                    "a point of `{name}` at 0 must pay 0, found {amount}: it would be paid to every \
                     partner, even one with no deals"
                ),
            );
            bad = true;
        }
        points.push(CurvePoint { at, amount });
    }
    if !bad && points.len() < 2 {
        return Err(v.error(format!(
            "`{name}` needs at least two points; for a single amount use `amount`"
        )));
    }
    match bad {
        true => Err(Bad),
        false => Ok(points),
    }
}

/// Lint: curve amounts that fall as the measure rises (paying less for doing more).
pub(crate) fn lints(config: &Config) -> Vec<(&'static str, String)> {
    let GoalPay::Curve(points) = &config.pay else {
        return Vec::new();
    };
    points
        .windows(2)
        .find(|pair| pair[1].amount < pair[0].amount)
        .map(|pair| {
            vec![(
                "curve",
                format!(
                    "curve amounts fall as the measure rises ({} at {} after {} at {}): a partner \
                     would be paid less for doing more",
                    pair[1].amount.normalize(),
                    pair[1].at.normalize(),
                    pair[0].amount.normalize(),
                    pair[0].at.normalize()
                ),
            )]
        })
        .unwrap_or_default()
}

/// A target of 0 or less is an error, never a lint (SPEC §6): every partner would reach it.
fn parse_target(t: &Tbl) -> Result<Target, Bad> {
    let target = match t.by_level("target", positive) {
        Some(by_level) => by_level.map(|m| Some(Target::ByLevel(m))),
        None => t.value("target", |v| match v.get().as_str() {
            Some("quota") => Ok(Target::Quota),
            _ => match decimal(v)? {
                d if d <= Decimal::ZERO => Err(v.error(format!(
                    "`{}` must be above 0, found {d}: a target of {d} is reached by every partner, \
                     even one with no deals",
                    v.name
                ))),
                d => Ok(Target::Fixed(d)),
            },
        }),
    };
    t.required("target", target)
}

/// The partner's target (with a curve: the next point above where it stands, money rounded up to
/// a cent and deals up to a whole deal that reach it) and where it stands, for nudges; `None` when
/// the partner has no target or is past the last point.
pub(crate) fn next_threshold(
    rule: &Rule,
    config: &Config,
    ctx: &PartnerCtx,
) -> Result<Option<super::Threshold>> {
    let Ok((goal, _)) = target_for(&config.target, ctx) else {
        return Ok(None);
    };
    let current = current(rule, config.measure, ctx)?;
    let counts_deals = config.measure != Measure::Revenue;
    let next = match &config.pay {
        GoalPay::Amount(_) => Some(goal),
        GoalPay::Curve(points) => {
            let places = if counts_deals {
                0
            } else {
                ctx.program.minor_units()
            };
            let bounds = curve_bounds(points, goal, ctx.calc(rule))?;
            bounds.into_iter().find(|b| *b > current).map(|b| {
                b.round_dp_with_strategy(places, rust_decimal::RoundingStrategy::ToPositiveInfinity)
            })
        }
    };
    Ok(next.map(|next| super::Threshold {
        current,
        next,
        counts_deals,
        counts_units: config.measure == Measure::Units,
    }))
}

/// Each curve point in the measure's own units: `at × target`.
fn curve_bounds(
    points: &[CurvePoint],
    goal: Decimal,
    calc: crate::engine::line::Calc,
) -> Result<Vec<Decimal>> {
    points
        .iter()
        .enumerate()
        .map(|(k, p)| {
            calc.mul(p.at, goal, || {
                format!(
                    "curve point {} (at {} × target {})",
                    k + 1,
                    format_rate(p.at),
                    format_rate(goal)
                )
            })
        })
        .collect()
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
    let deals = super::accumulate::measured(rule, ctx);
    match measure {
        Measure::Revenue => revenue(&deals, ctx.calc(rule)),
        Measure::Deals => Ok(Decimal::from(deals.len())),
        Measure::Units => units_total(&deals, ctx.calc(rule)),
    }
}

pub fn format_measure(measure: Measure, value: Decimal, ctx: &PartnerCtx) -> String {
    match measure {
        Measure::Revenue => ctx.money(value),
        Measure::Deals | Measure::Units => format_rate(value),
    }
}

pub fn evaluate(rule: &Rule, config: &Config, ctx: &PartnerCtx) -> Result<RuleOutput> {
    let (measure, target) = (config.measure, &config.target);
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
    let amount = match &config.pay {
        GoalPay::Amount(amount) => *amount,
        GoalPay::Curve(points) => {
            return on_curve(rule, measure, points, goal, &how, value, ctx);
        }
    };
    if value < goal {
        let lines = super::accumulate::settle_period(rule, ctx, None, || {
            format!(
                "{} {} is short of target {}{how}",
                measure.name(),
                format_measure(measure, value, ctx),
                format_measure(measure, goal, ctx)
            )
        })?;
        return Ok(RuleOutput::lines(lines));
    }
    let note = format!(
        "{} {} reaches target {}{how}",
        measure.name(),
        format_measure(measure, value, ctx),
        format_measure(measure, goal, ctx)
    );
    let line = period_line(rule, ctx, Some(value), None, amount, note);
    let lines = super::accumulate::settle_period(rule, ctx, Some(line), String::new)?;
    Ok(RuleOutput::lines(lines))
}

/// A pay curve's line (SPEC §8.3): the amount interpolated between the points around `value`, exact
/// and rounded once; nothing below the first point.
fn on_curve(
    rule: &Rule,
    measure: Measure,
    points: &[CurvePoint],
    goal: Decimal,
    how: &str,
    value: Decimal,
    ctx: &PartnerCtx,
) -> Result<RuleOutput> {
    let calc = ctx.calc(rule);
    let bounds = curve_bounds(points, goal, calc)?;
    let Some(k) = (0..bounds.len()).rev().find(|&k| bounds[k] <= value) else {
        // Below the first point: nothing, or with `accumulate` a true-up of what was paid (§8.7).
        let lines = super::accumulate::settle_period(rule, ctx, None, || {
            format!(
                "{} {} is below the curve's first point {}{how}",
                measure.name(),
                format_measure(measure, value, ctx),
                format_measure(measure, bounds[0], ctx)
            )
        })?;
        return Ok(RuleOutput::lines(lines));
    };
    let what = || "the amount on the curve".to_string();
    let percent = |ratio: Decimal| -> Result<String> {
        let p = calc.mul(ratio, Decimal::ONE_HUNDRED, what)?;
        let shown = p.round_dp(2);
        let about = if shown == p { "" } else { "about " };
        Ok(format!("{about}{}%", shown.normalize()))
    };
    let point = |k: usize| -> Result<String> {
        Ok(format!(
            "{} ({})",
            percent(points[k].at)?,
            ctx.money(points[k].amount)
        ))
    };
    let (raw, position) = if k + 1 == points.len() || bounds[k] == value {
        let position = match k + 1 == points.len() && bounds[k] < value {
            true => format!("above the last curve point {}", point(k)?),
            false => format!("on the curve point {}", point(k)?),
        };
        (points[k].amount, position)
    } else {
        // m_k + (m_{k+1} − m_k) × (value − b_k) ÷ (b_{k+1} − b_k), dividing last.
        let width = calc.ok(bounds[k + 1].checked_sub(bounds[k]), what)?;
        let rise = calc.ok(points[k + 1].amount.checked_sub(points[k].amount), what)?;
        let along = calc.ok(value.checked_sub(bounds[k]), what)?;
        let part = calc.ok(calc.mul(rise, along, what)?.checked_div(width), what)?;
        let raw = calc.ok(points[k].amount.checked_add(part), what)?;
        let position = format!(
            "between the curve points {} and {}",
            point(k)?,
            point(k + 1)?
        );
        (raw, position)
    };
    let at = calc.ok(value.checked_div(goal), what)?;
    let note = format!(
        "{} {} is {} of target {}{how}, {position}",
        measure.name(),
        format_measure(measure, value, ctx),
        percent(at)?,
        format_measure(measure, goal, ctx)
    );
    let line = period_line(rule, ctx, Some(value), None, raw, note);
    // With `accumulate`, after the span's first period only the true-up is written (SPEC §8.7).
    let lines = super::accumulate::settle_period(rule, ctx, Some(line), String::new)?;
    Ok(RuleOutput::lines(lines))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{Fixture, HEADER, d, deal, expect, parse_errors, program};
    use super::super::testkit::{Rows, Want};
    use super::*;
    use crate::engine::rules::RuleKind;

    fn body(measure: &str, target: &str) -> String {
        format!(
            "[[rules]]\nid = \"g\"\nkind = \"goal\"\nmeasure = \"{measure}\"\ntarget = {target}\namount = \"500.00\"\n"
        )
    }

    fn rows(amounts: &[&str]) -> Rows {
        amounts
            .iter()
            .enumerate()
            .map(|(i, a)| deal(&format!("D{i}"), "2026-10-01", a))
            .collect()
    }

    #[test]
    fn pays_once_when_the_measure_reaches_a_fixed_target() {
        let revenue = body("revenue", "10000");
        let deals = body("deals", "3");
        let cases: Vec<(&str, &String, Vec<&str>, Want)> = vec![
            // 6000 + 3999.99 = 9999.99 < 10000: nothing
            (
                "revenue a cent short",
                &revenue,
                vec!["6000.00", "3999.99"],
                vec![],
            ),
            // 6000 + 4000 = 10000.00 = target: 500.00 once
            (
                "revenue exactly at target",
                &revenue,
                vec!["6000.00", "4000.00"],
                vec![("2026-10", "500.00")],
            ),
            // 2 deals < 3: nothing
            ("two deals", &deals, vec!["1.00", "1.00"], vec![]),
            // 3 deals = 3: 500.00
            (
                "three deals",
                &deals,
                vec!["1.00", "1.00", "1.00"],
                vec![("2026-10", "500.00")],
            ),
            // 4 deals > 3: still 500.00, once
            (
                "four deals",
                &deals,
                vec!["1.00", "1.00", "1.00", "1.00"],
                vec![("2026-10", "500.00")],
            ),
        ];
        for (name, text, amounts, expected) in cases {
            let f = Fixture::new(text).deals(rows(&amounts));
            assert_eq!(f.lines("g"), expect(&expected), "{name}");
        }
    }

    #[test]
    fn quota_targets_skip_partners_without_a_positive_quota() {
        let text = body("revenue", "\"quota\"");
        let cases: Vec<(Option<&str>, Want, Vec<&str>)> = vec![
            // quota 20000, revenue 20000.00: reached, 500.00
            (Some("20000.00"), vec![("2026-10", "500.00")], vec![]),
            // quota 20000.01: a cent short, nothing and no warning
            (Some("20000.01"), vec![], vec![]),
            // no quota (empty cell): skipped with a warning, never paid for a target of zero
            (
                None,
                vec![],
                vec!["partner P1 has no quota: goal rule `g` skipped"],
            ),
            // a zero quota: skipped likewise
            (
                Some("0"),
                vec![],
                vec!["partner P1 has a quota of 0.00, not a positive one: goal rule `g` skipped"],
            ),
        ];
        for (quota, expected, warnings) in cases {
            let f = Fixture::new(&text)
                .edit("P1", |p| p.quota = quota.map(d))
                .deals(rows(&["15000.00", "5000.00"]));
            let out = f.output("g");
            assert_eq!(
                super::super::testkit::amounts(&out.lines),
                expect(&expected),
                "{quota:?}"
            );
            assert_eq!(
                super::super::testkit::messages(&out.warnings),
                warnings,
                "{quota:?}"
            );
        }
    }

    #[test]
    fn level_targets_use_the_partner_level() {
        let text = body("deals", "{ silver = 2, gold = 4 }");
        let cases: Vec<(Option<&str>, usize, Want)> = vec![
            // silver target 2, 2 deals: 500.00
            (Some("silver"), 2, vec![("2026-10", "500.00")]),
            // gold target 4, 3 deals: nothing
            (Some("gold"), 3, vec![]),
            // gold target 4, 4 deals: 500.00
            (Some("gold"), 4, vec![("2026-10", "500.00")]),
            // a level not in the table, or none: no goal (and no warning)
            (Some("bronze"), 9, vec![]),
            (None, 9, vec![]),
        ];
        for (level, n, expected) in cases {
            let f = Fixture::new(&text)
                .edit("P1", |p| p.level = level.map(String::from))
                .deals(rows(&vec!["1.00"; n]));
            let out = f.output("g");
            assert_eq!(
                super::super::testkit::amounts(&out.lines),
                expect(&expected),
                "{level:?} {n}"
            );
            assert!(out.warnings.is_empty());
        }
    }

    #[test]
    fn next_threshold_is_the_target() {
        let f = Fixture::new(&body("revenue", "10000")).deals(rows(&["4000.00"]));
        let t = f.threshold("g").expect("threshold");
        assert_eq!(
            (t.current, t.next, t.counts_deals),
            (d("4000.00"), d("10000"), false)
        );
        // a partner without a quota has no target at all
        let f = Fixture::new(&body("revenue", "\"quota\"")).deals(rows(&["4000.00"]));
        assert!(f.threshold("g").is_none());
    }

    #[test]
    fn parse_reads_the_target_forms_and_refuses_a_zero_target() {
        let ok = program(&format!(
            "{HEADER}{}",
            body("deals", "{ silver = 2, gold = \"4\" }")
        ));
        assert_eq!(
            ok.rules[0].kind,
            RuleKind::Goal(Config {
                measure: Measure::Deals,
                target: Target::ByLevel(
                    [("gold".to_string(), d("4")), ("silver".to_string(), d("2"))]
                        .into_iter()
                        .collect()
                ),
                pay: GoalPay::Amount(d("500")),
                accumulate: None,
            })
        );
        let ok = program(&format!("{HEADER}{}", body("revenue", "\"quota\"")));
        assert!(matches!(
            &ok.rules[0].kind,
            RuleKind::Goal(Config {
                target: Target::Quota,
                ..
            })
        ));
        let errors = parse_errors(
            r#"[program]
id = "p"
name = "P"
currency = "USD"

[[rules]]
id = "g"
kind = "goal"
measure = "revenue"
target = 0
amount = "500"
"#,
        );
        // line 10 `target = 0`: column 10
        assert_eq!(
            errors,
            vec![(
                10,
                10,
                "`rules[0].target` must be above 0, found 0: a target of 0 is reached by every \
                 partner, even one with no deals"
                    .to_string()
            )]
        );
        let errors = parse_errors(
            r#"[program]
id = "p"
name = "P"
currency = "USD"

[[rules]]
id = "g"
kind = "goal"
measure = "deals"
target = { silver = 2, gold = 0 }
amount = "500"
"#,
        );
        // line 10: `target = { silver = 2, gold = ` is 30 characters, the 0 is at column 31
        assert_eq!(
            errors,
            vec![(
                10,
                31,
                "`rules[0].target.gold` must be above 0, found 0".to_string()
            )]
        );
    }

    #[test]
    fn units_goal_counts_quantity_times_share() {
        use super::super::testkit::{qty, split};
        let units = body("units", "100");
        let cases: Vec<(&str, Rows, Want)> = vec![
            // 60 + 79 × 0.5 = 99.5 < 100: nothing
            (
                "half a unit short",
                vec![
                    qty(deal("D1", "2026-10-01", "1.00"), 60),
                    qty(split("D2", "2026-10-02", "1.00", "0.5"), 79),
                ],
                vec![],
            ),
            // 60 + 80 × 0.5 = 100: 500.00
            (
                "exactly at target",
                vec![
                    qty(deal("D1", "2026-10-01", "1.00"), 60),
                    qty(split("D2", "2026-10-02", "1.00", "0.5"), 80),
                ],
                vec![("2026-10", "500.00")],
            ),
        ];
        for (name, deals, expected) in cases {
            let f = Fixture::new(&units).deals(deals);
            assert_eq!(f.lines("g"), expect(&expected), "{name}");
        }
        let f = Fixture::new(&units).deals(vec![qty(deal("D1", "2026-10-01", "1.00"), 120)]);
        assert_eq!(f.output("g").lines[0].note, "units 120 reaches target 100");
        let f = Fixture::new(&units).deals(vec![qty(deal("D1", "2026-10-01", "1.00"), 90)]);
        let t = f.threshold("g").unwrap();
        assert_eq!(
            (t.current, t.next, t.counts_deals, t.counts_units),
            (d("90"), d("100"), true, true)
        );
    }

    const CURVE: &str = r#"[{ at = "0.5", amount = "0" }, { at = "1.0", amount = "2500" }, { at = "2.0", amount = "3500" }]"#;

    fn curve_body(measure: &str, target: &str, curve: &str) -> String {
        format!(
            "[[rules]]\nid = \"g\"\nkind = \"goal\"\nmeasure = \"{measure}\"\ntarget = {target}\ncurve = {curve}\n"
        )
    }

    #[test]
    fn a_curve_pays_the_amount_interpolated_at_measure_over_target() {
        let text = curve_body("revenue", "10000", CURVE);
        let cases: Vec<(&str, Vec<&str>, Want)> = vec![
            // 4999.99 ÷ 10000 < 0.5: below the first point, nothing
            ("below the first point", vec!["4999.99"], vec![]),
            // exactly 0.5: the first point pays 0.00, and a zero line is not written
            ("on the first point", vec!["3000.00", "2000.00"], vec![]),
            // 0.75: 0 + 2500 × (7500 − 5000) ÷ (10000 − 5000) = 1250.00
            ("between", vec!["7500.00"], vec![("2026-10", "1250.00")]),
            // 1.0: 2500.00
            ("on a point", vec!["10000.00"], vec![("2026-10", "2500.00")]),
            // 1.00001 (10000.10): 2500 + 1000 × 0.10 ÷ 10000 = 2500.01
            (
                "a dime past a point",
                vec!["10000.10"],
                vec![("2026-10", "2500.01")],
            ),
            // 2.0 and beyond: 3500.00, the curve does not extend
            (
                "on the last point",
                vec!["20000.00"],
                vec![("2026-10", "3500.00")],
            ),
            (
                "beyond the last point",
                vec!["90000.00"],
                vec![("2026-10", "3500.00")],
            ),
        ];
        for (name, amounts, expected) in cases {
            let f = Fixture::new(&text).deals(rows(&amounts));
            assert_eq!(f.lines("g"), expect(&expected), "{name}");
        }
        // notes
        let f = Fixture::new(&text).deals(rows(&["7500.00"]));
        assert_eq!(
            f.output("g").lines[0].note,
            "revenue 7500.00 is 75% of target 10000.00, between the curve points 50% (0.00) and 100% \
             (2500.00)"
        );
        let f = Fixture::new(&text).deals(rows(&["90000.00"]));
        assert_eq!(
            f.output("g").lines[0].note,
            "revenue 90000.00 is 900% of target 10000.00, above the last curve point 200% (3500.00)"
        );
    }

    #[test]
    fn a_curve_on_deal_counts_and_quota_targets() {
        // target 4 deals; 0.5 → 0, 1.0 → 100, 1.5 → 300
        let curve = r#"[{ at = "0.5", amount = "0" }, { at = "1", amount = "100" }, { at = "1.5", amount = "300" }]"#;
        let text = curve_body("deals", "4", curve);
        let cases: Vec<(usize, Want)> = vec![
            (1, vec![]),
            // 3 ÷ 4 = 0.75: 0 + 100 × (3 − 2) ÷ (4 − 2) = 50.00
            (3, vec![("2026-10", "50.00")]),
            // 5 ÷ 4 = 1.25: 100 + 200 × (5 − 4) ÷ (6 − 4) = 200.00
            (5, vec![("2026-10", "200.00")]),
            (7, vec![("2026-10", "300.00")]),
        ];
        for (n, expected) in cases {
            let f = Fixture::new(&text).deals(rows(&vec!["1.00"; n]));
            assert_eq!(f.lines("g"), expect(&expected), "{n}");
        }
        // quota target: a partner without one is skipped with the usual warning
        let text = curve_body("revenue", "\"quota\"", CURVE);
        let f = Fixture::new(&text).deals(rows(&["9000.00"]));
        let out = f.output("g");
        assert!(out.lines.is_empty());
        assert_eq!(
            super::super::testkit::messages(&out.warnings),
            vec!["partner P1 has no quota: goal rule `g` skipped"]
        );
        // quota 30000, revenue 40000: 2500 + 1000 × 10000 ÷ 30000 = 2833.333… → 2833.33
        let f = Fixture::new(&text)
            .edit("P1", |p| p.quota = Some(d("30000.00")))
            .deals(rows(&["40000.00"]));
        assert_eq!(f.lines("g"), expect(&[("2026-10", "2833.33")]));
        assert!(
            f.output("g").lines[0]
                .note
                .starts_with("revenue 40000.00 is about 133.33% of target 30000.00 (quota)")
        );
    }

    #[test]
    fn next_threshold_of_a_curve_is_the_next_point() {
        let text = curve_body("revenue", "10000", CURVE);
        let at = |amount: &str| {
            Fixture::new(&text)
                .deals(rows(&[amount]))
                .threshold("g")
                .map(|t| (t.current, t.next))
        };
        assert_eq!(at("4000.00"), Some((d("4000.00"), d("5000.00"))));
        assert_eq!(at("5000.00"), Some((d("5000.00"), d("10000.00"))));
        assert_eq!(at("12000.00"), Some((d("12000.00"), d("20000.00"))));
        assert_eq!(at("20000.00"), None);
        // deals: target 3, first point at 0.5 → 1.5 deals → 2 whole deals reach it
        let text = curve_body("deals", "3", CURVE);
        let t = Fixture::new(&text)
            .deals(rows(&["1.00"]))
            .threshold("g")
            .expect("threshold");
        assert_eq!((t.current, t.next, t.counts_deals), (d("1"), d("2"), true));
    }

    #[test]
    fn curve_lints_falling_amounts() {
        let falling = r#"[{ at = "1", amount = "2500" }, { at = "2", amount = "1000" }]"#;
        let p = program(&format!(
            "{HEADER}{}",
            curve_body("revenue", "10000", falling)
        ));
        assert_eq!(
            p.rules[0].kind.lints(),
            vec![(
                "curve",
                "curve amounts fall as the measure rises (1000 at 2 after 2500 at 1): a partner \
                 would be paid less for doing more"
                    .to_string()
            )]
        );
        let p = program(&format!(
            "{HEADER}{}",
            curve_body("revenue", "10000", CURVE)
        ));
        assert!(p.rules[0].kind.lints().is_empty());
        assert!(matches!(
            &p.rules[0].kind,
            RuleKind::Goal(Config {
                pay: GoalPay::Curve(points),
                ..
            }) if points.len() == 3 && points[2] == CurvePoint { at: d("2.0"), amount: d("3500") }
        ));
    }

    #[test]
    fn parse_refuses_curves_that_cannot_be_meant() {
        let goal = |extra: &str| {
            format!(
                "{HEADER}\n[[rules]]\nid = \"g\"\nkind = \"goal\"\nmeasure = \"revenue\"\ntarget = 100\n{extra}"
            )
        };
        // the rule's table starts at line 6
        assert_eq!(
            parse_errors(&goal("")),
            vec![(
                6,
                1,
                "missing required key `rules[0].amount` (or a pay `curve`)".to_string()
            )]
        );
        // line 11 `curve = [...]`: value at column 9
        assert_eq!(
            parse_errors(&goal("curve = [{ at = \"1\", amount = \"5\" }]\n")),
            vec![(
                11,
                9,
                "`rules[0].curve` needs at least two points; for a single amount use `amount`"
                    .to_string()
            )]
        );
        // `curve = [{ at = "1", amount = "5" }, ` is 37 characters: the second point at column 38
        assert_eq!(
            parse_errors(&goal(
                "curve = [{ at = \"1\", amount = \"5\" }, { at = \"0.5\", amount = \"9\", rate = 1 }]\n"
            )),
            vec![
                (
                    11,
                    66,
                    "unknown key `rules[0].curve[1].rate`; expected one of: at, amount".to_string()
                ),
                (
                    11,
                    38,
                    "points of `rules[0].curve` must ascend: point 2 is at 0.5 after 1".to_string()
                ),
            ]
        );
        // negative values, each at its value: "-1" at column 17, "-9" at column 60
        assert_eq!(
            parse_errors(&goal(
                "curve = [{ at = \"-1\", amount = \"5\" }, { at = \"1\", amount = \"-9\" }]\n"
            )),
            vec![
                (
                    11,
                    17,
                    "`rules[0].curve[0].at` must be zero or more, found -1".to_string()
                ),
                (
                    11,
                    60,
                    "`rules[0].curve[1].amount` must be zero or more, found -9".to_string()
                ),
            ]
        );
    }
}
