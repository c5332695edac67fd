//! The stored form of a shop: one record per object.
//!
//! A command reports the keys of the records it changed; the store writes
//! exactly those (present: put, absent: delete) in one atomic write. Indexes,
//! the queue order, timers and per-buyer lookups are not stored: they are
//! rebuilt from the records by `Shop::restore` (in `shop/persist.rs`, which
//! also reads a record's value out of a shop). This module holds the data
//! types only.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::agent::Agent;
use crate::conversation::Conversation;
use crate::ids::{AgentId, BuyerId, ConversationId, GroupId, Tag};
use crate::settings::{RoutingSettings, Timers};
use crate::stats::{AgentDay, ShopDay};
use crate::time::{Day, Millis};

/// An order and the agent it credits (提成归属).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRecord {
    /// The order.
    pub order_id: Tag,
    /// The buyer.
    pub buyer_id: BuyerId,
    /// The credited agent.
    pub credited_agent: Option<AgentId>,
    /// When it was recorded.
    pub at: Millis,
}

/// The buyer's most recent agent (最近联系客服).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentContact {
    /// The agent.
    pub agent: AgentId,
    /// When the mapping lapses.
    pub expires_at: Millis,
}

/// Counters of a shop.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// The last conversation number handed out.
    pub next_conversation: u64,
    /// The lowest queue key handed out (entries put at the front).
    pub queue_front: i64,
    /// The highest queue key handed out.
    pub queue_back: i64,
}

/// The key of one stored record.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RecordKey {
    /// Counters.
    Meta,
    /// Routing settings.
    Settings,
    /// An agent.
    Agent(AgentId),
    /// A group's members.
    Group(GroupId),
    /// A conversation.
    Conversation(ConversationId),
    /// A buyer's recent agent.
    Recent(BuyerId),
    /// An order.
    Order(Tag),
    /// An agent's figures for a day.
    Stats(Day, AgentId),
    /// A buyer an agent received on a day.
    Reception(Day, AgentId, BuyerId),
    /// The shop's figures of a day.
    ShopDay(Day),
}

impl RecordKey {
    /// A stable textual name, usable as a field or key suffix in a store.
    pub fn name(&self) -> String {
        match self {
            Self::Meta => "meta".into(),
            Self::Settings => "settings".into(),
            Self::Agent(a) => format!("agent:{a}"),
            Self::Group(g) => format!("group:{g}"),
            Self::Conversation(c) => format!("conv:{}", c.0),
            Self::Recent(b) => format!("recent:{b}"),
            Self::Order(o) => format!("order:{o}"),
            Self::Stats(d, a) => format!("stats:{d}:{a}"),
            // An agent id has no ':', so the buyer id is what follows the second.
            Self::Reception(d, a, b) => format!("recv:{d}:{a}:{b}"),
            Self::ShopDay(d) => format!("day:{d}"),
        }
    }
}

/// Keys a [`Changed`] set keeps distinct as they come; a larger set (a drain
/// that placed many conversations, a rebuild) is sorted and deduplicated once.
const DISTINCT_AS_THEY_COME: usize = 32;

/// The keys of the records a command changed, each once, in no particular
/// order.
///
/// A command names the same record several times (an inquiry touches its
/// conversation twice), and the set is read once, by whoever persists it. So
/// keys are appended as they come, skipping one already there while the set
/// is small, and a large set is sorted and deduplicated once when the command
/// hands its effects over: an ordered tree set paid a search, and often an
/// allocation, on every mention, and more to drop.
#[derive(Clone, Debug, Default)]
pub struct Changed {
    keys: Vec<RecordKey>,
}

impl Changed {
    /// Appends a key; [`Changed::settle`] must follow before the set leaves
    /// the core.
    pub(crate) fn push(&mut self, key: RecordKey) {
        if self.keys.capacity() == 0 {
            // An inquiry names six records, an end or a transfer with a
            // drain more: one allocation instead of growing 4, 8, 16.
            self.keys.reserve(16);
        }
        if self.keys.len() < DISTINCT_AS_THEY_COME && self.keys.contains(&key) {
            return;
        }
        self.keys.push(key);
    }

