//! What each connection sends: a generator per connection makes the next
//! request of its workload and learns from its answer, keeping the model of
//! the conversations it was acknowledged (what the after-run check compares
//! the target with) and the answers its model did not expect. This module
//! has the generators' common types and the `inquiries` and `day`
//! workloads; the mix is in [`super::mix`].
//!
//! A connection owns its buyers, their conversations and a share of the
//! agents whose status it changes, so generators share nothing but the
//! read-only [`World`] and need no lock: every change to a conversation the
//! model holds is made by the connection that holds it, except the queue
//! handing a queued one to an agent, which the check allows for.

use std::sync::Arc;

use bytes::Bytes;
use rand::rngs::SmallRng;
use serde::Deserialize;

use crate::loadgen::http::{Answer, Method, TransportError};
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
    pub(super) fn expects(self, status: u16) -> bool {
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
    pub auth: Bytes,
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

pub(super) fn view_of(answer: &Answer) -> Option<View> {
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

    pub(super) fn answer(&mut self, req: &Req, answer: &Answer) {
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
pub(super) struct Req {
    pub(super) method: Method,
    pub(super) path: String,
}

pub(super) fn request(
    op: OpKind,
    method: Method,
    path: String,
    auth: &Bytes,
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
                method: Method::Post,
                path: path.clone(),
            },
        ));
        request(
            OpKind::Inquiry,
            Method::Post,
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
                method: Method::Post,
                path: path.clone(),
            },
        ));
        request(op, Method::Post, path, &world.service, None)
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
}
