//! `fenliu loadgen`: drives a node or a load balancer with one of three
//! workloads, at a fixed rate or flat out, and reports throughput, latency
//! percentiles and answers by status, then checks the target's invariants
//! (agents within max load, every acknowledged conversation there and
//! consistent). With `--baseline` it first measures the cheapest actix-web
//! JSON endpoint in the same process, so the target's throughput reads as a
//! ratio that does not depend on how busy the machine is.
//!
//! # Layout
//!
//! - [`setup`]: the shops, agents and tokens of a run; the untimed staffing.
//! - [`workload`]: per-connection generators of requests and their model of
//!   the acknowledged conversations; the `inquiries` and `day` workloads.
//! - [`mix`]: the realistic mix.
//! - [`driver`]: the timed run, one task per keep-alive connection.
//! - [`http`]: the bare hyper HTTP/1.1 connection those tasks use.
//! - [`baseline`]: the actix-web endpoint `--baseline` measures.
//! - [`check`]: the after-run invariants.
//! - [`report`]: counters, the report, text and JSON.

mod baseline;
mod check;
mod driver;
mod http;
mod mix;
mod report;
mod setup;
mod workload;

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{LoadgenArgs, WorkloadKind};
use crate::loadgen::driver::{drive, Schedule};
use crate::loadgen::http::Target;
use crate::loadgen::mix::Mix;
use crate::loadgen::report::{Report, RunReport, Settings};
use crate::loadgen::setup::World;
use crate::loadgen::workload::{Day, Generator, Inquiries};

/// Setup calls in flight at once.
const SETUP_PARALLEL: usize = 16;
/// Reads in flight at once in the after-run check.
const CHECK_PARALLEL: usize = 16;

/// A run's sizes, the flags with the workload's defaults filled in.
struct Plan {
    shops: u32,
    agents: u32,
    max_load: u32,
    schedule: Schedule,
}

impl Plan {
    fn new(args: &LoadgenArgs) -> Plan {
        let mix = args.workload == WorkloadKind::Mix;
        let day = args.workload == WorkloadKind::Day;
        let (windows, window_secs) = match args.duration_secs {
            Some(d) => (1, d),
            None => (
                args.windows.unwrap_or(if day { 5 } else { 1 }),
                args.window_secs.unwrap_or(if day { 4 } else { 10 }),
            ),
        };
        Plan {
            shops: args.shops.unwrap_or(if mix { 10 } else { 1 }),
            agents: args.agents.unwrap_or(if mix { 20 } else { 200 }),
            max_load: args.max_load.unwrap_or(if mix { 5 } else { 50 }),
            schedule: Schedule {
                windows,
                window: Duration::from_secs(window_secs),
                rate: args.rate,
                timeout: Duration::from_secs(args.timeout_secs),
                seed: args.seed,
            },
        }
    }
}

/// Runs `fenliu loadgen`: prints the report on stdout, and fails when an
/// invariant was violated.
pub fn run(args: LoadgenArgs) -> anyhow::Result<()> {
    let secret = args
        .jwt_secret
        .clone()
        .filter(|s| !s.is_empty())
        .context("FENLIU_JWT_SECRET is not set: pass --jwt-secret or set FENLIU_JWT_SECRET to the target's secret")?;
    let plan = Plan::new(&args);
    let runtime = if args.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads as usize)
            .enable_all()
            .build()?
    };
    let report = runtime.block_on(run_async(&args, &secret, &plan))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.text());
    }
    let violations = report.checks.violation_count;
    anyhow::ensure!(violations == 0, "{violations} invariant violation(s)");
    Ok(())
}

