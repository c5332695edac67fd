//! The queue (排队): order, positions, and draining whenever capacity appears.

mod common;

use common::*;
use fenliu_core::settings::{Overflow, QueueOrder, When};
use fenliu_core::AgentStatus::{Busy, Offline, Online};
use fenliu_core::{Command, ConversationStatus, EndReason, Entry, Event, Reason};

/// One agent `a` (max 1) busy with one conversation, and `n` queued buyers q0..qn.
fn full_shop(n: usize, order: QueueOrder) -> (World, Vec<fenliu_core::ConversationId>) {
    let mut w = World::new();
    w.routing(|r| r.queue.order = order);
    w.agent("a", Online, 1);
    w.inquire("first");
    let queued = (0..n)
        .map(|i| {
            let c = w.inquire(&format!("q{i}"));
            assert_eq!(c.reason, Reason::Queued);
            c.id
        })
        .collect();
    (w, queued)
}

#[test]
fn fifo_serves_the_first_queued_first() {
    let (w, q) = full_shop(3, QueueOrder::Fifo);

    assert_eq!(w.queue(), q);
    let positions: Vec<_> = q.iter().map(|&id| w.position(id)).collect();
    assert_eq!(positions, vec![Some(1), Some(2), Some(3)]);
    assert_eq!(w.shop.queue_len(), 3);
}

#[test]
fn lifo_serves_the_last_queued_first() {
    let (w, q) = full_shop(3, QueueOrder::Lifo);

    let mut expected = q.clone();
    expected.reverse();
    assert_eq!(w.queue(), expected);
    let positions: Vec<_> = q.iter().map(|&id| w.position(id)).collect();
    assert_eq!(positions, vec![Some(3), Some(2), Some(1)]);
}

#[test]
fn a_page_of_the_queue_lists_the_conversations_at_its_positions_in_either_order() {
    for order in [QueueOrder::Fifo, QueueOrder::Lifo] {
        let (w, q) = full_shop(700, order);
        let served: Vec<_> = w.shop.queue(w.now).into_iter().map(|c| c.id).collect();

        let page: Vec<_> = w
            .shop
            .queue_page(250, 300, w.now)
            .iter()
            .map(|c| c.id)
            .collect();
        let tail: Vec<_> = w
            .shop
            .queue_page(690, 50, w.now)
            .iter()
            .map(|c| c.id)
            .collect();

        assert_eq!(page, served[250..550], "{order:?}");
        for (i, id) in page.iter().enumerate() {
            assert_eq!(w.position(*id), Some(251 + i as u32));
        }
        assert_eq!(tail, served[690..], "{order:?}");
        assert!(w.shop.queue_page(700, 10, w.now).is_empty());
        assert_eq!(served.len(), q.len());
    }
}

#[test]
fn a_full_queue_refuses_a_new_inquiry_and_changes_nothing() {
    // Arrange: room for two in the queue, both taken.
    let (mut w, q) = full_shop(2, QueueOrder::Fifo);
    w.routing(|r| r.queue.max_length = Some(2));
    let before = w.records();

    // Act
    let refused = w.run(Command::Inquire(ask("late")));

    // Assert
    assert!(matches!(refused, Err(fenliu_core::CoreError::Conflict(_))));
    assert_eq!(w.records(), before);
    assert_eq!(w.queue(), q);
}

#[test]
fn a_full_queue_still_answers_those_in_it_and_assigns_when_someone_is_free() {
    let (mut w, q) = full_shop(2, QueueOrder::Fifo);
    w.routing(|r| r.queue.max_length = Some(2));

    // A queued buyer asking again gets its place; a free agent takes a
    // newcomer at once, full queue or not.
    let again = w.inquire_with(ask("q0"));
    w.online("b");
    let assigned = w.inquire("newcomer");

    assert_eq!(again.id, q[0]);
    assert_eq!(again.reason, Reason::Existing);
    assert_eq!(w.agent_of(assigned.id).as_deref(), Some("b"));
}

