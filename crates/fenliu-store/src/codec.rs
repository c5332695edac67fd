//! Records to bytes and back: bincode 2 behind a version byte, so the format
//! can evolve without misreading old values.
//!
//! | Version | What changed |
//! |---|---|
//! | 1 | the first format |
//! | 2 | routing settings carry `queue.max_length` |
//! | 3 | an agent's daily figures count receptions; the buyers received are records of their own (`recv:…`) |
//! | 4 | routing settings are JSON text inside the record, so that a setting added later reads from an older record as its default; settings carry `presence` |
//!
//! Records are written in the newest format and read in any: bincode is not
//! self-describing, so an older format is read through a copy of the types
//! as they were ([`v1`], [`v2`], [`v3`]). An old record that is now several records
//! (a day's figures with its buyers) is read as all of them, and
//! [`restore`] hands back what must be rewritten so that the store holds
//! the new form before anything else is written.

use fenliu_core::agent::Agent;
use fenliu_core::records::{Meta, Record};
use fenliu_core::shop::{OrderRecord, RecentContact};
use fenliu_core::stats::AgentDay;
use fenliu_core::time::Day;
use fenliu_core::{AgentId, BuyerId, Conversation, Effects, GroupId, RoutingSettings, Shop};
use serde::{Deserialize, Serialize};

use crate::{Batch, Put, StoreError};

/// The first format.
pub const FORMAT_V1: u8 = 1;
/// Routing settings with the queue limit.
pub const FORMAT_V2: u8 = 2;
/// Receptions as records of their own.
pub const FORMAT_V3: u8 = 3;
/// The format written now: settings as JSON text.
pub const FORMAT_V4: u8 = 4;

/// Encodes a record.
pub fn encode(record: &Record) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(FORMAT_V4);
    bincode::serde::encode_into_std_write(
        v4::Out::of(record),
        &mut out,
        bincode::config::standard(),
    )
    .expect("records always encode");
    out
}

/// Decodes a record written by [`encode`] in any format; an old record that
/// is several records now reads as all of them (its own first).
pub fn decode(key: &str, bytes: &[u8]) -> Result<Vec<Record>, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        key: key.to_owned(),
        reason,
    };
    let config = bincode::config::standard();
    match bytes.split_first() {
        Some((&FORMAT_V4, body)) => bincode::serde::decode_from_slice::<v4::In, _>(body, config)
            .map_err(|e| corrupt(e.to_string()))
            .and_then(|(r, _)| r.into_record().map_err(corrupt))
            .map(|r| vec![r]),
        Some((&FORMAT_V3, body)) => {
            bincode::serde::decode_from_slice::<v3::Record, _>(body, config)
                .map(|(r, _)| vec![r.into()])
                .map_err(|e| corrupt(e.to_string()))
        }
        Some((&FORMAT_V2, body)) => {
            bincode::serde::decode_from_slice::<v2::Record, _>(body, config)
                .map(|(r, _)| r.into_records())
                .map_err(|e| corrupt(e.to_string()))
        }
        Some((&FORMAT_V1, body)) => {
            bincode::serde::decode_from_slice::<v1::Record, _>(body, config)
                .map(|(r, _)| v2::Record::from(r).into_records())
                .map_err(|e| corrupt(e.to_string()))
        }
        Some((v, _)) => Err(corrupt(format!("unknown format version {v}"))),
        None => Err(corrupt("empty value".into())),
    }
}

/// The batch that persists a command's effects on `shop`.
pub fn batch_for(shop: &Shop, effects: &Effects) -> Batch {
    let mut batch = Batch::default();
    for key in &effects.changed {
        match shop.record(key) {
            Some(record) => batch.puts.push(put(shop, key.name(), &record)),
            None => batch.deletes.push(key.name()),
        }
    }
    batch
}

/// Every record of the shop as one batch (used to seed a store).
pub fn full_batch(shop: &Shop) -> Batch {
    puts_of(shop, &shop.snapshot())
}

/// The put that stores `record` of `shop` under `key`.
fn put(shop: &Shop, key: String, record: &Record) -> Put {
    Put {
        key,
        expires_at: record.expires_at(shop),
        value: encode(record),
    }
}

