//! `spif` (SPEC §4.4): deals closed inside both the SPIF window and the period earn a fixed amount
//! (× share, like `flat`, so a split deal is not paid twice) or a rate of the credited amount; with
//! `max_deals`, only the partner's first deals in (closed_on, deal_id) order. An amount SPIF may say
//! `per = "unit"` (SPEC §8.4): the amount × the row's units (quantity × share).

use super::{Per, RuleOutput, deal_line, share_note, units, units_note};
use crate::engine::context::PartnerCtx;
use crate::error::Result;
use crate::model::money::format_percent;
use crate::program::parse::{Bad, Tbl, choice, date, integer, pay};
use crate::program::{Pay, Rule};
use chrono::NaiveDate;

/// `spif`'s configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The window, both days included.
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// A fixed amount per deal row (× share) or a rate of the credited amount.
    pub pay: Pay,
    /// At most this many deals per partner and period, the first in (closed_on, deal_id) order.
    pub max_deals: Option<u64>,
    /// `per = "deal"` (the default) or `"unit"`; `"unit"` only with `amount`.
    pub per: Per,
}

/// The keys a `spif` rule may have besides `id`, `kind`, `when` and `cap`.
pub const KEYS: &[&str] = &[
    "start",
    "end",
    "amount",
    "rate",
    "max_deals",
    "per",
    "modifiers",
];

/// Only the period's own rows.
pub const HISTORY: super::History = super::PERIOD_ONLY;

pub(crate) fn parse(t: &Tbl) -> Result<Config, Bad> {
    let start = t.value("start", date);
    let end = t.value("end", date);
    let max_deals = t.value("max_deals", integer(1, i64::MAX));
    let per = t.value("per", choice(Per::CHOICES));
    let pay = pay(t);
    // SPEC §6: a rate is paid on the credited amount; "per unit" cannot be meant with it.
    if let (Ok(Some(Per::Unit)), Ok(Pay::Rate(_))) = (per, pay) {
        let name = t.name("per");
        t.error_at(
            "per",
            format!(
                "`{name}` = \"unit\" needs `amount`: a rate SPIF pays a rate of the credited amount, \
                 not an amount per unit"
            ),
        );
    }
    let start = t.required("start", start);
    let end = t.required("end", end);
    Ok(Config {
        start: start?,
        end: end?,
        pay: pay?,
        max_deals: max_deals?,
        per: per?.unwrap_or_default(),
    })
}

/// Lint: a window is inclusive, so it is empty exactly when it is inverted (start == end is one
/// day); a window with no day in any period `run` accepts can never pay either.
pub(crate) fn lints(config: &Config) -> Vec<(&'static str, String)> {
    let Config { start, end, .. } = config;
    let runnable = NaiveDate::from_ymd_opt(crate::model::period::FIRST_YEAR, 1, 1).zip(
        NaiveDate::from_ymd_opt(crate::model::period::LAST_YEAR, 12, 31),
    );
    if end < start {
        vec![(
            "end",
            format!("SPIF window is empty: end {end} is before start {start}"),
        )]
    } else if runnable.is_some_and(|(first, last)| *end < first || *start > last) {
        vec![(
            "start",
            format!(
                "SPIF window {start} to {end} is outside every period payline can run (years {} \
                 to {}); the rule can never pay",
                crate::model::period::FIRST_YEAR,
                crate::model::period::LAST_YEAR
            ),
        )]
    } else {
        Vec::new()
    }
}

