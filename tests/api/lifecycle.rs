//! Conversation lifecycle and timers (spec section 3): repeated inquiries,
//! end, reply clock, reply target, auto end, reply window, transfer,
//! ratings, proactive conversations and order credit.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{assert_error, cid, TestShop, PATIENCE};

/// Every timer at one second, so that tests wait a second, not minutes.
fn short_timers() -> Value {
    json!({"timers": {"reply_target_secs": 1, "auto_end_secs": 1, "reply_window_secs": 1}})
}

#[tokio::test]
async fn repeating_an_inquiry_returns_the_open_conversation_with_200_existing() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    let first = t.inquire("b1").await;

    // Act
    let again = t
        .inquire_with("b1", json!({"entry": "live", "question": "在吗"}))
        .await;

    // Assert
    assert_eq!(again.status, 200);
    assert_eq!(again.body["conversation_id"], first["conversation_id"]);
    assert_eq!(again.body["reason"], "existing");
    assert_eq!(again.body["status"], "active");
    assert_eq!(again.body["agent_id"], "a1");
    assert_eq!(t.agent("a1").await["load"], 1);
}

#[tokio::test]
async fn repeating_a_queued_inquiry_keeps_its_place() {
    // Arrange
    let t = TestShop::start("shop");
    t.inquire("b1").await;
    let first = t.inquire("b2").await;

    // Act
    let again = t.inquire_with("b2", json!({})).await;

    // Assert
    assert_eq!(again.status, 200);
    assert_eq!(again.body["conversation_id"], first["conversation_id"]);
    assert_eq!(again.body["status"], "queued");
    assert_eq!(again.body["position"], 2);
    assert_eq!(t.queue().await["length"], 2);
}

#[tokio::test]
async fn a_conversation_shows_its_inquiry_and_its_assignment() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;

    // Act
    let routed = t
        .inquire_with(
            "买家-01",
            json!({"entry": "order_detail", "question": "发什么快递", "order_state": "unshipped",
                   "product_id": "sku-1", "intent": "shipping"}),
        )
        .await;
    let c = t.conversation(&cid(&routed.body)).await;

    // Assert
    assert_eq!(c["buyer_id"], "买家-01");
    assert_eq!(c["status"], "active");
    assert_eq!(c["agent_id"], "a1");
    assert_eq!(c["entry"], "order_detail");
    assert_eq!(c["question"], "发什么快递");
    assert_eq!(c["order_state"], "unshipped");
    assert_eq!(c["product_id"], "sku-1");
    assert_eq!(c["intent"], "shipping");
    assert_eq!(c["unreplied"], true);
    let created = c["created_at"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.contains('T'), "{created}");
    assert!(c["assigned_at"].is_string());
    assert!(c.get("ended_at").is_none());
}

#[tokio::test]
async fn ending_frees_the_slot_at_once_and_is_idempotent() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    let c1 = cid(&t.inquire("b1").await);

    // Act
    let ended = t.act(&c1, "end", json!({})).await;
    let again = t.act(&c1, "end", json!({})).await;

    // Assert
    assert_eq!(ended.status, 200);
    assert_eq!(ended.body["status"], "ended");
    assert_eq!(ended.body["end_reason"], "service");
    assert_eq!(ended.body["agent_id"], "a1");
    assert!(ended.body["ended_at"].is_string());
    assert_eq!(ended.body["unreplied"], false);
    assert_eq!(again.status, 200);
    assert_eq!(again.body["ended_at"], ended.body["ended_at"]);
    let a1 = t.agent("a1").await;
    assert_eq!(a1["load"], 0);
    assert_eq!(a1["unreplied"], 0);
}

#[tokio::test]
async fn the_owning_agent_ends_with_end_reason_agent() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    let c1 = cid(&t.inquire("b1").await);

    // Act
    let ended = t
        .app
        .post(
            &t.path(&format!("/conversations/{c1}/end")),
            &t.s.agent("a1"),
            json!({}),
        )
        .await;

    // Assert
    assert_eq!(ended.status, 200, "{:?}", ended.body);
    assert_eq!(ended.body["end_reason"], "agent");
}

#[tokio::test]
async fn ending_a_queued_conversation_is_a_conflict() {
    // Arrange
    let t = TestShop::start("shop");
    let q = cid(&t.inquire("b1").await);

    // Act
    let ended = t.act(&q, "end", json!({})).await;

    // Assert
    assert_error(&ended, 409, "conflict");
    assert_eq!(t.conversation(&q).await["status"], "queued");
}

