//! A CSV header: which field is each of payline's columns. An exact name first, then an import map's
//! name for it, then the one header matching it ignoring case, spaces and punctuation (named in a
//! warning). Matching is linear in the header's length (hash maps, never a scan per name), and a header
//! longer than [`MAX_COLUMNS`] is refused before anything else is done with it.

use crate::error::{Error, Result};
use std::collections::HashMap;

/// The most columns a header may have. CRM exports of every property stay well below a thousand; a
/// header of tens of thousands of cells is the wrong file (or the wrong delimiter), refused at once.
pub const MAX_COLUMNS: usize = 10_000;

/// How a header name is matched: lower case, and every run of spaces or punctuation one `_`, so an
/// export's `Deal ID`, `Close-Date` or ` Partner Id ` finds `deal_id`, `close_date`, `partner_id`.
pub fn header_key(name: &str) -> String {
    let mut key = String::with_capacity(name.len());
    for c in name.trim_start_matches('\u{feff}').trim().chars() {
        if c.is_alphanumeric() {
            key.extend(c.to_lowercase());
        } else if !key.is_empty() && !key.ends_with('_') {
            key.push('_');
        }
    }
    while key.ends_with('_') {
        key.pop();
    }
    key
}

/// A header cell as a user reads it: without a byte-order mark and surrounding spaces.
pub fn clean_header(name: &str) -> &str {
    name.trim_start_matches('\u{feff}').trim()
}

/// A file's header: each name as written (and import-map names of payline's columns), the same
/// as [`header_key`] makes it, and the header's field count (a mapped name adds a name, not a field).
#[derive(Debug, Clone, Default)]
pub struct Columns {
    exact: HashMap<String, usize>,
    loose: HashMap<String, Vec<usize>>,
    fields: usize,
}

impl Columns {
    /// The number of fields in the header.
    pub fn len(&self) -> usize {
        self.fields
    }

    pub fn is_empty(&self) -> bool {
        self.fields == 0
    }

    fn loose_matches(&self, name: &str) -> &[usize] {
        self.loose.get(&header_key(name)).map_or(&[], Vec::as_slice)
    }

    fn exact(&self, name: &str) -> Option<usize> {
        self.exact.get(name).copied()
    }

    /// The field of column `name`: the header written exactly so (or mapped to it), else the one
    /// header that matches it ignoring case, spaces and punctuation.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.exact(name).or_else(|| match self.loose_matches(name) {
            [i] => Some(*i),
            _ => None,
        })
    }
}

/// How a loader names a column: by name (looked up in the header for each cell, fine for small
/// files), or as a [`Col`] resolved once per file for the deal stream's hot path.
pub trait ColumnRef: Copy {
    fn index(self, columns: &Columns) -> Option<usize>;
    fn name(&self) -> &str;
}

impl ColumnRef for &str {
    fn index(self, columns: &Columns) -> Option<usize> {
        columns.index(self)
    }
    fn name(&self) -> &str {
        self
    }
}

/// A column resolved against a file's header ([`super::CsvFile::column`]).
#[derive(Debug, Clone, Copy)]
pub struct Col {
    pub(crate) name: &'static str,
    pub(crate) index: Option<usize>,
}

impl ColumnRef for Col {
    fn index(self, _: &Columns) -> Option<usize> {
        self.index
    }
    fn name(&self) -> &str {
        self.name
    }
}

/// What a header is checked against.
#[derive(Debug, Clone, Copy)]
pub struct HeaderSpec<'a> {
    pub file: &'a str,
    /// Which input the file is (`deals` …); empty for payline's own files (the ledger).
    pub input: &'a str,
    pub required: &'a [&'a str],
    /// (payline's column, the export's header) from an import map.
    pub map: &'a [(String, String)],
    /// Where the map came from, for messages (`--import deals=map.toml`).
    pub map_label: &'a str,
    pub delimiter: u8,
}

/// A checked header.
#[derive(Debug, Clone)]
pub struct Header {
    pub columns: Columns,
    /// The header cells as written (without a BOM and surrounding spaces).
    pub names: Vec<String>,
    /// (header, payline's column) for every column found only by a loose match: named in a warning.
    pub loose: Vec<(String, String)>,
}

