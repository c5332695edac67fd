//! Routing settings of a shop (分流设置): strategy, queue, recent contact,
//! rules, overflow, offline routing, timers and ranking visibility.
//!
//! Every field is optional on input; absent means the default of the spec.

use serde::{Deserialize, Serialize};

use crate::error::InvalidInput;
use crate::hours::Hours;
use crate::ids::{AgentId, GroupId, Tag};
use crate::inquiry::Entry;
pub use crate::inquiry::{Inquiry, Priority};
use crate::time::{secs_to_ms, Millis, TzOffset, DAY_MS};

/// How an agent is picked among the available agents of the target set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Lowest saturation first (接待量不饱和的客服优先); ties at random.
    #[default]
    LeastSaturation,
    /// Fewest conversations assigned today first (平均分配).
    Even,
    /// Random, proportional to weight (分流权重), penalised when busy.
    Weighted,
    /// Fewest conversations assigned today per hour online today first
    /// (fair share: an agent who starts late is not flooded).
    Fair,
}

/// The least time online an agent counts with under `fair` (and in the
/// fairness figure): ten minutes, so that an agent who has just come online
/// is not given every inquiry.
pub const FAIR_MIN_ONLINE_MS: Millis = 10 * 60 * 1000;

/// Which queued conversation is served first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueOrder {
    /// 先排队先接入.
    #[default]
    Fifo,
    /// 后排队先接入.
    Lifo,
}

/// What happens when no agent of the target set is online.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// The target set becomes every online agent of the shop.
    #[default]
    AnyOnline,
    /// Stay with the target set (and queue).
    None,
}

/// The queue (排队).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueSettings {
    /// `false` is no-queue mode (不排队).
    pub enabled: bool,
    /// Queue order.
    pub order: QueueOrder,
    /// Most conversations the queue holds (排队上限), an extension; a new
    /// inquiry that would wait beyond it is refused. `None`: no limit.
    pub max_length: Option<u32>,
    /// Every full `aging_secs` a conversation has waited raises its priority
    /// for queue order by 1, up to 9. `None`: no aging.
    pub aging_secs: Option<u32>,
}

impl QueueSettings {
    /// The aging period in milliseconds, if aging is on.
    pub(crate) fn aging_ms(&self) -> Option<Millis> {
        self.aging_secs.map(|s| secs_to_ms(u64::from(s)))
    }
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            order: QueueOrder::Fifo,
            max_length: None,
            aging_secs: None,
        }
    }
}

/// Highest accepted `queue.max_length`.
pub const MAX_QUEUE_LENGTH: u32 = 1_000_000;

/// Recent contact first (最近联系客服优先).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecentContactSettings {
    /// On by default.
    pub enabled: bool,
    /// How long a mapping lives after its last refresh.
    pub window_secs: u64,
    /// 分配不超过客服最大接待人数.
    pub within_max_load: bool,
}

impl RecentContactSettings {
    /// When a mapping refreshed at `now` lapses.
    pub(crate) fn expires_at(&self, now: Millis) -> Millis {
        now + secs_to_ms(self.window_secs)
    }
}

impl Default for RecentContactSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            window_secs: 259_200,
            within_max_load: true,
        }
    }
}

/// What an inquiry must carry for a rule to match; an absent field matches anything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct When {
    /// Entry (咨询入口).
    pub entry: Option<Entry>,
    /// Exact question.
    pub question: Option<Tag>,
    /// Exact order state.
    pub order_state: Option<Tag>,
    /// Exact product.
    pub product_id: Option<Tag>,
    /// Exact intent.
    pub intent: Option<Tag>,
}

/// The target set of a rule: agents plus the members of groups.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Target {
    /// Agents named directly.
    pub agents: Vec<AgentId>,
    /// Groups whose members are in the target set.
    pub groups: Vec<GroupId>,
    /// The priority of the conversations of this rule; a conversation has
    /// the higher of this and the inquiry's own.
    pub priority: Option<Priority>,
    /// Steps that widen the target set while a conversation waits.
    pub escalate: Vec<Step>,
}

/// One escalation step (like bullseye rings or routing steps): once a queued
/// conversation of the rule has waited `after_secs`, its target set also
/// holds these agents and groups, or, with `any`, every agent of the shop.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Step {
    /// Seconds of waiting after which the step is reached, 1..=86400.
    pub after_secs: u32,
    /// Agents added.
    pub agents: Vec<AgentId>,
    /// Groups added.
    pub groups: Vec<GroupId>,
    /// Every agent of the shop.
    pub any: bool,
}

impl Step {
    /// When a conversation queued at `since` reaches this step.
    pub(crate) fn due_at(&self, since: Millis) -> Millis {
        since + secs_to_ms(u64::from(self.after_secs))
    }
}

