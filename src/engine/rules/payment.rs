//! A `percent` rule with `pay_on = "payment"` (SPEC §9.1, §9.2): its lines are the row's payments,
//! one per payment as a run settles it (`engine::payments::settle`: the row's covered total, never
//! the order of its payments). A positive line is an earned line of the rule (modifiers, caps,
//! budget; held like a deal line from the payment's date); a negative one is a `clawback` on
//! `payout` at once. Each paid payment is recorded (`PaidPayment`) so later runs take it at the
//! `paid_on`, amount and cash part its line names.

use super::deal_line;
use crate::engine::context::{PartnerCtx, slice_for};
use crate::engine::payments::{Cover, PayOn, Taken, settle, settle_refunds, window_end};
use crate::engine::{Line, LineKind, Source};
use crate::error::{About, Error, Result, Warning, WarningCode};
use crate::model::money::{format_in, format_percent};
use crate::model::{Deal, PaidPayment, Payment};
use crate::program::Rule;
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// What a payment rule wrote for one partner.
#[derive(Default)]
pub struct PaymentLines {
    pub lines: Vec<Line>,
    pub paid: Vec<PaidPayment>,
    pub warnings: Vec<Warning>,
}

/// The payments of `deal_id` that apply to `row`, in (paid_on, payment_id) order.
pub(crate) fn payments_of<'a>(payments: &'a [Payment], row: &Deal) -> Vec<&'a Payment> {
    let start = payments.partition_point(|p| *p.deal_id < *row.deal_id);
    payments[start..]
        .iter()
        .take_while(|p| p.deal_id == row.deal_id)
        .filter(|p| p.partner.is_none_or(|partner| partner == row.partner))
        .collect()
}

/// The partner's lines of a `pay_on = "payment"` rule of `rate`, `for_months` its §9.2 window.
pub fn evaluate(
    rule: &Rule,
    rate: Decimal,
    for_months: Option<u32>,
    ctx: &PartnerCtx,
) -> Result<PaymentLines> {
    let mut out = PaymentLines::default();
    let rows = slice_for(&ctx.inputs.deals.by_id, ctx.index, |d| d.partner);
    let eligible = rule.when.matches_partner(ctx.partner, ctx.level);
    let family = cash_family(rule, ctx);
    // Built at the first row the rule does not take (a chain may have paid a million payments).
    let mut paid_rows = None;
    for row in rows {
        let takes = eligible && ctx.takes(rule, row);
        // A row the rule paid on but no longer takes still has its refunds clawed back: the lines
        // never stand for more cash than the covered total (SPEC §9.1). Versions share a row's
        // cash: the one that takes the row now settles them, else the one that paid it last.
        let mut settles_refunds = || match paid_rows
            .get_or_insert_with(|| rows_paid_on(&family, ctx))
            .get(&*row.deal_id)
        {
            Some(&(_, last)) => {
                std::ptr::eq(family[last], rule)
                    && !family.iter().any(|v| {
                        v.when.matches_partner(ctx.partner, ctx.level) && ctx.takes(v, row)
                    })
            }
            None => false,
        };
        let settling = match takes {
            true => Settling::Row,
            false if settles_refunds() => Settling::RefundsOnly,
            false => continue,
        };
        row_lines(
            (rule, &family),
            (rate, for_months),
            settling,
            ctx,
            row,
            &mut out,
        )?;
    }
    Ok(out)
}

/// What a run settles of a row: all its payments (the rule takes the row), or only its refunds (the
/// rule paid on the row but no longer takes it).
#[derive(Clone, Copy, PartialEq)]
enum Settling {
    Row,
    RefundsOnly,
}

/// The rule and its versions paying on payment (SPEC §8.6): one rule for a row's cash (§9.1
/// "versions of the rule included"), the rule first.
fn cash_family<'p>(rule: &'p Rule, ctx: &PartnerCtx<'p>) -> Vec<&'p Rule> {
    let rules = &ctx.program.rules;
    let versions = rules.iter().filter(|r| {
        super::is_version(rule, r, rules) && matches!(r.pay_on(), PayOn::Payment { .. })
    });
    std::iter::once(rule).chain(versions).collect()
}

