//! The daily figures of each agent (接待人数, 接待会话量, 3 分钟回复率,
//! 满意度, 提成) and the ranking over them (客服排名).

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use super::Shop;
use crate::agent::{Agent, AgentStatus};
use crate::error::{CoreError, CoreResult};
use crate::ids::{AgentId, BuyerId, GroupId};
use crate::index::Slot;
use crate::lazy::Lazy;
use crate::records::RecordKey;
use crate::stats::{self, AgentDay, Metric, Ranking, SortOrder, Viewer};
use crate::time::{Day, Millis};

impl Shop {
    /// An agent's figures of a day, to change: the record is marked changed.
    pub(super) fn day_stats(&mut self, day: Day, agent: &AgentId) -> &mut AgentDay {
        self.fx.changed.push(RecordKey::Stats(day, agent.clone()));
        self.stats
            .entry(day)
            .or_default()
            .entry(agent.clone())
            .or_default()
    }

    /// The day whose figures a conversation's clock counts in: the day it was
    /// assigned, so that a conversation taken at 23:59 and answered late
    /// after midnight is late on the day it was counted. Only today's and
    /// yesterday's figures are kept; older days are left alone.
    pub(super) fn figures_day(&self, assigned_day: Option<Day>, now: Millis) -> Option<Day> {
        assigned_day.filter(|d| self.kept_days(now).contains(d))
    }

    /// Counts a conversation received; a buyer new to the agent today is a
    /// reception, recorded once as its own (day, agent, buyer) record, so
    /// that no record grows with the day's volume.
    pub(super) fn count_reception(
        &mut self,
        today: Day,
        agent: &AgentId,
        buyer: &BuyerId,
        clocked: bool,
    ) {
        let by_agent = self.received.entry(today).or_default();
        let buyers = match by_agent.get_mut(agent) {
            Some(buyers) => buyers,
            None => by_agent.entry(agent.clone()).or_default(),
        };
        let new_buyer = !buyers.contains(buyer) && buyers.insert(buyer.clone());
        if new_buyer {
            self.fx
                .changed
                .push(RecordKey::Reception(today, agent.clone(), buyer.clone()));
        }
        let day = self.day_stats(today, agent);
        day.receptions += u32::from(new_buyer);
        day.sessions += 1;
        if clocked {
            day.clocked += 1;
        }
    }

    /// The agent in `slot` changes status to `status` at `now`: the time it
    /// was online or busy since its last change is counted, day by day, in
    /// the agent (today's) and in its daily figures (each kept day's).
    pub(super) fn count_online_time(&mut self, slot: Slot, status: AgentStatus, now: Millis) {
        let tz = self.settings.timezone;
        let today = self.today(now);
        let kept = self.kept_days(now);
        let a = self.agent_at(slot).expect("live");
        let (id, since) = (a.id.clone(), a.online_since);
        let mut today_ms = 0;
        if let Some(since) = since {
            // Days before those kept count nowhere.
            let mut from = since.max(tz.start_of(*kept.start())).min(now);
            while from < now {
                let day = tz.day_of(from);
                let end = tz.start_of(day + 1).min(now);
                self.day_stats(day, &id).online_ms += end - from;
                if day == today {
                    today_ms += end - from;
                }
                from = end;
            }
        }
        let a = self.agent_mut(slot);
        if a.online_day != today {
            a.online_day = today;
            a.online_ms = 0;
        }
        a.online_ms += today_ms;
        a.online_since = (status != AgentStatus::Offline).then_some(now);
    }

    /// Agents stored online or busy before their online time was kept
    /// count it from `now` (a restore).
    pub(super) fn count_online_from_restore(&mut self, now: Millis) {
        for a in self.agents.iter_mut().flatten() {
            if a.status != AgentStatus::Offline && a.online_since.is_none() {
                a.online_since = Some(now);
            }
        }
    }

    /// Milliseconds the agent was online or busy today, as of `now`.
    pub fn online_ms_today(&self, a: &Agent, now: Millis) -> Millis {
        let today = self.today(now);
        a.online_ms_today(today, self.settings.timezone.start_of(today), now)
    }

    /// Milliseconds the agent was online or busy on `day` (a kept day), as
    /// of `now`: its figures, and the part of its current run on that day.
    pub fn online_ms_on(&self, day: Day, a: &Agent, now: Millis) -> Millis {
        let tz = self.settings.timezone;
        let closed = self.agent_day(day, &a.id).map_or(0, |f| f.online_ms);
        let running = a.online_since.map_or(0, |s| {
            (now.min(tz.start_of(day + 1)) - s.max(tz.start_of(day))).max(0)
        });
        closed + running
    }

    /// The days whose figures are kept at `now`: today's and yesterday's,
    /// which the ranking compares.
    fn kept_days(&self, now: Millis) -> RangeInclusive<Day> {
        let today = self.today(now);
        today - 1..=today
    }

    /// Drops the figures and receptions of the days before those kept.
    pub(super) fn drop_old_figures(&mut self, now: Millis) {
        let keep_from = *self.kept_days(now).start();
        for (day, figures) in days_before(&mut self.stats, keep_from) {
            for agent in figures.into_keys() {
                self.fx.changed.push(RecordKey::Stats(day, agent));
            }
        }
        for (day, _) in days_before(&mut self.days, keep_from) {
            self.fx.changed.push(RecordKey::ShopDay(day));
        }
        for (day, by_agent) in days_before(&mut self.received, keep_from) {
            for (agent, buyers) in by_agent {
                for buyer in buyers {
                    self.fx
                        .changed
                        .push(RecordKey::Reception(day, agent.clone(), buyer));
                }
            }
        }
    }

    /// Figures of an agent on a day.
    pub fn agent_day(&self, day: Day, agent: &AgentId) -> Option<&AgentDay> {
        self.stats.get(&day).and_then(|figures| figures.get(agent))
    }

    /// The ranking at `now`.
    pub fn ranking(
        &self,
        metric: Metric,
        order: SortOrder,
        group: Option<&GroupId>,
        viewer: &Viewer,
        now: Millis,
    ) -> CoreResult<Ranking> {
        let members: Vec<AgentId> = match group {
            Some(g) => self
                .group(g)
                .ok_or_else(|| CoreError::not_found(format!("group {g} not found")))?
                .iter()
                .filter(|a| self.agent(a).is_some())
                .cloned()
                .collect(),
            None => self.agents().map(|a| a.id.clone()).collect(),
        };
        let own_only = match viewer {
            Viewer::Agent(me) if !self.settings.leaderboard_visible => Some(me),
            _ => None,
        };
        let figures_of = |day, agent: &AgentId| self.agent_day(day, agent);
        let today = self.today(now);
        Ok(stats::rank(
            &members, figures_of, today, metric, order, own_only,
        ))
    }
}

/// Takes the entries of the days before `keep_from` out of `by_day`.
fn days_before<V>(by_day: &mut Lazy<BTreeMap<Day, V>>, keep_from: Day) -> BTreeMap<Day, V> {
    // Nearly always nothing is that old: splitting anyway moved the kept days
    // into a new map on every command (a tenth of an inquiry's instructions).
    // A shop with no figures yet has nothing to drop and allocates nothing.
    let Some(by_day) = by_day.get_mut_if(false) else {
        return BTreeMap::new();
    };
    if by_day
        .first_key_value()
        .is_none_or(|(day, _)| *day >= keep_from)
    {
        return BTreeMap::new();
    }
    let kept = by_day.split_off(&keep_from);
    std::mem::replace(by_day, kept)
}
