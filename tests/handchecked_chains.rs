//! Three-month chains a cold hand-check found wrong, each with the arithmetic done by hand:
//! a `full-payment` line awaiting approval for a row that closed before the month it was written
//! (released once approved, never stuck), a declined `full-payment` row (quiet afterwards, paid
//! only if its decision is changed to an approval, saying so), and a group whose accumulating rule
//! now takes a row another rule of the group paid (left out of its true-up, SPEC §7, §9.5).

mod common;

use common::{CORE_FILES, Workdir, csv_rows};
use std::path::Path;

const HEAD: &str = "[program]\nid = \"t\"\nname = \"T\"\ncurrency = \"USD\"\n";
const FULL_MANUAL: &str = "[[rules]]\nid = \"full\"\nkind = \"percent\"\nrate = \"0.05\"\n\
                           pay_on = \"full-payment\"\napproval = \"manual\"\n";

/// One row's cells of lines.csv, as `kind account amount`.
fn lines(out: &Path) -> Vec<String> {
    csv_rows(&out.join("lines.csv"))
        .iter()
        .filter(|r| r["kind"] != "payout")
        .map(|r| format!("{} {} {}", r["kind"], r["account"], r["amount"]))
        .collect()
}

/// One row's cells of lines.csv, as `rule source_id amount` (payout lines left out).
fn rule_lines(out: &Path) -> Vec<String> {
    csv_rows(&out.join("lines.csv"))
        .iter()
        .filter(|r| r["kind"] != "payout")
        .map(|r| format!("{} {} {}", r["rule_id"], r["source_id"], r["amount"]))
        .collect()
}

/// `payline run` of `period` over the work directory's files, the previous batch as --ledger (or
/// `--first`); its warnings (stdout of `--json`) returned.
fn run(work: &Workdir, files: &[&str], period: &str, ledger: Option<&str>) -> String {
    let mut cmd = work.run_over(files, period, period);
    match ledger {
        Some(prev) => cmd.args(["--ledger", prev]),
        None => cmd.arg("--first"),
    };
    let output = cmd.arg("--json").output().unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// Group `resale`: named-accounts (15 % of enterprise deals), then q-accel (tiered over the quarter
/// to date, retroactive: 4 % from 0, 7 % from 20,000.00); one reseller R1.
fn resale_group() -> Workdir {
    let work = Workdir::new();
    let program = "[[rules]]\nid = \"named-accounts\"\nkind = \"percent\"\ngroup = \"resale\"\n\
                   rate = \"0.15\"\nwhen = { customer_type = [\"enterprise\"] }\n\n\
                   [[rules]]\nid = \"q-accel\"\nkind = \"tiered\"\ngroup = \"resale\"\n\
                   measure = \"revenue\"\nmode = \"retroactive\"\naccumulate = \"quarter\"\n\
                   tiers = [ { from = \"0\", rate = \"0.04\" }, { from = \"20000\", rate = \"0.07\" } ]\n";
    work.write("program.toml", &format!("{HEAD}{program}"));
    work.write("partners.csv", "partner_id,name,type\nR1,One,reseller\n");
    work
}

const CASH_FILES: &[&str] = &["program.toml", "partners.csv", "deals.csv", "payments.csv"];

/// A work directory with `program`, one affiliate P1, and the first month's deals and payments.
fn affiliate_chain(program: &str, deals: &str, payments: &str) -> Workdir {
    let work = Workdir::new();
    work.write("program.toml", program);
    work.write("partners.csv", "partner_id,name,type\nP1,One,affiliate\n");
    work.write("deals.csv", deals);
    work.write("payments.csv", payments);
    work
}

/// The partner's HTML statement of the batch `batch`, rendered by `payline statements`.
fn statement(work: &Workdir, batch: &str, partner: &str) -> String {
    let out = format!("statements-{batch}");
    let output = work
        .payline()
        .args(["statements", batch, "--format", "html", "--out", &out])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    work.read(&format!("{out}/{partner}.html"))
}

fn full_payment_chain(approvals: &str) -> Workdir {
    let work = Workdir::new();
    work.write("program.toml", &format!("{HEAD}{FULL_MANUAL}"));
    work.write("partners.csv", "partner_id,name,type\nR1,One,reseller\n");
    work.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount\nE1,R1,2026-10-01,1000.00\n",
    );
    work.write(
        "payments.csv",
        "payment_id,deal_id,paid_on,amount\nEP1,E1,2026-11-03,1000.00\n",
    );
    work.write("approvals.csv", approvals);
    work
}

const FILES: &[&str] = &[
    "program.toml",
    "partners.csv",
    "deals.csv",
    "payments.csv",
    "approvals.csv",
];
const DECISION_HEAD: &str = "deal_id,partner_id,rule_id,decision,decided_on,reason\n";

#[test]
fn a_full_payment_line_awaiting_approval_is_released_when_approved() {
    // E1 (1,000.00) closed 2026-10-01, paid in full on 2026-11-03: November writes 5 % = 50.00 on
    // `pending`, awaiting approval. The approval is dated 2026-12-01: December releases the 50.00
    // (−50.00 pending, +50.00 payout), though the row closed two months before.
    let work = full_payment_chain(&format!(
        "{DECISION_HEAD}E1,R1,full,approved,2026-12-01,ok\n"
    ));
    run(&work, FILES, "2026-10", None);
    run(&work, FILES, "2026-11", Some("2026-10"));
    assert_eq!(lines(&work.path("2026-11")), ["percent pending 50.00"]);
    // Its row closed in October, yet the statements' deal list names it (what the line is for).
    let named = csv_rows(&work.path("2026-11").join("statement_deals.csv"));
    let named: Vec<(&str, &str)> = (named.iter())
        .map(|r| (r["deal_id"].as_str(), r["closed_on"].as_str()))
        .collect();
    assert_eq!(named, [("E1", "2026-10-01")]);
    // The partner reads that the line waits for a decision, not for a refund window.
    let page = statement(&work, "2026-11", "R1");
    assert!(page.contains("pending (awaiting approval)"), "{page}");
    assert!(!page.contains("refund window"), "{page}");
    let warnings = run(&work, FILES, "2026-12", Some("2026-11"));
    assert!(!warnings.contains("pending-deal-missing"), "{warnings}");
    assert_eq!(
        lines(&work.path("2026-12")),
        ["release pending -50.00", "release payout 50.00"]
    );
}

#[test]
fn a_declined_full_payment_row_stays_quiet_and_an_appeal_pays_it_saying_why() {
    // Declined on 2026-11-10, in the month E1 was paid in full: November writes nothing (warned
    // `declined`). December sees the same decision: nothing, and no `late-payment` warning (the
    // payment is not late; November saw it). January's file says approved on 2027-01-05 (an
    // appeal): January pays the 50.00 and its warning names the approval.
    let declined = format!("{DECISION_HEAD}E1,R1,full,declined,2026-11-10,not ours\n");
    let work = full_payment_chain(&declined);
    run(&work, FILES, "2026-10", None);
    let november = run(&work, FILES, "2026-11", Some("2026-10"));
    assert!(november.contains("declined"), "{november}");
    let december = run(&work, FILES, "2026-12", Some("2026-11"));
    assert!(!december.contains("late-payment"), "{december}");
    assert!(lines(&work.path("2026-12")).is_empty());
    work.write(
        "approvals.csv",
        &format!("{DECISION_HEAD}E1,R1,full,approved,2027-01-05,appeal won\n"),
    );
    let january = run(&work, FILES, "2027-01", Some("2026-12"));
    assert_eq!(lines(&work.path("2027-01")), ["percent payout 50.00"]);
    assert!(
        january.contains("approved on 2027-01-05 (appeal won), and no earlier run paid it"),
        "{january}"
    );
}

#[test]
fn a_row_paid_by_one_rule_of_a_group_is_outside_another_rules_true_up() {
    // January: L2 (5,000.00, enterprise) is paid by named-accounts, 15 % = 750.00; L1 (8,000.00,
    // smb) by q-accel at 4 % = 320.00 (quarter to date 8,000.00 < 20,000.00).
    // February's export re-labels L2 `smb` and adds L3 (9,000.00, smb). q-accel now takes L2: the
    // quarter's revenue is 8,000 + 5,000 + 9,000 = 22,000.00 ≥ 20,000.00, so 7 % on every row. L3:
    // 630.00. The true-up re-rates January's rows q-accel paid, L1 only: 8,000 × 7 % = 560.00 due,
    // 320.00 paid → 240.00. L2 was paid by named-accounts: not paid again (350.00 more before).
    let work = resale_group();
    let head = "deal_id,partner_id,closed_on,amount,customer_type\n";
    work.write(
        "deals.csv",
        &format!("{head}L1,R1,2027-01-10,8000.00,smb\nL2,R1,2027-01-25,5000.00,enterprise\n"),
    );
    let files = &["program.toml", "partners.csv", "deals.csv"];
    run(&work, files, "2027-01", None);
    assert_eq!(
        lines(&work.path("2027-01")),
        ["percent payout 750.00", "tiered payout 320.00"]
    );
    work.write(
        "deals.csv",
        &format!(
            "{head}L1,R1,2027-01-10,8000.00,smb\nL2,R1,2027-01-25,5000.00,smb\n\
             L3,R1,2027-02-14,9000.00,smb\n"
        ),
    );
    run(&work, files, "2027-02", Some("2027-01"));
    let february = csv_rows(&work.path("2027-02").join("lines.csv"));
    let amounts: Vec<(&str, &str)> = february
        .iter()
        .map(|r| (r["kind"].as_str(), r["amount"].as_str()))
        .collect();
    assert_eq!(
        amounts,
        [
            ("tiered", "630.00"),
            ("true-up", "240.00"),
            ("payout", "-870.00")
        ]
    );
    assert!(
        february[1]["note"].contains("L2 (paid by rule `named-accounts`)"),
        "{}",
        february[1]["note"]
    );
}

