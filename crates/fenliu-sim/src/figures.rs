//! The figures of one variant's day (spec §8 and §10), computed from what
//! the run observed. Each field's doc line is its exact definition;
//! docs/simulator.md repeats them for readers of the output.

use fenliu_core::AgentId;
use serde::Serialize;

use crate::engine::Observed;
use crate::scenario::Scenario;

/// Online time counted for fairness is at least this (spec §8: 10 minutes),
/// so that an agent online for a moment does not weigh as a giant.
pub const MIN_ONLINE_MS: i64 = 10 * 60_000;

/// Wait percentiles in seconds, of the waits of conversations that were
/// queued and then placed (`null` when none was).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Waits {
    /// Median (nearest rank).
    pub p50: Option<f64>,
    /// 90th percentile (nearest rank).
    pub p90: Option<f64>,
    /// 99th percentile (nearest rank).
    pub p99: Option<f64>,
    /// Longest.
    pub max: Option<f64>,
}

/// One agent's figures of the day.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgentFigures {
    /// The agent.
    pub agent_id: String,
    /// Distinct buyers received (接待人数, the core's figure).
    pub receptions: u32,
    /// Conversations received (接待会话量, the core's figure).
    pub sessions: u32,
    /// Hours online within the day.
    pub online_hours: f64,
    /// sessions / max(online hours, 10 min); `null` if never online.
    pub sessions_per_online_hour: Option<f64>,
    /// Highest load / max_load reached during the day (above 1: beyond max
    /// load, which only no-queue mode does).
    pub peak_saturation: f64,
}

/// One variant's figures of the day.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VariantFigures {
    /// The variant.
    pub name: String,
    /// Conversations created: first visits plus returns.
    pub inquiries: u32,
    /// Of those, return visits: a buyer asking again after its chat ended.
    pub returns: u32,
    /// Assigned by the inquiry itself, without queueing.
    pub assigned_at_once: u32,
    /// Queued at some point.
    pub queued: u32,
    /// queued / inquiries.
    pub queued_share: Option<f64>,
    /// Left the queue when their patience ran out.
    pub abandoned: u32,
    /// Waits of the conversations queued and then placed.
    pub wait_secs: Waits,
    /// The variant's `timers.reply_target_secs`.
    pub reply_target_secs: u64,
    /// Inquiries placed within reply_target_secs of arriving / inquiries.
    pub service_level: Option<f64>,
    /// On-time conversations / conversations whose reply clock ran (the
    /// core's 3-minute reply rate, summed over agents).
    pub reply_rate_3m: Option<f64>,
    /// Return visits placed with an agent (at once or from the queue).
    pub returns_placed: u32,
    /// Of those, the share placed with the agent of the buyer's previous chat.
    pub recent_contact_hit_rate: Option<f64>,
    /// Jain's index (Σx)²/(n·Σx²) over x = sessions per online hour (online
    /// time at least 10 min) of the n agents online at some time of the day.
    pub fairness: Option<f64>,
    /// Agents whose peak saturation was above 1.
    pub agents_over_max_load: u32,
    /// Mean absolute error of the wait estimate, seconds: n/a until the core
    /// gives estimates (see `engine::estimated_wait_secs`).
    pub wait_estimate_mae_secs: Option<f64>,
    /// Per agent, in the scenario's order.
    pub agents: Vec<AgentFigures>,
}

