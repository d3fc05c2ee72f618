//! The binary as users run it: exit codes, error messages naming file/line/column/value, all-or-nothing
//! output, and the commands' printed reports.

mod common;

use assert_cmd::Command;
use common::{CORE_FILES, SAMPLE_DATA, Workdir, repo, sha256_hex};
use predicates::prelude::*;

fn payline() -> Command {
    Command::cargo_bin("payline").unwrap()
}

const PROGRAM: &str = r#"[program]
id = "cli"
name = "CLI test program"
currency = "USD"

[payout]
minimum = "10.00"

[[rules]]
id = "commission"
kind = "percent"
rate = "0.10"

[[rules]]
id = "mdf"
kind = "fund"
allocation = "500.00"
"#;

const PARTNERS: &str =
    "partner_id,name,type,kyc_verified,currency\nP1,One,reseller,true,\nP2,Two,reseller,false,\n";
const DEALS: &str =
    "deal_id,partner_id,closed_on,amount\nD1,P1,2026-10-01,1000.00\nD2,P2,2026-10-02,500.00\n";

/// A working directory with a valid program and data that each test then breaks in one place.
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
    fn new() -> Case {
        let case = Case {
            work: Workdir::new(),
        };
        case.write("program.toml", PROGRAM);
        case.write("partners.csv", PARTNERS);
        case.write("deals.csv", DEALS);
        case
    }

    fn run(&self, extra: &[&str]) -> Command {
        let mut cmd = self.work.run_over(CORE_FILES, "2026-10", "out");
        cmd.args(extra);
        cmd
    }

    /// Runs, expects exit 1, checks stderr holds every fragment, and that nothing was written.
    fn fails_with(&self, extra: &[&str], fragments: &[&str]) {
        let assert = self.run(extra).assert().code(1);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        for f in fragments {
            assert!(stderr.contains(f), "stderr lacks {f:?}:\n{stderr}");
        }
        assert!(
            !self.work.path("out").exists(),
            "a failed run must not leave --out behind"
        );
        let leftovers: Vec<_> = std::fs::read_dir(self.work.root())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("payline-tmp"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "temporary directories left behind: {leftovers:?}"
        );
    }
}

#[test]
fn sample_run_writes_every_output_and_a_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    payline()
        .current_dir(repo(""))
        .args([
            "run",
            "--program",
            "programs/mixed.toml",
            "--period",
            "2026-10",
        ])
        .args(SAMPLE_DATA)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("Totals per rule"))
        .stdout(predicate::str::contains("Totals per partner type"))
        .stdout(predicate::str::contains("KPIs"))
        .stderr(predicate::str::is_empty());
    for f in [
        "payouts.csv",
        "lines.csv",
        "ledger.csv",
        "balances.csv",
        "nudges.csv",
        "journal.csv",
        "index.html",
        "statement_rules.csv",
        "statement_partners.csv",
        "statement_deals.csv",
        "manifest.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    // Statements are rendered from the batch on request (`--statements`, `payline statements`).
    assert!(!out.join("statements").exists(), "no statements by default");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["period"]["id"], "2026-10");
    assert_eq!(manifest["period"]["first_day"], "2026-10-01");
    assert_eq!(manifest["period"]["last_day"], "2026-10-31");
    let payouts_sha = manifest["outputs"]["payouts.csv"].as_str().unwrap();
    let bytes = std::fs::read(out.join("payouts.csv")).unwrap();
    assert_eq!(
        payouts_sha,
        sha256_hex(&bytes),
        "the manifest hashes the outputs"
    );
    assert!(manifest["outputs"].get("manifest.json").is_none());
    assert_eq!(
        manifest["inputs"]["deals"]["sha256"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
    assert!(
        manifest.to_string().find("time").is_none(),
        "no clock in the manifest"
    );
}

#[test]
fn json_summary_totals_match_payouts_csv() {
    let case = Case::new();
    let assert = case.run(&["--json"]).assert().success();
    let summary: serde_json::Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    assert_eq!(summary["kpis"]["earned"], "150.00");
    assert_eq!(summary["kpis"]["paid"], "100.00");
    assert_eq!(summary["kpis"]["partners_held"], 1);
    let payouts = std::fs::read_to_string(case.path("out/payouts.csv")).unwrap();
    assert!(payouts.contains("P2,Two,reseller,,USD,50.00,0.00,0.00,50.00,0.00,50.00,held,"));
}

#[test]
fn refuses_a_non_empty_out_and_force_replaces_it() {
    let case = Case::new();
    case.run(&[]).assert().success();
    let before = std::fs::read_to_string(case.path("out/payouts.csv")).unwrap();
    case.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount\nD1,P1,2026-10-01,2000.00\n",
    );
    case.run(&[])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "already exists and is not empty; pass --force",
        ));
    assert_eq!(
        std::fs::read_to_string(case.path("out/payouts.csv")).unwrap(),
        before
    );
    case.run(&["--force"]).assert().success();
    let after = std::fs::read_to_string(case.path("out/payouts.csv")).unwrap();
    assert!(after.contains("P1,One,reseller,,USD,200.00"), "{after}");
}

