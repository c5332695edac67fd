//! Availability v2 (spec section 9): reply or reassign, agents set busy
//! after misses, offers with accept, reject and timeouts, and how they meet
//! the rest of the routing (no-queue mode, recent contact, offline routing,
//! transfers, agents going offline, business hours, a restore).

mod common;

use common::*;
use fenliu_core::hours::{ClockTime, Hours, Weekly};
use fenliu_core::settings::{AssignmentMode, AssignmentSettings, Step};
use fenliu_core::AgentStatus::{Busy, Offline, Online};
use fenliu_core::{
    AgentStatus, Command, ConversationId, ConversationStatus, CoreError, DeclineCause, Event,
    Reason, Shop, ShopId, StatusCause,
};

fn reassign_after(w: &mut World, secs: u32) {
    w.routing(|r| r.timers.reassign_after_secs = Some(secs));
}

fn offers(w: &mut World, timeout_secs: u32) {
    w.routing(|r| {
        r.assignment = AssignmentSettings {
            mode: AssignmentMode::Offer,
            offer_timeout_secs: timeout_secs,
        }
    });
}

fn missed(w: &World, agent: &str) -> u32 {
    let day = w.shop.today(w.now);
    w.shop.agent_day(day, &aid(agent)).map_or(0, |d| d.missed)
}

fn declined(w: &World, agent: &str) -> u32 {
    let day = w.shop.today(w.now);
    w.shop
        .agent_day(day, &aid(agent))
        .map_or(0, |d| d.offers_declined)
}

fn accept(w: &mut World, id: ConversationId) {
    w.ok(Command::Accept(id));
}

fn reject(w: &mut World, id: ConversationId) {
    w.ok(Command::Reject(id));
}

/// The agent a conversation is offered to (after an `Offered` event).
fn offered_to(w: &World, id: ConversationId) -> String {
    assert_eq!(w.status_of(id), ConversationStatus::Offered);
    w.agent_of(id).expect("offered to someone")
}

// Reply or reassign.

#[test]
fn a_conversation_not_replied_to_in_time_moves_to_another_available_agent_as_reassigned() {
    let mut w = World::new();
    reassign_after(&mut w, 60);
    w.agent("a", Online, 5);
    let q = w.inquire("b1").id;
    w.agent("b", Online, 5);

    let fx = w.advance(60 * SEC);

    assert_eq!(w.agent_of(q).as_deref(), Some("b"));
    assert_eq!(w.shop.conversation(q).unwrap().reason, Reason::Reassigned);
    assert!(fx.events.iter().any(|e| matches!(e,
        Event::Transferred { conversation_id, reason: Reason::Reassigned, from_agent_id, .. }
            if *conversation_id == q && from_agent_id.as_str() == "a")));
    assert_eq!(missed(&w, "a"), 1);
    assert_eq!((w.load("a"), w.load("b")), (0, 1));
}

#[test]
fn a_reply_before_the_deadline_keeps_the_conversation() {
    let mut w = World::new();
    reassign_after(&mut w, 60);
    w.agent("a", Online, 5);
    let q = w.inquire("b1").id;
    w.agent("b", Online, 5);
    w.advance(59 * SEC);
    w.agent_says(q);

    w.advance(10 * MIN);

    assert_eq!(w.agent_of(q).as_deref(), Some("a"));
    assert_eq!(missed(&w, "a"), 0);
}

#[test]
fn a_reassigned_conversation_never_goes_back_to_an_agent_who_missed_it() {
    let mut w = World::new();
    reassign_after(&mut w, 60);
    w.agent("a", Online, 5);
    let q = w.inquire("b1").id;
    w.agent("b", Online, 5);
    w.advance(60 * SEC);
    assert_eq!(w.agent_of(q).as_deref(), Some("b"));

    // b misses it too; a, who missed it first, is available but skipped.
    w.advance(60 * SEC);

    assert_eq!(w.agent_of(q).as_deref(), Some("b"));
    assert_eq!((missed(&w, "a"), missed(&w, "b")), (1, 1));
}

#[test]
fn with_nobody_else_available_it_stays_and_the_miss_counts_once() {
    let mut w = World::new();
    reassign_after(&mut w, 60);
    w.agent("a", Online, 5);
    let q = w.inquire("b1").id;

    w.advance(60 * SEC);
    w.advance(10 * MIN);

    assert_eq!(w.agent_of(q).as_deref(), Some("a"));
    assert_eq!(missed(&w, "a"), 1);
}

