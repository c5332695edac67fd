//! One variant's replay through `fenliu-core` on a virtual clock: a
//! min-heap of the plan's actions keyed by time and export line, the
//! core's timers due by an action fired before it (as [`crate::engine`]
//! does), and the events tallied into an [`Observed`].

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use fenliu_core::time::DAY_MS;
use fenliu_core::{
    AgentId, BuyerId, Command, ConversationId, Effects, Event, Millis, Reply, Shop, ShopId,
};
use rand::rngs::StdRng;

use super::plan::{Act, Plan};
use super::{Placement, ReplayRun};
use crate::engine::{apply, estimated_wait_secs, AgentObserved, OVERTIME_MS};
use crate::scenario::Variant;
use crate::streams::core_rng;
use crate::Observed;

/// What happens next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    /// A fixed-time input of the plan.
    Timed(u32),
    /// A recorded conversation arrives.
    Arrive(u32),
    /// An act of a conversation before (`false`) or after its placement.
    Act { chat: u32, placed: bool, step: u32 },
    /// The buyer's patience ran out.
    GiveUp(u32),
    /// The agent accepts the offer.
    Accept(u32),
}

/// One recorded conversation, as this run sees it.
#[derive(Clone, Debug, Default)]
struct Chat {
    id: Option<ConversationId>,
    queued: bool,
    placed: Option<Placement>,
    over: bool,
}

struct Run<'a> {
    plan: &'a Plan,
    shop: Shop,
    rng: StdRng,
    heap: BinaryHeap<Reverse<(Millis, usize, u64, Action)>>,
    seq: u64,
    chats: Vec<Chat>,
    chat_of: HashMap<ConversationId, u32>,
    agent_index: HashMap<AgentId, u32>,
    last_agent: HashMap<BuyerId, u32>,
    day: fenliu_core::time::Day,
    day_start: Millis,
    target_ms: Millis,
    touched: Vec<u32>,
    obs: Observed,
}

/// Replays `plan` under `variant`, the core's random numbers from `seed`.
pub(crate) fn run(plan: &Plan, variant: &Variant, seed: u64) -> ReplayRun {
    let shop_id = ShopId::parse("replay").expect("a valid shop id");
    let tz = variant.settings.timezone;
    let day = tz.day_of(plan.start_at);
    let mut run = Run {
        plan,
        shop: Shop::new(shop_id),
        rng: core_rng(seed),
        heap: BinaryHeap::new(),
        seq: 0,
        chats: vec![Chat::default(); plan.scripts.len()],
        chat_of: HashMap::new(),
        agent_index: plan
            .agents
            .iter()
            .enumerate()
            .map(|(i, a)| (a.clone(), i as u32))
            .collect(),
        last_agent: HashMap::new(),
        day,
        day_start: tz.start_of(day),
        target_ms: variant.settings.timers.reply_target_secs as Millis * 1000,
        touched: Vec::new(),
        obs: Observed {
            agents: vec![AgentObserved::default(); plan.agents.len()],
            ..Observed::default()
        },
    };
    run.set_up(variant);
    run.drive();
    run.finish()
}

