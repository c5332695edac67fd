//! The day's log (see [`crate::daylog`]): the shop's state when the log of a
//! day begins, one input per command that succeeded and one outcome per
//! event, put into the command's effects.

use crate::daylog::{Fact, Start, StartAgent, StartConversation, What};
use crate::effects::{Command, Event, Reply};
use crate::ids::ConversationId;
use crate::time::{Day, Millis};
use crate::ConversationStatus;

use super::Shop;

/// Whether the shop keeps a day log, and where it stands.
#[derive(Clone, Debug, Default)]
pub(super) struct DayLog {
    /// The day whose [`Start`] was written, by this shop in memory.
    day: Option<Day>,
    /// The start of a day not written yet: it goes out with the first facts
    /// of that day, so that a read, which logs nothing, writes nothing.
    /// Boxed: every shop of a node keeps a log, and most are idle.
    pending: Option<Box<(Day, Fact)>>,
    /// The day and time of a pending start let go because the step that
    /// took it changed nothing (a read): the shop is as it was then, so the
    /// start is taken again from it, with that time, when a step needs it.
    /// An idle shop holds two numbers instead of a copy of its state.
    unchanged_since: Option<(Day, Millis)>,
    /// Events of the pending effects already logged (a refused command
    /// leaves its timers' effects pending, logged).
    logged_events: usize,
}

impl Shop {
    /// Keeps the day's log from now on: every command's effects then carry
    /// its facts (a node's shops do; the simulator's do not need to).
    pub fn keep_day_log(&mut self) {
        if self.log.is_none() {
            self.log = Some(DayLog::default());
        }
    }

    /// Takes the shop's state as it stands, once per day in memory, to write
    /// before the day's first facts.
    pub(super) fn log_start(&mut self, now: Millis) {
        let today = self.today(now);
        let Some(log) = &self.log else {
            return;
        };
        if log.day == Some(today) || log.pending.as_ref().is_some_and(|p| p.0 == today) {
            return;
        }
        let at = match log.unchanged_since {
            Some((day, at)) if day == today => at,
            _ => now,
        };
        let agents = self
            .agents()
            .map(|a| StartAgent {
                agent_id: a.id.clone(),
                status: a.status,
                max_load: a.max_load,
                weight: a.weight,
                groups: a.groups.iter().cloned().collect(),
            })
            .collect();
        let groups = self
            .groups
            .iter()
            .map(|(g, members)| (g.clone(), members.iter().cloned().collect()))
            .collect();
        let conversations = self
            .conversations
            .values()
            .filter(|c| c.status != ConversationStatus::Ended)
            .map(|c| StartConversation {
                conversation_id: c.id,
                status: c.status,
                agent_id: c.agent.clone(),
                created_at: c.created_at,
                inquiry: c.inquiry.clone(),
            })
            .collect();
        let start = Start {
            day: today,
            routing: (*self.settings).clone(),
            agents,
            groups,
            conversations,
        };
        let start = Fact {
            at,
            what: What::Start(Box::new(start)),
        };
        if let Some(log) = &mut self.log {
            log.pending = Some(Box::new((today, start)));
            log.unchanged_since = None;
        }
    }

    /// The input a command records, before it runs (the conversation of an
    /// inquiry or a proactive chat is filled in from its reply).
    pub(super) fn log_input_of(&self, cmd: &Command) -> Option<What> {
        self.log.as_ref()?;
        let none = ConversationId(0);
        Some(match cmd {
            Command::UpsertAgent {
                agent,
                weight,
                groups,
                ..
            } => What::Agent {
                agent_id: agent.clone(),
                weight: *weight,
                groups: groups.clone(),
            },
            Command::DeleteAgent(a) => What::AgentDeleted {
                agent_id: a.clone(),
            },
            Command::SetStatus(a, status) => What::Status {
                agent_id: a.clone(),
                status: *status,
            },
            Command::PresenceLapsed(a) => What::PresenceLapsed {
                agent_id: a.clone(),
            },
            Command::SetMaxLoad(a, max_load) => What::MaxLoad {
                agent_id: a.clone(),
                max_load: *max_load,
            },
            Command::PutGroup(g, members) => What::Group {
                group_id: g.clone(),
                members: members.clone(),
            },
            Command::SetRouting(s) => What::Routing { routing: s.clone() },
            Command::Inquire(inquiry) => What::Inquiry {
                conversation_id: none,
                created: false,
                inquiry: inquiry.clone(),
            },
            Command::Message(id, party) => What::Message {
                conversation_id: *id,
                party: *party,
            },
            Command::Transfer(id, to) => What::Transfer {
                conversation_id: *id,
                to_agent_id: to.clone(),
            },
            Command::TransferToGroup(id, to) => What::TransferToGroup {
                conversation_id: *id,
                to_group_id: to.clone(),
            },
            Command::End(id, end_reason) => What::End {
                conversation_id: *id,
                end_reason: *end_reason,
            },
            Command::Cancel(id) => What::Cancel {
                conversation_id: *id,
            },
            Command::InviteRating(id) => What::InviteRating {
                conversation_id: *id,
            },
            Command::Rate(id, stars) => What::Rate {
                conversation_id: *id,
                stars: *stars,
            },
            Command::OpenProactive(a, b) => What::OpenProactive {
                conversation_id: none,
                agent_id: a.clone(),
                buyer_id: b.clone(),
            },
            Command::Order(order, buyer) => What::Order {
                order_id: order.clone(),
                buyer_id: buyer.clone(),
            },
            Command::Accept(id) => What::Accept {
                conversation_id: *id,
            },
            Command::Reject(id) => What::Reject {
                conversation_id: *id,
            },
        })
    }

