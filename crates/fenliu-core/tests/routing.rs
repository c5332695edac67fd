//! Section 2 of the spec: how a new inquiry is decided, step by step.

mod common;

use std::collections::BTreeMap;

use common::*;
use fenliu_core::settings::{Overflow, When};
use fenliu_core::AgentStatus::{Busy, Offline, Online};
use fenliu_core::{ConversationStatus, Entry, Reason, Strategy};

// ---- 1. existing conversation ----------------------------------------------

#[test]
fn repeated_inquiry_returns_the_active_conversation_unchanged() {
    let mut w = World::new();
    w.online("a");
    let first = w.inquire("b1");

    let again = w.inquire_with(common::ask("b1"));

    assert_eq!(again.id, first.id);
    assert!(!again.created);
    assert_eq!(again.reason, Reason::Existing);
    assert_eq!(w.load("a"), 1);
    assert_eq!(
        w.shop.conversation(first.id).unwrap().reason,
        Reason::Default
    );
}

#[test]
fn repeated_inquiry_returns_the_queued_conversation_unchanged() {
    let mut w = World::new();
    let first = w.inquire("b1");
    assert_eq!(first.reason, Reason::Queued);

    let mut other_entry = common::ask("b1");
    other_entry.entry = Entry::Live;
    let again = w.inquire_with(other_entry);

    assert_eq!(again.id, first.id);
    assert_eq!(again.reason, Reason::Existing);
    assert_eq!(w.queue(), vec![first.id]);
}

// ---- 2. recent contact -----------------------------------------------------

/// A buyer served by `a` whose conversation then ended, with `b` idle so
/// that without recent contact `b` would be picked.
fn returning_buyer_world() -> World {
    let mut w = World::new();
    w.online("a");
    let first = w.inquire("b1");
    assert_eq!(w.agent_of(first.id).as_deref(), Some("a"));
    w.end(first.id);
    w.inquire("filler-1");
    w.online("b");
    w
}

#[test]
fn returning_buyer_goes_to_recent_agent_within_72h() {
    let mut w = returning_buyer_world();
    w.now += 71 * HOUR;

    let back = w.inquire("b1");

    assert_eq!(back.reason, Reason::RecentContact);
    assert_eq!(w.agent_of(back.id).as_deref(), Some("a"));
}

#[test]
fn recent_contact_expires_72h_after_the_last_refresh() {
    let mut w = returning_buyer_world();
    w.now += 72 * HOUR;

    let back = w.inquire("b1");

    assert_eq!(back.reason, Reason::Default);
    assert_eq!(w.agent_of(back.id).as_deref(), Some("b"));
}

#[test]
fn recent_contact_is_refreshed_by_every_message() {
    let mut w = World::new();
    w.online("a");
    let first = w.inquire("b1");
    w.now += 10 * HOUR;
    w.buyer_says(first.id);
    w.now += 10 * HOUR;
    w.agent_says(first.id);
    w.end(first.id);
    w.inquire("filler-1");
    w.online("b");

    // 72 h after the assignment, but less than 72 h after the last message.
    w.now = T0 + 72 * HOUR;
    let back = w.inquire("b1");

    assert_eq!(back.reason, Reason::RecentContact);
    assert_eq!(w.agent_of(back.id).as_deref(), Some("a"));
}

#[test]
fn agent_message_after_the_end_refreshes_recent_contact() {
    let mut w = returning_buyer_world();
    w.now += 48 * HOUR;
    w.agent_says(fenliu_core::ConversationId(1));
    w.now += 48 * HOUR;

    let back = w.inquire("b1");

    assert_eq!(back.reason, Reason::RecentContact);
}

#[test]
fn recent_contact_window_follows_the_setting() {
    let mut w = returning_buyer_world();
    w.routing(|r| r.recent_contact.window_secs = 3_600);
    w.now += HOUR - 1;
    // The mapping was refreshed under the 72 h window; a new one uses 1 h.
    let back = w.inquire("b1");
    assert_eq!(back.reason, Reason::RecentContact);
    w.end(back.id);

    w.now += HOUR;
    let later = w.inquire("b1");

    assert_eq!(later.reason, Reason::Default);
}

#[test]
fn recent_contact_goes_before_rules_weights_and_entry() {
    let mut w = returning_buyer_world();
    w.set_weight("b", 100);
    w.routing(|r| {
        r.strategy = Strategy::Weighted;
        r.rules = vec![rule(When::default(), &["b"], &[])];
    });

    let mut from_live = common::ask("b1");
    from_live.entry = Entry::Live;
    let back = w.inquire_with(from_live);

    assert_eq!(back.reason, Reason::RecentContact);
    assert_eq!(w.agent_of(back.id).as_deref(), Some("a"));
}

