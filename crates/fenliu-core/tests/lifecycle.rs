//! Section 3 of the spec: the reply clock, the 3-minute rule, auto end, end,
//! transfer, ratings, proactive conversations and order credit.

mod common;

use common::*;
use fenliu_core::stats::AgentDay;
use fenliu_core::AgentStatus::{Busy, Offline, Online};
use fenliu_core::{
    Command, ConversationId, ConversationStatus, CoreError, EndReason, Event, OrderRecord, Party,
    Reason, Reply,
};

fn today(w: &World, agent: &str) -> AgentDay {
    w.shop
        .agent_day(w.shop.today(w.now), &aid(agent))
        .cloned()
        .unwrap_or_default()
}

fn one_agent() -> World {
    let mut w = World::new();
    w.online("a");
    w
}

fn order(w: &mut World, order_id: &str, buyer: &str) -> OrderRecord {
    match w.ok(Command::Order(tag(order_id), bid(buyer))) {
        Reply::Order(o) => o,
        other => panic!("{other:?}"),
    }
}

fn is_conflict<T: std::fmt::Debug>(r: Result<T, CoreError>) -> bool {
    matches!(r, Err(CoreError::Conflict(_)))
}

// ---- reply clock -----------------------------------------------------------

#[test]
fn assigned_conversation_is_unreplied_until_the_agent_replies() {
    let mut w = one_agent();

    let c = w.inquire("b1");

    assert!(w.shop.conversation(c.id).unwrap().unreplied());
    assert_eq!(w.unreplied("a"), 1);
    w.now += 30 * SEC;
    w.agent_says(c.id);
    assert!(!w.shop.conversation(c.id).unwrap().unreplied());
    assert_eq!(w.unreplied("a"), 0);
}

#[test]
fn buyer_message_restarts_a_stopped_clock_only() {
    let mut w = one_agent();
    let c = w.inquire("b1");
    w.buyer_says(c.id);
    assert_eq!(w.unreplied("a"), 1, "already running: no second run");
    w.agent_says(c.id);

    w.now += MIN;
    w.buyer_says(c.id);

    let conv = w.shop.conversation(c.id).unwrap();
    assert_eq!(conv.clock.running_since, Some(w.now));
    assert_eq!(w.unreplied("a"), 1);
}

#[test]
fn queued_conversation_has_no_running_clock() {
    let mut w = World::new();

    let c = w.inquire("b1");
    w.buyer_says(c.id);

    assert!(!w.shop.conversation(c.id).unwrap().unreplied());
}

// ---- 3-minute reply --------------------------------------------------------

#[test]
fn reply_within_3_minutes_is_on_time() {
    let mut w = one_agent();
    let c = w.inquire("b1");

    w.advance(2 * MIN + 59 * SEC);
    w.agent_says(c.id);

    assert!(!w.shop.conversation(c.id).unwrap().clock.late);
    let day = today(&w, "a");
    assert_eq!((day.clocked, day.late), (1, 0));
}

#[test]
fn reply_at_exactly_3_minutes_is_on_time() {
    let mut w = one_agent();
    let c = w.inquire("b1");

    w.now += 3 * MIN;
    w.agent_says(c.id);

    assert!(!w.shop.conversation(c.id).unwrap().clock.late);
    assert_eq!(today(&w, "a").late, 0);
}

#[test]
fn reply_after_3_minutes_is_late() {
    let mut w = one_agent();
    let c = w.inquire("b1");

    w.now += 3 * MIN + 1;
    w.agent_says(c.id);

    assert!(w.shop.conversation(c.id).unwrap().clock.late);
    let day = today(&w, "a");
    assert_eq!((day.clocked, day.late), (1, 1));
}

#[test]
fn clock_still_running_past_the_target_is_late_at_once() {
    let mut w = one_agent();
    let c = w.inquire("b1");

    w.advance(3 * MIN);
    assert!(!w.shop.conversation(c.id).unwrap().clock.late);
    w.advance(1);

    assert!(w.shop.conversation(c.id).unwrap().clock.late);
    assert_eq!(today(&w, "a").late, 1);
    // Replying afterwards does not count it twice.
    w.agent_says(c.id);
    assert_eq!(today(&w, "a").late, 1);
}

