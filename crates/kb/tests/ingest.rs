//! Ingest on real and hostile input: the real corpus (when `../shared/data`
//! is present), and property tests that the parsers of untrusted Markdown
//! never panic and always produce passages within bounds.

use std::path::PathBuf;

use proptest::prelude::*;
use sextant_kb::chunk::{chunk, MAX_WORDS, MIN_WORDS};
use sextant_kb::corpus::parse_page;
use sextant_kb::{ingest, markdown, IngestOptions, Kb};

/// A corpus folder under `root` holding one page of twelve repeated sentences.
fn one_page_corpus(root: &std::path::Path, url: &str, heading: &str, sentence: &str) -> PathBuf {
    let corpus = root.join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    let body = sentence.repeat(12);
    let page = format!("---\ntitle: {heading}\nurl: {url}\n---\n\n## {heading}\n\n{body}\n");
    std::fs::write(corpus.join("page.md"), page).unwrap();
    corpus
}

fn real_corpus() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(sextant_kb::CORPUS_SUBDIR);
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipping: {} not found", p.display());
        None
    }
}

#[test]
fn real_corpus_ingests_into_bounded_cited_passages() {
    let Some(corpus) = real_corpus() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let kb_root = tmp.path().join("kb");
    let report = ingest(&corpus, &kb_root, &IngestOptions::default(), &|_| {}).unwrap();
    let m = &report.manifest;
    assert!(!report.up_to_date);
    assert!(m.files > 1400, "{}", m.files);
    assert!(m.pages > 1200, "{}", m.pages);
    assert!(
        m.skipped
            .iter()
            .any(|s| s.reason == sextant_kb::corpus::SkipReason::Video),
        "videos are skipped"
    );
    let kb = Kb::open(&kb_root).unwrap();
    assert_eq!(kb.len(), m.passages);
    let mut ids = std::collections::HashSet::new();
    let mut in_bounds = 0;
    for p in kb.passages() {
        let p = p.unwrap();
        assert!(ids.insert(p.id.clone()), "duplicate id {}", p.id);
        assert!(!p.text.trim().is_empty());
        assert!(
            !p.text.contains("](") && !p.text.contains("popDefinition"),
            "markup left in {}: {}",
            p.id,
            p.text
        );
        assert!(!p.section_path.is_empty());
        let w = p.word_count();
        assert!(w <= MAX_WORDS + MIN_WORDS + 80, "{w} words in {}", p.id);
        if (MIN_WORDS..=MAX_WORDS).contains(&w) {
            in_bounds += 1;
        }
        let page = kb.page(p.page).unwrap();
        assert!(page.url.starts_with("https://www.cancer.gov/"));
    }
    // Short sections stay short rather than borrow text from another heading.
    assert!(
        in_bounds * 100 / kb.len() >= 80,
        "{in_bounds} of {} passages within {MIN_WORDS}..={MAX_WORDS} words",
        kb.len()
    );
    // The liver treatment page: its metastatic section is one passage with its path.
    let liver = kb
        .pages()
        .iter()
        .position(|p| p.url == "https://www.cancer.gov/types/liver/what-is-liver-cancer/treatment")
        .expect("liver page") as u32;
    let metastatic = kb
        .passages()
        .map(Result::unwrap)
        .find(|p| p.page == liver && p.section_label() == "Liver Cancer Treatment › Treatment of locally advanced or metastatic liver cancer")
        .expect("metastatic section passage");
    assert!(metastatic
        .text
        .starts_with("Treatment of locally advanced or metastatic liver cancer may include:"));
    assert!(metastatic
        .fragment
        .as_deref()
        .unwrap()
        .starts_with(":~:text=Treatment%20of%20locally"));
    assert_eq!(kb.page(liver).unwrap().cancer_types, vec!["liver"]);

    // Unchanged corpus: no work, same generation.
    let again = ingest(&corpus, &kb_root, &IngestOptions::default(), &|_| {}).unwrap();
    assert!(again.up_to_date);
    assert_eq!(again.kb_dir, report.kb_dir);
}

#[test]
fn empty_and_missing_corpora_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let e = ingest(
        tmp.path(),
        &tmp.path().join("kb"),
        &IngestOptions::default(),
        &|_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("no Markdown"), "{e}");
    let e = ingest(
        &tmp.path().join("nope"),
        &tmp.path().join("kb"),
        &IngestOptions::default(),
        &|_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("nope"), "{e}");
    let e = Kb::open(&tmp.path().join("kb")).err().unwrap();
    assert!(e.to_string().contains("sextant ingest"), "{e}");
    let e = sextant_kb::locate_data(Some(&tmp.path().join("missing"))).unwrap_err();
    assert!(e.to_string().contains("--data"), "{e}");
}

