//! Records to bytes and back, behind a version byte, so the format can
//! evolve without misreading old values.
//!
//! | Version | What changed |
//! |---|---|
//! | 1 | the first format (bincode 2) |
//! | 2 | routing settings carry `queue.max_length` |
//! | 3 | an agent's daily figures count receptions; the buyers received are records of their own (`recv:…`) |
//! | 4 | routing settings are JSON text inside the record, so that a setting added later reads from an older record as its default; settings carry `presence` |
//! | 5 | MessagePack instead of bincode: a struct is an array that carries its length, so a field added at the end of one (with a default) reads from an older record as its default; conversations carry a priority and a queue time, agents their time online, daily figures too, and the shop's own figures of a day are records (`day:…`) |
//! | 6 | format 5 with enum variants written by index instead of name (`indexed`); read by format 5's reader |
//!
//! Records are written in the newest format and read in any. Formats 1–4
//! are bincode, which is not self-describing, so they are read through
//! copies of the types as they were ([`old`]). From format 5 on, a field is
//! only ever added at the end of a struct, with `#[serde(default)]`, and an
//! enum only gains variants: that needs no new format. Format 6 writes
//! variants by index, so a variant is only ever added at the end of its
//! enum. An old record that is now several records (a day's figures with
//! its buyers) is read as all of them, and [`restore`] hands back what must
//! be rewritten so that the store holds the new form before anything else
//! is written.

mod indexed;
mod old;
#[cfg(test)]
mod tests;

use fenliu_core::daylog::Fact;
use fenliu_core::records::{Record, RecordRef};
use fenliu_core::time::{date_string, Day};
use fenliu_core::{Effects, Shop};

use self::old::{v1, v2, v3, v4};
use crate::{Batch, Put, StoreError};

/// The first format.
pub const FORMAT_V1: u8 = 1;
/// Routing settings with the queue limit.
pub const FORMAT_V2: u8 = 2;
/// Receptions as records of their own.
pub const FORMAT_V3: u8 = 3;
/// Settings as JSON text.
pub const FORMAT_V4: u8 = 4;
/// MessagePack.
pub const FORMAT_V5: u8 = 5;
/// The format written now: MessagePack with variants by index.
pub const FORMAT_V6: u8 = 6;

thread_local! {
    /// Where [`encode`] writes before copying out exactly the bytes written.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Encodes a record.
///
/// The bytes are written into a buffer kept per thread and copied out once,
/// at their length: a conversation with its explanation is several hundred
/// bytes, and growing a fresh vector to that size reallocated it several
/// times per record (and a store that keeps the value then shrank it once
/// more). The copy has no spare capacity to shrink.
pub fn encode(record: RecordRef<'_>) -> Vec<u8> {
    SCRATCH.with_borrow_mut(|out| {
        out.clear();
        out.push(FORMAT_V6);
        let mut writer = rmp_serde::Serializer::new(&mut *out);
        serde::Serialize::serialize(&v5::Out::of(record), indexed::Indexed(&mut writer))
            .expect("records always encode");
        let bytes = out.to_vec();
        if out.capacity() > SCRATCH_KEPT {
            *out = Vec::new();
        }
        bytes
    })
}

/// The largest scratch buffer [`encode`] keeps between records (a rare large
/// record, such as settings with many rules, does not pin its size).
const SCRATCH_KEPT: usize = 64 * 1024;

/// Decodes a record written by [`encode`] in any format; an old record that
/// is several records now reads as all of them (its own first).
pub fn decode(key: &str, bytes: &[u8]) -> Result<Vec<Record>, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        key: key.to_owned(),
        reason,
    };
    let config = bincode::config::standard();
    match bytes.split_first() {
        Some((&(FORMAT_V5 | FORMAT_V6), body)) => rmp_serde::from_slice::<v5::In>(body)
            .map_err(|e| corrupt(e.to_string()))
            .and_then(|r| r.into_record().map_err(corrupt))
            .map(|r| vec![r]),
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

/// The batch that persists a command's effects on `shop`; the facts of the
/// day's log among them are kept `log_days` days after their day ends.
pub fn batch_for(shop: &Shop, effects: &Effects, log_days: u32) -> Batch {
    let mut batch = Batch::default();
    for key in &effects.changed {
        match shop.record_ref(key) {
            Some(record) => batch.puts.push(put(shop, key.name(), record)),
            None => batch.deletes.push(key.name()),
        }
    }
    // A command's facts are of one shop day (of two when timers due before
    // midnight fire with it): one list name and one append per run of them.
    let zone = shop.settings().timezone;
    let mut facts = effects.facts.iter().peekable();
    while let Some(first) = facts.next() {
        let day = zone.day_of(first.at);
        let mut lines = vec![day_log_item(first)];
        while let Some(fact) = facts.next_if(|f| zone.day_of(f.at) == day) {
            lines.push(day_log_item(fact));
        }
        let until = zone.start_of(day + 1 + i64::from(log_days));
        batch.append(day_log(day), lines, until);
    }
    batch
}

/// Days a day's log is kept after the day ends (then the store drops it),
/// unless the node says otherwise (`FENLIU_DAY_LOG_DAYS`).
pub const DAY_LOG_KEPT_DAYS: u32 = 7;

/// The list that holds a shop day's log: `log:YYYY-MM-DD`, one item per
/// [`fenliu_core::daylog::Fact`] (see [`day_log_item`]).
pub fn day_log(day: Day) -> String {
    format!("log:{}", date_string(day))
}

/// A line of the day's log as stored: [`FORMAT_V6`], then the fact as
/// self-describing MessagePack in its human-readable form (ids and variants
/// as text, structs as arrays), which is what the fact's own serde shape
/// (a flattened, tagged enum) reads back. An inquiry's line is 106 bytes
/// against 228 as JSON: the day's log was a sixth of a node's memory per
/// conversation and a third of the bytes of a Redis write (issue 9).
pub fn day_log_item(fact: &Fact) -> Vec<u8> {
    let mut out = vec![FORMAT_V6];
    let mut writer = rmp_serde::Serializer::new(&mut out).with_human_readable();
    serde::Serialize::serialize(fact, &mut writer).expect("a fact is plain data");
    out
}

/// A stored line of the day's log as the JSON line the export answers. Lines
/// stored before format 6 are JSON already (they start with `{`).
pub fn day_log_line(list: &str, item: &[u8]) -> Result<Vec<u8>, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        key: list.to_owned(),
        reason,
    };
    match item.split_first() {
        Some((b'{', _)) => Ok(item.to_vec()),
        Some((&FORMAT_V6, body)) => {
            let mut reader = rmp_serde::Deserializer::new(body).with_human_readable();
            let fact: Fact =
                serde::Deserialize::deserialize(&mut reader).map_err(|e| corrupt(e.to_string()))?;
            Ok(serde_json::to_vec(&fact).expect("a fact is plain data"))
        }
        Some((v, _)) => Err(corrupt(format!("unknown day's log line format {v}"))),
        None => Err(corrupt("empty line".into())),
    }
}

