//! Commission on cash received (SPEC §9.1, §9.2): what a deal row's payments cover, and how a run
//! settles a `pay_on = "payment"` rule's due for the row against what its payment lines already
//! stand for. Pure arithmetic on a row's payments, below the rules that use it.
//!
//! A row's payments are taken in (`paid_on`, `payment_id`) order. Its *covered* total after each is
//! `clamp(sum so far, 0, amount)` (with `for_months`: the sum floored at 0, no upper limit, §9.2);
//! a payment's *part* is the covered total after it minus before it. A run's *due* is the sum of the
//! parts of the payments it takes, *paid* the cash parts behind the rule's payment lines of the row
//! in the ledger, and T = due − paid is written as the lines of the payments with no line yet: each
//! takes its own part; when these sum to more than T the positive ones give theirs up, the earliest
//! first, down to 0; when to less, the refunds do. A payment left with 0 writes nothing and is taken
//! again by the next run; what no payment can carry waits.

use crate::program::parse::{Bad, Tbl, choice, integer};
use chrono::{Datelike, Months, NaiveDate};
use rust_decimal::Decimal;

/// What a `percent` or `flat` rule pays on (SPEC §9.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PayOn {
    /// The deal line when the row closes (§4): the default.
    #[default]
    Close,
    /// `rate` × each payment's part of the row's covered total (`percent` only); with `for_months`,
    /// only payments made within that many months of `closed_on` (§9.2).
    Payment { for_months: Option<u32> },
    /// The rule's usual line, in the period the row is paid in full.
    FullPayment,
}

impl PayOn {
    pub fn name(self) -> &'static str {
        match self {
            PayOn::Close => "close",
            PayOn::Payment { .. } => "payment",
            PayOn::FullPayment => "full-payment",
        }
    }
}

/// Reads `pay_on` and `for_months`. `rate_based`: the rule pays a rate of an amount (`percent`), so
/// it may pay on each payment; a `flat` fee per row may only wait for full payment.
pub(crate) fn parse(t: &Tbl, rate_based: bool) -> Result<PayOn, Bad> {
    const WORDS: &[(&str, &str)] = &[
        ("close", "close"),
        ("payment", "payment"),
        ("full-payment", "full-payment"),
    ];
    let word = t.value("pay_on", choice(WORDS));
    let for_months = t.value("for_months", integer::<u32>(1, 120));
    let pay_on = match word? {
        None | Some("close") => PayOn::Close,
        Some("full-payment") => PayOn::FullPayment,
        Some(_) if !rate_based => {
            return Err(t.error_at(
                "pay_on",
                "`pay_on = \"payment\"` pays a rate of the cash received, so only `percent` rules may say it; a `flat` fee can wait for `pay_on = \"full-payment\"`".into(),
            ));
        }
        Some(_) => PayOn::Payment { for_months: None },
    };
    match (pay_on, for_months?) {
        (PayOn::Payment { .. }, for_months) => Ok(PayOn::Payment { for_months }),
        (_, Some(_)) => Err(t.error_at(
            "for_months",
            "`for_months` limits the payments a rule pays on, so it needs `pay_on = \"payment\"`"
                .into(),
        )),
        (pay_on, None) => Ok(pay_on),
    }
}

/// One payment of a row as a run takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Taken<'a> {
    pub payment_id: &'a str,
    /// The `paid_on` it is taken at: the one its line names once it is paid (re-dating a paid
    /// payment changes nothing paid), the export's before.
    pub paid_on: NaiveDate,
    pub amount: Decimal,
    /// The cash part behind the rule's line of this payment, when it has one.
    pub paid: Option<Decimal>,
}

/// A payment without a line yet and the cash part this run writes for it (0: nothing written).
#[derive(Debug, Clone, PartialEq)]
pub struct CashPart<'a> {
    pub payment_id: &'a str,
    /// The payment's own part of the row's covered total.
    pub part: Decimal,
    /// What its line stands for.
    pub cash: Decimal,
}

/// The covered-total limit of a row: its `amount`, or none with `for_months` (subscriptions renew).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cover {
    UpTo(Decimal),
    Unlimited,
}

/// Each taken payment's part, in the order given (which must be (`paid_on`, `payment_id`)).
pub fn parts(payments: &[Taken], cover: Cover) -> Option<Vec<Decimal>> {
    let covered = |sum: Decimal| match cover {
        Cover::UpTo(amount) => sum.clamp(Decimal::ZERO, amount.max(Decimal::ZERO)),
        Cover::Unlimited => sum.max(Decimal::ZERO),
    };
    let mut sum = Decimal::ZERO;
    let mut before = Decimal::ZERO;
    let mut out = Vec::with_capacity(payments.len());
    for p in payments {
        sum = sum.checked_add(p.amount)?;
        let after = covered(sum);
        out.push(after.checked_sub(before)?);
        before = after;
    }
    Some(out)
}

