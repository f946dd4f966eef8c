//! Sentence spans are in bounds, on char boundaries, and trimmed.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for r in sextant_core::text::sentence_spans(text) {
            let s = &text[r];
            assert!(!s.is_empty() && s.trim() == s);
        }
        let _ = sextant_core::cancer::detect(text, sextant_core::cancer::Matching::Typos);
    }
});
