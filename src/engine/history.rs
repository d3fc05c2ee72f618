//! What the ledger and this period's reversals say of a partner's rows, for the steps that settle
//! them (clawbacks §4.12, held lines §8.2) and for the rules that must know beforehand what those
//! steps will take back (an accumulating rule's true-up counts them as paid back, §8.7; a milestone
//! knows whether its bonus is still held, §4.8). Below the rules: it reads only the context.

use super::context::Inputs;
use crate::model::Deal;
use crate::model::period::Period;
use crate::program::Program;
use rust_decimal::Decimal;

/// A reversal at most `clawback_days` after closing is clawed back; a later one is not.
pub(crate) fn within_window(program: &Program, deal: &Deal) -> bool {
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
/// (an accumulating rule counts the rows it paid in its span's earlier periods). `None` on overflow.
pub(crate) fn recovered_now_where(
    program: &Program,
    inputs: &Inputs,
    partner: usize,
    rule_id: &str,
    keep: impl Fn(&Deal) -> bool,
) -> Option<Decimal> {
    recovered_now_rows(program, inputs, partner, rule_id, keep)
        .try_fold(Decimal::ZERO, |total, (_, amount)| {
            total.checked_add(amount?)
        })
}

/// [`recovered_now_where`] row by row: each row's deal_id and what its clawback recovers (`None`
/// on overflow).
pub(crate) fn recovered_now_rows<'i>(
    program: &'i Program,
    inputs: &'i Inputs,
    partner: usize,
    rule_id: &'i str,
    keep: impl Fn(&Deal) -> bool + 'i,
) -> impl Iterator<Item = (&'i str, Option<Decimal>)> + 'i {
    let reversals = &inputs.deals.reversals;
    let start = reversals.partition_point(|d| d.partner < partner);
    reversals[start..]
        .iter()
        .take_while(move |d| d.partner == partner)
        .filter(move |d| within_window(program, d) && keep(d))
        .map(move |d| {
            let amount = recoverable(inputs, d)
                .find(|r| *r.rule_id == *rule_id)
                .map_or(Some(Decimal::ZERO), |r| clawed_back_of(program, d, &r));
            (&*d.deal_id, amount)
        })
}

/// What a reversal claws back of what a rule holds of the row (SPEC §4.12, §9.6): all of it for a
/// full reversal; for a partial one −round(paid × x ÷ amount), and nothing of a milestone's lines
/// (the row still counts toward it). `paid` is what the rule paid the row before any reversal: when
/// an earlier export's smaller partial reversal was clawed back already, x is the whole amount
/// refunded so far (an export's `reversed_amount` is the row's refunded total), so only its growth
/// is recovered now, never the first refund twice: 400.00 paid, 2,000.00 of 8,000.00 refunded
/// (−100.00), then 5,000.00 → round(400.00 × 5,000 ÷ 8,000) − 100.00 = −150.00 (250.00 in all).
/// Never more than the rule still holds. `None` on overflow.
pub(crate) fn clawed_back_of(
    program: &Program,
    deal: &Deal,
    held: &Recoverable,
) -> Option<Decimal> {
    let total = held.total()?;
    let Some(reversed) = deal.reversed_amount else {
        return Some(total);
    };
    let milestone = program
        .rules
        .iter()
        .any(|r| &*r.id == held.rule_id && r.is_milestone());
    if milestone {
        return Some(Decimal::ZERO);
    }
    let paid = total.checked_add(held.recovered)?;
    let due = proportional(program, paid, reversed, deal.amount) - held.recovered;
    Some(due.clamp(Decimal::ZERO, total))
}

/// round(value × x ÷ amount): the reversed part of `value` (SPEC §9.6).
pub(crate) fn proportional(
    program: &Program,
    value: Decimal,
    x: Decimal,
    amount: Decimal,
) -> Decimal {
    if amount.is_zero() {
        return Decimal::ZERO;
    }
    // value × x can overflow where value × (x ÷ amount) cannot: x ≤ amount, so the fraction ≤ 1.
    let product = value
        .checked_mul(x)
        .and_then(|p| p.checked_div(amount))
        .or_else(|| x.checked_div(amount).and_then(|f| value.checked_mul(f)))
        .unwrap_or(value);
    program.round(product)
}

/// What a partially reversed row's pending line is cut by in this run (SPEC §9.6): round(held × x ÷
/// amount), once, in the first run whose period ends on or after `reversed_on`, for a line written
/// in a period that ended before it (a line written on or after it was computed on what was left).
/// `None` when there is nothing to cut.
pub(crate) fn pending_cut(
    program: &Program,
    period: &Period,
    inputs: &Inputs,
    key: &(usize, String, String),
    (held, since): (Decimal, &str),
    deal: &Deal,
) -> Option<Decimal> {
    let (reversed_on, x) = (deal.reversed_on?, deal.reversed_amount?);
    let written_before = Period::parse(since).is_some_and(|p| p.end < reversed_on);
    let cut_already = inputs.ledger.pending_cut.contains(key);
    if reversed_on > period.end || !written_before || cut_already {
        return None;
    }
    // A finished span's true-ups may have taken part of the row back from `payout` already (its
    // recorded part is negative): that part's share of the reversal is not cut again, as a full
    // reversal releases it (`cancelled_part`).
    let taken_back = inputs
        .ledger
        .true_up_parts
        .get(key)
        .map_or(Decimal::ZERO, |(part, _)| (-*part).max(Decimal::ZERO));
    let cut = proportional(program, held, x, deal.amount)
        - proportional(program, taken_back, x, deal.amount);
    Some(cut.max(Decimal::ZERO)).filter(|cut| !cut.is_zero())
}

/// What the ledger shows one rule still holds of a reversed row: its `payout` lines (earned and
/// released, less earlier clawbacks) and, for an accumulating rule whose span ended, the row's part
/// of that span's true-ups (SPEC §4.12).
pub(crate) struct Recoverable<'a> {
    pub rule_id: &'a str,
    pub lines: Decimal,
    pub part: Option<(Decimal, &'a str)>,
    /// What earlier clawbacks of the row took back (in `lines` already, with their sign).
    pub recovered: Decimal,
}

impl Recoverable<'_> {
    /// What a clawback recovers: never less than nothing (a true-up that already took the row out
    /// of its span counts as recovered). `None` on overflow.
    pub fn total(&self) -> Option<Decimal> {
        let part = self.part.map_or(Decimal::ZERO, |(p, _)| p);
        Some(self.lines.checked_add(part)?.max(Decimal::ZERO))
    }
}

