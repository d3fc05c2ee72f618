//! The deal_ids payments.csv and approvals.csv name (SPEC §9.1, §9.3). Every reference must be a
//! row of deals.csv, so the stream records a small [`DealRef`] of every row of a named deal (its
//! partner and currency: what the references are checked against); only the rows a run may pay on
//! are kept in full (`DealData::by_id`). A million payments name a million deals, most of them paid
//! long before the period: cloning each of their rows cost more than the rest of the run.

use super::fingerprint;
use chrono::{Datelike, NaiveDate};
use std::sync::Arc;

/// The named deal_ids, each with a slot (numbered as they are first named), and which of their rows
/// to keep in full. Found by fingerprint in an open-addressing table of 16-byte entries (what the
/// stream's lookup of every deal row needs besides the id's text), then compared as text.
#[derive(Debug, Clone, Default)]
pub struct NamedDeals {
    entries: Vec<Entry>,
    /// Every deal_id, one after the other; by slot, where its text ends.
    text: String,
    ends: Vec<usize>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    fingerprint: u64,
    slot: u32,
    /// Keep in full the rows closed or reversed on or after this day (days from the common era;
    /// [`KEEP_NONE`]: no row, only its reference is checked).
    keep_from: i32,
}

const EMPTY: u32 = u32::MAX;
const KEEP_NONE: i32 = i32::MAX;

/// A named deal as the stream finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Named {
    pub slot: u32,
    keep_from: i32,
}

impl Named {
    /// Whether a row of the deal is kept in full.
    #[inline]
    pub fn keeps(self, closed_on: NaiveDate, reversed_on: Option<NaiveDate>) -> bool {
        self.keep_from != KEEP_NONE
            && (closed_on.num_days_from_ce() >= self.keep_from
                || reversed_on.is_some_and(|r| r.num_days_from_ce() >= self.keep_from))
    }
}

impl NamedDeals {
    /// Room for `deals` deal_ids without growing (the table grows past them if need be).
    pub fn with_capacity(deals: usize) -> NamedDeals {
        let mut named = NamedDeals::default();
        named.resize(deals);
        named
    }

    /// At most three quarters full (linear probing stays short), and no larger: at a million
    /// deals that is 21 MB instead of the 32 MB of the next power of two.
    fn resize(&mut self, deals: usize) {
        let size = (deals + deals / 3 + 1).max(16);
        let empty = Entry {
            fingerprint: 0,
            slot: EMPTY,
            keep_from: KEEP_NONE,
        };
        let old = std::mem::replace(&mut self.entries, vec![empty; size]);
        for entry in old.into_iter().filter(|e| e.slot != EMPTY) {
            let mut at = self.home(entry.fingerprint);
            while self.entries[at].slot != EMPTY {
                at = self.after(at);
            }
            self.entries[at] = entry;
        }
    }

    /// The table position a fingerprint is looked for first: its place in the table's size, as a
    /// fraction of 2^64.
    fn home(&self, fp: u64) -> usize {
        let scaled = (u128::from(fp) * self.entries.len() as u128) >> 64;
        usize::try_from(scaled).unwrap_or(0)
    }

    /// The next position, round the end.
    #[inline]
    fn after(&self, at: usize) -> usize {
        if at + 1 == self.entries.len() {
            0
        } else {
            at + 1
        }
    }

    /// Where `deal_id` (of fingerprint `fp`) is in the table, or the empty entry it would take.
    #[inline]
    fn probe(&self, deal_id: &str, fp: u64) -> usize {
        let mut at = self.home(fp);
        loop {
            let entry = &self.entries[at];
            if entry.slot == EMPTY || (entry.fingerprint == fp && self.id(entry.slot) == deal_id) {
                return at;
            }
            at = self.after(at);
        }
    }

    /// Names `deal_id` (of fingerprint `fp`, [`fingerprint`]): its slot, given one if it is new.
    /// `keep_from`: keep in full its rows closed or reversed on or after that day (the earliest day
    /// any reference asks for counts).
    pub fn name(&mut self, deal_id: &str, fp: u64, keep_from: Option<NaiveDate>) -> u32 {
        if (self.ends.len() + 1) * 4 > self.entries.len() * 3 {
            self.resize((self.ends.len() + 1) * 2);
        }
        let keep = keep_from.map_or(KEEP_NONE, |d| d.num_days_from_ce());
        let at = self.probe(deal_id, fp);
        let entry = &mut self.entries[at];
        if entry.slot != EMPTY {
            entry.keep_from = entry.keep_from.min(keep);
            return entry.slot;
        }
        let slot = u32::try_from(self.ends.len()).expect("fewer than 2^32 deals are named");
        *entry = Entry {
            fingerprint: fp,
            slot,
            keep_from: keep,
        };
        self.text.push_str(deal_id);
        self.ends.push(self.text.len());
        slot
    }

