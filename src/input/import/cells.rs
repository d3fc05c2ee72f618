//! Reading an export's dates and numbers as its import map declares them: strftime date formats (a
//! date-time taken as its date), a decimal mark with thousands separators, currency symbols and ISO
//! codes around amounts, percentages for shares. Every number is read exactly, as text: never
//! through floating point. What cannot be read is refused with what was expected, never guessed.

use crate::input::csvfile::{FIRST_YEAR, parse_iso_date};
use crate::model::money::parse_decimal;
use chrono::{Datelike, NaiveDate, NaiveDateTime};

/// Why a `date_format` cannot read dates, or `None` when it can: it must write and read back a
/// date with its year, month and day.
pub fn date_format_problem(format: &str) -> Option<String> {
    use std::fmt::Write;
    let sample = NaiveDate::from_ymd_opt(2026, 10, 5)?.and_hms_opt(13, 57, 0)?;
    let mut written = String::new();
    if write!(written, "{}", sample.format(format)).is_err() {
        return Some("not a valid chrono strftime format (e.g. %m/%d/%Y)".into());
    }
    match read_date(&written, format) {
        Some(date) if date == sample.date() => None,
        _ => Some(
            "it must name the year, month and day (e.g. %m/%d/%Y, %d.%m.%Y, %Y-%m-%d %H:%M)".into(),
        ),
    }
}

/// A cell read with one format: as a date, or as a date-time taken as its date; a year before
/// [`FIRST_YEAR`] is refused (`10/5/26` read by `%m/%d/%Y` is the year 26).
fn read_date(text: &str, format: &str) -> Option<NaiveDate> {
    read_any_year(text, format).filter(|d| d.year() >= FIRST_YEAR)
}

fn read_any_year(text: &str, format: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, format).ok().or_else(|| {
        NaiveDateTime::parse_from_str(text, format)
            .ok()
            .map(|d| d.date())
    })
}

/// Whether one of `formats` reads `text` (or its date part) as a date before [`FIRST_YEAR`]: the
/// refusal then says why.
pub fn reads_an_early_year(text: &str, formats: &[String]) -> bool {
    let text = text.trim();
    let parts = std::iter::once(text).chain(text.split([' ', 'T']).next());
    parts
        .flat_map(|t| formats.iter().filter_map(move |f| read_any_year(t, f)))
        .any(|d| d.year() < FIRST_YEAR)
}

/// A date: ISO `YYYY-MM-DD` (never ambiguous), else the first of `formats` that reads the whole
/// cell; a date-time (`2026-10-11 13:57`, `10/11/2026 1:57 PM`, `2026-10-11T13:57:00Z`) is taken as
/// its date, as written (no time zone is converted).
pub fn parse_date(text: &str, formats: &[String]) -> Option<NaiveDate> {
    let text = text.trim();
    let whole =
        |t: &str| parse_iso_date(t).or_else(|| formats.iter().find_map(|f| read_date(t, f)));
    if let Some(date) = whole(text) {
        return Some(date);
    }
    // The date part of a date-time: before a space or `T` that a time follows (with a declared
    // format only: without one, the strict ISO date of payline's own format).
    if formats.is_empty() {
        return None;
    }
    text.char_indices()
        .filter(|(_, c)| *c == ' ' || *c == 'T')
        .filter(|(i, _)| looks_like_a_time(text[i + 1..].trim()))
        .find_map(|(i, _)| whole(text[..i].trim()))
}

/// Two of the declared formats that read `text` as different dates (`05/10/2026` is 10 May by
/// `%m/%d/%Y` and 5 October by `%d/%m/%Y`), with their dates: such a cell is refused, never read by
/// whichever format comes first.
pub fn ambiguous_date(text: &str, formats: &[String]) -> Option<[(String, NaiveDate); 2]> {
    if formats.len() < 2 {
        return None;
    }
    let mut read = formats
        .iter()
        .filter_map(|f| Some((f.clone(), parse_date(text, std::slice::from_ref(f))?)));
    let first = read.next()?;
    let other = read.find(|(_, d)| *d != first.1)?;
    Some([first, other])
}

