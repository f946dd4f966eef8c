//! One corpus file → a [`Page`] and its chunks, or the reason it is skipped.

use sextant_core::cancer::types_of_page;
use sextant_core::{Audience, Issue, Page, PageKind};

use crate::chunk::{chunk, Chunk};
use crate::frontmatter;
use crate::markdown::{self, Dropped};

/// Pages larger than this are not read: the largest real page is about 1 MiB,
/// and reading a stray multi-gigabyte file would exhaust memory.
pub const MAX_PAGE_BYTES: u64 = 16 * 1024 * 1024;

/// Pages with fewer words than this are stubs (a title and a link or two).
pub const STUB_WORDS: usize = 50;

/// Why a file did not become a page.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    Unreadable,
    TooLarge,
    NoFrontMatter,
    NoUrl,
    Video,
    Stub,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Unreadable => "unreadable (not UTF-8 or I/O error)",
            SkipReason::TooLarge => "too large (over 16 MiB)",
            SkipReason::NoFrontMatter => "no front matter",
            SkipReason::NoUrl => "no url in front matter",
            SkipReason::Video => "video page",
            SkipReason::Stub => "stub (too little text)",
        }
    }
}

/// A parsed page.
#[derive(Debug, Clone)]
pub struct ParsedPage {
    pub page: Page,
    pub chunks: Vec<Chunk>,
    pub dropped: Dropped,
}

/// Parses one page. Never panics; problems come back as issues or a skip.
pub fn parse_page(rel_path: &str, text: &str) -> (Result<ParsedPage, SkipReason>, Vec<Issue>) {
    let (fm, body, mut issues) = frontmatter::split(text, rel_path);
    let Some(fm) = fm else {
        if issues.is_empty() {
            issues.push(Issue::new(rel_path, "no front matter; page skipped"));
        }
        return (Err(SkipReason::NoFrontMatter), issues);
    };
    let Some(url) = fm.url.clone().filter(|u| u.starts_with("http")) else {
        issues.push(Issue::new(
            rel_path,
            "front matter has no url; page skipped",
        ));
        return (Err(SkipReason::NoUrl), issues);
    };
    let raw_title = fm.title.clone().unwrap_or_default();
    let title = clean_title(&raw_title, body);
    if is_video(&url, &title) {
        return (Err(SkipReason::Video), issues);
    }
    let (blocks, dropped) = markdown::parse(body);
    let chunks = chunk(&blocks, &title);
    let words: usize = chunks
        .iter()
        .map(|c| c.text.split_whitespace().count())
        .sum();
    if words < STUB_WORDS {
        return (Err(SkipReason::Stub), issues);
    }
    let audience = audience(&url, rel_path, fm.audience_level.as_deref());
    let page = Page {
        kind: kind(&url),
        cancer_types: types_of_page(&url, &title)
            .into_iter()
            .map(String::from)
            .collect(),
        url,
        title,
        audience,
        last_reviewed: fm.last_reviewed,
        source_path: rel_path.to_string(),
    };
    (
        Ok(ParsedPage {
            page,
            chunks,
            dropped,
        }),
        issues,
    )
}

fn clean_title(raw: &str, body: &str) -> String {
    let t = raw.trim();
    let t = t.strip_suffix(" - NCI").unwrap_or(t).trim();
    if !t.is_empty() {
        return t.to_string();
    }
    // Fall back to the first heading.
    body.lines()
        .find_map(|l| l.strip_prefix("# "))
        .map(|h| h.trim().trim_end_matches(" - NCI").to_string())
        .unwrap_or_else(|| "Untitled page".to_string())
}

fn is_video(url: &str, title: &str) -> bool {
    let slug = url.rsplit('/').next().unwrap_or("");
    slug.ends_with("-video") || slug.contains("-video-") || title.to_lowercase().ends_with(" video")
}

