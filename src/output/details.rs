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
use crate::model::money::format_money;
use crate::model::period::Period;
use crate::model::{Deal, Text};
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
            &(crate::render::terms::terms(rule, units)
                + &crate::render::terms::conditions(program, rule)),
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
    let rows = DealRows::new(deals, partners.len());
    let mut written = vec![false; rows.len()];
    let (path, mut w) = super::files::create_in(dir, "statement_deals.csv")?;
    let io = super::files::io(&path);
    w.write_record(DEAL_COLUMNS).map_err(&io)?;
    // A full-payment line's row may have closed in an earlier period (SPEC §9.1): it is among the
    // rows payments name (`by_id`, which may hold millions), looked up for such lines only.
    let mut paid_rows: Option<HashMap<(usize, &str), &Deal>> = None;
    let mut written_paid = HashSet::new();
    for line in outcome.lines.iter().filter(|l| l.source == Source::Deal) {
        let deal = match rows.find(line.partner, &line.source_id) {
            // A (partner, deal) row is written once, at its first line.
            Some(at) if std::mem::replace(&mut written[at], true) => continue,
            Some(at) => rows.deal(at),
            None => {
                let paid = paid_rows.get_or_insert_with(|| deals.by_id_keyed().collect());
                let key = (line.partner, &*line.source_id);
                match paid.get(&key) {
                    Some(deal) if written_paid.insert(key) => *deal,
                    _ => continue,
                }
            }
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

/// The rows a deal line can name (counted this period, held from earlier, or reversed now), one per
/// (partner, deal_id). A row in several sets is there as clones that share its deal_id text
/// (`model::Text`, the loader's `keep`), so its copies are alike and are found by the text's address.
/// A hash map of the ~800,000 rows of a 10M-row file cost a third of the writing's time and 50 MB;
/// here each partner's rows are ordered by that address, which a deal line's source_id shares too,
/// so a line finds its row by comparing addresses, not strings (a sort by deal_id text cost 0.2 s);
/// a line whose id is another copy of the text is looked up by its text.
struct DealRows<'a> {
    rows: Vec<&'a Deal>,
    /// `starts[p]..starts[p + 1]`: partner `p`'s rows.
    starts: Vec<usize>,
}

impl<'a> DealRows<'a> {
    fn new(deals: &'a DealData, partners: usize) -> DealRows<'a> {
        let by_address = |deal: &&Deal| (deal.partner, text_address(&deal.deal_id));
        let mut rows: Vec<&Deal> = (deals.current.iter())
            .chain(&deals.held)
            .chain(&deals.reversals)
            .collect();
        rows.sort_unstable_by_key(by_address);
        rows.dedup_by_key(|deal| by_address(deal));
        let starts = (0..=partners)
            .map(|p| rows.partition_point(|d| d.partner < p))
            .collect();
        DealRows { rows, starts }
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn deal(&self, at: usize) -> &'a Deal {
        self.rows[at]
    }

    /// The row of (partner, deal_id): by the text's address, else by its content (the rows are one
    /// per (partner, deal_id), so either finds the same row).
    fn find(&self, partner: usize, deal_id: &Text) -> Option<usize> {
        let (start, end) = (*self.starts.get(partner)?, *self.starts.get(partner + 1)?);
        let own = &self.rows[start..end];
        own.binary_search_by_key(&text_address(deal_id), |d| text_address(&d.deal_id))
            .ok()
            .or_else(|| own.iter().position(|d| d.deal_id == *deal_id))
            .map(|at| start + at)
    }
}

/// Where a shared text's bytes are: the same address is the same text.
fn text_address(text: &Text) -> usize {
    std::sync::Arc::as_ptr(text).cast::<u8>().addr()
}
