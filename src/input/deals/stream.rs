//! The deal stream's parsing: each block of deals.csv (`input::blocks`) split into rows and each row
//! validated and kept where the plan asks.

use super::ahead::Ahead;
use super::row::{Acc, NamedCell, deal_row};
use super::{BlockOut, Ctx, Stop};
use crate::input::blocks::{Block, Layout, Record, each_record};

/// Parses and validates one block: every bad row is recorded and the next one read; only a sum too
/// large to add block by block stops it.
pub(super) fn parse_block(ctx: &Ctx, block: &Block, acc: &mut Acc) -> BlockOut {
    let mut out = BlockOut {
        seq: block.seq,
        bytes: u64::try_from(block.bytes.len()).unwrap_or(u64::MAX),
        ..BlockOut::default()
    };
    let layout = Layout {
        file: ctx.file,
        columns: ctx.columns,
        delimiter: ctx.dialect.delimiter,
        trailer: ctx.trailer,
    };
    let mut ahead = match (ctx.plan.named.as_deref(), ctx.col.deal_id.index) {
        // Only an unquoted block's cells are where `Ahead` finds them (`each_record`).
        (Some(named), Some(column)) if memchr::memchr(b'"', &block.bytes).is_none() => {
            Ahead::look_up(named, block, column, ctx.dialect.delimiter)
        }
        _ => Ahead::none(),
    };
    each_record(&layout, block, &mut |record| match record {
        Record::Row(row) => {
            out.rows += 1;
            let named = NamedCell {
                ahead: &mut ahead,
                block,
            };
            deal_row(ctx, row, named, acc, &mut out).is_err_and(|stop| out.fail(stop))
        }
        Record::Malformed(e) => {
            out.rows += 1;
            out.fail(Stop::Error(e))
        }
        Record::Footer(line) => {
            out.footer_line.get_or_insert(line);
            false
        }
    });
    out
}
