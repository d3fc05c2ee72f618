//! One deal row: validated as a single pass does, its keys fingerprinted, and kept where the plan
//! asks. Split into small steps the compiler inlines back into the stream's loop.

use super::ahead::Ahead;
use super::named::Named;
use super::{BlockOut, Code, Ctx, DealRef, Split, Stop, exact_limit, fold};
use crate::error::Error;
use crate::input::blocks::Block;
use crate::input::{Credit, Deal, DealSource, DealStatus, FnvBuild, Row};
use crate::model::Text;
use crate::model::money::is_currency_code;
use crate::model::period::counts_in;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::HashSet;

/// A parsing thread's running window sums (dense by partner), flushed per block.
pub(super) struct Acc {
    pub(super) windows: Vec<Vec<(Decimal, u64, Decimal)>>,
    pub(super) prior: Vec<Vec<u64>>,
    /// Per prior filter the plan names first rows of, by partner: the first rows (`prior_firsts`).
    prior_firsts: Vec<Vec<super::FirstRows>>,
    touched: Vec<bool>,
    touched_list: Vec<usize>,
    /// One shared copy of each product, customer type and currency the thread has kept.
    texts: HashSet<Text, FnvBuild>,
}

impl Acc {
    pub(super) fn new(ctx: &Ctx) -> Acc {
        let n = ctx.partners.len();
        Acc {
            windows: vec![vec![(Decimal::ZERO, 0, Decimal::ZERO); n]; ctx.windows.len()],
            prior: vec![vec![0; n]; ctx.plan.prior_filters.len()],
            prior_firsts: (ctx.plan.prior_firsts.iter())
                .map(|&k| {
                    if k > 0 {
                        vec![Vec::new(); n]
                    } else {
                        Vec::new()
                    }
                })
                .collect(),
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

    pub(super) fn flush(&mut self, out: &mut BlockOut) {
        out.windows = vec![Vec::new(); self.windows.len()];
        out.prior = vec![Vec::new(); self.prior.len()];
        out.prior_firsts = vec![Vec::new(); self.prior_firsts.len()];
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
            for (f, firsts) in self.prior_firsts.iter_mut().enumerate() {
                if let Some(rows) = firsts.get_mut(p).filter(|rows| !rows.is_empty()) {
                    out.prior_firsts[f].push((p, std::mem::take(rows)));
                }
            }
        }
        self.touched_list.clear();
    }
}

fn row_error(error: Error) -> Stop {
    Stop::Error(error)
}

/// A row's cells, read and checked.
struct Cells<'a> {
    deal_id: &'a str,
    partner: usize,
    closed_on: NaiveDate,
    amount: Decimal,
    currency: &'a str,
    share: Decimal,
    quantity: u64,
    source: DealSource,
    status: DealStatus,
    reversed_on: Option<NaiveDate>,
    /// A partial reversal's amount (SPEC §9.6); `None` for a full one.
    reversed_amount: Option<Decimal>,
    credit: Credit,
}

impl Cells<'_> {
    /// The day the row stops counting: a partial reversal keeps it counting (SPEC §9.6).
    fn full_reversal(&self) -> Option<NaiveDate> {
        crate::model::full_reversal(self.reversed_on, self.reversed_amount)
    }
}

/// Which of the run's sets a row belongs to (SPEC §2 "counts in a period", and the plan's history).
struct Kept {
    in_current: bool,
    in_previous: bool,
    reversed_in_period: bool,
    in_a_window: bool,
    before_period: bool,
    in_span: bool,
    held: bool,
    /// Its deal_id is named by a payment or a decision: the slot, and whether the row is kept in
    /// full (payments, approvals).
    named: Option<u32>,
    by_id: bool,
}

impl Kept {
    /// Whether the row is kept as a deal (window sums and prior counts aside).
    fn as_deal(&self) -> bool {
        self.in_current
            || self.in_previous
            || self.reversed_in_period
            || self.in_span
            || self.held
            || self.by_id
    }
}

/// Where a row's deal_id finds the named deals: its block's lookups done ahead, else the table.
pub(super) struct NamedCell<'a, 'b> {
    pub ahead: &'a mut Ahead,
    pub block: &'b Block,
}

impl NamedCell<'_, '_> {
    #[inline]
    fn find(self, ctx: &Ctx, deal_id: &str) -> Option<Named> {
        let named = ctx.plan.named.as_ref()?;
        self.ahead
            .take(self.block, deal_id)
            .unwrap_or_else(|| named.find(deal_id))
    }
}

