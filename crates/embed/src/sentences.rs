//! The embeddings of every passage's sentences, stored as int8 rows so
//! that the composer can ask how close each candidate sentence is to the
//! question without running the model at question time.
//!
//! File layout (`sentences.i8` in a knowledge-base generation), all
//! little-endian: 8-byte magic, u32 dimension, u32 passage count, u32 row
//! count, u32 zero; then `passages + 1` u32 offsets (passage `p`'s
//! sentences are rows `offsets[p]..offsets[p + 1]`, in the order of
//! `sextant_core::text::sentence_spans`); then each row as an f32 scale, the
//! u32 [`text_tag`] of the sentence it embeds, and `dim` i8 values
//! (`value × scale` ≈ the unit vector's component). Rounding to int8
//! changes a cosine by less than 0.01. The tag lets a reader check that a
//! row is the sentence it asks about, so a file written by an older
//! sentence splitter is never read as another sentence's vector.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::vectors::{damaged, le_u32, map_generation_file};
use crate::{io_err, EmbedError, Result};

const MAGIC: &[u8; 8] = b"SXSEN002";
const HEADER: usize = 24;
/// Bytes of a row before its values: scale and tag.
const ROW_HEAD: usize = 8;

/// A 32-bit FNV-1a hash of a sentence's text, stored with its row.
pub fn text_tag(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// Writes the sentence rows of every passage and fsyncs the file.
/// `counts[p]` is passage `p`'s number of sentences; `tags` holds each
/// sentence's [`text_tag`] and `rows` its `dim` floats, in passage order.
pub fn write_sentence_vectors(
    path: &Path,
    dim: usize,
    counts: &[u32],
    tags: &[u32],
    rows: &[f32],
) -> Result<()> {
    let total: usize = counts.iter().map(|&c| c as usize).sum();
    if rows.len() != total * dim || tags.len() != total {
        return Err(EmbedError::Vectors {
            path: path.display().to_string(),
            reason: format!(
                "{} floats and {} tags for {total} sentences of {dim}",
                rows.len(),
                tags.len()
            ),
        });
    }
    let mut bytes = Vec::with_capacity(HEADER + (counts.len() + 1) * 4 + total * (ROW_HEAD + dim));
    bytes.extend_from_slice(MAGIC);
    for w in [dim, counts.len(), total, 0] {
        bytes.extend_from_slice(&(w as u32).to_le_bytes());
    }
    let mut at = 0u32;
    bytes.extend_from_slice(&at.to_le_bytes());
    for &c in counts {
        at += c;
        bytes.extend_from_slice(&at.to_le_bytes());
    }
    for (row, tag) in rows.chunks_exact(dim.max(1)).zip(tags) {
        let max = row.iter().fold(0f32, |m, x| m.max(x.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        bytes.extend_from_slice(&scale.to_le_bytes());
        bytes.extend_from_slice(&tag.to_le_bytes());
        bytes.extend(
            row.iter()
                .map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8 as u8),
        );
    }
    let mut f = std::fs::File::create(path).map_err(io_err(path))?;
    f.write_all(&bytes).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

/// The sentence rows of a knowledge base, memory-mapped.
pub struct SentenceVectors {
    path: PathBuf,
    map: memmap2::Mmap,
    dim: usize,
    passages: usize,
    rows: usize,
}

impl std::fmt::Debug for SentenceVectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentenceVectors")
            .field("path", &self.path)
            .field("dim", &self.dim)
            .field("passages", &self.passages)
            .field("rows", &self.rows)
            .finish()
    }
}

impl SentenceVectors {
    /// Maps `path`, checking that it holds rows of `dim` for
    /// `expected_passages` passages and that its offsets are in order.
    pub fn open(path: &Path, dim: usize, expected_passages: usize) -> Result<SentenceVectors> {
        let bad = |reason: String| damaged(path, reason);
        let map = map_generation_file(path, MAGIC, HEADER)?;
        let word = |at: usize| le_u32(&map, at) as usize;
        let (file_dim, passages, rows) = (word(8), word(12), word(16));
        if file_dim != dim || passages != expected_passages {
            return Err(bad(format!(
                "dimension {file_dim} for {passages} passages, expected {dim} for \
                 {expected_passages}; run `sextant ingest --force`"
            )));
        }
        let expected = (passages + 1)
            .checked_mul(4)
            .and_then(|o| rows.checked_mul(ROW_HEAD + dim).map(|r| HEADER + o + r));
        if expected != Some(map.len()) {
            return Err(bad(format!(
                "{} bytes, not what {passages} passages and {rows} rows need; run `sextant \
                 ingest --force`",
                map.len()
            )));
        }
        let v = SentenceVectors {
            path: path.to_path_buf(),
            map,
            dim,
            passages,
            rows,
        };
        let mut last = 0;
        for p in 0..=passages {
            let o = v.offset(p);
            if o < last || o > rows || (p == 0 && o != 0) {
                return Err(bad(format!("offset of passage {p} is out of order")));
            }
            last = o;
        }
        if last != rows {
            return Err(bad("the offsets do not end at the last row".into()));
        }
        Ok(v)
    }

    fn offset(&self, p: usize) -> usize {
        le_u32(&self.map, HEADER + p * 4) as usize
    }

    /// Sentences stored in all.
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Number of sentences stored for passage `passage`.
    pub fn count(&self, passage: usize) -> usize {
        if passage >= self.passages {
            return 0;
        }
        self.offset(passage + 1) - self.offset(passage)
    }

    /// Sentence `pos` of passage `passage`, or `None` when there is no
    /// such row or the row embeds another text than `text`.
    pub fn row(&self, passage: usize, pos: usize, text: &str) -> Option<SentenceRow<'_>> {
        if pos >= self.count(passage) {
            return None;
        }
        let row = self.offset(passage) + pos;
        let at = HEADER + (self.passages + 1) * 4 + row * (ROW_HEAD + self.dim);
        if le_u32(&self.map, at + 4) != text_tag(text) {
            return None;
        }
        Some(SentenceRow {
            scale: f32::from_le_bytes(self.map[at..at + 4].try_into().expect("4 bytes")),
            values: &self.map[at + ROW_HEAD..at + ROW_HEAD + self.dim],
        })
    }

    /// The dot product of `query` with sentence `pos` of passage `passage`
    /// (the cosine, for unit vectors), or `None` when there is no such row,
    /// the row embeds another text than `text`, or `query` is not `dim`
    /// long.
    pub fn dot(&self, passage: usize, pos: usize, text: &str, query: &[f32]) -> Option<f32> {
        if query.len() != self.dim {
            return None;
        }
        Some(self.row(passage, pos, text)?.dot(query))
    }
}

