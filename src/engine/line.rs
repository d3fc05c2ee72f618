use crate::money::format_money;
use rust_decimal::Decimal;

/// What a line's `source_id` refers to (SPEC §5 lines.csv `source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    Deal,
    Activity,
    Claim,
    Period,
    Adjustment,
    Payout,
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
        }
    }
}

/// The `kind` column: the rule kind that earned the line, or what adjusted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LineKind {
    Rule(&'static str),
    Claim,
    Clawback,
    BudgetProration,
    /// A movement on a fund account: allocation, accrual, or a claim's draw.
    Fund,
    /// The payment itself: −paid on the `payout` account.
    Payout,
}

impl LineKind {
    pub fn name(self) -> &'static str {
        match self {
            LineKind::Rule(kind) => kind,
            LineKind::Claim => "claim",
            LineKind::Clawback => "clawback",
            LineKind::BudgetProration => "budget-proration",
            LineKind::Fund => "fund",
            LineKind::Payout => "payout",
        }
    }
}

/// One money line of the audit trail. `amount` is rounded once, when the line is made.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub partner: usize,
    pub rule_id: String,
    pub kind: LineKind,
    pub source: Source,
    pub source_id: String,
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
            _ => "payout".to_string(),
        }
    }
}

/// SPEC §3 `cap`: per partner per period, line by line in processing order; a line is cut to what is
/// left under the cap (its note says so) and later lines get 0.
pub fn apply_cap(lines: &mut [Line], cap: Decimal, minor_units: u32) {
    let mut used = Decimal::ZERO;
    for line in lines.iter_mut() {
        let left = (cap - used).max(Decimal::ZERO);
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
        used += line.amount;
    }
}