fn audience(url: &str, rel_path: &str, level: Option<&str>) -> Audience {
    let file = rel_path.rsplit('/').next().unwrap_or(rel_path);
    let level = level.unwrap_or("").to_lowercase();
    if url.contains("/hp/")
        || file.contains("-hp-")
        || level.contains("professional")
        || level == "hp"
        || level == "clinician"
    {
        Audience::HealthProfessional
    } else {
        Audience::Patient
    }
}

fn kind(url: &str) -> PageKind {
    let path = url
        .split_once("cancer.gov")
        .map_or(url, |(_, p)| p)
        .split(['#', '?'])
        .next()
        .unwrap_or("");
    if path.ends_with("-pdq") {
        PageKind::PdqSummary
    } else if path.contains("/research") || path.contains("/news-events/") {
        PageKind::News
    } else if path.contains("/treatment/drugs/") {
        PageKind::Drug
    } else if path.contains("/treatment/side-effects") {
        PageKind::SideEffect
    } else if path.contains("/about-cancer/coping")
        || path.contains("/support")
        || path.contains("/living")
    {
        PageKind::Coping
    } else if path.contains("/treatment/cam") {
        PageKind::Cam
    } else if path.contains("/treatment/types") || path.starts_with("/about-cancer/treatment") {
        PageKind::TreatmentType
    } else if path.starts_with("/types/") {
        PageKind::CancerType
    } else if path.contains("/dictionar") {
        PageKind::Reference
    } else {
        PageKind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "---\naudienceLevel: patient\ntitle: Liver Cancer Treatment - NCI\nurl: https://www.cancer.gov/types/liver/what-is-liver-cancer/treatment\nlastReviewed: '2025-12-30'\n---\n\n# Liver Cancer Treatment - NCI\n\n# Liver Cancer Treatment\n\n## Types of treatment\n\n### Surgery\n\nA partial hepatectomy (surgery to remove the part of the liver where cancer is found) may be done. A wedge of tissue, an entire lobe, or a larger part of the liver, along with some of the healthy tissue around it is removed. The remaining liver tissue takes over the functions of the liver and may regrow.\n";

    #[test]
    fn parses_a_page() {
        let (r, issues) = parse_page("cancer-types/liver.md", PAGE);
        let p = r.unwrap();
        assert!(issues.is_empty());
        assert_eq!(p.page.title, "Liver Cancer Treatment");
        assert_eq!(p.page.audience, Audience::Patient);
        assert_eq!(p.page.kind, PageKind::CancerType);
        assert_eq!(p.page.cancer_types, vec!["liver"]);
        assert_eq!(p.page.last_reviewed.as_deref(), Some("2025-12-30"));
        assert_eq!(p.chunks.len(), 1);
        assert_eq!(
            p.chunks[0].section_path,
            vec!["Liver Cancer Treatment", "Types of treatment", "Surgery"]
        );
    }

    #[test]
    fn classifies_and_skips() {
        assert_eq!(
            kind("https://www.cancer.gov/types/liver/hp/adult-liver-treatment-pdq"),
            PageKind::PdqSummary
        );
        assert_eq!(
            kind("https://www.cancer.gov/about-cancer/treatment/drugs/sorafenibtosylate"),
            PageKind::Drug
        );
        assert_eq!(
            audience(
                "https://www.cancer.gov/types/liver/hp/adult-liver-treatment-pdq",
                "pdq/x.md",
                Some("patient")
            ),
            Audience::HealthProfessional
        );
        let stub = "---\ntitle: T\nurl: https://www.cancer.gov/types/x\n---\n\nShort.\n";
        assert_eq!(parse_page("s.md", stub).0.err(), Some(SkipReason::Stub));
        let video = "---\ntitle: T\nurl: https://www.cancer.gov/types/liver/ccr-liver-video\n---\n\nShort.\n";
        assert_eq!(parse_page("v.md", video).0.err(), Some(SkipReason::Video));
        let nourl = "---\ntitle: T\n---\n\ntext\n";
        let (r, issues) = parse_page("n.md", nourl);
        assert_eq!(r.err(), Some(SkipReason::NoUrl));
        assert!(issues[0].to_string().starts_with("n.md:"));
    }
}
