//! Reading a CSV file's data rows in parallel: the file cut into blocks at record boundaries
//! (hashed as it is read), each block split into rows, without the csv reader when it holds no
//! quote. deals.csv's stream and payments.csv read their rows this way: at ten million rows, one
//! core reading them is most of a run.

use crate::error::{Error, Result};
use crate::input::Row;
use crate::input::csvfile::{LineTracker, NOT_UTF8, is_blank_cell, is_blank_row};
use crate::input::header::Columns;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};

/// A run of whole records of the file.
pub(crate) struct Block {
    pub seq: usize,
    /// The file offset of the block's first byte.
    pub offset: u64,
    /// The line the csv reader reports at the block's first byte.
    pub line: u64,
    pub bytes: Vec<u8>,
}

/// How the file's records are laid out: what splitting a block into rows needs.
#[derive(Clone, Copy)]
pub(crate) struct Layout<'a> {
    pub file: &'a str,
    pub columns: &'a Columns,
    pub delimiter: u8,
    /// The first byte of the file's trailer, if it has one: every record from there on is skipped.
    pub trailer: Option<u64>,
}

/// What a block's records are, in file order.
pub(crate) enum Record<'r, 'a> {
    Row(&'r Row<'a>),
    /// A record that is no row: a wrong number of fields, not UTF-8, broken quoting.
    Malformed(Error),
    /// The first record of the file's trailer, on this line (skipped, like every later one).
    Footer(u64),
}

/// Reads the file in blocks cut at record boundaries (hashing every byte), sends them in order;
/// returns the file's SHA-256, or `None` when stopped early.
pub(crate) fn read_blocks(
    path: &Path,
    (data_byte, data_line): (u64, u64),
    block_bytes: usize,
    delimiter: u8,
    stop: &AtomicBool,
    tx: mpsc::SyncSender<Block>,
) -> Result<Option<String>> {
    use sha2::{Digest, Sha256};
    let mut file = std::fs::File::open(path).map_err(|e| Error::io("read", path, e))?;
    let mut hasher = Sha256::new();
    let mut skip = usize::try_from(data_byte).unwrap_or(usize::MAX);
    let mut carry: Vec<u8> = Vec::new();
    let mut line = data_line;
    let mut seq = 0usize;
    let mut offset = data_byte;
    let mut want = block_bytes;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let mut buf = std::mem::take(&mut carry);
        buf.reserve(want);
        let before = buf.len();
        let limit = u64::try_from(want).unwrap_or(u64::MAX);
        let n = (&mut file)
            .take(limit)
            .read_to_end(&mut buf)
            .map_err(|e| Error::io("read", path, e))?;
        hasher.update(&buf[before..]);
        if skip > 0 {
            let s = skip.min(buf.len());
            buf.drain(..s);
            skip -= s;
        }
        let send = |bytes: Vec<u8>| {
            tx.send(Block {
                seq,
                offset,
                line,
                bytes,
            })
            .is_ok()
        };
        if n < want {
            if !buf.is_empty() && !send(buf) {
                return Ok(None);
            }
            return Ok(Some(crate::digest::hex(&hasher.finalize())));
        }
        match record_cut(&buf, delimiter) {
            Some(cut) if cut > 0 => {
                carry = buf[cut..].to_vec();
                buf.truncate(cut);
                let lines =
                    u64::try_from(memchr::memchr_iter(b'\n', &buf).count()).unwrap_or(u64::MAX);
                let length = u64::try_from(buf.len()).unwrap_or(u64::MAX);
                if !send(buf) {
                    return Ok(None);
                }
                line += lines;
                offset += length;
                seq += 1;
                want = block_bytes;
            }
            _ => {
                // No complete record yet (one longer than a block): read more.
                carry = buf;
                want = want.saturating_mul(2);
            }
        }
    }
}

/// The end of the last complete record in `buf`, which starts at a record boundary: the offset just
/// after its terminator (after the `\r` of a `\r\n`, where the csv reader stops), so a reader
/// starting there reports the same lines as one reading the whole file.
fn record_cut(buf: &[u8], delimiter: u8) -> Option<usize> {
    let is_term = |b: u8| b == b'\n' || b == b'\r';
    if memchr::memchr(b'"', buf).is_none() {
        // No quotes: every terminator ends a record, and one after a non-terminator ends a
        // non-blank one.
        let mut end = buf.len();
        while let Some(i) = memchr::memrchr2(b'\n', b'\r', &buf[..end]) {
            if i > 0 && !is_term(buf[i - 1]) {
                return Some(i + 1);
            }
            end = i;
        }
        return None;
    }
    // Quotes: follow the csv state machine (a quoted field may hold line breaks).
    // A quote opens a quoted field only at a field's start, after the file's own delimiter.
    let mut core = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
    let mut output = vec![0u8; 1 << 16];
    let mut ends = vec![0usize; 1024];
    let mut pos = 0;
    let mut last = None;
    loop {
        let (result, nin, _, _) = core.read_record(&buf[pos..], &mut output, &mut ends);
        pos += nin;
        match result {
            csv_core::ReadRecordResult::Record => last = Some(pos),
            csv_core::ReadRecordResult::OutputFull | csv_core::ReadRecordResult::OutputEndsFull => {
            }
            csv_core::ReadRecordResult::InputEmpty | csv_core::ReadRecordResult::End => {
                return last;
            }
        }
    }
}

