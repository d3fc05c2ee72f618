//! A finished batch as its statements read it: manifest.json, then every file the statements need,
//! each checked against the SHA-256 the manifest records before anything is rendered (SPEC §5:
//! statements come from the batch's verified files alone). A batch that does not verify is refused
//! with every problem listed, like `--ledger`.

use crate::digest::sha256_hex;
use crate::error::{Error, Result};
use crate::model::money::{Rounding, minor_units, parse_decimal};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The files of a batch that statements read (nudges.csv too, when the batch has it).
pub const READ: &[&str] = &[
    "payouts.csv",
    "lines.csv",
    "balances.csv",
    "statement_rules.csv",
    "statement_partners.csv",
    "statement_deals.csv",
];

#[derive(Debug, Deserialize)]
struct ManifestPeriod {
    id: String,
    first_day: String,
    last_day: String,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    tool: String,
    program_id: String,
    #[serde(default)]
    program_name: Option<String>,
    currency: String,
    #[serde(default)]
    rounding: Option<String>,
    period: ManifestPeriod,
    outputs: BTreeMap<String, String>,
}

/// A rule as documents name it (statement_rules.csv).
#[derive(Debug, Clone)]
pub struct RuleDoc {
    pub id: String,
    pub kind: String,
    pub label: String,
    pub terms: String,
}

/// One line of lines.csv.
#[derive(Debug, Clone)]
pub struct LineDoc {
    pub account: String,
    pub rule_id: String,
    pub kind: String,
    pub source: String,
    pub source_id: String,
    pub amount: Decimal,
    pub note: String,
}

/// A deal row a line names (statement_deals.csv).
#[derive(Debug, Clone)]
pub struct DealDoc {
    pub closed_on: String,
    pub deal_name: String,
    pub customer_type: String,
    pub amount: Decimal,
    pub currency: String,
}

/// One row of nudges.csv.
#[derive(Debug, Clone)]
pub struct NudgeDoc {
    pub rule_id: String,
    pub current: String,
    pub next_threshold: String,
    pub gap: String,
    pub gain: Decimal,
}

/// Everything one partner's statement shows.
#[derive(Debug, Clone, Default)]
pub struct PartnerDoc {
    pub id: String,
    pub name: String,
    pub partner_type: String,
    pub level: String,
    pub earned: Decimal,
    pub clawed_back: Decimal,
    pub carried_in: Decimal,
    pub balance: Decimal,
    pub paid: Decimal,
    pub carried_out: Decimal,
    pub status: String,
    pub due_on: String,
    pub payout_currency: String,
    pub fx_rate: Decimal,
    pub paid_in_payout_currency: Decimal,
    pub pending: Decimal,
    pub status_reason: String,
    pub year: String,
    pub earned_before: Decimal,
    pub paid_before: Decimal,
    /// Its lines of lines.csv but the account movements (fund and payout lines), in order.
    pub lines: Vec<LineDoc>,
    /// Its fund movements (`fund:RULE_ID` lines).
    pub fund_lines: Vec<LineDoc>,
    /// Its fund balances after the batch: (fund rule id, balance).
    pub funds: Vec<(String, Decimal)>,
    pub nudges: Vec<NudgeDoc>,
    pub deals: HashMap<String, DealDoc>,
}

/// A verified batch, ready to render.
#[derive(Debug)]
pub struct Batch {
    pub dir: PathBuf,
    /// SHA-256 of manifest.json: which batch the statements come from.
    pub manifest_sha256: String,
    pub program_id: String,
    pub program_name: String,
    pub currency: String,
    pub units: u32,
    pub rounding: Rounding,
    pub period: String,
    pub first_day: String,
    pub last_day: String,
    pub rules: Vec<RuleDoc>,
    /// In payouts.csv order (by partner_id).
    pub partners: Vec<PartnerDoc>,
}

impl Batch {
    pub fn rule(&self, id: &str) -> Option<&RuleDoc> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The label of a rule id (empty for lines of no rule; a rule the program no longer has, by
    /// its id in words).
    pub fn label(&self, rule_id: &str) -> String {
        match self.rule(rule_id) {
            Some(rule) => rule.label.clone(),
            None if rule_id.is_empty() => String::new(),
            None => super::words::default_label(rule_id),
        }
    }
}

/// A CSV file of the batch, read whole after its SHA-256 matched the manifest's.
struct Table {
    name: &'static str,
    headers: Vec<String>,
    rows: Vec<csv::StringRecord>,
}

impl Table {
    fn column(&self, name: &str) -> Result<usize> {
        self.headers.iter().position(|h| h == name).ok_or_else(|| {
            Error::Chain(vec![format!(
                "{}: has no column `{name}`; it was not written by this version of payline",
                self.name
            )])
        })
    }
}

/// Reads and verifies the batch in `dir`: every file statements read must be listed in its
/// manifest and have the SHA-256 recorded there. Every problem is reported at once.
pub fn read_batch(dir: &Path) -> Result<Batch> {
    let manifest_path = dir.join("manifest.json");
    let bytes = std::fs::read(&manifest_path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::Chain(vec![format!(
            "{}: no manifest.json: not a finished payline batch (a killed run's leftovers, or another folder)",
            dir.display()
        )]),
        _ => Error::io("read", &manifest_path, e),
    })?;
    let manifest_sha256 = sha256_hex(&bytes);
    let manifest: Manifest = serde_json::from_slice(&bytes)
        .ok()
        .filter(|m: &Manifest| m.tool == "payline")
        .ok_or_else(|| {
            Error::Chain(vec![format!(
                "{}: not a payline manifest",
                manifest_path.display()
            )])
        })?;
    let mut problems = Vec::new();
    let mut tables = BTreeMap::new();
    let nudges = manifest.outputs.contains_key("nudges.csv");
    for name in READ.iter().copied().chain(nudges.then_some("nudges.csv")) {
        match read_table(dir, name, manifest.outputs.get(name)) {
            Ok(table) => {
                tables.insert(name, table);
            }
            Err(problem) => problems.push(problem),
        }
    }
    if !problems.is_empty() {
        problems.push(format!(
            "{}: the batch does not verify; nothing was rendered",
            dir.display()
        ));
        return Err(Error::Chain(problems));
    }
    assemble(dir, manifest, manifest_sha256, tables)
}

