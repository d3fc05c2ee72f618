use super::{ColumnRef, CsvFile, FileDigest, FnvBuild, Partner, PartnerStatus, Row};
use crate::error::Result;
use crate::money::is_currency_code;
use std::collections::HashMap;
use std::path::Path;

/// All partners, sorted by partner_id; deals refer to them by index.
#[derive(Debug, Clone, Default)]
pub struct PartnerSet {
    pub partners: Vec<Partner>,
    index: HashMap<String, usize, FnvBuild>,
}

impl PartnerSet {
    pub fn new(mut partners: Vec<Partner>) -> PartnerSet {
        partners.sort_by(|a, b| a.id.cmp(&b.id));
        let index = partners
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        PartnerSet { partners, index }
    }

    pub fn find(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The partner named in the row's `partner_id` cell; an unknown id is an error on that cell,
    /// with `message` saying whose reference it was.
    pub fn lookup(&self, row: &Row, column: impl ColumnRef, message: &str) -> Result<usize> {
        let id = row.required(column)?;
        self.find(id).ok_or_else(|| row.error(column, id, message))
    }

    pub fn len(&self) -> usize {
        self.partners.len()
    }

    pub fn is_empty(&self) -> bool {
        self.partners.is_empty()
    }
}

pub fn load_partners(path: &Path, program_currency: &str) -> Result<(PartnerSet, FileDigest)> {
    let mut csv = CsvFile::open(path, &["partner_id", "name", "type"])?;
    let mut partners = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    while let Some(row) = csv.next_row()? {
        let id = row.required("partner_id")?;
        if let Some(first) = seen.insert(id.to_string(), row.line) {
            return Err(row.error(
                "partner_id",
                id,
                format!("duplicate partner_id (first on line {first})"),
            ));
        }
        let currency = match row.get("currency") {
            None => program_currency.to_string(),
            Some(c) if is_currency_code(c) => c.to_string(),
            Some(c) => return Err(row.error("currency", c, "expected an ISO 4217 code like USD")),
        };
        let status = match row.choice("status", &["active", "suspended", "terminated"])? {
            None | Some("active") => PartnerStatus::Active,
            Some("suspended") => PartnerStatus::Suspended,
            _ => PartnerStatus::Terminated,
        };
        partners.push(Partner {
            id: id.to_string(),
            name: row.required("name")?.to_string(),
            partner_type: row.required("type")?.to_string(),
            region: row.get("region").map(str::to_string),
            level: row.get("level").map(str::to_string),
            quota: row.money("quota")?,
            currency,
            status,
            kyc_verified: row.boolean("kyc_verified")?.unwrap_or(true),
            joined_on: row.date("joined_on")?,
        });
    }
    let digest = csv.finish()?;
    Ok((PartnerSet::new(partners), digest))
}
