//! Loading a run's inputs: each file prepared as the user gave it (its import map, its delimiter,
//! its encoding: `input::sources`), then read by its loader. Partners come first (other inputs
//! reference them), then the previous batch is opened (a wrong `--ledger` is refused before the
//! long deal stream), fx, payments and approvals (read on their own: a broken file is refused before
//! the deal stream too; the deals they name are kept in full where a run may pay on them), deals, the
//! payments' and decisions' references to deal rows, activities and adjustments; claims and the
//! ledger per program.

use super::{DataPaths, Loaded, Stage};
use crate::error::{Result, Warning, WarningCode};
use crate::input::deals::{NamedDeals, NamedRows};
use crate::input::import::report::SkippedRows;
use crate::input::import::{InputMap, Report};
use crate::input::sources::{Prepared, Setting, prepare};
use crate::input::{
    Activity, Adjustment, Approval, ApprovalRules, ChainLink, ClaimFunds, DealData, DealPlan,
    FileDigest, FxTable, LedgerData, LedgerQuery, PartnerRefs, PartnerSet, Payment, PreviousBatch,
    ReadApprovals, ReadPayments, load_activities, load_adjustments, load_claims, load_ledger,
    open_ledger, read_approvals, read_payments, refuse_ledger,
};
use crate::model::Text;
use crate::model::period::Period;
use crate::program::Program;
use chrono::NaiveDate;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// The inputs being loaded: their import maps, and what has been read so far.
struct Inputs<'a> {
    paths: &'a DataPaths,
    currency: &'a str,
    maps: BTreeMap<&'static str, InputMap>,
    /// partners.csv columns the maps reference partners by (`partner_by`).
    carry: Vec<String>,
    digests: BTreeMap<String, FileDigest>,
    reports: Vec<Report>,
    partners: PartnerSet,
    refs: PartnerRefs,
}

