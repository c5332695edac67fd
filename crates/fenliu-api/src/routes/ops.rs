//! Unauthenticated operations endpoints: health, readiness, metrics and the
//! API's own description.

use actix_web::web::{Data, Json};
use actix_web::{get, HttpResponse};
use fenliu_node::Node;

use crate::error::{ApiError, ApiResult};
use crate::openapi::Document;
use crate::views::{Health, Ready};

/// 200 while the process runs
#[utoipa::path(tag = "operations", responses((status = OK, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// 200 when the store answers and the node is not draining
///
/// The store must answer within 2 s; otherwise, or while draining, 503
/// `unavailable` with `Retry-After`.
#[utoipa::path(tag = "operations", responses((status = OK, body = Ready)))]
#[get("/readyz")]
pub async fn readyz(node: Data<Node>) -> ApiResult<Json<Ready>> {
    if node.is_draining() {
        return Err(ApiError::unavailable("node is draining"));
    }
    if !node.ready().await {
        return Err(ApiError::unavailable("store does not answer"));
    }
    Ok(Json(Ready {
        status: "ready",
        node_id: node.node_id().to_owned(),
    }))
}

/// Prometheus text format
#[utoipa::path(
    tag = "operations",
    responses((status = OK, description = "the node's metrics",
        content_type = "text/plain; version=0.0.4; charset=utf-8", body = String)),
)]
#[get("/metrics")]
pub async fn metrics(node: Data<Node>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(node.metrics().render())
}

/// This document
///
/// The OpenAPI 3.1 description of the API, derived from the handlers and
/// the types they read and answer.
#[utoipa::path(
    tag = "operations",
    responses((status = OK, description = "the OpenAPI document", body = Object)),
)]
#[get("/v1/openapi.json")]
pub async fn openapi(doc: Data<Document>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.bytes())
}
