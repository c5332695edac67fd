//! `GET /export` (spec §10): a day's record as JSON lines that read back as
//! the core's facts, in order, for the admin and the supervisor only, and
//! that `fenliu sim --replay` decides again as the node did.

use fenliu_core::daylog::{Fact, What};

use crate::helpers::{cid, TestShop};

/// Status, content type and body of a GET.
async fn get_text(t: &TestShop, rest: &str, token: &str) -> (u16, String, String) {
    let resp = t
        .app
        .client
        .get(format!("{}{}", t.app.address, t.path(rest)))
        .bearer_auth(token)
        .send()
        .await
        .expect("request sent");
    let status = resp.status().as_u16();
    let kind = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, kind, resp.text().await.unwrap_or_default())
}

fn facts(body: &str) -> Vec<Fact> {
    body.lines()
        .map(|l| serde_json::from_str::<Fact>(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn today() -> String {
    // The shop's default timezone is +08:00.
    (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y-%m-%d")
        .to_string()
}

#[tokio::test]
async fn the_export_holds_the_days_inputs_and_outcomes_in_order() {
    // Arrange
    let t = TestShop::start("export-day");
    t.agents(&["a1"]).await;
    t.online(&["a1"]).await;
    t.max_load("a1", 1).await;
    let first = cid(&t.inquire("b1").await);
    let second = cid(&t.inquire("b2").await);
    assert_eq!(t.message(&first, "agent").await.status, 200);
    t.end(&first).await;

    // Act
    let (status, kind, body) = get_text(&t, "/export", &t.s.admin).await;

    // Assert
    assert_eq!(status, 200, "{body}");
    assert_eq!(kind, "application/x-ndjson");
    assert!(body.ends_with('\n'));
    let facts = facts(&body);
    assert!(matches!(facts[0].what, What::Start(_)), "{:?}", facts[0]);
    assert!(facts.windows(2).all(|w| w[0].at <= w[1].at));
    let kinds: Vec<String> = body
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"].to_string())
        .collect();
    for kind in [
        "agent", "status", "max_load", "inquiry", "assigned", "queued", "message", "end", "ended",
    ] {
        assert!(
            kinds.contains(&format!("\"{kind}\"")),
            "{kind} in {kinds:?}"
        );
    }
    let inquired: Vec<(String, String)> = facts
        .iter()
        .filter_map(|f| match &f.what {
            What::Inquiry {
                conversation_id,
                inquiry,
                created: true,
            } => Some((conversation_id.to_string(), inquiry.buyer_id.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(
        inquired.iter().map(|(_, b)| b.as_str()).collect::<Vec<_>>(),
        ["b1", "b2"]
    );
    // b2 waited for a1 and got it when b1's chat ended.
    let assigned: Vec<String> = facts
        .iter()
        .filter_map(|f| match &f.what {
            What::Assigned {
                conversation_id, ..
            } => Some(conversation_id.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(assigned, [first.clone(), second.clone()]);

    // The same day named, and the supervisor, answer the same.
    let (status, _, dated) =
        get_text(&t, &format!("/export?date={}", today()), &t.s.supervisor).await;
    assert_eq!((status, dated.as_str()), (200, body.as_str()));
}

#[tokio::test]
async fn a_node_keeping_the_log_zero_days_keeps_none_and_exports_no_lines() {
    // Arrange
    let t = TestShop::start_logging_days("export-off", 0);
    t.agents(&["a1"]).await;
    t.online(&["a1"]).await;
    let first = cid(&t.inquire("b1").await);
    t.end(&first).await;

    // Act
    let (status, _, body) = get_text(&t, "/export", &t.s.admin).await;

    // Assert
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "");
}

#[tokio::test]
async fn another_day_answers_no_lines_and_a_bad_date_is_refused() {
    let t = TestShop::start("export-days");
    t.agents(&["a1"]).await;
    let (status, _, body) = get_text(&t, "/export?date=2020-01-01", &t.s.admin).await;
    assert_eq!((status, body.as_str()), (200, ""));
    for bad in ["2026-13-01", "yesterday", "2026-02-30", ""] {
        let (status, _, body) = get_text(&t, &format!("/export?date={bad}"), &t.s.admin).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, _, body) = get_text(&t, "/export?day=2026-01-01", &t.s.admin).await;
    assert_eq!(status, 400, "unknown parameter: {body}");
}

#[tokio::test]
async fn only_the_admin_and_the_supervisor_may_export() {
    let t = TestShop::start("export-roles");
    t.agents(&["a1"]).await;
    let a1 = t.s.agent("a1");
    for token in [&t.s.service, &a1] {
        let (status, _, body) = get_text(&t, "/export", token).await;
        assert_eq!(status, 403, "{body}");
    }
    let answer = t.app.get(&t.path("/export"), "not-a-token").await;
    assert_eq!(answer.status, 401);
}

#[tokio::test]
async fn a_replay_of_the_export_under_the_shops_own_settings_places_as_the_node_did() {
    // Arrange: one agent (no tie for a random number to break), two slots,
    // five buyers: two placed at once, three queued, placed as chats end.
    let t = TestShop::start("export-replay");
    t.agents(&["a1"]).await;
    t.online(&["a1"]).await;
    t.max_load("a1", 2).await;
    let mut ids = Vec::new();
    for b in ["b1", "b2", "b3", "b4", "b5"] {
        ids.push(cid(&t.inquire(b).await));
    }
    for id in &ids[..4] {
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        assert_eq!(t.message(id, "agent").await.status, 200);
        t.end(id).await;
    }
    let (_, _, body) = get_text(&t, "/export", &t.s.admin).await;
    let routing = t.app.get(&t.path("/routing"), &t.s.admin).await.body;

    // Act
    let export =
        fenliu_sim::replay::Export::parse("export.jsonl", &body).expect("the export reads");
    let own = fenliu_sim::replay::parse_variant(
        "own",
        "routing.json",
        &routing.to_string(),
        export.start.routing.timezone,
    )
    .expect("GET /routing reads as a variant");
    let outcome = fenliu_sim::replay::replay(&export, &[own], 1);

    // Assert
    let recorded = &outcome.recorded_placements;
    assert_eq!(recorded.len(), 5);
    assert!(recorded.iter().all(Option::is_some), "{recorded:?}");
    assert!(
        recorded[4].as_ref().unwrap().wait_ms >= 90,
        "b5 waited for three ends"
    );
    assert_eq!(&outcome.runs[0].placements, recorded);
}
