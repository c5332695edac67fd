//! Agent performance (客服排名): an agent's figures of a day, the metrics
//! over them, and the ranking (section 4 of the spec). The shop keeps the
//! figures (`shop/figures.rs`); this module computes from them.

use serde::{Deserialize, Serialize};

use crate::ids::AgentId;
use crate::time::Day;

/// One agent's figures for one shop day.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentDay {
    /// Distinct buyers received (接待人数). Which buyers they were is kept
    /// beside the figures, one record per agent and buyer (see
    /// `Shop::count_reception`), so that this record stays the same size
    /// however busy the day.
    pub receptions: u32,
    /// Conversations received (接待会话量).
    pub sessions: u32,
    /// Conversations whose reply clock ran at least once.
    pub clocked: u32,
    /// Of those, conversations that missed the reply target.
    pub late: u32,
    /// Ratings received.
    pub ratings: u32,
    /// Ratings of 4 or 5 stars.
    pub satisfied: u32,
    /// Orders credited (提成归属).
    pub credited_orders: u32,
    /// Time in status online or busy that day, in milliseconds, up to the
    /// agent's last status change (see `Shop::online_ms_on`).
    #[serde(default)]
    pub online_ms: i64,
    /// Conversations the agent did not reply to within
    /// `timers.reassign_after_secs`.
    #[serde(default)]
    pub missed: u32,
    /// Offers the agent rejected or let lapse.
    #[serde(default)]
    pub offers_declined: u32,
}

impl AgentDay {
    fn reply_rate(&self) -> Option<f64> {
        (self.clocked > 0).then(|| f64::from(self.clocked - self.late) / f64::from(self.clocked))
    }

    fn satisfaction(&self) -> Option<f64> {
        (self.ratings > 0).then(|| f64::from(self.satisfied) / f64::from(self.ratings))
    }
}

/// The shop's figures of one day (服务数据), counted for the inquiries that
/// arrived that day, except `ended` and `handled_ms`, which count the
/// conversations that ended that day.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopDay {
    /// New conversations created by inquiries.
    pub inquiries: u32,
    /// Of those, given an agent (at once, from the queue, or offline).
    pub assigned: u32,
    /// Of those, ever queued.
    pub queued: u32,
    /// Of those, cancelled in the queue.
    pub cancelled: u32,
    /// Of those, given to an offline-routing agent.
    pub offline_deliveries: u32,
    /// Of those, given an agent within `reply_target_secs` of arriving.
    pub within_target: u32,
    /// How long the queued ones that were placed waited.
    pub waits: WaitHistogram,
    /// Conversations that ended that day.
    pub ended: u32,
    /// Their time from assignment to end, summed, in milliseconds.
    pub handled_ms: i64,
}

/// Waits in whole seconds, kept to two significant digits (0–99 s exactly,
/// then 100, 110, …, 990, 1000, 1100, …), with the longest kept exactly: a
/// record of a few hundred bytes at most, however busy the day.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitHistogram {
    /// (bucket's lowest second, count), by bucket.
    pub buckets: Vec<(u32, u32)>,
    /// The longest wait, in milliseconds.
    pub max_ms: i64,
}

impl WaitHistogram {
    /// The bucket of a wait of `secs` seconds: its lowest value.
    pub fn bucket_of(secs: u32) -> u32 {
        let mut unit = 1;
        while secs / unit >= 100 {
            unit *= 10;
        }
        secs / unit * unit
    }

    /// Counts a wait.
    pub fn add(&mut self, ms: i64) {
        let ms = ms.max(0);
        let bucket = Self::bucket_of(u32::try_from(ms / 1000).unwrap_or(u32::MAX));
        match self.buckets.binary_search_by_key(&bucket, |b| b.0) {
            Ok(at) => self.buckets[at].1 += 1,
            Err(at) => self.buckets.insert(at, (bucket, 1)),
        }
        self.max_ms = self.max_ms.max(ms);
    }

    /// Waits counted.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| u64::from(b.1)).sum()
    }

    /// The `q`-quantile (0 < q ≤ 1) by nearest rank, in seconds (its
    /// bucket's lowest value); `None` with no waits.
    pub fn quantile(&self, q: f64) -> Option<u32> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = ((q * n as f64).ceil() as u64).clamp(1, n);
        let mut seen = 0;
        self.buckets.iter().find_map(|&(b, c)| {
            seen += u64::from(c);
            (seen >= rank).then_some(b)
        })
    }
}

/// Jain's fairness index (Σx)² / (n·Σx²) of `values`: 1 when all are
/// equal, 1/n when one has everything; `None` when there are none or all
/// are 0.
pub fn jain_index(values: &[f64]) -> Option<f64> {
    let sum: f64 = values.iter().sum();
    let squares: f64 = values.iter().map(|x| x * x).sum();
    // At most 1 in exact arithmetic; rounding may land a hair above it.
    (!values.is_empty() && squares > 0.0)
        .then(|| (sum * sum / (values.len() as f64 * squares)).min(1.0))
}

/// What the ranking orders by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Distinct buyers received.
    #[default]
    Receptions,
    /// Conversations received.
    Sessions,
    /// On-time replies / conversations whose clock ran.
    #[serde(rename = "reply_rate_3m")]
    ReplyRate3m,
    /// Satisfied ratings / ratings.
    SatisfactionRate,
}

/// Ascending or descending.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    /// Lowest first.
    Asc,
    /// Highest first.
    #[default]
    Desc,
}

