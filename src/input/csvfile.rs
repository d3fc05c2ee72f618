//! Reading one CSV input: header lookup by name, typed cells whose errors name file, line, column and
//! value, and a SHA-256 of the bytes taken while streaming (for the manifest) so no file is read twice.

use super::header::{Col, ColumnRef, Columns, Header, HeaderSpec};
use super::trailer::{Shape, Trailer, find_trailer};
use crate::digest::HashingReader;
use crate::error::{Error, Result, RowErrors};
use crate::model::money::{is_plain_decimal, parse_decimal};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

/// What the manifest records of one input file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileDigest {
    /// Headers read as one of payline's columns by a loose match (`Close Date` as `closed_on`), as
    /// (header, column): the run names them in a warning.
    #[serde(skip)]
    pub loose_headers: Vec<(String, String)>,
    /// A report's trailer at the end of the file, skipped: (its first row's line, what it holds),
    /// for a warning.
    #[serde(skip)]
    pub footer: Option<(u64, String)>,
    pub path: String,
    pub sha256: String,
    /// Data rows (header excluded); absent for files that are not CSV (the program).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

/// Counts lines the way a person does: a record's line is the line its first character is on.
///
/// The csv reader reports the line where its read *began*, which is one too low for every row of a
/// CRLF file (the `\n` of the previous `\r\n` is still ahead of it) and points at a blank line
/// before a row. This reader keeps the bytes from the last counted record on, so each record's true
/// line is counted from the previous one's: memory holds about one record and the csv buffer.
pub(crate) struct LineTracker<R> {
    inner: R,
    /// The raw bytes from offset `base` on.
    window: Vec<u8>,
    base: u64,
    /// The last record's first byte and its line.
    pub(crate) counted_offset: u64,
    counted_line: u64,
}

impl<R: std::io::Read> std::io::Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        // Drop what lies before the last counted record once it is worth moving.
        let stale = usize::try_from(self.counted_offset - self.base).unwrap_or(usize::MAX);
        if stale >= 1 << 16 {
            self.window.drain(..stale.min(self.window.len()));
            self.base = self.counted_offset;
        }
        self.window.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

impl<R> LineTracker<R> {
    fn new(inner: R) -> Self {
        Self::starting_at(inner, 1)
    }

    /// A tracker for bytes whose first one is on `line` (a block of a larger file).
    pub(crate) fn starting_at(inner: R, line: u64) -> Self {
        LineTracker {
            inner,
            window: Vec::new(),
            base: 0,
            counted_offset: 0,
            counted_line: line,
        }
    }

    /// The line of the record whose read began at raw offset `start` (past any line breaks and
    /// blank lines there). Records come in file order.
    pub(crate) fn line_of(&mut self, start: u64) -> u64 {
        let index =
            |offset: u64| usize::try_from(offset.saturating_sub(self.base)).unwrap_or(usize::MAX);
        let mut first = index(start.max(self.counted_offset));
        while first < self.window.len() && matches!(self.window[first], b'\n' | b'\r') {
            first += 1;
        }
        let from = index(self.counted_offset).min(self.window.len());
        let to = first.min(self.window.len());
        let breaks = memchr::memchr_iter(b'\n', &self.window[from..to.max(from)]).count();
        self.counted_line += u64::try_from(breaks).unwrap_or(u64::MAX);
        self.counted_offset = self.base + u64::try_from(to.max(from)).unwrap_or(u64::MAX);
        self.counted_line
    }

    /// [`malformed`], at the line this tracker counts for the record the error is about.
    pub(crate) fn malformed(&mut self, file: &str, e: csv::Error) -> Error {
        let start = e.position().map(|p| p.byte());
        let mut error = malformed(file, e);
        if let (Some(start), Error::Malformed { line, .. }) = (start, &mut error) {
            *line = self.line_of(start);
        }
        error
    }

    fn into_inner(self) -> R {
        self.inner
    }
}

/// How one input file is read: which input it is, and its cell separator (`--delimiter`). (An
/// export read through an import map reaches its loader as a payline-format copy.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialect {
    /// Which input the file is (`deals`, `partners` …), so its loosely matched headers can be named.
    pub input: &'static str,
    pub delimiter: u8,
}

impl Default for Dialect {
    fn default() -> Self {
        Dialect {
            input: "",
            delimiter: b',',
        }
    }
}

