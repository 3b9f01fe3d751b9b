//! `/api/v1/webhooks`: subscriptions to events, their deliveries and redelivery
//! — `admin`.

use actix_web::http::{header, StatusCode};
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::{Caller, Scope};
use crate::content::pagination::PageRequest;
use crate::content::precondition::Write;
use crate::content::webhooks::{
    self, CreatedWebhook, Delivery, DeliveryStatus, NewWebhook, Webhook, WebhookPatch,
    WebhookSettings,
};
use crate::db::DbPool;
use crate::error::{AppError, AppResult};
use crate::http::conditional::{json_with_etag, precondition};
use crate::http::extract::{JsonBody, Query};
use crate::http::paths::{PathParam, Segment, Shape};
use crate::http::responses::{BadParameter, InvalidFields};
use crate::http::{connection, with_location, with_next_link, API_PREFIX};

/// Every webhook.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookList {
    /// Oldest first.
    pub items: Vec<Webhook>,
}

/// A page of a webhook's deliveries.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryPage {
    /// Newest first.
    pub items: Vec<Delivery>,
    /// Cursor of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Which deliveries.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListDeliveriesParams {
    /// Only those in this state.
    pub status: Option<DeliveryStatus>,
    /// Page size.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// Where the page starts: the `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

fn admin_write(req: &HttpRequest, caller: &Caller) -> AppResult<Write> {
    caller.require(Scope::Admin)?;
    Ok(Write {
        precondition: precondition(req),
        actor: caller.token_id,
    })
}

fn answer(req: &HttpRequest, status: StatusCode, webhook: &Webhook) -> AppResult<HttpResponse> {
    json_with_etag(
        req,
        status,
        Some(webhook.state().entity_tag("webhook")),
        webhook,
    )
}

/// List webhooks
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The webhooks", body = WebhookList),
    )
)]
#[get("/webhooks")]
pub async fn list_webhooks(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
) -> AppResult<HttpResponse> {
    caller.require(Scope::Admin)?;
    let mut conn = connection(&pool).await?;
    let items = webhooks::list(&mut conn).await?;
    json_with_etag(&req, StatusCode::OK, None, &WebhookList { items })
}

/// Create a webhook
///
/// Events are posted to `url` as JSON, signed per Standard Webhooks
/// (`webhook-id`, `webhook-timestamp`, `webhook-signature`). The answer holds the
/// signing secret, the only time it is shown. The URL must be `http` or `https`
/// and, unless `CMS_WEBHOOK_ALLOW_PRIVATE_TARGETS` is set, resolve to public
/// addresses only (422 otherwise).
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = ["admin"])),
    request_body(content = NewWebhook, content_type = "application/json"),
    responses(
        (status = 201, description = "The webhook, with its secret", body = CreatedWebhook,
            headers(("Location" = String, description = "URL of the webhook"))),
        (status = 422, response = InvalidFields),
    )
)]
#[post("/webhooks")]
pub async fn create_webhook(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    settings: web::Data<WebhookSettings>,
    body: JsonBody<NewWebhook>,
) -> AppResult<HttpResponse> {
    caller.require(Scope::Admin)?;
    let input = body.parse().await?;
    let mut conn = connection(&pool).await?;
    let created = webhooks::create(&mut conn, &input, &settings).await?;
    let tag = created.webhook.state().entity_tag("webhook");
    let response = json_with_etag(&req, StatusCode::CREATED, Some(tag), &created)?;
    let mut response = with_location(
        response,
        &format!("{API_PREFIX}/webhooks/{}", created.webhook.id),
    );
    // The secret must not linger in caches.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// Get a webhook
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = ["admin"])),
    params(WebhookPath),
    responses(
        (status = 200, description = "The webhook", body = Webhook),
    )
)]
#[get("/webhooks/{webhook}")]
pub async fn get_webhook(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    webhook: WebhookPath,
) -> AppResult<HttpResponse> {
    caller.require(Scope::Admin)?;
    let mut conn = connection(&pool).await?;
    let webhook = webhooks::find(&mut conn, webhook.key()?).await?;
    answer(&req, StatusCode::OK, &webhook)
}

