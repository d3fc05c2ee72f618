//! What each rule adds up to: the one grouping of an outcome's lines behind the run summary, `diff`,
//! `explain` and the statements. Amounts stay `Decimal`; formatting them is the reports' business.

use super::{Line, LineKind, Outcome};
use crate::program::Program;
use rust_decimal::Decimal;

/// The lines of one rule, or of one kind of adjustment, over the whole period.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleTotal {
    /// The rule's id; empty for an adjustment (budget proration, clawbacks).
    pub rule_id: String,
    /// The rule's kind (`percent`, `fund`, …); for an adjustment, its line kind (`budget-proration`,
    /// `clawback`).
    pub kind: &'static str,
    pub lines: usize,
    pub amount: Decimal,
}

impl RuleTotal {
    /// Lines no rule earned this period: budget proration and clawbacks.
    pub fn is_adjustment(&self) -> bool {
        self.rule_id.is_empty()
    }
}

/// One partner's lines of one rule and line kind, in calculation order.
#[derive(Debug, Clone, PartialEq)]
pub struct PartnerRuleTotal<'a> {
    /// The rule the lines name (a clawback names the rule it recovers from); empty for budget
    /// proration.
    pub rule_id: &'a str,
    /// The lines' kind (`percent`, `claim`, `clawback`, …).
    pub kind: &'static str,
    pub lines: Vec<&'a Line>,
    pub amount: Decimal,
}

impl Outcome {
    /// The period's lines as lines.csv and ledger.csv hold them, and in which each line's key must be
    /// unique: per partner, what was earned, clawed back or adjusted, then the account movements
    /// (both lists are sorted by partner).
    pub fn period_lines(&self) -> impl Iterator<Item = &Line> {
        Outcome::merged_by_partner(&self.lines, &self.movements)
    }

    /// Earned lines and movements (each by partner) merged by partner, as [`Outcome::period_lines`].
    pub(crate) fn merged_by_partner<'a>(
        lines: &'a [Line],
        movements: &'a [Line],
    ) -> impl Iterator<Item = &'a Line> {
        let mut earned = lines.iter().peekable();
        let mut moved = movements.iter().peekable();
        std::iter::from_fn(move || match (earned.peek(), moved.peek()) {
            (Some(e), Some(m)) if m.partner < e.partner => moved.next(),
            (Some(_), _) => earned.next(),
            (None, _) => moved.next(),
        })
    }

    /// Every rule of `program` in program order, a rule without lines included (0 lines, 0), then
    /// the adjustments, one per kind, in the order they first appear. A claim counts under its
    /// fund; a clawback is an adjustment even though its line names the rule it recovers from.
    pub fn rule_totals(&self, program: &Program) -> Vec<RuleTotal> {
        let mut totals: Vec<RuleTotal> = program
            .rules
            .iter()
            .map(|r| RuleTotal {
                rule_id: r.id.to_string(),
                kind: r.kind.name(),
                lines: 0,
                amount: Decimal::ZERO,
            })
            .collect();
        for line in &self.lines {
            let (rule_id, kind) = match line.kind {
                // A release's pending leg only mirrors its payout leg (SPEC §8.2).
                LineKind::ReleasePending => continue,
                // A held line is earned by its rule, on the pending account (SPEC §8.2).
                LineKind::Rule(_) | LineKind::Claim | LineKind::Pending(_) | LineKind::TrueUp => (
                    &*line.rule_id,
                    program
                        .rule(&line.rule_id)
                        .map_or(line.kind.name(), |r| r.kind.name()),
                ),
                LineKind::Clawback
                | LineKind::BudgetProration
                | LineKind::Fund
                | LineKind::Payout
                | LineKind::Adjustment
                | LineKind::Release
                | LineKind::Cancel => ("", line.kind.name()),
            };
            match totals
                .iter_mut()
                .find(|t| *t.rule_id == *rule_id && t.kind == kind)
            {
                Some(t) => {
                    t.lines += 1;
                    t.amount += line.amount;
                }
                None => totals.push(RuleTotal {
                    rule_id: rule_id.to_string(),
                    kind,
                    lines: 1,
                    amount: line.amount,
                }),
            }
        }
        totals
    }

    /// One partner's lines grouped by rule and line kind, each group where its first line is: the
    /// rules in program order, then budget proration, then the clawbacks.
    pub fn partner_rule_totals(&self, partner: usize) -> Vec<PartnerRuleTotal<'_>> {
        // `lines` is sorted by partner.
        let start = self.lines.partition_point(|l| l.partner < partner);
        let end = self.lines.partition_point(|l| l.partner <= partner);
        let mut totals: Vec<PartnerRuleTotal> = Vec::new();
        for line in &self.lines[start..end] {
            let kind = line.kind.name();
            // Held lines group apart from the rule's payable ones (same kind name, another account).
            match totals.iter_mut().find(|t| {
                *t.rule_id == *line.rule_id
                    && t.kind == kind
                    && t.lines[0].kind.is_pending() == line.kind.is_pending()
            }) {
                Some(t) => {
                    t.lines.push(line);
                    t.amount += line.amount;
                }
                None => totals.push(PartnerRuleTotal {
                    rule_id: &line.rule_id,
                    kind,
                    lines: vec![line],
                    amount: line.amount,
                }),
            }
        }
        totals
    }
}