#[test]
fn a_reassign_when_the_only_other_agent_is_saturated_leaves_it_with_its_agent() {
    let mut w = World::new();
    reassign_after(&mut w, 60);
    w.agent("a", Online, 5);
    w.agent("b", Offline, 1);
    let q = w.inquire("b1").id;
    w.set_status("b", Online);
    let full = w.inquire("b2").id;
    assert_eq!(w.agent_of(full).as_deref(), Some("b"));
    w.agent_says(full);

    w.advance(60 * SEC);

    assert_eq!(w.agent_of(q).as_deref(), Some("a"));
    assert_eq!(missed(&w, "a"), 1);
}

#[test]
fn the_deadline_starts_again_when_the_conversation_is_transferred() {
    let mut w = World::new();
    reassign_after(&mut w, 60);
    w.agent("a", Online, 5);
    w.agent("c", Busy, 5);
    let q = w.inquire("b1").id;
    w.advance(50 * SEC);
    w.transfer(q, "c");
    w.agent("b", Online, 5);

    w.advance(20 * SEC);
    assert_eq!(
        w.agent_of(q).as_deref(),
        Some("c"),
        "c's deadline is 60 s after the transfer"
    );
    w.advance(40 * SEC);

    assert_eq!(w.agent_of(q).as_deref(), Some("b"));
    assert_eq!((missed(&w, "a"), missed(&w, "c")), (0, 1));
}

#[test]
fn misses_in_a_row_set_the_agent_busy_with_cause_missed() {
    let mut w = World::new();
    w.routing(|r| {
        r.timers.reassign_after_secs = Some(60);
        r.timers.auto_busy_after_misses = Some(2);
    });
    w.agent("a", Online, 5);
    w.inquire("b1");
    w.advance(60 * SEC);
    assert_eq!(w.shop.agent(&aid("a")).unwrap().status, Online);
    w.inquire("b2");

    let fx = w.advance(60 * SEC);

    assert_eq!(w.shop.agent(&aid("a")).unwrap().status, Busy);
    assert!(fx.events.iter().any(|e| matches!(
        e,
        Event::AgentStatus {
            status: AgentStatus::Busy,
            cause: Some(StatusCause::Missed),
            ..
        }
    )));
}

#[test]
fn a_reply_starts_the_misses_in_a_row_again() {
    let mut w = World::new();
    w.routing(|r| {
        r.timers.reassign_after_secs = Some(60);
        r.timers.auto_busy_after_misses = Some(2);
    });
    w.agent("a", Online, 5);
    w.inquire("b1");
    w.advance(60 * SEC);
    let replied = w.inquire("b2").id;
    w.agent_says(replied);
    w.inquire("b3");

    w.advance(60 * SEC);

    assert_eq!(w.shop.agent(&aid("a")).unwrap().status, Online);
    assert_eq!(missed(&w, "a"), 2);
}

#[test]
fn a_proactive_conversation_is_never_reassigned() {
    let mut w = World::new();
    reassign_after(&mut w, 60);
    w.agent("a", Online, 5);
    w.agent("b", Online, 5);
    w.ok(Command::Order(tag("o1"), bid("b1")));
    let Ok(fenliu_core::Reply::Conversation { id, .. }) =
        w.run(Command::OpenProactive(aid("a"), bid("b1")))
    else {
        panic!("a proactive conversation opens");
    };

    w.advance(10 * MIN);

    assert_eq!(w.agent_of(id).as_deref(), Some("a"));
    assert_eq!(missed(&w, "a"), 0);
}

// Offers.

#[test]
fn in_offer_mode_a_decision_offers_and_the_agent_holds_one_slot() {
    let mut w = World::new();
    offers(&mut w, 30);
    w.agent("a", Online, 2);

    let q = w.inquire("b1");

    assert_eq!(q.reason, Reason::Default);
    assert_eq!(offered_to(&w, q.id), "a");
    assert_eq!((w.load("a"), w.unreplied("a")), (1, 0));
    assert!(w.fx.events.iter().any(|e| matches!(
        e,
        Event::Offered {
            timeout_secs: 30,
            ..
        }
    )));
    assert!(!w
        .fx
        .events
        .iter()
        .any(|e| matches!(e, Event::Assigned { .. })));
}

#[test]
fn accepting_makes_it_active_with_its_reply_clock_started_at_the_accept() {
    let mut w = World::new();
    offers(&mut w, 30);
    w.agent("a", Online, 2);
    let q = w.inquire("b1").id;
    w.advance(10 * SEC);

    accept(&mut w, q);

    let c = w.shop.conversation(q).unwrap();
    assert_eq!(c.status, ConversationStatus::Active);
    assert_eq!(c.clock.running_since, Some(w.now));
    assert_eq!((w.load("a"), w.unreplied("a")), (1, 1));
    assert!(w
        .fx
        .events
        .iter()
        .any(|e| matches!(e, Event::Assigned { .. })));
    // Accepting again answers as it is; the lapse that was due does nothing.
    accept(&mut w, q);
    w.advance(MIN);
    assert_eq!(w.agent_of(q).as_deref(), Some("a"));
}

