//! Streaming deals.csv. Every row is validated, but only what the run's [`DealPlan`] asks for is kept:
//! the rows that count in the period (and in the previous one, when a rule compares with it), the rows
//! reversed inside the period (for clawbacks), and per-partner summaries of older history (trailing
//! windows, counts of earlier rows passing a filter). The loader knows no rule: the plan is built by
//! `engine::plan` from what the rules declare, for one program or for both of `diff`'s.

mod ahead;
mod keys;
mod named;
mod row;
mod stream;
mod table;

use super::{Col, Columns, CsvFile, Deal, FileDigest, FnvHasher, FxTable, PartnerSet};
use crate::error::{Error, Result, RowErrors};
use crate::input::blocks::Block;
use crate::model::When;
use crate::model::money::Rounding;
use crate::model::period::Period;
use chrono::NaiveDate;
pub use named::{Code, DealRef, NamedDeals, NamedRows};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};
use table::PartnerTable;

#[derive(Debug, Clone)]
pub struct DealPlan {
    pub period: Period,
    /// Keep the rows that count in the previous period of the same length.
    pub previous_period: bool,
    /// Trailing windows of this many months ending at the period end: per-partner revenue and rows.
    pub window_months: Vec<u32>,
    /// Filters on rows closed before the period that still count at its end: per-partner counts.
    pub prior_filters: Vec<When>,
    /// Per prior filter: how many of each partner's first such rows, in (closed_on, deal_id)
    /// order, to name (a milestone's Nth deal, when it stands among earlier rows: SPEC §4.8).
    pub prior_firsts: Vec<u64>,
    /// Keep the rows closed from this day to the day before the period that still count at its end
    /// (`accumulate`: the earlier part of a quarter or year to date, SPEC §8.7).
    pub span_from: Option<NaiveDate>,
    /// Keep every row (whatever its status) closed on or after this day and before the period: the
    /// rows whose lines may still be held on the `pending` account (SPEC §8.2 `hold_days`).
    pub held_from: Option<chrono::NaiveDate>,
    /// The deal_ids payments and approval decisions name (SPEC §9.1, §9.3): a reference to every
    /// row of them (`DealData::named`), and the rows a run may pay on in full (`DealData::by_id`).
    pub named: Option<std::sync::Arc<NamedDeals>>,
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
    /// partner index → the first of those rows in (closed_on, deal_id) order, as many as the
    /// plan's `prior_firsts` asks.
    pub firsts: BTreeMap<usize, FirstRows>,
}

/// A partner's first rows, in (closed_on, deal_id) order: (closed_on, deal_id).
pub type FirstRows = Vec<(NaiveDate, String)>;

