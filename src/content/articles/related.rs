//! "Read also": the published articles most related to one, by the tags they share
//! (rarer tags count more) and the words of its title.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::read::assemble;
use super::types::*;
use crate::content::article_access::{key_matches, not_found, visible_to, ArticleKey, ArticleRow};
use crate::db::schema::articles;
use crate::error::AppResult;

/// Most related articles asked for at once.
pub const MAX_RELATED: i64 = 20;
/// Related articles given when the client names no number.
pub const DEFAULT_RELATED: i64 = 5;

#[derive(QueryableByName)]
struct RelatedId {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// The score of each other published article (live now, not trashed, not a copy
/// of pending changes) that shares a tag with the article or matches a word of
/// its title:
///
/// - for each shared tag, 1 / ln(1 + n), n the published articles carrying it (a
///   tag on two articles adds 0.91, one on a hundred 0.22);
/// - plus `ts_rank` (weights as in search) of its search document against the
///   article's title words, OR-ed, parsed in the article's language (ranked among
///   the newest 1,000 articles sharing a title word, so that a common word costs
///   a bounded amount).
///
/// Best first, then newest, then by id: the same data gives the same list.
const RELATED_SQL: &str = "\
WITH tag_weight AS (
    SELECT t.tag_id, 1.0 / ln(1 + count(*)) AS weight
    FROM article_tags t JOIN articles a ON a.id = t.article_id
    WHERE t.tag_id IN (SELECT tag_id FROM article_tags WHERE article_id = $1)
      AND a.trashed_at IS NULL AND a.pending_for IS NULL
      AND a.status = 'published' AND a.published_at <= now()
    GROUP BY t.tag_id),
by_tags AS (
    SELECT t.article_id AS id, sum(w.weight) AS score
    FROM article_tags t JOIN tag_weight w ON w.tag_id = t.tag_id
    WHERE t.article_id <> $1
    GROUP BY t.article_id),
title_words AS (
    SELECT replace(replace(
        plainto_tsquery(article_search_config(a.language), a.title)::text,
        ' & ', ' | '), ' <-> ', ' | ')::tsquery AS query
    FROM articles a WHERE a.id = $1),
title_matches AS (
    SELECT a.id, a.search_document
    FROM articles a CROSS JOIN title_words w
    WHERE a.search_document @@ w.query AND a.id <> $1
      AND a.trashed_at IS NULL AND a.pending_for IS NULL
      AND a.status = 'published' AND a.published_at <= now()
    ORDER BY a.published_at DESC, a.id DESC
    LIMIT 1000),
by_title AS (
    SELECT m.id, ts_rank('{0.1, 0.2, 0.4, 1.0}', m.search_document, w.query) AS score
    FROM title_matches m CROSS JOIN title_words w),
candidates AS (SELECT id FROM by_tags UNION SELECT id FROM by_title)
SELECT a.id
FROM candidates c
JOIN articles a ON a.id = c.id
LEFT JOIN by_tags t ON t.id = a.id
LEFT JOIN by_title x ON x.id = a.id
WHERE a.trashed_at IS NULL AND a.pending_for IS NULL
  AND a.status = 'published' AND a.published_at <= now()
ORDER BY coalesce(t.score, 0) + coalesce(x.score, 0) DESC, a.published_at DESC, a.id DESC
LIMIT $2";

/// The published articles related to the one `key` names (which `audience`
/// must be able to see), best first; at most `limit`, summaries with their tags.
pub async fn related(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    audience: super::Audience,
    limit: i64,
) -> AppResult<Vec<Article>> {
    let id: Uuid = articles::table
        .filter(key_matches(key))
        .filter(visible_to(audience))
        .select(articles::id)
        .first(conn)
        .await
        .optional()?
        .ok_or_else(not_found)?;
    let ranked: Vec<Uuid> = diesel::sql_query(RELATED_SQL)
        .bind::<SqlUuid, _>(id)
        .bind::<BigInt, _>(limit)
        .load::<RelatedId>(conn)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let mut rows: Vec<ArticleRow> = articles::table
        .filter(articles::id.eq_any(&ranked))
        .select(ArticleRow::as_select())
        .load(conn)
        .await?;
    rows.sort_by_key(|row| ranked.iter().position(|id| *id == row.id));
    assemble(conn, rows, Include::default(), audience).await
}
