//! A scenario file (TOML): the day, the agents, the buyers and the routing
//! variants to compare, read and checked whole before anything runs.
//!
//! Reading goes in two steps: serde reads the file into the `Raw*` structs
//! (unknown fields refused, types checked, with the line and column of a
//! mistake), then [`Scenario::parse`] checks every value and builds the
//! validated [`Scenario`], naming the field path of anything it refuses:
//! `examples/sim/shifts.toml: agents[1].shifts[0]: "12:00-25:00": hours are 00..=24`.
//! Routing variants go through `fenliu-api`'s own reading of `PUT /routing`,
//! so a variant is accepted exactly when the API would accept it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use fenliu_api::settings::{Routing, ValidRouting};
use fenliu_core::inquiry::Priority;
use fenliu_core::time::{Day, DAY_MS};
use fenliu_core::{
    AgentId, Entry, GroupId, MaxLoad, Millis, RoutingSettings, Tag, TzOffset, Weight,
};
use rand::Rng;
use serde::Deserialize;

use crate::dist::{unit, Count, Dist};

mod clock;
mod raw;

use clock::{parse_clock, parse_date, parse_shift};
use raw::{RawAgent, RawBuyers, RawPeak, RawScenario, RawVariant};

/// Most agents a scenario may name.
pub const MAX_AGENTS: usize = 10_000;
/// Most inquiries a scenario's day may have.
pub const MAX_INQUIRIES: u32 = 1_000_000;
/// Most variants a scenario may compare.
pub const MAX_VARIANTS: usize = 16;
/// Most shifts of one agent.
pub const MAX_SHIFTS: usize = 24;
/// Most peaks of the arrival curve.
pub const MAX_PEAKS: usize = 48;

/// A scenario that cannot be used, and where the mistake is.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file (or a routing file it names) cannot be read.
    #[error("{file}: {error}")]
    Read {
        /// The file.
        file: String,
        /// Why (in the message, not a separate cause, so it is told once).
        error: std::io::Error,
    },
    /// Not TOML of the scenario's shape (unknown field, wrong type, ...);
    /// the message gives the line and column.
    #[error("{file}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// The TOML reader's message.
        message: String,
    },
    /// A value out of its range or inconsistent with another.
    #[error("{file}: {path}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// Field path, e.g. `agents[1].shifts[0]`.
        path: String,
        /// Why.
        message: String,
    },
}

// ---- The validated scenario ----

/// How arrivals are drawn from the curve.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arrivals {
    /// A non-homogeneous Poisson process: the day's count is Poisson with
    /// mean `inquiries`, each arrival placed independently by the curve.
    #[default]
    Poisson,
    /// Exactly `inquiries`, apportioned to the curve's pieces by their
    /// share (largest remainder) and spread at random within each.
    Exact,
}

/// A validated scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The file it was read from, as given.
    pub file: String,
    /// The seed of every random stream (the `--seed` flag replaces it).
    pub seed: u64,
    /// The simulated day, `YYYY-MM-DD`.
    pub date: String,
    /// The shop's time zone; every variant's `timezone` is set to it.
    pub timezone: TzOffset,
    /// The shop day of `date`.
    pub day: Day,
    /// 00:00 of the day in the shop's zone.
    pub day_start: Millis,
    /// The agents.
    pub agents: Vec<AgentSpec>,
    /// The buyers.
    pub buyers: BuyerSpec,
    /// The routing variants compared.
    pub variants: Vec<Variant>,
}

impl Scenario {
    /// The instant at which the day ends.
    pub fn day_end(&self) -> Millis {
        self.day_start + DAY_MS
    }
}

/// One agent of the scenario.
#[derive(Clone, Debug)]
pub struct AgentSpec {
    /// Its id.
    pub id: AgentId,
    /// 最大接待人数.
    pub max_load: MaxLoad,
    /// 分流权重.
    pub weight: Weight,
    /// Group memberships.
    pub groups: Vec<GroupId>,
    /// When it is online, sorted and not overlapping.
    pub shifts: Vec<Shift>,
    /// From the buyer's message to the agent's reply, before `speed`.
    pub reply_delay: Dist,
    /// From the agent's last reply to its ending the chat, before `speed`.
    pub end_after: Dist,
    /// Multiplies every delay of the agent (2 is twice as slow).
    pub speed: f64,
}

