//! `/api/v1/media`: uploaded images (editors keep the library) and their files,
//! served publicly by content hash at URLs that never change.

use std::sync::Arc;

use actix_web::http::{header, StatusCode};
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::{Caller, Scope};
use crate::content::media::images::{self, Kind};
use crate::content::media::storage::MediaStore;
use crate::content::media::{self, Media, MediaPatch, MediaText, NewMediaText};
use crate::content::pagination::PageRequest;
use crate::content::precondition::Write;
use crate::db::DbPool;
use crate::error::{AppError, AppResult, Problem};
use crate::http::conditional::json_with_etag;
use crate::http::extract::{read_body, BodyLimit, JsonBody, Query};
use crate::http::paths::{PathParam, Segment, Shape};
use crate::http::responses::{BadParameter, InvalidFields};
use crate::http::{connection, with_location, with_next_link, write_connection, API_PREFIX};

/// The largest upload when `CMS_MEDIA_MAX_BYTES` is not set: 20 MiB.
pub const DEFAULT_MEDIA_MAX_BYTES: usize = 20 << 20;

/// How many uploads a server reads at once: each holds up to `max_bytes` in
/// memory, so uploads in flight hold at most this many times that (one more is a
/// 429).
pub const UPLOADS_AT_ONCE: usize = 8;

/// Where media files go and how much an upload may be; image work (decoding,
/// resizing) is CPU- and memory-heavy, so at most two images are worked on at once
/// per server, on the blocking pool.
#[derive(Debug, Clone)]
pub struct MediaSettings {
    pub store: MediaStore,
    pub max_bytes: usize,
    work: Arc<Semaphore>,
    uploads: Arc<Semaphore>,
}

impl MediaSettings {
    pub fn new(store: MediaStore, max_bytes: usize) -> MediaSettings {
        MediaSettings {
            store,
            max_bytes,
            work: Arc::new(Semaphore::new(2)),
            uploads: Arc::new(Semaphore::new(UPLOADS_AT_ONCE)),
        }
    }

    /// A turn at image work: held by the work itself (not the request), so the
    /// bound holds even when a request is cut off while its image is decoded.
    async fn turn(&self) -> Result<tokio::sync::OwnedSemaphorePermit, AppError> {
        self.work
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| AppError::Internal("image work is shut down".into()))
    }

    /// Runs image work off the async workers, a bounded number at a time.
    async fn image_work<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let turn = self.turn().await?;
        run_image_work(turn, work).await
    }
}

/// Runs `work` on the blocking pool, holding `turn` until it is done.
async fn run_image_work<T: Send + 'static>(
    turn: tokio::sync::OwnedSemaphorePermit,
    work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(move || {
        let _turn = turn;
        work()
    })
    .await
    .map_err(|_| AppError::Internal("image work failed".into()))?
}

/// Alternative text, caption and credit of an upload (each may be set later).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadParams {
    /// Alternative text, for readers who cannot see the image.
    #[param(max_length = 1000)]
    pub alt: Option<String>,
    #[param(max_length = 2000)]
    pub caption: Option<String>,
    /// Who made the image.
    #[param(max_length = 300)]
    pub credit: Option<String>,
}

/// Paging of the library.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListMediaParams {
    /// Page size.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// Where the page starts: the `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// Whether to delete media that is in use.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeleteMediaParams {
    /// `true` takes the image off the articles and authors using it first.
    pub force: Option<bool>,
}

/// One page of the library.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MediaPage {
    /// Newest first.
    pub items: Vec<Media>,
    /// Cursor of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

fn answer(req: &HttpRequest, status: StatusCode, media: &Media) -> AppResult<HttpResponse> {
    json_with_etag(req, status, Some(media.state().entity_tag("media")), media)
}

