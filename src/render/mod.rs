//! The documents people read, rendered from a batch: each partner's statement (HTML and CSV) and
//! the batch's index.html. Pages are maud templates (every text from the inputs escaped); the words
//! they use (money, labels, notes) are in `words`, a rule's terms in `terms`, file names in `names`.

pub mod batch;
pub mod index;
pub mod names;
mod page;
pub mod statement;
mod style;
pub mod terms;
pub mod words;

pub use words::display_money;

use crate::error::{Error, Result};
use batch::{Batch, PartnerDoc};
use rayon::prelude::*;
use std::io::Write;
use std::path::Path;

/// The statement formats (`--format html,csv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    Csv,
    Html,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Html => "html",
        }
    }

    pub fn parse(text: &str) -> Option<Format> {
        match text {
            "csv" => Some(Format::Csv),
            "html" => Some(Format::Html),
            _ => None,
        }
    }
}

/// Which statements to render: every partner of the batch or the ones named, in which formats.
#[derive(Debug, Clone)]
pub struct Selection {
    /// `--partner`: none means every partner in payouts.csv.
    pub partners: Vec<String>,
    pub formats: Vec<Format>,
}

impl Default for Selection {
    fn default() -> Self {
        Selection {
            partners: Vec::new(),
            formats: vec![Format::Csv, Format::Html],
        }
    }
}

/// The file that says which batch a statements folder was rendered from (and marks the folder as
/// payline's, so `--force` replaces it and nothing else).
pub const STATEMENTS_MANIFEST: &str = "statements.json";

/// How many statements were written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rendered {
    pub partners: usize,
    pub files: usize,
}

/// Renders the selected statements of a verified batch into the empty folder `dir`: `STEM.csv` and `STEM.html` per partner (`names::statement_stem`), then statements.json.
/// Every core renders at once; the bytes depend only on the batch, never on the order or the number
/// of threads, so rendering again gives identical files.
pub fn render_statements(batch: &Batch, selection: &Selection, dir: &Path) -> Result<Rendered> {
    let partners = selected(batch, &selection.partners)?;
    let mut formats = selection.formats.clone();
    formats.sort();
    formats.dedup();
    partners
        .par_iter()
        .with_min_len(32)
        .map(|partner| write_statement(batch, partner, &formats, dir))
        .collect::<Vec<Result<()>>>()
        .into_iter()
        .collect::<Result<()>>()?;
    let manifest = serde_json::json!({
        "tool": "payline",
        "version": env!("CARGO_PKG_VERSION"),
        "program_id": batch.program_id,
        "period": batch.period,
        "batch_manifest_sha256": batch.manifest_sha256,
        "formats": formats.iter().map(|f| f.name()).collect::<Vec<_>>(),
        "statements": partners.len(),
    });
    let mut text =
        serde_json::to_string_pretty(&manifest).expect("the statements manifest serializes");
    text.push('\n');
    write_file(&dir.join(STATEMENTS_MANIFEST), text.as_bytes())?;
    Ok(Rendered {
        partners: partners.len(),
        files: partners.len() * formats.len() + 1,
    })
}

/// The partners to render, in payouts.csv order; an id the batch does not have is an error naming
/// every such id.
fn selected<'b>(batch: &'b Batch, ids: &[String]) -> Result<Vec<&'b PartnerDoc>> {
    if ids.is_empty() {
        return Ok(batch.partners.iter().collect());
    }
    let missing: Vec<&str> = ids
        .iter()
        .filter(|id| !batch.partners.iter().any(|p| &p.id == *id))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(Error::Calculation(format!(
            "--partner {}: not in this batch's payouts.csv (a partner with nothing earned or carried has no statement)",
            missing.join(", ")
        )));
    }
    Ok(batch
        .partners
        .iter()
        .filter(|p| ids.contains(&p.id))
        .collect())
}

fn write_statement(
    batch: &Batch,
    partner: &PartnerDoc,
    formats: &[Format],
    dir: &Path,
) -> Result<()> {
    let stem = names::statement_stem(&partner.id);
    for format in formats {
        let bytes = match format {
            Format::Csv => statement::statement_csv(batch, partner),
            Format::Html => statement::statement_html(batch, partner).into_bytes(),
        };
        write_file(&dir.join(format!("{stem}.{}", format.name())), &bytes)?;
    }
    Ok(())
}

/// Creates a new file (never over anything already there) holding `bytes`.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = std::fs::File::create_new(path).map_err(|e| Error::io("create", path, e))?;
    file.write_all(bytes)
        .map_err(|e| Error::io("write", path, e))
}

/// `payline statements BATCH_DIR`: verifies the batch, then renders the selected statements into
/// `out` (default `BATCH_DIR/statements`, the folder index.html links to), all or nothing and with
/// every `--out` safety rule of `run` (SPEC §7). The batch's files and manifest are only read.
/// Returns the folder written and what was rendered.
pub fn statements(
    batch_dir: &Path,
    selection: &Selection,
    out: Option<&Path>,
    force: bool,
    old: &crate::output::OldBatch,
) -> Result<(std::path::PathBuf, Rendered)> {
    let out = out.map_or_else(|| batch_dir.join(index::STATEMENTS_DIR), Path::to_path_buf);
    // The batch's own files are inputs: --out may not be, contain or lie inside any of them.
    let mut protected = vec![batch_dir.join("manifest.json")];
    if let Ok(text) = std::fs::read(batch_dir.join("manifest.json"))
        && let Ok(manifest) = serde_json::from_slice::<serde_json::Value>(&text)
        && let Some(outputs) = manifest["outputs"].as_object()
    {
        protected.extend(outputs.keys().map(|name| batch_dir.join(name)));
    }
    let protected: Vec<&Path> = protected.iter().map(std::path::PathBuf::as_path).collect();
    let batch = batch::read_batch(batch_dir)?;
    let out_dir = crate::output::OutDir::acquire_for(
        &out,
        force,
        &protected,
        crate::output::Replaceable::Statements {
            program_id: &batch.program_id,
            period: &batch.period,
        },
    )?;
    let mut rendered = None;
    out_dir.commit(old, |dir| {
        rendered = Some(render_statements(&batch, selection, dir)?);
        Ok(())
    })?;
    Ok((out, rendered.expect("set when the commit succeeds")))
}
