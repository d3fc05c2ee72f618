use super::{ColumnRef, CsvFile, FileDigest, FnvBuild, Partner, PartnerStatus, Row};
use crate::error::Result;
use crate::model::money::is_currency_code;
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

/// The longest partner_id, in characters (SPEC §7).
pub const MAX_PARTNER_ID_CHARS: usize = 64;

/// Why `id` (already trimmed) cannot be a partner_id, or `None` when it can: 1–64 characters, no
/// control characters, no `/` or `\`. Every such id gets its statement: one too long for a file name
/// once encoded gets a shortened name (`render::names`).
pub fn partner_id_problem(id: &str) -> Option<String> {
    let chars = id.chars().count();
    if chars == 0 {
        return Some("a partner_id is required".into());
    }
    if chars > MAX_PARTNER_ID_CHARS {
        return Some(format!(
            "a partner_id is at most {MAX_PARTNER_ID_CHARS} characters; this one has {chars}"
        ));
    }
    if let Some(c) = id.chars().find(|c| c.is_control()) {
        return Some(format!(
            "a partner_id may not contain control characters; this one contains U+{:04X}",
            u32::from(c)
        ));
    }
    if let Some(c) = id.chars().find(|c| *c == '/' || *c == '\\') {
        return Some(format!(
            "a partner_id may not contain `{c}` (it names the partner's statement file)"
        ));
    }
    None
}

pub fn load_partners(path: &Path, program_currency: &str) -> Result<(PartnerSet, FileDigest)> {
    load_partners_as(path, program_currency, &super::Dialect::default())
}

/// [`load_partners`] of a file written in `dialect` (`--delimiter`, `--columns`).
pub fn load_partners_as(
    path: &Path,
    program_currency: &str,
    dialect: &super::Dialect,
) -> Result<(PartnerSet, FileDigest)> {
    let mut csv = CsvFile::open_as(path, &["partner_id", "name", "type"], dialect)?;
    let mut partners = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    // Lower-cased id → (line, id as written): ids differing only in case would share a statement
    // file on a case-insensitive file system (Windows, macOS).
    let mut folded: HashMap<String, (u64, String)> = HashMap::new();
    while let Some(row) = csv.next_row()? {
        let id = row.required("partner_id")?;
        if let Some(problem) = partner_id_problem(id) {
            return Err(row.error("partner_id", id, problem));
        }
        if let Some(first) = seen.insert(id.to_string(), row.line) {
            return Err(row.error(
                "partner_id",
                id,
                format!("duplicate partner_id (first on line {first})"),
            ));
        }
        if let Some((first, other)) = folded.insert(id.to_lowercase(), (row.line, id.to_string())) {
            return Err(row.error(
                "partner_id",
                id,
                format!(
                    "differs from partner_id `{other}` (line {first}) only in letter case; their statements would overwrite each other on a case-insensitive file system"
                ),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partner_id_rules() {
        assert!(partner_id_problem("P001").is_none());
        assert!(partner_id_problem("-P1").is_none());
        assert!(partner_id_problem("acme corp.").is_none());
        assert!(partner_id_problem(&"x".repeat(64)).is_none());
        assert!(partner_id_problem(&"é".repeat(41)).is_none());
        // Any valid id gets its statement, under a shortened name when it must (issue 18).
        assert!(partner_id_problem(&"é".repeat(64)).is_none());
        assert!(partner_id_problem(&"東".repeat(30)).is_none());
        assert!(partner_id_problem(&"x".repeat(65)).unwrap().contains("65"));
        assert!(partner_id_problem("").is_some());
        assert!(partner_id_problem("a/b").unwrap().contains('/'));
        assert!(partner_id_problem("a\\b").unwrap().contains('\\'));
        assert!(partner_id_problem("a\u{7}b").unwrap().contains("U+0007"));
        assert!(partner_id_problem("a\tb").unwrap().contains("U+0009"));
        assert!(partner_id_problem(&"\u{10348}".repeat(64)).is_none());
    }
}