impl<'a> Inputs<'a> {
    fn new(paths: &'a DataPaths, currency: &'a str) -> Result<Inputs<'a>> {
        let maps = paths.import_maps()?;
        let mut carry: Vec<String> = Vec::new();
        for map in maps.values() {
            for column in &map.partner_by {
                if !carry.contains(column) {
                    carry.push(column.clone());
                }
            }
        }
        Ok(Inputs {
            paths,
            currency,
            maps,
            carry,
            digests: BTreeMap::new(),
            reports: Vec::new(),
            partners: PartnerSet::default(),
            refs: PartnerRefs::default(),
        })
    }

    fn prepare(&self, input: &'static str, path: &Path) -> Result<Prepared> {
        let partners = (input != "partners").then_some((&self.partners, &self.refs));
        prepare(
            path,
            &Setting {
                input,
                required: crate::input::required_columns(input),
                map: self.maps.get(input),
                delimiter: self.paths.delimiter_of(input),
                program_currency: self.currency,
                partners,
                carry: if input == "partners" {
                    &self.carry
                } else {
                    &[]
                },
            },
        )
    }

    /// Records what the manifest and the summary keep of a loaded input: its digest, the import
    /// map's (hashed as an input of the run), and the import's report.
    fn record(&mut self, input: &str, digest: FileDigest, report: Option<Report>) -> Result<()> {
        self.digests.insert(input.to_string(), digest);
        if let Some(map) = self.maps.get(input) {
            let sha256 = crate::input::sha256_file(&map.path)?;
            self.digests.insert(
                format!("{input}-import-map"),
                FileDigest {
                    loose_headers: Vec::new(),
                    footer: None,
                    path: map.path.display().to_string(),
                    sha256,
                    rows: None,
                },
            );
        }
        self.reports.extend(report);
        Ok(())
    }

    fn load_partners(&mut self) -> Result<()> {
        let prepared = self.prepare("partners", &self.paths.partners)?;
        let loaded = crate::input::load_partners_with(
            &prepared.path,
            self.currency,
            &prepared.dialect,
            &self.carry,
        )
        .map(|(set, digest, refs)| ((set, refs), digest));
        let ((set, refs), digest, report) = prepared.finish(loaded)?;
        self.partners = set;
        self.refs = refs;
        self.record("partners", digest, report)
    }

    fn load_fx(&mut self) -> Result<(FxTable, Vec<Warning>)> {
        let Some(path) = &self.paths.fx else {
            return Ok((FxTable::none(self.currency), Vec::new()));
        };
        let prepared = self.prepare("fx", path)?;
        let loaded = FxTable::load_as(&prepared.path, self.currency, &prepared.dialect);
        let (fx, digest, report) = prepared.finish(loaded)?;
        let warnings = fx.plausibility_warnings(&digest.path);
        self.record("fx", digest, report)?;
        Ok((fx, warnings))
    }

    fn load_deals(
        &mut self,
        plan: &DealPlan,
        fx: &FxTable,
        progress: &mut dyn FnMut(Stage),
    ) -> Result<DealData> {
        let prepared = self.prepare("deals", &self.paths.deals)?;
        let total = std::fs::metadata(&prepared.path)
            .ok()
            .filter(std::fs::Metadata::is_file)
            .map(|m| m.len());
        let options = crate::input::LoadOptions {
            dialect: prepared.dialect.clone(),
            ..crate::input::LoadOptions::default()
        };
        let loaded = crate::input::load_deals_with(
            &prepared.path,
            plan,
            &self.partners,
            fx,
            &mut |read| {
                progress(Stage::ReadingDeals {
                    rows: read.rows,
                    bytes: read.bytes,
                    total,
                })
            },
            &options,
        );
        let (deals, digest, report) = prepared.finish(loaded)?;
        self.record("deals", digest, report)?;
        Ok(deals)
    }

    fn load_activities(&mut self, period: &Period) -> Result<Vec<Activity>> {
        let Some(path) = &self.paths.activities else {
            return Ok(Vec::new());
        };
        let prepared = self.prepare("activities", path)?;
        let loaded = load_activities(&prepared.path, period, &self.partners, &prepared.dialect);
        let (activities, digest, report) = prepared.finish(loaded)?;
        self.record("activities", digest, report)?;
        Ok(activities)
    }

    /// payments.csv read on its own, before deals.csv (refused at once when it is broken); its
    /// references are checked once the deals are read ([`Inputs::check_references`]).
    fn read_payments(&self) -> Result<Option<Waiting<ReadPayments>>> {
        let Some(path) = &self.paths.payments else {
            return Ok(None);
        };
        let prepared = self.prepare("payments", path)?;
        let read = read_payments(&prepared.path, &self.partners, &prepared.dialect);
        Waiting::new(prepared, read)
    }

    /// approvals.csv read on its own and against the programs' rules, like payments.csv.
    fn read_approvals(&self, programs: &[&Program]) -> Result<Option<Waiting<ReadApprovals>>> {
        let Some(path) = &self.paths.approvals else {
            return Ok(None);
        };
        let prepared = self.prepare("approvals", path)?;
        let rules = approval_rules(programs);
        let read = read_approvals(&prepared.path, &self.partners, &rules, &prepared.dialect);
        Waiting::new(prepared, read)
    }

    /// An input read by [`Inputs::read_payments`] or [`Inputs::read_approvals`], checked against
    /// the deal rows it names (`DealData::named`), every bad row reported at once.
    fn check_references<T, U>(
        &mut self,
        waiting: Option<Waiting<T>>,
        deals: &DealData,
        check: impl FnOnce(T, &NamedRows, &PartnerSet) -> Result<Vec<U>>,
    ) -> Result<Vec<U>> {
        let Some(Waiting {
            prepared,
            read,
            digest,
        }) = waiting
        else {
            return Ok(Vec::new());
        };
        let input = prepared.input;
        let checked = check(read, &deals.named, &self.partners).map(|rows| (rows, digest));
        let (rows, digest, report) = prepared.finish(checked)?;
        self.record(input, digest, report)?;
        Ok(rows)
    }

    fn load_adjustments(&mut self, period: &Period, minor_units: u32) -> Result<Vec<Adjustment>> {
        let Some(path) = &self.paths.adjustments else {
            return Ok(Vec::new());
        };
        let prepared = self.prepare("adjustments", path)?;
        let loaded = load_adjustments(
            &prepared.path,
            period,
            &self.partners,
            minor_units,
            &prepared.dialect,
        );
        let (adjustments, digest, report) = prepared.finish(loaded)?;
        self.record("adjustments", digest, report)?;
        Ok(adjustments)
    }
}

