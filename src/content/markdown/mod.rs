//! The article body: Markdown rendered to sanitized HTML, and the citation
//! references (`[n]`) it contains. (The nesting pass is in `shape.rs`.)
//!
//! Rendering is linear in the size of the body, whatever it holds. The Markdown
//! parser is; the HTML sanitizer (html5ever's tree builder) is not on deeply nested
//! or mis-nested HTML (`<div>` × 32,000 took seconds). So before sanitizing, the HTML
//! goes through [`shape`], a small tree builder of our own that emits only properly
//! nested tags, at most [`MAX_NESTING`] deep, and comes out at most about twice the
//! size it went in. The sanitizer then never meets the inputs that make it slow.

mod shape;

use crate::error::{AppError, AppResult};
use pulldown_cmark::{html, BrokenLink, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};
use shape::shape;
use std::collections::HashMap;
use uuid::Uuid;

/// How deeply elements may nest in a rendered body; deeper tags are dropped (their
/// text stays).
pub const MAX_NESTING: usize = 32;

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

/// The citation numbers the body refers to as `[n]`, each once: those in the
/// Markdown in order of first use, then those in the text of HTML blocks
/// (`<div>see [1]</div>`). The same reading as [`render`], so that code spans, link
/// definitions and ordinary links (`[2](https://...)`) are not references.
pub fn citation_references(body: &str) -> Vec<i32> {
    let mut in_markdown = Vec::new();
    let mut callback = |link: BrokenLink<'_>| {
        let n = citation_number(&link.reference)?;
        in_markdown.push(n);
        Some((CowStr::from(format!("#citation-{n}")), CowStr::from("")))
    };
    let parser = Parser::new_with_broken_link_callback(body, options(), Some(&mut callback));
    let mut in_html = Vec::new();
    let mut scan = HtmlScan::default();
    for event in parser {
        match event {
            Event::Html(chunk) => {
                link_references_in_html(&chunk, &mut scan, &mut |n| in_html.push(n));
            }
            _ => scan = HtmlScan::default(),
        }
    }
    let mut seen = std::collections::HashSet::new();
    in_markdown
        .into_iter()
        .chain(in_html)
        .filter(|n| seen.insert(*n))
        .collect()
}

fn options() -> Options {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options
}

/// How a reference to citation `n` is shown: the brackets stay visible, so that it
/// reads as a reference and not as the word "n".
fn reference_html(n: i32) -> String {
    format!("<sup class=\"citation-ref\"><a href=\"#citation-{n}\">[{n}]</a></sup>")
}

/// The scheme of an image destination that names uploaded media:
/// `![A yurt at dawn](media:0192...)`.
pub const MEDIA_SCHEME: &str = "media:";

/// An image the body names as `media:<id>`, as it is shown: its file, its
/// narrower versions for `srcset`, its size, and its alt text for images whose
/// Markdown gives none.
#[derive(Debug, Clone, PartialEq)]
pub struct BodyImage {
    pub src: String,
    /// `url 320w, url 640w, ...`, the original last.
    pub srcset: String,
    pub width: i32,
    pub height: i32,
    pub alt: Option<String>,
}

/// The images a body names, by id, as found when it is rendered.
pub type BodyImages = HashMap<Uuid, BodyImage>;

/// What each `media:` image destination in the body names (the text after the
/// scheme), each once, in order of first use. The same reading as [`render`].
pub fn media_references(body: &str) -> Vec<String> {
    let mut callback = |link: BrokenLink<'_>| {
        let n = citation_number(&link.reference)?;
        Some((CowStr::from(format!("#citation-{n}")), CowStr::from("")))
    };
    let parser = Parser::new_with_broken_link_callback(body, options(), Some(&mut callback));
    let mut seen = std::collections::HashSet::new();
    parser
        .filter_map(|event| match event {
            Event::Start(Tag::Image { dest_url, .. }) => dest_url
                .strip_prefix(MEDIA_SCHEME)
                .map(|named| named.trim().to_string()),
            _ => None,
        })
        .filter(|named| seen.insert(named.clone()))
        .collect()
}

