//! Group commit in the shop actor: commands decided while a write is in
//! flight go out together in the next write; every caller is answered only
//! after the write holding its change; a failed or fenced write fails every
//! command in it and keeps none of them; what was decided on top of a
//! failed write is decided again on the reloaded shop.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use fenliu_core::query::AgentById;
use fenliu_core::{Command, MaxLoad, Reason, Reply};
use fenliu_node::{Node, NodeError};
use fenliu_store::StoreError;
use futures::future::join_all;

const IDLE: Duration = Duration::from_secs(600);

async fn roomy_shop(node: &Node) {
    staff_and_route(node, 0).await;
    node.command(
        &shop(),
        Command::SetMaxLoad(agent(), MaxLoad::new(50).unwrap()),
        (),
    )
    .await
    .unwrap();
}

/// Sends an inquiry per buyer at once; answers in the same order.
async fn inquire_all(node: &Node, buyers: &[String]) -> Vec<Result<Reason, NodeError>> {
    let s = shop();
    join_all(buyers.iter().map(|b| async {
        let decided = node.command(&s, Command::Inquire(inquiry(b)), ()).await?;
        match decided.reply {
            Reply::Conversation { reason, .. } => Ok(reason),
            other => panic!("an inquiry answers a conversation, not {other:?}"),
        }
    }))
    .await
}

fn buyers(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|k| format!("{prefix}{k}")).collect()
}

async fn load(node: &Node) -> u32 {
    node.ask(&shop(), AgentById(agent()))
        .await
        .unwrap()
        .map_or(0, |a| a.agent.load)
}

/// The loads the store holds, read by a node that starts from it afresh.
async fn stored_load(store: Arc<HookedStore>) -> u32 {
    let fresh = node_on(IDLE, store);
    let load = load(&fresh).await;
    fresh.shutdown();
    load
}

/// Lets every command sent so far reach the shop actor and be decided: they
/// are in-process messages, decided in microseconds, and none can be
/// answered while the write before them is held.
async fn let_them_be_decided() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// Inquiries of buyers `<prefix>0`, `<prefix>1`, … sent at once, answered later.
type Asked = actix_rt::task::JoinHandle<Vec<Result<Reason, NodeError>>>;

fn ask(node: &Node, prefix: &str, n: usize) -> Asked {
    let node = node.clone();
    let buyers = buyers(prefix, n);
    actix_rt::spawn(async move { inquire_all(&node, &buyers).await })
}

/// With writes held at the store: one inquiry whose write is in flight, and
/// `behind` more decided meanwhile, waiting for the next write.
async fn one_in_flight_and_more_behind(
    store: &HookedStore,
    node: &Node,
    behind: usize,
) -> (Asked, Asked) {
    let before = store.started_so_far();
    store.hold();
    let first = ask(node, "first", 1);
    store.started(before + 1).await;
    let rest = ask(node, "b", behind);
    let_them_be_decided().await;
    (first, rest)
}

#[actix_rt::test]
async fn commands_decided_while_a_write_is_in_flight_go_out_together_in_the_next_write() {
    // Arrange: the first inquiry's write is held at the store.
    let store = Arc::new(HookedStore::new());
    let node = node_on(IDLE, store.clone());
    roomy_shop(&node).await;
    let before = store.writes.lock().unwrap().len();

    // Act: twenty more arrive meanwhile, then the store lets writes through.
    let (first, rest) = one_in_flight_and_more_behind(&store, &node, 20).await;
    store.release();
    let first = first.await.unwrap();
    let rest = rest.await.unwrap();

    // Assert: all answered, in two writes, the second with all twenty.
    assert!(
        first.iter().chain(&rest).all(|r| r.is_ok()),
        "{first:?} {rest:?}"
    );
    let writes = store.writes.lock().unwrap()[before..].to_vec();
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert_eq!(writes[1].1, 20, "one assignment event each: {writes:?}");
    assert_eq!(load(&node).await, 21);
    assert_eq!(stored_load(store.clone()).await, 21);
    node.shutdown();
}

#[actix_rt::test]
async fn no_caller_is_answered_before_the_write_holding_its_change() {
    let store = Arc::new(HookedStore::new());
    let node = node_on(IDLE, store.clone());
    roomy_shop(&node).await;
    store.hold();

    let asked = ask(&node, "b", 3);
    let_them_be_decided().await;

    assert!(!asked.is_finished(), "answered while its write was held");
    // A read that saw the held changes waits for them too.
    let read = {
        let node = node.clone();
        actix_rt::spawn(async move { load(&node).await })
    };
    let_them_be_decided().await;
    assert!(!read.is_finished(), "a read showed what was not stored yet");

    store.release();
    assert!(asked.await.unwrap().iter().all(|r| r.is_ok()));
    assert_eq!(read.await.unwrap(), 3);
    node.shutdown();
}