#[test]
fn every_run_of_the_clock_must_stop_within_the_target() {
    let mut w = one_agent();
    let c = w.inquire("b1");
    w.now += MIN;
    w.agent_says(c.id);
    w.now += MIN;
    w.buyer_says(c.id);

    w.now += 4 * MIN;
    w.agent_says(c.id);

    assert!(w.shop.conversation(c.id).unwrap().clock.late);
    let day = today(&w, "a");
    assert_eq!((day.clocked, day.late), (1, 1), "one conversation, late");
}

#[test]
fn reply_target_follows_the_setting() {
    let mut w = one_agent();
    w.routing(|r| r.timers.reply_target_secs = 60);
    let c = w.inquire("b1");

    w.advance(61 * SEC);

    assert!(w.shop.conversation(c.id).unwrap().clock.late);
}

#[test]
fn conversation_ended_unreplied_within_the_target_is_not_late() {
    let mut w = one_agent();
    let c = w.inquire("b1");
    w.now += MIN;
    w.end(c.id);

    w.advance(10 * MIN);

    assert!(!w.shop.conversation(c.id).unwrap().clock.late);
    assert_eq!(today(&w, "a").late, 0);
}

// ---- auto end --------------------------------------------------------------

#[test]
fn conversation_auto_ends_900s_after_the_agents_last_reply() {
    let mut w = one_agent();
    let c = w.inquire("b1");
    w.now += MIN;
    w.agent_says(c.id);
    let replied = w.now;

    w.advance(15 * MIN - 1);
    assert_eq!(w.status_of(c.id), ConversationStatus::Active);
    let fx = w.advance(1);

    let conv = w.shop.conversation(c.id).unwrap();
    assert_eq!(conv.status, ConversationStatus::Ended);
    assert_eq!(conv.end_reason, Some(EndReason::AutoEnd));
    assert_eq!(conv.ended_at, Some(replied + 15 * MIN));
    assert_eq!(w.load("a"), 0);
    assert!(fx.events.iter().any(|e| matches!(
        e,
        Event::Ended {
            end_reason: EndReason::AutoEnd,
            ..
        }
    )));
}

#[test]
fn conversation_never_auto_ends_before_the_agent_replied() {
    let mut w = one_agent();
    let c = w.inquire("b1");

    w.advance(3 * HOUR);

    assert_eq!(w.status_of(c.id), ConversationStatus::Active);
}

#[test]
fn conversation_does_not_auto_end_while_the_buyer_waits_for_a_reply() {
    let mut w = one_agent();
    let c = w.inquire("b1");
    w.agent_says(c.id);
    w.now += MIN;
    w.buyer_says(c.id);

    w.advance(HOUR);

    assert_eq!(w.status_of(c.id), ConversationStatus::Active);
}

#[test]
fn auto_end_counts_from_the_latest_agent_reply() {
    let mut w = one_agent();
    let c = w.inquire("b1");
    w.agent_says(c.id);
    w.now += 10 * MIN;
    w.buyer_says(c.id);
    w.now += MIN;
    w.agent_says(c.id);

    w.advance(14 * MIN);
    assert_eq!(w.status_of(c.id), ConversationStatus::Active);
    w.advance(MIN);

    assert_eq!(w.status_of(c.id), ConversationStatus::Ended);
}

#[test]
fn auto_end_follows_the_setting() {
    let mut w = one_agent();
    w.routing(|r| r.timers.auto_end_secs = 60);
    let c = w.inquire("b1");
    w.agent_says(c.id);

    w.advance(MIN);

    assert_eq!(w.status_of(c.id), ConversationStatus::Ended);
}

// ---- end -------------------------------------------------------------------

#[test]
fn end_frees_the_slot_at_once() {
    let mut w = World::new();
    w.agent("a", Online, 1);
    let c = w.inquire("b1");

    w.end(c.id);

    let conv = w.shop.conversation(c.id).unwrap();
    assert_eq!(conv.status, ConversationStatus::Ended);
    assert_eq!(conv.end_reason, Some(EndReason::Agent));
    assert_eq!(conv.ended_at, Some(w.now));
    assert_eq!((w.load("a"), w.unreplied("a")), (0, 0));
    assert_eq!(w.inquire("b2").reason, Reason::Default);
}

