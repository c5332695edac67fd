//! Bad inputs: each gets the right 4xx with the `{"error": {"code",
//! "message"}}` body, and none changes anything.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_error, cid, TestShop};

/// What a bad request carries.
enum Body {
    None,
    Json(Value),
    Raw(Vec<u8>),
}

struct Bad {
    what: &'static str,
    method: Method,
    path: String,
    token: String,
    body: Body,
    status: u16,
    code: &'static str,
}

/// A shop with a1 online serving b1, a2 offline, group g1 and a queued b2
/// (a1 has max load 1).
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

fn table(t: &TestShop, c1: &str) -> Vec<Bad> {
    let (admin, svc) = (t.s.admin.clone(), t.s.service.clone());
    let a1 = t.s.agent("a1");
    let p = |rest: &str| t.path(rest);
    let conv = |rest: &str| t.path(&format!("/conversations/{c1}{rest}"));
    let long_id = "a".repeat(65);
    let big = "x".repeat(70 * 1024);
    let bad = |what, method, path: String, token: &String, body, status, code| Bad {
        what,
        method,
        path,
        token: token.clone(),
        body,
        status,
        code,
    };
    let invalid = |what, method, path: String, token: &String, body| {
        bad(what, method, path, token, body, 400, "invalid_request")
    };
    vec![
        // Malformed bodies.
        invalid(
            "malformed JSON",
            Method::PUT,
            p("/routing"),
            &admin,
            Body::Raw(br#"{"strategy":"#.to_vec()),
        ),
        invalid(
            "invalid UTF-8",
            Method::POST,
            p("/inquiries"),
            &svc,
            Body::Raw(b"{\"buyer_id\":\"b\xff\xfe\",\"entry\":\"live\"}".to_vec()),
        ),
        invalid(
            "empty body",
            Method::POST,
            p("/inquiries"),
            &svc,
            Body::Raw(Vec::new()),
        ),
        invalid(
            "array instead of object",
            Method::POST,
            p("/inquiries"),
            &svc,
            Body::Json(json!([1, 2])),
        ),
        invalid(
            "missing entry",
            Method::POST,
            p("/inquiries"),
            &svc,
            Body::Json(json!({"buyer_id": "bx"})),
        ),
        invalid(
            "missing buyer",
            Method::POST,
            p("/inquiries"),
            &svc,
            Body::Json(json!({"entry": "live"})),
        ),
        // Unknown enum values.
        invalid(
            "unknown entry",
            Method::POST,
            p("/inquiries"),
            &svc,
            Body::Json(json!({"buyer_id": "bx", "entry": "homepage"})),
        ),
        invalid(
            "unknown status",
            Method::PUT,
            p("/agents/a1/status"),
            &a1,
            Body::Json(json!({"status": "away"})),
        ),
        invalid(
            "unknown strategy",
            Method::PUT,
            p("/routing"),
            &admin,
            Body::Json(json!({"strategy": "random"})),
        ),
        invalid(
            "unknown queue order",
            Method::PUT,
            p("/routing"),
            &admin,
            Body::Json(json!({"queue": {"order": "shortest"}})),
        ),
        invalid(
            "unknown overflow",
            Method::PUT,
            p("/routing"),
            &admin,
            Body::Json(json!({"overflow": "everyone"})),
        ),
        invalid(
            "unknown rule entry",
            Method::PUT,
            p("/routing"),
            &admin,
            Body::Json(json!({"rules": [{"when": {"entry": "tv"}, "to": {"agents": ["a1"]}}]})),
        ),
        invalid(
            "unknown message party",
            Method::POST,
            conv("/messages"),
            &svc,
            Body::Json(json!({"from": "system"})),
        ),
        invalid(
            "unknown metric",
            Method::GET,
            p("/ranking?metric=speed"),
            &admin,
            Body::None,
        ),
        invalid(
            "unknown sort order",
            Method::GET,
            p("/ranking?order=up"),
            &admin,
            Body::None,
        ),
        invalid(
            "unknown query parameter",
            Method::GET,
            p("/ranking?limit=3"),
            &admin,
            Body::None,
        ),
        invalid(
            "bad timezone",
            Method::PUT,
            p("/routing"),
            &admin,
            Body::Json(json!({"timezone": "Mars/Base"})),
        ),
        // Out-of-range and mistyped numbers.
        invalid(
            "max_load 0",
            Method::PUT,
            p("/agents/a1/max_load"),
            &a1,
            Body::Json(json!({"max_load": 0})),
        ),
        invalid(
            "max_load 51",
            Method::PUT,
            p("/agents/a1/max_load"),
            &a1,
            Body::Json(json!({"max_load": 51})),
        ),
        invalid(
            "max_load -1",
            Method::PUT,
            p("/agents/a1/max_load"),
            &a1,
            Body::Json(json!({"max_load": -1})),
        ),
        invalid(
            "max_load as text",
            Method::PUT,
            p("/agents/a1/max_load"),
            &a1,
            Body::Json(json!({"max_load": "10"})),
        ),
        invalid(
            "max_load fractional",
            Method::PUT,
            p("/agents/a1/max_load"),
            &a1,
            Body::Json(json!({"max_load": 10.5})),
        ),
        invalid(
            "max_load huge",
            Method::PUT,
            p("/agents/a1/max_load"),
            &a1,
            Body::Json(json!({"max_load": 4_294_967_296_u64})),
        ),
        invalid(
            "weight 0",
            Method::PUT,
            p("/agents/a1"),
            &admin,
            Body::Json(json!({"weight": 0})),
        ),
        invalid(
            "weight 101",
            Method::PUT,
            p("/agents/a1"),
            &admin,
            Body::Json(json!({"weight": 101})),
        ),
        invalid(
            "stars 0",
            Method::POST,
            conv("/rating"),
            &svc,
            Body::Json(json!({"stars": 0})),
        ),
        invalid(
            "stars 6",
            Method::POST,
            conv("/rating"),
            &svc,
            Body::Json(json!({"stars": 6})),
        ),
        invalid(
            "stars 256",
            Method::POST,
            conv("/rating"),
            &svc,
            Body::Json(json!({"stars": 256})),
        ),
        invalid(
            "timer 0",
            Method::PUT,
            p("/routing"),
            &admin,
            Body::Json(json!({"timers": {"reply_target_secs": 0}})),
        ),
        invalid(
            "timer beyond a year",
            Method::PUT,
            p("/routing"),
            &admin,
            Body::Json(json!({"timers": {"auto_end_secs": 40_000_000}})),
        ),
        invalid(
            "recent window 0",
            Method::PUT,
            p("/routing"),
            &admin,
            Body::Json(json!({"recent_contact": {"window_secs": 0}})),
        ),
        invalid(
            "busy threshold too high",
            Method::PUT,
            p("/routing"),
            &admin,
            Body::Json(json!({"busy_threshold": 1001})),
        ),
        invalid(
            "busy threshold negative",
            Method::PUT,
            p("/routing"),
            &admin,
            Body::Json(json!({"busy_threshold": -1})),
        ),
        invalid(
            "rule without a target",
            Method::PUT,
            p("/routing"),
            &admin,
            Body::Json(json!({"rules": [{"when": {"entry": "live"}, "to": {}}]})),
        ),
        // Section 8: priority, aging, escalation, the figures' date.
        invalid(
            "inquiry priority 10",
            Method::POST,
            p("/inquiries"),
            &svc,
            Body::Json(json!({"buyer_id": "bx", "entry": "live", "priority": 10})),
        ),
        invalid(
            "inquiry priority negative",
            Method::POST,
            p("/inquiries"),
            &svc,
            Body::Json(json!({"buyer_id": "bx", "entry": "live", "priority": -1})),
        ),
        invalid(
            "inquiry priority null",
            Method::POST,
            p("/inquiries"),
            &svc,
            Body::Json(json!({"buyer_id": "bx", "entry": "live", "priority": null})),
        ),
        invalid(
            "rule priority 10",
            Method::PUT,
            p("/routing"),
            &admin,
            Body::Json(json!({"rules": [{"to": {"agents": ["a1"], "priority": 10}}]})),
        ),
        invalid(
            "aging 0",
            Method::PUT,
            p("/routing"),
            &admin,
            Body::Json(json!({"queue": {"aging_secs": 0}})),
        ),
        invalid(
            "aging beyond a day",
            Method::PUT,
            p("/routing"),
            &admin,
            Body::Json(json!({"queue": {"aging_secs": 86_401}})),
        ),
        invalid(
            "escalation steps not increasing",
            Method::PUT,
            p("/routing"),
            &admin,
            Body::Json(json!({"rules": [{"to": {"agents": ["a1"], "escalate": [
                {"after_secs": 60, "any": true}, {"after_secs": 60, "any": true}]}}]})),
        ),
        invalid(
            "escalation step of 0 s",
            Method::PUT,
            p("/routing"),
            &admin,
            Body::Json(json!({"rules": [{"to": {"agents": ["a1"], "escalate": [
                {"after_secs": 0, "any": true}]}}]})),
        ),
        invalid(
            "escalation step naming nobody",
            Method::PUT,
            p("/routing"),
            &admin,
            Body::Json(json!({"rules": [{"to": {"agents": ["a1"], "escalate": [
                {"after_secs": 10}]}}]})),
        ),
        invalid(
            "six escalation steps",
            Method::PUT,
            p("/routing"),
            &admin,
            Body::Json(json!({"rules": [{"to": {"agents": ["a1"], "escalate":
                (1..=6).map(|i| json!({"after_secs": i * 10, "any": true})).collect::<Vec<_>>()}}]})),
        ),
        invalid(
            "unknown field in an escalation step",
            Method::PUT,
            p("/routing"),
            &admin,
            Body::Json(json!({"rules": [{"to": {"agents": ["a1"], "escalate": [
                {"after_secs": 10, "any": true, "everyone": true}]}}]})),
        ),
        invalid(
            "strategy fairest",
            Method::PUT,
            p("/routing"),
            &admin,
            Body::Json(json!({"strategy": "fairest"})),
        ),
        invalid(
            "stats of a date that does not exist",
            Method::GET,
            p("/stats?date=2026-02-30"),
            &admin,
            Body::None,
        ),
        invalid(
            "stats of a malformed date",
            Method::GET,
            p("/stats?date=yesterday"),
            &admin,
            Body::None,
        ),
        invalid(
            "stats with an unknown parameter",
            Method::GET,
            p("/stats?day=2026-12-01"),
            &admin,
            Body::None,
        ),
        // Bad ids and strings in bodies.
        invalid(
            "rule naming a bad agent id",
            Method::PUT,
            p("/routing"),
            &admin,
            Body::Json(json!({"rules": [{"when": {}, "to": {"agents": ["a b"]}}]})),
        ),
        invalid(
            "empty buyer id",
            Method::POST,
            p("/inquiries"),
            &svc,
            Body::Json(json!({"buyer_id": "", "entry": "live"})),
        ),
        invalid(
            "buyer id of 129 bytes",
            Method::POST,
            p("/inquiries"),
            &svc,
            Body::Json(json!({"buyer_id": "b".repeat(129), "entry": "live"})),
        ),
        invalid(
            "buyer id with a control character",
            Method::POST,
            p("/inquiries"),
            &svc,
            Body::Json(json!({"buyer_id": "b\u{7}", "entry": "live"})),
        ),
        invalid(
            "question of 201 bytes",
            Method::POST,
            p("/inquiries"),
            &svc,
            Body::Json(json!({"buyer_id": "bx", "entry": "live", "question": "q".repeat(201)})),
        ),
        invalid(
            "empty intent",
            Method::POST,
            p("/inquiries"),
            &svc,
            Body::Json(json!({"buyer_id": "bx", "entry": "live", "intent": ""})),
        ),
        invalid(
            "empty display name",
            Method::PUT,
            p("/agents/a1"),
            &admin,
            Body::Json(json!({"display_name": ""})),
        ),
        invalid(
            "display name of 101 characters",
            Method::PUT,
            p("/agents/a1"),
            &admin,
            Body::Json(json!({"display_name": "名".repeat(101)})),
        ),
        invalid(
            "bad group id on an agent",
            Method::PUT,
            p("/agents/a1"),
            &admin,
            Body::Json(json!({"groups": ["night shift"]})),
        ),
        invalid(
            "bad agent id in a group",
            Method::PUT,
            p("/groups/g1"),
            &admin,
            Body::Json(json!({"agents": ["小王"]})),
        ),
        invalid(
            "bad transfer target",
            Method::POST,
            conv("/transfer"),
            &svc,
            Body::Json(json!({"to_agent": long_id})),
        ),
        invalid(
            "empty order id",
            Method::POST,
            p("/orders"),
            &svc,
            Body::Json(json!({"order_id": "", "buyer_id": "b1"})),
        ),
        // Unknown fields.
        invalid(
            "unknown agent field",
            Method::PUT,
            p("/agents/a1"),
            &admin,
            Body::Json(json!({"nickname": "x"})),
        ),
        invalid(
            "unknown inquiry field",
            Method::POST,
            p("/inquiries"),
            &svc,
            Body::Json(json!({"buyer_id": "bx", "entry": "live", "vip": true})),
        ),
        invalid(
            "unknown routing field",
            Method::PUT,
            p("/routing"),
            &admin,
            Body::Json(json!({"stratgey": "even"})),
        ),
        invalid(
            "unknown nested routing field",
            Method::PUT,
            p("/routing"),
            &admin,
            Body::Json(json!({"queue": {"enabled": false, "size": 3}})),
        ),
        invalid(
            "unknown rule condition",
            Method::PUT,
            p("/routing"),
            &admin,
            Body::Json(json!({"rules": [{"when": {"color": "red"}, "to": {"agents": ["a1"]}}]})),
        ),
        invalid(
            "unknown status field",
            Method::PUT,
            p("/agents/a1/status"),
            &a1,
            Body::Json(json!({"status": "busy", "reason": "lunch"})),
        ),
        invalid(
            "unknown message field",
            Method::POST,
            conv("/messages"),
            &svc,
            Body::Json(json!({"from": "buyer", "urgent": true})),
        ),
        invalid(
            "unknown order field",
            Method::POST,
            p("/orders"),
            &svc,
            Body::Json(json!({"order_id": "o-9", "buyer_id": "b1", "amount": 3})),
        ),
        // Bad ids in paths.
        invalid(
            "agent id of 65 characters",
            Method::PUT,
            p(&format!("/agents/{long_id}")),
            &admin,
            Body::Json(json!({})),
        ),
        invalid(
            "agent id with a space",
            Method::PUT,
            p("/agents/a%20b"),
            &admin,
            Body::Json(json!({})),
        ),
        invalid(
            "agent id not ASCII",
            Method::PUT,
            p("/agents/%E5%B0%8F%E7%8E%8B"),
            &admin,
            Body::Json(json!({})),
        ),
        invalid(
            "status of a bad agent id",
            Method::PUT,
            p("/agents/a%20b/status"),
            &svc,
            Body::Json(json!({"status": "online"})),
        ),
        invalid(
            "group id with a space",
            Method::PUT,
            p("/groups/g%201"),
            &admin,
            Body::Json(json!({"agents": []})),
        ),
        invalid(
            "bad group in the ranking",
            Method::GET,
            p("/ranking?group=a%20b"),
            &admin,
            Body::None,
        ),
        invalid(
            "conversation id without prefix",
            Method::GET,
            p("/conversations/42"),
            &svc,
            Body::None,
        ),
        invalid(
            "conversation id not a number",
            Method::POST,
            p("/conversations/c-x/end"),
            &svc,
            Body::None,
        ),
        invalid(
            "conversation id with a leading zero",
            Method::POST,
            p("/conversations/c-01/end"),
            &svc,
            Body::None,
        ),
        invalid(
            "conversation id with a sign",
            Method::POST,
            p("/conversations/c-+1/end"),
            &svc,
            Body::None,
        ),
        invalid(
            "shop id of 65 characters",
            Method::GET,
            format!("/v1/shops/{long_id}/agents"),
            &admin,
            Body::None,
        ),
        invalid(
            "shop id with a space",
            Method::POST,
            "/v1/shops/my%20shop/inquiries".into(),
            &svc,
            Body::Json(json!({"buyer_id": "bx", "entry": "live"})),
        ),
        // Bodies over 64 KiB.
        bad(
            "routing over 64 KiB",
            Method::PUT,
            p("/routing"),
            &admin,
            Body::Json(json!({"rules": [{"when": {"question": big}, "to": {"agents": ["a1"]}}]})),
            413,
            "payload_too_large",
        ),
        bad(
            "inquiry over 64 KiB",
            Method::POST,
            p("/inquiries"),
            &svc,
            Body::Raw(
                format!(r#"{{"buyer_id":"bx","entry":"live","question":"{big}"}}"#).into_bytes(),
            ),
            413,
            "payload_too_large",
        ),
        bad(
            "end with a body over 64 KiB",
            Method::POST,
            conv("/end"),
            &svc,
            Body::Raw(big.clone().into_bytes()),
            413,
            "payload_too_large",
        ),
    ]
}

#[tokio::test]
async fn every_bad_input_gets_its_4xx_with_the_error_body_and_changes_nothing() {
    // Arrange
    let (t, c1) = busy_shop().await;
    let before = t.state(&c1).await;
    let mut failures = Vec::new();

    for case in table(&t, &c1) {
        // Act
        let a = match case.body {
            Body::None => {
                t.app
                    .call(case.method, &case.path, Some(&case.token), None)
                    .await
            }
            Body::Json(v) => {
                t.app
                    .call(case.method, &case.path, Some(&case.token), Some(v))
                    .await
            }
            Body::Raw(bytes) => {
                t.app
                    .call_raw(case.method, &case.path, &case.token, bytes)
                    .await
            }
        };

        // Assert (collected, so one run reports every broken case)
        let message = a.body["error"]["message"].as_str().unwrap_or("");
        if a.status.as_u16() != case.status || a.code() != case.code || message.is_empty() {
            failures.push(format!(
                "{}: expected {} {}, got {} {}",
                case.what, case.status, case.code, a.status, a.body
            ));
        }
        if t.state(&c1).await != before {
            failures.push(format!("{}: the shop changed", case.what));
            break;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn a_client_error_message_says_what_was_wrong() {
    // Arrange
    let (t, _) = busy_shop().await;

    // Act
    let a = t
        .app
        .put(
            &t.path("/agents/a1/max_load"),
            &t.s.agent("a1"),
            json!({"max_load": 51}),
        )
        .await;
    let b = t.inquire_with("bx", json!({"entry": "homepage"})).await;

    // Assert
    assert_error(&a, 400, "invalid_request");
    assert!(
        a.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_load"),
        "{:?}",
        a.body
    );
    assert_error(&b, 400, "invalid_request");
    assert!(
        b.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("homepage"),
        "{:?}",
        b.body
    );
}
