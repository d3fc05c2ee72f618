//! The run summary printed to stdout: totals per rule and per partner type, KPIs and warnings, as a
//! table for people or as one JSON object (`--json`) for machines. Money is a string in JSON, so it
//! stays exact.

use super::{align_right, plain_table};
use crate::engine::{Outcome, PayoutStatus};
use crate::error::Warning;
use crate::input::{DealData, PartnerSet};
use crate::model::money::format_money;
use crate::model::period::Period;
use crate::program::Program;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Serialize, PartialEq)]
pub struct RuleTotal {
    pub rule_id: String,
    pub kind: String,
    pub lines: usize,
    pub amount: String,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct TypeTotal {
    pub partner_type: String,
    pub partners: usize,
    pub earned: String,
    pub paid: String,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Kpis {
    pub partners: usize,
    pub partners_in_batch: usize,
    pub partners_paid: usize,
    pub partners_held: usize,
    pub partners_below_minimum: usize,
    pub partners_negative: usize,
    pub new_partners: usize,
    pub deals_counted: usize,
    pub lines: usize,
    pub earned: String,
    pub clawed_back: String,
    pub carried_in: String,
    pub paid: String,
    pub carried_out: String,
    /// The pending balance after the run (SPEC §8.2); only when the program holds lines or a
    /// partner has a pending balance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<String>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Summary {
    pub program_id: String,
    pub period: String,
    pub currency: String,
    pub rules: Vec<RuleTotal>,
    pub partner_types: Vec<TypeTotal>,
    pub kpis: Kpis,
    /// Each with a stable `code` for machines and a message for people.
    pub warnings: Vec<Warning>,
    /// Rows import maps' filters skipped, per input and reason (set by the run after `new`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_rows: Vec<crate::input::import::report::SkippedRows>,
}

impl Summary {
    pub fn new(
        program: &Program,
        period: &Period,
        partners: &PartnerSet,
        deals: &DealData,
        outcome: &Outcome,
        extra_warnings: &[Warning],
    ) -> Summary {
        let units = program.minor_units();
        let money = |v: Decimal| format_money(v, units);
        let mut types: BTreeMap<String, (usize, Decimal, Decimal)> = BTreeMap::new();
        for p in &outcome.payouts {
            let t = types
                .entry(partners.partners[p.partner].partner_type.clone())
                .or_default();
            t.0 += 1;
            t.1 += p.earned;
            t.2 += p.paid;
        }
        let count = |s: PayoutStatus| outcome.payouts.iter().filter(|p| p.status == s).count();
        let total =
            |f: fn(&crate::engine::Payout) -> Decimal| money(outcome.payouts.iter().map(f).sum());
        let mut warnings = extra_warnings.to_vec();
        warnings.extend(outcome.warnings.iter().cloned());
        Summary {
            program_id: program.id.clone(),
            period: period.to_string(),
            currency: program.currency.clone(),
            // Rules in program order, then adjustments (budget-proration, clawbacks) by kind.
            rules: outcome
                .rule_totals(program)
                .into_iter()
                .map(|t| RuleTotal {
                    rule_id: t.rule_id,
                    kind: t.kind.to_string(),
                    lines: t.lines,
                    amount: money(t.amount),
                })
                .collect(),
            partner_types: types
                .into_iter()
                .map(|(partner_type, (n, earned, paid))| TypeTotal {
                    partner_type,
                    partners: n,
                    earned: money(earned),
                    paid: money(paid),
                })
                .collect(),
            kpis: Kpis {
                partners: partners.len(),
                partners_in_batch: outcome.payouts.len(),
                partners_paid: outcome
                    .payouts
                    .iter()
                    .filter(|p| p.status == PayoutStatus::Paid && !p.paid.is_zero())
                    .count(),
                partners_held: count(PayoutStatus::Held),
                partners_below_minimum: count(PayoutStatus::BelowMinimum),
                partners_negative: count(PayoutStatus::Negative),
                new_partners: partners
                    .partners
                    .iter()
                    .filter(|p| p.joined_on.is_some_and(|d| period.contains(d)))
                    .count(),
                deals_counted: deals.current.len(),
                lines: outcome.lines.len(),
                earned: total(|p| p.earned),
                clawed_back: total(|p| p.clawed_back),
                carried_in: total(|p| p.carried_in),
                paid: total(|p| p.paid),
                carried_out: total(|p| p.carried_out),
                pending: (program.payout.hold_days > 0
                    || outcome.payouts.iter().any(|p| !p.pending.is_zero()))
                .then(|| total(|p| p.pending)),
            },
            warnings,
            skipped_rows: Vec::new(),
        }
    }
}

/// The human summary: three tables and the warnings.
pub fn render_table(s: &Summary) -> String {
    let mut out = format!(
        "payline: program {} · period {} · {}\n\n",
        s.program_id, s.period, s.currency
    );
    let mut rules = plain_table(vec!["rule", "kind", "lines", "amount"]);
    for r in &s.rules {
        let id = if r.rule_id.is_empty() {
            "(adjustment)"
        } else {
            r.rule_id.as_str()
        };
        rules.add_row(vec![
            id.to_string(),
            r.kind.clone(),
            r.lines.to_string(),
            r.amount.clone(),
        ]);
    }
    align_right(&mut rules, [2, 3]);
    out.push_str(&format!("Totals per rule\n{rules}\n\n"));

    let mut types = plain_table(vec!["partner type", "partners", "earned", "paid"]);
    for t in &s.partner_types {
        types.add_row(vec![
            t.partner_type.clone(),
            t.partners.to_string(),
            t.earned.clone(),
            t.paid.clone(),
        ]);
    }
    align_right(&mut types, [1, 2, 3]);
    out.push_str(&format!("Totals per partner type\n{types}\n\n"));

    let k = &s.kpis;
    let mut kpis = plain_table(vec!["KPI", "value"]);
    for (name, value) in [
        ("partners", k.partners.to_string()),
        ("partners in batch", k.partners_in_batch.to_string()),
        ("paid", k.partners_paid.to_string()),
        ("held", k.partners_held.to_string()),
        ("below minimum", k.partners_below_minimum.to_string()),
        ("negative", k.partners_negative.to_string()),
        ("new partners", k.new_partners.to_string()),
        ("deals counted", k.deals_counted.to_string()),
        ("lines", k.lines.to_string()),
        ("earned", k.earned.clone()),
        ("clawed back", k.clawed_back.clone()),
        ("carried in", k.carried_in.clone()),
        ("paid out", k.paid.clone()),
        ("carried out", k.carried_out.clone()),
    ] {
        kpis.add_row(vec![name.to_string(), value]);
    }
    if let Some(pending) = &k.pending {
        kpis.add_row(vec!["pending".to_string(), pending.clone()]);
    }
    align_right(&mut kpis, [1]);
    out.push_str(&format!("KPIs\n{kpis}\n"));
    if !s.skipped_rows.is_empty() {
        let mut skipped = plain_table(vec![
            "input",
            "rows skipped by the import map",
            "rows",
            "values skipped",
        ]);
        for r in &s.skipped_rows {
            skipped.add_row(vec![
                r.input.clone(),
                r.reason.clone(),
                r.rows.to_string(),
                r.values.clone(),
            ]);
        }
        align_right(&mut skipped, [2]);
        out.push_str(&format!("\nSkipped rows\n{skipped}\n"));
    }
    if s.warnings.is_empty() {
        out.push_str("\nNo warnings.\n");
    } else {
        out.push_str(&format!("\nWarnings ({}):\n", s.warnings.len()));
        for w in &s.warnings {
            out.push_str(&format!("- {w}\n"));
        }
    }
    out
}
