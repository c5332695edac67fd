//! Shared by the node's tests: a node on a store whose writes and wake-up
//! publications a test can hold, fail, and count.

#![allow(dead_code)] // each test file uses part of it

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use fenliu_core::settings::Inquiry;
use fenliu_core::{AgentId, AgentStatus, BuyerId, Command, Entry, Millis, ShopId};
use fenliu_node::clock::SystemClock;
use fenliu_node::{Node, NodeConfig};
use fenliu_store::{Acquired, Batch, Fence, MemoryStore, ShopStore, StoreError, StreamBounds};
use tokio::sync::watch;

pub fn node_on(passivate_after: Duration, store: Arc<dyn ShopStore>) -> Node {
    let config = NodeConfig {
        node_id: "t".into(),
        advertise_url: "http://127.0.0.1:1".into(),
        shop_threads: 2,
        passivate_after,
        lease_ttl: Duration::from_secs(10),
        seed: None,
        ..NodeConfig::default()
    };
    Node::start(config, store, Arc::new(SystemClock))
}

pub fn shop() -> ShopId {
    ShopId::parse("s1").unwrap()
}

pub fn agent() -> AgentId {
    AgentId::parse("a1").unwrap()
}

pub fn inquiry(buyer: &str) -> Inquiry {
    Inquiry {
        buyer_id: BuyerId::parse(buyer).unwrap(),
        entry: Entry::Live,
        question: None,
        order_state: None,
        product_id: None,
        intent: None,
        priority: Default::default(),
    }
}

/// Agent `a1` (max load 10, online) and one inquiry per buyer `b0`, `b1`, ….
pub async fn staff_and_route(node: &Node, buyers: usize) {
    let s = shop();
    node.command(
        &s,
        Command::UpsertAgent {
            agent: agent(),
            display_name: None,
            weight: None,
            groups: None,
        },
        (),
    )
    .await
    .unwrap();
    node.command(&s, Command::SetStatus(agent(), AgentStatus::Online), ())
        .await
        .unwrap();
    for k in 0..buyers {
        node.command(&s, Command::Inquire(inquiry(&format!("b{k}"))), ())
            .await
            .unwrap();
    }
}

/// The in-memory store, with hooks: writes can be held at a gate, made to
/// fail, and are counted; wake-up publications can be made to fail.
#[derive(Default)]
pub struct HookedStore {
    pub inner: MemoryStore,
    /// Wake-up publications still to refuse.
    pub wakeup_failures: AtomicUsize,
    /// Errors for writes by their number (1 for the first write started;
    /// such a write is not applied).
    pub write_failures: Mutex<HashMap<usize, StoreError>>,
    /// Every write that reached the store: how many puts and events it had.
    pub writes: Mutex<Vec<(usize, usize)>>,
    /// Writes wait while this is true.
    gate: Option<watch::Sender<bool>>,
    /// Writes that have started (whether held or not).
    pub writes_started: AtomicUsize,
}

impl HookedStore {
    /// A store whose writes pass freely until [`HookedStore::hold`].
    pub fn new() -> Self {
        Self {
            gate: Some(watch::channel(false).0),
            ..Self::default()
        }
    }

    /// Makes writes wait until [`HookedStore::release`].
    pub fn hold(&self) {
        self.gate.as_ref().unwrap().send_replace(true);
    }

    /// Lets held and later writes through.
    pub fn release(&self) {
        self.gate.as_ref().unwrap().send_replace(false);
    }

    /// The write after the `n` started so far fails with `err`, changing nothing.
    pub fn fail_write_after(&self, n: usize, err: StoreError) {
        self.write_failures.lock().unwrap().insert(n + 1, err);
    }

    /// How many writes have started.
    pub fn started_so_far(&self) -> usize {
        self.writes_started.load(Ordering::SeqCst)
    }

    /// Waits until `n` writes have started.
    pub async fn started(&self, n: usize) {
        while self.writes_started.load(Ordering::SeqCst) < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

#[async_trait]
impl ShopStore for HookedStore {
    async fn load(&self, shop: &ShopId, now: Millis) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.inner.load(shop, now).await
    }
    async fn write(
        &self,
        shop: &ShopId,
        fence: &Fence,
        batch: Batch,
        now: Millis,
    ) -> Result<(), StoreError> {
        let n = self.writes_started.fetch_add(1, Ordering::SeqCst) + 1;
        let mut gate = self.gate.as_ref().unwrap().subscribe();
        let _ = gate.wait_for(|held| !*held).await;
        if let Some(err) = self.write_failures.lock().unwrap().remove(&n) {
            return Err(err);
        }
        self.writes
            .lock()
            .unwrap()
            .push((batch.puts.len(), batch.events.len()));
        self.inner.write(shop, fence, batch, now).await
    }
    async fn read_list(
        &self,
        shop: &ShopId,
        list: &str,
        now: Millis,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        self.inner.read_list(shop, list, now).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
    fn kind(&self) -> &'static str {
        "hooked"
    }
    fn is_shared(&self) -> bool {
        false
    }
    async fn acquire(
        &self,
        shop: &ShopId,
        node_id: &str,
        ttl_ms: u64,
    ) -> Result<Acquired, StoreError> {
        self.inner.acquire(shop, node_id, ttl_ms).await
    }
    async fn renew(&self, shop: &ShopId, fence: &Fence, ttl_ms: u64) -> Result<bool, StoreError> {
        self.inner.renew(shop, fence, ttl_ms).await
    }
    async fn release(&self, shop: &ShopId, fence: &Fence) -> Result<(), StoreError> {
        self.inner.release(shop, fence).await
    }
    async fn owner(&self, shop: &ShopId) -> Result<Option<Fence>, StoreError> {
        self.inner.owner(shop).await
    }
    async fn epoch(&self, shop: &ShopId) -> Result<u64, StoreError> {
        self.inner.epoch(shop).await
    }
    async fn register_node(&self, node_id: &str, url: &str, ttl_ms: u64) -> Result<(), StoreError> {
        self.inner.register_node(node_id, url, ttl_ms).await
    }
    async fn node_url(&self, node_id: &str) -> Result<Option<String>, StoreError> {
        self.inner.node_url(node_id).await
    }
    async fn set_wakeup(&self, shop: &ShopId, at: Option<Millis>) -> Result<(), StoreError> {
        let failed = self
            .wakeup_failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failed {
            return Err(StoreError::Unavailable("blinked".into()));
        }
        self.inner.set_wakeup(shop, at).await
    }
    async fn due_wakeups(
        &self,
        now: Millis,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<ShopId>, StoreError> {
        self.inner.due_wakeups(now, skip, limit).await
    }
    async fn last_event_id(&self, shop: &ShopId) -> Result<String, StoreError> {
        self.inner.last_event_id(shop).await
    }
    async fn read_events(
        &self,
        shop: &ShopId,
        after: &str,
        block_ms: u64,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.inner.read_events(shop, after, block_ms).await
    }
    async fn event_bounds(&self, shop: &ShopId) -> Result<StreamBounds, StoreError> {
        self.inner.event_bounds(shop).await
    }
}
