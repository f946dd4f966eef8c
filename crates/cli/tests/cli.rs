//! Integration tests of the `sextant` binary: ingest of a small fixture
//! corpus (with bad files), the answer's JSON shape and citations, bad input,
//! crash safety at named failpoints, SIGKILL during ingest of the real corpus,
//! and the seed question on the real corpus (with a reviewed snapshot).

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

// ---------------------------------------------------------------------------
// Helpers

/// A `sextant` command with none of the environment that could point it at
/// another data folder or knowledge base, or make it abort.
fn sextant() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sextant"));
    for var in [
        "SEXTANT_DATA",
        "SEXTANT_KB",
        "SEXTANT_FAILPOINT",
        "XDG_DATA_HOME",
    ] {
        c.env_remove(var);
    }
    // The installed model, wherever fixture tests move the cache to.
    c.env("SEXTANT_MODELS", sextant_embed::models_dir(None));
    c.stdin(Stdio::null());
    c
}

/// A fixture KB's own embedding cache (next to it), so what one test
/// embeds or crashes on never depends on another.
fn cache_of(kb: &Path) -> PathBuf {
    kb.with_file_name("embedding-cache")
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("the sextant binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Fails with both streams when `o` did not succeed.
fn assert_ok(o: &Output, what: &str) {
    assert!(
        o.status.success(),
        "{what} failed ({:?})\n--- stdout\n{}\n--- stderr\n{}",
        o.status,
        stdout(o),
        stderr(o)
    );
    assert_no_panic(o, what);
}

/// A clean failure: an exit code (not a signal), a message, no panic.
fn assert_clean_failure(o: &Output, what: &str) {
    assert!(
        !o.status.success(),
        "{what} should fail, but succeeded:\n{}",
        stdout(o)
    );
    assert!(
        o.status.code().is_some(),
        "{what} should exit with an error code, not die of a signal ({:?})",
        o.status
    );
    assert!(
        !stderr(o).trim().is_empty(),
        "{what} failed without a message on stderr"
    );
    assert_no_panic(o, what);
}

fn assert_no_panic(o: &Output, what: &str) {
    let err = stderr(o);
    assert!(!err.contains("panicked"), "{what} panicked:\n{err}");
    assert!(!err.contains("RUST_BACKTRACE"), "{what} panicked:\n{err}");
}

/// `sextant --data DATA --kb KB ingest -q EXTRA...`.
fn ingest_command(data: &Path, kb: &Path, extra: &[&str]) -> Command {
    let mut c = sextant();
    c.arg("--data")
        .arg(data)
        .arg("--kb")
        .arg(kb)
        .arg("ingest")
        .arg("-q")
        .args(extra);
    c
}

/// Ingest with the fixture's own embedding cache.
fn ingest(data: &Path, kb: &Path, extra: &[&str]) -> Output {
    run(ingest_command(data, kb, extra).env("SEXTANT_CACHE", cache_of(kb)))
}

/// Ingest of the real corpus with the machine's shared embedding cache:
/// the corpus is embedded once per machine, not once per test.
fn ingest_real(data: &Path, kb: &Path, extra: &[&str]) -> Output {
    run(&mut ingest_command(data, kb, extra))
}

fn ask(kb: &Path, args: &[&str]) -> Output {
    run(sextant().arg("--kb").arg(kb).arg("ask").args(args))
}

/// `ask --json`, which must succeed and print valid JSON.
fn ask_json(kb: &Path, question: &str) -> Value {
    let o = ask(kb, &["--json", question]);
    assert_ok(&o, &format!("ask --json {question:?}"));
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("ask --json printed invalid JSON ({e}):\n{}", stdout(&o)))
}

/// The number on a summary line such as `  pages      4`.
fn summary_count(out: &str, label: &str) -> Option<usize> {
    out.lines().find_map(|l| {
        let mut words = l.split_whitespace();
        (words.next() == Some(label))
            .then(|| words.next()?.parse().ok())
            .flatten()
    })
}

fn normalize_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key)
        .unwrap_or_else(|| panic!("missing key {key:?} in {v}"))
        .as_str()
        .unwrap_or_else(|| panic!("{key:?} is not a string in {v}"))
}

fn arr_field<'a>(v: &'a Value, key: &str) -> &'a Vec<Value> {
    v.get(key)
        .unwrap_or_else(|| panic!("missing key {key:?} in {v}"))
        .as_array()
        .unwrap_or_else(|| panic!("{key:?} is not an array in {v}"))
}

/// Every cited sentence of the body and the bottom line.
fn cited_sentences(answer: &Value) -> Vec<&Value> {
    let mut out: Vec<&Value> = arr_field(answer, "sections")
        .iter()
        .flat_map(|s| arr_field(s, "sentences").iter())
        .collect();
    // An ambiguous question's readings carry their own sections.
    for r in answer
        .get("readings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.extend(
            arr_field(r, "sections")
                .iter()
                .flat_map(|s| arr_field(s, "sentences").iter()),
        );
        if let Some(b) = r.get("bottom_line").and_then(Value::as_array) {
            out.extend(b.iter());
        }
    }
    out.extend(arr_field(answer, "bottom_line").iter());
    out
}

fn body_words(answer: &Value) -> usize {
    cited_sentences(answer)
        .iter()
        .map(|s| str_field(s, "text").split_whitespace().count())
        .sum()
}

