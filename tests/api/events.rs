//! `GET /events`: Server-Sent Events of a shop, an agent's own events, and
//! resuming after a disconnect with `Last-Event-ID`.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{assert_error, cid, TestShop};
use fenliu_suite::Answer;

/// One event of the stream.
#[derive(Debug)]
struct Sse {
    id: Option<String>,
    event: String,
    data: Value,
}

/// What a stream says: an event, or a comment line (`: …`).
#[derive(Debug)]
enum Said {
    Event(Sse),
    Comment(String),
}

/// An open event stream, read frame by frame.
struct Stream {
    resp: reqwest::Response,
    buf: String,
}

/// `GET /events` with a token, an optional `Last-Event-ID` header and a query.
async fn request(
    t: &TestShop,
    token: &str,
    last_event_id: Option<&str>,
    query: &str,
) -> reqwest::Response {
    let mut req = t
        .app
        .client
        .get(format!("{}{}{query}", t.app.address, t.path("/events")))
        .bearer_auth(token);
    if let Some(id) = last_event_id {
        req = req.header("Last-Event-ID", id);
    }
    req.send().await.expect("events request")
}

impl Stream {
    async fn open(t: &TestShop, token: &str) -> Stream {
        Stream::open_at(t, token, None, "").await
    }

    /// Reconnects naming the last event seen, as EventSource does.
    async fn resume(t: &TestShop, token: &str, last_event_id: &str) -> Stream {
        Stream::open_at(t, token, Some(last_event_id), "").await
    }

    async fn open_at(
        t: &TestShop,
        token: &str,
        last_event_id: Option<&str>,
        query: &str,
    ) -> Stream {
        let resp = request(t, token, last_event_id, query).await;
        assert_eq!(resp.status(), 200);
        let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        Stream {
            resp,
            buf: String::new(),
        }
    }

