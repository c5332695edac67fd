//! Agents and groups (客服, 分组) and the commands that change them: upsert,
//! delete, status, max load, group members.
//!
//! [`Shop::agent_mut`] is the one way to change an agent: it marks the
//! agent's record changed, so that no change goes unpersisted. Whoever
//! changes what an index reads then calls `reindex` (see `pools`).

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;

use super::Shop;
use crate::agent::{check_display_name, Agent, AgentStatus, MaxLoad, Weight};
use crate::effects::{Event, Reply, StatusCause};
use crate::error::{CoreError, CoreResult};
use crate::ids::{AgentId, GroupId};
use crate::index::Slot;
use crate::records::RecordKey;
use crate::time::Millis;

impl Shop {
    /// The slot of an agent, by id.
    pub(super) fn slot(&self, id: &AgentId) -> Option<Slot> {
        self.d.by_id.get(id).copied()
    }

    /// An agent by id.
    pub fn agent(&self, id: &AgentId) -> Option<&Agent> {
        self.slot(id).and_then(|s| self.agent_at(s))
    }

    /// The agent in `slot`, if live.
    pub(super) fn agent_at(&self, slot: Slot) -> Option<&Agent> {
        self.agents.get(slot as usize).and_then(Option::as_ref)
    }

    /// The live agent in `slot`, to change: the one way to change an agent.
    /// Its record is marked changed here, so that a change cannot go
    /// unpersisted; read with [`Shop::agent_at`] first when the change may
    /// turn out to be none.
    pub(super) fn agent_mut(&mut self, slot: Slot) -> &mut Agent {
        let agent = self.agents[slot as usize]
            .as_mut()
            .expect("slot of a live agent");
        self.fx.changed.push(RecordKey::Agent(agent.id.clone()));
        agent
    }

    /// The members of group `g` (created empty if it does not exist), to
    /// change: its record is marked changed here, as [`Shop::agent_mut`]
    /// marks an agent's.
    fn group_mut(&mut self, g: &GroupId) -> &mut BTreeSet<AgentId> {
        self.fx.changed.push(RecordKey::Group(g.clone()));
        self.groups.entry(g.clone()).or_default()
    }

    /// The slot of agent `id`; 404 when the shop has no such agent.
    pub(super) fn slot_or_404(&self, id: &AgentId) -> CoreResult<Slot> {
        self.slot(id)
            .ok_or_else(|| CoreError::not_found(format!("agent {id} not found")))
    }