/// The partner's rows the ledger shows `family` paid a payment of, each with the last period one of
/// them paid it in and which one (the later in program order when two paid in that period).
fn rows_paid_on<'l>(
    family: &[&Rule],
    ctx: &PartnerCtx<'l>,
) -> std::collections::BTreeMap<&'l str, (&'l str, usize)> {
    let ledger = &ctx.inputs.ledger;
    let mut out: std::collections::BTreeMap<&str, (&str, usize)> = Default::default();
    for (at, member) in family.iter().enumerate() {
        for p in ledger.paid_payments_of(ctx.index, &member.id) {
            let last = out.entry(&p.deal_id).or_insert((&p.period, at));
            if (p.period.as_str(), at) > *last {
                *last = (&p.period, at);
            }
        }
    }
    out
}

/// One row's payment lines: the payments taken, settled against what the rule and its versions
/// (`family`) paid already, as `settling` says.
fn row_lines(
    (rule, family): (&Rule, &[&Rule]),
    (rate, for_months): (Decimal, Option<u32>),
    settling: Settling,
    ctx: &PartnerCtx,
    row: &Deal,
    out: &mut PaymentLines,
) -> Result<()> {
    let taken = taken_payments(family, for_months, ctx, row, &mut out.warnings);
    let cover = match for_months {
        Some(_) => Cover::Unlimited,
        None => Cover::UpTo(row.amount),
    };
    let list: Vec<Taken> = taken.iter().map(|(t, _)| t.clone()).collect();
    let calc = ctx.calc(rule);
    let settled = match settling {
        Settling::Row => settle(&list, cover),
        Settling::RefundsOnly => settle_refunds(&list, cover),
    };
    let parts = calc.ok(settled, || {
        format!("deal {}: the payments' parts", row.deal_id)
    })?;
    for part in parts {
        let (t, payment) = taken
            .iter()
            .find(|(t, _)| t.payment_id == part.payment_id)
            .expect("a settled payment is one of those taken");
        out.warnings
            .extend(overpayment(ctx, row, t, (part.part, cover)));
        if part.cash.is_zero() {
            continue; // taken again by the next run
        }
        let mut line = payment_line(rule, rate, ctx, row, (t, part.part, part.cash))?;
        if settling == Settling::RefundsOnly {
            line.note.push_str(&format!(
                "; the row is no longer rule `{}`'s (its labels, dates, partner or group changed), which claws back the refunds of cash it paid on",
                rule.id
            ));
        }
        out.warnings.extend(line_warnings(rule, ctx, row, t));
        out.lines.push(line);
        out.paid.push(PaidPayment {
            period: ctx.period.to_string(),
            partner: ctx.index,
            rule_id: rule.id.to_string(),
            payment_id: payment.payment_id.clone(),
            deal_id: row.deal_id.clone(),
            paid_on: t.paid_on,
            amount: t.amount,
            cash_part: part.cash,
        });
    }
    Ok(())
}

