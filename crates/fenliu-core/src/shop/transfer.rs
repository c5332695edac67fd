//! Transfers (转接): an active conversation moves to a named agent, or to an
//! agent of a group picked by the shop's strategy.

use rand::Rng;

use super::Shop;
use crate::agent::AgentStatus;
use crate::conversation::ConversationStatus;
use crate::effects::{Event, Reply};
use crate::error::{CoreError, CoreResult};
use crate::explain::{Explanation, Listed, Reason, Verdict, EXPLAIN_LIST_LIMIT};
use crate::ids::{AgentId, ConversationId, GroupId};
use crate::index::Slot;
use crate::time::Millis;

impl Shop {
    /// The agent of an active conversation, or why it cannot be transferred.
    fn transferable(&self, id: ConversationId) -> CoreResult<AgentId> {
        let c = self.conversation_or_404(id)?;
        if c.status != ConversationStatus::Active {
            return Err(CoreError::conflict(
                "only an active conversation can be transferred",
            ));
        }
        Ok(c.agent.clone().expect("active conversation has an agent"))
    }

    /// Transfers to a named agent (转接), online or busy, whatever its load.
    pub(super) fn transfer<R: Rng + ?Sized>(
        &mut self,
        id: ConversationId,
        to: &AgentId,
        now: Millis,
        rng: &mut R,
    ) -> CoreResult<Reply> {
        let from = self.transferable(id)?;
        let slot = self.slot_or_404(to)?;
        let target = self.agent_at(slot).expect("live");
        if target.status == AgentStatus::Offline {
            return Err(CoreError::conflict(format!("agent {to} is offline")));
        }
        if &from == to {
            return Err(CoreError::conflict(format!(
                "conversation is already with agent {to}"
            )));
        }
        let mut explanation = Explanation::new(now, Reason::Transfer, self.settings.strategy);
        let picked = self.considered(target, self.today(now), now, Verdict::Picked);
        explanation.agents = Listed::from_iter([picked]);
        explanation.target_size = 1;
        explanation.picked = Some(to.clone());
        Ok(self.hand_over(id, from, slot, explanation, now, rng))
    }

    /// Transfers to an agent of `group` (转接到分组), picked by the shop's
    /// strategy among the members other than the current agent that are
    /// online with room; a conflict when there is none.
    pub(super) fn transfer_to_group<R: Rng + ?Sized>(
        &mut self,
        id: ConversationId,
        group: &GroupId,
        now: Millis,
        rng: &mut R,
    ) -> CoreResult<Reply> {
        let from = self.transferable(id)?;
        let members = self
            .groups
            .get(group)
            .ok_or_else(|| CoreError::not_found(format!("group {group} not found")))?;
        let from_slot = self.slot(&from);
        // Members in id order, so that a seed gives the same pick.
        let slots: Vec<Slot> = members
            .iter()
            .filter_map(|a| self.slot(a))
            .filter(|&s| Some(s) != from_slot)
            .collect();
        self.ensure_day(now);
        let Some(slot) = self.scan_pick(slots.iter().copied(), now, rng) else {
            return Err(CoreError::conflict(format!(
                "no agent of group {group} besides {from} is online with room"
            )));
        };
        let today = self.today(now);
        let mut explanation = Explanation::new(now, Reason::Transfer, self.settings.strategy);
        explanation.target_size = slots.len() as u32;
        let listed = slots.iter().take(EXPLAIN_LIST_LIMIT);
        let mut agents = Listed::with_capacity(listed.len() + 1);
        for &s in listed.clone() {
            let a = self.agent_at(s).expect("live");
            let verdict = if s == slot {
                Verdict::Picked
            } else {
                Shop::plain_verdict(a)
            };
            agents.push(&self.considered(a, today, now, verdict));
        }
        if !listed.clone().any(|&s| s == slot) {
            let a = self.agent_at(slot).expect("live");
            agents.push(&self.considered(a, today, now, Verdict::Picked));
        }
        agents.shrink_to_fit();
        explanation.agents = agents;
        explanation.picked = self.agent_at(slot).map(|a| a.id.clone());
        Ok(self.hand_over(id, from, slot, explanation, now, rng))
    }

    /// Moves an active conversation from agent `from` to the agent in `slot`.
    fn hand_over<R: Rng + ?Sized>(
        &mut self,
        id: ConversationId,
        from: AgentId,
        slot: Slot,
        explanation: Explanation,
        now: Millis,
        rng: &mut R,
    ) -> Reply {
        self.release(id);
        let reason = self.conversations[&id].reason;
        let (_, to) = self.give(id, slot, reason, false, explanation, now);
        self.fx.events.push(Event::Transferred {
            conversation_id: id,
            from_agent_id: from,
            agent_id: to,
            reason: Reason::Transfer,
        });
        self.drain(now, rng);
        self.same(id)
    }
}