/// A progress bar on stderr when it is a terminal, else a hidden one.
fn bar(show: bool, prefix: &'static str, len: u64, template: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len).with_prefix(prefix);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

const COUNT_BAR: &str = "{prefix:>9} [{bar:40}] {pos}/{len} {msg}";
const TIME_BAR: &str = "{prefix:>9} [{bar:40}] {elapsed}/{duration} {msg}";

async fn run_async(args: &LoadgenArgs, secret: &str, plan: &Plan) -> anyhow::Result<Report> {
    let show = !args.no_progress && std::io::stderr().is_terminal();
    let target = Arc::new(Target::resolve(&args.target).await?);
    let schedule = plan.schedule;
    let world = Arc::new(World::new(
        args.workload,
        secret,
        &args.shop_prefix,
        plan.shops,
        plan.agents,
        plan.max_load,
        schedule.total() + Duration::from_secs(7_200),
    )?);

    // Setup, not timed.
    setup::wait_ready(&target, schedule.timeout).await?;
    let started = Instant::now();
    let done = Arc::new(AtomicUsize::new(0));
    let progress = bar(
        show,
        "setup",
        u64::from(plan.shops * plan.agents),
        COUNT_BAR,
    );
    let ticker = {
        let (progress, done) = (progress.clone(), done.clone());
        tokio::spawn(async move {
            loop {
                progress.set_position(done.load(Ordering::Relaxed) as u64);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let staffed = setup::staff(&world, &target, SETUP_PARALLEL, schedule.timeout, done).await;
    ticker.abort();
    progress.finish_and_clear();
    staffed.context("setup failed")?;
    let setup_secs = started.elapsed().as_secs_f64();

    let conns = args.connections;
    let run_bar = |prefix| bar(show, prefix, schedule.total().as_millis() as u64, TIME_BAR);

    // The baseline first, then the target, with the same connections, duration and rate.
    let baseline = if args.baseline {
        let server = baseline::Baseline::start()?;
        let local = Arc::new(Target::local(server.addr));
        let generators: Vec<Box<dyn Generator>> = (0..conns)
            .map(|i| Box::new(Inquiries::new(world.clone(), i, false)) as Box<dyn Generator>)
            .collect();
        let measured = drive(local, generators, schedule, run_bar("baseline")).await;
        server.stop().await?;
        let measured = measured?;
        Some(RunReport::new(
            &measured.stats,
            measured.duration,
            schedule.window,
            schedule.rate.is_some(),
        ))
    } else {
        None
    };

    let generators: Vec<Box<dyn Generator>> = (0..conns)
        .map(|i| -> Box<dyn Generator> {
            match args.workload {
                WorkloadKind::Inquiries => Box::new(Inquiries::new(world.clone(), i, true)),
                WorkloadKind::Day => Box::new(Day::new(world.clone(), i)),
                WorkloadKind::Mix => Box::new(Mix::new(world.clone(), i, conns)),
            }
        })
        .collect();
    let measured = drive(
        target.clone(),
        generators,
        schedule,
        run_bar(args.workload.name()),
    )
    .await?;
    let run = RunReport::new(
        &measured.stats,
        measured.duration,
        schedule.window,
        schedule.rate.is_some(),
    );

    let reader = check::Reader {
        target: target.clone(),
        auth: world.service.clone(),
        parallel: CHECK_PARALLEL,
        timeout: schedule.timeout,
        progress: bar(show, "check", 0, COUNT_BAR),
    };
    let checks = check::check(&world, &reader, measured.outcomes, args.check_limit).await;
    reader.progress.finish_and_clear();

    let ratio_to_baseline = baseline
        .as_ref()
        .filter(|b| b.throughput_rps > 0.0)
        .map(|b| run.throughput_rps / b.throughput_rps);
    Ok(Report {
        settings: Settings {
            workload: args.workload.name(),
            target: target.url.clone(),
            shops: plan.shops,
            agents_per_shop: plan.agents,
            max_load: plan.max_load,
            connections: conns,
            threads: args.threads,
            windows: schedule.windows,
            window_secs: schedule.window.as_secs(),
            rate: schedule.rate,
            seed: schedule.seed,
            routing: world.routing(),
        },
        setup_secs,
        baseline,
        run,
        ratio_to_baseline,
        checks,
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Cmd};

    fn plan(args: &[&str]) -> Plan {
        let cli = Cli::try_parse_from([&["fenliu", "loadgen"], args].concat()).unwrap();
        let Cmd::Loadgen(args) = cli.command else {
            panic!("not loadgen")
        };
        Plan::new(&args)
    }

    #[test]
    fn inquiries_default_to_one_shop_of_200_agents_of_max_load_50_for_10_seconds() {
        let p = plan(&["--workload", "inquiries"]);
        assert_eq!((p.shops, p.agents, p.max_load), (1, 200, 50));
        assert_eq!(
            (p.schedule.windows, p.schedule.total()),
            (1, Duration::from_secs(10))
        );
        assert_eq!(p.schedule.rate, None);
    }

    #[test]
    fn a_day_defaults_to_five_windows_of_four_seconds() {
        let p = plan(&["--workload", "day"]);
        assert_eq!(
            (p.schedule.windows, p.schedule.window),
            (5, Duration::from_secs(4))
        );
    }

    #[test]
    fn the_mix_is_the_default_workload_with_ten_small_shops() {
        let p = plan(&[]);
        assert_eq!((p.shops, p.agents, p.max_load), (10, 20, 5));
    }

    #[test]
    fn a_duration_is_one_window_and_excludes_windows() {
        let p = plan(&["--workload", "day", "--duration-secs", "3"]);
        assert_eq!(
            (p.schedule.windows, p.schedule.total()),
            (1, Duration::from_secs(3))
        );
        let both = [
            "fenliu",
            "loadgen",
            "--duration-secs",
            "3",
            "--windows",
            "2",
        ];
        assert!(Cli::try_parse_from(both).is_err());
    }

    #[test]
    fn a_rate_must_be_a_positive_number() {
        for bad in ["0", "-5", "fast", "NaN"] {
            let args = ["fenliu", "loadgen", "--rate", bad];
            assert!(Cli::try_parse_from(args).is_err(), "{bad}");
        }
        assert_eq!(plan(&["--rate", "250.5"]).schedule.rate, Some(250.5));
    }
}
