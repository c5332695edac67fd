//! The stored form of a shop: one record per object.
//!
//! A command reports the keys of the records it changed; the store writes
//! exactly those (present: put, absent: delete) in one atomic write. Indexes,
//! the queue order, timers and per-buyer lookups are not stored: they are
//! rebuilt from the records by [`Shop::restore`].

use serde::{Deserialize, Serialize};

use crate::agent::Agent;
use crate::conversation::ConversationStatus;
use crate::ids::{AgentId, BuyerId, ConversationId, GroupId, ShopId, Tag};
use crate::index::{Pool, Slot};
use crate::settings::RoutingSettings;
use crate::shop::{OrderRecord, RecentContact, Shop, Timer};
use crate::stats::AgentDay;
use crate::time::{Day, Millis};

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
    Conversation(Box<crate::conversation::Conversation>),
    /// A buyer's recent agent.
    Recent(BuyerId, RecentContact),
    /// An order.
    Order(OrderRecord),
    /// An agent's figures for a day.
    Stats(Day, AgentId, AgentDay),
    /// A buyer an agent received on a day.
    Reception(Day, AgentId, BuyerId),
}

impl Record {
    /// The key the record is stored under.
    pub fn key(&self) -> RecordKey {
        match self {
            Self::Meta(_) => RecordKey::Meta,
            Self::Settings(_) => RecordKey::Settings,
            Self::Agent(a) => RecordKey::Agent(a.id.clone()),
            Self::Group(g, _) => RecordKey::Group(g.clone()),
            Self::Conversation(c) => RecordKey::Conversation(c.id),
            Self::Recent(b, _) => RecordKey::Recent(b.clone()),
            Self::Order(o) => RecordKey::Order(o.order_id.clone()),
            Self::Stats(d, a, _) => RecordKey::Stats(*d, a.clone()),
            Self::Reception(d, a, b) => RecordKey::Reception(*d, a.clone(), b.clone()),
        }
    }

    /// When the store may forget the record by itself, if ever.
    pub fn expires_at(&self, shop: &Shop) -> Option<Millis> {
        let t = &shop.settings.timers;
        match self {
            Self::Recent(_, r) => Some(r.expires_at),
            Self::Order(o) => Some(o.at + t.proactive_window_secs as i64 * 1000),
            _ => None,
        }
    }
}

impl Shop {
    /// The current value of a record; `None` means it is to be deleted.
    pub fn record(&self, key: &RecordKey) -> Option<Record> {
        Some(match key {
            RecordKey::Meta => Record::Meta(self.meta.clone()),
            RecordKey::Settings => Record::Settings(self.settings.clone()),
            RecordKey::Agent(a) => Record::Agent(self.agent(a)?.clone()),
            RecordKey::Group(g) => {
                Record::Group(g.clone(), self.groups.get(g)?.iter().cloned().collect())
            }
            RecordKey::Conversation(c) => {
                Record::Conversation(Box::new(self.conversations.get(c)?.clone()))
            }
            RecordKey::Recent(b) => Record::Recent(b.clone(), self.recent.get(b)?.clone()),
            RecordKey::Order(o) => Record::Order(self.orders.get(o)?.clone()),
            RecordKey::Stats(d, a) => {
                Record::Stats(*d, a.clone(), self.stats.get(d)?.get(a)?.clone())
            }
            RecordKey::Reception(d, a, b) => {
                self.received.get(d)?.get(a)?.get(b)?;
                Record::Reception(*d, a.clone(), b.clone())
            }
        })
    }

    /// Every record of the shop.
    pub fn snapshot(&self) -> Vec<Record> {
        let mut out = vec![
            Record::Meta(self.meta.clone()),
            Record::Settings(self.settings.clone()),
        ];
        out.extend(self.agents().cloned().map(Record::Agent));
        out.extend(
            self.groups
                .iter()
                .map(|(g, m)| Record::Group(g.clone(), m.iter().cloned().collect())),
        );
        out.extend(
            self.conversations
                .values()
                .map(|c| Record::Conversation(Box::new(c.clone()))),
        );
        out.extend(
            self.recent
                .iter()
                .map(|(b, r)| Record::Recent(b.clone(), r.clone())),
        );
        out.extend(self.orders.values().cloned().map(Record::Order));
        out.extend(self.stats.iter().flat_map(|(d, figures)| {
            figures
                .iter()
                .map(|(a, s)| Record::Stats(*d, a.clone(), s.clone()))
        }));
        out.extend(self.received.iter().flat_map(|(d, by_agent)| {
            by_agent.iter().flat_map(move |(a, buyers)| {
                buyers
                    .iter()
                    .map(move |b| Record::Reception(*d, a.clone(), b.clone()))
            })
        }));
        out
    }