#[test]
fn a_rejected_offer_is_decided_again_at_once_without_the_agent() {
    let mut w = World::new();
    offers(&mut w, 30);
    w.agent("a", Online, 2);
    w.agent("b", Online, 2);
    let q = w.inquire("b1").id;
    let first = offered_to(&w, q);

    reject(&mut w, q);

    let second = offered_to(&w, q);
    assert_ne!(first, second);
    assert_eq!(w.load(&first), 0);
    assert_eq!(declined(&w, &first), 1);
    assert!(w.fx.events.iter().any(|e| matches!(e,
        Event::OfferDeclined { cause: DeclineCause::Rejected, agent_id, .. } if agent_id.as_str() == first)));
}

#[test]
fn an_offer_lapses_after_its_timeout_with_cause_timeout() {
    let mut w = World::new();
    offers(&mut w, 30);
    w.agent("a", Online, 2);
    let q = w.inquire("b1").id;
    w.agent("b", Online, 2);

    w.advance(29 * SEC);
    assert_eq!(offered_to(&w, q), "a");
    let fx = w.advance(SEC);

    assert_eq!(offered_to(&w, q), "b");
    assert!(fx.events.iter().any(|e| matches!(
        e,
        Event::OfferDeclined {
            cause: DeclineCause::Timeout,
            ..
        }
    )));
    assert_eq!(declined(&w, "a"), 1);
}

#[test]
fn with_nobody_left_it_waits_in_the_queue_at_the_place_it_first_had() {
    let mut w = World::new();
    offers(&mut w, 30);
    w.agent("a", Online, 1);
    let busy = w.inquire("b0").id;
    accept(&mut w, busy);
    let x = w.inquire("b1").id;
    let y = w.inquire("b2").id;
    assert_eq!(w.queue(), vec![x, y]);
    w.end(busy);
    assert_eq!(offered_to(&w, x), "a");

    reject(&mut w, x);

    // x is back at the front; the slot it freed went to y.
    assert_eq!(w.status_of(x), ConversationStatus::Queued);
    assert_eq!(w.position(x), Some(1));
    assert_eq!(offered_to(&w, y), "a");
    // a declined x: when a is free again, x still waits for someone else.
    reject(&mut w, y);
    assert_eq!(w.queue(), vec![x, y]);
    w.agent("b", Online, 1);
    assert_eq!(offered_to(&w, x), "b");
}

#[test]
fn an_offer_in_no_queue_mode_goes_beyond_max_load_as_the_direct_decision_would() {
    let mut w = World::new();
    w.routing(|r| r.queue.enabled = false);
    offers(&mut w, 30);
    w.agent("a", Online, 1);
    let first = w.inquire("b1").id;
    accept(&mut w, first);

    let q = w.inquire("b2");

    assert_eq!(q.reason, Reason::NoQueue);
    assert_eq!(offered_to(&w, q.id), "a");
    assert_eq!(w.load("a"), 2);
}

#[test]
fn an_offer_to_a_recent_contact_comes_first() {
    let mut w = World::new();
    w.routing(|r| r.recent_contact.enabled = true);
    offers(&mut w, 30);
    w.agent("a", Online, 5);
    let first = w.inquire("b1").id;
    accept(&mut w, first);
    w.agent_says(first);
    w.end(first);
    w.agent("b", Online, 5);

    let again = w.inquire("b1");

    assert_eq!(again.reason, Reason::RecentContact);
    assert_eq!(offered_to(&w, again.id), "a");
}

#[test]
fn offline_routing_stays_direct_in_offer_mode() {
    let mut w = World::new();
    offers(&mut w, 30);
    w.agent("proxy", Offline, 5);
    w.routing(|r| r.offline.agents = vec![aid("proxy")]);

    let q = w.inquire("b1");

    assert_eq!(q.reason, Reason::Offline);
    assert_eq!(w.status_of(q.id), ConversationStatus::Active);
}

