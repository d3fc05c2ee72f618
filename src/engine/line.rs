use crate::error::{Error, Result};
use crate::model::Text;
use crate::model::money::{format_money, within_limits};
use rust_decimal::Decimal;
use std::fmt;

/// Checked arithmetic for one partner and rule (SPEC §7: arithmetic never wraps or panics). Every
/// overflow, and every written amount of 10^20 or more, is an error naming the partner and the rule.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Calc<'a> {
    pub partner: &'a str,
    /// The rule being evaluated; empty for a partner's totals.
    pub rule: &'a str,
}

impl Calc<'_> {
    /// `partner P001, rule big-percent: message`.
    pub fn error(&self, message: impl fmt::Display) -> Error {
        let rule = if self.rule.is_empty() {
            String::new()
        } else {
            format!(", rule {}", self.rule)
        };
        Error::Calculation(format!("partner {}{rule}: {message}", self.partner))
    }

    /// The result of a checked operation, or an error saying what overflowed.
    pub fn ok<T>(&self, value: Option<T>, what: impl FnOnce() -> String) -> Result<T> {
        value.ok_or_else(|| {
            self.error(format!(
                "{} is too large to compute; check the amounts, quantities, quotas, rates and fx rates it comes from",
                what()
            ))
        })
    }

    /// `a × b`, checked.
    pub fn mul(&self, a: Decimal, b: Decimal, what: impl FnOnce() -> String) -> Result<Decimal> {
        self.ok(a.checked_mul(b), what)
    }

    /// The sum of `values`, checked.
    pub fn sum(
        &self,
        values: impl IntoIterator<Item = Decimal>,
        what: impl FnOnce() -> String,
    ) -> Result<Decimal> {
        let total = values
            .into_iter()
            .try_fold(Decimal::ZERO, |acc, v| acc.checked_add(v));
        self.ok(total, what)
    }

    /// An amount that is written out: it must stay below 10^20, so next month can read it back.
    pub fn limited(&self, value: Decimal, what: &str, minor_units: u32) -> Result<Decimal> {
        if within_limits(value) {
            Ok(value)
        } else {
            Err(self.error(format!(
                "{what} {} exceeds what payline can carry to next month (less than 10^20); check the deal amounts and rates",
                format_money(value, minor_units)
            )))
        }
    }
}

/// What a line's `source_id` refers to (SPEC §5 lines.csv `source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    Deal,
    Activity,
    Claim,
    Period,
    Adjustment,
    Payout,
    /// A payment of payments.csv (SPEC §9.1): source_id is its payment_id.
    Payment,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Deal => "deal",
            Source::Activity => "activity",
            Source::Claim => "claim",
            Source::Period => "period",
            Source::Adjustment => "adjustment",
            Source::Payout => "payout",
            Source::Payment => "payment",
        }
    }
}

/// The `kind` column: the rule kind that earned the line, or what adjusted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LineKind {
    /// Earned by a rule of this kind.
    Rule(crate::engine::rules::Kind),
    Claim,
    Clawback,
    BudgetProration,
    /// A movement on a fund account: allocation, accrual, or a claim's draw.
    Fund,
    /// The payment itself: −paid on the `payout` account.
    Payout,
    /// An accumulating rule's settlement of the span's earlier periods (SPEC §8.7); may be negative.
    TrueUp,
    /// A manual adjustment (SPEC §8.1), on the `payout` account.
    Adjustment,
    /// Earned by a rule of this kind but held on the `pending` account (SPEC §8.2 `hold_days`).
    Pending(crate::engine::rules::Kind),
    /// A held line released (SPEC §8.2): the +x leg, on the `payout` account.
    Release,
    /// A held line released: the −x leg, on the `pending` account.
    ReleasePending,
    /// A held line cancelled because its deal row was reversed during the hold: −x on `pending`.
    Cancel,
}

impl LineKind {
    pub fn name(self) -> &'static str {
        match self {
            LineKind::Rule(kind) => kind.name(),
            LineKind::Claim => "claim",
            LineKind::Clawback => "clawback",
            LineKind::BudgetProration => "budget-proration",
            LineKind::Fund => "fund",
            LineKind::Payout => "payout",
            LineKind::TrueUp => "true-up",
            LineKind::Adjustment => "adjustment",
            LineKind::Pending(kind) => kind.name(),
            LineKind::Release | LineKind::ReleasePending => "release",
            LineKind::Cancel => "cancel",
        }
    }

    /// Whether the line moves the partner's `pending` account (SPEC §8.2).
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            LineKind::Pending(_) | LineKind::ReleasePending | LineKind::Cancel
        )
    }
}

