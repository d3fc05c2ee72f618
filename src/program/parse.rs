//! TOML → [`Program`], reporting every error with line and column.
//!
//! serde would stop at the first unknown key or wrong type; finance editing a program wants the whole
//! list at once, so this walks toml's spanned tree (`DeTable`) by hand. Each getter reports its own
//! error and returns `Err(Bad)`; a builder calls every getter before it bails with `?`, so all of a
//! table's errors are reported, not only the first.

use super::*;
use crate::model::money::{is_currency_code, parse_decimal};
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Marks a value that was present but invalid; its error is already recorded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bad;

pub(crate) type Field<T> = std::result::Result<Option<T>, Bad>;

/// `payout.terms_days` (and, later, `hold_days`): 0 to ten years (SPEC §6).
const MAX_TERMS_DAYS: i64 = 3650;
/// `levels.window_months`: 1 to ten years (SPEC §6).
const MAX_WINDOW_MONTHS: i64 = 120;
type SV<'i> = Spanned<DeValue<'i>>;

pub(crate) struct Src<'s> {
    file: &'s str,
    text: &'s str,
    line_starts: Vec<usize>,
    diags: Vec<Diagnostic>,
}

impl<'s> Src<'s> {
    fn new(file: &'s str, text: &'s str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Src {
            file,
            text,
            line_starts,
            diags: Vec::new(),
        }
    }

    fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        let column = self.text[start..offset].chars().count() + 1;
        Pos { line, column }
    }

    fn line_text(&self, line: usize) -> String {
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let end = self
            .line_starts
            .get(line)
            .map(|e| e - 1)
            .unwrap_or(self.text.len());
        self.text[start..end.max(start)]
            .trim_end_matches('\r')
            .to_string()
    }

    pub(crate) fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let pos = self.pos(span.start);
        self.diags.push(Diagnostic {
            file: self.file.to_string(),
            line: pos.line,
            column: pos.column,
            severity: Severity::Error,
            message: message.into(),
            excerpt: self.line_text(pos.line),
        });
    }
}

/// A TOML table being read, with a dotted path for messages (`rules[2].tiers[0]`).
pub(crate) struct Tbl<'t, 'i> {
    pub(crate) table: &'t DeTable<'i>,
    pub(crate) span: Range<usize>,
    pub(crate) path: String,
}

impl<'t, 'i> Tbl<'t, 'i> {
    pub(crate) fn get(&self, key: &str) -> Option<&'t SV<'i>> {
        self.table.get(key)
    }