/// Most escalation steps of one rule.
pub const MAX_STEPS: usize = 5;
/// Longest `after_secs` of a step and longest `queue.aging_secs`: a day.
pub const MAX_WAIT_SECS: u32 = 86_400;

/// One visitor routing rule (访客分流规则).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The condition.
    #[serde(default)]
    pub when: When,
    /// The target set.
    pub to: Target,
}

/// Offline routing (离线分流 / 代理账号).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OfflineSettings {
    /// Agents that take inquiries when nobody is online or busy.
    pub agents: Vec<AgentId>,
}

/// Lifecycle durations, in seconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timers {
    /// 3-minute reply target.
    pub reply_target_secs: u64,
    /// Auto end after the agent's last reply.
    pub auto_end_secs: u64,
    /// How long after the end the agent may still write and the buyer rate.
    pub reply_window_secs: u64,
    /// How far back an order allows a proactive conversation.
    pub proactive_window_secs: u64,
    /// Reply or reassign: an active conversation whose agent has not sent a
    /// first reply this long after it was given to them moves to another
    /// available agent of its target set; `None`: off.
    pub reassign_after_secs: Option<u32>,
    /// An agent who misses this many in a row (see `reassign_after_secs`;
    /// an offer let lapse counts too) is set busy; `None`: off.
    pub auto_busy_after_misses: Option<u32>,
}

impl Default for Timers {
    fn default() -> Self {
        Self {
            reply_target_secs: 180,
            auto_end_secs: 900,
            reply_window_secs: 259_200,
            proactive_window_secs: 2_592_000,
            reassign_after_secs: None,
            auto_busy_after_misses: None,
        }
    }
}

/// Accepted values of `timers.reassign_after_secs`.
pub const REASSIGN_AFTER_SECS: std::ops::RangeInclusive<u32> = 10..=3600;
/// Accepted values of `timers.auto_busy_after_misses`.
pub const AUTO_BUSY_AFTER_MISSES: std::ops::RangeInclusive<u32> = 1..=10;
/// Accepted values of `assignment.offer_timeout_secs`.
pub const OFFER_TIMEOUT_SECS: std::ops::RangeInclusive<u32> = 5..=600;

/// How a decision that picks an agent gives them the conversation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentMode {
    /// The conversation is the agent's at once.
    #[default]
    Direct,
    /// The conversation is offered; the agent accepts or rejects it, or the
    /// offer lapses.
    Offer,
}

/// Assignment (offers, spec section 9).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AssignmentSettings {
    /// Direct or by offer.
    pub mode: AssignmentMode,
    /// How long an offer waits for the agent.
    pub offer_timeout_secs: u32,
}

impl Default for AssignmentSettings {
    fn default() -> Self {
        Self {
            mode: AssignmentMode::Direct,
            offer_timeout_secs: 30,
        }
    }
}

impl AssignmentSettings {
    /// Whether decisions make offers.
    pub fn offers(&self) -> bool {
        self.mode == AssignmentMode::Offer
    }

    /// When an offer made at `at` lapses.
    pub(crate) fn offer_lapses_at(&self, at: Millis) -> Millis {
        at + secs_to_ms(u64::from(self.offer_timeout_secs))
    }
}

/// An ended conversation is kept this long past its reply window, so that a
/// late message or rating is told that the window has passed (409) rather
/// than that the conversation does not exist (404).
pub const PURGE_GRACE_MS: Millis = DAY_MS;

/// Every deadline and window of a conversation or an order, each written
/// once: arming a timer, firing it and re-arming it after a restore or a
/// change of durations all read these.
impl Timers {
    /// When a reply clock that started at `since` becomes late. A reply at
    /// exactly the target is still within it, so this is one millisecond later.
    pub(crate) fn late_at(&self, since: Millis) -> Millis {
        since + secs_to_ms(self.reply_target_secs) + 1
    }

    /// When an active conversation whose agent last replied at `reply` ends
    /// by itself, if the buyer has not written since.
    pub(crate) fn auto_end_at(&self, reply: Millis) -> Millis {
        reply + secs_to_ms(self.auto_end_secs)
    }

    /// Whether, at `now`, the reply window of a conversation that ended at
    /// `ended` is still open (its last instant included): late agent
    /// messages, ratings and order credit.
    pub(crate) fn reply_window_open(&self, ended: Millis, now: Millis) -> bool {
        now <= ended + secs_to_ms(self.reply_window_secs)
    }

    /// When a conversation ended (or cancelled) at `ended` is forgotten.
    pub(crate) fn purge_at(&self, ended: Millis) -> Millis {
        ended + secs_to_ms(self.reply_window_secs) + PURGE_GRACE_MS
    }

