//! Cluster mode, black box: a private `redis-server` and three `fenliu serve`
//! processes on free ports; nodes are killed, paused and drained for real.

use std::time::{Duration, Instant};

use fenliu_suite::cluster::Cluster;
use fenliu_suite::{Answer, ShopFixture};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

mod availability;
mod export;
mod routing_v2;

const TTL_MS: u64 = 1_500;

async fn put(c: &Cluster, i: usize, path: &str, token: &str, body: Value) -> Answer {
    c.call_until_served(
        i,
        Method::PUT,
        path,
        token,
        Some(body),
        Duration::from_secs(10),
    )
    .await
}

async fn post(c: &Cluster, i: usize, path: &str, token: &str, body: Value) -> Answer {
    c.call_until_served(
        i,
        Method::POST,
        path,
        token,
        Some(body),
        Duration::from_secs(10),
    )
    .await
}

async fn get(c: &Cluster, i: usize, path: &str, token: &str) -> Answer {
    c.call_until_served(i, Method::GET, path, token, None, Duration::from_secs(10))
        .await
}

/// Agents `a1..=n` online with `max_load`, created through node `i`.
async fn staff(c: &Cluster, i: usize, s: &ShopFixture, n: usize, max_load: u32) {
    for k in 1..=n {
        let id = format!("a{k}");
        let a = put(c, i, &s.path(&format!("/agents/{id}")), &s.admin, json!({})).await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        let me = s.agent(&id);
        let a = put(
            c,
            i,
            &s.path(&format!("/agents/{id}/max_load")),
            &me,
            json!({"max_load": max_load}),
        )
        .await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        let a = put(
            c,
            i,
            &s.path(&format!("/agents/{id}/status")),
            &me,
            json!({"status": "online"}),
        )
        .await;
        assert_eq!(a.status, 200, "{:?}", a.body);
    }
}

async fn owner(c: &Cluster, i: usize, s: &ShopFixture) -> (String, u64) {
    let a = get(c, i, &s.path("/owner"), &s.service).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    (
        a.body["node_id"].as_str().unwrap().to_owned(),
        a.body["epoch"].as_u64().unwrap(),
    )
}