#[tokio::test]
async fn acting_on_an_unknown_conversation_is_404() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;

    // Act
    let got = t
        .app
        .get(&t.path("/conversations/c-999"), &t.s.service)
        .await;
    let ended = t.act("c-999", "end", json!({})).await;
    let message = t.message("c-999", "buyer").await;

    // Assert
    assert_error(&got, 404, "not_found");
    assert_error(&ended, 404, "not_found");
    assert_error(&message, 404, "not_found");
}

#[tokio::test]
async fn the_reply_clock_stops_at_the_agents_reply_and_restarts_at_the_buyers_message() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    let c1 = cid(&t.inquire("b1").await);
    assert_eq!(t.agent("a1").await["unreplied"], 1);

    // Act & Assert
    let replied = t.message(&c1, "agent").await;
    assert_eq!(replied.status, 200, "{:?}", replied.body);
    assert_eq!(replied.body["unreplied"], false);
    assert_eq!(t.agent("a1").await["unreplied"], 0);

    let asked = t.message(&c1, "buyer").await;
    assert_eq!(asked.status, 200);
    assert_eq!(asked.body["unreplied"], true);
    assert_eq!(t.agent("a1").await["unreplied"], 1);

    let asked_again = t.message(&c1, "buyer").await;
    assert_eq!(asked_again.body["unreplied"], true);
    assert_eq!(t.agent("a1").await["unreplied"], 1);
}

#[tokio::test]
async fn a_conversation_unreplied_past_the_target_is_late_at_once() {
    // Arrange: one conversation answered at once, one left unanswered.
    let t = TestShop::start("shop");
    t.routing(short_timers()).await;
    t.online_agents(&["a1"]).await;
    let on_time = cid(&t.inquire("b1").await);
    t.message(&on_time, "agent").await;
    t.inquire("b2").await;

    // Act: the target passes while b2 waits.
    let path = t.path("/ranking?metric=reply_rate_3m");
    let late = t
        .app
        .eventually(PATIENCE, || async {
            let r = t.app.get(&path, &t.s.admin).await;
            r.body["agents"][0]["reply_rate_3m"] == json!(0.5)
        })
        .await;

    // Assert
    assert!(late, "the unreplied conversation never turned late");
}

#[tokio::test]
async fn a_conversation_answered_within_the_target_counts_as_on_time() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    let c1 = cid(&t.inquire("b1").await);

    // Act
    t.message(&c1, "agent").await;

    // Assert
    let r = t
        .app
        .get(&t.path("/ranking?metric=reply_rate_3m"), &t.s.admin)
        .await;
    assert_eq!(r.body["agents"][0]["reply_rate_3m"], 1.0);
}

#[tokio::test]
async fn a_buyer_silent_after_the_agents_reply_is_auto_ended_and_frees_the_slot() {
    // Arrange
    let t = TestShop::start("shop");
    t.routing(short_timers()).await;
    t.online_agents(&["a1"]).await;
    t.max_load("a1", 1).await;
    let c1 = cid(&t.inquire("b1").await);
    let waiting = cid(&t.inquire("b2").await);

    // Act
    t.message(&c1, "agent").await;

    // Assert
    let ended = t
        .eventually_conversation(&c1, |c| c["status"] == "ended")
        .await;
    assert!(ended, "the conversation never auto-ended");
    let c = t.conversation(&c1).await;
    assert_eq!(c["end_reason"], "auto_end");
    let served = t
        .eventually_conversation(&waiting, |c| c["status"] == "active")
        .await;
    assert!(served, "the queued conversation did not get the freed slot");
    assert_eq!(t.conversation(&waiting).await["agent_id"], "a1");
}

#[tokio::test]
async fn a_conversation_the_agent_has_not_answered_never_auto_ends() {
    // Arrange: one never answered; one answered, then the buyer wrote again.
    let t = TestShop::start("shop");
    t.routing(json!({"timers": {"auto_end_secs": 1}})).await;
    t.online_agents(&["a1"]).await;
    let never = cid(&t.inquire("b1").await);
    let asked_again = cid(&t.inquire("b2").await);
    t.message(&asked_again, "agent").await;
    t.message(&asked_again, "buyer").await;

    // Act
    tokio::time::sleep(Duration::from_millis(1600)).await;

    // Assert
    assert_eq!(t.conversation(&never).await["status"], "active");
    assert_eq!(t.conversation(&asked_again).await["status"], "active");
}

