//! Shared by the integration tests that run the bundled sample data.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The repository root: the sample programs and fixtures are relative to it.
pub fn repo(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(sub)
}

/// The core inputs of a run, and every input, as `Workdir::run_over` names them.
pub const CORE_FILES: &[&str] = &["program.toml", "partners.csv", "deals.csv"];
pub const ALL_FILES: &[&str] = &[
    "program.toml",
    "partners.csv",
    "deals.csv",
    "activities.csv",
    "claims.csv",
    "fx.csv",
];

/// Every sample data file, as command-line arguments (without --program and --period).
pub const SAMPLE_DATA: &[&str] = &[
    "--partners",
    "fixtures/partners.csv",
    "--deals",
    "fixtures/deals.csv",
    "--activities",
    "fixtures/activities.csv",
    "--claims",
    "fixtures/claims.csv",
    "--fx",
    "fixtures/fx.csv",
];

/// Lowercase hex SHA-256, as manifest.json records it.
#[allow(dead_code)]
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A scratch directory holding one test's files, with `payline` run from inside it.
pub struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).unwrap();
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap()
    }

    /// `payline run` in this directory over the named input files (`program.toml` is passed as
    /// `--program program.toml`, `deals.csv` as `--deals deals.csv`: the flag is the file's stem).
    pub fn run_over(&self, files: &[&str], period: &str, out: &str) -> assert_cmd::Command {
        let mut cmd = self.payline();
        cmd.arg("run");
        for file in files {
            let stem = file.split('.').next().unwrap_or(file);
            cmd.arg(format!("--{stem}")).arg(file);
        }
        cmd.args(["--period", period, "--out", out]);
        cmd
    }

    /// The built `payline` binary, run in this directory.
    pub fn payline(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::cargo_bin("payline").unwrap();
        cmd.current_dir(self.root());
        cmd
    }
}

/// A CSV file's rows as maps from header to cell (the batch's files, read as a user reads them).
pub fn csv_rows(path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            headers
                .iter()
                .zip(r.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// A money cell: its decimal, or 0 when empty (lines' and journal's optional amounts).
pub fn decimal_or_zero(text: &str) -> rust_decimal::Decimal {
    match text.is_empty() {
        true => rust_decimal::Decimal::ZERO,
        false => text.parse().unwrap(),
    }
}

type AccountSums = std::collections::BTreeMap<(String, String), rust_decimal::Decimal>;

/// A batch's ledger.csv summed per (partner, account), zero sums left out: what balances.csv must be.
pub fn ledger_sums(out: &Path) -> AccountSums {
    let mut sums = AccountSums::new();
    for r in csv_rows(&out.join("ledger.csv")) {
        *sums
            .entry((r["partner_id"].clone(), r["account"].clone()))
            .or_default() += decimal_or_zero(&r["amount"]);
    }
    sums.retain(|_, v| !v.is_zero());
    sums
}

/// A batch's balances.csv by (partner, account).
pub fn balances(out: &Path) -> AccountSums {
    csv_rows(&out.join("balances.csv"))
        .into_iter()
        .map(|r| {
            let balance = r["balance"].parse().unwrap();
            ((r["partner_id"].clone(), r["account"].clone()), balance)
        })
        .collect()
}

/// A scratch directory in memory (/dev/shm) where there is one: each batch is flushed to stable
/// storage (SPEC §7), and the properties that run chains of batches are about money, not disks.
pub fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    match shm.is_dir() {
        true => tempfile::tempdir_in(shm).unwrap_or_else(|_| tempfile::tempdir().unwrap()),
        false => tempfile::tempdir().unwrap(),
    }
}

/// journal.csv books the batch: every row is one debit or one credit, debits equal credits in all
/// and in every entry, and each partner's net credit to a liability account is what the period's
/// lines moved the payline account it stands for.
pub fn check_journal(out: &Path) -> Result<(), proptest::test_runner::TestCaseError> {
    use proptest::{prop_assert, prop_assert_eq};
    use rust_decimal::Decimal;
    let gl_account = |account: &str| match account {
        "payout" => "Partner payouts payable",
        "pending" => "Partner commissions pending",
        _ => "MDF payable",
    };
    let mut moved = AccountSums::new();
    for r in csv_rows(&out.join("lines.csv")) {
        *moved
            .entry((
                r["partner_id"].clone(),
                gl_account(&r["account"]).to_string(),
            ))
            .or_default() += decimal_or_zero(&r["amount"]);
    }
    let mut entries: std::collections::BTreeMap<String, Decimal> = Default::default();
    let mut booked = AccountSums::new();
    let (mut debits, mut credits) = (Decimal::ZERO, Decimal::ZERO);
    for r in csv_rows(&out.join("journal.csv")) {
        let (debit, credit) = (decimal_or_zero(&r["debit"]), decimal_or_zero(&r["credit"]));
        prop_assert!(
            debit.is_zero() != credit.is_zero(),
            "{}: a journal row is not one debit or one credit: {:?}",
            out.display(),
            r
        );
        debits += debit;
        credits += credit;
        *entries.entry(r["entry"].clone()).or_default() += debit - credit;
        if [
            "Partner payouts payable",
            "Partner commissions pending",
            "MDF payable",
        ]
        .contains(&r["account"].as_str())
        {
            *booked
                .entry((r["partner_id"].clone(), r["account"].clone()))
                .or_default() += credit - debit;
        }
    }
    prop_assert_eq!(
        debits,
        credits,
        "{}: journal.csv debits ≠ credits",
        out.display()
    );
    for (entry, net) in &entries {
        prop_assert!(
            net.is_zero(),
            "{}: journal entry {entry} does not balance: {net}",
            out.display()
        );
    }
    moved.retain(|_, v| !v.is_zero());
    booked.retain(|_, v| !v.is_zero());
    prop_assert_eq!(
        moved,
        booked,
        "{}: journal.csv does not book what lines.csv moved",
        out.display()
    );
    Ok(())
}

/// How many cases a property test runs: `default` in CI, or `PROPTEST_CASES` when set (a deeper run
/// by hand: `PROPTEST_CASES=5000 cargo test --release --test section9_properties`).
pub fn property_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
