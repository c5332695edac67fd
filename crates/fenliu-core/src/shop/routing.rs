//! The routing decision of section 2 of the spec, step by step, and the
//! explanation of how it was reached (分流解释).
//!
//! [`Shop::route`] reads the shop (and draws from the RNG) but changes
//! nothing; the caller applies the outcome. The same function decides new
//! inquiries and queued conversations (`requeue`), which skip offline routing
//! and no-queue assignment and only go to an available recent agent.

use std::collections::HashSet;

use rand::Rng;

use super::Shop;
use crate::agent::{Agent, AgentStatus};
use crate::explain::{
    Considered, Explanation, Reason, RecentContactCheck, Unlisted, Verdict, EXPLAIN_LIST_LIMIT,
    EXPLAIN_TIE_LIMIT,
};
use crate::ids::GroupId;
use crate::index::{Pool, Slot};
use crate::inquiry::Inquiry;
use crate::settings::{Overflow, Strategy};
use crate::time::{Day, Millis};

/// What a drain pass has learnt: rule classes (by matched rule) whose target
/// set has no available agent. Capacity only shrinks during a pass, so a
/// blocked class stays blocked.
#[derive(Debug, Default)]
pub(super) struct Memo {
    blocked: HashSet<Option<usize>>,
}

/// The agent chosen and why.
#[derive(Clone, Copy, Debug)]
pub(super) struct Pick {
    pub(super) slot: Slot,
    pub(super) reason: Reason,
    pub(super) offline: bool,
}

/// The target set being picked from.
#[derive(Clone, Debug)]
pub(super) enum Source {
    /// Every agent of the shop (shop-wide index).
    Shop,
    /// One group (its own index).
    Group(GroupId),
    /// The target set of a rule naming agents, or several groups (the
    /// rule's own index).
    Rule(usize),
    /// The recent agent alone.
    Recent,
    /// The offline-routing agents.
    Offline(Vec<Slot>),
}

/// A decision and what led to it.
#[derive(Clone, Debug)]
pub(super) struct Routed {
    pub(super) pick: Option<Pick>,
    pub(super) recent: RecentContactCheck,
    pub(super) rule: Option<usize>,
    pub(super) overflowed: bool,
    pub(super) source: Source,
}

impl Shop {
    /// Decides where an inquiry goes.
    pub(super) fn route<R: Rng + ?Sized>(
        &self,
        inquiry: &Inquiry,
        requeue: bool,
        now: Millis,
        rng: &mut R,
        memo: &mut Memo,
    ) -> Routed {
        let s = &self.settings;
        let mut routed = Routed {
            pick: None,
            recent: RecentContactCheck::Disabled,
            rule: None,
            overflowed: false,
            source: Source::Shop,
        };

        // 2. Recent contact first.
        if s.recent_contact.enabled {
            routed.recent = RecentContactCheck::NoRecentAgent;
            let recent = self
                .recent_agent(&inquiry.buyer_id, now)
                .and_then(|id| self.slot(id).map(|slot| (id, slot)));
            if let Some((id, slot)) = recent {
                let a = self.agent_at(slot).expect("live");
                // The queue path never exceeds max load; a new inquiry may,
                // unless `within_max_load` holds in a mode that queues.
                let needs_room = requeue || (s.recent_contact.within_max_load && s.queue.enabled);
                let verdict = match a.status {
                    AgentStatus::Online if needs_room && a.load >= a.max_load.get() => {
                        Verdict::Saturated
                    }
                    AgentStatus::Online => Verdict::Picked,
                    _ => Shop::plain_verdict(a),
                };
                if verdict == Verdict::Picked {
                    routed.recent = RecentContactCheck::Assigned(id.clone());
                    routed.source = Source::Recent;
                    routed.pick = Some(Pick {
                        slot,
                        reason: Reason::RecentContact,
                        offline: false,
                    });
                    return routed;
                }
                routed.recent = RecentContactCheck::Skipped {
                    agent_id: id.clone(),
                    why: verdict,
                };
            }
        }

        // 3. Rules.
        routed.rule = self.first_matching_rule(inquiry);
        if requeue && memo.blocked.contains(&routed.rule) {
            return routed;
        }
        let mut reason = if routed.rule.is_some() {
            Reason::Rule
        } else {
            Reason::Default
        };
        routed.source = match routed.rule {
            None => Source::Shop,
            Some(i) => self.rule_source(i),
        };

        // 4. Overflow.
        if self.online_in(&routed.source) == 0
            && s.overflow == Overflow::AnyOnline
            && !matches!(routed.source, Source::Shop)
        {
            routed.source = Source::Shop;
            routed.overflowed = true;
            reason = Reason::Overflow;
        }

        // 5. Offline routing.
        let pool = self.shop_pool();
        if !requeue
            && pool.count(AgentStatus::Online) == 0
            && pool.count(AgentStatus::Busy) == 0
            && !s.offline.agents.is_empty()
        {
            let slots = Shop::dedup(
                s.offline
                    .agents
                    .iter()
                    .filter_map(|a| self.slot(a))
                    .collect(),
            );
            let least = slots
                .iter()
                .map(|&sl| self.agent_at(sl).expect("live").load)
                .min();
            if let Some(least) = least {
                let ties: Vec<Slot> = slots
                    .iter()
                    .copied()
                    .filter(|&sl| self.agent_at(sl).expect("live").load == least)
                    .collect();
                routed.pick = Some(Pick {
                    slot: ties[rng.random_range(0..ties.len())],
                    reason: Reason::Offline,
                    offline: true,
                });
                routed.source = Source::Offline(slots);
                return routed;
            }
        }

        // 6. Pick among the available agents of the target set.
        if let Some(slot) = self.pick_available(&routed.source, rng) {
            routed.pick = Some(Pick {
                slot,
                reason,
                offline: false,
            });
            return routed;
        }

        // 7. Nobody available: no-queue mode assigns beyond max load.
        if !requeue && !s.queue.enabled {
            if let Some(slot) = self.pick_lowest_online(&routed.source, rng) {
                routed.pick = Some(Pick {
                    slot,
                    reason: Reason::NoQueue,
                    offline: false,
                });
                return routed;
            }
        }
        if requeue {
            memo.blocked.insert(routed.rule);
        }
        routed
    }