/// `="00123"` (a spreadsheet's formula keeping a number as text) as the text it shows, `00123`.
pub fn excel_text(cell: &str) -> &str {
    cell.strip_prefix("=\"")
        .and_then(|rest| rest.strip_suffix('"'))
        .filter(|inner| !inner.contains('"'))
        .unwrap_or(cell)
}

/// Whether a cell is a number as a spreadsheet shortens it (`9.01235E+09`, `1E+15`).
pub fn excel_scientific(cell: &str) -> bool {
    let Some((mantissa, exponent)) = cell.split_once(['E', 'e']) else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => digits(whole) && digits(fraction),
        None => digits(mantissa),
    };
    // A spreadsheet always signs the exponent (`E+09`): `2026E0001` is an id, not a number.
    let signed = exponent.strip_prefix(['+', '-']);
    mantissa_ok && signed.is_some_and(digits)
}

fn looks_like_a_time(rest: &str) -> bool {
    rest.starts_with(|c: char| c.is_ascii_digit())
        && rest.contains(':')
        && rest
            .chars()
            .all(|c| c.is_ascii_digit() || " :.,+-ZAPMUTCGapm".contains(c))
}

/// A currency written around an amount, and the currencies it can mean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyMark {
    pub written: String,
    pub currencies: Vec<String>,
}

/// The currencies a symbol written alone can mean (`€` → EUR, `$` → USD, CAD, …).
pub fn currencies_of_symbol(symbol: &str) -> Option<&'static [&'static str]> {
    SYMBOLS.iter().find(|(s, _)| *s == symbol).map(|(_, c)| *c)
}

/// Symbols and the currencies each can mean; longer ones first (`US$` before `$`).
const SYMBOLS: &[(&str, &[&str])] = &[
    ("US$", &["USD"]),
    ("CA$", &["CAD"]),
    ("AU$", &["AUD"]),
    ("NZ$", &["NZD"]),
    ("HK$", &["HKD"]),
    ("MX$", &["MXN"]),
    ("R$", &["BRL"]),
    ("C$", &["CAD"]),
    ("A$", &["AUD"]),
    ("S$", &["SGD"]),
    ("zł", &["PLN"]),
    ("Kč", &["CZK"]),
    ("kr", &["SEK", "NOK", "DKK", "ISK"]),
    (
        "$",
        &[
            "USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN", "ARS", "CLP", "COP", "TWD",
        ],
    ),
    ("€", &["EUR"]),
    ("£", &["GBP"]),
    ("¥", &["JPY", "CNY"]),
    ("₹", &["INR"]),
    ("₩", &["KRW"]),
    ("₽", &["RUB"]),
    ("₺", &["TRY"]),
    ("₪", &["ILS"]),
    ("₫", &["VND"]),
    ("฿", &["THB"]),
    ("₱", &["PHP"]),
];

/// A number cell of an export: the plain decimal payline reads (`-1234.50`), and the currency
/// written around it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Number {
    pub plain: String,
    pub currency: Option<CurrencyMark>,
}

