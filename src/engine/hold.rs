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

use super::history::{cancelled_part, pending_cut};
use super::{Inputs, Line, LineKind, PartnerCtx, PartnerLines, Source};
use crate::error::{Warning, WarningCode};
use crate::model::Deal;
use crate::model::money::{format_in, format_money};
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
    // A full-payment rule's rows may have closed before the period (SPEC §9.1).
    let paid_rows = super::context::slice_for(&ctx.inputs.deals.by_id, ctx.index, |d| d.partner);
    let closed: BTreeMap<&str, NaiveDate> = ctx
        .deals
        .iter()
        .chain(paid_rows)
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
) -> Option<chrono::NaiveDate> {
    let held = &inputs.ledger.pending_lines;
    // The first day of the earliest period whose held lines stay pending after this run: the next
    // run keeps their rows (`DealPlan::held_from`) even when hold_days shrank or a row was missing.
    let mut still_pending: Option<chrono::NaiveDate> = None;
    let mut keep = |since: &str| {
        if let Some(p) = Period::parse(since) {
            still_pending = Some(still_pending.map_or(p.start, |d| d.min(p.start)));
        }
    };
    if held.is_empty() {
        return None;
    }
    let deals = &inputs.deals;
    let mut rows: BTreeMap<(usize, &str), &Deal> = BTreeMap::new();
    // Later lists win: a row reversed in the period is the freshest view of it.
    for d in deals
        .held
        .iter()
        .chain(&deals.current)
        .chain(&deals.reversals)
    {
        rows.insert((d.partner, &*d.deal_id), d);
    }
    let partners = &inputs.partners.partners;
    let mut missing = Vec::new();
    // A full-payment rule's line may wait for a row that closed before the month it was written
    // in (SPEC §9.1): that row is kept among the rows payments name (`by_id`), not `held`. Indexed
    // on the first such line only.
    let mut paid_rows: Option<BTreeMap<(usize, &str), &Deal>> = None;
    let mut given_back: BTreeMap<(usize, &str), Vec<Unpaid>> = BTreeMap::new();
    for (key, (amount, since)) in held {
        let (partner, deal_id, rule_id) = key;
        let row = (*partner, deal_id.as_str());
        let found = match rows.get(&row) {
            Some(deal) => Some(*deal),
            None => paid_rows
                .get_or_insert_with(|| deals.by_id_keyed().collect())
                .get(&row)
                .copied(),
        };
        let Some(deal) = found else {
            keep(since);
            missing.push(format!(
                "{deal_id}/{} ({rule_id}, since {since})",
                partners[*partner].id
            ));
            continue;
        };
        let (lines, still_held) = settle_held(program, period, inputs, (key, *amount, since), deal);
        if still_held {
            keep(since);
        }
        if let Some(part) = unpaid_of(program, (key, &lines)) {
            given_back.entry((*partner, since)).or_default().push(part);
        }
        for line in lines {
            per_partner.add(*partner, line);
        }
    }
    for ((partner, since), parts) in given_back {
        if let Some(line) = budget_given_back(program, inputs, (partner, since), &parts) {
            per_partner.add(partner, line);
        }
    }
    if !missing.is_empty() {
        warnings.push(rows_missing(period, &missing));
    }
    still_pending
}

/// The warning for held lines whose deal rows are missing (`DEAL/PARTNER (RULE, since PERIOD)`).
fn rows_missing(period: &Period, missing: &[String]) -> Warning {
    let examples: Vec<&str> = missing.iter().take(3).map(String::as_str).collect();
    Warning::new(
        WarningCode::PendingDealMissing,
        format!(
            "{} pending line(s) stay pending: their deal rows are not in deals.csv (or were re-dated after {period} began), so neither their hold nor a refund can be checked; restore the rows and the next run releases or cancels them (e.g. {})",
            missing.len(),
            examples.join(", ")
        ),
    )
}

