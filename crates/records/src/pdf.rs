//! PDF reports with a text layer → the free-text reader ([`crate::text`]).
//!
//! PDF parsers are large, and a PDF is untrusted input: `pdf-extract`
//! panics on some fonts and malformed files, and a hostile file can make a
//! parser loop. So every step that touches the PDF runs in its own worker
//! thread, under [`std::panic::catch_unwind`], and is waited for at most a
//! timeout ([`PDF_TIMEOUT`], or the one given to [`read_with_timeout`]):
//!
//! 1. lopdf parses the file. A parse error, a panic or a timeout here is
//!    [`RecordsError::Malformed`]; a file that needs a password is
//!    [`RecordsError::EncryptedPdf`] (files encrypted with an empty user
//!    password, "owner-only" restrictions, are decrypted and read).
//! 2. `pdf-extract` (the primary extractor: it orders text by position and
//!    spaces words) reads the parsed document, unless the page tree or the
//!    drawn forms loop — `pdf-extract` recurses through both without a
//!    guard, and a stack overflow would abort the process, which no
//!    `catch_unwind` can stop.
//! 3. If that panicked, failed, timed out, was skipped, or gave no
//!    meaningful text (fewer than [`MIN_LETTERS`] letters), lopdf's own
//!    `extract_text` reads each page in turn (the fallback).
//! 4. If neither gave meaningful text the PDF has no text layer (a scanned
//!    image, most likely): [`RecordsError::NoTextLayer`]; Sextant does not
//!    read images.
//!
//! The profile then gets an [`Issue`] naming the extractor that produced
//! the text, and, for the fallback, why. Facts cite `chars A..B`: byte
//! offsets into that *extracted text*, not into the PDF file (the excerpt
//! shows the words).
//!
//! A worker that times out cannot be stopped (Rust has no safe way to kill
//! a thread): it is left to finish on its own, its result is dropped, and
//! it holds its copy of the file until then. A caller that serves many
//! users should bound how many PDFs it reads at once.
//!
//! Privacy: panics in the workers are not printed (a panic message can
//! quote the file); `pdf-extract` and lopdf log through the `log` crate,
//! which Sextant never gives a logger, so nothing of a PDF is logged; and
//! `pdf-extract` 0.12 writes nothing to stdout or stderr. The isolation
//! relies on `panic = "unwind"` (the default; the workspace keeps it).

use std::collections::HashSet;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{mpsc, Arc, Once};
use std::thread;
use std::time::Duration;

use lopdf::{Dictionary, Document, Object, ObjectId};

use crate::{Issue, Profile, RecordsError, Result};

/// How long one step of reading a PDF (parsing, the primary extractor, the
/// fallback) may take before it is given up. A text report of a few pages
/// takes milliseconds; this leaves room for a slow machine and a large
/// file, while a hostile file cannot hold a request for long (at most three
/// times this, in all).
pub const PDF_TIMEOUT: Duration = Duration::from_secs(15);

/// Extracted text with fewer letters than this is no text layer: a scanned
/// page gives nothing, or a stray page number.
pub const MIN_LETTERS: usize = 20;

/// The name of the worker threads; their panics are not printed.
const WORKER: &str = "sextant-pdf";

/// Stack of a worker thread: deep (finite) nesting in a PDF needs more
/// than the default 2 MiB. Only touched pages are ever committed.
const WORKER_STACK: usize = 64 << 20;

/// Deepest page-tree `Parent` chain or nesting of drawn forms allowed
/// before `pdf-extract` is judged unsafe for a file.
const MAX_NESTING: usize = 64;

/// At most this many forms are followed when checking for loops.
const MAX_FORM_VISITS: usize = 10_000;

/// Most bytes a PDF's compressed streams may unpack to, all together. A
/// text report of a few pages unpacks to well under a MiB; a decompression
/// bomb (a small file of compressed zeros) to gigabytes, which the parsers
/// would inflate in memory. Counted before any parser sees the file.
pub const MAX_PDF_UNPACKED: u64 = crate::MAX_RECORD_BYTES;