#[test]
fn an_overpayment_is_warned_once_for_a_full_payment_rule_too() {
    // F1 8,000.00: A1 2,000.00 on 10-05, A2 6,500.00 on 10-20. Covered 2,000 → 8,000: A2's part is
    // 6,000.00, 500.00 beyond the row's amount. `full` (5 %, paid in full on 10-20) pays 400.00 and
    // `cash` (10 % of each part) 200.00 + 600.00, in the program's order; both see A2's
    // overpayment, said once.
    let work = Workdir::new();
    let program = "[[rules]]\nid = \"full\"\nkind = \"percent\"\nrate = \"0.05\"\n\
                   pay_on = \"full-payment\"\n\n[[rules]]\nid = \"cash\"\nkind = \"percent\"\n\
                   rate = \"0.10\"\npay_on = \"payment\"\n";
    work.write("program.toml", &format!("{HEAD}{program}"));
    work.write("partners.csv", "partner_id,name,type\nR1,One,reseller\n");
    work.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount\nF1,R1,2026-10-01,8000.00\n",
    );
    work.write(
        "payments.csv",
        "payment_id,deal_id,paid_on,amount\nA1,F1,2026-10-05,2000.00\nA2,F1,2026-10-20,6500.00\n",
    );
    let files = &["program.toml", "partners.csv", "deals.csv", "payments.csv"];
    let said = "payment A2 of deal F1 (6500.00) goes beyond the row's amount 8000.00: only 6000.00 of it counts";
    let full_only = program.split("\n\n").next().unwrap();
    work.write("program.toml", &format!("{HEAD}{full_only}"));
    let warnings = run(&work, files, "2026-10", None);
    assert_eq!(warnings.matches(said).count(), 1, "{warnings}");
    work.write("program.toml", &format!("{HEAD}{program}"));
    std::fs::remove_dir_all(work.path("2026-10")).unwrap();
    let warnings = run(&work, files, "2026-10", None);
    assert_eq!(warnings.matches(said).count(), 1, "{warnings}");
    assert_eq!(
        lines(&work.path("2026-10")),
        [
            "percent payout 400.00",
            "percent payout 200.00",
            "percent payout 600.00"
        ]
    );
}

#[test]
fn an_appeal_of_a_close_rules_declined_row_is_warned_not_paid() {
    // G4 closed 2026-11-02; `reg-fee` (flat 300.00, manual) is declined on 11-15: November writes
    // nothing. December's file says approved on 12-01 (an appeal): November's period is over, so
    // nothing is paid, and the run says so (an appeal is paid with adjustments.csv). The decisions
    // name no rule, so they are for every manual rule: `agency-fee` (agencies only) could never pay
    // P2's row and is not named.
    let work = Workdir::new();
    let program = "[[rules]]\nid = \"reg-fee\"\nkind = \"flat\"\namount = \"300.00\"\n\
                   approval = \"manual\"\n\n[[rules]]\nid = \"agency-fee\"\nkind = \"flat\"\n\
                   amount = \"50.00\"\napproval = \"manual\"\n\
                   when = { partner_type = [\"agency\"] }\n";
    work.write("program.toml", &format!("{HEAD}{program}"));
    work.write("partners.csv", "partner_id,name,type\nP2,Two,referral\n");
    work.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount\nG4,P2,2026-11-02,1000.00\n",
    );
    let files = &["program.toml", "partners.csv", "deals.csv", "approvals.csv"];
    work.write(
        "approvals.csv",
        &format!("{DECISION_HEAD}G4,P2,,declined,2026-11-15,duplicate\n"),
    );
    run(&work, files, "2026-10", None);
    let november = run(&work, files, "2026-11", Some("2026-10"));
    assert!(november.contains("declined on 2026-11-15"), "{november}");
    assert!(lines(&work.path("2026-11")).is_empty());
    work.write(
        "approvals.csv",
        &format!("{DECISION_HEAD}G4,P2,,approved,2026-12-01,appeal accepted\n"),
    );
    let december = run(&work, files, "2026-12", Some("2026-11"));
    assert!(lines(&work.path("2026-12")).is_empty());
    assert!(
        december.contains(
            "G4/P2 approved on 2026-12-01 (appeal accepted) for `reg-fee`, but its period was run before without a line of it"
        ) && december.contains("an appeal is paid with adjustments.csv"),
        "{december}"
    );
    assert!(!december.contains("for `agency-fee`"), "{december}");
}

#[test]
fn a_group_pays_a_row_once_whether_its_rules_pay_on_payment_or_on_close() {
    // Group g: `cashx` 10 % of payments of product x rows, then `closeall` 5 % on close.
    // October: T1 (P1, x, 1,000.00) is paid by cashx on U1 500.00 → 50.00; T2 (P2, y, 1,000.00)
    // by closeall → 50.00. November's export re-dates T1 into November and re-labels it y
    // (closeall would pay 50.00), and re-labels T2 x (cashx would pay U2 1,000.00 → 100.00): each
    // row was paid by a rule of the group, so nothing is paid, each warned `deal-paid-already`.
    let work = Workdir::new();
    let program = "[[rules]]\nid = \"cashx\"\nkind = \"percent\"\nrate = \"0.10\"\n\
                   pay_on = \"payment\"\ngroup = \"g\"\nwhen = { product = [\"x\"] }\n\n\
                   [[rules]]\nid = \"closeall\"\nkind = \"percent\"\nrate = \"0.05\"\ngroup = \"g\"\n";
    work.write("program.toml", &format!("{HEAD}{program}"));
    work.write(
        "partners.csv",
        "partner_id,name,type\nP1,One,reseller\nP2,Two,reseller\n",
    );
    let head = "deal_id,partner_id,closed_on,amount,product\n";
    work.write(
        "deals.csv",
        &format!("{head}T1,P1,2026-10-05,1000.00,x\nT2,P2,2026-10-06,1000.00,y\n"),
    );
    work.write(
        "payments.csv",
        "payment_id,deal_id,paid_on,amount\nU1,T1,2026-10-10,500.00\nU2,T2,2026-11-10,1000.00\n",
    );
    let files = &["program.toml", "partners.csv", "deals.csv", "payments.csv"];
    run(&work, files, "2026-10", None);
    assert_eq!(
        lines(&work.path("2026-10")),
        ["percent payout 50.00", "percent payout 50.00"]
    );
    work.write(
        "deals.csv",
        &format!("{head}T1,P1,2026-11-05,1000.00,y\nT2,P2,2026-10-06,1000.00,x\n"),
    );
    let november = run(&work, files, "2026-11", Some("2026-10"));
    assert!(lines(&work.path("2026-11")).is_empty());
    for said in [
        "deal T1 of partner P1: rule `cashx` of the same group `g` already paid it in 2026-10",
        "deal T2 of partner P2: rule `closeall` of the same group `g` already paid it in 2026-10; its payment U2 is not paid on again",
    ] {
        assert!(november.contains(said), "{november}");
    }
}

#[test]
fn a_rule_that_pays_on_payment_from_now_on_does_not_pay_a_row_it_paid_on_close() {
    // October pays D1 (10,000.00) on close at 10 % = 1,000.00. November's program says the rule
    // pays on payment: A1 6,000.00 (10-05) and A2 4,000.00 (11-06) would pay 1,000.00 again. The
    // rule paid the row: nothing now, and A1, whose line is dropped, is not called a late payment.
    let rule = "[[rules]]\nid = \"comm\"\nkind = \"percent\"\nrate = \"0.10\"\n";
    let work = affiliate_chain(
        &format!("{HEAD}{rule}"),
        "deal_id,partner_id,closed_on,amount\nD1,P1,2026-10-01,10000.00\n",
        "payment_id,deal_id,paid_on,amount\nA1,D1,2026-10-05,6000.00\nA2,D1,2026-11-06,4000.00\n",
    );
    let files = CASH_FILES;
    run(&work, files, "2026-10", None);
    assert_eq!(lines(&work.path("2026-10")), ["percent payout 1000.00"]);
    work.write(
        "program.toml",
        &format!("{HEAD}{rule}pay_on = \"payment\"\n"),
    );
    let november = run(&work, files, "2026-11", Some("2026-10"));
    assert!(lines(&work.path("2026-11")).is_empty());
    // Not paid, so not recorded as paid: paid_payments.csv holds no payment of D1.
    let record = work.path("2026-11").join("paid_payments.csv");
    assert!(!record.exists() || csv_rows(&record).is_empty());
    assert!(!november.contains("late-payment"), "{november}");
    assert!(
        november.contains(
            "rule `comm` already paid it in 2026-10; its payment A2 is not paid on again"
        ),
        "{november}"
    );
}

#[test]
fn a_payment_lines_note_shows_how_the_cash_became_its_basis() {
    // G1 (EUR 10,000.00) split 0.6 / 0.4; H1 EUR 1,000.00 paid 2026-10-20 for the whole deal, at
    // 1.10 USD per EUR: S1's basis 1,000 × 0.6 × 1.10 = 660.00, 10 % = 66.00; S2's 440.00, 44.00.
    let work = Workdir::new();
    let rule =
        "[[rules]]\nid = \"cash\"\nkind = \"percent\"\nrate = \"0.10\"\npay_on = \"payment\"\n";
    work.write("program.toml", &format!("{HEAD}{rule}"));
    work.write(
        "partners.csv",
        "partner_id,name,type\nS1,One,reseller\nS2,Two,reseller\n",
    );
    work.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount,currency,share,credit\n\
         G1,S1,2026-10-15,10000.00,EUR,0.6,split\nG1,S2,2026-10-15,10000.00,EUR,0.4,split\n",
    );
    work.write(
        "payments.csv",
        "payment_id,deal_id,paid_on,amount\nH1,G1,2026-10-20,1000.00\n",
    );
    work.write("fx.csv", "date,currency,rate\n2026-10-01,EUR,1.10\n");
    let files = &[
        "program.toml",
        "partners.csv",
        "deals.csv",
        "payments.csv",
        "fx.csv",
    ];
    run(&work, files, "2026-10", None);
    let rows = csv_rows(&work.path("2026-10").join("lines.csv"));
    let notes: Vec<(&str, &str)> = (rows.iter())
        .filter(|r| r["source"] == "payment")
        .map(|r| (r["amount"].as_str(), r["note"].as_str()))
        .collect();
    assert_eq!(
        notes,
        [
            (
                "66.00",
                "10% of 660.00: payment H1 1000.00 on 2026-10-20; cash 1000.00 EUR × share 0.6 × fx 1.1 on 2026-10-20"
            ),
            (
                "44.00",
                "10% of 440.00: payment H1 1000.00 on 2026-10-20; cash 1000.00 EUR × share 0.4 × fx 1.1 on 2026-10-20"
            )
        ]
    );
}

#[test]
fn a_negative_balance_in_another_currency_is_not_called_a_payout() {
    // D1 is paid in EUR; October's only line is an adjustment of −60.00 USD: its balance is
    // negative, nothing is paid, and the statement says so instead of "the payout is your balance
    // of 0.00 USD converted once".
    let work = Workdir::new();
    let rule = "[[rules]]\nid = \"comm\"\nkind = \"percent\"\nrate = \"0.10\"\n";
    work.write("program.toml", &format!("{HEAD}{rule}"));
    work.write(
        "partners.csv",
        "partner_id,name,type,currency\nD1,Disti One,distributor,EUR\n",
    );
    work.write("deals.csv", "deal_id,partner_id,closed_on,amount\n");
    work.write(
        "adjustments.csv",
        "adjustment_id,partner_id,amount,reason,decided_on\nA1,D1,-60.00,Overpaid in September,2026-10-05\n",
    );
    work.write("fx.csv", "date,currency,rate\n2026-10-01,EUR,1.10\n");
    let files = &[
        "program.toml",
        "partners.csv",
        "deals.csv",
        "adjustments.csv",
        "fx.csv",
    ];
    run(&work, files, "2026-10", None);
    let page = statement(&work, "2026-10", "D1");
    assert!(page.contains("Nothing is paid this period."), "{page}");
    assert!(!page.contains("The payout is your balance"), "{page}");
}

