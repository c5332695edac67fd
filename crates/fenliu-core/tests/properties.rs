//! Properties that hold after every step of any command sequence: loads and
//! unreplied counts match the conversations, one open conversation per
//! buyer, the queue is exactly the queued conversations, nobody waits while
//! an agent of their target set is free, max loads are exceeded only by the
//! paths that may, the changed keys rebuild the stored shop, and a run is a
//! pure function of its seed.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};

use common::*;
use fenliu_core::hours::{ClockTime, Hours, Weekly};
use fenliu_core::settings::{
    AssignmentMode, AssignmentSettings, OfflineSettings, Overflow, PresenceSettings, Priority,
    QueueOrder, QueueSettings, RecentContactSettings, Rule, Step, Target, Timers, When,
};
use fenliu_core::Strategy as PickStrategy;
use fenliu_core::{
    AgentId, AgentStatus, Changed, Command, ConversationId, EndReason, Entry, Event, Inquiry,
    MaxLoad, Millis, Party, Reason, RecordKey, Reply, RoutingSettings, Shop, TzOffset, Weight,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

const AGENTS: u8 = 6;
const GROUPS: u8 = 3;
const BUYERS: u8 = 8;

fn agent_name(i: u8) -> AgentId {
    aid(&format!("a{}", i % AGENTS))
}

fn group_names(mask: u8) -> Vec<fenliu_core::GroupId> {
    (0..GROUPS)
        .filter(|g| mask & (1 << g) != 0)
        .map(|g| gid(&format!("g{g}")))
        .collect()
}

fn agent_names(mask: u8) -> Vec<AgentId> {
    (0..AGENTS)
        .filter(|a| mask & (1 << a) != 0)
        .map(agent_name)
        .collect()
}

fn status(i: u8) -> AgentStatus {
    match i % 3 {
        0 => AgentStatus::Online,
        1 => AgentStatus::Busy,
        _ => AgentStatus::Offline,
    }
}

fn entry(i: u8) -> Entry {
    [
        Entry::ProductDetail,
        Entry::OrderDetail,
        Entry::DirectMessage,
        Entry::Live,
        Entry::Other,
    ][usize::from(i % 5)]
}

fn opt_tag(prefix: &str, v: Option<u8>) -> Option<fenliu_core::Tag> {
    v.map(|v| tag(&format!("{prefix}{}", v % 2)))
}

/// One step of a run.
#[derive(Clone, Debug)]
enum Op {
    Agent {
        agent: u8,
        status: u8,
        max: u32,
        weight: u32,
        groups: Option<u8>,
    },
    Delete(u8),
    Status(u8, u8),
    /// The node saw no sign of life from the agent for the presence timeout.
    Lapse(u8),
    /// Every agent goes offline (the end of a shift), which is when offline
    /// routing applies.
    Closing,
    MaxLoad(u8, u32),
    Group(u8, u8),
    Routing(Box<RoutingSettings>),
    Inquire {
        buyer: u8,
        entry: u8,
        question: Option<u8>,
        order_state: Option<u8>,
        product: Option<u8>,
        intent: Option<u8>,
        priority: u32,
    },
    Message(u16, bool),
    End(u16),
    Transfer(u16, u8),
    TransferToGroup(u16, u8),
    Cancel(u16),
    Rate(u16, u8),
    Invite(u16),
    Proactive(u8, u8),
    Order(u8, u8),
    Accept(u16),
    Reject(u16),
    Tick(Millis),
}

fn when_strategy() -> impl Strategy<Value = When> {
    (
        proptest::option::weighted(0.5, 0u8..5),
        proptest::option::weighted(0.3, 0u8..2),
        proptest::option::weighted(0.2, 0u8..2),
        proptest::option::weighted(0.2, 0u8..2),
        proptest::option::weighted(0.2, 0u8..2),
    )
        .prop_map(|(e, q, s, p, i)| When {
            entry: e.map(entry),
            question: opt_tag("q", q),
            order_state: opt_tag("s", s),
            product_id: opt_tag("p", p),
            intent: opt_tag("i", i),
        })
}

/// Up to three escalation steps, each naming someone or everyone.
fn steps_strategy() -> impl Strategy<Value = Vec<Step>> {
    proptest::collection::vec(
        (1u32..300, 0u8..64, 0u8..8, proptest::bool::weighted(0.2)),
        0..4,
    )
    .prop_map(|steps| {
        let mut after = 0;
        steps
            .into_iter()
            .map(|(gap, agents, groups, any)| {
                after += gap;
                Step {
                    after_secs: after,
                    agents: agent_names(agents),
                    groups: group_names(groups),
                    any: any || agents | groups == 0,
                }
            })
            .collect()
    })
}

fn rule_strategy() -> impl Strategy<Value = Rule> {
    (
        when_strategy(),
        0u8..64,
        0u8..8,
        proptest::option::weighted(0.3, 0u32..10),
        proptest::option::weighted(0.4, steps_strategy()),
    )
        .prop_filter("a rule names someone", |(_, a, g, _, _)| a | g != 0)
        .prop_map(|(when, agents, groups, priority, escalate)| Rule {
            when,
            to: Target {
                agents: agent_names(agents),
                groups: group_names(groups),
                priority: priority.map(|p| Priority::new(p).unwrap()),
                escalate: escalate.unwrap_or_default(),
            },
        })
}

/// Business hours: each day of the week one of a few patterns (closed,
/// office hours, open with a lunch break, an evening), sometimes a closed date.
fn hours_strategy() -> impl Strategy<Value = Hours> {
    (
        proptest::collection::vec(0u8..4, 7),
        proptest::option::weighted(0.2, 0u8..3),
    )
        .prop_map(|(days, closed)| {
            let t = |raw: &str| ClockTime::parse(raw).unwrap();
            let day = |p: u8| match p {
                0 => vec![],
                1 => vec![[t("09:00"), t("18:00")]],
                2 => vec![[t("00:00"), t("12:00")], [t("13:00"), t("24:00")]],
                _ => vec![[t("20:00"), t("22:00")]],
            };
            Hours {
                weekly: Weekly {
                    mon: day(days[0]),
                    tue: day(days[1]),
                    wed: day(days[2]),
                    thu: day(days[3]),
                    fri: day(days[4]),
                    sat: day(days[5]),
                    sun: day(days[6]),
                },
                closed_dates: closed
                    .map(|d| vec![format!("2026-11-{}", 23 + d)])
                    .unwrap_or_default(),
            }
        })
}

fn routing_strategy() -> impl Strategy<Value = RoutingSettings> {
    (
        (
            0u8..4,
            proptest::bool::weighted(0.75),
            any::<bool>(),
            proptest::option::weighted(0.3, 1u32..6),
            proptest::option::weighted(0.3, 1u32..600),
        ),
        (proptest::bool::weighted(0.8), 60u64..7_200, any::<bool>()),
        proptest::collection::vec(rule_strategy(), 0..4),
        (any::<bool>(), proptest::bool::weighted(0.3), 0u8..64),
        0u32..4,
        (30u64..300, 60u64..1_800, 600u64..86_400, 3_600u64..172_800),
        (
            any::<bool>(),
            0u8..3,
            proptest::option::weighted(0.5, 10u32..3_600),
        ),
        proptest::option::weighted(0.25, hours_strategy()),
        (
            proptest::option::weighted(0.35, 10u32..120),
            proptest::option::weighted(0.35, 1u32..4),
            proptest::option::weighted(0.4, 5u32..60),
        ),
    )
        .prop_map(
            |(
                (strategy, queue_on, lifo, max_length, aging_secs),
                (recent_on, window, within),
                rules,
                (any_online, offline_on, offline_mask),
                busy_threshold,
                (target, auto_end, reply_window, proactive),
                (visible, tz, presence),
                hours,
                (reassign_after, auto_busy, offer_timeout),
            )| RoutingSettings {
                strategy: [
                    PickStrategy::LeastSaturation,
                    PickStrategy::Even,
                    PickStrategy::Weighted,
                    PickStrategy::Fair,
                ][usize::from(strategy)],
                queue: QueueSettings {
                    enabled: queue_on,
                    order: if lifo {
                        QueueOrder::Lifo
                    } else {
                        QueueOrder::Fifo
                    },
                    max_length,
                    aging_secs,
                },
                recent_contact: RecentContactSettings {
                    enabled: recent_on,
                    window_secs: window,
                    within_max_load: within,
                },
                rules,
                overflow: if any_online {
                    Overflow::AnyOnline
                } else {
                    Overflow::None
                },
                offline: OfflineSettings {
                    agents: if offline_on {
                        agent_names(offline_mask)
                    } else {
                        Vec::new()
                    },
                },
                busy_threshold,
                timers: Timers {
                    reply_target_secs: target,
                    auto_end_secs: auto_end,
                    reply_window_secs: reply_window,
                    proactive_window_secs: proactive,
                    reassign_after_secs: reassign_after,
                    auto_busy_after_misses: auto_busy,
                },
                leaderboard_visible: visible,
                timezone: TzOffset::parse(["+08:00", "Z", "-05:00"][usize::from(tz)]).unwrap(),
                presence: PresenceSettings {
                    timeout_secs: presence,
                },
                hours,
                assignment: match offer_timeout {
                    Some(t) => AssignmentSettings {
                        mode: AssignmentMode::Offer,
                        offer_timeout_secs: t,
                    },
                    None => AssignmentSettings::default(),
                },
            },
        )
}

fn agent_op() -> impl Strategy<Value = Op> {
    (
        0..AGENTS,
        0u8..3,
        1u32..5,
        1u32..10,
        proptest::option::of(0u8..8),
    )
        .prop_map(|(agent, status, max, weight, groups)| Op::Agent {
            agent,
            status,
            max,
            weight,
            groups,
        })
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => agent_op(),
        1 => (0..AGENTS).prop_map(Op::Delete),
        6 => (0..AGENTS, 0u8..3).prop_map(|(a, s)| Op::Status(a, s)),
        2 => (0..AGENTS).prop_map(Op::Lapse),
        3 => (0..AGENTS, 1u32..6).prop_map(|(a, m)| Op::MaxLoad(a, m)),
        2 => (0..GROUPS, 0u8..64).prop_map(|(g, m)| Op::Group(g, m)),
        3 => routing_strategy().prop_map(|r| Op::Routing(Box::new(r))),
        14 => (
            0..BUYERS,
            0u8..5,
            proptest::option::weighted(0.5, 0u8..2),
            proptest::option::weighted(0.3, 0u8..2),
            proptest::option::weighted(0.3, 0u8..2),
            proptest::option::weighted(0.3, 0u8..2),
            prop_oneof![3 => Just(0u32), 1 => 0u32..10],
        )
            .prop_map(
                |(buyer, entry, question, order_state, product, intent, priority)| Op::Inquire {
                    buyer,
                    entry,
                    question,
                    order_state,
                    product,
                    intent,
                    priority,
                }
            ),
        8 => (any::<u16>(), any::<bool>()).prop_map(|(c, agent)| Op::Message(c, agent)),
        5 => any::<u16>().prop_map(Op::End),
        4 => (any::<u16>(), 0..AGENTS).prop_map(|(c, a)| Op::Transfer(c, a)),
        2 => (any::<u16>(), 0..GROUPS).prop_map(|(c, g)| Op::TransferToGroup(c, g)),
        2 => any::<u16>().prop_map(Op::Cancel),
        1 => (any::<u16>(), 0u8..7).prop_map(|(c, s)| Op::Rate(c, s)),
        1 => any::<u16>().prop_map(Op::Invite),
        // Orders and proactive conversations share a few buyers so that
        // some proactive attempts find an order.
        3 => (0..AGENTS, 0u8..3).prop_map(|(a, b)| Op::Proactive(a, b)),
        3 => (0u8..6, 0u8..3).prop_map(|(o, b)| Op::Order(o, b)),
        1 => Just(Op::Closing),
        5 => any::<u16>().prop_map(Op::Accept),
        2 => any::<u16>().prop_map(Op::Reject),
        5 => prop_oneof![
            4 => (0i64..600).prop_map(|s| s * SEC),
            1 => (0i64..72).prop_map(|h| h * HOUR),
        ]
        .prop_map(Op::Tick),
    ]
}

