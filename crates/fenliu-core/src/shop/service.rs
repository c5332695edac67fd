//! The shop's figures of a day (服务数据: inquiries, waits, service level,
//! fairness) and the wait estimate of a queued conversation.
//!
//! The day's counters are kept as they happen, on the day the inquiry
//! arrived, so that reading them is one record; the rates that come from
//! the agents' own figures (reply rate, satisfaction, fairness) are summed
//! over them when asked.

use serde::{Deserialize, Serialize};

use super::Shop;
use crate::agent::AgentStatus;
use crate::error::{CoreError, CoreResult};
use crate::records::RecordKey;
use crate::settings::FAIR_MIN_ONLINE_MS;
use crate::stats::{jain_index, ShopDay};
use crate::time::{Day, Millis};

/// The history the wait estimate reads: placements from the queue over
/// the last 15 minutes.
pub const ESTIMATE_WINDOW_MS: Millis = 15 * 60 * 1000;

/// Fewer placements than this in the window are no history: a rate from one
/// or two placements says how rarely buyers queued, not how fast the queue
/// moves (measured with the simulator; see docs/routing.md).
pub const MIN_HISTORY: usize = 5;

/// Percentiles of waits, in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WaitFigures {
    /// Median.
    pub p50: u32,
    /// 90th percentile.
    pub p90: u32,
    /// 99th percentile.
    pub p99: u32,
    /// Longest (exact, rounded down to the second).
    pub max: u32,
}

/// The shop's figures of one day (`GET /stats`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceFigures {
    /// The shop day.
    pub day: Day,
    /// New conversations created by inquiries that day.
    pub inquiries: u32,
    /// Of those, given an agent.
    pub assigned: u32,
    /// Of those, ever queued.
    pub queued: u32,
    /// Of those, cancelled in the queue.
    pub cancelled: u32,
    /// Waits of the queued ones that were placed; `None` if none was.
    pub wait_secs: Option<WaitFigures>,
    /// Share of the inquiries placed within `reply_target_secs` of arriving.
    pub service_level: Option<f64>,
    /// On-time conversations / conversations whose clock ran, over agents.
    pub reply_rate_3m: Option<f64>,
    /// Satisfied ratings / ratings, over agents.
    pub satisfaction_rate: Option<f64>,
    /// Given to offline-routing agents.
    pub offline_deliveries: u32,
    /// Jain's index over the agents' conversations per hour online.
    pub fairness: Option<f64>,
    /// Agents online at some time that day (the n of `fairness`).
    pub agents_online: u32,
}

impl Shop {
    /// The shop's figures of `day`, to change: the record is marked changed.
    pub(super) fn shop_day(&mut self, day: Day) -> &mut ShopDay {
        self.fx.changed.push(RecordKey::ShopDay(day));
        self.days.entry(day).or_default()
    }

    /// The figures of the day a conversation created at `created` counts
    /// in, if that day is still kept.
    fn arrival_day(&mut self, created: Millis, now: Millis) -> Option<&mut ShopDay> {
        let day = self.today(created);
        let today = self.today(now);
        (day >= today - 1).then(|| self.shop_day(day))
    }

    /// A new conversation arrived at `now`: assigned at once (`offline`
    /// when to an offline-routing agent) or queued.
    pub(super) fn count_inquiry(&mut self, assigned: bool, offline: bool, now: Millis) {
        let day = self.shop_day(self.today(now));
        day.inquiries += 1;
        if assigned {
            day.assigned += 1;
            day.within_target += 1;
            day.offline_deliveries += u32::from(offline);
        } else {
            day.queued += 1;
        }
    }

    /// A conversation created at `created` was placed from the queue at
    /// `now`.
    pub(super) fn count_placement(&mut self, created: Millis, now: Millis) {
        self.d.placed.push_back(now);
        while self
            .d
            .placed
            .front()
            .is_some_and(|&t| t <= now - ESTIMATE_WINDOW_MS)
        {
            self.d.placed.pop_front();
        }
        let target = crate::time::secs_to_ms(self.settings.timers.reply_target_secs);
        if let Some(day) = self.arrival_day(created, now) {
            day.assigned += 1;
            day.within_target += u32::from(now - created <= target);
            day.waits.add(now - created);
        }
    }

    /// A conversation created at `created` was taken back into the queue
    /// from its agent (deleted): it is no longer assigned. Its wait, and
    /// whether it was placed within the target, count again when it is
    /// placed again (the service level is capped at 1 for that).
    pub(super) fn count_requeue(&mut self, created: Millis, now: Millis) {
        if let Some(day) = self.arrival_day(created, now) {
            day.assigned = day.assigned.saturating_sub(1);
        }
    }

    /// A queued conversation created at `created` was cancelled.
    pub(super) fn count_cancel(&mut self, created: Millis, now: Millis) {
        if let Some(day) = self.arrival_day(created, now) {
            day.cancelled += 1;
        }
    }

