//! Citations as sub-resources: read, add, change, renumber, delete, each write
//! through the article's write hook.

use super::*;

/// A citation id from a path; anything but a UUID names no citation (404).
pub fn parse_id(value: &str) -> AppResult<Uuid> {
    Uuid::parse_str(value).map_err(|_| not_found())
}

fn not_found() -> AppError {
    AppError::NotFound("The article has no citation with this id.".into())
}

async fn find_in(conn: &mut AsyncPgConnection, article_id: Uuid, id: Uuid) -> AppResult<Citation> {
    citations::table
        .filter(citations::id.eq(id))
        .filter(citations::article_id.eq(article_id))
        .select(Citation::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(not_found)
}

/// All citations of an article, with its state.
pub async fn list_all(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    audience: Audience,
) -> AppResult<(Vec<Citation>, EntityState)> {
    let state = article_access::state(conn, key, audience).await?;
    let article_id = state.id;
    let all = load(conn, &[article_id])
        .await?
        .remove(&article_id)
        .unwrap_or_default();
    Ok((all, state))
}

/// One citation, with the article's state.
pub async fn get(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    id: Uuid,
    audience: Audience,
) -> AppResult<(Citation, EntityState)> {
    let state = article_access::state(conn, key, audience).await?;
    let article_id = state.id;
    Ok((find_in(conn, article_id, id).await?, state))
}

/// Adds a citation (409 when its number is taken).
pub async fn add(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    input: &CitationInput,
    write: &Write,
) -> AppResult<(Citation, EntityState)> {
    let mut errors = Vec::new();
    if let Some(number) = input.number {
        validate_number("number", number, &mut errors);
    }
    let mut valid = validate_one("", input, input.number.unwrap_or(1), &mut errors);
    text::checked((), errors)?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let article = article_access::lock(conn, key, write).await?;
        let used = numbers(conn, article.id).await?;
        if used.len() >= MAX_CITATIONS {
            return Err(AppError::Conflict(format!(
                "The article already has {MAX_CITATIONS} citations, the most it may have."
            )));
        }
        if input.number.is_none() {
            valid.number = used.iter().copied().max().unwrap_or(0) + 1;
            if valid.number > MAX_NUMBER {
                return Err(AppError::Conflict(format!(
                    "The article already uses number {MAX_NUMBER}; give this citation a free number."
                )));
            }
        }
        let ids = insert_all(conn, article.id, std::slice::from_ref(&valid)).await?;
        let row = article_access::touch(conn, article.id, write).await?;
        Ok((find_in(conn, article.id, ids[0]).await?, row.state()))
    })
    .await
}

/// Changes a citation.
pub async fn update(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    id: Uuid,
    patch: &CitationPatch,
    write: &Write,
) -> AppResult<(Citation, EntityState)> {
    // Validate what was sent before reading or locking anything.
    let mut errors = Vec::new();
    if let Some(number) = patch.number {
        validate_number("number", number, &mut errors);
    }
    let title = patch.title.as_ref().map(|v| v.check("title", &mut errors));
    let publisher = patch
        .publisher
        .as_ref()
        .map(|v| v.as_ref().and_then(|v| v.check("publisher", &mut errors)));
    let url = patch
        .url
        .as_ref()
        .map(|v| v.as_ref().map(|v| v.check("url", &mut errors)));
    let author = patch
        .author
        .as_ref()
        .map(|v| v.as_ref().and_then(|v| v.check("author", &mut errors)));
    let date = patch
        .date
        .map(|v| v.inspect(|d| text::check_year("date", d.year(), &mut errors)));
    let quote = patch
        .quote
        .as_ref()
        .map(|v| v.as_ref().and_then(|v| v.check("quote", &mut errors)));
    text::checked((), errors)?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let article = article_access::lock(conn, key, write).await?;
        let current = find_in(conn, article.id, id).await?;
        let unchanged = ValidCitation {
            number: current.number,
            title: current.title.clone(),
            publisher: current.publisher.clone(),
            url: current.url.clone(),
            author: current.author.clone(),
            date: current.date,
            quote: current.quote.clone(),
        };
        let merged = ValidCitation {
            number: patch.number.unwrap_or(current.number),
            title: title.clone().unwrap_or(current.title.clone()),
            publisher: publisher.clone().unwrap_or(current.publisher.clone()),
            url: url.clone().unwrap_or(current.url.clone()),
            author: author.clone().unwrap_or(current.author.clone()),
            date: date.unwrap_or(current.date),
            quote: quote.clone().unwrap_or(current.quote.clone()),
        };
        // A patch that changes nothing leaves the version as it is.
        if merged == unchanged {
            return Ok((current, article.state()));
        }
        diesel::update(citations::table.filter(citations::id.eq(id)))
            .set((
                citations::number.eq(merged.number),
                citations::title.eq(&merged.title),
                citations::publisher.eq(&merged.publisher),
                citations::url.eq(&merged.url),
                citations::author.eq(&merged.author),
                citations::published_on.eq(merged.date),
                citations::quote.eq(&merged.quote),
            ))
            .execute(conn)
            .await
            .map_err(conflict_on("citations_number_key", || {
                "Another citation of this article has this number.".into()
            }))?;
        let row = article_access::touch(conn, article.id, write).await?;
        Ok((find_in(conn, article.id, id).await?, row.state()))
    })
    .await
}

/// Deletes a citation. Other numbers stay as they are.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    id: Uuid,
    write: &Write,
) -> AppResult<EntityState> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let article = article_access::lock(conn, key, write).await?;
        let deleted = diesel::delete(
            citations::table
                .filter(citations::id.eq(id))
                .filter(citations::article_id.eq(article.id)),
        )
        .execute(conn)
        .await?;
        if deleted == 0 {
            return Err(not_found());
        }
        Ok(article_access::touch(conn, article.id, write)
            .await?
            .state())
    })
    .await
}
