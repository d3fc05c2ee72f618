//! payments.csv (SPEC §9.1): cash received per deal, history like deals.csv. Read in two steps so
//! the deal stream keeps only the rows it needs: [`read_payments`] validates the file on its own
//! (before deals.csv is read, so a broken file is refused at once) and names the deal_ids it
//! references ([`ReadPayments::name_deals`]); [`ReadPayments::check`] then checks each payment
//! against those deal rows and keeps the payments a run may pay on.

mod read;

use super::blocks::{Layout, read_parallel};
use super::deals::{DealRef, NamedDeals, NamedRows};
use super::{CsvFile, FileDigest, PartnerSet};
use crate::error::{Result, RowErrors};
use crate::model::Payment;
use chrono::NaiveDate;
use read::{PaymentBlock, PaymentCols, ReadPayment, refuse_duplicates};
use std::path::Path;

/// The columns of payments.csv.
pub const PAYMENT_COLUMNS: &[&str] = &[
    "payment_id",
    "deal_id",
    "partner_id",
    "paid_on",
    "amount",
    "currency",
];

/// The columns every payments.csv has.
pub const REQUIRED_COLUMNS: &[&str] = &["payment_id", "deal_id", "paid_on", "amount"];

/// payments.csv read and validated on its own, waiting for its deal rows.
#[derive(Default)]
pub struct ReadPayments {
    file: String,
    /// The file's blocks of payments, in file order.
    blocks: Vec<PaymentBlock>,
    /// By payment, in file order: its deal's slot in the run's [`NamedDeals`]
    /// ([`ReadPayments::name_deals`]).
    slots: Vec<u32>,
}

/// Reads payments.csv: every row validated (required cells, dates, strict amounts ≠ 0, currency
/// codes, known partners, payment_id unique), every bad row reported at once. A million payments are
/// read on every core (`input::blocks`).
pub fn read_payments(
    path: &Path,
    partners: &PartnerSet,
    dialect: &super::Dialect,
) -> Result<(ReadPayments, FileDigest)> {
    let csv = CsvFile::open_as(path, REQUIRED_COLUMNS, dialect)?;
    let cols = PaymentCols {
        payment_id: csv.column("payment_id"),
        deal_id: csv.column("deal_id"),
        partner_id: csv.column("partner_id"),
        paid_on: csv.column("paid_on"),
        amount: csv.column("amount"),
        currency: csv.column("currency"),
    };
    let layout = Layout {
        file: &csv.file,
        columns: csv.columns(),
        delimiter: dialect.delimiter,
        trailer: csv.trailer().map(|t| t.offset),
    };
    let (mut blocks, sha256) = read_parallel(
        path,
        csv.data_start(),
        &layout,
        crate::worker_threads(),
        |block| PaymentBlock::parse(&layout, &cols, partners, block),
    )?;
    let mut errors = RowErrors::new();
    let (mut count, mut footer_line) = (0, None);
    for block in &mut blocks {
        if let Err(e) = std::mem::take(&mut block.errors).finish() {
            errors.push(e);
        }
        count += block.count;
        footer_line = footer_line.or(block.footer_line);
    }
    if !errors.is_empty() {
        // Broken: every bad row at once, repeated payment_ids too. A sound file's repeats are
        // looked for while its deals are named ([`ReadPayments::name_deals`]), on the other core.
        refuse_duplicates(&csv.file, &blocks, &mut errors);
    }
    errors.finish()?;
    let digest = csv.block_digest(sha256, count, footer_line);
    let read = ReadPayments {
        file: csv.file,
        blocks,
        slots: Vec::new(),
    };
    Ok((read, digest))
}

impl ReadPayments {
    /// How many payments were read.
    pub fn count(&self) -> usize {
        self.blocks.iter().map(|b| b.rows.len()).sum()
    }

