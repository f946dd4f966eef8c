//! all-MiniLM-L6-v2 with int8 linear layers: the default encoder, for
//! passages and questions alike.
//!
//! **What is quantized.** Every linear layer (query/key/value, attention
//! output, the feed-forward pair: 96% of the model's multiply-adds) runs in
//! integers. Weights are int8, one scale per output row, quantized once at
//! load. Activations are quantized per token as they arrive, asymmetric
//! (`x ≈ s·(q − z)`, `q` in 0..=255), so the skewed outputs of GELU keep
//! their full range. Embeddings, layer norms, softmax, GELU and pooling stay
//! in f32.
//!
//! **Why integers.** On this CPU an AVX-512 VNNI instruction (`vpdpbusd`)
//! does 64 multiply-adds of u8 × i8 into 32-bit sums, four times an f32
//! FMA's 16. Integer sums are exact, so every kernel (VNNI or the portable
//! loop) gives the same bits.
//!
//! **No padding.** The texts of a batch are laid end to end: the linear
//! layers see one matrix of all their tokens, and attention runs per text
//! over its own tokens. A batch of mixed lengths costs what its tokens cost.
//!
//! `tests` hold it to the f32 path (cosine ≥ 0.99 per text on real passages
//! and questions); `sextant eval retrieval` compares the two on retrieval.

use crate::fast::{FastBert, Norm};
use crate::{EmbedError, Result, DIM};

const HEADS: usize = 12;
const HEAD_DIM: usize = DIM / HEADS;
const FFN: usize = 1536;
const EPS: f32 = 1e-12;
/// Outputs per kernel block: four 16-lane registers.
const BLOCK: usize = 64;
/// Tokens per kernel tile (24 accumulators of 32 registers).
const TILE: usize = 6;

/// A linear layer with int8 weights packed for the VNNI kernel.
///
/// Layout: for each block of 64 outputs, for each group of four inputs,
/// the 64 outputs' four weights side by side (256 bytes), so one step of
/// the kernel loads four registers and broadcasts four input bytes.
struct QLinear {
    packed: Vec<i8>,
    /// Sum of each output row's int8 weights (for the activations' zero
    /// point).
    wsum: Vec<i32>,
    /// Each output row's weight scale.
    scale: Vec<f32>,
    bias: Vec<f32>,
    out: usize,
    inp: usize,
}

impl QLinear {
    fn quantize(w: &[f32], bias: &[f32], out: usize, inp: usize) -> Result<QLinear> {
        if !out.is_multiple_of(BLOCK)
            || !inp.is_multiple_of(4)
            || w.len() != out * inp
            || bias.len() != out
        {
            return Err(EmbedError::Inference(format!(
                "int8 encoder: a {out}×{inp} layer does not fit the kernel"
            )));
        }
        let mut q = vec![0i8; out * inp];
        let mut scale = vec![0f32; out];
        let mut wsum = vec![0i32; out];
        for o in 0..out {
            let row = &w[o * inp..(o + 1) * inp];
            let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            let s = if max > 0.0 { max / 127.0 } else { 1.0 };
            scale[o] = s;
            for (k, v) in row.iter().enumerate() {
                let x = (v / s).round().clamp(-127.0, 127.0) as i8;
                q[o * inp + k] = x;
                wsum[o] += x as i32;
            }
        }
        let mut packed = vec![0i8; out * inp];
        for b in 0..out / BLOCK {
            for kq in 0..inp / 4 {
                for j in 0..BLOCK {
                    for r in 0..4 {
                        packed[b * BLOCK * inp + kq * BLOCK * 4 + j * 4 + r] =
                            q[(b * BLOCK + j) * inp + kq * 4 + r];
                    }
                }
            }
        }
        Ok(QLinear {
            packed,
            wsum,
            scale,
            bias: bias.to_vec(),
            out,
            inp,
        })
    }
}

struct Layer {
    qkv: QLinear,
    attn_out: QLinear,
    attn_norm: Norm,
    up: QLinear,
    down: QLinear,
    out_norm: Norm,
}

/// The int8 model.
pub(crate) struct QuantBert {
    word: Vec<f32>,
    position: Vec<f32>,
    max_positions: usize,
    token_type0: Vec<f32>,
    emb_norm: Norm,
    layers: Vec<Layer>,
    vnni: bool,
}

