//! Any bytes after `%PDF-` as an uploaded PDF: reading must never panic,
//! abort or hang, only return a profile or a clear error (no text layer,
//! password-protected, malformed). A short timeout per step keeps a
//! hanging input from stalling the fuzzer; libFuzzer's own `-timeout`
//! catches anything past it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.extend_from_slice(data);
    let t = std::time::Duration::from_secs(2);
    let _ = sextant_records::pdf::read_with_timeout("fuzz.pdf", &bytes, t);
    let _ = sextant_records::pdf::read_with_timeout("fuzz.pdf", data, t);
});