pub struct CsvFile {
    pub file: String,
    reader: csv::Reader<LineTracker<HashingReader<BufReader<File>>>>,
    columns: Columns,
    record: csv::StringRecord,
    pub rows: u64,
    /// Headers found only by a loose match, as (header, column) (see [`FileDigest`]).
    pub loose_headers: Vec<(String, String)>,
    /// The file's trailer, if it has one (see [`find_trailer`]), and once reached, its first row's line.
    trailer: Option<Trailer>,
    pub trailer_line: Option<u64>,
    /// The file's size in bytes, for sizing tables up front.
    pub bytes: u64,
    /// The bad rows found so far (malformed ones, and those the loader rejects): [`CsvFile::finish`]
    /// reports them all.
    errors: RowErrors,
}

impl CsvFile {
    /// Opens `path` and checks its header: every `required` column present, no column twice.
    pub fn open(path: &Path, required: &[&str]) -> Result<CsvFile> {
        Self::open_as(path, required, &Dialect::default())
    }

    /// [`CsvFile::open`] for a file written in `dialect`.
    pub fn open_as(path: &Path, required: &[&str], dialect: &Dialect) -> Result<CsvFile> {
        let file_label = path.display().to_string();
        let f = File::open(path).map_err(|e| Error::io("read", path, e))?;
        let bytes = f.metadata().map(|m| m.len()).unwrap_or(0);
        let reader = LineTracker::new(HashingReader::new(BufReader::with_capacity(1 << 16, f)));
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            // Field counts are checked here, so a row of empty cells can be skipped whatever its
            // length (Excel's trailing `,,,,` rows).
            .flexible(true)
            .delimiter(dialect.delimiter)
            .from_reader(reader);
        let cells = reader
            .headers()
            .map_err(|e| malformed(&file_label, e))?
            .clone();
        let spec = HeaderSpec {
            file: &file_label,
            input: dialect.input,
            required,
            map: &[],
            map_label: "",
            delimiter: dialect.delimiter,
        };
        let header = super::header::resolve(&cells, &spec)?;
        let keys: Vec<usize> = required
            .iter()
            .filter_map(|c| header.columns.index(c))
            .collect();
        // Only a user's export has a trailer; payline's own files (the ledger) never do.
        let shape = Shape {
            delimiter: dialect.delimiter,
            fields: header.names.len(),
            keys: &keys,
        };
        let trailer = (!dialect.input.is_empty())
            .then(|| find_trailer(path, reader.position().byte(), &shape))
            .flatten();
        super::stages::refuse_unread_deciders(
            path,
            &spec,
            (0, trailer.as_ref().map(|t| t.offset)),
            &header,
            (&[], &[], ""),
        )?;
        let Header {
            columns,
            loose: loose_headers,
            ..
        } = header;
        Ok(CsvFile {
            file: file_label,
            reader,
            columns,
            record: csv::StringRecord::new(),
            rows: 0,
            loose_headers,
            trailer,
            trailer_line: None,
            bytes,
            errors: RowErrors::new(),
        })
    }

    /// Where the data rows start: the byte offset just after the header record and the line the
    /// csv reader reports there (what a parallel reader of the rest of the file starts from).
    pub fn data_start(&self) -> (u64, u64) {
        let p = self.reader.position();
        (p.byte(), p.line())
    }

    /// What the manifest records of the file when its rows were read in blocks
    /// (`input::blocks`), not through this reader: `rows` data rows, the trailer's first line.
    pub(crate) fn block_digest(
        &self,
        sha256: String,
        rows: u64,
        footer_line: Option<u64>,
    ) -> FileDigest {
        FileDigest {
            loose_headers: self.loose_headers.clone(),
            footer: footer_line
                .zip(self.trailer())
                .map(|(line, t)| (line, t.description.clone())),
            path: self.file.clone(),
            sha256,
            rows: Some(rows),
        }
    }

    /// The header's columns and field count, for rows built outside [`CsvFile::next_row`].
    pub fn columns(&self) -> &Columns {
        &self.columns
    }

    /// Resolves a column once; `Row` accessors then skip the header lookup.
    pub fn column(&self, name: &'static str) -> Col {
        Col {
            name,
            index: self.columns.index(name),
        }
    }

