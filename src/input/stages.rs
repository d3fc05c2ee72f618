//! "Never a silent wrong row": an export column that looks like a deal stage or status, or like the
//! currency or split share of a row, which payline does not read, is refused with its distinct
//! values and the import-map lines that read it. The values are read by a second look at the file:
//! on the error path for a stage; for a currency or split, whenever such an unread column is there
//! (its values decide whether it is one).

use super::header::HeaderSpec;
use crate::error::{Error, Result};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::Path;

/// One distinct value of a column: how many rows hold it and the first one's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distinct {
    pub value: String,
    pub rows: u64,
    pub first_line: u64,
}

/// How many distinct values a message lists.
const SHOWN: usize = 25;

/// The distinct values (trimmed) of each of `fields`, by value, of a UTF-8 CSV whose header follows
/// `skip_lines` lines, up to byte `end` (the file's trailer). Rows of empty cells are not counted.
pub fn distinct_values(
    path: &Path,
    delimiter: u8,
    skip_lines: u64,
    fields: &[usize],
    end: Option<u64>,
) -> Result<Vec<Vec<Distinct>>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io("read", path, e))?;
    let mut reader = std::io::BufReader::new(file);
    let skipped = super::csvfile::skip_lines(&mut reader, skip_lines, path)?;
    let tracker = super::csvfile::LineTracker::starting_at(reader, skip_lines + 1);
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(tracker);
    let mut found: Vec<BTreeMap<String, (u64, u64)>> = vec![BTreeMap::new(); fields.len()];
    let mut record = csv::ByteRecord::new();
    while csv.read_byte_record(&mut record).unwrap_or(false) {
        if record.iter().all(super::csvfile::is_blank_cell) {
            continue;
        }
        let start = record.position().map_or(0, |p| p.byte());
        let line = csv.get_mut().line_of(start);
        if end.is_some_and(|end| skipped + csv.get_ref().counted_offset >= end) {
            break;
        }
        for (values, &field) in found.iter_mut().zip(fields) {
            let cell = record.get(field).unwrap_or_default();
            let value = String::from_utf8_lossy(cell).trim().to_string();
            let entry = values.entry(value).or_insert((0, line));
            entry.0 += 1;
        }
    }
    Ok(found
        .into_iter()
        .map(|values| {
            values
                .into_iter()
                .map(|(value, (rows, first_line))| Distinct {
                    value,
                    rows,
                    first_line,
                })
                .collect()
        })
        .collect())
}

/// `` `Closed Won` (11 rows), `Closed Lost` (2 rows) ``, the most frequent first, at most [`SHOWN`].
pub fn describe_values(values: &[Distinct]) -> String {
    let mut sorted: Vec<&Distinct> = values.iter().collect();
    sorted.sort_by(|a, b| b.rows.cmp(&a.rows).then(a.value.cmp(&b.value)));
    let mut parts: Vec<String> = sorted
        .iter()
        .take(SHOWN)
        .map(|d| {
            let shown = if d.value.is_empty() {
                "(empty)".to_string()
            } else {
                format!("`{}`", d.value)
            };
            format!(
                "{shown} ({} row{})",
                d.rows,
                if d.rows == 1 { "" } else { "s" }
            )
        })
        .collect();
    if sorted.len() > SHOWN {
        parts.push(format!("and {} more values", sorted.len() - SHOWN));
    }
    parts.join(", ")
}

/// A TOML string: quoted, with `"` and `\` escaped (a key or a value of an import map).
pub fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// The status a stage value most likely means, for a suggested map line: never applied, only shown.
pub fn suggested_status(value: &str) -> Option<&'static str> {
    let key = super::header::header_key(value).replace('_', "");
    if key.contains("refund") {
        Some("refunded")
    } else if key.contains("cancel") {
        Some("cancelled")
    } else if key.contains("won") && !key.contains("lost") && !key.contains("not") {
        Some("won")
    } else {
        None
    }
}