/// Activations of one linear layer's input, quantized per token.
#[derive(Default)]
struct QActs {
    q: Vec<u8>,
    scale: Vec<f32>,
    zero: Vec<i32>,
}

/// Working buffers, kept between batches.
#[derive(Default)]
struct Scratch {
    x: Vec<f32>,
    qkv: Vec<f32>,
    ctx: Vec<f32>,
    tmp: Vec<f32>,
    up: Vec<f32>,
    acts: QActs,
    kt: Vec<f32>,
    scores: Vec<f32>,
}

impl QuantBert {
    /// Quantizes the f32 model's linear layers; takes its other weights
    /// over.
    pub(crate) fn from_f32(m: FastBert) -> Result<QuantBert> {
        let q = |l: &crate::fast::Linear| QLinear::quantize(&l.w, &l.b, l.out, l.inp);
        let mut layers = Vec::with_capacity(m.layers.len());
        for l in m.layers {
            layers.push(Layer {
                qkv: q(&l.qkv)?,
                attn_out: q(&l.attn_out)?,
                attn_norm: l.attn_norm,
                up: q(&l.up)?,
                down: q(&l.down)?,
                out_norm: l.out_norm,
            });
        }
        Ok(QuantBert {
            word: m.word,
            position: m.position,
            max_positions: m.max_positions,
            token_type0: m.token_type0,
            emb_norm: m.emb_norm,
            layers,
            vnni: has_vnni(),
        })
    }

    /// Forces the portable kernel (tests compare the two).
    #[cfg(test)]
    fn portable(mut self) -> QuantBert {
        self.vnni = false;
        self
    }

    /// Unit-length embeddings of tokenized texts (ids with their special
    /// tokens), `DIM` floats each, in order.
    pub(crate) fn embed(&self, texts: &[&[u32]]) -> Result<Vec<f32>> {
        let mut scratch = Scratch::default();
        self.embed_with(texts, &mut scratch)
    }

    fn embed_with(&self, texts: &[&[u32]], s: &mut Scratch) -> Result<Vec<f32>> {
        let vocab = self.word.len() / DIM;
        let mut spans = Vec::with_capacity(texts.len());
        let mut total = 0;
        for ids in texts {
            let n = ids.len().min(self.max_positions);
            if n == 0 {
                return Err(EmbedError::Inference("no tokens to embed".into()));
            }
            spans.push((total, n));
            total += n;
        }
        s.x.clear();
        s.x.resize(total * DIM, 0.0);
        for (ids, &(start, n)) in texts.iter().zip(&spans) {
            for (t, &id) in ids[..n].iter().enumerate() {
                let id = id as usize;
                if id >= vocab {
                    return Err(EmbedError::Inference(format!("token id {id} out of range")));
                }
                let row = &mut s.x[(start + t) * DIM..(start + t + 1) * DIM];
                let w = &self.word[id * DIM..(id + 1) * DIM];
                let p = &self.position[t * DIM..(t + 1) * DIM];
                for i in 0..DIM {
                    row[i] = w[i] + p[i] + self.token_type0[i];
                }
            }
        }
        #[cfg(target_arch = "x86_64")]
        if self.vnni {
            // SAFETY: the CPU has AVX-512 F/BW/VNNI (checked at load), and
            // every access in the forward pass is bounds-checked or within
            // the slices it was given (see `vnni::gemm`).
            unsafe { forward_avx512(self, &spans, s) };
            return Ok(pool(&s.x, &spans));
        }
        forward::<false>(self, &spans, s);
        Ok(pool(&s.x, &spans))
    }
}

fn has_vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The forward pass compiled for AVX-512: the f32 loops below are inlined
/// here and vectorized 16 lanes wide.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
unsafe fn forward_avx512(m: &QuantBert, spans: &[(usize, usize)], s: &mut Scratch) {
    forward::<true>(m, spans, s)
}

