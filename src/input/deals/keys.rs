//! The whole-file checks of deals.csv: (deal_id, partner_id) unique and the shares of a deal at most
//! 1, found on 64-bit fingerprints during the stream and confirmed with the exact keys.

use super::{Ctx, Split};
use crate::error::{Result, RowErrors};
use crate::input::CsvFile;
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// The deal fingerprints whose rows need an exact look: a full-share row's fingerprint seen again,
/// or split rows whose fingerprints say their shares exceed 1 or a (deal_id, partner_id) repeats.
/// Overlay rows (SPEC §9.4) come with the split rows, with a share of 0.
pub(super) fn suspects(mut whole: Vec<Vec<u64>>, mut splits: Vec<Split>) -> HashSet<u64> {
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

/// The exact look: re-reads the rows whose deal_id fingerprint is suspect and runs the exact checks on
/// them in file order; every duplicate and every deal whose shares exceed 1 is an error (rows with
/// an error of their own are left to the stream, which reported them).
pub(super) fn exact_check(
    path: &Path,
    ctx: &Ctx,
    suspects: &HashSet<u64>,
    errors: &mut RowErrors,
) -> Result<()> {
    let mut csv = CsvFile::open_as(
        path,
        &["deal_id", "partner_id", "closed_on", "amount"],
        ctx.dialect,
    )?;
    let col = &ctx.col;
    let mut pairs: HashMap<(String, String), u64> = HashMap::new();
    let mut shares: HashMap<String, Decimal> = HashMap::new();
    while let Some(row) = csv.next_row()? {
        let Ok(deal_id) = row.required(col.deal_id) else {
            continue;
        };
        if !suspects.contains(&(ctx.fingerprint)(deal_id.as_bytes())) {
            continue;
        }
        let Ok(partner) = ctx.partners.lookup(&row, col.partner_id, "") else {
            continue;
        };
        let Ok(share) = row.decimal(col.share) else {
            continue;
        };
        let share = share.unwrap_or(Decimal::ONE);
        // An overlay row is outside the share sum (SPEC §9.4), not outside uniqueness.
        let overlay = row.get(col.credit) == Some("overlay");
        let partner_id = ctx.partners.partners[partner].id.as_str();
        if let Some(first) = pairs.insert((deal_id.to_string(), partner_id.to_string()), row.line) {
            errors.push(row.error(
                col.deal_id,
                deal_id,
                format!("duplicate (deal_id, partner_id) = ({deal_id}, {partner_id}); first on line {first}"),
            ));
            continue;
        }
        if overlay {
            continue;
        }
        let total_share = shares.entry(deal_id.to_string()).or_insert(Decimal::ZERO);
        *total_share += share;
        if *total_share > Decimal::ONE {
            errors.push(row.error(
                col.share,
                &share.to_string(),
                format!(
                    "the shares of deal {deal_id} add up to {} (at most 1)",
                    total_share
                ),
            ));
        }
    }
    Ok(())
}
