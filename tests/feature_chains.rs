//! SPEC §8 features through the chain when the month-end inputs are not what they were: a held line
//! whose deal row is missing from one month's export, or whose hold was shortened, is released when
//! the row is back, never stranded on the `pending` account (§8.2); a deal re-dated across the dates
//! of two versions of a rule is paid once (§8.6, §7).

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn program(hold_days: u32) -> String {
    format!(
        "[program]\nid = \"s\"\nname = \"S\"\ncurrency = \"USD\"\n\n[payout]\nhold_days = {hold_days}\n\n[[rules]]\nid = \"c\"\nkind = \"percent\"\nrate = \"0.10\"\n"
    )
}

/// Two versions of a commission: 10% until 15 September, 12% from 16 September.
const VERSIONS: &str = "[program]\nid = \"s\"\nname = \"S\"\ncurrency = \"USD\"\n\n[[rules]]\nid = \"old\"\nkind = \"percent\"\nrate = \"0.10\"\nvalid_until = 2026-09-15\n\n[[rules]]\nid = \"new\"\nkind = \"percent\"\nrate = \"0.12\"\nvalid_from = 2026-09-16\n";

struct Chain {
    dir: tempfile::TempDir,
}

impl Chain {
    fn new() -> Chain {
        let chain = Chain {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::write(
            chain.path("partners.csv"),
            "partner_id,name,type\nP1,One,reseller\n",
        )
        .unwrap();
        chain
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `period` with `deals` (rows after the header) and returns its --out.
    fn run(&self, hold_days: u32, period: &str, deals: &[&str], ledger: Option<&Path>) -> PathBuf {
        self.run_program(&program(hold_days), period, deals, ledger)
    }

    fn run_program(
        &self,
        program: &str,
        period: &str,
        deals: &[&str],
        ledger: Option<&Path>,
    ) -> PathBuf {
        std::fs::write(self.path("p.toml"), program).unwrap();
        let mut text = String::from("deal_id,partner_id,closed_on,amount\n");
        for d in deals {
            text.push_str(d);
            text.push('\n');
        }
        std::fs::write(self.path("deals.csv"), text).unwrap();
        let out = self.path(period);
        let mut cmd = Command::cargo_bin("payline").unwrap();
        cmd.arg("run")
            .arg("--program")
            .arg(self.path("p.toml"))
            .arg("--partners")
            .arg(self.path("partners.csv"))
            .arg("--deals")
            .arg(self.path("deals.csv"))
            .args(["--period", period, "--out"])
            .arg(&out);
        if let Some(prev) = ledger {
            cmd.arg("--ledger").arg(prev);
        }
        let output = cmd.output().unwrap();
        assert!(output.status.success(), "{output:?}");
        out
    }
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn a_held_line_whose_row_was_missing_for_a_month_is_released_when_it_is_back() {
    let chain = Chain::new();
    let d1 = "D1,P1,2026-09-10,1000.00";
    let d9 = "D9,P1,2026-10-15,10.00";
    let september = chain.run(30, "2026-09", &[d1], None);
    assert_eq!(
        read(september.join("balances.csv")),
        "partner_id,account,balance\nP1,pending,100.00\n"
    );
    // October's export lacks D1: its line stays pending, with a warning, and the manifest remembers
    // since when lines are pending.
    let october = chain.run(30, "2026-10", &[d9], Some(&september));
    assert!(read(october.join("manifest.json")).contains("\"pending_since\": \"2026-09-01\""));
    // November's export has D1 again, closed in September, beyond the 30-day window: released.
    let november = chain.run(30, "2026-11", &[d1, d9], Some(&october));
    let lines = read(november.join("lines.csv"));
    assert!(
        lines.contains("2026-11,P1,payout,c,release,deal,D1,,,100.00,"),
        "{lines}"
    );
    assert!(
        lines.contains("2026-11,P1,payout,,payout,payout,,,,-101.00,"),
        "{lines}"
    );
    assert_eq!(
        read(november.join("balances.csv")),
        "partner_id,account,balance\n"
    );
}

#[test]
fn a_held_line_is_released_after_hold_days_is_shortened() {
    let chain = Chain::new();
    let d1 = "D1,P1,2026-09-25,1000.00";
    let september = chain.run(30, "2026-09", &[d1], None);
    // hold_days is cut to 0 in October: the September line is no longer in any hold window, but it is
    // still released (its hold of 30 days from 09-25 ended on 10-25).
    let october = chain.run(0, "2026-10", &[d1], Some(&september));
    let lines = read(october.join("lines.csv"));
    assert!(
        lines.contains("2026-10,P1,payout,c,release,deal,D1,,,100.00,"),
        "{lines}"
    );
    assert_eq!(
        read(october.join("balances.csv")),
        "partner_id,account,balance\n"
    );
}

#[test]
fn a_deal_re_dated_across_two_versions_of_a_rule_is_paid_once() {
    let chain = Chain::new();
    let september = chain.run_program(VERSIONS, "2026-09", &["D1,P1,2026-09-10,1000.00"], None);
    assert!(
        read(september.join("lines.csv"))
            .contains("2026-09,P1,payout,old,percent,deal,D1,1000.00,0.1,100.00,")
    );
    // The CRM re-dates D1 into October: `new` (12%) would pay it again; the ledger shows `old` paid it.
    let october = chain.run_program(
        VERSIONS,
        "2026-10",
        &["D1,P1,2026-10-05,1000.00"],
        Some(&september),
    );
    let lines = read(october.join("lines.csv"));
    assert!(!lines.contains(",D1,"), "{lines}");
    let manifest = read(october.join("manifest.json"));
    assert!(manifest.contains("\"earned\": \"0.00\""), "{manifest}");
}

/// A group (SPEC §9.5): a launch rate until 15 September, then the group's default rate. Not
/// dated versions of each other (the default has no dates): only the group makes them one rule.
const GROUPED: &str = "[program]\nid = \"s\"\nname = \"S\"\ncurrency = \"USD\"\n\n[[rules]]\nid = \"launch\"\nkind = \"percent\"\ngroup = \"rates\"\nrate = \"0.15\"\nvalid_until = 2026-09-15\n\n[[rules]]\nid = \"default\"\nkind = \"percent\"\ngroup = \"rates\"\nrate = \"0.10\"\n";

#[test]
fn a_group_pays_a_re_dated_row_once_whichever_rule_takes_it_now() {
    let chain = Chain::new();
    let september = chain.run_program(
        GROUPED,
        "2026-09",
        &["D1,P1,2026-09-10,1000.00", "D2,P1,2026-09-20,1000.00"],
        None,
    );
    let lines = read(september.join("lines.csv"));
    // D1 inside the launch dates: launch takes it (15 %); D2 after them: default (10 %).
    assert!(
        lines.contains("2026-09,P1,payout,launch,percent,deal,D1,1000.00,0.15,150.00,"),
        "{lines}"
    );
    assert!(
        lines.contains("2026-09,P1,payout,default,percent,deal,D2,1000.00,0.1,100.00,"),
        "{lines}"
    );
    assert!(!lines.contains("default,percent,deal,D1,"), "{lines}");
    // D1 re-dated into October: `default` takes it now, but the group paid it in September.
    let october = chain.run_program(
        GROUPED,
        "2026-10",
        &["D1,P1,2026-10-05,1000.00", "D2,P1,2026-09-20,1000.00"],
        Some(&september),
    );
    let lines = read(october.join("lines.csv"));
    assert!(!lines.contains(",D1,"), "{lines}");
    let manifest = read(october.join("manifest.json"));
    assert!(manifest.contains("\"earned\": \"0.00\""), "{manifest}");
}

#[test]
fn an_adjustment_added_for_a_month_already_run_is_named_not_silently_dropped() {
    let chain = Chain::new();
    let adjustments = chain.path("adjustments.csv");
    std::fs::write(
        &adjustments,
        "adjustment_id,partner_id,amount,reason,decided_on\nJ1,P1,25.00,Goodwill,2026-09-05\n",
    )
    .unwrap();
    let run = |period: &str, ledger: Option<&Path>| {
        let out = chain.path(period);
        let mut cmd = Command::cargo_bin("payline").unwrap();
        std::fs::write(chain.path("p.toml"), program(0)).unwrap();
        std::fs::write(
            chain.path("deals.csv"),
            "deal_id,partner_id,closed_on,amount\n",
        )
        .unwrap();
        cmd.arg("run")
            .arg("--program")
            .arg(chain.path("p.toml"))
            .arg("--partners")
            .arg(chain.path("partners.csv"))
            .arg("--deals")
            .arg(chain.path("deals.csv"))
            .arg("--adjustments")
            .arg(&adjustments)
            .args(["--period", period, "--json", "--out"])
            .arg(&out);
        if let Some(prev) = ledger {
            cmd.arg("--ledger").arg(prev);
        }
        let output = cmd.output().unwrap();
        assert!(output.status.success(), "{output:?}");
        (out, String::from_utf8(output.stdout).unwrap())
    };
    let (september, _) = run("2026-09", None);
    // Someone adds J0, dated in September, after September's batch ran.
    std::fs::write(&adjustments, "adjustment_id,partner_id,amount,reason,decided_on\nJ0,P1,40.00,Late goodwill,2026-09-28\nJ1,P1,25.00,Goodwill,2026-09-05\n").unwrap();
    let (october, summary) = run("2026-10", Some(&september));
    assert!(
        summary.contains("\"code\": \"adjustment-not-applied\""),
        "{summary}"
    );
    assert!(summary.contains("adjustment J0 of partner P1 is decided on 2026-09-28, before 2026-10, and the ledger shows it never applied"), "{summary}");
    // J1, applied in September, raises nothing; nothing is applied in October.
    assert!(!summary.contains("J1"), "{summary}");
    assert!(!read(october.join("lines.csv")).contains("adjustment"));
}

/// Retroactive 5%, 10% from 20,000, accumulated over the quarter.
const QUARTERLY: &str = "[program]\nid = \"s\"\nname = \"S\"\ncurrency = \"USD\"\n\n[[rules]]\nid = \"q\"\nkind = \"tiered\"\nmode = \"retroactive\"\naccumulate = \"quarter\"\ntiers = [{ from = \"0\", rate = \"0.05\" }, { from = \"20000\", rate = \"0.10\" }]\n";

fn rule_total(file: PathBuf) -> rust_decimal::Decimal {
    let mut total = rust_decimal::Decimal::ZERO;
    for line in read(file).lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        if cells[3] == "q" {
            total += cells[9].parse::<rust_decimal::Decimal>().unwrap();
        }
    }
    total
}

#[test]
fn a_deal_re_dated_within_the_quarter_is_re_rated_like_the_others() {
    let chain = Chain::new();
    let d1_oct = "D1,P1,2026-10-10,15000.00";
    let d0 = "D0,P1,2026-11-10,1.00";
    let october = chain.run_program(QUARTERLY, "2026-10", &[d1_oct], None);
    let november = chain.run_program(QUARTERLY, "2026-11", &[d1_oct, d0], Some(&october));
    // December: D1 is re-dated to 12-05 and D2 brings the quarter over 20,000: every deal at 10%.
    let december_rows = ["D1,P1,2026-12-05,15000.00", d0, "D2,P1,2026-12-10,10000.00"];
    let december = chain.run_program(QUARTERLY, "2026-12", &december_rows, Some(&november));
    let chain_total = rule_total(december.join("ledger.csv"));
    let quarter = chain.run_program(QUARTERLY, "2026-Q4", &december_rows, None);
    // One Q4 run: 25,001.00 at 10% = 1500.00 + 0.10 + 1000.00 = 2500.10.
    assert_eq!(
        rule_total(quarter.join("lines.csv")),
        "2500.10".parse().unwrap()
    );
    assert_eq!(
        chain_total,
        "2500.10".parse().unwrap(),
        "{}",
        read(december.join("lines.csv"))
    );
}

/// payline's own files are never read as a report: a partner whose id reads `TOTAL` (sorting last in
/// balances.csv) keeps its carried balance through the chain.
#[test]
fn a_partner_named_like_a_totals_row_is_carried_through_the_chain() {
    let chain = Chain::new();
    std::fs::write(chain.path("partners.csv"), "partner_id,name,type,kyc_verified\nP1,One,reseller,true\nTOTAL,Total Desk,reseller,false\n").unwrap();
    let october = chain.run(0, "2026-10", &["D1,TOTAL,2026-10-05,1500.00"], None);
    assert!(read(october.join("balances.csv")).ends_with("TOTAL,payout,150.00\n"));
    let november = chain.run(
        0,
        "2026-11",
        &["D1,TOTAL,2026-10-05,1500.00"],
        Some(&october),
    );
    assert!(read(november.join("balances.csv")).contains("TOTAL,payout,150.00"));
}

/// SPEC §4.12: the quarter's last month records each row's part of the quarter's true-ups in
/// true_up_parts.csv; every later batch carries the file, verified like ledger.csv, so a part edited
/// by hand is refused.
#[test]
fn the_parts_of_a_quarters_true_ups_are_carried_and_verified() {
    let chain = Chain::new();
    let retro = "[program]\nid = \"s\"\nname = \"S\"\ncurrency = \"USD\"\n\n[[rules]]\nid = \"q\"\nkind = \"tiered\"\nmode = \"retroactive\"\naccumulate = \"quarter\"\ntiers = [{ from = \"0\", rate = \"0.05\" }, { from = \"20000\", rate = \"0.08\" }]\n";
    let rows = ["D1,P1,2026-10-10,10000.00", "D2,P1,2026-11-10,15000.00"];
    let october = chain.run_program(retro, "2026-10", &rows, None);
    assert!(!october.join("true_up_parts.csv").exists());
    let november = chain.run_program(retro, "2026-11", &rows, Some(&october));
    let december = chain.run_program(retro, "2026-12", &rows, Some(&november));
    // D1: 800.00 over the quarter less its own 500.00.
    let parts = "span,partner_id,rule_id,deal_id,part\n2026-Q4,P1,q,D1,300.00\n";
    assert_eq!(read(december.join("true_up_parts.csv")), parts);
    let january = chain.run_program(retro, "2027-01", &rows, Some(&december));
    assert_eq!(read(january.join("true_up_parts.csv")), parts);
    assert!(read(january.join("manifest.json")).contains("\"true_up_parts.csv\""));

    std::fs::write(
        december.join("true_up_parts.csv"),
        parts.replace("300.00", "0.00"),
    )
    .unwrap();
    std::fs::write(
        chain.path("deals.csv"),
        "deal_id,partner_id,closed_on,amount\n",
    )
    .unwrap();
    let output = Command::cargo_bin("payline")
        .unwrap()
        .args(["run", "--period", "2027-01", "--program"])
        .arg(chain.path("p.toml"))
        .arg("--partners")
        .arg(chain.path("partners.csv"))
        .arg("--deals")
        .arg(chain.path("deals.csv"))
        .arg("--ledger")
        .arg(&december)
        .arg("--out")
        .arg(chain.path("january-again"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("true_up_parts.csv: changed since payline wrote it"),
        "{stderr}"
    );
}
