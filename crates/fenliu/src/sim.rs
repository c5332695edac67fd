//! `fenliu sim SCENARIO.toml [--seed N] [--json] [--svg DIR]`: reads the
//! scenario, runs it with `fenliu-sim` (a progress bar on stderr when it is
//! a terminal), prints the report and writes the charts.
//!
//! `fenliu sim --replay EXPORT.jsonl --variant ROUTING.json... [--seed N]
//! [--json] [--svg DIR]`: replays a recorded day under each variant and
//! prints the record's figures beside theirs.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::SimArgs;

/// Runs the simulator as the flags say.
pub fn run(args: SimArgs) -> anyhow::Result<()> {
    let scenario = match (&args.scenario, &args.replay) {
        (_, Some(export)) => return replay(export, &args),
        (Some(scenario), None) => scenario,
        // clap requires one of them.
        (None, None) => anyhow::bail!("give a scenario or --replay EXPORT.jsonl"),
    };
    let scenario = fenliu_sim::Scenario::load(scenario)?;
    let seed = args.seed.unwrap_or(scenario.seed);
    let bar = if std::io::stderr().is_terminal() {
        let per_variant = fenliu_sim::planned_arrivals(&scenario, seed) as u64;
        let bar = ProgressBar::new(per_variant * scenario.variants.len() as u64).with_prefix("sim");
        if let Ok(style) =
            ProgressStyle::with_template("{prefix:>9} [{bar:40}] {pos}/{len} arrivals {elapsed}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut since_draw = 0u64;
    let outcome = fenliu_sim::simulate(&scenario, seed, &mut || {
        // Returns make the count run past the planned length; a bar that
        // ends a little early is better than a guess of the returns.
        since_draw += 1;
        if since_draw == 1024 {
            bar.inc(since_draw);
            since_draw = 0;
        }
    });
    bar.finish_and_clear();
    if args.json {
        println!("{}", outcome.report.to_json());
    } else {
        print!("{}", outcome.report.to_text());
    }
    if let Some(dir) = &args.svg {
        let files = fenliu_sim::charts::write(dir, &scenario, &outcome)?;
        eprintln!("wrote {} charts into {}", files.len(), dir.display());
    }
    Ok(())
}

/// Replays the export `path` under every `--variant`.
fn replay(path: &std::path::Path, args: &SimArgs) -> anyhow::Result<()> {
    use fenliu_sim::replay;
    let export = replay::Export::load(path)?;
    let tz = export.start.routing.timezone;
    let variants = args
        .variant
        .iter()
        .map(|v| replay::load_variant(v, tz))
        .collect::<Result<Vec<_>, _>>()?;
    let seed = args.seed.unwrap_or(0);
    let outcome = replay::replay(&export, &variants, seed);
    if args.json {
        println!("{}", outcome.report.to_json());
    } else {
        print!("{}", outcome.report.to_text());
    }
    if let Some(dir) = &args.svg {
        let mut names = vec!["recorded"];
        names.extend(variants.iter().map(|v| v.name.as_str()));
        let runs: Vec<&fenliu_sim::Observed> = std::iter::once(&outcome.recorded)
            .chain(outcome.runs.iter().map(|r| &r.observed))
            .collect();
        let files = fenliu_sim::charts::write_runs(dir, &names, &outcome.agents, &runs)?;
        eprintln!("wrote {} charts into {}", files.len(), dir.display());
    }
    Ok(())
}
