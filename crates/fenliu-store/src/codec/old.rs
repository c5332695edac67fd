//! The formats before 5, read through copies of the types as they were
//! then: bincode is not self-describing, so the bytes must be read with
//! exactly the fields, in exactly the order, that wrote them.

use fenliu_core::records::{Meta, Record};
use fenliu_core::shop::{OrderRecord, RecentContact};
use fenliu_core::time::Day;
use fenliu_core::{AgentId, BuyerId, GroupId, RoutingSettings};
use serde::{Deserialize, Serialize};

/// The core's stored types as formats 1 to 4 wrote them, copied whole where
/// they have changed since (format 5 added fields at their ends).
pub(crate) mod shapes {
    use std::collections::BTreeSet;

    use fenliu_core::agent::{self, AgentStatus, MaxLoad, Weight};
    use fenliu_core::conversation::{self, ConversationStatus, EndReason, ReplyClock};
    use fenliu_core::explain::{self, Reason, RecentContactCheck, Unlisted, Verdict};
    use fenliu_core::stats;
    use fenliu_core::time::{Day, Millis};
    use fenliu_core::{AgentId, BuyerId, ConversationId, Entry, GroupId, Inquiry, Strategy, Tag};
    use serde::{Deserialize, Serialize};

    /// `Agent`, formats 1–4.
    #[derive(Clone, Serialize, Deserialize)]
    pub(crate) struct Agent {
        pub(crate) id: AgentId,
        pub(crate) display_name: Option<String>,
        pub(crate) status: AgentStatus,
        pub(crate) max_load: MaxLoad,
        pub(crate) load: u32,
        pub(crate) weight: Weight,
        pub(crate) groups: BTreeSet<GroupId>,
        pub(crate) assigned_day: Day,
        pub(crate) assigned_count: u32,
        pub(crate) unreplied: u32,
    }

    impl From<Agent> for agent::Agent {
        /// Its time online starts at the restore (see `Shop::restore`).
        fn from(a: Agent) -> Self {
            agent::Agent {
                display_name: a.display_name,
                status: a.status,
                max_load: a.max_load,
                load: a.load,
                weight: a.weight,
                groups: a.groups,
                assigned_day: a.assigned_day,
                assigned_count: a.assigned_count,
                unreplied: a.unreplied,
                ..agent::Agent::new(a.id)
            }
        }
    }

    #[cfg(test)]
    impl From<&agent::Agent> for Agent {
        fn from(a: &agent::Agent) -> Self {
            Agent {
                id: a.id.clone(),
                display_name: a.display_name.clone(),
                status: a.status,
                max_load: a.max_load,
                load: a.load,
                weight: a.weight,
                groups: a.groups.clone(),
                assigned_day: a.assigned_day,
                assigned_count: a.assigned_count,
                unreplied: a.unreplied,
            }
        }
    }

    /// `AgentDay`, formats 3–4.
    #[derive(Clone, Default, Serialize, Deserialize)]
    pub(crate) struct AgentDay {
        pub(crate) receptions: u32,
        pub(crate) sessions: u32,
        pub(crate) clocked: u32,
        pub(crate) late: u32,
        pub(crate) ratings: u32,
        pub(crate) satisfied: u32,
        pub(crate) credited_orders: u32,
    }

    impl From<AgentDay> for stats::AgentDay {
        fn from(f: AgentDay) -> Self {
            stats::AgentDay {
                receptions: f.receptions,
                sessions: f.sessions,
                clocked: f.clocked,
                late: f.late,
                ratings: f.ratings,
                satisfied: f.satisfied,
                credited_orders: f.credited_orders,
                ..stats::AgentDay::default()
            }
        }
    }

    /// `Inquiry`, formats 1–4.
    #[derive(Clone, Serialize, Deserialize)]
    pub(crate) struct Asked {
        pub(crate) buyer_id: BuyerId,
        pub(crate) entry: Entry,
        pub(crate) question: Option<Tag>,
        pub(crate) order_state: Option<Tag>,
        pub(crate) product_id: Option<Tag>,
        pub(crate) intent: Option<Tag>,
    }

    /// `Considered`, formats 1–4.
    #[derive(Clone, Serialize, Deserialize)]
    pub(crate) struct Considered {
        pub(crate) agent_id: AgentId,
        pub(crate) status: AgentStatus,
        pub(crate) load: u32,
        pub(crate) max_load: u32,
        pub(crate) assigned_today: u32,
        pub(crate) effective_weight: f64,
        pub(crate) verdict: Verdict,
    }