#[inline(always)]
fn forward<const F: bool>(m: &QuantBert, spans: &[(usize, usize)], s: &mut Scratch) {
    let total = s.x.len() / DIM;
    layer_norm(&mut s.x, &m.emb_norm);
    s.qkv.resize(total * 3 * DIM, 0.0);
    s.ctx.resize(total * DIM, 0.0);
    s.tmp.resize(total * DIM, 0.0);
    s.up.resize(total * FFN, 0.0);
    for l in &m.layers {
        linear(m.vnni, &s.x, total, &l.qkv, &mut s.acts, &mut s.qkv);
        for &(start, n) in spans {
            attention::<F>(&s.qkv, start, n, &mut s.ctx, &mut s.kt, &mut s.scores);
        }
        linear(m.vnni, &s.ctx, total, &l.attn_out, &mut s.acts, &mut s.tmp);
        add_in_place(&mut s.x, &s.tmp);
        layer_norm(&mut s.x, &l.attn_norm);
        linear(m.vnni, &s.x, total, &l.up, &mut s.acts, &mut s.up);
        for v in s.up.iter_mut() {
            *v = gelu(*v);
        }
        linear(m.vnni, &s.up, total, &l.down, &mut s.acts, &mut s.tmp);
        add_in_place(&mut s.x, &s.tmp);
        layer_norm(&mut s.x, &l.out_norm);
    }
}

/// Queries per block of attention: their scores and context sums stay in
/// registers (8 and 16 vectors) while keys and values stream past.
const QB: usize = 8;
/// Keys per block of scores: one 16-lane register.
const KB: usize = 16;

/// Self-attention of one text (tokens `start..start + n`), every head.
/// `F`: the caller is compiled for AVX-512 (the register-blocked kernel).
#[inline(always)]
fn attention<const F: bool>(
    qkv: &[f32],
    start: usize,
    n: usize,
    ctx: &mut [f32],
    kt: &mut Vec<f32>,
    scores: &mut Vec<f32>,
) {
    #[cfg(target_arch = "x86_64")]
    if F {
        // SAFETY: `F` is true only inside `forward_avx512`, which runs only
        // on a CPU with AVX-512.
        unsafe { vnni::attention(qkv, start, n, ctx, kt, scores) };
        return;
    }
    let scale = 1.0 / (HEAD_DIM as f32).sqrt();
    scores.resize(n, 0.0);
    let row = |t: usize| &qkv[(start + t) * 3 * DIM..(start + t + 1) * 3 * DIM];
    for h in 0..HEADS {
        let off = h * HEAD_DIM;
        for i in 0..n {
            let q = &row(i)[off..off + HEAD_DIM];
            let sc = &mut scores[..n];
            for (j, s) in sc.iter_mut().enumerate() {
                let k = &row(j)[DIM + off..DIM + off + HEAD_DIM];
                *s = q.iter().zip(k).map(|(a, b)| a * b).sum::<f32>() * scale;
            }
            let inv = softmax(sc);
            let c = &mut ctx[(start + i) * DIM + off..(start + i) * DIM + off + HEAD_DIM];
            c.fill(0.0);
            for (j, p) in sc.iter().enumerate() {
                let v = &row(j)[2 * DIM + off..2 * DIM + off + HEAD_DIM];
                for d in 0..HEAD_DIM {
                    c[d] += p * v[d];
                }
            }
            c.iter_mut().for_each(|c| *c *= inv);
        }
    }
}

/// `e^(s − max)` in place; returns `1 / Σ`.
#[inline(always)]
fn softmax(sc: &mut [f32]) -> f32 {
    let max = lanes_max(sc);
    for s in sc.iter_mut() {
        *s = exp(*s - max);
    }
    1.0 / lanes_sum(sc)
}

/// `out[t][o] = x[t] · w[o] + b[o]`, through int8.
#[inline(always)]
fn linear(vnni: bool, x: &[f32], n: usize, l: &QLinear, a: &mut QActs, out: &mut [f32]) {
    quantize_rows(x, n, l.inp, a);
    let out = &mut out[..n * l.out];
    #[cfg(target_arch = "x86_64")]
    if vnni {
        // SAFETY: `vnni` is true only when the CPU has AVX-512 F/BW/VNNI.
        unsafe { vnni::gemm(a, n, l, out) };
        return;
    }
    let _ = vnni;
    gemm_portable(a, n, l, out);
}

