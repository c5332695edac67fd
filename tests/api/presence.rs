//! Agent presence (an extension): with `presence.timeout_secs`, an online
//! or busy agent who shows no sign of life — a heartbeat, or an open event
//! stream with its own token — is set offline that long after the last
//! sign; its active conversations stay its own.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{assert_error, cid, TestShop};

/// The shortest timeout the settings accept.
const TIMEOUT: Duration = Duration::from_secs(10);

async fn heartbeat(t: &TestShop, agent: &str, token: &str) -> fenliu_suite::Answer {
    t.app
        .post(
            &t.path(&format!("/agents/{agent}/heartbeat")),
            token,
            json!({}),
        )
        .await
}

/// `GET /events` with `token`, held open while the answer is.
async fn events(t: &TestShop, token: &str) -> reqwest::Response {
    t.app
        .client
        .get(format!("{}{}", t.app.address, t.path("/events")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// A shop with presence at the shortest timeout and agent `a1` online
/// (after presence was switched on, so its clock starts with its status).
async fn watched_shop(name: &str) -> TestShop {
    let t = TestShop::start(name);
    t.agents(&["a1"]).await;
    t.routing(json!({"presence": {"timeout_secs": 10}})).await;
    t.status("a1", "online").await;
    t
}

async fn status(t: &TestShop, agent: &str) -> String {
    t.agent(agent).await["status"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_agent_without_a_sign_of_life_goes_offline_and_keeps_its_conversations() {
    let t = watched_shop("presence-lapse").await;
    let started = Instant::now();
    let c = cid(&t.inquire("b1").await);

    let offline = t
        .app
        .eventually(TIMEOUT * 2, || async {
            status(&t, "a1").await == "offline"
        })
        .await;

    assert!(offline, "never set offline");
    assert!(
        started.elapsed() >= TIMEOUT - Duration::from_millis(500),
        "offline after {:?}, before the timeout",
        started.elapsed()
    );
    let conv = t.conversation(&c).await;
    assert_eq!(conv["status"], "active");
    assert_eq!(conv["agent_id"], "a1");
}

#[tokio::test]
async fn heartbeats_keep_an_agent_online_past_the_timeout() {
    let t = watched_shop("presence-heartbeat").await;
    let token = t.s.agent("a1");

    let until = Instant::now() + TIMEOUT + Duration::from_secs(4);
    while Instant::now() < until {
        let beat = heartbeat(&t, "a1", &token).await;
        assert_eq!(beat.status, 200, "{:?}", beat.body);
        assert_eq!(beat.body, json!({"timeout_secs": 10}));
        tokio::time::sleep(Duration::from_secs(3)).await;
    }

    assert_eq!(status(&t, "a1").await, "online");
    // Then silence: offline within the timeout and a little.
    let offline = t
        .app
        .eventually(TIMEOUT + Duration::from_secs(3), || async {
            status(&t, "a1").await == "offline"
        })
        .await;
    assert!(offline, "never set offline once the heartbeats stopped");
}

#[tokio::test]
async fn an_open_event_stream_with_the_agents_token_is_a_sign_of_life() {
    let t = watched_shop("presence-stream").await;
    let stream = events(&t, &t.s.agent("a1")).await;
    assert_eq!(stream.status(), 200);

    tokio::time::sleep(TIMEOUT + Duration::from_secs(4)).await;
    assert_eq!(status(&t, "a1").await, "online");

    // The server notices the closed stream when a keep-alive write fails
    // (one every 4 s for an agent's stream), then the timeout runs.
    drop(stream);
    let offline = t
        .app
        .eventually(TIMEOUT + Duration::from_secs(15), || async {
            status(&t, "a1").await == "offline"
        })
        .await;
    assert!(offline, "never set offline once the stream closed");
}

#[tokio::test]
async fn the_lapse_is_announced_as_agent_status_with_cause_presence() {
    let t = watched_shop("presence-event").await;
    let mut stream = events(&t, &t.s.service).await;

    let mut text = String::new();
    let deadline = Instant::now() + TIMEOUT * 2;
    while !text.contains("\"cause\":\"presence\"") && Instant::now() < deadline {
        if let Ok(Ok(Some(chunk))) =
            tokio::time::timeout(Duration::from_secs(1), stream.chunk()).await
        {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    let line = text
        .lines()
        .find(|l| l.contains("\"cause\":\"presence\""))
        .unwrap_or_else(|| panic!("no presence event in {text}"));
    let data: serde_json::Value = serde_json::from_str(line.trim_start_matches("data: ")).unwrap();
    assert_eq!(data["agent_id"], "a1");
    assert_eq!(data["status"], "offline");
}

#[tokio::test]
async fn without_presence_nobody_is_set_offline_and_a_heartbeat_says_so() {
    let t = TestShop::start("presence-off");
    t.agents(&["a1"]).await;
    t.status("a1", "online").await;

    let beat = heartbeat(&t, "a1", &t.s.service).await;
    assert_eq!(beat.status, 200);
    assert_eq!(beat.body, json!({}));
    let routing = t.app.get(&t.path("/routing"), &t.s.admin).await;
    assert!(routing.body.get("presence").is_none(), "{:?}", routing.body);
}

#[tokio::test]
async fn a_heartbeat_is_the_agents_own_or_a_services_and_names_a_known_agent() {
    let t = watched_shop("presence-who").await;
    t.agents(&["a2"]).await;

    assert_error(
        &heartbeat(&t, "a1", &t.s.agent("a2")).await,
        403,
        "forbidden",
    );
    assert_error(&heartbeat(&t, "a1", &t.s.admin).await, 403, "forbidden");
    assert_error(
        &heartbeat(&t, "nobody", &t.s.service).await,
        404,
        "not_found",
    );
    assert_eq!(heartbeat(&t, "a1", &t.s.service).await.status, 200);
}

#[tokio::test]
async fn bad_presence_settings_are_400_and_change_nothing() {
    let t = TestShop::start("presence-bad");
    t.routing(json!({"presence": {"timeout_secs": 60}})).await;
    for bad in [
        json!({"presence": {"timeout_secs": 9}}),
        json!({"presence": {"timeout_secs": 3601}}),
        json!({"presence": {"timeout_secs": null}}),
        json!({"presence": {"timeout_secs": "60"}}),
        json!({"presence": {"every": 60}}),
        json!({"presence": 60}),
    ] {
        let put = t
            .app
            .put(&t.path("/routing"), &t.s.admin, bad.clone())
            .await;
        assert_error(&put, 400, "invalid_request");
    }
    let routing = t.app.get(&t.path("/routing"), &t.s.admin).await;
    assert_eq!(routing.body["presence"], json!({"timeout_secs": 60}));
}