impl SentenceVectors {
    /// The `k` stored sentences closest to `query` (a unit vector of `dim`):
    /// (passage, position, cosine), best first. One pass over every row,
    /// in integers: the query is quantized to int8 like the rows.
    pub fn nearest(&self, query: &[f32], k: usize) -> Vec<(usize, usize, f32)> {
        if query.len() != self.dim || k == 0 || self.rows == 0 {
            return Vec::new();
        }
        let qmax = query
            .iter()
            .fold(0f32, |m, x| m.max(x.abs()))
            .max(f32::MIN_POSITIVE);
        let qscale = qmax / 127.0;
        let q: Vec<i8> = query
            .iter()
            .map(|x| (x / qscale).round().clamp(-127.0, 127.0) as i8)
            .collect();
        let base = HEADER + (self.passages + 1) * 4;
        let stride = ROW_HEAD + self.dim;
        // (cosine, row), the worst first once full.
        let mut top: Vec<(f32, usize)> = Vec::with_capacity(k + 1);
        let mut worst = f32::MIN;
        for row in 0..self.rows {
            let at = base + row * stride;
            let values = &self.map[at + ROW_HEAD..at + stride];
            let scale = f32::from_le_bytes(self.map[at..at + 4].try_into().expect("4 bytes"));
            let cos = dot_i8(&q, values) as f32 * scale * qscale;
            if top.len() < k || cos > worst {
                top.push((cos, row));
                if top.len() > k {
                    top.sort_by(|a, b| b.0.total_cmp(&a.0));
                    top.truncate(k);
                }
                worst = if top.len() == k {
                    top.iter().map(|t| t.0).fold(f32::MAX, f32::min)
                } else {
                    f32::MIN
                };
            }
        }
        top.sort_by(|a, b| b.0.total_cmp(&a.0));
        // Rows to (passage, position): the offsets are in order.
        top.into_iter()
            .map(|(cos, row)| {
                let (mut lo, mut hi) = (0, self.passages);
                while lo + 1 < hi {
                    let mid = (lo + hi) / 2;
                    if self.offset(mid) <= row {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                // Skip passages with no sentences that share the offset.
                while lo + 1 < self.passages && self.offset(lo + 1) <= row {
                    lo += 1;
                }
                (lo, row - self.offset(lo), cos)
            })
            .collect()
    }
}

/// The integer dot product of an int8 query with a stored row (bytes of
/// int8), compiled for AVX-512 or AVX2 where the CPU has them.
fn dot_i8(q: &[i8], row: &[u8]) -> i32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512bw") {
            // SAFETY: the CPU has AVX-512 BW, checked just above.
            return unsafe { dot_i8_avx512(q, row) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { dot_i8_avx2(q, row) };
        }
    }
    dot_i8_portable(q, row)
}

