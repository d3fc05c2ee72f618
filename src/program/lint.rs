//! Lints: mistakes that parse but are probably not what the author meant (SPEC §6).
//!
//! Everything here is linear in the program's size: excerpts come from a line index built once, and
//! the double-pay lint compares a rule only with the earlier rules of its group (same kind and same
//! thing paid for) that an index says could share a `when` value, stopping after
//! [`MAX_OVERLAPS_PER_RULE`] overlaps.

use super::*;
use crate::engine::rules::PaysFor;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What `check` knows beyond the program: the partner types, regions and levels of a partners file,
/// if given.
#[derive(Debug, Default)]
pub struct LintContext {
    pub partner_types: Option<BTreeSet<String>>,
    pub regions: Option<BTreeSet<String>>,
    /// The values of the partners file's `level` column (used when the program has no `[levels]`).
    pub levels: Option<BTreeSet<String>>,
}

/// At most this many double-pay warnings name one rule as the later of the pair; one more overlap
/// is mentioned, not listed. Keeps `check` linear (and readable) when many rules overlap.
pub const MAX_OVERLAPS_PER_RULE: usize = 3;

/// The program text with its line starts, so an excerpt costs one lookup, not a scan.
struct Source<'t> {
    text: &'t str,
    line_starts: Vec<usize>,
}

impl<'t> Source<'t> {
    fn new(text: &'t str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source { text, line_starts }
    }

    fn line(&self, line: usize) -> &'t str {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return "";
        };
        let end = self
            .line_starts
            .get(line)
            .map(|e| e - 1)
            .unwrap_or(self.text.len());
        self.text[start..end.max(start)].trim_end_matches('\r')
    }
}

fn warning(program: &Program, pos: Pos, message: String, src: &Source) -> Diagnostic {
    Diagnostic {
        file: program.file.clone(),
        line: pos.line,
        column: pos.column,
        severity: Severity::Warning,
        message,
        excerpt: src.line(pos.line).to_string(),
    }
}

/// Warnings for a parsed program. `text` is the program source, for excerpts.
pub fn lint(program: &Program, text: &str, ctx: &LintContext) -> Vec<Diagnostic> {
    let src = Source::new(text);
    let mut out = Vec::new();
    // With `[levels]` the program computes every partner's level (SPEC §4.9): only its tier ids exist.
    let program_levels: Option<BTreeSet<String>> = program
        .levels
        .as_ref()
        .map(|l| l.tiers.iter().map(|t| t.id.clone()).collect());
    let known_levels = program_levels.as_ref().or(ctx.levels.as_ref());
    for rule in &program.rules {
        kind_lints(program, rule, &src, &mut out);
        let whens = std::iter::once(("when", None, &rule.when)).chain(
            rule.modifiers
                .iter()
                .enumerate()
                .map(|(i, m)| ("modifiers", Some(i), &m.when)),
        );
        for (key, modifier, when) in whens {
            let pos = rule.key_pos(key);
            let subject = match modifier {
                None => format!("rule `{}`", rule.id),
                Some(i) => format!("rule `{}`, modifier {}", rule.id, i + 1),
            };
            let effect = match modifier {
                None => "the rule can never pay",
                Some(_) => "the modifier never applies",
            };
            let checks = [
                (
                    &when.partner_type,
                    ctx.partner_types.as_ref(),
                    "no partner in the partners file has type",
                ),
                (
                    &when.region,
                    ctx.regions.as_ref(),
                    "no partner in the partners file is in region",
                ),
                (
                    &when.level,
                    known_levels,
                    if program_levels.is_some() {
                        "no partner can have level (not a tier of [levels])"
                    } else {
                        "no partner in the partners file has level"
                    },
                ),
            ];
            for (wanted, known, what) in checks {
                if let (Some(wanted), Some(known)) = (wanted, known)
                    && !wanted.iter().any(|v| known.contains(v))
                {
                    out.push(warning(
                        program,
                        pos,
                        format!("{subject}: {what} {}; {effect}", wanted.join(" or ")),
                        &src,
                    ));
                }
            }
        }
    }
    double_pay(program, &src, &mut out);
    versions(program, &src, &mut out);
    shadowed(program, &src, &mut out);
    out
}

