//! Routing semantics (spec section 2): recent contact, rules, overflow,
//! offline routing and the three pick strategies.

use serde_json::{json, Value};

use crate::helpers::{cid, TestShop};

fn rule(when: Value, agents: &[&str], groups: &[&str]) -> Value {
    json!({"when": when, "to": {"agents": agents, "groups": groups}})
}

#[tokio::test]
async fn routing_settings_default_to_the_documented_values() {
    // Arrange
    let t = TestShop::start("shop");

    // Act
    let got = t.app.get(&t.path("/routing"), &t.s.service).await;

    // Assert
    assert_eq!(got.status, 200);
    assert_eq!(
        got.body,
        json!({
            "strategy": "least_saturation",
            "queue": {"enabled": true, "order": "fifo"},
            "recent_contact": {"enabled": true, "window_secs": 259200, "within_max_load": true},
            "rules": [],
            "overflow": "any_online",
            "offline": {"agents": []},
            "busy_threshold": 4,
            "timers": {"reply_target_secs": 180, "auto_end_secs": 900,
                       "reply_window_secs": 259200, "proactive_window_secs": 2592000},
            "leaderboard_visible": true,
            "timezone": "+08:00",
            "assignment": {"mode": "direct", "offer_timeout_secs": 30}
        })
    );
}

#[tokio::test]
async fn put_routing_replaces_the_settings_and_absent_fields_take_defaults() {
    // Arrange
    let t = TestShop::start("shop");
    t.routing(json!({"strategy": "even", "busy_threshold": 9}))
        .await;

    // Act
    let put = t.routing(json!({"queue": {"order": "lifo"}})).await;

    // Assert
    assert_eq!(put["strategy"], "least_saturation");
    assert_eq!(put["busy_threshold"], 4);
    assert_eq!(put["queue"], json!({"enabled": true, "order": "lifo"}));
    let got = t.app.get(&t.path("/routing"), &t.s.supervisor).await;
    assert_eq!(got.body, put);
}

#[tokio::test]
async fn returning_buyer_goes_to_recent_agent_before_rules_and_saturation() {
    // Arrange: b1 was served by a1; a1 now carries another buyer, a2 is
    // idle, and a rule sends product_detail to a2.
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    let first = t.inquire("b1").await;
    t.end(&cid(&first)).await;
    t.inquire("b0").await;
    t.online_agents(&["a2"]).await;
    t.routing(json!({"rules": [rule(json!({"entry": "product_detail"}), &["a2"], &[])]}))
        .await;

    // Act
    let again = t.inquire("b1").await;

    // Assert
    assert_eq!(again["agent_id"], "a1");
    assert_eq!(again["reason"], "recent_contact");
    assert_ne!(cid(&again), cid(&first));
}

#[tokio::test]
async fn recent_agent_not_online_falls_through_to_the_normal_pick() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    t.end(&cid(&t.inquire("b1").await)).await;
    t.online_agents(&["a2"]).await;
    t.status("a1", "busy").await;

    // Act
    let again = t.inquire("b1").await;

    // Assert
    assert_eq!(again["agent_id"], "a2");
    assert_eq!(again["reason"], "default");
}

#[tokio::test]
async fn recent_contact_within_max_load_skips_a_saturated_recent_agent() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1", "a2"]).await;
    t.max_load("a1", 1).await;
    t.max_load("a2", 1).await;
    let first = t.inquire("b1").await;
    let recent = first["agent_id"].as_str().unwrap().to_owned();
    let other = if recent == "a1" { "a2" } else { "a1" };
    t.end(&cid(&first)).await;
    // The recent agent is full again with somebody else.
    t.routing(json!({"rules": [rule(json!({"question": "fill"}), &[&recent], &[])]}))
        .await;
    let filler = t.inquire_with("b0", json!({"question": "fill"})).await;
    assert_eq!(filler.body["agent_id"], recent.as_str());

    // Act
    let again = t.inquire("b1").await;

    // Assert
    assert_eq!(again["agent_id"], other);
    assert_eq!(again["reason"], "default");
}