/// Checks the JSON shape of an answer, and that every sentence is verbatim
/// (after whitespace normalization) in the passage of each source it cites.
fn check_answer_shape(a: &Value) {
    for key in ["question", "kind", "title", "opener", "notice"] {
        assert!(
            !str_field(a, key).trim().is_empty(),
            "{key:?} is empty in {a}"
        );
    }
    for t in arr_field(a, "cancer_types") {
        assert!(t.is_string(), "cancer_types holds a non-string: {t}");
    }
    for q in arr_field(a, "questions_to_ask") {
        assert!(
            q.as_str().is_some_and(|q| !q.trim().is_empty()),
            "bad question to ask: {q}"
        );
    }
    let sources = arr_field(a, "sources");
    for s in sources {
        for key in ["id", "title", "url", "section", "passage"] {
            assert!(
                !str_field(s, key).is_empty(),
                "source field {key:?} is empty: {s}"
            );
        }
        assert!(
            str_field(s, "url").starts_with("https://"),
            "source url is not a link: {s}"
        );
        let lr = s
            .get("last_reviewed")
            .unwrap_or_else(|| panic!("source without last_reviewed key: {s}"));
        assert!(
            lr.is_null() || lr.is_string(),
            "last_reviewed is neither null nor a string: {s}"
        );
    }
    for sec in arr_field(a, "sections") {
        assert!(
            !str_field(sec, "heading").trim().is_empty(),
            "section without heading: {sec}"
        );
        assert!(
            !arr_field(sec, "sentences").is_empty(),
            "empty section: {sec}"
        );
    }
    for s in cited_sentences(a) {
        let text = normalize_ws(str_field(s, "text"));
        assert!(!text.is_empty(), "empty sentence: {s}");
        let cites = arr_field(s, "citations");
        assert!(!cites.is_empty(), "uncited sentence: {s}");
        for c in cites {
            let id = c
                .as_str()
                .unwrap_or_else(|| panic!("citation is not a string: {c}"));
            let src = sources
                .iter()
                .find(|src| str_field(src, "id") == id)
                .unwrap_or_else(|| panic!("citation {id} is not among the sources of {a}"));
            assert!(
                normalize_ws(str_field(src, "passage")).contains(&text),
                "sentence {text:?} is not verbatim in its cited passage {id}: {:?}",
                str_field(src, "passage")
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Fixture corpus

const LIVER_URL: &str = "https://www.cancer.gov/types/liver/what-is-liver-cancer/treatment";

/// The word only the page added by [`add_unique_page`] contains.
const UNIQUE_WORD: &str = "zorblatinib";
const UNIQUE_QUESTION: &str = "What is zorblatinib?";
const SURGERY_QUESTION: &str = "Is surgery an option for liver cancer?";

fn page(title: &str, url: Option<&str>, reviewed: &str, audience: &str, body: &str) -> String {
    let mut fm = format!("---\ntitle: {title}\n");
    if let Some(u) = url {
        fm.push_str(&format!("url: {u}\n"));
    }
    fm.push_str(&format!(
        "lastReviewed: '{reviewed}'\naudienceLevel: {audience}\ncancerTypes:\n- test\n---\n\n"
    ));
    fm + body
}

fn write(path: &Path, content: impl AsRef<[u8]>) {
    fs::create_dir_all(path.parent().expect("a parent folder")).expect("create fixture folder");
    fs::write(path, content).expect("write fixture file");
}

/// Writes a small corpus: four good pages (in nested folders), one page with
/// unclosed front matter, one without a url, and one that is not UTF-8.
fn write_fixture(dir: &Path) {
    write(
        &dir.join("en/types/liver-treatment.md"),
        page(
            "Liver Cancer Treatment - NCI",
            Some(LIVER_URL),
            "2025-01-15",
            "patient",
            "# Liver Cancer Treatment - NCI\n\n# Liver Cancer Treatment\n\n\
             Liver cancer is treated in several ways, depending on how far the cancer has grown and how well the liver works.\n\n\
             ## Types of treatment\n\n\
             ### Surgery\n\n\
             Surgery to remove the tumor may be an option when liver cancer is found early and the rest of the liver is healthy. \
             A partial hepatectomy removes the part of the liver where the cancer is found, along with some healthy tissue around it. \
             The remaining liver tissue takes over the work of the liver and may grow back.\n\n\
             A liver transplant removes the whole liver and replaces it with a healthy donated liver. \
             A transplant may be done when the cancer is only in the liver and a donated liver can be found.\n\n\
             ### Ablation therapy\n\n\
             Ablation therapy destroys tumor cells with heat, cold, or chemicals instead of removing them. \
             Radiofrequency ablation uses a special probe with tiny electrodes that kill cancer cells. \
             Ablation may be used for people who cannot have surgery.\n\n\
             ## Treatment of localized liver cancer\n\n\
             Treatment of localized liver cancer may include surgery, a liver transplant, or ablation. \
             Your doctor will talk with you about which of these treatments fits your situation best.\n",
        ),
    );
    write(
        &dir.join("en/types/liver-causes.md"),
        page(
            "Liver Cancer Causes and Risk Factors - NCI",
            Some("https://www.cancer.gov/types/liver/what-is-liver-cancer/causes-risk-factors"),
            "2024-11-02",
            "patient",
            "# Liver Cancer Causes and Risk Factors\n\n\
             ## Risk factors\n\n\
             Having hepatitis B or hepatitis C for a long time can increase the risk of liver cancer. \
             Cirrhosis is a disease in which healthy liver tissue is replaced by scar tissue. \
             Heavy alcohol use over many years can cause cirrhosis and raise the risk of liver cancer. \
             Eating foods tainted with aflatoxin, a poison made by a fungus, also increases the risk.\n\n\
             ## Lowering your risk\n\n\
             Getting the hepatitis B vaccine lowers the risk of liver cancer in people who are not yet infected. \
             Treating chronic hepatitis C infection can also lower the risk.\n",
        ),
    );
    write(
        &dir.join("en/types/colon-treatment.md"),
        page(
            "Colon Cancer Treatment - NCI",
            Some("https://www.cancer.gov/types/colorectal/colon-cancer-treatment"),
            "2025-03-01",
            "patient",
            "# Colon Cancer Treatment\n\n\
             ## Surgery for colon cancer\n\n\
             Surgery is the most common treatment for all stages of colon cancer. \
             A colectomy removes the part of the colon that has cancer and a small amount of healthy tissue around it. \
             Nearby lymph nodes are usually removed and checked for cancer as well.\n\n\
             ### Chemotherapy\n\n\
             Chemotherapy uses drugs to stop the growth of cancer cells, either by killing the cells or by stopping them from dividing. \
             Chemotherapy may be given after surgery to kill any cancer cells that are left.\n",
        ),
    );
    write(
        &dir.join("en/drugs/sorafenib.md"),
        page(
            "Sorafenib Tosylate - NCI",
            Some("https://www.cancer.gov/about-cancer/treatment/drugs/sorafenibtosylate"),
            "2024-06-20",
            "patient",
            "# Sorafenib Tosylate\n\n\
             ## Use in cancer\n\n\
             Sorafenib tosylate is approved to treat hepatocellular carcinoma that cannot be removed by surgery. \
             It is also approved to treat advanced renal cell carcinoma and some types of thyroid cancer. \
             Sorafenib tosylate is a kinase inhibitor that blocks proteins that help cancer cells grow. \
             It is taken by mouth as a tablet, usually twice a day, and your care team will watch for side effects.\n",
        ),
    );
    // Front matter that is never closed.
    write(
        &dir.join("en/broken/bad-frontmatter.md"),
        "---\ntitle: Broken Page - NCI\nurl: https://www.cancer.gov/types/liver/broken\n\n# Broken\n\nThis page never closes its front matter.\n",
    );
    // No url in the front matter.
    write(
        &dir.join("en/broken/no-url.md"),
        page(
            "Page Without Address - NCI",
            None,
            "2024-01-01",
            "patient",
            "# Page Without Address\n\nThis page has plenty of words but no address, so it cannot be cited.\n",
        ),
    );
    // Not UTF-8 (a UTF-16 byte order mark, then invalid bytes).
    write(
        &dir.join("en/broken/binary.md"),
        [0xffu8, 0xfe, b'#', 0x00, b' ', 0x00, 0xc3, 0x28],
    );
}

/// Adds a liver page about a drug no other page mentions.
fn add_unique_page(dir: &Path) {
    write(
        &dir.join("en/types/liver-zorblatinib.md"),
        page(
            "Zorblatinib Study for Liver Cancer - NCI",
            Some("https://www.cancer.gov/types/liver/zorblatinib-study"),
            "2025-06-30",
            "patient",
            "# Zorblatinib Study for Liver Cancer\n\n\
             ## About zorblatinib\n\n\
             Zorblatinib is an experimental medicine being studied in people with liver cancer. \
             In the study, zorblatinib is given by vein once every three weeks in a clinic. \
             Researchers want to learn whether zorblatinib shrinks liver tumors and how well people tolerate it. \
             People who join the zorblatinib study get regular scans and blood tests to track how the tumor responds.\n",
        ),
    );
}

/// A temporary data folder holding the fixture corpus, and an empty KB path.
struct Fixture {
    _tmp: tempfile::TempDir,
    data: PathBuf,
    kb: PathBuf,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    write_fixture(&data);
    let kb = tmp.path().join("kb");
    Fixture {
        _tmp: tmp,
        data,
        kb,
    }
}

/// A fixture that has been ingested successfully.
fn ingested_fixture() -> Fixture {
    let f = fixture();
    let o = ingest(&f.data, &f.kb, &[]);
    assert_ok(&o, "ingest of the fixture corpus");
    f
}

fn read_current(kb: &Path) -> String {
    fs::read_to_string(kb.join("CURRENT")).expect("CURRENT exists after ingest")
}

fn kb_entries(kb: &Path, prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(kb)
        .expect("read the KB folder")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect();
    v.sort();
    v
}

/// Whether any source of `answer` (passage, title or url) mentions `word`.
fn sources_mention(answer: &Value, word: &str) -> bool {
    arr_field(answer, "sources").iter().any(|s| {
        ["passage", "title", "url"]
            .iter()
            .any(|k| str_field(s, k).to_lowercase().contains(word))
    })
}

// ---------------------------------------------------------------------------
// 1. Fixture ingest and the answer's shape

/// Without a terminal (CI, a container build), embedding's progress comes
/// as plain lines: the start, each tenth, the end.
#[test]
fn ingest_without_a_terminal_reports_embedding_in_plain_lines() {
    if !sextant_embed::embedder::model_present(&sextant_embed::models_dir(None)) {
        eprintln!("skipped: needs the embedding model (scripts/fetch-models.sh)");
        return;
    }
    let f = fixture();
    let mut c = sextant();
    c.arg("--data")
        .arg(&f.data)
        .arg("--kb")
        .arg(&f.kb)
        .arg("ingest")
        .env("SEXTANT_CACHE", cache_of(&f.kb));
    let o = run(&mut c);
    assert_ok(&o, "ingest");
    let err = stderr(&o);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("embedding: "))
        .collect();
    assert!(lines.first().is_some_and(|l| l.contains(" (0%)")), "{err}");
    assert!(lines.last().is_some_and(|l| l.contains(" (100%)")), "{err}");
    assert!(lines.len() <= 11, "{err}");
}

#[test]
fn fixture_ingest_reports_bad_files_and_answers_with_verbatim_citations() {
    let f = fixture();
    let o = ingest(&f.data, &f.kb, &[]);
    assert_ok(&o, "ingest");
    let out = stdout(&o);
    assert_eq!(
        summary_count(&out, "pages"),
        Some(4),
        "four good pages expected in the summary:\n{out}"
    );
    assert_eq!(
        summary_count(&out, "files"),
        Some(7),
        "seven .md files expected in the summary:\n{out}"
    );
    assert_eq!(
        summary_count(&out, "skipped"),
        Some(3),
        "three bad files expected in the summary:\n{out}"
    );
    let passages =
        summary_count(&out, "passages").unwrap_or_else(|| panic!("no passages line in:\n{out}"));
    assert!(
        passages >= 4,
        "at least one passage per page expected, got {passages}:\n{out}"
    );
    let err = stderr(&o);
    for bad in ["bad-frontmatter.md", "no-url.md", "binary.md"] {
        assert!(err.contains(bad), "stderr does not name {bad}:\n{err}");
    }
    for good in [
        "liver-treatment.md",
        "liver-causes.md",
        "colon-treatment.md",
        "sorafenib.md",
    ] {
        assert!(
            !err.contains(good),
            "stderr complains about the good page {good}:\n{err}"
        );
    }

    let a = ask_json(&f.kb, SURGERY_QUESTION);
    check_answer_shape(&a);
    assert_eq!(str_field(&a, "question"), SURGERY_QUESTION);
    assert_eq!(str_field(&a, "kind"), "answer", "{a:#}");
    assert!(
        !arr_field(&a, "sections").is_empty(),
        "an answer without sections: {a:#}"
    );
    assert!(
        !arr_field(&a, "bottom_line").is_empty(),
        "an answer without a bottom line: {a:#}"
    );
    assert!(
        !arr_field(&a, "questions_to_ask").is_empty(),
        "an answer without questions to ask: {a:#}"
    );
    assert!(
        arr_field(&a, "sources")
            .iter()
            .any(|s| str_field(s, "url").starts_with(LIVER_URL)),
        "no source points to the liver treatment page: {a:#}"
    );
    let sources = arr_field(&a, "sources");
    assert!(
        !sources
            .iter()
            .any(|s| str_field(s, "url").contains("/broken")),
        "a skipped page is cited: {a:#}"
    );
    let liver = sources
        .iter()
        .find(|s| str_field(s, "url").starts_with(LIVER_URL))
        .expect("a liver source");
    assert_eq!(
        liver["last_reviewed"], "2025-01-15",
        "the page's lastReviewed is carried: {liver}"
    );
}

// ---------------------------------------------------------------------------
// 2. Re-ingest

#[test]
fn reingest_of_unchanged_corpus_is_a_no_op_and_a_change_rebuilds() {
    let f = ingested_fixture();
    let before = read_current(&f.kb);
    let o = ingest(&f.data, &f.kb, &[]);
    assert_ok(&o, "second ingest");
    assert!(
        stdout(&o).contains("up to date"),
        "unchanged corpus not reported up to date:\n{}",
        stdout(&o)
    );
    assert_eq!(
        read_current(&f.kb),
        before,
        "an up-to-date ingest changed CURRENT"
    );
    assert_eq!(kb_entries(&f.kb, "gen-").len(), 1);

    // Change one page's content.
    let page = f.data.join("en/types/colon-treatment.md");
    let mut text = fs::read_to_string(&page).expect("read page");
    text.push_str("\nRadiation therapy uses high-energy x-rays to kill cancer cells that remain near the colon.\n");
    fs::write(&page, text).expect("modify page");
    let o = ingest(&f.data, &f.kb, &[]);
    assert_ok(&o, "ingest after a change");
    assert!(
        !stdout(&o).contains("up to date"),
        "a changed corpus was reported up to date:\n{}",
        stdout(&o)
    );
    let after = read_current(&f.kb);
    assert_ne!(after, before, "a changed corpus did not switch CURRENT");
    assert!(
        f.kb.join(after.trim()).is_dir(),
        "CURRENT names a missing generation: {after}"
    );
    assert_eq!(
        kb_entries(&f.kb, "gen-"),
        vec![after.trim().to_string()],
        "old generations were not removed"
    );
    assert!(kb_entries(&f.kb, ".tmp-").is_empty());

    // And --force rebuilds an unchanged corpus.
    let o = ingest(&f.data, &f.kb, &["--force"]);
    assert_ok(&o, "ingest --force");
    assert!(
        !stdout(&o).contains("up to date"),
        "--force did nothing:\n{}",
        stdout(&o)
    );
    assert_ne!(
        read_current(&f.kb),
        after,
        "--force did not build a new generation"
    );
}

// ---------------------------------------------------------------------------
// 3. Bad input

#[test]
fn empty_and_overlong_questions_are_refused_clearly() {
    // No KB at all: the question is checked first.
    let tmp = tempfile::tempdir().expect("tempdir");
    let cases: [(String, &str); 3] = [
        (String::new(), "empty"),
        ("   ".to_string(), "empty"),
        ("a".repeat(2001), "2000"),
    ];
    for (q, needle) in &cases {
        let o = ask(tmp.path(), &[q.as_str()]);
        assert_clean_failure(&o, &format!("ask with a {}-char question", q.len()));
        assert!(
            stderr(&o).contains(needle),
            "stderr lacks {needle:?}:\n{}",
            stderr(&o)
        );
        assert!(
            o.stdout.is_empty(),
            "a refused question printed an answer:\n{}",
            stdout(&o)
        );
    }
    // Exactly 2000 characters is accepted (and fails only for want of a KB).
    let o = ask(tmp.path(), &[&"a".repeat(2000)]);
    assert_clean_failure(&o, "ask with a 2000-char question and no KB");
    assert!(stderr(&o).contains("sextant ingest"), "{}", stderr(&o));
}

#[test]
fn ask_without_a_knowledge_base_says_to_ingest() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for kb in [tmp.path().to_path_buf(), tmp.path().join("does-not-exist")] {
        let o = ask(&kb, &["--json", SURGERY_QUESTION]);
        assert_clean_failure(&o, "ask without a KB");
        assert!(
            stderr(&o).contains("sextant ingest"),
            "stderr does not point to `sextant ingest`:\n{}",
            stderr(&o)
        );
        assert!(o.stdout.is_empty(), "{}", stdout(&o));
    }
}

#[test]
fn ingest_refuses_missing_and_empty_data_folders() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let kb = tmp.path().join("kb");

    let missing = tmp.path().join("no-such-folder");
    let o = ingest(&missing, &kb, &[]);
    assert_clean_failure(&o, "ingest of a missing folder");
    let err = stderr(&o);
    assert!(
        err.contains("no-such-folder"),
        "stderr does not name the missing folder:\n{err}"
    );
    assert!(
        err.contains("--data"),
        "stderr does not say how to point at data:\n{err}"
    );
    assert!(!kb.join("CURRENT").exists());

    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).expect("mkdir");
    fs::write(empty.join("notes.txt"), "not a Markdown page").expect("write");
    let o = ingest(&empty, &kb, &[]);
    assert_clean_failure(&o, "ingest of an empty folder");
    assert!(
        stderr(&o).contains("no Markdown"),
        "stderr does not say there are no Markdown pages:\n{}",
        stderr(&o)
    );
    assert!(!kb.join("CURRENT").exists());
}