/// A few agents first, so that most steps have somebody to act on.
fn ops_strategy() -> impl Strategy<Value = Vec<Op>> {
    (
        proptest::collection::vec(agent_op(), 2..5),
        proptest::collection::vec(op_strategy(), 1..80),
    )
        .prop_map(|(mut agents, ops)| {
            agents.extend(ops);
            agents
        })
}

/// Turns a step into the commands it stands for, given how many
/// conversations exist (`None` is a tick).
fn commands(op: &Op, conversations: u64) -> Vec<Option<Command>> {
    let conv = |k: u16| ConversationId(1 + u64::from(k) % conversations.max(1));
    vec![Some(match op {
        Op::Tick(_) => return vec![None],
        Op::Closing => {
            return (0..AGENTS)
                .map(|a| Some(Command::SetStatus(agent_name(a), AgentStatus::Offline)))
                .collect()
        }
        Op::Agent {
            agent,
            status: s,
            max,
            weight,
            groups,
        } => {
            let id = agent_name(*agent);
            return vec![
                Some(Command::UpsertAgent {
                    agent: id.clone(),
                    display_name: Some(format!("客服 {agent}")),
                    weight: Some(Weight::new(*weight).unwrap()),
                    groups: groups.map(group_names),
                }),
                Some(Command::SetMaxLoad(id.clone(), MaxLoad::new(*max).unwrap())),
                Some(Command::SetStatus(id, status(*s))),
            ];
        }
        Op::Delete(a) => Command::DeleteAgent(agent_name(*a)),
        Op::Status(a, s) => Command::SetStatus(agent_name(*a), status(*s)),
        Op::Lapse(a) => Command::PresenceLapsed(agent_name(*a)),
        Op::MaxLoad(a, m) => Command::SetMaxLoad(agent_name(*a), MaxLoad::new(*m).unwrap()),
        Op::Group(g, m) => Command::PutGroup(group_names(1 << g).remove(0), agent_names(*m)),
        Op::Routing(r) => Command::SetRouting(r.clone()),
        Op::Inquire {
            buyer,
            entry: e,
            question,
            order_state,
            product,
            intent,
            priority,
        } => Command::Inquire(Inquiry {
            buyer_id: bid(&format!("b{buyer}")),
            entry: entry(*e),
            question: opt_tag("q", *question),
            order_state: opt_tag("s", *order_state),
            product_id: opt_tag("p", *product),
            intent: opt_tag("i", *intent),
            priority: Priority::new(*priority).unwrap(),
        }),
        Op::Message(c, agent) => {
            Command::Message(conv(*c), if *agent { Party::Agent } else { Party::Buyer })
        }
        Op::End(c) => Command::End(conv(*c), EndReason::Service),
        Op::Transfer(c, a) => Command::Transfer(conv(*c), agent_name(*a)),
        Op::TransferToGroup(c, g) => {
            Command::TransferToGroup(conv(*c), group_names(1 << g).remove(0))
        }
        Op::Cancel(c) => Command::Cancel(conv(*c)),
        Op::Rate(c, s) => Command::Rate(conv(*c), *s),
        Op::Invite(c) => Command::InviteRating(conv(*c)),
        Op::Proactive(a, b) => Command::OpenProactive(agent_name(*a), bid(&format!("b{b}"))),
        Op::Order(o, b) => Command::Order(tag(&format!("o{o}")), bid(&format!("b{b}"))),
        Op::Accept(c) => Command::Accept(conv(*c)),
        Op::Reject(c) => Command::Reject(conv(*c)),
    })]
}

