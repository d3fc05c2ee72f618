//! Reading a raw export through its import map into payline's own format: a private UTF-8 copy with
//! payline's column names, ISO dates, plain decimals and payline's words, that the usual loader then
//! reads. Each kept row is written on the line it has in the export (skipped rows become blank
//! lines), so every later message still names the export's own line. What the map leaves unread
//! is refused, never defaulted: every bad row at once, and each unmapped value of a choice column
//! with the map line that would read it.

use super::cells::{CurrencyMark, parse_date, parse_integer, parse_number, parse_share};
use super::map::{InputMap, Kind, kind, vocabulary};
use super::report::Report;
use crate::error::{Error, Result, RowErrors};
use crate::input::csvfile::{
    INPUT_COLUMNS, LineTracker, is_blank_cell, is_footer_label, skip_lines as skip_lines_of,
};
use crate::input::header::{self, HeaderSpec};
use crate::input::trailer::{Shape, find_trailer};
use crate::input::{PartnerRefs, PartnerSet};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// What an import needs besides its map.
pub struct Context<'a> {
    pub input: &'static str,
    pub required: &'a [&'a str],
    pub program_currency: &'a str,
    /// The partners and their references, for a map with `partner_by`.
    pub partners: Option<(&'a PartnerSet, &'a PartnerRefs)>,
    /// `--delimiter`, used when the map names none.
    pub delimiter: Option<u8>,
    /// Columns of partners.csv other inputs reference partners by: carried into the copy.
    pub carry: &'a [String],
    /// How many kept rows the report shows (`inspect`).
    pub sample: usize,
}

/// An export read through its map.
pub struct Imported {
    /// The copy in payline's format, for the loader.
    pub path: PathBuf,
    _copy: tempfile::NamedTempFile,
    pub report: Report,
    /// The rows the map could not read (the loader's own errors join them).
    pub errors: RowErrors,
    /// (payline's column, the export's header), to name the export's headers in the loader's errors.
    pub sources: Vec<(String, String)>,
}

/// One output column: its name in the copy and where it comes from.
struct OutColumn {
    name: String,
    field: Option<usize>,
    header: String,
    kind: Kind,
    /// export value → payline value.
    values: Option<HashMap<String, String>>,
    vocabulary: Option<&'static [&'static str]>,
    partner_ref: bool,
}

/// Reads `path` (named `label`) through `map`.
pub fn import(path: &Path, label: &str, map: &InputMap, cx: &Context) -> Result<Imported> {
    let decoded = super::encoding::decode(path, label, map.encoding)?;
    let (delimiter, delimiter_how) = match (map.delimiter, cx.delimiter) {
        (Some(d), _) => (d, "declared in the import map"),
        (None, Some(d)) => (d, "--delimiter"),
        (None, None) => (
            sniff_delimiter(&decoded.path, map.skip_lines)?,
            "detected from the header",
        ),
    };
    let (mut reader, skipped) = open(&decoded.path, map.skip_lines, delimiter)?;
    let (record, header_line) = read_header(&mut reader, label, map.skip_lines)?;
    let spec = HeaderSpec {
        file: label,
        input: cx.input,
        required: cx.required,
        map: &map.columns,
        map_label: &map.label,
        delimiter,
    };
    let header = header::resolve(&record, &spec)?;
    let filters = filter_fields(&header, map, label)?;
    let columns = out_columns(&header, map, cx, label)?;
    let data_start = skipped + reader.position().byte();
    let trailer = trailer_of(&header, cx, map, (&decoded.path, data_start), delimiter);
    refuse_stages(&header, cx, map, &spec, (&decoded.path, trailer.as_ref()))?;
    let copy = tempfile::Builder::new()
        .prefix("payline-import-")
        .suffix(".csv")
        .tempfile()
        .map_err(|e| Error::io("create a copy of", path, e))?;
    let file = copy
        .reopen()
        .map_err(|e| Error::io("create a copy of", path, e))?;
    let mut run = Run {
        label,
        map,
        cx,
        columns,
        filters,
        trailer: trailer.map(|t| (skipped, t)),
        header_len: header.names.len(),
        delimiter,
        header_names: header.names.iter().map(|n| n.trim().to_string()).collect(),
        out: Spool::new(BufWriter::with_capacity(1 << 16, file)),
        errors: RowErrors::new(),
        unmapped: BTreeMap::new(),
        report: Report::new(label, &decoded, delimiter, delimiter_how, header_line, map),
    };
    run.report
        .describe_columns(&header, &run.columns_view(), &filters_view(map));
    run.write_header(path)?;
    run.rows(&mut reader)?;
    run.out
        .flush()
        .map_err(|e| Error::io("write a copy of", path, e))?;
    run.finish_unmapped();
    run.report.loose = header.loose;
    Ok(run.imported(copy))
}