    /// `Explanation`, formats 1–4.
    #[derive(Clone, Serialize, Deserialize)]
    pub(crate) struct Explanation {
        pub(crate) decided_at: Millis,
        pub(crate) reason: Reason,
        pub(crate) strategy: Strategy,
        pub(crate) recent_contact: RecentContactCheck,
        pub(crate) matched_rule: Option<usize>,
        pub(crate) overflowed: bool,
        pub(crate) target_size: u32,
        pub(crate) agents: Vec<Considered>,
        pub(crate) unlisted: Option<Unlisted>,
        pub(crate) picked: Option<AgentId>,
    }

    /// `Conversation`, formats 1–4.
    #[derive(Clone, Serialize, Deserialize)]
    pub(crate) struct Conversation {
        pub(crate) id: ConversationId,
        pub(crate) inquiry: Asked,
        pub(crate) status: ConversationStatus,
        pub(crate) agent: Option<AgentId>,
        pub(crate) reason: Reason,
        pub(crate) offline_delivery: bool,
        pub(crate) queue_key: Option<i64>,
        pub(crate) created_at: Millis,
        pub(crate) assigned_at: Option<Millis>,
        pub(crate) assigned_day: Option<Day>,
        pub(crate) ended_at: Option<Millis>,
        pub(crate) end_reason: Option<EndReason>,
        pub(crate) clock: ReplyClock,
        pub(crate) last_agent_reply_at: Option<Millis>,
        pub(crate) last_buyer_message_at: Option<Millis>,
        pub(crate) rating_invited: bool,
        pub(crate) rating: Option<u8>,
        pub(crate) proactive: bool,
        pub(crate) explanation: Explanation,
    }

    impl From<Conversation> for conversation::Conversation {
        /// Priority 0; a queued one counts as waiting since its creation.
        fn from(c: Conversation) -> Self {
            let q = c.inquiry;
            let e = c.explanation;
            let mut explanation = explain::Explanation::new(e.decided_at, e.reason, e.strategy);
            explanation.recent_contact = e.recent_contact;
            explanation.matched_rule = e.matched_rule;
            explanation.overflowed = e.overflowed;
            explanation.target_size = e.target_size;
            explanation.unlisted = e.unlisted;
            explanation.picked = e.picked;
            explanation.agents = e
                .agents
                .into_iter()
                .map(|a| explain::Considered {
                    agent_id: a.agent_id,
                    status: a.status,
                    load: a.load,
                    max_load: a.max_load,
                    assigned_today: a.assigned_today,
                    effective_weight: a.effective_weight,
                    verdict: a.verdict,
                    online_secs_today: 0,
                })
                .collect();
            conversation::Conversation {
                id: c.id,
                inquiry: Inquiry {
                    buyer_id: q.buyer_id,
                    entry: q.entry,
                    question: q.question,
                    order_state: q.order_state,
                    product_id: q.product_id,
                    intent: q.intent,
                    priority: Default::default(),
                },
                status: c.status,
                agent: c.agent,
                reason: c.reason,
                offline_delivery: c.offline_delivery,
                queue_key: c.queue_key,
                created_at: c.created_at,
                assigned_at: c.assigned_at,
                assigned_day: c.assigned_day,
                ended_at: c.ended_at,
                end_reason: c.end_reason,
                clock: c.clock,
                last_agent_reply_at: c.last_agent_reply_at,
                last_buyer_message_at: c.last_buyer_message_at,
                rating_invited: c.rating_invited,
                rating: c.rating,
                proactive: c.proactive,
                explanation,
                priority: Default::default(),
                queued_since: None,
                offer: None,
                excluded: Vec::new(),
                first_reply_at: None,
            }
        }
    }
}

/// Records as format 4 wrote them: routing settings as JSON text.
pub(crate) mod v4 {
    use fenliu_core::records::Record;
    use fenliu_core::RoutingSettings;

    /// A record, format 4.
    pub(crate) type In = super::Stored<String>;

    /// Format 4 as written (by tests, to read it back).
    #[cfg(test)]
    pub(crate) type Out = In;

    impl In {
        pub(crate) fn into_record(self) -> Result<Record, String> {
            self.with_settings(|text| {
                serde_json::from_str::<RoutingSettings>(&text).map_err(|e| e.to_string())
            })
        }
    }
}

