//! An article's history: every change keeps the whole article as it left it (a
//! revision, recorded by the write hook), readable, comparable and restorable.
//! Revisions are never rewritten; restoring one is a new change.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::teaser;
use super::types::*;
use super::write::restore_recorded;
use crate::content::article_access::{key_matches, not_found, visible_to, ArticleKey, Audience};
use crate::content::pagination::{into_page, PageRequest};
use crate::content::precondition::Write;
use crate::content::slug::Key;
use crate::db::schema::{article_revisions, articles};
use crate::error::{AppError, AppResult};

/// A revision as listed: which version, when, by whom, and the headline it had.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RevisionSummary {
    pub version: i32,
    /// When the change was made.
    pub created_at: DateTime<Utc>,
    /// The token that made it.
    pub created_by: Option<Uuid>,
    pub title: String,
    pub status: Status,
}

/// One revision: the whole article as the change made at `version` left it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Revision {
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<Uuid>,
    #[schema(value_type = WholeArticle)]
    pub article: Article,
}

/// Where a page of revisions ends: the last version listed (newest first).
pub type RevisionCursor = i32;

fn no_revision() -> AppError {
    AppError::NotFound("The article has no revision with this version.".into())
}

/// The id of an article editors can see (not trashed).
async fn article_id(conn: &mut AsyncPgConnection, key: &ArticleKey) -> AppResult<Uuid> {
    articles::table
        .filter(key_matches(key))
        .filter(visible_to(Audience::Editors))
        .select(articles::id)
        .first(conn)
        .await
        .optional()?
        .ok_or_else(not_found)
}

/// One page of an article's revisions, newest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    page: &PageRequest<RevisionCursor>,
) -> AppResult<(Vec<RevisionSummary>, Option<String>)> {
    let id = article_id(conn, key).await?;
    let mut query = article_revisions::table
        .filter(article_revisions::article_id.eq(id))
        .select((
            article_revisions::version,
            article_revisions::created_at,
            article_revisions::created_by,
            diesel::dsl::sql::<diesel::sql_types::Jsonb>(
                "jsonb_build_object('title', snapshot->'title', 'status', snapshot->'status')",
            ),
        ))
        .order(article_revisions::version.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(article_revisions::version.lt(after));
    }
    let rows: Vec<(i32, DateTime<Utc>, Option<Uuid>, Value)> = query.load(conn).await?;
    let (rows, next) = into_page(rows, page.limit, |row| row.0);
    let items = rows
        .into_iter()
        .map(|(version, created_at, created_by, headline)| {
            #[derive(Deserialize)]
            struct Headline {
                title: String,
                status: Status,
            }
            let headline: Headline = serde_json::from_value(headline).map_err(damaged)?;
            Ok(RevisionSummary {
                version,
                created_at,
                created_by,
                title: headline.title,
                status: headline.status,
            })
        })
        .collect::<AppResult<_>>()?;
    Ok((items, next))
}

fn damaged(error: serde_json::Error) -> AppError {
    AppError::Internal(format!("a stored revision does not read back: {error}"))
}

/// One revision of an article.
pub async fn get(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    version: i32,
) -> AppResult<Revision> {
    let id = article_id(conn, key).await?;
    revision(conn, id, version).await
}

async fn revision(conn: &mut AsyncPgConnection, id: Uuid, version: i32) -> AppResult<Revision> {
    let (created_at, created_by, snapshot) = article_revisions::table
        .filter(article_revisions::article_id.eq(id))
        .filter(article_revisions::version.eq(version))
        .select((
            article_revisions::created_at,
            article_revisions::created_by,
            article_revisions::snapshot,
        ))
        .first::<(DateTime<Utc>, Option<Uuid>, Value)>(conn)
        .await
        .optional()?
        .ok_or_else(no_revision)?;
    let mut article: Article = serde_json::from_value(snapshot).map_err(damaged)?;
    // Snapshots record what was written; what a read derives from it is derived
    // again, the same way.
    article.lead_image = article
        .lead_image
        .take()
        .and_then(|image| serde_json::to_value(image).ok())
        .and_then(crate::content::media::ImageRef::from_stored);
    article.body_media = article.body_media.take().map(|images| {
        images
            .into_iter()
            .filter_map(|image| serde_json::to_value(image).ok())
            .filter_map(crate::content::media::ImageRef::from_stored)
            .collect()
    });
    teaser::derive_from_body(&mut article);
    Ok(Revision {
        version,
        created_at,
        created_by,
        article,
    })
}

