//! The shop actor's lifecycle: restart from the store, panics, passivation,
//! the wake-up time it publishes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use fenliu_core::settings::Inquiry;
use fenliu_core::{AgentId, AgentStatus, BuyerId, Command, Entry, Millis, ShopId};
use fenliu_node::clock::SystemClock;
use fenliu_node::shop_actor::Op;
use fenliu_node::{Node, NodeConfig, NodeError};
use fenliu_store::{Acquired, Batch, Fence, MemoryStore, ShopStore, StoreError, StreamBounds};

fn node(passivate_after: Duration) -> Node {
    node_on(passivate_after, Arc::new(MemoryStore::new()))
}

fn node_on(passivate_after: Duration, store: Arc<dyn ShopStore>) -> Node {
    let config = NodeConfig {
        node_id: "t".into(),
        advertise_url: "http://127.0.0.1:1".into(),
        shop_threads: 2,
        passivate_after,
        lease_ttl: Duration::from_secs(10),
    };
    Node::start(config, store, Arc::new(SystemClock))
}

fn shop() -> ShopId {
    ShopId::parse("s1").unwrap()
}

fn agent() -> AgentId {
    AgentId::parse("a1").unwrap()
}

async fn staff_and_route(node: &Node, buyers: usize) {
    let s = shop();
    node.command(
        &s,
        Command::UpsertAgent {
            agent: agent(),
            display_name: None,
            weight: None,
            groups: None,
        },
        |_, _, _| (),
    )
    .await
    .unwrap();
    node.command(
        &s,
        Command::SetStatus(agent(), AgentStatus::Online),
        |_, _, _| (),
    )
    .await
    .unwrap();
    for k in 0..buyers {
        let inquiry = Inquiry {
            buyer_id: BuyerId::parse(&format!("b{k}")).unwrap(),
            entry: Entry::Live,
            question: None,
            order_state: None,
            product_id: None,
            intent: None,
        };
        node.command(&s, Command::Inquire(inquiry), |_, _, _| ())
            .await
            .unwrap();
    }
}

async fn load(node: &Node) -> u32 {
    node.read(&shop(), |s, _| s.agent(&agent()).map_or(0, |a| a.load))
        .await
        .unwrap()
}

#[actix_rt::test]
async fn a_restarted_shop_actor_reloads_everything_from_the_store() {
    let node = node(Duration::from_secs(600));
    staff_and_route(&node, 3).await;

    node.restart_shop(&shop()).await.unwrap();

    assert_eq!(load(&node).await, 3);
    let queued = node.read(&shop(), |s, _| s.queue_len()).await.unwrap();
    assert_eq!(queued, 0);
    node.shutdown();
}

#[actix_rt::test]
async fn a_panic_in_the_core_answers_an_internal_error_and_loses_nothing() {
    let node = node(Duration::from_secs(600));
    staff_and_route(&node, 2).await;

    let crashed = node
        .exec(&shop(), || {
            Box::new(
                |shop: &mut fenliu_core::Shop, now, rng: &mut rand::rngs::SmallRng| {
                    // Change the in-memory state, then panic: none of it was
                    // written, so none of it may survive.
                    let _ =
                        shop.handle(Command::SetStatus(agent(), AgentStatus::Offline), now, rng);
                    if shop.agent_count() > 0 {
                        panic!("simulated bug");
                    }
                    (Ok(()), fenliu_core::Effects::default())
                },
            ) as Op<()>
        })
        .await;

    assert!(matches!(crashed, Err(NodeError::Internal(ref m)) if m.contains("simulated bug")));
    assert_eq!(load(&node).await, 2);
    let status = node
        .read(&shop(), |s, _| s.agent(&agent()).map(|a| a.status))
        .await
        .unwrap();
    assert_eq!(status, Some(AgentStatus::Online));
    node.shutdown();
}

#[actix_rt::test]
async fn an_idle_shop_actor_is_passivated_and_comes_back_on_demand() {
    let node = node(Duration::from_millis(300));
    staff_and_route(&node, 1).await;
    assert_eq!(node.live_shops().await, 1);

    let deadline = Instant::now() + Duration::from_secs(5);
    while node.live_shops().await > 0 {
        assert!(Instant::now() < deadline, "actor never passivated");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    assert_eq!(load(&node).await, 1);
    assert_eq!(node.live_shops().await, 1);
    node.shutdown();
}

#[actix_rt::test]
async fn agent_reads_follow_every_write_of_the_shop() {
    let node = node(Duration::from_secs(600));
    staff_and_route(&node, 2).await;

    let seen = node.agent(&shop(), &agent()).await.unwrap().unwrap();
    assert_eq!(
        (seen.agent.status, seen.agent.load),
        (AgentStatus::Online, 2)
    );

    node.command(
        &shop(),
        Command::SetStatus(agent(), AgentStatus::Busy),
        |_, _, _| (),
    )
    .await
    .unwrap();
    let seen = node.agent(&shop(), &agent()).await.unwrap().unwrap();
    assert_eq!(seen.agent.status, AgentStatus::Busy);

    node.command(&shop(), Command::DeleteAgent(agent()), |_, _, _| ())
        .await
        .unwrap();
    assert!(node.agent(&shop(), &agent()).await.unwrap().is_none());
    node.shutdown();
}

#[actix_rt::test]
async fn a_draining_node_is_not_ready_and_takes_no_shops() {
    let node = node(Duration::from_secs(600));
    staff_and_route(&node, 1).await;
    assert!(node.ready().await);

    node.drain().await;

    assert!(!node.ready().await);
    let refused = node.read(&shop(), |s, _| s.agent_count()).await;
    assert!(matches!(refused, Err(NodeError::Draining)), "{refused:?}");
    node.shutdown();
}

/// The in-memory store, except that its first `failures` wake-up
/// publications fail as if the store had blinked.
struct FlakyWakeups {
    inner: MemoryStore,
    failures: AtomicUsize,
}

#[async_trait]
impl ShopStore for FlakyWakeups {
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
        self.inner.write(shop, fence, batch, now).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
    fn kind(&self) -> &'static str {
        "flaky"
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
            .failures
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

#[actix_rt::test]
async fn a_wake_up_time_the_store_refused_is_published_again() {
    // Arrange: a staffed shop, then a store that refuses the next two
    // publications.
    let store = Arc::new(FlakyWakeups {
        inner: MemoryStore::new(),
        failures: AtomicUsize::new(0),
    });
    let node = node_on(Duration::from_secs(600), store.clone());
    staff_and_route(&node, 0).await;
    store.failures.store(2, Ordering::SeqCst);

    // Act: an assignment starts a reply clock, whose timer is the next
    // deadline; nothing else is written after it.
    staff_and_route(&node, 1).await;

    // Assert: the wake-up time reaches the store all the same.
    let far = Millis::MAX / 2;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let due = store.inner.due_wakeups(far, 0, 10).await.unwrap();
        if due.contains(&shop()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the wake-up time was never published"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(store.failures.load(Ordering::SeqCst), 0);
}
