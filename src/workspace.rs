//! The monthly routine in one short command: a workspace file (`payline.toml`, found like Cargo.toml
//! from the current directory up, or given with `--workspace`) names the program, the inputs with
//! their import maps, and the output root, so `payline run --period 2026-11` writes
//! `OUT/2026-11` and continues the chain from `OUT/2026-10`. A missing previous batch is an error
//! naming it (never a silent new chain): a chain starts at the workspace's `first_period` or with
//! `--first`. Options given on the command line win over the workspace's.

use crate::error::{Error, Result, Warning, WarningCode};
use crate::input::INPUTS;
use crate::model::period::Period;
use crate::run::DataPaths;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file name a workspace is found by.
pub const FILE_NAME: &str = "payline.toml";

/// One input of a workspace: its file (`{period}` in it replaced by the run's period) and its
/// import map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceInput {
    pub file: String,
    pub import: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    /// The workspace file; every relative path in it is relative to its directory.
    pub path: PathBuf,
    pub program: Option<PathBuf>,
    /// The output root: the batch of PERIOD is `out/PERIOD`.
    pub out: Option<PathBuf>,
    /// The period the chain starts at (its run takes no `--ledger`).
    pub first_period: Option<Period>,
    pub inputs: BTreeMap<String, WorkspaceInput>,
}

/// The workspace to use: `--workspace FILE`, else `payline.toml` in the current directory or the
/// nearest parent holding one; none with `--no-workspace`.
pub fn discover(given: Option<&Path>, disabled: bool) -> Result<Option<Workspace>> {
    if disabled {
        return Ok(None);
    }
    if let Some(path) = given {
        return load(path).map(Some);
    }
    let Ok(mut dir) = std::env::current_dir() else {
        return Ok(None);
    };
    // Named relative to the current directory (`payline.toml`, `../payline.toml`), so every path
    // a message shows reads as the user would type it.
    let mut relative = PathBuf::new();
    loop {
        if dir.join(FILE_NAME).is_file() {
            return load(&relative.join(FILE_NAME)).map(Some);
        }
        if !dir.pop() {
            return Ok(None);
        }
        relative.push("..");
    }
}

fn bad(path: &Path, message: String) -> Error {
    Error::Refused(format!("{}: {message}", path.display()))
}

/// Reads a workspace file. Every key is documented in docs/REFERENCE.md "Workspace".
pub fn load(path: &Path) -> Result<Workspace> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        bad(path, format!("not a valid workspace file: {}", e.message()))
    })?;
    let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
    let mut ws = Workspace {
        path: path.to_path_buf(),
        program: None,
        out: None,
        first_period: None,
        inputs: BTreeMap::new(),
    };
    for (key, value) in &table {
        match (key.as_str(), value) {
            ("workspace", toml::Value::Table(t)) => read_settings(&mut ws, t, &dir)?,
            ("inputs", toml::Value::Table(t)) => {
                for (input, value) in t {
                    let entry = read_input(path, input, value, &dir)?;
                    ws.inputs.insert(input.clone(), entry);
                }
            }
            _ => {
                return Err(bad(
                    path,
                    format!("unknown table `{key}`; a workspace has [workspace] and [inputs]"),
                ));
            }
        }
    }
    Ok(ws)
}

fn read_settings(ws: &mut Workspace, table: &toml::Table, dir: &Path) -> Result<()> {
    let path = ws.path.clone();
    for (key, value) in table {
        let text = value
            .as_str()
            .ok_or_else(|| bad(&path, format!("`workspace.{key}` must be a string")))?;
        match key.as_str() {
            "program" => ws.program = Some(dir.join(text)),
            "out" => ws.out = Some(dir.join(text)),
            "first_period" => {
                ws.first_period = Some(Period::parse(text).ok_or_else(|| {
                    bad(&path, format!("`workspace.first_period`: `{text}` is not a period (2026-10, 2026-Q4 or 2026)"))
                })?);
            }
            _ => {
                return Err(bad(
                    &path,
                    format!("unknown key `workspace.{key}`; expected program, out, first_period"),
                ));
            }
        }
    }
    Ok(())
}