/// An input read on its own, waiting for the deal rows it references: its import map's copy stays
/// alive so the errors found then still name the file and headers as the user gave them.
struct Waiting<T> {
    prepared: Prepared,
    read: T,
    digest: FileDigest,
}

impl<T> Waiting<T> {
    /// The file read; a bad row (the loader's or the import map's) refuses it now.
    fn new(prepared: Prepared, read: Result<(T, FileDigest)>) -> Result<Option<Waiting<T>>> {
        match read {
            Ok((read, digest)) if !prepared.has_errors() => Ok(Some(Waiting {
                prepared,
                read,
                digest,
            })),
            refused => match prepared.finish(refused) {
                Err(e) => Err(e),
                Ok(_) => unreachable!("a file with bad rows is refused"),
            },
        }
    }

    /// The file refused after all (found while naming its deals), in the user's terms.
    fn refuse(self, error: crate::error::Error) -> crate::error::Error {
        match self.prepared.finish::<()>(Err(error)) {
            Err(e) => e,
            Ok(_) => unreachable!("an error is never finished as a success"),
        }
    }
}

/// The rules a decision of approvals.csv may name: the deal-based rules of every program of the
/// load (`diff`'s engine ignores, warned, a decision for a rule its program lacks).
fn approval_rules(programs: &[&Program]) -> ApprovalRules {
    let mut rules = ApprovalRules::default();
    let mut ids: Vec<&str> = Vec::new();
    for program in programs {
        if !ids.contains(&program.id.as_str()) {
            ids.push(&program.id);
        }
        for rule in &program.rules {
            let entry = rules
                .rules
                .entry(rule.id.to_string())
                .or_insert((rule.kind.kind().name(), false));
            entry.1 |= rule.is_deal_based();
        }
    }
    rules.programs = match ids.as_slice() {
        [one] => format!("program {one}"),
        several => format!("programs {}", several.join(" and ")),
    };
    rules
}

/// Names the deals payments and decisions reference (SPEC §9.1, §9.3): the deal stream checks
/// each reference against deals.csv, and keeps in full only the rows a run may pay on. A payment
/// after the period is paid on by no run of it; one dated from the chain's first day on may be,
/// and so may one before it on a row closed or reversed since (its date is the later of `paid_on`
/// and `closed_on`); a payment the chain paid already, and its deal, are always kept (taken at the
/// date its record names, its held line released by its row).
/// Refused when payments.csv gives a payment_id twice.
fn name_deals(
    plan: &mut DealPlan,
    payments: Option<&mut Waiting<ReadPayments>>,
    approvals: Option<&Waiting<ReadApprovals>>,
    chain: &ChainPayments,
) -> Result<()> {
    let named_rows = payments.as_ref().map_or(0, |w| w.read.count())
        + approvals.map_or(0, |w| w.read.count())
        + chain.deal_ids.len();
    let mut named = NamedDeals::with_capacity(named_rows);
    for deal_id in &chain.deal_ids {
        named.keep_all(deal_id);
    }
    if let Some(waiting) = payments {
        let end = plan.period.end;
        waiting
            .read
            .name_deals(&mut named, |payment_id, paid_on| match chain.start {
                None => Some(NaiveDate::MIN),
                Some(_) if chain.is_paid(payment_id) => Some(NaiveDate::MIN),
                Some(_) if paid_on > end => None,
                Some(start) if paid_on >= start => Some(NaiveDate::MIN),
                Some(start) => Some(start),
            })?;
    }
    if let Some(waiting) = approvals {
        waiting.read.name_deals(&mut named);
    }
    plan.named = (!named.is_empty()).then(|| std::sync::Arc::new(named));
    Ok(())
}

