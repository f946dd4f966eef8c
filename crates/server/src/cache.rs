//! Which general answers can be served again without recomputing them?
//!
//! An answer to a question asked without the person's records depends only
//! on the question's text, the retriever, the locale (emergency numbers),
//! the knowledge base generation and what writes it (extractive, or a
//! language model decoding greedily). The cache keys on exactly those, so a hit
//! is the answer the engine would compute. Personal answers never enter it:
//! [`AnswerCache`] has no way to take a profile, and the caller only
//! consults it when there is none. Nor does a signed-in person's general
//! question: it may be served from the cache ([`AnswerCache::peek`]) but is
//! never added, so a fast answer never tells the next asker that someone
//! with an account asked it.
//!
//! - **Single flight:** identical questions that arrive while the first is
//!   being answered wait for that answer instead of computing it again.
//!   A failed computation leaves nothing behind; the next ask retries.
//! - **Bounded:** at most `capacity` answers, evicted in second-chance FIFO
//!   order (an entry read since it was last considered gets another turn),
//!   and each lives at most `ttl`, so the library's dates and any change of
//!   the underlying data show within that time.
//! - **Key normalization** is only what the engine itself treats as equal
//!   (whitespace runs, see `analyze::validate`); case is kept, since "ALL"
//!   (a leukemia) and "all" are different questions to the router.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sextant_core::Answer;
use tokio::sync::OnceCell;

/// What makes two general answers the same.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    /// The validated question (whitespace-normalized).
    pub question: String,
    /// `bm25`, `dense` or `hybrid`.
    pub retriever: &'static str,
    /// Region code of the emergency numbers.
    pub locale: &'static str,
    /// The knowledge base generation's fingerprint.
    pub kb: Arc<str>,
    /// What writes the body: `extractive`, or `llm:BACKEND:MODEL`.
    pub generator: Arc<str>,
}

/// A cached answer.
#[derive(Debug)]
pub struct Cached {
    pub answer: Answer,
}

struct Entry {
    cell: Arc<OnceCell<Arc<Cached>>>,
    created: Instant,
    /// Read since the eviction sweep last passed it.
    referenced: AtomicBool,
}

#[derive(Default)]
struct Table {
    map: HashMap<Key, Entry>,
    /// Insertion order, for eviction (may hold keys already removed).
    order: VecDeque<Key>,
}

/// Hit and miss counts since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub entries: usize,
}

/// A bounded, single-flight cache of general answers.
pub struct AnswerCache {
    capacity: usize,
    ttl: Duration,
    table: Mutex<Table>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// Whether the answer came from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Cached,
    Computed,
}