    /// Advances to the next data row, past rows whose cells are all empty; `None` at the end of the
    /// file.
    pub fn next_row(&mut self) -> Result<Option<Row<'_>>> {
        loop {
            match self.reader.read_record(&mut self.record) {
                Ok(true) => {
                    if self
                        .record
                        .iter()
                        .all(|cell| is_blank_cell(cell.as_bytes()))
                    {
                        continue;
                    }
                    let start = self.record.position().map(|p| p.byte()).unwrap_or(0);
                    let line = self.reader.get_mut().line_of(start);
                    if self.in_trailer() {
                        self.trailer_line.get_or_insert(line);
                        continue;
                    }
                    if self.record.len() != self.columns.len() {
                        self.errors.push(Error::Malformed {
                            file: self.file.clone(),
                            line,
                            message: format!(
                                "row has {} fields but the header has {}",
                                self.record.len(),
                                self.columns.len()
                            ),
                        });
                        continue;
                    }
                    self.rows += 1;
                    return Ok(Some(Row {
                        file: &self.file,
                        line,
                        record: Fields::Record(&self.record),
                        columns: &self.columns,
                    }));
                }
                Ok(false) => return Ok(None),
                // A row that is not UTF-8 is one bad row; the reader goes on with the next.
                Err(e) if matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) => {
                    let error = self.reader.get_mut().malformed(&self.file, e);
                    self.errors.push(error);
                }
                Err(e) => {
                    return Err(self.reader.get_mut().malformed(&self.file, e));
                }
            }
        }
    }

    /// Whether the record just read is part of the file's trailer.
    fn in_trailer(&self) -> bool {
        self.trailer
            .as_ref()
            .is_some_and(|t| self.reader.get_ref().counted_offset >= t.offset)
    }

    /// The file's trailer, if it has one.
    pub fn trailer(&self) -> Option<&Trailer> {
        self.trailer.as_ref()
    }

    /// Records a bad row: the loader goes on, and [`CsvFile::finish`] reports every one.
    pub fn reject(&mut self, error: Error) {
        self.errors.push(error);
    }

    /// Reads to the end (so every byte is hashed) and returns what the manifest records, or every
    /// bad row found.
    pub fn finish(mut self) -> Result<FileDigest> {
        while self.next_row()?.is_some() {}
        std::mem::take(&mut self.errors).finish()?;
        let rows = self.rows;
        let inner = self.reader.into_inner().into_inner();
        Ok(FileDigest {
            loose_headers: self.loose_headers,
            footer: self
                .trailer_line
                .zip(self.trailer.as_ref())
                .map(|(line, t)| (line, t.description.clone())),
            path: self.file,
            sha256: inner.sha256(),
            rows: Some(rows),
        })
    }
}

/// A row that is not UTF-8: most often a file Excel on Windows saved as "CSV (Comma delimited)".
pub const NOT_UTF8: &str = "row is not valid UTF-8: the file is in another encoding; Excel on Windows saves \"CSV (Comma delimited)\" as Windows-1252: declare `encoding = \"windows-1252\"` in its import map (or save it as \"CSV UTF-8\")";

pub(crate) fn malformed(file: &str, e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("row has {len} fields but the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => NOT_UTF8.to_string(),
        _ => e.to_string(),
    };
    Error::Malformed {
        file: file.to_string(),
        line,
        message,
    }
}

/// Whether a row's first cell names a report's totals (`Grand Totals (11 records)`, `Total`,
/// `Count: 42`): the label alone, or followed by a colon, a parenthesis or a number. A name that
/// only starts with the word (`Total Wine & More`, `Sum Insurance`) is a deal's, never a label.
pub fn is_footer_label(first_cell: &str) -> bool {
    let first = first_cell.trim().trim_matches('"').trim().to_lowercase();
    let first = first
        .strip_prefix("grand ")
        .map_or(first.as_str(), str::trim_start);
    let end = first
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(first.len());
    let (word, rest) = first.split_at(end);
    let rest = rest.trim_start();
    ["total", "totals", "subtotal", "subtotals", "count", "sum"].contains(&word)
        && (rest.is_empty()
            || rest.starts_with([':', '('])
            || rest.starts_with(|c: char| c.is_ascii_digit()))
}

/// A cell of a row of empty cells: nothing but spaces and tabs (the same test in every reader, so a
/// row is skipped or refused alike wherever it is read).
pub fn is_blank_cell(cell: &[u8]) -> bool {
    cell.iter().all(|&b| is_blank_byte(b))
}