/// Per token: `x ≈ s·(q − z)` with `q` in 0..=255 covering the token's
/// range (and zero).
#[inline(always)]
fn quantize_rows(x: &[f32], n: usize, k: usize, a: &mut QActs) {
    a.q.resize(n * k, 0);
    a.scale.resize(n, 0.0);
    a.zero.resize(n, 0);
    for t in 0..n {
        let row = &x[t * k..(t + 1) * k];
        let (lo, hi) = lanes_min_max(row);
        let (lo, hi) = (lo.min(0.0), hi.max(0.0));
        let s = if hi > lo { (hi - lo) / 255.0 } else { 1.0 };
        let z = (-lo / s).round().clamp(0.0, 255.0);
        let inv = 1.0 / s;
        for (q, v) in a.q[t * k..(t + 1) * k].iter_mut().zip(row) {
            *q = (v * inv + z).round().clamp(0.0, 255.0) as u8;
        }
        a.scale[t] = s;
        a.zero[t] = z as i32;
    }
}

/// The integer product in plain loops: the same sums as the VNNI kernel.
fn gemm_portable(a: &QActs, n: usize, l: &QLinear, out: &mut [f32]) {
    let k = l.inp;
    for t in 0..n {
        let xq = &a.q[t * k..(t + 1) * k];
        for b in 0..l.out / BLOCK {
            let mut acc = [0i32; BLOCK];
            let wb = &l.packed[b * BLOCK * k..(b + 1) * BLOCK * k];
            for kq in 0..k / 4 {
                let w = &wb[kq * BLOCK * 4..(kq + 1) * BLOCK * 4];
                let xs = &xq[kq * 4..kq * 4 + 4];
                for (j, acc) in acc.iter_mut().enumerate() {
                    for r in 0..4 {
                        *acc += xs[r] as i32 * w[j * 4 + r] as i32;
                    }
                }
            }
            for (j, acc) in acc.iter().enumerate() {
                let o = b * BLOCK + j;
                let v = (acc - a.zero[t] * l.wsum[o]) as f32;
                // Fused, as the VNNI kernel's epilogue is.
                out[t * l.out + o] = v.mul_add(a.scale[t] * l.scale[o], l.bias[o]);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use super::{softmax, QActs, QLinear, BLOCK, DIM, HEADS, HEAD_DIM, KB, QB, TILE};
    use std::arch::x86_64::*;

    /// Attention of one text, eight queries at a time: their 8 × 16 scores
    /// against a block of keys (transposed, zero-padded to whole blocks)
    /// sit in 8 registers over the head's 32 dimensions; after the softmax,
    /// their 8 × 32 context sums sit in 16 registers while the values
    /// stream past once.
    ///
    /// Safety: the CPU must have AVX-512 F. Reads stay within `qkv`
    /// (tokens `start..start + n`), `kt` and `scores` (sized here); writes
    /// within those and `ctx`'s rows of the same tokens.
    #[target_feature(enable = "avx512f,fma")]
    #[inline]
    #[allow(clippy::needless_range_loop)] // index loops read best in kernels
    pub(super) unsafe fn attention(
        qkv: &[f32],
        start: usize,
        n: usize,
        ctx: &mut [f32],
        kt: &mut Vec<f32>,
        scores: &mut Vec<f32>,
    ) {
        assert!(qkv.len() >= (start + n) * 3 * DIM && ctx.len() >= (start + n) * DIM);
        let scale = 1.0 / (HEAD_DIM as f32).sqrt();
        let np = n.div_ceil(KB) * KB;
        kt.clear();
        kt.resize(HEAD_DIM * np, 0.0);
        scores.clear();
        scores.resize(QB * np, 0.0);
        let base = qkv.as_ptr().add(start * 3 * DIM);
        let ktp = kt.as_mut_ptr();
        let sp = scores.as_mut_ptr();
        for h in 0..HEADS {
            let off = h * HEAD_DIM;
            for j in 0..n {
                let k = base.add(j * 3 * DIM + DIM + off);
                for d in 0..HEAD_DIM {
                    *ktp.add(d * np + j) = *k.add(d);
                }
            }
            let mut i0 = 0;
            while i0 < n {
                let m = QB.min(n - i0);
                let mut q = [[0f32; HEAD_DIM]; QB];
                for (r, q) in q.iter_mut().enumerate().take(m) {
                    let src = base.add((i0 + r) * 3 * DIM + off);
                    for (d, q) in q.iter_mut().enumerate() {
                        *q = *src.add(d) * scale;
                    }
                }
                let mut jc = 0;
                while jc < np {
                    let mut acc = [_mm512_setzero_ps(); QB];
                    for d in 0..HEAD_DIM {
                        let k = _mm512_loadu_ps(ktp.add(d * np + jc));
                        for r in 0..QB {
                            acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(q[r][d]), k, acc[r]);
                        }
                    }
                    for (r, a) in acc.iter().enumerate() {
                        _mm512_storeu_ps(sp.add(r * np + jc), *a);
                    }
                    jc += KB;
                }
                // The padding keys weigh nothing (e^-87 of the row's
                // total); whole blocks keep the softmax in vectors.
                let mut inv = [0f32; QB];
                for (r, inv) in inv.iter_mut().enumerate().take(m) {
                    let row = &mut scores[r * np..(r + 1) * np];
                    row[n..].fill(f32::NEG_INFINITY);
                    *inv = softmax(row);
                }
                let mut acc = [[_mm512_setzero_ps(); 2]; QB];
                for j in 0..n {
                    let v = base.add(j * 3 * DIM + 2 * DIM + off);
                    let v0 = _mm512_loadu_ps(v);
                    let v1 = _mm512_loadu_ps(v.add(16));
                    for r in 0..QB {
                        let p = _mm512_set1_ps(*sp.add(r * np + j));
                        acc[r][0] = _mm512_fmadd_ps(p, v0, acc[r][0]);
                        acc[r][1] = _mm512_fmadd_ps(p, v1, acc[r][1]);
                    }
                }
                for r in 0..m {
                    let c = ctx.as_mut_ptr().add((start + i0 + r) * DIM + off);
                    let s = _mm512_set1_ps(inv[r]);
                    _mm512_storeu_ps(c, _mm512_mul_ps(acc[r][0], s));
                    _mm512_storeu_ps(c.add(16), _mm512_mul_ps(acc[r][1], s));
                }
                i0 += QB;
            }
        }
    }

    /// The int8 product with `vpdpbusd`: for each block of 64 outputs
    /// (its weights, 64 × inputs bytes, stay in L1/L2), tiles of six
    /// tokens × 64 outputs accumulate in 24 registers; each step loads four
    /// weight registers and broadcasts four bytes of each token.
    ///
    /// Safety: the CPU must have AVX-512 F/BW/VNNI. Reads stay within
    /// `a.q` (`n × inp`) and `l.packed`; writes within `out` (`n × out`).
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn gemm(a: &QActs, n: usize, l: &QLinear, out: &mut [f32]) {
        assert!(a.q.len() >= n * l.inp && out.len() >= n * l.out);
        for b in 0..l.out / BLOCK {
            let mut t = 0;
            while t + TILE <= n {
                tile::<TILE>(a, t, b, l, out);
                t += TILE;
            }
            match n - t {
                0 => {}
                1 => tile::<1>(a, t, b, l, out),
                2 => tile::<2>(a, t, b, l, out),
                3 => tile::<3>(a, t, b, l, out),
                4 => tile::<4>(a, t, b, l, out),
                _ => tile::<5>(a, t, b, l, out),
            }
        }
    }

    #[inline(always)]
    unsafe fn tile<const R: usize>(a: &QActs, t: usize, b: usize, l: &QLinear, out: &mut [f32]) {
        let k = l.inp;
        let wb = l.packed.as_ptr().add(b * BLOCK * k);
        let xp = a.q.as_ptr().add(t * k);
        let mut acc = [[_mm512_setzero_si512(); 4]; R];
        let mut kq = 0;
        while kq < k / 4 {
            let w = wb.add(kq * BLOCK * 4);
            let w0 = _mm512_loadu_si512(w as *const _);
            let w1 = _mm512_loadu_si512(w.add(64) as *const _);
            let w2 = _mm512_loadu_si512(w.add(128) as *const _);
            let w3 = _mm512_loadu_si512(w.add(192) as *const _);
            for (r, acc) in acc.iter_mut().enumerate() {
                let xb = _mm512_set1_epi32((xp.add(r * k + kq * 4) as *const i32).read_unaligned());
                acc[0] = _mm512_dpbusd_epi32(acc[0], xb, w0);
                acc[1] = _mm512_dpbusd_epi32(acc[1], xb, w1);
                acc[2] = _mm512_dpbusd_epi32(acc[2], xb, w2);
                acc[3] = _mm512_dpbusd_epi32(acc[3], xb, w3);
            }
            kq += 1;
        }
        for (r, acc) in acc.iter().enumerate() {
            let z = _mm512_set1_epi32(a.zero[t + r]);
            let sx = _mm512_set1_ps(a.scale[t + r]);
            for (j, v) in acc.iter().enumerate() {
                let o = b * BLOCK + j * 16;
                let wsum = _mm512_loadu_si512(l.wsum.as_ptr().add(o) as *const _);
                let v = _mm512_sub_epi32(*v, _mm512_mullo_epi32(z, wsum));
                let sw = _mm512_mul_ps(sx, _mm512_loadu_ps(l.scale.as_ptr().add(o)));
                let y = _mm512_fmadd_ps(
                    _mm512_cvtepi32_ps(v),
                    sw,
                    _mm512_loadu_ps(l.bias.as_ptr().add(o)),
                );
                _mm512_storeu_ps(out.as_mut_ptr().add((t + r) * l.out + o), y);
            }
        }
    }
}

/// Mean over each text's tokens, then unit length.
fn pool(x: &[f32], spans: &[(usize, usize)]) -> Vec<f32> {
    let mut out = vec![0f32; spans.len() * DIM];
    for (i, &(start, n)) in spans.iter().enumerate() {
        let mean = &mut out[i * DIM..(i + 1) * DIM];
        for row in x[start * DIM..(start + n) * DIM].chunks_exact(DIM) {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v;
            }
        }
        let inv = 1.0 / n as f32;
        mean.iter_mut().for_each(|m| *m *= inv);
        let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        mean.iter_mut().for_each(|m| *m /= norm);
    }
    out
}

#[inline(always)]
fn add_in_place(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

#[inline(always)]
fn layer_norm(x: &mut [f32], n: &Norm) {
    for row in x.chunks_exact_mut(DIM) {
        let mean = lanes_sum(row) / DIM as f32;
        let mut sq = [0f32; 16];
        for c in row.chunks_exact(16) {
            for i in 0..16 {
                let d = c[i] - mean;
                sq[i] += d * d;
            }
        }
        let var = sq.iter().sum::<f32>() / DIM as f32;
        let inv = 1.0 / (var + EPS).sqrt();
        for ((v, g), b) in row.iter_mut().zip(&n.g).zip(&n.b) {
            *v = (*v - mean) * inv * g + b;
        }
    }
}

/// Sum in 16 independent lanes (vectorizes without reordering any one sum).
#[inline(always)]
fn lanes_sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let chunks = x.chunks_exact(16);
    let rest: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for i in 0..16 {
            acc[i] += c[i];
        }
    }
    acc.iter().sum::<f32>() + rest
}

