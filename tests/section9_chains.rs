//! SPEC §9.1 through the chain when the month's exports are not what they were: a paid payment that
//! moved to another deal or partner is refused (it would be paid again there), and a `full-payment`
//! rule pays a row whose full payment arrives late even when the chain's first month wrote nothing.
//! And the payments whose deals the deal stream does not keep in full (paid before the chain's first
//! day on rows closed before it, or after the period): a run pays exactly what it would with every
//! row kept, a paid payment re-dated out of reach included.

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

/// Lines of `rule` in a batch's lines.csv, as (source_id, account, amount).
fn lines_of(batch: &std::path::Path, rule: &str) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(batch.join("lines.csv")).unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let head = rows.headers().unwrap().clone();
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let (r, s, a, m) = (
        col("rule_id"),
        col("source_id"),
        col("account"),
        col("amount"),
    );
    rows.records()
        .map(Result::unwrap)
        .filter(|row| &row[r] == rule)
        .map(|row| (row[s].to_string(), row[a].to_string(), row[m].to_string()))
        .collect()
}

#[test]
fn payments_before_the_chain_or_after_the_period_pay_as_their_dates_say() {
    let chain = Chain::new(
        "[[rules]]\nid = \"cash\"\nkind = \"percent\"\nrate = \"0.10\"\npay_on = \"payment\"\n",
        "deal_id,partner_id,closed_on,amount\nD1,P1,2026-10-10,1000.00\nD2,P1,2026-08-01,1000.00\nD3,P1,2026-10-02,1000.00\n",
    );
    // A: paid before October, the chain's first month, for a deal closed in it: its date is the
    // close, 10-10, so October pays it (10 % × 600.00). B: paid before the chain for a deal closed
    // before it: no run of this chain pays it. C: paid in November: October does not pay it.
    let payments = [
        "A,D1,2026-09-20,600.00",
        "B,D2,2026-09-15,1000.00",
        "C,D3,2026-11-05,500.00",
    ];
    let (october, output) = chain.run("2026-10", &payments, None);
    assert!(output.status.success(), "{output:?}");
    let paid =
        |source: &str, amount: &str| (source.to_string(), "payout".to_string(), amount.to_string());
    assert_eq!(lines_of(&october, "cash"), [paid("A", "60.00")]);
    let (november, output) = chain.run("2026-11", &payments, Some(&october));
    assert!(output.status.success(), "{output:?}");
    assert_eq!(lines_of(&november, "cash"), [paid("C", "50.00")]);
}

#[test]
fn a_held_payment_re_dated_before_the_chain_is_still_released() {
    let chain = Chain::new(
        "[payout]\nhold_days = 30\n\n[[rules]]\nid = \"cash\"\nkind = \"percent\"\nrate = \"0.10\"\npay_on = \"payment\"\n",
        "deal_id,partner_id,closed_on,amount\nD1,P1,2026-09-01,1000.00\n",
    );
    // October (the chain's first month) pays X, 1,000.00 on 10-20, held 30 days: 100.00 pending.
    let (october, output) = chain.run("2026-10", &["X,D1,2026-10-20,1000.00"], None);
    assert!(output.status.success(), "{output:?}");
    let held = |account: &str| ("X".to_string(), account.to_string(), "100.00".to_string());
    assert_eq!(lines_of(&october, "cash"), [held("pending")]);
    // November's export dates X 08-15: before the chain's first day, on a deal closed before it.
    // X was paid as of 10-20, so it is taken as of then: its hold ends 11-19 and November releases
    // it (a release pair), warning that the export re-dated a paid payment.
    let (november, output) = chain.run("2026-11", &["X,D1,2026-08-15,1000.00"], Some(&october));
    assert!(output.status.success(), "{output:?}");
    let release =
        |account: &str, amount: &str| ("X".to_string(), account.to_string(), amount.to_string());
    assert_eq!(
        lines_of(&november, "cash"),
        [release("pending", "-100.00"), release("payout", "100.00")]
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("is now dated 2026-08-15"), "{stdout}");
}

#[test]
fn a_partial_reversal_in_the_period_completes_a_payment_made_before_the_chain() {
    let chain = Chain::new(
        "[[rules]]\nid = \"bounty\"\nkind = \"flat\"\namount = \"100.00\"\npay_on = \"full-payment\"\n",
        "deal_id,partner_id,closed_on,amount,status,reversed_on,reversed_amount\nD1,P1,2026-08-01,1000.00,refunded,2026-10-15,200.00\n",
    );
    // 800.00 paid in September, before the chain's first month; on 10-15 the customer returns
    // 200.00 of the deal, so from then on 800.00 is the whole of it (SPEC §9.6): paid in full on
    // 10-15, and October pays the bounty.
    let (october, output) = chain.run("2026-10", &["P,D1,2026-09-10,800.00"], None);
    assert!(output.status.success(), "{output:?}");
    let bounty = ("D1".to_string(), "payout".to_string(), "100.00".to_string());
    assert_eq!(lines_of(&october, "bounty"), [bounty]);
}

#[test]
fn a_paid_payment_missing_from_the_export_is_named_as_missing_whatever_else_it_holds() {
    let chain = Chain::new(
        "[[rules]]\nid = \"cash\"\nkind = \"percent\"\nrate = \"0.10\"\npay_on = \"payment\"\n",
        "deal_id,partner_id,closed_on,amount\nD1,P1,2026-10-01,1000.00\nD2,P1,2026-10-01,1000.00\n",
    );
    let (october, output) = chain.run("2026-10", &["X,D1,2026-10-05,600.00"], None);
    assert!(output.status.success(), "{output:?}");
    // November's export lost X and holds only a December payment of D2, which no November run
    // pays on (so none of the file's payments reaches the engine).
    let (_, output) = chain.run("2026-11", &["Y,D2,2026-12-05,400.00"], Some(&october));
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("paid payment X") && stderr.contains("it is no longer in payments.csv"),
        "{stderr}"
    );
}

#[test]
fn a_row_of_amount_0_that_arrives_late_is_not_paid_whatever_payments_name_it() {
    let chain = Chain::new(
        "[[rules]]\nid = \"bounty\"\nkind = \"flat\"\namount = \"100.00\"\npay_on = \"full-payment\"\n",
        "deal_id,partner_id,closed_on,amount\nD1,P1,2026-10-05,0\n",
    );
    // October: D1, amount 0, is paid in full on its close: the bounty.
    let (october, output) = chain.run("2026-10", &[], None);
    assert!(output.status.success(), "{output:?}");
    let bounty = |id: &str| (id.to_string(), "payout".to_string(), "100.00".to_string());
    assert_eq!(lines_of(&october, "bounty"), [bounty("D1")]);
    // November's export adds D0, amount 0, closed in October: a row that arrived late, paid by no
    // rule (SPEC §2), even though a November payment names its deal.
    chain.work.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount\nD1,P1,2026-10-05,0\nD0,P1,2026-10-20,0\n",
    );
    let (november, output) = chain.run("2026-11", &["Z,D0,2026-11-03,50.00"], Some(&october));
    assert!(output.status.success(), "{output:?}");
    assert_eq!(lines_of(&november, "bounty"), []);
}