#[test]
fn recent_contact_ignores_the_recent_agents_unreplied_count() {
    let mut w = returning_buyer_world();
    w.set_status("b", Busy);
    for i in 0..5 {
        w.inquire(&format!("x{i}"));
    }
    w.set_status("b", Online);
    assert!(w.unreplied("a") > w.unreplied("b"));

    let back = w.inquire("b1");

    assert_eq!(w.agent_of(back.id).as_deref(), Some("a"));
}

#[test]
fn recent_agent_at_max_load_is_skipped_when_within_max_load() {
    let mut w = World::new();
    w.agent("a", Online, 1);
    let first = w.inquire("b1");
    w.end(first.id);
    w.inquire("other");
    w.online("b");

    let back = w.inquire("b1");

    assert_eq!(back.reason, Reason::Default);
    assert_eq!(w.agent_of(back.id).as_deref(), Some("b"));
    let e = &w.shop.conversation(back.id).unwrap().explanation;
    assert_eq!(
        e.recent_contact,
        fenliu_core::explain::RecentContactCheck::Skipped {
            agent_id: aid("a"),
            why: fenliu_core::Verdict::Saturated,
        }
    );
}

#[test]
fn recent_agent_at_max_load_is_queued_for_rather_than_exceeded_when_within_max_load() {
    let mut w = World::new();
    w.agent("a", Online, 1);
    let first = w.inquire("b1");
    w.end(first.id);
    w.inquire("other");

    let back = w.inquire("b1");

    assert_eq!(back.reason, Reason::Queued);
    assert_eq!(w.load("a"), 1);
}

#[test]
fn recent_agent_at_max_load_still_gets_the_buyer_without_within_max_load() {
    let mut w = World::new();
    w.routing(|r| r.recent_contact.within_max_load = false);
    w.agent("a", Online, 1);
    let first = w.inquire("b1");
    w.end(first.id);
    w.inquire("other");
    w.online("b");

    let back = w.inquire("b1");

    assert_eq!(back.reason, Reason::RecentContact);
    assert_eq!(w.agent_of(back.id).as_deref(), Some("a"));
    assert_eq!(w.load("a"), 2);
}

#[test]
fn within_max_load_has_no_effect_in_no_queue_mode() {
    let mut w = World::new();
    w.routing(|r| {
        r.queue.enabled = false;
        r.recent_contact.within_max_load = true;
    });
    w.agent("a", Online, 1);
    let first = w.inquire("b1");
    w.end(first.id);
    w.inquire("other");
    w.online("b");

    let back = w.inquire("b1");

    assert_eq!(back.reason, Reason::RecentContact);
    assert_eq!(w.agent_of(back.id).as_deref(), Some("a"));
    assert_eq!(w.load("a"), 2);
}

#[test]
fn busy_or_offline_recent_agent_is_skipped() {
    for status in [Busy, Offline] {
        let mut w = returning_buyer_world();
        w.set_status("a", status);

        let back = w.inquire("b1");

        assert_eq!(back.reason, Reason::Default, "{status}");
        assert_eq!(w.agent_of(back.id).as_deref(), Some("b"), "{status}");
    }
}

#[test]
fn recent_contact_disabled_routes_by_the_other_steps() {
    let mut w = returning_buyer_world();
    w.routing(|r| r.recent_contact.enabled = false);

    let back = w.inquire("b1");

    assert_eq!(back.reason, Reason::Default);
    assert_eq!(w.agent_of(back.id).as_deref(), Some("b"));
    assert_eq!(
        w.shop
            .conversation(back.id)
            .unwrap()
            .explanation
            .recent_contact,
        fenliu_core::explain::RecentContactCheck::Disabled
    );
}

#[test]
fn recent_contact_follows_a_transfer() {
    let mut w = World::new();
    w.online("a").online("b");
    w.set_status("b", Busy);
    let first = w.inquire("b1");
    assert_eq!(w.agent_of(first.id).as_deref(), Some("a"));
    w.transfer(first.id, "b");
    w.set_status("b", Online);
    w.end(first.id);
    // a is now idler than b, but b served the buyer last.
    w.inquire("x");

    let back = w.inquire("b1");

    assert_eq!(back.reason, Reason::RecentContact);
    assert_eq!(w.agent_of(back.id).as_deref(), Some("b"));
}

// ---- 3. rules --------------------------------------------------------------

fn when_entry(entry: Entry) -> When {
    When {
        entry: Some(entry),
        ..When::default()
    }
}

/// Agents `a`, `b`, `c` online; groups `g1` = {b}, `g2` = {c}.
fn three_agents() -> World {
    let mut w = World::new();
    w.agent_in("a", Online, 10, &[]);
    w.agent_in("b", Online, 10, &["g1"]);
    w.agent_in("c", Online, 10, &["g2"]);
    w
}

