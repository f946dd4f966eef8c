//! Any bytes as an uploaded record (FHIR JSON, C-CDA XML, text, gzip):
//! reading must never panic, only return a profile or a clear error.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sextant_records::read_bytes("fuzz", data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = sextant_records::text::read("fuzz.txt", text);
        let _ = sextant_records::ccda::read("fuzz.xml", data);
        let _ = sextant_records::fhir::read("fuzz.json", data);
    }
});