#[test]
fn sextant_data_env_var_is_honored() {
    let f = fixture();
    let o = run(sextant()
        .env("SEXTANT_DATA", &f.data)
        .arg("--kb")
        .arg(&f.kb)
        .args(["ingest", "-q"]));
    assert_ok(&o, "ingest with SEXTANT_DATA");
    let data = f.data.canonicalize().expect("canonical data path");
    assert!(
        stdout(&o).contains(&data.display().to_string()),
        "the summary does not name SEXTANT_DATA's folder:\n{}",
        stdout(&o)
    );
    assert_eq!(
        summary_count(&stdout(&o), "pages"),
        Some(4),
        "{}",
        stdout(&o)
    );
    let a = ask_json(&f.kb, SURGERY_QUESTION);
    assert_eq!(str_field(&a, "kind"), "answer");

    // --data wins over SEXTANT_DATA.
    let other = tempfile::tempdir().expect("tempdir");
    let o = run(sextant()
        .env("SEXTANT_DATA", other.path().join("missing"))
        .arg("--data")
        .arg(&f.data)
        .arg("--kb")
        .arg(&f.kb)
        .args(["ingest", "-q"]));
    assert_ok(&o, "ingest with --data and a bad SEXTANT_DATA");

    // A bad SEXTANT_DATA is named in the error.
    let o = run(sextant()
        .env("SEXTANT_DATA", other.path().join("missing"))
        .arg("--kb")
        .arg(&f.kb)
        .args(["ingest", "-q"]));
    assert_clean_failure(&o, "ingest with a missing SEXTANT_DATA");
    assert!(stderr(&o).contains("SEXTANT_DATA"), "{}", stderr(&o));
}

// ---------------------------------------------------------------------------
// 4. Crash safety at named failpoints