/// What one step did, for comparing two runs.
#[derive(Debug, PartialEq)]
struct Outcome {
    replies: Vec<String>,
    events: Vec<Event>,
}

/// A run under test: the world, a store fed by the changed keys, and what
/// the checks must remember between steps.
struct Run {
    w: World,
    store: BTreeMap<RecordKey, String>,
    /// Active conversations that came in through a path allowed to exceed
    /// max load (no-queue, recent contact without room, transfer,
    /// proactive, offline routing).
    exempt: HashSet<ConversationId>,
    /// Per agent, load minus exempt load after the previous step.
    base_load: HashMap<AgentId, i64>,
    /// Offered conversations, and whether the path that offered them may
    /// exceed max load (kept when the offer is accepted).
    offered: HashMap<ConversationId, bool>,
    /// Agents who declined, let lapse or missed each conversation: no
    /// decision may offer or give it to them again.
    declined: HashSet<(ConversationId, AgentId)>,
    conversations: u64,
}

impl Run {
    fn new(seed: u64) -> Self {
        Self {
            w: World::seeded(seed),
            store: BTreeMap::new(),
            exempt: HashSet::new(),
            base_load: HashMap::new(),
            offered: HashMap::new(),
            declined: HashSet::new(),
            conversations: 0,
        }
    }