    /// When a conversation given to its agent at `assigned` is reassigned
    /// if the agent has not replied, with reply-or-reassign on.
    pub(crate) fn reassign_at(&self, assigned: Millis) -> Option<Millis> {
        self.reassign_after_secs
            .map(|s| assigned + secs_to_ms(u64::from(s)))
    }

    /// When an order placed at `at` is forgotten (and its record may lapse).
    pub(crate) fn order_expires_at(&self, at: Millis) -> Millis {
        at + secs_to_ms(self.proactive_window_secs)
    }

    /// Whether an order placed at `at` still allows a proactive conversation
    /// at `now`.
    pub(crate) fn proactive_window_open(&self, at: Millis, now: Millis) -> bool {
        now - at <= secs_to_ms(self.proactive_window_secs)
    }
}

/// Agent presence (an extension): with `timeout_secs`, an agent who is
/// online or busy and shows no sign of life (a heartbeat, an open event
/// stream) for that long is set offline by the node. The node tracks the
/// signs; the core only holds the setting and applies the lapse.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PresenceSettings {
    /// Seconds without a sign of life before the agent is set offline;
    /// `None` (the default) tracks nothing.
    pub timeout_secs: Option<u32>,
}

/// The presence timeouts accepted, in seconds.
pub const PRESENCE_TIMEOUT_SECS: std::ops::RangeInclusive<u32> = 10..=3600;

/// All routing settings of a shop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoutingSettings {
    /// Pick strategy.
    pub strategy: Strategy,
    /// Queue.
    pub queue: QueueSettings,
    /// Recent contact first.
    pub recent_contact: RecentContactSettings,
    /// Ordered rules; the first match wins.
    pub rules: Vec<Rule>,
    /// Overflow when the target set has nobody online.
    pub overflow: Overflow,
    /// Offline routing.
    pub offline: OfflineSettings,
    /// Unreplied conversations above which a weight is divided (繁忙度).
    pub busy_threshold: u32,
    /// Timers.
    pub timers: Timers,
    /// Whether agents see each other in the ranking.
    pub leaderboard_visible: bool,
    /// The shop's day boundary.
    pub timezone: TzOffset,
    /// Agent presence.
    pub presence: PresenceSettings,
    /// Business hours; `None`: always open.
    pub hours: Option<Hours>,
    /// Direct assignment or offers.
    pub assignment: AssignmentSettings,
}

impl Default for RoutingSettings {
    fn default() -> Self {
        Self {
            strategy: Strategy::default(),
            queue: QueueSettings::default(),
            recent_contact: RecentContactSettings::default(),
            rules: Vec::new(),
            overflow: Overflow::default(),
            offline: OfflineSettings::default(),
            busy_threshold: 4,
            timers: Timers::default(),
            leaderboard_visible: true,
            timezone: TzOffset::default(),
            presence: PresenceSettings::default(),
            hours: None,
            assignment: AssignmentSettings::default(),
        }
    }
}

/// Longest duration accepted for any timer or window: one year.
pub const MAX_DURATION_SECS: u64 = 366 * 86_400;
/// Most rules a shop may have.
pub const MAX_RULES: usize = 1_000;
/// Highest accepted busy threshold.
pub const MAX_BUSY_THRESHOLD: u32 = 1_000;

fn check_secs(name: &str, value: u64) -> Result<(), InvalidInput> {
    if value == 0 || value > MAX_DURATION_SECS {
        return Err(InvalidInput::new(format!(
            "{name} must be between 1 and {MAX_DURATION_SECS}"
        )));
    }
    Ok(())
}