#[test]
fn lowering_the_queue_limit_below_its_length_keeps_everyone_waiting() {
    let (mut w, q) = full_shop(3, QueueOrder::Fifo);

    w.routing(|r| r.queue.max_length = Some(1));

    let full = |w: &mut World| {
        matches!(
            w.run(Command::Inquire(ask("late"))),
            Err(fenliu_core::CoreError::Conflict(_))
        )
    };
    assert_eq!(w.queue(), q);
    assert!(full(&mut w));
    w.ok(Command::Cancel(q[0]));
    w.ok(Command::Cancel(q[1]));
    assert!(full(&mut w), "one is still waiting");
    w.ok(Command::Cancel(q[2]));
    assert_eq!(w.inquire("late").reason, Reason::Queued);
}

#[test]
fn queued_event_and_reply_carry_the_position() {
    let (mut w, _) = full_shop(2, QueueOrder::Fifo);

    let third = w.inquire("q2");

    assert_eq!(w.position(third.id), Some(3));
    assert!(w.fx.events.iter().any(|e| matches!(
        e,
        Event::Queued { conversation_id, position: 3, .. } if *conversation_id == third.id
    )));
}

#[test]
fn fifo_drain_takes_the_oldest_when_a_conversation_ends() {
    let (mut w, q) = full_shop(3, QueueOrder::Fifo);

    w.end(fenliu_core::ConversationId(1));

    assert_eq!(w.status_of(q[0]), ConversationStatus::Active);
    assert_eq!(w.agent_of(q[0]).as_deref(), Some("a"));
    assert_eq!(w.queue(), vec![q[1], q[2]]);
    assert_eq!(w.position(q[1]), Some(1));
}

#[test]
fn lifo_drain_takes_the_newest_when_a_conversation_ends() {
    let (mut w, q) = full_shop(3, QueueOrder::Lifo);

    w.end(fenliu_core::ConversationId(1));

    assert_eq!(w.status_of(q[2]), ConversationStatus::Active);
    assert_eq!(w.queue(), vec![q[1], q[0]]);
    assert_eq!(w.position(q[0]), Some(2));
}

#[test]
fn drain_when_an_agent_goes_online() {
    let (mut w, q) = full_shop(3, QueueOrder::Fifo);
    w.agent("b", Offline, 2);
    assert_eq!(w.shop.queue_len(), 3);

    w.set_status("b", Online);

    assert_eq!(w.agent_of(q[0]).as_deref(), Some("b"));
    assert_eq!(w.agent_of(q[1]).as_deref(), Some("b"));
    assert_eq!(w.queue(), vec![q[2]]);
    assert_eq!(w.load("b"), 2);
    let assigned =
        w.fx.events
            .iter()
            .filter(|e| matches!(e, Event::Assigned { .. }))
            .count();
    assert_eq!(assigned, 2);
}

#[test]
fn drain_when_a_busy_agent_comes_back_online() {
    let (mut w, q) = full_shop(1, QueueOrder::Fifo);
    w.agent("b", Busy, 5);

    w.set_status("b", Online);

    assert_eq!(w.agent_of(q[0]).as_deref(), Some("b"));
}

#[test]
fn drain_when_a_conversation_is_transferred_away() {
    let (mut w, q) = full_shop(2, QueueOrder::Fifo);
    w.agent("b", Busy, 1);

    w.transfer(fenliu_core::ConversationId(1), "b");

    assert_eq!(w.agent_of(q[0]).as_deref(), Some("a"));
    assert_eq!(w.queue(), vec![q[1]]);
    assert_eq!((w.load("a"), w.load("b")), (1, 1));
}

#[test]
fn drain_when_max_load_is_raised() {
    let (mut w, q) = full_shop(3, QueueOrder::Fifo);

    w.set_max_load("a", 3);

    assert_eq!(w.queue(), vec![q[2]]);
    assert_eq!(w.load("a"), 3);
}

#[test]
fn lowering_max_load_keeps_conversations_and_drains_nothing() {
    let mut w = World::new();
    w.agent("a", Online, 3);
    for i in 0..3 {
        w.inquire(&format!("x{i}"));
    }
    let q = w.inquire("q");

    w.set_max_load("a", 1);

    assert_eq!(w.load("a"), 3);
    assert_eq!(w.queue(), vec![q.id]);
}

#[test]
fn drain_when_routing_changes() {
    let mut w = World::new();
    w.agent("a", Online, 1).agent("b", Online, 5);
    w.routing(|r| {
        r.overflow = Overflow::None;
        r.rules = vec![rule(When::default(), &["a"], &[])];
    });
    w.inquire("first");
    let q = w.inquire("waiting");
    assert_eq!(q.reason, Reason::Queued);

    w.routing(|r| r.rules.clear());

    assert_eq!(w.agent_of(q.id).as_deref(), Some("b"));
    assert_eq!(w.shop.conversation(q.id).unwrap().reason, Reason::Default);
}

