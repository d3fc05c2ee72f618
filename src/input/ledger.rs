//! `--ledger PREV_DIR`: the previous run's manifest.json, balances.csv and ledger.csv (SPEC §2, §4.12,
//! §7). The directory is verified as the previous link of this chain: a complete payline output whose
//! files are unchanged since payline wrote them, whose period ends the day before this one starts,
//! written by the same program in the same currency, whose balances equal the sums of its ledger and
//! whose ledger holds no line twice. Every problem found is reported, not only the first.
//!
//! Two steps, so a wrong ledger is refused before a long deals file is read: [`open_ledger`] checks the
//! manifest (before any other input), [`load_ledger`] streams balances.csv and ledger.csv once, hashing
//! them as it goes, and keeps only what this run needs of the history.

use super::deals::key128;
use super::paid_payments::{PAID_PAYMENT_COLUMNS, PAID_PAYMENTS, read_paid_payment};
use super::{CsvFile, Deal, FileDigest, PartnerSet, Row, sha256_file};
use crate::error::{Error, Result};
use crate::model::money::format_money;
use crate::model::period::{Period, PeriodKind};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
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

/// At most this many duplicated ledger lines are listed one by one.
const LISTED_DUPLICATES: usize = 20;

#[derive(Debug, Clone, Default)]
pub struct LedgerData {
    /// The previous run's output directory; `None` when no --ledger was given.
    pub dir: Option<PathBuf>,
    /// SHA-256 of the previous run's manifest.json: the link of the hash chain.
    pub previous_manifest: Option<String>,
    /// SHA-256 of the previous ledger.csv as verified: the copy into this batch must match it.
    pub ledger_sha256: Option<String>,
    /// partner index → carried `payout` balance.
    pub carried: BTreeMap<usize, Decimal>,
    /// partner index → `pending` balance (SPEC §8.2: held lines not payable yet).
    pub pending: BTreeMap<usize, Decimal>,
    /// (partner index, deal_id, rule_id) → what the ledger's `pending` lines of that row and rule
    /// add up to, with the period of the first of them; only the rows still held (non-zero).
    pub pending_lines: BTreeMap<(usize, String, String), (Decimal, String)>,
    /// The (partner index, deal_id, rule_id) of `pending_lines` with a `cancel` line: a partial
    /// reversal has cut them already (SPEC §9.6), never twice.
    pub pending_cut: std::collections::BTreeSet<(usize, String, String)>,
    /// For the rows approvals.csv decides, (partner index, deal_id, rule_id) → how the ledger settled
    /// the rule's line of the row: paid (an own line on `payout`, or a release) or cancelled (SPEC
    /// §9.3: a decision after that changes nothing).
    pub settled: BTreeMap<(usize, String, String), Settled>,
    /// (partner index, fund rule id) → fund balance.
    pub funds: BTreeMap<(usize, String), Decimal>,
    /// (partner index, deal_id, rule_id) → what the ledger's `payout` lines of that deal add up to,
    /// for the rows reversed in this period only (the clawback candidates).
    pub deal_earnings: BTreeMap<(usize, String, String), Decimal>,
    /// The same rows: what their earlier `clawback` lines took back (a positive amount), so a
    /// partial reversal that grows in a later export recovers its growth only (SPEC §9.6).
    pub deal_clawed_back: BTreeMap<(usize, String, String), Decimal>,
    /// (partner index, deal_id, rule_id) → the period whose earned line paid that row, for the rows
    /// that count in this period only: a re-dated row is never paid twice (SPEC §7).
    pub paid_deal_lines: HashMap<(usize, String, String), String>,
    /// claim_id → the period that paid it, for the claims of this run only.
    pub paid_claims: HashMap<String, String>,
    /// adjustment_id → the period that applied it, for the adjustments of this run only (SPEC §8.1).
    pub applied_adjustments: HashMap<String, String>,
    /// (partner index, period) → the budget's proration of the partner in that period (its
    /// `budget-proration` line of no rule): (basis, the partner's budgeted amount; amount, what the
    /// budget cut). A held line cancelled later gives back its part of the cut (SPEC §4.10, §8.2).
    pub budget_prorations: BTreeMap<(usize, String), (Decimal, Decimal)>,
    /// (partner index, period of a cut) → what earlier runs gave back of that cut for held lines
    /// that went unpaid (their `budget PERIOD` lines): (their unpaid total, the amount given back).
    pub budget_given_back: BTreeMap<(usize, String), (Decimal, Decimal)>,
    /// (partner index, rule id) → what the ledger's `payout` lines of that rule add up to, for the
    /// rules the query names (a milestone holds its bonus while this is non-zero).
    pub rule_sums: BTreeMap<(usize, String), Decimal>,
    /// partner index → what the ledger's `payout` lines of this calendar year's earlier periods say
    /// the partner earned and was paid (statements' year to date).
    pub year_to_date: BTreeMap<usize, YearToDate>,
    /// (partner index, rule id) → what the ledger shows an accumulating rule (SPEC §8.7) paid since
    /// the first day of its span: its lines in those periods, on the `payout` and `pending`
    /// accounts, counting a clawback or cancel only for a row the rule paid in the span.
    pub span_paid: BTreeMap<(usize, String), Decimal>,
    /// (partner index, deal_id, rule id) → the row's own lines (earned or held) of an accumulating
    /// rule in its span's earlier periods, for every row the rule paid there: the rows that belong
    /// to the span's true-up by where the rule paid them (SPEC §8.7).
    pub span_rows: BTreeMap<(usize, String, String), Decimal>,
    /// The same rows: what their other lines of the rule in the span took back (clawbacks, cancels,
    /// the part a release cut; negative), so a row's part of the true-ups counts a partial refund
    /// recovered inside the span as paid back (SPEC §4.12, §9.6).
    pub span_taken: BTreeMap<(usize, String, String), Decimal>,
    /// (partner index, deal_id, rule id) of the span's earlier rows that an accumulating rule paid
    /// before its span started (re-dated into it): they count in its measure but are never paid
    /// again (SPEC §7).
    pub paid_before_span: HashSet<(usize, String, String)>,
    /// (partner index, deal_id, rule id) of the span's earlier rows that a rule sharing a group
    /// with an accumulating rule paid (SPEC §9.5, §7): outside that rule's true-ups.
    pub paid_in_group: HashSet<(usize, String, String)>,
    /// (partner index, deal_id, rule id) → the row's recorded parts of the true-ups of spans that
    /// ended (`true_up_parts.csv`, SPEC §4.12), for the rows this run may pay or claw back, with the
    /// last such span.
    pub true_up_parts: BTreeMap<(usize, String, String), (Decimal, String)>,
    /// SHA-256 of the previous true_up_parts.csv as verified, when the batch has one: the copy into
    /// this batch must match it.
    pub true_up_parts_sha256: Option<String>,
    /// (partner index, rule id, payment_id) → the payment as the rule paid it, from the previous
    /// batch's `paid_payments.csv` (SPEC §9.1): every payment any rule has a line of in the chain.
    pub paid_payments: super::paid_payments::PaidPayments,
    /// SHA-256 of the previous paid_payments.csv as verified, when the batch has one: the copy into
    /// this batch must match it.
    pub paid_payments_sha256: Option<String>,
    /// The chain's first day (SPEC §9.1): the previous manifest's `chain_start`, else the first day
    /// of the earliest period with a line in the ledger. `None` without --ledger.
    pub chain_start: Option<NaiveDate>,
    /// (partner index, payment_id, rule_id) → what the ledger's `pending` lines of that payment
    /// add up to, with the period of the first: payment lines still held (SPEC §9.1, §8.2).
    pub pending_payments: BTreeMap<(usize, String, String), (Decimal, String)>,
    pub digests: Vec<(&'static str, FileDigest)>,
}

impl LedgerData {
    /// The chain's first day (SPEC §9.1): the one the previous batch records, else this period's
    /// first day (a chain starts with its first run).
    pub fn chain_first_day(&self, period_start: NaiveDate) -> NaiveDate {
        self.chain_start.unwrap_or(period_start)
    }

