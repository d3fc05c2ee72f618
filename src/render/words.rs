//! Words for people: money with thousands separators, percentages, rule labels, statuses, and the
//! audit notes of lines.csv reworded for a partner. Display only: nothing here changes a figure, and
//! the CSV files keep plain numbers and the notes as the engine wrote them.

use crate::model::money::format_money;
use rust_decimal::Decimal;

/// Money for people: `36,960.00`, `-1,200.50`, `113,636` (the CSV files keep `36960.00`).
pub fn display_money(value: Decimal, units: u32) -> String {
    group_number(&format_money(value, units))
}

/// A plain decimal (`-36960.00`) with thousands separators (`-36,960.00`).
fn group_number(plain: &str) -> String {
    let (sign, digits) = match plain.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", plain),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (digits, None),
    };
    let mut grouped = String::with_capacity(plain.len() + whole.len() / 3);
    grouped.push_str(sign);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if let Some(f) = fraction {
        grouped.push('.');
        grouped.push_str(f);
    }
    grouped
}

/// A rate as a percentage in words: `0.05` → `5 %`, `0.0375` → `3.75 %`.
pub fn percent(rate: Decimal) -> String {
    format!("{} %", (rate * Decimal::ONE_HUNDRED).normalize())
}

/// Words of a rule id a reader spells in capitals, or with a hyphen.
const SPELLED: &[(&str, &str)] = &[
    ("mdf", "MDF"),
    ("spif", "SPIF"),
    ("spiff", "SPIFF"),
    ("var", "VAR"),
    ("coop", "co-op"),
    ("kyc", "KYC"),
    ("ytd", "YTD"),
    ("qtd", "QTD"),
    ("smb", "SMB"),
    ("sku", "SKU"),
    ("arr", "ARR"),
    ("mrr", "MRR"),
    ("emea", "EMEA"),
    ("apac", "APAC"),
    ("latam", "LATAM"),
    ("amer", "AMER"),
    ("msp", "MSP"),
    ("isv", "ISV"),
];

