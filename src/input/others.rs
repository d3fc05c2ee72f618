//! activities.csv and claims.csv: small files, validated whole, the period's rows kept.

use super::{CsvFile, FileDigest, PartnerSet};
use crate::error::{Result, Warning, WarningCode};
use crate::model::period::Period;
use crate::model::{Activity, Claim, ClaimStatus};
use std::collections::HashMap;
use std::path::Path;

/// Activities that occurred in the period, sorted by (partner, occurred_on, activity).
pub fn load_activities(
    path: &Path,
    period: &Period,
    partners: &PartnerSet,
    dialect: &super::Dialect,
) -> Result<(Vec<Activity>, FileDigest)> {
    let mut csv = CsvFile::open_as(path, &["partner_id", "activity", "occurred_on"], dialect)?;
    let mut out = Vec::new();
    while let Some(row) = csv.next_row()? {
        match activity_row(&row, partners) {
            Ok(a) if period.contains(a.occurred_on) => out.push(a),
            Ok(_) => {}
            Err(e) => csv.reject(e),
        }
    }
    out.sort_by(|a, b| {
        (a.partner, a.occurred_on, &a.activity).cmp(&(b.partner, b.occurred_on, &b.activity))
    });
    Ok((out, csv.finish()?))
}

fn activity_row(row: &super::Row, partners: &PartnerSet) -> Result<Activity> {
    Ok(Activity {
        partner: partners.lookup(row, "partner_id", "unknown partner: not in partners.csv")?,
        activity: row.required("activity")?.to_string(),
        occurred_on: row.required_date("occurred_on")?,
        quantity: row.positive_integer("quantity")?.unwrap_or(1),
    })
}

/// The fund rules claims may draw on, and the program that defines them (named in errors).
#[derive(Debug, Clone, Copy)]
pub struct ClaimFunds<'a> {
    pub program_id: &'a str,
    pub fund_ids: &'a [&'a str],
}

/// Approved claims decided in the period, sorted by claim_id. Claims on a fund the program does not
/// define are an error, unless `unknown_funds_ok` (used by `diff`, whose two programs may define
/// different funds): then they are dropped and counted in the returned warning list.
pub fn load_claims(
    path: &Path,
    funds: ClaimFunds,
    period: &Period,
    partners: &PartnerSet,
    unknown_funds_ok: bool,
    dialect: &super::Dialect,
) -> Result<(Vec<Claim>, FileDigest, Vec<Warning>)> {
    let mut csv = CsvFile::open_as(
        path,
        &["claim_id", "partner_id", "fund", "amount", "status"],
        dialect,
    )?;
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    while let Some(row) = csv.next_row()? {
        match claim_row(&row, &funds, unknown_funds_ok, partners, &mut seen) {
            Ok(ClaimRow::Claim(claim)) => {
                if claim.status == ClaimStatus::Approved
                    && claim.decided_on.is_some_and(|d| period.contains(d))
                {
                    out.push(claim);
                }
            }
            Ok(ClaimRow::UnknownFund(claim_id, fund)) => {
                warnings.push(Warning::new(
                    WarningCode::ClaimUnknownFund,
                    format!(
                        "claim {claim_id}: fund `{fund}` is not a fund rule of program {}; ignored",
                        funds.program_id
                    ),
                ));
            }
            Err(e) => csv.reject(e),
        }
    }
    out.sort_by(|a, b| a.claim_id.cmp(&b.claim_id));
    Ok((out, csv.finish()?, warnings))
}

/// A claim, or (when `diff` tolerates it) the claim_id and fund of a claim on a fund the program
/// does not define.
enum ClaimRow {
    Claim(Claim),
    UnknownFund(String, String),
}

fn claim_row(
    row: &super::Row,
    funds: &ClaimFunds,
    unknown_funds_ok: bool,
    partners: &PartnerSet,
    seen: &mut HashMap<String, u64>,
) -> Result<ClaimRow> {
    let claim_id = row.required("claim_id")?;
    if let Some(first) = seen.insert(claim_id.to_string(), row.line) {
        return Err(row.error(
            "claim_id",
            claim_id,
            format!("duplicate claim_id (first on line {first})"),
        ));
    }
    let partner = partners.lookup(row, "partner_id", "unknown partner: not in partners.csv")?;
    let fund = row.required("fund")?;
    if !funds.fund_ids.contains(&fund) {
        if unknown_funds_ok {
            return Ok(ClaimRow::UnknownFund(
                claim_id.to_string(),
                fund.to_string(),
            ));
        }
        return Err(row.error(
            "fund",
            fund,
            format!(
                "unknown fund: program {} has no fund rule with this id",
                funds.program_id
            ),
        ));
    }
    let amount = row.required_money("amount")?;
    let status = match row.choice("status", &["approved", "pending", "rejected"])? {
        Some("approved") => ClaimStatus::Approved,
        Some("pending") => ClaimStatus::Pending,
        Some(_) => ClaimStatus::Rejected,
        None => {
            return Err(row.error("status", "", "expected one of: approved, pending, rejected"));
        }
    };
    let decided_on = row.date("decided_on")?;
    if status == ClaimStatus::Approved && decided_on.is_none() {
        return Err(row.error(
            "decided_on",
            "",
            "an approved claim needs the date it was decided",
        ));
    }
    Ok(ClaimRow::Claim(Claim {
        claim_id: claim_id.to_string(),
        partner,
        fund: fund.to_string(),
        amount,
        status,
        decided_on,
    }))
}
