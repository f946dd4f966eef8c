//! Keys, sealing (XChaCha20-Poly1305), hashing, password hashing and random ids.

use std::fmt;
use std::io::Write;
use std::path::Path;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Result, StoreError};

const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Fills `buf` from the operating system's CSPRNG.
pub(crate) fn random_bytes(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf)
        .map_err(|_| StoreError::Internal("operating system randomness unavailable"))
}

/// A random 128-bit id as 32 lowercase hex characters.
pub(crate) fn random_id() -> Result<String> {
    let mut b = [0u8; 16];
    random_bytes(&mut b)?;
    Ok(hex(&b))
}

/// A random 256-bit token, base64url without padding (43 characters).
pub(crate) fn random_token() -> Result<String> {
    let mut b = Zeroizing::new([0u8; 32]);
    random_bytes(&mut b[..])?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&b[..]))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

pub(crate) fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    hex(&h.finalize())
}

/// HMAC-SHA256 (RFC 2104) with a 32-byte key.
fn hmac_sha256(key: &[u8; 32], msg: &[u8]) -> [u8; 32] {
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for i in 0..32 {
        ipad[i] ^= key[i];
        opad[i] ^= key[i];
    }
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(msg)
        .finalize();
    let outer = Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize();
    ipad.zeroize();
    opad.zeroize();
    outer.into()
}

/// Seals `plaintext` under `key`, binding `aad`. Output: nonce (24) || ciphertext || tag (16).
fn seal(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    let cipher =
        XChaCha20Poly1305::new_from_slice(key).map_err(|_| StoreError::Internal("cipher key"))?;
    let mut nonce = [0u8; NONCE_LEN];
    random_bytes(&mut nonce)?;
    let ct = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| StoreError::Internal("encryption failed"))?;
    let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Opens a [`seal`]ed blob; any failure (short, tampered, wrong key or aad) is [`StoreError::Integrity`].
fn open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(StoreError::Integrity);
    }
    let cipher =
        XChaCha20Poly1305::new_from_slice(key).map_err(|_| StoreError::Internal("cipher key"))?;
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| StoreError::Integrity)?;
    cipher
        .decrypt(&XNonce::from(nonce), Payload { msg: ct, aad })
        .map_err(|_| StoreError::Integrity)
}

/// Associated data before schema 4: kind, owner and row. Read only while a
/// database is upgraded ([`MasterKey::unwrap_v1`], [`DataKey::open_v1`]).
fn aad_v1(kind: &str, owner: &str, row: &str) -> Vec<u8> {
    format!("sextant/v1|{kind}|{owner}|{row}").into_bytes()
}

/// Associated data: binds a ciphertext to its kind, owner, row and `bound`
/// (a record's format, the profile's version, the state of a user's rows),
/// so rows cannot be swapped, relabelled or rolled back. Length-prefixed, so
/// no field can spill into the next.
pub(crate) fn aad(kind: &str, owner: &str, row: &str, bound: &str) -> Vec<u8> {
    let mut out = b"sextant/v2".to_vec();
    for field in [kind, owner, row, bound] {
        out.push(b'|');
        out.extend_from_slice(field.len().to_string().as_bytes());
        out.push(b':');
        out.extend_from_slice(field.as_bytes());
    }
    out
}

