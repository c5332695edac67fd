//! The per-pool indexes of agents: the whole shop's, each group's, and each
//! rule's whose target is not exactly one group. They make a routing
//! decision O(log n); each agent's entries are brought up to date by
//! `reindex` after anything they read changed (status, load, unreplied,
//! max load, weight, groups, the day).

use super::{Derived, Shop};
use crate::agent::Agent;
use crate::ids::GroupId;
use crate::index::{MemberState, Pool, Slot};
use crate::rule_index::RuleIndex;
use crate::settings::Target;
use crate::time::{Day, Millis};

impl Shop {
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
        let slots: Vec<Slot> = self.d.by_id.values().copied().collect();
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

    pub(super) fn ensure_day(&mut self, now: Millis) {
        let today = self.today(now);
        if today != self.d.pools_day {
            self.reindex_all(today);
        }
    }

    pub(super) fn group_pool(&self, id: &GroupId) -> Option<&Pool> {
        self.d.group_pools.get(id)
    }
}
