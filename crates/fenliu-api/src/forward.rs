//! Forwarding: a node that does not own a shop passes the request to the
//! node that does.
//!
//! At most one hop: a forwarded request carries `x-fenliu-forwarded`, and a
//! node receiving one serves it or answers 503 with `Retry-After` (the
//! ownership moved in between), so requests never loop.

use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{HttpResponse, ResponseError};
use fenliu_core::ShopId;
use fenliu_node::{Node, Route};
use tracing::debug;

use crate::error::ApiError;

/// Header marking a forwarded request (its value is the forwarding node).
pub const FORWARDED: &str = "x-fenliu-forwarded";

/// The shop a `/v1/shops/{shop}/...` path is about, unless the request is
/// one every node answers itself (events come from the shared stream, the
/// owner from the lease).
fn forwardable_shop(path: &str) -> Option<ShopId> {
    let rest = path.strip_prefix("/v1/shops/")?;
    let (shop, tail) = rest.split_once('/').unwrap_or((rest, ""));
    if tail == "events" || tail == "owner" {
        return None;
    }
    ShopId::parse(shop).ok()
}

/// The forwarding middleware.
pub async fn forward(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let node = req.app_data::<web::Data<Node>>().cloned();
    let shop = forwardable_shop(req.path());
    let (Some(node), Some(shop)) = (node, shop) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    if req.headers().contains_key(FORWARDED) || !authorized_for(&req, &shop) {
        // Forwarded already, or a caller the handler will refuse anyway:
        // never take a lease (or forward) on behalf of an unauthenticated
        // request.
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let url = match node.route(&shop).await {
        Ok(Route::Remote { url, .. }) => url,
        // Local, or an error the handler will answer the same way.
        _ => {
            return next
                .call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body)
        }
    };
    let (http, mut payload) = req.into_parts();
    let body = match read_body(&http, &mut payload).await {
        Ok(b) => b,
        Err(e) => return Ok(ServiceResponse::new(http, e.error_response())),
    };
    let target = format!(
        "{}{}",
        url.trim_end_matches('/'),
        http.uri().path_and_query().map_or("", |p| p.as_str())
    );
    debug!(shop_id = %shop, %target, "forwarding to the owner");
    let resp = match proxy(&http, &node, &target, body).await {
        Ok(r) => r,
        Err(e) => {
            ApiError::unavailable(format!("owner of shop {shop} unreachable: {e}")).error_response()
        }
    };
    Ok(ServiceResponse::new(http, resp))
}

/// Whether the request carries a valid token for `shop`. The verification
/// is kept in the request, so the handler does not verify the token again.
fn authorized_for(req: &ServiceRequest, shop: &ShopId) -> bool {
    req.app_data::<web::Data<crate::auth::JwtKeys>>()
        .and_then(|keys| crate::auth::Caller::of(keys, req).ok())
        .is_some_and(|caller| caller.in_shop(shop).is_ok())
}

/// Reads the whole body (within the configured 64 KiB limit) to pass it on.
async fn read_body(
    req: &actix_web::HttpRequest,
    payload: &mut actix_web::dev::Payload,
) -> Result<Bytes, actix_web::Error> {
    use actix_web::FromRequest;
    Bytes::from_request(req, payload).await.map_err(|e| {
        if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large().into()
        } else {
            ApiError::invalid(format!("cannot read body: {e}")).into()
        }
    })
}

/// The one HTTP client a node uses to reach other nodes.
pub(crate) fn client() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(2))
            .build()
            .expect("http client")
    })
}

/// A request to the node at `url` on a caller's behalf: `path` under it, the
/// caller's `Authorization` as it came, and the mark of a forwarded request
/// from node `from` (the receiver serves it itself: one hop at most).
pub(crate) fn on_behalf(
    method: reqwest::Method,
    url: &str,
    path: &str,
    authorization: &str,
    from: &str,
) -> reqwest::RequestBuilder {
    client()
        .request(method, format!("{}{path}", url.trim_end_matches('/')))
        .header("authorization", authorization)
        .header(FORWARDED, from)
}

async fn proxy(
    http: &actix_web::HttpRequest,
    node: &Node,
    target: &str,
    body: Bytes,
) -> Result<HttpResponse, reqwest::Error> {
    let method = reqwest::Method::from_bytes(http.method().as_str().as_bytes())
        .unwrap_or(reqwest::Method::GET);
    let mut out = client().request(method, target).body(body.to_vec());
    for name in ["authorization", "content-type", "x-request-id"] {
        if let Some(v) = http.headers().get(name).and_then(|v| v.to_str().ok()) {
            out = out.header(name, v);
        }
    }
    out = out.header(FORWARDED, node.node_id());
    let resp = out.send().await?;
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut builder = HttpResponse::build(status);
    for name in ["content-type", "retry-after"] {
        if let Some(v) = resp
            .headers()
            .get(name)
            .and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok())
        {
            builder.insert_header((HeaderName::from_static(name), v));
        }
    }
    let bytes = resp.bytes().await?;
    Ok(builder.body(bytes.to_vec()))
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::sync::Arc;

    use actix_web::http::header::AUTHORIZATION;
    use actix_web::middleware::from_fn;
    use actix_web::{test, App};
    use fenliu_node::clock::SystemClock;
    use fenliu_node::NodeConfig;
    use fenliu_store::MemoryStore;
    use utoipa_actix_web::service_config::ServiceConfig;

    use super::*;
    use crate::auth::tests::{token, VERIFIED};
    use crate::auth::{JwtKeys, Role};
    use crate::openapi::Document;

    #[actix_web::test]
    async fn a_request_through_forwarding_to_its_handler_verifies_its_token_once() {
        // Arrange: forwarding checks the token before the handler does.
        let node = Node::start(
            NodeConfig {
                node_id: "n1".into(),
                advertise_url: "http://127.0.0.1:9".into(),
                shop_threads: 1,
                ..NodeConfig::default()
            },
            Arc::new(MemoryStore::new()),
            Arc::new(SystemClock),
        );
        let keys = JwtKeys::new(b"secret");
        let app = test::init_service(
            App::new()
                .wrap(from_fn(forward))
                .app_data(web::Data::new(keys.clone()))
                .app_data(web::Data::new(node.clone()))
                .app_data(web::Data::new(Document::build()))
                .configure(|cfg| crate::routes::configure(&mut ServiceConfig::new(cfg))),
        )
        .await;
        let req = test::TestRequest::get()
            .uri("/v1/shops/s1/groups")
            .insert_header((
                AUTHORIZATION,
                format!("Bearer {}", token(&keys, Role::Admin, "s1", "boss")),
            ))
            .to_request();
        let before = VERIFIED.with(Cell::get);

        // Act
        let resp = test::call_service(&app, req).await;

        // Assert
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(VERIFIED.with(Cell::get) - before, 1);
        node.shutdown();
    }
}
