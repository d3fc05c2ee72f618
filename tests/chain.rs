//! The month-end chain (SPEC §7): `--ledger` must be the previous run of this chain, each deal row
//! and claim is paid once, and the ledger is the complete, verifiable history of every account.
//! Each test runs the built binary on a copy of the sample data, as finance would at month end.

mod common;

use assert_cmd::Command;
use common::{ALL_FILES, Workdir, repo, sha256_hex};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

/// A copy of the sample program and data in a temporary directory, so a test can re-export a file.
struct Books {
    work: Workdir,
}

impl std::ops::Deref for Books {
    type Target = Workdir;
    fn deref(&self) -> &Workdir {
        &self.work
    }
}

impl Books {
    fn new() -> Books {
        let work = Workdir::new();
        for f in [
            "partners.csv",
            "deals.csv",
            "activities.csv",
            "claims.csv",
            "fx.csv",
        ] {
            std::fs::copy(repo("fixtures").join(f), work.path(f)).unwrap();
        }
        std::fs::copy(repo("programs/mixed.toml"), work.path("program.toml")).unwrap();
        Books { work }
    }

    /// Replaces one exact piece of a file (a re-export that changes one cell).
    fn edit(&self, name: &str, from: &str, to: &str) {
        let text = self.read(name);
        assert!(text.contains(from), "{name} lacks {from:?}");
        self.write(name, &text.replacen(from, to, 1));
    }

    /// `payline run` of the sample program for `period` into `out`, with `--ledger` when given.
    fn run(&self, period: &str, ledger: Option<&str>, out: &str, extra: &[&str]) -> Command {
        let mut cmd = self.work.run_over(ALL_FILES, period, out);
        if let Some(l) = ledger {
            cmd.args(["--ledger", l]);
        }
        cmd.args(extra);
        cmd
    }

