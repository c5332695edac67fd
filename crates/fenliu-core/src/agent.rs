//! Agents (客服): status, capacity and weight.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::InvalidInput;
use crate::ids::{AgentId, GroupId};
use crate::time::{Day, Millis};

/// An agent's presence.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// 在线: takes new conversations.
    Online,
    /// 忙碌: keeps its conversations, takes no new ones (transfers still allowed).
    Busy,
    /// 离线: the initial status.
    #[default]
    Offline,
}

impl AgentStatus {
    /// The status as written in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Busy => "busy",
            Self::Offline => "offline",
        }
    }
}

impl fmt::Display for AgentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! bounded {
    ($(#[$doc:meta])* $name:ident, $lo:literal, $hi:literal, $default:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(u32);

        impl $name {
            /// Parses a value in the accepted range.
            pub fn new(value: u32) -> Result<Self, InvalidInput> {
                if ($lo..=$hi).contains(&value) {
                    Ok(Self(value))
                } else {
                    Err(InvalidInput::new(concat!(
                        $what, " must be between ", $lo, " and ", $hi
                    )))
                }
            }

            /// The value.
            pub fn get(self) -> u32 {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self($default)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = u32::deserialize(d)?;
                Self::new(raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

bounded!(
    /// 最大接待人数: 1..=50, default 10.
    MaxLoad, 1, 50, 10, "max_load"
);
bounded!(
    /// 分流权重: 1..=100, default 1.
    Weight, 1, 100, 1, "weight"
);

/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME: usize = 100;

/// Checks a display name: 1 to [`MAX_DISPLAY_NAME`] characters, none a
/// control character.
pub(crate) fn check_display_name(name: &str) -> Result<(), InvalidInput> {
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_DISPLAY_NAME || name.chars().any(char::is_control) {
        return Err(InvalidInput::new(format!(
            "display_name must be 1 to {MAX_DISPLAY_NAME} characters without control characters"
        )));
    }
    Ok(())
}

/// An agent of a shop.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    /// Its id.
    pub id: AgentId,
    /// Name shown to the admin.
    pub display_name: Option<String>,
    /// Presence.
    pub status: AgentStatus,
    /// Capacity.
    pub max_load: MaxLoad,
    /// Active conversations.
    pub load: u32,
    /// Weight for the weighted strategy.
    pub weight: Weight,
    /// Groups it belongs to.
    pub groups: BTreeSet<GroupId>,
    /// The day `assigned_count` counts.
    pub assigned_day: Day,
    /// Conversations assigned on `assigned_day`.
    pub assigned_count: u32,
    /// Active conversations whose reply clock runs.
    pub unreplied: u32,
    /// The shop day `online_ms` counts.
    #[serde(default)]
    pub online_day: Day,
    /// Time in status online or busy on `online_day`, up to `online_since`.
    #[serde(default)]
    pub online_ms: i64,
    /// Since when the agent is online or busy, while it is.
    #[serde(default)]
    pub online_since: Option<Millis>,
    /// Conversations missed (reply or reassign) and offers let lapse since
    /// the agent last replied or was set busy for missing.
    #[serde(default)]
    pub missed_in_row: u32,
}

impl Agent {
    /// A new agent: offline, max load 10, weight 1.
    pub fn new(id: AgentId) -> Self {
        Self {
            id,
            display_name: None,
            status: AgentStatus::Offline,
            max_load: MaxLoad::default(),
            load: 0,
            weight: Weight::default(),
            groups: BTreeSet::new(),
            assigned_day: 0,
            assigned_count: 0,
            unreplied: 0,
            online_day: 0,
            online_ms: 0,
            online_since: None,
            missed_in_row: 0,
        }
    }

    /// Online and under its max load.
    pub fn is_available(&self) -> bool {
        self.status == AgentStatus::Online && self.load < self.max_load.get()
    }

    /// load / max_load.
    pub fn saturation(&self) -> Saturation {
        Saturation {
            load: self.load,
            max: self.max_load.get(),
        }
    }

    /// Conversations assigned on `today`.
    pub fn assigned_on(&self, today: Day) -> u32 {
        if self.assigned_day == today {
            self.assigned_count
        } else {
            0
        }
    }

    /// Milliseconds online or busy on shop day `today` (which starts at
    /// `start`), as of `now`.
    pub fn online_ms_today(&self, today: Day, start: Millis, now: Millis) -> Millis {
        let closed = if self.online_day == today {
            self.online_ms
        } else {
            0
        };
        closed + self.online_since.map_or(0, |s| (now - s.max(start)).max(0))
    }

    /// Weight after the busy penalty (繁忙度).
    pub fn effective_weight(&self, busy_threshold: u32) -> f64 {
        let w = f64::from(self.weight.get());
        if self.unreplied > busy_threshold {
            w / f64::from(1 + self.unreplied - busy_threshold)
        } else {
            w
        }
    }
}

/// Saturation (饱和度) as the exact fraction load / max_load.
///
/// Compared by cross-multiplication so that 1/2 and 2/4 are equal, which is
/// what makes them ties.
#[derive(Clone, Copy, Debug)]
pub struct Saturation {
    /// Numerator.
    pub load: u32,
    /// Denominator (never 0: max load is at least 1).
    pub max: u32,
}

impl Saturation {
    /// As a float, for display.
    pub fn ratio(self) -> f64 {
        f64::from(self.load) / f64::from(self.max)
    }
}

impl PartialEq for Saturation {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Saturation {}

impl PartialOrd for Saturation {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Saturation {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (u64::from(self.load) * u64::from(other.max))
            .cmp(&(u64::from(other.load) * u64::from(self.max)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_load_is_between_1_and_50() {
        assert!(MaxLoad::new(0).is_err());
        assert!(MaxLoad::new(51).is_err());
        assert_eq!(MaxLoad::new(50).unwrap().get(), 50);
        assert_eq!(MaxLoad::default().get(), 10);
    }

    #[test]
    fn equal_fractions_are_equal_saturations() {
        let half = Saturation { load: 1, max: 2 };
        let two_quarters = Saturation { load: 2, max: 4 };
        assert_eq!(half, two_quarters);
        assert!(Saturation { load: 2, max: 10 } > Saturation { load: 3, max: 30 });
    }

    #[test]
    fn busy_agents_get_their_weight_divided() {
        let mut a = Agent::new(AgentId::parse("a").unwrap());
        a.weight = Weight::new(12).unwrap();
        a.unreplied = 4;
        assert_eq!(a.effective_weight(4), 12.0);
        a.unreplied = 6;
        assert_eq!(a.effective_weight(4), 4.0);
    }
}