/// A batch that puts every one of `records`.
fn puts_of(shop: &Shop, records: &[Record]) -> Batch {
    Batch {
        puts: records
            .iter()
            .map(|record| put(shop, record.key().name(), record))
            .collect(),
        ..Batch::default()
    }
}

/// A shop rebuilt from the store, and the records to write back because
/// they were stored in an older shape.
pub struct Restored {
    /// The shop.
    pub shop: Shop,
    /// Records to rewrite in the newest format before anything else is
    /// written (empty when the store already holds the newest form).
    pub rewrite: Batch,
}

/// Rebuilds a shop from what the store holds.
pub fn restore(
    shop: fenliu_core::ShopId,
    stored: Vec<(String, Vec<u8>)>,
    now: fenliu_core::Millis,
) -> Result<Restored, StoreError> {
    let mut records = Vec::with_capacity(stored.len());
    let mut migrated = Vec::new();
    for (key, value) in &stored {
        let decoded = decode(key, value)?;
        // Only an older format reads as several records.
        if decoded.len() > 1 {
            migrated.extend(decoded.iter().cloned());
        }
        records.extend(decoded);
    }
    let shop = Shop::restore(shop, records, now);
    let rewrite = puts_of(&shop, &migrated);
    Ok(Restored { shop, rewrite })
}

/// Records as format 4 writes them: as the core's types, but for the
/// routing settings, which are JSON text (self-describing: every setting has
/// a default, so a setting added later reads from an older record as it).
pub(crate) mod v4 {
    use fenliu_core::agent::Agent;
    use fenliu_core::records::{Meta, Record};
    use fenliu_core::shop::{OrderRecord, RecentContact};
    use fenliu_core::stats::AgentDay;
    use fenliu_core::time::Day;
    use fenliu_core::{AgentId, BuyerId, Conversation, GroupId, RoutingSettings};
    use serde::Serialize;

