//! `GET /conversations/{id}/explain`: each agent considered, its verdict,
//! the matched rule and the recent-contact step.

use serde_json::{json, Value};

use crate::helpers::{assert_error, cid, TestShop};

fn verdicts(explain: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = explain["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["agent_id"].as_str().unwrap().to_owned(),
                a["verdict"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn explain_gives_each_agent_of_the_target_set_a_verdict() {
    // Arrange: a1 idle, a2 at 1 of 10, a3 full, a4 busy, a5 offline.
    let t = TestShop::start("shop");
    t.online_agents(&["a1", "a2", "a3", "a4"]).await;
    t.agents(&["a5"]).await;
    t.max_load("a3", 1).await;
    t.routing(json!({"rules": [
        {"when": {"question": "to-a2"}, "to": {"agents": ["a2"]}},
        {"when": {"question": "to-a3"}, "to": {"agents": ["a3"]}},
    ]}))
    .await;
    t.inquire_with("x2", json!({"question": "to-a2"})).await;
    t.inquire_with("x3", json!({"question": "to-a3"})).await;
    t.status("a4", "busy").await;
    let routed = t.inquire("b1").await;

    // Act
    let explain = t
        .app
        .get(
            &t.path(&format!("/conversations/{}/explain", cid(&routed))),
            &t.s.supervisor,
        )
        .await;

    // Assert
    assert_eq!(explain.status, 200, "{:?}", explain.body);
    let e = &explain.body;
    assert_eq!(e["conversation_id"], routed["conversation_id"]);
    assert_eq!(e["reason"], "default");
    assert_eq!(e["strategy"], "least_saturation");
    assert_eq!(e["matched_rule"], Value::Null);
    assert_eq!(e["picked"], "a1");
    assert!(e["decided_at"].is_string());
    assert_eq!(
        verdicts(e),
        [
            ("a1".into(), "picked".into()),
            ("a2".into(), "eligible".into()),
            ("a3".into(), "saturated".into()),
            ("a4".into(), "busy".into()),
            ("a5".into(), "offline".into()),
        ]
    );
    let a3 = e["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent_id"] == "a3")
        .unwrap();
    assert_eq!(a3["load"], 1);
    assert_eq!(a3["max_load"], 1);
}

#[tokio::test]
async fn explain_names_the_matched_rule() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1", "a2"]).await;
    t.routing(json!({"rules": [
        {"when": {"entry": "live"}, "to": {"agents": ["a1"]}},
        {"when": {"intent": "refund"}, "to": {"agents": ["a2"]}},
    ]}))
    .await;
    let routed = t.inquire_with("b1", json!({"intent": "refund"})).await;

    // Act
    let e = t
        .app
        .get(
            &t.path(&format!("/conversations/{}/explain", cid(&routed.body))),
            &t.s.service,
        )
        .await
        .body;

    // Assert
    assert_eq!(e["reason"], "rule");
    assert_eq!(e["matched_rule"], 1);
    assert_eq!(e["picked"], "a2");
}

#[tokio::test]
async fn explain_shows_the_recent_agent_that_took_the_buyer() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    t.end(&cid(&t.inquire("b1").await)).await;
    let again = t.inquire("b1").await;

    // Act
    let e = t
        .app
        .get(
            &t.path(&format!("/conversations/{}/explain", cid(&again))),
            &t.s.admin,
        )
        .await
        .body;

    // Assert
    assert_eq!(e["reason"], "recent_contact");
    assert_eq!(e["recent_contact"], json!({"assigned": "a1"}));
    assert_eq!(e["picked"], "a1");
}

#[tokio::test]
async fn explain_of_a_queued_conversation_says_why_nobody_took_it() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    t.max_load("a1", 1).await;
    t.inquire("b0").await;
    let queued = t.inquire("b1").await;

    // Act
    let e = t
        .app
        .get(
            &t.path(&format!("/conversations/{}/explain", cid(&queued))),
            &t.s.admin,
        )
        .await
        .body;

    // Assert
    assert_eq!(e["reason"], "queued");
    assert_eq!(e["picked"], Value::Null);
    assert_eq!(verdicts(&e), [("a1".into(), "saturated".into())]);
}

#[tokio::test]
async fn explain_of_an_overflow_says_it_overflowed() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    t.agents(&["a2"]).await;
    t.routing(json!({"rules": [{"when": {"entry": "live"}, "to": {"agents": ["a2"]}}]}))
        .await;
    let routed = t.inquire_with("b1", json!({"entry": "live"})).await;

    // Act
    let e = t
        .app
        .get(
            &t.path(&format!("/conversations/{}/explain", cid(&routed.body))),
            &t.s.admin,
        )
        .await
        .body;

    // Assert
    assert_eq!(e["reason"], "overflow");
    assert_eq!(e["overflowed"], true);
    assert_eq!(e["matched_rule"], 0);
    assert_eq!(e["picked"], "a1");
}

#[tokio::test]
async fn explain_of_an_unknown_conversation_is_404() {
    // Arrange
    let t = TestShop::start("shop");

    // Act
    let e = t
        .app
        .get(&t.path("/conversations/c-7/explain"), &t.s.admin)
        .await;

    // Assert
    assert_error(&e, 404, "not_found");
}