/// The refusal of stage-like columns (`fields`) that payline would not read: for each, its values
/// and the import-map lines that read it (deals, partners) or keep only some rows (other inputs).
pub fn stage_error(
    path: &Path,
    spec: &HeaderSpec,
    (skip_lines, end): (u64, Option<u64>),
    names: &[String],
    fields: &[usize],
) -> Error {
    let values = match distinct_values(path, spec.delimiter, skip_lines, fields, end) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let has_status = super::csvfile::INPUT_COLUMNS
        .iter()
        .any(|(i, columns)| *i == spec.input && columns.contains(&"status"));
    let input = spec.input;
    let mut parts = Vec::new();
    for (&field, values) in fields.iter().zip(&values) {
        let name = &names[field];
        // One column is named by the error itself; several each by their part.
        let subject = if fields.len() == 1 {
            String::new()
        } else {
            format!("`{name}` ")
        };
        let quoted = toml_string(name);
        let described = describe_values(values);
        if has_status {
            let won: Vec<&Distinct> = values
                .iter()
                .filter(|d| input == "deals" && suggested_status(&d.value).is_some())
                .collect();
            let mut lines = format!("[{input}.columns]\n    status = {quoted}\n");
            if input == "deals" {
                lines.push_str(&format!("    [{input}.values.status]\n"));
                for d in &won {
                    lines.push_str(&format!(
                        "    {} = \"{}\"\n",
                        toml_string(&d.value),
                        suggested_status(&d.value).unwrap_or("won")
                    ));
                }
                if won.is_empty() {
                    lines.push_str("    \"<the won value>\" = \"won\"\n");
                }
                let keep: Vec<String> = won.iter().map(|d| toml_string(&d.value)).collect();
                lines.push_str(&format!(
                    "    [[{input}.filter]]\n    column = {quoted}\n    keep = [{}]\n    reason = \"not won\"",
                    keep.join(", ")
                ));
            }
            parts.push(format!(
                "{subject}looks like a stage or status, but payline's `status` is not read from this file, so every row would count as {}; its values: {described}. Read it with an import map (--import {input}=MAP.toml), e.g.:\n    {lines}\n  or, if it does not say whether the row counts, list it in `ignore_columns`",
                if input == "deals" { "a won deal" } else { "active" }
            ));
        } else {
            parts.push(format!(
                "{subject}looks like a stage or status, but {input} rows have no status: every row would count; its values: {described}. Keep only the rows that count with a filter in an import map (--import {input}=MAP.toml), e.g.:\n    [[{input}.filter]]\n    column = {quoted}\n    keep = [\"…\"]\n  or, if it does not say whether the row counts, list it in `ignore_columns`"
            ));
        }
    }
    let columns: Vec<&str> = fields.iter().map(|&f| names[f].as_str()).collect();
    Error::Input {
        file: spec.file.to_string(),
        line: 1 + skip_lines,
        column: columns.join(", "),
        value: values
            .iter()
            .flat_map(|v| v.iter().take(SHOWN).map(|d| d.value.clone()))
            .collect::<Vec<_>>()
            .join(", "),
        message: parts.join("\n"),
    }
}

/// Refuses an export whose header has a column payline would not read but that decides whether a
/// row counts (a stage or status, [`stage_error`]) or what it is worth (a currency or split share
/// that is not read: [`money_column_error`]). `program_currency` is empty when unknown.
pub fn refuse_unread_deciders(
    path: &Path,
    spec: &HeaderSpec,
    lines: (u64, Option<u64>),
    header: &super::header::Header,
    (ignored, filtered, program_currency): (&[String], &[String], &str),
) -> Result<()> {
    let stages = super::header::unhandled_stages(header, spec.input, ignored, filtered);
    if !stages.is_empty() {
        return Err(stage_error(path, spec, lines, &header.names, &stages));
    }
    let named = super::header::unread_money_columns(header, spec.input, ignored);
    if named.is_empty() {
        return Ok(());
    }
    // A second look at the file, only when such a column is there: its values decide.
    let fields: Vec<usize> = named.iter().map(|(f, _)| *f).collect();
    let values = distinct_values(path, spec.delimiter, lines.0, &fields, lines.1)?;
    let deciding: Vec<Deciding> = (named.into_iter().zip(values))
        .filter(|((field, column), values)| {
            // `Revenue Split %` holding `50`: percentages written without the sign.
            let key = super::header::header_key(&header.names[*field]);
            let in_percent = header.names[*field].contains('%')
                || key
                    .split('_')
                    .any(|w| matches!(w, "percent" | "percentage" | "pct"));
            decides(column, values, (program_currency, in_percent))
        })
        .collect();
    match deciding.is_empty() {
        true => Ok(()),
        false => Err(money_column_error(spec, lines.0, &header.names, &deciding)),
    }
}

