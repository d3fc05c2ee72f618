//! `[budget]` (SPEC §4.10): when the budgeted rules request more than `total`, every partner's budgeted
//! amount is scaled by total ÷ requested and rounded down to minor units; the minor units still
//! missing go one each to the partners with the largest discarded remainder (ties: partner_id). The
//! paid total is `total` exactly and no partner gets more than it requested.
//!
//! The work is done in integer minor units, so the remainders that order the partners are exact.
//! Proration applies to what was earned (before holds): the budget bounds the run's liability.

use super::{Line, LineKind, Source};
use crate::money::format_money;
use crate::program::Program;
use rust_decimal::Decimal;

/// Scales `requested` (per partner, in minor units) to sum to `total` (minor units).
pub fn largest_remainder(requested: &[i128], total: i128) -> Vec<i128> {
    let sum: i128 = requested.iter().sum();
    if sum <= total {
        return requested.to_vec();
    }
    let mut shares: Vec<i128> = requested.iter().map(|r| r * total / sum).collect();
    let remainders: Vec<i128> = requested.iter().map(|r| r * total % sum).collect();
    let mut left = total - shares.iter().sum::<i128>();
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
    shares
}

fn to_minor(value: Decimal, minor_units: u32) -> i128 {
    let mut v = value * Decimal::from(10i64.pow(minor_units));
    v = v.trunc();
    v.mantissa() / 10i128.pow(v.scale())
}

pub fn prorate(program: &Program, per_partner: &mut [Vec<Line>], warnings: &mut Vec<String>) {
    let Some(budget) = &program.budget else {
        return;
    };
    let units = program.minor_units();
    let requested: Vec<i128> = per_partner
        .iter()
        .map(|lines| {
            let sum: Decimal = lines
                .iter()
                .filter(|l| program.is_budgeted(&l.rule_id))
                .map(|l| l.amount)
                .sum();
            to_minor(sum, units)
        })
        .collect();
    let total = to_minor(budget.total, units);
    let requested_sum: i128 = requested.iter().sum();
    if requested_sum <= total {
        return;
    }
    let scaled = largest_remainder(&requested, total);
    let scale = Decimal::from(10i64.pow(units));
    let money = |v: i128| format_money(Decimal::from_i128_with_scale(v, units), units);
    warnings.push(format!(
        "budget: the budgeted rules requested {} against a budget of {}; every partner's budgeted amount was prorated",
        money(requested_sum),
        money(total)
    ));
    for (i, lines) in per_partner.iter_mut().enumerate() {
        let delta = scaled[i] - requested[i];
        if delta == 0 {
            continue;
        }
        let partner = lines[0].partner;
        lines.push(Line {
            partner,
            rule_id: String::new(),
            kind: LineKind::BudgetProration,
            source: Source::Adjustment,
            source_id: "budget".into(),
            basis: Some(Decimal::from_i128_with_scale(requested[i], units)),
            rate: Some(
                (Decimal::from_i128_with_scale(total, 0)
                    / Decimal::from_i128_with_scale(requested_sum, 0))
                .round_dp(10),
            ),
            amount: Decimal::from(delta) / scale,
            note: format!(
                "budget {} < requested {}: budgeted lines {} prorated to {}",
                money(total),
                money(requested_sum),
                money(requested[i]),
                money(scaled[i])
            ),
        });
        if let Some(last) = lines.last_mut() {
            last.amount.rescale(units);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remainders_go_to_the_largest_then_by_order() {
        // 3 partners request 1.00 each (100 units); budget 2.00: 66.67 each → 66,66,66 + 2 units.
        assert_eq!(largest_remainder(&[100, 100, 100], 200), vec![67, 67, 66]);
        assert_eq!(largest_remainder(&[50, 150], 300), vec![50, 150]);
        // 0.5, 1, 1.5: one unit left, partners 0 and 2 tie on the remainder, the first partner_id wins.
        assert_eq!(largest_remainder(&[1, 2, 3], 3), vec![1, 1, 1]);
    }
}
