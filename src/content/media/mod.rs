//! Media: uploaded images, their editors' text (alt, caption, credit, focal point),
//! their files (stored once per content, named by hash) and renditions. Types,
//! validation and all media SQL.

pub mod images;
pub mod storage;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::content::article_access::{bump_versions, record_revisions};
use crate::content::markdown::{BodyImage, BodyImages};
use crate::content::pagination::{into_page, PageRequest};
use crate::content::precondition::{EntityState, Write};
use crate::content::text::{self, Line, Text};
use crate::db::schema::{article_media, articles, authors, media};
use crate::error::{AppError, AppResult, FieldError};
use images::{Kind, Probe};

/// Where media files are served, under the API.
pub const FILES_PATH: &str = "/api/v1/media/files";

/// Alternative text, for readers who cannot see the image.
pub type AltText = Text<1000>;
pub type Caption = Text<2000>;
/// Who made the image ("Photo: Aya Batbayar / Reuters").
pub type Credit = Line<300>;

/// Where the subject of an image is: crops keep it in frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FocalPoint {
    /// 0 (left edge) to 1 (right edge).
    #[schema(minimum = 0, maximum = 1, example = 0.5)]
    pub x: f32,
    /// 0 (top) to 1 (bottom).
    #[schema(minimum = 0, maximum = 1, example = 0.4)]
    pub y: f32,
}

impl Default for FocalPoint {
    fn default() -> FocalPoint {
        FocalPoint { x: 0.5, y: 0.5 }
    }
}

impl FocalPoint {
    fn check(self, errors: &mut Vec<FieldError>) -> FocalPoint {
        for (name, value) in [("x", self.x), ("y", self.y)] {
            if !(0.0..=1.0).contains(&value) {
                errors.push(FieldError::new(
                    format!("focal_point.{name}"),
                    "must be between 0 and 1",
                ));
            }
        }
        self
    }
}

/// The image at one of the fixed widths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Rendition {
    #[schema(example = 640)]
    pub width: u32,
    /// Root-relative; the file never changes (cache it for good).
    #[schema(
        example = "/api/v1/media/files/3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b/640.jpg"
    )]
    pub url: String,
}

/// The URL of an image's original and of its renditions.
fn urls(sha256: &str, kind: Kind, width: u32) -> (String, Vec<Rendition>) {
    let original = format!("{FILES_PATH}/{sha256}.{}", kind.extension());
    let extension = kind.rendition_kind().extension();
    let renditions = images::widths_for(width)
        .into_iter()
        .map(|w| Rendition {
            width: w,
            url: format!("{FILES_PATH}/{sha256}/{w}.{extension}"),
        })
        .collect();
    (original, renditions)
}

/// An uploaded image as served.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Media {
    pub id: Uuid,
    /// SHA-256 of the file: uploads of the same bytes share one stored file.
    pub sha256: String,
    /// Read from the file's bytes.
    #[schema(example = "image/jpeg")]
    pub content_type: String,
    pub width: i32,
    pub height: i32,
    pub size_bytes: i64,
    pub alt: Option<String>,
    pub caption: Option<String>,
    pub credit: Option<String>,
    pub focal_point: FocalPoint,
    /// The original file, root-relative; it never changes.
    pub url: String,
    /// Narrower versions, at fixed widths below the original's.
    pub renditions: Vec<Rendition>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: Option<Uuid>,
    pub updated_by: Option<Uuid>,
}