/// What the previous batches tell of the chain's payments before the deal stream (SPEC §9.1).
struct ChainPayments {
    /// The chain's first day (this period's without `--ledger`); `None` when a batch does not say:
    /// then every payment's deal is kept in full.
    start: Option<NaiveDate>,
    /// The payments the chain paid already, and their deals.
    payment_ids: HashSet<Text, crate::input::FnvBuild>,
    deal_ids: Vec<Text>,
}

impl ChainPayments {
    /// Whether the chain paid this payment already (no hashing when it paid none: a first month
    /// names a million payments).
    fn is_paid(&self, payment_id: &str) -> bool {
        !self.payment_ids.is_empty() && self.payment_ids.contains(payment_id)
    }

    fn of(batches: &[Option<PreviousBatch>], period: &Period) -> ChainPayments {
        let mut chain = ChainPayments {
            start: Some(period.start),
            payment_ids: HashSet::default(),
            deal_ids: Vec::new(),
        };
        for batch in batches.iter().flatten() {
            let recorded = batch.recorded_payments();
            chain.start = match (chain.start, batch.chain_start(), &recorded) {
                (Some(a), Some(b), Some(_)) => Some(a.min(b)),
                _ => None,
            };
            for (payment_id, deal_id) in recorded.into_iter().flatten() {
                chain.payment_ids.insert(payment_id);
                chain.deal_ids.push(deal_id);
            }
        }
        chain
    }
}

/// Opens the previous batch for each program; one with any problem is refused here, before the
/// deals stream, with every problem of the batch listed.
fn open_batches(
    programs: &[&Program],
    period: &Period,
    paths: &DataPaths,
    partners: &PartnerSet,
) -> Result<Vec<Option<PreviousBatch>>> {
    let Some(dir) = &paths.ledger else {
        return Ok(programs.iter().map(|_| None).collect());
    };
    let mut batches = Vec::new();
    for program in programs {
        let link = ChainLink {
            program_id: &program.id,
            currency: &program.currency,
            minor_units: program.minor_units(),
            allow_program_change: paths.allow_program_change,
        };
        let batch = open_ledger(dir, link, period)?;
        if !batch.problems.is_empty() {
            return Err(refuse_ledger(batch, period, partners));
        }
        batches.push(Some(batch));
    }
    Ok(batches)
}

/// What every program of the load shares.
struct Shared {
    deals: DealData,
    activities: Vec<Activity>,
    adjustments: Vec<Adjustment>,
    fx: FxTable,
    payments: Vec<Payment>,
    approvals: Vec<Approval>,
    warnings: Vec<Warning>,
}