#[test]
fn a_failed_forced_run_keeps_the_previous_output() {
    let case = Case::new();
    case.run(&[]).assert().success();
    let before = std::fs::read_to_string(case.path("out/lines.csv")).unwrap();
    case.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount\nD1,P1,2026-10-01,oops\n",
    );
    case.run(&["--force"]).assert().code(1);
    assert_eq!(
        std::fs::read_to_string(case.path("out/lines.csv")).unwrap(),
        before
    );
}

#[test]
fn an_empty_existing_out_is_fine() {
    let case = Case::new();
    std::fs::create_dir(case.path("out")).unwrap();
    case.run(&[]).assert().success();
}

#[test]
fn bad_money_names_file_line_column_and_value() {
    let case = Case::new();
    case.write("deals.csv", "deal_id,partner_id,closed_on,amount\nD1,P1,2026-10-01,1000.00\nD2,P1,2026-10-02,\"1,250.10\"\n");
    case.fails_with(
        &[],
        &["deals.csv:3", "column `amount`", "1,250.10", "decimal"],
    );
}

#[test]
fn bad_date() {
    let case = Case::new();
    case.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount\nD1,P1,2026-13-01,10.00\n",
    );
    case.fails_with(
        &[],
        &[
            "deals.csv:2",
            "column `closed_on`",
            "2026-13-01",
            "YYYY-MM-DD",
        ],
    );
}

#[test]
fn missing_required_column() {
    let case = Case::new();
    case.write("partners.csv", "partner_id,name\nP1,One\n");
    case.fails_with(
        &[],
        &[
            "partners.csv:1",
            "column `type`",
            "required column is missing",
        ],
    );
}

#[test]
fn unknown_partner_in_deals() {
    let case = Case::new();
    case.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount\nD1,P9,2026-10-01,10.00\n",
    );
    case.fails_with(
        &[],
        &[
            "deals.csv:2",
            "column `partner_id`",
            "P9",
            "unknown partner",
        ],
    );
}

#[test]
fn duplicate_deal_and_partner() {
    let case = Case::new();
    case.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount\nD1,P1,2026-10-01,10.00\nD1,P1,2026-10-02,20.00\n",
    );
    case.fails_with(
        &[],
        &[
            "deals.csv:3",
            "duplicate (deal_id, partner_id) = (D1, P1)",
            "first on line 2",
        ],
    );
}

#[test]
fn shares_of_a_deal_over_one() {
    let case = Case::new();
    case.write("deals.csv", "deal_id,partner_id,closed_on,amount,share\nD1,P1,2026-10-01,10.00,0.6\nD1,P2,2026-10-01,10.00,0.5\n");
    case.fails_with(&[], &["deals.csv:3", "column `share`", "add up to 1.1"]);
}

#[test]
fn refund_without_a_reversal_date() {
    let case = Case::new();
    case.write("deals.csv", "deal_id,partner_id,closed_on,amount,status,reversed_on\nD1,P1,2026-10-01,10.00,refunded,\n");
    case.fails_with(
        &[],
        &[
            "deals.csv:2",
            "column `reversed_on`",
            "needs its reversal date",
        ],
    );
}

#[test]
fn bad_boolean_and_bad_status() {
    let case = Case::new();
    case.write(
        "partners.csv",
        "partner_id,name,type,kyc_verified\nP1,One,reseller,yes\n",
    );
    case.fails_with(
        &[],
        &[
            "partners.csv:2",
            "column `kyc_verified`",
            "yes",
            "true or false",
        ],
    );
    case.write(
        "partners.csv",
        "partner_id,name,type,status\nP1,One,reseller,paused\n",
    );
    case.fails_with(
        &[],
        &[
            "partners.csv:2",
            "column `status`",
            "paused",
            "active, suspended, terminated",
        ],
    );
}

