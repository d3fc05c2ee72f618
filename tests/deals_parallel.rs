//! The parallel deal stream reads as one pass would: the same kept rows in the same order and, for a
//! bad file, the same first error (the lowest line), whatever the block size and thread count; and a
//! fingerprint collision never yields a false duplicate.

use payline::input::deals::{DealPlan, DealsRead, LoadOptions, fingerprint, load_deals_with};
use payline::input::{DealData, FileDigest, FxTable, load_partners};
use payline::money::Rounding;
use payline::period::Period;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const HEADER: &str = "deal_id,partner_id,closed_on,amount,currency,share,product,customer_type,source,status,reversed_on\n";

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        let dir = tempfile::tempdir().unwrap();
        let mut partners = String::from("partner_id,name,type\n");
        for p in 0..50 {
            writeln!(partners, "P{p:02},Partner {p},reseller").unwrap();
        }
        std::fs::write(dir.path().join("partners.csv"), partners).unwrap();
        Files { dir }
    }

    fn deals(&self, text: &str) -> PathBuf {
        let path = self.dir.path().join("deals.csv");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn load(&self, deals: &Path, options: &LoadOptions) -> Result<String, String> {
        self.load_reporting(deals, options, &mut |_| {})
    }

    fn load_reporting(
        &self,
        deals: &Path,
        options: &LoadOptions,
        progress: &mut dyn FnMut(DealsRead),
    ) -> Result<String, String> {
        let (partners, _) = load_partners(&self.dir.path().join("partners.csv"), "USD").unwrap();
        let plan = DealPlan {
            period: Period::parse("2026-10").unwrap(),
            previous_period: true,
            window_months: vec![3],
            prior_filters: Vec::new(),
            prior_firsts: Vec::new(),
            span_from: None,
            held_from: None,
            currency: "USD".into(),
            rounding: Rounding::HalfUp,
            minor_units: 2,
            named: None,
        };
        load_deals_with(
            deals,
            &plan,
            &partners,
            &FxTable::none("USD"),
            progress,
            options,
        )
        .map(|(data, digest)| describe(&data, &digest))
        .map_err(|e| e.to_string())
    }
}

fn describe(data: &DealData, digest: &FileDigest) -> String {
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{} {} {:?}",
        data.current,
        data.previous,
        data.reversals,
        data.windows,
        data.rows,
        digest.sha256,
        digest.rows
    )
}

/// Row `i` (0-based) is on line `i + 2`: deals spread over 2026-07..2026-10, every 10th a split
/// deal of two rows (shares 0.5), some refunded.
fn rows(n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    while out.len() < n {
        let month = 7 + (i / 3) % 4;
        let day = 1 + i % 28;
        let partner = i % 50;
        let amount = format!("{}.{:02}", 100 + i % 9000, i % 100);
        if i % 10 == 0 && out.len() + 1 < n {
            for p in [partner, (partner + 1) % 50] {
                out.push(format!(
                    "S{i:07},P{p:02},2026-{month:02}-{day:02},{amount},USD,0.5,CORE,new,sourced,won,"
                ));
            }
        } else if i % 37 == 0 {
            out.push(format!(
                "D{i:07},P{partner:02},2026-{month:02}-{day:02},{amount},,,EDR,smb,influenced,refunded,2026-10-28"
            ));
        } else {
            out.push(format!(
                "D{i:07},P{partner:02},2026-{month:02}-{day:02},{amount},,,CORE,,,,"
            ));
        }
        i += 1;
    }
    out
}

fn file(rows: &[String]) -> String {
    let mut text = String::from(HEADER);
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    text
}

fn set_line(rows: &mut [String], line: usize, row: String) {
    rows[line - 2] = row;
}

