//! The gateway actor: finds or starts the actor of a shop.
//!
//! It keeps the address of every live shop actor with the lease epoch it
//! serves under, starts new ones under a supervisor, and retires actors
//! whose lease is gone or superseded.
//!
//! Where a shop runs: on the thread whose request first asked for it, when
//! that thread hosts shops ([`host_shops_here`]: the HTTP workers do), so
//! that a request for a shop on its own worker reaches the actor without
//! crossing threads; otherwise (a shop taken by lease renewal, a wake-up, a
//! test) on the shop arbiters, round robin.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use actix::prelude::*;
use fenliu_core::ShopId;
use fenliu_store::Fence;

use crate::error::NodeError;
use crate::shop_actor::{Retire, ShopActor, ShopEnv};

thread_local! {
    static HOSTS_SHOPS: Cell<bool> = const { Cell::new(false) };
}

/// Marks the calling thread, an actix arbiter that serves requests, as a
/// home for the shops first asked for on it. Call it on each HTTP worker
/// (the app factory runs there). Shops on a worker stop with it, so drain the
/// node before stopping the server.
pub fn host_shops_here() {
    HOSTS_SHOPS.set(true);
}

/// The arbiter a shop first asked for on this thread should start on: this
/// thread's, when it hosts shops.
pub(crate) fn nearby() -> Option<ArbiterHandle> {
    if HOSTS_SHOPS.get() {
        Arbiter::try_current()
    } else {
        None
    }
}

/// Finds (or starts) the actor serving a shop under `fence`; a shop it starts
/// runs on `near` if given, else on a shop arbiter.
#[derive(Message)]
#[rtype(result = "Result<Addr<ShopActor>, NodeError>")]
pub struct Lookup(pub ShopId, pub Fence, pub Option<ArbiterHandle>);

/// Stops the actor of a shop (its lease was lost).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Evict(pub ShopId);

/// Stop taking shops and retire every actor; answers the shops retired.
#[derive(Message)]
#[rtype(result = "Vec<ShopId>")]
pub struct Drain;

/// How many shop actors are live.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct LiveShops;

/// Which shops have a live actor.
#[derive(Message)]
#[rtype(result = "std::collections::HashSet<ShopId>")]
pub struct LiveShopIds;

struct Live {
    addr: Addr<ShopActor>,
    generation: u64,
    epoch: u64,
}

/// The live shop actors, shared by the gateway (the only writer) and every
/// HTTP worker (readers), so that a request for a shop already served here
/// goes straight to its actor instead of through the gateway's mailbox. A
/// read-write lock: every request reads it, only starting and stopping a
/// shop actor writes it, and nobody holds it across an await.
#[derive(Clone, Default)]
pub struct ShopDirectory {
    inner: Arc<RwLock<HashMap<ShopId, Live>>>,
}

impl ShopDirectory {
    /// The actor serving `shop` under the lease epoch `epoch`, if it runs.
    pub fn get(&self, shop: &ShopId, epoch: u64) -> Option<Addr<ShopActor>> {
        let map = self.inner.read().expect("shop directory lock");
        map.get(shop)
            .filter(|live| live.epoch == epoch && live.addr.connected())
            .map(|live| live.addr.clone())
    }

    /// Forgets the actor of `shop` if it is still the incarnation
    /// `generation` (a passivated actor takes itself out; a newer one stays).
    pub fn remove(&self, shop: &ShopId, generation: u64) {
        let mut map = self.write();
        if map.get(shop).is_some_and(|l| l.generation == generation) {
            map.remove(shop);
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<ShopId, Live>> {
        self.inner.write().expect("shop directory lock")
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<ShopId, Live>> {
        self.inner.read().expect("shop directory lock")
    }
}

/// The gateway.
pub struct Gateway {
    env: Arc<ShopEnv>,
    arbiters: Vec<ArbiterHandle>,
    next_arbiter: usize,
    next_generation: u64,
    draining: bool,
}

impl Gateway {
    /// A gateway that runs shop actors on `arbiters`, listed in `env.shops`.
    pub fn new(env: ShopEnv, arbiters: Vec<ArbiterHandle>) -> Self {
        assert!(!arbiters.is_empty(), "at least one shop arbiter");
        Self {
            env: Arc::new(env),
            arbiters,
            next_arbiter: 0,
            next_generation: 0,
            draining: false,
        }
    }

    fn start_shop(
        &mut self,
        id: ShopId,
        fence: Fence,
        near: Option<ArbiterHandle>,
    ) -> Addr<ShopActor> {
        let arbiter = near.unwrap_or_else(|| {
            let next = self.arbiters[self.next_arbiter % self.arbiters.len()].clone();
            self.next_arbiter += 1;
            next
        });
        self.next_generation += 1;
        let (generation, env, epoch) = (self.next_generation, self.env.clone(), fence.epoch);
        let shop = id.clone();
        let addr = Supervisor::start_in_arbiter(&arbiter, move |_| {
            ShopActor::new(shop, generation, fence, env)
        });
        self.env.shops.write().insert(
            id,
            Live {
                addr: addr.clone(),
                generation,
                epoch,
            },
        );
        addr
    }
}

impl Actor for Gateway {
    type Context = Context<Self>;
}

impl Handler<Lookup> for Gateway {
    type Result = Result<Addr<ShopActor>, NodeError>;

    fn handle(
        &mut self,
        Lookup(shop, fence, near): Lookup,
        _ctx: &mut Self::Context,
    ) -> Self::Result {
        if let Some(addr) = self.env.shops.get(&shop, fence.epoch) {
            return Ok(addr);
        }
        if let Some(live) = self.env.shops.read().get(&shop) {
            // A new epoch means someone else may have written in between:
            // the old incarnation's state is stale.
            live.addr.do_send(Retire);
        }
        if self.draining {
            return Err(NodeError::Draining);
        }
        Ok(self.start_shop(shop, fence, near))
    }
}

impl Handler<Evict> for Gateway {
    type Result = ();

    fn handle(&mut self, Evict(shop): Evict, _ctx: &mut Self::Context) {
        if let Some(live) = self.env.shops.write().remove(&shop) {
            live.addr.do_send(Retire);
        }
    }
}

impl Handler<Drain> for Gateway {
    type Result = ResponseFuture<Vec<ShopId>>;

    /// Answers once every shop actor has written what it decided and stopped.
    fn handle(&mut self, _: Drain, _ctx: &mut Self::Context) -> Self::Result {
        self.draining = true;
        let (shops, retired): (Vec<ShopId>, Vec<_>) = self
            .env
            .shops
            .write()
            .drain()
            .map(|(shop, live)| (shop, live.addr.send(Retire)))
            .unzip();
        Box::pin(async move {
            futures::future::join_all(retired).await;
            shops
        })
    }
}

impl Handler<LiveShops> for Gateway {
    type Result = usize;

    fn handle(&mut self, _: LiveShops, _ctx: &mut Self::Context) -> usize {
        self.env
            .shops
            .read()
            .values()
            .filter(|l| l.addr.connected())
            .count()
    }
}

impl Handler<LiveShopIds> for Gateway {
    type Result = MessageResult<LiveShopIds>;

    fn handle(&mut self, _: LiveShopIds, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(
            self.env
                .shops
                .read()
                .iter()
                .filter(|(_, l)| l.addr.connected())
                .map(|(s, _)| s.clone())
                .collect(),
        )
    }
}