#[test]
fn negative_amount_and_share_out_of_range() {
    let case = Case::new();
    case.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount\nD1,P1,2026-10-01,-5.00\n",
    );
    case.fails_with(
        &[],
        &["deals.csv:2", "column `amount`", "-5.00", "zero or more"],
    );
    case.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount,share\nD1,P1,2026-10-01,5.00,0\n",
    );
    case.fails_with(
        &[],
        &[
            "deals.csv:2",
            "column `share`",
            "greater than 0 and at most 1",
        ],
    );
}

#[test]
fn an_absurdly_large_amount_is_an_error_not_a_crash() {
    let case = Case::new();
    case.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount\nD1,P1,2026-10-01,9999999999999999999999999999\n",
    );
    case.fails_with(&[], &["deals.csv:2", "column `amount`", "below 10^20"]);
}

#[test]
fn ragged_csv_row() {
    let case = Case::new();
    case.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount\nD1,P1,2026-10-01,5.00,extra\n",
    );
    case.fails_with(&[], &["deals.csv:2", "5 fields but the header has 4"]);
}

#[test]
fn missing_fx_rate_names_currency_and_date() {
    let case = Case::new();
    case.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount,currency\nD1,P1,2026-10-01,5.00,EUR\n",
    );
    case.fails_with(
        &[],
        &[
            "deals.csv:2",
            "no EUR rate in force on 2026-10-01",
            "needs --fx",
        ],
    );
    case.write("fx.csv", "date,currency,rate\n2026-10-02,EUR,1.1\n");
    case.fails_with(
        &["--fx", "fx.csv"],
        &[
            "no EUR rate in force on 2026-10-01",
            "no EUR row dated on or before it",
        ],
    );
    // A payout currency without a rate at the period end.
    case.write("deals.csv", DEALS);
    case.write(
        "partners.csv",
        "partner_id,name,type,currency\nP1,One,reseller,GBP\nP2,Two,reseller,\n",
    );
    case.fails_with(
        &["--fx", "fx.csv"],
        &[
            "partner P1 is paid in GBP",
            "no GBP rate in force on 2026-10-31",
        ],
    );
}

#[test]
fn claims_on_unknown_fund_or_partner() {
    let case = Case::new();
    case.write(
        "claims.csv",
        "claim_id,partner_id,fund,amount,status,decided_on\nC1,P1,coop,10.00,approved,2026-10-05\n",
    );
    case.fails_with(
        &["--claims", "claims.csv"],
        &["claims.csv:2", "column `fund`", "coop", "unknown fund"],
    );
    case.write(
        "claims.csv",
        "claim_id,partner_id,fund,amount,status,decided_on\nC1,P7,mdf,10.00,approved,2026-10-05\n",
    );
    case.fails_with(
        &["--claims", "claims.csv"],
        &[
            "claims.csv:2",
            "column `partner_id`",
            "P7",
            "unknown partner",
        ],
    );
}

#[test]
fn activities_with_a_bad_quantity_or_unknown_partner() {
    let case = Case::new();
    case.write(
        "activities.csv",
        "partner_id,activity,occurred_on,quantity\nP1,training,2026-10-05,0\n",
    );
    case.fails_with(
        &["--activities", "activities.csv"],
        &["activities.csv:2", "column `quantity`", "at least 1"],
    );
    case.write(
        "activities.csv",
        "partner_id,activity,occurred_on,quantity\nPX,training,2026-10-05,2\n",
    );
    case.fails_with(
        &["--activities", "activities.csv"],
        &["activities.csv:2", "PX", "unknown partner"],
    );
}

#[test]
fn ledger_partner_missing_from_partners() {
    // September carries P5's 4.00 (below the 10.00 minimum); by October P5 left partners.csv.
    let case = Case::new();
    case.write(
        "partners.csv",
        &format!("{PARTNERS}P5,Five,reseller,true,\n"),
    );
    case.write("deals.csv", &format!("{DEALS}D9,P5,2026-09-10,40.00\n"));
    payline()
        .current_dir(case.work.root())
        .args([
            "run",
            "--program",
            "program.toml",
            "--partners",
            "partners.csv",
        ])
        .args([
            "--deals",
            "deals.csv",
            "--period",
            "2026-09",
            "--out",
            "september",
        ])
        .assert()
        .success();
    case.write("partners.csv", PARTNERS);
    case.write("deals.csv", DEALS);
    case.fails_with(
        &["--ledger", "september"],
        &[
            "september/balances.csv:4",
            "column `partner_id`",
            "P5",
            "ledger partner is not in partners.csv",
        ],
    );
}

