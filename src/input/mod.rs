//! CSV inputs (SPEC §2): typed records and streaming loaders that keep only what the period needs.

mod csvfile;
pub mod deals;
pub mod fx;
pub mod ledger;
pub mod others;
pub mod partners;

pub use csvfile::hex as csvfile_hex;
pub use csvfile::{Col, ColumnRef, Columns, CsvFile, FileDigest, HashingReader, Row, sha256_file};
pub use deals::{DealData, load_deals};
pub use fx::FxTable;
pub use ledger::{
    LINE_COLUMNS, LedgerData, LedgerQuery, PreviousBatch, describe_period, load_ledger,
    open_ledger, refuse_ledger,
};
pub use others::{Activity, Claim, ClaimStatus, load_activities, load_claims};
pub use partners::{PartnerSet, load_partners};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a: for the loaders' hot lookups of short ids, where SipHash's resistance to crafted keys
/// buys nothing (the inputs are the user's own exports) and costs a tenth of the run.
#[derive(Default)]
pub struct FnvHasher(u64);

impl Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

pub type FnvBuild = BuildHasherDefault<FnvHasher>;

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

/// One deal row credited to one partner.
#[derive(Debug, Clone)]
pub struct Deal {
    pub deal_id: String,
    /// Index into [`PartnerSet::partners`] (sorted by partner_id).
    pub partner: usize,
    pub closed_on: NaiveDate,
    /// `amount` as written, in `currency`.
    pub amount: Decimal,
    pub currency: String,
    pub share: Decimal,
    /// `amount × share × fx rate on closed_on`, rounded to the program currency's minor units.
    pub credited: Decimal,
    pub product: Option<String>,
    pub customer_type: Option<String>,
    pub source: DealSource,
    pub status: DealStatus,
    pub reversed_on: Option<NaiveDate>,
}
