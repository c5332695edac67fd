//! Who may call what (spec section 5): the role table, shop scoping, and
//! every way a token can be wrong.

use fenliu_api::auth::{Claims, JwtKeys, Role};
use fenliu_suite::{now_secs, token, SECRET};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_error, cid, TestShop};

/// A shop with a1 (online, serving b1 in the returned conversation), a2
/// (online), group g1 and one order.
async fn staffed_shop() -> (TestShop, String) {
    let t = TestShop::start("shop");
    t.online_agents(&["a1", "a2"]).await;
    t.routing(json!({"rules": [{"when": {}, "to": {"agents": ["a1"]}}]}))
        .await;
    let c1 = cid(&t.inquire("b1").await);
    t.routing(json!({})).await;
    t.group("g1", &["a1"]).await;
    let order = t
        .app
        .post(
            &t.path("/orders"),
            &t.s.service,
            json!({"order_id": "o-1", "buyer_id": "b9"}),
        )
        .await;
    assert_eq!(order.status, 200);
    (t, c1)
}

struct Call {
    method: Method,
    path: String,
    body: Option<Value>,
}

fn call(method: Method, path: String, body: Option<Value>) -> Call {
    Call { method, path, body }
}

#[tokio::test]
async fn each_role_is_refused_what_the_table_does_not_grant_and_nothing_changes() {
    // Arrange
    let (t, c1) = staffed_shop().await;
    let p = |rest: &str| t.path(rest);
    let conv = |rest: &str| t.path(&format!("/conversations/{c1}{rest}"));
    let (admin, sup, svc) = (&t.s.admin, &t.s.supervisor, &t.s.service);
    let (a1, a2) = (&t.s.agent("a1"), &t.s.agent("a2"));
    let forbidden: Vec<(&str, &String, Call)> = vec![
        (
            "supervisor upserts an agent",
            sup,
            call(Method::PUT, p("/agents/a1"), Some(json!({"weight": 5}))),
        ),
        (
            "service upserts an agent",
            svc,
            call(Method::PUT, p("/agents/a1"), Some(json!({"weight": 5}))),
        ),
        (
            "agent upserts itself",
            a1,
            call(Method::PUT, p("/agents/a1"), Some(json!({"weight": 5}))),
        ),
        (
            "supervisor deletes an agent",
            sup,
            call(Method::DELETE, p("/agents/a2"), None),
        ),
        (
            "service deletes an agent",
            svc,
            call(Method::DELETE, p("/agents/a2"), None),
        ),
        (
            "agent deletes itself",
            a2,
            call(Method::DELETE, p("/agents/a2"), None),
        ),
        (
            "agent lists agents",
            a1,
            call(Method::GET, p("/agents"), None),
        ),
        (
            "agent reads another agent",
            a1,
            call(Method::GET, p("/agents/a2"), None),
        ),
        (
            "admin sets an agent's status",
            admin,
            call(
                Method::PUT,
                p("/agents/a2/status"),
                Some(json!({"status": "busy"})),
            ),
        ),
        (
            "supervisor sets an agent's status",
            sup,
            call(
                Method::PUT,
                p("/agents/a2/status"),
                Some(json!({"status": "busy"})),
            ),
        ),
        (
            "agent sets another's status",
            a1,
            call(
                Method::PUT,
                p("/agents/a2/status"),
                Some(json!({"status": "busy"})),
            ),
        ),
        (
            "admin sets an agent's max load",
            admin,
            call(
                Method::PUT,
                p("/agents/a1/max_load"),
                Some(json!({"max_load": 3})),
            ),
        ),
        (
            "supervisor sets an agent's max load",
            sup,
            call(
                Method::PUT,
                p("/agents/a1/max_load"),
                Some(json!({"max_load": 3})),
            ),
        ),
        (
            "service sets an agent's max load",
            svc,
            call(
                Method::PUT,
                p("/agents/a1/max_load"),
                Some(json!({"max_load": 3})),
            ),
        ),
        (
            "agent sets another's max load",
            a2,
            call(
                Method::PUT,
                p("/agents/a1/max_load"),
                Some(json!({"max_load": 3})),
            ),
        ),
        (
            "service puts a group",
            svc,
            call(Method::PUT, p("/groups/g1"), Some(json!({"agents": []}))),
        ),
        (
            "agent puts a group",
            a1,
            call(Method::PUT, p("/groups/g1"), Some(json!({"agents": []}))),
        ),
        (
            "agent lists groups",
            a1,
            call(Method::GET, p("/groups"), None),
        ),
        (
            "supervisor puts routing",
            sup,
            call(
                Method::PUT,
                p("/routing"),
                Some(json!({"strategy": "even"})),
            ),
        ),
        (
            "service puts routing",
            svc,
            call(
                Method::PUT,
                p("/routing"),
                Some(json!({"strategy": "even"})),
            ),
        ),
        (
            "agent puts routing",
            a1,
            call(
                Method::PUT,
                p("/routing"),
                Some(json!({"strategy": "even"})),
            ),
        ),
        (
            "agent reads routing",
            a1,
            call(Method::GET, p("/routing"), None),
        ),
        (
            "admin posts an inquiry",
            admin,
            call(
                Method::POST,
                p("/inquiries"),
                Some(json!({"buyer_id": "bx", "entry": "live"})),
            ),
        ),
        (
            "supervisor posts an inquiry",
            sup,
            call(
                Method::POST,
                p("/inquiries"),
                Some(json!({"buyer_id": "bx", "entry": "live"})),
            ),
        ),
        (
            "agent posts an inquiry",
            a1,
            call(
                Method::POST,
                p("/inquiries"),
                Some(json!({"buyer_id": "bx", "entry": "live"})),
            ),
        ),
        (
            "agent reads another's conversation",
            a2,
            call(Method::GET, conv(""), None),
        ),
        (
            "owning agent asks for explain",
            a1,
            call(Method::GET, conv("/explain"), None),
        ),
        (
            "admin posts a message",
            admin,
            call(
                Method::POST,
                conv("/messages"),
                Some(json!({"from": "agent"})),
            ),
        ),
        (
            "supervisor posts a message",
            sup,
            call(
                Method::POST,
                conv("/messages"),
                Some(json!({"from": "agent"})),
            ),
        ),
        (
            "agent writes as the buyer",
            a1,
            call(
                Method::POST,
                conv("/messages"),
                Some(json!({"from": "buyer"})),
            ),
        ),
        (
            "agent writes in another's conversation",
            a2,
            call(
                Method::POST,
                conv("/messages"),
                Some(json!({"from": "agent"})),
            ),
        ),
        (
            "supervisor transfers",
            sup,
            call(
                Method::POST,
                conv("/transfer"),
                Some(json!({"to_agent": "a2"})),
            ),
        ),
        (
            "agent transfers another's conversation",
            a2,
            call(
                Method::POST,
                conv("/transfer"),
                Some(json!({"to_agent": "a2"})),
            ),
        ),
        ("admin ends", admin, call(Method::POST, conv("/end"), None)),
        (
            "supervisor ends",
            sup,
            call(Method::POST, conv("/end"), None),
        ),
        (
            "agent ends another's conversation",
            a2,
            call(Method::POST, conv("/end"), None),
        ),
        (
            "admin accepts an offer",
            admin,
            call(Method::POST, conv("/accept"), None),
        ),
        (
            "agent accepts another's offer",
            a2,
            call(Method::POST, conv("/accept"), None),
        ),
        (
            "supervisor rejects an offer",
            sup,
            call(Method::POST, conv("/reject"), None),
        ),
        (
            "agent rejects another's offer",
            a2,
            call(Method::POST, conv("/reject"), None),
        ),
        (
            "admin cancels",
            admin,
            call(Method::POST, conv("/cancel"), None),
        ),
        (
            "agent cancels",
            a1,
            call(Method::POST, conv("/cancel"), None),
        ),
        (
            "service invites a rating",
            svc,
            call(Method::POST, conv("/rating_invite"), None),
        ),
        (
            "admin invites a rating",
            admin,
            call(Method::POST, conv("/rating_invite"), None),
        ),
        (
            "agent invites a rating on another's conversation",
            a2,
            call(Method::POST, conv("/rating_invite"), None),
        ),
        (
            "admin rates",
            admin,
            call(Method::POST, conv("/rating"), Some(json!({"stars": 5}))),
        ),
        (
            "agent rates",
            a1,
            call(Method::POST, conv("/rating"), Some(json!({"stars": 5}))),
        ),
        (
            "admin opens a proactive conversation",
            admin,
            call(
                Method::POST,
                p("/conversations"),
                Some(json!({"buyer_id": "b9"})),
            ),
        ),
        (
            "service opens a proactive conversation",
            svc,
            call(
                Method::POST,
                p("/conversations"),
                Some(json!({"buyer_id": "b9"})),
            ),
        ),
        (
            "supervisor opens a proactive conversation",
            sup,
            call(
                Method::POST,
                p("/conversations"),
                Some(json!({"buyer_id": "b9"})),
            ),
        ),
        (
            "agent reads the queue",
            a1,
            call(Method::GET, p("/queue"), None),
        ),
        (
            "agent reads the shop's figures",
            a1,
            call(Method::GET, p("/stats"), None),
        ),
        (
            "admin posts an order",
            admin,
            call(
                Method::POST,
                p("/orders"),
                Some(json!({"order_id": "o-2", "buyer_id": "b1"})),
            ),
        ),
        (
            "agent posts an order",
            a1,
            call(
                Method::POST,
                p("/orders"),
                Some(json!({"order_id": "o-2", "buyer_id": "b1"})),
            ),
        ),
    ];
    let before = t.state(&c1).await;

    for (what, token, c) in &forbidden {
        // Act
        let a = t
            .app
            .call(c.method.clone(), &c.path, Some(token), c.body.clone())
            .await;

        // Assert
        assert_eq!(a.status, 403, "{what}: {:?}", a.body);
        assert_eq!(a.code(), "forbidden", "{what}: {:?}", a.body);
        assert_eq!(t.state(&c1).await, before, "{what} changed the shop");
    }
}