/// An unread column (its field, and the payline column it holds) with its values.
type Deciding = ((usize, &'static str), Vec<Distinct>);

/// Whether a column named like `column` decides money by its values: a currency code (any case)
/// or symbol other than the program's (`EUR` or `€` beside a USD program; not all `USD` or `$`),
/// or fractions other than a whole share (`50%`, `0.5`, bare `50` in a split column; not all
/// `100%`).
fn decides(
    column: &str,
    values: &[Distinct],
    (program_currency, in_percent): (&str, bool),
) -> bool {
    let filled = || {
        values
            .iter()
            .map(|d| d.value.as_str())
            .filter(|v| !v.is_empty())
    };
    let any = filled().next().is_some();
    match column {
        // A code (`EUR`, `eur`) or a symbol (`€`) of a currency other than the program's: the
        // rows are not all in it.
        "currency" => filled().any(|v| {
            let code = v.len() == 3 && v.bytes().all(|b| b.is_ascii_alphabetic());
            match code {
                true => !v.eq_ignore_ascii_case(program_currency),
                false => super::import::cells::currencies_of_symbol(v)
                    .is_some_and(|c| !c.contains(&program_currency)),
            }
        }),
        _ => {
            let whole = Decimal::ONE;
            // Whole percentages written bare (`50`, `100`) in a column named like a split.
            let bare = !in_percent
                && filled().all(|v| share_of(v, true).is_some_and(|n| n <= whole))
                && filled().any(|v| share_of(v, false).is_some_and(|n| n > whole));
            let share = |v: &str| share_of(v, in_percent || bare);
            any && filled().all(|v| share(v).is_some_and(|n| n >= Decimal::ZERO && n <= whole))
                && filled().any(|v| share(v) != Some(whole))
        }
    }
}

/// `50%` → 0.5, `0.5` → 0.5, `0,5` → 0.5, and `50` → 0.5 in a column of percentages; anything
/// else `None`.
fn share_of(cell: &str, in_percent: bool) -> Option<Decimal> {
    let (number, percent) = match cell.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (cell, in_percent),
    };
    let n: Decimal = number.replace(',', ".").parse().ok()?;
    Some(if percent { n / Decimal::ONE_HUNDRED } else { n })
}

/// The refusal of columns that hold a row's `currency` or `share` while payline reads none:
/// every amount would be taken in the program currency, or every row credited in full.
fn money_column_error(
    spec: &HeaderSpec,
    skip_lines: u64,
    names: &[String],
    deciding: &[Deciding],
) -> Error {
    let input = spec.input;
    let fields: Vec<usize> = deciding.iter().map(|((f, _), _)| *f).collect();
    let parts: Vec<String> = (deciding.iter())
        .map(|((field, column), values)| {
            let consequence = match *column {
                "currency" => "every amount would be read in the program currency",
                _ => "every row would be credited in full (share 1)",
            };
            let read = match (*column, input) {
                ("currency", "claims" | "adjustments") => {
                    format!("{input} are in the program currency: convert them first")
                }
                _ => format!(
                    "Read it with an import map (--import {input}=MAP.toml):\n    [{input}.columns]\n    {column} = {}\n ",
                    toml_string(&names[*field])
                ),
            };
            format!(
                "`{}` looks like the {column} of each row, but payline's `{column}` is not read from this file, so {consequence}; its values: {}. {read} or, if it is not the {column}, list it in `ignore_columns` of the map's [{input}] table",
                names[*field],
                describe_values(values),
            )
        })
        .collect();
    Error::Input {
        file: spec.file.to_string(),
        line: 1 + skip_lines,
        column: fields
            .iter()
            .map(|&f| names[f].as_str())
            .collect::<Vec<_>>()
            .join(", "),
        value: (deciding.iter())
            .flat_map(|(_, v)| v.iter().take(SHOWN).map(|d| d.value.clone()))
            .collect::<Vec<_>>()
            .join(", "),
        message: parts.join("\n"),
    }
}
