use super::Manifest;
use crate::digest::HashingWriter;
use crate::engine::{Line, Outcome, Payout};
use crate::error::{Error, Result};
use crate::input::{HashingReader, LINE_COLUMNS, PartnerSet, TRUE_UP_PART_COLUMNS, TRUE_UP_PARTS};
use crate::model::money::{format_money, format_rate, minor_units};
use crate::model::period::Period;
use crate::program::Program;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// An output file, hashed as it is written so the manifest never reads the batch back.
type Hashed = HashingWriter<File>;

/// What a writing task produced: the manifest key and SHA-256 of each file it wrote.
type Written = Result<Vec<(String, String)>>;

fn csv_writer<W: Write>(inner: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .buffer_capacity(1 << 16)
        .from_writer(inner)
}

/// Creates one output file in the fresh temporary directory; never over anything already there (a
/// file, or a link planted to write elsewhere).
fn create(path: &Path) -> Result<csv::Writer<Hashed>> {
    let file = File::create_new(path).map_err(|e| Error::io("create", path, e))?;
    Ok(csv_writer(HashingWriter::new(file)))
}

fn io(path: &Path) -> impl Fn(csv::Error) -> Error + '_ {
    move |e| Error::io("write", path, std::io::Error::other(e.to_string()))
}

fn into_inner<W: Write>(w: csv::Writer<W>, path: &Path) -> Result<W> {
    w.into_inner()
        .map_err(|e| Error::io("write", path, e.into_error()))
}

/// Flushes the file and returns its SHA-256.
fn finish(w: csv::Writer<Hashed>, path: &Path) -> Result<String> {
    Ok(into_inner(w, path)?.sha256())
}

/// Writes every byte to both files: lines.csv and ledger.csv end with the same records, formatted once.
struct Tee<A, B>(A, B);

impl<A: Write, B: Write> Write for Tee<A, B> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write_all(buf)?;
        self.1.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()?;
        self.1.flush()
    }
}

fn opt(value: Option<Decimal>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// The HTML statement's file name: the CSV statement's with `.html` for its `.csv` suffix.
pub fn statement_page_name(partner_id: &str) -> String {
    let csv = statement_file_name(partner_id);
    format!("{}.html", csv.strip_suffix(".csv").unwrap_or(&csv))
}

/// A partner_id made safe as a file name: characters outside `A-Za-z0-9._-` are percent-encoded, so
/// distinct ids never collide and no id can escape the statements directory.
pub fn statement_file_name(partner_id: &str) -> String {
    let mut out = String::new();
    for b in partner_id.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && !out.is_empty()) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{out}.csv")
}

fn write_line<W: Write>(
    w: &mut csv::Writer<W>,
    period: &str,
    partners: &PartnerSet,
    line: &Line,
    units: u32,
) -> csv::Result<()> {
    w.write_field(period)?;
    w.write_field(&partners.partners[line.partner].id)?;
    w.write_field(line.account())?;
    w.write_field(&*line.rule_id)?;
    w.write_field(line.kind.name())?;
    w.write_field(line.source.name())?;
    w.write_field(&*line.source_id)?;
    w.write_field(opt(line.basis))?;
    w.write_field(line.rate.map(format_rate).unwrap_or_default())?;
    w.write_field(format_money(line.amount, units))?;
    w.write_field(&line.note)?;
    w.write_record(None::<&[u8]>)
}

/// Writes one HTML page at `key`, its path inside `--out` (and its manifest key).
fn write_page(dir: &Path, key: &str, page: &str) -> Result<(String, String)> {
    let path = dir.join(key);
    let file = File::create_new(&path).map_err(|e| Error::io("create", &path, e))?;
    let mut w = HashingWriter::new(file);
    w.write_all(page.as_bytes())
        .and_then(|()| w.flush())
        .map_err(|e| Error::io("write", &path, e))?;
    Ok((key.to_string(), w.sha256()))
}

