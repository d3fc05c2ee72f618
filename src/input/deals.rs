//! Streaming deals.csv. Every row is validated, but only what the run's [`DealPlan`] asks for is kept:
//! the rows that count in the period (and in the previous one, when a rule compares with it), the rows
//! reversed inside the period (for clawbacks), and per-partner summaries of older history (trailing
//! windows, counts of earlier rows passing a filter). The loader knows no rule: the plan is built by
//! `engine::plan` from what the rules declare, for one program or for both of `diff`'s.

use super::{
    Col, CsvFile, Deal, DealSource, DealStatus, FileDigest, FnvHasher, FxTable, PartnerSet,
};
use crate::error::{Error, Result};
use crate::model::money::Rounding;
use crate::model::money::is_currency_code;
use crate::model::period::{Period, counts_in};
use crate::program::When;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};
use std::path::Path;

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
    /// How a credited amount is rounded: the program currency's minor units and rounding mode.
    pub currency: String,
    pub rounding: Rounding,
    pub minor_units: u32,
}

/// Per-partner (credited revenue, rows) over a trailing window.
#[derive(Debug, Clone, Default)]
pub struct WindowTotals {
    pub months: u32,
    /// By partner index.
    pub totals: Vec<(Decimal, u64)>,
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

/// The keys are hashes already; hashing them again would only cost time.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u128(&mut self, key: u128) {
        // The low 64 bits of the key (FNV-1a's half) are already a good hash.
        self.0 = u64::try_from(key & u128::from(u64::MAX)).unwrap_or_default();
    }
}

type KeyMap<V> = HashMap<u128, V, BuildHasherDefault<KeyHasher>>;

/// deals.csv's columns, resolved once: the stream looks each cell up by index.
struct DealColumns {
    deal_id: Col,
    partner_id: Col,
    closed_on: Col,
    amount: Col,
    currency: Col,
    share: Col,
    product: Col,
    customer_type: Col,
    source: Col,
    status: Col,
    reversed_on: Col,
}