pub(super) fn load_files(
    programs: &[&Program],
    period: &Period,
    paths: &DataPaths,
    lenient_funds: bool,
    progress: &mut dyn FnMut(Stage),
) -> Result<Vec<Loaded>> {
    let Some(mut plan) = crate::engine::plan::deal_plan(programs, period) else {
        // Programs in different currencies credit every deal differently: one stream each.
        return programs
            .iter()
            .map(|p| Ok(load_files(&[*p], period, paths, lenient_funds, progress)?.remove(0)))
            .collect();
    };
    let first = programs[0];
    let mut inputs = Inputs::new(paths, &first.currency)?;
    inputs.load_partners()?;
    let batches = open_batches(programs, period, paths, &inputs.partners)?;
    // Lines the previous batch left pending are released or cancelled by their rows, however long
    // ago they closed (a row missing from one export, a shorter hold_days since): keep those rows.
    for since in batches
        .iter()
        .flatten()
        .filter_map(PreviousBatch::pending_since)
    {
        plan.held_from = Some(plan.held_from.map_or(since, |from| from.min(since)));
    }
    let (fx, warnings) = inputs.load_fx()?;
    let mut payments = inputs.read_payments()?;
    let approvals = inputs.read_approvals(programs)?;
    let chain = ChainPayments::of(&batches, period);
    if let Err(e) = name_deals(&mut plan, payments.as_mut(), approvals.as_ref(), &chain) {
        let waiting = payments.expect("only payments.csv is refused while naming");
        return Err(waiting.refuse(e));
    }
    drop(chain);
    let mut deals = inputs.load_deals(&plan, &fx, progress)?;
    let payments = inputs.check_references(payments, &deals, ReadPayments::check)?;
    let approvals = inputs.check_references(approvals, &deals, ReadApprovals::check)?;
    // The references are checked: their rows need not stay for the engine (nor be copied for diff).
    deals.named = Default::default();
    let activities = inputs.load_activities(period)?;
    let adjustments = inputs.load_adjustments(period, first.minor_units())?;
    let mut shared = Some(Shared {
        deals,
        activities,
        adjustments,
        fx,
        payments,
        approvals,
        warnings,
    });
    let last = programs.len() - 1;
    let mut out = Vec::with_capacity(programs.len());
    for (i, (program, batch)) in programs.iter().zip(batches).enumerate() {
        // Every program but the last gets a copy; the last takes the originals (one program: no copy).
        let shared = if i == last {
            shared.take().expect("taken once, by the last program")
        } else {
            let s = shared.as_ref().expect("present until the last program");
            Shared {
                deals: s.deals.clone(),
                activities: s.activities.clone(),
                adjustments: s.adjustments.clone(),
                fx: s.fx.clone(),
                payments: s.payments.clone(),
                approvals: s.approvals.clone(),
                warnings: s.warnings.clone(),
            }
        };
        let mut loaded = load_program(program, batch, period, lenient_funds, &inputs, shared)?;
        loaded.partners = if i == last {
            std::mem::take(&mut inputs.partners)
        } else {
            inputs.partners.clone()
        };
        out.push(loaded);
    }
    Ok(out)
}

/// One program's claims and ledger over the shared inputs.
fn load_program(
    program: &Program,
    batch: Option<PreviousBatch>,
    period: &Period,
    lenient_funds: bool,
    inputs: &Inputs,
    mut shared: Shared,
) -> Result<Loaded> {
    let mut digests = inputs.digests.clone();
    let mut reports = inputs.reports.clone();
    let mut warnings = std::mem::take(&mut shared.warnings);
    warnings.extend(super::missing_inputs(program, inputs.paths));
    if inputs.paths.ledger.is_none()
        && let Some(batches) = &inputs.paths.batches
    {
        warnings.extend(crate::workspace::unused_previous_batch(
            batches,
            &program.id,
            period,
            inputs.paths.first,
        ));
    }
    let claims = match &inputs.paths.claims {
        Some(path) => {
            let (claims, digest, report, w) =
                load_program_claims(program, path, period, lenient_funds, inputs)?;
            digests.insert("claims".to_string(), digest);
            reports.extend(report);
            warnings.extend(w);
            claims
        }
        None => Vec::new(),
    };
    let ledger = match batch {
        Some(batch) => {
            let l = load_program_ledger(program, batch, period, inputs, &shared, &claims)?;
            for (role, d) in &l.digests {
                digests.insert(role.to_string(), d.clone());
            }
            l
        }
        None => LedgerData::default(),
    };
    warnings.extend(reading_warnings(&digests));
    warnings.extend(reports.iter().flat_map(Report::filter_warnings));
    warnings.extend(unnamed_customer_types(program, &shared.deals));
    warnings.extend(no_data_in_period(period, &shared, &claims));
    Ok(Loaded {
        // Set by the caller: the last program takes the loaded set itself.
        partners: PartnerSet::default(),
        deals: shared.deals,
        activities: shared.activities,
        claims,
        adjustments: shared.adjustments,
        fx: shared.fx,
        ledger,
        payments: shared.payments,
        approvals: shared.approvals,
        digests,
        warnings,
        skipped: skipped_rows(&reports),
    })
}

