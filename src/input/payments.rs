//! payments.csv (SPEC §9.1): cash received per deal, history like deals.csv. Read in two steps so
//! the deal stream keeps only the rows it needs: [`read_payments`] validates the file on its own
//! (before deals.csv is read, so a broken file is refused at once) and names the deal_ids it
//! references; [`ReadPayments::check`] then checks each payment against those deal rows.

use super::{Col, CsvFile, Deal, FileDigest, PartnerSet, Row};
use crate::error::{Result, RowErrors};
use crate::model::money::is_currency_code;
use crate::model::{Payment, Text};
use std::collections::HashMap;
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
#[derive(Debug, Default)]
pub struct ReadPayments {
    file: String,
    rows: Vec<ReadPayment>,
}

/// One payment as read, with the currency it names (checked against its rows).
#[derive(Debug)]
struct ReadPayment {
    payment: Payment,
    currency: Option<String>,
}

/// Reads payments.csv: every row validated (required cells, dates, strict amounts ≠ 0, currency
/// codes, known partners, payment_id unique), every bad row reported at once.
pub fn read_payments(
    path: &Path,
    partners: &PartnerSet,
    dialect: &super::Dialect,
) -> Result<(ReadPayments, FileDigest)> {
    let mut csv = CsvFile::open_as(path, REQUIRED_COLUMNS, dialect)?;
    let mut rows = Vec::new();
    let mut seen: HashMap<String, u64, super::FnvBuild> = HashMap::default();
    // Resolved once: a million payments would otherwise look each header up per cell.
    let cols = PaymentCols {
        payment_id: csv.column("payment_id"),
        deal_id: csv.column("deal_id"),
        partner_id: csv.column("partner_id"),
        paid_on: csv.column("paid_on"),
        amount: csv.column("amount"),
        currency: csv.column("currency"),
    };
    while let Some(row) = csv.next_row()? {
        match payment_row(&row, &cols, partners, &mut seen) {
            Ok(read) => rows.push(read),
            Err(e) => csv.reject(e),
        }
    }
    let file = csv.file.clone();
    Ok((ReadPayments { file, rows }, csv.finish()?))
}

/// payments.csv's columns, resolved against its header.
struct PaymentCols {
    payment_id: Col,
    deal_id: Col,
    partner_id: Col,
    paid_on: Col,
    amount: Col,
    currency: Col,
}

fn payment_row(
    row: &Row,
    c: &PaymentCols,
    partners: &PartnerSet,
    seen: &mut HashMap<String, u64, super::FnvBuild>,
) -> Result<ReadPayment> {
    let payment_id = row.required(c.payment_id)?;
    if let Some(first) = seen.insert(payment_id.to_string(), row.line) {
        return Err(row.error(
            c.payment_id,
            payment_id,
            format!("duplicate payment_id (first on line {first})"),
        ));
    }
    let deal_id = row.required(c.deal_id)?;
    let partner = match row.get(c.partner_id) {
        Some(_) => {
            Some(partners.lookup(row, c.partner_id, "unknown partner: not in partners.csv")?)
        }
        None => None,
    };
    let paid_on = row.required_date(c.paid_on)?;
    let amount = row.required_decimal(c.amount)?;
    if amount.is_zero() {
        return Err(row.error(
            c.amount,
            row.raw(c.amount).unwrap_or_default(),
            "a payment of 0 is no payment: expected money received (more than 0) or paid back (less than 0)",
        ));
    }
    let currency = match row.get(c.currency) {
        Some(code) if is_currency_code(code) => Some(code.to_string()),
        Some(code) => {
            let message = "expected an ISO 4217 currency code like EUR";
            return Err(row.error(c.currency, code, message));
        }
        None => None,
    };
    Ok(ReadPayment {
        payment: Payment {
            payment_id: Text::from(payment_id),
            deal_id: Text::from(deal_id),
            partner,
            paid_on,
            amount,
            line: row.line,
        },
        currency,
    })
}

impl ReadPayments {
    /// The deal_ids the payments name: deals.csv must keep every row of them.
    pub fn deal_ids(&self) -> impl Iterator<Item = &Text> {
        self.rows.iter().map(|r| &r.payment.deal_id)
    }

