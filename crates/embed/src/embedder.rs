//! all-MiniLM-L6-v2: tokenization (truncated at 256 tokens), a BERT forward
//! pass in length-sorted batches at the chosen [`Precision`] (int8 by
//! default, `crate::int8`; f32 on candle), mean pooling, L2
//! normalization.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use sha2::{Digest, Sha256};
use tokenizers::{Encoding, Tokenizer, TruncationParams};

use crate::{io_err, EmbedError, Result, DIM, MODEL_NAME};

/// The model's token limit (sentence-transformers' `max_seq_length`).
pub const MAX_TOKENS: usize = 256;
/// Texts per forward pass. Tuned on 2 cores with `examples/throughput.rs`
/// (BENCHMARKS.md): with length-sorted batches there is little padding to
/// save, and larger batches' activations fall out of cache (4: 18.8
/// passages/s, 8: 16.1, 32: ~11).
pub const BATCH: usize = 4;

/// Texts up to this many tokens take the single-text path (one thread;
/// beyond it candle's threaded gemm wins).
const FAST_MAX_TOKENS: usize = 128;

/// The files of the model and their sha256 (the same digests are pinned in
/// `scripts/fetch-models.sh`).
pub const FILES: [(&str, &str); 3] = [
    (
        "model.safetensors",
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    ),
    (
        "tokenizer.json",
        "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    ),
    (
        "config.json",
        "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    ),
];

/// How the model's arithmetic is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// int8 linear layers (AVX-512 VNNI where the CPU has it): the default.
    Int8,
    /// The original f32 model on candle (and `crate::fast` for questions).
    F32,
}

impl Precision {
    /// The environment variable that chooses it: `int8` (default) or `f32`.
    pub const ENV: &'static str = "SEXTANT_EMBED_PRECISION";

    /// The precision `SEXTANT_EMBED_PRECISION` names; int8 when unset.
    pub fn from_env() -> Result<Precision> {
        match std::env::var(Self::ENV) {
            Err(_) => Ok(Precision::Int8),
            Ok(v) => Precision::parse(&v).ok_or_else(|| EmbedError::Load {
                path: Self::ENV.to_string(),
                reason: format!("{v:?} is not a precision; use int8 or f32"),
            }),
        }
    }

    pub fn parse(s: &str) -> Option<Precision> {
        match s.trim() {
            "" | "int8" => Some(Precision::Int8),
            "f32" => Some(Precision::F32),
            _ => None,
        }
    }

    /// The precision whose vectors carry this model id (what
    /// [`Embedder::model_id`] wrote into a knowledge base or cache).
    pub fn of_model_id(id: &str) -> Precision {
        if id.ends_with("-int8") {
            Precision::Int8
        } else {
            Precision::F32
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Int8 => "int8",
            Precision::F32 => "f32",
        }
    }
}

enum Engine {
    F32 {
        model: Box<BertModel>,
        /// The same weights for one short text at a time (questions); see
        /// `crate::fast`.
        fast: Box<crate::fast::FastBert>,
    },
    Int8(Box<crate::int8::QuantBert>),
}

/// A loaded sentence embedder.
pub struct Embedder {
    engine: Engine,
    precision: Precision,
    tokenizer: Tokenizer,
    dir: PathBuf,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("dir", &self.dir)
            .field("precision", &self.precision)
            .finish()
    }
}

fn infer(e: impl std::fmt::Display) -> EmbedError {
    EmbedError::Inference(e.to_string())
}

/// Whether the model's files are present (not whether they are intact).
pub fn model_present(models_dir: &Path) -> bool {
    let dir = models_dir.join(MODEL_NAME);
    FILES.iter().all(|(f, _)| dir.join(f).is_file())
}

impl Embedder {
    /// Loads the model from `models_dir/all-MiniLM-L6-v2`, checking every
    /// file's sha256 first, at the precision `SEXTANT_EMBED_PRECISION`
    /// names (int8 by default).
    pub fn load(models_dir: &Path) -> Result<Embedder> {
        Embedder::load_with(models_dir, Precision::from_env()?)
    }

