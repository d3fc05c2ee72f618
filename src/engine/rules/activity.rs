//! `activity` (SPEC §4.8): `amount` per unit of the named activity in the period, at most
//! `max_per_period` units per partner. One line per partner and period.

use super::RuleOutput;
use crate::engine::context::PartnerCtx;
use crate::engine::line::{Line, LineKind, Source};
use crate::error::Result;
use crate::program::Rule;
use crate::program::parse::{Bad, Tbl, integer, non_negative, string};
use rust_decimal::Decimal;

/// `activity`'s configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The activity name matched in activities.csv.
    pub activity: String,
    /// Paid per unit of quantity.
    pub amount: Decimal,
    /// At most this many units paid per partner and period.
    pub max_per_period: Option<u64>,
}

/// The keys an `activity` rule may have besides `id`, `kind`, `when` and `cap`.
pub const KEYS: &[&str] = &["activity", "amount", "max_per_period"];

/// Only the period's own rows.
pub const HISTORY: super::History = super::PERIOD_ONLY;

pub(crate) fn parse(t: &Tbl) -> Result<Config, Bad> {
    let activity = t.value("activity", string);
    let amount = t.value("amount", non_negative);
    let max = t.value("max_per_period", integer(1, i64::MAX));
    let activity = t.required("activity", activity);
    let amount = t.required("amount", amount);
    Ok(Config {
        activity: activity?,
        amount: amount?,
        max_per_period: max?,
    })
}

pub fn evaluate(rule: &Rule, config: &Config, ctx: &PartnerCtx) -> Result<RuleOutput> {
    let (activity, amount, max) = (
        config.activity.as_str(),
        config.amount,
        config.max_per_period,
    );
    let calc = ctx.calc(rule);
    let recorded = calc.ok(
        ctx.activities
            .iter()
            .filter(|a| a.activity == activity && rule.when.valid_on(a.occurred_on))
            .try_fold(0u64, |sum, a| sum.checked_add(a.quantity)),
        || format!("the total quantity of `{activity}` in the period"),
    )?;
    if recorded == 0 {
        return Ok(RuleOutput::default());
    }
    let raw = calc.mul(amount, Decimal::from(units_paid(recorded, max)), || {
        format!("{activity}: the amount for the units")
    })?;
    let units = units_paid(recorded, max);
    let mut note = format!("{units} × {activity} at {} each", ctx.money(amount));
    if units < recorded {
        note.push_str(&format!(
            " ({recorded} recorded, at most {} paid per period)",
            max.unwrap_or(0)
        ));
    }
    Ok(RuleOutput::lines(vec![Line {
        partner: ctx.index,
        rule_id: rule.id.clone(),
        kind: LineKind::Rule(super::Kind::Activity),
        source: Source::Activity,
        source_id: activity.to_string().into(),
        basis: Some(Decimal::from(units)),
        rate: Some(amount),
        amount: ctx.program.round(raw),
        note,
    }]))
}

fn units_paid(recorded: u64, max: Option<u64>) -> u64 {
    max.map_or(recorded, |m| recorded.min(m))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::Want;
    use super::super::testkit::{Fixture, HEADER, d, expect, parse_errors, program};

    /// Activities recorded in the period, as (name, quantity).
    type Recorded = Vec<(&'static str, u64)>;
    use super::*;
    use crate::engine::rules::RuleKind;

    fn body(max: &str) -> String {
        format!(
            "[[rules]]\nid = \"a\"\nkind = \"activity\"\nactivity = \"certification\"\namount = \"200.00\"\n{max}\n"
        )
    }

    #[test]
    fn pays_per_unit_up_to_max_per_period() {
        let capped = body("max_per_period = 3");
        let open = body("");
        let cases: Vec<(&str, &String, Recorded, Want)> = vec![
            ("nothing recorded", &capped, vec![], vec![]),
            // 2 units × 200.00 = 400.00
            (
                "below max",
                &capped,
                vec![("certification", 2)],
                vec![("certification", "400.00")],
            ),
            // exactly 3 units: 3 × 200.00 = 600.00
            (
                "at max",
                &capped,
                vec![("certification", 3)],
                vec![("certification", "600.00")],
            ),
            // 2 + 2 = 4 recorded, 3 paid: 600.00
            (
                "over max across rows",
                &capped,
                vec![("certification", 2), ("certification", 2)],
                vec![("certification", "600.00")],
            ),
            // another activity does not count
            ("other activity", &capped, vec![("training", 5)], vec![]),
            // no max: 5 × 200.00 = 1000.00
            (
                "no max",
                &open,
                vec![("certification", 5), ("training", 5)],
                vec![("certification", "1000.00")],
            ),
        ];
        for (name, text, activities, expected) in cases {
            let mut f = Fixture::new(text);
            for (activity, quantity) in activities {
                f = f.activity(activity, quantity);
            }
            assert_eq!(f.lines("a"), expect(&expected), "{name}");
        }
    }

    #[test]
    fn the_note_says_what_max_per_period_left_unpaid() {
        let f = Fixture::new(&body("max_per_period = 3"))
            .activity("certification", 2)
            .activity("certification", 2);
        let out = f.output("a");
        assert_eq!(out.lines[0].basis, Some(d("3")));
        assert_eq!(
            out.lines[0].note,
            "3 × certification at 200.00 each (4 recorded, at most 3 paid per period)"
        );
    }

    #[test]
    fn partner_keys_of_when_apply() {
        let text = format!("{}when = {{ region = [\"EMEA\"] }}\n", body(""));
        let f = Fixture::new(&text).activity("certification", 1);
        // no region: not eligible
        assert_eq!(f.lines("a"), expect(&[]));
        let f = f.edit("P1", |p| p.region = Some("EMEA".into()));
        // 1 × 200.00
        assert_eq!(f.lines("a"), expect(&[("certification", "200.00")]));
    }

    #[test]
    fn parse_reads_the_config_and_refuses_max_zero_and_deal_keys() {
        let ok = program(&format!("{HEADER}{}", body("max_per_period = 3")));
        assert_eq!(
            ok.rules[0].kind,
            RuleKind::Activity(Config {
                activity: "certification".into(),
                amount: d("200"),
                max_per_period: Some(3),
            })
        );
        let errors = parse_errors(
            r#"[program]
id = "p"
name = "P"
currency = "USD"

[[rules]]
id = "a"
kind = "activity"
activity = "lead"
amount = "5"
max_per_period = 0
"#,
        );
        // line 11 `max_per_period = 0`: column 18
        assert_eq!(
            errors,
            vec![(
                11,
                18,
                "`rules[0].max_per_period` must be a whole number at least 1, found 0".to_string()
            )]
        );
        let errors = parse_errors(
            r#"[program]
id = "p"
name = "P"
currency = "USD"

[[rules]]
id = "a"
kind = "activity"
activity = "lead"
amount = "5"
when = { product = ["x"] }
"#,
        );
        // line 11: `when = { product = ` is 19 characters, the list starts at column 20
        assert_eq!(
            errors,
            vec![(
                11,
                20,
                "`rules[0].when.product` is a deal key and cannot be used on `activity` rules"
                    .to_string()
            )]
        );
    }
}
