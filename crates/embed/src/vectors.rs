//! Exact vector search over a memory-mapped matrix.
//!
//! File layout (`vectors.f32` in a knowledge-base generation): 8-byte magic,
//! u32 dimension, u32 row count (little-endian), then the rows as
//! little-endian f32, row `i` belonging to passage ordinal `i`. At 24k × 384
//! a full scan takes a few milliseconds, so no approximate index is needed;
//! [`VectorSearch`] is the seam where one (or a search server) would go.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{dot, io_err, EmbedError, Result};

const MAGIC: &[u8; 8] = b"SXVEC001";
const HEADER: usize = 16;

/// Top-k search by dot product (cosine similarity for unit vectors).
pub trait VectorSearch: Send + Sync {
    /// Number of vectors.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The `k` rows most similar to `query`, best first, as (row, score).
    fn search(&self, query: &[f32], k: usize) -> Vec<(u32, f32)>;
}

/// Writes `rows` (`dim` floats each) to `path` and fsyncs it.
pub fn write_vectors(path: &Path, dim: usize, rows: &[f32]) -> Result<()> {
    let count = rows.len() / dim.max(1);
    let mut bytes = Vec::with_capacity(HEADER + rows.len() * 4);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&(dim as u32).to_le_bytes());
    bytes.extend_from_slice(&(count as u32).to_le_bytes());
    for x in rows {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    let mut f = std::fs::File::create(path).map_err(io_err(path))?;
    f.write_all(&bytes).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

/// The error for a vector file that is damaged or does not fit.
pub(crate) fn damaged(path: &Path, reason: String) -> EmbedError {
    EmbedError::Vectors {
        path: path.display().to_string(),
        reason,
    }
}

/// Maps a file of a knowledge-base generation, checking that it starts
/// with `magic` and holds at least a `header` of bytes.
pub(crate) fn map_generation_file(
    path: &Path,
    magic: &[u8; 8],
    header: usize,
) -> Result<memmap2::Mmap> {
    let file = std::fs::File::open(path).map_err(io_err(path))?;
    // SAFETY: generations are immutable once committed (ingest writes a
    // new one and swaps `CURRENT`), so the mapped file never changes.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io_err(path))?;
    if map.len() < header || &map[..8] != magic {
        return Err(damaged(path, "not a Sextant vector file".into()));
    }
    Ok(map)
}

/// The little-endian u32 at byte `at` (which the caller has checked).
pub(crate) fn le_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// Below this many rows per thread, a scan is not worth a thread.
const PARALLEL_MIN_ROWS: usize = 4096;

fn by_score(a: &(u32, f32), b: &(u32, f32)) -> std::cmp::Ordering {
    b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
}

/// The best `k` of `scored`, in no particular order.
fn top_k(mut scored: Vec<(u32, f32)>, k: usize) -> Vec<(u32, f32)> {
    if scored.len() > k {
        scored.select_nth_unstable_by(k - 1, by_score);
        scored.truncate(k);
    }
    scored
}

/// The matrix of a knowledge base, memory-mapped.
pub struct FlatVectors {
    path: PathBuf,
    map: memmap2::Mmap,
    dim: usize,
    count: usize,
}

impl std::fmt::Debug for FlatVectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlatVectors")
            .field("path", &self.path)
            .field("dim", &self.dim)
            .field("count", &self.count)
            .finish()
    }
}

