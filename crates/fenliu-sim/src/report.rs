//! The report of a simulated day: a text table for people (variants side by
//! side) and JSON for machines (fields in a fixed order, as declared).

use std::fmt::Write;

use serde::Serialize;

use crate::figures::VariantFigures;
use crate::scenario::Scenario;

/// The report of a day.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The scenario file, as given.
    pub scenario: String,
    /// The day.
    pub date: String,
    /// The shop's time zone.
    pub timezone: String,
    /// The seed used.
    pub seed: u64,
    /// Buyers of the day (first visits, the same for every variant).
    pub buyers: usize,
    /// Per variant, in the scenario's (or the command line's) order.
    pub variants: Vec<VariantFigures>,
    /// A replay's record: the figures of the day as it happened, from the
    /// export's outcome lines (absent for a scenario).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded: Option<VariantFigures>,
}

impl Report {
    /// A report of `variants`' figures.
    pub fn new(sc: &Scenario, seed: u64, buyers: usize, variants: Vec<VariantFigures>) -> Self {
        Self {
            scenario: sc.file.clone(),
            date: sc.date.clone(),
            timezone: sc.timezone.to_string(),
            seed,
            buyers,
            variants,
            recorded: None,
        }
    }

    /// The report of a replay of the export `file`: `recorded` is the day
    /// as it happened, `buyers` its arrivals, `seed` the replay's.
    pub fn of_replay(
        file: &str,
        date: String,
        timezone: String,
        seed: u64,
        buyers: usize,
        recorded: VariantFigures,
        variants: Vec<VariantFigures>,
    ) -> Self {
        Self {
            scenario: file.to_owned(),
            date,
            timezone,
            seed,
            buyers,
            variants,
            recorded: Some(recorded),
        }
    }

    /// The columns of the text table: the record first, when there is one.
    fn columns(&self) -> Vec<&VariantFigures> {
        self.recorded.iter().chain(&self.variants).collect()
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serializes")
    }

    /// The report as text: one table of the shop's figures, one of the agents'.
    pub fn to_text(&self) -> String {
        let columns = self.columns();
        let mut rows: Vec<(String, Vec<String>)> = Vec::new();
        let mut row = |label: &str, cell: &dyn Fn(&VariantFigures) -> String| {
            rows.push((label.to_owned(), columns.iter().map(|v| cell(v)).collect()));
        };
        row("inquiries (returns)", &|v| {
            format!("{} ({})", v.inquiries, v.returns)
        });
        row("assigned at once", &|v| v.assigned_at_once.to_string());
        row("queued share", &|v| pct(v.queued_share));
        row("abandoned", &|v| v.abandoned.to_string());
        row("wait p50 / p90 (s)", &|v| {
            format!("{} / {}", secs(v.wait_secs.p50), secs(v.wait_secs.p90))
        });
        row("wait p99 / max (s)", &|v| {
            format!("{} / {}", secs(v.wait_secs.p99), secs(v.wait_secs.max))
        });
        row("service level", &|v| {
            format!("{} ({} s)", pct(v.service_level), v.reply_target_secs)
        });
        row("3-minute reply rate", &|v| pct(v.reply_rate_3m));
        row("recent-contact hit rate", &|v| {
            format!("{} of {}", pct(v.recent_contact_hit_rate), v.returns_placed)
        });
        row("fairness (Jain)", &|v| {
            v.fairness.map_or("n/a".into(), |f| format!("{f:.3}"))
        });
        row("agents over max load", &|v| {
            v.agents_over_max_load.to_string()
        });
        row("wait estimate MAE (s)", &|v| secs(v.wait_estimate_mae_secs));
        let mut out = String::new();
        let what = if self.recorded.is_some() {
            "replayed with seed"
        } else {
            "seed"
        };
        let _ = writeln!(
            out,
            "{} — {} ({}), {what} {}, {} buyers",
            self.scenario, self.date, self.timezone, self.seed, self.buyers
        );
        let names: Vec<String> = columns.iter().map(|v| v.name.clone()).collect();
        table(&mut out, "", &names, &rows);
        let agents = columns.first().map_or(0, |v| v.agents.len());
        let rows: Vec<(String, Vec<String>)> = (0..agents)
            .map(|i| {
                let id = columns[0].agents[i].agent_id.clone();
                let cells = columns
                    .iter()
                    .map(|v| {
                        let a = &v.agents[i];
                        format!(
                            "{} / {} / {:.0}%",
                            a.receptions,
                            a.sessions_per_online_hour
                                .map_or("n/a".into(), |x| format!("{x:.1}")),
                            a.peak_saturation * 100.0
                        )
                    })
                    .collect();
                (id, cells)
            })
            .collect();
        out.push('\n');
        table(
            &mut out,
            "agent: receptions / per online hour / peak saturation",
            &names,
            &rows,
        );
        out
    }
}

fn pct(x: Option<f64>) -> String {
    x.map_or("n/a".into(), |x| format!("{:.1}%", x * 100.0))
}

fn secs(x: Option<f64>) -> String {
    x.map_or("n/a".into(), |x| format!("{x:.1}"))
}

fn table(out: &mut String, title: &str, names: &[String], rows: &[(String, Vec<String>)]) {
    let width = |s: &str| s.chars().count();
    let label_w = rows
        .iter()
        .map(|(l, _)| width(l))
        .chain([width(title)])
        .max()
        .unwrap_or(0);
    let col_w: Vec<usize> = names
        .iter()
        .enumerate()
        .map(|(c, n)| {
            rows.iter()
                .map(|(_, cells)| width(&cells[c]))
                .chain([width(n)])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |out: &mut String, label: &str, cells: &[String]| {
        let _ = write!(out, "{label}{}", " ".repeat(label_w - width(label)));
        for (cell, w) in cells.iter().zip(&col_w) {
            let _ = write!(out, "  {}{cell}", " ".repeat(w - width(cell)));
        }
        out.push('\n');
    };
    line(out, title, names);
    for (label, cells) in rows {
        line(out, label, cells);
    }
}
