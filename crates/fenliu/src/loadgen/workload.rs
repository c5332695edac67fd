//! What each connection sends: a generator per connection makes the next
//! request of its workload and learns from its answer, keeping the model of
//! the conversations it was acknowledged (what the after-run check compares
//! the target with) and the answers its model did not expect.
//!
//! A connection owns its buyers, their conversations and a share of the
//! agents whose status it changes, so generators share nothing but the
//! read-only [`World`] and need no lock: every change to a conversation the
//! model holds is made by the connection that holds it, except the queue
//! handing a queued one to an agent, which the check allows for.

use std::sync::Arc;

use bytes::Bytes;
use hyper::header::HeaderValue;
use hyper::Method;
use rand::rngs::SmallRng;
use rand::Rng;
use serde::Deserialize;

use crate::loadgen::http::{Answer, TransportError};
use crate::loadgen::setup::World;

/// The kinds of request, for the per-kind counts of the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// A new buyer's inquiry.
    Inquiry,
    /// A returning buyer's inquiry (recent contact may apply).
    ReturnInquiry,
    /// A returning buyer writes to its ended or cancelled conversation: a new inquiry.
    ReturnMessage,
    /// A buyer message on an active conversation.
    BuyerMessage,
    /// An agent message on an active conversation (the agent's token or the service's).
    AgentMessage,
    /// A transfer to a group.
    Transfer,
    /// An end, by the agent or the service.
    End,
    /// A cancel of a queued conversation.
    Cancel,
    /// A read of one conversation (a buyer waiting in the queue looks again).
    Poll,
    /// An agent going online, busy or offline.
    AgentStatus,
    /// A read of the queue or the online agents.
    Read,
}

impl OpKind {
    /// Every kind, in report order.
    pub const ALL: [OpKind; 11] = [
        OpKind::Inquiry,
        OpKind::ReturnInquiry,
        OpKind::ReturnMessage,
        OpKind::BuyerMessage,
        OpKind::AgentMessage,
        OpKind::Transfer,
        OpKind::End,
        OpKind::Cancel,
        OpKind::Poll,
        OpKind::AgentStatus,
        OpKind::Read,
    ];

    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Inquiry => "inquiry",
            OpKind::ReturnInquiry => "return_inquiry",
            OpKind::ReturnMessage => "return_message",
            OpKind::BuyerMessage => "buyer_message",
            OpKind::AgentMessage => "agent_message",
            OpKind::Transfer => "transfer",
            OpKind::End => "end",
            OpKind::Cancel => "cancel",
            OpKind::Poll => "poll",
            OpKind::AgentStatus => "agent_status",
            OpKind::Read => "read",
        }
    }

    /// Its place in [`OpKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Non-2xx answers the workload provokes on purpose: a transfer to a
    /// group with nobody free, a cancel that the queue beat to it. 5xx
    /// answers are counted but not taken as the model's mistakes either (a
    /// cluster answers 503 while a shop moves).
    fn expects(self, status: u16) -> bool {
        (200..300).contains(&status)
            || status >= 500
            || (status == 409 && matches!(self, OpKind::Transfer | OpKind::Cancel))
    }
}

/// One request to send.
pub struct Request {
    /// Its kind.
    pub op: OpKind,
    /// Method.
    pub method: Method,
    /// Path below the target.
    pub path: String,
    /// `Authorization` header.
    pub auth: HeaderValue,
    /// JSON body.
    pub body: Option<Bytes>,
}

/// A conversation's state as an answer showed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// Waiting in the queue.
    Queued,
    /// With this agent.
    Active(Box<str>),
    /// Ended.
    Ended,
    /// Left the queue.
    Cancelled,
}

impl Seen {
    /// The state a conversation answer shows.
    pub fn of(view: &View) -> Option<Seen> {
        Some(match view.status.as_str() {
            "queued" => Seen::Queued,
            "active" => Seen::Active(view.agent_id.as_deref()?.into()),
            "ended" => Seen::Ended,
            "cancelled" => Seen::Cancelled,
            _ => return None,
        })
    }

    /// Whether the target's state `now` can follow what loadgen saw last,
    /// given that nothing but the queue (and, after 15 idle minutes, auto
    /// end) changes a conversation behind its connection's back.
    pub fn may_become(&self, now: &Seen) -> bool {
        match (self, now) {
            (Seen::Queued, Seen::Queued | Seen::Active(_) | Seen::Ended) => true,
            (Seen::Active(a), Seen::Active(b)) => a == b,
            (Seen::Active(_), Seen::Ended) => true,
            (Seen::Ended, Seen::Ended) | (Seen::Cancelled, Seen::Cancelled) => true,
            _ => false,
        }
    }

