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
