//! The formats, old and new, written and read back.

use fenliu_core::settings::{QueueOrder, QueueSettings};
use fenliu_core::stats::AgentDay;
use fenliu_core::{Agent, AgentId, BuyerId, RoutingSettings, ShopId};

use super::*;

fn format_1(record: &v1::Record) -> Vec<u8> {
    let mut out = vec![FORMAT_V1];
    out.extend(bincode::serde::encode_to_vec(record, bincode::config::standard()).unwrap());
    out
}

fn settings_v1(s: &RoutingSettings) -> v1::Settings {
    let v3 = v3::Settings::of(s);
    v1::Settings {
        strategy: v3.strategy,
        queue: v1::Queue {
            enabled: v3.queue.enabled,
            order: v3.queue.order,
        },
        recent_contact: v3.recent_contact,
        rules: v3.rules,
        overflow: v3.overflow,
        offline: v3.offline,
        busy_threshold: v3.busy_threshold,
        timers: v3.timers,
        leaderboard_visible: v3.leaderboard_visible,
        timezone: v3.timezone,
    }
}

fn format_3(record: &v3::Record) -> Vec<u8> {
    let mut out = vec![FORMAT_V3];
    out.extend(bincode::serde::encode_to_vec(record, bincode::config::standard()).unwrap());
    out
}

#[test]
fn format_3_settings_read_as_written_with_the_defaults_of_later_settings() {
    let mut written = RoutingSettings::default();
    written.queue.max_length = Some(9);
    written.timers.auto_end_secs = 60;
    written.rules.push(fenliu_core::settings::Rule {
        when: fenliu_core::settings::When {
            question: Some(fenliu_core::Tag::parse("q").unwrap()),
            ..Default::default()
        },
        to: fenliu_core::settings::Target {
            agents: vec![AgentId::parse("a1").unwrap()],
            ..Default::default()
        },
    });
    let bytes = format_3(&v3::Record::Settings(v3::Settings::of(&written)));

    let read = decode("settings", &bytes).unwrap();

    assert_eq!(read, vec![Record::Settings(written)]);
    let [Record::Settings(s)] = &read[..] else {
        unreachable!()
    };
    assert_eq!(s.presence.timeout_secs, None);
}

#[test]
fn format_4_settings_are_json_and_a_missing_setting_reads_as_its_default() {
    let mut written = RoutingSettings::default();
    written.presence.timeout_secs = Some(60);
    let bytes = encode(Record::Settings(written.clone()).as_ref());
    assert_eq!(
        decode("settings", &bytes).unwrap(),
        vec![Record::Settings(written)]
    );

    // A record written before `presence` existed: the same JSON without it.
    let mut json = serde_json::to_value(RoutingSettings::default()).unwrap();
    json.as_object_mut().unwrap().remove("presence");
    let mut old = vec![FORMAT_V4];
    old.extend(
        bincode::serde::encode_to_vec(
            v4::Out::Settings(json.to_string()),
            bincode::config::standard(),
        )
        .unwrap(),
    );
    assert_eq!(
        decode("settings", &old).unwrap(),
        vec![Record::Settings(RoutingSettings::default())]
    );
}

#[test]
fn records_are_written_in_the_newest_format_and_read_back() {
    let settings = RoutingSettings {
        queue: QueueSettings {
            max_length: Some(200),
            ..QueueSettings::default()
        },
        ..RoutingSettings::default()
    };
    let bytes = encode(Record::Settings(settings.clone()).as_ref());
    assert_eq!(bytes[0], FORMAT_V6);
    assert_eq!(
        decode("settings", &bytes).unwrap(),
        vec![Record::Settings(settings)]
    );
}

#[test]
fn format_1_settings_read_with_no_queue_limit_and_the_rest_as_written() {
    let mut written = RoutingSettings::default();
    written.queue.order = QueueOrder::Lifo;
    written.busy_threshold = 7;
    let bytes = format_1(&v1::Record::Settings(settings_v1(&written)));

    let [Record::Settings(read)] = &decode("settings", &bytes).unwrap()[..] else {
        panic!("a settings record");
    };

    assert_eq!(read, &written);
    assert_eq!(read.queue.max_length, None);
}

#[test]
fn format_1_records_of_other_kinds_read_unchanged() {
    let agent = Agent::new(AgentId::parse("a1").unwrap());
    let bytes = format_1(&v1::Record::Agent((&agent).into()));

    assert_eq!(
        decode("agent:a1", &bytes).unwrap(),
        vec![Record::Agent(agent)]
    );
    assert!(
        decode("x", &[9, 0]).is_err(),
        "an unknown format is refused"
    );
}

