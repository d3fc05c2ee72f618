//! approvals.csv (SPEC §9.3): the decisions on deal rows of rules that require approval, each in its
//! current version. Read in two steps like payments.csv: [`read_approvals`] validates the file on
//! its own and against the program's rules (before deals.csv is read), [`ReadApprovals::check`]
//! checks each decision's (deal_id, partner_id) is a row of deals.csv.

use super::deals::{NamedDeals, NamedRows};
use super::{CsvFile, FileDigest, PartnerSet, Row};
use crate::error::{Result, RowErrors};
use crate::model::{Approval, Decision, Text};
use std::collections::HashMap;
use std::path::Path;

/// The columns of approvals.csv.
pub const APPROVAL_COLUMNS: &[&str] = &[
    "deal_id",
    "partner_id",
    "rule_id",
    "decision",
    "decided_on",
    "reason",
];

/// The columns every approvals.csv has.
pub const REQUIRED_COLUMNS: &[&str] = &["deal_id", "partner_id", "decision", "decided_on"];

/// The rules a decision may name: the deal-based rules of the program (of either program, for
/// `diff`, whose engine ignores a decision for a rule its program lacks, with a warning).
#[derive(Debug, Default)]
pub struct ApprovalRules {
    /// How messages name the program(s): `program partner-2026`.
    pub programs: String,
    /// Every rule id, with its kind's name and whether it is deal-based (in some program).
    pub rules: HashMap<String, (&'static str, bool)>,
}

/// approvals.csv read and validated on its own, waiting for its deal rows.
#[derive(Debug, Default)]
pub struct ReadApprovals {
    file: String,
    rows: Vec<(Approval, u64)>,
}

/// Reads approvals.csv: every row validated (required cells, a known decision, dates, known partners,
/// a given rule_id a deal-based rule, (deal_id, partner_id, rule_id) unique), every bad row reported
/// at once.
pub fn read_approvals(
    path: &Path,
    partners: &PartnerSet,
    rules: &ApprovalRules,
    dialect: &super::Dialect,
) -> Result<(ReadApprovals, FileDigest)> {
    let mut csv = CsvFile::open_as(path, REQUIRED_COLUMNS, dialect)?;
    let mut rows = Vec::new();
    let mut seen: HashMap<(String, usize, Option<String>), u64> = HashMap::new();
    while let Some(row) = csv.next_row()? {
        match approval_row(&row, partners, rules, &mut seen) {
            Ok(approval) => rows.push((approval, row.line)),
            Err(e) => csv.reject(e),
        }
    }
    let file = csv.file.clone();
    Ok((ReadApprovals { file, rows }, csv.finish()?))
}

fn approval_row(
    row: &Row,
    partners: &PartnerSet,
    rules: &ApprovalRules,
    seen: &mut HashMap<(String, usize, Option<String>), u64>,
) -> Result<Approval> {
    let deal_id = row.required("deal_id")?;
    let partner = partners.lookup(row, "partner_id", "unknown partner: not in partners.csv")?;
    let rule_id = row.get("rule_id");
    if let Some(id) = rule_id {
        check_rule(row, id, rules)?;
    }
    let decision = match row.choice("decision", &["approved", "declined"])? {
        Some("approved") => Decision::Approved,
        Some(_) => Decision::Declined,
        None => return Err(row.error("decision", "", "expected one of: approved, declined")),
    };
    let decided_on = row.required_date("decided_on")?;
    let key = (deal_id.to_string(), partner, rule_id.map(str::to_string));
    if let Some(first) = seen.insert(key, row.line) {
        let (column, value) = match rule_id {
            Some(id) => ("rule_id", id),
            None => ("deal_id", deal_id),
        };
        return Err(row.error(
            column,
            value,
            format!(
                "a second decision on deal {deal_id} of partner {} for {} (first on line {first}): approvals.csv holds each decision once, in its current version",
                partners.partners[partner].id,
                rule_id.map_or("every rule".to_string(), |id| format!("rule {id}"))
            ),
        ));
    }
    Ok(Approval {
        deal_id: Text::from(deal_id),
        partner,
        rule_id: rule_id.map(str::to_string),
        decision,
        decided_on,
        reason: row.get("reason").map(str::to_string),
    })
}

/// A given rule_id must be a deal-based rule: decisions are on deal rows.
fn check_rule(row: &Row, id: &str, rules: &ApprovalRules) -> Result<()> {
    match rules.rules.get(id) {
        Some((_, true)) => Ok(()),
        Some((kind, false)) => Err(row.error(
            "rule_id",
            id,
            format!(
                "rule {id} is a {kind} rule: decisions are on deal rows, for deal-based rules (flat, percent, tiered, spif)"
            ),
        )),
        None => Err(row.error(
            "rule_id",
            id,
            format!("unknown rule: {} has no rule with this id", rules.programs),
        )),
    }
}

impl ReadApprovals {
    /// How many decisions were read.
    pub fn count(&self) -> usize {
        self.rows.len()
    }