#[test]
fn drain_when_a_group_gains_an_available_member() {
    let mut w = World::new();
    w.agent_in("a", Online, 1, &["g"]);
    w.agent_in("b", Online, 5, &[]);
    w.routing(|r| {
        r.overflow = Overflow::None;
        r.rules = vec![rule(When::default(), &[], &["g"])];
    });
    w.inquire("first");
    let q = w.inquire("waiting");

    w.put_group("g", &["a", "b"]);

    assert_eq!(w.agent_of(q.id).as_deref(), Some("b"));
}

#[test]
fn drain_when_auto_end_frees_a_slot() {
    let (mut w, q) = full_shop(1, QueueOrder::Fifo);
    w.agent_says(fenliu_core::ConversationId(1));

    w.advance(15 * MIN);

    assert_eq!(
        w.shop
            .conversation(fenliu_core::ConversationId(1))
            .unwrap()
            .end_reason,
        Some(EndReason::AutoEnd)
    );
    assert_eq!(w.agent_of(q[0]).as_deref(), Some("a"));
}

#[test]
fn queued_conversation_is_decided_again_with_the_rules_of_that_moment() {
    let mut w = World::new();
    w.agent("a", Online, 1)
        .agent("b", Offline, 5)
        .agent("c", Offline, 5);
    w.inquire("first");
    let mut live = ask("live-buyer");
    live.entry = Entry::Live;
    let q = w.inquire_with(live);
    assert_eq!(q.reason, Reason::Queued);
    w.routing(|r| {
        r.overflow = Overflow::None;
        r.rules = vec![rule(
            When {
                entry: Some(Entry::Live),
                ..When::default()
            },
            &["c"],
            &[],
        )];
    });

    w.set_status("b", Online);
    assert_eq!(w.status_of(q.id), ConversationStatus::Queued);
    w.set_status("c", Online);

    assert_eq!(w.agent_of(q.id).as_deref(), Some("c"));
    let e = &w.shop.conversation(q.id).unwrap().explanation;
    assert_eq!(e.reason, Reason::Rule);
    assert_eq!(e.matched_rule, Some(0));
}

#[test]
fn blocked_head_does_not_block_the_ones_behind() {
    let mut w = World::new();
    w.routing(|r| {
        r.overflow = Overflow::None;
        r.rules = vec![rule(
            When {
                entry: Some(Entry::Live),
                ..When::default()
            },
            &["live-agent"],
            &[],
        )];
    });
    w.agent("live-agent", Online, 1).agent("b", Online, 1);
    w.inquire("x");
    let mut live = ask("head");
    live.entry = Entry::Live;
    w.inquire_with(live.clone());
    let head = w.inquire_with({
        live.buyer_id = bid("head2");
        live
    });
    let behind = w.inquire("behind");
    assert_eq!(w.queue(), vec![head.id, behind.id]);

    // b frees a slot; the live head cannot use it, the one behind can.
    w.end(fenliu_core::ConversationId(1));

    assert_eq!(w.agent_of(behind.id).as_deref(), Some("b"));
    assert_eq!(w.queue(), vec![head.id]);
    assert_eq!(w.position(head.id), Some(1));
}

#[test]
fn queued_buyer_goes_back_to_its_recent_agent_when_it_frees_up() {
    let mut w = World::new();
    w.agent("a", Online, 1).agent("b", Busy, 1);
    let first = w.inquire("b1");
    w.end(first.id);
    let x = w.inquire("x");
    w.set_status("b", Online);
    let y = w.inquire("y");
    assert_eq!(
        (w.agent_of(x.id), w.agent_of(y.id)),
        (Some("a".into()), Some("b".into()))
    );
    let back = w.inquire("b1");
    assert_eq!(back.reason, Reason::Queued);

    w.end(x.id);

    assert_eq!(w.agent_of(back.id).as_deref(), Some("a"));
    assert_eq!(
        w.shop.conversation(back.id).unwrap().reason,
        Reason::RecentContact
    );
}