fn read_input(path: &Path, input: &str, value: &toml::Value, dir: &Path) -> Result<WorkspaceInput> {
    if !INPUTS.contains(&input) {
        return Err(bad(
            path,
            format!(
                "unknown input `inputs.{input}`; expected one of: {}",
                INPUTS.join(", ")
            ),
        ));
    }
    let joined = |file: &str| dir.join(file).display().to_string();
    match value {
        toml::Value::String(file) => Ok(WorkspaceInput {
            file: joined(file),
            import: None,
        }),
        toml::Value::Table(t) => {
            let mut entry = WorkspaceInput {
                file: String::new(),
                import: None,
            };
            for (key, v) in t {
                let text = v
                    .as_str()
                    .ok_or_else(|| bad(path, format!("`inputs.{input}.{key}` must be a string")))?;
                match key.as_str() {
                    "file" => entry.file = joined(text),
                    "import" => entry.import = Some(dir.join(text)),
                    _ => {
                        return Err(bad(
                            path,
                            format!("unknown key `inputs.{input}.{key}`; expected file, import"),
                        ));
                    }
                }
            }
            if entry.file.is_empty() {
                return Err(bad(path, format!("`inputs.{input}` needs `file`")));
            }
            Ok(entry)
        }
        _ => Err(bad(
            path,
            format!("`inputs.{input}` must be a file name or a table with `file` and `import`"),
        )),
    }
}

/// What the command line gave (every option optional: the workspace fills what is missing).
#[derive(Debug, Clone, Default)]
pub struct Given {
    pub program: Option<PathBuf>,
    pub out: Option<PathBuf>,
    pub first: bool,
    pub partners: Option<PathBuf>,
    pub deals: Option<PathBuf>,
    pub activities: Option<PathBuf>,
    pub claims: Option<PathBuf>,
    pub fx: Option<PathBuf>,
    pub adjustments: Option<PathBuf>,
    pub payments: Option<PathBuf>,
    pub approvals: Option<PathBuf>,
    pub ledger: Option<PathBuf>,
    pub allow_program_change: bool,
    pub columns: Option<PathBuf>,
    pub delimiter: Option<u8>,
    pub input_delimiters: Vec<(String, u8)>,
    pub imports: Vec<(Option<String>, PathBuf)>,
}

/// A command's options once the workspace has filled them in.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub program: Option<PathBuf>,
    pub out: Option<PathBuf>,
    pub paths: DataPaths,
    /// What the workspace decided, for the report (`--ledger batches/2026-10 (the previous batch)`).
    pub notes: Vec<String>,
}

/// Fills in `given` from the workspace for `period`: program, inputs and their import maps, `--out`
/// (with `wants_out`: `OUT/PERIOD`), and `--ledger` (the previous period's batch in the output root,
/// verified as any `--ledger`; its absence is an error unless this is the first period or `--first`).
pub fn resolve(
    ws: Option<&Workspace>,
    period: &Period,
    mut given: Given,
    wants_out: bool,
) -> Result<Resolved> {
    let mut notes = Vec::new();
    if let Some(ws) = ws {
        fill_inputs(ws, period, &mut given);
        given.program = given.program.or_else(|| ws.program.clone());
        let root = ws.out.as_ref();
        if wants_out && given.out.is_none() {
            given.out = root.map(|r| r.join(period.to_string()));
        }
        let automatic = given.ledger.is_none()
            && !given.first
            && (!wants_out
                || given.out.as_ref() == root.map(|r| r.join(period.to_string())).as_ref());
        if automatic && let Some(root) = root {
            given.ledger = previous_batch(ws, root, period)?;
            if let Some(dir) = &given.ledger {
                notes.push(format!("--ledger {} (the previous batch)", dir.display()));
            }
        }
        notes.insert(0, format!("workspace {}", ws.path.display()));
    }
    let missing = |option: &str| {
        Error::Refused(format!(
            "{option} is required (or run inside a workspace whose {FILE_NAME} names it)"
        ))
    };
    let paths = DataPaths {
        partners: given.partners.ok_or_else(|| missing("--partners"))?,
        deals: given.deals.ok_or_else(|| missing("--deals"))?,
        activities: given.activities,
        claims: given.claims,
        fx: given.fx,
        ledger: given.ledger,
        adjustments: given.adjustments,
        payments: given.payments,
        approvals: given.approvals,
        allow_program_change: given.allow_program_change,
        columns: given.columns,
        delimiter: given.delimiter,
        input_delimiters: given.input_delimiters,
        imports: given.imports,
        // `--out batch` (no parent named) sits in the current directory.
        batches: given.out.as_ref().and_then(|o| o.parent()).map(|p| {
            if p.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                p.to_path_buf()
            }
        }),
        first: given.first,
    };
    if wants_out && given.out.is_none() {
        return Err(missing("--out"));
    }
    Ok(Resolved {
        program: given.program,
        out: given.out,
        paths,
        notes,
    })
}

