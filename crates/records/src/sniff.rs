//! Which kind of record a file is, told by its content, never its name;
//! and reading a file with a size limit.

use std::io::Read;
use std::path::Path;

use crate::{Profile, RecordsError, Result};

/// The largest record file read, in bytes. Real exports are far smaller;
/// the limit keeps a mistaken or hostile upload from exhausting memory.
pub const MAX_RECORD_BYTES: u64 = 64 * 1024 * 1024;

/// A record format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// FHIR R4 JSON: a Bundle, a single resource, or NDJSON.
    Fhir,
    /// HL7 C-CDA XML.
    Ccda,
    /// Plain text (a pathology report, a clinic note).
    Text,
    /// A PDF (`%PDF-`); only its text layer is read, see [`crate::pdf`].
    Pdf,
}

/// Tells the format from the first bytes.
pub fn sniff(bytes: &[u8]) -> std::result::Result<Format, String> {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace() && *b != 0xEF && *b != 0xBB && *b != 0xBF)
        .unwrap_or(bytes.len());
    let head = &bytes[start..bytes.len().min(start + 4096)];
    if head.starts_with(b"%PDF-") {
        return Ok(Format::Pdf);
    }
    if head.starts_with(b"PK\x03\x04") {
        return Err("a zip archive; unpack it first".into());
    }
    if head.starts_with(b"{") {
        return Ok(Format::Fhir);
    }
    if head.starts_with(b"<") {
        let text = String::from_utf8_lossy(head);
        if text.contains("ClinicalDocument") || text.contains("urn:hl7-org:v3") {
            return Ok(Format::Ccda);
        }
        return Err("XML, but not a C-CDA ClinicalDocument".into());
    }
    // Text: mostly printable UTF-8.
    match std::str::from_utf8(head) {
        Ok(t)
            if t.chars()
                .filter(|c| c.is_control() && !c.is_whitespace())
                .count()
                * 20
                <= t.chars().count().max(1) =>
        {
            Ok(Format::Text)
        }
        Err(e) if e.valid_up_to() + 4 >= head.len() && e.error_len().is_none() => Ok(Format::Text),
        _ => Err("binary data, not a record".into()),
    }
}

/// Reads one record file into a profile.
pub fn read_file(path: &Path) -> Result<Profile> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| RecordsError::Io {
        path: shown.clone(),
        source,
    })?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size > MAX_RECORD_BYTES {
        return Err(RecordsError::TooLarge {
            path: shown,
            size,
            limit: MAX_RECORD_BYTES,
        });
    }
    // Read at most one byte past the limit, whatever the metadata said.
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(MAX_RECORD_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| RecordsError::Io {
            path: shown.clone(),
            source,
        })?;
    if bytes.len() as u64 > MAX_RECORD_BYTES {
        return Err(RecordsError::TooLarge {
            path: shown,
            size: bytes.len() as u64,
            limit: MAX_RECORD_BYTES,
        });
    }
    read_bytes(&shown, &bytes)
}

/// Unpacks gzip to at most [`MAX_RECORD_BYTES`].
pub fn gunzip(name: &str, bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut dec = flate2::read::MultiGzDecoder::new(bytes).take(MAX_RECORD_BYTES + 1);
    dec.read_to_end(&mut out)
        .map_err(|e| RecordsError::Malformed {
            path: name.to_string(),
            format: "gzip",
            detail: e.to_string(),
        })?;
    if out.len() as u64 > MAX_RECORD_BYTES {
        return Err(RecordsError::TooLarge {
            path: name.to_string(),
            size: out.len() as u64,
            limit: MAX_RECORD_BYTES,
        });
    }
    Ok(out)
}

/// Reads one record's bytes into a profile; `name` is what provenance and
/// errors call it. Gzip is unpacked first (Synthea ships bundles so), to at
/// most [`MAX_RECORD_BYTES`]: a small file that unpacks to gigabytes is
/// refused, not followed.
pub fn read_bytes(name: &str, bytes: &[u8]) -> Result<Profile> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let out = gunzip(name, bytes)?;
        if out.starts_with(&[0x1f, 0x8b]) {
            return Err(RecordsError::Unrecognized {
                path: name.to_string(),
                why: "gzip inside gzip".into(),
            });
        }
        return read_bytes(name, &out);
    }
    match sniff(bytes) {
        Ok(Format::Fhir) => crate::fhir::read(name, bytes),
        Ok(Format::Ccda) => crate::ccda::read(name, bytes),
        // Text is read as a clinical note: everything the report reader
        // finds, and age, sex, performance status and treatments.
        Ok(Format::Text) => Ok(crate::note::read_note(
            name,
            &String::from_utf8_lossy(bytes),
        )),
        Ok(Format::Pdf) => crate::pdf::read(name, bytes),
        Err(why) => Err(RecordsError::Unrecognized {
            path: name.to_string(),
            why,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_by_content() {
        assert_eq!(sniff(b"  {\"resourceType\":\"Bundle\"}"), Ok(Format::Fhir));
        assert_eq!(
            sniff(b"<?xml version=\"1.0\"?><ClinicalDocument xmlns=\"urn:hl7-org:v3\">"),
            Ok(Format::Ccda)
        );
        assert_eq!(
            sniff(b"FINAL DIAGNOSIS: invasive ductal carcinoma"),
            Ok(Format::Text)
        );
        assert_eq!(sniff(b"%PDF-1.7"), Ok(Format::Pdf));
        assert!(sniff(b"PK\x03\x04").unwrap_err().contains("zip"));
        assert!(sniff(&[0, 1, 2, 3, 4, 5, 6, 7, 0, 0, 0])
            .unwrap_err()
            .contains("binary"));
    }
}
