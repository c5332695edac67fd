//! What every request leaves behind: a span with its request id (through
//! tracing-actix-web, with fenliu's own root span), one log line, a count in
//! `fenliu_http_requests_total`, and the `x-request-id` answer header.
//!
//! The metric's labels are bounded whatever clients send: a method outside
//! the standard ones counts as `other`, a path no route matches as
//! `unmatched`, so an unauthenticated client cannot create series at will.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage};
use fenliu_node::Node;
use tracing::{field, info, Span};
use tracing_actix_web::{RequestId, RootSpanBuilder};

/// The header a request id travels in.
pub const REQUEST_ID: &str = "x-request-id";

/// The request's id, as answered and logged.
#[derive(Clone, Debug)]
struct Id(String);

/// When the request started.
#[derive(Clone, Copy, Debug)]
struct Started(Instant);

/// The route a request matched, as the metric and the log line name it.
#[derive(Clone, Debug)]
struct RouteLabel(String);

/// The caller's own request id, if it is sane: 1 to 64 visible ASCII characters.
fn callers_id(req: &ServiceRequest) -> Option<String> {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_graphic()))
        .map(str::to_owned)
}

/// A request's method as a metric label: one of the standard methods, or `other`.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// The root span of every request: `http_request` with the request id (the
/// caller's, or a fresh one), the method and the path; the matched route,
/// the status and the latency are logged when it ends.
pub struct RootSpan;

impl RootSpanBuilder for RootSpan {
    fn on_request_start(req: &ServiceRequest) -> Span {
        let id = callers_id(req).unwrap_or_else(|| {
            req.extensions()
                .get::<RequestId>()
                .map(|id| id.simple().to_string())
                .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
        });
        let span = tracing::info_span!(
            "http_request",
            request_id = %id,
            method = method_label(req.method()),
            path = %req.path(),
            route = field::Empty,
            status = field::Empty,
        );
        req.extensions_mut().insert(Id(id));
        req.extensions_mut().insert(Started(Instant::now()));
        span
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let Ok(res) = outcome else { return };
        let status = res.status().as_u16();
        let route = res
            .request()
            .extensions_mut()
            .remove::<RouteLabel>()
            .map_or_else(|| route_label(res.request()), |RouteLabel(route)| route);
        span.record("route", route.as_str());
        span.record("status", status);
        let latency_us = res
            .request()
            .extensions()
            .get::<Started>()
            .map_or(0, |s| s.0.elapsed().as_micros() as u64);
        span.in_scope(|| info!(status, route = %route, latency_us, "request"));
    }
}

/// The matched route's pattern, or `unmatched`.
fn route_label(req: &actix_web::HttpRequest) -> String {
    req.match_pattern().unwrap_or_else(|| "unmatched".into())
}

/// Counts the request and answers its id in `x-request-id`.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let node = req.app_data::<web::Data<Node>>().cloned();
    let method = method_label(req.method());
    let mut res = next.call(req).await?;
    // Matching the path against the routes again is not free (a regex per
    // route with parameters): once here, for the metric and for the log line.
    let route = route_label(res.request());
    if let Some(node) = node {
        let status = res.status();
        node.metrics()
            .http_requests
            .with_label_values(&[method, &route, status.as_str()])
            .inc();
    }
    res.request().extensions_mut().insert(RouteLabel(route));
    let id = res.request().extensions().get::<Id>().cloned();
    if let Some(v) = id.and_then(|Id(id)| HeaderValue::from_str(&id).ok()) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID), v);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_made_up_method_is_counted_as_other() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        let made_up = Method::from_bytes(b"XYZZY1").unwrap();
        assert_eq!(method_label(&made_up), "other");
    }
}
