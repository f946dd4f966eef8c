//! Any bytes as a corpus page: parsing must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = sextant_kb::corpus::parse_page("fuzz.md", text);
    }
});