#[test]
fn rule_on_entry_sends_the_entry_to_its_agents() {
    let mut w = three_agents();
    w.routing(|r| r.rules = vec![rule(when_entry(Entry::Live), &["c"], &[])]);

    for i in 0..5 {
        let mut q = common::ask(&format!("b{i}"));
        q.entry = Entry::Live;
        let got = w.inquire_with(q);
        assert_eq!(got.reason, Reason::Rule);
        assert_eq!(w.agent_of(got.id).as_deref(), Some("c"));
    }
    let other = w.inquire("direct");
    assert_eq!(other.reason, Reason::Default);
}

#[test]
fn product_detail_question_goes_to_the_agent_bound_to_that_question() {
    // The spec's example: 分入口分配 on product_detail + "发什么快递".
    let mut w = three_agents();
    w.routing(|r| {
        r.rules = vec![rule(
            When {
                entry: Some(Entry::ProductDetail),
                question: Some(tag("发什么快递")),
                ..When::default()
            },
            &["a"],
            &[],
        )]
    });
    // a is the most loaded agent, so only the rule can send the buyer there.
    w.set_status("b", Busy);
    w.set_status("c", Busy);
    w.inquire("x1");
    w.inquire("x2");
    w.set_status("b", Online);
    w.set_status("c", Online);

    let mut q = common::ask("b1");
    q.entry = Entry::ProductDetail;
    q.question = Some(tag("发什么快递"));
    let got = w.inquire_with(q);

    assert_eq!(got.reason, Reason::Rule);
    assert_eq!(w.agent_of(got.id).as_deref(), Some("a"));
    let e = &w.shop.conversation(got.id).unwrap().explanation;
    assert_eq!(e.matched_rule, Some(0));
}

#[test]
fn same_question_from_another_entry_does_not_match() {
    let mut w = three_agents();
    w.routing(|r| {
        r.rules = vec![rule(
            When {
                entry: Some(Entry::ProductDetail),
                question: Some(tag("发什么快递")),
                ..When::default()
            },
            &["a"],
            &[],
        )]
    });

    let mut q = common::ask("b1");
    q.entry = Entry::OrderDetail;
    q.question = Some(tag("发什么快递"));
    let got = w.inquire_with(q);

    assert_eq!(got.reason, Reason::Default);
}

#[test]
fn rule_on_order_state_sends_to_its_group() {
    let mut w = three_agents();
    w.routing(|r| {
        r.rules = vec![rule(
            When {
                order_state: Some(tag("after_sale")),
                ..When::default()
            },
            &[],
            &["g2"],
        )]
    });

    for i in 0..4 {
        let mut q = common::ask(&format!("b{i}"));
        q.order_state = Some(tag("after_sale"));
        let got = w.inquire_with(q);
        assert_eq!(got.reason, Reason::Rule);
        assert_eq!(w.agent_of(got.id).as_deref(), Some("c"));
    }
}

#[test]
fn rule_on_product_id_sends_to_its_group() {
    let mut w = three_agents();
    w.routing(|r| {
        r.rules = vec![rule(
            When {
                product_id: Some(tag("sku-42")),
                ..When::default()
            },
            &[],
            &["g1"],
        )]
    });

    let mut q = common::ask("b1");
    q.product_id = Some(tag("sku-42"));
    let got = w.inquire_with(q);
    let mut other = common::ask("b2");
    other.product_id = Some(tag("sku-43"));
    let miss = w.inquire_with(other);

    assert_eq!(got.reason, Reason::Rule);
    assert_eq!(w.agent_of(got.id).as_deref(), Some("b"));
    assert_eq!(miss.reason, Reason::Default);
}

#[test]
fn rule_on_intent_sends_to_its_agents() {
    let mut w = three_agents();
    w.routing(|r| {
        r.rules = vec![rule(
            When {
                intent: Some(tag("refund")),
                ..When::default()
            },
            &["a"],
            &[],
        )]
    });

    for i in 0..3 {
        let mut q = common::ask(&format!("b{i}"));
        q.intent = Some(tag("refund"));
        let got = w.inquire_with(q);
        assert_eq!(w.agent_of(got.id).as_deref(), Some("a"));
    }
}

#[test]
fn rule_values_match_exactly() {
    let mut w = three_agents();
    w.routing(|r| {
        r.rules = vec![rule(
            When {
                intent: Some(tag("refund")),
                ..When::default()
            },
            &["a"],
            &[],
        )]
    });

    let mut q = common::ask("b1");
    q.intent = Some(tag("Refund"));
    let got = w.inquire_with(q);

    assert_eq!(got.reason, Reason::Default);
}

