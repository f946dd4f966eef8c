//! The YAML front matter of corpus pages. Only the subset the corpus uses is
//! understood (`key: value`, quoted scalars, `- item` lists); anything else
//! is reported as an issue, never a failure.

use sextant_core::Issue;

/// The fields Sextant reads from a page's front matter.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FrontMatter {
    pub title: Option<String>,
    pub url: Option<String>,
    pub last_reviewed: Option<String>,
    pub audience_level: Option<String>,
}

/// Splits a page into front matter and body. A page without front matter
/// yields `None` and the whole text as body.
pub fn split<'a>(text: &'a str, at: &str) -> (Option<FrontMatter>, &'a str, Vec<Issue>) {
    let mut issues = Vec::new();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(rest) = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
    else {
        return (None, text, issues);
    };
    // The closing fence is a line that is exactly "---".
    let mut offset = 0;
    let mut end = None;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            end = Some((offset, offset + line.len()));
            break;
        }
        offset += line.len();
    }
    let Some((yaml_end, body_start)) = end else {
        issues.push(Issue::new(at, "front matter is not closed by a '---' line"));
        return (None, text, issues);
    };
    let fm = parse_yaml(&rest[..yaml_end], at, &mut issues);
    (Some(fm), &rest[body_start..], issues)
}

fn parse_yaml(yaml: &str, at: &str, issues: &mut Vec<Issue>) -> FrontMatter {
    let mut fm = FrontMatter::default();
    for (n, line) in yaml.lines().enumerate() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if line.starts_with(' ') || line.starts_with('-') {
            continue; // list items and nested values of keys we do not read
        }
        let Some((key, value)) = line.split_once(':') else {
            issues.push(Issue::new(
                format!("{at}:{}", n + 2),
                format!("front matter line is not 'key: value': {line:?}"),
            ));
            continue;
        };
        let value = unquote(value.trim());
        let slot = match key.trim() {
            "title" => &mut fm.title,
            "url" => &mut fm.url,
            "lastReviewed" => &mut fm.last_reviewed,
            "audienceLevel" => &mut fm.audience_level,
            _ => continue,
        };
        if !value.is_empty() && value != "null" && value != "~" {
            *slot = Some(value);
        }
    }
    fm
}

fn unquote(v: &str) -> String {
    if v.len() >= 2 {
        if let Some(inner) = v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
            return inner.replace("''", "'");
        }
        if let Some(inner) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            return inner.replace("\\\"", "\"");
        }
    }
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_body() {
        let t = "---\naudienceLevel: patient\ncancerTypes:\n- liver\nlastReviewed: '2025-12-30'\ntitle: Liver Cancer - NCI\nurl: https://www.cancer.gov/types/liver\n---\n\n# Body\n";
        let (fm, body, issues) = split(t, "x.md");
        let fm = fm.unwrap();
        assert_eq!(fm.title.as_deref(), Some("Liver Cancer - NCI"));
        assert_eq!(fm.last_reviewed.as_deref(), Some("2025-12-30"));
        assert_eq!(
            fm.url.as_deref(),
            Some("https://www.cancer.gov/types/liver")
        );
        assert_eq!(fm.audience_level.as_deref(), Some("patient"));
        assert_eq!(body, "\n# Body\n");
        assert!(issues.is_empty());
    }

    #[test]
    fn malformed_front_matter_is_an_issue_not_a_failure() {
        let (fm, body, issues) = split("---\ntitle: x\nno closing", "bad.md");
        assert!(fm.is_none());
        assert!(body.starts_with("---"));
        assert_eq!(issues.len(), 1);
        let (fm, _, issues) = split("---\njust words\ntitle: ok\n---\nbody", "odd.md");
        assert_eq!(fm.unwrap().title.as_deref(), Some("ok"));
        assert_eq!(issues.len(), 1);
        assert!(issues[0].at.starts_with("odd.md:"));
    }
}
