//! The node handle: what the HTTP layer calls.
//!
//! Every operation on a shop first finds who serves it ([`Node::route`]):
//! this node when it holds (or can take) the shop's lease, else the owner
//! named in the lease. Background tasks renew the leases and announce the
//! node ([`renewal`]), wake shops whose timers are due ([`wakeups`]), and
//! feed event streams to subscribers ([`streams`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use fenliu_core::query::{AgentById, AgentToday, Decided, Follow, Guard, NotAssigned, Query};
use fenliu_core::{Command, Millis, ShopId};
use fenliu_store::{Acquired, Fence, ShopStore};
use tracing::{info, instrument, warn, Instrument};

use crate::agent_actor::{AgentDirectory, Get, Sign};
use crate::clock::SharedClock;
use crate::error::NodeError;
use crate::events::EventHub;
use crate::gateway::{nearby, Drain, Evict, Gateway, LiveShops, Lookup, ShopDirectory};
use crate::metrics::Metrics;
use crate::ownership::Leases;
use crate::shop_actor::{Ask, Decide, Restart, ShopActor, ShopEnv};

mod renewal;
mod streams;
mod wakeups;

/// How a node runs.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// This node's id.
    pub node_id: String,
    /// How other nodes reach this one (`http://host:port`).
    pub advertise_url: String,
    /// Threads running the shop actors not started by a request on a thread
    /// that hosts shops (see [`crate::gateway::host_shops_here`]): shops
    /// taken by lease renewal or a wake-up, and every shop of a node with no
    /// HTTP server in front.
    pub shop_threads: usize,
    /// Idle time after which a shop actor is passivated.
    pub passivate_after: Duration,
    /// Shop lease time to live.
    pub lease_ttl: Duration,
    /// The seed of every shop actor's random draws (tests and replays: with
    /// a fixed clock too, the same commands give the same decisions); `None`
    /// seeds each actor from the OS.
    pub seed: Option<u64>,
    /// Days a shop day's log (`GET /export`) is kept after the day ends; 0
    /// keeps no log at all. On the embedded store the log lives in the
    /// node's memory (*measured* 300-600 bytes per conversation of a day).
    pub day_log_days: u32,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            node_id: "node-1".into(),
            advertise_url: "http://127.0.0.1:8080".into(),
            shop_threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            passivate_after: Duration::from_secs(600),
            lease_ttl: Duration::from_millis(10_000),
            seed: None,
            day_log_days: fenliu_store::codec::DAY_LOG_KEPT_DAYS,
        }
    }
}

/// Who serves a shop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// This node, under this fence.
    Local(Fence),
    /// Another live node.
    Remote {
        /// Its lease.
        fence: Fence,
        /// Its advertised URL.
        url: String,
    },
}

/// A running node. Cheap to clone.
#[derive(Clone)]
pub struct Node {
    gateway: Addr<Gateway>,
    shops: ShopDirectory,
    hub: EventHub,
    metrics: Metrics,
    store: Arc<dyn ShopStore>,
    clock: SharedClock,
    leases: Leases,
    agents: AgentDirectory,
    config: Arc<NodeConfig>,
    draining: Arc<AtomicBool>,
    drain_signal: tokio::sync::watch::Sender<bool>,
    arbiters: Arc<Vec<Arbiter>>,
}

/// How often an operation is retried when the shop actor is moving.
const ATTEMPTS: usize = 5;

/// Due shops the wake-up scanner reads per pass.
const WAKE_BATCH: usize = 100;

/// How long a new subscriber waits for the shop's stream reader to start.
const READER_START: Duration = Duration::from_secs(3);