impl Run<'_> {
    fn schedule(&mut self, at: Millis, line: usize, action: Action) {
        self.seq += 1;
        self.heap.push(Reverse((at, line, self.seq, action)));
    }

    /// The shop as the start line has it, under the variant, a minute
    /// before the log began; then the day's fixed-time inputs and arrivals.
    fn set_up(&mut self, variant: &Variant) {
        let plan = self.plan;
        let before = plan.start_at - 60_000;
        self.command(
            Command::SetRouting(Box::new(variant.settings.clone())),
            before,
        );
        for a in &plan.start_agents {
            let upsert = Command::UpsertAgent {
                agent: a.agent_id.clone(),
                display_name: None,
                weight: Some(a.weight),
                groups: Some(a.groups.clone()),
            };
            self.command(upsert, before);
            self.command(Command::SetMaxLoad(a.agent_id.clone(), a.max_load), before);
        }
        for (group, members) in &plan.start_groups {
            self.command(Command::PutGroup(group.clone(), members.clone()), before);
        }
        for a in &plan.start_agents {
            self.command(Command::SetStatus(a.agent_id.clone(), a.status), before);
        }
        for (i, t) in plan.timed.iter().enumerate() {
            self.schedule(t.at, t.line, Action::Timed(i as u32));
        }
        for (i, s) in plan.scripts.iter().enumerate() {
            self.schedule(s.arrived, s.line, Action::Arrive(i as u32));
        }
    }

    fn drive(&mut self) {
        let horizon = self.plan.last_at.max(self.day_start + DAY_MS) + OVERTIME_MS;
        let mut last_tick = Millis::MIN;
        while let Some(&Reverse((at, _, _, action))) = self.heap.peek() {
            if at > horizon {
                break;
            }
            if let Some(due) = self
                .shop
                .next_deadline()
                .filter(|d| *d <= at && *d > last_tick)
            {
                let fx = self.shop.tick(due, &mut self.rng);
                last_tick = due;
                self.absorb(fx, due);
                continue;
            }
            self.heap.pop();
            self.act(action, at);
            let queue_len = self.shop.queue_len() as f64;
            self.obs.queue_len.set(at - self.day_start, queue_len);
        }
    }

    /// Applies a command, taking in what it did; a refusal is no error of
    /// the run (a recorded act may not fit the replay's day).
    fn command(&mut self, cmd: Command, now: Millis) -> Option<Reply> {
        let (reply, fx) = apply(&mut self.shop, cmd, now, &mut self.rng);
        self.absorb(fx, now);
        reply
    }

    fn act(&mut self, action: Action, now: Millis) {
        let plan = self.plan;
        match action {
            Action::Timed(i) => {
                let cmd = plan.timed[i as usize].command.clone();
                self.command(cmd, now);
            }
            Action::Arrive(chat) => self.arrive(chat, now),
            Action::GiveUp(chat) => {
                let c = &self.chats[chat as usize];
                if let (Some(id), None, false) = (c.id, &c.placed, c.over) {
                    self.command(Command::Cancel(id), now);
                }
            }
            Action::Accept(chat) => {
                let c = &self.chats[chat as usize];
                if let (Some(id), false) = (c.id, c.over) {
                    self.command(Command::Accept(id), now);
                }
            }
            Action::Act { chat, placed, step } => {
                let c = &self.chats[chat as usize];
                let (Some(id), false) = (c.id, c.over) else {
                    return;
                };
                let script = &plan.scripts[chat as usize];
                let steps = if placed {
                    &script.from_placement
                } else {
                    &script.from_arrival
                };
                let cmd = match &steps[step as usize].act {
                    Act::Message(party) => Command::Message(id, *party),
                    Act::End(reason) => Command::End(id, *reason),
                    Act::Transfer(to) => Command::Transfer(id, to.clone()),
                    Act::TransferToGroup(to) => Command::TransferToGroup(id, to.clone()),
                    Act::InviteRating => Command::InviteRating(id),
                    Act::Rate(stars) => Command::Rate(id, *stars),
                };
                self.command(cmd, now);
            }
        }
    }

    fn arrive(&mut self, chat: u32, now: Millis) {
        let script = &self.plan.scripts[chat as usize];
        let cmd = Command::Inquire(script.inquiry.clone());
        let (reply, fx) = apply(&mut self.shop, cmd, now, &mut self.rng);
        let Some(reply) = reply else {
            self.absorb(fx, now);
            return;
        };
        if let Reply::Conversation {
            id, created: true, ..
        } = reply
        {
            self.chats[chat as usize].id = Some(id);
            self.chat_of.insert(id, chat);
            self.obs.inquiries += 1;
            if script.is_return {
                self.obs.returns += 1;
            }
            for (i, step) in script.from_arrival.iter().enumerate() {
                let action = Action::Act {
                    chat,
                    placed: false,
                    step: i as u32,
                };
                self.schedule(now + step.offset_ms, step.line, action);
            }
            if let Some((patience, line)) = script.patience {
                self.schedule(now + patience, line, Action::GiveUp(chat));
            }
        }
        self.absorb(fx, now);
    }

    fn touch(&mut self, agent: &AgentId) {
        if let Some(&i) = self.agent_index.get(agent) {
            self.touched.push(i);
        }
    }

    /// Takes in the events of a command or a tick.
    fn absorb(&mut self, fx: Effects, now: Millis) {
        for event in fx.events {
            match event {
                Event::Assigned {
                    conversation_id,
                    agent_id,
                    ..
                } => {
                    self.touch(&agent_id);
                    self.assigned(conversation_id, agent_id, now);
                }
                Event::Queued {
                    conversation_id, ..
                } => {
                    let Some(&chat) = self.chat_of.get(&conversation_id) else {
                        continue;
                    };
                    let c = &mut self.chats[chat as usize];
                    if !c.queued && c.placed.is_none() {
                        c.queued = true;
                        self.obs.queued += 1;
                        let estimate = estimated_wait_secs(&self.shop, conversation_id, now);
                        self.obs.estimates.queued(conversation_id, estimate);
                    }
                }
                Event::Ended {
                    conversation_id,
                    agent_id,
                    ..
                } => {
                    if let Some(a) = agent_id {
                        self.touch(&a);
                    }
                    if let Some(&chat) = self.chat_of.get(&conversation_id) {
                        self.chats[chat as usize].over = true;
                    }
                }
                Event::Cancelled {
                    conversation_id, ..
                } => {
                    if let Some(&chat) = self.chat_of.get(&conversation_id) {
                        self.chats[chat as usize].over = true;
                        self.obs.abandoned += 1;
                    }
                }
                Event::Transferred {
                    from_agent_id,
                    agent_id,
                    ..
                } => {
                    self.touch(&from_agent_id);
                    self.touch(&agent_id);
                }
                Event::Offered {
                    conversation_id,
                    agent_id,
                    ..
                } => {
                    self.touch(&agent_id);
                    if let Some(&chat) = self.chat_of.get(&conversation_id) {
                        let (after, line) =
                            self.plan.scripts[chat as usize].accept.unwrap_or((0, 0));
                        self.schedule(now + after, line, Action::Accept(chat));
                    }
                }
                Event::OfferDeclined { agent_id, .. } => self.touch(&agent_id),
                Event::Requeued { from_agent_id, .. } => self.touch(&from_agent_id),
                Event::AgentStatus {
                    agent_id, status, ..
                } => {
                    if let Some(&i) = self.agent_index.get(&agent_id) {
                        let start = self.day_start;
                        self.obs.agents[i as usize].status_changed(
                            status,
                            now,
                            start,
                            start + DAY_MS,
                        );
                    }
                }
            }
        }
        while let Some(a) = self.touched.pop() {
            if let Some(agent) = self.shop.agent(&self.plan.agents[a as usize]) {
                let saturation = agent.saturation().ratio();
                self.obs.agents[a as usize]
                    .saturation
                    .set(now - self.day_start, saturation);
            }
        }
    }

    fn assigned(&mut self, id: ConversationId, agent_id: AgentId, now: Millis) {
        let Some(&chat) = self.chat_of.get(&id) else {
            return;
        };
        let script = &self.plan.scripts[chat as usize];
        let c = &mut self.chats[chat as usize];
        if c.placed.is_some() {
            return;
        }
        let wait = now - script.arrived;
        if c.queued {
            self.obs.waits_ms.push(wait);
            self.obs.estimates.placed(id, wait as f64 / 1000.0);
        } else {
            self.obs.assigned_at_once += 1;
        }
        if wait <= self.target_ms {
            self.obs.placed_within_target += 1;
        }
        let a = self.agent_index.get(&agent_id).copied();
        let buyer = &script.inquiry.buyer_id;
        if script.is_return {
            self.obs.returns_placed += 1;
            if a.is_some() && self.last_agent.get(buyer).copied() == a {
                self.obs.returns_to_same_agent += 1;
            }
        }
        if let Some(a) = a {
            self.last_agent.insert(buyer.clone(), a);
        }
        c.placed = Some(Placement {
            agent_id,
            wait_ms: wait,
        });
        for (i, step) in script.from_placement.iter().enumerate() {
            let action = Action::Act {
                chat,
                placed: true,
                step: i as u32,
            };
            self.schedule(now + step.offset_ms, step.line, action);
        }
    }

    fn finish(mut self) -> ReplayRun {
        let (start, end) = (self.day_start, self.day_start + DAY_MS);
        for (i, id) in self.plan.agents.iter().enumerate() {
            let a = &mut self.obs.agents[i];
            a.finish(start, end);
            if let Some(day) = self.shop.agent_day(self.day, id) {
                a.receptions = day.receptions;
                a.sessions = day.sessions;
                a.clocked = day.clocked;
                a.late = day.late;
            }
        }
        self.obs.queue_len.finish();
        ReplayRun {
            observed: self.obs,
            placements: self.chats.into_iter().map(|c| c.placed).collect(),
        }
    }
}