    /// Rebuilds a shop from its records (in any order), as of `now`.
    pub fn restore(id: ShopId, records: impl IntoIterator<Item = Record>, now: Millis) -> Shop {
        let mut shop = Shop::new(id);
        let mut orders = Vec::new();
        for record in records {
            match record {
                Record::Meta(m) => shop.meta = m,
                Record::Settings(s) => shop.settings = s,
                Record::Agent(a) => {
                    let slot = shop.agents.len() as Slot;
                    shop.d.by_id.insert(a.id.clone(), slot);
                    shop.agents.push(Some(a));
                }
                Record::Group(g, members) => {
                    shop.groups.insert(g, members.into_iter().collect());
                }
                Record::Conversation(c) => {
                    shop.conversations.insert(c.id, *c);
                }
                Record::Recent(b, r) => {
                    shop.recent.insert(b, r);
                }
                Record::Order(o) => orders.push(o),
                Record::Stats(d, a, s) => {
                    shop.stats.entry(d).or_default().insert(a, s);
                }
                Record::Reception(d, a, b) => {
                    shop.received
                        .entry(d)
                        .or_default()
                        .entry(a)
                        .or_default()
                        .insert(b);
                }
            }
        }
        // Group membership is stored on both sides; the group records win.
        for a in shop.agents.iter_mut().flatten() {
            a.groups.clear();
        }
        for (g, members) in &shop.groups {
            for m in members {
                if let Some(&slot) = shop.d.by_id.get(m) {
                    if let Some(a) = shop.agents[slot as usize].as_mut() {
                        a.groups.insert(g.clone());
                    }
                }
            }
            shop.d
                .group_pools
                .insert(g.clone(), Pool::new(shop.settings.strategy));
        }
        for o in orders {
            shop.index_order(&o);
            shop.orders.insert(o.order_id.clone(), o);
        }
        shop.rebuild_recent_expiry();
        let mut last: crate::ids::IdMap<BuyerId, (Millis, ConversationId)> = Default::default();
        // Every agent's slot was handed out above, one per agent record.
        shop.d.active_by_slot = vec![Vec::new(); shop.agents.len()];
        for c in shop.conversations.values() {
            let buyer = &c.inquiry.buyer_id;
            match c.status {
                ConversationStatus::Queued => {
                    if let Some(k) = c.queue_key {
                        shop.d.queue.insert(k, c.id);
                    }
                    shop.d.open_by_buyer.insert(buyer.clone(), c.id);
                }
                ConversationStatus::Active => {
                    shop.d.open_by_buyer.insert(buyer.clone(), c.id);
                    if let Some(&slot) = c.agent.as_ref().and_then(|a| shop.d.by_id.get(a)) {
                        shop.d.active_by_slot[slot as usize].push(c.id);
                    }
                }
                ConversationStatus::Ended | ConversationStatus::Cancelled => {}
            }
            if let Some(at) = c.assigned_at {
                let e = last.entry(buyer.clone()).or_insert((at, c.id));
                if (at, c.id) > *e {
                    *e = (at, c.id);
                }
            }
        }
        shop.rebuild_timers();
        shop.d.last_by_buyer = last.into_iter().map(|(b, (_, c))| (b, c)).collect();
        shop.reindex_all(shop.today(now));
        shop.rebuild_rule_indexes();
        shop
    }

    /// Sets every conversation timer and order expiry from the records and
    /// the current durations: after a restore, and when the durations change.
    pub(crate) fn rebuild_timers(&mut self) {
        let timers = &self.settings.timers;
        let ms = |secs: u64| secs as i64 * 1000;
        self.d.timers.clear();
        for c in self.conversations.values() {
            match c.status {
                ConversationStatus::Queued => {}
                ConversationStatus::Active => {
                    if let Some(s) = c.clock.running_since {
                        if !c.clock.late {
                            self.d.timers.push(timers.late_at(s), Timer::Late(c.id));
                        }
                    } else if let Some(t) = c.last_agent_reply_at {
                        self.d
                            .timers
                            .push(t + ms(timers.auto_end_secs), Timer::AutoEnd(c.id));
                    }
                }
                ConversationStatus::Ended | ConversationStatus::Cancelled => {
                    if let Some(t) = c.ended_at {
                        self.d.timers.push(timers.purge_at(t), Timer::Purge(c.id));
                    }
                }
            }
        }
        self.d.order_expiry = self
            .orders
            .values()
            .map(|o| (o.at + ms(timers.proactive_window_secs), o.order_id.clone()))
            .collect();
    }
}

impl Serialize for Shop {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (&self.id, self.snapshot()).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Shop {
    /// Restores as of the newest instant the records mention; the owner
    /// calls `tick(now)` right after, which brings the day up to date.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (id, records): (ShopId, Vec<Record>) = Deserialize::deserialize(d)?;
        Ok(Shop::restore(id, records, 0))
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
