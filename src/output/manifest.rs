//! manifest.json (SPEC §5): what went in (SHA-256 of every input), what came out (SHA-256 of every
//! output file, row counts, totals), and the SHA-256 of the previous run's manifest, so a chain of
//! months is a hash chain that any edit breaks. No timestamp: the same inputs give the same bytes.
//! `input::ledger` reads it back when this batch is next month's `--ledger`.

use crate::engine::Outcome;
use crate::error::{Error, Result};
use crate::input::FileDigest;
use crate::model::money::format_money;
use crate::model::period::Period;
use crate::program::Program;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Serialize)]
pub struct ManifestPeriod {
    pub id: String,
    pub first_day: String,
    pub last_day: String,
}

#[derive(Debug, Serialize)]
pub struct Manifest {
    pub tool: &'static str,
    pub version: &'static str,
    pub program_id: String,
    /// The program's `name`, for the documents rendered from the batch.
    pub program_name: String,
    pub period: ManifestPeriod,
    pub currency: String,
    /// The program's rounding mode (`half-up`, `half-even`): documents convert amounts with it.
    pub rounding: &'static str,
    pub allow_program_change: bool,
    /// SHA-256 of the `--ledger` directory's manifest.json; absent for the first run of a chain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_manifest_sha256: Option<String>,
    pub inputs: BTreeMap<String, FileDigest>,
    /// SHA-256 of every output file but this one, keyed by its path inside --out.
    pub outputs: BTreeMap<String, String>,
    pub rows: BTreeMap<&'static str, usize>,
    pub totals: BTreeMap<&'static str, String>,
    /// The first day of the earliest period with a line still on the `pending` account (SPEC §8.2):
    /// the next run keeps the deal rows closed since then, so every held line can be released or
    /// cancelled, whatever `hold_days` is then. Absent when nothing is pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_since: Option<String>,
    /// The chain's first day (SPEC §9.1), recorded by every batch: every later run of a program
    /// paying on payments takes the payments dated from it on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain_start: Option<String>,
}

impl Manifest {
    pub fn new(
        program: &Program,
        period: &Period,
        inputs: BTreeMap<String, FileDigest>,
        outcome: &Outcome,
        previous_manifest_sha256: Option<String>,
        allow_program_change: bool,
    ) -> Manifest {
        let units = program.minor_units();
        let sum = |f: fn(&crate::engine::Payout) -> Decimal| {
            format_money(outcome.payouts.iter().map(f).sum(), units)
        };
        let mut totals = BTreeMap::new();
        totals.insert("earned", sum(|p| p.earned));
        totals.insert("clawed_back", sum(|p| p.clawed_back));
        totals.insert("carried_in", sum(|p| p.carried_in));
        totals.insert("balance", sum(|p| p.balance));
        totals.insert("paid", sum(|p| p.paid));
        totals.insert("carried_out", sum(|p| p.carried_out));
        let mut rows = BTreeMap::new();
        rows.insert("payouts", outcome.payouts.len());
        rows.insert("lines", outcome.lines.len() + outcome.movements.len());
        rows.insert("balances", outcome.balances.len());
        if program.nudges.is_some() {
            rows.insert("nudges", outcome.nudges.len());
        }
        Manifest {
            tool: "payline",
            version: env!("CARGO_PKG_VERSION"),
            program_id: program.id.clone(),
            program_name: program.name.clone(),
            period: ManifestPeriod {
                id: period.to_string(),
                first_day: period.start.to_string(),
                last_day: period.end.to_string(),
            },
            currency: program.currency.clone(),
            rounding: program.rounding.name(),
            allow_program_change,
            previous_manifest_sha256,
            inputs,
            outputs: BTreeMap::new(),
            rows,
            totals,
            pending_since: outcome.pending_since.map(|d| d.to_string()),
            chain_start: Some(outcome.chain_start.to_string()),
        }
    }

    /// Writes manifest.json; `outputs` holds the SHA-256 of every other file of the batch.
    pub fn write(self, dir: &Path) -> Result<()> {
        let path = dir.join("manifest.json");
        let mut text = serde_json::to_string_pretty(&self).expect("the manifest serializes");
        text.push('\n');
        std::fs::write(&path, text).map_err(|e| Error::io("write", &path, e))
    }
}