/// A period with no deal closed or reversed, no activity, claim, adjustment, approval decision or
/// payment in it writes an empty batch, almost always the wrong `--period` or the wrong file: say so, with the deals'
/// dates (SPEC §2 is silent; docs/RULES.md "A period without data").
fn no_data_in_period(
    period: &Period,
    shared: &Shared,
    claims: &[crate::input::Claim],
) -> Vec<Warning> {
    let deals = &shared.deals;
    let in_period = !deals.current.is_empty()
        || !deals.reversals.is_empty()
        || shared
            .activities
            .iter()
            .any(|a| period.contains(a.occurred_on))
        || claims
            .iter()
            .any(|c| c.decided_on.is_some_and(|d| period.contains(d)))
        || shared
            .adjustments
            .iter()
            .any(|a| period.contains(a.decided_on))
        || shared
            .approvals
            .iter()
            .any(|a| period.contains(a.decided_on))
        || shared.payments.iter().any(|p| period.contains(p.paid_on));
    if in_period {
        return Vec::new();
    }
    let range = match deals.closed_range {
        Some((first, last)) => format!("deals.csv's rows closed from {first} to {last}"),
        None => "deals.csv has no rows".to_string(),
    };
    vec![Warning::new(
        WarningCode::NoDataInPeriod,
        format!(
            "no deal, activity, claim, adjustment, decision or payment falls in {period}: {range}; is it the right period and the right file?"
        ),
    )]
}

/// A program's claims as loaded: the claims, their digest and import report, and the warnings.
type LoadedClaims = (
    Vec<crate::input::Claim>,
    FileDigest,
    Option<Report>,
    Vec<Warning>,
);

/// The program's claims: only its fund rules may be drawn on (`diff` tolerates the others, warned).
fn load_program_claims(
    program: &Program,
    path: &Path,
    period: &Period,
    lenient_funds: bool,
    inputs: &Inputs,
) -> Result<LoadedClaims> {
    let fund_ids: Vec<&str> = program
        .rules
        .iter()
        .filter(|r| r.is_fund())
        .map(|r| &*r.id)
        .collect();
    let funds = ClaimFunds {
        program_id: &program.id,
        fund_ids: &fund_ids,
    };
    let prepared = inputs.prepare("claims", path)?;
    let loaded = load_claims(
        &prepared.path,
        funds,
        period,
        &inputs.partners,
        lenient_funds,
        &prepared.dialect,
    )
    .map(|(claims, digest, w)| ((claims, w), digest));
    let ((claims, warnings), digest, report) = prepared.finish(loaded)?;
    Ok((claims, digest, report, warnings))
}