#[test]
fn an_offered_conversation_cannot_be_transferred_ended_or_written_to_by_the_agent() {
    let mut w = World::new();
    offers(&mut w, 30);
    w.agent("a", Online, 5);
    w.agent("b", Busy, 5);
    let q = w.inquire("b1").id;

    for cmd in [
        Command::Transfer(q, aid("b")),
        Command::End(q, fenliu_core::EndReason::Agent),
        Command::Message(q, fenliu_core::Party::Agent),
    ] {
        let name = cmd.name();
        assert!(
            matches!(w.run(cmd), Err(CoreError::Conflict(_))),
            "{name} of an offered conversation"
        );
    }
    assert_eq!(offered_to(&w, q), "a");
}

#[test]
fn an_agent_going_offline_with_offers_pending_moves_them_on_at_once() {
    let mut w = World::new();
    offers(&mut w, 30);
    w.agent("a", Online, 5);
    let q1 = w.inquire("b1").id;
    let q2 = w.inquire("b2").id;
    w.agent("b", Online, 5);

    w.set_status("a", Offline);

    assert_eq!(
        (offered_to(&w, q1), offered_to(&w, q2)),
        ("b".into(), "b".into())
    );
    assert_eq!(w.load("a"), 0);
    let offline =
        w.fx.events
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Event::OfferDeclined {
                        cause: DeclineCause::Offline,
                        ..
                    }
                )
            })
            .count();
    assert_eq!(offline, 2);
}

#[test]
fn a_buyer_who_leaves_frees_the_slot_of_the_offer() {
    let mut w = World::new();
    offers(&mut w, 30);
    w.agent("a", Online, 1);
    let q = w.inquire("b1").id;
    let waiting = w.inquire("b2").id;

    w.ok(Command::Cancel(q));

    assert_eq!(w.status_of(q), ConversationStatus::Cancelled);
    assert_eq!(offered_to(&w, waiting), "a");
}

#[test]
fn a_pending_offer_and_a_reassign_deadline_survive_a_restore() {
    let mut w = World::new();
    offers(&mut w, 30);
    reassign_after(&mut w, 60);
    w.agent("a", Online, 5);
    let offered = w.inquire("b1").id;
    let active = w.inquire("b2").id;
    accept(&mut w, active);
    w.agent("b", Online, 5);
    let records = w.shop.snapshot();

    let mut back = Shop::restore(ShopId::parse("shop-1").unwrap(), records, w.now);
    back.tick(w.now + 30 * SEC, &mut w.rng);
    assert_eq!(
        back.conversation(offered)
            .unwrap()
            .agent
            .as_ref()
            .map(|a| a.as_str()),
        Some("b")
    );
    back.tick(w.now + 60 * SEC, &mut w.rng);

    let moved = back.conversation(active).unwrap();
    assert_eq!(moved.agent.as_ref().map(|a| a.as_str()), Some("b"));
    assert_eq!(moved.reason, Reason::Reassigned);
}

// Business hours with the rest.

fn t(raw: &str) -> ClockTime {
    ClockTime::parse(raw).unwrap()
}

/// Open 09:00–18:00 every day; T0 is 10:00.
fn nine_to_six() -> Hours {
    let day = vec![[t("09:00"), t("18:00")]];
    Hours {
        weekly: Weekly {
            mon: day.clone(),
            tue: day.clone(),
            wed: day.clone(),
            thu: day.clone(),
            fri: day.clone(),
            sat: day.clone(),
            sun: day,
        },
        closed_dates: vec![],
    }
}

#[test]
fn in_offer_mode_a_closed_shop_queues_and_offers_at_the_opening() {
    let mut w = World::new();
    offers(&mut w, 30);
    w.routing(|r| r.hours = Some(nine_to_six()));
    w.agent("a", Online, 5);
    w.advance(9 * HOUR); // 19:00

    let q = w.inquire("b1");
    assert_eq!(q.reason, Reason::Closed);
    w.advance(14 * HOUR); // 09:00

    assert_eq!(offered_to(&w, q.id), "a");
}

#[test]
fn an_escalation_step_reached_while_closed_offers_at_the_opening_to_the_widened_set() {
    let mut w = World::new();
    offers(&mut w, 30);
    let mut to_g = rule(Default::default(), &[], &["g"]);
    to_g.to.escalate = vec![Step {
        after_secs: 60,
        agents: vec![],
        groups: vec![],
        any: true,
    }];
    w.routing(|r| {
        r.hours = Some(nine_to_six());
        r.rules = vec![to_g];
        r.overflow = fenliu_core::settings::Overflow::None;
    });
    w.agent("a", Online, 5);
    w.put_group("g", &[]);
    w.advance(9 * HOUR);
    let q = w.inquire("b1").id;

    w.advance(14 * HOUR);

    assert_eq!(offered_to(&w, q), "a");
    assert_eq!(w.shop.conversation(q).unwrap().reason, Reason::Escalated);
}
