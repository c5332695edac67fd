//! The shop actor: a thin shell around one `fenliu_core::Shop`.
//!
//! It loads the shop from the store on first use, runs each operation
//! against it, writes the changed records and the events (appended to the
//! shop's stream) before it answers, and wakes itself for the next timer.
//! Operations run one at a time ([`AtomicResponse`]): a routing decision and
//! its write are never interleaved with another operation of the same shop.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use actix::fut::{ready, wrap_future};
use actix::prelude::*;
use fenliu_core::{Effects, Event, Millis, Reason, RecordKey, Shop, ShopId};
use fenliu_store::{codec, Batch, Fence, ShopStore, StoreError};
use rand::rngs::SmallRng;
use rand::SeedableRng;
use tracing::{error, info, warn};

use crate::agent_actor::{AgentDirectory, AgentSnapshot};
use crate::clock::SharedClock;
use crate::error::NodeError;
use crate::events;
use crate::gateway::{Gateway, Passivated};
use crate::metrics::Metrics;
use crate::ownership::Leases;

/// What a shop actor needs from its node.
#[derive(Clone)]
pub struct ShopEnv {
    /// The store.
    pub store: Arc<dyn ShopStore>,
    /// Metrics.
    pub metrics: Metrics,
    /// Time.
    pub clock: SharedClock,
    /// The leases this node holds.
    pub leases: Leases,
    /// The agent actors of the shops served here.
    pub agents: AgentDirectory,
    /// Whether the store is shared by several nodes (wake-up times are
    /// then published for takeover).
    pub shared: bool,
    /// How long a shop may be idle before its actor is passivated.
    pub passivate_after: Duration,
}

/// A shop's records as the store returns them.
type StoredRecords = Vec<(String, Vec<u8>)>;

/// What an operation produced, ready to be written.
struct Applied<T> {
    answer: Result<T, NodeError>,
    batch: Batch,
    /// Agents changed (their newest state) and removed.
    agents: (Vec<AgentSnapshot>, Vec<fenliu_core::AgentId>),
    /// How long each conversation assigned had waited, in seconds.
    waits: Vec<f64>,
}

/// An operation on the shop: returns its answer and the effects to persist.
pub type Op<T> =
    Box<dyn FnOnce(&mut Shop, Millis, &mut SmallRng) -> (Result<T, NodeError>, Effects) + Send>;

/// Runs an operation against the shop, atomically with its write.
#[derive(Message)]
#[rtype(result = "Result<T, NodeError>")]
pub struct Exec<T: 'static>(pub Op<T>);

/// Fires the timers that are due (sent by the actor to itself).
#[derive(Message)]
#[rtype(result = "Result<(), NodeError>")]
pub struct Tick;

/// Stops the actor; its supervisor restarts it and it reloads from the store.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Restart;

/// Stops serving the shop for good (lease lost, moved, or node draining).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Retire;

/// How long a failed wake-up publication waits before it is tried again.
const WAKEUP_RETRY: Duration = Duration::from_secs(1);

/// The actor of one shop.
pub struct ShopActor {
    id: ShopId,
    generation: u64,
    fence: Fence,
    /// The wake-up time last published to the store (`None`: not known to
    /// be there), and whether a publication is on its way.
    wakeup: Option<Option<Millis>>,
    publishing_wakeup: bool,
    env: ShopEnv,
    gateway: Addr<Gateway>,
    shop: Option<Shop>,
    rng: SmallRng,
    timer: Option<SpawnHandle>,
    last_used: Millis,
    passivated: bool,
}

impl ShopActor {
    /// An actor for `id`; the shop is loaded on first use.
    pub fn new(
        id: ShopId,
        generation: u64,
        fence: Fence,
        env: ShopEnv,
        gateway: Addr<Gateway>,
    ) -> Self {
        let last_used = env.clock.now();
        Self {
            id,
            generation,
            fence,
            wakeup: None,
            publishing_wakeup: false,
            env,
            gateway,
            shop: None,
            rng: SmallRng::from_os_rng(),
            timer: None,
            last_used,
            passivated: false,
        }
    }