#[tokio::test]
async fn recent_contact_without_within_max_load_goes_beyond_max_load() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    t.max_load("a1", 1).await;
    t.end(&cid(&t.inquire("b1").await)).await;
    t.inquire("b0").await;
    t.online_agents(&["a2"]).await;
    t.routing(json!({"recent_contact": {"within_max_load": false}}))
        .await;

    // Act
    let again = t.inquire("b1").await;

    // Assert
    assert_eq!(again["agent_id"], "a1");
    assert_eq!(again["reason"], "recent_contact");
    assert_eq!(t.agent("a1").await["load"], 2);
}

#[tokio::test]
async fn recent_contact_disabled_routes_a_returning_buyer_like_anyone() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    t.end(&cid(&t.inquire("b1").await)).await;
    t.inquire("b0").await;
    t.online_agents(&["a2"]).await;
    t.routing(json!({"recent_contact": {"enabled": false}}))
        .await;

    // Act
    let again = t.inquire("b1").await;

    // Assert
    assert_eq!(again["agent_id"], "a2");
    assert_eq!(again["reason"], "default");
}

#[tokio::test]
async fn a_rule_on_entry_sends_that_entry_to_its_agents() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1", "a2"]).await;
    t.routing(json!({"rules": [rule(json!({"entry": "order_detail"}), &["a2"], &[])]}))
        .await;

    // Act
    let mut to = Vec::new();
    for b in ["b1", "b2", "b3"] {
        let a = t.inquire_with(b, json!({"entry": "order_detail"})).await;
        to.push((a.body["agent_id"].clone(), a.body["reason"].clone()));
    }
    let other = t.inquire_with("b4", json!({"entry": "live"})).await;

    // Assert
    for (agent, reason) in to {
        assert_eq!(agent, "a2");
        assert_eq!(reason, "rule");
    }
    assert_eq!(other.body["agent_id"], "a1");
    assert_eq!(other.body["reason"], "default");
}

#[tokio::test]
async fn a_rule_on_entry_and_question_needs_both_to_match() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1", "a2"]).await;
    t.max_load("a1", 50).await;
    t.routing(json!({"rules": [rule(
        json!({"entry": "product_detail", "question": "发什么快递"}),
        &["a2"],
        &[],
    )]}))
    .await;
    // a2 carries one conversation, so an unmatched inquiry prefers a1.
    t.inquire_with("b0", json!({"question": "发什么快递"}))
        .await;

    // Act
    let matched = t
        .inquire_with("b1", json!({"question": "发什么快递"}))
        .await;
    let other_entry = t
        .inquire_with("b2", json!({"entry": "live", "question": "发什么快递"}))
        .await;
    let other_question = t.inquire_with("b3", json!({"question": "尺码"})).await;

    // Assert
    assert_eq!(matched.body["agent_id"], "a2");
    assert_eq!(matched.body["reason"], "rule");
    assert_eq!(other_entry.body["agent_id"], "a1");
    assert_eq!(other_entry.body["reason"], "default");
    assert_eq!(other_question.body["agent_id"], "a1");
}

#[tokio::test]
async fn a_rule_on_order_state_sends_to_the_members_of_its_group() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1", "a2", "a3"]).await;
    t.group("aftersale", &["a2", "a3"]).await;
    t.routing(json!({"rules": [rule(json!({"order_state": "after_sale"}), &[], &["aftersale"])]}))
        .await;

    // Act
    let mut agents = Vec::new();
    for b in ["b1", "b2", "b3", "b4"] {
        let a = t
            .inquire_with(b, json!({"order_state": "after_sale"}))
            .await;
        assert_eq!(a.body["reason"], "rule");
        agents.push(a.body["agent_id"].as_str().unwrap().to_owned());
    }

    // Assert
    agents.sort();
    assert_eq!(agents, ["a2", "a2", "a3", "a3"]);
}

#[tokio::test]
async fn a_rule_on_product_id_binds_a_group_to_a_product() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1", "a2"]).await;
    t.put_agent("a2", json!({"groups": ["phones"]})).await;
    t.routing(json!({"rules": [rule(json!({"product_id": "sku-42"}), &[], &["phones"])]}))
        .await;

    // Act
    let matched = t.inquire_with("b1", json!({"product_id": "sku-42"})).await;
    let unmatched = t.inquire_with("b2", json!({"product_id": "sku-43"})).await;

    // Assert
    assert_eq!(matched.body["agent_id"], "a2");
    assert_eq!(matched.body["reason"], "rule");
    assert_eq!(unmatched.body["agent_id"], "a1");
    assert_eq!(unmatched.body["reason"], "default");
}

