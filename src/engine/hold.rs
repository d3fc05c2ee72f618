//! Holding period (SPEC §8.2, `[payout] hold_days`): a deal-based line whose deal closed fewer than
//! `hold_days` days before the period's last day is written on the partner's `pending` account
//! instead of `payout`. A later run releases it (−x on `pending`, +x on `payout`, kind `release`) in
//! the first period whose last day is at least `closed_on + hold_days`, unless the row was reversed on
//! or before that period's last day: then one `cancel` line (−x on `pending`) and no clawback.
//!
//! What a later run knows of a held line is the ledger's `pending` lines of its (deal, partner, rule),
//! and its deal row, which the deal loader keeps (`DealPlan::held_from`: every row closed in the last
//! `hold_days` days before the period, reversed or not). A held line whose row is no longer in
//! deals.csv stays pending, with a warning: nothing is paid without the row that proves it was earned.

use super::{Inputs, Line, LineKind, PartnerCtx, PartnerLines, Source};
use crate::error::{Warning, WarningCode};
use crate::model::Deal;
use crate::model::money::format_money;
use crate::model::period::Period;
use crate::program::Program;
use chrono::{Days, NaiveDate};
use std::collections::BTreeMap;

/// The day a line of a deal closed on `closed_on` stops being held: `closed_on + hold_days`.
fn release_day(closed_on: NaiveDate, hold_days: i64) -> Option<NaiveDate> {
    closed_on.checked_add_days(Days::new(u64::try_from(hold_days).ok()?))
}

/// Whether a line of a deal closed on `closed_on` is held at the end of `period`: it closed fewer than
/// `hold_days` days before the period's last day.
pub fn is_held(period: &Period, closed_on: NaiveDate, hold_days: i64) -> bool {
    hold_days > 0 && (period.end - closed_on).num_days() < hold_days
}

/// Moves the partner's new deal-based lines of deals still in their hold to the `pending` account.
/// Runs on the lines as the rules wrote them (caps applied), before the budget, which counts them.
pub(crate) fn hold_new_lines(ctx: &PartnerCtx, lines: &mut [Line]) {
    let hold_days = ctx.program.payout.hold_days;
    if hold_days <= 0 {
        return;
    }
    let closed: BTreeMap<&str, NaiveDate> = ctx
        .deals
        .iter()
        .map(|d| (&*d.deal_id, d.closed_on))
        .collect();
    for line in lines {
        let LineKind::Rule(kind) = line.kind else {
            continue;
        };
        if !kind.is_deal_based() || line.source != Source::Deal {
            continue;
        }
        let Some(&closed_on) = closed.get(&*line.source_id) else {
            continue;
        };
        if is_held(ctx.period, closed_on, hold_days) {
            line.kind = LineKind::Pending(kind);
            let until = release_day(closed_on, hold_days)
                .map(|d| d.to_string())
                .unwrap_or_default();
            line.note.push_str(&format!(
                "; pending: deal closed {closed_on}, held {hold_days} days until {until}"
            ));
        }
    }
}

/// The period's releases and cancellations of the lines the ledger shows pending, added after the
/// partner's other lines. Never budgeted (the budget counted them when they were written).
pub(crate) fn release(
    program: &Program,
    period: &Period,
    inputs: &Inputs,
    per_partner: &mut PartnerLines,
    warnings: &mut Vec<Warning>,
) {
    let held = &inputs.ledger.pending_lines;
    if held.is_empty() {
        return;
    }
    let deals = &inputs.deals;
    let mut rows: BTreeMap<(usize, &str), &Deal> = BTreeMap::new();
    // Later lists win: a row reversed in the period is the freshest view of it.
    for d in deals.held.iter().chain(&deals.current).chain(&deals.reversals) {
        rows.insert((d.partner, &*d.deal_id), d);
    }
    let hold_days = program.payout.hold_days;
    let money = |v| format_money(v, program.minor_units());
    let partners = &inputs.partners.partners;
    let mut missing = Vec::new();
    for ((partner, deal_id, rule_id), (amount, since)) in held {
        let Some(deal) = rows.get(&(*partner, deal_id.as_str())) else {
            missing.push(format!("{deal_id}/{} ({rule_id}, since {since})", partners[*partner].id));
            continue;
        };
        let line = |kind: LineKind, amount, note: String| Line {
            partner: *partner,
            rule_id: rule_id.as_str().into(),
            kind,
            source: Source::Deal,
            source_id: deal.deal_id.clone(),
            basis: None,
            rate: None,
            amount,
            note,
        };
        if let Some(reversed_on) = deal.reversed_on.filter(|r| *r <= period.end) {
            let how = match deal.status {
                crate::model::DealStatus::Cancelled => "cancelled",
                _ => "refunded",
            };
            let when = match release_day(deal.closed_on, hold_days) {
                Some(day) if reversed_on >= day => {
                    format!("before its held amount was released (its {hold_days}-day hold ended on {day})")
                }
                _ => format!("during its {hold_days}-day hold"),
            };
            per_partner.add(
                *partner,
                line(
                    LineKind::Cancel,
                    -*amount,
                    format!(
                        "deal {deal_id} closed {} was {how} on {reversed_on}, {when}: the pending {} of {rule_id} is cancelled, never paid",
                        deal.closed_on,
                        money(*amount)
                    ),
                ),
            );
            continue;
        }
        let Some(day) = release_day(deal.closed_on, hold_days).filter(|d| *d <= period.end) else {
            continue;
        };
        let why = format!(
            "deal {deal_id} closed {}: its {hold_days}-day hold ended on {day}",
            deal.closed_on
        );
        per_partner.add(
            *partner,
            line(
                LineKind::ReleasePending,
                -*amount,
                format!("{why}; {} of {rule_id} moved from pending", money(*amount)),
            ),
        );
        per_partner.add(
            *partner,
            line(
                LineKind::Release,
                *amount,
                format!("{why}; {} of {rule_id} released for payment", money(*amount)),
            ),
        );
    }
    if !missing.is_empty() {
        let examples: Vec<&str> = missing.iter().take(3).map(String::as_str).collect();
        warnings.push(Warning::new(
            WarningCode::PendingDealMissing,
            format!(
                "{} pending line(s) stay pending: their deal rows are not in deals.csv among the rows closed in the last {hold_days} days before {period}, so neither their hold nor a refund can be checked (e.g. {})",
                missing.len(),
                examples.join(", ")
            ),
        ));
    }
}
