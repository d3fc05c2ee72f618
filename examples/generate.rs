//! Deterministic synthetic data for benchmarks: partners, deals over several months with skewed
//! per-partner volume (a few partners close most deals, as in real channels), activities, claims and
//! FX rates. The same arguments always write the same bytes.
//!
//! cargo run --release --example generate -- --partners 20000 --deals 10000000 --months 12 --out bench-data
// A synthetic data generator: its numbers are bounded by its own arguments and a seeded RNG, and
// its floats only shape the distribution of amounts written as text.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    clippy::cast_lossless
)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

/// splitmix64: tiny, fast and fully deterministic across platforms.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct Args {
    partners: u64,
    deals: u64,
    months: u32,
    out: PathBuf,
    seed: u64,
}

fn parse_args() -> Args {
    let mut args = Args {
        partners: 2_000,
        deals: 100_000,
        months: 12,
        out: PathBuf::from("bench-data"),
        seed: 7,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--partners" => args.partners = value.parse().expect("--partners N"),
            "--deals" => args.deals = value.parse().expect("--deals N"),
            "--months" => args.months = value.parse().expect("--months N"),
            "--out" => args.out = PathBuf::from(value),
            "--seed" => args.seed = value.parse().expect("--seed N"),
            other => panic!("unknown flag {other}; use --partners --deals --months --out --seed"),
        }
    }
    args
}

const TYPES: &[&str] = &[
    "referral",
    "affiliate",
    "reseller",
    "var",
    "agency",
    "distributor",
];
const REGIONS: &[&str] = &["NA", "EMEA", "APAC", "LATAM"];
const PRODUCTS: &[&str] = &["platform", "addon", "services", "hardware"];
const CUSTOMERS: &[&str] = &["new", "expansion", "smb", "enterprise"];

fn main() -> std::io::Result<()> {
    let a = parse_args();
    std::fs::create_dir_all(&a.out)?;
    let mut rng = Rng(a.seed);

    let mut w = BufWriter::new(File::create(a.out.join("partners.csv"))?);
    writeln!(
        w,
        "partner_id,name,type,region,quota,currency,status,kyc_verified,joined_on"
    )?;
    for i in 0..a.partners {
        let t = TYPES[rng.below(TYPES.len() as u64) as usize];
        let region = REGIONS[rng.below(4) as usize];
        let currency = match (region, rng.below(10)) {
            ("EMEA", 0..=3) => "EUR",
            ("APAC", 0..=1) => "JPY",
            _ => "",
        };
        let status = match rng.below(100) {
            0 => "suspended",
            1 => "terminated",
            _ => "active",
        };
        let kyc = if rng.below(50) == 0 { "false" } else { "true" };
        let quota = 10_000 * (1 + rng.below(30));
        writeln!(
            w,
            "P{i:07},Partner {i},{t},{region},{quota}.00,{currency},{status},{kyc},{}-{:02}-01",
            2020 + rng.below(7),
            1 + rng.below(12)
        )?;
    }
    w.flush()?;

    // Months end at 2026-10; deals spread evenly over them.
    let first_month = 2026 * 12 + 9 - (a.months as i64 - 1);
    let mut w = BufWriter::new(File::create(a.out.join("deals.csv"))?);
    writeln!(
        w,
        "deal_id,partner_id,closed_on,amount,currency,share,product,customer_type,source,status,reversed_on"
    )?;
    let mut i = 0u64;
    while i < a.deals {
        // Skew: u^3 puts most deals on the first partners.
        let partner = ((a.partners as f64) * rng.unit().powi(3)) as u64;
        let m = first_month + (i * a.months as u64 / a.deals) as i64;
        let (year, month) = (m / 12, m % 12 + 1);
        let day = 1 + rng.below(28);
        let amount = 100 + rng.below(60_000);
        let cents = rng.below(100);
        let currency = if rng.below(20) == 0 { "EUR" } else { "" };
        let product = PRODUCTS[rng.below(4) as usize];
        let customer = CUSTOMERS[rng.below(4) as usize];
        let source = if rng.below(5) == 0 {
            "influenced"
        } else {
            "sourced"
        };
        let split = rng.below(25) == 0 && i + 1 < a.deals;
        let (status, reversed) = if rng.below(40) == 0 {
            // 5 to 64 days after closing, in 28-day months (every generated day is at most 28).
            let (mut rm, mut rd) = (m, day as i64 + 5 + rng.below(60) as i64);
            while rd > 28 {
                rd -= 28;
                rm += 1;
            }
            (
                "refunded",
                format!("{}-{:02}-{rd:02}", rm / 12, rm % 12 + 1),
            )
        } else {
            ("won", String::new())
        };
        let share = if split { "0.5" } else { "" };
        writeln!(
            w,
            "D{i:09},P{partner:07},{year}-{month:02}-{day:02},{amount}.{cents:02},{currency},{share},{product},{customer},{source},{status},{reversed}"
        )?;
        if split {
            let other = (partner + 1 + rng.below(a.partners - 1)) % a.partners;
            writeln!(
                w,
                "D{i:09},P{other:07},{year}-{month:02}-{day:02},{amount}.{cents:02},{currency},0.5,{product},{customer},{source},{status},{reversed}"
            )?;
            i += 1;
        }
        i += 1;
    }
    w.flush()?;

    let mut w = BufWriter::new(File::create(a.out.join("activities.csv"))?);
    writeln!(w, "partner_id,activity,occurred_on,quantity")?;
    for _ in 0..(a.partners * 2) {
        let kind =
            ["certification", "training", "deal_registration", "lead"][rng.below(4) as usize];
        writeln!(
            w,
            "P{:07},{kind},2026-10-{:02},{}",
            rng.below(a.partners),
            1 + rng.below(28),
            1 + rng.below(5)
        )?;
    }
    w.flush()?;

    let mut w = BufWriter::new(File::create(a.out.join("claims.csv"))?);
    writeln!(w, "claim_id,partner_id,fund,amount,status,decided_on")?;
    for c in 0..(a.partners / 4) {
        let fund = if rng.below(2) == 0 { "mdf" } else { "coop" };
        let status = ["approved", "approved", "pending", "rejected"][rng.below(4) as usize];
        writeln!(
            w,
            "C{c:07},P{:07},{fund},{}.00,{status},2026-10-{:02}",
            rng.below(a.partners),
            100 + rng.below(5000),
            1 + rng.below(28)
        )?;
    }
    w.flush()?;

    let mut w = BufWriter::new(File::create(a.out.join("fx.csv"))?);
    writeln!(w, "date,currency,rate")?;
    for m in 0..=(a.months as i64 + 2) {
        let mm = first_month - 2 + m;
        let (year, month) = (mm / 12, mm % 12 + 1);
        writeln!(w, "{year}-{month:02}-01,EUR,1.{:04}", 500 + rng.below(1500))?;
        writeln!(
            w,
            "{year}-{month:02}-01,JPY,0.00{:04}",
            6000 + rng.below(1000)
        )?;
    }
    w.flush()?;
    eprintln!(
        "wrote {} partners and {} deal rows to {}",
        a.partners,
        a.deals,
        a.out.display()
    );
    Ok(())
}
