//! The per-pool indexes of agents: the whole shop's, each group's, and each
//! rule's whose target is not exactly one group. They make a routing
//! decision O(log n); each agent's entries are brought up to date by
//! `reindex` after anything they read changed (status, load, unreplied,
//! max load, weight, groups, the day).

use super::{Derived, Shop};
use crate::agent::{Agent, AgentStatus};
use crate::ids::GroupId;
use crate::index::{MemberState, Pool, Slot};
use crate::inquiry::Inquiry;
use crate::rule_index::RuleIndex;
use crate::settings::Target;
use crate::time::{Day, Millis};

impl Shop {
    /// What the pools know of an agent.
    pub(super) fn member_state(&self, a: &Agent, today: Day) -> MemberState {
        MemberState {
            status: a.status,
            saturation: a.saturation(),
            assigned_today: a.assigned_on(today),
            effective_weight: a.effective_weight(self.settings.busy_threshold),
        }
    }

    /// Brings every index entry of the agent in `slot` up to date.
    pub(super) fn reindex(&mut self, slot: Slot) {
        // The agent is borrowed through the `agents` field, not `agent_at`, so
        // that its groups can be read while the indexes in `d` are updated,
        // without copying the group list on every load change.
        let Some(agent) = self.agents.get(slot as usize).and_then(Option::as_ref) else {
            return;
        };
        let m = self.member_state(agent, self.d.pools_day);
        let strategy = self.settings.strategy;
        self.d.pool.upsert(slot, m);
        for g in &agent.groups {
            self.d
                .group_pools
                .entry(g.clone())
                .or_insert_with(|| Pool::new(strategy))
                .upsert(slot, m);
        }
        let Derived {
            rule_pools,
            rules_by_slot,
            ..
        } = &mut self.d;
        for &rule in rules_by_slot.get(slot as usize).into_iter().flatten() {
            if let Some(pool) = rule_pools.get_mut(rule).and_then(Option::as_mut) {
                pool.upsert(slot, m);
            }
        }
    }

    /// Rebuilds the indexes when the shop day changed (assigned-today resets)
    /// or the settings that feed them changed.
    pub(super) fn reindex_all(&mut self, today: Day) {
        self.d.pools_day = today;
        let strategy = self.settings.strategy;
        self.d.pool.keep_for(strategy);
        for pool in self.d.group_pools.values_mut() {
            pool.keep_for(strategy);
        }
        for pool in self.d.rule_pools.iter_mut().flatten() {
            pool.keep_for(strategy);
        }
        let slots: Vec<Slot> = self.slots().collect();
        for s in slots {
            self.reindex(s);
        }
    }

    /// The one group a rule targets, when it names exactly one group and no
    /// agent: such a rule picks from the group's own pool.
    pub(super) fn single_group(to: &Target) -> Option<&GroupId> {
        match (to.agents.as_slice(), to.groups.as_slice()) {
            ([], [g]) => Some(g),
            _ => None,
        }
    }

    /// Files the rules for matching and rebuilds the pool of every rule that
    /// names agents or several groups: after the rules changed, or a restore.
    pub(super) fn rebuild_rule_indexes(&mut self) {
        self.d.rule_index = RuleIndex::new(&self.settings.rules);
        let strategy = self.settings.strategy;
        let mut rules_by_slot: Vec<Vec<usize>> = vec![Vec::new(); self.agents.len()];
        let mut rule_pools = Vec::with_capacity(self.settings.rules.len());
        for (i, rule) in self.settings.rules.iter().enumerate() {
            if Shop::single_group(&rule.to).is_some() {
                rule_pools.push(None);
                continue;
            }
            let named = rule.to.agents.iter();
            let members = rule
                .to
                .groups
                .iter()
                .filter_map(|g| self.groups.get(g))
                .flatten();
            let mut pool = Pool::new(strategy);
            for id in named.chain(members) {
                let Some(slot) = self.slot(id) else { continue };
                if pool.contains(slot) {
                    continue;
                }
                let a = self.agent_at(slot).expect("live");
                pool.upsert(slot, self.member_state(a, self.d.pools_day));
                rules_by_slot[slot as usize].push(i);
            }
            rule_pools.push(Some(pool));
        }
        self.d.rule_pools = rule_pools;
        self.d.rules_by_slot = rules_by_slot;
    }