/// The progress reports of a load: in order, never going back, ending at every row and at the
/// file's size in bytes (what the binary's progress bar shows out of the size).
#[test]
fn progress_reports_rows_and_bytes_up_to_the_file_size() {
    let f = Files::new();
    let mut unterminated = file(&rows(20_000));
    unterminated.pop();
    for (text, rows) in [
        (file(&rows(30_000)), 30_000),
        (unterminated, 20_000),
        (file(&rows(1)).replace('\n', "\r\n"), 1),
        (HEADER.to_string(), 0),
    ] {
        let deals = f.deals(&text);
        let size = std::fs::metadata(&deals).unwrap().len();
        for options in [small_blocks(2), small_blocks(1), one_pass()] {
            let mut reports = Vec::new();
            f.load_reporting(&deals, &options, &mut |r| reports.push(r))
                .unwrap();
            let last = *reports.last().expect("at least the final report");
            assert_eq!(last, DealsRead { rows, bytes: size }, "{options:?}");
            assert!(
                reports
                    .windows(2)
                    .all(|w| w[0].rows <= w[1].rows && w[0].bytes <= w[1].bytes),
                "{reports:?}"
            );
            if rows == 30_000 && options.block_bytes < 1 << 20 {
                assert!(
                    reports.len() > 10,
                    "one report per block: {}",
                    reports.len()
                );
            }
        }
    }
}

fn small_blocks(workers: usize) -> LoadOptions {
    LoadOptions {
        block_bytes: 64 << 10,
        workers,
        ..LoadOptions::default()
    }
}

fn one_pass() -> LoadOptions {
    LoadOptions {
        block_bytes: 1 << 30,
        workers: 1,
        ..LoadOptions::default()
    }
}

#[test]
fn a_valid_file_reads_the_same_in_blocks_on_two_threads() {
    let f = Files::new();
    let deals = f.deals(&file(&rows(30_000)));
    let reference = f.load(&deals, &one_pass()).unwrap();
    assert!(reference.contains("S0000010") && reference.contains("Refunded"));
    for options in [small_blocks(2), small_blocks(1), LoadOptions::default()] {
        assert_eq!(f.load(&deals, &options).unwrap(), reference);
    }
}

#[test]
fn a_bad_row_far_into_a_large_file_is_reported_with_its_line() {
    let f = Files::new();
    let mut all = rows(120_000);
    set_line(
        &mut all,
        100_000,
        "X1,P01,2026-10-01,12x,,,,,,,".to_string(),
    );
    let deals = f.deals(&file(&all));
    for options in [small_blocks(2), LoadOptions::default(), one_pass()] {
        let e = f.load(&deals, &options).unwrap_err();
        assert!(e.contains("deals.csv:100000:"), "{e}");
        assert!(e.contains("column `amount`") && e.contains("`12x`"), "{e}");
    }
    // Through the binary as well.
    let out = assert_cmd::Command::cargo_bin("payline")
        .unwrap()
        .args(["explain", "--partner", "P01", "--period", "2026-10"])
        .arg("--program")
        .arg(program(&f))
        .arg("--partners")
        .arg(f.dir.path().join("partners.csv"))
        .arg("--deals")
        .arg(&deals)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("deals.csv:100000:"), "{stderr}");
}

fn program(f: &Files) -> PathBuf {
    let path = f.dir.path().join("program.toml");
    std::fs::write(
        &path,
        "[program]\nid = \"p\"\nname = \"P\"\ncurrency = \"USD\"\n\n[[rules]]\nid = \"c\"\nkind = \"percent\"\nrate = \"0.10\"\n",
    )
    .unwrap();
    path
}

