//! Inputs that run but are probably wrong get a warning in the summary, never silence: an fx.csv rate
//! quoted the other way round, and a program whose activity or fund rules were run without their file.

use assert_cmd::Command;

fn run(extra: &[&str]) -> serde_json::Value {
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("out");
    let output = Command::cargo_bin("payline")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "run",
            "--program",
            "programs/mixed.toml",
            "--partners",
            "fixtures/partners.csv",
        ])
        .args([
            "--deals",
            "fixtures/deals.csv",
            "--period",
            "2026-10",
            "--json",
            "--out",
        ])
        .arg(&out)
        .args(extra)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The warnings about inputs (the sample data also leaves two claims partly unpaid, by design).
fn warnings(summary: &serde_json::Value) -> Vec<(String, String)> {
    summary["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["code"] != "claim-unpaid")
        .map(|w| {
            (
                w["code"].as_str().unwrap().to_string(),
                w["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_rate_quoted_the_other_way_round_is_a_warning_with_the_direction() {
    let scratch = tempfile::tempdir().unwrap();
    let fx = scratch.path().join("fx.csv");
    // JPY per USD (151.5) after USD per JPY (0.0068): P009's yen payout would be 5 JPY, not 45,956.
    std::fs::write(
        &fx,
        "date,currency,rate\n2026-01-01,EUR,1.0850\n2026-01-01,JPY,0.006800\n2026-10-31,JPY,151.5\n",
    )
    .unwrap();
    let summary = run(&[
        "--fx",
        fx.to_str().unwrap(),
        "--activities",
        "fixtures/activities.csv",
        "--claims",
        "fixtures/claims.csv",
    ]);
    let found = warnings(&summary);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].0, "fx-rate-jump");
    assert!(
        found[0].1.contains(
            "the JPY rate 151.5 from 2026-10-31 is more than 10× away from the rate before it (0.006800 from 2026-01-01); \
             a rate is USD per one JPY: if 151.5 is JPY per USD, the rate is 0.00660066"
        ),
        "{found:#?}"
    );
}

#[test]
fn the_bundled_rates_raise_no_warning() {
    let summary = run(&[
        "--fx",
        "fixtures/fx.csv",
        "--activities",
        "fixtures/activities.csv",
        "--claims",
        "fixtures/claims.csv",
    ]);
    assert_eq!(warnings(&summary), vec![]);
}

#[test]
fn rules_whose_input_was_not_given_are_named() {
    let summary = run(&["--fx", "fixtures/fx.csv"]);
    let found = warnings(&summary);
    assert_eq!(
        found,
        vec![
            (
                "input-missing".to_string(),
                "no --activities was given: the activity rule(s) `certification` paid no activities".to_string()
            ),
            (
                "input-missing".to_string(),
                "no --claims was given: the fund rule(s) `mdf`, `coop` paid no claims".to_string()
            ),
        ]
    );
}

/// Excel and Salesforce write CRLF line endings; an error names the line a person sees the row on
/// (the csv crate alone reports one line too low), past blank lines too.
#[test]
fn errors_in_crlf_files_name_the_line_a_person_sees() {
    let scratch = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = scratch.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let program = write(
        "p.toml",
        "[program]\nid = \"p\"\nname = \"P\"\ncurrency = \"USD\"\n\n[[rules]]\nid = \"r\"\nkind = \"flat\"\namount = \"1\"\n",
    );
    let partners = write(
        "partners.csv",
        "partner_id,name,type\r\nP1,One,reseller\r\nP2,Two,reseller\r\n",
    );
    let deals_ok = write(
        "ok.csv",
        "deal_id,partner_id,closed_on,amount\r\nD1,P1,2026-10-01,1.00\r\n",
    );
    let cases = [
        // (partners, deals, expected start of stderr)
        (
            write(
                "bad-partners.csv",
                "partner_id,name,type\r\nP1,One,reseller\r\n\r\nP2,Two,\r\n",
            ),
            deals_ok.clone(),
            "error: {dir}/bad-partners.csv:4: column `type`",
        ),
        (
            partners.clone(),
            write(
                "crlf.csv",
                "deal_id,partner_id,closed_on,amount\r\nD1,P1,2026-10-01,1.00\r\nD2,P1,2026-10-02,1.00\r\nD3,P2,2026-10-03,x\r\n",
            ),
            "error: {dir}/crlf.csv:4: column `amount`",
        ),
        (
            partners.clone(),
            write(
                "quoted.csv",
                "deal_id,partner_id,closed_on,amount\r\n\"D1\",P1,2026-10-01,1.00\r\n\r\n\"D3\",P2,2026-10-03,x\r\n",
            ),
            "error: {dir}/quoted.csv:4: column `amount`",
        ),
    ];
    for (partners, deals, expected) in cases {
        let output = Command::cargo_bin("payline")
            .unwrap()
            .arg("run")
            .arg("--program")
            .arg(&program)
            .arg("--partners")
            .arg(&partners)
            .arg("--deals")
            .arg(&deals)
            .args(["--period", "2026-10", "--out"])
            .arg(scratch.path().join("out"))
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        let expected = expected.replace("{dir}", &scratch.path().display().to_string());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with(&expected), "{stderr} (want {expected})");
    }
}

/// An empty batch is almost always the wrong period or the wrong file: a period after the export's
/// last deal (the sample's rows close 2025-12-05 .. 2026-10-30) is warned with the data's dates, and
/// the period the data is for is not.
#[test]
fn a_period_without_data_is_warned_with_the_datas_dates() {
    let run_period = |period: &str| -> serde_json::Value {
        let scratch = tempfile::tempdir().unwrap();
        let output = Command::cargo_bin("payline")
            .unwrap()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["run", "--program", "programs/mixed.toml"])
            .args(["--partners", "fixtures/partners.csv"])
            .args(["--deals", "fixtures/deals.csv", "--fx", "fixtures/fx.csv"])
            .args(["--period", period, "--json", "--out"])
            .arg(scratch.path().join("out"))
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let empty = warnings(&run_period("2027-03"));
    let no_data: Vec<_> = empty
        .iter()
        .filter(|(c, _)| c == "no-data-in-period")
        .collect();
    assert_eq!(no_data.len(), 1, "{empty:?}");
    assert!(
        no_data[0].1.contains("2027-03") && no_data[0].1.contains("from 2025-12-05 to 2026-10-30"),
        "{no_data:?}"
    );
    let october = warnings(&run_period("2026-10"));
    assert!(
        october.iter().all(|(c, _)| c != "no-data-in-period"),
        "{october:?}"
    );
}
