//! Clawbacks (SPEC §4.12): a deal row reversed inside the period, at most `clawback_days` after it
//! closed, gets one `clawback` line per rule that paid it: minus what the ledger's lines for that
//! (deal, partner, rule) add up to. Earlier clawback lines are in the ledger too, so nothing is ever
//! clawed back twice. Without a ledger nothing can be recovered, and the summary says so.

use super::history::{Recoverable, clawed_back_of, recoverable, within_window};
use super::{Inputs, Line, LineKind, PartnerLines, Source};
use crate::error::{Warning, WarningCode};
use crate::model::period::Period;
use crate::program::Program;
use rust_decimal::Decimal;

pub fn claw_back(
    program: &Program,
    period: &Period,
    inputs: &Inputs,
    per_partner: &mut PartnerLines,
    warnings: &mut Vec<Warning>,
) {
    let reversals = &inputs.deals.reversals;
    if reversals.is_empty() {
        return;
    }
    let partners = &inputs.partners.partners;
    if inputs.ledger.dir.is_none() {
        // Rows closed inside this period and reversed in it were never paid: nothing to recover.
        let earlier: Vec<_> = reversals
            .iter()
            .filter(|d| d.closed_on < period.start)
            .collect();
        if !earlier.is_empty() {
            let examples: Vec<String> = earlier
                .iter()
                .take(3)
                .map(|d| format!("{}/{}", d.deal_id, partners[d.partner].id))
                .collect();
            warnings.push(Warning::new(WarningCode::ReversalsWithoutLedger, format!(
                "{} deal row(s) closed before {period} were reversed in it, but no --ledger was given, so nothing was clawed back (e.g. {})",
                earlier.len(),
                examples.join(", ")
            )));
        }
        return;
    }
    let mut late = 0usize;
    for deal in reversals {
        let Some(reversed_on) = deal.reversed_on else {
            continue; // the loader keeps only rows reversed in the period here
        };
        let held: Vec<(Recoverable, Decimal, Decimal)> = recoverable(inputs, deal)
            .filter_map(|r| {
                let total = r.total()?;
                let amount = clawed_back_of(program, deal, &r)?;
                Some((r, total, amount))
            })
            .filter(|(_, total, _)| !total.is_zero())
            .collect();
        if held.is_empty() {
            continue;
        }
        if !within_window(program, deal) {
            late += 1;
            continue;
        }
        let days = (reversed_on - deal.closed_on).num_days();
        for (held, total, amount) in held {
            if amount.is_zero() {
                continue; // a milestone keeps a partly reversed row (SPEC §9.6)
            }
            let note = clawback_note(program, deal, (reversed_on, days), &held, (total, amount));
            per_partner.add(
                deal.partner,
                Line {
                    partner: deal.partner,
                    rule_id: held.rule_id.into(),
                    kind: LineKind::Clawback,
                    source: Source::Deal,
                    source_id: deal.deal_id.clone(),
                    basis: Some(amount),
                    rate: None,
                    amount: -amount,
                    note,
                },
            );
        }
    }
    if late > 0 {
        warnings.push(Warning::new(WarningCode::LateReversals, format!(
            "{late} paid deal row(s) reversed in {period} more than {} days after closing were not clawed back",
            program.clawback_days
        )));
    }
}

/// The clawback's note: when and how the row was reversed, and what is recovered of what the rule
/// holds (`total`; `amount` recovered: all of it, or its reversed part, SPEC §9.6).
fn clawback_note(
    program: &Program,
    deal: &crate::model::Deal,
    (reversed_on, days): (chrono::NaiveDate, i64),
    held: &Recoverable,
    (total, amount): (Decimal, Decimal),
) -> String {
    let money = |v: Decimal| crate::model::money::format_money(v, program.minor_units());
    // The row's own amounts are in its currency (x and amount: a ratio, exact as written).
    let in_deal = |v: Decimal| crate::model::money::format_in(v, &deal.currency);
    let how = match deal.status {
        crate::model::DealStatus::Cancelled => "cancelled",
        _ => "refunded",
    };
    let (how, what) = match deal.reversed_amount {
        // An earlier, smaller partial reversal was clawed back: x is the refunded total, and what
        // it recovered then is subtracted (SPEC §9.6, docs/RULES.md).
        Some(x) if !held.recovered.is_zero() => (
            format!(
                "{how} in part ({} of {} in all)",
                in_deal(x),
                in_deal(deal.amount)
            ),
            format!(
                "recovering {} of the {} paid by {} ({} × {} ÷ {}, less {} clawed back before)",
                money(amount),
                money(total),
                held.rule_id,
                money(total + held.recovered),
                in_deal(x),
                in_deal(deal.amount),
                money(held.recovered)
            ),
        ),
        Some(x) => (
            format!("{how} in part ({} of {})", in_deal(x), in_deal(deal.amount)),
            format!(
                "recovering {} of the {} paid by {} ({} × {} ÷ {})",
                money(amount),
                money(total),
                held.rule_id,
                money(total),
                in_deal(x),
                in_deal(deal.amount)
            ),
        ),
        None => (
            how.to_string(),
            format!("recovering {} paid by {}", money(amount), held.rule_id),
        ),
    };
    let mut note = format!(
        "deal {} closed {} was {how} on {reversed_on}, {days} days later (clawback window {} days): {what}",
        deal.deal_id, deal.closed_on, program.clawback_days,
    );
    if let Some((part, span)) = held.part {
        note.push_str(&format!(
            " (its own lines {} and its part {} of the {span} true-ups)",
            money(held.lines),
            money(part)
        ));
    }
    note
}

