//! The day's log (spec §10's export): a start line once per day, one input
//! per command that succeeded and one outcome per event, each at its time.

mod common;

use common::*;
use fenliu_core::daylog::{Fact, What};
use fenliu_core::{AgentStatus, Command, ConversationId, EndReason, Party, Reason};

fn kinds(facts: &[Fact]) -> Vec<String> {
    facts
        .iter()
        .map(|f| {
            let json = serde_json::to_value(f).unwrap();
            json["kind"].as_str().unwrap().to_string()
        })
        .collect()
}

fn logged_world() -> World {
    let mut w = World::new();
    w.shop.keep_day_log();
    w
}

#[test]
fn a_shop_that_keeps_no_log_writes_no_facts() {
    let mut w = World::new();
    w.online("a");
    w.inquire("b1");
    assert!(w.take_unsaved().facts.is_empty());
}

#[test]
fn the_first_command_of_the_day_writes_the_shop_as_it_stood_then_its_input_and_outcomes() {
    let mut w = World::new();
    w.online("a");
    w.shop.keep_day_log();
    let asked = w.inquire("b1");
    let facts = w.take_unsaved().facts;
    assert_eq!(kinds(&facts), ["start", "inquiry", "assigned"]);
    let What::Start(start) = &facts[0].what else {
        panic!("{:?}", facts[0])
    };
    assert_eq!(start.day, w.shop.today(w.now));
    assert_eq!(start.agents.len(), 1);
    assert_eq!(start.agents[0].status, AgentStatus::Online);
    assert!(start.conversations.is_empty(), "the inquiry came after");
    assert_eq!(
        facts[1].what,
        What::Inquiry {
            conversation_id: asked.id,
            created: true,
            inquiry: ask("b1"),
        }
    );
    assert_eq!(
        facts[2].what,
        What::Assigned {
            conversation_id: asked.id,
            agent_id: aid("a"),
            reason: asked.reason,
        }
    );
    assert!(facts.iter().all(|f| f.at == w.now));

    // The same day: no second start.
    w.now += MIN;
    w.buyer_says(asked.id);
    assert_eq!(kinds(&w.take_unsaved().facts), ["message"]);
}

#[test]
fn a_new_day_starts_with_the_conversations_still_open() {
    let mut w = logged_world();
    w.online("a");
    let asked = w.inquire("b1");
    w.take_unsaved();
    w.now += DAY;
    w.agent_says(asked.id);
    let facts = w.take_unsaved().facts;
    assert_eq!(kinds(&facts)[0], "start");
    let What::Start(start) = &facts[0].what else {
        unreachable!()
    };
    assert_eq!(start.conversations.len(), 1);
    assert_eq!(start.conversations[0].conversation_id, asked.id);
    assert_eq!(start.conversations[0].agent_id, Some(aid("a")));
    assert_eq!(start.conversations[0].inquiry, ask("b1"));
}

#[test]
fn a_refused_command_logs_no_input_but_the_timers_it_fired() {
    let mut w = logged_world();
    w.online("a");
    w.routing(|s| s.timers.auto_end_secs = 60);
    let asked = w.inquire("b1");
    w.agent_says(asked.id);
    w.take_unsaved();
    w.now += 2 * MIN;
    assert!(w
        .run(Command::Message(ConversationId(999), Party::Buyer))
        .is_err());
    let facts = w.take_unsaved().facts;
    assert_eq!(kinds(&facts), ["ended"], "{facts:?}");
    // Logged once, though the refused command left the effects pending.
    w.online("c");
    let facts = w.take_unsaved().facts;
    assert_eq!(
        kinds(&facts),
        ["agent", "max_load", "status", "agent_status"],
        "{facts:?}"
    );
}

#[test]
fn timers_fired_by_a_tick_log_their_outcomes_at_the_tick() {
    let mut w = logged_world();
    w.online("a");
    w.routing(|s| s.timers.auto_end_secs = 60);
    let asked = w.inquire("b1");
    w.agent_says(asked.id);
    w.take_unsaved();
    w.advance(61 * SEC);
    let facts = w.take_unsaved().facts;
    assert_eq!(
        facts.iter().map(|f| (&f.what, f.at)).collect::<Vec<_>>(),
        [(
            &What::Ended {
                conversation_id: asked.id,
                end_reason: EndReason::AutoEnd,
            },
            w.now
        )]
    );
}

#[test]
fn every_line_reads_back_as_it_was_written() {
    let mut w = logged_world();
    w.agent("a", AgentStatus::Online, 1);
    w.put_group("g", &["a"]);
    let first = w.inquire("b1");
    let second = w.inquire("b2");
    w.ok(Command::Cancel(second.id));
    w.ok(Command::End(first.id, EndReason::Service));
    w.set_status("a", AgentStatus::Offline);
    let facts = w.take_unsaved().facts;
    assert!(kinds(&facts).contains(&"queued".to_string()));
    for fact in &facts {
        let line = serde_json::to_string(fact).unwrap();
        assert!(!line.contains('\n'));
        let back: Fact = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(&back, fact, "{line}");
    }
    assert!(facts.iter().any(|f| matches!(
        f.what,
        What::Assigned {
            reason: Reason::Default,
            ..
        }
    )));
}

#[test]
fn a_read_logs_nothing_and_the_start_waits_for_the_first_facts_of_the_day() {
    let mut w = World::new();
    w.online("a");
    w.shop.keep_day_log();
    w.now += MIN;
    assert!(w.advance(SEC).facts.is_empty(), "a tick that fired nothing");
    w.inquire("b1");
    let facts = w.take_unsaved().facts;
    assert_eq!(kinds(&facts), ["start", "inquiry", "assigned"]);
    // The start is the state before the first command that logged.
    let What::Start(start) = &facts[0].what else {
        unreachable!()
    };
    assert!(start.conversations.is_empty());
}

#[test]
fn a_start_taken_by_a_step_that_changed_nothing_is_written_as_of_that_step() {
    // Arrange: a tick that fires nothing takes the day's start, then lets
    // it go (an idle shop holds no copy of its state).
    let mut w = World::new();
    w.online("a");
    w.shop.keep_day_log();
    w.take_unsaved();
    assert!(w.advance(MIN).facts.is_empty());
    let tick_at = w.now;

    // Act
    w.now += MIN;
    w.inquire("b1");

    // Assert
    let facts = w.take_unsaved().facts;
    assert_eq!(kinds(&facts), ["start", "inquiry", "assigned"]);
    assert_eq!(facts[0].at, tick_at);
    assert!(facts[1].at > tick_at);
}
