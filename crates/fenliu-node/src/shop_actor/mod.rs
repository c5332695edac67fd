//! The shop actor: a thin shell around one `fenliu_core::Shop`.
//!
//! It loads the shop from the store on first use, decides each operation
//! against it at once, and writes the changed records and the events
//! (appended to the shop's stream) before it answers.
//!
//! **Group commit.** The core decides one command at a time, in mailbox
//! order, in memory. At most one store write is in flight; whatever is
//! decided meanwhile gathers in the next [`Group`] and goes out as one batch
//! (one round trip, fenced as one) when the write in flight ends. A caller
//! is answered only once the write holding its change has succeeded. A read
//! that changes nothing is answered at once when nothing is waiting to be
//! written, and otherwise joins the next group: what it saw is then stored
//! before it is shown. If a write fails, every command in it fails, so does
//! every command decided after it (they stood on state that was never
//! stored), and the shop is reloaded from the store once no write is in
//! flight. See docs/architecture.md, "Group commit".

mod group;
mod protocol;

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use actix::fut::wrap_future;
use actix::prelude::*;
use fenliu_core::{Effects, Event, Millis, Reason, RecordKey, Shop, ShopId};
use fenliu_store::{codec, Batch, Fence, ShopStore, StoreError};
use rand::rngs::SmallRng;
use rand::SeedableRng;
use tokio::sync::oneshot;
use tracing::{error, info, warn};

use crate::agent_actor::{AgentDirectory, AgentSnapshot};
use crate::clock::SharedClock;
use crate::error::NodeError;
use crate::events;
use crate::gateway::ShopDirectory;
use crate::metrics::Metrics;
use crate::ownership::Leases;
use group::{Group, Next, Waiter};
#[cfg(feature = "test-hooks")]
pub use protocol::Run;
pub use protocol::{Ask, Decide, Decision};

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
    /// The seed of the actors' random draws ([`crate::NodeConfig::seed`]).
    pub seed: Option<u64>,
    /// Days a shop day's log is kept after the day; 0 keeps none
    /// ([`crate::NodeConfig::day_log_days`]).
    pub day_log_days: u32,
    /// The live shop actors (a passivated actor takes itself out).
    pub shops: ShopDirectory,
}

/// An operation on the shop: returns its answer and the effects to persist.
/// Built by the actor's handlers from the messages below (and, for tests of
/// failure handling, by [`Run`]).
pub type Op<T> =
    Box<dyn FnOnce(&mut Shop, Millis, &mut SmallRng) -> (Result<T, NodeError>, Effects) + Send>;

/// Fires the timers that are due (sent by the actor to itself).
#[derive(Message)]
#[rtype(result = "Result<(), NodeError>")]
pub struct Tick;

/// Stops the actor; its supervisor restarts it and it reloads from the store.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Restart;

/// Stops serving the shop for good (lease lost, moved, or node draining);
/// answered once every change decided before it is written (or failed).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Retire;

/// How long a failed wake-up publication waits before it is tried again.
const WAKEUP_RETRY: Duration = Duration::from_secs(1);

/// Where the actor's copy of the shop stands.
enum State {
    /// Not in memory: the next operation loads it (once no write is in flight).
    Unloaded,
    /// Being read from the store; operations wait in the backlog.
    Loading,
    /// In memory and serving.
    Ready(Box<Shop>),
    /// Serving no more (passivated, retired, fenced): every operation is
    /// refused as unavailable, and the caller retries through a fresh lease.
    Retired,
}

/// The shop's wake-up time in the store, as far as its actor knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wakeup {
    /// Not known to be there (never published, or the last publication failed).
    Unknown,
    /// A publication is on its way (one at a time, so that an older time
    /// never lands after a newer one).
    Publishing,
    /// This time (`None`: no timer) is there.
    Published(Option<Millis>),
}

