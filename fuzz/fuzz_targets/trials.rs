//! Trial records and eligibility text from anywhere: the readers, the
//! criteria parser and the matcher must return, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sextant_trials::matching::{match_trial, Person};

fuzz_target!(|data: &[u8]| {
    if let Ok((trials, _)) = sextant_trials::read::read_bytes("fuzz", data, None) {
        let person = Person::from_profile(&sextant_records::Profile::default(), 2026);
        for t in trials.iter().take(4) {
            let _ = match_trial(t, &person);
        }
    }
    // The same bytes as eligibility text.
    let text = String::from_utf8_lossy(data);
    let (criteria, _) =
        sextant_trials::criteria::parse(&sextant_trials::Eligibility::Text(text.into_owned()));
    let note = sextant_records::read_note("fuzz", &String::from_utf8_lossy(data));
    let person = Person::from_profile(&note, 2026);
    for c in criteria.iter().take(50) {
        let _ = sextant_trials::matching::check_criterion(c, &person);
    }
});
