//! The deal stream's reading: deals.csv cut into blocks at record boundaries (hashed as it is read),
//! and each block parsed into rows, without the csv reader when it holds no quote.

use super::row::{Acc, deal_row};
use super::{Block, BlockOut, Ctx, Stop};
use crate::error::{Error, Result};
use crate::input::Row;
use crate::input::csvfile::{LineTracker, NOT_UTF8, is_blank_cell, is_blank_row};
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

/// Reads the file in blocks cut at record boundaries (hashing every byte), sends them in order;
/// returns the file's SHA-256, or `None` when stopped early.
pub(super) fn read_blocks(
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

/// Parses and validates one block: every bad row is recorded and the next one read; only a sum too
/// large to add block by block stops it.
pub(super) fn parse_block(ctx: &Ctx, block: &Block, acc: &mut Acc) -> BlockOut {
    let mut out = BlockOut {
        seq: block.seq,
        bytes: u64::try_from(block.bytes.len()).unwrap_or(u64::MAX),
        ..BlockOut::default()
    };
    if memchr::memchr(b'"', &block.bytes).is_none() {
        parse_unquoted(ctx, block, acc, &mut out);
    } else {
        parse_quoted(ctx, block, acc, &mut out);
    }
    out
}

fn malformed_at(ctx: &Ctx, line: u64, message: String) -> Stop {
    Stop::Error(Error::Malformed {
        file: ctx.file.to_string(),
        line,
        message,
    })
}

/// A block without a quote: records are split at `\n` or `\r` and cells at `,`, as the csv reader
/// splits them, each with the line its first character is on (as `CsvFile` counts them).
fn parse_unquoted(ctx: &Ctx, block: &Block, acc: &mut Acc, out: &mut BlockOut) {
    let b = &block.bytes[..];
    let header_len = ctx.columns.len();
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
        if is_blank_row(bytes, ctx.dialect.delimiter) {
            continue;
        }
        // The file's trailer (found before the stream): skipped, and its first row named.
        if ctx.trailer.is_some_and(|t| record_offset >= t) {
            out.footer_line.get_or_insert(record_line);
            continue;
        }
        out.rows += 1;
        // A record starts after a terminator and ends before one (ASCII): a character boundary.
        let text = block_text.and_then(|t| t.get(record_start..end));
        if let Err(message) = split_cells(ctx, text, bytes, &mut commas, &mut cells) {
            out.fail(malformed_at(ctx, record_line, message));
            continue;
        }
        let row = Row::from_cells(ctx.file, record_line, &cells, ctx.columns);
        if let Err(stop) = deal_row(ctx, &row, acc, out)
            && out.fail(stop)
        {
            return;
        }
    }
}

/// Splits one record into `cells` as the csv reader splits it; a wrong number of fields is reported
/// before bytes that are not UTF-8. `text` is the record when its block is UTF-8 as a whole: then it is
/// split as text, in one pass (the usual case).
fn split_cells<'t>(
    ctx: &Ctx,
    text: Option<&'t str>,
    bytes: &'t [u8],
    commas: &mut Vec<usize>,
    cells: &mut Vec<&'t str>,
) -> Result<(), String> {
    let (delimiter, header_len) = (ctx.dialect.delimiter, ctx.columns.len());
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

/// A block with quotes: the csv reader itself.
fn parse_quoted(ctx: &Ctx, block: &Block, acc: &mut Acc, out: &mut BlockOut) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(ctx.dialect.delimiter)
        .from_reader(LineTracker::starting_at(&block.bytes[..], block.line));
    let mut bytes = csv::ByteRecord::new();
    let header_len = ctx.columns.len();
    loop {
        match reader.read_byte_record(&mut bytes) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                out.rows += 1;
                out.fail(Stop::Error(reader.get_mut().malformed(ctx.file, e)));
                break;
            }
        }
        if bytes.iter().all(is_blank_cell) {
            continue;
        }
        let start = bytes.position().map_or(0, |p| p.byte());
        let line = reader.get_mut().line_of(start);
        if ctx
            .trailer
            .is_some_and(|t| block.offset + reader.get_ref().counted_offset >= t)
        {
            out.footer_line.get_or_insert(line);
            continue;
        }
        out.rows += 1;
        if bytes.len() != header_len {
            out.fail(malformed_at(
                ctx,
                line,
                format!(
                    "row has {} fields but the header has {header_len}",
                    bytes.len()
                ),
            ));
            continue;
        }
        let record = match csv::StringRecord::from_byte_record(std::mem::take(&mut bytes)) {
            Ok(r) => r,
            Err(e) => {
                bytes = e.into_byte_record();
                out.fail(malformed_at(ctx, line, NOT_UTF8.to_string()));
                continue;
            }
        };
        let row = Row::new(ctx.file, line, &record, ctx.columns);
        if let Err(stop) = deal_row(ctx, &row, acc, out)
            && out.fail(stop)
        {
            break;
        }
        bytes = record.into_byte_record();
    }
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
