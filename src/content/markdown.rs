//! The article body: Markdown rendered to sanitized HTML, and the citation
//! references (`[n]`) it contains.

use std::collections::BTreeSet;

use pulldown_cmark::{html, BrokenLink, CowStr, Options, Parser};

/// The citation numbers the body refers to as `[n]`, in order of first use.
pub fn citation_references(body: &str) -> Vec<i32> {
    let mut seen = BTreeSet::new();
    let mut found = Vec::new();
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'[' {
            let digits = bytes[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            let close = i + 1 + digits;
            // `[n]` but not `[n](url)`, which is an ordinary link.
            if (1..=4).contains(&digits)
                && bytes.get(close) == Some(&b']')
                && bytes.get(close + 1) != Some(&b'(')
            {
                if let Ok(n) = body[i + 1..close].parse::<i32>() {
                    if n > 0 && seen.insert(n) {
                        found.push(n);
                    }
                }
                i = close;
            }
        }
        i += 1;
    }
    found
}

/// Renders the body to HTML with no scripts, event handlers or styles. Each `[n]`
/// becomes a link to `#citation-n`, the anchor frontends give citation n.
pub fn render(body: &str) -> String {
    let mut callback = |link: BrokenLink<'_>| {
        let label = link.reference.trim();
        let is_number =
            !label.is_empty() && label.len() <= 4 && label.bytes().all(|b| b.is_ascii_digit());
        is_number.then(|| {
            (
                CowStr::from(format!("#citation-{label}")),
                CowStr::from(format!("Citation {label}")),
            )
        })
    };
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    let parser = Parser::new_with_broken_link_callback(body, options, Some(&mut callback));
    // Keep the brackets visible: `[1]` reads as a reference, not as the word "1".
    let events = parser.map(|event| match event {
        pulldown_cmark::Event::Start(pulldown_cmark::Tag::Link {
            link_type: pulldown_cmark::LinkType::ShortcutUnknown,
            dest_url,
            title,
            id,
        }) if dest_url.starts_with("#citation-") => {
            let _ = (title, id);
            pulldown_cmark::Event::InlineHtml(CowStr::from(format!(
                "<sup class=\"citation-ref\"><a href=\"{dest_url}\">["
            )))
        }
        other => other,
    });
    let mut unsafe_html = String::with_capacity(body.len() * 3 / 2);
    html::push_html(&mut unsafe_html, close_citation_links(events));
    ammonia::Builder::default()
        .add_tag_attributes("sup", ["class"])
        .clean(&unsafe_html)
        .to_string()
}

/// Closes the `<sup>` opened for each citation link (the link's end event follows
/// its text).
fn close_citation_links<'a>(
    events: impl Iterator<Item = pulldown_cmark::Event<'a>>,
) -> impl Iterator<Item = pulldown_cmark::Event<'a>> {
    let mut in_citation = false;
    let mut depth = 0usize;
    events.map(move |event| match event {
        pulldown_cmark::Event::InlineHtml(ref html)
            if html.starts_with("<sup class=\"citation-ref\">") =>
        {
            in_citation = true;
            depth = 0;
            event
        }
        pulldown_cmark::Event::Start(pulldown_cmark::Tag::Link { .. }) if in_citation => {
            depth += 1;
            event
        }
        pulldown_cmark::Event::End(pulldown_cmark::TagEnd::Link) if in_citation => {
            if depth == 0 {
                in_citation = false;
                pulldown_cmark::Event::InlineHtml(CowStr::from("]</a></sup>"))
            } else {
                depth -= 1;
                event
            }
        }
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_citation_references_but_not_links() {
        let body = "As reported [1], and again [2][1]. See [the site](https://x.example) and [3](https://y).";
        assert_eq!(citation_references(body), vec![1, 2]);
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
