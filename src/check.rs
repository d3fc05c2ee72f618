//! `payline check`: validate and lint program definitions, with no data needed.

use crate::error::{Diagnostic, Error, Result, Severity};
use crate::input::load_partners;
use crate::program::{self, LintContext};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Serialize)]
pub struct FileReport {
    pub file: String,
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
}

#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub files: Vec<FileReport>,
    pub errors: usize,
    pub warnings: usize,
}

impl CheckReport {
    /// Every diagnostic, rendered with its caret excerpt, and a closing count.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            for d in f.errors.iter().chain(&f.warnings) {
                out.push_str(&d.render());
                out.push_str("\n\n");
            }
            if f.errors.is_empty() && f.warnings.is_empty() {
                out.push_str(&format!("{}: ok\n", f.file));
            }
        }
        out.push_str(&format!(
            "{} file(s) checked: {} error(s), {} warning(s)\n",
            self.files.len(),
            self.errors,
            self.warnings
        ));
        out
    }
}

pub fn check(paths: &[PathBuf], partners: Option<&Path>) -> Result<CheckReport> {
    let mut ctx = LintContext::default();
    if let Some(p) = partners {
        let (set, _) = load_partners(p, "USD")?;
        ctx.partner_types = Some(
            set.partners
                .iter()
                .map(|p| p.partner_type.clone())
                .collect(),
        );
        ctx.regions = Some(
            set.partners
                .iter()
                .filter_map(|p| p.region.clone())
                .collect(),
        );
        ctx.levels = Some(
            set.partners
                .iter()
                .filter_map(|p| p.level.clone())
                .collect(),
        );
    }
    let mut files = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
        let label = path.display().to_string();
        let (parsed, mut diags) = program::parse(&label, &text);
        if let Some(p) = &parsed {
            diags.extend(program::lint(p, &text, &ctx));
        }
        diags.sort_by_key(|d| (d.line, d.column));
        let (errors, warnings): (Vec<_>, Vec<_>) = diags
            .into_iter()
            .partition(|d| d.severity == Severity::Error);
        files.push(FileReport {
            file: label,
            errors,
            warnings,
        });
    }
    let errors = files.iter().map(|f| f.errors.len()).sum();
    let warnings = files.iter().map(|f| f.warnings.len()).sum();
    Ok(CheckReport {
        files,
        errors,
        warnings,
    })
}
