//! A single-text forward pass of all-MiniLM-L6-v2 in plain f32, for
//! questions.
//!
//! Why not candle for this: a question is ~15 tokens, so every linear layer
//! is a skinny product (15 × 384 by 384 × 1536) and candle's gemm spends
//! much of its time packing the weights again on each call (18.8 ms a
//! question on this machine). Here the weights stay in PyTorch's
//! `out × in` layout, each output is a dot product of two contiguous rows,
//! and an AVX2/FMA kernel (picked at run time; a portable loop otherwise)
//! computes four outputs for two tokens at once while the rows sit in L1.
//! One thread: the server answers several questions at once already.
//!
//! It computes exactly what `Embedder::forward` does for one text (BERT
//! with erf GELU, mean pooling, L2 normalization), to within float
//! rounding; `tests::matches_candle` holds it to a cosine of 0.99999 over
//! real questions. Passages (batches, long texts) still go through candle.

use std::collections::HashMap;

use candle_core::{Device, Tensor};

use crate::{EmbedError, Result, DIM};

const LAYERS: usize = 6;
const HEADS: usize = 12;
const HEAD_DIM: usize = DIM / HEADS;
const FFN: usize = 1536;
const EPS: f32 = 1e-12;

/// A linear layer, weights `out × in` row-major (PyTorch's layout).
pub(crate) struct Linear {
    pub(crate) w: Vec<f32>,
    pub(crate) b: Vec<f32>,
    pub(crate) out: usize,
    pub(crate) inp: usize,
}

pub(crate) struct Norm {
    pub(crate) g: Vec<f32>,
    pub(crate) b: Vec<f32>,
}

pub(crate) struct Layer {
    /// Query, key and value stacked: one `3·DIM × DIM` product.
    pub(crate) qkv: Linear,
    pub(crate) attn_out: Linear,
    pub(crate) attn_norm: Norm,
    pub(crate) up: Linear,
    pub(crate) down: Linear,
    pub(crate) out_norm: Norm,
}

/// The model's weights, copied out of the safetensors file.
pub(crate) struct FastBert {
    pub(crate) word: Vec<f32>,
    pub(crate) position: Vec<f32>,
    pub(crate) max_positions: usize,
    pub(crate) token_type0: Vec<f32>,
    pub(crate) emb_norm: Norm,
    pub(crate) layers: Vec<Layer>,
}

fn load_err(reason: String) -> EmbedError {
    EmbedError::Inference(format!("fast forward pass: {reason}"))
}

fn take(t: &HashMap<String, Tensor>, name: &str, len: usize) -> Result<Vec<f32>> {
    let v = t
        .get(name)
        .ok_or_else(|| load_err(format!("weight {name} missing")))?
        .flatten_all()
        .and_then(|x| x.to_vec1::<f32>())
        .map_err(|e| load_err(e.to_string()))?;
    if v.len() != len {
        return Err(load_err(format!(
            "weight {name} has {} values, not {len}",
            v.len()
        )));
    }
    Ok(v)
}

fn linear(t: &HashMap<String, Tensor>, name: &str, out: usize, inp: usize) -> Result<Linear> {
    Ok(Linear::new(
        take(t, &format!("{name}.weight"), out * inp)?,
        take(t, &format!("{name}.bias"), out)?,
        out,
        inp,
    ))
}

impl Linear {
    fn new(w: Vec<f32>, b: Vec<f32>, out: usize, inp: usize) -> Linear {
        Linear { w, b, out, inp }
    }
}

fn norm(t: &HashMap<String, Tensor>, name: &str) -> Result<Norm> {
    Ok(Norm {
        g: take(t, &format!("{name}.weight"), DIM)?,
        b: take(t, &format!("{name}.bias"), DIM)?,
    })
}