fn format_2(record: &v2::Record) -> Vec<u8> {
    let mut out = vec![FORMAT_V2];
    out.extend(bincode::serde::encode_to_vec(record, bincode::config::standard()).unwrap());
    out
}

#[test]
fn format_2_figures_read_as_a_count_and_one_reception_record_per_buyer() {
    let (a, day) = (AgentId::parse("a1").unwrap(), 20_000);
    let buyers: std::collections::BTreeSet<_> = ["b1", "b2"]
        .iter()
        .map(|b| BuyerId::parse(b).unwrap())
        .collect();
    let old = v2::AgentDay {
        buyers: buyers.clone(),
        sessions: 3,
        late: 1,
        clocked: 2,
        ..v2::AgentDay::default()
    };
    let bytes = format_2(&v2::Record::Stats(day, a.clone(), old));

    let read = decode("stats:20000:a1", &bytes).unwrap();

    let mut expected = vec![Record::Stats(
        day,
        a.clone(),
        AgentDay {
            receptions: 2,
            sessions: 3,
            clocked: 2,
            late: 1,
            ..AgentDay::default()
        },
    )];
    expected.extend(
        buyers
            .into_iter()
            .map(|b| Record::Reception(day, a.clone(), b)),
    );
    assert_eq!(read, expected);
}

#[test]
fn a_shop_restored_from_format_2_figures_hands_back_their_newest_form_to_write() {
    let (a, day) = (AgentId::parse("a1").unwrap(), 20_000);
    let old = v2::AgentDay {
        buyers: [BuyerId::parse("b1").unwrap()].into_iter().collect(),
        sessions: 1,
        ..v2::AgentDay::default()
    };
    let stored = vec![
        (
            "stats:20000:a1".to_owned(),
            format_2(&v2::Record::Stats(day, a.clone(), old)),
        ),
        (
            "meta".to_owned(),
            encode(Record::Meta(Default::default()).as_ref()),
        ),
    ];

    let restored = restore(ShopId::parse("s").unwrap(), stored, 0).unwrap();

    let keys: Vec<&str> = restored
        .rewrite
        .puts
        .iter()
        .map(|p| p.key.as_str())
        .collect();
    assert_eq!(keys, ["stats:20000:a1", "recv:20000:a1:b1"]);
    assert!(restored
        .rewrite
        .puts
        .iter()
        .all(|p| p.value[0] == FORMAT_V6));
    let again: Vec<_> = restored
        .rewrite
        .puts
        .iter()
        .map(|p| (p.key.clone(), p.value.clone()))
        .collect();
    let twice = restore(ShopId::parse("s").unwrap(), again, 0).unwrap();
    assert!(
        twice.rewrite.puts.is_empty(),
        "the newest form needs no rewrite"
    );
}

fn format_4(record: &v4::Out) -> Vec<u8> {
    let mut out = vec![FORMAT_V4];
    out.extend(bincode::serde::encode_to_vec(record, bincode::config::standard()).unwrap());
    out
}