fn dot_i8_portable(q: &[i8], row: &[u8]) -> i32 {
    q.iter()
        .zip(row)
        .map(|(&a, &b)| i32::from(a) * i32::from(b as i8))
        .sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn dot_i8_avx512(q: &[i8], row: &[u8]) -> i32 {
    dot_i8_portable(q, row)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_i8_avx2(q: &[i8], row: &[u8]) -> i32 {
    // The same loop; the compiler vectorizes it with AVX2 here.
    dot_i8_portable(q, row)
}

/// One stored sentence embedding.
#[derive(Debug, Clone, Copy)]
pub struct SentenceRow<'a> {
    scale: f32,
    values: &'a [u8],
}

impl SentenceRow<'_> {
    /// The dot product with `query` (extra components on either side are
    /// ignored).
    pub fn dot(&self, query: &[f32]) -> f32 {
        let sum: f32 = self
            .values
            .iter()
            .zip(query)
            .map(|(&v, q)| f32::from(v as i8) * q)
            .sum();
        sum * self.scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dot;

    #[test]
    fn integer_dots_agree() {
        let q: Vec<i8> = (0..384).map(|i: i32| (i * 37 % 255 - 127) as i8).collect();
        let r: Vec<u8> = (0..384).map(|i| (i * 91 % 256) as u8).collect();
        assert_eq!(dot_i8(&q, &r), dot_i8_portable(&q, &r));
    }

    fn unit(seed: usize, dim: usize) -> Vec<f32> {
        let v: Vec<f32> = (0..dim)
            .map(|i| (((i + 1) * (seed + 3) * 37 % 101) as f32 - 50.0).sin())
            .collect();
        let n = dot(&v, &v).sqrt();
        v.into_iter().map(|x| x / n).collect()
    }

    #[test]
    fn stored_rows_give_the_cosines_within_rounding() {
        let tmp = tempfile::tempdir().unwrap();
        let dim = 32;
        let counts = [2u32, 0, 3];
        let rows: Vec<f32> = (0..5).flat_map(|s| unit(s, dim)).collect();
        let texts: Vec<String> = (0..5).map(|i| format!("Sentence {i}.")).collect();
        let tags: Vec<u32> = texts.iter().map(|t| text_tag(t)).collect();
        let path = tmp.path().join("s.i8");
        write_sentence_vectors(&path, dim, &counts, &tags, &rows).unwrap();
        let v = SentenceVectors::open(&path, dim, 3).unwrap();
        assert_eq!((v.len(), v.count(0), v.count(1), v.count(2)), (5, 2, 0, 3));
        let q = unit(99, dim);
        let mut row = 0;
        for (p, &c) in counts.iter().enumerate() {
            for pos in 0..c as usize {
                let exact = dot(&q, &rows[row * dim..(row + 1) * dim]);
                let got = v.dot(p, pos, &texts[row], &q).unwrap();
                assert!((exact - got).abs() < 0.01, "{exact} vs {got}");
                // Another sentence's text does not read this row.
                assert_eq!(v.dot(p, pos, "Another sentence.", &q), None);
                row += 1;
            }
            assert_eq!(v.dot(p, c as usize, &texts[0], &q), None);
        }
        assert_eq!(v.dot(3, 0, &texts[0], &q), None);
        assert_eq!(v.dot(0, 0, &texts[0], &q[..8]), None);
        // The nearest rows, found by one integer pass, are those of the
        // exact cosines, placed in their passages past the empty one.
        let mut exact: Vec<(f32, usize)> = (0..5)
            .map(|r| (dot(&q, &rows[r * dim..(r + 1) * dim]), r))
            .collect();
        exact.sort_by(|a, b| b.0.total_cmp(&a.0));
        let place = |r: usize| if r < 2 { (0, r) } else { (2, r - 2) };
        let near = v.nearest(&q, 3);
        assert_eq!(near.len(), 3);
        for ((cos, r), (p, pos, got)) in exact.iter().zip(&near) {
            assert_eq!(place(*r), (*p, *pos));
            assert!((cos - got).abs() < 0.02, "{cos} vs {got}");
        }
        assert_eq!(v.nearest(&q, 9).len(), 5);
        assert!(v.nearest(&q[..8], 3).is_empty());
    }

    #[test]
    fn damaged_files_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dim = 8;
        let path = tmp.path().join("s.i8");
        let rows: Vec<f32> = (0..3).flat_map(|s| unit(s, dim)).collect();
        write_sentence_vectors(&path, dim, &[1, 2], &[1, 2, 3], &rows).unwrap();
        assert!(SentenceVectors::open(&path, dim, 3).is_err());
        assert!(SentenceVectors::open(&path, 16, 2).is_err());
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert!(SentenceVectors::open(&path, dim, 2).is_err());
        // Offsets out of order.
        let mut bad = bytes.clone();
        bad[HEADER + 4..HEADER + 8].copy_from_slice(&5u32.to_le_bytes());
        std::fs::write(&path, &bad).unwrap();
        assert!(SentenceVectors::open(&path, dim, 2).is_err());
        std::fs::write(&path, b"short").unwrap();
        assert!(SentenceVectors::open(&path, dim, 2).is_err());
        assert!(write_sentence_vectors(&path, dim, &[4], &[1, 2, 3, 4], &rows).is_err());
        assert!(write_sentence_vectors(&path, dim, &[3], &[1, 2], &rows).is_err());
    }
}