/// SPEC §9.1, §8.2: the held payment lines whose hold ends by the period's last day are released
/// (payment lines are settled by payments only: a reversal never cancels them). A payment line's
/// date is max(paid_on, closed_on). Returns the first day of the earliest period still holding one.
pub(crate) fn release_payments(
    program: &Program,
    period: &Period,
    inputs: &Inputs,
    per_partner: &mut PartnerLines,
) -> Option<NaiveDate> {
    let ledger = &inputs.ledger;
    let mut still_pending: Option<NaiveDate> = None;
    for ((partner, payment_id, rule_id), (amount, since)) in &ledger.pending_payments {
        let paid = ledger
            .paid_payments
            .get(&(*partner, rule_id.clone(), payment_id.clone()));
        let rows = super::context::slice_for(&inputs.deals.by_id, *partner, |d| d.partner);
        let row = paid.and_then(|p| rows.iter().find(|d| d.deal_id == p.deal_id));
        let (Some(paid), Some(row)) = (paid, row) else {
            if let Some(p) = Period::parse(since) {
                still_pending = Some(still_pending.map_or(p.start, |d| d.min(p.start)));
            }
            continue;
        };
        let date = paid.paid_on.max(row.closed_on);
        match release_day(date, program.payout.hold_days).filter(|d| *d <= period.end) {
            Some(day) => {
                let why = match program.payout.hold_days {
                    0 => format!("payment {payment_id} of deal {} paid {date}", row.deal_id),
                    days => format!(
                        "payment {payment_id} of deal {} paid {date}: its {days}-day hold ended on {day}",
                        row.deal_id
                    ),
                };
                let held = HeldLine {
                    program,
                    rule_id,
                    deal: row,
                    amount: *amount,
                    approved: None,
                };
                for mut line in held.release_pair(*amount, &why) {
                    line.source = Source::Payment;
                    line.source_id = payment_id.as_str().into();
                    per_partner.add(*partner, line);
                }
            }
            None => {
                if let Some(p) = Period::parse(since) {
                    still_pending = Some(still_pending.map_or(p.start, |d| d.min(p.start)));
                }
            }
        }
    }
    still_pending
}

/// What a held line left unpaid this run, for the budget's give-back: its deal and the U of it
/// never paid (what left `pending` less what reached `payout`).
struct Unpaid {
    deal_id: String,
    unpaid: rust_decimal::Decimal,
}

/// The U a held line of a budgeted rule left unpaid this run (a cancel by refund or decision, a
/// partial refund's cut); whether its period's budget cut the partner, [`budget_given_back`] sees.
fn unpaid_of(
    program: &Program,
    ((_, deal_id, rule_id), settled): (&(usize, String, String), &[Line]),
) -> Option<Unpaid> {
    let left_pending: rust_decimal::Decimal = (settled.iter())
        .filter(|l| matches!(l.kind, LineKind::Cancel | LineKind::ReleasePending))
        .map(|l| -l.amount)
        .sum();
    let released: rust_decimal::Decimal = (settled.iter())
        .filter(|l| l.kind == LineKind::Release)
        .map(|l| l.amount)
        .sum();
    let unpaid = left_pending - released;
    (unpaid > rust_decimal::Decimal::ZERO && program.is_budgeted(rule_id)).then(|| Unpaid {
        deal_id: deal_id.clone(),
        unpaid,
    })
}