/// Every bad row is reported in one run, in file order, whatever the blocks and threads: bad
/// cells, a duplicate (deal_id, partner_id) and a deal whose shares exceed 1, found by the stream
/// and by the exact look at repeated fingerprints alike.
#[test]
fn every_bad_row_is_listed_in_file_order_whatever_the_blocks() {
    let f = Files::new();
    let mut all = rows(60_000);
    let bad = |line: usize| format!("X{line},P01,2026-10-01,1.00,,,,,nowhere,,");
    set_line(&mut all, 50_000, bad(50_000));
    set_line(&mut all, 30_000, bad(30_000));
    let first = all[100 - 2].clone();
    set_line(&mut all, 40_000, first);
    // A third half of split deal S0000000 (lines 2 and 3), for another partner.
    let third = all[2 - 2].replace(",P00,", ",P07,");
    set_line(&mut all, 35_000, third);
    let deals = f.deals(&file(&all));
    let reference = f.load(&deals, &one_pass()).unwrap_err();
    let lines: Vec<&str> = reference.lines().collect();
    assert_eq!(lines.len(), 5, "{reference}");
    assert!(
        lines[0].contains("deals.csv:30000: column `source`"),
        "{reference}"
    );
    assert!(
        lines[1].contains("deals.csv:35000: column `share`") && lines[1].contains("add up to 1.5"),
        "{reference}"
    );
    assert!(
        lines[2].contains("deals.csv:40000: column `deal_id`")
            && lines[2].contains("first on line 100"),
        "{reference}"
    );
    assert!(
        lines[3].contains("deals.csv:50000: column `source`"),
        "{reference}"
    );
    assert_eq!(lines[4], "4 bad rows");
    for options in [small_blocks(2), LoadOptions::default()] {
        assert_eq!(f.load(&deals, &options).unwrap_err(), reference);
    }
}

/// Past 50 bad rows the rest are counted: the 50 of the lowest lines are listed, in order.
#[test]
fn fifty_bad_rows_are_listed_and_the_rest_counted() {
    let f = Files::new();
    let mut all = rows(5_000);
    for line in (100..=4_900).step_by(40) {
        set_line(&mut all, line, format!("X{line},P01,2026-10-01,x,,,,,,,"));
    }
    let deals = f.deals(&file(&all));
    let reference = f.load(&deals, &one_pass()).unwrap_err();
    let lines: Vec<&str> = reference.lines().collect();
    assert_eq!(lines.len(), 51, "{reference}");
    assert!(lines[0].contains("deals.csv:100: column `amount`"));
    assert!(lines[49].contains("deals.csv:2060: column `amount`"));
    assert_eq!(
        lines[50],
        "… and 71 more (121 bad rows in all; the first 50 are listed)"
    );
    let tiny = LoadOptions {
        block_bytes: 1 << 10,
        workers: 2,
        ..LoadOptions::default()
    };
    assert_eq!(f.load(&deals, &tiny).unwrap_err(), reference);
}

/// Every key has the same fingerprint: every row is a suspect, and only the exact look decides.
fn colliding(_: &[u8]) -> u64 {
    42
}

#[test]
fn colliding_fingerprints_never_make_a_false_duplicate() {
    let f = Files::new();
    let all = rows(20_000);
    let deals = f.deals(&file(&all));
    let reference = f.load(&deals, &one_pass()).unwrap();
    for workers in [1, 2] {
        let options = LoadOptions {
            fingerprint: colliding,
            ..small_blocks(workers)
        };
        assert_eq!(f.load(&deals, &options).unwrap(), reference);
    }
    // A real duplicate is still found, at its line, naming the first.
    let mut bad = all.clone();
    let first = bad[500 - 2].clone();
    set_line(&mut bad, 15_000, first);
    let deals = f.deals(&file(&bad));
    let reference = f.load(&deals, &one_pass()).unwrap_err();
    assert!(reference.contains("deals.csv:15000:") && reference.contains("first on line 500"));
    let options = LoadOptions {
        fingerprint: colliding,
        ..small_blocks(2)
    };
    assert_eq!(f.load(&deals, &options).unwrap_err(), reference);
    // The default fingerprint spreads keys.
    assert_ne!(fingerprint(b"D0000001"), fingerprint(b"D0000002"));
}

