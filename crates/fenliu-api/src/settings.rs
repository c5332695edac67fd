//! Routing settings as `GET /routing` answers them and `PUT /routing` reads
//! them: a mirror of the core's [`fenliu_core::RoutingSettings`] that can
//! carry a schema and the API's input rules (`null` is refused, except in a
//! rule's `when`, where the server itself writes `null` for "any").
//!
//! The conversions destructure every struct of the core, so a setting added
//! there does not compile until it is described here.

use fenliu_core::hours::{ClockTime, Hours, Weekly};
use fenliu_core::inquiry::Priority;
use fenliu_core::settings::{
    AssignmentMode, AssignmentSettings, OfflineSettings, Overflow, PresenceSettings, QueueOrder,
    QueueSettings, RecentContactSettings, Rule, Step, Target, Timers, When, MAX_BUSY_THRESHOLD,
    MAX_DURATION_SECS, MAX_QUEUE_LENGTH, MAX_RULES, MAX_STEPS, MAX_WAIT_SECS,
};
use fenliu_core::{AgentId, Entry, GroupId, InvalidInput, Strategy, Tag, TzOffset};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{
    AdditionalProperties, AllOfBuilder, AnyOfBuilder, ArrayBuilder, ObjectBuilder, Schema,
    SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::schema;

/// Routing settings (分流设置). On `PUT` every field is optional and a field
/// left out takes its default, not its previous value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
#[schema(as = RoutingSettings)]
pub struct Routing {
    #[schema(value_type = schema::Strategy)]
    strategy: Strategy,
    queue: QueueView,
    recent_contact: RecentContactView,
    /// Ordered rules; the first that matches wins.
    #[schema(max_items = 1000)]
    rules: Vec<RuleView>,
    #[schema(value_type = schema::Overflow)]
    overflow: Overflow,
    offline: OfflineView,
    /// Unreplied conversations above which a weight is divided (繁忙度).
    #[schema(minimum = 0, maximum = 1000)]
    busy_threshold: u32,
    timers: TimersView,
    /// Whether agents see each other in the ranking.
    leaderboard_visible: bool,
    #[schema(value_type = schema::TzOffset)]
    timezone: TzOffset,
    /// Shown only when presence is tracked (an extension).
    #[serde(skip_serializing_if = "PresenceView::is_off")]
    presence: PresenceView,
    /// Business hours (营业时间) in the shop's timezone; absent: always
    /// open. Shown only when set.
    #[serde(
        deserialize_with = "crate::input::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(nullable = false)]
    hours: Option<HoursView>,
    assignment: AssignmentView,
}

/// Assignment (分配方式): direct, or by offer with a timeout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
#[schema(as = AssignmentSettings)]
pub struct AssignmentView {
    #[schema(value_type = schema::AssignmentMode)]
    mode: AssignmentMode,
    /// Seconds an offer waits for the agent to accept it.
    #[schema(minimum = 5, maximum = 600)]
    offer_timeout_secs: u32,
}

/// Business hours: opening intervals by day of the week and dates closed
/// all day.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
#[schema(as = Hours)]
pub struct HoursView {
    weekly: WeeklyView,
    /// `YYYY-MM-DD` dates (the shop's) closed all day.
    #[schema(value_type = Vec<String>, max_items = 366)]
    closed_dates: Vec<String>,
}

/// Opening intervals `["HH:MM", "HH:MM"]` (start included, end excluded;
/// `"24:00"` may end one) of each day, sorted and not overlapping; a day
/// left out is closed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
#[schema(as = WeeklyHours)]
pub struct WeeklyView {
    #[schema(value_type = Vec<Vec<String>>)]
    mon: Vec<[ClockTime; 2]>,
    #[schema(value_type = Vec<Vec<String>>)]
    tue: Vec<[ClockTime; 2]>,
    #[schema(value_type = Vec<Vec<String>>)]
    wed: Vec<[ClockTime; 2]>,
    #[schema(value_type = Vec<Vec<String>>)]
    thu: Vec<[ClockTime; 2]>,
    #[schema(value_type = Vec<Vec<String>>)]
    fri: Vec<[ClockTime; 2]>,
    #[schema(value_type = Vec<Vec<String>>)]
    sat: Vec<[ClockTime; 2]>,
    #[schema(value_type = Vec<Vec<String>>)]
    sun: Vec<[ClockTime; 2]>,
}

impl From<Hours> for HoursView {
    fn from(h: Hours) -> Self {
        let Hours {
            weekly,
            closed_dates,
        } = h;
        let Weekly {
            mon,
            tue,
            wed,
            thu,
            fri,
            sat,
            sun,
        } = weekly;
        Self {
            weekly: WeeklyView {
                mon,
                tue,
                wed,
                thu,
                fri,
                sat,
                sun,
            },
            closed_dates,
        }
    }
}

impl From<HoursView> for Hours {
    fn from(h: HoursView) -> Self {
        let w = h.weekly;
        Self {
            weekly: Weekly {
                mon: w.mon,
                tue: w.tue,
                wed: w.wed,
                thu: w.thu,
                fri: w.fri,
                sat: w.sat,
                sun: w.sun,
            },
            closed_dates: h.closed_dates,
        }
    }
}

/// Agent presence (an extension): with `timeout_secs`, an agent who is
/// `online` or `busy` and shows no sign of life for that long (a heartbeat,
/// or an open event stream with its own token) is set `offline`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
#[schema(as = PresenceSettings)]
pub struct PresenceView {
    /// Seconds without a sign of life; shown only when set (absent: presence
    /// is not tracked).
    #[serde(
        deserialize_with = "crate::input::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(nullable = false, minimum = 10, maximum = 3600)]
    timeout_secs: Option<u32>,
}

impl PresenceView {
    fn is_off(&self) -> bool {
        self.timeout_secs.is_none()
    }
}

/// The queue (排队).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
#[schema(as = QueueSettings)]
pub struct QueueView {
    /// `false` is no-queue mode (不排队).
    enabled: bool,
    #[schema(value_type = schema::QueueOrder)]
    order: QueueOrder,
    /// Most conversations the queue holds (排队上限, an extension); shown
    /// only when set.
    #[serde(
        deserialize_with = "crate::input::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(nullable = false, minimum = 1, maximum = 1_000_000)]
    max_length: Option<u32>,
    /// Every full `aging_secs` a conversation has waited adds 1 to its
    /// priority for queue order, up to 9; shown only when set.
    #[serde(
        deserialize_with = "crate::input::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(nullable = false, minimum = 1, maximum = 86_400)]
    aging_secs: Option<u32>,
}

/// Recent contact first (最近联系客服优先).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
#[schema(as = RecentContactSettings)]
pub struct RecentContactView {
    enabled: bool,
    /// How long a buyer's recent agent is remembered after the last contact.
    #[schema(minimum = 1, maximum = 31_622_400)]
    window_secs: u64,
    /// 分配不超过客服最大接待人数.
    within_max_load: bool,
}

/// One visitor routing rule (访客分流规则).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Rule)]
pub struct RuleView {
    /// What the inquiry must carry.
    #[serde(default)]
    when: WhenView,
    to: TargetView,
}

/// What an inquiry must carry for a rule to match; a field left out, or
/// `null`, matches anything.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
#[schema(as = When)]
pub struct WhenView {
    #[schema(value_type = Option<schema::Entry>)]
    entry: Option<Entry>,
    #[schema(value_type = Option<schema::Tag>)]
    question: Option<Tag>,
    #[schema(value_type = Option<schema::Tag>)]
    order_state: Option<Tag>,
    #[schema(value_type = Option<schema::Tag>)]
    product_id: Option<Tag>,
    #[schema(value_type = Option<schema::Tag>)]
    intent: Option<Tag>,
}

/// The target set of a rule: agents plus the members of groups; it names at
/// least one of either. Agents and groups that do not exist contribute
/// nobody.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TargetView {
    agents: Vec<AgentId>,
    groups: Vec<GroupId>,
    /// The priority of the rule's conversations (the higher of this and the
    /// inquiry's); shown only when set.
    #[serde(
        deserialize_with = "crate::input::present",
        skip_serializing_if = "Option::is_none"
    )]
    priority: Option<Priority>,
    /// Steps that widen the target set while a conversation waits; shown
    /// only when there are some.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    escalate: Vec<StepView>,
}

