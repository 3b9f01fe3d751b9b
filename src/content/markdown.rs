//! The article body: Markdown rendered to sanitized HTML, and the citation
//! references (`[n]`) it contains.

use pulldown_cmark::{html, BrokenLink, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};

/// The citation number a `[label]` with no link definition stands for: 1 to 9999,
/// written as digits (spaces around them allowed, as Markdown allows).
fn citation_number(label: &str) -> Option<i32> {
    let label = label.trim();
    let digits = !label.is_empty() && label.len() <= 4 && label.bytes().all(|b| b.is_ascii_digit());
    digits
        .then(|| label.parse::<i32>().ok())
        .flatten()
        .filter(|n| *n > 0)
}

/// The citation numbers the body refers to as `[n]`, in order of first use: the
/// same Markdown reading as [`render`], so that code spans, link definitions and
/// ordinary links (`[2](https://...)`) are not references.
pub fn citation_references(body: &str) -> Vec<i32> {
    let mut found = Vec::new();
    let mut callback = |link: BrokenLink<'_>| {
        let n = citation_number(&link.reference)?;
        if !found.contains(&n) {
            found.push(n);
        }
        Some((CowStr::from(format!("#citation-{n}")), CowStr::from("")))
    };
    let parser = Parser::new_with_broken_link_callback(body, options(), Some(&mut callback));
    parser.for_each(drop);
    found
}

fn options() -> Options {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options
}

/// Renders the body to HTML with no scripts, event handlers or styles. Each `[n]`
/// becomes a link to `#citation-n`, the anchor frontends give citation n.
pub fn render(body: &str) -> String {
    let mut callback = |link: BrokenLink<'_>| {
        let n = citation_number(&link.reference)?;
        Some((CowStr::from(format!("#citation-{n}")), CowStr::from("")))
    };
    let parser = Parser::new_with_broken_link_callback(body, options(), Some(&mut callback));
    // Each reference becomes `<sup><a href="#citation-n">[n]</a></sup>`: the brackets
    // stay visible, so it reads as a reference and not as the word "n".
    let mut in_reference = false;
    let events = parser.filter_map(|event| match event {
        Event::Start(Tag::Link {
            link_type: LinkType::ShortcutUnknown,
            dest_url,
            ..
        }) if dest_url.starts_with("#citation-") => {
            in_reference = true;
            let n = &dest_url["#citation-".len()..];
            Some(Event::InlineHtml(CowStr::from(format!(
                "<sup class=\"citation-ref\"><a href=\"#citation-{n}\">[{n}]</a></sup>"
            ))))
        }
        Event::End(TagEnd::Link) if in_reference => {
            in_reference = false;
            None
        }
        _ if in_reference => None,
        other => Some(other),
    });
    let mut unsafe_html = String::with_capacity(body.len() * 3 / 2);
    html::push_html(&mut unsafe_html, events);
    ammonia::Builder::default()
        .add_tag_attributes("sup", ["class"])
        .clean(&unsafe_html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_citation_references_but_not_links_code_or_definitions() {
        let body =
            "As reported [1], and [ 2 ]. See [the site](https://x.example), [3](https://y), \
                    `code [4]`, [0] and [0005].\n\n[6]: https://defined.example\n\nAlso [6].";
        assert_eq!(citation_references(body), vec![1, 2, 5]);
        let html = render(body);
        assert!(
            html.contains("#citation-2") && html.contains("#citation-5"),
            "{html}"
        );
        assert!(
            !html.contains("#citation-0") && !html.contains("#citation-0005"),
            "{html}"
        );
    }

    #[test]
    fn renders_references_as_links_to_citations() {
        let html = render("Trade grew [1].");
        assert!(
            html.contains(r##"<sup class="citation-ref"><a href="#citation-1""##),
            "{html}"
        );
        assert!(html.contains(">[1]</a></sup>"), "{html}");
    }

    #[test]
    fn strips_scripts_and_event_handlers() {
        let html = render("Hi <script>alert(1)</script> <img src=x onerror=alert(2)> <a href=\"javascript:alert(3)\">x</a>\n\n## Heading");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("<h2>Heading</h2>"), "{html}");
    }
}