/// journal.csv (see `output::journal`): `entry, date, account, debit, credit, partner_id, memo`, every
/// entry dated the period's last day, the side an amount is not on left empty.
fn write_journal(
    dir: &Path,
    program: &Program,
    period: &Period,
    partners: &PartnerSet,
    outcome: &Outcome,
) -> Result<(String, String)> {
    let rows = super::journal::journal(program, period, outcome)?;
    let path = dir.join("journal.csv");
    let mut w = create(&path)?;
    let units = program.minor_units();
    let side = |v: Decimal| {
        if v.is_zero() {
            String::new()
        } else {
            format_money(v, units)
        }
    };
    let date = period.end.to_string();
    w.write_record([
        "entry",
        "date",
        "account",
        "debit",
        "credit",
        "partner_id",
        "memo",
    ])
    .map_err(io(&path))?;
    for row in rows {
        w.write_record([
            row.entry.as_str(),
            &date,
            &row.account,
            &side(row.debit),
            &side(row.credit),
            &partners.partners[row.partner].id,
            &row.memo,
        ])
        .map_err(io(&path))?;
    }
    Ok(("journal.csv".to_string(), finish(w, &path)?))
}

/// Writes payouts.csv, lines.csv, ledger.csv, balances.csv, journal.csv, statements/, nudges.csv and
/// manifest.json.
/// The tables and the statements are written by every core at once: the files are independent and
/// each is hashed as it is written, so the order they are written in changes no byte of the batch.
#[allow(
    clippy::too_many_arguments,
    reason = "each is a distinct input of the batch; a struct holding them would only be unpacked here"
)]
pub fn write_outputs(
    dir: &Path,
    program: &Program,
    period: &Period,
    partners: &PartnerSet,
    outcome: &Outcome,
    previous: Option<&PreviousFiles>,
    mut manifest: Manifest,
    pages: &super::html::PageContext,
) -> Result<()> {
    let statements = dir.join("statements");
    std::fs::create_dir(&statements).map_err(|e| Error::io("create", &statements, e))?;
    // Task 0 writes the tables; every other task writes a run of consecutive statements.
    const STATEMENTS_PER_TASK: usize = 256;
    let runs: Vec<&[Payout]> = outcome.payouts.chunks(STATEMENTS_PER_TASK).collect();
    // Task 1 writes journal.csv.
    let tasks = runs.len() + 2;
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<Written>>> = Mutex::new((0..tasks).map(|_| None).collect());
    let workers = crate::worker_threads().min(tasks);
    let work = || {
        loop {
            let task = next.fetch_add(1, Ordering::Relaxed);
            if task >= tasks || failed.load(Ordering::Relaxed) {
                break;
            }
            let result = if task == 0 {
                write_tables(dir, program, period, partners, outcome, previous)
            } else if task == 1 {
                write_journal(dir, program, period, partners, outcome).and_then(|journal| {
                    let index = super::html::index(program, period, partners, outcome, pages);
                    Ok(vec![journal, write_page(dir, "index.html", &index)?])
                })
            } else {
                let mut written = Vec::new();
                runs[task - 2]
                    .iter()
                    .try_for_each(|p| {
                        written.push(write_statement(
                            &statements,
                            program,
                            period,
                            partners,
                            outcome,
                            p,
                        )?);
                        let page =
                            super::html::statement(program, period, partners, outcome, p, pages);
                        let name = statement_page_name(&partners.partners[p.partner].id);
                        written.push(write_page(dir, &format!("statements/{name}"), &page)?);
                        Ok(())
                    })
                    .map(|()| written)
            };
            if result.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            results
                .lock()
                .expect("no writer panics while holding the results")[task] = Some(result);
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..workers {
            scope.spawn(work);
        }
        work();
    });
    // The first failed task in task order is reported, whichever thread saw its failure first.
    let mut outputs = BTreeMap::new();
    for result in results
        .into_inner()
        .expect("no writer panics while holding the results")
        .into_iter()
        .flatten()
    {
        outputs.extend(result?);
    }
    manifest.outputs = outputs;
    manifest.write(dir)
}

