//! SPEC §9.1 through the chain when the month's exports are not what they were: a paid payment that
//! moved to another deal or partner is refused (it would be paid again there), and a `full-payment`
//! rule pays a row whose full payment arrives late even when the chain's first month wrote nothing.

mod common;

use common::Workdir;
use std::path::PathBuf;

const FILES: &[&str] = &["program.toml", "partners.csv", "deals.csv", "payments.csv"];

struct Chain {
    work: Workdir,
}

impl Chain {
    fn new(program: &str, deals: &str) -> Chain {
        let work = Workdir::new();
        let head = "[program]\nid = \"t\"\nname = \"T\"\ncurrency = \"USD\"\n";
        work.write("program.toml", &format!("{head}{program}"));
        work.write("partners.csv", "partner_id,name,type\nP1,One,affiliate\n");
        work.write("deals.csv", deals);
        Chain { work }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.work.path(name)
    }

    /// Runs `period` over the month's payments.csv (`payments`: rows after the header), into
    /// `--out PERIOD`, with the previous month's batch as --ledger when given.
    fn run(
        &self,
        period: &str,
        payments: &[&str],
        ledger: Option<&std::path::Path>,
    ) -> (PathBuf, std::process::Output) {
        let mut text = String::from("payment_id,deal_id,paid_on,amount\n");
        for p in payments {
            text.push_str(p);
            text.push('\n');
        }
        self.work.write("payments.csv", &text);
        let mut cmd = self.work.run_over(FILES, period, period);
        if let Some(prev) = ledger {
            cmd.arg("--ledger").arg(prev);
        }
        (self.path(period), cmd.output().unwrap())
    }
}

#[test]
fn a_paid_payment_moved_to_another_deal_is_refused_not_paid_again() {
    let chain = Chain::new(
        "[[rules]]\nid = \"cash\"\nkind = \"percent\"\nrate = \"0.10\"\npay_on = \"payment\"\n",
        "deal_id,partner_id,closed_on,amount\nD1,P1,2026-10-01,1000.00\nD2,P1,2026-10-01,1000.00\n",
    );
    let (october, output) = chain.run("2026-10", &["X,D1,2026-10-05,600.00"], None);
    assert!(output.status.success(), "{output:?}");
    // November's export moves X to D2 and pays D1 in full with Y: paid on, X would leave D1's
    // 60.00 standing and Y pay 100.00 more (160.00 for a 1,000.00 deal at 10 %).
    let (_, output) = chain.run(
        "2026-11",
        &["X,D2,2026-10-05,600.00", "Y,D1,2026-11-05,1000.00"],
        Some(&october),
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("payments.csv:2: column `deal_id`")
            && stderr.contains("paid payment X")
            && stderr.contains("(value: `D2`)"),
        "{stderr}"
    );
    assert!(!chain.path("2026-11").exists());
}

#[test]
fn a_full_payment_that_arrives_late_is_paid_even_after_a_month_without_lines() {
    let chain = Chain::new(
        "[[rules]]\nid = \"bounty\"\nkind = \"flat\"\namount = \"100.00\"\npay_on = \"full-payment\"\n\n[[rules]]\nid = \"pct\"\nkind = \"percent\"\nrate = \"0.10\"\npay_on = \"full-payment\"\n",
        "deal_id,partner_id,closed_on,amount\nD1,P1,2026-10-05,1000.00\nD2,P1,2026-10-05,500.00\n",
    );
    // October: D2 400.00 of 500.00 paid, nothing written. November: D1 paid in full on 11-03.
    let (october, output) = chain.run("2026-10", &["C,D2,2026-10-31,400.00"], None);
    assert!(output.status.success(), "{output:?}");
    let (november, output) = chain.run(
        "2026-11",
        &["C,D2,2026-10-31,400.00", "A,D1,2026-11-03,1000.00"],
        Some(&october),
    );
    assert!(output.status.success(), "{output:?}");
    // December's export shows E, 100.00 for D2 dated 10-30: D2 was paid in full on 10-31, in the
    // chain's first month, so this run pays it: 100.00 + 10 % × 500.00 = 150.00, warned late.
    let (december, output) = chain.run(
        "2026-12",
        &[
            "C,D2,2026-10-31,400.00",
            "A,D1,2026-11-03,1000.00",
            "E,D2,2026-10-30,100.00",
        ],
        Some(&november),
    );
    assert!(output.status.success(), "{output:?}");
    let lines = std::fs::read_to_string(december.join("lines.csv")).unwrap();
    assert!(
        lines.contains("2026-12,P1,payout,bounty,flat,deal,D2,1,100,100.00,"),
        "{lines}"
    );
    assert!(
        lines.contains("2026-12,P1,payout,pct,percent,deal,D2,500.00,0.1,50.00,"),
        "{lines}"
    );
    assert!(!lines.contains(",D1,"), "{lines}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("was paid in full on 2026-10-31"),
        "{stdout}"
    );
}