    /// The payments the ledger's paid_payments.csv shows `rule_id` paid the partner, by payment_id.
    pub fn paid_payments_of<'l>(
        &'l self,
        partner: usize,
        rule_id: &str,
    ) -> impl Iterator<Item = &'l crate::model::PaidPayment> + use<'l> {
        let rule_id = rule_id.to_string();
        let from = (partner, rule_id.clone(), String::new());
        (self.paid_payments.range(from..))
            .take_while(move |((p, r, _), _)| *p == partner && *r == rule_id)
            .map(|(_, paid)| paid)
    }
}

/// A partner's year to date from the ledger: `earned` is every line on the `payout` account except
/// the payouts themselves (clawbacks and adjustments included), `paid` what the payouts paid.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct YearToDate {
    pub earned: Decimal,
    pub paid: Decimal,
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
    /// Written by batches with lines still pending (SPEC §8.2); older batches lack it.
    #[serde(default)]
    pending_since: Option<String>,
    /// The chain's first day (SPEC §9.1), written by batches of programs paying on payments.
    #[serde(default)]
    chain_start: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ManifestPeriod {
    id: String,
    first_day: String,
    last_day: String,
}

/// What this run expects of the previous link of its chain: the program that will continue it (its
/// id and currency) and whether a change of program id is allowed.
#[derive(Debug, Clone, Copy)]
pub struct ChainLink<'a> {
    pub program_id: &'a str,
    pub currency: &'a str,
    pub minor_units: u32,
    pub allow_program_change: bool,
}

/// A `--ledger` directory whose manifest has been read, with the problems found so far.
#[derive(Debug)]
pub struct PreviousBatch {
    dir: PathBuf,
    manifest: PreviousManifest,
    manifest_sha256: String,
    minor_units: u32,
    pub problems: Vec<String>,
}

impl PreviousBatch {
    /// The chain's first day, as the batch's manifest records it (SPEC §9.1; older batches and
    /// programs not paying on payments lack it).
    pub fn chain_start(&self) -> Option<chrono::NaiveDate> {
        self.manifest
            .chain_start
            .as_deref()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    }