fn crash_at(failpoint: &str) {
    let embedding = failpoint.contains("embedding") || failpoint.contains("vectors");
    if embedding && !sextant_embed::embedder::model_present(&sextant_embed::models_dir(None)) {
        eprintln!("skipped: {failpoint} needs the embedding model (scripts/fetch-models.sh)");
        return;
    }
    let f = ingested_fixture();
    let old_current = read_current(&f.kb);
    let before = ask_json(&f.kb, UNIQUE_QUESTION);
    assert!(
        !sources_mention(&before, UNIQUE_WORD),
        "the word is found before it was added: {before:#}"
    );

    add_unique_page(&f.data);
    let o = run(sextant()
        .env("SEXTANT_FAILPOINT", failpoint)
        .env("SEXTANT_CACHE", cache_of(&f.kb))
        .arg("--data")
        .arg(&f.data)
        .arg("--kb")
        .arg(&f.kb)
        .args(["ingest", "--force", "-q"]));
    assert!(
        !o.status.success(),
        "ingest with failpoint {failpoint} succeeded:\n{}",
        stdout(&o)
    );
    assert!(
        stderr(&o).contains(&format!("failpoint {failpoint}")),
        "failpoint {failpoint} was not reached:\n{}",
        stderr(&o)
    );
    assert_eq!(
        o.status.signal(),
        Some(6),
        "failpoint {failpoint} should abort (SIGABRT): {:?}",
        o.status
    );

    // What the crash left: a staging folder before the generation was
    // renamed into place, a second generation after.
    match failpoint {
        "ingest:after-passages"
        | "ingest:after-index"
        | "ingest:mid-embedding"
        | "ingest:after-vectors" => {
            assert_eq!(
                kb_entries(&f.kb, ".tmp-").len(),
                1,
                "no staging folder after a crash at {failpoint}"
            );
            assert_eq!(kb_entries(&f.kb, "gen-").len(), 1);
        }
        _ => {
            assert!(kb_entries(&f.kb, ".tmp-").is_empty());
            assert_eq!(
                kb_entries(&f.kb, "gen-").len(),
                2,
                "no new generation after a crash at {failpoint}"
            );
        }
    }

    // The KB is usable: either the old generation or the new one.
    let a = ask_json(&f.kb, SURGERY_QUESTION);
    assert_eq!(
        str_field(&a, "kind"),
        "answer",
        "after a crash at {failpoint}: {a:#}"
    );
    check_answer_shape(&a);
    let u = ask_json(&f.kb, UNIQUE_QUESTION);
    check_answer_shape(&u);
    if failpoint == "ingest:after-current" {
        assert_ne!(
            read_current(&f.kb),
            old_current,
            "CURRENT did not switch before {failpoint}"
        );
        assert_eq!(str_field(&u, "kind"), "answer", "{u:#}");
        assert!(
            sources_mention(&u, UNIQUE_WORD),
            "the new KB is not live after {failpoint}: {u:#}"
        );
    } else {
        assert_eq!(
            read_current(&f.kb),
            old_current,
            "CURRENT changed despite a crash at {failpoint}"
        );
        assert!(
            !sources_mention(&u, UNIQUE_WORD),
            "a half-built KB is live after {failpoint}: {u:#}"
        );
    }

    // A normal ingest recovers.
    let o = ingest(&f.data, &f.kb, &[]);
    assert_ok(&o, &format!("ingest after a crash at {failpoint}"));
    if failpoint == "ingest:after-current" {
        // The live KB already matches the corpus, so ingest does nothing and
        // (a library bug) leaves the old generation behind; see
        // `up_to_date_ingest_removes_a_generation_orphaned_after_current`.
        // A rebuild removes it.
        assert!(stdout(&o).contains("up to date"), "{}", stdout(&o));
        let o = ingest(&f.data, &f.kb, &["--force"]);
        assert_ok(&o, &format!("ingest --force after a crash at {failpoint}"));
    } else {
        assert!(
            !stdout(&o).contains("up to date"),
            "the crashed build was taken as complete:\n{}",
            stdout(&o)
        );
    }
    if embedding {
        // What was embedded before the crash was kept in the cache.
        assert!(
            stdout(&o).contains("(0 embedded now"),
            "vectors embedded before the crash were lost:\n{}",
            stdout(&o)
        );
    }
    let u = ask_json(&f.kb, UNIQUE_QUESTION);
    assert_eq!(str_field(&u, "kind"), "answer", "{u:#}");
    assert!(
        sources_mention(&u, UNIQUE_WORD),
        "the new page is not found after recovery: {u:#}"
    );
    assert_no_leftovers(&f.kb, failpoint);
}

/// No staging folder, exactly one generation, and CURRENT names it.
fn assert_no_leftovers(kb: &Path, after: &str) {
    assert_eq!(
        kb_entries(kb, ".tmp-"),
        Vec::<String>::new(),
        "a staging folder was left behind after {after}"
    );
    let gens = kb_entries(kb, "gen-");
    assert_eq!(
        gens.len(),
        1,
        "exactly one generation expected after recovery from {after}: {gens:?}"
    );
    assert_eq!(
        read_current(kb).trim(),
        gens[0],
        "CURRENT does not name the remaining generation"
    );
}

#[test]
fn crash_after_passages_keeps_the_old_kb() {
    crash_at("ingest:after-passages");
}

#[test]
fn crash_after_index_keeps_the_old_kb() {
    crash_at("ingest:after-index");
}

#[test]
fn crash_while_embedding_keeps_the_old_kb_and_the_vectors_made_so_far() {
    crash_at("ingest:mid-embedding");
}

#[test]
fn crash_after_vectors_keeps_the_old_kb() {
    crash_at("ingest:after-vectors");
}

#[test]
fn crash_before_current_keeps_the_old_kb() {
    crash_at("ingest:before-current");
}

#[test]
fn crash_after_current_leaves_the_new_kb() {
    crash_at("ingest:after-current");
}

/// After a crash between the switch of CURRENT and the removal of the old
/// generation, the next `ingest` finds the corpus up to date and returns
/// before `Staging::new` (whose `clean_stale` would remove the orphan), so
/// the old generation stays on disk until the corpus next changes.
#[test]
fn up_to_date_ingest_removes_a_generation_orphaned_after_current() {
    let f = ingested_fixture();
    add_unique_page(&f.data);
    let o = run(sextant()
        .env("SEXTANT_FAILPOINT", "ingest:after-current")
        .arg("--data")
        .arg(&f.data)
        .arg("--kb")
        .arg(&f.kb)
        .args(["ingest", "-q"]));
    assert!(!o.status.success());
    assert_ok(&ingest(&f.data, &f.kb, &[]), "ingest after the crash");
    assert_no_leftovers(&f.kb, "ingest:after-current");
}

// ---------------------------------------------------------------------------
// Real corpus

const SEED_QUESTION: &str = "Is surgery an option for metastatic liver cancer";

/// The team's data folder, or `None` (with a message) when it is missing.
fn real_data() -> Option<PathBuf> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if data.join("corpus/cancergov-2025").is_dir() {
        Some(data)
    } else {
        eprintln!(
            "skipped: no real corpus at {}/corpus/cancergov-2025",
            data.display()
        );
        None
    }
}

/// A KB of the real corpus, ingested once per run of this test binary.
/// It lives under cargo's target tmp folder, named by this process's id;
/// folders left by earlier runs (whose processes are gone) are removed.
fn real_kb() -> Option<&'static Path> {
    static KB: OnceLock<Option<PathBuf>> = OnceLock::new();
    KB.get_or_init(|| {
        let data = real_data()?;
        let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
        if let Ok(entries) = fs::read_dir(root) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some(pid) = name.strip_prefix("sextant-cli-real-kb-") {
                    if !Path::new("/proc").join(pid).exists() {
                        let _ = fs::remove_dir_all(e.path());
                    }
                }
            }
        }
        let kb = root.join(format!("sextant-cli-real-kb-{}", std::process::id()));
        let o = ingest_real(&data, &kb, &["--force"]);
        assert_ok(&o, "ingest of the real corpus");
        Some(kb)
    })
    .as_deref()
}

// 5. SIGKILL during ingest