    /// Names each payment's deal in `named` (every payment's reference is checked), keeping in
    /// full the rows of its deal from the day `keep_from(payment_id, paid_on)` gives (none: the
    /// payment is paid on by no run of this period, so its deal's rows are not needed). Meanwhile,
    /// on another thread, refuses a payment_id given twice (every repeat at once).
    pub fn name_deals(
        &mut self,
        named: &mut NamedDeals,
        keep_from: impl Fn(&str, NaiveDate) -> Option<NaiveDate>,
    ) -> Result<()> {
        let (slots, repeats) = std::thread::scope(|scope| {
            let repeats = scope.spawn(|| {
                let mut errors = RowErrors::new();
                refuse_duplicates(&self.file, &self.blocks, &mut errors);
                errors
            });
            let slots = self.slots_of(named, keep_from);
            (slots, repeats.join().expect("the duplicate check panicked"))
        });
        repeats.finish()?;
        self.slots = slots;
        Ok(())
    }

    /// Each payment's slot in `named`, in file order.
    fn slots_of(
        &self,
        named: &mut NamedDeals,
        keep_from: impl Fn(&str, NaiveDate) -> Option<NaiveDate>,
    ) -> Vec<u32> {
        let mut slots = Vec::with_capacity(self.count());
        for block in &self.blocks {
            // A million deals make a table of tens of MB: each row's entry is a cache miss. Touched
            // a batch at a time first, the misses overlap instead of being waited for in turn.
            for batch in block.rows.chunks(32) {
                std::hint::black_box(named.warm(batch.iter().map(|r| r.deal_fp)));
                for read in batch {
                    let keep = keep_from(block.payment_id(read), read.paid_on);
                    slots.push(named.name(block.deal_id(read), read.deal_fp, keep));
                }
            }
        }
        slots
    }

    /// Checks each payment against the rows of its deal (`named`: every row of deals.csv of the
    /// deal_ids named): the deal exists, a given partner_id makes a row of it, and a given currency
    /// is the currency of every row the payment applies to. The payments of the deals with a row
    /// kept in full (those a run may pay on) come back sorted by (deal_id, paid_on, payment_id).
    pub fn check(self, named: &NamedRows, partners: &PartnerSet) -> Result<Vec<Payment>> {
        use rayon::prelude::*;
        assert_eq!(
            self.slots.len(),
            self.count(),
            "name_deals runs before check"
        );
        let ReadPayments {
            file,
            blocks,
            slots,
        } = self;
        let mut rest = &slots[..];
        let mut block_slots = Vec::with_capacity(blocks.len());
        for block in &blocks {
            let (these, after) = rest.split_at(block.rows.len());
            block_slots.push(these);
            rest = after;
        }
        // Block by block on every core: a million payments are checked (and let go of).
        let checked: Vec<(Vec<Payment>, RowErrors)> = blocks
            .into_par_iter()
            .zip(block_slots)
            .map(|(block, slots)| {
                let (mut out, mut errors) = (Vec::new(), RowErrors::new());
                for (read, &slot) in block.rows.iter().zip(slots) {
                    let deal_id = block.deal_id(read);
                    match check_payment(&file, deal_id, read, named.of(slot), partners) {
                        Ok(()) if named.has_kept_row(slot) => out.push(block.payment(read)),
                        Ok(()) => {}
                        Err(e) => errors.push(e),
                    }
                }
                (out, errors)
            })
            .collect();
        let mut errors = RowErrors::new();
        let mut out = Vec::new();
        for (payments, bad) in checked {
            out.extend(payments);
            if let Err(e) = bad.finish() {
                errors.push(e);
            }
        }
        errors.finish()?;
        // payment_id is unique: an unstable sort orders them the same.
        out.sort_unstable_by(|a, b| {
            (&a.deal_id, a.paid_on, &a.payment_id).cmp(&(&b.deal_id, b.paid_on, &b.payment_id))
        });
        Ok(out)
    }
}

