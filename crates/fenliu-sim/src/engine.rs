//! One variant's day, driven through `fenliu-core` on a virtual clock.
//!
//! A discrete-event loop: a min-heap of the buyers' and agents' next
//! actions, interleaved with the core's own timers (`next_deadline` and
//! `tick`), so that an auto end or a late reply clock fires at its own
//! millisecond. Every action is a [`Command`] the API would send; the
//! events the core answers with (assigned, queued, ended, cancelled, agent
//! status) schedule what people do next and feed the [`Observed`] tallies.
//! Nothing sleeps and nothing touches the network.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use fenliu_core::{
    AgentId, AgentStatus, Command, ConversationId, Effects, EndReason, Event, Millis, Party, Reply,
    Shop, ShopId,
};
use rand::rngs::{SmallRng, StdRng};

use crate::buyers::{Buyer, Visit};
use crate::dist::Dist;
use crate::scenario::{AgentSpec, Scenario, Variant};
use crate::series::StepSeries;
use crate::streams::{core_rng, stream, Kind};

/// How long after the day the run goes on, so that the day's last chats
/// finish and the day's last queued buyers leave.
pub const OVERTIME_MS: Millis = 12 * 3_600_000;

/// What a person does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    /// An agent's shift starts (`true`) or ends.
    Shift { agent: u32, online: bool },
    /// A buyer asks (visit 0) or comes back (visit 1).
    Arrive { buyer: u32, visit: u8 },
    /// A queued buyer's patience ran out.
    GiveUp { chat: u32 },
    /// The agent answers the buyer's last message.
    AgentReply { chat: u32 },
    /// The buyer writes again.
    BuyerMessage { chat: u32 },
    /// The agent ends the chat.
    AgentEnd { chat: u32 },
    /// The agent accepts the chat offered to them (offer mode: the
    /// simulated agents accept every offer at once).
    Accept { chat: u32 },
}

/// One visit of a buyer, as this run sees it.
struct Chat {
    buyer: u32,
    visit: u8,
    id: ConversationId,
    arrived: Millis,
    queued: bool,
    placed: bool,
    over: bool,
    agent: Option<u32>,
    messages_left: u32,
    behaviour: Visit,
    /// The agent's stream for this conversation, from its assignment on.
    agent_rng: Option<SmallRng>,
}

/// One agent's tallies.
#[derive(Clone, Debug, Default)]
pub struct AgentObserved {
    /// Time online within the day.
    pub online_ms: Millis,
    /// Its saturation over the day.
    pub saturation: StepSeries,
    /// Distinct buyers received that day (the core's figure).
    pub receptions: u32,
    /// Conversations received that day (the core's figure).
    pub sessions: u32,
    /// Conversations whose reply clock ran (the core's figure).
    pub clocked: u32,
    /// Of those, late ones (the core's figure).
    pub late: u32,
    online_since: Option<Millis>,
}

impl AgentObserved {
    /// The agent's status became `status` at `now`: online time within the
    /// day `start..end` is counted from online (or busy) to offline.
    pub fn status_changed(&mut self, status: AgentStatus, now: Millis, start: Millis, end: Millis) {
        match (status, self.online_since) {
            (AgentStatus::Online | AgentStatus::Busy, None) => self.online_since = Some(now),
            (AgentStatus::Offline, Some(since)) => {
                self.online_ms += (now.min(end) - since.max(start)).max(0);
                self.online_since = None;
            }
            _ => {}
        }
    }

    /// The run is over: an agent still online is counted to the day's end,
    /// and the saturation series is closed.
    pub fn finish(&mut self, start: Millis, end: Millis) {
        if let Some(since) = self.online_since.take() {
            self.online_ms += (end - since.max(start)).max(0);
        }
        self.saturation.finish();
    }
}

/// Everything a variant's run counted, before it is summarised.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// Conversations created (first visits and returns).
    pub inquiries: u32,
    /// Of those, returns.
    pub returns: u32,
    /// Assigned by the inquiry itself.
    pub assigned_at_once: u32,
    /// Queued at some point.
    pub queued: u32,
    /// Left the queue (patience).
    pub abandoned: u32,
    /// Waits of queued conversations that were then placed.
    pub waits_ms: Vec<Millis>,
    /// Placed (at once or from the queue) within the reply target of arriving.
    pub placed_within_target: u32,
    /// Return visits placed with an agent.
    pub returns_placed: u32,
    /// Of those, placed with the agent of the buyer's previous chat.
    pub returns_to_same_agent: u32,
    /// The agent each buyer's first visit was placed with, by buyer.
    pub first_agent: Vec<Option<u32>>,
    /// Queue length over the day.
    pub queue_len: StepSeries,
    /// Per agent, in the scenario's order.
    pub agents: Vec<AgentObserved>,
    /// Wait estimates against real waits.
    pub estimates: WaitEstimates,
}

