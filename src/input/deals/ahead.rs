//! The named deals of a block looked up ahead of its rows. Every deal row looks its deal_id up in
//! [`NamedDeals`] when payments or approvals name deals; at a million named deals the table is tens
//! of MB and each lookup a miss. Looked up one row at a time, between the row's other cells, every
//! miss is waited for in turn; looked up for the whole block first, a batch at a time, the misses
//! overlap (`scripts/bench/payments.sh`, docs/BENCHMARKS.md).

use super::fingerprint;
use super::named::{Named, NamedDeals};
use crate::input::blocks::Block;

/// A block's deal_id cells (where each is in the block, trimmed) and what the table says of them,
/// in block order; rows take them in turn.
pub(super) struct Ahead {
    found: Vec<Found>,
    next: usize,
}

struct Found {
    start: u32,
    len: u32,
    named: Option<Named>,
}

/// Rows whose entries are fetched together before they are looked up.
const BATCH: usize = 32;

impl Ahead {
    /// Nothing looked up ahead: every row looks itself up.
    pub(super) fn none() -> Ahead {
        Ahead {
            found: Vec::new(),
            next: 0,
        }
    }

    /// Looks up the deal_id cell (column `column`) of every line of an unquoted block. Lines are cut
    /// at `\n` and `\r` and cells at `delimiter` as the stream cuts them; a line the stream reads
    /// otherwise (blank, too short, the trailer) only leaves an entry no row asks for.
    pub(super) fn look_up(
        named: &NamedDeals,
        block: &Block,
        column: usize,
        delimiter: u8,
    ) -> Ahead {
        let bytes = &block.bytes[..];
        let mut cells: Vec<(u32, u32, u64)> = Vec::with_capacity(bytes.len() / 64);
        let mut pos = 0;
        while pos < bytes.len() {
            let end = memchr::memchr2(b'\n', b'\r', &bytes[pos..]).map_or(bytes.len(), |i| pos + i);
            if let Some((start, cell)) = nth_cell(&bytes[pos..end], column, delimiter) {
                let (start, len) = (pos + start, cell.len());
                if let (Ok(start), Ok(len)) = (u32::try_from(start), u32::try_from(len)) {
                    cells.push((start, len, fingerprint(cell)));
                }
            }
            pos = end + 1;
        }
        let mut found = Vec::with_capacity(cells.len());
        for batch in cells.chunks(BATCH) {
            std::hint::black_box(named.warm(batch.iter().map(|c| c.2)));
            for &(start, len, fp) in batch {
                let cell = &bytes[start as usize..(start + len) as usize];
                let named = std::str::from_utf8(cell)
                    .ok()
                    .and_then(|id| named.find_by(id, fp));
                found.push(Found { start, len, named });
            }
        }
        Ahead { found, next: 0 }
    }

    /// What the table says of the deal_id `cell` of `block` if it was looked up ahead (`Some`:
    /// found or not), `None` if not. Rows ask in block order.
    #[inline]
    pub(super) fn take(&mut self, block: &Block, cell: &str) -> Option<Option<Named>> {
        let start = (cell.as_ptr() as usize).checked_sub(block.bytes.as_ptr() as usize)?;
        while let Some(f) = self.found.get(self.next) {
            if (f.start as usize) < start {
                self.next += 1;
                continue;
            }
            return (f.start as usize == start && f.len as usize == cell.len()).then(|| {
                self.next += 1;
                f.named
            });
        }
        None
    }
}

