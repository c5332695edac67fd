//! Reply or reassign and offers (spec section 9) through the HTTP API:
//! `accept` and `reject` with their roles, offers that lapse, conversations
//! that move on when their agent does not reply, the daily figures, and the
//! settings' bad values.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{assert_error, cid, TestShop};

/// A shop in offer mode with agents `a1` and `a2`, a2 offline.
async fn offering_shop(name: &str, timeout_secs: u32) -> TestShop {
    let t = TestShop::start(name);
    t.agents(&["a1", "a2"]).await;
    t.online(&["a1"]).await;
    t.routing(json!({"assignment": {"mode": "offer", "offer_timeout_secs": timeout_secs}}))
        .await;
    t
}

async fn post_as(t: &TestShop, id: &str, what: &str, token: &str) -> fenliu_suite::Answer {
    t.app
        .post(
            &t.path(&format!("/conversations/{id}/{what}")),
            token,
            json!({}),
        )
        .await
}

fn row<'a>(ranking: &'a Value, agent: &str) -> &'a Value {
    ranking["agents"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["agent_id"] == agent))
        .unwrap_or_else(|| panic!("{agent} in {ranking}"))
}

#[tokio::test]
async fn an_offer_is_accepted_by_its_agent_only_and_then_active() {
    let t = offering_shop("offer-accept", 30).await;

    let asked = t.inquire("b1").await;
    let c = cid(&asked);

    assert_eq!(
        (&asked["status"], &asked["agent_id"]),
        (&json!("offered"), &json!("a1"))
    );
    assert!(asked["offer_expires_at"].is_string(), "{asked}");
    assert_eq!(t.agent("a1").await["load"], 1);
    let other = post_as(&t, &c, "accept", &t.s.agent("a2")).await;
    assert_error(&other, 403, "forbidden");
    let accepted = post_as(&t, &c, "accept", &t.s.agent("a1")).await;
    assert_eq!(accepted.status, 200, "{:?}", accepted.body);
    assert_eq!(
        (&accepted.body["status"], &accepted.body["unreplied"]),
        (&json!("active"), &json!(true))
    );
    assert!(accepted.body.get("offer_expires_at").is_none());
    // Accepted: it can no longer be rejected, and a second accept is the same.
    assert_error(
        &post_as(&t, &c, "reject", &t.s.service).await,
        409,
        "conflict",
    );
    assert_eq!(post_as(&t, &c, "accept", &t.s.service).await.status, 200);
}

#[tokio::test]
async fn a_rejected_offer_goes_to_the_next_agent_and_then_back_to_the_queue() {
    let t = offering_shop("offer-reject", 30).await;
    t.online(&["a2"]).await;
    let c = cid(&t.inquire("b1").await);
    let first = t.conversation(&c).await["agent_id"].clone();

    let rejected = post_as(&t, &c, "reject", &t.s.service).await;

    assert_eq!(rejected.status, 200, "{:?}", rejected.body);
    assert_eq!(rejected.body["status"], "offered");
    assert_ne!(rejected.body["agent_id"], first);
    let second = rejected.body["agent_id"].as_str().unwrap().to_owned();
    let again = post_as(&t, &c, "reject", &t.s.agent(&second)).await;
    assert_eq!(
        (&again.body["status"], &again.body["position"]),
        (&json!("queued"), &json!(1)),
        "nobody is left: {:?}",
        again.body
    );
    let ranking = t.app.get(&t.path("/ranking"), &t.s.admin).await.body;
    for agent in ["a1", "a2"] {
        assert_eq!(row(&ranking, agent)["offers_declined"], 1, "{ranking}");
    }
    assert_eq!(t.agent("a1").await["load"], 0);
}

#[tokio::test]
async fn an_offer_not_accepted_in_time_lapses_to_the_next_agent() {
    let t = offering_shop("offer-lapse", 5).await;
    let c = cid(&t.inquire("b1").await);
    t.online(&["a2"]).await;

    let moved = t
        .eventually_conversation(&c, |v| v["agent_id"] == "a2" && v["status"] == "offered")
        .await;

    assert!(moved, "{}", t.conversation(&c).await);
    assert_eq!(t.agent("a1").await["load"], 0);
}

#[tokio::test]
async fn a_conversation_its_agent_does_not_reply_to_moves_on_as_reassigned() {
    let t = TestShop::start("reassign");
    t.agents(&["a1", "a2"]).await;
    t.online(&["a1"]).await;
    let routing = t
        .routing(json!({"timers": {"reassign_after_secs": 10, "auto_busy_after_misses": 1}}))
        .await;
    assert_eq!(routing["timers"]["reassign_after_secs"], 10);
    let c = cid(&t.inquire("b1").await);
    t.online(&["a2"]).await;

    tokio::time::sleep(Duration::from_secs(9)).await;
    assert_eq!(t.conversation(&c).await["agent_id"], "a1");
    let moved = t
        .eventually_conversation(&c, |v| v["agent_id"] == "a2" && v["reason"] == "reassigned")
        .await;

    assert!(moved, "{}", t.conversation(&c).await);
    let ranking = t.app.get(&t.path("/ranking"), &t.s.admin).await.body;
    assert_eq!(row(&ranking, "a1")["missed"], 1, "{ranking}");
    // One miss in a row was the limit: a1 is busy now.
    assert_eq!(t.agent("a1").await["status"], "busy");
}

#[tokio::test]
async fn accept_and_reject_of_a_conversation_that_is_not_offered_are_409() {
    let t = TestShop::start("not-offered");
    t.online_agents(&["a1"]).await;
    let active = cid(&t.inquire("b1").await);
    t.status("a1", "offline").await;
    let queued = cid(&t.inquire("b2").await);

    for (id, what) in [
        (&queued, "accept"),
        (&queued, "reject"),
        (&active, "reject"),
    ] {
        let a = post_as(&t, id, what, &t.s.service).await;
        assert_error(&a, 409, "conflict");
    }
    assert_eq!(t.conversation(&queued).await["status"], "queued");
}

#[tokio::test]
async fn bad_section_9_settings_are_400_and_change_nothing() {
    let t = TestShop::start("bad-availability");
    let before = t
        .routing(json!({"timers": {"reassign_after_secs": 60}}))
        .await;

    for bad in [
        json!({"assignment": {"mode": "push"}}),
        json!({"assignment": {"mode": "offer", "offer_timeout_secs": 4}}),
        json!({"assignment": {"offer_timeout_secs": 601}}),
        json!({"assignment": {"offer_timeout_secs": null}}),
        json!({"timers": {"reassign_after_secs": 9}}),
        json!({"timers": {"reassign_after_secs": 3601}}),
        json!({"timers": {"reassign_after_secs": null}}),
        json!({"timers": {"auto_busy_after_misses": 0}}),
        json!({"timers": {"auto_busy_after_misses": 11}}),
    ] {
        let a = t
            .app
            .put(&t.path("/routing"), &t.s.admin, bad.clone())
            .await;
        assert_error(&a, 400, "invalid_request");
        let now = t.app.get(&t.path("/routing"), &t.s.admin).await.body;
        assert_eq!(now, before, "after {bad}");
    }
    assert_eq!(
        before["assignment"],
        json!({"mode": "direct", "offer_timeout_secs": 30})
    );
}
