//! `milestone` (SPEC §4.8): an activation bonus paid once, in the period in which the partner's Nth
//! lifetime qualifying deal closes. Deal rows are counted as of the period end in (closed_on, deal_id)
//! order, so a later reversal never changes an old period's answer. The line is attributed to the Nth
//! deal, so reversing that deal within clawback_days claws the bonus back. A partner holds the bonus
//! while the ledger's lines of this milestone add up to non-zero, less what this period's clawbacks
//! recover; while it holds it, it is not paid again. A bonus clawed back with its Nth deal is earned
//! again by the next deal that makes the count N, in the same run when that deal is in the period.

use super::RuleOutput;
use crate::engine::context::PartnerCtx;
use crate::engine::history::recovered_now;
use crate::engine::line::{Line, LineKind, Source};
use crate::error::Result;
use crate::model::Text;
use crate::program::Rule;
use crate::program::parse::{Bad, Tbl, integer, non_negative};
use rust_decimal::Decimal;

fn ordinal(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, r) if r != 11 => "st",
        (2, r) if r != 12 => "nd",
        (3, r) if r != 13 => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// `milestone`'s configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The lifetime qualifying deal that earns the bonus (2 = the second).
    pub nth_deal: u64,
    pub amount: Decimal,
}

/// The keys a `milestone` rule may have besides `id`, `kind`, `when` and `cap`.
pub const KEYS: &[&str] = &["nth_deal", "amount"];

/// The partner's qualifying rows before the period (the lifetime count), and what the ledger's lines
/// of this rule add up to (whether the bonus is held).
pub const HISTORY: super::History = super::History {
    prior_count: true,
    ledger_sum: true,
    ..super::PERIOD_ONLY
};

pub(crate) fn parse(t: &Tbl) -> Result<Config, Bad> {
    let nth = t.value("nth_deal", integer(1, i64::MAX));
    let amount = t.value("amount", non_negative);
    let nth = t.required("nth_deal", nth);
    let amount = t.required("amount", amount);
    Ok(Config {
        nth_deal: nth?,
        amount: amount?,
    })
}

pub fn evaluate(rule: &Rule, config: &Config, ctx: &PartnerCtx) -> Result<RuleOutput> {
    let nth = config.nth_deal;
    // The partner holds the bonus while its ledger lines add up to non-zero, less what this period's
    // clawbacks recover: a bonus clawed back with its Nth deal can be earned again in the same run.
    let ledger_sum = ctx
        .inputs
        .ledger
        .rule_sums
        .get(&(ctx.index, rule.id.to_string()))
        .copied()
        .unwrap_or(Decimal::ZERO);
    let recovered = ctx.calc(rule).ok(
        recovered_now(ctx.program, ctx.inputs, ctx.index, &rule.id),
        || "what this period's clawbacks recover".into(),
    )?;
    if ledger_sum != recovered {
        return Ok(RuleOutput::default());
    }
    let prior = ctx.inputs.deals.prior_count(&rule.when, ctx.index);
    if prior >= nth {
        return Ok(earned_again_by_an_earlier_deal(rule, config, ctx));
    }
    let deals = ctx.qualifying(rule, ctx.deals);
    let Some(deal) = usize::try_from(nth - prior - 1)
        .ok()
        .and_then(|i| deals.get(i))
    else {
        return Ok(RuleOutput::default());
    };
    let note = format!(
        "milestone: deal {} closed {} is the partner's {} lifetime qualifying deal",
        deal.deal_id,
        deal.closed_on,
        ordinal(nth)
    );
    Ok(bonus(rule, config, ctx, deal.deal_id.clone(), note))
}

/// The bonus line, attributed to the deal that earns it.
fn bonus(
    rule: &Rule,
    config: &Config,
    ctx: &PartnerCtx,
    deal_id: Text,
    note: String,
) -> RuleOutput {
    RuleOutput::lines(vec![Line {
        partner: ctx.index,
        rule_id: rule.id.clone(),
        kind: LineKind::Rule(super::Kind::Milestone),
        source: Source::Deal,
        source_id: deal_id,
        basis: Some(Decimal::from(config.nth_deal)),
        rate: None,
        amount: ctx.program.round(config.amount),
        note,
    }])
}

