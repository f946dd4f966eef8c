//! PDF reports: a text layer is read into facts that cite the extracted
//! text; a PDF with no text layer, a password, a truncated or garbled file
//! is a clear error; files that would make pdf-extract recurse forever are
//! read by the fallback; and no mutation of a valid PDF panics or hangs.
//! Every fixture is built here with lopdf.

use std::time::{Duration, Instant};

use lopdf::content::{Content, Operation};
use lopdf::{dictionary, Dictionary, Document, Object, Stream};
use proptest::prelude::*;
use sextant_records::pdf::{
    extract_text, read_with_timeout, unpacked_bytes, Extractor, MAX_PDF_UNPACKED, PDF_TIMEOUT,
};
use sextant_records::{read_bytes, sniff, Format, RecordsError};

const REPORT: &[&str] = &[
    "SURGICAL PATHOLOGY REPORT",
    "FINAL DIAGNOSIS: Left breast, invasive ductal carcinoma, Nottingham grade 2.",
    "ER positive, PR positive, HER2 negative (IHC 1+).",
    "pT2 pN1a M0.",
];

/// Lines of text drawn in Helvetica, one after another.
fn text_ops(lines: &[&str]) -> Vec<Operation> {
    let mut ops = vec![
        Operation::new("BT", vec![]),
        Operation::new("Tf", vec!["F1".into(), 11.into()]),
        Operation::new("TL", vec![14.into()]),
        Operation::new("Td", vec![50.into(), 750.into()]),
    ];
    for line in lines {
        ops.push(Operation::new("Tj", vec![Object::string_literal(*line)]));
        ops.push(Operation::new("T*", vec![]));
    }
    ops.push(Operation::new("ET", vec![]));
    ops
}

/// A one-page PDF whose page draws `ops`. `page` may add keys to the page
/// dictionary (or replace the defaults); `extra` runs before saving.
fn pdf(
    ops: Vec<Operation>,
    page: impl FnOnce(&mut Document, &mut Dictionary),
    extra: impl FnOnce(&mut Document),
) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let resources_id = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => font_id },
    });
    let content = Content { operations: ops };
    let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
    let mut page_dict = dictionary! {
        "Type" => "Page",
        "Parent" => pages_id,
        "Contents" => content_id,
        "Resources" => resources_id,
        "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
    };
    page(&mut doc, &mut page_dict);
    let page_id = doc.add_object(page_dict);
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => vec![page_id.into()],
            "Count" => 1,
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    extra(&mut doc);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

fn report_pdf() -> Vec<u8> {
    pdf(text_ops(REPORT), |_, _| {}, |_| {})
}

#[test]
fn a_text_pdf_reads_into_facts_citing_the_extracted_text() {
    let bytes = report_pdf();
    let t = Instant::now();
    let got = extract_text("report.pdf", &bytes, PDF_TIMEOUT).unwrap();
    eprintln!(
        "extraction of a {}-byte PDF: {:?}",
        bytes.len(),
        t.elapsed()
    );
    assert_eq!(got.extractor, Extractor::PdfExtract);
    assert_eq!(got.fallback_reason, None);
    assert_eq!(got.pages, 1);
    assert!(
        got.text.contains("invasive ductal carcinoma"),
        "{:?}",
        got.text
    );

    let t = Instant::now();
    let p = read_bytes("report.pdf", &bytes).unwrap();
    eprintln!(
        "read_bytes of the PDF (extraction + text reader): {:?}",
        t.elapsed()
    );
    let facts = p.canonical_facts();
    eprintln!("{facts:?}");
    let has = |kind: &str, value: &str| {
        facts
            .iter()
            .any(|(k, v)| *k == kind && v.to_lowercase().contains(value))
    };
    assert!(has("cancer", "breast"), "{facts:?}");
    assert!(facts.iter().any(|(_, v)| v.contains("T2")), "{facts:?}");
    assert!(facts.iter().any(|(_, v)| v.contains("N1a")), "{facts:?}");
    assert!(has("biomarker", "er"), "{facts:?}");
    assert!(has("biomarker", "her2"), "{facts:?}");
    // Sources name the file and cite chars of the extracted text.
    let cancer = &p.primary_cancers[0];
    for prov in &cancer.provenance {
        assert_eq!(prov.file, "report.pdf");
        let (a, b) = prov
            .locator
            .strip_prefix("chars ")
            .and_then(|r| r.split_once(".."))
            .unwrap();
        let (a, b): (usize, usize) = (a.parse().unwrap(), b.parse().unwrap());
        assert_eq!(Some(&got.text[a..b]), prov.excerpt.as_deref());
    }
    // The profile says which extractor read the text.
    assert!(
        p.issues
            .iter()
            .any(|i| i.at == "report.pdf" && i.message.contains("read by pdf-extract")),
        "{:?}",
        p.issues
    );
}