#[test]
fn versions_of_a_cash_rule_share_a_rows_payments_one_by_one() {
    // v1 pays 10 % of cash until 2026-10-31, v2 from 2026-11-01. D (1,000.00) closed 10-15: v1
    // pays P1 600.00 → 60.00. November's export re-dates D to 11-05 (v2's) and P2 400.00 arrives:
    // v2 does not pay P1 again (v1 paid it), but pays P2: 40.00. The row stands for 1,000.00 of
    // cash once: 60.00 + 40.00 = 100.00.
    let program = "[[rules]]\nid = \"v1\"\nkind = \"percent\"\nrate = \"0.1\"\npay_on = \"payment\"\n\
                   valid_until = \"2026-10-31\"\n\n[[rules]]\nid = \"v2\"\nkind = \"percent\"\n\
                   rate = \"0.1\"\npay_on = \"payment\"\nvalid_from = \"2026-11-01\"\n";
    let work = affiliate_chain(
        &format!("{HEAD}{program}"),
        "deal_id,partner_id,closed_on,amount\nD,P1,2026-10-15,1000.00\n",
        "payment_id,deal_id,paid_on,amount\nP1,D,2026-10-20,600.00\n",
    );
    let files = CASH_FILES;
    run(&work, files, "2026-10", None);
    assert_eq!(lines(&work.path("2026-10")), ["percent payout 60.00"]);
    work.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount\nD,P1,2026-11-05,1000.00\n",
    );
    work.write(
        "payments.csv",
        "payment_id,deal_id,paid_on,amount\nP1,D,2026-10-20,600.00\nP2,D,2026-11-10,400.00\n",
    );
    let november = run(&work, files, "2026-11", Some("2026-10"));
    assert_eq!(lines(&work.path("2026-11")), ["percent payout 40.00"]);
    // v2 takes P1 as paid (by v1, at the cash part v1's record names): no line, nothing to warn.
    assert!(!november.contains("payment P2 is not"), "{november}");
}

#[test]
fn a_late_full_payment_declined_now_is_warned_declined_only() {
    // E1 paid in full on 2026-11-03, but the payment first appears in December's file, and the
    // decision (declined on 12-05) with it: December pays nothing and says `declined`, not that the
    // row is paid late.
    let work = full_payment_chain(&format!(
        "{DECISION_HEAD}E1,R1,full,declined,2026-12-05,no\n"
    ));
    work.write("payments.csv", "payment_id,deal_id,paid_on,amount\n");
    run(&work, FILES, "2026-10", None);
    run(&work, FILES, "2026-11", Some("2026-10"));
    work.write(
        "payments.csv",
        "payment_id,deal_id,paid_on,amount\nEP1,E1,2026-11-03,1000.00\n",
    );
    let december = run(&work, FILES, "2026-12", Some("2026-11"));
    assert!(lines(&work.path("2026-12")).is_empty());
    assert!(
        december.contains("declined on 2026-12-05 (no)"),
        "{december}"
    );
    assert!(!december.contains("late-payment"), "{december}");
}

#[test]
fn a_cash_rule_pays_after_its_dates_for_rows_closed_inside_them() {
    // v1 pays 10 % of cash for deals closed until 2026-10-31. D closed 10-15 (v1's): P1 600.00 on
    // 10-20 → 60.00 in October; P2 400.00 arrives 11-10, after v1's dates: still v1's row (SPEC
    // §9.1: the row's closed_on decides the range), so November pays 40.00.
    let program = "[[rules]]\nid = \"v1\"\nkind = \"percent\"\nrate = \"0.1\"\npay_on = \"payment\"\n\
                   valid_until = \"2026-10-31\"\n";
    let work = affiliate_chain(
        &format!("{HEAD}{program}"),
        "deal_id,partner_id,closed_on,amount\nD,P1,2026-10-15,1000.00\n",
        "payment_id,deal_id,paid_on,amount\nP1,D,2026-10-20,600.00\nP2,D,2026-11-10,400.00\n",
    );
    let files = CASH_FILES;
    run(&work, files, "2026-10", None);
    assert_eq!(lines(&work.path("2026-10")), ["percent payout 60.00"]);
    run(&work, files, "2026-11", Some("2026-10"));
    assert_eq!(lines(&work.path("2026-11")), ["percent payout 40.00"]);
}

#[test]
fn a_row_an_accumulating_rule_paid_stays_its_own_when_re_labelled() {
    // January: L1 (8,000.00, smb) is paid by q-accel at 4 % = 320.00. February's export re-labels
    // L1 `enterprise`, which named-accounts (earlier in the group) matches first; L3 (9,000.00,
    // smb) is new. q-accel paid L1, so L1 stays its row (SPEC §7: a group pays a row once, by the
    // rule that paid it): the quarter's revenue is 8,000 + 9,000 = 17,000.00 < 20,000.00, L3 pays
    // 4 % = 360.00 and L1's 320.00 stands (due 320.00 = paid: no true-up). Before, q-accel's
    // true-up took the 320.00 back and no rule paid L1.
    let work = resale_group();
    let head = "deal_id,partner_id,closed_on,amount,customer_type\n";
    work.write(
        "deals.csv",
        &format!("{head}L1,R1,2027-01-10,8000.00,smb\n"),
    );
    let files = &["program.toml", "partners.csv", "deals.csv"];
    run(&work, files, "2027-01", None);
    assert_eq!(lines(&work.path("2027-01")), ["tiered payout 320.00"]);
    work.write(
        "deals.csv",
        &format!("{head}L1,R1,2027-01-10,8000.00,enterprise\nL3,R1,2027-02-14,9000.00,smb\n"),
    );
    run(&work, files, "2027-02", Some("2027-01"));
    assert_eq!(lines(&work.path("2027-02")), ["tiered payout 360.00"]);
}

#[test]
fn a_close_version_does_not_pay_a_row_a_cash_version_paid_part_of() {
    // v1 pays 10 % of cash until 2026-10-31 (P1 600.00 → 60.00); v2 pays 10 % on close from
    // 2026-11-01. November re-dates D into v2's dates: a close line would pay the whole 1,000.00
    // again (100.00 on top of the 60.00), so v2 does not pay it (warned `deal-paid-already`).
    let program = "[[rules]]\nid = \"v1\"\nkind = \"percent\"\nrate = \"0.1\"\npay_on = \"payment\"\n\
                   valid_until = \"2026-10-31\"\n\n[[rules]]\nid = \"v2\"\nkind = \"percent\"\n\
                   rate = \"0.1\"\nvalid_from = \"2026-11-01\"\n";
    let work = affiliate_chain(
        &format!("{HEAD}{program}"),
        "deal_id,partner_id,closed_on,amount\nD,P1,2026-10-15,1000.00\n",
        "payment_id,deal_id,paid_on,amount\nP1,D,2026-10-20,600.00\n",
    );
    run(&work, CASH_FILES, "2026-10", None);
    assert_eq!(lines(&work.path("2026-10")), ["percent payout 60.00"]);
    work.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount\nD,P1,2026-11-05,1000.00\n",
    );
    let november = run(&work, CASH_FILES, "2026-11", Some("2026-10"));
    assert!(lines(&work.path("2026-11")).is_empty());
    assert!(
        november.contains("rule `v1`, another version of `v2`, already paid it in 2026-10"),
        "{november}"
    );
}

/// Deal W (10,000.00) split P1 0.6 / P2 0.4 with an overlay D1; `cash-split` 10 % of the split
/// rows' cash, `cash-overlay` 2 % of the overlay's; a budget of `budget` for both.
fn budgeted_cash_chain(budget: &str) -> Workdir {
    let work = Workdir::new();
    let rules = format!(
        "[budget]\ntotal = \"{budget}\"\n\n\
         [[rules]]\nid = \"cash-split\"\nkind = \"percent\"\nrate = \"0.10\"\npay_on = \"payment\"\n\
         when = {{ credit = [\"split\"] }}\n\n\
         [[rules]]\nid = \"cash-overlay\"\nkind = \"percent\"\nrate = \"0.02\"\npay_on = \"payment\"\n\
         when = {{ credit = [\"overlay\"] }}\n"
    );
    work.write("program.toml", &format!("{HEAD}{rules}"));
    work.write(
        "partners.csv",
        "partner_id,name,type\nD1,Dist,distributor\nP1,One,reseller\nP2,Two,reseller\n",
    );
    work.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount,share,credit\n\
         W,P1,2026-10-05,10000.00,0.6,split\nW,P2,2026-10-05,10000.00,0.4,split\n\
         W,D1,2026-10-05,10000.00,1,overlay\n",
    );
    work
}

/// Each partner's (earned, clawed_back, paid) in payouts.csv.
fn paid(out: &Path) -> Vec<String> {
    csv_rows(&out.join("payouts.csv"))
        .iter()
        .map(|r| {
            let (p, e, c, paid) = (
                &r["partner_id"],
                &r["earned"],
                &r["clawed_back"],
                &r["paid"],
            );
            format!("{p} {e} {c} {paid}")
        })
        .collect()
}

