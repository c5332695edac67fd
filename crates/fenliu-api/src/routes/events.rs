//! `GET /v1/shops/{shop}/events`: Server-Sent Events, resumable with
//! `Last-Event-ID`.

use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use fenliu_node::events::{Delivery, Published};
use fenliu_node::Node;
use fenliu_store::EventId;
use futures::stream;
use serde::Deserialize;
use serde_json::json;

use super::shop_id;
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiResult};
use crate::views::rfc3339;

/// Silence longer than this gets a comment line, so proxies keep the stream open.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// The header a reconnecting client names its last event with (standard SSE).
const LAST_EVENT_ID: &str = "last-event-id";

/// Query of `GET /events`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// The same as the `Last-Event-ID` header, for clients that cannot set
    /// headers; the header wins when both are given.
    last_event_id: Option<String>,
}

fn frame(p: &Published) -> Bytes {
    let mut data = p.data.clone();
    data["at"] = json!(rfc3339(p.at));
    Bytes::from(format!(
        "id: {}\nevent: {}\ndata: {}\n\n",
        p.id, p.name, data
    ))
}

/// Where the client resumes: the `Last-Event-ID` header, else the
/// `last_event_id` parameter. An empty value names no event (as in SSE).
fn resume_point(req: &HttpRequest, query: &EventsQuery) -> ApiResult<Option<(EventId, String)>> {
    let header = match req.headers().get(LAST_EVENT_ID) {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| ApiError::invalid("Last-Event-ID must be an event id"))?,
        ),
        None => None,
    };
    let raw = header
        .filter(|h| !h.is_empty())
        .or(query.last_event_id.as_deref().filter(|q| !q.is_empty()));
    let Some(raw) = raw else { return Ok(None) };
    let id = EventId::parse(raw).ok_or_else(|| {
        ApiError::invalid("last event id must be the id: of an event (digits, or digits-digits)")
    })?;
    Ok(Some((id, raw.to_owned())))
}

/// Tells a subscriber that events are missing from its stream: a comment
/// for those reading the raw stream, and a `stream.gap` event (without an
/// `id:`, so that the client's resume point stays its last real event) for
/// those, like a browser's `EventSource`, that never see comments.
fn gap_notice(comment: &str, data: &serde_json::Value) -> Bytes {
    Bytes::from(format!(
        ": {comment}\n\nevent: stream.gap\ndata: {data}\n\n"
    ))
}

/// The event stream of a shop; an agent sees only its own events. A client
/// naming its last event first gets the stored events after it.
pub async fn stream(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<EventsQuery>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let shop = shop_id(&path)?;
    caller.require(
        &shop,
        &[Role::Service, Role::Admin, Role::Supervisor, Role::Agent],
    )?;
    let only = caller.agent_id();
    if caller.role() == Role::Agent && only.is_none() {
        return Err(ApiError::forbidden("agent token has an invalid subject"));
    }
    let after = resume_point(&req, &query)?;
    let sub = node.subscribe(&shop, after).await?;
    let drained = Box::pin(node.drained());
    let body = stream::unfold(
        (sub, only, drained),
        |(mut sub, only, mut drained)| async move {
            loop {
                let next = tokio::select! {
                    next = tokio::time::timeout(KEEPALIVE, sub.next()) => next,
                    // The node shuts down: end the stream; clients reconnect elsewhere.
                    () = &mut drained => return None,
                };
                let chunk = match next {
                    Err(_) => Bytes::from_static(b": keepalive\n\n"),
                    Ok(Some(Delivery::Event(p))) => {
                        if only.as_ref().is_some_and(|a| !p.concerns(a.as_str())) {
                            continue;
                        }
                        frame(&p)
                    }
                    Ok(Some(Delivery::Lagged(n))) => {
                        gap_notice(&format!("missed {n} events"), &json!({ "missed": n }))
                    }
                    Ok(Some(Delivery::Gap { after })) => gap_notice(
                        &format!("missed events after {after}"),
                        &json!({ "after": after }),
                    ),
                    // The stream ended, or the store failed while catching
                    // up: the client reconnects with its last id.
                    Ok(None) => return None,
                };
                return Some((Ok::<_, actix_web::Error>(chunk), (sub, only, drained)));
            }
        },
    );
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}