/// Whether a store write is in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Writing {
    /// None: what is decided next is written at once.
    Idle,
    /// One; what is decided meanwhile gathers in the next group.
    InFlight,
    /// One, and a [`Restart`] came meanwhile: the actor stops once every
    /// change decided so far is written, so that its reload sees them.
    ThenRestart,
}

impl Writing {
    fn in_flight(self) -> bool {
        self != Self::Idle
    }
}

/// An operation waiting for the shop to be loaded; `true` means the load
/// failed and it must answer so.
type Job = Box<dyn FnOnce(&mut ShopActor, &mut Context<ShopActor>, bool)>;

/// The actor of one shop.
pub struct ShopActor {
    id: ShopId,
    generation: u64,
    fence: Fence,
    state: State,
    /// Operations that arrived while the shop was not in memory.
    backlog: VecDeque<Job>,
    /// Decided, not yet written.
    next: Next,
    /// Whether a write is in flight, and what waits for it to end.
    writing: Writing,
    /// Who waits for the actor to stop after [`Retire`].
    retiring: Vec<oneshot::Sender<()>>,
    /// The wake-up time in the store, as far as this actor knows.
    wakeup: Wakeup,
    /// Shared by every shop actor of the node: an actor is mostly idle, and
    /// its size is paid per live shop.
    env: Arc<ShopEnv>,
    rng: SmallRng,
    /// The armed timer and the deadline it is for.
    timer: Option<(SpawnHandle, Millis)>,
    last_used: Millis,
}

impl ShopActor {
    /// An actor for `id`; the shop is loaded on first use.
    pub fn new(id: ShopId, generation: u64, fence: Fence, env: Arc<ShopEnv>) -> Self {
        let last_used = env.clock.now();
        let rng = match env.seed {
            Some(seed) => SmallRng::seed_from_u64(seed),
            None => SmallRng::from_os_rng(),
        };
        Self {
            id,
            generation,
            fence,
            state: State::Unloaded,
            backlog: VecDeque::new(),
            next: Next::default(),
            writing: Writing::Idle,
            retiring: Vec::new(),
            wakeup: Wakeup::Unknown,
            env,
            rng,
            timer: None,
            last_used,
        }
    }

    fn shop(&self) -> Option<&Shop> {
        match &self.state {
            State::Ready(shop) => Some(shop),
            _ => None,
        }
    }

    /// Runs `job` now when the shop is in memory (or will never be), else
    /// after it is loaded.
    fn submit(&mut self, job: Job, ctx: &mut Context<Self>) {
        match self.state {
            State::Ready(_) | State::Retired if self.backlog.is_empty() => job(self, ctx, false),
            _ => {
                self.backlog.push_back(job);
                self.load_when_idle(ctx);
            }
        }
    }