#[test]
fn first_matching_rule_wins() {
    let mut w = three_agents();
    w.routing(|r| {
        r.rules = vec![
            rule(
                When {
                    intent: Some(tag("refund")),
                    ..When::default()
                },
                &["a"],
                &[],
            ),
            rule(when_entry(Entry::Live), &["b"], &[]),
            rule(When::default(), &["c"], &[]),
        ]
    });

    let mut both = common::ask("b1");
    both.entry = Entry::Live;
    both.intent = Some(tag("refund"));
    let first = w.inquire_with(both);
    let mut live = common::ask("b2");
    live.entry = Entry::Live;
    let second = w.inquire_with(live);
    let rest = w.inquire("b3");

    assert_eq!(w.agent_of(first.id).as_deref(), Some("a"));
    assert_eq!(w.agent_of(second.id).as_deref(), Some("b"));
    assert_eq!(w.agent_of(rest.id).as_deref(), Some("c"));
    let matched = |id| w.shop.conversation(id).unwrap().explanation.matched_rule;
    assert_eq!(
        (matched(first.id), matched(second.id), matched(rest.id)),
        (Some(0), Some(1), Some(2))
    );
}

#[test]
fn absent_when_fields_match_anything_but_present_ones_need_a_value() {
    let mut w = three_agents();
    // Only `entry` is set: any question, order state, product and intent match.
    w.routing(|r| {
        r.rules = vec![
            rule(
                When {
                    question: Some(tag("q")),
                    ..When::default()
                },
                &["a"],
                &[],
            ),
            rule(when_entry(Entry::Other), &["b"], &[]),
        ]
    });

    let mut full = common::ask("b1");
    full.entry = Entry::Other;
    full.order_state = Some(tag("shipped"));
    full.product_id = Some(tag("p"));
    full.intent = Some(tag("i"));
    let got = w.inquire_with(full);
    // A rule on a question does not match an inquiry without one.
    let mut no_question = common::ask("b2");
    no_question.entry = Entry::Other;
    let got2 = w.inquire_with(no_question);

    assert_eq!(w.agent_of(got.id).as_deref(), Some("b"));
    assert_eq!(w.agent_of(got2.id).as_deref(), Some("b"));
}

#[test]
fn rule_with_an_empty_when_matches_every_inquiry() {
    let mut w = three_agents();
    w.routing(|r| r.rules = vec![rule(When::default(), &["b"], &[])]);

    for entry in [Entry::ProductDetail, Entry::Live, Entry::Other] {
        let mut q = common::ask(&format!("{entry:?}"));
        q.entry = entry;
        let got = w.inquire_with(q);
        assert_eq!(got.reason, Reason::Rule);
        assert_eq!(w.agent_of(got.id).as_deref(), Some("b"));
    }
}

#[test]
fn rule_target_set_is_its_agents_plus_the_members_of_its_groups() {
    let mut w = World::new();
    for a in ["a", "b", "c", "d"] {
        w.online(a);
    }
    w.put_group("g1", &["b"]);
    w.put_group("g2", &["c", "b"]);
    w.routing(|r| r.rules = vec![rule(When::default(), &["a"], &["g1", "g2"])]);

    let mut got: BTreeMap<String, u32> = BTreeMap::new();
    for i in 0..30 {
        let c = w.inquire(&format!("b{i}"));
        *got.entry(w.agent_of(c.id).unwrap()).or_default() += 1;
    }

    // least_saturation over {a, b, c}, 10 slots each: every slot filled, d never.
    assert_eq!(
        got,
        BTreeMap::from([("a".into(), 10), ("b".into(), 10), ("c".into(), 10)])
    );
    assert_eq!(w.inquire("b30").reason, Reason::Queued);
}

#[test]
fn no_matching_rule_targets_every_agent_of_the_shop() {
    let mut w = three_agents();
    w.routing(|r| r.rules = vec![rule(when_entry(Entry::Live), &["a"], &[])]);

    let mut seen = std::collections::BTreeSet::new();
    for i in 0..9 {
        let c = w.inquire(&format!("b{i}"));
        assert_eq!(c.reason, Reason::Default);
        seen.insert(w.agent_of(c.id).unwrap());
    }

    assert_eq!(seen.len(), 3);
}

#[test]
fn rule_group_membership_changes_apply_to_the_next_inquiry() {
    let mut w = three_agents();
    w.routing(|r| r.rules = vec![rule(When::default(), &[], &["g1"])]);
    w.put_group("g1", &["c"]);

    let got = w.inquire("b1");

    assert_eq!(w.agent_of(got.id).as_deref(), Some("c"));
}

#[test]
fn a_rule_naming_agents_and_groups_follows_members_agents_and_deletions() {
    // The rule names an agent that does not exist yet and two groups.
    let mut w = World::new();
    w.online("a").online("b").online("c");
    w.put_group("g1", &["a"]);
    w.routing(|r| r.rules = vec![rule(When::default(), &["later"], &["g1", "g2"])]);
    let served = |w: &mut World, buyer: &str| {
        let c = w.inquire(buyer);
        let agent = w.agent_of(c.id);
        w.end(c.id);
        agent
    };
    assert_eq!(served(&mut w, "b1").as_deref(), Some("a"));

    // b joins g2 and a leaves g1: only b is in the target set.
    w.put_group("g2", &["b"]);
    w.put_group("g1", &[]);
    assert_eq!(served(&mut w, "b2").as_deref(), Some("b"));

    // The named agent is created and b is deleted: only `later` is left.
    w.online("later");
    w.ok(fenliu_core::Command::DeleteAgent(aid("b")));
    assert_eq!(served(&mut w, "b3").as_deref(), Some("later"));

    // c joins through its own groups, and takes work when `later` is busy.
    w.ok(fenliu_core::Command::UpsertAgent {
        agent: aid("c"),
        display_name: None,
        weight: None,
        groups: Some(vec![gid("g1")]),
    });
    w.set_status("later", Busy);
    let got = w.inquire("b4");
    assert_eq!(got.reason, Reason::Rule);
    assert_eq!(w.agent_of(got.id).as_deref(), Some("c"));
}