#[test]
fn ending_twice_answers_the_ended_conversation() {
    let mut w = one_agent();
    let c = w.inquire("b1");
    w.end(c.id);
    let ended_at = w.shop.conversation(c.id).unwrap().ended_at;

    w.now += MIN;
    w.ok(Command::End(c.id, EndReason::Service));

    let conv = w.shop.conversation(c.id).unwrap();
    assert_eq!(conv.ended_at, ended_at);
    assert_eq!(conv.end_reason, Some(EndReason::Agent));
}

#[test]
fn ending_a_queued_conversation_conflicts_and_an_unknown_one_is_not_found() {
    let mut w = World::new();
    let q = w.inquire("b1");

    assert!(is_conflict(w.run(Command::End(q.id, EndReason::Agent))));
    assert!(matches!(
        w.run(Command::End(ConversationId(99), EndReason::Agent)),
        Err(CoreError::NotFound(_))
    ));
}

#[test]
fn agent_may_write_within_the_reply_window_after_the_end() {
    let mut w = one_agent();
    let c = w.inquire("b1");
    w.end(c.id);

    w.now += 72 * HOUR;
    let reply = w.run(Command::Message(c.id, Party::Agent));

    assert!(reply.is_ok());
    assert_eq!(w.status_of(c.id), ConversationStatus::Ended);
    assert_eq!(w.load("a"), 0);
}

#[test]
fn agent_message_after_the_reply_window_conflicts() {
    let mut w = one_agent();
    let c = w.inquire("b1");
    w.end(c.id);

    w.now += 72 * HOUR + 1;
    let reply = w.run(Command::Message(c.id, Party::Agent));

    // Purged conversations answer 404 instead; right after the window it is 409.
    assert!(matches!(reply, Err(CoreError::Conflict(_))), "{reply:?}");
}

#[test]
fn agent_message_to_a_queued_conversation_conflicts() {
    let mut w = World::new();
    let q = w.inquire("b1");

    assert!(is_conflict(w.run(Command::Message(q.id, Party::Agent))));
}

#[test]
fn buyer_message_after_the_end_starts_a_new_conversation() {
    let mut w = World::new();
    w.agent("a", Online, 5);
    let c = w.inquire("b1");
    w.end(c.id);
    w.agent("b", Online, 5);
    w.inquire("x");

    let reply = w.buyer_says(c.id);

    let Reply::Conversation {
        id,
        created,
        reason,
    } = reply
    else {
        panic!("{reply:?}")
    };
    assert!(created);
    assert_ne!(id, c.id);
    assert_eq!(
        reason,
        Reason::RecentContact,
        "routed again, recent contact first"
    );
    assert_eq!(w.agent_of(id).as_deref(), Some("a"));
    assert_eq!(w.status_of(c.id), ConversationStatus::Ended);
    assert_eq!(w.shop.open_conversation_of(&bid("b1")), Some(id));
}

#[test]
fn buyer_message_to_an_old_conversation_joins_the_open_one() {
    let mut w = one_agent();
    let c = w.inquire("b1");
    w.end(c.id);
    let newer = w.inquire("b1");

    let reply = w.buyer_says(c.id);

    assert_eq!(
        reply,
        Reply::Conversation {
            id: newer.id,
            created: false,
            reason: Reason::Existing
        }
    );
}

#[test]
fn buyer_message_after_a_cancel_starts_a_new_conversation() {
    let mut w = World::new();
    let q = w.inquire("b1");
    w.ok(Command::Cancel(q.id));
    w.online("a");

    let Reply::Conversation { id, created, .. } = w.buyer_says(q.id) else {
        panic!()
    };

    assert!(created);
    assert_eq!(w.agent_of(id).as_deref(), Some("a"));
}

// ---- transfer --------------------------------------------------------------