/// payouts.csv, lines.csv, ledger.csv, balances.csv and nudges.csv, with the SHA-256 of each.
fn write_tables(
    dir: &Path,
    program: &Program,
    period: &Period,
    partners: &PartnerSet,
    outcome: &Outcome,
    previous: Option<&PreviousFiles>,
) -> Result<Vec<(String, String)>> {
    let units = program.minor_units();
    let money = |v: Decimal| format_money(v, units);
    let period_label = period.to_string();
    let mut digests = Vec::new();

    let path = dir.join("payouts.csv");
    let mut w = create(&path)?;
    w.write_record([
        "period",
        "partner_id",
        "partner_name",
        "partner_type",
        "level",
        "currency",
        "earned",
        "clawed_back",
        "carried_in",
        "balance",
        "paid",
        "carried_out",
        "status",
        "due_on",
        "payout_currency",
        "fx_rate",
        "paid_in_payout_currency",
        "pending",
    ])
    .map_err(io(&path))?;
    for p in &outcome.payouts {
        let partner = &partners.partners[p.partner];
        w.write_record([
            period_label.clone(),
            partner.id.clone(),
            super::safe::spreadsheet_text(&partner.name).into_owned(),
            super::safe::spreadsheet_text(&partner.partner_type).into_owned(),
            super::safe::spreadsheet_text(p.level.as_deref().unwrap_or_default()).into_owned(),
            program.currency.clone(),
            money(p.earned),
            money(p.clawed_back),
            money(p.carried_in),
            money(p.balance),
            money(p.paid),
            money(p.carried_out),
            p.status.name().to_string(),
            p.due_on.map(|d| d.to_string()).unwrap_or_default(),
            p.payout_currency.clone(),
            format_rate(p.fx_rate),
            format_money(p.paid_in_payout_currency, minor_units(&p.payout_currency)),
            money(p.pending),
        ])
        .map_err(io(&path))?;
    }
    digests.push(("payouts.csv".to_string(), finish(w, &path)?));

    // lines.csv holds this period's lines; ledger.csv the previous ledger's, copied record by record,
    // then the same lines, formatted once and written to both.
    let lines_path = dir.join("lines.csv");
    let mut lines = create(&lines_path)?;
    lines.write_record(LINE_COLUMNS).map_err(io(&lines_path))?;
    let path = dir.join("ledger.csv");
    let mut w = create(&path)?;
    w.write_record(LINE_COLUMNS).map_err(io(&path))?;
    if let Some(previous) = previous {
        copy_verified(
            &previous.dir.join("ledger.csv"),
            LINE_COLUMNS,
            previous.ledger_sha256,
            &mut w,
            &path,
        )?;
    }
    let mut both = csv_writer(Tee(into_inner(lines, &lines_path)?, into_inner(w, &path)?));
    for line in outcome.period_lines() {
        write_line(&mut both, &period_label, partners, line, units).map_err(io(&path))?;
    }
    let Tee(lines, ledger) = into_inner(both, &path)?;
    digests.push(("lines.csv".to_string(), lines.sha256()));
    digests.push(("ledger.csv".to_string(), ledger.sha256()));

    let path = dir.join("balances.csv");
    let mut w = create(&path)?;
    w.write_record(["partner_id", "account", "balance"])
        .map_err(io(&path))?;
    for b in &outcome.balances {
        w.write_record([
            partners.partners[b.partner].id.clone(),
            b.account.clone(),
            money(b.balance),
        ])
        .map_err(io(&path))?;
    }
    digests.push(("balances.csv".to_string(), finish(w, &path)?));
    if let Some(digest) = write_true_up_parts(dir, partners, outcome, previous, units)? {
        digests.push((TRUE_UP_PARTS.to_string(), digest));
    }

    if program.nudges.is_some() {
        let path = dir.join("nudges.csv");
        let mut w = create(&path)?;
        w.write_record([
            "partner_id",
            "rule_id",
            "current",
            "next_threshold",
            "gap",
            "gain",
        ])
        .map_err(io(&path))?;
        for n in &outcome.nudges {
            let measure = |v: Decimal| {
                if n.counts_deals {
                    format_rate(v)
                } else {
                    money(v)
                }
            };
            w.write_record([
                partners.partners[n.partner].id.clone(),
                n.rule_id.clone(),
                measure(n.current),
                measure(n.next_threshold),
                measure(n.gap),
                money(n.gain),
            ])
            .map_err(io(&path))?;
        }
        digests.push(("nudges.csv".to_string(), finish(w, &path)?));
    }

    Ok(digests)
}