/// The wait estimate's accuracy: the estimate a conversation was given when
/// it queued, against the wait it really had once placed.
#[derive(Clone, Debug, Default)]
pub struct WaitEstimates {
    pending: HashMap<ConversationId, f64>,
    abs_error_secs: f64,
    compared: u32,
}

impl WaitEstimates {
    /// A conversation queued with this estimate (`None`: none given).
    pub fn queued(&mut self, id: ConversationId, estimate_secs: Option<f64>) {
        if let Some(e) = estimate_secs {
            self.pending.insert(id, e);
        }
    }

    /// A queued conversation was placed after `real_secs`.
    pub fn placed(&mut self, id: ConversationId, real_secs: f64) {
        if let Some(e) = self.pending.remove(&id) {
            self.abs_error_secs += (e - real_secs).abs();
            self.compared += 1;
        }
    }

    /// Mean absolute error in seconds; `None` while nothing was compared.
    pub fn mean_abs_error_secs(&self) -> Option<f64> {
        (self.compared > 0).then(|| self.abs_error_secs / f64::from(self.compared))
    }
}

/// The wait the core estimated for a conversation as it queued: what the
/// inquiry's answer says as `estimated_wait_secs` (none when nobody is
/// online).
pub(crate) fn estimated_wait_secs(shop: &Shop, id: ConversationId, now: Millis) -> Option<f64> {
    let position = shop.position(id, now)?;
    shop.estimated_wait_ms(position, now)
        .map(|ms| ms as f64 / 1000.0)
}

/// Applies a command as a run does: the reply, if it was not refused, and
/// the effects either way (a refused command still hands over what the
/// timers it fired first did).
pub(crate) fn apply(
    shop: &mut Shop,
    cmd: Command,
    now: Millis,
    rng: &mut StdRng,
) -> (Option<Reply>, Effects) {
    match shop.handle(cmd, now, rng) {
        Ok((reply, fx)) => (Some(reply), fx),
        Err(_) => (None, shop.take_effects()),
    }
}

struct Run<'a> {
    sc: &'a Scenario,
    seed: u64,
    buyers: &'a [Buyer],
    shop: Shop,
    rng: StdRng,
    agent_ids: Vec<AgentId>,
    agent_index: HashMap<AgentId, u32>,
    /// Conversations each agent received so far: the ordinal of its stream.
    agent_ordinal: Vec<u64>,
    /// What is under way: every action but the first visits.
    heap: BinaryHeap<Reverse<(Millis, u64, Action)>>,
    /// The next buyer to arrive for the first time (buyers are sorted).
    next_buyer: usize,
    seq: u64,
    chats: Vec<Chat>,
    chat_of: HashMap<ConversationId, u32>,
    /// The agent of each buyer's last placed chat.
    last_agent: Vec<Option<u32>>,
    target_ms: Millis,
    touched: Vec<u32>,
    obs: Observed,
}

/// Runs one variant over the day; `progress` is told of every arrival.
pub fn run(
    sc: &Scenario,
    seed: u64,
    buyers: &[Buyer],
    variant: &Variant,
    progress: &mut dyn FnMut(),
) -> Observed {
    let shop_id = ShopId::parse("sim").expect("a valid shop id");
    let agent_ids: Vec<AgentId> = sc.agents.iter().map(|a| a.id.clone()).collect();
    let mut run = Run {
        sc,
        seed,
        buyers,
        shop: Shop::new(shop_id),
        rng: core_rng(seed),
        agent_index: agent_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i as u32))
            .collect(),
        agent_ordinal: vec![0; agent_ids.len()],
        agent_ids,
        heap: BinaryHeap::new(),
        next_buyer: 0,
        seq: 0,
        chats: Vec::with_capacity(buyers.len() + buyers.len() / 4),
        chat_of: HashMap::with_capacity(buyers.len() + buyers.len() / 4),
        last_agent: vec![None; buyers.len()],
        target_ms: variant.settings.timers.reply_target_secs as Millis * 1000,
        touched: Vec::new(),
        obs: Observed {
            agents: vec![AgentObserved::default(); sc.agents.len()],
            first_agent: vec![None; buyers.len()],
            ..Observed::default()
        },
    };
    run.set_up(variant);
    run.drive(progress);
    run.finish()
}

