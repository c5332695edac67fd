//! Agent performance (客服排名, spec section 4): metrics, order, groups,
//! averages and who sees what.

use serde_json::{json, Value};

use crate::helpers::{assert_error, cid, TestShop};

/// a1 receives three buyers (one of them twice), a2 one buyer, a3 nobody.
async fn a_day_of_work() -> TestShop {
    let t = TestShop::start("shop");
    t.online_agents(&["a1", "a2", "a3"]).await;
    t.status("a3", "busy").await;
    t.routing(json!({"rules": [
        {"when": {"question": "a2"}, "to": {"agents": ["a2"]}},
        {"when": {}, "to": {"agents": ["a1"]}},
    ]}))
    .await;
    for b in ["b1", "b2", "b3", "b1"] {
        let a = t.inquire(b).await;
        assert_eq!(a["agent_id"], "a1");
        t.end(&cid(&a)).await;
    }
    let a = t.inquire_with("b4", json!({"question": "a2"})).await;
    assert_eq!(a.body["agent_id"], "a2");
    t
}

fn row<'a>(ranking: &'a Value, agent: &str) -> &'a Value {
    ranking["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["agent_id"] == agent)
        .unwrap_or_else(|| panic!("{agent} not in {ranking}"))
}

fn order_of(ranking: &Value) -> Vec<&str> {
    ranking["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["agent_id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_ranking_defaults_to_receptions_descending() {
    // Arrange
    let t = a_day_of_work().await;

    // Act
    let r = t.app.get(&t.path("/ranking"), &t.s.admin).await;

    // Assert
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = r.body;
    assert_eq!(r["metric"], "receptions");
    assert!(r["date"].as_str().unwrap().len() == 10, "{}", r["date"]);
    assert_eq!(order_of(&r), ["a1", "a2", "a3"]);
    let a1 = row(&r, "a1");
    assert_eq!(a1["receptions"], 3);
    assert_eq!(a1["sessions"], 4);
    assert_eq!(a1["rank"], 1);
    assert_eq!(a1["rank_change"], Value::Null);
    assert_eq!(row(&r, "a2")["rank"], 2);
    assert_eq!(r["average"], 2.0);
}

#[tokio::test]
async fn agents_without_a_reception_today_are_listed_unranked() {
    // Arrange
    let t = a_day_of_work().await;

    // Act
    let r = t.app.get(&t.path("/ranking"), &t.s.admin).await.body;

    // Assert
    let a3 = row(&r, "a3");
    assert_eq!(a3["rank"], Value::Null);
    assert_eq!(a3["receptions"], 0);
    assert_eq!(a3["reply_rate_3m"], Value::Null);
    assert_eq!(a3["satisfaction_rate"], Value::Null);
}

#[tokio::test]
async fn ascending_order_ranks_the_lowest_first() {
    // Arrange
    let t = a_day_of_work().await;

    // Act
    let r = t
        .app
        .get(&t.path("/ranking?metric=sessions&order=asc"), &t.s.admin)
        .await
        .body;

    // Assert
    assert_eq!(r["metric"], "sessions");
    assert_eq!(order_of(&r)[..2], ["a2", "a1"]);
    assert_eq!(row(&r, "a2")["rank"], 1);
    assert_eq!(row(&r, "a1")["rank"], 2);
    assert_eq!(r["average"], 2.5);
}

#[tokio::test]
async fn satisfaction_rate_counts_four_and_five_stars_as_satisfied() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    for (b, stars) in [("b1", 5), ("b2", 4), ("b3", 3), ("b4", 1)] {
        let c = cid(&t.inquire(b).await);
        let rated = t.act(&c, "rating", json!({ "stars": stars })).await;
        assert_eq!(rated.status, 200);
    }

    // Act
    let r = t
        .app
        .get(&t.path("/ranking?metric=satisfaction_rate"), &t.s.admin)
        .await
        .body;

    // Assert
    assert_eq!(row(&r, "a1")["satisfaction_rate"], 0.5);
    assert_eq!(row(&r, "a1")["rank"], 1);
    assert_eq!(r["average"], 0.5);
}

#[tokio::test]
async fn a_group_ranking_lists_only_the_members_of_the_group() {
    // Arrange
    let t = a_day_of_work().await;
    t.group("night", &["a2", "a3"]).await;

    // Act
    let r = t
        .app
        .get(&t.path("/ranking?group=night"), &t.s.supervisor)
        .await
        .body;

    // Assert
    assert_eq!(order_of(&r), ["a2", "a3"]);
    assert_eq!(row(&r, "a2")["rank"], 1);
    assert_eq!(r["average"], 1.0);
}

#[tokio::test]
async fn a_ranking_of_an_unknown_group_is_404() {
    // Arrange
    let t = a_day_of_work().await;

    // Act
    let r = t
        .app
        .get(&t.path("/ranking?group=nobody"), &t.s.admin)
        .await;

    // Assert
    assert_error(&r, 404, "not_found");
}

#[tokio::test]
async fn a_hidden_leaderboard_shows_an_agent_only_its_own_line() {
    // Arrange
    let t = a_day_of_work().await;
    t.routing(json!({"leaderboard_visible": false})).await;

    // Act
    let as_a2 = t.app.get(&t.path("/ranking"), &t.s.agent("a2")).await;
    let as_admin = t.app.get(&t.path("/ranking"), &t.s.admin).await;
    let as_supervisor = t.app.get(&t.path("/ranking"), &t.s.supervisor).await;

    // Assert
    assert_eq!(as_a2.status, 200, "{:?}", as_a2.body);
    assert_eq!(order_of(&as_a2.body), ["a2"]);
    assert_eq!(row(&as_a2.body, "a2")["rank"], 2);
    assert_eq!(order_of(&as_admin.body), ["a1", "a2", "a3"]);
    assert_eq!(order_of(&as_supervisor.body), ["a1", "a2", "a3"]);
}

#[tokio::test]
async fn a_visible_leaderboard_shows_an_agent_everybody() {
    // Arrange
    let t = a_day_of_work().await;

    // Act
    let as_a2 = t.app.get(&t.path("/ranking"), &t.s.agent("a2")).await;

    // Assert
    assert_eq!(as_a2.status, 200);
    assert_eq!(order_of(&as_a2.body), ["a1", "a2", "a3"]);
}

/// Two UTC offsets whose shop days are consecutive right now (and not
/// about to roll over), to make "yesterday" without waiting a day.
fn consecutive_day_offsets() -> (String, String) {
    let now = fenliu_suite::now_secs() as i64;
    let day_and_second = |hours: i64| {
        let local = now + hours * 3600;
        (local.div_euclid(86_400), local.rem_euclid(86_400))
    };
    let safe = |second: i64| (600..86_400 - 600).contains(&second);
    for a in -12..=14_i64 {
        for b in a + 1..=14 {
            let ((da, sa), (db, sb)) = (day_and_second(a), day_and_second(b));
            if db == da + 1 && safe(sa) && safe(sb) {
                let fmt = |h: i64| format!("{}{:02}:00", if h < 0 { '-' } else { '+' }, h.abs());
                return (fmt(a), fmt(b));
            }
        }
    }
    unreachable!("offsets span 26 hours, so two consecutive days always exist")
}

#[tokio::test]
async fn rank_change_compares_with_yesterdays_ranking() {
    // Arrange: "yesterday" a1 received two buyers and a2 one.
    let (yesterday, today) = consecutive_day_offsets();
    let t = TestShop::start("shop");
    t.online_agents(&["a1", "a2"]).await;
    let rules = json!([
        {"when": {"question": "a1"}, "to": {"agents": ["a1"]}},
        {"when": {"question": "a2"}, "to": {"agents": ["a2"]}},
    ]);
    t.routing(json!({"timezone": yesterday, "rules": rules}))
        .await;
    for (b, to) in [("x1", "a1"), ("x2", "a1"), ("x3", "a2")] {
        let a = t.inquire_with(b, json!({"question": to})).await;
        t.end(&cid(&a.body)).await;
    }
    let before = t.app.get(&t.path("/ranking"), &t.s.admin).await.body;
    assert_eq!(order_of(&before), ["a1", "a2"]);

    // Act: the next day a2 receives two buyers and a1 one.
    t.routing(json!({"timezone": today, "rules": rules})).await;
    for (b, to) in [("y1", "a2"), ("y2", "a2"), ("y3", "a1")] {
        t.inquire_with(b, json!({"question": to})).await;
    }
    let after = t.app.get(&t.path("/ranking"), &t.s.admin).await.body;

    // Assert
    assert_ne!(after["date"], before["date"]);
    assert_eq!(order_of(&after), ["a2", "a1"]);
    assert_eq!(row(&after, "a2")["rank_change"], 1);
    assert_eq!(row(&after, "a1")["rank_change"], -1);
    assert_eq!(row(&after, "a1")["receptions"], 1);
    assert_eq!(t.agent("a1").await["assigned_today"], 1);
}