/// An interval of the day, in minutes since 00:00: `start..end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Shift {
    /// First minute online.
    pub start_min: u32,
    /// First minute offline again (up to 1440).
    pub end_min: u32,
}

/// The buyers of the day.
#[derive(Clone, Debug)]
pub struct BuyerSpec {
    /// Inquiries of the day (first visits; returns come on top).
    pub inquiries: u32,
    /// How arrivals are drawn.
    pub arrivals: Arrivals,
    /// The arrival curve in pieces of constant intensity.
    pub curve: Vec<Piece>,
    /// Entry mix.
    pub entries: Mix<Entry>,
    /// Question mix (`None`: no question).
    pub questions: Mix<Option<Tag>>,
    /// Order state mix.
    pub order_states: Mix<Option<Tag>>,
    /// Product mix.
    pub products: Mix<Option<Tag>>,
    /// Intent mix.
    pub intents: Mix<Option<Tag>>,
    /// Mix of the buyers' priorities (0 to 9).
    pub priorities: Mix<Priority>,
    /// Chance that a buyer comes back after its chat ended.
    pub return_probability: f64,
    /// From the end of the chat to the return.
    pub return_after: Dist,
    /// How long a queued buyer waits before leaving the queue.
    pub patience: Dist,
    /// Buyer messages per chat, the opening one included.
    pub messages: Count,
    /// From the agent's reply to the buyer's next message.
    pub message_gap: Dist,
}

/// A piece of the arrival curve: `share` of the day's arrivals, spread
/// evenly over `len_ms` from `start_ms` after 00:00.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Piece {
    /// Offset from 00:00.
    pub start_ms: Millis,
    /// Length.
    pub len_ms: Millis,
    /// Share of the day's arrivals, 0..=1 (the pieces sum to 1).
    pub share: f64,
}

/// Weighted choices, in the file's (sorted) order.
#[derive(Clone, Debug)]
pub struct Mix<T> {
    items: Vec<(T, f64)>,
    total: f64,
}

impl<T: Clone> Mix<T> {
    fn one(value: T) -> Self {
        Self {
            items: vec![(value, 1.0)],
            total: 1.0,
        }
    }

    /// One choice, with probability proportional to its weight. Always
    /// takes exactly one draw, so that the draws after it do not depend on
    /// the mix.
    pub fn pick<R: Rng + ?Sized>(&self, rng: &mut R) -> T {
        let mut left = unit(rng) * self.total;
        for (value, weight) in &self.items {
            if left < *weight {
                return value.clone();
            }
            left -= weight;
        }
        // Rounding left a sliver past the last positive weight.
        let last = self.items.iter().rev().find(|(_, w)| *w > 0.0);
        last.map_or_else(|| self.items[0].0.clone(), |(v, _)| v.clone())
    }
}

/// One routing variant.
#[derive(Clone, Debug)]
pub struct Variant {
    /// Its name in reports and charts.
    pub name: String,
    /// The settings, as `PUT /routing` would have stored them.
    pub settings: RoutingSettings,
}

// ---- Reading and checking ----

/// Where in the file a value is, for messages.
struct At<'a> {
    file: &'a str,
}

impl At<'_> {
    fn err(&self, path: impl Into<String>, message: impl Into<String>) -> ScenarioError {
        ScenarioError::Invalid {
            file: self.file.to_owned(),
            path: path.into(),
            message: message.into(),
        }
    }
}

