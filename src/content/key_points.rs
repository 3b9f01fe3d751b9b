//! Key-point lists: ordered, titled lists of short points belonging to an article.

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

/// A list id from a path; anything but a UUID names no list (404).
pub fn parse_list_id(value: &str) -> AppResult<Uuid> {
    Uuid::parse_str(value).map_err(|_| list_not_found())
}

/// A point id from a path; anything but a UUID names no point (404).
pub fn parse_point_id(value: &str) -> AppResult<Uuid> {
    Uuid::parse_str(value).map_err(|_| point_not_found())
}

fn list_not_found() -> AppError {
    AppError::NotFound("The article has no key-point list with this id.".into())
}

fn point_not_found() -> AppError {
    AppError::NotFound("The list has no key point with this id.".into())
}

async fn list_ids(conn: &mut AsyncPgConnection, article_id: Uuid) -> AppResult<Vec<Uuid>> {
    Ok(key_point_lists::table
        .filter(key_point_lists::article_id.eq(article_id))
        .order(key_point_lists::position)
        .select(key_point_lists::id)
        .load(conn)
        .await?)
}

async fn point_ids(conn: &mut AsyncPgConnection, list_id: Uuid) -> AppResult<Vec<Uuid>> {
    Ok(key_points::table
        .filter(key_points::list_id.eq(list_id))
        .order(key_points::position)
        .select(key_points::id)
        .load(conn)
        .await?)
}

/// One list of an article, by id.
async fn find_list(
    conn: &mut AsyncPgConnection,
    article_id: Uuid,
    list_id: Uuid,
) -> AppResult<KeyPointList> {
    load(conn, &[article_id])
        .await?
        .remove(&article_id)
        .and_then(|lists| lists.into_iter().find(|l| l.id == list_id))
        .ok_or_else(list_not_found)
}

/// All lists of an article, with the article's version.
pub async fn list_all(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    audience: Audience,
) -> AppResult<(Vec<KeyPointList>, i32)> {
    let (article_id, version) = article_access::version(conn, key, audience).await?;
    let lists = load(conn, &[article_id])
        .await?
        .remove(&article_id)
        .unwrap_or_default();
    Ok((lists, version))
}

/// One list, with the article's version.
pub async fn get(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    list_id: Uuid,
    audience: Audience,
) -> AppResult<(KeyPointList, i32)> {
    let (article_id, version) = article_access::version(conn, key, audience).await?;
    Ok((find_list(conn, article_id, list_id).await?, version))
}

/// Adds a list to an article.
pub async fn add_list(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    input: &NewKeyPointList,
    write: &Write,
) -> AppResult<(KeyPointList, i32)> {
    let mut errors = Vec::new();
    let valid = validate_list("", input.title.as_deref(), &input.points, &mut errors);
    text::checked((), errors)?;
    positions::check_position(input.position)?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let article = article_access::lock(conn, key, write).await?;
        let current = list_ids(conn, article.id).await?;
        if current.len() >= MAX_LISTS {
            return Err(AppError::Conflict(format!(
                "The article already has {MAX_LISTS} key-point lists, the most it may have."
            )));
        }
        let position = positions::clamp_position(input.position, current.len());
        let ids = insert_lists(
            conn,
            article.id,
            std::slice::from_ref(&valid),
            current.len() as i32,
        )
        .await?;
        let new_id = ids[0];
        if position < current.len() {
            let order = positions::moved(&current, new_id, position);
            positions::renumber(
                conn,
                Siblings::KeyPointLists {
                    article_id: article.id,
                },
                &order,
            )
            .await?;
        }
        let row = article_access::touch(conn, article.id, write).await?;
        Ok((find_list(conn, article.id, new_id).await?, row.version))
    })
    .await
}

/// Renames or moves a list.
pub async fn update_list(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    list_id: Uuid,
    patch: &KeyPointListPatch,
    write: &Write,
) -> AppResult<(KeyPointList, i32)> {
    let mut errors = Vec::new();
    let title = patch
        .title
        .as_deref()
        .map(|t| text::line("title", t, MAX_TITLE_LEN, &mut errors));
    text::checked((), errors)?;
    positions::check_position(patch.position)?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let article = article_access::lock(conn, key, write).await?;
        let current = list_ids(conn, article.id).await?;
        let before = find_list(conn, article.id, list_id).await?;
        let new_position = patch
            .position
            .map(|_| positions::clamp_position(patch.position, current.len() - 1));
        // A patch that changes nothing leaves the version as it is.
        let same_title = title.as_ref().is_none_or(|t| *t == before.title);
        let same_place = new_position.is_none_or(|p| p == before.position as usize);
        if same_title && same_place {
            return Ok((before, article.version));
        }
        if let Some(title) = &title {
            diesel::update(key_point_lists::table.filter(key_point_lists::id.eq(list_id)))
                .set(key_point_lists::title.eq(title))
                .execute(conn)
                .await?;
        }
        if patch.position.is_some() {
            let position = positions::clamp_position(patch.position, current.len() - 1);
            let order = positions::moved(&current, list_id, position);
            positions::renumber(
                conn,
                Siblings::KeyPointLists {
                    article_id: article.id,
                },
                &order,
            )
            .await?;
        }
        let row = article_access::touch(conn, article.id, write).await?;
        Ok((find_list(conn, article.id, list_id).await?, row.version))
    })
    .await
}