impl Media {
    pub fn state(&self) -> EntityState {
        EntityState {
            id: self.id,
            version: self.version,
            phase: "",
            context: 0,
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = media, check_for_backend(diesel::pg::Pg))]
struct MediaRow {
    id: Uuid,
    sha256: String,
    content_type: String,
    width: i32,
    height: i32,
    size_bytes: i64,
    alt: Option<String>,
    caption: Option<String>,
    credit: Option<String>,
    focal_x: f32,
    focal_y: f32,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    created_by: Option<Uuid>,
    updated_by: Option<Uuid>,
}

impl From<MediaRow> for Media {
    fn from(row: MediaRow) -> Media {
        let kind = Kind::from_content_type(&row.content_type).unwrap_or(Kind::Jpeg);
        let (url, renditions) = urls(&row.sha256, kind, u32::try_from(row.width).unwrap_or(0));
        Media {
            id: row.id,
            sha256: row.sha256,
            content_type: row.content_type,
            width: row.width,
            height: row.height,
            size_bytes: row.size_bytes,
            alt: row.alt,
            caption: row.caption,
            credit: row.credit,
            focal_point: FocalPoint {
                x: row.focal_x,
                y: row.focal_y,
            },
            url,
            renditions,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            created_by: row.created_by,
            updated_by: row.updated_by,
        }
    }
}

/// An image where it is used: an article's lead image (with the article's own
/// caption and credit where it has them, else the image's) or an author's avatar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ImageRef {
    /// The media's id.
    pub id: Uuid,
    pub sha256: String,
    #[schema(example = "image/jpeg")]
    pub content_type: String,
    pub width: i32,
    pub height: i32,
    pub alt: Option<String>,
    pub caption: Option<String>,
    pub credit: Option<String>,
    pub focal_point: FocalPoint,
    /// The original file, root-relative; it never changes.
    #[serde(default)]
    #[schema(required = true)]
    pub url: String,
    /// Narrower versions (for `srcset`), at fixed widths below the original's.
    #[serde(default)]
    #[schema(required = true)]
    pub renditions: Vec<Rendition>,
}

impl ImageRef {
    /// Reads the image as a row (or a snapshot) holds it, URLs
    /// worked out from its hash.
    pub fn from_stored(value: serde_json::Value) -> Option<ImageRef> {
        let mut image: ImageRef = serde_json::from_value(value).ok()?;
        let kind = Kind::from_content_type(&image.content_type)?;
        let (url, renditions) = urls(&image.sha256, kind, u32::try_from(image.width).unwrap_or(0));
        image.url = url;
        image.renditions = renditions;
        Some(image)
    }
}

/// An article's lead image as written.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadImageInput {
    /// The media's id.
    pub media: Uuid,
    /// This article's caption, when it differs from the image's.
    #[serde(default)]
    pub caption: Option<Caption>,
    /// This article's credit, when it differs from the image's.
    #[serde(default)]
    pub credit: Option<Credit>,
}

/// A lead image, validated.
#[derive(Debug, Clone)]
pub struct ValidLeadImage {
    pub media: Uuid,
    pub caption: Option<String>,
    pub credit: Option<String>,
}

impl LeadImageInput {
    pub fn check(&self, errors: &mut Vec<FieldError>) -> ValidLeadImage {
        ValidLeadImage {
            media: self.media,
            caption: self
                .caption
                .as_ref()
                .and_then(|c| c.check("lead_image.caption", errors)),
            credit: self
                .credit
                .as_ref()
                .map(|c| c.check("lead_image.credit", errors)),
        }
    }
}

/// An upload's text, as query parameters of the upload.
#[derive(Debug, Default, Deserialize)]
pub struct NewMediaText {
    pub alt: Option<AltText>,
    pub caption: Option<Caption>,
    pub credit: Option<Credit>,
}

/// An upload's text, validated.
#[derive(Debug, Default)]
pub struct MediaText {
    alt: Option<String>,
    caption: Option<String>,
    credit: Option<String>,
}

impl NewMediaText {
    /// Validates the text (before the file is read).
    pub fn validate(&self) -> AppResult<MediaText> {
        let mut errors = Vec::new();
        let text = MediaText {
            alt: self.alt.as_ref().and_then(|a| a.check("alt", &mut errors)),
            caption: self
                .caption
                .as_ref()
                .and_then(|c| c.check("caption", &mut errors)),
            credit: self.credit.as_ref().map(|c| c.check("credit", &mut errors)),
        };
        text::checked(text, errors)
    }
}