/// The header record and its line.
fn read_header(
    reader: &mut Reader,
    label: &str,
    skip_lines: u64,
) -> Result<(csv::StringRecord, u64)> {
    let mut record = csv::StringRecord::new();
    if !reader
        .read_record(&mut record)
        .map_err(|e| reader.get_mut().malformed(label, e))?
    {
        return Err(Error::Malformed {
            file: label.to_string(),
            line: skip_lines + 1,
            message: "the file has no header row".into(),
        });
    }
    let line = reader
        .get_mut()
        .line_of(record.position().map_or(0, |p| p.byte()));
    Ok((record, line))
}

/// The report's trailer of the (decoded) file whose rows start at `data_start`, unless the map says
/// `trailer = "none"`.
fn trailer_of(
    header: &header::Header,
    cx: &Context,
    map: &InputMap,
    (path, data_start): (&Path, u64),
    delimiter: u8,
) -> Option<crate::input::trailer::Trailer> {
    let keys: Vec<usize> = cx
        .required
        .iter()
        .filter_map(|c| header.columns.index(c))
        .collect();
    let shape = Shape {
        delimiter,
        fields: header.names.len(),
        keys: &keys,
    };
    map.trailer
        .then(|| find_trailer(path, data_start, &shape))
        .flatten()
}

/// Refuses a stage-like column nothing reads, or an unread currency or share, with its values (up
/// to the trailer).
fn refuse_stages(
    header: &header::Header,
    cx: &Context,
    map: &InputMap,
    spec: &HeaderSpec,
    (path, trailer): (&Path, Option<&crate::input::trailer::Trailer>),
) -> Result<()> {
    let filtered: Vec<String> = map.filters.iter().map(|f| f.column.clone()).collect();
    crate::input::stages::refuse_unread_deciders(
        path,
        spec,
        (map.skip_lines, trailer.map(|t| t.offset)),
        header,
        (&map.ignore_columns, &filtered, cx.program_currency),
    )
}

type Reader = csv::Reader<LineTracker<BufReader<std::fs::File>>>;

/// A csv reader of the file past its `skip_lines` leading lines, and how many bytes they were.
fn open(path: &Path, skip_lines: u64, delimiter: u8) -> Result<(Reader, u64)> {
    let file = std::fs::File::open(path).map_err(|e| Error::io("read", path, e))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let skipped = skip_lines_of(&mut reader, skip_lines, path)?;
    let reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(LineTracker::starting_at(reader, skip_lines + 1));
    Ok((reader, skipped))
}

/// The header line's most frequent separator outside quotes (`,` `;` tab `|`); `,` when none.
fn sniff_delimiter(path: &Path, skip_lines: u64) -> Result<u8> {
    let file = std::fs::File::open(path).map_err(|e| Error::io("read", path, e))?;
    let mut reader = BufReader::new(file);
    skip_lines_of(&mut reader, skip_lines, path)?;
    let mut line = Vec::new();
    reader
        .read_until(b'\n', &mut line)
        .map_err(|e| Error::io("read", path, e))?;
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0), (b'|', 0)];
    let mut quoted = false;
    for &b in &line {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(c) = counts.iter_mut().find(|(d, _)| *d == b) {
            c.1 += 1;
        }
    }
    let best = counts
        .iter()
        .max_by_key(|(_, n)| *n)
        .copied()
        .unwrap_or((b',', 0));
    Ok(if best.1 == 0 { b',' } else { best.0 })
}

