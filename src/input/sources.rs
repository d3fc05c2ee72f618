//! One input file as the user gave it, made ready for its loader: read through its import map into
//! payline's format (SPEC §2), or decoded when it is UTF-16, or read as it is. After the loader,
//! [`Prepared::finish`] puts the user's names back: the file's own path in every message and in the
//! manifest (with the SHA-256 of the file as given), the export's headers in the loader's errors, and
//! the map's rows refused beside the loader's, all in one list.

use super::import::{self, EncodingChoice, Imported, InputMap, Report};
use super::{Dialect, FileDigest, PartnerRefs, PartnerSet};
use crate::error::{Error, Result, RowErrors};
use std::path::{Path, PathBuf};

/// What an input needs to be prepared besides its file.
pub struct Setting<'a> {
    pub input: &'static str,
    pub required: &'a [&'a str],
    pub map: Option<&'a InputMap>,
    /// `--delimiter` for this input.
    pub delimiter: Option<u8>,
    pub program_currency: &'a str,
    pub partners: Option<(&'a PartnerSet, &'a PartnerRefs)>,
    /// partners.csv columns other inputs reference partners by.
    pub carry: &'a [String],
}

/// An input ready for its loader.
pub struct Prepared {
    pub input: &'static str,
    /// The file the loader reads.
    pub path: PathBuf,
    pub dialect: Dialect,
    /// The file as given, and its name in messages.
    original: PathBuf,
    label: String,
    imported: Option<Imported>,
    /// Whether `path` is a copy (decoded or imported): the manifest then hashes the original.
    copied: bool,
    _decoded: Option<tempfile::NamedTempFile>,
}

/// Refuses a spreadsheet workbook given where a CSV file belongs (`.xlsx` is a ZIP archive, `.xls`
/// an OLE compound file): read as text it is only a wrong encoding or a garbled header.
fn refuse_a_workbook(path: &Path, label: &str) -> Result<()> {
    use std::io::Read;
    let mut start = [0u8; 8];
    let read = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut start))
        .unwrap_or(0);
    let workbook = (read >= 4 && start[..4] == *b"PK\x03\x04")
        || (read == 8 && start == [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
    match workbook {
        true => Err(Error::Malformed {
            file: label.to_string(),
            line: 1,
            message: "this is a spreadsheet workbook (Excel .xlsx or .xls), not a CSV file: save the sheet as CSV (Excel: File › Save As › CSV UTF-8) and give that file".to_string(),
        }),
        false => Ok(()),
    }
}

/// Prepares `path` as `setting` says.
pub fn prepare(path: &Path, setting: &Setting) -> Result<Prepared> {
    let label = path.display().to_string();
    if std::fs::metadata(path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
        // Named with its option: `cannot read payments.csv` alone leaves the user to guess which.
        return Err(Error::MissingInput {
            input: setting.input,
            path: label,
        });
    }
    refuse_a_workbook(path, &label)?;
    let mut prepared = Prepared {
        input: setting.input,
        path: path.to_path_buf(),
        dialect: Dialect {
            input: setting.input,
            delimiter: setting.delimiter.unwrap_or(b','),
        },
        original: path.to_path_buf(),
        label: label.clone(),
        imported: None,
        copied: false,
        _decoded: None,
    };
    match setting.map {
        Some(map) => {
            let cx = import::Context {
                input: setting.input,
                required: setting.required,
                program_currency: setting.program_currency,
                partners: setting.partners,
                delimiter: setting.delimiter,
                carry: setting.carry,
                sample: 0,
            };
            let imported = import::import(path, &label, map, &cx)?;
            prepared.path = imported.path.clone();
            prepared.dialect.delimiter = b',';
            prepared.imported = Some(imported);
            prepared.copied = true;
        }
        None => {
            // UTF-16 (found by its byte-order mark) is decoded; anything else is read as UTF-8.
            let decoded = import::encoding::decode(path, &label, EncodingChoice::Auto)?;
            if let Some(copy) = decoded.copy {
                prepared.path = copy.path().to_path_buf();
                prepared.copied = true;
                prepared._decoded = Some(copy);
            }
        }
    }
    Ok(prepared)
}

impl Prepared {
    /// The import's report, when the input was read through a map.
    pub fn report(&self) -> Option<&Report> {
        self.imported.as_ref().map(|i| &i.report)
    }

    /// Whether the import map refused rows already (reported with the loader's by
    /// [`Prepared::finish`]).
    pub fn has_errors(&self) -> bool {
        self.imported.as_ref().is_some_and(|i| !i.errors.is_empty())
    }

    /// The loader's result in the user's terms: every bad row (the map's and the loader's) in one
    /// error naming the file as given and the export's headers; the digest of the file as given.
    pub fn finish<T>(
        mut self,
        loaded: Result<(T, FileDigest)>,
    ) -> Result<(T, FileDigest, Option<Report>)> {
        let copy = self.path.display().to_string();
        let mut errors = self
            .imported
            .as_mut()
            .map(|i| std::mem::take(&mut i.errors))
            .unwrap_or_default();
        let loaded = match loaded {
            Ok(loaded) if errors.is_empty() => Some(loaded),
            Ok(_) => None,
            Err(e @ (Error::Input { .. } | Error::Malformed { .. } | Error::Rows { .. })) => {
                errors.push(self.in_user_terms(e, &copy));
                None
            }
            Err(e) => return Err(e.with_file_named(&copy, &self.label)),
        };
        errors.finish()?;
        let Some((value, mut digest)) = loaded else {
            unreachable!("errors were reported above");
        };
        digest.path = self.label.clone();
        if self.copied {
            digest.sha256 = super::sha256_file(&self.original)?;
        }
        let report = self.imported.map(|i| {
            let mut report = i.report;
            digest.loose_headers = std::mem::take(&mut report.loose);
            digest.footer = report.trailer.clone();
            report
        });
        Ok((value, digest, report))
    }

    /// A loader's error about the copy, named as the user knows the file: its path, and for a copy
    /// made by an import map, the export's header of the column.
    fn in_user_terms(&self, error: Error, copy: &str) -> Error {
        let error = error.with_file_named(copy, &self.label);
        let Some(imported) = &self.imported else {
            return error;
        };
        let rename = |e: Error| match e {
            Error::Input {
                file,
                line,
                column,
                value,
                message,
            } => match imported.sources.iter().find(|(c, _)| *c == column) {
                Some((payline, header)) if header != payline => Error::Input {
                    file,
                    line,
                    column: header.clone(),
                    value,
                    message: format!("{message} (read as payline's `{payline}`)"),
                },
                _ => Error::Input {
                    file,
                    line,
                    column,
                    value,
                    message,
                },
            },
            other => other,
        };
        match error {
            Error::Rows { errors, more } => {
                let mut all = RowErrors::new();
                for e in errors {
                    all.push(rename(e));
                }
                all.count_more(more);
                match all.finish() {
                    Err(e) => e,
                    Ok(()) => unreachable!("a Rows error holds errors"),
                }
            }
            e => rename(e),
        }
    }
}
