//! Reading payments.csv on every core (`input::blocks`): each row validated on its own and kept
//! compact (its ids in the block's text, their fingerprints computed while the bytes are at hand),
//! duplicate payment_ids found by sorted fingerprints. Only the payments a run may pay on become
//! [`Payment`]s, once their deals are checked.

use crate::error::{Error, Result, RowErrors};
use crate::input::blocks::{Block, Layout, Record, each_record};
use crate::input::deals::{Code, fingerprint};
use crate::input::{Col, PartnerSet, Row};
use crate::model::money::is_currency_code;
use crate::model::{Payment, Text};
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// payments.csv's columns, resolved against its header.
pub(super) struct PaymentCols {
    pub payment_id: Col,
    pub deal_id: Col,
    pub partner_id: Col,
    pub paid_on: Col,
    pub amount: Col,
    pub currency: Col,
}

/// One block's payments, bad rows and rows counted.
#[derive(Default)]
pub(super) struct PaymentBlock {
    /// The payment_ids and deal_ids of the block's rows, one after the other.
    text: String,
    pub rows: Vec<ReadPayment>,
    /// The block's bad rows: the lowest 50 kept, the rest counted (a wrong file has a million).
    pub errors: RowErrors,
    pub count: u64,
    pub footer_line: Option<u64>,
}

/// A run of `text` in its block.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    end: u32,
}

/// One payment as read: its cells checked on their own, its deal not yet.
#[derive(Debug)]
pub(super) struct ReadPayment {
    payment_id: Span,
    deal_id: Span,
    pub payment_fp: u64,
    pub deal_fp: u64,
    pub partner: Option<u32>,
    pub paid_on: NaiveDate,
    pub amount: Decimal,
    pub line: u64,
    /// The currency the row names (checked against its deal's rows).
    pub currency: Option<Code>,
}

impl PaymentBlock {
    /// Parses one block of payments.csv: every bad row recorded, the next one read.
    pub fn parse(
        layout: &Layout,
        cols: &PaymentCols,
        partners: &PartnerSet,
        block: &Block,
    ) -> Self {
        // Room for the block's rows (a payment's row is 32 bytes or more) and their ids.
        let mut out = PaymentBlock {
            text: String::with_capacity(block.bytes.len() / 2),
            rows: Vec::with_capacity(block.bytes.len() / 32),
            ..PaymentBlock::default()
        };
        each_record(layout, block, &mut |record| {
            match record {
                Record::Row(row) => match out.row(row, cols, partners) {
                    Ok(read) => out.rows.push(read),
                    Err(e) => out.errors.push(e),
                },
                Record::Malformed(e) => out.errors.push(e),
                Record::Footer(line) => {
                    out.footer_line.get_or_insert(line);
                    return false;
                }
            }
            out.count += 1;
            false
        });
        out
    }

    fn row(&mut self, row: &Row, c: &PaymentCols, partners: &PartnerSet) -> Result<ReadPayment> {
        let payment_id = row.required(c.payment_id)?;
        let deal_id = row.required(c.deal_id)?;
        let partner = match row.get(c.partner_id) {
            Some(_) => {
                let message = "unknown partner: not in partners.csv";
                let index = partners.lookup(row, c.partner_id, message)?;
                Some(u32::try_from(index).expect("fewer than 2^32 partners"))
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
            Some(code) if is_currency_code(code) => Some(Code::new(code)),
            Some(code) => {
                let message = "expected an ISO 4217 currency code like EUR";
                return Err(row.error(c.currency, code, message));
            }
            None => None,
        };
        Ok(ReadPayment {
            payment_id: self.keep(payment_id),
            deal_id: self.keep(deal_id),
            payment_fp: fingerprint(payment_id.as_bytes()),
            deal_fp: fingerprint(deal_id.as_bytes()),
            partner,
            paid_on,
            amount,
            line: row.line,
            currency,
        })
    }

    fn keep(&mut self, text: &str) -> Span {
        let start = self.text.len();
        self.text.push_str(text);
        let at = |i: usize| u32::try_from(i).expect("a block holds less than 4 GiB");
        Span {
            start: at(start),
            end: at(self.text.len()),
        }
    }

    pub fn payment_id(&self, read: &ReadPayment) -> &str {
        self.span(read.payment_id)
    }

    pub fn deal_id(&self, read: &ReadPayment) -> &str {
        self.span(read.deal_id)
    }

    fn span(&self, span: Span) -> &str {
        &self.text[span.start as usize..span.end as usize]
    }

    /// The payment as the engine takes it.
    pub fn payment(&self, read: &ReadPayment) -> Payment {
        Payment {
            payment_id: Text::from(self.payment_id(read)),
            deal_id: Text::from(self.deal_id(read)),
            partner: read.partner.map(|p| p as usize),
            paid_on: read.paid_on,
            amount: read.amount,
            line: read.line,
        }
    }
}

/// Refuses every row of a payment_id after its first (each naming that first row's line): a file
/// with one is refused whole, so its rows are never used.
/// payment_ids are compared by fingerprint first, sorted on one core (the other names the deals
/// meanwhile); only equal fingerprints are compared as text. `blocks` are in file order.
pub(super) fn refuse_duplicates(file: &str, blocks: &[PaymentBlock], errors: &mut RowErrors) {
    let mut keys: Vec<(u64, u32, u32)> =
        Vec::with_capacity(blocks.iter().map(|b| b.rows.len()).sum());
    for (b, block) in blocks.iter().enumerate() {
        for (i, r) in block.rows.iter().enumerate() {
            keys.push((r.payment_fp, index(b), index(i)));
        }
    }
    keys.sort_unstable();
    let at = |&(_, b, i): &(u64, u32, u32)| {
        let block = &blocks[b as usize];
        let read = &block.rows[i as usize];
        (block.payment_id(read), read.line)
    };
    for run in keys.chunk_by(|a, b| a.0 == b.0).filter(|run| run.len() > 1) {
        let mut same: Vec<(&str, u64)> = run.iter().map(at).collect();
        // By text, then file order: each id's first row, then its repeats.
        same.sort_unstable();
        for copies in same.chunk_by(|a, b| a.0 == b.0) {
            let first_line = copies[0].1;
            for &(again, line) in &copies[1..] {
                errors.push(Error::Input {
                    file: file.to_string(),
                    line,
                    column: "payment_id".to_string(),
                    value: again.to_string(),
                    message: format!("duplicate payment_id (first on line {first_line})"),
                });
            }
        }
    }
}

/// A position in the blocks' rows (a file of payments has fewer than 2^32 blocks and rows).
fn index(i: usize) -> u32 {
    u32::try_from(i).expect("fewer than 2^32 payments")
}
