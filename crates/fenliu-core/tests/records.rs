//! Stored records: a shop written out (snapshot, bincode 2) and read back
//! behaves as the original did, and the keys a command reports as changed
//! are exactly what a store must write.

mod common;

use std::collections::BTreeMap;

use common::*;
use fenliu_core::settings::{QueueOrder, When};
use fenliu_core::AgentStatus::{Busy, Online};
use fenliu_core::{
    Command, ConversationId, ConversationStatus, EndReason, Metric, Reason, RecordKey, Reply, Shop,
    ShopId, SortOrder, Viewer,
};

fn bincode_round_trip(shop: &Shop) -> Shop {
    let bytes = bincode::serde::encode_to_vec(shop, bincode::config::standard()).unwrap();
    let (back, read): (Shop, usize) =
        bincode::serde::decode_from_slice(&bytes, bincode::config::standard()).unwrap();
    assert_eq!(read, bytes.len());
    back
}

/// Replaces the world's shop by its stored-and-restored copy.
fn reload(w: &mut World) {
    let restored = bincode_round_trip(&w.shop);
    w.shop = restored;
    // The owner ticks right after a restore; that brings the day up to date.
    w.shop.tick(w.now, &mut w.rng);
}

/// Two agents, a rule, a group, queued, active (replied and unreplied),
/// ended and cancelled conversations, recent contacts, orders and figures.
fn busy_shop(order: QueueOrder) -> (World, Vec<ConversationId>) {
    let mut w = World::new();
    w.routing(|r| {
        r.queue.order = order;
        r.rules = vec![rule(
            When {
                intent: Some(tag("vip")),
                ..When::default()
            },
            &[],
            &["vip"],
        )];
    });
    w.agent_in("a", Online, 2, &["vip"]);
    w.agent_in("b", Online, 2, &[]);
    let ended = w.inquire("e1");
    w.agent_says(ended.id);
    w.ok(Command::Rate(ended.id, 4));
    w.end(ended.id);
    let active: Vec<_> = (0..4).map(|i| w.inquire(&format!("x{i}")).id).collect();
    w.agent_says(active[0]);
    let queued: Vec<_> = (0..3).map(|i| w.inquire(&format!("q{i}")).id).collect();
    let cancelled = w.inquire("c1");
    w.ok(Command::Cancel(cancelled.id));
    w.ok(Command::Order(tag("o1"), bid("x1")));
    w.now += MIN;
    (w, queued)
}

#[test]
fn restored_shop_has_the_same_records() {
    let (w, _) = busy_shop(QueueOrder::Fifo);

    let restored = bincode_round_trip(&w.shop);

    assert_eq!(records_of(&restored), w.records());
    assert_eq!(restored.id(), w.shop.id());
}

#[test]
fn restore_accepts_records_in_any_order() {
    let (w, _) = busy_shop(QueueOrder::Fifo);
    let mut records = w.shop.snapshot();
    records.reverse();

    let restored = Shop::restore(ShopId::parse("shop-1").unwrap(), records, w.now);

    assert_eq!(records_of(&restored), w.records());
    assert_eq!(
        restored
            .queue(w.now)
            .into_iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        w.queue()
    );
}

#[test]
fn restored_queue_keeps_its_order_and_positions() {
    for order in [QueueOrder::Fifo, QueueOrder::Lifo] {
        let (mut w, queued) = busy_shop(order);
        let before: Vec<_> = queued.iter().map(|&id| w.position(id)).collect();
        let queue = w.queue();

        reload(&mut w);

        assert_eq!(w.queue(), queue, "{order:?}");
        let after: Vec<_> = queued.iter().map(|&id| w.position(id)).collect();
        assert_eq!(after, before, "{order:?}");
        // And they are served in that order.
        w.set_max_load("b", 3);
        assert_eq!(
            w.status_of(queue[0]),
            ConversationStatus::Active,
            "{order:?}"
        );
        assert_eq!(w.queue(), queue[1..].to_vec(), "{order:?}");
    }
}

#[test]
fn restored_loads_and_unreplied_counts_are_the_same() {
    let (mut w, _) = busy_shop(QueueOrder::Fifo);
    let agents: Vec<_> = w.shop.agents().cloned().collect();

    reload(&mut w);

    assert_eq!(w.shop.agents().cloned().collect::<Vec<_>>(), agents);
    assert_eq!(w.inquire("new").reason, Reason::Queued, "both still full");
}

#[test]
fn restored_reply_clock_still_becomes_late() {
    let mut w = World::new();
    w.online("a");
    let c = w.inquire("b1");
    w.now += MIN;

    reload(&mut w);
    w.advance(2 * MIN + 1);

    assert!(w.shop.conversation(c.id).unwrap().clock.late);
}

#[test]
fn restored_conversation_still_auto_ends_and_frees_its_slot() {
    let mut w = World::new();
    w.agent("a", Online, 1);
    let c = w.inquire("b1");
    w.agent_says(c.id);
    let q = w.inquire("b2");
    w.now += 5 * MIN;

    reload(&mut w);
    w.advance(10 * MIN);

    let conv = w.shop.conversation(c.id).unwrap();
    assert_eq!(conv.end_reason, Some(EndReason::AutoEnd));
    assert_eq!(w.agent_of(q.id).as_deref(), Some("a"));
}

#[test]
fn restored_ended_conversation_is_still_purged() {
    let mut w = World::new();
    w.online("a");
    let c = w.inquire("b1");
    w.end(c.id);

    reload(&mut w);
    w.advance(72 * HOUR + DAY);

    assert!(w.shop.conversation(c.id).is_none());
}

