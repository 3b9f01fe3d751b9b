//! `GET /healthz` (the process is alive) and `GET /readyz` (it can reach the database).

use actix_web::{get, web};
use diesel_async::RunQueryDsl;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbPool;
use crate::error::{AppError, AppResult, Problem};

/// Health of the process or of its dependencies.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}

/// Liveness
///
/// The process answers; needs no database.
#[utoipa::path(
    tag = "health",
    responses((status = 200, description = "The process is alive", body = Health))
)]
#[get("/healthz")]
pub async fn healthz() -> web::Json<Health> {
    web::Json(Health {
        status: "ok".into(),
    })
}

/// Readiness
///
/// The database answers a query; 503 with `Retry-After` when it does not.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, description = "The database is reachable", body = Health),
        (status = 503, description = "The database is unreachable", body = Problem,
            content_type = "application/problem+json",
            headers(("Retry-After" = u32, description = "Seconds to wait before retrying"))),
    )
)]
#[get("/readyz")]
pub async fn readyz(pool: web::Data<DbPool>) -> AppResult<web::Json<Health>> {
    let mut conn = crate::http::connection(&pool).await?;
    diesel::sql_query("SELECT 1")
        .execute(&mut conn)
        .await
        .map_err(|e| match AppError::from(e) {
            AppError::Internal(_) => AppError::Unavailable,
            other => other,
        })?;
    Ok(web::Json(Health {
        status: "ready".into(),
    }))
}
