//! Loading a run's inputs, calculating, and writing `--out`: the I/O around the pure engine.

use crate::engine::{self, Inputs, Outcome};
use crate::error::{Error, Result};
use crate::input::{
    Activity, Adjustment, ChainLink, Claim, ClaimFunds, DealData, FileDigest, FxTable, LedgerData,
    LedgerQuery, PartnerSet, load_activities, load_adjustments, load_claims, load_ledger,
    open_ledger, refuse_ledger,
};
use crate::model::period::Period;
use crate::output::{self, Manifest, Summary};
use crate::program::{self, Program};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where a long run is, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Streaming deals.csv: rows and bytes read so far, out of `total` bytes when deals.csv is a
    /// regular file (a pipe's size is not known).
    ReadingDeals {
        rows: u64,
        bytes: u64,
        total: Option<u64>,
    },
    Calculating,
    Writing,
}

/// The data files of a run (everything but the program and --out).
#[derive(Debug, Clone, Default)]
pub struct DataPaths {
    pub partners: PathBuf,
    pub deals: PathBuf,
    pub activities: Option<PathBuf>,
    pub claims: Option<PathBuf>,
    pub fx: Option<PathBuf>,
    pub ledger: Option<PathBuf>,
    /// `--adjustments adjustments.csv` (SPEC §8.1).
    pub adjustments: Option<PathBuf>,
    /// `--allow-program-change`: the ledger may come from another program id (SPEC §7).
    pub allow_program_change: bool,
    /// `--columns map.toml`: the header names an export uses for payline's columns.
    pub columns: Option<PathBuf>,
    /// `--delimiter`: the cell separator of every input CSV (`,` by default).
    pub delimiter: Option<u8>,
}

impl DataPaths {
    /// How each input is written: the delimiter, and the `--columns` map's table for it.
    fn dialects(&self) -> Result<BTreeMap<&'static str, crate::input::Dialect>> {
        let map = match &self.columns {
            Some(path) => crate::input::load_column_map(path)?,
            None => Vec::new(),
        };
        let columns_file = self
            .columns
            .as_ref()
            .map(|p| format!("--columns {}", p.display()))
            .unwrap_or_default();
        Ok(crate::input::INPUT_COLUMNS
            .iter()
            .map(|(role, _)| {
                let table = map.iter().find(|m| m.input == *role);
                let dialect = crate::input::Dialect {
                    input: role,
                    delimiter: table
                        .and_then(|m| m.delimiter)
                        .or(self.delimiter)
                        .unwrap_or(b','),
                    columns: table.map(|m| m.columns.clone()).unwrap_or_default(),
                    columns_file: columns_file.clone(),
                };
                (*role, dialect)
            })
            .collect())
    }
}

/// An input given as `-`, copied from stdin to a private temporary file (removed when dropped), so it
/// can be read like any file (deals.csv may be read twice). Messages and the manifest name it `-`.
pub struct StdinInput {
    file: tempfile::NamedTempFile,
}

impl StdinInput {
    fn label(&self) -> String {
        self.file.path().display().to_string()
    }
}

impl DataPaths {
    /// Replaces an input given as `-` by a copy of stdin. At most one input can come from stdin.
    pub fn read_stdin(&self) -> Result<(DataPaths, Option<StdinInput>)> {
        let mut paths = self.clone();
        let mut slots: Vec<(&'static str, &mut PathBuf)> = vec![
            ("--partners", &mut paths.partners),
            ("--deals", &mut paths.deals),
        ];
        for (name, slot) in [
            ("--activities", &mut paths.activities),
            ("--claims", &mut paths.claims),
            ("--fx", &mut paths.fx),
            ("--adjustments", &mut paths.adjustments),
        ] {
            if let Some(p) = slot.as_mut() {
                slots.push((name, p));
            }
        }
        let dashes: Vec<usize> = (0..slots.len())
            .filter(|&i| slots[i].1.as_os_str() == "-")
            .collect();
        match dashes.as_slice() {
            [] => Ok((paths.clone(), None)),
            [i] => {
                let mut file = tempfile::Builder::new()
                    .prefix("payline-stdin-")
                    .suffix(".csv")
                    .tempfile()
                    .map_err(|e| Error::io("create a temporary copy of", Path::new("-"), e))?;
                std::io::copy(&mut std::io::stdin().lock(), &mut file)
                    .map_err(|e| Error::io("read", Path::new("-"), e))?;
                *slots[*i].1 = file.path().to_path_buf();
                drop(slots);
                Ok((paths, Some(StdinInput { file })))
            }
            several => Err(Error::Refused(format!(
                "only one input can come from stdin (`-`), but {} do",
                several
                    .iter()
                    .map(|&i| slots[i].0)
                    .collect::<Vec<_>>()
                    .join(" and ")
            ))),
        }
    }
}