    /// The (payment_id, deal_id) of every payment the chain paid (its paid_payments.csv), read
    /// ahead of the deal stream, which keeps their deals' rows. `None` when the file cannot be read
    /// as expected: its full, verified read refuses the batch then, saying why.
    pub fn recorded_payments(&self) -> Option<Vec<(crate::model::Text, crate::model::Text)>> {
        if !self.manifest.outputs.contains_key(PAID_PAYMENTS) {
            return Some(Vec::new());
        }
        let path = self.dir.join(PAID_PAYMENTS);
        let mut csv = CsvFile::open(&path, &["payment_id", "deal_id"]).ok()?;
        let mut out = Vec::new();
        while let Some(row) = csv.next_row().ok()? {
            let payment_id = row.required("payment_id").ok()?;
            let deal_id = row.required("deal_id").ok()?;
            out.push((payment_id.into(), deal_id.into()));
        }
        Some(out)
    }

    /// The first day of the earliest period whose lines the batch left on the `pending` account:
    /// the deal rows closed since then are needed to release or cancel them (SPEC §8.2).
    pub fn pending_since(&self) -> Option<chrono::NaiveDate> {
        self.manifest
            .pending_since
            .as_deref()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    }
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

/// How the ledger settled a rule's line of a decided row (SPEC §9.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Paid,
    Cancelled,
}

/// What this run needs from the ledger besides balances: the rows and claims it may pay again.
#[derive(Default)]
pub struct LedgerQuery<'a> {
    pub reversals: &'a [Deal],
    pub current: &'a [Deal],
    pub claim_ids: &'a [&'a str],
    /// Rules whose per-partner sums the run needs (see `engine::plan::ledger_sums`).
    pub summed_rules: &'a [&'a str],
    /// Accumulating rules and the first day of their spans (see `engine::plan::ledger_spans`).
    pub spans: &'a [(&'a str, chrono::NaiveDate)],
    /// The rows of the accumulating spans' earlier periods (`DealData::earlier`).
    pub earlier: &'a [Deal],
    /// The adjustment_ids of this run's adjustments (SPEC §8.1: each is applied once).
    pub adjustment_ids: &'a [&'a str],
    /// Every rule that says `accumulate`, whether or not its span has earlier periods now: a row it
    /// paid may have a part of a finished span's true-ups (`true_up_parts.csv`).
    pub accumulating: &'a [&'a str],
    /// The rules sharing a group with an accumulating rule (see `engine::plan::grouped_with_accumulating`).
    pub grouped: &'a [&'a str],
    /// The (partner, deal_id) rows approvals.csv decides (SPEC §9.3): how the ledger settled their
    /// lines (`LedgerData::settled`).
    pub decided: &'a [(usize, &'a str)],
    /// The rows of the deals payments and decisions name (`DealData::by_id`): a `full-payment`
    /// rule pays them whenever they are paid in full, once (SPEC §9.1, §7).
    pub by_id: &'a [Deal],
}

fn chain_error(dir: &Path, problems: Vec<String>) -> Error {
    Error::Chain(
        problems
            .into_iter()
            .map(|p| format!("--ledger {}: {p}", dir.display()))
            .collect(),
    )
}

/// Step 1, before any data is read: the directory is a finished payline batch (it has a manifest and
/// is not one of payline's working directories), and its manifest's period, program and currency
/// make it the previous link of this run's chain. A missing or foreign manifest is refused at once;
/// the other problems are collected in [`PreviousBatch::problems`].
/// The `--ledger` directory's manifest, refusing what is not a finished payline batch (a directory
/// that cannot be read, a killed run's working directory, a missing or foreign manifest.json).
fn read_previous_manifest(dir: &Path) -> Result<(PreviousManifest, Vec<u8>)> {
    let shown = dir.display();
    let refuse = |problem: String| Error::Chain(vec![problem]);
    let meta = std::fs::metadata(dir).map_err(|e| {
        refuse(format!(
            "--ledger {shown}: cannot read it ({e}); give the previous period's --out directory"
        ))
    })?;
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
        .is_some_and(|n| crate::output::is_payline_work_dir(&n.to_string_lossy()))
    {
        return Err(refuse(format!(
            "--ledger {shown} is the hidden working directory of a payline run that never finished, not a batch: give the previous period's --out directory"
        )));
    }
    let manifest = serde_json::from_slice(&manifest_text)
        .ok()
        .filter(|m: &PreviousManifest| m.tool == "payline")
        .ok_or_else(|| {
            refuse(format!(
                "{}: not a manifest written by this version of payline; --ledger must be the previous period's --out directory",
                manifest_path.display()
            ))
        })?;
    Ok((manifest, manifest_text))
}