#[actix_rt::test]
async fn a_restart_waits_for_the_write_in_flight_and_the_reload_sees_it() {
    let store = Arc::new(HookedStore::new());
    let node = node_on(IDLE, store.clone());
    roomy_shop(&node).await;
    let before = store.started_so_far();
    store.hold();
    let asked = ask(&node, "b", 2);
    let_them_be_decided().await;

    node.restart_shop(&shop()).await.unwrap();
    store.release();

    assert!(asked.await.unwrap().iter().all(|r| r.is_ok()));
    // One write in flight, one for what was decided meanwhile: a restart
    // that dropped them would have had the callers retry (a third write).
    assert_eq!(store.started_so_far() - before, 2);
    // The restarted actor reloaded from the store: both inquiries are there.
    assert_eq!(load(&node).await, 2);
    node.shutdown();
}

#[actix_rt::test]
async fn a_failed_write_fails_every_command_in_it_and_keeps_none_of_them() {
    // Arrange: one inquiry's write held; the next write will fail.
    let store = Arc::new(HookedStore::new());
    let node = node_on(IDLE, store.clone());
    roomy_shop(&node).await;
    let before = store.started_so_far();
    store.hold();
    store.fail_write_after(
        before + 1,
        StoreError::Unavailable("connection reset".into()),
    );
    let first = {
        let node = node.clone();
        actix_rt::spawn(async move { inquire_all(&node, &buyers("first", 1)).await })
    };
    store.started(before + 1).await;
    let batched = {
        let node = node.clone();
        actix_rt::spawn(async move { inquire_all(&node, &buyers("b", 10)).await })
    };
    let_them_be_decided().await;

    // Act: the first write goes through, the batch of ten fails.
    store.release();
    let first = first.await.unwrap();
    let batched = batched.await.unwrap();

    // Assert: every one of the ten is refused with the store's error, and
    // neither the node nor the store keeps any of them.
    assert!(first[0].is_ok(), "{first:?}");
    assert!(
        batched
            .iter()
            .all(|r| matches!(r, Err(NodeError::Store(StoreError::Unavailable(_))))),
        "{batched:?}"
    );
    assert_eq!(load(&node).await, 1);
    assert_eq!(stored_load(store.clone()).await, 1);
    node.shutdown();
}

#[actix_rt::test]
async fn commands_decided_on_top_of_a_failed_write_are_decided_again_on_the_reloaded_shop() {
    // Arrange: the first inquiry's write is held and will fail.
    let store = Arc::new(HookedStore::new());
    let node = node_on(IDLE, store.clone());
    roomy_shop(&node).await;
    store.fail_write_after(
        store.started_so_far(),
        StoreError::Unavailable("connection reset".into()),
    );
    let (first, on_top) = one_in_flight_and_more_behind(&store, &node, 5).await;

    // Act
    store.release();
    let first = first.await.unwrap();
    let on_top = on_top.await.unwrap();

    // Assert: the failed one is refused; the five, never written, were
    // retried on the shop as the store holds it, and are stored.
    assert!(matches!(first[0], Err(NodeError::Store(_))), "{first:?}");
    assert!(on_top.iter().all(|r| r.is_ok()), "{on_top:?}");
    assert_eq!(load(&node).await, 5);
    assert_eq!(stored_load(store.clone()).await, 5);
    node.shutdown();
}

#[actix_rt::test]
async fn a_fenced_batch_fails_every_command_in_it_and_the_shop_is_served_no_more() {
    let store = Arc::new(HookedStore::new());
    let node = node_on(IDLE, store.clone());
    roomy_shop(&node).await;
    store.fail_write_after(
        store.started_so_far(),
        StoreError::Fenced("epoch 2 is newer".into()),
    );
    let (fenced, behind) = one_in_flight_and_more_behind(&store, &node, 4).await;

    store.release();
    let fenced = fenced.await.unwrap();
    let behind = behind.await.unwrap();

    assert!(
        matches!(fenced[0], Err(NodeError::Store(StoreError::Fenced(_)))),
        "{fenced:?}"
    );
    assert!(behind.iter().all(|r| r.is_err()), "{behind:?}");
    assert_eq!(stored_load(store.clone()).await, 0);
    node.shutdown();
}