    fn run<T: Send + 'static>(&mut self, op: Op<T>) -> AtomicResponse<Self, Result<T, NodeError>> {
        if !self.passivated && !self.env.leases.holds(&self.id, &self.fence) {
            // The lease lapsed (or moved): stop serving before anyone else
            // may take the shop; the caller retries through a fresh lease.
            warn!(shop_id = %self.id, epoch = self.fence.epoch, "lease no longer valid; retiring");
            self.passivated = true;
            self.drop_state();
        }
        if self.passivated {
            return AtomicResponse::new(Box::pin(ready(Err(NodeError::Unavailable))));
        }
        self.last_used = self.env.clock.now();
        let load = self.shop.is_none().then(|| {
            let (store, id, now) = (
                self.env.store.clone(),
                self.id.clone(),
                self.env.clock.now(),
            );
            async move { store.load(&id, now).await }
        });
        let fut = wrap_future::<_, Self>(async move {
            match load {
                Some(f) => Some(f.await),
                None => None,
            }
        })
        .map(move |loaded, act, _ctx| {
            act.install(loaded)?;
            act.apply(op)
        })
        .then(|applied, act, _ctx| {
            let (store, id, fence) = (act.env.store.clone(), act.id.clone(), act.fence.clone());
            let now = act.env.clock.now();
            wrap_future(async move {
                let applied = applied?;
                if !applied.batch.is_empty() {
                    store.write(&id, &fence, applied.batch, now).await?;
                }
                Ok::<_, NodeError>((applied.answer, applied.agents, applied.waits))
            })
        })
        .map(|written, act, ctx| match written {
            Ok((answer, (changed, removed), waits)) => {
                for wait in waits {
                    act.env.metrics.queue_wait_seconds.observe(wait);
                }
                act.env.agents.publish(&act.id, changed, removed);
                act.after_write(ctx);
                answer
            }
            Err(e) => {
                if let NodeError::Store(err) = &e {
                    act.env.metrics.store_errors.with_label_values(&["shop"]).inc();
                    // The change was not acknowledged: forget it and reload
                    // what the store holds on the next operation.
                    warn!(shop_id = %act.id, error = %err, "store write failed; dropping in-memory state");
                    act.drop_state();
                    if matches!(err, StoreError::Fenced(_)) {
                        act.passivated = true;
                        ctx.stop();
                    }
                }
                Err(e)
            }
        });
        AtomicResponse::new(Box::pin(fut))
    }

    fn install(
        &mut self,
        loaded: Option<Result<StoredRecords, StoreError>>,
    ) -> Result<(), NodeError> {
        if let Some(loaded) = loaded {
            let records = loaded?;
            let shop = codec::restore(self.id.clone(), records, self.env.clock.now())?;
            info!(shop_id = %self.id, agents = shop.agent_count(), queued = shop.queue_len(), "shop loaded");
            let timezone = shop.settings().timezone;
            let all = shop
                .agents()
                .map(|a| AgentSnapshot {
                    agent: a.clone(),
                    timezone,
                })
                .collect();
            self.env.agents.publish(&self.id, all, Vec::new());
            self.shop = Some(shop);
        }
        Ok(())
    }

    /// Runs the operation; a panic in the core drops the in-memory state so
    /// that the shop is rebuilt from the store, and answers an internal error.
    #[allow(clippy::type_complexity)]
    fn apply<T>(&mut self, op: Op<T>) -> Result<Applied<T>, NodeError> {
        let now = self.env.clock.now();
        let shop = self.shop.as_mut().expect("installed");
        let rng = &mut self.rng;
        match catch_unwind(AssertUnwindSafe(|| op(shop, now, rng))) {
            Ok((answer, effects)) => {
                let mut batch = codec::batch_for(shop, &effects);
                let timezone = shop.settings().timezone;
                let mut agents = (Vec::new(), Vec::new());
                for key in &effects.changed {
                    if let RecordKey::Agent(id) = key {
                        match shop.agent(id) {
                            Some(a) => agents.0.push(AgentSnapshot {
                                agent: a.clone(),
                                timezone,
                            }),
                            None => agents.1.push(id.clone()),
                        }
                    }
                }
                // The events travel in the same write as the state: an event
                // exists if and only if its change was stored, and every
                // subscriber, on any node, reads it from the shop's stream.
                batch.events = effects
                    .events
                    .iter()
                    .map(|e| events::encode(e, now))
                    .collect();
                let waits = effects
                    .events
                    .iter()
                    .filter_map(|e| match e {
                        Event::Assigned {
                            conversation_id,
                            reason,
                            ..
                        } if *reason != Reason::Proactive => shop.conversation(*conversation_id),
                        _ => None,
                    })
                    .filter_map(|c| Some(c.assigned_at? - c.created_at))
                    .map(|ms| ms.max(0) as f64 / 1000.0)
                    .collect();
                Ok(Applied {
                    answer,
                    batch,
                    agents,
                    waits,
                })
            }
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into());
                error!(shop_id = %self.id, panic = %msg, "core panicked; reloading shop from the store");
                self.drop_state();
                Err(NodeError::Internal(msg))
            }
        }
    }

    /// The shop leaves this node (passivated, moved, lease lost): forget its
    /// state, its agent mirrors and its per-shop gauges.
    fn leave(&mut self) {
        self.drop_state();
        let m = &self.env.metrics;
        let label = [self.id.as_str()];
        let _ = m.queue_length.remove_label_values(&label);
        let _ = m.active_conversations.remove_label_values(&label);
        for status in ["online", "busy", "offline"] {
            let _ = m.agents.remove_label_values(&[self.id.as_str(), status]);
        }
    }

    /// Forgets the in-memory state; the next operation reloads it.
    fn drop_state(&mut self) {
        self.shop = None;
        self.env.agents.clear_shop(&self.id);
    }

    fn after_write(&mut self, ctx: &mut Context<Self>) {
        let Some(shop) = &self.shop else { return };
        let m = &self.env.metrics;
        let label = [self.id.as_str()];
        m.queue_length
            .with_label_values(&label)
            .set(shop.queue_len() as i64);
        m.active_conversations
            .with_label_values(&label)
            .set(shop.active_count() as i64);
        let (online, busy, offline) = shop.status_counts();
        for (status, n) in [("online", online), ("busy", busy), ("offline", offline)] {
            m.agents
                .with_label_values(&[self.id.as_str(), status])
                .set(i64::from(n));
        }
        self.publish_wakeup(ctx);
        self.schedule(ctx);
    }

    /// Publishes when this shop next needs its timers fired, which lets this
    /// node wake it after passivation and another node after a takeover.
    ///
    /// One publication at a time, so that an older time never lands after a
    /// newer one; when one ends, the time is looked at again, and a failed
    /// one is tried again after [`WAKEUP_RETRY`]: a shop whose timers are
    /// due must not be missed by a takeover because the store blinked once.
    fn publish_wakeup(&mut self, ctx: &mut Context<Self>) {
        if self.publishing_wakeup || self.passivated {
            return;
        }
        let Some(next) = self.shop.as_ref().map(Shop::next_deadline) else {
            return;
        };
        if self.wakeup == Some(next) {
            return;
        }
        self.publishing_wakeup = true;
        let (store, id) = (self.env.store.clone(), self.id.clone());
        let publish = async move { store.set_wakeup(&id, next).await };
        ctx.spawn(wrap_future(publish).map(move |done, act: &mut Self, ctx| {
            act.publishing_wakeup = false;
            match done {
                Ok(()) => {
                    act.wakeup = Some(next);
                    act.publish_wakeup(ctx);
                }
                Err(e) => {
                    warn!(shop_id = %act.id, error = %e, "could not publish the wake-up time; retrying");
                    act.wakeup = None;
                    ctx.run_later(WAKEUP_RETRY, |act, ctx| act.publish_wakeup(ctx));
                }
            }
        }));
    }

    /// Wakes the actor when the next timer is due.
    fn schedule(&mut self, ctx: &mut Context<Self>) {
        if let Some(handle) = self.timer.take() {
            ctx.cancel_future(handle);
        }
        let Some(at) = self.shop.as_ref().and_then(Shop::next_deadline) else {
            return;
        };
        let delay = (at - self.env.clock.now()).max(0) as u64;
        // Timers far away are re-armed on every operation anyway; cap the
        // sleep so that a clock jump is noticed within the hour.
        let delay = Duration::from_millis(delay.min(3_600_000) + 1);
        self.timer = Some(ctx.run_later(delay, |_, ctx| ctx.notify(Tick)));
    }

    fn check_idle(&mut self, ctx: &mut Context<Self>) {
        let now = self.env.clock.now();
        let idle_for = self.env.passivate_after.as_millis() as Millis;
        if self.passivated || now - self.last_used < idle_for {
            return;
        }
        self.passivated = true;
        info!(shop_id = %self.id, "passivating idle shop actor");
        self.gateway.do_send(Passivated {
            shop: self.id.clone(),
            generation: self.generation,
        });
        self.leave();
        // Give the lease back so that any node may take the shop at once.
        let (store, leases, id, fence) = (
            self.env.store.clone(),
            self.env.leases.clone(),
            self.id.clone(),
            self.fence.clone(),
        );
        leases.forget(&id, &fence);
        actix::spawn(async move {
            let _ = store.release(&id, &fence).await;
        });
        ctx.stop();
    }
}