    /// What is written: `Record`'s variants, in the same order.
    #[derive(Serialize)]
    pub(crate) enum Out<'a> {
        Meta(&'a Meta),
        Settings(String),
        Agent(&'a Agent),
        Group(&'a GroupId, &'a Vec<AgentId>),
        Conversation(&'a Conversation),
        Recent(&'a BuyerId, &'a RecentContact),
        Order(&'a OrderRecord),
        Stats(&'a Day, &'a AgentId, &'a AgentDay),
        Reception(&'a Day, &'a AgentId, &'a BuyerId),
    }

    impl<'a> Out<'a> {
        pub(crate) fn of(record: &'a Record) -> Self {
            match record {
                Record::Meta(m) => Self::Meta(m),
                Record::Settings(s) => {
                    Self::Settings(serde_json::to_string(s).expect("settings always encode"))
                }
                Record::Agent(a) => Self::Agent(a),
                Record::Group(g, m) => Self::Group(g, m),
                Record::Conversation(c) => Self::Conversation(c),
                Record::Recent(b, r) => Self::Recent(b, r),
                Record::Order(o) => Self::Order(o),
                Record::Stats(d, a, f) => Self::Stats(d, a, f),
                Record::Reception(d, a, b) => Self::Reception(d, a, b),
            }
        }
    }

    /// What is read back: the settings as JSON text.
    pub(crate) type In = super::Stored<String>;

    impl In {
        pub(crate) fn into_record(self) -> Result<Record, String> {
            self.with_settings(|text| {
                serde_json::from_str::<RoutingSettings>(&text).map_err(|e| e.to_string())
            })
        }
    }
}

/// A record as formats 3 and 4 store it: the core's types, but for the
/// routing settings, stored as `S` (format 3: bincode of their old shape;
/// format 4: JSON text). Variants as `Record`'s, in the same order.
#[derive(Serialize, Deserialize)]
pub(crate) enum Stored<S> {
    Meta(Meta),
    Settings(S),
    Agent(Agent),
    Group(GroupId, Vec<AgentId>),
    Conversation(Box<Conversation>),
    Recent(BuyerId, RecentContact),
    Order(OrderRecord),
    Stats(Day, AgentId, AgentDay),
    Reception(Day, AgentId, BuyerId),
}

impl<S> Stored<S> {
    /// The record, its settings read by `settings`.
    pub(crate) fn with_settings<E>(
        self,
        settings: impl FnOnce(S) -> Result<RoutingSettings, E>,
    ) -> Result<Record, E> {
        Ok(match self {
            Self::Meta(m) => Record::Meta(m),
            Self::Settings(s) => Record::Settings(settings(s)?),
            Self::Agent(a) => Record::Agent(a),
            Self::Group(g, m) => Record::Group(g, m),
            Self::Conversation(c) => Record::Conversation(c),
            Self::Recent(b, r) => Record::Recent(b, r),
            Self::Order(o) => Record::Order(o),
            Self::Stats(d, a, f) => Record::Stats(d, a, f),
            Self::Reception(d, a, b) => Record::Reception(d, a, b),
        })
    }
}

/// Records as format 3 wrote them: routing settings as bincode, in the
/// shape they had from format 2 to 3 (copied here whole, down to the rules,
/// so that later changes to the core's settings leave them readable).
pub(crate) mod v3 {
    use fenliu_core::records;
    use fenliu_core::settings as now;
    use fenliu_core::{AgentId, Entry, RoutingSettings, Strategy, Tag, TzOffset};
    use serde::{Deserialize, Serialize};

    /// `Record`, format 3.
    pub(crate) type Record = super::Stored<Settings>;

    /// `RoutingSettings`, formats 2 and 3.
    #[derive(Clone, Serialize, Deserialize)]
    pub(crate) struct Settings {
        pub(crate) strategy: Strategy,
        pub(crate) queue: Queue,
        pub(crate) recent_contact: Recent,
        pub(crate) rules: Vec<Rule>,
        pub(crate) overflow: now::Overflow,
        pub(crate) offline: Offline,
        pub(crate) busy_threshold: u32,
        pub(crate) timers: Timers,
        pub(crate) leaderboard_visible: bool,
        pub(crate) timezone: TzOffset,
    }

    #[derive(Clone, Serialize, Deserialize)]
    pub(crate) struct Queue {
        pub(crate) enabled: bool,
        pub(crate) order: now::QueueOrder,
        pub(crate) max_length: Option<u32>,
    }

    #[derive(Clone, Serialize, Deserialize)]
    pub(crate) struct Recent {
        pub(crate) enabled: bool,
        pub(crate) window_secs: u64,
        pub(crate) within_max_load: bool,
    }

    #[derive(Clone, Serialize, Deserialize)]
    pub(crate) struct Rule {
        pub(crate) when: When,
        pub(crate) to: Target,
    }

    #[derive(Clone, Serialize, Deserialize)]
    pub(crate) struct When {
        pub(crate) entry: Option<Entry>,
        pub(crate) question: Option<Tag>,
        pub(crate) order_state: Option<Tag>,
        pub(crate) product_id: Option<Tag>,
        pub(crate) intent: Option<Tag>,
    }

    #[derive(Clone, Serialize, Deserialize)]
    pub(crate) struct Target {
        pub(crate) agents: Vec<AgentId>,
        pub(crate) groups: Vec<fenliu_core::GroupId>,
    }

    #[derive(Clone, Serialize, Deserialize)]
    pub(crate) struct Offline {
        pub(crate) agents: Vec<AgentId>,
    }

    #[derive(Clone, Serialize, Deserialize)]
    pub(crate) struct Timers {
        pub(crate) reply_target_secs: u64,
        pub(crate) auto_end_secs: u64,
        pub(crate) reply_window_secs: u64,
        pub(crate) proactive_window_secs: u64,
    }

    #[cfg(test)]
    impl Settings {
        /// The format-3 shape of `s` (what it has of it).
        pub(crate) fn of(s: &RoutingSettings) -> Self {
            Settings {
                strategy: s.strategy,
                queue: Queue {
                    enabled: s.queue.enabled,
                    order: s.queue.order,
                    max_length: s.queue.max_length,
                },
                recent_contact: Recent {
                    enabled: s.recent_contact.enabled,
                    window_secs: s.recent_contact.window_secs,
                    within_max_load: s.recent_contact.within_max_load,
                },
                rules: s
                    .rules
                    .iter()
                    .map(|r| Rule {
                        when: When {
                            entry: r.when.entry,
                            question: r.when.question.clone(),
                            order_state: r.when.order_state.clone(),
                            product_id: r.when.product_id.clone(),
                            intent: r.when.intent.clone(),
                        },
                        to: Target {
                            agents: r.to.agents.clone(),
                            groups: r.to.groups.clone(),
                        },
                    })
                    .collect(),
                overflow: s.overflow,
                offline: Offline {
                    agents: s.offline.agents.clone(),
                },
                busy_threshold: s.busy_threshold,
                timers: Timers {
                    reply_target_secs: s.timers.reply_target_secs,
                    auto_end_secs: s.timers.auto_end_secs,
                    reply_window_secs: s.timers.reply_window_secs,
                    proactive_window_secs: s.timers.proactive_window_secs,
                },
                leaderboard_visible: s.leaderboard_visible,
                timezone: s.timezone,
            }
        }
    }

    impl From<Settings> for RoutingSettings {
        /// The settings as the core has them now: what was written, and the
        /// defaults of everything added since.
        fn from(s: Settings) -> Self {
            RoutingSettings {
                strategy: s.strategy,
                queue: now::QueueSettings {
                    enabled: s.queue.enabled,
                    order: s.queue.order,
                    max_length: s.queue.max_length,
                },
                recent_contact: now::RecentContactSettings {
                    enabled: s.recent_contact.enabled,
                    window_secs: s.recent_contact.window_secs,
                    within_max_load: s.recent_contact.within_max_load,
                },
                rules: s
                    .rules
                    .into_iter()
                    .map(|r| now::Rule {
                        when: now::When {
                            entry: r.when.entry,
                            question: r.when.question,
                            order_state: r.when.order_state,
                            product_id: r.when.product_id,
                            intent: r.when.intent,
                        },
                        to: now::Target {
                            agents: r.to.agents,
                            groups: r.to.groups,
                        },
                    })
                    .collect(),
                overflow: s.overflow,
                offline: now::OfflineSettings {
                    agents: s.offline.agents,
                },
                busy_threshold: s.busy_threshold,
                timers: now::Timers {
                    reply_target_secs: s.timers.reply_target_secs,
                    auto_end_secs: s.timers.auto_end_secs,
                    reply_window_secs: s.timers.reply_window_secs,
                    proactive_window_secs: s.timers.proactive_window_secs,
                },
                leaderboard_visible: s.leaderboard_visible,
                timezone: s.timezone,
                ..RoutingSettings::default()
            }
        }
    }

    impl From<Record> for records::Record {
        fn from(r: Record) -> Self {
            r.with_settings(|s| Ok::<_, std::convert::Infallible>(s.into()))
                .unwrap_or_else(|never| match never {})
        }
    }
}

/// Records as format 2 wrote them: an agent's daily figures held the set of
/// buyers it received.
pub(crate) mod v2 {
    use std::collections::BTreeSet;

    use fenliu_core::agent::Agent;
    use fenliu_core::records::{self, Meta};
    use fenliu_core::shop::{OrderRecord, RecentContact};
    use fenliu_core::stats::AgentDay as NewAgentDay;
    use fenliu_core::time::Day;
    use fenliu_core::{AgentId, BuyerId, Conversation, GroupId};
    use serde::{Deserialize, Serialize};

    use super::v3;

    /// `Record`, formats 1 and 2 (same variants, in the same order).
    #[derive(Serialize, Deserialize)]
    pub(crate) enum Record {
        Meta(Meta),
        Settings(v3::Settings),
        Agent(Agent),
        Group(GroupId, Vec<AgentId>),
        Conversation(Box<Conversation>),
        Recent(BuyerId, RecentContact),
        Order(OrderRecord),
        Stats(Day, AgentId, AgentDay),
    }

    /// `AgentDay`, formats 1 and 2 (same fields, in the same order).
    #[derive(Clone, Default, Serialize, Deserialize)]
    pub(crate) struct AgentDay {
        pub(crate) buyers: BTreeSet<BuyerId>,
        pub(crate) sessions: u32,
        pub(crate) clocked: u32,
        pub(crate) late: u32,
        pub(crate) ratings: u32,
        pub(crate) satisfied: u32,
        pub(crate) credited_orders: u32,
    }

    impl Record {
        /// The records this one is now: itself, and for a day's figures one
        /// reception record per buyer.
        pub(crate) fn into_records(self) -> Vec<records::Record> {
            use records::Record as R;
            vec![match self {
                Record::Meta(m) => R::Meta(m),
                Record::Settings(s) => R::Settings(s.into()),
                Record::Agent(a) => R::Agent(a),
                Record::Group(g, m) => R::Group(g, m),
                Record::Conversation(c) => R::Conversation(c),
                Record::Recent(b, r) => R::Recent(b, r),
                Record::Order(o) => R::Order(o),
                Record::Stats(d, a, s) => {
                    let figures = NewAgentDay {
                        receptions: s.buyers.len() as u32,
                        sessions: s.sessions,
                        clocked: s.clocked,
                        late: s.late,
                        ratings: s.ratings,
                        satisfied: s.satisfied,
                        credited_orders: s.credited_orders,
                    };
                    let mut out = vec![R::Stats(d, a.clone(), figures)];
                    out.extend(s.buyers.into_iter().map(|b| R::Reception(d, a.clone(), b)));
                    return out;
                }
            }]
        }
    }
}

/// Records as format 1 wrote them: as format 2, but for routing settings
/// without `queue.max_length`.
pub(crate) mod v1 {
    use fenliu_core::agent::Agent;
    use fenliu_core::records::Meta;
    use fenliu_core::settings::{Overflow, QueueOrder};
    use fenliu_core::shop::{OrderRecord, RecentContact};
    use fenliu_core::time::Day;
    use fenliu_core::{AgentId, BuyerId, Conversation, GroupId, Strategy, TzOffset};
    use serde::{Deserialize, Serialize};

    use super::v2::{self, AgentDay};
    use super::v3;

    /// `Record`, format 1 (same variants, in the same order).
    #[derive(Serialize, Deserialize)]
    pub(crate) enum Record {
        Meta(Meta),
        Settings(Settings),
        Agent(Agent),
        Group(GroupId, Vec<AgentId>),
        Conversation(Box<Conversation>),
        Recent(BuyerId, RecentContact),
        Order(OrderRecord),
        Stats(Day, AgentId, AgentDay),
    }

    /// `RoutingSettings`, format 1 (same fields, in the same order).
    #[derive(Serialize, Deserialize)]
    pub(crate) struct Settings {
        pub(crate) strategy: Strategy,
        pub(crate) queue: Queue,
        pub(crate) recent_contact: v3::Recent,
        pub(crate) rules: Vec<v3::Rule>,
        pub(crate) overflow: Overflow,
        pub(crate) offline: v3::Offline,
        pub(crate) busy_threshold: u32,
        pub(crate) timers: v3::Timers,
        pub(crate) leaderboard_visible: bool,
        pub(crate) timezone: TzOffset,
    }

    /// `QueueSettings`, format 1.
    #[derive(Serialize, Deserialize)]
    pub(crate) struct Queue {
        pub(crate) enabled: bool,
        pub(crate) order: QueueOrder,
    }

    impl From<Record> for v2::Record {
        fn from(r: Record) -> Self {
            match r {
                Record::Meta(m) => Self::Meta(m),
                Record::Settings(s) => Self::Settings(v3::Settings {
                    strategy: s.strategy,
                    queue: v3::Queue {
                        enabled: s.queue.enabled,
                        order: s.queue.order,
                        max_length: None,
                    },
                    recent_contact: s.recent_contact,
                    rules: s.rules,
                    overflow: s.overflow,
                    offline: s.offline,
                    busy_threshold: s.busy_threshold,
                    timers: s.timers,
                    leaderboard_visible: s.leaderboard_visible,
                    timezone: s.timezone,
                }),
                Record::Agent(a) => Self::Agent(a),
                Record::Group(g, m) => Self::Group(g, m),
                Record::Conversation(c) => Self::Conversation(c),
                Record::Recent(b, r) => Self::Recent(b, r),
                Record::Order(o) => Self::Order(o),
                Record::Stats(d, a, s) => Self::Stats(d, a, s),
            }
        }
    }
}

#[cfg(test)]
mod tests {
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
                groups: vec![],
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
        let bytes = encode(&Record::Settings(written.clone()));
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
        let bytes = encode(&Record::Settings(settings.clone()));
        assert_eq!(bytes[0], FORMAT_V4);
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
        let bytes = format_1(&v1::Record::Agent(agent.clone()));

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
            ("meta".to_owned(), encode(&Record::Meta(Default::default()))),
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
            .all(|p| p.value[0] == FORMAT_V4));
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
}
