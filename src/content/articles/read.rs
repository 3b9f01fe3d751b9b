//! Reading articles: one whole, or a page of a list, with their parts loaded for
//! all rows at once.

use std::collections::HashMap;

use chrono::Utc;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Float4, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::body::{self, Unknown};
use super::search;
use super::seo::{PageMeta, SeoFields};
use super::teaser;
use super::types::*;
use crate::content::article_access::{
    key_matches, not_found, visible_to, ArticleKey, ArticleRow, Audience,
};
use crate::content::article_status::StoredStatus;
use crate::content::media::ImageRef;
use crate::content::pagination::{into_page, PageRequest};
use crate::content::{article_tags, citations, key_points, markdown, translations};
use crate::db::schema::{
    article_authors as article_authors_table, article_tags as article_tags_table, articles,
    authors, sections, tags,
};
use crate::error::{AppError, AppResult};
use serde::Deserialize;

/// One article with the parts asked for.
pub async fn find(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    include: Include,
    audience: Audience,
) -> AppResult<Article> {
    let row = articles::table
        .filter(key_matches(key))
        .filter(visible_to(audience))
        .select(ArticleRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(not_found)?;
    let mut articles = assemble(conn, vec![row], include, audience).await?;
    articles.pop().ok_or_else(not_found)
}

/// The articles among `ids` that `audience` may see, with the parts asked for, in
/// no particular order (a fixed number of queries, whatever their number).
pub async fn find_many(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    include: Include,
    audience: Audience,
) -> AppResult<Vec<Article>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = articles::table
        .filter(articles::id.eq_any(ids))
        .filter(visible_to(audience))
        .select(ArticleRow::as_select())
        .load(conn)
        .await?;
    assemble(conn, rows, include, audience).await
}

/// The bytes of each article's body and rendered body, by id (one query): what
/// carrying it whole costs.
pub async fn body_sizes(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, i64>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sizes: Vec<(Uuid, Option<i32>, Option<i32>)> = articles::table
        .filter(articles::id.eq_any(ids))
        .select((
            articles::id,
            diesel::dsl::sql::<Nullable<diesel::sql_types::Integer>>("octet_length(body)"),
            diesel::dsl::sql::<Nullable<diesel::sql_types::Integer>>("octet_length(body_html)"),
        ))
        .load(conn)
        .await?;
    Ok(sizes
        .into_iter()
        .map(|(id, body, html)| {
            (
                id,
                i64::from(body.unwrap_or(0)) + i64::from(html.unwrap_or(0)),
            )
        })
        .collect())
}

/// Turns rows into representations, loading each kind of part for all rows at once:
/// a fixed number of queries whatever the number of rows or parts. The tokens
/// that wrote an article are named to editors only.
pub(super) async fn assemble(
    conn: &mut AsyncPgConnection,
    rows: Vec<ArticleRow>,
    include: Include,
    audience: Audience,
) -> AppResult<Vec<Article>> {
    let editors = audience == Audience::Editors;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut tags = article_tags::load(conn, &ids).await?;
    let mut lists = if include.key_point_lists {
        key_points::load(conn, &ids).await?
    } else {
        HashMap::new()
    };
    let mut cites = if include.citations {
        citations::load(conn, &ids).await?
    } else {
        HashMap::new()
    };
    let mut html = if include.body_html {
        bodies_html(conn, &rows).await?
    } else {
        HashMap::new()
    };
    let now = Utc::now();
    Ok(rows
        .into_iter()
        .map(|row| (word_count(&row), row))
        .map(|(words, mut row)| {
            let seo = SeoFields::deserialize(&row.seo).unwrap_or_default();
            let lead_image = row.lead_image.take().and_then(ImageRef::from_stored);
            let meta = PageMeta::of(&row.title, &seo, |chars| excerpt(&row, chars))
                .or_image(lead_image.as_ref());
            let body_media = (include.body || include.body_html).then(|| {
                let stored: Vec<serde_json::Value> =
                    serde_json::from_value(row.body_media.take()).unwrap_or_default();
                stored
                    .into_iter()
                    .filter_map(ImageRef::from_stored)
                    .collect()
            });
            (words, seo, meta, lead_image, body_media, row)
        })
        .map(|(words, seo, meta, lead_image, body_media, row)| Article {
            id: row.id,
            status: row.status_at(now),
            excerpt: excerpt(&row, include.excerpt_chars),
            word_count: words,
            reading_time_minutes: teaser::reading_time_minutes(words),
            body_html: html.remove(&row.id),
            body: include.body.then_some(row.body),
            body_media,
            slug: row.slug,
            title: row.title,
            standfirst: row.standfirst,
            language: row.language,
            published_at: row.published_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
            created_by: row.created_by.filter(|_| editors),
            updated_by: row.updated_by.filter(|_| editors),
            section: row
                .section
                .and_then(|section| serde_json::from_value(section).ok()),
            authors: serde_json::from_value(row.authors).unwrap_or_default(),
            lead_image,
            meta,
            seo,
            translations: translations::visible(&row.translations, (!editors).then_some(now)),
            tags: tags.remove(&row.id).unwrap_or_default(),
            key_point_lists: include
                .key_point_lists
                .then(|| lists.remove(&row.id).unwrap_or_default()),
            citations: include
                .citations
                .then(|| cites.remove(&row.id).unwrap_or_default()),
            snippet: None,
        })
        .collect())
}

