//! The gateway actor: finds or starts the actor of a shop.
//!
//! It keeps the address of every live shop actor, starts new ones under a
//! supervisor on the shop arbiters (round robin), forgets passivated ones and
//! wakes them again when one of their timers is due.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use actix::prelude::*;
use fenliu_core::{Millis, ShopId};

use crate::error::NodeError;
use crate::shop_actor::{ShopActor, ShopEnv, Tick};

/// Finds (or starts) the actor of a shop.
#[derive(Message)]
#[rtype(result = "Result<Addr<ShopActor>, NodeError>")]
pub struct Lookup(pub ShopId);

/// A shop actor went idle and stopped; wake it at `wake_at` if set.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Passivated {
    /// The shop.
    pub shop: ShopId,
    /// Which incarnation of the actor stopped.
    pub generation: u64,
    /// Its next timer.
    pub wake_at: Option<Millis>,
}

/// Stop taking new shops.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Drain;

/// How many shop actors are live.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct LiveShops;

/// The gateway.
pub struct Gateway {
    env: ShopEnv,
    arbiters: Vec<ArbiterHandle>,
    next_arbiter: usize,
    next_generation: u64,
    shops: HashMap<ShopId, (Addr<ShopActor>, u64)>,
    wakes: BTreeSet<(Millis, ShopId)>,
    draining: bool,
}

impl Gateway {
    /// A gateway that runs shop actors on `arbiters`.
    pub fn new(env: ShopEnv, arbiters: Vec<ArbiterHandle>) -> Self {
        assert!(!arbiters.is_empty(), "at least one shop arbiter");
        Self {
            env,
            arbiters,
            next_arbiter: 0,
            next_generation: 0,
            shops: HashMap::new(),
            wakes: BTreeSet::new(),
            draining: false,
        }
    }

    fn start_shop(&mut self, id: ShopId, gateway: Addr<Gateway>) -> Addr<ShopActor> {
        let arbiter = &self.arbiters[self.next_arbiter % self.arbiters.len()];
        self.next_arbiter += 1;
        self.next_generation += 1;
        let (generation, env) = (self.next_generation, self.env.clone());
        let shop = id.clone();
        let addr = Supervisor::start_in_arbiter(arbiter, move |_| {
            ShopActor::new(shop, generation, env, gateway)
        });
        self.shops.insert(id, (addr.clone(), generation));
        addr
    }

    fn wake_due(&mut self, ctx: &mut Context<Self>) {
        let now = self.env.clock.now();
        while let Some((at, shop)) = self.wakes.first().cloned() {
            if at > now {
                break;
            }
            self.wakes.pop_first();
            if !self.shops.contains_key(&shop) && !self.draining {
                let addr = self.start_shop(shop, ctx.address());
                addr.do_send(Tick);
            }
        }
    }
}

impl Actor for Gateway {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(Duration::from_millis(250), |act, ctx| act.wake_due(ctx));
    }
}

impl Handler<Lookup> for Gateway {
    type Result = Result<Addr<ShopActor>, NodeError>;

    fn handle(&mut self, msg: Lookup, ctx: &mut Self::Context) -> Self::Result {
        if let Some((addr, _)) = self.shops.get(&msg.0) {
            if addr.connected() {
                return Ok(addr.clone());
            }
        }
        if self.draining {
            return Err(NodeError::Draining);
        }
        Ok(self.start_shop(msg.0, ctx.address()))
    }
}

impl Handler<Passivated> for Gateway {
    type Result = ();

    fn handle(&mut self, msg: Passivated, _ctx: &mut Self::Context) {
        if self.shops.get(&msg.shop).is_some_and(|(_, g)| *g == msg.generation) {
            self.shops.remove(&msg.shop);
            if let Some(at) = msg.wake_at {
                self.wakes.insert((at, msg.shop));
            }
        }
    }
}

impl Handler<Drain> for Gateway {
    type Result = ();

    fn handle(&mut self, _: Drain, _ctx: &mut Self::Context) {
        self.draining = true;
    }
}

impl Handler<LiveShops> for Gateway {
    type Result = usize;

    fn handle(&mut self, _: LiveShops, _ctx: &mut Self::Context) -> usize {
        self.shops.values().filter(|(a, _)| a.connected()).count()
    }
}
