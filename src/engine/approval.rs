//! Manual approval (SPEC §9.3): a deal line of a rule that requires approval waits on the `pending`
//! account until the decision in effect approves it (and its §8.2 hold has passed); a declined row is
//! not paid. This module holds the key, the decisions in effect and how a pending line is settled.

use crate::program::parse::{Field, Tbl, choice};
use std::collections::BTreeMap;

/// `approval` of a deal-based rule, or `[payout] approval` (the default of every rule that allows it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Approval {
    #[default]
    Auto,
    Manual,
}

impl Approval {
    pub const CHOICES: &[(&str, Approval)] =
        &[("auto", Approval::Auto), ("manual", Approval::Manual)];

    pub fn name(self) -> &'static str {
        match self {
            Approval::Auto => "auto",
            Approval::Manual => "manual",
        }
    }
}

/// Reads the optional `approval` key of a rule or of `[payout]`.
pub(crate) fn parse(t: &Tbl) -> Field<Approval> {
    t.value("approval", choice(Approval::CHOICES))
}

/// The decision in effect for a (row, rule) on `day` (SPEC §9.3): the row's decision for that
/// rule_id, else its decision with an empty rule_id, each only from its `decided_on` on.
/// `approvals` is sorted by (partner, deal_id, rule_id).
pub(crate) fn in_effect<'a>(
    approvals: &'a [crate::model::Approval],
    (partner, deal_id): (usize, &str),
    rule_id: &str,
    day: chrono::NaiveDate,
) -> Option<&'a crate::model::Approval> {
    let start = approvals.partition_point(|a| (a.partner, &*a.deal_id) < (partner, deal_id));
    let of_row = approvals[start..]
        .iter()
        .take_while(|a| a.partner == partner && &*a.deal_id == deal_id)
        .filter(|a| a.decided_on <= day);
    let mut any_rule = None;
    for decision in of_row {
        match decision.rule_id.as_deref() {
            Some(id) if id == rule_id => return Some(decision),
            None => any_rule = Some(decision),
            Some(_) => {}
        }
    }
    any_rule
}

/// Whether `rule` is manual and the row's decision in effect on `day` declined it.
pub(crate) fn declined_on(
    ctx: &super::PartnerCtx,
    rule: &crate::program::Rule,
    deal_id: &str,
    day: chrono::NaiveDate,
) -> bool {
    ctx.program.approval(rule) == Approval::Manual
        && in_effect(ctx.inputs.approvals, (ctx.index, deal_id), &rule.id, day)
            .is_some_and(|d| d.decision == crate::model::Decision::Declined)
}

/// What a decision says, for notes: `declined on 2026-11-04 (duplicate registration)`.
pub(crate) fn described(decision: &crate::model::Approval) -> String {
    let mut text = format!("{} on {}", decision.decision.name(), decision.decided_on);
    if let Some(reason) = decision.reason.as_deref().filter(|r| !r.is_empty()) {
        text.push_str(&format!(" ({reason})"));
    }
    text
}

/// Sets the partner's new deal lines of manual rules by the decision in effect at the period's
/// end: approved lines stay where the hold put them; declined ones are not written (warned
/// `declined`; the row still counted in every measure); the others wait on `pending`.
pub(crate) fn apply_to_new_lines(
    ctx: &super::PartnerCtx,
    lines: &mut Vec<super::Line>,
    warnings: &mut Vec<crate::error::Warning>,
) {
    use super::{LineKind, Source};
    let program = ctx.program;
    // Looked up once per partner, not per line: every partner's lines pass here.
    let manual: Vec<&str> = program
        .rules
        .iter()
        .filter(|r| program.approval(r) == Approval::Manual)
        .map(|r| &*r.id)
        .collect();
    if manual.is_empty() {
        return;
    }
    let manual = |rule_id: &str| manual.contains(&rule_id);
    let day = ctx.period.end;
    lines.retain_mut(|line| {
        let (LineKind::Rule(kind) | LineKind::Pending(kind)) = line.kind else {
            return true;
        };
        if line.source != Source::Deal || !manual(&line.rule_id) {
            return true;
        }
        let row = (ctx.index, &*line.source_id);
        match in_effect(ctx.inputs.approvals, row, &line.rule_id, day) {
            Some(d) if d.decision == crate::model::Decision::Approved => true,
            Some(d) => {
                warnings.push(crate::error::Warning::new(
                    crate::error::WarningCode::Declined,
                    format!(
                        "deal {} of partner {}: rule `{}` not paid, {}",
                        line.source_id,
                        ctx.partner.id,
                        line.rule_id,
                        described(d)
                    ),
                ));
                false
            }
            None if matches!(line.kind, LineKind::Pending(_)) => {
                line.note.push_str("; awaiting approval");
                true
            }
            None => {
                line.kind = LineKind::Pending(kind);
                line.note.push_str("; pending: awaiting approval");
                true
            }
        }
    });
}

