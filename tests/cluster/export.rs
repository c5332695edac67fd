//! The day's record in cluster mode (spec §10): what every owner of the day
//! acknowledged is in `GET /export`, each once, across kill -9 of the owner;
//! the new owner's `start` line follows the old one's.

use fenliu_suite::cluster::Cluster;
use fenliu_suite::ShopFixture;
use serde_json::{json, Value};

use super::{owner, post, staff, TTL_MS};

/// The export's lines, read through node `i`.
async fn export(c: &Cluster, i: usize, s: &ShopFixture) -> Vec<Value> {
    let resp = reqwest::Client::new()
        .get(format!("{}{}", c.nodes[i].url(), s.path("/export")))
        .bearer_auth(&s.admin)
        .send()
        .await
        .expect("export answered");
    assert_eq!(resp.status(), 200);
    let body = resp.text().await.expect("a body");
    body.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn inquiries(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l["kind"] == "inquiry")
        .map(|l| l["inquiry"]["buyer_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_holds_what_each_owner_of_the_day_acknowledged_once() {
    let c = Cluster::start(3, TTL_MS).await;
    let s = ShopFixture::new("export");
    staff(&c, 0, &s, 2, 5).await;
    let ask = |buyer: &str| json!({"buyer_id": buyer, "entry": "live"});
    for b in ["b1", "b2"] {
        let a = post(&c, 0, &s.path("/inquiries"), &s.service, ask(b)).await;
        assert_eq!(a.status, 201, "{:?}", a.body);
    }
    let (old_owner, _) = owner(&c, 0, &s).await;

    // Act: kill -9 the owner; the survivor takes the shop and goes on.
    let victim = c.index_of(&old_owner);
    c.nodes[victim].kill9();
    let survivor = (victim + 1) % 3;
    let a = post(&c, survivor, &s.path("/inquiries"), &s.service, ask("b3")).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    let (new_owner, _) = owner(&c, survivor, &s).await;
    assert_ne!(new_owner, old_owner);

    // Assert: both owners' lines, each inquiry once, two starts in order.
    let lines = export(&c, survivor, &s).await;
    assert_eq!(inquiries(&lines), ["b1", "b2", "b3"]);
    let starts: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i]["kind"] == "start")
        .collect();
    assert_eq!(starts.len(), 2, "{lines:?}");
    assert_eq!(starts[0], 0);
    let second = &lines[starts[1]];
    assert_eq!(
        second["conversations"].as_array().map(Vec::len),
        Some(2),
        "the new owner found b1 and b2 open: {second}"
    );
    let assigned = lines.iter().filter(|l| l["kind"] == "assigned").count();
    assert_eq!(assigned, 3);
    // Any node answers the same record.
    let other = (survivor + 1) % 3;
    if other != victim {
        assert_eq!(export(&c, other, &s).await, lines);
    }
}