pub fn open_ledger(dir: &Path, link: ChainLink, period: &Period) -> Result<PreviousBatch> {
    let (manifest, manifest_text) = read_previous_manifest(dir)?;
    let manifest_path = dir.join("manifest.json");

    let mut problems = Vec::new();
    match Period::parse(&manifest.period.id) {
        Some(prev)
            if prev.start.to_string() == manifest.period.first_day
                && prev.end.to_string() == manifest.period.last_day =>
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
            manifest.period.id,
            manifest.period.first_day,
            manifest.period.last_day
        )),
    }
    if manifest.program_id != link.program_id && !link.allow_program_change {
        problems.push(format!(
            "the ledger was written by program `{}`; this run's program is `{}`. Pass --allow-program-change to carry its balances into a new program (e.g. a new fiscal year's)",
            manifest.program_id, link.program_id
        ));
    }
    if manifest.currency != link.currency {
        problems.push(format!(
            "the ledger's amounts are in {}; this program pays in {}: balances cannot be carried across currencies",
            manifest.currency, link.currency
        ));
    }
    Ok(PreviousBatch {
        dir: dir.to_path_buf(),
        manifest,
        manifest_sha256: crate::digest::sha256_hex(&manifest_text),
        minor_units: link.minor_units,
        problems,
    })
}

/// Step 2: streams balances.csv and ledger.csv once, verifying them (hash against the manifest,
/// balances = ledger sums, no line twice) and keeping what this run needs. Every problem, the
/// manifest's included, is reported together.
pub fn load_ledger(
    batch: PreviousBatch,
    period: &Period,
    partners: &PartnerSet,
    query: &LedgerQuery,
) -> Result<LedgerData> {
    let dir = batch.dir.clone();
    let (data, problems) = verify(batch, period, partners, query);
    if problems.is_empty() {
        Ok(data)
    } else {
        Err(chain_error(&dir, problems))
    }
}

/// The refusal of a batch [`open_ledger`] already found problems with, completed with what its files
/// show, so the user sees every problem at once without waiting for the deals file.
pub fn refuse_ledger(batch: PreviousBatch, period: &Period, partners: &PartnerSet) -> Error {
    let dir = batch.dir.clone();
    let (_, problems) = verify(batch, period, partners, &LedgerQuery::default());
    chain_error(&dir, problems)
}

fn verify(
    batch: PreviousBatch,
    period: &Period,
    partners: &PartnerSet,
    query: &LedgerQuery,
) -> (LedgerData, Vec<String>) {
    let PreviousBatch {
        dir,
        manifest,
        manifest_sha256,
        minor_units: units,
        mut problems,
    } = batch;
    let mut data = LedgerData {
        dir: Some(dir.clone()),
        previous_manifest: Some(manifest_sha256),
        ..LedgerData::default()
    };
    let mut reader = BatchFile {
        dir: &dir,
        manifest: &manifest,
        problems: &mut problems,
    };
    let mut stated: BTreeMap<(usize, String), Decimal> = BTreeMap::new();
    let balances = reader
        .read(
            "balances.csv",
            &["partner_id", "account", "balance"],
            |row| read_balance(row, partners, &mut data, &mut stated),
        )
        .map(|digest| data.digests.push(("ledger_balances", digest)));
    let mut lines = LineReader::new(period, partners, query);
    let ledger = reader
        .read("ledger.csv", LINE_COLUMNS, |row| lines.read(row, &mut data))
        .map(|digest| {
            data.ledger_sha256 = Some(digest.sha256.clone());
            data.digests.push(("ledger_lines", digest));
        });
    // Batches without an accumulating rule's finished span have no parts: nothing to read.
    if manifest.outputs.contains_key(TRUE_UP_PARTS)
        && let Some(digest) = reader.read(TRUE_UP_PARTS, TRUE_UP_PART_COLUMNS, |row| {
            read_true_up_part(row, partners, &lines, &mut data)
        })
    {
        data.true_up_parts_sha256 = Some(digest.sha256.clone());
        data.digests.push(("ledger_true_up_parts", digest));
    }
    // Batches in which no rule paid on payments have none (SPEC §9.1).
    if manifest.outputs.contains_key(PAID_PAYMENTS)
        && let Some(digest) = reader.read(PAID_PAYMENTS, PAID_PAYMENT_COLUMNS, |row| {
            read_paid_payment(row, partners, &mut data.paid_payments)
        })
    {
        data.paid_payments_sha256 = Some(digest.sha256.clone());
        data.digests.push(("ledger_paid_payments", digest));
    }
    lines.settle_pay_once(&mut data);
    problems.append(&mut lines.problems);
    data.pending_lines.retain(|_, (held, _)| !held.is_zero());
    data.pending_payments.retain(|_, (held, _)| !held.is_zero());
    let recorded = manifest.chain_start.as_deref();
    let recorded = recorded.and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let first_line = lines.first_start;
    let previous_start = NaiveDate::parse_from_str(&manifest.period.first_day, "%Y-%m-%d").ok();
    data.chain_start = recorded.or(first_line).or(previous_start);
    if lines.duplicates > LISTED_DUPLICATES {
        problems.push(format!(
            "{} duplicated ledger lines in all (the first {LISTED_DUPLICATES} are listed)",
            lines.duplicates
        ));
    }

    // balances.csv must be exactly the ledger's sums, account by account (when both could be read).
    if balances.is_some() && ledger.is_some() {
        let mut accounts: BTreeSet<&(usize, String)> = stated.keys().collect();
        accounts.extend(lines.sums.keys());
        for key in accounts {
            let in_balances = stated.get(key).copied().unwrap_or(Decimal::ZERO);
            let summed = lines.sums.get(key).copied().unwrap_or(Decimal::ZERO);
            if in_balances != summed {
                problems.push(format!(
                    "balances.csv says partner {} has {} on account `{}`, but ledger.csv's lines for that account add up to {}",
                    partners.partners[key.0].id,
                    format_money(in_balances, units),
                    key.1,
                    format_money(summed, units)
                ));
            }
        }
    }
    (data, problems)
}