/// The 256-bit master key. It wraps every user's data key and never goes in the database.
/// Zeroized on drop; `Debug` is redacted.
pub struct MasterKey([u8; 32]);

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// A fresh random key.
    pub fn generate() -> MasterKey {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k).expect("operating system randomness unavailable");
        MasterKey(k)
    }

    /// Builds a key from exactly 32 raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> MasterKey {
        MasterKey(bytes)
    }

    /// Parses a key written as base64 (standard or URL-safe, padded or not) or 64 hex digits.
    pub fn parse(text: &str) -> Result<MasterKey> {
        let t = text.trim();
        let bytes = Zeroizing::new(
            if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
                unhex(t).ok_or_else(|| StoreError::Key("malformed hex".into()))?
            } else {
                let engines = [
                    &base64::engine::general_purpose::STANDARD,
                    &base64::engine::general_purpose::STANDARD_NO_PAD,
                    &base64::engine::general_purpose::URL_SAFE,
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                ];
                engines
                    .iter()
                    .find_map(|e| e.decode(t).ok())
                    .ok_or_else(|| StoreError::Key("not base64 or 64 hex digits".into()))?
            },
        );
        let arr: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            StoreError::Key(format!("must decode to 32 bytes, got {}", bytes.len()))
        })?;
        Ok(MasterKey(arr))
    }

    /// The key as standard base64 (what [`MasterKey::create_file`] writes).
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(self.0))
    }

    /// Generates a key and writes it (base64, one line) to a new file with mode 0600.
    /// Refuses to overwrite an existing file.
    pub fn create_file(path: &Path) -> Result<MasterKey> {
        let key = MasterKey::generate();
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                StoreError::Key(format!(
                    "{} already exists; refusing to overwrite a master key",
                    path.display()
                ))
            } else {
                StoreError::Key(format!("cannot create {}: {e}", path.display()))
            }
        })?;
        let mut line = key.to_base64();
        line.push('\n');
        f.write_all(line.as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| StoreError::Key(format!("cannot write {}: {e}", path.display())))?;
        Ok(key)
    }

    /// Loads a key file written by [`MasterKey::create_file`] (base64 or hex text).
    /// On Unix, refuses a file readable or writable by group or others.
    pub fn load(path: &Path) -> Result<MasterKey> {
        let meta = std::fs::metadata(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                StoreError::Key(format!(
                    "{} not found; create one or set the key in the environment",
                    path.display()
                ))
            } else {
                StoreError::Key(format!("cannot read {}: {e}", path.display()))
            }
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(StoreError::Key(format!(
                    "{} has mode {:o}; it must be readable by its owner only (chmod 600)",
                    path.display(),
                    mode & 0o777
                )));
            }
        }
        let _ = meta;
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| StoreError::Key(format!("cannot read {}: {e}", path.display())))?,
        );
        MasterKey::parse(&text).map_err(|e| match e {
            StoreError::Key(m) => StoreError::Key(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// A key from the environment (base64 or hex) if set and non-empty, else from `path`.
    pub fn from_env_or_file(env_var_value: Option<&str>, path: &Path) -> Result<MasterKey> {
        match env_var_value.map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => MasterKey::parse(v).map_err(|e| match e {
                StoreError::Key(m) => StoreError::Key(format!("from the environment: {m}")),
                other => other,
            }),
            None => MasterKey::load(path),
        }
    }

    /// Sub-key for a purpose, so the raw master key is used only for wrapping.
    fn derive(&self, purpose: &str) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(hmac_sha256(&self.0, purpose.as_bytes()))
    }

    /// Wraps a user's data key, bound to the user id and to `state`: what
    /// the user's rows must look like for the key to open (see
    /// `UserScope::state`).
    pub(crate) fn wrap(&self, user: &str, state: &str, dk: &DataKey) -> Result<Vec<u8>> {
        seal(&self.0, &aad("data-key", user, user, state), &dk.0)
    }

    /// Unwraps a user's data key; [`StoreError::Integrity`] if it was
    /// tampered with, moved, or the user's rows are not in the `state` it
    /// was wrapped for.
    pub(crate) fn unwrap(&self, user: &str, state: &str, wrapped: &[u8]) -> Result<DataKey> {
        data_key(open(&self.0, &aad("data-key", user, user, state), wrapped)?)
    }

    /// Wraps a data key as before schema 4 (tests of the upgrade only).
    #[cfg(feature = "test-support")]
    pub(crate) fn wrap_v1(&self, user: &str, dk: &DataKey) -> Result<Vec<u8>> {
        seal(&self.0, &aad_v1("data-key", user, user), &dk.0)
    }

    /// Unwraps a data key wrapped before schema 4.
    pub(crate) fn unwrap_v1(&self, user: &str, wrapped: &[u8]) -> Result<DataKey> {
        data_key(open(&self.0, &aad_v1("data-key", user, user), wrapped)?)
    }

    /// HMAC-SHA256 of an audit row's canonical bytes, keyed for the audit
    /// chain, as hex.
    pub(crate) fn audit_mac(&self, msg: &[u8]) -> String {
        hex(&hmac_sha256(&self.derive("sextant/audit-chain/v2"), msg))
    }

    /// Deterministic, keyed lookup value for a normalized email (no plaintext email in the index).
    pub(crate) fn email_lookup(&self, email: &str) -> String {
        hex(&hmac_sha256(
            &self.derive("sextant/email-lookup/v1"),
            email.as_bytes(),
        ))
    }

    pub(crate) fn seal_email(&self, user: &str, email: &str) -> Result<Vec<u8>> {
        seal(
            &self.derive("sextant/email/v1"),
            &aad_v1("email", user, user),
            email.as_bytes(),
        )
    }

    pub(crate) fn open_email(&self, user: &str, sealed: &[u8]) -> Result<String> {
        let raw = open(
            &self.derive("sextant/email/v1"),
            &aad_v1("email", user, user),
            sealed,
        )?;
        String::from_utf8(raw).map_err(|_| StoreError::Integrity)
    }

    /// A session's reference in the audit log: 64 bits of a keyed hash of
    /// its token's hash, so rows of one session can be told apart without
    /// the log revealing anything that finds or opens the session.
    pub(crate) fn session_ref(&self, token_hash: &str) -> String {
        let mac = hmac_sha256(
            &self.derive("sextant/session-ref/v1"),
            token_hash.as_bytes(),
        );
        hex(&mac[..8])
    }

    /// The MAC of a session row: whoever can write the database but lacks
    /// the key cannot make a session the store honours.
    pub(crate) fn session_mac(
        &self,
        token_hash: &str,
        user: &str,
        csrf: &str,
        created: i64,
    ) -> String {
        let msg = aad("session", user, token_hash, &format!("{csrf}|{created}"));
        hex(&hmac_sha256(&self.derive("sextant/session/v1"), &msg))
    }
}

