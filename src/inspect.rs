//! `payline inspect`: one input read through its import map without running anything, so an analyst
//! can build a map in minutes: how the file is read (encoding, delimiter, header line), how each of
//! payline's columns is found, the rows kept and skipped (per reason) and the trailer, every value
//! of each choice column with what it becomes, the first rows as payline reads them, and every
//! problem a run would refuse the file for.

use crate::error::{Error, Result};
use crate::input::import::{self, InputMap, Report};
use crate::input::{PartnerRefs, PartnerSet};
use crate::output::plain_table;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What to inspect.
#[derive(Debug, Clone)]
pub struct Request {
    pub input: &'static str,
    pub file: PathBuf,
    pub map: Option<PathBuf>,
    pub partners: Option<PathBuf>,
    /// The program currency amounts are checked against (empty: not checked).
    pub currency: String,
    pub delimiter: Option<u8>,
    pub rows: usize,
}

#[derive(Debug, Serialize)]
pub struct Inspection {
    pub report: Report,
    /// Where partner references were checked (`None`: not checked, no partners.csv).
    pub partners: Option<String>,
    /// Every problem a run refuses the file for (the first 50), as JSON error objects.
    pub problems: Vec<serde_json::Value>,
    #[serde(skip)]
    problem_text: Vec<String>,
    pub more_problems: u64,
}

impl Inspection {
    /// Whether a run would read the file as shown.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty() && self.more_problems == 0
    }
}

/// The map of `req.input`: from `req.map` (its table for the input), or payline's own format.
fn input_map(req: &Request) -> Result<InputMap> {
    match &req.map {
        Some(path) => {
            let maps = import::load_map(path, None)?;
            maps.into_iter()
                .find(|m| m.input == req.input)
                .ok_or_else(|| {
                    Error::Refused(format!("{} has no [{}] table", path.display(), req.input))
                })
        }
        None => Ok(InputMap::own_format(req.input)),
    }
}

fn partners(req: &Request, map: &InputMap) -> Result<Option<(PartnerSet, PartnerRefs)>> {
    let Some(path) = &req.partners else {
        return Ok(None);
    };
    let currency = if req.currency.is_empty() {
        "USD"
    } else {
        &req.currency
    };
    let dialect = crate::input::Dialect {
        input: "partners",
        ..crate::input::Dialect::default()
    };
    let (set, _, refs) =
        crate::input::load_partners_with(path, currency, &dialect, &map.partner_by)?;
    Ok(Some((set, refs)))
}

/// Reads the file through its map, collecting every problem instead of stopping at them.
pub fn inspect(req: &Request) -> Result<Inspection> {
    let map = input_map(req)?;
    let partners = partners(req, &map)?;
    let cx = import::Context {
        input: req.input,
        required: crate::input::required_columns(req.input),
        program_currency: &req.currency,
        partners: partners.as_ref().map(|(p, r)| (p, r)),
        delimiter: req.delimiter,
        carry: &[],
        sample: req.rows,
    };
    let label = req.file.display().to_string();
    let imported = import::import(&req.file, &label, &map, &cx)?;
    let (errors, more) = match imported.errors.finish() {
        Ok(()) => (Vec::new(), 0),
        Err(Error::Rows { errors, more }) => (errors, more),
        Err(e) => (vec![e], 0),
    };
    Ok(Inspection {
        report: imported.report,
        partners: req.partners.as_deref().map(|p| p.display().to_string()),
        problems: errors
            .iter()
            .map(|e| e.to_json()["error"].clone())
            .collect(),
        problem_text: errors.iter().map(Error::to_string).collect(),
        more_problems: more,
    })
}

impl Inspection {
    /// The report for people.
    pub fn render(&self) -> String {
        let r = &self.report;
        let mut out = format!("{}: {}\n", r.input, r.file);
        out.push_str(&format!("  read with   {}\n", r.import_map));
        out.push_str(&format!("  encoding    {}\n", r.encoding));
        out.push_str(&format!(
            "  delimiter   {} ({})\n",
            r.delimiter, r.delimiter_found
        ));
        out.push_str(&format!("  header      line {}\n", r.header_line));
        if !r.partners_by.is_empty() {
            let by = r.partners_by.join(", ");
            out.push_str(&match &self.partners {
                Some(p) => format!("  partners    by {by}, checked against {p}\n"),
                None => format!("  partners    by {by} (not checked: give --partners)\n"),
            });
        }
        out.push_str(&self.columns());
        out.push_str(&self.rows());
        out.push_str(&self.values());
        out.push_str(&self.sample());
        out.push_str(&self.problems());
        out
    }

