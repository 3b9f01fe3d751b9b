//! An article's body as it is written: the images it names as `media:<id>`
//! looked up, then rendered (off the async workers) with them.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::content::markdown::{self, RenderedBody, MEDIA_SCHEME};
use crate::content::media;
use crate::error::{AppError, AppResult};

/// The most distinct images a body may name: each is a row to keep and a lookup.
pub const MAX_BODY_MEDIA: usize = 200;

/// What a `media:` image that names nothing becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unknown {
    /// A 422 on `body` (an editor's write).
    Refused,
    /// Left out (a body restored from a revision, or rendered again, may name
    /// images deleted since).
    LeftOut,
}

/// Renders `body`, its `media:` images looked up first (one query when it names
/// any).
pub(super) async fn render(
    conn: &mut AsyncPgConnection,
    body: &str,
    unknown: Unknown,
) -> AppResult<RenderedBody> {
    let images = if body.contains(MEDIA_SCHEME) {
        let named = markdown::media_references_off_thread(body).await?;
        if named.len() > MAX_BODY_MEDIA {
            return Err(AppError::validation(
                "body",
                format!("names {} images; at most {MAX_BODY_MEDIA}", named.len()),
            ));
        }
        let mut ids = Vec::with_capacity(named.len());
        for name in &named {
            match Uuid::parse_str(name) {
                Ok(id) => ids.push(id),
                Err(_) if unknown == Unknown::Refused => {
                    return Err(AppError::validation(
                        "body",
                        format!("`{MEDIA_SCHEME}{}` names no media id", shortened(name)),
                    ))
                }
                Err(_) => {}
            }
        }
        let images = media::body_images(conn, &ids).await?;
        if unknown == Unknown::Refused {
            if let Some(missing) = ids.iter().find(|id| !images.contains_key(id)) {
                return Err(AppError::validation(
                    "body",
                    format!("`{MEDIA_SCHEME}{missing}`: no media has this id"),
                ));
            }
        }
        images
    } else {
        Default::default()
    };
    markdown::render_off_thread(body, images).await
}

/// At most 40 characters of what a caller wrote, for an error message.
fn shortened(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}
