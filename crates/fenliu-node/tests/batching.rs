//! Batching changes no decision: the same commands, each written on its own
//! or decided while a write is in flight and written together with others,
//! give the same replies and leave the same records in the store.
//!
//! Both runs use a fixed clock and the same seed, so the core decides the
//! same way when it sees the same commands in the same order; any difference
//! would come from the group commit.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use fenliu_core::{
    AgentId, AgentStatus, Command, ConversationId, EndReason, MaxLoad, Millis, Party, ShopId,
};
use fenliu_node::clock::Clock;
use fenliu_node::{Node, NodeConfig};
use fenliu_store::ShopStore;
use futures::future::join_all;
use proptest::prelude::*;

/// 2026-11-23 10:00 UTC, for ever.
const NOW: Millis = 1_763_892_000_000;

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> Millis {
        NOW
    }
}

fn node_on(store: Arc<HookedStore>) -> Node {
    let config = NodeConfig {
        node_id: "t".into(),
        advertise_url: "http://127.0.0.1:1".into(),
        shop_threads: 1,
        passivate_after: Duration::from_secs(600),
        lease_ttl: Duration::from_secs(10),
        seed: Some(7),
        ..NodeConfig::default()
    };
    Node::start(config, store, Arc::new(FixedClock))
}

fn agent_n(k: u8) -> AgentId {
    AgentId::parse(&format!("a{}", k % 3)).unwrap()
}

fn conversation(n: u8) -> ConversationId {
    // Conversations are numbered c-1, c-2, … in the order they are created;
    // a number not created yet is a 404 in both runs alike.
    ConversationId(u64::from(n % 14) + 1)
}

/// A command of the mix: inquiries of a dozen buyers, messages, ends,
/// cancels, transfers and status changes of three agents.
fn command(kind: u8, a: u8, b: u8) -> Command {
    match kind % 8 {
        0 | 1 => Command::Inquire(inquiry(&format!("b{}", a % 12))),
        2 => Command::Message(conversation(a), Party::Agent),
        3 => Command::Message(conversation(a), Party::Buyer),
        4 => Command::End(conversation(a), EndReason::Agent),
        5 => Command::Cancel(conversation(a)),
        6 => Command::Transfer(conversation(a), agent_n(b)),
        _ => Command::SetStatus(
            agent_n(a),
            [AgentStatus::Online, AgentStatus::Busy, AgentStatus::Offline][usize::from(b % 3)],
        ),
    }
}

/// Three online agents of max load 2: the mix queues, drains and breaks ties.
async fn staff(node: &Node, s: &ShopId) {
    for k in 0..3 {
        let a = agent_n(k);
        let setup = [
            Command::UpsertAgent {
                agent: a.clone(),
                display_name: None,
                weight: None,
                groups: None,
            },
            Command::SetMaxLoad(a.clone(), MaxLoad::new(2).unwrap()),
            Command::SetStatus(a, AgentStatus::Online),
        ];
        for cmd in setup {
            node.command(s, cmd, ()).await.unwrap();
        }
    }
}

/// What a command answered, as text (replies and errors alike).
async fn send(node: &Node, s: &ShopId, cmd: Command) -> String {
    match node.command(s, cmd, ()).await {
        Ok(decided) => format!("{:?}", decided.reply),
        Err(e) => format!("error: {e:?}"),
    }
}

/// The shop's records as the store holds them, in key order.
async fn stored(store: &HookedStore, s: &ShopId) -> Vec<(String, Vec<u8>)> {
    let mut records = store.inner.load(s, NOW).await.unwrap();
    records.sort();
    records
}

/// Every command on its own: each is answered (its write done) before the next is sent.
async fn one_by_one(commands: &[Command]) -> (Vec<String>, Vec<(String, Vec<u8>)>) {
    let store = Arc::new(HookedStore::new());
    let node = node_on(store.clone());
    let s = shop();
    staff(&node, &s).await;
    let mut replies = Vec::new();
    for cmd in commands {
        replies.push(send(&node, &s, cmd.clone()).await);
    }
    node.shutdown();
    (replies, stored(&store, &s).await)
}

/// The commands in bursts: the first of each burst is written while the rest
/// are sent in order and decided behind it, to go out together in the next
/// write. Also answers how many writes the bursts took.
async fn in_bursts(
    commands: &[Command],
    cuts: &[usize],
) -> (Vec<String>, Vec<(String, Vec<u8>)>, usize) {
    let store = Arc::new(HookedStore::new());
    let node = node_on(store.clone());
    let s = shop();
    staff(&node, &s).await;
    let writes_before = store.writes_started.load(Ordering::SeqCst);
    let mut replies = Vec::new();
    let mut rest = commands;
    let mut cuts = cuts.iter().cycle();
    while !rest.is_empty() {
        let n = (*cuts.next().unwrap()).min(rest.len());
        let (burst, after) = rest.split_at(n);
        rest = after;
        let before = store.started_so_far();
        store.hold();
        let first = {
            let (node, s, cmd) = (node.clone(), s.clone(), burst[0].clone());
            actix_rt::spawn(async move { send(&node, &s, cmd).await })
        };
        // Some command's write may be under way (or none, when the first
        // changes nothing); either way the rest are decided while it waits.
        tokio::time::timeout(Duration::from_millis(50), store.started(before + 1))
            .await
            .ok();
        let others = {
            let (node, s, cmds) = (node.clone(), s.clone(), burst[1..].to_vec());
            // join_all sends them in order: each reaches the actor's mailbox
            // on its first poll, and the first poll goes in list order.
            actix_rt::spawn(async move {
                join_all(cmds.into_iter().map(|cmd| {
                    let (node, s) = (node.clone(), s.clone());
                    async move { send(&node, &s, cmd).await }
                }))
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        store.release();
        replies.push(first.await.unwrap());
        replies.extend(others.await.unwrap());
    }
    let writes = store.writes_started.load(Ordering::SeqCst) - writes_before;
    node.shutdown();
    (replies, stored(&store, &s).await, writes)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(24),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn batched_or_not_the_same_commands_give_the_same_replies_and_records(
        ops in proptest::collection::vec((any::<u8>(), any::<u8>(), any::<u8>()), 4..40),
        cuts in proptest::collection::vec(2usize..9, 1..6),
    ) {
        let commands: Vec<Command> = ops.iter().map(|&(k, a, b)| command(k, a, b)).collect();
        let ((alone, alone_records), (batched, batched_records, writes)) =
            actix_rt::System::new().block_on(async {
                (one_by_one(&commands).await, in_bursts(&commands, &cuts).await)
            });
        prop_assert_eq!(&alone, &batched, "replies differ");
        prop_assert_eq!(alone_records.len(), batched_records.len());
        for (a, b) in alone_records.iter().zip(&batched_records) {
            prop_assert_eq!(a, b, "record {} differs", a.0);
        }
        // It was batched: fewer writes than commands that changed something.
        let changed = alone.iter().filter(|r| !r.starts_with("error")).count();
        prop_assert!(writes <= changed, "{writes} writes for {changed} changes");
    }
}

/// The bursts above do group commands: with 12 inquiries in bursts of 6, the
/// store sees far fewer writes than inquiries.
#[test]
fn bursts_go_out_in_fewer_writes_than_commands() {
    let commands: Vec<Command> = (0..12).map(|k| command(0, k, 0)).collect();
    let (_, _, writes) =
        actix_rt::System::new().block_on(async { in_bursts(&commands, &[6]).await });
    assert!(writes <= 4, "12 inquiries in 2 bursts took {writes} writes");
}