/// A row's excerpt, from the lead kept when its body was written (or worked out
/// now for rows written before leads were kept).
fn excerpt(row: &ArticleRow, max_chars: u16) -> String {
    let standfirst = row.standfirst.as_deref();
    match &row.lead_text {
        Some(lead) => teaser::excerpt(standfirst, lead, max_chars),
        None if standfirst.is_some() => teaser::excerpt(standfirst, "", max_chars),
        None => markdown::excerpt(&row.body, usize::from(max_chars)),
    }
}

/// The words of a row's body, as kept when written (or counted now for rows
/// written before counts were kept).
fn word_count(row: &ArticleRow) -> i32 {
    match row.word_count {
        Some(words) => words,
        None => i32::try_from(markdown::word_count(&row.body)).unwrap_or(i32::MAX),
    }
}

/// The rendered bodies of `rows`, as stored when each body was written (one query;
/// only asked for with `include=body_html`, so lists do not carry them otherwise).
/// Rows written before bodies were stored rendered are rendered now, once.
pub(super) async fn bodies_html(
    conn: &mut AsyncPgConnection,
    rows: &[ArticleRow],
) -> AppResult<HashMap<Uuid, String>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let stored: Vec<(Uuid, Option<String>)> = articles::table
        .filter(articles::id.eq_any(&ids))
        .select((articles::id, articles::body_html))
        .load(conn)
        .await?;
    let mut html = HashMap::with_capacity(rows.len());
    for (id, body_html) in stored {
        let body_html = match body_html {
            Some(body_html) => body_html,
            None => match rows.iter().find(|r| r.id == id) {
                // Written before bodies were stored rendered: rendered once, now,
                // and kept (unless the body changed meanwhile).
                Some(row) => {
                    let rendered = body::render(conn, &row.body, Unknown::LeftOut).await?;
                    diesel::update(
                        articles::table
                            .filter(articles::id.eq(id))
                            .filter(articles::body_html.is_null())
                            .filter(articles::version.eq(row.version)),
                    )
                    .set((
                        articles::body_html.eq(&rendered.html),
                        articles::lead_text.eq(&rendered.lead),
                        articles::word_count.eq(rendered.word_count),
                    ))
                    .execute(conn)
                    .await?;
                    rendered.html
                }
                None => continue,
            },
        };
        html.insert(id, body_html);
    }
    Ok(html)
}