/// The field each filter reads: an export header (exact, or the one matching it loosely).
fn filter_fields(header: &header::Header, map: &InputMap, label: &str) -> Result<Vec<usize>> {
    map.filters
        .iter()
        .map(|f| {
            header.columns.index(&f.column).ok_or_else(|| Error::Input {
                file: label.to_string(),
                line: 1 + map.skip_lines,
                column: f.column.clone(),
                value: header.names.join(","),
                message: format!(
                    "{} filters rows on the header `{}`, which this file does not have",
                    map.label, f.column
                ),
            })
        })
        .collect()
}

/// The copy's columns: each of the input's columns the file has (its values mapped as the map
/// says), `currency` for deals (filled from the amounts' currency when the export has none), and
/// the partners.csv columns other inputs reference partners by.
fn out_columns(
    header: &header::Header,
    map: &InputMap,
    cx: &Context,
    label: &str,
) -> Result<Vec<OutColumn>> {
    let known = INPUT_COLUMNS
        .iter()
        .find(|(i, _)| *i == cx.input)
        .map_or(&[][..], |(_, c)| *c);
    let mut columns = Vec::new();
    for &name in known {
        let field = header.columns.index(name);
        let values = map.values.get(name);
        if field.is_none() {
            if values.is_some() {
                return Err(Error::Input {
                    file: label.to_string(),
                    line: 1 + map.skip_lines,
                    column: name.to_string(),
                    value: header.names.join(","),
                    message: format!(
                        "{} maps values of `{name}`, a column this file does not have: name its header in [{}.columns]",
                        map.label, cx.input
                    ),
                });
            }
            if !(cx.input == "deals" && name == "currency") {
                continue;
            }
        }
        columns.push(OutColumn {
            name: name.to_string(),
            field,
            header: field.map_or_else(String::new, |i| header.names[i].clone()),
            kind: kind(cx.input, name),
            values: values.map(|v| v.iter().cloned().collect()),
            vocabulary: vocabulary(cx.input, name),
            partner_ref: name == "partner_id" && !map.partner_by.is_empty(),
        });
    }
    for name in cx.carry {
        if columns.iter().any(|c| &c.name == name) {
            continue;
        }
        if let Some(field) = header.columns.index(name) {
            columns.push(OutColumn {
                name: name.clone(),
                field: Some(field),
                header: header.names[field].clone(),
                kind: Kind::Text,
                values: None,
                vocabulary: None,
                partner_ref: false,
            });
        }
    }
    Ok(columns)
}

fn filters_view(map: &InputMap) -> Vec<String> {
    map.filters.iter().map(|f| f.column.clone()).collect()
}

/// The copy being written, each record on the export's own line.
struct Spool<W: Write> {
    out: W,
    /// The line the next byte is written on.
    line: u64,
}

impl<W: Write> Spool<W> {
    fn new(out: W) -> Spool<W> {
        Spool { out, line: 1 }
    }

