//! The timed run: one tokio task per connection sends its generator's
//! requests back to back (flat out) or each at its due time (`--rate`),
//! records latency and answers into its own [`Stats`], and hands them and its
//! generator's outcome back at the end. Nothing is shared but a counter for
//! the progress bar and, at a fixed rate, the next due time.
//!
//! At a fixed rate the due times are one schedule for the whole run (request
//! `k` is due at `k / rate`), and a connection that is free takes the next
//! one. A connection still waiting for a slow answer therefore delays no
//! request but its own, as with buyers each on their own connection; only
//! when every connection is busy are requests sent late, and that lateness
//! is counted in the latency (no coordinated omission).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::ProgressBar;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use tokio::time::Instant;

use crate::loadgen::http::{Conn, Target};
use crate::loadgen::report::Stats;
use crate::loadgen::workload::{Generator, Outcome};

/// When requests are sent.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    /// Windows the run is reported in.
    pub windows: u32,
    /// Length of one window.
    pub window: Duration,
    /// Requests per second over all connections; `None`: flat out.
    pub rate: Option<f64>,
    /// A request without an answer after this long is a transport error.
    pub timeout: Duration,
    /// Seed; connection `i` draws from its own generator seeded from it.
    pub seed: u64,
}

impl Schedule {
    /// The length of the whole run.
    pub fn total(&self) -> Duration {
        self.window * self.windows
    }
}

/// What a run measured.
pub struct Measured {
    /// Every connection's counters, merged.
    pub stats: Stats,
    /// From the start until the last connection was done.
    pub duration: Duration,
    /// Each generator's outcome.
    pub outcomes: Vec<Outcome>,
}

/// Runs the generators, one connection each, against `target` for the
/// schedule's length; `progress` shows the time gone and the requests sent.
pub async fn drive(
    target: Arc<Target>,
    generators: Vec<Box<dyn Generator>>,
    schedule: Schedule,
    progress: ProgressBar,
) -> anyhow::Result<Measured> {
    let conns = generators.len();
    let sent = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + schedule.total();
    let interval = schedule.rate.map(|r| Duration::from_secs_f64(1.0 / r));
    let next_due = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(conns);
    for (i, mut generator) in generators.into_iter().enumerate() {
        let (target, sent, next_due) = (target.clone(), sent.clone(), next_due.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::new(target, schedule.timeout);
            let mut rng = SmallRng::seed_from_u64(
                schedule.seed ^ (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            );
            let mut stats = Stats::new(schedule.windows as usize);
            loop {
                let began = match interval {
                    Some(iv) => {
                        let k = next_due.fetch_add(1, Ordering::Relaxed);
                        let due = start + iv.mul_f64(k as f64);
                        if due >= deadline {
                            break;
                        }
                        tokio::time::sleep_until(due).await;
                        // Measured from when the request was due, so a target
                        // that falls behind shows it (no coordinated omission).
                        due
                    }
                    None => {
                        let now = Instant::now();
                        if now >= deadline {
                            break;
                        }
                        now
                    }
                };
                let req = generator.next(&mut rng);
                let sent_at = Instant::now();
                let answer = conn
                    .send(req.method, &req.path, Some(&req.auth), req.body.as_deref())
                    .await;
                let done = Instant::now();
                let window =
                    ((done - start).as_nanos() / schedule.window.as_nanos().max(1)) as usize;
                let us = (done - began).as_micros() as u64;
                stats.record(req.op, window, us, answer.as_ref().map(|a| a.status));
                stats.record_split(
                    sent_at.saturating_duration_since(began).as_micros() as u64,
                    (done - sent_at).as_micros() as u64,
                );
                generator.observe(answer.as_ref());
                sent.fetch_add(1, Ordering::Relaxed);
            }
            (stats, generator.finish())
        }));
    }
    let ticker = {
        let (progress, sent) = (progress.clone(), sent.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            loop {
                tick.tick().await;
                let gone = start.elapsed();
                let n = sent.load(Ordering::Relaxed);
                progress.set_position(gone.as_millis() as u64);
                progress.set_message(format!(
                    "{n} requests, {:.0} req/s",
                    n as f64 / gone.as_secs_f64().max(1e-3)
                ));
            }
        })
    };
    let mut stats = Stats::new(schedule.windows as usize);
    let mut outcomes = Vec::with_capacity(conns);
    for task in tasks {
        let (s, outcome) = task.await?;
        stats.merge(s);
        outcomes.push(outcome);
    }
    let duration = start.elapsed();
    ticker.abort();
    progress.finish_and_clear();
    Ok(Measured {
        stats,
        duration,
        outcomes,
    })
}