impl FastBert {
    pub(crate) fn load(safetensors: &[u8]) -> Result<FastBert> {
        let t = candle_core::safetensors::load_buffer(safetensors, &Device::Cpu)
            .map_err(|e| load_err(e.to_string()))?;
        // Some exports prefix every name with "bert.".
        let t: HashMap<String, Tensor> = t
            .into_iter()
            .map(|(k, v)| (k.strip_prefix("bert.").unwrap_or(&k).to_string(), v))
            .collect();
        let vocab = t
            .get("embeddings.word_embeddings.weight")
            .map(|w| w.elem_count() / DIM)
            .ok_or_else(|| load_err("no word embeddings".into()))?;
        let max_positions = t
            .get("embeddings.position_embeddings.weight")
            .map(|w| w.elem_count() / DIM)
            .ok_or_else(|| load_err("no position embeddings".into()))?;
        let mut layers = Vec::with_capacity(LAYERS);
        for i in 0..LAYERS {
            let p = format!("encoder.layer.{i}");
            let q = linear(&t, &format!("{p}.attention.self.query"), DIM, DIM)?;
            let k = linear(&t, &format!("{p}.attention.self.key"), DIM, DIM)?;
            let v = linear(&t, &format!("{p}.attention.self.value"), DIM, DIM)?;
            let qkv = Linear::new(
                [q.w, k.w, v.w].concat(),
                [q.b, k.b, v.b].concat(),
                3 * DIM,
                DIM,
            );
            layers.push(Layer {
                qkv,
                attn_out: linear(&t, &format!("{p}.attention.output.dense"), DIM, DIM)?,
                attn_norm: norm(&t, &format!("{p}.attention.output.LayerNorm"))?,
                up: linear(&t, &format!("{p}.intermediate.dense"), FFN, DIM)?,
                down: linear(&t, &format!("{p}.output.dense"), DIM, FFN)?,
                out_norm: norm(&t, &format!("{p}.output.LayerNorm"))?,
            });
        }
        Ok(FastBert {
            word: take(&t, "embeddings.word_embeddings.weight", vocab * DIM)?,
            position: take(
                &t,
                "embeddings.position_embeddings.weight",
                max_positions * DIM,
            )?,
            max_positions,
            token_type0: take(&t, "embeddings.token_type_embeddings.weight", 2 * DIM)?[..DIM]
                .to_vec(),
            emb_norm: norm(&t, "embeddings.LayerNorm")?,
            layers,
        })
    }

    /// The unit-length embedding of one tokenized text (ids with their
    /// special tokens, as the tokenizer gives them).
    pub(crate) fn embed(&self, ids: &[u32]) -> Result<Vec<f32>> {
        let n = ids.len().min(self.max_positions);
        if n == 0 {
            return Err(EmbedError::Inference("no tokens to embed".into()));
        }
        let vocab = self.word.len() / DIM;
        let mut x = vec![0f32; n * DIM];
        for (t, &id) in ids[..n].iter().enumerate() {
            let id = id as usize;
            if id >= vocab {
                return Err(EmbedError::Inference(format!("token id {id} out of range")));
            }
            let row = &mut x[t * DIM..(t + 1) * DIM];
            let w = &self.word[id * DIM..(id + 1) * DIM];
            let p = &self.position[t * DIM..(t + 1) * DIM];
            for i in 0..DIM {
                row[i] = w[i] + p[i] + self.token_type0[i];
            }
        }
        layer_norm(&mut x, &self.emb_norm);

        let mut qkv = vec![0f32; n * 3 * DIM];
        let mut ctx = vec![0f32; n * DIM];
        let mut tmp = vec![0f32; n * DIM];
        let mut up = vec![0f32; n * FFN];
        let mut scores = vec![0f32; n];
        let scale = 1.0 / (HEAD_DIM as f32).sqrt();
        for l in &self.layers {
            matmul(&x, n, &l.qkv, &mut qkv);
            // Self-attention, one head at a time; no padding to mask.
            for h in 0..HEADS {
                let off = h * HEAD_DIM;
                for i in 0..n {
                    let q = &qkv[i * 3 * DIM + off..][..HEAD_DIM];
                    let mut max = f32::NEG_INFINITY;
                    for (j, s) in scores.iter_mut().enumerate() {
                        let k = &qkv[j * 3 * DIM + DIM + off..][..HEAD_DIM];
                        *s = dot_small(q, k) * scale;
                        max = max.max(*s);
                    }
                    let mut sum = 0.0;
                    for s in scores.iter_mut() {
                        *s = (*s - max).exp();
                        sum += *s;
                    }
                    let c = &mut ctx[i * DIM + off..][..HEAD_DIM];
                    c.fill(0.0);
                    for (j, s) in scores.iter().enumerate() {
                        let p = s / sum;
                        let v = &qkv[j * 3 * DIM + 2 * DIM + off..][..HEAD_DIM];
                        for d in 0..HEAD_DIM {
                            c[d] += p * v[d];
                        }
                    }
                }
            }
            matmul(&ctx, n, &l.attn_out, &mut tmp);
            add_in_place(&mut x, &tmp);
            layer_norm(&mut x, &l.attn_norm);
            matmul(&x, n, &l.up, &mut up);
            for v in up.iter_mut() {
                *v = gelu(*v);
            }
            matmul(&up, n, &l.down, &mut tmp);
            add_in_place(&mut x, &tmp);
            layer_norm(&mut x, &l.out_norm);
        }
        // Mean over the tokens, then unit length.
        let mut mean = vec![0f32; DIM];
        for row in x.chunks_exact(DIM) {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v;
            }
        }
        let inv = 1.0 / n as f32;
        mean.iter_mut().for_each(|m| *m *= inv);
        let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        mean.iter_mut().for_each(|m| *m /= norm);
        Ok(mean)
    }
}