    /// Applies one step, checking every invariant after each of its
    /// commands; returns what it did.
    fn step(&mut self, op: &Op) -> Result<Outcome, TestCaseError> {
        self.w.now += 1_500;
        let mut out = Outcome {
            replies: Vec::new(),
            events: Vec::new(),
        };
        for cmd in commands(op, self.conversations) {
            // The conversation this command created through the inquiry path.
            let mut inquired = None;
            match cmd {
                None => {
                    let Op::Tick(by) = op else {
                        unreachable!("only a tick has no command")
                    };
                    self.w.advance(*by);
                }
                Some(cmd) => {
                    if matches!(cmd, Command::SetMaxLoad(..)) {
                        // Timers due now fire first, as `handle` fires them:
                        // checked apart, so that "the load already there"
                        // when a max load is lowered includes what they gave.
                        self.w.advance(0);
                        self.settle(None, &mut out)?;
                    }
                    let inquiry =
                        matches!(cmd, Command::Inquire(_) | Command::Message(_, Party::Buyer));
                    let result = self.w.run(cmd);
                    if let Ok(Reply::Conversation {
                        id, created: true, ..
                    }) = &result
                    {
                        self.conversations = self.conversations.max(id.0);
                        if inquiry {
                            inquired = Some(*id);
                        }
                    }
                    out.replies.push(format!("{result:?}"));
                }
            }
            self.settle(inquired, &mut out)?;
        }
        Ok(out)
    }