/// The row's payments this run takes, each with its payments.csv row, in (`paid_on`,
/// `payment_id`) order: those dated from the chain's first day to the period's last (§9.2's window
/// applied), and every one the rule or a version of it (`family`) paid already, at the `paid_on`,
/// amount and cash part its record names.
fn taken_payments<'p>(
    family: &[&Rule],
    for_months: Option<u32>,
    ctx: &PartnerCtx<'p>,
    row: &Deal,
    warnings: &mut Vec<Warning>,
) -> Vec<(Taken<'p>, &'p Payment)> {
    let ledger = &ctx.inputs.ledger;
    let chain_start = ledger.chain_first_day(ctx.period.start);
    let window = for_months.and_then(|n| window_end(row.closed_on, n));
    let mut taken = Vec::new();
    for payment in payments_of(ctx.inputs.payments, row) {
        // The key is built (two strings) only when the chain has paid payments to look in.
        let recorded = match ledger.paid_payments.is_empty() {
            true => None,
            false => {
                // One key, its rule id refilled for each member: two strings per payment.
                let mut key = (ctx.index, String::new(), payment.payment_id.to_string());
                family.iter().find_map(|member| {
                    key.1.clear();
                    key.1.push_str(&member.id);
                    ledger.paid_payments.get(&key)
                })
            }
        };
        if let Some(r) = recorded.filter(|r| r.paid_on != payment.paid_on) {
            warnings.push(Warning::new(
                WarningCode::PaymentPaidAlready,
                format!(
                    "payment {} of deal {} is now dated {}, but rule `{}` paid it as of {} in {}: it is taken as paid then",
                    payment.payment_id, row.deal_id, payment.paid_on, r.rule_id, r.paid_on, r.period
                ),
            ));
        }
        let paid_on = recorded.map_or(payment.paid_on, |r| r.paid_on);
        let amount = recorded.map_or(payment.amount, |r| r.amount);
        let date = paid_on.max(row.closed_on);
        let in_chain = chain_start <= date && date <= ctx.period.end;
        // §9.2: a positive payment pays only before the window's end; a refund always counts.
        let in_window = amount < Decimal::ZERO || window.is_none_or(|end| paid_on < end);
        if (in_chain && in_window) || recorded.is_some() {
            taken.push((
                Taken {
                    payment_id: &payment.payment_id,
                    paid_on,
                    amount,
                    paid: recorded.map(|r| r.cash_part),
                },
                payment,
            ));
        }
    }
    taken.sort_by(|(a, _), (b, _)| (a.paid_on, a.payment_id).cmp(&(b.paid_on, b.payment_id)));
    taken
}

/// SPEC §9.1's `overpayment`: a payment (or a refund) whose part is smaller than its amount, warned
/// in the period of its `paid_on` only (later runs that take it again stay quiet).
fn overpayment(
    ctx: &PartnerCtx,
    row: &Deal,
    t: &Taken,
    (part, cover): (Decimal, Cover),
) -> Option<Warning> {
    let beyond = part.abs() < t.amount.abs() && t.paid.is_none();
    if !beyond || !ctx.period.contains(t.paid_on) {
        return None;
    }
    let message = match t.amount > Decimal::ZERO {
        true => format!(
            "payment {} of deal {} ({}) goes beyond the row's amount {}: only {} of it counts",
            t.payment_id,
            row.deal_id,
            format_in(t.amount, &row.currency),
            format_in(row.amount, &row.currency),
            format_in(part, &row.currency)
        ),
        // Part of a refund may return an overpayment, or more than was paid: either way the
        // covered total (payments so far, from 0 up to the row's amount) moves by less.
        false => format!(
            "refund {} of deal {} ({}) lowers the covered total (the payments so far, {}) by {}: only that part counts",
            t.payment_id,
            row.deal_id,
            format_in(t.amount, &row.currency),
            match cover {
                Cover::UpTo(_) => format!(
                    "from 0 up to the row's amount {}",
                    format_in(row.amount, &row.currency)
                ),
                Cover::Unlimited => "from 0 up, with for_months no amount limits them".to_string(),
            },
            format_in(-part, &row.currency)
        ),
    };
    Some(Warning::new(WarningCode::Overpayment, message))
}

/// SPEC §9.1's `overpayment` for a `full-payment` rule's row: its payments (in (`paid_on`,
/// `payment_id`) order) whose part of the covered total is smaller than their amount, warned in the
/// period of their `paid_on`, as a `payment` rule warns them.
fn overpayments(ctx: &PartnerCtx, row: &Deal, payments: &[&Payment]) -> Vec<Warning> {
    if !payments.iter().any(|p| ctx.period.contains(p.paid_on)) {
        return Vec::new();
    }
    let taken: Vec<Taken> = payments
        .iter()
        .map(|p| Taken {
            payment_id: &p.payment_id,
            paid_on: p.paid_on,
            amount: p.amount,
            paid: None,
        })
        .collect();
    let parts = crate::engine::payments::parts(&taken, Cover::UpTo(row.amount)).unwrap_or_default();
    (taken.iter().zip(parts))
        .filter_map(|(t, part)| overpayment(ctx, row, t, (part, Cover::UpTo(row.amount))))
        .collect()
}