    /// Checks each payment against the rows of its deal (`rows`: every row of deals.csv of the
    /// deal_ids named, [`crate::input::DealData::by_id`]): the deal exists, a given partner_id makes
    /// a row of it, and a given currency is the currency of every row the payment applies to. The
    /// payments come back sorted by (deal_id, paid_on, payment_id).
    pub fn check(self, rows: &[Deal], partners: &PartnerSet) -> Result<Vec<Payment>> {
        let by_deal = rows_by_deal(rows);
        let mut errors = RowErrors::new();
        let mut out = Vec::with_capacity(self.rows.len());
        for read in self.rows {
            match check_payment(&self.file, &read, &by_deal, partners) {
                Ok(deal_id) => out.push(Payment {
                    // The deal's own copy of its id: one allocation per deal, not per payment.
                    deal_id,
                    ..read.payment
                }),
                Err(e) => errors.push(e),
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

/// deals.csv's rows of the deals payments.csv and approvals.csv name, by deal_id.
pub(crate) type RowsByDeal<'a> = HashMap<&'a str, Vec<&'a Deal>, super::FnvBuild>;

pub(crate) fn rows_by_deal(rows: &[Deal]) -> RowsByDeal<'_> {
    let mut by_deal: RowsByDeal = HashMap::with_capacity_and_hasher(rows.len(), Default::default());
    for deal in rows {
        by_deal.entry(&*deal.deal_id).or_default().push(deal);
    }
    by_deal
}

/// The rows of `deal_id`, once a reference to it is a row of deals.csv (SPEC §9.1, §9.3: the deal
/// exists, and a given `partner` makes a row of it); otherwise the column, value and message of the
/// refusal. No allocation: a million payments are checked.
pub(crate) fn named_rows<'m, 'a>(
    by_deal: &'m RowsByDeal<'a>,
    deal_id: &str,
    partner: Option<usize>,
    partners: &PartnerSet,
) -> std::result::Result<&'m [&'a Deal], (&'static str, String, String)> {
    let Some(deal_rows) = by_deal.get(deal_id) else {
        let message = "unknown deal: no row of deals.csv has this deal_id".to_string();
        return Err(("deal_id", deal_id.to_string(), message));
    };
    if partner.is_some_and(|partner| deal_rows.iter().all(|d| d.partner != partner)) {
        let partner_id = partner.map_or("", |i| partners.partners[i].id.as_str());
        let message = format!(
            "deal {deal_id} has no row of this partner in deals.csv (its partners: {})",
            partners_of(deal_rows, partners)
        );
        return Err(("partner_id", partner_id.to_string(), message));
    }
    Ok(deal_rows)
}

/// One payment against its deal's rows; the deal's id as the rows hold it.
fn check_payment(
    file: &str,
    read: &ReadPayment,
    by_deal: &RowsByDeal,
    partners: &PartnerSet,
) -> Result<Text> {
    let p = &read.payment;
    let error = |column: &str, value: &str, message: String| crate::error::Error::Input {
        file: file.to_string(),
        line: p.line,
        column: column.to_string(),
        value: value.to_string(),
        message,
    };
    let deal_rows = named_rows(by_deal, &p.deal_id, p.partner, partners)
        .map_err(|(column, value, message)| error(column, &value, message))?;
    let applies = deal_rows
        .iter()
        .copied()
        .filter(|d| p.partner.is_none_or(|partner| d.partner == partner));
    let first = applies
        .clone()
        .next()
        .expect("named_rows found a row of the partner");
    let currencies: Vec<&str> = distinct(applies.map(|d| &*d.currency));
    match (&read.currency, currencies.as_slice()) {
        (Some(given), [only]) if given == only => {}
        (None, [_]) => {}
        (Some(given), _) => {
            return Err(error(
                "currency",
                given,
                format!(
                    "the payment is in the deal's currency: deal {}'s {} in {}",
                    p.deal_id,
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
                    "deal {}'s rows are in {}: a payment of the whole deal has no one currency; give the partner_id of the row it pays",
                    p.deal_id,
                    currencies.join(" and ")
                ),
            ));
        }
    }
    Ok(first.deal_id.clone())
}

fn rows_named(one_partner: bool) -> &'static str {
    if one_partner { "row is" } else { "rows are" }
}

/// The partner_ids of a deal's rows, for a message.
pub(crate) fn partners_of(rows: &[&Deal], partners: &PartnerSet) -> String {
    distinct(
        rows.iter()
            .map(|d| partners.partners[d.partner].id.as_str()),
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
        read.check(&rows(), &partners())
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
    fn the_deal_ids_named_are_those_deals_csv_must_keep() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("payments.csv");
        std::fs::write(
            &path,
            format!("{HEAD}A,D1,,2026-10-05,1,\nB,D7,,2026-10-05,1,\n"),
        )
        .unwrap();
        let (read, _) =
            read_payments(&path, &partners(), &crate::input::Dialect::default()).unwrap();
        assert_eq!(
            read.deal_ids().map(|t| &**t).collect::<Vec<_>>(),
            ["D1", "D7"]
        );
    }
}