/// Per rule, what the ledger shows of a reversed row (rules in id order).
pub(crate) fn recoverable<'a>(
    inputs: &'a Inputs,
    deal: &Deal,
) -> impl Iterator<Item = Recoverable<'a>> {
    let ledger = &inputs.ledger;
    let from = (deal.partner, deal.deal_id.to_string(), String::new());
    let of_row = |(p, d, _): &(usize, String, String)| *p == deal.partner && **d == *deal.deal_id;
    let mut rules: std::collections::BTreeMap<&str, Recoverable> = Default::default();
    for ((_, _, rule_id), amount) in ledger
        .deal_earnings
        .range(from.clone()..)
        .take_while(|(k, _)| of_row(k))
    {
        rules.insert(
            rule_id,
            Recoverable {
                rule_id,
                lines: *amount,
                part: None,
                recovered: ledger
                    .deal_clawed_back
                    .get(&(deal.partner, deal.deal_id.to_string(), rule_id.clone()))
                    .copied()
                    .unwrap_or_default(),
            },
        );
    }
    for ((_, _, rule_id), (part, span)) in ledger
        .true_up_parts
        .range(from..)
        .take_while(|(k, _)| of_row(k))
    {
        rules
            .entry(rule_id)
            .or_insert(Recoverable {
                rule_id,
                lines: Decimal::ZERO,
                part: None,
                recovered: Decimal::ZERO,
            })
            .part = Some((*part, span));
    }
    rules.into_values()
}

/// What this period's cancels take back of `rule_id`'s pending lines of `partner`, for the rows `keep`
/// selects (an accumulating rule counts the rows of its span's earlier periods, SPEC §8.7): the held
/// amounts of the rows reversed on or before the period's last day. `None` on overflow.
pub(crate) fn cancelled_now_where(
    program: &Program,
    period: &Period,
    inputs: &Inputs,
    partner: usize,
    rule_id: &str,
    keep: impl Fn(&Deal) -> bool,
) -> Option<rust_decimal::Decimal> {
    cancelled_now_rows(program, period, inputs, partner, rule_id, keep)
        .try_fold(rust_decimal::Decimal::ZERO, |total, (_, amount)| {
            total.checked_add(amount)
        })
}

/// [`cancelled_now_where`] row by row: each row's deal_id and what its cancel takes back.
pub(crate) fn cancelled_now_rows<'i>(
    program: &'i Program,
    period: &'i Period,
    inputs: &'i Inputs,
    partner: usize,
    rule_id: &'i str,
    keep: impl Fn(&Deal) -> bool + 'i,
) -> impl Iterator<Item = (&'i str, rust_decimal::Decimal)> + 'i {
    let held = &inputs.ledger.pending_lines;
    let deals = &inputs.deals;
    let row = move |deal_id: &str| {
        // Later lists win, as in `release`: a row reversed in the period is the freshest view.
        [&deals.reversals, &deals.current, &deals.held]
            .into_iter()
            .find_map(|rows| {
                let start = rows.partition_point(|d| d.partner < partner);
                rows[start..]
                    .iter()
                    .take_while(|d| d.partner == partner)
                    .find(|d| &*d.deal_id == deal_id)
            })
    };
    held.range((partner, String::new(), String::new())..)
        .take_while(move |((p, _, _), _)| *p == partner)
        .filter(move |((_, _, rule), _)| rule == rule_id)
        .filter_map(move |(key, (amount, since))| {
            let deal = row(&key.1)?;
            if !keep(deal) {
                return None;
            }
            let taken = if deal.full_reversal().is_some_and(|r| r <= period.end) {
                cancelled_part(inputs, key, *amount).0
            } else {
                pending_cut(program, period, inputs, key, (*amount, since), deal)?
            };
            Some((key.1.as_str(), taken))
        })
}

/// How a reversed row's held amount `held` is settled: (cancelled, released). Whole cancelled, unless
/// a finished span's true-ups already took part of it back from `payout` (SPEC §4.12: the row's
/// recorded part is negative, e.g. it was re-dated out of its span, or the span's last rate was
/// below the one it was held at): that part is released to `payout` instead, which the true-ups
/// debited, so the row is not taken back twice.
pub(crate) fn cancelled_part(
    inputs: &Inputs,
    key: &(usize, String, String),
    held: rust_decimal::Decimal,
) -> (rust_decimal::Decimal, rust_decimal::Decimal) {
    let taken_back = inputs
        .ledger
        .true_up_parts
        .get(key)
        .map_or(rust_decimal::Decimal::ZERO, |(part, _)| -*part);
    let released = taken_back.clamp(rust_decimal::Decimal::ZERO, held);
    (held - released, released)
}
