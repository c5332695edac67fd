//! Business hours (spec section 9): while the shop is closed a new inquiry
//! goes to offline routing or waits with reason `closed` and the next
//! opening; active conversations are left alone; the queue drains at the
//! opening.

mod common;

use common::*;
use fenliu_core::hours::{ClockTime, Hours, Weekly};
use fenliu_core::query::{ConversationById, Query};
use fenliu_core::settings::{Step, When};
use fenliu_core::AgentStatus::Online;
use fenliu_core::{ConversationStatus, Reason, Shop, ShopId};

fn t(raw: &str) -> ClockTime {
    ClockTime::parse(raw).unwrap()
}

/// Open 09:00–12:00 and 13:00–18:00 every day; T0 is 10:00, a Monday.
fn office_hours(closed_dates: &[&str]) -> Hours {
    let day = vec![[t("09:00"), t("12:00")], [t("13:00"), t("18:00")]];
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
        closed_dates: closed_dates.iter().map(|d| d.to_string()).collect(),
    }
}

fn shop_with_hours(hours: Hours) -> World {
    let mut w = World::new();
    w.routing(|r| r.hours = Some(hours));
    w.agent("a", Online, 5);
    w
}

#[test]
fn an_open_shop_routes_as_usual() {
    let mut w = shop_with_hours(office_hours(&[]));

    assert_eq!(w.inquire("b1").reason, Reason::Default);
}

#[test]
fn a_closed_shop_queues_a_new_inquiry_with_reason_closed_and_the_next_opening() {
    let mut w = shop_with_hours(office_hours(&[]));
    w.advance(2 * HOUR + 30 * MIN); // 12:30, the lunch break

    let q = w.inquire("b1");

    assert_eq!(q.reason, Reason::Closed);
    assert_eq!(w.status_of(q.id), ConversationStatus::Queued);
    let seen = ConversationById(q.id).ask(&w.shop, w.now).unwrap();
    assert_eq!(seen.reason, Reason::Closed);
    assert_eq!(seen.opens_at, Some(w.now + 30 * MIN), "13:00");
}

#[test]
fn the_queue_drains_at_the_opening() {
    let mut w = shop_with_hours(office_hours(&[]));
    w.advance(8 * HOUR + 30 * MIN); // 18:30
    let q = w.inquire("b1").id;

    w.advance(14 * HOUR + 30 * MIN - 1); // 08:59:59.999 the next day
    assert_eq!(w.status_of(q), ConversationStatus::Queued);
    w.advance(1);

    assert_eq!(w.agent_of(q).as_deref(), Some("a"));
    let seen = ConversationById(q).ask(&w.shop, w.now).unwrap();
    assert_eq!((seen.reason, seen.opens_at), (Reason::Default, None));
}

#[test]
fn capacity_that_appears_while_closed_is_used_at_the_opening() {
    let mut w = World::new();
    w.agent("a", Online, 1);
    w.inquire("b1");
    let q = w.inquire("b2").id; // queued while open: a is full
    w.routing(|r| r.hours = Some(office_hours(&[])));
    w.advance(8 * HOUR + 30 * MIN); // 18:30: closed
    let first = w.shop.open_conversation_of(&bid("b1")).unwrap();

    w.end(first);
    assert_eq!(w.status_of(q), ConversationStatus::Queued, "closed");
    w.advance(14 * HOUR + 30 * MIN); // 09:00

    assert_eq!(w.agent_of(q).as_deref(), Some("a"));
}

#[test]
fn a_closed_shop_with_offline_agents_routes_to_them_even_with_agents_online() {
    let mut w = shop_with_hours(office_hours(&[]));
    w.agent("night", fenliu_core::AgentStatus::Offline, 5);
    w.routing(|r| r.offline.agents = vec![aid("night")]);
    w.advance(10 * HOUR); // 20:00

    let q = w.inquire("b1");

    assert_eq!(q.reason, Reason::Offline);
    assert_eq!(w.agent_of(q.id).as_deref(), Some("night"));
}

#[test]
fn conversations_already_active_are_not_touched_at_the_closing() {
    let mut w = shop_with_hours(office_hours(&[]));
    let c = w.inquire("b1").id;

    w.advance(9 * HOUR); // 19:00
    w.buyer_says(c);
    w.agent_says(c);

    assert_eq!(w.agent_of(c).as_deref(), Some("a"));
    assert_eq!(w.status_of(c), ConversationStatus::Active);
}

#[test]
fn a_closed_date_closes_the_whole_day_and_the_next_opening_skips_it() {
    let tomorrow = fenliu_core::time::date_string(fenliu_core::TzOffset::CST.day_of(T0) + 1);
    let mut w = shop_with_hours(office_hours(&[&tomorrow]));
    w.advance(9 * HOUR); // 19:00

    let q = w.inquire("b1").id;

    let seen = ConversationById(q).ask(&w.shop, w.now).unwrap();
    assert_eq!(
        seen.opens_at,
        Some(w.now + 14 * HOUR + DAY),
        "09:00 the day after"
    );
}

#[test]
fn escalation_steps_reached_while_closed_wait_for_the_opening() {
    let mut w = World::new();
    w.agent_in("front", Online, 1, &["front"]);
    w.agent_in("back", Online, 5, &["back"]);
    w.routing(|r| {
        let mut to_front = rule(When::default(), &[], &["front"]);
        to_front.to.escalate = vec![Step {
            after_secs: 60,
            groups: vec![gid("back")],
            ..Step::default()
        }];
        r.rules = vec![to_front];
        r.overflow = fenliu_core::settings::Overflow::None;
        r.hours = Some(office_hours(&[]));
    });
    w.advance(7 * HOUR + 59 * MIN); // 17:59
    let b1 = w.inquire("b1"); // front is full now
    assert_eq!(w.agent_of(b1.id).as_deref(), Some("front"));
    w.advance(MIN); // 18:00: closed
    let q = w.inquire("b2").id;

    w.advance(HOUR);
    assert_eq!(
        w.status_of(q),
        ConversationStatus::Queued,
        "its step came while closed"
    );
    w.advance(14 * HOUR); // 09:00

    assert_eq!(w.agent_of(q).as_deref(), Some("back"));
    assert_eq!(w.shop.conversation(q).unwrap().reason, Reason::Escalated);
}

#[test]
fn a_restored_closed_shop_still_drains_at_the_opening() {
    let mut w = shop_with_hours(office_hours(&[]));
    w.advance(9 * HOUR); // 19:00
    let q = w.inquire("b1").id;
    let records = w.shop.snapshot();
    let mut back = Shop::restore(ShopId::parse("shop-1").unwrap(), records, w.now);

    let opening = w.now + 14 * HOUR;
    assert_eq!(back.next_deadline(), Some(opening));
    back.tick(opening, &mut w.rng);

    assert_eq!(
        back.conversation(q).unwrap().status,
        ConversationStatus::Active
    );
}