/// One escalation step: once a queued conversation of the rule has waited
/// `after_secs`, its target set also holds these agents and groups (or,
/// with `any`, every agent of the shop).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = EscalationStep)]
pub struct StepView {
    /// Seconds of waiting; strictly increasing from step to step.
    #[schema(minimum = 1, maximum = 86_400)]
    after_secs: u32,
    #[serde(default)]
    #[schema(value_type = Vec<schema::AgentId>)]
    agents: Vec<AgentId>,
    #[serde(default)]
    #[schema(value_type = Vec<schema::GroupId>)]
    groups: Vec<GroupId>,
    /// Every agent of the shop.
    #[serde(default)]
    any: bool,
}

impl PartialSchema for TargetView {
    fn schema() -> RefOr<Schema> {
        let list = |name: &str| ArrayBuilder::new().items(Ref::from_schema_name(name));
        let base = ObjectBuilder::new()
            .description(Some(
                "the target set: agents plus the members of groups; names at least one",
            ))
            .property("agents", list("AgentId"))
            .property("groups", list("GroupId"))
            .property(
                "priority",
                ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::Integer))
                    .minimum(Some(0))
                    .maximum(Some(9))
                    .description(Some("the priority of the rule's conversations")),
            )
            .property(
                "escalate",
                ArrayBuilder::new()
                    .items(Ref::from_schema_name("EscalationStep"))
                    .max_items(Some(MAX_STEPS)),
            )
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        let names_one = |field: &str, of: &str| {
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::Object))
                .property(field, list(of).min_items(Some(1)))
                .required(field)
        };
        AllOfBuilder::new()
            .item(base)
            .item(
                AnyOfBuilder::new()
                    .item(names_one("agents", "AgentId"))
                    .item(names_one("groups", "GroupId")),
            )
            .into()
    }
}