    /// [`Embedder::load`] at a chosen precision.
    pub fn load_with(models_dir: &Path, precision: Precision) -> Result<Embedder> {
        let dir = models_dir.join(MODEL_NAME);
        let mut mapped = Vec::new();
        for (name, expected) in FILES {
            let path = dir.join(name);
            let file = match std::fs::File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(EmbedError::ModelMissing {
                        path: path.display().to_string(),
                    })
                }
                Err(e) => return Err(io_err(&path)(e)),
            };
            // SAFETY: the map is read-only and dropped once the weights are
            // copied out; the files belong to Sextant's models folder.
            let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io_err(&path))?;
            let actual = hex(&Sha256::digest(&map[..]));
            if actual != expected {
                return Err(EmbedError::Checksum {
                    path: path.display().to_string(),
                    expected: expected.to_string(),
                    actual,
                });
            }
            mapped.push(map);
        }
        let load_err = |reason: String| EmbedError::Load {
            path: dir.display().to_string(),
            reason,
        };
        let config: Config =
            serde_json::from_slice(&mapped[2]).map_err(|e| load_err(e.to_string()))?;
        let mut tokenizer =
            Tokenizer::from_bytes(&mapped[1][..]).map_err(|e| load_err(e.to_string()))?;
        // The shipped tokenizer pads and truncates to 128; we pad per batch
        // ourselves and truncate at the model's 256.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| load_err(e.to_string()))?;
        let fast = crate::fast::FastBert::load(&mapped[0])?;
        let engine = match precision {
            Precision::F32 => {
                keep_freed_memory();
                let vb = VarBuilder::from_slice_safetensors(&mapped[0], DType::F32, &Device::Cpu)
                    .map_err(|e| load_err(e.to_string()))?;
                let model = BertModel::load(vb, &config).map_err(|e| load_err(e.to_string()))?;
                Engine::F32 {
                    model: Box::new(model),
                    fast: Box::new(fast),
                }
            }
            Precision::Int8 => Engine::Int8(Box::new(crate::int8::QuantBert::from_f32(fast)?)),
        };
        Ok(Embedder {
            engine,
            precision,
            tokenizer,
            dir,
        })
    }

    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// A name for the model and how it is run, for caches and manifests.
    /// Vectors of the two precisions are cached apart.
    pub fn model_id(&self) -> String {
        let base = format!("{MODEL_NAME}-{}-t{MAX_TOKENS}", &FILES[0].1[..12]);
        match self.precision {
            Precision::F32 => base,
            Precision::Int8 => format!("{base}-int8"),
        }
    }

    /// Mean number of tokens of `texts` as the model sees them (truncated).
    pub fn mean_tokens(&self, texts: &[&str]) -> Result<f64> {
        let encs = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(infer)?;
        Ok(encs.iter().map(|e| e.len()).sum::<usize>() as f64 / encs.len().max(1) as f64)
    }

    /// Embeds one text. In f32, a short one (a question, a sentence) takes
    /// the single-text forward pass and a long one candle.
    pub fn embed_one(&self, text: &str) -> Result<Vec<f32>> {
        let enc = self.tokenizer.encode(text, true).map_err(infer)?;
        match &self.engine {
            Engine::Int8(q) => q.embed(&[enc.get_ids()]),
            Engine::F32 { fast, .. } if enc.len() <= FAST_MAX_TOKENS => fast.embed(enc.get_ids()),
            Engine::F32 { model, .. } => forward_candle(model, &[&enc]),
        }
    }

    /// [`Embedder::embed_one`] always through candle (to compare the two);
    /// f32 only.
    pub fn embed_one_candle(&self, text: &str) -> Result<Vec<f32>> {
        let enc = self.tokenizer.encode(text, true).map_err(infer)?;
        match &self.engine {
            Engine::F32 { model, .. } => forward_candle(model, &[&enc]),
            Engine::Int8(_) => Err(infer("candle runs the f32 model only")),
        }
    }

    /// Embeds texts, `DIM` floats each, in the given order. `done` is told
    /// how many are finished after every batch.
    pub fn embed(&self, texts: &[&str], done: &(dyn Fn(usize) + Sync)) -> Result<Vec<f32>> {
        self.embed_batched(texts, BATCH, done)
    }

    /// [`Embedder::embed`] with a chosen batch size. In int8 a batch is
    /// laid end to end without padding, one worker per core. In f32,
    /// batches run on `cores / candle threads` worker threads: candle's
    /// elementwise operations are single-threaded, so with candle limited
    /// to one thread (`RAYON_NUM_THREADS=1`, as `sextant ingest` sets it)
    /// whole batches in parallel keep both cores busy where per-operation
    /// threading leaves one idle (19 vs 12.5 passages/s on 2 cores).
    pub fn embed_batched(
        &self,
        texts: &[&str],
        batch: usize,
        done: &(dyn Fn(usize) + Sync),
    ) -> Result<Vec<f32>> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Mutex;
        let encs = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(infer)?;
        // Batches of similar length carry little padding.
        let mut order: Vec<usize> = (0..encs.len()).collect();
        order.sort_by_key(|&i| encs[i].len());
        let groups: Vec<&[usize]> = order.chunks(batch.max(1)).collect();
        let workers = match self.engine {
            Engine::Int8(_) => cores(),
            Engine::F32 { .. } => cores() / candle_threads(),
        }
        .min(groups.len())
        .max(1);
        let next = AtomicUsize::new(0);
        let finished = AtomicUsize::new(0);
        let out = Mutex::new(vec![0f32; texts.len() * DIM]);
        let work = || -> Result<()> {
            loop {
                let g = next.fetch_add(1, Ordering::Relaxed);
                let Some(group) = groups.get(g) else {
                    return Ok(());
                };
                let vecs = match &self.engine {
                    Engine::Int8(q) => {
                        let ids: Vec<&[u32]> = group.iter().map(|&i| encs[i].get_ids()).collect();
                        q.embed(&ids)?
                    }
                    Engine::F32 { model, .. } => {
                        let batch: Vec<&Encoding> = group.iter().map(|&i| &encs[i]).collect();
                        forward_candle(model, &batch)?
                    }
                };
                {
                    let mut out = out.lock().unwrap_or_else(|p| p.into_inner());
                    for (k, &i) in group.iter().enumerate() {
                        out[i * DIM..(i + 1) * DIM].copy_from_slice(&vecs[k * DIM..(k + 1) * DIM]);
                    }
                }
                done(finished.fetch_add(group.len(), Ordering::Relaxed) + group.len());
            }
        };
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..workers).map(|_| s.spawn(work)).collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(infer("embedding worker panicked")))
                })
                .collect::<Result<Vec<()>>>()
        })?;
        Ok(out.into_inner().unwrap_or_else(|p| p.into_inner()))
    }
}

