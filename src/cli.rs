//! Command-line arguments (SPEC §1). Parsing only: the work is in the library.

use clap::{Args, Parser, Subcommand};
use payline::diff::Limit;
use payline::period::Period;
use payline::run::DataPaths;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "payline",
    version,
    about = "Partner-incentive calculator over flat files"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Calculate a period and write the batch: payouts, lines, ledger, balances, journal, index.html
    /// and a manifest (with --statements, every partner's statement too).
    Run(RunArgs),
    /// Validate and lint program definitions (no data needed).
    Check(CheckArgs),
    /// Price a program change: both programs over the same data, with deltas.
    Diff(DiffArgs),
    /// Show one partner's lines, subtotals and status.
    Explain(ExplainArgs),
    /// Render partners' statements (HTML and CSV) from a finished batch, which is verified first
    /// and never changed.
    Statements(StatementsArgs),
    /// Internal: removes a batch that `run --force` replaced, detached from the run that started it.
    #[command(name = payline::output::REMOVER_SUBCOMMAND, hide = true)]
    RemoveWorkDir(RemoveWorkDirArgs),
}

impl Command {
    /// Whether the command was asked for machine-readable output.
    pub fn json(&self) -> bool {
        match self {
            Command::Run(a) => a.json,
            Command::Check(a) => a.json,
            Command::Diff(a) => a.json,
            Command::Explain(a) => a.json,
            Command::Statements(a) => a.json,
            Command::RemoveWorkDir(_) => false,
        }
    }
}

fn parse_period(text: &str) -> Result<Period, String> {
    Period::parse(text).ok_or_else(|| {
        format!(
            "expected a month (2026-10), quarter (2026-Q4) or year (2026) between {} and {}, found `{text}`",
            payline::period::FIRST_YEAR,
            payline::period::LAST_YEAR
        )
    })
}

#[derive(Debug, Args)]
pub struct DataArgs {
    /// partners.csv
    #[arg(long)]
    pub partners: PathBuf,
    /// deals.csv (history, not only the period)
    #[arg(long)]
    pub deals: PathBuf,
    /// The period: 2026-10, 2026-Q4 or 2026
    #[arg(long, value_parser = parse_period)]
    pub period: Period,
    /// activities.csv
    #[arg(long)]
    pub activities: Option<PathBuf>,
    /// claims.csv (MDF / co-op fund claims)
    #[arg(long)]
    pub claims: Option<PathBuf>,
    /// fx.csv
    #[arg(long)]
    pub fx: Option<PathBuf>,
    /// The previous period's --out directory
    #[arg(long, value_name = "PREV_DIR")]
    pub ledger: Option<PathBuf>,
    /// adjustments.csv (manual adjustments)
    #[arg(long)]
    pub adjustments: Option<PathBuf>,
    /// Accept a --ledger written by another program id (a new fiscal year's program carrying the
    /// old balances on); recorded in the manifest
    #[arg(long, requires = "ledger")]
    pub allow_program_change: bool,
    /// A column map (TOML): the header names your exports use, e.g. `[deals]` `deal_id = "Opportunity ID"`
    #[arg(long, value_name = "MAP.toml")]
    pub columns: Option<PathBuf>,
    /// The cell separator of every input CSV: `,` (default), `;`, `tab` or `|` (one input's own:
    /// `delimiter = ";"` in its --columns table)
    #[arg(long, value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,
}

fn parse_delimiter(text: &str) -> Result<u8, String> {
    payline::input::parse_delimiter(text)
        .ok_or_else(|| format!("expected `,`, `;`, `tab` or `|`, found `{text}`"))
}

impl DataArgs {
    pub fn paths(&self) -> DataPaths {
        DataPaths {
            partners: self.partners.clone(),
            deals: self.deals.clone(),
            activities: self.activities.clone(),
            claims: self.claims.clone(),
            fx: self.fx.clone(),
            ledger: self.ledger.clone(),
            adjustments: self.adjustments.clone(),
            allow_program_change: self.allow_program_change,
            columns: self.columns.clone(),
            delimiter: self.delimiter,
        }
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The program definition (TOML)
    #[arg(long)]
    pub program: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Output directory (written all or nothing)
    #[arg(long)]
    pub out: PathBuf,
    /// Replace a non-empty --out
    #[arg(long)]
    pub force: bool,
    /// Also render every partner's statement (HTML and CSV) into --out/statements/, as
    /// `payline statements` would
    #[arg(long)]
    pub statements: bool,
    /// Print the summary as one JSON object
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Program definitions to check
    #[arg(required = true)]
    pub programs: Vec<PathBuf>,
    /// A partners file, to warn about rules no partner could match
    #[arg(long)]
    pub partners: Option<PathBuf>,
    /// Treat warnings as errors
    #[arg(long)]
    pub deny_warnings: bool,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The program as it is (e.g. on the main branch)
    #[arg(long)]
    pub base: PathBuf,
    /// The changed program
    #[arg(long)]
    pub head: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Exit 3 when head costs more than base by more than this: an amount (5000) or a percent (2.5%)
    #[arg(long, value_parser = Limit::parse, value_name = "AMOUNT|PCT%")]
    pub max_increase: Option<Limit>,
    /// How many changed partners to list
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// List every changed partner
    #[arg(long)]
    pub all: bool,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The partner to explain
    #[arg(long)]
    pub partner: String,
    /// The program definition (TOML)
    #[arg(long)]
    pub program: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Print the partner's lines and payout as one JSON object
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatementsArgs {
    /// The batch: a finished `run`'s --out directory
    #[arg(value_name = "BATCH_DIR")]
    pub batch: PathBuf,
    /// Only these partners (repeat the option, or separate ids with commas)
    #[arg(long = "partner", value_name = "ID", value_delimiter = ',')]
    pub partners: Vec<String>,
    /// Which files to write per partner
    #[arg(long, value_delimiter = ',', default_value = "html,csv", value_parser = parse_format)]
    pub format: Vec<payline::render::Format>,
    /// Where the statements go (default BATCH_DIR/statements, where index.html links to them);
    /// written all or nothing
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replace a non-empty --out (only a folder of statements payline rendered)
    #[arg(long)]
    pub force: bool,
    /// Print what was rendered as one JSON object
    #[arg(long)]
    pub json: bool,
}

fn parse_format(text: &str) -> Result<payline::render::Format, String> {
    payline::render::Format::parse(text)
        .ok_or_else(|| format!("expected `html` or `csv`, found `{text}`"))
}

#[derive(Debug, Args)]
pub struct RemoveWorkDirArgs {
    /// A `.NAME.payline-trash-PID` directory beside an --out
    pub dir: PathBuf,
}