#[test]
fn a_payments_refund_is_clawed_back_beside_the_budget_never_in_it() {
    // SPEC §9.1: a refund's line is "never held, capped or budgeted"; §4.10 prorates the period's
    // positive budgeted amounts. November: pay2 6,000.00 → P1 360.00, P2 240.00, D1 120.00 (720.00
    // requested against 500.00: × 500/720 → 250.00, 166.666…, 83.333…; the spare cent to the
    // largest remainder, P2: 250.00 + 166.67 + 83.33 = 500.00); pay3 −1,000.00 → −60.00, −40.00,
    // −20.00 clawed back whole. Paid 190.00, 126.67, 63.33 (380.00). Before, the refunds were
    // netted into the request (600.00) and 500.00 was paid: the budget overspent by 120.00.
    let work = budgeted_cash_chain("500.00");
    work.write(
        "payments.csv",
        "payment_id,deal_id,paid_on,amount\npay1,W,2026-10-10,4000.00\n",
    );
    let files = &["program.toml", "partners.csv", "deals.csv", "payments.csv"];
    run(&work, files, "2026-10", None);
    // October: 240.00 + 160.00 + 80.00 = 480.00, within the budget.
    assert_eq!(
        paid(&work.path("2026-10")),
        [
            "D1 80.00 0.00 80.00",
            "P1 240.00 0.00 240.00",
            "P2 160.00 0.00 160.00"
        ]
    );
    work.write(
        "payments.csv",
        "payment_id,deal_id,paid_on,amount\npay1,W,2026-10-10,4000.00\n\
         pay2,W,2026-11-10,6000.00\npay3,W,2026-11-20,-1000.00\n",
    );
    run(&work, files, "2026-11", Some("2026-10"));
    assert_eq!(
        paid(&work.path("2026-11")),
        [
            "D1 83.33 -20.00 63.33",
            "P1 250.00 -60.00 190.00",
            "P2 166.67 -40.00 126.67"
        ]
    );

    // A budget of 100.00. October: pay1 4,000.00 → 240.00, 160.00, 80.00 (480.00) × 100/480 →
    // 50.00, 33.333…, 16.666…: the spare cent to D1 (largest remainder). November: the refund pay3
    // −3,000.00 (−180.00, −120.00, −60.00, clawed back whole) outweighs pay2 1,000.00 (60.00,
    // 40.00, 20.00 = 120.00 > 100.00 → 50.00, 33.33, 16.67). Before, every partner's net was
    // negative, so nothing was prorated: 120.00 earned against a budget of 100.00.
    let work = budgeted_cash_chain("100.00");
    work.write(
        "payments.csv",
        "payment_id,deal_id,paid_on,amount
pay1,W,2026-10-10,4000.00
",
    );
    run(&work, files, "2026-10", None);
    assert_eq!(
        paid(&work.path("2026-10")),
        [
            "D1 16.67 0.00 16.67",
            "P1 50.00 0.00 50.00",
            "P2 33.33 0.00 33.33"
        ]
    );
    work.write(
        "payments.csv",
        "payment_id,deal_id,paid_on,amount
pay1,W,2026-10-10,4000.00
         pay3,W,2026-11-05,-3000.00
pay2,W,2026-11-10,1000.00
",
    );
    run(&work, files, "2026-11", Some("2026-10"));
    assert_eq!(
        paid(&work.path("2026-11")),
        [
            "D1 16.67 -60.00 0.00",
            "P1 50.00 -180.00 0.00",
            "P2 33.33 -120.00 0.00"
        ]
    );
}

#[test]
fn a_partial_refund_that_grows_in_a_later_export_recovers_its_growth_only() {
    // 5 % of D1 8,000.00 = 400.00 in October. November's export: refunded 2,000.00 on 11-10 →
    // −round(400.00 × 2,000 ÷ 8,000) = −100.00. December's export: refunded 5,000.00 (the row's
    // refunded total, as a CRM exports it) on 12-05 → round(400.00 × 5,000 ÷ 8,000) = 250.00 in
    // all, 100.00 recovered before: −150.00 (before: −round(300.00 × 5,000 ÷ 8,000) = −187.50, the
    // first refund taken back twice). January: refunded whole → the 150.00 still held. 400.00 in all.
    let work = Workdir::new();
    let rule =
        "clawback_days = 120\n\n[[rules]]\nid = \"comm\"\nkind = \"percent\"\nrate = \"0.05\"\n";
    work.write("program.toml", &format!("{HEAD}{rule}"));
    work.write("partners.csv", "partner_id,name,type\nP1,One,reseller\n");
    let files = &["program.toml", "partners.csv", "deals.csv"];
    let month = |period: &str, ledger: Option<&str>, row: &str| {
        work.write(
            "deals.csv",
            &format!(
                "deal_id,partner_id,closed_on,amount,status,reversed_on,reversed_amount\n{row}\n"
            ),
        );
        run(&work, files, period, ledger);
        lines(&work.path(period))
    };
    let won = "D1,P1,2026-10-05,8000.00,won,,";
    assert_eq!(month("2026-10", None, won), ["percent payout 400.00"]);
    let part = "D1,P1,2026-10-05,8000.00,refunded,2026-11-10,2000.00";
    assert_eq!(
        month("2026-11", Some("2026-10"), part),
        ["clawback payout -100.00"]
    );
    let more = "D1,P1,2026-10-05,8000.00,refunded,2026-12-05,5000.00";
    assert_eq!(
        month("2026-12", Some("2026-11"), more),
        ["clawback payout -150.00"]
    );
    let notes = csv_rows(&work.path("2026-12").join("lines.csv"));
    assert!(
        notes[0]["note"].ends_with(
            "recovering 150.00 of the 300.00 paid by comm (400.00 × 5000.00 ÷ 8000.00, less 100.00 clawed back before)"
        ),
        "{}",
        notes[0]["note"]
    );
    let whole = "D1,P1,2026-10-05,8000.00,refunded,2027-01-10,";
    assert_eq!(
        month("2027-01", Some("2026-12"), whole),
        ["clawback payout -150.00"]
    );
}

/// q-retro: 5 %, 8 % from 20,000.00 retroactive, quarter to date, clawback_days 120; reseller R1.
fn q_retro_chain() -> Workdir {
    let work = Workdir::new();
    let rule = "clawback_days = 120\n\n[[rules]]\nid = \"q-retro\"\nkind = \"tiered\"\n\
                measure = \"revenue\"\nmode = \"retroactive\"\naccumulate = \"quarter\"\n\
                tiers = [ { from = \"0\", rate = \"0.05\" }, { from = \"20000\", rate = \"0.08\" } ]\n";
    work.write("program.toml", &format!("{HEAD}{rule}"));
    work.write("partners.csv", "partner_id,name,type\nR1,One,reseller\n");
    work
}

/// A month of [`q_retro_chain`]: A (10,000.00, closed 10-05, its status and reversal `a`) and B
/// (15,000.00, won); the month's lines.
fn q_month(work: &Workdir, period: &str, ledger: Option<&str>, a: &str) -> Vec<String> {
    work.write(
        "deals.csv",
        &format!(
            "deal_id,partner_id,closed_on,amount,status,reversed_on,reversed_amount\n\
             A,R1,2026-10-05,10000.00,{a}\nB,R1,2026-10-06,15000.00,won,,\n"
        ),
    );
    run(
        work,
        &["program.toml", "partners.csv", "deals.csv"],
        period,
        ledger,
    );
    lines(&work.path(period))
}

#[test]
fn a_partial_refund_inside_the_quarter_is_not_recorded_as_owed_back_again() {
    // October: A 10,000.00 and B 15,000.00 → 25,000.00 at 8 %: A 800.00, B 1,200.00. November: A
    // refunded 5,000.00 → −400.00 clawed back; the span (20,000.00) stays at 8 %: true-up 1,600.00
    // − (2,000.00 − 400.00) = 0. December: nothing new. The quarter's last evaluation gives A
    // 400.00 and A holds 800.00 − 400.00 = 400.00: its part of the true-ups is 0 (before: 400.00 −
    // 800.00 = −400.00, the clawback ignored). January: A refunded whole → −400.00, as after one
    // run over the quarter (before: nothing, 400.00 never recovered).
    let work = q_retro_chain();
    let won = "won,,";
    let both = ["tiered payout 800.00", "tiered payout 1200.00"];
    assert_eq!(q_month(&work, "2026-10", None, won), both);
    let part = "refunded,2026-11-10,5000.00";
    let clawed = ["clawback payout -400.00"];
    assert_eq!(q_month(&work, "2026-11", Some("2026-10"), part), clawed);
    assert_eq!(
        q_month(&work, "2026-12", Some("2026-11"), part),
        Vec::<String>::new()
    );
    assert!(!work.path("2026-12").join("true_up_parts.csv").exists());
    let whole = "refunded,2027-01-05,";
    assert_eq!(q_month(&work, "2027-01", Some("2026-12"), whole), clawed);

    // The same refund in the quarter's last month: December claws back −400.00 and the true-up is 0
    // (the clawback counts as paid back); A's part counts that clawback too: 0, and January
    // recovers the 400.00 A still holds.
    let work = q_retro_chain();
    assert_eq!(q_month(&work, "2026-10", None, won), both);
    assert_eq!(
        q_month(&work, "2026-11", Some("2026-10"), won),
        Vec::<String>::new()
    );
    let part = "refunded,2026-12-10,5000.00";
    assert_eq!(q_month(&work, "2026-12", Some("2026-11"), part), clawed);
    assert!(!work.path("2026-12").join("true_up_parts.csv").exists());
    assert_eq!(q_month(&work, "2027-01", Some("2026-12"), whole), clawed);
}

#[test]
fn a_release_that_also_cuts_a_partial_refund_names_its_approval() {
    // 5 % of E 20,000.00 (closed 10-08, manual, hold 10 days) = 1,000.00 held in October, awaiting
    // approval. November: approved 11-05; E refunded 4,000.00 on 11-10: one release pair moves the
    // 1,000.00 off `pending` and pays 1,000.00 − round(1,000.00 × 4,000 ÷ 20,000) = 800.00; its note
    // names the approval, as a release without a cut does.
    let work = Workdir::new();
    let rule = "[payout]\nhold_days = 10\n\n[[rules]]\nid = \"resell\"\nkind = \"percent\"\n\
                rate = \"0.05\"\napproval = \"manual\"\n";
    work.write("program.toml", &format!("{HEAD}{rule}"));
    work.write("partners.csv", "partner_id,name,type\nP1,One,reseller\n");
    let head = "deal_id,partner_id,closed_on,amount,status,reversed_on,reversed_amount\n";
    work.write(
        "deals.csv",
        &format!("{head}E,P1,2026-10-08,20000.00,won,,\n"),
    );
    work.write("approvals.csv", DECISION_HEAD);
    let files = &["program.toml", "partners.csv", "deals.csv", "approvals.csv"];
    run(&work, files, "2026-10", None);
    assert_eq!(lines(&work.path("2026-10")), ["percent pending 1000.00"]);
    work.write(
        "deals.csv",
        &format!("{head}E,P1,2026-10-08,20000.00,refunded,2026-11-10,4000.00\n"),
    );
    work.write(
        "approvals.csv",
        &format!("{DECISION_HEAD}E,P1,resell,approved,2026-11-05,ok\n"),
    );
    run(&work, files, "2026-11", Some("2026-10"));
    assert_eq!(
        lines(&work.path("2026-11")),
        ["release pending -1000.00", "release payout 800.00"]
    );
    let rows = csv_rows(&work.path("2026-11").join("lines.csv"));
    assert!(
        rows[1]["note"].starts_with(
            "deal E closed 2026-10-08 was reversed in part on 2026-11-10 (4000.00 of 20000.00), and its 10-day hold ended on 2026-10-18, approved on 2026-11-05 (ok): 200.00 of its pending 1000.00 cancelled"
        ),
        "{}",
        rows[1]["note"]
    );
}

