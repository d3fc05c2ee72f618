//! Exact money: parsing decimal text, minor units per currency and the one rounding step per line.

use rust_decimal::{Decimal, RoundingStrategy};

/// The program's rounding mode (SPEC §3 `rounding`). `HalfUp` rounds a half away from zero, the way
/// invoices and spreadsheets do (-0.005 → -0.01); `HalfEven` is banker's rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rounding {
    #[default]
    HalfUp,
    HalfEven,
}

impl Rounding {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "half-up" => Some(Rounding::HalfUp),
            "half-even" => Some(Rounding::HalfEven),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Rounding::HalfUp => "half-up",
            Rounding::HalfEven => "half-even",
        }
    }

    pub fn round(self, value: Decimal, minor_units: u32) -> Decimal {
        let strategy = match self {
            Rounding::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Rounding::HalfEven => RoundingStrategy::MidpointNearestEven,
        };
        let mut rounded = value.round_dp_with_strategy(minor_units, strategy);
        rounded.rescale(minor_units);
        rounded
    }
}

/// Digits after the decimal point of a currency's minor unit (ISO 4217).
pub fn minor_units(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// A currency code is three upper-case ASCII letters.
pub fn is_currency_code(text: &str) -> bool {
    text.len() == 3 && text.bytes().all(|b| b.is_ascii_uppercase())
}

/// The largest magnitude payline accepts for any amount or rate (10^20, exclusive). Decimal holds 28
/// digits; this leaves room for rates, multipliers and sums over millions of lines, so the arithmetic
/// can never overflow, and a corrupt cell gets an error instead of a crash.
pub fn within_limits(value: Decimal) -> bool {
    value.abs() < Decimal::from(10u64.pow(10)) * Decimal::from(10u64.pow(10))
}

/// Whether `text` is written exactly as `-?[0-9]+(\.[0-9]+)?`: an optional minus, digits, and
/// optionally a point followed by digits. No `+`, no `.5` or `5.`, no spaces or other padding, no
/// exponent, no thousands separators, no currency symbols (SPEC §2: money is `1234.50`-style only).
pub fn is_plain_decimal(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = match digits.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(int) && frac.is_none_or(all_digits)
}

/// Parses a decimal written as plain text (`1234.50`, `-3`, `0.075`), exactly and strictly: the text
/// must be [`is_plain_decimal`] as it stands (nothing is trimmed), and its magnitude below 10^20 (see
/// [`within_limits`]). Anything else is refused rather than guessed at.
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    if let Some(value) = parse_short_decimal(text.as_bytes()) {
        return Some(value);
    }
    if !is_plain_decimal(text) {
        return None;
    }
    Decimal::from_str_exact(text)
        .ok()
        .filter(|d| within_limits(*d))
        .map(|d| d.normalize_keep_zero())
}

/// The deal stream's fast path of [`parse_decimal`] (an amount on every row): a plain decimal of
/// at most 18 digits, without a sign, read in one pass; the same value and scale as the general path
/// (`0.00` is `0`). `None` for anything else, which the general path decides.
#[inline]
fn parse_short_decimal(text: &[u8]) -> Option<Decimal> {
    let (mut mantissa, mut digits, mut point) = (0i64, 0u32, None);
    for (i, &b) in text.iter().enumerate() {
        match b {
            // A 19th digit could overflow: the general path takes it.
            b'0'..=b'9' if digits < 18 => {
                mantissa = mantissa * 10 + i64::from(b - b'0');
                digits += 1;
            }
            b'.' if point.is_none() && i > 0 && i + 1 < text.len() => point = Some(digits),
            _ => return None,
        }
    }
    if digits == 0 {
        return None;
    }
    if mantissa == 0 {
        return Some(Decimal::ZERO);
    }
    Some(Decimal::new(mantissa, point.map_or(0, |p| digits - p)))
}

trait NormalizeKeepZero {
    fn normalize_keep_zero(self) -> Decimal;
}

impl NormalizeKeepZero for Decimal {
    /// Keeps the written scale (so `1250.10` prints back as written) but turns `-0` into `0`.
    fn normalize_keep_zero(self) -> Decimal {
        if self.is_zero() { Decimal::ZERO } else { self }
    }
}

/// Formats an amount with exactly the currency's minor units (`12.5` in USD → `12.50`).
/// An amount of `currency` (a deal's amount, a payment, a refunded part), at that currency's minor
/// units, not the program's: `1234.56` EUR in a JPY program is not `1235`.
pub fn format_in(value: Decimal, currency: &str) -> String {
    format_money(value, minor_units(currency))
}

pub fn format_money(value: Decimal, minor_units: u32) -> String {
    let mut text = String::new();
    write_money(&mut text, value, minor_units);
    text
}

/// [`format_money`] appended to `text` (a buffer reused line after line, where an allocation per
/// amount showed in the writing of lines.csv).
pub fn write_money(text: &mut String, value: Decimal, minor_units: u32) {
    use std::fmt::Write as _;
    let mut v = value;
    v.rescale(minor_units);
    if v.is_zero() {
        v = Decimal::new(0, minor_units);
    }
    // Writing to a String cannot fail.
    let _ = write!(text, "{v}");
}

