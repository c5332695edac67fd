//! Agent presence (an extension to spec section 9): the node tracks each
//! agent's signs of life; the core holds `presence.timeout_secs` and applies
//! a lapse.

mod common;

use common::*;
use fenliu_core::settings::PresenceSettings;
use fenliu_core::{AgentStatus, Command, ConversationStatus, CoreError, Event, StatusCause};

fn with_presence(w: &mut World, secs: u32) {
    w.routing(|r| {
        r.presence = PresenceSettings {
            timeout_secs: Some(secs),
        }
    });
}

fn status(w: &World, id: &str) -> AgentStatus {
    w.shop.agent(&aid(id)).unwrap().status
}

#[test]
fn a_lapse_sets_an_online_or_busy_agent_offline_with_cause_presence() {
    for before in [AgentStatus::Online, AgentStatus::Busy] {
        let mut w = World::new();
        with_presence(&mut w, 30);
        w.agent("a", before, 5);

        w.ok(Command::PresenceLapsed(aid("a")));

        assert_eq!(status(&w, "a"), AgentStatus::Offline);
        assert_eq!(
            w.fx.events,
            vec![Event::AgentStatus {
                agent_id: aid("a"),
                status: AgentStatus::Offline,
                cause: Some(StatusCause::Presence),
            }]
        );
    }
}

#[test]
fn a_lapsed_agent_keeps_its_active_conversations() {
    let mut w = World::new();
    with_presence(&mut w, 30);
    w.online("a");
    let c = w.inquire("b1").id;

    w.ok(Command::PresenceLapsed(aid("a")));

    assert_eq!(w.status_of(c), ConversationStatus::Active);
    assert_eq!(w.agent_of(c).as_deref(), Some("a"));
    assert_eq!(w.load("a"), 1);
}

#[test]
fn a_lapse_changes_nothing_when_presence_is_off_or_the_agent_is_offline() {
    let mut w = World::new();
    w.online("a");
    w.ok(Command::PresenceLapsed(aid("a")));
    assert_eq!(status(&w, "a"), AgentStatus::Online, "presence is off");
    assert!(w.fx.events.is_empty());

    with_presence(&mut w, 30);
    w.set_status("a", AgentStatus::Offline);
    w.ok(Command::PresenceLapsed(aid("a")));
    assert!(w.fx.events.is_empty(), "offline already");
}

#[test]
fn a_lapse_of_an_unknown_agent_is_not_found() {
    let mut w = World::new();
    with_presence(&mut w, 30);
    let refused = w.run(Command::PresenceLapsed(aid("ghost")));
    assert!(
        matches!(refused, Err(CoreError::NotFound(_))),
        "{refused:?}"
    );
}

#[test]
fn a_presence_timeout_outside_10_to_3600_seconds_is_invalid() {
    for (secs, valid) in [(9, false), (10, true), (3600, true), (3601, false)] {
        let mut settings = fenliu_core::RoutingSettings::default();
        settings.presence.timeout_secs = Some(secs);
        assert_eq!(settings.validate().is_ok(), valid, "{secs}");
    }
}