/// One forward pass on candle: pads to the longest, pools, normalizes.
fn forward_candle(model: &BertModel, batch: &[&Encoding]) -> Result<Vec<f32>> {
    let n = batch.len();
    if n == 0 {
        return Ok(Vec::new());
    }
    let len = batch.iter().map(|e| e.len()).max().unwrap_or(0).max(1);
    let mut ids = vec![0u32; n * len];
    let mut mask = vec![0u32; n * len];
    for (r, e) in batch.iter().enumerate() {
        for (c, (&id, &m)) in e.get_ids().iter().zip(e.get_attention_mask()).enumerate() {
            ids[r * len + c] = id;
            mask[r * len + c] = m;
        }
    }
    let dev = Device::Cpu;
    let ids = Tensor::from_vec(ids, (n, len), &dev).map_err(infer)?;
    let mask = Tensor::from_vec(mask, (n, len), &dev).map_err(infer)?;
    let types = ids.zeros_like().map_err(infer)?;
    let hidden = model.forward(&ids, &types, Some(&mask)).map_err(infer)?;
    // Mean over real tokens only.
    let m = mask
        .to_dtype(DType::F32)
        .map_err(infer)?
        .unsqueeze(2)
        .map_err(infer)?;
    let summed = hidden
        .broadcast_mul(&m)
        .and_then(|t| t.sum(1))
        .map_err(infer)?;
    let counts = m
        .sum(1)
        .and_then(|c| c.clamp(1e-9, f32::MAX))
        .map_err(infer)?;
    let mean = summed.broadcast_div(&counts).map_err(infer)?;
    let norm = mean
        .sqr()
        .and_then(|s| s.sum_keepdim(1))
        .and_then(|s| s.sqrt())
        .and_then(|s| s.clamp(1e-12, f32::MAX))
        .map_err(infer)?;
    let unit = mean.broadcast_div(&norm).map_err(infer)?;
    unit.flatten_all()
        .and_then(|t| t.to_vec1::<f32>())
        .map_err(infer)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The threads candle gives each operation: like rayon, `RAYON_NUM_THREADS`
/// or else one per core.
fn candle_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(cores)
}