#[test]
fn blocks_cut_anywhere_read_quotes_crlf_and_blank_lines_as_one_pass() {
    let f = Files::new();
    let mut text = HEADER.replace('\n', "\r\n");
    for i in 0..400 {
        let product = match i % 5 {
            0 => "\"CORE\r\nline two, with a comma\"".to_string(),
            1 => "\"say \"\"hi\"\"\"".to_string(),
            2 => "plain".to_string(),
            3 => "\"\n\"".to_string(),
            _ => String::new(),
        };
        let end = match i % 7 {
            0 => "\r\n",
            1 => "\n\n",
            2 => "\r\n\r\n",
            3 => "\r",
            _ => "\n",
        };
        write!(
            text,
            "D{i:04},P{:02},2026-10-{:02},{}.00,,,{product},,,,{end}",
            i % 50,
            1 + i % 28,
            10 + i
        )
        .unwrap();
    }
    let valid = f.deals(&text);
    let reference = f.load(&valid, &one_pass()).unwrap();
    for block_bytes in [1, 2, 3, 5, 8, 13, 64, 333, 4096] {
        for workers in [1, 2] {
            let options = LoadOptions {
                block_bytes,
                workers,
                ..LoadOptions::default()
            };
            assert_eq!(
                f.load(&valid, &options).unwrap(),
                reference,
                "{block_bytes}"
            );
        }
    }
    // An error after the quoted line breaks: the line the csv reader reports, whatever the cut.
    let bad = f.deals(&format!("{text}D9999,P01,2026-10-01,oops,,,,,,,\n"));
    let reference = f.load(&bad, &one_pass()).unwrap_err();
    assert!(reference.contains("`oops`"), "{reference}");
    for block_bytes in [1, 7, 64, 500] {
        let options = LoadOptions {
            block_bytes,
            workers: 2,
            ..LoadOptions::default()
        };
        assert_eq!(f.load(&bad, &options).unwrap_err(), reference);
    }
}

/// The line of each data record as a person counts it: the line its first character is on (one
/// more than the `\n`s before it), past a CRLF's `\n` and blank lines. (The csv crate reports the
/// line where its read began, one too low in a CRLF file.)
fn csv_lines(text: &str) -> Vec<u64> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    let mut lines = Vec::new();
    let bytes = text.as_bytes();
    while reader.read_record(&mut record).unwrap() {
        let mut first = usize::try_from(record.position().unwrap().byte()).unwrap();
        while first < bytes.len() && matches!(bytes[first], b'\n' | b'\r') {
            first += 1;
        }
        let breaks = bytes[..first].iter().filter(|&&b| b == b'\n').count();
        lines.push(1 + u64::try_from(breaks).unwrap());
    }
    lines
}

#[test]
fn unquoted_blocks_report_each_rows_own_line_with_crlf_and_blank_lines() {
    let f = Files::new();
    let ends = ["\r\n", "\n\n", "\r\n\r\n", "\r", "\n", "\n\r\n"];
    let mut records = Vec::new();
    for i in 0..300 {
        records.push(format!(
            "D{i:04},P{:02},2026-10-{:02},{}.00,,,CORE,,,,",
            i % 50,
            1 + i % 28,
            10 + i
        ));
    }
    let text_with = |bad: Option<(usize, &str)>| {
        let mut text = HEADER.replace('\n', "\r\n");
        for (i, r) in records.iter().enumerate() {
            match bad {
                Some((k, row)) if k == i => text.push_str(row),
                _ => text.push_str(r),
            }
            text.push_str(ends[i % ends.len()]);
        }
        text
    };
    let valid = text_with(None);
    let lines = csv_lines(&valid);
    assert_eq!(lines.len(), 300);
    let deals = f.deals(&valid);
    let reference = f.load(&deals, &one_pass()).unwrap();
    for block_bytes in [1, 2, 3, 5, 64, 777] {
        let options = LoadOptions {
            block_bytes,
            workers: 2,
            ..LoadOptions::default()
        };
        assert_eq!(f.load(&deals, &options).unwrap(), reference);
    }
    for k in [0, 1, 2, 3, 4, 5, 150, 299] {
        let bad_cells = format!("X{k},P01,2026-10-01,1x,,,,,,,");
        let short = format!("X{k},P01,2026-10-01");
        let not_utf8 = format!("X{k},P01,2026-10-01,\u{fffd},,,,,,,");
        for (row, want) in [
            (bad_cells.as_str(), "column `amount`"),
            (short.as_str(), "row has 3 fields but the header has 11"),
            (not_utf8.as_str(), "column `amount`"),
        ] {
            let text = text_with(Some((k, row)));
            let deals = f.deals(&text);
            let line = format!("deals.csv:{}:", csv_lines(&text)[k]);
            for block_bytes in [3, 64, 1 << 20] {
                let options = LoadOptions {
                    block_bytes,
                    workers: 2,
                    ..LoadOptions::default()
                };
                let e = f.load(&deals, &options).unwrap_err();
                assert!(e.contains(&line) && e.contains(want), "{e} (want {line})");
            }
        }
    }
}