/// The held lines' part of a budget cut given back when they go unpaid (SPEC §4.10, §8.2): the
/// budget counted them when they were written (the program's cost), and the partner's
/// `budget-proration` line of that period (`since`) cut its budgeted amount B by C. With ΣU of
/// them never paid over the chain (this run's U and what earlier runs' give-backs name), the
/// partner has C × ΣU ÷ B back in all, truncated to minor units (all of C once ΣU reaches B), so
/// this run gives that less what earlier runs gave: never more than the cut. One line per
/// (partner, period of the cut) and run, of no rule like the cut (a budget limits each run, not a
/// rule); source `adjustment`, source_id `budget PERIOD`. Before, a declined 150.00 line prorated
/// by 0.5 left its partner owing the 75.00 cut for ever.
fn budget_given_back(
    program: &Program,
    inputs: &Inputs,
    (partner, since): (usize, &str),
    parts: &[Unpaid],
) -> Option<Line> {
    let key = (partner, since.to_string());
    let (budgeted, cut) = *inputs.ledger.budget_prorations.get(&key)?;
    let cut = -cut;
    let unpaid: rust_decimal::Decimal = parts.iter().map(|p| p.unpaid).sum();
    if budgeted <= rust_decimal::Decimal::ZERO || cut <= rust_decimal::Decimal::ZERO {
        return None;
    }
    // Over the chain: the cut's part of everything unpaid so far, less what was given back
    // already (three lines of 100.00 of a 300.00 cut by 100.00, cancelled in three months, give
    // back 33.33, 33.33 and 33.34, never more than the cut).
    let (unpaid_before, back_before) = (inputs.ledger.budget_given_back.get(&key))
        .copied()
        .unwrap_or_default();
    let all_unpaid = unpaid_before.checked_add(unpaid)?;
    let all_back = match all_unpaid >= budgeted {
        true => cut,
        false => cut
            .checked_mul(all_unpaid)?
            .checked_div(budgeted)?
            .round_dp_with_strategy(
                program.minor_units(),
                rust_decimal::RoundingStrategy::ToZero,
            ),
    };
    let back = all_back.checked_sub(back_before)?;
    let money = |v| format_money(v, program.minor_units());
    let mut deals: Vec<&str> = parts.iter().map(|p| p.deal_id.as_str()).collect();
    deals.dedup();
    (back > rust_decimal::Decimal::ZERO).then(|| Line {
        partner,
        rule_id: "".into(),
        kind: LineKind::BudgetProration,
        source: Source::Adjustment,
        source_id: format!("budget {since}").as_str().into(),
        basis: Some(unpaid),
        rate: None,
        amount: back,
        note: format!(
            "the budget of {since} cut this partner's budgeted {} by {}; {} of it (deal {}) is never paid, so its part of the cut is given back: {} × {} ÷ {} = {}{}",
            money(budgeted),
            money(cut),
            money(unpaid),
            deals.join(", "),
            money(cut),
            money(all_unpaid),
            money(budgeted),
            money(all_back),
            match back_before.is_zero() {
                true => String::new(),
                false => format!(", less {} given back before", money(back_before)),
            }
        ),
    })
}

/// How one held line is settled this run, first that applies (SPEC §8.2, §9.3, §9.6): the row
/// fully reversed → cancel; a manual rule's row declined → cancel; a partial reversal's part not
/// cut yet → cut (with the release when it is due); the hold ended (and, for a manual rule,
/// approved) → release. Returns the lines and whether something stays pending.
fn settle_held(
    program: &Program,
    period: &Period,
    inputs: &Inputs,
    (key, amount, since): (&(usize, String, String), rust_decimal::Decimal, &str),
    deal: &Deal,
) -> (Vec<Line>, bool) {
    let decision = approval_of(program, period, inputs, key);
    let held = HeldLine {
        program,
        rule_id: &key.2,
        deal,
        amount,
        approved: match &decision {
            Decided::Approved(text) => Some(text.clone()),
            _ => None,
        },
    };
    let release_on =
        release_day(deal.closed_on, program.payout.hold_days).filter(|d| *d <= period.end);
    // A manual rule's line is released only once approved too (SPEC §9.3).
    let release_on =
        release_on.filter(|_| matches!(decision, Decided::NotNeeded | Decided::Approved(_)));
    if deal.full_reversal().is_some_and(|r| r <= period.end) {
        return (held.cancel(cancelled_part(inputs, key, amount)), false);
    }
    if let Decided::Declined(declined) = &decision {
        return (held.decline(declined), false);
    }
    // A partial reversal (SPEC §9.6): its part of the line is cut once; the rest waits for the
    // release, in the same run when the hold has ended.
    if let Some(cut) = pending_cut(program, period, inputs, key, (amount, since), deal) {
        return (held.cut(cut, release_on), release_on.is_none());
    }
    match release_on {
        Some(day) => (held.release(day), false),
        None => (Vec::new(), true),
    }
}

