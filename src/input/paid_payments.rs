//! paid_payments.csv (SPEC §9.1): every payment a rule has a line of, with the `paid_on`, amount and
//! cash part its line was computed on. Later runs take a paid payment as this file says, whatever
//! payments.csv says of it now, so it is carried down the chain like ledger.csv (the previous
//! batch's records copied first, hashed in the manifest, verified by `--ledger`), never parsed back
//! from a line's note. Both directions of the format live here.

use super::{PartnerSet, Row};
use crate::error::Result;
use crate::model::PaidPayment;
use crate::model::period::Period;
use std::collections::BTreeMap;

/// The file's name in a batch.
pub const PAID_PAYMENTS: &str = "paid_payments.csv";

/// Its columns, in the order payline writes them.
pub const PAID_PAYMENT_COLUMNS: &[&str] = &[
    "period",
    "partner_id",
    "rule_id",
    "payment_id",
    "deal_id",
    "paid_on",
    "amount",
    "cash_part",
];

/// The paid payments of a chain, by (partner index, rule id, payment_id).
pub type PaidPayments = BTreeMap<(usize, String, String), PaidPayment>;

/// One record as written: amounts exactly as the payment's (in the deal's currency, never rounded).
pub fn record(paid: &PaidPayment, partners: &PartnerSet) -> [String; 8] {
    [
        paid.period.clone(),
        partners.partners[paid.partner].id.clone(),
        paid.rule_id.clone(),
        paid.payment_id.to_string(),
        paid.deal_id.to_string(),
        paid.paid_on.to_string(),
        paid.amount.to_string(),
        paid.cash_part.to_string(),
    ]
}

/// Reads one record of the previous batch's file into `paid`. A (partner, rule, payment_id) twice is
/// an error: a rule writes a payment's line once in the whole chain.
pub fn read_paid_payment(row: &Row, partners: &PartnerSet, paid: &mut PaidPayments) -> Result<()> {
    let period = row.required("period")?;
    if Period::parse(period).is_none() {
        return Err(row.error("period", period, "expected a period like 2026-10"));
    }
    let partner = partners.lookup(row, "partner_id", "ledger partner is not in partners.csv")?;
    let rule_id = row.required("rule_id")?;
    let payment_id = row.required("payment_id")?;
    let record = PaidPayment {
        period: period.to_string(),
        partner,
        rule_id: rule_id.to_string(),
        payment_id: payment_id.into(),
        deal_id: row.required("deal_id")?.into(),
        paid_on: row.required_date("paid_on")?,
        amount: row.required_decimal("amount")?,
        cash_part: row.required_decimal("cash_part")?,
    };
    let key = (partner, rule_id.to_string(), payment_id.to_string());
    if let Some(first) = paid.insert(key, record) {
        return Err(row.error(
            "payment_id",
            payment_id,
            format!(
                "rule {rule_id} paid partner {}'s payment {payment_id} already in {}: a payment is paid once per rule in the whole chain",
                partners.partners[partner].id, first.period
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rules::testkit::partner;
    use crate::input::CsvFile;

    fn partners() -> PartnerSet {
        PartnerSet::new(vec![partner("P1"), partner("P2")])
    }

    fn read(text: &str) -> Result<PaidPayments> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(PAID_PAYMENTS);
        std::fs::write(&path, text).unwrap();
        let mut csv = CsvFile::open(&path, PAID_PAYMENT_COLUMNS)?;
        let mut paid = PaidPayments::new();
        while let Some(row) = csv.next_row()? {
            read_paid_payment(&row, &partners(), &mut paid)?;
        }
        csv.finish()?;
        Ok(paid)
    }

    const HEAD: &str = "period,partner_id,rule_id,payment_id,deal_id,paid_on,amount,cash_part\n";

    #[test]
    fn records_read_back_as_written() {
        let paid = PaidPayment {
            period: "2026-10".into(),
            partner: 1,
            rule_id: "resale".into(),
            payment_id: "PAY-7".into(),
            deal_id: "D1".into(),
            paid_on: chrono::NaiveDate::from_ymd_opt(2026, 10, 5).unwrap(),
            amount: "1000.50".parse().unwrap(),
            cash_part: "400.005".parse().unwrap(),
        };
        let line = record(&paid, &partners()).join(",");
        assert_eq!(
            line,
            "2026-10,P2,resale,PAY-7,D1,2026-10-05,1000.50,400.005"
        );
        let back = read(&format!("{HEAD}{line}\n")).unwrap();
        let key = (1, "resale".to_string(), "PAY-7".to_string());
        assert_eq!(back.get(&key), Some(&paid));
        assert_eq!(back.len(), 1);
    }

    #[test]
    fn one_payment_of_two_rules_or_two_partners_is_two_records() {
        let paid = read(&format!(
            "{HEAD}2026-10,P1,a,X,D1,2026-10-05,10,10\n2026-10,P1,b,X,D1,2026-10-05,10,10\n2026-11,P2,a,X,D1,2026-10-05,10,4\n"
        ))
        .unwrap();
        assert_eq!(paid.len(), 3);
    }

    #[test]
    fn a_payment_paid_twice_by_one_rule_is_an_error() {
        let err = read(&format!(
            "{HEAD}2026-10,P1,a,X,D1,2026-10-05,10,10\n2026-11,P1,a,X,D1,2026-10-05,10,0\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains(":3:"), "{err}");
        assert!(err.contains("already in 2026-10"), "{err}");
    }

    #[test]
    fn a_bad_record_names_its_column_and_value() {
        for (row, column, value) in [
            ("2026-13,P1,a,X,D1,2026-10-05,10,10", "period", "2026-13"),
            ("2026-10,P9,a,X,D1,2026-10-05,10,10", "partner_id", "P9"),
            ("2026-10,P1,,X,D1,2026-10-05,10,10", "rule_id", ""),
            ("2026-10,P1,a,X,D1,2026-10-5,10,10", "paid_on", "2026-10-5"),
            ("2026-10,P1,a,X,D1,2026-10-05,ten,10", "amount", "ten"),
            ("2026-10,P1,a,X,D1,2026-10-05,10,", "cash_part", ""),
        ] {
            match read(&format!("{HEAD}{row}\n")) {
                Err(crate::error::Error::Input {
                    line,
                    column: c,
                    value: v,
                    ..
                }) => assert_eq!((line, c.as_str(), v.as_str()), (2, column, value), "{row}"),
                other => panic!("{row}: {other:?}"),
            }
        }
    }
}