#[tokio::test]
async fn the_agent_may_write_after_the_end_only_within_the_reply_window() {
    // Arrange
    let t = TestShop::start("shop");
    t.routing(short_timers()).await;
    t.online_agents(&["a1"]).await;
    let c1 = cid(&t.inquire("b1").await);
    t.end(&c1).await;

    // Act
    let within = t.message(&c1, "agent").await;
    let refused = t
        .app
        .eventually(PATIENCE, || async {
            t.message(&c1, "agent").await.status == 409
        })
        .await;

    // Assert
    assert_eq!(within.status, 200, "{:?}", within.body);
    assert_eq!(within.body["status"], "ended");
    assert!(
        refused,
        "the agent could still write after the reply window"
    );
    let last = t.message(&c1, "agent").await;
    assert_error(&last, 409, "conflict");
}

#[tokio::test]
async fn a_buyer_message_after_the_end_answers_201_with_a_new_conversation() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1", "a2"]).await;
    let first = t.inquire("b1").await;
    let served_by = first["agent_id"].clone();
    let c1 = cid(&first);
    t.end(&c1).await;

    // Act
    let again = t.message(&c1, "buyer").await;

    // Assert
    assert_eq!(again.status, 201, "{:?}", again.body);
    assert_ne!(cid(&again.body), c1);
    assert_eq!(again.body["status"], "active");
    assert_eq!(again.body["agent_id"], served_by);
    assert_eq!(again.body["reason"], "recent_contact");
    assert_eq!(t.conversation(&c1).await["status"], "ended");
}

#[tokio::test]
async fn a_buyer_message_to_a_cancelled_conversation_starts_a_new_inquiry() {
    // Arrange
    let t = TestShop::start("shop");
    let q = cid(&t.inquire("b1").await);
    t.act(&q, "cancel", json!({})).await;

    // Act
    let again = t.message(&q, "buyer").await;

    // Assert
    assert_eq!(again.status, 201, "{:?}", again.body);
    assert_ne!(cid(&again.body), q);
    assert_eq!(again.body["status"], "queued");
}

#[tokio::test]
async fn an_agent_message_to_a_queued_conversation_is_a_conflict() {
    // Arrange
    let t = TestShop::start("shop");
    let q = cid(&t.inquire("b1").await);

    // Act
    let sent = t.message(&q, "agent").await;

    // Assert
    assert_error(&sent, 409, "conflict");
}

#[tokio::test]
async fn a_transfer_moves_the_conversation_and_its_load_whatever_the_target_load() {
    // Arrange: a2 is busy and full.
    let t = TestShop::start("shop");
    t.online_agents(&["a1", "a2"]).await;
    t.max_load("a2", 1).await;
    t.routing(json!({"rules": [{"when": {"question": "x"}, "to": {"agents": ["a2"]}}]}))
        .await;
    t.inquire_with("b0", json!({"question": "x"})).await;
    let c1 = cid(&t.inquire("b1").await);
    t.status("a2", "busy").await;

    // Act
    let moved = t.act(&c1, "transfer", json!({"to_agent": "a2"})).await;

    // Assert
    assert_eq!(moved.status, 200, "{:?}", moved.body);
    assert_eq!(moved.body["agent_id"], "a2");
    assert_eq!(moved.body["status"], "active");
    assert_eq!(t.agent("a1").await["load"], 0);
    assert_eq!(t.agent("a2").await["load"], 2);
}

#[tokio::test]
async fn the_recent_contact_follows_a_transfer() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1", "a2"]).await;
    let first = t.inquire("b1").await;
    let to = if first["agent_id"] == "a1" {
        "a2"
    } else {
        "a1"
    };
    let c1 = cid(&first);
    t.act(&c1, "transfer", json!({"to_agent": to})).await;
    t.end(&c1).await;

    // Act
    let again = t.inquire("b1").await;

    // Assert
    assert_eq!(again["agent_id"], to);
    assert_eq!(again["reason"], "recent_contact");
}