    fn columns(&self) -> String {
        let r = &self.report;
        let mut t = plain_table(vec!["payline column", "export header", "found", "values"]);
        for c in &r.columns {
            t.add_row(vec![
                c.column.clone(),
                c.header.clone().unwrap_or_else(|| "-".into()),
                c.found.to_string(),
                if c.values_mapped { "mapped" } else { "" }.to_string(),
            ]);
        }
        let mut out = format!("\nColumns\n{t}\n");
        if !r.unused_headers.is_empty() {
            out.push_str(&format!(
                "Export columns not read: {}\n",
                r.unused_headers.join(", ")
            ));
        }
        out
    }

    fn rows(&self) -> String {
        let r = &self.report;
        let mut out = format!(
            "\nRows: {} data rows: {} kept, {} skipped by filters, {} refused\n",
            r.rows,
            r.kept,
            r.skipped_rows(),
            r.rows.saturating_sub(r.kept + r.skipped_rows())
        );
        if !r.skipped.is_empty() {
            let mut t = plain_table(vec!["skipped because", "rows", "first on line", "values"]);
            for s in &r.skipped {
                t.add_row(vec![
                    s.reason.clone(),
                    s.rows.to_string(),
                    s.first_line.to_string(),
                    s.described(),
                ]);
            }
            out.push_str(&format!("{t}\n"));
        }
        for w in r.filter_warnings() {
            out.push_str(&format!("Warning: {w}\n"));
        }
        if r.blank > 0 {
            out.push_str(&format!("Rows of empty cells skipped: {}\n", r.blank));
        }
        if let Some((line, what)) = &r.trailer {
            out.push_str(&format!("Trailer from line {line}: {what}, skipped\n"));
        }
        out
    }

    fn values(&self) -> String {
        let r = &self.report;
        if r.values.is_empty() {
            return String::new();
        }
        let mut t = plain_table(vec!["column", "export value", "rows", "payline value"]);
        for (column, values) in &r.values {
            for v in values {
                t.add_row(vec![
                    column.clone(),
                    if v.value.is_empty() {
                        "(empty)".to_string()
                    } else {
                        v.value.clone()
                    },
                    v.rows.to_string(),
                    v.mapped
                        .clone()
                        .unwrap_or_else(|| "NOT MAPPED (refused)".into()),
                ]);
            }
        }
        format!("\nValues of choice columns (kept rows)\n{t}\n")
    }

    fn sample(&self) -> String {
        let r = &self.report;
        if r.sample.is_empty() {
            return String::new();
        }
        let mut header = vec!["line".to_string()];
        header.extend(r.sample_header.iter().cloned());
        let mut t = plain_table(header.iter().map(String::as_str).collect());
        for (line, cells) in &r.sample {
            let mut row = vec![line.to_string()];
            row.extend(cells.iter().cloned());
            t.add_row(row);
        }
        format!(
            "\nFirst {} rows as payline reads them\n{t}\n",
            r.sample.len()
        )
    }

    fn problems(&self) -> String {
        if self.is_clean() {
            return "\nNo problems: a run reads this file as shown (the loader also checks ids, partners and shares).\n".to_string();
        }
        let mut out = String::from("\nProblems (a run refuses the file):\n");
        for p in &self.problem_text {
            out.push_str(p);
            out.push('\n');
        }
        if self.more_problems > 0 {
            out.push_str(&format!("… and {} more\n", self.more_problems));
        }
        out
    }
}

/// The file and map of an input of the workspace, when not given.
pub fn from_workspace(
    ws: &crate::workspace::Workspace,
    input: &str,
    period: Option<&crate::model::period::Period>,
) -> (Option<PathBuf>, Option<PathBuf>) {
    match ws.inputs.get(input) {
        Some(entry) => {
            let file = match period {
                Some(p) => entry.file.replace("{period}", &p.to_string()),
                None => entry.file.clone(),
            };
            (Some(Path::new(&file).to_path_buf()), entry.import.clone())
        }
        None => (None, None),
    }
}