/// Every record of the shop as one batch (used to seed a store).
pub fn full_batch(shop: &Shop) -> Batch {
    puts_of(shop, &shop.snapshot())
}

/// The put that stores `record` of `shop` under `key`.
fn put(shop: &Shop, key: String, record: RecordRef<'_>) -> Put {
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
            .map(|record| put(shop, record.key().name(), record.as_ref()))
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

/// Records as formats 5 and 6 shape them: the core's types as MessagePack,
/// but for the routing settings, which are JSON text (as in format 4:
/// settings change shape in the middle of their structs, where an array
/// cannot tell a field is missing). Format 6 writes the same shapes through
/// `indexed`, which only turns variant names into indexes; `In` reads both.
pub(crate) mod v5 {
    use fenliu_core::agent::Agent;
    use fenliu_core::records::{Members, Meta, Record, RecordRef};
    use fenliu_core::shop::{OrderRecord, RecentContact};
    use fenliu_core::stats::{AgentDay, ShopDay};
    use fenliu_core::time::Day;
    use fenliu_core::{AgentId, BuyerId, Conversation, GroupId, RoutingSettings};
    use serde::{Deserialize, Serialize};

    /// What is written: `Record`'s variants. Each holds one value (a tuple
    /// where the record has several parts), which MessagePack writes as a
    /// tuple variant is written, so that format 6 can key it by index.
    #[derive(Serialize)]
    pub(crate) enum Out<'a> {
        Meta(&'a Meta),
        Settings(String),
        Agent(&'a Agent),
        Group((&'a GroupId, Listed<'a>)),
        Conversation(&'a Conversation),
        Recent((&'a BuyerId, &'a RecentContact)),
        Order(&'a OrderRecord),
        Stats((Day, &'a AgentId, &'a AgentDay)),
        Reception((Day, &'a AgentId, &'a BuyerId)),
        ShopDay((Day, &'a ShopDay)),
    }

    /// A group's members, written as the list `In` reads back.
    pub(crate) struct Listed<'a>(Members<'a>);

    impl Serialize for Listed<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            // Each with its exact length, which MessagePack writes first.
            match self.0 {
                Members::Listed(l) => s.collect_seq(l),
                Members::Set(set) => s.collect_seq(set),
            }
        }
    }

    impl<'a> Out<'a> {
        pub(crate) fn of(record: RecordRef<'a>) -> Self {
            match record {
                RecordRef::Meta(m) => Self::Meta(m),
                RecordRef::Settings(s) => {
                    Self::Settings(serde_json::to_string(s).expect("settings always encode"))
                }
                RecordRef::Agent(a) => Self::Agent(a),
                RecordRef::Group(g, m) => Self::Group((g, Listed(m))),
                RecordRef::Conversation(c) => Self::Conversation(c),
                RecordRef::Recent(b, r) => Self::Recent((b, r)),
                RecordRef::Order(o) => Self::Order(o),
                RecordRef::Stats(d, a, f) => Self::Stats((d, a, f)),
                RecordRef::Reception(d, a, b) => Self::Reception((d, a, b)),
                RecordRef::ShopDay(d, f) => Self::ShopDay((d, f)),
            }
        }
    }

    /// What is read back.
    #[derive(Deserialize)]
    pub(crate) enum In {
        Meta(Meta),
        Settings(String),
        Agent(Agent),
        Group(GroupId, Vec<AgentId>),
        Conversation(Box<Conversation>),
        Recent(BuyerId, RecentContact),
        Order(OrderRecord),
        Stats(Day, AgentId, AgentDay),
        Reception(Day, AgentId, BuyerId),
        ShopDay(Day, ShopDay),
    }

    impl In {
        pub(crate) fn into_record(self) -> Result<Record, String> {
            Ok(match self {
                Self::Meta(m) => Record::Meta(m),
                Self::Settings(text) => Record::Settings(
                    serde_json::from_str::<RoutingSettings>(&text).map_err(|e| e.to_string())?,
                ),
                Self::Agent(a) => Record::Agent(a),
                Self::Group(g, m) => Record::Group(g, m),
                Self::Conversation(c) => Record::Conversation(c),
                Self::Recent(b, r) => Record::Recent(b, r),
                Self::Order(o) => Record::Order(o),
                Self::Stats(d, a, f) => Record::Stats(d, a, f),
                Self::Reception(d, a, b) => Record::Reception(d, a, b),
                Self::ShopDay(d, f) => Record::ShopDay(d, f),
            })
        }
    }
}