/// A held line's rule and the decision in effect at the period's end (SPEC §9.3), described for
/// the notes (`approved on 2026-11-04`).
enum Decided {
    /// The rule needs no approval.
    NotNeeded,
    Awaiting,
    Approved(String),
    Declined(String),
}

fn approval_of(
    program: &Program,
    period: &Period,
    inputs: &Inputs,
    (partner, deal_id, rule_id): &(usize, String, String),
) -> Decided {
    use super::approval::{Approval, described, in_effect};
    let rule = program.rules.iter().find(|r| &*r.id == rule_id.as_str());
    if rule.is_none_or(|rule| program.approval(rule) != Approval::Manual) {
        return Decided::NotNeeded;
    }
    match in_effect(inputs.approvals, (*partner, deal_id), rule_id, period.end) {
        None => Decided::Awaiting,
        Some(d) if d.decision == crate::model::Decision::Approved => {
            Decided::Approved(described(d))
        }
        Some(d) => Decided::Declined(described(d)),
    }
}

/// A rule's line of a deal row held on `pending`, with the row as this run reads it.
struct HeldLine<'a> {
    program: &'a Program,
    rule_id: &'a str,
    deal: &'a Deal,
    amount: rust_decimal::Decimal,
    /// A manual rule's approval, described (`approved on 2026-11-04`), for the release's note.
    approved: Option<String>,
}