/// Keeps `list` the `keep` smallest of its rows and `row`, in order.
pub(super) fn keep_first(list: &mut FirstRows, row: (NaiveDate, &str), keep: u64) {
    let keep = usize::try_from(keep).unwrap_or(usize::MAX);
    let at = list.partition_point(|(d, id)| (*d, id.as_str()) < row);
    if at < keep {
        list.insert(at, (row.0, row.1.to_string()));
        list.truncate(keep);
    }
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
    /// The rows of the plan's `named` deals it keeps in full, whatever their dates, same order.
    pub by_id: Vec<Deal>,
    /// A reference to every row of the plan's `named` deals.
    pub named: NamedRows,
    /// The first and last `closed_on` of the file's rows (SPEC §2: a period with no data is most
    /// likely the wrong period or the wrong file).
    pub closed_range: Option<(NaiveDate, NaiveDate)>,
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

    /// The rows kept in full (`by_id`) keyed by (partner index, deal_id), for a lookup by id (a
    /// `full-payment` line's row, a decision's row), collected where it is first needed.
    pub fn by_id_keyed(&self) -> impl Iterator<Item = ((usize, &str), &Deal)> {
        self.by_id.iter().map(|d| ((d.partner, &*d.deal_id), d))
    }

    /// The partner's earlier rows passing `filter` that count at the period end.
    pub fn prior_count(&self, filter: &When, partner: usize) -> u64 {
        self.prior_counts
            .iter()
            .find(|p| p.filter == *filter)
            .and_then(|p| p.counts.get(&partner).copied())
            .unwrap_or(0)
    }

    /// The partner's first earlier rows passing `filter` (plan's `prior_firsts`), in order.
    pub fn prior_firsts(&self, filter: &When, partner: usize) -> &[(NaiveDate, String)] {
        self.prior_counts
            .iter()
            .find(|p| p.filter == *filter)
            .and_then(|p| p.firsts.get(&partner))
            .map_or(&[], Vec::as_slice)
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
    reversed_amount: Col,
    credit: Col,
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
    /// The first byte of the file's trailer, if it has one: every row from there on is skipped.
    trailer: Option<u64>,
}

/// A split row's fingerprints (rows with a share below 1 may share a deal_id).
#[derive(Debug, Clone, Copy)]
struct Split {
    deal: u64,
    pair: u64,
    share: Decimal,
}

/// Why a row was not taken.
enum Stop {
    /// A bad row: recorded, and the block goes on.
    Error(Error),
    /// A window sum too large to add block by block exactly: the pass is redone in file order.
    Inexact,
}

#[derive(Default)]
struct BlockOut {
    seq: usize,
    /// The line of the first row of the file's trailer, when this block reached it (skipped).
    footer_line: Option<u64>,
    /// The block's length in bytes.
    bytes: u64,
    rows: u64,
    current: Vec<Deal>,
    previous: Vec<Deal>,
    reversals: Vec<Deal>,
    earlier: Vec<Deal>,
    held: Vec<Deal>,
    by_id: Vec<Deal>,
    named: Vec<DealRef>,
    closed_range: Option<(NaiveDate, NaiveDate)>,
    /// Per window: (partner, revenue, rows, units) summed over the block.
    windows: Vec<Vec<(usize, Decimal, u64, Decimal)>>,
    /// Per prior filter: (partner, rows).
    prior: Vec<Vec<(usize, u64)>>,
    /// Per prior filter: (partner, its first rows in the block).
    prior_firsts: Vec<Vec<(usize, FirstRows)>>,
    whole: Vec<u64>,
    splits: Vec<Split>,
    /// The block's bad rows, in file order (at most [`crate::error::MAX_ROW_ERRORS`]), and how many
    /// more it had.
    errors: Vec<Error>,
    more_errors: u64,
    /// A sum too large to add block by block: the block stopped there.
    inexact: bool,
}

impl BlockOut {
    /// Records why a row was not taken; returns whether the block stops (an inexact sum).
    fn fail(&mut self, stop: Stop) -> bool {
        match stop {
            Stop::Error(e) if self.errors.len() < crate::error::MAX_ROW_ERRORS => {
                self.errors.push(e);
                false
            }
            Stop::Error(_) => {
                self.more_errors += 1;
                false
            }
            Stop::Inexact => {
                self.inexact = true;
                true
            }
        }
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
    let ctx = Ctx::new(&csv, plan, partners, fx, options, sequential)?;
    let mut merged = Merged::new(plan, partners.len(), csv.data_start().0);
    let sha256 = stream(path, &ctx, csv.data_start(), options, &mut merged, progress)?;
    if merged.inexact || plan.minor_units > 8 {
        // Sequential sums are exact by construction; a parallel pass is redone in file order.
        if !sequential {
            return Ok(Pass::Inexact);
        }
    }
    let Merged {
        mut data,
        whole,
        splits,
        mut errors,
        footer_line,
        read,
        ..
    } = merged;
    // The whole-file checks: which fingerprints need an exact look.
    let suspects = keys::suspects(whole, splits);
    if !suspects.is_empty() {
        keys::exact_check(path, &ctx, &suspects, &mut errors)?;
    }
    errors.finish()?;
    let Some(sha256) = sha256 else {
        unreachable!("the reader stops early only for an inexact pass");
    };
    data.sort();
    if let Some(named) = &plan.named {
        data.named.index(named.clone());
    }
    progress(DealsRead {
        rows: data.rows,
        bytes: read,
    });
    let digest = csv.block_digest(sha256, data.rows, footer_line);
    Ok(Pass::Done(Box::new(data.shrunk()), digest))
}

impl<'a> Ctx<'a> {
    fn new(
        csv: &'a CsvFile,
        plan: &'a DealPlan,
        partners: &'a PartnerSet,
        fx: &'a FxTable,
        options: &'a LoadOptions,
        sequential: bool,
    ) -> Result<Ctx<'a>> {
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
        let column = |name| csv.column(name);
        Ok(Ctx {
            file: &csv.file,
            columns: csv.columns(),
            col: DealColumns {
                deal_id: column("deal_id"),
                partner_id: column("partner_id"),
                closed_on: column("closed_on"),
                amount: column("amount"),
                currency: column("currency"),
                share: column("share"),
                quantity: column("quantity"),
                product: column("product"),
                customer_type: column("customer_type"),
                deal_name: column("deal_name"),
                source: column("source"),
                status: column("status"),
                reversed_on: column("reversed_on"),
                reversed_amount: column("reversed_amount"),
                credit: column("credit"),
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
            trailer: csv.trailer().map(|t| t.offset),
        })
    }
}

/// The blocks' results merged in file order.
struct Merged {
    data: DealData,
    /// Full-share rows' deal fingerprints, bucketed by their first byte.
    whole: Vec<Vec<u64>>,
    splits: Vec<Split>,
    errors: RowErrors,
    inexact: bool,
    footer_line: Option<u64>,
    /// The bytes of deals.csv the merged blocks end at.
    read: u64,
    /// The plan's `prior_firsts`.
    prior_firsts: Vec<u64>,
}

impl Merged {
    fn new(plan: &DealPlan, partners: usize, data_byte: u64) -> Merged {
        Merged {
            data: DealData {
                windows: plan
                    .window_months
                    .iter()
                    .map(|&months| WindowTotals {
                        months,
                        totals: vec![(Decimal::ZERO, 0); partners],
                        units: vec![Decimal::ZERO; partners],
                    })
                    .collect(),
                prior_counts: plan
                    .prior_filters
                    .iter()
                    .map(|filter| PriorCounts {
                        filter: filter.clone(),
                        counts: BTreeMap::new(),
                        firsts: BTreeMap::new(),
                    })
                    .collect(),
                ..DealData::default()
            },
            whole: vec![Vec::new(); 256],
            splits: Vec::new(),
            errors: RowErrors::new(),
            inexact: false,
            footer_line: None,
            read: data_byte,
            prior_firsts: plan.prior_firsts.clone(),
        }
    }

    /// Adds a block's rows, sums and errors. Returns whether the pass must stop (an inexact sum).
    fn add(&mut self, out: BlockOut, sequential: bool) -> bool {
        let data = &mut self.data;
        self.footer_line = self.footer_line.or(out.footer_line);
        data.rows += out.rows;
        data.current.extend(out.current);
        data.previous.extend(out.previous);
        data.reversals.extend(out.reversals);
        data.earlier.extend(out.earlier);
        data.held.extend(out.held);
        data.by_id.extend(out.by_id);
        data.named.push(out.named);
        data.closed_range = widen(data.closed_range, out.closed_range);
        for (w, part) in out.windows.into_iter().enumerate() {
            for (p, revenue, rows, units) in part {
                let (total, n) = &mut data.windows[w].totals[p];
                match total.checked_add(revenue) {
                    Some(t) if t < exact_limit() || sequential => *total = t,
                    _ => self.inexact = true,
                }
                *n += rows;
                let sum = &mut data.windows[w].units[p];
                match sum.checked_add(units) {
                    Some(t) if t < exact_limit() || sequential => *sum = t,
                    _ => self.inexact = true,
                }
            }
        }
        for (f, part) in out.prior.into_iter().enumerate() {
            for (p, n) in part {
                *data.prior_counts[f].counts.entry(p).or_insert(0) += n;
            }
        }
        for (f, part) in out.prior_firsts.into_iter().enumerate() {
            let keep = self.prior_firsts.get(f).copied().unwrap_or(0);
            for (p, rows) in part {
                let list = data.prior_counts[f].firsts.entry(p).or_default();
                for (day, id) in &rows {
                    keep_first(list, (*day, id), keep);
                }
            }
        }
        for fp in out.whole {
            self.whole[usize::from(fp.to_be_bytes()[0])].push(fp);
        }
        self.splits.extend(out.splits);
        for e in out.errors {
            self.errors.push(e);
        }
        self.errors.count_more(out.more_errors);
        self.inexact |= out.inexact;
        self.inexact
    }
}

/// The smallest range holding both.
fn widen(
    a: Option<(NaiveDate, NaiveDate)>,
    b: Option<(NaiveDate, NaiveDate)>,
) -> Option<(NaiveDate, NaiveDate)> {
    match (a, b) {
        (Some((a0, a1)), Some((b0, b1))) => Some((a0.min(b0), a1.max(b1))),
        (a, b) => a.or(b),
    }
}

/// Streams deals.csv: a reader thread cuts it into blocks, `workers` threads parse them, and the
/// results are merged here in file order. Returns the file's SHA-256 (`None` when the pass stopped
/// early on an inexact sum).
fn stream(
    path: &Path,
    ctx: &Ctx,
    (data_byte, data_line): (u64, u64),
    options: &LoadOptions,
    merged: &mut Merged,
    progress: &mut dyn FnMut(DealsRead),
) -> Result<Option<String>> {
    let stop = AtomicBool::new(false);
    let workers = options.workers.max(1);
    let (block_tx, block_rx) = mpsc::sync_channel::<Block>(workers);
    let block_rx = Mutex::new(block_rx);
    let (out_tx, out_rx) = mpsc::channel::<BlockOut>();
    std::thread::scope(|scope| -> Result<Option<String>> {
        let reader = scope.spawn(|| {
            crate::input::blocks::read_blocks(
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
            let (block_rx, stop) = (&block_rx, &stop);
            scope.spawn(move || parse_blocks(ctx, block_rx, stop, &out_tx));
        }
        drop(out_tx);
        let mut pending: BTreeMap<usize, BlockOut> = BTreeMap::new();
        let mut next = 0usize;
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
                    merged.read = merged.read.saturating_add(out.bytes);
                    halted = merged.add(out, ctx.sequential);
                    stop.store(halted, Ordering::Relaxed);
                    progress(DealsRead {
                        rows: merged.data.rows,
                        bytes: merged.read,
                    });
                }
            }
        }
        if let Some(out) = final_sums {
            merged.add(out, ctx.sequential);
        }
        reader.join().expect("the deals reader panicked")
    })
}

/// One parsing thread: takes blocks until there are none, sends each block's result. With
/// `sequential` (one thread) the window sums stay in its accumulator until the end, added in file
/// order, and are sent last (`seq` = `usize::MAX`).
fn parse_blocks(
    ctx: &Ctx,
    block_rx: &Mutex<mpsc::Receiver<Block>>,
    stop: &AtomicBool,
    out_tx: &mpsc::Sender<BlockOut>,
) {
    let mut acc = row::Acc::new(ctx);
    loop {
        let next = block_rx.lock().map(|rx| rx.recv());
        let Ok(Ok(block)) = next else { break };
        if stop.load(Ordering::Relaxed) {
            continue;
        }
        let mut out = stream::parse_block(ctx, &block, &mut acc);
        if ctx.sequential {
            out.windows = vec![Vec::new(); acc.windows.len()];
            out.prior = vec![Vec::new(); acc.prior.len()];
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
}

impl DealData {
    /// Orders every kept set by (partner, closed_on, deal_id): (partner, deal_id) is unique in a
    /// valid file, so an unstable sort orders as a stable one.
    fn sort(&mut self) {
        let order = |a: &Deal, b: &Deal| {
            (a.partner, a.closed_on, &a.deal_id).cmp(&(b.partner, b.closed_on, &b.deal_id))
        };
        // The period's rows are most of what is kept (~800,000 at 10M rows): sorted on every core.
        rayon::slice::ParallelSliceMut::par_sort_unstable_by(&mut self.current[..], order);
        self.previous.sort_unstable_by(order);
        self.reversals.sort_unstable_by(order);
        self.earlier.sort_unstable_by(order);
        self.held.sort_unstable_by(order);
        self.by_id.sort_unstable_by(order);
    }

    fn shrunk(mut self) -> DealData {
        self.current.shrink_to_fit();
        self.previous.shrink_to_fit();
        self.reversals.shrink_to_fit();
        self.earlier.shrink_to_fit();
        self.held.shrink_to_fit();
        self.by_id.shrink_to_fit();
        self
    }
}