    /// The status word.
    pub fn status(&self) -> &str {
        match self {
            Seen::Queued => "queued",
            Seen::Active(_) => "active",
            Seen::Ended => "ended",
            Seen::Cancelled => "cancelled",
        }
    }
}

impl std::fmt::Display for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Seen::Active(agent) => write!(f, "active with {agent}"),
            other => f.write_str(other.status()),
        }
    }
}

/// The part of a conversation answer the model reads.
#[derive(Debug, Deserialize)]
pub struct View {
    /// Its id.
    pub conversation_id: String,
    /// `queued`, `active`, `ended` or `cancelled`.
    pub status: String,
    /// Its agent, when it has one.
    #[serde(default)]
    pub agent_id: Option<String>,
}

fn view_of(answer: &Answer) -> Option<View> {
    serde_json::from_slice(&answer.body).ok()
}

/// A conversation the target acknowledged, and what loadgen saw of it last.
#[derive(Debug)]
pub struct Ack {
    /// Index of its shop in [`World::shops`].
    pub shop: u32,
    /// Its id.
    pub id: Box<str>,
    /// Its state in the last answer about it.
    pub seen: Seen,
    /// A later request about it got no answer, so its state is unknown: the
    /// check only asks that it exists.
    pub uncertain: bool,
}

/// Answers the model did not expect: a few described, all counted.
#[derive(Debug, Default)]
pub struct Unexpected {
    /// How many.
    pub count: u64,
    /// The first few, described.
    pub samples: Vec<String>,
}

/// Samples of unexpected answers kept per connection.
const MAX_SAMPLES: usize = 5;

impl Unexpected {
    fn note(&mut self, what: impl FnOnce() -> String) {
        self.count += 1;
        if self.samples.len() < MAX_SAMPLES {
            self.samples.push(what());
        }
    }

    fn answer(&mut self, req: &Req, answer: &Answer) {
        self.note(|| {
            let body = String::from_utf8_lossy(&answer.body);
            let body: String = body.chars().take(200).collect();
            format!(
                "{} {} answered {}: {body}",
                req.method, req.path, answer.status
            )
        });
    }
}

/// What a generator hands back after the run.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Every conversation acknowledged, as last seen.
    pub acks: Vec<Ack>,
    /// Answers the model did not expect.
    pub unexpected: Unexpected,
}

/// A connection's source of requests.
pub trait Generator: Send {
    /// The next request.
    fn next(&mut self, rng: &mut SmallRng) -> Request;
    /// The answer to the request [`Generator::next`] made last.
    fn observe(&mut self, answer: Result<&Answer, &TransportError>);
    /// The acknowledged conversations and the unexpected answers.
    fn finish(self: Box<Self>) -> Outcome;
}

/// Method and path of the request in flight, for describing its answer.
struct Req {
    method: Method,
    path: String,
}

fn request(
    op: OpKind,
    method: Method,
    path: String,
    auth: &HeaderValue,
    body: Option<String>,
) -> Request {
    Request {
        op,
        method,
        path,
        auth: auth.clone(),
        body: body.map(Bytes::from),
    }
}

/// Every request a new buyer's inquiry, the shops taken in turn. `keep:
/// false` (the baseline) parses the answers as for the target but keeps
/// nothing.
pub struct Inquiries {
    world: Arc<World>,
    conn: u32,
    n: u64,
    keep: bool,
    last: Option<(u32, Req)>,
    out: Outcome,
}

impl Inquiries {
    /// The generator of connection `conn`.
    pub fn new(world: Arc<World>, conn: u32, keep: bool) -> Inquiries {
        Inquiries {
            world,
            conn,
            n: 0,
            keep,
            last: None,
            out: Outcome::default(),
        }
    }

    fn inquiry(&mut self) -> Request {
        let shop = (self.conn as usize + self.n as usize) % self.world.shops.len();
        let body = format!(
            r#"{{"buyer_id":"{}-{}-{}","entry":"product_detail"}}"#,
            self.world.run_tag, self.conn, self.n
        );
        self.n += 1;
        let path = format!("{}/inquiries", self.world.shop_paths[shop]);
        self.last = Some((
            shop as u32,
            Req {
                method: Method::POST,
                path: path.clone(),
            },
        ));
        request(
            OpKind::Inquiry,
            Method::POST,
            path,
            &self.world.service,
            Some(body),
        )
    }