/// Deletes a list and its points; the lists after it move up.
pub async fn delete_list(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    list_id: Uuid,
    write: &Write,
) -> AppResult<i32> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let article = article_access::lock(conn, key, write).await?;
        let deleted = diesel::delete(
            key_point_lists::table
                .filter(key_point_lists::id.eq(list_id))
                .filter(key_point_lists::article_id.eq(article.id)),
        )
        .execute(conn)
        .await?;
        if deleted == 0 {
            return Err(list_not_found());
        }
        let remaining = list_ids(conn, article.id).await?;
        positions::renumber(
            conn,
            Siblings::KeyPointLists {
                article_id: article.id,
            },
            &remaining,
        )
        .await?;
        Ok(article_access::touch(conn, article.id, write)
            .await?
            .version)
    })
    .await
}

/// Checks that the list belongs to the locked article.
async fn owned_list(
    conn: &mut AsyncPgConnection,
    article_id: Uuid,
    list_id: Uuid,
) -> AppResult<()> {
    let found: Option<Uuid> = key_point_lists::table
        .filter(key_point_lists::id.eq(list_id))
        .filter(key_point_lists::article_id.eq(article_id))
        .select(key_point_lists::id)
        .first(conn)
        .await
        .optional()?;
    found.map(|_| ()).ok_or_else(list_not_found)
}

async fn find_point(conn: &mut AsyncPgConnection, point_id: Uuid) -> AppResult<KeyPoint> {
    key_points::table
        .filter(key_points::id.eq(point_id))
        .select(KeyPoint::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(point_not_found)
}

/// Adds a point to a list.
pub async fn add_point(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    list_id: Uuid,
    input: &NewKeyPoint,
    write: &Write,
) -> AppResult<(KeyPoint, i32)> {
    let mut errors = Vec::new();
    let point_text = text::line("text", &input.text, MAX_POINT_LEN, &mut errors);
    text::checked((), errors)?;
    positions::check_position(input.position)?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let article = article_access::lock(conn, key, write).await?;
        owned_list(conn, article.id, list_id).await?;
        let current = point_ids(conn, list_id).await?;
        if current.len() >= MAX_POINTS {
            return Err(AppError::Conflict(format!(
                "The list already has {MAX_POINTS} points, the most it may have."
            )));
        }
        let position = positions::clamp_position(input.position, current.len());
        let id = Uuid::now_v7();
        diesel::insert_into(key_points::table)
            .values((
                key_points::id.eq(id),
                key_points::list_id.eq(list_id),
                key_points::position.eq(current.len() as i32),
                key_points::text.eq(&point_text),
            ))
            .execute(conn)
            .await?;
        if position < current.len() {
            let order = positions::moved(&current, id, position);
            positions::renumber(conn, Siblings::KeyPoints { list_id }, &order).await?;
        }
        let row = article_access::touch(conn, article.id, write).await?;
        Ok((find_point(conn, id).await?, row.version))
    })
    .await
}

/// Rewrites or moves a point.
pub async fn update_point(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    list_id: Uuid,
    point_id: Uuid,
    patch: &KeyPointPatch,
    write: &Write,
) -> AppResult<(KeyPoint, i32)> {
    let mut errors = Vec::new();
    let point_text = patch
        .text
        .as_deref()
        .map(|t| text::line("text", t, MAX_POINT_LEN, &mut errors));
    text::checked((), errors)?;
    positions::check_position(patch.position)?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let article = article_access::lock(conn, key, write).await?;
        owned_list(conn, article.id, list_id).await?;
        let current = point_ids(conn, list_id).await?;
        if !current.contains(&point_id) {
            return Err(point_not_found());
        }
        let before = find_point(conn, point_id).await?;
        let new_position = patch
            .position
            .map(|_| positions::clamp_position(patch.position, current.len() - 1));
        // A patch that changes nothing leaves the version as it is.
        let same_text = point_text.as_ref().is_none_or(|t| *t == before.text);
        let same_place = new_position.is_none_or(|p| p == before.position as usize);
        if same_text && same_place {
            return Ok((before, article.version));
        }
        if let Some(point_text) = &point_text {
            diesel::update(key_points::table.filter(key_points::id.eq(point_id)))
                .set(key_points::text.eq(point_text))
                .execute(conn)
                .await?;
        }
        if patch.position.is_some() {
            let position = positions::clamp_position(patch.position, current.len() - 1);
            let order = positions::moved(&current, point_id, position);
            positions::renumber(conn, Siblings::KeyPoints { list_id }, &order).await?;
        }
        let row = article_access::touch(conn, article.id, write).await?;
        Ok((find_point(conn, point_id).await?, row.version))
    })
    .await
}

/// Deletes a point; the points after it move up.
pub async fn delete_point(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    list_id: Uuid,
    point_id: Uuid,
    write: &Write,
) -> AppResult<i32> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let article = article_access::lock(conn, key, write).await?;
        owned_list(conn, article.id, list_id).await?;
        let deleted = diesel::delete(
            key_points::table
                .filter(key_points::id.eq(point_id))
                .filter(key_points::list_id.eq(list_id)),
        )
        .execute(conn)
        .await?;
        if deleted == 0 {
            return Err(point_not_found());
        }
        let remaining = point_ids(conn, list_id).await?;
        positions::renumber(conn, Siblings::KeyPoints { list_id }, &remaining).await?;
        Ok(article_access::touch(conn, article.id, write)
            .await?
            .version)
    })
    .await
}