    fn rule_source(&self, i: usize) -> Source {
        let to = &self.settings.rules[i].to;
        match Shop::single_group(to) {
            Some(g) => Source::Group(g.clone()),
            None => Source::Rule(i),
        }
    }

    fn pool_of(&self, source: &Source) -> Option<Option<&Pool>> {
        match source {
            Source::Shop => Some(Some(self.shop_pool())),
            Source::Group(g) => Some(self.group_pool(g)),
            Source::Rule(i) => Some(self.rule_pool(*i)),
            Source::Recent | Source::Offline(_) => None,
        }
    }

    fn scanned(&self, source: &Source) -> Vec<(Slot, &Agent)> {
        let slots: &[Slot] = match source {
            Source::Offline(s) => s,
            _ => &[],
        };
        slots
            .iter()
            .filter_map(|&s| self.agent_at(s).map(|a| (s, a)))
            .collect()
    }

    fn online_in(&self, source: &Source) -> u32 {
        match self.pool_of(source) {
            Some(pool) => pool.map_or(0, |p| p.count(AgentStatus::Online)),
            None => self
                .scanned(source)
                .iter()
                .filter(|(_, a)| a.status == AgentStatus::Online)
                .count() as u32,
        }
    }

    fn pick_available<R: Rng + ?Sized>(&self, source: &Source, rng: &mut R) -> Option<Slot> {
        let strategy = self.settings.strategy;
        let Some(pool) = self.pool_of(source) else {
            let slots: &[Slot] = match source {
                Source::Offline(s) => s,
                _ => &[],
            };
            return self.scan_pick(slots.iter().copied(), rng);
        };
        let pool = pool?;
        match (strategy, &pool.even, &pool.weights) {
            (Strategy::LeastSaturation, ..) => {
                let (sat, bucket) = pool.online.first()?;
                (sat.load < sat.max).then(|| bucket[rng.random_range(0..bucket.len())])
            }
            (Strategy::Even, Some(even), _) => {
                let (_, bucket) = even.first()?;
                Some(bucket[rng.random_range(0..bucket.len())])
            }
            (Strategy::Weighted, _, Some(tree)) => tree.sample(rng),
            // Every pool keeps the index of the strategy in force, so this is
            // not reached; scanning the members (in slot order, so that a
            // seed gives the same pick) would give a valid answer all the same.
            _ => {
                let mut slots: Vec<Slot> = pool.slots().collect();
                slots.sort_unstable();
                self.scan_pick(slots.into_iter(), rng)
            }
        }
    }

