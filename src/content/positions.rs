//! Ordering of an article's parts: 0-based, contiguous positions per parent,
//! rewritten in one statement (the unique constraints are checked per statement).

use diesel::sql_types::{Array, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// A set of ordered siblings.
#[derive(Debug, Clone, Copy)]
pub enum Siblings {
    KeyPointLists { article_id: Uuid },
    KeyPoints { list_id: Uuid },
    ArticleTags { article_id: Uuid },
}

/// Gives the siblings the positions of `ordered_ids` (0, 1, 2, ...).
pub async fn renumber(
    conn: &mut AsyncPgConnection,
    siblings: Siblings,
    ordered_ids: &[Uuid],
) -> AppResult<()> {
    let (sql, parent) = match siblings {
        Siblings::KeyPointLists { article_id } => (
            "UPDATE key_point_lists AS t SET position = v.ord - 1 \
             FROM unnest($1) WITH ORDINALITY AS v(id, ord) \
             WHERE t.id = v.id AND t.article_id = $2",
            article_id,
        ),
        Siblings::KeyPoints { list_id } => (
            "UPDATE key_points AS t SET position = v.ord - 1 \
             FROM unnest($1) WITH ORDINALITY AS v(id, ord) \
             WHERE t.id = v.id AND t.list_id = $2",
            list_id,
        ),
        Siblings::ArticleTags { article_id } => (
            "UPDATE article_tags AS t SET position = v.ord - 1 \
             FROM unnest($1) WITH ORDINALITY AS v(id, ord) \
             WHERE t.tag_id = v.id AND t.article_id = $2",
            article_id,
        ),
    };
    diesel::sql_query(sql)
        .bind::<Array<SqlUuid>, _>(ordered_ids)
        .bind::<SqlUuid, _>(parent)
        .execute(conn)
        .await?;
    Ok(())
}

/// Checks a requested position before anything is read or locked.
pub fn check_position(position: Option<i32>) -> AppResult<()> {
    match position {
        Some(p) if p < 0 => Err(AppError::validation("position", "must be 0 or more")),
        _ => Ok(()),
    }
}

/// The place a requested (checked) position takes among `max + 1` places: none,
/// or one past the end, means last.
pub fn clamp_position(position: Option<i32>, max: usize) -> usize {
    position.map_or(max, |p| usize::try_from(p).unwrap_or(0).min(max))
}

/// The order after moving `id` to `position`.
pub fn moved(current: &[Uuid], id: Uuid, position: usize) -> Vec<Uuid> {
    let mut order: Vec<Uuid> = current.iter().copied().filter(|x| *x != id).collect();
    order.insert(position.min(order.len()), id);
    order
}
