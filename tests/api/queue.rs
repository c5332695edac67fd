//! The queue (排队): positions, order, `GET /queue`, draining whenever
//! capacity appears, cancellation and no-queue mode.

use serde_json::{json, Value};

use crate::helpers::{assert_error, cid, TestShop};

/// One online agent `a1` with max load 1, already carrying buyer `b0`.
async fn one_full_agent() -> (TestShop, String) {
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    t.max_load("a1", 1).await;
    let c0 = cid(&t.inquire("b0").await);
    (t, c0)
}

fn buyers(queue: &Value) -> Vec<String> {
    queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["buyer_id"].as_str().unwrap().to_owned())
        .collect()
}

fn positions(queue: &Value) -> Vec<u64> {
    queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["position"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn inquiries_beyond_capacity_queue_first_in_first_out_with_positions() {
    // Arrange
    let (t, _) = one_full_agent().await;

    // Act
    let q1 = t.inquire("b1").await;
    let q2 = t.inquire("b2").await;
    let q3 = t.inquire("b3").await;

    // Assert
    for (q, pos) in [(&q1, 1), (&q2, 2), (&q3, 3)] {
        assert_eq!(q["status"], "queued");
        assert_eq!(q["reason"], "queued");
        assert_eq!(q["position"], pos);
        assert!(q.get("agent_id").is_none(), "{q}");
    }
    let queue = t.queue().await;
    assert_eq!(queue["order"], "fifo");
    assert_eq!(queue["length"], 3);
    assert_eq!(buyers(&queue), ["b1", "b2", "b3"]);
    assert_eq!(positions(&queue), [1, 2, 3]);
    assert_eq!(queue["items"][0]["conversation_id"], q1["conversation_id"]);
    assert!(queue["items"][0]["waited_secs"].as_u64().is_some());
    assert_eq!(t.conversation(&cid(&q2)).await["position"], 2);
}

#[tokio::test]
async fn with_nobody_online_every_inquiry_queues() {
    // Arrange
    let t = TestShop::start("shop");
    t.agents(&["a1"]).await;
    t.status("a1", "busy").await;

    // Act
    let q = t.inquire("b1").await;

    // Assert
    assert_eq!(q["status"], "queued");
    assert_eq!(q["position"], 1);
    assert_eq!(q["offline_delivery"], false);
}

#[tokio::test]
async fn a_shop_with_no_agents_queues_inquiries() {
    // Arrange
    let t = TestShop::start("shop");

    // Act
    let q = t.inquire("b1").await;

    // Assert
    assert_eq!(q["status"], "queued");
}

#[tokio::test]
async fn lifo_serves_the_last_arrival_first_and_counts_positions_from_it() {
    // Arrange
    let (t, c0) = one_full_agent().await;
    t.routing(json!({"queue": {"order": "lifo"}})).await;
    t.inquire("b1").await;
    t.inquire("b2").await;
    let q3 = t.inquire("b3").await;

    // Act
    let queue = t.queue().await;
    t.end(&c0).await;

    // Assert
    assert_eq!(q3["position"], 1);
    assert_eq!(queue["order"], "lifo");
    assert_eq!(buyers(&queue), ["b3", "b2", "b1"]);
    assert_eq!(positions(&queue), [1, 2, 3]);
    let served = t.conversation(&cid(&q3)).await;
    assert_eq!(served["status"], "active");
    assert_eq!(served["agent_id"], "a1");
    assert_eq!(buyers(&t.queue().await), ["b2", "b1"]);
}

#[tokio::test]
async fn ending_a_conversation_gives_the_slot_to_the_head_of_the_queue() {
    // Arrange
    let (t, c0) = one_full_agent().await;
    let q1 = cid(&t.inquire("b1").await);
    let q2 = cid(&t.inquire("b2").await);

    // Act
    t.end(&c0).await;

    // Assert
    let first = t.conversation(&q1).await;
    assert_eq!(first["status"], "active");
    assert_eq!(first["agent_id"], "a1");
    assert!(first["assigned_at"].is_string());
    let second = t.conversation(&q2).await;
    assert_eq!(second["status"], "queued");
    assert_eq!(second["position"], 1);
    assert_eq!(t.agent("a1").await["load"], 1);
}

#[tokio::test]
async fn an_agent_going_online_drains_the_queue() {
    // Arrange
    let t = TestShop::start("shop");
    t.agents(&["a1"]).await;
    t.max_load("a1", 2).await;
    let q: Vec<String> = {
        let mut v = Vec::new();
        for b in ["b1", "b2", "b3"] {
            v.push(cid(&t.inquire(b).await));
        }
        v
    };

    // Act
    t.online(&["a1"]).await;

    // Assert
    assert_eq!(t.conversation(&q[0]).await["agent_id"], "a1");
    assert_eq!(t.conversation(&q[1]).await["agent_id"], "a1");
    assert_eq!(t.conversation(&q[2]).await["status"], "queued");
    assert_eq!(t.queue().await["length"], 1);
}

#[tokio::test]
async fn raising_max_load_drains_the_queue() {
    // Arrange
    let (t, _) = one_full_agent().await;
    let q1 = cid(&t.inquire("b1").await);

    // Act
    t.max_load("a1", 2).await;

    // Assert
    let c = t.conversation(&q1).await;
    assert_eq!(c["status"], "active");
    assert_eq!(c["agent_id"], "a1");
}

#[tokio::test]
async fn transferring_a_conversation_away_drains_the_queue() {
    // Arrange
    let (t, c0) = one_full_agent().await;
    t.agents(&["a2"]).await;
    t.status("a2", "busy").await;
    let q1 = cid(&t.inquire("b1").await);

    // Act
    let moved = t.act(&c0, "transfer", json!({"to_agent": "a2"})).await;

    // Assert
    assert_eq!(moved.status, 200, "{:?}", moved.body);
    assert_eq!(moved.body["agent_id"], "a2");
    let c = t.conversation(&q1).await;
    assert_eq!(c["status"], "active");
    assert_eq!(c["agent_id"], "a1");
}

#[tokio::test]
async fn changing_the_routing_drains_the_queue() {
    // Arrange: a rule sends live inquiries to offline a2, without overflow.
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    t.agents(&["a2"]).await;
    t.routing(json!({
        "overflow": "none",
        "rules": [{"when": {"entry": "live"}, "to": {"agents": ["a2"]}}]
    }))
    .await;
    let q1 = t.inquire_with("b1", json!({"entry": "live"})).await;
    assert_eq!(q1.body["status"], "queued");

    // Act
    t.routing(json!({})).await;

    // Assert
    let c = t.conversation(&cid(&q1.body)).await;
    assert_eq!(c["status"], "active");
    assert_eq!(c["agent_id"], "a1");
    assert_eq!(c["reason"], "default");
}

#[tokio::test]
async fn a_queued_conversation_without_an_available_target_does_not_block_those_behind() {
    // Arrange: a2 (the only target of "vip") is online and full; a1 is full.
    let t = TestShop::start("shop");
    t.online_agents(&["a1", "a2"]).await;
    t.max_load("a1", 1).await;
    t.max_load("a2", 1).await;
    t.routing(json!({"rules": [{"when": {"question": "vip"}, "to": {"agents": ["a2"]}}]}))
        .await;
    t.inquire_with("v0", json!({"question": "vip"})).await;
    let c0 = cid(&t.inquire("b0").await);
    let vip = t.inquire_with("v1", json!({"question": "vip"})).await;
    let plain = t.inquire("b1").await;
    assert_eq!(vip.body["position"], 1);
    assert_eq!(plain["position"], 2);

    // Act: a1 frees up.
    t.end(&c0).await;

    // Assert
    assert_eq!(t.conversation(&cid(&plain)).await["agent_id"], "a1");
    let waiting = t.conversation(&cid(&vip.body)).await;
    assert_eq!(waiting["status"], "queued");
    assert_eq!(waiting["position"], 1);
}

#[tokio::test]
async fn a_queued_conversation_is_routed_again_with_the_rules_of_that_moment() {
    // Arrange
    let (t, c0) = one_full_agent().await;
    t.agents(&["a2"]).await;
    let q1 = cid(&t.inquire_with("b1", json!({"entry": "live"})).await.body);
    t.routing(json!({"rules": [{"when": {"entry": "live"}, "to": {"agents": ["a2"]}}]}))
        .await;

    // Act
    t.online(&["a2"]).await;

    // Assert
    let c = t.conversation(&q1).await;
    assert_eq!(c["agent_id"], "a2");
    assert_eq!(c["reason"], "rule");
    assert_eq!(t.conversation(&c0).await["agent_id"], "a1");
}

#[tokio::test]
async fn cancelling_leaves_the_queue_and_moves_those_behind_up() {
    // Arrange
    let (t, _) = one_full_agent().await;
    let q1 = cid(&t.inquire("b1").await);
    let q2 = cid(&t.inquire("b2").await);

    // Act
    let cancelled = t.act(&q1, "cancel", json!({})).await;
    let again = t.act(&q1, "cancel", json!({})).await;

    // Assert
    assert_eq!(cancelled.status, 200, "{:?}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(again.status, 200);
    assert_eq!(again.body["status"], "cancelled");
    assert_eq!(t.conversation(&q2).await["position"], 1);
    assert_eq!(buyers(&t.queue().await), ["b2"]);
}

#[tokio::test]
async fn cancelling_an_active_conversation_is_a_conflict() {
    // Arrange
    let (t, c0) = one_full_agent().await;

    // Act
    let cancelled = t.act(&c0, "cancel", json!({})).await;

    // Assert
    assert_error(&cancelled, 409, "conflict");
    assert_eq!(t.conversation(&c0).await["status"], "active");
}

#[tokio::test]
async fn a_cancelled_buyer_may_inquire_again() {
    // Arrange
    let (t, _) = one_full_agent().await;
    let q1 = cid(&t.inquire("b1").await);
    t.act(&q1, "cancel", json!({})).await;

    // Act
    let again = t.inquire("b1").await;

    // Assert
    assert_ne!(cid(&again), q1);
    assert_eq!(again["status"], "queued");
    assert_eq!(again["position"], 1);
}

#[tokio::test]
async fn without_a_queue_a_saturated_shop_assigns_beyond_max_load() {
    // Arrange: a1 at 1/1 and a2 at 2/2.
    let t = TestShop::start("shop");
    t.online_agents(&["a1", "a2"]).await;
    t.max_load("a1", 1).await;
    t.max_load("a2", 2).await;
    t.routing(json!({"queue": {"enabled": false}})).await;
    for b in ["x1", "x2", "x3"] {
        t.inquire(b).await;
    }
    assert_eq!(t.agent("a1").await["load"], 1);
    assert_eq!(t.agent("a2").await["load"], 2);

    // Act
    let routed = t.inquire("b1").await;

    // Assert
    assert_eq!(routed["status"], "active");
    assert_eq!(routed["reason"], "no_queue");
    let a1 = t.agent("a1").await;
    let a2 = t.agent("a2").await;
    assert_eq!(
        a1["load"].as_u64().unwrap() + a2["load"].as_u64().unwrap(),
        4
    );
    assert_eq!(t.queue().await["length"], 0);
}

#[tokio::test]
async fn without_a_queue_the_lowest_saturation_wins_beyond_max_load() {
    // Arrange: a1 at 2/2 and a2 at 4/4, both 100%.
    let t = TestShop::start("shop");
    t.online_agents(&["a1", "a2"]).await;
    t.max_load("a1", 2).await;
    t.max_load("a2", 4).await;
    t.routing(json!({"queue": {"enabled": false}})).await;
    for b in ["x1", "x2", "x3", "x4", "x5", "x6"] {
        t.inquire(b).await;
    }

    // Act
    let first = t.inquire("b1").await;
    let second = t.inquire("b2").await;

    // Assert: whoever took the first (a1 at 150% or a2 at 125%) is now above
    // the other (100%), so the second goes to the other.
    assert_eq!(first["reason"], "no_queue");
    assert_eq!(second["reason"], "no_queue");
    assert_ne!(first["agent_id"], second["agent_id"]);
}

#[tokio::test]
async fn without_a_queue_nobody_online_still_queues() {
    // Arrange
    let t = TestShop::start("shop");
    t.agents(&["a1"]).await;
    t.routing(json!({"queue": {"enabled": false}})).await;

    // Act
    let routed = t.inquire("b1").await;

    // Assert
    assert_eq!(routed["status"], "queued");
    assert_eq!(routed["reason"], "queued");
}

#[tokio::test]
async fn a_page_of_the_queue_lists_its_positions_and_the_whole_length() {
    // Arrange: five queued buyers behind a full agent.
    let (t, _) = one_full_agent().await;
    for b in ["b1", "b2", "b3", "b4", "b5"] {
        t.inquire(b).await;
    }

    // Act
    let page = t
        .app
        .get(&t.path("/queue?offset=1&limit=2"), &t.s.service)
        .await;
    let tail = t
        .app
        .get(&t.path("/queue?offset=4&limit=10"), &t.s.service)
        .await;
    let past = t.app.get(&t.path("/queue?offset=9"), &t.s.service).await;

    // Assert
    assert_eq!(page.status, 200, "{:?}", page.body);
    assert_eq!(buyers(&page.body), ["b2", "b3"]);
    assert_eq!(positions(&page.body), [2, 3]);
    assert_eq!(page.body["length"], 5);
    assert_eq!(buyers(&tail.body), ["b5"]);
    assert_eq!(positions(&tail.body), [5]);
    assert_eq!(buyers(&past.body), Vec::<String>::new());
    assert_eq!(past.body["length"], 5);
}

#[tokio::test]
async fn a_queue_page_of_a_bad_size_is_refused_and_changes_nothing() {
    let (t, _) = one_full_agent().await;
    t.inquire("b1").await;
    let before = t.queue().await;

    for query in ["limit=0", "limit=1001", "limit=x", "offset=-1", "page=2"] {
        let a = t
            .app
            .get(&t.path(&format!("/queue?{query}")), &t.s.service)
            .await;
        assert_error(&a, 400, "invalid_request");
    }

    let after = t.queue().await;
    assert_eq!(buyers(&after), buyers(&before));
    assert_eq!(after["length"], before["length"]);
}

#[tokio::test]
async fn a_full_queue_refuses_a_new_inquiry_with_409_and_keeps_everyone_in_place() {
    // Arrange: a limit of two, both places taken.
    let (t, _) = one_full_agent().await;
    let settings = t
        .routing(json!({"queue": {"enabled": true, "order": "fifo", "max_length": 2}}))
        .await;
    assert_eq!(settings["queue"]["max_length"], 2);
    t.inquire("b1").await;
    t.inquire("b2").await;

    // Act
    let refused = t
        .app
        .post(
            &t.path("/inquiries"),
            &t.s.service,
            json!({"buyer_id": "b3", "entry": "live"}),
        )
        .await;
    let again = t
        .app
        .post(
            &t.path("/inquiries"),
            &t.s.service,
            json!({"buyer_id": "b1", "entry": "live"}),
        )
        .await;

    // Assert
    assert_error(&refused, 409, "conflict");
    assert_eq!(
        again.status, 200,
        "a queued buyer asking again keeps its place"
    );
    assert_eq!(again.body["position"], 1);
    let queue = t.queue().await;
    assert_eq!(buyers(&queue), ["b1", "b2"]);
}

#[tokio::test]
async fn a_queue_limit_out_of_range_is_refused() {
    let t = TestShop::start("shop");
    for bad in [json!(0), json!(1_000_001), json!(-1), json!("ten")] {
        let a = t
            .app
            .put(
                &t.path("/routing"),
                &t.s.admin,
                json!({"queue": {"max_length": bad}}),
            )
            .await;
        assert_error(&a, 400, "invalid_request");
    }
    let settings = t.app.get(&t.path("/routing"), &t.s.admin).await;
    assert!(
        settings.body["queue"].get("max_length").is_none(),
        "{:?}",
        settings.body
    );
}