/// Splits one block into its records, handing each to `on` in file order; `on` returns whether
/// the block stops there.
#[inline]
pub(crate) fn each_record(layout: &Layout, block: &Block, on: &mut impl FnMut(Record) -> bool) {
    if memchr::memchr(b'"', &block.bytes).is_none() {
        unquoted(layout, block, on);
    } else {
        quoted(layout, block, on);
    }
}

fn malformed_at(layout: &Layout, line: u64, message: String) -> Error {
    Error::Malformed {
        file: layout.file.to_string(),
        line,
        message,
    }
}

/// A block without a quote: records are split at `\n` or `\r` and cells at the delimiter, as the
/// csv reader splits them, each with the line its first character is on (as `CsvFile` counts them).
#[inline]
fn unquoted(layout: &Layout, block: &Block, on: &mut impl FnMut(Record) -> bool) {
    let b = &block.bytes[..];
    let header_len = layout.columns.len();
    let mut pos = 0;
    let mut line = block.line;
    let mut cells: Vec<&str> = Vec::with_capacity(header_len);
    let mut commas: Vec<usize> = Vec::with_capacity(header_len);
    // UTF-8 checked once for the whole block (the usual case); row by row only when it is not.
    let block_text = std::str::from_utf8(b).ok();
    loop {
        while pos < b.len() && (b[pos] == b'\n' || b[pos] == b'\r') {
            if b[pos] == b'\n' {
                line += 1;
            }
            pos += 1;
        }
        if pos == b.len() {
            return;
        }
        // The line the record's first character is on (past a `\r\n`'s `\n` and blank lines).
        let record_line = line;
        let record_offset = block.offset + u64::try_from(pos).unwrap_or(u64::MAX);
        let end = memchr::memchr2(b'\n', b'\r', &b[pos..]).map_or(b.len(), |i| pos + i);
        let record_start = pos;
        let bytes = &b[pos..end];
        if end < b.len() {
            if b[end] == b'\n' {
                line += 1;
            }
            pos = end + 1;
        } else {
            pos = end;
        }
        // A row of empty cells (Excel's trailing `,,,,`) is skipped, as `CsvFile` skips it.
        if is_blank_row(bytes, layout.delimiter) {
            continue;
        }
        // The file's trailer (found before the stream): skipped, and its first row named.
        if layout.trailer.is_some_and(|t| record_offset >= t) {
            if on(Record::Footer(record_line)) {
                return;
            }
            continue;
        }
        // A record starts after a terminator and ends before one (ASCII): a character boundary.
        let text = block_text.and_then(|t| t.get(record_start..end));
        let stop = match split_cells(layout, text, bytes, &mut commas, &mut cells) {
            Err(message) => on(Record::Malformed(malformed_at(
                layout,
                record_line,
                message,
            ))),
            Ok(()) => on(Record::Row(&Row::from_cells(
                layout.file,
                record_line,
                &cells,
                layout.columns,
            ))),
        };
        if stop {
            return;
        }
    }
}

/// Splits one record into `cells` as the csv reader splits it; a wrong number of fields is reported
/// before bytes that are not UTF-8. `text` is the record when its block is UTF-8 as a whole: then it is
/// split as text, in one pass (the usual case).
#[inline]
fn split_cells<'t>(
    layout: &Layout,
    text: Option<&'t str>,
    bytes: &'t [u8],
    commas: &mut Vec<usize>,
    cells: &mut Vec<&'t str>,
) -> Result<(), String> {
    let (delimiter, header_len) = (layout.delimiter, layout.columns.len());
    let wrong_count =
        |fields: usize| format!("row has {fields} fields but the header has {header_len}");
    cells.clear();
    if let Some(text) = text
        && delimiter.is_ascii()
    {
        // A byte loop: cells are a few bytes long, too short for a `memchr` call per cell to pay.
        let mut start = 0;
        for (i, &b) in text.as_bytes().iter().enumerate() {
            if b == delimiter {
                cells.push(text.get(start..i).unwrap_or_default());
                start = i + 1;
            }
        }
        cells.push(text.get(start..).unwrap_or_default());
        return match cells.len() {
            n if n == header_len => Ok(()),
            n => Err(wrong_count(n)),
        };
    }
    commas.clear();
    commas.extend(memchr::memchr_iter(delimiter, bytes));
    let fields = commas.len() + 1;
    if fields != header_len {
        return Err(wrong_count(fields));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| NOT_UTF8.to_string())?;
    let mut start = 0;
    for &comma in commas.iter() {
        // A comma is ASCII, so always a character boundary.
        cells.push(text.get(start..comma).unwrap_or_default());
        start = comma + 1;
    }
    cells.push(text.get(start..).unwrap_or_default());
    Ok(())
}