    /// Decides an operation and answers `tx` once its change is stored.
    fn run<T: Send + 'static>(
        &mut self,
        op: Op<T>,
        tx: oneshot::Sender<Result<T, NodeError>>,
        ctx: &mut Context<Self>,
    ) {
        if matches!(self.state, State::Ready(_)) && !self.env.leases.holds(&self.id, &self.fence) {
            // The lease lapsed (or moved): stop serving before anyone else
            // may take the shop; the caller retries through a fresh lease.
            warn!(shop_id = %self.id, epoch = self.fence.epoch, "lease no longer valid; retiring");
            self.retire(ctx);
        }
        if !matches!(self.state, State::Ready(_)) {
            let _ = tx.send(Err(NodeError::Unavailable));
            return;
        }
        let (answer, batch) = match self.apply(op) {
            Ok(applied) => applied,
            Err(panic) => {
                let _ = tx.send(Err(NodeError::Internal(panic)));
                self.flush(ctx);
                return;
            }
        };
        if batch.is_empty() && !self.writing.in_flight() && self.next.is_idle() {
            // Nothing to store and nothing stored is pending: answer now.
            let _ = tx.send(answer);
            return;
        }
        let next = self.next.get();
        next.absorb(batch);
        next.commands += 1;
        next.waiters
            .push(Box::new(move |written: Result<(), NodeError>| {
                let _ = tx.send(written.and(answer));
            }) as Waiter);
        self.schedule(ctx);
        self.flush(ctx);
    }

    /// Starts writing the next group unless a write is in flight.
    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.writing.in_flight() || self.next.is_idle() {
            return;
        }
        let mut group = self.next.take();
        let batch = group.take_batch();
        let m = &self.env.metrics;
        m.write_commands.observe(group.commands as f64);
        self.writing = Writing::InFlight;
        let write = (!batch.is_empty()).then(|| {
            m.store_round_trips.with_label_values(&["write"]).inc();
            m.store_bytes_written.inc_by(batch_bytes(&batch));
            let (store, id, fence, now) = (
                self.env.store.clone(),
                self.id.clone(),
                self.fence.clone(),
                self.env.clock.now(),
            );
            async move { store.write(&id, &fence, batch, now).await }
        });
        let fut = wrap_future::<_, Self>(async move {
            match write {
                Some(w) => w.await,
                None => Ok(()),
            }
        })
        .map(move |written, act, ctx| act.written(group, written, ctx));
        ctx.spawn(fut);
    }

    /// A write ended: answer its callers, then write the next group or reload.
    fn written(&mut self, group: Group, written: Result<(), StoreError>, ctx: &mut Context<Self>) {
        let then_restart = self.writing == Writing::ThenRestart;
        self.writing = Writing::Idle;
        match written {
            Ok(()) => {
                for wait in &group.waits {
                    self.env.metrics.queue_wait_seconds.observe(*wait);
                }
                let (changed, removed) = group.agents.into_iter().fold(
                    (Vec::new(), Vec::new()),
                    |(mut changed, mut removed), (id, snap)| {
                        match snap {
                            Some(s) => changed.push(s),
                            None => removed.push(id),
                        }
                        (changed, removed)
                    },
                );
                if self.shop().is_some() {
                    self.env
                        .agents
                        .publish(&self.id, &ctx.address(), changed, removed);
                }
                for waiter in group.waiters {
                    waiter(Ok(()));
                }
                self.after_write(ctx);
            }
            Err(err) => {
                self.env
                    .metrics
                    .store_errors
                    .with_label_values(&["shop"])
                    .inc();
                warn!(shop_id = %self.id, error = %err, commands = group.commands, "store write failed; dropping in-memory state");
                let fenced = matches!(err, StoreError::Fenced(_));
                // Whether the store applied the write is not known: these
                // callers get the store's error (503), never a silent retry.
                for waiter in group.waiters {
                    waiter(Err(NodeError::Store(err.clone())));
                }
                // Decided on top of what was never stored: none of it happened.
                for waiter in self.next.take().waiters {
                    waiter(Err(NodeError::Unavailable));
                }
                if fenced {
                    self.retire(ctx);
                } else if !matches!(self.state, State::Retired) {
                    self.drop_state();
                }
            }
        }
        self.flush(ctx);
        if then_restart {
            if self.writing.in_flight() {
                // What was decided meanwhile is on its way: wait for it too.
                self.writing = Writing::ThenRestart;
            } else {
                // Everything decided is written: the reload will see it.
                ctx.stop();
            }
            return;
        }
        if !self.writing.in_flight() {
            self.load_when_idle(ctx);
            if matches!(self.state, State::Retired) && self.next.is_idle() {
                self.stop_retired(ctx);
            }
        }
    }

    /// Loads the shop for the backlog once no write is in flight (a load
    /// must see every write this actor made).
    fn load_when_idle(&mut self, ctx: &mut Context<Self>) {
        if !matches!(self.state, State::Unloaded)
            || self.writing.in_flight()
            || self.backlog.is_empty()
        {
            return;
        }
        self.state = State::Loading;
        let (store, id, now) = (
            self.env.store.clone(),
            self.id.clone(),
            self.env.clock.now(),
        );
        self.env
            .metrics
            .store_round_trips
            .with_label_values(&["load"])
            .inc();
        let load = async move { store.load(&id, now).await };
        // `wait`: no other message is handled until the shop is in memory.
        ctx.wait(wrap_future(load).map(|loaded, act: &mut Self, ctx| {
            let failed = match act.install(loaded, ctx) {
                Ok(()) => false,
                Err(e) => {
                    warn!(shop_id = %act.id, error = %e, "cannot load the shop");
                    act.env
                        .metrics
                        .store_errors
                        .with_label_values(&["load"])
                        .inc();
                    if matches!(act.state, State::Loading) {
                        act.state = State::Unloaded;
                    }
                    true
                }
            };
            act.run_backlog(failed, ctx);
            act.flush(ctx);
        }));
    }

    /// Runs the operations that waited for the load, until the shop leaves
    /// memory again (a panic) or the backlog is empty.
    fn run_backlog(&mut self, failed: bool, ctx: &mut Context<Self>) {
        while let Some(job) = self.backlog.pop_front() {
            if failed {
                job(self, ctx, true);
                continue;
            }
            if !matches!(self.state, State::Ready(_) | State::Retired) {
                self.backlog.push_front(job);
                self.load_when_idle(ctx);
                return;
            }
            job(self, ctx, false);
        }
        // An idle shop keeps no buffer for operations that rarely wait.
        self.backlog.shrink_to_fit();
    }

    fn install(
        &mut self,
        loaded: Result<Vec<(String, Vec<u8>)>, StoreError>,
        ctx: &mut Context<Self>,
    ) -> Result<(), NodeError> {
        if !matches!(self.state, State::Loading) {
            return Ok(());
        }
        let restored = codec::restore(self.id.clone(), loaded?, self.env.clock.now())?;
        let mut shop = restored.shop;
        if self.env.day_log_days > 0 {
            shop.keep_day_log();
        }
        info!(shop_id = %self.id, agents = shop.agent_count(), queued = shop.queue_len(), "shop loaded");
        let all = shop.agents().map(|a| snapshot(&shop, a)).collect();
        self.env
            .agents
            .publish(&self.id, &ctx.address(), all, Vec::new());
        // Records an older format left to rewrite go out with the first
        // write; a command that changes one of them later wins, as always.
        if !restored.rewrite.is_empty() {
            self.next.get().absorb(restored.rewrite);
        }
        self.state = State::Ready(Box::new(shop));
        Ok(())
    }

    /// Runs the operation and turns its effects into a batch; a panic in the
    /// core drops the in-memory state so that the shop is rebuilt from the
    /// store (and answers the panic's message).
    fn apply<T>(&mut self, op: Op<T>) -> Result<(Result<T, NodeError>, Batch), String> {
        let now = self.env.clock.now();
        self.last_used = now;
        let State::Ready(shop) = &mut self.state else {
            unreachable!("apply runs on a loaded shop")
        };
        let shop: &mut Shop = shop;
        let rng = &mut self.rng;
        match catch_unwind(AssertUnwindSafe(|| op(shop, now, rng))) {
            Ok((answer, effects)) => {
                let mut batch = codec::batch_for(shop, &effects, self.env.day_log_days);
                if effects.changed.contains(&RecordKey::Settings) {
                    // Every agent actor reads the shop's presence timeout.
                    for a in shop.agents() {
                        self.next
                            .get()
                            .agents
                            .insert(a.id.clone(), Some(snapshot(shop, a)));
                    }
                }
                for key in &effects.changed {
                    if let RecordKey::Agent(id) = key {
                        let snap = shop.agent(id).map(|a| snapshot(shop, a));
                        self.next.get().agents.insert(id.clone(), snap);
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
                let mut waits = effects
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
                    .peekable();
                // A read decides nothing to gather: no group for it.
                if waits.peek().is_some() {
                    self.next.get().waits.extend(waits);
                }
                Ok((answer, batch))
            }
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into());
                error!(shop_id = %self.id, panic = %msg, "core panicked; reloading shop from the store");
                // What was decided before the panic is whole and still
                // written; the shop is reloaded once that write is done.
                self.drop_state();
                Err(msg)
            }
        }
    }

    /// Serves the shop no more: refuses what comes next, writes what was
    /// decided, then stops.
    fn retire(&mut self, ctx: &mut Context<Self>) {
        if !matches!(self.state, State::Retired) {
            self.leave();
            self.state = State::Retired;
        }
        for job in std::mem::take(&mut self.backlog) {
            job(self, ctx, true);
        }
        if !self.writing.in_flight() && self.next.is_idle() {
            self.stop_retired(ctx);
        }
    }

    fn stop_retired(&mut self, ctx: &mut Context<Self>) {
        for tx in self.retiring.drain(..) {
            let _ = tx.send(());
        }
        ctx.stop();
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
        if !matches!(self.state, State::Retired) {
            self.state = State::Unloaded;
        }
        self.env.agents.clear_shop(&self.id);
    }

    fn after_write(&mut self, ctx: &mut Context<Self>) {
        let Some(shop) = self.shop() else { return };
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
    }

    /// Publishes when this shop next needs its timers fired, which lets this
    /// node wake it after passivation and another node after a takeover.
    ///
    /// One publication at a time, so that an older time never lands after a
    /// newer one; when one ends, the time is looked at again, and a failed
    /// one is tried again after [`WAKEUP_RETRY`]: a shop whose timers are
    /// due must not be missed by a takeover because the store blinked once.
    /// Only stored state is published: this runs after a write.
    fn publish_wakeup(&mut self, ctx: &mut Context<Self>) {
        if self.wakeup == Wakeup::Publishing || matches!(self.state, State::Retired) {
            return;
        }
        let Some(next) = self.shop().map(Shop::next_deadline) else {
            return;
        };
        if self.wakeup == Wakeup::Published(next) {
            return;
        }
        self.wakeup = Wakeup::Publishing;
        self.env
            .metrics
            .store_round_trips
            .with_label_values(&["wakeup"])
            .inc();
        let (store, id) = (self.env.store.clone(), self.id.clone());
        let publish = async move { store.set_wakeup(&id, next).await };
        ctx.spawn(wrap_future(publish).map(move |done, act: &mut Self, ctx| {
            match done {
                Ok(()) => {
                    act.wakeup = Wakeup::Published(next);
                    act.publish_wakeup(ctx);
                }
                Err(e) => {
                    warn!(shop_id = %act.id, error = %e, "could not publish the wake-up time; retrying");
                    act.wakeup = Wakeup::Unknown;
                    ctx.run_later(WAKEUP_RETRY, |act, ctx| act.publish_wakeup(ctx));
                }
            }
        }));
    }

    /// Wakes the actor when the next timer is due (re-armed only when that
    /// deadline moved).
    fn schedule(&mut self, ctx: &mut Context<Self>) {
        let Some(at) = self.shop().and_then(Shop::next_deadline) else {
            return;
        };
        if self.timer.is_some_and(|(_, armed)| armed == at) {
            return;
        }
        if let Some((handle, _)) = self.timer.take() {
            ctx.cancel_future(handle);
        }
        let delay = (at - self.env.clock.now()).max(0) as u64;
        // Timers far away are re-armed on every operation anyway; cap the
        // sleep so that a clock jump is noticed within the hour.
        let delay = Duration::from_millis(delay.min(3_600_000) + 1);
        let handle = ctx.run_later(delay, |act, ctx| {
            act.timer = None;
            ctx.notify(Tick);
        });
        self.timer = Some((handle, at));
    }

    fn check_idle(&mut self, ctx: &mut Context<Self>) {
        let now = self.env.clock.now();
        let idle_for = self.env.passivate_after.as_millis() as Millis;
        let busy = self.writing.in_flight() || !self.next.is_idle() || !self.backlog.is_empty();
        // An agent whose presence is watched needs its agent actor here.
        let watching = self.shop().is_some_and(|shop| {
            let (online, busy, _) = shop.status_counts();
            shop.settings().presence.timeout_secs.is_some() && online + busy > 0
        });
        let busy = busy || watching;
        if matches!(self.state, State::Retired) || busy || now - self.last_used < idle_for {
            return;
        }
        info!(shop_id = %self.id, "passivating idle shop actor");
        self.env.shops.remove(&self.id, self.generation);
        self.leave();
        self.state = State::Retired;
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

/// What the agent actor of `a` mirrors.
fn snapshot(shop: &Shop, a: &fenliu_core::Agent) -> AgentSnapshot {
    AgentSnapshot {
        agent: a.clone(),
        timezone: shop.settings().timezone,
        presence_secs: shop.settings().presence.timeout_secs,
    }
}

/// Bytes a batch sends to the store (record values and events).
fn batch_bytes(batch: &Batch) -> u64 {
    let puts: usize = batch.puts.iter().map(|p| p.key.len() + p.value.len()).sum();
    let events: usize = batch.events.iter().map(Vec::len).sum();
    (puts + events) as u64
}

impl Actor for ShopActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.env.metrics.shop_actors.inc();
        if matches!(self.state, State::Retired) {
            // Restarted by the supervisor after retiring: stay inert until
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
        // The actor stops only with no write in flight; anything decided and
        // not written is dropped with its callers (they are told to retry).
        self.writing = Writing::Idle;
        self.next = Next::default();
        self.drop_state();
        self.timer = None;
    }
}