// ---- 4. overflow -----------------------------------------------------------

#[test]
fn overflow_any_online_when_no_target_agent_is_online() {
    let mut w = three_agents();
    w.set_status("c", Busy);
    w.routing(|r| r.rules = vec![rule(When::default(), &[], &["g2"])]);

    let got = w.inquire("b1");

    assert_eq!(got.reason, Reason::Overflow);
    assert!(matches!(w.agent_of(got.id).as_deref(), Some("a" | "b")));
    assert!(w.shop.conversation(got.id).unwrap().explanation.overflowed);
}

#[test]
fn overflow_any_online_also_applies_to_a_rule_naming_unknown_agents() {
    let mut w = three_agents();
    w.routing(|r| r.rules = vec![rule(When::default(), &["ghost"], &["no-such-group"])]);

    let got = w.inquire("b1");

    assert_eq!(got.reason, Reason::Overflow);
}

#[test]
fn overflow_none_keeps_the_target_set_and_queues() {
    let mut w = three_agents();
    w.set_status("c", Offline);
    w.routing(|r| {
        r.overflow = Overflow::None;
        r.rules = vec![rule(When::default(), &[], &["g2"])];
    });

    let got = w.inquire("b1");

    assert_eq!(got.reason, Reason::Queued);
    assert_eq!(w.queue(), vec![got.id]);
    assert_eq!(w.position(got.id), Some(1));
}

#[test]
fn no_overflow_when_a_target_agent_is_online_but_saturated() {
    let mut w = three_agents();
    w.set_max_load("c", 1);
    w.routing(|r| r.rules = vec![rule(When::default(), &["c"], &[])]);
    w.inquire("first");

    let got = w.inquire("b1");

    assert_eq!(got.reason, Reason::Queued);
    assert_eq!(w.load("c"), 1);
}

// ---- 5. offline routing ----------------------------------------------------

#[test]
fn offline_routing_goes_to_the_least_loaded_offline_agent_when_nobody_is_online_or_busy() {
    let mut w = World::new();
    w.agent("night1", Offline, 1);
    w.agent("night2", Offline, 1);
    w.routing(|r| r.offline.agents = vec![aid("night1"), aid("night2")]);

    let first = w.inquire("b1");
    let second = w.inquire("b2");

    assert_eq!(first.reason, Reason::Offline);
    let c = w.shop.conversation(first.id).unwrap();
    assert!(c.offline_delivery);
    assert_eq!(c.status, ConversationStatus::Active);
    // The second goes to the other one, the least loaded.
    assert_ne!(w.agent_of(first.id), w.agent_of(second.id));
    assert_eq!((w.load("night1"), w.load("night2")), (1, 1));
}

#[test]
fn offline_routing_ignores_status_and_max_load() {
    let mut w = World::new();
    w.agent("proxy", Offline, 1);
    w.routing(|r| r.offline.agents = vec![aid("proxy")]);

    let reasons: Vec<Reason> = (0..3).map(|i| w.inquire(&format!("b{i}")).reason).collect();

    assert_eq!(reasons, vec![Reason::Offline; 3]);
    assert_eq!(w.load("proxy"), 3);
}

#[test]
fn offline_routing_does_not_apply_while_an_agent_is_busy() {
    let mut w = World::new();
    w.agent("day", Busy, 10);
    w.agent("proxy", Offline, 10);
    w.routing(|r| r.offline.agents = vec![aid("proxy")]);

    let got = w.inquire("b1");

    assert_eq!(got.reason, Reason::Queued);
    assert!(!w.shop.conversation(got.id).unwrap().offline_delivery);
}

#[test]
fn offline_routing_does_not_apply_while_an_agent_is_online() {
    let mut w = World::new();
    w.agent("day", Online, 1);
    w.agent("proxy", Offline, 10);
    w.routing(|r| r.offline.agents = vec![aid("proxy")]);
    w.inquire("first");

    let got = w.inquire("b1");

    assert_eq!(got.reason, Reason::Queued);
    assert_eq!(w.load("proxy"), 0);
}

#[test]
fn no_offline_agents_configured_queues_when_nobody_is_online() {
    let mut w = World::new();
    w.agent("a", Offline, 10);

    let got = w.inquire("b1");

    assert_eq!(got.reason, Reason::Queued);
}

