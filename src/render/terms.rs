//! A rule's terms in words, as a statement states them once above the rule's lines
//! ("5 % of the first 25,000.00, 8 % above"). Written into the batch (statement_rules.csv) when the
//! program is at hand, so statements rendered later need only the batch.

use super::words::{display_money, percent};
use crate::engine::payments::PayOn;
use crate::engine::rules::RuleKind;
use crate::engine::rules::accumulate::Accumulate;
use crate::engine::rules::fund::Allocation;
use crate::engine::rules::goal::{GoalPay, Target};
use crate::engine::rules::rebate::RebateBasis;
use crate::engine::rules::tiered::{TierBasis, TierMeasure, TierMode};
use crate::engine::rules::{Per, tiered};
use crate::program::{Measure, Pay, Rule, Tier};
use rust_decimal::Decimal;

/// The rule's terms in one sentence, amounts in the program currency's minor units.
pub fn terms(rule: &Rule, units: u32) -> String {
    let money = |v: Decimal| display_money(v, units);
    let mut text = match &rule.kind {
        RuleKind::Flat(c) => match c.per {
            Per::Deal => format!("{} per deal", money(c.amount)) + paid_when(c.pay_on),
            Per::Unit => format!("{} per unit sold", money(c.amount)) + paid_when(c.pay_on),
        },
        RuleKind::Percent(c) => percent_terms(c.rate, c.pay_on),
        RuleKind::Tiered(c) => tiered_terms(c, units),
        RuleKind::Spif(c) => {
            let pay = match (c.pay, c.per) {
                (Pay::Rate(r), _) => format!("{} of each deal", percent(r)),
                (Pay::Amount(a), Per::Unit) => format!("{} per unit", money(a)),
                (Pay::Amount(a), Per::Deal) => format!("{} per deal", money(a)),
            };
            let most = c
                .max_deals
                .map(|n| format!(", at most {n} deal(s) a period"))
                .unwrap_or_default();
            format!("{pay} closed {} to {}{most}", c.start, c.end)
        }
        RuleKind::Rebate(c) => {
            let on = match c.measure {
                Measure::Units => "units",
                _ => "revenue",
            };
            match &c.basis {
                RebateBasis::Threshold { threshold, rate } => format!(
                    "{} of your period {on} once it reaches {}",
                    percent(*rate),
                    money(*threshold)
                ),
                RebateBasis::Tiers(tiers) => format!(
                    "on all your period {on}, at the rate of the highest tier reached: {}",
                    tier_list(tiers, c.measure == Measure::Units, units)
                ),
            }
        }
        RuleKind::Goal(c) => goal_terms(c, units),
        RuleKind::Growth(c) => {
            let pay = match c.pay {
                Pay::Rate(r) => format!("{} of the increase", percent(r)),
                Pay::Amount(a) => money(a),
            };
            format!(
                "{pay} when your revenue grows by at least {} over the previous period",
                percent(c.min_growth)
            )
        }
        RuleKind::Activity(c) => {
            let most = c
                .max_per_period
                .map(|n| format!(", at most {n} a period"))
                .unwrap_or_default();
            format!(
                "{} per {}{most}",
                money(c.amount),
                c.activity.replace('_', " ")
            )
        }
        RuleKind::Milestone(c) => format!(
            "{} once, on your {} qualifying deal",
            money(c.amount),
            ordinal(c.nth_deal)
        ),
        RuleKind::Fund(c) => fund_terms(c, units),
    };
    if let Some(span) = accumulate(&rule.kind) {
        text.push_str(&format!(", measured over the {span} to date"));
    }
    if let Some(cap) = rule.cap {
        text.push_str(&format!("; at most {} a period", money(cap)));
    }
    text
}

/// A `percent` rule's terms: of each deal, or of the cash received for it (SPEC §9.1, §9.2).
fn percent_terms(rate: Decimal, pay_on: PayOn) -> String {
    match pay_on {
        PayOn::Payment { for_months: None } => {
            format!("{} of the cash received for each deal", percent(rate))
        }
        PayOn::Payment {
            for_months: Some(n),
        } => format!(
            "{} of the cash received for each deal in the {} after it closes",
            percent(rate),
            if n == 1 {
                "month".to_string()
            } else {
                format!("{n} months")
            }
        ),
        _ => format!("{} of each deal", percent(rate)) + paid_when(pay_on),
    }
}

/// When a deal's line is paid, for a rule that may wait for the deal's payments (SPEC §9.1).
fn paid_when(pay_on: PayOn) -> &'static str {
    match pay_on {
        PayOn::FullPayment => ", once the deal is paid in full",
        _ => "",
    }
}

