//! The text encoding of an input file. UTF-8 (with or without a byte-order mark) is read as it is;
//! UTF-16 (Excel's "Unicode text", found by its byte-order mark) and any declared encoding
//! (Windows-1252, as Excel on Windows saves "CSV (Comma delimited)") are decoded with `encoding_rs`
//! into a private UTF-8 copy, line for line, so every message still names the file's own lines.
//! A file is never read as mojibake without a word: bytes the declared encoding cannot decode, a
//! declaration the byte-order mark contradicts, UTF-16 without a mark, and a "Windows-1252" file
//! that is in fact UTF-8 are refused.

use super::map::EncodingChoice;
use crate::error::{Error, Result};
use encoding_rs::{DecoderResult, Encoding, UTF_8, UTF_16BE, UTF_16LE};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// An input as UTF-8: the file itself, or a decoded copy (removed when dropped).
#[derive(Debug)]
pub struct Decoded {
    pub path: PathBuf,
    pub copy: Option<tempfile::NamedTempFile>,
    /// The encoding the file was read in, and how it was known.
    pub encoding: &'static Encoding,
    pub how: &'static str,
}

fn refuse(label: &str, message: String) -> Error {
    Error::Malformed {
        file: label.to_string(),
        line: 1,
        message,
    }
}

/// Reads `path` (named `label` in messages) as `choice` says.
pub fn decode(path: &Path, label: &str, choice: EncodingChoice) -> Result<Decoded> {
    let mut head = [0u8; 4096];
    let n = read_head(path, &mut head)?;
    let head = &head[..n];
    let bom = Encoding::for_bom(head).map(|(e, _)| e);
    let as_is = |how| Decoded {
        path: path.to_path_buf(),
        copy: None,
        encoding: UTF_8,
        how,
    };
    match (choice, bom) {
        (EncodingChoice::Auto, Some(e)) if e == UTF_8 => Ok(as_is("found by its byte-order mark")),
        (EncodingChoice::Auto, Some(e)) => {
            transcode(path, label, e, "found by its byte-order mark")
        }
        (EncodingChoice::Auto, None) => {
            if looks_like_utf16(head) {
                return Err(refuse(
                    label,
                    "the file looks like UTF-16 without a byte-order mark: declare `encoding = \"utf-16le\"` (or \"utf-16be\") in its import map".into(),
                ));
            }
            Ok(as_is("no byte-order mark: read as UTF-8"))
        }
        (EncodingChoice::Declared(declared), Some(found)) if found != declared => Err(refuse(
            label,
            format!(
                "the import map declares `encoding = \"{}\"`, but the file starts with a {} byte-order mark: remove `encoding` (or set it to \"auto\")",
                declared.name().to_ascii_lowercase(),
                found.name()
            ),
        )),
        (EncodingChoice::Declared(declared), _) if declared == UTF_8 => {
            Ok(as_is("declared in the import map"))
        }
        (EncodingChoice::Declared(declared), bom) => {
            if bom.is_none() && !is_utf16(declared) && is_utf8_with_non_ascii(path)? {
                return Err(refuse(
                    label,
                    format!(
                        "the import map declares `encoding = \"{}\"`, but the file is valid UTF-8 with non-ASCII characters: read as {} they would be garbled (é as Ã©); remove `encoding` if the file is UTF-8",
                        declared.name().to_ascii_lowercase(),
                        declared.name()
                    ),
                ));
            }
            transcode(path, label, declared, "declared in the import map")
        }
    }
}

fn is_utf16(e: &'static Encoding) -> bool {
    e == UTF_16LE || e == UTF_16BE
}

fn read_head(path: &Path, head: &mut [u8]) -> Result<usize> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io("read", path, e))?;
    let mut n = 0;
    while n < head.len() {
        match file
            .read(&mut head[n..])
            .map_err(|e| Error::io("read", path, e))?
        {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Text in UTF-16 without a mark: every other byte of its ASCII letters is zero.
fn looks_like_utf16(head: &[u8]) -> bool {
    let zeros = head.iter().filter(|&&b| b == 0).count();
    head.len() >= 4 && zeros * 4 >= head.len()
}

/// Whether the file is valid UTF-8 holding a non-ASCII character (so not a single-byte encoding).
fn is_utf8_with_non_ascii(path: &Path) -> Result<bool> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io("read", path, e))?;
    let mut buf = vec![0u8; 1 << 16];
    let mut carry = Vec::new();
    let mut non_ascii = false;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io("read", path, e))?;
        if n == 0 {
            return Ok(non_ascii && carry.is_empty());
        }
        carry.extend_from_slice(&buf[..n]);
        match std::str::from_utf8(&carry) {
            Ok(text) => {
                non_ascii |= !text.is_ascii();
                carry.clear();
            }
            // A character cut at the end of the buffer: kept for the next read.
            Err(e) if e.error_len().is_none() => {
                let valid = e.valid_up_to();
                non_ascii |= !carry[..valid].is_ascii();
                carry.drain(..valid);
            }
            Err(_) => return Ok(false),
        }
    }
}

