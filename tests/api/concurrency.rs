//! Simultaneous requests: routing is decided one shop at a time, so the
//! queue path never exceeds a max load and a buyer never gets two
//! conversations.

use std::collections::HashSet;

use futures::future::join_all;
use serde_json::json;

use crate::helpers::{cid, TestShop};

#[tokio::test]
async fn fifty_simultaneous_inquiries_fill_five_agents_of_two_and_queue_forty_in_order() {
    // Arrange
    let t = TestShop::start("shop");
    let agents = ["a1", "a2", "a3", "a4", "a5"];
    t.online_agents(&agents).await;
    for a in agents {
        t.max_load(a, 2).await;
    }
    let buyers: Vec<String> = (0..50).map(|i| format!("buyer-{i:02}")).collect();

    // Act
    let answers = join_all(buyers.iter().map(|b| t.inquire_with(b, json!({})))).await;

    // Assert
    let mut active = 0;
    let mut queued_positions = Vec::new();
    let mut ids = HashSet::new();
    for a in &answers {
        assert_eq!(a.status, 201, "{:?}", a.body);
        ids.insert(cid(&a.body));
        match a.body["status"].as_str().unwrap() {
            "active" => active += 1,
            "queued" => queued_positions.push(a.body["position"].as_u64().unwrap()),
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(ids.len(), 50, "fifty distinct conversations");
    assert_eq!(active, 10);
    queued_positions.sort_unstable();
    assert_eq!(queued_positions, (1..=40).collect::<Vec<u64>>());

    let queue = t.queue().await;
    assert_eq!(queue["length"], 40);
    let positions: Vec<u64> = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["position"].as_u64().unwrap())
        .collect();
    assert_eq!(positions, (1..=40).collect::<Vec<u64>>());

    let listed = t.app.get(&t.path("/agents"), &t.s.admin).await;
    for a in listed.body["agents"].as_array().unwrap() {
        assert_eq!(a["load"], 2, "agent {} is not exactly full", a["agent_id"]);
        assert!(a["load"].as_u64() <= a["max_load"].as_u64());
    }
}

#[tokio::test]
async fn simultaneous_ends_drain_the_queue_without_exceeding_any_max_load() {
    // Arrange: 3 agents of 2, 6 active and 10 queued.
    let t = TestShop::start("shop");
    let agents = ["a1", "a2", "a3"];
    t.online_agents(&agents).await;
    for a in agents {
        t.max_load(a, 2).await;
    }
    let mut active = Vec::new();
    for i in 0..16 {
        let a = t.inquire(&format!("b{i}")).await;
        if a["status"] == "active" {
            active.push(cid(&a));
        }
    }
    assert_eq!(active.len(), 6);

    // Act
    join_all(active.iter().map(|c| t.act(c, "end", json!({})))).await;

    // Assert
    let queue = t.queue().await;
    assert_eq!(queue["length"], 4);
    let listed = t.app.get(&t.path("/agents"), &t.s.admin).await;
    for a in listed.body["agents"].as_array().unwrap() {
        assert_eq!(a["load"], 2, "{a}");
    }
}

#[tokio::test]
async fn the_same_inquiry_sent_twenty_times_at_once_creates_one_conversation() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;

    // Act
    let answers = join_all((0..20).map(|_| t.inquire_with("b1", json!({})))).await;

    // Assert
    let created = answers.iter().filter(|a| a.status == 201).count();
    let existing = answers
        .iter()
        .filter(|a| a.status == 200 && a.body["reason"] == "existing")
        .count();
    assert_eq!((created, existing), (1, 19));
    let ids: HashSet<String> = answers.iter().map(|a| cid(&a.body)).collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(t.agent("a1").await["load"], 1);
}

#[tokio::test]
async fn simultaneous_transfers_of_one_conversation_leave_it_with_exactly_one_agent() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    let c1 = cid(&t.inquire("b1").await);
    t.online_agents(&["a2", "a3", "a4"]).await;

    // Act
    let answers = join_all(
        ["a2", "a3", "a4"]
            .iter()
            .map(|to| t.act(&c1, "transfer", json!({"to_agent": to}))),
    )
    .await;

    // Assert
    assert!(answers.iter().all(|a| a.status == 200), "{answers:?}");
    let listed = t.app.get(&t.path("/agents"), &t.s.admin).await;
    let total: u64 = listed.body["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["load"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 1);
    let owner = t.conversation(&c1).await["agent_id"].clone();
    let owner_load = t.agent(owner.as_str().unwrap()).await["load"].clone();
    assert_eq!(owner_load, 1);
}
