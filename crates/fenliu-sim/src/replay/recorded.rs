//! The record's own figures: the export's outcome lines tallied into an
//! [`Observed`] the way a run is, so that the "recorded" column and a
//! variant's read alike.
//!
//! Counted from the lines alone: an agent's sessions are its `assigned`
//! and `transferred` (to it) outcomes, its receptions the distinct buyers
//! among them, its load rises with them and falls with `ended`,
//! `requeued` and `transferred` (from it). The 3-minute reply rate needs
//! the core's reply clocks, which the lines do not carry: n/a. A
//! conversation open at the start counts as an inquiry, placed at once if
//! it was active then and queued if it was queued.

use std::collections::{HashMap, HashSet};

use fenliu_core::daylog::What;
use fenliu_core::time::DAY_MS;
use fenliu_core::{AgentId, BuyerId, ConversationId, Millis};

use super::plan::Plan;
use super::{Export, Placement};
use crate::engine::AgentObserved;
use crate::Observed;

#[derive(Default)]
struct Agent {
    load: u32,
    max_load: u32,
    buyers: HashSet<BuyerId>,
}

/// The record's tallies and, per recorded conversation of `plan`, where it
/// was first placed.
pub(crate) fn tally(export: &Export, plan: &Plan) -> (Observed, Vec<Option<Placement>>) {
    let tz = export.start.routing.timezone;
    let day_start = tz.start_of(export.start.day);
    let day_end = day_start + DAY_MS;
    let target_ms = export.start.routing.timers.reply_target_secs as Millis * 1000;
    let index: HashMap<&AgentId, usize> = plan
        .agents
        .iter()
        .enumerate()
        .map(|(i, a)| (a, i))
        .collect();
    let chat_of: HashMap<ConversationId, usize> = plan
        .scripts
        .iter()
        .enumerate()
        .map(|(i, s)| (s.recorded_id, i))
        .collect();
    let mut obs = Observed {
        agents: vec![AgentObserved::default(); plan.agents.len()],
        ..Observed::default()
    };
    let mut agents: Vec<Agent> = (0..plan.agents.len())
        .map(|_| Agent {
            max_load: 1,
            ..Agent::default()
        })
        .collect();
    for a in &export.start.agents {
        if let Some(&i) = index.get(&a.agent_id) {
            agents[i].max_load = a.max_load.get();
            obs.agents[i].status_changed(a.status, export.start_at, day_start, day_end);
        }
    }
    let mut holder: HashMap<ConversationId, usize> = HashMap::new();
    let mut in_queue: HashSet<ConversationId> = HashSet::new();
    let mut placements: Vec<Option<Placement>> = vec![None; plan.scripts.len()];
    let mut last_agent: HashMap<BuyerId, usize> = HashMap::new();
    let mut touched: Vec<usize> = Vec::new();
    // Conversations counted as queued once (those queued at the start too).
    let mut counted_queued: HashSet<usize> = HashSet::new();
    for c in &export.start.conversations {
        obs.inquiries += 1;
        match c.agent_id.as_ref().and_then(|a| index.get(a)) {
            Some(&i) if c.status == fenliu_core::ConversationStatus::Active => {
                obs.assigned_at_once += 1;
                obs.placed_within_target += 1;
                agents[i].load += 1;
                holder.insert(c.conversation_id, i);
                last_agent.insert(c.inquiry.buyer_id.clone(), i);
                touched.push(i);
            }
            _ if c.status == fenliu_core::ConversationStatus::Queued => {
                obs.queued += 1;
                in_queue.insert(c.conversation_id);
                if let Some(&i) = chat_of.get(&c.conversation_id) {
                    counted_queued.insert(i);
                }
            }
            _ => {}
        }
    }
    for (_, fact) in &export.facts {
        let now = fact.at;
        let chat = |id: &ConversationId| chat_of.get(id).copied();
        match &fact.what {
            What::Inquiry {
                conversation_id,
                created: true,
                ..
            } => {
                obs.inquiries += 1;
                if chat(conversation_id).is_some_and(|c| plan.scripts[c].is_return) {
                    obs.returns += 1;
                }
            }
            What::MaxLoad { agent_id, max_load } => {
                if let Some(&i) = index.get(agent_id) {
                    agents[i].max_load = max_load.get();
                    touched.push(i);
                }
            }
            What::Assigned {
                conversation_id,
                agent_id,
                ..
            } => {
                in_queue.remove(conversation_id);
                let Some(&a) = index.get(agent_id) else {
                    continue;
                };
                agents[a].load += 1;
                holder.insert(*conversation_id, a);
                touched.push(a);
                obs.agents[a].sessions += 1;
                let Some(c) = chat(conversation_id) else {
                    continue;
                };
                let script = &plan.scripts[c];
                agents[a].buyers.insert(script.inquiry.buyer_id.clone());
                if placements[c].is_some() {
                    continue;
                }
                let wait = now - script.arrived;
                placements[c] = Some(Placement {
                    agent_id: agent_id.clone(),
                    wait_ms: wait,
                });
                if script.queued {
                    obs.waits_ms.push(wait);
                } else {
                    obs.assigned_at_once += 1;
                }
                if wait <= target_ms {
                    obs.placed_within_target += 1;
                }
                let buyer = &script.inquiry.buyer_id;
                if script.is_return {
                    obs.returns_placed += 1;
                    if last_agent.get(buyer) == Some(&a) {
                        obs.returns_to_same_agent += 1;
                    }
                }
                last_agent.insert(buyer.clone(), a);
            }
            What::Queued { conversation_id } => {
                if let Some(c) = chat(conversation_id) {
                    if placements[c].is_none() && counted_queued.insert(c) {
                        obs.queued += 1;
                    }
                }
                in_queue.insert(*conversation_id);
            }
            What::Requeued { conversation_id } => {
                if let Some(a) = holder.remove(conversation_id) {
                    agents[a].load = agents[a].load.saturating_sub(1);
                    touched.push(a);
                }
                in_queue.insert(*conversation_id);
            }
            What::Offered {
                conversation_id, ..
            } => {
                in_queue.remove(conversation_id);
            }
            What::Transferred {
                conversation_id,
                from_agent_id,
                agent_id,
            } => {
                if let Some(&f) = index.get(from_agent_id) {
                    agents[f].load = agents[f].load.saturating_sub(1);
                    touched.push(f);
                }
                if let Some(&t) = index.get(agent_id) {
                    agents[t].load += 1;
                    obs.agents[t].sessions += 1;
                    if let Some(c) = chat(conversation_id) {
                        let buyer = plan.scripts[c].inquiry.buyer_id.clone();
                        agents[t].buyers.insert(buyer);
                    }
                    holder.insert(*conversation_id, t);
                    touched.push(t);
                }
            }
            What::Ended {
                conversation_id, ..
            } => {
                in_queue.remove(conversation_id);
                if let Some(a) = holder.remove(conversation_id) {
                    agents[a].load = agents[a].load.saturating_sub(1);
                    touched.push(a);
                }
            }
            What::Cancelled { conversation_id } => {
                in_queue.remove(conversation_id);
                obs.abandoned += 1;
            }
            What::AgentStatus { agent_id, status } => {
                if let Some(&i) = index.get(agent_id) {
                    obs.agents[i].status_changed(*status, now, day_start, day_end);
                }
            }
            _ => {}
        }
        for a in touched.drain(..) {
            let ratio = f64::from(agents[a].load) / f64::from(agents[a].max_load.max(1));
            obs.agents[a].saturation.set(now - day_start, ratio);
        }
        obs.queue_len.set(now - day_start, in_queue.len() as f64);
    }
    for (a, agent) in obs.agents.iter_mut().zip(&agents) {
        a.receptions = agent.buyers.len() as u32;
        a.finish(day_start, day_end);
    }
    obs.queue_len.finish();
    (obs, placements)
}
