//! The per-pool indexes of agents: the whole shop's, each group's, and one
//! for each other target set a rule can pick from: its own when it is not
//! exactly one group, and its set widened by each escalation step. They make
//! a routing decision O(log n); each agent's entries are brought up to date
//! by `reindex` after anything they read changed (status, load, unreplied,
//! max load, weight, groups, the day).

use super::{Derived, Shop};
use crate::agent::{Agent, AgentStatus};
use crate::ids::{AgentId, GroupId};
use crate::index::{MemberState, Pool, Slot};
use crate::inquiry::Inquiry;
use crate::lazy::Lazy;
use crate::rule_index::RuleIndex;
use crate::settings::{Rule, Strategy};
use crate::time::{Day, Millis};

/// A target set of a rule (with the steps reached), and where its pool is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum TargetSet {
    /// Every agent of the shop.
    Shop,
    /// Exactly one group: its own pool.
    Group(GroupId),
    /// Any other set: a pool of its own, by index in `target_pools`.
    Pool(usize),
}

/// The pool of a target set that is neither the shop nor one group, and
/// what the set is made of.
#[derive(Clone, Debug)]
pub(super) struct TargetPool {
    agents: Vec<AgentId>,
    groups: Vec<GroupId>,
    pub(super) pool: Pool,
}

impl TargetPool {
    fn holds(&self, a: &Agent) -> bool {
        self.agents.contains(&a.id) || self.groups.iter().any(|g| a.groups.contains(g))
    }
}

/// The target sets of a rule: its own, then with each escalation step
/// reached, as (agents, groups, every agent).
fn widening(rule: &Rule) -> Vec<(Vec<AgentId>, Vec<GroupId>, bool)> {
    let mut sets = vec![(rule.to.agents.clone(), rule.to.groups.clone(), false)];
    for step in &rule.to.escalate {
        let (mut agents, mut groups, any) = sets.last().cloned().expect("own set");
        agents.extend(
            step.agents
                .iter()
                .filter(|a| !agents.contains(a))
                .cloned()
                .collect::<Vec<_>>(),
        );
        groups.extend(
            step.groups
                .iter()
                .filter(|g| !groups.contains(g))
                .cloned()
                .collect::<Vec<_>>(),
        );
        sets.push((agents, groups, any || step.any));
    }
    sets
}

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
            target_pools,
            pools_by_slot,
            ..
        } = &mut self.d;
        for &i in pools_by_slot.get(slot as usize).into_iter().flatten() {
            target_pools[i].pool.upsert(slot, m);
        }
    }

    /// Rebuilds the indexes when the shop day changed (assigned-today resets)
    /// or the settings that feed them changed.
    pub(super) fn reindex_all(&mut self, today: Day) {
        self.d.pools_day = today;
        let strategy = self.settings.strategy;
        // An unallocated pool is the default one: what `keep_for` makes of
        // an empty pool under the default strategy.
        if let Some(pool) = self.d.pool.get_mut_if(strategy != Strategy::default()) {
            pool.keep_for(strategy);
        }
        for (_, pool) in &mut self.d.group_pools {
            pool.keep_for(strategy);
        }
        for t in &mut self.d.target_pools {
            t.pool.keep_for(strategy);
        }
        let slots: Vec<Slot> = self.slots().collect();
        for s in slots {
            self.reindex(s);
        }
    }

    /// Files the rules for matching and rebuilds the pool of every target
    /// set of a rule that is neither the shop nor one group (its own, and
    /// with each escalation step): after the rules changed, or a restore.
    pub(super) fn rebuild_rule_indexes(&mut self) {
        let no_rules = self.settings.rules.is_empty();
        self.d.rule_index = Lazy::of(RuleIndex::new(&self.settings.rules), no_rules);
        let strategy = self.settings.strategy;
        let mut pools_by_slot: Vec<Vec<usize>> = vec![Vec::new(); self.agents.len()];
        let mut target_pools: Vec<TargetPool> = Vec::new();
        let mut rule_targets = Vec::with_capacity(self.settings.rules.len());
        for rule in &self.settings.rules {
            let mut targets = Vec::with_capacity(1 + rule.to.escalate.len());
            for (agents, groups, any) in widening(rule) {
                let single = match (agents.as_slice(), groups.as_slice()) {
                    ([], [g]) => Some(g.clone()),
                    _ => None,
                };
                if any {
                    targets.push(TargetSet::Shop);
                    continue;
                }
                if let Some(g) = single {
                    targets.push(TargetSet::Group(g));
                    continue;
                }
                let index = target_pools.len();
                let mut pool = Pool::new(strategy);
                let members = groups.iter().filter_map(|g| self.groups.get(g)).flatten();
                for id in agents.iter().chain(members) {
                    let Some(slot) = self.slot(id) else { continue };
                    if pool.contains(slot) {
                        continue;
                    }
                    let a = self.agent_at(slot).expect("live");
                    pool.upsert(slot, self.member_state(a, self.d.pools_day));
                    pools_by_slot[slot as usize].push(index);
                }
                target_pools.push(TargetPool {
                    agents,
                    groups,
                    pool,
                });
                targets.push(TargetSet::Pool(index));
            }
            rule_targets.push(targets);
        }
        self.d.target_pools = Lazy::of(target_pools, no_rules);
        self.d.rule_targets = Lazy::of(rule_targets, no_rules);
        self.d.pools_by_slot = pools_by_slot;
    }

    /// Brings the target pools holding the agent in `slot` up to date after
    /// it was created, joined or left a group, or was deleted (`None`): it is
    /// in the pool of every target set that names it or one of its groups.
    pub(super) fn refresh_rule_membership(&mut self, slot: Slot) {
        let wanted: Vec<usize> = match self.agent_at(slot) {
            None => Vec::new(),
            Some(a) => self
                .d
                .target_pools
                .iter()
                .enumerate()
                .filter(|(_, t)| t.holds(a))
                .map(|(i, _)| i)
                .collect(),
        };
        let at = slot as usize;
        let old = std::mem::take(&mut self.d.pools_by_slot[at]);
        for &i in old.iter().filter(|i| !wanted.contains(i)) {
            self.d.target_pools[i].pool.remove(slot);
        }
        if let Some(a) = self.agent_at(slot) {
            let m = self.member_state(a, self.d.pools_day);
            for &i in &wanted {
                self.d.target_pools[i].pool.upsert(slot, m);
            }
        }
        self.d.pools_by_slot[at] = wanted;
    }

    /// The target set of rule `i` with `steps` escalation steps reached.
    pub(super) fn rule_target(&self, i: usize, steps: usize) -> TargetSet {
        self.d
            .rule_targets
            .get(i)
            .and_then(|t| t.get(steps.min(t.len().saturating_sub(1))))
            .cloned()
            .unwrap_or(TargetSet::Shop)
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

    /// The pool of a target set of its own, by index.
    pub(super) fn target_pool(&self, i: usize) -> Option<&Pool> {
        self.d.target_pools.get(i).map(|t| &t.pool)
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
        self.d.pools_by_slot.push(Vec::new());
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