/// The warnings of approvals.csv as a whole (SPEC §9.3): decisions for rules that need none
/// (ignored), and decisions that come after the ledger settled the line they are about
/// (`decision-after-settlement`: decided in the period, or contradicting how it was settled) —
/// never a second payment, never a clawback.
pub(crate) fn decision_warnings(
    program: &crate::program::Program,
    period: &crate::model::period::Period,
    inputs: &super::Inputs,
) -> Vec<crate::error::Warning> {
    use crate::error::{Warning, WarningCode};
    let manual: Vec<&crate::program::Rule> = program
        .rules
        .iter()
        .filter(|r| program.approval(r) == Approval::Manual)
        .collect();
    let partners = &inputs.partners.partners;
    let (mut not_needed, mut after) = (Vec::new(), Vec::new());
    let mut closed = None;
    for decision in inputs.approvals {
        let row = format!("{}/{}", decision.deal_id, partners[decision.partner].id);
        let rules: Vec<&&crate::program::Rule> = match decision.rule_id.as_deref() {
            Some(id) => manual.iter().filter(|r| &*r.id == id).collect(),
            None => manual.iter().collect(),
        };
        if rules.is_empty() {
            let rule = decision.rule_id.as_deref().unwrap_or("any rule");
            not_needed.push(format!("{row} ({rule})"));
            continue;
        }
        for rule in rules {
            if let Some(how) = after_settlement(decision, rule, (period, inputs), &mut closed) {
                after.push(format!(
                    "{row} {} for `{}`, {how}",
                    described(decision),
                    rule.id
                ));
            }
        }
    }
    let mut out = Vec::new();
    let examples = |list: &[String]| list.iter().take(3).cloned().collect::<Vec<_>>().join("; ");
    if !not_needed.is_empty() {
        out.push(Warning::new(
            WarningCode::DecisionNotNeeded,
            format!(
                "{} decision(s) of {} are for rules that do not require approval: ignored (e.g. {})",
                not_needed.len(),
                inputs.approvals_file.unwrap_or("approvals.csv"),
                examples(&not_needed)
            ),
        ));
    }
    if !after.is_empty() {
        out.push(Warning::new(
            WarningCode::DecisionAfterSettlement,
            format!(
                "{} decision(s) came after their line was settled and change nothing: never a second payment, never a clawback (e.g. {})",
                after.len(),
                examples(&after)
            ),
        ));
    }
    out
}

