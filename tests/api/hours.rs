//! Business hours (spec section 9) through the HTTP API: a closed shop
//! queues new inquiries with reason `closed` and the next opening, or sends
//! them to offline routing; reopening drains the queue.

use chrono::{Duration as Days, FixedOffset, Utc};
use serde_json::{json, Value};

use crate::helpers::{assert_error, cid, TestShop};

/// Today and tomorrow in the shop's timezone (+08:00), `YYYY-MM-DD`.
fn today_and_tomorrow() -> (String, String) {
    let local = Utc::now().with_timezone(&FixedOffset::east_opt(8 * 3600).unwrap());
    let today = local.date_naive();
    (today.to_string(), (today + Days::days(1)).to_string())
}

/// Open all day every day, but closed today.
fn closed_today() -> Value {
    let all_day = json!([["00:00", "24:00"]]);
    let (today, _) = today_and_tomorrow();
    json!({
        "weekly": {"mon": all_day, "tue": all_day, "wed": all_day, "thu": all_day,
                   "fri": all_day, "sat": all_day, "sun": all_day},
        "closed_dates": [today],
    })
}

#[tokio::test]
async fn a_closed_shop_queues_with_reason_closed_and_the_next_opening() {
    let t = TestShop::start("closed");
    t.online_agents(&["a1"]).await;
    let routing = t.routing(json!({"hours": closed_today()})).await;

    let asked = t.inquire("b1").await;

    assert_eq!(
        routing["hours"]["closed_dates"],
        closed_today()["closed_dates"]
    );
    assert_eq!(
        (&asked["status"], &asked["reason"]),
        (&json!("queued"), &json!("closed"))
    );
    let (_, tomorrow) = today_and_tomorrow();
    let opens: chrono::DateTime<FixedOffset> =
        chrono::DateTime::parse_from_rfc3339(asked["opens_at"].as_str().unwrap()).unwrap();
    let local = opens.with_timezone(&FixedOffset::east_opt(8 * 3600).unwrap());
    assert_eq!(
        local.format("%Y-%m-%d %H:%M").to_string(),
        format!("{tomorrow} 00:00")
    );
    let seen = t.conversation(&cid(&asked)).await;
    assert_eq!(
        (&seen["reason"], &seen["opens_at"]),
        (&json!("closed"), &asked["opens_at"])
    );
}

#[tokio::test]
async fn a_closed_shop_with_offline_agents_routes_to_them() {
    let t = TestShop::start("closed-offline");
    t.online_agents(&["a1"]).await;
    t.agents(&["night"]).await;
    t.routing(json!({"hours": closed_today(), "offline": {"agents": ["night"]}}))
        .await;

    let asked = t.inquire("b1").await;

    assert_eq!(
        (&asked["agent_id"], &asked["reason"]),
        (&json!("night"), &json!("offline"))
    );
    assert_eq!(asked["offline_delivery"], true);
}

#[tokio::test]
async fn opening_the_shop_drains_the_queue() {
    let t = TestShop::start("reopen");
    t.online_agents(&["a1"]).await;
    t.routing(json!({"hours": closed_today()})).await;
    let waiting = t.inquire("b1").await;

    t.routing(json!({})).await;

    let seen = t.conversation(&cid(&waiting)).await;
    assert_eq!(
        (&seen["status"], &seen["agent_id"]),
        (&json!("active"), &json!("a1"))
    );
    assert!(seen.get("opens_at").is_none());
}

#[tokio::test]
async fn bad_hours_are_400_and_change_nothing() {
    let t = TestShop::start("bad-hours");
    let before = t.app.get(&t.path("/routing"), &t.s.admin).await.body;
    for hours in [
        json!({"weekly": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}}),
        json!({"weekly": {"mon": [["18:00", "09:00"]]}}),
        json!({"weekly": {"mon": [["09:00", "25:00"]]}}),
        json!({"weekly": {"mon": [["9:00", "12:00"]]}}),
        json!({"weekly": {"mon": [["09:00"]]}}),
        json!({"weekly": {"monday": []}}),
        json!({"closed_dates": ["2026-02-30"]}),
        json!(null),
    ] {
        let a = t
            .app
            .put(&t.path("/routing"), &t.s.admin, json!({"hours": hours}))
            .await;
        assert_error(&a, 400, "invalid_request");
    }
    let after = t.app.get(&t.path("/routing"), &t.s.admin).await.body;
    assert_eq!(after, before);
    assert!(after.get("hours").is_none(), "always open: not shown");
}
