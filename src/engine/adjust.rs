//! Manual adjustments (SPEC §8.1): each adjustment decided in the period is one `adjustment` line on
//! the partner's `payout` account (note = its reason), added after the budget, so it is never
//! prorated, and never clawed back. An adjustment_id the ledger shows applied already is not applied
//! again, with a warning naming the period that applied it.

use super::{Inputs, Line, LineKind, PartnerLines, Source};
use crate::error::{Warning, WarningCode};
use crate::model::period::Period;

pub fn apply(
    period: &Period,
    inputs: &Inputs,
    per_partner: &mut PartnerLines,
    warnings: &mut Vec<Warning>,
) {
    let partners = &inputs.partners.partners;
    for adjustment in inputs.adjustments {
        if !period.contains(adjustment.decided_on) {
            // Dated in an earlier period and not in the ledger: it was added to the file after that
            // period's batch. payline does not move it to this period by itself; say so.
            if inputs.ledger.dir.is_some()
                && !adjustment.amount.is_zero()
                && !inputs
                    .ledger
                    .applied_adjustments
                    .contains_key(&adjustment.adjustment_id)
            {
                warnings.push(Warning::new(
                    WarningCode::AdjustmentNotApplied,
                    format!(
                        "adjustment {} of partner {} is decided on {}, before {period}, and the ledger shows it never applied: it is not applied now; give it a decided_on in {period} to apply it",
                        adjustment.adjustment_id, partners[adjustment.partner].id, adjustment.decided_on
                    ),
                ));
            }
            continue;
        }
        if let Some(applied_in) = inputs
            .ledger
            .applied_adjustments
            .get(&adjustment.adjustment_id)
        {
            warnings.push(Warning::new(
                WarningCode::AdjustmentAppliedAlready,
                format!(
                    "adjustment {} of partner {} was applied in {applied_in} already; its decided_on is in {period} but it was not applied again",
                    adjustment.adjustment_id, partners[adjustment.partner].id
                ),
            ));
            continue;
        }
        // SPEC §3: a line of zero is not written.
        if adjustment.amount.is_zero() {
            continue;
        }
        per_partner.add(
            adjustment.partner,
            Line {
                partner: adjustment.partner,
                rule_id: "".into(),
                kind: LineKind::Adjustment,
                source: Source::Adjustment,
                source_id: adjustment.adjustment_id.as_str().into(),
                basis: None,
                rate: None,
                amount: adjustment.amount,
                note: adjustment.reason.clone(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rules::testkit::{d, date, partner};
    use crate::input::{DealData, FxTable, LedgerData, PartnerSet};
    use crate::model::Adjustment;
    use rust_decimal::Decimal;

    #[test]
    fn each_adjustment_is_one_line_once_in_the_chain() {
        let partners = PartnerSet::new(vec![partner("P1"), partner("P2")]);
        let adjustment = |id: &str, partner: usize, amount: &str| Adjustment {
            adjustment_id: id.into(),
            partner,
            amount: d(amount),
            reason: format!("reason of {id}"),
            decided_on: date("2026-10-05"),
        };
        let adjustments = [
            adjustment("A1", 0, "-40.00"),
            adjustment("OLD", 0, "99.00"),
            adjustment("ZERO", 1, "0.00"),
            adjustment("B1", 1, "15.00"),
        ];
        let mut ledger = LedgerData::default();
        ledger
            .applied_adjustments
            .insert("OLD".into(), "2026-09".into());
        let (deals, fx) = (DealData::default(), FxTable::none("USD"));
        let inputs = Inputs {
            partners: &partners,
            deals: &deals,
            activities: &[],
            claims: &[],
            adjustments: &adjustments,
            fx: &fx,
            ledger: &ledger,
            payments: &[],
            payments_file: None,
            approvals_file: None,
            approvals: &[],
        };
        let mut lines = PartnerLines::default();
        lines.push_partner(Vec::new());
        lines.push_partner(Vec::new());
        let mut warnings = Vec::new();
        apply(
            &Period::parse("2026-10").unwrap(),
            &inputs,
            &mut lines,
            &mut warnings,
        );
        let got: Vec<(usize, String, &str, &str, String, Decimal, String)> = lines
            .into_lines()
            .into_iter()
            .map(|l| {
                (
                    l.partner,
                    l.account(),
                    l.kind.name(),
                    l.source.name(),
                    l.source_id.to_string(),
                    l.amount,
                    l.note,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    0,
                    "payout".into(),
                    "adjustment",
                    "adjustment",
                    "A1".into(),
                    d("-40.00"),
                    "reason of A1".into()
                ),
                (
                    1,
                    "payout".into(),
                    "adjustment",
                    "adjustment",
                    "B1".into(),
                    d("15.00"),
                    "reason of B1".into()
                ),
            ]
        );
        assert_eq!(warnings.len(), 1);
        assert_eq!(
            warnings[0].message,
            "adjustment OLD of partner P1 was applied in 2026-09 already; its decided_on is in 2026-10 but it was not applied again"
        );
    }
}