#[test]
fn a_payment_refund_is_clawed_back_after_the_row_stops_matching_the_rule() {
    // `cash` 10 % of payments of saas rows (× 1.5 for new customers); `typed` 5 % of payments for
    // affiliates, rows closed up to 2026-10-31; group g: `ga` 10 % of saas rows, then `gb` 5 %.
    // October: Q1 (1,000.00, saas, new) is paid Q1a 1,000.00 → cash 150.00, typed 50.00, ga 100.00.
    // November's export re-labels Q1 hw/existing and re-dates it 11-02, partners.csv re-types P1
    // as a reseller, and Q1 is refunded in full (Q1b −1,000.00): covered 1,000.00 → 0, T = −1,000.00
    // for every rule that paid on it, though none of them takes the row now (its labels, dates,
    // partner type and group changed): cash −100.00 (the modifier matches the row as it is now),
    // typed −50.00, ga −100.00; gb never paid on Q1 and takes nothing back.
    let program = "[[rules]]\nid = \"cash\"\nkind = \"percent\"\nrate = \"0.10\"\n\
                   pay_on = \"payment\"\nwhen = { product = [\"saas\"] }\n\
                   [[rules.modifiers]]\nwhen = { customer_type = [\"new\"] }\nmultiplier = \"1.5\"\n\n\
                   [[rules]]\nid = \"typed\"\nkind = \"percent\"\nrate = \"0.05\"\n\
                   pay_on = \"payment\"\nvalid_until = 2026-10-31\n\
                   when = { partner_type = [\"affiliate\"] }\n\n\
                   [[rules]]\nid = \"ga\"\nkind = \"percent\"\nrate = \"0.10\"\npay_on = \"payment\"\n\
                   group = \"g\"\nwhen = { product = [\"saas\"] }\n\n\
                   [[rules]]\nid = \"gb\"\nkind = \"percent\"\nrate = \"0.05\"\npay_on = \"payment\"\n\
                   group = \"g\"\n";
    let head = "deal_id,partner_id,closed_on,amount,product,customer_type\n";
    let work = affiliate_chain(
        &format!("{HEAD}{program}"),
        &format!("{head}Q1,P1,2026-10-05,1000.00,saas,new\n"),
        "payment_id,deal_id,paid_on,amount\nQ1a,Q1,2026-10-06,1000.00\n",
    );
    run(&work, CASH_FILES, "2026-10", None);
    assert_eq!(
        lines(&work.path("2026-10")),
        [
            "percent payout 150.00",
            "percent payout 50.00",
            "percent payout 100.00"
        ]
    );
    work.write("partners.csv", "partner_id,name,type\nP1,One,reseller\n");
    work.write(
        "deals.csv",
        &format!("{head}Q1,P1,2026-11-02,1000.00,hw,existing\n"),
    );
    work.write(
        "payments.csv",
        "payment_id,deal_id,paid_on,amount\nQ1a,Q1,2026-10-06,1000.00\nQ1b,Q1,2026-11-06,-1000.00\n",
    );
    let november = run(&work, CASH_FILES, "2026-11", Some("2026-10"));
    let rows = csv_rows(&work.path("2026-11").join("lines.csv"));
    let clawed: Vec<String> = (rows.iter())
        .filter(|r| r["kind"] == "clawback")
        .map(|r| format!("{} {} {}", r["rule_id"], r["source_id"], r["amount"]))
        .collect();
    assert_eq!(
        clawed,
        ["cash Q1b -100.00", "typed Q1b -50.00", "ga Q1b -100.00"]
    );
    assert!(
        november.contains("its refund Q1b is not taken back by rule `gb`: no payment line of it paid on the row's cash"),
        "{november}"
    );
}

#[test]
fn a_row_moved_to_another_rule_of_its_group_keeps_its_lines_at_the_covered_total() {
    // Group g: `a` 10 % of saas rows, then `b` 5 % of any. October: Q1 (1,000.00, saas) Q1a 600.00
    // → a 60.00. November's export re-labels Q1 hw (b matches it now, but a paid the row: the group
    // pays a row once) with Q1b 400.00 and a refund Q1c −600.00: covered 600 → 1,000 → 400, so a's
    // lines must stand for 400.00 of cash: T = 400 − 600 = −200, carried by the refund: −20.00.
    // Q1b's cash is paid on by neither (a no longer takes the row, b never may).
    let program = "[[rules]]\nid = \"a\"\nkind = \"percent\"\nrate = \"0.10\"\npay_on = \"payment\"\n\
                   group = \"g\"\nwhen = { product = [\"saas\"] }\n\n\
                   [[rules]]\nid = \"b\"\nkind = \"percent\"\nrate = \"0.05\"\npay_on = \"payment\"\n\
                   group = \"g\"\n";
    let head = "deal_id,partner_id,closed_on,amount,product\n";
    let work = affiliate_chain(
        &format!("{HEAD}{program}"),
        &format!("{head}Q1,P1,2026-10-05,1000.00,saas\n"),
        "payment_id,deal_id,paid_on,amount\nQ1a,Q1,2026-10-06,600.00\n",
    );
    run(&work, CASH_FILES, "2026-10", None);
    assert_eq!(lines(&work.path("2026-10")), ["percent payout 60.00"]);
    work.write("deals.csv", &format!("{head}Q1,P1,2026-10-05,1000.00,hw\n"));
    work.write(
        "payments.csv",
        "payment_id,deal_id,paid_on,amount\nQ1a,Q1,2026-10-06,600.00\n\
         Q1b,Q1,2026-11-05,400.00\nQ1c,Q1,2026-11-06,-600.00\n",
    );
    run(&work, CASH_FILES, "2026-11", Some("2026-10"));
    assert_eq!(lines(&work.path("2026-11")), ["clawback payout -20.00"]);
}

#[test]
fn a_cash_rule_joining_the_program_later_starts_where_the_chain_did() {
    // July starts the chain and writes no line (S1 is product y; `close` pays product x). August:
    // S2 → close 10 % = 100.00. September's program adds `cash` (10 % of payments): the chain's
    // first day is 2026-07-01 (July's batch records it, though its program paid on close only),
    // so S1a (500.00, 07-15) is a late payment → 50.00, and S1b (100.00, 09-15) → 10.00.
    let close = "[[rules]]\nid = \"close\"\nkind = \"percent\"\nrate = \"0.10\"\n\
                 when = { product = [\"x\"] }\n";
    let cash =
        "[[rules]]\nid = \"cash\"\nkind = \"percent\"\nrate = \"0.10\"\npay_on = \"payment\"\n";
    let work = affiliate_chain(
        &format!("{HEAD}{close}"),
        "deal_id,partner_id,closed_on,amount,product\n\
         S1,P1,2026-07-10,1000.00,y\nS2,P1,2026-08-10,1000.00,x\n",
        "payment_id,deal_id,paid_on,amount\nS1a,S1,2026-07-15,500.00\nS1b,S1,2026-09-15,100.00\n",
    );
    let files = &["program.toml", "partners.csv", "deals.csv"];
    run(&work, files, "2026-07", None);
    assert!(lines(&work.path("2026-07")).is_empty());
    run(&work, files, "2026-08", Some("2026-07"));
    assert_eq!(lines(&work.path("2026-08")), ["percent payout 100.00"]);
    work.write("program.toml", &format!("{HEAD}{close}\n{cash}"));
    let september = run(&work, CASH_FILES, "2026-09", Some("2026-08"));
    let rows = csv_rows(&work.path("2026-09").join("lines.csv"));
    let paid: Vec<String> = (rows.iter())
        .filter(|r| r["rule_id"] == "cash")
        .map(|r| format!("{} {}", r["source_id"], r["amount"]))
        .collect();
    assert_eq!(paid, ["S1a 50.00", "S1b 10.00"]);
    assert!(september.contains("late"), "{september}");
}

#[test]
fn a_refund_of_a_row_that_moved_to_another_version_is_clawed_back_once() {
    // cash-v1 10 % of payments of rows closed until 09-15, cash-v2 20 % from 09-16 (versions
    // share a row's cash). September: D1 (1,000.00, 09-10) X1 800.00 → v1 80.00. October's export
    // re-dates D1 09-20 (v2's) and adds X2 400.00: covered 800 → 1,000, v2 pays X2's part 200.00
    // → 40.00. November: X3 −1,000.00, covered 1,000 → 200: the versions stood for 1,000.00 of
    // cash and now stand for 200.00: v2 (which takes the row) claws back 20 % × 800.00 = −160.00.
    // v1 no longer takes the row but another version does: it takes nothing back (it did −60.00
    // more, a second clawback of the same refund).
    let program = "[[rules]]\nid = \"cash-v1\"\nkind = \"percent\"\nrate = \"0.10\"\n\
                   pay_on = \"payment\"\nvalid_until = 2026-09-15\n\n\
                   [[rules]]\nid = \"cash-v2\"\nkind = \"percent\"\nrate = \"0.20\"\n\
                   pay_on = \"payment\"\nvalid_from = 2026-09-16\n";
    let head = "deal_id,partner_id,closed_on,amount\n";
    let pays = "payment_id,deal_id,paid_on,amount\nX1,D1,2026-09-10,800.00\n";
    let work = affiliate_chain(
        &format!("{HEAD}{program}"),
        &format!("{head}D1,P1,2026-09-10,1000.00\n"),
        pays,
    );
    run(&work, CASH_FILES, "2026-09", None);
    assert_eq!(lines(&work.path("2026-09")), ["percent payout 80.00"]);
    work.write("deals.csv", &format!("{head}D1,P1,2026-09-20,1000.00\n"));
    work.write("payments.csv", &format!("{pays}X2,D1,2026-10-10,400.00\n"));
    run(&work, CASH_FILES, "2026-10", Some("2026-09"));
    assert_eq!(lines(&work.path("2026-10")), ["percent payout 40.00"]);
    work.write(
        "payments.csv",
        &format!("{pays}X2,D1,2026-10-10,400.00\nX3,D1,2026-11-05,-1000.00\n"),
    );
    run(&work, CASH_FILES, "2026-11", Some("2026-10"));
    assert_eq!(lines(&work.path("2026-11")), ["clawback payout -160.00"]);
}