#[test]
fn format_4_agents_and_conversations_read_with_the_defaults_of_format_5() {
    let mut agent = Agent::new(AgentId::parse("a1").unwrap());
    agent.status = fenliu_core::AgentStatus::Online;
    agent.load = 2;
    let bytes = format_4(&v4::Out::Agent((&agent).into()));
    let [Record::Agent(read)] = &decode("agent:a1", &bytes).unwrap()[..] else {
        panic!("an agent");
    };
    assert_eq!(read, &agent);
    assert_eq!((read.online_ms, read.online_since), (0, None));

    let c = old::shapes::Conversation {
        id: fenliu_core::ConversationId(7),
        inquiry: old::shapes::Asked {
            buyer_id: BuyerId::parse("b1").unwrap(),
            entry: fenliu_core::Entry::Live,
            question: None,
            order_state: Some(fenliu_core::Tag::parse("unpaid").unwrap()),
            product_id: None,
            intent: None,
        },
        status: fenliu_core::ConversationStatus::Queued,
        agent: None,
        reason: fenliu_core::Reason::Queued,
        offline_delivery: false,
        queue_key: Some(3),
        created_at: 1_000,
        assigned_at: None,
        assigned_day: None,
        ended_at: None,
        end_reason: None,
        clock: Default::default(),
        last_agent_reply_at: None,
        last_buyer_message_at: None,
        rating_invited: false,
        rating: None,
        proactive: false,
        explanation: old::shapes::Explanation {
            decided_at: 1_000,
            reason: fenliu_core::Reason::Queued,
            strategy: fenliu_core::Strategy::Even,
            recent_contact: fenliu_core::explain::RecentContactCheck::Disabled,
            matched_rule: Some(0),
            overflowed: false,
            target_size: 1,
            agents: vec![old::shapes::Considered {
                agent_id: AgentId::parse("a1").unwrap(),
                status: fenliu_core::AgentStatus::Online,
                load: 3,
                max_load: 3,
                assigned_today: 5,
                effective_weight: 1.0,
                verdict: fenliu_core::Verdict::Saturated,
            }],
            unlisted: None,
            picked: None,
        },
    };
    let bytes = format_4(&v4::Out::Conversation(Box::new(c)));
    let [Record::Conversation(read)] = &decode("conv:7", &bytes).unwrap()[..] else {
        panic!("a conversation");
    };
    assert_eq!(
        read.inquiry.order_state.as_ref().unwrap().as_str(),
        "unpaid"
    );
    assert_eq!((read.queue_key, read.created_at), (Some(3), 1_000));
    assert_eq!(read.priority, fenliu_core::inquiry::Priority::default());
    assert_eq!(read.queued_since, None);
    assert_eq!(
        read.explanation
            .agents
            .iter()
            .next()
            .unwrap()
            .assigned_today,
        5
    );
    assert_eq!(read.explanation.steps_reached, 0);
}

#[test]
fn format_5_reads_a_record_written_before_a_field_was_added_at_its_end() {
    // An agent as format 5 would have written it had `Agent` still ended
    // at `unreplied`: the fields added since read as their defaults.
    let mut agent = Agent::new(AgentId::parse("a1").unwrap());
    agent.unreplied = 4;
    #[derive(serde::Serialize)]
    enum Before {
        Agent(old::shapes::Agent),
    }
    let mut bytes = vec![FORMAT_V5];
    rmp_serde::encode::write(&mut bytes, &Before::Agent((&agent).into())).unwrap();

    assert_eq!(
        decode("agent:a1", &bytes).unwrap(),
        vec![Record::Agent(agent.clone())]
    );

    // And the newest form round-trips, the new fields included.
    agent.online_ms = 5_000;
    agent.online_since = Some(9);
    let bytes = encode(Record::Agent(agent.clone()).as_ref());
    assert_eq!(
        decode("agent:a1", &bytes).unwrap(),
        vec![Record::Agent(agent)]
    );
}

#[test]
fn a_commands_facts_go_to_the_log_of_their_own_shop_day_in_order() {
    use fenliu_core::daylog::{Fact, What};
    use fenliu_core::{ConversationId, Effects, Party};

    let shop = Shop::new(ShopId::parse("s1").unwrap());
    let zone = shop.settings().timezone;
    let midnight = zone.start_of(20_000);
    let message = |at, n| Fact {
        at,
        what: What::Message {
            conversation_id: ConversationId(n),
            party: Party::Buyer,
        },
    };
    // Timers due before midnight fire with a command just after it.
    let effects = Effects {
        facts: vec![
            message(midnight - 2, 1),
            message(midnight - 1, 2),
            message(midnight, 3),
            message(midnight + 1, 4),
        ],
        ..Effects::default()
    };

    let batch = batch_for(&shop, &effects, DAY_LOG_KEPT_DAYS);

    let lists: Vec<(&str, Vec<String>)> = batch
        .appends
        .iter()
        .map(|a| {
            let ids = a
                .items
                .iter()
                .map(|line| {
                    let line = day_log_line(&a.list, line).unwrap();
                    let json: serde_json::Value = serde_json::from_slice(&line).unwrap();
                    json["conversation_id"].to_string()
                })
                .collect();
            (a.list.as_str(), ids)
        })
        .collect();
    let id = |n| serde_json::to_value(ConversationId(n)).unwrap().to_string();
    let (before, after) = (day_log(19_999), day_log(20_000));
    assert_eq!(
        lists,
        [
            (before.as_str(), vec![id(1), id(2)]),
            (after.as_str(), vec![id(3), id(4)])
        ]
    );
    assert_eq!(
        batch.appends[0].expires_at,
        zone.start_of(20_000 + i64::from(DAY_LOG_KEPT_DAYS))
    );
}

