//! `fenliu sim SCENARIO.toml [--seed N] [--json] [--svg DIR]`: reads the
//! scenario, runs it with `fenliu-sim` (a progress bar on stderr when it is
//! a terminal), prints the report and writes the charts.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::SimArgs;

/// Runs the simulator as the flags say.
pub fn run(args: SimArgs) -> anyhow::Result<()> {
    let scenario = fenliu_sim::Scenario::load(&args.scenario)?;
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