#[test]
fn versions_count_each_others_cash_as_paid_and_one_of_them_settles_a_refund() {
    // v1 10 % of payments of product A rows closed until 09-30, v2 12 % from 10-01.
    // P1: D1 (1,000.00) closed 09-25, X1 500.00 → v1 50.00. October re-dates D1 10-02 (v2's), X2
    // 300.00 → v2 36.00: the versions stand for 800.00. November re-labels D1 B (no version takes
    // it) and R1 −600.00 comes: covered 200, paid 800 (both versions), T = −600: one clawback, by
    // the version that paid last, v2: 12 % × −600.00 = −72.00 (each settling its own cash wrote
    // v1 −30.00 and v2 −12.00, leaving 400.00 of cash paid on against 200.00 covered).
    // P2: D2 (1,000.00) closed 09-25, Y1 600.00 (09-26) → v1 60.00. October re-dates D2 10-02 and a
    // late L2 500.00 dated 09-20 appears: parts L2 500, Y1 500; due 1,000, paid 600 (v1's Y1), T =
    // 400 → L2 is paid on 400.00: 12 % = 48.00 (counting Y1 as unpaid paid L2 on 500.00: 60.00).
    let program = "[[rules]]\nid = \"v1\"\nkind = \"percent\"\nrate = \"0.10\"\n\
                   pay_on = \"payment\"\nvalid_until = 2026-09-30\nwhen = { product = [\"A\"] }\n\n\
                   [[rules]]\nid = \"v2\"\nkind = \"percent\"\nrate = \"0.12\"\n\
                   pay_on = \"payment\"\nvalid_from = 2026-10-01\nwhen = { product = [\"A\"] }\n";
    let head = "deal_id,partner_id,closed_on,amount,product\n";
    let pays =
        "payment_id,deal_id,paid_on,amount\nX1,D1,2026-09-26,500.00\nY1,D2,2026-09-26,600.00\n";
    let work = affiliate_chain(
        &format!("{HEAD}{program}"),
        &format!("{head}D1,P1,2026-09-25,1000.00,A\nD2,P1,2026-09-25,1000.00,A\n"),
        pays,
    );
    let paid = |period: &str| rule_lines(&work.path(period));
    run(&work, CASH_FILES, "2026-09", None);
    assert_eq!(paid("2026-09"), ["v1 X1 50.00", "v1 Y1 60.00"]);
    work.write(
        "deals.csv",
        &format!("{head}D1,P1,2026-10-02,1000.00,A\nD2,P1,2026-10-02,1000.00,A\n"),
    );
    let october = format!("{pays}X2,D1,2026-10-05,300.00\nL2,D2,2026-09-20,500.00\n");
    work.write("payments.csv", &october);
    run(&work, CASH_FILES, "2026-10", Some("2026-09"));
    assert_eq!(paid("2026-10"), ["v2 X2 36.00", "v2 L2 48.00"]);
    work.write(
        "deals.csv",
        &format!("{head}D1,P1,2026-10-02,1000.00,B\nD2,P1,2026-10-02,1000.00,A\n"),
    );
    work.write(
        "payments.csv",
        &format!("{october}R1,D1,2026-11-05,-600.00\n"),
    );
    run(&work, CASH_FILES, "2026-11", Some("2026-10"));
    assert_eq!(paid("2026-11"), ["v2 R1 -72.00"]);
}

#[test]
fn an_accumulating_rule_leaves_out_a_row_its_groups_cash_rule_paid() {
    // Group g: r1 (tiered over the quarter to date, retroactive, 5 % from 0, 10 % from 1,500.00,
    // product A rows), then r2 (10 % of payments, any row). October: D1 (1,000.00, product B) is
    // r2's: X1 500.00 → 50.00. November re-labels D1 A (r1 matches it now, but r2 paid it: the
    // group pays a row once) and D2 (1,000.00, A) closes; R1 −200.00 refunds D1. r1's span measure
    // is 2,000.00 → 10 %: D2 100.00; D1 is outside r1's true-up (it paid 100.00 for D1 as well);
    // r2 claws back 10 % × −200.00 = −20.00.
    let program = "[[rules]]\nid = \"r1\"\nkind = \"tiered\"\nmode = \"retroactive\"\n\
                   measure = \"revenue\"\naccumulate = \"quarter\"\ngroup = \"g\"\n\
                   when = { product = [\"A\"] }\n\
                   tiers = [ { from = \"0\", rate = \"0.05\" }, { from = \"1500\", rate = \"0.10\" } ]\n\n\
                   [[rules]]\nid = \"r2\"\nkind = \"percent\"\nrate = \"0.10\"\n\
                   pay_on = \"payment\"\ngroup = \"g\"\n";
    let head = "deal_id,partner_id,closed_on,amount,product\n";
    let pays = "payment_id,deal_id,paid_on,amount\nX1,D1,2026-10-10,500.00\n";
    let work = affiliate_chain(
        &format!("{HEAD}{program}"),
        &format!("{head}D1,P1,2026-10-05,1000.00,B\n"),
        pays,
    );
    run(&work, CASH_FILES, "2026-10", None);
    assert_eq!(lines(&work.path("2026-10")), ["percent payout 50.00"]);
    work.write(
        "deals.csv",
        &format!("{head}D1,P1,2026-10-05,1000.00,A\nD2,P1,2026-11-10,1000.00,A\n"),
    );
    work.write("payments.csv", &format!("{pays}R1,D1,2026-11-15,-200.00\n"));
    run(&work, CASH_FILES, "2026-11", Some("2026-10"));
    assert_eq!(
        lines(&work.path("2026-11")),
        ["tiered payout 100.00", "clawback payout -20.00"]
    );
}

#[test]
fn versions_in_one_group_are_still_one_rule_for_a_rows_cash() {
    // v1 10 % of payments of product A rows closed until 09-30, v2 12 % from 10-01, both in group g
    // (nothing else in it). D6 (1,000.00) closed 09-25: V1 500.00 → v1 50.00. October re-dates D6
    // 10-02 (v2's): V2 300.00 → T = 800 − 500 → v2 36.00 (the group's pay-once blocked it: "rule
    // `v1` of the same group already paid it"). November re-labels D6 B (no version takes it), V3
    // −400.00: covered 400, paid 800, T = −400, settled by v2 (the last to pay): −48.00. December
    // re-labels it A again, V4 200.00: covered 600, paid 400 → v2 24.00.
    let program = "[[rules]]\nid = \"v1\"\nkind = \"percent\"\nrate = \"0.10\"\npay_on = \"payment\"\n\
                   group = \"g\"\nvalid_until = 2026-09-30\nwhen = { product = [\"A\"] }\n\n\
                   [[rules]]\nid = \"v2\"\nkind = \"percent\"\nrate = \"0.12\"\npay_on = \"payment\"\n\
                   group = \"g\"\nvalid_from = 2026-10-01\nwhen = { product = [\"A\"] }\n";
    let head = "deal_id,partner_id,closed_on,amount,product\n";
    let mut pays = String::from("payment_id,deal_id,paid_on,amount\nV1,D6,2026-09-25,500.00\n");
    let work = affiliate_chain(
        &format!("{HEAD}{program}"),
        &format!("{head}D6,P1,2026-09-25,1000.00,A\n"),
        &pays,
    );
    let months = [
        ("2026-09", "2026-09-25,1000.00,A", ""),
        (
            "2026-10",
            "2026-10-02,1000.00,A",
            "V2,D6,2026-10-10,300.00\n",
        ),
        (
            "2026-11",
            "2026-10-02,1000.00,B",
            "V3,D6,2026-11-05,-400.00\n",
        ),
        (
            "2026-12",
            "2026-10-02,1000.00,A",
            "V4,D6,2026-12-05,200.00\n",
        ),
    ];
    let mut got = Vec::new();
    let mut previous: Option<&str> = None;
    for (period, row, payment) in months {
        work.write("deals.csv", &format!("{head}D6,P1,{row}\n"));
        pays.push_str(payment);
        work.write("payments.csv", &pays);
        run(&work, CASH_FILES, period, previous);
        got.extend(
            (rule_lines(&work.path(period)).into_iter()).map(|line| format!("{period} {line}")),
        );
        previous = Some(period);
    }
    assert_eq!(
        got,
        [
            "2026-09 v1 V1 50.00",
            "2026-10 v2 V2 36.00",
            "2026-11 v2 V3 -48.00",
            "2026-12 v2 V4 24.00"
        ]
    );
}

#[test]
fn a_kicker_stacked_on_a_base_rate_claws_back_its_own_cash_when_the_next_rate_takes_the_row() {
    // base-h1 10 % (Jan–Jun), kicker-q1 5 % stacked on it (Jan–Mar), base-h2 12 % from July: the
    // kicker is an add-on, not a version in the chain h1 → h2. Q1: D1 (1,000.00, 02-15) P1 1,000.00
    // → h1 100.00 + kicker 50.00. Q3's export re-dates D1 08-01 (h2's) and refunds it, R1
    // −1,000.00: h2, which takes the row and counts h1's cash as paid, claws back at its rate
    // −120.00; the kicker, whose cash no version shares, claws back its own −50.00 (before, it
    // deferred to h2 and its 50.00 stood on refunded cash).
    let program = "[[rules]]\nid = \"base-h1\"\nkind = \"percent\"\nrate = \"0.10\"\npay_on = \"payment\"\n\
                   valid_from = \"2026-01-01\"\nvalid_until = \"2026-06-30\"\n\n\
                   [[rules]]\nid = \"kicker-q1\"\nkind = \"percent\"\nrate = \"0.05\"\npay_on = \"payment\"\n\
                   valid_from = \"2026-01-01\"\nvalid_until = \"2026-03-31\"\n\n\
                   [[rules]]\nid = \"base-h2\"\nkind = \"percent\"\nrate = \"0.12\"\npay_on = \"payment\"\n\
                   valid_from = \"2026-07-01\"\n";
    let head = "deal_id,partner_id,closed_on,amount\n";
    let pays = "payment_id,deal_id,paid_on,amount\nP1,D1,2026-02-20,1000.00\n";
    let work = affiliate_chain(
        &format!("{HEAD}{program}"),
        &format!("{head}D1,P1,2026-02-15,1000.00\n"),
        pays,
    );
    run(&work, CASH_FILES, "2026-Q1", None);
    run(&work, CASH_FILES, "2026-Q2", Some("2026-Q1"));
    work.write("deals.csv", &format!("{head}D1,P1,2026-08-01,1000.00\n"));
    work.write(
        "payments.csv",
        &format!("{pays}R1,D1,2026-08-15,-1000.00\n"),
    );
    run(&work, CASH_FILES, "2026-Q3", Some("2026-Q2"));
    let clawed: Vec<String> = (csv_rows(&work.path("2026-Q3").join("lines.csv")).iter())
        .filter(|r| r["kind"] == "clawback")
        .map(|r| format!("{} {}", r["rule_id"], r["amount"]))
        .collect();
    assert_eq!(clawed, ["kicker-q1 -50.00", "base-h2 -120.00"]);
}

