//! The export turned into a run's inputs: what is set up before the day,
//! what happens at a fixed time (arrivals, agents' changes, orders) and,
//! per conversation, its observed durations as offsets from its arrival or
//! its placement (the rules are in the module header of `replay`).

use std::collections::HashMap;

use fenliu_core::daylog::{StartAgent, What};
use fenliu_core::{
    AgentId, BuyerId, Command, ConversationId, ConversationStatus, EndReason, GroupId, Inquiry,
    Millis, Party,
};

use super::Export;

/// Something a conversation's people do, at an offset.
#[derive(Clone, Debug)]
pub(crate) enum Act {
    Message(Party),
    End(EndReason),
    Transfer(AgentId),
    TransferToGroup(GroupId),
    InviteRating,
    Rate(u8),
}

/// An act at `offset_ms`; `line` keeps the export's order at a tie.
#[derive(Clone, Debug)]
pub(crate) struct Step {
    pub offset_ms: Millis,
    pub line: usize,
    pub act: Act,
}

/// One recorded conversation and what its people did.
#[derive(Clone, Debug)]
pub(crate) struct Script {
    /// Its id in the record.
    pub recorded_id: ConversationId,
    /// When it arrived (the start's time for one open at the start).
    pub arrived: Millis,
    /// The line of its arrival (0 for one open at the start).
    pub line: usize,
    pub inquiry: Inquiry,
    /// Acts before its first placement, offsets from arrival.
    pub from_arrival: Vec<Step>,
    /// Acts after it, offsets from placement.
    pub from_placement: Vec<Step>,
    /// The buyer's patience, from the `cancel` input, and its line.
    pub patience: Option<(Millis, usize)>,
    /// From the recorded offer (the latest before it) to its acceptance,
    /// and the `accept` line.
    pub accept: Option<(Millis, usize)>,
    /// Where the record first placed it: when, which line, which agent.
    pub placed: Option<(Millis, usize, AgentId)>,
    /// Whether the record queued it before placing it (or at the start).
    pub queued: bool,
    /// The buyer's earlier conversation in the export, if any.
    pub is_return: bool,
}

/// A fixed-time input: its time, its line, the command.
#[derive(Clone, Debug)]
pub(crate) struct Timed {
    pub at: Millis,
    pub line: usize,
    pub command: Command,
}

/// The run's inputs.
#[derive(Debug)]
pub(crate) struct Plan {
    /// When the log began.
    pub start_at: Millis,
    /// The agents at the start.
    pub start_agents: Vec<StartAgent>,
    /// The groups at the start.
    pub start_groups: Vec<(GroupId, Vec<AgentId>)>,
    /// Every agent the export names, those of the start first.
    pub agents: Vec<AgentId>,
    /// Fixed-time inputs, in the export's order.
    pub timed: Vec<Timed>,
    /// Recorded conversations: those open at the start, then arrivals.
    pub scripts: Vec<Script>,
    /// The last line's time.
    pub last_at: Millis,
}

