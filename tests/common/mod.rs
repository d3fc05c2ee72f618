//! Shared by the integration tests that run the bundled sample data.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The repository root: the sample programs and fixtures are relative to it.
pub fn repo(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(sub)
}

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