/// The articles `filter` lets through, in no order, selecting nothing yet: shared by
/// a page and its count.
fn filtered(filter: &ArticleFilter) -> articles::BoxedQuery<'static, Pg> {
    let now = Utc::now();
    let mut query = articles::table
        .filter(visible_to(filter.audience))
        .into_boxed();
    if let Some(q) = filter.search.as_deref() {
        query = query.filter(search::matches(q));
    }
    if let Some(language) = &filter.language {
        query = query.filter(
            articles::language
                .eq(language.clone())
                .or(articles::language.like(format!("{language}-%"))),
        );
    }
    query = match filter.status {
        None => query,
        Some(Status::Draft) => query.filter(articles::status.eq(StoredStatus::Draft)),
        Some(Status::Archived) => query.filter(articles::status.eq(StoredStatus::Archived)),
        Some(Status::Published) => query
            .filter(articles::status.eq(StoredStatus::Published))
            .filter(articles::published_at.le(now)),
        Some(Status::Scheduled) => query
            .filter(articles::status.eq(StoredStatus::Published))
            .filter(articles::published_at.gt(now)),
    };
    let tagged_with = |slugs: &[String]| {
        article_tags_table::table
            .inner_join(tags::table)
            .filter(tags::slug.eq_any(slugs.to_vec()))
            .select(article_tags_table::article_id)
    };
    for group in &filter.section_groups {
        let in_sections = sections::table
            .filter(sections::slug.eq_any(group.clone()))
            .select(sections::id)
            .nullable();
        query = query.filter(articles::section_id.eq_any(in_sections));
    }
    for group in &filter.author_groups {
        let by_them = article_authors_table::table
            .inner_join(authors::table)
            .filter(authors::slug.eq_any(group.clone()))
            .select(article_authors_table::article_id);
        query = query.filter(articles::id.eq_any(by_them));
    }
    for group in &filter.tag_groups {
        query = query.filter(articles::id.eq_any(tagged_with(group)));
    }
    if !filter.tags_none.is_empty() {
        query = query.filter(diesel::dsl::not(
            articles::id.eq_any(tagged_with(&filter.tags_none)),
        ));
    }
    let (mut ids, mut slugs) = (Vec::new(), Vec::new());
    for key in &filter.exclude {
        match key {
            ArticleKey::Id(id) => ids.push(*id),
            ArticleKey::Slug(slug) => slugs.push(slug.as_str().to_string()),
        }
    }
    if !ids.is_empty() {
        query = query.filter(articles::id.ne_all(ids));
    }
    if !slugs.is_empty() {
        query = query.filter(articles::slug.ne_all(slugs));
    }
    if let Some(after) = filter.published_after {
        query = query.filter(articles::published_at.gt(after));
    }
    if let Some(before) = filter.published_before {
        query = query.filter(articles::published_at.lt(before));
    }
    query
}

/// How many articles `filter` lets through (`count=exact`): one count over the
/// same filters as the list, under the statement timeout like any query.
pub async fn count(conn: &mut AsyncPgConnection, filter: &ArticleFilter) -> AppResult<i64> {
    Ok(filtered(filter).count().get_result(conn).await?)
}

/// The SQL type of a page's rows: the article, its relevance, its snippet.
type PageRow = (
    diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<ArticleRow, Pg>>,
    Nullable<Float4>,
    Nullable<Text>,
);

/// The query of one page of articles: filtered, sorted, after the cursor.
fn page_query(
    filter: &ArticleFilter,
    sort: Sort,
    page: &PageRequest<ArticleCursor>,
) -> AppResult<articles::BoxedQuery<'static, Pg, PageRow>> {
    let search = filter.search.as_deref();
    let (rank, snippet) = match search {
        Some(q) => (search::rank(q), search::snippet(q)),
        None => (search::no_rank(), search::no_snippet()),
    };
    let query = filtered(filter)
        .select((ArticleRow::as_select(), rank, snippet))
        .limit(page.limit + 1);
    let mismatch =
        || AppError::InvalidParameter("cursor belongs to a list with another sort".into());
    Ok(match (sort.key, sort.descending) {
        (SortKey::PublishedAt, true) => {
            let query = query.order((
                articles::published_at.desc().nulls_last(),
                articles::id.desc(),
            ));
            match &page.after {
                None => query,
                Some(ArticleCursor::P(Some(at), id)) => query.filter(
                    articles::published_at
                        .lt(*at)
                        .or(articles::published_at.eq(*at).and(articles::id.lt(*id)))
                        .or(articles::published_at.is_null()),
                ),
                Some(ArticleCursor::P(None, id)) => query
                    .filter(articles::published_at.is_null())
                    .filter(articles::id.lt(*id)),
                Some(_) => return Err(mismatch()),
            }
        }
        (SortKey::PublishedAt, false) => {
            let query = query.order((
                articles::published_at.asc().nulls_last(),
                articles::id.asc(),
            ));
            match &page.after {
                None => query,
                Some(ArticleCursor::PA(Some(at), id)) => query.filter(
                    articles::published_at
                        .gt(*at)
                        .or(articles::published_at.eq(*at).and(articles::id.gt(*id)))
                        .or(articles::published_at.is_null()),
                ),
                Some(ArticleCursor::PA(None, id)) => query
                    .filter(articles::published_at.is_null())
                    .filter(articles::id.gt(*id)),
                Some(_) => return Err(mismatch()),
            }
        }
        (SortKey::UpdatedAt, true) => {
            let query = query.order((articles::updated_at.desc(), articles::id.desc()));
            match &page.after {
                None => query,
                Some(ArticleCursor::U(at, id)) => query.filter(
                    articles::updated_at
                        .lt(*at)
                        .or(articles::updated_at.eq(*at).and(articles::id.lt(*id))),
                ),
                Some(_) => return Err(mismatch()),
            }
        }
        (SortKey::UpdatedAt, false) => {
            let query = query.order((articles::updated_at.asc(), articles::id.asc()));
            match &page.after {
                None => query,
                Some(ArticleCursor::UA(at, id)) => query.filter(
                    articles::updated_at
                        .gt(*at)
                        .or(articles::updated_at.eq(*at).and(articles::id.gt(*id))),
                ),
                Some(_) => return Err(mismatch()),
            }
        }
        (SortKey::Title, false) => {
            let query = query.order((articles::title.asc(), articles::id.asc()));
            match &page.after {
                None => query,
                Some(ArticleCursor::T(title, id)) => query.filter(
                    articles::title
                        .gt(title.clone())
                        .or(articles::title.eq(title.clone()).and(articles::id.gt(*id))),
                ),
                Some(_) => return Err(mismatch()),
            }
        }
        (SortKey::Title, true) => {
            let query = query.order((articles::title.desc(), articles::id.desc()));
            match &page.after {
                None => query,
                Some(ArticleCursor::TD(title, id)) => query.filter(
                    articles::title
                        .lt(title.clone())
                        .or(articles::title.eq(title.clone()).and(articles::id.lt(*id))),
                ),
                Some(_) => return Err(mismatch()),
            }
        }
        (SortKey::Relevance, _) => {
            let Some(q) = search else {
                return Err(AppError::InvalidParameter(
                    "sort=relevance needs a search: give q".into(),
                ));
            };
            let query = query.order((search::rank_order(q), articles::id.desc()));
            match &page.after {
                None => query,
                Some(ArticleCursor::R(rank, id)) => query.filter(search::after(q, *rank, *id)),
                Some(_) => return Err(mismatch()),
            }
        }
    })
}