    pub(crate) fn name(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{}", self.path, key)
        }
    }

    /// Reports every key not in `allowed` (typos are errors, SPEC §3).
    pub(crate) fn check_keys(&self, src: &mut Src, allowed: &[&str]) {
        for (key, _) in self.table.iter() {
            if !allowed.contains(&key.get_ref().as_ref()) {
                src.error(
                    key.span(),
                    format!(
                        "unknown key `{}`; expected one of: {}",
                        self.name(key.get_ref()),
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    pub(crate) fn required<T>(&self, src: &mut Src, key: &str, field: Field<T>) -> Result<T, Bad> {
        match field? {
            Some(v) => Ok(v),
            None => {
                src.error(
                    self.span.clone(),
                    format!("missing required key `{}`", self.name(key)),
                );
                Err(Bad)
            }
        }
    }

    pub(crate) fn string(&self, src: &mut Src, key: &str) -> Field<String> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        match v.get_ref() {
            DeValue::String(s) => Ok(Some(s.to_string())),
            other => {
                src.error(
                    v.span(),
                    format!(
                        "`{}` must be a string, found {}",
                        self.name(key),
                        other.type_str()
                    ),
                );
                Err(Bad)
            }
        }
    }

    /// A decimal written as a string (`"0.08"`), an integer or a float literal; a float is read from
    /// its literal text, never through f64, so `rate = 0.07` stays exactly 0.07.
    pub(crate) fn decimal(&self, src: &mut Src, key: &str) -> Field<Decimal> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => decimal_value(src, v, &self.name(key)).map(Some),
        }
    }

    pub(crate) fn non_negative(&self, src: &mut Src, key: &str) -> Field<Decimal> {
        let v = self.decimal(src, key)?;
        if let Some(d) = v
            && d.is_sign_negative()
            && !d.is_zero()
        {
            src.error(
                self.get(key).expect("present").span(),
                format!("`{}` must be zero or more, found {d}", self.name(key)),
            );
            return Err(Bad);
        }
        Ok(v)
    }

    /// A rate or multiplier: zero or more, and at most 1000 (100,000%). No real program comes near;
    /// the bound keeps rate × amount × multipliers far inside Decimal's range.
    pub(crate) fn rate(&self, src: &mut Src, key: &str) -> Field<Decimal> {
        let v = self.non_negative(src, key)?;
        if let Some(d) = v
            && d > Decimal::ONE_THOUSAND
        {
            src.error(
                self.get(key).expect("present").span(),
                format!("`{}` must be at most 1000, found {d}", self.name(key)),
            );
            return Err(Bad);
        }
        Ok(v)
    }

    /// A whole number in `min..=max`, converted to `T` (never by a truncating cast: a value `T` cannot
    /// hold is reported like any other out-of-range value).
    pub(crate) fn integer<T: TryFrom<i64>>(
        &self,
        src: &mut Src,
        key: &str,
        min: i64,
        max: i64,
    ) -> Field<T> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let parsed = match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
            _ => None,
        };
        match parsed
            .filter(|n| (min..=max).contains(n))
            .and_then(|n| T::try_from(n).ok())
        {
            Some(n) => Ok(Some(n)),
            None => {
                let expected = if max == i64::MAX {
                    format!("at least {min}")
                } else {
                    format!("from {min} to {max}")
                };
                src.error(
                    v.span(),
                    format!(
                        "`{}` must be a whole number {expected}, found {}",
                        self.name(key),
                        describe(v.get_ref())
                    ),
                );
                Err(Bad)
            }
        }
    }

    pub(crate) fn boolean(&self, src: &mut Src, key: &str) -> Field<bool> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        match v.get_ref() {
            DeValue::Boolean(b) => Ok(Some(*b)),
            other => {
                src.error(
                    v.span(),
                    format!(
                        "`{}` must be true or false, found {}",
                        self.name(key),
                        describe(other)
                    ),
                );
                Err(Bad)
            }
        }
    }

    /// A date as a TOML local date (`2026-10-01`) or a string `"2026-10-01"`.
    pub(crate) fn date(&self, src: &mut Src, key: &str) -> Field<NaiveDate> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let parsed = match v.get_ref() {
            DeValue::Datetime(dt) if dt.time.is_none() && dt.offset.is_none() => dt
                .date
                .and_then(|d| NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into())),
            DeValue::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
            _ => None,
        };
        match parsed {
            Some(d) => Ok(Some(d)),
            None => {
                src.error(
                    v.span(),
                    format!(
                        "`{}` must be a date like 2026-10-01, found {}",
                        self.name(key),
                        describe(v.get_ref())
                    ),
                );
                Err(Bad)
            }
        }
    }

    /// A list of strings; a single string is accepted as a list of one.
    pub(crate) fn string_list(&self, src: &mut Src, key: &str) -> Field<Vec<String>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        match v.get_ref() {
            DeValue::String(s) => Ok(Some(vec![s.to_string()])),
            DeValue::Array(items) => {
                let mut out = Vec::new();
                let mut bad = false;
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::String(s) => out.push(s.to_string()),
                        other => {
                            src.error(
                                item.span(),
                                format!(
                                    "`{}` must list strings, found {}",
                                    self.name(key),
                                    describe(other)
                                ),
                            );
                            bad = true;
                        }
                    }
                }
                if bad { Err(Bad) } else { Ok(Some(out)) }
            }
            other => {
                src.error(
                    v.span(),
                    format!(
                        "`{}` must be a list of strings, found {}",
                        self.name(key),
                        describe(other)
                    ),
                );
                Err(Bad)
            }
        }
    }

    pub(crate) fn table(&self, src: &mut Src, key: &str) -> Field<Tbl<'t, 'i>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        match v.get_ref() {
            DeValue::Table(t) => Ok(Some(Tbl {
                table: t,
                span: v.span(),
                path: self.name(key),
            })),
            other => {
                src.error(
                    v.span(),
                    format!(
                        "`{}` must be a table, found {}",
                        self.name(key),
                        describe(other)
                    ),
                );
                Err(Bad)
            }
        }
    }

    /// An array of tables (`tiers = [{...}]` or `[[rules]]`).
    pub(crate) fn tables(&self, src: &mut Src, key: &str) -> Field<Vec<Tbl<'t, 'i>>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let DeValue::Array(items) = v.get_ref() else {
            src.error(
                v.span(),
                format!(
                    "`{}` must be a list of tables, found {}",
                    self.name(key),
                    describe(v.get_ref())
                ),
            );
            return Err(Bad);
        };
        let mut out = Vec::new();
        let mut bad = false;
        for (i, item) in items.iter().enumerate() {
            match item.get_ref() {
                DeValue::Table(t) => out.push(Tbl {
                    table: t,
                    span: item.span(),
                    path: format!("{}[{}]", self.name(key), i),
                }),
                other => {
                    src.error(
                        item.span(),
                        format!(
                            "`{}[{i}]` must be a table, found {}",
                            self.name(key),
                            describe(other)
                        ),
                    );
                    bad = true;
                }
            }
        }
        if bad { Err(Bad) } else { Ok(Some(out)) }
    }
}

