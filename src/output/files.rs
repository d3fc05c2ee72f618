use super::Manifest;
use crate::digest::HashingWriter;
use crate::engine::{Line, Outcome};
use crate::error::{Error, Result};
use crate::input::{
    HashingReader, LINE_COLUMNS, PAID_PAYMENT_COLUMNS, PAID_PAYMENTS, PartnerSet,
    TRUE_UP_PART_COLUMNS, TRUE_UP_PARTS,
};
use crate::model::money::{format_money, format_rate, minor_units, write_money, write_rate};
use crate::model::period::Period;
use crate::program::Program;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::Path;

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

/// payouts.csv's columns (SPEC §5).
pub const PAYOUT_COLUMNS: [&str; 18] = [
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
];

/// nudges.csv's columns (SPEC §5).
pub const NUDGE_COLUMNS: [&str; 6] = [
    "partner_id",
    "rule_id",
    "current",
    "next_threshold",
    "gap",
    "gain",
];

/// Creates `dir/name` for writing (see [`create`]).
pub(super) fn create_in(
    dir: &Path,
    name: &str,
) -> Result<(std::path::PathBuf, csv::Writer<Hashed>)> {
    let path = dir.join(name);
    let w = create(&path)?;
    Ok((path, w))
}

/// Flushes the file and returns its manifest key (`name`) and SHA-256.
pub(super) fn finish_named(
    w: csv::Writer<Hashed>,
    path: &Path,
    name: &str,
) -> Result<(String, String)> {
    Ok((name.to_string(), finish(w, path)?))
}

pub(super) fn io(path: &Path) -> impl Fn(csv::Error) -> Error + '_ {
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

/// One record of lines.csv and ledger.csv. `numbers` is a buffer reused from line to line: the
/// three amounts of each of ~800,000 lines (10M deal rows) are formatted without an allocation.
fn write_line<W: Write>(
    w: &mut csv::Writer<W>,
    (period, units): (&str, u32),
    partners: &PartnerSet,
    line: &Line,
    numbers: &mut String,
) -> csv::Result<()> {
    w.write_field(period)?;
    w.write_field(&partners.partners[line.partner].id)?;
    w.write_field(line.account())?;
    w.write_field(&*line.rule_id)?;
    w.write_field(line.kind.name())?;
    w.write_field(line.source.name())?;
    w.write_field(&*line.source_id)?;
    numbers.clear();
    if let Some(basis) = line.basis {
        // A basis is written as computed (its own scale), as `Decimal` displays it.
        use std::fmt::Write as _;
        let _ = write!(numbers, "{basis}");
    }
    w.write_field(&numbers)?;
    numbers.clear();
    if let Some(rate) = line.rate {
        write_rate(numbers, rate);
    }
    w.write_field(&numbers)?;
    numbers.clear();
    write_money(numbers, line.amount, units);
    w.write_field(&numbers)?;
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

/// What the batch's documents need besides the outcome: the summary (index.html) and the deals
/// and year to date behind the statements' files (`output::details`).
pub struct Documents<'a> {
    pub summary: &'a super::Summary,
    pub details: super::details::DetailsContext<'a>,
}

/// Writes payouts.csv, lines.csv, ledger.csv, balances.csv, nudges.csv, journal.csv, index.html,
/// the statements' files (`output::details`) and, last, manifest.json. Three tasks run at once (the
/// tables; the journal and index.html; the statements' files): the files are independent and each
/// is hashed as it is written, so the order they are written in changes no byte of the batch.
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
    documents: &Documents,
) -> Result<()> {
    let tables = || write_tables(dir, program, period, partners, outcome, previous);
    let journal_and_index = || -> Written {
        let journal = write_journal(dir, program, period, partners, outcome)?;
        let index =
            crate::render::index::index(program, period, partners, outcome, documents.summary);
        Ok(vec![journal, write_page(dir, "index.html", &index)?])
    };
    let details = || {
        super::details::write_details(dir, program, period, partners, outcome, &documents.details)
    };
    let (tables, (journal_and_index, details)) =
        rayon::join(tables, || rayon::join(journal_and_index, details));
    // The first failure in this order is reported, whichever task failed first.
    let mut outputs = BTreeMap::new();
    for result in [tables, journal_and_index, details] {
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
    w.write_record(PAYOUT_COLUMNS).map_err(io(&path))?;
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
    let mut numbers = String::new();
    for line in outcome.period_lines() {
        write_line(
            &mut both,
            (&period_label, units),
            partners,
            line,
            &mut numbers,
        )
        .map_err(io(&path))?;
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
    if let Some(digest) = write_paid_payments(dir, partners, outcome, previous)? {
        digests.push((PAID_PAYMENTS.to_string(), digest));
    }

    if program.nudges.is_some() {
        let path = dir.join("nudges.csv");
        let mut w = create(&path)?;
        w.write_record(NUDGE_COLUMNS).map_err(io(&path))?;
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
    pub paid_payments_sha256: Option<&'a str>,
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
    let parts = outcome.true_up_parts.iter().map(|part| {
        [
            part.span.to_string(),
            partners.partners[part.partner].id.clone(),
            part.rule_id.to_string(),
            part.deal_id.to_string(),
            format_money(part.part, units),
        ]
    });
    write_carried(dir, TRUE_UP_PARTS, TRUE_UP_PART_COLUMNS, carried, parts)
}

/// paid_payments.csv (SPEC §9.1): the previous batch's records, then the payments this run wrote a
/// line of. Written only when there is a record, old or new.
fn write_paid_payments(
    dir: &Path,
    partners: &PartnerSet,
    outcome: &Outcome,
    previous: Option<&PreviousFiles>,
) -> Result<Option<String>> {
    let carried = previous.and_then(|p| p.paid_payments_sha256.map(|sha| (p.dir, sha)));
    let records = outcome
        .paid_payments
        .iter()
        .map(|paid| crate::input::paid_payments::record(paid, partners));
    write_carried(dir, PAID_PAYMENTS, PAID_PAYMENT_COLUMNS, carried, records)
}

/// A file carried down the chain: the previous batch's copy (`carried`: its directory and the
/// SHA-256 `--ledger` verified), record by record, then this run's `records`. Written only when
/// there is a record, old or new; returns its SHA-256.
fn write_carried<const N: usize>(
    dir: &Path,
    name: &str,
    columns: &[&str],
    carried: Option<(&Path, &str)>,
    records: impl ExactSizeIterator<Item = [String; N]>,
) -> Result<Option<String>> {
    if carried.is_none() && records.len() == 0 {
        return Ok(None);
    }
    let path = dir.join(name);
    let mut w = create(&path)?;
    w.write_record(columns).map_err(io(&path))?;
    if let Some((prev_dir, sha)) = carried {
        copy_verified(&prev_dir.join(name), columns, sha, &mut w, &path)?;
    }
    for record in records {
        w.write_record(&record).map_err(io(&path))?;
    }
    finish(w, &path).map(Some)
}
