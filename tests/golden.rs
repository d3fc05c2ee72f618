//! Golden cases: each directory under tests/golden/ holds inputs, a `cmd` file with the arguments of
//! `payline run` (paths relative to the case directory; `--out` is added here), an `expected/`
//! directory with the files the run must write byte for byte, and a NOTES.md with the arithmetic.
//!
//! A case with `steps/` runs each step in order; in a step's `cmd`, `{prev}` stands for the previous
//! step's output directory (for `--ledger`).
//!
//! Expected files are written and checked by hand; there is deliberately no "bless" mode.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn golden_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The entries of a directory, sorted, so cases and files are visited in a stable order.
fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    entries
}

fn args_of(cmd_file: &Path, prev: Option<&Path>) -> Vec<String> {
    let text = std::fs::read_to_string(cmd_file).expect("cmd file");
    let text = match prev {
        Some(p) => text.replace("{prev}", &p.display().to_string()),
        None => text,
    };
    text.split_whitespace().map(str::to_string).collect()
}

/// Runs one step in `dir` and compares every file of `dir/expected` with the output.
fn run_step(
    case: &str,
    dir: &Path,
    workdir: &Path,
    prev: Option<&Path>,
    out: &Path,
) -> Vec<String> {
    let mut cmd = Command::cargo_bin("payline").unwrap();
    cmd.current_dir(workdir)
        .arg("run")
        .args(args_of(&dir.join("cmd"), prev))
        .arg("--out")
        .arg(out);
    let output = cmd.output().unwrap();
    assert!(
        output.status.success(),
        "{case}: payline run failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut failures = Vec::new();
    let expected_dir = dir.join("expected");
    let expected = sorted_entries(&expected_dir);
    assert!(!expected.is_empty(), "{case}: expected/ is empty");
    // Files in subdirectories (e.g. expected/statements/M3.csv) are compared too.
    let mut files = Vec::new();
    for path in expected {
        if path.is_dir() {
            files.extend(sorted_entries(&path));
        } else {
            files.push(path);
        }
    }
    for path in files {
        let name = path.strip_prefix(&expected_dir).unwrap();
        if name.as_os_str() == "stdout.txt" {
            let want = std::fs::read_to_string(&path).unwrap();
            let got = String::from_utf8_lossy(&output.stdout).into_owned();
            if want.trim_end() != got.trim_end() {
                failures.push(format!(
                    "{case}: stdout differs\n--- expected\n{want}\n--- got\n{got}"
                ));
            }
            continue;
        }
        let got_path = out.join(name);
        let want = std::fs::read_to_string(&path).unwrap();
        match std::fs::read_to_string(&got_path) {
            Err(_) => failures.push(format!(
                "{case}: {} was not written",
                name.to_string_lossy()
            )),
            Ok(got) if got != want => failures.push(format!(
                "{case}: {} differs\n--- expected\n{want}--- got\n{got}",
                name.display()
            )),
            Ok(_) => {}
        }
    }
    failures
}

#[test]
fn golden_cases() {
    let cases: Vec<PathBuf> = sorted_entries(&golden_root())
        .into_iter()
        .filter(|p| p.is_dir())
        .collect();
    assert!(cases.len() >= 18, "expected the golden cases to be present");
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for case_dir in &cases {
        let case = case_dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            case_dir.join("NOTES.md").exists(),
            "{case}: every golden case explains its arithmetic in NOTES.md"
        );
        let steps_dir = case_dir.join("steps");
        if steps_dir.is_dir() {
            let steps = sorted_entries(&steps_dir);
            let mut prev: Option<PathBuf> = None;
            for step in steps {
                let label = format!("{case}/{}", step.file_name().unwrap().to_string_lossy());
                let out = tmp.path().join(label.replace('/', "__"));
                failures.extend(run_step(&label, &step, case_dir, prev.as_deref(), &out));
                prev = Some(out);
            }
        } else {
            let out = tmp.path().join(&case);
            failures.extend(run_step(&case, case_dir, case_dir, None, &out));
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden mismatch(es):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
