//! Routing v2 (spec section 8) through the HTTP API: priority and aging,
//! escalation steps, `fair`, the wait estimate and `GET /stats`.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{assert_error, cid, TestShop, PATIENCE};

/// A shop whose agent a1 (max load 1) serves b1 (whose conversation id
/// comes with it): whoever comes next waits.
async fn full_shop(name: &str) -> (TestShop, String) {
    let t = TestShop::start(name);
    t.online_agents(&["a1"]).await;
    t.max_load("a1", 1).await;
    let b1 = cid(&t.inquire("b1").await);
    (t, b1)
}

fn buyers(queue: &Value) -> Vec<(String, u64)> {
    queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let buyer = i["buyer_id"].as_str().unwrap().to_owned();
            (buyer, i["priority"].as_u64().unwrap())
        })
        .collect()
}

#[tokio::test]
async fn higher_priority_is_served_first_and_shows_in_the_queue() {
    let (t, b1) = full_shop("prio").await;
    let plain = t.inquire("b2").await;
    let vip = t.inquire_with("b3", json!({"priority": 7})).await;
    let vip2 = t.inquire_with("b4", json!({"priority": 7})).await;

    assert_eq!(vip.status, 201);
    assert_eq!(vip.body["priority"], 7);
    assert_eq!(vip.body["position"], 1);
    assert_eq!(vip2.body["position"], 2);
    assert!(plain.get("priority").is_none(), "priority 0 is not shown");
    let queue = t.queue().await;
    assert_eq!(
        buyers(&queue),
        [("b3".into(), 7), ("b4".into(), 7), ("b2".into(), 0)]
    );
    assert_eq!(t.conversation(&cid(&plain)).await["position"], 3);

    // The drain takes the highest first.
    t.end(&b1).await;
    assert_eq!(t.conversation(&cid(&vip.body)).await["status"], "active");
    assert_eq!(t.conversation(&cid(&plain)).await["position"], 2);
}

#[tokio::test]
async fn a_conversation_has_the_higher_of_the_inquirys_and_its_rules_priority() {
    let (t, _) = full_shop("rule-prio").await;
    t.routing(
        json!({"rules": [{"when": {"entry": "live"}, "to": {"agents": ["a1"], "priority": 6}}]}),
    )
    .await;

    let low = t
        .inquire_with("b2", json!({"entry": "live", "priority": 2}))
        .await;
    let high = t
        .inquire_with("b3", json!({"entry": "live", "priority": 8}))
        .await;

    assert_eq!(low.body["priority"], 6);
    assert_eq!(high.body["priority"], 8);
    let explain = t
        .app
        .get(
            &t.path(&format!("/conversations/{}/explain", cid(&low.body))),
            &t.s.admin,
        )
        .await;
    assert_eq!(explain.body["priority"], json!({"base": 6, "effective": 6}));
}

#[tokio::test]
async fn aging_raises_a_waiting_conversations_priority_for_queue_order() {
    let (t, _) = full_shop("aging").await;
    t.routing(json!({"queue": {"aging_secs": 1}})).await;
    let old = t.inquire("b2").await;
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let vip = t.inquire_with("b3", json!({"priority": 1})).await;

    let queue = t.queue().await;
    assert_eq!(buyers(&queue), [("b2".into(), 2), ("b3".into(), 1)]);
    assert_eq!(t.conversation(&cid(&old)).await["position"], 1);
    assert_eq!(vip.body["position"], 2);
    let routing = t.app.get(&t.path("/routing"), &t.s.admin).await.body;
    assert_eq!(routing["queue"]["aging_secs"], 1);
}

#[tokio::test]
async fn an_escalation_step_places_a_waiting_buyer_at_its_deadline() {
    let t = TestShop::start("steps");
    t.online_agents(&["a1", "a2"]).await;
    t.max_load("a1", 1).await;
    t.group("live-team", &["a1"]).await;
    t.group("presale", &["a2"]).await;
    t.routing(
        json!({"overflow": "none", "rules": [{"when": {"entry": "live"}, "to": {
        "groups": ["live-team"],
        "escalate": [{"after_secs": 1, "groups": ["presale"]}]}}]}),
    )
    .await;
    t.inquire_with("b1", json!({"entry": "live"})).await;

    let waiting = t.inquire_with("b2", json!({"entry": "live"})).await;

    assert_eq!(waiting.body["status"], "queued");
    let id = cid(&waiting.body);
    let placed = t
        .eventually_conversation(&id, |c| c["status"] == "active")
        .await;
    assert!(placed, "the step's deadline placed it within {PATIENCE:?}");
    let c = t.conversation(&id).await;
    assert_eq!(
        (c["agent_id"].as_str(), c["reason"].as_str()),
        (Some("a2"), Some("escalated"))
    );
    let explain = t
        .app
        .get(&t.path(&format!("/conversations/{id}/explain")), &t.s.admin)
        .await;
    assert_eq!(explain.body["steps_reached"], 1);
    assert_eq!(explain.body["escalated_by"], 1);
    let routing = t.app.get(&t.path("/routing"), &t.s.admin).await.body;
    assert_eq!(
        routing["rules"][0]["to"]["escalate"],
        json!([{"after_secs": 1, "agents": [], "groups": ["presale"], "any": false}])
    );
}

