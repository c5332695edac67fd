//! The API holds to its document: `null` is no value, bodies are objects
//! where the document says so, an undeclared method is a 405 that says which
//! methods the path takes, made-up methods and paths do not grow the
//! metrics, and the document lists every field the server sends.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_error, cid, TestShop};
use fenliu_suite::Answer;

/// A shop with a1 online serving b1 (max load 1), a2 offline, group g1 and
/// a queued b2.
async fn busy_shop() -> (TestShop, String) {
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    t.max_load("a1", 1).await;
    t.agents(&["a2"]).await;
    t.group("g1", &["a1"]).await;
    let c1 = cid(&t.inquire("b1").await);
    t.inquire("b2").await;
    (t, c1)
}

#[tokio::test]
async fn null_for_a_field_is_a_400_never_taken_for_absent_and_changes_nothing() {
    // Arrange
    let (t, c1) = busy_shop().await;
    let before = t.state(&c1).await;
    let (admin, svc) = (t.s.admin.clone(), t.s.service.clone());
    let inquiry = |field: &str| {
        let mut body = json!({"buyer_id": "b9", "entry": "live"});
        body[field] = Value::Null;
        body
    };
    let cases = [
        (
            "question",
            Method::POST,
            t.path("/inquiries"),
            &svc,
            inquiry("question"),
        ),
        (
            "order_state",
            Method::POST,
            t.path("/inquiries"),
            &svc,
            inquiry("order_state"),
        ),
        (
            "product_id",
            Method::POST,
            t.path("/inquiries"),
            &svc,
            inquiry("product_id"),
        ),
        (
            "intent",
            Method::POST,
            t.path("/inquiries"),
            &svc,
            inquiry("intent"),
        ),
        (
            "buyer_id",
            Method::POST,
            t.path("/inquiries"),
            &svc,
            inquiry("buyer_id"),
        ),
        (
            "display_name",
            Method::PUT,
            t.path("/agents/a1"),
            &admin,
            json!({"display_name": null}),
        ),
        (
            "weight",
            Method::PUT,
            t.path("/agents/a1"),
            &admin,
            json!({"weight": null}),
        ),
        (
            "groups",
            Method::PUT,
            t.path("/agents/a1"),
            &admin,
            json!({"groups": null}),
        ),
        (
            "new agent",
            Method::PUT,
            t.path("/agents/a9"),
            &admin,
            json!({"display_name": null}),
        ),
        (
            "to_agent",
            Method::POST,
            t.path(&format!("/conversations/{c1}/transfer")),
            &svc,
            json!({"to_agent": null, "to_group": "g1"}),
        ),
        (
            "queue.max_length",
            Method::PUT,
            t.path("/routing"),
            &admin,
            json!({"queue": {"max_length": null}}),
        ),
        (
            "strategy",
            Method::PUT,
            t.path("/routing"),
            &admin,
            json!({"strategy": null}),
        ),
        (
            "stars",
            Method::POST,
            t.path(&format!("/conversations/{c1}/rating")),
            &svc,
            json!({"stars": null}),
        ),
    ];
    let mut failures = Vec::new();

    for (what, method, path, token, body) in cases {
        // Act
        let a = t.app.call(method, &path, Some(token), Some(body)).await;

        // Assert (collected, so one run reports every broken case)
        if a.status != 400 || a.code() != "invalid_request" {
            failures.push(format!("{what}: {} {}", a.status, a.body));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(t.state(&c1).await, before);
}

#[tokio::test]
async fn a_rule_condition_shown_as_null_reads_back_as_any() {
    // Arrange: the server writes `null` for a `when` field that matches
    // anything, so what it answers can be put back as it is.
    let t = TestShop::start("shop");
    let shown = t
        .routing(json!({"rules": [{"when": {"entry": "live"}, "to": {"agents": ["a1"]}}]}))
        .await;
    assert_eq!(shown["rules"][0]["when"]["question"], Value::Null);

    // Act
    let again = t.routing(shown.clone()).await;

    // Assert
    assert_eq!(again, shown);
}

#[tokio::test]
async fn a_body_is_an_object_where_the_document_says_object() {
    // Arrange
    let (t, c1) = busy_shop().await;
    let before = t.state(&c1).await;

    // Act: serde alone would read a struct from an array of its fields.
    let status = t
        .app
        .put(
            &t.path("/agents/a2/status"),
            &t.s.agent("a2"),
            json!(["online"]),
        )
        .await;
    let when = t
        .app
        .put(
            &t.path("/routing"),
            &t.s.admin,
            json!({"rules": [{"when": [null, null], "to": {"agents": ["a1"]}}]}),
        )
        .await;
    let inquiry = t
        .app
        .post(&t.path("/inquiries"), &t.s.service, json!(["b9", "live"]))
        .await;

    // Assert
    assert_error(&status, 400, "invalid_request");
    assert_error(&when, 400, "invalid_request");
    assert_error(&inquiry, 400, "invalid_request");
    assert_eq!(t.state(&c1).await, before);
}

#[tokio::test]
async fn an_integer_written_with_a_zero_fraction_is_that_integer_and_another_fraction_is_a_400() {
    // Arrange
    let t = TestShop::start("shop");
    t.agents(&["a1"]).await;

    // Act
    let whole = t
        .app
        .put(
            &t.path("/agents/a1/max_load"),
            &t.s.agent("a1"),
            json!({"max_load": 5.0}),
        )
        .await;
    let fraction = t
        .app
        .put(
            &t.path("/agents/a1/max_load"),
            &t.s.agent("a1"),
            json!({"max_load": 5.5}),
        )
        .await;

    // Assert
    assert_eq!(whole.status, 200, "{:?}", whole.body);
    assert_eq!(whole.body["max_load"], 5);
    assert_error(&fraction, 400, "invalid_request");
    assert_eq!(t.agent("a1").await["max_load"], 5);
}

#[tokio::test]
async fn an_undeclared_method_is_405_with_the_methods_the_path_takes() {
    // Arrange
    let t = TestShop::start("shop");
    let made_up = Method::from_bytes(b"XYZZY1").unwrap();
    let cases = [
        (Method::PATCH, t.path("/agents/a1"), "GET, PUT, DELETE"),
        (Method::DELETE, t.path("/routing"), "GET, PUT"),
        (Method::OPTIONS, t.path("/routing"), "GET, PUT"),
        (Method::GET, t.path("/inquiries"), "POST"),
        (Method::HEAD, t.path("/agents"), "GET"),
        (made_up.clone(), t.path("/queue"), "GET"),
        (Method::POST, "/healthz".into(), "GET"),
        (Method::DELETE, "/readyz".into(), "GET"),
        (Method::PUT, "/metrics".into(), "GET"),
        (made_up, "/v1/openapi.json".into(), "GET"),
    ];

    for (method, path, allow) in cases {
        // Act
        let a = t
            .app
            .call(method.clone(), &path, Some(&t.s.admin), None)
            .await;

        // Assert
        assert_eq!(a.status, 405, "{method} {path}: {:?}", a.body);
        if method != Method::HEAD {
            assert_error(&a, 405, "method_not_allowed");
        }
        assert_eq!(a.headers["allow"], allow, "{method} {path}");
    }
}

async fn unauthenticated(t: &TestShop, method: &str, path: &str) -> Answer {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    t.app.call(method, path, None, None).await
}

fn http_series(metrics: &str) -> Vec<&str> {
    metrics
        .lines()
        .filter(|l| l.starts_with("fenliu_http_requests_total{"))
        .collect()
}

#[tokio::test]
async fn made_up_methods_and_paths_do_not_make_new_metric_series() {
    // Arrange: one request of each kind first, so that later ones only count.
    let t = TestShop::start("shop");
    let metrics = || async {
        let resp = t
            .app
            .client
            .get(format!("{}/metrics", t.app.address))
            .send();
        resp.await.unwrap().text().await.unwrap()
    };
    unauthenticated(&t, "XYZZY0", "/v1/openapi.json").await;
    unauthenticated(&t, "GET", "/no/such/path/0").await;
    metrics().await;
    let before = metrics().await;

    // Act: any client may send these, without a token.
    for i in 1..=20 {
        unauthenticated(&t, &format!("XYZZY{i}"), "/v1/openapi.json").await;
        unauthenticated(&t, &format!("M{i}"), "/healthz").await;
        unauthenticated(&t, "GET", &format!("/no/such/path/{i}")).await;
        unauthenticated(&t, "DELETE", &format!("/v1/made-up-{i}")).await;
    }
    let after = metrics().await;

    // Assert
    assert!(!after.contains("XYZZY"), "{after}");
    assert!(
        after.lines().any(|l| l.contains("method=\"other\"")
            && l.contains("route=\"/v1/openapi.json\"")
            && l.contains("status=\"405\"")),
        "{after}"
    );
    assert!(after.contains("route=\"unmatched\""), "{after}");
    let (old, new) = (http_series(&before), http_series(&after));
    let grown: Vec<&&str> = new
        .iter()
        .filter(|l| {
            !old.iter()
                .any(|o| o.rsplit_once(' ').map(|p| p.0) == l.rsplit_once(' ').map(|p| p.0))
        })
        .collect();
    // At most the series of this run's new (method, route, status) kinds:
    // `other` on /healthz (405), `DELETE` unmatched (404), and /metrics itself.
    assert!(grown.len() <= 3, "new series: {grown:?}");
}

#[tokio::test]
async fn a_bad_last_event_id_parameter_is_refused_even_when_the_header_is_given() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;

    // Act
    let resp = t
        .app
        .client
        .get(format!(
            "{}{}?last_event_id=abc",
            t.app.address,
            t.path("/events")
        ))
        .bearer_auth(&t.s.service)
        .header("Last-Event-ID", "1")
        .send()
        .await
        .unwrap();
    let a = Answer::read(resp).await;

    // Assert
    assert_error(&a, 400, "invalid_request");
}

/// The properties a schema of the document lists.
fn properties(doc: &Value, schema: &str) -> Vec<String> {
    doc["components"]["schemas"][schema]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("no schema {schema}"))
        .keys()
        .cloned()
        .collect()
}

