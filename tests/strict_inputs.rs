//! Strict input syntax, partner_id rules and spreadsheet safety (SPEC §2, §7), through the binary:
//! every refused form exits 1 naming file:line, column and value and leaves no --out behind; files
//! people open get a leading `'` on formula-like text while machine files keep values exactly.

mod common;

use common::{ALL_FILES, Workdir};

use assert_cmd::Command;

const PROGRAM: &str = r#"[program]
id = "strict"
name = "Strict inputs test program"
currency = "USD"

[[rules]]
id = "commission"
kind = "percent"
rate = "0.10"

[[rules]]
id = "certification"
kind = "activity"
activity = "certification"
amount = "250.00"

[[rules]]
id = "mdf"
kind = "fund"
allocation = "500.00"
"#;

const PARTNERS: &str = "partner_id,name,type,quota\nP1,One,reseller,1000.00\nP2,Two,reseller,\n";
const DEALS: &str = "deal_id,partner_id,closed_on,amount,share\nD1,P1,2026-10-01,1000.00,1\nD2,P2,2026-10-02,500.00,0.5\n";
const ACTIVITIES: &str =
    "partner_id,activity,occurred_on,quantity\nP1,certification,2026-10-03,2\n";
const CLAIMS: &str =
    "claim_id,partner_id,fund,amount,status,decided_on\nC1,P1,mdf,100.00,approved,2026-10-04\n";
const FX: &str = "date,currency,rate\n2026-01-01,EUR,1.08\n";

/// A directory holding a valid program and inputs; each test breaks one cell.
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
        case.write("activities.csv", ACTIVITIES);
        case.write("claims.csv", CLAIMS);
        case.write("fx.csv", FX);
        case
    }

    fn run(&self, period: &str, out: &str, extra: &[&str]) -> Command {
        let mut cmd = self.work.run_over(ALL_FILES, period, out);
        cmd.args(extra);
        cmd
    }

    /// Expects exit 1 with every fragment in stderr, and no output directory.
    fn fails_with(&self, fragments: &[&str]) {
        let assert = self.run("2026-10", "out", &[]).assert().code(1);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        for f in fragments {
            assert!(stderr.contains(f), "stderr lacks {f:?}:\n{stderr}");
        }
        assert!(!self.work.path("out").exists(), "a refused run wrote --out");
    }
}

/// Writes `deals.csv` with one row whose amount cell is `amount` (as raw CSV text) and expects the run
/// to be refused on line 2, column `amount`, quoting `shown`.
fn refuses_deal_amount(amount: &str, shown: &str, extra: &[&str]) {
    let case = Case::new();
    case.write(
        "deals.csv",
        &format!("deal_id,partner_id,closed_on,amount\nD1,P1,2026-10-01,{amount}\n"),
    );
    let value = format!("(value: `{shown}`)");
    let mut fragments = vec!["deals.csv:2:", "column `amount`", "plain decimal", &value];
    fragments.extend_from_slice(extra);
    case.fails_with(&fragments);
}

#[test]
fn the_sample_case_itself_runs() {
    let case = Case::new();
    case.run("2026-10", "out", &[]).assert().success();
}

#[test]
fn amount_with_leading_plus_is_refused() {
    refuses_deal_amount("+5", "+5", &[]);
}

#[test]
fn amount_without_digits_before_the_point_is_refused() {
    refuses_deal_amount(".5", ".5", &[]);
}

#[test]
fn amount_without_digits_after_the_point_is_refused() {
    refuses_deal_amount("5.", "5.", &[]);
}

#[test]
fn amount_padded_with_a_no_break_space_is_refused() {
    refuses_deal_amount("\u{a0}5.00", "\u{a0}5.00", &["no-break space (U+00A0)"]);
    refuses_deal_amount("5.00\u{a0}", "5.00\u{a0}", &["no-break space (U+00A0)"]);
}

#[test]
fn amount_padded_with_a_tab_is_refused() {
    refuses_deal_amount("\"\t5.00\"", "\t5.00", &["a tab (U+0009)"]);
}

#[test]
fn amount_padded_with_spaces_is_refused() {
    // A legitimately padded export cell is refused too: strict, and the message says why.
    refuses_deal_amount(" 1250.10", " 1250.10", &["a space (U+0020)"]);
    refuses_deal_amount("1250.10 ", "1250.10 ", &["a space (U+0020)"]);
}

#[test]
fn amount_with_exponent_or_thousands_separator_is_refused() {
    refuses_deal_amount("1e3", "1e3", &[]);
    refuses_deal_amount("\"1,250.10\"", "1,250.10", &[]);
}