/// What the program says of the rule beyond its kind, for the partner: its dates (a version of a
/// rule, SPEC §8.6) and a manual approval (SPEC §9.3). Appended to [`terms`].
pub fn conditions(program: &crate::program::Program, rule: &Rule) -> String {
    // A version's dates are a deal's `closed_on` for deal-based rules (activities count by when
    // they happened, claims by when they were decided: SPEC §8.6); said for deals only.
    let dates = match rule.is_deal_based() {
        true => (rule.when.valid_from, rule.when.valid_until),
        false => (None, None),
    };
    let mut text = match dates {
        (Some(from), Some(until)) => format!("; for deals closed from {from} to {until}"),
        (Some(from), None) => format!("; for deals closed from {from}"),
        (None, Some(until)) => format!("; for deals closed until {until}"),
        (None, None) => String::new(),
    };
    if program.approval(rule) == crate::engine::approval::Approval::Manual {
        text.push_str("; each deal's line is paid once it is approved");
    }
    text
}

fn accumulate(kind: &RuleKind) -> Option<&'static str> {
    let span = match kind {
        RuleKind::Tiered(c) => c.accumulate,
        RuleKind::Rebate(c) => c.accumulate,
        RuleKind::Goal(c) => c.accumulate,
        _ => None,
    }?;
    Some(match span {
        Accumulate::Quarter => "quarter",
        Accumulate::Year => "year",
    })
}

