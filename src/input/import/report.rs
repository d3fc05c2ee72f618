//! What an import did, for `payline inspect` and the run summary: how the file was read (encoding,
//! delimiter, header line), how each of payline's columns was found, the rows kept and skipped (per
//! reason), the trailer, the values of each choice column with what they became, and the first rows
//! as payline reads them.

use super::encoding::Decoded;
use super::map::InputMap;
use crate::error::{Error, Warning, WarningCode};
use crate::input::FnvBuild;
use crate::input::header::Header;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// How one of payline's columns was found in the export.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnUse {
    pub column: String,
    /// The export's header, when the file has the column.
    pub header: Option<String>,
    /// `mapped` (named by the import map), `exact`, `loose` (matched ignoring case, spaces and
    /// punctuation), or `absent`.
    pub found: &'static str,
    /// Whether the map translates its values.
    pub values_mapped: bool,
}

/// Rows a filter skipped, by its reason, with the values of the filter's column they held.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Skipped {
    pub reason: String,
    /// The export's header the filter reads.
    pub column: String,
    pub rows: u64,
    pub first_line: u64,
    /// Each distinct value skipped: (value, rows, first line), in first-seen order (at most
    /// [`MAX_VALUES`]).
    pub values: Vec<(String, u64, u64)>,
    /// `values`' positions by value (a filter on a column of many values, a partner name).
    #[serde(skip)]
    index: HashMap<String, usize, FnvBuild>,
}

impl Skipped {
    /// `` `Closed Lost` (2 rows), `Prospecting` (1 row) ``: what was skipped, the most rows first.
    pub fn described(&self) -> String {
        let distinct: Vec<crate::input::stages::Distinct> = (self.values.iter())
            .map(|(value, rows, first_line)| crate::input::stages::Distinct {
                value: value.clone(),
                rows: *rows,
                first_line: *first_line,
            })
            .collect();
        crate::input::stages::describe_values(&distinct)
    }
}

/// Rows an import map's filters skipped, per input and reason: in the run summary and its JSON.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SkippedRows {
    pub input: String,
    pub reason: String,
    pub rows: u64,
    /// The values of the filter's column the skipped rows held (`` `Closed Lost` (2 rows) ``).
    pub values: String,
}

/// One value of a choice column: how many kept rows hold it and what it became.
#[derive(Debug, Clone, Serialize)]
pub struct ValueUse {
    pub value: String,
    pub rows: u64,
    pub first_line: u64,
    /// The payline value; `None` when no map covers it (the run refuses it).
    pub mapped: Option<String>,
}

/// How many distinct values of one column the report keeps.
const MAX_VALUES: usize = 1000;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub input: &'static str,
    pub file: String,
    pub import_map: String,
    pub encoding: String,
    pub delimiter: String,
    pub delimiter_found: &'static str,
    pub header_line: u64,
    pub columns: Vec<ColumnUse>,
    /// Export headers no column and no filter reads.
    pub unused_headers: Vec<String>,
    pub partners_by: Vec<String>,
    /// Data rows (blank rows and the trailer aside), those kept and those skipped by filters.
    pub rows: u64,
    pub kept: u64,
    pub skipped: Vec<Skipped>,
    pub blank: u64,
    /// The report's trailer, skipped: (its first row's line, what it holds).
    pub trailer: Option<(u64, String)>,
    /// Per choice column (payline's name): its values in the kept rows.
    pub values: BTreeMap<String, Vec<ValueUse>>,
    /// The first kept rows as payline reads them: (line, cells in `sample_header`'s order).
    pub sample_header: Vec<String>,
    pub sample: Vec<(u64, Vec<String>)>,
    #[serde(skip)]
    pub loose: Vec<(String, String)>,
    #[serde(skip)]
    value_index: HashMap<String, HashMap<String, usize, FnvBuild>, FnvBuild>,
}

