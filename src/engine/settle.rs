//! Settlement (SPEC §4.12): earned + clawed back + carried in = balance; then the first status that
//! applies: held (suspended, terminated, or KYC missing when required), negative (debt carried),
//! below-minimum (carried), paid. A paid balance converts to the partner's currency at the rate in
//! force on the period's last day; a positive balance that would convert to zero minor units of that
//! currency is below-minimum and carried, so money never vanishes in conversion. Every total is
//! checked to stay below 10^20 (SPEC §7).

use super::line::Calc;
use super::{Inputs, LineKind, PartnerLines};
use crate::error::{Error, Result};
use crate::model::PartnerStatus;
use crate::model::money::minor_units;
use crate::model::period::Period;
use crate::program::Program;
use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayoutStatus {
    Held,
    Negative,
    BelowMinimum,
    Paid,
}

impl PayoutStatus {
    pub fn name(self) -> &'static str {
        match self {
            PayoutStatus::Held => "held",
            PayoutStatus::Negative => "negative",
            PayoutStatus::BelowMinimum => "below-minimum",
            PayoutStatus::Paid => "paid",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Payout {
    pub partner: usize,
    pub level: Option<String>,
    pub earned: Decimal,
    pub clawed_back: Decimal,
    pub carried_in: Decimal,
    pub balance: Decimal,
    pub paid: Decimal,
    pub carried_out: Decimal,
    pub status: PayoutStatus,
    /// Why the status is what it is, in words (for `explain` and statements).
    pub reason: String,
    pub due_on: Option<NaiveDate>,
    pub payout_currency: String,
    pub fx_rate: Decimal,
    pub paid_in_payout_currency: Decimal,
    /// The partner's `pending` balance after the run (SPEC §8.2): held lines not payable yet.
    pub pending: Decimal,
}

pub fn settle(
    program: &Program,
    period: &Period,
    inputs: &Inputs,
    per_partner: &PartnerLines,
    levels: &[Option<String>],
) -> Result<Vec<Payout>> {
    let mut out = Vec::new();
    for (index, partner) in inputs.partners.partners.iter().enumerate() {
        let calc = Calc {
            partner: &partner.id,
            rule: "",
        };
        let Some(sums) = Sums::of(program, inputs, per_partner, index, calc)? else {
            continue;
        };
        let fx_rate = inputs
            .fx
            .rate_on(&partner.currency, period.end)
            .map_err(|m| {
                Error::Calculation(format!(
                    "partner {} is paid in {}: {m}",
                    partner.id, partner.currency
                ))
            })?;
        let conversion = Conversion {
            program,
            partner,
            fx_rate,
            calc,
        };
        let (status, reason) = status_of(program, partner, sums.balance, &conversion)?;
        let units = program.minor_units();
        let (paid, carried_out) = if status == PayoutStatus::Paid {
            (sums.balance, Decimal::new(0, units))
        } else {
            (Decimal::new(0, units), sums.balance)
        };
        let due_on = (status == PayoutStatus::Paid)
            .then(|| {
                let terms = u64::try_from(program.payout.terms_days).ok()?;
                period.end.checked_add_days(Days::new(terms))
            })
            .flatten();
        out.push(Payout {
            partner: index,
            level: levels[index].clone(),
            earned: sums.earned,
            clawed_back: sums.clawed_back,
            carried_in: sums.carried_in,
            balance: sums.balance,
            paid,
            carried_out,
            status,
            reason,
            due_on,
            payout_currency: partner.currency.clone(),
            fx_rate,
            paid_in_payout_currency: conversion.convert(paid)?,
            pending: sums.pending,
        });
    }
    Ok(out)
}

/// A partner's totals of the period: the sums of its lines by what they move, and the balances in.
struct Sums {
    earned: Decimal,
    clawed_back: Decimal,
    carried_in: Decimal,
    balance: Decimal,
    /// The `pending` balance after the run.
    pending: Decimal,
}

impl Sums {
    /// `None` for a partner with no line and no balance in: it has no payouts row.
    fn of(
        program: &Program,
        inputs: &Inputs,
        per_partner: &PartnerLines,
        index: usize,
        calc: Calc,
    ) -> Result<Option<Sums>> {
        let units = program.minor_units();
        let total = |name: &str, value: Option<Decimal>| {
            let value = calc.ok(value, || format!("the {name} total"))?;
            calc.limited(value, &format!("the {name} total"), units)
        };
        let mut has_lines = false;
        let mut earned = Decimal::new(0, units);
        let mut clawed_back = Decimal::new(0, units);
        let pending_in = inputs
            .ledger
            .pending
            .get(&index)
            .copied()
            .unwrap_or(Decimal::ZERO);
        let mut pending = pending_in;
        pending.rescale(units);
        for line in per_partner.of(index) {
            has_lines = true;
            if line.kind.is_pending() {
                // SPEC §8.2: held lines and cancels move only the pending account.
                pending = total("pending", pending.checked_add(line.amount))?;
            } else if line.kind == LineKind::Clawback {
                clawed_back = total("clawed-back", clawed_back.checked_add(line.amount))?;
            } else {
                earned = total("earned", earned.checked_add(line.amount))?;
            }
        }
        let carried_in = inputs
            .ledger
            .carried
            .get(&index)
            .copied()
            .unwrap_or(Decimal::ZERO);
        if !has_lines && carried_in.is_zero() && pending_in.is_zero() {
            return Ok(None);
        }
        let balance = total(
            "balance",
            earned
                .checked_add(clawed_back)
                .and_then(|b| b.checked_add(carried_in)),
        )?;
        Ok(Some(Sums {
            earned,
            clawed_back,
            carried_in,
            balance,
            pending,
        }))
    }
}

/// Paying an amount of the program currency in the partner's currency, at the period end's rate.
struct Conversion<'a> {
    program: &'a Program,
    partner: &'a crate::model::Partner,
    fx_rate: Decimal,
    calc: Calc<'a>,
}

impl Conversion<'_> {
    fn convert(&self, amount: Decimal) -> Result<Decimal> {
        let (program, partner) = (self.program, self.partner);
        let what = || {
            format!(
                "paying {} {} in {} at the fx rate {}",
                crate::model::money::format_money(amount, program.minor_units()),
                program.currency,
                partner.currency,
                crate::model::money::format_rate(self.fx_rate)
            )
        };
        let units = minor_units(&partner.currency);
        let converted = self.calc.ok(amount.checked_div(self.fx_rate), what)?;
        self.calc.limited(
            program.rounding.round(converted, units),
            &format!("{}: the amount in {}", what(), partner.currency),
            units,
        )
    }
}