/// The label a rule has when its program gives none: its id in words, first letter capitalized,
/// abbreviations spelled as people write them (`q4-platform-spif` → `Q4 platform SPIF`,
/// `mdf` → `MDF`, `coop` → `Co-op`, `var-bonus` → `VAR bonus`).
pub fn default_label(rule_id: &str) -> String {
    // `co-op` is one word, not `co` and `op` (`eco-ops` stays two).
    let parts: Vec<&str> = rule_id.split('-').collect();
    let mut joined: Vec<&str> = Vec::with_capacity(parts.len());
    let mut i = 0;
    while i < parts.len() {
        let co_op = parts[i] == "co" && parts.get(i + 1) == Some(&"op");
        joined.push(if co_op { "coop" } else { parts[i] });
        i += if co_op { 2 } else { 1 };
    }
    let words: Vec<String> = joined
        .into_iter()
        .filter(|w| !w.is_empty())
        .map(|w| {
            if let Some((_, spelled)) = SPELLED.iter().find(|(id, _)| *id == w) {
                return (*spelled).to_string();
            }
            // q1–q4, h1–h2, fy26: a period's name.
            let (head, tail) = w.split_at(w.find(|c: char| c.is_ascii_digit()).unwrap_or(w.len()));
            if matches!(head, "q" | "h" | "fy" | "p") && !tail.is_empty() {
                return format!("{}{tail}", head.to_uppercase());
            }
            w.to_string()
        })
        .collect();
    let text = words.join(" ");
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Whether `b` may be part of a word or an id (`D1025`, `2026-10-01`, `reseller-tiers`).
fn word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Replaces every whole-word occurrence of `word` (bounded by characters that are not letters,
/// digits, `-` or `_`) with `with`.
pub fn replace_word(text: &str, word: &str, with: &str) -> String {
    if word.is_empty() || !text.contains(word) {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (at, _) in text.match_indices(word) {
        let end = at + word.len();
        let before = at == 0 || !word_byte(bytes[at - 1]);
        let after = end == bytes.len() || !word_byte(bytes[end]);
        if before && after && at >= last {
            out.push_str(&text[last..at]);
            out.push_str(with);
            last = end;
        }
    }
    out.push_str(&text[last..]);
    out
}

/// A number of a batch file for people: `36960.00` → `36,960.00`; a count stays as it is.
pub fn number(text: &str) -> String {
    group_numbers(text)
}

/// A reason of the engine's (`held: the partner is suspended; balance 1600.00 carried`) as a
/// sentence: first letter capitalized, numbers grouped.
pub fn sentence(text: &str) -> String {
    let mut text = group_numbers(text);
    if let Some(first) = text.chars().next()
        && first.is_lowercase()
    {
        text.replace_range(..first.len_utf8(), &first.to_uppercase().to_string());
    }
    text
}

/// Numbers in a note with thousands separators: decimals (`36960.00` → `36,960.00`) and whole
/// numbers of four digits or more (`113636` → `113,636`, `7150` → `7,150`) but a year
/// ([`names_a_year`]). A number that is part of a date, an id or a word (`2026-10-01`, `D1025`,
/// `Q4`) is left alone.
fn group_numbers(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 8);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let starts_number = b.is_ascii_digit() && (i == 0 || !word_or_date(bytes, i - 1));
        if !starts_number {
            let len = utf8_len(b);
            out.push_str(&text[i..i + len]);
            i += len;
            continue;
        }
        let mut end = i;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        let whole_end = end;
        if end + 1 < bytes.len() && bytes[end] == b'.' && bytes[end + 1].is_ascii_digit() {
            end += 1;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
        }
        let token = &text[i..end];
        let stands_alone = end == bytes.len() || !word_byte(bytes[end]);
        let decimal = end > whole_end;
        let digits = whole_end - i;
        let year = digits == 4 && !decimal && names_a_year(text, i, end);
        let id = !decimal && names_an_id(&text[..i]);
        if stands_alone && !id && (decimal || digits >= 5 || (digits == 4 && !year)) {
            out.push_str(&group_number(token));
        } else {
            out.push_str(token);
        }
        i = end;
    }
    out
}

/// Whether the four digits at `text[start..end]` name a year rather than an amount: a number from
/// 1900 to 2199 where notes put a year (`in 2026`, `over 2026 to date`, `year 2026`, `since 2025`).
/// Any other four-digit number is money or a count and is grouped (`7 % of 7,150` in yen).
fn names_a_year(text: &str, start: usize, end: usize) -> bool {
    let in_years = text[start..end]
        .parse::<u16>()
        .is_ok_and(|n| (1900..=2199).contains(&n));
    let before = &text[..start];
    in_years
        && (["in ", "over ", "year ", "since ", "for "]
            .iter()
            .any(|w| before.ends_with(w))
            || text[end..].starts_with(" to date"))
}

/// Whether a whole number after `before` is an id (`deal 5512`, `claim 88412`, `payment 1001`):
/// shown as written, never grouped like an amount.
fn names_an_id(before: &str) -> bool {
    const NAMES: &[&str] = &[
        "deal",
        "deals",
        "claim",
        "payment",
        "order",
        "invoice",
        "id",
        "partner",
        "adjustment",
        "activity",
    ];
    let word = before.trim_end_matches(' ');
    let spaced = word.len() < before.len();
    let last = word
        .rsplit(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("");
    spaced && NAMES.iter().any(|w| last.eq_ignore_ascii_case(w))
}

/// Whether the byte before a digit makes it part of a word, id or date (a `-` counts, unless it is
/// a minus sign: one that follows a space or an opening bracket).
fn word_or_date(bytes: &[u8], at: usize) -> bool {
    match bytes[at] {
        b'-' => at > 0 && word_byte(bytes[at - 1]),
        b'.' => true,
        b => word_byte(b),
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Drops the tier numbers of band notes: `tier 2 (8%) on 5000.00` → `8% on 5000.00`,
/// `tier 1 (4%) of 36960.00` → `4% of 36960.00`: a partner knows the rates, not the tiers' order.
fn drop_tier_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("tier ") {
        let after = &rest[at + 5..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let open = digits > 0 && after[digits..].starts_with(" (");
        let close = open.then(|| after[digits + 2..].find(')')).flatten();
        match close {
            Some(close) => {
                out.push_str(&rest[..at]);
                out.push_str(&after[digits + 2..digits + 2 + close]);
                rest = &after[digits + 3 + close..];
            }
            None => {
                out.push_str(&rest[..at + 5]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The rules a note may name, and the labels to show instead.
pub struct Labels<'a> {
    pub rules: &'a [(String, String)],
}

/// A note of lines.csv as a partner reads it: the tiers' numbers dropped, running totals and hold
/// windows in words, percentages and numbers spaced and grouped (`8 %`, `36,960.00`), the rules it
/// names by their labels and the deal by its name. An adjustment's note is a person's reason and
/// is shown as written.
pub fn partner_note(note: &str, kind: &str, labels: &Labels, deal: Option<(&str, &str)>) -> String {
    if kind == "adjustment" {
        return note.to_string();
    }
    let mut text = drop_tier_numbers(note);
    for (from, to) in [
        ("; cumulative ", "; your period total went from "),
        (" × modifier ", " × "),
        ("the partner's ", "your "),
        ("milestone: ", ""),
        (
            "; pending: deal closed ",
            "; held for the refund window: closed ",
        ),
        ("..", " to "),
    ] {
        text = text.replace(from, to);
    }
    // `went from 0.00 → 30000.00` reads `went from 0.00 to 30000.00`.
    text = text.replace(" → ", " to ");
    text = text.replace('%', " %");
    // Rule ids where notes name a rule ("paid by reseller-tiers", "on fund mdf", "1240.00 of
    // distributor-per-order released"), not every word that happens to equal a short id.
    for (id, label) in labels.rules {
        for before in ["by ", "fund ", "of "] {
            text = replace_word(&text, &format!("{before}{id}"), &format!("{before}{label}"));
        }
    }
    if let Some((deal_id, name)) = deal {
        text = replace_word(&text, deal_id, &format!("{deal_id} ({name})"));
    }
    sentence(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn money_for_people_groups_thousands() {
        assert_eq!(display_money(d("36960"), 2), "36,960.00");
        assert_eq!(display_money(d("-1200.5"), 2), "-1,200.50");
        assert_eq!(display_money(d("999.99"), 2), "999.99");
        assert_eq!(display_money(d("1234567"), 0), "1,234,567");
        assert_eq!(display_money(d("0"), 3), "0.000");
        assert_eq!(percent(d("0.05")), "5 %");
        assert_eq!(percent(d("0.0375")), "3.75 %");
    }

    #[test]
    fn default_labels_spell_abbreviations() {
        assert_eq!(default_label("reseller-tiers"), "Reseller tiers");
        assert_eq!(default_label("q4-platform-spif"), "Q4 platform SPIF");
        assert_eq!(default_label("mdf"), "MDF");
        assert_eq!(default_label("coop"), "Co-op");
        assert_eq!(default_label("partner-coop-fund"), "Partner co-op fund");
        assert_eq!(default_label("var-bonus"), "VAR bonus");
        assert_eq!(default_label("fy26-kicker"), "FY26 kicker");
        assert_eq!(default_label("variance"), "Variance");
        assert_eq!(default_label("emea-var-spif"), "EMEA VAR SPIF");
        assert_eq!(default_label("co-op"), "Co-op");
        assert_eq!(default_label("partner-co-op-fund"), "Partner co-op fund");
        assert_eq!(default_label("eco-ops-bonus"), "Eco ops bonus");
        assert_eq!(default_label(""), "");
    }

    #[test]
    fn whole_words_only() {
        assert_eq!(
            replace_word("paid by mdf and mdf-2, mdf.", "mdf", "MDF"),
            "paid by MDF and mdf-2, MDF."
        );
    }

    #[test]
    fn notes_read_as_words() {
        let rules = vec![("reseller-tiers".to_string(), "Reseller tiers".to_string())];
        let labels = Labels { rules: &rules };
        let note = |n: &str, kind: &str| partner_note(n, kind, &labels, None);
        assert_eq!(
            note(
                "tier 1 (5%) on 25000.00 + tier 2 (8%) on 5000.00 of 30000.00; cumulative 0.00 → 30000.00",
                "tiered"
            ),
            "5 % on 25,000.00 + 8 % on 5,000.00 of 30,000.00; your period total went from 0.00 to 30,000.00"
        );
        assert_eq!(
            note("10% of 2500.00 × modifier 1.25", "percent"),
            "10 % of 2,500.00 × 1.25"
        );
        assert_eq!(
            note(
                "SPIF 2026-10-01..2026-11-15: 250.00 per deal, deal 1 of at most 3",
                "spif"
            ),
            "SPIF 2026-10-01 to 2026-11-15: 250.00 per deal, deal 1 of at most 3"
        );
        assert_eq!(
            note(
                "deal D1004 closed 2026-08-07 was refunded on 2026-09-20, 44 days later (clawback window 90 days): recovering 1650.00 paid by reseller-tiers",
                "clawback"
            ),
            "Deal D1004 closed 2026-08-07 was refunded on 2026-09-20, 44 days later (clawback window 90 days): recovering 1,650.00 paid by Reseller tiers"
        );
        assert_eq!(
            note(
                "paid 750.00 USD as 113636 JPY at 0.0066 USD per JPY",
                "payout"
            ),
            "Paid 750.00 USD as 113,636 JPY at 0.0066 USD per JPY"
        );
        assert_eq!(
            note("Refund of order 88412 -5%", "adjustment"),
            "Refund of order 88412 -5%"
        );
        assert_eq!(
            partner_note(
                "milestone: deal D1025 closed 2026-10-11 is the partner's 2nd lifetime qualifying deal",
                "milestone",
                &labels,
                Some(("D1025", "Acme renewal"))
            ),
            "Deal D1025 (Acme renewal) closed 2026-10-11 is your 2nd lifetime qualifying deal"
        );
        assert_eq!(
            note("a -1650.00 line in 2026", "clawback"),
            "A -1,650.00 line in 2026"
        );
        // Whole amounts of a zero-decimal currency are grouped from four digits; years are not.
        assert_eq!(
            note("7% of 7150; measured over 2026 to date", "percent"),
            "7 % of 7,150; measured over 2026 to date"
        );
        assert_eq!(
            note(
                "tier 1 (5%) on 2000 + tier 2 (8%) on 1500 of 3500",
                "tiered"
            ),
            "5 % on 2,000 + 8 % on 1,500 of 3,500"
        );
        assert_eq!(
            note("paid 2025 of 9999 units", "rebate"),
            "Paid 2,025 of 9,999 units"
        );
        // An id is shown as written, however long.
        assert_eq!(
            note(
                "deal 5512 closed 2026-10-06 was refunded: recovering 1500.00",
                "clawback"
            ),
            "Deal 5512 closed 2026-10-06 was refunded: recovering 1,500.00"
        );
        assert_eq!(
            note("claim 884120 paid 12000", "claim"),
            "Claim 884120 paid 12,000"
        );
    }
}
