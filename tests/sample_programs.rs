//! Every sample program under programs/ runs a three-month chain (August → September → October 2026)
//! on the bundled fixtures, each month's --ledger the month before: it must succeed, and every batch
//! must keep the books straight (balances are the ledger's sums, payouts.csv's totals are its lines'
//! sums, the journal balances). A new program file is picked up without touching this test. The
//! SPEC §9 samples (two-tier distribution, approvals in the features program) are also checked
//! against their payouts worked out by hand.

mod common;

use common::csv_rows as rows;
use common::decimal_or_zero as money;

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
    // The two-tier program has partners and deals of its own (distributors credited on top of
    // resellers, SPEC §9.4), in US dollars only: no fx, and the common adjustments name other partners.
    if program == "two-tier-distribution.toml" {
        return args(&[
            ("--partners", "fixtures/two-tier/partners.csv"),
            ("--deals", "fixtures/two-tier/deals.csv"),
        ]);
    }
    // The SaaS program pays on cash received (SPEC §9.1): its subscriptions and their payments.
    if program == "saas-affiliate.toml" {
        return args(&[
            ("--partners", "fixtures/saas/partners.csv"),
            ("--deals", "fixtures/saas/deals.csv"),
            ("--payments", "fixtures/saas/payments.csv"),
        ]);
    }
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
    // fixtures/approvals.csv decides on referral deals of fixtures/deals.csv (SPEC §9.3).
    if text.contains("approval = \"manual\"") {
        pairs.push(("--approvals", "fixtures/approvals.csv"));
    }
    args(&pairs)
}

fn args(pairs: &[(&str, &str)]) -> Vec<String> {
    pairs
        .iter()
        .flat_map(|(flag, path)| [flag.to_string(), repo(path).display().to_string()])
        .collect()
}

/// One month of a program's chain, run like a user would run it.
struct Month {
    out: PathBuf,
    /// The warning codes of the run (`--json`), in order.
    warnings: Vec<String>,
}

