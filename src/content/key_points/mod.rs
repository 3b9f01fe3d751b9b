//! Key-point lists: ordered, titled lists of short points belonging to an article.
//! (Types, validation and the writes of a whole article are here; the lists and
//! points as sub-resources in `sub_resources.rs`.)

mod sub_resources;
pub use sub_resources::*;

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::content::article_access::{self, ArticleKey, Audience};
use crate::content::positions::{self, Siblings};
use crate::content::precondition::{EntityState, Write};
use crate::content::text::{self, Line};
use crate::db::schema::{key_point_lists, key_points};
use crate::error::{AppError, AppResult, FieldError};

pub const MAX_LISTS: usize = 20;
pub const MAX_POINTS: usize = 100;
/// A list's title.
pub type ListTitle = Line<200>;
/// The text of one key point.
pub type PointText = Line<1000>;
const DEFAULT_TITLE: &str = "Key points";

/// A titled, ordered list of key points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KeyPointList {
    pub id: Uuid,
    #[schema(example = "Key points")]
    pub title: String,
    /// 0-based place among the article's lists.
    pub position: i32,
    pub points: Vec<KeyPoint>,
}

/// One key point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = key_points, check_for_backend(diesel::pg::Pg))]
pub struct KeyPoint {
    pub id: Uuid,
    /// 0-based place in its list.
    pub position: i32,
    pub text: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = key_point_lists, check_for_backend(diesel::pg::Pg))]
struct ListRow {
    id: Uuid,
    article_id: Uuid,
    position: i32,
    title: String,
}

/// A key-point list written with its whole article.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyPointListInput {
    /// Default "Key points".
    #[serde(default)]
    pub title: Option<ListTitle>,
    /// The points, in order, as text.
    #[schema(max_items = 100)]
    pub points: Vec<PointText>,
}

/// A key-point list to add to an article.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeyPointList {
    /// Default "Key points".
    #[serde(default)]
    pub title: Option<ListTitle>,
    /// The points, in order, as text.
    #[schema(max_items = 100)]
    pub points: Vec<PointText>,
    /// Where to insert the list among the article's lists (0-based; default, or
    /// past the end: last).
    #[schema(minimum = 0)]
    #[serde(
        default,
        deserialize_with = "crate::content::serde_helpers::whole_number"
    )]
    pub position: Option<i32>,
}

/// A change to a list: its title, its place, or both.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyPointListPatch {
    #[serde(default)]
    pub title: Option<ListTitle>,
    /// Move the list to this place (0-based); the others shift.
    #[schema(minimum = 0)]
    #[serde(
        default,
        deserialize_with = "crate::content::serde_helpers::whole_number"
    )]
    pub position: Option<i32>,
}

/// A key point to add to a list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeyPoint {
    pub text: PointText,
    /// Where to insert it (0-based; default: last).
    #[schema(minimum = 0)]
    #[serde(
        default,
        deserialize_with = "crate::content::serde_helpers::whole_number"
    )]
    pub position: Option<i32>,
}

/// A change to a key point: its text, its place, or both.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyPointPatch {
    #[serde(default)]
    pub text: Option<PointText>,
    /// Move the point to this place (0-based); the others shift.
    #[schema(minimum = 0)]
    #[serde(
        default,
        deserialize_with = "crate::content::serde_helpers::whole_number"
    )]
    pub position: Option<i32>,
}

/// A validated list.
#[derive(Debug, Clone)]
pub(crate) struct ValidList {
    title: String,
    points: Vec<String>,
}

fn validate_list(
    prefix: &str,
    title: Option<&ListTitle>,
    points: &[PointText],
    errors: &mut Vec<FieldError>,
) -> ValidList {
    let title = match title {
        Some(title) => title.check(&format!("{prefix}title"), errors),
        None => DEFAULT_TITLE.to_string(),
    };
    if points.len() > MAX_POINTS {
        errors.push(FieldError::new(
            format!("{prefix}points"),
            format!("must have at most {MAX_POINTS} points"),
        ));
        // The write fails anyway; checking each point would only list more errors.
        return ValidList {
            title,
            points: Vec::new(),
        };
    }
    let points = points
        .iter()
        .enumerate()
        .map(|(j, point)| point.check(&format!("{prefix}points[{j}]"), errors))
        .collect();
    ValidList { title, points }
}

/// Validates the lists of a whole-article write.
pub(crate) fn validate_lists(
    inputs: &[KeyPointListInput],
    errors: &mut Vec<FieldError>,
) -> Vec<ValidList> {
    if inputs.len() > MAX_LISTS {
        errors.push(FieldError::new(
            "key_point_lists",
            format!("must have at most {MAX_LISTS} lists"),
        ));
        return Vec::new();
    }
    inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            validate_list(
                &format!("key_point_lists[{i}]."),
                input.title.as_ref(),
                &input.points,
                errors,
            )
        })
        .collect()
}

