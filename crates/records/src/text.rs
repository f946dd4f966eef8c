//! Free text (pathology reports, clinic notes) → profile facts, by
//! patterns. (Being written: see the records issue.)

use crate::profile::Profile;

/// Reads a text report into a profile; `name` is what provenance calls it.
pub fn read(_name: &str, _text: &str) -> Profile {
    Profile::default()
}