    /// Removes the repeats [`Changed::push`] let in.
    pub(crate) fn settle(&mut self) {
        if self.keys.len() > DISTINCT_AS_THEY_COME {
            self.keys.sort_unstable();
            self.keys.dedup();
        }
    }

    /// Whether `key` is in the set.
    pub fn contains(&self, key: &RecordKey) -> bool {
        self.keys.contains(key)
    }

    /// The keys.
    pub fn iter(&self) -> std::slice::Iter<'_, RecordKey> {
        self.keys.iter()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no record changed.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Equal when they hold the same keys, whatever the order.
impl PartialEq for Changed {
    fn eq(&self, other: &Self) -> bool {
        fn sorted(c: &Changed) -> Vec<&RecordKey> {
            let mut keys: Vec<&RecordKey> = c.keys.iter().collect();
            keys.sort_unstable();
            keys
        }
        self.len() == other.len() && sorted(self) == sorted(other)
    }
}

impl Eq for Changed {}

impl Extend<RecordKey> for Changed {
    fn extend<I: IntoIterator<Item = RecordKey>>(&mut self, iter: I) {
        self.keys.extend(iter);
        self.keys.sort_unstable();
        self.keys.dedup();
    }
}

impl FromIterator<RecordKey> for Changed {
    fn from_iter<I: IntoIterator<Item = RecordKey>>(iter: I) -> Self {
        let mut set = Self::default();
        set.extend(iter);
        set
    }
}

impl IntoIterator for Changed {
    type Item = RecordKey;
    type IntoIter = std::vec::IntoIter<RecordKey>;

    fn into_iter(self) -> Self::IntoIter {
        self.keys.into_iter()
    }
}

impl<'a> IntoIterator for &'a Changed {
    type Item = &'a RecordKey;
    type IntoIter = std::slice::Iter<'a, RecordKey>;

    fn into_iter(self) -> Self::IntoIter {
        self.keys.iter()
    }
}

/// One stored record.
// Settings are the largest variant, and the rarest: a record lives only
// while it is encoded or restored, so its size costs nothing that boxing
// them would save.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Record {
    /// Counters.
    Meta(Meta),
    /// Routing settings.
    Settings(RoutingSettings),
    /// An agent.
    Agent(Agent),
    /// A group and its members.
    Group(GroupId, Vec<AgentId>),
    /// A conversation.
    Conversation(Box<Conversation>),
    /// A buyer's recent agent.
    Recent(BuyerId, RecentContact),
    /// An order.
    Order(OrderRecord),
    /// An agent's figures for a day.
    Stats(Day, AgentId, AgentDay),
    /// A buyer an agent received on a day.
    Reception(Day, AgentId, BuyerId),
    /// The shop's figures of a day.
    ShopDay(Day, ShopDay),
}

impl Record {
    /// The key the record is stored under.
    pub fn key(&self) -> RecordKey {
        self.as_ref().key()
    }

    /// The record, borrowed.
    pub fn as_ref(&self) -> RecordRef<'_> {
        match self {
            Self::Meta(m) => RecordRef::Meta(m),
            Self::Settings(s) => RecordRef::Settings(s),
            Self::Agent(a) => RecordRef::Agent(a),
            Self::Group(g, m) => RecordRef::Group(g, Members::Listed(m)),
            Self::Conversation(c) => RecordRef::Conversation(c),
            Self::Recent(b, r) => RecordRef::Recent(b, r),
            Self::Order(o) => RecordRef::Order(o),
            Self::Stats(d, a, f) => RecordRef::Stats(*d, a, f),
            Self::Reception(d, a, b) => RecordRef::Reception(*d, a, b),
            Self::ShopDay(d, f) => RecordRef::ShopDay(*d, f),
        }
    }
}