    /// Writes `fields` as one CSV record starting on `line` (blank lines before it as needed).
    fn record(&mut self, line: u64, fields: &[String]) -> std::io::Result<()> {
        while self.line < line {
            self.out.write_all(b"\n")?;
            self.line += 1;
        }
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                self.out.write_all(b",")?;
            }
            if field.contains([',', '"', '\n', '\r']) {
                self.out.write_all(b"\"")?;
                self.out.write_all(field.replace('"', "\"\"").as_bytes())?;
                self.out.write_all(b"\"")?;
            } else {
                self.out.write_all(field.as_bytes())?;
            }
            self.line += u64::try_from(field.matches('\n').count()).unwrap_or(0);
        }
        self.out.write_all(b"\n")?;
        self.line += 1;
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// The state of one import.
struct Run<'a> {
    label: &'a str,
    map: &'a InputMap,
    cx: &'a Context<'a>,
    columns: Vec<OutColumn>,
    filters: Vec<usize>,
    /// The bytes skipped before the header, and the file's trailer (from its offset on, rows are
    /// skipped).
    trailer: Option<(u64, crate::input::trailer::Trailer)>,
    header_len: usize,
    delimiter: u8,
    /// The header's names, trimmed: a row made of them is the header again.
    header_names: std::collections::BTreeSet<String>,
    out: Spool<BufWriter<std::fs::File>>,
    errors: RowErrors,
    /// (column, export value) no map covers → (rows, first line).
    unmapped: BTreeMap<(usize, String), (u64, u64)>,
    report: Report,
}