/// `text` safe inside a double-quoted HTML attribute.
fn attribute(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// The `<img>` for a `media:` image: `alt` is the Markdown's, else the image's own.
fn media_image_html(image: &BodyImage, alt: &str, title: &str) -> String {
    let alt = match alt.trim() {
        "" => image.alt.as_deref().unwrap_or_default(),
        alt => alt,
    };
    let title = match title {
        "" => String::new(),
        title => format!(" title=\"{}\"", attribute(title)),
    };
    format!(
        "<img src=\"{}\" srcset=\"{}\" sizes=\"100vw\" width=\"{}\" height=\"{}\" alt=\"{}\"{title} loading=\"lazy\">",
        attribute(&image.src),
        attribute(&image.srcset),
        image.width,
        image.height,
        attribute(alt),
    )
}

/// A `srcset` is kept only when each of its candidates is a root-relative path
/// (the files this service serves), so it can name nothing elsewhere.
fn root_relative_srcset(value: &str) -> bool {
    value.split(',').all(|candidate| {
        let url = candidate.split_whitespace().next().unwrap_or_default();
        url.starts_with('/') && !url.starts_with("//") && !url.contains('\\')
    })
}

/// Renders the body to HTML with no scripts, event handlers or styles. Each `[n]`
/// becomes a link to `#citation-n`, the anchor frontends give citation n. Each
/// `media:<id>` image found in `images` becomes an `<img>` with its `srcset`,
/// width and height; one not found (deleted since) is left out. Linear in the
/// length of the body (see the module's note).
pub fn render(body: &str, images: &BodyImages) -> String {
    let mut callback = |link: BrokenLink<'_>| {
        let n = citation_number(&link.reference)?;
        Some((CowStr::from(format!("#citation-{n}")), CowStr::from("")))
    };
    let parser = Parser::new_with_broken_link_callback(body, options(), Some(&mut callback));
    let mut in_reference = false;
    let mut scan = HtmlScan::default();
    // Inside a `media:` image: what it shows (if found), its title, its alt text
    // so far, and how many images deep (alt text may hold images).
    let mut media_image: Option<(Option<&BodyImage>, String, String, usize)> = None;
    let events = parser.filter_map(|event| {
        if !matches!(event, Event::Html(_)) {
            scan = HtmlScan::default();
        }
        if let Some((image, title, alt, depth)) = &mut media_image {
            match event {
                Event::Start(Tag::Image { .. }) => *depth += 1,
                Event::End(TagEnd::Image) if *depth > 0 => *depth -= 1,
                Event::End(TagEnd::Image) => {
                    let html = image.map(|image| media_image_html(image, alt, title));
                    media_image = None;
                    return html.map(|html| Event::InlineHtml(CowStr::from(html)));
                }
                Event::Text(text) | Event::Code(text) => alt.push_str(&text),
                Event::SoftBreak | Event::HardBreak => alt.push(' '),
                _ => {}
            }
            return None;
        }
        match event {
            Event::Start(Tag::Image {
                dest_url, title, ..
            }) if dest_url.starts_with(MEDIA_SCHEME) => {
                let image = Uuid::parse_str(dest_url[MEDIA_SCHEME.len()..].trim())
                    .ok()
                    .and_then(|id| images.get(&id));
                media_image = Some((image, title.to_string(), String::new(), 0));
                None
            }
            Event::Start(Tag::Link {
                link_type: LinkType::ShortcutUnknown,
                dest_url,
                ..
            }) if dest_url.starts_with("#citation-") => {
                in_reference = true;
                let n = dest_url["#citation-".len()..].parse().unwrap_or_default();
                Some(Event::InlineHtml(CowStr::from(reference_html(n))))
            }
            Event::End(TagEnd::Link) if in_reference => {
                in_reference = false;
                None
            }
            _ if in_reference => None,
            Event::Html(chunk) => Some(Event::Html(CowStr::from(link_references_in_html(
                &chunk,
                &mut scan,
                &mut |_| {},
            )))),
            other => Some(other),
        }
    });
    let mut unsafe_html = String::with_capacity(body.len() * 3 / 2);
    html::push_html(&mut unsafe_html, events);
    let shaped = shape(&unsafe_html, MAX_NESTING);
    ammonia::Builder::default()
        .add_allowed_classes("sup", ["citation-ref"])
        .add_tag_attributes("img", ["srcset", "sizes", "loading", "title"])
        .attribute_filter(|_, attribute, value| match attribute {
            "srcset" if !root_relative_srcset(value) => None,
            _ => Some(value.into()),
        })
        .clean(&shaped)
        .to_string()
}