/// Decodes the whole file into a private UTF-8 copy, refusing bytes the encoding cannot decode
/// (named by their line).
fn transcode(
    path: &Path,
    label: &str,
    encoding: &'static Encoding,
    how: &'static str,
) -> Result<Decoded> {
    let mut input = std::fs::File::open(path).map_err(|e| Error::io("read", path, e))?;
    let mut copy = tempfile::Builder::new()
        .prefix("payline-decoded-")
        .suffix(".csv")
        .tempfile()
        .map_err(|e| Error::io("create a decoded copy of", path, e))?;
    let mut decoder = encoding.new_decoder_with_bom_removal();
    let mut raw = vec![0u8; 1 << 16];
    let mut text = vec![0u8; (1 << 18) + 16];
    let mut line = 1u64;
    loop {
        let n = input
            .read(&mut raw)
            .map_err(|e| Error::io("read", path, e))?;
        let last = n == 0;
        let mut consumed = 0;
        loop {
            let (result, read, written) =
                decoder.decode_to_utf8_without_replacement(&raw[consumed..n], &mut text, last);
            consumed += read;
            let out = &text[..written];
            copy.write_all(out)
                .map_err(|e| Error::io("write a decoded copy of", path, e))?;
            line += u64::try_from(memchr::memchr_iter(b'\n', out).count()).unwrap_or(0);
            match result {
                DecoderResult::InputEmpty => break,
                DecoderResult::OutputFull => {}
                DecoderResult::Malformed(..) => {
                    return Err(Error::Malformed {
                        file: label.to_string(),
                        line,
                        message: format!(
                            "bytes that are not {} text (the encoding was {how}): check the file's encoding",
                            encoding.name()
                        ),
                    });
                }
            }
        }
        if last {
            break;
        }
    }
    copy.flush()
        .map_err(|e| Error::io("write a decoded copy of", path, e))?;
    Ok(Decoded {
        path: copy.path().to_path_buf(),
        copy: Some(copy),
        encoding,
        how,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    fn text(d: &Decoded) -> String {
        std::fs::read_to_string(&d.path).unwrap()
    }

    #[test]
    fn utf16_with_a_mark_is_decoded_line_for_line() {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in "a\tb\r\nZürich\t1\r\n".encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let f = file(&bytes);
        let d = decode(f.path(), "x.csv", EncodingChoice::Auto).unwrap();
        assert_eq!(text(&d), "a\tb\r\nZürich\t1\r\n");
        assert_eq!(d.encoding, UTF_16LE);
    }

    #[test]
    fn windows_1252_is_decoded_when_declared_and_refused_when_the_file_is_utf8() {
        let f = file(b"name\nCaf\xe9 M\xfcller\n");
        let declared = parse("windows-1252");
        let d = decode(f.path(), "x.csv", declared).unwrap();
        assert_eq!(text(&d), "name\nCafé Müller\n");
        let utf8 = file("name\nCafé\n".as_bytes());
        let e = decode(utf8.path(), "x.csv", declared)
            .unwrap_err()
            .to_string();
        assert!(e.contains("valid UTF-8 with non-ASCII characters"), "{e}");
        // Undeclared, the UTF-8 file is read as it is.
        let d = decode(utf8.path(), "x.csv", EncodingChoice::Auto).unwrap();
        assert!(d.copy.is_none());
    }

    #[test]
    fn contradictions_and_unmarked_utf16_are_refused() {
        let f = file(&[0xEF, 0xBB, 0xBF, b'a', b'\n']);
        let e = decode(f.path(), "x.csv", parse("utf-16le")).unwrap_err();
        assert!(e.to_string().contains("byte-order mark"), "{e}");
        let f = file(&[b'a', 0, b',', 0, b'b', 0, b'\n', 0]);
        let e = decode(f.path(), "x.csv", EncodingChoice::Auto).unwrap_err();
        assert!(
            e.to_string().contains("UTF-16 without a byte-order mark"),
            "{e}"
        );
    }

    #[test]
    fn undecodable_bytes_are_named_by_their_line() {
        let f = file(b"a\nb\n\x81\x20\n");
        let e = decode(f.path(), "x.csv", parse("shift_jis")).unwrap_err();
        assert!(e.to_string().starts_with("x.csv:3:"), "{e}");
    }

    fn parse(label: &str) -> EncodingChoice {
        super::super::map::parse_encoding(label).unwrap()
    }
}