/// The rows of `deal_id` (`rows`: deals.csv's rows of it), once a reference to it is a row of
/// deals.csv (SPEC §9.1, §9.3: the deal exists, and a given `partner` makes a row of it); otherwise
/// the column, value and message of the refusal. No allocation: a million payments are checked.
pub(crate) fn named_rows<'a>(
    rows: &'a [DealRef],
    deal_id: &str,
    partner: Option<usize>,
    partners: &PartnerSet,
) -> std::result::Result<&'a [DealRef], (&'static str, String, String)> {
    if rows.is_empty() {
        let message = "unknown deal: no row of deals.csv has this deal_id".to_string();
        return Err(("deal_id", deal_id.to_string(), message));
    }
    if partner.is_some_and(|partner| rows.iter().all(|d| d.partner as usize != partner)) {
        let partner_id = partner.map_or("", |i| partners.partners[i].id.as_str());
        let message = format!(
            "deal {deal_id} has no row of this partner in deals.csv (its partners: {})",
            partners_of(rows, partners)
        );
        return Err(("partner_id", partner_id.to_string(), message));
    }
    Ok(rows)
}

/// One payment against its deal's rows.
fn check_payment(
    file: &str,
    deal_id: &str,
    p: &ReadPayment,
    rows: &[DealRef],
    partners: &PartnerSet,
) -> Result<()> {
    let error = |column: &str, value: &str, message: String| crate::error::Error::Input {
        file: file.to_string(),
        line: p.line,
        column: column.to_string(),
        value: value.to_string(),
        message,
    };
    let partner = p.partner.map(|i| i as usize);
    let deal_rows = named_rows(rows, deal_id, partner, partners)
        .map_err(|(column, value, message)| error(column, &value, message))?;
    let applies = deal_rows
        .iter()
        .filter(|d| p.partner.is_none_or(|partner| d.partner == partner));
    let currencies: Vec<&str> = distinct(applies.map(|d| d.currency.as_str()));
    match (
        p.currency.as_ref().map(|c| c.as_str()),
        currencies.as_slice(),
    ) {
        (Some(given), [only]) if given == *only => {}
        (None, [_]) => {}
        (Some(given), _) => {
            return Err(error(
                "currency",
                given,
                format!(
                    "the payment is in the deal's currency: deal {deal_id}'s {} in {}",
                    rows_named(p.partner.is_some()),
                    currencies.join(" and ")
                ),
            ));
        }
        (None, _) => {
            return Err(error(
                "currency",
                "",
                format!(
                    "deal {deal_id}'s rows are in {}: a payment of the whole deal has no one currency; give the partner_id of the row it pays",
                    currencies.join(" and ")
                ),
            ));
        }
    }
    Ok(())
}

fn rows_named(one_partner: bool) -> &'static str {
    if one_partner { "row is" } else { "rows are" }
}

/// The partner_ids of a deal's rows, for a message.
pub(crate) fn partners_of(rows: &[DealRef], partners: &PartnerSet) -> String {
    distinct(
        rows.iter()
            .map(|d| partners.partners[d.partner as usize].id.as_str()),
    )
    .join(", ")
}