#[tokio::test]
async fn a_token_for_another_shop_is_refused_with_403() {
    // Arrange
    let (t, c1) = staffed_shop().await;
    let other_admin = token(Role::Admin, "other", "admin");
    let other_service = token(Role::Service, "other", "svc");
    let other_agent = token(Role::Agent, "other", "a1");
    let star_admin = token(Role::Admin, "*", "admin");
    let before = t.state(&c1).await;

    // Act
    let answers = [
        t.app.get(&t.path("/agents"), &other_admin).await,
        t.app
            .post(
                &t.path("/inquiries"),
                &other_service,
                json!({"buyer_id": "bx", "entry": "live"}),
            )
            .await,
        t.app
            .put(
                &t.path("/agents/a1/status"),
                &other_agent,
                json!({"status": "offline"}),
            )
            .await,
        t.app.get(&t.path("/owner"), &other_agent).await,
        t.app.get(&t.path("/events"), &other_service).await,
        t.app.get(&t.path("/agents"), &star_admin).await,
    ];

    // Assert
    for a in &answers {
        assert_error(a, 403, "forbidden");
    }
    assert_eq!(t.state(&c1).await, before);
}

#[tokio::test]
async fn a_service_token_for_every_shop_works_in_any_shop() {
    // Arrange
    let (t, _) = staffed_shop().await;
    let star = token(Role::Service, "*", "gateway");

    // Act
    let routed = t
        .app
        .post(
            &t.path("/inquiries"),
            &star,
            json!({"buyer_id": "b2", "entry": "live"}),
        )
        .await;
    let agents = t.app.get(&t.path("/agents"), &star).await;
    let elsewhere = t.app.get("/v1/shops/elsewhere/agents", &star).await;

    // Assert
    assert_eq!(routed.status, 201, "{:?}", routed.body);
    assert_eq!(agents.status, 200);
    assert_eq!(elsewhere.status, 200);
    assert_eq!(elsewhere.body, json!({"agents": []}));
}