#[test]
fn a_record_borrowed_from_its_shop_is_written_as_its_owned_copy_and_read_back() {
    use fenliu_core::{AgentStatus, Command, GroupId, MaxLoad, Tag};
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    let mut shop = Shop::new(ShopId::parse("s1").unwrap());
    let mut rng = SmallRng::seed_from_u64(1);
    let now = 1_795_399_200_000;
    let (a1, a2) = (AgentId::parse("a1").unwrap(), AgentId::parse("a2").unwrap());
    let buyer = BuyerId::parse("b1").unwrap();
    let upsert = |agent: &AgentId| Command::UpsertAgent {
        agent: agent.clone(),
        display_name: None,
        weight: None,
        groups: None,
    };
    let commands = [
        upsert(&a1),
        upsert(&a2),
        Command::SetStatus(a2.clone(), AgentStatus::Online),
        Command::SetMaxLoad(a1.clone(), MaxLoad::new(3).unwrap()),
        Command::SetStatus(a1.clone(), AgentStatus::Online),
        // Members in another order than their ids': the shop keeps a set.
        Command::PutGroup(GroupId::parse("g").unwrap(), vec![a2, a1]),
        Command::Order(Tag::parse("o1").unwrap(), buyer.clone()),
        Command::Inquire(an_inquiry(buyer)),
    ];
    for cmd in commands {
        shop.handle(cmd, now, &mut rng).unwrap();
    }

    let records = shop.snapshot();
    for kind in [
        "group:", "conv:", "agent:", "recv:", "order:", "stats:", "recent:",
    ] {
        assert!(
            records.iter().any(|r| r.key().name().starts_with(kind)),
            "the shop holds no {kind} record"
        );
    }
    for record in records {
        let key = record.key();
        let borrowed = shop.record_ref(&key).unwrap();
        assert_eq!(borrowed.key(), key);
        assert_eq!(borrowed.expires_at(&shop), record.expires_at(&shop));
        let bytes = encode(borrowed);
        assert_eq!(bytes, encode(record.as_ref()), "{}", key.name());
        assert_eq!(decode(&key.name(), &bytes).unwrap(), vec![record]);
    }
}

/// A buyer's inquiry from a product's page, with nothing else said.
fn an_inquiry(buyer_id: BuyerId) -> fenliu_core::Inquiry {
    fenliu_core::Inquiry {
        buyer_id,
        entry: fenliu_core::Entry::ProductDetail,
        question: None,
        order_state: None,
        product_id: None,
        intent: None,
        priority: Default::default(),
    }
}

/// A conversation decided among `agents` online agents, with its explanation.
fn a_decided_conversation(agents: usize) -> fenliu_core::Conversation {
    use fenliu_core::{AgentStatus, Command, ConversationId};
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    let mut shop = Shop::new(ShopId::parse("s1").unwrap());
    let mut rng = SmallRng::seed_from_u64(1);
    let now = 1_795_399_200_000;
    for i in 0..agents {
        let agent = AgentId::parse(&format!("a{i}")).unwrap();
        let upsert = Command::UpsertAgent {
            agent: agent.clone(),
            display_name: None,
            weight: None,
            groups: None,
        };
        shop.handle(upsert, now, &mut rng).unwrap();
        let online = Command::SetStatus(agent, AgentStatus::Online);
        shop.handle(online, now, &mut rng).unwrap();
    }
    let inquiry = Command::Inquire(an_inquiry(BuyerId::parse("b1").unwrap()));
    shop.handle(inquiry, now, &mut rng).unwrap();
    shop.conversation(ConversationId(1)).unwrap().clone()
}

/// A record as format 5 wrote it: variants by name.
fn format_5(record: RecordRef<'_>) -> Vec<u8> {
    let mut out = vec![FORMAT_V5];
    rmp_serde::encode::write(&mut out, &v5::Out::of(record)).unwrap();
    out
}

#[test]
fn format_5_records_with_variants_by_name_read_as_written() {
    let conversation = Record::Conversation(Box::new(a_decided_conversation(20)));
    let agent = Record::Agent(Agent::new(AgentId::parse("a1").unwrap()));
    let day = Record::Reception(
        20_000,
        AgentId::parse("a1").unwrap(),
        BuyerId::parse("b1").unwrap(),
    );
    for record in [conversation, agent, day] {
        let key = record.key().name();
        let old = format_5(record.as_ref());
        assert_ne!(old, encode(record.as_ref()));
        assert_eq!(decode(&key, &old).unwrap(), vec![record], "{key}");
    }
}