    /// The next event or comment, or `None` after `wait`.
    async fn next_said(&mut self, wait: Duration) -> Option<Said> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let frame: String = self.buf.drain(..end + 2).collect();
                if let Some(said) = parse(&frame) {
                    return Some(said);
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

    /// The next event (comments skipped), or `None` after `wait`.
    async fn next(&mut self, wait: Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_said(left).await? {
                Said::Event(e) => return Some(e),
                Said::Comment(_) => continue,
            }
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

    /// Everything said (keepalives left out) up to and including the event
    /// of conversation `last` named `name`, then whatever else comes within
    /// 300 ms (which should be nothing).
    async fn said_until(&mut self, name: &str, last: &str) -> Vec<Said> {
        let mut out = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let said = self
                .next_said(left)
                .await
                .unwrap_or_else(|| panic!("no {name} of {last} in {out:?}"));
            let done = matches!(&said, Said::Event(e) if e.event == name && e.data["conversation_id"] == last);
            if !matches!(&said, Said::Comment(c) if c == "keepalive") {
                out.push(said);
            }
            if done {
                break;
            }
        }
        while let Some(said) = self.next_said(Duration::from_millis(300)).await {
            out.push(said);
        }
        out
    }
}

fn parse(frame: &str) -> Option<Said> {
    let (mut id, mut event, mut data) = (None, None, String::new());
    for line in frame.lines() {
        if let Some(v) = line.strip_prefix(": ") {
            return Some(Said::Comment(v.to_owned()));
        } else if let Some(v) = line.strip_prefix("id: ") {
            id = Some(v.to_owned());
        } else if let Some(v) = line.strip_prefix("event: ") {
            event = Some(v.to_owned());
        } else if let Some(v) = line.strip_prefix("data: ") {
            data.push_str(v);
        }
    }
    Some(Said::Event(Sse {
        id,
        event: event?,
        data: serde_json::from_str(&data).expect("data is JSON"),
    }))
}

/// `name:conversation_id` (or `name:agent_id:status` for a status change) of each
/// event, and `: comment` for each comment.
fn summary(said: &[Said]) -> Vec<String> {
    said.iter()
        .map(|s| match s {
            Said::Comment(c) => format!(": {c}"),
            Said::Event(e) if e.event == "agent.status" => {
                format!(
                    "agent.status:{}:{}",
                    e.data["agent_id"].as_str().unwrap(),
                    e.data["status"].as_str().unwrap()
                )
            }
            Said::Event(e) => format!(
                "{}:{}",
                e.event,
                e.data["conversation_id"].as_str().unwrap_or("-")
            ),
        })
        .collect()
}

/// The ids of the events said, as sent.
fn ids(said: &[Said]) -> Vec<u64> {
    said.iter()
        .filter_map(|s| match s {
            Said::Event(e) => Some(
                e.id.as_deref()
                    .expect("an id: line")
                    .parse()
                    .expect("a number"),
            ),
            Said::Comment(_) => None,
        })
        .collect()
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

#[tokio::test]
async fn a_resume_after_a_disconnect_receives_exactly_the_missed_events_in_order_then_live_ones() {
    // Arrange: a subscriber saw b1's assignment, then lost its connection
    // while b2 and b3 were routed.
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    let mut first = Stream::open(&t, &t.s.service).await;
    let b1 = cid(&t.inquire("b1").await);
    let seen = first.next_named("conversation.assigned").await;
    drop(first);
    let b2 = cid(&t.inquire("b2").await);
    let b3 = cid(&t.inquire("b3").await);

    // Act
    let seen_id = seen.id.expect("an id: line");
    let mut resumed = Stream::resume(&t, &t.s.service, &seen_id).await;
    let b4 = cid(&t.inquire("b4").await);

    // Assert
    assert_eq!(seen.data["conversation_id"], b1.as_str());
    let said = resumed.said_until("conversation.assigned", &b4).await;
    assert_eq!(
        summary(&said),
        [
            format!("conversation.assigned:{b2}"),
            format!("conversation.assigned:{b3}"),
            format!("conversation.assigned:{b4}"),
        ]
    );
    let ids = ids(&said);
    let seen_id: u64 = seen_id.parse().unwrap();
    assert!(
        ids[0] > seen_id && ids.windows(2).all(|w| w[0] < w[1]),
        "{ids:?} after {seen_id}"
    );
}

#[tokio::test]
async fn an_agents_resume_contains_only_its_own_events() {
    // Arrange: a2 saw its own status change, then lost its connection while
    // both agents' statuses changed and b1 went to a1, b2 to a2.
    let t = TestShop::start("shop");
    t.agents(&["a1", "a2"]).await;
    let mut first = Stream::open(&t, &t.s.agent("a2")).await;
    t.status("a2", "busy").await;
    let seen = first.next_named("agent.status").await;
    drop(first);
    t.status("a1", "online").await;
    let b1 = t.inquire("b1").await;
    t.status("a2", "online").await;
    t.status("a1", "offline").await;
    let b2 = t.inquire("b2").await;
    let seen_id = seen.id.expect("an id: line");

    // Act
    let mut mine = Stream::resume(&t, &t.s.agent("a2"), &seen_id).await;
    let mut everything = Stream::resume(&t, &t.s.service, &seen_id).await;

    // Assert
    assert_eq!(b1["agent_id"], "a1");
    assert_eq!(b2["agent_id"], "a2");
    let b1 = cid(&b1);
    let b2 = cid(&b2);
    assert_eq!(
        summary(&mine.said_until("conversation.assigned", &b2).await),
        [
            "agent.status:a2:online".to_owned(),
            format!("conversation.assigned:{b2}")
        ]
    );
    assert_eq!(
        summary(&everything.said_until("conversation.assigned", &b2).await),
        [
            "agent.status:a1:online".to_owned(),
            format!("conversation.assigned:{b1}"),
            "agent.status:a2:online".to_owned(),
            "agent.status:a1:offline".to_owned(),
            format!("conversation.assigned:{b2}"),
        ]
    );
}

#[tokio::test]
async fn a_malformed_last_event_id_is_refused_with_400_and_changes_nothing() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    t.inquire("b1").await;
    let before = t.app.get(&t.path("/agents"), &t.s.admin).await;

    // Act
    let mut refused = Vec::new();
    for bad in [
        "abc",
        "1-2-3",
        "-1",
        "1-",
        "0x10",
        "1.5",
        "18446744073709551616",
    ] {
        refused.push((
            bad,
            Answer::read(request(&t, &t.s.service, Some(bad), "").await).await,
        ));
    }
    for query in ["?last_event_id=abc", "?last_event_id=%2B5", "?since=1"] {
        refused.push((
            query,
            Answer::read(request(&t, &t.s.service, None, query).await).await,
        ));
    }

    // Assert
    for (bad, answer) in &refused {
        assert_eq!(answer.status, 400, "{bad}: {:?}", answer.body);
        assert_error(answer, 400, "invalid_request");
    }
    let after = t.app.get(&t.path("/agents"), &t.s.admin).await;
    assert_eq!(before.body, after.body);
    let mut fine = Stream::resume(&t, &t.s.service, "0").await;
    assert_eq!(
        fine.next_named("conversation.assigned").await.data["agent_id"],
        "a1"
    );
}

#[tokio::test]
async fn resuming_from_the_newest_id_sends_nothing_old() {
    // Arrange: the subscriber saw everything up to b2's assignment.
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    let mut first = Stream::open(&t, &t.s.service).await;
    t.inquire("b1").await;
    let b2 = cid(&t.inquire("b2").await);
    let newest = loop {
        let e = first.next_named("conversation.assigned").await;
        if e.data["conversation_id"] == b2.as_str() {
            break e.id.expect("an id: line");
        }
    };
    drop(first);

    // Act
    let mut resumed = Stream::resume(&t, &t.s.service, &newest).await;
    let b3 = cid(&t.inquire("b3").await);

    // Assert
    assert_eq!(
        summary(&resumed.said_until("conversation.assigned", &b3).await),
        [format!("conversation.assigned:{b3}")]
    );
}

#[tokio::test]
async fn the_last_event_id_query_parameter_resumes_like_the_header_and_the_header_wins() {
    // Arrange: three assignments, seen by a subscriber.
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    let mut first = Stream::open(&t, &t.s.service).await;
    let convs: Vec<String> = [
        cid(&t.inquire("b1").await),
        cid(&t.inquire("b2").await),
        cid(&t.inquire("b3").await),
    ]
    .into();
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(
            first
                .next_named("conversation.assigned")
                .await
                .id
                .expect("an id: line"),
        );
    }
    drop(first);

