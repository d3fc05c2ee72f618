//! The deal_ids payments.csv and approvals.csv name (SPEC §9.1, §9.3). Every reference must be a
//! row of deals.csv, so the stream records a small [`DealRef`] of every row of a named deal (its
//! partner and currency: what the references are checked against); only the rows a run may pay on
//! are kept in full (`DealData::by_id`). A million payments name a million deals, most of them paid
//! long before the period: cloning each of their rows cost more than the rest of the run.

use crate::input::FnvBuild;
use crate::model::Text;
use chrono::NaiveDate;
use std::collections::HashMap;
use std::sync::Arc;

/// The named deal_ids, each with a slot (its index), and which of their rows to keep in full.
#[derive(Debug, Clone, Default)]
pub struct NamedDeals {
    slots: HashMap<Text, u32, FnvBuild>,
    /// By slot: the deal_id.
    ids: Vec<Text>,
    /// By slot: keep in full the rows closed or reversed on or after this day (`NaiveDate::MIN`:
    /// every row); `None`: no row (only its reference is checked).
    keep_from: Vec<Option<NaiveDate>>,
}

impl NamedDeals {
    /// Room for `deals` deal_ids: a million payments name as many deals, and growing the map
    /// step by step rehashes it twenty times.
    pub fn with_capacity(deals: usize) -> NamedDeals {
        NamedDeals {
            slots: HashMap::with_capacity_and_hasher(deals, FnvBuild::default()),
            ids: Vec::with_capacity(deals),
            keep_from: Vec::with_capacity(deals),
        }
    }

    /// The slot of `deal_id`, given one if it is new (keeping none of its rows yet).
    pub fn slot(&mut self, deal_id: &Text) -> u32 {
        let next = u32::try_from(self.ids.len()).expect("fewer than 2^32 deals are named");
        let slot = *self.slots.entry(deal_id.clone()).or_insert(next);
        if slot == next {
            self.ids.push(deal_id.clone());
            self.keep_from.push(None);
        }
        slot
    }

    /// Keeps in full the rows of the slot's deal closed or reversed on or after `from`.
    pub fn keep(&mut self, slot: u32, from: NaiveDate) {
        let keep = &mut self.keep_from[slot as usize];
        *keep = Some(keep.map_or(from, |k| k.min(from)));
    }

    /// Keeps every row of `deal_id` in full (once it is named).
    pub fn keep_all(&mut self, deal_id: &Text) -> u32 {
        let slot = self.slot(deal_id);
        self.keep(slot, NaiveDate::MIN);
        slot
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The slot of a named deal_id.
    #[inline]
    pub fn find(&self, deal_id: &str) -> Option<u32> {
        self.slots.get(deal_id).copied()
    }

    /// Whether a row of the slot's deal is kept in full.
    #[inline]
    pub fn keeps(&self, slot: u32, closed_on: NaiveDate, reversed_on: Option<NaiveDate>) -> bool {
        self.keep_from[slot as usize]
            .is_some_and(|from| closed_on >= from || reversed_on.is_some_and(|r| r >= from))
    }

    /// Whether any row of the slot's deal may be kept in full (its payments are needed).
    pub fn wanted(&self, slot: u32) -> bool {
        self.keep_from[slot as usize].is_some()
    }

    /// The slot's deal_id: one shared copy for every reference to it.
    pub fn id(&self, slot: u32) -> &Text {
        &self.ids[slot as usize]
    }
}

/// A row of a named deal, as its references are checked against it.
#[derive(Debug, Clone)]
pub struct DealRef {
    pub slot: u32,
    pub partner: usize,
    pub currency: Text,
}

/// Every row of the named deals (as [`DealRef`]s), grouped by slot.
#[derive(Debug, Clone, Default)]
pub struct NamedRows {
    pub deals: Arc<NamedDeals>,
    /// Sorted by (slot, partner): a deal's rows in partner order.
    rows: Vec<DealRef>,
    /// By slot: where its rows start in `rows` (one more entry: the end).
    starts: Vec<u32>,
}

impl NamedRows {
    pub(super) fn push(&mut self, rows: Vec<DealRef>) {
        self.rows.extend(rows);
    }

    /// Groups the rows by slot, once the stream has read them all.
    pub(super) fn index(&mut self, deals: Arc<NamedDeals>) {
        self.rows.sort_unstable_by_key(|r| (r.slot, r.partner));
        let slots = deals.ids.len();
        let mut starts = Vec::with_capacity(slots + 1);
        let mut at = 0usize;
        for slot in 0..slots {
            starts.push(u32::try_from(at).expect("fewer than 2^32 rows are named"));
            while at < self.rows.len() && self.rows[at].slot as usize == slot {
                at += 1;
            }
        }
        starts.push(u32::try_from(at).expect("fewer than 2^32 rows are named"));
        self.starts = starts;
        self.rows.shrink_to_fit();
        self.deals = deals;
    }

    /// The references of `rows` to the named deals, as the stream records them (tests).
    #[cfg(test)]
    pub(crate) fn from_deals(deals: NamedDeals, rows: &[crate::input::Deal]) -> NamedRows {
        let mut named = NamedRows::default();
        named.push(
            rows.iter()
                .filter_map(|d| {
                    deals.find(&d.deal_id).map(|slot| DealRef {
                        slot,
                        partner: d.partner,
                        currency: d.currency.clone(),
                    })
                })
                .collect(),
        );
        named.index(Arc::new(deals));
        named
    }

    /// The rows of deals.csv of the slot's deal (none: no row has its deal_id).
    pub fn of(&self, slot: u32) -> &[DealRef] {
        let s = slot as usize;
        match (self.starts.get(s), self.starts.get(s + 1)) {
            (Some(&a), Some(&b)) => &self.rows[a as usize..b as usize],
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_slot_keeps_rows_from_its_earliest_day() {
        let mut named = NamedDeals::default();
        let d1 = named.slot(&Text::from("D1"));
        let d2 = named.slot(&Text::from("D2"));
        assert_eq!(named.slot(&Text::from("D1")), d1);
        named.keep(d1, day("2026-10-01"));
        named.keep(d1, day("2026-09-01"));
        assert!(named.keeps(d1, day("2026-09-01"), None));
        assert!(!named.keeps(d1, day("2026-08-31"), None));
        assert!(named.keeps(d1, day("2026-08-31"), Some(day("2026-09-15"))));
        // Named but not kept: its reference is checked, its rows are not kept.
        assert!(!named.wanted(d2));
        assert!(!named.keeps(d2, day("2026-10-05"), None));
        assert_eq!(named.find("D2"), Some(d2));
        assert_eq!(named.find("D3"), None);
    }

    #[test]
    fn rows_are_grouped_by_slot_in_partner_order() {
        let mut named = NamedDeals::default();
        for id in ["D1", "D2", "D3"] {
            named.slot(&Text::from(id));
        }
        let usd = Text::from("USD");
        let r = |slot, partner| DealRef {
            slot,
            partner,
            currency: usd.clone(),
        };
        let mut rows = NamedRows::default();
        rows.push(vec![r(2, 5), r(0, 3), r(2, 1)]);
        rows.index(Arc::new(named));
        let partners = |slot| rows.of(slot).iter().map(|d| d.partner).collect::<Vec<_>>();
        assert_eq!(partners(0), vec![3]);
        assert_eq!(partners(1), Vec::<usize>::new());
        assert_eq!(partners(2), vec![1, 5]);
        assert_eq!(partners(7), Vec::<usize>::new());
    }
}