/// Reads one file of the previous batch, hashing it while streaming: a file that does not match
/// the manifest, cannot be read, or has a bad row becomes a problem (the first bad row of a file is
/// reported and the rest of that file skipped). Returns the digest of a file read whole (whether or
/// not it matched, which is a problem of its own), so its contents can still be checked.
struct BatchFile<'a> {
    dir: &'a Path,
    manifest: &'a PreviousManifest,
    problems: &'a mut Vec<String>,
}

impl BatchFile<'_> {
    fn read(
        &mut self,
        name: &str,
        columns: &[&str],
        mut each: impl FnMut(&Row) -> Result<()>,
    ) -> Option<FileDigest> {
        let path = self.dir.join(name);
        let Some(expected) = self.manifest.outputs.get(name) else {
            self.problems.push(format!(
                "manifest.json records no SHA-256 for {name}: the batch is incomplete"
            ));
            return None;
        };
        let outcome = CsvFile::open(&path, columns).and_then(|mut csv| {
            while let Some(row) = csv.next_row()? {
                each(&row)?;
            }
            csv.finish()
        });
        let (digest, bad_row) = match outcome {
            Ok(digest) => (Some(digest), None),
            Err(Error::Io { .. }) if !path.exists() => {
                self.problems.push(format!(
                    "{}: missing; the batch is incomplete",
                    path.display()
                ));
                return None;
            }
            Err(e) => (None, Some(e)),
        };
        let actual = match &digest {
            Some(d) => Some(d.sha256.clone()),
            None => sha256_file(&path).ok(),
        };
        if actual.as_ref() != Some(expected) {
            self.problems.push(format!(
                "{}: changed since payline wrote it (SHA-256 {}, the manifest says {expected}); a batch is never edited by hand: correct the inputs and run the month again",
                path.display(),
                actual.unwrap_or_default()
            ));
        }
        if let Some(e) = bad_row {
            self.problems.push(e.to_string());
        }
        digest
    }
}

/// One row of balances.csv.
fn read_balance(
    row: &Row,
    partners: &PartnerSet,
    data: &mut LedgerData,
    stated: &mut BTreeMap<(usize, String), Decimal>,
) -> Result<()> {
    let partner = partners.lookup(row, "partner_id", "ledger partner is not in partners.csv")?;
    let account = row.required("account")?;
    let balance = row.required_decimal("balance")?;
    if stated
        .insert((partner, account.to_string()), balance)
        .is_some()
    {
        return Err(row.error("account", account, "this partner's account appears twice"));
    }
    if account == "payout" {
        data.carried.insert(partner, balance);
    } else if account == "pending" {
        data.pending.insert(partner, balance);
    } else if let Some(fund) = account.strip_prefix("fund:") {
        data.funds.insert((partner, fund.to_string()), balance);
    } else {
        return Err(row.error(
            "account",
            account,
            "expected `payout`, `pending` or `fund:RULE_ID`",
        ));
    }
    Ok(())
}

