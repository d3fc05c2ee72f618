//! Streaming deals.csv. Every row is validated, but only what the run's [`DealPlan`] asks for is kept:
//! the rows that count in the period (and in the previous one, when a rule compares with it), the rows
//! reversed inside the period (for clawbacks), and per-partner summaries of older history (trailing
//! windows, counts of earlier rows passing a filter). The loader knows no rule: the plan is built by
//! `engine::plan` from what the rules declare, for one program or for both of `diff`'s.

use super::{
    Col, Columns, CsvFile, Deal, DealSource, DealStatus, FileDigest, FnvBuild, FnvHasher, FxTable,
    PartnerSet, Row,
};
use crate::error::{Error, Result};
use crate::model::money::Rounding;
use crate::model::money::is_currency_code;
use crate::model::period::{Period, counts_in};
use crate::model::{Text, When};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};

/// What the deal stream keeps besides the period's rows and reversals.
#[derive(Debug, Clone)]
pub struct DealPlan {
    pub period: Period,
    /// Keep the rows that count in the previous period of the same length.
    pub previous_period: bool,
    /// Trailing windows of this many months ending at the period end: per-partner revenue and rows.
    pub window_months: Vec<u32>,
    /// Filters on rows closed before the period that still count at its end: per-partner counts.
    pub prior_filters: Vec<When>,
    /// Keep the rows closed from this day to the day before the period that still count at its end
    /// (`accumulate`: the earlier part of a quarter or year to date, SPEC §8.7).
    pub span_from: Option<NaiveDate>,
    /// Keep every row (whatever its status) closed on or after this day and before the period: the
    /// rows whose lines may still be held on the `pending` account (SPEC §8.2 `hold_days`).
    pub held_from: Option<chrono::NaiveDate>,
    /// How a credited amount is rounded: the program currency's minor units and rounding mode.
    pub currency: String,
    pub rounding: Rounding,
    pub minor_units: u32,
}

/// Per-partner (credited revenue, rows) over a trailing window, and the rows' units.
#[derive(Debug, Clone, Default)]
pub struct WindowTotals {
    pub months: u32,
    /// By partner index.
    pub totals: Vec<(Decimal, u64)>,
    /// By partner index: the rows' units (quantity × share, SPEC §8.4).
    pub units: Vec<Decimal>,
}

/// Per-partner counts of earlier rows passing a filter.
#[derive(Debug, Clone, Default)]
pub struct PriorCounts {
    pub filter: When,
    /// partner index → rows closed before the period that pass the filter and count at its end.
    pub counts: BTreeMap<usize, u64>,
}

#[derive(Debug, Clone, Default)]
pub struct DealData {
    /// Rows that count in the period, sorted by (partner, closed_on, deal_id).
    pub current: Vec<Deal>,
    /// Rows that count in the previous period (when the plan asks), same order.
    pub previous: Vec<Deal>,
    /// Rows whose `reversed_on` is inside the period, whenever they closed (for clawbacks).
    pub reversals: Vec<Deal>,
    /// Rows closed from the plan's `span_from` to the day before the period that count at its end
    /// (when the plan asks), same order.
    pub earlier: Vec<Deal>,
    /// Rows closed from the plan's `held_from` to the day before the period, reversed or not, same
    /// order (SPEC §8.2: a held line is released or cancelled by its row).
    pub held: Vec<Deal>,
    /// One per window of the plan.
    pub windows: Vec<WindowTotals>,
    /// One per prior filter of the plan.
    pub prior_counts: Vec<PriorCounts>,
    pub rows: u64,
}

impl DealData {
    /// (revenue, rows) of a partner over the trailing window of `months`; zero when not planned.
    pub fn window_total(&self, months: u32, partner: usize) -> (Decimal, u64) {
        self.windows
            .iter()
            .find(|w| w.months == months)
            .and_then(|w| w.totals.get(partner).copied())
            .unwrap_or_default()
    }

    /// The units (quantity × share) of a partner's rows over the trailing window of `months`; zero
    /// when not planned.
    pub fn window_units(&self, months: u32, partner: usize) -> Decimal {
        self.windows
            .iter()
            .find(|w| w.months == months)
            .and_then(|w| w.units.get(partner).copied())
            .unwrap_or_default()
    }

    /// The partner's earlier rows passing `filter` that count at the period end.
    pub fn prior_count(&self, filter: &When, partner: usize) -> u64 {
        self.prior_counts
            .iter()
            .find(|p| p.filter == *filter)
            .and_then(|p| p.counts.get(&partner).copied())
            .unwrap_or(0)
    }
}

/// 128 bits from two independent hashes (SipHash and FNV-1a): collision-free in practice at tens of
/// millions of keys, and a fraction of the memory of keeping every deal_id string for the uniqueness
/// checks.
pub(super) fn key128(parts: &[&str]) -> u128 {
    let mut sip = DefaultHasher::new();
    let mut fnv = FnvHasher::default();
    for p in parts {
        p.hash(&mut sip);
        p.hash(&mut fnv);
    }
    (u128::from(sip.finish()) << 64) | u128::from(fnv.finish())
}

/// deals.csv's columns, resolved once: the stream looks each cell up by index.
struct DealColumns {
    deal_id: Col,
    partner_id: Col,
    closed_on: Col,
    amount: Col,
    currency: Col,
    share: Col,
    quantity: Col,
    product: Col,
    customer_type: Col,
    deal_name: Col,
    source: Col,
    status: Col,
    reversed_on: Col,
}