/// The previous batch whose history this batch continues: its directory and the SHA-256 of the
/// files copied from it, as verified by `--ledger`.
pub struct PreviousFiles<'a> {
    pub dir: &'a Path,
    pub ledger_sha256: &'a str,
    pub true_up_parts_sha256: Option<&'a str>,
}

/// Copies a CSV file of the previous batch record by record (columns in `columns` order) into `w`,
/// and refuses it unless it is still the file `--ledger` verified: the history copied must be the
/// history verified.
fn copy_verified(
    prev: &Path,
    columns: &[&str],
    verified_sha256: &str,
    w: &mut csv::Writer<impl Write>,
    path: &Path,
) -> Result<()> {
    let read_error = |e: csv::Error| Error::io("read", prev, std::io::Error::other(e.to_string()));
    let file = File::open(prev).map_err(|e| Error::io("read", prev, e))?;
    let mut reader =
        csv::ReaderBuilder::new().from_reader(HashingReader::new(std::io::BufReader::new(file)));
    let headers = reader.headers().map_err(read_error)?.clone();
    let order: Vec<usize> = columns
        .iter()
        .map(|c| headers.iter().position(|h| h == *c).unwrap_or(usize::MAX))
        .collect();
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(read_error)? {
        let fields: Vec<&str> = order.iter().map(|&i| record.get(i).unwrap_or("")).collect();
        w.write_record(&fields).map_err(io(path))?;
    }
    let mut rest = Vec::new();
    let mut hashing = reader.into_inner();
    std::io::Read::read_to_end(&mut hashing, &mut rest).map_err(|e| Error::io("read", prev, e))?;
    if hashing.sha256() != verified_sha256 {
        return Err(Error::Chain(vec![format!(
            "{}: changed while this run was reading it; run again",
            prev.display()
        )]));
    }
    Ok(())
}

/// true_up_parts.csv (SPEC §4.12): the previous batch's records, then the parts of the spans that
/// end with this period. Written only when there is a record, old or new.
fn write_true_up_parts(
    dir: &Path,
    partners: &PartnerSet,
    outcome: &Outcome,
    previous: Option<&PreviousFiles>,
    units: u32,
) -> Result<Option<String>> {
    let carried = previous.and_then(|p| p.true_up_parts_sha256.map(|sha| (p.dir, sha)));
    if carried.is_none() && outcome.true_up_parts.is_empty() {
        return Ok(None);
    }
    let path = dir.join(TRUE_UP_PARTS);
    let mut w = create(&path)?;
    w.write_record(TRUE_UP_PART_COLUMNS).map_err(io(&path))?;
    if let Some((prev_dir, sha)) = carried {
        copy_verified(
            &prev_dir.join(TRUE_UP_PARTS),
            TRUE_UP_PART_COLUMNS,
            sha,
            &mut w,
            &path,
        )?;
    }
    for part in &outcome.true_up_parts {
        w.write_record([
            part.span.to_string().as_str(),
            partners.partners[part.partner].id.as_str(),
            &part.rule_id,
            &part.deal_id,
            format_money(part.part, units).as_str(),
        ])
        .map_err(io(&path))?;
    }
    finish(w, &path).map(Some)
}