/// This run's cash parts of the payments without a line (in order), T distributed as the module
/// doc says. `None` on overflow.
pub fn settle<'a>(payments: &[Taken<'a>], cover: Cover) -> Option<Vec<CashPart<'a>>> {
    settle_as(payments, cover, false)
}

/// [`settle`] for a row the rule no longer takes (re-labelled, re-dated out of its dates, its
/// partner re-typed, taken by an earlier rule of its group): its lines must still never stand for
/// more cash than the covered total, so a T below 0 is clawed back by the run's refunds, but no new
/// cash is paid on (positive payments write nothing and are taken again by later runs).
pub fn settle_refunds<'a>(payments: &[Taken<'a>], cover: Cover) -> Option<Vec<CashPart<'a>>> {
    settle_as(payments, cover, true)
}

fn settle_as<'a>(
    payments: &[Taken<'a>],
    cover: Cover,
    refunds_only: bool,
) -> Option<Vec<CashPart<'a>>> {
    let parts = parts(payments, cover)?;
    let due = parts
        .iter()
        .try_fold(Decimal::ZERO, |a, p| a.checked_add(*p))?;
    let paid = payments
        .iter()
        .filter_map(|p| p.paid)
        .try_fold(Decimal::ZERO, |a, p| a.checked_add(p))?;
    let target = match refunds_only {
        true => due.checked_sub(paid)?.min(Decimal::ZERO),
        false => due.checked_sub(paid)?,
    };
    let mut open: Vec<CashPart> = payments
        .iter()
        .zip(&parts)
        .filter(|(p, _)| p.paid.is_none() && (!refunds_only || p.amount < Decimal::ZERO))
        .map(|(p, part)| CashPart {
            payment_id: p.payment_id,
            part: *part,
            cash: *part,
        })
        .collect();
    let written = open
        .iter()
        .try_fold(Decimal::ZERO, |a, c| a.checked_add(c.cash))?;
    let mut excess = written.checked_sub(target)?;
    for c in &mut open {
        if excess > Decimal::ZERO && c.cash > Decimal::ZERO {
            let give = c.cash.min(excess);
            c.cash -= give;
            excess -= give;
        } else if excess < Decimal::ZERO && c.cash < Decimal::ZERO {
            let take = (-c.cash).min(-excess);
            c.cash += take;
            excess += take;
        }
    }
    // The spec's letter leaves a negative T no positive payment can carry waiting; but a late
    // refund whose place in the order shrank the parts of cash already paid on has that T now, and
    // no later payment may ever come. So the run's refunds carry it, each down to its own amount:
    // the lines never stand for more cash than the covered total (docs/RULES.md, §9.1).
    let amounts: std::collections::HashMap<&str, Decimal> =
        payments.iter().map(|p| (p.payment_id, p.amount)).collect();
    for c in &mut open {
        let amount = amounts.get(c.payment_id).copied().unwrap_or_default();
        if excess > Decimal::ZERO && amount < Decimal::ZERO && c.cash > amount {
            let take = (c.cash - amount).min(excess);
            c.cash -= take;
            excess -= take;
        }
    }
    Some(open)
}

/// SPEC §9.2: the end of a `for_months = n` window opened on `closed_on` — the same day n months
/// later, or that month's last day when it is shorter (Jan 31 + 1 = Feb 28). A positive payment pays
/// only when its `paid_on` is before it.
pub fn window_end(closed_on: NaiveDate, months: u32) -> Option<NaiveDate> {
    // chrono clamps to the month's last day, as the spec says.
    let end = closed_on.checked_add_months(Months::new(months))?;
    debug_assert!(end.day() <= closed_on.day() || closed_on.day() > 28);
    Some(end)
}

