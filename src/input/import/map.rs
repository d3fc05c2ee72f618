//! Import maps (SPEC §2): the reusable TOML file that says how a raw export is read into one of
//! payline's inputs. One table per input (`[deals]`, `[partners]` …); docs/REFERENCE.md "Import maps"
//! documents every key. Every problem of the file is reported at once, each at its line and column.

use super::super::csvfile::{INPUT_COLUMNS, parse_delimiter};
use crate::error::{Diagnostic, Error, Result, Severity};
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// How the file's bytes are text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodingChoice {
    /// A byte-order mark decides (UTF-8, UTF-16 LE or BE); without one, UTF-8 (checked).
    Auto,
    Declared(&'static encoding_rs::Encoding),
}

/// Rows kept or skipped by one column's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The export's header.
    pub column: String,
    /// `keep`: only rows holding one of `values` stay; otherwise rows holding one are skipped.
    pub keep: bool,
    pub values: Vec<String>,
    /// Counted under this name in the summary.
    pub reason: String,
}

/// The import map of one input.
#[derive(Debug, Clone, PartialEq)]
pub struct InputMap {
    /// `deals`, `partners` …
    pub input: &'static str,
    /// Where the map came from, for messages: `--import deals=map.toml`.
    pub label: String,
    /// The map file, hashed into the manifest.
    pub path: std::path::PathBuf,
    /// (payline's column, the export's header).
    pub columns: Vec<(String, String)>,
    /// `None`: `--delimiter`, else sniffed from the header line.
    pub delimiter: Option<u8>,
    pub encoding: EncodingChoice,
    pub skip_lines: u64,
    /// Whether a report's trailer (totals row, blank lines, notices) ends the file (`trailer = "auto"`).
    pub trailer: bool,
    pub date_formats: Vec<String>,
    /// `.` or `,`.
    pub decimal_mark: char,
    /// The partners.csv columns that name a partner, when not partner_id.
    pub partner_by: Vec<String>,
    /// payline's column → (export value → payline value), in the file's order.
    pub values: BTreeMap<String, Vec<(String, String)>>,
    pub filters: Vec<Filter>,
    /// Export headers that look like a stage or status but do not decide whether a row counts.
    pub ignore_columns: Vec<String>,
    /// No map at all: dates, numbers and choices as payline's own format has them (SPEC §2).
    pub strict: bool,
}

impl InputMap {
    /// Reading a file in payline's own format, as a run without an import map does.
    pub fn own_format(input: &'static str) -> InputMap {
        InputMap {
            input,
            label: "no import map: payline's own format".into(),
            path: std::path::PathBuf::new(),
            columns: Vec::new(),
            delimiter: None,
            encoding: EncodingChoice::Auto,
            skip_lines: 0,
            trailer: true,
            date_formats: Vec::new(),
            decimal_mark: '.',
            partner_by: Vec::new(),
            values: BTreeMap::new(),
            filters: Vec::new(),
            ignore_columns: Vec::new(),
            strict: true,
        }
    }
}

/// The payline values a choice column may hold; `None` for free text.
pub fn vocabulary(input: &str, column: &str) -> Option<&'static [&'static str]> {
    Some(match (input, column) {
        ("deals", "status") => &["won", "refunded", "cancelled"],
        ("deals", "source") => &["sourced", "influenced"],
        ("deals", "credit") => &["split", "overlay"],
        ("approvals", "decision") => &["approved", "declined"],
        ("partners", "status") => &["active", "suspended", "terminated"],
        ("partners", "kyc_verified") => &["true", "false"],
        ("claims", "status") => &["approved", "pending", "rejected"],
        _ => return None,
    })
}

/// What a column holds, for how its cells are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Date,
    /// Money, with currency symbols or codes around it.
    Money,
    /// A decimal (a rate): no currency.
    Decimal,
    /// A share: a decimal, or a percentage (`50%`).
    Share,
    Integer,
}

pub fn kind(input: &str, column: &str) -> Kind {
    match (input, column) {
        (
            _,
            "closed_on" | "reversed_on" | "joined_on" | "occurred_on" | "decided_on" | "paid_on",
        )
        | ("fx", "date") => Kind::Date,
        (_, "amount" | "quota" | "reversed_amount") => Kind::Money,
        ("fx", "rate") => Kind::Decimal,
        (_, "share") => Kind::Share,
        (_, "quantity") => Kind::Integer,
        _ => Kind::Text,
    }
}