    /// The slot of every agent, by id.
    pub(super) fn slots(&self) -> impl Iterator<Item = Slot> + '_ {
        self.d.by_id.values().copied()
    }

    /// Every agent, by id.
    pub fn agents(&self) -> impl Iterator<Item = &Agent> + '_ {
        self.d.by_id.values().filter_map(|&s| self.agent_at(s))
    }

    /// Number of agents.
    pub fn agent_count(&self) -> usize {
        self.d.by_id.len()
    }

    pub(super) fn upsert_agent<R: Rng + ?Sized>(
        &mut self,
        id: AgentId,
        display_name: Option<String>,
        weight: Option<Weight>,
        groups: Option<Vec<GroupId>>,
        now: Millis,
        rng: &mut R,
    ) -> CoreResult<Reply> {
        if let Some(name) = &display_name {
            check_display_name(name)?;
        }
        let slot = match self.slot(&id) {
            Some(s) => s,
            None => self.add_agent(&id),
        };
        let agent = self.agent_mut(slot);
        if let Some(name) = display_name {
            agent.display_name = Some(name);
        }
        if let Some(w) = weight {
            agent.weight = w;
        }
        if let Some(groups) = groups {
            let new: BTreeSet<GroupId> = groups.into_iter().collect();
            let old = self
                .agent_at(slot)
                .map(|a| a.groups.clone())
                .unwrap_or_default();
            for g in old.difference(&new) {
                self.leave_group(slot, &id, g);
            }
            for g in new.difference(&old) {
                self.join_group(slot, &id, g.clone());
            }
        }
        self.ensure_day(now);
        self.reindex(slot);
        self.drain(now, rng);
        Ok(Reply::Done)
    }

    /// A new agent, offline, in a free slot (or a new one).
    fn add_agent(&mut self, id: &AgentId) -> Slot {
        let slot = self.d.free_slots.pop().unwrap_or(self.agents.len() as Slot);
        if slot as usize == self.agents.len() {
            // A new slot: every list kept by slot grows with it.
            self.agents.push(None);
            self.placement_slot_added();
            self.pools_slot_added();
        }
        self.agents[slot as usize] = Some(Agent::new(id.clone()));
        self.d.by_id.insert(id.clone(), slot);
        self.refresh_rule_membership(slot);
        slot
    }

    // Membership is stored on both sides (the group's members and the
    // agent's groups), so both records change.
    fn join_group(&mut self, slot: Slot, id: &AgentId, g: GroupId) {
        self.group_mut(&g).insert(id.clone());
        self.agent_mut(slot).groups.insert(g.clone());
        self.index_group_join(slot, g);
    }

    fn leave_group(&mut self, slot: Slot, id: &AgentId, g: &GroupId) {
        if self.groups.contains_key(g) {
            self.group_mut(g).remove(id);
        }
        self.agent_mut(slot).groups.remove(g);
        self.index_group_leave(slot, g);
    }

    pub(super) fn delete_agent<R: Rng + ?Sized>(
        &mut self,
        id: &AgentId,
        now: Millis,
        rng: &mut R,
    ) -> CoreResult<Reply> {
        let slot = self.slot_or_404(id)?;
        self.withdraw_offers(slot, false, now, rng);
        let groups: Vec<GroupId> = self
            .agent_at(slot)
            .expect("live")
            .groups
            .iter()
            .cloned()
            .collect();
        for g in &groups {
            self.leave_group(slot, id, g);
        }
        let active = self.active_conversations_of(id);
        // Each goes to the head of the queue, so the newest goes first and
        // the oldest ends up served first.
        for cid in active.into_iter().rev() {
            self.release(cid);
            self.requeue_at_front(cid, now);
        }
        self.remove_agent(slot, id);
        self.drain(now, rng);
        Ok(Reply::Done)
    }

    pub(super) fn set_status<R: Rng + ?Sized>(
        &mut self,
        id: &AgentId,
        status: AgentStatus,
        cause: Option<StatusCause>,
        now: Millis,
        rng: &mut R,
    ) -> CoreResult<Reply> {
        let slot = self.slot_or_404(id)?;
        if self.agent_at(slot).expect("live").status == status {
            return Ok(Reply::Done);
        }
        self.count_online_time(slot, status, now);
        self.agent_mut(slot).status = status;
        self.fx.events.push(Event::AgentStatus {
            agent_id: id.clone(),
            status,
            cause,
        });
        self.ensure_day(now);
        self.reindex(slot);
        if status == AgentStatus::Offline {
            self.withdraw_offers(slot, true, now, rng);
        }
        // Going online adds capacity; going busy or offline can leave a rule's
        // target set with nobody online, which turns on overflow for the
        // conversations queued behind it. Either way the queue is looked at.
        self.drain(now, rng);
        Ok(Reply::Done)
    }

    /// The node saw no sign of life from agent `id` for the presence
    /// timeout: offline, unless presence is off or it is offline already.
    pub(super) fn presence_lapsed<R: Rng + ?Sized>(
        &mut self,
        id: &AgentId,
        now: Millis,
        rng: &mut R,
    ) -> CoreResult<Reply> {
        if self.settings.presence.timeout_secs.is_none() {
            // Nothing to apply; an unknown agent is still not found.
            self.slot_or_404(id)?;
            return Ok(Reply::Done);
        }
        let cause = Some(StatusCause::Presence);
        self.set_status(id, AgentStatus::Offline, cause, now, rng)
    }

    pub(super) fn set_max_load<R: Rng + ?Sized>(
        &mut self,
        id: &AgentId,
        max: MaxLoad,
        now: Millis,
        rng: &mut R,
    ) -> CoreResult<Reply> {
        let slot = self.slot_or_404(id)?;
        if self.agent_at(slot).expect("live").max_load == max {
            return Ok(Reply::Done);
        }
        self.agent_mut(slot).max_load = max;
        self.ensure_day(now);
        self.reindex(slot);
        self.drain(now, rng);
        Ok(Reply::Done)
    }

    pub(super) fn put_group<R: Rng + ?Sized>(
        &mut self,
        group: GroupId,
        members: Vec<AgentId>,
        now: Millis,
        rng: &mut R,
    ) -> CoreResult<Reply> {
        if let Some(unknown) = members.iter().find(|a| self.slot(a).is_none()) {
            return Err(CoreError::not_found(format!("agent {unknown} not found")));
        }
        let new: BTreeSet<AgentId> = members.into_iter().collect();
        let old = self.groups.get(&group).cloned().unwrap_or_default();
        for a in old.difference(&new) {
            if let Some(slot) = self.slot(a) {
                self.leave_group(slot, a, &group);
            }
        }
        for a in new.difference(&old) {
            let slot = self.slot(a).expect("checked above");
            self.join_group(slot, a, group.clone());
        }
        self.group_mut(&group);
        self.ensure_group_pool(&group);
        self.ensure_day(now);
        self.drain(now, rng);
        Ok(Reply::Done)
    }

    /// Takes the agent in `slot` out of the shop; its slot is handed out again.
    fn remove_agent(&mut self, slot: Slot, id: &AgentId) {
        self.agents[slot as usize] = None;
        self.unindex(slot);
        self.d.by_id.remove(id);
        self.d.free_slots.push(slot);
        self.fx.changed.push(RecordKey::Agent(id.clone()));
    }

    /// An agent read from its record, in the next slot: a restore hands out
    /// the slots in the order of the records.
    pub(super) fn restore_agent(&mut self, agent: Agent) {
        let slot = self.agents.len() as Slot;
        self.d.by_id.insert(agent.id.clone(), slot);
        self.agents.push(Some(agent));
    }

    /// Group membership is stored on both sides; the group records win.
    /// Every group gets its (empty) pool, filled by `reindex_all`.
    pub(super) fn restore_memberships(&mut self) {
        for a in self.agents.iter_mut().flatten() {
            a.groups.clear();
        }
        let groups = std::mem::take(&mut self.groups);
        for (g, members) in &groups {
            let slots: Vec<Slot> = members.iter().filter_map(|m| self.slot(m)).collect();
            for slot in slots {
                if let Some(a) = self.agents[slot as usize].as_mut() {
                    a.groups.insert(g.clone());
                }
            }
            self.ensure_group_pool(g);
        }
        self.groups = groups;
    }

    /// Agents of a group, if it exists.
    pub fn group(&self, id: &GroupId) -> Option<&BTreeSet<AgentId>> {
        self.groups.get(id)
    }

    /// Every group with its members.
    pub fn groups(&self) -> &BTreeMap<GroupId, BTreeSet<AgentId>> {
        &self.groups
    }
}
