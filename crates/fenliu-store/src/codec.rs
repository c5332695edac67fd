//! Records to bytes and back: bincode 2 behind a version byte, so the format
//! can evolve without misreading old values.
//!
//! | Version | What changed |
//! |---|---|
//! | 1 | the first format |
//! | 2 | routing settings carry `queue.max_length` |
//!
//! Records are written in the newest format and read in any: bincode is not
//! self-describing, so an older format is read through a copy of the types
//! as they were ([`v1`]).

use fenliu_core::records::Record;
use fenliu_core::{Effects, Shop};

use crate::{Batch, Put, StoreError};

/// The first format.
pub const FORMAT_V1: u8 = 1;
/// The format written now.
pub const FORMAT_V2: u8 = 2;

/// Encodes a record.
pub fn encode(record: &Record) -> Vec<u8> {
    let mut out = vec![FORMAT_V2];
    let body = bincode::serde::encode_to_vec(record, bincode::config::standard())
        .expect("records always encode");
    out.extend(body);
    out
}

/// Decodes a record written by [`encode`].
pub fn decode(key: &str, bytes: &[u8]) -> Result<Record, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        key: key.to_owned(),
        reason,
    };
    match bytes.split_first() {
        Some((&FORMAT_V2, body)) => {
            bincode::serde::decode_from_slice(body, bincode::config::standard())
                .map(|(r, _)| r)
                .map_err(|e| corrupt(e.to_string()))
        }
        Some((&FORMAT_V1, body)) => {
            bincode::serde::decode_from_slice::<v1::Record, _>(body, bincode::config::standard())
                .map(|(r, _)| r.into())
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
        let name = key.name();
        match shop.record(key) {
            Some(record) => batch.puts.push(Put {
                key: name,
                expires_at: record.expires_at(shop),
                value: encode(&record),
            }),
            None => batch.deletes.push(name),
        }
    }
    batch
}

/// Every record of the shop as one batch (used to seed a store).
pub fn full_batch(shop: &Shop) -> Batch {
    Batch {
        puts: shop
            .snapshot()
            .into_iter()
            .map(|record| Put {
                key: record_name(&record),
                expires_at: record.expires_at(shop),
                value: encode(&record),
            })
            .collect(),
        deletes: Vec::new(),
        events: Vec::new(),
    }
}

fn record_name(record: &Record) -> String {
    use fenliu_core::records::RecordKey as K;
    let key = match record {
        Record::Meta(_) => K::Meta,
        Record::Settings(_) => K::Settings,
        Record::Agent(a) => K::Agent(a.id.clone()),
        Record::Group(g, _) => K::Group(g.clone()),
        Record::Conversation(c) => K::Conversation(c.id),
        Record::Recent(b, _) => K::Recent(b.clone()),
        Record::Order(o) => K::Order(o.order_id.clone()),
        Record::Stats(d, a, _) => K::Stats(*d, a.clone()),
    };
    key.name()
}

/// Rebuilds a shop from what the store holds.
pub fn restore(
    shop: fenliu_core::ShopId,
    stored: Vec<(String, Vec<u8>)>,
    now: fenliu_core::Millis,
) -> Result<Shop, StoreError> {
    let records = stored
        .iter()
        .map(|(k, v)| decode(k, v))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Shop::restore(shop, records, now))
}

/// Records as format 1 wrote them: the same as now, but for routing
/// settings without `queue.max_length`.
pub(crate) mod v1 {
    use fenliu_core::agent::Agent;
    use fenliu_core::records::{self, Meta};
    use fenliu_core::settings::{
        OfflineSettings, Overflow, QueueOrder, QueueSettings, RecentContactSettings, Rule, Timers,
    };
    use fenliu_core::shop::{OrderRecord, RecentContact};
    use fenliu_core::stats::AgentDay;
    use fenliu_core::time::Day;
    use fenliu_core::{
        AgentId, BuyerId, Conversation, GroupId, RoutingSettings, Strategy, TzOffset,
    };
    use serde::{Deserialize, Serialize};

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
        pub(crate) recent_contact: RecentContactSettings,
        pub(crate) rules: Vec<Rule>,
        pub(crate) overflow: Overflow,
        pub(crate) offline: OfflineSettings,
        pub(crate) busy_threshold: u32,
        pub(crate) timers: Timers,
        pub(crate) leaderboard_visible: bool,
        pub(crate) timezone: TzOffset,
    }

    /// `QueueSettings`, format 1.
    #[derive(Serialize, Deserialize)]
    pub(crate) struct Queue {
        pub(crate) enabled: bool,
        pub(crate) order: QueueOrder,
    }

    impl From<Record> for records::Record {
        fn from(r: Record) -> Self {
            match r {
                Record::Meta(m) => Self::Meta(m),
                Record::Settings(s) => Self::Settings(RoutingSettings {
                    strategy: s.strategy,
                    queue: QueueSettings {
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
    use fenliu_core::{Agent, AgentId, RoutingSettings};

    use super::*;

    fn format_1(record: &v1::Record) -> Vec<u8> {
        let mut out = vec![FORMAT_V1];
        out.extend(bincode::serde::encode_to_vec(record, bincode::config::standard()).unwrap());
        out
    }

    fn settings_v1(s: &RoutingSettings) -> v1::Settings {
        v1::Settings {
            strategy: s.strategy,
            queue: v1::Queue {
                enabled: s.queue.enabled,
                order: s.queue.order,
            },
            recent_contact: s.recent_contact.clone(),
            rules: s.rules.clone(),
            overflow: s.overflow,
            offline: s.offline.clone(),
            busy_threshold: s.busy_threshold,
            timers: s.timers.clone(),
            leaderboard_visible: s.leaderboard_visible,
            timezone: s.timezone,
        }
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
        assert_eq!(bytes[0], FORMAT_V2);
        assert_eq!(
            decode("settings", &bytes).unwrap(),
            Record::Settings(settings)
        );
    }

    #[test]
    fn format_1_settings_read_with_no_queue_limit_and_the_rest_as_written() {
        let mut written = RoutingSettings::default();
        written.queue.order = QueueOrder::Lifo;
        written.busy_threshold = 7;
        let bytes = format_1(&v1::Record::Settings(settings_v1(&written)));

        let Record::Settings(read) = decode("settings", &bytes).unwrap() else {
            panic!("a settings record");
        };

        assert_eq!(read, written);
        assert_eq!(read.queue.max_length, None);
    }

    #[test]
    fn format_1_records_of_other_kinds_read_unchanged() {
        let agent = Agent::new(AgentId::parse("a1").unwrap());
        let bytes = format_1(&v1::Record::Agent(agent.clone()));

        assert_eq!(decode("agent:a1", &bytes).unwrap(), Record::Agent(agent));
        assert!(
            decode("x", &[9, 0]).is_err(),
            "an unknown format is refused"
        );
    }
}
