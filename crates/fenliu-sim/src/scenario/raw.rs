//! The scenario file as written: what serde reads, before any value is
//! checked. Unknown fields are refused here; defaults are filled in here.

use std::collections::BTreeMap;

use fenliu_core::{MaxLoad, Weight};
use serde::Deserialize;

use super::Arrivals;
use crate::dist::{Count, Dist};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    pub(super) seed: u64,
    pub(super) date: String,
    #[serde(default = "default_timezone")]
    pub(super) timezone: String,
    pub(super) agents: Vec<RawAgent>,
    pub(super) buyers: RawBuyers,
    pub(super) variants: Vec<RawVariant>,
}

fn default_timezone() -> String {
    "+08:00".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAgent {
    pub(super) id: String,
    #[serde(default = "default_max_load")]
    pub(super) max_load: u32,
    #[serde(default = "default_weight")]
    pub(super) weight: u32,
    #[serde(default)]
    pub(super) groups: Vec<String>,
    pub(super) shifts: Vec<String>,
    pub(super) reply_delay: Dist,
    pub(super) end_after: Dist,
    #[serde(default = "default_speed")]
    pub(super) speed: f64,
}

fn default_max_load() -> u32 {
    MaxLoad::default().get()
}

fn default_weight() -> u32 {
    Weight::default().get()
}

fn default_speed() -> f64 {
    1.0
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBuyers {
    pub(super) inquiries: u32,
    #[serde(default)]
    pub(super) arrivals: Arrivals,
    pub(super) hourly: Option<Vec<f64>>,
    #[serde(default)]
    pub(super) peaks: Vec<RawPeak>,
    #[serde(default)]
    pub(super) entries: BTreeMap<String, f64>,
    #[serde(default)]
    pub(super) questions: BTreeMap<String, f64>,
    #[serde(default)]
    pub(super) order_states: BTreeMap<String, f64>,
    #[serde(default)]
    pub(super) products: BTreeMap<String, f64>,
    #[serde(default)]
    pub(super) intents: BTreeMap<String, f64>,
    #[serde(default)]
    pub(super) priorities: BTreeMap<String, f64>,
    #[serde(default)]
    pub(super) return_probability: f64,
    #[serde(default = "default_return_after")]
    pub(super) return_after: Dist,
    pub(super) patience: Dist,
    pub(super) messages: Count,
    #[serde(default = "default_message_gap")]
    pub(super) message_gap: Dist,
}

fn default_return_after() -> Dist {
    Dist::Uniform {
        min_secs: 600.0,
        max_secs: 7_200.0,
    }
}

fn default_message_gap() -> Dist {
    Dist::Exp { mean_secs: 30.0 }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPeak {
    pub(super) at: String,
    pub(super) minutes: u32,
    pub(super) share: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVariant {
    pub(super) name: String,
    pub(super) routing: Option<toml::Value>,
    pub(super) routing_file: Option<String>,
}