/// The workspace's inputs for those the command line left out, each with its import map unless
/// `--import` gives that input another.
fn fill_inputs(ws: &Workspace, period: &Period, given: &mut Given) {
    let period_text = period.to_string();
    for (input, entry) in &ws.inputs {
        let slot = match input.as_str() {
            "partners" => &mut given.partners,
            "deals" => &mut given.deals,
            "activities" => &mut given.activities,
            "claims" => &mut given.claims,
            "fx" => &mut given.fx,
            "adjustments" => &mut given.adjustments,
            "payments" => &mut given.payments,
            "approvals" => &mut given.approvals,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(PathBuf::from(entry.file.replace("{period}", &period_text)));
        }
        let mapped = given
            .imports
            .iter()
            .any(|(i, _)| i.as_deref() == Some(input.as_str()));
        if let Some(import) = entry.import.as_ref().filter(|_| !mapped) {
            given.imports.push((Some(input.clone()), import.clone()));
        }
    }
}

/// The batch of the period before `period` in the output root: `Some` when it is there; `None` at
/// the workspace's first period; an error naming it otherwise.
fn previous_batch(ws: &Workspace, root: &Path, period: &Period) -> Result<Option<PathBuf>> {
    if ws.first_period.as_ref() == Some(period) {
        return Ok(None);
    }
    if let Some(first) = &ws.first_period
        && period.start < first.start
    {
        return Err(Error::Refused(format!(
            "{period} is before the workspace's first period {first} ({}): the chain starts there",
            ws.path.display()
        )));
    }
    let previous = period.previous();
    let dir = root.join(previous.to_string());
    if dir.join("manifest.json").is_file() {
        return Ok(Some(dir));
    }
    Err(Error::Chain(vec![format!(
        "no batch of {previous}, the period before {period}, in {} (expected {}): run --period {previous} first, or start a new chain at {period} with --first (nothing earlier would be carried or remembered as paid){}",
        root.display(),
        dir.display(),
        match &ws.first_period {
            Some(first) => format!("; the workspace's chain starts at {first}"),
            None => String::new(),
        }
    )]))
}

/// `(program id, period id)` of the batch in `dir`, when it is one.
fn batch_of(dir: &Path) -> Option<(String, String)> {
    let text = std::fs::read(dir.join("manifest.json")).ok()?;
    let manifest: serde_json::Value = serde_json::from_slice(&text).ok()?;
    Some((
        manifest["program_id"].as_str()?.to_string(),
        manifest["period"]["id"].as_str()?.to_string(),
    ))
}

/// A run without `--ledger` next to this program's batch of the previous period is almost always a
/// forgotten `--ledger`: the warning names that batch.
pub fn unused_previous_batch(
    batches: &Path,
    program_id: &str,
    period: &Period,
    first: bool,
) -> Option<Warning> {
    let previous = period.previous().to_string();
    let mut found: Vec<PathBuf> = std::fs::read_dir(batches)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|dir| {
            batch_of(dir)
                .is_some_and(|(program, period)| program == program_id && period == previous)
        })
        .collect();
    found.sort();
    let dir = found.first()?;
    let why = if first {
        "--first starts a new chain"
    } else {
        "no --ledger was given"
    };
    Some(Warning::new(
        WarningCode::PreviousBatchNotUsed,
        format!(
            "{} is this program's batch of {previous}, the period before {period}, but {why}: its balances are not carried and what it paid may be paid again; to continue the chain pass --ledger {}",
            dir.display(),
            dir.display()
        ),
    ))
}