#[inline(always)]
fn lanes_max(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 16];
    let chunks = x.chunks_exact(16);
    let rest = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    for c in chunks {
        for i in 0..16 {
            acc[i] = acc[i].max(c[i]);
        }
    }
    acc.iter().fold(rest, |m, &v| m.max(v))
}

#[inline(always)]
fn lanes_min_max(x: &[f32]) -> (f32, f32) {
    let mut lo = [f32::INFINITY; 16];
    let mut hi = [f32::NEG_INFINITY; 16];
    let chunks = x.chunks_exact(16);
    let (mut rlo, mut rhi) = (f32::INFINITY, f32::NEG_INFINITY);
    for &v in chunks.remainder() {
        rlo = rlo.min(v);
        rhi = rhi.max(v);
    }
    for c in chunks {
        for i in 0..16 {
            lo[i] = lo[i].min(c[i]);
            hi[i] = hi[i].max(c[i]);
        }
    }
    (
        lo.iter().fold(rlo, |m, &v| m.min(v)),
        hi.iter().fold(rhi, |m, &v| m.max(v)),
    )
}

/// `e^x` in arithmetic alone (so loops of it vectorize): `2^n · 2^f`, with
/// `x = n·ln 2 + y` with `ln 2` in two parts (Cody and Waite) so `y` is
/// exact, and `e^y` for `|y| ≤ ½ ln 2` by its Taylor series to the 6th
/// power (relative error under 5e-7).
#[inline(always)]
fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E).round_ties_even();
    let y = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    // SAFETY: x is clamped, so n is finite and within -126..=127.
    let n = unsafe { n.to_int_unchecked::<i32>() };
    let p = 1.0
        + y * (1.0
            + y * (0.5
                + y * (1.0 / 6.0 + y * (1.0 / 24.0 + y * (1.0 / 120.0 + y * (1.0 / 720.0))))));
    p * f32::from_bits(((n + 127) as u32) << 23)
}

