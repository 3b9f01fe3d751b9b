//! Full-text search over articles, as pieces of the list query: which articles a
//! query finds, their relevance, and a snippet of each.
//!
//! Each article is indexed with the text-search configuration of its language
//! (`article_search_config`), so a query is parsed for each article with that same
//! configuration (`article_search_query(articles.language, q)`): `running` finds an
//! English article saying `runs`, and a Mongolian one only with the word as
//! written. That query depends on the row, so the GIN index is reached through the
//! query parsed with every configuration and OR-ed (`article_search_query_any`), a
//! constant that every match also matches; each candidate is then checked with its
//! own.
//!
//! Relevance is `ts_rank` with the weights title 1.0, standfirst and key points
//! 0.4, citation titles 0.2, body 0.1: one occurrence of a word in the title
//! outranks any number of it in the body (repeated occurrences add less and less,
//! at most about 1.6 times the first).

use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Float4, Nullable, Text};
use uuid::Uuid;

use crate::db::schema::articles;
use crate::error::{AppError, AppResult};

/// The longest query taken, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

/// How much of a body a snippet is looked for in (the standfirst, then this many
/// characters of the body): a snippet costs time in proportion.
const SNIPPET_BODY_CHARS: usize = 20_000;

/// Marks around the words found, as the database writes them (private-use
/// characters; any in the text itself are dropped from snippets).
const START: char = '\u{E000}';
const STOP: char = '\u{E001}';

type Expr<ST> = Box<dyn BoxableExpression<articles::table, Pg, SqlType = ST>>;

/// A query as given (`q`): `None` when empty; refused (400) when too long or
/// holding a control character.
pub fn parse_query(q: Option<&str>) -> AppResult<Option<String>> {
    let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::InvalidParameter(format!(
            "q: at most {MAX_QUERY_CHARS} characters"
        )));
    }
    if q.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(AppError::InvalidParameter(
            "q: may not hold control characters".into(),
        ));
    }
    Ok(Some(q.to_string()))
}

/// The articles `q` finds.
pub(super) fn matches(q: &str) -> Expr<Bool> {
    Box::new(
        sql::<Bool>("(articles.search_document @@ article_search_query_any(")
            .bind::<Text, _>(q.to_string())
            .sql(") AND articles.search_document @@ article_search_query(articles.language, ")
            .bind::<Text, _>(q.to_string())
            .sql("))"),
    )
}

fn rank_sql(q: &str) -> Expr<Float4> {
    Box::new(
        sql::<Float4>(
            "ts_rank('{0.1, 0.2, 0.4, 1.0}', articles.search_document, \
             article_search_query(articles.language, ",
        )
        .bind::<Text, _>(q.to_string())
        .sql("))"),
    )
}

/// The relevance of each article found.
pub(super) fn rank(q: &str) -> Expr<Nullable<Float4>> {
    Box::new(
        sql::<Nullable<Float4>>(
            "ts_rank('{0.1, 0.2, 0.4, 1.0}', articles.search_document, \
             article_search_query(articles.language, ",
        )
        .bind::<Text, _>(q.to_string())
        .sql("))"),
    )
}

/// No relevance: a list without a search.
pub(super) fn no_rank() -> Expr<Nullable<Float4>> {
    Box::new(sql::<Nullable<Float4>>("NULL::real"))
}

/// Best match first (ties: the id, newest first, as the cursor says).
pub(super) fn rank_order(q: &str) -> diesel::helper_types::Desc<Expr<Float4>> {
    rank_sql(q).desc()
}

/// The articles after `(rank, id)` in relevance order.
pub(super) fn after(q: &str, rank: f32, id: Uuid) -> Expr<Bool> {
    Box::new(
        rank_sql(q)
            .lt(rank)
            .or(rank_sql(q).eq(rank).and(articles::id.lt(id))),
    )
}

/// Where each article found matches: the standfirst and the start of the body,
/// words found between `START` and `STOP`.
pub(super) fn snippet(q: &str) -> Expr<Nullable<Text>> {
    Box::new(
        sql::<Nullable<Text>>(
            "ts_headline(article_search_config(articles.language), \
             concat_ws(E'\\n', articles.standfirst, left(articles.body, ",
        )
        .sql(&SNIPPET_BODY_CHARS.to_string())
        .sql(")), article_search_query(articles.language, ")
        .bind::<Text, _>(q.to_string())
        .sql("), ")
        .bind::<Text, _>(format!(
            "StartSel=\"{START}\", StopSel=\"{STOP}\", MaxWords=35, MinWords=15, \
             MaxFragments=2, FragmentDelimiter=\" … \""
        ))
        .sql(")"),
    )
}

/// No snippet: a list without a search.
pub(super) fn no_snippet() -> Expr<Nullable<Text>> {
    Box::new(sql::<Nullable<Text>>("NULL::text"))
}

/// A snippet as served: the text HTML-escaped, its only markup `<mark>` around
/// the words found (balanced, whatever the text held).
pub(super) fn marked_up(snippet: &str) -> String {
    let mut out = String::with_capacity(snippet.len() + 32);
    let mut open = false;
    for c in snippet.chars() {
        match c {
            START if !open => {
                out.push_str("<mark>");
                open = true;
            }
            STOP if open => {
                out.push_str("</mark>");
                open = false;
            }
            START | STOP => {}
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    if open {
        out.push_str("</mark>");
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_are_escaped_and_marked() {
        let raw = format!("a <b>&\"x\" {START}Seoul{STOP} {STOP}y{START}z");
        assert_eq!(
            marked_up(&raw),
            "a &lt;b&gt;&amp;&quot;x&quot; <mark>Seoul</mark> y<mark>z</mark>"
        );
    }

    #[test]
    fn queries_are_checked() {
        assert_eq!(parse_query(Some("  ")).ok(), Some(None));
        assert!(parse_query(Some("a\0b")).is_err());
        assert!(parse_query(Some(&"x".repeat(201))).is_err());
        assert!(parse_query(Some(&"ж".repeat(200))).is_ok());
    }
}