/// Upload an image
///
/// The body is the file itself (any `Content-Type`; the type is read from the
/// bytes): JPEG, PNG, WebP or GIF, at most `CMS_MEDIA_MAX_BYTES` (20 MiB by
/// default), 12,000 pixels a side and 40 megapixels. Anything else is refused:
/// another format (SVG included) with 415, a damaged file or one past the pixel
/// limits (a decompression bomb declares them) with 422, before it is decoded.
/// The same bytes uploaded twice share one stored file. A server reads at most 8
/// uploads at once (429 beyond).
#[utoipa::path(
    tag = "media",
    security(("bearer" = ["content:write"])),
    params(UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The image file"),
    responses(
        (status = 201, description = "The image was stored", body = Media, headers(
            ("Location" = String, description = "URL of the new media"),
        )),
        (status = 413, description = "The file is larger than the limit", body = Problem,
            content_type = "application/problem+json"),
        (status = 415, description = "Not a JPEG, PNG, WebP or GIF image", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, response = InvalidFields),
        (status = 429, description = "Too many uploads at once; retry after `Retry-After`",
            body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/media")]
pub async fn upload_media(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    settings: web::Data<MediaSettings>,
    params: Query<UploadParams>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    if req
        .headers()
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|e| !e.trim().is_empty() && !e.trim().eq_ignore_ascii_case("identity"))
    {
        return Err(AppError::UnsupportedEncoding(
            "Upload the file as it is, without a Content-Encoding.".into(),
        ));
    }
    let text = upload_text(&params)?;
    let _reading = settings
        .uploads
        .try_acquire()
        .map_err(|_| AppError::TooManyRequests { retry_after: 1 })?;
    let limit = settings.max_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(AppError::PayloadTooLarge { limit });
    }
    let timeout = req
        .app_data::<BodyLimit>()
        .copied()
        .unwrap_or_default()
        .timeout;
    let bytes = tokio::time::timeout(timeout, read_body(payload.into_inner(), limit))
        .await
        .map_err(|_| AppError::RequestTimeout(timeout))??
        .freeze();
    if bytes.is_empty() {
        return Err(AppError::validation(
            "file",
            "is empty: send the image as the body",
        ));
    }
    let (probe, sha256) = {
        let bytes = bytes.clone();
        settings
            .image_work(move || {
                let probe = images::inspect(&bytes)?;
                Ok((probe, hex(&Sha256::digest(&bytes))))
            })
            .await?
    };
    settings
        .store
        .put(&sha256, &original_name(probe.kind), &bytes)
        .await?;
    let mut conn = write_connection(&req, &pool).await?;
    let media = media::create(&mut conn, probe, &sha256, bytes.len(), &text, &write).await?;
    let response = answer(&req, StatusCode::CREATED, &media)?;
    Ok(with_location(
        response,
        &format!("{API_PREFIX}/media/{}", media.id),
    ))
}

/// The upload's text, through the same checks as a JSON body's.
fn upload_text(params: &UploadParams) -> AppResult<MediaText> {
    let value = serde_json::json!({
        "alt": params.alt, "caption": params.caption, "credit": params.credit,
    });
    serde_json::from_value::<NewMediaText>(value)
        .map_err(|error| AppError::InvalidParameter(format!("upload text: {error}")))?
        .validate()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn original_name(kind: Kind) -> String {
    format!("original.{}", kind.extension())
}

/// List media
///
/// The library, newest first — `content:read`.
#[utoipa::path(
    tag = "media",
    security(("bearer" = ["content:read"])),
    params(ListMediaParams),
    responses(
        (status = 200, description = "A page of media", body = MediaPage),
        (status = 400, response = BadParameter),
    )
)]
#[get("/media")]
pub async fn list_media(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    params: Query<ListMediaParams>,
) -> AppResult<HttpResponse> {
    caller.require(Scope::ContentRead)?;
    let page = PageRequest::<(DateTime<Utc>, Uuid)>::parse(params.limit, params.cursor.as_deref())?;
    let mut conn = connection(&pool).await?;
    let (items, next_cursor) = media::list(&mut conn, &page).await?;
    let body = MediaPage {
        items,
        next_cursor: next_cursor.clone(),
    };
    let response = json_with_etag(&req, StatusCode::OK, None, &body)?;
    Ok(with_next_link(&req, response, next_cursor.as_deref()))
}

