//! SVG charts of a simulated day, one file per chart, one line per variant:
//! the queue length over the day, each agent's saturation over the day, and
//! the distribution of waits. Drawn with plotters' SVG backend only.

use std::path::{Path, PathBuf};

use fenliu_core::AgentId;
use plotters::prelude::*;

use crate::series::{StepSeries, BINS, BIN_MS};
use crate::{Observed, Outcome, Scenario};

const SIZE: (u32, u32) = (900, 420);

/// A chart that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ChartError {
    /// The file.
    pub path: String,
    /// Why.
    pub message: String,
}

/// Writes every chart of a scenario's day into `dir` (created if missing);
/// answers the files.
pub fn write(dir: &Path, sc: &Scenario, outcome: &Outcome) -> Result<Vec<PathBuf>, ChartError> {
    let names: Vec<&str> = sc.variants.iter().map(|v| v.name.as_str()).collect();
    let agents: Vec<AgentId> = sc.agents.iter().map(|a| a.id.clone()).collect();
    let runs: Vec<&Observed> = outcome.runs.iter().collect();
    write_runs(dir, &names, &agents, &runs)
}

/// Writes every chart of `runs` (one line each, named by `names`; their
/// agents named by `agents`) into `dir`, created if missing; answers the
/// files. A scenario's day and a replay's alike.
pub fn write_runs(
    dir: &Path,
    names: &[&str],
    agents: &[AgentId],
    runs: &[&Observed],
) -> Result<Vec<PathBuf>, ChartError> {
    std::fs::create_dir_all(dir).map_err(|e| ChartError {
        path: dir.display().to_string(),
        message: e.to_string(),
    })?;
    let names = names.to_vec();
    let mut files = Vec::new();
    let queue: Vec<&StepSeries> = runs.iter().map(|r| &r.queue_len).collect();
    let path = dir.join("queue.svg");
    over_the_day(
        &path,
        "queue length over the day (5-minute max)",
        "conversations queued",
        &names,
        &queue,
    )?;
    files.push(path);
    for (a, id) in agents.iter().enumerate() {
        let series: Vec<&StepSeries> = runs.iter().map(|r| &r.agents[a].saturation).collect();
        let path = dir.join(format!("saturation-{id}.svg"));
        let title = format!("saturation of {id} over the day (5-minute max)");
        over_the_day(&path, &title, "load / max load", &names, &series)?;
        files.push(path);
    }
    let path = dir.join("waits.svg");
    let waits: Vec<&[i64]> = runs.iter().map(|r| r.waits_ms.as_slice()).collect();
    wait_distribution(&path, &names, &waits)?;
    files.push(path);
    Ok(files)
}

fn failed(path: &Path) -> impl Fn(String) -> ChartError + '_ {
    move |message| ChartError {
        path: path.display().to_string(),
        message,
    }
}

fn over_the_day(
    path: &Path,
    title: &str,
    y_label: &str,
    names: &[&str],
    series: &[&StepSeries],
) -> Result<(), ChartError> {
    let fail = failed(path);
    let top = series.iter().map(|s| s.peak()).fold(0.0, f64::max);
    let y_max = if top > 0.0 { top * 1.1 } else { 1.0 };
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..24f64, 0f64..y_max)
        .map_err(|e| fail(e.to_string()))?;
    chart
        .configure_mesh()
        .x_desc("hour of the day")
        .y_desc(y_label)
        .x_labels(13)
        .draw()
        .map_err(|e| fail(e.to_string()))?;
    let hours_per_bin = BIN_MS as f64 / 3_600_000.0;
    for (i, (name, s)) in names.iter().zip(series).enumerate() {
        let color = Palette99::pick(i).to_rgba();
        // A step line: each bin's value held across the bin.
        let points = (0..BINS).flat_map(|b| {
            let v = s.bins()[b];
            [
                (b as f64 * hours_per_bin, v),
                ((b + 1) as f64 * hours_per_bin, v),
            ]
        });
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(|e| fail(e.to_string()))?
            .label(*name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| fail(e.to_string()))?;
    root.present().map_err(|e| fail(e.to_string()))
}

fn wait_distribution(path: &Path, names: &[&str], waits: &[&[i64]]) -> Result<(), ChartError> {
    let fail = failed(path);
    let longest = waits
        .iter()
        .flat_map(|w| w.iter().copied())
        .max()
        .unwrap_or(0);
    let x_max = (longest as f64 / 1000.0).max(1.0) * 1.02;
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "waits of queued conversations that were placed (share waiting at most x)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..x_max, 0f64..1.0f64)
        .map_err(|e| fail(e.to_string()))?;
    chart
        .configure_mesh()
        .x_desc("wait (s)")
        .y_desc("share of placed waits")
        .draw()
        .map_err(|e| fail(e.to_string()))?;
    for (i, (name, w)) in names.iter().zip(waits).enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let mut sorted = w.to_vec();
        sorted.sort_unstable();
        let n = sorted.len() as f64;
        // At most ~500 points a line: every k-th wait of the sorted list.
        let step = (sorted.len() / 500).max(1);
        let mut points: Vec<(f64, f64)> = vec![(0.0, 0.0)];
        points.extend(
            sorted
                .iter()
                .enumerate()
                .filter(|(k, _)| k % step == 0 || *k + 1 == sorted.len())
                .map(|(k, ms)| (*ms as f64 / 1000.0, (k + 1) as f64 / n)),
        );
        let label = if sorted.is_empty() {
            format!("{name} (no waits)")
        } else {
            (*name).to_owned()
        };
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(|e| fail(e.to_string()))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| fail(e.to_string()))?;
    root.present().map_err(|e| fail(e.to_string()))
}
