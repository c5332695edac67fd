//! Operations endpoints (unauthenticated `/healthz`, `/readyz`, `/metrics`),
//! `GET /owner`, request ids and unknown routes.

use reqwest::Method;

use serde_json::json;

use crate::helpers::{assert_error, cid, TestShop};

#[tokio::test]
async fn healthz_and_readyz_answer_200_without_a_token() {
    // Arrange
    let t = TestShop::start("shop");

    // Act
    let health = t.app.call(Method::GET, "/healthz", None, None).await;
    let ready = t.app.call(Method::GET, "/readyz", None, None).await;

    // Assert
    assert_eq!(health.status, 200);
    assert_eq!(health.body["status"], "ok");
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body["status"], "ready");
}

#[tokio::test]
async fn metrics_are_prometheus_text_and_count_inquiries() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    t.max_load("a1", 1).await;
    t.inquire("b1").await;
    t.inquire("b2").await;

    // Act
    let resp = t
        .app
        .client
        .get(format!("{}/metrics", t.app.address))
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(resp.status(), 200);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/plain"), "{ct}");
    let text = resp.text().await.unwrap();
    for name in [
        "fenliu_inquiries_total",
        "fenliu_queue_length",
        "fenliu_active_conversations",
        "fenliu_agents",
        "fenliu_http_requests_total",
        "fenliu_decision_seconds",
    ] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
    assert!(
        text.lines().any(|l| l.starts_with("fenliu_inquiries_total")
            && l.contains("outcome=\"active\"")
            && l.ends_with(" 1")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("fenliu_inquiries_total")
            && l.contains("outcome=\"queued\"")
            && l.ends_with(" 1")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("fenliu_queue_length{shop=\"shop\"} 1")),
        "{text}"
    );
}

#[tokio::test]
async fn the_queue_wait_of_every_assigned_conversation_is_measured_once() {
    // Arrange: b1 is assigned at once, b2 waits until b1 ends, then b2 is
    // transferred (a transfer is no new wait).
    let t = TestShop::start("shop");
    t.online_agents(&["a1", "a2"]).await;
    t.max_load("a1", 1).await;
    t.max_load("a2", 1).await;
    t.status("a2", "busy").await;
    let b1 = cid(&t.inquire("b1").await);
    let b2 = cid(&t.inquire("b2").await);
    t.end(&b1).await;
    assert_eq!(t.conversation(&b2).await["agent_id"], "a1");
    t.status("a2", "online").await;
    let moved = t.act(&b2, "transfer", json!({"to_agent": "a2"})).await;
    assert_eq!(moved.status, 200, "{:?}", moved.body);

    // Act
    let text = t
        .app
        .client
        .get(format!("{}/metrics", t.app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    // Assert
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
    };
    assert_eq!(
        value("fenliu_queue_wait_seconds_count").as_deref(),
        Some("2"),
        "{text}"
    );
    assert_eq!(
        value("fenliu_queue_wait_seconds_bucket{le=\"0.5\"}").as_deref(),
        Some("2"),
        "{text}"
    );
}

#[tokio::test]
async fn owner_names_this_node_for_any_token_of_the_shop() {
    // Arrange
    let t = TestShop::start("shop");
    let tokens = [
        t.s.admin.clone(),
        t.s.supervisor.clone(),
        t.s.service.clone(),
        t.s.agent("a1"),
    ];

    for token in tokens {
        // Act
        let owner = t.app.get(&t.path("/owner"), &token).await;

        // Assert
        assert_eq!(owner.status, 200, "{:?}", owner.body);
        assert_eq!(owner.body["node_id"], "test-node");
        assert!(owner.body["epoch"].as_u64().unwrap() >= 1);
    }
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_echoes_the_callers() {
    // Arrange
    let t = TestShop::start("shop");

    // Act
    let fresh = t.app.call(Method::GET, "/healthz", None, None).await;
    let echoed = t
        .app
        .client
        .get(format!("{}/healthz", t.app.address))
        .header("x-request-id", "req-42")
        .send()
        .await
        .unwrap();

    // Assert
    assert!(!fresh.headers["x-request-id"].is_empty());
    assert_eq!(echoed.headers()["x-request-id"], "req-42");
}

#[tokio::test]
async fn an_unknown_route_is_404_with_the_error_body() {
    // Arrange
    let t = TestShop::start("shop");

    // Act
    let a = t.app.get("/v1/nothing-here", &t.s.admin).await;
    let b = t.app.get(&t.path("/agents/a1/unknown"), &t.s.admin).await;

    // Assert
    assert_error(&a, 404, "not_found");
    assert_error(&b, 404, "not_found");
}

#[tokio::test]
async fn a_wrong_method_on_a_known_path_is_405_with_the_error_body() {
    // Arrange
    let t = TestShop::start("shop");

    // Act
    let a = t
        .app
        .call(Method::PATCH, &t.path("/agents"), Some(&t.s.admin), None)
        .await;
    let b = t
        .app
        .call(Method::DELETE, &t.path("/routing"), Some(&t.s.admin), None)
        .await;

    // Assert
    assert_error(&a, 405, "method_not_allowed");
    assert_error(&b, 405, "method_not_allowed");
}

#[tokio::test]
async fn the_openapi_document_is_served_without_a_token() {
    // Arrange
    let t = TestShop::start("shop");

    // Act
    let doc = t
        .app
        .call(Method::GET, "/v1/openapi.json", None, None)
        .await;

    // Assert
    assert_eq!(doc.status, 200);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc.body["paths"]["/v1/shops/{shop}/inquiries"]["post"].is_object());
}

#[tokio::test]
async fn moving_a_shop_to_this_node_answers_the_owner_and_to_an_unknown_node_404() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;

    // Act
    let here = t
        .app
        .post(
            &t.path("/move"),
            &t.s.admin,
            serde_json::json!({"node_id": "test-node"}),
        )
        .await;
    let nowhere = t
        .app
        .post(
            &t.path("/move"),
            &t.s.admin,
            serde_json::json!({"node_id": "ghost"}),
        )
        .await;
    let by_supervisor = t
        .app
        .post(
            &t.path("/move"),
            &t.s.supervisor,
            serde_json::json!({"node_id": "test-node"}),
        )
        .await;

    // Assert
    assert_eq!(here.status, 200, "{:?}", here.body);
    assert_eq!(here.body["node_id"], "test-node");
    assert_error(&nowhere, 404, "not_found");
    assert_error(&by_supervisor, 403, "forbidden");
    assert_eq!(t.agent("a1").await["status"], "online");
}
