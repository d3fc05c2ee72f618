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
