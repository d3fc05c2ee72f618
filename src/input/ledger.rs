//! `--ledger PREV_DIR`: the previous run's manifest.json, balances.csv and ledger.csv (SPEC §2, §4.12,
//! §7). Before anything is calculated the directory is verified as the previous link of this chain:
//! a complete payline output whose files are unchanged since payline wrote them, whose period ends
//! the day before this one starts, written by the same program, whose balances equal the sums of its
//! ledger and whose ledger holds no line twice. Every problem found is reported, not only the first.

use super::deals::key128;
use super::{CsvFile, Deal, FileDigest, PartnerSet, sha256_file};
use crate::error::{Error, Result};
use crate::money::format_money;
use crate::period::{Period, PeriodKind};
use crate::program::{Program, RuleKind};
use rust_decimal::Decimal;
use serde::Deserialize;
use sha2::Digest;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// The columns of lines.csv and ledger.csv.
pub const LINE_COLUMNS: &[&str] = &[
    "period",
    "partner_id",
    "account",
    "rule_id",
    "kind",
    "source",
    "source_id",
    "basis",
    "rate",
    "amount",
    "note",
];

/// The hidden directory names payline gives unfinished output (`.NAME.payline-tmp-PID`) and a
/// replaced batch on its way out: never a ledger, whatever they contain.
pub fn is_payline_work_dir(name: &str) -> bool {
    name.starts_with('.') && (name.contains(".payline-tmp-") || name.contains(".payline-old-"))
}

#[derive(Debug, Clone, Default)]
pub struct LedgerData {
    /// The previous run's output directory; `None` when no --ledger was given.
    pub dir: Option<PathBuf>,
    /// SHA-256 of the previous run's manifest.json: the link of the hash chain.
    pub previous_manifest: Option<String>,
    /// partner index → carried `payout` balance.
    pub carried: BTreeMap<usize, Decimal>,
    /// (partner index, fund rule id) → fund balance.
    pub funds: BTreeMap<(usize, String), Decimal>,
    /// (partner index, deal_id, rule_id) → what the ledger's `payout` lines of that deal add up to,
    /// for the rows reversed in this period only (the clawback candidates).
    pub deal_earnings: BTreeMap<(usize, String, String), Decimal>,
    /// (partner index, deal_id, rule_id) → the period whose earned line paid that row, for the rows
    /// that count in this period only: a re-dated row is never paid twice (SPEC §7).
    pub paid_deal_lines: HashMap<(usize, String, String), String>,
    /// claim_id → the period that paid it, for the claims of this run only.
    pub paid_claims: HashMap<String, String>,
    /// (partner index, milestone rule id) → what the ledger's lines of that milestone add up to:
    /// non-zero while the partner holds the bonus.
    pub milestone_sums: BTreeMap<(usize, String), Decimal>,
    pub digests: Vec<(&'static str, FileDigest)>,
}

/// What `--ledger` verification reads of the previous manifest.json (written by
/// `output::Manifest`; unknown fields are ignored so later versions can add to it).
#[derive(Debug, Deserialize)]
struct PreviousManifest {
    tool: String,
    program_id: String,
    currency: String,
    period: ManifestPeriod,
    outputs: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct ManifestPeriod {
    id: String,
    first_day: String,
    last_day: String,
}

/// How a finance user names a period: `September 2026`, `2026-Q3`, `2026`.
pub fn describe_period(period: &Period) -> String {
    match period.kind {
        PeriodKind::Month => format!("{} ({period})", period.start.format("%B %Y")),
        PeriodKind::Quarter | PeriodKind::Year => {
            format!("{period} ({} to {})", period.start, period.end)
        }
    }
}

/// What this run needs from the ledger besides balances: the rows and claims it may pay again.
pub struct LedgerQuery<'a> {
    pub reversals: &'a [Deal],
    pub current: &'a [Deal],
    pub claim_ids: &'a [&'a str],
    pub allow_program_change: bool,
}