// ---- 6. pick: least_saturation ---------------------------------------------

#[test]
fn idle_80_percent_vs_90_percent_goes_to_b() {
    let mut w = World::new();
    w.agent("A", Online, 10).agent("B", Busy, 30);
    w.inquire("a1");
    w.inquire("a2");
    w.set_status("A", Busy);
    w.set_status("B", Online);
    for i in 0..3 {
        w.inquire(&format!("b{i}"));
    }
    w.set_status("A", Online);
    assert_eq!((w.load("A"), w.load("B")), (2, 3));

    let got = w.inquire("buyer");

    assert_eq!(w.agent_of(got.id).as_deref(), Some("B"));
}

#[test]
fn least_saturation_breaks_ties_at_random() {
    let mut picked = BTreeMap::<String, u32>::new();
    for seed in 0..64 {
        let mut w = World::seeded(seed);
        w.agent("A", Online, 10).agent("B", Online, 20);
        let got = w.inquire("b1");
        *picked.entry(w.agent_of(got.id).unwrap()).or_default() += 1;
    }

    assert_eq!(picked.len(), 2, "{picked:?}");
    assert!(picked.values().all(|&n| n >= 16), "{picked:?}");
}

#[test]
fn least_saturation_treats_equal_fractions_as_ties() {
    let mut picked = BTreeMap::<String, u32>::new();
    for seed in 0..64 {
        let mut w = World::seeded(seed);
        // A at 1/2, B at 2/4: equal saturation.
        w.agent("A", Online, 2).agent("B", Busy, 4);
        w.inquire("x1");
        w.set_status("A", Busy);
        w.set_status("B", Online);
        w.inquire("x2");
        w.inquire("x3");
        w.set_status("A", Online);
        let got = w.inquire("b1");
        *picked.entry(w.agent_of(got.id).unwrap()).or_default() += 1;
    }

    assert_eq!(picked.len(), 2, "{picked:?}");
}

#[test]
fn least_saturation_in_a_group_target_and_in_a_mixed_target() {
    for groups in [&["g"][..], &["g", "h"][..]] {
        let mut w = World::new();
        w.agent_in("a", Online, 10, &["g"]);
        w.agent_in("b", Online, 30, &["g"]);
        w.agent_in("c", Online, 10, &[]);
        w.routing(|r| r.rules = vec![rule(When::default(), &[], groups)]);

        let loads: Vec<(u32, u32)> = (0..8)
            .map(|i| {
                w.inquire(&format!("b{i}"));
                (w.load("a"), w.load("b"))
            })
            .collect();

        // b (max 30) keeps a lower saturation than a (max 10): 3 for 1.
        assert_eq!(loads.last(), Some(&(2, 6)), "{groups:?}: {loads:?}");
        assert_eq!(w.load("c"), 0);
    }
}

// ---- 6. pick: even ---------------------------------------------------------

#[test]
fn even_picks_the_agent_with_fewest_assigned_today() {
    let mut w = World::new();
    w.routing(|r| r.strategy = Strategy::Even);
    w.agent("a", Online, 10).agent("b", Busy, 10);
    for i in 0..3 {
        let c = w.inquire(&format!("x{i}"));
        w.end(c.id);
    }
    w.set_status("b", Online);

    // a has 0 load but 3 assigned today; b has 0: b takes the next three.
    let got: Vec<String> = (0..3)
        .map(|i| {
            let c = w.inquire(&format!("b{i}"));
            w.agent_of(c.id).unwrap()
        })
        .collect();

    assert_eq!(got, vec!["b", "b", "b"]);
}

#[test]
fn even_counts_work_assigned_before_the_shop_switched_to_it() {
    // Under least_saturation a takes three conversations while b is busy;
    // then the shop switches to even distribution.
    let mut w = World::new();
    w.agent_in("a", Online, 10, &["g"])
        .agent_in("b", Busy, 10, &["g"]);
    for i in 0..3 {
        let c = w.inquire(&format!("x{i}"));
        w.end(c.id);
    }
    w.set_status("b", Online);
    w.routing(|r| {
        r.strategy = Strategy::Even;
        r.rules = vec![rule(
            When {
                entry: Some(Entry::Live),
                ..When::default()
            },
            &[],
            &["g"],
        )];
    });

    // Both idle, but a has 3 assigned today: b takes the next ones, in the
    // shop and in the group a rule targets alike.
    let shop_wide = w.inquire("s1");
    let mut live = common::ask("l1");
    live.entry = Entry::Live;
    let in_group = w.inquire_with(live);

    assert_eq!(w.agent_of(shop_wide.id).as_deref(), Some("b"));
    assert_eq!(in_group.reason, Reason::Rule);
    assert_eq!(w.agent_of(in_group.id).as_deref(), Some("b"));
}