fn describe(v: &DeValue) -> String {
    match v {
        DeValue::String(s) => format!("\"{s}\""),
        DeValue::Integer(i) => i.as_str().to_string(),
        DeValue::Float(f) => f.as_str().to_string(),
        DeValue::Boolean(b) => b.to_string(),
        other => other.type_str().to_string(),
    }
}

pub(crate) fn decimal_value(src: &mut Src, v: &SV, name: &str) -> Result<Decimal, Bad> {
    let parsed = match v.get_ref() {
        DeValue::String(s) => parse_decimal(s),
        DeValue::Integer(i) if i.radix() == 10 => parse_decimal(i.as_str()),
        DeValue::Float(f) => parse_decimal(f.as_str()),
        _ => None,
    };
    parsed.ok_or_else(|| {
        src.error(
            v.span(),
            format!(
                "`{name}` must be a decimal like \"1250.00\" or \"0.08\" (below 10^20), found {}",
                describe(v.get_ref())
            ),
        );
        Bad
    })
}

/// What a value in a table by level may be: goal targets must be above zero (a target of 0 is reached
/// by every partner, even one with no deals), allocations zero or more (a negative one is a fund debt).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum LevelValues {
    Positive,
    NonNegative,
}

/// A table from level id to decimal (`{ bronze = 3, gold = "10" }`); every bad value is reported.
pub(crate) fn level_table(
    src: &mut Src,
    t: &Tbl,
    values: LevelValues,
) -> Result<BTreeMap<String, Decimal>, Bad> {
    let mut out = BTreeMap::new();
    let mut bad = false;
    for (key, value) in t.table.iter() {
        let name = t.name(key.get_ref());
        match decimal_value(src, value, &name) {
            Ok(d) if values == LevelValues::Positive && d <= Decimal::ZERO => {
                src.error(value.span(), format!("`{name}` must be above 0, found {d}"));
                bad = true;
            }
            Ok(d) if d < Decimal::ZERO => {
                src.error(
                    value.span(),
                    format!("`{name}` must be zero or more, found {d}"),
                );
                bad = true;
            }
            Ok(d) => {
                out.insert(key.get_ref().to_string(), d);
            }
            Err(Bad) => bad = true,
        }
    }
    if bad { Err(Bad) } else { Ok(out) }
}

fn is_rule_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Parses a program, returning it when it has no errors, and every diagnostic found either way.
pub fn parse(file: &str, text: &str) -> (Option<Program>, Vec<Diagnostic>) {
    let mut src = Src::new(file, text);
    let (root, syntax_errors) = DeTable::parse_recoverable(text);
    for e in &syntax_errors {
        let span = e.span().unwrap_or(0..0);
        let msg = e.message().trim().to_string();
        src.error(span, format!("invalid TOML: {msg}"));
    }
    if !syntax_errors.is_empty() {
        return (None, src.diags);
    }
    let root = Tbl {
        table: root.get_ref(),
        span: root.span(),
        path: String::new(),
    };
    let program = build_program(&mut src, &root).ok();
    let has_errors = src.diags.iter().any(|d| d.severity == Severity::Error);
    (if has_errors { None } else { program }, src.diags)
}