    /// Names `deal_id`, keeping every row of it in full.
    pub fn keep_all(&mut self, deal_id: &str) -> u32 {
        self.name(
            deal_id,
            fingerprint(deal_id.as_bytes()),
            Some(NaiveDate::MIN),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// How many deals are named.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// A named deal_id's slot, and which of its rows to keep.
    #[inline]
    pub fn find(&self, deal_id: &str) -> Option<Named> {
        self.find_by(deal_id, fingerprint(deal_id.as_bytes()))
    }

    /// [`NamedDeals::find`] of a deal_id whose [`fingerprint`] is taken already.
    #[inline]
    pub fn find_by(&self, deal_id: &str, fp: u64) -> Option<Named> {
        if self.entries.is_empty() {
            return None;
        }
        let entry = &self.entries[self.probe(deal_id, fp)];
        (entry.slot != EMPTY).then_some(Named {
            slot: entry.slot,
            keep_from: entry.keep_from,
        })
    }

    /// Touches the entries of `fingerprints`' homes one after the other with nothing in between, so
    /// the processor fetches them at once; the lookups that follow find them in cache. Returns what
    /// it read, for `black_box`, so the loop is kept.
    pub fn warm(&self, fingerprints: impl Iterator<Item = u64>) -> u64 {
        if self.entries.is_empty() {
            return 0;
        }
        fingerprints.fold(0, |acc, fp| acc ^ self.entries[self.home(fp)].fingerprint)
    }

    /// The slot's deal_id.
    #[inline]
    pub fn id(&self, slot: u32) -> &str {
        let s = slot as usize;
        let start = if s == 0 { 0 } else { self.ends[s - 1] };
        &self.text[start..self.ends[s]]
    }
}

/// A currency code (three ASCII capitals, as every currency payline reads is): a row's reference
/// holds it in place of a shared string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code([u8; 3]);

impl Code {
    pub fn new(code: &str) -> Code {
        debug_assert!(crate::model::money::is_currency_code(code), "{code}");
        let mut bytes = [b'?'; 3];
        for (b, c) in bytes.iter_mut().zip(code.bytes()) {
            *b = c;
        }
        Code(bytes)
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

/// A row of a named deal, as its references are checked against it.
#[derive(Debug, Clone)]
pub struct DealRef {
    pub slot: u32,
    pub partner: u32,
    pub currency: Code,
    /// The row is kept in full (`DealData::by_id`): a run may pay on its deal's payments.
    pub kept: bool,
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
        // A million payments name as many rows: sorted on every core.
        let rows = &mut self.rows[..];
        rayon::slice::ParallelSliceMut::par_sort_unstable_by_key(rows, |r| (r.slot, r.partner));
        let slots = deals.len();
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
                    deals.find(&d.deal_id).map(|found| DealRef {
                        slot: found.slot,
                        partner: u32::try_from(d.partner).unwrap(),
                        currency: Code::new(&d.currency),
                        kept: found.keeps(d.closed_on, d.reversed_on),
                    })
                })
                .collect(),
        );
        named.index(Arc::new(deals));
        named
    }

    /// Whether a run may pay on the slot's deal's payments: a row of it is kept in full.
    pub fn has_kept_row(&self, slot: u32) -> bool {
        self.of(slot).iter().any(|r| r.kept)
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
    fn a_deal_keeps_rows_from_the_earliest_day_named() {
        let mut named = NamedDeals::default();
        let name = |named: &mut NamedDeals, id: &str, from: Option<&str>| {
            named.name(id, fingerprint(id.as_bytes()), from.map(day))
        };
        let d1 = name(&mut named, "D1", Some("2026-10-01"));
        let d2 = name(&mut named, "D2", None);
        assert_eq!(name(&mut named, "D1", Some("2026-09-01")), d1);
        assert_eq!(name(&mut named, "D1", None), d1);
        let found = named.find("D1").unwrap();
        assert!(found.keeps(day("2026-09-01"), None));
        assert!(!found.keeps(day("2026-08-31"), None));
        assert!(found.keeps(day("2026-08-31"), Some(day("2026-09-15"))));
        // Named but not kept: its reference is checked, its rows are not kept.
        let found = named.find("D2").unwrap();
        assert_eq!(found.slot, d2);
        assert!(!found.keeps(day("2026-10-05"), None));
        assert!(named.find("D3").is_none());
        // A long id (not inline) is found by its text.
        let long = "0065g00000AbCdEfGHIJ";
        let d4 = name(&mut named, long, None);
        assert_eq!((named.find(long).unwrap().slot, named.id(d4)), (d4, long));
        assert!(named.find("0065g00000AbCdEfGHIK").is_none());
    }

    #[test]
    fn the_table_grows_past_its_first_size() {
        let mut named = NamedDeals::default();
        let ids: Vec<String> = (0..1000).map(|i| format!("DEAL-{i}")).collect();
        for id in &ids {
            named.keep_all(id);
        }
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(named.find(id).unwrap().slot, u32::try_from(i).unwrap());
            assert_eq!(named.id(u32::try_from(i).unwrap()), id);
        }
    }

    #[test]
    fn rows_are_grouped_by_slot_in_partner_order() {
        let mut named = NamedDeals::default();
        for id in ["D1", "D2", "D3"] {
            named.keep_all(id);
        }
        let r = |slot, partner| DealRef {
            slot,
            partner,
            currency: Code::new("USD"),
            kept: true,
        };
        let mut rows = NamedRows::default();
        rows.push(vec![r(2, 5), r(0, 3), r(2, 1)]);
        rows.index(Arc::new(named));
        let partners = |slot| rows.of(slot).iter().map(|d| d.partner).collect::<Vec<_>>();
        assert_eq!(partners(0), vec![3]);
        assert_eq!(partners(1), Vec::<u32>::new());
        assert_eq!(partners(2), vec![1, 5]);
        assert_eq!(partners(7), Vec::<u32>::new());
    }

    #[test]
    fn deal_ids_of_one_fingerprint_keep_their_own_slots() {
        // Two deal_ids given the same fingerprint, as a collision would: each is found as itself.
        let mut named = NamedDeals::default();
        let a = named.name("DEAL-A", 7, None);
        let b = named.name("DEAL-B", 7, Some(NaiveDate::MIN));
        assert_ne!(a, b);
        assert_eq!(named.name("DEAL-B", 7, None), b);
        assert_eq!((named.id(a), named.id(b)), ("DEAL-A", "DEAL-B"));
        let next = named.after(named.probe("DEAL-A", 7));
        assert_eq!(named.probe("DEAL-B", 7), next);
    }
}