/// The keys of an input's table other than its columns.
const KEYS: &[&str] = &[
    "columns",
    "delimiter",
    "encoding",
    "skip_lines",
    "trailer",
    "date_format",
    "decimal_mark",
    "partner_by",
    "values",
    "filter",
    "ignore_columns",
];

/// A map file being read: its text (for positions) and the problems found.
struct Reader<'a> {
    file: String,
    text: &'a str,
    problems: Vec<Diagnostic>,
}

impl Reader<'_> {
    fn problem(&mut self, span: std::ops::Range<usize>, message: String) {
        let start = span.start.min(self.text.len());
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = self.text[line_start..start].chars().count() + 1;
        let excerpt = self.text[line_start..]
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        self.problems.push(Diagnostic {
            file: self.file.clone(),
            line,
            column,
            severity: Severity::Error,
            message,
            excerpt,
        });
    }

    fn string<'v>(&mut self, value: &'v Spanned<DeValue>, what: &str) -> Option<&'v str> {
        match value.get_ref().as_str() {
            Some(s) => Some(s),
            None => {
                let found = value.get_ref().type_str();
                self.problem(
                    value.span(),
                    format!("{what}: expected a string, found {found}"),
                );
                None
            }
        }
    }

    /// A string or a list of strings.
    fn strings(&mut self, value: &Spanned<DeValue>, what: &str) -> Vec<String> {
        match value.get_ref() {
            DeValue::Array(items) => items
                .iter()
                .filter_map(|v| self.string(v, what).map(str::to_string))
                .collect(),
            _ => self
                .string(value, what)
                .map(|s| vec![s.to_string()])
                .unwrap_or_default(),
        }
    }
}

/// Reads an import map file: every table of an input it holds. `only`: the one input this file is
/// given for (`--import deals=FILE`); its other tables are then an error.
pub fn load(path: &Path, only: Option<&str>) -> Result<Vec<InputMap>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    let mut reader = Reader {
        file: path.display().to_string(),
        text: &text,
        problems: Vec::new(),
    };
    let root = match DeTable::parse(&text) {
        Ok(root) => root,
        Err(e) => {
            reader.problem(
                e.span().unwrap_or(0..0),
                format!("not a valid import map: {}", e.message()),
            );
            return Err(Error::ImportMap(reader.problems));
        }
    };
    let label = |input: &str| match only {
        Some(_) => format!("--import {input}={}", path.display()),
        None => format!("import map {}", path.display()),
    };
    let mut maps = Vec::new();
    for (key, value) in root.get_ref() {
        let name = key.get_ref().as_ref();
        let Some(&(input, _)) = INPUT_COLUMNS.iter().find(|(i, _)| *i == name) else {
            let inputs: Vec<&str> = INPUT_COLUMNS.iter().map(|(i, _)| *i).collect();
            reader.problem(
                key.span(),
                format!(
                    "unknown input `{name}`; an import map has a table per input: {}",
                    inputs.join(", ")
                ),
            );
            continue;
        };
        if only.is_some_and(|o| o != input) {
            reader.problem(
                key.span(),
                format!(
                    "this file is given for `{}` only (--import {}=…), but it has a `[{input}]` table",
                    only.unwrap_or_default(),
                    only.unwrap_or_default()
                ),
            );
            continue;
        }
        let Some(table) = value.get_ref().as_table() else {
            reader.problem(value.span(), format!("`{input}` must be a table"));
            continue;
        };
        maps.push(input_map(&mut reader, input, table, label(input), path));
    }
    if let Some(o) = only
        && maps.is_empty()
        && reader.problems.is_empty()
    {
        reader.problem(
            0..0,
            format!("this file is given for `{o}`, but it has no `[{o}]` table"),
        );
    }
    if reader.problems.is_empty() {
        Ok(maps)
    } else {
        Err(Error::ImportMap(reader.problems))
    }
}

fn input_map(
    reader: &mut Reader,
    input: &'static str,
    table: &DeTable,
    label: String,
    path: &Path,
) -> InputMap {
    let mut map = InputMap {
        label,
        path: path.to_path_buf(),
        strict: false,
        ..InputMap::own_format(input)
    };
    let known = known_columns(input);
    for (key, value) in table {
        let name = key.get_ref().as_ref();
        let what = format!("{input}.{name}");
        match name {
            "columns" => match value.get_ref().as_table() {
                Some(columns) => {
                    for (column, header) in columns {
                        column_entry(reader, &mut map, input, column, header);
                    }
                }
                None => reader.problem(
                    value.span(),
                    format!("`{what}` must be a table of column = \"export header\""),
                ),
            },
            "values" => values(reader, &mut map, value),
            "filter" => filters(reader, &mut map, value),
            _ if KEYS.contains(&name) => setting(reader, &mut map, name, value),
            // Today's `--columns` form: a column straight in the input's table.
            _ if known.contains(&name) => column_entry(reader, &mut map, input, key, value),
            _ => reader.problem(
                key.span(),
                format!(
                    "unknown key `{what}`; expected one of: {}, or one of {input}'s columns ({})",
                    KEYS.join(", "),
                    known.join(", ")
                ),
            ),
        }
    }
    if !map.partner_by.is_empty() && !known.contains(&"partner_id") {
        let span = table.get("partner_by").map_or(0..0, Spanned::span);
        reader.problem(
            span,
            format!("`{input}.partner_by`: {input} rows do not reference partners"),
        );
    }
    map
}