impl ToSchema for TargetView {
    fn name() -> std::borrow::Cow<'static, str> {
        "Target".into()
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push(("AgentId".into(), schema::AgentId::schema()));
        schemas.push(("GroupId".into(), schema::GroupId::schema()));
        schemas.push(("EscalationStep".into(), StepView::schema()));
    }
}

/// Offline routing (离线分流 / 代理账号).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
#[schema(as = OfflineSettings)]
pub struct OfflineView {
    /// Agents that take inquiries when nobody is online or busy.
    #[schema(value_type = Vec<schema::AgentId>)]
    agents: Vec<AgentId>,
}

/// Lifecycle durations, in seconds (1 to 31622400, a year).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
#[schema(as = Timers)]
pub struct TimersView {
    /// The reply target (3 minutes).
    #[schema(minimum = 1, maximum = 31_622_400)]
    reply_target_secs: u64,
    /// Auto end after the agent's last reply.
    #[schema(minimum = 1, maximum = 31_622_400)]
    auto_end_secs: u64,
    /// How long after the end the agent may still write and the buyer rate.
    #[schema(minimum = 1, maximum = 31_622_400)]
    reply_window_secs: u64,
    /// How far back an order allows a proactive conversation.
    #[schema(minimum = 1, maximum = 31_622_400)]
    proactive_window_secs: u64,
    /// Reply or reassign: an active conversation whose agent has not replied
    /// this long after it was given to them moves to another available
    /// agent; shown only when set.
    #[serde(
        deserialize_with = "crate::input::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(nullable = false, minimum = 10, maximum = 3600)]
    reassign_after_secs: Option<u32>,
    /// An agent who misses this many in a row is set busy; shown only when
    /// set.
    #[serde(
        deserialize_with = "crate::input::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(nullable = false, minimum = 1, maximum = 10)]
    auto_busy_after_misses: Option<u32>,
}