/// GELU with the error function, as BERT uses it.
#[inline(always)]
fn gelu(x: f32) -> f32 {
    // erf by Abramowitz & Stegun 7.1.26, with the exp above.
    let z = x * std::f32::consts::FRAC_1_SQRT_2;
    let a = z.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = ((((1.061_405_4 * t - 1.453_152_1) * t + 1.421_413_7) * t - 0.284_496_74) * t
        + 0.254_829_6)
        * t;
    let erf = (1.0 - poly * exp(-a * a)).copysign(z);
    0.5 * x * (1.0 + erf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_close_to_std() {
        let mut x = -80.0f32;
        while x < 80.0 {
            let (got, want) = (exp(x), x.exp());
            assert!(
                ((got - want) / want).abs() < 5e-7,
                "exp({x}) = {got}, std {want}"
            );
            x += 0.173;
        }
        assert!(exp(-1000.0).is_finite());
        assert!(exp(1000.0).is_finite());
    }

    fn layer(out: usize, inp: usize, seed: usize) -> (Vec<f32>, Vec<f32>) {
        let w = (0..out * inp)
            .map(|i| (((i * 53 + seed) % 97) as f32 - 48.0) / 30.0)
            .collect();
        let b = (0..out).map(|i| i as f32 * 0.01).collect();
        (w, b)
    }

    /// Both kernels give the same integer sums, and they are close to the
    /// f32 product, at every tile remainder.
    #[test]
    fn kernels_agree_and_approximate_f32() {
        let (inp, out) = (96, 128);
        let (w, b) = layer(out, inp, 7);
        let l = QLinear::quantize(&w, &b, out, inp).unwrap();
        for n in [1, 2, 5, 6, 7, 13] {
            let x: Vec<f32> = (0..n * inp)
                .map(|i| ((i * 37 % 101) as f32 - 30.0) / 25.0)
                .collect();
            let mut a = QActs::default();
            quantize_rows(&x, n, inp, &mut a);
            let mut portable = vec![0f32; n * out];
            gemm_portable(&a, n, &l, &mut portable);
            if has_vnni() {
                let mut fast = vec![0f32; n * out];
                // SAFETY: checked just above.
                #[cfg(target_arch = "x86_64")]
                unsafe {
                    vnni::gemm(&a, n, &l, &mut fast)
                };
                assert_eq!(fast, portable, "n = {n}");
            }
            for t in 0..n {
                for o in 0..out {
                    let want: f32 = (0..inp)
                        .map(|k| x[t * inp + k] * w[o * inp + k])
                        .sum::<f32>()
                        + b[o];
                    let got = portable[t * out + o];
                    assert!(
                        (got - want).abs() < 0.03 * want.abs().max(4.0),
                        "{got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_layer_that_does_not_fit_is_refused() {
        let (w, b) = layer(10, 8, 1);
        assert!(QLinear::quantize(&w, &b, 10, 8).is_err());
    }

    #[test]
    fn portable_forward_equals_vnni_forward() {
        let dir = crate::models_dir(None);
        if !crate::embedder::model_present(&dir) {
            eprintln!("skipping: model not installed");
            return;
        }
        let bytes = std::fs::read(dir.join(crate::MODEL_NAME).join("model.safetensors")).unwrap();
        let m = QuantBert::from_f32(FastBert::load(&bytes).unwrap()).unwrap();
        let texts: [&[u32]; 3] = [&[101, 7592, 2088, 102], &[101, 4456, 102], &[101; 40]];
        let a = m.embed(&texts).unwrap();
        let p = QuantBert::from_f32(FastBert::load(&bytes).unwrap())
            .unwrap()
            .portable()
            .embed(&texts)
            .unwrap();
        // The f32 parts round differently when vectorized, and a rounding
        // can tip a quantized activation by one step: close, not equal.
        for (x, y) in a.chunks(DIM).zip(p.chunks(DIM)) {
            let cos = crate::dot(x, y);
            assert!(cos > 0.9999, "cosine {cos}");
        }
        // A text embedded alone equals the same text inside a batch.
        let one = m.embed(&texts[1..2]).unwrap();
        for (x, y) in one.iter().zip(&a[DIM..2 * DIM]) {
            assert!((x - y).abs() < 1e-6, "{x} vs {y}");
        }
    }
}
