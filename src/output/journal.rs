//! journal.csv: the batch as double-entry accounting entries finance can book, so nobody re-keys it.
//!
//! Every payline ledger account is a liability in the general ledger (`[accounting]` names them):
//! `payout` → `payable`, `pending` → `pending`, `fund:RULE_ID` → `fund_payable`. A period line that
//! moves one of them is booked against its counterpart: what partners earn (and what clawbacks,
//! proration and adjustments take back) against `expense`, fund accruals and allocations against
//! `fund_expense`, a payout against `payments`. A line that moves money between two ledger accounts
//! (a claim drawn from a fund onto the payout account, a release from pending to payout) is one entry
//! between the two liabilities; its other half is not booked again.
//!
//! The journal is a summary, as a general ledger wants it: one entry per partner, rule and kind of
//! movement (lines.csv keeps every line). Each entry is two rows of the same amount, one debit and one
//! credit, so debits equal credits in every entry and in the batch.

use crate::engine::rules::Kind;
use crate::engine::{Line, LineKind, Outcome, Source};
use crate::error::{Error, Result};
use crate::model::period::Period;
use crate::program::{Accounting, Program};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// One row of journal.csv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalRow {
    /// `PROGRAM-PERIOD-NNNNNN`: the two rows of one entry share it.
    pub entry: String,
    pub account: String,
    pub debit: Decimal,
    pub credit: Decimal,
    pub partner: usize,
    pub memo: String,
}

/// What a line is in the general ledger: the account a positive amount credits, the account it
/// debits, and the words of its memo; `None` for the half of a transfer booked with the other half.
fn posting<'a>(line: &Line, accounting: &'a Accounting) -> Option<(&'a str, &'a str, String)> {
    let liability = |line: &Line| -> &'a str {
        match line.kind {
            LineKind::Fund => &accounting.fund_payable,
            _ if line.account() == "pending" => &accounting.pending,
            _ => &accounting.payable,
        }
    };
    let credit = liability(line);
    let rule = |what: &str| match &*line.rule_id {
        "" => what.to_string(),
        id => format!("{what}, rule {id}"),
    };
    Some(match line.kind {
        LineKind::Payout => (credit, &accounting.payments, "payout".to_string()),
        // The claim's own line (+x on payout) carries the transfer; its draw (−x on the fund) is
        // the same money.
        LineKind::Claim => (
            credit,
            &accounting.fund_payable,
            format!("claims paid from fund {}", line.rule_id),
        ),
        LineKind::Fund if line.source == Source::Claim => return None,
        LineKind::Fund => (
            credit,
            &accounting.fund_expense,
            format!("fund {} {}", line.rule_id, line.source_id),
        ),
        LineKind::Clawback => (credit, &accounting.expense, rule("clawbacks")),
        LineKind::BudgetProration => (credit, &accounting.expense, rule("budget proration")),
        LineKind::Rule(kind) => (credit, &accounting.expense, rule(earned(kind))),
        LineKind::TrueUp => (credit, &accounting.expense, rule("true-up")),
        LineKind::Adjustment => (credit, &accounting.expense, "adjustments".to_string()),
        // Held lines and their cancels move the pending liability against the expense.
        LineKind::Pending(kind) => (
            credit,
            &accounting.expense,
            rule(&format!("{} (held)", earned(kind))),
        ),
        LineKind::Cancel => (
            credit,
            &accounting.expense,
            rule("cancelled during the hold"),
        ),
        // A release is one transfer: its payout leg carries it. Its pending leg is the same money,
        // except what a partial reversal cut in the same pair (SPEC §9.6): `journal` books only
        // that difference, as a cancel.
        LineKind::Release => (credit, &accounting.pending, rule("released from the hold")),
        LineKind::ReleasePending => (
            credit,
            &accounting.expense,
            rule("cancelled during the hold"),
        ),
    })
}

fn earned(kind: Kind) -> &'static str {
    if kind.is_deal_based() {
        "commissions earned"
    } else {
        "bonuses earned"
    }
}

/// The journal of a batch, by partner, entries in the order their first line appears.
pub fn journal(program: &Program, period: &Period, outcome: &Outcome) -> Result<Vec<JournalRow>> {
    let accounting = &program.accounting;
    // (credit account, debit account, memo) per partner, summed, in first-appearance order.
    let mut rows = Vec::new();
    let mut entry = 0usize;
    let mut current: Option<usize> = None;
    let mut sums: Vec<((&str, &str, String), Decimal)> = Vec::new();
    let mut index: BTreeMap<(&str, &str, String), usize> = BTreeMap::new();
    let mut flush = |partner: usize, sums: &mut Vec<((&str, &str, String), Decimal)>| {
        for ((credit, debit, memo), amount) in sums.drain(..) {
            if amount.is_zero() {
                continue;
            }
            // A negative amount reverses the entry: the liability is debited.
            let (credit, debit) = if amount > Decimal::ZERO {
                (credit, debit)
            } else {
                (debit, credit)
            };
            entry += 1;
            let id = format!("{}-{period}-{entry:06}", program.id);
            let memo = format!("{period} {memo}");
            let amount = amount.abs();
            rows.push(JournalRow {
                entry: id.clone(),
                account: debit.to_string(),
                debit: amount,
                credit: Decimal::ZERO,
                partner,
                memo: memo.clone(),
            });
            rows.push(JournalRow {
                entry: id,
                account: credit.to_string(),
                debit: Decimal::ZERO,
                credit: amount,
                partner,
                memo,
            });
        }
    };
    // Each release pair's payout leg, so its pending leg books only the part cut (SPEC §9.6).
    let mut released: BTreeMap<(usize, &str, &str, &str), Decimal> = BTreeMap::new();
    for line in outcome.period_lines() {
        if line.kind == LineKind::Release {
            let key = (
                line.partner,
                &*line.rule_id,
                line.source.name(),
                &*line.source_id,
            );
            *released.entry(key).or_default() += line.amount;
        }
    }
    for line in outcome.period_lines() {
        if current != Some(line.partner) {
            if let Some(partner) = current {
                flush(partner, &mut sums);
            }
            index.clear();
            current = Some(line.partner);
        }
        let Some(key) = posting(line, accounting) else {
            continue;
        };
        let amount = match line.kind {
            LineKind::ReleasePending => {
                let pair = (
                    line.partner,
                    &*line.rule_id,
                    line.source.name(),
                    &*line.source_id,
                );
                line.amount + released.get(&pair).copied().unwrap_or_default()
            }
            _ => line.amount,
        };
        match index.get(&key) {
            Some(&i) => {
                sums[i].1 = sums[i].1.checked_add(amount).ok_or_else(|| {
                    Error::Calculation(format!(
                        "journal.csv: the entry `{}` of one partner is too large to compute",
                        key.2
                    ))
                })?;
            }
            None => {
                index.insert(key.clone(), sums.len());
                sums.push((key, amount));
            }
        }
    }
    if let Some(partner) = current {
        flush(partner, &mut sums);
    }
    Ok(rows)
}