/// SPEC §9.1 `pay_on = "full-payment"`: the first day d — a payment's `paid_on`, or the row's
/// `reversed_on` of a partial reversal — on which the payments paid on or before d reach the row's
/// amount as of d (`amount − reversed` from `reversed_on` on), or `closed_on` if later. A row of
/// amount 0 is paid in full on its `closed_on`. `payments` are (paid_on, amount) in any order.
pub fn full_payment_date(
    closed_on: NaiveDate,
    amount: Decimal,
    partial: Option<(NaiveDate, Decimal)>,
    payments: &[(NaiveDate, Decimal)],
) -> Option<NaiveDate> {
    if amount.is_zero() {
        return Some(closed_on);
    }
    let mut days: Vec<NaiveDate> = payments.iter().map(|(d, _)| *d).collect();
    days.extend(partial.map(|(on, _)| on));
    days.sort();
    days.dedup();
    let amount_on = |d: NaiveDate| match partial {
        Some((on, reversed)) if d >= on => amount - reversed,
        _ => amount,
    };
    days.into_iter()
        .find(|d| {
            let paid: Decimal = payments
                .iter()
                .filter(|(on, _)| on <= d)
                .map(|(_, a)| *a)
                .sum();
            paid >= amount_on(*d)
        })
        .map(|d| d.max(closed_on))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn taken<'a>(id: &'a str, on: &str, amount: &str, paid: Option<&str>) -> Taken<'a> {
        Taken {
            payment_id: id,
            paid_on: day(on),
            amount: d(amount),
            paid: paid.map(d),
        }
    }

    fn cash(parts: &[CashPart]) -> Vec<(String, Decimal, Decimal)> {
        parts
            .iter()
            .map(|c| (c.payment_id.to_string(), c.part, c.cash))
            .collect()
    }

    #[test]
    fn parts_clamp_the_running_sum_to_the_amount() {
        // amount 1000: 600, 700 (overpaid: part 400), −200 (refund of the overpayment: part 0),
        // −300 (part −200: covered 1000 → 800).
        let payments = [
            taken("A", "2026-10-01", "600", None),
            taken("B", "2026-10-02", "700", None),
            taken("C", "2026-10-03", "-200", None),
            taken("D", "2026-10-04", "-300", None),
        ];
        assert_eq!(
            parts(&payments, Cover::UpTo(d("1000"))),
            Some(vec![d("600"), d("400"), d("0"), d("-200")])
        );
        // With for_months there is no upper limit; a refund takes back at most what was covered.
        let payments = [
            taken("A", "2026-10-01", "600", None),
            taken("B", "2026-10-02", "700", None),
            taken("C", "2026-10-03", "-2000", None),
        ];
        assert_eq!(
            parts(&payments, Cover::Unlimited),
            Some(vec![d("600"), d("700"), d("-1300")])
        );
    }

    #[test]
    fn a_late_refund_before_cash_already_paid_on_carries_what_no_payment_can() {
        // Amount 1.00. January paid A 0.15 (01-02). February's export adds a refund R −0.06 dated
        // 01-01: in order R (part 0: nothing covered yet) then A (part 0.09): due 0.09, paid 0.15,
        // T = −0.06. No new positive payment can give anything up: R carries it, down to its own
        // amount, so the lines stand for 0.09 of cash, the covered total.
        let payments = [
            taken("R", "2026-01-01", "-0.06", None),
            taken("A", "2026-01-02", "0.15", Some("0.15")),
        ];
        assert_eq!(
            cash(&settle(&payments, Cover::UpTo(d("1.00"))).unwrap()),
            vec![("R".into(), d("0"), d("-0.06"))]
        );
    }

    #[test]
    fn the_specs_example_pays_on_the_covered_total_not_on_the_order_of_payments() {
        // SPEC §9.1: 10%, amount 1000.00. October paid A 600.00. November's export re-dates A after
        // B (A keeps the date its line names), adds B 600.00 (11-05) and L 200.00 (10-20): due 600 +
        // 200 + 200 = 1000, paid 600, T = 400 → L 200.00, B 200.00 (not B 600.00).
        let payments = [
            taken("A", "2026-10-05", "600.00", Some("600.00")),
            taken("L", "2026-10-20", "200.00", None),
            taken("B", "2026-11-05", "600.00", None),
        ];
        assert_eq!(
            cash(&settle(&payments, Cover::UpTo(d("1000.00"))).unwrap()),
            vec![
                ("L".into(), d("200.00"), d("200.00")),
                ("B".into(), d("200.00"), d("200.00")),
            ]
        );
    }

    #[test]
    fn when_the_new_parts_exceed_t_the_earliest_positive_ones_give_theirs_up() {
        // A paid 600 on its part 600; a refund R (−300) then came in late, dated before B: parts
        // A 600, R −300, B 700 (sum 1000). T = 1000 − 600 = 400; new parts R −300 + B 700 = 400: as is.
        let payments = [
            taken("A", "2026-10-01", "600", Some("600")),
            taken("R", "2026-10-02", "-300", None),
            taken("B", "2026-10-03", "700", None),
        ];
        assert_eq!(
            cash(&settle(&payments, Cover::UpTo(d("1000"))).unwrap()),
            vec![
                ("R".into(), d("-300"), d("-300")),
                ("B".into(), d("700"), d("700")),
            ]
        );
        // A was paid on 1000 (it once covered the whole amount) but a late refund R before it now
        // leaves A's part 700: due 700 + (−300) + … T below the new parts → the positive give up.
        let payments = [
            taken("R", "2026-09-30", "-300", None),
            taken("A", "2026-10-01", "1000", Some("1000")),
            taken("B", "2026-10-03", "300", None),
        ];
        // parts: R 0 (nothing covered yet), A 700, B 300: due 1000, paid 1000, T 0; new R 0 + B 300
        // = 300 > 0 → B gives up 300: nothing is written, B is taken again next run.
        assert_eq!(
            cash(&settle(&payments, Cover::UpTo(d("1000"))).unwrap()),
            vec![("R".into(), d("0"), d("0")), ("B".into(), d("300"), d("0")),]
        );
    }

    #[test]
    fn when_the_new_parts_fall_short_of_t_the_refunds_give_theirs_up() {
        // A paid only 100 of its part 600 (T was short then); now a refund F −200: parts A 600,
        // F −200 → due 400, paid 100, T 300; F's −200 < 300 → F gives up to 0: nothing clawed back,
        // and the 300 waits for a later payment.
        let payments = [
            taken("A", "2026-10-01", "600", Some("100")),
            taken("F", "2026-10-02", "-200", None),
        ];
        assert_eq!(
            cash(&settle(&payments, Cover::UpTo(d("1000"))).unwrap()),
            vec![("F".into(), d("-200"), d("0"))]
        );
    }

    #[test]
    fn a_row_the_rule_no_longer_takes_has_its_refunds_clawed_back_and_no_new_cash_paid() {
        // Amount 1000. A 1000 was paid on; the row was re-labelled out of the rule since. A new
        // payment B 300 and a refund R −1000 come: parts A 1000, B 0 (over the amount), R −700
        // (covered 1300 → 300, clamped 1000 → 300). due 300, paid 1000: T = −700, carried by R.
        let payments = [
            taken("A", "2026-10-01", "1000", Some("1000")),
            taken("B", "2026-11-01", "300", None),
            taken("R", "2026-11-02", "-1000", None),
        ];
        assert_eq!(
            cash(&settle_refunds(&payments, Cover::UpTo(d("1000"))).unwrap()),
            vec![("R".into(), d("-700"), d("-700"))]
        );
        // Cash that grows the covered total is not paid on: A 400 paid, B 600 new → T = 600 > 0,
        // clamped to 0: nothing written (B is taken again by later runs).
        let payments = [
            taken("A", "2026-10-01", "400", Some("400")),
            taken("B", "2026-11-01", "600", None),
        ];
        assert_eq!(
            cash(&settle_refunds(&payments, Cover::UpTo(d("1000"))).unwrap()),
            vec![]
        );
        // A refund that only takes back cash never paid on claws nothing back: A 400 paid, B 600
        // new (not paid on), R −500: covered 500, due 500 ≥ paid 400 → T clamped 0: R writes 0.
        let payments = [
            taken("A", "2026-10-01", "400", Some("400")),
            taken("B", "2026-11-01", "600", None),
            taken("R", "2026-11-02", "-500", None),
        ];
        assert_eq!(
            cash(&settle_refunds(&payments, Cover::UpTo(d("1000"))).unwrap()),
            vec![("R".into(), d("-500"), d("0"))]
        );
    }

    #[test]
    fn a_window_ends_on_the_same_day_or_the_months_last_day() {
        for (closed, months, end) in [
            ("2026-01-31", 1, "2026-02-28"),
            ("2028-01-31", 1, "2028-02-29"),
            ("2026-08-31", 3, "2026-11-30"),
            ("2026-02-28", 1, "2026-03-28"),
            ("2026-10-15", 12, "2027-10-15"),
        ] {
            assert_eq!(
                window_end(day(closed), months),
                Some(day(end)),
                "{closed} + {months}"
            );
        }
    }

    #[test]
    fn the_full_payment_date_is_the_first_day_the_payments_reach_the_amount() {
        let payments = [
            (day("2026-10-05"), d("400")),
            (day("2026-11-10"), d("500")),
            (day("2026-12-01"), d("100")),
        ];
        assert_eq!(
            full_payment_date(day("2026-10-01"), d("1000"), None, &payments),
            Some(day("2026-12-01"))
        );
        // 100 returned on 11-20 (a partial reversal): from then on the row's amount is 900, reached
        // on 11-20 by the 900 already paid.
        assert_eq!(
            full_payment_date(
                day("2026-10-01"),
                d("1000"),
                Some((day("2026-11-20"), d("100"))),
                &payments
            ),
            Some(day("2026-11-20"))
        );
        // Paid before it closed: paid in full on its closed_on.
        assert_eq!(
            full_payment_date(day("2026-12-15"), d("1000"), None, &payments),
            Some(day("2026-12-15"))
        );
        // Never reached; amount 0 is paid in full on closed_on.
        assert_eq!(
            full_payment_date(day("2026-10-01"), d("5000"), None, &payments),
            None
        );
        assert_eq!(
            full_payment_date(day("2026-10-01"), d("0"), None, &[]),
            Some(day("2026-10-01"))
        );
    }
}
