//! Loading a run's inputs, calculating, and writing `--out`: the I/O around the pure engine.

use crate::engine::{self, Inputs, Outcome};
use crate::error::{Error, Result};
use crate::input::{
    Activity, Adjustment, Claim, DealData, FileDigest, FxTable, LedgerData, PartnerSet,
};
use crate::model::period::Period;
use crate::output::{self, Manifest, Summary};
use crate::program::{self, Program};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod load;

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

/// The data files of a run (everything but the program and --out), and how they are read. Build
/// one with the files you have and `..DataPaths::default()` for the rest.
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
    /// `--payments payments.csv` (SPEC §9.1).
    pub payments: Option<PathBuf>,
    /// `--approvals approvals.csv` (SPEC §9.3).
    pub approvals: Option<PathBuf>,
    /// `--allow-program-change`: the ledger may come from another program id (SPEC §7).
    pub allow_program_change: bool,
    /// `--columns map.toml`: an import map for every input it has a table for (the flag's first form).
    pub columns: Option<PathBuf>,
    /// `--delimiter`: the cell separator of every input CSV (`,` by default).
    pub delimiter: Option<u8>,
    /// `--delimiter INPUT=SEP`: one input's own separator.
    pub input_delimiters: Vec<(String, u8)>,
    /// `--import [INPUT=]MAP.toml`: import maps (SPEC §2), for one input or for every table.
    pub imports: Vec<(Option<String>, PathBuf)>,
    /// Where this chain's batches are (the parent of `--out`, a workspace's output root): a run
    /// without `--ledger` warns when it holds this program's batch of the previous period.
    pub batches: Option<PathBuf>,
    /// `--first`: this run starts a chain (no `--ledger`) on purpose.
    pub first: bool,
}

impl DataPaths {
    /// The import map of each input: `--columns` (every table of its file) and each `--import`
    /// (`INPUT=MAP.toml`: that input's table; `MAP.toml`: every table). Two maps for one input are
    /// refused.
    pub fn import_maps(&self) -> Result<BTreeMap<&'static str, crate::input::import::InputMap>> {
        let mut given: Vec<(Option<&str>, &PathBuf)> = Vec::new();
        if let Some(path) = &self.columns {
            given.push((None, path));
        }
        for (input, path) in &self.imports {
            given.push((input.as_deref(), path));
        }
        let mut maps = BTreeMap::new();
        for (i, (input, path)) in given.into_iter().enumerate() {
            for mut map in crate::input::import::load_map(path, input)? {
                if i == 0 && self.columns.is_some() {
                    map.label = format!("--columns {}", path.display());
                }
                let label = map.label.clone();
                if let Some(first) = maps.insert(map.input, map) {
                    return Err(Error::Refused(format!(
                        "two import maps for {}: {} and {label}; give one",
                        first.input, first.label
                    )));
                }
            }
        }
        Ok(maps)
    }

    /// The cell separator `--delimiter` gives an input (`--delimiter deals=;` over `--delimiter ;`).
    pub fn delimiter_of(&self, input: &str) -> Option<u8> {
        self.input_delimiters
            .iter()
            .find(|(i, _)| i == input)
            .map(|(_, d)| *d)
            .or(self.delimiter)
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
            ("--payments", &mut paths.payments),
            ("--approvals", &mut paths.approvals),
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
    /// payments.csv (SPEC §9.1), sorted by (deal_id, paid_on, payment_id).
    pub payments: Vec<crate::model::Payment>,
    /// approvals.csv (SPEC §9.3), sorted by (partner, deal_id, rule_id).
    pub approvals: Vec<crate::model::Approval>,
    pub digests: BTreeMap<String, FileDigest>,
    /// Warnings raised while loading (e.g. `diff` ignoring a claim on a fund one program lacks).
    pub warnings: Vec<crate::error::Warning>,
    /// Rows import maps' filters skipped, per input and reason.
    pub skipped: Vec<crate::input::import::report::SkippedRows>,
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
            payments: &self.payments,
            payments_file: self.digests.get("payments").map(|d| d.path.as_str()),
            approvals: &self.approvals,
            approvals_file: self.digests.get("approvals").map(|d| d.path.as_str()),
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
    let loaded = load::load_files(programs, period, &paths, lenient_funds, progress);
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

/// Rules that read an input file that was not given pay nothing from it: say so, rather than print
/// "No warnings" over a batch that silently left out every activity or claim.
pub(crate) fn missing_inputs(program: &Program, paths: &DataPaths) -> Vec<crate::error::Warning> {
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
    out.extend(missing_payments_or_approvals(program, paths));
    out
}

/// SPEC §9.1, §9.3: without --payments a rule paying on payments pays nothing (a `full-payment`
/// rule only its rows of amount 0); without --approvals every line of a manual rule stays pending.
fn missing_payments_or_approvals(
    program: &Program,
    paths: &DataPaths,
) -> Vec<crate::error::Warning> {
    use crate::engine::approval::Approval;
    use crate::engine::payments::PayOn;
    use crate::error::{Warning, WarningCode};
    let named = |ids: Vec<String>| ids.join(", ");
    let mut out = Vec::new();
    let on_payments: Vec<String> = program
        .rules
        .iter()
        .filter(|r| r.pay_on() != PayOn::Close)
        .map(|r| format!("`{}` (pay_on = \"{}\")", r.id, r.pay_on().name()))
        .collect();
    if paths.payments.is_none() && !on_payments.is_empty() {
        out.push(Warning::new(
            WarningCode::InputMissing,
            format!(
                "no --payments was given: the rule(s) {} pay on cash received and paid nothing on it",
                named(on_payments)
            ),
        ));
    }
    let manual: Vec<String> = program
        .rules
        .iter()
        .filter(|r| program.approval(r) == Approval::Manual)
        .map(|r| format!("`{}`", r.id))
        .collect();
    if paths.approvals.is_none() && !manual.is_empty() {
        out.push(Warning::new(
            WarningCode::InputMissing,
            format!(
                "no --approvals was given: every line of the manual rule(s) {} stays pending awaiting approval",
                named(manual)
            ),
        ));
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
        &paths.payments,
        &paths.approvals,
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
    let mut summary = Summary::new(
        &program,
        period,
        &loaded.partners,
        &loaded.deals,
        &outcome,
        &loaded.warnings,
    );
    summary.skipped_rows = loaded.skipped.clone();
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
            paid_payments_sha256: loaded.ledger.paid_payments_sha256.as_deref(),
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
    free_in_background((loaded, outcome));
    Ok(summary)
}

/// Frees what a finished run held on a detached thread: at 10M deal rows, ~800,000 deals and as
/// many lines freed one by one took a quarter of a second after the batch was already in place.
/// Nothing waits for it (the process may end first); if no thread can be started it is freed here.
fn free_in_background<T: Send + 'static>(held: T) {
    let _ = std::thread::Builder::new()
        .name("payline-free".to_string())
        .spawn(move || drop(held));
}