#[test]
fn even_gives_new_work_to_a_late_shift_agent_who_comes_online() {
    let mut w = World::new();
    w.routing(|r| r.strategy = Strategy::Even);
    w.agent("early", Online, 50);
    for i in 0..5 {
        let c = w.inquire(&format!("m{i}"));
        w.end(c.id);
    }
    w.now += 8 * HOUR;
    w.agent("late", Online, 50);

    let got: Vec<String> = (0..6)
        .map(|i| {
            let c = w.inquire(&format!("e{i}"));
            w.agent_of(c.id).unwrap()
        })
        .collect();

    assert_eq!(&got[..5], &["late"; 5]);
}

#[test]
fn even_counts_reset_at_midnight_in_the_shops_time_zone() {
    let mut w = World::new();
    w.routing(|r| {
        r.strategy = Strategy::Even;
        r.timezone = fenliu_core::TzOffset::parse("-05:00").unwrap();
    });
    // 23:00 in the shop's zone.
    let midnight = fenliu_core::TzOffset::parse("-05:00")
        .unwrap()
        .start_of(w.shop.today(w.now) + 1);
    w.now = midnight - HOUR;
    w.agent("a", Online, 50).agent("b", Busy, 50);
    for i in 0..4 {
        let c = w.inquire(&format!("x{i}"));
        w.end(c.id);
    }
    w.set_status("b", Online);
    let c = w.inquire("before");
    w.end(c.id);
    assert_eq!(w.agent_of(c.id).as_deref(), Some("b"));

    // After midnight both start from 0; a has lower saturation? equal (0), so
    // both are tied: over many inquiries a gets work again.
    w.now = midnight + 1;
    let mut got = BTreeMap::<String, u32>::new();
    for i in 0..10 {
        let c = w.inquire(&format!("y{i}"));
        *got.entry(w.agent_of(c.id).unwrap()).or_default() += 1;
    }

    assert_eq!(
        got,
        BTreeMap::from([("a".into(), 5), ("b".into(), 5)]),
        "counts restart at the shop's midnight"
    );
    let a = w.shop.agent(&aid("a")).unwrap();
    assert_eq!(a.assigned_on(w.shop.today(w.now)), 5);
}

#[test]
fn even_breaks_ties_by_lower_saturation() {
    let mut w = World::new();
    w.routing(|r| r.strategy = Strategy::Even);
    w.agent("a", Online, 2).agent("b", Busy, 10);
    w.inquire("x1");
    w.set_status("a", Busy);
    w.set_status("b", Online);
    w.inquire("x2");
    w.set_status("a", Online);
    // Both assigned 1 today; a at 1/2, b at 1/10.

    let got = w.inquire("b1");

    assert_eq!(w.agent_of(got.id).as_deref(), Some("b"));
}

#[test]
fn even_works_with_a_mixed_rule_target() {
    let mut w = World::new();
    w.routing(|r| {
        r.strategy = Strategy::Even;
        r.rules = vec![rule(When::default(), &["a"], &["g"])];
    });
    w.agent_in("a", Online, 50, &[]);
    w.agent_in("b", Online, 50, &["g"]);
    w.agent_in("c", Online, 50, &[]);

    for i in 0..10 {
        w.inquire(&format!("b{i}"));
    }

    assert_eq!((w.load("a"), w.load("b"), w.load("c")), (5, 5, 0));
}

// ---- 6. pick: weighted -----------------------------------------------------

/// Where the weighted pick draws from: the whole shop, one group, or a rule
/// naming both agents and groups (each has a pool of its own).
#[derive(Clone, Copy, Debug)]
enum Pool {
    Shop,
    Group,
    Mixed,
}

fn weighted_counts(weights: &[(&str, u32)], draws: u32, pool: Pool) -> BTreeMap<String, u32> {
    let mut w = World::seeded(7);
    w.routing(|r| {
        r.strategy = Strategy::Weighted;
        match pool {
            Pool::Shop => {}
            Pool::Group => r.rules = vec![rule(When::default(), &[], &["g"])],
            Pool::Mixed => r.rules = vec![rule(When::default(), &["a"], &["g"])],
        }
    });
    for (i, (a, weight)) in weights.iter().enumerate() {
        let groups: &[&str] = if i == 0 { &[] } else { &["g"] };
        w.agent_in(a, Online, 50, groups);
        w.set_weight(a, *weight);
    }
    let mut got = BTreeMap::new();
    for i in 0..draws {
        let c = w.inquire(&format!("b{i}"));
        *got.entry(w.agent_of(c.id).unwrap()).or_default() += 1;
        // Keep every agent available and replied so only weights matter.
        w.agent_says(c.id);
        w.end(c.id);
    }
    got
}