/// How deals.csv is read: the size of the blocks handed to the parsing threads, how many threads
/// parse, and the 64-bit fingerprint of the uniqueness keys (injectable so tests can force collisions).
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub block_bytes: usize,
    pub workers: usize,
    pub fingerprint: fn(&[u8]) -> u64,
    /// How deals.csv is written (`--delimiter`, `--columns`).
    pub dialect: super::Dialect,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            block_bytes: 4 << 20,
            workers: crate::worker_threads(),
            fingerprint,
            dialect: super::Dialect::default(),
        }
    }
}

/// A fast 64-bit hash of a key (folded multiplies over 8-byte words). Only a fingerprint: a repeat is
/// always looked at again with the exact keys, so a collision costs time, never a false error.
pub fn fingerprint(bytes: &[u8]) -> u64 {
    const K1: u64 = 0x9E37_79B9_7F4A_7C15;
    const K2: u64 = 0xD6E8_FEB8_6659_FD93;
    let mut h = 0x243F_6A88_85A3_08D3_u64 ^ fold(u64::try_from(bytes.len()).unwrap_or(0), K1);
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        h = fold(h ^ u64::from_le_bytes(b), K2);
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut b = [0u8; 8];
        b[..rest.len()].copy_from_slice(rest);
        h = fold(h ^ u64::from_le_bytes(b), K1);
    }
    fold(h, K2)
}

fn fold(a: u64, b: u64) -> u64 {
    let [lo, hi] = split_u128(u128::from(a) * u128::from(b));
    lo ^ hi
}

fn split_u128(v: u128) -> [u64; 2] {
    let b = v.to_le_bytes();
    let mut lo = [0u8; 8];
    let mut hi = [0u8; 8];
    lo.copy_from_slice(&b[..8]);
    hi.copy_from_slice(&b[8..]);
    [u64::from_le_bytes(lo), u64::from_le_bytes(hi)]
}

/// How far the deal stream is, reported after each block: the rows merged so far and the bytes of
/// deals.csv they end at (the header included), which reach the file's size at the end of a complete
/// read. (A second, sequential pass starts again from the first row.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DealsRead {
    pub rows: u64,
    pub bytes: u64,
}

pub fn load_deals(
    path: &Path,
    plan: &DealPlan,
    partners: &PartnerSet,
    fx: &FxTable,
    progress: &mut dyn FnMut(DealsRead),
) -> Result<(DealData, FileDigest)> {
    load_deals_with(path, plan, partners, fx, progress, &LoadOptions::default())
}

/// [`load_deals`] with explicit [`LoadOptions`].
///
/// deals.csv is read in blocks cut at record boundaries; the blocks are parsed and validated by
/// `workers` threads and merged in file order, so the kept rows and the first error (the one with the
/// lowest line) are those of a single pass. The whole-file checks keep 64-bit fingerprints: of the
/// deal_id of each row with the full share, and (deal_id, (deal_id, partner_id), share) of each split
/// row. Only fingerprints that repeat, or whose shares add up to more than 1, are looked at again with
/// the exact keys, by re-reading those rows.
pub fn load_deals_with(
    path: &Path,
    plan: &DealPlan,
    partners: &PartnerSet,
    fx: &FxTable,
    progress: &mut dyn FnMut(DealsRead),
    options: &LoadOptions,
) -> Result<(DealData, FileDigest)> {
    match load_pass(path, plan, partners, fx, progress, options, false)? {
        Pass::Done(data, digest) => Ok((*data, digest)),
        // Window sums so large that adding them block by block could round differently: one thread,
        // rows added in file order, as a single pass would.
        Pass::Inexact => {
            let one = LoadOptions {
                workers: 1,
                ..options.clone()
            };
            match load_pass(path, plan, partners, fx, progress, &one, true)? {
                Pass::Done(data, digest) => Ok((*data, digest)),
                Pass::Inexact => unreachable!("a sequential pass adds in file order"),
            }
        }
    }
}

// One `Pass` per load of the file, returned at once: its size costs nothing.
#[allow(clippy::large_enum_variant)]
enum Pass {
    /// Boxed: the kept rows' vectors make `DealData` large, and a pass ends once.
    Done(Box<DealData>, FileDigest),
    Inexact,
}

/// partner_id → partner index by fingerprint, open addressing; a miss (unknown id, or an id whose
/// fingerprint another took) goes to [`PartnerSet::lookup`], which decides and words the error. An id
/// of up to [`INLINE_ID`] bytes is kept in its slot, so the usual lookup touches one cache line
/// instead of three (slot, partner, the id's heap bytes): at ten million rows that is seconds.
struct PartnerTable {
    mask: usize,
    slots: Vec<PartnerSlot>,
}

const INLINE_ID: usize = 19;

#[derive(Clone, Copy)]
struct PartnerSlot {
    fingerprint: u64,
    index: u32,
    /// The id's length when it is inline; `u8::MAX` when it is not.
    len: u8,
    id: [u8; INLINE_ID],
}

impl PartnerTable {
    const EMPTY: u32 = u32::MAX;

    fn new(partners: &PartnerSet) -> PartnerTable {
        let size = (partners.len() * 2).next_power_of_two().max(16);
        let empty = PartnerSlot {
            fingerprint: 0,
            index: Self::EMPTY,
            len: 0,
            id: [0; INLINE_ID],
        };
        let mut table = PartnerTable {
            mask: size - 1,
            slots: vec![empty; size],
        };
        for (i, p) in partners.partners.iter().enumerate() {
            // An index beyond u32 is left to the exact lookup.
            let Ok(index) = u32::try_from(i) else { break };
            let fp = fingerprint(p.id.as_bytes());
            let mut at = table.slot(fp);
            while table.slots[at].index != Self::EMPTY {
                at = (at + 1) & table.mask;
            }
            let mut slot = PartnerSlot {
                fingerprint: fp,
                index,
                len: u8::MAX,
                id: [0; INLINE_ID],
            };
            if let Ok(len) = u8::try_from(p.id.len())
                && p.id.len() <= INLINE_ID
            {
                slot.len = len;
                slot.id[..p.id.len()].copy_from_slice(p.id.as_bytes());
            }
            table.slots[at] = slot;
        }
        table
    }