/// Candle allocates fresh buffers for every operation; glibc would hand
/// large ones back to the kernel and fault them in again, a tenth of the
/// embedding time. Keeping freed memory in the process costs no more than the
/// peak it already reached.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes glibc's allocator thresholds.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embedder_with(precision: Precision) -> Option<Embedder> {
        let dir = crate::models_dir(None);
        if !model_present(&dir) {
            eprintln!("skipping: model not installed in {}", dir.display());
            return None;
        }
        Some(Embedder::load_with(&dir, precision).expect("model loads"))
    }

    fn embedder() -> Option<Embedder> {
        embedder_with(Precision::F32)
    }

    /// The int8 encoder stays close to f32 on real text: every lay
    /// question and a sample of cancer.gov-like passages, alone and in
    /// batches of mixed lengths.
    #[test]
    fn int8_is_close_to_f32() {
        let (Some(f), Some(q)) = (embedder(), embedder_with(Precision::Int8)) else {
            return;
        };
        let tsv = include_str!("../../eval/data/lay-questions.tsv");
        let mut texts: Vec<String> = tsv
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split('\t').nth(1))
            .map(str::to_string)
            .collect();
        for i in 1..12 {
            texts.push(
                "Radiation therapy to the chest may cause tiredness, skin changes and trouble \
                 swallowing for some weeks after treatment ends. "
                    .repeat(i),
            );
        }
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let a = f.embed(&refs, &|_| {}).unwrap();
        let b = q.embed(&refs, &|_| {}).unwrap();
        let mut worst = 1f32;
        let mut sum = 0f32;
        for (x, y) in a.chunks(DIM).zip(b.chunks(DIM)) {
            let cos = crate::dot(x, y);
            worst = worst.min(cos);
            sum += cos;
        }
        let mean = sum / refs.len() as f32;
        assert!(
            worst > 0.98 && mean > 0.99,
            "cosine mean {mean}, worst {worst}"
        );
        // One at a time gives what the batch gave.
        for (i, t) in refs.iter().enumerate().step_by(17) {
            let one = q.embed_one(t).unwrap();
            let cos = crate::dot(&one, &b[i * DIM..(i + 1) * DIM]);
            assert!(cos > 0.99999, "text {i}: {cos}");
        }
        assert_ne!(f.model_id(), q.model_id(), "cached apart");
    }

    #[test]
    fn precision_is_read_from_its_words() {
        assert_eq!(Precision::parse("int8"), Some(Precision::Int8));
        assert_eq!(Precision::parse(" f32 "), Some(Precision::F32));
        assert_eq!(Precision::parse("fp16"), None);
    }

    /// The single-text path computes what candle computes: real questions
    /// from the lay-question set (and edge cases) agree to a cosine of
    /// 0.99999, and the longest take candle's path.
    #[test]
    fn fast_path_matches_candle() {
        let Some(e) = embedder() else { return };
        let tsv = include_str!("../../eval/data/lay-questions.tsv");
        let mut qs: Vec<String> = tsv
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split('\t').nth(1))
            .step_by(7)
            .map(str::to_string)
            .collect();
        qs.extend(
            [
                "x",
                "?",
                "HER2+ ER- PR- IDC, T2N1M0 — stage IIB? 5-FU/leucovorin 25%",
            ]
            .map(String::from),
        );
        qs.push("word ".repeat(140)); // over the fast path's limit
        assert!(qs.len() > 25);
        for q in &qs {
            let fast = e.embed_one(q).unwrap();
            let slow = e.embed_one_candle(q).unwrap();
            let cos: f32 = fast.iter().zip(&slow).map(|(a, b)| a * b).sum();
            assert!(cos > 0.99999, "{q:?}: cosine {cos}");
        }
    }

    #[test]
    fn vectors_are_unit_length_and_deterministic() {
        let Some(e) = embedder() else { return };
        let texts = [
            "Chemotherapy can cause nausea and vomiting.",
            "short",
            "A much longer text about radiation therapy to the chest, which may cause \
             tiredness, skin changes and trouble swallowing for some weeks after treatment.",
        ];
        let a = e.embed(&texts, &|_| {}).unwrap();
        let b = e.embed(&texts, &|_| {}).unwrap();
        assert_eq!(a, b, "same input, same vectors");
        for v in a.chunks(DIM) {
            let n: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((n - 1.0).abs() < 1e-5, "norm {n}");
        }
    }

    #[test]
    fn batched_equals_one_by_one() {
        let Some(e) = embedder() else { return };
        let texts: Vec<String> = (0..11)
            .map(|i| "the tumor was removed by surgery ".repeat(i + 1))
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        for batch in [1, 4, 32] {
            let all = e.embed_batched(&refs, batch, &|_| {}).unwrap();
            for (i, t) in refs.iter().enumerate() {
                let one = e.embed_one(t).unwrap();
                let diff = one
                    .iter()
                    .zip(&all[i * DIM..(i + 1) * DIM])
                    .map(|(x, y)| (x - y).abs())
                    .fold(0f32, f32::max);
                assert!(diff < 1e-5, "batch {batch}, text {i}: max diff {diff}");
            }
        }
    }

    #[test]
    fn lay_paraphrase_is_closer_than_unrelated_text() {
        let Some(e) = embedder() else { return };
        let v = e
            .embed(
                &[
                    "chemotherapy causes nausea",
                    "chemo made me sick to my stomach",
                    "the weather is nice today",
                ],
                &|_| {},
            )
            .unwrap();
        let (a, b, c) = (&v[..DIM], &v[DIM..2 * DIM], &v[2 * DIM..]);
        let near = crate::dot(a, b);
        let far = crate::dot(a, c);
        assert!(near > far + 0.2, "paraphrase {near} vs unrelated {far}");
    }

    #[test]
    fn long_text_is_truncated_not_refused() {
        let Some(e) = embedder() else { return };
        let long = "cancer ".repeat(2000);
        let v = e.embed_one(&long).unwrap();
        assert_eq!(v.len(), DIM);
    }

    #[test]
    fn missing_and_damaged_models_are_named() {
        let tmp = tempfile::tempdir().unwrap();
        let err = Embedder::load(tmp.path()).unwrap_err();
        assert!(matches!(err, EmbedError::ModelMissing { .. }), "{err}");
        assert!(err.to_string().contains("fetch-models.sh"));
        let dir = tmp.path().join(MODEL_NAME);
        std::fs::create_dir_all(&dir).unwrap();
        for (f, _) in FILES {
            std::fs::write(dir.join(f), b"not a model").unwrap();
        }
        let err = Embedder::load(tmp.path()).unwrap_err();
        assert!(matches!(err, EmbedError::Checksum { .. }), "{err}");
    }
}