impl Run<'_> {
    fn schedule(&mut self, at: Millis, action: Action) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, action)));
    }

    /// The shop as the admin console would set it up before the day, and
    /// every agent's shifts (first visits come from the sorted buyers, see
    /// `next_action`).
    fn set_up(&mut self, variant: &Variant) {
        let before = self.sc.day_start - 60_000;
        self.command(
            Command::SetRouting(Box::new(variant.settings.clone())),
            before,
        );
        for spec in &self.sc.agents {
            let upsert = Command::UpsertAgent {
                agent: spec.id.clone(),
                display_name: None,
                weight: Some(spec.weight),
                groups: Some(spec.groups.clone()),
            };
            self.command(upsert, before);
            self.command(Command::SetMaxLoad(spec.id.clone(), spec.max_load), before);
        }
        let sc = self.sc;
        for (i, spec) in sc.agents.iter().enumerate() {
            for shift in &spec.shifts {
                for (minute, online) in [(shift.start_min, true), (shift.end_min, false)] {
                    let at = sc.day_start + Millis::from(minute) * 60_000;
                    let agent = i as u32;
                    self.schedule(at, Action::Shift { agent, online });
                }
            }
        }
    }

    /// The next action: the heap's or the next first visit's, whichever is
    /// earlier (the heap's on a tie). First visits are taken from the sorted
    /// list rather than the heap, which then holds only what is under way:
    /// a heap of the whole day's buyers cost a sixth of the run in `pop`.
    fn next_action(&mut self) -> Option<(Millis, Action)> {
        let heap = self.heap.peek().map(|Reverse((at, _, _))| *at);
        let arrival = self.buyers.get(self.next_buyer).map(|b| b.arrives_at);
        match (heap, arrival) {
            (Some(h), Some(a)) if a < h => {}
            (Some(_), _) => return self.heap.pop().map(|Reverse((at, _, action))| (at, action)),
            (None, None) => return None,
            (None, Some(_)) => {}
        }
        let buyer = self.next_buyer as u32;
        self.next_buyer += 1;
        Some((arrival?, Action::Arrive { buyer, visit: 0 }))
    }

    /// When the next action is due, without taking it.
    fn next_action_at(&self) -> Option<Millis> {
        let heap = self.heap.peek().map(|Reverse((at, _, _))| *at);
        let arrival = self.buyers.get(self.next_buyer).map(|b| b.arrives_at);
        heap.into_iter().chain(arrival).min()
    }

    fn drive(&mut self, progress: &mut dyn FnMut()) {
        let horizon = self.sc.day_end() + OVERTIME_MS;
        let mut last_tick = Millis::MIN;
        while let Some(at) = self.next_action_at() {
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
            let Some((at, action)) = self.next_action() else {
                break;
            };
            if matches!(action, Action::Arrive { .. }) {
                progress();
            }
            self.act(action, at);
        }
    }

    /// Applies a command, taking in what it did. A refusal is not an error
    /// of the run: people do act on stale views (the agent ends a chat the
    /// core already auto-ended).
    fn command(&mut self, cmd: Command, now: Millis) -> Option<Reply> {
        let (reply, fx) = apply(&mut self.shop, cmd, now, &mut self.rng);
        self.absorb(fx, now);
        reply
    }

    fn act(&mut self, action: Action, now: Millis) {
        match action {
            Action::Shift { agent, online } => {
                let status = if online {
                    AgentStatus::Online
                } else {
                    AgentStatus::Offline
                };
                self.command(
                    Command::SetStatus(self.agent_ids[agent as usize].clone(), status),
                    now,
                );
            }
            Action::Arrive { buyer, visit } => self.arrive(buyer, visit, now),
            Action::Accept { chat } => {
                let c = &self.chats[chat as usize];
                if !c.over {
                    self.command(Command::Accept(c.id), now);
                }
            }
            Action::GiveUp { chat } => {
                let c = &self.chats[chat as usize];
                if !c.placed && !c.over {
                    self.command(Command::Cancel(c.id), now);
                }
            }
            Action::AgentReply { chat } => {
                let c = &mut self.chats[chat as usize];
                if c.over {
                    return;
                }
                c.messages_left = c.messages_left.saturating_sub(1);
                let (id, left) = (c.id, c.messages_left);
                self.command(Command::Message(id, Party::Agent), now);
                let c = &mut self.chats[chat as usize];
                if c.over {
                    return;
                }
                if left > 0 {
                    let gap = self.sc.buyers.message_gap.sample_ms(&mut c.behaviour.rng);
                    self.schedule(now + gap, Action::BuyerMessage { chat });
                } else {
                    let after = self.agent_delay(chat, |spec| &spec.end_after);
                    self.schedule(now + after, Action::AgentEnd { chat });
                }
            }
            Action::BuyerMessage { chat } => {
                let c = &self.chats[chat as usize];
                // A buyer whose chat already ended by itself has left; writing
                // again would be a new inquiry, which this model leaves out.
                if c.over {
                    return;
                }
                self.command(Command::Message(c.id, Party::Buyer), now);
                self.schedule_reply(chat, now);
            }
            Action::AgentEnd { chat } => {
                let c = &self.chats[chat as usize];
                if !c.over {
                    self.command(Command::End(c.id, EndReason::Agent), now);
                }
            }
        }
        let queue_len = self.shop.queue_len() as f64;
        self.obs.queue_len.set(now - self.sc.day_start, queue_len);
    }

    fn arrive(&mut self, buyer: u32, visit: u8, now: Millis) {
        let inquiry = self.buyers[buyer as usize].inquiry.clone();
        let behaviour = Visit::draw(self.seed, &self.sc.buyers, buyer as usize, visit);
        let (reply, fx) = apply(
            &mut self.shop,
            Command::Inquire(inquiry),
            now,
            &mut self.rng,
        );
        let Some(reply) = reply else {
            self.absorb(fx, now);
            return;
        };
        if let Reply::Conversation {
            id, created: true, ..
        } = reply
        {
            let index = self.chats.len() as u32;
            self.chats.push(Chat {
                buyer,
                visit,
                id,
                arrived: now,
                queued: false,
                placed: false,
                over: false,
                agent: None,
                messages_left: behaviour.messages,
                behaviour,
                agent_rng: None,
            });
            self.chat_of.insert(id, index);
            self.obs.inquiries += 1;
            if visit > 0 {
                self.obs.returns += 1;
            }
        }
        self.absorb(fx, now);
    }

    /// The agent answers after its own delay for this conversation.
    fn schedule_reply(&mut self, chat: u32, now: Millis) {
        let delay = self.agent_delay(chat, |spec| &spec.reply_delay);
        self.schedule(now + delay, Action::AgentReply { chat });
    }

    /// A delay of the agent of `chat` (which of its distributions `which`
    /// says), drawn from that agent's stream for this conversation and
    /// scaled by its speed.
    fn agent_delay(&mut self, chat: u32, which: impl Fn(&AgentSpec) -> &Dist) -> Millis {
        let c = &mut self.chats[chat as usize];
        let agent = c.agent.expect("a placed chat has an agent") as usize;
        let spec = &self.sc.agents[agent];
        let rng = c
            .agent_rng
            .as_mut()
            .expect("a placed chat has its agent's stream");
        (which(spec).sample_ms(rng) as f64 * spec.speed) as Millis
    }

    /// Takes in the events of a command or a tick.
    fn absorb(&mut self, fx: Effects, now: Millis) {
        for event in fx.events {
            match event {
                Event::Assigned {
                    conversation_id,
                    agent_id,
                    ..
                } => self.assigned(conversation_id, &agent_id, now),
                Event::Queued {
                    conversation_id, ..
                } => {
                    let Some(&chat) = self.chat_of.get(&conversation_id) else {
                        continue;
                    };
                    let c = &mut self.chats[chat as usize];
                    if !c.queued {
                        c.queued = true;
                        self.obs.queued += 1;
                        let patience = c.behaviour.patience_ms;
                        self.schedule(now + patience, Action::GiveUp { chat });
                        let estimate = estimated_wait_secs(&self.shop, conversation_id, now);
                        self.obs.estimates.queued(conversation_id, estimate);
                    }
                }
                Event::Ended {
                    conversation_id,
                    agent_id,
                    ..
                } => {
                    if let Some(a) = agent_id.and_then(|a| self.agent_index.get(&a).copied()) {
                        self.touched.push(a);
                    }
                    let Some(&chat) = self.chat_of.get(&conversation_id) else {
                        continue;
                    };
                    let c = &mut self.chats[chat as usize];
                    c.over = true;
                    let (buyer, visit) = (c.buyer as usize, c.visit);
                    if visit == 0 {
                        if let Some(after) = self.buyers[buyer].returns_after_ms {
                            if now + after < self.sc.day_end() {
                                self.schedule(
                                    now + after,
                                    Action::Arrive {
                                        buyer: buyer as u32,
                                        visit: 1,
                                    },
                                );
                            }
                        }
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
                    for a in [from_agent_id, agent_id] {
                        if let Some(&i) = self.agent_index.get(&a) {
                            self.touched.push(i);
                        }
                    }
                }
                Event::Offered {
                    conversation_id,
                    agent_id,
                    ..
                } => {
                    if let Some(&i) = self.agent_index.get(&agent_id) {
                        self.touched.push(i);
                    }
                    if let Some(&chat) = self.chat_of.get(&conversation_id) {
                        self.schedule(now, Action::Accept { chat });
                    }
                }
                Event::OfferDeclined { agent_id, .. } => {
                    if let Some(&i) = self.agent_index.get(&agent_id) {
                        self.touched.push(i);
                    }
                }
                Event::Requeued { from_agent_id, .. } => {
                    if let Some(&i) = self.agent_index.get(&from_agent_id) {
                        self.touched.push(i);
                    }
                }
                Event::AgentStatus {
                    agent_id, status, ..
                } => {
                    if let Some(&i) = self.agent_index.get(&agent_id) {
                        self.status_changed(i as usize, status, now);
                    }
                }
            }
        }
        let day_start = self.sc.day_start;
        while let Some(a) = self.touched.pop() {
            if let Some(agent) = self.shop.agent(&self.agent_ids[a as usize]) {
                let saturation = agent.saturation().ratio();
                self.obs.agents[a as usize]
                    .saturation
                    .set(now - day_start, saturation);
            }
        }
    }

    fn assigned(&mut self, id: ConversationId, agent_id: &AgentId, now: Millis) {
        let Some(&a) = self.agent_index.get(agent_id) else {
            return;
        };
        self.touched.push(a);
        let Some(&chat) = self.chat_of.get(&id) else {
            return;
        };
        let c = &mut self.chats[chat as usize];
        if c.placed {
            return;
        }
        c.placed = true;
        c.agent = Some(a);
        let wait = now - c.arrived;
        if c.queued {
            self.obs.waits_ms.push(wait);
            self.obs.estimates.placed(id, wait as f64 / 1000.0);
        } else {
            self.obs.assigned_at_once += 1;
        }
        if wait <= self.target_ms {
            self.obs.placed_within_target += 1;
        }
        let buyer = c.buyer as usize;
        if c.visit == 0 {
            self.obs.first_agent[buyer] = Some(a);
        } else {
            self.obs.returns_placed += 1;
            if self.last_agent[buyer] == Some(a) {
                self.obs.returns_to_same_agent += 1;
            }
        }
        self.last_agent[buyer] = Some(a);
        let ordinal = self.agent_ordinal[a as usize];
        self.agent_ordinal[a as usize] += 1;
        c.agent_rng = Some(stream(self.seed, Kind::Agent, u64::from(a), ordinal));
        self.schedule_reply(chat, now);
    }

    fn status_changed(&mut self, agent: usize, status: AgentStatus, now: Millis) {
        let (start, end) = (self.sc.day_start, self.sc.day_end());
        self.obs.agents[agent].status_changed(status, now, start, end);
    }

    fn finish(mut self) -> Observed {
        let (start, end) = (self.sc.day_start, self.sc.day_end());
        for (i, id) in self.agent_ids.iter().enumerate() {
            let a = &mut self.obs.agents[i];
            a.finish(start, end);
            if let Some(day) = self.shop.agent_day(self.sc.day, id) {
                a.receptions = day.receptions;
                a.sessions = day.sessions;
                a.clocked = day.clocked;
                a.late = day.late;
            }
        }
        self.obs.queue_len.finish();
        self.obs
    }
}
