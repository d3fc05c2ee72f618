//! `--out` is safe (SPEC §7): it can never destroy inputs or history, concurrent runs have one
//! winner, a killed run is never mistaken for output and is cleaned up by the next run, and a failed
//! run leaves nothing behind. These run the built binary.

mod common;

use common::Workdir;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const PROGRAM: &str = r#"[program]
id = "outsafe"
name = "Out safety test program"
currency = "USD"

[payout]
minimum = "10.00"

[[rules]]
id = "commission"
kind = "percent"
rate = "0.10"
"#;

const PARTNERS: usize = 50;

/// The name of a replaced batch being removed: `.NAME.payline-trash-PID`.
const TRASH: &str = ".payline-trash-";

/// A working directory whose inputs live in `data/`: program.toml, partners.csv, deals.csv (three
/// rows) and, when asked, big.csv (many rows, for runs that take a while).
struct Case {
    work: Workdir,
}

impl std::ops::Deref for Case {
    type Target = Workdir;
    fn deref(&self) -> &Workdir {
        &self.work
    }
}

impl Case {
    fn new(big_rows: usize) -> Case {
        let case = Case {
            work: Workdir::new(),
        };
        std::fs::create_dir(case.path("data")).unwrap();
        std::fs::write(case.path("data/program.toml"), PROGRAM).unwrap();
        let mut partners = String::from("partner_id,name,type,kyc_verified,currency\n");
        for p in 0..PARTNERS {
            partners.push_str(&format!("P{p},Partner {p},reseller,true,\n"));
        }
        std::fs::write(case.path("data/partners.csv"), partners).unwrap();
        std::fs::write(case.path("data/deals.csv"), deals(3)).unwrap();
        if big_rows > 0 {
            std::fs::write(case.path("data/big.csv"), deals(big_rows)).unwrap();
        }
        case
    }

    /// `payline run` in the case directory over data/ into `out` (October 2026 and data/deals.csv
    /// unless `extra` names others).
    fn run(&self, out: &str, extra: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_payline"));
        cmd.current_dir(self.work.root()).args([
            "run",
            "--program",
            "data/program.toml",
            "--partners",
            "data/partners.csv",
            "--out",
            out,
        ]);
        if !extra.contains(&"--deals") {
            cmd.args(["--deals", "data/deals.csv"]);
        }
        if !extra.contains(&"--period") {
            cmd.args(["--period", "2026-10"]);
        }
        cmd.args(extra);
        cmd.stdout(Stdio::null());
        cmd
    }

    /// Runs and returns the output, asserting the exit status.
    fn expect(&self, out: &str, extra: &[&str], code: i32) -> Output {
        let output = self
            .run(out, extra)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(code),
            "payline run --out {out} {extra:?}: stderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Runs expecting exit 2 and a message containing `fragment`.
    fn refused(&self, out: &str, extra: &[&str], fragment: &str) {
        let output = self.expect(out, extra, 2);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(fragment),
            "stderr lacks {fragment:?}:\n{stderr}"
        );
    }