/// Get media
///
/// One image's record — `content:read`.
#[utoipa::path(
    tag = "media",
    security(("bearer" = ["content:read"])),
    params(MediaPath),
    responses(
        (status = 200, description = "The media", body = Media),
    )
)]
#[get("/media/{media}")]
pub async fn get_media(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    media_id: MediaPath,
) -> AppResult<HttpResponse> {
    caller.require(Scope::ContentRead)?;
    let mut conn = connection(&pool).await?;
    let media = media::find(&mut conn, media_id.key()?).await?;
    answer(&req, StatusCode::OK, &media)
}

/// Update media
///
/// Its text: `alt`, `caption`, `credit` (`null` clears), `focal_point`. The
/// articles it leads get a new version and revision.
#[utoipa::path(
    tag = "media",
    security(("bearer" = ["content:write"])),
    params(MediaPath),
    request_body(content = MediaPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The updated media", body = Media),
        (status = 422, response = InvalidFields),
    )
)]
#[patch("/media/{media}")]
pub async fn update_media(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    media_id: MediaPath,
    body: JsonBody<MediaPatch>,
) -> AppResult<HttpResponse> {
    let input = body.parse().await?;
    let mut conn = write_connection(&req, &pool).await?;
    let media = media::update(&mut conn, media_id.key()?, &input, &write).await?;
    answer(&req, StatusCode::OK, &media)
}