#[test]
fn a_partial_refund_of_a_deal_in_another_currency_is_said_in_that_currency() {
    // A JPY program, 10 % of deals; K1 is 1,234.56 EUR at 160 JPY per EUR: 197,530 JPY → 19,753.
    // November: 234.56 EUR of it refunded: −round(19,753 × 234.56 ÷ 1,234.56) = −round(3,752.97) =
    // −3,753. The note shows the ratio in EUR as written (it said `235 of 1235`, whole yen, a ratio
    // that gives 3,753.51 → 3,754, not the amount charged).
    let work = Workdir::new();
    work.write(
        "program.toml",
        "[program]\nid = \"t\"\nname = \"T\"\ncurrency = \"JPY\"\n\n[[rules]]\nid = \"com\"\n\
         kind = \"percent\"\nrate = \"0.10\"\n",
    );
    work.write("partners.csv", "partner_id,name,type\nJ1,One,reseller\n");
    work.write("fx.csv", "date,currency,rate\n2026-01-01,EUR,160\n");
    let head = "deal_id,partner_id,closed_on,amount,currency,status,reversed_on,reversed_amount\n";
    work.write(
        "deals.csv",
        &format!("{head}K1,J1,2026-10-03,1234.56,EUR,won,,\n"),
    );
    let files = &["program.toml", "partners.csv", "deals.csv", "fx.csv"];
    run(&work, files, "2026-10", None);
    assert_eq!(lines(&work.path("2026-10")), ["percent payout 19753"]);
    work.write(
        "deals.csv",
        &format!("{head}K1,J1,2026-10-03,1234.56,EUR,refunded,2026-11-15,234.56\n"),
    );
    run(&work, files, "2026-11", Some("2026-10"));
    let rows = csv_rows(&work.path("2026-11").join("lines.csv"));
    let clawback = rows.iter().find(|r| r["kind"] == "clawback").unwrap();
    assert_eq!(clawback["amount"], "-3753");
    assert!(
        clawback["note"].contains("(234.56 of 1234.56)")
            && clawback["note"].contains("× 234.56 ÷ 1234.56"),
        "{}",
        clawback["note"]
    );
}

#[test]
fn an_undated_rule_of_the_same_kind_leaves_versions_sharing_their_cash() {
    // base 5 % of payments, undated (a catch-all beside every version); v1 2 % until 09-30, v2 3 %
    // from 10-01. September: D1 (1,000.00, 09-05) X1 600.00 → base 30.00, v1 12.00. October
    // re-dates D1 10-02 (v2's); X2 400.00 and R1 −800.00: covered 600 → 1,000 → 200.
    // base: due 200, paid 600, T = −400 → X2 +20.00, R1 −40.00. The versions: v2 counts v1's
    // 600.00 as paid: T = −400 → X2 +12.00, R1 −24.00; v1 takes nothing back (the undated base
    // made both "add-ons", and v1 clawed back −8.00 more: cash clawed back twice).
    let program = "[[rules]]\nid = \"base\"\nkind = \"percent\"\nrate = \"0.05\"\npay_on = \"payment\"\n\n\
                   [[rules]]\nid = \"v1\"\nkind = \"percent\"\nrate = \"0.02\"\npay_on = \"payment\"\n\
                   valid_until = 2026-09-30\n\n\
                   [[rules]]\nid = \"v2\"\nkind = \"percent\"\nrate = \"0.03\"\npay_on = \"payment\"\n\
                   valid_from = 2026-10-01\n";
    let head = "deal_id,partner_id,closed_on,amount\n";
    let pays = "payment_id,deal_id,paid_on,amount\nX1,D1,2026-09-10,600.00\n";
    let work = affiliate_chain(
        &format!("{HEAD}{program}"),
        &format!("{head}D1,P1,2026-09-05,1000.00\n"),
        pays,
    );
    run(&work, CASH_FILES, "2026-09", None);
    work.write("deals.csv", &format!("{head}D1,P1,2026-10-02,1000.00\n"));
    work.write(
        "payments.csv",
        &format!("{pays}X2,D1,2026-10-15,400.00\nR1,D1,2026-10-20,-800.00\n"),
    );
    run(&work, CASH_FILES, "2026-10", Some("2026-09"));
    assert_eq!(
        rule_lines(&work.path("2026-10")),
        [
            "base X2 20.00",
            "base R1 -40.00",
            "v2 X2 12.00",
            "v2 R1 -24.00"
        ]
    );
}

#[test]
fn a_close_kicker_beside_cash_versions_blocks_no_version_from_settling() {
    // v1 10 % of payments (Jul–Sep), kc 5 % on close (Sep: a kicker inside v1's dates), v2 12 % of
    // payments from October. September: D1 (1,000.00, 09-20) P1 600.00 → v1 60.00; kc 50.00.
    // October re-dates D1 10-05 (v2's); R1 −300.00 and P2 +200.00: covered 600 → 300 → 500; v2
    // counts v1's 600.00: T = −100 → R1 −36.00, P2 +24.00. November R2 −500.00: covered 0, paid
    // 500 → −60.00. (kc counted as v2's version made its close line block v2, and v1 deferred to
    // v2: nothing was clawed back, v1's 60.00 stood on no cash.)
    let program = "[[rules]]\nid = \"v1\"\nkind = \"percent\"\nrate = \"0.10\"\npay_on = \"payment\"\n\
                   valid_from = 2026-07-01\nvalid_until = 2026-09-30\n\n\
                   [[rules]]\nid = \"kc\"\nkind = \"percent\"\nrate = \"0.05\"\n\
                   valid_from = 2026-09-01\nvalid_until = 2026-09-30\n\n\
                   [[rules]]\nid = \"v2\"\nkind = \"percent\"\nrate = \"0.12\"\npay_on = \"payment\"\n\
                   valid_from = 2026-10-01\n";
    let head = "deal_id,partner_id,closed_on,amount\n";
    let mut pays = String::from("payment_id,deal_id,paid_on,amount\nP1,D1,2026-09-22,600.00\n");
    let work = affiliate_chain(
        &format!("{HEAD}{program}"),
        &format!("{head}D1,P1,2026-09-20,1000.00\n"),
        &pays,
    );
    let paid = |period: &str| rule_lines(&work.path(period));
    run(&work, CASH_FILES, "2026-09", None);
    assert_eq!(paid("2026-09"), ["v1 P1 60.00", "kc D1 50.00"]);
    work.write("deals.csv", &format!("{head}D1,P1,2026-10-05,1000.00\n"));
    pays.push_str("R1,D1,2026-10-10,-300.00\nP2,D1,2026-10-12,200.00\n");
    work.write("payments.csv", &pays);
    run(&work, CASH_FILES, "2026-10", Some("2026-09"));
    assert_eq!(paid("2026-10"), ["v2 R1 -36.00", "v2 P2 24.00"]);
    pays.push_str("R2,D1,2026-11-03,-500.00\n");
    work.write("payments.csv", &pays);
    run(&work, CASH_FILES, "2026-11", Some("2026-10"));
    assert_eq!(paid("2026-11"), ["v2 R2 -60.00"]);
}

#[test]
fn a_cap_written_finer_than_the_currency_never_pays_over_it() {
    // A cold review: cap "100.005" USD, lines 10 % of 600.00 = 60.00 and 10 % of 500.00 = 50.00.
    // What is left under the cap for the second is 40.005, which rounded to cents paid 40.01 and
    // 100.01 in all, over the cap. A cap is a most: it is cut to 100.00, so 60.00 + 40.00.
    let work = Workdir::new();
    work.write(
        "program.toml",
        &format!("{HEAD}\n[[rules]]\nid = \"comm\"\nkind = \"percent\"\nrate = \"0.10\"\ncap = \"100.005\"\n"),
    );
    work.write("partners.csv", "partner_id,name,type\nP1,One,reseller\n");
    work.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount\nD1,P1,2026-10-01,600.00\nD2,P1,2026-10-02,500.00\n",
    );
    run(&work, CORE_FILES, "2026-10", None);
    assert_eq!(
        rule_lines(&work.path("2026-10")),
        ["comm D1 60.00", "comm D2 40.00"]
    );
}

#[test]
fn a_milestone_clawed_back_is_earned_again_by_an_earlier_deal_now_the_nth() {
    // A cold review: nth_deal = 2, 300.00. M1 (09-05) and M2 (09-10): September pays the bonus on
    // M2. M3 closes 10-10. M2 is refunded on 11-05 (56 days, inside 90): the bonus is clawed back,
    // and M1, M3 still stand, so M3 is now the 2nd lifetime deal: November earns it again (net
    // 0.00). Before, November wrote only the −300.00 and the partner stayed negative with three
    // live deals. December writes nothing: the bonus is held.
    let work = Workdir::new();
    work.write(
        "program.toml",
        &format!("{HEAD}clawback_days = 90\n\n[[rules]]\nid = \"activation\"\nkind = \"milestone\"\nnth_deal = 2\namount = \"300.00\"\n"),
    );
    work.write("partners.csv", "partner_id,name,type\nP1,One,reseller\n");
    let head =
        "deal_id,partner_id,closed_on,amount,status,reversed_on\nM1,P1,2026-09-05,1000.00,won,\n";
    let before = format!("{head}M2,P1,2026-09-10,1000.00,won,\nM3,P1,2026-10-10,1000.00,won,\n");
    let after = format!(
        "{head}M2,P1,2026-09-10,1000.00,refunded,2026-11-05\nM3,P1,2026-10-10,1000.00,won,\nM4,P1,2026-12-03,1000.00,won,\n"
    );
    work.write("deals.csv", &before);
    run(&work, CORE_FILES, "2026-09", None);
    assert_eq!(rule_lines(&work.path("2026-09")), ["activation M2 300.00"]);
    run(&work, CORE_FILES, "2026-10", Some("2026-09"));
    assert!(rule_lines(&work.path("2026-10")).is_empty());
    work.write("deals.csv", &after);
    run(&work, CORE_FILES, "2026-11", Some("2026-10"));
    assert_eq!(
        rule_lines(&work.path("2026-11")),
        ["activation M3 300.00", "activation M2 -300.00"]
    );
    run(&work, CORE_FILES, "2026-12", Some("2026-11"));
    assert!(rule_lines(&work.path("2026-12")).is_empty());
}

#[test]
fn a_held_line_cancelled_gives_back_its_part_of_the_budget_cut() {
    // A cold review: budget 100.00; October: P1's manual reg-fee 150.00 (pending, awaiting
    // approval) and P2's 10 % of 500.00 = 50.00 request 200.00, so each is prorated by 0.5: P1's
    // budget-proration is −75.00 on payout, P2's −25.00. November declines R1: its 150.00 is
    // cancelled, never paid, and P1 owed the −75.00 cut for ever. The line's part of the cut comes
    // back: 75.00 × 150.00 ÷ 150.00 = 75.00, and P1's balance is 0.00.
    let work = Workdir::new();
    work.write(
        "program.toml",
        &format!("{HEAD}\n[budget]\ntotal = \"100.00\"\n\n[[rules]]\nid = \"reg-fee\"\nkind = \"flat\"\namount = \"150.00\"\napproval = \"manual\"\nwhen = {{ partner_type = [\"referral\"] }}\n\n[[rules]]\nid = \"comm\"\nkind = \"percent\"\nrate = \"0.10\"\nwhen = {{ partner_type = [\"affiliate\"] }}\n"),
    );
    work.write(
        "partners.csv",
        "partner_id,name,type\nP1,Ref,referral\nP2,Aff,affiliate\n",
    );
    work.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount\nR1,P1,2026-10-05,1000.00\nA1,P2,2026-10-06,500.00\n",
    );
    let files = ["program.toml", "partners.csv", "deals.csv", "approvals.csv"];
    work.write(
        "approvals.csv",
        "deal_id,partner_id,rule_id,decision,decided_on,reason\n",
    );
    run(&work, &files, "2026-10", None);
    assert_eq!(
        lines(&work.path("2026-10")),
        [
            "flat pending 150.00",
            "budget-proration payout -75.00",
            "percent payout 50.00",
            "budget-proration payout -25.00"
        ]
    );
    work.write(
        "approvals.csv",
        "deal_id,partner_id,rule_id,decision,decided_on,reason\nR1,P1,,declined,2026-11-03,duplicate\n",
    );
    run(&work, &files, "2026-11", Some("2026-10"));
    assert_eq!(
        lines(&work.path("2026-11")),
        ["cancel pending -150.00", "budget-proration payout 75.00"]
    );
    let balances = work.read("2026-11/balances.csv");
    assert!(!balances.contains("P1,"), "P1 owes nothing: {balances}");
}