/// One row: validated as a single pass does, its keys fingerprinted, and kept if the plan asks.
#[inline]
pub(super) fn deal_row(
    ctx: &Ctx,
    row: &Row,
    named: NamedCell,
    acc: &mut Acc,
    out: &mut BlockOut,
) -> Result<(), Stop> {
    let cells = read_cells(ctx, row)?;
    record_keys(ctx, &cells, out);
    out.closed_range = match out.closed_range {
        Some((first, last)) => Some((first.min(cells.closed_on), last.max(cells.closed_on))),
        None => Some((cells.closed_on, cells.closed_on)),
    };
    let kept = kept(ctx, &cells, named.find(ctx, cells.deal_id));
    if let Some(slot) = kept.named {
        out.named.push(DealRef {
            slot,
            partner: u32::try_from(cells.partner).unwrap_or(u32::MAX),
            currency: Code::new(cells.currency),
            kept: kept.by_id,
        });
    }
    if !(kept.as_deal() || kept.in_a_window || kept.before_period) {
        return Ok(());
    }
    let credited = credited(ctx, row, &cells, ctx.plan.period.end)?;
    let product = row.get(ctx.col.product);
    let customer_type = row.get(ctx.col.customer_type);
    if kept.in_a_window {
        add_to_windows(ctx, row, &cells, credited, acc)?;
    }
    if kept.before_period {
        count_prior(ctx, &cells, product, customer_type, credited, acc);
    }
    if !kept.as_deal() {
        return Ok(());
    }
    let deal = Deal {
        deal_id: cells.deal_id.into(),
        partner: cells.partner,
        closed_on: cells.closed_on,
        amount: cells.amount,
        currency: acc.intern(cells.currency),
        share: cells.share,
        quantity: cells.quantity,
        credited,
        product: product.map(|p| acc.intern(p)),
        customer_type: customer_type.map(|c| acc.intern(c)),
        deal_name: row.get(ctx.col.deal_name).map(Into::into),
        source: cells.source,
        status: cells.status,
        reversed_on: cells.reversed_on,
        reversed_amount: cells.reversed_amount,
        credit: cells.credit,
    };
    // A row of the previous period is measured as of that period's end: a partial reversal since
    // does not reduce it there (SPEC §9.6).
    let previous_credited = match cells.reversed_amount {
        Some(_) if kept.in_previous => Some(self::credited(ctx, row, &cells, ctx.previous.end)?),
        _ => None,
    };
    keep(deal, &kept, previous_credited, out);
    Ok(())
}

/// Reads and checks every cell of the row.
#[inline]
fn read_cells<'a>(ctx: &'a Ctx<'_>, row: &Row<'a>) -> Result<Cells<'a>, Stop> {
    let col = &ctx.col;
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
        None => ctx.plan.currency.as_str(),
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
    let (status, reversed_on) = reversal(ctx, row, closed_on)?;
    let reversed_amount = reversed_amount(ctx, row, status, amount)?;
    let credit = match row
        .choice(col.credit, &["split", "overlay"])
        .map_err(row_error)?
    {
        Some("overlay") => Credit::Overlay,
        _ => Credit::Split,
    };
    Ok(Cells {
        deal_id,
        partner,
        closed_on,
        amount,
        currency,
        share,
        quantity,
        source,
        status,
        reversed_on,
        reversed_amount,
        credit,
    })
}

/// SPEC §9.6 `reversed_amount`: money, 0 < x ≤ amount, only on a refunded or cancelled row. The whole
/// amount is a full reversal (`None`, as without the column).
#[inline]
fn reversed_amount(
    ctx: &Ctx,
    row: &Row,
    status: DealStatus,
    amount: Decimal,
) -> Result<Option<Decimal>, Stop> {
    let col = ctx.col.reversed_amount;
    // Read as a plain decimal: a negative one is told what the cell means, not "zero or more".
    let Some(x) = row.decimal(col).map_err(row_error)? else {
        return Ok(None);
    };
    let problem = if status == DealStatus::Won {
        Some("a won deal has no reversed amount; set status to refunded or cancelled, or clear reversed_amount".to_string())
    } else if x <= Decimal::ZERO {
        Some("expected the part of the amount reversed: more than 0".to_string())
    } else if x > amount {
        Some(format!(
            "the reversed amount is more than the deal's amount {amount}"
        ))
    } else {
        None
    };
    match problem {
        Some(message) => Err(row_error(row.error(col, &x.to_string(), message))),
        None if x == amount => Ok(None),
        None => Ok(Some(x)),
    }
}

