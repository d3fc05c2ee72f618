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