fn undocumented(answer: &Value, documented: &[String]) -> Vec<String> {
    answer
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| !documented.contains(k))
        .cloned()
        .collect()
}

#[tokio::test]
async fn the_document_lists_every_field_the_server_sends() {
    // Arrange: a conversation with every field set (ended, rated, with tags).
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    let c = t
        .inquire_with(
            "b1",
            json!({"question": "q", "order_state": "paid", "product_id": "p", "intent": "i"}),
        )
        .await;
    let c1 = cid(&c.body);
    t.end(&c1).await;
    t.act(&c1, "rating", json!({"stars": 4})).await;
    let doc = t
        .app
        .call(Method::GET, "/v1/openapi.json", None, None)
        .await
        .body;

    // Act
    let conversation = t.conversation(&c1).await;
    let agent = t.agent("a1").await;
    let explanation = t
        .app
        .get(&t.path(&format!("/conversations/{c1}/explain")), &t.s.admin)
        .await
        .body;

    // Assert
    // Every field but `position` (only while queued).
    assert_eq!(
        conversation.as_object().unwrap().len(),
        19,
        "{conversation}"
    );
    assert_eq!(
        undocumented(&conversation, &properties(&doc, "Conversation")),
        Vec::<String>::new()
    );
    assert_eq!(
        undocumented(&agent, &properties(&doc, "Agent")),
        Vec::<String>::new()
    );
    assert_eq!(
        undocumented(&explanation, &properties(&doc, "Explanation")),
        Vec::<String>::new()
    );
    assert_eq!(
        undocumented(&c.body, &properties(&doc, "InquiryAnswer")),
        Vec::<String>::new()
    );
    let statuses = doc["paths"]["/v1/shops/{shop}/inquiries"]["post"]["responses"]
        .as_object()
        .unwrap();
    assert!(statuses.contains_key("200") && statuses.contains_key("201"));
    let message = &doc["paths"]["/v1/shops/{shop}/conversations/{id}/messages"]["post"];
    assert!(message["responses"]["201"].is_object());
}