#[test]
fn transfer_moves_the_conversation_and_its_load() {
    let mut w = World::new();
    w.agent("a", Online, 5).agent("b", Busy, 5);
    let c = w.inquire("b1");

    w.transfer(c.id, "b");

    assert_eq!(w.agent_of(c.id).as_deref(), Some("b"));
    assert_eq!((w.load("a"), w.load("b")), (0, 1));
    assert_eq!((w.unreplied("a"), w.unreplied("b")), (0, 1));
    assert!(w.fx.events.iter().any(|e| matches!(
        e,
        Event::Transferred { from_agent_id, agent_id, .. }
            if from_agent_id == &aid("a") && agent_id == &aid("b")
    )));
    assert_eq!(
        w.shop.conversation(c.id).unwrap().explanation.reason,
        Reason::Transfer
    );
}

#[test]
fn transfer_ignores_the_receiving_agents_load() {
    let mut w = World::new();
    w.agent("a", Online, 5).agent("b", Online, 1);
    w.set_status("a", Busy);
    w.inquire("x");
    w.set_status("a", Online);
    w.set_status("b", Busy);
    let c = w.inquire("b1");
    assert_eq!(w.agent_of(c.id).as_deref(), Some("a"));

    w.transfer(c.id, "b");

    assert_eq!(w.load("b"), 2);
}

#[test]
fn transfer_to_an_offline_agent_conflicts() {
    let mut w = World::new();
    w.agent("a", Online, 5).agent("b", Offline, 5);
    let c = w.inquire("b1");

    let r = w.run(Command::Transfer(c.id, aid("b")));

    assert!(is_conflict(r));
    assert_eq!(w.agent_of(c.id).as_deref(), Some("a"));
}

#[test]
fn transfer_of_a_conversation_that_is_not_active_conflicts() {
    let mut w = World::new();
    w.agent("b", Busy, 5);
    let q = w.inquire("b1");
    w.online("a");
    let c = w.inquire("b2");
    w.end(c.id);
    let queued = w.inquire("b3");
    let _ = q;

    assert!(is_conflict(w.run(Command::Transfer(c.id, aid("b")))));
    // b3 went to a; a queued conversation cannot be transferred either.
    w.set_status("a", Busy);
    let waiting = w.inquire("b4");
    assert_eq!(waiting.reason, Reason::Queued);
    assert!(is_conflict(w.run(Command::Transfer(waiting.id, aid("b")))));
    let _ = queued;
}

#[test]
fn transfer_to_an_unknown_agent_is_not_found_and_to_the_same_agent_conflicts() {
    let mut w = one_agent();
    let c = w.inquire("b1");

    assert!(matches!(
        w.run(Command::Transfer(c.id, aid("ghost"))),
        Err(CoreError::NotFound(_))
    ));
    assert!(is_conflict(w.run(Command::Transfer(c.id, aid("a")))));
}

#[test]
fn transfer_to_a_group_goes_to_its_least_saturated_member_with_room_other_than_the_current_agent() {
    // a holds the conversation and is in the group; b is busy, c full, d
    // has 1 of 5 and e 1 of 10: e is the least saturated with room.
    let mut w = World::new();
    w.agent_in("a", Online, 5, &["g"]);
    let c = w.inquire("b1");
    w.agent_in("b", Busy, 5, &["g"])
        .agent_in("c", Online, 1, &["g"])
        .agent_in("d", Online, 5, &["g"])
        .agent_in("e", Online, 10, &["g"])
        .agent("outsider", Online, 50);
    for (buyer, agent) in [("x1", "c"), ("x2", "d"), ("x3", "e")] {
        let other = w.inquire(buyer);
        if w.agent_of(other.id).as_deref() != Some(agent) {
            w.transfer(other.id, agent);
        }
    }
    let before = (w.load("c"), w.load("d"), w.load("e"));
    assert_eq!(before, (1, 1, 1));

    w.ok(Command::TransferToGroup(c.id, gid("g")));

    assert_eq!(w.agent_of(c.id).as_deref(), Some("e"));
    assert_eq!((w.load("a"), w.load("e")), (0, 2));
    assert!(w.fx.events.iter().any(|e| matches!(
        e,
        Event::Transferred { from_agent_id, agent_id, .. }
            if from_agent_id == &aid("a") && agent_id == &aid("e")
    )));
    let explained = &w.shop.conversation(c.id).unwrap().explanation;
    assert_eq!(explained.reason, Reason::Transfer);
    assert_eq!(explained.picked, Some(aid("e")));
    assert_eq!(explained.target_size, 4);
}

