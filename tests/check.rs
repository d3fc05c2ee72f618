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

/// An error count (`2 error(s)`) must match the whole count, not the end of `12 error(s)`.
fn exactly(expected: &str) -> String {
    if expected.ends_with("error(s)") && expected.starts_with(|c: char| c.is_ascii_digit()) {
        format!(": {expected}")
    } else {
        expected.to_string()
    }
}

fn assert_reports(body: &str, expected: &[&str]) {
    let (code, stdout, _dir) = check(body, &[]);
    assert_eq!(code, 1, "errors exit 1:\n{stdout}");
    for e in expected {
        assert!(stdout.contains(&exactly(e)), "missing {e:?} in:\n{stdout}");
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
fn a_goal_with_both_amount_and_a_bad_curve_gets_both_errors() {
    assert_reports(
        "\n[[rules]]\nid = \"g\"\nkind = \"goal\"\nmeasure = \"revenue\"\ntarget = 100\namount = \"5\"\ncurve = [{ at = \"1\", amount = \"5\" }, { at = \"0.5\", amount = \"9\" }]\n",
        &[
            "p.toml:12:9: error: `rules[0]` has both `amount` and `curve`; give one",
            "error: points of `rules[0].curve` must ascend: point 2 is at 0.5 after 1",
            "2 error(s)",
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
            "p.toml:6:2: error: unknown key `colours`; expected one of: program, payout, budget, levels, nudges, accounting, rules",
        ],
    );
    assert_reports(
        "\n[[rules]]\nid = \"a\"\nkind = \"flat\"\namount = \"1\"\namout = \"2\"\n",
        &[
            "p.toml:10:1: error: unknown key `rules[0].amout`; expected one of: id, kind, label, when, cap, valid_from, valid_until, group, approval, amount, per, modifiers, pay_on, for_months",
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
    assert!(stdout.contains(": 3 error(s)"), "{stdout}");
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
    // The same shape as every warning and error payline prints: a stable code and a message.
    assert_eq!(error["code"], "program");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("unknown rule kind")
    );
    let (_, stdout, _dir) = check(FALLING, &["--json"]);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let warning = &report["files"][0]["warnings"][0];
    assert_eq!(warning["code"], "lint", "{report}");
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

// ---- Values that cannot be meant (SPEC §6): errors, not lints, each at the offending value. ----

/// A goal rule with `target` written as given (line 10 is the target line).
fn goal(target: &str) -> String {
    format!(
        "\n[[rules]]\nid = \"g\"\nkind = \"goal\"\nmeasure = \"deals\"\ntarget = {target}\namount = \"500\"\n"
    )
}

#[test]
fn goal_target_of_zero_or_less_is_an_error() {
    assert_reports(
        &goal("0"),
        &[
            "p.toml:10:10: error: `rules[0].target` must be above 0, found 0: a target of 0 is reached by every partner",
            "1 error(s)",
        ],
    );
    assert_reports(
        &goal("\"-3\""),
        &["p.toml:10:10: error: `rules[0].target` must be above 0, found -3"],
    );
    let (code, stdout, _dir) = check(&goal("1"), &[]);
    assert_eq!(code, 0, "a target of 1 is fine:\n{stdout}");
}

#[test]
fn goal_target_by_level_of_zero_or_less_is_an_error_per_level() {
    assert_reports(
        &goal("{ bronze = 3, silver = 0, gold = \"-10\" }"),
        &[
            "p.toml:10:33: error: `rules[0].target.silver` must be above 0, found 0",
            "p.toml:10:43: error: `rules[0].target.gold` must be above 0, found -10",
            "2 error(s)",
        ],
    );
}

#[test]
fn negative_fund_allocation_by_level_is_an_error() {
    assert_reports(
        "\n[[rules]]\nid = \"mdf\"\nkind = \"fund\"\nallocation = { gold = \"-500\", silver = \"0\", bronze = \"-1\" }\n",
        &[
            "p.toml:9:23: error: `rules[0].allocation.gold` must be zero or more, found -500",
            "p.toml:9:54: error: `rules[0].allocation.bronze` must be zero or more, found -1",
            "2 error(s)",
        ],
    );
    assert_reports(
        "\n[[rules]]\nid = \"mdf\"\nkind = \"fund\"\nallocation = \"-500\"\n",
        &["p.toml:9:14: error: `rules[0].allocation` must be zero or more, found -500"],
    );
}

#[test]
fn terms_days_outside_0_to_3650_is_an_error() {
    assert_reports(
        "\n[payout]\nterms_days = 9223372036854775807\n",
        &[
            "p.toml:7:14: error: `payout.terms_days` must be a whole number from 0 to 3650, found 9223372036854775807",
        ],
    );
    assert_reports(
        "\n[payout]\nterms_days = 3651\n",
        &[
            "p.toml:7:14: error: `payout.terms_days` must be a whole number from 0 to 3650, found 3651",
        ],
    );
    assert_reports(
        "\n[payout]\nterms_days = -1\n",
        &[
            "p.toml:7:14: error: `payout.terms_days` must be a whole number from 0 to 3650, found -1",
        ],
    );
    for ok in ["0", "3650"] {
        let (code, stdout, _dir) = check(&format!("\n[payout]\nterms_days = {ok}\n"), &[]);
        assert_eq!(code, 0, "terms_days = {ok}:\n{stdout}");
    }
}

const LEVELS: &str =
    "\n[levels]\nmeasure = \"revenue\"\ntiers = [{ id = \"bronze\", from = \"0\" }]\n";

#[test]
fn window_months_outside_1_to_120_is_an_error_never_truncated() {
    // 4294967297 = 2^32 + 1 would become 1 month through a 32-bit cast.
    assert_reports(
        &format!("{LEVELS}window_months = 4294967297\n"),
        &[
            "p.toml:9:17: error: `levels.window_months` must be a whole number from 1 to 120, found 4294967297",
        ],
    );
    for bad in ["0", "121"] {
        assert_reports(
            &format!("{LEVELS}window_months = {bad}\n"),
            &[&format!(
                "p.toml:9:17: error: `levels.window_months` must be a whole number from 1 to 120, found {bad}"
            )],
        );
    }
    for ok in ["1", "120"] {
        let (code, stdout, _dir) = check(&format!("{LEVELS}window_months = {ok}\n"), &[]);
        assert_eq!(code, 0, "window_months = {ok}:\n{stdout}");
    }
}

/// A percent rule with the given `when` (line 10) and a modifier with the given `when` (line 13).
fn percent_when(when: &str, modifier_when: &str) -> String {
    format!(
        "\n[[rules]]\nid = \"a\"\nkind = \"percent\"\nrate = \"0.1\"\nwhen = {{ {when} }}\n\n[[rules.modifiers]]\nwhen = {{ {modifier_when} }}\nmultiplier = \"1.1\"\n"
    )
}

#[test]
fn min_amount_above_max_amount_is_an_error_in_rules_and_modifiers() {
    assert_reports(
        &percent_when(
            "min_amount = \"500\", max_amount = \"100\"",
            "min_amount = 2, max_amount = 1",
        ),
        &[
            "p.toml:10:23: error: `rules[0].when.min_amount` (500) is above `max_amount` (100): no deal can match",
            "p.toml:13:23: error: `rules[0].modifiers[0].when.min_amount` (2) is above `max_amount` (1)",
            "2 error(s)",
        ],
    );
    let (code, stdout, _dir) = check(
        &percent_when(
            "min_amount = \"100\", max_amount = \"100\"",
            "region = \"NA\"",
        ),
        &[],
    );
    assert_eq!(code, 0, "min = max is one amount:\n{stdout}");
}

#[test]
fn an_empty_when_list_is_an_error_for_every_key_in_rules_and_modifiers() {
    assert_reports(
        &percent_when(
            "partner_type = [], region = [\"NA\"], level = []",
            "product = [], customer_type = [], source = []",
        ),
        &[
            "p.toml:10:25: error: `rules[0].when.partner_type` is an empty list, which no partner or deal matches",
            "p.toml:10:54: error: `rules[0].when.level` is an empty list",
            "p.toml:13:20: error: `rules[0].modifiers[0].when.product` is an empty list",
            "p.toml:13:40: error: `rules[0].modifiers[0].when.customer_type` is an empty list",
            "p.toml:13:53: error: `rules[0].modifiers[0].when.source` is an empty list",
            "5 error(s)",
        ],
    );
}

#[test]
fn every_bad_when_key_is_reported_not_only_the_first() {
    assert_reports(
        &percent_when(
            "partner_type = 3, region = [], source = [\"walk-in\"], max_amount = \"-1\"",
            "",
        ),
        &[
            "p.toml:10:25: error: `rules[0].when.partner_type` must be a list of strings, found 3",
            "p.toml:10:37: error: `rules[0].when.region` is an empty list",
            "p.toml:10:50: error: `rules[0].when.source` items must be \"sourced\" or \"influenced\", found \"walk-in\"",
            "p.toml:10:76: error: `rules[0].when.max_amount` must be zero or more, found -1",
            "4 error(s)",
        ],
    );
}

#[test]
fn errors_of_every_kind_in_one_file_are_all_reported() {
    let body = format!(
        "\n[payout]\nterms_days = 4000\n{LEVELS}window_months = 0\n{}{}",
        goal("0").replace("\"g\"", "\"g1\""),
        "\n[[rules]]\nid = \"f\"\nkind = \"fund\"\nallocation = { gold = \"-1\" }\nwhen = { region = [] }\n"
    );
    assert_reports(
        &body,
        &[
            "p.toml:7:14: error: `payout.terms_days`",
            "p.toml:12:17: error: `levels.window_months`",
            "p.toml:18:10: error: `rules[0].target` must be above 0",
            "p.toml:24:23: error: `rules[1].allocation.gold` must be zero or more",
            "p.toml:25:19: error: `rules[1].when.region` is an empty list",
            "5 error(s)",
        ],
    );
}

#[test]
fn values_that_cannot_be_meant_refuse_run_diff_and_explain_too() {
    let dir = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, format!("{HEAD}{}", goal("0"))).unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, format!("{HEAD}{}", goal("1"))).unwrap();
    let data = [
        "--partners",
        "fixtures/partners.csv",
        "--deals",
        "fixtures/deals.csv",
        "--fx",
        "fixtures/fx.csv",
        "--period",
        "2026-10",
    ];
    let out_dir = dir.path().join("out");
    let runs: Vec<Vec<String>> = vec![
        vec![
            "run".into(),
            "--program".into(),
            bad.display().to_string(),
            "--out".into(),
            out_dir.display().to_string(),
        ],
        vec![
            "diff".into(),
            "--base".into(),
            good.display().to_string(),
            "--head".into(),
            bad.display().to_string(),
        ],
        vec![
            "explain".into(),
            "--partner".into(),
            "P004".into(),
            "--program".into(),
            bad.display().to_string(),
        ],
    ];
    for args in runs {
        let out = Command::cargo_bin("payline")
            .unwrap()
            .current_dir(root)
            .args(&args)
            .args(data)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}:\n{stderr}");
        assert!(
            stderr.contains("bad.toml:10:10: error: `rules[0].target` must be above 0"),
            "{args:?}:\n{stderr}"
        );
    }
    assert!(!out_dir.exists(), "a refused run writes nothing");
}

#[test]
fn lint_spif_window_outside_every_period() {
    let (code, stdout, _dir) = check(
        "\n[[rules]]\nid = \"s\"\nkind = \"spif\"\nstart = \"+10000-01-01\"\nend = \"+10000-03-31\"\namount = \"100\"\n",
        &[],
    );
    assert_eq!(code, 0, "a lint, not an error:\n{stdout}");
    assert!(
        stdout.contains("p.toml:9:1: warning: rule `s`: SPIF window +10000-01-01 to +10000-03-31 is outside every period payline can run"),
        "{stdout}"
    );
    let (_, stdout, _dir) = check(
        "\n[[rules]]\nid = \"s\"\nkind = \"spif\"\nstart = 2026-11-15\nend = 2026-11-15\namount = \"100\"\n",
        &["--deny-warnings"],
    );
    assert!(
        stdout.contains("p.toml: ok"),
        "a one-day window is fine:\n{stdout}"
    );
}

#[test]
fn lint_when_level_that_no_partner_can_have() {
    let body = format!(
        "{LEVELS}window_months = 12\n\n[[rules]]\nid = \"r\"\nkind = \"flat\"\namount = \"1\"\nwhen = {{ level = [\"gold\"] }}\n"
    );
    let (code, stdout, _dir) = check(&body, &[]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("p.toml:15:1: warning: rule `r`: no partner can have level (not a tier of [levels]) gold; the rule can never pay"),
        "{stdout}"
    );
    let (_, stdout, _dir) = check(
        &body.replace("\"gold\"", "\"bronze\""),
        &["--deny-warnings"],
    );
    assert!(stdout.contains("p.toml: ok"), "{stdout}");
}

#[test]
fn lint_overlaps_are_bounded_per_rule() {
    let body: String = (0..6)
        .map(|i| format!("\n[[rules]]\nid = \"r{i}\"\nkind = \"flat\"\namount = \"1\"\n"))
        .collect();
    let (code, stdout, _dir) = check(&body, &[]);
    assert_eq!(code, 0);
    // r1 overlaps 1 earlier rule, r2 2, r3 to r5 are each listed against 3 (the limit).
    assert!(stdout.contains("0 error(s), 12 warning(s)"), "{stdout}");
    assert!(
        stdout.contains("rules `r2` and `r5` are both flat rules on overlapping eligibility: a partner can be paid twice for the same thing; `r5` overlaps more earlier flat rules too"),
        "{stdout}"
    );
    assert!(!stdout.contains("`r3` and `r5`"), "{stdout}");
}

/// A program of `n` rules of every kind, with overlapping and disjoint eligibility.
fn big_program(n: usize) -> String {
    let types = ["reseller", "var", "referral", "affiliate", "agency"];
    let mut out = String::from(HEAD);
    out.push_str(&format!("{LEVELS}window_months = 12\n"));
    for i in 0..n {
        let t = types[i % types.len()];
        out.push_str(&format!("\n[[rules]]\nid = \"r{i}\"\n"));
        out.push_str(&match i % 6 {
            0 => format!("kind = \"flat\"\namount = \"{}\"\n", i % 50 + 1),
            1 => format!("kind = \"percent\"\nrate = \"0.0{}\"\n", i % 9 + 1),
            2 => "kind = \"tiered\"\nmode = \"marginal\"\ntiers = [{ from = \"0\", rate = \"0.05\" }, { from = \"10000\", rate = \"0.07\" }]\n".to_string(),
            3 => "kind = \"spif\"\nstart = 2026-10-01\nend = 2026-12-31\namount = \"100\"\n".to_string(),
            4 => "kind = \"goal\"\nmeasure = \"deals\"\ntarget = { bronze = 3 }\namount = \"500\"\n".to_string(),
            _ => "kind = \"fund\"\nallocation = { bronze = \"100\" }\n".to_string(),
        });
        out.push_str(&format!(
            "when = {{ partner_type = [\"{t}\"], product = [\"p{}\"] }}\n",
            i % 400
        ));
    }
    out
}

#[test]
fn a_2000_rule_program_checks() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big.toml"), big_program(2000)).unwrap();
    let out = Command::cargo_bin("payline")
        .unwrap()
        .current_dir(dir.path())
        .args(["check", "big.toml"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    // Rules i < j overlap only when kind, type and product agree: j ≡ i (mod lcm(6, 5, 400) = 1200),
    // so j = i + 1200 for i < 800; fund rules (i % 6 == 5) never double pay.
    let expected = (0..800).filter(|i| i % 6 != 5).count();
    assert!(
        stdout.contains(&format!("0 error(s), {expected} warning(s)")),
        "{}",
        stdout.lines().last().unwrap_or("")
    );
    assert!(
        stdout.contains("rules `r0` and `r1200` are both flat rules"),
        "{stdout}"
    );
}

/// Runs check on `text` as the whole file; asserts exit 1 and every `expected` line in the report.
fn assert_file_reports(text: &str, expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.toml"), text).unwrap();
    let out = Command::cargo_bin("payline")
        .unwrap()
        .current_dir(dir.path())
        .args(["check", "p.toml"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "errors exit 1:\n{stdout}");
    for e in expected {
        assert!(stdout.contains(&exactly(e)), "missing {e:?} in:\n{stdout}");
    }
}

#[test]
fn a_bad_currency_does_not_hide_a_bad_rounding_or_the_rules() {
    assert_file_reports(
        "[program]\nid = \"p\"\nname = \"P\"\ncurrency = \"usd\"\nrounding = \"up\"\n\n[[rules]]\nid = \"a\"\nkind = \"percent\"\nrate = \"0.1\"\nwhen = { partner_typ = [\"x\"], regoin = [\"NA\"], levle = [\"gold\"] }\n",
        &[
            "p.toml:4:12: error: `program.currency` must be an ISO 4217 code like \"USD\", found \"usd\"",
            "p.toml:5:12: error: `program.rounding` must be \"half-up\" or \"half-even\", found \"up\"",
            "p.toml:11:10: error: unknown key `rules[0].when.partner_typ`",
            "p.toml:11:31: error: unknown key `rules[0].when.regoin`",
            "p.toml:11:48: error: unknown key `rules[0].when.levle`",
            "5 error(s)",
        ],
    );
}

#[test]
fn two_independent_errors_in_one_table_are_both_reported() {
    // [program]: two missing keys.
    assert_file_reports(
        "[program]\ncurrency = \"USD\"\n",
        &[
            "p.toml:1:1: error: missing required key `program.id`",
            "p.toml:1:1: error: missing required key `program.name`",
            "2 error(s)",
        ],
    );
    // [payout]
    assert_reports(
        "\n[payout]\nminimum = \"-5\"\nterms_days = 4000\n",
        &[
            "p.toml:7:11: error: `payout.minimum` must be zero or more",
            "p.toml:8:14: error: `payout.terms_days` must be a whole number",
            "2 error(s)",
        ],
    );
    // [budget]: a missing total and an unknown rule.
    assert_reports(
        "\n[budget]\nrules = [\"nope\"]\n\n[[rules]]\nid = \"a\"\nkind = \"flat\"\namount = \"1\"\n",
        &[
            "p.toml:6:1: error: missing required key `budget.total`",
            "p.toml:7:9: error: `budget.rules` names unknown rule `nope`",
            "2 error(s)",
        ],
    );
    // [levels]: two missing keys.
    assert_reports(
        "\n[levels]\ntiers = [{ id = \"silver\", from = 0 }]\n",
        &[
            "p.toml:6:1: error: missing required key `levels.measure`",
            "p.toml:6:1: error: missing required key `levels.window_months`",
            "2 error(s)",
        ],
    );
    // [nudges]: a typo and a value above 1.
    assert_reports(
        "\n[nudges]\nwithn = \"0.1\"\nwithin = \"2\"\n",
        &[
            "p.toml:7:1: error: unknown key `nudges.withn`",
            "p.toml:8:10: error: `nudges.within` is a fraction of the next threshold between 0 and 1, found 2",
            "2 error(s)",
        ],
    );
    // [[rules]]: an unknown kind does not hide a bad cap.
    assert_reports(
        "\n[[rules]]\nid = \"a\"\nkind = \"bonus\"\ncap = \"-1\"\n",
        &[
            "p.toml:8:8: error: unknown rule kind \"bonus\"",
            "p.toml:9:7: error: `rules[0].cap` must be zero or more, found -1",
            "2 error(s)",
        ],
    );
    // A rule kind's own keys: two missing.
    assert_reports(
        "\n[[rules]]\nid = \"s\"\nkind = \"spif\"\namount = \"5\"\n",
        &[
            "p.toml:6:1: error: missing required key `rules[0].start`",
            "p.toml:6:1: error: missing required key `rules[0].end`",
            "2 error(s)",
        ],
    );
    // when: a wrong type and a deal key on a rule that has no deals.
    assert_reports(
        "\n[[rules]]\nid = \"a\"\nkind = \"activity\"\nactivity = \"lead\"\namount = \"1\"\nwhen = { region = 3, product = [\"x\"] }\n",
        &[
            "p.toml:11:19: error: `rules[0].when.region` must be a list of strings, found 3",
            "p.toml:11:32: error: `rules[0].when.product` is a deal key and cannot be used on `activity` rules",
            "2 error(s)",
        ],
    );
    // modifiers: an item that is not a table does not hide the next modifier's error.
    assert_reports(
        "\n[[rules]]\nid = \"a\"\nkind = \"percent\"\nrate = \"0.1\"\nmodifiers = [5, { multiplier = \"5000\" }]\n",
        &[
            "p.toml:10:14: error: `rules[0].modifiers[0]` must be a table, found 5",
            "p.toml:10:32: error: `rules[0].modifiers[1].multiplier` must be at most 1000, found 5000",
            "2 error(s)",
        ],
    );
    // tiers: a bad rate in one tier does not hide thresholds that do not ascend.
    assert_reports(
        "\n[[rules]]\nid = \"t\"\nkind = \"tiered\"\nmode = \"marginal\"\ntiers = [\n  { from = \"0\", rate = \"x\" },\n  { from = \"10\", rate = \"0.1\" },\n  { from = \"5\", rate = \"0.2\" },\n]\n",
        &[
            "p.toml:11:24: error: `rules[0].tiers[0].rate` must be a decimal",
            "p.toml:13:3: error: tiers of `rules[0].tiers` must ascend: tier 3 starts at 5 after 10",
            "2 error(s)",
        ],
    );
}
