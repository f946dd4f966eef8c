//! Any text as a question: safety routing (triage, dosing, scope, unclear,
//! ambiguity) must never panic, and an ambiguity's span must rewrite cleanly.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let drugs = vec!["tamoxifen".to_string()];
        if let sextant_answer::Route::Ambiguous(d) = sextant_answer::route(text, &drugs) {
            for r in d.ambiguity.readings {
                let _ = sextant_answer::ambiguity::rewrite(text, &d, r);
            }
        }
    }
});