/// Formats a rate or ratio without trailing zeros (`0.0800` → `0.08`).
pub fn format_rate(value: Decimal) -> String {
    let mut text = String::new();
    write_rate(&mut text, value);
    text
}

/// [`format_rate`] appended to `text`.
pub fn write_rate(text: &mut String, value: Decimal) {
    use std::fmt::Write as _;
    // Writing to a String cannot fail.
    let _ = write!(text, "{}", value.normalize());
}

/// A rate as a percentage for notes: `0.085` → `8.5%`.
pub fn format_percent(rate: Decimal) -> String {
    format!("{}%", (rate * Decimal::ONE_HUNDRED).normalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    #[test]
    fn half_up_and_half_even_differ_on_a_half_cent() {
        assert_eq!(Rounding::HalfUp.round(d("2.345"), 2), d("2.35"));
        assert_eq!(Rounding::HalfEven.round(d("2.345"), 2), d("2.34"));
        assert_eq!(Rounding::HalfUp.round(d("-2.345"), 2), d("-2.35"));
        assert_eq!(Rounding::HalfEven.round(d("2.355"), 2), d("2.36"));
    }

    #[test]
    fn parse_decimal_is_exact_and_strict() {
        assert_eq!(parse_decimal("1250.10").unwrap().to_string(), "1250.10");
        assert!(parse_decimal("1,250.10").is_none());
        assert!(parse_decimal("$12").is_none());
        assert!(parse_decimal("1e3").is_none());
        assert!(parse_decimal("").is_none());
        assert!(parse_decimal("abc").is_none());
        assert!(parse_decimal("99999999999999999999.99").unwrap() > Decimal::ZERO);
        assert!(parse_decimal("100000000000000000000").is_none());
        assert!(parse_decimal("-100000000000000000000").is_none());
    }

    #[test]
    fn parse_decimal_accepts_only_the_plain_form() {
        for good in ["0", "5", "-5", "5.0", "1250.10", "-1650.00", "007", "-0"] {
            assert!(parse_decimal(good).is_some(), "{good:?} should parse");
        }
        assert_eq!(parse_decimal("-0").unwrap().to_string(), "0");
        for bad in [
            "+5",
            ".5",
            "5.",
            "-.5",
            "-",
            ".",
            "--5",
            "5-",
            "1.2.3",
            " 5",
            "5 ",
            "\t5",
            "5\t",
            "\u{a0}5",
            "5\u{a0}",
            "5\r",
            "1 250",
            "1_000",
            "1e3",
            "1E3",
            "0x10",
            "5%",
            "- 5",
            "\u{2212}5",
            "\u{ff15}",
            "NaN",
            "inf",
        ] {
            assert!(parse_decimal(bad).is_none(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn money_formats_with_minor_units() {
        assert_eq!(format_money(d("12.5"), 2), "12.50");
        assert_eq!(format_money(d("1000"), 0), "1000");
        assert_eq!(format_money(d("1.2"), 3), "1.200");
        assert_eq!(format_money(d("-0.00"), 2), "0.00");
        assert_eq!(minor_units("JPY"), 0);
        assert_eq!(minor_units("KWD"), 3);
        assert_eq!(minor_units("EUR"), 2);
    }

    /// The fast path reads the same value with the same scale (so it prints back the same) as the
    /// general one, or leaves the text to it.
    #[test]
    fn the_short_path_agrees_with_the_general_one() {
        let general = |t: &str| {
            Decimal::from_str_exact(t)
                .ok()
                .filter(|d| within_limits(*d))
                .map(|d| d.normalize_keep_zero())
        };
        for text in [
            "0",
            "0.00",
            "007",
            "007.50",
            "1250.10",
            "5",
            "5.0",
            "0.000000000000000001",
            "999999999999999999",
            "99999999999999999.9",
            "1234567890123456789",
            "-5",
            "5.",
            ".5",
            "1.2.3",
            "",
            "+5",
            " 5",
            "1e3",
        ] {
            if let Some(fast) = parse_short_decimal(text.as_bytes()) {
                let slow = general(text).expect(text);
                assert_eq!(
                    (fast.to_string(), fast.scale()),
                    (slow.to_string(), slow.scale()),
                    "{text}"
                );
            }
            assert_eq!(
                parse_decimal(text).map(|d| d.to_string()),
                is_plain_decimal(text)
                    .then(|| general(text))
                    .flatten()
                    .map(|d| d.to_string()),
                "{text}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn the_short_path_agrees_on_any_plain_decimal(text in "-?[0-9]{1,20}(\\.[0-9]{1,20})?") {
            let slow = Decimal::from_str_exact(&text)
                .ok()
                .filter(|d| within_limits(*d))
                .map(|d| d.normalize_keep_zero());
            let parsed = parse_decimal(&text);
            proptest::prop_assert_eq!(parsed.map(|d| (d.to_string(), d.scale())), slow.map(|d| (d.to_string(), d.scale())));
        }
    }
}