/// A bonus paid once and clawed back with its Nth deal, while the partner's earlier rows still
/// hold N qualifying deals (M1 and M2 in September, the bonus on M2; M3 in October; M2 refunded
/// in November: M3 is now the 2nd). SPEC §4.8's "next qualifying deal that makes the count N
/// again" is that deal even when it closed before the clawback: it earns the bonus again now. A
/// partner who reached N before the rule ever paid it (the ledger has no line of it) is not paid.
fn earned_again_by_an_earlier_deal(rule: &Rule, config: &Config, ctx: &PartnerCtx) -> RuleOutput {
    let key = (ctx.index, rule.id.to_string());
    let paid_before = ctx.inputs.ledger.rule_sums.contains_key(&key);
    let firsts = ctx.inputs.deals.prior_firsts(&rule.when, ctx.index);
    let nth = usize::try_from(config.nth_deal - 1).unwrap_or(usize::MAX);
    let Some((closed_on, deal_id)) = firsts.get(nth).filter(|_| paid_before) else {
        return RuleOutput::default();
    };
    let note = format!(
        "milestone: deal {deal_id} closed {closed_on} is now the partner's {} lifetime qualifying deal (the deal that earned the bonus was reversed)",
        ordinal(config.nth_deal)
    );
    bonus(rule, config, ctx, Text::from(deal_id.as_str()), note)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{Fixture, HEADER, d, deal, expect, parse_errors, product, program};
    use super::super::testkit::{Rows, Want};
    use super::*;
    use crate::engine::rules::RuleKind;

    const SECOND: &str = r#"
[[rules]]
id = "m"
kind = "milestone"
nth_deal = 2
amount = "300.00"
"#;

    #[test]
    fn pays_on_the_nth_lifetime_deal() {
        let cases: Vec<(&str, u64, Rows, Want)> = vec![
            // first deal ever: count 1 < 2, nothing
            (
                "first deal",
                0,
                vec![deal("D1", "2026-10-01", "1.00")],
                vec![],
            ),
            // two deals in the period: the 2nd (D2) earns 300.00
            (
                "second in the period",
                0,
                vec![
                    deal("D1", "2026-10-01", "1.00"),
                    deal("D2", "2026-10-02", "1.00"),
                    deal("D3", "2026-10-03", "1.00"),
                ],
                vec![("D2", "300.00")],
            ),
            // one deal before the period: this period's first is the 2nd lifetime, 300.00
            (
                "one before",
                1,
                vec![
                    deal("D1", "2026-10-01", "1.00"),
                    deal("D2", "2026-10-02", "1.00"),
                ],
                vec![("D1", "300.00")],
            ),
            // reached before the period: never again
            (
                "reached before",
                2,
                vec![deal("D1", "2026-10-01", "1.00")],
                vec![],
            ),
            // order (closed_on, deal_id): D9 (10-01), D1 (10-02): the 2nd is D1
            (
                "order",
                0,
                vec![
                    deal("D1", "2026-10-02", "1.00"),
                    deal("D9", "2026-10-01", "1.00"),
                ],
                vec![("D1", "300.00")],
            ),
        ];
        for (name, prior, deals, expected) in cases {
            let f = Fixture::new(SECOND).prior_count("m", prior).deals(deals);
            assert_eq!(f.lines("m"), expect(&expected), "{name}");
        }
    }

    #[test]
    fn only_qualifying_deals_count() {
        let text = format!("{SECOND}when = {{ product = [\"hw\"] }}\n");
        // one hw deal before; this period: D1 sw, D2 hw → D2 is the 2nd qualifying deal: 300.00
        let f = Fixture::new(&text).prior_count("m", 1).deals(vec![
            product(deal("D1", "2026-10-01", "1.00"), "sw"),
            product(deal("D2", "2026-10-02", "1.00"), "hw"),
        ]);
        let out = f.output("m");
        assert_eq!(
            super::super::testkit::amounts(&out.lines),
            expect(&[("D2", "300.00")])
        );
        assert_eq!(
            out.lines[0].note,
            "milestone: deal D2 closed 2026-10-02 is the partner's 2nd lifetime qualifying deal"
        );
    }

    #[test]
    fn a_held_bonus_is_not_paid_again_until_clawed_back() {
        // The ledger shows 300.00 paid; the partner's count restarts below N after a reversal
        // (one earlier deal still counts), and this period's D5 makes it 2 again.
        let base = || {
            Fixture::new(SECOND)
                .prior_count("m", 1)
                .deals(vec![deal("D5", "2026-10-05", "1.00")])
                .rule_sum("m", "300.00")
        };
        // held, nothing recovered this period: nothing
        assert_eq!(base().lines("m"), expect(&[]));
        // D0 closed 09-20, reversed 10-03: 13 days ≤ 90, its 300.00 is clawed back now, so the
        // bonus is earned again by D5: 300.00
        let f = base()
            .reversal(deal("D0", "2026-09-20", "1.00"), "2026-10-03")
            .deal_earning("D0", "m", "300.00");
        assert_eq!(f.lines("m"), expect(&[("D5", "300.00")]));
        // closed 06-01, reversed 10-03: 124 days > 90, not clawed back: still held, nothing
        let f = base()
            .reversal(deal("D0", "2026-06-01", "1.00"), "2026-10-03")
            .deal_earning("D0", "m", "300.00");
        assert_eq!(f.lines("m"), expect(&[]));
    }

    #[test]
    fn parse_reads_the_config_and_refuses_nth_zero() {
        let ok = program(&format!("{HEADER}{SECOND}"));
        assert_eq!(
            ok.rules[0].kind,
            RuleKind::Milestone(Config {
                nth_deal: 2,
                amount: d("300"),
            })
        );
        let errors = parse_errors(
            r#"[program]
id = "p"
name = "P"
currency = "USD"

[[rules]]
id = "m"
kind = "milestone"
nth_deal = "2"
amount = "300"
"#,
        );
        // line 9 `nth_deal = "2"`: a string, not a whole number; column 12
        assert_eq!(
            errors,
            vec![(
                9,
                12,
                "`rules[0].nth_deal` must be a whole number at least 1, found \"2\"".to_string()
            )]
        );
    }
}