    fn ok(&self, period: &str, ledger: Option<&str>, out: &str) -> String {
        let output = self.run(period, ledger, out, &[]).output().unwrap();
        assert!(
            output.status.success(),
            "{period} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Runs and expects exit 1 with every fragment in stderr, and `out` not created.
    fn refused(&self, period: &str, ledger: Option<&str>, out: &str, fragments: &[&str]) {
        let output = self.run(period, ledger, out, &[]).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "stderr:\n{stderr}");
        for f in fragments {
            assert!(stderr.contains(f), "stderr lacks {f:?}:\n{stderr}");
        }
        assert!(!self.path(out).exists(), "a refused run wrote {out}");
    }

    /// August, then September on August's ledger.
    fn august_september(&self) {
        self.ok("2026-08", None, "aug");
        self.ok("2026-09", Some("aug"), "sep");
    }
}

fn rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn money(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// The earned lines (not clawbacks, not movements) of `partner` for deal `deal` in a lines file.
fn earned_lines_of(
    path: &Path,
    partner: &str,
    source: &str,
    id: &str,
) -> Vec<BTreeMap<String, String>> {
    rows(path)
        .into_iter()
        .filter(|r| {
            r["partner_id"] == partner
                && r["source"] == source
                && r["source_id"] == id
                && r["kind"] != "clawback"
                && r["kind"] != "fund"
        })
        .collect()
}

#[test]
fn a_re_dated_deal_is_not_paid_again() {
    let books = Books::new();
    books.august_september();
    assert_eq!(
        earned_lines_of(&books.path("sep/lines.csv"), "P002", "deal", "D1011").len(),
        1,
        "September pays D1011"
    );
    // The CRM re-exports D1011 with October's date.
    books.edit(
        "deals.csv",
        "D1011,P002,2026-09-16",
        "D1011,P002,2026-10-02",
    );
    let stdout = books.ok("2026-10", Some("sep"), "oct");
    assert!(
        earned_lines_of(&books.path("oct/lines.csv"), "P002", "deal", "D1011").is_empty(),
        "October pays D1011 again"
    );
    assert!(
        stdout.contains(
            "deal D1011 of partner P002: rule `affiliate-commission` already paid it in 2026-09"
        ),
        "no warning names the re-dated deal:\n{stdout}"
    );
}

#[test]
fn a_re_dated_claim_is_not_paid_again() {
    let books = Books::new();
    books.august_september();
    assert_eq!(
        earned_lines_of(&books.path("sep/lines.csv"), "P004", "claim", "C-0902").len(),
        1,
        "September pays C-0902"
    );
    books.edit("claims.csv", "2026-09-15", "2026-10-01");
    let stdout = books.ok("2026-10", Some("sep"), "oct");
    assert!(
        earned_lines_of(&books.path("oct/lines.csv"), "P004", "claim", "C-0902").is_empty(),
        "October pays C-0902 again"
    );
    assert!(
        stdout.contains("claim C-0902 of partner P004 was paid in 2026-09 already"),
        "no warning names the re-dated claim:\n{stdout}"
    );
}

#[test]
fn a_month_on_the_ledger_of_its_own_quarter_is_refused() {
    let books = Books::new();
    books.ok("2026-Q3", None, "q3");
    books.refused(
        "2026-09",
        Some("q3"),
        "sep",
        &[
            "the ledger is 2026-Q3 (2026-07-01 to 2026-09-30)'s batch; this run is for September 2026 (2026-09), which overlaps it",
        ],
    );
}

#[test]
fn a_quarter_on_the_ledger_of_its_first_month_is_refused() {
    let books = Books::new();
    books.ok("2026-10", None, "oct");
    books.refused(
        "2026-Q4",
        Some("oct"),
        "q4",
        &["this run is for 2026-Q4 (2026-10-01 to 2026-12-31), which overlaps it"],
    );
}

#[test]
fn a_skipped_month_is_refused() {
    let books = Books::new();
    books.ok("2026-08", None, "aug");
    books.refused(
        "2026-10",
        Some("aug"),
        "oct",
        &[
            "the ledger is August 2026 (2026-08)'s batch; this run is for October 2026 (2026-10), so the periods between them have not been run",
            "the period that ends on 2026-09-30",
        ],
    );
}

#[test]
fn an_earlier_month_after_a_later_one_is_refused() {
    let books = Books::new();
    books.ok("2026-10", None, "oct");
    books.refused(
        "2026-07",
        Some("oct"),
        "jul",
        &["the ledger is October 2026 (2026-10)'s batch; this run is for July 2026 (2026-07), which comes before it"],
    );
}

#[test]
fn another_programs_ledger_needs_allow_program_change() {
    let books = Books::new();
    books.ok("2026-08", None, "aug");
    books.edit(
        "program.toml",
        "id = \"fy26-partners\"",
        "id = \"fy27-partners\"",
    );
    books.refused(
        "2026-09",
        Some("aug"),
        "sep",
        &["the ledger was written by program `fy26-partners`; this run's program is `fy27-partners`. Pass --allow-program-change"],
    );
    books
        .run("2026-09", Some("aug"), "sep", &["--allow-program-change"])
        .assert()
        .success();
    let manifest: serde_json::Value =
        serde_json::from_str(&books.read("sep/manifest.json")).unwrap();
    assert_eq!(manifest["allow_program_change"], true);
    assert_eq!(manifest["program_id"], "fy27-partners");
}

#[test]
fn a_hand_edited_balance_is_refused() {
    let books = Books::new();
    books.ok("2026-08", None, "aug");
    let balances = books.read("aug/balances.csv");
    books.write(
        "aug/balances.csv",
        &format!("{balances}P001,payout,9999.99\n"),
    );
    books.refused(
        "2026-09",
        Some("aug"),
        "sep",
        &[
            "aug/balances.csv: changed since payline wrote it",
            "balances.csv says partner P001 has 9999.99 on account `payout`, but ledger.csv's lines for that account add up to 0.00",
        ],
    );
}

#[test]
fn a_duplicated_ledger_line_is_refused_even_with_a_matching_hash() {
    let books = Books::new();
    books.august_september();
    // Duplicate the first line of P004's clawback and make the manifest agree, as a careful forger would.
    let ledger = books.read("sep/ledger.csv");
    let clawback = ledger
        .lines()
        .find(|l| l.contains(",clawback,"))
        .expect("September claws back D1004")
        .to_string();
    let duplicated = ledger.replacen(&clawback, &format!("{clawback}\n{clawback}"), 1);
    books.write("sep/ledger.csv", &duplicated);
    let manifest = books.read("sep/manifest.json").replace(
        &sha256_hex(ledger.as_bytes()),
        &sha256_hex(duplicated.as_bytes()),
    );
    books.write("sep/manifest.json", &manifest);
    let line = duplicated
        .lines()
        .position(|l| l == clawback)
        .map(|i| i + 2)
        .unwrap();
    books.refused(
        "2026-10",
        Some("sep"),
        "oct",
        &[
            &format!("sep/ledger.csv:{line}: the same line as line {}", line - 1),
            "a ledger never holds a line twice",
            // P004 was paid its 6200.00, so the duplicate −1650.00 clawback shows as a debt the
            // balances never had.
            "balances.csv says partner P004 has 0.00 on account `payout`, but ledger.csv's lines for that account add up to -1650.00",
        ],
    );
}

/// SPEC §7: a line's identity includes its kind. A line that differs from another only in its kind
/// (here a zero `release` beside the clawback of the same row) is not a duplicate; the same line
/// with the same kind is.
#[test]
fn a_ledger_lines_identity_includes_its_kind() {
    let books = Books::new();
    books.august_september();
    let ledger = books.read("sep/ledger.csv");
    let manifest = books.read("sep/manifest.json");
    let clawback = ledger
        .lines()
        .find(|l| l.contains(",clawback,"))
        .expect("September claws back D1004")
        .to_string();
    // The clawback's fields: period, partner, account, rule, kind, source, source_id, basis, rate,
    // amount, note. Its twin of another kind, with amount 0.00, keeps every balance.
    let twin = |kind: &str| {
        let mut fields: Vec<&str> = clawback.splitn(11, ',').collect();
        fields[4] = kind;
        fields[9] = "0.00";
        fields.join(",")
    };
    let forge = |twin: String| {
        let edited = ledger.replacen(&clawback, &format!("{clawback}\n{twin}"), 1);
        books.write("sep/ledger.csv", &edited);
        books.write(
            "sep/manifest.json",
            &manifest.replace(
                &sha256_hex(ledger.as_bytes()),
                &sha256_hex(edited.as_bytes()),
            ),
        );
    };
    forge(twin("release"));
    books.ok("2026-10", Some("sep"), "oct");
    forge(twin("clawback"));
    books.refused(
        "2026-10",
        Some("sep"),
        "oct2",
        &["a ledger never holds a line twice"],
    );
}

#[test]
fn a_killed_runs_working_directory_is_never_a_ledger() {
    let books = Books::new();
    books.ok("2026-08", None, "aug");
    // What a run killed before its rename leaves: the files, no manifest. (Named for another --out:
    // a run to `sep` itself would remove it as stale.)
    let work = books.path(".september.payline-tmp-999999");
    std::fs::create_dir(&work).unwrap();
    for f in ["ledger.csv", "balances.csv", "payouts.csv", "lines.csv"] {
        std::fs::copy(books.path("aug").join(f), work.join(f)).unwrap();
    }
    let copy = books.path("copy");
    std::fs::create_dir(&copy).unwrap();
    for f in ["ledger.csv", "balances.csv"] {
        std::fs::copy(work.join(f), copy.join(f)).unwrap();
    }
    books.refused(
        "2026-09",
        Some("copy"),
        "sep",
        &["--ledger copy is not a complete payline output: it has no manifest.json"],
    );
    // Even with a manifest inside, a payline working directory is refused by its name.
    std::fs::copy(books.path("aug/manifest.json"), work.join("manifest.json")).unwrap();
    books.refused(
        "2026-09",
        Some(".september.payline-tmp-999999"),
        "sep",
        &["is the hidden working directory of a payline run that never finished"],
    );
}

#[test]
fn every_problem_of_a_ledger_is_reported_at_once() {
    let books = Books::new();
    books.ok("2026-08", None, "aug");
    let balances = books.read("aug/balances.csv");
    books.write("aug/balances.csv", &format!("{balances}P001,payout,1.00\n"));
    books.edit("program.toml", "id = \"fy26-partners\"", "id = \"other\"");
    let output = books
        .run("2026-10", Some("aug"), "oct", &[])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    for fragment in [
        "balances.csv: changed since payline wrote it",
        "so the periods between them have not been run",
        "the ledger was written by program `fy26-partners`",
        "balances.csv says partner P001 has 1.00",
    ] {
        assert!(
            stderr.contains(fragment),
            "stderr lacks {fragment:?}:\n{stderr}"
        );
    }
}

#[test]
fn the_manifest_links_the_chain_and_hashes_every_output() {
    let books = Books::new();
    books.august_september();
    let aug = std::fs::read(books.path("aug/manifest.json")).unwrap();
    let sep: serde_json::Value = serde_json::from_str(&books.read("sep/manifest.json")).unwrap();
    assert_eq!(sep["previous_manifest_sha256"], sha256_hex(&aug));
    let first: serde_json::Value = serde_json::from_slice(&aug).unwrap();
    assert!(first.get("previous_manifest_sha256").is_none());
    let outputs = sep["outputs"].as_object().unwrap();
    // Statements are documents rendered from the batch, not part of it (SPEC §5); what they need
    // is, and is hashed with the rest.
    assert!(!outputs.keys().any(|k| k.starts_with("statements/")));
    assert!(outputs.contains_key("statement_deals.csv"));
    for (path, sha) in outputs {
        let bytes = std::fs::read(books.path("sep").join(path)).unwrap();
        assert_eq!(sha.as_str().unwrap(), sha256_hex(&bytes), "{path}");
    }
}

#[test]
fn every_balance_is_the_sum_of_its_ledger_lines_through_the_chain() {
    let books = Books::new();
    books.august_september();
    books.ok("2026-10", Some("sep"), "oct");
    for month in ["aug", "sep", "oct"] {
        let mut sums: BTreeMap<(String, String), Decimal> = BTreeMap::new();
        for r in rows(&books.path(month).join("ledger.csv")) {
            *sums
                .entry((r["partner_id"].clone(), r["account"].clone()))
                .or_default() += money(&r["amount"]);
        }
        sums.retain(|_, v| !v.is_zero());
        let balances: BTreeMap<(String, String), Decimal> =
            rows(&books.path(month).join("balances.csv"))
                .into_iter()
                .map(|r| {
                    (
                        (r["partner_id"].clone(), r["account"].clone()),
                        money(&r["balance"]),
                    )
                })
                .collect();
        assert_eq!(
            sums, balances,
            "{month}: balances.csv is not the ledger's sums"
        );
        assert!(
            balances.contains_key(&("P006".to_string(), "fund:mdf".to_string())) || month == "oct"
        );
        // One payout line of −paid for every partner paid.
        let paid: BTreeMap<String, Decimal> = rows(&books.path(month).join("payouts.csv"))
            .into_iter()
            .filter(|r| r["status"] == "paid" && !money(&r["paid"]).is_zero())
            .map(|r| (r["partner_id"].clone(), money(&r["paid"])))
            .collect();
        let payout_lines: BTreeMap<String, Decimal> = rows(&books.path(month).join("lines.csv"))
            .into_iter()
            .filter(|r| r["kind"] == "payout")
            .map(|r| (r["partner_id"].clone(), -money(&r["amount"])))
            .collect();
        assert_eq!(paid, payout_lines, "{month}: payout lines differ from paid");
    }
}

#[test]
fn a_bad_row_in_an_edited_ledger_is_reported_with_the_edit() {
    let books = Books::new();
    books.ok("2026-08", None, "aug");
    books.edit("aug/ledger.csv", "2026-08,P002,", "2026-08,P999,");
    books.refused(
        "2026-09",
        Some("aug"),
        "sep",
        &[
            "aug/ledger.csv: changed since payline wrote it",
            "column `partner_id`: ledger partner is not in partners.csv (value: `P999`)",
        ],
    );
}

#[test]
fn a_wrong_ledger_is_refused_before_the_deals_are_read() {
    let books = Books::new();
    books.ok("2026-08", None, "aug");
    // A deals file that would fail to load: the ledger's refusal comes first, naming both periods.
    books.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount\nD1,P001,not-a-date,1.00\n",
    );
    books.refused(
        "2026-10",
        Some("aug"),
        "oct",
        &["the ledger is August 2026 (2026-08)'s batch"],
    );
}