impl Report {
    pub fn new(
        file: &str,
        decoded: &Decoded,
        delimiter: u8,
        delimiter_found: &'static str,
        header_line: u64,
        map: &InputMap,
    ) -> Report {
        Report {
            input: map.input,
            file: file.to_string(),
            import_map: map.label.clone(),
            encoding: format!("{} ({})", decoded.encoding.name(), decoded.how),
            delimiter: match delimiter {
                b'\t' => "tab".to_string(),
                d => char::from(d).to_string(),
            },
            delimiter_found,
            header_line,
            columns: Vec::new(),
            unused_headers: Vec::new(),
            partners_by: map.partner_by.clone(),
            rows: 0,
            kept: 0,
            skipped: Vec::new(),
            blank: 0,
            trailer: None,
            values: BTreeMap::new(),
            sample_header: Vec::new(),
            sample: Vec::new(),
            loose: Vec::new(),
            value_index: HashMap::default(),
        }
    }

    /// Records how each column was found: `columns` is (payline's column, its field, whether its
    /// values are mapped); `filtered` the headers filters read.
    pub fn describe_columns(
        &mut self,
        header: &Header,
        columns: &[(String, Option<usize>, bool)],
        filtered: &[String],
    ) {
        let mapped: Vec<&str> = header
            .loose
            .iter()
            .map(|(_, column)| column.as_str())
            .collect();
        let mut used = vec![false; header.names.len()];
        for (column, field, values_mapped) in columns {
            let found = match field {
                None => "absent",
                Some(i) if header.names[*i] == *column => "exact",
                Some(_) if mapped.contains(&column.as_str()) => "loose",
                Some(_) => "mapped",
            };
            if let Some(i) = field {
                used[*i] = true;
            }
            self.columns.push(ColumnUse {
                column: column.clone(),
                header: field.map(|i| header.names[i].clone()),
                found,
                values_mapped: *values_mapped,
            });
        }
        self.unused_headers = header
            .names
            .iter()
            .zip(used)
            .filter(|(name, used)| !used && !filtered.contains(name))
            .map(|(name, _)| name.clone())
            .collect();
    }

    /// Counts a row the filter on `column` skipped under `reason`, and the `value` it held there.
    pub fn skip(&mut self, (reason, column): (&str, &str), value: &str, line: u64) {
        let at = match self.skipped.iter().position(|s| s.reason == reason) {
            Some(at) => at,
            None => {
                self.skipped.push(Skipped {
                    reason: reason.to_string(),
                    column: column.to_string(),
                    rows: 0,
                    first_line: line,
                    values: Vec::new(),
                    index: HashMap::default(),
                });
                self.skipped.len() - 1
            }
        };
        let skipped = &mut self.skipped[at];
        skipped.rows += 1;
        match skipped.index.get(value) {
            Some(&i) => skipped.values[i].1 += 1,
            None if skipped.values.len() < MAX_VALUES => {
                skipped
                    .index
                    .insert(value.to_string(), skipped.values.len());
                skipped.values.push((value.to_string(), 1, line));
            }
            None => {}
        }
    }

    /// Counts a value of a choice column and what it became.
    pub fn value(&mut self, column: &str, value: &str, mapped: Option<&str>, line: u64) {
        if !self.value_index.contains_key(column) {
            self.value_index
                .insert(column.to_string(), HashMap::default());
            self.values.insert(column.to_string(), Vec::new());
        }
        let (Some(index), Some(values)) = (
            self.value_index.get_mut(column),
            self.values.get_mut(column),
        ) else {
            return;
        };
        match index.get(value) {
            Some(&i) => values[i].rows += 1,
            None if values.len() < MAX_VALUES => {
                index.insert(value.to_string(), values.len());
                values.push(ValueUse {
                    value: value.to_string(),
                    rows: 1,
                    first_line: line,
                    mapped: mapped.map(str::to_string),
                });
            }
            None => {}
        }
    }

