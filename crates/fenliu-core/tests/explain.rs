//! Explanations: how each decision was reached, agent by agent.

mod common;

use std::collections::BTreeMap;

use common::*;
use fenliu_core::explain::{RecentContactCheck, EXPLAIN_LIST_LIMIT, EXPLAIN_TIE_LIMIT};
use fenliu_core::settings::When;
use fenliu_core::AgentStatus::{Busy, Offline, Online};
use fenliu_core::{ConversationId, Explanation, Reason, Verdict};

fn explanation(w: &World, id: ConversationId) -> &Explanation {
    &w.shop.conversation(id).unwrap().explanation
}

fn verdicts(e: &Explanation) -> BTreeMap<String, Verdict> {
    e.agents
        .iter()
        .map(|c| (c.agent_id.to_string(), c.verdict))
        .collect()
}

#[test]
fn explanation_gives_every_agent_its_verdict() {
    let mut w = World::new();
    w.agent("idle", Online, 10)
        .agent("loaded", Online, 10)
        .agent("full", Online, 1)
        .agent("busy", Busy, 10)
        .agent("off", Offline, 10)
        .agent("outside", Online, 10);
    w.routing(|r| {
        r.rules = vec![rule(
            When::default(),
            &["idle", "loaded", "full", "busy", "off"],
            &[],
        )]
    });
    w.set_status("idle", Busy);
    w.inquire("x1");
    w.inquire("x2");
    w.set_status("idle", Online);

    let c = w.inquire("b1");

    let e = explanation(&w, c.id);
    assert_eq!(e.reason, Reason::Rule);
    assert_eq!(e.matched_rule, Some(0));
    assert_eq!(e.picked, Some(aid("idle")));
    assert_eq!(e.target_size, 5);
    assert_eq!(
        verdicts(e),
        BTreeMap::from([
            ("busy".into(), Verdict::Busy),
            ("full".into(), Verdict::Saturated),
            ("idle".into(), Verdict::Picked),
            ("loaded".into(), Verdict::Eligible),
            ("off".into(), Verdict::Offline),
            ("outside".into(), Verdict::NotInTarget),
        ])
    );
    let loaded = e
        .agents
        .iter()
        .find(|a| a.agent_id == aid("loaded"))
        .unwrap();
    assert_eq!((loaded.load, loaded.max_load), (1, 10));
}

#[test]
fn explanation_of_a_queued_conversation_picks_nobody() {
    let mut w = World::new();
    w.agent("a", Online, 1).agent("b", Busy, 1);
    w.inquire("x");

    let c = w.inquire("b1");

    let e = explanation(&w, c.id);
    assert_eq!(e.reason, Reason::Queued);
    assert_eq!(e.picked, None);
    assert_eq!(
        verdicts(e),
        BTreeMap::from([
            ("a".into(), Verdict::Saturated),
            ("b".into(), Verdict::Busy)
        ])
    );
}

#[test]
fn explanation_records_the_recent_contact_step() {
    let mut w = World::new();
    w.agent("a", Online, 1).agent("b", Online, 5);
    let first = w.inquire("b1");
    let recent = w.agent_of(first.id).unwrap();

    let none = explanation(&w, first.id).recent_contact.clone();
    w.end(first.id);
    let back = w.inquire("b1");
    let assigned = explanation(&w, back.id).clone();

    assert_eq!(none, RecentContactCheck::NoRecentAgent);
    assert_eq!(
        assigned.recent_contact,
        RecentContactCheck::Assigned(aid(&recent))
    );
    assert_eq!(assigned.target_size, 1);
    assert_eq!(verdicts(&assigned).len(), 1);

    w.end(back.id);
    w.set_status(&recent, Busy);
    let skipped = w.inquire("b1");
    assert_eq!(
        explanation(&w, skipped.id).recent_contact,
        RecentContactCheck::Skipped {
            agent_id: aid(&recent),
            why: Verdict::Busy
        }
    );
}

#[test]
fn explanation_of_overflow_says_so() {
    let mut w = World::new();
    w.agent("a", Busy, 5).agent("b", Online, 5);
    w.routing(|r| r.rules = vec![rule(When::default(), &["a"], &[])]);

    let c = w.inquire("b1");

    let e = explanation(&w, c.id);
    assert_eq!(e.reason, Reason::Overflow);
    assert!(e.overflowed);
    assert_eq!(e.matched_rule, Some(0));
    assert_eq!(verdicts(e)["b"], Verdict::Picked);
}

