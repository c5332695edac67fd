//! fenliu-sim: the what-if simulator (spec §10). A scenario's day — agents
//! on shifts, buyers arriving by an hourly curve, chatting and leaving — is
//! run through `fenliu-core` itself on a virtual clock, once per routing
//! variant, and the variants' figures are compared.
//!
//! Every variant sees the same buyers: arrivals, attributes and behaviour
//! come from random streams keyed by what they are for (see [`streams`]),
//! so differences between variants come from the settings, and one seed
//! gives the same report byte for byte.
//!
//! # Layout
//!
//! - [`scenario`]: the TOML file (`raw`: as written; `clock`: times and
//!   dates), read and checked whole, with the field
//!   path of every mistake; routing variants read by `fenliu-api`.
//! - [`dist`]: the duration and count distributions and their samplers.
//! - [`streams`]: the keyed random streams (common random numbers).
//! - [`buyers`]: the day's buyers, drawn once for all variants.
//! - [`engine`]: one variant's discrete-event run through the core.
//! - [`series`]: values over the day in five-minute bins.
//! - [`figures`]: the figures of a run, each with its definition.
//! - [`report`]: the text table and the JSON report.
//! - [`charts`]: the SVG charts.
//! - [`replay`]: a recorded day (an export) decided again under routing
//!   variants, beside the record's own figures.

pub mod buyers;
pub mod charts;
pub mod dist;
pub mod engine;
pub mod figures;
pub mod replay;
pub mod report;
pub mod scenario;
pub mod series;
pub mod streams;

pub use engine::Observed;
pub use figures::VariantFigures;
pub use report::Report;
pub use scenario::{Scenario, ScenarioError};

/// A simulated day: the report and what each variant's run observed (its
/// series over the day, for charts and finer checks).
#[derive(Debug)]
pub struct Outcome {
    /// The figures.
    pub report: Report,
    /// Per variant, in the scenario's order.
    pub runs: Vec<Observed>,
}

/// Runs every variant of `sc` with `seed` (the scenario's own unless
/// replaced). `progress` is told of every arrival handled, of every variant:
/// [`planned_arrivals`] first visits per variant, plus returns.
pub fn simulate(sc: &Scenario, seed: u64, progress: &mut dyn FnMut()) -> Outcome {
    let buyers = buyers::draw(sc, seed);
    let runs: Vec<Observed> = sc
        .variants
        .iter()
        .map(|v| engine::run(sc, seed, &buyers, v, progress))
        .collect();
    let variants = runs
        .iter()
        .enumerate()
        .map(|(i, obs)| figures::summarise(sc, i, obs))
        .collect();
    Outcome {
        report: Report::new(sc, seed, buyers.len(), variants),
        runs,
    }
}

/// First visits of one variant's run (the same for every variant), for a
/// progress bar's length: the buyers are drawn once more, which is cheap
/// next to running them.
pub fn planned_arrivals(sc: &Scenario, seed: u64) -> usize {
    buyers::draw(sc, seed).len()
}
