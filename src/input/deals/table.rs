//! partner_id → partner index for the deal stream's hot lookup.

use super::fingerprint;
use crate::input::PartnerSet;

/// partner_id → partner index by fingerprint, open addressing; a miss (unknown id, or an id whose
/// fingerprint another took) goes to [`PartnerSet::lookup`], which decides and words the error. An id
/// of up to [`INLINE_ID`] bytes is kept in its slot, so the usual lookup touches one cache line
/// instead of three (slot, partner, the id's heap bytes): at ten million rows that is seconds.
pub(super) struct PartnerTable {
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

    pub(super) fn new(partners: &PartnerSet) -> PartnerTable {
        // At most two thirds full (linear probing stays short) and as small as that allows: at
        // 20,000 partners 1 MB of slots instead of 2 MB, mostly in a core's L2 cache, where the
        // lookup of every deal row otherwise waits on memory.
        let size = (partners.len() + partners.len() / 2 + 1)
            .next_power_of_two()
            .max(16);
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
    pub(super) fn find(&self, partners: &PartnerSet, id: &str) -> Option<usize> {
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

#[cfg(test)]
mod tests {
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
