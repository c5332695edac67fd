//! `GET /v1/shops/{shop}/events`: Server-Sent Events.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{web, HttpResponse};
use fenliu_node::events::Published;
use fenliu_node::Node;
use futures::stream;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::shop_id;
use crate::auth::{Caller, Role};
use crate::error::ApiResult;
use crate::views::rfc3339;

/// Silence longer than this gets a comment line, so proxies keep the stream open.
const KEEPALIVE: Duration = Duration::from_secs(15);

fn frame(p: &Published) -> Bytes {
    let mut data = p.data.clone();
    data["at"] = json!(rfc3339(p.at));
    Bytes::from(format!(
        "id: {}\nevent: {}\ndata: {}\n\n",
        p.id, p.name, data
    ))
}

/// The event stream of a shop; an agent sees only its own events.
pub async fn stream(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let shop = shop_id(&path)?;
    caller.require(
        &shop,
        &[Role::Service, Role::Admin, Role::Supervisor, Role::Agent],
    )?;
    let only = caller.agent_id();
    if caller.role() == Role::Agent && only.is_none() {
        return Err(crate::error::ApiError::forbidden(
            "agent token has an invalid subject",
        ));
    }
    let rx = node.subscribe(&shop);
    let drained = Box::pin(node.drained());
    let body = stream::unfold(
        (rx, only, drained),
        |(mut rx, only, mut drained)| async move {
            loop {
                let next = tokio::select! {
                    next = tokio::time::timeout(KEEPALIVE, rx.recv()) => next,
                    // The node shuts down: end the stream; clients reconnect elsewhere.
                    () = &mut drained => return None,
                };
                let chunk = match next {
                    Err(_) => Bytes::from_static(b": keepalive\n\n"),
                    Ok(Ok(p)) => {
                        let p: Arc<Published> = p;
                        if only.as_ref().is_some_and(|a| !p.concerns(a.as_str())) {
                            continue;
                        }
                        frame(&p)
                    }
                    Ok(Err(RecvError::Lagged(n))) => {
                        Bytes::from(format!(": missed {n} events\n\n"))
                    }
                    Ok(Err(RecvError::Closed)) => return None,
                };
                return Some((Ok::<_, actix_web::Error>(chunk), (rx, only, drained)));
            }
        },
    );
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}
