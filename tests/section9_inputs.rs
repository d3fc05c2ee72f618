//! payments.csv and approvals.csv (SPEC §9.1, §9.3) and the carried paid_payments.csv, through the
//! binary: every refusal exits 1 naming file:line, column and value and writes no --out; the files
//! are found whatever their deal rows' dates, hashed in the manifest, read through import maps and
//! workspaces; a tampered paid_payments.csv in the previous batch is refused.

mod common;

use common::{Workdir, sha256_hex};

const PROGRAM: &str = r#"[program]
id = "cash"
name = "Cash and approvals test program"
currency = "USD"

[[rules]]
id = "resale"
kind = "percent"
rate = "0.10"
pay_on = "payment"

[[rules]]
id = "bonus"
kind = "flat"
amount = "50.00"
approval = "manual"

[[rules]]
id = "certification"
kind = "activity"
activity = "certification"
amount = "250.00"
"#;

const PARTNERS: &str = "partner_id,name,type\nP1,Acme Resale,reseller\nP2,Nordlys,reseller\n";
/// D1 split between P1 and P2 in the period; D2 (EUR) closed long before it, D3 after it: only
/// payments and decisions name those two.
const DEALS: &str = "deal_id,partner_id,closed_on,amount,currency,share\nD1,P1,2026-10-01,1000.00,USD,0.6\nD1,P2,2026-10-01,1000.00,USD,0.4\nD2,P1,2025-03-15,500.00,EUR,1\nD3,P2,2026-12-20,300.00,USD,1\n";
const FX: &str = "date,currency,rate\n2025-01-01,EUR,1.08\n";
const PAYMENTS: &str = "payment_id,deal_id,partner_id,paid_on,amount,currency\nPAY-1,D1,,2026-10-05,600.00,USD\nPAY-2,D2,P1,2026-10-10,-20.00,EUR\nPAY-3,D3,P2,2026-10-20,100.00,\n";
const APPROVALS: &str = "deal_id,partner_id,rule_id,decision,decided_on,reason\nD1,P1,bonus,approved,2026-10-03,\nD2,P1,,declined,2026-10-04,Customer churned\nD3,P2,resale,approved,2026-10-05,\n";

const FILES: &[&str] = &[
    "program.toml",
    "partners.csv",
    "deals.csv",
    "fx.csv",
    "payments.csv",
    "approvals.csv",
];