    /// Names in `parent` that belong to payline's working directories, once every replaced batch a
    /// background remover is removing is gone (waited for up to a minute; one left after that is
    /// listed, and fails the caller's check).
    #[allow(
        clippy::disallowed_methods,
        reason = "a test's own timeout, never an output"
    )]
    fn leftovers(&self, parent: &str) -> Vec<String> {
        let started = Instant::now();
        loop {
            let left: Vec<String> = names(&self.work.path(parent))
                .into_iter()
                .filter(|n| {
                    n.contains("payline-tmp") || n.contains("payline-old") || n.contains(TRASH)
                })
                .collect();
            if !left.iter().any(|n| n.contains(TRASH))
                || started.elapsed() > Duration::from_secs(60)
            {
                return left;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// `rows` deals in October 2026, spread over the partners.
fn deals(rows: usize) -> String {
    let mut s = String::with_capacity(rows * 40);
    s.push_str("deal_id,partner_id,closed_on,amount\n");
    for i in 0..rows {
        s.push_str(&format!(
            "D{i},P{},2026-10-{:02},{}.{:02}\n",
            i % PARTNERS,
            i % 28 + 1,
            (i * 37) % 5000 + 1,
            i % 100
        ));
    }
    s
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Every file under `dir` (hidden ones too) with its bytes, by relative path; symlinks by target.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, into: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            let kind = entry.file_type().unwrap();
            if kind.is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                into.insert(rel, target.to_string_lossy().as_bytes().to_vec());
            } else if kind.is_dir() {
                into.insert(rel, b"<dir>".to_vec());
                walk(root, &path, into);
            } else {
                into.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut map = BTreeMap::new();
    walk(dir, dir, &mut map);
    assert!(!map.is_empty(), "{} is empty", dir.display());
    map
}

/// The id of a process that has exited (and been reaped).
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// Starts a big `--force` run over `out` and SIGKILLs it as soon as its temporary directory
/// appears, i.e. while it writes. Returns the temporary directory's name.
#[allow(
    clippy::disallowed_methods,
    reason = "a test's own timeout, never an output"
)]
fn killed_run(case: &Case, out: &str) -> String {
    let mut child: Child = case
        .run(out, &["--deals", "data/big.csv", "--force"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let temp = format!(".{out}.payline-tmp-{}", child.id());
    let started = Instant::now();
    while !case.path(&temp).exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before its temporary directory was seen");
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no temporary directory"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(status.code().is_none(), "the run finished before the kill");
    temp
}

#[test]
fn out_naming_the_inputs_folder_is_refused_and_every_input_survives() {
    let case = Case::new(0);
    let before = snapshot(&case.path("data"));
    case.refused("data", &["--force"], "the input data/program.toml");
    case.refused("data", &[], "input");
    case.refused("data/", &["--force"], "input");
    case.refused(".", &["--force"], "input");
    case.refused("data/deals.csv", &["--force"], "input");
    case.refused("data/program.toml/x", &["--force"], "input");
    assert_eq!(snapshot(&case.path("data")), before);
    assert!(case.leftovers("data").is_empty());
}

#[test]
fn out_naming_the_ledger_dir_its_parent_or_a_folder_inside_it_is_refused() {
    let case = Case::new(0);
    std::fs::create_dir(case.path("history")).unwrap();
    case.expect("history/sep", &["--period", "2026-09"], 0);
    let sep = snapshot(&case.path("history/sep"));
    let ledger = ["--ledger", "history/sep", "--force"];
    // The parent of the ledger: a whole history.
    case.refused("history", &ledger, "history/sep");
    // The ledger itself: last month's batch.
    case.refused("history/sep", &ledger, "history/sep");
    // Inside the ledger.
    case.refused("history/sep/oct", &ledger, "history/sep");
    case.refused("history/sep/statements", &ledger, "history/sep");
    assert_eq!(snapshot(&case.path("history/sep")), sep);
    assert!(!case.path("history/sep/oct").exists());
}

#[cfg(unix)]
#[test]
fn out_reached_through_a_symlinked_parent_is_checked_on_the_real_path() {
    use std::os::unix::fs::symlink;
    let case = Case::new(0);
    std::fs::create_dir(case.path("data/sub")).unwrap();
    std::fs::create_dir(case.path("elsewhere")).unwrap();
    // elsewhere/link/.. reads as `elsewhere`, but is really data/.
    symlink(case.path("data/sub"), case.path("elsewhere/link")).unwrap();
    symlink(case.path("data"), case.path("alias")).unwrap();
    let before = snapshot(&case.path("data"));
    case.refused("elsewhere/link/..", &["--force"], "input");
    case.refused("alias/deals.csv", &["--force"], "input");
    // An input reached through a symlink is protected by its real path too.
    case.refused("data", &["--force", "--deals", "alias/deals.csv"], "input");
    assert_eq!(snapshot(&case.path("data")), before);
    assert_eq!(names(&case.path("elsewhere")), ["link"]);
}

#[cfg(unix)]
#[test]
fn a_symlink_as_out_is_refused_and_link_and_target_are_untouched() {
    use std::os::unix::fs::symlink;
    let case = Case::new(0);
    case.expect("september", &[], 0);
    let target = snapshot(&case.path("september"));
    symlink("september", case.path("latest")).unwrap();
    case.refused("latest", &["--force"], "symbolic link");
    case.refused("latest/", &["--force"], "symbolic link");
    case.refused("latest", &[], "symbolic link");
    // A dangling link too: payline would create a directory where the link was.
    symlink("nowhere", case.path("dangling")).unwrap();
    case.refused("dangling", &[], "symbolic link");
    assert_eq!(
        std::fs::read_link(case.path("latest")).unwrap(),
        Path::new("september")
    );
    assert_eq!(snapshot(&case.path("september")), target);
    assert!(!case.path("nowhere").exists());
    assert!(case.leftovers(".").is_empty());
}

#[test]
fn an_out_that_is_a_file_or_dash_is_refused() {
    let case = Case::new(0);
    std::fs::write(case.path("report"), "keep me").unwrap();
    case.refused("report", &["--force"], "not a directory");
    assert_eq!(std::fs::read(case.path("report")).unwrap(), b"keep me");
    case.refused("-", &[], "--out -");
    assert!(!case.path("-").exists());
}

#[test]
fn concurrent_runs_to_one_new_out_have_exactly_one_winner() {
    let case = Case::new(20_000);
    let big = ["--deals", "data/big.csv"];
    case.expect("alone", &big, 0);
    let alone = snapshot(&case.path("alone"));
    for round in 0..3 {
        let out = format!("out{round}");
        let spawn = || case.run(&out, &big).stderr(Stdio::piped()).spawn().unwrap();
        let (a, b) = (spawn(), spawn());
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let mut codes = [a.status.code(), b.status.code()];
        codes.sort();
        assert_eq!(
            codes,
            [Some(0), Some(2)],
            "round {round}: stderr:\n{}\n{}",
            String::from_utf8_lossy(&a.stderr),
            String::from_utf8_lossy(&b.stderr)
        );
        let loser = if a.status.success() { &b } else { &a };
        let stderr = String::from_utf8_lossy(&loser.stderr);
        assert!(
            stderr.contains("another payline run") || stderr.contains("already exists"),
            "{stderr}"
        );
        assert_eq!(snapshot(&case.path(&out)), alone, "round {round}");
    }
    assert!(case.leftovers(".").is_empty());
}

#[cfg(unix)]
#[test]
fn a_killed_forced_run_keeps_the_old_output_and_the_next_run_removes_its_temp_dir() {
    let case = Case::new(30_000);
    case.expect("out", &[], 0);
    let before = snapshot(&case.path("out"));
    let temp = killed_run(&case, "out");
    assert_eq!(
        snapshot(&case.path("out")),
        before,
        "the old output changed"
    );
    assert!(
        case.path(&temp).is_dir(),
        "{temp} should be left by the kill"
    );
    // A refused run (no --force) leaves --out alone but the dead run's directory goes.
    case.refused("out", &[], "already exists");
    assert_eq!(snapshot(&case.path("out")), before);
    assert!(case.leftovers(".").is_empty(), "{:?}", case.leftovers("."));
    // The next real run replaces the old output.
    let temp = killed_run(&case, "out");
    case.expect("out", &["--force", "--deals", "data/big.csv"], 0);
    assert!(!case.path(&temp).exists());
    assert!(case.leftovers(".").is_empty(), "{:?}", case.leftovers("."));
    assert_ne!(snapshot(&case.path("out")), before);
}

#[cfg(unix)]
#[test]
fn a_killed_runs_temp_dir_is_refused_as_ledger() {
    let case = Case::new(30_000);
    case.expect("out", &[], 0);
    let temp = killed_run(&case, "out");
    let output = case.expect("november", &["--ledger", &temp, "--period", "2026-11"], 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("manifest.json"), "{stderr}");
    assert!(!case.path("november").exists());
}

#[test]
fn a_stale_temp_dir_of_a_dead_process_is_removed_by_the_next_run() {
    let case = Case::new(0);
    let dead = format!(".out.payline-tmp-{}", dead_pid());
    let live = format!(".out.payline-tmp-{}", std::process::id());
    let other = format!(".other.payline-tmp-{}", dead_pid());
    for d in [&dead, &live, &other] {
        std::fs::create_dir(case.path(d)).unwrap();
        std::fs::write(case.path(d).join("manifest.json"), "{}").unwrap();
        std::fs::write(case.path(d).join("lines.csv"), "partial").unwrap();
    }
    case.expect("out", &[], 0);
    assert!(!case.path(&dead).exists(), "the dead run's directory stays");
    assert!(
        case.path(&live).is_dir(),
        "a live process's directory was removed"
    );
    assert!(
        case.path(&other).is_dir(),
        "another --out's directory was removed"
    );
}

#[test]
fn an_old_batch_set_aside_by_a_killed_replace_goes_back_to_out() {
    // Where no atomic exchange exists, --force renames the old batch aside before moving the new
    // one in; a kill in between leaves it there and no --out.
    let case = Case::new(0);
    case.expect("out", &[], 0);
    let before = snapshot(&case.path("out"));
    let aside = format!(".out.payline-old-{}", dead_pid());
    std::fs::rename(case.path("out"), case.path(&aside)).unwrap();
    case.refused("out", &[], "already exists");
    assert_eq!(snapshot(&case.path("out")), before);
    assert!(case.leftovers(".").is_empty());
    // Also when someone has since made an empty --out.
    std::fs::rename(case.path("out"), case.path(&aside)).unwrap();
    std::fs::create_dir(case.path("out")).unwrap();
    case.refused("out", &[], "already exists");
    assert_eq!(snapshot(&case.path("out")), before);
    assert!(case.leftovers(".").is_empty());
}

/// --force puts the new batch in place, then the old one is removed by a detached process: when the
/// run returns, the old batch is gone or being removed under a working directory's name, its manifest
/// already gone; soon after, nothing is left.
#[test]
fn force_removes_the_old_batch_in_the_background() {
    let case = Case::new(5_000);
    case.expect("out", &[], 0);
    let before = snapshot(&case.path("out"));
    for round in 0..3 {
        case.expect("out", &["--force", "--deals", "data/big.csv"], 0);
        let after = snapshot(&case.path("out"));
        assert_ne!(after, before, "round {round}: --out was not replaced");
        assert!(after.contains_key(Path::new("manifest.json")));
        for name in names(&case.path(".")) {
            if name == "data" || name == "out" || name == ".out.payline-lock" {
                continue;
            }
            assert!(
                name.starts_with(&format!(".out{TRASH}")),
                "round {round}: unexpected {name}"
            );
            assert!(
                !case.path(&name).join("manifest.json").exists(),
                "{name} still has a manifest"
            );
        }
    }
    assert!(case.leftovers(".").is_empty(), "{:?}", case.leftovers("."));
    assert_eq!(names(&case.path(".")), [".out.payline-lock", "data", "out"]);
    // The batch that replaced the others is the batch a fresh run writes, byte for byte.
    case.expect("fresh", &["--deals", "data/big.csv"], 0);
    assert_eq!(snapshot(&case.path("out")), snapshot(&case.path("fresh")));
}

/// An --out named like payline's own working directories or lock would be taken for a leftover by a
/// run on the --out it seems to belong to: refused.
#[test]
fn out_named_like_a_working_directory_is_refused() {
    let case = Case::new(0);
    for name in [
        ".out.payline-tmp-12",
        ".out.payline-old-12",
        ".out.payline-trash-12",
        ".out.payline-lock",
    ] {
        case.refused(name, &[], "named like one of payline's working files");
        assert!(!case.path(name).exists(), "{name}");
    }
}

/// The hidden entry point the background remover runs: it removes only a directory named as a
/// replaced batch being removed.
#[test]
fn the_background_remover_removes_only_a_replaced_batch() {
    let case = Case::new(0);
    case.expect("out", &[], 0);
    let remover = |dir: &str| {
        Command::new(env!("CARGO_BIN_EXE_payline"))
            .current_dir(case.root())
            .args(["__remove-work-dir", dir])
            .output()
            .unwrap()
    };
    for dir in ["out", "data", ".out.payline-tmp-1"] {
        std::fs::create_dir_all(case.path(dir)).unwrap();
        std::fs::write(case.path(dir).join("keep"), "x").unwrap();
        let output = remover(dir);
        assert_eq!(output.status.code(), Some(2), "{dir}");
        assert!(case.path(dir).join("keep").exists(), "{dir}");
        assert!(case.path(dir).join("program.toml").exists() || dir != "data");
    }
    let trash = format!(".out{TRASH}{}", dead_pid());
    copy_tree(&case.path("out"), &case.path(&trash));
    let output = remover(&trash);
    assert_eq!(output.status.code(), Some(0));
    assert!(!case.path(&trash).exists());
    assert!(!names(&case.path(".")).iter().any(|n| n.contains(TRASH)));
}

/// A replaced batch whose background remover died (its process id is dead) is removed by the next
/// run on that --out; one whose remover lives is left to it, and is never taken for the batch.
#[test]
fn a_replaced_batch_whose_remover_died_is_removed_by_the_next_run() {
    let case = Case::new(100);
    case.expect("out", &[], 0);
    let dead = format!(".out{TRASH}{}", dead_pid());
    let live = format!(".out{TRASH}{}", std::process::id());
    for d in [&dead, &live] {
        copy_tree(&case.path("out"), &case.path(d));
        std::fs::remove_file(case.path(d).join("manifest.json")).unwrap();
    }
    let before = snapshot(&case.path("out"));
    case.expect("out", &["--force", "--deals", "data/big.csv"], 0);
    assert_ne!(snapshot(&case.path("out")), before);
    assert!(!case.path(&dead).exists(), "the dead remover's batch stays");
    assert!(
        case.path(&live).is_dir(),
        "a live remover's batch was taken"
    );
    // Emptied --out: a batch being removed is never restored (unlike one set aside mid-replace).
    std::fs::remove_dir_all(case.path("out")).unwrap();
    std::fs::create_dir(case.path("out")).unwrap();
    case.expect("out", &[], 0);
    assert!(case.path(&live).is_dir());
    // And it is no ledger, even with a manifest inside.
    std::fs::copy(
        case.path("out/manifest.json"),
        case.path(&live).join("manifest.json"),
    )
    .unwrap();
    let output = case.expect("november", &["--ledger", &live, "--period", "2026-11"], 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("hidden working directory"), "{stderr}");
    std::fs::remove_dir_all(case.path(&live)).unwrap();
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn a_failed_run_never_leaves_a_temp_dir() {
    let case = Case::new(0);
    // Bad input, new --out.
    std::fs::write(
        case.path("data/bad.csv"),
        "deal_id,partner_id,closed_on,amount\nD1,P1,2026-10-01,oops\n",
    )
    .unwrap();
    case.expect("out", &["--deals", "data/bad.csv"], 1);
    assert!(!case.path("out").exists());
    // Bad input over an existing output.
    case.expect("out", &[], 0);
    let before = snapshot(&case.path("out"));
    case.expect("out", &["--deals", "data/bad.csv", "--force"], 1);
    assert_eq!(snapshot(&case.path("out")), before);
    assert!(case.leftovers(".").is_empty(), "{:?}", case.leftovers("."));
}

#[cfg(unix)]
#[test]
fn a_write_failure_removes_the_temp_dir_and_keeps_the_old_output() {
    // A file-size limit with SIGXFSZ ignored: writing lines.csv fails with "File too large".
    let case = Case::new(5_000);
    case.expect("out", &[], 0);
    let before = snapshot(&case.path("out"));
    let output = Command::new("sh")
        .current_dir(case.path("."))
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 64 && exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_payline"))
        .args([
            "run",
            "--program",
            "data/program.toml",
            "--partners",
            "data/partners.csv",
            "--deals",
            "data/big.csv",
            "--period",
            "2026-10",
            "--out",
            "out",
            "--force",
        ])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(snapshot(&case.path("out")), before);
    assert!(case.leftovers(".").is_empty(), "{:?}", case.leftovers("."));
}

#[test]
fn force_replaces_only_a_batch_of_the_same_period() {
    let case = Case::new(0);
    // A folder of other files is never replaced, even with --force.
    std::fs::create_dir(case.path("notes")).unwrap();
    std::fs::write(case.path("notes/thesis.txt"), "precious").unwrap();
    case.refused("notes", &["--force"], "is not a payline batch");
    assert_eq!(
        std::fs::read_to_string(case.path("notes/thesis.txt")).unwrap(),
        "precious"
    );
    // Another month's batch is never replaced (a typo in --out must not erase history).
    case.expect("august", &["--period", "2026-08"], 0);
    let before = snapshot(&case.path("august"));
    case.refused(
        "august",
        &["--force"],
        "holds the batch of 2026-08; this run is for 2026-10",
    );
    assert_eq!(snapshot(&case.path("august")), before);
    // A re-run of the same period is what --force is for.
    case.expect("august", &["--period", "2026-08", "--force"], 0);
}
