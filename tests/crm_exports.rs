//! CSV files as CRM and spreadsheet exports come: headers in other cases and spellings (`Deal ID`),
//! a byte-order mark, CRLF line endings, Excel's trailing rows of empty cells, a report's totals
//! footer, and several missing columns at once.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

const PROGRAM: &str = "[program]\nid = \"p\"\nname = \"P\"\ncurrency = \"USD\"\n\n[[rules]]\nid = \"r\"\nkind = \"percent\"\nrate = \"0.10\"\n";

struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Case {
        let case = Case {
            dir: tempfile::tempdir().unwrap(),
        };
        case.write("p.toml", PROGRAM.as_bytes());
        case.write(
            "partners.csv",
            b"\xef\xbb\xbfPartner ID,Name,TYPE\r\nP1,One,reseller\r\nP2,Two,reseller\r\n",
        );
        case
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, deals: &str) -> std::process::Output {
        let deals = self.write("deals.csv", deals.as_bytes());
        self.command(&self.path("partners.csv"), &deals)
            .output()
            .unwrap()
    }

    /// `payline run` of the case's program for October into `out`, the other options to add.
    fn command(&self, partners: &Path, deals: &Path) -> Command {
        let mut cmd = Command::cargo_bin("payline").unwrap();
        cmd.arg("run")
            .arg("--program")
            .arg(self.path("p.toml"))
            .arg("--partners")
            .arg(partners)
            .arg("--deals")
            .arg(deals)
            .args(["--period", "2026-10", "--out"])
            .arg(self.path("out"));
        cmd
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn a_salesforce_style_export_runs_as_is() {
    let case = Case::new();
    let output = case.run(
        "\u{feff}Deal ID,Partner ID,Closed On,Amount,Customer Type\r\n\
         D1,P1,2026-10-01,1000.00,new\r\n\
         D2,P2,2026-10-02,2500.00,expansion\r\n\
         ,,,,\r\n\
         ,,,,\r\n",
    );
    assert!(output.status.success(), "{output:?}");
    let lines = read(&case.path("out/lines.csv"));
    assert!(
        lines.contains("2026-10,P1,payout,r,percent,deal,D1,1000.00,0.1,100.00,"),
        "{lines}"
    );
    assert!(
        lines.contains("2026-10,P2,payout,r,percent,deal,D2,2500.00,0.1,250.00,"),
        "{lines}"
    );
    // The empty rows are not data: the manifest counts two deal rows.
    let manifest: serde_json::Value =
        serde_json::from_str(&read(&case.path("out/manifest.json"))).unwrap();
    assert_eq!(manifest["inputs"]["deals"]["rows"], 2, "{manifest}");
}

#[test]
fn a_totals_footer_at_the_end_is_skipped_and_named_elsewhere_it_is_refused() {
    let case = Case::new();
    let output = case.run(
        "Deal ID,Partner ID,Closed On,Amount\r\nD1,P1,2026-10-01,1000.00\r\nGrand Totals,,,1000.00\r\n,,,\r\n",
    );
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("deals.csv:3: the last row `Grand Totals,,,1000.00` is a report's totals row, not data: skipped"),
        "{stdout}"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&read(&case.path("out/manifest.json"))).unwrap();
    assert_eq!(manifest["inputs"]["deals"]["rows"], 1, "{manifest}");
    // A totals row that is not the last row is data gone wrong: refused, with the hint.
    let case = Case::new();
    let output = case.run(
        "Deal ID,Partner ID,Closed On,Amount\nD1,P1,2026-10-01,1000.00\nTotal,,,1000.00\nD2,P2,2026-10-02,5.00\n",
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("deals.csv:3: column `partner_id`: a value is required; this row looks like a report's totals row"),
        "{stderr}"
    );
}

#[test]
fn every_missing_column_is_named_at_once() {
    let case = Case::new();
    let output = case.run("Deal ID,Amount\r\nD1,1000.00\r\n");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("deals.csv:1: column `partner_id, closed_on`: 2 required columns are missing from the header (value: `Deal ID,Amount`)"),
        "{stderr}"
    );
}

#[test]
fn an_exact_header_wins_and_two_loose_ones_are_refused() {
    let case = Case::new();
    // `deal_id` is there exactly: `Deal ID` is just another column.
    let output =
        case.run("deal_id,Deal ID,partner_id,closed_on,amount\nD1,X9,P1,2026-10-01,1.00\n");
    assert!(output.status.success(), "{output:?}");
    assert!(read(&case.path("out/lines.csv")).contains(",deal,D1,"));
    // Two headers that could each be `deal_id`, and none exactly: refused.
    let case = Case::new();
    let output =
        case.run("Deal ID,deal-id,partner_id,closed_on,amount\nD1,D1,P1,2026-10-01,1.00\n");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the headers `Deal ID` and `deal-id` could each be `deal_id`"),
        "{stderr}"
    );
}

#[test]
fn a_header_matched_loosely_is_named_in_a_warning() {
    let case = Case::new();
    let deals = case.write(
        "deals.csv",
        b"deal_id,partner_id,Closed On,amount\nD1,P1,2026-10-01,1.00\n",
    );
    let output = case
        .command(&case.path("partners.csv"), &deals)
        .arg("--json")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("\"code\": \"header-matched-loosely\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("header `Closed On` is read as column `closed_on`"),
        "{stdout}"
    );
    // partners.csv's `Partner ID` and `TYPE` too.
    assert!(
        stdout.contains("header `Partner ID` is read as column `partner_id`"),
        "{stdout}"
    );
}