    fn slot(&self, fp: u64) -> usize {
        usize::try_from(fp >> 40).unwrap_or(0) & self.mask
    }

    #[inline]
    fn find(&self, partners: &PartnerSet, id: &str) -> Option<usize> {
        let fp = fingerprint(id.as_bytes());
        let mut at = self.slot(fp);
        loop {
            let slot = &self.slots[at];
            if slot.index == Self::EMPTY {
                return None;
            }
            if slot.fingerprint == fp {
                let i = slot.index as usize;
                let same = if slot.len == u8::MAX {
                    partners.partners[i].id == id
                } else {
                    usize::from(slot.len) == id.len() && slot.id[..id.len()] == *id.as_bytes()
                };
                if same {
                    return Some(i);
                }
            }
            at = (at + 1) & self.mask;
        }
    }
}

/// What every parsing thread reads.
struct Ctx<'a> {
    file: &'a str,
    columns: &'a Columns,
    col: DealColumns,
    plan: &'a DealPlan,
    partners: &'a PartnerSet,
    fx: &'a FxTable,
    previous: Period,
    windows: Vec<NaiveDate>,
    fingerprint: fn(&[u8]) -> u64,
    partner_fp: Vec<u64>,
    partner_table: PartnerTable,
    /// Accumulate window sums across blocks in arrival order (one thread: file order).
    sequential: bool,
    dialect: &'a super::Dialect,
    /// The file's totals row, if its last row is one: (its first byte, its text).
    footer: Option<u64>,
}

impl Ctx<'_> {
    /// Whether a row (its fields by index) has an empty deal_id, partner_id, closed_on or amount: a
    /// totals row does; a real deal whose id happens to read `Total` does not.
    fn lacks_a_key<'b>(&self, field: impl Fn(usize) -> Option<&'b [u8]>) -> bool {
        let col = &self.col;
        [col.deal_id, col.partner_id, col.closed_on, col.amount]
            .into_iter()
            .any(|c| {
                c.field()
                    .and_then(&field)
                    .is_none_or(|f| f.trim_ascii().is_empty())
            })
    }
}

struct Block {
    seq: usize,
    /// The file offset of the block's first byte.
    offset: u64,
    /// The line the csv reader reports at the block's first byte.
    line: u64,
    bytes: Vec<u8>,
}

/// A split row's fingerprints (rows with a share below 1 may share a deal_id).
#[derive(Debug, Clone, Copy)]
struct Split {
    deal: u64,
    pair: u64,
    share: Decimal,
}

enum Stop {
    /// The block's first error; `keys_checked` when the row got past the uniqueness checks (an
    /// fx or credited-amount error), so a duplicate on the same line comes first.
    Error { error: Error, keys_checked: bool },
    /// A window sum too large to add block by block exactly.
    Inexact,
}

#[derive(Default)]
struct BlockOut {
    seq: usize,
    /// The line of the file's totals row, when this block held it (skipped).
    footer_line: Option<u64>,
    /// The block's length in bytes.
    bytes: u64,
    rows: u64,
    current: Vec<Deal>,
    previous: Vec<Deal>,
    reversals: Vec<Deal>,
    earlier: Vec<Deal>,
    held: Vec<Deal>,
    /// Per window: (partner, revenue, rows, units) summed over the block.
    windows: Vec<Vec<(usize, Decimal, u64, Decimal)>>,
    /// Per prior filter: (partner, rows).
    prior: Vec<Vec<(usize, u64)>>,
    whole: Vec<u64>,
    splits: Vec<Split>,
    stop: Option<Stop>,
}

/// A parsing thread's running window sums (dense by partner), flushed per block.
struct Acc {
    windows: Vec<Vec<(Decimal, u64, Decimal)>>,
    prior: Vec<Vec<u64>>,
    touched: Vec<bool>,
    touched_list: Vec<usize>,
    /// One shared copy of each product, customer type and currency the thread has kept.
    texts: HashSet<Text, FnvBuild>,
}

impl Acc {
    fn new(ctx: &Ctx) -> Acc {
        let n = ctx.partners.len();
        Acc {
            windows: vec![vec![(Decimal::ZERO, 0, Decimal::ZERO); n]; ctx.windows.len()],
            prior: vec![vec![0; n]; ctx.plan.prior_filters.len()],
            touched: vec![false; n],
            touched_list: Vec::new(),
            texts: HashSet::default(),
        }
    }

    /// The thread's shared copy of `text`: a column with few distinct values costs one allocation
    /// per value, not one per kept row.
    fn intern(&mut self, text: &str) -> Text {
        match self.texts.get(text) {
            Some(shared) => shared.clone(),
            None => {
                let shared = Text::from(text);
                self.texts.insert(shared.clone());
                shared
            }
        }
    }

    fn touch(&mut self, partner: usize) {
        if !self.touched[partner] {
            self.touched[partner] = true;
            self.touched_list.push(partner);
        }
    }