#[test]
fn killed_ingest_leaves_a_usable_kb() {
    let Some(data) = real_data() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let kb = tmp.path().join("kb");
    assert_ok(
        &ingest_real(&data, &kb, &[]),
        "first ingest of the real corpus",
    );
    for delay_ms in [50u64, 300, 1000, 2000] {
        let mut child = sextant()
            .arg("--data")
            .arg(&data)
            .arg("--kb")
            .arg(&kb)
            .args(["ingest", "--force", "-q"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ingest");
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().expect("kill ingest");
        let status = child.wait().expect("wait for ingest");
        assert!(
            status.success() || status.signal() == Some(9),
            "ingest ended neither by success nor by SIGKILL after {delay_ms} ms: {status:?}"
        );
        eprintln!("kill after {delay_ms} ms: {status:?}");
        let a = ask_json(&kb, "Is surgery an option for metastatic liver cancer?");
        assert_eq!(
            str_field(&a, "kind"),
            "answer",
            "after a kill at {delay_ms} ms: {a:#}"
        );
        check_answer_shape(&a);
    }
    // A later ingest cleans up what the kills left.
    assert_ok(
        &ingest_real(&data, &kb, &["--force"]),
        "ingest after the kills",
    );
    assert_eq!(
        kb_entries(&kb, ".tmp-"),
        Vec::<String>::new(),
        "staging folders of killed runs were left"
    );
    assert_eq!(kb_entries(&kb, "gen-").len(), 1);
}

// 6. The seed question

#[test]
fn seed_question_is_answered_for_each_reading() {
    let Some(kb) = real_kb() else { return };
    let a = ask_json(kb, SEED_QUESTION);
    check_answer_shape(&a);
    assert_eq!(str_field(&a, "kind"), "answer", "{a:#}");
    let readings = arr_field(&a, "readings");
    assert_eq!(readings.len(), 2, "{a:#}");
    let sources = arr_field(&a, "sources");
    // The URLs a reading cites.
    let urls_of = |r: &Value| -> Vec<String> {
        let ids: Vec<&str> = arr_field(r, "sections")
            .iter()
            .flat_map(|s| arr_field(s, "sentences").iter())
            .flat_map(|s| arr_field(s, "citations").iter())
            .filter_map(Value::as_str)
            .collect();
        sources
            .iter()
            .filter(|s| ids.contains(&str_field(s, "id")))
            .map(|s| str_field(s, "url").to_string())
            .collect()
    };
    let primary = urls_of(&readings[0]);
    assert!(
        primary
            .iter()
            .any(|u| u
                .starts_with("https://www.cancer.gov/types/liver/what-is-liver-cancer/treatment")),
        "the primary-liver reading does not cite the liver treatment page: {primary:#?}"
    );
    let spread = urls_of(&readings[1]);
    assert!(
        spread
            .iter()
            .any(|u| u.contains("/types/colorectal/patient/colon-treatment-pdq")),
        "the spread-to-the-liver reading does not cite the colon treatment page: {spread:#?}"
    );
    for r in readings {
        let headings: Vec<&str> = arr_field(r, "sections")
            .iter()
            .map(|s| str_field(s, "heading"))
            .collect();
        assert!(
            headings.iter().any(|h| h.contains("urgery")),
            "no section about surgery: {headings:?}"
        );
    }
    let words = body_words(&a);
    assert!((80..=600).contains(&words), "body has {words} words: {a:#}");
    let asks = arr_field(&a, "questions_to_ask");
    assert!(
        asks[0]
            .as_str()
            .is_some_and(|q| q.contains("start in the liver")),
        "{asks:?}"
    );
    assert!(a["reading_grade"].is_number(), "{a:#}");
}

#[test]
fn an_emergency_report_is_routed_first_with_numbers_for_the_locale() {
    let Some(kb) = real_kb() else { return };
    let q = "my dad has a fever of 102 four days after chemo, what should we do";
    let a = ask_json(kb, q);
    check_answer_shape(&a);
    assert_eq!(str_field(&a, "kind"), "emergency", "{a:#}");
    let u = &a["urgent"];
    assert_eq!(str_field(u, "category"), "neutropenic_fever");
    assert!(arr_field(u, "do_now")[0]
        .as_str()
        .is_some_and(|s| s.contains("24-hour")));
    assert!(
        arr_field(&a, "sources")
            .iter()
            .any(|s| str_field(s, "url").contains("/side-effects/")),
        "no side-effects page cited: {a:#}"
    );
    // Text puts what to do first; British numbers with --locale.
    let o = ask(kb, &["--locale", "GB", q]);
    assert_ok(&o, "ask --locale GB");
    let text = stdout(&o);
    assert!(
        text.starts_with('!') && text.contains("WHAT TO DO NOW"),
        "{text}"
    );
    assert!(text.contains("999"), "{text}");
    let o = ask(kb, &["--locale", "Narnia", q]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown locale"), "{}", stderr(&o));
}

#[test]
fn eval_safety_routing_only_reports_every_kind() {
    let o = run(sextant().args(["eval", "safety", "--routing-only"]));
    assert_ok(&o, "eval safety --routing-only");
    let out = stdout(&o);
    for kind in [
        "emergency recall",
        "urgent recall",
        "dosing recall",
        "out_of_scope recall",
        "ambiguous recall",
        "emergencies missed",
        "routine escalated",
        "emergency false alarms",
        "Ordinary questions escalated",
    ] {
        assert!(out.contains(kind), "{kind:?} missing:\n{out}");
    }
    // The first development set meets the goal for emergencies.
    let line = out
        .lines()
        .find(|l| l.starts_with("emergency recall"))
        .unwrap();
    assert!(line.contains("1.000"), "{line}");
}

/// No emergency of any development set is routed to anything but an
/// emergency, and ordinary questions are rarely escalated to one. The sets
/// written last (dev-f, dev-g, dev-h) need the learned layer, so the model.
#[test]
fn eval_safety_misses_no_emergency_on_the_development_sets() {
    let learned = sextant_embed::embedder::model_present(&sextant_embed::models_dir(None));
    let o = run(sextant().args(["eval", "safety", "--routing-only", "--json"]));
    assert_ok(&o, "eval safety --routing-only --json");
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["learned_layer"], learned);
    for set in v["sets"].as_array().unwrap() {
        let name = set["name"].as_str().unwrap();
        let rules_alone_suffice = ["dev", "dev-b", "dev-c", "dev-d", "dev-e"].contains(&name);
        if name.starts_with("held-out") || !(learned || rules_alone_suffice) {
            continue;
        }
        assert_eq!(
            set["emergencies_missed"], 0,
            "{name}: {:#?}",
            set["failures"]
        );
        assert_eq!(set["emergencies_refused"], 0, "{name}");
    }
    for set in v["ordinary"].as_array().unwrap() {
        let n = set["questions"].as_f64().unwrap();
        let emergency = set["emergency"].as_f64().unwrap();
        assert!(n >= 150.0, "{set}");
        assert!(emergency / n <= 0.05, "{}: {emergency} of {n}", set["name"]);
    }
}

#[test]
fn eval_answers_writes_the_reviewers_file_and_its_checks_hold() {
    let Some(kb) = real_kb() else { return };
    let out = tempfile::tempdir().expect("tempdir");
    let o = run(sextant()
        .arg("--kb")
        .arg(kb)
        .args(["eval", "answers", "--set", "dev", "--json", "--out"])
        .arg(out.path()));
    assert_ok(&o, "eval answers");
    let v: Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    let p = &v["proxies"];
    let n = |k: &str| p[k].as_u64().unwrap_or_else(|| panic!("{k}: {p:#}"));
    assert!(n("questions") >= 150, "{p:#}");
    assert_eq!(n("citation_failures"), 0, "{p:#}");
    // No true premise is "corrected", and what a reader meets first holds.
    assert_eq!(n("controls_checked"), 0, "{p:#}");
    assert!(n("belief_checked") >= 1, "{p:#}");
    let flawed: u64 = p["bottom_line_flaws"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert!(flawed <= 2, "{p:#}");
    assert!(n("answers_with_dangling") <= 2, "{p:#}");
    assert!(n("answers_with_leaks") * 20 <= n("answers"), "{p:#}");
    // The stored judgments of the development set load.
    assert!(
        v["judged"]["matching"].as_u64().is_some_and(|m| m > 0),
        "{:#}",
        v["judged"]
    );
    let text = fs::read_to_string(out.path().join("answers.txt")).expect("answers.txt");
    assert_eq!(text.matches("===== a").count() as u64, n("questions"));
    let lines = fs::read_to_string(out.path().join("answers.jsonl")).expect("answers.jsonl");
    assert_eq!(lines.lines().count() as u64, n("questions"));
}

#[test]
fn eval_answers_writes_candidate_sentences_for_reviewers_to_mark() {
    let Some(kb) = real_kb() else { return };
    let out = tempfile::tempdir().expect("tempdir");
    let file = out.path().join("dev-candidates.tsv");
    let o = run(sextant()
        .arg("--kb")
        .arg(kb)
        .args(["eval", "answers", "--set", "dev", "--candidates"])
        .arg(&file));
    assert_ok(&o, "eval answers --candidates");
    let tsv = fs::read_to_string(&file).expect("candidates");
    let rows: Vec<Vec<&str>> = tsv
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect();
    assert!(rows.len() > 1000, "{} rows", rows.len());
    assert!(rows
        .iter()
        .all(|r| r.len() == 3 && r[1].parse::<usize>().is_ok_and(|n| (1..=12).contains(&n))));
    // Every question routed to an answer has candidates, and each is a
    // sentence of the corpus a reviewer can mark.
    let questions: std::collections::HashSet<&str> = rows.iter().map(|r| r[0]).collect();
    assert!(questions.len() >= 150, "{}", questions.len());
    let txt =
        fs::read_to_string(out.path().join("dev-candidates.tsv.txt")).expect("reviewers' file");
    assert_eq!(txt.matches("===== a").count(), questions.len());
    // The stored marks of the development set still name candidates.
    let stored = Path::new(env!("CARGO_MANIFEST_DIR")).join("../eval/data/answers-sentences");
    let marks = fs::read_dir(&stored).expect("stored marks").count();
    assert!(
        marks >= 2,
        "candidates and marks are stored in {}",
        stored.display()
    );
}

#[test]
fn seed_question_markdown_snapshot() {
    let Some(kb) = real_kb() else { return };
    let o = ask(kb, &["--markdown", SEED_QUESTION]);
    assert_ok(&o, "ask --markdown");
    insta::assert_snapshot!("seed_question_markdown", stdout(&o));
}

// ---------------------------------------------------------------------------
// 7. Renderings

#[test]
fn markdown_and_text_renderings_have_their_sections() {
    let f = ingested_fixture();
    let md = ask(&f.kb, &["--markdown", SURGERY_QUESTION]);
    assert_ok(&md, "ask --markdown");
    let text = ask(&f.kb, &[SURGERY_QUESTION]);
    assert_ok(&text, "ask");
    let (md, text) = (stdout(&md), stdout(&text));
    for (name, out) in [("markdown", &md), ("text", &text)] {
        assert!(
            out.contains("Questions to ask your care team"),
            "{name} lacks the questions:\n{out}"
        );
        assert!(
            out.contains("The bottom line"),
            "{name} lacks the bottom line:\n{out}"
        );
        assert!(
            out.contains(LIVER_URL),
            "{name} does not link the liver page:\n{out}"
        );
    }
    assert!(
        md.contains("## The bottom line"),
        "markdown headings are not Markdown:\n{md}"
    );
    assert!(
        md.contains("[^1]"),
        "markdown has no footnote citations:\n{md}"
    );
    assert!(text.contains("[1]"), "text has no citations:\n{text}");
    assert!(
        !text.contains("## "),
        "plain text contains Markdown headings:\n{text}"
    );
    assert_ne!(md, text, "--markdown and plain output are identical");

    // The real corpus, when there is one.
    if let Some(kb) = real_kb() {
        for flag in ["--markdown", "--"] {
            let o = ask(kb, &[flag, SEED_QUESTION]);
            assert_ok(&o, &format!("ask {flag} on the real corpus"));
            let out = stdout(&o);
            assert!(out.contains("Questions to ask your care team"), "{out}");
            assert!(out.contains("The bottom line"), "{out}");
        }
    }
}

// ---------------------------------------------------------------------------
// Dense retrieval without a (good) model

#[test]
fn missing_model_means_bm25_with_a_warning_and_a_damaged_one_an_error() {
    if !sextant_embed::embedder::model_present(&sextant_embed::models_dir(None)) {
        eprintln!("skipped: needs the embedding model (scripts/fetch-models.sh)");
        return;
    }
    let f = ingested_fixture();
    let tmp = tempfile::tempdir().expect("tempdir");
    let empty = tmp.path().join("no-models");
    fs::create_dir_all(&empty).unwrap();

    // No model: the answer comes from BM25, and both the person (stderr) and
    // programs (JSON) are told.
    let o = run(sextant()
        .arg("--kb")
        .arg(&f.kb)
        .arg("--models")
        .arg(&empty)
        .args(["ask", "--json", SURGERY_QUESTION]));
    assert_ok(&o, "ask without a model");
    assert!(stderr(&o).contains("not installed"), "{}", stderr(&o));
    let a: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(str_field(&a, "retriever"), "bm25");
    assert!(
        a["warnings"].as_array().is_some_and(|w| !w.is_empty()),
        "{a:#}"
    );
    check_answer_shape(&a);

    // With the model, the same KB answers by hybrid retrieval, silently.
    let o = ask(&f.kb, &["--json", SURGERY_QUESTION]);
    assert_ok(&o, "ask with the model");
    let a: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(str_field(&a, "retriever"), "hybrid");
    assert!(a.get("warnings").is_none(), "{a:#}");

    // Asking for BM25 needs no model at all.
    let o = run(sextant()
        .arg("--kb")
        .arg(&f.kb)
        .arg("--models")
        .arg(&empty)
        .args(["ask", "--retriever", "bm25", SURGERY_QUESTION]));
    assert_ok(&o, "ask --retriever bm25 without a model");
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));

    // A damaged model is an error, not a silent fallback.
    let bad = tmp.path().join("bad-models");
    let real = sextant_embed::models_dir(None).join(sextant_embed::MODEL_NAME);
    let copy = bad.join(sextant_embed::MODEL_NAME);
    fs::create_dir_all(&copy).unwrap();
    for (file, _) in sextant_embed::embedder::FILES {
        fs::copy(real.join(file), copy.join(file)).unwrap();
    }
    let mut cfg = fs::read(copy.join("config.json")).unwrap();
    cfg.push(b' ');
    fs::write(copy.join("config.json"), cfg).unwrap();
    let o = run(sextant()
        .arg("--kb")
        .arg(&f.kb)
        .arg("--models")
        .arg(&bad)
        .args(["ask", SURGERY_QUESTION]));
    assert_clean_failure(&o, "ask with a damaged model");
    assert!(stderr(&o).contains("sha256"), "{}", stderr(&o));

    // Ingest without the model builds a BM25-only KB and says so.
    let kb2 = tmp.path().join("kb2");
    let o = run(sextant()
        .env("SEXTANT_CACHE", cache_of(&kb2))
        .arg("--data")
        .arg(&f.data)
        .arg("--kb")
        .arg(&kb2)
        .arg("--models")
        .arg(&empty)
        .args(["ingest", "-q"]));
    assert_ok(&o, "ingest without a model");
    assert!(stderr(&o).contains("without vectors"), "{}", stderr(&o));
    assert!(stdout(&o).contains("none (BM25 only)"), "{}", stdout(&o));
    let o = ask(&kb2, &["--json", SURGERY_QUESTION]);
    assert_ok(&o, "ask on a KB without vectors");
    assert!(
        stderr(&o).contains("without passage embeddings"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn profile_edit_reviews_facts_from_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.txt");
    std::fs::write(
        &report,
        "FINAL DIAGNOSIS: Left breast, invasive ductal carcinoma. Estrogen receptor: positive. HER2: negative.\n",
    )
    .unwrap();
    let plain = run(sextant().args(["profile", "--json"]).arg(&report));
    assert_ok(&plain, "profile --json");
    let before: serde_json::Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert!(!before["biomarkers"].as_array().unwrap().is_empty());
    // Remove every fact reviewed, then add a metastasis.
    let mut child = sextant()
        .args(["profile", "--edit", "--json"])
        .arg(&report)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all("r\nr\nr\nr\nr\nr\nr\nr\nmetastasis\nbone\n\n".as_bytes())
            .unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert_ok(&o, "profile --edit");
    let after: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let bone = &after["metastatic_sites"][0];
    assert_eq!(bone["value"]["name"], "bone");
    assert_eq!(bone["status"], "corrected");
    assert_eq!(bone["provenance"][0]["method"], "person");
    for b in after["biomarkers"].as_array().unwrap() {
        assert_eq!(b["status"], "removed", "{b}");
    }
    assert!(stderr(&o).contains("(from "), "{}", stderr(&o));
}

#[test]
fn init_creates_the_key_apart_from_the_database_and_serve_refuses_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("conf/master.key");
    let db = format!("sqlite://{}", dir.path().join("data/s.db").display());
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let server = |c: &mut Command| {
        c.env_remove("SEXTANT_MASTER_KEY")
            .arg("--key-file")
            .arg(&key)
            .args(["--database-url", &db]);
    };
    // Without a key the server does not start (records would be unprotected).
    let mut serve = sextant();
    serve.args(["serve", "--addr", "127.0.0.1:0"]);
    server(&mut serve);
    let o = run(&mut serve);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("sextant init"), "{}", stderr(&o));

    let mut init = sextant();
    init.arg("init");
    server(&mut init);
    let o = run(&mut init);
    assert_ok(&o, "init");
    let first = std::fs::read(&key).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "key readable by others: {mode:o}");
    }
    // A second init keeps the key: replacing it would lose every record.
    let mut again = sextant();
    again.arg("init");
    server(&mut again);
    assert_ok(&run(&mut again), "init again");
    assert_eq!(std::fs::read(&key).unwrap(), first);

    let mut verify = sextant();
    verify.args(["audit", "verify"]);
    server(&mut verify);
    let o = run(&mut verify);
    assert_ok(&o, "audit verify");
    assert!(stdout(&o).contains("intact"), "{}", stdout(&o));

    // An audited write leaves the chain's head beside the key, apart from
    // the database, and verify checks the chain still reaches it.
    let mut unlock = sextant();
    unlock.args(["account", "unlock", "nobody@example.org"]);
    server(&mut unlock);
    let _ = run(&mut unlock);
    let head = dir.path().join("conf/audit.head");
    let text = std::fs::read_to_string(&head).expect("the head file beside the key");
    let anchor = sextant_store::AuditHead::parse(&text).expect("seq and hash");
    assert!(anchor.seq >= 1, "{text}");
    let mut verify = sextant();
    verify.args(["audit", "verify"]);
    server(&mut verify);
    let o = run(&mut verify);
    assert_ok(&o, "audit verify with the head");
    assert!(stdout(&o).contains("reaches the head"), "{}", stdout(&o));
    // A head the chain never had (a rewritten log's) is reported.
    let forged = dir.path().join("forged.head");
    std::fs::write(&forged, format!("{} {}\n", anchor.seq, "ab".repeat(32))).unwrap();
    let mut verify = sextant();
    verify.args(["audit", "verify", "--head"]).arg(&forged);
    server(&mut verify);
    let o = run(&mut verify);
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(stdout(&o).contains("BROKEN"), "{}", stdout(&o));

    // The library's review queue: empty, and an unknown slug is an error.
    let mut review = sextant();
    review.args(["library", "review"]);
    server(&mut review);
    let o = run(&mut review);
    assert_ok(&o, "library review");
    assert!(stdout(&o).contains("no shared answers"), "{}", stdout(&o));
    let mut approve = sextant();
    approve.args(["library", "review", "--approve", "no-such-answer"]);
    server(&mut approve);
    let o = run(&mut approve);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("not in the review queue"),
        "{}",
        stderr(&o)
    );
}