#[tokio::test]
async fn each_role_may_do_what_the_table_grants() {
    // Arrange
    let (t, c1) = staffed_shop().await;
    let conv = |rest: &str| t.path(&format!("/conversations/{c1}{rest}"));
    let (admin, sup, svc) = (&t.s.admin, &t.s.supervisor, &t.s.service);
    let a1 = &t.s.agent("a1");
    let reads = [
        (admin, "/agents"),
        (sup, "/agents"),
        (svc, "/agents"),
        (a1, "/agents/a1"),
        (sup, "/agents/a2"),
        (admin, "/groups"),
        (sup, "/groups"),
        (svc, "/groups"),
        (admin, "/routing"),
        (sup, "/routing"),
        (svc, "/routing"),
        (admin, "/queue"),
        (sup, "/queue"),
        (svc, "/queue"),
        (admin, "/ranking"),
        (sup, "/ranking"),
        (svc, "/ranking"),
        (a1, "/ranking"),
        (admin, "/stats"),
        (sup, "/stats"),
        (svc, "/stats"),
        (a1, "/owner"),
    ];

    // Act & Assert: reads.
    for (token, rest) in reads {
        let a = t.app.get(&t.path(rest), token).await;
        assert_eq!(a.status, 200, "GET {rest}: {:?}", a.body);
    }
    for token in [admin, sup, svc, a1] {
        let a = t.app.get(&conv(""), token).await;
        assert_eq!(a.status, 200, "GET conversation: {:?}", a.body);
    }
    for token in [admin, sup, svc] {
        let a = t.app.get(&conv("/explain"), token).await;
        assert_eq!(a.status, 200, "GET explain: {:?}", a.body);
    }

    // Act & Assert: writes, in an order that keeps each one meaningful.
    let group = t
        .app
        .put(&t.path("/groups/g2"), sup, json!({"agents": ["a2"]}))
        .await;
    assert_eq!(
        group.status, 200,
        "supervisor puts a group: {:?}",
        group.body
    );
    let status = t
        .app
        .put(
            &t.path("/agents/a1/status"),
            a1,
            json!({"status": "online"}),
        )
        .await;
    assert_eq!(status.status, 200);
    let max = t
        .app
        .put(&t.path("/agents/a1/max_load"), a1, json!({"max_load": 12}))
        .await;
    assert_eq!(max.status, 200);
    let reply = t
        .app
        .post(&conv("/messages"), a1, json!({"from": "agent"}))
        .await;
    assert_eq!(reply.status, 200, "owning agent replies: {:?}", reply.body);
    let invite = t.app.post(&conv("/rating_invite"), a1, json!({})).await;
    assert_eq!(
        invite.status, 200,
        "owning agent invites: {:?}",
        invite.body
    );
    let moved = t
        .app
        .post(&conv("/transfer"), admin, json!({"to_agent": "a2"}))
        .await;
    assert_eq!(moved.status, 200, "admin transfers: {:?}", moved.body);
    let a2 = &t.s.agent("a2");
    let moved_back = t
        .app
        .post(&conv("/transfer"), a2, json!({"to_agent": "a1"}))
        .await;
    assert_eq!(
        moved_back.status, 200,
        "owning agent transfers: {:?}",
        moved_back.body
    );
    let ended = t.app.post(&conv("/end"), a1, json!({})).await;
    assert_eq!(ended.status, 200, "owning agent ends: {:?}", ended.body);
    let proactive = t
        .app
        .post(&t.path("/conversations"), a1, json!({"buyer_id": "b9"}))
        .await;
    assert_eq!(proactive.status, 201, "agent opens: {:?}", proactive.body);
    let deleted = t
        .app
        .call(Method::DELETE, &t.path("/agents/a2"), Some(admin), None)
        .await;
    assert_eq!(deleted.status, 204);
}