pub fn load_ledger(
    dir: &Path,
    program: &Program,
    period: &Period,
    partners: &PartnerSet,
    query: &LedgerQuery,
) -> Result<LedgerData> {
    let shown = dir.display();
    let refuse = |problem: String| Error::Chain(vec![problem]);
    let meta = std::fs::metadata(dir).map_err(|e| Error::io("read", dir, e))?;
    if !meta.is_dir() {
        return Err(refuse(format!(
            "--ledger {shown} is not a directory: give the previous period's --out directory"
        )));
    }
    let manifest_path = dir.join("manifest.json");
    let manifest_text = match std::fs::read(&manifest_path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(refuse(format!(
                "--ledger {shown} is not a complete payline output: it has no manifest.json (a run that was killed or failed leaves none); give the previous period's --out directory"
            )));
        }
        Err(e) => return Err(Error::io("read", &manifest_path, e)),
    };
    let real = dir.canonicalize().map_err(|e| Error::io("read", dir, e))?;
    if real
        .file_name()
        .is_some_and(|n| is_payline_work_dir(&n.to_string_lossy()))
    {
        return Err(refuse(format!(
            "--ledger {shown} is the hidden working directory of a payline run that never finished, not a batch: give the previous period's --out directory"
        )));
    }
    let previous: PreviousManifest = serde_json::from_slice(&manifest_text)
        .ok()
        .filter(|m: &PreviousManifest| m.tool == "payline")
        .ok_or_else(|| {
            refuse(format!(
                "{}: not a manifest written by this version of payline; --ledger must be the previous period's --out directory",
                manifest_path.display()
            ))
        })?;

    let mut problems = Vec::new();
    for file in ["ledger.csv", "balances.csv"] {
        let path = dir.join(file);
        match (previous.outputs.get(file), sha256_file(&path)) {
            (None, _) => problems.push(format!(
                "{}: the manifest records no SHA-256 for {file}",
                manifest_path.display()
            )),
            (Some(_), Err(_)) => problems.push(format!(
                "{}: missing; the batch in {shown} is incomplete",
                path.display()
            )),
            (Some(expected), Ok(actual)) if *expected != actual => problems.push(format!(
                "{}: changed since payline wrote it (SHA-256 {actual}, the manifest says {expected}); a batch is never edited by hand: correct the inputs and run again",
                path.display()
            )),
            _ => {}
        }
    }
    match Period::parse(&previous.period.id) {
        Some(prev)
            if prev.start.to_string() == previous.period.first_day
                && prev.end.to_string() == previous.period.last_day =>
        {
            let day_before = period.start.pred_opt();
            if Some(prev.end) != day_before {
                let relation = if prev.end >= period.start {
                    if prev.start > period.end {
                        "which comes before it"
                    } else {
                        "which overlaps it: its deals were paid already"
                    }
                } else {
                    "so the periods between them have not been run: run them first, in order"
                };
                problems.push(format!(
                    "the ledger is {}'s batch; this run is for {}, {relation}. --ledger must be the batch of the period that ends on {}",
                    describe_period(&prev),
                    describe_period(period),
                    day_before.map(|d| d.to_string()).unwrap_or_default()
                ));
            }
        }
        _ => problems.push(format!(
            "{}: period `{}` ({} to {}) is not a payline period",
            manifest_path.display(),
            previous.period.id,
            previous.period.first_day,
            previous.period.last_day
        )),
    }
    if previous.program_id != program.id && !query.allow_program_change {
        problems.push(format!(
            "the ledger was written by program `{}`; this run's program is `{}`. Pass --allow-program-change to carry its balances into a new program (e.g. a new fiscal year's)",
            previous.program_id, program.id
        ));
    }
    if previous.currency != program.currency {
        problems.push(format!(
            "the ledger's amounts are in {}; this program pays in {}: balances cannot be carried across currencies",
            previous.currency, program.currency
        ));
    }

    let mut data = LedgerData {
        dir: Some(dir.to_path_buf()),
        previous_manifest: Some(super::csvfile::hex(&sha2::Sha256::digest(&manifest_text))),
        ..LedgerData::default()
    };
    let balances = read_balances(dir, partners, &mut data, &mut problems)?;
    let sums = read_lines(
        dir,
        program,
        period,
        partners,
        query,
        &mut data,
        &mut problems,
    )?;

    // balances.csv must be exactly the ledger's sums, account by account.
    let units = program.minor_units();
    let mut accounts: BTreeSet<&(usize, String)> = balances.keys().collect();
    accounts.extend(sums.keys());
    for key in accounts {
        let stated = balances.get(key).copied().unwrap_or(Decimal::ZERO);
        let summed = sums.get(key).copied().unwrap_or(Decimal::ZERO);
        if stated != summed {
            problems.push(format!(
                "balances.csv says partner {} has {} on account `{}`, but ledger.csv's lines for that account add up to {}",
                partners.partners[key.0].id,
                format_money(stated, units),
                key.1,
                format_money(summed, units)
            ));
        }
    }
    if !problems.is_empty() {
        return Err(Error::Chain(
            problems
                .into_iter()
                .map(|p| format!("--ledger {shown}: {p}"))
                .collect(),
        ));
    }
    Ok(data)
}

