//! `[budget]` (SPEC §4.10): when the budgeted rules request more than `total`, every partner's budgeted
//! amount is scaled by total ÷ requested and rounded down to minor units; the minor units still
//! missing go one each to the partners with the largest discarded remainder (ties: partner_id). The
//! paid total is `total` exactly and no partner gets more than it requested.
//!
//! A partner whose budgeted amount is negative (a negative true-up: money owed back) is left out:
//! never scaled, not counted in the requested total. A payment's refund is no budgeted amount at all
//! (SPEC §9.1): it is clawed back whole, beside the budget.
//!
//! The work is done in integer minor units, so the remainders that order the partners are exact.
//! Proration applies to what was earned (before holds): the budget bounds the run's liability.

use super::line::Calc;
use super::{Line, LineKind, PartnerLines, Source};
use crate::error::{Error, Result, Warning, WarningCode};
use crate::model::Partner;
use crate::model::money::format_money;
use crate::program::Program;
use rust_decimal::Decimal;

/// `a × b ÷ d` and its remainder, exactly: the product is formed in 256 bits, so amounts up to the
/// input limit (10^20, in minor units up to 10^23) never overflow. `None` when `d` is zero or the
/// quotient does not fit in 128 bits.
fn mul_div(a: u128, b: u128, d: u128) -> Option<(u128, u128)> {
    const LOW: u128 = u64::MAX as u128;
    if d == 0 || d > i128::MAX as u128 {
        return None;
    }
    let (a1, a0) = (a >> 64, a & LOW);
    let (b1, b0) = (b >> 64, b & LOW);
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    let mid = (p00 >> 64) + (p01 & LOW) + (p10 & LOW);
    let lo = (p00 & LOW) | (mid << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    if hi >= d {
        return None;
    }
    // Long division, one bit at a time: the remainder stays below d < 2^127, so it never overflows.
    let (mut quotient, mut rem) = (0u128, hi);
    for i in (0..128).rev() {
        rem = (rem << 1) | ((lo >> i) & 1);
        quotient <<= 1;
        if rem >= d {
            rem -= d;
            quotient |= 1;
        }
    }
    Some((quotient, rem))
}

/// `r × total ÷ sum` truncated toward zero, and the remainder (with r's sign), as i128 arithmetic
/// would give them if it never overflowed.
fn scaled_share(r: i128, total: i128, sum: i128) -> Option<(i128, i128)> {
    let (q, rem) = mul_div(
        r.unsigned_abs(),
        u128::try_from(total).ok()?,
        u128::try_from(sum).ok()?,
    )?;
    let (q, rem) = (i128::try_from(q).ok()?, i128::try_from(rem).ok()?);
    Some(if r < 0 { (-q, -rem) } else { (q, rem) })
}

/// Scales `requested` (per partner, in minor units) to sum to `total` (minor units). `None` only when
/// the figures are beyond 128-bit arithmetic (far beyond anything payline reads).
pub fn largest_remainder(requested: &[i128], total: i128) -> Option<Vec<i128>> {
    let sum = requested
        .iter()
        .try_fold(0i128, |acc, r| acc.checked_add(*r))?;
    if sum <= total {
        return Some(requested.to_vec());
    }
    let (mut shares, remainders): (Vec<i128>, Vec<i128>) = requested
        .iter()
        .map(|r| scaled_share(*r, total, sum))
        .collect::<Option<Vec<_>>>()?
        .into_iter()
        .unzip();
    let given = shares
        .iter()
        .try_fold(0i128, |acc, s| acc.checked_add(*s))?;
    let mut left = total.checked_sub(given)?;
    let mut order: Vec<usize> = (0..requested.len())
        .filter(|&i| remainders[i] > 0)
        .collect();
    // Stable sort keeps index (= partner_id) order among equal remainders.
    order.sort_by(|&a, &b| remainders[b].cmp(&remainders[a]));
    for i in order {
        if left == 0 {
            break;
        }
        shares[i] += 1;
        left -= 1;
    }
    Some(shares)
}

/// An amount in whole minor units, truncated toward zero; exact for every Decimal.
fn to_minor(value: Decimal, minor_units: u32) -> i128 {
    let (mantissa, scale) = (value.mantissa(), value.scale());
    if scale >= minor_units {
        mantissa / 10i128.pow(scale - minor_units)
    } else {
        mantissa * 10i128.pow(minor_units - scale)
    }
}

pub fn prorate(
    program: &Program,
    partners: &[Partner],
    per_partner: &mut PartnerLines,
    warnings: &mut Vec<Warning>,
) -> Result<()> {
    let Some(budget) = &program.budget else {
        return Ok(());
    };
    let units = program.minor_units();
    let calc = |i: usize| Calc {
        partner: &partners[i].id,
        rule: "",
    };
    let requested: Vec<i128> = (0..per_partner.partners())
        .map(|i| {
            let sum = calc(i).sum(
                per_partner
                    .of(i)
                    .filter(|l| is_budgeted(program, l))
                    .map(|l| l.amount),
                || "the total of the budgeted rules' lines".into(),
            )?;
            Ok(to_minor(sum, units))
        })
        .collect::<Result<_>>()?;
    let too_large = || {
        Error::Calculation(
            "budget: the budgeted rules request more than payline can compute; check the deal amounts and rates"
                .into(),
        )
    };
    // SPEC §4.10: a negative budgeted amount (a negative true-up, §8.7) is money owed back: never
    // scaled and not counted in the requested total. The budget caps what the positive ones pay.
    let requested: Vec<i128> = requested.into_iter().map(|r| r.max(0)).collect();
    let total = to_minor(budget.total, units);
    let requested_sum = requested
        .iter()
        .try_fold(0i128, |acc, r| acc.checked_add(*r))
        .ok_or_else(too_large)?;
    if requested_sum <= total {
        return Ok(());
    }
    let scaled = largest_remainder(&requested, total).ok_or_else(too_large)?;
    let decimal = |v: i128| Decimal::try_from_i128_with_scale(v, units).map_err(|_| too_large());
    let money = |v: Decimal| format_money(v, units);
    let (total_money, requested_money) = (decimal(total)?, decimal(requested_sum)?);
    let ratio = Decimal::try_from_i128_with_scale(total, 0)
        .ok()
        .zip(Decimal::try_from_i128_with_scale(requested_sum, 0).ok())
        .and_then(|(t, r)| t.checked_div(r))
        .ok_or_else(too_large)?
        .round_dp(10);
    warnings.push(Warning::new(WarningCode::BudgetProrated, format!(
        "budget: the budgeted rules requested {} against a budget of {}; every partner's budgeted amount was prorated",
        money(requested_money),
        money(total_money)
    )));
    for i in 0..per_partner.partners() {
        let delta = scaled[i] - requested[i];
        if delta == 0 {
            continue;
        }
        let calc = calc(i);
        let amount = calc.limited(decimal(delta)?, "the budget-proration line amount", units)?;
        per_partner.add(
            i,
            Line {
                partner: i,
                rule_id: "".into(),
                kind: LineKind::BudgetProration,
                source: Source::Adjustment,
                source_id: "budget".into(),
                basis: Some(decimal(requested[i])?),
                rate: Some(ratio),
                amount,
                note: format!(
                    "budget {} < requested {}: budgeted lines {} prorated to {}",
                    money(total_money),
                    money(requested_money),
                    money(decimal(requested[i])?),
                    money(decimal(scaled[i])?)
                ),
            },
        );
    }
    Ok(())
}

/// A line the budget counts: a line of a budgeted rule, but not a payment's refund (a `clawback`
/// line of a rule paying on payments: SPEC §9.1 "never held, capped or budgeted"). Deal clawbacks
/// are written after the budget and are not counted either.
fn is_budgeted(program: &Program, line: &Line) -> bool {
    line.kind != LineKind::Clawback && program.is_budgeted(&line.rule_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_negative_budgeted_amount_is_never_scaled_and_not_requested() {
        // Budget 100.00: P1 owes 50.00 back (a negative true-up), P2 requests 250.00. Only P2's
        // 250.00 is requested: prorated to 100.00 (−150.00); P1 keeps its whole −50.00.
        let program = crate::engine::rules::testkit::rules(
            "[budget]\ntotal = \"100.00\"\n\n[[rules]]\nid = \"g\"\nkind = \"flat\"\namount = \"1\"\n",
        );
        let partners = vec![
            crate::engine::rules::testkit::partner("P1"),
            crate::engine::rules::testkit::partner("P2"),
        ];
        let line = |partner: usize, amount: &str| Line {
            partner,
            rule_id: "g".into(),
            kind: LineKind::TrueUp,
            source: Source::Period,
            source_id: "2026-Q4".into(),
            basis: None,
            rate: None,
            amount: Decimal::from_str_exact(amount).unwrap(),
            note: String::new(),
        };
        let mut lines = PartnerLines::default();
        lines.push_partner(vec![line(0, "-50.00")]);
        lines.push_partner(vec![line(1, "250.00")]);
        let mut warnings = Vec::new();
        prorate(&program, &partners, &mut lines, &mut warnings).unwrap();
        let prorated = |i: usize| -> Vec<Decimal> {
            lines
                .of(i)
                .filter(|l| l.kind == LineKind::BudgetProration)
                .map(|l| l.amount)
                .collect()
        };
        assert_eq!(prorated(0), vec![]);
        assert_eq!(prorated(1), vec![Decimal::new(-15000, 2)]);
        assert!(
            warnings[0]
                .message
                .contains("requested 250.00 against a budget of 100.00")
        );
    }

    #[test]
    fn remainders_go_to_the_largest_then_by_order() {
        // 3 partners request 1.00 each (100 units); budget 2.00: 66.67 each → 66,66,66 + 2 units.
        assert_eq!(
            largest_remainder(&[100, 100, 100], 200),
            Some(vec![67, 67, 66])
        );
        assert_eq!(largest_remainder(&[50, 150], 300), Some(vec![50, 150]));
        // 0.5, 1, 1.5: one unit left, partners 0 and 2 tie on the remainder, the first partner_id wins.
        assert_eq!(largest_remainder(&[1, 2, 3], 3), Some(vec![1, 1, 1]));
    }

    #[test]
    fn proration_at_the_input_limit_pays_exactly_the_budget() {
        // A budget of 9e19 against 2e20 requested, in cents: r × total is about 10^43, far beyond
        // i128, which used to wrap (release) or panic (debug).
        let requested = [
            9_999_999_999_999_999_999_900i128,
            5_000_000_000_000_000_000_000,
            5_000_000_000_000_000_000_100,
        ];
        let total = 9_000_000_000_000_000_000_000i128;
        let paid = largest_remainder(&requested, total).unwrap();
        assert_eq!(paid.iter().sum::<i128>(), total);
        assert_eq!(
            paid,
            vec![
                4_499_999_999_999_999_999_955,
                2_250_000_000_000_000_000_000,
                2_250_000_000_000_000_000_045,
            ]
        );
        for (p, r) in paid.iter().zip(&requested) {
            assert!(p <= r);
        }
    }

    #[test]
    fn proration_of_many_partners_near_the_limit_pays_exactly_the_budget() {
        let requested: Vec<i128> = (0..1000)
            .map(|i| 9_999_999_999_999_999_999_999 - i * 7_777_777_777_777_777)
            .collect();
        let total = 9_999_999_999_999_999_999_999i128;
        let paid = largest_remainder(&requested, total).unwrap();
        assert_eq!(paid.iter().sum::<i128>(), total);
        assert!(paid.iter().zip(&requested).all(|(p, r)| p <= r));
    }

    #[test]
    fn mul_div_is_exact_beyond_128_bits() {
        for (a, b, d) in [
            (7u128, 9, 4),
            (0, 5, 3),
            (1 << 100, 1 << 100, (1 << 126) + 3),
        ] {
            let (q, r) = mul_div(a, b, d).unwrap();
            if let Some(p) = a.checked_mul(b) {
                assert_eq!((q, r), (p / d, p % d));
            }
            assert!(r < d);
        }
        // (2^100 × 2^100) ÷ 2^73 = 2^127 exactly.
        assert_eq!(mul_div(1 << 100, 1 << 100, 1 << 73), Some((1 << 127, 0)));
        // A quotient of 2^128 or more, and division by zero, are refused, not wrapped.
        assert_eq!(mul_div(u128::MAX, u128::MAX, 3), None);
        assert_eq!(mul_div(1, 1, 0), None);
    }

    #[test]
    fn minor_units_are_exact_for_any_decimal() {
        let d = |s: &str| Decimal::from_str_exact(s).unwrap();
        assert_eq!(to_minor(d("12.34"), 2), 1234);
        assert_eq!(to_minor(d("-12.349"), 2), -1234);
        assert_eq!(to_minor(d("7"), 3), 7000);
        assert_eq!(
            to_minor(d("79228162514264337593543950335"), 3),
            79_228_162_514_264_337_593_543_950_335_000
        );
    }
}
