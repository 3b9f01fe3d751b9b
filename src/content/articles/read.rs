//! Reading articles: one whole, or a page of a list, with their parts loaded for
//! all rows at once.

use std::collections::HashMap;

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::search;
use super::types::*;
use crate::content::article_access::{
    key_matches, not_found, visible_to, ArticleKey, ArticleRow, Audience,
};
use crate::content::article_status::StoredStatus;
use crate::content::pagination::{into_page, PageRequest};
use crate::content::{article_tags, citations, key_points, markdown};
use crate::db::schema::{article_tags as article_tags_table, articles, tags};
use crate::error::{AppError, AppResult};

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
    let mut articles = assemble(conn, vec![row], include).await?;
    articles.pop().ok_or_else(not_found)
}

/// Turns rows into representations, loading each kind of part for all rows at once:
/// a fixed number of queries whatever the number of rows or parts.
pub(super) async fn assemble(
    conn: &mut AsyncPgConnection,
    rows: Vec<ArticleRow>,
    include: Include,
) -> AppResult<Vec<Article>> {
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
        .map(|row| Article {
            id: row.id,
            status: row.status_at(now),
            body_html: html.remove(&row.id),
            body: include.body.then_some(row.body),
            slug: row.slug,
            title: row.title,
            standfirst: row.standfirst,
            language: row.language,
            published_at: row.published_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
            created_by: row.created_by,
            updated_by: row.updated_by,
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
                    let body_html = markdown::render_off_thread(&row.body).await?;
                    diesel::update(
                        articles::table
                            .filter(articles::id.eq(id))
                            .filter(articles::body_html.is_null())
                            .filter(articles::version.eq(row.version)),
                    )
                    .set(articles::body_html.eq(&body_html))
                    .execute(conn)
                    .await?;
                    body_html
                }
                None => continue,
            },
        };
        html.insert(id, body_html);
    }
    Ok(html)
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
    let now = Utc::now();
    let search = filter.search.as_deref();
    let (rank, snippet) = match search {
        Some(q) => (search::rank(q), search::snippet(q)),
        None => (search::no_rank(), search::no_snippet()),
    };
    let mut query = articles::table
        .select((ArticleRow::as_select(), rank, snippet))
        .filter(visible_to(filter.audience))
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(q) = search {
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
    for group in &filter.tag_groups {
        let tagged = article_tags_table::table
            .inner_join(tags::table)
            .filter(tags::slug.eq_any(group.clone()))
            .select(article_tags_table::article_id);
        query = query.filter(articles::id.eq_any(tagged));
    }
    if let Some(after) = filter.published_after {
        query = query.filter(articles::published_at.gt(after));
    }
    if let Some(before) = filter.published_before {
        query = query.filter(articles::published_at.lt(before));
    }
    let mismatch =
        || AppError::InvalidParameter("cursor belongs to a list with another sort".into());
    query = match sort {
        Sort::PublishedAt => {
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
        Sort::UpdatedAt => {
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
        Sort::Title => {
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
        Sort::Relevance => {
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
    };
    let rows: Vec<(ArticleRow, Option<f32>, Option<String>)> = query.load(conn).await?;
    let (rows, next) = into_page(rows, page.limit, |(row, rank, _)| match sort {
        Sort::PublishedAt => ArticleCursor::P(row.published_at, row.id),
        Sort::UpdatedAt => ArticleCursor::U(row.updated_at, row.id),
        Sort::Title => ArticleCursor::T(row.title.clone(), row.id),
        Sort::Relevance => ArticleCursor::R(rank.unwrap_or_default(), row.id),
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
    let mut articles = assemble(conn, rows, include).await?;
    for article in &mut articles {
        article.snippet = snippets.remove(&article.id);
    }
    Ok((articles, next))
}
