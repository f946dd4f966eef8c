//! C-CDA XML → profile facts. (Being written: see the records issue.)

use crate::profile::Profile;
use crate::Result;

/// Reads a C-CDA document into a profile; `name` is what provenance and
/// errors call it.
pub fn read(_name: &str, _bytes: &[u8]) -> Result<Profile> {
    Ok(Profile::default())
}
