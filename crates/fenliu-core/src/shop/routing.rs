//! The routing decision of section 2 of the spec, step by step, and the
//! explanation of how it was reached (分流解释).
//!
//! [`Shop::route`] reads the shop (and draws from the RNG) but changes
//! nothing; the caller applies the outcome. The same function decides new
//! inquiries and queued conversations (`queued`: since when it waits), which
//! skip offline routing and no-queue assignment, only go to an available
//! recent agent, and pick from their rule's target set widened by the
//! escalation steps their wait has reached.

use std::collections::HashSet;

use rand::Rng;

use super::pools::TargetSet;
use super::Shop;
use crate::agent::{Agent, AgentStatus, Saturation};
use crate::conversation::Conversation;
use crate::explain::{
    Considered, Explanation, Listed, Reason, RecentContactCheck, Unlisted, Verdict,
    EXPLAIN_LIST_LIMIT, EXPLAIN_TIE_LIMIT,
};
use crate::ids::GroupId;
use crate::index::{Pool, Slot};
use crate::inquiry::Inquiry;
use crate::settings::{Overflow, Strategy, FAIR_MIN_ONLINE_MS};
use crate::time::{Day, Millis};

/// What a drain pass has learnt: rule classes (by matched rule and
/// escalation steps reached) whose target set has no available agent.
/// Capacity only shrinks during a pass, so a blocked class stays blocked.
#[derive(Debug, Default)]
pub(super) struct Memo {
    blocked: HashSet<(Option<usize>, usize)>,
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
    /// Any other target set of a rule (agents, several groups, widened by
    /// escalation steps): its own index, by number.
    Target(usize),
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
    /// Escalation steps of the rule reached.
    pub(super) steps: usize,
    pub(super) overflowed: bool,
    pub(super) source: Source,
    /// The shop was closed (business hours).
    pub(super) closed: bool,
    /// Agents the conversation must not go to (they declined it or missed
    /// it), by slot.
    pub(super) excluded: Vec<Slot>,
}