/// The `column`th cell of `line` (trimmed as the stream trims it) and where it starts in `line`.
fn nth_cell(line: &[u8], column: usize, delimiter: u8) -> Option<(usize, &[u8])> {
    let mut start = 0;
    for _ in 0..column {
        start += memchr::memchr(delimiter, &line[start..])? + 1;
    }
    let end = memchr::memchr(delimiter, &line[start..]).map_or(line.len(), |i| start + i);
    let cell = &line[start..end];
    let lead = cell.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let trail = cell[lead..]
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_whitespace())
        .count();
    Some((start + lead, &cell[lead..cell.len() - trail]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::blocks::{Layout, Record, each_record};
    use crate::input::header::{HeaderSpec, resolve};
    use proptest::prelude::*;

    const HEADER: [&str; 3] = ["partner_id", "deal_id", "amount"];

    fn named(ids: &[&str]) -> NamedDeals {
        let mut named = NamedDeals::default();
        for id in ids {
            named.keep_all(id);
        }
        named
    }

    /// Every row the stream reads from `text`: its deal_id cell as the stream has it, and what the
    /// lookups done ahead say of it (`None`: not looked up ahead).
    fn rows_of(named: &NamedDeals, text: &str) -> Vec<(String, Option<Option<u32>>)> {
        let spec = HeaderSpec {
            file: "deals.csv",
            input: "deals",
            required: &[],
            map: &[],
            map_label: "",
            delimiter: b',',
        };
        let header = resolve(&csv::StringRecord::from(HEADER.to_vec()), &spec).unwrap();
        let block = Block {
            seq: 0,
            offset: 0,
            line: 2,
            bytes: text.as_bytes().to_vec(),
        };
        let layout = Layout {
            file: "deals.csv",
            columns: &header.columns,
            delimiter: b',',
            trailer: None,
        };
        let mut ahead = Ahead::look_up(named, &block, 1, b',');
        let mut rows = Vec::new();
        each_record(&layout, &block, &mut |record| {
            if let Record::Row(row) = record
                && let Some(id) = row.get("deal_id")
            {
                let taken = ahead.take(&block, id).map(|found| found.map(|n| n.slot));
                rows.push((id.to_string(), taken));
            }
            false
        });
        rows
    }

    #[test]
    fn a_blocks_deal_ids_are_looked_up_ahead_as_the_stream_reads_them() {
        let named = named(&["D1", "D2"]);
        let text = "P1,D1,10\r\nP1, D2 ,20\n\n,,\nP2,D3,30\nP3,D2\nP4,,5\nP5,D1,7";
        let rows = rows_of(&named, text);
        let slot = |id| named.find(id).map(|n| n.slot);
        assert_eq!(
            rows,
            vec![
                ("D1".to_string(), Some(slot("D1"))),
                // Padded: looked up trimmed, as the stream reads it.
                ("D2".to_string(), Some(slot("D2"))),
                // Not named: looked up ahead, and not found.
                ("D3".to_string(), Some(None)),
                ("D1".to_string(), Some(slot("D1"))),
            ]
        );
        // `P3,D2` has two fields: a malformed row, never taken; the empty deal_id is no row.
    }

    #[test]
    fn a_row_not_looked_up_ahead_is_left_to_the_table() {
        let named = named(&["D1"]);
        // A no-break space is trimmed by the stream, not by the look-ahead: the cells differ, so
        // the row looks itself up.
        let rows = rows_of(&named, "P1,\u{a0}D1,10\nP1,D1\u{a0},10\nP1,D1,10\n");
        assert_eq!(
            rows,
            vec![
                ("D1".to_string(), None),
                ("D1".to_string(), None),
                ("D1".to_string(), Some(named.find("D1").map(|n| n.slot))),
            ]
        );
        let block = Block {
            seq: 0,
            offset: 0,
            line: 2,
            bytes: b"P1,D1,10\n".to_vec(),
        };
        let mut ahead = Ahead::look_up(&named, &block, 1, b',');
        // A cell that is not the block's (another buffer's) is never matched by position.
        let elsewhere = String::from("D1");
        assert_eq!(ahead.take(&block, &elsewhere), None);
        assert_eq!(Ahead::none().take(&block, "D1"), None);
    }

    proptest! {
        /// Whatever the lines hold (padding, blank lines, `\r\n`, short rows, unknown ids), a row's
        /// lookup taken ahead is the table's own lookup of the cell the stream read.
        #[test]
        fn lookups_taken_ahead_are_the_tables(
            lines in prop::collection::vec(
                ("[ \t\u{a0}]{0,2}", "[DX][12]?", "[ \t\u{a0}]{0,2}", prop::bool::ANY, "(\r\n|\n|\r|\n\n)"),
                0..40,
            )
        ) {
            let named = named(&["D1", "D2", "D", "X1"]);
            let mut text = String::new();
            for (lead, id, trail, short, end) in &lines {
                text.push_str("P1,");
                text.push_str(lead);
                text.push_str(id);
                text.push_str(trail);
                if !short {
                    text.push_str(",1");
                }
                text.push_str(end);
            }
            for (id, taken) in rows_of(&named, &text) {
                if let Some(found) = taken {
                    prop_assert_eq!(found, named.find(&id).map(|n| n.slot), "{}", id);
                }
            }
        }
    }
}