fn add_in_place(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

fn layer_norm(x: &mut [f32], n: &Norm) {
    for row in x.chunks_exact_mut(DIM) {
        let mean = row.iter().sum::<f32>() / DIM as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / DIM as f32;
        let inv = 1.0 / (var + EPS).sqrt();
        for ((v, g), b) in row.iter_mut().zip(&n.g).zip(&n.b) {
            *v = (*v - mean) * inv * g + b;
        }
    }
}

/// GELU with the error function (BERT's `gelu`, candle's `gelu_erf`).
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// The error function, Abramowitz & Stegun 7.1.26 (absolute error under
/// 1.5e-7, about f32's own precision).
fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = ((((1.061_405_4 * t - 1.453_152_1) * t + 1.421_413_7) * t - 0.284_496_74) * t
        + 0.254_829_6)
        * t;
    (1.0 - poly * (-a * a).exp()).copysign(x)
}

fn dot_small(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    for (ca, cb) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for i in 0..8 {
            acc[i] += ca[i] * cb[i];
        }
    }
    let rest: f32 = a
        .chunks_exact(8)
        .remainder()
        .iter()
        .zip(b.chunks_exact(8).remainder())
        .map(|(x, y)| x * y)
        .sum();
    acc.iter().sum::<f32>() + rest
}