/// Compares two strings in time that depends on their lengths only (CSRF
/// tokens, MACs): the one comparison of secrets the server and the store use.
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn data_key(raw: Vec<u8>) -> Result<DataKey> {
    let raw = Zeroizing::new(raw);
    let arr: [u8; 32] = raw
        .as_slice()
        .try_into()
        .map_err(|_| StoreError::Integrity)?;
    Ok(DataKey(arr))
}

/// A user's 256-bit data key; PHI is sealed under it. Zeroized on drop.
pub(crate) struct DataKey([u8; 32]);

impl Drop for DataKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl DataKey {
    pub(crate) fn generate() -> Result<DataKey> {
        let mut k = [0u8; 32];
        random_bytes(&mut k)?;
        Ok(DataKey(k))
    }

    pub(crate) fn seal(&self, at: &Sealed<'_>, plaintext: &[u8]) -> Result<Vec<u8>> {
        seal(&self.0, &at.aad(), plaintext)
    }

    pub(crate) fn open(&self, at: &Sealed<'_>, sealed: &[u8]) -> Result<Vec<u8>> {
        open(&self.0, &at.aad(), sealed)
    }

    pub(crate) fn open_string(&self, at: &Sealed<'_>, sealed: &[u8]) -> Result<String> {
        String::from_utf8(self.open(at, sealed)?).map_err(|_| StoreError::Integrity)
    }

    /// Seals as before schema 4 (tests of the upgrade only).
    #[cfg(feature = "test-support")]
    pub(crate) fn seal_v1(&self, at: &Sealed<'_>, plaintext: &[u8]) -> Result<Vec<u8>> {
        seal(&self.0, &aad_v1(at.kind, at.owner, at.row), plaintext)
    }

