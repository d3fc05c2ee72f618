//! adjustments.csv (SPEC §8.1): manual adjustments, validated whole, the period's rows kept.

use super::{CsvFile, FileDigest, PartnerSet};
use crate::error::Result;
use crate::model::Adjustment;
use crate::model::period::Period;
use std::collections::HashMap;
use std::path::Path;

/// The columns of adjustments.csv; every one is required in every row.
pub const ADJUSTMENT_COLUMNS: &[&str] = &[
    "adjustment_id",
    "partner_id",
    "amount",
    "reason",
    "decided_on",
];

/// Adjustments decided in the period, sorted by (partner, adjustment_id). Every row is validated,
/// whatever its date: every column is required, adjustment_id is unique in the file, the partner
/// exists, and the amount (which may be negative) has at most the program currency's `minor_units`
/// decimal places, since an adjustment is an amount of money decided by a person, never rounded.
pub fn load_adjustments(
    path: &Path,
    period: &Period,
    partners: &PartnerSet,
    minor_units: u32,
) -> Result<(Vec<Adjustment>, FileDigest)> {
    let mut csv = CsvFile::open(path, ADJUSTMENT_COLUMNS)?;
    let mut out = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    while let Some(row) = csv.next_row()? {
        let adjustment_id = row.required("adjustment_id")?;
        if let Some(first) = seen.insert(adjustment_id.to_string(), row.line) {
            return Err(row.error(
                "adjustment_id",
                adjustment_id,
                format!("duplicate adjustment_id (first on line {first})"),
            ));
        }
        if adjustment_id == "budget" {
            return Err(row.error(
                "adjustment_id",
                adjustment_id,
                "`budget` is reserved: the budget-proration lines of the ledger use it as their source_id",
            ));
        }
        let partner =
            partners.lookup(&row, "partner_id", "unknown partner: not in partners.csv")?;
        let amount = row.required_decimal("amount")?;
        if amount.normalize().scale() > minor_units {
            return Err(row.error(
                "amount",
                row.raw("amount").unwrap_or_default(),
                format!(
                    "an adjustment is paid exactly: at most {minor_units} decimal place(s) in the program currency"
                ),
            ));
        }
        let reason = row.required("reason")?;
        let decided_on = row.required_date("decided_on")?;
        if period.contains(decided_on) {
            let mut amount = amount;
            amount.rescale(minor_units);
            out.push(Adjustment {
                adjustment_id: adjustment_id.to_string(),
                partner,
                amount,
                reason: reason.to_string(),
                decided_on,
            });
        }
    }
    out.sort_by(|a, b| (a.partner, &a.adjustment_id).cmp(&(b.partner, &b.adjustment_id)));
    Ok((out, csv.finish()?))
}