fn known_columns(input: &str) -> &'static [&'static str] {
    INPUT_COLUMNS
        .iter()
        .find(|(i, _)| *i == input)
        .map_or(&[], |(_, c)| *c)
}

fn column_entry(
    reader: &mut Reader,
    map: &mut InputMap,
    input: &str,
    column: &Spanned<toml::de::DeString>,
    header: &Spanned<DeValue>,
) {
    let name = column.get_ref().as_ref();
    let known = known_columns(input);
    if !known.contains(&name) {
        reader.problem(
            column.span(),
            format!(
                "unknown column `{name}` of {input}; expected one of: {}",
                known.join(", ")
            ),
        );
        return;
    }
    let Some(text) = reader.string(header, &format!("{input}.{name}")) else {
        return;
    };
    if text.trim().is_empty() {
        reader.problem(
            header.span(),
            format!("`{input}.{name}`: expected the export's header name, a non-empty string"),
        );
    } else if map.columns.iter().any(|(c, _)| c == name) {
        reader.problem(column.span(), format!("`{input}.{name}` is mapped twice"));
    } else {
        map.columns
            .push((name.to_string(), text.trim().to_string()));
    }
}

/// One of the settings (`delimiter`, `encoding` …).
fn setting(reader: &mut Reader, map: &mut InputMap, name: &str, value: &Spanned<DeValue>) {
    let what = format!("{}.{name}", map.input);
    let span = value.span();
    match name {
        "delimiter" => {
            if let Some(text) = reader.string(value, &what) {
                match text {
                    "auto" => map.delimiter = None,
                    _ => match parse_delimiter(text) {
                        Some(d) => map.delimiter = Some(d),
                        None => reader.problem(
                            span,
                            format!("`{what}`: expected \",\", \";\", \"|\", \"tab\" or \"auto\", found `{text}`"),
                        ),
                    },
                }
            }
        }
        "encoding" => {
            if let Some(text) = reader.string(value, &what) {
                match parse_encoding(text) {
                    Some(e) => map.encoding = e,
                    None => reader.problem(
                        span,
                        format!("`{what}`: unknown encoding `{text}`; expected \"auto\", \"utf-8\", \"utf-16le\", \"utf-16be\", \"windows-1252\" or another WHATWG encoding label"),
                    ),
                }
            }
        }
        "skip_lines" => match value
            .get_ref()
            .as_integer()
            .map(|i| i.as_str().parse::<u64>())
        {
            Some(Ok(n)) if n <= 1000 => map.skip_lines = n,
            _ => reader.problem(
                span,
                format!("`{what}`: expected a whole number from 0 to 1000"),
            ),
        },
        "trailer" => match value.get_ref().as_str() {
            Some("auto") => map.trailer = true,
            Some("none") => map.trailer = false,
            _ => reader.problem(span, format!("`{what}`: expected \"auto\" or \"none\"")),
        },
        "date_format" => {
            map.date_formats = reader.strings(value, &what);
            for format in map.date_formats.clone() {
                if let Some(problem) = super::cells::date_format_problem(&format) {
                    reader.problem(span.clone(), format!("`{what}`: `{format}`: {problem}"));
                }
            }
        }
        "decimal_mark" => match value.get_ref().as_str() {
            Some(".") => map.decimal_mark = '.',
            Some(",") => map.decimal_mark = ',',
            _ => reader.problem(span, format!("`{what}`: expected \".\" or \",\"")),
        },
        "partner_by" => map.partner_by = reader.strings(value, &what),
        "ignore_columns" => map.ignore_columns = reader.strings(value, &what),
        _ => unreachable!("every key of KEYS is read"),
    }
}