impl From<fenliu_core::RoutingSettings> for Routing {
    fn from(s: fenliu_core::RoutingSettings) -> Self {
        let fenliu_core::RoutingSettings {
            strategy,
            queue,
            recent_contact,
            rules,
            overflow,
            offline,
            busy_threshold,
            timers,
            leaderboard_visible,
            timezone,
            presence,
            hours,
            assignment,
        } = s;
        let PresenceSettings { timeout_secs } = presence;
        let AssignmentSettings {
            mode,
            offer_timeout_secs,
        } = assignment;
        let QueueSettings {
            enabled,
            order,
            max_length,
            aging_secs,
        } = queue;
        let RecentContactSettings {
            enabled: recent_enabled,
            window_secs,
            within_max_load,
        } = recent_contact;
        let OfflineSettings { agents } = offline;
        let Timers {
            reply_target_secs,
            auto_end_secs,
            reply_window_secs,
            proactive_window_secs,
            reassign_after_secs,
            auto_busy_after_misses,
        } = timers;
        Self {
            strategy,
            queue: QueueView {
                enabled,
                order,
                max_length,
                aging_secs,
            },
            recent_contact: RecentContactView {
                enabled: recent_enabled,
                window_secs,
                within_max_load,
            },
            rules: rules.into_iter().map(RuleView::from).collect(),
            overflow,
            offline: OfflineView { agents },
            busy_threshold,
            timers: TimersView {
                reply_target_secs,
                auto_end_secs,
                reply_window_secs,
                proactive_window_secs,
                reassign_after_secs,
                auto_busy_after_misses,
            },
            leaderboard_visible,
            timezone,
            presence: PresenceView { timeout_secs },
            hours: hours.map(HoursView::from),
            assignment: AssignmentView {
                mode,
                offer_timeout_secs,
            },
        }
    }
}

impl From<Rule> for RuleView {
    fn from(r: Rule) -> Self {
        let Rule { when, to } = r;
        let When {
            entry,
            question,
            order_state,
            product_id,
            intent,
        } = when;
        let Target {
            agents,
            groups,
            priority,
            escalate,
        } = to;
        let escalate = escalate
            .into_iter()
            .map(|s| {
                let Step {
                    after_secs,
                    agents,
                    groups,
                    any,
                } = s;
                StepView {
                    after_secs,
                    agents,
                    groups,
                    any,
                }
            })
            .collect();
        Self {
            when: WhenView {
                entry,
                question,
                order_state,
                product_id,
                intent,
            },
            to: TargetView {
                agents,
                groups,
                priority,
                escalate,
            },
        }
    }
}

impl From<Routing> for fenliu_core::RoutingSettings {
    fn from(s: Routing) -> Self {
        let Routing {
            strategy,
            queue,
            recent_contact,
            rules,
            overflow,
            offline,
            busy_threshold,
            timers,
            leaderboard_visible,
            timezone,
            presence,
            hours,
            assignment,
        } = s;
        Self {
            strategy,
            queue: QueueSettings {
                enabled: queue.enabled,
                order: queue.order,
                max_length: queue.max_length,
                aging_secs: queue.aging_secs,
            },
            recent_contact: RecentContactSettings {
                enabled: recent_contact.enabled,
                window_secs: recent_contact.window_secs,
                within_max_load: recent_contact.within_max_load,
            },
            rules: rules
                .into_iter()
                .map(|r| Rule {
                    when: When {
                        entry: r.when.entry,
                        question: r.when.question,
                        order_state: r.when.order_state,
                        product_id: r.when.product_id,
                        intent: r.when.intent,
                    },
                    to: Target {
                        agents: r.to.agents,
                        groups: r.to.groups,
                        priority: r.to.priority,
                        escalate: r
                            .to
                            .escalate
                            .into_iter()
                            .map(|s| Step {
                                after_secs: s.after_secs,
                                agents: s.agents,
                                groups: s.groups,
                                any: s.any,
                            })
                            .collect(),
                    },
                })
                .collect(),
            overflow,
            offline: OfflineSettings {
                agents: offline.agents,
            },
            busy_threshold,
            timers: Timers {
                reply_target_secs: timers.reply_target_secs,
                auto_end_secs: timers.auto_end_secs,
                reply_window_secs: timers.reply_window_secs,
                proactive_window_secs: timers.proactive_window_secs,
                reassign_after_secs: timers.reassign_after_secs,
                auto_busy_after_misses: timers.auto_busy_after_misses,
            },
            leaderboard_visible,
            timezone,
            presence: PresenceSettings {
                timeout_secs: presence.timeout_secs,
            },
            hours: hours.map(Hours::from),
            assignment: AssignmentSettings {
                mode: assignment.mode,
                offer_timeout_secs: assignment.offer_timeout_secs,
            },
        }
    }
}