/// One money line of the audit trail. `amount` is rounded once, when the line is made.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub partner: usize,
    pub rule_id: Text,
    pub kind: LineKind,
    pub source: Source,
    pub source_id: Text,
    pub basis: Option<Decimal>,
    pub rate: Option<Decimal>,
    pub amount: Decimal,
    pub note: String,
}

impl Line {
    /// The ledger account the line moves (SPEC §5): a fund's own account for fund movements, the
    /// partner's `payout` account for everything earned, clawed back or paid.
    pub fn account(&self) -> String {
        match self.kind {
            LineKind::Fund => format!("fund:{}", self.rule_id),
            kind if kind.is_pending() => "pending".to_string(),
            _ => "payout".to_string(),
        }
    }
}

/// SPEC §3 `cap`: per partner per period, line by line in processing order; a line is cut to what is
/// left under the cap (its note says so) and later lines get 0.
pub fn apply_cap(lines: &mut [Line], cap: Decimal, minor_units: u32, calc: Calc) -> Result<()> {
    // A cap is a most: written with more decimals than the currency pays (`100.005`), it is cut
    // to minor units toward zero, as a budget is; rounding the cut line would pay 100.01.
    let cap = cap.round_dp_with_strategy(minor_units, rust_decimal::RoundingStrategy::ToZero);
    let mut used = Decimal::ZERO;
    // A payment refund's clawback (SPEC §9.1) is never capped and gives no room back.
    for line in lines.iter_mut().filter(|l| l.kind != LineKind::Clawback) {
        let left = calc
            .ok(cap.checked_sub(used), || {
                "what is left under the cap".into()
            })?
            .max(Decimal::ZERO);
        if line.amount > left {
            line.note.push_str(&format!(
                "; cut from {} to {} by the cap of {}",
                format_money(line.amount, minor_units),
                format_money(left, minor_units),
                format_money(cap, minor_units)
            ));
            line.amount = left;
            line.amount.rescale(minor_units);
        }
        used = calc.ok(used.checked_add(line.amount), || {
            "the total of the capped lines".into()
        })?;
    }
    Ok(())
}

/// Every partner's lines during a run: each partner's rule lines in one vector, partner after
/// partner, and what budget proration and clawbacks add after them kept aside. The lines are the
/// largest thing a run holds; gathering per-partner vectors into one at the end would hold them
/// twice, so when nothing was added the vector simply becomes `Outcome::lines`.
#[derive(Debug, Default)]
pub struct PartnerLines {
    lines: Vec<Line>,
    /// `ends[i]`: where partner `i`'s rule lines end in `lines`.
    ends: Vec<usize>,
    /// Lines added after partner `i`'s rule lines (sparse: empty vectors allocate nothing).
    added: Vec<Vec<Line>>,
}

impl PartnerLines {
    /// Appends the next partner's rule lines (partners are pushed in index order).
    pub fn push_partner(&mut self, lines: Vec<Line>) {
        self.lines.extend(lines);
        self.ends.push(self.lines.len());
        self.added.push(Vec::new());
    }

    pub fn partners(&self) -> usize {
        self.ends.len()
    }

    /// Adds a line after partner `i`'s others.
    pub fn add(&mut self, i: usize, line: Line) {
        self.added[i].push(line);
    }

    /// Partner `i`'s lines: its rule lines, then what was added.
    pub fn of(&self, i: usize) -> impl Iterator<Item = &Line> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.lines[start..self.ends[i]].iter().chain(&self.added[i])
    }

    /// Every line, by partner.
    pub fn into_lines(self) -> Vec<Line> {
        if self.added.iter().all(Vec::is_empty) {
            return self.lines;
        }
        let total = self.lines.len() + self.added.iter().map(Vec::len).sum::<usize>();
        let mut out = Vec::with_capacity(total);
        let mut rule_lines = self.lines.into_iter();
        let mut start = 0;
        for (end, added) in self.ends.into_iter().zip(self.added) {
            out.extend(rule_lines.by_ref().take(end - start));
            out.extend(added);
            start = end;
        }
        out
    }
}