/// Spec §2: "a queued conversation is decided again each time ... recent
/// contact only to an available agent". The buyer's recent agent can appear
/// while the buyer waits, without any capacity appearing: the agent writes
/// to the buyer's ended conversation within the reply window, which refreshes
/// the mapping. The queued conversation must then go to that agent rather
/// than wait for the next unrelated event.
#[test]
fn queued_conversation_is_decided_again_when_its_buyers_recent_agent_writes_to_it() {
    // Arrange: b1 was served by `a`, the mapping has expired, and b1's new
    // inquiry queues behind a rule whose only agent is offline.
    let mut w = World::new();
    w.routing(|r| {
        r.recent_contact.window_secs = 60;
        r.overflow = Overflow::None;
    });
    w.agent("a", Online, 2).agent("vip", Offline, 1);
    let first = w.inquire("b1");
    w.end(first.id);
    w.advance(61_000);
    w.routing(|r| r.rules = vec![rule(When::default(), &["vip"], &[])]);
    let back = w.inquire("b1");
    assert_eq!(back.reason, Reason::Queued);

    // Act: `a` writes to the ended conversation.
    w.agent_says(first.id);

    // Assert
    assert_eq!(w.agent_of(back.id).as_deref(), Some("a"));
    assert_eq!(
        w.shop.conversation(back.id).unwrap().reason,
        Reason::RecentContact
    );
    assert!(w.queue().is_empty());
}

/// The queue path never exceeds max load, so a saturated recent agent who
/// writes to a queued buyer leaves the buyer waiting.
#[test]
fn a_saturated_recent_agent_writing_to_a_queued_buyer_leaves_it_queued() {
    // Arrange: live inquiries go to `vip` (offline); `a` is full with `x`.
    let mut w = World::new();
    let live = When {
        entry: Some(Entry::Live),
        ..When::default()
    };
    w.routing(|r| {
        r.recent_contact.window_secs = 60;
        r.recent_contact.within_max_load = false;
        r.overflow = Overflow::None;
    });
    w.agent("a", Online, 1).agent("vip", Offline, 1);
    let mut inquiry = ask("b1");
    inquiry.entry = Entry::Live;
    let first = w.inquire_with(inquiry.clone());
    w.end(first.id);
    w.advance(61_000);
    w.routing(|r| r.rules = vec![rule(live, &["vip"], &[])]);
    let back = w.inquire_with(inquiry);
    let x = w.inquire("x");
    assert_eq!(
        (back.reason, w.agent_of(x.id).as_deref()),
        (Reason::Queued, Some("a"))
    );

    // Act
    w.agent_says(first.id);

    // Assert
    assert_eq!(w.status_of(back.id), ConversationStatus::Queued);
    assert_eq!(w.load("a"), 1);
}

#[test]
fn queued_buyer_skips_its_saturated_recent_agent_for_another_available_one() {
    let mut w = World::new();
    w.agent("a", Online, 1).agent("b", Busy, 1);
    let first = w.inquire("b1");
    w.end(first.id);
    w.inquire("x");
    let back = w.inquire("b1");
    assert_eq!(back.reason, Reason::Queued);

    w.set_status("b", Online);

    assert_eq!(w.agent_of(back.id).as_deref(), Some("b"));
    assert_eq!(
        w.shop.conversation(back.id).unwrap().reason,
        Reason::Default
    );
}

#[test]
fn drain_never_assigns_beyond_max_load_even_without_within_max_load() {
    let mut w = World::new();
    w.routing(|r| r.recent_contact.within_max_load = false);
    w.agent("a", Online, 1);
    let first = w.inquire("b1");
    w.end(first.id);
    w.inquire("x");
    w.set_status("a", Busy);
    let back = w.inquire("b1");
    assert_eq!(back.reason, Reason::Queued);

    w.set_status("a", Online);

    assert_eq!(w.status_of(back.id), ConversationStatus::Queued);
    assert_eq!(w.load("a"), 1);
}

#[test]
fn queue_never_uses_offline_routing() {
    let mut w = World::new();
    w.agent("a", Busy, 1).agent("proxy", Offline, 10);
    let q = w.inquire("b1");
    assert_eq!(q.reason, Reason::Queued);
    w.routing(|r| r.offline.agents = vec![aid("proxy")]);
    w.set_status("a", Offline);

    // A change of routing drains, but offline routing is for new inquiries only.
    w.routing(|r| r.busy_threshold = 5);

    assert_eq!(w.status_of(q.id), ConversationStatus::Queued);
    assert_eq!(w.load("proxy"), 0);
    assert_eq!(w.inquire("b2").reason, Reason::Offline);
}

