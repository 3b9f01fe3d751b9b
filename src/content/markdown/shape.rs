//! Making raw HTML safe to hand to the sanitizer in linear time: a simplified
//! version of HTML's tree builder with a bounded stack (see the parent module).

/// Elements that have no content and no end tag.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// Start tags that close an open `p`, as HTML's tree builder does.
const CLOSES_P: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "details",
    "dialog",
    "div",
    "dl",
    "dd",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "li",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "ul",
];

/// Elements that stop the search for an open `p` to close.
const P_SCOPE: &[&str] = &[
    "applet", "button", "caption", "marquee", "object", "table", "td", "template", "th",
];

/// Rewrites HTML so that it is properly nested and at most `max_depth` deep: a
/// simplified version of HTML's tree builder, in one pass with a bounded stack.
/// Start tags deeper than `max_depth` and end tags with nothing to close are dropped;
/// implied end tags are written out; comments and other markup declarations are
/// dropped (the sanitizer drops them too); a `<` that starts no tag is escaped.
/// Attributes are left to the sanitizer.
pub(super) fn shape(html: &str, max_depth: usize) -> String {
    let mut shaper = Shaper {
        out: String::with_capacity(html.len() + html.len() / 8),
        open: Vec::with_capacity(max_depth),
        max_depth,
        no_tag_end: false,
    };
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        shaper.out.push_str(&rest[..at]);
        rest = shaper.markup(&rest[at..]);
    }
    shaper.out.push_str(rest);
    shaper.close_from(0);
    shaper.out
}

struct Shaper {
    out: String,
    /// Names of the open elements, innermost last.
    open: Vec<String>,
    max_depth: usize,
    /// Set once a search for a tag's `>` failed: there is none further on either,
    /// and searching again for every later `<` would be quadratic.
    no_tag_end: bool,
}

impl Shaper {
    /// Handles the markup at the start of `html` (which starts with `<`); returns
    /// what follows it.
    fn markup<'a>(&mut self, html: &'a str) -> &'a str {
        let after = &html[1..];
        let next = after.bytes().next();
        let (is_end, name_from) = match next {
            Some(b) if b.is_ascii_alphabetic() => (false, after),
            Some(b'/')
                if after[1..]
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_alphabetic()) =>
            {
                (true, &after[1..])
            }
            Some(b'!') if after.starts_with("!--") => return skip_comment(&after[3..]),
            // `<!...>`, `<?...>` and `</...>` that name no element are comments to
            // HTML: dropped up to the next `>`.
            Some(b'!' | b'?' | b'/') => {
                return after.find('>').map_or("", |end| &after[end + 1..]);
            }
            _ => {
                self.out.push_str("&lt;");
                return after;
            }
        };
        let end = if self.no_tag_end {
            None
        } else {
            html.find('>')
        };
        let Some(end) = end else {
            // A tag that never ends: show it as text rather than lose the rest.
            self.no_tag_end = true;
            self.out.push_str("&lt;");
            return after;
        };
        let tag = &html[..=end];
        let name_len = name_from
            .find(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>')
            .unwrap_or(name_from.len());
        let name = name_from[..name_len].to_ascii_lowercase();
        if is_end {
            self.end_tag(&name);
        } else {
            self.start_tag(&name, tag);
        }
        &html[end + 1..]
    }

    fn start_tag(&mut self, name: &str, tag: &str) {
        if VOID.contains(&name) {
            push_start_tag(&mut self.out, tag);
            return;
        }
        let siblings: Option<(&[&str], &[&str])> = match name {
            "li" => Some((&["li"], &["ol", "ul", "menu"])),
            "dt" | "dd" => Some((&["dt", "dd"], &["dl"])),
            "tr" => Some((&["tr"], &["table"])),
            "td" | "th" => Some((&["td", "th"], &["tr", "table"])),
            "thead" | "tbody" | "tfoot" => Some((&["thead", "tbody", "tfoot"], &["table"])),
            "option" => Some((&["option"], &["select", "datalist"])),
            "a" | "nobr" | "button" | "form" => Some((&[name], &[])),
            _ => None,
        };
        if let Some((names, scope)) = siblings {
            if let Some(index) = self.find(names, scope) {
                self.close_from(index);
            }
        }
        if CLOSES_P.contains(&name) {
            if let Some(index) = self.find(&["p"], P_SCOPE) {
                self.close_from(index);
            }
        }
        if self.open.len() < self.max_depth {
            push_start_tag(&mut self.out, tag);
            self.open.push(name.to_string());
        }
    }

    fn end_tag(&mut self, name: &str) {
        if let Some(index) = self.open.iter().rposition(|open| open == name) {
            self.close_from(index);
        }
    }

    /// The innermost open element named one of `names`, not looking past `scope`.
    fn find(&self, names: &[&str], scope: &[&str]) -> Option<usize> {
        for (index, open) in self.open.iter().enumerate().rev() {
            if names.contains(&open.as_str()) {
                return Some(index);
            }
            if scope.contains(&open.as_str()) {
                return None;
            }
        }
        None
    }

    /// Closes the open elements from `index` up, innermost first.
    fn close_from(&mut self, index: usize) {
        while self.open.len() > index {
            if let Some(name) = self.open.pop() {
                self.out.push_str("</");
                self.out.push_str(&name);
                self.out.push('>');
            }
        }
    }
}