/// Everything loaded for one program and period.
pub struct Loaded {
    pub partners: PartnerSet,
    pub deals: DealData,
    pub activities: Vec<Activity>,
    pub claims: Vec<Claim>,
    pub adjustments: Vec<Adjustment>,
    pub fx: FxTable,
    pub ledger: LedgerData,
    pub digests: BTreeMap<String, FileDigest>,
    /// Warnings raised while loading (e.g. `diff` ignoring a claim on a fund one program lacks).
    pub warnings: Vec<crate::error::Warning>,
}

impl Loaded {
    pub fn inputs(&self) -> Inputs<'_> {
        Inputs {
            partners: &self.partners,
            deals: &self.deals,
            activities: &self.activities,
            claims: &self.claims,
            adjustments: &self.adjustments,
            fx: &self.fx,
            ledger: &self.ledger,
        }
    }
}

/// Loads and validates every input. `lenient_funds` turns claims on funds the program lacks into
/// warnings (for `diff`, whose two programs may define different funds).
pub fn load(
    program: &Program,
    period: &Period,
    paths: &DataPaths,
    lenient_funds: bool,
    progress: &mut dyn FnMut(Stage),
) -> Result<Loaded> {
    let mut loaded = load_many(&[program], period, paths, lenient_funds, progress)?;
    Ok(loaded.remove(0))
}

/// Loads the inputs of several programs over the same data (`diff`): every file is read once when
/// the programs credit deals alike (same currency and rounding), deals.csv included, with a plan
/// covering what every program's rules need. Claims and the ledger are checked per program.
pub fn load_many(
    programs: &[&Program],
    period: &Period,
    paths: &DataPaths,
    lenient_funds: bool,
    progress: &mut dyn FnMut(Stage),
) -> Result<Vec<Loaded>> {
    let (paths, stdin) = paths.read_stdin()?;
    let loaded = load_files(programs, period, &paths, lenient_funds, progress);
    let Some(stdin) = stdin else {
        return loaded;
    };
    // The copy of stdin is named `-` in messages and in the manifest, as the user gave it.
    let copy = stdin.label();
    let mut loaded = loaded.map_err(|e| e.with_file_named(&copy, "-"))?;
    for loaded in &mut loaded {
        for digest in loaded.digests.values_mut() {
            if digest.path == copy {
                digest.path = "-".to_string();
            }
        }
        for warning in &mut loaded.warnings {
            warning.message = warning.message.replace(&copy, "-");
        }
    }
    Ok(loaded)
}