#[tokio::test]
async fn a_rule_on_intent_sends_to_its_agents() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1", "a2"]).await;
    t.routing(json!({"rules": [rule(json!({"intent": "refund"}), &["a1"], &[])]}))
        .await;
    t.inquire_with("b0", json!({"intent": "refund"})).await;

    // Act
    let matched = t.inquire_with("b1", json!({"intent": "refund"})).await;

    // Assert
    assert_eq!(matched.body["agent_id"], "a1");
    assert_eq!(matched.body["reason"], "rule");
    assert_eq!(t.agent("a1").await["load"], 2);
}

#[tokio::test]
async fn the_first_matching_rule_wins() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1", "a2"]).await;
    t.routing(json!({"rules": [
        rule(json!({"entry": "live", "intent": "refund"}), &["a1"], &[]),
        rule(json!({"entry": "live"}), &["a2"], &[]),
        rule(json!({}), &["a1"], &[]),
    ]}))
    .await;

    // Act
    let first = t
        .inquire_with("b1", json!({"entry": "live", "intent": "refund"}))
        .await;
    let second = t.inquire_with("b2", json!({"entry": "live"})).await;
    let catch_all = t.inquire_with("b3", json!({"entry": "other"})).await;

    // Assert
    assert_eq!(first.body["agent_id"], "a1");
    assert_eq!(second.body["agent_id"], "a2");
    assert_eq!(catch_all.body["agent_id"], "a1");
    assert_eq!(catch_all.body["reason"], "rule");
    let explain = t
        .app
        .get(
            &t.path(&format!("/conversations/{}/explain", cid(&second.body))),
            &t.s.admin,
        )
        .await;
    assert_eq!(explain.body["matched_rule"], 1);
}

#[tokio::test]
async fn a_target_set_with_nobody_online_overflows_to_any_online_agent() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    t.agents(&["a2"]).await;
    t.status("a2", "busy").await;
    t.routing(json!({"rules": [rule(json!({"entry": "live"}), &["a2"], &[])]}))
        .await;

    // Act
    let routed = t.inquire_with("b1", json!({"entry": "live"})).await;

    // Assert
    assert_eq!(routed.status, 201);
    assert_eq!(routed.body["agent_id"], "a1");
    assert_eq!(routed.body["reason"], "overflow");
}

#[tokio::test]
async fn without_overflow_a_target_set_with_nobody_online_queues() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    t.agents(&["a2"]).await;
    t.routing(json!({
        "overflow": "none",
        "rules": [rule(json!({"entry": "live"}), &["a2"], &[])]
    }))
    .await;

    // Act
    let routed = t.inquire_with("b1", json!({"entry": "live"})).await;

    // Assert
    assert_eq!(routed.body["status"], "queued");
    assert_eq!(routed.body["reason"], "queued");
    assert_eq!(routed.body["position"], 1);
}

#[tokio::test]
async fn a_saturated_online_target_set_queues_rather_than_overflowing() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1", "a2"]).await;
    t.max_load("a2", 1).await;
    t.routing(json!({"rules": [rule(json!({"entry": "live"}), &["a2"], &[])]}))
        .await;
    t.inquire_with("b0", json!({"entry": "live"})).await;

    // Act
    let routed = t.inquire_with("b1", json!({"entry": "live"})).await;

    // Assert
    assert_eq!(routed.body["status"], "queued");
    assert_eq!(t.agent("a1").await["load"], 0);
}

#[tokio::test]
async fn with_nobody_online_or_busy_offline_routing_takes_the_least_loaded_proxy() {
    // Arrange
    let t = TestShop::start("shop");
    t.agents(&["p1", "p2", "a1"]).await;
    t.routing(json!({"offline": {"agents": ["p1", "p2"]}}))
        .await;
    let first = t.inquire("b1").await;

    // Act
    let second = t.inquire("b2").await;

    // Assert
    for routed in [&first, &second] {
        assert_eq!(routed["status"], "active");
        assert_eq!(routed["reason"], "offline");
        assert_eq!(routed["offline_delivery"], true);
    }
    assert_ne!(first["agent_id"], second["agent_id"]);
    let conv = t.conversation(&cid(&second)).await;
    assert_eq!(conv["offline_delivery"], true);
}