#[test]
fn cancelled_conversation_leaves_the_queue_and_positions_move_up() {
    let (mut w, q) = full_shop(3, QueueOrder::Fifo);

    w.ok(Command::Cancel(q[0]));

    assert_eq!(w.status_of(q[0]), ConversationStatus::Cancelled);
    assert_eq!(w.position(q[0]), None);
    assert_eq!(w.queue(), vec![q[1], q[2]]);
    assert_eq!(w.position(q[2]), Some(2));
    assert!(w
        .fx
        .events
        .iter()
        .any(|e| matches!(e, Event::Cancelled { .. })));
}

#[test]
fn cancelling_twice_is_harmless_and_cancelling_an_active_one_conflicts() {
    let (mut w, q) = full_shop(1, QueueOrder::Fifo);
    w.ok(Command::Cancel(q[0]));

    assert!(w.run(Command::Cancel(q[0])).is_ok());
    assert!(matches!(
        w.run(Command::Cancel(fenliu_core::ConversationId(1))),
        Err(fenliu_core::CoreError::Conflict(_))
    ));
}

#[test]
fn cancelled_buyer_can_inquire_again() {
    let (mut w, q) = full_shop(1, QueueOrder::Fifo);
    w.ok(Command::Cancel(q[0]));

    let again = w.inquire("q0");

    assert!(again.created);
    assert_ne!(again.id, q[0]);
    assert_eq!(w.queue(), vec![again.id]);
}

#[test]
fn deleted_agents_conversations_go_back_to_the_front_of_the_queue() {
    for order in [QueueOrder::Fifo, QueueOrder::Lifo] {
        let (mut w, q) = full_shop(2, order);

        w.ok(Command::DeleteAgent(aid("a")));

        let first = fenliu_core::ConversationId(1);
        assert_eq!(w.status_of(first), ConversationStatus::Queued, "{order:?}");
        assert_eq!(w.position(first), Some(1), "{order:?}");
        assert_eq!(w.shop.queue_len(), 3);
        assert!(w.shop.agent(&aid("a")).is_none());
        // And it is served first when someone comes online.
        w.agent("b", Online, 1);
        assert_eq!(w.agent_of(first).as_deref(), Some("b"), "{order:?}");
        assert!(q
            .iter()
            .all(|&id| w.status_of(id) == ConversationStatus::Queued));
    }
}

#[test]
fn deleting_an_agent_reroutes_its_conversations_to_available_agents() {
    let mut w = World::new();
    w.agent("a", Online, 5).agent("b", Busy, 5);
    let c1 = w.inquire("b1");
    let c2 = w.inquire("b2");
    w.set_status("b", Online);

    w.ok(Command::DeleteAgent(aid("a")));

    assert_eq!(w.agent_of(c1.id).as_deref(), Some("b"));
    assert_eq!(w.agent_of(c2.id).as_deref(), Some("b"));
    assert_eq!(w.unreplied("b"), 2);
    assert_eq!(w.shop.queue_len(), 0);
}

#[test]
fn queue_reports_every_queued_conversation_in_service_order_after_a_change_of_order() {
    let (mut w, q) = full_shop(3, QueueOrder::Fifo);

    w.routing(|r| r.queue.order = QueueOrder::Lifo);

    assert_eq!(w.queue(), vec![q[2], q[1], q[0]]);
    assert_eq!(w.position(q[2]), Some(1));
}

#[test]
fn queued_conversation_overflows_when_its_last_online_target_agent_goes_busy() {
    let mut w = World::new();
    w.agent("c", Online, 1).agent("b", Online, 5);
    w.routing(|r| r.rules = vec![rule(When::default(), &["c"], &[])]);
    w.inquire("first");
    let q = w.inquire("waiting");
    assert_eq!(q.reason, Reason::Queued);

    // Nobody of the target set is online any more: overflow applies, and b is free.
    w.set_status("c", Busy);

    assert_eq!(w.agent_of(q.id).as_deref(), Some("b"));
    assert_eq!(w.shop.conversation(q.id).unwrap().reason, Reason::Overflow);
}