/// A block with quotes: the csv reader itself. A record it cannot read ends the block.
fn quoted(layout: &Layout, block: &Block, on: &mut impl FnMut(Record) -> bool) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(layout.delimiter)
        .from_reader(LineTracker::starting_at(&block.bytes[..], block.line));
    let mut bytes = csv::ByteRecord::new();
    let header_len = layout.columns.len();
    loop {
        match reader.read_byte_record(&mut bytes) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                on(Record::Malformed(
                    reader.get_mut().malformed(layout.file, e),
                ));
                break;
            }
        }
        if bytes.iter().all(is_blank_cell) {
            continue;
        }
        let start = bytes.position().map_or(0, |p| p.byte());
        let line = reader.get_mut().line_of(start);
        if layout
            .trailer
            .is_some_and(|t| block.offset + reader.get_ref().counted_offset >= t)
        {
            if on(Record::Footer(line)) {
                break;
            }
            continue;
        }
        if bytes.len() != header_len {
            let message = format!(
                "row has {} fields but the header has {header_len}",
                bytes.len()
            );
            if on(Record::Malformed(malformed_at(layout, line, message))) {
                break;
            }
            continue;
        }
        let record = match csv::StringRecord::from_byte_record(std::mem::take(&mut bytes)) {
            Ok(r) => r,
            Err(e) => {
                bytes = e.into_byte_record();
                if on(Record::Malformed(malformed_at(
                    layout,
                    line,
                    NOT_UTF8.to_string(),
                ))) {
                    break;
                }
                continue;
            }
        };
        let row = Row::new(layout.file, line, &record, layout.columns);
        if on(Record::Row(&row)) {
            break;
        }
        bytes = record.into_byte_record();
    }
}

/// Reads the file's data rows (from `start`: its first data byte and line) on `workers` threads:
/// `parse` makes something of each block, and the results come back in file order with the file's
/// SHA-256. For files whose rows are all kept (payments.csv): no merging as they arrive.
pub(crate) fn read_parallel<O: Send>(
    path: &Path,
    start: (u64, u64),
    layout: &Layout,
    workers: usize,
    parse: impl Fn(&Block) -> O + Sync,
) -> Result<(Vec<O>, String)> {
    let never = AtomicBool::new(false);
    let workers = workers.max(1);
    let (block_tx, block_rx) = mpsc::sync_channel::<Block>(workers);
    let block_rx = Mutex::new(block_rx);
    std::thread::scope(|scope| {
        let reader =
            scope.spawn(|| read_blocks(path, start, 4 << 20, layout.delimiter, &never, block_tx));
        let threads: Vec<_> = (0..workers)
            .map(|_| {
                let (block_rx, parse) = (&block_rx, &parse);
                scope.spawn(move || {
                    let mut outs = Vec::new();
                    while let Ok(Ok(block)) = block_rx.lock().map(|rx| rx.recv()) {
                        outs.push((block.seq, parse(&block)));
                    }
                    outs
                })
            })
            .collect();
        let mut outs: Vec<(usize, O)> = threads
            .into_iter()
            .flat_map(|t| t.join().expect("a block parser panicked"))
            .collect();
        let sha256 = reader.join().expect("the block reader panicked")?;
        outs.sort_unstable_by_key(|(seq, _)| *seq);
        let sha256 = sha256.expect("the reader is never stopped");
        Ok((outs.into_iter().map(|(_, o)| o).collect(), sha256))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_cut_at_records_of_the_files_own_delimiter() {
        // `a;"x⏎y"⏎b;"p⏎q`: with `;` each quote opens a cell holding a line break, so the only
        // complete record ends after `y"⏎` (8 bytes) and `b;"p⏎q` waits for the next read. Read
        // with `,` the quotes open nothing, and the cut would fall inside `b`'s quoted cell.
        let buf = b"a;\"x\ny\"\nb;\"p\nq";
        assert_eq!(record_cut(buf, b';'), Some(8));
        assert_eq!(record_cut(buf, b','), Some(13));
    }
}