pub fn evaluate(rule: &Rule, config: &Config, ctx: &PartnerCtx) -> Result<RuleOutput> {
    let Config {
        start,
        end,
        pay,
        max_deals,
        per,
    } = *config;
    let calc = ctx.calc(rule);
    let in_window = ctx
        .qualifying(rule, ctx.deals)
        .into_iter()
        .filter(|d| start <= d.closed_on && d.closed_on <= end);
    let limit = max_deals
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(usize::MAX);
    let lines = in_window
        .take(limit)
        .enumerate()
        .map(|(i, deal)| {
            let window = format!("SPIF {start}..{end}");
            let nth = match max_deals {
                Some(n) => format!(", deal {} of at most {n}", i + 1),
                None => String::new(),
            };
            match pay {
                Pay::Amount(amount) if per == Per::Unit => {
                    let units = units(deal, calc)?;
                    deal_line(
                        rule,
                        ctx,
                        deal,
                        units,
                        Some(amount),
                        calc.mul(amount, units, || {
                            format!("deal {}: the SPIF amount", deal.deal_id)
                        })?,
                        format!(
                            "{window}: {} per unit × {}{nth}",
                            ctx.money(amount),
                            units_note(deal, units)
                        ),
                    )
                }
                Pay::Amount(amount) => deal_line(
                    rule,
                    ctx,
                    deal,
                    deal.share,
                    Some(amount),
                    calc.mul(amount, deal.share, || {
                        format!("deal {}: the SPIF amount", deal.deal_id)
                    })?,
                    format!(
                        "{window}: {} per deal{}{nth}",
                        ctx.money(amount),
                        share_note(deal)
                    ),
                ),
                Pay::Rate(rate) => deal_line(
                    rule,
                    ctx,
                    deal,
                    deal.credited,
                    Some(rate),
                    calc.mul(rate, deal.credited, || {
                        format!("deal {}: the SPIF amount", deal.deal_id)
                    })?,
                    format!(
                        "{window}: {} of {}{nth}",
                        format_percent(rate),
                        ctx.money(deal.credited)
                    ),
                ),
            }
        })
        .collect::<Result<_>>()?;
    Ok(RuleOutput::lines(lines))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::Want;
    use super::super::testkit::{
        Fixture, HEADER, d, date, deal, expect, parse_errors, program, split,
    };
    use super::*;
    use crate::engine::rules::RuleKind;

    fn body(start: &str, end: &str, pay: &str, extra: &str) -> String {
        format!(
            "[[rules]]\nid = \"s\"\nkind = \"spif\"\nstart = {start}\nend = {end}\n{pay}\n{extra}"
        )
    }

    #[test]
    fn pays_deals_inside_the_window_both_days_included() {
        let text = body("2026-10-10", "2026-10-20", "amount = \"100.00\"", "");
        let cases: Vec<(&str, crate::model::Deal, Want)> = vec![
            // the day before the window: nothing
            ("day before", deal("D1", "2026-10-09", "1.00"), vec![]),
            // first day of the window: 100.00 × 1
            (
                "first day",
                deal("D1", "2026-10-10", "1.00"),
                vec![("D1", "100.00")],
            ),
            // last day of the window: 100.00 × 1
            (
                "last day",
                deal("D1", "2026-10-20", "1.00"),
                vec![("D1", "100.00")],
            ),
            // the day after the window: nothing
            ("day after", deal("D1", "2026-10-21", "1.00"), vec![]),
            // a split row inside: 100.00 × 0.5 = 50.00 (the deal is paid once in total)
            (
                "split",
                split("D1", "2026-10-15", "1.00", "0.5"),
                vec![("D1", "50.00")],
            ),
        ];
        for (name, row, expected) in cases {
            let f = Fixture::new(&text).deals(vec![row]);
            assert_eq!(f.lines("s"), expect(&expected), "{name}");
        }
    }

    #[test]
    fn a_window_across_the_period_start_pays_its_days_in_the_period() {
        // window 09-25..10-05; the period's deals on 10-01 and 10-05 are in it, 10-06 is not
        let text = body("2026-09-25", "2026-10-05", "amount = \"100.00\"", "");
        let f = Fixture::new(&text).deals(vec![
            deal("D1", "2026-10-01", "1.00"),
            deal("D2", "2026-10-05", "1.00"),
            deal("D3", "2026-10-06", "1.00"),
        ]);
        assert_eq!(f.lines("s"), expect(&[("D1", "100.00"), ("D2", "100.00")]));
    }

    #[test]
    fn max_deals_pays_the_first_in_window_deals_in_order() {
        let text = body(
            "2026-10-10",
            "2026-10-20",
            "amount = \"100.00\"",
            "max_deals = 2\n",
        );
        let f = Fixture::new(&text).deals(vec![
            // before the window: does not use up a slot
            deal("D0", "2026-10-05", "1.00"),
            deal("D3", "2026-10-12", "1.00"),
            deal("D9", "2026-10-11", "1.00"),
            deal("D2", "2026-10-11", "1.00"),
            deal("D1", "2026-10-13", "1.00"),
        ]);
        // in-window order (closed_on, deal_id): D2 (10-11), D9 (10-11), D3 (10-12), D1 (10-13);
        // the first two are paid 100.00 each
        assert_eq!(f.lines("s"), expect(&[("D2", "100.00"), ("D9", "100.00")]));
        let out = f.output("s");
        assert_eq!(
            out.lines[1].note,
            "SPIF 2026-10-10..2026-10-20: 100.00 per deal, deal 2 of at most 2"
        );
    }

    #[test]
    fn a_rate_spif_pays_a_share_of_the_credited_amount() {
        let text = body("2026-10-01", "2026-10-31", "rate = \"0.02\"", "");
        let f = Fixture::new(&text).deals(vec![
            // 0.02 × 1234.56 = 24.6912 → 24.69
            deal("D1", "2026-10-01", "1234.56"),
            // credited 1000.00 × 0.25 = 250.00; 0.02 × 250.00 = 5.00
            split("D2", "2026-10-31", "1000.00", "0.25"),
        ]);
        assert_eq!(f.lines("s"), expect(&[("D1", "24.69"), ("D2", "5.00")]));
    }

    #[test]
    fn lints_an_inverted_window_but_not_a_one_day_one() {
        let lints = |start: &str, end: &str| {
            let p = program(&format!(
                "{HEADER}{}",
                body(start, end, "amount = \"1\"", "")
            ));
            p.rules[0].kind.lints()
        };
        assert_eq!(
            lints("2026-10-31", "2026-10-01"),
            vec![(
                "end",
                "SPIF window is empty: end 2026-10-01 is before start 2026-10-31".to_string()
            )]
        );
        assert!(lints("2026-10-15", "2026-10-15").is_empty());
        assert_eq!(lints("1800-01-01", "1800-12-31")[0].0, "start");
    }

    #[test]
    fn parse_reads_dates_and_refuses_amount_with_rate() {
        let ok = program(
            r#"[program]
id = "p"
name = "P"
currency = "USD"

[[rules]]
id = "s"
kind = "spif"
start = 2026-10-01
end = "2026-10-31"
amount = "250"
max_deals = 3
"#,
        );
        assert_eq!(
            ok.rules[0].kind,
            RuleKind::Spif(Config {
                start: date("2026-10-01"),
                end: date("2026-10-31"),
                pay: Pay::Amount(d("250")),
                max_deals: Some(3),
                per: Per::Deal,
            })
        );
        let errors = parse_errors(
            r#"[program]
id = "p"
name = "P"
currency = "USD"

[[rules]]
id = "s"
kind = "spif"
start = 2026-10-01
end = 2026-10-31
amount = "250"
rate = "0.05"
"#,
        );
        // reported on the `rate` value: line 12, after `rate = ` (7 characters), column 8
        assert_eq!(
            errors,
            vec![(
                12,
                8,
                "`rules[0]` has both `amount` and `rate`; give one".to_string()
            )]
        );
        let errors = parse_errors(
            r#"[program]
id = "p"
name = "P"
currency = "USD"

[[rules]]
id = "s"
kind = "spif"
start = "2026-13-01"
end = 2026-10-31
amount = "250"
"#,
        );
        // line 9, after `start = ` (8 characters), column 9
        assert_eq!(
            errors,
            vec![(
                9,
                9,
                "`rules[0].start` must be a date like 2026-10-01, found \"2026-13-01\"".to_string()
            )]
        );
    }

    #[test]
    fn per_unit_pays_the_amount_times_units_and_still_counts_deals_for_max_deals() {
        use super::super::testkit::qty;
        let text = body(
            "2026-10-01",
            "2026-10-31",
            "amount = \"2.00\"",
            "per = \"unit\"\nmax_deals = 2\n",
        );
        let f = Fixture::new(&text).deals(vec![
            // 2.00 × 12 = 24.00
            qty(deal("D1", "2026-10-02", "1.00"), 12),
            // 2.00 × (24 × 0.5) = 24.00
            qty(split("D2", "2026-10-03", "1.00", "0.5"), 24),
            // the third deal: past max_deals = 2, nothing
            qty(deal("D3", "2026-10-04", "1.00"), 100),
        ]);
        assert_eq!(f.lines("s"), expect(&[("D1", "24.00"), ("D2", "24.00")]));
        let out = f.output("s");
        assert_eq!(
            out.lines[1].note,
            "SPIF 2026-10-01..2026-10-31: 2.00 per unit × 12 units (quantity 24 × share 0.5), \
             deal 2 of at most 2"
        );
        assert_eq!(out.lines[1].basis, Some(d("12")));
    }

    #[test]
    fn per_unit_on_a_rate_spif_is_an_error_at_per() {
        let errors = parse_errors(
            r#"[program]
id = "p"
name = "P"
currency = "USD"

[[rules]]
id = "s"
kind = "spif"
start = 2026-10-01
end = 2026-10-31
rate = "0.05"
per = "unit"
"#,
        );
        // line 12 `per = "unit"`: the value starts at column 7
        assert_eq!(
            errors,
            vec![(
                12,
                7,
                "`rules[0].per` = \"unit\" needs `amount`: a rate SPIF pays a rate of the credited \
                 amount, not an amount per unit"
                    .to_string()
            )]
        );
        // per = "deal" on a rate SPIF is the default spelled out: fine
        let ok = program(&format!(
            "{HEADER}{}",
            body(
                "2026-10-01",
                "2026-10-31",
                "rate = \"0.05\"",
                "per = \"deal\"\n"
            )
        ));
        assert!(matches!(&ok.rules[0].kind, RuleKind::Spif(c) if c.per == Per::Deal));
    }
}
