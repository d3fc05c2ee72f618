//! CSV inputs (SPEC §2): typed records and streaming loaders that keep only what the period needs.

pub mod adjustments;
pub mod approvals;
mod blocks;
mod csvfile;
pub mod deals;
pub mod fx;
pub mod header;
pub mod import;
pub mod ledger;
pub mod others;
pub mod paid_payments;
pub mod partners;
pub mod payments;
pub mod sources;
pub mod stages;
pub mod trailer;

pub use crate::digest::{HashingReader, sha256_file};
pub use adjustments::load_adjustments;
pub use approvals::{ApprovalRules, ReadApprovals, read_approvals};
pub use csvfile::{
    CsvFile, Dialect, FileDigest, INPUT_COLUMNS, INPUTS, Row, parse_delimiter, required_columns,
};
pub use deals::{
    DealData, DealPlan, DealRef, DealsRead, LoadOptions, NamedDeals, NamedRows, PriorCounts,
    WindowTotals, load_deals, load_deals_with,
};
pub use fx::FxTable;
pub use header::{Col, ColumnRef, Columns, header_key};
pub use ledger::{
    ChainLink, LINE_COLUMNS, LedgerData, LedgerQuery, PreviousBatch, TRUE_UP_PART_COLUMNS,
    TRUE_UP_PARTS, YearToDate, describe_period, load_ledger, open_ledger, refuse_ledger,
};
pub use others::{ClaimFunds, load_activities, load_claims};
pub use paid_payments::{PAID_PAYMENT_COLUMNS, PAID_PAYMENTS};
pub use partners::{PartnerRefs, PartnerSet, load_partners, load_partners_as, load_partners_with};
pub use payments::{ReadPayments, read_payments};

// The records the loaders produce live in the bottom `model` module; re-exported for the loaders' users.
pub use crate::model::{
    Activity, Adjustment, Approval, Claim, ClaimStatus, Credit, Deal, DealSource, DealStatus,
    Decision, PaidPayment, Partner, PartnerStatus, Payment,
};

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