#[tokio::test]
async fn an_agent_may_read_only_its_own_conversations() {
    // Arrange
    let (t, c1) = staffed_shop().await;
    let path = t.path(&format!("/conversations/{c1}"));

    // Act
    let own = t.app.get(&path, &t.s.agent("a1")).await;
    let other = t.app.get(&path, &t.s.agent("a2")).await;

    // Assert
    assert_eq!(own.status, 200);
    assert_eq!(own.body["agent_id"], "a1");
    assert_error(&other, 403, "forbidden");
}

/// Base64url without padding, for hand-made tokens.
fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn claims(role: &str, exp: u64) -> Value {
    json!({"sub": "admin", "role": role, "shop": "shop", "exp": exp})
}

fn hs(alg: jsonwebtoken::Algorithm, secret: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

#[test]
fn hand_made_base64url_matches_the_rfc_examples() {
    assert_eq!(b64url(b"f"), "Zg");
    assert_eq!(b64url(b"fo"), "Zm8");
    assert_eq!(b64url(b"foo"), "Zm9v");
    assert_eq!(b64url(&[0xfb, 0xff]), "-_8");
}

#[tokio::test]
async fn a_missing_or_invalid_token_is_refused_with_401() {
    // Arrange
    let t = TestShop::start("shop");
    let later = now_secs() + 3600;
    let good = hs(
        jsonwebtoken::Algorithm::HS256,
        SECRET.as_bytes(),
        &claims("admin", later),
    );
    let unsigned = format!(
        "{}.{}.",
        b64url(br#"{"alg":"none","typ":"JWT"}"#),
        b64url(claims("admin", later).to_string().as_bytes())
    );
    let tampered = {
        let parts: Vec<&str> = good.split('.').collect();
        let forged = b64url(
            json!({"sub": "admin", "role": "admin", "shop": "*", "exp": later})
                .to_string()
                .as_bytes(),
        );
        format!("{}.{}.{}", parts[0], forged, parts[2])
    };
    let expired = JwtKeys::new(SECRET.as_bytes()).issue(&Claims {
        sub: "admin".into(),
        role: Role::Admin,
        shop: "shop".into(),
        exp: now_secs() - 120,
    });
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no header", None),
        ("garbage", Some("Bearer not-a-jwt".into())),
        ("empty bearer", Some("Bearer ".into())),
        ("basic scheme", Some(format!("Basic {good}"))),
        ("expired", Some(format!("Bearer {expired}"))),
        ("alg none", Some(format!("Bearer {unsigned}"))),
        (
            "wrong secret",
            Some(format!(
                "Bearer {}",
                hs(
                    jsonwebtoken::Algorithm::HS256,
                    b"not-the-secret",
                    &claims("admin", later)
                )
            )),
        ),
        (
            "HS512",
            Some(format!(
                "Bearer {}",
                hs(
                    jsonwebtoken::Algorithm::HS512,
                    SECRET.as_bytes(),
                    &claims("admin", later)
                )
            )),
        ),
        ("tampered payload", Some(format!("Bearer {tampered}"))),
        (
            "unknown role",
            Some(format!(
                "Bearer {}",
                hs(
                    jsonwebtoken::Algorithm::HS256,
                    SECRET.as_bytes(),
                    &claims("root", later)
                )
            )),
        ),
        (
            "no exp",
            Some(format!(
                "Bearer {}",
                hs(
                    jsonwebtoken::Algorithm::HS256,
                    SECRET.as_bytes(),
                    &json!({"sub": "admin", "role": "admin", "shop": "shop"})
                )
            )),
        ),
    ];
    let control = t
        .app
        .client
        .get(format!("{}{}", t.app.address, t.path("/agents")))
        .header("authorization", format!("Bearer {good}"))
        .send()
        .await
        .unwrap();
    assert_eq!(control.status(), 200, "the well-made token works");

    for (what, header) in cases {
        // Act
        let mut req = t
            .app
            .client
            .put(format!("{}{}", t.app.address, t.path("/agents/a1")))
            .json(&json!({}));
        if let Some(h) = header {
            req = req.header("authorization", h);
        }
        let resp = req.send().await.unwrap();

        // Assert
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized", "{what}: {body}");
    }
    let agents = t.app.get(&t.path("/agents"), &t.s.admin).await;
    assert_eq!(
        agents.body,
        json!({"agents": []}),
        "no call created the agent"
    );
}

#[tokio::test]
async fn ops_endpoints_need_no_token_but_v1_always_does() {
    // Arrange
    let t = TestShop::start("shop");

    // Act
    let owner = t.app.call(Method::GET, &t.path("/owner"), None, None).await;
    let events = t
        .app
        .call(Method::GET, &t.path("/events"), None, None)
        .await;

    // Assert
    assert_error(&owner, 401, "unauthorized");
    assert_error(&events, 401, "unauthorized");
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    // Arrange
    let t = TestShop::start("shop");

    // Act
    let resp = t
        .app
        .client
        .get(format!("{}{}", t.app.address, t.path("/agents")))
        .header("authorization", format!("bearer {}", t.s.admin))
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn a_refusal_says_which_role_was_refused() {
    // Arrange
    let t = TestShop::start("shop");

    // Act
    let a = t.app.get(&t.path("/agents"), &t.s.agent("a1")).await;

    // Assert
    assert_error(&a, 403, "forbidden");
    assert_eq!(a.body["error"]["message"], "role agent may not do this");
}