/// What the Flate (zlib) streams of a PDF unpack to, counted without being
/// kept, stopping once over `limit`. Scans the raw bytes for
/// `stream` … `endstream`, so it bounds what any parser would inflate,
/// object streams included; data that is not zlib counts as nothing.
pub fn unpacked_bytes(bytes: &[u8], limit: u64) -> u64 {
    use std::io::Read;
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let mut total = 0u64;
    let mut at = 0;
    let mut buf = vec![0u8; 64 * 1024];
    while let Some(i) = find(&bytes[at..], b"stream") {
        let keyword = at + i;
        let mut start = keyword + b"stream".len();
        if bytes[..keyword].ends_with(b"end") {
            at = start;
            continue;
        }
        if bytes.get(start) == Some(&b'\r') {
            start += 1;
        }
        if bytes.get(start) == Some(&b'\n') {
            start += 1;
        }
        let end = find(&bytes[start..], b"endstream").map_or(bytes.len(), |e| start + e);
        let mut dec = flate2::read::ZlibDecoder::new(&bytes[start..end]);
        loop {
            match dec.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    total += n as u64;
                    if total > limit {
                        return total;
                    }
                }
            }
        }
        at = end;
    }
    total
}

/// Which extractor produced a PDF's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extractor {
    /// `pdf-extract`, the primary.
    PdfExtract,
    /// lopdf's `Document::extract_text`, page by page: the fallback.
    Lopdf,
}

impl Extractor {
    pub fn name(self) -> &'static str {
        match self {
            Extractor::PdfExtract => "pdf-extract",
            Extractor::Lopdf => "lopdf",
        }
    }
}

/// A PDF's text layer.
#[derive(Debug, Clone)]
pub struct Extracted {
    pub text: String,
    pub extractor: Extractor,
    /// Why the primary extractor's text was not used, when it was not.
    pub fallback_reason: Option<String>,
    /// Pages in the document.
    pub pages: usize,
}

impl Extracted {
    /// The note added to a profile read from this text.
    pub fn note(&self) -> String {
        let mut s = format!(
            "PDF text layer ({} page{}) read by {}",
            self.pages,
            if self.pages == 1 { "" } else { "s" },
            self.extractor.name()
        );
        if let Some(why) = &self.fallback_reason {
            s.push_str(&format!(" (fallback: pdf-extract {why})"));
        }
        s.push_str("; sources cite chars A..B of the extracted text, not of the PDF file");
        s
    }
}

/// Reads a PDF into a profile, with [`PDF_TIMEOUT`]; `name` is what
/// provenance and errors call it.
pub fn read(name: &str, bytes: &[u8]) -> Result<Profile> {
    read_with_timeout(name, bytes, PDF_TIMEOUT)
}

/// [`read`] with another timeout per step (tests use a short one).
pub fn read_with_timeout(name: &str, bytes: &[u8], timeout: Duration) -> Result<Profile> {
    let got = extract_text(name, bytes, timeout)?;
    let mut p = crate::note::read_note(name, &got.text);
    p.issues.push(Issue::new(name, got.note()));
    Ok(p)
}