    /// Records the input of a command that succeeded with `reply`.
    pub(super) fn log_input(&mut self, mut what: What, reply: &Reply, now: Millis) {
        if let Reply::Conversation { id, created, .. } = reply {
            match &mut what {
                What::Inquiry {
                    conversation_id,
                    created: c,
                    ..
                } => {
                    *conversation_id = *id;
                    *c = *created;
                }
                What::OpenProactive {
                    conversation_id, ..
                } => *conversation_id = *id,
                _ => {}
            }
        }
        self.fx.facts.push(Fact { at: now, what });
    }

    /// Records the outcomes of the pending events not logged yet.
    pub(super) fn log_outcomes(&mut self, now: Millis) {
        let Some(log) = &mut self.log else {
            return;
        };
        let fx = &mut *self.fx;
        let fresh = &fx.events[log.logged_events.min(fx.events.len())..];
        fx.facts.extend(fresh.iter().map(|e| Fact {
            at: now,
            what: outcome_of(e),
        }));
        log.logged_events = fx.events.len();
    }

    /// The pending effects are taken: nothing of them is left to log, and
    /// the day's start goes first if they are its first facts. A step that
    /// changed nothing (`changed`: whether a record did) lets the start go
    /// until a step needs it.
    pub(super) fn log_taken(&mut self, facts: &mut Vec<Fact>, changed: bool) {
        let Some(log) = &mut self.log else {
            return;
        };
        log.logged_events = 0;
        if facts.is_empty() {
            if !changed {
                if let Some(pending) = log.pending.take() {
                    log.unchanged_since = Some((pending.0, pending.1.at));
                }
            }
            return;
        }
        if let Some((day, start)) = log.pending.take().map(|p| *p) {
            facts.insert(0, start);
            log.day = Some(day);
        }
    }
}

/// The outcome an event records.
fn outcome_of(event: &Event) -> What {
    match event {
        Event::Assigned {
            conversation_id,
            agent_id,
            reason,
            ..
        } => What::Assigned {
            conversation_id: *conversation_id,
            agent_id: agent_id.clone(),
            reason: *reason,
        },
        Event::Queued {
            conversation_id, ..
        } => What::Queued {
            conversation_id: *conversation_id,
        },
        Event::Offered {
            conversation_id,
            agent_id,
            ..
        } => What::Offered {
            conversation_id: *conversation_id,
            agent_id: agent_id.clone(),
        },
        Event::OfferDeclined {
            conversation_id,
            agent_id,
            ..
        } => What::OfferDeclined {
            conversation_id: *conversation_id,
            agent_id: agent_id.clone(),
        },
        Event::Transferred {
            conversation_id,
            from_agent_id,
            agent_id,
            ..
        } => What::Transferred {
            conversation_id: *conversation_id,
            from_agent_id: from_agent_id.clone(),
            agent_id: agent_id.clone(),
        },
        Event::Requeued {
            conversation_id, ..
        } => What::Requeued {
            conversation_id: *conversation_id,
        },
        Event::Ended {
            conversation_id,
            end_reason,
            ..
        } => What::Ended {
            conversation_id: *conversation_id,
            end_reason: *end_reason,
        },
        Event::Cancelled {
            conversation_id, ..
        } => What::Cancelled {
            conversation_id: *conversation_id,
        },
        Event::AgentStatus {
            agent_id, status, ..
        } => What::AgentStatus {
            agent_id: agent_id.clone(),
            status: *status,
        },
    }
}
