//! The embedding cache: vectors keyed by the sha256 of the exact text
//! embedded, one append-only file per model under
//! `<cache root>/embeddings/`, shared by every knowledge base on the
//! machine. Re-ingesting a corpus embeds only new or changed passages.
//!
//! Record layout: 32-byte key, 8-byte check (sha256 prefix of the vector
//! bytes), `DIM` little-endian f32. A record cut short by a crash is dropped
//! on the next open; a record whose check fails is ignored and re-embedded.
//! The cache is a cache: damage costs time, never correctness.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::{io_err, Result, DIM};

const MAGIC: &[u8; 8] = b"SXEMBC01";
const HEADER: usize = 16;
const KEY: usize = 32;
const CHECK: usize = 8;
const RECORD: usize = KEY + CHECK + DIM * 4;

/// Cache key of a text.
pub type Key = [u8; 32];

/// An open cache, held exclusively by this process until dropped.
pub struct EmbeddingCache {
    path: PathBuf,
    file: File,
    slots: HashMap<Key, usize>,
    vectors: Vec<f32>,
    /// Records ignored on open because their check failed.
    damaged: usize,
}

impl EmbeddingCache {
    /// The key of `text`.
    pub fn key(text: &str) -> Key {
        Sha256::digest(text.as_bytes()).into()
    }

    /// Opens or creates the cache of `model_id` in `dir`. Another process
    /// filling the same cache is waited for (after calling `waiting`), so
    /// concurrent ingests embed each passage once between them.
    pub fn open(dir: &Path, model_id: &str, waiting: &dyn Fn()) -> Result<EmbeddingCache> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let path = dir.join(format!("{model_id}.cache"));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err(&path))?;
        // SAFETY: flock on a file descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            waiting();
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
                return Err(io_err(&path)(std::io::Error::last_os_error()));
            }
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io_err(&path))?;
        let header = header(model_id);
        let mut cache = EmbeddingCache {
            path,
            file,
            slots: HashMap::new(),
            vectors: Vec::new(),
            damaged: 0,
        };
        if bytes.len() < HEADER || bytes[..HEADER] != header {
            // New, or written by something else: start over.
            cache.reset(&header)?;
            return Ok(cache);
        }
        let whole = (bytes.len() - HEADER) / RECORD;
        for rec in bytes[HEADER..HEADER + whole * RECORD].chunks_exact(RECORD) {
            let (key, rest) = rec.split_at(KEY);
            let (check, data) = rest.split_at(CHECK);
            if Sha256::digest(data)[..CHECK] != *check {
                cache.damaged += 1;
                continue;
            }
            let slot = cache.vectors.len() / DIM;
            cache.vectors.extend(
                data.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
            cache.slots.insert(key.try_into().expect("32 bytes"), slot);
        }
        let good_len = (HEADER + whole * RECORD) as u64;
        if good_len != bytes.len() as u64 {
            cache.file.set_len(good_len).map_err(io_err(&cache.path))?;
        }
        cache
            .file
            .seek(SeekFrom::Start(good_len))
            .map_err(io_err(&cache.path))?;
        Ok(cache)
    }

    fn reset(&mut self, header: &[u8; HEADER]) -> Result<()> {
        self.file.set_len(0).map_err(io_err(&self.path))?;
        self.file
            .seek(SeekFrom::Start(0))
            .map_err(io_err(&self.path))?;
        self.file.write_all(header).map_err(io_err(&self.path))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of cached vectors.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Records found damaged (and ignored) when the cache was opened.
    pub fn damaged(&self) -> usize {
        self.damaged
    }

    pub fn get(&self, key: &Key) -> Option<&[f32]> {
        self.slots
            .get(key)
            .map(|&s| &self.vectors[s * DIM..(s + 1) * DIM])
    }

    /// Adds vectors (`DIM` floats each) and appends them to the file.
    pub fn insert_all(&mut self, keys: &[Key], vectors: &[f32]) -> Result<()> {
        let mut buf = Vec::with_capacity(keys.len() * RECORD);
        for (key, v) in keys.iter().zip(vectors.chunks_exact(DIM)) {
            if self.slots.contains_key(key) {
                continue;
            }
            let data: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            buf.extend_from_slice(key);
            buf.extend_from_slice(&Sha256::digest(&data)[..CHECK]);
            buf.extend_from_slice(&data);
            self.slots.insert(*key, self.vectors.len() / DIM);
            self.vectors.extend_from_slice(v);
        }
        self.file.write_all(&buf).map_err(io_err(&self.path))
    }
}

fn header(model_id: &str) -> [u8; HEADER] {
    let mut h = [0u8; HEADER];
    h[..8].copy_from_slice(MAGIC);
    h[8..].copy_from_slice(&Sha256::digest(model_id.as_bytes())[..8]);
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vecs(n: usize, seed: f32) -> Vec<f32> {
        (0..n * DIM).map(|i| seed + i as f32 * 0.001).collect()
    }

    #[test]
    fn round_trip_and_reopen() {
        let tmp = tempfile::tempdir().unwrap();
        let keys = [EmbeddingCache::key("a"), EmbeddingCache::key("b")];
        let v = vecs(2, 1.0);
        {
            let mut c = EmbeddingCache::open(tmp.path(), "m", &|| {}).unwrap();
            assert!(c.is_empty());
            c.insert_all(&keys, &v).unwrap();
            assert_eq!(c.get(&keys[1]).unwrap(), &v[DIM..]);
        }
        let c = EmbeddingCache::open(tmp.path(), "m", &|| {}).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.get(&keys[0]).unwrap(), &v[..DIM]);
        assert!(c.get(&EmbeddingCache::key("c")).is_none());
        // Another model's cache is another file.
        let other = EmbeddingCache::open(tmp.path(), "other", &|| {}).unwrap();
        assert!(other.is_empty());
    }

    #[test]
    fn torn_tail_and_damaged_records_are_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let keys: Vec<Key> = (0..3)
            .map(|i| EmbeddingCache::key(&i.to_string()))
            .collect();
        let path = {
            let mut c = EmbeddingCache::open(tmp.path(), "m", &|| {}).unwrap();
            c.insert_all(&keys, &vecs(3, 0.5)).unwrap();
            c.path().to_path_buf()
        };
        let mut bytes = std::fs::read(&path).unwrap();
        // Flip a byte inside the second record's vector; cut the third short.
        bytes[HEADER + RECORD + KEY + CHECK + 7] ^= 0xff;
        bytes.truncate(HEADER + 2 * RECORD + 100);
        std::fs::write(&path, &bytes).unwrap();
        let mut c = EmbeddingCache::open(tmp.path(), "m", &|| {}).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c.damaged(), 1);
        assert!(c.get(&keys[0]).is_some());
        // Appending after recovery lands on a record boundary.
        c.insert_all(&keys[2..], &vecs(1, 9.0)).unwrap();
        drop(c);
        let c = EmbeddingCache::open(tmp.path(), "m", &|| {}).unwrap();
        assert_eq!(c.get(&keys[2]).unwrap(), &vecs(1, 9.0)[..]);
    }

    #[test]
    fn foreign_file_is_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("m.cache"), b"garbage garbage garbage").unwrap();
        let c = EmbeddingCache::open(tmp.path(), "m", &|| {}).unwrap();
        assert!(c.is_empty());
    }
}