/// Reads a number written with `decimal_mark` (`.` or `,`): thousands separated by the other mark,
/// spaces or `'` in groups of three; a minus sign or parentheses for a negative; with `currency`, a
/// symbol (`$`, `€` …) or an ISO code (`EUR`) before or after it. `1,234` is 1234 with the mark
/// `.` and 1.234 with `,`: the declared mark decides, never a guess.
pub fn parse_number(text: &str, decimal_mark: char, currency: bool) -> Result<Number, String> {
    let expected = || {
        let (example, thousands) = match decimal_mark {
            ',' => ("1.234,56", "`.`"),
            _ => ("1,234.56", "`,`"),
        };
        format!(
            "expected a number like {example} (decimal mark `{decimal_mark}`, thousands separated by {thousands}, a space or `'`{})",
            if currency {
                "; a currency symbol or ISO code before or after it"
            } else {
                ""
            }
        )
    };
    let mut rest = text.trim();
    let mut negative = false;
    if let Some(inner) = rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        negative = true;
        rest = inner.trim();
    }
    let mut mark = None;
    // A sign and a currency may come in either order (`-$5`, `$-5`, `EUR -5`).
    for _ in 0..2 {
        if let Some(r) = rest.strip_prefix('-') {
            if negative {
                return Err(expected());
            }
            negative = true;
            rest = r.trim_start();
        }
        if currency
            && mark.is_none()
            && let Some((m, r)) = currency_prefix(rest).or_else(|| currency_suffix(rest))
        {
            mark = Some(m);
            rest = r.trim();
        }
    }
    let digits = plain_digits(rest, decimal_mark).ok_or_else(expected)?;
    let plain = if negative && digits.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        format!("-{digits}")
    } else {
        digits
    };
    if parse_decimal(&plain).is_none() {
        return Err("the number is too large: payline accepts magnitudes below 10^20".into());
    }
    Ok(Number {
        plain,
        currency: mark,
    })
}

fn currency_prefix(text: &str) -> Option<(CurrencyMark, &str)> {
    for (symbol, currencies) in SYMBOLS {
        if let Some(rest) = text.strip_prefix(symbol) {
            return Some((mark(symbol, currencies), rest));
        }
    }
    let code = text.get(..3)?;
    let after = text[3..].chars().next()?;
    (crate::model::money::is_currency_code(code)
        && (after.is_whitespace() || after.is_ascii_digit() || after == '-'))
        .then(|| (mark(code, &[code]), &text[3..]))
}

fn currency_suffix(text: &str) -> Option<(CurrencyMark, &str)> {
    for (symbol, currencies) in SYMBOLS {
        if let Some(rest) = text.strip_suffix(symbol) {
            return Some((mark(symbol, currencies), rest));
        }
    }
    let split = text.len().checked_sub(3)?;
    let code = text.get(split..)?;
    let before = text[..split].chars().next_back()?;
    (crate::model::money::is_currency_code(code)
        && (before.is_whitespace() || before.is_ascii_digit()))
    .then(|| (mark(code, &[code]), &text[..split]))
}

fn mark(written: &str, currencies: &[&str]) -> CurrencyMark {
    CurrencyMark {
        written: written.to_string(),
        currencies: currencies.iter().map(|c| (*c).to_string()).collect(),
    }
}