#[test]
fn transfer_to_a_group_with_nobody_else_online_with_room_conflicts_and_changes_nothing() {
    let mut w = World::new();
    w.agent_in("a", Online, 5, &["g"])
        .agent_in("b", Busy, 5, &["g"]);
    let c = w.inquire("b1");
    w.put_group("empty", &[]);

    for group in ["g", "empty"] {
        assert!(is_conflict(
            w.run(Command::TransferToGroup(c.id, gid(group)))
        ));
    }
    assert!(matches!(
        w.run(Command::TransferToGroup(c.id, gid("ghost"))),
        Err(CoreError::NotFound(_))
    ));
    assert_eq!(w.agent_of(c.id).as_deref(), Some("a"));
    assert_eq!(w.load("a"), 1);
}

// ---- rating ----------------------------------------------------------------

#[test]
fn agent_may_invite_a_rating_once() {
    let mut w = one_agent();
    let c = w.inquire("b1");

    assert!(w.run(Command::InviteRating(c.id)).is_ok());
    assert!(is_conflict(w.run(Command::InviteRating(c.id))));
    assert!(w.shop.conversation(c.id).unwrap().rating_invited);
}

#[test]
fn buyer_may_rate_once_during_the_conversation() {
    let mut w = one_agent();
    let c = w.inquire("b1");

    assert!(w.run(Command::Rate(c.id, 5)).is_ok());
    assert!(is_conflict(w.run(Command::Rate(c.id, 1))));

    assert_eq!(w.shop.conversation(c.id).unwrap().rating, Some(5));
    let day = today(&w, "a");
    assert_eq!((day.ratings, day.satisfied), (1, 1));
}

#[test]
fn buyer_may_rate_within_the_reply_window_after_the_end_and_not_after() {
    let mut w = one_agent();
    let c1 = w.inquire("b1");
    w.end(c1.id);
    let c2 = w.inquire("b2");
    w.end(c2.id);

    w.now += 72 * HOUR;
    assert!(w.run(Command::Rate(c1.id, 3)).is_ok());
    w.now += 1;
    assert!(is_conflict(w.run(Command::Rate(c2.id, 3))));
    assert!(is_conflict(w.run(Command::InviteRating(c2.id))));
}

#[test]
fn stars_are_between_1_and_5() {
    let mut w = one_agent();
    let c = w.inquire("b1");

    for stars in [0, 6] {
        assert!(matches!(
            w.run(Command::Rate(c.id, stars)),
            Err(CoreError::Invalid(_))
        ));
    }
    assert_eq!(w.shop.conversation(c.id).unwrap().rating, None);
}

#[test]
fn queued_conversation_cannot_be_rated() {
    let mut w = World::new();
    let q = w.inquire("b1");

    assert!(is_conflict(w.run(Command::Rate(q.id, 5))));
}

#[test]
fn four_and_five_stars_are_satisfied() {
    let mut w = one_agent();
    for (i, stars) in [1, 2, 3, 4, 5].into_iter().enumerate() {
        let c = w.inquire(&format!("b{i}"));
        w.ok(Command::Rate(c.id, stars));
        w.end(c.id);
    }

    let day = today(&w, "a");
    assert_eq!((day.ratings, day.satisfied), (5, 2));
}

// ---- proactive -------------------------------------------------------------

#[test]
fn proactive_conversation_needs_an_order_within_30_days() {
    let mut w = one_agent();

    assert!(is_conflict(
        w.run(Command::OpenProactive(aid("a"), bid("b1")))
    ));
    order(&mut w, "o1", "b1");
    w.now += 30 * DAY - 1;
    assert!(w.run(Command::OpenProactive(aid("a"), bid("b1"))).is_ok());
}

