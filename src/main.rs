//! The `payline` binary: parse arguments, call the library, print, exit with the right status.

mod cli;

use clap::{CommandFactory, Parser};
use cli::{Cli, Command};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use payline::run::Stage;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Progress on stderr for long runs: only when stderr is a terminal, and only after about a second.
/// While deals.csv streams, a bar of its bytes (read out of the file's size) with the rows and an
/// ETA; a spinner when its size is unknown (a pipe) and for the later stages. Cleared when dropped,
/// so the summary prints on a clean screen.
struct Progress {
    started: Instant,
    /// How long a run goes before progress shows.
    delay: Duration,
    tty: bool,
    /// Where the display draws (stderr; hidden in tests).
    target: fn() -> ProgressDrawTarget,
    bar: Option<ProgressBar>,
    /// Whether `bar` is drawn as a bar (true) or a spinner.
    as_bar: bool,
}

impl Progress {
    #[allow(
        clippy::disallowed_methods,
        reason = "the clock decides only when progress shows, never what is written"
    )]
    fn new() -> Progress {
        Progress {
            started: Instant::now(),
            delay: Duration::from_secs(1),
            tty: std::io::stderr().is_terminal(),
            target: ProgressDrawTarget::stderr,
            bar: None,
            as_bar: false,
        }
    }

    fn update(&mut self, stage: Stage) {
        if !self.tty || self.started.elapsed() < self.delay {
            return;
        }
        match stage {
            Stage::ReadingDeals {
                rows,
                bytes,
                total: Some(total),
            } => {
                let bytes = bytes.min(total);
                let message = format!("{rows} rows");
                match &self.bar {
                    Some(bar) if self.as_bar && bytes >= bar.position() => {
                        bar.set_position(bytes);
                        bar.set_message(message);
                    }
                    // The first report, or a second pass starting again from the top.
                    _ => {
                        let bar = ProgressBar::with_draw_target(
                            Some(total),
                            ProgressDrawTarget::hidden(),
                        )
                        .with_style(bar_style())
                        .with_message(message)
                        .with_position(bytes);
                        // The bytes read before the bar appeared must not count as read in no
                        // time: the ETA is estimated from here on.
                        bar.tick();
                        bar.reset_eta();
                        self.show(bar, true);
                    }
                }
            }
            stage => {
                let message = match stage {
                    Stage::ReadingDeals { rows, .. } => format!("reading deals: {rows} rows"),
                    Stage::Calculating => "calculating".to_string(),
                    Stage::Writing => "writing outputs".to_string(),
                };
                match &self.bar {
                    Some(bar) if !self.as_bar => bar.set_message(message),
                    _ => {
                        let spinner =
                            ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden())
                                .with_style(spinner_style())
                                .with_message(message);
                        self.show(spinner, false);
                    }
                }
            }
        }
    }

    /// Replaces what is on screen with `bar`, set up while hidden so that it never draws half set.
    fn show(&mut self, bar: ProgressBar, as_bar: bool) {
        if let Some(old) = self.bar.take() {
            old.finish_and_clear();
        }
        bar.set_draw_target((self.target)());
        bar.enable_steady_tick(Duration::from_millis(120));
        self.bar = Some(bar);
        self.as_bar = as_bar;
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg}").expect("valid template")
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{spinner} reading deals [{bar:30}] {bytes}/{total_bytes}, {msg}, ETA {eta}",
    )
    .expect("valid template")
    .progress_chars("=> ")
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn json_text(value: &impl serde::Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("reports serialize");
    text.push('\n');
    text
}

/// Writes the report to stdout. A reader that went away (`payline diff … | head -3`) is not an
/// error: the command's own status stands (0 when it succeeded, as ripgrep exits; 3 for a `diff`
/// over its limit, so a CI gate never passes because its reader stopped early). Any other failure
/// (a full disk behind a redirect) is reported on stderr with status 1, since the report was lost.
fn emit(text: &str, code: u8) -> Result<(), ExitCode> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(ExitCode::from(code)),
        Err(e) => {
            eprintln!("error: cannot write the report to standard output: {e}");
            Err(ExitCode::FAILURE)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.command.json();
    let workspace = WorkspaceArgs {
        file: cli.workspace,
        disabled: cli.no_workspace,
    };
    match execute(cli.command, &workspace) {
        Ok((code, report)) => match emit(&report, code) {
            Ok(()) => ExitCode::from(code),
            Err(failed) => failed,
        },
        Err(e) => {
            let code = ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1));
            if json {
                // With --json a failure is one JSON object too, on stderr: stdout stays the report's,
                // so a pipe reading reports never takes an error for one.
                eprint!("{}", json_text(&e.to_json()));
            } else if let payline::Error::Program(_) | payline::Error::ImportMap(_) = e {
                // Program and import-map diagnostics carry their own `file:line:col: error:` prefix.
                eprintln!("{e}");
            } else {
                eprintln!("error: {e}");
            }
            code
        }
    }
}

