//! Lints: mistakes that parse but are probably not what the author meant (SPEC §1 `check`).

use super::*;
use std::collections::BTreeSet;

/// What `check` knows beyond the program: the partner types and regions of a partners file, if given.
#[derive(Debug, Default)]
pub struct LintContext {
    pub partner_types: Option<BTreeSet<String>>,
    pub regions: Option<BTreeSet<String>>,
}

fn warning(program: &Program, pos: Pos, message: String, text: &str) -> Diagnostic {
    Diagnostic {
        file: program.file.clone(),
        line: pos.line,
        column: pos.column,
        severity: Severity::Warning,
        message,
        excerpt: text
            .lines()
            .nth(pos.line.saturating_sub(1))
            .unwrap_or("")
            .to_string(),
    }
}

fn pay_value(p: &Pay) -> Decimal {
    match p {
        Pay::Rate(v) | Pay::Amount(v) => *v,
    }
}

/// Warnings for a parsed program. `text` is the program source, for excerpts.
pub fn lint(program: &Program, text: &str, ctx: &LintContext) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for rule in &program.rules {
        let (tiers, decelerator) = match &rule.kind {
            RuleKind::Tiered {
                tiers, decelerator, ..
            } => (Some(tiers.as_slice()), *decelerator),
            RuleKind::Rebate {
                basis: RebateBasis::Tiers(tiers),
                decelerator,
            } => (Some(tiers.as_slice()), *decelerator),
            _ => (None, false),
        };
        if let Some(tiers) = tiers
            && !decelerator
        {
            for pair in tiers.windows(2) {
                if pay_value(&pair[1].pay) < pay_value(&pair[0].pay) {
                    out.push(warning(
                        program,
                        rule.key_pos("tiers"),
                        format!(
                            "rule `{}`: tier rates fall as thresholds rise ({} from {} after {} from {}); \
                             set `decelerator = true` if that is intended",
                            rule.id,
                            pay_value(&pair[1].pay).normalize(),
                            pair[1].from,
                            pay_value(&pair[0].pay).normalize(),
                            pair[0].from
                        ),
                        text,
                    ));
                    break;
                }
            }
        }
        if let RuleKind::Spif { start, end, .. } = &rule.kind
            && end < start
        {
            out.push(warning(
                program,
                rule.key_pos("end"),
                format!(
                    "rule `{}`: SPIF window is empty: end {end} is before start {start}",
                    rule.id
                ),
                text,
            ));
        }
        if let (Some(types), Some(wanted)) = (&ctx.partner_types, &rule.when.partner_type)
            && !wanted.iter().any(|t| types.contains(t))
        {
            out.push(warning(
                program,
                rule.key_pos("when"),
                format!(
                    "rule `{}`: no partner in the partners file has type {}; the rule can never pay",
                    rule.id,
                    wanted.join(" or ")
                ),
                text,
            ));
        }
        if let (Some(regions), Some(wanted)) = (&ctx.regions, &rule.when.region)
            && !wanted.iter().any(|r| regions.contains(r))
        {
            out.push(warning(
                program,
                rule.key_pos("when"),
                format!(
                    "rule `{}`: no partner in the partners file is in region {}; the rule can never pay",
                    rule.id,
                    wanted.join(" or ")
                ),
                text,
            ));
        }
    }
    for (i, a) in program.rules.iter().enumerate() {
        for b in &program.rules[i + 1..] {
            if could_double_pay(a, b) {
                out.push(warning(
                    program,
                    b.pos,
                    format!(
                        "rules `{}` and `{}` are both {} rules on overlapping eligibility: a partner can be \
                         paid twice for the same thing",
                        a.id,
                        b.id,
                        a.kind.name()
                    ),
                    text,
                ));
            }
        }
    }
    out
}

fn lists_overlap(a: &Option<Vec<String>>, b: &Option<Vec<String>>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => x.iter().any(|i| y.contains(i)),
        _ => true,
    }
}

fn when_overlaps(a: &When, b: &When) -> bool {
    let lo = match (a.min_amount, b.min_amount) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    };
    let hi = match (a.max_amount, b.max_amount) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    let amounts_overlap = match (lo, hi) {
        (Some(l), Some(h)) => l <= h,
        _ => true,
    };
    lists_overlap(&a.partner_type, &b.partner_type)
        && lists_overlap(&a.level, &b.level)
        && lists_overlap(&a.region, &b.region)
        && lists_overlap(&a.product, &b.product)
        && lists_overlap(&a.customer_type, &b.customer_type)
        && lists_overlap(&a.source, &b.source)
        && amounts_overlap
}

/// Two rules of one kind pay for the same thing when their eligibility overlaps. Kinds that name what
/// they pay for (a SPIF window, an activity, a milestone number, a goal target) overlap only when that
/// matches too; funds never double pay (a claim names its fund).
fn could_double_pay(a: &Rule, b: &Rule) -> bool {
    let same_object = match (&a.kind, &b.kind) {
        (RuleKind::Flat { .. }, RuleKind::Flat { .. })
        | (RuleKind::Percent { .. }, RuleKind::Percent { .. })
        | (RuleKind::Tiered { .. }, RuleKind::Tiered { .. })
        | (RuleKind::Rebate { .. }, RuleKind::Rebate { .. })
        | (RuleKind::Growth { .. }, RuleKind::Growth { .. }) => true,
        (
            RuleKind::Spif {
                start: s1, end: e1, ..
            },
            RuleKind::Spif {
                start: s2, end: e2, ..
            },
        ) => s1.max(s2) <= e1.min(e2),
        (RuleKind::Activity { activity: x, .. }, RuleKind::Activity { activity: y, .. }) => x == y,
        (RuleKind::Milestone { nth_deal: x, .. }, RuleKind::Milestone { nth_deal: y, .. }) => {
            x == y
        }
        (
            RuleKind::Goal {
                measure: m1,
                target: t1,
                ..
            },
            RuleKind::Goal {
                measure: m2,
                target: t2,
                ..
            },
        ) => m1 == m2 && t1 == t2,
        _ => false,
    };
    same_object && when_overlaps(&a.when, &b.when)
}