    /// What an import map's filters skipped that may have been meant to count: a deal whose stage
    /// reads as won (a new stage the map's `keep` does not list yet), and every row of a file (a
    /// misspelled `keep` value). A filter is the user's own word, so these warn rather than refuse.
    pub fn filter_warnings(&self) -> Vec<Warning> {
        let mut warnings = Vec::new();
        for s in &self.skipped {
            let won: Vec<&(String, u64, u64)> = (s.values.iter())
                .filter(|(v, ..)| {
                    self.input == "deals"
                        && crate::input::stages::suggested_status(v) == Some("won")
                })
                .collect();
            for (value, rows, line) in won {
                warnings.push(Warning::new(
                        WarningCode::FilterSkippedWon,
                        format!(
                            "{}: the import map's filter \"{}\" skipped {rows} row{} whose {} is \"{value}\" (first on line {line}), which reads like a won deal; if it is one, add it to the filter's `keep` (and to the status values)",
                            self.file,
                            s.reason,
                            if *rows == 1 { "" } else { "s" },
                            s.column
                        ),
                    ));
            }
        }
        if self.kept == 0 && !self.skipped.is_empty() {
            let what: Vec<String> = (self.skipped.iter())
                .map(|s| format!("\"{}\" {} rows: {}", s.reason, s.rows, s.described()))
                .collect();
            warnings.push(Warning::new(
                    WarningCode::FilterSkippedAll,
                    format!(
                        "{}: the import map's filters skipped every row ({}); is a `keep` value misspelled?",
                        self.file,
                        what.join("; ")
                    ),
                ));
        }
        warnings
    }

    /// Rows skipped by filters, in all.
    pub fn skipped_rows(&self) -> u64 {
        self.skipped.iter().map(|s| s.rows).sum()
    }
}

/// The refusal of a column's values that no map covers: each value with its rows, and the map
/// lines that would read them or skip their rows.
pub fn unmapped_error(
    file: &str,
    input: &str,
    column: &str,
    header: &str,
    vocabulary: Option<&[&str]>,
    has_map: bool,
    values: &[(String, u64, u64)],
) -> Error {
    use crate::input::stages::toml_string;
    let rows: u64 = values.iter().map(|v| v.1).sum();
    let first = values.iter().map(|v| v.2).min().unwrap_or(0);
    let listed: Vec<String> = values
        .iter()
        .take(25)
        .map(|(v, n, line)| {
            let s = if *n == 1 { "" } else { "s" };
            let shown = match v.is_empty() {
                true => "(empty)".to_string(),
                false => format!("`{v}`"),
            };
            format!("{shown} ({n} row{s}, first on line {line})")
        })
        .collect();
    let more = values.len().saturating_sub(25);
    let targets = match (vocabulary, column) {
        (Some(words), _) => words.join(", "),
        (None, "currency") => "an ISO 4217 code".to_string(),
        (None, _) => format!("the {column} your program's rules name"),
    };
    let n = values.len();
    let what = match (has_map, vocabulary, n) {
        (true, _, _) => "no line of the import map covers".to_string(),
        (false, Some(words), 1) => format!("is not payline's ({})", words.join(", ")),
        (false, Some(words), _) => format!("are not payline's ({})", words.join(", ")),
        (false, None, 1) => "is not an ISO 4217 code".to_string(),
        (false, None, _) => "are not ISO 4217 codes".to_string(),
    };
    let mut lines = format!("[{input}.values.{column}]\n");
    for (value, ..) in values.iter().take(25) {
        let suggestion = match column {
            "status" if input == "deals" => crate::input::stages::suggested_status(value),
            _ => None,
        };
        lines.push_str(&format!(
            "    {} = \"{}\"\n",
            toml_string(value),
            suggestion.unwrap_or("…")
        ));
    }
    let skipped: Vec<String> = values.iter().take(25).map(|v| toml_string(&v.0)).collect();
    Error::Input {
        file: file.to_string(),
        line: first,
        column: header.to_string(),
        value: values
            .iter()
            .take(25)
            .map(|v| v.0.clone())
            .collect::<Vec<_>>()
            .join(", "),
        message: format!(
            "{n} value{} of this column (payline's `{column}`) {what}, on {rows} row{}: {}{}. A value is never defaulted: read each as {targets} in the import map:\n    {lines}  or skip their rows:\n    [[{input}.filter]]\n    column = {}\n    skip = [{}]",
            if n == 1 { "" } else { "s" },
            if rows == 1 { "" } else { "s" },
            listed.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            },
            toml_string(header),
            skipped.join(", ")
        ),
    }
}