#[test]
fn format_6_writes_a_decided_conversation_in_two_thirds_of_format_5() {
    let record = Record::Conversation(Box::new(a_decided_conversation(200)));
    let (old, new) = (format_5(record.as_ref()), encode(record.as_ref()));
    assert!(
        new.len() * 3 <= old.len() * 2,
        "format 6 {} bytes, format 5 {}",
        new.len(),
        old.len()
    );
    assert_eq!(decode("conv:1", &new).unwrap(), vec![record]);
}

/// The index format 6 writes for a variant without data.
fn index_of<T: serde::Serialize>(variant: &T) -> u8 {
    let mut out = Vec::new();
    let mut writer = rmp_serde::Serializer::new(&mut out);
    variant.serialize(indexed::Indexed(&mut writer)).unwrap();
    assert_eq!(out.len(), 1, "a variant's index is one byte");
    out[0]
}

/// Pins each variant of every enum that records hold to its index: format 6
/// writes indexes, so a variant that moved would read back as another. Add
/// new variants at the end (and here).
#[test]
fn variants_keep_the_indexes_stored_records_hold() {
    use fenliu_core::explain::{RecentContactCheck, Verdict};
    use fenliu_core::settings::Strategy;
    use fenliu_core::{AgentStatus, ConversationStatus, EndReason, Entry, Party, Reason};

    fn pinned<T: serde::Serialize>(variants: &[T], names: &[&str]) {
        let written: Vec<(u8, String)> = variants
            .iter()
            .map(|v| (index_of(v), serde_json::to_string(v).unwrap()))
            .collect();
        let expected: Vec<(u8, String)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (i as u8, format!("\"{n}\"")))
            .collect();
        assert_eq!(written, expected);
    }
    use AgentStatus as A;
    pinned(
        &[A::Online, A::Busy, A::Offline],
        &["online", "busy", "offline"],
    );
    use ConversationStatus as C;
    pinned(
        &[C::Queued, C::Active, C::Ended, C::Cancelled, C::Offered],
        &["queued", "active", "ended", "cancelled", "offered"],
    );
    use EndReason as E;
    pinned(
        &[E::Agent, E::Service, E::AutoEnd],
        &["agent", "service", "auto_end"],
    );
    pinned(&[Party::Buyer, Party::Agent], &["buyer", "agent"]);
    use Reason as R;
    pinned(
        &[
            R::Existing,
            R::RecentContact,
            R::Rule,
            R::Default,
            R::Overflow,
            R::Offline,
            R::NoQueue,
            R::Queued,
            R::Proactive,
            R::Transfer,
            R::Escalated,
            R::Closed,
            R::Reassigned,
        ],
        &[
            "existing",
            "recent_contact",
            "rule",
            "default",
            "overflow",
            "offline",
            "no_queue",
            "queued",
            "proactive",
            "transfer",
            "escalated",
            "closed",
            "reassigned",
        ],
    );
    use Verdict as V;
    pinned(
        &[
            V::Picked,
            V::Eligible,
            V::NotInTarget,
            V::Offline,
            V::Busy,
            V::Saturated,
            V::MoreLoaded,
            V::Declined,
        ],
        &[
            "picked",
            "eligible",
            "not_in_target",
            "offline",
            "busy",
            "saturated",
            "more_loaded",
            "declined",
        ],
    );
    use Strategy as S;
    pinned(
        &[S::LeastSaturation, S::Even, S::Weighted, S::Fair],
        &["least_saturation", "even", "weighted", "fair"],
    );
    pinned(&[QueueOrder::Fifo, QueueOrder::Lifo], &["fifo", "lifo"]);
    use Entry as N;
    pinned(
        &[
            N::ProductDetail,
            N::OrderDetail,
            N::DirectMessage,
            N::Live,
            N::Other,
        ],
        &[
            "product_detail",
            "order_detail",
            "direct_message",
            "live",
            "other",
        ],
    );
    // Variants without data among variants with: index 2 and 3 carry data.
    use RecentContactCheck as K;
    assert_eq!(
        [K::Disabled, K::NoRecentAgent, K::NotApplicable].map(|k| index_of(&k)),
        [0, 1, 4]
    );
}

