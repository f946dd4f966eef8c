//! A bounded memory of recently embedded texts (questions), so a question
//! asked again, or routed and then retrieved, is embedded once.
//!
//! Two generations: lookups search the young one, then the old one (and
//! bring a hit back into the young). When the young one is full it becomes
//! the old one and the previous old one is dropped. Every step is O(1), at
//! most `capacity` texts are held, and what was used since the last turn
//! survives it: least recently used, to within a generation.

use std::collections::HashMap;
use std::sync::Mutex;

pub struct RecentVectors {
    half: usize,
    gens: Mutex<Generations>,
}

#[derive(Default)]
struct Generations {
    young: HashMap<String, Vec<f32>>,
    old: HashMap<String, Vec<f32>>,
}

impl Generations {
    fn put(&mut self, text: String, v: Vec<f32>, half: usize) {
        if self.young.len() >= half {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(text, v);
    }
}

impl RecentVectors {
    /// Holds at most `capacity` texts (at least 2).
    pub fn new(capacity: usize) -> RecentVectors {
        RecentVectors {
            half: (capacity / 2).max(1),
            gens: Mutex::new(Generations::default()),
        }
    }

    pub fn get(&self, text: &str) -> Option<Vec<f32>> {
        let mut g = self.gens.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = g.young.get(text) {
            return Some(v.clone());
        }
        let (text, v) = g.old.remove_entry(text)?;
        let half = self.half;
        g.put(text, v.clone(), half);
        Some(v)
    }

    pub fn put(&self, text: &str, v: &[f32]) {
        let mut g = self.gens.lock().unwrap_or_else(|p| p.into_inner());
        let half = self.half;
        g.put(text.to_string(), v.to_vec(), half);
    }

    /// Texts held now.
    pub fn len(&self) -> usize {
        let g = self.gens.lock().unwrap_or_else(|p| p.into_inner());
        g.young.len() + g.old.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_keeps_what_is_used() {
        let r = RecentVectors::new(8);
        for i in 0..100 {
            r.put(&format!("q{i}"), &[i as f32]);
            // q0 is asked again after every new question: it never ages out.
            if i > 0 {
                assert_eq!(r.get("q0"), Some(vec![0.0]), "after {i}");
            }
            assert!(r.len() <= 8, "{} held", r.len());
        }
        assert_eq!(r.get("q99"), Some(vec![99.0]));
        assert_eq!(r.get("q50"), None, "old ones are dropped");
        assert!(RecentVectors::new(0).is_empty());
    }
}