/// SPEC §9.5: a group rule no row can reach, because an earlier rule of its group matches every row
/// it could: no deal keys, no dates, no spif window, and each of its partner keys lists a superset
/// of the later rule's same key (which must have it).
fn shadowed(program: &Program, src: &Source, out: &mut Vec<Diagnostic>) {
    let superset = |a: &Option<Vec<String>>, b: &Option<Vec<String>>| match (a, b) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(a), Some(b)) => b.iter().all(|v| a.contains(v)),
    };
    for (i, b) in program.rules.iter().enumerate() {
        let Some(group) = &b.group else { continue };
        let shadow = program.rules[..i].iter().find(|a| {
            a.group.as_ref() == Some(group)
                && !a.when.has_deal_keys()
                && !is_dated(a)
                && a.kind.active_days().is_none()
                && superset(&a.when.partner_type, &b.when.partner_type)
                && superset(&a.when.level, &b.when.level)
                && superset(&a.when.region, &b.when.region)
        });
        if let Some(a) = shadow {
            let message = format!(
                "rule `{}` never pays: `{}`, earlier in group `{group}`, matches every row it could \
                 (no deal keys, no dates, partner keys that include its own), so it takes them first; \
                 move the more specific rule before it",
                b.id, a.id
            );
            out.push(warning(program, b.key_pos("group"), message, src));
        }
    }
}

/// The rule kind's own lints (falling tiers, SPIF windows …), each at the key it is about.
fn kind_lints(program: &Program, rule: &Rule, src: &Source, out: &mut Vec<Diagnostic>) {
    for (key, message) in rule.kind.lints() {
        out.push(warning(
            program,
            rule.key_pos(key),
            format!("rule `{}`: {message}", rule.id),
            src,
        ));
    }
}

/// The list keys of `When`, in a fixed order, for the index.
fn when_lists(w: &When) -> [&Option<Vec<String>>; 7] {
    [
        &w.partner_type,
        &w.level,
        &w.region,
        &w.product,
        &w.customer_type,
        &w.source,
        &w.credit,
    ]
}

/// For one `when` key of one group: the members without the key (they match every value), and the
/// members listing each value. Member numbers ascend in every list (they are pushed in file order).
#[derive(Default)]
struct KeyIndex<'r> {
    absent: Vec<usize>,
    by_value: HashMap<&'r str, Vec<usize>>,
}

/// Rules of one kind paying for the same object, in file order, with an index on each `when` key.
#[derive(Default)]
struct Group<'r> {
    members: Vec<&'r Rule>,
    keys: [KeyIndex<'r>; 7],
}