/// Pins the index of each kind of record, the key of the one-entry map a
/// record is written as (the reader's enum lists them in the same order).
#[test]
fn record_kinds_keep_the_indexes_stored_records_hold() {
    let a1 = || AgentId::parse("a1").unwrap();
    let records = [
        (Record::Meta(Default::default()), 0),
        (Record::Settings(RoutingSettings::default()), 1),
        (Record::Agent(Agent::new(a1())), 2),
        (
            Record::Group(fenliu_core::GroupId::parse("g").unwrap(), vec![a1()]),
            3,
        ),
        (Record::Conversation(Box::new(a_decided_conversation(1))), 4),
        (Record::Stats(20_000, a1(), AgentDay::default()), 7),
        (
            Record::Reception(20_000, a1(), BuyerId::parse("b1").unwrap()),
            8,
        ),
    ];
    for (record, index) in records {
        let bytes = encode(record.as_ref());
        // A one-entry map (0x81), then the index.
        assert_eq!(bytes[1..3], [0x81, index], "{}", record.key().name());
        assert_eq!(decode(&record.key().name(), &bytes).unwrap(), vec![record]);
    }
}

/// Every fact a day of commands logs is stored compactly and read back as
/// the JSON line it would have been; lines stored as JSON read unchanged.
#[test]
fn the_days_log_is_stored_compactly_and_exported_as_the_json_it_was() {
    use fenliu_core::settings::Strategy;
    use fenliu_core::{
        AgentStatus, Command, ConversationId, EndReason, Entry, GroupId, Inquiry, MaxLoad, Party,
        Tag,
    };
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    let mut shop = Shop::new(ShopId::parse("s1").unwrap());
    shop.keep_day_log();
    let mut rng = SmallRng::seed_from_u64(1);
    let now = 1_795_399_200_000;
    let (a1, a2) = (AgentId::parse("a1").unwrap(), AgentId::parse("a2").unwrap());
    let upsert = |agent: &AgentId| Command::UpsertAgent {
        agent: agent.clone(),
        display_name: None,
        weight: None,
        groups: Some(vec![GroupId::parse("g").unwrap()]),
    };
    let routing = RoutingSettings {
        strategy: Strategy::Even,
        ..RoutingSettings::default()
    };
    let inquiry = |buyer: &str| {
        Command::Inquire(Inquiry {
            buyer_id: BuyerId::parse(buyer).unwrap(),
            entry: Entry::Live,
            question: Some(Tag::parse("refund").unwrap()),
            order_state: None,
            product_id: None,
            intent: None,
            priority: Default::default(),
        })
    };
    let commands = [
        upsert(&a1),
        upsert(&a2),
        Command::SetRouting(Box::new(routing)),
        Command::SetStatus(a1.clone(), AgentStatus::Online),
        Command::SetMaxLoad(a1.clone(), MaxLoad::new(1).unwrap()),
        inquiry("b1"),
        inquiry("b2"),
        Command::Message(ConversationId(1), Party::Buyer),
        Command::Message(ConversationId(1), Party::Agent),
        Command::SetStatus(a2.clone(), AgentStatus::Online),
        Command::Transfer(ConversationId(1), a2.clone()),
        Command::End(ConversationId(1), EndReason::Agent),
        Command::Cancel(ConversationId(2)),
        Command::DeleteAgent(a1),
    ];
    let mut facts = Vec::new();
    for (i, cmd) in commands.into_iter().enumerate() {
        let at = now + i as i64 * 1_000;
        let effects = match shop.handle(cmd, at, &mut rng) {
            Ok((_, fx)) => fx,
            Err(_) => shop.take_effects(),
        };
        facts.extend(effects.facts);
    }
    let kinds: std::collections::BTreeSet<String> = facts
        .iter()
        .map(|f| serde_json::to_value(f).unwrap()["kind"].to_string())
        .collect();
    assert!(kinds.len() >= 10, "{kinds:?}");

    let (mut stored, mut json) = (0, 0);
    for fact in &facts {
        let item = day_log_item(fact);
        let line = serde_json::to_vec(fact).unwrap();
        (stored, json) = (stored + item.len(), json + line.len());
        assert_eq!(day_log_line("log:x", &item).unwrap(), line);
        // A line stored before format 6.
        assert_eq!(day_log_line("log:x", &line).unwrap(), line);
    }
    assert!(
        stored * 3 < json * 2,
        "stored {stored} bytes, as JSON {json}"
    );
    assert!(day_log_line("log:x", &[FORMAT_V6, 0xc1]).is_err());
    assert!(day_log_line("log:x", b"").is_err());
}