    /// Brings the rule pools holding the agent in `slot` up to date after it
    /// was created, joined or left a group, or was deleted (`None`): it is in
    /// the pool of every rule that names it or one of its groups.
    pub(super) fn refresh_rule_membership(&mut self, slot: Slot) {
        let wanted: Vec<usize> = match self.agent_at(slot) {
            None => Vec::new(),
            Some(a) => self
                .settings
                .rules
                .iter()
                .enumerate()
                .filter(|(_, r)| Shop::single_group(&r.to).is_none())
                .filter(|(_, r)| {
                    r.to.agents.contains(&a.id) || r.to.groups.iter().any(|g| a.groups.contains(g))
                })
                .map(|(i, _)| i)
                .collect(),
        };
        let at = slot as usize;
        let old = std::mem::take(&mut self.d.rules_by_slot[at]);
        for i in old.iter().filter(|i| !wanted.contains(i)) {
            if let Some(pool) = self.d.rule_pools.get_mut(*i).and_then(Option::as_mut) {
                pool.remove(slot);
            }
        }
        if let Some(a) = self.agent_at(slot) {
            let m = self.member_state(a, self.d.pools_day);
            for &i in &wanted {
                if let Some(pool) = self.d.rule_pools.get_mut(i).and_then(Option::as_mut) {
                    pool.upsert(slot, m);
                }
            }
        }
        self.d.rules_by_slot[at] = wanted;
    }

    /// Brings the pools to the shop day of `now` (assigned-today resets).
    pub(super) fn ensure_day(&mut self, now: Millis) {
        let today = self.today(now);
        if today != self.d.pools_day {
            self.reindex_all(today);
        }
    }

    /// The pool of a group, if it exists.
    pub(super) fn group_pool(&self, id: &GroupId) -> Option<&Pool> {
        self.d.group_pools.get(id)
    }

    /// The pool of every agent of the shop.
    pub(super) fn shop_pool(&self) -> &Pool {
        &self.d.pool
    }

    /// The pool of rule `i`, if it names agents or several groups.
    pub(super) fn rule_pool(&self, i: usize) -> Option<&Pool> {
        self.d.rule_pools.get(i).and_then(Option::as_ref)
    }

    /// The first rule that matches an inquiry, by the rule index.
    pub(super) fn first_matching_rule(&self, inquiry: &Inquiry) -> Option<usize> {
        self.d.rule_index.first_match(&self.settings.rules, inquiry)
    }

    /// The shop day the pools count assigned-today for.
    pub(super) fn pools_day(&self) -> Day {
        self.d.pools_day
    }

    /// Number of agents by status: (online, busy, offline).
    pub fn status_counts(&self) -> (u32, u32, u32) {
        let p = &self.d.pool;
        (
            p.count(AgentStatus::Online),
            p.count(AgentStatus::Busy),
            p.count(AgentStatus::Offline),
        )
    }

    /// A new slot was handed out: the lists kept by slot grow with it.
    pub(super) fn pools_slot_added(&mut self) {
        self.d.rules_by_slot.push(Vec::new());
    }

    /// The group exists (it may have no members): it has a pool.
    pub(super) fn ensure_group_pool(&mut self, g: &GroupId) {
        let strategy = self.settings.strategy;
        if !self.d.group_pools.contains_key(g) {
            self.d.group_pools.insert(g.clone(), Pool::new(strategy));
        }
    }

    /// The agent in `slot` joined group `g`.
    pub(super) fn index_group_join(&mut self, slot: Slot, g: GroupId) {
        let m = self.member_state(self.agent_at(slot).expect("live"), self.d.pools_day);
        let strategy = self.settings.strategy;
        self.d
            .group_pools
            .entry(g)
            .or_insert_with(|| Pool::new(strategy))
            .upsert(slot, m);
        self.refresh_rule_membership(slot);
    }

    /// The agent in `slot` left group `g`.
    pub(super) fn index_group_leave(&mut self, slot: Slot, g: &GroupId) {
        if let Some(pool) = self.d.group_pools.get_mut(g) {
            pool.remove(slot);
        }
        self.refresh_rule_membership(slot);
    }

    /// The agent in `slot` was deleted (after leaving its groups).
    pub(super) fn unindex(&mut self, slot: Slot) {
        self.d.pool.remove(slot);
        self.refresh_rule_membership(slot);
    }
}