#[test]
fn ledger_of_the_same_period_is_refused() {
    let case = Case::new();
    case.run(&[]).assert().success();
    std::fs::rename(case.path("out"), case.path("october")).unwrap();
    case.fails_with(
        &["--ledger", "october"],
        &[
            "the ledger is October 2026 (2026-10)'s batch; this run is for October 2026 (2026-10), which overlaps it",
            "ledger.csv:2: the ledger already holds lines of 2026-10",
        ],
    );
}

#[test]
fn program_errors_are_reported_with_line_and_column() {
    let case = Case::new();
    case.write(
        "program.toml",
        &PROGRAM.replace("rate = \"0.10\"", "rate = \"0.10\"\nrat = \"0.2\""),
    );
    case.fails_with(
        &[],
        &[
            "program.toml:13:1: error: unknown key `rules[0].rat`",
            "13 | rat = \"0.2\"",
        ],
    );
}

#[test]
fn usage_errors_exit_2() {
    payline()
        .args(["run", "--program", "x.toml"])
        .assert()
        .code(2);
    let case = Case::new();
    payline()
        .current_dir(case.work.root())
        .args([
            "run",
            "--program",
            "program.toml",
            "--partners",
            "partners.csv",
            "--deals",
            "deals.csv",
        ])
        .args(["--period", "2026-13", "--out", "out"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "expected a month (2026-10), quarter (2026-Q4) or year (2026)",
        ));
    payline().arg("frobnicate").assert().code(2);
}

#[test]
fn reruns_are_byte_identical() {
    let case = Case::new();
    case.write(
        "claims.csv",
        "claim_id,partner_id,fund,amount,status,decided_on\nC1,P1,mdf,10.00,approved,2026-10-05\n",
    );
    case.run(&["--claims", "claims.csv"]).assert().success();
    std::fs::rename(case.path("out"), case.path("first")).unwrap();
    case.run(&["--claims", "claims.csv"]).assert().success();
    for f in [
        "payouts.csv",
        "lines.csv",
        "ledger.csv",
        "balances.csv",
        "manifest.json",
        "statement_rules.csv",
        "statement_partners.csv",
        "statement_deals.csv",
        "index.html",
    ] {
        assert_eq!(
            std::fs::read(case.path("first").join(f)).unwrap(),
            std::fs::read(case.path("out").join(f)).unwrap(),
            "{f} differs between two runs"
        );
    }
}

#[test]
fn a_fund_never_pays_more_than_it_holds_on_claims_with_sub_cent_amounts() {
    // 10.00 allocated; C1 claims 9.995 (10.00 once rounded), C2 5.00: C1 takes the 10.00, C2 nothing.
    let case = Case::new();
    case.write(
        "program.toml",
        &PROGRAM.replace("allocation = \"500.00\"", "allocation = \"10.00\""),
    );
    case.write(
        "claims.csv",
        "claim_id,partner_id,fund,amount,status,decided_on\nC1,P1,mdf,9.995,approved,2026-10-05\nC2,P1,mdf,5.00,approved,2026-10-06\n",
    );
    let output = case.run(&["--claims", "claims.csv"]).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines = std::fs::read_to_string(case.path("out/lines.csv")).unwrap();
    assert!(
        lines.contains(",mdf,claim,claim,C1,10.00,,10.00,"),
        "{lines}"
    );
    assert!(
        !lines.contains(",claim,claim,C2,"),
        "C2 was paid from an empty fund:\n{lines}"
    );
    let balances = std::fs::read_to_string(case.path("out/balances.csv")).unwrap();
    assert!(
        !balances.contains("P1,fund:mdf"),
        "the fund is not empty or negative:\n{balances}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("claim C2 of partner P1 on fund `mdf`: 5.00 of 5.00 unpaid"),
        "{stdout}"
    );
}

#[test]
fn with_json_an_error_is_one_json_object_with_a_stable_code() {
    let case = Case::new();
    case.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount\nD1,P1,2026-10-01,\"1,250.10\"\n",
    );
    let output = case.run(&["--json"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "{output:?}");
    let error: serde_json::Value = serde_json::from_slice(&output.stderr)
        .unwrap_or_else(|e| panic!("stderr is not JSON ({e}): {:?}", output.stderr));
    assert_eq!(error["error"]["code"], "input");
    assert_eq!(error["error"]["line"], 2);
    assert_eq!(error["error"]["column"], "amount");
    assert_eq!(error["error"]["value"], "1,250.10");
}

#[test]
fn a_missing_input_is_named_with_its_option() {
    let case = Case::new();
    case.fails_with(
        &["--payments", "payments.csv"],
        &["error: --payments payments.csv: no such file"],
    );
    case.fails_with(
        &["--activities", "nowhere/activities.csv"],
        &["--activities nowhere/activities.csv: no such file"],
    );
}