/// A record as formats 3 and 4 store it: the core's types as they were
/// then ([`shapes`]), but for the routing settings, stored as `S` (format 3:
/// bincode of their old shape; format 4: JSON text). Variants as `Record`'s
/// were, in the same order.
#[derive(Serialize, Deserialize)]
pub(crate) enum Stored<S> {
    Meta(Meta),
    Settings(S),
    Agent(shapes::Agent),
    Group(GroupId, Vec<AgentId>),
    Conversation(Box<shapes::Conversation>),
    Recent(BuyerId, RecentContact),
    Order(OrderRecord),
    Stats(Day, AgentId, shapes::AgentDay),
    Reception(Day, AgentId, BuyerId),
}

impl<S> Stored<S> {
    /// The record, its settings read by `settings`.
    pub(crate) fn with_settings<E>(
        self,
        settings: impl FnOnce(S) -> Result<RoutingSettings, E>,
    ) -> Result<Record, E> {
        Ok(match self {
            Self::Meta(m) => Record::Meta(m),
            Self::Settings(s) => Record::Settings(settings(s)?),
            Self::Agent(a) => Record::Agent(a.into()),
            Self::Group(g, m) => Record::Group(g, m),
            Self::Conversation(c) => Record::Conversation(Box::new((*c).into())),
            Self::Recent(b, r) => Record::Recent(b, r),
            Self::Order(o) => Record::Order(o),
            Self::Stats(d, a, f) => Record::Stats(d, a, f.into()),
            Self::Reception(d, a, b) => Record::Reception(d, a, b),
        })
    }
}

/// Records as format 3 wrote them: routing settings as bincode, in the
/// shape they had from format 2 to 3 (copied here whole, down to the rules,
/// so that later changes to the core's settings leave them readable).
pub(crate) mod v3 {
    use fenliu_core::records;
    use fenliu_core::settings as now;
    use fenliu_core::{AgentId, Entry, RoutingSettings, Strategy, Tag, TzOffset};
    use serde::{Deserialize, Serialize};

    /// `Record`, format 3.
    pub(crate) type Record = super::Stored<Settings>;

    /// `RoutingSettings`, formats 2 and 3.
    #[derive(Clone, Serialize, Deserialize)]
    pub(crate) struct Settings {
        pub(crate) strategy: Strategy,
        pub(crate) queue: Queue,
        pub(crate) recent_contact: Recent,
        pub(crate) rules: Vec<Rule>,
        pub(crate) overflow: now::Overflow,
        pub(crate) offline: Offline,
        pub(crate) busy_threshold: u32,
        pub(crate) timers: Timers,
        pub(crate) leaderboard_visible: bool,
        pub(crate) timezone: TzOffset,
    }

    #[derive(Clone, Serialize, Deserialize)]
    pub(crate) struct Queue {
        pub(crate) enabled: bool,
        pub(crate) order: now::QueueOrder,
        pub(crate) max_length: Option<u32>,
    }

    #[derive(Clone, Serialize, Deserialize)]
    pub(crate) struct Recent {
        pub(crate) enabled: bool,
        pub(crate) window_secs: u64,
        pub(crate) within_max_load: bool,
    }

    #[derive(Clone, Serialize, Deserialize)]
    pub(crate) struct Rule {
        pub(crate) when: When,
        pub(crate) to: Target,
    }

    #[derive(Clone, Serialize, Deserialize)]
    pub(crate) struct When {
        pub(crate) entry: Option<Entry>,
        pub(crate) question: Option<Tag>,
        pub(crate) order_state: Option<Tag>,
        pub(crate) product_id: Option<Tag>,
        pub(crate) intent: Option<Tag>,
    }

    #[derive(Clone, Serialize, Deserialize)]
    pub(crate) struct Target {
        pub(crate) agents: Vec<AgentId>,
        pub(crate) groups: Vec<fenliu_core::GroupId>,
    }

    #[derive(Clone, Serialize, Deserialize)]
    pub(crate) struct Offline {
        pub(crate) agents: Vec<AgentId>,
    }

    #[derive(Clone, Serialize, Deserialize)]
    pub(crate) struct Timers {
        pub(crate) reply_target_secs: u64,
        pub(crate) auto_end_secs: u64,
        pub(crate) reply_window_secs: u64,
        pub(crate) proactive_window_secs: u64,
    }

