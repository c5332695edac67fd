//! The node handle: what the HTTP layer calls.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use fenliu_core::{Command, Millis, Reason, Reply, Shop, ShopId};
use fenliu_store::{Fence, ShopStore};
use tokio::sync::broadcast;
use tracing::{instrument, Instrument};

use crate::clock::SharedClock;
use crate::error::NodeError;
use crate::events::{EventHub, Published};
use crate::gateway::{Drain, Gateway, LiveShops, Lookup};
use crate::metrics::Metrics;
use crate::shop_actor::{Exec, Op, Restart, ShopEnv};

/// How a node runs.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// This node's id.
    pub node_id: String,
    /// Threads running shop actors.
    pub shop_threads: usize,
    /// Idle time after which a shop actor is passivated.
    pub passivate_after: Duration,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            node_id: "node-1".into(),
            shop_threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            passivate_after: Duration::from_secs(600),
        }
    }
}

/// A running node. Cheap to clone.
#[derive(Clone)]
pub struct Node {
    gateway: Addr<Gateway>,
    hub: EventHub,
    metrics: Metrics,
    store: Arc<dyn ShopStore>,
    clock: SharedClock,
    config: Arc<NodeConfig>,
    draining: Arc<AtomicBool>,
    arbiters: Arc<Vec<Arbiter>>,
}

/// How often an operation is retried when the shop actor is moving.
const ATTEMPTS: usize = 5;

impl Node {
    /// Starts the gateway and the shop arbiters. Must run inside an actix system.
    pub fn start(config: NodeConfig, store: Arc<dyn ShopStore>, clock: SharedClock) -> Node {
        let metrics = Metrics::new();
        let hub = EventHub::default();
        let env = ShopEnv {
            store: store.clone(),
            hub: hub.clone(),
            metrics: metrics.clone(),
            clock: clock.clone(),
            fence: Fence {
                node_id: config.node_id.clone(),
                epoch: 1,
            },
            passivate_after: config.passivate_after,
        };
        let arbiters: Vec<Arbiter> = (0..config.shop_threads.max(1)).map(|_| Arbiter::new()).collect();
        let handles = arbiters.iter().map(Arbiter::handle).collect();
        let gateway = Gateway::start_in_arbiter(&arbiters[0].handle(), move |_| Gateway::new(env, handles));
        Node {
            gateway,
            hub,
            metrics,
            store,
            clock,
            config: Arc::new(config),
            draining: Arc::new(AtomicBool::new(false)),
            arbiters: Arc::new(arbiters),
        }
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.config.node_id
    }

    /// The fencing epoch under which this node writes the shop.
    pub fn epoch(&self, _shop: &ShopId) -> u64 {
        1
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Now, by the node's clock.
    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    /// Runs an operation on a shop, retrying while its actor is moving.
    pub async fn exec<T: Send + 'static>(
        &self,
        shop: &ShopId,
        make_op: impl Fn() -> Op<T>,
    ) -> Result<T, NodeError> {
        let mut last = NodeError::Unavailable;
        for attempt in 0..ATTEMPTS {
            let addr = self
                .gateway
                .send(Lookup(shop.clone()))
                .await
                .map_err(|_| NodeError::Unavailable)??;
            match addr.send(Exec(make_op())).await {
                Ok(Err(NodeError::Unavailable)) | Err(_) => {
                    last = NodeError::Unavailable;
                    tokio::time::sleep(Duration::from_millis(10 << attempt)).await;
                }
                Ok(result) => return result,
            }
        }
        Err(last)
    }