impl HeldLine<'_> {
    fn line(&self, kind: LineKind, amount: rust_decimal::Decimal, note: String) -> Line {
        Line {
            partner: self.deal.partner,
            rule_id: self.rule_id.into(),
            kind,
            source: Source::Deal,
            source_id: self.deal.deal_id.clone(),
            basis: None,
            rate: None,
            amount,
            note,
        }
    }

    fn money(&self, value: rust_decimal::Decimal) -> String {
        format_money(value, self.program.minor_units())
    }

    /// The release pair of `amount` (−x on `pending`, +x on `payout`), explained by `why`.
    fn release_pair(&self, amount: rust_decimal::Decimal, why: &str) -> [Line; 2] {
        let (rule_id, money) = (self.rule_id, self.money(amount));
        [
            self.line(
                LineKind::ReleasePending,
                -amount,
                format!("{why}; {money} of {rule_id} moved from pending"),
            ),
            self.line(
                LineKind::Release,
                amount,
                format!("{why}; {money} of {rule_id} released for payment"),
            ),
        ]
    }

    /// Its hold ended on `day` (and, for a manual rule, it was approved): the whole amount is
    /// released.
    fn release(&self, day: NaiveDate) -> Vec<Line> {
        let (deal, hold_days) = (self.deal, self.program.payout.hold_days);
        let mut why = match hold_days {
            0 => format!("deal {} closed {}", deal.deal_id, deal.closed_on),
            _ => format!(
                "deal {} closed {}: its {hold_days}-day hold ended on {day}",
                deal.deal_id, deal.closed_on
            ),
        };
        if let Some(approved) = &self.approved {
            why.push_str(&format!(", {approved}"));
        }
        self.release_pair(self.amount, &why).into()
    }

    /// A manual rule's decision in effect declined the row (SPEC §9.3): the pending line is
    /// cancelled, never paid.
    fn decline(&self, declined: &str) -> Vec<Line> {
        let note = format!(
            "deal {} closed {}: {declined}; the pending {} of {} is cancelled, never paid",
            self.deal.deal_id,
            self.deal.closed_on,
            self.money(self.amount),
            self.rule_id
        );
        vec![self.line(LineKind::Cancel, -self.amount, note)]
    }

    /// A partial reversal's `cut` of the held line (SPEC §9.6): a `cancel` of it, the rest still
    /// pending; or, when its hold ended on `release_on` too, one release pair that moves the whole
    /// line off `pending` and puts the rest on `payout`.
    fn cut(&self, cut: rust_decimal::Decimal, release_on: Option<NaiveDate>) -> Vec<Line> {
        let deal = self.deal;
        let (x, reversed_on) = (deal.reversed_amount.unwrap_or_default(), deal.reversed_on);
        let what = format!(
            "deal {} closed {} was reversed in part on {} ({} of {})",
            deal.deal_id,
            deal.closed_on,
            reversed_on.map(|d| d.to_string()).unwrap_or_default(),
            format_in(x, &deal.currency),
            format_in(deal.amount, &deal.currency),
        );
        let mut share = format!(
            "{} of its pending {} cancelled ({} × {} ÷ {}",
            self.money(cut),
            self.money(self.amount),
            self.money(self.amount),
            format_in(x, &deal.currency),
            format_in(deal.amount, &deal.currency)
        );
        let whole = super::history::proportional(self.program, self.amount, x, deal.amount);
        if whole != cut {
            share.push_str(&format!(
                ", less {} its span's true-ups took back already",
                self.money(whole - cut)
            ));
        }
        share.push(')');
        let Some(day) = release_on else {
            let note = format!("{what}: {share}, never paid; the rest stays pending");
            return vec![self.line(LineKind::Cancel, -cut, note)];
        };
        let rest = self.amount - cut;
        // A manual rule's release names its approval, as a release without a cut does (§9.3).
        let approved = (self.approved.as_ref()).map_or(String::new(), |a| format!(", {a}"));
        let why = format!(
            "{what}, and its {}-day hold ended on {day}{approved}: {share}",
            self.program.payout.hold_days
        );
        let (rule_id, all, paid) = (self.rule_id, self.money(self.amount), self.money(rest));
        vec![
            self.line(
                LineKind::ReleasePending,
                -self.amount,
                format!("{why}; {all} of {rule_id} moved from pending"),
            ),
            self.line(
                LineKind::Release,
                rest,
                format!("{why}; {paid} of {rule_id} released for payment"),
            ),
        ]
    }

    /// The row was reversed on or before the period's last day: what is still owed is cancelled;
    /// what a finished span's true-ups already took back is released (`cancelled_part`).
    fn cancel(
        &self,
        (cancelled, released): (rust_decimal::Decimal, rust_decimal::Decimal),
    ) -> Vec<Line> {
        let deal = self.deal;
        let hold_days = self.program.payout.hold_days;
        let reversed_on = deal.reversed_on.unwrap_or(deal.closed_on);
        let how = match deal.status {
            crate::model::DealStatus::Cancelled => "cancelled",
            _ => "refunded",
        };
        let when = match release_day(deal.closed_on, hold_days) {
            Some(day) if reversed_on >= day => {
                format!(
                    "before its held amount was released (its {hold_days}-day hold ended on {day})"
                )
            }
            _ => format!("during its {hold_days}-day hold"),
        };
        let what = format!(
            "deal {} closed {} was {how} on {reversed_on}, {when}",
            deal.deal_id, deal.closed_on
        );
        let mut lines = Vec::new();
        if !cancelled.is_zero() {
            let note = format!(
                "{what}: the pending {} of {} is cancelled, never paid",
                self.money(cancelled),
                self.rule_id
            );
            lines.push(self.line(LineKind::Cancel, -cancelled, note));
        }
        if !released.is_zero() {
            let why = format!(
                "{what}, but the true-ups of its span already took {} of it back",
                self.money(released)
            );
            lines.extend(self.release_pair(released, &why));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rules::testkit::{Fixture, d, date, deal, partner};
    use crate::input::{DealData, FxTable, LedgerData, PartnerSet};
    use crate::model::DealStatus;
    use rust_decimal::Decimal;

    fn period(p: &str) -> Period {
        Period::parse(p).unwrap()
    }

    #[test]
    fn a_line_is_held_when_its_deal_closed_fewer_than_hold_days_before_the_period_end() {
        // (hold_days, closed_on, held at the end of October 2026)
        let cases = [
            (0, "2026-10-31", false),
            (31, "2026-10-31", true),
            (31, "2026-10-01", true),  // 30 days before 10-31
            (31, "2026-09-30", false), // 31 days: the hold is over on the last day
            (1, "2026-10-30", false),
            (1, "2026-10-31", true),
            (3650, "2017-01-01", true),
        ];
        for (hold, closed, held) in cases {
            assert_eq!(
                is_held(&period("2026-10"), date(closed), hold),
                held,
                "hold {hold}, closed {closed}"
            );
        }
    }

    #[test]
    fn new_lines_of_recent_deals_go_to_pending_and_count_only_there() {
        let outcome = Fixture::new(
            "[payout]\nhold_days = 10\n\n[[rules]]\nid = \"c\"\nkind = \"percent\"\nrate = \"0.10\"\n\n[[rules]]\nid = \"g\"\nkind = \"goal\"\nmeasure = \"deals\"\ntarget = 1\namount = \"5.00\"\n",
        )
        .deal("P1", deal("D2", "2026-10-21", "200.00"))
        .deal("P1", deal("D1", "2026-10-25", "100.00"))
        .run();
        let lines: Vec<(String, &str, String, Decimal)> = outcome
            .lines
            .iter()
            .map(|l| {
                (
                    l.account(),
                    l.kind.name(),
                    l.source_id.to_string(),
                    l.amount,
                )
            })
            .collect();
        assert_eq!(
            lines,
            vec![
                // 10 days before 10-31: not held.
                ("payout".into(), "percent", "D2".into(), d("20.00")),
                // 6 days: held until 11-04.
                ("pending".into(), "percent", "D1".into(), d("10.00")),
                // A period line (goal) is never held.
                ("payout".into(), "goal", "2026-10".into(), d("5.00")),
            ]
        );
        assert!(
            outcome.lines[1]
                .note
                .ends_with("held 10 days until 2026-11-04")
        );
        let p = &outcome.payouts[0];
        assert_eq!(
            (p.earned, p.paid, p.pending),
            (d("25.00"), d("25.00"), d("10.00"))
        );
        assert_eq!(outcome.balances.len(), 1);
        assert_eq!(
            (
                outcome.balances[0].account.as_str(),
                outcome.balances[0].balance
            ),
            ("pending", d("10.00"))
        );
    }

    #[test]
    fn held_lines_are_released_cancelled_kept_or_reported_missing() {
        let program = crate::engine::rules::testkit::rules(
            "[payout]\nhold_days = 31\n\n[[rules]]\nid = \"c\"\nkind = \"percent\"\nrate = \"0.10\"\n",
        );
        let partners = PartnerSet::new(vec![partner("P1")]);
        let row = |id: &str, closed: &str| crate::model::Deal {
            partner: 0,
            ..deal(id, closed, "100.00")
        };
        let mut refunded = row("B", "2026-10-31");
        refunded.status = DealStatus::Refunded;
        refunded.reversed_on = Some(date("2026-11-10"));
        let deals = DealData {
            // Release day 11-01: released in November.
            held: vec![
                row("A", "2026-10-01"),
                refunded.clone(),
                row("C", "2026-10-31"),
            ],
            reversals: vec![refunded],
            ..DealData::default()
        };
        let mut ledger = LedgerData {
            dir: Some("prev".into()),
            ..LedgerData::default()
        };
        for (deal_id, amount) in [
            ("A", "50.00"),
            ("B", "20.00"),
            ("C", "30.00"),
            ("G", "5.00"),
        ] {
            ledger.pending_lines.insert(
                (0, deal_id.into(), "c".into()),
                (d(amount), "2026-10".into()),
            );
        }
        let fx = FxTable::none("USD");
        let inputs = Inputs {
            partners: &partners,
            deals: &deals,
            activities: &[],
            claims: &[],
            adjustments: &[],
            fx: &fx,
            ledger: &ledger,
            payments: &[],
            payments_file: None,
            approvals_file: None,
            approvals: &[],
        };
        let mut lines = PartnerLines::default();
        lines.push_partner(Vec::new());
        let mut warnings = Vec::new();
        release(
            &program,
            &period("2026-11"),
            &inputs,
            &mut lines,
            &mut warnings,
        );
        let got: Vec<(String, &str, String, Decimal)> = lines
            .of(0)
            .map(|l| {
                (
                    l.account(),
                    l.kind.name(),
                    l.source_id.to_string(),
                    l.amount,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("pending".into(), "release", "A".into(), d("-50.00")),
                ("payout".into(), "release", "A".into(), d("50.00")),
                // Refunded 11-10, during its hold (until 12-01): cancelled, never paid.
                ("pending".into(), "cancel", "B".into(), d("-20.00")),
                // C is held until 12-01 > 11-30: nothing yet. G's row is gone: kept, with a warning.
            ]
        );
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].message.contains("G/P1 (c, since 2026-10)"),
            "{}",
            warnings[0].message
        );
    }

    #[test]
    fn a_cancel_releases_what_a_finished_spans_true_ups_already_took_back() {
        // D1's 80.00 is held; the quarter's true-ups took 30.00 of it back (its part −30.00: the
        // quarter's last rate was lower). Refunded now: 50.00 is cancelled, 30.00 released to
        // `payout`, which the true-ups debited — the row is taken back once, 80.00 in all.
        let program = crate::engine::rules::testkit::rules(
            "[payout]\nhold_days = 45\n\n[[rules]]\nid = \"c\"\nkind = \"percent\"\nrate = \"0.10\"\n",
        );
        let partners = PartnerSet::new(vec![partner("P1")]);
        let mut refunded = crate::model::Deal {
            partner: 0,
            ..deal("D1", "2026-11-25", "800.00")
        };
        refunded.status = DealStatus::Refunded;
        refunded.reversed_on = Some(date("2027-01-03"));
        let deals = DealData {
            reversals: vec![refunded],
            ..DealData::default()
        };
        let mut ledger = LedgerData {
            dir: Some("prev".into()),
            ..LedgerData::default()
        };
        let key = (0, "D1".to_string(), "c".to_string());
        ledger
            .pending_lines
            .insert(key.clone(), (d("80.00"), "2026-11".into()));
        ledger
            .true_up_parts
            .insert(key, (d("-30.00"), "2026-Q4".into()));
        let fx = FxTable::none("USD");
        let inputs = Inputs {
            partners: &partners,
            deals: &deals,
            activities: &[],
            claims: &[],
            adjustments: &[],
            fx: &fx,
            ledger: &ledger,
            payments: &[],
            payments_file: None,
            approvals_file: None,
            approvals: &[],
        };
        let mut lines = PartnerLines::default();
        lines.push_partner(Vec::new());
        release(
            &program,
            &period("2027-01"),
            &inputs,
            &mut lines,
            &mut Vec::new(),
        );
        let got: Vec<(String, &str, Decimal)> = lines
            .of(0)
            .map(|l| (l.account(), l.kind.name(), l.amount))
            .collect();
        assert_eq!(
            got,
            vec![
                ("pending".into(), "cancel", d("-50.00")),
                ("pending".into(), "release", d("-30.00")),
                ("payout".into(), "release", d("30.00")),
            ]
        );
    }
}