#[test]
fn deals_can_come_from_stdin_and_are_named_dash() {
    let case = Case::new();
    let output = case
        .command(&case.path("partners.csv"), Path::new("-"))
        .write_stdin("deal_id,partner_id,Closed On,amount\nD1,P1,2026-10-01,1000.00\n")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    // Warnings name it `-` too, never its temporary copy.
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("- -: header `Closed On` is read as column `closed_on`"),
        "{stdout}"
    );
    assert!(!stdout.contains("payline-stdin"), "{stdout}");
    let manifest: serde_json::Value =
        serde_json::from_str(&read(&case.path("out/manifest.json"))).unwrap();
    assert_eq!(manifest["inputs"]["deals"]["path"], "-", "{manifest}");
    assert_eq!(manifest["inputs"]["deals"]["rows"], 1, "{manifest}");
    // An error in it names `-` and the line.
    let case = Case::new();
    let output = case
        .command(&case.path("partners.csv"), Path::new("-"))
        .write_stdin("deal_id,partner_id,closed_on,amount\nD1,P1,2026-10-01,x\n")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).starts_with("error: -:2: column `amount`"),
        "{output:?}"
    );
}

#[test]
fn only_one_input_can_come_from_stdin() {
    let case = Case::new();
    let output = Command::cargo_bin("payline")
        .unwrap()
        .arg("run")
        .arg("--program")
        .arg(case.path("p.toml"))
        .args([
            "--partners",
            "-",
            "--deals",
            "-",
            "--period",
            "2026-10",
            "--out",
        ])
        .arg(case.path("out"))
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: only one input can come from stdin (`-`), but --partners and --deals do\n"
    );
    assert!(!case.path("out").exists());
}

#[test]
fn a_semicolon_separated_export_gets_a_hint() {
    let case = Case::new();
    let output = case.run("deal_id;partner_id;closed_on;amount\r\nD1;P1;2026-10-01;1000,00\r\n");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the file looks `;`-separated; pass --delimiter deals=';'"),
        "{stderr}"
    );
}

/// Issue 12's "done": a raw Salesforce-style export (BOM, CRLF, `;`, its own headers, an empty row and
/// a totals footer) runs with only a column map — today's `--columns` form of an import map, which
/// (issue 19) must read the export's `Stage` too.
#[test]
fn a_column_map_and_a_delimiter_read_a_raw_salesforce_export() {
    let case = Case::new();
    case.write(
        "map.toml",
        b"# the header names of our Salesforce opportunity report\n[deals]\ndelimiter = \";\"\ndeal_id = \"Opportunity ID\"\npartner_id = \"Partner Account\"\nclosed_on = \"Close Date\"\namount = \"Amount (converted)\"\nstatus = \"Stage\"\n\n[deals.values.status]\n\"Closed Won\" = \"won\"\n",
    );
    let deals = case.write(
        "opportunities.csv",
        "\u{feff}Opportunity ID;Partner Account;Close Date;Amount (converted);Stage\r\n006A;P1;2026-10-03;1200.00;Closed Won\r\n;;;;\r\nGrand Totals;;;1200.00;\r\n".as_bytes(),
    );
    let output = case
        .command(&case.path("partners.csv"), &deals)
        .arg("--columns")
        .arg(case.path("map.toml"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let lines = read(&case.path("out/lines.csv"));
    assert!(
        lines.contains("2026-10,P1,payout,r,percent,deal,006A,1200.00,0.1,120.00,"),
        "{lines}"
    );
}

#[test]
fn a_column_map_naming_a_header_the_file_lacks_is_refused() {
    let case = Case::new();
    case.write("map.toml", b"[deals]\ndeal_id = \"Opportunity ID\"\n");
    let deals = case.write(
        "deals.csv",
        b"Deal ID,Partner ID,Closed On,Amount\nD1,P1,2026-10-01,1.00\n",
    );
    let output = case
        .command(&case.path("partners.csv"), &deals)
        .arg("--columns")
        .arg(case.path("map.toml"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("column `deal_id`: --columns ")
            && stderr.contains(
                "maps `deal_id` to the header `Opportunity ID`, which this file does not have"
            ),
        "{stderr}"
    );
}

#[test]
fn a_semicolon_delimiter_applies_to_every_input() {
    let case = Case::new();
    case.write("partners.csv", b"partner_id;name;type\nP1;One;reseller\n");
    let deals = case.write(
        "deals.csv",
        b"deal_id;partner_id;closed_on;amount\nD1;P1;2026-10-01;10.00\n",
    );
    let output = case
        .command(&case.path("partners.csv"), &deals)
        .args(["--delimiter", ";"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(read(&case.path("out/lines.csv")).contains(",D1,10.00,0.1,1.00,"));
}

#[test]
fn a_last_deal_whose_id_reads_total_is_a_deal() {
    let case = Case::new();
    // Every key cell is filled: this is a deal, not a totals row.
    let output = case.run(
        "deal_id,partner_id,closed_on,amount\nD1,P1,2026-10-01,5.00\nTotal,P1,2026-10-02,7.00\n",
    );
    assert!(output.status.success(), "{output:?}");
    assert!(read(&case.path("out/lines.csv")).contains(",deal,Total,7.00,"));
    assert!(!String::from_utf8_lossy(&output.stdout).contains("totals row"));
}