/// The text layer of a PDF, as described in the [module docs](self).
pub fn extract_text(name: &str, bytes: &[u8], timeout: Duration) -> Result<Extracted> {
    let malformed = |detail: String| RecordsError::Malformed {
        path: name.to_string(),
        format: "PDF",
        detail,
    };
    // A decompression bomb is refused before a parser inflates it.
    let unpacked = unpacked_bytes(bytes, MAX_PDF_UNPACKED);
    if unpacked > MAX_PDF_UNPACKED {
        return Err(RecordsError::UnpacksTooLarge {
            path: name.to_string(),
            limit: MAX_PDF_UNPACKED,
        });
    }
    let bytes: Arc<[u8]> = Arc::from(bytes);
    let doc = match isolated(timeout, move || Document::load_mem(&bytes)) {
        Outcome::Done(Ok(doc)) => doc,
        Outcome::Done(Err(e)) => return Err(malformed(short(&e.to_string()))),
        other => {
            return Err(malformed(format!(
                "the PDF parser {}",
                other.failure(timeout)
            )))
        }
    };
    if doc.is_encrypted() {
        return Err(RecordsError::EncryptedPdf {
            path: name.to_string(),
        });
    }
    let pages = doc.get_pages().len();
    if pages == 0 {
        return Err(malformed("no pages".into()));
    }
    let doc = Arc::new(doc);

    let primary = {
        let doc = Arc::clone(&doc);
        isolated(timeout, move || -> std::result::Result<String, String> {
            if let Some(hazard) = recursion_hazard(&doc) {
                return Err(format!("was skipped: {hazard}"));
            }
            let mut text = String::new();
            let mut out = pdf_extract::PlainTextOutput::new(&mut text);
            pdf_extract::output_doc(&doc, &mut out)
                .map_err(|e| format!("failed: {}", short(&e.to_string())))?;
            Ok(text)
        })
    };
    let why = match primary {
        Outcome::Done(Ok(text)) if meaningful(&text) => {
            return Ok(Extracted {
                text,
                extractor: Extractor::PdfExtract,
                fallback_reason: None,
                pages,
            })
        }
        Outcome::Done(Ok(_)) => "found no text".to_string(),
        Outcome::Done(Err(why)) => why,
        other => other.failure(timeout),
    };

    let fallback = isolated(timeout, move || {
        let mut text = String::new();
        let mut failed = 0;
        for n in doc.get_pages().keys() {
            // Each page alone: one bad page does not lose the others.
            match panic::catch_unwind(AssertUnwindSafe(|| doc.extract_text(&[*n]))) {
                Ok(Ok(t)) => {
                    text.push_str(&t);
                    text.push('\n');
                }
                _ => failed += 1,
            }
        }
        (text, failed)
    });
    match fallback {
        Outcome::Done((text, _)) if meaningful(&text) => Ok(Extracted {
            text,
            extractor: Extractor::Lopdf,
            fallback_reason: Some(why),
            pages,
        }),
        Outcome::Done((_, failed)) if failed < pages => Err(RecordsError::NoTextLayer {
            path: name.to_string(),
        }),
        other => {
            let lopdf = match other {
                Outcome::Done(_) => "failed on every page".to_string(),
                o => o.failure(timeout),
            };
            Err(malformed(format!(
                "no text could be read (pdf-extract {why}; lopdf {lopdf})"
            )))
        }
    }
}

/// Whether extracted text is a text layer: enough letters.
fn meaningful(text: &str) -> bool {
    text.chars()
        .filter(|c| c.is_alphabetic())
        .take(MIN_LETTERS)
        .count()
        >= MIN_LETTERS
}

/// An error message cut short (a parser's message may quote the file).
fn short(s: &str) -> String {
    match s.char_indices().nth(160) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

// ---------------------------------------------------------------------------
// Isolation

/// How an isolated step ended.
enum Outcome<T> {
    Done(T),
    Panicked,
    TimedOut,
    NoThread(String),
}

impl<T> Outcome<T> {
    /// Words for a step that did not finish ("panicked", "timed out...").
    fn failure(&self, timeout: Duration) -> String {
        match self {
            Outcome::Done(_) => "finished".into(),
            Outcome::Panicked => "panicked".into(),
            Outcome::TimedOut => format!("timed out after {:.1} s", timeout.as_secs_f64()),
            Outcome::NoThread(e) => format!("could not start a thread ({e})"),
        }
    }
}

/// Runs `f` in a worker thread under `catch_unwind`, waiting at most
/// `timeout`. A worker still running then is left detached (see the
/// module docs).
fn isolated<T, F>(timeout: Duration, f: F) -> Outcome<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    quiet_worker_panics();
    let (tx, rx) = mpsc::sync_channel(1);
    let spawned = thread::Builder::new()
        .name(WORKER.into())
        .stack_size(WORKER_STACK)
        .spawn(move || {
            let result = panic::catch_unwind(AssertUnwindSafe(f));
            // The receiver is gone if the wait timed out: drop the result.
            let _ = tx.send(result.map_err(drop));
        });
    if let Err(e) = spawned {
        return Outcome::NoThread(e.to_string());
    }
    match rx.recv_timeout(timeout) {
        Ok(Ok(value)) => Outcome::Done(value),
        Ok(Err(())) | Err(mpsc::RecvTimeoutError::Disconnected) => Outcome::Panicked,
        Err(mpsc::RecvTimeoutError::Timeout) => Outcome::TimedOut,
    }
}

