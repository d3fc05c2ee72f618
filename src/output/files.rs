use super::Manifest;
use crate::engine::{Line, Outcome};
use crate::error::{Error, Result};
use crate::input::{HashingReader, LINE_COLUMNS, PartnerSet};
use crate::model::money::{format_money, format_rate, minor_units};
use crate::model::period::Period;
use crate::program::Program;
use rust_decimal::Decimal;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

type CsvWriter = csv::Writer<BufWriter<File>>;

fn create(path: &Path) -> Result<CsvWriter> {
    let file = File::create(path).map_err(|e| Error::io("create", path, e))?;
    Ok(csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(BufWriter::new(file)))
}

fn io(path: &Path) -> impl Fn(csv::Error) -> Error + '_ {
    move |e| Error::io("write", path, std::io::Error::other(e.to_string()))
}

fn finish(mut w: CsvWriter, path: &Path) -> Result<()> {
    w.flush().map_err(|e| Error::io("write", path, e))
}

fn opt(value: Option<Decimal>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
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

fn line_record(period: &str, partners: &PartnerSet, line: &Line, units: u32) -> [String; 11] {
    [
        period.to_string(),
        partners.partners[line.partner].id.clone(),
        line.account(),
        line.rule_id.clone(),
        line.kind.name().to_string(),
        line.source.name().to_string(),
        line.source_id.clone(),
        opt(line.basis),
        line.rate.map(format_rate).unwrap_or_default(),
        format_money(line.amount, units),
        line.note.clone(),
    ]
}

/// The period's lines as lines.csv and ledger.csv hold them: per partner, what was earned, clawed back
/// or adjusted, then the account movements (fund draws, the payout).
fn period_lines(outcome: &Outcome) -> impl Iterator<Item = &Line> {
    let mut earned = outcome.lines.iter().peekable();
    let mut moved = outcome.movements.iter().peekable();
    std::iter::from_fn(move || match (earned.peek(), moved.peek()) {
        (Some(e), Some(m)) if m.partner < e.partner => moved.next(),
        (Some(_), _) => earned.next(),
        (None, _) => moved.next(),
    })
}

/// Writes payouts.csv, lines.csv, ledger.csv, balances.csv, statements/, nudges.csv and manifest.json.
pub fn write_outputs(
    dir: &Path,
    program: &Program,
    period: &Period,
    partners: &PartnerSet,
    outcome: &Outcome,
    previous_ledger: Option<(&Path, &str)>,
    manifest: Manifest,
) -> Result<()> {
    let units = program.minor_units();
    let money = |v: Decimal| format_money(v, units);
    let period_label = period.to_string();

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
        ])
        .map_err(io(&path))?;
    }
    finish(w, &path)?;

    let path = dir.join("lines.csv");
    let mut w = create(&path)?;
    w.write_record(LINE_COLUMNS).map_err(io(&path))?;
    for line in period_lines(outcome) {
        w.write_record(line_record(&period_label, partners, line, units))
            .map_err(io(&path))?;
    }
    finish(w, &path)?;

    // The ledger is the previous ledger's lines, copied record by record, then this period's.
    let path = dir.join("ledger.csv");
    let mut w = create(&path)?;
    w.write_record(LINE_COLUMNS).map_err(io(&path))?;
    if let Some((prev_dir, verified_sha256)) = previous_ledger {
        let prev = prev_dir.join("ledger.csv");
        let read_error =
            |e: csv::Error| Error::io("read", &prev, std::io::Error::other(e.to_string()));
        let file = File::open(&prev).map_err(|e| Error::io("read", &prev, e))?;
        let mut reader = csv::ReaderBuilder::new()
            .from_reader(HashingReader::new(std::io::BufReader::new(file)));
        let headers = reader.headers().map_err(read_error)?.clone();
        let order: Vec<usize> = LINE_COLUMNS
            .iter()
            .map(|c| headers.iter().position(|h| h == *c).unwrap_or(usize::MAX))
            .collect();
        let mut record = csv::StringRecord::new();
        while reader.read_record(&mut record).map_err(read_error)? {
            let fields: Vec<&str> = order.iter().map(|&i| record.get(i).unwrap_or("")).collect();
            w.write_record(&fields).map_err(io(&path))?;
        }
        // The history copied must be the history verified: a file changed since then is refused.
        let mut rest = Vec::new();
        let mut hashing = reader.into_inner();
        std::io::Read::read_to_end(&mut hashing, &mut rest)
            .map_err(|e| Error::io("read", &prev, e))?;
        if hashing.sha256() != verified_sha256 {
            return Err(Error::Chain(vec![format!(
                "{}: changed while this run was reading it; run again",
                prev.display()
            )]));
        }
    }
    for line in period_lines(outcome) {
        w.write_record(line_record(&period_label, partners, line, units))
            .map_err(io(&path))?;
    }
    finish(w, &path)?;

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
    finish(w, &path)?;

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
        finish(w, &path)?;
    }

    write_statements(dir, program, period, partners, outcome)?;

    manifest.write(dir)
}

/// One statement per partner in payouts.csv: who and when, every line grouped by rule with a subtotal
/// per rule, then the totals and the status in words.
fn write_statements(
    dir: &Path,
    program: &Program,
    period: &Period,
    partners: &PartnerSet,
    outcome: &Outcome,
) -> Result<()> {
    let units = program.minor_units();
    let money = |v: Decimal| format_money(v, units);
    let statements = dir.join("statements");
    std::fs::create_dir(&statements).map_err(|e| Error::io("create", &statements, e))?;
    for payout in &outcome.payouts {
        let partner = &partners.partners[payout.partner];
        let path = statements.join(statement_file_name(&partner.id));
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
            let item = if group.rule_id.is_empty() {
                group.kind.to_string()
            } else {
                format!("{} ({})", group.rule_id, group.kind)
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
        finish(w, &path)?;
    }
    Ok(())
}