fn build_program(src: &mut Src, root: &Tbl) -> Result<Program, Bad> {
    root.check_keys(
        src,
        &["program", "payout", "budget", "levels", "nudges", "rules"],
    );

    let header = match root.table(src, "program") {
        Ok(Some(t)) => Some(t),
        Ok(None) => {
            src.error(0..0, "missing required table [program]");
            None
        }
        Err(Bad) => None,
    };
    let header = header.map(|t| program_header(src, &t));
    let payout = root.table(src, "payout").and_then(|t| match t {
        Some(t) => payout_policy(src, &t),
        None => Ok(PayoutPolicy {
            minimum: Decimal::ZERO,
            terms_days: 30,
            require_kyc: true,
        }),
    });
    let levels = root.table(src, "levels").and_then(|t| match t {
        Some(t) => levels(src, &t).map(Some),
        None => Ok(None),
    });
    let nudges = root.table(src, "nudges").and_then(|t| match t {
        Some(t) => nudges(src, &t).map(Some),
        None => Ok(None),
    });

    let rule_tables = root.tables(src, "rules");
    let mut rules = Vec::new();
    let mut rules_bad = false;
    if let Ok(Some(tables)) = &rule_tables {
        let mut seen: BTreeMap<String, Pos> = BTreeMap::new();
        for t in tables {
            // Duplicates are checked on the raw id, so they are found even when a rule has other errors.
            if let Some(v) = t.get("id")
                && let DeValue::String(id) = v.get_ref()
            {
                if let Some(first) = seen.get(id.as_ref()) {
                    src.error(
                        v.span(),
                        format!(
                            "duplicate rule id `{id}` (first defined at line {})",
                            first.line
                        ),
                    );
                    rules_bad = true;
                } else {
                    seen.insert(id.to_string(), src.pos(v.span().start));
                }
            }
            match rule(src, t) {
                Ok(r) => rules.push(r),
                Err(Bad) => rules_bad = true,
            }
        }
    }
    let budget = root.table(src, "budget").and_then(|t| match t {
        Some(t) => budget(src, &t, &rules, rules_bad).map(Some),
        None => Ok(None),
    });

    let (id, name, currency, rounding, clawback_days) = header.ok_or(Bad)??;
    let payout = payout?;
    let levels = levels?;
    let nudges = nudges?;
    let budget = budget?;
    rule_tables?;
    if rules_bad {
        return Err(Bad);
    }
    Ok(Program {
        file: src.file.to_string(),
        id,
        name,
        minor_units: crate::model::money::minor_units(&currency),
        currency,
        rounding,
        clawback_days,
        payout,
        budget,
        levels,
        nudges,
        rules,
    })
}

type Header = (String, String, String, Rounding, i64);

fn program_header(src: &mut Src, t: &Tbl) -> Result<Header, Bad> {
    t.check_keys(
        src,
        &["id", "name", "currency", "rounding", "clawback_days"],
    );
    let id = t.string(src, "id");
    let name = t.string(src, "name");
    let currency = t.string(src, "currency");
    let rounding = t.string(src, "rounding");
    let clawback_days = t.integer::<i64>(src, "clawback_days", 0, i64::MAX);
    let id = t.required(src, "id", id)?;
    let name = t.required(src, "name", name)?;
    let currency = t.required(src, "currency", currency)?;
    if !is_currency_code(&currency) {
        src.error(
            t.get("currency").expect("present").span(),
            format!(
                "`program.currency` must be an ISO 4217 code like \"USD\", found \"{currency}\""
            ),
        );
        return Err(Bad);
    }
    let rounding = match rounding? {
        None => Rounding::HalfUp,
        Some(r) => Rounding::parse(&r).ok_or_else(|| {
            src.error(
                t.get("rounding").expect("present").span(),
                format!("`program.rounding` must be \"half-up\" or \"half-even\", found \"{r}\""),
            );
            Bad
        })?,
    };
    Ok((id, name, currency, rounding, clawback_days?.unwrap_or(90)))
}