#[test]
fn invalid_utf8_is_reported_at_the_csv_readers_line() {
    let f = Files::new();
    let mut bytes = HEADER.as_bytes().to_vec();
    for i in 0..100 {
        bytes.extend_from_slice(format!("D{i},P01,2026-10-01,1.00,,,").as_bytes());
        if i == 60 {
            bytes.extend_from_slice(b"CO\xffRE");
        }
        bytes.extend_from_slice(b",,,,\n");
    }
    let path = f.dir.path().join("deals.csv");
    std::fs::write(&path, &bytes).unwrap();
    for block_bytes in [7, 1 << 20] {
        let options = LoadOptions {
            block_bytes,
            workers: 2,
            ..LoadOptions::default()
        };
        let e = f.load(&path, &options).unwrap_err();
        assert!(
            e.contains("deals.csv:62") && e.contains("not valid UTF-8"),
            "{e}"
        );
    }
}

/// With `\r` alone ending records, every record is on line 1: the first error is the first in
/// record order, a duplicate or a bad cell alike.
#[test]
fn records_on_one_line_keep_their_order() {
    let f = Files::new();
    let ok = "D1,P01,2026-10-01,10.00,,,,,,,\rD2,P01,2026-10-01,10.00,,,,,,,\r";
    let dup = "D1,P01,2026-10-02,10.00,,,,,,,\r";
    let bad = "D3,P01,2026-10-01,x,,,,,,,\r";
    let header = HEADER.replace('\n', "\r");
    for (body, want) in [
        (
            format!("{ok}{dup}{bad}"),
            "duplicate (deal_id, partner_id) = (D1, P01); first on line 1",
        ),
        (format!("{ok}{bad}{dup}"), "column `amount`"),
    ] {
        let deals = f.deals(&format!("{header}{body}"));
        for block_bytes in [5, 1 << 20] {
            let options = LoadOptions {
                block_bytes,
                workers: 2,
                ..LoadOptions::default()
            };
            let e = f.load(&deals, &options).unwrap_err();
            assert!(e.contains("deals.csv:1:") && e.contains(want), "{e}");
        }
    }
}

/// Window sums too large to add block by block exactly fall back to one thread in file order.
#[test]
fn huge_window_sums_are_added_in_file_order() {
    let f = Files::new();
    let mut all = rows(2_000);
    set_line(
        &mut all,
        10,
        "H1,P03,2026-10-05,60000000000000000000.00,,,,,,,".to_string(),
    );
    set_line(
        &mut all,
        1_990,
        "H2,P03,2026-10-06,60000000000000000000.00,,,,,,,".to_string(),
    );
    let deals = f.deals(&file(&all));
    let reference = f.load(&deals, &one_pass()).unwrap();
    assert!(reference.contains("(1200000000000000"));
    assert_eq!(f.load(&deals, &small_blocks(2)).unwrap(), reference);
    let tiny = LoadOptions {
        block_bytes: 1 << 10,
        workers: 2,
        ..LoadOptions::default()
    };
    assert_eq!(f.load(&deals, &tiny).unwrap(), reference);
}
