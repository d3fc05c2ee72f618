//! Statement file names (SPEC §5, §7): one name per partner_id, safe on every file system, never two
//! ids on one name, and always short enough to create.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};

/// Every byte but `A-Za-z0-9`, `_`, `-` and `.` is percent-encoded (`%XX`, upper-case hex).
const ENCODED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'_').remove(b'-').remove(b'.');

/// The longest file name payline writes, in bytes: file systems allow 255; this leaves room for a
/// temporary suffix and for copying the folder into a longer path on systems that limit paths.
pub const MAX_NAME_BYTES: usize = 200;

/// The bytes of the encoded id kept before the hash of a shortened name.
const KEPT_PREFIX_BYTES: usize = 150;

/// A partner's statement files, without the `.csv` / `.html` suffix: the partner_id with every
/// character outside `A-Za-z0-9._-` percent-encoded (and a leading `.` too, so no statement is a
/// hidden file), so distinct ids never collide and no id can leave the statements folder. When that
/// name would be longer than [`MAX_NAME_BYTES`] with its suffix (ids of many non-ASCII letters: 64
/// CJK letters encode to 576 bytes), it is shortened to its first encoded characters, `~`, and 16 hex
/// digits of the id's SHA-256. A plain name never holds `~` (it is encoded), so a shortened name never
/// equals another id's plain name.
pub fn statement_stem(partner_id: &str) -> String {
    let mut stem = utf8_percent_encode(partner_id, ENCODED).to_string();
    if stem.starts_with('.') {
        stem.replace_range(..1, "%2E");
    }
    if stem.len() + ".html".len() <= MAX_NAME_BYTES {
        return stem;
    }
    // Whole characters of the id, so the name never ends inside a character's encoding.
    let mut kept = String::new();
    for c in partner_id.chars() {
        let mut buf = [0u8; 4];
        let encoded = utf8_percent_encode(c.encode_utf8(&mut buf), ENCODED).to_string();
        if kept.len() + encoded.len() > KEPT_PREFIX_BYTES {
            break;
        }
        kept.push_str(&encoded);
    }
    if kept.starts_with('.') {
        kept.replace_range(..1, "%2E");
    }
    let digest = hex::encode(&Sha256::digest(partner_id.as_bytes())[..8]);
    format!("{kept}~{digest}")
}

/// Whether the partner's files carry a shortened name (listed in index.html).
pub fn is_shortened(stem: &str) -> bool {
    stem.contains('~')
}

/// `STEM.csv`.
pub fn statement_csv_name(partner_id: &str) -> String {
    format!("{}.csv", statement_stem(partner_id))
}

/// `STEM.html`.
pub fn statement_html_name(partner_id: &str) -> String {
    format!("{}.html", statement_stem(partner_id))
}

/// A file name as a relative link: the `%` of an encoded name is itself written `%25`, which a
/// browser decodes back to the name on disk.
pub fn link_to(file_name: &str) -> String {
    utf8_percent_encode(file_name, ENCODED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ids_keep_their_letters_and_others_are_encoded() {
        assert_eq!(statement_csv_name("P001"), "P001.csv");
        assert_eq!(statement_html_name("a.csv"), "a.csv.html");
        assert_eq!(statement_stem("P 003"), "P%20003");
        assert_eq!(statement_stem(".hidden"), "%2Ehidden");
        assert_eq!(statement_stem("a..b"), "a..b");
        assert_eq!(statement_stem("x/y"), "x%2Fy");
        assert_eq!(statement_stem("東"), "%E6%9D%B1");
        assert_eq!(link_to("P%20003.html"), "P%2520003.html");
    }

    #[test]
    fn long_ids_get_a_short_name_with_a_hash() {
        // 30 CJK letters: 270 bytes encoded, refused before (issue 18).
        let id: String = std::iter::repeat_n('東', 30).collect();
        let stem = statement_stem(&id);
        assert!(is_shortened(&stem));
        assert!(stem.len() + 5 <= MAX_NAME_BYTES, "{}", stem.len());
        let (prefix, hash) = stem.split_once('~').unwrap();
        assert_eq!(hash.len(), 16);
        assert!(prefix.len() <= KEPT_PREFIX_BYTES && prefix.ends_with("%B1"));
        // One letter more is another name.
        let other = format!("{id}東");
        assert_ne!(statement_stem(&other), stem);
        // 64 letters, the longest id, fits too.
        let longest: String = std::iter::repeat_n('東', 64).collect();
        assert!(statement_html_name(&longest).len() <= MAX_NAME_BYTES);
        // A plain id never takes a shortened form.
        assert!(!is_shortened(&statement_stem("P~1")));
        assert_eq!(statement_stem("P~1"), "P%7E1");
    }
}