fn payout_policy(src: &mut Src, t: &Tbl) -> Result<PayoutPolicy, Bad> {
    t.check_keys(src, &["minimum", "terms_days", "require_kyc"]);
    let minimum = t.non_negative(src, "minimum");
    let terms_days = t.integer::<i64>(src, "terms_days", 0, MAX_TERMS_DAYS);
    let require_kyc = t.boolean(src, "require_kyc");
    Ok(PayoutPolicy {
        minimum: minimum?.unwrap_or(Decimal::ZERO),
        terms_days: terms_days?.unwrap_or(30),
        require_kyc: require_kyc?.unwrap_or(true),
    })
}

fn budget(src: &mut Src, t: &Tbl, rules: &[Rule], rules_bad: bool) -> Result<Budget, Bad> {
    t.check_keys(src, &["total", "rules"]);
    let total = t.non_negative(src, "total");
    let names = t.string_list(src, "rules");
    let total = t.required(src, "total", total)?;
    let rules_list = match names? {
        Some(list) => {
            let span = t.get("rules").expect("present").span();
            let by_id: HashMap<&str, &Rule> = rules.iter().map(|r| (r.id.as_str(), r)).collect();
            let mut bad = false;
            for name in &list {
                match by_id.get(name.as_str()) {
                    // An unknown id may be a rule that failed to parse; only report it when all parsed.
                    None if !rules_bad => {
                        src.error(
                            span.clone(),
                            format!("`budget.rules` names unknown rule `{name}`"),
                        );
                        bad = true;
                    }
                    Some(r) if r.is_fund() => {
                        src.error(
                            span.clone(),
                            format!(
                                "`budget.rules` names fund rule `{name}`; fund claims are paid from \
                                 their own balance and cannot be budgeted"
                            ),
                        );
                        bad = true;
                    }
                    _ => {}
                }
            }
            if bad {
                return Err(Bad);
            }
            list
        }
        None => rules
            .iter()
            .filter(|r| !r.is_fund())
            .map(|r| r.id.clone())
            .collect(),
    };
    Ok(Budget {
        total,
        rules: rules_list,
    })
}

fn levels(src: &mut Src, t: &Tbl) -> Result<Levels, Bad> {
    t.check_keys(src, &["measure", "window_months", "tiers"]);
    let measure = choice(src, t, "measure", Measure::CHOICES);
    let window = t.integer::<u32>(src, "window_months", 1, MAX_WINDOW_MONTHS);
    let tier_tables = t.tables(src, "tiers");
    let measure = t.required(src, "measure", measure)?;
    let window_months = t.required(src, "window_months", window)?;
    let tier_tables = t.required(src, "tiers", tier_tables)?;
    let mut tiers = Vec::new();
    let mut bad = false;
    let mut ids = HashSet::new();
    for tt in &tier_tables {
        tt.check_keys(src, &["id", "from"]);
        let id = tt.string(src, "id");
        let from = tt.non_negative(src, "from");
        match (tt.required(src, "id", id), tt.required(src, "from", from)) {
            (Ok(id), Ok(from)) => {
                if !ids.insert(id.clone()) {
                    src.error(tt.span.clone(), format!("duplicate level id `{id}`"));
                    bad = true;
                }
                tiers.push(LevelTier { id, from });
            }
            _ => bad = true,
        }
    }
    if bad {
        return Err(Bad);
    }
    check_ascending(
        src,
        t,
        tier_tables.iter().map(|t| t.span.clone()).collect(),
        &tiers.iter().map(|t| t.from).collect::<Vec<_>>(),
    )?;
    Ok(Levels {
        measure,
        window_months,
        tiers,
    })
}