#[test]
fn explanation_of_offline_routing_marks_the_more_loaded_agents() {
    let mut w = World::new();
    w.agent("p1", Offline, 5)
        .agent("p2", Offline, 5)
        .agent("other", Offline, 5);
    w.routing(|r| r.offline.agents = vec![aid("p1"), aid("p2")]);
    let first = w.inquire("x");
    let took = w.agent_of(first.id).unwrap();

    let c = w.inquire("b1");

    let e = explanation(&w, c.id);
    assert_eq!(e.reason, Reason::Offline);
    let v = verdicts(e);
    assert_eq!(v[&took], Verdict::MoreLoaded);
    assert_eq!(v["other"], Verdict::NotInTarget);
    assert_eq!(v.values().filter(|&&x| x == Verdict::Picked).count(), 1);
}

#[test]
fn explanation_of_a_drained_conversation_is_the_decision_that_placed_it() {
    let mut w = World::new();
    w.agent("a", Online, 1).agent("b", Offline, 1);
    w.inquire("x");
    let c = w.inquire("b1");
    w.now += MIN;

    w.set_status("b", Online);

    let e = explanation(&w, c.id);
    assert_eq!(e.reason, Reason::Default);
    assert_eq!(e.picked, Some(aid("b")));
    assert_eq!(e.decided_at, w.now);
}

#[test]
fn explanation_of_a_large_shop_lists_the_ties_and_counts_the_rest() {
    let mut w = World::new();
    for i in 0..100 {
        let status = match i {
            0..70 => Online,
            70..90 => Busy,
            _ => Offline,
        };
        w.agent(&format!("a{i:03}"), status, 10);
    }
    assert!(w.shop.agent_count() > EXPLAIN_LIST_LIMIT);

    let c = w.inquire("b1");

    let e = explanation(&w, c.id);
    assert_eq!(e.target_size, 100);
    assert!(e.agents.len() <= EXPLAIN_TIE_LIMIT);
    assert_eq!(
        e.agents
            .iter()
            .filter(|a| a.verdict == Verdict::Picked)
            .count(),
        1
    );
    assert!(e
        .agents
        .iter()
        .all(|a| matches!(a.verdict, Verdict::Picked | Verdict::Eligible)));
    let rest = e.unlisted.clone().expect("a summary");
    assert_eq!((rest.busy, rest.offline, rest.saturated), (20, 10, 0));
    assert_eq!(
        e.agents.len() as u32 + rest.busy + rest.offline + rest.saturated + rest.eligible,
        100
    );
}

#[test]
fn explanation_of_a_large_shop_under_a_mixed_rule_lists_the_rules_ties_and_counts_its_target() {
    // 100 agents; the rule names a1 and the groups g1 (a10..a29) and g2
    // (a20..a39, overlapping): a target of 31, 6 of them busy.
    let mut w = World::new();
    for i in 0..100 {
        let groups: Vec<&str> = [(10..30, "g1"), (20..40, "g2")]
            .into_iter()
            .filter(|(r, _)| r.contains(&i))
            .map(|(_, g)| g)
            .collect();
        let status = if (30..36).contains(&i) { Busy } else { Online };
        w.agent_in(&format!("a{i}"), status, 10, &groups);
    }
    w.routing(|r| r.rules = vec![rule(When::default(), &["a1"], &["g1", "g2"])]);

    let c = w.inquire("b1");

    let e = explanation(&w, c.id);
    assert_eq!(e.matched_rule, Some(0));
    assert_eq!(e.target_size, 31);
    assert!(e.agents.len() <= EXPLAIN_TIE_LIMIT && e.agents.len() > 1);
    let in_target = |id: &str| {
        let n: u32 = id[1..].parse().unwrap();
        n == 1 || (10..40).contains(&n)
    };
    assert!(
        e.agents.iter().all(|a| in_target(a.agent_id.as_str())),
        "{e:?}"
    );
    let rest = e.unlisted.clone().expect("a summary");
    assert_eq!((rest.busy, rest.offline, rest.saturated), (6, 0, 0));
    assert_eq!(e.agents.len() as u32 + rest.eligible + rest.busy, 31);
}

#[test]
fn explanation_of_a_small_shop_has_no_summary() {
    let mut w = World::new();
    w.online("a");

    let c = w.inquire("b1");

    assert!(explanation(&w, c.id).unlisted.is_none());
}

#[test]
fn explanation_of_a_transfer_names_the_receiving_agent() {
    let mut w = World::new();
    w.agent("a", Online, 5).agent("b", Busy, 5);
    let c = w.inquire("b1");

    w.transfer(c.id, "b");

    let e = explanation(&w, c.id);
    assert_eq!(e.reason, Reason::Transfer);
    assert_eq!(e.picked, Some(aid("b")));
    assert_eq!(e.recent_contact, RecentContactCheck::NotApplicable);
}