impl<'r> Group<'r> {
    /// The earlier members that share a value with `rule` on its most selective listed key (or all
    /// earlier members when it lists none), ascending. Any member overlapping `rule` is among them.
    fn candidates(&self, rule: &Rule) -> Vec<usize> {
        let lists = when_lists(&rule.when);
        let best = lists
            .iter()
            .enumerate()
            .filter_map(|(k, list)| {
                let values = list.as_ref()?;
                let index = &self.keys[k];
                let cost = index.absent.len()
                    + values
                        .iter()
                        .filter_map(|v| index.by_value.get(v.as_str()))
                        .map(Vec::len)
                        .sum::<usize>();
                Some((cost, k, values))
            })
            .min_by_key(|(cost, k, _)| (*cost, *k));
        let Some((_, k, values)) = best else {
            return (0..self.members.len()).collect();
        };
        let index = &self.keys[k];
        let mut out = index.absent.clone();
        for v in values {
            if let Some(members) = index.by_value.get(v.as_str()) {
                out.extend_from_slice(members);
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    fn push(&mut self, rule: &'r Rule) {
        let member = self.members.len();
        self.members.push(rule);
        for (k, list) in when_lists(&rule.when).into_iter().enumerate() {
            let index = &mut self.keys[k];
            match list {
                None => index.absent.push(member),
                Some(values) => {
                    let mut seen: Vec<&str> = Vec::with_capacity(values.len());
                    for v in values {
                        // A value listed twice is indexed once, so a member is never a candidate twice.
                        if !seen.contains(&v.as_str()) {
                            seen.push(v);
                            index.by_value.entry(v).or_default().push(member);
                        }
                    }
                }
            }
        }
    }
}

/// Two rules of the same kind whose eligibility overlaps can pay a partner twice for one thing.
/// Each rule is reported against at most [`MAX_OVERLAPS_PER_RULE`] earlier rules.
fn double_pay(program: &Program, src: &Source, out: &mut Vec<Diagnostic>) {
    let mut groups: HashMap<PaysFor, Group> = HashMap::new();
    for b in &program.rules {
        let Some(obj) = b.kind.pays_for() else {
            continue;
        };
        let group = groups.entry(obj).or_default();
        let mut found = Vec::new();
        let mut more = false;
        for m in group.candidates(b) {
            let a = group.members[m];
            if could_double_pay(a, b) {
                if found.len() == MAX_OVERLAPS_PER_RULE {
                    more = true;
                    break;
                }
                found.push(a);
            }
        }
        let n = found.len();
        for (i, a) in found.into_iter().enumerate() {
            let mut message = format!(
                "rules `{}` and `{}` are both {} rules on overlapping eligibility: a partner can be \
                 paid twice for the same thing",
                a.id,
                b.id,
                a.kind.name()
            );
            if more && i + 1 == n {
                message.push_str(&format!(
                    "; `{}` overlaps more earlier {} rules too (at most {MAX_OVERLAPS_PER_RULE} are \
                     listed per rule)",
                    b.id,
                    b.kind.name()
                ));
            }
            out.push(warning(program, b.pos, message, src));
        }
        group.push(b);
    }
}

fn lists_overlap(a: &Option<Vec<String>>, b: &Option<Vec<String>>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => x.iter().any(|i| y.contains(i)),
        _ => true,
    }
}

fn when_overlaps(a: &When, b: &When) -> bool {
    let lo = match (a.min_amount, b.min_amount) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    };
    let hi = match (a.max_amount, b.max_amount) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    let amounts_overlap = match (lo, hi) {
        (Some(l), Some(h)) => l <= h,
        _ => true,
    };
    amounts_overlap
        && when_lists(a)
            .into_iter()
            .zip(when_lists(b))
            .all(|(x, y)| lists_overlap(x, y))
}

/// Two rules of one group (same kind, same object) pay for the same thing when their eligibility
/// overlaps, and, for SPIFs, their windows share a day.
/// Two rules that both have effective dates are versions of each other: [`versions`] reports them.
fn could_double_pay(a: &Rule, b: &Rule) -> bool {
    let days_overlap = match (a.kind.active_days(), b.kind.active_days()) {
        (Some((s1, e1)), Some((s2, e2))) => s1.max(s2) <= e1.min(e2),
        _ => true,
    };
    // SPEC §9.5: the rules of one precedence group never both take a row.
    let same_group = a.group.is_some() && a.group == b.group;
    let versions = is_dated(a) && is_dated(b);
    !same_group
        && !versions
        && days_overlap
        && dates_overlap(a, b)
        && when_overlaps(&a.when, &b.when)
}

fn is_dated(rule: &Rule) -> bool {
    rule.when.valid_from.is_some() || rule.when.valid_until.is_some()
}

/// Whether two rules' effective dates (SPEC §8.6) share a day.
fn dates_overlap(a: &Rule, b: &Rule) -> bool {
    let (from_a, until_a) = (a.when.valid_from, a.when.valid_until);
    let (from_b, until_b) = (b.when.valid_from, b.when.valid_until);
    until_a.is_none_or(|u| from_b.is_none_or(|f| f <= u))
        && until_b.is_none_or(|u| from_a.is_none_or(|f| f <= u))
}

fn dates_text(rule: &Rule) -> String {
    let day =
        |d: Option<chrono::NaiveDate>, open: &str| d.map_or(open.to_string(), |d| d.to_string());
    format!(
        "{} to {}",
        day(rule.when.valid_from, "the beginning"),
        day(rule.when.valid_until, "no end")
    )
}

/// How many earlier dated rules of a group `versions` looks through for a rule's previous version.
const VERSION_LOOKBACK: usize = 64;

/// SPEC §8.6: rules of one group (same kind, same thing paid for) with effective dates and
/// overlapping eligibility are versions of one rule; consecutive versions should neither overlap (a
/// deal paid by both) nor leave a gap (deals closed then paid by neither).
fn versions(program: &Program, src: &Source, out: &mut Vec<Diagnostic>) {
    let mut groups: BTreeMap<usize, Vec<&Rule>> = BTreeMap::new();
    let mut keys: HashMap<PaysFor, usize> = HashMap::new();
    for rule in program.rules.iter().filter(|r| is_dated(r)) {
        let Some(obj) = rule.kind.pays_for() else {
            continue;
        };
        let next = keys.len();
        let group = *keys.entry(obj).or_insert(next);
        groups.entry(group).or_default().push(rule);
    }
    for mut rules in groups.into_values() {
        rules.sort_by_key(|r| (r.when.valid_from, r.pos.line));
        for (i, &b) in rules.iter().enumerate() {
            // The version before `b` is the nearest earlier rule of the group `b` shares partners
            // with (others, for other partners, may sit between); looked for among a bounded
            // number, so `check` stays linear.
            let Some(&a) = rules[i.saturating_sub(VERSION_LOOKBACK)..i]
                .iter()
                .rev()
                .find(|a| when_overlaps(&a.when, &b.when))
            else {
                continue;
            };
            let kind = a.kind.name();
            let message = if dates_overlap(a, b) {
                format!(
                    "rules `{}` ({}) and `{}` ({}) are versions of one {kind} rule whose effective \
                     dates overlap: a partner can be paid twice for the same thing",
                    a.id,
                    dates_text(a),
                    b.id,
                    dates_text(b)
                )
            } else {
                let (Some(until), Some(from)) = (a.when.valid_until, b.when.valid_from) else {
                    continue;
                };
                if until.succ_opt() == Some(from) {
                    continue;
                }
                format!(
                    "rules `{}` ({}) and `{}` ({}) are versions of one {kind} rule with a gap: \
                     nothing closed from {} to {} counts for either",
                    a.id,
                    dates_text(a),
                    b.id,
                    dates_text(b),
                    until.succ_opt().unwrap_or(until),
                    from.pred_opt().unwrap_or(from)
                )
            };
            out.push(warning(program, b.key_pos("valid_from"), message, src));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(rules: &str) -> (Program, String) {
        let text = format!("[program]\nid = \"p\"\nname = \"P\"\ncurrency = \"USD\"\n{rules}");
        let (p, diags) = parse("p.toml", &text);
        assert!(diags.is_empty(), "{diags:#?}");
        (p.expect("parses"), text)
    }

    fn percent(id: &str, when: &str) -> String {
        format!(
            "\n[[rules]]\nid = \"{id}\"\nkind = \"percent\"\nrate = \"0.1\"\nwhen = {{ {when} }}\n"
        )
    }

    fn overlaps(rules: &str) -> Vec<String> {
        let (p, text) = program(rules);
        lint(&p, &text, &LintContext::default())
            .into_iter()
            .map(|d| d.message)
            .filter(|m| m.contains("overlapping eligibility"))
            .collect()
    }

    fn dated(id: &str, dates: &str, when: &str) -> String {
        format!(
            "\n[[rules]]\nid = \"{id}\"\nkind = \"percent\"\nrate = \"0.1\"\n{dates}\nwhen = {{ {when} }}\n"
        )
    }

    fn warnings(rules: &str) -> Vec<(usize, String)> {
        let (p, text) = program(rules);
        lint(&p, &text, &LintContext::default())
            .into_iter()
            .map(|d| (d.line, d.message))
            .collect()
    }

    fn grouped(id: &str, when: &str) -> String {
        format!(
            "[[rules]]\nid = \"{id}\"\nkind = \"percent\"\ngroup = \"rates\"\nrate = \"0.05\"\n{when}\n"
        )
    }

    #[test]
    fn a_group_rule_behind_a_wider_one_is_shadowed_and_the_group_never_double_pays() {
        let base = grouped("base", "");
        let special = grouped("special", "[rules.when]\npartner_type = [\"reseller\"]");
        // `base` first: `special` never sees a row.
        let found = warnings(&(base.clone() + &special));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0]
                .1
                .contains("rule `special` never pays: `base`, earlier in group `rates`"),
            "{found:#?}"
        );
        // The specific rule first is the point of a group: quiet (and no double-pay warning).
        assert_eq!(warnings(&(special.clone() + &base)), vec![]);
        // An earlier rule with a deal key does not shadow.
        let product = grouped("product", "[rules.when]\nproduct = [\"A\"]");
        assert_eq!(warnings(&(product + &special)), vec![]);
        // Partner keys: the earlier rule's list must include the later one's.
        let var = grouped("var", "[rules.when]\npartner_type = [\"var\"]");
        assert_eq!(warnings(&(var + &special)), vec![]);
    }

    #[test]
    fn adjacent_versions_are_quiet_overlapping_or_gapped_ones_warn_once() {
        let v1 = dated("v1", "valid_until = 2026-06-30", "");
        let adjacent = dated("v2", "valid_from = 2026-07-01", "");
        assert_eq!(warnings(&(v1.clone() + &adjacent)), vec![]);

        let overlapping = dated("v2", "valid_from = 2026-06-15", "");
        let found = warnings(&(v1.clone() + &overlapping));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0]
                .1
                .contains("`v1` (the beginning to 2026-06-30) and `v2` (2026-06-15 to no end)")
                && found[0].1.contains("effective dates overlap"),
            "{found:#?}"
        );