    #[cfg(test)]
    impl Settings {
        /// The format-3 shape of `s` (what it has of it).
        pub(crate) fn of(s: &RoutingSettings) -> Self {
            Settings {
                strategy: s.strategy,
                queue: Queue {
                    enabled: s.queue.enabled,
                    order: s.queue.order,
                    max_length: s.queue.max_length,
                },
                recent_contact: Recent {
                    enabled: s.recent_contact.enabled,
                    window_secs: s.recent_contact.window_secs,
                    within_max_load: s.recent_contact.within_max_load,
                },
                rules: s
                    .rules
                    .iter()
                    .map(|r| Rule {
                        when: When {
                            entry: r.when.entry,
                            question: r.when.question.clone(),
                            order_state: r.when.order_state.clone(),
                            product_id: r.when.product_id.clone(),
                            intent: r.when.intent.clone(),
                        },
                        to: Target {
                            agents: r.to.agents.clone(),
                            groups: r.to.groups.clone(),
                        },
                    })
                    .collect(),
                overflow: s.overflow,
                offline: Offline {
                    agents: s.offline.agents.clone(),
                },
                busy_threshold: s.busy_threshold,
                timers: Timers {
                    reply_target_secs: s.timers.reply_target_secs,
                    auto_end_secs: s.timers.auto_end_secs,
                    reply_window_secs: s.timers.reply_window_secs,
                    proactive_window_secs: s.timers.proactive_window_secs,
                },
                leaderboard_visible: s.leaderboard_visible,
                timezone: s.timezone,
            }
        }
    }

    impl From<Settings> for RoutingSettings {
        /// The settings as the core has them now: what was written, and the
        /// defaults of everything added since.
        fn from(s: Settings) -> Self {
            RoutingSettings {
                strategy: s.strategy,
                queue: now::QueueSettings {
                    enabled: s.queue.enabled,
                    order: s.queue.order,
                    max_length: s.queue.max_length,
                    aging_secs: None,
                },
                recent_contact: now::RecentContactSettings {
                    enabled: s.recent_contact.enabled,
                    window_secs: s.recent_contact.window_secs,
                    within_max_load: s.recent_contact.within_max_load,
                },
                rules: s
                    .rules
                    .into_iter()
                    .map(|r| now::Rule {
                        when: now::When {
                            entry: r.when.entry,
                            question: r.when.question,
                            order_state: r.when.order_state,
                            product_id: r.when.product_id,
                            intent: r.when.intent,
                        },
                        to: now::Target {
                            agents: r.to.agents,
                            groups: r.to.groups,
                            ..now::Target::default()
                        },
                    })
                    .collect(),
                overflow: s.overflow,
                offline: now::OfflineSettings {
                    agents: s.offline.agents,
                },
                busy_threshold: s.busy_threshold,
                timers: now::Timers {
                    reply_target_secs: s.timers.reply_target_secs,
                    auto_end_secs: s.timers.auto_end_secs,
                    reply_window_secs: s.timers.reply_window_secs,
                    proactive_window_secs: s.timers.proactive_window_secs,
                    ..now::Timers::default()
                },
                leaderboard_visible: s.leaderboard_visible,
                timezone: s.timezone,
                ..RoutingSettings::default()
            }
        }
    }

    impl From<Record> for records::Record {
        fn from(r: Record) -> Self {
            r.with_settings(|s| Ok::<_, std::convert::Infallible>(s.into()))
                .unwrap_or_else(|never| match never {})
        }
    }
}

/// Records as format 2 wrote them: an agent's daily figures held the set of
/// buyers it received.
pub(crate) mod v2 {
    use std::collections::BTreeSet;

    use fenliu_core::records::{self, Meta};
    use fenliu_core::shop::{OrderRecord, RecentContact};
    use fenliu_core::stats::AgentDay as NewAgentDay;
    use fenliu_core::time::Day;
    use fenliu_core::{AgentId, BuyerId, GroupId};
    use serde::{Deserialize, Serialize};

    use super::shapes::{Agent, Conversation};
    use super::v3;

    /// `Record`, formats 1 and 2 (same variants, in the same order).
    #[derive(Serialize, Deserialize)]
    pub(crate) enum Record {
        Meta(Meta),
        Settings(v3::Settings),
        Agent(Agent),
        Group(GroupId, Vec<AgentId>),
        Conversation(Box<Conversation>),
        Recent(BuyerId, RecentContact),
        Order(OrderRecord),
        Stats(Day, AgentId, AgentDay),
    }

