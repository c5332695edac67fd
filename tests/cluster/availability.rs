//! Availability v2 (spec section 9) in cluster mode: a pending offer and a
//! pending reassign deadline survive kill -9 of the owner and fire on the
//! new one, at their deadlines.

use std::time::{Duration, Instant};

use fenliu_suite::cluster::Cluster;
use fenliu_suite::ShopFixture;
use serde_json::{json, Value};

use super::{get, owner, post, put, staff, TTL_MS};

/// Polls a conversation on node `i` until `done` holds (or 25 s pass).
async fn until(
    c: &Cluster,
    i: usize,
    s: &ShopFixture,
    id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let path = s.path(&format!("/conversations/{id}"));
    let deadline = Instant::now() + Duration::from_secs(25);
    loop {
        let seen = get(c, i, &path, &s.service).await.body;
        if done(&seen) || Instant::now() > deadline {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_offer_and_a_reassign_deadline_survive_a_takeover() {
    let c = Cluster::start(3, TTL_MS).await;
    let s = ShopFixture::new("offers");
    staff(&c, 0, &s, 2, 5).await;
    let a2 = s.agent("a2");
    let status = |v: &str| json!({"status": v});
    let a = put(&c, 0, &s.path("/agents/a2/status"), &a2, status("offline")).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let routing = json!({"assignment": {"mode": "offer", "offer_timeout_secs": 8},
                         "timers": {"reassign_after_secs": 10}});
    let a = put(&c, 0, &s.path("/routing"), &s.admin, routing).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let ask = |buyer: &str| json!({"buyer_id": buyer, "entry": "live"});
    let offered = post(&c, 0, &s.path("/inquiries"), &s.service, ask("b1")).await;
    let offered_at = Instant::now();
    assert_eq!(offered.body["status"], "offered", "{:?}", offered.body);
    let active = post(&c, 0, &s.path("/inquiries"), &s.service, ask("b2")).await;
    let (offered, active) = (
        offered.body["conversation_id"].as_str().unwrap().to_owned(),
        active.body["conversation_id"].as_str().unwrap().to_owned(),
    );
    let accept = s.path(&format!("/conversations/{active}/accept"));
    let a = post(&c, 0, &accept, &s.agent("a1"), json!({})).await;
    assert_eq!(a.body["status"], "active", "{:?}", a.body);
    let accepted_at = Instant::now();
    let a = put(&c, 0, &s.path("/agents/a2/status"), &a2, status("online")).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let (old_owner, _) = owner(&c, 0, &s).await;

    // Act: kill -9 the owner with both deadlines pending.
    let victim = c.index_of(&old_owner);
    c.nodes[victim].kill9();
    let survivor = (victim + 1) % 3;

    // Assert: on the new owner the offer lapses to a2, and the conversation
    // a1 accepted but did not reply to moves to a2 as reassigned.
    let lapsed = until(&c, survivor, &s, &offered, |v| v["agent_id"] == "a2").await;
    assert_eq!(
        (&lapsed["status"], &lapsed["agent_id"]),
        (&json!("offered"), &json!("a2")),
        "{lapsed}"
    );
    assert!(
        offered_at.elapsed() >= Duration::from_secs(8),
        "lapsed early"
    );
    let moved = until(&c, survivor, &s, &active, |v| v["reason"] == "reassigned").await;
    assert_eq!(
        (&moved["agent_id"], &moved["reason"]),
        (&json!("a2"), &json!("reassigned")),
        "{moved}"
    );
    assert!(
        accepted_at.elapsed() >= Duration::from_secs(10),
        "reassigned early"
    );
    let (new_owner, _) = owner(&c, survivor, &s).await;
    assert_ne!(new_owner, old_owner);
}
