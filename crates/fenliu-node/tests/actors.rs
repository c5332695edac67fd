//! The shop actor's lifecycle: restart from the store, panics, passivation,
//! the wake-up time it publishes.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use common::*;
use fenliu_core::query::{AgentById, QueuePage};
use fenliu_core::{AgentStatus, Command, Millis, ShopId};
use fenliu_node::shop_actor::Op;
use fenliu_node::{Node, NodeError};
use fenliu_store::{MemoryStore, ShopStore};

fn node(passivate_after: Duration) -> Node {
    node_on(passivate_after, Arc::new(MemoryStore::new()))
}

async fn load(node: &Node) -> u32 {
    node.ask(&shop(), AgentById(agent()))
        .await
        .unwrap()
        .map_or(0, |a| a.agent.load)
}

#[actix_rt::test]
async fn a_restarted_shop_actor_reloads_everything_from_the_store() {
    let node = node(Duration::from_secs(600));
    staff_and_route(&node, 3).await;

    node.restart_shop(&shop()).await.unwrap();

    assert_eq!(load(&node).await, 3);
    let queue = QueuePage {
        offset: 0,
        limit: 0,
    };
    let queued = node.ask(&shop(), queue).await.unwrap().length;
    assert_eq!(queued, 0);
    node.shutdown();
}

#[actix_rt::test]
async fn a_panic_in_the_core_answers_an_internal_error_and_loses_nothing() {
    let node = node(Duration::from_secs(600));
    staff_and_route(&node, 2).await;

    let crashed = node
        .run(&shop(), || {
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
        .ask(&shop(), AgentById(agent()))
        .await
        .unwrap()
        .map(|a| a.agent.status);
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
async fn a_shop_watching_an_agents_presence_is_not_passivated() {
    let node = node(Duration::from_millis(300));
    staff_and_route(&node, 0).await;
    let mut settings = fenliu_core::RoutingSettings::default();
    settings.presence.timeout_secs = Some(600);
    node.command(&shop(), Command::SetRouting(Box::new(settings)), ())
        .await
        .unwrap();

    // Online and watched: its agent actor holds the presence clock.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(node.live_shops().await, 1, "passivated while watching");

    // Offline: nothing to watch, the idle shop goes.
    let offline = Command::SetStatus(agent(), AgentStatus::Offline);
    node.command(&shop(), offline, ()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while node.live_shops().await > 0 {
        assert!(Instant::now() < deadline, "actor never passivated");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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

    node.command(&shop(), Command::SetStatus(agent(), AgentStatus::Busy), ())
        .await
        .unwrap();
    let seen = node.agent(&shop(), &agent()).await.unwrap().unwrap();
    assert_eq!(seen.agent.status, AgentStatus::Busy);

    node.command(&shop(), Command::DeleteAgent(agent()), ())
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
    let refused = node.ask(&shop(), AgentById(agent())).await;
    assert!(matches!(refused, Err(NodeError::Draining)), "{refused:?}");
    node.shutdown();
}

#[actix_rt::test]
async fn a_wake_up_time_the_store_refused_is_published_again() {
    // Arrange: a staffed shop, then a store that refuses the next two
    // publications.
    let store = Arc::new(HookedStore::new());
    let node = node_on(Duration::from_secs(600), store.clone());
    staff_and_route(&node, 0).await;
    store.wakeup_failures.store(2, Ordering::SeqCst);

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
    assert_eq!(store.wakeup_failures.load(Ordering::SeqCst), 0);
}

/// The thread the actor of `shop` runs on.
async fn shop_thread(node: &Node, shop: &ShopId) -> ThreadId {
    node.run(shop, || {
        Box::new(
            |_: &mut fenliu_core::Shop, _, _: &mut rand::rngs::SmallRng| {
                (
                    Ok(std::thread::current().id()),
                    fenliu_core::Effects::default(),
                )
            },
        ) as Op<ThreadId>
    })
    .await
    .unwrap()
}

/// Asks for `shop` from a new arbiter, marked as hosting shops or not;
/// answers that arbiter's thread and the thread the shop runs on.
async fn ask_from_an_arbiter(node: &Node, shop: &str, hosts: bool) -> (ThreadId, ThreadId) {
    let (node, shop) = (node.clone(), ShopId::parse(shop).unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let arbiter = actix::Arbiter::new();
    arbiter.spawn(async move {
        if hosts {
            fenliu_node::gateway::host_shops_here();
        }
        let ran = shop_thread(&node, &shop).await;
        let _ = tx.send((std::thread::current().id(), ran));
    });
    let threads = rx.await.unwrap();
    arbiter.stop();
    threads
}

#[actix_rt::test]
async fn a_shop_first_asked_for_on_a_thread_that_hosts_shops_runs_on_it() {
    let node = node(Duration::from_secs(600));

    let (worker, near) = ask_from_an_arbiter(&node, "near", true).await;
    assert_eq!(near, worker);

    // Asked for from a thread that hosts none: on a shop arbiter, and a
    // shop already running stays where it is whoever asks.
    let (caller, far) = ask_from_an_arbiter(&node, "far", false).await;
    assert_ne!(far, caller);
    assert_ne!(far, std::thread::current().id());
    let (_, again) = ask_from_an_arbiter(&node, "far", true).await;
    assert_eq!(again, far);
    node.shutdown();
}