impl AnswerCache {
    /// A cache of at most `capacity` answers (0 turns it off), each kept at
    /// most `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> AnswerCache {
        AnswerCache {
            capacity,
            ttl,
            table: Mutex::new(Table::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.lock().map.len(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // The table holds no invariant a panic could break halfway.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached answer for `key`, or the one `compute` makes (stored for
    /// the next ask when it succeeds). Concurrent calls with the same key
    /// run `compute` once.
    /// A fresh, completed answer for `key`, if one is cached: a lookup that
    /// leaves no trace (it neither adds an entry nor waits for one).
    pub fn peek(&self, key: &Key) -> Option<Arc<Cached>> {
        let t = self.lock();
        let e = t.map.get(key).filter(|e| e.created.elapsed() < self.ttl)?;
        let a = e.cell.get()?.clone();
        e.referenced.store(true, Ordering::Relaxed);
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(a)
    }

    pub async fn get_or_compute<F, Fut, E>(
        &self,
        key: Key,
        compute: F,
    ) -> Result<(Arc<Cached>, Source), E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Answer, E>>,
    {
        let wrap = |answer| Arc::new(Cached { answer });
        if self.capacity == 0 {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return Ok((wrap(compute().await?), Source::Computed));
        }
        let cell = {
            let mut t = self.lock();
            let now = Instant::now();
            let fresh = t
                .map
                .get(&key)
                .filter(|e| now.duration_since(e.created) < self.ttl)
                .map(|e| {
                    e.referenced.store(true, Ordering::Relaxed);
                    e.cell.clone()
                });
            match fresh {
                Some(cell) => cell,
                None => {
                    let cell = Arc::new(OnceCell::new());
                    let entry = Entry {
                        cell: cell.clone(),
                        created: now,
                        referenced: AtomicBool::new(false),
                    };
                    if t.map.insert(key.clone(), entry).is_none() {
                        t.order.push_back(key);
                    }
                    self.evict(&mut t);
                    cell
                }
            }
        };
        if let Some(a) = cell.get() {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok((a.clone(), Source::Cached));
        }
        let mut computed = false;
        let answer = cell
            .get_or_try_init(|| async {
                computed = true;
                compute().await.map(wrap)
            })
            .await?
            .clone();
        if computed {
            self.misses.fetch_add(1, Ordering::Relaxed);
            Ok((answer, Source::Computed))
        } else {
            // Waited for another ask of the same question.
            self.hits.fetch_add(1, Ordering::Relaxed);
            Ok((answer, Source::Cached))
        }
    }

    /// Second-chance FIFO down to capacity; expired entries go first when
    /// the sweep reaches them.
    fn evict(&self, t: &mut Table) {
        let now = Instant::now();
        // Each key is passed at most twice (once to clear its mark).
        let mut budget = 2 * t.order.len();
        while t.map.len() > self.capacity && budget > 0 {
            budget -= 1;
            let Some(key) = t.order.pop_front() else {
                break;
            };
            let keep = match t.map.get(&key) {
                None => continue, // already replaced or removed
                Some(e) => {
                    now.duration_since(e.created) < self.ttl
                        && e.referenced.swap(false, Ordering::Relaxed)
                }
            };
            if keep {
                t.order.push_back(key);
            } else {
                t.map.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn key(q: &str) -> Key {
        Key {
            question: q.into(),
            retriever: "bm25",
            locale: "US",
            kb: Arc::from("gen-1"),
            generator: Arc::from("extractive"),
        }
    }

    fn answer(q: &str) -> Answer {
        Answer {
            question: q.into(),
            ..Answer::default()
        }
    }

    async fn ask(c: &AnswerCache, q: &str, runs: &AtomicUsize) -> (String, Source) {
        let (a, s) = c
            .get_or_compute(key(q), || async {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok::<_, ()>(answer(q))
            })
            .await
            .unwrap();
        (a.answer.question.clone(), s)
    }

    #[tokio::test]
    async fn second_ask_is_a_hit_and_keys_differ_by_every_part() {
        let c = AnswerCache::new(8, Duration::from_secs(60));
        let runs = AtomicUsize::new(0);
        assert_eq!(ask(&c, "q1", &runs).await, ("q1".into(), Source::Computed));
        assert_eq!(ask(&c, "q1", &runs).await, ("q1".into(), Source::Cached));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        for k in [
            Key {
                retriever: "hybrid",
                ..key("q1")
            },
            Key {
                locale: "GB",
                ..key("q1")
            },
            Key {
                kb: Arc::from("gen-2"),
                ..key("q1")
            },
            Key {
                generator: Arc::from("llm:local:m.gguf"),
                ..key("q1")
            },
            key("Q1"),
        ] {
            let (_, s) = c
                .get_or_compute(k, || async { Ok::<_, ()>(answer("x")) })
                .await
                .unwrap();
            assert_eq!(s, Source::Computed);
        }
        assert_eq!(c.stats().hits, 1);
        assert_eq!(c.stats().misses, 6);
    }

    #[tokio::test]
    async fn concurrent_identical_asks_compute_once() {
        let c = Arc::new(AnswerCache::new(8, Duration::from_secs(60)));
        let runs = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(tokio::sync::Notify::new());
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (c, runs, gate) = (c.clone(), runs.clone(), gate.clone());
            tasks.push(tokio::spawn(async move {
                c.get_or_compute(key("same"), || async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    gate.notified().await;
                    Ok::<_, ()>(answer("same"))
                })
                .await
                .unwrap()
                .1
            }));
        }
        // Let every task reach the cell, then release the one computing.
        while runs.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        gate.notify_one();
        let mut computed = 0;
        for t in tasks {
            if t.await.unwrap() == Source::Computed {
                computed += 1;
            }
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(computed, 1);
    }

    #[tokio::test]
    async fn a_failure_is_not_cached() {
        let c = AnswerCache::new(8, Duration::from_secs(60));
        let r = c
            .get_or_compute(key("q"), || async { Err::<Answer, _>("boom") })
            .await;
        assert!(r.is_err());
        let runs = AtomicUsize::new(0);
        assert_eq!(ask(&c, "q", &runs).await.1, Source::Computed);
    }

    #[tokio::test]
    async fn capacity_bounds_entries_and_recently_read_ones_survive() {
        let c = AnswerCache::new(3, Duration::from_secs(60));
        let runs = AtomicUsize::new(0);
        for q in ["a", "b", "c"] {
            ask(&c, q, &runs).await;
        }
        ask(&c, "a", &runs).await; // "a" read: gets a second chance
        ask(&c, "d", &runs).await; // evicts "b", the oldest unread
        assert_eq!(c.stats().entries, 3);
        assert_eq!(ask(&c, "a", &runs).await.1, Source::Cached);
        assert_eq!(ask(&c, "b", &runs).await.1, Source::Computed);
    }

    #[tokio::test]
    async fn entries_expire_and_zero_capacity_caches_nothing() {
        let c = AnswerCache::new(8, Duration::from_millis(0));
        let runs = AtomicUsize::new(0);
        ask(&c, "q", &runs).await;
        assert_eq!(ask(&c, "q", &runs).await.1, Source::Computed);
        let off = AnswerCache::new(0, Duration::from_secs(60));
        ask(&off, "q", &runs).await;
        assert_eq!(ask(&off, "q", &runs).await.1, Source::Computed);
        assert_eq!(off.stats().entries, 0);
    }
}