/// One partner's statement (a partner in payouts.csv): who and when, every line grouped by rule with
/// a subtotal per rule, then the totals and the status in words. Returns its manifest key and SHA-256.
fn write_statement(
    statements: &Path,
    program: &Program,
    period: &Period,
    partners: &PartnerSet,
    outcome: &Outcome,
    payout: &Payout,
) -> Result<(String, String)> {
    let units = program.minor_units();
    let money = |v: Decimal| format_money(v, units);
    let partner = &partners.partners[payout.partner];
    let name = statement_file_name(&partner.id);
    let path = statements.join(&name);
    let mut w = create(&path)?;
    w.write_record(["section", "item", "source_id", "detail", "amount"])
        .map_err(io(&path))?;
    // Every text cell is spreadsheet-safe (SPEC §7); the amount column is a number, kept as is.
    let mut row = |cells: [&str; 5]| {
        let [section, item, source_id, detail, amount] = cells;
        let safe = super::safe::spreadsheet_text;
        w.write_record([
            &*safe(section),
            &*safe(item),
            &*safe(source_id),
            &*safe(detail),
            amount,
        ])
        .map_err(io(&path))
    };
    row([
        "partner",
        &partner.id,
        "",
        &format!(
            "{} ({}{})",
            partner.name,
            partner.partner_type,
            payout
                .level
                .as_ref()
                .map(|l| format!(", level {l}"))
                .unwrap_or_default()
        ),
        "",
    ])?;
    row([
        "period",
        &period.to_string(),
        "",
        &format!("{} to {}", period.start, period.end),
        "",
    ])?;
    for group in outcome.partner_rule_totals(payout.partner) {
        let held = group.lines.first().is_some_and(|l| l.kind.is_pending());
        let item = match (group.rule_id.is_empty(), held) {
            (true, false) => group.kind.to_string(),
            (true, true) => format!("{} (pending)", group.kind),
            (false, false) => format!("{} ({})", group.rule_id, group.kind),
            (false, true) => format!("{} ({}, pending)", group.rule_id, group.kind),
        };
        for l in &group.lines {
            row(["line", &item, &l.source_id, &l.note, &money(l.amount)])?;
        }
        row([
            "subtotal",
            &item,
            "",
            &format!("{} line(s)", group.lines.len()),
            &money(group.amount),
        ])?;
    }
    for (name, value) in [
        ("earned", payout.earned),
        ("clawed_back", payout.clawed_back),
        ("carried_in", payout.carried_in),
        ("balance", payout.balance),
        ("paid", payout.paid),
        ("carried_out", payout.carried_out),
    ] {
        row(["total", name, "", "", &money(value)])?;
    }
    // SPEC §8.2: the pending balance, when the partner has one or moved it this period.
    let moved_pending = outcome
        .partner_rule_totals(payout.partner)
        .iter()
        .any(|g| g.lines.iter().any(|l| l.kind.is_pending()));
    if moved_pending || !payout.pending.is_zero() {
        row(["total", "pending", "", "", &money(payout.pending)])?;
    }
    let due = payout
        .due_on
        .map(|d| format!("; due {d}"))
        .unwrap_or_default();
    row([
        "status",
        payout.status.name(),
        "",
        &format!("{}{due}", payout.reason),
        "",
    ])?;
    if payout.payout_currency != program.currency {
        row([
            "payout",
            &payout.payout_currency,
            "",
            &format!(
                "{} at {} {} per {}",
                money(payout.paid),
                format_rate(payout.fx_rate),
                program.currency,
                payout.payout_currency
            ),
            &format_money(
                payout.paid_in_payout_currency,
                minor_units(&payout.payout_currency),
            ),
        ])?;
    }
    let sha256 = finish(w, &path)?;
    Ok((format!("statements/{name}"), sha256))
}