/// How the ledger settled (row, `rule`) before `decision`, when the decision is the one in effect
/// now and either was decided in the period or contradicts that settlement: `paid earlier`,
/// `cancelled earlier`; or, for an approval decided in the period of a row whose period was run
/// without a line of the rule (declined then, say: a declined line is never written), that nothing
/// is paid now. `None`: nothing to say.
/// `closed`: the rows payments and decisions name, indexed when first needed.
fn after_settlement<'i>(
    decision: &crate::model::Approval,
    rule: &crate::program::Rule,
    (period, inputs): (&crate::model::period::Period, &super::Inputs<'i>),
    closed: &mut Option<BTreeMap<(usize, &'i str), &'i crate::model::Deal>>,
) -> Option<&'static str> {
    use crate::input::ledger::Settled;
    use crate::model::Decision;
    let key = (
        decision.partner,
        decision.deal_id.to_string(),
        rule.id.to_string(),
    );
    if inputs.ledger.pending_lines.contains_key(&key) {
        return None;
    }
    let row_rule = (decision.partner, &*decision.deal_id);
    let now = in_effect(inputs.approvals, row_rule, &rule.id, period.end);
    if !now.is_some_and(|d| std::ptr::eq(d, decision)) {
        return None;
    }
    let decided_now = period.contains(decision.decided_on);
    let Some(settled) = inputs.ledger.settled.get(&key) else {
        // A `full-payment` rule pays such a row late (it warns so); a close rule's period is over
        // when the row closed in a period the chain ran before this one.
        let on_close = rule.pay_on() == super::payments::PayOn::Close;
        let approved = decision.decision == Decision::Approved;
        let start = inputs.ledger.chain_start?;
        if !(approved && decided_now && on_close) {
            return None;
        }
        let rows = closed.get_or_insert_with(|| inputs.deals.by_id_keyed().collect());
        let row = *rows.get(&row_rule)?;
        // A decision for every rule (no rule_id) is about this rule only where the rule could pay
        // the row: a rule whose keys never match it had no line to decline.
        let partner = &inputs.partners.partners[decision.partner];
        if decision.rule_id.is_none() && !rule.matches_row(partner, None, row) {
            return None;
        }
        let closed_on = row.closed_on;
        return (closed_on >= start && closed_on < period.start).then_some(
            "but its period was run before without a line of it (declined then, or not a row the rule pays): nothing is paid now; an appeal is paid with adjustments.csv",
        );
    };
    let contradicts = matches!(
        (settled, decision.decision),
        (Settled::Paid, Decision::Declined) | (Settled::Cancelled, Decision::Approved)
    );
    (contradicts || decided_now).then_some(match settled {
        Settled::Paid => "paid earlier",
        Settled::Cancelled => "cancelled earlier",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Approval as Decided, Decision};
    use chrono::NaiveDate;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn decision(deal: &str, rule: Option<&str>, decision: Decision, on: &str) -> Decided {
        Decided {
            deal_id: deal.into(),
            partner: 0,
            rule_id: rule.map(str::to_string),
            decision,
            decided_on: day(on),
            reason: None,
        }
    }

    #[test]
    fn the_rules_own_decision_wins_over_the_rows_and_none_exists_before_its_day() {
        // Sorted by (partner, deal_id, rule_id): the empty rule_id first.
        let approvals = vec![
            decision("D1", None, Decision::Declined, "2026-10-05"),
            decision("D1", Some("bonus"), Decision::Approved, "2026-11-02"),
            decision("D2", Some("bonus"), Decision::Approved, "2026-10-20"),
        ];
        let on = |deal: &str, rule: &str, d: &str| {
            in_effect(&approvals, (0, deal), rule, day(d)).map(|a| a.decision)
        };
        // October: D1's own decision for `bonus` is not made yet; the row's decline is in effect.
        assert_eq!(on("D1", "bonus", "2026-10-31"), Some(Decision::Declined));
        // November: the rule's own approval wins, whatever the dates of the row's.
        assert_eq!(on("D1", "bonus", "2026-11-30"), Some(Decision::Approved));
        // Another rule of D1 has only the row's decision.
        assert_eq!(on("D1", "fee", "2026-11-30"), Some(Decision::Declined));
        // Before its decided_on a decision does not exist.
        assert_eq!(on("D2", "bonus", "2026-10-19"), None);
        assert_eq!(on("D3", "bonus", "2026-12-31"), None);
    }

    #[test]
    fn a_decision_is_described_with_its_day_and_reason() {
        let mut d = decision("D1", None, Decision::Declined, "2026-11-04");
        assert_eq!(described(&d), "declined on 2026-11-04");
        d.reason = Some("duplicate registration".into());
        assert_eq!(
            described(&d),
            "declined on 2026-11-04 (duplicate registration)"
        );
    }
}
