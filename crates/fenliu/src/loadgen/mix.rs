//! The realistic mix: one connection's buyers over many shops, their
//! conversations as the target last showed them, and the share of agents
//! whose status it changes; each request drawn at random among what that
//! state allows.

use std::sync::Arc;

use bytes::Bytes;
use rand::rngs::SmallRng;
use rand::Rng;

use crate::loadgen::http::{Answer, Method, TransportError};
use crate::loadgen::setup::World;
use crate::loadgen::workload::{
    request, view_of, Ack, Generator, OpKind, Outcome, Req, Request, Seen, View,
};

/// Entries of the mix's inquiries.
const ENTRIES: [&str; 5] = [
    "product_detail",
    "order_detail",
    "direct_message",
    "live",
    "other",
];
/// Order states of the mix's inquiries (half of them carry none).
const ORDER_STATES: [&str; 5] = ["none", "unpaid", "unshipped", "shipped", "after_sale"];
/// Buyers a mix connection keeps to come back.
const RETURNING_POOL: usize = 32;

/// A conversation of a mix connection.
struct Conv {
    buyer: usize,
    ack: usize,
}

/// A buyer of a mix connection.
struct Buyer {
    shop: u32,
    id: Box<str>,
    /// Its last conversation (an index into `convs`).
    last: Option<usize>,
}

/// An agent whose status this connection changes.
struct MyAgent {
    shop: usize,
    agent: usize,
    online: bool,
}

/// What the request in flight was about.
#[derive(Clone, Copy)]
enum Pending {
    Inquiry(usize),
    Conversation(usize),
    Status(usize, bool),
    Read,
}

/// The realistic mix: new and returning buyers over many shops, buyer and
/// agent messages, transfers to groups, ends by agents and the service,
/// cancels and looks at the queue, agents going busy or offline and coming
/// back. A connection keeps at most `cap` conversations open, a little over
/// its share of the shops' capacity, so that the queue fills and drains.
pub struct Mix {
    world: Arc<World>,
    conn: u32,
    cap: usize,
    n: u64,
    buyers: Vec<Buyer>,
    convs: Vec<Conv>,
    /// Open conversations as last seen (indexes into `convs`).
    active: Vec<usize>,
    queued: Vec<usize>,
    /// Buyers with no open conversation who may come back.
    returning: Vec<usize>,
    agents: Vec<MyAgent>,
    /// A request the last answer calls for (a look at a conversation the
    /// queue may have assigned), sent before any other.
    follow_up: Option<usize>,
    pending: Option<(OpKind, Pending, Req)>,
    out: Outcome,
}

impl Mix {
    /// The generator of connection `conn` of `conns`.
    pub fn new(world: Arc<World>, conn: u32, conns: u32) -> Mix {
        let agents_per_shop = world.agents.len();
        let total_agents = world.shops.len() * agents_per_shop;
        let agents = (conn as usize..total_agents)
            .step_by(conns as usize)
            .map(|j| MyAgent {
                shop: j / agents_per_shop,
                agent: j % agents_per_shop,
                online: true,
            })
            .collect();
        let capacity = total_agents * world.max_load as usize;
        let cap = (capacity * 6 / 5).div_ceil(conns as usize) + 2;
        Mix {
            world,
            conn,
            cap,
            n: 0,
            buyers: Vec::new(),
            convs: Vec::new(),
            active: Vec::new(),
            queued: Vec::new(),
            returning: Vec::new(),
            agents,
            follow_up: None,
            pending: None,
            out: Outcome::default(),
        }
    }

    fn conv_path(&self, c: usize) -> String {
        let ack = &self.out.acks[self.convs[c].ack];
        format!(
            "{}/conversations/{}",
            self.world.shop_paths[ack.shop as usize], ack.id
        )
    }

    fn seen(&self, c: usize) -> &Seen {
        &self.out.acks[self.convs[c].ack].seen
    }

    fn send(
        &mut self,
        op: OpKind,
        what: Pending,
        method: Method,
        path: String,
        auth: Bytes,
        body: Option<String>,
    ) -> Request {
        self.pending = Some((
            op,
            what,
            Req {
                method,
                path: path.clone(),
            },
        ));
        request(op, method, path, &auth, body)
    }

