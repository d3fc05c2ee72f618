//! The `payline` binary: parse arguments, call the library, print, exit with the right status.

mod cli;

use clap::Parser;
use cli::{Cli, Command};
use indicatif::{ProgressBar, ProgressStyle};
use payline::run::Stage;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Progress on stderr for long runs: only when stderr is a terminal, and only after about a second.
/// Cleared when dropped, so the summary prints on a clean screen.
struct Progress {
    started: Instant,
    tty: bool,
    bar: Option<ProgressBar>,
}

impl Progress {
    #[allow(
        clippy::disallowed_methods,
        reason = "the clock decides only when progress shows, never what is written"
    )]
    fn new() -> Progress {
        Progress {
            started: Instant::now(),
            tty: std::io::stderr().is_terminal(),
            bar: None,
        }
    }

    fn update(&mut self, stage: Stage) {
        if !self.tty || self.started.elapsed() < Duration::from_secs(1) {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        bar.set_message(match stage {
            Stage::ReadingDeals { rows } => format!("reading deals: {rows} rows"),
            Stage::Calculating => "calculating".to_string(),
            Stage::Writing => "writing outputs".to_string(),
        });
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn print_json(value: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("reports serialize")
    );
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.command.json();
    match execute(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if json {
                // With --json a failure is one JSON object too, on stdout where the report would be.
                print_json(&e.to_json());
            } else if let payline::Error::Program(_) = e {
                // Program diagnostics carry their own `file:line:col: error:` prefix.
                eprintln!("{e}");
            } else {
                eprintln!("error: {e}");
            }
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
        }
    }
}

/// Runs one command; the library's typed error reaches `main`, which picks the exit status.
fn execute(command: Command) -> payline::Result<u8> {
    match command {
        Command::Run(args) => {
            let summary = {
                let mut progress = Progress::new();
                payline::run::run(
                    &args.program,
                    &args.data.period,
                    &args.data.paths(),
                    &args.out,
                    args.force,
                    // The replaced batch goes in a detached `payline __remove-work-dir` (below).
                    &payline::output::OldBatch::in_background(),
                    &mut |stage| progress.update(stage),
                )?
            };
            if args.json {
                print_json(&summary);
            } else {
                print!("{}", payline::output::render_table(&summary));
                println!("\nWrote {}", args.out.display());
            }
            Ok(0)
        }
        Command::Check(args) => {
            let report = payline::check::check(&args.programs, args.partners.as_deref())?;
            if args.json {
                print_json(&report);
            } else {
                print!("{}", report.render());
            }
            let failed = report.errors > 0 || (args.deny_warnings && report.warnings > 0);
            Ok(if failed { 1 } else { 0 })
        }
        Command::Diff(args) => {
            let top = if args.all { None } else { Some(args.top) };
            let report = payline::diff::diff(
                &args.base,
                &args.head,
                &args.data.period,
                &args.data.paths(),
                args.max_increase,
                top,
            )?;
            if args.json {
                print_json(&report);
            } else {
                print!("{}", report.render());
            }
            Ok(if report.over_limit { 3 } else { 0 })
        }
        Command::Explain(args) => {
            let (program, loaded, outcome) = {
                let mut progress = Progress::new();
                payline::run::calculate(
                    &args.program,
                    &args.data.period,
                    &args.data.paths(),
                    &mut |stage| progress.update(stage),
                )?
            };
            print!(
                "{}",
                payline::explain::explain(
                    &program,
                    &args.data.period,
                    &loaded,
                    &outcome,
                    &args.partner
                )?
            );
            Ok(0)
        }
        Command::RemoveWorkDir(args) => {
            payline::output::remove_work_dir(&args.dir)?;
            Ok(0)
        }
    }
}