fn case() -> Workdir {
    let work = Workdir::new();
    work.write("program.toml", PROGRAM);
    work.write("partners.csv", PARTNERS);
    work.write("deals.csv", DEALS);
    work.write("fx.csv", FX);
    work.write("payments.csv", PAYMENTS);
    work.write("approvals.csv", APPROVALS);
    work
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs October over every file; expects exit 1, each `(line, column, value)` of `file` named,
/// every fragment in stderr, and no --out.
fn refused(work: &Workdir, file: &str, bad: &[(u64, &str, &str)], fragments: &[&str]) {
    let output = work.run_over(FILES, "2026-10", "out").output().unwrap();
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    for (line, column, value) in bad {
        let at = format!("{file}:{line}: column `{column}`: ");
        assert!(stderr.contains(&at), "stderr lacks {at:?}:\n{stderr}");
        let shown = format!("(value: `{value}`)");
        assert!(stderr.contains(&shown), "stderr lacks {shown:?}:\n{stderr}");
    }
    for f in fragments {
        assert!(stderr.contains(f), "stderr lacks {f:?}:\n{stderr}");
    }
    assert!(!work.path("out").exists(), "a refused run wrote --out");
}

/// payments.csv with `row` as its second data row.
fn payments_with(work: &Workdir, row: &str) {
    work.write(
        "payments.csv",
        &format!("payment_id,deal_id,partner_id,paid_on,amount,currency\nPAY-1,D1,,2026-10-05,600.00,USD\n{row}\n"),
    );
}

fn approvals_with(work: &Workdir, row: &str) {
    work.write(
        "approvals.csv",
        &format!(
            "deal_id,partner_id,rule_id,decision,decided_on,reason\nD1,P1,bonus,approved,2026-10-03,\n{row}\n"
        ),
    );
}

#[test]
fn a_run_with_payments_and_approvals_hashes_both_in_the_manifest() {
    let work = case();
    let output = work.run_over(FILES, "2026-10", "out").output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let manifest: serde_json::Value =
        serde_json::from_str(&work.read("out/manifest.json")).unwrap();
    for (input, text, rows) in [("payments", PAYMENTS, 3), ("approvals", APPROVALS, 3)] {
        let digest = &manifest["inputs"][input];
        assert_eq!(digest["path"], format!("{input}.csv"), "{manifest}");
        assert_eq!(digest["sha256"], sha256_hex(text.as_bytes()), "{manifest}");
        assert_eq!(digest["rows"], rows, "{manifest}");
    }
    // PAY-1 (600.00 for the whole of D1) is paid to both rows, 10 % of 0.6 and 0.4 of it: the
    // batch records it per (partner, rule) in paid_payments.csv, hashed in the manifest. PAY-2 is a
    // refund of nothing covered (part 0, no line); PAY-3 is dated by D3's close, 2026-12-20: later.
    assert!(
        manifest["outputs"].get("paid_payments.csv").is_some(),
        "{manifest}"
    );
    assert_eq!(
        work.read("out/paid_payments.csv"),
        "period,partner_id,rule_id,payment_id,deal_id,paid_on,amount,cash_part\n\
         2026-10,P1,resale,PAY-1,D1,2026-10-05,600.00,600.00\n\
         2026-10,P2,resale,PAY-1,D1,2026-10-05,600.00,600.00\n"
    );
}

#[test]
fn without_payments_or_approvals_the_rules_that_need_them_are_warned() {
    let work = case();
    let output = work
        .run_over(&FILES[..4], "2026-10", "out")
        .arg("--json")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let missing: Vec<&str> = summary["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["code"] == "input-missing")
        .map(|w| w["message"].as_str().unwrap())
        .collect();
    assert!(
        missing.contains(
            &"no --payments was given: the rule(s) `resale` (pay_on = \"payment\") pay on cash received and paid nothing on it"
        ),
        "{missing:?}"
    );
    assert!(
        missing.contains(
            &"no --approvals was given: every line of the manual rule(s) `bonus` stays pending awaiting approval"
        ),
        "{missing:?}"
    );
    // Given, they are not warned.
    let output = work
        .run_over(FILES, "2026-10", "out2")
        .arg("--json")
        .output()
        .unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let text = summary["warnings"].to_string();
    assert!(
        !text.contains("--payments") && !text.contains("--approvals"),
        "{text}"
    );
}

#[test]
fn every_bad_payment_is_refused_naming_line_column_and_value() {
    let work = case();
    for (row, column, value, words) in [
        (
            ",D1,,2026-10-05,1.00,",
            "payment_id",
            "",
            "a value is required",
        ),
        (
            "PAY-2,D1,,2026-10-32,1.00,",
            "paid_on",
            "2026-10-32",
            "YYYY-MM-DD",
        ),
        (
            "PAY-2,D1,,2026-10-05,\"1,000.00\",",
            "amount",
            "1,000.00",
            "plain decimal",
        ),
        ("PAY-2,D1,,2026-10-05,0,", "amount", "0", "a payment of 0"),
        (
            "PAY-1,D1,,2026-10-06,5.00,",
            "payment_id",
            "PAY-1",
            "duplicate payment_id (first on line 2)",
        ),
        (
            "PAY-2,D9,,2026-10-05,1.00,",
            "deal_id",
            "D9",
            "unknown deal",
        ),
        (
            "PAY-2,D2,P2,2026-10-05,1.00,",
            "partner_id",
            "P2",
            "deal D2 has no row of this partner",
        ),
        (
            "PAY-2,D2,P1,2026-10-05,1.00,USD",
            "currency",
            "USD",
            "deal D2's row is in EUR",
        ),
        (
            "PAY-2,D1,,2026-10-05,1.00,EUR",
            "currency",
            "EUR",
            "rows are in USD",
        ),
    ] {
        payments_with(&work, row);
        refused(&work, "payments.csv", &[(3, column, value)], &[words]);
    }
}

#[test]
fn every_bad_payment_row_is_listed_at_once() {
    let work = case();
    work.write(
        "payments.csv",
        "payment_id,deal_id,partner_id,paid_on,amount,currency\nPAY-1,D1,,2026-10-05,0.00,\nPAY-2,D1,,2026-10-05,1.00,\nPAY-3,D1,,2026-1-05,1.00,\n",
    );
    refused(
        &work,
        "payments.csv",
        &[(2, "amount", "0.00"), (4, "paid_on", "2026-1-05")],
        &["2 bad rows"],
    );
    // References to deals.csv are checked once its rows are read, every one at once too.
    work.write(
        "payments.csv",
        "payment_id,deal_id,partner_id,paid_on,amount,currency\nPAY-1,D8,,2026-10-05,1.00,\nPAY-2,D1,,2026-10-05,1.00,\nPAY-3,D3,P1,2026-10-05,1.00,\n",
    );
    refused(
        &work,
        "payments.csv",
        &[(2, "deal_id", "D8"), (4, "partner_id", "P1")],
        &["2 bad rows"],
    );
}

#[test]
fn a_payments_file_without_a_required_column_is_refused_naming_it() {
    let work = case();
    work.write(
        "payments.csv",
        "payment_id,deal_id,amount\nPAY-1,D1,600.00\n",
    );
    refused(&work, "payments.csv", &[], &["payments.csv", "paid_on"]);
}

#[test]
fn every_bad_decision_is_refused_naming_line_column_and_value() {
    let work = case();
    for (row, column, value, words) in [
        (
            "D1,P2,,maybe,2026-10-03,",
            "decision",
            "maybe",
            "expected one of: approved, declined",
        ),
        (
            "D1,P2,,approved,03.10.2026,",
            "decided_on",
            "03.10.2026",
            "YYYY-MM-DD",
        ),
        ("D1,P2,,,2026-10-03,", "decision", "", "approved, declined"),
        (
            "D1,P9,,approved,2026-10-03,",
            "partner_id",
            "P9",
            "unknown partner",
        ),
        (
            "D9,P2,,approved,2026-10-03,",
            "deal_id",
            "D9",
            "unknown deal",
        ),
        (
            "D2,P2,,approved,2026-10-03,",
            "partner_id",
            "P2",
            "its partners: P1",
        ),
        (
            "D1,P2,nope,approved,2026-10-03,",
            "rule_id",
            "nope",
            "program cash has no rule",
        ),
        (
            "D1,P2,certification,approved,2026-10-03,",
            "rule_id",
            "certification",
            "activity rule",
        ),
        (
            "D1,P1,bonus,declined,2026-10-09,",
            "rule_id",
            "bonus",
            "first on line 2",
        ),
    ] {
        approvals_with(&work, row);
        refused(&work, "approvals.csv", &[(3, column, value)], &[words]);
    }
}

#[test]
fn an_approvals_file_without_a_required_column_is_refused_naming_it() {
    let work = case();
    work.write(
        "approvals.csv",
        "deal_id,partner_id,decided_on\nD1,P1,2026-10-03\n",
    );
    refused(&work, "approvals.csv", &[], &["approvals.csv", "decision"]);
}

/// An export read through an import map: its own headers, dates, money forms and partner names.
/// Its bad rows name the export's header, as the user knows the file.
#[test]
fn payments_and_approvals_read_through_import_maps() {
    let work = case();
    work.write(
        "partners.csv",
        "partner_id,name,type\nP1,Acme Resale,reseller\nP2,Nordlys,reseller\n",
    );
    work.write(
        "stripe.csv",
        "Charge ID,Invoice Deal,Account,Created,Amount\nch_1,D1,,10/05/2026,\"$1,200.00\"\nch_2,D1,Nordlys,10/06/2026,-$50.00\n",
    );
    work.write(
        "reviews.csv",
        "Opportunity,Partner,Outcome Reviewed,Reviewed On\nD1,Acme Resale,Approved,10/07/2026\n",
    );
    work.write(
        "map.toml",
        r#"[payments]
date_format = ["%m/%d/%Y"]
partner_by = ["name"]

[payments.columns]
payment_id = "Charge ID"
deal_id = "Invoice Deal"
partner_id = "Account"
paid_on = "Created"
amount = "Amount"

[approvals]
date_format = ["%m/%d/%Y"]
partner_by = ["name"]

[approvals.columns]
deal_id = "Opportunity"
partner_id = "Partner"
decision = "Outcome Reviewed"
decided_on = "Reviewed On"

[approvals.values.decision]
Approved = "approved"
Rejected = "declined"
"#,
    );
    let run = |out: &str| {
        work.payline()
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
                "--fx",
                "fx.csv",
                "--payments",
                "stripe.csv",
            ])
            .args(["--approvals", "reviews.csv", "--import", "map.toml"])
            .args(["--period", "2026-10", "--out", out])
            .output()
            .unwrap()
    };
    let output = run("out");
    assert!(output.status.success(), "{}", stderr(&output));
    let manifest: serde_json::Value =
        serde_json::from_str(&work.read("out/manifest.json")).unwrap();
    assert_eq!(manifest["inputs"]["payments"]["path"], "stripe.csv");
    assert_eq!(manifest["inputs"]["payments"]["rows"], 2);
    assert_eq!(manifest["inputs"]["approvals"]["path"], "reviews.csv");
    assert_eq!(
        manifest["inputs"]["payments-import-map"]["path"],
        "map.toml"
    );
    // A deal row that does not exist is named by the export's header.
    work.write(
        "stripe.csv",
        "Charge ID,Invoice Deal,Account,Created,Amount\nch_1,D1,,10/05/2026,\"$1,200.00\"\nch_2,D2,Nordlys,10/06/2026,-$50.00\n",
    );
    let output = run("out2");
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("stripe.csv:3: column `Account`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("(read as payline's `partner_id`)"),
        "{stderr}"
    );
    assert!(!work.path("out2").exists());
}

#[test]
fn a_workspace_names_payments_and_approvals() {
    let work = case();
    work.write(
        "payline.toml",
        "[workspace]\nprogram = \"program.toml\"\nout = \"batches\"\nfirst_period = \"2026-10\"\n\n[inputs]\npartners = \"partners.csv\"\ndeals = \"deals.csv\"\nfx = \"fx.csv\"\npayments = \"payments.csv\"\napprovals = \"approvals.csv\"\n",
    );
    let output = work
        .payline()
        .args(["run", "--period", "2026-10"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let manifest = work.read("batches/2026-10/manifest.json");
    assert!(
        manifest.contains(&sha256_hex(PAYMENTS.as_bytes())),
        "{manifest}"
    );
    assert!(
        manifest.contains(&sha256_hex(APPROVALS.as_bytes())),
        "{manifest}"
    );
}

#[test]
fn inspect_reads_a_payments_file() {
    let work = case();
    payments_with(&work, "PAY-2,D1,,2026-10-05,abc,");
    let output = work
        .payline()
        .args([
            "inspect",
            "payments",
            "payments.csv",
            "--partners",
            "partners.csv",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("payments: payments.csv"), "{stdout}");
    assert!(stdout.contains("abc"), "{stdout}");
}

#[test]
fn payments_can_come_from_stdin() {
    let work = case();
    let output = work
        .payline()
        .args([
            "run",
            "--program",
            "program.toml",
            "--partners",
            "partners.csv",
        ])
        .args(["--deals", "deals.csv", "--fx", "fx.csv", "--payments", "-"])
        .args(["--period", "2026-10", "--out", "out"])
        .write_stdin(PAYMENTS)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let manifest: serde_json::Value =
        serde_json::from_str(&work.read("out/manifest.json")).unwrap();
    assert_eq!(manifest["inputs"]["payments"]["path"], "-");
}

#[test]
fn out_may_not_be_the_payments_file() {
    let work = case();
    let output = work
        .run_over(FILES, "2026-10", "payments.csv")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(work.read("payments.csv"), PAYMENTS);
}

/// paid_payments.csv travels down the chain like ledger.csv: the next batch copies the previous
/// one's records after verifying them against its manifest, and a record edited by hand is refused.
/// (The batch below is given its file by hand, with the manifest entry payline would write.)
#[test]
fn paid_payments_csv_is_carried_and_a_tampered_one_is_refused() {
    let work = case();
    let october = |out: &str| {
        let output = work.run_over(FILES, "2026-10", out).output().unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
    };
    october("oct");
    let records = "period,partner_id,rule_id,payment_id,deal_id,paid_on,amount,cash_part\n2026-10,P1,resale,PAY-1,D1,2026-10-05,600.00,600.00\n2026-10,P2,resale,PAY-1,D1,2026-10-05,600.00,600.00\n";
    let give = |text: &str| {
        work.write("oct/paid_payments.csv", text);
        let path = work.path("oct/manifest.json");
        let mut manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        manifest["outputs"]["paid_payments.csv"] = sha256_hex(records.as_bytes()).into();
        std::fs::write(&path, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    };
    give(records);
    let november = |out: &str| {
        work.run_over(FILES, "2026-11", out)
            .args(["--ledger", "oct"])
            .output()
            .unwrap()
    };
    let output = november("nov");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(work.read("nov/paid_payments.csv"), records);
    let manifest: serde_json::Value =
        serde_json::from_str(&work.read("nov/manifest.json")).unwrap();
    assert_eq!(
        manifest["outputs"]["paid_payments.csv"],
        sha256_hex(records.as_bytes())
    );
    assert_eq!(
        manifest["inputs"]["ledger_paid_payments"]["sha256"],
        sha256_hex(records.as_bytes())
    );
    // A cash part edited by hand: the manifest's SHA-256 no longer matches.
    give(&records.replace("600.00,600.00\n2026-10,P2", "600.00,999.00\n2026-10,P2"));
    let output = november("nov2");
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("paid_payments.csv: changed since payline wrote it"),
        "{stderr}"
    );
    assert!(!work.path("nov2").exists());
    // The file deleted while the manifest still lists it: the batch is incomplete.
    std::fs::remove_file(work.path("oct/paid_payments.csv")).unwrap();
    let output = november("nov3");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("paid_payments.csv: missing"), "{stderr}");
}

#[test]
fn a_reversed_amount_that_is_no_part_of_the_deal_is_refused() {
    let work = case();
    // Every bad reversed_amount at once: negative, zero, more than the amount, on a won row.
    work.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount,status,reversed_on,reversed_amount\n\
         D1,P1,2026-10-01,1000.00,refunded,2026-10-20,-1\n\
         D2,P1,2025-03-15,500.00,refunded,2026-10-20,0\n\
         D3,P2,2026-12-20,300.00,refunded,2026-12-21,300.01\n\
         D4,P2,2026-10-02,300.00,won,,100.00\n",
    );
    work.write("payments.csv", "payment_id,deal_id,paid_on,amount\n");
    work.write("approvals.csv", "deal_id,partner_id,decision,decided_on\n");
    refused(
        &work,
        "deals.csv",
        &[
            (2, "reversed_amount", "-1"),
            (3, "reversed_amount", "0"),
            (4, "reversed_amount", "300.01"),
            (5, "reversed_amount", "100.00"),
        ],
        &[
            "deals.csv:2: column `reversed_amount`: expected the part of the amount reversed: more than 0",
            "deals.csv:3: column `reversed_amount`: expected the part of the amount reversed: more than 0",
            "the reversed amount is more than the deal's amount 300.00",
            "a won deal has no reversed amount",
        ],
    );
}