#[test]
fn share_quota_claim_and_fx_numbers_are_strict_too() {
    let case = Case::new();
    case.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount,share\nD1,P1,2026-10-01,1000.00,.5\n",
    );
    case.fails_with(&["deals.csv:2:", "column `share`", "(value: `.5`)"]);

    let case = Case::new();
    case.write(
        "partners.csv",
        "partner_id,name,type,quota\nP1,One,reseller,+1000\n",
    );
    case.fails_with(&["partners.csv:2:", "column `quota`", "(value: `+1000`)"]);

    let case = Case::new();
    case.write(
        "claims.csv",
        "claim_id,partner_id,fund,amount,status,decided_on\nC1,P1,mdf,100.,approved,2026-10-04\n",
    );
    case.fails_with(&["claims.csv:2:", "column `amount`", "(value: `100.`)"]);

    let case = Case::new();
    case.write("fx.csv", "date,currency,rate\n2026-01-01,EUR, 1.08\n");
    case.fails_with(&["fx.csv:2:", "column `rate`", "(value: ` 1.08`)"]);
}

#[test]
fn a_blank_optional_number_cell_is_still_absent() {
    let case = Case::new();
    case.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount,share\nD1,P1,2026-10-01,1000.00, \n",
    );
    case.write(
        "activities.csv",
        "partner_id,activity,occurred_on,quantity\nP1,certification,2026-10-03,\n",
    );
    case.run("2026-10", "out", &[]).assert().success();
}

#[test]
fn quantity_with_leading_plus_is_refused() {
    let case = Case::new();
    case.write(
        "activities.csv",
        "partner_id,activity,occurred_on,quantity\nP1,certification,2026-10-03,+3\n",
    );
    case.fails_with(&[
        "activities.csv:2:",
        "column `quantity`",
        "plain whole number",
        "(value: `+3`)",
    ]);
}

#[test]
fn quantity_too_large_for_u64_is_refused_not_wrapped() {
    let case = Case::new();
    case.write(
        "activities.csv",
        "partner_id,activity,occurred_on,quantity\nP1,certification,2026-10-03,18446744073709551616\n",
    );
    case.fails_with(&[
        "activities.csv:2:",
        "column `quantity`",
        "too large",
        "(value: `18446744073709551616`)",
    ]);
}

#[test]
fn quantity_padded_or_zero_is_refused() {
    for (cell, shown, why) in [
        ("\" 3\"", " 3", "plain whole number"),
        ("3.0", "3.0", "plain whole number"),
        ("0", "0", "at least 1"),
    ] {
        let case = Case::new();
        case.write(
            "activities.csv",
            &format!(
                "partner_id,activity,occurred_on,quantity\nP1,certification,2026-10-03,{cell}\n"
            ),
        );
        let value = format!("(value: `{shown}`)");
        case.fails_with(&["activities.csv:2:", "column `quantity`", why, &value]);
    }
}

#[test]
fn partner_id_of_65_characters_is_refused() {
    let case = Case::new();
    let id = "P".repeat(65);
    case.write(
        "partners.csv",
        &format!("partner_id,name,type\nP1,One,reseller\n{id},Long,reseller\n"),
    );
    let value = format!("(value: `{id}`)");
    case.fails_with(&[
        "partners.csv:3:",
        "column `partner_id`",
        "at most 64 characters",
        &value,
    ]);
}

#[test]
fn partner_id_of_64_characters_is_accepted() {
    let case = Case::new();
    let id = "P".repeat(64);
    case.write(
        "partners.csv",
        &format!("partner_id,name,type\nP1,One,reseller\nP2,Two,reseller\n{id},Long,reseller\n"),
    );
    case.run("2026-10", "out", &[]).assert().success();
}

#[test]
fn partner_id_with_a_slash_is_refused() {
    let case = Case::new();
    case.write(
        "partners.csv",
        "partner_id,name,type\nP1,One,reseller\n../P2,Two,reseller\n",
    );
    case.fails_with(&[
        "partners.csv:3:",
        "column `partner_id`",
        "may not contain `/`",
        "(value: `../P2`)",
    ]);
}

#[test]
fn partner_id_with_a_backslash_is_refused() {
    let case = Case::new();
    case.write(
        "partners.csv",
        "partner_id,name,type\nP1,One,reseller\nP\\2,Two,reseller\n",
    );
    case.fails_with(&[
        "partners.csv:3:",
        "column `partner_id`",
        "may not contain `\\`",
    ]);
}

