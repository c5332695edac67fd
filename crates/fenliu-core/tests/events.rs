//! What a shop tells its shell: events to publish, and when to tick next.

mod common;

use common::*;
use fenliu_core::AgentStatus::{Busy, Online};
use fenliu_core::{AgentStatus, Command, EndReason, Event, Reason};

#[test]
fn inquiry_announces_its_assignment_with_reason_and_delivery() {
    let mut w = World::new();
    w.online("a");

    let c = w.inquire("b1");

    assert_eq!(
        w.fx.events,
        vec![Event::Assigned {
            conversation_id: c.id,
            buyer_id: bid("b1"),
            agent_id: aid("a"),
            reason: Reason::Default,
            offline_delivery: false,
        }]
    );
    assert_eq!(w.fx.events[0].name(), "conversation.assigned");
}

#[test]
fn drain_announces_each_assignment_in_queue_order() {
    let mut w = World::new();
    w.agent("a", Busy, 5);
    let q1 = w.inquire("b1");
    let q2 = w.inquire("b2");

    w.set_status("a", Online);

    let assigned: Vec<_> =
        w.fx.events
            .iter()
            .filter_map(|e| match e {
                Event::Assigned {
                    conversation_id, ..
                } => Some(*conversation_id),
                _ => None,
            })
            .collect();
    assert_eq!(assigned, vec![q1.id, q2.id]);
    assert_eq!(
        w.fx.events[0],
        Event::AgentStatus {
            agent_id: aid("a"),
            status: AgentStatus::Online,
            cause: None,
        }
    );
}

#[test]
fn transfer_is_announced_to_both_agents_and_not_as_an_assignment() {
    let mut w = World::new();
    w.agent("a", Online, 5)
        .agent("b", Busy, 5)
        .agent("c", Busy, 5);
    let conv = w.inquire("b1");

    w.transfer(conv.id, "b");

    assert_eq!(w.fx.events.len(), 1);
    let e = &w.fx.events[0];
    assert_eq!(e.name(), "conversation.transferred");
    assert!(e.concerns(&aid("a")) && e.concerns(&aid("b")));
    assert!(!e.concerns(&aid("c")));
}

#[test]
fn end_is_announced_to_its_agent_and_queue_events_to_nobody() {
    let mut w = World::new();
    w.agent("a", Online, 1);
    let c = w.inquire("b1");
    let q = w.inquire("b2");
    let queued = w.fx.events[0].clone();

    w.ok(Command::End(c.id, EndReason::Service));

    assert_eq!(queued.name(), "conversation.queued");
    assert!(!queued.concerns(&aid("a")));
    let ended = &w.fx.events[0];
    assert_eq!(
        ended,
        &Event::Ended {
            conversation_id: c.id,
            agent_id: Some(aid("a")),
            end_reason: EndReason::Service,
        }
    );
    assert!(ended.concerns(&aid("a")));
    // The freed slot went to the queued buyer in the same command.
    assert!(matches!(
        &w.fx.events[1],
        Event::Assigned { conversation_id, .. } if *conversation_id == q.id
    ));
}

#[test]
fn unchanged_status_announces_nothing() {
    let mut w = World::new();
    w.online("a");

    w.set_status("a", Online);

    assert!(w.fx.events.is_empty());
}

#[test]
fn next_deadline_is_the_earliest_pending_timer() {
    let mut w = World::new();
    w.online("a");
    assert_eq!(w.shop.next_deadline(), None);
    let c = w.inquire("b1");

    // The reply clock passes the 3-minute target one millisecond after it.
    let late_at = w.now + 3 * MIN + 1;
    assert_eq!(w.shop.next_deadline(), Some(late_at));
    w.now += MIN;
    w.agent_says(c.id);
    // The replied clock's timer is still reported; ticking at it does nothing.
    assert_eq!(w.shop.next_deadline(), Some(late_at));
    w.advance(late_at - w.now);
    assert!(!w.shop.conversation(c.id).unwrap().clock.late);

    // Then the auto end, 15 minutes after the reply.
    let auto_end = T0 + MIN + 15 * MIN;
    assert_eq!(w.shop.next_deadline(), Some(auto_end));
    w.advance(auto_end - w.now);
    assert_eq!(w.status_of(c.id), fenliu_core::ConversationStatus::Ended);
}

#[test]
fn deleting_an_agent_tells_it_which_conversations_went_back_to_the_queue() {
    let mut w = World::new();
    w.online("a");
    let c = w.inquire("b1");

    w.ok(Command::DeleteAgent(aid("a")));

    let requeued = Event::Requeued {
        conversation_id: c.id,
        buyer_id: bid("b1"),
        from_agent_id: aid("a"),
    };
    assert!(w.fx.events.contains(&requeued), "{:?}", w.fx.events);
    assert_eq!(requeued.name(), "conversation.requeued");
    assert!(requeued.concerns(&aid("a")));
    assert!(!requeued.concerns(&aid("b")));
}
