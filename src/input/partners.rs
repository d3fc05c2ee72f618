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
    /// name → the first partner with it, built when an unknown partner_id needs a hint.
    names: std::sync::OnceLock<HashMap<String, usize, FnvBuild>>,
}

impl PartnerSet {
    pub fn new(mut partners: Vec<Partner>) -> PartnerSet {
        partners.sort_by(|a, b| a.id.cmp(&b.id));
        let index = partners
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        PartnerSet {
            partners,
            index,
            names: std::sync::OnceLock::new(),
        }
    }

    pub fn find(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The partner named in the row's `partner_id` cell; an unknown id is an error on that cell,
    /// with `message` saying whose reference it was.
    pub fn lookup(&self, row: &Row, column: impl ColumnRef, message: &str) -> Result<usize> {
        let id = row.required(column)?;
        self.find(id).ok_or_else(|| {
            let mut message = message.to_string();
            message.push_str(&self.name_hint(id));
            row.error(column, id, message)
        })
    }

    /// When an unknown partner_id is a partner's name (an export that references partners by
    /// name): says so, and how to read it.
    pub fn name_hint(&self, id: &str) -> String {
        let names = self.names.get_or_init(|| {
            let mut names: HashMap<String, usize, FnvBuild> = HashMap::default();
            for (i, p) in self.partners.iter().enumerate() {
                names.entry(p.name.clone()).or_insert(i);
            }
            names
        });
        match names.get(id) {
            Some(&i) => format!(
                "; it is the name of partner {}: to reference partners by name, set `partner_by = \"name\"` in the import map",
                self.partners[i].id
            ),
            None => String::new(),
        }
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

/// [`load_partners`] of a file written in `dialect` (`--delimiter`, an import map).
pub fn load_partners_as(
    path: &Path,
    program_currency: &str,
    dialect: &super::Dialect,
) -> Result<(PartnerSet, FileDigest)> {
    let (partners, digest, _) = load_partners_with(path, program_currency, dialect, &[])?;
    Ok((partners, digest))
}

/// [`load_partners_as`], also reading the columns other inputs reference partners by (`name`, a
/// CRM id column, an aliases column: SPEC §2 import maps) into a [`PartnerRefs`]. Every bad row is
/// reported at once.
pub fn load_partners_with(
    path: &Path,
    program_currency: &str,
    dialect: &super::Dialect,
    ref_columns: &[String],
) -> Result<(PartnerSet, FileDigest, PartnerRefs)> {
    let mut csv = CsvFile::open_as(path, &["partner_id", "name", "type"], dialect)?;
    for column in ref_columns {
        if csv.columns().index(column).is_none() {
            return Err(crate::error::Error::Input {
                file: csv.file.clone(),
                line: 1,
                column: column.clone(),
                value: String::new(),
                message: format!(
                    "partners are referenced by `{column}` (partner_by in an import map), a column this file does not have"
                ),
            });
        }
    }
    let mut partners = Vec::new();
    let mut references = Vec::new();
    let mut ids = Ids::default();
    while let Some(row) = csv.next_row()? {
        let read = partner_row(&row, program_currency, &mut ids).map(|partner| {
            let refs: Vec<(usize, String)> = ref_columns
                .iter()
                .enumerate()
                .filter_map(|(i, c)| row.get(c.as_str()).map(|v| (i, v.to_string())))
                .collect();
            (partner, refs)
        });
        match read {
            Ok((partner, refs)) => {
                references.push((partner.id.clone(), refs));
                partners.push(partner);
            }
            Err(e) => csv.reject(e),
        }
    }
    let digest = csv.finish()?;
    let set = PartnerSet::new(partners);
    let refs = PartnerRefs::new(&set, ref_columns, references);
    Ok((set, digest, refs))
}

/// The partner_ids seen so far: as written, and lower-cased (ids differing only in case would share
/// a statement file on a case-insensitive file system: Windows, macOS), each with its line.
#[derive(Default)]
struct Ids {
    seen: HashMap<String, u64>,
    folded: HashMap<String, (u64, String)>,
}

/// One row of partners.csv.
fn partner_row(row: &Row, program_currency: &str, ids: &mut Ids) -> Result<Partner> {
    let id = row.required("partner_id")?;
    if let Some(problem) = partner_id_problem(id) {
        return Err(row.error("partner_id", id, problem));
    }
    if let Some(first) = ids.seen.insert(id.to_string(), row.line) {
        return Err(row.error(
            "partner_id",
            id,
            format!("duplicate partner_id (first on line {first})"),
        ));
    }
    if let Some((first, other)) = ids
        .folded
        .insert(id.to_lowercase(), (row.line, id.to_string()))
    {
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
    Ok(Partner {
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
    })
}

/// How other inputs reference partners when not by partner_id (an import map's `partner_by`): each
/// value of the named partners.csv columns (a cell may list several, separated by `|`, as an
/// aliases column does) names its partner; matched exactly after trimming.
#[derive(Debug, Clone, Default)]
pub struct PartnerRefs {
    /// The partners.csv columns, as the import map names them.
    pub columns: Vec<String>,
    /// Reference → the partners (indices) it names, in partner_id order.
    index: std::collections::BTreeMap<String, Vec<usize>>,
}

impl PartnerRefs {
    fn new(
        partners: &PartnerSet,
        columns: &[String],
        references: Vec<(String, Vec<(usize, String)>)>,
    ) -> PartnerRefs {
        let mut index: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
        for (id, refs) in references {
            let Some(partner) = partners.find(&id) else {
                continue;
            };
            for (_, cell) in refs {
                for alternative in cell.split('|').map(str::trim).filter(|a| !a.is_empty()) {
                    let found = index.entry(alternative.to_string()).or_default();
                    if !found.contains(&partner) {
                        found.push(partner);
                    }
                }
            }
        }
        for found in index.values_mut() {
            found.sort_unstable();
        }
        PartnerRefs {
            columns: columns.to_vec(),
            index,
        }
    }

    /// The partner `reference` names, or why it names none or several: the closest references when
    /// unknown, both candidates when ambiguous.
    pub fn resolve(
        &self,
        partners: &PartnerSet,
        reference: &str,
    ) -> std::result::Result<usize, String> {
        let by = self
            .columns
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(" or ");
        match self.index.get(reference.trim()).map(Vec::as_slice) {
            Some([one]) => Ok(*one),
            Some(several) => {
                let named: Vec<String> = several
                    .iter()
                    .map(|&i| {
                        let p = &partners.partners[i];
                        format!("{} ({})", p.id, p.name)
                    })
                    .collect();
                Err(format!(
                    "ambiguous partner reference: partners.csv's {by} names {} partners with it: {}; make the references unique, or reference partners by another column (partner_by)",
                    several.len(),
                    named.join(" and ")
                ))
            }
            None => Err(format!(
                "unknown partner: no partner in partners.csv has it as its {by}{}",
                self.closest(partners, reference)
            )),
        }
    }

    /// `; closest: `Fjord Distribution AS` (P006), …` — the references within a few edits of
    /// `reference` (ignoring case), nearest first; nothing when none is close.
    fn closest(&self, partners: &PartnerSet, reference: &str) -> String {
        let wanted = reference.trim().to_lowercase();
        let mut near: Vec<(usize, &str, usize)> = self
            .index
            .iter()
            .map(|(r, found)| {
                (
                    strsim::levenshtein(&wanted, &r.to_lowercase()),
                    r.as_str(),
                    found[0],
                )
            })
            .filter(|(d, r, _)| *d <= (r.chars().count().max(wanted.chars().count()) / 3).max(2))
            .collect();
        near.sort_unstable();
        let shown: Vec<String> = near
            .iter()
            .take(3)
            .map(|(_, r, i)| format!("`{r}` ({})", partners.partners[*i].id))
            .collect();
        if shown.is_empty() {
            String::new()
        } else {
            format!("; closest: {}", shown.join(", "))
        }
    }
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