#[test]
fn weighted_proportions_follow_weights() {
    for pool in [Pool::Shop, Pool::Mixed] {
        let got = weighted_counts(&[("a", 1), ("b", 3)], 2_000, pool);
        let b = got["b"];
        assert!((1_400..1_600).contains(&b), "{pool:?}: {got:?}");
    }
    let got = weighted_counts(&[("x", 1), ("b", 1), ("c", 3)], 2_000, Pool::Group);
    assert!(!got.contains_key("x"), "x is not in the group: {got:?}");
    assert!((1_400..1_600).contains(&got["c"]), "{got:?}");
}

#[test]
fn weighted_equal_weights_split_evenly() {
    let got = weighted_counts(&[("a", 5), ("b", 5), ("c", 5)], 3_000, Pool::Shop);
    for n in got.values() {
        assert!((880..1_120).contains(n), "{got:?}");
    }
}

#[test]
fn weighted_penalises_agents_above_the_busy_threshold() {
    let mut w = World::seeded(3);
    w.routing(|r| {
        r.strategy = Strategy::Weighted;
        r.busy_threshold = 1;
    });
    w.agent("a", Online, 50).agent("b", Busy, 50);
    // a gets 4 unreplied conversations: weight 1 / (1 + 4 - 1) = 1/4.
    for i in 0..4 {
        w.inquire(&format!("x{i}"));
    }
    w.set_status("b", Online);
    assert_eq!(w.unreplied("a"), 4);
    let a = w.shop.agent(&aid("a")).unwrap();
    assert_eq!(a.effective_weight(1), 0.25);

    let mut to_a = 0;
    for i in 0..2_000 {
        let c = w.inquire(&format!("b{i}"));
        if w.agent_of(c.id).as_deref() == Some("a") {
            to_a += 1;
        }
        // Leaves loads and unreplied counts as they were.
        w.end(c.id);
    }

    // Expected share 0.25 / 1.25 = 20 %.
    assert!((330..470).contains(&to_a), "{to_a}");
}

#[test]
fn weighted_never_picks_an_unavailable_agent() {
    let mut w = World::seeded(5);
    w.routing(|r| r.strategy = Strategy::Weighted);
    w.agent("a", Online, 2).agent("b", Online, 2);
    w.set_weight("a", 100);

    for i in 0..4 {
        assert_ne!(w.inquire(&format!("b{i}")).reason, Reason::Queued);
    }

    assert_eq!((w.load("a"), w.load("b")), (2, 2));
    assert_eq!(w.inquire("b4").reason, Reason::Queued);
}

// ---- 7. nobody available ---------------------------------------------------

#[test]
fn no_queue_mode_assigns_beyond_max_load_to_the_lowest_saturation() {
    let mut w = World::new();
    w.routing(|r| r.queue.enabled = false);
    w.agent("a", Online, 1).agent("b", Online, 4);
    for i in 0..5 {
        w.inquire(&format!("x{i}"));
    }
    assert_eq!((w.load("a"), w.load("b")), (1, 4));

    let got = w.inquire("b1");

    assert_eq!(got.reason, Reason::NoQueue);
    assert_eq!(w.status_of(got.id), ConversationStatus::Active);
    // Both at 100 %: a tie; either may be picked, and beyond its max load.
    assert_eq!(w.load("a") + w.load("b"), 6);
    let next = w.inquire("b2");
    assert_eq!(next.reason, Reason::NoQueue);
    // 2/1 vs 4/4 or 1/1 vs 5/4: the lower saturation gets it.
    assert_eq!((w.load("a"), w.load("b")), (2, 5));
}

#[test]
fn no_queue_mode_stays_within_the_target_set() {
    let mut w = World::new();
    w.routing(|r| {
        r.queue.enabled = false;
        r.rules = vec![rule(When::default(), &["a"], &[])];
    });
    w.agent("a", Online, 1).agent("b", Online, 10);
    w.inquire("x");

    let got = w.inquire("b1");

    assert_eq!(got.reason, Reason::NoQueue);
    assert_eq!(w.agent_of(got.id).as_deref(), Some("a"));
}

#[test]
fn no_queue_mode_still_queues_when_nobody_is_online() {
    let mut w = World::new();
    w.routing(|r| r.queue.enabled = false);
    w.agent("a", Busy, 10);

    let got = w.inquire("b1");

    assert_eq!(got.reason, Reason::Queued);
    assert_eq!(w.position(got.id), Some(1));
}

#[test]
fn saturated_target_with_the_queue_enabled_queues() {
    let mut w = World::new();
    w.agent("a", Online, 1);
    w.inquire("x");

    let got = w.inquire("b1");

    assert_eq!(got.reason, Reason::Queued);
    assert_eq!(w.status_of(got.id), ConversationStatus::Queued);
    assert_eq!(w.load("a"), 1);
}

#[test]
fn busy_and_offline_agents_take_no_new_inquiries() {
    let mut w = World::new();
    w.agent("busy", Busy, 10).agent("off", Offline, 10);

    let got = w.inquire("b1");

    assert_eq!(got.reason, Reason::Queued);
    assert_eq!((w.load("busy"), w.load("off")), (0, 0));
}
