//! Replaying a recorded day (spec §10): `fenliu sim --replay EXPORT.jsonl
//! --variant ROUTING.json`. The export's arrivals, agents' changes and
//! observed durations are decided again through `fenliu-core` under other
//! routing settings, and the variants' figures are set beside the record's.
//!
//! # Layout
//!
//! - [`export`]: reading the JSON lines (a `start` line first, every line a
//!   [`fenliu_core::daylog::Fact`]), with the line number of a mistake.
//! - `plan`: the export turned into the run's inputs — the shop at the
//!   start, timed agent changes, arrivals, and per conversation its
//!   observed durations as offsets (from its arrival or its placement).
//! - `run`: one variant's run on a virtual clock, the core's timers
//!   interleaved as in [`crate::engine`], tallied into an
//!   [`Observed`] so that [`crate::figures`] and [`crate::report`] serve
//!   both.
//! - `recorded`: the same tallies computed from the export's outcome
//!   lines, the "recorded" column.
//!
//! # What is replayed, and the approximations
//!
//! - The first `start` line sets up the agents (status, max load, weight,
//!   groups) and the groups; a later `start` (a node reloaded the shop) is
//!   ignored. Conversations open at the start re-enter as inquiries at the
//!   start's time, in the start's order: their history before the log began
//!   is unknown, so the replay places them afresh.
//! - An arrival is an `inquiry` line with `created: true`, at its time,
//!   with its attributes; a repeated inquiry (`created: false`) is not one.
//! - Observed durations travel with the conversation, not the agent:
//!   messages before its first `assigned` outcome are replayed at their
//!   offset from its arrival, those after it at their offset from its
//!   placement in the replay; `end`, `transfer`, `transfer_to_group`,
//!   `invite_rating` and `rate` at their offset from placement (a
//!   conversation the record never placed has no such offsets and is left
//!   to the core's timers); `cancel` is the buyer's patience, an offset from
//!   arrival, sent only if the conversation is still unplaced then. A buyer
//!   who never cancelled waits as long as it takes: the patience of a
//!   served buyer is unknown.
//! - `accept` is replayed at its offset from the recorded `offered`
//!   outcome just before it, after each offer the replay makes, or at once
//!   if the record has none; `reject` is not replayed
//!   (it refused one offer to one agent, which the replay may not make),
//!   nor `open_proactive` (an agent's own conversation, not an arrival).
//! - `agent`, `agent_deleted`, `status`, `presence_lapsed`, `max_load`,
//!   `group` and `order` inputs are replayed at their time; `routing`
//!   inputs are not (the variant governs).
//! - Actions at the same millisecond keep the export's line order, and the
//!   core's timers due by an action fire before it, so under the recorded
//!   settings a replay decides exactly as the record did — unless a random
//!   tie decided: the node's random numbers are not recorded, and the
//!   replay draws its own from `seed`.

pub mod export;
mod plan;
mod recorded;
mod run;

use std::path::Path;

use fenliu_api::settings::{Routing, ValidRouting};
use fenliu_core::time::date_string;
use fenliu_core::{AgentId, Millis, TzOffset};

use crate::figures::{figures_of, VariantFigures};
use crate::scenario::Variant;
use crate::{Observed, Report};

pub use export::Export;

/// An export or a variant that cannot be replayed, and where the mistake is.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The file cannot be read.
    #[error("{file}: {error}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        error: std::io::Error,
    },
    /// A line of the export that is not a fact, or out of place.
    #[error("{file}: line {line}: {message}")]
    Line {
        /// The file.
        file: String,
        /// The line number, from 1.
        line: usize,
        /// Why.
        message: String,
    },
    /// The export as a whole cannot be used (empty, say).
    #[error("{file}: {message}")]
    Export {
        /// The file.
        file: String,
        /// Why.
        message: String,
    },
    /// A routing variant that `PUT /routing` would refuse.
    #[error("{file}: {message}")]
    Variant {
        /// The file.
        file: String,
        /// Why.
        message: String,
    },
}

/// Where one conversation was first placed, in a run or in the record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The agent.
    pub agent_id: AgentId,
    /// From its arrival to its placement.
    pub wait_ms: Millis,
}

/// One variant's replay.
#[derive(Debug)]
pub struct ReplayRun {
    /// Its tallies, as a scenario run's.
    pub observed: Observed,
    /// Per recorded conversation (in arrival order, those open at the start
    /// first), where the replay first placed it.
    pub placements: Vec<Option<Placement>>,
}

/// A replayed day: the report, the record's placements and each variant's run.
#[derive(Debug)]
pub struct ReplayOutcome {
    /// The figures, the record's beside each variant's.
    pub report: Report,
    /// What the record's outcome lines tally to.
    pub recorded: Observed,
    /// Per recorded conversation, where the record first placed it.
    pub recorded_placements: Vec<Option<Placement>>,
    /// Per variant, in the order given.
    pub runs: Vec<ReplayRun>,
    /// The agents, in the order of the figures.
    pub agents: Vec<AgentId>,
}

/// Reads a routing variant: the JSON of `PUT /routing`, checked as the API
/// checks it, named by the file's stem. The day is the export's, so its
/// time zone replaces the variant's.
pub fn load_variant(path: &Path, timezone: TzOffset) -> Result<Variant, ReplayError> {
    let file = path.display().to_string();
    let json = std::fs::read_to_string(path).map_err(|error| ReplayError::Read {
        file: file.clone(),
        error,
    })?;
    let name = path
        .file_stem()
        .map_or_else(|| file.clone(), |s| s.to_string_lossy().into_owned());
    parse_variant(&name, &file, &json, timezone)
}

/// Reads a routing variant from its JSON text (see [`load_variant`]).
pub fn parse_variant(
    name: &str,
    file: &str,
    json: &str,
    timezone: TzOffset,
) -> Result<Variant, ReplayError> {
    let fail = |message: String| ReplayError::Variant {
        file: file.to_owned(),
        message,
    };
    let routing = serde_json::from_str::<Routing>(json).map_err(|e| fail(e.to_string()))?;
    let ValidRouting(mut settings) =
        ValidRouting::try_from(routing).map_err(|e| fail(e.message().to_owned()))?;
    settings.timezone = timezone;
    Ok(Variant {
        name: name.to_owned(),
        settings,
    })
}

/// Replays `export` once per variant, drawing the core's random numbers
/// from `seed`.
pub fn replay(export: &Export, variants: &[Variant], seed: u64) -> ReplayOutcome {
    let plan = plan::Plan::of(export);
    let (recorded, recorded_placements) = recorded::tally(export, &plan);
    let runs: Vec<ReplayRun> = variants.iter().map(|v| run::run(&plan, v, seed)).collect();
    let figures: Vec<VariantFigures> = variants
        .iter()
        .zip(&runs)
        .map(|(v, r)| {
            figures_of(
                &v.name,
                v.settings.timers.reply_target_secs,
                &plan.agents,
                &r.observed,
            )
        })
        .collect();
    let record = figures_of(
        "recorded",
        export.start.routing.timers.reply_target_secs,
        &plan.agents,
        &recorded,
    );
    let report = Report::of_replay(
        &export.file,
        date_string(export.start.day),
        export.start.routing.timezone.to_string(),
        seed,
        plan.scripts.len(),
        record,
        figures,
    );
    ReplayOutcome {
        report,
        recorded,
        recorded_placements,
        runs,
        agents: plan.agents,
    }
}