        let gapped = dated("v2", "valid_from = 2026-07-10", "");
        let found = warnings(&(v1.clone() + &gapped));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0]
                .1
                .contains("nothing closed from 2026-07-01 to 2026-07-09 counts for either"),
            "{found:#?}"
        );

        // Versions for different partner types are not versions of each other.
        let other = dated("v2", "valid_from = 2026-07-10", "partner_type = [\"var\"]");
        let mine = dated(
            "v1",
            "valid_until = 2026-06-30",
            "partner_type = [\"agency\"]",
        );
        assert_eq!(warnings(&(mine + &other)), vec![]);
    }

    #[test]
    fn versions_for_other_partners_in_between_do_not_hide_an_overlap() {
        let rules = dated(
            "ref-a",
            "valid_until = 2026-06-30",
            "partner_type = [\"referral\"]",
        ) + &dated(
            "aff-b",
            "valid_from = 2026-01-01\nvalid_until = 2026-12-31",
            "partner_type = [\"affiliate\"]",
        ) + &dated(
            "ref-c",
            "valid_from = 2026-06-01",
            "partner_type = [\"referral\"]",
        );
        let found = warnings(&rules);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].1.contains("`ref-a`") && found[0].1.contains("`ref-c`"),
            "{found:#?}"
        );
    }

    #[test]
    fn an_undated_rule_double_pays_only_a_dated_one_it_shares_days_with() {
        // An undated rule overlaps any dated one of the same kind: the double-pay lint.
        let found = warnings(&(percent("base", "") + &dated("v1", "valid_until = 2026-06-30", "")));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].1.contains("overlapping eligibility"), "{found:#?}");
    }

    #[test]
    fn the_index_finds_overlaps_through_any_key() {
        // `b` lists a product nobody else lists; it still overlaps `a` (no product key) on type.
        let rules = percent("a", "partner_type = [\"var\"]")
            + &percent("x", "partner_type = [\"agency\"]")
            + &percent(
                "b",
                "partner_type = [\"var\", \"agency\"], product = [\"p1\"]",
            );
        let found = overlaps(&rules);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found[0].starts_with("rules `a` and `b`"), "{found:#?}");
        assert!(found[1].starts_with("rules `x` and `b`"), "{found:#?}");
    }

    #[test]
    fn disjoint_on_any_key_or_amount_band_does_not_overlap() {
        let rules = percent("a", "partner_type = [\"var\"], product = [\"p1\"]")
            + &percent("b", "partner_type = [\"var\"], product = [\"p2\"]")
            + &percent("c", "max_amount = \"100\"")
            + &percent("d", "min_amount = \"100.01\"");
        let found = overlaps(&rules);
        assert_eq!(
            found,
            vec![
                "rules `a` and `c` are both percent rules on overlapping eligibility: a partner can \
                 be paid twice for the same thing",
                "rules `b` and `c` are both percent rules on overlapping eligibility: a partner can \
                 be paid twice for the same thing",
                "rules `a` and `d` are both percent rules on overlapping eligibility: a partner can \
                 be paid twice for the same thing",
                "rules `b` and `d` are both percent rules on overlapping eligibility: a partner can \
                 be paid twice for the same thing",
            ]
        );
    }

    #[test]
    fn a_rule_is_reported_against_a_bounded_number_of_earlier_rules() {
        let rules: String = (0..6).map(|i| percent(&format!("r{i}"), "")).collect();
        let rules = rules.replace("when = {  }\n", "");
        let found = overlaps(&rules);
        // r1: 1, r2: 2, r3..r5: 3 each.
        assert_eq!(found.len(), 1 + 2 + 3 * 3, "{found:#?}");
        let last: Vec<&String> = found.iter().filter(|m| m.contains("and `r5`")).collect();
        assert_eq!(last.len(), MAX_OVERLAPS_PER_RULE);
        assert!(last[2].contains("`r5` overlaps more earlier percent rules too"));
        assert!(
            !found
                .iter()
                .any(|m| m.contains("and `r3`") && m.contains("more"))
        );
    }

    #[test]
    fn spif_windows_only_overlap_when_they_share_a_day() {
        let spif = |id: &str, start: &str, end: &str| {
            format!(
                "\n[[rules]]\nid = \"{id}\"\nkind = \"spif\"\nstart = {start}\nend = {end}\namount = \"1\"\n"
            )
        };
        let rules = spif("a", "2026-10-01", "2026-10-31")
            + &spif("b", "2026-11-01", "2026-11-30")
            + &spif("c", "2026-10-31", "2026-11-01");
        let found = overlaps(&rules);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found[0].starts_with("rules `a` and `c`"));
        assert!(found[1].starts_with("rules `b` and `c`"));
    }
}
