//! `--ledger PREV_DIR`: the previous run's balances.csv and ledger.csv (SPEC §2, §4.12).

use super::{CsvFile, Deal, FileDigest, PartnerSet};
use crate::error::Result;
use crate::period::Period;
use crate::program::{Program, RuleKind};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

/// The columns of lines.csv and ledger.csv.
pub const LINE_COLUMNS: &[&str] = &[
    "period",
    "partner_id",
    "rule_id",
    "kind",
    "source",
    "source_id",
    "basis",
    "rate",
    "amount",
    "note",
];

#[derive(Debug, Clone, Default)]
pub struct LedgerData {
    /// The previous run's output directory; `None` when no --ledger was given.
    pub dir: Option<PathBuf>,
    /// partner index → carried `payout` balance.
    pub carried: BTreeMap<usize, Decimal>,
    /// (partner index, fund rule id) → fund balance.
    pub funds: BTreeMap<(usize, String), Decimal>,
    /// (partner index, deal_id, rule_id) → what the ledger's deal lines add up to, for the rows
    /// reversed in this period only (the clawback candidates).
    pub deal_earnings: BTreeMap<(usize, String, String), Decimal>,
    /// (partner index, milestone rule id) whose ledger lines add up to non-zero: already paid.
    pub milestones_paid: BTreeSet<(usize, String)>,
    pub digests: Vec<(&'static str, FileDigest)>,
}

pub fn load_ledger(
    dir: &Path,
    program: &Program,
    period: &Period,
    partners: &PartnerSet,
    reversals: &[Deal],
) -> Result<LedgerData> {
    let mut data = LedgerData {
        dir: Some(dir.to_path_buf()),
        ..LedgerData::default()
    };
    let balances_path = dir.join("balances.csv");
    let mut csv = CsvFile::open(&balances_path, &["partner_id", "account", "balance"])?;
    let mut seen = HashSet::new();
    while let Some(row) = csv.next_row()? {
        let partner =
            partners.lookup(&row, "partner_id", "ledger partner is not in partners.csv")?;
        let account = row.required("account")?;
        let balance = row.required_decimal("balance")?;
        if !seen.insert((partner, account.to_string())) {
            return Err(row.error("account", account, "this partner's account appears twice"));
        }
        if account == "payout" {
            data.carried.insert(partner, balance);
        } else if let Some(fund) = account.strip_prefix("fund:") {
            data.funds.insert((partner, fund.to_string()), balance);
        } else {
            return Err(row.error("account", account, "expected `payout` or `fund:RULE_ID`"));
        }
    }
    data.digests.push(("ledger_balances", csv.finish()?));

    let wanted: HashSet<(usize, &str)> = reversals
        .iter()
        .map(|d| (d.partner, d.deal_id.as_str()))
        .collect();
    let milestone_rules: HashSet<&str> = program
        .rules
        .iter()
        .filter(|r| matches!(r.kind, RuleKind::Milestone { .. }))
        .map(|r| r.id.as_str())
        .collect();
    let mut milestone_sums: BTreeMap<(usize, String), Decimal> = BTreeMap::new();
    let this_period = period.to_string();
    let mut csv = CsvFile::open(&dir.join("ledger.csv"), LINE_COLUMNS)?;
    while let Some(row) = csv.next_row()? {
        let line_period = row.required("period")?;
        if line_period == this_period {
            return Err(row.error(
                "period",
                line_period,
                format!("the ledger already holds lines of period {this_period}: --ledger must be the previous period's output, not this period's"),
            ));
        }
        let partner =
            partners.lookup(&row, "partner_id", "ledger partner is not in partners.csv")?;
        let amount = row.required_decimal("amount")?;
        let rule_id = row.get("rule_id").unwrap_or("");
        if row.get("source") == Some("deal") {
            let deal_id = row.get("source_id").unwrap_or("");
            if wanted.contains(&(partner, deal_id)) {
                *data
                    .deal_earnings
                    .entry((partner, deal_id.to_string(), rule_id.to_string()))
                    .or_insert(Decimal::ZERO) += amount;
            }
        }
        if milestone_rules.contains(rule_id) {
            *milestone_sums
                .entry((partner, rule_id.to_string()))
                .or_insert(Decimal::ZERO) += amount;
        }
    }
    data.digests.push(("ledger_lines", csv.finish()?));
    data.milestones_paid = milestone_sums
        .into_iter()
        .filter(|(_, sum)| !sum.is_zero())
        .map(|(k, _)| k)
        .collect();
    Ok(data)
}