impl Header {
    /// The header cell that is payline's `column`, if any.
    pub fn source_of(&self, column: &str) -> Option<&str> {
        self.columns.index(column).map(|i| self.names[i].as_str())
    }
}

fn header_error(spec: &HeaderSpec, column: &str, value: String, message: String) -> Error {
    Error::Input {
        file: spec.file.to_string(),
        line: 1,
        column: column.to_string(),
        value,
        message,
    }
}

/// Checks a header: at most [`MAX_COLUMNS`] cells, no name twice, every name the map gives present,
/// no column matched loosely by two headers, every required column present (all missing ones named).
pub fn resolve(cells: &csv::StringRecord, spec: &HeaderSpec) -> Result<Header> {
    if cells.len() > MAX_COLUMNS {
        return Err(header_error(
            spec,
            "",
            format!("{} cells", cells.len()),
            format!(
                "the header has {} columns; payline reads at most {MAX_COLUMNS}: is this the right file, with the right delimiter?",
                cells.len()
            ),
        ));
    }
    let names: Vec<String> = cells.iter().map(|c| clean_header(c).to_string()).collect();
    let joined = || names.join(",");
    let mut columns = Columns {
        exact: HashMap::with_capacity(names.len()),
        loose: HashMap::with_capacity(names.len()),
        fields: names.len(),
    };
    for (i, name) in names.iter().enumerate() {
        if columns.exact.insert(name.clone(), i).is_some() {
            return Err(header_error(
                spec,
                name,
                name.clone(),
                "column appears twice in the header".into(),
            ));
        }
        // `Deal ID` or ` Deal-Id ` also find `deal_id`, when no header is exactly that.
        columns.loose.entry(header_key(name)).or_default().push(i);
    }
    // The import map's names for payline's columns come before the file's own.
    let mut mapped = Vec::with_capacity(spec.map.len());
    for (column, header) in spec.map {
        let Some(index) = columns.index(header) else {
            return Err(header_error(
                spec,
                column,
                joined(),
                format!(
                    "{} maps `{column}` to the header `{header}`, which this file does not have",
                    spec.map_label
                ),
            ));
        };
        mapped.push((column.clone(), index));
    }
    for (column, index) in mapped {
        columns.exact.insert(column, index);
    }
    let loose = loose_columns(&columns, &names, spec)?;
    missing_columns(&columns, &names, spec)?;
    Ok(Header {
        columns,
        names,
        loose,
    })
}

/// The input's columns found only by a loose match, as (header, column); a column that loosely
/// matches two headers (and none exactly) is refused.
fn loose_columns(
    columns: &Columns,
    names: &[String],
    spec: &HeaderSpec,
) -> Result<Vec<(String, String)>> {
    let known = super::csvfile::INPUT_COLUMNS
        .iter()
        .find(|(input, _)| *input == spec.input)
        .map_or(spec.required, |(_, known)| *known);
    let mut loose = Vec::new();
    for column in known {
        if columns.exact(column).is_some() {
            continue;
        }
        match columns.loose_matches(column) {
            [] => {}
            [i] => loose.push((names[*i].clone(), (*column).to_string())),
            several => {
                let quoted: Vec<String> =
                    several.iter().map(|i| format!("`{}`", names[*i])).collect();
                return Err(header_error(
                    spec,
                    column,
                    names.join(","),
                    format!(
                        "the headers {} could each be `{column}`: rename all but one, or name one in an import map",
                        quoted.join(" and ")
                    ),
                ));
            }
        }
    }
    Ok(loose)
}

