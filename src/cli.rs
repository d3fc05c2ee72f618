//! Command-line arguments (SPEC §1). Parsing only: the work is in the library.

use clap::{Args, Parser, Subcommand};
use payline::diff::Limit;
use payline::input::INPUTS;
use payline::period::Period;
use payline::workspace::Given;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "payline",
    version,
    about = "Partner-incentive calculator over flat files",
    after_help = concat!(
        "Example (the monthly routine, inside a workspace whose payline.toml names the program and inputs):\n",
        "  payline run --period 2026-11\n\n",
        "Exit status:\n",
        "  0  success\n",
        "  1  bad input, a program or import-map error, a --ledger that is not the previous batch,\n",
        "     a calculation error; `inspect`: the file would be refused\n",
        "  2  usage error, and a refused --out\n",
        "  3  `diff`: the head program costs more than --max-increase"
    )
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// The workspace file to use (default: payline.toml in the current directory or the nearest
    /// parent holding one)
    #[arg(long, global = true, value_name = "PAYLINE.toml")]
    pub workspace: Option<PathBuf>,
    /// Ignore any payline.toml workspace
    #[arg(long, global = true, conflicts_with = "workspace")]
    pub no_workspace: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Calculate a period and write the batch: payouts, lines, ledger, balances, journal, index.html
    /// and a manifest (with --statements, every partner's statement too).
    #[command(after_help = concat!(
        "Examples:\n",
        "  payline run --program programs/mixed.toml --partners fixtures/partners.csv \\\n",
        "      --deals fixtures/deals.csv --fx fixtures/fx.csv --period 2026-10 --out out/2026-10 --statements\n",
        "  payline run --period 2026-11        # inside a workspace: out/2026-11, --ledger out/2026-10\n\n",
        "Exit status: 0 success; 1 bad input, program, import map, ledger or calculation; 2 usage\n",
        "or a refused --out."
    ))]
    Run(RunArgs),
    /// Validate and lint program definitions (no data needed).
    #[command(after_help = concat!(
        "Example:\n",
        "  payline check programs/*.toml --partners fixtures/partners.csv --deny-warnings\n\n",
        "Exit status: 0 no error (and no warning with --deny-warnings); 1 otherwise; 2 usage."
    ))]
    Check(CheckArgs),
    /// Price a program change: both programs over the same data, with deltas.
    #[command(after_help = concat!(
        "Example:\n",
        "  payline diff --base main.toml --head programs/fy26.toml --partners fixtures/partners.csv \\\n",
        "      --deals fixtures/deals.csv --period 2026-10 --max-increase 2.5%\n\n",
        "Exit status: 0 within the limit; 3 over --max-increase; 1 bad input; 2 usage."
    ))]
    Diff(DiffArgs),
    /// Show one partner's lines, subtotals and status.
    #[command(after_help = concat!(
        "Example:\n",
        "  payline explain --partner P004 --program programs/mixed.toml --partners fixtures/partners.csv \\\n",
        "      --deals fixtures/deals.csv --fx fixtures/fx.csv --period 2026-10\n\n",
        "Exit status: 0 success; 1 bad input or unknown partner; 2 usage."
    ))]
    Explain(ExplainArgs),
    /// Render partners' statements (HTML and CSV) from a finished batch, which is verified first
    /// and never changed.
    #[command(after_help = concat!(
        "Examples:\n",
        "  payline statements out/2026-10                       # every partner, into out/2026-10/statements\n",
        "  payline statements out/2026-10 --partner P003 --format html --out mail/2026-10\n\n",
        "Exit status: 0 success; 1 a batch that does not verify, or an unknown partner; 2 usage or a\n",
        "refused --out."
    ))]
    Statements(StatementsArgs),
    /// Dry-run one input through its import map: how it is read, its first rows as payline reads
    /// them, the rows skipped and why, and every value of its choice columns with its mapping.
    #[command(after_help = concat!(
        "Example:\n",
        "  payline inspect deals fixtures/crm/salesforce-opportunities.csv \\\n",
        "      --import examples/imports/salesforce-opportunities.toml --partners fixtures/crm/partners.csv\n\n",
        "Exit status: 0 the file reads cleanly; 1 a run would refuse it (every problem is listed); 2 usage."
    ))]
    Inspect(InspectArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    #[command(after_help = concat!(
        "Example:\n",
        "  payline completions bash > ~/.local/share/bash-completion/completions/payline\n\n",
        "Exit status: 0; 2 usage."
    ))]
    Completions(CompletionsArgs),
    /// Print payline's man page (roff) to stdout, or one command's.
    #[command(after_help = concat!(
        "Example:\n",
        "  payline man > payline.1 && man ./payline.1\n",
        "  payline man run > payline-run.1\n\n",
        "Exit status: 0; 2 usage."
    ))]
    Man(ManArgs),
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
            Command::Inspect(a) => a.json,
            Command::Completions(_) | Command::Man(_) | Command::RemoveWorkDir(_) => false,
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
    /// partners.csv (default: the workspace's)
    #[arg(long)]
    pub partners: Option<PathBuf>,
    /// deals.csv, history not only the period (default: the workspace's)
    #[arg(long)]
    pub deals: Option<PathBuf>,
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
    /// The previous period's --out directory (in a workspace: its output root's batch of the
    /// previous period)
    #[arg(long, value_name = "PREV_DIR")]
    pub ledger: Option<PathBuf>,
    /// Start a new chain at this period: no --ledger, on purpose
    #[arg(long, conflicts_with = "ledger")]
    pub first: bool,
    /// adjustments.csv (manual adjustments)
    #[arg(long)]
    pub adjustments: Option<PathBuf>,
    /// payments.csv (cash received per deal, for rules with pay_on = "payment" or "full-payment")
    #[arg(long)]
    pub payments: Option<PathBuf>,
    /// approvals.csv (decisions on the deal rows of rules with approval = "manual")
    #[arg(long)]
    pub approvals: Option<PathBuf>,
    /// Accept a --ledger written by another program id (a new fiscal year's program carrying the
    /// old balances on); recorded in the manifest
    #[arg(long)]
    pub allow_program_change: bool,
    /// An import map (TOML) for one input (`deals=MAP.toml`) or for every input it has a table for
    /// (`MAP.toml`); repeatable
    #[arg(long = "import", value_name = "[INPUT=]MAP.toml", value_parser = parse_import)]
    pub imports: Vec<(Option<String>, PathBuf)>,
    /// An import map for every input it has a table for (the older name of `--import MAP.toml`)
    #[arg(long, value_name = "MAP.toml")]
    pub columns: Option<PathBuf>,
    /// The cell separator of every input (`;`), or of one (`deals=;`): `,` (default), `;`, `tab`
    /// or `|`; repeatable
    #[arg(long = "delimiter", value_name = "[INPUT=]SEP", value_parser = parse_input_delimiter)]
    pub delimiters: Vec<(Option<String>, u8)>,
}