#[tokio::test]
async fn a_transfer_to_an_offline_agent_is_a_conflict() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    t.agents(&["a2"]).await;
    let c1 = cid(&t.inquire("b1").await);

    // Act
    let moved = t.act(&c1, "transfer", json!({"to_agent": "a2"})).await;
    let unknown = t.act(&c1, "transfer", json!({"to_agent": "ghost"})).await;

    // Assert
    assert_error(&moved, 409, "conflict");
    assert_error(&unknown, 404, "not_found");
    assert_eq!(t.conversation(&c1).await["agent_id"], "a1");
    assert_eq!(t.agent("a1").await["load"], 1);
}

#[tokio::test]
async fn a_transfer_to_a_group_picks_a_member_with_room_other_than_the_current_agent() {
    // Arrange: a1 holds the conversation; the group is a1 and a2.
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    let c1 = cid(&t.inquire("b1").await);
    t.online_agents(&["a2", "a3"]).await;
    t.group("team", &["a1", "a2"]).await;

    // Act
    let moved = t.act(&c1, "transfer", json!({"to_group": "team"})).await;

    // Assert
    assert_eq!(moved.status, 200, "{:?}", moved.body);
    assert_eq!(moved.body["agent_id"], "a2");
    assert_eq!(t.agent("a1").await["load"], 0);
    assert_eq!(t.agent("a2").await["load"], 1);
}

#[tokio::test]
async fn a_transfer_naming_both_or_neither_target_or_a_group_without_room_is_refused() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1", "a2"]).await;
    t.group("solo", &["a1"]).await;
    let c1 = cid(&t.inquire("b1").await);
    let holder = t.conversation(&c1).await["agent_id"].clone();
    let other = if holder == "a1" { "a2" } else { "a1" };
    t.group("mine", &[holder.as_str().unwrap()]).await;

    // Act
    let both = t
        .act(
            &c1,
            "transfer",
            json!({"to_agent": other, "to_group": "solo"}),
        )
        .await;
    let neither = t.act(&c1, "transfer", json!({})).await;
    let only_me = t.act(&c1, "transfer", json!({"to_group": "mine"})).await;
    let ghost = t.act(&c1, "transfer", json!({"to_group": "ghost"})).await;

    // Assert
    assert_error(&both, 400, "invalid_request");
    assert_error(&neither, 400, "invalid_request");
    assert_error(&only_me, 409, "conflict");
    assert_error(&ghost, 404, "not_found");
    assert_eq!(t.conversation(&c1).await["agent_id"], holder);
}

#[tokio::test]
async fn a_queued_conversation_cannot_be_transferred() {
    // Arrange
    let t = TestShop::start("shop");
    t.agents(&["a1"]).await;
    t.status("a1", "busy").await;
    let q = cid(&t.inquire("b1").await);

    // Act
    let moved = t.act(&q, "transfer", json!({"to_agent": "a1"})).await;

    // Assert
    assert_error(&moved, 409, "conflict");
    assert_eq!(t.conversation(&q).await["status"], "queued");
}

#[tokio::test]
async fn a_rating_is_invited_once_and_given_once() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    let c1 = cid(&t.inquire("b1").await);
    let invite = t.path(&format!("/conversations/{c1}/rating_invite"));

    // Act
    let invited = t.app.post(&invite, &t.s.agent("a1"), json!({})).await;
    let invited_again = t.app.post(&invite, &t.s.agent("a1"), json!({})).await;
    let rated = t.act(&c1, "rating", json!({"stars": 5})).await;
    let rated_again = t.act(&c1, "rating", json!({"stars": 1})).await;

    // Assert
    assert_eq!(invited.status, 200, "{:?}", invited.body);
    assert_eq!(invited.body["rating_invited"], true);
    assert_error(&invited_again, 409, "conflict");
    assert_eq!(rated.status, 200, "{:?}", rated.body);
    assert_eq!(rated.body["rating"], 5);
    assert_error(&rated_again, 409, "conflict");
    assert_eq!(t.conversation(&c1).await["rating"], 5);
}

#[tokio::test]
async fn stars_outside_1_to_5_are_refused_with_400() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    let c1 = cid(&t.inquire("b1").await);

    // Act
    let zero = t.act(&c1, "rating", json!({"stars": 0})).await;
    let six = t.act(&c1, "rating", json!({"stars": 6})).await;

    // Assert
    assert_error(&zero, 400, "invalid_request");
    assert_error(&six, 400, "invalid_request");
    assert!(t.conversation(&c1).await.get("rating").is_none());
}