#[test]
fn a_damaged_knowledge_base_is_refused_with_advice() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = one_page_corpus(
        tmp.path(),
        "https://www.cancer.gov/types/liver/a",
        "Surgery",
        "Surgery removes the tumor and some healthy tissue around it. ",
    );
    let kb_root = tmp.path().join("kb");
    let r = ingest(&corpus, &kb_root, &IngestOptions::default(), &|_| {}).unwrap();
    std::fs::write(r.kb_dir.join("passages.offsets"), [1u8, 2, 3]).unwrap();
    let e = Kb::open(&kb_root).err().unwrap();
    assert!(e.to_string().contains("truncated"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any text at all: parsing a page never panics, and whatever comes out
    /// is non-empty text within the passage bounds.
    #[test]
    fn parse_page_never_panics(text in "\\PC{0,2000}") {
        let (r, _issues) = parse_page("fuzz.md", &text);
        if let Ok(p) = r {
            for c in p.chunks {
                prop_assert!(!c.text.trim().is_empty());
            }
        }
    }

    /// Markdown-shaped text: headings, lists, links, tables, front matter.
    #[test]
    fn markdown_shaped_input_never_panics(lines in proptest::collection::vec(prop_oneof![
        Just("---".to_string()),
        Just("title: T".to_string()),
        Just("url: https://www.cancer.gov/types/liver/x".to_string()),
        Just(String::new()),
        "#{1,7} [A-Za-z ]{0,20}",
        "- [a-z ]{0,30}[.:]?",
        "  [a-z ]{0,20}",
        "\\[\\[?[0-9a-z]{0,3}\\]?\\([#a-z/?=&0-9]{0,20}\\)?\\]?",
        "!\\[[a-z (]{0,10}\\]\\([a-z\" ]{0,10}\\)?",
        "\\| [a-z]{0,5} \\|",
        "[A-Z][a-z ,]{0,60}[.!?]",
        "\\\\[*_#]",
    ], 0..60)) {
        let text = lines.join("\n");
        let (blocks, _) = markdown::parse(&text);
        let chunks = chunk(&blocks, "Root");
        for c in &chunks {
            prop_assert!(!c.section_path.is_empty());
            prop_assert!(!c.text.trim().is_empty());
        }
        let _ = parse_page("fuzz.md", &text);
    }
}

#[test]
fn a_second_concurrent_ingest_is_refused_not_interleaved() {
    let tmp = tempfile::tempdir().unwrap();
    let kb_root = tmp.path().join("kb");
    let lock = sextant_kb::store::IngestLock::acquire(&kb_root).unwrap();
    let corpus = one_page_corpus(
        tmp.path(),
        "https://www.cancer.gov/about-cancer/treatment/types/chemotherapy",
        "Chemo",
        "Chemotherapy uses drugs to stop the growth of cancer cells. ",
    );
    let e = ingest(&corpus, &kb_root, &IngestOptions::default(), &|_| {}).unwrap_err();
    assert!(e.to_string().contains("another `sextant ingest`"), "{e}");
    drop(lock);
    ingest(&corpus, &kb_root, &IngestOptions::default(), &|_| {}).unwrap();
    Kb::open(&kb_root).unwrap();
}

#[test]
fn oversized_pages_are_skipped_and_named() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = one_page_corpus(
        tmp.path(),
        "https://www.cancer.gov/about-cancer/treatment/types/radiation-therapy",
        "Radiation",
        "Radiation therapy uses high-energy radiation to kill cancer cells. ",
    );
    let huge = vec![b'a'; (sextant_kb::corpus::MAX_PAGE_BYTES + 1) as usize];
    std::fs::write(corpus.join("huge.md"), huge).unwrap();
    let r = ingest(
        &corpus,
        &tmp.path().join("kb"),
        &IngestOptions::default(),
        &|_| {},
    )
    .unwrap();
    assert_eq!(r.manifest.pages, 1);
    assert!(r
        .manifest
        .skipped
        .iter()
        .any(|s| s.path == "huge.md" && s.reason == sextant_kb::corpus::SkipReason::TooLarge));
    assert!(
        r.issues
            .iter()
            .any(|i| i.at == "huge.md" && i.message.contains("MiB")),
        "{:?}",
        r.issues
    );
}

/// A small corpus of a few pages, each with some passages.
fn small_corpus(root: &std::path::Path, pages: usize) -> PathBuf {
    let corpus = root.join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    for i in 0..pages {
        let body = format!("Page {i} explains how cancer treatment number {i} works. ").repeat(10);
        let page = format!(
            "---\ntitle: Topic {i}\nurl: https://www.cancer.gov/about-cancer/topic-{i}\n---\n\n## Overview {i}\n\n{body}\n\n## Details {i}\n\n{body}\n"
        );
        std::fs::write(corpus.join(format!("p{i}.md")), page).unwrap();
    }
    corpus
}

