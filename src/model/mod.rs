//! The bottom of the library: the domain records every layer shares (partners, deals, activities,
//! claims), periods and exact money. `program`, `input` and `engine` all build on it; it depends on
//! none of them.

pub mod money;
pub mod period;
mod when;

pub use when::When;

/// Shared immutable text: a deal's id is held once by the deal and every line that names it, and a
/// product or currency once per distinct value, since a run keeps a million of them.
pub type Text = std::sync::Arc<str>;

use chrono::NaiveDate;
use rust_decimal::Decimal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartnerStatus {
    Active,
    Suspended,
    Terminated,
}

impl PartnerStatus {
    pub fn name(self) -> &'static str {
        match self {
            PartnerStatus::Active => "active",
            PartnerStatus::Suspended => "suspended",
            PartnerStatus::Terminated => "terminated",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Partner {
    pub id: String,
    pub name: String,
    pub partner_type: String,
    pub region: Option<String>,
    pub level: Option<String>,
    pub quota: Option<Decimal>,
    /// Payout currency, already defaulted to the program currency.
    pub currency: String,
    pub status: PartnerStatus,
    pub kyc_verified: bool,
    pub joined_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DealSource {
    Sourced,
    Influenced,
}

impl DealSource {
    pub fn name(self) -> &'static str {
        match self {
            DealSource::Sourced => "sourced",
            DealSource::Influenced => "influenced",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DealStatus {
    Won,
    Refunded,
    Cancelled,
}

/// deals.csv `credit` (SPEC §9.4): a `split` row shares its deal with the other split rows (shares
/// at most 1 in all); an `overlay` row is a credit of its own, outside the share sum (two-tier
/// distribution: the distributor and the reseller each credited in full).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Credit {
    #[default]
    Split,
    Overlay,
}

impl Credit {
    pub fn name(self) -> &'static str {
        match self {
            Credit::Split => "split",
            Credit::Overlay => "overlay",
        }
    }
}

/// One deal row credited to one partner.
#[derive(Debug, Clone)]
pub struct Deal {
    pub deal_id: Text,
    /// Index into [`PartnerSet::partners`] (sorted by partner_id).
    pub partner: usize,
    pub closed_on: NaiveDate,
    /// `amount` as written, in `currency`.
    pub amount: Decimal,
    pub currency: Text,
    pub share: Decimal,
    /// deals.csv `quantity` (units sold: seats, licences), 1 when the column is absent or the cell
    /// empty (SPEC §8.4). The row's units are `quantity × share`.
    pub quantity: u64,
    /// `amount × share × fx rate on closed_on`, rounded to the program currency's minor units.
    pub credited: Decimal,
    pub product: Option<Text>,
    pub customer_type: Option<Text>,
    /// deals.csv `deal_name` (optional): what statements call the deal instead of its id.
    pub deal_name: Option<Text>,
    pub source: DealSource,
    pub status: DealStatus,
    pub reversed_on: Option<NaiveDate>,
    /// deals.csv `reversed_amount` (SPEC §9.6): the part of `amount` reversed on `reversed_on`; `None`
    /// for a full reversal (or none). With a partial one the row keeps counting, on `amount − x`
    /// from `reversed_on` on (`credited` is as of the period's end).
    pub reversed_amount: Option<Decimal>,
    pub credit: Credit,
}

impl Deal {
    /// The day the row stops counting (SPEC §2): its `reversed_on`, unless the reversal is partial
    /// (§9.6: the row keeps counting on what is left).
    pub fn full_reversal(&self) -> Option<NaiveDate> {
        full_reversal(self.reversed_on, self.reversed_amount)
    }
}

/// [`Deal::full_reversal`] on the cells.
pub fn full_reversal(
    reversed_on: Option<NaiveDate>,
    reversed_amount: Option<Decimal>,
) -> Option<NaiveDate> {
    reversed_on.filter(|_| reversed_amount.is_none())
}

/// One row of activities.csv that occurred in the period.
#[derive(Debug, Clone)]
pub struct Activity {
    pub partner: usize,
    pub activity: String,
    pub occurred_on: NaiveDate,
    pub quantity: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimStatus {
    Approved,
    Pending,
    Rejected,
}

#[derive(Debug, Clone)]
pub struct Claim {
    pub claim_id: String,
    pub partner: usize,
    pub fund: String,
    pub amount: Decimal,
    pub status: ClaimStatus,
    pub decided_on: Option<NaiveDate>,
}

/// One row of adjustments.csv decided in the period (SPEC §8.1): a manual correction on the partner's
/// `payout` account, in the program currency.
#[derive(Debug, Clone)]
pub struct Adjustment {
    pub adjustment_id: String,
    pub partner: usize,
    /// May be negative.
    pub amount: Decimal,
    pub reason: String,
    pub decided_on: NaiveDate,
}

/// One row of payments.csv (SPEC §9.1): cash received for a whole deal, in the deal's currency.
#[derive(Debug, Clone)]
pub struct Payment {
    pub payment_id: Text,
    pub deal_id: Text,
    /// The partner index the payment is restricted to; `None`: every row of the deal.
    pub partner: Option<usize>,
    pub paid_on: NaiveDate,
    /// ≠ 0; negative for money paid back.
    pub amount: Decimal,
    /// payments.csv's line of the row, for errors naming a paid payment that changed.
    pub line: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approved,
    Declined,
}

impl Decision {
    pub fn name(self) -> &'static str {
        match self {
            Decision::Approved => "approved",
            Decision::Declined => "declined",
        }
    }
}

/// One row of approvals.csv (SPEC §9.3): a decision on a deal row, for one rule or (rule_id
/// empty) for every manual rule of the row.
#[derive(Debug, Clone)]
pub struct Approval {
    pub deal_id: Text,
    pub partner: usize,
    pub rule_id: Option<String>,
    pub decision: Decision,
    pub decided_on: NaiveDate,
    pub reason: Option<String>,
}

/// One payment a rule has a line of (SPEC §9.1): later runs take it at this `paid_on`, amount and
/// cash part, whatever payments.csv says of it now. Carried down the chain in `paid_payments.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidPayment {
    /// The period whose run wrote the payment's line (`2026-10`).
    pub period: String,
    pub partner: usize,
    pub rule_id: String,
    pub payment_id: Text,
    pub deal_id: Text,
    pub paid_on: NaiveDate,
    /// The payment's amount as paid (an amount that differs in payments.csv now is an error).
    pub amount: Decimal,
    /// The cash behind the rule's line: the part of the payment the line was computed on.
    pub cash_part: Decimal,
}
