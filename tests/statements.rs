//! Statements are documents rendered from a finished batch, not part of it (SPEC §5): `run` writes
//! none unless `--statements`; `payline statements BATCH_DIR` renders them from the batch's verified
//! files alone, byte-identical to `run --statements` and however often it runs, never changing the
//! batch; its `--out` is as safe as `run`'s (SPEC §7).

mod common;

use assert_cmd::Command;
use common::{SAMPLE_DATA, repo, sha256_hex};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn payline() -> Command {
    let mut cmd = Command::cargo_bin("payline").unwrap();
    cmd.current_dir(repo(""));
    cmd
}

fn run(out: &Path, extra: &[&str]) {
    let output = payline()
        .args([
            "run",
            "--program",
            "programs/mixed.toml",
            "--period",
            "2026-10",
        ])
        .args(SAMPLE_DATA)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
}

fn statements(batch: &Path, extra: &[&str]) -> std::process::Output {
    payline()
        .arg("statements")
        .arg(batch)
        .args(extra)
        .output()
        .unwrap()
}

/// Every file under `dir` (relative path → SHA-256), payline's hidden working files aside (the
/// lock, and a replaced folder a background remover may still be removing).
fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let path = entry.path();
            let name = path.strip_prefix(root).unwrap().display().to_string();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(name, sha256_hex(&std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn batch_files(dir: &Path) -> BTreeMap<String, String> {
    tree(dir)
        .into_iter()
        .filter(|(name, _)| !name.starts_with("statements"))
        .collect()
}

/// `run --statements` of a program, partners.csv and deals.csv written into `dir`; returns --out.
fn run_case(dir: &Path, program: &str, partners: &str, deals: &str) -> PathBuf {
    run_case_with(dir, (program, partners, deals), None)
}

/// [`run_case`], with an fx.csv (`fx`) when given.
fn run_case_with(
    dir: &Path,
    (program, partners, deals): (&str, &str, &str),
    fx: Option<&str>,
) -> PathBuf {
    for (name, text) in [
        ("p.toml", program),
        ("partners.csv", partners),
        ("deals.csv", deals),
        ("fx.csv", fx.unwrap_or_default()),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let out = dir.join("out");
    let extra: &[&str] = if fx.is_some() {
        &["--fx", "fx.csv"]
    } else {
        &[]
    };
    run_in(dir, ("2026-10", &out), extra);
    out
}

/// `payline run --statements` of `period` into `out` over the p.toml, partners.csv and deals.csv
/// in `dir`, with `extra` flags; it must succeed.
fn run_in(dir: &Path, (period, out): (&str, &Path), extra: &[&str]) {
    let output = payline()
        .current_dir(dir)
        .args(["run", "--program", "p.toml", "--partners", "partners.csv"])
        .args([
            "--deals",
            "deals.csv",
            "--period",
            period,
            "--statements",
            "--out",
        ])
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
}

#[test]
fn statements_render_from_the_batch_byte_identical_to_run_statements() {
    let scratch = tempfile::tempdir().unwrap();
    let with = scratch.path().join("with");
    let without = scratch.path().join("without");
    run(&with, &["--statements"]);
    run(&without, &[]);
    assert!(
        !without.join("statements").exists(),
        "no statements by default"
    );
    // The batch is the same with or without statements: rendering is not part of it.
    assert_eq!(batch_files(&with), batch_files(&without));
    let before = tree(&without);
    let output = statements(&without, &[]);
    assert!(output.status.success(), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("Rendered 10 statement(s) (21 files)")
    );
    // Nothing of the batch changed; the statements are run --statements's, byte for byte.
    assert_eq!(batch_files(&without), before);
    let rendered = tree(&without.join("statements"));
    assert_eq!(rendered, tree(&with.join("statements")));
    assert_eq!(
        rendered.len(),
        21,
        "a CSV and a page per partner, and statements.json"
    );
    let manifest = std::fs::read(without.join("manifest.json")).unwrap();
    let marker = std::fs::read_to_string(without.join("statements/statements.json")).unwrap();
    assert!(marker.contains(&sha256_hex(&manifest)), "{marker}");
    // Again, elsewhere: the same bytes.
    let again = scratch.path().join("again");
    let output = statements(&without, &["--out", again.to_str().unwrap()]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(tree(&again), rendered);
}

#[test]
fn a_batch_that_does_not_verify_is_refused_and_nothing_is_written() {
    let scratch = tempfile::tempdir().unwrap();
    let batch = scratch.path().join("batch");
    run(&batch, &[]);
    let lines = batch.join("lines.csv");
    let text = std::fs::read_to_string(&lines).unwrap();
    std::fs::write(&lines, text.replace("150.00", "1500.00")).unwrap();
    let output = statements(&batch, &[]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("lines.csv: changed since the batch was written"),
        "{stderr}"
    );
    assert!(!batch.join("statements").exists());
    // A folder that is no batch at all.
    let output = statements(scratch.path(), &["--out", "/nonexistent-never-written"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("no manifest.json"));
}

#[test]
fn the_statements_out_is_as_safe_as_runs() {
    let scratch = tempfile::tempdir().unwrap();
    let batch = scratch.path().join("batch");
    run(&batch, &["--statements"]);
    let refused = |args: &[&str], fragment: &str| {
        let output = statements(&batch, args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(fragment), "{args:?}: {stderr}");
    };
    // Already rendered: not without --force.
    refused(&[], "already exists and is not empty; pass --force");
    // Never into the batch itself, a file of it, or a folder holding it.
    let b = batch.to_str().unwrap();
    refused(&["--out", b], "contains the input");
    let inside = format!("{b}/payouts.csv");
    refused(&["--out", &inside], "is the input");
    let parent = scratch.path().to_str().unwrap();
    refused(&["--out", parent, "--force"], "contains the input");
    // --force replaces statements, never a folder of other files.
    let other = scratch.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("keep.txt"), "mine").unwrap();
    refused(
        &["--out", other.to_str().unwrap(), "--force"],
        "not a folder of payline statements",
    );
    assert_eq!(
        std::fs::read_to_string(other.join("keep.txt")).unwrap(),
        "mine"
    );
    // A symbolic link as --out.
    #[cfg(unix)]
    {
        let link = scratch.path().join("link");
        std::os::unix::fs::symlink(&other, &link).unwrap();
        refused(&["--out", link.to_str().unwrap()], "symbolic link");
    }
    // --force never replaces another month's statements (a cold review: October's rendered over
    // September's folder, whose index.html then linked to October's statements).
    let september = scratch.path().join("september");
    std::fs::create_dir(&september).unwrap();
    let marker = std::fs::read_to_string(batch.join("statements/statements.json")).unwrap();
    assert!(marker.contains("\"period\": \"2026-10\""), "{marker}");
    std::fs::write(
        september.join("statements.json"),
        marker.replace("\"period\": \"2026-10\"", "\"period\": \"2026-09\""),
    )
    .unwrap();
    refused(
        &["--out", september.to_str().unwrap(), "--force"],
        "2026-09; this batch is",
    );
    assert!(
        std::fs::read_to_string(september.join("statements.json"))
            .unwrap()
            .contains("2026-09")
    );
    let before = tree(&batch);
    let output = statements(&batch, &["--force"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(tree(&batch), before, "re-rendered: the same bytes");
}

#[test]
fn chosen_partners_and_formats() {
    let scratch = tempfile::tempdir().unwrap();
    let batch = scratch.path().join("batch");
    run(&batch, &[]);
    let out = scratch.path().join("two");
    let output = statements(
        &batch,
        &[
            "--partner",
            "P003",
            "--partner",
            "P007",
            "--format",
            "html",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "{output:?}");
    let names: Vec<String> = tree(&out).into_keys().collect();
    assert_eq!(names, ["P003.html", "P007.html", "statements.json"]);
    let output = statements(
        &batch,
        &[
            "--partner",
            "P003,NOPE",
            "--out",
            scratch.path().join("x").to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("--partner NOPE: not in this batch"));
    assert!(!scratch.path().join("x").exists());
}

/// Issue 18: a valid partner_id of 30 CJK letters (270 bytes once encoded) gets its statement under
/// a shortened name with a hash, listed in index.html; so does the longest id, 64 letters.
#[test]
fn every_valid_partner_id_gets_its_statement() {
    let scratch = tempfile::tempdir().unwrap();
    let thirty: String = std::iter::repeat_n('東', 30).collect();
    let longest: String = std::iter::repeat_n('京', 64).collect();
    let out = run_case(
        scratch.path(),
        "[program]\nid = \"p\"\nname = \"P\"\ncurrency = \"USD\"\n\n[[rules]]\nid = \"r\"\nkind = \"flat\"\namount = \"10\"\n",
        &format!("partner_id,name,type\n{thirty},Thirty,t\n{longest},Longest,t\nP1,Short,t\n"),
        &format!(
            "deal_id,partner_id,closed_on,amount,deal_name\nD1,{thirty},2026-10-01,1.00,Tokyo rollout\nD2,{longest},2026-10-02,1.00,\nD3,P1,2026-10-03,1.00,\n"
        ),
    );
    let files: Vec<String> = tree(&out.join("statements")).into_keys().collect();
    assert_eq!(files.len(), 7, "{files:?}");
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    for id in [&thirty, &longest] {
        let stem = payline::render::names::statement_stem(id);
        assert!(stem.contains('~') && stem.len() <= 195, "{stem}");
        let page =
            std::fs::read_to_string(out.join("statements").join(format!("{stem}.html"))).unwrap();
        assert!(page.contains(id.as_str()), "the page names its partner");
        assert!(out.join("statements").join(format!("{stem}.csv")).is_file());
        // Listed in the index, with a link a browser resolves to the file.
        assert!(index.contains(&format!("<td>{id}</td>")), "{index}");
        assert!(index.contains(&payline::render::names::link_to(&format!("{stem}.html"))));
    }
    // The deal's name shows instead of its id.
    let stem = payline::render::names::statement_stem(&thirty);
    let page =
        std::fs::read_to_string(out.join("statements").join(format!("{stem}.html"))).unwrap();
    assert!(
        page.contains("<td title=\"D1\">Tokyo rollout</td>"),
        "{page}"
    );
}

#[test]
fn a_rule_label_names_the_rule_on_documents() {
    let scratch = tempfile::tempdir().unwrap();
    let out = run_case(
        scratch.path(),
        "[program]\nid = \"p\"\nname = \"P\"\ncurrency = \"USD\"\n\n[[rules]]\nid = \"r1\"\nlabel = \"Welcome bonus <new>\"\nkind = \"flat\"\namount = \"10\"\n",
        "partner_id,name,type\nP1,One,t\n",
        "deal_id,partner_id,closed_on,amount\nD1,P1,2026-10-01,1.00\n",
    );
    let rules = std::fs::read_to_string(out.join("statement_rules.csv")).unwrap();
    assert_eq!(
        rules,
        "rule_id,kind,label,terms\nr1,flat,Welcome bonus <new>,10.00 per deal\n"
    );
    let page = std::fs::read_to_string(out.join("statements/P1.html")).unwrap();
    assert!(
        page.contains("<h3>Welcome bonus &lt;new&gt;</h3>"),
        "{page}"
    );
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(
        index.contains("<td>Welcome bonus &lt;new&gt;</td>"),
        "{index}"
    );
}

/// The `<td class="num">` cells of a page's rows holding `currency`, in page order.
fn amounts_in(page: &str, currency: &str) -> Vec<String> {
    page.split("<td class=\"num\">")
        .skip(1)
        .filter_map(|cell| cell.split("</td>").next())
        .filter(|cell| cell.ends_with(currency))
        .map(|cell| cell.trim_end_matches(currency).trim().to_string())
        .collect()
}

#[test]
fn a_converted_statement_adds_up_on_the_page() {
    // Ten deals pay a flat 1.05 USD each to a partner paid in EUR at 1.1 USD per EUR: the balance,
    // 10.50 USD, is paid as 10.50 / 1.1 = 9.545… → 9.55 EUR. Each line converted on its own reads
    // 0.95 EUR (1.05 / 1.1 = 0.954…), ten of them 9.50 under a subtotal of 9.55. Converted as their
    // running total (0.95, 1.91, 2.86, 3.82, 4.77, 5.73, 6.68, 7.64, 8.59, 9.55), the lines read
    // 0.95 and 0.96 in turn and add up to the 9.55 EUR subtotal, which is what is paid.
    let scratch = tempfile::tempdir().unwrap();
    let deals: String = (1..=10)
        .map(|i| format!("D{i},E1,2026-10-{:02},100.00\n", i + 10))
        .collect();
    let out = run_case_with(
        scratch.path(),
        (
            "[program]\nid = \"fee\"\nname = \"Fee\"\ncurrency = \"USD\"\n\n[[rules]]\nid = \"fee\"\nkind = \"flat\"\namount = \"1.05\"\n",
            "partner_id,name,type,currency\nE1,Euro Partner,referral,EUR\n",
            &format!("deal_id,partner_id,closed_on,amount\n{deals}"),
        ),
        Some("date,currency,rate\n2026-01-01,EUR,1.1\n"),
    );
    let page = std::fs::read_to_string(out.join("statements/E1.html")).unwrap();
    let amounts = amounts_in(&page, " EUR");
    let (lines, subtotal) = amounts.split_at(10);
    assert_eq!(
        lines,
        [
            "0.95", "0.96", "0.95", "0.96", "0.95", "0.96", "0.95", "0.96", "0.95", "0.96"
        ]
    );
    assert_eq!(subtotal, ["9.55"]);
    assert!(page.contains("9.55 EUR"), "{page}");
}

#[test]
fn a_converted_statements_subtotals_add_up_to_what_was_earned() {
    // The sample's P003 is paid in EUR at 1.12 USD per EUR: reseller tiers 2,206.80, the SPIF
    // 250.00, the growth kicker 418.00 and a co-op claim 739.20 USD, 3,614.00 USD in all, earned
    // 3,614.00 / 1.12 = 3,226.785… → 3,226.79 EUR. One running total over the page: 2,206.80 →
    // 1,970.36; 2,456.80 → 2,193.57 (+223.21); 2,874.80 → 2,566.79 (+373.22: on its own 418.00 /
    // 1.12 = 373.21); 3,614.00 → 3,226.79 (+660.00). The four subtotals add up to the Earned card.
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("out");
    run(&out, &["--statements"]);
    let page = std::fs::read_to_string(out.join("statements/P003.html")).unwrap();
    let subtotals: Vec<&str> = page
        .split("<tr class=\"subtotal\">")
        .skip(1)
        .filter_map(|row| row.split("<td class=\"num\">").nth(1))
        .filter_map(|cell| cell.split("</td>").next())
        .collect();
    assert_eq!(
        subtotals,
        ["1,970.36 EUR", "223.21 EUR", "373.22 EUR", "660.00 EUR"]
    );
    assert!(page.contains("3,226.79 EUR"), "{page}");
}

#[test]
fn pending_lines_keep_their_own_running_total_on_a_converted_statement() {
    // A cold review: three flat fees (1.00, 1.07, 2.61 USD) on a deal paid now (X1) and on one held
    // for a 10-day refund window (X2), the partner paid in JPY at 0.0067 USD per JPY. Earned 4.68 USD
    // = 698.5… → 699 JPY, and 4.68 USD pending → 699 JPY. With one running total over both, the
    // payable lines read 149 + 159 + 389 = 697 under an Earned of 699. Each kind on its own running
    // total: payable 1.00 → 149, 2.07 → 309 (+160), 4.68 → 699 (+390), and the same for pending,
    // so 149 + 160 + 390 = 699 both times, as the Earned and Pending cards say.
    let scratch = tempfile::tempdir().unwrap();
    let fee = |id: &str, amount: &str| {
        format!("[[rules]]\nid = \"{id}\"\nkind = \"flat\"\namount = \"{amount}\"\n\n")
    };
    let program = format!(
        "[program]\nid = \"jp\"\nname = \"JP\"\ncurrency = \"USD\"\n\n[payout]\nminimum = \"0\"\nhold_days = 10\n\n{}{}{}",
        fee("fee-a", "1.00"),
        fee("fee-b", "1.07"),
        fee("fee-c", "2.61")
    );
    let out = run_case_with(
        scratch.path(),
        (
            &program,
            "partner_id,name,type,currency\nJ1,Tokyo KK,reseller,JPY\n",
            "deal_id,partner_id,closed_on,amount\nX1,J1,2026-10-05,10.00\nX2,J1,2026-10-28,10.00\n",
        ),
        Some("date,currency,rate\n2026-01-01,JPY,0.0067\n"),
    );
    let page = std::fs::read_to_string(out.join("statements/J1.html")).unwrap();
    let cards: Vec<&str> = ["Earned this period", "Pending (not payable yet)"]
        .iter()
        .map(|label| {
            let after = page.split(label).nth(1).unwrap();
            after
                .split("JPY")
                .next()
                .unwrap()
                .rsplit('>')
                .next()
                .unwrap()
                .trim()
        })
        .collect();
    assert_eq!(cards, ["699", "699"], "{page}");
    // In page order: fee-a paid, fee-a pending, fee-b paid, fee-b pending, fee-c paid, fee-c pending;
    // each line then its one-line subtotal.
    let amounts = amounts_in(&page, " JPY");
    let lines: Vec<&str> = amounts.iter().map(String::as_str).collect();
    let from_lines: Vec<&str> = lines
        .iter()
        .rev()
        .take(12)
        .rev()
        .step_by(2)
        .copied()
        .collect();
    assert_eq!(
        from_lines,
        ["149", "149", "160", "160", "390", "390"],
        "{amounts:?}"
    );
}

#[test]
fn a_balance_of_zero_reads_settled_not_paid() {
    // A cold review: September pays Z 10 % of S1's 2,500.00 = 250.00; S1 is refunded on 10-12 and
    // S2 (2,500.00) closes on 10-05, so October earns 250.00 and claws back 250.00: balance 0.00.
    // The page said "Paid Paid 0.00" with a payout date, beside "Nothing is paid this period".
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    for (name, text) in [
        (
            "p.toml",
            "[program]\nid = \"st\"\nname = \"Settle\"\ncurrency = \"USD\"\nclawback_days = 90\n\n[[rules]]\nid = \"commission\"\nkind = \"percent\"\nrate = \"0.10\"\n",
        ),
        (
            "partners.csv",
            "partner_id,name,type\nZ,Zero Balance Ltd,reseller\n",
        ),
        (
            "deals.csv",
            "deal_id,partner_id,closed_on,amount,status,reversed_on\nS1,Z,2026-09-10,2500.00,refunded,2026-10-12\nS2,Z,2026-10-05,2500.00,won,\n",
        ),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
    }
    run_in(dir, ("2026-09", Path::new("2026-09")), &[]);
    run_in(
        dir,
        ("2026-10", Path::new("2026-10")),
        &["--ledger", "2026-09"],
    );
    let page = std::fs::read_to_string(dir.join("2026-10/statements/Z.html")).unwrap();
    assert!(
        page.contains("<span class=\"status paid\">Settled</span> <span class=\"note\">Your balance is 0: nothing to pay this period.</span>"),
        "{page}"
    );
    assert!(page.contains("Nothing to pay"), "{page}");
    assert!(
        !page.contains("2026-11-30"),
        "no payout date for nothing paid: {page}"
    );
}