#[tokio::test]
async fn offline_routing_does_not_apply_while_an_agent_is_busy() {
    // Arrange
    let t = TestShop::start("shop");
    t.agents(&["p1", "a1"]).await;
    t.status("a1", "busy").await;
    t.routing(json!({"offline": {"agents": ["p1"]}})).await;

    // Act
    let routed = t.inquire("b1").await;

    // Assert
    assert_eq!(routed["status"], "queued");
    assert_eq!(routed["offline_delivery"], false);
}

#[tokio::test]
async fn least_saturation_prefers_idle_80_percent_of_30_over_idle_90_percent_of_10() {
    // Arrange: A max 10 load 2 (idle 80%), B max 30 load 3 (idle 90%).
    let t = TestShop::start("shop");
    t.online_agents(&["A", "B"]).await;
    t.max_load("B", 30).await;
    t.routing(json!({"rules": [
        rule(json!({"question": "to-a"}), &["A"], &[]),
        rule(json!({"question": "to-b"}), &["B"], &[]),
    ]}))
    .await;
    for b in ["x1", "x2"] {
        t.inquire_with(b, json!({"question": "to-a"})).await;
    }
    for b in ["y1", "y2", "y3"] {
        t.inquire_with(b, json!({"question": "to-b"})).await;
    }
    assert_eq!(t.agent("A").await["load"], 2);
    assert_eq!(t.agent("B").await["load"], 3);

    // Act
    let routed = t.inquire("z1").await;

    // Assert
    assert_eq!(routed["agent_id"], "B");
    assert_eq!(routed["reason"], "default");
}

#[tokio::test]
async fn even_prefers_the_agent_with_fewest_conversations_assigned_today() {
    // Arrange: A took two conversations today (both ended, load 0);
    // B took one and still has it (load 1).
    let t = TestShop::start("shop");
    t.online_agents(&["A", "B"]).await;
    t.routing(json!({"rules": [
        rule(json!({"question": "to-a"}), &["A"], &[]),
        rule(json!({"question": "to-b"}), &["B"], &[]),
    ]}))
    .await;
    for b in ["x1", "x2"] {
        let a = t.inquire_with(b, json!({"question": "to-a"})).await;
        t.end(&cid(&a.body)).await;
    }
    t.inquire_with("y1", json!({"question": "to-b"})).await;
    t.routing(json!({"strategy": "even"})).await;

    // Act
    let routed = t.inquire("z1").await;

    // Assert
    assert_eq!(routed["agent_id"], "B");
    assert_eq!(t.agent("A").await["assigned_today"], 2);
    assert_eq!(t.agent("B").await["assigned_today"], 2);
}

#[tokio::test]
async fn even_gives_equal_shares_over_a_day() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1", "a2", "a3"]).await;
    t.routing(json!({"strategy": "even"})).await;

    // Act
    for i in 0..9 {
        let a = t.inquire(&format!("b{i}")).await;
        t.end(&cid(&a)).await;
    }

    // Assert
    for a in ["a1", "a2", "a3"] {
        assert_eq!(t.agent(a).await["assigned_today"], 3, "agent {a}");
    }
}

#[tokio::test]
async fn weighted_splits_in_proportion_to_weight() {
    // Arrange
    let t = TestShop::start("shop");
    t.put_agent("light", json!({"weight": 1})).await;
    t.put_agent("heavy", json!({"weight": 3})).await;
    t.online(&["light", "heavy"]).await;
    t.routing(json!({"strategy": "weighted", "recent_contact": {"enabled": false}}))
        .await;

    // Act: each conversation ends at once, so load and unreplied stay at 0.
    let mut heavy = 0;
    let n = 200;
    for i in 0..n {
        let a = t.inquire(&format!("b{i}")).await;
        if a["agent_id"] == "heavy" {
            heavy += 1;
        }
        t.end(&cid(&a)).await;
    }

    // Assert: expected 150 of 200, standard deviation about 6.
    assert!((120..=180).contains(&heavy), "heavy got {heavy} of {n}");
}