/// How PostgreSQL runs the query of a page (`EXPLAIN`, without costs), binds and
/// all: what the test that a search uses its index at scale reads.
pub async fn explain_list(
    conn: &mut AsyncPgConnection,
    filter: &ArticleFilter,
    sort: Sort,
    page: &PageRequest<ArticleCursor>,
) -> AppResult<Vec<String>> {
    Ok(Explain(page_query(filter, sort, page)?).load(conn).await?)
}

/// One page of articles. With a search (`filter.search`), only the articles it
/// finds, each with its snippet, by relevance unless `sort` says otherwise; the
/// page is still one query (plus the tags').
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &ArticleFilter,
    sort: Sort,
    include: Include,
    page: &PageRequest<ArticleCursor>,
) -> AppResult<(Vec<Article>, Option<String>)> {
    let query = page_query(filter, sort, page)?;
    let rows: Vec<(ArticleRow, Option<f32>, Option<String>)> = query.load(conn).await?;
    let (rows, next) = into_page(rows, page.limit, |(row, rank, _)| {
        match (sort.key, sort.descending) {
            (SortKey::PublishedAt, true) => ArticleCursor::P(row.published_at, row.id),
            (SortKey::PublishedAt, false) => ArticleCursor::PA(row.published_at, row.id),
            (SortKey::UpdatedAt, true) => ArticleCursor::U(row.updated_at, row.id),
            (SortKey::UpdatedAt, false) => ArticleCursor::UA(row.updated_at, row.id),
            (SortKey::Title, false) => ArticleCursor::T(row.title.clone(), row.id),
            (SortKey::Title, true) => ArticleCursor::TD(row.title.clone(), row.id),
            (SortKey::Relevance, _) => ArticleCursor::R(rank.unwrap_or_default(), row.id),
        }
    });
    let mut snippets = HashMap::with_capacity(rows.len());
    let rows = rows
        .into_iter()
        .map(|(row, _, snippet)| {
            if let Some(snippet) = snippet {
                snippets.insert(row.id, search::marked_up(&snippet));
            }
            row
        })
        .collect();
    let mut articles = assemble(conn, rows, include, filter.audience).await?;
    for article in &mut articles {
        article.snippet = snippets.remove(&article.id);
    }
    Ok((articles, next))
}

/// `EXPLAIN (COSTS OFF)` of a query, binds and all: one line of the plan per row.
struct Explain<Q>(Q);

impl<Q> QueryId for Explain<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Query for Explain<Q> {
    type SqlType = Text;
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Explain<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("EXPLAIN (COSTS OFF) ");
        self.0.walk_ast(out.reborrow())
    }
}