/// Issue 19: the restore drill. `sextant backup` while the data is there,
/// changes after it, then `sextant restore`: every record of the backup
/// comes back and opens with the master key, the audit chain verifies and
/// reaches the new head, and the later changes are gone. A backup restored
/// under another master key is refused and the database in place is kept.
#[test]
fn backup_and_restore_drill_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("data/s.db").display());
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    backup_and_restore_drill(&dir, &db);
}

/// The same drill through pg_dump and pg_restore; skipped (with a SKIPPING
/// line) where PostgreSQL cannot be started, unless SEXTANT_REQUIRE_PG.
#[test]
fn backup_and_restore_drill_on_postgres() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(db) = rt.block_on(sextant_store::testing::postgres_url()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    backup_and_restore_drill(&dir, &db);
}

fn backup_and_restore_drill(dir: &tempfile::TempDir, db: &str) {
    use sextant_store::{MasterKey, Store, SystemClock};
    use std::sync::Arc;
    let key = dir.path().join("conf/master.key");
    let server = |c: &mut Command, key: &Path| {
        c.env_remove("SEXTANT_MASTER_KEY")
            .env_remove("SEXTANT_AUDIT_HEAD")
            .arg("--key-file")
            .arg(key)
            .args(["--database-url", db]);
    };
    let mut init = sextant();
    init.arg("init");
    server(&mut init, &key);
    assert_ok(&run(&mut init), "init");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let open = || {
        rt.block_on(Store::open(
            db,
            MasterKey::load(&key).unwrap(),
            Arc::new(SystemClock),
        ))
        .unwrap()
    };
    let pw = "correct horse battery staple";
    let store = open();
    let mut people = Vec::new();
    for (email, n) in [("ann@example.org", 3), ("bob@example.org", 1)] {
        rt.block_on(store.register(email, pw)).unwrap();
        let s = rt.block_on(store.login(email, pw, "127.0.0.1")).unwrap();
        let info = rt.block_on(store.session(&s.token)).unwrap().unwrap();
        let scope = store.user(&info);
        let mut ids = Vec::new();
        for i in 0..n {
            let body = format!("record {i} of {email}");
            let id = rt
                .block_on(scope.add_record(&format!("r{i}.txt"), "text/plain", body.as_bytes()))
                .unwrap();
            ids.push((id, body));
        }
        rt.block_on(scope.save_profile(&format!("{{\"who\":\"{email}\"}}")))
            .unwrap();
        rt.block_on(scope.save_answer("is it curable?", "{}"))
            .unwrap();
        people.push((info, ids));
    }
    rt.block_on(store.close());

    let backup = dir.path().join("backup.db");
    let mut b = sextant();
    b.args(["backup", "--to"]).arg(&backup);
    server(&mut b, &key);
    let o = run(&mut b);
    assert_ok(&o, "backup");
    assert!(
        stdout(&o).contains("master key is not in the backup"),
        "{}",
        stdout(&o)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&backup).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "backup readable by others: {mode:o}");
    }

    // Changes after the backup: a record added, one deleted.
    let store = open();
    let ann = store.user(&people[0].0);
    rt.block_on(ann.add_record("later.txt", "text/plain", b"later"))
        .unwrap();
    assert!(rt
        .block_on(ann.delete_record(people[0].1[0].0.clone()))
        .unwrap());
    rt.block_on(store.close());

    // Under another master key the drill fails and the database stays.
    let other_key = dir.path().join("conf/other.key");
    MasterKey::create_file(&other_key).unwrap();
    let mut r = sextant();
    r.args(["restore", "--from"]).arg(&backup);
    server(&mut r, &other_key);
    let o = run(&mut r);
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("previous database was put back"),
        "{}",
        stderr(&o)
    );
    let store = open();
    let names: Vec<String> = rt
        .block_on(store.user(&people[0].0).records())
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert!(names.contains(&"later.txt".to_string()), "{names:?}");
    rt.block_on(store.close());

    let t = std::time::Instant::now();
    let mut r = sextant();
    r.args(["restore", "--from"]).arg(&backup);
    server(&mut r, &key);
    let o = run(&mut r);
    assert_ok(&o, "restore");
    eprintln!("restore drill: {:.2} s", t.elapsed().as_secs_f64());
    assert!(stdout(&o).contains("every one opened"), "{}", stdout(&o));
    let store = open();
    for (info, ids) in &people {
        let scope = store.user(info);
        let records = rt.block_on(scope.records()).unwrap();
        assert_eq!(records.len(), ids.len(), "{records:?}");
        for (id, body) in ids {
            let (_, bytes) = rt.block_on(scope.record(id.clone())).unwrap().unwrap();
            assert_eq!(bytes, body.as_bytes());
        }
        assert!(rt
            .block_on(scope.profile())
            .unwrap()
            .unwrap()
            .contains(&info.email));
        assert_eq!(rt.block_on(scope.answers()).unwrap().len(), 1);
    }
    assert!(rt.block_on(store.audit_verify()).unwrap().ok());
    let head = std::fs::read_to_string(dir.path().join("conf/audit.head")).unwrap();
    let anchor = sextant_store::AuditHead::parse(&head).unwrap();
    assert!(rt
        .block_on(store.audit_verify_against(&anchor))
        .unwrap()
        .ok());
    rt.block_on(store.close());
    assert!(
        stdout(&o).contains("previous database is kept as"),
        "{}",
        stdout(&o)
    );
}

