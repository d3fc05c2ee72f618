//! The pages people read: statements/PARTNER_ID.html (a statement a partner can receive, rendered
//! by `run --statements`) and index.html (the batch at a glance for finance). Self-contained (no
//! script, nothing fetched), with what a partner asks about in the partner's terms, and rendered by
//! a real browser when one is installed.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

const DATA: &[&str] = &[
    "--program",
    "programs/mixed.toml",
    "--partners",
    "fixtures/partners.csv",
    "--deals",
    "fixtures/deals.csv",
    "--fx",
    "fixtures/fx.csv",
    "--activities",
    "fixtures/activities.csv",
    "--claims",
    "fixtures/claims.csv",
];

fn run(out: &Path, period: &str, extra: &[&str]) {
    let output = Command::cargo_bin("payline")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("run")
        .args(DATA)
        .args(["--period", period, "--out"])
        .arg(out)
        .arg("--statements")
        .args(extra)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Nothing on the page runs or loads anything: it renders the same offline, in a mail client, printed.
fn assert_self_contained(page: &str) {
    for forbidden in ["<script", "<link", "<iframe", "<img", "@import", "url("] {
        assert!(!page.contains(forbidden), "`{forbidden}` in the page");
    }
    let without_svg_namespace = page.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(
        !without_svg_namespace.contains("http://") && !without_svg_namespace.contains("https://")
    );
    assert!(
        page.starts_with("<!DOCTYPE html>")
            && page.contains("<style>")
            && page.contains("@media print")
    );
}

/// A money cell of payouts.csv for one partner.
fn payout_cell(out: &Path, partner: &str, column: &str) -> rust_decimal::Decimal {
    let mut reader = csv::Reader::from_path(out.join("payouts.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let at = headers.iter().position(|h| h == column).unwrap();
    for record in reader.records() {
        let record = record.unwrap();
        if &record[1] == partner {
            return record[at].parse().unwrap();
        }
    }
    rust_decimal::Decimal::ZERO
}

#[test]
fn a_statement_says_what_a_partner_asks() {
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("2026-10");
    run(&out, "2026-10", &[]);
    let page = read(out.join("statements/P003.html"));
    assert_self_contained(&page);
    for expected in [
        // who, which period, which statement, paid when and in what
        "Cobalt Resellers GmbH",
        "Statement <strong>fy26-partners-2026-10-P003</strong>",
        "Period 2026-10-01 to 2026-10-31",
        "<div class=\"label\">Payout date</div><div class=\"value\">2026-11-30</div>",
        "<div class=\"label\">Paid</div><div class=\"value\">3,226.79 EUR</div>",
        // in the partner's currency, the conversion said once
        "Amounts in EUR",
        "converted from USD at 1.12 USD per EUR",
        // each deal with its date, customer type and original amount in its own currency
        "<td>2026-10-06</td><td title=\"D1021\">D1021</td><td>new</td><td class=\"num\">33,000.00 EUR</td>",
        // every line in words, the rule's terms in words, subtotals per rule by label
        "5 % on 25,000.00 + 8 % on 11,960.00 of 36,960.00",
        "<h3>Reseller tiers</h3>",
        "5 % of the first 25,000.00, 8 % from 25,000.00 to 60,000.00, 10 % above",
        "<h3>Q4 platform SPIF</h3>",
        // 2,206.80 USD at 1.12 USD per EUR
        "Subtotal, 1 line(s)</td><td class=\"num\">1,970.36 EUR</td>",
        // earlier periods were paid at their own rates: the year to date stays in USD
        "<h2>Year to date (2026), in USD</h2>",
    ] {
        assert!(page.contains(expected), "missing {expected:?} in P003.html");
    }
    for internal in ["tier 1 (5%)", "cumulative", "payable"] {
        assert!(!page.contains(internal), "{internal:?} in P003.html");
    }
    // A held partner is told why, and its lines are held, not paid.
    let held = read(out.join("statements/P007.html"));
    for expected in [
        "<span class=\"status held\">Held</span>",
        "The partner is suspended",
        "<td>held</td>",
    ] {
        assert!(held.contains(expected), "missing {expected:?} in P007.html");
    }
    assert!(!held.contains("<td>paid</td>"), "{held}");
    // A fund partner sees what is left in its funds.
    let fund = read(out.join("statements/P006.html"));
    assert!(fund.contains("<h2>Your funds</h2>"), "{fund}");
}

#[test]
fn the_year_to_date_adds_the_ledger_of_the_year() {
    let scratch = tempfile::tempdir().unwrap();
    let september = scratch.path().join("2026-09");
    let october = scratch.path().join("2026-10");
    run(&september, "2026-09", &[]);
    run(
        &october,
        "2026-10",
        &["--ledger", september.to_str().unwrap()],
    );
    let paid = payout_cell(&september, "P004", "paid") + payout_cell(&october, "P004", "paid");
    assert!(
        paid > payout_cell(&october, "P004", "paid"),
        "P004 is paid in both months"
    );
    let page = read(october.join("statements/P004.html"));
    let expected = format!(
        "<tr><td>Paid</td><td class=\"num\">{} USD</td></tr>",
        payline::render::display_money(paid, 2)
    );
    assert!(page.contains(&expected), "missing {expected} in P004.html");
}

#[test]
fn text_from_the_inputs_is_escaped() {
    let scratch = tempfile::tempdir().unwrap();
    let partners = scratch.path().join("partners.csv");
    let original = read(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/partners.csv"));
    std::fs::write(
        &partners,
        original.replace("Acme Referrals", "<script>alert(1)</script> & Co"),
    )
    .unwrap();
    let out = scratch.path().join("out");
    let mut args: Vec<&str> = DATA.to_vec();
    args[3] = partners.to_str().unwrap();
    let output = Command::cargo_bin("payline")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("run")
        .args(&args)
        .args(["--period", "2026-10", "--statements", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    for page in [
        read(out.join("statements/P001.html")),
        read(out.join("index.html")),
    ] {
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"));
        assert_self_contained(&page);
    }
}

#[test]
fn the_index_shows_the_batch_at_a_glance() {
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("2026-10");
    run(&out, "2026-10", &[]);
    let page = read(out.join("index.html"));
    assert_self_contained(&page);
    for expected in [
        "<h2>Totals per rule</h2>",
        "<svg role=\"img\" aria-label=\"Totals per rule\"",
        "<td>Reseller tiers</td><td>tiered</td><td class=\"num\">7</td><td class=\"num\">10,476.80 USD</td>",
        "<h2>Per partner type</h2>",
        // what finance acts on: who is not paid and why, what to pay in each currency
        "<h2>Not paid this period</h2>",
        "Granite Partners (P007)",
        "Held: the partner is suspended",
        "<h2>To pay</h2>",
        "<td class=\"num\">EUR 3,226.79</td>",
        "Fund claims reimbursed (MDF, co-op)",
        // the largest payout first, linked to its statement
        "<tr><td>Delta VAR Inc (P004)</td><td>var</td><td class=\"num\">8,375.00 USD</td><td class=\"num\">8,375.00 USD</td><td>2026-11-30</td><td><a href=\"statements/P004.html\">",
        "<h2>Warnings</h2>",
        "<strong>claim-unpaid</strong>",
    ] {
        assert!(
            page.contains(expected),
            "missing {expected:?} in index.html"
        );
    }
    // Warnings read as text: ids they quote are code, not backticks.
    let warnings = &page[page.find("<h2>Warnings</h2>").unwrap()..];
    assert!(!warnings.contains('`'), "{warnings}");
}

/// The README's chain: October's index names the total to pay per payout currency.
#[test]
fn the_index_names_the_total_to_pay_per_currency() {
    let scratch = tempfile::tempdir().unwrap();
    let mut previous: Option<PathBuf> = None;
    for period in ["2026-08", "2026-09", "2026-10"] {
        let out = scratch.path().join(period);
        match &previous {
            Some(prev) => run(&out, period, &["--ledger", prev.to_str().unwrap()]),
            None => run(&out, period, &[]),
        }
        previous = Some(out);
    }
    // September's statement of P004: MDF 2,500.00 from August + 2,500.00 allocated − 4,000.00 of
    // claims = 1,000.00 left; co-op 600.00 + 1,050.00 accrued = 1,650.00 (the earlier column was
    // missing, so the row did not add up).
    let september = scratch.path().join("2026-09/statements/P004.html");
    let p004 = read(september);
    for expected in [
        "<td>MDF</td><td class=\"num\">2,500.00 USD</td><td class=\"num\">2,500.00 USD</td><td class=\"num\">4,000.00 USD</td><td class=\"num\">1,000.00 USD</td>",
        "<td>Co-op</td><td class=\"num\">600.00 USD</td><td class=\"num\">1,050.00 USD</td><td class=\"num\">0.00 USD</td><td class=\"num\">1,650.00 USD</td>",
    ] {
        assert!(p004.contains(expected), "missing {expected:?}:\n{p004}");
    }
    let index = read(previous.unwrap().join("index.html"));
    // A cold review: the cards did not add up (no Carried in) and "What the batch pays for" came to
    // Earned, not to what is paid. Earned 23,839.80 + 5,000.00 of claims = 28,839.80, + 750.00
    // carried in, − 2,200.00 carried to November (P005 600.00 and P007 1,600.00, held) = 27,389.80.
    for expected in [
        "<td>EUR</td><td class=\"num\">1</td><td class=\"num\">EUR 3,370.36</td>",
        "<td>JPY</td><td class=\"num\">1</td><td class=\"num\">JPY 113,636</td>",
        "<div class=\"label\">Carried in</div><div class=\"value\">750.00 USD",
        "<td>Commissions and bonuses</td><td class=\"num\">30</td><td class=\"num\">23,839.80 USD</td>",
        "<td>Fund claims reimbursed (MDF, co-op)</td><td class=\"num\">3</td><td class=\"num\">5,000.00 USD</td>",
        "<tr class=\"subtotal\"><td colspan=\"2\">Earned and clawed back this period</td><td class=\"num\">28,839.80 USD</td></tr>",
        "<td colspan=\"2\">Carried in from earlier periods</td><td class=\"num\">750.00 USD</td>",
        "<td colspan=\"2\">Less what partners carry to the next period (held, below the minimum, negative)</td><td class=\"num\">-2,200.00 USD</td>",
        "<tr class=\"total\"><td colspan=\"2\">Paid out</td><td class=\"num\">27,389.80 USD</td>",
    ] {
        assert!(index.contains(expected), "missing {expected:?}:\n{index}");
    }
}

/// Renders the pages in headless Chromium (Debian's `chromium`): each must render to a screenshot
/// and its rendered DOM must hold the text. Skipped, saying so, on a machine without Chromium.
#[test]
fn a_real_browser_renders_both_pages() {
    let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        eprintln!("skipped: no chromium installed (apt-get install chromium)");
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("2026-10");
    run(&out, "2026-10", &[]);
    for (page, text) in [
        ("index.html", "Largest payouts"),
        ("statements/P003.html", "fy26-partners-2026-10-P003"),
    ] {
        let url = format!("file://{}", out.join(page).display());
        let shot = scratch.path().join(page.replace('/', "-") + ".png");
        let browser = |args: &[&str]| {
            std::process::Command::new(chromium)
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--hide-scrollbars",
                ])
                .args(args)
                .arg(&url)
                .output()
                .unwrap()
        };
        let screenshot = format!("--screenshot={}", shot.display());
        let output = browser(&["--window-size=1100,1800", &screenshot]);
        assert!(output.status.success(), "{output:?}");
        let png = std::fs::read(&shot).unwrap();
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 20_000,
            "{page}: {} bytes",
            png.len()
        );
        let dom = browser(&["--dump-dom"]);
        let dom = String::from_utf8_lossy(&dom.stdout);
        assert!(
            dom.contains(text),
            "{page}: the rendered page lacks {text:?}"
        );
    }
}

/// Partner ids are free text: their pages never collide, and index.html links to the file on disk.
#[test]
fn odd_partner_ids_get_their_own_pages_and_working_links() {
    let scratch = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = scratch.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let program = write(
        "p.toml",
        "[program]\nid = \"p\"\nname = \"P\"\ncurrency = \"USD\"\n\n[[rules]]\nid = \"r\"\nkind = \"flat\"\namount = \"10\"\n",
    );
    let partners = write(
        "partners.csv",
        "partner_id,name,type\na.csv,One,t\na.html,Two,t\nP 003,Three,t\n",
    );
    let deals = write(
        "deals.csv",
        "deal_id,partner_id,closed_on,amount\nD1,a.csv,2026-10-01,1.00\nD2,a.html,2026-10-01,1.00\nD3,P 003,2026-10-01,1.00\n",
    );
    let out = scratch.path().join("out");
    let output = Command::cargo_bin("payline")
        .unwrap()
        .arg("run")
        .arg("--program")
        .arg(&program)
        .arg("--partners")
        .arg(&partners)
        .arg("--deals")
        .arg(&deals)
        .args(["--period", "2026-10", "--statements", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    for page in ["a.csv.html", "a.html.html", "P%20003.html"] {
        assert!(out.join("statements").join(page).is_file(), "{page}");
    }
    let index = read(out.join("index.html"));
    // `%` of the file name is written `%25` in the link, which a browser decodes back to the name.
    assert!(
        index.contains("href=\"statements/P%2520003.html\""),
        "{index}"
    );
    assert!(index.contains("href=\"statements/a.csv.html\""), "{index}");
}

/// A release (SPEC §8.2) moves money from pending to payable: the statement shows it once, with its
/// deal, and the pending card shows what still waits.
#[test]
fn a_release_shows_once_with_its_deal() {
    let scratch = tempfile::tempdir().unwrap();
    let mut previous: Option<PathBuf> = None;
    for period in ["2026-08", "2026-09", "2026-10"] {
        let out = scratch.path().join(period);
        let mut cmd = Command::cargo_bin("payline").unwrap();
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["run", "--program", "programs/affiliate-hold.toml"])
            .args([
                "--partners",
                "fixtures/partners.csv",
                "--deals",
                "fixtures/deals.csv",
            ])
            .args([
                "--fx",
                "fixtures/fx.csv",
                "--adjustments",
                "fixtures/adjustments.csv",
            ])
            .args(["--period", period, "--statements", "--out"])
            .arg(&out);
        if let Some(prev) = &previous {
            cmd.arg("--ledger").arg(prev);
        }
        let output = cmd.output().unwrap();
        assert!(output.status.success(), "{output:?}");
        previous = Some(out);
    }
    let page = read(previous.unwrap().join("statements/P002.html"));
    assert_eq!(page.matches("released from pending").count(), 1, "{page}");
    assert!(!page.contains("moved from pending"), "{page}");
    assert!(
        page.contains(
            "<td>2026-09-16</td><td title=\"D1011\">D1011</td><td>new</td><td class=\"num\">450.00 USD</td>"
        ),
        "{page}"
    );
    assert!(page.contains("<div class=\"label\">Pending (not payable yet)</div><div class=\"value\">180.00 USD</div>"), "{page}");
}
