//! `payline check`: a catalogue of broken programs, one per error and lint, each asserting the exact
//! `file:line:column` reported.

use assert_cmd::Command;
use tempfile::TempDir;

const HEAD: &str = "[program]\nid = \"p\"\nname = \"P\"\ncurrency = \"USD\"\n";

/// Writes `body` after a valid [program] header (4 lines), runs check, returns (exit code, stdout).
fn check(body: &str, extra: &[&str]) -> (i32, String, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.toml"), format!("{HEAD}{body}")).unwrap();
    let out = Command::cargo_bin("payline")
        .unwrap()
        .current_dir(dir.path())
        .arg("check")
        .arg("p.toml")
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        dir,
    )
}

fn assert_reports(body: &str, expected: &[&str]) {
    let (code, stdout, _dir) = check(body, &[]);
    assert_eq!(code, 1, "errors exit 1:\n{stdout}");
    for e in expected {
        assert!(stdout.contains(e), "missing {e:?} in:\n{stdout}");
    }
}

#[test]
fn invalid_toml_syntax() {
    assert_reports(
        "\n[[rules]]\nid = \"a\nkind = \"flat\"\n",
        &[
            "p.toml:7:8: error: invalid TOML: invalid basic string",
            "7 | id = \"a",
        ],
    );
}

#[test]
fn unknown_keys_at_every_level() {
    assert_reports(
        "colour = 1\n",
        &["p.toml:5:1: error: unknown key `program.colour`"],
    );
    assert_reports(
        "\n[colours]\n",
        &[
            "p.toml:6:2: error: unknown key `colours`; expected one of: program, payout, budget, levels, nudges, rules",
        ],
    );
    assert_reports(
        "\n[[rules]]\nid = \"a\"\nkind = \"flat\"\namount = \"1\"\namout = \"2\"\n",
        &[
            "p.toml:10:1: error: unknown key `rules[0].amout`; expected one of: id, kind, when, cap, amount, modifiers",
        ],
    );
    assert_reports(
        "\n[[rules]]\nid = \"a\"\nkind = \"flat\"\namount = \"1\"\nwhen = { partner_typ = [\"x\"] }\n",
        &["p.toml:10:10: error: unknown key `rules[0].when.partner_typ`"],
    );
    assert_reports(
        "\n[payout]\nminimun = \"1\"\n",
        &["p.toml:7:1: error: unknown key `payout.minimun`"],
    );
}

#[test]
fn wrong_types_and_bad_decimals() {
    assert_reports(
        "\n[[rules]]\nid = \"a\"\nkind = \"percent\"\nrate = true\n",
        &[
            "p.toml:9:8: error: `rules[0].rate` must be a decimal like \"1250.00\" or \"0.08\" (below 10^20), found true",
        ],
    );
    assert_reports(
        "\n[[rules]]\nid = \"a\"\nkind = \"percent\"\nrate = \"8%\"\n",
        &[
            "p.toml:9:8: error: `rules[0].rate` must be a decimal",
            "found \"8%\"",
        ],
    );
    assert_reports(
        "\n[payout]\nterms_days = \"30\"\n",
        &["p.toml:7:14: error: `payout.terms_days` must be a whole number"],
    );
    assert_reports(
        "\n[payout]\nminimum = \"-5\"\n",
        &["p.toml:7:11: error: `payout.minimum` must be zero or more"],
    );
    assert_reports(
        "\n[[rules]]\nid = \"a\"\nkind = \"percent\"\nrate = \"8\"\n\n[[rules.modifiers]]\nmultiplier = \"5000\"\n",
        &[
            "p.toml:12:14: error: `rules[0].modifiers[0].multiplier` must be at most 1000, found 5000",
        ],
    );
}