#[tokio::test]
async fn fair_is_a_strategy_and_agents_show_their_time_online() {
    let t = TestShop::start("fair");
    t.online_agents(&["a1"]).await;
    let routing = t.routing(json!({"strategy": "fair"})).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;

    let a1 = t.agent("a1").await;
    let routed = t.inquire("b1").await;

    assert_eq!(routing["strategy"], "fair");
    assert!(a1["online_secs_today"].as_u64().unwrap() >= 1, "{a1}");
    assert_eq!(routed["agent_id"], "a1");
    let explain = t
        .app
        .get(
            &t.path(&format!("/conversations/{}/explain", cid(&routed))),
            &t.s.admin,
        )
        .await;
    assert_eq!(explain.body["strategy"], "fair");
    assert!(
        explain.body["agents"][0]["online_secs_today"]
            .as_u64()
            .unwrap()
            >= 1
    );
}

#[tokio::test]
async fn a_queued_conversation_carries_a_wait_estimate_when_somebody_is_online() {
    let (t, _) = full_shop("estimate").await;

    let waiting = t.inquire("b2").await;

    // No placement yet: one slot freed once per auto_end_secs (900 s).
    assert_eq!(waiting["estimated_wait_secs"], 900);
    assert_eq!(
        t.conversation(&cid(&waiting)).await["estimated_wait_secs"],
        900
    );
    assert_eq!(t.queue().await["items"][0]["estimated_wait_secs"], 900);
    t.status("a1", "busy").await;
    let c = t.conversation(&cid(&waiting)).await;
    assert!(c.get("estimated_wait_secs").is_none(), "nobody online: {c}");
}

#[tokio::test]
async fn the_days_figures_follow_a_known_sequence_of_inquiries() {
    let t = TestShop::start("stats");
    t.online_agents(&["a1"]).await;
    t.max_load("a1", 1).await;
    let first = t.inquire("b1").await; // at once
    let second = t.inquire("b2").await; // waits, then placed
    let third = t.inquire("b3").await; // waits, cancelled
    let cancelled = t.act(&cid(&third), "cancel", json!({})).await;
    assert_eq!(cancelled.status, 200);
    t.end(&cid(&first)).await;
    assert_eq!(t.conversation(&cid(&second)).await["status"], "active");

    let today = t.app.get(&t.path("/stats"), &t.s.supervisor).await;

    assert_eq!(today.status, 200, "{:?}", today.body);
    let f = &today.body;
    assert_eq!(
        (
            &f["inquiries"],
            &f["assigned"],
            &f["queued"],
            &f["cancelled"]
        ),
        (&json!(3), &json!(2), &json!(2), &json!(1))
    );
    assert_eq!(f["wait_secs"]["max"], 0, "b2 waited well under a second");
    let level = f["service_level"].as_f64().unwrap();
    assert!((level - 2.0 / 3.0).abs() < 1e-9, "{f}");
    assert_eq!(f["offline_deliveries"], 0);
    assert_eq!(
        (&f["fairness"], &f["agents_online"]),
        (&json!(1.0), &json!(1))
    );
    let date = f["date"].as_str().unwrap().to_owned();
    let same = t
        .app
        .get(&t.path(&format!("/stats?date={date}")), &t.s.service)
        .await;
    assert_eq!(same.body, today.body);
    let long_ago = t
        .app
        .get(&t.path("/stats?date=2020-01-01"), &t.s.admin)
        .await;
    assert_error(&long_ago, 404, "not_found");
}

#[tokio::test]
async fn a_shop_without_section_8_settings_shows_none_of_them() {
    let t = TestShop::start("plain");

    let routing = t.app.get(&t.path("/routing"), &t.s.admin).await.body;
    t.routing(json!({"rules": [{"to": {"agents": ["a1"]}}]}))
        .await;
    let with_rule = t.app.get(&t.path("/routing"), &t.s.admin).await.body;

    assert!(routing["queue"].get("aging_secs").is_none(), "{routing}");
    assert_eq!(
        with_rule["rules"][0]["to"],
        json!({"agents": ["a1"], "groups": []})
    );
}