#[test]
fn restored_recent_contact_still_applies_and_expires() {
    let mut w = World::new();
    w.agent("a", Online, 5).agent("b", Busy, 5);
    let c = w.inquire("b1");
    w.end(c.id);
    w.inquire("x");
    w.set_status("b", Online);

    reload(&mut w);
    let back = w.inquire("b1");
    assert_eq!(back.reason, Reason::RecentContact);
    w.end(back.id);
    reload(&mut w);
    w.advance(72 * HOUR);
    let later = w.inquire("b1");

    assert_eq!(later.reason, Reason::Default);
    assert_eq!(w.agent_of(later.id).as_deref(), Some("b"));
}

#[test]
fn restored_orders_answer_the_same_and_allow_proactive_conversations() {
    let mut w = World::new();
    w.agent("a", Online, 5);
    let c = w.inquire("b1");
    let Reply::Order(first) = w.ok(Command::Order(tag("o1"), bid("b1"))) else {
        panic!()
    };
    w.end(c.id);

    reload(&mut w);

    assert_eq!(
        w.ok(Command::Order(tag("o1"), bid("b1"))),
        Reply::Order(first)
    );
    assert!(w.run(Command::Order(tag("o1"), bid("b2"))).is_err());
    assert!(w.run(Command::OpenProactive(aid("a"), bid("b1"))).is_ok());
}

#[test]
fn restored_order_credit_goes_to_the_latest_conversation() {
    let mut w = World::new();
    w.agent("a", Online, 5).agent("b", Busy, 5);
    let c1 = w.inquire("b1");
    w.end(c1.id);
    w.routing(|r| r.recent_contact.enabled = false);
    w.set_status("a", Busy);
    w.set_status("b", Online);
    w.now += MIN;
    let c2 = w.inquire("b1");
    w.end(c2.id);

    reload(&mut w);
    let Reply::Order(o) = w.ok(Command::Order(tag("o1"), bid("b1"))) else {
        panic!()
    };

    assert_eq!(o.credited_agent, Some(aid("b")));
}

#[test]
fn restored_ranking_is_the_same() {
    let (mut w, _) = busy_shop(QueueOrder::Fifo);
    let before = w
        .shop
        .ranking(
            Metric::Sessions,
            SortOrder::Desc,
            None,
            &Viewer::Everyone,
            w.now,
        )
        .unwrap();

    reload(&mut w);

    let after = w
        .shop
        .ranking(
            Metric::Sessions,
            SortOrder::Desc,
            None,
            &Viewer::Everyone,
            w.now,
        )
        .unwrap();
    assert_eq!(after, before);
}

#[test]
fn restored_rules_and_groups_route_the_same() {
    let (mut w, _) = busy_shop(QueueOrder::Fifo);
    w.set_max_load("a", 10);
    w.set_max_load("b", 10);

    reload(&mut w);
    let mut vip = ask("vip-buyer");
    vip.intent = Some(tag("vip"));
    let got = w.inquire_with(vip);

    assert_eq!(got.reason, Reason::Rule);
    assert_eq!(w.agent_of(got.id).as_deref(), Some("a"));
}

#[test]
fn restored_shop_keeps_numbering_conversations_after_the_last_one() {
    let (mut w, _) = busy_shop(QueueOrder::Fifo);
    let highest = w.shop.open_conversation_of(&bid("c1"));
    assert_eq!(highest, None, "cancelled, but numbered");
    let highest = w.shop.open_conversation_of(&bid("q2")).unwrap();

    reload(&mut w);
    let next = w.inquire("brand-new");

    assert_eq!(next.id, ConversationId(highest.0 + 2));
}

#[test]
fn changed_keys_are_exactly_what_a_store_must_write() {
    let mut w = World::new();
    let mut store: BTreeMap<RecordKey, String> = BTreeMap::new();
    let apply = |w: &mut World, store: &mut BTreeMap<RecordKey, String>| {
        for key in &w.take_unsaved().changed {
            match w.shop.record(key) {
                Some(r) => {
                    assert_eq!(&key_of(&r), key);
                    store.insert(key.clone(), format!("{r:?}"));
                }
                None => {
                    store.remove(key);
                }
            }
        }
        assert_eq!(*store, w.records());
    };
    // The store starts from the shop as first written.
    w.online("a");
    store.extend(w.records());
    w.take_unsaved();

    let steps: Vec<fn(&mut World)> = vec![
        |w| {
            w.put_group("g", &["a"]);
        },
        |w| {
            w.inquire("b1");
        },
        |w| {
            w.buyer_says(ConversationId(1));
        },
        |w| {
            w.agent_says(ConversationId(1));
        },
        |w| {
            w.ok(Command::Order(tag("o1"), bid("b1")));
        },
        |w| {
            w.end(ConversationId(1));
        },
        |w| {
            w.set_max_load("a", 1);
        },
        |w| {
            w.inquire("b2");
        },
        |w| {
            w.inquire("b3");
        },
        |w| {
            w.ok(Command::Cancel(ConversationId(3)));
        },
        |w| {
            w.ok(Command::DeleteAgent(aid("a")));
        },
        |w| {
            w.agent_in("b", Online, 5, &["g"]);
        },
        |w| {
            w.ok(Command::OpenProactive(aid("b"), bid("b1")));
        },
        |w| {
            w.advance(DAY);
        },
        |w| {
            w.advance(40 * DAY);
        },
    ];
    for step in steps {
        w.now += SEC;
        step(&mut w);
        apply(&mut w, &mut store);
    }
}