/// The warnings of a payment whose line this run writes: late, or for a reversed row.
fn line_warnings(rule: &Rule, ctx: &PartnerCtx, row: &Deal, t: &Taken) -> Vec<Warning> {
    let mut out = Vec::new();
    if t.paid_on.max(row.closed_on) < ctx.period.start {
        out.push(Warning::new(
            WarningCode::LatePayment,
            format!(
                "payment {} of deal {} (partner {}) paid on {} is paid late: rule `{}` had no line of it (new in payments.csv, or not payable until now) and pays it in {}",
                t.payment_id, row.deal_id, ctx.partner.id, t.paid_on, rule.id, ctx.period
            ),
        )
        .about(About::Payment(t.payment_id.to_string())));
    }
    if row.full_reversal().is_some_and(|r| r <= ctx.period.end) {
        // A refund of a reversed deal is the expected end of it: said as such, not as cash received.
        let message = match t.amount < Decimal::ZERO {
            false => format!(
                "payment {} of deal {} (partner {}) is for a reversed deal: the cash was received, so rule `{}` pays on it; its refund is a negative payment",
                t.payment_id, row.deal_id, ctx.partner.id, rule.id
            ),
            true => format!(
                "refund {} of deal {} (partner {}) is for a reversed deal: rule `{}` claws back what it paid on the cash refunded",
                t.payment_id, row.deal_id, ctx.partner.id, rule.id
            ),
        };
        out.push(Warning::new(WarningCode::PaymentForReversedDeal, message));
    }
    out
}

/// A payment's line: `rate` × round(cash × share × fx on paid_on), modifiers applied; positive
/// earned (held from the payment's date like a deal line), negative a clawback on `payout`.
fn payment_line(
    rule: &Rule,
    rate: Decimal,
    ctx: &PartnerCtx,
    row: &Deal,
    (t, part, cash): (&Taken, Decimal, Decimal),
) -> Result<Line> {
    let calc = ctx.calc(rule);
    let fx = ctx
        .inputs
        .fx
        .rate_on(&row.currency, t.paid_on)
        .map_err(|e| Error::Calculation(format!("payment {}: {e}", t.payment_id)))?;
    let credited = calc.mul(cash, row.share, || {
        format!("payment {}: cash × share", t.payment_id)
    })?;
    let basis = ctx.program.round(calc.mul(credited, fx, || {
        format!("payment {}: the credited cash", t.payment_id)
    })?);
    let raw = calc.mul(rate, basis, || {
        format!("payment {}: the commission", t.payment_id)
    })?;
    let mut note = format!(
        "{} of {}: payment {} {} on {}",
        format_percent(rate),
        ctx.money(basis),
        t.payment_id,
        ctx.money(t.amount),
        t.paid_on
    );
    if cash != t.amount {
        note.push_str(&format!(
            " (cash part {} of its part {} of deal {})",
            ctx.money(cash),
            ctx.money(part),
            row.deal_id
        ));
    }
    // How the cash became the basis, when it is not the cash itself: the row's share, the rate.
    if row.share != Decimal::ONE || fx != Decimal::ONE {
        note.push_str(&format!("; cash {} {}", ctx.money(cash), row.currency));
        note.push_str(&super::share_note(row));
        if fx != Decimal::ONE {
            note.push_str(&format!(" × fx {} on {}", fx.normalize(), t.paid_on));
        }
    }
    let mut line = deal_line(rule, ctx, row, basis, Some(rate), raw, note)?;
    line.source = Source::Payment;
    line.source_id = t.payment_id.into();
    if cash < Decimal::ZERO {
        line.kind = LineKind::Clawback;
        line.note.push_str("; a refund: clawed back at once");
    } else {
        hold(ctx, t.paid_on.max(row.closed_on), &mut line);
    }
    Ok(line)
}