/// A row of empty cells as one run of bytes: separators, spaces and tabs.
pub fn is_blank_row(row: &[u8], delimiter: u8) -> bool {
    row.iter().all(|&b| b == delimiter || is_blank_byte(b))
}

fn is_blank_byte(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The first year payline reads: an earlier one is a two-digit year read as four (`0026`, `26`
/// through `%Y`), which would count the row in no period without a word. Refused instead.
pub const FIRST_YEAR: i32 = 1900;

/// What a refused `YYYY-MM-DD` cell is told besides the format: that its year is before
/// [`FIRST_YEAR`], when that is why.
pub fn year_problem(text: &str) -> &'static str {
    match iso_numbers(text) {
        Some((year, _, _)) if year < FIRST_YEAR => EARLY_YEAR,
        _ => "",
    }
}

/// Said of a date whose year is before [`FIRST_YEAR`] (1900: the text is checked by a unit test).
pub const EARLY_YEAR: &str = " (a year before 1900 is refused: a two-digit year?)";

/// Parses `YYYY-MM-DD` exactly (the only date form the spec allows), without a format-string parser
/// in the per-row hot path; a year before [`FIRST_YEAR`] is refused.
pub fn parse_iso_date(text: &str) -> Option<NaiveDate> {
    let (year, month, day) = iso_numbers(text)?;
    if year < FIRST_YEAR {
        return None;
    }
    NaiveDate::from_ymd_opt(year, month, day)
}

/// The year, month and day numbers of a text shaped `YYYY-MM-DD`, whatever their values.
#[inline]
fn iso_numbers(text: &str) -> Option<(i32, u32, u32)> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    Some((i32::try_from(num(0..4)?).ok()?, num(5..7)?, num(8..10)?))
}

/// `str::trim`, skipped for the usual cell that starts and ends with a printable ASCII character.
fn trim_cell(cell: &str) -> &str {
    match (cell.as_bytes().first(), cell.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => cell,
        _ => cell.trim(),
    }
}

/// Names the invisible characters of a refused number cell (a tab or a no-break space shows as
/// nothing in the quoted value), or nothing when there are none.
fn stray_characters(text: &str) -> String {
    let mut found: Vec<String> = Vec::new();
    for c in text.chars().filter(|c| c.is_whitespace() || c.is_control()) {
        let name = match c {
            ' ' => "a space (U+0020)".to_string(),
            '\t' => "a tab (U+0009)".to_string(),
            '\u{a0}' => "a no-break space (U+00A0)".to_string(),
            '\r' => "a carriage return (U+000D)".to_string(),
            '\n' => "a line break (U+000A)".to_string(),
            other => format!("U+{:04X}", u32::from(other)),
        };
        if !found.contains(&name) {
            found.push(name);
        }
    }
    if found.is_empty() {
        String::new()
    } else {
        format!("; the cell contains {}", found.join(" and "))
    }
}

/// One data row, with typed accessors. An empty cell is "absent" (SPEC §2).
pub struct Row<'a> {
    pub file: &'a str,
    pub line: u64,
    record: Fields<'a>,
    columns: &'a Columns,
}

/// A row's cells: a csv record, or cells already split (the deal stream's unquoted fast path).
#[derive(Clone, Copy)]
enum Fields<'a> {
    Record(&'a csv::StringRecord),
    Cells(&'a [&'a str]),
}

impl<'a> Fields<'a> {
    #[inline]
    fn get(self, i: usize) -> Option<&'a str> {
        match self {
            Fields::Record(r) => r.get(i),
            Fields::Cells(c) => c.get(i).copied(),
        }
    }
}