/// Update a webhook
///
/// `url`, `events`, `description`; `active: true` starts a webhook the server
/// disabled (its failure count reset). `If-Match` is honoured.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = ["admin"])),
    params(WebhookPath),
    request_body(content = WebhookPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The updated webhook", body = Webhook),
        (status = 422, response = InvalidFields),
    )
)]
#[patch("/webhooks/{webhook}")]
pub async fn update_webhook(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    settings: web::Data<WebhookSettings>,
    webhook: WebhookPath,
    body: JsonBody<WebhookPatch>,
) -> AppResult<HttpResponse> {
    let write = admin_write(&req, &caller)?;
    let input = body.parse().await?;
    let mut conn = connection(&pool).await?;
    let webhook = webhooks::update(&mut conn, webhook.key()?, &input, &settings, &write).await?;
    answer(&req, StatusCode::OK, &webhook)
}

/// Delete a webhook
///
/// With its deliveries; nothing more is sent to it.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = ["admin"])),
    params(WebhookPath),
    responses(
        (status = 204, description = "The webhook was deleted"),
    )
)]
#[delete("/webhooks/{webhook}")]
pub async fn delete_webhook(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    webhook: WebhookPath,
) -> AppResult<HttpResponse> {
    let write = admin_write(&req, &caller)?;
    let mut conn = connection(&pool).await?;
    webhooks::delete(&mut conn, webhook.key()?, &write).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List a webhook's deliveries
///
/// Newest first, each with every attempt (status code, latency, the start of the
/// answer or why there was none).
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = ["admin"])),
    params(WebhookPath, ListDeliveriesParams),
    responses(
        (status = 200, description = "A page of deliveries", body = DeliveryPage),
        (status = 400, response = BadParameter),
    )
)]
#[get("/webhooks/{webhook}/deliveries")]
pub async fn list_deliveries(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    webhook: WebhookPath,
    params: Query<ListDeliveriesParams>,
) -> AppResult<HttpResponse> {
    caller.require(Scope::Admin)?;
    let page = PageRequest::<(DateTime<Utc>, Uuid)>::parse(params.limit, params.cursor.as_deref())?;
    let mut conn = connection(&pool).await?;
    let (items, next_cursor) =
        webhooks::deliveries(&mut conn, webhook.key()?, params.status, &page).await?;
    let body = DeliveryPage {
        items,
        next_cursor: next_cursor.clone(),
    };
    let response = json_with_etag(&req, StatusCode::OK, None, &body)?;
    Ok(with_next_link(&req, response, next_cursor.as_deref()))
}

/// Redeliver
///
/// Sends the delivery again now, whatever became of it; it is retried for a whole
/// retry period from now. Same event, same `webhook-id`.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = ["admin"])),
    params(WebhookPath, DeliveryPath),
    responses(
        (status = 202, description = "The delivery, pending again", body = Delivery),
    )
)]
#[post("/webhooks/{webhook}/deliveries/{delivery}/redeliver")]
pub async fn redeliver(
    caller: Caller,
    pool: web::Data<DbPool>,
    webhook: WebhookPath,
    delivery: DeliveryPath,
) -> AppResult<HttpResponse> {
    caller.require(Scope::Admin)?;
    let mut conn = connection(&pool).await?;
    let delivery = webhooks::redeliver(&mut conn, webhook.key()?, delivery.key()?).await?;
    Ok(HttpResponse::Accepted().json(delivery))
}

/// `{webhook}`: a webhook's id.
pub struct WebhookSegment;
pub type WebhookPath = PathParam<WebhookSegment>;

impl Segment for WebhookSegment {
    const NAME: &'static str = "webhook";
    const DESCRIPTION: &'static str = "The webhook's id";
    const NOT_FOUND: &'static str = "No webhook has this id";
    const SHAPE: Shape = Shape::Id;
    type Key = Uuid;
    fn parse(value: &str) -> AppResult<Uuid> {
        Uuid::parse_str(value).map_err(|_| AppError::NotFound("No webhook has this id.".into()))
    }
}

/// `{delivery}`: a delivery's id.
pub struct DeliverySegment;
pub type DeliveryPath = PathParam<DeliverySegment>;

impl Segment for DeliverySegment {
    const NAME: &'static str = "delivery";
    const DESCRIPTION: &'static str = "The delivery's id";
    const NOT_FOUND: &'static str = "No delivery has this id";
    const SHAPE: Shape = Shape::Id;
    type Key = Uuid;
    fn parse(value: &str) -> AppResult<Uuid> {
        Uuid::parse_str(value).map_err(|_| AppError::NotFound("No delivery has this id.".into()))
    }
}
