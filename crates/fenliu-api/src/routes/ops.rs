//! Unauthenticated operations endpoints: health, readiness, metrics.

use actix_web::{web, HttpResponse};
use fenliu_node::Node;
use serde_json::json;

use crate::error::ApiError;

/// `GET /healthz`: 200 while the process runs.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// `GET /readyz`: 200 when the store answers and the node is not draining.
pub async fn readyz(node: web::Data<Node>) -> Result<HttpResponse, ApiError> {
    if node.is_draining() {
        return Err(ApiError::unavailable("node is draining"));
    }
    if !node.ready().await {
        return Err(ApiError::unavailable("store does not answer"));
    }
    Ok(HttpResponse::Ok().json(json!({"status": "ready", "node_id": node.node_id()})))
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(node: web::Data<Node>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(node.metrics().render())
}

/// `GET /v1/openapi.json`: the API description (no token needed).
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(crate::openapi::document())
}