    /// Persists and checks what the last command or tick did.
    fn settle(
        &mut self,
        inquired: Option<ConversationId>,
        out: &mut Outcome,
    ) -> Result<(), TestCaseError> {
        let fx = self.w.take_unsaved();
        self.track_exempt(&fx.events, inquired);
        self.track_declined(&fx.events)?;
        self.persist(&fx.changed)?;
        self.check()?;
        out.events.extend(fx.events);
        Ok(())
    }

    fn track_exempt(&mut self, events: &[Event], inquired: Option<ConversationId>) {
        let settings = self.w.shop.settings().clone();
        let without_room_ok = !settings.recent_contact.within_max_load || !settings.queue.enabled;
        let may_exceed = |reason: &Reason, id: &ConversationId| match reason {
            Reason::NoQueue | Reason::Offline | Reason::Proactive => true,
            Reason::RecentContact => inquired == Some(*id) && without_room_ok,
            _ => false,
        };
        for e in events {
            match e {
                Event::Offered {
                    conversation_id,
                    reason,
                    ..
                } => {
                    let exempt = may_exceed(reason, conversation_id);
                    self.offered.insert(*conversation_id, exempt);
                    if exempt {
                        self.exempt.insert(*conversation_id);
                    } else {
                        self.exempt.remove(conversation_id);
                    }
                }
                Event::OfferDeclined {
                    conversation_id, ..
                } => {
                    self.offered.remove(conversation_id);
                    self.exempt.remove(conversation_id);
                }
                Event::Assigned {
                    conversation_id,
                    reason,
                    ..
                } => {
                    // An accepted offer keeps what its offer was.
                    let exempt = match self.offered.remove(conversation_id) {
                        Some(exempt) => exempt,
                        None => may_exceed(reason, conversation_id),
                    };
                    if exempt {
                        self.exempt.insert(*conversation_id);
                    } else {
                        self.exempt.remove(conversation_id);
                    }
                }
                Event::Transferred {
                    conversation_id, ..
                } => {
                    self.exempt.insert(*conversation_id);
                }
                Event::Queued {
                    conversation_id, ..
                } => {
                    self.exempt.remove(conversation_id);
                }
                _ => {}
            }
        }
    }

