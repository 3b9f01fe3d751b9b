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
use crate::content::precondition::Write;
use crate::content::text;
use crate::db::schema::{key_point_lists, key_points};
use crate::error::{AppError, AppResult, FieldError};

pub const MAX_LISTS: usize = 20;
pub const MAX_POINTS: usize = 100;
pub const MAX_TITLE_LEN: usize = 200;
pub const MAX_POINT_LEN: usize = 1000;
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
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*[^\\s\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069\\u00AD\\u034F\\u061C\\u115F\\u1160\\u17B4\\u17B5\\u180B-\\u180F\\u200B-\\u200F\\u2060-\\u206F\\u2800\\u3164\\uFE00-\\uFE0F\\uFEFF\\uFFA0\\uFFF0-\\uFFFB][^\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*$"
    )]
    #[serde(default)]
    pub title: Option<String>,
    /// The points, in order, as text.
    #[schema(max_items = 100)]
    pub points: Vec<PointText>,
}

/// A key-point list to add to an article.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeyPointList {
    /// Default "Key points".
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*[^\\s\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069\\u00AD\\u034F\\u061C\\u115F\\u1160\\u17B4\\u17B5\\u180B-\\u180F\\u200B-\\u200F\\u2060-\\u206F\\u2800\\u3164\\uFE00-\\uFE0F\\uFEFF\\uFFA0\\uFFF0-\\uFFFB][^\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*$"
    )]
    #[serde(default)]
    pub title: Option<String>,
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

/// The text of one key point.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct PointText(pub String);

impl utoipa::PartialSchema for PointText {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("The text of one key point"))
            .min_length(Some(1))
            .max_length(Some(MAX_POINT_LEN))
            .pattern(Some(text::LINE_PATTERN))
            .into()
    }
}

impl utoipa::ToSchema for PointText {}

/// A change to a list: its title, its place, or both.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyPointListPatch {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*[^\\s\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069\\u00AD\\u034F\\u061C\\u115F\\u1160\\u17B4\\u17B5\\u180B-\\u180F\\u200B-\\u200F\\u2060-\\u206F\\u2800\\u3164\\uFE00-\\uFE0F\\uFEFF\\uFFA0\\uFFF0-\\uFFFB][^\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*$"
    )]
    #[serde(default)]
    pub title: Option<String>,
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
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*[^\\s\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069\\u00AD\\u034F\\u061C\\u115F\\u1160\\u17B4\\u17B5\\u180B-\\u180F\\u200B-\\u200F\\u2060-\\u206F\\u2800\\u3164\\uFE00-\\uFE0F\\uFEFF\\uFFA0\\uFFF0-\\uFFFB][^\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*$"
    )]
    pub text: String,
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
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*[^\\s\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069\\u00AD\\u034F\\u061C\\u115F\\u1160\\u17B4\\u17B5\\u180B-\\u180F\\u200B-\\u200F\\u2060-\\u206F\\u2800\\u3164\\uFE00-\\uFE0F\\uFEFF\\uFFA0\\uFFF0-\\uFFFB][^\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*$"
    )]
    #[serde(default)]
    pub text: Option<String>,
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
    title: Option<&str>,
    points: &[PointText],
    errors: &mut Vec<FieldError>,
) -> ValidList {
    let title = match title {
        Some(title) => text::line(&format!("{prefix}title"), title, MAX_TITLE_LEN, errors),
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
        .map(|(j, point)| {
            text::line(
                &format!("{prefix}points[{j}]"),
                &point.0,
                MAX_POINT_LEN,
                errors,
            )
        })
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
                input.title.as_deref(),
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
