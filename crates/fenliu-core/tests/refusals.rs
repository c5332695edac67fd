//! A refused command changes nothing: every stored record is as before, and
//! nothing is left to persist or publish.

mod common;

use common::*;
use fenliu_core::settings::{Rule, Target, When, MAX_RULES};
use fenliu_core::AgentStatus::{Busy, Offline, Online};
use fenliu_core::{Command, ConversationId, CoreError, EndReason, MaxLoad, Party, RoutingSettings};

/// A shop with a bit of everything: agents of each status, a group, an
/// active, a queued, an ended and a long-ended conversation, and an order.
struct Scene {
    w: World,
    active: ConversationId,
    queued: ConversationId,
    ended: ConversationId,
    stale: ConversationId,
}

fn scene() -> Scene {
    let mut w = World::new();
    w.agent_in("a", Online, 1, &["g"]);
    w.agent("busy", Busy, 5).agent("off", Offline, 5);
    let stale = w.inquire("old-buyer").id;
    w.end(stale);
    w.now += 72 * HOUR + HOUR;
    let ended = w.inquire("b0").id;
    w.ok(Command::Rate(ended, 5));
    w.ok(Command::InviteRating(ended));
    w.end(ended);
    let active = w.inquire("b1").id;
    let queued = w.inquire("b2").id;
    w.ok(Command::Order(tag("o1"), bid("b1")));
    w.advance(MIN);
    Scene {
        w,
        active,
        queued,
        ended,
        stale,
    }
}

fn assert_refused(s: &mut Scene, cmd: Command, expect: fn(&CoreError) -> bool) {
    let name = format!("{cmd:?}");
    let before = s.w.records();
    let queue = s.w.queue();

    let result = s.w.shop.handle(cmd, s.w.now, &mut s.w.rng);

    match result {
        Err(e) => assert!(expect(&e), "{name}: unexpected error {e:?}"),
        Ok(r) => panic!("{name} was accepted: {r:?}"),
    }
    assert_eq!(s.w.records(), before, "{name} changed a record");
    assert_eq!(s.w.queue(), queue, "{name} changed the queue");
    assert!(s.w.shop.take_effects().is_empty(), "{name} left effects");
}

fn invalid(e: &CoreError) -> bool {
    matches!(e, CoreError::Invalid(_))
}

fn not_found(e: &CoreError) -> bool {
    matches!(e, CoreError::NotFound(_))
}

fn conflict(e: &CoreError) -> bool {
    matches!(e, CoreError::Conflict(_))
}

#[test]
fn refused_agent_commands_change_nothing() {
    let mut s = scene();
    for name in ["", &"x".repeat(101), "a\u{7}b"] {
        assert_refused(
            &mut s,
            Command::UpsertAgent {
                agent: aid("new"),
                display_name: Some(name.to_owned()),
                weight: None,
                groups: Some(vec![gid("g2")]),
            },
            invalid,
        );
    }
    assert_refused(&mut s, Command::DeleteAgent(aid("ghost")), not_found);
    assert_refused(&mut s, Command::SetStatus(aid("ghost"), Online), not_found);
    assert_refused(
        &mut s,
        Command::SetMaxLoad(aid("ghost"), MaxLoad::new(5).unwrap()),
        not_found,
    );
    assert_refused(
        &mut s,
        Command::PutGroup(gid("g"), vec![aid("busy"), aid("ghost")]),
        not_found,
    );
}

#[test]
fn refused_routing_settings_change_nothing() {
    let mut s = scene();
    let bad: Vec<fn(&mut RoutingSettings)> = vec![
        |r| r.recent_contact.window_secs = 0,
        |r| r.timers.reply_target_secs = 0,
        |r| r.timers.auto_end_secs = 400 * 86_400,
        |r| r.timers.reply_window_secs = 0,
        |r| r.timers.proactive_window_secs = 0,
        |r| r.busy_threshold = 1_001,
        |r| {
            r.rules = vec![Rule {
                when: When::default(),
                to: Target::default(),
            }]
        },
        |r| r.rules = vec![rule(When::default(), &["a"], &[]); MAX_RULES + 1],
    ];
    for change in bad {
        let mut settings = s.w.shop.settings().clone();
        settings.queue.enabled = false;
        change(&mut settings);
        assert_refused(&mut s, Command::SetRouting(Box::new(settings)), invalid);
    }
}