/// Compares revision `from` with revision `to` of an article; `from` defaults to
/// the revision before `to`.
pub async fn diff(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    to: i32,
    from: Option<i32>,
) -> AppResult<RevisionDiff> {
    let id = article_id(conn, key).await?;
    let to = revision(conn, id, to).await?;
    let from = match from {
        Some(version) => version,
        None => article_revisions::table
            .filter(article_revisions::article_id.eq(id))
            .filter(article_revisions::version.lt(to.version))
            .select(diesel::dsl::max(article_revisions::version))
            .first::<Option<i32>>(conn)
            .await?
            .ok_or_else(|| {
                AppError::NotFound(
                    "This is the article's first revision: there is none before it to compare \
                     with."
                        .into(),
                )
            })?,
    };
    let from = revision(conn, id, from).await?;
    Ok(RevisionDiff::between(&from, &to))
}

/// Makes the article what revision `version` recorded (a new change, with a
/// revision of its own).
pub async fn restore(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    version: i32,
    write: &Write,
) -> AppResult<Article> {
    let id = article_id(conn, key).await?;
    let recorded = revision(conn, id, version).await?;
    restore_recorded(conn, &Key::Id(id), &recorded.article, write).await
}

/// Keeps the newest `keep` revisions of every article and removes older ones; how
/// many were removed. One statement.
pub async fn prune(conn: &mut AsyncPgConnection, keep: u32) -> AppResult<usize> {
    Ok(diesel::sql_query(
        "DELETE FROM article_revisions r USING (\
             SELECT article_id, max(version) AS newest FROM article_revisions GROUP BY article_id\
         ) n \
         WHERE r.article_id = n.article_id AND r.version <= n.newest - $1",
    )
    .bind::<diesel::sql_types::Integer, _>(i32::try_from(keep).unwrap_or(i32::MAX))
    .execute(conn)
    .await?)
}

/// What changed between two revisions.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RevisionDiff {
    pub from: i32,
    pub to: i32,
    /// The article's own fields that differ (`slug`, `title`, `standfirst`, `body`,
    /// `language`, `status`, `published_at`, `section`, `authors`: the byline
    /// whole).
    pub fields: Vec<FieldChange>,
    /// Lists matched by id (else by title); their points by id (else by text).
    pub key_point_lists: Vec<PartChange>,
    /// Citations matched by number.
    pub citations: Vec<PartChange>,
    /// Tags matched by id.
    pub tags: Vec<PartChange>,
}

/// One field's value before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FieldChange {
    pub field: String,
    pub from: Value,
    pub to: Value,
}

/// How a part changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
    /// Its content differs (`fields`, or its points); `moved` says if its place
    /// changed too.
    Changed,
    /// Only its place among the others changed.
    Moved,
}

/// A part (key-point list, point, citation, tag) added, removed, changed or moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PartChange {
    /// The part's id in the newer revision (in the older one when removed).
    pub id: Uuid,
    pub change: ChangeKind,
    /// Whether its place among the others changed (not counting the shifts that
    /// other parts' additions and removals cause).
    pub moved: bool,
    /// Its 0-based place before (none when added).
    pub from_position: Option<i32>,
    /// Its 0-based place after (none when removed).
    pub to_position: Option<i32>,
    /// The fields that differ, when changed.
    pub fields: Vec<FieldChange>,
    /// For a key-point list: its points' changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(no_recursion)]
    pub points: Vec<PartChange>,
}