/// SPEC §8.2 for a payment line: held when its date is fewer than `hold_days` before the period's
/// last day; released in the first period whose last day is at least its date + `hold_days`.
fn hold(ctx: &PartnerCtx, date: NaiveDate, line: &mut Line) {
    let hold_days = ctx.program.payout.hold_days;
    let LineKind::Rule(kind) = line.kind else {
        return;
    };
    if hold_days > 0 && (ctx.period.end - date).num_days() < hold_days {
        line.kind = LineKind::Pending(kind);
        let until = date + chrono::Days::new(hold_days.unsigned_abs());
        line.note.push_str(&format!(
            "; pending: paid {date}, held {hold_days} days until {until}"
        ));
    }
}

/// SPEC §9.1: payments are append-only history. A payment a rule of the program has a line of
/// must still be in payments.csv with the amount its line names; every one that is not is named.
pub fn check_paid_payments(
    program: &crate::program::Program,
    inputs: &crate::engine::Inputs,
) -> Result<()> {
    let ledger = &inputs.ledger;
    if ledger.paid_payments.is_empty() {
        return Ok(());
    }
    let rules: std::collections::BTreeSet<&str> = program.rules.iter().map(|r| &*r.id).collect();
    let by_id: std::collections::HashMap<&str, &Payment> = inputs
        .payments
        .iter()
        .map(|p| (&*p.payment_id, p))
        .collect();
    let mut problems = Vec::new();
    let partners = &inputs.partners.partners;
    let file = inputs.payments_file.unwrap_or("payments.csv");
    for ((partner, rule_id, payment_id), paid) in &ledger.paid_payments {
        if !rules.contains(rule_id.as_str()) {
            continue;
        }
        let how = format!(
            "rule `{rule_id}` paid payment {payment_id} ({} on {}, deal {}, partner {}) in {}",
            paid.amount, paid.paid_on, paid.deal_id, partners[*partner].id, paid.period
        );
        let restore =
            "payments are history: restore it, and record a correction as a negative payment";
        let Some(p) = by_id.get(payment_id.as_str()) else {
            let given = match inputs.payments_file {
                None => "no --payments was given".to_string(),
                Some(file) => format!("it is no longer in {file}"),
            };
            problems.push(format!(
                "{file}: column `payment_id`: {how}, and {given}; {restore} (value: `{payment_id}`)"
            ));
            continue;
        };
        // A paid payment moved to another deal or partner would be paid again there.
        let changed = if p.amount != paid.amount {
            Some(("amount", p.amount.to_string()))
        } else if p.deal_id != paid.deal_id {
            Some(("deal_id", p.deal_id.to_string()))
        } else if p.partner.is_some_and(|x| x != *partner) {
            let now = p
                .partner
                .map(|x| partners[x].id.clone())
                .unwrap_or_default();
            Some(("partner_id", now))
        } else {
            None
        };
        if let Some((column, value)) = changed {
            problems.push(format!(
                "{file}:{}: column `{column}`: {how}; its {column} changed, but {restore} (value: `{value}`)",
                p.line
            ));
        }
    }
    problems.dedup();
    match problems.is_empty() {
        true => Ok(()),
        false => Err(Error::Calculation(problems.join("\n"))),
    }
}