    /// Opens a ciphertext sealed before schema 4.
    pub(crate) fn open_v1(&self, at: &Sealed<'_>, sealed: &[u8]) -> Result<Vec<u8>> {
        open(&self.0, &aad_v1(at.kind, at.owner, at.row), sealed)
    }
}

/// Where a ciphertext belongs: its kind (column), owner, row and what else
/// it is bound to (a record's format, the profile's version; empty for
/// rows that are never rewritten).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sealed<'a> {
    pub kind: &'a str,
    pub owner: &'a str,
    pub row: &'a str,
    pub bound: &'a str,
}

impl Sealed<'_> {
    fn aad(&self) -> Vec<u8> {
        aad(self.kind, self.owner, self.row, self.bound)
    }
}

/// argon2id with the crate's default parameters (OWASP: m=19 MiB, t=2, p=1).
pub(crate) fn hash_password(password: &str) -> Result<String> {
    use argon2::password_hash::PasswordHasher;
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| StoreError::Internal("password hashing failed"))
}

pub(crate) fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::PasswordVerifier;
    argon2::Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_rfc4231_case2_shape() {
        // Key shorter than block: our fixed 32-byte key path. Check determinism and key sensitivity.
        let a = hmac_sha256(&[1; 32], b"x");
        assert_eq!(a, hmac_sha256(&[1; 32], b"x"));
        assert_ne!(a, hmac_sha256(&[2; 32], b"x"));
    }

    #[test]
    fn seal_open_roundtrip_and_aad_binding() {
        let dk = DataKey::generate().unwrap();
        let at = |kind, owner, bound| Sealed {
            kind,
            owner,
            row: "r1",
            bound,
        };
        let home = at("record.data", "u1", "pdf");
        let c = dk.seal(&home, b"secret").unwrap();
        assert_eq!(dk.open(&home, &c).unwrap(), b"secret");
        for elsewhere in [
            at("record.data", "u2", "pdf"),
            at("record.name", "u1", "pdf"),
            at("record.data", "u1", "text/plain"),
            // Length prefixes: a field cannot spill into the next.
            at("record.data|3:u1", "", "pdf"),
        ] {
            assert_eq!(
                dk.open(&elsewhere, &c).unwrap_err().code(),
                "integrity",
                "{elsewhere:?}"
            );
        }
        let mut t = c.clone();
        t[30] ^= 1;
        assert_eq!(dk.open(&home, &t).unwrap_err().code(), "integrity");
    }

    #[test]
    fn master_key_parse_forms() {
        let k = MasterKey::generate();
        let b64 = k.to_base64();
        assert_eq!(MasterKey::parse(&b64).unwrap().0, k.0);
        assert_eq!(MasterKey::parse(&hex(&k.0)).unwrap().0, k.0);
        assert!(MasterKey::parse("abc").is_err());
        assert!(MasterKey::parse(&hex(&[0; 16])).is_err());
        assert_eq!(format!("{k:?}"), "MasterKey(<redacted>)");
    }

    #[test]
    fn master_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("master.key");
        assert!(MasterKey::load(&p)
            .unwrap_err()
            .to_string()
            .contains("not found"));
        let k = MasterKey::create_file(&p).unwrap();
        assert_eq!(MasterKey::load(&p).unwrap().0, k.0);
        assert!(MasterKey::create_file(&p)
            .unwrap_err()
            .to_string()
            .contains("refusing"));
        let env = MasterKey::generate();
        assert_eq!(
            MasterKey::from_env_or_file(Some(&hex(&env.0)), &p)
                .unwrap()
                .0,
            env.0
        );
        assert_eq!(MasterKey::from_env_or_file(Some(""), &p).unwrap().0, k.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(MasterKey::load(&p)
                .unwrap_err()
                .to_string()
                .contains("chmod 600"));
        }
    }
}