/// The values in first-seen order, once each. A deal has a handful of rows: a linear scan, not a
/// hash set per payment (a million payments are checked).
fn distinct<'a>(values: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rules::testkit::{deal, partner};
    use crate::model::Deal;

    const HEAD: &str = "payment_id,deal_id,partner_id,paid_on,amount,currency\n";

    fn partners() -> PartnerSet {
        PartnerSet::new(vec![partner("P1"), partner("P2"), partner("P3")])
    }

    /// A USD row of `deal_id` credited to partner index `partner`.
    fn row(deal_id: &str, partner: usize, currency: &str) -> Deal {
        let mut row = deal(deal_id, "2026-10-01", "100");
        row.partner = partner;
        row.currency = currency.into();
        row
    }

    /// D1 split between P1 and P2 in USD; D2 of P1 in EUR; D3 of P1 in USD and P3 in EUR.
    fn rows() -> Vec<Deal> {
        vec![
            row("D1", 0, "USD"),
            row("D1", 1, "USD"),
            row("D2", 0, "EUR"),
            row("D3", 0, "USD"),
            row("D3", 2, "EUR"),
        ]
    }

    fn load(text: &str) -> Result<Vec<Payment>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("payments.csv");
        std::fs::write(&path, text).unwrap();
        let (read, digest) = read_payments(&path, &partners(), &crate::input::Dialect::default())?;
        assert_eq!(
            digest.rows,
            Some(u64::try_from(text.lines().count() - 1).unwrap())
        );
        let mut read = read;
        let mut named = NamedDeals::default();
        read.name_deals(&mut named, |_, _| Some(NaiveDate::MIN))?;
        read.check(&NamedRows::from_deals(named, &rows()), &partners())
    }

    fn refused(text: &str) -> (u64, String, String, String) {
        match load(text) {
            Err(crate::error::Error::Input {
                file,
                line,
                column,
                value,
                message,
            }) => {
                assert!(file.ends_with("payments.csv"), "{file}");
                (line, column, value, message)
            }
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn payments_are_kept_whatever_their_dates_sorted_by_deal_date_and_id() {
        let payments = load(&format!(
            "{HEAD}B,D1,,2026-11-05,600.00,\nA,D1,P1,2026-10-05,-50,USD\nC,D2,P1,2025-01-01,1.005,EUR\nA0,D1,,2026-11-05,1,\n"
        ))
        .unwrap();
        let seen: Vec<String> = payments
            .iter()
            .map(|p| {
                format!(
                    "{} {} {:?} {} {} line {}",
                    p.payment_id, p.deal_id, p.partner, p.paid_on, p.amount, p.line
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                "A D1 Some(0) 2026-10-05 -50 line 3",
                "A0 D1 None 2026-11-05 1 line 5",
                "B D1 None 2026-11-05 600.00 line 2",
                "C D2 Some(0) 2025-01-01 1.005 line 4",
            ]
        );
    }

    #[test]
    fn every_bad_cell_names_its_line_column_and_value() {
        // (row after the header, column, value, words of the message)
        let cases = [
            (",D1,,2026-10-05,1.00,", "payment_id", "", "required"),
            ("A,,,2026-10-05,1.00,", "deal_id", "", "required"),
            ("A,D1,,,1.00,", "paid_on", "", "date is required"),
            (
                "A,D1,,05/10/2026,1.00,",
                "paid_on",
                "05/10/2026",
                "YYYY-MM-DD",
            ),
            ("A,D1,,2026-10-05,,", "amount", "", "required"),
            (
                "A,D1,,2026-10-05,\"1,000.00\",",
                "amount",
                "1,000.00",
                "plain decimal",
            ),
            ("A,D1,,2026-10-05,$5,", "amount", "$5", "plain decimal"),
            ("A,D1,,2026-10-05,0.00,", "amount", "0.00", "payment of 0"),
            (
                "A,D1,P9,2026-10-05,1.00,",
                "partner_id",
                "P9",
                "unknown partner",
            ),
            ("A,D1,,2026-10-05,1.00,usd", "currency", "usd", "ISO 4217"),
            ("A,D9,,2026-10-05,1.00,", "deal_id", "D9", "unknown deal"),
            (
                "A,D2,P2,2026-10-05,1.00,",
                "partner_id",
                "P2",
                "no row of this partner",
            ),
            ("A,D2,,2026-10-05,1.00,USD", "currency", "USD", "in EUR"),
            ("A,D1,P2,2026-10-05,1.00,EUR", "currency", "EUR", "in USD"),
            (
                "A,D3,,2026-10-05,1.00,USD",
                "currency",
                "USD",
                "USD and EUR",
            ),
            ("A,D3,,2026-10-05,1.00,", "currency", "", "no one currency"),
        ];
        for (row, column, value, words) in cases {
            let (line, c, v, message) = refused(&format!("{HEAD}{row}\n"));
            assert_eq!((line, c.as_str(), v.as_str()), (2, column, value), "{row}");
            assert!(message.contains(words), "{row}: {message}");
        }
    }

    #[test]
    fn a_payment_of_one_row_of_a_deal_in_two_currencies_is_in_that_rows_currency() {
        let payments = load(&format!(
            "{HEAD}A,D3,P3,2026-10-05,1.00,EUR\nB,D3,P1,2026-10-05,1.00,\n"
        ))
        .unwrap();
        assert_eq!(payments.len(), 2);
    }

    #[test]
    fn a_payment_id_twice_is_an_error_naming_the_first_line() {
        let (line, column, value, message) = refused(&format!(
            "{HEAD}A,D1,,2026-10-05,1.00,\nA,D2,,2026-10-06,2.00,\n"
        ));
        assert_eq!(
            (line, column.as_str(), value.as_str()),
            (3, "payment_id", "A")
        );
        assert!(message.contains("first on line 2"), "{message}");
    }

    #[test]
    fn every_bad_row_is_reported_at_once() {
        let err = load(&format!(
            "{HEAD}A,D1,,2026-10-05,0,\nB,D1,,2026-13-01,1,\nC,D1,,2026-10-05,1,\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("payments.csv:2"), "{err}");
        assert!(err.contains("payments.csv:3"), "{err}");
        assert!(err.contains("2 bad rows"), "{err}");
        let err = load(&format!(
            "{HEAD}A,D8,,2026-10-05,1,\nB,D1,,2026-10-01,1,\nC,D9,,2026-10-05,1,\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("payments.csv:2") && err.contains("payments.csv:4"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_required_column_is_an_error_naming_it() {
        let err = load("payment_id,deal_id,amount\nA,D1,1.00\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("paid_on"), "{err}");
    }

    #[test]
    fn every_payment_is_checked_but_only_those_a_run_may_pay_on_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("payments.csv");
        let text = "A,D1,,2026-10-05,1,\nB,D2,,2026-12-05,1,\nC,D7,,2026-12-05,1,\n";
        std::fs::write(&path, format!("{HEAD}{text}")).unwrap();
        let dialect = crate::input::Dialect::default();
        let (mut read, _) = read_payments(&path, &partners(), &dialect).unwrap();
        let mut named = NamedDeals::default();
        // Payments after October are paid on by no October run: their deals' rows are not kept.
        let end: NaiveDate = "2026-10-31".parse().unwrap();
        read.name_deals(&mut named, |_, paid_on| {
            (paid_on <= end).then_some(NaiveDate::MIN)
        })
        .unwrap();
        let kept = |id| named.find(id).unwrap().keeps(NaiveDate::MIN, None);
        assert!(kept("D1") && !kept("D2"));
        // ... but each is still checked: D7 is no deal of deals.csv.
        match read.check(&NamedRows::from_deals(named, &rows()), &partners()) {
            Err(crate::error::Error::Input { line, value, .. }) => {
                assert_eq!((line, &*value), (4, "D7"))
            }
            other => panic!("expected D7 refused, got {other:?}"),
        }
        let (mut read, _) = read_payments(&path, &partners(), &dialect).unwrap();
        read.blocks.last_mut().unwrap().rows.pop();
        let mut named = NamedDeals::default();
        read.name_deals(&mut named, |_, paid_on| {
            (paid_on <= end).then_some(NaiveDate::MIN)
        })
        .unwrap();
        let kept = read
            .check(&NamedRows::from_deals(named, &rows()), &partners())
            .unwrap();
        let ids: Vec<&str> = kept.iter().map(|p| &*p.payment_id).collect();
        assert_eq!(ids, ["A"]);
    }

    #[test]
    fn every_repeat_of_a_payment_id_names_its_first_row() {
        let text = format!(
            "{HEAD}A,D1,,2026-10-05,1,\nB,D1,,2026-10-05,1,\nA,D1,,2026-10-06,1,\nA,D1,,2026-10-07,1,\n"
        );
        let Err(crate::error::Error::Rows { errors, more: 0 }) = load(&text) else {
            panic!("expected two refused rows");
        };
        let found: Vec<(u64, String)> = errors
            .iter()
            .map(|e| match e {
                crate::error::Error::Input { line, message, .. } => (*line, message.clone()),
                other => panic!("{other:?}"),
            })
            .collect();
        let first = "duplicate payment_id (first on line 2)".to_string();
        assert_eq!(found, [(4, first.clone()), (5, first)]);
    }
}
