//! The monthly routine (issue 19): a workspace file names the program, the inputs with their import
//! maps and the output root, so `payline run --period …` alone runs the month and continues the
//! chain from the previous batch; a missing previous batch is named, never silently skipped.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A copy of the sample data in a scratch directory, with a workspace file.
struct Workspace {
    dir: tempfile::TempDir,
}

const PROGRAM: &str = "[program]\nid = \"ws\"\nname = \"Workspace\"\ncurrency = \"USD\"\n\n[payout]\nminimum = \"100.00\"\n\n[[rules]]\nid = \"commission\"\nkind = \"percent\"\nrate = \"0.10\"\n";

impl Workspace {
    fn new(settings: &str) -> Workspace {
        let ws = Workspace {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(ws.path("data")).unwrap();
        std::fs::create_dir_all(ws.path("programs")).unwrap();
        for file in ["partners.csv", "deals.csv", "fx.csv", "claims.csv"] {
            std::fs::copy(repo("fixtures").join(file), ws.path("data").join(file)).unwrap();
        }
        std::fs::write(ws.path("programs/plan.toml"), PROGRAM).unwrap();
        std::fs::write(
            ws.path("payline.toml"),
            format!(
                "[workspace]\nprogram = \"programs/plan.toml\"\nout = \"batches\"\n{settings}\n[inputs]\npartners = \"data/partners.csv\"\ndeals = \"data/deals.csv\"\nfx = {{ file = \"data/fx.csv\" }}\n"
            ),
        )
        .unwrap();
        ws
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn payline(&self, args: &[&str]) -> std::process::Output {
        Command::cargo_bin("payline")
            .unwrap()
            .current_dir(self.dir.path())
            .args(args)
            .output()
            .unwrap()
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap()
    }
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn out(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Three months with `payline run --period` alone: each writes batches/PERIOD, and each month after
/// the first continues from the one before (its manifest names the previous manifest's SHA-256);
/// the batches equal an explicit `--ledger` chain's.
#[test]
fn a_three_month_chain_runs_with_the_period_alone() {
    let ws = Workspace::new("first_period = \"2026-08\"");
    for period in ["2026-08", "2026-09", "2026-10"] {
        let o = ws.payline(&["run", "--period", period]);
        assert!(o.status.success(), "{period}: {}", out(&o));
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains(&format!("Wrote batches/{period}")), "{text}");
    }
    let manifest = |period: &str| -> serde_json::Value {
        serde_json::from_str(&ws.read(&format!("batches/{period}/manifest.json"))).unwrap()
    };
    assert!(manifest("2026-08")["previous_manifest_sha256"].is_null());
    for (prev, period) in [("2026-08", "2026-09"), ("2026-09", "2026-10")] {
        let previous = std::fs::read(ws.path(&format!("batches/{prev}/manifest.json"))).unwrap();
        assert_eq!(
            manifest(period)["previous_manifest_sha256"],
            sha256(&previous)
        );
    }
    // The same chain with every option spelled out writes the same ledger.
    let explicit = tempfile::tempdir().unwrap();
    let mut ledger: Option<PathBuf> = None;
    for period in ["2026-08", "2026-09", "2026-10"] {
        let dir = explicit.path().join(period);
        let mut cmd = Command::cargo_bin("payline").unwrap();
        cmd.current_dir(ws.dir.path())
            .args(["run", "--no-workspace", "--program", "programs/plan.toml"])
            .args([
                "--partners",
                "data/partners.csv",
                "--deals",
                "data/deals.csv",
            ])
            .args(["--fx", "data/fx.csv", "--period", period, "--out"])
            .arg(&dir);
        if let Some(prev) = &ledger {
            cmd.arg("--ledger").arg(prev);
        }
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{}", out(&o));
        ledger = Some(dir);
    }
    assert_eq!(
        ws.read("batches/2026-10/ledger.csv"),
        std::fs::read_to_string(explicit.path().join("2026-10/ledger.csv")).unwrap()
    );
    // From a subdirectory the workspace is found as Cargo.toml is, and the month re-runs.
    let o = Command::cargo_bin("payline")
        .unwrap()
        .current_dir(ws.path("data"))
        .args(["run", "--period", "2026-10", "--force"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out(&o));
}

/// A month whose previous batch is not in the output root is refused, naming it; `--first` starts a
/// new chain on purpose, and the run next to the previous batch without it warns.
#[test]
fn a_missing_previous_batch_is_named_and_a_new_chain_is_explicit() {
    let ws = Workspace::new("");
    let o = ws.payline(&["run", "--period", "2026-10"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        out(&o).contains("no batch of 2026-09, the period before 2026-10, in batches (expected batches/2026-09): run --period 2026-09 first, or start a new chain at 2026-10 with --first"),
        "{}",
        out(&o)
    );
    assert!(!ws.path("batches/2026-10").exists());
    let o = ws.payline(&["run", "--period", "2026-09", "--first"]);
    assert!(o.status.success(), "{}", out(&o));
    // September is there now: October continues from it.
    let o = ws.payline(&["run", "--period", "2026-10"]);
    assert!(o.status.success(), "{}", out(&o));
    assert!(
        out(&o).contains("(--ledger batches/2026-09 (the previous batch))"),
        "{}",
        out(&o)
    );
    // Re-run October as a new chain: the September batch beside it is named in a warning.
    let o = ws.payline(&["run", "--period", "2026-10", "--first", "--force", "--json"]);
    assert!(o.status.success(), "{}", out(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let warning = summary["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["code"] == "previous-batch-not-used")
        .expect("a previous-batch-not-used warning");
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .contains("batches/2026-09 is this program's batch of 2026-09, the period before 2026-10, but --first starts a new chain"),
        "{warning}"
    );
}

/// Quarters chain by their folders: 2026-Q4 continues from batches/2026-Q3.
#[test]
fn quarters_continue_from_the_previous_quarters_batch() {
    let ws = Workspace::new("first_period = \"2026-Q3\"");
    assert!(ws.payline(&["run", "--period", "2026-Q3"]).status.success());
    let o = ws.payline(&["run", "--period", "2026-Q4"]);
    assert!(o.status.success(), "{}", out(&o));
    assert!(out(&o).contains("--ledger batches/2026-Q3"), "{}", out(&o));
    // A period before the workspace's first is refused.
    let o = ws.payline(&["run", "--period", "2026-Q2"]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(out(&o).contains("2026-Q2 is before the workspace's first period 2026-Q3"));
}

/// Explicit options win over the workspace's; an explicit `--out` beside the previous batch without
/// `--ledger` is warned; a `--ledger` that cannot be read names the option.
#[test]
fn explicit_options_win_and_are_checked() {
    let ws = Workspace::new("first_period = \"2026-09\"");
    assert!(ws.payline(&["run", "--period", "2026-09"]).status.success());
    let o = ws.payline(&[
        "run",
        "--period",
        "2026-10",
        "--out",
        "batches/october",
        "--json",
    ]);
    assert!(o.status.success(), "{}", out(&o));
    assert!(ws.path("batches/october/manifest.json").exists());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("previous-batch-not-used"), "{text}");
    assert!(
        text.contains("batches/2026-09 is this program's batch of 2026-09"),
        "{text}"
    );
    assert!(text.contains("no --ledger was given"), "{text}");
    let o = ws.payline(&[
        "run",
        "--period",
        "2026-10",
        "--ledger",
        "batches/2026-9",
        "--out",
        "batches/x",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        out(&o).contains("error: --ledger batches/2026-9: cannot read it ("),
        "{}",
        out(&o)
    );
    // Outside any workspace, a command without its files says what is missing (usage: exit 2).
    let o = Command::cargo_bin("payline")
        .unwrap()
        .current_dir(std::env::temp_dir())
        .args(["run", "--no-workspace", "--period", "2026-10"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(out(&o).contains(
        "--partners is required (or run inside a workspace whose payline.toml names it)"
    ));
}

/// A workspace input's import map is used for it: a raw CRM export runs from the workspace.
#[test]
fn a_workspace_input_reads_through_its_import_map() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("payline.toml"),
        format!(
            "[workspace]\nprogram = \"{}\"\nout = \"out\"\nfirst_period = \"2026-10\"\n\n[inputs]\npartners = \"{}\"\nfx = \"{}\"\ndeals = {{ file = \"{}\", import = \"{}\" }}\n",
            repo("examples/crm/program.toml").display(),
            repo("fixtures/crm/partners.csv").display(),
            repo("fixtures/crm/fx.csv").display(),
            repo("fixtures/crm/hubspot-deals.csv").display(),
            repo("examples/imports/hubspot-deals.toml").display(),
        ),
    )
    .unwrap();
    let o = Command::cargo_bin("payline")
        .unwrap()
        .current_dir(dir.path())
        .args(["run", "--period", "2026-10"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out(&o));
    let lines = std::fs::read_to_string(dir.path().join("out/2026-10/lines.csv")).unwrap();
    assert_eq!(lines.matches(",partner-commission,").count(), 9, "{lines}");
    // `inspect` takes the workspace's file and map for the input.
    let o = Command::cargo_bin("payline")
        .unwrap()
        .current_dir(dir.path())
        .args(["inspect", "deals"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out(&o));
    assert!(
        out(&o).contains("9 kept, 4 skipped by filters"),
        "{}",
        out(&o)
    );
}

/// Shell completions, a man page, and `--help` with an example and the exit statuses.
#[test]
fn completions_man_page_and_help() {
    let run = |args: &[&str]| {
        Command::cargo_bin("payline")
            .unwrap()
            .args(args)
            .output()
            .unwrap()
    };
    let o = run(&["completions", "bash"]);
    assert!(o.status.success());
    let script = String::from_utf8_lossy(&o.stdout);
    assert!(
        script.contains("_payline()") && script.contains("inspect"),
        "{script}"
    );
    let o = run(&["completions", "zsh"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("#compdef payline"));
    let o = run(&["man"]);
    let page = String::from_utf8_lossy(&o.stdout);
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq") || page.contains(".TH payline"),
        "{page}"
    );
    assert!(page.contains("inspect"), "{page}");
    let o = run(&["man", "run"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains(".TH payline-run"));
    assert_eq!(run(&["man", "nope"]).status.code(), Some(2));
    for command in [
        "run",
        "check",
        "diff",
        "explain",
        "inspect",
        "completions",
        "man",
    ] {
        let o = run(&[command, "--help"]);
        let help = String::from_utf8_lossy(&o.stdout);
        assert!(help.contains("Example"), "{command}: {help}");
        assert!(help.contains("Exit status"), "{command}: {help}");
    }
    let help = String::from_utf8_lossy(&run(&["--help"]).stdout).into_owned();
    assert!(
        help.contains("payline run --period 2026-11") && help.contains("3  `diff`"),
        "{help}"
    );
}
