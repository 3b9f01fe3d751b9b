//! The lists and points as sub-resources: read, add, change, move, delete, each
//! write through the article's write hook.

use super::*;

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

/// All lists of an article, with the article's state.
pub async fn list_all(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    audience: Audience,
) -> AppResult<(Vec<KeyPointList>, EntityState)> {
    let state = article_access::state(conn, key, audience).await?;
    let article_id = state.id;
    let lists = load(conn, &[article_id])
        .await?
        .remove(&article_id)
        .unwrap_or_default();
    Ok((lists, state))
}

/// One list, with the article's state.
pub async fn get(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    list_id: Uuid,
    audience: Audience,
) -> AppResult<(KeyPointList, EntityState)> {
    let state = article_access::state(conn, key, audience).await?;
    let article_id = state.id;
    Ok((find_list(conn, article_id, list_id).await?, state))
}

/// Adds a list to an article.
pub async fn add_list(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    input: &NewKeyPointList,
    write: &Write,
) -> AppResult<(KeyPointList, EntityState)> {
    let mut errors = Vec::new();
    let valid = validate_list("", input.title.as_ref(), &input.points, &mut errors);
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
        Ok((find_list(conn, article.id, new_id).await?, row.state()))
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
) -> AppResult<(KeyPointList, EntityState)> {
    let mut errors = Vec::new();
    let title = patch.title.as_ref().map(|t| t.check("title", &mut errors));
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
            return Ok((before, article.state()));
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
        Ok((find_list(conn, article.id, list_id).await?, row.state()))
    })
    .await
}

/// Deletes a list and its points; the lists after it move up.
pub async fn delete_list(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    list_id: Uuid,
    write: &Write,
) -> AppResult<EntityState> {
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
            .state())
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
) -> AppResult<(KeyPoint, EntityState)> {
    let mut errors = Vec::new();
    let point_text = input.text.check("text", &mut errors);
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
        Ok((find_point(conn, id).await?, row.state()))
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
) -> AppResult<(KeyPoint, EntityState)> {
    let mut errors = Vec::new();
    let point_text = patch.text.as_ref().map(|t| t.check("text", &mut errors));
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
            return Ok((before, article.state()));
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
        Ok((find_point(conn, point_id).await?, row.state()))
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
) -> AppResult<EntityState> {
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
            .state())
    })
    .await
}