// ---------------------------------------------------------------------------
// Two replicas on one PostgreSQL (issue 19)

/// One HTTP/1.1 exchange on loopback with `Connection: close`: status,
/// head and body; `None` when the connection failed or was cut.
fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<(u16, String, Vec<u8>)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let split = out.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let mut body = out[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = unchunk(&body);
    }
    Some((status, head, body))
}

fn unchunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let len = usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if len == 0 || b.len() < eol + 2 + len {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + len]);
        b = &b[(eol + 4 + len).min(b.len())..];
    }
    out
}

/// A signed-in client of the replicas: its cookie and CSRF token.
struct Client {
    cookie: String,
    csrf: String,
}

impl Client {
    fn headers(&self) -> [(&str, &str); 2] {
        [("Cookie", &self.cookie), ("x-csrf-token", &self.csrf)]
    }

    /// Uploads one text record through `port`: its id when acknowledged.
    fn upload(&self, port: u16, name: &str, bytes: &[u8]) -> Option<String> {
        const B: &str = "replicaBOUNDARY7";
        let mut body = format!(
            "--{B}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/plain\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{B}--\r\n").as_bytes());
        let ct = format!("multipart/form-data; boundary={B}");
        let [c, x] = self.headers();
        let (status, _, out) = http(
            port,
            "POST",
            "/api/records",
            &[c, x, ("Content-Type", &ct)],
            &body,
        )?;
        if status != 201 {
            return None;
        }
        let v: Value = serde_json::from_slice(&out).ok()?;
        Some(v["records"][0]["id"].as_str()?.to_string())
    }

    /// The ids of the records listed through `port`.
    fn records(&self, port: u16) -> (u16, Vec<String>) {
        let [c, _] = self.headers();
        let (status, _, out) = http(port, "GET", "/api/records", &[c], b"").expect("list");
        let ids = serde_json::from_slice::<Value>(&out)
            .ok()
            .and_then(|v| {
                v["records"].as_array().map(|a| {
                    a.iter()
                        .filter_map(|r| r["id"].as_str().map(String::from))
                        .collect()
                })
            })
            .unwrap_or_default();
        (status, ids)
    }
}

/// Registers through one replica and signs in through the other.
fn sign_up_across(register_on: u16, login_on: u16, email: &str) -> Client {
    let creds = format!("{{\"email\":\"{email}\",\"password\":\"correct horse battery staple\"}}");
    let json = [("Content-Type", "application/json")];
    let (s, _, _) = http(
        register_on,
        "POST",
        "/api/account/register",
        &json,
        creds.as_bytes(),
    )
    .unwrap();
    assert_eq!(s, 202);
    let (s, head, body) = http(
        login_on,
        "POST",
        "/api/account/login",
        &json,
        creds.as_bytes(),
    )
    .unwrap();
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
    let cookie = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string();
    let csrf = serde_json::from_slice::<Value>(&body).unwrap()["csrf"]
        .as_str()
        .unwrap()
        .to_string();
    Client { cookie, csrf }
}