    /// Names each decision's deal in `named`, keeping every row of it in full (a decision settles
    /// a line of the row whenever it closed).
    pub fn name_deals(&self, named: &mut NamedDeals) {
        for (approval, _) in &self.rows {
            named.keep_all(&approval.deal_id);
        }
    }

    /// Checks each decision's (deal_id, partner_id) is a row of deals.csv (`named`: every row of
    /// the deal_ids named). The decisions come back sorted by (partner, deal_id, rule_id).
    pub fn check(self, named: &NamedRows, partners: &PartnerSet) -> Result<Vec<Approval>> {
        let mut errors = RowErrors::new();
        let mut out = Vec::with_capacity(self.rows.len());
        for (approval, line) in self.rows {
            // Every decision's deal was named, so a deal_id missing here has no row at all.
            let rows = named
                .deals
                .find(&approval.deal_id)
                .map_or(&[][..], |found| named.of(found.slot));
            let checked = super::payments::named_rows(
                rows,
                &approval.deal_id,
                Some(approval.partner),
                partners,
            );
            match checked {
                Ok(_) => out.push(approval),
                Err((column, value, message)) => errors.push(crate::error::Error::Input {
                    file: self.file.clone(),
                    line,
                    column: column.to_string(),
                    value,
                    message,
                }),
            }
        }
        errors.finish()?;
        out.sort_by(|a, b| {
            (a.partner, &a.deal_id, &a.rule_id).cmp(&(b.partner, &b.deal_id, &b.rule_id))
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rules::testkit::{deal, partner};
    use crate::model::Deal;

    const HEAD: &str = "deal_id,partner_id,rule_id,decision,decided_on,reason\n";

    fn partners() -> PartnerSet {
        PartnerSet::new(vec![partner("P1"), partner("P2")])
    }

    fn rules() -> ApprovalRules {
        let mut rules = HashMap::new();
        rules.insert("resale".to_string(), ("percent", true));
        rules.insert("bonus".to_string(), ("flat", true));
        rules.insert("q4-goal".to_string(), ("goal", false));
        ApprovalRules {
            programs: "program test".into(),
            rules,
        }
    }

    /// D1 split between P1 and P2; D2 of P1.
    fn rows() -> Vec<Deal> {
        let row = |deal_id: &str, partner: usize| {
            let mut row = deal(deal_id, "2026-10-01", "100");
            row.partner = partner;
            row
        };
        vec![row("D1", 0), row("D1", 1), row("D2", 0)]
    }

    fn load(text: &str) -> Result<Vec<Approval>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("approvals.csv");
        std::fs::write(&path, text).unwrap();
        let dialect = crate::input::Dialect::default();
        let (read, digest) = read_approvals(&path, &partners(), &rules(), &dialect)?;
        assert_eq!(
            digest.rows,
            Some(u64::try_from(text.lines().count() - 1).unwrap())
        );
        let mut named = NamedDeals::default();
        read.name_deals(&mut named);
        read.check(&NamedRows::from_deals(named, &rows()), &partners())
    }

    #[test]
    fn decisions_are_kept_whatever_their_dates_sorted_by_partner_deal_and_rule() {
        let approvals = load(&format!(
            "{HEAD}D2,P1,,approved,2026-10-03,\nD1,P2,resale,declined,2027-01-01,Customer churned\nD1,P1,resale,approved,2025-12-31,\nD1,P1,,declined,2026-10-01,\n"
        ))
        .unwrap();
        let seen: Vec<String> = approvals
            .iter()
            .map(|a| {
                format!(
                    "{} {} {:?} {} {} {:?}",
                    a.deal_id,
                    a.partner,
                    a.rule_id,
                    a.decision.name(),
                    a.decided_on,
                    a.reason
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                "D1 0 None declined 2026-10-01 None",
                "D1 0 Some(\"resale\") approved 2025-12-31 None",
                "D2 0 None approved 2026-10-03 None",
                "D1 1 Some(\"resale\") declined 2027-01-01 Some(\"Customer churned\")",
            ]
        );
    }

    #[test]
    fn every_bad_cell_names_its_line_column_and_value() {
        // (row after the header, column, value, words of the message)
        let cases = [
            (",P1,,approved,2026-10-01,", "deal_id", "", "required"),
            ("D1,,,approved,2026-10-01,", "partner_id", "", "required"),
            (
                "D1,P9,,approved,2026-10-01,",
                "partner_id",
                "P9",
                "unknown partner",
            ),
            ("D1,P1,,,2026-10-01,", "decision", "", "approved, declined"),
            (
                "D1,P1,,pending,2026-10-01,",
                "decision",
                "pending",
                "approved, declined",
            ),
            (
                "D1,P1,,Approved,2026-10-01,",
                "decision",
                "Approved",
                "approved, declined",
            ),
            ("D1,P1,,approved,,", "decided_on", "", "date is required"),
            (
                "D1,P1,,approved,2026-02-30,",
                "decided_on",
                "2026-02-30",
                "YYYY-MM-DD",
            ),
            (
                "D1,P1,nope,approved,2026-10-01,",
                "rule_id",
                "nope",
                "program test has no rule",
            ),
            (
                "D1,P1,q4-goal,approved,2026-10-01,",
                "rule_id",
                "q4-goal",
                "goal rule",
            ),
            (
                "D9,P1,,approved,2026-10-01,",
                "deal_id",
                "D9",
                "unknown deal",
            ),
            (
                "D2,P2,,approved,2026-10-01,",
                "partner_id",
                "P2",
                "its partners: P1",
            ),
        ];
        for (row, column, value, words) in cases {
            match load(&format!("{HEAD}{row}\n")) {
                Err(crate::error::Error::Input {
                    file,
                    line,
                    column: c,
                    value: v,
                    message,
                }) => {
                    assert!(file.ends_with("approvals.csv"), "{row}");
                    assert_eq!((line, c.as_str(), v.as_str()), (2, column, value), "{row}");
                    assert!(message.contains(words), "{row}: {message}");
                }
                other => panic!("{row}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_second_decision_for_one_row_and_rule_is_an_error() {
        for (second, column) in [
            ("D1,P1,resale,declined,2026-10-02,", "rule_id"),
            ("D1,P1,,declined,2026-10-02,", "deal_id"),
        ] {
            let first = second.replace("declined,2026-10-02", "approved,2026-10-01");
            match load(&format!(
                "{HEAD}{first}\nD1,P2,resale,approved,2026-10-01,\n{second}\n"
            )) {
                Err(crate::error::Error::Input {
                    line,
                    column: c,
                    message,
                    ..
                }) => {
                    assert_eq!((line, c.as_str()), (4, column), "{second}");
                    assert!(message.contains("first on line 2"), "{message}");
                }
                other => panic!("{second}: {other:?}"),
            }
        }
        // One decision per rule and one for every rule of the same row are not duplicates.
        let ok = load(&format!(
            "{HEAD}D1,P1,resale,approved,2026-10-01,\nD1,P1,bonus,declined,2026-10-01,\nD1,P1,,approved,2026-10-01,\n"
        ));
        assert_eq!(ok.unwrap().len(), 3);
    }

    #[test]
    fn every_bad_row_is_reported_at_once() {
        let err = load(&format!(
            "{HEAD}D1,P1,,maybe,2026-10-01,\nD1,P1,,approved,2026-10-01,\nD1,P2,,approved,10/01/2026,\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("approvals.csv:2") && err.contains("approvals.csv:4"),
            "{err}"
        );
        assert!(err.contains("2 bad rows"), "{err}");
    }

    #[test]
    fn a_missing_required_column_is_an_error_naming_it() {
        let err = load("deal_id,partner_id,decided_on\nD1,P1,2026-10-01\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("decision"), "{err}");
    }
}