/// A partial update of an image's text: fields left out stay, `null` clears.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaPatch {
    #[serde(default, deserialize_with = "crate::content::serde_helpers::present")]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub alt: Option<Option<AltText>>,
    #[serde(default, deserialize_with = "crate::content::serde_helpers::present")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub caption: Option<Option<Caption>>,
    #[serde(default, deserialize_with = "crate::content::serde_helpers::present")]
    #[schema(value_type = Option<String>, max_length = 300)]
    pub credit: Option<Option<Credit>>,
    #[serde(default)]
    pub focal_point: Option<FocalPoint>,
}

fn not_found() -> AppError {
    AppError::NotFound("No media has this id.".into())
}

/// Records an uploaded image (its file already stored).
pub async fn create(
    conn: &mut AsyncPgConnection,
    probe: Probe,
    sha256: &str,
    size_bytes: usize,
    text: &MediaText,
    write: &Write,
) -> AppResult<Media> {
    let row: MediaRow = diesel::insert_into(media::table)
        .values((
            media::id.eq(Uuid::now_v7()),
            media::sha256.eq(sha256),
            media::content_type.eq(probe.kind.content_type()),
            media::width.eq(probe.width as i32),
            media::height.eq(probe.height as i32),
            media::size_bytes.eq(size_bytes as i64),
            media::alt.eq(&text.alt),
            media::caption.eq(&text.caption),
            media::credit.eq(&text.credit),
            media::created_by.eq(write.actor),
            media::updated_by.eq(write.actor),
        ))
        .returning(MediaRow::as_returning())
        .get_result(conn)
        .await?;
    Ok(row.into())
}

/// One image's record.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<Media> {
    let row: MediaRow = media::table
        .find(id)
        .select(MediaRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(not_found)?;
    Ok(row.into())
}

/// A page of the library, newest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    page: &PageRequest<(DateTime<Utc>, Uuid)>,
) -> AppResult<(Vec<Media>, Option<String>)> {
    let mut query = media::table
        .select(MediaRow::as_select())
        .order((media::created_at.desc(), media::id.desc()))
        .limit(page.limit + 1)
        .into_boxed();
    if let Some((at, id)) = page.after {
        query = query.filter(
            media::created_at
                .lt(at)
                .or(media::created_at.eq(at).and(media::id.lt(id))),
        );
    }
    let rows: Vec<MediaRow> = query.load(conn).await?;
    let items: Vec<Media> = rows.into_iter().map(Media::from).collect();
    Ok(into_page(items, page.limit, |m: &Media| {
        (m.created_at, m.id)
    }))
}

/// The kind and width of the stored file `sha256`, if some media has it (files
/// are served only for known hashes).
pub async fn file_kind(
    conn: &mut AsyncPgConnection,
    sha256: &str,
) -> AppResult<Option<(Kind, u32)>> {
    let found: Option<(String, i32)> = media::table
        .filter(media::sha256.eq(sha256))
        .select((media::content_type, media::width))
        .first(conn)
        .await
        .optional()?;
    Ok(found.and_then(|(content_type, width)| {
        Some((
            Kind::from_content_type(&content_type)?,
            u32::try_from(width).ok()?,
        ))
    }))
}