impl Actor for ShopActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.env.metrics.shop_actors.inc();
        if self.passivated {
            // Restarted by the supervisor after passivating: stay inert until
            // the last address is dropped and the supervisor lets it go.
            return;
        }
        let every = (self.env.passivate_after / 4).max(Duration::from_millis(100));
        ctx.run_interval(every, |act, ctx| act.check_idle(ctx));
        // Load at once so that timers due while nobody owned the shop fire.
        ctx.notify(Tick);
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.env.metrics.shop_actors.dec();
    }
}

impl Supervised for ShopActor {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        warn!(shop_id = %self.id, "shop actor restarting; reloading from the store");
        self.drop_state();
        self.timer = None;
    }
}

impl<T: Send + 'static> Handler<Exec<T>> for ShopActor {
    type Result = AtomicResponse<Self, Result<T, NodeError>>;

    fn handle(&mut self, msg: Exec<T>, _ctx: &mut Self::Context) -> Self::Result {
        self.run(msg.0)
    }
}

impl Handler<Tick> for ShopActor {
    type Result = AtomicResponse<Self, Result<(), NodeError>>;

    fn handle(&mut self, _: Tick, _ctx: &mut Self::Context) -> Self::Result {
        let metrics = self.env.metrics.clone();
        let last_used = self.last_used;
        let resp = self.run(Box::new(move |shop, now, rng| {
            let fx = shop.tick(now, rng);
            if !fx.is_empty() {
                metrics.timer_ticks.inc();
            }
            (Ok(()), fx)
        }));
        // A timer is not a use: it must not keep an idle shop awake.
        self.last_used = last_used;
        resp
    }
}

impl Handler<Retire> for ShopActor {
    type Result = ();

    fn handle(&mut self, _: Retire, ctx: &mut Self::Context) {
        self.passivated = true;
        self.leave();
        ctx.stop();
    }
}

impl Handler<Restart> for ShopActor {
    type Result = ();

    fn handle(&mut self, _: Restart, ctx: &mut Self::Context) {
        ctx.stop();
    }
}