fn loads(agents: &Answer) -> Vec<(String, u64, u64)> {
    let mut out: Vec<(String, u64, u64)> = agents.body["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["agent_id"].as_str().unwrap().to_owned(),
                a["load"].as_u64().unwrap(),
                a["max_load"].as_u64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_node_answers_and_all_nodes_agree_on_the_owner() {
    let c = Cluster::start(3, TTL_MS).await;
    let s = ShopFixture::new("agree");
    staff(&c, 1, &s, 1, 5).await;

    let answers: Vec<(String, u64)> =
        futures::future::join_all((0..3).map(|i| owner(&c, i, &s))).await;

    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    for i in 0..3 {
        let a = get(&c, i, &s.path("/agents/a1"), &s.admin).await;
        assert_eq!(a.status, 200);
        assert_eq!(a.body["status"], "online");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_inquiries_over_three_nodes_never_exceed_max_load() {
    let c = Cluster::start(3, TTL_MS).await;
    let s = ShopFixture::new("rush");
    staff(&c, 0, &s, 10, 5).await;

    let answers = futures::future::join_all((0..200).map(|k| {
        let (c, s) = (&c, &s);
        async move {
            post(
                c,
                k % 3,
                &s.path("/inquiries"),
                &s.service,
                json!({"buyer_id": format!("b{k}"), "entry": "live"}),
            )
            .await
        }
    }))
    .await;

    assert!(
        answers.iter().all(|a| a.status == 201),
        "{:?}",
        answers.iter().find(|a| a.status != 201)
    );
    let active = answers
        .iter()
        .filter(|a| a.body["status"] == "active")
        .count();
    assert_eq!(active, 50);
    let agents = get(&c, 2, &s.path("/agents"), &s.service).await;
    for (id, load, max) in loads(&agents) {
        assert_eq!(load, max, "agent {id}");
    }
    let queue = get(&c, 1, &s.path("/queue"), &s.service).await;
    assert_eq!(queue.body["length"], 150);
    // Each active conversation has exactly one agent, and the loads add up.
    let mut ids = std::collections::HashSet::new();
    for a in &answers {
        assert!(ids.insert(a.body["conversation_id"].as_str().unwrap().to_owned()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_owner_loses_nothing_acknowledged() {
    let c = Cluster::start(3, TTL_MS).await;
    let s = ShopFixture::new("rehome");
    staff(&c, 0, &s, 3, 2).await;
    let timers = json!({"timers": {"auto_end_secs": 3}});
    assert_eq!(
        put(&c, 0, &s.path("/routing"), &s.admin, timers)
            .await
            .status,
        200
    );
    let mut conv = Vec::new();
    for k in 1..=8 {
        let a = post(
            &c,
            0,
            &s.path("/inquiries"),
            &s.service,
            json!({"buyer_id": format!("b{k}"), "entry": "live"}),
        )
        .await;
        assert_eq!(a.status, 201);
        conv.push(a.body.clone());
    }
    // b2's agent replies: its auto end is a pending timer at the crash.
    let b2 = conv[1]["conversation_id"].as_str().unwrap().to_owned();
    let r = post(
        &c,
        0,
        &s.path(&format!("/conversations/{b2}/messages")),
        &s.service,
        json!({"from": "agent"}),
    )
    .await;
    assert_eq!(r.status, 200);
    let before_agents = loads(&get(&c, 0, &s.path("/agents"), &s.service).await);
    let before_queue = get(&c, 0, &s.path("/queue"), &s.service).await.body["items"].clone();
    let (old_owner, old_epoch) = owner(&c, 0, &s).await;

    // Act: kill -9 the owner.
    let victim = c.index_of(&old_owner);
    c.nodes[victim].kill9();
    let survivor = (victim + 1) % 3;

    // Assert: a survivor takes over with a higher epoch and the same state.
    let after_agents = loads(&get(&c, survivor, &s.path("/agents"), &s.service).await);
    let (new_owner, new_epoch) = owner(&c, survivor, &s).await;
    assert_ne!(new_owner, old_owner);
    assert!(new_epoch > old_epoch);
    let after_queue = get(&c, survivor, &s.path("/queue"), &s.service).await.body["items"].clone();
    let ids = |items: &Value| -> Vec<Value> {
        items
            .as_array()
            .unwrap()
            .iter()
            .map(|i| json!([i["conversation_id"], i["position"]]))
            .collect()
    };
    assert_eq!(ids(&before_queue), ids(&after_queue));
    // b2 may have auto-ended already: compare loads of the others.
    let total = |l: &Vec<(String, u64, u64)>| l.iter().map(|x| x.1).sum::<u64>();
    assert!(
        total(&after_agents) >= total(&before_agents) - 1,
        "{before_agents:?} {after_agents:?}"
    );
    for k in [0usize, 2, 3, 4, 5] {
        let id = conv[k]["conversation_id"].as_str().unwrap();
        let a = get(
            &c,
            survivor,
            &s.path(&format!("/conversations/{id}")),
            &s.service,
        )
        .await;
        assert_eq!(a.status, 200);
        assert_eq!(a.body["agent_id"], conv[k]["agent_id"], "{id}");
    }
    // The pending auto end fires on the new owner.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let a = get(
            &c,
            survivor,
            &s.path(&format!("/conversations/{b2}")),
            &s.service,
        )
        .await;
        if a.body["status"] == "ended" {
            assert_eq!(a.body["end_reason"], "auto_end");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "auto end never fired: {:?}",
            a.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Recent contact survived: b1's agent gets b1 back.
    let b1 = conv[0]["conversation_id"].as_str().unwrap();
    let b1_agent = conv[0]["agent_id"].as_str().unwrap();
    let raise = put(
        &c,
        survivor,
        &s.path(&format!("/agents/{b1_agent}/max_load")),
        &s.agent(b1_agent),
        json!({"max_load": 20}),
    )
    .await;
    assert_eq!(raise.status, 200);
    assert_eq!(
        post(
            &c,
            survivor,
            &s.path(&format!("/conversations/{b1}/end")),
            &s.service,
            json!({})
        )
        .await
        .status,
        200
    );
    let again = post(
        &c,
        survivor,
        &s.path("/inquiries"),
        &s.service,
        json!({"buyer_id": "b1", "entry": "live"}),
    )
    .await;
    assert_eq!(again.body["reason"], "recent_contact", "{:?}", again.body);
    assert_eq!(again.body["agent_id"], b1_agent);
}

/// Group commit under a crash: the owner is killed while inquiries stream in,
/// so writes are in flight and decided commands wait for the next one.
/// Every acknowledged conversation survives with its agent; every conversation
/// the survivor shows is whole (loads match the agents' conversations) and
/// was asked for. (A write Redis applied just before the kill, whose answer
/// never left the node, may show without having been acknowledged: the
/// caller saw an error and may ask again, which answers `existing`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_owner_with_batches_in_flight_loses_nothing_acknowledged() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    // Arrange
    let c = Arc::new(Cluster::start(3, TTL_MS).await);
    let s = Arc::new(ShopFixture::new("inflight"));
    staff(&c, 0, &s, 4, 50).await;
    let (old_owner, _) = owner(&c, 0, &s).await;
    let victim = c.index_of(&old_owner);
    let acked = Arc::new(AtomicUsize::new(0));

    // Act: 32 callers stream inquiries at the owner; it dies under them.
    let callers: Vec<_> = (0..32)
        .map(|t| {
            let (c, s, acked) = (c.clone(), s.clone(), acked.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                for k in 0..20 {
                    let buyer = format!("t{t}-{k}");
                    let body = json!({"buyer_id": buyer, "entry": "live"});
                    let a = c
                        .call(
                            victim,
                            Method::POST,
                            &s.path("/inquiries"),
                            &s.service,
                            Some(body),
                        )
                        .await;
                    if a.status == StatusCode::CREATED {
                        acked.fetch_add(1, Ordering::SeqCst);
                    }
                    let failed = a.status.is_server_error();
                    answers.push((buyer, a));
                    if failed {
                        break;
                    }
                }
                answers
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    while acked.load(Ordering::SeqCst) < 100 {
        assert!(
            Instant::now() < deadline,
            "the owner answered too few inquiries"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    c.nodes[victim].kill9();
    let mut answers = Vec::new();
    for caller in callers {
        answers.extend(caller.await.unwrap());
    }

    // Assert
    let survivor = (victim + 1) % 3;
    let agents = get(&c, survivor, &s.path("/agents"), &s.service).await;
    assert_eq!(agents.status, 200, "{:?}", agents.body);
    let mut shown = Vec::new();
    for (agent, load, max) in loads(&agents) {
        assert!(load <= max, "{agent} over its max load");
        let theirs = get(
            &c,
            survivor,
            &s.path(&format!("/agents/{agent}/conversations")),
            &s.service,
        )
        .await;
        let list = theirs.body["conversations"].as_array().unwrap().clone();
        assert_eq!(
            list.len() as u64,
            load,
            "{agent}: load and conversations agree"
        );
        shown.extend(list.into_iter().map(|c| {
            (
                c["buyer_id"].as_str().unwrap().to_owned(),
                c["conversation_id"].as_str().unwrap().to_owned(),
                agent.clone(),
            )
        }));
    }
    let asked: std::collections::HashSet<&str> = answers.iter().map(|(b, _)| b.as_str()).collect();
    assert!(
        shown.iter().all(|(b, _, _)| asked.contains(b.as_str())),
        "only what was asked for is shown"
    );
    let acknowledged: Vec<_> = answers
        .iter()
        .filter(|(_, a)| a.status == StatusCode::CREATED)
        .collect();
    assert!(acknowledged.len() >= 100);
    for (buyer, a) in acknowledged {
        let id = a.body["conversation_id"].as_str().unwrap();
        let agent = a.body["agent_id"].as_str().unwrap();
        assert!(
            shown
                .iter()
                .any(|(b, c, g)| b == buyer && c == id && g == agent),
            "acknowledged {id} of {buyer} with {agent} was lost"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_owner_that_lost_its_lease_writes_nothing() {
    let c = Cluster::start(3, TTL_MS).await;
    let s = ShopFixture::new("paused");
    staff(&c, 0, &s, 1, 50).await;
    let first = post(
        &c,
        0,
        &s.path("/inquiries"),
        &s.service,
        json!({"buyer_id": "b1", "entry": "live"}),
    )
    .await;
    assert_eq!(first.status, 201);
    let (old_owner, old_epoch) = owner(&c, 0, &s).await;
    let paused = c.index_of(&old_owner);
    let other = (paused + 1) % 3;

    // Act: freeze the owner past its lease; another node takes the shop.
    c.nodes[paused].pause();
    tokio::time::sleep(Duration::from_millis(TTL_MS + 500)).await;
    let second = post(
        &c,
        other,
        &s.path("/inquiries"),
        &s.service,
        json!({"buyer_id": "b2", "entry": "live"}),
    )
    .await;
    assert_eq!(second.status, 201, "{:?}", second.body);
    let (new_owner, new_epoch) = owner(&c, other, &s).await;
    assert_ne!(new_owner, old_owner);
    c.nodes[paused].resume();
    // The woken node is asked to write at once: it must not, itself.
    let third = post(
        &c,
        paused,
        &s.path("/inquiries"),
        &s.service,
        json!({"buyer_id": "b3", "entry": "live"}),
    )
    .await;

    // Assert: the write went through the new owner, under its epoch.
    assert_eq!(third.status, 201, "{:?}", third.body);
    assert_eq!(owner(&c, other, &s).await, (new_owner, new_epoch));
    assert!(new_epoch > old_epoch);
    let agent = get(&c, other, &s.path("/agents/a1"), &s.service).await;
    assert_eq!(agent.body["load"], 3);
    let ids: Vec<&str> = [&first, &second, &third]
        .iter()
        .map(|a| a.body["conversation_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["c-1", "c-2", "c-3"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_answers_503_then_recovers_everything() {
    let mut c = Cluster::start(2, TTL_MS).await;
    let s = ShopFixture::new("outage");
    staff(&c, 0, &s, 1, 10).await;
    let acked = post(
        &c,
        0,
        &s.path("/inquiries"),
        &s.service,
        json!({"buyer_id": "b1", "entry": "live"}),
    )
    .await;
    assert_eq!(acked.status, 201);
    let id = acked.body["conversation_id"].as_str().unwrap().to_owned();

    // Act: Redis dies.
    c.redis.kill();
    let started = Instant::now();
    let during = c
        .call(
            0,
            Method::POST,
            &s.path("/inquiries"),
            &s.service,
            Some(json!({"buyer_id": "b2", "entry": "live"})),
        )
        .await;
    let took = started.elapsed();
    let ready = c
        .client
        .get(format!("{}/readyz", c.nodes[0].url()))
        .send()
        .await
        .unwrap();

    // Assert: a prompt 503 with Retry-After, and not ready.
    assert_eq!(
        during.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{:?}",
        during.body
    );
    assert!(during.headers.contains_key("retry-after"));
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);

    // Redis comes back from its append-only file.
    c.redis.restart();
    assert!(c.wait_ready(0, Duration::from_secs(15)).await);
    let back = c
        .call_until_served(
            0,
            Method::GET,
            &s.path(&format!("/conversations/{id}")),
            &s.service,
            None,
            Duration::from_secs(15),
        )
        .await;
    assert_eq!(back.status, 200, "{:?}", back.body);
    assert_eq!(back.body["status"], "active");
    let next = post(
        &c,
        1,
        &s.path("/inquiries"),
        &s.service,
        json!({"buyer_id": "b3", "entry": "live"}),
    )
    .await;
    assert_eq!(next.status, 201, "{:?}", next.body);
    let agent = get(&c, 1, &s.path("/agents/a1"), &s.service).await;
    // b2 was refused with 503, so only b1 and b3 count.
    assert_eq!(agent.body["load"], 2, "{:?}", agent.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draining_a_node_moves_its_shops_without_errors() {
    let c = Cluster::start(3, TTL_MS).await;
    let shops: Vec<ShopFixture> = (0..4)
        .map(|k| ShopFixture::new(&format!("drain{k}")))
        .collect();
    for s in &shops {
        staff(&c, 0, s, 1, 50).await;
    }
    let (draining_id, _) = owner(&c, 0, &shops[0]).await;
    let d = c.index_of(&draining_id);
    let others: Vec<usize> = (0..3).filter(|&i| i != d).collect();

    // Act: SIGTERM the owner while traffic flows through the other nodes.
    let traffic = async {
        let mut answers = Vec::new();
        for k in 0..60 {
            let s = &shops[k % shops.len()];
            let i = others[k % others.len()];
            let a = c
                .call(
                    i,
                    Method::POST,
                    &s.path("/inquiries"),
                    &s.service,
                    Some(json!({"buyer_id": format!("b{k}"), "entry": "live"})),
                )
                .await;
            answers.push(a);
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        answers
    };
    let term = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        tokio::task::block_in_place(|| c.nodes[d].terminate())
    };
    let (answers, status) = tokio::join!(traffic, term);

    // Assert: clean exit; every answer is a success or a 503 with Retry-After.
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    for a in &answers {
        let ok = a.status.is_success()
            || (a.status == StatusCode::SERVICE_UNAVAILABLE
                && a.headers.contains_key("retry-after"));
        assert!(ok, "{} {:?}", a.status, a.body);
    }
    for s in &shops {
        let (now_owner, _) = owner(&c, others[0], s).await;
        assert_ne!(now_owner, draining_id);
        let agent = get(&c, others[1], &s.path("/agents/a1"), &s.service).await;
        let acked = answers
            .iter()
            .zip(0..)
            .filter(|(a, k)| a.status == 201 && shops[k % shops.len()].shop == s.shop)
            .count();
        assert_eq!(agent.body["load"], acked as u64, "shop {}", s.shop);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_subscribers_on_every_node() {
    use futures::StreamExt;
    let c = Cluster::start(3, TTL_MS).await;
    let s = ShopFixture::new("events");
    staff(&c, 0, &s, 1, 10).await;
    let (owner_id, _) = owner(&c, 0, &s).await;
    let listener = (c.index_of(&owner_id) + 1) % 3;
    let writer = (c.index_of(&owner_id) + 2) % 3;
    let resp = c
        .client
        .get(format!("{}{}", c.nodes[listener].url(), s.path("/events")))
        .bearer_auth(&s.service)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.bytes_stream();
    // Give the listener's stream reader a moment to start reading.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let routed = post(
        &c,
        writer,
        &s.path("/inquiries"),
        &s.service,
        json!({"buyer_id": "b1", "entry": "live"}),
    )
    .await;
    let id = routed.body["conversation_id"].as_str().unwrap().to_owned();

    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(seen.contains("event: conversation.assigned") && seen.contains(&id)) {
        assert!(Instant::now() < deadline, "no assigned event in {seen:?}");
        if let Ok(Some(Ok(chunk))) = tokio::time::timeout(Duration::from_secs(1), body.next()).await
        {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

/// Reads an SSE body until `done` holds for what was read, or 10 s pass.
async fn read_until<B: AsRef<[u8]>>(
    body: &mut (impl futures::Stream<Item = reqwest::Result<B>> + Unpin),
    done: impl Fn(&str) -> bool,
) -> String {
    use futures::StreamExt;
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(&seen) {
        assert!(Instant::now() < deadline, "stream said only {seen:?}");
        if let Ok(Some(Ok(chunk))) = tokio::time::timeout(Duration::from_secs(1), body.next()).await
        {
            seen.push_str(&String::from_utf8_lossy(chunk.as_ref()));
        }
    }
    seen
}

/// The `id:` of the event whose data names conversation `id`.
fn event_id_of(said: &str, id: &str) -> String {
    said.split("\n\n")
        .find(|frame| frame.contains(&format!("\"conversation_id\":\"{id}\"")))
        .and_then(|frame| frame.lines().find_map(|l| l.strip_prefix("id: ")))
        .unwrap_or_else(|| panic!("no event of {id} in {said:?}"))
        .to_owned()
}

/// The conversation ids of the `conversation.assigned` events, in order.
fn assigned(said: &str) -> Vec<String> {
    said.split("\n\n")
        .filter(|frame| frame.contains("event: conversation.assigned"))
        .filter_map(|frame| {
            let data = frame.lines().find_map(|l| l.strip_prefix("data: "))?;
            let v: Value = serde_json::from_str(data).ok()?;
            Some(v["conversation_id"].as_str()?.to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_resumed_on_another_node_gets_the_missed_events_then_live_ones() {
    // Arrange: a subscriber on one node saw b1's assignment, then lost its
    // connection while b2 and b3 were routed.
    let c = Cluster::start(3, TTL_MS).await;
    let s = ShopFixture::new("resume");
    staff(&c, 0, &s, 1, 10).await;
    let (owner_id, _) = owner(&c, 0, &s).await;
    let first_node = (c.index_of(&owner_id) + 1) % 3;
    let second_node = (c.index_of(&owner_id) + 2) % 3;
    let open = |i: usize, last: Option<String>| {
        let mut req = c
            .client
            .get(format!("{}{}", c.nodes[i].url(), s.path("/events")))
            .bearer_auth(&s.service)
            .timeout(Duration::from_secs(30));
        if let Some(id) = last {
            req = req.header("Last-Event-ID", id);
        }
        req.send()
    };
    let inquire = |buyer: &'static str| {
        let (c, s) = (&c, &s);
        async move {
            let a = post(
                c,
                0,
                &s.path("/inquiries"),
                &s.service,
                json!({"buyer_id": buyer, "entry": "live"}),
            )
            .await;
            assert_eq!(a.status, 201, "{:?}", a.body);
            a.body["conversation_id"].as_str().unwrap().to_owned()
        }
    };
    let resp = open(first_node, None).await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.bytes_stream();
    let b1 = inquire("b1").await;
    let said = read_until(&mut body, |seen| assigned(seen).contains(&b1)).await;
    let seen = event_id_of(&said, &b1);
    drop(body);
    let b2 = inquire("b2").await;
    let b3 = inquire("b3").await;

    // Act
    let resp = open(second_node, Some(seen.clone())).await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.bytes_stream();
    let b4 = inquire("b4").await;

    // Assert
    let said = read_until(&mut body, |seen| assigned(seen).contains(&b4)).await;
    assert_eq!(assigned(&said), [b2, b3, b4], "{said:?}");
    assert!(!said.contains(": missed"), "{said:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_moves_a_shop_to_a_named_node() {
    let c = Cluster::start(3, TTL_MS).await;
    let s = ShopFixture::new("moving");
    staff(&c, 0, &s, 1, 10).await;
    let before = post(
        &c,
        0,
        &s.path("/inquiries"),
        &s.service,
        json!({"buyer_id": "b1", "entry": "live"}),
    )
    .await;
    let (from, epoch) = owner(&c, 0, &s).await;
    let to = c
        .nodes
        .iter()
        .map(|n| n.id.clone())
        .find(|id| *id != from)
        .unwrap();

    let moved = post(&c, 2, &s.path("/move"), &s.admin, json!({"node_id": to})).await;

    assert_eq!(moved.status, 200, "{:?}", moved.body);
    assert_eq!(moved.body["node_id"], to.as_str());
    assert!(moved.body["epoch"].as_u64().unwrap() > epoch);
    assert_eq!(owner(&c, 1, &s).await.0, to);
    let id = before.body["conversation_id"].as_str().unwrap();
    let conv = get(&c, 0, &s.path(&format!("/conversations/{id}")), &s.service).await;
    assert_eq!(conv.body["status"], "active");
    let unknown = c
        .call(
            0,
            Method::POST,
            &s.path("/move"),
            &s.admin,
            Some(json!({"node_id": "nope"})),
        )
        .await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unauthenticated_request_takes_no_lease() {
    let c = Cluster::start(2, TTL_MS).await;

    let refused = c
        .call(
            0,
            Method::GET,
            "/v1/shops/nobody/agents",
            "not-a-token",
            None,
        )
        .await;

    assert_eq!(refused.status, 401);
    let out = std::process::Command::new("redis-cli")
        .args([
            "-p",
            &c.redis.port.to_string(),
            "exists",
            "fenliu:{nobody}:lease",
            "fenliu:{nobody}:epoch",
        ])
        .output()
        .expect("redis-cli");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_on_another_node_misses_no_event() {
    use futures::StreamExt;
    let c = Cluster::start(2, TTL_MS).await;
    let s = ShopFixture::new("nolos");
    staff(&c, 0, &s, 1, 50).await;
    let (owner_id, _) = owner(&c, 0, &s).await;
    let listener = (c.index_of(&owner_id) + 1) % 2;
    let resp = c
        .client
        .get(format!("{}{}", c.nodes[listener].url(), s.path("/events")))
        .bearer_auth(&s.service)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap();
    let mut body = resp.bytes_stream();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Inquiries spread out over several idle read cycles of the stream reader.
    for k in 0..10 {
        post(
            &c,
            k % 2,
            &s.path("/inquiries"),
            &s.service,
            json!({"buyer_id": format!("b{k}"), "entry": "live"}),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.matches("event: conversation.assigned").count() < 10 {
        assert!(Instant::now() < deadline, "missed events: {seen}");
        if let Ok(Some(Ok(chunk))) = tokio::time::timeout(Duration::from_secs(1), body.next()).await
        {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
    for k in 1..=10 {
        assert!(
            seen.contains(&format!("\"conversation_id\":\"c-{k}\"")),
            "c-{k} missing"
        );
    }
}

/// Agent presence in a cluster: a heartbeat sent to any node reaches the
/// owner's agent actor (it is forwarded like any request), a kill -9 of the
/// owner sets nobody offline early (the new owner's clocks start when it
/// takes the shop), and silence is still noticed afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_follows_heartbeats_on_any_node_and_survives_a_takeover() {
    let c = Cluster::start(3, TTL_MS).await;
    let s = ShopFixture::new("presence");
    let a = put(&c, 0, &s.path("/agents/a1"), &s.admin, json!({})).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let a = put(
        &c,
        0,
        &s.path("/routing"),
        &s.admin,
        json!({"presence": {"timeout_secs": 10}}),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let me = s.agent("a1");
    let a = put(
        &c,
        0,
        &s.path("/agents/a1/status"),
        &me,
        json!({"status": "online"}),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let (owner_id, _) = owner(&c, 0, &s).await;
    let victim = c.index_of(&owner_id);
    let (other, survivor) = ((victim + 1) % 3, (victim + 2) % 3);
    let status = |i: usize| {
        let c = &c;
        let s = &s;
        async move {
            get(c, i, &s.path("/agents/a1"), &s.service).await.body["status"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }
    };

    // Heartbeats through a node that does not own the shop keep a1 online
    // past the timeout.
    let until = Instant::now() + Duration::from_secs(13);
    while Instant::now() < until {
        let beat = post(&c, other, &s.path("/agents/a1/heartbeat"), &me, json!({})).await;
        assert_eq!(beat.status, 200, "{:?}", beat.body);
        assert_eq!(beat.body["timeout_secs"], 10);
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    assert_eq!(status(survivor).await, "online");

    // The owner dies; the heartbeats go on through the same node.
    c.nodes[victim].kill9();
    let until = Instant::now() + Duration::from_secs(14);
    while Instant::now() < until {
        let beat = post(&c, other, &s.path("/agents/a1/heartbeat"), &me, json!({})).await;
        assert_eq!(beat.status, 200, "{:?}", beat.body);
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let (new_owner, _) = owner(&c, survivor, &s).await;
    assert_ne!(new_owner, owner_id);
    assert_eq!(
        status(survivor).await,
        "online",
        "set offline across the takeover"
    );

    // Silence: offline within the timeout (and a little).
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut now = status(survivor).await;
    while now != "offline" && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        now = status(survivor).await;
    }
    assert_eq!(
        now, "offline",
        "silence was never noticed after the takeover"
    );
}