/// What the program needs of the previous batch's history, verified.
fn load_program_ledger(
    program: &Program,
    batch: PreviousBatch,
    period: &Period,
    inputs: &Inputs,
    shared: &Shared,
    claims: &[crate::input::Claim],
) -> Result<LedgerData> {
    let claim_ids: Vec<&str> = claims.iter().map(|c| c.claim_id.as_str()).collect();
    let summed_rules = crate::engine::plan::ledger_sums(program);
    let spans = crate::engine::plan::ledger_spans(program, period);
    let accumulating = crate::engine::plan::accumulating(program);
    let grouped = crate::engine::plan::grouped_with_accumulating(program);
    let decided: Vec<(usize, &str)> = shared
        .approvals
        .iter()
        .map(|a| (a.partner, &*a.deal_id))
        .collect();
    let adjustment_ids: Vec<&str> = shared
        .adjustments
        .iter()
        .map(|a| a.adjustment_id.as_str())
        .collect();
    let query = LedgerQuery {
        reversals: &shared.deals.reversals,
        current: &shared.deals.current,
        claim_ids: &claim_ids,
        summed_rules: &summed_rules,
        spans: &spans,
        earlier: &shared.deals.earlier,
        adjustment_ids: &adjustment_ids,
        accumulating: &accumulating,
        grouped: &grouped,
        decided: &decided,
        by_id: &shared.deals.by_id,
    };
    load_ledger(batch, period, &inputs.partners, &query)
}

/// Warnings about how the inputs were read: reports' trailers skipped, headers matched loosely.
fn reading_warnings(digests: &BTreeMap<String, FileDigest>) -> Vec<Warning> {
    let mut warnings = Vec::new();
    for digest in digests.values() {
        if let Some((line, text)) = &digest.footer {
            warnings.push(Warning::new(
                WarningCode::FooterSkipped,
                format!("{}:{line}: {text}, not data: skipped", digest.path),
            ));
        }
        for (header, column) in &digest.loose_headers {
            warnings.push(Warning::new(
                WarningCode::HeaderMatchedLoosely,
                format!(
                    "{}: header `{header}` is read as column `{column}` (it matches ignoring case, spaces and punctuation); name it in an import map to make that explicit",
                    digest.path
                ),
            ));
        }
    }
    warnings
}

/// The period's customer types that no rule, modifier or milestone names, but that look like one
/// they name (`New Customer` or `newbusiness` beside `new`, `NEW`): the rules silently pay them
/// nothing, and a value map in the import map is almost always what was meant.
fn unnamed_customer_types(program: &Program, deals: &DealData) -> Vec<Warning> {
    let named: std::collections::BTreeSet<&str> = program
        .rules
        .iter()
        .flat_map(|r| std::iter::once(&r.when).chain(r.modifiers.iter().map(|m| &m.when)))
        .filter_map(|w| w.customer_type.as_ref())
        .flatten()
        .map(String::as_str)
        .collect();
    let mut rows: BTreeMap<&str, usize> = BTreeMap::new();
    for deal in &deals.current {
        if let Some(value) = deal.customer_type.as_deref() {
            *rows.entry(value).or_default() += 1;
        }
    }
    let squash = |text: &str| -> String {
        text.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let mut warnings = Vec::new();
    for (value, n) in rows {
        if named.contains(value) {
            continue;
        }
        let key = squash(value);
        let words: Vec<String> = value
            .split(|c: char| !c.is_alphanumeric())
            .map(squash)
            .collect();
        let like = named.iter().find(|w| {
            let w = squash(w);
            !w.is_empty() && (key.starts_with(&w) || words.contains(&w))
        });
        if let Some(like) = like {
            warnings.push(Warning::new(
                WarningCode::ValueNamedByNoRule,
                format!(
                    "customer_type `{value}` ({n} deal row{} in the period) is named by no rule, which name `{like}`: these rows pay no `{like}` rule; if it means `{like}`, add `\"{value}\" = \"{like}\"` to the import map's [deals.values.customer_type]",
                    if n == 1 { "" } else { "s" }
                ),
            ));
        }
    }
    warnings
}

fn skipped_rows(reports: &[Report]) -> Vec<SkippedRows> {
    reports
        .iter()
        .flat_map(|r| {
            r.skipped.iter().map(|s| SkippedRows {
                input: r.input.to_string(),
                reason: s.reason.clone(),
                rows: s.rows,
                values: s.described(),
            })
        })
        .collect()
}