/// Issue 19, finding 2: a 1 MB PDF that inflates to gigabytes took the
/// server's memory up by 2 GB. The compressed streams are now counted,
/// without being kept, before any parser sees the file.
#[test]
fn a_decompression_bomb_is_refused_before_parsing() {
    use std::io::Write;
    let zeros = vec![0u8; 1 << 20];
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    for _ in 0..(MAX_PDF_UNPACKED >> 20) + 16 {
        z.write_all(&zeros).unwrap();
    }
    let bomb_stream = z.finish().unwrap();
    assert!(bomb_stream.len() < 1 << 20, "{} bytes", bomb_stream.len());
    let bomb = pdf(
        text_ops(REPORT),
        |_, _| {},
        |doc| {
            doc.add_object(Stream::new(
                dictionary! { "Filter" => "FlateDecode" },
                bomb_stream.clone(),
            ));
        },
    );
    let started = Instant::now();
    let e = extract_text("bomb.pdf", &bomb, PDF_TIMEOUT).unwrap_err();
    assert!(matches!(e, RecordsError::UnpacksTooLarge { .. }), "{e}");
    assert!(e.to_string().contains("unpacks to more than"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // Counting stops just past the limit: it never inflates the rest.
    let counted = unpacked_bytes(&bomb, MAX_PDF_UNPACKED);
    assert!(counted > MAX_PDF_UNPACKED && counted < MAX_PDF_UNPACKED + (1 << 20));
    // An ordinary report is far under it and still reads.
    let report = report_pdf();
    assert!(unpacked_bytes(&report, MAX_PDF_UNPACKED) < 1 << 20);
    assert!(extract_text("report.pdf", &report, PDF_TIMEOUT).is_ok());
}

#[test]
fn pdfs_are_told_by_content_not_name() {
    let bytes = report_pdf();
    assert_eq!(sniff(&bytes), Ok(Format::Pdf));
    let p = read_bytes("report.txt", &bytes).unwrap();
    assert!(!p.primary_cancers.is_empty());
    assert!(p
        .issues
        .iter()
        .any(|i| i.message.contains("PDF text layer")));
    // And text named .pdf is text.
    let p = read_bytes("report.pdf", REPORT.join("\n").as_bytes()).unwrap();
    assert!(!p.primary_cancers.is_empty());
    assert!(p.issues.iter().all(|i| !i.message.contains("PDF")));
}

#[test]
fn a_pdf_without_a_text_layer_says_so() {
    // A drawn rectangle, as a scanned page's image would be: no text.
    let ops = vec![
        Operation::new("rg", vec![0.2.into(), 0.2.into(), 0.2.into()]),
        Operation::new("re", vec![50.into(), 50.into(), 500.into(), 700.into()]),
        Operation::new("f", vec![]),
    ];
    let bytes = pdf(ops, |_, _| {}, |_| {});
    let e = read_bytes("scan.pdf", &bytes).unwrap_err();
    assert!(matches!(e, RecordsError::NoTextLayer { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.starts_with("scan.pdf: this PDF has no text layer"),
        "{msg}"
    );
    assert!(msg.contains("does not read images"), "{msg}");
    // A page number alone is not a text layer either.
    let bytes = pdf(text_ops(&["Page 1 of 1"]), |_, _| {}, |_| {});
    let e = read_bytes("scan.pdf", &bytes).unwrap_err();
    assert!(matches!(e, RecordsError::NoTextLayer { .. }), "{e}");
}

#[test]
fn a_password_protected_pdf_says_so() {
    let bytes = pdf(
        text_ops(REPORT),
        |_, _| {},
        |doc| {
            doc.trailer.set(
                "ID",
                vec![
                    Object::string_literal("0123456789abcdef"),
                    Object::string_literal("0123456789abcdef"),
                ],
            );
            let state = lopdf::EncryptionState::try_from(lopdf::EncryptionVersion::V2 {
                document: doc,
                owner_password: "owner",
                user_password: "secret",
                key_length: 128,
                permissions: lopdf::Permissions::all(),
            })
            .unwrap();
            doc.encrypt(&state).unwrap();
        },
    );
    let e = read_bytes("locked.pdf", &bytes).unwrap_err();
    assert!(matches!(e, RecordsError::EncryptedPdf { .. }), "{e}");
    assert!(e.to_string().contains("password-protected"), "{e}");
}

#[test]
fn truncated_and_garbled_pdfs_are_malformed() {
    let bytes = report_pdf();
    for cut in [8, bytes.len() / 3, bytes.len() / 2, bytes.len() - 40] {
        match read_bytes("cut.pdf", &bytes[..cut]) {
            Err(RecordsError::Malformed { format, .. }) => assert_eq!(format, "PDF"),
            // lopdf may rebuild a truncated file's cross-references.
            Ok(_) | Err(RecordsError::NoTextLayer { .. }) => {}
            Err(e) => panic!("cut at {cut}: {e}"),
        }
    }
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut garbled = b"%PDF-1.7\n".to_vec();
    for _ in 0..4096 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        garbled.push(rng as u8);
    }
    let e = read_bytes("garbled.pdf", &garbled).unwrap_err();
    assert!(
        matches!(e, RecordsError::Malformed { format: "PDF", .. }),
        "{e}"
    );
}

#[test]
fn a_looping_page_tree_is_malformed_not_a_crash() {
    // No MediaBox on the page, and a Parent chain that loops: pdf-extract
    // would recurse until the stack overflows and the process aborts, so it
    // is not run; lopdf refuses the reference cycle.
    let bytes = pdf(
        text_ops(REPORT),
        |doc, page| {
            let node = doc.new_object_id();
            doc.objects.insert(
                node,
                Object::Dictionary(dictionary! { "Type" => "Pages", "Parent" => node }),
            );
            page.remove(b"MediaBox");
            page.set("Parent", node);
        },
        |_| {},
    );
    match read_bytes("loop.pdf", &bytes) {
        Err(RecordsError::Malformed { detail, .. }) => {
            assert!(
                detail.contains("pdf-extract was skipped: its page tree loops"),
                "{detail}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_panic_in_pdf_extract_falls_back_to_lopdf() {
    // No MediaBox anywhere: pdf-extract panics (`expect("MediaBox")`);
    // the panic stays in its worker and lopdf reads the text.
    let bytes = pdf(
        text_ops(REPORT),
        |_, page| {
            page.remove(b"MediaBox");
        },
        |_| {},
    );
    let got = extract_text("nobox.pdf", &bytes, PDF_TIMEOUT).unwrap();
    assert_eq!(got.extractor, Extractor::Lopdf);
    assert_eq!(got.fallback_reason.as_deref(), Some("panicked"));
    assert!(
        got.text.contains("invasive ductal carcinoma"),
        "{:?}",
        got.text
    );
    let p = read_bytes("nobox.pdf", &bytes).unwrap();
    assert!(!p.primary_cancers.is_empty());
    assert!(
        p.issues.iter().any(|i| i
            .message
            .contains("read by lopdf (fallback: pdf-extract panicked)")),
        "{:?}",
        p.issues
    );
}

#[test]
fn a_step_that_runs_past_the_timeout_is_given_up() {
    // A timeout no parse can meet: the parse is abandoned, not awaited.
    let bytes = report_pdf();
    let t = Instant::now();
    match read_with_timeout("slow.pdf", &bytes, Duration::from_nanos(1)) {
        Err(RecordsError::Malformed { detail, .. }) => {
            assert!(detail.contains("timed out"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
    assert!(t.elapsed() < Duration::from_secs(1));
}

#[test]
fn a_form_that_draws_itself_is_read_by_the_fallback() {
    let bytes = pdf(
        {
            let mut ops = text_ops(REPORT);
            ops.push(Operation::new("Do", vec!["X0".into()]));
            ops
        },
        |doc, page| {
            // The form has no Resources of its own, so it draws from the
            // page's, where X0 is itself.
            let form = doc.add_object(Stream::new(
                dictionary! { "Type" => "XObject", "Subtype" => "Form",
                "BBox" => vec![0.into(), 0.into(), 10.into(), 10.into()] },
                b"/X0 Do".to_vec(),
            ));
            let font = doc.add_object(dictionary! {
                "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
                "Encoding" => "WinAnsiEncoding",
            });
            page.set(
                "Resources",
                dictionary! {
                    "Font" => dictionary! { "F1" => font },
                    "XObject" => dictionary! { "X0" => form },
                },
            );
        },
        |_| {},
    );
    let got = extract_text("form.pdf", &bytes, PDF_TIMEOUT).unwrap();
    assert_eq!(got.extractor, Extractor::Lopdf);
    assert!(got
        .fallback_reason
        .as_deref()
        .unwrap()
        .contains("forms loop"));
}

#[test]
fn a_form_without_a_loop_is_read_by_pdf_extract() {
    let bytes = pdf(
        vec![Operation::new("Do", vec!["X0".into()])],
        |doc, page| {
            let font = doc.add_object(dictionary! {
                "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
                "Encoding" => "WinAnsiEncoding",
            });
            let resources = dictionary! { "Font" => dictionary! { "F1" => font } };
            let content = Content {
                operations: text_ops(REPORT),
            };
            let form = doc.add_object(Stream::new(
                dictionary! { "Type" => "XObject", "Subtype" => "Form",
                "BBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
                "Resources" => resources.clone() },
                content.encode().unwrap(),
            ));
            let mut res = resources;
            res.set("XObject", dictionary! { "X0" => form });
            page.set("Resources", res);
        },
        |_| {},
    );
    let got = extract_text("form.pdf", &bytes, PDF_TIMEOUT).unwrap();
    assert_eq!(
        got.extractor,
        Extractor::PdfExtract,
        "{:?}",
        got.fallback_reason
    );
    assert!(got.text.contains("HER2 negative"));
}

/// Each step may take this long in the mutation test; a step that hangs
/// must come back within about three of these.
const SHORT: Duration = Duration::from_secs(2);

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn mutated_pdfs_never_panic_or_hang(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let mut bytes = report_pdf();
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            if i >= 5 {
                bytes[i] = byte;
            }
        }
        if let Some(cut) = cut {
            let n = cut.index(bytes.len()).max(5);
            bytes.truncate(n);
        }
        let t = Instant::now();
        let r = read_with_timeout("mutant.pdf", &bytes, SHORT);
        prop_assert!(t.elapsed() < SHORT * 3 + Duration::from_secs(1), "{:?}", t.elapsed());
        if let Err(e) = r {
            prop_assert!(
                matches!(
                    e,
                    RecordsError::Malformed { .. }
                        | RecordsError::NoTextLayer { .. }
                        | RecordsError::EncryptedPdf { .. }
                ),
                "{e}"
            );
        }
    }
}