/// `sextant init` of a master key and a database.
fn init_server(key: &Path, db: &str) {
    let mut init = sextant();
    init.arg("init")
        .arg("--key-file")
        .arg(key)
        .args(["--database-url", db])
        .env_remove("SEXTANT_MASTER_KEY");
    assert_ok(&run(&mut init), "init");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A replica: `sextant serve` on `port`, killed when dropped.
struct Replica {
    port: u16,
    child: std::process::Child,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn replica(kb: &Path, key: &Path, db: &str, head: &Path) -> Replica {
    replica_logging_to(kb, key, db, head, None)
}

/// [`replica`] with its standard error written to `log`.
fn replica_logging_to(kb: &Path, key: &Path, db: &str, head: &Path, log: Option<&Path>) -> Replica {
    let port = free_port();
    let stderr = match log {
        Some(p) => Stdio::from(std::fs::File::create(p).unwrap()),
        None => Stdio::null(),
    };
    let child = sextant()
        .arg("--kb")
        .arg(kb)
        .args([
            "serve",
            "--insecure-cookies",
            "--addr",
            &format!("127.0.0.1:{port}"),
        ])
        .arg("--key-file")
        .arg(key)
        .args(["--database-url", db])
        .arg("--audit-head")
        .arg(head)
        .env_remove("SEXTANT_MASTER_KEY")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("sextant serve starts");
    let r = Replica { port, child };
    for _ in 0..240 {
        if http(port, "GET", "/readyz", &[], b"").is_some_and(|(s, _, _)| s == 200) {
            return r;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("replica on {port} never became ready");
}

/// Issue 19: two `sextant serve` processes on one PostgreSQL. Sessions work
/// across them and logout on one ends the session on both; concurrent
/// uploads through both keep every acknowledged record and one audit chain;
/// `kill -9` of one mid-upload loses no acknowledged record and leaves no
/// record half there, while the other keeps serving.
#[test]
fn two_replicas_on_one_postgres() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(db) = rt.block_on(sextant_store::testing::postgres_url()) else {
        return;
    };
    let f = ingested_fixture();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("master.key");
    init_server(&key, &db);
    let a = replica(&f.kb, &key, &db, &dir.path().join("a.head"));
    let b = replica(&f.kb, &key, &db, &dir.path().join("b.head"));

    // Concurrent uploads, round robin over both replicas, four people.
    let t = std::time::Instant::now();
    let people: Vec<Client> = (0..4)
        .map(|i| {
            let (r, l) = if i % 2 == 0 {
                (a.port, b.port)
            } else {
                (b.port, a.port)
            };
            sign_up_across(r, l, &format!("p{i}@example.org"))
        })
        .collect();
    let acked: Vec<Vec<(String, Vec<u8>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = people
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let ports = [a.port, b.port];
                s.spawn(move || {
                    (0..5)
                        .filter_map(|j| {
                            let body = format!("CLINIC NOTE {i}-{j}\nDiagnosis: invasive ductal carcinoma, stage IIA.\n")
                                .into_bytes();
                            let id = c.upload(ports[(i + j) % 2], &format!("n{j}.txt"), &body)?;
                            Some((id, body))
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    eprintln!(
        "20 uploads through two replicas: {:.2} s",
        t.elapsed().as_secs_f64()
    );
    for (c, ids) in people.iter().zip(&acked) {
        assert_eq!(ids.len(), 5, "every upload acknowledged");
        for port in [a.port, b.port] {
            let (s, mut listed) = c.records(port);
            assert_eq!(s, 200);
            listed.sort();
            let mut want: Vec<String> = ids.iter().map(|(id, _)| id.clone()).collect();
            want.sort();
            assert_eq!(listed, want, "the same records through either replica");
        }
    }
    let verify = |what: &str| {
        let mut v = sextant();
        v.args(["audit", "verify", "--database-url", &db])
            .arg("--key-file")
            .arg(&key)
            .arg("--head")
            .arg(dir.path().join("a.head"))
            .env_remove("SEXTANT_MASTER_KEY");
        let o = run(&mut v);
        assert_ok(&o, what);
        assert!(stdout(&o).contains("intact"), "{}", stdout(&o));
    };
    verify("audit verify after concurrent writes");

    // Logout on one replica ends the session on both.
    let (s, _) = people[0].records(b.port);
    assert_eq!(s, 200);
    let [c, x] = people[0].headers();
    let (s, _, _) = http(a.port, "POST", "/api/account/logout", &[c, x], b"").unwrap();
    assert!(s == 200 || s == 204, "logout: {s}");
    assert_eq!(
        people[0].records(b.port).0,
        401,
        "ended on the other replica"
    );

    // kill -9 of one replica mid-upload.
    let mut a = a;
    let kim = sign_up_across(a.port, b.port, "kim@example.org");
    let big: Vec<u8> = b"Progress note: stable disease on letrozole; CA 15-3 falling.\n"
        .iter()
        .copied()
        .cycle()
        .take(2 * 1024 * 1024)
        .collect();
    let port = a.port;
    let (acked, served) = std::thread::scope(|s| {
        let uploads = s.spawn(|| {
            let mut acked = Vec::new();
            for j in 0..15 {
                let mut body = format!("UPLOAD {j}\n").into_bytes();
                body.extend_from_slice(&big);
                match kim.upload(port, &format!("big{j}.txt"), &body) {
                    Some(id) => acked.push((id, body)),
                    None => break,
                }
            }
            acked
        });
        std::thread::sleep(Duration::from_millis(1500));
        a.child.kill().expect("kill -9");
        let _ = a.child.wait();
        // The other replica keeps serving.
        let served = http(b.port, "GET", "/readyz", &[], b"").is_some_and(|(s, _, _)| s == 200)
            && kim.records(b.port).0 == 200;
        (uploads.join().unwrap(), served)
    });
    assert!(served, "the surviving replica serves");
    assert!(
        !acked.is_empty(),
        "some uploads were acknowledged before the kill"
    );
    let (_, listed) = kim.records(b.port);
    for (id, _) in &acked {
        assert!(listed.contains(id), "acknowledged record {id} lost");
    }
    // Nothing half there: every listed record downloads whole.
    let [c, _] = kim.headers();
    for id in &listed {
        let (s, _, bytes) = http(b.port, "GET", &format!("/api/records/{id}"), &[c], b"").unwrap();
        assert_eq!(s, 200);
        assert!(
            bytes.starts_with(b"UPLOAD ") && bytes.ends_with(&big[big.len() - 64..]),
            "record {id} is not whole"
        );
    }
    eprintln!(
        "kill -9 mid-upload: {} acknowledged, {} listed, 0 lost",
        acked.len(),
        listed.len()
    );
    verify("audit verify after the kill");
}

/// Issue 19, finding 16: a server error that is not a panic was not
/// logged, so its correlation id could not be traced. Here the database
/// loses a table under a running server: the person gets a 500 with a
/// correlation id, and the server's log names that id, the status and the
/// route's pattern, never the path's id, the cookie or any record.
#[test]
fn a_server_error_is_logged_with_its_correlation_id() {
    if std::process::Command::new("python3")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("SKIPPING: no python3 to break the database with");
        return;
    }
    let f = ingested_fixture();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("master.key");
    let file = dir.path().join("db.sqlite");
    let db = format!("sqlite://{}", file.display());
    init_server(&key, &db);
    let log = dir.path().join("server.log");
    let r = replica_logging_to(&f.kb, &key, &db, &dir.path().join("head"), Some(&log));
    let c = sign_up_across(r.port, r.port, "ann@example.org");
    let id = c
        .upload(
            r.port,
            "note.txt",
            b"Diagnosis: breast cancer. SECRET-CANARY-77\n",
        )
        .expect("upload");
    let o = std::process::Command::new("python3")
        .args(["-c", "import sqlite3,sys; d=sqlite3.connect(sys.argv[1], timeout=15); d.execute('DROP TABLE answers'); d.execute('DROP TABLE records'); d.commit()"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let [cookie, _] = c.headers();
    let (status, head, _) =
        http(r.port, "GET", &format!("/api/records/{id}"), &[cookie], b"").unwrap();
    assert_eq!(status, 500, "{head}");
    let correlation = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("x-correlation-id: ")
                .map(str::to_string)
        })
        .expect("a correlation id");
    drop(r);
    let text = std::fs::read_to_string(&log).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains(&correlation))
        .unwrap_or_else(|| panic!("no log line names {correlation}:\n{text}"));
    assert!(line.contains("500 GET /api/records/{id}"), "{line}");
    assert!(!text.contains(&id), "the record's id reached the log");
    assert!(
        !text.contains("SECRET-CANARY"),
        "the record reached the log"
    );
    let token = c.cookie.split_once('=').unwrap().1;
    assert!(!text.contains(token), "the session token reached the log");
}