impl FlatVectors {
    /// Maps `path`, checking that it holds `expected_rows` rows of `dim`.
    pub fn open(path: &Path, dim: usize, expected_rows: usize) -> Result<FlatVectors> {
        let bad = |reason: String| damaged(path, reason);
        let map = map_generation_file(path, MAGIC, HEADER)?;
        let (file_dim, count) = (le_u32(&map, 8) as usize, le_u32(&map, 12) as usize);
        if file_dim != dim {
            return Err(bad(format!("dimension {file_dim}, expected {dim}")));
        }
        if count != expected_rows {
            return Err(bad(format!(
                "{count} vectors for {expected_rows} passages; run `sextant ingest --force`"
            )));
        }
        if map.len() != HEADER + count * dim * 4 {
            return Err(bad(format!(
                "{} bytes, expected {}; run `sextant ingest --force`",
                map.len(),
                HEADER + count * dim * 4
            )));
        }
        let v = FlatVectors {
            path: path.to_path_buf(),
            map,
            dim,
            count,
        };
        if v.rows().is_none() {
            return Err(bad("the mapping is not aligned for f32".into()));
        }
        Ok(v)
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The matrix as floats, on little-endian machines (the file's order).
    #[cfg(target_endian = "little")]
    fn rows(&self) -> Option<&[f32]> {
        // SAFETY: any 4 bytes are a valid f32; align_to reports misalignment
        // in the prefix, which must be empty (mmaps are page-aligned).
        let (pre, floats, _) = unsafe { self.map[HEADER..].align_to::<f32>() };
        pre.is_empty().then_some(floats)
    }

    #[cfg(not(target_endian = "little"))]
    fn rows(&self) -> Option<&[f32]> {
        None
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> Option<&[f32]> {
        self.rows()?.get(i * self.dim..(i + 1) * self.dim)
    }
}

impl VectorSearch for FlatVectors {
    fn len(&self) -> usize {
        self.count
    }

    fn search(&self, query: &[f32], k: usize) -> Vec<(u32, f32)> {
        let Some(rows) = self.rows() else {
            return Vec::new();
        };
        if query.len() != self.dim || k == 0 {
            return Vec::new();
        }
        // One slice of rows per core, each keeping its own top k.
        let parts = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(self.count.div_ceil(PARALLEL_MIN_ROWS))
            .max(1);
        let per = self.count.div_ceil(parts).max(1) * self.dim;
        let mut scored: Vec<(u32, f32)> = std::thread::scope(|s| {
            let handles: Vec<_> = rows
                .chunks(per)
                .enumerate()
                .map(|(p, chunk)| {
                    let first = p * per / self.dim;
                    s.spawn(move || {
                        let scored: Vec<(u32, f32)> = chunk
                            .chunks_exact(self.dim)
                            .enumerate()
                            .map(|(i, r)| ((first + i) as u32, dot(query, r)))
                            .collect();
                        top_k(scored, k)
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        });
        scored = top_k(scored, k);
        scored.sort_by(by_score);
        scored
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_top_k_matches_brute_force() {
        let tmp = tempfile::tempdir().unwrap();
        let dim = 8;
        let rows: Vec<f32> = (0..50 * dim)
            .map(|i| ((i * 37 % 101) as f32).sin())
            .collect();
        let path = tmp.path().join("v.f32");
        write_vectors(&path, dim, &rows).unwrap();
        let v = FlatVectors::open(&path, dim, 50).unwrap();
        let q: Vec<f32> = (0..dim).map(|i| (i as f32).cos()).collect();
        let got = v.search(&q, 5);
        let mut want: Vec<(u32, f32)> = rows
            .chunks(dim)
            .enumerate()
            .map(|(i, r)| (i as u32, r.iter().zip(&q).map(|(a, b)| a * b).sum()))
            .collect();
        want.sort_by(|a, b| b.1.total_cmp(&a.1));
        assert_eq!(
            got.iter().map(|h| h.0).collect::<Vec<_>>(),
            want[..5].iter().map(|h| h.0).collect::<Vec<_>>()
        );
        assert_eq!(v.search(&q, 500).len(), 50);
        assert!(v.search(&q[..3], 5).is_empty());
    }

    #[test]
    fn a_scan_split_across_threads_equals_one_scan() {
        let tmp = tempfile::tempdir().unwrap();
        let (dim, n) = (16, 3 * PARALLEL_MIN_ROWS + 7);
        let rows: Vec<f32> = (0..n * dim)
            .map(|i| ((i * 7919 % 1013) as f32).cos())
            .collect();
        let path = tmp.path().join("v.f32");
        write_vectors(&path, dim, &rows).unwrap();
        let v = FlatVectors::open(&path, dim, n).unwrap();
        let q: Vec<f32> = (0..dim).map(|i| (i as f32 * 0.3).sin()).collect();
        let mut want: Vec<(u32, f32)> = rows
            .chunks(dim)
            .enumerate()
            .map(|(i, r)| (i as u32, dot(&q, r)))
            .collect();
        want.sort_by(by_score);
        want.truncate(25);
        assert_eq!(v.search(&q, 25), want);
    }

    #[test]
    fn wrong_count_size_or_magic_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("v.f32");
        write_vectors(&path, 4, &[0.0; 12]).unwrap();
        let err = FlatVectors::open(&path, 4, 4).unwrap_err().to_string();
        assert!(err.contains("3 vectors for 4 passages"), "{err}");
        assert!(FlatVectors::open(&path, 8, 3).is_err());
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.pop();
        std::fs::write(&path, &bytes).unwrap();
        assert!(FlatVectors::open(&path, 4, 3).is_err());
        std::fs::write(&path, b"hello").unwrap();
        assert!(FlatVectors::open(&path, 4, 3).is_err());
    }
}