/// A teaser from the body: its first paragraph as plain text (citation
/// references left out), cut to at most `max_chars` characters at a word boundary,
/// with an ellipsis when cut. Empty when the body has no paragraph.
pub fn excerpt(body: &str, max_chars: usize) -> String {
    let mut callback = |link: BrokenLink<'_>| {
        let n = citation_number(&link.reference)?;
        Some((CowStr::from(format!("#citation-{n}")), CowStr::from("")))
    };
    let parser = Parser::new_with_broken_link_callback(body, options(), Some(&mut callback));
    let mut text = String::new();
    let mut kept = 0;
    let (mut in_paragraph, mut in_reference) = (false, false);
    for event in parser {
        match event {
            Event::Start(Tag::Paragraph) => in_paragraph = true,
            Event::End(TagEnd::Paragraph) if in_paragraph => break,
            Event::Start(Tag::Link {
                link_type: LinkType::ShortcutUnknown,
                dest_url,
                ..
            }) if dest_url.starts_with("#citation-") => in_reference = true,
            Event::End(TagEnd::Link) if in_reference => in_reference = false,
            Event::Text(t) | Event::Code(t) if in_paragraph && !in_reference => {
                kept += push_collapsed(&mut text, &t)
            }
            Event::SoftBreak | Event::HardBreak if in_paragraph => {
                kept += push_collapsed(&mut text, " ")
            }
            _ => {}
        }
        // Enough is known once the text, whitespace collapsed, is well past the cut
        // (the tidying below shortens it by less than half).
        if kept > max_chars * 2 + 8 {
            break;
        }
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // A reference at the end of a sentence leaves a space before its full stop.
    let text = text.replace(" .", ".").replace(" ,", ",");
    cut_at_word(&text, max_chars)
}

/// Appends `chunk` to `text` with each run of whitespace (across chunks too) as
/// one space; how many characters it added.
fn push_collapsed(text: &mut String, chunk: &str) -> usize {
    let mut added = 0;
    for c in chunk.chars() {
        let c = if c.is_whitespace() { ' ' } else { c };
        if c == ' ' && (text.is_empty() || text.ends_with(' ')) {
            continue;
        }
        text.push(c);
        added += 1;
    }
    added
}

/// `text` cut to at most `max_chars` characters at a word boundary, with an
/// ellipsis when cut.
pub fn cut_at_word(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let room: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    let next_is_space = text
        .chars()
        .nth(room.chars().count())
        .is_some_and(char::is_whitespace);
    let kept = if next_is_space {
        room.as_str()
    } else {
        // Back to the end of the last whole word; a single long word is cut.
        room.rfind(char::is_whitespace)
            .map(|at| &room[..at])
            .unwrap_or(room.as_str())
    };
    let kept = kept.trim_end_matches(|c: char| c.is_whitespace() || ",;:-–—".contains(c));
    format!("{kept}…")
}

/// What is kept of a body besides its Markdown, worked out when it is written so
/// that reads and lists do no per-item parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedBody {
    /// Sanitized HTML ([`render`]).
    pub html: String,
    /// The first paragraph as plain text, up to [`LEAD_CHARS`] ([`excerpt`]): what
    /// a teaser is cut from when the article has no standfirst.
    pub lead: String,
    /// Words in the text as read ([`word_count`]).
    pub word_count: i32,
    /// The media its `media:` images name and that were found, each once (in
    /// id order).
    pub media: Vec<Uuid>,
}

/// The longest lead kept, in characters; excerpts are cut from it.
pub const LEAD_CHARS: usize = 1000;

impl RenderedBody {
    pub fn of(body: &str, images: &BodyImages) -> RenderedBody {
        let (lead, word_count) = lead_and_word_count(body);
        // `images` holds what this body names and was found (nothing else).
        let mut media: Vec<Uuid> = images.keys().copied().collect();
        media.sort();
        RenderedBody {
            html: render(body, images),
            lead,
            word_count,
            media,
        }
    }
}

/// What a teaser needs of a body: its lead and its word count.
fn lead_and_word_count(body: &str) -> (String, i32) {
    (
        excerpt(body, LEAD_CHARS),
        i32::try_from(word_count(body)).unwrap_or(i32::MAX),
    )
}

/// [`RenderedBody::of`] on a blocking thread, off the async workers (rendering is
/// linear, but a body of 500,000 characters still takes tens of milliseconds).
pub async fn render_off_thread(body: &str, images: BodyImages) -> AppResult<RenderedBody> {
    off_thread(body, move |body| RenderedBody::of(body, &images)).await
}