/// Rounds for output: figures are estimates, and fewer digits read better
/// and keep the JSON stable.
fn round(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

fn ratio(num: u32, den: u32) -> Option<f64> {
    (den > 0).then(|| round(f64::from(num) / f64::from(den), 4))
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(round(sorted[rank.min(sorted.len()) - 1] as f64 / 1000.0, 3))
}

/// Jain's fairness index of `xs`; `None` when empty or all zero.
pub fn jain(xs: &[f64]) -> Option<f64> {
    let sum: f64 = xs.iter().sum();
    let squares: f64 = xs.iter().map(|x| x * x).sum();
    (!xs.is_empty() && squares > 0.0).then(|| sum * sum / (xs.len() as f64 * squares))
}

/// The figures of a scenario variant's run.
pub fn summarise(sc: &Scenario, variant: usize, obs: &Observed) -> VariantFigures {
    let v = &sc.variants[variant];
    let ids: Vec<AgentId> = sc.agents.iter().map(|a| a.id.clone()).collect();
    figures_of(&v.name, v.settings.timers.reply_target_secs, &ids, obs)
}

/// The figures of a run named `name` whose reply target was
/// `reply_target_secs`; `agent_ids` names `obs.agents` in order (a
/// scenario's run and a replay's alike).
pub fn figures_of(
    name: &str,
    reply_target_secs: u64,
    agent_ids: &[AgentId],
    obs: &Observed,
) -> VariantFigures {
    let mut waits = obs.waits_ms.clone();
    waits.sort_unstable();
    let agents: Vec<AgentFigures> = agent_ids
        .iter()
        .zip(&obs.agents)
        .map(|(id, a)| AgentFigures {
            agent_id: id.to_string(),
            receptions: a.receptions,
            sessions: a.sessions,
            online_hours: round(a.online_ms as f64 / 3_600_000.0, 3),
            sessions_per_online_hour: (a.online_ms > 0).then(|| {
                round(
                    f64::from(a.sessions) / (a.online_ms.max(MIN_ONLINE_MS) as f64 / 3_600_000.0),
                    3,
                )
            }),
            peak_saturation: round(a.saturation.peak(), 4),
        })
        .collect();
    let per_hour: Vec<f64> = obs
        .agents
        .iter()
        .filter(|a| a.online_ms > 0)
        .map(|a| f64::from(a.sessions) / (a.online_ms.max(MIN_ONLINE_MS) as f64 / 3_600_000.0))
        .collect();
    let clocked: u32 = obs.agents.iter().map(|a| a.clocked).sum();
    let late: u32 = obs.agents.iter().map(|a| a.late).sum();
    VariantFigures {
        name: name.to_owned(),
        inquiries: obs.inquiries,
        returns: obs.returns,
        assigned_at_once: obs.assigned_at_once,
        queued: obs.queued,
        queued_share: ratio(obs.queued, obs.inquiries),
        abandoned: obs.abandoned,
        wait_secs: Waits {
            p50: percentile(&waits, 50.0),
            p90: percentile(&waits, 90.0),
            p99: percentile(&waits, 99.0),
            max: waits.last().map(|w| round(*w as f64 / 1000.0, 3)),
        },
        reply_target_secs,
        service_level: ratio(obs.placed_within_target, obs.inquiries),
        reply_rate_3m: ratio(clocked - late, clocked),
        returns_placed: obs.returns_placed,
        recent_contact_hit_rate: ratio(obs.returns_to_same_agent, obs.returns_placed),
        fairness: jain(&per_hour).map(|j| round(j, 4)),
        agents_over_max_load: agents.iter().filter(|a| a.peak_saturation > 1.0).count() as u32,
        wait_estimate_mae_secs: obs.estimates.mean_abs_error_secs().map(|e| round(e, 1)),
        agents,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jains_index_is_one_when_even_and_one_over_n_when_one_takes_all() {
        assert_eq!(jain(&[3.0, 3.0, 3.0]), Some(1.0));
        assert_eq!(jain(&[6.0, 0.0, 0.0]), Some(1.0 / 3.0));
        assert_eq!(jain(&[]), None);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let ms: Vec<i64> = (1..=100).map(|s| s * 1000).collect();
        assert_eq!(percentile(&ms, 50.0), Some(50.0));
        assert_eq!(percentile(&ms, 99.0), Some(99.0));
        assert_eq!(percentile(&[5000], 90.0), Some(5.0));
        assert_eq!(percentile(&[], 90.0), None);
    }
}