/// The rows a rule pays this run, with the day each was paid in full when the rule says
/// `pay_on = "full-payment"` (SPEC §9.1): the period's rows otherwise. A row is paid in the period
/// containing its full-payment date, or later when that date's payments arrive late (`late-payment`);
/// §7's pay-once drops the rows the ledger shows paid. The row must count at the period's end.
pub(crate) fn rows_paid<'d>(
    rule: &Rule,
    pay_on: crate::engine::payments::PayOn,
    ctx: &PartnerCtx<'d>,
    warnings: &mut Vec<Warning>,
) -> Vec<(&'d Deal, Option<NaiveDate>)> {
    if pay_on != crate::engine::payments::PayOn::FullPayment {
        let rows = ctx.qualifying(rule, ctx.deals);
        return rows.into_iter().map(|d| (d, None)).collect();
    }
    let (period, inputs) = (ctx.period, ctx.inputs);
    let chain_start = inputs
        .ledger
        .chain_first_day(period.start)
        .min(period.start);
    let by_id = slice_for(&inputs.deals.by_id, ctx.index, |d| d.partner);
    // A row of amount 0 is paid in full on its close, payments or not: the period's own such rows.
    let unpaid_zero = ctx
        .deals
        .iter()
        .filter(|d| d.amount.is_zero() && !by_id.iter().any(|b| b.deal_id == d.deal_id));
    let mut out: Vec<(&Deal, Option<NaiveDate>)> = Vec::new();
    for row in by_id.iter().chain(unpaid_zero) {
        let counts =
            row.closed_on <= period.end && row.full_reversal().is_none_or(|r| r > period.end);
        if !counts || !ctx.takes(rule, row) {
            continue;
        }
        let paid = payments_of(inputs.payments, row);
        warnings.extend(overpayments(ctx, row, &paid));
        let payments: Vec<(NaiveDate, Decimal)> =
            paid.iter().map(|p| (p.paid_on, p.amount)).collect();
        let partial = row.reversed_on.zip(row.reversed_amount);
        let Some(day) = crate::engine::payments::full_payment_date(
            row.closed_on,
            row.amount,
            partial,
            &payments,
        ) else {
            continue;
        };
        if day > period.end || day < chain_start {
            continue;
        }
        // A row of amount 0 is paid in full on its close, payments or not: no payment of it can
        // arrive late, so one closed before the period is a row that arrived late, which no rule
        // pays (SPEC §2), whether or not some payment happens to name its deal.
        if row.amount.is_zero() && day < period.start {
            continue;
        }
        if day < period.start && !paid_late(rule, ctx, row, day, warnings) {
            continue;
        }
        out.push((row, Some(day)));
    }
    out.sort_by(|(a, _), (b, _)| (a.closed_on, &a.deal_id).cmp(&(b.closed_on, &b.deal_id)));
    out
}

/// Whether a row paid in full before the period (on `day`) is paid now: not when the ledger shows
/// it paid then, nor when its manual rule's decision declined it before this period (the run that
/// declined it wrote no line, SPEC §9.3, so only the decision tells it from a late payment). Warned
/// `late-payment` when it is paid, naming an approval decided in the period (an appeal, say).
fn paid_late(
    rule: &Rule,
    ctx: &PartnerCtx,
    row: &Deal,
    day: NaiveDate,
    warnings: &mut Vec<Warning>,
) -> bool {
    use crate::engine::approval::{declined_on, described, in_effect};
    let period = ctx.period;
    let key = (ctx.index, row.deal_id.to_string(), rule.id.to_string());
    if ctx.inputs.ledger.paid_deal_lines.contains_key(&key) {
        return false; // paid in the period it was paid in full
    }
    let before = period.start.pred_opt().unwrap_or(period.start);
    if declined_on(ctx, rule, &row.deal_id, before) {
        return false;
    }
    let row_of = (ctx.index, &*row.deal_id);
    let manual = ctx.program.approval(rule) == crate::engine::approval::Approval::Manual;
    let decision = in_effect(ctx.inputs.approvals, row_of, &rule.id, period.end).filter(|_| manual);
    if decision.is_some_and(|d| d.decision == crate::model::Decision::Declined) {
        return true; // declined now: not paid, and warned `declined`, not as paid late
    }
    let why = match decision {
        Some(d) if d.decided_on >= period.start => {
            format!("{}, and no earlier run paid it", described(d))
        }
        _ => "which only this run's payments.csv shows".to_string(),
    };
    warnings.push(Warning::new(
        WarningCode::LatePayment,
        format!(
            "deal {} of partner {} was paid in full on {day}, {why}: rule `{}` pays it in {period}",
            row.deal_id, ctx.partner.id, rule.id
        ),
    )
    .about(About::Deal(row.deal_id.to_string())));
    true
}