#[tokio::test]
async fn a_rating_is_accepted_after_the_end_only_within_the_reply_window() {
    // Arrange
    let t = TestShop::start("shop");
    t.routing(short_timers()).await;
    t.online_agents(&["a1"]).await;
    let rated_in_time = cid(&t.inquire("b1").await);
    let rated_late = cid(&t.inquire("b2").await);
    t.end(&rated_in_time).await;
    t.end(&rated_late).await;
    let in_time = t.act(&rated_in_time, "rating", json!({"stars": 4})).await;
    // The agent's late message tells when the window has passed.
    let passed = t
        .app
        .eventually(PATIENCE, || async {
            t.message(&rated_late, "agent").await.status == 409
        })
        .await;
    assert!(passed, "the reply window never passed");

    // Act
    let late = t.act(&rated_late, "rating", json!({"stars": 4})).await;

    // Assert
    assert_eq!(in_time.status, 200, "{:?}", in_time.body);
    assert_eq!(in_time.body["rating"], 4);
    assert_error(&late, 409, "conflict");
    assert!(t.conversation(&rated_late).await.get("rating").is_none());
}

#[tokio::test]
async fn a_proactive_conversation_needs_a_recent_order_of_the_buyer() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    let path = t.path("/conversations");
    let refused = t
        .app
        .post(&path, &t.s.agent("a1"), json!({"buyer_id": "b1"}))
        .await;
    let order = t
        .app
        .post(
            &t.path("/orders"),
            &t.s.service,
            json!({"order_id": "o-1", "buyer_id": "b1"}),
        )
        .await;
    assert_eq!(order.status, 200, "{:?}", order.body);

    // Act
    let opened = t
        .app
        .post(&path, &t.s.agent("a1"), json!({"buyer_id": "b1"}))
        .await;

    // Assert
    assert_error(&refused, 409, "conflict");
    assert_eq!(opened.status, 201, "{:?}", opened.body);
    assert_eq!(opened.body["status"], "active");
    assert_eq!(opened.body["agent_id"], "a1");
    assert_eq!(opened.body["reason"], "proactive");
    assert_eq!(opened.body["proactive"], true);
    assert_eq!(opened.body["unreplied"], false);
    let a1 = t.agent("a1").await;
    assert_eq!(a1["load"], 1);
    assert_eq!(a1["unreplied"], 0);
}

#[tokio::test]
async fn a_proactive_conversation_is_refused_while_the_buyer_has_an_open_one() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1", "a2"]).await;
    t.app
        .post(
            &t.path("/orders"),
            &t.s.service,
            json!({"order_id": "o-1", "buyer_id": "b1"}),
        )
        .await;
    t.inquire("b1").await;

    // Act
    let opened = t
        .app
        .post(
            &t.path("/conversations"),
            &t.s.agent("a2"),
            json!({"buyer_id": "b1"}),
        )
        .await;

    // Assert
    assert_error(&opened, 409, "conflict");
}

#[tokio::test]
async fn an_offline_agent_cannot_open_a_proactive_conversation() {
    // Arrange
    let t = TestShop::start("shop");
    t.agents(&["a1"]).await;
    t.app
        .post(
            &t.path("/orders"),
            &t.s.service,
            json!({"order_id": "o-1", "buyer_id": "b1"}),
        )
        .await;

    // Act
    let opened = t
        .app
        .post(
            &t.path("/conversations"),
            &t.s.agent("a1"),
            json!({"buyer_id": "b1"}),
        )
        .await;

    // Assert
    assert_error(&opened, 409, "conflict");
}

#[tokio::test]
async fn an_order_credits_the_agent_of_the_buyers_recent_conversation_once() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    let c1 = cid(&t.inquire("b1").await);
    t.end(&c1).await;
    let orders = t.path("/orders");

    // Act
    let first = t
        .app
        .post(
            &orders,
            &t.s.service,
            json!({"order_id": "o-1", "buyer_id": "b1"}),
        )
        .await;
    let again = t
        .app
        .post(
            &orders,
            &t.s.service,
            json!({"order_id": "o-1", "buyer_id": "b1"}),
        )
        .await;
    let nobody = t
        .app
        .post(
            &orders,
            &t.s.service,
            json!({"order_id": "o-2", "buyer_id": "stranger"}),
        )
        .await;
    let other_buyer = t
        .app
        .post(
            &orders,
            &t.s.service,
            json!({"order_id": "o-1", "buyer_id": "b2"}),
        )
        .await;

    // Assert
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(
        first.body,
        json!({"order_id": "o-1", "credited_agent": "a1"})
    );
    assert_eq!(again.status, 200);
    assert_eq!(again.body, first.body);
    assert_eq!(
        nobody.body,
        json!({"order_id": "o-2", "credited_agent": null})
    );
    assert_error(&other_buyer, 409, "conflict");
}