impl<'a> Row<'a> {
    /// A row of `file` read by another reader (the parallel deal stream), at `line`.
    pub fn new(
        file: &'a str,
        line: u64,
        record: &'a csv::StringRecord,
        columns: &'a Columns,
    ) -> Row<'a> {
        Row {
            file,
            line,
            record: Fields::Record(record),
            columns,
        }
    }

    /// A row whose cells were split by the caller, exactly as the csv reader would split them.
    pub fn from_cells(
        file: &'a str,
        line: u64,
        cells: &'a [&'a str],
        columns: &'a Columns,
    ) -> Row<'a> {
        Row {
            file,
            line,
            record: Fields::Cells(cells),
            columns,
        }
    }

    pub fn error(&self, column: impl ColumnRef, value: &str, message: impl Into<String>) -> Error {
        let mut message = message.into();
        if self.looks_like_a_footer() {
            message.push_str(
                "; this row looks like a report's totals row, which is skipped only as part of the report's trailer at the end of the file: export without totals, or delete the row",
            );
        }
        Error::Input {
            file: self.file.to_string(),
            line: self.line,
            column: column.name().to_string(),
            value: value.to_string(),
            message,
        }
    }

    /// A CRM report's totals row (`Grand Totals`, `Total`, `Count: 42`) in the first cell.
    fn looks_like_a_footer(&self) -> bool {
        is_footer_label(self.record.get(0).unwrap_or(""))
    }

    /// The cell's text without surrounding whitespace, or `None` when the column is absent or the
    /// cell blank. For text cells (ids, names, codes, dates, choices): an export's stray padding there
    /// is harmless and trimmed. Numbers are read with [`Row::raw`] instead and never trimmed.
    /// (Trimming here, not in the csv reader, avoids rebuilding every record.)
    pub fn get(&self, column: impl ColumnRef) -> Option<&'a str> {
        let i = column.index(self.columns)?;
        self.record.get(i).map(trim_cell).filter(|s| !s.is_empty())
    }

    /// The cell exactly as written, padding included, or `None` when the column is absent or the cell
    /// blank (empty or only whitespace: "absent", as for every other column).
    pub fn raw(&self, column: impl ColumnRef) -> Option<&'a str> {
        let i = column.index(self.columns)?;
        self.record.get(i).filter(|s| !trim_cell(s).is_empty())
    }

    pub fn required(&self, column: impl ColumnRef) -> Result<&'a str> {
        self.get(column)
            .ok_or_else(|| self.error(column, "", "a value is required"))
    }

    /// A decimal written exactly as `-?[0-9]+(\.[0-9]+)?` (SPEC §2), below 10^20 in magnitude. The
    /// cell is not trimmed: ` 1250.10` is refused, naming the padding, rather than guessed at.
    pub fn decimal(&self, column: impl ColumnRef) -> Result<Option<Decimal>> {
        match self.raw(column) {
            None => Ok(None),
            Some(text) => parse_decimal(text).map(Some).ok_or_else(|| {
                let message = if is_plain_decimal(text) {
                    "the number is too large: payline accepts magnitudes below 10^20, with at most 28 digits".to_string()
                } else {
                    format!(
                        "expected a plain decimal like 1234.50 (no sign +, no spaces, digits on both sides of the point; no thousands separators, currency symbols or exponents){}",
                        stray_characters(text)
                    )
                };
                self.error(column, text, message)
            }),
        }
    }

    /// A whole number of at least 1, written as digits only (`[0-9]+`: no `+3`, no padding, no
    /// point); one too large for a u64 is an error, never wrapped.
    pub fn positive_integer(&self, column: impl ColumnRef) -> Result<Option<u64>> {
        let Some(text) = self.raw(column) else {
            return Ok(None);
        };
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.error(
                column,
                text,
                format!(
                    "expected a plain whole number like 3 (digits only: no sign +, no spaces, no point){}",
                    stray_characters(text)
                ),
            ));
        }
        match text.parse::<u64>() {
            Ok(0) => Err(self.error(column, text, "expected a whole number of at least 1")),
            Ok(n) => Ok(Some(n)),
            Err(_) => Err(self.error(
                column,
                text,
                format!("the number is too large (at most {})", u64::MAX),
            )),
        }
    }

    /// Money: a decimal that is zero or more.
    pub fn money(&self, column: impl ColumnRef) -> Result<Option<Decimal>> {
        let value = self.decimal(column)?;
        if let Some(v) = value
            && v.is_sign_negative()
            && !v.is_zero()
        {
            return Err(self.error(
                column,
                self.raw(column).unwrap_or(""),
                "expected an amount of zero or more",
            ));
        }
        Ok(value)
    }

    /// A required money cell (zero or more).
    pub fn required_money(&self, column: impl ColumnRef) -> Result<Decimal> {
        self.money(column)?
            .ok_or_else(|| self.error(column, "", "an amount is required"))
    }

    /// A required decimal cell (may be negative: balances and ledger amounts).
    pub fn required_decimal(&self, column: impl ColumnRef) -> Result<Decimal> {
        self.decimal(column)?
            .ok_or_else(|| self.error(column, "", "a value is required"))
    }

    pub fn date(&self, column: impl ColumnRef) -> Result<Option<NaiveDate>> {
        match self.get(column) {
            None => Ok(None),
            Some(text) => parse_iso_date(text).map(Some).ok_or_else(|| {
                let expected = format!("expected a date as YYYY-MM-DD{}", year_problem(text));
                self.error(column, text, &expected)
            }),
        }
    }

    pub fn required_date(&self, column: impl ColumnRef) -> Result<NaiveDate> {
        self.date(column)?
            .ok_or_else(|| self.error(column, "", "a date is required"))
    }

    pub fn boolean(&self, column: impl ColumnRef) -> Result<Option<bool>> {
        match self.get(column) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(text) => Err(self.error(column, text, "expected true or false")),
        }
    }

    /// One of a fixed set of words; `None` when the cell is empty. Inlined: with the words known where
    /// it is called, each comparison is a length check and a few loads instead of a `memcmp` call
    /// (three cells of every deal row).
    #[inline]
    pub fn choice(&self, column: impl ColumnRef, allowed: &[&str]) -> Result<Option<&'a str>> {
        match self.get(column) {
            None => Ok(None),
            Some(text) if allowed.contains(&text) => Ok(Some(text)),
            Some(text) => Err(self.error(
                column,
                text,
                format!("expected one of: {}", allowed.join(", ")),
            )),
        }
    }
}