impl Scenario {
    /// Reads and checks the scenario at `path`; routing files are found
    /// relative to its folder.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ScenarioError::Read {
            file: file.clone(),
            error,
        })?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse(&text, &file, &dir)
    }

    /// Checks a scenario's text; `file` names it in messages, `dir` is
    /// where its routing files are.
    pub fn parse(text: &str, file: &str, dir: &Path) -> Result<Self, ScenarioError> {
        let raw: RawScenario = toml::from_str(text).map_err(|e| ScenarioError::Syntax {
            file: file.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        let at = At { file };
        let timezone =
            TzOffset::parse(&raw.timezone).map_err(|e| at.err("timezone", e.message()))?;
        let day =
            parse_date(&raw.date).map_err(|m| at.err("date", format!("{:?}: {m}", raw.date)))?;
        if raw.agents.is_empty() || raw.agents.len() > MAX_AGENTS {
            return Err(at.err("agents", format!("a scenario has 1 to {MAX_AGENTS} agents")));
        }
        let mut seen = BTreeSet::new();
        let mut agents = Vec::with_capacity(raw.agents.len());
        for (i, a) in raw.agents.into_iter().enumerate() {
            let agent = check_agent(&at, i, a)?;
            if !seen.insert(agent.id.clone()) {
                return Err(at.err(
                    format!("agents[{i}].id"),
                    format!("{:?} is named twice", agent.id.as_str()),
                ));
            }
            agents.push(agent);
        }
        let buyers = check_buyers(&at, raw.buyers)?;
        if raw.variants.len() < 2 || raw.variants.len() > MAX_VARIANTS {
            return Err(at.err(
                "variants",
                format!("a scenario compares 2 to {MAX_VARIANTS} variants"),
            ));
        }
        let mut names = BTreeSet::new();
        let mut variants = Vec::new();
        for (i, v) in raw.variants.into_iter().enumerate() {
            let variant = check_variant(&at, i, v, dir, timezone)?;
            if !names.insert(variant.name.clone()) {
                return Err(at.err(
                    format!("variants[{i}].name"),
                    format!("{:?} is named twice", variant.name),
                ));
            }
            variants.push(variant);
        }
        Ok(Scenario {
            file: file.to_owned(),
            seed: raw.seed,
            date: raw.date,
            timezone,
            day,
            day_start: timezone.start_of(day),
            agents,
            buyers,
            variants,
        })
    }
}

fn check_agent(at: &At<'_>, i: usize, a: RawAgent) -> Result<AgentSpec, ScenarioError> {
    let p = |field: &str| format!("agents[{i}].{field}");
    let id = AgentId::parse(&a.id)
        .map_err(|e| at.err(p("id"), format!("{:?}: {}", a.id, e.message())))?;
    let max_load = MaxLoad::new(a.max_load).map_err(|e| at.err(p("max_load"), e.message()))?;
    let weight = Weight::new(a.weight).map_err(|e| at.err(p("weight"), e.message()))?;
    let mut groups = Vec::new();
    for (g, raw) in a.groups.iter().enumerate() {
        let group = GroupId::parse(raw).map_err(|e| {
            at.err(
                p(&format!("groups[{g}]")),
                format!("{raw:?}: {}", e.message()),
            )
        })?;
        groups.push(group);
    }
    if a.shifts.len() > MAX_SHIFTS {
        return Err(at.err(
            p("shifts"),
            format!("an agent has at most {MAX_SHIFTS} shifts"),
        ));
    }
    let mut shifts: Vec<(Shift, usize)> = Vec::new();
    for (s, raw) in a.shifts.iter().enumerate() {
        let shift = parse_shift(raw)
            .map_err(|m| at.err(p(&format!("shifts[{s}]")), format!("{raw:?}: {m}")))?;
        shifts.push((shift, s));
    }
    shifts.sort();
    for pair in shifts.windows(2) {
        let ((first, i1), (second, i2)) = (pair[0], pair[1]);
        if second.start_min < first.end_min {
            let (early, late) = (i1.min(i2), i1.max(i2));
            return Err(at.err(
                p(&format!("shifts[{late}]")),
                format!(
                    "{:?} overlaps shifts[{early}] {:?}",
                    a.shifts[late], a.shifts[early]
                ),
            ));
        }
    }
    a.reply_delay
        .check()
        .map_err(|m| at.err(p("reply_delay"), m))?;
    a.end_after.check().map_err(|m| at.err(p("end_after"), m))?;
    if !(a.speed.is_finite() && a.speed > 0.0 && a.speed <= 100.0) {
        return Err(at.err(
            p("speed"),
            format!("{} is not above 0 and at most 100", a.speed),
        ));
    }
    Ok(AgentSpec {
        id,
        max_load,
        weight,
        groups,
        shifts: shifts.into_iter().map(|(s, _)| s).collect(),
        reply_delay: a.reply_delay,
        end_after: a.end_after,
        speed: a.speed,
    })
}

fn check_buyers(at: &At<'_>, b: RawBuyers) -> Result<BuyerSpec, ScenarioError> {
    if b.inquiries > MAX_INQUIRIES {
        return Err(at.err("buyers.inquiries", format!("at most {MAX_INQUIRIES}")));
    }
    let curve = check_curve(at, b.hourly.as_deref(), &b.peaks)?;
    let entries = if b.entries.is_empty() {
        Mix::one(Entry::ProductDetail)
    } else {
        check_mix(at, "buyers.entries", &b.entries, |raw| {
            serde_json::from_value::<Entry>(serde_json::Value::String(raw.to_owned())).map_err(
                |_| {
                    "not an entry: product_detail, order_detail, direct_message, live or other"
                        .to_owned()
                },
            )
        })?
    };
    let tags = |name: &str, table: &BTreeMap<String, f64>| {
        if table.is_empty() {
            return Ok(Mix::one(None));
        }
        check_mix(at, &format!("buyers.{name}"), table, |raw| {
            if raw.is_empty() {
                Ok(None)
            } else {
                Tag::parse(raw)
                    .map(Some)
                    .map_err(|e| e.message().to_owned())
            }
        })
    };
    if !(0.0..=1.0).contains(&b.return_probability) {
        return Err(at.err(
            "buyers.return_probability",
            format!("{} is not between 0 and 1", b.return_probability),
        ));
    }
    b.return_after
        .check()
        .map_err(|m| at.err("buyers.return_after", m))?;
    b.patience
        .check()
        .map_err(|m| at.err("buyers.patience", m))?;
    b.messages
        .check()
        .map_err(|m| at.err("buyers.messages", m))?;
    b.message_gap
        .check()
        .map_err(|m| at.err("buyers.message_gap", m))?;
    Ok(BuyerSpec {
        inquiries: b.inquiries,
        arrivals: b.arrivals,
        curve,
        entries,
        questions: tags("questions", &b.questions)?,
        order_states: tags("order_states", &b.order_states)?,
        products: tags("products", &b.products)?,
        intents: tags("intents", &b.intents)?,
        priorities: if b.priorities.is_empty() {
            Mix::one(Priority::default())
        } else {
            check_mix(at, "buyers.priorities", &b.priorities, |raw| {
                raw.parse::<u32>()
                    .map_err(|_| format!("{raw:?} is not a priority 0 to 9"))
                    .and_then(|p| Priority::new(p).map_err(|e| e.message().to_owned()))
            })?
        },
        return_probability: b.return_probability,
        return_after: b.return_after,
        patience: b.patience,
        messages: b.messages,
        message_gap: b.message_gap,
    })
}

/// The hourly weights (flat when absent) carry what the peaks leave.
fn check_curve(
    at: &At<'_>,
    hourly: Option<&[f64]>,
    peaks: &[RawPeak],
) -> Result<Vec<Piece>, ScenarioError> {
    const HOUR_MS: Millis = 3_600_000;
    if peaks.len() > MAX_PEAKS {
        return Err(at.err("buyers.peaks", format!("at most {MAX_PEAKS} peaks")));
    }
    let mut pieces = Vec::new();
    let mut peak_share = 0.0;
    for (i, peak) in peaks.iter().enumerate() {
        let p = |field: &str| format!("buyers.peaks[{i}].{field}");
        let start =
            parse_clock(&peak.at).map_err(|m| at.err(p("at"), format!("{:?}: {m}", peak.at)))?;
        if start >= 1440 {
            return Err(at.err(
                p("at"),
                format!("{:?}: a peak starts before 24:00", peak.at),
            ));
        }
        if peak.minutes == 0 || start + peak.minutes > 1440 {
            return Err(at.err(
                p("minutes"),
                format!(
                    "{}: a peak lasts at least a minute and ends by 24:00",
                    peak.minutes
                ),
            ));
        }
        if !(peak.share.is_finite() && peak.share > 0.0 && peak.share <= 1.0) {
            return Err(at.err(
                p("share"),
                format!("{} is not above 0 and at most 1", peak.share),
            ));
        }
        peak_share += peak.share;
        pieces.push(Piece {
            start_ms: Millis::from(start) * 60_000,
            len_ms: Millis::from(peak.minutes) * 60_000,
            share: peak.share,
        });
    }
    if peak_share > 1.0 + 1e-9 {
        return Err(at.err(
            "buyers.peaks",
            format!(
                "the shares add up to {}, above 1",
                (peak_share * 1000.0).round() / 1000.0
            ),
        ));
    }
    let flat = [1.0; 24];
    let weights = hourly.unwrap_or(&flat);
    if weights.len() != 24 {
        return Err(at.err(
            "buyers.hourly",
            format!("{} weights: one per hour, 24", weights.len()),
        ));
    }
    if let Some(h) = weights.iter().position(|w| !(w.is_finite() && *w >= 0.0)) {
        return Err(at.err(
            format!("buyers.hourly[{h}]"),
            format!("{} is not a weight of 0 or more", weights[h]),
        ));
    }
    let total: f64 = weights.iter().sum();
    let rest = (1.0 - peak_share).max(0.0);
    if rest > 1e-9 {
        if total <= 0.0 {
            return Err(at.err(
                "buyers.hourly",
                "every weight is 0 but the peaks leave a share to the hours",
            ));
        }
        for (h, w) in weights.iter().enumerate() {
            pieces.push(Piece {
                start_ms: h as Millis * HOUR_MS,
                len_ms: HOUR_MS,
                share: rest * w / total,
            });
        }
    }
    Ok(pieces)
}

fn check_mix<T>(
    at: &At<'_>,
    path: &str,
    table: &BTreeMap<String, f64>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Mix<T>, ScenarioError> {
    let mut items = Vec::new();
    for (raw, weight) in table {
        let value = parse(raw).map_err(|m| at.err(format!("{path}.{raw:?}"), m))?;
        if !(weight.is_finite() && *weight >= 0.0) {
            return Err(at.err(
                format!("{path}.{raw:?}"),
                format!("{weight} is not a weight of 0 or more"),
            ));
        }
        items.push((value, *weight));
    }
    let total = items.iter().map(|(_, w)| w).sum::<f64>();
    if total <= 0.0 {
        return Err(at.err(path, "the weights add up to 0"));
    }
    Ok(Mix { items, total })
}

fn check_variant(
    at: &At<'_>,
    i: usize,
    v: RawVariant,
    dir: &Path,
    tz: TzOffset,
) -> Result<Variant, ScenarioError> {
    let p = |field: &str| format!("variants[{i}].{field}");
    if v.name.is_empty() || v.name.len() > 64 || v.name.chars().any(char::is_control) {
        return Err(at.err(p("name"), "1 to 64 bytes without control characters"));
    }
    let (routing, field) = match (v.routing, v.routing_file) {
        (Some(_), Some(_)) => {
            return Err(at.err(p("routing"), "give routing or routing_file, not both"))
        }
        (None, None) => {
            return Err(at.err(
                p("routing"),
                "give routing (JSON text or a table) or routing_file",
            ))
        }
        (Some(toml::Value::String(json)), None) => (
            serde_json::from_str::<Routing>(&json).map_err(|e| e.to_string()),
            "routing",
        ),
        (Some(table @ toml::Value::Table(_)), None) => (
            serde_json::to_value(&table)
                .and_then(serde_json::from_value::<Routing>)
                .map_err(|e| e.to_string()),
            "routing",
        ),
        (Some(_), None) => {
            return Err(at.err(
                p("routing"),
                "JSON text or a table, in the form of PUT /routing",
            ))
        }
        (None, Some(name)) => {
            let path: PathBuf = dir.join(&name);
            let json = std::fs::read_to_string(&path).map_err(|error| ScenarioError::Read {
                file: path.display().to_string(),
                error,
            })?;
            (
                serde_json::from_str::<Routing>(&json)
                    .map_err(|e| format!("{}: {e}", path.display())),
                "routing_file",
            )
        }
    };
    let routing = routing.map_err(|m| at.err(p(field), m))?;
    let ValidRouting(mut settings) =
        ValidRouting::try_from(routing).map_err(|e| at.err(p(field), e.message()))?;
    // The day is the scenario's: its zone decides where "today" starts for
    // `even` and the daily figures, whatever the variant says.
    settings.timezone = tz;
    Ok(Variant {
        name: v.name,
        settings,
    })
}