/// Every missing required column at once, with a hint when the header is one cell holding another
/// separator (a European Excel export separates cells with `;`, a "text" export with tabs).
fn missing_columns(columns: &Columns, names: &[String], spec: &HeaderSpec) -> Result<()> {
    let missing: Vec<&str> = spec
        .required
        .iter()
        .copied()
        .filter(|col| columns.index(col).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut message = if missing.len() == 1 {
        "required column is missing from the header".to_string()
    } else {
        format!(
            "{} required columns are missing from the header",
            missing.len()
        )
    };
    let separators = [b',', b';', b'\t', b'|'];
    if let [only] = names
        && let Some(separator) = separators
            .into_iter()
            .filter(|c| *c != spec.delimiter)
            .find(|c| only.as_bytes().contains(c))
    {
        let (shown, option) = match separator {
            b'\t' => ("tabs".to_string(), "tab".to_string()),
            c => (
                format!("`{}`", char::from(c)),
                format!("'{}'", char::from(c)),
            ),
        };
        let option = if spec.input.is_empty() {
            option
        } else {
            format!("{}={option}", spec.input)
        };
        message.push_str(&format!(
            "; the header is a single cell split by {shown}: the file looks {shown}-separated; pass --delimiter {option} (or `delimiter` in its import map)"
        ));
    }
    Err(header_error(
        spec,
        &missing.join(", "),
        names.join(","),
        message,
    ))
}

/// Whether an export's header names a deal stage or status (`Stage`, `Deal Stage`, `dealstage`,
/// `Opportunity Status`, `Is Closed Won`, `Forecast Category`): a column that decides whether a row
/// is a won deal at all. See docs/REFERENCE.md "Never a silent wrong row".
pub fn looks_like_a_stage(name: &str) -> bool {
    // English, and the words German, French, Spanish, Italian, Portuguese and Dutch exports use
    // (`Phase`, `Verkaufsphase`, `Étape`, `Etapa`, `Fase`, `Statut`; not `Estado` or `Stato`, which name an address's state too).
    const WORDS: &[&str] = &[
        "stages",
        "statuses",
        "outcome",
        "won",
        "lost",
        "etape",
        "étape",
        "etapa",
        "fase",
        "statut",
        "stadium",
        "stufe",
        "situação",
        "situacao",
    ];
    const ENDINGS: &[&str] = &["stage", "status", "phase", "stagename"];
    let key = words_key(name);
    key.split('_')
        .any(|w| WORDS.contains(&w) || ENDINGS.iter().any(|e| w.ends_with(e)))
        || [
            "forecast_category",
            "forecastcategory",
            "is_closed",
            "isclosed",
        ]
        .iter()
        .any(|k| key.contains(k))
}

/// [`header_key`] with camelCase split into words (`IsWon` → `is_won`, `StageName` → `stage_name`).
fn words_key(name: &str) -> String {
    let mut split = String::with_capacity(name.len() + 4);
    let mut previous_lower = false;
    for c in name.chars() {
        if c.is_uppercase() && previous_lower {
            split.push('_');
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        split.push(c);
    }
    header_key(&split)
}

/// The payline column an unread export column may decide the money of, by its name: a row's
/// `currency` (`Deal Currency`, `Amount Currency`, `CurrencyIsoCode`, `Währung`, `Devise`,
/// `Moneda`, `Valuta`), or a deal's `share` (`Split`, `Split Percentage`, `Revenue Share`,
/// `Anteil`). Its values decide (`stages::refuse_unread_deciders`): codes, or fractions.
pub fn looks_like_money_column(name: &str) -> Option<&'static str> {
    const CURRENCY: &[&str] = &[
        "currency",
        "currencyisocode",
        "währung",
        "waehrung",
        "devise",
        "moneda",
        "valuta",
        "divisa",
        "moeda",
    ];
    const SHARE: &[&str] = &["split", "splits", "share", "anteil", "reparto", "partage"];
    let key = words_key(name);
    let words: Vec<&str> = key.split('_').collect();
    if words
        .iter()
        .any(|w| CURRENCY.iter().any(|l| w.ends_with(l)))
    {
        Some("currency")
    } else if words.iter().any(|w| SHARE.contains(w)) {
        Some("share")
    } else {
        None
    }
}

/// The header's unread columns named like a row's `currency` (in any input that has money: one
/// whose `currency` is not read, or claims and adjustments, read in the program currency) or a
/// deal's `share` when it is not read, with the column each may be. Columns an import map lists in
/// `ignore_columns` are never reported; payline's own files (input "") are never checked.
pub fn unread_money_columns(
    header: &Header,
    input: &str,
    ignored: &[String],
) -> Vec<(usize, &'static str)> {
    let Some((_, columns)) = super::csvfile::INPUT_COLUMNS
        .iter()
        .find(|(i, _)| !input.is_empty() && *i == input)
    else {
        return Vec::new();
    };
    let has_money = columns.contains(&"currency") || matches!(input, "claims" | "adjustments");
    let used: std::collections::HashSet<usize> = columns
        .iter()
        .filter_map(|c| header.columns.index(c))
        .collect();
    (header.names.iter().enumerate())
        .filter(|(i, name)| !used.contains(i) && !ignored.contains(name))
        .filter_map(|(i, name)| Some((i, looks_like_money_column(name)?)))
        .filter(|(_, column)| match *column {
            "currency" => has_money && header.columns.index("currency").is_none(),
            _ => columns.contains(column) && header.columns.index(column).is_none(),
        })
        .collect()
}

/// The header's stage-like columns that nothing handles: for an input with a `status` column
/// (deals, partners) when `status` is not read from the file at all; for an input without one
/// (activities, fx, adjustments) when no filter reads them. Columns an import map lists in
/// `ignore_columns` are never reported. Payline's own files (input "") are never checked.
pub fn unhandled_stages(
    header: &Header,
    input: &str,
    ignored: &[String],
    filtered: &[String],
) -> Vec<usize> {
    let has_status = super::csvfile::INPUT_COLUMNS
        .iter()
        .find(|(i, _)| *i == input)
        .is_some_and(|(_, columns)| columns.contains(&"status"));
    if input.is_empty()
        || input == "claims"
        || (has_status && header.columns.index("status").is_some())
    {
        return Vec::new();
    }
    // A filter on the column settles it only where payline has no status to read it into.
    let handled =
        |name: &String| ignored.contains(name) || (!has_status && filtered.contains(name));
    let used: std::collections::HashSet<usize> = super::csvfile::INPUT_COLUMNS
        .iter()
        .find(|(i, _)| *i == input)
        .map(|(_, columns)| {
            columns
                .iter()
                .filter_map(|c| header.columns.index(c))
                .collect()
        })
        .unwrap_or_default();
    header
        .names
        .iter()
        .enumerate()
        .filter(|(i, name)| !used.contains(i) && looks_like_a_stage(name) && !handled(name))
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec<'a>(required: &'a [&'a str]) -> HeaderSpec<'a> {
        HeaderSpec {
            file: "deals.csv",
            input: "deals",
            required,
            map: &[],
            map_label: "",
            delimiter: b',',
        }
    }

    #[test]
    fn a_wide_header_is_matched_in_linear_time_and_an_absurd_one_refused() {
        // 10,000 distinct columns: every lookup is a hash probe, so this is instant.
        let mut cells: Vec<String> = (0..MAX_COLUMNS - 4).map(|i| format!("extra {i}")).collect();
        cells.extend(["deal_id", "partner_id", "closed_on", "amount"].map(String::from));
        let header = resolve(
            &csv::StringRecord::from(cells.clone()),
            &spec(&["deal_id", "amount"]),
        )
        .unwrap();
        assert_eq!(header.columns.index("amount"), Some(MAX_COLUMNS - 1));
        cells.push("one too many".into());
        let e = resolve(&csv::StringRecord::from(cells), &spec(&["deal_id"])).unwrap_err();
        assert!(
            e.to_string()
                .contains("the header has 10001 columns; payline reads at most 10000"),
            "{e}"
        );
    }

    #[test]
    fn stage_like_headers() {
        for yes in [
            "Stage",
            "Deal Stage",
            "dealstage",
            "Opportunity Stage",
            "Status",
            "Opportunity Status",
            "Is Closed Won",
            "Forecast Category",
            "StageName",
            "Outcome",
            "Phase",
            "Verkaufsphase",
            "Étape",
            "Etapa",
            "IsWon",
            "IsClosed",
            "Stage Name",
        ] {
            assert!(looks_like_a_stage(yes), "{yes}");
        }
        for (name, column) in [
            ("Deal Currency", Some("currency")),
            ("Opportunity-Währung", Some("currency")),
            ("CurrencyIsoCode", Some("currency")),
            ("Split Percentage", Some("share")),
            ("Partner Share", Some("share")),
            ("Amount Currency", Some("currency")),
            ("Revenue Share", Some("share")),
            ("Amount", None),
            ("Probability (%)", None),
        ] {
            assert_eq!(looks_like_money_column(name), column, "{name}");
        }
        for no in [
            "Close Date",
            "Amount",
            "Pipeline",
            "Deal Name",
            "Account Name",
            "Type",
            "Statement",
            "Probability (%)",
            "Closed Date",
            "Homepage",
        ] {
            assert!(!looks_like_a_stage(no), "{no}");
        }
    }
}