    /// `AgentDay`, formats 1 and 2 (same fields, in the same order).
    #[derive(Clone, Default, Serialize, Deserialize)]
    pub(crate) struct AgentDay {
        pub(crate) buyers: BTreeSet<BuyerId>,
        pub(crate) sessions: u32,
        pub(crate) clocked: u32,
        pub(crate) late: u32,
        pub(crate) ratings: u32,
        pub(crate) satisfied: u32,
        pub(crate) credited_orders: u32,
    }

    impl Record {
        /// The records this one is now: itself, and for a day's figures one
        /// reception record per buyer.
        pub(crate) fn into_records(self) -> Vec<records::Record> {
            use records::Record as R;
            vec![match self {
                Record::Meta(m) => R::Meta(m),
                Record::Settings(s) => R::Settings(s.into()),
                Record::Agent(a) => R::Agent(a.into()),
                Record::Group(g, m) => R::Group(g, m),
                Record::Conversation(c) => R::Conversation(Box::new((*c).into())),
                Record::Recent(b, r) => R::Recent(b, r),
                Record::Order(o) => R::Order(o),
                Record::Stats(d, a, s) => {
                    let figures = NewAgentDay {
                        receptions: s.buyers.len() as u32,
                        sessions: s.sessions,
                        clocked: s.clocked,
                        late: s.late,
                        ratings: s.ratings,
                        satisfied: s.satisfied,
                        credited_orders: s.credited_orders,
                        ..NewAgentDay::default()
                    };
                    let mut out = vec![R::Stats(d, a.clone(), figures)];
                    out.extend(s.buyers.into_iter().map(|b| R::Reception(d, a.clone(), b)));
                    return out;
                }
            }]
        }
    }
}

/// Records as format 1 wrote them: as format 2, but for routing settings
/// without `queue.max_length`.
pub(crate) mod v1 {
    use fenliu_core::records::Meta;
    use fenliu_core::settings::{Overflow, QueueOrder};
    use fenliu_core::shop::{OrderRecord, RecentContact};
    use fenliu_core::time::Day;
    use fenliu_core::{AgentId, BuyerId, GroupId, Strategy, TzOffset};
    use serde::{Deserialize, Serialize};

    use super::shapes::{Agent, Conversation};
    use super::v2::{self, AgentDay};
    use super::v3;

    /// `Record`, format 1 (same variants, in the same order).
    #[derive(Serialize, Deserialize)]
    pub(crate) enum Record {
        Meta(Meta),
        Settings(Settings),
        Agent(Agent),
        Group(GroupId, Vec<AgentId>),
        Conversation(Box<Conversation>),
        Recent(BuyerId, RecentContact),
        Order(OrderRecord),
        Stats(Day, AgentId, AgentDay),
    }

    /// `RoutingSettings`, format 1 (same fields, in the same order).
    #[derive(Serialize, Deserialize)]
    pub(crate) struct Settings {
        pub(crate) strategy: Strategy,
        pub(crate) queue: Queue,
        pub(crate) recent_contact: v3::Recent,
        pub(crate) rules: Vec<v3::Rule>,
        pub(crate) overflow: Overflow,
        pub(crate) offline: v3::Offline,
        pub(crate) busy_threshold: u32,
        pub(crate) timers: v3::Timers,
        pub(crate) leaderboard_visible: bool,
        pub(crate) timezone: TzOffset,
    }

    /// `QueueSettings`, format 1.
    #[derive(Serialize, Deserialize)]
    pub(crate) struct Queue {
        pub(crate) enabled: bool,
        pub(crate) order: QueueOrder,
    }

    impl From<Record> for v2::Record {
        fn from(r: Record) -> Self {
            match r {
                Record::Meta(m) => Self::Meta(m),
                Record::Settings(s) => Self::Settings(v3::Settings {
                    strategy: s.strategy,
                    queue: v3::Queue {
                        enabled: s.queue.enabled,
                        order: s.queue.order,
                        max_length: None,
                    },
                    recent_contact: s.recent_contact,
                    rules: s.rules,
                    overflow: s.overflow,
                    offline: s.offline,
                    busy_threshold: s.busy_threshold,
                    timers: s.timers,
                    leaderboard_visible: s.leaderboard_visible,
                    timezone: s.timezone,
                }),
                Record::Agent(a) => Self::Agent(a),
                Record::Group(g, m) => Self::Group(g, m),
                Record::Conversation(c) => Self::Conversation(c),
                Record::Recent(b, r) => Self::Recent(b, r),
                Record::Order(o) => Self::Order(o),
                Record::Stats(d, a, s) => Self::Stats(d, a, s),
            }
        }
    }
}