/// `1,234.50` (mark `.`) or `1.234,50` (mark `,`) as `1234.50`; `None` unless every thousands
/// separator is one kind and separates groups of three after a first group of one to three digits.
fn plain_digits(text: &str, decimal_mark: char) -> Option<String> {
    let separators: &[char] = match decimal_mark {
        ',' => &['.', ' ', '\u{a0}', '\u{202f}', '\''],
        _ => &[',', ' ', '\u{a0}', '\u{202f}', '\''],
    };
    let (int, frac) = match text.split_once(decimal_mark) {
        Some((int, frac)) => (int, Some(frac)),
        None => (text, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if frac.is_some_and(|f| !all_digits(f)) {
        return None;
    }
    let separator = int.chars().find(|c| separators.contains(c));
    let int_digits = match separator {
        None if all_digits(int) => int.to_string(),
        None => return None,
        Some(sep) => {
            let groups: Vec<&str> = int.split(sep).collect();
            let first_ok = all_digits(groups[0]) && groups[0].len() <= 3;
            let rest_ok = groups[1..].iter().all(|g| g.len() == 3 && all_digits(g));
            if !(first_ok && rest_ok) {
                return None;
            }
            groups.concat()
        }
    };
    Some(match frac {
        Some(frac) => format!("{int_digits}.{frac}"),
        None => int_digits,
    })
}

/// A share as a decimal, or as a percentage (`50%` is 0.5, `12,5 %` with the mark `,` is 0.125).
pub fn parse_share(text: &str, decimal_mark: char) -> Result<String, String> {
    let text = text.trim();
    match text.strip_suffix('%') {
        Some(percent) => {
            let number = parse_number(percent, decimal_mark, false)?;
            let value = parse_decimal(&number.plain).ok_or("the number is too large")?;
            Ok((value / rust_decimal::Decimal::ONE_HUNDRED)
                .normalize()
                .to_string())
        }
        None => parse_number(text, decimal_mark, false).map(|n| n.plain),
    }
}

/// A whole number (`1,200` seats with the mark `.`; `12.0` is 12); a fraction is refused.
pub fn parse_integer(text: &str, decimal_mark: char) -> Result<String, String> {
    let number = parse_number(text, decimal_mark, false)?;
    let value = parse_decimal(&number.plain).ok_or("the number is too large")?;
    if value.fract().is_zero() {
        Ok(value.trunc().normalize().to_string())
    } else {
        Err("expected a whole number".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(text: &str, mark: char) -> Option<String> {
        parse_number(text, mark, true).ok().map(|n| n.plain)
    }

    #[test]
    fn a_year_before_1900_is_refused_and_said_to_be_one() {
        let us = vec!["%m/%d/%Y".to_string()];
        assert_eq!(parse_date("10/5/26", &us), None);
        assert!(reads_an_early_year("10/5/26", &us));
        assert_eq!(
            parse_date("10/5/1900", &us),
            NaiveDate::from_ymd_opt(1900, 10, 5)
        );
        assert!(!reads_an_early_year("10/5/2026", &us));
        assert_eq!(parse_iso_date("0026-10-05"), None);
        assert!(crate::input::csvfile::EARLY_YEAR.contains(&FIRST_YEAR.to_string()));
        assert_eq!(
            crate::input::csvfile::year_problem("0026-10-05"),
            crate::input::csvfile::EARLY_YEAR
        );
        assert_eq!(crate::input::csvfile::year_problem("2026-13-05"), "");
    }

    #[test]
    fn amounts_as_crms_write_them() {
        assert_eq!(plain("$42,000.00", '.').as_deref(), Some("42000.00"));
        assert_eq!(plain("25.000,00 €", ',').as_deref(), Some("25000.00"));
        assert_eq!(plain("EUR 1,250.00", '.').as_deref(), Some("1250.00"));
        assert_eq!(plain("1 250,5", ',').as_deref(), Some("1250.5"));
        assert_eq!(plain("1\u{a0}250,50 EUR", ',').as_deref(), Some("1250.50"));
        assert_eq!(plain("1'250.50", '.').as_deref(), Some("1250.50"));
        assert_eq!(plain("($1,234.50)", '.').as_deref(), Some("-1234.50"));
        assert_eq!(plain("-$5", '.').as_deref(), Some("-5"));
        assert_eq!(plain("$-5", '.').as_deref(), Some("-5"));
        assert_eq!(plain("US$ 7", '.').as_deref(), Some("7"));
        assert_eq!(plain("0", '.').as_deref(), Some("0"));
        // The declared mark decides an ambiguous `1,234`.
        assert_eq!(plain("1,234", '.').as_deref(), Some("1234"));
        assert_eq!(plain("1,234", ',').as_deref(), Some("1.234"));
        assert_eq!(plain("1.234", ',').as_deref(), Some("1234"));
        assert_eq!(plain("1.234", '.').as_deref(), Some("1.234"));
        // Never a guess.
        for bad in [
            "12,34.00",
            "1,2345",
            "1.234,56",
            ".5",
            "5.",
            "1,234.5.6",
            "--5",
            "abc",
            "$",
            "5 5",
            "1,234 567",
            "1e5",
            "+5",
        ] {
            assert_eq!(plain(bad, '.'), None, "{bad}");
        }
        assert_eq!(plain("1.234,56", '.'), None);
        assert_eq!(plain("1,234.56", ','), None);
    }

    #[test]
    fn the_currency_around_an_amount_is_named() {
        let n = parse_number("25.000,00 €", ',', true).unwrap();
        assert_eq!(n.currency.unwrap().currencies, vec!["EUR"]);
        let n = parse_number("$42,000.00", '.', true).unwrap();
        assert!(n.currency.unwrap().currencies.contains(&"CAD".to_string()));
        let n = parse_number("1,250.00 GBP", '.', true).unwrap();
        assert_eq!(n.currency.unwrap().currencies, vec!["GBP"]);
        assert_eq!(parse_number("1.5", '.', true).unwrap().currency, None);
        // Not for a rate.
        assert!(parse_number("$1.5", '.', false).is_err());
    }

    #[test]
    fn dates_by_format_and_date_times_by_their_date() {
        let f = |list: &[&str]| list.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
        let us = f(&["%m/%d/%Y"]);
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day);
        assert_eq!(parse_date("10/5/2026", &us), d(2026, 10, 5));
        assert_eq!(excel_text("=\"0012\""), "0012");
        assert_eq!(excel_text("=1+1"), "=1+1");
        assert!(
            excel_scientific("9.01235E+09")
                && excel_scientific("1E+15")
                && excel_scientific("2e-3")
        );
        assert!(!excel_scientific("2026E0001") && !excel_scientific("12E4"));
        assert!(
            !excel_scientific("D1E5X")
                && !excel_scientific("0068c00000AbcD1")
                && !excel_scientific("E+09")
        );
        // Two orders declared: a day-and-month both up to 12 is refused, others read.
        let both = vec!["%m/%d/%Y".to_string(), "%d/%m/%Y".to_string()];
        let [(f1, d1), (f2, d2)] = ambiguous_date("05/10/2026", &both).unwrap();
        assert_eq!((f1.as_str(), Some(d1)), ("%m/%d/%Y", d(2026, 5, 10)));
        assert_eq!((f2.as_str(), Some(d2)), ("%d/%m/%Y", d(2026, 10, 5)));
        assert_eq!(ambiguous_date("13/10/2026", &both), None);
        assert_eq!(ambiguous_date("10/10/2026", &both), None);
        assert_eq!(ambiguous_date("05/10/2026", &us), None);
        assert_eq!(parse_date("10/05/2026", &us), d(2026, 10, 5));
        assert_eq!(parse_date("2026-10-05", &us), d(2026, 10, 5));
        assert_eq!(parse_date("10/11/2026 1:57 PM", &us), d(2026, 10, 11));
        assert_eq!(parse_date("2026-10-11 13:57", &us), d(2026, 10, 11));
        assert_eq!(parse_date("2026-10-11T13:57:00Z", &us), d(2026, 10, 11));
        assert_eq!(parse_date("2026-10-11 13:57", &[]), None);
        assert_eq!(
            parse_date("11.10.2026 13:57", &f(&["%d.%m.%Y"])),
            d(2026, 10, 11)
        );
        assert_eq!(
            parse_date("5 Oct 2026 13:57", &f(&["%d %b %Y"])),
            d(2026, 10, 5)
        );
        assert_eq!(parse_date("13/5/2026", &us), None);
        assert_eq!(parse_date("10/5/2026", &[]), None);
        assert_eq!(parse_date("2026-10-11 lunch", &[]), None);
    }

    #[test]
    fn date_formats_are_checked() {
        assert_eq!(date_format_problem("%m/%d/%Y"), None);
        assert_eq!(date_format_problem("%Y-%m-%d %H:%M"), None);
        assert!(date_format_problem("%m/%Y").is_some());
        assert!(date_format_problem("%Q").is_some());
    }

    #[test]
    fn shares_and_integers() {
        assert_eq!(parse_share("50%", '.').unwrap(), "0.5");
        assert_eq!(parse_share("12,5 %", ',').unwrap(), "0.125");
        assert_eq!(parse_share("0.25", '.').unwrap(), "0.25");
        assert_eq!(parse_integer("1,200", '.').unwrap(), "1200");
        assert_eq!(parse_integer("12.0", '.').unwrap(), "12");
        assert!(parse_integer("12.5", '.').is_err());
    }
}