#[test]
fn refused_conversation_commands_change_nothing() {
    let mut s = scene();
    let (active, queued, ended) = (s.active, s.queued, s.ended);
    let ghost = ConversationId(999);

    assert_refused(&mut s, Command::Message(ghost, Party::Buyer), not_found);
    assert_refused(&mut s, Command::Message(queued, Party::Agent), conflict);
    assert_refused(&mut s, Command::Transfer(ghost, aid("busy")), not_found);
    assert_refused(&mut s, Command::Transfer(queued, aid("busy")), conflict);
    assert_refused(&mut s, Command::Transfer(ended, aid("busy")), conflict);
    assert_refused(&mut s, Command::Transfer(active, aid("ghost")), not_found);
    assert_refused(&mut s, Command::Transfer(active, aid("off")), conflict);
    assert_refused(&mut s, Command::Transfer(active, aid("a")), conflict);
    assert_refused(&mut s, Command::End(ghost, EndReason::Agent), not_found);
    assert_refused(&mut s, Command::End(queued, EndReason::Service), conflict);
    assert_refused(&mut s, Command::Cancel(active), conflict);
    assert_refused(&mut s, Command::Cancel(ended), conflict);
    assert_refused(&mut s, Command::InviteRating(queued), conflict);
    assert_refused(&mut s, Command::InviteRating(ended), conflict);
    assert_refused(&mut s, Command::Rate(active, 0), invalid);
    assert_refused(&mut s, Command::Rate(active, 6), invalid);
    assert_refused(&mut s, Command::Rate(queued, 5), conflict);
    assert_refused(&mut s, Command::Rate(ended, 4), conflict);
}

#[test]
fn refused_late_messages_and_ratings_change_nothing() {
    let mut s = scene();
    let stale = s.stale;

    assert_refused(&mut s, Command::Message(stale, Party::Agent), conflict);
    assert_refused(&mut s, Command::Rate(stale, 5), conflict);
    assert_refused(&mut s, Command::InviteRating(stale), conflict);
}

#[test]
fn refused_proactive_and_order_commands_change_nothing() {
    let mut s = scene();

    assert_refused(
        &mut s,
        Command::OpenProactive(aid("ghost"), bid("b1")),
        not_found,
    );
    s.w.ok(Command::Order(tag("o2"), bid("b9")));
    s.w.advance(SEC);
    assert_refused(
        &mut s,
        Command::OpenProactive(aid("off"), bid("b9")),
        conflict,
    );
    assert_refused(
        &mut s,
        Command::OpenProactive(aid("busy"), bid("never-ordered")),
        conflict,
    );
    assert_refused(
        &mut s,
        Command::OpenProactive(aid("busy"), bid("b1")),
        conflict,
    );
    assert_refused(&mut s, Command::Order(tag("o1"), bid("b2")), conflict);
}

#[test]
fn timers_due_before_a_refused_command_still_fire_and_are_reported() {
    let mut s = scene();
    let active = s.active;
    s.w.agent_says(active);
    s.w.now += 15 * MIN;

    let r =
        s.w.shop
            .handle(Command::DeleteAgent(aid("ghost")), s.w.now, &mut s.w.rng);

    assert!(r.is_err());
    assert_eq!(
        s.w.status_of(active),
        fenliu_core::ConversationStatus::Ended
    );
    let fx = s.w.shop.take_effects();
    assert!(fx
        .changed
        .contains(&fenliu_core::RecordKey::Conversation(active)));
    // The queued buyer got the freed slot through the drain.
    assert_eq!(s.w.agent_of(s.queued).as_deref(), Some("a"));
}