fn embedder() -> Option<sextant_embed::Embedder> {
    let dir = sextant_embed::models_dir(None);
    if !sextant_embed::embedder::model_present(&dir) {
        eprintln!("skipping: model not installed in {}", dir.display());
        return None;
    }
    Some(sextant_embed::Embedder::load(&dir).unwrap())
}

#[test]
fn vectors_are_built_cached_and_checked() {
    use sextant_embed::VectorSearch;
    let Some(e) = embedder() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let corpus = small_corpus(tmp.path(), 3);
    let kb_root = tmp.path().join("kb");
    let opts = IngestOptions {
        force: false,
        embedder: Some(&e),
        cache_dir: Some(tmp.path().join("cache")),
    };
    let r = ingest(&corpus, &kb_root, &opts, &|_| {}).unwrap();
    let v = r.manifest.vectors.clone().expect("vectors built");
    assert_eq!(v.embedded, r.manifest.passages);
    assert_eq!(v.cached, 0);
    let kb = Kb::open(&kb_root).unwrap();
    let vectors = kb.vectors().expect("vectors loaded");
    assert_eq!(vectors.len(), kb.len());
    // Each passage's stored vector is the embedding of its text.
    for (ord, p) in kb.passages().enumerate() {
        let p = p.unwrap();
        let want = e
            .embed_one(&sextant_kb::embed_text(kb.page(p.page).unwrap(), &p))
            .unwrap();
        let got = vectors.row(ord).unwrap();
        let diff = want
            .iter()
            .zip(got)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(diff < 1e-5, "passage {ord}: {diff}");
        assert_eq!(kb.page_of(ord as u32), Some(p.page));
        // Each of its sentences is stored, in the composer's order, as
        // the embedding of the sentence (int8: within 0.01 in cosine).
        let sentences = sextant_kb::sentence_texts(&p);
        let stored = kb.sentence_vectors().expect("sentence vectors loaded");
        assert_eq!(stored.count(ord), sentences.len(), "passage {ord}");
        assert!(!sentences.is_empty());
        for (pos, s) in sentences.iter().enumerate() {
            let exact = e.embed_one(s).unwrap();
            let cos = stored.dot(ord, pos, s, &exact).unwrap();
            assert!(
                (cos - 1.0).abs() < 0.01,
                "passage {ord} sentence {pos}: {cos}"
            );
        }
    }
    assert_eq!(
        v.sentences,
        kb.passages()
            .map(|p| sextant_kb::sentence_texts(&p.unwrap()).len())
            .sum::<usize>()
    );
    // A forced rebuild takes every vector from the cache...
    let again = ingest(
        &corpus,
        &kb_root,
        &IngestOptions {
            force: true,
            ..opts.clone()
        },
        &|_| {},
    )
    .unwrap();
    let v2 = again.manifest.vectors.unwrap();
    assert_eq!((v2.embedded, v2.cached), (0, r.manifest.passages));
    // ...a changed page embeds only its own passages...
    let p0 = corpus.join("p0.md");
    let text = std::fs::read_to_string(&p0)
        .unwrap()
        .replace("works", "helps");
    std::fs::write(&p0, text).unwrap();
    let third = ingest(&corpus, &kb_root, &opts, &|_| {}).unwrap();
    let v3 = third.manifest.vectors.unwrap();
    assert!(
        v3.embedded > 0 && v3.embedded < third.manifest.passages,
        "{v3:?}"
    );
    // ...and a KB built without the model is rebuilt once the model is there.
    let bare = tmp.path().join("bare");
    ingest(&corpus, &bare, &IngestOptions::default(), &|_| {}).unwrap();
    assert!(Kb::open(&bare).unwrap().vectors().is_none());
    let up = ingest(&corpus, &bare, &opts, &|_| {}).unwrap();
    assert!(!up.up_to_date);
    assert!(Kb::open(&bare).unwrap().vectors().is_some());

    // A vector file that does not match the passages is refused, with the fix.
    let gen = sextant_kb::store::current_generation(&kb_root)
        .unwrap()
        .unwrap();
    let path = gen.join("vectors.f32");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[12..16].copy_from_slice(&1u32.to_le_bytes());
    bytes.truncate(16 + 384 * 4);
    std::fs::write(&path, &bytes).unwrap();
    let err = Kb::open(&kb_root).err().unwrap().to_string();
    assert!(
        err.contains("1 vectors for") && err.contains("ingest"),
        "{err}"
    );
}