    /// Nothing is offered or given by a decision to an agent who declined
    /// the conversation, let its offer lapse or missed it.
    fn track_declined(&mut self, events: &[Event]) -> Result<(), TestCaseError> {
        for e in events {
            match e {
                Event::OfferDeclined {
                    conversation_id,
                    agent_id,
                    ..
                } => {
                    self.declined.insert((*conversation_id, agent_id.clone()));
                }
                Event::Offered {
                    conversation_id,
                    agent_id,
                    ..
                }
                | Event::Assigned {
                    conversation_id,
                    agent_id,
                    ..
                } => {
                    let pair = (*conversation_id, agent_id.clone());
                    prop_assert!(
                        !self.declined.contains(&pair),
                        "{conversation_id} went to {agent_id}, who declined or missed it"
                    );
                }
                Event::Transferred {
                    conversation_id,
                    from_agent_id,
                    agent_id,
                    reason,
                } if *reason == Reason::Reassigned => {
                    let pair = (*conversation_id, agent_id.clone());
                    prop_assert!(
                        !self.declined.contains(&pair),
                        "{conversation_id} was reassigned to {agent_id}, who declined or missed it"
                    );
                    self.declined
                        .insert((*conversation_id, from_agent_id.clone()));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Writes the changed records into the store, which must then hold
    /// exactly the shop's records.
    fn persist(&mut self, changed: &Changed) -> Result<(), TestCaseError> {
        for key in changed {
            match self.w.shop.record(key) {
                Some(r) => {
                    prop_assert_eq!(&key_of(&r), key);
                    self.store.insert(key.clone(), format!("{r:?}"));
                }
                None => {
                    self.store.remove(key);
                }
            }
        }
        let records = self.w.records();
        // Meta and settings of a shop that never changed them are defaults
        // that a store need not hold.
        for (k, v) in &records {
            if matches!(k, RecordKey::Meta | RecordKey::Settings) && !self.store.contains_key(k) {
                self.store.insert(k.clone(), v.clone());
            }
        }
        prop_assert_eq!(&self.store, &records, "the store drifted from the shop");
        Ok(())
    }

    fn check(&mut self) -> Result<(), TestCaseError> {
        let shop = &self.w.shop;
        // The invariants that depend on the shop alone.
        shop.check(self.w.now).map_err(TestCaseError::fail)?;
        // Max loads: only the exempt paths exceed them, or a max load
        // lowered below the load already there.
        let mut base = HashMap::new();
        for a in shop.agents() {
            let exempt = shop
                .active_conversations_of(&a.id)
                .into_iter()
                .filter(|c| self.exempt.contains(c))
                .count() as i64;
            let own = i64::from(a.load) - exempt;
            let before = self.base_load.get(&a.id).copied().unwrap_or(0);
            prop_assert!(
                own <= i64::from(a.max_load.get()).max(before),
                "{} has load {} (max {}, {} exempt) after {} before",
                a.id,
                a.load,
                a.max_load.get(),
                exempt,
                before
            );
            base.insert(a.id.clone(), own);
        }
        self.base_load = base;
        Ok(())
    }
}

/// 96 cases a run unless `PROPTEST_CASES` says otherwise; every failure
/// found is saved beside this file (`properties.proptest-regressions`) and
/// tried first by later runs. proptest's default persistence looks for a
/// `lib.rs` or `main.rs`, which an integration test does not have.
fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(96);
    Config {
        cases,
        max_shrink_iters: 2_000,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..Config::default()
    }
}

fn run(seed: u64, ops: &[Op]) -> Result<(Vec<Outcome>, Run), TestCaseError> {
    let mut r = Run::new(seed);
    let mut outcomes = Vec::with_capacity(ops.len());
    for op in ops {
        outcomes.push(r.step(op)?);
    }
    Ok((outcomes, r))
}

/// The shrunk case of the bug where a queued buyer waited while its recent
/// agent was available (the agent had written to the buyer's ended
/// conversation, refreshing the mapping, and nothing decided the queued one
/// again). Kept as it was found, besides its seed in the regressions file.
#[test]
fn regression_queued_buyer_waits_after_its_recent_agent_writes_again() {
    let agent = |agent: u8| Op::Agent {
        agent,
        status: 0,
        max: 1,
        weight: 1,
        groups: None,
    };
    let inquire = |buyer: u8| Op::Inquire {
        buyer,
        entry: 0,
        question: None,
        order_state: None,
        product: None,
        intent: None,
        priority: 0,
    };
    let routing = |recent: bool, order: QueueOrder, rules: Vec<Rule>| {
        Op::Routing(Box::new(RoutingSettings {
            queue: QueueSettings {
                enabled: false,
                order,
                max_length: None,
                aging_secs: None,
            },
            recent_contact: RecentContactSettings {
                enabled: recent,
                window_secs: 60,
                within_max_load: false,
            },
            rules,
            overflow: Overflow::None,
            busy_threshold: 0,
            timers: Timers {
                reply_target_secs: 30,
                auto_end_secs: 60,
                reply_window_secs: 600,
                proactive_window_secs: 3600,
                ..Timers::default()
            },
            leaderboard_visible: false,
            ..RoutingSettings::default()
        }))
    };
    let to_a2 = Rule {
        when: When::default(),
        to: Target {
            agents: vec![agent_name(2)],
            ..Target::default()
        },
    };
    let ops = vec![
        agent(1),
        agent(0),
        Op::Status(0, 1),
        inquire(0),
        Op::End(0),
        inquire(5),
        inquire(3),
        inquire(7),
        inquire(4),
        inquire(6),
        routing(false, QueueOrder::Lifo, vec![]),
        Op::Transfer(38065, 0),
        Op::Tick(47000),
        agent(5),
        Op::Order(0, 2),
        Op::Proactive(5, 2),
        routing(true, QueueOrder::Fifo, vec![to_a2]),
        Op::End(7530),
        Op::End(12195),
        Op::Status(0, 0),
        Op::Message(39733, false),
        inquire(6),
        Op::Message(28337, true),
    ];

    run(0, &ops).unwrap();
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn invariants_hold_after_every_step(seed in any::<u64>(), ops in ops_strategy()) {
        run(seed, &ops)?;
    }

    #[test]
    fn same_seed_gives_identical_decisions(seed in any::<u64>(), ops in ops_strategy()) {
        let (first, a) = run(seed, &ops)?;
        let (second, b) = run(seed, &ops)?;

        prop_assert_eq!(first, second);
        prop_assert_eq!(a.w.records(), b.w.records());
    }

    #[test]
    fn restored_shop_has_the_same_records_and_invariants(
        seed in any::<u64>(),
        ops in ops_strategy(),
        more in proptest::collection::vec(op_strategy(), 0..40),
    ) {
        let (_, mut r) = run(seed, &ops)?;
        let bytes = bincode::serde::encode_to_vec(&r.w.shop, bincode::config::standard())
            .expect("a shop encodes");
        let (mut back, _): (Shop, usize) =
            bincode::serde::decode_from_slice(&bytes, bincode::config::standard())
                .expect("a shop decodes");
        back.tick(r.w.now, &mut r.w.rng.clone());

        prop_assert_eq!(records_of(&back), r.w.records());
        back.check(r.w.now).map_err(TestCaseError::fail)?;
        prop_assert_eq!(
            back.queue(r.w.now).into_iter().map(|c| c.id).collect::<Vec<_>>(),
            r.w.queue()
        );
        // What is derived rather than stored answers the same.
        for b in 0..BUYERS {
            let buyer = bid(&format!("b{b}"));
            prop_assert_eq!(back.recent_agent(&buyer, r.w.now), r.w.shop.recent_agent(&buyer, r.w.now));
            prop_assert_eq!(back.open_conversation_of(&buyer), r.w.shop.open_conversation_of(&buyer));
            let order = Command::Order(tag("fresh-order"), buyer.clone());
            let credit = |shop: &Shop| {
                let mut shop = shop.clone();
                let mut rng = r.w.rng.clone();
                format!("{:?}", shop.handle(order.clone(), r.w.now, &mut rng).map(|(reply, _)| reply))
            };
            prop_assert_eq!(credit(&back), credit(&r.w.shop));
            for a in 0..AGENTS {
                let open = Command::OpenProactive(agent_name(a), buyer.clone());
                let opened = |shop: &Shop| {
                    let mut shop = shop.clone();
                    let mut rng = r.w.rng.clone();
                    format!("{:?}", shop.handle(open.clone(), r.w.now, &mut rng).map(|(reply, _)| reply))
                };
                prop_assert_eq!(opened(&back), opened(&r.w.shop));
            }
        }
        // And the restored shop goes on: timers fire, the queue drains, and
        // every invariant still holds.
        r.w.shop = back;
        for op in &more {
            r.step(op)?;
        }
    }
}