impl Node {
    /// Starts the gateway, the shop arbiters and the background tasks. Must
    /// run inside an actix system.
    pub fn start(config: NodeConfig, store: Arc<dyn ShopStore>, clock: SharedClock) -> Node {
        let metrics = Metrics::new();
        let hub = EventHub::default();
        let leases = Leases::new(config.lease_ttl);
        let agents = AgentDirectory::new(clock.clone());
        let shops = ShopDirectory::default();
        let env = ShopEnv {
            shops: shops.clone(),
            agents: agents.clone(),
            store: store.clone(),
            metrics: metrics.clone(),
            clock: clock.clone(),
            leases: leases.clone(),
            shared: store.is_shared(),
            passivate_after: config.passivate_after,
            seed: config.seed,
            day_log_days: config.day_log_days,
        };
        let arbiters: Vec<Arbiter> = (0..config.shop_threads.max(1))
            .map(|_| Arbiter::new())
            .collect();
        let handles = arbiters.iter().map(Arbiter::handle).collect();
        let gateway =
            Gateway::start_in_arbiter(&arbiters[0].handle(), move |_| Gateway::new(env, handles));
        let node = Node {
            gateway,
            shops,
            hub,
            metrics,
            store,
            clock,
            leases,
            agents,
            config: Arc::new(config),
            draining: Arc::new(AtomicBool::new(false)),
            drain_signal: tokio::sync::watch::channel(false).0,
            arbiters: Arc::new(arbiters),
        };
        actix::spawn(node.clone().maintain_leases());
        actix::spawn(node.clone().wake_due_shops());
        node
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.config.node_id
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Now, by the node's clock.
    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    /// Who serves `shop`: this node if it holds the lease or can take it.
    pub async fn route(&self, shop: &ShopId) -> Result<Route, NodeError> {
        if let Some(fence) = self.leases.valid(shop) {
            return Ok(Route::Local(fence));
        }
        if self.is_draining() {
            return Err(NodeError::Draining);
        }
        let sent = Instant::now();
        let ttl = self.leases.ttl().as_millis() as u64;
        match self.store.acquire(shop, self.node_id(), ttl).await? {
            Acquired::Mine(fence) => {
                info!(shop_id = %shop, epoch = fence.epoch, "took the shop's lease");
                self.leases.record(shop.clone(), fence.clone(), sent);
                Ok(Route::Local(fence))
            }
            Acquired::HeldBy(fence) => match self.store.node_url(&fence.node_id).await? {
                Some(url) => Ok(Route::Remote { fence, url }),
                // The owner stopped heartbeating; its lease runs out soon.
                None => Err(NodeError::Unavailable),
            },
        }
    }

    /// Sends a message to the actor of a shop served here, retrying while
    /// the actor moves.
    async fn send<M, R>(&self, shop: &ShopId, message: impl Fn() -> M) -> Result<R, NodeError>
    where
        M: Message<Result = Result<R, NodeError>> + Send + 'static,
        R: Send + 'static,
        ShopActor: Handler<M>,
    {
        let mut last = NodeError::Unavailable;
        for attempt in 0..ATTEMPTS {
            let addr = self.local_actor(shop).await?;
            match addr.send(message()).await {
                Ok(Err(NodeError::Unavailable)) | Err(_) => {
                    last = NodeError::Unavailable;
                    tokio::time::sleep(Duration::from_millis(10 << attempt)).await;
                }
                Ok(result) => return result,
            }
        }
        Err(last)
    }

    /// Runs an arbitrary operation on a shop: only for tests that make the
    /// core fail.
    #[cfg(feature = "test-hooks")]
    pub async fn run<T: Send + 'static>(
        &self,
        shop: &ShopId,
        make_op: impl Fn() -> crate::shop_actor::Op<T>,
    ) -> Result<T, NodeError> {
        self.send(shop, || crate::shop_actor::Run(make_op())).await
    }

    /// The actor serving `shop` on this node, taking the shop if nobody serves
    /// it; `Elsewhere` when another node does.
    async fn local_actor(&self, shop: &ShopId) -> Result<Addr<ShopActor>, NodeError> {
        let fence = match self.route(shop).await? {
            Route::Local(fence) => fence,
            Route::Remote { fence, .. } => return Err(NodeError::Elsewhere(fence.node_id)),
        };
        // A shop already served here: straight to its actor.
        if let Some(addr) = self.shops.get(shop, fence.epoch) {
            return Ok(addr);
        }
        self.gateway
            .send(Lookup(shop.clone(), fence, nearby()))
            .await
            .map_err(|_| NodeError::Unavailable)?
    }

    /// Applies a command; answers its reply and what `follow` computes from
    /// the shop right after it.
    pub async fn command<F: Follow + Clone>(
        &self,
        shop: &ShopId,
        cmd: Command,
        follow: F,
    ) -> Result<Decided<F::Answer>, NodeError> {
        match self.guarded(shop, Guard::Open, cmd, follow).await? {
            Ok(decided) => Ok(decided),
            Err(NotAssigned) => unreachable!("an open guard refuses nothing"),
        }
    }

    /// Like [`Node::command`], but `guard` first checks the shop as it is
    /// (who has the conversation) in the same atomic step; what it refuses
    /// is answered as the inner error, the command not applied.
    #[instrument(skip_all, fields(shop_id = %shop, command = cmd.name()))]
    pub async fn guarded<F: Follow + Clone>(
        &self,
        shop: &ShopId,
        guard: Guard,
        cmd: Command,
        follow: F,
    ) -> Result<Result<Decided<F::Answer>, NotAssigned>, NodeError> {
        let started = Instant::now();
        let name = cmd.name();
        let result = self
            .send(shop, || Decide {
                guard: guard.clone(),
                cmd: cmd.clone(),
                follow: follow.clone(),
            })
            .in_current_span()
            .await;
        self.metrics
            .decision_seconds
            .with_label_values(&[name])
            .observe(started.elapsed().as_secs_f64());
        result
    }

    /// Asks a shop a question, as of now (after firing due timers).
    pub async fn ask<Q: Query + Clone>(
        &self,
        shop: &ShopId,
        query: Q,
    ) -> Result<Q::Answer, NodeError> {
        self.send(shop, || Ask(query.clone())).await
    }