/// The row's status and reversal date, which must agree (SPEC §2).
#[inline]
fn reversal(
    ctx: &Ctx,
    row: &Row,
    closed_on: NaiveDate,
) -> Result<(DealStatus, Option<NaiveDate>), Stop> {
    let col = &ctx.col;
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
        (DealStatus::Won, Some(r)) => Err(row_error(row.error(
            col.reversed_on,
            &r.to_string(),
            "a won deal has no reversal date; set status to refunded or cancelled, or clear reversed_on",
        ))),
        (DealStatus::Refunded | DealStatus::Cancelled, None) => Err(row_error(row.error(
            col.reversed_on,
            "",
            "a refunded or cancelled deal needs its reversal date",
        ))),
        (_, Some(r)) if r < closed_on => Err(row_error(row.error(
            col.reversed_on,
            &r.to_string(),
            format!("the reversal date is before closed_on {closed_on}"),
        ))),
        _ => Ok((status, reversed_on)),
    }
}

/// The whole-file checks (unique (deal_id, partner_id); shares of a deal at most 1) are done on
/// fingerprints after the stream; a row with the full share can share its deal_id with no other.
#[inline]
fn record_keys(ctx: &Ctx, cells: &Cells, out: &mut BlockOut) {
    let deal_fp = (ctx.fingerprint)(cells.deal_id.as_bytes());
    // An overlay row is outside the deal's share sum (SPEC §9.4): kept with the split rows for the
    // uniqueness of (deal_id, partner_id), with no share of its own.
    if cells.credit == Credit::Overlay {
        out.splits.push(Split {
            deal: deal_fp,
            pair: fold(
                deal_fp ^ ctx.partner_fp[cells.partner].rotate_left(29),
                0x9E37_79B9_7F4A_7C15,
            ),
            share: Decimal::ZERO,
        });
    } else if cells.share == Decimal::ONE {
        out.whole.push(deal_fp);
    } else {
        out.splits.push(Split {
            deal: deal_fp,
            pair: fold(
                deal_fp ^ ctx.partner_fp[cells.partner].rotate_left(29),
                0x9E37_79B9_7F4A_7C15,
            ),
            share: cells.share,
        });
    }
}

#[inline]
fn kept(ctx: &Ctx, cells: &Cells, found: Option<Named>) -> Kept {
    let (plan, period) = (ctx.plan, &ctx.plan.period);
    let closed_on = cells.closed_on;
    // A partial reversal keeps the row counting (SPEC §9.6); it is still a clawback candidate in
    // the period that contains it.
    let reversed_on = cells.full_reversal();
    let counts_at_end = reversed_on.is_none_or(|r| r > period.end);
    Kept {
        in_current: counts_in(period, closed_on, reversed_on),
        in_previous: plan.previous_period && counts_in(&ctx.previous, closed_on, reversed_on),
        reversed_in_period: cells.reversed_on.is_some_and(|r| period.contains(r)),
        in_a_window: counts_at_end
            && closed_on <= period.end
            && ctx.windows.iter().any(|start| closed_on >= *start),
        before_period: closed_on < period.start && counts_at_end && !plan.prior_filters.is_empty(),
        in_span: counts_at_end
            && closed_on < period.start
            && plan.span_from.is_some_and(|from| closed_on >= from),
        held: plan
            .held_from
            .is_some_and(|from| closed_on >= from && closed_on < period.start),
        named: found.map(|f| f.slot),
        by_id: found.is_some_and(|f| f.keeps(closed_on, cells.reversed_on)),
    }
}