/// Inserts lists (and their points) from `first_position` on: two statements.
pub(crate) async fn insert_lists(
    conn: &mut AsyncPgConnection,
    article_id: Uuid,
    lists: &[ValidList],
    first_position: i32,
) -> AppResult<Vec<Uuid>> {
    let ids: Vec<Uuid> = lists.iter().map(|_| Uuid::now_v7()).collect();
    let list_rows: Vec<_> = lists
        .iter()
        .zip(&ids)
        .enumerate()
        .map(|(i, (list, id))| {
            (
                key_point_lists::id.eq(*id),
                key_point_lists::article_id.eq(article_id),
                key_point_lists::position.eq(first_position + i as i32),
                key_point_lists::title.eq(list.title.clone()),
            )
        })
        .collect();
    if list_rows.is_empty() {
        return Ok(ids);
    }
    diesel::insert_into(key_point_lists::table)
        .values(list_rows)
        .execute(conn)
        .await?;
    let point_rows: Vec<_> = lists
        .iter()
        .zip(&ids)
        .flat_map(|(list, list_id)| {
            list.points.iter().enumerate().map(move |(j, text)| {
                (
                    key_points::id.eq(Uuid::now_v7()),
                    key_points::list_id.eq(*list_id),
                    key_points::position.eq(j as i32),
                    key_points::text.eq(text.clone()),
                )
            })
        })
        .collect();
    if !point_rows.is_empty() {
        diesel::insert_into(key_points::table)
            .values(point_rows)
            .execute(conn)
            .await?;
    }
    Ok(ids)
}

/// Puts back lists as a revision recorded them, ids included: two statements.
pub(crate) async fn restore_lists(
    conn: &mut AsyncPgConnection,
    article_id: Uuid,
    lists: &[KeyPointList],
) -> AppResult<()> {
    if lists.is_empty() {
        return Ok(());
    }
    let list_rows: Vec<_> = lists
        .iter()
        .enumerate()
        .map(|(i, list)| {
            (
                key_point_lists::id.eq(list.id),
                key_point_lists::article_id.eq(article_id),
                key_point_lists::position.eq(i as i32),
                key_point_lists::title.eq(list.title.clone()),
            )
        })
        .collect();
    diesel::insert_into(key_point_lists::table)
        .values(list_rows)
        .execute(conn)
        .await?;
    let point_rows: Vec<_> = lists
        .iter()
        .flat_map(|list| {
            list.points.iter().enumerate().map(move |(j, point)| {
                (
                    key_points::id.eq(point.id),
                    key_points::list_id.eq(list.id),
                    key_points::position.eq(j as i32),
                    key_points::text.eq(point.text.clone()),
                )
            })
        })
        .collect();
    if !point_rows.is_empty() {
        diesel::insert_into(key_points::table)
            .values(point_rows)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Removes all of an article's lists (their points go with them).
pub(crate) async fn delete_all(conn: &mut AsyncPgConnection, article_id: Uuid) -> AppResult<()> {
    diesel::delete(key_point_lists::table.filter(key_point_lists::article_id.eq(article_id)))
        .execute(conn)
        .await?;
    Ok(())
}

/// The lists of many articles at once, in order: two queries.
pub(crate) async fn load(
    conn: &mut AsyncPgConnection,
    article_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<KeyPointList>>> {
    let lists: Vec<ListRow> = key_point_lists::table
        .filter(key_point_lists::article_id.eq_any(article_ids))
        .order((key_point_lists::article_id, key_point_lists::position))
        .select(ListRow::as_select())
        .load(conn)
        .await?;
    if lists.is_empty() {
        return Ok(HashMap::new());
    }
    let list_ids: Vec<Uuid> = lists.iter().map(|l| l.id).collect();
    let points: Vec<(Uuid, KeyPoint)> = key_points::table
        .filter(key_points::list_id.eq_any(&list_ids))
        .order((key_points::list_id, key_points::position))
        .select((key_points::list_id, KeyPoint::as_select()))
        .load(conn)
        .await?;
    let mut points_by_list: HashMap<Uuid, Vec<KeyPoint>> = HashMap::new();
    for (list_id, point) in points {
        points_by_list.entry(list_id).or_default().push(point);
    }
    let mut by_article: HashMap<Uuid, Vec<KeyPointList>> = HashMap::new();
    for list in lists {
        by_article
            .entry(list.article_id)
            .or_default()
            .push(KeyPointList {
                points: points_by_list.remove(&list.id).unwrap_or_default(),
                id: list.id,
                title: list.title,
                position: list.position,
            });
    }
    Ok(by_article)
}
