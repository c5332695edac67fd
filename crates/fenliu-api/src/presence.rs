//! An open event stream with an agent's own token is a sign of life: while
//! it is open, the node serving the stream sends the agent's heartbeat to
//! the node that owns the shop (itself, or another one over HTTP, as a
//! forwarded request), paced by the presence timeout the heartbeat answers.

use std::sync::Arc;
use std::time::Duration;

use fenliu_core::{AgentId, ShopId};
use fenliu_node::{Node, NodeError, Route};
use tokio::sync::{oneshot, Notify};
use tracing::debug;

use crate::forward::on_behalf;

/// How often a stream signs while the shop tracks no presence: often
/// enough to be seen within the grace that follows switching it on
/// (`fenliu_node::agent_actor::GRACE`).
const IDLE_EVERY: Duration = Duration::from_secs(20);

/// The shortest interval between two signs (and the retry after a failed one).
const LEAST_EVERY: Duration = Duration::from_secs(3);

/// What one sign learned.
enum Signed {
    /// The shop's presence timeout, in seconds, if it tracks presence.
    Timeout(Option<u32>),
    /// It may work next time (the shop is moving, a node is unreachable).
    Retry,
    /// It never will (the agent is gone, the token expired): stop signing.
    Stop,
}

/// Signs for an agent while it is held: dropped, the signing stops.
pub struct Signing {
    _open: oneshot::Sender<()>,
    now: Arc<Notify>,
}

impl Signing {
    /// Signs at once (the stream relayed a change of the agent's status:
    /// its presence clock may have started).
    pub fn now(&self) {
        self.now.notify_one();
    }
}

/// Signs for `agent` until the returned [`Signing`] is dropped (the stream
/// ended).
pub fn sign_while_open(node: Node, shop: ShopId, agent: AgentId, token: String) -> Signing {
    let (open, mut closed) = oneshot::channel::<()>();
    let now = Arc::new(Notify::new());
    let wake = now.clone();
    actix_web::rt::spawn(async move {
        loop {
            let every = match sign(&node, &shop, &agent, &token).await {
                Signed::Timeout(Some(secs)) => {
                    (Duration::from_secs(secs.into()) / 3).max(LEAST_EVERY)
                }
                Signed::Timeout(None) => IDLE_EVERY,
                Signed::Retry => LEAST_EVERY,
                Signed::Stop => return,
            };
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = wake.notified() => {}
                _ = &mut closed => return,
            }
        }
    });
    Signing { _open: open, now }
}

async fn sign(node: &Node, shop: &ShopId, agent: &AgentId, token: &str) -> Signed {
    match node.route(shop).await {
        Ok(Route::Local(_)) => match node.heartbeat(shop, agent).await {
            Ok(timeout) => Signed::Timeout(timeout),
            Err(NodeError::Core(_)) => Signed::Stop,
            Err(_) => Signed::Retry,
        },
        Ok(Route::Remote { url, .. }) => {
            let path = format!("/v1/shops/{shop}/agents/{agent}/heartbeat");
            let sent = on_behalf(reqwest::Method::POST, &url, &path, token, node.node_id())
                .send()
                .await;
            match sent {
                Ok(answer) if answer.status().is_success() => {
                    let body: serde_json::Value = answer.json().await.unwrap_or_default();
                    Signed::Timeout(body["timeout_secs"].as_u64().map(|s| s as u32))
                }
                Ok(answer) if answer.status().is_client_error() => {
                    debug!(status = %answer.status(), "the owner refused a stream's heartbeat");
                    Signed::Stop
                }
                _ => Signed::Retry,
            }
        }
        Err(_) => Signed::Retry,
    }
}
