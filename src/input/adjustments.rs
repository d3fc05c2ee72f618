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

/// Adjustments decided in the period or before it (the engine applies the period's and warns of an
/// earlier one the ledger never applied), sorted by (partner, adjustment_id). Every row is validated,
/// whatever its date: every column is required, adjustment_id is unique in the file, the partner
/// exists, and the amount (which may be negative) has at most the program currency's `minor_units`
/// decimal places, since an adjustment is an amount of money decided by a person, never rounded.
pub fn load_adjustments(
    path: &Path,
    period: &Period,
    partners: &PartnerSet,
    minor_units: u32,
    dialect: &super::Dialect,
) -> Result<(Vec<Adjustment>, FileDigest)> {
    let mut csv = CsvFile::open_as(path, ADJUSTMENT_COLUMNS, dialect)?;
    let mut out = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    while let Some(row) = csv.next_row()? {
        match adjustment_row(&row, partners, minor_units, &mut seen) {
            Ok(a) if a.decided_on <= period.end => out.push(a),
            Ok(_) => {}
            Err(e) => csv.reject(e),
        }
    }
    out.sort_by(|a, b| (a.partner, &a.adjustment_id).cmp(&(b.partner, &b.adjustment_id)));
    Ok((out, csv.finish()?))
}

/// One row of adjustments.csv, its amount at the currency's minor units.
fn adjustment_row(
    row: &super::Row,
    partners: &PartnerSet,
    minor_units: u32,
    seen: &mut HashMap<String, u64>,
) -> Result<Adjustment> {
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
    let partner = partners.lookup(row, "partner_id", "unknown partner: not in partners.csv")?;
    let mut amount = row.required_decimal("amount")?;
    if amount.normalize().scale() > minor_units {
        return Err(row.error(
            "amount",
            row.raw("amount").unwrap_or_default(),
            format!(
                "an adjustment is paid exactly: at most {minor_units} decimal place(s) in the program currency"
            ),
        ));
    }
    amount.rescale(minor_units);
    Ok(Adjustment {
        adjustment_id: adjustment_id.to_string(),
        partner,
        amount,
        reason: row.required("reason")?.to_string(),
        decided_on: row.required_date("decided_on")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rules::testkit::partner;

    fn load(text: &str) -> Result<Vec<(String, usize, String, String)>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("adjustments.csv");
        std::fs::write(&path, text).unwrap();
        let partners = PartnerSet::new(vec![partner("P1"), partner("P2")]);
        let (rows, digest) = load_adjustments(
            &path,
            &Period::parse("2026-10").unwrap(),
            &partners,
            2,
            &crate::input::Dialect::default(),
        )?;
        assert_eq!(
            digest.rows,
            Some(u64::try_from(text.lines().count() - 1).unwrap())
        );
        Ok(rows
            .into_iter()
            .map(|a| (a.adjustment_id, a.partner, a.amount.to_string(), a.reason))
            .collect())
    }

    const HEAD: &str = "adjustment_id,partner_id,amount,reason,decided_on\n";

    #[test]
    fn the_periods_and_earlier_adjustments_are_kept_by_partner_then_id_at_minor_units() {
        // A later one (November) is not this run's; an earlier one is kept so the engine can tell
        // whether the ledger ever applied it.
        let rows = load(&format!(
            "{HEAD}Z9,P1,-12.5,Duplicate fee,2026-10-31\nA1,P2,100,Bonus,2026-10-01\nB2,P1,7.25,Goodwill,2026-10-15\nOLD,P1,1.00,September,2026-09-30\nNEXT,P1,3.00,November,2026-11-01\n"
        ))
        .unwrap();
        assert_eq!(
            rows,
            vec![
                ("B2".into(), 0, "7.25".into(), "Goodwill".into()),
                ("OLD".into(), 0, "1.00".into(), "September".into()),
                ("Z9".into(), 0, "-12.50".into(), "Duplicate fee".into()),
                ("A1".into(), 1, "100.00".into(), "Bonus".into()),
            ]
        );
    }

    #[test]
    fn every_bad_row_names_its_line_column_and_value() {
        // (row after the header, column, value)
        let cases = [
            ("A1,P1,5.00,,2026-10-01", "reason", ""),
            (",P1,5.00,Bonus,2026-10-01", "adjustment_id", ""),
            ("A1,P1,,Bonus,2026-10-01", "amount", ""),
            ("A1,P1,5.00,Bonus,", "decided_on", ""),
            ("A1,P1,5.00,Bonus,01/10/2026", "decided_on", "01/10/2026"),
            ("A1,P9,5.00,Bonus,2026-10-01", "partner_id", "P9"),
            ("A1,P1,5.005,Bonus,2026-10-01", "amount", "5.005"),
            ("A1,P1,\"1,000.00\",Bonus,2026-10-01", "amount", "1,000.00"),
            ("budget,P1,5.00,Bonus,2026-10-01", "adjustment_id", "budget"),
        ];
        for (row, column, value) in cases {
            match load(&format!("{HEAD}{row}\n")) {
                Err(crate::error::Error::Input {
                    file,
                    line,
                    column: c,
                    value: v,
                    ..
                }) => {
                    assert!(file.ends_with("adjustments.csv"), "{row}");
                    assert_eq!((line, c.as_str(), v.as_str()), (2, column, value), "{row}");
                }
                other => panic!("{row}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_adjustment_id_twice_is_an_error_whatever_its_dates() {
        let err = load(&format!(
            "{HEAD}A1,P1,5.00,Bonus,2026-10-01\nA1,P2,6.00,Other,2025-01-01\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("adjustments.csv:3"), "{err}");
        assert!(
            err.contains("duplicate adjustment_id (first on line 2)"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_column_is_an_error() {
        let err = load("adjustment_id,partner_id,amount,decided_on\nA1,P1,5.00,2026-10-01\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("reason"), "{err}");
    }
}
