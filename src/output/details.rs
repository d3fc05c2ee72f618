//! The batch's files for documents (SPEC §5: statements are rendered from a finished batch alone):
//! what a statement shows that payouts.csv, lines.csv, balances.csv and nudges.csv do not hold.
//!
//! - `statement_rules.csv` — `rule_id, kind, label, terms`: every rule of the program, as documents
//!   name it and its terms in words (the program itself is not part of the batch);
//! - `statement_partners.csv` — `partner_id, status_reason, year, earned_before, paid_before`: per
//!   payouts.csv row, why its status is what it is, and what the ledger shows it earned and was paid
//!   in the calendar year's earlier periods (the year to date before this batch);
//! - `statement_deals.csv` — `partner_id, deal_id, closed_on, deal_name, customer_type, amount,
//!   currency`: the deal rows the period's deal lines name, as deals.csv gave them.
//!
//! Each is one pass over what the run holds anyway, cheap next to lines.csv.

use crate::engine::{Outcome, Source};
use crate::error::Result;
use crate::input::{DealData, PartnerSet, YearToDate};
use crate::model::Deal;
use crate::model::money::format_money;
use crate::model::period::Period;
use crate::program::Program;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

/// statement_rules.csv's columns.
pub const RULE_COLUMNS: [&str; 4] = ["rule_id", "kind", "label", "terms"];
/// statement_partners.csv's columns.
pub const PARTNER_COLUMNS: [&str; 5] = [
    "partner_id",
    "status_reason",
    "year",
    "earned_before",
    "paid_before",
];
/// statement_deals.csv's columns.
pub const DEAL_COLUMNS: [&str; 7] = [
    "partner_id",
    "deal_id",
    "closed_on",
    "deal_name",
    "customer_type",
    "amount",
    "currency",
];

/// What the documents need of a run beyond its outcome.
pub struct DetailsContext<'a> {
    pub deals: &'a DealData,
    /// From the `--ledger`: each partner's earlier periods of this calendar year.
    pub year_to_date: &'a BTreeMap<usize, YearToDate>,
}

type Written = Result<Vec<(String, String)>>;

/// Writes the three files; returns each one's manifest key and SHA-256.
pub fn write_details(
    dir: &Path,
    program: &Program,
    period: &Period,
    partners: &PartnerSet,
    outcome: &Outcome,
    context: &DetailsContext,
) -> Written {
    let units = program.minor_units();
    let mut written = Vec::new();

    let (path, mut w) = super::files::create_in(dir, "statement_rules.csv")?;
    let io = super::files::io(&path);
    w.write_record(RULE_COLUMNS).map_err(&io)?;
    for rule in &program.rules {
        w.write_record([
            &*rule.id,
            rule.kind.name(),
            &rule.label(),
            &crate::render::terms::terms(rule, units),
        ])
        .map_err(&io)?;
    }
    written.push(super::files::finish_named(w, &path, "statement_rules.csv")?);

    let (path, mut w) = super::files::create_in(dir, "statement_partners.csv")?;
    let io = super::files::io(&path);
    w.write_record(PARTNER_COLUMNS).map_err(&io)?;
    let year = chrono::Datelike::year(&period.start).to_string();
    for payout in &outcome.payouts {
        let before = context
            .year_to_date
            .get(&payout.partner)
            .copied()
            .unwrap_or_default();
        w.write_record([
            partners.partners[payout.partner].id.as_str(),
            &payout.reason,
            &year,
            &format_money(before.earned, units),
            &format_money(before.paid, units),
        ])
        .map_err(&io)?;
    }
    written.push(super::files::finish_named(
        w,
        &path,
        "statement_partners.csv",
    )?);

    written.push(write_deals(dir, partners, outcome, context.deals)?);
    Ok(written)
}

/// statement_deals.csv: each (partner, deal) row a deal line names, once, in the order of lines.csv.
fn write_deals(
    dir: &Path,
    partners: &PartnerSet,
    outcome: &Outcome,
    deals: &DealData,
) -> Result<(String, String)> {
    // The rows a deal line can name: counted this period, held from earlier, or reversed now.
    let mut rows: HashMap<(usize, &str), &Deal> = HashMap::new();
    for deal in deals
        .reversals
        .iter()
        .chain(&deals.held)
        .chain(&deals.current)
    {
        rows.insert((deal.partner, &*deal.deal_id), deal);
    }
    let (path, mut w) = super::files::create_in(dir, "statement_deals.csv")?;
    let io = super::files::io(&path);
    w.write_record(DEAL_COLUMNS).map_err(&io)?;
    let mut seen: HashSet<&str> = HashSet::new();
    let mut partner = None;
    for line in outcome.lines.iter().filter(|l| l.source == Source::Deal) {
        if partner != Some(line.partner) {
            seen.clear();
            partner = Some(line.partner);
        }
        if !seen.insert(&line.source_id) {
            continue;
        }
        let Some(deal) = rows.get(&(line.partner, &*line.source_id)) else {
            continue;
        };
        w.write_record([
            partners.partners[line.partner].id.as_str(),
            &deal.deal_id,
            &deal.closed_on.to_string(),
            deal.deal_name.as_deref().unwrap_or(""),
            deal.customer_type.as_deref().unwrap_or(""),
            &deal.amount.to_string(),
            &deal.currency,
        ])
        .map_err(&io)?;
    }
    super::files::finish_named(w, &path, "statement_deals.csv")
}