#[test]
fn proactive_conversation_is_refused_once_the_order_is_older_than_30_days() {
    let mut w = one_agent();
    order(&mut w, "o1", "b1");

    w.now += 30 * DAY + 1;
    let r = w.run(Command::OpenProactive(aid("a"), bid("b1")));

    assert!(is_conflict(r));
}

#[test]
fn proactive_conversation_counts_toward_load_and_its_clock_starts_stopped() {
    let mut w = World::new();
    w.agent("a", Online, 1);
    order(&mut w, "o1", "b1");

    let Reply::Conversation {
        id,
        created,
        reason,
    } = w.ok(Command::OpenProactive(aid("a"), bid("b1")))
    else {
        panic!()
    };

    assert!(created);
    assert_eq!(reason, Reason::Proactive);
    let c = w.shop.conversation(id).unwrap();
    assert_eq!(c.status, ConversationStatus::Active);
    assert!(c.proactive);
    assert!(!c.unreplied());
    assert_eq!((w.load("a"), w.unreplied("a")), (1, 0));
    assert_eq!(w.inquire("b2").reason, Reason::Queued, "a is full");
    // The buyer's answer starts the clock.
    w.buyer_says(id);
    assert_eq!(w.unreplied("a"), 1);
    let day = today(&w, "a");
    assert_eq!((day.sessions, day.clocked), (1, 1));
}

#[test]
fn proactive_conversation_with_a_buyer_who_has_an_open_one_conflicts() {
    let mut w = World::new();
    w.agent("a", Online, 5).agent("b", Online, 5);
    order(&mut w, "o1", "b1");
    w.inquire("b1");

    assert!(is_conflict(
        w.run(Command::OpenProactive(aid("b"), bid("b1")))
    ));
}

#[test]
fn offline_agent_cannot_open_a_proactive_conversation() {
    let mut w = World::new();
    w.agent("a", Offline, 5);
    order(&mut w, "o1", "b1");

    assert!(is_conflict(
        w.run(Command::OpenProactive(aid("a"), bid("b1")))
    ));
}

#[test]
fn proactive_conversation_is_the_buyers_open_one() {
    let mut w = World::new();
    w.agent("a", Busy, 5).agent("b", Online, 5);
    order(&mut w, "o1", "b1");
    let Reply::Conversation { id, .. } = w.ok(Command::OpenProactive(aid("a"), bid("b1"))) else {
        panic!()
    };

    let asked = w.inquire("b1");

    assert_eq!(asked.id, id);
    assert_eq!(asked.reason, Reason::Existing);
}

// ---- order credit ----------------------------------------------------------

#[test]
fn order_credits_the_agent_of_the_active_conversation() {
    let mut w = one_agent();
    w.inquire("b1");

    let o = order(&mut w, "o1", "b1");

    assert_eq!(o.credited_agent, Some(aid("a")));
    assert_eq!(today(&w, "a").credited_orders, 1);
}

#[test]
fn order_credits_the_agent_of_a_conversation_ended_within_the_reply_window() {
    let mut w = one_agent();
    let c = w.inquire("b1");
    w.end(c.id);
    w.now += 72 * HOUR;

    let o = order(&mut w, "o1", "b1");

    assert_eq!(o.credited_agent, Some(aid("a")));
}

#[test]
fn order_after_the_reply_window_credits_nobody() {
    let mut w = one_agent();
    let c = w.inquire("b1");
    w.end(c.id);
    w.now += 72 * HOUR + 1;

    let o = order(&mut w, "o1", "b1");

    assert_eq!(o.credited_agent, None);
}

#[test]
fn order_from_a_buyer_never_served_credits_nobody() {
    let mut w = World::new();
    w.inquire("b1");

    assert_eq!(order(&mut w, "o1", "b1").credited_agent, None);
    assert_eq!(order(&mut w, "o2", "b2").credited_agent, None);
}