    fn inquiry_body(&self, rng: &mut SmallRng, buyer: usize) -> String {
        let entry = ENTRIES[rng.random_range(0..ENTRIES.len())];
        let buyer = &self.buyers[buyer].id;
        if rng.random_bool(0.5) {
            let state = ORDER_STATES[rng.random_range(0..ORDER_STATES.len())];
            format!(r#"{{"buyer_id":"{buyer}","entry":"{entry}","order_state":"{state}"}}"#)
        } else {
            format!(r#"{{"buyer_id":"{buyer}","entry":"{entry}"}}"#)
        }
    }

    /// The agent index and token of an active conversation's agent, when the
    /// agent is one of this run's.
    fn owner(&self, c: usize) -> Option<(usize, Bytes)> {
        let Seen::Active(agent) = self.seen(c) else {
            return None;
        };
        let shop = self.out.acks[self.convs[c].ack].shop as usize;
        let i = self.world.agent_index(agent)?;
        Some((i, self.world.agent_token(shop, i).clone()))
    }

    /// Moves a conversation between the open lists after an answer showed
    /// it `seen`; a closed one's buyer may come back.
    fn saw(&mut self, c: usize, seen: Seen) {
        let ack = self.convs[c].ack;
        self.active.retain(|&x| x != c);
        self.queued.retain(|&x| x != c);
        match seen {
            Seen::Active(_) => self.active.push(c),
            Seen::Queued => self.queued.push(c),
            Seen::Ended | Seen::Cancelled => self.retire(self.convs[c].buyer),
        }
        self.out.acks[ack].seen = seen;
    }

    fn retire(&mut self, buyer: usize) {
        if self.returning.len() < RETURNING_POOL {
            self.returning.push(buyer);
        } else {
            let slot = self.n as usize % RETURNING_POOL;
            self.returning[slot] = buyer;
        }
    }

    /// A conversation whose state is no longer known (its request got no
    /// answer): it leaves the model; the check asks only that it exists.
    fn forget(&mut self, c: usize) {
        self.active.retain(|&x| x != c);
        self.queued.retain(|&x| x != c);
        let ack = self.convs[c].ack;
        self.out.acks[ack].uncertain = true;
    }

    /// A conversation answer for buyer `buyer` (an inquiry, or a message that
    /// may have opened a new conversation): the conversation it names.
    fn conversation(&mut self, buyer: usize, view: &View, seen: Seen) {
        let known = self.buyers[buyer]
            .last
            .filter(|&c| *self.out.acks[self.convs[c].ack].id == *view.conversation_id);
        let c = match known {
            Some(c) => c,
            None => {
                self.out.acks.push(Ack {
                    shop: self.buyers[buyer].shop,
                    id: view.conversation_id.as_str().into(),
                    seen: seen.clone(),
                    uncertain: false,
                });
                self.convs.push(Conv {
                    buyer,
                    ack: self.out.acks.len() - 1,
                });
                let c = self.convs.len() - 1;
                self.buyers[buyer].last = Some(c);
                c
            }
        };
        self.saw(c, seen);
    }

    fn new_buyer(&mut self, rng: &mut SmallRng) -> usize {
        let shop = rng.random_range(0..self.world.shops.len()) as u32;
        let id = format!("{}-{}-{}", self.world.run_tag, self.conn, self.n);
        self.n += 1;
        self.buyers.push(Buyer {
            shop,
            id: id.into(),
            last: None,
        });
        self.buyers.len() - 1
    }
}

/// What the mix does next, before it is applied to a conversation.
#[derive(Clone, Copy)]
enum Choice {
    New,
    Return,
    BuyerMessage,
    AgentMessage,
    Transfer,
    End,
    Cancel,
    Poll,
    Status,
    Read,
}

impl Generator for Mix {
    fn next(&mut self, rng: &mut SmallRng) -> Request {
        if let Some(c) = self.follow_up.take() {
            let path = self.conv_path(c);
            let auth = self.world.service.clone();
            return self.send(
                OpKind::Poll,
                Pending::Conversation(c),
                Method::Get,
                path,
                auth,
                None,
            );
        }
        let open = self.active.len() + self.queued.len();
        let room = open < self.cap;
        let active = !self.active.is_empty();
        let queued = !self.queued.is_empty();
        let weights = [
            (if room { 30 } else { 0 }, Choice::New),
            (
                if room && !self.returning.is_empty() {
                    8
                } else {
                    0
                },
                Choice::Return,
            ),
            (if active { 14 } else { 0 }, Choice::BuyerMessage),
            (if active { 14 } else { 0 }, Choice::AgentMessage),
            (
                if active && !self.world.groups.is_empty() {
                    3
                } else {
                    0
                },
                Choice::Transfer,
            ),
            (if active { 12 } else { 0 }, Choice::End),
            (if queued { 3 } else { 0 }, Choice::Cancel),
            (if queued { 6 } else { 0 }, Choice::Poll),
            (if self.agents.is_empty() { 0 } else { 1 }, Choice::Status),
            (2, Choice::Read),
        ];
        let total: u32 = weights.iter().map(|(w, _)| w).sum();
        let mut x = rng.random_range(0..total);
        let mut choice = Choice::Read;
        for (w, c) in weights {
            if x < w {
                choice = c;
                break;
            }
            x -= w;
        }
        let service = self.world.service.clone();
        let pick = |list: &Vec<usize>, rng: &mut SmallRng| list[rng.random_range(0..list.len())];
        match choice {
            Choice::New => {
                let b = self.new_buyer(rng);
                let path = format!(
                    "{}/inquiries",
                    self.world.shop_paths[self.buyers[b].shop as usize]
                );
                let body = self.inquiry_body(rng, b);
                self.send(
                    OpKind::Inquiry,
                    Pending::Inquiry(b),
                    Method::Post,
                    path,
                    service,
                    Some(body),
                )
            }
            Choice::Return => {
                let slot = rng.random_range(0..self.returning.len());
                let b = self.returning.swap_remove(slot);
                match self.buyers[b].last {
                    Some(c) if rng.random_bool(0.5) => {
                        let path = format!("{}/messages", self.conv_path(c));
                        let body = r#"{"from":"buyer"}"#.to_owned();
                        self.send(
                            OpKind::ReturnMessage,
                            Pending::Inquiry(b),
                            Method::Post,
                            path,
                            service,
                            Some(body),
                        )
                    }
                    _ => {
                        let path = format!(
                            "{}/inquiries",
                            self.world.shop_paths[self.buyers[b].shop as usize]
                        );
                        let body = self.inquiry_body(rng, b);
                        self.send(
                            OpKind::ReturnInquiry,
                            Pending::Inquiry(b),
                            Method::Post,
                            path,
                            service,
                            Some(body),
                        )
                    }
                }
            }
            Choice::BuyerMessage => {
                let c = pick(&self.active, rng);
                let path = format!("{}/messages", self.conv_path(c));
                let body = r#"{"from":"buyer"}"#.to_owned();
                self.send(
                    OpKind::BuyerMessage,
                    Pending::Conversation(c),
                    Method::Post,
                    path,
                    service,
                    Some(body),
                )
            }
            Choice::AgentMessage => {
                let c = pick(&self.active, rng);
                let path = format!("{}/messages", self.conv_path(c));
                let auth = match self.owner(c) {
                    Some((_, token)) if rng.random_bool(0.5) => token,
                    _ => service,
                };
                let body = r#"{"from":"agent"}"#.to_owned();
                self.send(
                    OpKind::AgentMessage,
                    Pending::Conversation(c),
                    Method::Post,
                    path,
                    auth,
                    Some(body),
                )
            }
            Choice::Transfer => {
                let c = pick(&self.active, rng);
                let path = format!("{}/transfer", self.conv_path(c));
                let group = &self.world.groups[rng.random_range(0..self.world.groups.len())];
                let body = format!(r#"{{"to_group":"{group}"}}"#);
                self.send(
                    OpKind::Transfer,
                    Pending::Conversation(c),
                    Method::Post,
                    path,
                    service,
                    Some(body),
                )
            }
            Choice::End => {
                let c = pick(&self.active, rng);
                let path = format!("{}/end", self.conv_path(c));
                let auth = match self.owner(c) {
                    Some((_, token)) if rng.random_bool(0.5) => token,
                    _ => service,
                };
                self.send(
                    OpKind::End,
                    Pending::Conversation(c),
                    Method::Post,
                    path,
                    auth,
                    None,
                )
            }
            Choice::Cancel => {
                let c = pick(&self.queued, rng);
                let path = format!("{}/cancel", self.conv_path(c));
                self.send(
                    OpKind::Cancel,
                    Pending::Conversation(c),
                    Method::Post,
                    path,
                    service,
                    None,
                )
            }
            Choice::Poll => {
                let c = pick(&self.queued, rng);
                let path = self.conv_path(c);
                self.send(
                    OpKind::Poll,
                    Pending::Conversation(c),
                    Method::Get,
                    path,
                    service,
                    None,
                )
            }
            Choice::Status => {
                // About a quarter of this connection's agents away at a time.
                let away = self.agents.iter().filter(|a| !a.online).count();
                let go_away = away * 4 < self.agents.len();
                let candidates: Vec<usize> = (0..self.agents.len())
                    .filter(|&i| self.agents[i].online == go_away)
                    .collect();
                let i = candidates[rng.random_range(0..candidates.len())];
                let status = match (go_away, rng.random_bool(0.5)) {
                    (false, _) => "online",
                    (true, true) => "busy",
                    (true, false) => "offline",
                };
                let a = &self.agents[i];
                let path = format!(
                    "{}/agents/{}/status",
                    self.world.shop_paths[a.shop], self.world.agents[a.agent]
                );
                let auth = if rng.random_bool(0.5) {
                    self.world.agent_token(a.shop, a.agent).clone()
                } else {
                    service
                };
                let body = format!(r#"{{"status":"{status}"}}"#);
                self.send(
                    OpKind::AgentStatus,
                    Pending::Status(i, !go_away),
                    Method::Put,
                    path,
                    auth,
                    Some(body),
                )
            }
            Choice::Read => {
                let shop = rng.random_range(0..self.world.shops.len());
                let path = if rng.random_bool(0.5) {
                    format!("{}/queue?limit=10", self.world.shop_paths[shop])
                } else {
                    format!(
                        "{}/agents?status=online&limit=50",
                        self.world.shop_paths[shop]
                    )
                };
                self.send(
                    OpKind::Read,
                    Pending::Read,
                    Method::Get,
                    path,
                    service,
                    None,
                )
            }
        }
    }

    fn observe(&mut self, answer: Result<&Answer, &TransportError>) {
        let Some((op, what, req)) = self.pending.take() else {
            return;
        };
        let answer = match answer {
            Ok(a) => a,
            Err(_) => {
                if let Pending::Conversation(c) = what {
                    self.forget(c);
                }
                return;
            }
        };
        if !op.expects(answer.status) {
            self.out.unexpected.answer(&req, answer);
        }
        let ok = (200..300).contains(&answer.status);
        match what {
            Pending::Read => {}
            Pending::Status(i, online) => {
                if ok {
                    self.agents[i].online = online;
                }
            }
            Pending::Inquiry(b) => {
                if !ok {
                    return;
                }
                match view_of(answer).and_then(|v| Seen::of(&v).map(|s| (v, s))) {
                    Some((view, seen)) => self.conversation(b, &view, seen),
                    None => self.out.unexpected.answer(&req, answer),
                }
            }
            Pending::Conversation(c) => {
                if answer.status == 409 && op == OpKind::Cancel {
                    // The queue gave it to an agent first: look at it.
                    self.follow_up = Some(c);
                    return;
                }
                if !ok {
                    if answer.status >= 500 {
                        self.forget(c);
                    }
                    return;
                }
                let Some((view, seen)) = view_of(answer).and_then(|v| Seen::of(&v).map(|s| (v, s)))
                else {
                    self.out.unexpected.answer(&req, answer);
                    return;
                };
                let buyer = self.convs[c].buyer;
                if *view.conversation_id == *self.out.acks[self.convs[c].ack].id {
                    self.saw(c, seen);
                } else {
                    // A buyer message after an auto end opened a new conversation.
                    self.saw(c, Seen::Ended);
                    self.conversation(buyer, &view, seen);
                }
            }
        }
    }

    fn finish(self: Box<Self>) -> Outcome {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use rand::SeedableRng;

    use super::*;
    use crate::cli::WorkloadKind;

    fn world(shops: u32, agents: u32, max_load: u32) -> Arc<World> {
        let ttl = Duration::from_secs(60);
        Arc::new(
            World::new(
                WorkloadKind::Mix,
                "secret",
                "t",
                shops,
                agents,
                max_load,
                ttl,
            )
            .unwrap(),
        )
    }

    fn answer(status: u16, body: serde_json::Value) -> Answer {
        Answer {
            status,
            body: Bytes::from(body.to_string()),
        }
    }

    /// The conversation id in a request path `.../conversations/{id}[/verb]`.
    fn conversation_of(path: &str) -> &str {
        path.split("/conversations/")
            .nth(1)
            .unwrap()
            .split('/')
            .next()
            .unwrap()
    }

    /// Answers a mix request as a target whose agents never take anything:
    /// every inquiry queued, every cancel done.
    fn queue_everything(req: &Request, n: &mut u32) -> Answer {
        let conversation =
            |id: &str, status: &str| serde_json::json!({"conversation_id": id, "status": status});
        match req.op {
            OpKind::Inquiry | OpKind::ReturnInquiry | OpKind::ReturnMessage => {
                *n += 1;
                answer(201, conversation(&format!("c-{n}"), "queued"))
            }
            OpKind::Cancel => answer(200, conversation(conversation_of(&req.path), "cancelled")),
            OpKind::Poll => answer(200, conversation(conversation_of(&req.path), "queued")),
            _ => answer(200, serde_json::json!({})),
        }
    }

    #[test]
    fn a_mix_connection_keeps_at_most_its_cap_of_conversations_open() {
        // 2 shops x 3 agents x max load 2 = 12 slots; one connection may keep
        // 14 (12 x 6/5, rounded down) + 2 = 16 open.
        let mut gen = Mix::new(world(2, 3, 2), 0, 1);
        let mut rng = SmallRng::seed_from_u64(7);
        let mut n = 0;
        let mut most = 0;

        for _ in 0..2_000 {
            let req = gen.next(&mut rng);
            gen.observe(Ok(&queue_everything(&req, &mut n)));
            most = most.max(gen.active.len() + gen.queued.len());
        }

        assert_eq!(gen.cap, 16);
        assert_eq!(most, gen.cap);
        let out = Box::new(gen).finish();
        assert_eq!(out.unexpected.count, 0, "{:?}", out.unexpected.samples);
        assert!(out.acks.iter().any(|a| a.seen == Seen::Cancelled));
    }

    #[test]
    fn a_mix_transfers_to_groups_only() {
        let mut gen = Mix::new(world(1, 8, 5), 0, 1);
        let mut rng = SmallRng::seed_from_u64(3);
        let mut n = 0;
        let mut transfers = 0;

        for _ in 0..3_000 {
            let req = gen.next(&mut rng);
            let reply = match req.op {
                OpKind::Inquiry | OpKind::ReturnInquiry | OpKind::ReturnMessage => {
                    n += 1;
                    answer(
                        201,
                        serde_json::json!({"conversation_id": format!("c-{n}"), "status": "active", "agent_id": "a1"}),
                    )
                }
                OpKind::Transfer => {
                    transfers += 1;
                    let body: serde_json::Value =
                        serde_json::from_slice(req.body.as_ref().unwrap()).unwrap();
                    assert!(body.get("to_agent").is_none(), "{body}");
                    assert!(
                        ["g1", "g2", "g3", "g4"].contains(&body["to_group"].as_str().unwrap()),
                        "{body}"
                    );
                    answer(409, serde_json::json!({"error": {"code": "conflict"}}))
                }
                OpKind::End => answer(
                    200,
                    serde_json::json!({"conversation_id": conversation_of(&req.path), "status": "ended", "agent_id": "a1"}),
                ),
                _ if req.path.contains("/conversations/") => answer(
                    200,
                    serde_json::json!({"conversation_id": conversation_of(&req.path), "status": "active", "agent_id": "a1"}),
                ),
                _ => answer(200, serde_json::json!({})),
            };
            gen.observe(Ok(&reply));
        }

        assert!(transfers > 0);
    }
}