#[cfg(test)]
mod tests {
    use crate::engine::rules::testkit::{Fixture, d, deal};
    use rust_decimal::Decimal;

    const RETRO: &str = "[[rules]]\nid = \"t\"\nkind = \"tiered\"\nmode = \"retroactive\"\naccumulate = \"quarter\"\ntiers = [{ from = \"0\", rate = \"0.05\" }, { from = \"20000\", rate = \"0.08\" }]\n";

    /// (rule, amount, note) of the clawback lines of a run in January 2027.
    fn clawbacks(f: Fixture) -> Vec<(String, Decimal, String)> {
        let mut f = f;
        f.period = crate::model::period::Period::parse("2027-01").unwrap();
        f.run()
            .lines
            .into_iter()
            .filter(|l| l.kind == crate::engine::LineKind::Clawback)
            .map(|l| (l.rule_id.to_string(), l.amount, l.note))
            .collect()
    }

    #[test]
    fn after_its_span_a_row_is_owed_back_its_own_lines_and_its_part_of_the_true_ups() {
        // D1 paid 500.00 in October at 5%; the quarter's last evaluation gave it 800.00 (8%): its
        // part 300.00 is recorded. Refunded 2027-01-05, 87 days after closing (≤ 90): −800.00.
        let f = Fixture::new(RETRO)
            .reversal(deal("D1", "2026-10-10", "10000.00"), "2027-01-05")
            .deal_earning("D1", "t", "500.00")
            .true_up_part("D1", "t", "300.00", "2026-Q4");
        assert_eq!(
            clawbacks(f),
            vec![(
                "t".to_string(),
                d("-800.00"),
                "deal D1 closed 2026-10-10 was refunded on 2027-01-05, 87 days later (clawback window 90 days): recovering 800.00 paid by t (its own lines 500.00 and its part 300.00 of the 2026-Q4 true-ups)".to_string()
            )]
        );
    }

    #[test]
    fn a_row_its_span_took_back_is_not_recovered_again_and_a_clawback_never_pays() {
        // D1 paid 500.00 in October, re-dated out of the quarter: the true-ups took it back (part
        // −500.00). Refunded now: nothing is left to recover.
        let taken_back = Fixture::new(RETRO)
            .reversal(deal("D1", "2026-10-10", "10000.00"), "2027-01-05")
            .deal_earning("D1", "t", "500.00")
            .true_up_part("D1", "t", "-500.00", "2026-Q4");
        assert_eq!(clawbacks(taken_back), vec![]);
        // Already clawed back in the span (its lines net to 0) with a part of −500.00: recovering
        // −500.00 would pay the partner; nothing is written.
        let clawed = Fixture::new(RETRO)
            .reversal(deal("D1", "2026-10-10", "10000.00"), "2027-01-05")
            .deal_earning("D1", "t", "0.00")
            .true_up_part("D1", "t", "-500.00", "2026-Q4");
        assert_eq!(clawbacks(clawed), vec![]);
        // Paid only through the true-ups (a late row): its part alone is owed back.
        let late = Fixture::new(RETRO)
            .reversal(deal("D1", "2026-10-10", "10000.00"), "2027-01-05")
            .true_up_part("D1", "t", "800.00", "2026-Q4");
        assert_eq!(clawbacks(late)[0].1, d("-800.00"));
    }
}
