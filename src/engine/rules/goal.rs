//! `goal` (SPEC §4.6): a fixed `amount`, paid once per period when the partner's period measure
//! (qualifying revenue, deal count or units, SPEC §8.4) reaches the target. The target is a number, the partner's
//! `quota`, or a table by level; a partner whose level is not in the table has no goal.

use super::{RuleOutput, period_line, revenue, units_total};
use crate::engine::PartnerCtx;
use crate::error::{Result, Warning, WarningCode};
use crate::model::money::format_rate;
use crate::program::parse::{Bad, Tbl, choice, decimal, non_negative, positive};
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
    /// Paid once per period when the target is reached.
    pub amount: Decimal,
    /// The measure runs over the quarter or year to date (SPEC §8.7).
    pub accumulate: Option<super::accumulate::Accumulate>,
}

/// The keys a `goal` rule may have besides `id`, `kind`, `when` and `cap`.
pub const KEYS: &[&str] = &["measure", "target", "amount", "accumulate"];

/// Only the period's own rows.
pub const HISTORY: super::History = super::PERIOD_ONLY;

pub(crate) fn parse(t: &Tbl) -> Result<Config, Bad> {
    let measure = t.value("measure", choice(Measure::CHOICES));
    let amount = t.value("amount", non_negative);
    let target = parse_target(t);
    let accumulate = super::accumulate::parse(t);
    let measure = t.required("measure", measure);
    let amount = t.required("amount", amount);
    Ok(Config {
        measure: measure?,
        target: target?,
        amount: amount?,
        accumulate: accumulate?,
    })
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
        counts_deals: config.measure != Measure::Revenue,
        counts_units: config.measure == Measure::Units,
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
                amount: d("500"),
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
}
