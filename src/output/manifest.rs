//! manifest.json: what went in (SHA-256 of every input) and what came out (row counts, totals).
//! No timestamp: the same inputs give a byte-identical manifest.

use crate::engine::Outcome;
use crate::input::FileDigest;
use crate::money::format_money;
use crate::period::Period;
use crate::program::Program;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Serialize)]
pub struct Manifest {
    pub tool: &'static str,
    pub version: &'static str,
    pub program_id: String,
    pub period: String,
    pub currency: String,
    pub inputs: BTreeMap<String, FileDigest>,
    pub outputs: BTreeMap<&'static str, usize>,
    pub totals: BTreeMap<&'static str, String>,
}

impl Manifest {
    pub fn new(
        program: &Program,
        period: &Period,
        inputs: BTreeMap<String, FileDigest>,
        outcome: &Outcome,
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
        totals.insert(
            "lines",
            format_money(outcome.lines.iter().map(|l| l.amount).sum(), units),
        );
        let mut outputs = BTreeMap::new();
        outputs.insert("payouts", outcome.payouts.len());
        outputs.insert("lines", outcome.lines.len());
        outputs.insert("balances", outcome.balances.len());
        outputs.insert("statements", outcome.payouts.len());
        if program.nudges.is_some() {
            outputs.insert("nudges", outcome.nudges.len());
        }
        Manifest {
            tool: "payline",
            version: env!("CARGO_PKG_VERSION"),
            program_id: program.id.clone(),
            period: period.to_string(),
            currency: program.currency.clone(),
            inputs,
            outputs,
            totals,
        }
    }
}