/// balances.csv: the carried payout balance and the fund balances, per partner and account.
fn read_balances(
    dir: &Path,
    partners: &PartnerSet,
    data: &mut LedgerData,
    problems: &mut Vec<String>,
) -> Result<BTreeMap<(usize, String), Decimal>> {
    let mut balances = BTreeMap::new();
    let mut csv = match CsvFile::open(
        &dir.join("balances.csv"),
        &["partner_id", "account", "balance"],
    ) {
        Ok(csv) => csv,
        Err(Error::Io { .. }) => return Ok(balances), // reported with the hashes
        Err(e) => return Err(e),
    };
    while let Some(row) = csv.next_row()? {
        let partner =
            partners.lookup(&row, "partner_id", "ledger partner is not in partners.csv")?;
        let account = row.required("account")?;
        let balance = row.required_decimal("balance")?;
        if balances
            .insert((partner, account.to_string()), balance)
            .is_some()
        {
            problems.push(format!(
                "{}:{}: partner {}'s account `{account}` appears twice",
                row.file, row.line, partners.partners[partner].id
            ));
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
    Ok(balances)
}

/// ledger.csv, streamed once: the sums per account, duplicate lines, and what this run needs to know
/// of what was paid before (clawback candidates, re-dated rows, claims, milestones).
fn read_lines(
    dir: &Path,
    program: &Program,
    period: &Period,
    partners: &PartnerSet,
    query: &LedgerQuery,
    data: &mut LedgerData,
    problems: &mut Vec<String>,
) -> Result<BTreeMap<(usize, String), Decimal>> {
    let mut sums: BTreeMap<(usize, String), Decimal> = BTreeMap::new();
    let mut csv = match CsvFile::open(&dir.join("ledger.csv"), LINE_COLUMNS) {
        Ok(csv) => csv,
        Err(Error::Io { .. }) => return Ok(sums), // reported with the hashes
        Err(e) => return Err(e),
    };
    let reversed: HashSet<(usize, &str)> = query
        .reversals
        .iter()
        .map(|d| (d.partner, d.deal_id.as_str()))
        .collect();
    let current: HashSet<(usize, &str)> = query
        .current
        .iter()
        .map(|d| (d.partner, d.deal_id.as_str()))
        .collect();
    let claims: HashSet<&str> = query.claim_ids.iter().copied().collect();
    let milestone_rules: HashSet<&str> = program
        .rules
        .iter()
        .filter(|r| matches!(r.kind, RuleKind::Milestone { .. }))
        .map(|r| r.id.as_str())
        .collect();
    let mut seen: HashMap<u128, u64> = HashMap::new();
    let mut reported_duplicates = 0usize;
    let mut reported_late_period = false;
    while let Some(row) = csv.next_row()? {
        let line_period = row.required("period")?;
        match Period::parse(line_period) {
            Some(p) if p.end < period.start => {}
            Some(_) => {
                if !reported_late_period {
                    reported_late_period = true;
                    problems.push(format!(
                        "{}:{}: the ledger already holds lines of {line_period}, which does not end before {period} starts: --ledger must be an earlier period's batch",
                        row.file, row.line
                    ));
                }
            }
            None => {
                return Err(row.error("period", line_period, "expected a period like 2026-10"));
            }
        }
        let partner =
            partners.lookup(&row, "partner_id", "ledger partner is not in partners.csv")?;
        let account = row.required("account")?;
        let amount = row.required_decimal("amount")?;
        let rule_id = row.get("rule_id").unwrap_or("");
        let kind = row.required("kind")?;
        let source = row.required("source")?;
        let source_id = row.get("source_id").unwrap_or("");
        let partner_id = partners.partners[partner].id.as_str();
        let key = key128(&[line_period, partner_id, account, rule_id, source, source_id]);
        if let Some(first) = seen.insert(key, row.line) {
            reported_duplicates += 1;
            if reported_duplicates <= 20 {
                problems.push(format!(
                    "{}:{}: the same line as line {first} (period {line_period}, partner {partner_id}, account `{account}`, rule `{rule_id}`, {source} `{source_id}`): a ledger never holds a line twice",
                    row.file, row.line
                ));
            }
        }
        let total = sums
            .entry((partner, account.to_string()))
            .or_insert(Decimal::ZERO);
        *total = total.checked_add(amount).ok_or_else(|| {
            row.error("amount", &amount.to_string(), "the account's sum overflows")
        })?;
        if account != "payout" {
            continue;
        }
        if source == "deal" {
            if reversed.contains(&(partner, source_id)) {
                *data
                    .deal_earnings
                    .entry((partner, source_id.to_string(), rule_id.to_string()))
                    .or_insert(Decimal::ZERO) += amount;
            }
            if kind != "clawback" && current.contains(&(partner, source_id)) {
                data.paid_deal_lines.insert(
                    (partner, source_id.to_string(), rule_id.to_string()),
                    line_period.to_string(),
                );
            }
        }
        if source == "claim" && claims.contains(source_id) {
            data.paid_claims
                .insert(source_id.to_string(), line_period.to_string());
        }
        if milestone_rules.contains(rule_id) {
            *data
                .milestone_sums
                .entry((partner, rule_id.to_string()))
                .or_insert(Decimal::ZERO) += amount;
        }
    }
    if reported_duplicates > 20 {
        problems.push(format!(
            "{} duplicated ledger lines in all (the first 20 are listed)",
            reported_duplicates
        ));
    }
    data.digests.push(("ledger_lines", csv.finish()?));
    Ok(sums)
}
