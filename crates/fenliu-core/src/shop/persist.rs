//! The stored form of a shop read out of it, and a shop rebuilt from its
//! records: every index, the queue order, the timers and the per-buyer
//! lookups are derived again, each by the file that owns it.

use serde::{Deserialize, Serialize};

use super::Shop;
use crate::ids::ShopId;
use crate::records::{Members, Record, RecordKey, RecordRef};
use crate::time::Millis;

impl Shop {
    /// The current value of a record; `None` means it is to be deleted.
    pub fn record(&self, key: &RecordKey) -> Option<Record> {
        self.record_ref(key).map(RecordRef::to_record)
    }

    /// The current value of a record, borrowed; `None` means it is to be
    /// deleted.
    pub fn record_ref(&self, key: &RecordKey) -> Option<RecordRef<'_>> {
        Some(match key {
            RecordKey::Meta => RecordRef::Meta(&self.meta),
            RecordKey::Settings => RecordRef::Settings(&self.settings),
            RecordKey::Agent(a) => RecordRef::Agent(self.agent(a)?),
            RecordKey::Group(g) => {
                let (g, members) = self.groups.get_key_value(g)?;
                RecordRef::Group(g, Members::Set(members))
            }
            RecordKey::Conversation(c) => RecordRef::Conversation(self.conversations.get(c)?),
            RecordKey::Recent(b) => {
                let (b, r) = self.recent.get_key_value(b)?;
                RecordRef::Recent(b, r)
            }
            RecordKey::Order(o) => RecordRef::Order(self.orders.get(o)?),
            RecordKey::Stats(d, a) => {
                let (a, f) = self.stats.get(d)?.get_key_value(a)?;
                RecordRef::Stats(*d, a, f)
            }
            RecordKey::Reception(d, a, b) => {
                let (a, buyers) = self.received.get(d)?.get_key_value(a)?;
                RecordRef::Reception(*d, a, buyers.get(b)?)
            }
            RecordKey::ShopDay(d) => RecordRef::ShopDay(*d, self.days.get(d)?),
        })
    }

    /// Every record of the shop.
    pub fn snapshot(&self) -> Vec<Record> {
        let mut out = vec![
            Record::Meta(self.meta.clone()),
            Record::Settings((*self.settings).clone()),
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
                .map(|c| Record::Conversation(c.clone())),
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
        out.extend(
            self.days
                .iter()
                .map(|(d, figures)| Record::ShopDay(*d, figures.clone())),
        );
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
                Record::Settings(s) => *shop.settings = s,
                Record::Agent(a) => shop.restore_agent(a),
                Record::Group(g, members) => {
                    shop.groups.insert(g, members.into_iter().collect());
                }
                Record::Conversation(c) => {
                    shop.conversations.insert(c.id, c);
                }
                Record::Recent(b, r) => {
                    shop.recent.insert(b, r);
                }
                Record::Order(o) => orders.push(o),
                Record::Stats(d, a, s) => {
                    shop.stats.entry(d).or_default().insert(a, s);
                }
                Record::ShopDay(d, figures) => {
                    shop.days.insert(d, figures);
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
        shop.restore_memberships();
        for o in orders {
            shop.index_order(&o);
            shop.orders.insert(o.order_id.clone(), o);
        }
        shop.count_online_from_restore(now);
        shop.rebuild_recent_expiry();
        shop.rebuild_placement();
        shop.reindex_all(shop.today(now));
        shop.rebuild_rule_indexes();
        // Escalation deadlines read the rules' index.
        shop.rebuild_timers(now);
        shop
    }
}

/// A record's expiry as the shop's durations set it.
impl Record {
    /// When the store may forget the record by itself, if ever.
    pub fn expires_at(&self, shop: &Shop) -> Option<Millis> {
        self.as_ref().expires_at(shop)
    }
}

impl RecordRef<'_> {
    /// When the store may forget the record by itself, if ever.
    pub fn expires_at(self, shop: &Shop) -> Option<Millis> {
        self.expiry(&shop.settings.timers)
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