fn load_files(
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
    let dialects = paths.dialects()?;
    let dialect = |role: &str| dialects.get(role).cloned().unwrap_or_default();
    let mut digests = BTreeMap::new();
    let (partners, d) =
        crate::input::load_partners_as(&paths.partners, &first.currency, &dialect("partners"))?;
    digests.insert("partners".to_string(), d);
    // A wrong --ledger is refused before the deals stream: with every problem of the batch listed.
    let mut batches = Vec::new();
    for program in programs {
        batches.push(match &paths.ledger {
            Some(dir) => {
                let link = ChainLink {
                    program_id: &program.id,
                    currency: &program.currency,
                    minor_units: program.minor_units(),
                    allow_program_change: paths.allow_program_change,
                };
                let batch = open_ledger(dir, link, period)?;
                if !batch.problems.is_empty() {
                    return Err(refuse_ledger(batch, period, &partners));
                }
                Some(batch)
            }
            None => None,
        });
    }
    // Lines the previous batch left pending are released or cancelled by their rows, however long
    // ago they closed (a row missing from one export, a shorter hold_days since): keep those rows.
    for since in batches
        .iter()
        .flatten()
        .filter_map(crate::input::PreviousBatch::pending_since)
    {
        plan.held_from = Some(plan.held_from.map_or(since, |from| from.min(since)));
    }
    let mut fx_warnings = Vec::new();
    let fx = match &paths.fx {
        Some(p) => {
            let (fx, d) = FxTable::load_as(p, &first.currency, &dialect("fx"))?;
            fx_warnings = fx.plausibility_warnings(&d.path);
            digests.insert("fx".to_string(), d);
            fx
        }
        None => FxTable::none(&first.currency),
    };
    let total = std::fs::metadata(&paths.deals)
        .ok()
        .filter(std::fs::Metadata::is_file)
        .map(|m| m.len());
    let options = crate::input::LoadOptions {
        dialect: dialect("deals"),
        ..crate::input::LoadOptions::default()
    };
    let (deals, d) = crate::input::load_deals_with(
        &paths.deals,
        &plan,
        &partners,
        &fx,
        &mut |read| {
            progress(Stage::ReadingDeals {
                rows: read.rows,
                bytes: read.bytes,
                total,
            })
        },
        &options,
    )?;
    digests.insert("deals".to_string(), d);
    let activities = match &paths.activities {
        Some(p) => {
            let (a, d) = load_activities(p, period, &partners, &dialect("activities"))?;
            digests.insert("activities".to_string(), d);
            a
        }
        None => Vec::new(),
    };
    let adjustments = match &paths.adjustments {
        Some(p) => {
            let (a, d) = load_adjustments(
                p,
                period,
                &partners,
                first.minor_units(),
                &dialect("adjustments"),
            )?;
            digests.insert("adjustments".to_string(), d);
            a
        }
        None => Vec::new(),
    };
    let mut out = Vec::with_capacity(programs.len());
    let last = programs.len() - 1;
    let mut shared = Some((partners, deals, activities, fx));
    for (i, (program, batch)) in programs.iter().zip(batches).enumerate() {
        // Every program but the last gets a copy; the last takes the originals (one program: no copy).
        let (partners, deals, activities, fx) = if i == last {
            shared.take().expect("taken once, by the last program")
        } else {
            shared.clone().expect("present until the last program")
        };
        let mut digests = digests.clone();
        let mut warnings = fx_warnings.clone();
        warnings.extend(missing_inputs(program, paths));
        let claims = match &paths.claims {
            Some(p) => {
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
                let (c, d, w) = load_claims(
                    p,
                    funds,
                    period,
                    &partners,
                    lenient_funds,
                    &dialect("claims"),
                )?;
                digests.insert("claims".to_string(), d);
                warnings.extend(w);
                c
            }
            None => Vec::new(),
        };
        let ledger = match batch {
            Some(batch) => {
                let claim_ids: Vec<&str> = claims.iter().map(|c| c.claim_id.as_str()).collect();
                let summed_rules = crate::engine::plan::ledger_sums(program);
                let spans = crate::engine::plan::ledger_spans(program, period);
                let accumulating = crate::engine::plan::accumulating(program);
                let adjustment_ids: Vec<&str> = adjustments
                    .iter()
                    .map(|a| a.adjustment_id.as_str())
                    .collect();
                let query = LedgerQuery {
                    reversals: &deals.reversals,
                    current: &deals.current,
                    claim_ids: &claim_ids,
                    summed_rules: &summed_rules,
                    spans: &spans,
                    earlier: &deals.earlier,
                    adjustment_ids: &adjustment_ids,
                    accumulating: &accumulating,
                };
                let l = load_ledger(batch, period, &partners, &query)?;
                for (role, d) in &l.digests {
                    digests.insert(role.to_string(), d.clone());
                }
                l
            }
            None => LedgerData::default(),
        };
        // Warnings about how the inputs were read, claims and ledger included.
        for digest in digests.values() {
            if let Some((line, text)) = &digest.footer {
                warnings.push(crate::error::Warning::new(
                    crate::error::WarningCode::FooterSkipped,
                    format!(
                        "{}:{line}: the last row `{text}` is a report's totals row, not data: skipped (export without totals to silence this)",
                        digest.path
                    ),
                ));
            }
            for (header, column) in &digest.loose_headers {
                warnings.push(crate::error::Warning::new(
                    crate::error::WarningCode::HeaderMatchedLoosely,
                    format!(
                        "{}: header `{header}` is read as column `{column}` (it matches ignoring case, spaces and punctuation); name it in --columns to make that explicit",
                        digest.path
                    ),
                ));
            }
        }
        out.push(Loaded {
            partners,
            deals,
            activities,
            claims,
            adjustments: adjustments.clone(),
            fx,
            ledger,
            digests,
            warnings,
        });
    }
    Ok(out)
}

