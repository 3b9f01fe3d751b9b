//! The byline of an article: its authors, in order, named by slug when written.
//! (Reads carry it with the article row; see `article_access::ArticleRow`.)

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::content::article_access::{self, ArticleKey, Audience};
use crate::content::authors::{self, AuthorKey, AuthorRef};
use crate::content::positions;
use crate::content::precondition::{EntityState, Write};
use crate::content::slug::SlugInput;
use crate::content::text;
use crate::db::schema::{article_authors, authors as authors_table};
use crate::error::{AppError, AppResult, FieldError};

/// The most authors a byline names.
pub const MAX_AUTHORS: usize = 20;

/// Validates the author slugs of a write (`authors[i]`).
pub(crate) fn validate_slugs(slugs: &[SlugInput], errors: &mut Vec<FieldError>) -> Vec<String> {
    if slugs.len() > MAX_AUTHORS {
        errors.push(FieldError::new(
            "authors",
            format!("must name at most {MAX_AUTHORS} authors"),
        ));
        return Vec::new();
    }
    slugs
        .iter()
        .enumerate()
        .map(|(i, slug)| slug.check_named(&format!("authors[{i}]"), errors))
        .collect()
}

/// Makes `author_ids` (in order) the article's byline.
pub(crate) async fn replace(
    conn: &mut AsyncPgConnection,
    article_id: Uuid,
    author_ids: &[Uuid],
) -> AppResult<()> {
    diesel::delete(article_authors::table.filter(article_authors::article_id.eq(article_id)))
        .execute(conn)
        .await?;
    if author_ids.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = author_ids
        .iter()
        .enumerate()
        .map(|(i, author_id)| {
            (
                article_authors::article_id.eq(article_id),
                article_authors::author_id.eq(*author_id),
                article_authors::position.eq(i as i32),
            )
        })
        .collect();
    diesel::insert_into(article_authors::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(())
}

async fn byline(conn: &mut AsyncPgConnection, article_id: Uuid) -> AppResult<Vec<AuthorRef>> {
    let rows: Vec<(Uuid, String, String)> = article_authors::table
        .inner_join(authors_table::table)
        .filter(article_authors::article_id.eq(article_id))
        .order(article_authors::position)
        .select((authors_table::id, authors_table::slug, authors_table::name))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, slug, name)| AuthorRef { id, slug, name })
        .collect())
}

/// The article's byline, with its state.
pub async fn list_all(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    audience: Audience,
) -> AppResult<(Vec<AuthorRef>, EntityState)> {
    let state = article_access::state(conn, key, audience).await?;
    Ok((byline(conn, state.id).await?, state))
}

/// Replaces (and so reorders) the byline.
pub async fn set(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    slugs: &[SlugInput],
    write: &Write,
) -> AppResult<(Vec<AuthorRef>, EntityState)> {
    let mut errors = Vec::new();
    let slugs = validate_slugs(slugs, &mut errors);
    text::checked((), errors)?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let article = article_access::lock(conn, key, write).await?;
        let ids = authors::resolve(conn, &slugs).await?;
        replace(conn, article.id, &ids).await?;
        let row = article_access::touch(conn, article.id, write).await?;
        Ok((byline(conn, article.id).await?, row.state()))
    })
    .await
}

/// Adds one author (at `position`, default last); naming one the byline has
/// moves them there.
pub async fn add(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    slug: &SlugInput,
    position: Option<i32>,
    write: &Write,
) -> AppResult<(Vec<AuthorRef>, EntityState)> {
    let mut errors = Vec::new();
    let slug = slug.check_named("author", &mut errors);
    text::checked((), errors)?;
    positions::check_position(position)?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let article = article_access::lock(conn, key, write).await?;
        let current: Vec<Uuid> = byline(conn, article.id)
            .await?
            .iter()
            .map(|a| a.id)
            .collect();
        let author_id = authors::resolve(conn, std::slice::from_ref(&slug))
            .await
            .map_err(|_| {
                AppError::validation("author", format!("no author has the slug `{slug}`"))
            })?
            .into_iter()
            .next()
            .ok_or_else(|| AppError::validation("author", "names no author"))?;
        let others = current.iter().filter(|id| **id != author_id).count();
        if others >= MAX_AUTHORS {
            return Err(AppError::Conflict(format!(
                "The byline already names {MAX_AUTHORS} authors, the most it may."
            )));
        }
        let position = positions::clamp_position(position, others);
        let order = positions::moved(&current, author_id, position);
        replace(conn, article.id, &order).await?;
        let row = article_access::touch(conn, article.id, write).await?;
        Ok((byline(conn, article.id).await?, row.state()))
    })
    .await
}

/// Takes an author off the byline (the author stays).
pub async fn remove(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    author: &AuthorKey,
    write: &Write,
) -> AppResult<EntityState> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let article = article_access::lock(conn, key, write).await?;
        let author_id = authors::find(conn, author, Audience::Editors).await?.id;
        let current: Vec<Uuid> = byline(conn, article.id)
            .await?
            .iter()
            .map(|a| a.id)
            .collect();
        if !current.contains(&author_id) {
            return Err(AppError::NotFound(
                "The article's byline does not name this author.".into(),
            ));
        }
        let remaining: Vec<Uuid> = current.into_iter().filter(|id| *id != author_id).collect();
        replace(conn, article.id, &remaining).await?;
        Ok(article_access::touch(conn, article.id, write)
            .await?
            .state())
    })
    .await
}