/// [`media_references`] on a blocking thread.
pub async fn media_references_off_thread(body: &str) -> AppResult<Vec<String>> {
    off_thread(body, media_references).await
}

/// A body's lead and word count ([`RenderedBody`] without the HTML), on a blocking
/// thread: for rows written before these were kept.
pub async fn teaser_off_thread(body: &str) -> AppResult<(String, i32)> {
    off_thread(body, lead_and_word_count).await
}

/// The words a reader reads in the body: its text (headings, paragraphs, lists,
/// quotes, code), not its markup, URLs or HTML tags. A word is a run of
/// non-whitespace; inline markup (`**bold**`, links) does not split one.
pub fn word_count(body: &str) -> usize {
    let mut words = 0;
    let mut in_word = false;
    let mut count = |text: &str, in_word: &mut bool| {
        for c in text.chars() {
            if c.is_whitespace() {
                *in_word = false;
            } else if !*in_word {
                *in_word = true;
                words += 1;
            }
        }
    };
    for event in Parser::new_ext(body, options()) {
        match event {
            Event::Text(t) | Event::Code(t) => count(&t, &mut in_word),
            Event::Html(chunk) | Event::InlineHtml(chunk) => {
                count(&strip_tags(&chunk), &mut in_word)
            }
            Event::Start(tag) if !is_inline(&tag) => in_word = false,
            Event::End(tag) if !is_inline_end(tag) => in_word = false,
            Event::SoftBreak | Event::HardBreak | Event::Rule => in_word = false,
            _ => {}
        }
    }
    words
}

fn is_inline(tag: &Tag<'_>) -> bool {
    matches!(
        tag,
        Tag::Emphasis | Tag::Strong | Tag::Strikethrough | Tag::Link { .. }
    )
}

fn is_inline_end(tag: TagEnd) -> bool {
    matches!(
        tag,
        TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough | TagEnd::Link
    )
}

/// The text of raw HTML, its tags replaced by spaces.
fn strip_tags(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

/// [`citation_references`] on a blocking thread, as [`render_off_thread`].
pub async fn citation_references_off_thread(body: &str) -> AppResult<Vec<i32>> {
    off_thread(body, citation_references).await
}

/// Runs `work` on the body on a blocking thread, at most one per core at a time
/// (the turn is held until the work is done, even if the request that asked for
/// it has gone): a request whose deadline passes stops waiting for its turn, so
/// no caller can queue up more parsing than the cores can do.
async fn off_thread<T: Send + 'static>(
    body: &str,
    work: impl FnOnce(&str) -> T + Send + 'static,
) -> AppResult<T> {
    static TURNS: std::sync::OnceLock<std::sync::Arc<tokio::sync::Semaphore>> =
        std::sync::OnceLock::new();
    let turns = TURNS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        std::sync::Arc::new(tokio::sync::Semaphore::new(cores))
    });
    let turn = turns
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| AppError::Internal(format!("rendering stopped: {e}")))?;
    let body = body.to_string();
    tokio::task::spawn_blocking(move || {
        let _turn = turn;
        work(&body)
    })
    .await
    .map_err(|e| AppError::Internal(format!("rendering failed: {e}")))
}

/// Where a scan of raw HTML stands between chunks (an HTML block comes as one
/// chunk per line, and a tag may span lines).
#[derive(Debug, Clone, Copy, Default)]
struct HtmlScan {
    in_tag: bool,
    /// The quote that opened an attribute value inside a tag, if any.
    quote: Option<u8>,
}

