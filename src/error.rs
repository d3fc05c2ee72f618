//! The library's error type. Every variant that comes from a file names the file, the line (1-based,
//! the CSV header is line 1), the column and the offending value, so a finance user can fix the export
//! without reading code.

use std::fmt;
use std::path::Path;

/// One problem found in a program definition, with its position and the source line for a caret excerpt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub severity: Severity,
    pub message: String,
    /// The source line, for the caret excerpt of the text report (not in JSON).
    pub excerpt: String,
}

/// In JSON a diagnostic is an object like every warning and error payline prints: a `code`
/// (`program` for an error, `lint` for a warning), the `message`, and where it is.
impl serde::Serialize for Diagnostic {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Diagnostic", 6)?;
        let code = match self.severity {
            Severity::Error => "program",
            Severity::Warning => "lint",
        };
        st.serialize_field("code", code)?;
        st.serialize_field("severity", &self.severity)?;
        st.serialize_field("message", &self.message)?;
        st.serialize_field("file", &self.file)?;
        st.serialize_field("line", &self.line)?;
        st.serialize_field("column", &self.column)?;
        st.end()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Diagnostic {
    /// `file:line:column: error: message` followed by the source line and a caret under the column.
    pub fn render(&self) -> String {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut out = format!(
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.column, label, self.message
        );
        if !self.excerpt.is_empty() {
            let gutter = self.line.to_string();
            let pad = " ".repeat(gutter.len());
            let caret_pad: String = self
                .excerpt
                .chars()
                .take(self.column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            out.push_str(&format!(
                "\n{pad} |\n{gutter} | {}\n{pad} | {caret_pad}^",
                self.excerpt
            ));
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

/// A calculation went through, but something deserves a look (SPEC §1: the summary's warnings). The
/// `code` is stable, for machines reading `--json`; the message is for people.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Warning {
    pub code: WarningCode,
    pub message: String,
    /// What a late-payment warning is about, for the engine to withdraw it when the line goes after
    /// all (SPEC §7 pay-once): a payment_id, or a deal_id. Not printed.
    #[serde(skip)]
    pub about: Option<About>,
}

/// The payment or the deal row a warning is about ([`Warning::about`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum About {
    Payment(String),
    Deal(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WarningCode {
    /// An attainment tier or a quota goal skipped for a partner without a positive quota.
    NoQuota,
    /// A claim on a fund whose `when` the partner does not match: paid nothing.
    ClaimNotEligible,
    /// A claim decided outside its fund rule's `valid_from`/`valid_until`: paid nothing.
    ClaimOutsideRuleDates,
    /// A claim paid in part or not at all: the fund had no more.
    ClaimUnpaid,
    /// The budgeted rules requested more than the budget: prorated.
    BudgetProrated,
    /// Rows reversed in the period could not be clawed back: no --ledger.
    ReversalsWithoutLedger,
    /// Paid rows reversed after the clawback window: not clawed back.
    LateReversals,
    /// A deal row re-dated after it was paid: not paid again (SPEC §7).
    DealPaidAlready,
    /// A claim re-dated after it was paid: not paid again (SPEC §7).
    ClaimPaidAlready,
    /// A fund balance of a fund the program no longer defines: carried unchanged.
    FundWithoutRule,
    /// `diff`: a claim on a fund one of the programs does not define: ignored.
    ClaimUnknownFund,
    /// An fx.csv rate more than 10× away from the same currency's rate before it: probably quoted
    /// the other way round.
    FxRateJump,
    /// The program has rules that read an input (activities, claims) that was not given.
    InputMissing,
    /// A header read as one of payline's columns because it matches ignoring case, spaces and
    /// punctuation (`Close Date` as `closed_on`).
    HeaderMatchedLoosely,
    /// A report's totals row at the end of an input (`Grand Totals,,,1200.00`): skipped.
    FooterSkipped,
    /// An accumulating rule's earlier periods without --ledger: nothing counts as paid (SPEC §8.7).
    AccumulateWithoutLedger,
    /// An adjustment already applied in an earlier period: not applied again (SPEC §8.1).
    AdjustmentAppliedAlready,
    /// An adjustment dated in an earlier period that the ledger never applied: not applied now.
    AdjustmentNotApplied,
    /// A pending line whose deal row is no longer in deals.csv: kept pending (SPEC §8.2).
    PendingDealMissing,
    /// A run without `--ledger` beside this program's batch of the previous period (SPEC §7).
    PreviousBatchNotUsed,
    /// A deal's customer_type that no rule names but that looks like one a rule names (`New
    /// Customer` beside `new`): an export's own word an import map should translate.
    ValueNamedByNoRule,
    /// No deal, activity, claim or adjustment in the period: most likely the wrong period or file.
    NoDataInPeriod,
    /// A deal row a manual rule's decision declined: not paid (SPEC §9.3).
    Declined,
    /// A decision for a row whose line was already paid, released or cancelled: changes nothing.
    DecisionAfterSettlement,
    /// A decision for a rule that does not require approval: ignored.
    DecisionNotNeeded,
    /// A payment first seen after its period was run: paid now (SPEC §9.1).
    LatePayment,
    /// A paid payment re-dated in payments.csv: taken at the date its line names.
    PaymentPaidAlready,
    /// A payment for a reversed row: paid on its part (the cash was received).
    PaymentForReversedDeal,
    /// A payment beyond the row's amount (or the refund of one): part 0, no line.
    Overpayment,
    /// An import map's filter skipped deal rows whose stage reads as won (`Closed Won - Pending
    /// Billing` beside `keep = ["Closed Won"]`).
    FilterSkippedWon,
    /// An import map's filters skipped every row of a file: a misspelled `keep` value?
    FilterSkippedAll,
}

impl Warning {
    pub fn new(code: WarningCode, message: impl Into<String>) -> Warning {
        Warning {
            code,
            message: message.into(),
            about: None,
        }
    }

    /// The same warning, saying what it is about.
    pub fn about(self, about: About) -> Warning {
        Warning {
            about: Some(about),
            ..self
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Every error found in a program definition (never only the first).
    #[error("{}", render_all(.0))]
    Program(Vec<Diagnostic>),

    /// Every error found in an import map (never only the first).
    #[error("{}", render_all(.0))]
    ImportMap(Vec<Diagnostic>),

    /// A bad value in an input CSV.
    #[error("{file}:{line}: column `{column}`: {message} (value: `{value}`)")]
    Input {
        file: String,
        line: u64,
        column: String,
        value: String,
        message: String,
    },

    /// A CSV that cannot be read as CSV at all (bad quoting, invalid UTF-8, ragged row).
    #[error("{file}:{line}: {message}")]
    Malformed {
        file: String,
        line: u64,
        message: String,
    },

    /// Several bad rows of one input, in file order: the first [`MAX_ROW_ERRORS`] (each an `Input`
    /// or `Malformed` error), and how many more were found.
    #[error("{}", render_rows(.errors, *.more))]
    Rows { errors: Vec<Error>, more: u64 },

    /// An input file that is not there, named with the option that gives it (on the command line
    /// or in the workspace's payline.toml).
    #[error("--{input} {path}: no such file")]
    MissingInput { input: &'static str, path: String },

    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },

    /// A calculation that cannot be completed from the inputs (e.g. a missing FX rate).
    #[error("{0}")]
    Calculation(String),

    /// `--ledger` is not the previous link of this chain (SPEC §7): every problem found, one per line.
    #[error("{}", .0.join("\n"))]
    Chain(Vec<String>),

    /// The command was asked to do something it refuses to do (e.g. overwrite a non-empty --out).
    #[error("{0}")]
    Refused(String),
}

/// How many bad rows of one input an error lists; the rest are counted.
pub const MAX_ROW_ERRORS: usize = 50;

fn render_rows(errors: &[Error], more: u64) -> String {
    let mut out: Vec<String> = errors.iter().map(Error::to_string).collect();
    let shown = u64::try_from(errors.len()).unwrap_or(u64::MAX);
    if more > 0 {
        out.push(format!(
            "… and {more} more ({} bad rows in all; the first {shown} are listed)",
            shown.saturating_add(more)
        ));
    } else if errors.len() > 1 {
        out.push(format!("{shown} bad rows"));
    }
    out.join("\n")
}

/// Collects the bad rows of one input, so a user sees every one in one run: the [`MAX_ROW_ERRORS`]
/// of the lowest lines are kept, the rest counted.
#[derive(Debug, Default)]
pub struct RowErrors {
    errors: Vec<Error>,
    more: u64,
}

impl RowErrors {
    pub fn new() -> RowErrors {
        RowErrors::default()
    }

    /// Adds one error (or each row of a [`Error::Rows`]).
    pub fn push(&mut self, error: Error) {
        match error {
            Error::Rows { errors, more } => {
                for e in errors {
                    self.push(e);
                }
                self.more = self.more.saturating_add(more);
            }
            e if self.errors.len() < MAX_ROW_ERRORS => self.errors.push(e),
            e => {
                // Full: the lowest lines are kept, whatever order they were found in.
                self.more = self.more.saturating_add(1);
                let highest = (0..self.errors.len())
                    .rev()
                    .max_by_key(|&i| self.errors[i].line());
                if let Some(i) = highest
                    && e.line() < self.errors[i].line()
                {
                    self.errors[i] = e;
                }
            }
        }
    }

    /// Whether there is room for another listed error (the caller may skip building its message).
    pub fn is_full(&self) -> bool {
        self.errors.len() >= MAX_ROW_ERRORS
    }

    /// Counts an error whose message was not built (see [`RowErrors::is_full`]).
    pub fn count_more(&mut self, n: u64) {
        self.more = self.more.saturating_add(n);
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty() && self.more == 0
    }

    /// The listed errors.
    pub fn errors(&self) -> &[Error] {
        &self.errors
    }

    /// Every error found: sorted by line (stable: errors of one line keep the order they were
    /// added in), the first [`MAX_ROW_ERRORS`] listed. `Ok` when there were none; one error is
    /// returned as itself.
    pub fn finish(mut self) -> Result<()> {
        self.errors.sort_by_key(Error::line);
        if self.errors.len() > MAX_ROW_ERRORS {
            let extra = self.errors.split_off(MAX_ROW_ERRORS);
            self.more = self
                .more
                .saturating_add(u64::try_from(extra.len()).unwrap_or(u64::MAX));
        }
        match (self.errors.len(), self.more) {
            (0, 0) => Ok(()),
            (1, 0) => Err(self.errors.remove(0)),
            _ => Err(Error::Rows {
                errors: self.errors,
                more: self.more,
            }),
        }
    }
}

fn render_all(diags: &[Diagnostic]) -> String {
    let errors: Vec<String> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(Diagnostic::render)
        .collect();
    let mut out = errors.join("\n");
    if errors.len() > 1 {
        out.push_str(&format!("\n{} errors", errors.len()));
    }
    out
}

impl Error {
    /// The same error with the file `from` named `to` (an input read from a temporary copy).
    pub fn with_file_named(mut self, from: &str, to: &str) -> Self {
        match &mut self {
            Error::Input { file, .. } | Error::Malformed { file, .. } if file == from => {
                *file = to.to_string();
            }
            Error::Rows { errors, .. } => {
                *errors = std::mem::take(errors)
                    .into_iter()
                    .map(|e| e.with_file_named(from, to))
                    .collect();
            }
            Error::Io { path, .. } if path == from => *path = to.to_string(),
            _ => {}
        }
        self
    }

    /// The line an error of an input file is on (0 for other errors), for ordering.
    pub fn line(&self) -> u64 {
        match self {
            Error::Input { line, .. } | Error::Malformed { line, .. } => *line,
            Error::Rows { errors, .. } => errors.first().map_or(0, Error::line),
            _ => 0,
        }
    }

    pub fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.display().to_string(),
            source,
        }
    }

    /// A stable name of the kind of error, for machines (`--json`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Program(_) => "program",
            Error::ImportMap(_) => "import-map",
            Error::Input { .. } => "input",
            Error::Malformed { .. } => "malformed-csv",
            Error::Rows { .. } => "input-rows",
            Error::Io { .. } | Error::MissingInput { .. } => "io",
            Error::Calculation(_) => "calculation",
            Error::Chain(_) => "ledger",
            Error::Refused(_) => "refused",
        }
    }

    /// The error as one JSON object: its code, its message, and its parts where it has them (the
    /// program's diagnostics; the file, line, column and value of a bad cell; every ledger problem).
    pub fn to_json(&self) -> serde_json::Value {
        let mut error = serde_json::json!({ "code": self.code(), "message": self.to_string() });
        match self {
            Error::Program(diags) | Error::ImportMap(diags) => {
                error["diagnostics"] = serde_json::json!(diags);
            }
            Error::Input {
                file,
                line,
                column,
                value,
                ..
            } => {
                error["file"] = serde_json::json!(file);
                error["line"] = serde_json::json!(line);
                error["column"] = serde_json::json!(column);
                error["value"] = serde_json::json!(value);
            }
            Error::Chain(problems) => {
                error["problems"] = serde_json::json!(problems);
            }
            Error::Rows { errors, more } => {
                error["errors"] = errors
                    .iter()
                    .map(|e| e.to_json()["error"].clone())
                    .collect();
                error["more"] = serde_json::json!(more);
            }
            Error::Malformed { file, line, .. } => {
                error["file"] = serde_json::json!(file);
                error["line"] = serde_json::json!(line);
            }
            Error::MissingInput { path, .. } => {
                error["file"] = serde_json::json!(path);
            }
            Error::Io { .. } | Error::Calculation(_) | Error::Refused(_) => {}
        }
        serde_json::json!({ "error": error })
    }

    /// The process exit status the CLI uses for this error (SPEC §1: 1 bad input, 2 usage).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Refused(_) => 2,
            _ => 1,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