fn nudges(src: &mut Src, t: &Tbl) -> Result<Nudges, Bad> {
    t.check_keys(src, &["within"]);
    let within = t.non_negative(src, "within");
    let within = t.required(src, "within", within)?;
    if within > Decimal::ONE {
        src.error(
            t.get("within").expect("present").span(),
            format!("`nudges.within` is a fraction of the next threshold between 0 and 1, found {within}"),
        );
        return Err(Bad);
    }
    Ok(Nudges { within })
}

/// Tier thresholds start at 0 and strictly ascend (SPEC §4.3).
pub(crate) fn check_ascending(
    src: &mut Src,
    t: &Tbl,
    spans: Vec<Range<usize>>,
    froms: &[Decimal],
) -> Result<(), Bad> {
    if froms.is_empty() {
        src.error(
            t.span.clone(),
            format!("`{}` needs at least one tier", t.name("tiers")),
        );
        return Err(Bad);
    }
    if !froms[0].is_zero() {
        src.error(
            spans[0].clone(),
            format!(
                "the first tier of `{}` must start at from = 0, found {}",
                t.name("tiers"),
                froms[0]
            ),
        );
        return Err(Bad);
    }
    for i in 1..froms.len() {
        if froms[i] <= froms[i - 1] {
            src.error(
                spans[i].clone(),
                format!(
                    "tiers of `{}` must ascend: tier {} starts at {} after {}",
                    t.name("tiers"),
                    i + 1,
                    froms[i],
                    froms[i - 1]
                ),
            );
            return Err(Bad);
        }
    }
    Ok(())
}

/// One of a fixed set of words, mapped to its value: an unknown word is an error naming the choices.
pub(crate) fn choice<T: Copy>(
    src: &mut Src,
    t: &Tbl,
    key: &str,
    options: &[(&str, T)],
) -> Field<T> {
    let Some(word) = t.string(src, key)? else {
        return Ok(None);
    };
    if let Some((_, value)) = options.iter().find(|(name, _)| *name == word) {
        return Ok(Some(*value));
    }
    let names: Vec<&str> = options.iter().map(|(name, _)| *name).collect();
    if let Some(v) = t.get(key) {
        src.error(
            v.span(),
            format!(
                "`{}` must be one of {}, found \"{word}\"",
                t.name(key),
                names.join(", ")
            ),
        );
    }
    Err(Bad)
}

/// The list keys of `when`; each must list at least one value.
const WHEN_LISTS: &[&str] = &[
    "partner_type",
    "level",
    "region",
    "product",
    "customer_type",
    "source",
];

/// The `when` keys about the deal, an error on rules that do not measure deals (SPEC §3).
const DEAL_KEYS: &[&str] = &[
    "product",
    "customer_type",
    "source",
    "min_amount",
    "max_amount",
];

fn when(src: &mut Src, t: &Tbl, allow_deal_keys: bool, rule_kind: &str) -> Result<When, Bad> {
    t.check_keys(
        src,
        &[
            "partner_type",
            "level",
            "region",
            "product",
            "customer_type",
            "source",
            "min_amount",
            "max_amount",
        ],
    );
    // Every key is read before any error bails, so all of them are reported.
    let mut bad = false;
    let mut lists: Vec<Option<Vec<String>>> = Vec::with_capacity(WHEN_LISTS.len());
    for key in WHEN_LISTS {
        if !allow_deal_keys && DEAL_KEYS.contains(key) {
            // Reported once below as a deal key, whatever its value.
            lists.push(None);
            continue;
        }
        let list = match t.string_list(src, key) {
            Ok(Some(l)) if l.is_empty() => {
                src.error(
                    t.get(key).expect("present").span(),
                    format!(
                        "`{}` is an empty list, which no partner or deal matches; list at least one \
                         value, or remove the key to match every one",
                        t.name(key)
                    ),
                );
                bad = true;
                None
            }
            Ok(l) => l,
            Err(Bad) => {
                bad = true;
                None
            }
        };
        lists.push(list);
    }
    let (min_amount, max_amount) = if allow_deal_keys {
        (
            t.non_negative(src, "min_amount"),
            t.non_negative(src, "max_amount"),
        )
    } else {
        (Ok(None), Ok(None))
    };
    let (min_amount, max_amount) = match (min_amount, max_amount) {
        (Ok(lo), Ok(hi)) => (lo, hi),
        _ => {
            bad = true;
            (None, None)
        }
    };
    if let (Some(lo), Some(hi)) = (min_amount, max_amount)
        && lo > hi
    {
        src.error(
            t.get("min_amount").expect("present").span(),
            format!(
                "`{}` ({lo}) is above `max_amount` ({hi}): no deal can match",
                t.name("min_amount")
            ),
        );
        bad = true;
    }
    let mut lists = lists.into_iter();
    let mut next = || lists.next().flatten();
    let w = When {
        partner_type: next(),
        level: next(),
        region: next(),
        product: next(),
        customer_type: next(),
        source: next(),
        min_amount,
        max_amount,
    };
    if let Some(sources) = &w.source
        && let Some(s) = sources
            .iter()
            .find(|s| *s != "sourced" && *s != "influenced")
    {
        src.error(
            t.get("source").expect("present").span(),
            format!(
                "`{}` items must be \"sourced\" or \"influenced\", found \"{s}\"",
                t.name("source")
            ),
        );
        bad = true;
    }
    if !allow_deal_keys {
        for key in DEAL_KEYS {
            if let Some(v) = t.get(key) {
                src.error(
                    v.span(),
                    format!(
                        "`{}` is a deal key and cannot be used on `{rule_kind}` rules",
                        t.name(key)
                    ),
                );
                bad = true;
            }
        }
    }
    if bad { Err(Bad) } else { Ok(w) }
}