impl Run<'_> {
    /// How many lines inside a quoted cell of the row look like rows of their own (exactly as
    /// many delimiters as an unquoted row has), when any do: a stray quote that swallowed them.
    /// Checked before the filters: a skipped row's stray quote may have swallowed won deals.
    fn swallowed_rows(&self, record: &csv::StringRecord) -> Option<usize> {
        let need = self.header_len.saturating_sub(1).max(1);
        let delimiter = char::from(self.delimiter);
        (record.iter().filter(|c| c.contains('\n'))).find_map(|cell| {
            let rows = (cell.lines().skip(1))
                .filter(|l| l.matches(delimiter).count() == need)
                .count();
            (rows > 0).then_some(rows)
        })
    }

    /// Whether every cell of the row is one of the header's names (in any order: a second
    /// export's header may order its columns differently), with at least two such cells.
    fn repeats_the_header(&self, record: &csv::StringRecord) -> bool {
        // A byte-order mark starts a second export's header too (`cat a.csv b.csv`); before a
        // quoted first cell it leaves the quotes in the cell's text.
        let cells = (record.iter()).map(|c| {
            c.trim_start_matches('\u{feff}')
                .trim()
                .trim_matches('"')
                .trim()
        });
        let mut named = 0;
        for cell in cells.filter(|c| !c.is_empty()) {
            if !self.header_names.contains(cell) {
                return false;
            }
            named += 1;
        }
        named >= 2.min(self.header_len).max(1)
    }

    /// The finished import: the copy, the report, the rows refused.
    fn imported(self, copy: tempfile::NamedTempFile) -> Imported {
        let sources = self
            .columns
            .iter()
            .filter(|c| c.field.is_some())
            .map(|c| (c.name.clone(), c.header.clone()))
            .collect();
        Imported {
            path: copy.path().to_path_buf(),
            _copy: copy,
            report: self.report,
            errors: self.errors,
            sources,
        }
    }

    fn columns_view(&self) -> Vec<(String, Option<usize>, bool)> {
        self.columns
            .iter()
            .map(|c| (c.name.clone(), c.field, c.values.is_some()))
            .collect()
    }

    fn write_header(&mut self, path: &Path) -> Result<()> {
        let names: Vec<String> = self.columns.iter().map(|c| c.name.clone()).collect();
        self.report.sample_header = names.clone();
        self.out
            .record(1, &names)
            .map_err(|e| Error::io("write a copy of", path, e))
    }

    /// Every record after the header, up to the trailer.
    fn rows(&mut self, reader: &mut Reader) -> Result<()> {
        let mut record = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut record) {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(e) if matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) => {
                    let error = reader.get_mut().malformed(self.label, e);
                    self.errors.push(error);
                    continue;
                }
                Err(e) => return Err(reader.get_mut().malformed(self.label, e)),
            }
            let start = record.position().map_or(0, |p| p.byte());
            let line = reader.get_mut().line_of(start);
            if let Some((skipped, trailer)) = &self.trailer
                && skipped + reader.get_ref().counted_offset >= trailer.offset
            {
                if !record.iter().all(|c| is_blank_cell(c.as_bytes())) {
                    self.report
                        .trailer
                        .get_or_insert_with(|| (line, trailer.description.clone()));
                }
                continue;
            }
            self.row(&record, line)?;
        }
    }

    /// One row: skipped by a filter, refused, or written to the copy.
    fn row(&mut self, record: &csv::StringRecord, line: u64) -> Result<()> {
        if record.iter().all(|c| is_blank_cell(c.as_bytes())) {
            self.report.blank += 1;
            return Ok(());
        }
        self.report.rows += 1;
        if record.len() != self.header_len {
            let mut message = format!(
                "row has {} fields but the header has {}",
                record.len(),
                self.header_len
            );
            if is_footer_label(record.get(0).unwrap_or("")) {
                message.push_str("; this row looks like a report's totals row, which is skipped only as part of the report's trailer at the end of the file");
            }
            self.errors.push(Error::Malformed {
                file: self.label.to_string(),
                line,
                message,
            });
            return Ok(());
        }
        if let Some(rows) = self.swallowed_rows(record) {
            self.errors.push(Error::Malformed {
                file: self.label.to_string(),
                line,
                message: format!(
                    "a quoted cell of this row runs over {rows} more line(s) that each hold as many delimiters as a row: a quote opened and never closed where it should be (a stray `\"` in a cell?) would read those rows as part of this one, so the row is refused, not read"
                ),
            });
            return Ok(());
        }
        if self.repeats_the_header(record) {
            self.errors.push(Error::Malformed {
                file: self.label.to_string(),
                line,
                message: "this row repeats the header (two exports pasted together?): the rows after it may be in another column order, so it is refused, not read as a row".to_string(),
            });
            return Ok(());
        }
        for (filter, &field) in self.map.filters.iter().zip(&self.filters) {
            let cell = record.get(field).unwrap_or("").trim();
            if filter.values.iter().any(|v| v == cell) != filter.keep {
                self.report
                    .skip((&filter.reason, &filter.column), cell, line);
                return Ok(());
            }
        }
        let mut fields = Vec::with_capacity(self.columns.len());
        let mut bad = false;
        for i in 0..self.columns.len() {
            match self.cell(i, record, line) {
                Ok(Some(value)) => fields.push(value),
                Ok(None) => {
                    bad = true;
                    fields.push(String::new());
                }
                Err(e) => {
                    bad = true;
                    fields.push(String::new());
                    self.errors.push(e);
                }
            }
        }
        if let Err(e) = self.currencies(record, line, &mut fields) {
            bad = true;
            self.errors.push(e);
        }
        if bad {
            return Ok(());
        }
        self.report.kept += 1;
        if self.report.sample.len() < self.cx.sample {
            self.report.sample.push((line, fields.clone()));
        }
        self.out
            .record(line, &fields)
            .map_err(|e| Error::io("write a copy of", Path::new(self.label), e))
    }

    fn cell_error(&self, i: usize, line: u64, value: &str, message: String) -> Error {
        let column = &self.columns[i];
        Error::Input {
            file: self.label.to_string(),
            line,
            column: column.header.clone(),
            value: value.to_string(),
            message: format!("{message} (read as payline's `{}`)", column.name),
        }
    }

    /// One cell in payline's form; `Ok(None)` when its value is one no map covers (reported for the
    /// whole column at the end).
    fn cell(&mut self, i: usize, record: &csv::StringRecord, line: u64) -> Result<Option<String>> {
        let column = &self.columns[i];
        let Some(field) = column.field else {
            return Ok(Some(String::new()));
        };
        let raw = record.get(field).unwrap_or("");
        // Excel's way of keeping a number as text (`="00123"`) is the text it shows.
        let text = super::cells::excel_text(raw.trim());
        if column.name.ends_with("_id") && super::cells::excel_scientific(text) {
            return Err(self.cell_error(
                i,
                line,
                text,
                "looks like a long number Excel shortened to scientific notation: the id's digits are lost (two ids may now read the same); export the column as text".to_string(),
            ));
        }
        if column.kind != Kind::Text {
            if text.is_empty() {
                return Ok(Some(String::new()));
            }
            return self.number_or_date(i, text, line).map(Some);
        }
        if column.partner_ref && !text.is_empty() {
            return self.partner(i, text, line).map(Some);
        }
        // A choice column (payline's words, or ISO codes for a currency) takes only its own values;
        // free text takes any unless it has a value map.
        let currency = column.name == "currency";
        let choice = column.vocabulary.is_some() || currency;
        let own_word = |t: &str| match column.vocabulary {
            Some(words) => words.contains(&t),
            None => !currency || crate::model::money::is_currency_code(t),
        };
        // An empty cell stays absent, but not a status read from an export: absent means won (or
        // active), and a blank stage (a grouped report's copy) was paid as won. It takes a `"" = …`
        // line of the value map, like any value.
        let absent = |t: &str| t.is_empty() && column.name != "status";
        let mapped = match &column.values {
            Some(values) => values.get(text).cloned().or_else(|| {
                // Payline's own words read as themselves.
                (absent(text) || (choice && own_word(text))).then(|| text.to_string())
            }),
            None => {
                (absent(text) || (!text.is_empty() && own_word(text))).then(|| text.to_string())
            }
        };
        if column.values.is_some() || choice {
            self.report
                .value(&column.name, text, mapped.as_deref(), line);
        }
        if mapped.is_none() {
            self.unmapped_value(i, text, line);
        }
        Ok(mapped)
    }

    fn number_or_date(&self, i: usize, text: &str, line: u64) -> Result<String> {
        if self.map.strict {
            return self.own_format(i, text, line);
        }
        let column = &self.columns[i];
        let mark = self.map.decimal_mark;
        let read = match column.kind {
            Kind::Date => match super::cells::ambiguous_date(text, &self.map.date_formats) {
                Some([(f1, d1), (f2, d2)]) => Err(format!(
                    "the declared date formats read this date two ways: {d1} by \"{f1}\" and {d2} by \"{f2}\"; declare only the export's own order in `date_format`"
                )),
                None => self.date(text),
            },
            Kind::Money => parse_number(text, mark, true).map(|n| n.plain),
            Kind::Decimal => parse_number(text, mark, false).map(|n| n.plain),
            Kind::Share => parse_share(text, mark),
            Kind::Integer => parse_integer(text, mark),
            Kind::Text => Ok(text.to_string()),
        };
        read.map_err(|message| self.cell_error(i, line, text, message))
    }

    /// A date cell by the map's formats, or the message saying what was expected.
    fn date(&self, text: &str) -> std::result::Result<String, String> {
        parse_date(text, &self.map.date_formats)
                .map(|d| d.to_string())
                .ok_or_else(|| {
                    let early = match super::cells::reads_an_early_year(text, &self.map.date_formats) {
                        true => " (a year before 1900 is refused: a two-digit year? `%y` reads two digits, `%Y` four)",
                        false => crate::input::csvfile::year_problem(text),
                    };
                    if self.map.date_formats.is_empty() {
                        format!("expected a date as YYYY-MM-DD{early}; declare the export's format with `date_format` (e.g. \"%m/%d/%Y\")")
                    } else {
                        format!(
                            "expected a date as YYYY-MM-DD or {}{early}",
                            self.map.date_formats.join(" or ")
                        )
                    }
                })
    }

    /// A date or number as payline's own format writes it (no import map): checked, not changed.
    fn own_format(&self, i: usize, text: &str, line: u64) -> Result<String> {
        let ok = match self.columns[i].kind {
            Kind::Date => crate::input::csvfile::parse_iso_date(text).is_some(),
            Kind::Integer => text.bytes().all(|b| b.is_ascii_digit()),
            _ => crate::model::money::parse_decimal(text).is_some(),
        };
        if ok {
            Ok(text.to_string())
        } else {
            let expected = match self.columns[i].kind {
                Kind::Date => {
                    "expected a date as YYYY-MM-DD (an import map's `date_format` reads others)"
                }
                Kind::Integer => "expected a plain whole number",
                _ => {
                    "expected a plain decimal like 1234.50 (an import map's `decimal_mark` reads others)"
                }
            };
            Err(self.cell_error(i, line, text, expected.to_string()))
        }
    }

    fn partner(&self, i: usize, text: &str, line: u64) -> Result<String> {
        let Some((partners, refs)) = self.cx.partners else {
            return Ok(text.to_string());
        };
        refs.resolve(partners, text)
            .map(|p| partners.partners[p].id.clone())
            .map_err(|message| self.cell_error(i, line, text, message))
    }

    fn unmapped_value(&mut self, i: usize, text: &str, line: u64) {
        self.unmapped
            .entry((i, text.to_string()))
            .or_insert((0, line))
            .0 += 1;
    }

    /// The currency written around an amount must be the row's: its currency cell, or for a deal
    /// without one the single currency the mark names (written into the copy); else the program's.
    fn currencies(
        &self,
        record: &csv::StringRecord,
        line: u64,
        fields: &mut [String],
    ) -> Result<()> {
        let currency_at = self.columns.iter().position(|c| c.name == "currency");
        for (i, column) in self.columns.iter().enumerate() {
            let Some(field) = column.field.filter(|_| column.kind == Kind::Money) else {
                continue;
            };
            let raw = record.get(field).unwrap_or("").trim();
            // Only a cell with something besides digits, marks and signs names a currency.
            if raw
                .bytes()
                .all(|b| b.is_ascii_digit() || b".,-() '".contains(&b))
            {
                continue;
            }
            let Ok(number) = parse_number(raw, self.map.decimal_mark, true) else {
                continue;
            };
            let Some(mark) = number.currency else {
                continue;
            };
            let row_currency = currency_at
                .filter(|_| self.cx.input == "deals")
                .map(|c| fields[c].clone())
                .filter(|c| !c.is_empty());
            match row_currency {
                Some(c) if mark.currencies.contains(&c) => {}
                None if self.cx.input == "deals" && mark.currencies.len() == 1 => {
                    if let Some(c) = currency_at {
                        fields[c] = mark.currencies[0].clone();
                    }
                }
                None if mark
                    .currencies
                    .iter()
                    .any(|c| c == self.cx.program_currency) => {}
                // `inspect` without a program: nothing to check against.
                None if self.cx.program_currency.is_empty() => {}
                other => {
                    return Err(self.cell_error(
                        i,
                        line,
                        raw,
                        currency_mismatch(&mark, other.as_deref(), self.cx.program_currency),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Each column's values no map covers: one error per column, with every such value, its rows,
    /// and the map lines that would read them.
    fn finish_unmapped(&mut self) {
        let mut by_column: Vec<usize> = self.unmapped.keys().map(|(c, _)| *c).collect();
        by_column.dedup();
        for i in by_column {
            let values: Vec<(String, u64, u64)> = self
                .unmapped
                .iter()
                .filter(|((c, _), _)| *c == i)
                .map(|((_, v), (rows, line))| (v.clone(), *rows, *line))
                .collect();
            let error = super::report::unmapped_error(
                self.label,
                self.cx.input,
                &self.columns[i].name,
                &self.columns[i].header,
                self.columns[i].vocabulary,
                self.columns[i].values.is_some(),
                &values,
            );
            self.errors.push(error);
        }
    }
}

fn currency_mismatch(mark: &CurrencyMark, row: Option<&str>, program: &str) -> String {
    let means = mark.currencies.join(" or ");
    match row {
        Some(row) => format!(
            "the amount is written in `{}` ({means}), but the row's currency is {row}",
            mark.written
        ),
        None => format!(
            "the amount is written in `{}` ({means}), but the row has no currency and the program's is {program}: map the export's currency column (`currency = \"…\"` in the import map's columns)",
            mark.written
        ),
    }
}