    // Act
    let mut by_query = Stream::open_at(
        &t,
        &t.s.service,
        None,
        &format!("?last_event_id={}", seen[0]),
    )
    .await;
    let mut by_both = Stream::open_at(
        &t,
        &t.s.service,
        Some(&seen[1]),
        &format!("?last_event_id={}", seen[0]),
    )
    .await;

    // Assert
    assert_eq!(
        summary(
            &by_query
                .said_until("conversation.assigned", &convs[2])
                .await
        ),
        [
            format!("conversation.assigned:{}", convs[1]),
            format!("conversation.assigned:{}", convs[2])
        ]
    );
    assert_eq!(
        summary(&by_both.said_until("conversation.assigned", &convs[2]).await),
        [format!("conversation.assigned:{}", convs[2])]
    );
}

#[tokio::test]
async fn a_resume_older_than_what_the_shop_keeps_is_told_what_it_missed_then_gets_what_is_kept() {
    // Arrange: the node keeps 3 events per shop; the subscriber saw b1's
    // assignment, then 5 more were published.
    let t = TestShop::start_keeping("shop", 3);
    t.online_agents(&["a1"]).await;
    let mut first = Stream::open(&t, &t.s.service).await;
    t.inquire("b1").await;
    let seen = first
        .next_named("conversation.assigned")
        .await
        .id
        .expect("an id: line");
    drop(first);
    let mut convs = Vec::new();
    for b in ["b2", "b3", "b4", "b5", "b6"] {
        convs.push(cid(&t.inquire(b).await));
    }

    // Act
    let mut resumed = Stream::resume(&t, &t.s.service, &seen).await;
    let b7 = cid(&t.inquire("b7").await);

    // Assert
    assert_eq!(
        summary(&resumed.said_until("conversation.assigned", &b7).await),
        [
            format!(": missed events after {seen}"),
            "stream.gap:-".to_owned(),
            format!("conversation.assigned:{}", convs[2]),
            format!("conversation.assigned:{}", convs[3]),
            format!("conversation.assigned:{}", convs[4]),
            format!("conversation.assigned:{b7}"),
        ]
    );
}

#[tokio::test]
async fn an_id_the_shops_stream_never_reached_gets_a_notice_then_every_kept_event() {
    // Arrange: say, an id from before the node restarted (its stream starts
    // again at 1).
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    let b1 = cid(&t.inquire("b1").await);

    // Act
    let mut resumed = Stream::resume(&t, &t.s.service, "99999").await;
    let said = resumed.said_until("conversation.assigned", &b1).await;

    // Assert: the notice is also an event, for clients that see no comments.
    let gap = said.iter().find_map(|s| match s {
        Said::Event(e) if e.event == "stream.gap" => Some(e),
        _ => None,
    });
    let gap = gap.expect("a stream.gap event");
    assert_eq!(gap.data, json!({"after": "99999"}));
    assert_eq!(gap.id, None, "a notice moves no resume point");
    assert_eq!(
        summary(&said),
        [
            ": missed events after 99999".to_owned(),
            "stream.gap:-".to_owned(),
            "agent.status:a1:online".to_owned(),
            format!("conversation.assigned:{b1}"),
        ]
    );
}

#[tokio::test]
async fn offers_are_published_as_offered_declined_then_assigned() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1", "a2"]).await;
    t.routing(json!({"assignment": {"mode": "offer", "offer_timeout_secs": 30}}))
        .await;
    let mut events = Stream::open(&t, &t.s.service).await;

    // Act: the first agent offered rejects; the second accepts.
    let c = cid(&t.inquire("b1").await);
    let first = events.next_named("conversation.offered").await;
    assert_eq!(t.act(&c, "reject", json!({})).await.status, 200);
    let declined = events.next_named("conversation.offer_declined").await;
    let second = events.next_named("conversation.offered").await;
    assert_eq!(t.act(&c, "accept", json!({})).await.status, 200);
    let assigned = events.next_named("conversation.assigned").await;

    // Assert
    assert_eq!(first.data["conversation_id"], json!(c));
    assert_eq!(first.data["timeout_secs"], 30);
    assert_eq!(
        (&declined.data["agent_id"], &declined.data["cause"]),
        (&first.data["agent_id"], &json!("rejected"))
    );
    assert_ne!(second.data["agent_id"], first.data["agent_id"]);
    assert_eq!(assigned.data["agent_id"], second.data["agent_id"]);
}
