//! How much order helps looking a million deal_ids up in a table of a million named deals (the deal
//! stream's lookup when payments.csv names every deal, `input/deals/named.rs`), standalone:
//!     rustc -C opt-level=3 -C target-cpu=native scripts/bench/lookup_order.rs -o /tmp/lookup_order
//!     /tmp/lookup_order 1000000
//! The table is laid out as payline's (16-byte entries, three quarters full, linear probing, ids
//! compared as text by slot). Rows are looked up in file order, or a block of 50,000 at a time
//! sorted by fingerprint (table order); slots are numbered in naming order (the bench's
//! payments.csv names deals in file order) or in fingerprint order.
use std::time::Instant;

fn fingerprint(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[derive(Clone, Copy)]
struct Entry {
    fingerprint: u64,
    slot: u32,
    _keep_from: i32,
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(1_000_000, |a| a.parse().unwrap());
    let ids: Vec<String> = (0..n).map(|i| format!("D{i:09}")).collect();
    let size = n + n / 3 + 1;
    let home = |f: u64| ((u128::from(f) * size as u128) >> 64) as usize;
    for order in ["naming", "fingerprint"] {
        let mut named: Vec<usize> = (0..n).collect();
        if order == "fingerprint" {
            named.sort_by_key(|&i| fingerprint(ids[i].as_bytes()));
        }
        let empty = Entry {
            fingerprint: 0,
            slot: u32::MAX,
            _keep_from: 0,
        };
        let mut table = vec![empty; size];
        let (mut text, mut ends) = (String::new(), Vec::new());
        for &i in &named {
            let f = fingerprint(ids[i].as_bytes());
            let mut at = home(f);
            while table[at].slot != u32::MAX {
                at = if at + 1 == size { 0 } else { at + 1 };
            }
            table[at] = Entry {
                fingerprint: f,
                slot: ends.len() as u32,
                _keep_from: 0,
            };
            text.push_str(&ids[i]);
            ends.push(text.len());
        }
        let id = |s: u32| {
            let s = s as usize;
            &text[if s == 0 { 0 } else { ends[s - 1] }..ends[s]]
        };
        let find = |q: &str, f: u64| {
            let mut at = home(f);
            loop {
                let e = table[at];
                if e.slot == u32::MAX {
                    return None;
                }
                if e.fingerprint == f && id(e.slot) == q {
                    return Some(e.slot);
                }
                at = if at + 1 == size { 0 } else { at + 1 };
            }
        };
        let t = Instant::now();
        let mut a = 0u64;
        for q in &ids {
            a += u64::from(find(q, fingerprint(q.as_bytes())).unwrap());
        }
        let file_order = t.elapsed();
        let t = Instant::now();
        let mut b = 0u64;
        for block in ids.chunks(50_000) {
            let mut keys: Vec<(u64, u32)> = (block.iter().enumerate())
                .map(|(i, q)| (fingerprint(q.as_bytes()), i as u32))
                .collect();
            keys.sort_unstable();
            for (f, i) in keys {
                b += u64::from(find(&block[i as usize], f).unwrap());
            }
        }
        let sorted = t.elapsed();
        assert_eq!(a, b);
        println!(
            "slots in {order} order: rows in file order {file_order:?}, blocks sorted by fingerprint {sorted:?}"
        );
    }
}