#[cfg(test)]
mod tests {
    use crate::engine::LineKind;
    use crate::engine::rules::testkit::{Fixture, d, deal};
    use crate::model::{Deal, DealStatus};
    use rust_decimal::Decimal;

    const CASH: &str =
        "[[rules]]\nid = \"cash\"\nkind = \"percent\"\nrate = \"0.10\"\npay_on = \"payment\"\n";

    fn lines(fixture: &Fixture) -> Vec<(String, LineKind, Decimal)> {
        let out = fixture.output("cash");
        out.lines
            .iter()
            .map(|l| (l.source_id.to_string(), l.kind, l.amount))
            .collect()
    }

    fn refunded(row: Deal, on: &str) -> Deal {
        Deal {
            status: DealStatus::Refunded,
            reversed_on: Some(on.parse().unwrap()),
            ..row
        }
    }

    #[test]
    fn each_payment_of_the_period_pays_the_rate_of_its_part() {
        // D1, 1,000.00, closed in August. EARLY is dated before the chain's first day (this
        // period's, without a ledger): never taken, nor counted in the covered total. A covers
        // 600.00 (60.00); B 500.00 covers the 400.00 left (40.00), 100.00 is an overpayment.
        let fixture = Fixture::new(CASH)
            .paid_row(deal("D1", "2026-08-10", "1000.00"))
            .payment("EARLY", "D1", "2026-09-30", "100.00")
            .payment("A", "D1", "2026-10-05", "600.00")
            .payment("B", "D1", "2026-10-20", "500.00");
        let earned = LineKind::Rule(crate::engine::rules::Kind::Percent);
        assert_eq!(
            lines(&fixture),
            [
                ("A".to_string(), earned, d("60.00")),
                ("B".to_string(), earned, d("40.00"))
            ]
        );
        let out = fixture.output("cash");
        let paid: Vec<(&str, Decimal)> = out
            .paid_payments
            .iter()
            .map(|p| (&*p.payment_id, p.cash_part))
            .collect();
        assert_eq!(paid, [("A", d("600.00")), ("B", d("400.00"))]);
        assert!(
            out.warnings.iter().any(|w| w.message.contains("payment B")),
            "{:?}",
            out.warnings
        );
    }

    #[test]
    fn a_refund_is_a_clawback_at_once_and_of_a_reversed_deal_said_as_a_refund() {
        // Refunded on 10-15: A's 1,000.00 was received (paid on, 100.00, warned), R returns it
        // (a clawback of 100.00 on payout, warned as a refund, not as cash received).
        let fixture = Fixture::new(CASH)
            .paid_row(refunded(deal("D1", "2026-08-10", "1000.00"), "2026-10-15"))
            .payment("A", "D1", "2026-10-01", "1000.00")
            .payment("R", "D1", "2026-10-16", "-1000.00");
        let earned = LineKind::Rule(crate::engine::rules::Kind::Percent);
        assert_eq!(
            lines(&fixture),
            [
                ("A".to_string(), earned, d("100.00")),
                ("R".to_string(), LineKind::Clawback, d("-100.00"))
            ]
        );
        let warnings: Vec<String> = fixture
            .output("cash")
            .warnings
            .into_iter()
            .map(|w| w.message)
            .filter(|m| m.contains("is for a reversed deal"))
            .collect();
        assert!(
            warnings[0].starts_with(
                "payment A of deal D1 (partner P1) is for a reversed deal: the cash was received"
            ),
            "{warnings:?}"
        );
        assert!(
            warnings[1].starts_with(
                "refund R of deal D1 (partner P1) is for a reversed deal: rule `cash` claws back"
            ),
            "{warnings:?}"
        );
    }
}