/// Installs, once, a panic hook that keeps quiet for the workers (a panic
/// message can quote the PDF) and passes every other panic to the hook
/// that was there before.
fn quiet_worker_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if thread::current().name() != Some(WORKER) {
                previous(info);
            }
        }));
    });
}

// ---------------------------------------------------------------------------
// Loops pdf-extract would recurse into without end

/// Why `pdf-extract` must not read `doc`, if it must not: a page's
/// `Parent` chain loops (it looks up inherited resources recursively), or
/// drawn forms (`Do`) loop or nest too deep (it draws them recursively).
fn recursion_hazard(doc: &Document) -> Option<&'static str> {
    let mut visits = 0;
    for page_id in doc.get_pages().into_values() {
        let Some(resources) = page_resources(doc, page_id) else {
            return Some("its page tree loops");
        };
        let Some(resources) = resources else {
            continue;
        };
        let Ok(content) = doc.get_page_content(page_id) else {
            continue;
        };
        let mut path = Vec::new();
        if forms_loop(doc, &content, resources, &mut path, &mut visits) {
            return Some("its drawn forms loop or nest too deep");
        }
    }
    None
}

/// The resources a page inherits, as `pdf-extract` finds them; `None`
/// (the outer option) when the page's `Parent` chain loops or is too long
/// (`pdf-extract` walks it for any inherited key, `MediaBox` included).
fn page_resources(doc: &Document, page_id: ObjectId) -> Option<Option<&Dictionary>> {
    let mut seen = HashSet::new();
    let mut resources = None;
    let mut id = page_id;
    loop {
        if !seen.insert(id) || seen.len() > MAX_NESTING {
            return None;
        }
        let Ok(dict) = doc.get_dictionary(id) else {
            return Some(resources.flatten());
        };
        if resources.is_none() {
            if let Ok(res) = dict.get(b"Resources") {
                resources = Some(deref_dict(doc, res));
            }
        }
        match dict.get(b"Parent").and_then(Object::as_reference) {
            Ok(parent) => id = parent,
            Err(_) => return Some(resources.flatten()),
        }
    }
}

fn deref_dict<'a>(doc: &'a Document, o: &'a Object) -> Option<&'a Dictionary> {
    doc.dereference(o).ok()?.1.as_dict().ok()
}

/// Whether the forms `content` draws (looked up in `resources`) draw
/// themselves again, nest deeper than [`MAX_NESTING`], or are too many.
fn forms_loop(
    doc: &Document,
    content: &[u8],
    resources: &Dictionary,
    path: &mut Vec<ObjectId>,
    visits: &mut usize,
) -> bool {
    let Ok(ops) = lopdf::content::Content::decode(content) else {
        return false;
    };
    let xobjects = resources
        .get(b"XObject")
        .ok()
        .and_then(|o| deref_dict(doc, o));
    for op in ops.operations.iter().filter(|op| op.operator == "Do") {
        let (Some(xobjects), Some(Ok(name))) = (xobjects, op.operands.first().map(Object::as_name))
        else {
            continue;
        };
        let Ok(id) = xobjects.get(name).and_then(Object::as_reference) else {
            continue;
        };
        *visits += 1;
        if path.contains(&id) || path.len() >= MAX_NESTING || *visits > MAX_FORM_VISITS {
            return true;
        }
        let Ok(form) = doc.get_object(id).and_then(Object::as_stream) else {
            continue;
        };
        let inner = match form.dict.get(b"Resources") {
            Ok(o) => deref_dict(doc, o).unwrap_or(resources),
            Err(_) => resources,
        };
        let data = form
            .decompressed_content()
            .unwrap_or_else(|_| form.content.clone());
        path.push(id);
        let looped = forms_loop(doc, &data, inner, path, visits);
        path.pop();
        if looped {
            return true;
        }
    }
    false
}