pub fn load_deals(
    path: &Path,
    plan: &DealPlan,
    partners: &PartnerSet,
    fx: &FxTable,
    progress: &mut dyn FnMut(u64),
) -> Result<(DealData, FileDigest)> {
    let mut csv = CsvFile::open(path, &["deal_id", "partner_id", "closed_on", "amount"])?;
    let col = DealColumns {
        deal_id: csv.column("deal_id"),
        partner_id: csv.column("partner_id"),
        closed_on: csv.column("closed_on"),
        amount: csv.column("amount"),
        currency: csv.column("currency"),
        share: csv.column("share"),
        product: csv.column("product"),
        customer_type: csv.column("customer_type"),
        source: csv.column("source"),
        status: csv.column("status"),
        reversed_on: csv.column("reversed_on"),
    };
    let period = &plan.period;
    let previous = period.previous();
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
    let mut data = DealData {
        windows: plan
            .window_months
            .iter()
            .map(|&months| WindowTotals {
                months,
                totals: vec![(Decimal::ZERO, 0); partners.len()],
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
    // About 70 bytes a row: sizing the tables up front saves rehashing millions of entries.
    let expected_rows = (csv.bytes / 70) as usize;
    let mut pairs: KeyMap<u64> =
        KeyMap::with_capacity_and_hasher(expected_rows, Default::default());
    let mut shares: KeyMap<Decimal> =
        KeyMap::with_capacity_and_hasher(expected_rows, Default::default());

    let mut read = 0u64;
    while let Some(row) = csv.next_row()? {
        read += 1;
        if read.is_multiple_of(100_000) {
            progress(read);
        }
        let deal_id = row.required(col.deal_id)?;
        let partner =
            partners.lookup(&row, col.partner_id, "unknown partner: not in partners.csv")?;
        let partner_id = partners.partners[partner].id.as_str();
        let closed_on = row.required_date(col.closed_on)?;
        let amount = row.required_money(col.amount)?;
        let currency = match row.get(col.currency) {
            None => plan.currency.as_str(),
            Some(c) if is_currency_code(c) => c,
            Some(c) => {
                return Err(row.error(col.currency, c, "expected an ISO 4217 code like EUR"));
            }
        };
        let share = match row.decimal(col.share)? {
            None => Decimal::ONE,
            Some(s) if s > Decimal::ZERO && s <= Decimal::ONE => s,
            Some(_) => {
                return Err(row.error(
                    col.share,
                    row.get(col.share).unwrap_or(""),
                    "expected a share greater than 0 and at most 1",
                ));
            }
        };
        let source = match row.choice(col.source, &["sourced", "influenced"])? {
            Some("influenced") => DealSource::Influenced,
            _ => DealSource::Sourced,
        };
        let status = match row.choice(col.status, &["won", "refunded", "cancelled"])? {
            None | Some("won") => DealStatus::Won,
            Some("refunded") => DealStatus::Refunded,
            _ => DealStatus::Cancelled,
        };
        let reversed_on = row.date(col.reversed_on)?;
        match (status, reversed_on) {
            (DealStatus::Won, Some(r)) => {
                return Err(row.error(col.reversed_on, &r.to_string(), "a won deal has no reversal date; set status to refunded or cancelled, or clear reversed_on"));
            }
            (DealStatus::Refunded | DealStatus::Cancelled, None) => {
                return Err(row.error(
                    col.reversed_on,
                    "",
                    "a refunded or cancelled deal needs its reversal date",
                ));
            }
            (_, Some(r)) if r < closed_on => {
                return Err(row.error(
                    col.reversed_on,
                    &r.to_string(),
                    format!("the reversal date is before closed_on {closed_on}"),
                ));
            }
            _ => {}
        }

        if let Some(first) = pairs.insert(key128(&[deal_id, partner_id]), row.line) {
            return Err(row.error(
                col.deal_id,
                deal_id,
                format!("duplicate (deal_id, partner_id) = ({deal_id}, {partner_id}); first on line {first}"),
            ));
        }
        let total_share = shares.entry(key128(&[deal_id])).or_insert(Decimal::ZERO);
        *total_share += share;
        if *total_share > Decimal::ONE {
            return Err(row.error(
                col.share,
                &share.to_string(),
                format!(
                    "the shares of deal {deal_id} add up to {} (at most 1)",
                    total_share
                ),
            ));
        }

        let in_current = counts_in(period, closed_on, reversed_on);
        let in_previous = plan.previous_period && counts_in(&previous, closed_on, reversed_on);
        let reversed_in_period = reversed_on.is_some_and(|r| period.contains(r));
        let counts_at_end = reversed_on.is_none_or(|r| r > period.end);
        let in_a_window = counts_at_end
            && closed_on <= period.end
            && windows.iter().any(|start| closed_on >= *start);
        let before_period =
            closed_on < period.start && counts_at_end && !plan.prior_filters.is_empty();
        if !(in_current || in_previous || reversed_in_period || in_a_window || before_period) {
            continue;
        }
        let rate = fx
            .rate_on(currency, closed_on)
            .map_err(|m| row.error(col.currency, currency, m))?;
        let credited = amount
            .checked_mul(share)
            .and_then(|v| v.checked_mul(rate))
            .map(|v| plan.rounding.round(v, plan.minor_units))
            .filter(|v| crate::model::money::within_limits(*v))
            .ok_or_else(|| {
                row.error(
                    col.amount,
                    &amount.to_string(),
                    format!(
                        "partner {partner_id}, deal {deal_id}: the credited amount (amount × share {share} × {currency} rate {rate}) is 10^20 or more, beyond what payline can compute; check the amount and the fx rate"
                    ),
                )
            })?;
        let product = row.get(col.product);
        let customer_type = row.get(col.customer_type);
        if in_a_window {
            for (start, window) in windows.iter().zip(data.windows.iter_mut()) {
                if closed_on >= *start {
                    let (revenue, rows) = &mut window.totals[partner];
                    *revenue = revenue.checked_add(credited).ok_or_else(|| {
                        row.error(
                            col.amount,
                            &amount.to_string(),
                            "the partner's revenue over the levels window is too large to compute",
                        )
                    })?;
                    *rows += 1;
                }
            }
        }
        if before_period {
            for prior in &mut data.prior_counts {
                if prior
                    .filter
                    .matches_deal_keys(product, customer_type, source, credited)
                {
                    *prior.counts.entry(partner).or_insert(0) += 1;
                }
            }
        }
        if !(in_current || in_previous || reversed_in_period) {
            continue;
        }
        let deal = Deal {
            deal_id: deal_id.to_string(),
            partner,
            closed_on,
            amount,
            currency: currency.to_string(),
            share,
            credited,
            product: product.map(str::to_string),
            customer_type: customer_type.map(str::to_string),
            source,
            status,
            reversed_on,
        };
        if reversed_in_period {
            data.reversals.push(deal.clone());
        }
        if in_previous {
            data.previous.push(deal.clone());
        }
        if in_current {
            data.current.push(deal);
        }
    }
    let order = |a: &Deal, b: &Deal| {
        (a.partner, a.closed_on, &a.deal_id).cmp(&(b.partner, b.closed_on, &b.deal_id))
    };
    data.current.sort_by(order);
    data.previous.sort_by(order);
    data.reversals.sort_by(order);
    let csv_rows = csv.rows;
    let digest = csv.finish()?;
    data.rows = csv_rows;
    progress(csv_rows);
    Ok((data, digest))
}