macro_rules! default_from_core {
    ($($mirror:ty = $core:expr;)+) => {$(
        impl Default for $mirror {
            fn default() -> Self {
                let whole = Routing::from(fenliu_core::RoutingSettings::default());
                $core(whole)
            }
        }
    )+};
}

default_from_core! {
    Routing = |w| w;
    QueueView = |w: Routing| w.queue;
    RecentContactView = |w: Routing| w.recent_contact;
    OfflineView = |w: Routing| w.offline;
    TimersView = |w: Routing| w.timers;
    PresenceView = |w: Routing| w.presence;
    AssignmentView = |w: Routing| w.assignment;
}

/// Settings read from a `PUT /routing` body and checked whole (the ranges
/// serde cannot express, such as a rule naming nobody): a 400 as the body is
/// read.
#[derive(Debug)]
pub struct ValidRouting(pub fenliu_core::RoutingSettings);

impl TryFrom<Routing> for ValidRouting {
    type Error = InvalidInput;

    fn try_from(settings: Routing) -> Result<Self, Self::Error> {
        let settings = fenliu_core::RoutingSettings::from(settings);
        settings.validate()?;
        Ok(Self(settings))
    }
}

impl<'de> Deserialize<'de> for ValidRouting {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Routing::deserialize(d)?;
        Self::try_from(raw).map_err(|e| serde::de::Error::custom(e.message()))
    }
}

/// The bounds the schema states, as the core has them (checked by a test).
pub const BOUNDS: [(&str, u64); 6] = [
    ("rules", MAX_RULES as u64),
    ("busy_threshold", MAX_BUSY_THRESHOLD as u64),
    ("max_length", MAX_QUEUE_LENGTH as u64),
    ("secs", MAX_DURATION_SECS),
    ("aging_secs", MAX_WAIT_SECS as u64),
    ("escalate", MAX_STEPS as u64),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_defaults_are_the_cores_and_round_trip() {
        let core = fenliu_core::RoutingSettings::default();
        let mirror = Routing::default();
        assert_eq!(fenliu_core::RoutingSettings::from(mirror.clone()), core);
        let text = serde_json::to_value(&mirror).unwrap();
        assert!(text["queue"].get("max_length").is_none());
        let back: Routing = serde_json::from_value(text).unwrap();
        assert_eq!(back, mirror);
    }

    #[test]
    fn settings_the_server_writes_read_back_the_same() {
        let put = json!({"rules": [{"when": {"entry": "live"}, "to": {"groups": ["g"]}}],
                         "queue": {"max_length": 3}});
        let ValidRouting(core) = serde_json::from_value(put).unwrap();
        let shown = serde_json::to_value(Routing::from(core.clone())).unwrap();
        assert_eq!(shown["rules"][0]["when"]["question"], json!(null));
        let ValidRouting(again) = serde_json::from_value(shown).unwrap();
        assert_eq!(again, core);
    }

    #[test]
    fn null_is_refused_outside_when_and_ranges_as_the_body_is_read() {
        for bad in [
            json!({"queue": {"max_length": null}}),
            json!({"strategy": null}),
            json!({"timers": {"auto_end_secs": 0}}),
            json!({"rules": [{"when": {}, "to": {}}]}),
        ] {
            assert!(
                serde_json::from_value::<ValidRouting>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_schema_states_the_cores_bounds() {
        let doc = crate::openapi::document_json();
        let schemas = &doc["components"]["schemas"];
        for (what, bound) in BOUNDS {
            let found = match what {
                "rules" => &schemas["RoutingSettings"]["properties"]["rules"]["maxItems"],
                "busy_threshold" => {
                    &schemas["RoutingSettings"]["properties"]["busy_threshold"]["maximum"]
                }
                "max_length" => &schemas["QueueSettings"]["properties"]["max_length"]["maximum"],
                "aging_secs" => {
                    assert_eq!(
                        schemas["EscalationStep"]["properties"]["after_secs"]["maximum"].as_u64(),
                        Some(bound)
                    );
                    &schemas["QueueSettings"]["properties"]["aging_secs"]["maximum"]
                }
                "escalate" => &schemas["Target"]["allOf"][0]["properties"]["escalate"]["maxItems"],
                _ => &schemas["Timers"]["properties"]["auto_end_secs"]["maximum"],
            };
            assert_eq!(found.as_u64(), Some(bound), "{what}: {found}");
        }
    }
}