    /// Applies a command and computes the answer from the shop right after it.
    pub async fn command<T: Send + 'static>(
        &self,
        shop: &ShopId,
        cmd: Command,
        view: impl Fn(&Shop, &Reply, Millis) -> T + Send + Sync + 'static,
    ) -> Result<T, NodeError> {
        self.guarded(shop, |_| Ok(()), cmd, view).await
    }

    /// Like [`Node::command`], but `guard` first checks the shop as it is
    /// (say, who owns a conversation) in the same atomic step.
    #[instrument(skip_all, fields(shop_id = %shop, command = cmd.name()))]
    pub async fn guarded<T: Send + 'static>(
        &self,
        shop: &ShopId,
        guard: impl Fn(&Shop) -> Result<(), NodeError> + Send + Sync + 'static,
        cmd: Command,
        view: impl Fn(&Shop, &Reply, Millis) -> T + Send + Sync + 'static,
    ) -> Result<T, NodeError> {
        let guard = Arc::new(guard);
        let started = Instant::now();
        let name = cmd.name();
        let view = Arc::new(view);
        let metrics = self.metrics.clone();
        let result = self
            .exec(shop, || {
                let (cmd, view, metrics) = (cmd.clone(), view.clone(), metrics.clone());
                let guard = guard.clone();
                Box::new(move |shop: &mut Shop, now: Millis, rng: &mut rand::rngs::SmallRng| {
                    let fx = shop.tick(now, rng);
                    if let Err(e) = guard(shop) {
                        return (Err(e), fx);
                    }
                    let inquiry = matches!(cmd, Command::Inquire(_));
                    let t = Instant::now();
                    let mut fx = fx;
                    let handled = shop.handle(cmd, now, rng).map(|(reply, more)| {
                        fx.events.extend(more.events);
                        fx.changed.extend(more.changed);
                        reply
                    });
                    if inquiry {
                        metrics.routing_seconds.observe(t.elapsed().as_secs_f64());
                    }
                    match handled {
                        Ok(reply) => {
                            if inquiry {
                                count_inquiry(&metrics, shop, &reply);
                            }
                            (Ok(view(shop, &reply, now)), fx)
                        }
                        Err(e) => {
                            let kind = match e {
                                fenliu_core::CoreError::Invalid(_) => "invalid",
                                fenliu_core::CoreError::NotFound(_) => "not_found",
                                fenliu_core::CoreError::Conflict(_) => "conflict",
                            };
                            metrics.refused.with_label_values(&[name, kind]).inc();
                            (Err(e.into()), fx)
                        }
                    }
                }) as Op<T>
            })
            .in_current_span()
            .await;
        self.metrics
            .decision_seconds
            .with_label_values(&[name])
            .observe(started.elapsed().as_secs_f64());
        result
    }

    /// Reads a shop as of now (after firing due timers).
    pub async fn read<T: Send + 'static>(
        &self,
        shop: &ShopId,
        f: impl Fn(&Shop, Millis) -> T + Send + Sync + 'static,
    ) -> Result<T, NodeError> {
        let f = Arc::new(f);
        self.exec(shop, || {
            let f = f.clone();
            Box::new(move |shop: &mut Shop, now: Millis, rng: &mut rand::rngs::SmallRng| {
                let fx = shop.tick(now, rng);
                (Ok(f(shop, now)), fx)
            }) as Op<T>
        })
        .await
    }

    /// Subscribes to a shop's events.
    pub fn subscribe(&self, shop: &ShopId) -> broadcast::Receiver<Arc<Published>> {
        self.hub.subscribe(shop)
    }

    /// Whether the node should receive traffic: the store answers and the
    /// node is not draining.
    pub async fn ready(&self) -> bool {
        if self.draining.load(Ordering::Relaxed) {
            return false;
        }
        let ping = tokio::time::timeout(Duration::from_secs(2), self.store.ping()).await;
        let ok = matches!(ping, Ok(Ok(())));
        if !ok {
            self.metrics.store_errors.with_label_values(&["ping"]).inc();
        }
        ok
    }

    /// Whether the node is draining.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Stops taking new shops (SIGTERM). Every change was already written
    /// before it was acknowledged, so nothing else needs flushing.
    pub async fn drain(&self) {
        self.draining.store(true, Ordering::Relaxed);
        let _ = self.gateway.send(Drain).await;
    }

    /// Number of live shop actors.
    pub async fn live_shops(&self) -> usize {
        self.gateway.send(LiveShops).await.unwrap_or(0)
    }

    /// Stops a shop's actor; its supervisor restarts it from the store.
    pub async fn restart_shop(&self, shop: &ShopId) -> Result<(), NodeError> {
        let addr = self
            .gateway
            .send(Lookup(shop.clone()))
            .await
            .map_err(|_| NodeError::Unavailable)??;
        addr.send(Restart).await.map_err(|_| NodeError::Unavailable)
    }

    /// Stops the shop threads.
    pub fn shutdown(&self) {
        for a in self.arbiters.iter() {
            a.stop();
        }
    }
}

fn count_inquiry(metrics: &Metrics, shop: &Shop, reply: &Reply) {
    if let Reply::Conversation { id, reason, .. } = reply {
        let outcome = match reason {
            Reason::Existing => "existing",
            Reason::Queued => "queued",
            _ => match shop.conversation(*id).map(|c| c.status) {
                Some(fenliu_core::ConversationStatus::Queued) => "queued",
                _ => "active",
            },
        };
        metrics
            .inquiries
            .with_label_values(&[outcome, reason.as_str()])
            .inc();
    }
}
