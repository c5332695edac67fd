//! Recent contact (最近联系客服): each buyer's most recent agent, refreshed
//! by assignments, transfers and messages, lapsing a window after the last
//! refresh.

use super::Shop;
use crate::ids::{AgentId, BuyerId};
use crate::records::{RecentContact, RecordKey};
use crate::time::Millis;

/// Left-behind recent-contact expiries tolerated beyond one per mapping
/// before they are dropped, so that a small shop does not rebuild often.
const RECENT_EXPIRY_SLACK: usize = 1024;

impl Shop {
    /// Sets or refreshes the buyer's recent agent. With recent contact off
    /// nothing is kept or written: the mapping is the feature's alone.
    pub(super) fn refresh_recent(&mut self, buyer: &BuyerId, agent: &AgentId, now: Millis) {
        if !self.settings.recent_contact.enabled {
            return;
        }
        let expires_at = self.settings.recent_contact.expires_at(now);
        let fresh = RecentContact {
            agent: agent.clone(),
            expires_at,
        };
        self.recent.insert(buyer.clone(), fresh);
        // The expiry this refresh replaces stays behind until it is due; when
        // left-behind ones outnumber the mappings, they are dropped at once
        // (in linear time, so a refresh costs O(1) amortised).
        self.d.recent_expiry.push(expires_at, buyer.clone());
        if self.d.recent_expiry.len() > 2 * self.recent.len() + RECENT_EXPIRY_SLACK {
            self.rebuild_recent_expiry();
        }
        self.fx.changed.push(RecordKey::Recent(buyer.clone()));
    }

    /// Sets the recent-contact expiries to those of the current mappings.
    pub(super) fn rebuild_recent_expiry(&mut self) {
        let needed = !self.recent.is_empty();
        if let Some(expiry) = self.d.recent_expiry.get_mut_if(needed) {
            expiry.rebuild(
                self.recent
                    .iter()
                    .map(|(buyer, r)| (r.expires_at, buyer.clone())),
            );
        }
    }

    /// The buyer's recent agent, if the mapping has not lapsed.
    pub fn recent_agent(&self, buyer: &BuyerId, now: Millis) -> Option<&AgentId> {
        self.recent
            .get(buyer)
            .filter(|r| r.expires_at > now)
            .map(|r| &r.agent)
    }

    /// When the next mapping (or a left-behind expiry) is due.
    pub(super) fn next_recent_expiry(&self) -> Option<Millis> {
        self.d.recent_expiry.next()
    }

    /// Forgets the mappings whose expiry is due at `now`.
    pub(super) fn expire_recent(&mut self, now: Millis) {
        while let Some((at, buyer)) = self
            .d
            .recent_expiry
            .get_mut_if(false)
            .and_then(|e| e.pop_due(now))
        {
            // An expiry the mapping was refreshed past is left behind.
            if self.recent.get(&buyer).is_some_and(|r| r.expires_at == at) {
                self.recent.remove(&buyer);
                self.fx.changed.push(RecordKey::Recent(buyer));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    use super::*;
    use crate::agent::AgentStatus;
    use crate::conversation::EndReason;
    use crate::effects::{Command, Party, Reply};
    use crate::ids::ShopId;
    use crate::inquiry::{Entry, Inquiry};
    use crate::records::RecordKey;

    const T0: Millis = 1_795_399_200_000;

    fn run(shop: &mut Shop, cmd: Command, now: Millis, rng: &mut SmallRng) -> Reply {
        shop.handle(cmd, now, rng).expect("accepted").0
    }

    #[test]
    fn refreshed_recent_contacts_leave_a_bounded_number_of_expiries_behind() {
        let mut rng = SmallRng::seed_from_u64(1);
        let mut shop = Shop::new(ShopId::parse("s").unwrap());
        let a = AgentId::parse("a").unwrap();
        let b = BuyerId::parse("b").unwrap();
        let upsert = Command::UpsertAgent {
            agent: a.clone(),
            display_name: None,
            weight: None,
            groups: None,
        };
        run(&mut shop, upsert, T0, &mut rng);
        run(
            &mut shop,
            Command::SetStatus(a.clone(), AgentStatus::Online),
            T0,
            &mut rng,
        );
        let inquiry = Inquiry {
            buyer_id: b.clone(),
            entry: Entry::Other,
            question: None,
            order_state: None,
            product_id: None,
            intent: None,
            priority: Default::default(),
        };
        let Reply::Conversation { id, .. } =
            run(&mut shop, Command::Inquire(inquiry), T0, &mut rng)
        else {
            panic!("an inquiry answers with a conversation");
        };

        // Every message refreshes the one mapping, 10 seconds apart.
        let mut now = T0;
        for i in 0..5 * RECENT_EXPIRY_SLACK {
            now += 10_000;
            let from = if i % 2 == 0 {
                Party::Buyer
            } else {
                Party::Agent
            };
            run(&mut shop, Command::Message(id, from), now, &mut rng);
            assert!(shop.d.recent_expiry.len() <= 2 * shop.recent.len() + RECENT_EXPIRY_SLACK + 1);
        }

        // The mapping still lapses a window after the last refresh, not before.
        let window = crate::time::secs_to_ms(shop.settings.recent_contact.window_secs);
        run(
            &mut shop,
            Command::End(id, EndReason::Service),
            now,
            &mut rng,
        );
        let last_refresh = now;
        shop.tick(last_refresh + window - 1, &mut rng);
        assert_eq!(shop.recent_agent(&b, last_refresh + window - 1), Some(&a));
        assert!(shop.recent.contains_key(&b));
        let fx = shop.tick(last_refresh + window, &mut rng);
        assert!(!shop.recent.contains_key(&b));
        assert!(fx.changed.contains(&RecordKey::Recent(b)));
    }
}