impl RoutingSettings {
    /// Checks the ranges that serde cannot express.
    pub fn validate(&self) -> Result<(), InvalidInput> {
        check_secs(
            "recent_contact.window_secs",
            self.recent_contact.window_secs,
        )?;
        check_secs("timers.reply_target_secs", self.timers.reply_target_secs)?;
        check_secs("timers.auto_end_secs", self.timers.auto_end_secs)?;
        check_secs("timers.reply_window_secs", self.timers.reply_window_secs)?;
        check_secs(
            "timers.proactive_window_secs",
            self.timers.proactive_window_secs,
        )?;
        if self
            .queue
            .max_length
            .is_some_and(|m| !(1..=MAX_QUEUE_LENGTH).contains(&m))
        {
            return Err(InvalidInput::new(format!(
                "queue.max_length must be between 1 and {MAX_QUEUE_LENGTH}"
            )));
        }
        if self.busy_threshold > MAX_BUSY_THRESHOLD {
            return Err(InvalidInput::new(format!(
                "busy_threshold must be at most {MAX_BUSY_THRESHOLD}"
            )));
        }
        if let Some(t) = self.presence.timeout_secs {
            if !PRESENCE_TIMEOUT_SECS.contains(&t) {
                return Err(InvalidInput::new(format!(
                    "presence.timeout_secs must be between {} and {}",
                    PRESENCE_TIMEOUT_SECS.start(),
                    PRESENCE_TIMEOUT_SECS.end()
                )));
            }
        }
        let in_range = |name: &str, v: Option<u32>, range: std::ops::RangeInclusive<u32>| match v {
            Some(v) if !range.contains(&v) => Err(InvalidInput::new(format!(
                "{name} must be between {} and {}",
                range.start(),
                range.end()
            ))),
            _ => Ok(()),
        };
        in_range(
            "timers.reassign_after_secs",
            self.timers.reassign_after_secs,
            REASSIGN_AFTER_SECS,
        )?;
        in_range(
            "timers.auto_busy_after_misses",
            self.timers.auto_busy_after_misses,
            AUTO_BUSY_AFTER_MISSES,
        )?;
        in_range(
            "assignment.offer_timeout_secs",
            Some(self.assignment.offer_timeout_secs),
            OFFER_TIMEOUT_SECS,
        )?;
        if self.rules.len() > MAX_RULES {
            return Err(InvalidInput::new(format!(
                "at most {MAX_RULES} rules are allowed"
            )));
        }
        if self
            .queue
            .aging_secs
            .is_some_and(|a| !(1..=MAX_WAIT_SECS).contains(&a))
        {
            return Err(InvalidInput::new(format!(
                "queue.aging_secs must be between 1 and {MAX_WAIT_SECS}"
            )));
        }
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.to.agents.is_empty() && rule.to.groups.is_empty() {
                return Err(InvalidInput::new(format!(
                    "rules[{i}].to must name at least one agent or group"
                )));
            }
            rule.to.validate_steps(i)?;
        }
        if let Some(hours) = &self.hours {
            hours.validate()?;
        }
        Ok(())
    }

    /// Whether the shop is open at `now` (always, without business hours).
    pub fn is_open(&self, now: Millis) -> bool {
        self.hours
            .as_ref()
            .is_none_or(|h| h.is_open(self.timezone, now))
    }

    /// The next opening after `now`, while closed.
    pub fn opens_at(&self, now: Millis) -> Option<Millis> {
        self.hours
            .as_ref()
            .filter(|h| !h.is_open(self.timezone, now))
            .and_then(|h| h.next_opening(self.timezone, now))
    }

    /// The index of the first rule that matches the inquiry, if any.
    pub fn matching_rule(&self, inquiry: &Inquiry) -> Option<usize> {
        self.rules.iter().position(|r| r.when.matches(inquiry))
    }
}

impl Target {
    fn validate_steps(&self, rule: usize) -> Result<(), InvalidInput> {
        if self.escalate.len() > MAX_STEPS {
            return Err(InvalidInput::new(format!(
                "rules[{rule}].to.escalate has at most {MAX_STEPS} steps"
            )));
        }
        let mut previous = 0;
        for (j, step) in self.escalate.iter().enumerate() {
            let at = format!("rules[{rule}].to.escalate[{j}]");
            if !(1..=MAX_WAIT_SECS).contains(&step.after_secs) {
                return Err(InvalidInput::new(format!(
                    "{at}.after_secs must be between 1 and {MAX_WAIT_SECS}"
                )));
            }
            if step.after_secs <= previous {
                return Err(InvalidInput::new(format!(
                    "{at}.after_secs must be greater than the step before"
                )));
            }
            if !step.any && step.agents.is_empty() && step.groups.is_empty() {
                return Err(InvalidInput::new(format!(
                    "{at} must name an agent or a group, or set any"
                )));
            }
            previous = step.after_secs;
        }
        Ok(())
    }

    /// The steps a conversation queued at `since` has reached at `now`.
    pub(crate) fn steps_reached(&self, since: Millis, now: Millis) -> usize {
        self.escalate
            .iter()
            .take_while(|s| s.due_at(since) <= now)
            .count()
    }
}

impl When {
    /// Whether this condition matches the inquiry.
    pub fn matches(&self, q: &Inquiry) -> bool {
        fn field(want: &Option<Tag>, got: &Option<Tag>) -> bool {
            want.as_ref().is_none_or(|w| got.as_ref() == Some(w))
        }
        self.entry.is_none_or(|e| e == q.entry)
            && field(&self.question, &q.question)
            && field(&self.order_state, &q.order_state)
            && field(&self.product_id, &q.product_id)
            && field(&self.intent, &q.intent)
    }
}
