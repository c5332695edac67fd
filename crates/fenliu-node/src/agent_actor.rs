//! Agent actors: one per agent of each shop served here. Each mirrors its
//! agent for reads and watches its presence.
//!
//! **Mirror.** The shop actor owns the truth (routing must see every agent
//! at once); after each write it sends the agents that changed to their
//! agent actors. Reads of one agent — what agent clients poll — are answered
//! by the agent actor and never wait behind the shop's routing. Updates are
//! sent before the shop actor answers, so a client reads its own writes.
//!
//! **Presence.** With the shop's `presence.timeout_secs` set, an agent who
//! is online or busy must show life: a heartbeat ([`Sign`]), which an open
//! event stream with the agent's token also sends. The agent actor keeps the
//! time of the last sign and, that long after it, tells its shop actor
//! ([`Command::PresenceLapsed`]); the core sets the agent offline. The clock
//! starts again at every sign and whenever the agent comes online or busy
//! (an `agent.status` event, on which the agent's own streams sign at once),
//! and it starts when the actor does (the shop was loaded: a restart or a
//! takeover) and when presence is switched on — the first lapse then comes
//! no sooner than [`GRACE`], so that every event stream, wherever it runs
//! and however slowly it signs while presence was off, has signed by then. Nobody is set offline early by a takeover: the new
//! owner's clocks start when it loads the shop.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use actix::WeakAddr;
use fenliu_core::query::Guard;
use fenliu_core::{Agent, AgentId, AgentStatus, Command, Millis, ShopId, TzOffset};
use tracing::info;

use crate::clock::SharedClock;
use crate::shop_actor::{Decide, ShopActor};

/// The least time between the start of a presence clock that no sign
/// started (a load, a takeover, presence switched on) and the first lapse.
pub const GRACE: Duration = Duration::from_secs(25);

/// One agent as of its shop's last write.
#[derive(Clone, Debug)]
pub struct AgentSnapshot {
    /// The agent.
    pub agent: Agent,
    /// The shop's time zone (for `assigned_today`, counted per shop day).
    pub timezone: TzOffset,
    /// The shop's presence timeout, in seconds (`None`: not tracked).
    pub presence_secs: Option<u32>,
}

impl AgentSnapshot {
    /// The presence timeout, if this agent's presence is watched now.
    fn watched(&self) -> Option<Millis> {
        let present = matches!(self.agent.status, AgentStatus::Online | AgentStatus::Busy);
        self.presence_secs
            .filter(|_| present)
            .map(|s| Millis::from(s) * 1000)
    }
}

/// The newest state of the agent.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Update(pub AgentSnapshot);

/// Asks for the agent's state.
#[derive(Message)]
#[rtype(result = "Option<AgentSnapshot>")]
pub struct Get;

/// A sign of life from the agent; answers the shop's presence timeout in
/// seconds (`None`: presence is not tracked), so that the sender can pace
/// its signs.
#[derive(Message)]
#[rtype(result = "Option<u32>")]
pub struct Sign;

/// The agent's shop left this node, or the agent was deleted.
#[derive(Message)]
#[rtype(result = "()")]
struct Forget;

/// One agent: its mirror and its presence clock.
pub struct AgentActor {
    snapshot: Option<AgentSnapshot>,
    shop: WeakAddr<ShopActor>,
    clock: SharedClock,
    /// The last sign of life (or when the clock last started).
    last_sign: Millis,
    /// No lapse before this (see [`GRACE`]).
    not_before: Millis,
    /// The armed lapse and its deadline.
    lapse: Option<(SpawnHandle, Millis)>,
}

impl AgentActor {
    fn new(shop: WeakAddr<ShopActor>, clock: SharedClock) -> Self {
        let now = clock.now();
        Self {
            snapshot: None,
            shop,
            clock,
            last_sign: now,
            not_before: now + GRACE.as_millis() as Millis,
            lapse: None,
        }
    }

    /// When the agent lapses, if it is watched.
    fn deadline(&self) -> Option<Millis> {
        let timeout = self.snapshot.as_ref()?.watched()?;
        Some((self.last_sign + timeout).max(self.not_before))
    }

    /// Arms the lapse for the current deadline (or disarms it).
    fn arm(&mut self, ctx: &mut Context<Self>) {
        let deadline = self.deadline();
        if self.lapse.map(|(_, at)| at) == deadline {
            return;
        }
        if let Some((handle, _)) = self.lapse.take() {
            ctx.cancel_future(handle);
        }
        let Some(at) = deadline else { return };
        let delay = Duration::from_millis((at - self.clock.now()).max(0) as u64);
        let handle = ctx.run_later(delay, |act, ctx| {
            act.lapse = None;
            act.fire(ctx);
        });
        self.lapse = Some((handle, at));
    }