/// Keys every rule may have; each kind adds its own (`Kind::keys`).
const COMMON_KEYS: &[&str] = &["id", "kind", "when", "cap"];

fn rule(src: &mut Src, t: &Tbl) -> Result<Rule, Bad> {
    let id = t.string(src, "id");
    let kind = t.string(src, "kind");
    let id = t.required(src, "id", id);
    let kind = t.required(src, "kind", kind);
    if let Ok(id) = &id
        && !is_rule_id(id)
    {
        src.error(
            t.get("id").expect("present").span(),
            format!("rule id \"{id}\" must use only a-z, 0-9 and -"),
        );
    }
    let kind = kind.and_then(|name| match Kind::from_name(&name) {
        Some(kind) => Ok(kind),
        None => {
            if let Some(v) = t.get("kind") {
                let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
                src.error(
                    v.span(),
                    format!(
                        "unknown rule kind \"{name}\"; expected one of: {}",
                        names.join(", ")
                    ),
                );
            }
            Err(Bad)
        }
    })?;
    let mut allowed: Vec<&str> = COMMON_KEYS.to_vec();
    allowed.extend_from_slice(kind.keys());
    t.check_keys(src, &allowed);

    let when = match t.table(src, "when") {
        Ok(Some(w)) => when(src, &w, kind.has_deals(), kind.name()),
        Ok(None) => Ok(When::default()),
        Err(Bad) => Err(Bad),
    };
    let cap = t.non_negative(src, "cap");
    let modifiers = if kind.is_deal_based() {
        modifiers(src, t)
    } else {
        Ok(Vec::new())
    };
    let body = RuleKind::parse(kind, src, t);

    let id = id?;
    if !is_rule_id(&id) {
        return Err(Bad);
    }
    let mut key_pos = BTreeMap::new();
    for (key, _) in t.table.iter() {
        key_pos.insert(key.get_ref().to_string(), src.pos(key.span().start));
    }
    Ok(Rule {
        id,
        when: when?,
        cap: cap?,
        modifiers: modifiers?,
        kind: body?,
        pos: src.pos(t.span.start),
        key_pos,
    })
}

fn modifiers(src: &mut Src, t: &Tbl) -> Result<Vec<Modifier>, Bad> {
    let Some(tables) = t.tables(src, "modifiers")? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut bad = false;
    for m in &tables {
        m.check_keys(src, &["when", "multiplier"]);
        let w = match m.table(src, "when") {
            Ok(Some(w)) => when(src, &w, true, "modifier"),
            Ok(None) => Ok(When::default()),
            Err(Bad) => Err(Bad),
        };
        let multiplier = m.rate(src, "multiplier");
        match (w, m.required(src, "multiplier", multiplier)) {
            (Ok(when), Ok(multiplier)) => out.push(Modifier { when, multiplier }),
            _ => bad = true,
        }
    }
    if bad { Err(Bad) } else { Ok(out) }
}