/// The first status that applies (SPEC §4.12), with the reason in words.
fn status_of(
    program: &Program,
    partner: &crate::model::Partner,
    balance: Decimal,
    conversion: &Conversion,
) -> Result<(PayoutStatus, String)> {
    let money = |v: Decimal| crate::model::money::format_money(v, program.minor_units());
    let hold = match partner.status {
        PartnerStatus::Suspended | PartnerStatus::Terminated => {
            Some(format!("held: the partner is {}", partner.status.name()))
        }
        PartnerStatus::Active if program.payout.require_kyc && !partner.kyc_verified => {
            Some("held: KYC is not verified and the program requires it".to_string())
        }
        PartnerStatus::Active => None,
    };
    Ok(if let Some(reason) = hold {
        (
            PayoutStatus::Held,
            format!("{reason}; balance {} carried", money(balance)),
        )
    } else if balance < Decimal::ZERO {
        (
            PayoutStatus::Negative,
            format!(
                "balance {} is negative: the debt is carried and recovered from later earnings",
                money(balance)
            ),
        )
    } else if balance > Decimal::ZERO && balance < program.payout.minimum {
        (
            PayoutStatus::BelowMinimum,
            format!(
                "balance {} is below the payout minimum {}: carried to the next period",
                money(balance),
                money(program.payout.minimum)
            ),
        )
    } else if balance > Decimal::ZERO && conversion.convert(balance)?.is_zero() {
        (
            PayoutStatus::BelowMinimum,
            format!(
                "balance {} would convert to 0 {} at the fx rate {} (less than the smallest {} unit): carried to the next period instead of vanishing in conversion",
                money(balance),
                partner.currency,
                crate::model::money::format_rate(conversion.fx_rate),
                partner.currency
            ),
        )
    } else {
        (PayoutStatus::Paid, format!("paid {}", money(balance)))
    })
}