    fn flush(&mut self, out: &mut BlockOut) {
        out.windows = vec![Vec::new(); self.windows.len()];
        out.prior = vec![Vec::new(); self.prior.len()];
        self.touched_list.sort_unstable();
        for &p in &self.touched_list {
            self.touched[p] = false;
            for (w, totals) in self.windows.iter_mut().enumerate() {
                let (revenue, rows, units) =
                    std::mem::replace(&mut totals[p], (Decimal::ZERO, 0, Decimal::ZERO));
                if rows > 0 {
                    out.windows[w].push((p, revenue, rows, units));
                }
            }
            for (f, counts) in self.prior.iter_mut().enumerate() {
                let n = std::mem::take(&mut counts[p]);
                if n > 0 {
                    out.prior[f].push((p, n));
                }
            }
        }
        self.touched_list.clear();
    }
}

/// Window sums below this, with at most 8 decimal places, are exact in any order of addition.
fn exact_limit() -> Decimal {
    Decimal::from(10u64.pow(10)) * Decimal::from(10u64.pow(10))
}

fn load_pass(
    path: &Path,
    plan: &DealPlan,
    partners: &PartnerSet,
    fx: &FxTable,
    progress: &mut dyn FnMut(DealsRead),
    options: &LoadOptions,
    sequential: bool,
) -> Result<Pass> {
    let csv = CsvFile::open_as(
        path,
        &["deal_id", "partner_id", "closed_on", "amount"],
        &options.dialect,
    )?;
    let (data_byte, data_line) = csv.data_start();
    let period = &plan.period;
    let mut windows = Vec::new();
    for &months in &plan.window_months {
        let start = period.trailing_window_start(months).ok_or_else(|| {
            Error::Calculation(format!(
                "[levels] window_months = {months}: a window that long, ending {}, starts before the earliest date payline can represent",
                period.end
            ))
        })?;
        windows.push(start);
    }
    let ctx = Ctx {
        file: &csv.file,
        columns: csv.columns(),
        col: DealColumns {
            deal_id: csv.column("deal_id"),
            partner_id: csv.column("partner_id"),
            closed_on: csv.column("closed_on"),
            amount: csv.column("amount"),
            currency: csv.column("currency"),
            share: csv.column("share"),
            quantity: csv.column("quantity"),
            product: csv.column("product"),
            customer_type: csv.column("customer_type"),
            deal_name: csv.column("deal_name"),
            source: csv.column("source"),
            status: csv.column("status"),
            reversed_on: csv.column("reversed_on"),
        },
        plan,
        partners,
        fx,
        previous: period.previous(),
        windows,
        fingerprint: options.fingerprint,
        partner_fp: partners
            .partners
            .iter()
            .map(|p| (options.fingerprint)(p.id.as_bytes()))
            .collect(),
        partner_table: PartnerTable::new(partners),
        sequential,
        dialect: &options.dialect,
        footer: csv.footer().map(|(offset, _)| *offset),
    };
    let mut data = DealData {
        windows: plan
            .window_months
            .iter()
            .map(|&months| WindowTotals {
                months,
                totals: vec![(Decimal::ZERO, 0); partners.len()],
                units: vec![Decimal::ZERO; partners.len()],
            })
            .collect(),
        prior_counts: plan
            .prior_filters
            .iter()
            .map(|filter| PriorCounts {
                filter: filter.clone(),
                counts: BTreeMap::new(),
            })
            .collect(),
        ..DealData::default()
    };

    let stop = AtomicBool::new(false);
    let workers = options.workers.max(1);
    let (block_tx, block_rx) = mpsc::sync_channel::<Block>(workers);
    let block_rx = Mutex::new(block_rx);
    let (out_tx, out_rx) = mpsc::channel::<BlockOut>();
    let mut whole: Vec<Vec<u64>> = vec![Vec::new(); 256];
    let mut splits: Vec<Split> = Vec::new();
    let mut first_stop: Option<Stop> = None;
    let mut inexact = false;
    let mut footer_line: Option<u64> = None;
    let mut stop_record = u64::MAX;
    // Blocks start after the header: the bytes read end where the last merged block ends.
    let mut read = data_byte;

    let sha256 = std::thread::scope(|scope| -> Result<Option<String>> {
        let reader = scope.spawn(|| {
            read_blocks(
                path,
                (data_byte, data_line),
                options.block_bytes.max(1),
                options.dialect.delimiter,
                &stop,
                block_tx,
            )
        });
        for _ in 0..workers {
            let out_tx = out_tx.clone();
            let (ctx, block_rx, stop) = (&ctx, &block_rx, &stop);
            scope.spawn(move || {
                let mut acc = Acc::new(ctx);
                let mut last = BlockOut::default();
                loop {
                    let next = block_rx.lock().map(|rx| rx.recv());
                    let Ok(Ok(block)) = next else { break };
                    if stop.load(Ordering::Relaxed) {
                        continue;
                    }
                    let mut out = parse_block(ctx, &block, &mut acc);
                    if ctx.sequential {
                        // Sums stay in `acc` until the end, added in file order.
                        out.windows = vec![Vec::new(); acc.windows.len()];
                        out.prior = vec![Vec::new(); acc.prior.len()];
                        last.seq = out.seq;
                    } else {
                        acc.flush(&mut out);
                    }
                    if out_tx.send(out).is_err() {
                        break;
                    }
                }
                if ctx.sequential {
                    let mut out = BlockOut {
                        seq: usize::MAX,
                        ..BlockOut::default()
                    };
                    acc.flush(&mut out);
                    let _ = out_tx.send(out);
                }
            });
        }
        drop(out_tx);
        let mut pending: BTreeMap<usize, BlockOut> = BTreeMap::new();
        let mut next = 0usize;
        let mut merge = |out: BlockOut, data: &mut DealData| {
            footer_line = footer_line.or(out.footer_line);
            data.rows += out.rows;
            data.current.extend(out.current);
            data.previous.extend(out.previous);
            data.reversals.extend(out.reversals);
            data.earlier.extend(out.earlier);
            data.held.extend(out.held);
            for (w, part) in out.windows.into_iter().enumerate() {
                for (p, revenue, rows, units) in part {
                    let (total, n) = &mut data.windows[w].totals[p];
                    match total.checked_add(revenue) {
                        Some(t) if t < exact_limit() || ctx.sequential => *total = t,
                        _ => inexact = true,
                    }
                    *n += rows;
                    let sum = &mut data.windows[w].units[p];
                    match sum.checked_add(units) {
                        Some(t) if t < exact_limit() || ctx.sequential => *sum = t,
                        _ => inexact = true,
                    }
                }
            }
            for (f, part) in out.prior.into_iter().enumerate() {
                for (p, n) in part {
                    *data.prior_counts[f].counts.entry(p).or_insert(0) += n;
                }
            }
            for fp in out.whole {
                whole[usize::from(fp.to_be_bytes()[0])].push(fp);
            }
            splits.extend(out.splits);
            if let Some(s) = out.stop {
                if matches!(s, Stop::Inexact) {
                    inexact = true;
                }
                // The stopping row is the block's last counted one.
                stop_record = data.rows;
                first_stop = Some(s);
                stop.store(true, Ordering::Relaxed);
                return true;
            }
            false
        };
        let mut final_sums = None;
        let mut halted = false;
        for out in out_rx {
            if out.seq == usize::MAX {
                final_sums = Some(out);
                continue;
            }
            pending.insert(out.seq, out);
            while let Some(out) = pending.remove(&next) {
                next += 1;
                if !halted {
                    read = read.saturating_add(out.bytes);
                    halted = merge(out, &mut data);
                    progress(DealsRead {
                        rows: data.rows,
                        bytes: read,
                    });
                }
            }
        }
        if let Some(out) = final_sums {
            merge(out, &mut data);
        }
        reader.join().expect("the deals reader panicked")
    })?;
    if inexact || plan.minor_units > 8 {
        if sequential {
            // Sequential sums are exact by construction; nothing else to do.
        } else {
            return Ok(Pass::Inexact);
        }
    }

    // The whole-file checks: which fingerprints need an exact look.
    let suspects = suspects(whole, splits);
    let (limit, keys_checked) = match &first_stop {
        Some(Stop::Error { keys_checked, .. }) => (stop_record, *keys_checked),
        _ => (u64::MAX, true),
    };
    if !suspects.is_empty()
        && let Some(e) = exact_check(path, &ctx, &suspects, limit, keys_checked)?
    {
        return Err(e);
    }
    if let Some(Stop::Error { error, .. }) = first_stop {
        return Err(error);
    }
    let Some(sha256) = sha256 else {
        unreachable!("the reader stops early only after an error");
    };

    let order = |a: &Deal, b: &Deal| {
        (a.partner, a.closed_on, &a.deal_id).cmp(&(b.partner, b.closed_on, &b.deal_id))
    };
    // (partner, deal_id) is unique in a valid file, so an unstable sort orders as a stable one.
    data.current.sort_unstable_by(order);
    data.previous.sort_unstable_by(order);
    data.reversals.sort_unstable_by(order);
    data.earlier.sort_unstable_by(order);
    data.held.sort_unstable_by(order);
    progress(DealsRead {
        rows: data.rows,
        bytes: read,
    });
    let digest = FileDigest {
        loose_headers: csv.loose_headers.clone(),
        footer: footer_line
            .zip(csv.footer())
            .map(|(line, (_, text))| (line, String::from_utf8_lossy(text).into_owned())),
        path: csv.file.clone(),
        sha256,
        rows: Some(data.rows),
    };
    Ok(Pass::Done(Box::new(data.shrunk()), digest))
}