/// `amount` xor `rate`, for kinds that pay either.
pub(crate) fn pay(src: &mut Src, t: &Tbl) -> Result<Pay, Bad> {
    let amount = t.non_negative(src, "amount");
    let rate = t.rate(src, "rate");
    match (amount?, rate?) {
        (Some(a), None) => Ok(Pay::Amount(a)),
        (None, Some(r)) => Ok(Pay::Rate(r)),
        (Some(_), Some(_)) => {
            src.error(
                t.get("rate").expect("present").span(),
                format!("`{}` has both `amount` and `rate`; give one", t.path),
            );
            Err(Bad)
        }
        (None, None) => {
            src.error(
                t.span.clone(),
                format!("`{}` needs `amount` or `rate`", t.path),
            );
            Err(Bad)
        }
    }
}

pub(crate) fn tiers(src: &mut Src, t: &Tbl, amount_allowed: bool) -> Result<Vec<Tier>, Bad> {
    let tables = t.tables(src, "tiers");
    let tables = t.required(src, "tiers", tables)?;
    let mut out = Vec::new();
    let mut bad = false;
    for tt in &tables {
        let keys: &[&str] = if amount_allowed {
            &["from", "rate", "amount"]
        } else {
            &["from", "rate"]
        };
        tt.check_keys(src, keys);
        let from = tt.non_negative(src, "from");
        let from = tt.required(src, "from", from);
        let p = if amount_allowed {
            pay(src, tt)
        } else {
            let rate = tt.rate(src, "rate");
            tt.required(src, "rate", rate).map(Pay::Rate)
        };
        match (from, p) {
            (Ok(from), Ok(pay)) => out.push(Tier { from, pay }),
            _ => bad = true,
        }
    }
    if bad {
        return Err(Bad);
    }
    let spans = tables.iter().map(|t| t.span.clone()).collect();
    check_ascending(
        src,
        t,
        spans,
        &out.iter().map(|t| t.from).collect::<Vec<_>>(),
    )?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[program]
id = "p"
name = "P"
currency = "USD"

[[rules]]
id = "ref"
kind = "flat"
amount = "50.00"
"#;

    #[test]
    fn minimal_program_parses_with_defaults() {
        let (p, diags) = parse("p.toml", MINIMAL);
        assert!(diags.is_empty(), "{diags:?}");
        let p = p.unwrap();
        assert_eq!(p.clawback_days, 90);
        assert_eq!(p.payout.terms_days, 30);
        assert!(p.payout.require_kyc);
        assert_eq!(
            p.rules[0].kind,
            RuleKind::Flat(crate::engine::rules::flat::Config {
                amount: Decimal::new(5000, 2)
            })
        );
    }

    #[test]
    fn reports_every_error_with_line_and_column() {
        let text = r#"[program]
id = "p"
name = "P"
currency = "usd"

[[rules]]
id = "a"
kind = "percent"
rate = "eight"
colour = "red"

[[rules]]
id = "a"
kind = "flat"
amount = "5"
"#;
        let (p, diags) = parse("p.toml", text);
        assert!(p.is_none());
        let found: Vec<(usize, usize)> = diags.iter().map(|d| (d.line, d.column)).collect();
        assert!(found.contains(&(4, 12)), "{diags:#?}");
        assert!(found.contains(&(9, 8)), "{diags:#?}");
        assert!(found.contains(&(10, 1)), "{diags:#?}");
        assert!(found.contains(&(13, 6)), "{diags:#?}");
        assert_eq!(diags.len(), 4, "{diags:#?}");
    }

    #[test]
    fn float_literals_are_read_exactly() {
        let text = MINIMAL.replace("amount = \"50.00\"", "amount = 0.1");
        let (p, _) = parse("p.toml", &text);
        assert_eq!(
            p.unwrap().rules[0].kind,
            RuleKind::Flat(crate::engine::rules::flat::Config {
                amount: Decimal::new(1, 1)
            })
        );
    }
}
