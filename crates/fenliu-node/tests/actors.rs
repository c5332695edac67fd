//! The shop actor's lifecycle: restart from the store, panics, passivation.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fenliu_core::settings::Inquiry;
use fenliu_core::{AgentId, AgentStatus, BuyerId, Command, Entry, ShopId};
use fenliu_node::clock::SystemClock;
use fenliu_node::shop_actor::Op;
use fenliu_node::{Node, NodeConfig, NodeError};
use fenliu_store::MemoryStore;

fn node(passivate_after: Duration) -> Node {
    let config = NodeConfig {
        node_id: "t".into(),
        advertise_url: "http://127.0.0.1:1".into(),
        shop_threads: 2,
        passivate_after,
        lease_ttl: Duration::from_secs(10),
    };
    Node::start(config, Arc::new(MemoryStore::new()), Arc::new(SystemClock))
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