    /// The deadline came: tell the shop, unless a sign moved it meanwhile.
    fn fire(&mut self, ctx: &mut Context<Self>) {
        let Some(at) = self.deadline() else { return };
        if at > self.clock.now() {
            self.arm(ctx);
            return;
        }
        let (Some(shop), Some(snap)) = (self.shop.upgrade(), &self.snapshot) else {
            return;
        };
        let agent = snap.agent.id.clone();
        info!(agent_id = %agent, "no sign of life for the presence timeout; setting offline");
        // The shop answers with an update (offline) that disarms the clock;
        // if the shop moved meanwhile, its new owner watches the agent.
        shop.do_send(Decide {
            guard: Guard::Open,
            cmd: Command::PresenceLapsed(agent),
            follow: (),
        });
    }
}

impl Actor for AgentActor {
    type Context = Context<Self>;
}

impl Handler<Update> for AgentActor {
    type Result = ();

    fn handle(&mut self, Update(s): Update, ctx: &mut Self::Context) {
        let now = self.clock.now();
        let before = self.snapshot.as_ref();
        let was_watched = before.and_then(AgentSnapshot::watched).is_some();
        let switched_on =
            before.is_some_and(|b| b.presence_secs.is_none()) && s.presence_secs.is_some();
        if switched_on {
            self.last_sign = now;
            self.not_before = now + GRACE.as_millis() as Millis;
        } else if before.is_some() && !was_watched && s.watched().is_some() {
            // Came online or busy: its clock starts now, without a grace
            // (the change is announced as `agent.status`, and the agent's
            // own event streams sign at once when they relay it).
            self.last_sign = now;
            self.not_before = now;
        }
        self.snapshot = Some(s);
        self.arm(ctx);
    }
}

impl Handler<Get> for AgentActor {
    type Result = Option<AgentSnapshot>;

    fn handle(&mut self, _: Get, _ctx: &mut Self::Context) -> Self::Result {
        self.snapshot.clone()
    }
}

impl Handler<Sign> for AgentActor {
    type Result = Option<u32>;

    fn handle(&mut self, _: Sign, ctx: &mut Self::Context) -> Self::Result {
        self.last_sign = self.clock.now();
        // A sign is the agent itself: no grace is needed any more.
        self.not_before = self.last_sign;
        self.arm(ctx);
        self.snapshot.as_ref().and_then(|s| s.presence_secs)
    }
}

impl Handler<Forget> for AgentActor {
    type Result = ();

    fn handle(&mut self, _: Forget, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

type Key = (ShopId, AgentId);

/// The agent actors of the shops served on this node. Cheap to clone.
///
/// A `std::sync::Mutex`: lookups and inserts only, never across an await.
#[derive(Clone)]
pub struct AgentDirectory {
    inner: Arc<Mutex<HashMap<Key, Addr<AgentActor>>>>,
    clock: SharedClock,
}

impl AgentDirectory {
    /// An empty directory whose actors read `clock`.
    pub fn new(clock: SharedClock) -> Self {
        Self {
            inner: Arc::default(),
            clock,
        }
    }

    /// Sends the newest state of these agents (starting their actors on the
    /// caller's arbiter when needed, watched for `shop`) and stops the
    /// actors of removed agents.
    pub fn publish(
        &self,
        shop_id: &ShopId,
        shop: &Addr<ShopActor>,
        changed: Vec<AgentSnapshot>,
        removed: Vec<AgentId>,
    ) {
        let mut map = self.inner.lock().expect("directory lock");
        for snap in changed {
            let key = (shop_id.clone(), snap.agent.id.clone());
            let addr = map
                .entry(key)
                .or_insert_with(|| AgentActor::new(shop.downgrade(), self.clock.clone()).start());
            addr.do_send(Update(snap));
        }
        for agent in removed {
            if let Some(addr) = map.remove(&(shop_id.clone(), agent)) {
                addr.do_send(Forget);
            }
        }
    }

    /// Stops every agent actor of a shop (its state left this node).
    pub fn clear_shop(&self, shop: &ShopId) {
        self.inner
            .lock()
            .expect("directory lock")
            .retain(|(s, _), addr| {
                let keep = s != shop;
                if !keep {
                    addr.do_send(Forget);
                }
                keep
            });
    }

    /// The actor of an agent, if its shop is served here.
    pub fn get(&self, shop: &ShopId, agent: &AgentId) -> Option<Addr<AgentActor>> {
        self.inner
            .lock()
            .expect("directory lock")
            .get(&(shop.clone(), agent.clone()))
            .cloned()
    }
}
