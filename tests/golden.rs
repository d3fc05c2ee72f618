//! Golden cases: each directory under tests/golden/ holds inputs, a `cmd` file with the arguments of
//! `payline run` (paths relative to the case directory; `--out` is added here), an `expected/`
//! directory with the files the run must produce, compared byte for byte, and a NOTES.md with the
//! arithmetic.
//!
//! A case with `steps/` runs each step in order (from the case directory); in a step's `cmd`,
//! `{prev}` stands for the previous step's output directory (for `--ledger`).
//!
//! What `expected/` may hold:
//! - output files (`payouts.csv`, `statements/P1.csv`, …): compared with the file of that name in
//!   `--out`. Only the files present are compared; a file the run did not write is a mismatch.
//! - `stdout.txt`: the run's stdout (trailing whitespace ignored).
//! - `stderr.txt`: the run's stderr, exactly.
//! - `exit_code`: the expected exit status (one number). Without it the run must succeed. With a
//!   non-zero code the case (or step) is a **failing case**: the run must exit with that code, its
//!   stderr must equal `stderr.txt` (required), it must leave no `--out` (nor a temporary directory
//!   beside it), and `expected/` holds no output files. A failing step must be the last step of its
//!   case, since a later step would have no `{prev}` to read.
//!
//! In stdout and stderr, the temporary `--out` path of the step is written `{out}` and the previous
//! step's output path `{prev}`, so expected messages do not depend on where the test runs.
//!
//! Expected files are written and checked by hand; NOTES.md carries the arithmetic. Without
//! `UPDATE_EXPECTED` the runner only compares. To accept a deliberate change,
//! `UPDATE_EXPECTED=1 cargo test --test golden` ("bless") rewrites every file that already exists in
//! an `expected/` and differs with what the run produced (the normalised stdout and stderr, the exit
//! code, the output files), and names each file it rewrote on stderr (`--nocapture` shows them). It
//! never adds or deletes a file, and still fails on what it cannot rewrite (an output file the run
//! did not write, output left by a failing run, a run that failed without an `exit_code` file).
//! Review every blessed diff (`git diff`) before committing, against the arithmetic in NOTES.md.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn golden_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Whether `UPDATE_EXPECTED` asks the runner to rewrite the expected files.
fn bless_mode() -> bool {
    std::env::var_os("UPDATE_EXPECTED").is_some_and(|v| !v.is_empty() && v != "0")
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

/// Every file under `dir`, recursively, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in sorted_entries(dir) {
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn args_of(cmd_file: &Path, prev: Option<&Path>) -> Vec<String> {
    let text = std::fs::read_to_string(cmd_file).expect("cmd file");
    let text = match prev {
        Some(p) => text.replace("{prev}", &p.display().to_string()),
        None => text,
    };
    text.split_whitespace().map(str::to_string).collect()
}

/// The spellings of `path` a message may use: as given, and symlink-resolved (the directory itself
/// may not exist, so its parent is resolved).
fn spellings(path: &Path) -> Vec<String> {
    let mut all = vec![path.display().to_string()];
    if let (Some(parent), Some(name)) = (path.parent(), path.file_name())
        && let Ok(real) = parent.canonicalize()
    {
        let real = real.join(name).display().to_string();
        if !all.contains(&real) {
            all.push(real);
        }
    }
    all
}

/// Replaces the step's temporary paths in stdout/stderr with `{out}` and `{prev}`, longest first.
fn normalise(text: &str, out: &Path, prev: Option<&Path>) -> String {
    let mut pairs: Vec<(String, &str)> = spellings(out).into_iter().map(|s| (s, "{out}")).collect();
    if let Some(prev) = prev {
        pairs.extend(spellings(prev).into_iter().map(|s| (s, "{prev}")));
    }
    pairs.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
    let mut text = text.to_string();
    for (path, placeholder) in pairs {
        text = text.replace(&path, placeholder);
    }
    text
}

/// What one step did, and whether it left its `--out` for the next step.
struct StepResult {
    failures: Vec<String>,
    wrote_out: bool,
}

fn differs(case: &str, what: &str, want: &[u8], got: &[u8]) -> String {
    format!(
        "{case}: {what} differs\n--- expected\n{}\n--- got\n{}",
        String::from_utf8_lossy(want),
        String::from_utf8_lossy(got)
    )
}

/// Runs one step in `workdir` and compares (or, in bless mode, rewrites) every file of
/// `dir/expected` with what it produced.
fn run_step(
    case: &str,
    dir: &Path,
    workdir: &Path,
    prev: Option<&Path>,
    out: &Path,
    bless: bool,
) -> StepResult {
    let mut cmd = Command::cargo_bin("payline").unwrap();
    cmd.current_dir(workdir)
        .arg("run")
        .args(args_of(&dir.join("cmd"), prev))
        .arg("--out")
        .arg(out);
    let output = cmd.output().unwrap();
    let stdout = normalise(&String::from_utf8_lossy(&output.stdout), out, prev);
    let stderr = normalise(&String::from_utf8_lossy(&output.stderr), out, prev);
    let code = output.status.code();
    let code_text = match code {
        Some(c) => format!("{c}\n"),
        None => "killed by a signal\n".to_string(),
    };

    let expected_dir = dir.join("expected");
    let files = files_under(&expected_dir);
    assert!(!files.is_empty(), "{case}: expected/ is empty");
    let has = |name: &str| expected_dir.join(name).is_file();
    let want_code: i32 = if has("exit_code") {
        let text = std::fs::read_to_string(expected_dir.join("exit_code")).unwrap();
        text.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{case}: expected/exit_code is not a number: {text:?}"))
    } else {
        0
    };
    let failing = want_code != 0;
    if failing {
        assert!(
            has("stderr.txt"),
            "{case}: a failing case pins its message in expected/stderr.txt"
        );
    }

    let mut failures = Vec::new();
    // In bless mode a wrong exit code is rewritten below when expected/exit_code exists.
    if code != Some(want_code) && !(bless && has("exit_code")) {
        failures.push(format!(
            "{case}: exit code {} where {want_code} was expected; stderr:\n{stderr}",
            code_text.trim_end()
        ));
    }
    let wrote_out = out.exists();
    if failing && wrote_out {
        failures.push(format!(
            "{case}: the run was expected to fail (exit_code {want_code}) but wrote {}",
            out.display()
        ));
    }
    if failing {
        let name = format!(
            ".{}.payline-tmp-",
            out.file_name().unwrap().to_string_lossy()
        );
        for left in sorted_entries(out.parent().unwrap()) {
            if left
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&name)
            {
                failures.push(format!("{case}: a failing run left {}", left.display()));
            }
        }
    }

    for path in files {
        let name = path.strip_prefix(&expected_dir).unwrap();
        let label = name.display().to_string();
        let want = std::fs::read(&path).unwrap();
        let got: Option<Vec<u8>> = match label.as_str() {
            "stdout.txt" => Some(stdout.clone().into_bytes()),
            "stderr.txt" => Some(stderr.clone().into_bytes()),
            "exit_code" => Some(code_text.clone().into_bytes()),
            _ if failing => {
                failures.push(format!(
                    "{case}: expected/{label}: a failing case expects no output files"
                ));
                continue;
            }
            _ => std::fs::read(out.join(name)).ok(),
        };
        let Some(got) = got else {
            failures.push(format!("{case}: {label} was not written"));
            continue;
        };
        let same = match label.as_str() {
            "stdout.txt" => want.trim_ascii_end() == got.trim_ascii_end(),
            // A wrong code is reported above; in bless mode it is rewritten here.
            "exit_code" => !bless || code == Some(want_code),
            _ => want == got,
        };
        if same {
            continue;
        }
        if bless {
            std::fs::write(&path, &got).unwrap();
            eprintln!("blessed {}", path.display());
        } else {
            failures.push(differs(case, &label, &want, &got));
        }
    }
    StepResult {
        failures,
        wrote_out,
    }
}

#[test]
fn golden_cases() {
    let bless = bless_mode();
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
            for (i, step) in steps.iter().enumerate() {
                let label = format!("{case}/{}", step.file_name().unwrap().to_string_lossy());
                let out = tmp.path().join(label.replace('/', "__"));
                let result = run_step(&label, step, case_dir, prev.as_deref(), &out, bless);
                failures.extend(result.failures);
                if !result.wrote_out && i + 1 < steps.len() {
                    failures.push(format!(
                        "{label}: wrote no output, so the later steps of {case} were not run \
                         (a failing step must be the last)"
                    ));
                    break;
                }
                prev = Some(out);
            }
        } else {
            let out = tmp.path().join(&case);
            failures.extend(run_step(&case, case_dir, case_dir, None, &out, bless).failures);
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden mismatch(es):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