/// The state of one pass over ledger.csv.
struct LineReader<'a> {
    period: &'a Period,
    partners: &'a PartnerSet,
    reversed: HashSet<(usize, &'a str)>,
    current: HashSet<(usize, &'a str)>,
    claims: HashSet<&'a str>,
    adjustments: HashSet<&'a str>,
    summed_rules: HashSet<&'a str>,
    /// The run's calendar year, as period labels begin (`2026`), for the year to date.
    year: String,
    spans: HashMap<&'a str, chrono::NaiveDate>,
    accumulating: HashSet<&'a str>,
    grouped: HashSet<&'a str>,
    earlier: HashSet<(usize, &'a str)>,
    decided: HashSet<(usize, &'a str)>,
    by_id: HashSet<(usize, &'a str)>,
    /// The first day of the earliest period with a line.
    first_start: Option<NaiveDate>,
    /// (partner, deal_id, rule) → an accumulating rule's own lines of the rows that count in this
    /// period, whenever written: with its recorded parts, whether the rule still holds a payment
    /// for the row (SPEC §7 pay once).
    own_current: HashMap<(usize, String, String), Decimal>,
    /// The same for the span's earlier rows, of the lines written before the span.
    own_before: BTreeMap<(usize, String, String), Decimal>,
    /// Sums per (partner, account).
    sums: BTreeMap<(usize, String), Decimal>,
    /// payline writes each period's lines as one block, and a line's key includes its period: so
    /// duplicates are looked for within the block being read, and memory stays one period's lines.
    block: Option<String>,
    seen: HashMap<u128, u64>,
    finished_blocks: HashSet<String>,
    duplicates: usize,
    reported_late_period: bool,
    problems: Vec<String>,
}

impl<'a> LineReader<'a> {
    fn new(period: &'a Period, partners: &'a PartnerSet, query: &'a LedgerQuery) -> Self {
        LineReader {
            period,
            partners,
            reversed: query
                .reversals
                .iter()
                .map(|d| (d.partner, &*d.deal_id))
                .collect(),
            current: query
                .current
                .iter()
                .map(|d| (d.partner, &*d.deal_id))
                .collect(),
            claims: query.claim_ids.iter().copied().collect(),
            adjustments: query.adjustment_ids.iter().copied().collect(),
            summed_rules: query.summed_rules.iter().copied().collect(),
            year: format!("{:04}", chrono::Datelike::year(&period.start)),
            spans: query.spans.iter().copied().collect(),
            accumulating: query.accumulating.iter().copied().collect(),
            grouped: query.grouped.iter().copied().collect(),
            own_current: HashMap::new(),
            own_before: BTreeMap::new(),
            earlier: query
                .earlier
                .iter()
                .map(|d| (d.partner, &*d.deal_id))
                .collect(),
            decided: query.decided.iter().copied().collect(),
            by_id: query
                .by_id
                .iter()
                .map(|d| (d.partner, &*d.deal_id))
                .collect(),
            first_start: None,
            sums: BTreeMap::new(),
            block: None,
            seen: HashMap::new(),
            finished_blocks: HashSet::new(),
            duplicates: 0,
            reported_late_period: false,
            problems: Vec::new(),
        }
    }

    fn read(&mut self, row: &Row, data: &mut LedgerData) -> Result<()> {
        let line_period = row.required("period")?;
        let line_start = self.check_period(row, line_period)?;
        if let Some(start) = line_start {
            self.first_start = Some(self.first_start.map_or(start, |f| f.min(start)));
        }
        let partner =
            self.partners
                .lookup(row, "partner_id", "ledger partner is not in partners.csv")?;
        let line = LedgerLine {
            period: line_period,
            start: line_start,
            partner,
            account: row.required("account")?,
            amount: row.required_decimal("amount")?,
            rule_id: row.get("rule_id").unwrap_or(""),
            kind: row.required("kind")?,
            source: row.required("source")?,
            source_id: row.get("source_id").unwrap_or(""),
        };
        self.check_duplicate(row, &line);
        let overflow = || {
            row.error(
                "amount",
                &line.amount.to_string(),
                "the account's sum overflows",
            )
        };
        add(
            self.sums
                .entry((partner, line.account.to_string()))
                .or_default(),
            line.amount,
        )
        .ok_or_else(overflow)?;
        track_budget(row, &line, data)?.ok_or_else(overflow)?;
        self.track_accumulate(&line, data).ok_or_else(overflow)?;
        self.track_history(&line, data).ok_or_else(overflow)
    }

    /// The line's period, parsed; a period that does not end before this run's is a problem
    /// (reported once).
    fn check_period(&mut self, row: &Row, line_period: &str) -> Result<Option<NaiveDate>> {
        match Period::parse(line_period) {
            Some(p) if p.end < self.period.start => Ok(Some(p.start)),
            Some(p) => {
                if !self.reported_late_period {
                    self.reported_late_period = true;
                    self.problems.push(format!(
                        "{}:{}: the ledger already holds lines of {line_period}, which does not end before {} starts: --ledger must be an earlier period's batch",
                        row.file, row.line, self.period
                    ));
                }
                Ok(Some(p.start))
            }
            None => Err(row.error("period", line_period, "expected a period like 2026-10")),
        }
    }

    /// SPEC §7: no line twice. payline writes each period's lines as one block, so duplicates are
    /// looked for within the block being read.
    fn check_duplicate(&mut self, row: &Row, line: &LedgerLine) {
        if self.block.as_deref() != Some(line.period) {
            if let Some(done) = self.block.take() {
                self.finished_blocks.insert(done);
            }
            if self.finished_blocks.contains(line.period) {
                self.problems.push(format!(
                    "{}:{}: lines of period {} appear again after lines of other periods: a ledger holds each period's lines once, together",
                    row.file, row.line, line.period
                ));
            }
            self.block = Some(line.period.to_string());
            self.seen.clear();
        }
        let partner_id = self.partners.partners[line.partner].id.as_str();
        // SPEC §7: a line's identity includes its kind.
        let key = key128(&[
            partner_id,
            line.account,
            line.rule_id,
            line.kind,
            line.source,
            line.source_id,
        ]);
        if let Some(first) = self.seen.insert(key, row.line) {
            self.duplicates += 1;
            if self.duplicates <= LISTED_DUPLICATES {
                self.problems.push(format!(
                    "{}:{}: the same line as line {first} (period {}, partner {partner_id}, account `{}`, rule `{}`, kind `{}`, {} `{}`): a ledger never holds a line twice",
                    row.file, row.line, line.period, line.account, line.rule_id, line.kind, line.source, line.source_id
                ));
            }
        }
    }

    /// What an accumulating rule (SPEC §8.7) needs of its history: what it paid in its span's
    /// earlier periods (`span_paid`), the rows it paid there (`span_rows`, with their own lines),
    /// and the own lines of the rows it may not pay again (before the span, or ever). `None` on
    /// overflow.
    fn track_accumulate(&mut self, line: &LedgerLine, data: &mut LedgerData) -> Option<()> {
        if line.is_own()
            && self.grouped.contains(line.rule_id)
            && self.earlier.contains(&(line.partner, line.source_id))
        {
            let key = (
                line.partner,
                line.source_id.to_string(),
                line.rule_id.to_string(),
            );
            data.paid_in_group.insert(key);
        }
        if !self.accumulating.contains(line.rule_id)
            || !(line.account == "payout" || line.account == "pending")
        {
            return Some(());
        }
        let key = || {
            (
                line.partner,
                line.source_id.to_string(),
                line.rule_id.to_string(),
            )
        };
        let own = line.is_own();
        if own && self.current.contains(&(line.partner, line.source_id)) {
            add(self.own_current.entry(key()).or_default(), line.amount)?;
        }
        let (Some(from), Some(start)) = (self.spans.get(line.rule_id).copied(), line.start) else {
            return Some(());
        };
        if start < from {
            if own && self.earlier.contains(&(line.partner, line.source_id)) {
                add(self.own_before.entry(key()).or_default(), line.amount)?;
            }
            return Some(());
        }
        // A row belongs to the true-up by where the rule paid it: its own lines in the span say so,
        // and only such a row's clawbacks and cancels count as paid back (a row paid before the
        // span, re-dated into it, is outside the true-up). So are its releases: a release pair
        // nets to nothing, except one that also cuts a partial reversal's part (SPEC §9.6).
        let counts = line.source != "deal" || own || data.span_rows.contains_key(&key());
        if own {
            add(data.span_rows.entry(key()).or_default(), line.amount)?;
        } else if line.source == "deal" && counts {
            add(data.span_taken.entry(key()).or_default(), line.amount)?;
        }
        if counts {
            let paid = data
                .span_paid
                .entry((line.partner, line.rule_id.to_string()))
                .or_default();
            add(paid, line.amount)?;
        }
        Some(())
    }

    /// A `pending` line: what the row's (or payment's) held lines add up to, a cut made, a decision's
    /// cancel, and the held row as paid once. `None` on overflow.
    fn track_pending(&self, line: &LedgerLine, data: &mut LedgerData) -> Option<()> {
        let (partner, source_id, rule_id) = (line.partner, line.source_id, line.rule_id);
        let row_key = || (partner, source_id.to_string(), rule_id.to_string());
        if line.source == "payment" {
            let (held, _) = data
                .pending_payments
                .entry(row_key())
                .or_insert_with(|| (Decimal::ZERO, line.period.to_string()));
            add(held, line.amount)?;
        }
        if line.source == "deal" {
            let (held, _) = data
                .pending_lines
                .entry(row_key())
                .or_insert_with(|| (Decimal::ZERO, line.period.to_string()));
            add(held, line.amount)?;
            if line.kind == "cancel" {
                data.pending_cut.insert(row_key());
            }
            if line.kind == "cancel" && self.decided.contains(&(partner, source_id)) {
                data.settled.insert(row_key(), Settled::Cancelled);
            }
            // A held line is the rule's earned line of the row: a re-dated row is not paid again.
            let row = (partner, source_id);
            if line.is_own() && (self.current.contains(&row) || self.by_id.contains(&row)) {
                // Said as held, not paid: its release or cancel (a later line) says what became of it.
                data.paid_deal_lines.insert(
                    row_key(),
                    format!("{} (its line held on `pending` then)", line.period),
                );
            }
        }
        Some(())
    }

    /// Held lines, clawback candidates, rows and claims paid once, adjustments applied once, the
    /// sums some rules read, and the year to date. `None` on overflow.
    fn track_history(&mut self, line: &LedgerLine, data: &mut LedgerData) -> Option<()> {
        let (partner, source_id, rule_id) = (line.partner, line.source_id, line.rule_id);
        let row_key = || (partner, source_id.to_string(), rule_id.to_string());
        if line.account == "pending" {
            self.track_pending(line, data)?;
        }
        if line.account != "payout" {
            return Some(());
        }
        if line.period.get(..4) == Some(self.year.as_str()) {
            let ytd = data.year_to_date.entry(partner).or_default();
            if line.kind == "payout" {
                add(&mut ytd.paid, -line.amount)?;
            } else {
                add(&mut ytd.earned, line.amount)?;
            }
        }
        if line.source == "deal"
            && (line.is_own() || line.kind == "release")
            && self.decided.contains(&(partner, source_id))
        {
            data.settled.insert(row_key(), Settled::Paid);
        }
        if line.source == "deal" {
            if self.reversed.contains(&(partner, source_id)) {
                add(
                    data.deal_earnings.entry(row_key()).or_default(),
                    line.amount,
                )?;
                if line.kind == "clawback" {
                    add(
                        data.deal_clawed_back.entry(row_key()).or_default(),
                        -line.amount,
                    )?;
                }
            }
            let row = (partner, source_id);
            if line.kind != "clawback" && (self.current.contains(&row) || self.by_id.contains(&row))
            {
                data.paid_deal_lines
                    .insert(row_key(), line.period.to_string());
            }
        }
        if line.source == "adjustment"
            && line.kind == "adjustment"
            && self.adjustments.contains(source_id)
        {
            data.applied_adjustments
                .entry(source_id.to_string())
                .or_insert_with(|| line.period.to_string());
        }
        if line.source == "claim" && self.claims.contains(source_id) {
            data.paid_claims
                .insert(source_id.to_string(), line.period.to_string());
        }
        if self.summed_rules.contains(rule_id) {
            add(
                data.rule_sums
                    .entry((partner, rule_id.to_string()))
                    .or_default(),
                line.amount,
            )?;
        }
        Some(())
    }

    /// SPEC §7 with §4.12's parts: a row an accumulating rule paid and a finished span's true-ups
    /// took back whole (its own lines and its parts net to zero: re-dated out of the span, say) is
    /// no longer paid; a row paid only through a finished span's true-ups is.
    fn settle_pay_once(&self, data: &mut LedgerData) {
        for (key, (part, span)) in &data.true_up_parts {
            let row = (key.0, key.1.as_str());
            if self.current.contains(&row) {
                let own = self.own_current.get(key).copied().unwrap_or_default();
                if own.checked_add(*part).is_some_and(|net| net.is_zero()) {
                    data.paid_deal_lines.remove(key);
                } else {
                    data.paid_deal_lines
                        .entry(key.clone())
                        .or_insert_with(|| format!("{span} (its part of the true-ups)"));
                }
            }
        }
        for key in self.own_before.keys().chain(data.true_up_parts.keys()) {
            if !self.earlier.contains(&(key.0, key.1.as_str())) {
                continue;
            }
            let own = self.own_before.get(key).copied().unwrap_or_default();
            let part = data.true_up_parts.get(key).map(|p| p.0).unwrap_or_default();
            if own.checked_add(part).is_none_or(|net| !net.is_zero()) {
                data.paid_before_span.insert(key.clone());
            }
        }
    }
}

/// The file of a batch that records each row's part of a finished span's true-ups (SPEC §4.12), and
/// its columns: carried down the chain like ledger.csv.
pub const TRUE_UP_PARTS: &str = "true_up_parts.csv";
pub const TRUE_UP_PART_COLUMNS: &[&str] = &["span", "partner_id", "rule_id", "deal_id", "part"];

/// One row of true_up_parts.csv: kept for the rows this run may pay or claw back.
fn read_true_up_part(
    row: &Row,
    partners: &PartnerSet,
    lines: &LineReader,
    data: &mut LedgerData,
) -> Result<()> {
    let span = row.required("span")?;
    if Period::parse(span).is_none() {
        return Err(row.error("span", span, "expected a quarter or a year like 2026-Q4"));
    }
    let partner = partners.lookup(row, "partner_id", "ledger partner is not in partners.csv")?;
    let rule_id = row.required("rule_id")?;
    let deal_id = row.required("deal_id")?;
    let part = row.required_decimal("part")?;
    let row_of = (partner, deal_id);
    if lines.reversed.contains(&row_of)
        || lines.current.contains(&row_of)
        || lines.earlier.contains(&row_of)
    {
        let (sum, label) = data
            .true_up_parts
            .entry((partner, deal_id.to_string(), rule_id.to_string()))
            .or_insert_with(|| (Decimal::ZERO, span.to_string()));
        *sum = sum
            .checked_add(part)
            .ok_or_else(|| row.error("part", &part.to_string(), "the row's parts overflow"))?;
        *label = span.to_string();
    }
    Ok(())
}

/// One line of ledger.csv, as read.
struct LedgerLine<'r> {
    period: &'r str,
    /// The first day of its period.
    start: Option<NaiveDate>,
    partner: usize,
    account: &'r str,
    amount: Decimal,
    rule_id: &'r str,
    kind: &'r str,
    source: &'r str,
    source_id: &'r str,
}

impl LedgerLine<'_> {
    /// A rule's own line of a deal row: earned, or held on `pending` — not a release, cancel or
    /// clawback of it.
    fn is_own(&self) -> bool {
        self.source == "deal" && !matches!(self.kind, "clawback" | "cancel" | "release")
    }
}

/// A `budget-proration` line: a period's own cut of the partner (source_id `budget`), or what a
/// later run gave back of that cut for held lines that went unpaid (source_id `budget PERIOD`).
/// `Ok(None)` on overflow.
fn track_budget(row: &Row, line: &LedgerLine, data: &mut LedgerData) -> Result<Option<()>> {
    if line.kind != "budget-proration" {
        return Ok(Some(()));
    }
    let basis = row.required_decimal("basis")?;
    if line.source_id == "budget" {
        let key = (line.partner, line.period.to_string());
        data.budget_prorations.insert(key, (basis, line.amount));
    } else if let Some(cut_in) = line.source_id.strip_prefix("budget ") {
        let key = (line.partner, cut_in.to_string());
        let (all_unpaid, all_back) = data.budget_given_back.entry(key).or_default();
        return Ok(add(all_unpaid, basis).and_then(|()| add(all_back, line.amount)));
    }
    Ok(Some(()))
}

/// `total += amount`, or `None` on overflow.
fn add(total: &mut Decimal, amount: Decimal) -> Option<()> {
    *total = total.checked_add(amount)?;
    Some(())
}