#[tokio::test]
async fn an_order_after_the_reply_window_credits_nobody() {
    // Arrange
    let t = TestShop::start("shop");
    t.routing(short_timers()).await;
    t.online_agents(&["a1"]).await;
    t.end(&cid(&t.inquire("b1").await)).await;

    // Act
    let n = AtomicU32::new(0);
    let nobody = t
        .app
        .eventually(PATIENCE, || async {
            let i = n.fetch_add(1, Ordering::Relaxed);
            let order = t
                .app
                .post(
                    &t.path("/orders"),
                    &t.s.service,
                    json!({"order_id": format!("o-{i}"), "buyer_id": "b1"}),
                )
                .await;
            order.body["credited_agent"].is_null()
        })
        .await;

    // Assert
    assert!(nobody, "orders kept crediting the agent after the window");
}

#[tokio::test]
async fn a_second_buyer_message_to_the_ended_conversation_answers_the_new_one_as_existing() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    let c1 = cid(&t.inquire("b1").await);
    t.end(&c1).await;
    let first = t.message(&c1, "buyer").await;

    // Act
    let second = t.message(&c1, "buyer").await;

    // Assert
    assert_eq!(first.status, 201);
    assert_eq!(second.status, 200, "{:?}", second.body);
    assert_eq!(
        second.body["conversation_id"],
        first.body["conversation_id"]
    );
    assert_eq!(t.agent("a1").await["load"], 1);
}

#[tokio::test]
async fn a_buyer_message_to_a_queued_conversation_keeps_it_queued() {
    // Arrange
    let t = TestShop::start("shop");
    let q = cid(&t.inquire("b1").await);

    // Act
    let sent = t.message(&q, "buyer").await;

    // Assert
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    assert_eq!(sent.body["status"], "queued");
    assert_eq!(sent.body["position"], 1);
}

#[tokio::test]
async fn a_transfer_to_the_current_agent_is_a_conflict() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    let c1 = cid(&t.inquire("b1").await);

    // Act
    let moved = t.act(&c1, "transfer", json!({"to_agent": "a1"})).await;

    // Assert
    assert_error(&moved, 409, "conflict");
    assert_eq!(t.agent("a1").await["load"], 1);
}

#[tokio::test]
async fn a_late_second_run_of_the_clock_makes_the_conversation_late() {
    // Arrange: answered at once, then the buyer writes and waits.
    let t = TestShop::start("shop");
    t.routing(short_timers()).await;
    t.online_agents(&["a1"]).await;
    let c1 = cid(&t.inquire("b1").await);
    t.message(&c1, "agent").await;

    // Act
    t.message(&c1, "buyer").await;

    // Assert
    let path = t.path("/ranking?metric=reply_rate_3m");
    let late = t
        .app
        .eventually(PATIENCE, || async {
            let r = t.app.get(&path, &t.s.admin).await;
            r.body["agents"][0]["reply_rate_3m"] == json!(0.0)
        })
        .await;
    assert!(late, "the second run past the target did not count");
}

#[tokio::test]
async fn every_message_refreshes_the_recent_contact() {
    // Arrange: a three-second window; a message at 1.8 s keeps it alive
    // past 3 s from the assignment.
    let t = TestShop::start("shop");
    t.routing(json!({"recent_contact": {"window_secs": 3}}))
        .await;
    t.online_agents(&["a1"]).await;
    let c1 = cid(&t.inquire("b1").await);
    t.online_agents(&["a2"]).await;
    tokio::time::sleep(Duration::from_millis(1800)).await;
    t.message(&c1, "buyer").await;
    tokio::time::sleep(Duration::from_millis(1800)).await;
    t.end(&c1).await;

    // Act
    let again = t.inquire("b1").await;

    // Assert
    assert_eq!(again["agent_id"], "a1");
    assert_eq!(again["reason"], "recent_contact");
}