/// An input's name as the library names it.
pub fn input_name(text: &str) -> &'static str {
    INPUTS.into_iter().find(|i| *i == text).unwrap_or("deals")
}

/// `INPUT=rest` when the text starts with an input's name and `=`.
fn split_input(text: &str) -> (Option<String>, &str) {
    match text.split_once('=') {
        Some((input, rest)) if INPUTS.contains(&input) => (Some(input.to_string()), rest),
        _ => (None, text),
    }
}

fn parse_import(text: &str) -> Result<(Option<String>, PathBuf), String> {
    let (input, path) = split_input(text);
    if path.is_empty() {
        return Err("expected MAP.toml or INPUT=MAP.toml".into());
    }
    Ok((input, PathBuf::from(path)))
}

fn parse_input_delimiter(text: &str) -> Result<(Option<String>, u8), String> {
    let (input, separator) = split_input(text);
    Ok((input, parse_delimiter(separator)?))
}

fn parse_delimiter(text: &str) -> Result<u8, String> {
    payline::input::parse_delimiter(text)
        .ok_or_else(|| format!("expected `,`, `;`, `tab` or `|` (or INPUT=SEP), found `{text}`"))
}

impl DataArgs {
    /// What the command line gave; a workspace fills in the rest.
    pub fn given(&self, program: Option<PathBuf>, out: Option<PathBuf>) -> Given {
        Given {
            program,
            out,
            first: self.first,
            partners: self.partners.clone(),
            deals: self.deals.clone(),
            activities: self.activities.clone(),
            claims: self.claims.clone(),
            fx: self.fx.clone(),
            adjustments: self.adjustments.clone(),
            payments: self.payments.clone(),
            approvals: self.approvals.clone(),
            ledger: self.ledger.clone(),
            allow_program_change: self.allow_program_change,
            columns: self.columns.clone(),
            delimiter: self
                .delimiters
                .iter()
                .rev()
                .find(|(input, _)| input.is_none())
                .map(|(_, d)| *d),
            input_delimiters: self
                .delimiters
                .iter()
                .filter_map(|(input, d)| input.clone().map(|i| (i, *d)))
                .collect(),
            imports: self.imports.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The program definition (TOML) (default: the workspace's)
    #[arg(long)]
    pub program: Option<PathBuf>,
    #[command(flatten)]
    pub data: DataArgs,
    /// Output directory, written all or nothing (default: the workspace's output root / PERIOD)
    #[arg(long)]
    pub out: Option<PathBuf>,
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
    /// The program definition (TOML) (default: the workspace's)
    #[arg(long)]
    pub program: Option<PathBuf>,
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

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Which input the file is
    #[arg(value_parser = INPUTS)]
    pub input: String,
    /// The file (default: the workspace's file for INPUT)
    pub file: Option<PathBuf>,
    /// The import map (default: the workspace's for INPUT; none: payline's own format)
    #[arg(long = "import", value_name = "MAP.toml")]
    pub import: Option<PathBuf>,
    /// partners.csv, to check partner references (default: the workspace's)
    #[arg(long)]
    pub partners: Option<PathBuf>,
    /// The program, whose currency amounts are checked against (default: the workspace's)
    #[arg(long)]
    pub program: Option<PathBuf>,
    /// The cell separator when the import map names none
    #[arg(long, value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,
    /// The period, for a workspace file named with `{period}`
    #[arg(long, value_parser = parse_period)]
    pub period: Option<Period>,
    /// How many rows to show as payline reads them
    #[arg(long, default_value_t = 5)]
    pub rows: usize,
    /// Print the report as one JSON object
    #[arg(long)]
    pub json: bool,
}

fn parse_format(text: &str) -> Result<payline::render::Format, String> {
    payline::render::Format::parse(text)
        .ok_or_else(|| format!("expected `html` or `csv`, found `{text}`"))
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// A command, for its own page (run, check, diff, explain, inspect)
    pub command: Option<String>,
}

#[derive(Debug, Args)]
pub struct RemoveWorkDirArgs {
    /// A `.NAME.payline-trash-PID` directory beside an --out
    pub dir: PathBuf,
}
