//! Routing v2 (spec section 8) in cluster mode: priorities and a pending
//! escalation deadline survive kill -9 of the owner and fire on the new one.

use std::time::{Duration, Instant};

use fenliu_suite::cluster::Cluster;
use fenliu_suite::ShopFixture;
use serde_json::{json, Value};

use super::{get, owner, post, put, staff, TTL_MS};

/// (buyer, priority) of each queued conversation, in the order served.
fn served(queue: &Value) -> Vec<(String, u64)> {
    queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["buyer_id"].as_str().unwrap().to_owned(),
                i["priority"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn priorities_and_an_escalation_deadline_survive_a_takeover() {
    let c = Cluster::start(3, TTL_MS).await;
    let s = ShopFixture::new("steps");
    staff(&c, 0, &s, 2, 1).await;
    for (group, agent) in [("live-team", "a1"), ("presale", "a2")] {
        let path = s.path(&format!("/groups/{group}"));
        let a = put(&c, 0, &path, &s.admin, json!({"agents": [agent]})).await;
        assert_eq!(a.status, 200, "{:?}", a.body);
    }
    let routing = json!({"overflow": "none", "rules": [
        {"when": {"entry": "live"}, "to": {"groups": ["live-team"], "priority": 4,
            "escalate": [{"after_secs": 6, "groups": ["presale"]}]}},
        {"when": {"entry": "other"}, "to": {"groups": ["live-team"]}}]});
    let a = put(&c, 0, &s.path("/routing"), &s.admin, routing).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let ask = |buyer: &str, entry: &str, priority: u32| json!({"buyer_id": buyer, "entry": entry, "priority": priority});
    let mut ids = Vec::new();
    // Taken before b2 is posted: its step is due 6 s after it was created,
    // so at least 6 s after this (the other posts take time on a busy machine).
    let mut asked_at = Instant::now();
    for (buyer, entry, priority) in [
        ("b1", "other", 0),
        ("b2", "live", 0),
        ("b3", "other", 0),
        ("b4", "other", 7),
    ] {
        if buyer == "b2" {
            asked_at = Instant::now();
        }
        let a = post(
            &c,
            0,
            &s.path("/inquiries"),
            &s.service,
            ask(buyer, entry, priority),
        )
        .await;
        assert_eq!(a.status, 201, "{:?}", a.body);
        ids.push(a.body["conversation_id"].as_str().unwrap().to_owned());
    }
    let before = served(&get(&c, 0, &s.path("/queue"), &s.service).await.body);
    assert_eq!(
        before,
        [
            ("b4".to_owned(), 7),
            ("b2".to_owned(), 4),
            ("b3".to_owned(), 0)
        ]
    );
    let (old_owner, _) = owner(&c, 0, &s).await;

    // Act: kill -9 the owner before b2's step is due.
    let victim = c.index_of(&old_owner);
    c.nodes[victim].kill9();
    let survivor = (victim + 1) % 3;

    // Assert: the new owner serves the same order, and b2's deadline fires
    // there: it goes to a2 through the step.
    let after = served(&get(&c, survivor, &s.path("/queue"), &s.service).await.body);
    let (new_owner, _) = owner(&c, survivor, &s).await;
    assert_ne!(new_owner, old_owner);
    let without_b2 = |q: &[(String, u64)]| -> Vec<(String, u64)> {
        q.iter().filter(|(b, _)| b != "b2").cloned().collect()
    };
    assert_eq!(without_b2(&after), without_b2(&before));
    let b2 = s.path(&format!("/conversations/{}", ids[1]));
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut c2 = get(&c, survivor, &b2, &s.service).await.body;
    while c2["status"] != "active" && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        c2 = get(&c, survivor, &b2, &s.service).await.body;
    }
    assert_eq!(c2["status"], "active", "{c2}");
    assert_eq!(
        (&c2["agent_id"], &c2["reason"]),
        (&json!("a2"), &json!("escalated"))
    );
    assert!(
        asked_at.elapsed() >= Duration::from_secs(6),
        "placed before its step was due"
    );
    let queue = served(&get(&c, survivor, &s.path("/queue"), &s.service).await.body);
    assert_eq!(queue, [("b4".to_owned(), 7), ("b3".to_owned(), 0)]);
}