/// Runs `program` August → September → October 2026 under `scratch`, each month's --ledger the
/// month before, checking that each run succeeds and keeps the books straight.
fn run_chain(scratch: &Path, program: &str) -> Vec<Month> {
    let mut months: Vec<Month> = Vec::new();
    for period in ["2026-08", "2026-09", "2026-10"] {
        let out = scratch.join(format!("{program}-{period}"));
        let mut cmd = Command::cargo_bin("payline").unwrap();
        cmd.arg("run")
            .arg("--program")
            .arg(repo(&format!("programs/{program}")))
            .args(inputs(program))
            .args(["--period", period, "--json", "--out"])
            .arg(&out);
        if let Some(prev) = months.last() {
            cmd.arg("--ledger").arg(&prev.out);
        }
        let output = cmd.output().unwrap();
        assert!(
            output.status.success(),
            "{program} {period}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        check_books(&out, program);
        let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let warnings = summary["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["code"].as_str().unwrap().to_string())
            .collect();
        months.push(Month { out, warnings });
    }
    months
}

fn check_books(out: &Path, program: &str) {
    let (sums, balances) = (common::ledger_sums(out), common::balances(out));
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
    if let Err(e) = common::check_journal(out) {
        panic!("{program}: {e}");
    }
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
        run_chain(scratch.path(), program);
    }
}

/// payouts.csv's `paid` by partner.
fn paid(out: &Path) -> BTreeMap<String, Decimal> {
    rows(&out.join("payouts.csv"))
        .into_iter()
        .map(|r| (r["partner_id"].clone(), money(&r["paid"])))
        .collect()
}

/// lines.csv's (partner, account, rule, kind, deal, amount) for one rule family, in file order.
fn lines_of(
    out: &Path,
    rule_prefix: &str,
) -> Vec<(String, String, String, String, String, Decimal)> {
    rows(&out.join("lines.csv"))
        .into_iter()
        .filter(|r| r["rule_id"].starts_with(rule_prefix))
        .map(|r| {
            (
                r["partner_id"].clone(),
                r["account"].clone(),
                r["rule_id"].clone(),
                r["kind"].clone(),
                r["source_id"].clone(),
                money(&r["amount"]),
            )
        })
        .collect()
}

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// SPEC §9.4–§9.6 in programs/two-tier-distribution.toml on fixtures/two-tier/. Rates: resellers
/// (split rows) 10 % on nx-9000, 8 % on the rest of networking, 5 % else; distributors (overlay rows,
/// 100 % of the deal) 3 % on nx-9000, 2 % else; a 1,000.00 SPIF per nx-9000 deal in Sep–Oct.
#[test]
fn two_tier_distribution_pays_both_tiers_the_most_specific_rate_and_takes_back_partial_refunds() {
    let scratch = tempfile::tempdir().unwrap();
    let months = run_chain(scratch.path(), "two-tier-distribution.toml");
    let expect = |pairs: &[(&str, &str)]| -> BTreeMap<String, Decimal> {
        pairs.iter().map(|(p, a)| (p.to_string(), d(a))).collect()
    };
    // August. T-1001 40,000 nx-9000: R-ALPHA 10 % = 4,000.00, D-NORTH 3 % = 1,200.00.
    // T-1002 20,000 sw-24 split 0.5/0.5: R-BRAVO and R-CHARLIE 8 % × 10,000 = 800.00 each (the
    // category rule, not the default); D-NORTH 2 % × 20,000 = 400.00. T-1003 10,000 services:
    // R-CHARLIE 5 % = 500.00, D-SOUTH 2 % = 200.00.
    assert_eq!(
        paid(&months[0].out),
        expect(&[
            ("D-NORTH", "1600.00"),
            ("D-SOUTH", "200.00"),
            ("R-ALPHA", "4000.00"),
            ("R-BRAVO", "800.00"),
            ("R-CHARLIE", "1300.00"),
        ])
    );
    // A group pays a row once: T-1001's reseller row is paid by reseller-flagship only, though
    // reseller-networking and reseller-default match it too.
    let t1001: Vec<_> = lines_of(&months[0].out, "reseller-")
        .into_iter()
        .filter(|l| l.4 == "T-1001")
        .collect();
    assert_eq!(t1001.len(), 1, "{t1001:?}");
    assert_eq!(t1001[0].2, "reseller-flagship");
    // September. T-1004 30,000 nx-9000: R-BRAVO 3,000.00 + SPIF 1,000.00; D-SOUTH 900.00 + SPIF
    // 1,000.00 besides (an overlay row is a credit of its own). T-1005 8,000 nx-5000: R-ALPHA
    // 640.00, D-NORTH 160.00. T-1001 refunded in part, 4,000.00 of 40,000.00 on 09-20: R-ALPHA
    // −round(4,000 × 4,000 ÷ 40,000) = −400.00, D-NORTH −1,200 × 0.1 = −120.00.
    assert_eq!(
        paid(&months[1].out),
        expect(&[
            ("D-NORTH", "40.00"),
            ("D-SOUTH", "1900.00"),
            ("R-ALPHA", "240.00"),
            ("R-BRAVO", "4000.00"),
        ])
    );
    let clawbacks: Vec<_> = lines_of(&months[1].out, "")
        .into_iter()
        .filter(|l| l.3 == "clawback")
        .map(|l| (l.0, l.2, l.5))
        .collect();
    assert_eq!(
        clawbacks,
        [
            (
                "D-NORTH".into(),
                "distributor-flagship".into(),
                d("-120.00")
            ),
            ("R-ALPHA".into(), "reseller-flagship".into(), d("-400.00")),
        ]
    );
    // October. T-1006 50,000 nx-9000 split 0.6/0.4: R-ALPHA 3,000.00 + SPIF 600.00, R-BRAVO
    // 2,000.00 + SPIF 400.00 (they share the SPIF once), D-NORTH 1,500.00 + SPIF 1,000.00.
    // T-1007 12,000 sw-24: R-CHARLIE 960.00, D-SOUTH 240.00. T-1008 25,000 nx-5000: R-CHARLIE
    // 2,000.00, D-SOUTH 500.00. T-1004 refunded in part, 9,000.00 of 30,000.00 on 10-06: each rule
    // takes back 30 % of what it paid: R-BRAVO −900.00 − 300.00, D-SOUTH −270.00 − 300.00.
    assert_eq!(
        paid(&months[2].out),
        expect(&[
            ("D-NORTH", "2500.00"),
            ("D-SOUTH", "170.00"),
            ("R-ALPHA", "3600.00"),
            ("R-BRAVO", "1200.00"),
            ("R-CHARLIE", "2960.00"),
        ])
    );
    // Over the chain each partner got its rate on what the customers kept, e.g. R-BRAVO
    // 800 + 10 % × (30,000 − 9,000) + 70 % × 1,000 + 2,000 + 400 = 6,000.00; D-SOUTH
    // 200 + 3 % × 21,000 + 700 + 240 + 500 = 2,270.00.
    let mut total: BTreeMap<String, Decimal> = BTreeMap::new();
    for month in &months {
        for (partner, amount) in paid(&month.out) {
            *total.entry(partner).or_default() += amount;
        }
    }
    assert_eq!(
        total,
        expect(&[
            ("D-NORTH", "4140.00"),
            ("D-SOUTH", "2270.00"),
            ("R-ALPHA", "7840.00"),
            ("R-BRAVO", "6000.00"),
            ("R-CHARLIE", "4260.00"),
        ])
    );
    assert!(months.iter().all(|m| m.warnings.is_empty()));
}

/// SPEC §9.3 in programs/features.toml: referral fees (150.00 until 09-15, then 200.00) need the
/// channel team's approval (fixtures/approvals.csv) besides the 14-day hold.
#[test]
fn features_program_pays_referral_fees_once_approved_and_never_a_declined_one() {
    let scratch = tempfile::tempdir().unwrap();
    let months = run_chain(scratch.path(), "features.toml");
    let row = |partner: &str, account: &str, rule: &str, kind: &str, deal: &str, amount: &str| {
        (
            partner.to_string(),
            account.to_string(),
            rule.to_string(),
            kind.to_string(),
            deal.to_string(),
            d(amount),
        )
    };
    // August: D1001 (08-12) approved 08-20, hold over on 08-26: paid at once.
    assert_eq!(
        lines_of(&months[0].out, "referral-fee"),
        [row(
            "P001",
            "payout",
            "referral-fee-v1",
            "flat",
            "D1001",
            "150.00"
        )]
    );
    // September: D1010 (09-04) has its hold behind it (09-18) but no approval yet (it comes on
    // 10-05): it waits on pending, and P001 is paid nothing of it.
    assert_eq!(
        lines_of(&months[1].out, "referral-fee"),
        [row(
            "P001",
            "pending",
            "referral-fee-v1",
            "flat",
            "D1010",
            "150.00"
        )]
    );
    // October: D1010 approved → its release pair. D1018 declined 10-20 → not written, warned.
    // D1034 (10-19, approved 10-30) is still in its hold until 11-02; D1029 (P008) awaits a
    // decision; D1030 (approved 10-29) is in its hold until 11-10: all three pending.
    assert_eq!(
        lines_of(&months[2].out, "referral-fee"),
        [
            row(
                "P001",
                "pending",
                "referral-fee-v2",
                "flat",
                "D1034",
                "200.00"
            ),
            row(
                "P001",
                "pending",
                "referral-fee-v1",
                "release",
                "D1010",
                "-150.00"
            ),
            row(
                "P001",
                "payout",
                "referral-fee-v1",
                "release",
                "D1010",
                "150.00"
            ),
            row(
                "P008",
                "pending",
                "referral-fee-v2",
                "flat",
                "D1029",
                "200.00"
            ),
            row(
                "P008",
                "pending",
                "referral-fee-v2",
                "flat",
                "D1030",
                "200.00"
            ),
        ]
    );
    assert_eq!(months[2].warnings, ["declined"]);
    // P001 is paid the released 150.00 and ADJ-1014's 120.00 in October; P008 nothing yet, with
    // 400.00 pending.
    let october = paid(&months[2].out);
    assert_eq!(october["P001"], d("270.00"));
    assert_eq!(october["P008"], d("0.00"));
}

/// SPEC §9.1/§9.2 in programs/saas-affiliate.toml on fixtures/saas/: 30 % of every payment of the
/// first 12 months of a subscription, held 30 days from the payment; a 100.00 bounty on annual plans
/// once paid in full. The chain starts in August: INV-1001 (July) is before it, never taken.
#[test]
fn saas_affiliates_are_paid_on_cash_for_twelve_months_after_a_thirty_day_hold() {
    let scratch = tempfile::tempdir().unwrap();
    let months = run_chain(scratch.path(), "saas-affiliate.toml");
    let expect = |pairs: &[(&str, &str)]| -> BTreeMap<String, Decimal> {
        pairs.iter().map(|(p, a)| (p.to_string(), d(a))).collect()
    };
    let pending = |out: &Path| -> BTreeMap<String, Decimal> {
        rows(&out.join("payouts.csv"))
            .into_iter()
            .map(|r| (r["partner_id"].clone(), money(&r["pending"])))
            .collect()
    };
    // August: everything is held 30 days. A1 INV-1002 30 % × 100 = 30.00; A2 INV-1003 30 % × 600
    // = 180.00 and S2 paid in full on 08-03 (an annual plan): bounty 100.00, held from its close;
    // A3 INV-1004 30.00 (S3 closed 2025-09-10: its window runs to 2026-09-10).
    assert_eq!(
        paid(&months[0].out),
        expect(&[("A1", "0.00"), ("A2", "0.00"), ("A3", "0.00")])
    );
    assert_eq!(
        pending(&months[0].out),
        expect(&[("A1", "30.00"), ("A2", "280.00"), ("A3", "30.00")])
    );
    // September: the August lines' holds end (08-15 + 30 = 09-14, 08-03 + 30 = 09-02, 08-10 + 30
    // = 09-09): released and paid. INV-1006 (S3, paid 09-10, the window's end) is outside the 12
    // months: not paid. A1's INV-1005 30.00 and INV-1007 30 % × 1,200 = 360.00 wait.
    assert_eq!(
        paid(&months[1].out),
        expect(&[("A1", "30.00"), ("A2", "280.00"), ("A3", "30.00")])
    );
    let s3: Vec<_> = lines_of(&months[1].out, "recurring-")
        .into_iter()
        .filter(|l| l.4 == "INV-1006")
        .collect();
    assert!(s3.is_empty(), "{s3:?}");
    // October: INV-1005 and INV-1007 released (30 + 360); S4 paid in full on 10-20 (1,200 + 1,200)
    // and closed 09-20, 30 days before: bounty 100.00 at once; RF-1010 −200.00 refunds cash: 30 % ×
    // −200 = −60.00 clawed back at once. A1 paid 30 + 360 + 100 − 60 = 430.00; INV-1008 30.00 and
    // INV-1010 360.00 wait. INV-1009 (S3, 10-10) is outside the window.
    assert_eq!(paid(&months[2].out), expect(&[("A1", "430.00")]));
    assert_eq!(pending(&months[2].out)["A1"], d("390.00"));
    let refund: Vec<_> = lines_of(&months[2].out, "recurring-")
        .into_iter()
        .filter(|l| l.4 == "RF-1010")
        .collect();
    assert_eq!(
        refund,
        vec![(
            "A1".to_string(),
            "payout".to_string(),
            "recurring-commission".to_string(),
            "clawback".to_string(),
            "RF-1010".to_string(),
            d("-60.00")
        )]
    );
    // Every paid payment is carried with its cash part, down the chain.
    let carried = std::fs::read_to_string(months[2].out.join("paid_payments.csv")).unwrap();
    assert_eq!(carried.lines().count(), 1 + 8, "{carried}");
    assert!(
        !carried.contains("INV-1001") && !carried.contains("INV-1006"),
        "{carried}"
    );
}