    /// A conversation assigned at `assigned` ended at `now`.
    pub(super) fn count_end(&mut self, assigned: Option<Millis>, now: Millis) {
        let day = self.shop_day(self.today(now));
        day.ended += 1;
        day.handled_ms += assigned.map_or(0, |a| (now - a).max(0));
    }

    /// The shop's figures of `day` (today when `None`) at `now`. Only
    /// today's and yesterday's are kept; another day is not found.
    pub fn service_figures(&self, day: Option<Day>, now: Millis) -> CoreResult<ServiceFigures> {
        let today = self.today(now);
        let day = day.unwrap_or(today);
        if !(today - 1..=today).contains(&day) {
            return Err(CoreError::not_found(
                "the shop keeps the figures of today and yesterday only",
            ));
        }
        let counted = self.days.get(&day).cloned().unwrap_or_default();
        let figures = self.stats.get(&day);
        let (mut clocked, mut late, mut ratings, mut satisfied) = (0u64, 0u64, 0u64, 0u64);
        for f in figures.into_iter().flat_map(|f| f.values()) {
            clocked += u64::from(f.clocked);
            late += u64::from(f.late);
            ratings += u64::from(f.ratings);
            satisfied += u64::from(f.satisfied);
        }
        let ratio = |n: u64, d: u64| (d > 0).then(|| n as f64 / d as f64);
        // Assigned per hour online, of every agent online that day: those of
        // the shop now, and those deleted since whose figures remain.
        let mut rates = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for a in self.agents() {
            seen.insert(a.id.clone());
            let online = self.online_ms_on(day, a, now);
            if online > 0 {
                let sessions = figures.and_then(|f| f.get(&a.id)).map_or(0, |f| f.sessions);
                rates.push(per_hour(sessions, online));
            }
        }
        for (id, f) in figures.into_iter().flatten() {
            if !seen.contains(id) && f.online_ms > 0 {
                rates.push(per_hour(f.sessions, f.online_ms));
            }
        }
        let waits = &counted.waits;
        let wait_secs = waits.quantile(0.5).map(|p50| WaitFigures {
            p50,
            p90: waits.quantile(0.9).unwrap_or(p50),
            p99: waits.quantile(0.99).unwrap_or(p50),
            max: (waits.max_ms / 1000) as u32,
        });
        Ok(ServiceFigures {
            day,
            inquiries: counted.inquiries,
            assigned: counted.assigned,
            queued: counted.queued,
            cancelled: counted.cancelled,
            wait_secs,
            service_level: ratio(counted.within_target.into(), counted.inquiries.into())
                .map(|r| r.min(1.0)),
            reply_rate_3m: ratio(clocked - late, clocked),
            satisfaction_rate: ratio(satisfied, ratings),
            offline_deliveries: counted.offline_deliveries,
            fairness: jain_index(&rates),
            agents_online: rates.len() as u32,
        })
    }

    /// The rate, per millisecond, at which the queue is expected to move at
    /// `now`: the placements from the queue over the last 15 minutes, or,
    /// with none, the slots of the agents online (their max loads) freed
    /// once per mean handling time (today's mean from assignment to end, or
    /// `auto_end_secs` before any conversation ended today). `None` when
    /// nobody is online: then no estimate is given.
    pub fn queue_rate(&self, now: Millis) -> Option<f64> {
        let recent = self
            .d
            .placed
            .iter()
            .rev()
            .take_while(|&&t| t > now - ESTIMATE_WINDOW_MS)
            .count();
        if recent >= MIN_HISTORY {
            return Some(recent as f64 / ESTIMATE_WINDOW_MS as f64);
        }
        let slots: u32 = self
            .agents()
            .filter(|a| a.status == AgentStatus::Online)
            .map(|a| a.max_load.get())
            .sum();
        if slots == 0 {
            return None;
        }
        let handle_ms = self
            .days
            .get(&self.today(now))
            .filter(|d| d.ended > 0)
            .map_or_else(
                || crate::time::secs_to_ms(self.settings.timers.auto_end_secs) as f64,
                |d| (d.handled_ms.max(1) as f64) / f64::from(d.ended),
            );
        Some(f64::from(slots) / handle_ms)
    }

    /// How long a conversation at 1-based `position` is expected to wait
    /// still, in milliseconds: its position over [`Shop::queue_rate`], plus,
    /// while the shop is closed, the time until it opens.
    pub fn estimated_wait_ms(&self, position: u32, now: Millis) -> Option<Millis> {
        self.wait_at_rate(position, self.queue_rate(now), now)
    }

    /// The estimate at a rate already computed (a page of the queue).
    pub fn wait_at_rate(&self, position: u32, rate: Option<f64>, now: Millis) -> Option<Millis> {
        let closed_for = self.settings.opens_at(now).map_or(0, |at| at - now);
        rate.map(|rate| closed_for + (f64::from(position) / rate).round() as Millis)
    }
}

/// Conversations per hour online, online time counted as at least ten
/// minutes (as `fair` counts it).
fn per_hour(sessions: u32, online_ms: Millis) -> f64 {
    f64::from(sessions) * 3_600_000.0 / online_ms.max(FAIR_MIN_ONLINE_MS) as f64
}