#[test]
fn tiers_must_start_at_zero_and_ascend() {
    let tiered = |tiers: &str| {
        format!(
            "\n[[rules]]\nid = \"t\"\nkind = \"tiered\"\nmode = \"marginal\"\ntiers = [\n{tiers}\n]\n"
        )
    };
    assert_reports(
        &tiered(
            "  { from = \"0\", rate = \"0.05\" },\n  { from = \"5000\", rate = \"0.06\" },\n  { from = \"5000\", rate = \"0.07\" },",
        ),
        &[
            "p.toml:13:3: error: tiers of `rules[0].tiers` must ascend: tier 3 starts at 5000 after 5000",
        ],
    );
    assert_reports(
        &tiered("  { from = \"100\", rate = \"0.05\" },"),
        &[
            "p.toml:11:3: error: the first tier of `rules[0].tiers` must start at from = 0, found 100",
        ],
    );
    assert_reports(
        &tiered("  { from = \"0\", amount = \"5\" },"),
        &[
            "p.toml:11:17: error: unknown key `rules[0].tiers[0].amount`; expected one of: from, rate",
        ],
    );
}

#[test]
fn rule_ids_kinds_and_required_keys() {
    assert_reports(
        "\n[[rules]]\nid = \"a\"\nkind = \"flat\"\namount = \"1\"\n\n[[rules]]\nid = \"a\"\nkind = \"flat\"\namount = \"2\"\n",
        &["p.toml:12:6: error: duplicate rule id `a` (first defined at line 7)"],
    );
    assert_reports(
        "\n[[rules]]\nid = \"Big_Rule\"\nkind = \"flat\"\namount = \"1\"\n",
        &["p.toml:7:6: error: rule id \"Big_Rule\" must use only a-z, 0-9 and -"],
    );
    assert_reports(
        "\n[[rules]]\nid = \"a\"\nkind = \"bonus\"\n",
        &["p.toml:8:8: error: unknown rule kind \"bonus\""],
    );
    assert_reports(
        "\n[[rules]]\nid = \"a\"\nkind = \"percent\"\n",
        &["p.toml:6:1: error: missing required key `rules[0].rate`"],
    );
    assert_reports(
        "\n[[rules]]\nid = \"a\"\nkind = \"activity\"\nactivity = \"lead\"\namount = \"1\"\nwhen = { product = [\"x\"] }\n",
        &[
            "p.toml:11:20: error: `rules[0].when.product` is a deal key and cannot be used on `activity` rules",
        ],
    );
    assert_reports(
        "\n[program.extra]\n",
        &["p.toml:6:10: error: unknown key `program.extra`"],
    );
}

