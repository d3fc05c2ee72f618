//! `payline diff` (golden text and JSON, the --max-increase gate) and `payline explain`.

mod common;

use assert_cmd::Command;
use common::{SAMPLE_DATA, repo as dir};
use predicates::prelude::*;

fn diff(extra: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("payline").unwrap();
    cmd.current_dir(dir("tests/diff")).args([
        "diff",
        "--base",
        "base.toml",
        "--head",
        "head.toml",
        "--partners",
        "partners.csv",
        "--deals",
        "deals.csv",
        "--period",
        "2026-10",
    ]);
    cmd.args(extra);
    cmd
}

#[test]
fn diff_text_matches_the_golden_report() {
    let want = std::fs::read_to_string(dir("tests/diff/expected.txt")).unwrap();
    diff(&[]).assert().success().stdout(want);
}

#[test]
fn diff_json_matches_the_golden_report_and_gates() {
    let want = std::fs::read_to_string(dir("tests/diff/expected.json")).unwrap();
    diff(&["--json", "--max-increase", "5%"])
        .assert()
        .code(3)
        .stdout(want);
}

#[test]
fn max_increase_gate_by_amount_and_percent() {
    // The head costs 200.00 (5.88%) more than the base.
    diff(&["--max-increase", "150"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("OVER LIMIT"));
    diff(&["--max-increase", "200"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("within --max-increase 200.00"));
    diff(&["--max-increase", "250.00"]).assert().code(0);
    diff(&["--max-increase", "5%"]).assert().code(3);
    diff(&["--max-increase", "6%"]).assert().code(0);
    diff(&["--max-increase", "lots"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("a percentage like 2.5%"));
}

#[test]
fn diff_top_and_all() {
    diff(&["--top", "1"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "(top 1 of 3 by absolute delta; --all for every one)",
        ))
        .stdout(predicate::str::contains("| B ").and(predicate::str::contains("| A ").not()));
    diff(&["--top", "1", "--all"])
        .assert()
        .success()
        .stdout(predicate::str::contains("| A "));
}

#[test]
fn diff_of_a_program_with_itself_changes_nothing() {
    let mut cmd = Command::cargo_bin("payline").unwrap();
    cmd.current_dir(dir(""))
        .args([
            "diff",
            "--base",
            "programs/mixed.toml",
            "--head",
            "programs/mixed.toml",
        ])
        .args(SAMPLE_DATA)
        .args(["--period", "2026-10", "--max-increase", "0"])
        .assert()
        .success()
        .stdout(predicate::str::contains("No partner's payout changed."));
}

fn explain(partner: &str) -> Command {
    let mut cmd = Command::cargo_bin("payline").unwrap();
    cmd.current_dir(dir(""))
        .args([
            "explain",
            "--partner",
            partner,
            "--program",
            "programs/mixed.toml",
        ])
        .args(SAMPLE_DATA)
        .args(["--period", "2026-09"]);
    cmd
}

#[test]
fn explain_a_paid_partner() {
    let out = explain("P004")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    for want in [
        "partner P004 · Delta VAR Inc · type var · region NA\n",
        "level gold (computed: revenue 183500.00 over the trailing 12 months)\n",
        "| 1 | reseller-tiers | tiered   | deal D1013",
        "tier 1 (5%) on 25000.00 + tier 2 (8%) on 17000.00 of 42000.00",
        "| subtotal | 3450.00 |",
        "| certification  | activity | activity certification",
        // Without --ledger the fund starts empty: 2500.00 allocated, the 4000.00 claim partly paid.
        "claim 4000.00 on fund mdf: 2500.00 available (carried 0.00, allocated 2500.00); 1500.00 unpaid",
        "earned 6350.00 · clawed back 0.00 · carried in 0.00 · balance 6350.00\npaid 6350.00 · carried out 0.00\n",
        "status: paid — paid 6350.00, due 2026-10-30\n",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    // It fits a 100-column terminal: long notes are stacked under the table and wrapped.
    for line in text.lines() {
        assert!(
            line.chars().count() <= 100,
            "{} columns: {line}",
            line.chars().count()
        );
    }
}

#[test]
fn explain_a_held_partner_says_why() {
    explain("P005")
        .assert()
        .success()
        .stdout(predicate::str::contains("flat 150.00 per deal"))
        .stdout(predicate::str::contains(
            "status: held — held: KYC is not verified and the program requires it; balance 150.00 carried",
        ));
}

#[test]
fn explain_a_partner_below_minimum_and_an_unknown_one() {
    let mut cmd = Command::cargo_bin("payline").unwrap();
    cmd.current_dir(dir(""))
        .args(["explain", "--partner", "P002", "--program", "programs/mixed.toml"])
        .args(["--partners", "fixtures/partners.csv", "--deals", "fixtures/deals.csv", "--fx", "fixtures/fx.csv"])
        .args(["--period", "2026-08"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "status: below-minimum — balance 80.00 is below the payout minimum 100.00: carried to the next period",
        ));
    explain("NOPE")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "partner NOPE is not in the partners file",
        ));
}

/// `diff` reads deals.csv once with one plan for both programs: with programs that need different
/// history (a levels window of 12 vs 3 months, a milestone counting different deals, growth on one
/// side only), its totals must equal two separate runs'.
#[test]
fn diff_with_different_history_needs_equals_two_separate_runs() {
    let work = common::Workdir::new();
    let mixed = std::fs::read_to_string(dir("programs/mixed.toml")).unwrap();
    let growth = mixed
        .find("[[rules]]\nid = \"growth-kicker\"")
        .expect("the sample program has a growth rule");
    let end = growth + mixed[growth..].find("\n\n").unwrap();
    let base = format!("{}{}", &mixed[..growth], &mixed[end + 2..]);
    let head = mixed
        .replace("window_months = 12", "window_months = 3")
        .replace(
            "nth_deal = 2\namount = \"300.00\"\nwhen = { partner_type = [\"referral\", \"agency\"] }",
            "nth_deal = 2\namount = \"300.00\"\nwhen = { partner_type = [\"referral\", \"agency\"], product = [\"platform\"] }",
        );
    assert_ne!(head, mixed, "the head program changed");
    work.write("base.toml", &base);
    work.write("head.toml", &head);
    let data: Vec<String> = SAMPLE_DATA
        .iter()
        .map(|a| {
            if a.starts_with("fixtures/") {
                dir(a).display().to_string()
            } else {
                a.to_string()
            }
        })
        .collect();
    let earned = |program: &str| -> String {
        let out = work
            .payline()
            .args(["run", "--program", program, "--period", "2026-10", "--json"])
            .args(&data)
            .args(["--out", &format!("out-{program}")])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        summary["kpis"]["earned"].as_str().unwrap().to_string()
    };
    let out = work
        .payline()
        .args(["diff", "--base", "base.toml", "--head", "head.toml"])
        .args(["--period", "2026-10", "--json"])
        .args(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["total"]["base"], earned("base.toml"));
    assert_eq!(report["total"]["head"], earned("head.toml"));
    assert_ne!(report["total"]["base"], report["total"]["head"]);
}

#[test]
fn explain_json_gives_the_partners_lines_and_payout() {
    let out = Command::cargo_bin("payline")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "explain",
            "--partner",
            "P003",
            "--program",
            "programs/mixed.toml",
        ])
        .args([
            "--partners",
            "fixtures/partners.csv",
            "--deals",
            "fixtures/deals.csv",
        ])
        .args([
            "--fx",
            "fixtures/fx.csv",
            "--activities",
            "fixtures/activities.csv",
        ])
        .args([
            "--claims",
            "fixtures/claims.csv",
            "--period",
            "2026-10",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["partner_id"], "P003");
    assert_eq!(v["payout"]["status"], "paid");
    // Money is exact strings; the payout-account lines that are earnings add up to `earned`.
    let earned: rust_decimal::Decimal = v["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["account"] == "payout" && l["kind"] != "payout")
        .map(|l| {
            l["amount"]
                .as_str()
                .unwrap()
                .parse::<rust_decimal::Decimal>()
                .unwrap()
        })
        .sum();
    assert_eq!(earned.to_string(), v["payout"]["earned"].as_str().unwrap());
    assert!(
        v["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["source_id"] == "D1021" && l["amount"] == "2206.80")
    );
}

/// Display columns of a line as a terminal draws it: East Asian wide characters take two.
fn columns(line: &str) -> usize {
    line.chars()
        .map(|c| match u32::from(c) {
            0x1100..=0x115F
            | 0x2E80..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFF00..=0xFF60 => 2,
            _ => 1,
        })
        .sum()
}

/// `payline explain --partner PARTNER` for October over a program, partners.csv and deals.csv
/// written to a scratch directory; its output.
fn explain_of(program: &str, partners: &str, deals: &str, partner: &str) -> String {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    for (name, text) in [
        ("p.toml", program),
        ("partners.csv", partners),
        ("deals.csv", deals),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let out = Command::cargo_bin("payline")
        .unwrap()
        .current_dir(dir)
        .args(["explain", "--partner", partner, "--program", "p.toml"])
        .args(["--partners", "partners.csv", "--deals", "deals.csv"])
        .args(["--period", "2026-10"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn explain_fits_100_columns_with_a_long_program_id_and_a_japanese_name() {
    // A cold review: the `program … · period …` line was never wrapped (119 columns with a
    // 68-character id), and a Japanese partner name was wrapped by characters (134 columns).
    let id = "long-program-identifier-for-the-fiscal-year-2026-partner-incentives";
    let text = explain_of(
        &format!(
            "[program]\nid = \"{id}\"\nname = \"P\"\ncurrency = \"USD\"\n\n[[rules]]\nid = \"r\"\nkind = \"flat\"\namount = \"10\"\n"
        ),
        "partner_id,name,type\nJ1,株式会社グローバルパートナーシップソリューションズ東日本支社営業本部第二課,reseller\n",
        "deal_id,partner_id,closed_on,amount\nD1,J1,2026-10-01,1.00\n",
        "J1",
    );
    assert!(text.contains(id), "{text}");
    for line in text.lines() {
        assert!(columns(line) <= 100, "{} columns: {line}", columns(line));
    }
}

#[test]
fn explain_never_breaks_a_number_across_lines() {
    // A cold review: at extreme magnitudes the table wrapped `462962958796296|.30` over two lines.
    // 3.75 % of 12,345,678,901,234,567.89 = 462,962,958,796,296.295… → 462962958796296.30 (rounded
    // half away from zero); of 98,765,432,109,876,543.21 → 3,703,703,704,120,370.370… → …370.37;
    // subtotal 4166666662916666.67.
    let text = explain_of(
        "[program]\nid = \"p\"\nname = \"P\"\ncurrency = \"USD\"\n\n[[rules]]\nid = \"reseller-platform-commission-with-a-long-name\"\nkind = \"percent\"\nrate = \"0.0375\"\n",
        "partner_id,name,type\nP1,Acme,reseller\n",
        "deal_id,partner_id,closed_on,amount\nDEAL-2026-000000000001-VERY-LONG-IDENTIFIER,P1,2026-10-01,12345678901234567.89\nD2,P1,2026-10-02,98765432109876543.21\n",
        "P1",
    );
    let table_rows: Vec<&str> = text.lines().filter(|l| l.starts_with('|')).collect();
    for number in [
        "12345678901234567.89",
        "462962958796296.30",
        "98765432109876543.21",
        "3703703704120370.37",
        "4166666662916666.67",
    ] {
        assert!(
            table_rows.iter().any(|l| l.contains(number)),
            "{number} is not whole on one line:\n{text}"
        );
    }
    for line in text.lines() {
        assert!(columns(line) <= 100, "{} columns: {line}", columns(line));
    }
}
