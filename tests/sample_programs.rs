//! Every sample program under programs/ runs a three-month chain (August → September → October 2026)
//! on the bundled fixtures, each month's --ledger the month before: it must succeed, and every batch
//! must keep the books straight (balances are the ledger's sums, payouts.csv's totals are its lines'
//! sums, the journal balances). A new program file is picked up without touching this test.

use assert_cmd::Command;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The inputs a program's chain runs on: the common fixtures, and the files its rules read.
fn inputs(program: &str) -> Vec<String> {
    let text = std::fs::read_to_string(repo(&format!("programs/{program}"))).unwrap();
    let deals = match program {
        "per-seat-rebate.toml" => "fixtures/deals-units.csv",
        _ => "fixtures/deals.csv",
    };
    let mut pairs = vec![
        ("--partners", "fixtures/partners.csv"),
        ("--deals", deals),
        ("--fx", "fixtures/fx.csv"),
        // Manual corrections apply to any program (SPEC §8.1); September's and October's are in it.
        ("--adjustments", "fixtures/adjustments.csv"),
    ];
    if text.contains("kind = \"activity\"") {
        pairs.push(("--activities", "fixtures/activities.csv"));
    }
    // fixtures/claims.csv claims on the funds `mdf` and `coop` (a claim on an unknown fund is an
    // error): programs with both read it.
    if text.contains("id = \"mdf\"") && text.contains("id = \"coop\"") {
        pairs.push(("--claims", "fixtures/claims.csv"));
    }
    pairs
        .into_iter()
        .flat_map(|(flag, path)| [flag.to_string(), repo(path).display().to_string()])
        .collect()
}

fn rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            headers
                .iter()
                .zip(r.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn money(text: &str) -> Decimal {
    if text.is_empty() {
        Decimal::ZERO
    } else {
        Decimal::from_str(text).unwrap()
    }
}

fn check_books(out: &Path, program: &str) {
    let mut sums: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for r in rows(&out.join("ledger.csv")) {
        *sums
            .entry((r["partner_id"].clone(), r["account"].clone()))
            .or_default() += money(&r["amount"]);
    }
    sums.retain(|_, v| !v.is_zero());
    let balances: BTreeMap<(String, String), Decimal> = rows(&out.join("balances.csv"))
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
        "{program}: balances.csv is not the ledger's sums"
    );

    let mut paid_lines: BTreeMap<String, Decimal> = BTreeMap::new();
    for r in rows(&out.join("lines.csv")) {
        if r["kind"] == "payout" {
            *paid_lines.entry(r["partner_id"].clone()).or_default() -= money(&r["amount"]);
        }
    }
    for p in rows(&out.join("payouts.csv")) {
        let balance = money(&p["earned"]) + money(&p["clawed_back"]) + money(&p["carried_in"]);
        assert_eq!(balance, money(&p["balance"]), "{program}: {p:?}");
        assert_eq!(
            money(&p["paid"]) + money(&p["carried_out"]),
            balance,
            "{program}: {p:?}"
        );
        let paid = paid_lines
            .get(&p["partner_id"])
            .copied()
            .unwrap_or_default();
        assert_eq!(
            paid,
            money(&p["paid"]),
            "{program}: the payout line of {}",
            p["partner_id"]
        );
    }

    // journal.csv balances entry by entry, and books on each liability exactly what the period's
    // lines moved the payline account it stands for (default `[accounting]` names).
    let liability = |account: &str| match account {
        "payout" => "Partner payouts payable",
        "pending" => "Partner commissions pending",
        _ => "MDF payable",
    };
    let mut moved: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for r in rows(&out.join("lines.csv")) {
        *moved
            .entry((
                r["partner_id"].clone(),
                liability(&r["account"]).to_string(),
            ))
            .or_default() += money(&r["amount"]);
    }
    let mut entries: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut booked: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for r in rows(&out.join("journal.csv")) {
        let (debit, credit) = (money(&r["debit"]), money(&r["credit"]));
        *entries.entry(r["entry"].clone()).or_default() += debit - credit;
        if [
            "Partner payouts payable",
            "Partner commissions pending",
            "MDF payable",
        ]
        .contains(&r["account"].as_str())
        {
            *booked
                .entry((r["partner_id"].clone(), r["account"].clone()))
                .or_default() += credit - debit;
        }
    }
    assert!(
        entries.values().all(Decimal::is_zero),
        "{program}: a journal entry does not balance"
    );
    moved.retain(|_, v| !v.is_zero());
    booked.retain(|_, v| !v.is_zero());
    assert_eq!(
        moved, booked,
        "{program}: journal.csv does not book what lines.csv moved"
    );
}

#[test]
fn every_sample_program_runs_a_three_month_chain() {
    let mut programs: Vec<String> = std::fs::read_dir(repo("programs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    programs.sort();
    assert!(programs.len() >= 8, "{programs:?}");
    let scratch = tempfile::tempdir().unwrap();
    for program in &programs {
        let mut previous: Option<PathBuf> = None;
        for period in ["2026-08", "2026-09", "2026-10"] {
            let out = scratch.path().join(format!("{program}-{period}"));
            let mut cmd = Command::cargo_bin("payline").unwrap();
            cmd.arg("run")
                .arg("--program")
                .arg(repo(&format!("programs/{program}")))
                .args(inputs(program))
                .args(["--period", period, "--out"])
                .arg(&out);
            if let Some(prev) = &previous {
                cmd.arg("--ledger").arg(prev);
            }
            let output = cmd.output().unwrap();
            assert!(
                output.status.success(),
                "{program} {period}: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            check_books(&out, program);
            previous = Some(out);
        }
    }
}
