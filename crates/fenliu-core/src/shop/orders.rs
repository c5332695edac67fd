//! Orders (订单): the agent each credits (提成归属), what they allow
//! (proactive conversations), and their expiry.

use super::Shop;
use crate::effects::Reply;
use crate::error::{CoreError, CoreResult};
use crate::ids::{BuyerId, Tag};
use crate::lazy::Lazy;
use crate::records::{OrderRecord, RecordKey};
use crate::time::Millis;
use std::collections::BTreeSet;

impl Shop {
    /// Records an order and the agent it credits: the agent of the buyer's
    /// last assigned conversation, if it is active or within its reply
    /// window. The same order again answers the same record.
    pub(super) fn order(
        &mut self,
        order_id: Tag,
        buyer: BuyerId,
        now: Millis,
    ) -> CoreResult<Reply> {
        if let Some(existing) = self.orders.get(&order_id) {
            if existing.buyer_id != buyer {
                return Err(CoreError::conflict(format!(
                    "order {order_id} was already recorded for another buyer"
                )));
            }
            return Ok(Reply::Order(existing.clone()));
        }
        let credited = self
            .last_assigned_of(&buyer)
            .filter(|c| self.within_reply_window(c, now))
            .and_then(|c| c.agent.clone());
        if let Some(agent) = &credited {
            let today = self.today(now);
            self.day_stats(today, agent).credited_orders += 1;
        }
        let record = OrderRecord {
            order_id: order_id.clone(),
            buyer_id: buyer.clone(),
            credited_agent: credited,
            at: now,
        };
        self.index_order(&record);
        self.orders.insert(order_id.clone(), record.clone());
        self.fx.changed.push(RecordKey::Order(order_id));
        Ok(Reply::Order(record))
    }

    /// Files an order for the proactive window and for its expiry.
    pub(super) fn index_order(&mut self, record: &OrderRecord) {
        let expires_at = self.settings.timers.order_expires_at(record.at);
        let last = self
            .d
            .last_order_at
            .entry(record.buyer_id.clone())
            .or_insert(record.at);
        *last = (*last).max(record.at);
        self.d
            .order_expiry
            .insert((expires_at, record.order_id.clone()));
    }

    /// Whether the buyer has an order that allows a proactive conversation
    /// at `now`.
    pub(super) fn ordered_recently(&self, buyer: &BuyerId, now: Millis) -> bool {
        let timers = &self.settings.timers;
        self.d
            .last_order_at
            .get(buyer)
            .is_some_and(|&t| timers.proactive_window_open(t, now))
    }

    /// Files every order again, with the current proactive window: after a
    /// restore, and when the durations change.
    pub(super) fn rebuild_order_expiry(&mut self) {
        let timers = &self.settings.timers;
        let expiry: BTreeSet<(Millis, Tag)> = self
            .orders
            .values()
            .map(|o| (timers.order_expires_at(o.at), o.order_id.clone()))
            .collect();
        let none = expiry.is_empty();
        self.d.order_expiry = Lazy::of(expiry, none);
    }

    /// When the next order expires.
    pub(super) fn next_order_expiry(&self) -> Option<Millis> {
        self.d.order_expiry.first().map(|(t, _)| *t)
    }

    /// Forgets the orders whose expiry is due at `now`.
    pub(super) fn expire_orders(&mut self, now: Millis) {
        while let Some(&(at, _)) = self.d.order_expiry.first() {
            if at > now {
                break;
            }
            let (_, order) = self.d.order_expiry.pop_first().expect("first entry");
            if let Some(rec) = self.orders.remove(&order) {
                if self.d.last_order_at.get(&rec.buyer_id) == Some(&rec.at) {
                    self.d.last_order_at.remove(&rec.buyer_id);
                }
                self.fx.changed.push(RecordKey::Order(order));
            }
        }
    }

    /// An order by id.
    pub fn order_record(&self, order_id: &Tag) -> Option<&OrderRecord> {
        self.orders.get(order_id)
    }
}