/// `out[t][o] = x[t] · w[o] + b[o]` for `n` tokens.
fn matmul(x: &[f32], n: usize, l: &Linear, out: &mut [f32]) {
    debug_assert_eq!(x.len(), n * l.inp);
    let out = &mut out[..n * l.out];
    #[cfg(target_arch = "x86_64")]
    {
        if l.inp.is_multiple_of(8)
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA (checked above), and the
            // kernel reads only within the slices' bounds (inp % 8 == 0).
            unsafe { avx::matmul(x, n, l, out) };
            return;
        }
    }
    for t in 0..n {
        let xr = &x[t * l.inp..(t + 1) * l.inp];
        for o in 0..l.out {
            out[t * l.out + o] = dot_small(xr, &l.w[o * l.inp..(o + 1) * l.inp]) + l.b[o];
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx {
    use super::Linear;
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    unsafe fn hsum(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps(v, 1);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_hadd_ps(s, s);
        let s = _mm_hadd_ps(s, s);
        _mm_cvtss_f32(s)
    }

    /// Four weight rows against two tokens per pass: eight accumulators in
    /// registers, six loads for eight fused multiply-adds; the four rows
    /// stay in L1 while every pair of tokens passes over them, so the
    /// weights stream from memory once. (Broadcasting inputs over the
    /// transposed weights, gemm's way without packing, measured 1.5× slower
    /// here: its strided rows miss the cache.) Leftover rows and tokens take
    /// a one-by-one dot product.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn matmul(x: &[f32], n: usize, l: &Linear, out: &mut [f32]) {
        let k = l.inp;
        let xp = x.as_ptr();
        let wp = l.w.as_ptr();
        let full_rows = l.out / 4 * 4;
        let full_toks = n / 2 * 2;
        let mut o = 0;
        while o < full_rows {
            let (w0, w1, w2, w3) = (
                wp.add(o * k),
                wp.add((o + 1) * k),
                wp.add((o + 2) * k),
                wp.add((o + 3) * k),
            );
            let mut t = 0;
            while t < full_toks {
                let (x0, x1) = (xp.add(t * k), xp.add((t + 1) * k));
                let mut a00 = _mm256_setzero_ps();
                let mut a01 = _mm256_setzero_ps();
                let mut a02 = _mm256_setzero_ps();
                let mut a03 = _mm256_setzero_ps();
                let mut a10 = _mm256_setzero_ps();
                let mut a11 = _mm256_setzero_ps();
                let mut a12 = _mm256_setzero_ps();
                let mut a13 = _mm256_setzero_ps();
                let mut i = 0;
                while i < k {
                    let xa = _mm256_loadu_ps(x0.add(i));
                    let xb = _mm256_loadu_ps(x1.add(i));
                    let v0 = _mm256_loadu_ps(w0.add(i));
                    a00 = _mm256_fmadd_ps(xa, v0, a00);
                    a10 = _mm256_fmadd_ps(xb, v0, a10);
                    let v1 = _mm256_loadu_ps(w1.add(i));
                    a01 = _mm256_fmadd_ps(xa, v1, a01);
                    a11 = _mm256_fmadd_ps(xb, v1, a11);
                    let v2 = _mm256_loadu_ps(w2.add(i));
                    a02 = _mm256_fmadd_ps(xa, v2, a02);
                    a12 = _mm256_fmadd_ps(xb, v2, a12);
                    let v3 = _mm256_loadu_ps(w3.add(i));
                    a03 = _mm256_fmadd_ps(xa, v3, a03);
                    a13 = _mm256_fmadd_ps(xb, v3, a13);
                    i += 8;
                }
                let r0 = t * l.out + o;
                let r1 = (t + 1) * l.out + o;
                out[r0] = hsum(a00) + l.b[o];
                out[r0 + 1] = hsum(a01) + l.b[o + 1];
                out[r0 + 2] = hsum(a02) + l.b[o + 2];
                out[r0 + 3] = hsum(a03) + l.b[o + 3];
                out[r1] = hsum(a10) + l.b[o];
                out[r1 + 1] = hsum(a11) + l.b[o + 1];
                out[r1 + 2] = hsum(a12) + l.b[o + 2];
                out[r1 + 3] = hsum(a13) + l.b[o + 3];
                t += 2;
            }
            for t in full_toks..n {
                for r in o..o + 4 {
                    out[t * l.out + r] = dot(xp.add(t * k), wp.add(r * k), k) + l.b[r];
                }
            }
            o += 4;
        }
        for r in full_rows..l.out {
            for t in 0..n {
                out[t * l.out + r] = dot(xp.add(t * k), wp.add(r * k), k) + l.b[r];
            }
        }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot(a: *const f32, b: *const f32, k: usize) -> f32 {
        let mut acc = _mm256_setzero_ps();
        let mut i = 0;
        while i < k {
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(a.add(i)), _mm256_loadu_ps(b.add(i)), acc);
            i += 8;
        }
        hsum(acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_known_values() {
        for (x, want) in [
            (0.0f32, 0.0f32),
            (0.5, 0.520_499_9),
            (1.0, 0.842_700_8),
            (-1.0, -0.842_700_8),
            (2.0, 0.995_322_3),
            (-3.5, -0.999_999_3),
        ] {
            assert!((erf(x) - want).abs() < 5e-7, "erf({x}) = {}", erf(x));
        }
    }

    #[test]
    fn kernel_matches_the_portable_loop() {
        // Remainders of tokens and of rows; 44 inputs take the portable loop.
        for (n, inp, out) in [(5, 48, 7), (7, 40, 9), (1, 16, 16), (4, 44, 5)] {
            check_matmul(n, inp, out);
        }
    }

    fn check_matmul(n: usize, inp: usize, out: usize) {
        let x: Vec<f32> = (0..n * inp)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
            .collect();
        let l = Linear::new(
            (0..out * inp)
                .map(|i| ((i * 53 % 97) as f32 - 48.0) / 30.0)
                .collect(),
            (0..out).map(|i| i as f32 * 0.1).collect(),
            out,
            inp,
        );
        let mut got = vec![0f32; n * out];
        matmul(&x, n, &l, &mut got);
        for t in 0..n {
            for o in 0..out {
                let want =
                    dot_small(&x[t * inp..(t + 1) * inp], &l.w[o * inp..(o + 1) * inp]) + l.b[o];
                let g = got[t * out + o];
                assert!(
                    (g - want).abs() <= 1e-4 * want.abs().max(1.0),
                    "{t},{o}: {g} vs {want}"
                );
            }
        }
    }
}