#[test]
fn order_credits_the_most_recent_conversation() {
    let mut w = World::new();
    w.agent("a", Online, 5).agent("b", Busy, 5);
    let c1 = w.inquire("b1");
    w.end(c1.id);
    w.set_status("a", Busy);
    w.set_status("b", Online);
    w.routing(|r| r.recent_contact.enabled = false);
    let c2 = w.inquire("b1");
    assert_eq!(w.agent_of(c2.id).as_deref(), Some("b"));
    w.end(c2.id);

    assert_eq!(order(&mut w, "o1", "b1").credited_agent, Some(aid("b")));
}

#[test]
fn order_credits_the_agent_a_conversation_was_transferred_to() {
    let mut w = World::new();
    w.agent("a", Online, 5).agent("b", Busy, 5);
    let c = w.inquire("b1");
    w.transfer(c.id, "b");

    assert_eq!(order(&mut w, "o1", "b1").credited_agent, Some(aid("b")));
}

#[test]
fn same_order_id_again_gives_the_same_answer() {
    let mut w = World::new();
    w.agent("a", Online, 5).agent("b", Busy, 5);
    let c = w.inquire("b1");
    let first = order(&mut w, "o1", "b1");
    w.transfer(c.id, "b");
    w.now += HOUR;

    let again = order(&mut w, "o1", "b1");

    assert_eq!(again, first);
    assert_eq!(today(&w, "a").credited_orders, 1);
    assert_eq!(today(&w, "b").credited_orders, 0);
}

#[test]
fn same_order_id_for_another_buyer_conflicts() {
    let mut w = one_agent();
    order(&mut w, "o1", "b1");

    assert!(is_conflict(w.run(Command::Order(tag("o1"), bid("b2")))));
}

#[test]
fn ended_conversation_is_forgotten_a_day_after_its_reply_window() {
    let mut w = one_agent();
    let c = w.inquire("b1");
    w.end(c.id);

    w.advance(72 * HOUR + DAY - 1);
    assert!(w.shop.conversation(c.id).is_some());
    let fx = w.advance(1);

    assert!(w.shop.conversation(c.id).is_none());
    assert!(fx
        .changed
        .contains(&fenliu_core::RecordKey::Conversation(c.id)));
    assert!(matches!(
        w.run(Command::Message(c.id, Party::Agent)),
        Err(CoreError::NotFound(_))
    ));
}

#[test]
fn order_while_the_latest_conversation_waits_again_credits_the_previous_agent() {
    let mut w = World::new();
    w.agent("x", Online, 5).agent("y", Busy, 5);
    let c1 = w.inquire("b1");
    w.end(c1.id);
    w.set_status("x", Busy);
    w.set_status("y", Online);
    w.routing(|r| r.recent_contact.enabled = false);
    w.now += MIN;
    let c2 = w.inquire("b1");
    assert_eq!(w.agent_of(c2.id).as_deref(), Some("y"));
    w.ok(Command::DeleteAgent(aid("y")));
    assert_eq!(w.status_of(c2.id), ConversationStatus::Queued);

    // c2 is neither active nor ended: c1, ended within the window, is the
    // most recent conversation that counts.
    assert_eq!(order(&mut w, "o1", "b1").credited_agent, Some(aid("x")));
}

#[test]
fn shorter_auto_end_applies_to_conversations_already_waiting() {
    let mut w = World::new();
    w.agent("a", Online, 1);
    let c = w.inquire("b1");
    w.agent_says(c.id);
    let q = w.inquire("b2");
    w.now += 5 * MIN;

    w.routing(|r| r.timers.auto_end_secs = 120);

    assert_eq!(
        w.shop.conversation(c.id).unwrap().end_reason,
        Some(EndReason::AutoEnd)
    );
    assert_eq!(w.agent_of(q.id).as_deref(), Some("a"));
}

#[test]
fn shorter_proactive_window_applies_to_orders_already_recorded() {
    let mut w = one_agent();
    order(&mut w, "o1", "b1");
    w.now += 2 * HOUR;

    w.routing(|r| r.timers.proactive_window_secs = 3_600);

    assert!(is_conflict(
        w.run(Command::OpenProactive(aid("a"), bid("b1")))
    ));
    assert!(w.shop.order_record(&tag("o1")).is_none());
}