impl Plan {
    /// The inputs of `export`.
    pub fn of(export: &Export) -> Self {
        let start = &export.start;
        let mut agents: Vec<AgentId> = Vec::new();
        let mut known: HashMap<AgentId, ()> = HashMap::new();
        let mut name = |a: &AgentId, agents: &mut Vec<AgentId>| {
            if known.insert(a.clone(), ()).is_none() {
                agents.push(a.clone());
            }
        };
        for a in &start.agents {
            name(&a.agent_id, &mut agents);
        }
        let mut scripts: Vec<Script> = Vec::new();
        let mut of_id: HashMap<ConversationId, usize> = HashMap::new();
        for c in &start.conversations {
            of_id.insert(c.conversation_id, scripts.len());
            scripts.push(Script {
                recorded_id: c.conversation_id,
                arrived: export.start_at,
                line: 0,
                inquiry: c.inquiry.clone(),
                from_arrival: Vec::new(),
                from_placement: Vec::new(),
                patience: None,
                accept: None,
                placed: c
                    .agent_id
                    .clone()
                    .filter(|_| c.status == ConversationStatus::Active)
                    .map(|a| (export.start_at, 0, a)),
                queued: c.status == ConversationStatus::Queued,
                is_return: false,
            });
        }
        // First pass: arrivals, placements and offers, fixed-time inputs.
        let mut timed = Vec::new();
        let mut offered: HashMap<usize, Millis> = HashMap::new();
        let mut last_at = export.start_at;
        let mut seen_buyers: HashMap<BuyerId, ()> = HashMap::new();
        for s in &scripts {
            seen_buyers.insert(s.inquiry.buyer_id.clone(), ());
        }
        for (line, fact) in &export.facts {
            let (at, line) = (fact.at, *line);
            last_at = last_at.max(at);
            let command = match &fact.what {
                What::Inquiry {
                    conversation_id,
                    created: true,
                    inquiry,
                } => {
                    let is_return = seen_buyers.insert(inquiry.buyer_id.clone(), ()).is_some();
                    of_id.insert(*conversation_id, scripts.len());
                    scripts.push(Script {
                        recorded_id: *conversation_id,
                        arrived: at,
                        line,
                        inquiry: inquiry.clone(),
                        from_arrival: Vec::new(),
                        from_placement: Vec::new(),
                        patience: None,
                        accept: None,
                        placed: None,
                        queued: false,
                        is_return,
                    });
                    None
                }
                What::Assigned {
                    conversation_id,
                    agent_id,
                    ..
                } => {
                    name(agent_id, &mut agents);
                    if let Some(s) = of_id.get(conversation_id).map(|&i| &mut scripts[i]) {
                        if s.placed.is_none() {
                            s.placed = Some((at, line, agent_id.clone()));
                        }
                    }
                    None
                }
                What::Queued { conversation_id } => {
                    if let Some(s) = of_id.get(conversation_id).map(|&i| &mut scripts[i]) {
                        s.queued |= s.placed.is_none();
                    }
                    None
                }
                What::Offered {
                    conversation_id, ..
                } => {
                    if let Some(&i) = of_id.get(conversation_id) {
                        offered.insert(i, at);
                    }
                    None
                }
                What::Accept { conversation_id } => {
                    if let Some(&i) = of_id.get(conversation_id) {
                        let s = &mut scripts[i];
                        if s.accept.is_none() {
                            s.accept = offered.get(&i).map(|o| (at - o, line));
                        }
                    }
                    None
                }
                What::Agent {
                    agent_id,
                    weight,
                    groups,
                } => {
                    name(agent_id, &mut agents);
                    Some(Command::UpsertAgent {
                        agent: agent_id.clone(),
                        display_name: None,
                        weight: *weight,
                        groups: groups.clone(),
                    })
                }
                What::AgentDeleted { agent_id } => Some(Command::DeleteAgent(agent_id.clone())),
                What::Status { agent_id, status } => {
                    Some(Command::SetStatus(agent_id.clone(), *status))
                }
                What::PresenceLapsed { agent_id } => {
                    Some(Command::PresenceLapsed(agent_id.clone()))
                }
                What::MaxLoad { agent_id, max_load } => {
                    Some(Command::SetMaxLoad(agent_id.clone(), *max_load))
                }
                What::Group { group_id, members } => {
                    Some(Command::PutGroup(group_id.clone(), members.clone()))
                }
                What::Order { order_id, buyer_id } => {
                    Some(Command::Order(order_id.clone(), buyer_id.clone()))
                }
                _ => None,
            };
            if let Some(command) = command {
                timed.push(Timed { at, line, command });
            }
        }
        // Second pass: each conversation's acts, now that its placement is known.
        for (line, fact) in &export.facts {
            let (at, line) = (fact.at, *line);
            let (id, act) = match &fact.what {
                What::Message {
                    conversation_id,
                    party,
                } => (conversation_id, Act::Message(*party)),
                What::End {
                    conversation_id,
                    end_reason,
                } => (conversation_id, Act::End(*end_reason)),
                What::Transfer {
                    conversation_id,
                    to_agent_id,
                } => (conversation_id, Act::Transfer(to_agent_id.clone())),
                What::TransferToGroup {
                    conversation_id,
                    to_group_id,
                } => (conversation_id, Act::TransferToGroup(to_group_id.clone())),
                What::InviteRating { conversation_id } => (conversation_id, Act::InviteRating),
                What::Rate {
                    conversation_id,
                    stars,
                } => (conversation_id, Act::Rate(*stars)),
                What::Cancel { conversation_id } => {
                    if let Some(s) = of_id.get(conversation_id).map(|&i| &mut scripts[i]) {
                        if s.patience.is_none() {
                            s.patience = Some((at - s.arrived, line));
                        }
                    }
                    continue;
                }
                _ => continue,
            };
            let Some(s) = of_id.get(id).map(|&i| &mut scripts[i]) else {
                continue;
            };
            match (&s.placed, act) {
                (Some((placed_at, placed_line, _)), act) if line > *placed_line => {
                    s.from_placement.push(Step {
                        offset_ms: at - placed_at,
                        line,
                        act,
                    });
                }
                (_, act @ Act::Message(_)) => s.from_arrival.push(Step {
                    offset_ms: at - s.arrived,
                    line,
                    act,
                }),
                // An end, transfer or rating before any placement has no
                // offset from one to be replayed at.
                _ => {}
            }
        }
        Self {
            start_at: export.start_at,
            start_agents: start.agents.clone(),
            start_groups: start.groups.clone(),
            agents,
            timed,
            scripts,
            last_at,
        }
    }
}