/// The columns of each input, by the name `--columns` gives the file (`[deals]`, `[partners]` …).
pub const INPUT_COLUMNS: &[(&str, &[&str])] = &[
    (
        "partners",
        &[
            "partner_id",
            "name",
            "type",
            "region",
            "level",
            "quota",
            "currency",
            "status",
            "kyc_verified",
            "joined_on",
        ],
    ),
    (
        "deals",
        &[
            "deal_id",
            "partner_id",
            "closed_on",
            "amount",
            "currency",
            "share",
            "product",
            "customer_type",
            "deal_name",
            "source",
            "status",
            "reversed_on",
            "quantity",
            "reversed_amount",
            "credit",
        ],
    ),
    (
        "activities",
        &["partner_id", "activity", "occurred_on", "quantity"],
    ),
    (
        "claims",
        &[
            "claim_id",
            "partner_id",
            "fund",
            "amount",
            "status",
            "decided_on",
        ],
    ),
    ("fx", &["date", "currency", "rate"]),
    (
        "adjustments",
        &[
            "adjustment_id",
            "partner_id",
            "amount",
            "reason",
            "decided_on",
        ],
    ),
    ("payments", super::payments::PAYMENT_COLUMNS),
    ("approvals", super::approvals::APPROVAL_COLUMNS),
];

/// The inputs, as an import map's tables, `--import INPUT=` and a workspace's `[inputs]` name them.
pub const INPUTS: [&str; 8] = [
    "partners",
    "deals",
    "activities",
    "claims",
    "fx",
    "adjustments",
    "payments",
    "approvals",
];

/// The columns each input's loader requires.
pub fn required_columns(input: &str) -> &'static [&'static str] {
    match input {
        "partners" => &["partner_id", "name", "type"],
        "deals" => &["deal_id", "partner_id", "closed_on", "amount"],
        "activities" => &["partner_id", "activity", "occurred_on"],
        "claims" => &["claim_id", "partner_id", "fund", "amount", "status"],
        "fx" => &["date", "currency", "rate"],
        "adjustments" => super::adjustments::ADJUSTMENT_COLUMNS,
        "payments" => super::payments::REQUIRED_COLUMNS,
        "approvals" => super::approvals::REQUIRED_COLUMNS,
        _ => &[],
    }
}

/// Reads past the first `n` lines (an export's title lines before its header); returns their bytes.
pub(crate) fn skip_lines(reader: &mut impl std::io::BufRead, n: u64, path: &Path) -> Result<u64> {
    let mut line = Vec::new();
    let mut skipped = 0u64;
    for _ in 0..n {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::io("read", path, e))?;
        skipped += u64::try_from(read).unwrap_or(0);
    }
    Ok(skipped)
}

/// A cell separator as a user writes it: `,`, `;`, `|`, or `tab` (or a tab character).
pub fn parse_delimiter(text: &str) -> Option<u8> {
    match text {
        "," => Some(b','),
        ";" => Some(b';'),
        "|" => Some(b'|'),
        "tab" | "\t" | "\\t" => Some(b'\t'),
        _ => None,
    }
}