    /// One agent: from its agent actor when the shop is served here and
    /// loaded, else from the shop itself.
    pub async fn agent(
        &self,
        shop: &ShopId,
        agent: &fenliu_core::AgentId,
    ) -> Result<Option<AgentToday>, NodeError> {
        if self.leases.valid(shop).is_some() {
            if let Some(addr) = self.agents.get(shop, agent) {
                if let Ok(Some(s)) = addr.send(Get).await {
                    let now = self.now();
                    let today = s.timezone.day_of(now);
                    let start = s.timezone.start_of(today);
                    return Ok(Some(AgentToday {
                        online_ms_today: s.agent.online_ms_today(today, start, now),
                        today,
                        agent: s.agent,
                    }));
                }
            }
        }
        self.ask(shop, AgentById(agent.clone())).await
    }

    /// A sign of life from an agent of a shop served here, for its agent
    /// actor's presence clock (loading the shop first if need be). Answers
    /// the shop's presence timeout in seconds (`None`: not tracked), or
    /// `Err(NotFound)` for an unknown agent.
    pub async fn heartbeat(
        &self,
        shop: &ShopId,
        agent: &fenliu_core::AgentId,
    ) -> Result<Option<u32>, NodeError> {
        for _ in 0..ATTEMPTS {
            if self.leases.valid(shop).is_some() {
                if let Some(addr) = self.agents.get(shop, agent) {
                    if let Ok(timeout) = addr.send(Sign).await {
                        return Ok(timeout);
                    }
                }
            }
            // Not loaded here yet (or just moved): asking the shop loads it,
            // which starts its agent actors.
            if self.ask(shop, AgentById(agent.clone())).await?.is_none() {
                return Err(NodeError::Core(fenliu_core::CoreError::NotFound(format!(
                    "agent {agent} not found"
                ))));
            }
        }
        Err(NodeError::Unavailable)
    }

    /// The lines of a shop day's log as JSON (oldest first; empty
    /// for a day with none, or one no longer kept). Any node can read it;
    /// what a command decided is there once the command was answered.
    pub async fn day_log(
        &self,
        shop: &ShopId,
        day: fenliu_core::time::Day,
    ) -> Result<Vec<Vec<u8>>, NodeError> {
        let list = fenliu_store::codec::day_log(day);
        let items = self.store.read_list(shop, &list, self.now()).await?;
        let lines = items
            .iter()
            .map(|item| fenliu_store::codec::day_log_line(&list, item))
            .collect::<Result<_, _>>()?;
        Ok(lines)
    }

    /// Whether the node should receive traffic: the store answers and the
    /// node is not draining.
    pub async fn ready(&self) -> bool {
        if self.is_draining() {
            return false;
        }
        let ok = self.store.ping().await.is_ok();
        if !ok {
            self.metrics.store_errors.with_label_values(&["ping"]).inc();
        }
        ok
    }

    /// Resolves when the node starts draining (long-lived streams end then,
    /// so that shutdown does not wait for them).
    pub fn drained(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.drain_signal.subscribe();
        async move {
            let _ = rx.wait_for(|draining| *draining).await;
        }
    }

    /// Whether the node is draining.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Stops taking shops, retires every shop actor (each first writes what
    /// it has decided, so every caller gets its answer) and gives the leases
    /// back so other nodes take the shops at once.
    pub async fn drain(&self) {
        self.draining.store(true, Ordering::Relaxed);
        self.drain_signal.send_replace(true);
        // Answers once every shop actor has written what it decided.
        let retired = self.gateway.send(Drain).await.unwrap_or_default();
        for (shop, fence) in self.leases.all() {
            self.leases.forget(&shop, &fence);
            if let Err(e) = self.store.release(&shop, &fence).await {
                warn!(shop_id = %shop, error = %e, "cannot release lease; it will expire");
            }
        }
        info!(shops = retired.len(), "drained");
    }

    /// Gives a shop served here up so that `target` can take it: retires
    /// the shop actor and releases the lease. Answers the target's URL; the
    /// caller then asks the target to take the shop.
    pub async fn hand_over(&self, shop: &ShopId, target: &str) -> Result<String, NodeError> {
        let url = self.store.node_url(target).await?.ok_or_else(|| {
            NodeError::Core(fenliu_core::CoreError::NotFound(format!(
                "no live node {target}"
            )))
        })?;
        if let Some(fence) = self.leases.valid(shop) {
            let _ = self.gateway.send(Evict(shop.clone())).await;
            self.leases.forget(shop, &fence);
            self.store.release(shop, &fence).await?;
            info!(shop_id = %shop, to = target, "handed the shop over");
        }
        Ok(url)
    }

    /// Number of live shop actors.
    pub async fn live_shops(&self) -> usize {
        self.gateway.send(LiveShops).await.unwrap_or(0)
    }

    /// Stops a shop's actor; its supervisor restarts it from the store.
    pub async fn restart_shop(&self, shop: &ShopId) -> Result<(), NodeError> {
        let addr = self.local_actor(shop).await?;
        addr.send(Restart).await.map_err(|_| NodeError::Unavailable)
    }

    /// Stops the shop threads.
    pub fn shutdown(&self) {
        for a in self.arbiters.iter() {
            a.stop();
        }
    }
}