/// Delete media
///
/// In use (a lead image, an avatar) it is a 409 unless `force=true`, which takes
/// it off the articles (each a new version and revision) and authors first.
#[utoipa::path(
    tag = "media",
    security(("bearer" = ["content:write"])),
    params(MediaPath, DeleteMediaParams),
    responses(
        (status = 204, description = "The media was deleted"),
        (status = 409, description = "The media is in use", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[delete("/media/{media}")]
pub async fn delete_media(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    media_id: MediaPath,
    params: Query<DeleteMediaParams>,
) -> AppResult<HttpResponse> {
    let mut conn = write_connection(&req, &pool).await?;
    media::delete(
        &mut conn,
        media_id.key()?,
        params.force.unwrap_or(false),
        &write,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Get an image file
///
/// The original, `{sha256}.{ext}`: public, and never changes (`Cache-Control:
/// immutable`, a strong `ETag`).
#[utoipa::path(
    tag = "media",
    security(()),
    params(("file" = String, Path, description = "`{sha256}.{ext}`, as a media's `url` names it",
        pattern = "^[0-9a-f]{64}\\.(jpg|png|webp|gif)$")),
    responses(
        (status = 200, description = "The file", content_type = "image/*", body = Vec<u8>, headers(
            ("ETag" = String, description = "The file's hash"),
            ("Cache-Control" = String, description = "`public, max-age=31536000, immutable`"),
        )),
        (status = 304, description = "The copy you hold is this one"),
        (status = 404, description = "No such file", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[get("/media/files/{file}")]
pub async fn get_media_file(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    settings: web::Data<MediaSettings>,
    file: web::Path<String>,
) -> AppResult<HttpResponse> {
    let (sha256, extension) = file.split_once('.').ok_or_else(no_file)?;
    let (kind, _) = known_file(&pool, sha256, extension, false).await?;
    let tag = format!("\"{sha256}\"");
    if let Some(response) = not_modified(&req, &tag) {
        return Ok(response);
    }
    let bytes = settings
        .store
        .get(sha256, &original_name(kind))
        .await?
        .ok_or_else(no_file)?;
    Ok(file_response(kind, tag, bytes))
}

/// Get an image rendition
///
/// The image `{width}` pixels wide, `{width}.{ext}` as a media's `renditions`
/// name it (one of 320, 640, 960, 1280, 1920, narrower than the original). Made
/// on the first request and kept: public, never changes.
#[utoipa::path(
    tag = "media",
    security(()),
    params(
        ("sha256" = String, Path, description = "The file's hash", pattern = "^[0-9a-f]{64}$"),
        ("rendition" = String, Path, description = "`{width}.{ext}`",
            pattern = "^(320|640|960|1280|1920)\\.(jpg|png|webp)$"),
    ),
    responses(
        (status = 200, description = "The rendition", content_type = "image/*", body = Vec<u8>, headers(
            ("ETag" = String, description = "The file's hash and width"),
            ("Cache-Control" = String, description = "`public, max-age=31536000, immutable`"),
        )),
        (status = 304, description = "The copy you hold is this one"),
        (status = 404, description = "No such file or width", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[get("/media/files/{sha256}/{rendition}")]
pub async fn get_media_rendition(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    settings: web::Data<MediaSettings>,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (sha256, rendition) = path.into_inner();
    let (width, extension) = rendition.split_once('.').ok_or_else(no_file)?;
    let width: u32 = width.parse().map_err(|_| no_file())?;
    let (kind, original_width) = known_file(&pool, &sha256, extension, true).await?;
    // Only the widths the image lists exist (never an enlargement): refused before
    // anything is read or decoded.
    if !images::widths_for(original_width).contains(&width) {
        return Err(no_file());
    }
    let tag = format!("\"{sha256}-{width}\"");
    if let Some(response) = not_modified(&req, &tag) {
        return Ok(response);
    }
    let out_kind = kind.rendition_kind();
    let name = format!("{width}.{}", out_kind.extension());
    if let Some(bytes) = settings.store.get(&sha256, &name).await? {
        return Ok(file_response(out_kind, tag, bytes));
    }
    // The original is read only once it is this request's turn, so waiting
    // requests hold no image in memory.
    let turn = settings.turn().await?;
    let original = settings
        .store
        .get(&sha256, &original_name(kind))
        .await?
        .ok_or_else(no_file)?;
    let rendered = run_image_work(turn, move || images::render(&original, width, out_kind)).await?;
    settings.store.put(&sha256, &name, &rendered).await?;
    Ok(file_response(out_kind, tag, rendered))
}

fn no_file() -> AppError {
    AppError::NotFound("No image file has this name.".into())
}

/// The kind and width of the file `sha256` that some media has, if `extension`
/// names it (as an original, or as a rendition).
async fn known_file(
    pool: &DbPool,
    sha256: &str,
    extension: &str,
    rendition: bool,
) -> AppResult<(Kind, u32)> {
    if sha256.len() != 64
        || !sha256
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(no_file());
    }
    let mut conn = connection(pool).await?;
    let (kind, width) = media::file_kind(&mut conn, sha256)
        .await?
        .ok_or_else(no_file)?;
    let expected = if rendition {
        kind.rendition_kind()
    } else {
        kind
    };
    if Kind::from_extension(extension) != Some(expected) {
        return Err(no_file());
    }
    Ok((kind, width))
}

fn not_modified(req: &HttpRequest, tag: &str) -> Option<HttpResponse> {
    let held = req.headers().get(header::IF_NONE_MATCH)?.to_str().ok()?;
    // Weak comparison (RFC 9110 13.1.2): a proxy may have weakened the tag.
    let matches = |t: &str| t == tag || t == "*" || t.strip_prefix("W/") == Some(tag);
    held.split(',').any(|t| matches(t.trim())).then(|| {
        HttpResponse::NotModified()
            .insert_header((header::ETAG, tag.to_string()))
            .insert_header((header::CACHE_CONTROL, IMMUTABLE))
            .finish()
    })
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn file_response(kind: Kind, tag: String, bytes: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(kind.content_type())
        .insert_header((header::ETAG, tag))
        .insert_header((header::CACHE_CONTROL, IMMUTABLE))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, "default-src 'none'"))
        .body(bytes)
}

/// `{media}`: a media's id.
pub struct MediaSegment;
pub type MediaPath = PathParam<MediaSegment>;

impl Segment for MediaSegment {
    const NAME: &'static str = "media";
    const DESCRIPTION: &'static str = "The media's id";
    const NOT_FOUND: &'static str = "No media has this id";
    const SHAPE: Shape = Shape::Id;
    type Key = Uuid;
    fn parse(value: &str) -> AppResult<Uuid> {
        Uuid::parse_str(value).map_err(|_| AppError::NotFound("No media has this id.".into()))
    }
}