/// One file, checked against the manifest's SHA-256; a problem in words when it does not verify.
fn read_table(
    dir: &Path,
    name: &'static str,
    recorded: Option<&String>,
) -> std::result::Result<Table, String> {
    let path = dir.join(name);
    let Some(recorded) = recorded else {
        return Err(format!(
            "{}: not listed in the batch's manifest.json (a batch written before statements were rendered from batches: run its period again)",
            path.display()
        ));
    };
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    if sha256_hex(&bytes) != *recorded {
        return Err(format!(
            "{}: changed since the batch was written (its SHA-256 differs from manifest.json)",
            path.display()
        ));
    }
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes.as_slice());
    let bad = |e: csv::Error| format!("{}: {e}", path.display());
    let headers = reader
        .headers()
        .map_err(bad)?
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(bad)?;
    Ok(Table {
        name,
        headers,
        rows,
    })
}

/// Money as the batch wrote it; anything else means the batch is not payline's.
fn money(table: &Table, row: usize, text: &str) -> Result<Decimal> {
    parse_decimal(text).ok_or_else(|| {
        Error::Chain(vec![format!(
            "{}: line {}: `{text}` is not an amount",
            table.name,
            row + 2
        )])
    })
}

/// The cells of a table's rows by column name, resolved once.
struct Columns<'t> {
    table: &'t Table,
    at: Vec<usize>,
}

impl<'t> Columns<'t> {
    fn of(table: &'t Table, names: &[&str]) -> Result<Columns<'t>> {
        let at = names
            .iter()
            .map(|n| table.column(n))
            .collect::<Result<_>>()?;
        Ok(Columns { table, at })
    }

    /// Each row's cells in the order the columns were named, with its index.
    fn rows(&self) -> impl Iterator<Item = (usize, Vec<&'t str>)> + '_ {
        self.table.rows.iter().enumerate().map(|(i, row)| {
            let cells = self.at.iter().map(|&c| row.get(c).unwrap_or("")).collect();
            (i, cells)
        })
    }
}

fn assemble(
    dir: &Path,
    manifest: Manifest,
    manifest_sha256: String,
    mut tables: BTreeMap<&'static str, Table>,
) -> Result<Batch> {
    let mut take = |name: &str| tables.remove(name).expect("every file read was verified");
    let mut partners = read_payouts(&take("payouts.csv"))?;
    let index: HashMap<String, usize> = partners
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.clone(), i))
        .collect();
    let slot = |id: &str| index.get(id).copied();
    read_partner_details(&take("statement_partners.csv"), &mut partners, &slot)?;
    read_lines(&take("lines.csv"), &mut partners, &slot)?;
    read_balances(&take("balances.csv"), &mut partners, &slot)?;
    read_deals(&take("statement_deals.csv"), &mut partners, &slot)?;
    let rules_table = take("statement_rules.csv");
    if let Some(nudges) = tables.remove("nudges.csv") {
        read_nudges(&nudges, &mut partners, &slot)?;
    }
    let rules = Columns::of(&rules_table, &crate::output::details::RULE_COLUMNS)?
        .rows()
        .map(|(_, c)| RuleDoc {
            id: c[0].to_string(),
            kind: c[1].to_string(),
            label: c[2].to_string(),
            terms: c[3].to_string(),
        })
        .collect();
    let rounding = manifest
        .rounding
        .as_deref()
        .and_then(Rounding::parse)
        .unwrap_or(Rounding::HalfUp);
    Ok(Batch {
        dir: dir.to_path_buf(),
        manifest_sha256,
        program_name: manifest
            .program_name
            .unwrap_or_else(|| manifest.program_id.clone()),
        program_id: manifest.program_id,
        units: minor_units(&manifest.currency),
        currency: manifest.currency,
        rounding,
        period: manifest.period.id,
        first_day: manifest.period.first_day,
        last_day: manifest.period.last_day,
        rules,
        partners,
    })
}