#[test]
fn budget_naming_an_unknown_rule_and_bad_currency() {
    assert_reports(
        "\n[budget]\ntotal = \"100\"\nrules = [\"nope\"]\n\n[[rules]]\nid = \"a\"\nkind = \"flat\"\namount = \"1\"\n",
        &["p.toml:8:9: error: `budget.rules` names unknown rule `nope`"],
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        "[program]\nid = \"p\"\nname = \"P\"\ncurrency = \"dollars\"\n",
    )
    .unwrap();
    let out = Command::cargo_bin("payline")
        .unwrap()
        .current_dir(dir.path())
        .args(["check", "p.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("p.toml:4:12: error: `program.currency` must be an ISO 4217 code")
    );
}

#[test]
fn every_error_is_reported_not_only_the_first_with_a_caret_excerpt() {
    let (code, stdout, _dir) = check(
        "\n[[rules]]\nid = \"a\"\nkind = \"percent\"\nrate = \"x\"\n\n[[rules]]\nid = \"b\"\nkind = \"flat\"\namount = \"y\"\ncolour = \"red\"\n",
        &[],
    );
    assert_eq!(code, 1);
    assert!(
        stdout.contains("p.toml:9:8: error: `rules[0].rate`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("p.toml:14:10: error: `rules[1].amount`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("p.toml:15:1: error: unknown key `rules[1].colour`"),
        "{stdout}"
    );
    assert!(stdout.contains("3 error(s)"), "{stdout}");
    assert!(
        stdout.contains("14 | amount = \"y\"\n   |          ^"),
        "caret under the column:\n{stdout}"
    );
}

const FALLING: &str = "\n[[rules]]\nid = \"t\"\nkind = \"tiered\"\nmode = \"marginal\"\ntiers = [{ from = \"0\", rate = \"0.08\" }, { from = \"10000\", rate = \"0.05\" }]\n";

#[test]
fn lint_falling_tiers_unless_decelerator() {
    let (code, stdout, _dir) = check(FALLING, &[]);
    assert_eq!(code, 0, "warnings alone exit 0");
    assert!(
        stdout.contains("p.toml:10:1: warning: rule `t`: tier rates fall as thresholds rise"),
        "{stdout}"
    );
    let (code, _, _dir) = check(FALLING, &["--deny-warnings"]);
    assert_eq!(code, 1, "--deny-warnings makes warnings errors");
    let (code, stdout, _dir) = check(
        &format!("{FALLING}decelerator = true\n"),
        &["--deny-warnings"],
    );
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("p.toml: ok"));
}

#[test]
fn lint_inverted_spif_window() {
    let (code, stdout, _dir) = check(
        "\n[[rules]]\nid = \"s\"\nkind = \"spif\"\nstart = 2026-11-15\nend = 2026-11-01\namount = \"100\"\n",
        &[],
    );
    assert_eq!(code, 0);
    assert!(stdout.contains("p.toml:10:1: warning: rule `s`: SPIF window is empty: end 2026-11-01 is before start 2026-11-15"), "{stdout}");
}

#[test]
fn lint_overlapping_rules_of_one_kind() {
    let body = "\n[[rules]]\nid = \"a\"\nkind = \"percent\"\nrate = \"0.1\"\nwhen = { partner_type = [\"reseller\", \"var\"] }\n\n[[rules]]\nid = \"b\"\nkind = \"percent\"\nrate = \"0.02\"\nwhen = { partner_type = [\"var\"] }\n\n[[rules]]\nid = \"c\"\nkind = \"percent\"\nrate = \"0.02\"\nwhen = { partner_type = [\"referral\"] }\n";
    let (_, stdout, _dir) = check(body, &[]);
    assert!(stdout.contains("p.toml:12:1: warning: rules `a` and `b` are both percent rules on overlapping eligibility"), "{stdout}");
    assert!(
        !stdout.contains("`a` and `c`"),
        "disjoint partner types do not overlap:\n{stdout}"
    );
    assert!(!stdout.contains("`b` and `c`"), "{stdout}");
}

#[test]
fn lint_rules_no_partner_can_match_given_a_partners_file() {
    let (_, stdout, dir) = check(
        "\n[[rules]]\nid = \"r\"\nkind = \"flat\"\namount = \"1\"\nwhen = { partner_type = [\"resseller\"] }\n",
        &[],
    );
    assert!(
        !stdout.contains("can never pay"),
        "without --partners nothing is known"
    );
    std::fs::write(
        dir.path().join("partners.csv"),
        "partner_id,name,type\nP1,One,reseller\n",
    )
    .unwrap();
    let out = Command::cargo_bin("payline")
        .unwrap()
        .current_dir(dir.path())
        .args(["check", "p.toml", "--partners", "partners.csv"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "p.toml:10:1: warning: rule `r`: no partner in the partners file has type resseller"
        ),
        "{stdout}"
    );
}

#[test]
fn json_report_for_machines() {
    let (code, stdout, _dir) = check(
        &format!("{FALLING}\n[[rules]]\nid = \"x\"\nkind = \"nope\"\n"),
        &["--json"],
    );
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["errors"], 1);
    let error = &report["files"][0]["errors"][0];
    assert_eq!(error["file"], "p.toml");
    assert_eq!(error["line"], 14);
    assert_eq!(error["column"], 8);
    assert_eq!(error["severity"], "error");
}

#[test]
fn the_sample_programs_are_clean() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut cmd = Command::cargo_bin("payline").unwrap();
    cmd.current_dir(root).arg("check");
    for entry in std::fs::read_dir(format!("{root}/programs")).unwrap() {
        cmd.arg(entry.unwrap().path());
    }
    cmd.args(["--partners", "fixtures/partners.csv", "--deny-warnings"])
        .assert()
        .success();
}