    /// Picks by the strategy among the available agents of `slots`, looking
    /// at each one.
    pub(super) fn scan_pick<R: Rng + ?Sized>(
        &self,
        slots: impl Iterator<Item = Slot>,
        rng: &mut R,
    ) -> Option<Slot> {
        let today = self.pools_day();
        let available: Vec<(Slot, &Agent)> = slots
            .filter_map(|s| self.agent_at(s).map(|a| (s, a)))
            .filter(|(_, a)| a.is_available())
            .collect();
        match self.settings.strategy {
            Strategy::LeastSaturation => random_min_by_key(&available, rng, |a| a.saturation()),
            Strategy::Even => {
                random_min_by_key(&available, rng, |a| (a.assigned_on(today), a.saturation()))
            }
            Strategy::Weighted => {
                self.weighted_pick(available.iter().map(|(s, _)| *s).collect(), rng)
            }
        }
    }

    fn weighted_pick<R: Rng + ?Sized>(&self, slots: Vec<Slot>, rng: &mut R) -> Option<Slot> {
        let threshold = self.settings.busy_threshold;
        let weighted: Vec<(Slot, f64)> = slots
            .into_iter()
            .filter_map(|s| self.agent_at(s).map(|a| (s, a)))
            .filter(|(_, a)| a.is_available())
            .map(|(s, a)| (s, a.effective_weight(threshold)))
            .collect();
        let total: f64 = weighted.iter().map(|(_, w)| w).sum();
        if weighted.is_empty() || total <= 0.0 {
            return None;
        }
        let mut target = rng.random::<f64>() * total;
        for &(s, w) in &weighted {
            if target < w {
                return Some(s);
            }
            target -= w;
        }
        weighted.last().map(|(s, _)| *s)
    }

    fn pick_lowest_online<R: Rng + ?Sized>(&self, source: &Source, rng: &mut R) -> Option<Slot> {
        match self.pool_of(source) {
            Some(pool) => {
                let (_, bucket) = pool?.online.first()?;
                Some(bucket[rng.random_range(0..bucket.len())])
            }
            None => {
                let online: Vec<(Slot, &Agent)> = self
                    .scanned(source)
                    .into_iter()
                    .filter(|(_, a)| a.status == AgentStatus::Online)
                    .collect();
                random_min_by_key(&online, rng, |a| a.saturation())
            }
        }
    }

    fn in_source(&self, source: &Source, slot: Slot) -> bool {
        match source {
            Source::Shop => true,
            Source::Group(_) | Source::Rule(_) => self
                .pool_of(source)
                .flatten()
                .is_some_and(|p| p.contains(slot)),
            Source::Offline(s) => s.contains(&slot),
            Source::Recent => false,
        }
    }