/// Rules that read an input file that was not given pay nothing from it: say so, rather than print
/// "No warnings" over a batch that silently left out every activity or claim.
fn missing_inputs(program: &Program, paths: &DataPaths) -> Vec<crate::error::Warning> {
    use crate::engine::rules::Kind;
    use crate::error::{Warning, WarningCode};
    let rules_of = |kind: Kind| -> Vec<&str> {
        let ids = program.rules.iter().filter(|r| r.kind.kind() == kind);
        ids.map(|r| &*r.id).collect()
    };
    let mut out = Vec::new();
    for (kind, given, option, what) in [
        (
            Kind::Activity,
            paths.activities.is_some(),
            "--activities",
            "activities",
        ),
        (Kind::Fund, paths.claims.is_some(), "--claims", "claims"),
    ] {
        let ids = rules_of(kind);
        if !given && !ids.is_empty() {
            out.push(Warning::new(
                WarningCode::InputMissing,
                format!(
                    "no {option} was given: the {} rule(s) {} paid no {what}",
                    kind.name(),
                    ids.iter()
                        .map(|id| format!("`{id}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    out
}

/// Loads the program and inputs and calculates, without writing anything.
pub fn calculate(
    program_path: &Path,
    period: &Period,
    paths: &DataPaths,
    progress: &mut dyn FnMut(Stage),
) -> Result<(Program, Loaded, Outcome)> {
    let (program, program_sha256) = program::load_with_sha256(program_path)?;
    let mut loaded = load(&program, period, paths, false, progress)?;
    loaded.digests.insert(
        "program".to_string(),
        FileDigest {
            loose_headers: Vec::new(),
            footer: None,
            path: program_path.display().to_string(),
            sha256: program_sha256,
            rows: None,
        },
    );
    progress(Stage::Calculating);
    let outcome = engine::evaluate(&program, period, &loaded.inputs())?;
    Ok((program, loaded, outcome))
}

/// `payline run`: calculates and writes every output into `out`, all or nothing. A batch replaced
/// with `force` is removed as `old_batch` says (after the new one is in place).
pub fn run(
    program_path: &Path,
    period: &Period,
    paths: &DataPaths,
    out: &Path,
    force: bool,
    old_batch: &output::OldBatch,
    progress: &mut dyn FnMut(Stage),
) -> Result<Summary> {
    run_with_statements(
        program_path,
        period,
        paths,
        out,
        force,
        false,
        old_batch,
        progress,
    )
}

/// [`run`], and with `statements` (`run --statements`) every partner's statement rendered from the
/// batch just written into its `statements/` folder before the batch moves into place: the same
/// bytes `payline statements` renders from the batch later.
#[allow(
    clippy::too_many_arguments,
    reason = "the command's options, each used once; a struct would only be unpacked here"
)]
pub fn run_with_statements(
    program_path: &Path,
    period: &Period,
    paths: &DataPaths,
    out: &Path,
    force: bool,
    statements: bool,
    old_batch: &output::OldBatch,
    progress: &mut dyn FnMut(Stage),
) -> Result<Summary> {
    // --out is checked and locked before anything is read (SPEC §7).
    let mut protected: Vec<&Path> = vec![program_path, &paths.partners, &paths.deals];
    let optional = [
        &paths.activities,
        &paths.claims,
        &paths.fx,
        &paths.ledger,
        &paths.adjustments,
    ];
    protected.extend(optional.into_iter().flatten().map(PathBuf::as_path));
    let out_dir = output::OutDir::acquire(out, force, &protected, &period.to_string())?;
    let (program, loaded, outcome) = calculate(program_path, period, paths, progress)?;
    let manifest = Manifest::new(
        &program,
        period,
        loaded.digests.clone(),
        &outcome,
        loaded.ledger.previous_manifest.clone(),
        paths.allow_program_change,
    );
    let summary = Summary::new(
        &program,
        period,
        &loaded.partners,
        &loaded.deals,
        &outcome,
        &loaded.warnings,
    );
    let documents = output::Documents {
        summary: &summary,
        details: output::details::DetailsContext {
            deals: &loaded.deals,
            year_to_date: &loaded.ledger.year_to_date,
        },
    };
    progress(Stage::Writing);
    let previous = loaded
        .ledger
        .dir
        .as_deref()
        .zip(loaded.ledger.ledger_sha256.as_deref())
        .map(|(dir, ledger_sha256)| output::PreviousFiles {
            dir,
            ledger_sha256,
            true_up_parts_sha256: loaded.ledger.true_up_parts_sha256.as_deref(),
        });
    out_dir.commit(old_batch, |dir| {
        output::write_outputs(
            dir,
            &program,
            period,
            &loaded.partners,
            &outcome,
            previous.as_ref(),
            manifest,
            &documents,
        )?;
        if statements {
            let batch = crate::render::batch::read_batch(dir)?;
            let folder = dir.join(crate::render::index::STATEMENTS_DIR);
            std::fs::create_dir(&folder)
                .map_err(|e| crate::error::Error::io("create", &folder, e))?;
            crate::render::render_statements(
                &batch,
                &crate::render::Selection::default(),
                &folder,
            )?;
        }
        Ok(())
    })?;
    Ok(summary)
}
