//! What a teaser shows of an article: an excerpt (the standfirst, or the body's
//! first paragraph as plain text, cut at a word boundary) and its reading time.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::seo::PageMeta;
use super::types::Article;
use crate::content::markdown;
use crate::db::schema::articles;
use crate::error::AppResult;

/// Excerpt length when a request names none, in characters.
pub const DEFAULT_EXCERPT_CHARS: u16 = 200;

/// The longest excerpt a request may ask for: the lead kept of each body.
pub const MAX_EXCERPT_CHARS: u16 = markdown::LEAD_CHARS as u16;

/// The reading speed behind `reading_time_minutes` (an adult's silent reading of
/// news prose, as commonly assumed).
pub const WORDS_PER_MINUTE: i32 = 230;

/// The excerpt of an article: its standfirst when it has one, else `lead` (the
/// body's first paragraph as plain text), at most `max_chars` characters, cut at a
/// word boundary with an ellipsis when cut.
pub fn excerpt(standfirst: Option<&str>, lead: &str, max_chars: u16) -> String {
    let text = match standfirst.map(str::trim).filter(|s| !s.is_empty()) {
        Some(standfirst) => standfirst.split_whitespace().collect::<Vec<_>>().join(" "),
        None => lead.to_string(),
    };
    markdown::cut_at_word(&text, usize::from(max_chars))
}

/// Whole minutes to read `word_count` words, rounded up; 0 for no words.
pub fn reading_time_minutes(word_count: i32) -> i32 {
    let words = word_count.max(0);
    words / WORDS_PER_MINUTE + i32::from(words % WORDS_PER_MINUTE != 0)
}

/// Keeps the lead and word count of up to `batch` articles written before they
/// were kept (reads work them out meanwhile, at a cost); how many it found. Each is
/// parsed off the async workers and stored only if the article did not change
/// meanwhile, so replicas doing this at once agree.
pub async fn backfill(conn: &mut AsyncPgConnection, batch: i64) -> AppResult<usize> {
    let rows: Vec<(Uuid, i32, String)> = articles::table
        .filter(
            articles::lead_text
                .is_null()
                .or(articles::word_count.is_null()),
        )
        .select((articles::id, articles::version, articles::body))
        .order(articles::id)
        .limit(batch)
        .load(conn)
        .await?;
    for (id, version, body) in &rows {
        let (lead, words) = markdown::teaser_off_thread(body).await?;
        diesel::update(
            articles::table
                .filter(articles::id.eq(id))
                .filter(articles::version.eq(version)),
        )
        .set((articles::lead_text.eq(lead), articles::word_count.eq(words)))
        .execute(conn)
        .await?;
    }
    Ok(rows.len())
}

/// Works out an article's teaser fields from its body, as a read of the article
/// shows them: for articles recorded without them (revisions).
pub(super) fn derive_from_body(article: &mut Article) {
    let body = article.body.as_deref().unwrap_or_default();
    let lead = markdown::excerpt(body, markdown::LEAD_CHARS);
    article.excerpt = excerpt(article.standfirst.as_deref(), &lead, DEFAULT_EXCERPT_CHARS);
    article.meta = PageMeta::of(&article.title, &article.seo, |chars| {
        excerpt(article.standfirst.as_deref(), &lead, chars)
    })
    .or_image(article.lead_image.as_ref());
    article.word_count = i32::try_from(markdown::word_count(body)).unwrap_or(i32::MAX);
    article.reading_time_minutes = reading_time_minutes(article.word_count);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standfirst_is_the_excerpt_when_there_is_one() {
        assert_eq!(
            excerpt(Some("  Short\n summary. "), "Lead.", 200),
            "Short summary."
        );
        assert_eq!(excerpt(Some(" "), "Lead.", 200), "Lead.");
        assert_eq!(excerpt(None, "One two three four", 12), "One two…");
    }

    #[test]
    fn reading_time_rounds_up() {
        assert_eq!(reading_time_minutes(0), 0);
        assert_eq!(reading_time_minutes(1), 1);
        assert_eq!(reading_time_minutes(230), 1);
        assert_eq!(reading_time_minutes(231), 2);
    }
}