    /// Writes down how a decision was reached, before it is applied.
    pub(super) fn explain_routed(&self, routed: &Routed, now: Millis) -> Explanation {
        let reason = routed.pick.map_or(Reason::Queued, |p| p.reason);
        let today = self.pools_day();
        let mut e = Explanation::new(now, reason, self.settings.strategy);
        e.recent_contact = routed.recent.clone();
        e.matched_rule = routed.rule;
        e.overflowed = routed.overflowed;
        let picked = routed.pick.map(|p| p.slot);
        e.picked = picked.and_then(|s| self.agent_at(s)).map(|a| a.id.clone());
        // The pool is looked up once, not once per listed agent.
        let pool = self.pool_of(&routed.source).flatten();
        let in_target = |slot: Slot| match &routed.source {
            Source::Shop => true,
            Source::Group(_) | Source::Rule(_) => pool.is_some_and(|p| p.contains(slot)),
            other => self.in_source(other, slot),
        };
        let verdict_of = |slot: Slot, a: &Agent| -> Verdict {
            if Some(slot) == picked {
                Verdict::Picked
            } else if matches!(routed.source, Source::Offline(_)) && in_target(slot) {
                Verdict::MoreLoaded
            } else if !in_target(slot) {
                Verdict::NotInTarget
            } else {
                Shop::plain_verdict(a)
            }
        };

        if let Source::Recent = routed.source {
            let slot = picked.expect("recent contact picks");
            let a = self.agent_at(slot).expect("live");
            e.target_size = 1;
            e.agents.push(self.considered(a, today, Verdict::Picked));
            return e;
        }

        e.target_size = match (&routed.source, self.pool_of(&routed.source)) {
            (_, Some(pool)) => pool.map_or(0, |p| p.len() as u32),
            (Source::Offline(s), None) => s.len() as u32,
            _ => 0,
        };

        if self.agent_count() <= EXPLAIN_LIST_LIMIT {
            e.agents.reserve_exact(self.agent_count());
            for slot in self.slots() {
                let a = self.agent_at(slot).expect("live");
                e.agents
                    .push(self.considered(a, today, verdict_of(slot, a)));
            }
            return e;
        }

        // A large shop: list the picked agent and its ties, count the rest.
        let tie_bucket = self
            .pool_of(&routed.source)
            .flatten()
            .and_then(|p| match self.settings.strategy {
                Strategy::LeastSaturation => p.online.first().map(|(_, b)| b),
                Strategy::Even => p.even.as_ref().and_then(|e| e.first()).map(|(_, b)| b),
                Strategy::Weighted => None,
            })
            .unwrap_or_default();
        let ties = tie_bucket
            .iter()
            .copied()
            .filter(|s| Some(*s) != picked)
            .take(EXPLAIN_TIE_LIMIT - usize::from(picked.is_some()));
        let listed = picked.into_iter().chain(ties);
        let mut unlisted = Unlisted::default();
        match self.pool_of(&routed.source) {
            Some(pool) => {
                if let Some(p) = pool {
                    unlisted.offline = p.count(AgentStatus::Offline);
                    unlisted.busy = p.count(AgentStatus::Busy);
                    unlisted.saturated = p.count(AgentStatus::Online) - p.available() as u32;
                    unlisted.eligible = p.available() as u32;
                }
            }
            None => {
                for (_, a) in self.scanned(&routed.source) {
                    match Shop::plain_verdict(a) {
                        Verdict::Offline => unlisted.offline += 1,
                        Verdict::Busy => unlisted.busy += 1,
                        Verdict::Saturated => unlisted.saturated += 1,
                        _ => unlisted.eligible += 1,
                    }
                }
            }
        }
        e.agents
            .reserve_exact(EXPLAIN_TIE_LIMIT.min(1 + tie_bucket.len()));
        for slot in listed {
            let a = self.agent_at(slot).expect("live");
            let v = verdict_of(slot, a);
            match Shop::plain_verdict(a) {
                Verdict::Offline => unlisted.offline = unlisted.offline.saturating_sub(1),
                Verdict::Busy => unlisted.busy = unlisted.busy.saturating_sub(1),
                Verdict::Saturated => unlisted.saturated = unlisted.saturated.saturating_sub(1),
                _ => unlisted.eligible = unlisted.eligible.saturating_sub(1),
            }
            e.agents.push(self.considered(a, today, v));
        }
        e.unlisted = Some(unlisted);
        e
    }

    /// Agents that took part in the decision, as the explanation lists them.
    pub(super) fn considered(&self, a: &Agent, today: Day, verdict: Verdict) -> Considered {
        Considered {
            agent_id: a.id.clone(),
            status: a.status,
            load: a.load,
            max_load: a.max_load.get(),
            assigned_today: a.assigned_on(today),
            effective_weight: a.effective_weight(self.settings.busy_threshold),
            verdict,
        }
    }

    /// The verdict of an agent outside any pick.
    pub(super) fn plain_verdict(a: &Agent) -> Verdict {
        match a.status {
            AgentStatus::Offline => Verdict::Offline,
            AgentStatus::Busy => Verdict::Busy,
            AgentStatus::Online if a.load >= a.max_load.get() => Verdict::Saturated,
            AgentStatus::Online => Verdict::Eligible,
        }
    }

    /// A set of slots, deduplicated.
    fn dedup(slots: Vec<Slot>) -> Vec<Slot> {
        let mut seen = HashSet::with_capacity(slots.len());
        slots.into_iter().filter(|s| seen.insert(*s)).collect()
    }
}

/// The slot with the lowest key, ties broken uniformly at random.
fn random_min_by_key<K: Ord, R: Rng + ?Sized>(
    agents: &[(Slot, &Agent)],
    rng: &mut R,
    key: impl Fn(&Agent) -> K,
) -> Option<Slot> {
    let best = agents.iter().map(|(_, a)| key(a)).min()?;
    let ties: Vec<Slot> = agents
        .iter()
        .filter(|(_, a)| key(a) == best)
        .map(|(s, _)| *s)
        .collect();
    Some(ties[rng.random_range(0..ties.len())])
}