    /// Records an inquiry's answer; the index of its ack when one was kept.
    fn inquired(&mut self, answer: Result<&Answer, &TransportError>) -> Option<usize> {
        let (shop, req) = self.last.take()?;
        let answer = answer.ok()?;
        if !OpKind::Inquiry.expects(answer.status) {
            self.out.unexpected.answer(&req, answer);
            return None;
        }
        if !(200..300).contains(&answer.status) {
            return None;
        }
        let Some((view, seen)) = view_of(answer).and_then(|v| Seen::of(&v).map(|s| (v, s))) else {
            self.out.unexpected.answer(&req, answer);
            return None;
        };
        if !self.keep {
            return None;
        }
        self.out.acks.push(Ack {
            shop,
            id: view.conversation_id.into(),
            seen,
            uncertain: false,
        });
        Some(self.out.acks.len() - 1)
    }
}

impl Generator for Inquiries {
    fn next(&mut self, _rng: &mut SmallRng) -> Request {
        self.inquiry()
    }

    fn observe(&mut self, answer: Result<&Answer, &TransportError>) {
        self.inquired(answer);
    }

    fn finish(self: Box<Self>) -> Outcome {
        self.out
    }
}

/// A day's work: each new buyer's inquiry, then, if it was assigned, its end
/// by the service (a queued one is cancelled instead).
pub struct Day {
    inquiries: Inquiries,
    /// The conversation to close next, and whether it is an end (or a cancel).
    close: Option<(usize, bool)>,
    closing: Option<(usize, Req)>,
}

impl Day {
    /// The generator of connection `conn`.
    pub fn new(world: Arc<World>, conn: u32) -> Day {
        Day {
            inquiries: Inquiries::new(world, conn, true),
            close: None,
            closing: None,
        }
    }
}

impl Generator for Day {
    fn next(&mut self, _rng: &mut SmallRng) -> Request {
        let Some((i, end)) = self.close.take() else {
            return self.inquiries.inquiry();
        };
        let world = &self.inquiries.world;
        let ack = &self.inquiries.out.acks[i];
        let (op, verb) = if end {
            (OpKind::End, "end")
        } else {
            (OpKind::Cancel, "cancel")
        };
        let path = format!(
            "{}/conversations/{}/{verb}",
            world.shop_paths[ack.shop as usize], ack.id
        );
        self.closing = Some((
            i,
            Req {
                method: Method::POST,
                path: path.clone(),
            },
        ));
        request(op, Method::POST, path, &world.service, None)
    }

    fn observe(&mut self, answer: Result<&Answer, &TransportError>) {
        let Some((i, req)) = self.closing.take() else {
            if let Some(i) = self.inquiries.inquired(answer) {
                match self.inquiries.out.acks[i].seen {
                    Seen::Active(_) => self.close = Some((i, true)),
                    Seen::Queued => self.close = Some((i, false)),
                    _ => {}
                }
            }
            return;
        };
        let out = &mut self.inquiries.out;
        match answer {
            Ok(a) if (200..300).contains(&a.status) => {
                match view_of(a).as_ref().and_then(Seen::of) {
                    Some(seen) => out.acks[i].seen = seen,
                    None => out.unexpected.answer(&req, a),
                }
            }
            // A cancel the queue beat: the conversation is active now; end it.
            Ok(a) if a.status == 409 && req.path.ends_with("/cancel") => {
                self.close = Some((i, true));
            }
            Ok(a) => {
                if !OpKind::End.expects(a.status) {
                    out.unexpected.answer(&req, a);
                }
                out.acks[i].uncertain = true;
            }
            Err(_) => out.acks[i].uncertain = true,
        }
    }