#[tokio::test]
async fn weighted_divides_the_weight_of_an_agent_above_the_busy_threshold() {
    // Arrange: a1 has 6 unreplied conversations with threshold 4.
    let t = TestShop::start("shop");
    t.put_agent("a1", json!({"weight": 6})).await;
    t.put_agent("a2", json!({"weight": 6})).await;
    t.online(&["a1"]).await;
    for i in 0..6 {
        t.inquire(&format!("x{i}")).await;
    }
    t.online(&["a2"]).await;
    t.routing(json!({"strategy": "weighted"})).await;

    // Act
    let routed = t.inquire("b1").await;

    // Assert: 6 / (1 + 6 - 4) = 2 for a1, 6 for a2.
    let explain = t
        .app
        .get(
            &t.path(&format!("/conversations/{}/explain", cid(&routed))),
            &t.s.admin,
        )
        .await;
    let weight_of = |id: &str| {
        explain.body["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["agent_id"] == id)
            .map(|a| a["effective_weight"].as_f64().unwrap())
            .unwrap()
    };
    assert_eq!(weight_of("a1"), 2.0);
    assert_eq!(weight_of("a2"), 6.0);
}

#[tokio::test]
async fn in_no_queue_mode_the_recent_agent_takes_its_buyer_beyond_max_load() {
    // Arrange: a1 is b1's recent agent and full; a2 is idle.
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    t.max_load("a1", 1).await;
    t.end(&cid(&t.inquire("b1").await)).await;
    t.inquire("b0").await;
    t.online_agents(&["a2"]).await;
    t.routing(json!({"queue": {"enabled": false}, "recent_contact": {"within_max_load": true}}))
        .await;

    // Act
    let again = t.inquire("b1").await;

    // Assert
    assert_eq!(again["agent_id"], "a1");
    assert_eq!(again["reason"], "recent_contact");
    assert_eq!(t.agent("a1").await["load"], 2);
}

#[tokio::test]
async fn the_recent_contact_lapses_after_its_window() {
    // Arrange
    let t = TestShop::start("shop");
    t.routing(json!({"recent_contact": {"window_secs": 1}}))
        .await;
    t.online_agents(&["a1"]).await;
    t.end(&cid(&t.inquire("b1").await)).await;
    t.inquire("b0").await;
    t.online_agents(&["a2"]).await;

    // Act
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let again = t.inquire("b1").await;

    // Assert
    assert_eq!(again["agent_id"], "a2");
    assert_eq!(again["reason"], "default");
}

#[tokio::test]
async fn a_queued_buyer_goes_to_its_recent_agent_when_that_agent_frees_up() {
    // Arrange: b1's recent agent a1 (the only agent) is full with b0, so b1 waits.
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    t.max_load("a1", 1).await;
    t.end(&cid(&t.inquire("b1").await)).await;
    let c0 = cid(&t.inquire("b0").await);
    let queued = t.inquire("b1").await;
    assert_eq!(queued["status"], "queued");

    // Act
    t.end(&c0).await;

    // Assert
    let c = t.conversation(&cid(&queued)).await;
    assert_eq!(c["agent_id"], "a1");
    assert_eq!(c["reason"], "recent_contact");
}

#[tokio::test]
async fn a_queued_buyer_whose_recent_agent_is_full_goes_to_another_available_agent() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    t.max_load("a1", 1).await;
    t.end(&cid(&t.inquire("b1").await)).await;
    t.inquire("b0").await;
    let queued = t.inquire("b1").await;
    t.agents(&["a2"]).await;

    // Act
    t.online(&["a2"]).await;

    // Assert
    let c = t.conversation(&cid(&queued)).await;
    assert_eq!(c["agent_id"], "a2");
    assert_eq!(c["reason"], "default");
}

#[tokio::test]
async fn putting_a_group_drains_conversations_waiting_for_it() {
    // Arrange: the rule's group is empty and overflow is off.
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    t.group("presale", &[]).await;
    t.routing(json!({
        "overflow": "none",
        "rules": [{"when": {"entry": "live"}, "to": {"groups": ["presale"]}}]
    }))
    .await;
    let queued = t.inquire_with("b1", json!({"entry": "live"})).await;
    assert_eq!(queued.body["status"], "queued");

    // Act
    t.group("presale", &["a1"]).await;

    // Assert
    let c = t.conversation(&cid(&queued.body)).await;
    assert_eq!(c["agent_id"], "a1");
    assert_eq!(c["reason"], "rule");
}