impl RevisionDiff {
    fn between(from: &Revision, to: &Revision) -> RevisionDiff {
        let (a, b) = (&from.article, &to.article);
        let mut fields = Vec::new();
        compare(&mut fields, "slug", &a.slug, &b.slug);
        compare(&mut fields, "title", &a.title, &b.title);
        compare(&mut fields, "standfirst", &a.standfirst, &b.standfirst);
        compare(&mut fields, "body", &a.body, &b.body);
        compare(&mut fields, "language", &a.language, &b.language);
        compare(&mut fields, "status", &a.status, &b.status);
        compare(
            &mut fields,
            "published_at",
            &a.published_at,
            &b.published_at,
        );
        compare(&mut fields, "section", &a.section, &b.section);
        compare(&mut fields, "authors", &a.authors, &b.authors);
        let no_lists = Vec::new();
        let lists = changes(
            a.key_point_lists.as_ref().unwrap_or(&no_lists),
            b.key_point_lists.as_ref().unwrap_or(&no_lists),
            |x, y| x.id == y.id,
            |x, y| x.title == y.title,
            |x| x.id,
            |x, y| {
                let mut fields = Vec::new();
                compare(&mut fields, "title", &x.title, &y.title);
                let points = changes(
                    &x.points,
                    &y.points,
                    |p, q| p.id == q.id,
                    |p, q| p.text == q.text,
                    |p| p.id,
                    |p, q| {
                        let mut fields = Vec::new();
                        compare(&mut fields, "text", &p.text, &q.text);
                        (fields, Vec::new())
                    },
                );
                (fields, points)
            },
        );
        let no_citations = Vec::new();
        let citations = changes(
            a.citations.as_ref().unwrap_or(&no_citations),
            b.citations.as_ref().unwrap_or(&no_citations),
            |x, y| x.number == y.number,
            |_, _| false,
            |x| x.id,
            |x, y| {
                let mut fields = Vec::new();
                compare(&mut fields, "title", &x.title, &y.title);
                compare(&mut fields, "publisher", &x.publisher, &y.publisher);
                compare(&mut fields, "url", &x.url, &y.url);
                compare(&mut fields, "author", &x.author, &y.author);
                compare(&mut fields, "date", &x.date, &y.date);
                compare(&mut fields, "quote", &x.quote, &y.quote);
                (fields, Vec::new())
            },
        );
        let tags = changes(
            &a.tags,
            &b.tags,
            |x, y| x.id == y.id,
            |_, _| false,
            |x| x.id,
            |x, y| {
                let mut fields = Vec::new();
                compare(&mut fields, "slug", &x.slug, &y.slug);
                compare(&mut fields, "name", &x.name, &y.name);
                (fields, Vec::new())
            },
        );
        RevisionDiff {
            from: from.version,
            to: to.version,
            fields,
            key_point_lists: lists,
            citations,
            tags,
        }
    }
}

fn compare<T: Serialize + PartialEq>(out: &mut Vec<FieldChange>, field: &str, a: &T, b: &T) {
    if a != b {
        out.push(FieldChange {
            field: field.into(),
            from: serde_json::to_value(a).unwrap_or(Value::Null),
            to: serde_json::to_value(b).unwrap_or(Value::Null),
        });
    }
}