/// `--workspace` and `--no-workspace`.
struct WorkspaceArgs {
    file: Option<std::path::PathBuf>,
    disabled: bool,
}

impl WorkspaceArgs {
    fn find(&self) -> payline::Result<Option<payline::workspace::Workspace>> {
        payline::workspace::discover(self.file.as_deref(), self.disabled)
    }
}

/// A required option neither the command line nor the workspace gave.
fn missing(option: &str) -> payline::Error {
    payline::Error::Refused(format!(
        "{option} is required (or run inside a workspace whose payline.toml names it)"
    ))
}

/// Runs one command: its exit status and the report to print. The library's typed error reaches
/// `main`, which picks the exit status.
fn execute(command: Command, workspace: &WorkspaceArgs) -> payline::Result<(u8, String)> {
    match command {
        Command::Run(args) => run(args, workspace),
        Command::Check(args) => {
            let report = payline::check::check(&args.programs, args.partners.as_deref())?;
            let failed = report.errors > 0 || (args.deny_warnings && report.warnings > 0);
            let text = if args.json {
                json_text(&report)
            } else {
                report.render()
            };
            Ok((if failed { 1 } else { 0 }, text))
        }
        Command::Diff(args) => {
            let ws = workspace.find()?;
            let given = args.data.given(None, None);
            let resolved =
                payline::workspace::resolve(ws.as_ref(), &args.data.period, given, false)?;
            let top = if args.all { None } else { Some(args.top) };
            let report = payline::diff::diff(
                &args.base,
                &args.head,
                &args.data.period,
                &resolved.paths,
                args.max_increase,
                top,
            )?;
            let text = if args.json {
                json_text(&report)
            } else {
                report.render()
            };
            Ok((if report.over_limit { 3 } else { 0 }, text))
        }
        Command::Explain(args) => explain(args, workspace),
        Command::Inspect(args) => inspect(args, workspace),
        Command::Completions(args) => {
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut cli::Cli::command(), "payline", &mut script);
            Ok((0, String::from_utf8_lossy(&script).into_owned()))
        }
        Command::Statements(args) => {
            let selection = payline::render::Selection {
                partners: args.partners,
                formats: args.format,
            };
            let (out, rendered) = payline::render::statements(
                &args.batch,
                &selection,
                args.out.as_deref(),
                args.force,
                &payline::output::OldBatch::in_background(),
            )?;
            let report = if args.json {
                json_text(&serde_json::json!({
                    "out": out.display().to_string(),
                    "statements": rendered.partners,
                    "files": rendered.files,
                }))
            } else {
                format!(
                    "Rendered {} statement(s) ({} files) into {}\n",
                    rendered.partners,
                    rendered.files,
                    out.display()
                )
            };
            Ok((0, report))
        }
        Command::Man(args) => man(args.command.as_deref()),
        Command::RemoveWorkDir(args) => {
            payline::output::remove_work_dir(&args.dir)?;
            Ok((0, String::new()))
        }
    }
}

fn run(args: cli::RunArgs, workspace: &WorkspaceArgs) -> payline::Result<(u8, String)> {
    let ws = workspace.find()?;
    let given = args.data.given(args.program.clone(), args.out.clone());
    let resolved = payline::workspace::resolve(ws.as_ref(), &args.data.period, given, true)?;
    let program = resolved.program.ok_or_else(|| missing("--program"))?;
    let out = resolved.out.ok_or_else(|| missing("--out"))?;
    let summary = {
        let mut progress = Progress::new();
        payline::run::run_with_statements(
            &program,
            &args.data.period,
            &resolved.paths,
            &out,
            args.force,
            args.statements,
            // The replaced batch goes in a detached `payline __remove-work-dir` (below).
            &payline::output::OldBatch::in_background(),
            &mut |stage| progress.update(stage),
        )?
    };
    let report = if args.json {
        json_text(&summary)
    } else {
        let statements = if args.statements {
            format!(", statements in {}", out.join("statements").display())
        } else {
            String::new()
        };
        let mut text = format!(
            "{}\nWrote {}{statements}\n",
            payline::output::render_table(&summary),
            out.display()
        );
        for note in &resolved.notes {
            text.push_str(&format!("  ({note})\n"));
        }
        text
    };
    Ok((0, report))
}

fn explain(args: cli::ExplainArgs, workspace: &WorkspaceArgs) -> payline::Result<(u8, String)> {
    let ws = workspace.find()?;
    let given = args.data.given(args.program.clone(), None);
    let resolved = payline::workspace::resolve(ws.as_ref(), &args.data.period, given, false)?;
    let program_path = resolved.program.ok_or_else(|| missing("--program"))?;
    let (program, loaded, outcome) = {
        let mut progress = Progress::new();
        payline::run::calculate(
            &program_path,
            &args.data.period,
            &resolved.paths,
            &mut |stage| progress.update(stage),
        )?
    };
    let period = &args.data.period;
    let text = if args.json {
        json_text(&payline::explain::explain_json(
            &program,
            period,
            &loaded,
            &outcome,
            &args.partner,
        )?)
    } else {
        payline::explain::explain(&program, period, &loaded, &outcome, &args.partner)?
    };
    Ok((0, text))
}

