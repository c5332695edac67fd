//! `GET /v1/shops/{shop}/events`: Server-Sent Events, resumable with
//! `Last-Event-ID`.

use std::time::Duration;

use actix_web::web::{Bytes, Data, Query};
use actix_web::{get, HttpRequest, HttpResponse};
use fenliu_node::events::{Delivery, Published};
use fenliu_node::Node;
use fenliu_store::EventId;
use futures::stream;
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::access::Access;
use crate::error::{ApiError, ApiResult};
use crate::paths::ShopPath;
use crate::presence;
use crate::schema;
use crate::views::rfc3339;

/// Silence longer than this gets a comment line, so proxies keep the stream open.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// The same for an agent's own stream, which is its sign of life: a client
/// that went away is noticed only when a write fails, so that it stops
/// counting as alive within a few of these.
const AGENT_KEEPALIVE: Duration = Duration::from_secs(4);

/// The header a reconnecting client names its last event with (standard SSE).
const LAST_EVENT_ID: &str = "last-event-id";

/// Query of `GET /events`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// The same as the `Last-Event-ID` header, for clients that cannot set
    /// headers; the header wins when both are given.
    #[param(value_type = Option<schema::EventId>)]
    last_event_id: Option<String>,
}

/// Headers of `GET /events`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct EventsHeaders {
    /// The `id:` of the last event received; resume after it (standard SSE:
    /// a browser's `EventSource` sends it when it reconnects).
    #[serde(rename = "Last-Event-ID")]
    #[param(value_type = Option<schema::EventId>, nullable = false)]
    last_event_id: Option<String>,
}

/// One Server-Sent Event of the stream, as a client reads it (comments such
/// as `: keepalive` are not events).
#[derive(ToSchema)]
#[schema(as = ServerSentEvent)]
#[allow(dead_code)]
pub struct SseEvent {
    /// The event's id in the shop's stream; absent on `stream.gap`.
    #[schema(value_type = Option<schema::EventId>, nullable = false)]
    id: Option<String>,
    /// `conversation.assigned`, `conversation.queued`,
    /// `conversation.transferred`, `conversation.offered`,
    /// `conversation.offer_declined`, `conversation.ended`,
    /// `conversation.requeued`, `conversation.cancelled`, `agent.status`, or
    /// `stream.gap`.
    event: String,
    /// One line of JSON: the event's fields and `at`, when it happened.
    data: String,
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
/// `last_event_id` parameter. An empty value names no event (as in SSE);
/// both are checked whenever they are given, so a bad one is a 400 even
/// when the other wins.
fn resume_point(req: &HttpRequest, query: &EventsQuery) -> ApiResult<Option<(EventId, String)>> {
    fn parse(raw: &str) -> ApiResult<Option<(EventId, String)>> {
        if raw.is_empty() {
            return Ok(None);
        }
        EventId::parse(raw)
            .map(|id| Some((id, raw.to_owned())))
            .ok_or_else(|| {
                ApiError::invalid(
                    "last event id must be the id: of an event (digits, or digits-digits)",
                )
            })
    }
    let header = match req.headers().get(LAST_EVENT_ID) {
        Some(v) => parse(
            v.to_str()
                .map_err(|_| ApiError::invalid("Last-Event-ID must be an event id"))?,
        )?,
        None => None,
    };
    let query = query
        .last_event_id
        .as_deref()
        .map(parse)
        .transpose()?
        .flatten();
    Ok(header.or(query))
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

/// The shop's events, as Server-Sent Events
///
/// Each event is an `id:` line (increasing within the shop), an `event:`
/// line, one `data:` line of JSON, and a blank line; after 15 s without an
/// event a `: keepalive` comment. An agent sees only its own events, and
/// its own open stream is a sign of life for its presence (see
/// `POST /agents/{agent}/heartbeat`). A
/// client naming its last event (`Last-Event-ID`, or `last_event_id` when it
/// cannot set headers; the header wins) first gets every stored event after
/// it that it may see, then the live ones; an id older than what the shop
/// keeps gets the comment `: missed events after <id>` and a `stream.gap`
/// event (`{"after": "<id>"}`, no `id:`) first.
#[utoipa::path(
    tag = "events",
    params(
        ShopPath,
        EventsQuery,
        EventsHeaders,
    ),
    security(("bearer" = ["service", "admin", "supervisor", "agent"])),
    responses((status = OK, description = "the event stream, until the node drains",
        content_type = "text/event-stream", body = SseEvent)),
)]
#[get("/events")]
pub async fn events(
    node: Data<Node>,
    req: HttpRequest,
    access: Access<ShopPath, Query<EventsQuery>>,
) -> ApiResult<HttpResponse> {
    let only = access.agent_id()?;
    let after = resume_point(&req, &access.input)?;
    let shop = &access.path.shop;
    let sub = node.subscribe(shop, after).await?;
    let drained = Box::pin(node.drained());
    // The agent's own stream is its sign of life while it stays open.
    let signing = only.clone().map(|agent| {
        let token = crate::auth::authorization(&req);
        presence::sign_while_open(node.get_ref().clone(), shop.clone(), agent, token)
    });
    let keepalive = if signing.is_some() {
        AGENT_KEEPALIVE
    } else {
        KEEPALIVE
    };
    let body = stream::unfold(
        (sub, only, drained, signing),
        move |(mut sub, only, mut drained, signing)| async move {
            loop {
                let next = tokio::select! {
                    next = tokio::time::timeout(keepalive, sub.next()) => next,
                    // The node shuts down: end the stream; clients reconnect elsewhere.
                    () = &mut drained => return None,
                };
                let chunk = match next {
                    Err(_) => Bytes::from_static(b": keepalive\n\n"),
                    Ok(Some(Delivery::Event(p))) => {
                        if only.as_ref().is_some_and(|a| !p.concerns(a.as_str())) {
                            continue;
                        }
                        if p.name == "agent.status" {
                            if let Some(signing) = &signing {
                                signing.now();
                            }
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
                return Some((
                    Ok::<_, actix_web::Error>(chunk),
                    (sub, only, drained, signing),
                ));
            }
        },
    );
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}