/// amount × share × the fx rate on closed_on, rounded once (SPEC §4.11), as of `as_of`: from a
/// partial reversal's `reversed_on` on, the amount is what is left (SPEC §9.6).
#[inline]
fn credited(ctx: &Ctx, row: &Row, cells: &Cells, as_of: NaiveDate) -> Result<Decimal, Stop> {
    let (plan, col) = (ctx.plan, &ctx.col);
    let currency = cells.currency;
    let rate = ctx
        .fx
        .rate_on(currency, cells.closed_on)
        .map_err(|m| Stop::Error(row.error(col.currency, currency, m)))?;
    let amount = match (cells.reversed_amount, cells.reversed_on) {
        (Some(x), Some(on)) if on <= as_of => cells.amount - x,
        _ => cells.amount,
    };
    amount
        .checked_mul(cells.share)
        .and_then(|v| v.checked_mul(rate))
        .map(|v| plan.rounding.round(v, plan.minor_units))
        .filter(|v| crate::model::money::within_limits(*v))
        .ok_or_else(|| {
            let partner_id = &ctx.partners.partners[cells.partner].id;
            let (deal_id, share) = (cells.deal_id, cells.share);
            Stop::Error(row.error(
                col.amount,
                &cells.amount.to_string(),
                format!(
                    "partner {partner_id}, deal {deal_id}: the credited amount (amount × share {share} × {currency} rate {rate}) is 10^20 or more, beyond what payline can compute; check the amount and the fx rate"
                ),
            ))
        })
}

/// Adds the row to the partner's trailing-window sums. Sums that could round differently block by
/// block stop the parallel pass (`Stop::Inexact`): it is redone in file order.
fn add_to_windows(
    ctx: &Ctx,
    row: &Row,
    cells: &Cells,
    credited: Decimal,
    acc: &mut Acc,
) -> Result<(), Stop> {
    let partner = cells.partner;
    acc.touch(partner);
    for (start, window) in ctx.windows.iter().zip(acc.windows.iter_mut()) {
        if cells.closed_on < *start {
            continue;
        }
        let (revenue, rows, units) = &mut window[partner];
        // Units sums are exact in any order only for shares of at most 8 decimals.
        let row_units = match cells.quantity {
            1 => Some(cells.share),
            q => Decimal::from(q).checked_mul(cells.share),
        };
        match row_units.and_then(|u| units.checked_add(u)) {
            Some(v) if ctx.sequential || (v < exact_limit() && cells.share.scale() <= 8) => {
                *units = v;
            }
            None if ctx.sequential => {
                return Err(Stop::Error(row.error(
                    ctx.col.quantity,
                    &cells.quantity.to_string(),
                    "the partner's units over the levels window are too many to compute",
                )));
            }
            _ => return Err(Stop::Inexact),
        }
        match revenue.checked_add(credited) {
            Some(v) if ctx.sequential || v < exact_limit() => *revenue = v,
            Some(_) => return Err(Stop::Inexact),
            None if ctx.sequential => {
                return Err(Stop::Error(row.error(
                    ctx.col.amount,
                    &cells.amount.to_string(),
                    "the partner's revenue over the levels window is too large to compute",
                )));
            }
            None => return Err(Stop::Inexact),
        }
        *rows += 1;
    }
    Ok(())
}

/// Counts the row for each planned filter on earlier rows it passes (milestones).
fn count_prior(
    ctx: &Ctx,
    cells: &Cells,
    product: Option<&str>,
    customer_type: Option<&str>,
    credited: Decimal,
    acc: &mut Acc,
) {
    let partner = cells.partner;
    for (f, (prior, counts)) in (ctx.plan.prior_filters.iter())
        .zip(acc.prior.iter_mut())
        .enumerate()
    {
        if prior.matches_deal_keys(
            cells.closed_on,
            product,
            customer_type,
            cells.source,
            cells.credit,
            credited,
        ) {
            counts[partner] += 1;
            let keep = ctx.plan.prior_firsts.get(f).copied().unwrap_or(0);
            if let Some(firsts) = acc.prior_firsts.get_mut(f).and_then(|l| l.get_mut(partner)) {
                super::keep_first(firsts, (cells.closed_on, cells.deal_id), keep);
            }
            if !acc.touched[partner] {
                acc.touched[partner] = true;
                acc.touched_list.push(partner);
            }
        }
    }
}

/// Puts the deal in each set it belongs to.
#[inline]
fn keep(deal: Deal, kept: &Kept, previous_credited: Option<Decimal>, out: &mut BlockOut) {
    if kept.reversed_in_period {
        out.reversals.push(deal.clone());
    }
    if kept.held {
        out.held.push(deal.clone());
    }
    if kept.by_id {
        out.by_id.push(deal.clone());
    }
    if kept.in_previous {
        let credited = previous_credited.unwrap_or(deal.credited);
        out.previous.push(Deal {
            credited,
            ..deal.clone()
        });
    }
    if kept.in_span {
        out.earlier.push(deal.clone());
    }
    if kept.in_current {
        out.current.push(deal);
    }
}