fn read_payouts(table: &Table) -> Result<Vec<PartnerDoc>> {
    // payouts.csv's columns from partner_id on (the period is the manifest's).
    let columns = Columns::of(table, &crate::output::PAYOUT_COLUMNS[1..])?;
    let mut out = Vec::with_capacity(table.rows.len());
    for (row, c) in columns.rows() {
        let m = |i: usize| money(table, row, c[i]);
        // payouts.csv's text columns are spreadsheet-safe: a leading `'` was added, not typed.
        let text = |i: usize| unquote(c[i]).to_string();
        out.push(PartnerDoc {
            id: c[0].to_string(),
            name: text(1),
            partner_type: text(2),
            level: text(3),
            // c[4]: the program currency, the manifest's.
            earned: m(5)?,
            clawed_back: m(6)?,
            carried_in: m(7)?,
            balance: m(8)?,
            paid: m(9)?,
            carried_out: m(10)?,
            status: c[11].to_string(),
            due_on: c[12].to_string(),
            payout_currency: c[13].to_string(),
            fx_rate: m(14)?,
            paid_in_payout_currency: m(15)?,
            pending: m(16)?,
            ..PartnerDoc::default()
        });
    }
    Ok(out)
}

/// A spreadsheet-safe cell as it was before its leading `'` (see `output::safe`).
fn unquote(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest)
            if rest
                .bytes()
                .next()
                .is_some_and(|b| matches!(b, b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')) =>
        {
            rest
        }
        _ => cell,
    }
}

/// A row naming a partner that payouts.csv does not have: the batch's files disagree.
fn unknown(table: &Table, row: usize, id: &str) -> Error {
    Error::Chain(vec![format!(
        "{}: line {}: partner `{id}` is not in payouts.csv",
        table.name,
        row + 2
    )])
}

type Slot<'a> = dyn Fn(&str) -> Option<usize> + 'a;

fn read_partner_details(table: &Table, partners: &mut [PartnerDoc], slot: &Slot) -> Result<()> {
    let columns = Columns::of(table, &crate::output::details::PARTNER_COLUMNS)?;
    for (row, c) in columns.rows() {
        let p = &mut partners[slot(c[0]).ok_or_else(|| unknown(table, row, c[0]))?];
        p.status_reason = c[1].to_string();
        p.year = c[2].to_string();
        p.earned_before = money(table, row, c[3])?;
        p.paid_before = money(table, row, c[4])?;
    }
    Ok(())
}

fn read_lines(table: &Table, partners: &mut [PartnerDoc], slot: &Slot) -> Result<()> {
    let columns = Columns::of(
        table,
        &[
            "partner_id",
            "account",
            "rule_id",
            "kind",
            "source",
            "source_id",
            "amount",
            "note",
        ],
    )?;
    for (row, c) in columns.rows() {
        // A partner with fund movements only is not in payouts.csv (SPEC §5): it has no statement.
        let Some(at) = slot(c[0]) else { continue };
        let line = LineDoc {
            account: c[1].to_string(),
            rule_id: c[2].to_string(),
            kind: c[3].to_string(),
            source: c[4].to_string(),
            source_id: c[5].to_string(),
            amount: money(table, row, c[6])?,
            note: c[7].to_string(),
        };
        match line.kind.as_str() {
            "fund" => partners[at].fund_lines.push(line),
            "payout" => {}
            _ => partners[at].lines.push(line),
        }
    }
    Ok(())
}

fn read_balances(table: &Table, partners: &mut [PartnerDoc], slot: &Slot) -> Result<()> {
    let columns = Columns::of(table, &["partner_id", "account", "balance"])?;
    for (row, c) in columns.rows() {
        let (Some(at), Some(fund)) = (slot(c[0]), c[1].strip_prefix("fund:")) else {
            continue;
        };
        let balance = money(table, row, c[2])?;
        partners[at].funds.push((fund.to_string(), balance));
    }
    Ok(())
}

fn read_deals(table: &Table, partners: &mut [PartnerDoc], slot: &Slot) -> Result<()> {
    let columns = Columns::of(table, &crate::output::details::DEAL_COLUMNS)?;
    for (row, c) in columns.rows() {
        let at = slot(c[0]).ok_or_else(|| unknown(table, row, c[0]))?;
        let deal = DealDoc {
            closed_on: c[2].to_string(),
            deal_name: c[3].to_string(),
            customer_type: c[4].to_string(),
            amount: money(table, row, c[5])?,
            currency: c[6].to_string(),
        };
        partners[at].deals.insert(c[1].to_string(), deal);
    }
    Ok(())
}

fn read_nudges(table: &Table, partners: &mut [PartnerDoc], slot: &Slot) -> Result<()> {
    let columns = Columns::of(table, &crate::output::NUDGE_COLUMNS)?;
    for (row, c) in columns.rows() {
        let Some(at) = slot(c[0]) else { continue };
        let gain = money(table, row, c[5])?;
        partners[at].nudges.push(NudgeDoc {
            rule_id: c[1].to_string(),
            current: c[2].to_string(),
            next_threshold: c[3].to_string(),
            gap: c[4].to_string(),
            gain,
        });
    }
    Ok(())
}