impl Shop {
    /// Decides where an inquiry goes, never to an agent of `excluded`
    /// (those who declined it or missed it).
    pub(super) fn route<R: Rng + ?Sized>(
        &self,
        inquiry: &Inquiry,
        queued: Option<Millis>,
        excluded: Vec<Slot>,
        now: Millis,
        rng: &mut R,
        memo: &mut Memo,
    ) -> Routed {
        let s = &self.settings;
        let requeue = queued.is_some();
        let mut routed = Routed {
            pick: None,
            recent: RecentContactCheck::Disabled,
            rule: None,
            steps: 0,
            overflowed: false,
            source: Source::Shop,
            closed: false,
            excluded,
        };

        // Business hours: while closed, nobody online takes a new inquiry:
        // offline routing if the shop has it, else the queue (and the queue
        // waits for the opening).
        if !s.is_open(now) {
            routed.closed = true;
            if requeue {
                return routed;
            }
            return self.offline_routing(routed.clone(), rng).unwrap_or(routed);
        }

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
                    _ if routed.excluded.contains(&slot) => Verdict::Declined,
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

        // 3. Rules, widened by the escalation steps a queued one has reached.
        routed.rule = self.first_matching_rule(inquiry);
        if let (Some(i), Some(since)) = (routed.rule, queued) {
            routed.steps = s.rules[i].to.steps_reached(since, now);
        }
        let class = (routed.rule, routed.steps);
        if requeue && memo.blocked.contains(&class) {
            return routed;
        }
        let mut reason = if routed.rule.is_some() {
            Reason::Rule
        } else {
            Reason::Default
        };
        routed.source = match routed.rule {
            None => Source::Shop,
            Some(i) => self.rule_source(i, routed.steps),
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
        if !requeue && pool.count(AgentStatus::Online) == 0 && pool.count(AgentStatus::Busy) == 0 {
            if let Some(routed) = self.offline_routing(routed.clone(), rng) {
                return routed;
            }
        }

        // 6. Pick among the available agents of the target set.
        if let Some(slot) = self.pick_available(&routed.source, &routed.excluded, now, rng) {
            if reason == Reason::Rule && routed.steps > 0 {
                let own = self.rule_source(routed.rule.expect("a rule"), 0);
                if !self.in_source(&own, slot) {
                    reason = Reason::Escalated;
                }
            }
            routed.pick = Some(Pick {
                slot,
                reason,
                offline: false,
            });
            return routed;
        }

        // 7. Nobody available: no-queue mode assigns beyond max load.
        if !requeue && !s.queue.enabled {
            if let Some(slot) = self.pick_lowest_online(&routed.source, &routed.excluded, rng) {
                routed.pick = Some(Pick {
                    slot,
                    reason: Reason::NoQueue,
                    offline: false,
                });
                return routed;
            }
        }
        // A conversation that excludes agents says nothing of the others.
        if requeue && routed.excluded.is_empty() {
            memo.blocked.insert(class);
        }
        routed
    }

    /// Step 5, offline routing: the least-loaded of the offline-routing
    /// agents (but those excluded), whatever their status and load; `None`
    /// when the shop has none.
    fn offline_routing<R: Rng + ?Sized>(&self, mut routed: Routed, rng: &mut R) -> Option<Routed> {
        let slots = Shop::dedup(
            self.settings
                .offline
                .agents
                .iter()
                .filter_map(|a| self.slot(a))
                .filter(|s| !routed.excluded.contains(s))
                .collect(),
        );
        let least = slots
            .iter()
            .map(|&sl| self.agent_at(sl).expect("live").load)
            .min()?;
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
        Some(routed)
    }

    /// Decides where an active conversation is reassigned (its agent did not
    /// reply in time): an available agent of its target set, as its last
    /// decision had it (its rule's, widened by the escalation steps reached
    /// then; every agent without a rule, or by overflow), but for the agents
    /// of `excluded`. Recent contact is not asked: the recent agent is most
    /// often the one who missed it.
    pub(super) fn route_reassign<R: Rng + ?Sized>(
        &self,
        c: &Conversation,
        excluded: Vec<Slot>,
        now: Millis,
        rng: &mut R,
    ) -> Routed {
        let mut routed = Routed {
            pick: None,
            recent: RecentContactCheck::Disabled,
            rule: self.first_matching_rule(&c.inquiry),
            steps: 0,
            overflowed: false,
            source: Source::Shop,
            closed: false,
            excluded,
        };
        if let Some(i) = routed.rule {
            let steps = usize::from(c.explanation.steps_reached);
            routed.steps = steps.min(self.settings.rules[i].to.escalate.len());
            routed.source = self.rule_source(i, routed.steps);
        }
        if self.online_in(&routed.source) == 0
            && self.settings.overflow == Overflow::AnyOnline
            && !matches!(routed.source, Source::Shop)
        {
            routed.source = Source::Shop;
            routed.overflowed = true;
        }
        routed.pick = self
            .pick_available(&routed.source, &routed.excluded, now, rng)
            .map(|slot| Pick {
                slot,
                reason: Reason::Reassigned,
                offline: false,
            });
        routed
    }

    fn rule_source(&self, i: usize, steps: usize) -> Source {
        match self.rule_target(i, steps) {
            TargetSet::Shop => Source::Shop,
            TargetSet::Group(g) => Source::Group(g),
            TargetSet::Pool(p) => Source::Target(p),
        }
    }

    fn pool_of(&self, source: &Source) -> Option<Option<&Pool>> {
        match source {
            Source::Shop => Some(Some(self.shop_pool())),
            Source::Group(g) => Some(self.group_pool(g)),
            Source::Target(i) => Some(self.target_pool(*i)),
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

    /// Picks by the strategy among the available agents of `source`, but
    /// for those of `excluded`.
    pub(super) fn pick_available<R: Rng + ?Sized>(
        &self,
        source: &Source,
        excluded: &[Slot],
        now: Millis,
        rng: &mut R,
    ) -> Option<Slot> {
        let strategy = self.settings.strategy;
        let Some(pool) = self.pool_of(source) else {
            let slots: &[Slot] = match source {
                Source::Offline(s) => s,
                _ => &[],
            };
            let kept = slots.iter().copied().filter(|s| !excluded.contains(s));
            return self.scan_pick(kept, now, rng);
        };
        let pool = pool?;
        if !excluded.is_empty() {
            // The indexes cannot leave agents out: the available agents (the
            // online ones below saturation 1) are looked at one by one. Only
            // a conversation that was declined or missed pays this.
            let available = pool
                .online
                .iter()
                .take_while(|(sat, _)| sat.load < sat.max)
                .flat_map(|(_, bucket)| bucket.iter().copied())
                .filter(|s| !excluded.contains(s));
            return self.scan_pick(available, now, rng);
        }
        match (strategy, &pool.even, &pool.weights) {
            // Online time grows with the clock, so no index keeps this order:
            // the available agents (the online ones below saturation 1, the
            // start of the saturation order) are looked at one by one.
            (Strategy::Fair, ..) => {
                let available = pool
                    .online
                    .iter()
                    .take_while(|(sat, _)| sat.load < sat.max)
                    .flat_map(|(_, bucket)| bucket.iter().copied());
                self.scan_pick(available, now, rng)
            }
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
                self.scan_pick(slots.into_iter(), now, rng)
            }
        }
    }

    /// Picks by the strategy among the available agents of `slots`, looking
    /// at each one.
    pub(super) fn scan_pick<R: Rng + ?Sized>(
        &self,
        slots: impl Iterator<Item = Slot>,
        now: Millis,
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
            // Fewest assigned today per hour online today (at least
            // FAIR_MIN_ONLINE_MS), then the lowest saturation.
            Strategy::Fair => random_min_by_key(&available, rng, |a| FairKey {
                assigned: a.assigned_on(today),
                online_ms: self.online_ms_today(a, now).max(FAIR_MIN_ONLINE_MS),
                saturation: a.saturation(),
            }),
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

    fn pick_lowest_online<R: Rng + ?Sized>(
        &self,
        source: &Source,
        excluded: &[Slot],
        rng: &mut R,
    ) -> Option<Slot> {
        match self.pool_of(source) {
            Some(pool) if !excluded.is_empty() => {
                let online: Vec<(Slot, &Agent)> = pool?
                    .online
                    .iter()
                    .flat_map(|(_, bucket)| bucket.iter().copied())
                    .filter(|s| !excluded.contains(s))
                    .filter_map(|s| self.agent_at(s).map(|a| (s, a)))
                    .collect();
                random_min_by_key(&online, rng, |a| a.saturation())
            }
            Some(pool) => {
                let (_, bucket) = pool?.online.first()?;
                Some(bucket[rng.random_range(0..bucket.len())])
            }
            None => {
                let online: Vec<(Slot, &Agent)> = self
                    .scanned(source)
                    .into_iter()
                    .filter(|(s, a)| a.status == AgentStatus::Online && !excluded.contains(s))
                    .collect();
                random_min_by_key(&online, rng, |a| a.saturation())
            }
        }
    }

    fn in_source(&self, source: &Source, slot: Slot) -> bool {
        match source {
            Source::Shop => true,
            Source::Group(_) | Source::Target(_) => self
                .pool_of(source)
                .flatten()
                .is_some_and(|p| p.contains(slot)),
            Source::Offline(s) => s.contains(&slot),
            Source::Recent => false,
        }
    }

    /// Writes down how a decision was reached, before it is applied.
    pub(super) fn explain_routed(&self, routed: &Routed, now: Millis) -> Explanation {
        let waits = if routed.closed {
            Reason::Closed
        } else {
            Reason::Queued
        };
        let reason = routed.pick.map_or(waits, |p| p.reason);
        let today = self.pools_day();
        let mut e = Explanation::new(now, reason, self.settings.strategy);
        e.recent_contact = routed.recent.clone();
        e.matched_rule = routed.rule;
        e.overflowed = routed.overflowed;
        e.steps_reached = routed.steps as u8;
        let picked = routed.pick.map(|p| p.slot);
        e.picked = picked.and_then(|s| self.agent_at(s)).map(|a| a.id.clone());
        if reason == Reason::Escalated {
            e.escalated_by = picked
                .and_then(|s| self.agent_at(s))
                .and_then(|a| self.step_holding(routed.rule?, routed.steps, a));
        }
        // The pool is looked up once, not once per listed agent.
        let pool = self.pool_of(&routed.source).flatten();
        let in_target = |slot: Slot| match &routed.source {
            Source::Shop => true,
            Source::Group(_) | Source::Target(_) => pool.is_some_and(|p| p.contains(slot)),
            other => self.in_source(other, slot),
        };
        let verdict_of = |slot: Slot, a: &Agent| -> Verdict {
            if Some(slot) == picked {
                Verdict::Picked
            } else if routed.excluded.contains(&slot) {
                Verdict::Declined
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
            e.agents = Listed::with_capacity(1);
            e.agents
                .push(&self.considered(a, today, now, Verdict::Picked));
            e.agents.shrink_to_fit();
            return e;
        }

        e.target_size = match (&routed.source, self.pool_of(&routed.source)) {
            (_, Some(pool)) => pool.map_or(0, |p| p.len() as u32),
            (Source::Offline(s), None) => s.len() as u32,
            _ => 0,
        };

        if self.agent_count() <= EXPLAIN_LIST_LIMIT {
            e.agents = Listed::with_capacity(self.agent_count());
            for slot in self.slots() {
                let a = self.agent_at(slot).expect("live");
                e.agents
                    .push(&self.considered(a, today, now, verdict_of(slot, a)));
            }
            e.agents.shrink_to_fit();
            return e;
        }

        // A large shop: list the picked agent and its ties, count the rest.
        let tie_bucket = self
            .pool_of(&routed.source)
            .flatten()
            .and_then(|p| match self.settings.strategy {
                Strategy::LeastSaturation => p.online.first().map(|(_, b)| b),
                Strategy::Even => p.even.as_ref().and_then(|e| e.first()).map(|(_, b)| b),
                Strategy::Weighted | Strategy::Fair => None,
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
        e.agents = Listed::with_capacity(EXPLAIN_TIE_LIMIT.min(1 + tie_bucket.len()));
        for slot in listed {
            let a = self.agent_at(slot).expect("live");
            let v = verdict_of(slot, a);
            match Shop::plain_verdict(a) {
                Verdict::Offline => unlisted.offline = unlisted.offline.saturating_sub(1),
                Verdict::Busy => unlisted.busy = unlisted.busy.saturating_sub(1),
                Verdict::Saturated => unlisted.saturated = unlisted.saturated.saturating_sub(1),
                _ => unlisted.eligible = unlisted.eligible.saturating_sub(1),
            }
            e.agents.push(&self.considered(a, today, now, v));
        }
        e.agents.shrink_to_fit();
        e.unlisted = Some(unlisted);
        e
    }

    /// Agents that took part in the decision, as the explanation lists them.
    pub(super) fn considered(
        &self,
        a: &Agent,
        today: Day,
        now: Millis,
        verdict: Verdict,
    ) -> Considered {
        Considered {
            online_secs_today: (self.online_ms_today(a, now) / 1000) as u32,
            agent_id: a.id.clone(),
            status: a.status,
            load: a.load,
            max_load: a.max_load.get(),
            assigned_today: a.assigned_on(today),
            effective_weight: a.effective_weight(self.settings.busy_threshold),
            verdict,
        }
    }

    /// The first of the escalation steps reached (1-based) whose own agents
    /// or groups hold `a` (or that reaches every agent).
    fn step_holding(&self, rule: usize, steps: usize, a: &Agent) -> Option<u8> {
        let escalate = &self.settings.rules.get(rule)?.to.escalate;
        escalate
            .iter()
            .take(steps)
            .position(|s| {
                s.any || s.agents.contains(&a.id) || s.groups.iter().any(|g| a.groups.contains(g))
            })
            .map(|j| j as u8 + 1)
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

/// What `fair` orders agents by: conversations assigned today per time
/// online (compared exactly, a₁·t₂ against a₂·t₁), then saturation.
#[derive(Clone, Copy, Debug)]
struct FairKey {
    assigned: u32,
    online_ms: Millis,
    saturation: Saturation,
}

impl Ord for FairKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let left = i128::from(self.assigned) * i128::from(other.online_ms);
        let right = i128::from(other.assigned) * i128::from(self.online_ms);
        left.cmp(&right)
            .then(self.saturation.cmp(&other.saturation))
    }
}

impl PartialOrd for FairKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for FairKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for FairKey {}

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