    fn finish(self: Box<Self>) -> Outcome {
        self.inquiries.out
    }
}

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
        auth: HeaderValue,
        body: Option<String>,
    ) -> Request {
        self.pending = Some((
            op,
            what,
            Req {
                method: method.clone(),
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
    fn owner(&self, c: usize) -> Option<(usize, HeaderValue)> {
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
                Method::GET,
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
                    Method::POST,
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
                            Method::POST,
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
                            Method::POST,
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
                    Method::POST,
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
                    Method::POST,
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
                    Method::POST,
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
                    Method::POST,
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
                    Method::POST,
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
                    Method::GET,
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
                    Method::PUT,
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
                    Method::GET,
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

    use rand::SeedableRng;

    use super::*;
    use crate::cli::WorkloadKind;

    fn world(kind: WorkloadKind, shops: u32, agents: u32, max_load: u32) -> Arc<World> {
        Arc::new(
            World::new(
                kind,
                "secret",
                "t",
                shops,
                agents,
                max_load,
                Duration::from_secs(60),
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

    #[test]
    fn a_queued_conversation_may_be_placed_or_end_but_not_cancel_behind_loadgens_back() {
        let queued = Seen::Queued;
        assert!(queued.may_become(&Seen::Queued));
        assert!(queued.may_become(&Seen::Active("a1".into())));
        assert!(queued.may_become(&Seen::Ended));
        assert!(!queued.may_become(&Seen::Cancelled));
    }

    #[test]
    fn an_active_conversation_keeps_its_agent_until_it_ends() {
        let active = Seen::Active("a1".into());
        assert!(active.may_become(&Seen::Active("a1".into())));
        assert!(active.may_become(&Seen::Ended));
        assert!(!active.may_become(&Seen::Active("a2".into())));
        assert!(!active.may_become(&Seen::Queued));
        assert!(!active.may_become(&Seen::Cancelled));
    }

    #[test]
    fn ended_and_cancelled_conversations_stay_so() {
        for closed in [Seen::Ended, Seen::Cancelled] {
            assert!(closed.may_become(&closed));
            assert!(!closed.may_become(&Seen::Queued));
            assert!(!closed.may_become(&Seen::Active("a1".into())));
        }
        assert!(!Seen::Ended.may_become(&Seen::Cancelled));
    }

    #[test]
    fn a_client_error_is_unexpected_but_a_server_error_is_only_counted() {
        let mut gen = Inquiries::new(world(WorkloadKind::Inquiries, 1, 1, 1), 0, true);
        let mut rng = SmallRng::seed_from_u64(1);

        gen.next(&mut rng);
        gen.observe(Ok(&answer(400, serde_json::json!({"error": {}}))));
        gen.next(&mut rng);
        gen.observe(Ok(&answer(503, serde_json::json!({"error": {}}))));
        gen.next(&mut rng);
        let ok =
            serde_json::json!({"conversation_id": "c-1", "status": "active", "agent_id": "a1"});
        gen.observe(Ok(&answer(201, ok)));

        let out = Box::new(gen).finish();
        assert_eq!(out.unexpected.count, 1);
        assert!(
            out.unexpected.samples[0].contains("answered 400"),
            "{:?}",
            out.unexpected.samples
        );
        assert_eq!(out.acks.len(), 1);
        assert_eq!(out.acks[0].seen, Seen::Active("a1".into()));
    }

    #[test]
    fn inquiries_spread_over_the_shops_in_turn_with_distinct_buyers() {
        let mut gen = Inquiries::new(world(WorkloadKind::Inquiries, 3, 1, 1), 0, true);
        let mut rng = SmallRng::seed_from_u64(1);

        let reqs: Vec<Request> = (0..6).map(|_| gen.next(&mut rng)).collect();

        let shops: Vec<&str> = reqs
            .iter()
            .map(|r| r.path.split('/').nth(3).unwrap())
            .collect();
        assert_eq!(shops, ["t-1", "t-2", "t-3", "t-1", "t-2", "t-3"]);
        let mut bodies: Vec<&Bytes> = reqs.iter().map(|r| r.body.as_ref().unwrap()).collect();
        bodies.dedup();
        assert_eq!(bodies.len(), 6);
    }

    #[test]
    fn a_day_ends_each_assigned_conversation_and_cancels_a_queued_one() {
        let mut gen = Day::new(world(WorkloadKind::Day, 1, 1, 1), 0);
        let mut rng = SmallRng::seed_from_u64(1);
        let active =
            serde_json::json!({"conversation_id": "c-1", "status": "active", "agent_id": "a1"});
        let queued = serde_json::json!({"conversation_id": "c-2", "status": "queued"});

        assert_eq!(gen.next(&mut rng).op, OpKind::Inquiry);
        gen.observe(Ok(&answer(201, active)));
        let end = gen.next(&mut rng);
        gen.observe(Ok(&answer(
            200,
            serde_json::json!({"conversation_id": "c-1", "status": "ended"}),
        )));
        assert_eq!(gen.next(&mut rng).op, OpKind::Inquiry);
        gen.observe(Ok(&answer(201, queued)));
        let cancel = gen.next(&mut rng);

        assert_eq!(
            (end.op, end.path.as_str()),
            (OpKind::End, "/v1/shops/t-1/conversations/c-1/end")
        );
        assert_eq!(cancel.op, OpKind::Cancel);
        assert!(cancel.path.ends_with("/conversations/c-2/cancel"));
        let out = Box::new(gen).finish();
        assert_eq!(out.acks[0].seen, Seen::Ended);
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
        let mut gen = Mix::new(world(WorkloadKind::Mix, 2, 3, 2), 0, 1);
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
        let mut gen = Mix::new(world(WorkloadKind::Mix, 1, 8, 5), 0, 1);
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
