//! Clawbacks (SPEC §4.12): a deal row reversed inside the period, at most `clawback_days` after it
//! closed, gets one `clawback` line per rule that paid it: minus what the ledger's lines for that
//! (deal, partner, rule) add up to. Earlier clawback lines are in the ledger too, so nothing is ever
//! clawed back twice. Without a ledger nothing can be recovered, and the summary says so.

use super::{Inputs, Line, LineKind, PartnerLines, Source};
use crate::error::{Warning, WarningCode};
use crate::model::Deal;
use crate::model::period::Period;
use crate::program::Program;
use rust_decimal::Decimal;

/// A reversal at most `clawback_days` after closing is clawed back; a later one is not.
fn within_window(program: &Program, deal: &Deal) -> bool {
    deal.reversed_on
        .is_some_and(|r| (r - deal.closed_on).num_days() <= program.clawback_days)
}

/// What this period's clawbacks recover of `rule_id` from `partner`: the ledger's earnings of the
/// partner's rows reversed in the period inside the window (zero without a ledger). A milestone reads
/// it to know whether the partner still holds its bonus after this period's clawbacks (SPEC §4.8).
/// `None` when the sum overflows.
pub(crate) fn recovered_now(
    program: &Program,
    inputs: &Inputs,
    partner: usize,
    rule_id: &str,
) -> Option<Decimal> {
    recovered_now_where(program, inputs, partner, rule_id, |_| true)
}

/// What this period's clawbacks recover of `rule_id` from `partner` for the rows `keep` selects
/// (an accumulating rule counts the rows closed in its span's earlier periods). `None` on overflow.
pub(crate) fn recovered_now_where(
    program: &Program,
    inputs: &Inputs,
    partner: usize,
    rule_id: &str,
    keep: impl Fn(&Deal) -> bool,
) -> Option<Decimal> {
    let reversals = &inputs.deals.reversals;
    let start = reversals.partition_point(|d| d.partner < partner);
    reversals[start..]
        .iter()
        .take_while(|d| d.partner == partner)
        .filter(|d| within_window(program, d) && keep(d))
        .filter_map(|d| {
            inputs
                .ledger
                .deal_earnings
                .get(&(partner, d.deal_id.to_string(), rule_id.to_string()))
        })
        .try_fold(Decimal::ZERO, |total, amount| total.checked_add(*amount))
}

pub fn claw_back(
    program: &Program,
    period: &Period,
    inputs: &Inputs,
    per_partner: &mut PartnerLines,
    warnings: &mut Vec<Warning>,
) {
    let reversals = &inputs.deals.reversals;
    if reversals.is_empty() {
        return;
    }
    let partners = &inputs.partners.partners;
    if inputs.ledger.dir.is_none() {
        // Rows closed inside this period and reversed in it were never paid: nothing to recover.
        let earlier: Vec<_> = reversals
            .iter()
            .filter(|d| d.closed_on < period.start)
            .collect();
        if !earlier.is_empty() {
            let examples: Vec<String> = earlier
                .iter()
                .take(3)
                .map(|d| format!("{}/{}", d.deal_id, partners[d.partner].id))
                .collect();
            warnings.push(Warning::new(WarningCode::ReversalsWithoutLedger, format!(
                "{} deal row(s) closed before {period} were reversed in it, but no --ledger was given, so nothing was clawed back (e.g. {})",
                earlier.len(),
                examples.join(", ")
            )));
        }
        return;
    }
    let mut late = 0usize;
    for deal in reversals {
        let Some(reversed_on) = deal.reversed_on else {
            continue; // the loader keeps only rows reversed in the period here
        };
        let days = (reversed_on - deal.closed_on).num_days();
        let earned: Vec<_> = inputs
            .ledger
            .deal_earnings
            .range((deal.partner, deal.deal_id.to_string(), String::new())..)
            .take_while(|((p, d, _), _)| *p == deal.partner && **d == *deal.deal_id)
            .filter(|(_, amount)| !amount.is_zero())
            .collect();
        if earned.is_empty() {
            continue;
        }
        if !within_window(program, deal) {
            late += 1;
            continue;
        }
        for ((_, _, rule_id), amount) in earned {
            per_partner.add(deal.partner, Line {
                partner: deal.partner,
                rule_id: rule_id.as_str().into(),
                kind: LineKind::Clawback,
                source: Source::Deal,
                source_id: deal.deal_id.clone(),
                basis: Some(*amount),
                rate: None,
                amount: -*amount,
                note: format!(
                    "deal {} closed {} was {} on {reversed_on}, {days} days later (clawback window {} days): recovering {} paid by {rule_id}",
                    deal.deal_id,
                    deal.closed_on,
                    match deal.status {
                        crate::model::DealStatus::Cancelled => "cancelled",
                        _ => "refunded",
                    },
                    program.clawback_days,
                    crate::model::money::format_money(*amount, program.minor_units())
                ),
            });
        }
    }
    if late > 0 {
        warnings.push(Warning::new(WarningCode::LateReversals, format!(
            "{late} paid deal row(s) reversed in {period} more than {} days after closing were not clawed back",
            program.clawback_days
        )));
    }
}