/// `1st`, `2nd`, `3rd`, `11th`, `22nd`.
fn ordinal(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// A tier's threshold in the measure's words.
fn threshold(from: Decimal, measure: TierMeasure, units: u32) -> String {
    match measure {
        TierMeasure::Revenue => display_money(from, units),
        TierMeasure::Deals => format!("{} deals", from.normalize()),
        TierMeasure::Units => format!("{} units", from.normalize()),
        TierMeasure::Attainment => percent(from) + " of quota",
    }
}

fn pay_words(pay: Pay, measure: TierMeasure, units: u32) -> String {
    match (pay, measure) {
        (Pay::Rate(r), _) => percent(r),
        (Pay::Amount(a), TierMeasure::Units) => format!("{} per unit", display_money(a, units)),
        (Pay::Amount(a), _) => format!("{} per deal", display_money(a, units)),
    }
}

fn tiered_terms(c: &tiered::Config, units: u32) -> String {
    let at = |k: usize| threshold(c.tiers[k].from, c.measure, units);
    let pay = |k: usize| pay_words(c.tiers[k].pay, c.measure, units);
    let last = c.tiers.len().saturating_sub(1);
    let whose = match c.basis {
        TierBasis::Deal => "each deal on its own",
        TierBasis::Period => "your period total",
    };
    match c.mode {
        // "5 % of the first 25,000.00, 8 % from 25,000.00 to 60,000.00, 10 % above"
        TierMode::Marginal => {
            let bands: Vec<String> = (0..c.tiers.len())
                .map(|k| match (k, k == last) {
                    (0, true) => format!("{} of all", pay(0)),
                    (0, false) => format!("{} of the first {}", pay(0), at(1)),
                    (_, true) => format!("{} above", pay(k)),
                    (_, false) => format!("{} from {} to {}", pay(k), at(k), at(k + 1)),
                })
                .collect();
            let of = match c.basis {
                TierBasis::Deal => " of each deal on its own",
                TierBasis::Period => "",
            };
            format!("{}{of}", bands.join(", "))
        }
        TierMode::Retroactive => format!(
            "every deal at the rate of the highest tier {whose} reaches: {}",
            (0..c.tiers.len())
                .map(|k| format!("{} from {}", pay(k), at(k)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        TierMode::Interpolated => format!(
            "every deal at a rate read off a line through the points {} ({whose})",
            (0..c.tiers.len())
                .map(|k| format!("{} at {}", pay(k), at(k)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn tier_list(tiers: &[Tier], per_unit: bool, units: u32) -> String {
    let measure = if per_unit {
        TierMeasure::Units
    } else {
        TierMeasure::Revenue
    };
    tiers
        .iter()
        .map(|t| {
            format!(
                "{} from {}",
                pay_words(t.pay, measure, units),
                threshold(t.from, measure, units)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn goal_terms(c: &crate::engine::rules::goal::Config, units: u32) -> String {
    let target = |v: Decimal| match c.measure {
        Measure::Revenue => display_money(v, units),
        Measure::Deals => format!("{} deals", v.normalize()),
        Measure::Units => format!("{} units", v.normalize()),
    };
    let target = match &c.target {
        Target::Fixed(v) => format!("a target of {}", target(*v)),
        Target::Quota => "your quota".to_string(),
        Target::ByLevel(levels) => format!(
            "your level's target ({})",
            levels
                .iter()
                .map(|(level, v)| format!("{level} {}", target(*v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    match &c.pay {
        GoalPay::Amount(a) => format!("{} when you reach {target}", display_money(*a, units)),
        GoalPay::Curve(points) => format!(
            "an amount read off a curve of how much of {target} you reach: {}",
            points
                .iter()
                .map(|p| format!("{} at {}", display_money(p.amount, units), percent(p.at)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn fund_terms(c: &crate::engine::rules::fund::Config, units: u32) -> String {
    let mut parts = Vec::new();
    match &c.allocation {
        Some(Allocation::Fixed(a)) => {
            parts.push(format!(
                "{} allocated each period",
                display_money(*a, units)
            ));
        }
        Some(Allocation::ByLevel(levels)) => parts.push(format!(
            "allocated each period by level ({})",
            levels
                .iter()
                .map(|(level, a)| format!("{level} {}", display_money(*a, units)))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        None => {}
    }
    if let Some(rate) = c.accrual_rate {
        parts.push(format!(
            "{} of your qualifying revenue accrues",
            percent(rate)
        ));
    }
    parts.push("approved claims are reimbursed from it".to_string());
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(body: &str) -> Rule {
        let text = format!(
            "[program]\nid = \"p\"\nname = \"P\"\ncurrency = \"USD\"\n\n[[rules]]\nid = \"r\"\n{body}\n"
        );
        let program = crate::program::parse("p.toml", &text)
            .0
            .expect("the program parses");
        program.rules[0].clone()
    }

    #[test]
    fn marginal_tiers_read_as_bands() {
        let r = rule(
            "kind = \"tiered\"\nmeasure = \"revenue\"\nmode = \"marginal\"\ntiers = [{ from = \"0\", rate = \"0.05\" }, { from = \"25000\", rate = \"0.08\" }]",
        );
        assert_eq!(terms(&r, 2), "5 % of the first 25,000.00, 8 % above");
        let r = rule(
            "kind = \"tiered\"\nmeasure = \"revenue\"\nmode = \"marginal\"\ncap = \"15000\"\ntiers = [{ from = \"0\", rate = \"0.05\" }, { from = \"25000\", rate = \"0.08\" }, { from = \"60000\", rate = \"0.10\" }]",
        );
        assert_eq!(
            terms(&r, 2),
            "5 % of the first 25,000.00, 8 % from 25,000.00 to 60,000.00, 10 % above; at most 15,000.00 a period"
        );
    }

    #[test]
    fn other_kinds_read_as_sentences() {
        assert_eq!(
            terms(&rule("kind = \"flat\"\namount = \"150\""), 2),
            "150.00 per deal"
        );
        assert_eq!(
            terms(
                &rule("kind = \"milestone\"\nnth_deal = 2\namount = \"300\""),
                2
            ),
            "300.00 once, on your 2nd qualifying deal"
        );
        assert_eq!(
            terms(
                &rule(
                    "kind = \"spif\"\nstart = 2026-10-01\nend = 2026-11-15\namount = \"250\"\nmax_deals = 3"
                ),
                2
            ),
            "250.00 per deal closed 2026-10-01 to 2026-11-15, at most 3 deal(s) a period"
        );
        assert_eq!(
            terms(&rule("kind = \"fund\"\naccrual_rate = \"0.02\""), 2),
            "2 % of your qualifying revenue accrues; approved claims are reimbursed from it"
        );
    }

    #[test]
    fn a_versions_dates_are_said_of_deals_only() {
        let text = "[program]\nid = \"p\"\nname = \"P\"\ncurrency = \"USD\"\n\n\
                    [[rules]]\nid = \"cert\"\nkind = \"activity\"\nactivity = \"certification\"\n\
                    amount = \"250\"\nvalid_from = 2026-10-01\n\n\
                    [[rules]]\nid = \"base\"\nkind = \"percent\"\nrate = \"0.05\"\n\
                    valid_from = 2026-10-01\napproval = \"manual\"\n";
        let program = crate::program::parse("p.toml", text)
            .0
            .expect("the program parses");
        assert_eq!(conditions(&program, &program.rules[0]), "");
        assert_eq!(
            conditions(&program, &program.rules[1]),
            "; for deals closed from 2026-10-01; each deal's line is paid once it is approved"
        );
    }

    #[test]
    fn paying_on_cash_reads_as_cash() {
        let cash = "kind = \"percent\"\nrate = \"0.3\"\npay_on = \"payment\"";
        assert_eq!(
            terms(&rule(cash), 2),
            "30 % of the cash received for each deal"
        );
        assert_eq!(
            terms(&rule(&format!("{cash}\nfor_months = 12")), 2),
            "30 % of the cash received for each deal in the 12 months after it closes"
        );
        assert_eq!(
            terms(
                &rule("kind = \"flat\"\namount = \"300\"\npay_on = \"full-payment\""),
                2
            ),
            "300.00 per deal, once the deal is paid in full"
        );
    }
}