fn inspect(args: cli::InspectArgs, workspace: &WorkspaceArgs) -> payline::Result<(u8, String)> {
    let ws = workspace.find()?;
    let input = cli::input_name(&args.input);
    let (ws_file, ws_map) = ws
        .as_ref()
        .map(|w| payline::inspect::from_workspace(w, input, args.period.as_ref()))
        .unwrap_or_default();
    let file = args
        .file
        .clone()
        .or(ws_file)
        .ok_or_else(|| missing("the file"))?;
    // The workspace's map belongs to the workspace's file only.
    let map = args
        .import
        .clone()
        .or(ws_map.filter(|_| args.file.is_none()));
    let ws_partners = ws
        .as_ref()
        .and_then(|w| payline::inspect::from_workspace(w, "partners", args.period.as_ref()).0);
    let program = args
        .program
        .clone()
        .or(ws.as_ref().and_then(|w| w.program.clone()));
    let currency = match program {
        Some(path) => payline::program::load(&path)?.currency,
        None => String::new(),
    };
    let request = payline::inspect::Request {
        input,
        file,
        map,
        partners: args.partners.clone().or(ws_partners),
        currency,
        delimiter: args.delimiter,
        rows: args.rows,
    };
    let inspection = payline::inspect::inspect(&request)?;
    let code = if inspection.is_clean() { 0 } else { 1 };
    let text = if args.json {
        json_text(&inspection)
    } else {
        inspection.render()
    };
    Ok((code, text))
}

/// The man page of payline, or of one of its commands.
fn man(command: Option<&str>) -> payline::Result<(u8, String)> {
    let root = cli::Cli::command();
    let page = match command {
        None => root,
        Some(name) => root
            .find_subcommand(name)
            .filter(|c| !c.is_hide_set())
            .cloned()
            .ok_or_else(|| {
                payline::Error::Refused(format!(
                    "no command `{name}`; expected run, check, diff, explain, inspect, completions or man"
                ))
            })?
            .name(format!("payline-{name}")),
    };
    let mut roff = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut roff)
        .map_err(|e| payline::Error::io("write", std::path::Path::new("the man page"), e))?;
    Ok((0, String::from_utf8_lossy(&roff).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Progress past its delay, drawing nowhere.
    fn progress(tty: bool) -> Progress {
        let mut p = Progress::new();
        p.delay = Duration::ZERO;
        p.tty = tty;
        p.target = ProgressDrawTarget::hidden;
        p
    }

    fn reading(rows: u64, bytes: u64, total: Option<u64>) -> Stage {
        Stage::ReadingDeals { rows, bytes, total }
    }

    #[test]
    fn nothing_shows_when_stderr_is_not_a_terminal() {
        let mut p = progress(false);
        for stage in [
            reading(10, 500, Some(1000)),
            reading(20, 900, None),
            Stage::Calculating,
            Stage::Writing,
        ] {
            p.update(stage);
        }
        assert!(p.bar.is_none());
    }

    #[test]
    fn nothing_shows_before_the_delay() {
        let mut p = progress(true);
        p.delay = Duration::from_secs(3600);
        p.update(reading(10, 500, Some(1000)));
        assert!(p.bar.is_none());
    }

    #[test]
    fn a_regular_deals_file_gets_a_bar_of_its_bytes_then_a_spinner() {
        let mut p = progress(true);
        let shown = |p: &Progress| {
            let bar = p.bar.as_ref().unwrap();
            (p.as_bar, bar.length(), bar.position(), bar.message())
        };
        p.update(reading(10, 400, Some(1000)));
        assert_eq!(shown(&p), (true, Some(1000), 400, "10 rows".into()));
        p.update(reading(25, 1000, Some(1000)));
        assert_eq!(shown(&p), (true, Some(1000), 1000, "25 rows".into()));
        // A second pass starts again from the top.
        p.update(reading(3, 100, Some(1000)));
        assert_eq!(shown(&p), (true, Some(1000), 100, "3 rows".into()));
        p.update(Stage::Calculating);
        assert_eq!(shown(&p), (false, None, 0, "calculating".into()));
        p.update(Stage::Writing);
        assert_eq!(shown(&p).3, "writing outputs");
    }

    #[test]
    fn a_pipe_gets_a_spinner_with_rows() {
        let mut p = progress(true);
        p.update(reading(42, 4096, None));
        let bar = p.bar.as_ref().unwrap();
        assert!(!p.as_bar);
        assert_eq!(bar.length(), None);
        assert_eq!(bar.message(), "reading deals: 42 rows");
    }
}