/// The changes from the ordered parts `old` to `new`: parts are paired by
/// `same` (identity), then the rest by `alike` (equal content under a new id, as a
/// whole-article write gives); `inner` compares a pair's content. A pair has moved
/// when it is not on the longest run of pairs that kept their relative order.
fn changes<T>(
    old: &[T],
    new: &[T],
    same: impl Fn(&T, &T) -> bool,
    alike: impl Fn(&T, &T) -> bool,
    id: impl Fn(&T) -> Uuid,
    inner: impl Fn(&T, &T) -> (Vec<FieldChange>, Vec<PartChange>),
) -> Vec<PartChange> {
    let mut partner: Vec<Option<usize>> = vec![None; old.len()];
    let mut taken = vec![false; new.len()];
    for pairing in [&same as &dyn Fn(&T, &T) -> bool, &alike] {
        for (i, o) in old.iter().enumerate() {
            if partner[i].is_some() {
                continue;
            }
            if let Some(j) = (0..new.len()).find(|&j| !taken[j] && pairing(o, &new[j])) {
                partner[i] = Some(j);
                taken[j] = true;
            }
        }
    }
    // Pairs in old order; those off the longest increasing run of new positions moved.
    let pairs: Vec<(usize, usize)> = partner
        .iter()
        .enumerate()
        .filter_map(|(i, j)| j.map(|j| (i, j)))
        .collect();
    let kept = longest_increasing(&pairs.iter().map(|(_, j)| *j).collect::<Vec<_>>());
    let mut out = Vec::new();
    for (k, (i, j)) in pairs.iter().enumerate() {
        let moved = !kept.contains(&k);
        let (fields, points) = inner(&old[*i], &new[*j]);
        let change = if !fields.is_empty() || !points.is_empty() {
            ChangeKind::Changed
        } else if moved {
            ChangeKind::Moved
        } else {
            continue;
        };
        out.push(PartChange {
            id: id(&new[*j]),
            change,
            moved,
            from_position: Some(*i as i32),
            to_position: Some(*j as i32),
            fields,
            points,
        });
    }
    for (i, o) in old
        .iter()
        .enumerate()
        .filter(|(i, _)| partner[*i].is_none())
    {
        out.push(PartChange {
            id: id(o),
            change: ChangeKind::Removed,
            moved: false,
            from_position: Some(i as i32),
            to_position: None,
            fields: Vec::new(),
            points: Vec::new(),
        });
    }
    for (j, n) in new.iter().enumerate().filter(|(j, _)| !taken[*j]) {
        out.push(PartChange {
            id: id(n),
            change: ChangeKind::Added,
            moved: false,
            from_position: None,
            to_position: Some(j as i32),
            fields: Vec::new(),
            points: Vec::new(),
        });
    }
    out
}

/// The indexes of one longest strictly increasing subsequence of `values`
/// (quadratic: parts are few).
fn longest_increasing(values: &[usize]) -> Vec<usize> {
    let n = values.len();
    let mut length = vec![1usize; n];
    let mut previous: Vec<Option<usize>> = vec![None; n];
    for i in 0..n {
        for k in 0..i {
            if values[k] < values[i] && length[k] + 1 > length[i] {
                length[i] = length[k] + 1;
                previous[i] = Some(k);
            }
        }
    }
    let mut at = (0..n).max_by_key(|&i| (length[i], std::cmp::Reverse(i)));
    let mut run = Vec::new();
    while let Some(i) = at {
        run.push(i);
        at = previous[i];
    }
    run
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_part_moved_is_the_only_one_moved() {
        // [a b c d] -> [b c a d]: a moved, the others only shifted.
        assert_eq!(longest_increasing(&[2, 0, 1, 3]).len(), 3);
        let old: Vec<(Uuid, &str)> = (0..4).map(|i| (Uuid::from_u128(i), "x")).collect();
        let new = vec![old[1], old[2], old[0], old[3]];
        let out = changes(
            &old,
            &new,
            |x, y| x.0 == y.0,
            |_, _| false,
            |x| x.0,
            |_, _| (Vec::new(), Vec::new()),
        );
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].id, Uuid::from_u128(0));
        assert_eq!(out[0].change, ChangeKind::Moved);
        assert_eq!(
            (out[0].from_position, out[0].to_position),
            (Some(0), Some(2))
        );
    }

    #[test]
    fn removals_and_additions_shift_nothing() {
        let old: Vec<(Uuid, &str)> = (0..3).map(|i| (Uuid::from_u128(i), "x")).collect();
        let new = vec![old[1], old[2], (Uuid::from_u128(9), "y")];
        let out = changes(
            &old,
            &new,
            |x, y| x.0 == y.0,
            |_, _| false,
            |x| x.0,
            |_, _| (Vec::new(), Vec::new()),
        );
        let kinds: Vec<ChangeKind> = out.iter().map(|c| c.change).collect();
        assert_eq!(kinds, [ChangeKind::Removed, ChangeKind::Added]);
    }
}
