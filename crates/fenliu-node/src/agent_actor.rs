//! Agent actors: each mirrors one agent's status and load for reads.
//!
//! The shop actor owns the truth (routing must see every agent at once); after
//! each write it sends the agents that changed to their agent actors. Reads of
//! one agent — what agent clients poll — are answered by the agent actor and
//! never wait behind the shop's routing. Updates are sent before the shop
//! actor answers, so a client reads its own writes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix::prelude::*;
use fenliu_core::{Agent, AgentId, ShopId, TzOffset};

/// One agent as of its shop's last write.
#[derive(Clone, Debug)]
pub struct AgentSnapshot {
    /// The agent.
    pub agent: Agent,
    /// The shop's time zone (for `assigned_today`, counted per shop day).
    pub timezone: TzOffset,
}

/// The newest state of the agent.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Update(pub AgentSnapshot);

/// Asks for the agent's state.
#[derive(Message)]
#[rtype(result = "Option<AgentSnapshot>")]
pub struct Get;

/// Mirrors one agent.
#[derive(Default)]
pub struct AgentActor {
    snapshot: Option<AgentSnapshot>,
}

impl Actor for AgentActor {
    type Context = Context<Self>;
}

impl Handler<Update> for AgentActor {
    type Result = ();

    fn handle(&mut self, Update(s): Update, _ctx: &mut Self::Context) {
        self.snapshot = Some(s);
    }
}

impl Handler<Get> for AgentActor {
    type Result = Option<AgentSnapshot>;

    fn handle(&mut self, _: Get, _ctx: &mut Self::Context) -> Self::Result {
        self.snapshot.clone()
    }
}

type Key = (ShopId, AgentId);

/// The agent actors of the shops served on this node. Cheap to clone.
///
/// A `std::sync::Mutex`: lookups and inserts only, never across an await.
#[derive(Clone, Debug, Default)]
pub struct AgentDirectory {
    inner: Arc<Mutex<HashMap<Key, Addr<AgentActor>>>>,
}

impl AgentDirectory {
    /// Sends the newest state of these agents (starting their actors on the
    /// caller's arbiter when needed) and stops the actors of removed agents.
    pub fn publish(&self, shop: &ShopId, changed: Vec<AgentSnapshot>, removed: Vec<AgentId>) {
        let mut map = self.inner.lock().expect("directory lock");
        for snap in changed {
            let key = (shop.clone(), snap.agent.id.clone());
            let addr = map
                .entry(key)
                .or_insert_with(|| AgentActor::default().start());
            addr.do_send(Update(snap));
        }
        for agent in removed {
            map.remove(&(shop.clone(), agent));
        }
    }

    /// Forgets every agent actor of a shop (its state left this node).
    pub fn clear_shop(&self, shop: &ShopId) {
        self.inner
            .lock()
            .expect("directory lock")
            .retain(|(s, _), _| s != shop);
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