#[test]
fn partner_id_with_a_control_character_is_refused() {
    let case = Case::new();
    case.write(
        "partners.csv",
        "partner_id,name,type\nP1,One,reseller\nP\u{7}2,Two,reseller\n",
    );
    case.fails_with(&[
        "partners.csv:3:",
        "column `partner_id`",
        "control characters",
        "U+0007",
        "(value: `P\u{7}2`)",
    ]);
}

#[test]
fn partner_ids_differing_only_in_case_are_refused() {
    let case = Case::new();
    case.write(
        "partners.csv",
        "partner_id,name,type\nP001,One,reseller\nP1,Other,reseller\np001,Two,reseller\n",
    );
    case.fails_with(&[
        "partners.csv:4:",
        "column `partner_id`",
        "(value: `p001`)",
        "`P001` (line 2)",
        "only in letter case",
    ]);
}

/// A partner whose id, name and type look like formulas, with a deal paid in September and refunded
/// in October: the October run claws it back, so its statement holds a negative amount.
fn formula_case() -> Case {
    let case = Case::new();
    case.write(
        "partners.csv",
        "partner_id,name,type,level\n-P1,\"=HYPERLINK(\"\"x\"\")\",+cmd,@gold\nP2,Two,reseller,\n",
    );
    case.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount,status,reversed_on\nD1,-P1,2026-09-10,16500.00,refunded,2026-10-05\nD2,P2,2026-10-02,500.00,,\n",
    );
    case.write(
        "activities.csv",
        "partner_id,activity,occurred_on,quantity\n",
    );
    case.write(
        "claims.csv",
        "claim_id,partner_id,fund,amount,status,decided_on\n",
    );
    case.run("2026-09", "september", &[]).assert().success();
    case.run(
        "2026-10",
        "october",
        &["--ledger", "september", "--statements"],
    )
    .assert()
    .success();
    case
}

#[test]
fn formula_like_partner_text_gets_a_leading_quote_in_payouts_csv() {
    let case = formula_case();
    let mut reader = csv::Reader::from_path(case.path("october/payouts.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let row = rows
        .iter()
        .find(|r| &r[col("partner_id")] == "-P1")
        .unwrap();
    assert_eq!(&row[col("partner_name")], "'=HYPERLINK(\"x\")");
    assert_eq!(&row[col("partner_type")], "'+cmd");
    assert_eq!(&row[col("level")], "'@gold");
    // Money columns stay numbers.
    assert!(!row[col("clawed_back")].starts_with('\''));
    let other = rows.iter().find(|r| &r[col("partner_id")] == "P2").unwrap();
    assert_eq!(&other[col("partner_name")], "Two");
    assert_eq!(&other[col("partner_type")], "reseller");
}

#[test]
fn formula_like_text_gets_a_leading_quote_in_the_statement_but_amounts_stay_numbers() {
    let case = formula_case();
    let text = case.read("october/statements/-P1.csv");
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    let partner = rows.iter().find(|r| &r[0] == "partner").unwrap();
    assert_eq!(&partner[1], "'-P1", "{text}");
    assert!(partner[3].starts_with("'=HYPERLINK(\"x\")"), "{text}");
    assert!(partner[3].contains("+cmd"), "{text}");
    let clawback = rows
        .iter()
        .find(|r| &r[0] == "line" && &r[4] == "-1650.00")
        .unwrap_or_else(|| panic!("no -1650.00 clawback line:\n{text}"));
    assert_eq!(&clawback[2], "D1");
    for r in &rows {
        assert!(!r[4].starts_with('\''), "amount cell quoted: {r:?}");
        for cell in r.iter().take(4) {
            if let Some(c) = cell.chars().next() {
                assert!(
                    !"=+-@\t\r".contains(c),
                    "unquoted text cell {cell:?} in {r:?}"
                );
            }
        }
    }
}

#[test]
fn machine_files_keep_partner_values_exactly() {
    let case = formula_case();
    for file in [
        "october/lines.csv",
        "october/ledger.csv",
        "october/balances.csv",
    ] {
        let text = case.read(file);
        assert!(!text.contains('\''), "{file} has a quote:\n{text}");
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader.headers().unwrap().clone();
        let col = headers.iter().position(|h| h == "partner_id").unwrap();
        let ids: Vec<String> = reader
            .records()
            .map(|r| r.unwrap()[col].to_string())
            .collect();
        assert!(ids.iter().any(|id| id == "-P1"), "{file}: {ids:?}");
    }
    let lines = case.read("october/lines.csv");
    assert!(lines.contains(",-1650.00,"), "{lines}");
}