async fn lock(conn: &mut AsyncPgConnection, id: Uuid, write: &Write) -> AppResult<Media> {
    let row: MediaRow = media::table
        .find(id)
        .select(MediaRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(not_found)?;
    let current = Media::from(row);
    write.precondition.check(&current.state())?;
    Ok(current)
}

/// The articles that show image `id` (as lead image or in the body; trashed ones
/// and pending copies too), locked in id order; their versions bumped, and the
/// bodies that show it rendered again when next read (its text is in them).
async fn touch_articles_showing(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<Vec<Uuid>> {
    let in_body = article_media::table
        .filter(article_media::media_id.eq(id))
        .select(article_media::article_id);
    let ids: Vec<Uuid> = articles::table
        .filter(
            articles::lead_image_id
                .eq(id)
                .or(articles::id.eq_any(in_body)),
        )
        .select(articles::id)
        .order(articles::id)
        .for_no_key_update()
        .load(conn)
        .await?;
    bump_versions(conn, &ids).await?;
    diesel::update(articles::table.filter(articles::id.eq_any(in_body)))
        .set(articles::body_html.eq(None::<String>))
        .execute(conn)
        .await?;
    Ok(ids)
}

/// Changes an image's text, if the precondition holds. The articles that show it
/// read differently: each gets a new version and revision.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    patch: &MediaPatch,
    write: &Write,
) -> AppResult<Media> {
    let mut errors = Vec::new();
    let alt = patch
        .alt
        .as_ref()
        .map(|a| a.as_ref().and_then(|a| a.check("alt", &mut errors)));
    let caption = patch
        .caption
        .as_ref()
        .map(|c| c.as_ref().and_then(|c| c.check("caption", &mut errors)));
    let credit = patch
        .credit
        .as_ref()
        .map(|c| c.as_ref().map(|c| c.check("credit", &mut errors)));
    let focal = patch.focal_point.map(|f| f.check(&mut errors));
    text::checked((), errors)?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let current = lock(conn, id, write).await?;
        let alt = alt.unwrap_or(current.alt.clone());
        let caption = caption.unwrap_or(current.caption.clone());
        let credit = credit.unwrap_or(current.credit.clone());
        let focal = focal.unwrap_or(current.focal_point);
        if alt == current.alt
            && caption == current.caption
            && credit == current.credit
            && focal == current.focal_point
        {
            return Ok(current);
        }
        let touched = touch_articles_showing(conn, id).await?;
        // Authors show their avatar's text too: their representation changed.
        diesel::update(authors::table.filter(authors::avatar_id.eq(id)))
            .set(authors::version.eq(authors::version + 1))
            .execute(conn)
            .await?;
        let row: MediaRow = diesel::update(media::table.find(id))
            .set((
                media::alt.eq(alt),
                media::caption.eq(caption),
                media::credit.eq(credit),
                media::focal_x.eq(focal.x),
                media::focal_y.eq(focal.y),
                media::version.eq(media::version + 1),
                media::updated_at.eq(diesel::dsl::now),
                media::updated_by.eq(write.actor),
            ))
            .returning(MediaRow::as_returning())
            .get_result(conn)
            .await?;
        record_revisions(conn, &touched, write.actor).await?;
        Ok(row.into())
    })
    .await
}

/// Deletes an image's record, if the precondition holds. In use (an article's
/// lead image or in its body, trashed ones and pending changes included, or an
/// author's avatar) it is a 409, unless `force`: then it is taken off them first
/// (each article a new version and revision; a body keeps its Markdown, and its
/// HTML leaves the image out). The file stays while other records share it.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    force: bool,
    write: &Write,
) -> AppResult<()> {
    conn.transaction::<_, AppError, _>(async |conn| {
        lock(conn, id, write).await?;
        let leading: i64 = articles::table
            .filter(articles::lead_image_id.eq(id))
            .count()
            .get_result(conn)
            .await?;
        let avatars: i64 = authors::table
            .filter(authors::avatar_id.eq(id))
            .count()
            .get_result(conn)
            .await?;
        let in_bodies: i64 = article_media::table
            .filter(article_media::media_id.eq(id))
            .count()
            .get_result(conn)
            .await?;
        if leading + in_bodies + avatars > 0 && !force {
            return Err(AppError::Conflict(format!(
                "The image is in use: the lead image of {leading} article(s), in the body of \
                 {in_bodies} (trashed ones and pending changes count), and the avatar of \
                 {avatars} author(s). Delete with `force=true` to take it off them first."
            )));
        }
        let touched = if leading + in_bodies > 0 {
            let touched = touch_articles_showing(conn, id).await?;
            diesel::delete(article_media::table.filter(article_media::media_id.eq(id)))
                .execute(conn)
                .await?;
            diesel::update(articles::table.filter(articles::lead_image_id.eq(id)))
                .set((
                    articles::lead_image_id.eq(None::<Uuid>),
                    articles::lead_image_caption.eq(None::<String>),
                    articles::lead_image_credit.eq(None::<String>),
                ))
                .execute(conn)
                .await?;
            Some(touched)
        } else {
            None
        };
        if avatars > 0 {
            diesel::update(authors::table.filter(authors::avatar_id.eq(id)))
                .set((
                    authors::avatar_id.eq(None::<Uuid>),
                    authors::version.eq(authors::version + 1),
                    authors::updated_at.eq(diesel::dsl::now),
                ))
                .execute(conn)
                .await?;
        }
        diesel::delete(media::table.find(id)).execute(conn).await?;
        // Last: recording takes the events' lock, held until the commit.
        if let Some(touched) = touched {
            record_revisions(conn, &touched, write.actor).await?;
        }
        Ok(())
    })
    .await
}