/// At most this many attributes of a tag are kept (HTML's check for repeated
/// attribute names is quadratic in their number).
const MAX_ATTRIBUTES: usize = 16;

/// Writes a start tag, cut after [`MAX_ATTRIBUTES`] attributes. Attributes are
/// read as HTML does: a name, then optionally `=` and a quoted or bare value.
fn push_start_tag(out: &mut String, tag: &str) {
    let bytes = tag.as_bytes();
    let mut at = 1;
    // The name.
    while at < bytes.len()
        && !matches!(
            bytes[at],
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'/' | b'>'
        )
    {
        at += 1;
    }
    let mut count = 0;
    loop {
        while at < bytes.len() && matches!(bytes[at], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'/')
        {
            at += 1;
        }
        if at >= bytes.len() || bytes[at] == b'>' {
            out.push_str(tag);
            return;
        }
        if count == MAX_ATTRIBUTES {
            out.push_str(&tag[..at]);
            out.push('>');
            return;
        }
        count += 1;
        // A name, up to whitespace, `=`, `/` or `>`.
        at += 1;
        while at < bytes.len()
            && !matches!(
                bytes[at],
                b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'/' | b'>' | b'='
            )
        {
            at += 1;
        }
        if at < bytes.len() && bytes[at] == b'=' {
            at += 1;
            match bytes.get(at) {
                Some(quote @ (b'"' | b'\'')) => {
                    at += 1;
                    while at < bytes.len() && bytes[at] != *quote {
                        at += 1;
                    }
                    at += 1;
                }
                _ => {
                    while at < bytes.len()
                        && !matches!(bytes[at], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'>')
                    {
                        at += 1;
                    }
                }
            }
        }
    }
}

/// Skips a comment (after its `<!--`) as HTML reads it: `<!-->` and `<!--->` end at
/// once; otherwise it ends at `-->` or `--!>`, or with the document.
fn skip_comment(body: &str) -> &str {
    if let Some(rest) = body.strip_prefix('>').or_else(|| body.strip_prefix("->")) {
        return rest;
    }
    // One scan for whichever end comes first (two searches to the end of the
    // document for every comment would be quadratic).
    let mut from = 0;
    while let Some(at) = body[from..].find("--") {
        let dashes = from + at;
        let after = &body[dashes + 2..];
        if let Some(rest) = after.strip_prefix('>').or_else(|| after.strip_prefix("!>")) {
            return rest;
        }
        from = dashes + 1;
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::markdown::MAX_NESTING;

    #[test]
    fn html_is_nested_properly_and_at_most_so_deep() {
        assert_eq!(
            shape("<p><b>x<div>y</p></i>z", 8),
            "<p><b>x</b></p><div>yz</div>"
        );
        assert_eq!(
            shape("<ul><li>a<li>b</ul>", 8),
            "<ul><li>a</li><li>b</li></ul>"
        );
        assert_eq!(shape("a < b <!-- <div> --> c <br>", 8), "a &lt; b  c <br>");
        assert_eq!(shape("<i>x<!-->y", 8), "<i>xy</i>");
        let deep = "<div>".repeat(100) + "text";
        let shaped = shape(&deep, MAX_NESTING);
        assert_eq!(shaped.matches("<div>").count(), MAX_NESTING);
        assert_eq!(shaped.matches("</div>").count(), MAX_NESTING);
        assert!(shaped.contains("text"));
    }
}
