//! `fund` (SPEC §4.13): MDF and co-op funds. Available this period = the ledger's fund balance +
//! `accrual_rate` × qualifying revenue (co-op) + `allocation` (fixed, or by level: MDF). Approved claims
//! decided in the period are paid in claim_id order up to what is available, one `claim` line each; the
//! rest stays in the fund (balances.csv `fund:RULE_ID`). A partner outside the rule's `when` accrues
//! nothing and its claims are paid nothing, with a warning; a balance it already had is kept.

use super::{RuleOutput, revenue};
use crate::engine::{Line, LineKind, PartnerCtx, Source};
use crate::error::{Result, Warning, WarningCode};
use crate::model::money::format_percent;
use crate::program::Rule;
use crate::program::parse::{Bad, LevelValues, Src, Tbl, level_table};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use toml::de::DeValue;

/// A fund's allocation per period: fixed, or by level.
#[derive(Debug, Clone, PartialEq)]
pub enum Allocation {
    Fixed(Decimal),
    ByLevel(BTreeMap<String, Decimal>),
}

/// `fund`'s configuration: co-op accrual, MDF allocation, or both.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub accrual_rate: Option<Decimal>,
    pub allocation: Option<Allocation>,
}

/// The keys a `fund` rule may have besides `id`, `kind`, `when` and `cap`.
pub const KEYS: &[&str] = &["accrual_rate", "allocation"];

pub(crate) fn parse(src: &mut Src, t: &Tbl) -> Result<Config, Bad> {
    let accrual_rate = t.rate(src, "accrual_rate");
    let allocation = match t.get("allocation") {
        None => Ok(None),
        Some(v) => match v.get_ref() {
            DeValue::Table(_) => match t.table(src, "allocation") {
                Ok(Some(table)) => level_table(src, &table, LevelValues::NonNegative)
                    .map(|m| Some(Allocation::ByLevel(m))),
                Ok(None) => Ok(None),
                Err(bad) => Err(bad),
            },
            _ => t
                .non_negative(src, "allocation")
                .map(|a| a.map(Allocation::Fixed)),
        },
    };
    let (accrual_rate, allocation) = (accrual_rate?, allocation?);
    if accrual_rate.is_none() && allocation.is_none() {
        src.error(
            t.span.clone(),
            format!(
                "`{}` (fund) needs `accrual_rate`, `allocation` or both",
                t.path
            ),
        );
        return Err(Bad);
    }
    Ok(Config {
        accrual_rate,
        allocation,
    })
}

pub fn evaluate(
    rule: &Rule,
    config: &Config,
    eligible: bool,
    ctx: &PartnerCtx,
) -> Result<RuleOutput> {
    let (accrual_rate, allocation) = (config.accrual_rate, config.allocation.as_ref());
    let calc = ctx.calc(rule);
    let units = ctx.program.minor_units();
    let carried = ctx
        .inputs
        .ledger
        .funds
        .get(&(ctx.index, rule.id.clone()))
        .copied()
        .unwrap_or(Decimal::ZERO);
    let claims: Vec<_> = ctx.claims.iter().filter(|c| c.fund == rule.id).collect();
    let mut out = RuleOutput::default();
    if !eligible {
        for c in &claims {
            out.warnings.push(Warning::new(
                WarningCode::ClaimNotEligible,
                format!(
                    "claim {} of partner {} on fund `{}` paid nothing: the partner is not eligible for the fund",
                    c.claim_id, ctx.partner.id, rule.id
                ),
            ));
        }
        out.fund_available = (!carried.is_zero()).then_some(carried);
        return Ok(out);
    }
    let accrual = match accrual_rate {
        Some(rate) => {
            let revenue = revenue(&ctx.qualifying(rule, ctx.deals), calc)?;
            let accrued = calc.mul(rate, revenue, || "the fund accrual".into())?;
            calc.limited(ctx.program.round(accrued), "the fund accrual", units)?
        }
        None => Decimal::ZERO,
    };
    let allocated = match allocation {
        None => Decimal::ZERO,
        Some(Allocation::Fixed(a)) => *a,
        Some(Allocation::ByLevel(table)) => ctx
            .level
            .and_then(|l| table.get(l).copied())
            .unwrap_or(Decimal::ZERO),
    };
    let available = calc.ok(
        carried
            .checked_add(accrual)
            .and_then(|v| v.checked_add(ctx.program.round(allocated))),
        || "the fund's available balance".into(),
    )?;
    let available = calc.limited(available, "the fund's available balance", units)?;
    let mut composition = vec![format!("carried {}", ctx.money(carried))];
    if let Some(rate) = accrual_rate {
        composition.push(format!(
            "accrued {} ({})",
            ctx.money(accrual),
            format_percent(rate)
        ));
    }
    if allocation.is_some() {
        composition.push(format!("allocated {}", ctx.money(allocated)));
    }
    let mut left = available;
    for claim in claims {
        // The claim is rounded to the currency's minor units before it is weighed against what is
        // left, so the fund never pays more than it holds (a 9.995 claim on 10.00 is 10.00).
        let claimed = ctx.program.round(claim.amount);
        let paid = claimed.min(left.max(Decimal::ZERO));
        left -= paid;
        let unpaid = claimed - paid;
        let mut note = format!(
            "claim {} on fund {}: {} available ({})",
            ctx.money(claimed),
            rule.id,
            ctx.money(paid + left),
            composition.join(", ")
        );
        if !unpaid.is_zero() {
            note.push_str(&format!("; {} unpaid", ctx.money(unpaid)));
            out.warnings.push(Warning::new(WarningCode::ClaimUnpaid, format!(
                "claim {} of partner {} on fund `{}`: {} of {} unpaid, the fund has no more available",
                claim.claim_id,
                ctx.partner.id,
                rule.id,
                ctx.money(unpaid),
                ctx.money(claimed)
            )));
        }
        out.lines.push(Line {
            partner: ctx.index,
            rule_id: rule.id.clone(),
            kind: LineKind::Claim,
            source: Source::Claim,
            source_id: claim.claim_id.clone(),
            basis: Some(claimed),
            rate: None,
            amount: paid,
            note,
        });
    }
    if let Some(rate) = accrual_rate {
        out.fund_inflows.push((
            "accrual",
            accrual,
            format!(
                "co-op accrual: {} of qualifying revenue",
                format_percent(rate)
            ),
        ));
    }
    if allocation.is_some() {
        let note = match ctx.level {
            Some(level) => format!("allocation for level {level}"),
            None => "allocation".to_string(),
        };
        out.fund_inflows
            .push(("allocation", ctx.program.round(allocated), note));
    }
    out.fund_available = Some(available);
    Ok(out)
}