/// Checks that an image exists and keeps it from being deleted until the
/// transaction ends: a 422 naming `field` when there is none.
pub(crate) async fn hold(conn: &mut AsyncPgConnection, id: Uuid, field: &str) -> AppResult<()> {
    let found: Option<Uuid> = media::table
        .find(id)
        .select(media::id)
        .for_key_share()
        .first(conn)
        .await
        .optional()?;
    match found {
        Some(_) => Ok(()),
        None => Err(AppError::validation(field, "no media has this id")),
    }
}

/// The image an article's revision names, if it still exists.
pub(crate) async fn still_there(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<bool> {
    Ok(media::table
        .find(id)
        .select(media::id)
        .for_key_share()
        .first::<Uuid>(conn)
        .await
        .optional()?
        .is_some())
}

/// How an image the body names is shown, for the ids in `ids` that exist (one
/// query).
pub async fn body_images(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> AppResult<BodyImages> {
    if ids.is_empty() {
        return Ok(BodyImages::new());
    }
    let rows: Vec<(Uuid, String, String, i32, i32, Option<String>)> = media::table
        .filter(media::id.eq_any(ids))
        .select((
            media::id,
            media::sha256,
            media::content_type,
            media::width,
            media::height,
            media::alt,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, sha256, content_type, width, height, alt)| {
            let kind = Kind::from_content_type(&content_type)?;
            let (src, renditions) = urls(&sha256, kind, u32::try_from(width).ok()?);
            let srcset = renditions
                .iter()
                .map(|r| format!("{} {}w", r.url, r.width))
                .chain(std::iter::once(format!("{src} {width}w")))
                .collect::<Vec<_>>()
                .join(", ");
            let image = BodyImage {
                src,
                srcset,
                width,
                height,
                alt,
            };
            Some((id, image))
        })
        .collect())
}

/// Records that article `article`'s body shows the images `ids` (replacing what
/// it showed), holding them until the transaction ends: a 422 on `body` when one
/// has been deleted meanwhile.
pub(crate) async fn show_in_body(
    conn: &mut AsyncPgConnection,
    article: Uuid,
    ids: &[Uuid],
) -> AppResult<()> {
    diesel::delete(article_media::table.filter(article_media::article_id.eq(article)))
        .execute(conn)
        .await?;
    if ids.is_empty() {
        return Ok(());
    }
    let held: Vec<Uuid> = media::table
        .filter(media::id.eq_any(ids))
        .select(media::id)
        .order(media::id)
        .for_key_share()
        .load(conn)
        .await?;
    if let Some(gone) = ids.iter().find(|id| !held.contains(id)) {
        return Err(AppError::validation(
            "body",
            format!("names `media:{gone}`, which was deleted meanwhile"),
        ));
    }
    let rows: Vec<_> = ids
        .iter()
        .map(|id| {
            (
                article_media::article_id.eq(article),
                article_media::media_id.eq(*id),
            )
        })
        .collect();
    diesel::insert_into(article_media::table)
        .values(&rows)
        .execute(conn)
        .await?;
    Ok(())
}

/// The images article `article`'s body was recorded as showing.
pub(crate) async fn shown_in_body(
    conn: &mut AsyncPgConnection,
    article: Uuid,
) -> AppResult<Vec<Uuid>> {
    Ok(article_media::table
        .filter(article_media::article_id.eq(article))
        .select(article_media::media_id)
        .load(conn)
        .await?)
}