impl ShopActor {
    /// Submits `op` and answers once its change is stored (or refused).
    /// `timer`: the operation is a timer firing, which is not a use and must
    /// not keep an idle shop awake.
    fn answer<T: Send + 'static>(
        &mut self,
        op: Op<T>,
        timer: bool,
        ctx: &mut Context<Self>,
    ) -> ResponseFuture<Result<T, NodeError>> {
        let (tx, rx) = oneshot::channel();
        self.submit(
            Box::new(move |act, ctx, failed| {
                if failed {
                    let _ = tx.send(Err(NodeError::Unavailable));
                    return;
                }
                let last_used = act.last_used;
                act.run(op, tx, ctx);
                if timer {
                    act.last_used = last_used;
                }
            }),
            ctx,
        );
        Box::pin(async move { rx.await.unwrap_or(Err(NodeError::Unavailable)) })
    }
}

impl Handler<Tick> for ShopActor {
    type Result = ResponseFuture<Result<(), NodeError>>;

    fn handle(&mut self, _: Tick, ctx: &mut Self::Context) -> Self::Result {
        let metrics = self.env.metrics.clone();
        let tick: Op<()> = Box::new(move |shop, now, rng| {
            let fx = shop.tick(now, rng);
            if !fx.is_empty() {
                metrics.timer_ticks.inc();
            }
            (Ok(()), fx)
        });
        self.answer(tick, true, ctx)
    }
}

impl Handler<Retire> for ShopActor {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Retire, ctx: &mut Self::Context) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        self.retiring.push(tx);
        self.retire(ctx);
        Box::pin(async move {
            let _ = rx.await;
        })
    }
}

impl Handler<Restart> for ShopActor {
    type Result = ();

    fn handle(&mut self, _: Restart, ctx: &mut Self::Context) {
        // Let what is decided be written first: the reload must see it.
        self.flush(ctx);
        if self.writing.in_flight() {
            self.writing = Writing::ThenRestart;
            return;
        }
        ctx.stop();
    }
}