/// Who is looking at the ranking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Viewer {
    /// Admins, supervisors and services see everybody.
    Everyone,
    /// An agent sees everybody only when the leaderboard is visible.
    Agent(AgentId),
}

/// One agent's line in the ranking.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RankRow {
    /// The agent.
    pub agent_id: AgentId,
    /// Distinct buyers received today.
    pub receptions: u32,
    /// Conversations received today.
    pub sessions: u32,
    /// On-time reply rate, or null without a clocked conversation.
    pub reply_rate_3m: Option<f64>,
    /// Satisfaction rate, or null without a rating.
    pub satisfaction_rate: Option<f64>,
    /// Conversations missed today (reply or reassign).
    pub missed: u32,
    /// Offers rejected or let lapse today.
    pub offers_declined: u32,
    /// 1-based rank (ties share a rank), or null when the agent received
    /// nobody today or the metric has no value.
    pub rank: Option<u32>,
    /// Yesterday's rank − today's; null if unranked yesterday.
    pub rank_change: Option<i64>,
}

/// The ranking of a shop or group for the current day.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ranking {
    /// The shop day.
    pub date: Day,
    /// The metric.
    pub metric: Metric,
    /// Average of the metric over agents with at least one reception.
    pub average: Option<f64>,
    /// The agents, best first in the requested order.
    pub agents: Vec<RankRow>,
}

fn metric_value(day: &AgentDay, metric: Metric) -> Option<f64> {
    match metric {
        Metric::Receptions => Some(f64::from(day.receptions)),
        Metric::Sessions => Some(f64::from(day.sessions)),
        Metric::ReplyRate3m => day.reply_rate(),
        Metric::SatisfactionRate => day.satisfaction(),
    }
}

/// Ranks of `values` in `order`: ties share a rank (1, 2, 2, 4); no value, no rank.
fn ranks(values: &[Option<f64>], order: SortOrder) -> Vec<Option<u32>> {
    let mut ranked: Vec<(usize, f64)> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .collect();
    ranked.sort_by(|a, b| match order {
        SortOrder::Asc => a.1.total_cmp(&b.1),
        SortOrder::Desc => b.1.total_cmp(&a.1),
    });
    let mut out = vec![None; values.len()];
    let mut rank = 0;
    for (pos, &(i, v)) in ranked.iter().enumerate() {
        if pos == 0 || ranked[pos - 1].1 != v {
            rank = pos as u32 + 1;
        }
        out[i] = Some(rank);
    }
    out
}

/// Only agents that received somebody that day are ranked.
fn ranked_values(figs: &[&AgentDay], metric: Metric) -> Vec<Option<f64>> {
    figs.iter()
        .map(|d| {
            if d.sessions > 0 {
                metric_value(d, metric)
            } else {
                None
            }
        })
        .collect()
}

/// The ranking of `members` on `today` (and its change since yesterday),
/// from each agent's figures of a day; `own_only` keeps the viewing agent's
/// line alone and hides the average.
pub(crate) fn rank<'a>(
    members: &[AgentId],
    figures_of: impl Fn(Day, &AgentId) -> Option<&'a AgentDay>,
    today: Day,
    metric: Metric,
    order: SortOrder,
    own_only: Option<&AgentId>,
) -> Ranking {
    let empty = AgentDay::default();
    let figures = |day: Day| -> Vec<&AgentDay> {
        members
            .iter()
            .map(|a| figures_of(day, a).unwrap_or(&empty))
            .collect()
    };
    let now_figs = figures(today);
    let then_figs = figures(today - 1);
    let now_vals = ranked_values(&now_figs, metric);
    let now_ranks = ranks(&now_vals, order);
    let then_ranks = ranks(&ranked_values(&then_figs, metric), order);

    let with_receptions: Vec<f64> = now_figs
        .iter()
        .zip(&now_vals)
        .filter(|(d, _)| d.receptions > 0)
        .filter_map(|(_, v)| *v)
        .collect();
    let mut average = (!with_receptions.is_empty())
        .then(|| with_receptions.iter().sum::<f64>() / with_receptions.len() as f64);

    let mut rows: Vec<RankRow> = members
        .iter()
        .enumerate()
        .map(|(i, a)| RankRow {
            agent_id: a.clone(),
            receptions: now_figs[i].receptions,
            sessions: now_figs[i].sessions,
            reply_rate_3m: now_figs[i].reply_rate(),
            satisfaction_rate: now_figs[i].satisfaction(),
            missed: now_figs[i].missed,
            offers_declined: now_figs[i].offers_declined,
            rank: now_ranks[i],
            rank_change: match (then_ranks[i], now_ranks[i]) {
                (Some(y), Some(t)) => Some(i64::from(y) - i64::from(t)),
                _ => None,
            },
        })
        .collect();
    rows.sort_by(|x, y| {
        x.rank
            .unwrap_or(u32::MAX)
            .cmp(&y.rank.unwrap_or(u32::MAX))
            .then_with(|| x.agent_id.cmp(&y.agent_id))
    });
    if let Some(me) = own_only {
        rows.retain(|r| &r.agent_id == me);
        average = None;
    }
    Ranking {
        date: today,
        metric,
        average,
        agents: rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_a_rank_and_missing_values_are_unranked() {
        let r = ranks(&[Some(3.0), Some(5.0), Some(3.0), None], SortOrder::Desc);
        assert_eq!(r, vec![Some(2), Some(1), Some(2), None]);
        let r = ranks(&[Some(3.0), Some(5.0), Some(3.0)], SortOrder::Asc);
        assert_eq!(r, vec![Some(1), Some(3), Some(1)]);
    }
}