/// Links each `[n]` in the text of raw HTML (not inside its tags) to citation n,
/// calling `found` with each n.
fn link_references_in_html(chunk: &str, scan: &mut HtmlScan, found: &mut dyn FnMut(i32)) -> String {
    let mut out = String::with_capacity(chunk.len());
    let mut rest = chunk;
    while let Some(at) = rest.find(['<', '>', '[', '"', '\'']) {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let byte = from.as_bytes()[0];
        match byte {
            b'"' | b'\'' if scan.in_tag => {
                scan.quote = match scan.quote {
                    None => Some(byte),
                    Some(open) if open == byte => None,
                    other => other,
                };
            }
            b'<' if scan.quote.is_none() => scan.in_tag = true,
            b'>' if scan.quote.is_none() => scan.in_tag = false,
            b'[' if !scan.in_tag => {
                // A label is at most 4 digits (and spaces): look no further than
                // that, so that a run of `[` costs linear time.
                let window = &from.as_bytes()[1..from.len().min(8)];
                let label = window
                    .iter()
                    .position(|b| *b == b']')
                    .and_then(|len| from.get(1..1 + len).map(|label| (label, len)));
                if let Some((n, len)) =
                    label.and_then(|(l, len)| citation_number(l).map(|n| (n, len)))
                {
                    found(n);
                    out.push_str(&reference_html(n));
                    rest = &from[len + 2..];
                    continue;
                }
            }
            _ => {}
        }
        out.push_str(&from[..1]);
        rest = &from[1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn no_images() -> BodyImages {
        BodyImages::new()
    }

    #[test]
    fn a_media_image_is_shown_with_its_srcset_and_one_not_found_is_left_out() {
        let id = Uuid::now_v7();
        let gone = Uuid::now_v7();
        let images = BodyImages::from([(
            id,
            BodyImage {
                src: "/api/v1/media/files/ab.jpg".into(),
                srcset: "/api/v1/media/files/ab/320.jpg 320w, /api/v1/media/files/ab.jpg 800w"
                    .into(),
                width: 800,
                height: 600,
                alt: Some("The image's own alt".into()),
            },
        )]);
        let body = format!(
            "A yurt: ![At *dawn* \"now\"](media:{id} \"Title\") and ![](media:{id}) and \
             ![lost](media:{gone}) and ![bad](media:nope).\n\n\
             <img src=\"/x.jpg\" srcset=\"javascript:alert(1) 1x\">"
        );
        assert_eq!(
            media_references(&body),
            vec![id.to_string(), gone.to_string(), "nope".to_string()]
        );
        let html = render(&body, &images);
        assert!(
            html.contains(
                "<img src=\"/api/v1/media/files/ab.jpg\" srcset=\"/api/v1/media/files/ab/320.jpg \
             320w, /api/v1/media/files/ab.jpg 800w\" sizes=\"100vw\" width=\"800\" \
             height=\"600\" alt=\"At dawn &quot;now&quot;\" title=\"Title\" loading=\"lazy\">"
            ),
            "{html}"
        );
        assert!(html.contains("alt=\"The image's own alt\""), "{html}");
        assert!(!html.contains("lost") && !html.contains("bad"), "{html}");
        assert!(!html.contains("javascript"), "{html}");
        assert_eq!(RenderedBody::of(&body, &images).media, vec![id]);
    }

    #[test]
    fn an_excerpt_is_the_first_paragraph_cut_at_a_word() {
        let body = "## Trade\n\nInvestment is *under* 10% [1], says the `envoy` [2].\n\nMore.";
        assert_eq!(
            excerpt(body, 200),
            "Investment is under 10%, says the envoy."
        );
        assert_eq!(excerpt(body, 20), "Investment is under…");
        assert_eq!(excerpt(body, 19), "Investment is…");
        assert_eq!(excerpt("", 20), "");
        assert_eq!(excerpt("# Only a heading", 20), "");
        assert_eq!(cut_at_word("Supercalifragilistic", 6), "Super…");
        assert_eq!(cut_at_word("Монгол улс, Солонгос", 12), "Монгол улс…");
        let long = "word ".repeat(200_000);
        assert_eq!(excerpt(&long, 10).chars().count(), 10);
        // Runs of spaces count as one: a paragraph padded with them is still cut
        // with an ellipsis, not stopped short.
        let padded = format!("w{}", " ".repeat(300)).repeat(40);
        let cut = excerpt(&padded, 50);
        assert!(cut.ends_with('…') && cut.chars().count() >= 49, "{cut}");
    }

    #[test]
    fn counts_the_words_a_reader_reads() {
        assert_eq!(
            word_count("# A heading\n\nOne **two**three [four](https://x.org/a-b-c)."),
            5
        );
        assert_eq!(word_count("<div>Raw <b>html</b> text</div>"), 3);
        assert_eq!(word_count("- a\n- b\n\n> c d"), 4);
        assert_eq!(word_count(""), 0);
    }

    #[test]
    fn finds_citation_references_but_not_links_code_or_definitions() {
        let body =
            "As reported [1], and [ 2 ]. See [the site](https://x.example), [3](https://y), \
                    `code [4]`, [0] and [0005].\n\n[6]: https://defined.example\n\nAlso [6].";
        assert_eq!(citation_references(body), vec![1, 2, 5]);
        let html = render(body, &no_images());
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
        let html = render("Trade grew [1].", &no_images());
        assert!(
            html.contains(r##"<sup class="citation-ref"><a href="#citation-1""##),
            "{html}"
        );
        assert!(html.contains(">[1]</a></sup>"), "{html}");
    }

    #[test]
    fn references_inside_html_blocks_are_linked_and_found() {
        let body = "Intro [2].\n\n<div class=\"box\" title=\"[7]\">see [1] and [12]</div>\n";
        assert_eq!(citation_references(body), vec![2, 1, 12]);
        let html = render(body, &no_images());
        assert!(
            html.contains("see <sup class=\"citation-ref\"><a href=\"#citation-1\""),
            "{html}"
        );
        assert!(html.contains(">[12]</a></sup></div>"), "{html}");
        assert!(!html.contains("#citation-7"), "not inside a tag: {html}");
        // Not inside a quoted attribute that holds a `>` either.
        let body = "<div title=\">[3]\" class=\"x\">text</div>\n";
        assert_eq!(citation_references(body), Vec::<i32>::new());
    }

    #[test]
    fn strips_scripts_and_event_handlers() {
        let html = render("Hi <script>alert(1)</script> <img src=x onerror=alert(2)> <a href=\"javascript:alert(3)\">x</a>\n\n## Heading", &no_images());
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("<h2>Heading</h2>"), "{html}");
    }

    #[test]
    fn html_comments_and_unfinished_tags_lose_no_text() {
        let html = render("Before <span title=\"x\n\nAfter", &no_images());
        assert!(html.contains("After"), "{html}");
        let html = render("<!-- hidden -->\n\nShown", &no_images());
        assert!(html.contains("Shown") && !html.contains("hidden"), "{html}");
    }

    /// Bodies of the largest size allowed, made of what makes parsers slow. Each
    /// must render in well under a second in a release build; the bound here is
    /// loose for debug builds on a busy machine, and still far below the minutes
    /// such bodies took before rendering was made linear.
    #[test]
    fn hostile_bodies_render_in_linear_time() {
        let n = 64_000;
        let cases = [
            ("nested divs", "<div>".repeat(n)),
            ("nested quotes", ">".repeat(n)),
            (
                "quote lines",
                "> ".repeat(200) + "x\n" + &"> x\n".repeat(n / 4),
            ),
            (
                "unclosed formatting",
                "<b class=x>".repeat(n / 8) + &"\n\npara".repeat(n / 8),
            ),
            (
                "reopened formatting",
                (0..n / 16)
                    .map(|i| format!("<p><b class={i}></p>"))
                    .collect::<String>(),
            ),
            ("anchors", "<a href=\"#x\">".repeat(n / 8)),
            ("tables", "<table><tr><td>".repeat(n / 16)),
            ("stray end tags", "</div>".repeat(n)),
            ("nested lists", "- ".repeat(n / 2)),
            ("emphasis", "*a **b ".repeat(n / 8)),
            ("brackets", "[".repeat(n) + &"]".repeat(n)),
            ("references", "[1] ".repeat(n / 4)),
            (
                "many references",
                (1..=9999).map(|i| format!("[{i}] ")).collect::<String>(),
            ),
            (
                "html block references",
                "<div>".to_string() + &"[1]".repeat(n / 3),
            ),
            ("unfinished tags", "<a ".repeat(n / 3)),
            ("comments", "<!--".repeat(n / 4)),
            ("closed comments", "<!---->".repeat(n)),
            (
                "brackets in html",
                "<div>\n".to_string() + &"[".repeat(n * 4),
            ),
            (
                "unterminated tags in html",
                "<div>\n".to_string() + &"<a ".repeat(n * 2),
            ),
            (
                "many attributes",
                format!(
                    "<div>\n<p {}>x</p>",
                    (0..n).map(|i| format!("a{i:x} ")).collect::<String>()
                ),
            ),
        ];
        for (name, body) in cases {
            let started = Instant::now();
            let html = render(&body, &no_images());
            let took = started.elapsed();
            assert!(
                took < Duration::from_secs(4),
                "{name}: {} bytes took {took:?}",
                body.len()
            );
            assert!(
                html.len() <= body.len() * 40 + 1000,
                "{name}: {} bytes became {}",
                body.len(),
                html.len()
            );
        }
    }
}