/// An encoding as a map names it: `auto`, or a WHATWG label (`utf-8`, `utf-16le`, `windows-1252`,
/// `latin1` …). Plain `utf-16` is little-endian, as Excel's "Unicode text" is.
pub fn parse_encoding(text: &str) -> Option<EncodingChoice> {
    match text.trim().to_ascii_lowercase().as_str() {
        "auto" => Some(EncodingChoice::Auto),
        label => encoding_rs::Encoding::for_label(label.as_bytes()).map(EncodingChoice::Declared),
    }
}

/// `[INPUT.values.COLUMN]` tables: export value = payline value.
fn values(reader: &mut Reader, map: &mut InputMap, value: &Spanned<DeValue>) {
    let input = map.input;
    let Some(tables) = value.get_ref().as_table() else {
        reader.problem(
            value.span(),
            format!("`{input}.values` must hold one table per column: [{input}.values.COLUMN]"),
        );
        return;
    };
    for (column, entries) in tables {
        let name = column.get_ref().as_ref();
        if !known_columns(input).contains(&name) || kind(input, name) != Kind::Text {
            reader.problem(
                column.span(),
                format!(
                    "`{input}.values.{name}`: values are mapped for text and choice columns of {input}, not `{name}`"
                ),
            );
            continue;
        }
        let Some(entries) = entries.get_ref().as_table() else {
            reader.problem(
                entries.span(),
                format!("`{input}.values.{name}` must be a table of \"export value\" = \"payline value\""),
            );
            continue;
        };
        let mut pairs = Vec::new();
        for (from, to) in entries {
            let Some(target) = reader.string(to, &format!("{input}.values.{name}")) else {
                continue;
            };
            if let Some(allowed) = vocabulary(input, name)
                && !allowed.contains(&target)
            {
                reader.problem(
                    to.span(),
                    format!(
                        "`{input}.values.{name}`: `{target}` is not a {name} payline knows; expected one of: {}",
                        allowed.join(", ")
                    ),
                );
                continue;
            }
            if name == "currency" && !crate::model::money::is_currency_code(target) {
                reader.problem(
                    to.span(),
                    format!("`{input}.values.currency`: expected an ISO 4217 code like EUR, found `{target}`"),
                );
                continue;
            }
            pairs.push((from.get_ref().trim().to_string(), target.to_string()));
        }
        map.values.insert(name.to_string(), pairs);
    }
}

/// `[[INPUT.filter]]` entries.
fn filters(reader: &mut Reader, map: &mut InputMap, value: &Spanned<DeValue>) {
    let input = map.input;
    let Some(items) = value.get_ref().as_array() else {
        reader.problem(
            value.span(),
            format!("`{input}.filter` is a list of tables: write each as [[{input}.filter]]"),
        );
        return;
    };
    for item in items {
        let Some(table) = item.get_ref().as_table() else {
            reader.problem(item.span(), format!("`{input}.filter`: expected a table"));
            continue;
        };
        if let Some(filter) = filter(reader, input, table, item.span()) {
            map.filters.push(filter);
        }
    }
}

fn filter(
    reader: &mut Reader,
    input: &str,
    table: &DeTable,
    span: std::ops::Range<usize>,
) -> Option<Filter> {
    let what = format!("{input}.filter");
    for (key, _) in table {
        let name = key.get_ref().as_ref();
        if !["column", "keep", "skip", "reason"].contains(&name) {
            reader.problem(
                key.span(),
                format!("unknown key `{name}` of `{what}`; expected column, keep or skip, reason"),
            );
        }
    }
    let column = match table.get("column") {
        Some(v) => reader
            .string(v, &format!("{what}.column"))?
            .trim()
            .to_string(),
        None => {
            reader.problem(
                span,
                format!("`{what}` needs `column`: the export header it reads"),
            );
            return None;
        }
    };
    let (keep, values) = match (table.get("keep"), table.get("skip")) {
        (Some(v), None) => (true, reader.strings(v, &format!("{what}.keep"))),
        (None, Some(v)) => (false, reader.strings(v, &format!("{what}.skip"))),
        _ => {
            reader.problem(
                span,
                format!("`{what}` on `{column}` needs exactly one of `keep` (the values of rows to keep) or `skip` (of rows to skip)"),
            );
            return None;
        }
    };
    let reason = match table.get("reason") {
        Some(v) => reader.string(v, &format!("{what}.reason"))?.to_string(),
        None if keep => format!("{column} not {}", values.join(" or ")),
        None => format!("{column} {}", values.join(" or ")),
    };
    Some(Filter {
        column,
        keep,
        values: values.iter().map(|v| v.trim().to_string()).collect(),
        reason,
    })
}