impl DealData {
    fn shrunk(mut self) -> DealData {
        self.current.shrink_to_fit();
        self.previous.shrink_to_fit();
        self.reversals.shrink_to_fit();
        self.earlier.shrink_to_fit();
        self.held.shrink_to_fit();
        self
    }
}

/// Reads the file in blocks cut at record boundaries (hashing every byte), sends them in order;
/// returns the file's SHA-256, or `None` when stopped early.
fn read_blocks(
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
        let eof = n < want;
        if eof {
            if !buf.is_empty()
                && tx
                    .send(Block {
                        seq,
                        offset,
                        line,
                        bytes: buf,
                    })
                    .is_err()
            {
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
                if tx
                    .send(Block {
                        seq,
                        offset,
                        line,
                        bytes: buf,
                    })
                    .is_err()
                {
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

/// Parses and validates one block; stops at its first error.
fn parse_block(ctx: &Ctx, block: &Block, acc: &mut Acc) -> BlockOut {
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
    row_error(Error::Malformed {
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
        let bytes = &b[pos..end];
        if end < b.len() {
            if b[end] == b'\n' {
                line += 1;
            }
            pos = end + 1;
        } else {
            pos = end;
        }
        // The file's totals row (its last row, found before the stream, with a key cell empty as a
        // totals row has): skipped, and named.
        if ctx.footer == Some(record_offset)
            && ctx.lacks_a_key(|i| bytes.split(|&c| c == ctx.dialect.delimiter).nth(i))
        {
            out.footer_line = Some(record_line);
            continue;
        }
        // A row of empty cells (Excel's trailing `,,,,`) is skipped, as `CsvFile` skips it.
        if super::csvfile::is_blank_row(bytes, ctx.dialect.delimiter) {
            continue;
        }
        out.rows += 1;
        commas.clear();
        commas.extend(memchr::memchr_iter(ctx.dialect.delimiter, bytes));
        let fields = commas.len() + 1;
        if fields != header_len {
            out.stop = Some(malformed_at(
                ctx,
                record_line,
                format!("row has {fields} fields but the header has {header_len}"),
            ));
            return;
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            out.stop = Some(malformed_at(
                ctx,
                record_line,
                "row is not valid UTF-8".to_string(),
            ));
            return;
        };
        cells.clear();
        let mut start = 0;
        for &comma in &commas {
            // A comma is ASCII, so always a character boundary.
            cells.push(text.get(start..comma).unwrap_or_default());
            start = comma + 1;
        }
        cells.push(text.get(start..).unwrap_or_default());
        let row = Row::from_cells(ctx.file, record_line, &cells, ctx.columns);
        if let Err(stop) = deal_row(ctx, &row, acc, out) {
            out.stop = Some(stop);
            return;
        }
    }
}

/// A block with quotes: the csv reader itself.
fn parse_quoted(ctx: &Ctx, block: &Block, acc: &mut Acc, out: &mut BlockOut) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(ctx.dialect.delimiter)
        .from_reader(super::csvfile::LineTracker::starting_at(
            &block.bytes[..],
            block.line,
        ));
    let mut bytes = csv::ByteRecord::new();
    let header_len = ctx.columns.len();
    loop {
        match reader.read_byte_record(&mut bytes) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                out.rows += 1;
                out.stop = Some(row_error(reader.get_mut().malformed(ctx.file, e)));
                break;
            }
        }
        if bytes.iter().all(super::csvfile::is_blank_cell) {
            continue;
        }
        let start = bytes.position().map_or(0, |p| p.byte());
        let line = reader.get_mut().line_of(start);
        if ctx.footer == Some(block.offset + reader.get_ref().counted_offset)
            && ctx.lacks_a_key(|i| bytes.get(i))
        {
            out.footer_line = Some(line);
            continue;
        }
        out.rows += 1;
        if bytes.len() != header_len {
            out.stop = Some(malformed_at(
                ctx,
                line,
                format!(
                    "row has {} fields but the header has {header_len}",
                    bytes.len()
                ),
            ));
            break;
        }
        let record = match csv::StringRecord::from_byte_record(std::mem::take(&mut bytes)) {
            Ok(r) => r,
            Err(_) => {
                out.stop = Some(malformed_at(
                    ctx,
                    line,
                    "row is not valid UTF-8".to_string(),
                ));
                break;
            }
        };
        let row = Row::new(ctx.file, line, &record, ctx.columns);
        if let Err(stop) = deal_row(ctx, &row, acc, out) {
            out.stop = Some(stop);
            break;
        }
        bytes = record.into_byte_record();
    }
}

fn row_error(error: Error) -> Stop {
    Stop::Error {
        error,
        keys_checked: false,
    }
}

fn keyed_error(error: Error) -> Stop {
    Stop::Error {
        error,
        keys_checked: true,
    }
}

/// One row: validated as a single pass does, its keys fingerprinted, and kept if the plan asks.
fn deal_row(
    ctx: &Ctx,
    row: &Row,
    acc: &mut Acc,
    out: &mut BlockOut,
) -> std::result::Result<(), Stop> {
    let (col, plan, period) = (&ctx.col, ctx.plan, &ctx.plan.period);
    let deal_id = row.required(col.deal_id).map_err(row_error)?;
    let partner = match row
        .get(col.partner_id)
        .and_then(|id| ctx.partner_table.find(ctx.partners, id))
    {
        Some(p) => p,
        None => ctx
            .partners
            .lookup(row, col.partner_id, "unknown partner: not in partners.csv")
            .map_err(row_error)?,
    };
    let closed_on = row.required_date(col.closed_on).map_err(row_error)?;
    let amount = row.required_money(col.amount).map_err(row_error)?;
    let currency = match row.get(col.currency) {
        None => plan.currency.as_str(),
        Some(c) if is_currency_code(c) => c,
        Some(c) => {
            return Err(row_error(row.error(
                col.currency,
                c,
                "expected an ISO 4217 code like EUR",
            )));
        }
    };
    let share = match row.decimal(col.share).map_err(row_error)? {
        None => Decimal::ONE,
        Some(s) if s > Decimal::ZERO && s <= Decimal::ONE => s,
        Some(_) => {
            return Err(row_error(row.error(
                col.share,
                row.get(col.share).unwrap_or(""),
                "expected a share greater than 0 and at most 1",
            )));
        }
    };
    // SPEC §8.4: a positive whole number; an absent column or an empty cell is 1, as in activities.
    let quantity = row
        .positive_integer(col.quantity)
        .map_err(row_error)?
        .unwrap_or(1);
    let source = match row
        .choice(col.source, &["sourced", "influenced"])
        .map_err(row_error)?
    {
        Some("influenced") => DealSource::Influenced,
        _ => DealSource::Sourced,
    };
    let status = match row
        .choice(col.status, &["won", "refunded", "cancelled"])
        .map_err(row_error)?
    {
        None | Some("won") => DealStatus::Won,
        Some("refunded") => DealStatus::Refunded,
        _ => DealStatus::Cancelled,
    };
    let reversed_on = row.date(col.reversed_on).map_err(row_error)?;
    match (status, reversed_on) {
        (DealStatus::Won, Some(r)) => {
            return Err(row_error(row.error(col.reversed_on, &r.to_string(), "a won deal has no reversal date; set status to refunded or cancelled, or clear reversed_on")));
        }
        (DealStatus::Refunded | DealStatus::Cancelled, None) => {
            return Err(row_error(row.error(
                col.reversed_on,
                "",
                "a refunded or cancelled deal needs its reversal date",
            )));
        }
        (_, Some(r)) if r < closed_on => {
            return Err(row_error(row.error(
                col.reversed_on,
                &r.to_string(),
                format!("the reversal date is before closed_on {closed_on}"),
            )));
        }
        _ => {}
    }

    // The whole-file checks (unique (deal_id, partner_id); shares of a deal at most 1) are done on
    // fingerprints after the stream; a row with the full share can share its deal_id with no other.
    let deal_fp = (ctx.fingerprint)(deal_id.as_bytes());
    if share == Decimal::ONE {
        out.whole.push(deal_fp);
    } else {
        out.splits.push(Split {
            deal: deal_fp,
            pair: fold(
                deal_fp ^ ctx.partner_fp[partner].rotate_left(29),
                0x9E37_79B9_7F4A_7C15,
            ),
            share,
        });
    }

    let in_current = counts_in(period, closed_on, reversed_on);
    let in_previous = plan.previous_period && counts_in(&ctx.previous, closed_on, reversed_on);
    let reversed_in_period = reversed_on.is_some_and(|r| period.contains(r));
    let counts_at_end = reversed_on.is_none_or(|r| r > period.end);
    let in_a_window = counts_at_end
        && closed_on <= period.end
        && ctx.windows.iter().any(|start| closed_on >= *start);
    let before_period = closed_on < period.start && counts_at_end && !plan.prior_filters.is_empty();
    let in_span = counts_at_end
        && closed_on < period.start
        && plan.span_from.is_some_and(|from| closed_on >= from);
    let held = plan
        .held_from
        .is_some_and(|from| closed_on >= from && closed_on < period.start);
    if !(in_current
        || in_previous
        || reversed_in_period
        || in_a_window
        || before_period
        || in_span
        || held)
    {
        return Ok(());
    }
    let rate = ctx
        .fx
        .rate_on(currency, closed_on)
        .map_err(|m| keyed_error(row.error(col.currency, currency, m)))?;
    let credited = amount
        .checked_mul(share)
        .and_then(|v| v.checked_mul(rate))
        .map(|v| plan.rounding.round(v, plan.minor_units))
        .filter(|v| crate::model::money::within_limits(*v))
        .ok_or_else(|| {
            let partner_id = &ctx.partners.partners[partner].id;
            keyed_error(row.error(
                col.amount,
                &amount.to_string(),
                format!(
                    "partner {partner_id}, deal {deal_id}: the credited amount (amount × share {share} × {currency} rate {rate}) is 10^20 or more, beyond what payline can compute; check the amount and the fx rate"
                ),
            ))
        })?;
    let product = row.get(col.product);
    let customer_type = row.get(col.customer_type);
    if in_a_window {
        acc.touch(partner);
        for (start, window) in ctx.windows.iter().zip(acc.windows.iter_mut()) {
            if closed_on >= *start {
                let (revenue, rows, units) = &mut window[partner];
                // Units sums are exact in any order only for shares of at most 8 decimals.
                let row_units = match quantity {
                    1 => Some(share),
                    q => Decimal::from(q).checked_mul(share),
                };
                match row_units.and_then(|u| units.checked_add(u)) {
                    Some(v) if ctx.sequential || (v < exact_limit() && share.scale() <= 8) => {
                        *units = v;
                    }
                    None if ctx.sequential => {
                        return Err(keyed_error(row.error(
                            col.quantity,
                            &quantity.to_string(),
                            "the partner's units over the levels window are too many to compute",
                        )));
                    }
                    _ => return Err(Stop::Inexact),
                }
                match revenue.checked_add(credited) {
                    Some(v) if ctx.sequential || v < exact_limit() => *revenue = v,
                    Some(_) => return Err(Stop::Inexact),
                    None if ctx.sequential => {
                        return Err(keyed_error(row.error(
                            col.amount,
                            &amount.to_string(),
                            "the partner's revenue over the levels window is too large to compute",
                        )));
                    }
                    None => return Err(Stop::Inexact),
                }
                *rows += 1;
            }
        }
    }
    if before_period {
        for (prior, counts) in plan.prior_filters.iter().zip(acc.prior.iter_mut()) {
            if prior.matches_deal_keys(closed_on, product, customer_type, source, credited) {
                acc.touched[partner] = acc.touched[partner] || {
                    acc.touched_list.push(partner);
                    true
                };
                counts[partner] += 1;
            }
        }
    }
    if !(in_current || in_previous || reversed_in_period || in_span || held) {
        return Ok(());
    }
    let deal = Deal {
        deal_id: deal_id.into(),
        partner,
        closed_on,
        amount,
        currency: acc.intern(currency),
        share,
        quantity,
        credited,
        product: product.map(|p| acc.intern(p)),
        customer_type: customer_type.map(|c| acc.intern(c)),
        deal_name: row.get(col.deal_name).map(Into::into),
        source,
        status,
        reversed_on,
    };
    if reversed_in_period {
        out.reversals.push(deal.clone());
    }
    if held {
        out.held.push(deal.clone());
    }
    if in_previous {
        out.previous.push(deal.clone());
    }
    if in_span {
        out.earlier.push(deal.clone());
    }
    if in_current {
        out.current.push(deal);
    }
    Ok(())
}

/// The deal fingerprints whose rows need an exact look: a full-share row's fingerprint seen again,
/// or split rows whose fingerprints say their shares exceed 1 or a (deal_id, partner_id) repeats.
fn suspects(mut whole: Vec<Vec<u64>>, mut splits: Vec<Split>) -> HashSet<u64> {
    let half = whole.len() / 2;
    let (a, b) = whole.split_at_mut(half);
    let (mut found, found_b) = std::thread::scope(|scope| {
        let other = scope.spawn(|| repeats(b));
        (repeats(a), other.join().expect("a sorting thread panicked"))
    });
    found.extend(found_b);
    splits.sort_unstable_by_key(|s| (s.deal, s.pair));
    for group in splits.chunk_by(|x, y| x.deal == y.deal) {
        let deal = group[0].deal;
        let bucket = &whole[usize::from(deal.to_be_bytes()[0])];
        let total = group
            .iter()
            .try_fold(Decimal::ZERO, |t, s| t.checked_add(s.share));
        let repeated_pair = group.windows(2).any(|w| w[0].pair == w[1].pair);
        if bucket.binary_search(&deal).is_ok()
            || repeated_pair
            || total.is_none_or(|t| t > Decimal::ONE)
        {
            found.insert(deal);
        }
    }
    found
}

/// Sorts each bucket and returns the values that occur more than once.
fn repeats(buckets: &mut [Vec<u64>]) -> HashSet<u64> {
    let mut found = HashSet::new();
    for bucket in buckets {
        bucket.sort_unstable();
        for w in bucket.windows(2) {
            if w[0] == w[1] {
                found.insert(w[0]);
            }
        }
    }
    found
}

/// The exact look: re-reads the rows whose deal_id fingerprint is suspect, up to the first other
/// error (the `limit`-th record, included when it got past the key checks), and runs the exact
/// checks on them in file order. Returns the first duplicate or share error, as a single pass would.
fn exact_check(
    path: &Path,
    ctx: &Ctx,
    suspects: &HashSet<u64>,
    limit: u64,
    keys_checked: bool,
) -> Result<Option<Error>> {
    let mut csv = CsvFile::open_as(
        path,
        &["deal_id", "partner_id", "closed_on", "amount"],
        ctx.dialect,
    )?;
    let col = &ctx.col;
    let mut pairs: HashMap<(String, String), u64> = HashMap::new();
    let mut shares: HashMap<String, Decimal> = HashMap::new();
    let mut record = 0u64;
    while let Some(row) = csv.next_row()? {
        record += 1;
        if record > limit || (record == limit && !keys_checked) {
            break;
        }
        let deal_id = row.required(col.deal_id)?;
        if !suspects.contains(&(ctx.fingerprint)(deal_id.as_bytes())) {
            continue;
        }
        let partner =
            ctx.partners
                .lookup(&row, col.partner_id, "unknown partner: not in partners.csv")?;
        let partner_id = ctx.partners.partners[partner].id.as_str();
        let share = row.decimal(col.share)?.unwrap_or(Decimal::ONE);
        if let Some(first) = pairs.insert((deal_id.to_string(), partner_id.to_string()), row.line) {
            return Ok(Some(row.error(
                col.deal_id,
                deal_id,
                format!("duplicate (deal_id, partner_id) = ({deal_id}, {partner_id}); first on line {first}"),
            )));
        }
        let total_share = shares.entry(deal_id.to_string()).or_insert(Decimal::ZERO);
        *total_share += share;
        if *total_share > Decimal::ONE {
            return Ok(Some(row.error(
                col.share,
                &share.to_string(),
                format!(
                    "the shares of deal {deal_id} add up to {} (at most 1)",
                    total_share
                ),
            )));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    #[test]
    fn blocks_are_cut_at_records_of_the_files_own_delimiter() {
        // `a;"x⏎y"⏎b;"p⏎q`: with `;` each quote opens a cell holding a line break, so the only
        // complete record ends after `y"⏎` (8 bytes) and `b;"p⏎q` waits for the next read. Read
        // with `,` the quotes open nothing, and the cut would fall inside `b`'s quoted cell.
        let buf = b"a;\"x\ny\"\nb;\"p\nq";
        assert_eq!(record_cut(buf, b';'), Some(8));
        assert_eq!(record_cut(buf, b','), Some(13));
    }

    use super::*;
    use crate::engine::rules::testkit::partner;

    /// Ids short enough to sit in their slot and ids too long for it are found exactly; an id that
    /// only shares a prefix, or is one byte longer or shorter, is not.
    #[test]
    fn the_partner_table_finds_inline_and_long_ids_exactly() {
        let ids = [
            "P",
            "P0000001",
            "exactly-19-bytes-id",
            "twenty-bytes-long-id",
            "a-partner-id-that-is-much-longer-than-any-slot",
        ];
        let partners = PartnerSet::new(ids.iter().map(|id| partner(id)).collect());
        let table = PartnerTable::new(&partners);
        for id in ids {
            let found = table
                .find(&partners, id)
                .map(|i| partners.partners[i].id.as_str());
            assert_eq!(found, Some(id), "{id}");
        }
        for missing in [
            "",
            "P0",
            "P000000",
            "exactly-19-bytes-i",
            "exactly-19-bytes-idx",
            "twenty-bytes-long-i",
            "a-partner-id-that-is-much-longer-than-any-slo",
        ] {
            assert_eq!(table.find(&partners, missing), None, "{missing}");
        }
    }
}