/// A record's value borrowed from where it is held (a shop, or a
/// [`Record`]): what a store encodes after a command, without copying the
/// conversation, its explanation or an agent only to drop the copy again.
#[derive(Clone, Copy, Debug)]
pub enum RecordRef<'a> {
    /// Counters.
    Meta(&'a Meta),
    /// Routing settings.
    Settings(&'a RoutingSettings),
    /// An agent.
    Agent(&'a Agent),
    /// A group and its members.
    Group(&'a GroupId, Members<'a>),
    /// A conversation.
    Conversation(&'a Conversation),
    /// A buyer's recent agent.
    Recent(&'a BuyerId, &'a RecentContact),
    /// An order.
    Order(&'a OrderRecord),
    /// An agent's figures for a day.
    Stats(Day, &'a AgentId, &'a AgentDay),
    /// A buyer an agent received on a day.
    Reception(Day, &'a AgentId, &'a BuyerId),
    /// The shop's figures of a day.
    ShopDay(Day, &'a ShopDay),
}

/// A group's members as held: a shop keeps a set, a record a list.
#[derive(Clone, Copy, Debug)]
pub enum Members<'a> {
    /// As a record lists them.
    Listed(&'a [AgentId]),
    /// As a shop holds them (in id order).
    Set(&'a BTreeSet<AgentId>),
}

impl Members<'_> {
    /// The members, in order, as a record lists them.
    pub fn to_vec(self) -> Vec<AgentId> {
        match self {
            Self::Listed(l) => l.to_vec(),
            Self::Set(s) => s.iter().cloned().collect(),
        }
    }
}

impl RecordRef<'_> {
    /// The key the record is stored under.
    pub fn key(self) -> RecordKey {
        match self {
            Self::Meta(_) => RecordKey::Meta,
            Self::Settings(_) => RecordKey::Settings,
            Self::Agent(a) => RecordKey::Agent(a.id.clone()),
            Self::Group(g, _) => RecordKey::Group(g.clone()),
            Self::Conversation(c) => RecordKey::Conversation(c.id),
            Self::Recent(b, _) => RecordKey::Recent(b.clone()),
            Self::Order(o) => RecordKey::Order(o.order_id.clone()),
            Self::Stats(d, a, _) => RecordKey::Stats(d, a.clone()),
            Self::Reception(d, a, b) => RecordKey::Reception(d, a.clone(), b.clone()),
            Self::ShopDay(d, _) => RecordKey::ShopDay(d),
        }
    }

    /// An owned copy.
    pub fn to_record(self) -> Record {
        match self {
            Self::Meta(m) => Record::Meta(m.clone()),
            Self::Settings(s) => Record::Settings(s.clone()),
            Self::Agent(a) => Record::Agent(a.clone()),
            Self::Group(g, m) => Record::Group(g.clone(), m.to_vec()),
            Self::Conversation(c) => Record::Conversation(Box::new(c.clone())),
            Self::Recent(b, r) => Record::Recent(b.clone(), r.clone()),
            Self::Order(o) => Record::Order(o.clone()),
            Self::Stats(d, a, f) => Record::Stats(d, a.clone(), f.clone()),
            Self::Reception(d, a, b) => Record::Reception(d, a.clone(), b.clone()),
            Self::ShopDay(d, f) => Record::ShopDay(d, f.clone()),
        }
    }

    /// When the store may forget the record by itself, if ever, under
    /// `timers` (see also `RecordRef::expires_at`, which reads the shop's).
    pub(crate) fn expiry(self, timers: &Timers) -> Option<Millis> {
        match self {
            Self::Recent(_, r) => Some(r.expires_at),
            Self::Order(o) => Some(timers.order_expires_at(o.at)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(n: u64) -> RecordKey {
        RecordKey::Conversation(ConversationId(n))
    }

    #[test]
    fn changed_records_are_each_named_once_in_small_and_large_sets() {
        let mut small = Changed::default();
        for n in [3, 1, 3, 2, 1] {
            small.push(conv(n));
        }
        small.settle();
        assert_eq!(small.len(), 3);

        let mut large = Changed::default();
        for n in (0..200).chain(0..200) {
            large.push(conv(n % 90));
        }
        large.settle();
        assert_eq!(large.len(), 90);
        assert!((0..90).all(|n| large.contains(&conv(n))));

        let same: Changed = [conv(2), conv(1), conv(3)].into_iter().collect();
        assert_eq!(small, same);
        assert_ne!(small, [conv(1), conv(2)].into_iter().collect());
    }
}
