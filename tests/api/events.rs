//! `GET /events`: Server-Sent Events of a shop, and an agent's own events.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{cid, TestShop};

/// One event of the stream.
#[derive(Debug)]
struct Sse {
    id: Option<String>,
    event: String,
    data: Value,
}

/// An open event stream, read frame by frame.
struct Stream {
    resp: reqwest::Response,
    buf: String,
}

impl Stream {
    async fn open(t: &TestShop, token: &str) -> Stream {
        let resp = t
            .app
            .client
            .get(format!("{}{}", t.app.address, t.path("/events")))
            .bearer_auth(token)
            .send()
            .await
            .expect("events request");
        assert_eq!(resp.status(), 200);
        let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        Stream {
            resp,
            buf: String::new(),
        }
    }

    /// The next event (comments skipped), or `None` after `wait`.
    async fn next(&mut self, wait: Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let frame: String = self.buf.drain(..end + 2).collect();
                if let Some(sse) = parse(&frame) {
                    return Some(sse);
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.resp.chunk())
                .await
                .ok()?
                .expect("stream readable")?;
            self.buf
                .push_str(std::str::from_utf8(&chunk).expect("utf-8"));
        }
    }

    /// The next event named `name`, skipping others.
    async fn next_named(&mut self, name: &str) -> Sse {
        loop {
            let e = self
                .next(Duration::from_secs(10))
                .await
                .unwrap_or_else(|| panic!("no {name} event"));
            if e.event == name {
                return e;
            }
        }
    }
}

fn parse(frame: &str) -> Option<Sse> {
    let (mut id, mut event, mut data) = (None, None, String::new());
    for line in frame.lines() {
        if let Some(v) = line.strip_prefix("id: ") {
            id = Some(v.to_owned());
        } else if let Some(v) = line.strip_prefix("event: ") {
            event = Some(v.to_owned());
        } else if let Some(v) = line.strip_prefix("data: ") {
            data.push_str(v);
        }
    }
    Some(Sse {
        id,
        event: event?,
        data: serde_json::from_str(&data).expect("data is JSON"),
    })
}

#[tokio::test]
async fn an_assignment_is_published_as_conversation_assigned() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    let mut events = Stream::open(&t, &t.s.service).await;

    // Act
    let routed = t.inquire("b1").await;

    // Assert
    let e = events.next_named("conversation.assigned").await;
    assert_eq!(e.data["conversation_id"], routed["conversation_id"]);
    assert_eq!(e.data["agent_id"], "a1");
    assert_eq!(e.data["buyer_id"], "b1");
    assert_eq!(e.data["reason"], "default");
    assert!(e.id.is_some(), "events carry an id: line");
}

#[tokio::test]
async fn queueing_transfer_end_and_status_changes_are_published_in_order() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    t.max_load("a1", 1).await;
    t.agents(&["a2"]).await;
    let mut events = Stream::open(&t, &t.s.admin).await;

    // Act
    let c1 = cid(&t.inquire("b1").await);
    let q2 = cid(&t.inquire("b2").await);
    t.status("a2", "online").await;
    // a2 took b2 when it came online; move b1 over to it and end it there.
    t.act(&c1, "transfer", json!({"to_agent": "a2"})).await;
    t.end(&c1).await;

    // Assert
    let mut seen = Vec::new();
    while let Some(e) = events.next(Duration::from_millis(500)).await {
        seen.push(e);
    }
    let names: Vec<&str> = seen.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        names,
        [
            "conversation.assigned",
            "conversation.queued",
            "agent.status",
            "conversation.assigned",
            "conversation.transferred",
            "conversation.ended",
        ],
        "{seen:?}"
    );
    assert_eq!(seen[1].data["conversation_id"], q2.as_str());
    assert_eq!(seen[1].data["position"], 1);
    assert_eq!(seen[2].data["agent_id"], "a2");
    assert_eq!(seen[2].data["status"], "online");
    assert_eq!(seen[3].data["conversation_id"], q2.as_str());
    assert_eq!(seen[4].data["from_agent_id"], "a1");
    assert_eq!(seen[4].data["agent_id"], "a2");
    assert_eq!(seen[5].data["conversation_id"], c1.as_str());
    assert_eq!(seen[5].data["end_reason"], "service");
    let ids: Vec<u64> = seen
        .iter()
        .map(|e| e.id.as_deref().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");
}

#[tokio::test]
async fn an_agent_stream_carries_only_that_agents_events() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    t.agents(&["a2"]).await;
    let mut mine = Stream::open(&t, &t.s.agent("a2")).await;

    // Act: b1 goes to a1 (a2 is offline), then a2 comes online and takes b2.
    t.inquire("b1").await;
    t.status("a2", "online").await;
    let b2 = t.inquire("b2").await;

    // Assert
    assert_eq!(b2["agent_id"], "a2");
    let first = mine.next(Duration::from_secs(10)).await.expect("an event");
    assert_eq!(first.event, "agent.status");
    assert_eq!(first.data["agent_id"], "a2");
    let second = mine.next(Duration::from_secs(10)).await.expect("an event");
    assert_eq!(second.event, "conversation.assigned");
    assert_eq!(second.data["conversation_id"], b2["conversation_id"]);
    assert_eq!(second.data["agent_id"], "a2");
    assert!(mine.next(Duration::from_millis(300)).await.is_none());
}

#[tokio::test]
async fn a_stream_carries_only_its_own_shops_events() {
    // Arrange
    let t = TestShop::start("shop");
    let other = fenliu_suite::ShopFixture::new("other");
    t.online_agents(&["a1"]).await;
    let mut events = Stream::open(&t, &t.s.service).await;

    // Act
    let put = t
        .app
        .put(&other.path("/agents/z1"), &other.admin, json!({}))
        .await;
    t.app
        .put(
            &other.path("/agents/z1/status"),
            &other.agent("z1"),
            json!({"status": "online"}),
        )
        .await;
    let mine = t.inquire("b1").await;

    // Assert
    assert_eq!(put.status, 200);
    let e = events
        .next(Duration::from_secs(10))
        .await
        .expect("an event");
    assert_eq!(e.event, "conversation.assigned");
    assert_eq!(e.data["conversation_id"], mine["conversation_id"]);
}

#[tokio::test]
async fn an_auto_end_is_published_as_conversation_ended() {
    // Arrange
    let t = TestShop::start("shop");
    t.routing(json!({"timers": {"auto_end_secs": 1}})).await;
    t.online_agents(&["a1"]).await;
    let c1 = cid(&t.inquire("b1").await);
    let mut events = Stream::open(&t, &t.s.agent("a1")).await;

    // Act
    t.message(&c1, "agent").await;

    // Assert
    let e = events.next_named("conversation.ended").await;
    assert_eq!(e.data["conversation_id"], c1.as_str());
    assert_eq!(e.data["end_reason"], "auto_end");
}
