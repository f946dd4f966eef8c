//! Reciprocal rank fusion: lists ranked by different retrievers become one,
//! each item scoring `Σ 1 / (k + rank)` over the lists it is in (rank from
//! 1). Ranks, not scores, are fused, so BM25's unbounded scores and cosine
//! similarities need no calibration against each other (Cormack et al.,
//! SIGIR 2009, with their k = 60).

use std::collections::HashMap;

/// The fusion constant: larger values flatten the advantage of top ranks.
pub const RRF_K: f32 = 60.0;

/// Fuses ranked lists of ids (best first) into (id, score), best first; ties
/// keep the order of first appearance, so the result is deterministic.
pub fn rrf(lists: &[&[u32]], k: f32) -> Vec<(u32, f32)> {
    let mut scores: HashMap<u32, (f32, usize)> = HashMap::new();
    let mut seen = 0;
    for list in lists {
        for (rank, &id) in list.iter().enumerate() {
            let e = scores.entry(id).or_insert_with(|| {
                seen += 1;
                (0.0, seen)
            });
            e.0 += 1.0 / (k + rank as f32 + 1.0);
        }
    }
    let mut out: Vec<(u32, f32, usize)> =
        scores.into_iter().map(|(id, (s, o))| (id, s, o)).collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    out.into_iter().map(|(id, s, _)| (id, s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[(u32, f32)]) -> Vec<u32> {
        v.iter().map(|x| x.0).collect()
    }

    #[test]
    fn agreement_beats_a_single_top_rank() {
        // 7 is second in both lists; 1 and 9 top one list each but miss the other.
        let fused = rrf(&[&[1, 7, 3], &[9, 7, 4]], RRF_K);
        assert_eq!(fused[0].0, 7);
        assert!((fused[0].1 - 2.0 / 62.0).abs() < 1e-6);
    }

    #[test]
    fn one_list_keeps_its_order() {
        assert_eq!(ids(&rrf(&[&[5, 2, 8]], RRF_K)), vec![5, 2, 8]);
    }

    #[test]
    fn ties_keep_first_appearance_and_every_id_appears_once() {
        let fused = rrf(&[&[1, 2], &[2, 1], &[3]], RRF_K);
        // 1 and 2 tie (1/61 + 1/62 each); 1 appeared first.
        assert_eq!(ids(&fused), vec![1, 2, 3]);
        assert!(rrf(&[], RRF_K).is_empty());
        assert_eq!(rrf(&[&[4], &[4]], RRF_K).len(), 1);
    }

    #[test]
    fn small_k_favours_top_ranks() {
        // 1 tops list a only; 2 is third in both. With k = 60 agreement
        // wins (2/63 > 1/61); with k = 0 the top rank does (1 > 2/3).
        let a: &[u32] = &[1, 3, 2];
        let b: &[u32] = &[4, 5, 2];
        assert_eq!(rrf(&[a, b], RRF_K)[0].0, 2);
        assert_eq!(rrf(&[a, b], 0.0)[0].0, 1);
    }
}
