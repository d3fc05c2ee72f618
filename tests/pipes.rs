//! Reports into pipes and full disks: a reader that goes away (`payline diff … | head -3`) ends the
//! command quietly with status 0, as ripgrep does; a full stdout (`> /dev/full`) is one line on stderr
//! and status 1. Never a panic (status 101).

use std::path::Path;
use std::process::{Command, Stdio};

fn payline() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_payline"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

const DATA: &[&str] = &[
    "--partners",
    "fixtures/partners.csv",
    "--deals",
    "fixtures/deals.csv",
    "--fx",
    "fixtures/fx.csv",
    "--activities",
    "fixtures/activities.csv",
    "--claims",
    "fixtures/claims.csv",
    "--period",
    "2026-10",
];

/// Runs `args` with stdout a pipe whose reading end is closed before anything is written.
fn into_closed_pipe(args: &[&str]) -> std::process::Output {
    let mut child = payline()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_pipe_ends_every_report_quietly() {
    let diff = [
        &[
            "diff",
            "--base",
            "programs/reseller.toml",
            "--head",
            "programs/mixed.toml",
            "--all",
        ][..],
        DATA,
    ]
    .concat();
    let explain = [
        &[
            "explain",
            "--partner",
            "P003",
            "--program",
            "programs/mixed.toml",
        ][..],
        DATA,
    ]
    .concat();
    let check = ["check", "programs/mixed.toml", "programs/referral.toml"];
    for args in [&diff[..], &explain[..], &check[..]] {
        let output = into_closed_pipe(args);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {output:?}");
        assert_eq!(String::from_utf8_lossy(&output.stderr), "", "{args:?}");
    }
}

#[test]
fn a_closed_pipe_after_a_run_keeps_the_batch_and_exits_0() {
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("batch");
    let args = [
        &[
            "run",
            "--program",
            "programs/mixed.toml",
            "--out",
            out.to_str().unwrap(),
        ][..],
        DATA,
    ]
    .concat();
    let output = into_closed_pipe(&args);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(out.join("manifest.json").is_file());
}

#[test]
fn a_full_stdout_is_an_error_on_stderr_not_a_panic() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = payline()
        .args(["check", "programs/mixed.toml"])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: cannot write the report to standard output:"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_closed_pipe_keeps_a_failing_commands_status() {
    // `payline diff … --max-increase 1% | true` must still fail a CI gate.
    let diff = [
        &[
            "diff",
            "--base",
            "programs/affiliate.toml",
            "--head",
            "programs/mixed.toml",
            "--max-increase",
            "1%",
        ][..],
        DATA,
    ]
    .concat();
    let output = into_closed_pipe(&diff);
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    let scratch = tempfile::tempdir().unwrap();
    let bad = scratch.path().join("bad.toml");
    std::fs::write(&bad, "[program]\nid = \"p\"\n").unwrap();
    let output = into_closed_pipe(&["check", bad.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
}