/// Two versions of a retroactive quarter-to-date accelerator: v1 (5 %, 8 % from 20,000.00) until
/// 2026-11-15, v2 (6 %, 9 % from 20,000.00) from 2026-11-16.
fn accelerator_versions() -> Workdir {
    let work = Workdir::new();
    let version = |id: &str, dates: &str, low: &str, high: &str| {
        format!(
            "[[rules]]\nid = \"{id}\"\nkind = \"tiered\"\nmode = \"retroactive\"\naccumulate = \"quarter\"\n{dates}\ntiers = [{{ from = \"0\", rate = \"{low}\" }}, {{ from = \"20000\", rate = \"{high}\" }}]\n\n"
        )
    };
    work.write(
        "program.toml",
        &format!(
            "{HEAD}clawback_days = 90\n\n{}{}",
            version("accel-v1", "valid_until = 2026-11-15", "0.05", "0.08"),
            version("accel-v2", "valid_from = 2026-11-16", "0.06", "0.09")
        ),
    );
    work.write("partners.csv", "partner_id,name,type\nP1,One,reseller\n");
    work.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount,status,reversed_on\n",
    );
    work
}

/// The quarter run month by month over `exports` (one deals.csv per month), and the lines of
/// the accelerator each month wrote, as `rule source_id amount`.
fn accelerator_quarter(work: &Workdir, exports: [&str; 3]) -> Vec<Vec<String>> {
    let mut previous: Option<&str> = None;
    let mut months = Vec::new();
    for (period, deals) in ["2026-10", "2026-11", "2026-12"].into_iter().zip(exports) {
        work.write(
            "deals.csv",
            &format!("deal_id,partner_id,closed_on,amount,status,reversed_on\n{deals}"),
        );
        run(work, CORE_FILES, period, previous);
        months.push(rule_lines(&work.path(period)));
        previous = Some(period);
    }
    months
}

#[test]
fn an_ended_version_of_a_quarter_to_date_rule_still_trues_up_its_quarter() {
    // A cold review: October pays A 15,000.00 and B 10,000.00 at v1's 8 % (25,000.00 reach
    // 20,000.00): 1,200.00 + 800.00. B is refunded on 12-10. The quarter to date is then 15,000.00
    // at 5 %: 750.00 due, as one 2026-Q4 run pays. December claws back B's 800.00 and v1's true-up
    // takes 750.00 − (2,000.00 − 800.00) = −450.00. Before, v1 (dates ended 11-15) was not
    // evaluated in December at all: the quarter paid 1,200.00.
    let work = accelerator_versions();
    let a = "A,P1,2026-10-05,15000.00,won,\n";
    let months = accelerator_quarter(
        &work,
        [
            &format!("{a}B,P1,2026-10-10,10000.00,won,\n"),
            &format!("{a}B,P1,2026-10-10,10000.00,won,\n"),
            &format!("{a}B,P1,2026-10-10,10000.00,refunded,2026-12-10\n"),
        ],
    );
    assert_eq!(months[0], ["accel-v1 A 1200.00", "accel-v1 B 800.00"]);
    assert!(months[1].is_empty());
    assert_eq!(
        months[2],
        ["accel-v1 2026-Q4 -450.00", "accel-v1 B -800.00"]
    );
}

#[test]
fn a_row_re_dated_into_another_version_inside_the_quarter_is_paid_by_it() {
    // A cold review: October pays R 10,000.00 and S 2,000.00 at v1's 5 %: 500.00 + 100.00. In
    // December's export R closed on 12-05, inside v2's dates. One 2026-Q4 run pays S by v1 (100.00)
    // and R by v2 at 6 % (600.00): 700.00. December: v1's true-up takes R's 500.00 back (100.00 due,
    // 600.00 paid) and v2 pays R 600.00. Before, v2 skipped R as paid by another version: 100.00.
    let work = accelerator_versions();
    let s = "S,P1,2026-10-12,2000.00,won,\n";
    let months = accelerator_quarter(
        &work,
        [
            &format!("R,P1,2026-10-05,10000.00,won,\n{s}"),
            &format!("R,P1,2026-10-05,10000.00,won,\n{s}"),
            &format!("R,P1,2026-12-05,10000.00,won,\n{s}"),
        ],
    );
    assert_eq!(months[0], ["accel-v1 R 500.00", "accel-v1 S 100.00"]);
    assert_eq!(months[2], ["accel-v1 2026-Q4 -500.00", "accel-v2 R 600.00"]);
}

/// A two-month chain over `program` (appended to HEAD) and `deals`; the second month's lines.
fn budget_hold_chain(program: &str, deals: &str) -> Vec<String> {
    let work = Workdir::new();
    work.write("program.toml", &format!("{HEAD}{program}"));
    work.write(
        "partners.csv",
        "partner_id,name,type\nP1,One,affiliate\nP2,Two,affiliate\n",
    );
    work.write(
        "deals.csv",
        &format!("deal_id,partner_id,closed_on,amount,product,status,reversed_on\n{deals}"),
    );
    run(&work, CORE_FILES, "2026-09", None);
    run(&work, CORE_FILES, "2026-10", Some("2026-09"));
    lines(&work.path("2026-10"))
}

#[test]
fn a_budget_cut_is_given_back_whole_and_only_for_budgeted_rules() {
    // A cold review of the give-back. (1) Two held lines of one deal, 200.00 + 70.00 = 270.00 of
    // P1's budgeted amount, cut by 159.34 in September (budget 250.00 over 610.00 requested);
    // both cancelled in October: all 270.00 unpaid gives back all 159.34 (each truncated on its
    // own, 118.02 + 41.31, left a cent of debt for ever).
    let two_rules = "\n[payout]\nhold_days = 10\n\n[budget]\ntotal = \"250.00\"\n\n[[rules]]\nid = \"fa\"\nkind = \"flat\"\namount = \"200.00\"\n\n[[rules]]\nid = \"pb\"\nkind = \"percent\"\nrate = \"0.07\"\n";
    let october = budget_hold_chain(
        two_rules,
        "D1,P1,2026-09-25,1000.00,,refunded,2026-10-03\nD2,P2,2026-09-05,2000.00,,won,\n",
    );
    assert_eq!(
        october,
        [
            "cancel pending -200.00",
            "cancel pending -70.00",
            "budget-proration payout 159.34"
        ]
    );
    // (2) Budget 100.00 over fee-a only: fee-a's held 200.00 is cut by 100.00; comm-b's held
    // 500.00 (outside the budget) is refunded: nothing of the cut comes back (it was +250.00).
    let outside = "\n[payout]\nhold_days = 30\n\n[budget]\ntotal = \"100.00\"\nrules = [\"fee-a\"]\n\n[[rules]]\nid = \"fee-a\"\nkind = \"flat\"\namount = \"200.00\"\nwhen = { product = [\"pa\"] }\n\n[[rules]]\nid = \"comm-b\"\nkind = \"percent\"\nrate = \"0.10\"\nwhen = { product = [\"pb\"] }\n";
    let october = budget_hold_chain(
        outside,
        "D1,P1,2026-09-25,1000.00,pa,won,\nD2,P1,2026-09-26,5000.00,pb,refunded,2026-10-10\n",
    );
    assert_eq!(
        october,
        [
            "release pending -200.00",
            "release payout 200.00",
            "cancel pending -500.00"
        ]
    );
}

#[test]
fn a_budget_cut_given_back_over_several_months_adds_up_to_the_cut() {
    // A cold review: each month's give-back was worked out alone, so a cut of 100.00 over three
    // held lines of 100.00 (B = 300.00) declined in three months came back as 33.33 × 3 = 99.99.
    // September: budget 400.00 over 600.00 requested (P1's three manual 100.00 lines, P2's 300.00)
    // cuts P1 by 100.00. Declines: October gives back trunc(100 × 100 ÷ 300) = 33.33; November
    // trunc(100 × 200 ÷ 300) − 33.33 = 66.66 − 33.33 = 33.33; December all 300.00 unpaid: 100.00
    // − 66.66 = 33.34. In all 100.00, the cut.
    let work = Workdir::new();
    work.write(
        "program.toml",
        &format!("{HEAD}\n[budget]\ntotal = \"400.00\"\n\n[[rules]]\nid = \"reg\"\nkind = \"flat\"\namount = \"100.00\"\napproval = \"manual\"\nwhen = {{ partner_type = [\"referral\"] }}\n\n[[rules]]\nid = \"comm\"\nkind = \"percent\"\nrate = \"0.10\"\nwhen = {{ partner_type = [\"affiliate\"] }}\n"),
    );
    work.write(
        "partners.csv",
        "partner_id,name,type\nP1,Ref,referral\nP2,Aff,affiliate\n",
    );
    work.write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount\nD1,P1,2026-09-02,1.00\nD2,P1,2026-09-03,1.00\nD3,P1,2026-09-04,1.00\nA1,P2,2026-09-05,3000.00\n",
    );
    let files = ["program.toml", "partners.csv", "deals.csv", "approvals.csv"];
    let mut decisions = String::from("deal_id,partner_id,rule_id,decision,decided_on,reason\n");
    work.write("approvals.csv", &decisions);
    run(&work, &files, "2026-09", None);
    let mut back = Vec::new();
    for (period, previous, deal, day) in [
        ("2026-10", "2026-09", "D1", "2026-10-05"),
        ("2026-11", "2026-10", "D2", "2026-11-05"),
        ("2026-12", "2026-11", "D3", "2026-12-05"),
    ] {
        decisions.push_str(&format!("{deal},P1,,declined,{day},no\n"));
        work.write("approvals.csv", &decisions);
        run(&work, &files, period, Some(previous));
        back.extend(
            lines(&work.path(period))
                .into_iter()
                .filter(|l| l.starts_with("budget-proration")),
        );
    }
    assert_eq!(
        back,
        [
            "budget-proration payout 33.33",
            "budget-proration payout 33.33",
            "budget-proration payout 33.34"
        ]
    );
}
