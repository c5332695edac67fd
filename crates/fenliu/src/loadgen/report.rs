//! What a run measured and how it is told: per-connection counters merged
//! after the run ([`Stats`]), and the report built from them, printed as
//! text or as one JSON object (`--json`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::loadgen::http::TransportError;
use crate::loadgen::workload::OpKind;

/// Transport errors described per connection.
const MAX_ERROR_SAMPLES: usize = 5;

/// Latencies are recorded from 1 µs up to an hour, to 3 significant digits;
/// 32-bit counts keep a connection's histogram small (about 90 KB).
fn histogram() -> Histogram<u32> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// Counters of one kind of request.
#[derive(Clone, Debug, Default)]
pub struct OpStats {
    /// Requests sent.
    pub requests: u64,
    /// Answers by HTTP status.
    pub codes: BTreeMap<u16, u64>,
    /// Transport errors.
    pub transport_errors: u64,
    /// Sum of latencies, µs.
    pub latency_sum_us: u64,
}

/// Counters of one window of the run, by the time requests completed.
#[derive(Clone, Debug, Default)]
pub struct WindowStats {
    /// Requests completed in the window.
    pub requests: u64,
    /// Sum of their latencies, µs.
    pub latency_sum_us: u64,
    /// The largest, µs.
    pub max_us: u64,
}

/// What one connection (or, merged, the whole run) measured.
pub struct Stats {
    /// Latency of every request, µs (with `--rate`, from when it was due).
    pub latency: Histogram<u32>,
    /// From sending each request to its answer, µs: the target's part.
    pub service: Histogram<u32>,
    /// With `--rate`, how late each request was sent after it was due, µs:
    /// the load generator's own part of `latency` (its timer's granularity,
    /// its threads waiting for a core, a target that fell behind).
    pub lateness: Histogram<u32>,
    /// Answers by HTTP status.
    pub codes: BTreeMap<u16, u64>,
    /// Requests that got no answer.
    pub transport_errors: u64,
    /// The first few of those, described.
    pub error_samples: Vec<String>,
    /// Per kind of request, in [`OpKind::ALL`] order.
    pub ops: Vec<OpStats>,
    /// Per window.
    pub windows: Vec<WindowStats>,
}

impl Stats {
    /// Empty counters for a run of `windows` windows.
    pub fn new(windows: usize) -> Stats {
        Stats {
            latency: histogram(),
            service: histogram(),
            lateness: histogram(),
            codes: BTreeMap::new(),
            transport_errors: 0,
            error_samples: Vec::new(),
            ops: vec![OpStats::default(); OpKind::ALL.len()],
            windows: vec![WindowStats::default(); windows],
        }
    }

    /// Counts one request of kind `op` that completed in window `window`
    /// after `us` microseconds.
    pub fn record(
        &mut self,
        op: OpKind,
        window: usize,
        us: u64,
        answer: Result<u16, &TransportError>,
    ) {
        let us = us.max(1);
        self.latency.saturating_record(us);
        let o = &mut self.ops[op.index()];
        o.requests += 1;
        o.latency_sum_us += us;
        match answer {
            Ok(code) => {
                *self.codes.entry(code).or_default() += 1;
                *o.codes.entry(code).or_default() += 1;
            }
            Err(e) => {
                self.transport_errors += 1;
                o.transport_errors += 1;
                if self.error_samples.len() < MAX_ERROR_SAMPLES {
                    self.error_samples.push(e.to_string());
                }
            }
        }
        let last = self.windows.len() - 1;
        let w = &mut self.windows[window.min(last)];
        w.requests += 1;
        w.latency_sum_us += us;
        w.max_us = w.max_us.max(us);
    }

    /// Counts how a request's latency splits: sent `late_us` after it was
    /// due (0 when flat out), answered `service_us` after it was sent.
    pub fn record_split(&mut self, late_us: u64, service_us: u64) {
        self.service.saturating_record(service_us.max(1));
        self.lateness.saturating_record(late_us);
    }

    /// Adds another connection's counters.
    pub fn merge(&mut self, other: Stats) {
        for (mine, theirs) in [
            (&mut self.latency, &other.latency),
            (&mut self.service, &other.service),
            (&mut self.lateness, &other.lateness),
        ] {
            mine.add(theirs).expect("histograms of equal bounds add");
        }
        for (code, n) in other.codes {
            *self.codes.entry(code).or_default() += n;
        }
        self.transport_errors += other.transport_errors;
        for e in other.error_samples {
            if self.error_samples.len() < MAX_ERROR_SAMPLES {
                self.error_samples.push(e);
            }
        }
        for (mine, theirs) in self.ops.iter_mut().zip(other.ops) {
            mine.requests += theirs.requests;
            mine.transport_errors += theirs.transport_errors;
            mine.latency_sum_us += theirs.latency_sum_us;
            for (code, n) in theirs.codes {
                *mine.codes.entry(code).or_default() += n;
            }
        }
        for (mine, theirs) in self.windows.iter_mut().zip(other.windows) {
            mine.requests += theirs.requests;
            mine.latency_sum_us += theirs.latency_sum_us;
            mine.max_us = mine.max_us.max(theirs.max_us);
        }
    }

    /// Requests sent.
    pub fn requests(&self) -> u64 {
        self.latency.len()
    }
}

/// Latency percentiles, µs.
#[derive(Debug, Default, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p99_9: u64,
    /// Largest.
    pub max: u64,
    /// Mean.
    pub mean: f64,
}

impl Latency {
    /// The percentiles of `h` (all 0 when it is empty).
    fn of(h: &Histogram<u32>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        let q = |q: f64| h.value_at_quantile(q);
        Latency {
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            p99_9: q(0.999),
            max: h.max(),
            mean: h.mean(),
        }
    }
}

/// One kind of request in the report.
#[derive(Debug, Serialize)]
pub struct OpReport {
    /// Requests sent.
    pub requests: u64,
    /// Answers by HTTP status.
    pub answers: BTreeMap<String, u64>,
    /// Requests that got no answer.
    pub transport_errors: u64,
    /// Mean latency, µs.
    pub mean_latency_us: f64,
}

/// One window in the report.
#[derive(Debug, Serialize)]
pub struct WindowReport {
    /// Seconds from the start of the run to the window's start.
    pub start_secs: f64,
    /// Requests completed in the window.
    pub requests: u64,
    /// Requests per second in the window.
    pub throughput_rps: f64,
    /// Mean latency, µs.
    pub mean_latency_us: f64,
    /// Largest latency, µs.
    pub max_latency_us: u64,
}

/// The measured part of a run, of the target or of the baseline.
#[derive(Debug, Serialize)]
pub struct RunReport {
    /// Requests sent (answered or not).
    pub requests: u64,
    /// From the start until the last connection was done.
    pub duration_secs: f64,
    /// Requests per second.
    pub throughput_rps: f64,
    /// Latency percentiles, µs; with `--rate`, from when each request was due.
    pub latency_us: Latency,
    /// From sending each request to its answer, µs.
    pub service_latency_us: Latency,
    /// With `--rate`, how late requests were sent after they were due, µs
    /// (`latency_us` is about this plus `service_latency_us`); `null` flat
    /// out.
    pub send_lateness_us: Option<Latency>,
    /// Answers by HTTP status.
    pub answers: BTreeMap<String, u64>,
    /// Requests that got no answer (refused, reset, timed out).
    pub transport_errors: u64,
    /// The first few of those, described.
    pub transport_error_samples: Vec<String>,
    /// Per kind of request (kinds never sent are left out).
    pub ops: BTreeMap<&'static str, OpReport>,
    /// Per window (one when the run was not split).
    pub windows: Vec<WindowReport>,
}

fn answers(codes: &BTreeMap<u16, u64>) -> BTreeMap<String, u64> {
    codes.iter().map(|(c, n)| (c.to_string(), *n)).collect()
}

impl RunReport {
    /// The report of a run that took `duration`, in windows of `window`.
    /// `paced`: the run was at a fixed rate.
    pub fn new(stats: &Stats, duration: Duration, window: Duration, paced: bool) -> RunReport {
        let secs = duration.as_secs_f64().max(1e-9);
        let mean = |sum: u64, n: u64| if n == 0 { 0.0 } else { sum as f64 / n as f64 };
        let ops = OpKind::ALL
            .iter()
            .zip(&stats.ops)
            .filter(|(_, o)| o.requests > 0)
            .map(|(kind, o)| {
                (
                    kind.name(),
                    OpReport {
                        requests: o.requests,
                        answers: answers(&o.codes),
                        transport_errors: o.transport_errors,
                        mean_latency_us: mean(o.latency_sum_us, o.requests),
                    },
                )
            })
            .collect();
        let wsecs = window.as_secs_f64().max(1e-9);
        let windows = stats
            .windows
            .iter()
            .enumerate()
            .map(|(i, w)| WindowReport {
                start_secs: i as f64 * wsecs,
                requests: w.requests,
                throughput_rps: w.requests as f64 / wsecs,
                mean_latency_us: mean(w.latency_sum_us, w.requests),
                max_latency_us: w.max_us,
            })
            .collect();
        RunReport {
            requests: stats.requests(),
            duration_secs: secs,
            throughput_rps: stats.requests() as f64 / secs,
            latency_us: Latency::of(&stats.latency),
            service_latency_us: Latency::of(&stats.service),
            send_lateness_us: paced.then(|| Latency::of(&stats.lateness)),
            answers: answers(&stats.codes),
            transport_errors: stats.transport_errors,
            transport_error_samples: stats.error_samples.clone(),
            ops,
            windows,
        }
    }
}

/// The settings a run was made with.
#[derive(Debug, Serialize)]
pub struct Settings {
    /// `inquiries`, `day` or `mix`.
    pub workload: &'static str,
    /// The target's URL.
    pub target: String,
    /// Shops driven.
    pub shops: u32,
    /// Agents per shop.
    pub agents_per_shop: u32,
    /// Every agent's max load.
    pub max_load: u32,
    /// Connections.
    pub connections: u32,
    /// Client threads.
    pub threads: u32,
    /// Windows of the run.
    pub windows: u32,
    /// Length of a window, s.
    pub window_secs: u64,
    /// Fixed rate, requests/s; `null`: flat out.
    pub rate: Option<f64>,
    /// Seed.
    pub seed: u64,
    /// The routing settings put in every shop.
    pub routing: serde_json::Value,
}

/// The after-run checks.
#[derive(Debug, Default, Serialize)]
pub struct Checks {
    /// Whether loads were checked against max loads (not in no-queue mode).
    pub max_load_checked: bool,
    /// Why a check was skipped, if one was.
    pub notes: Vec<String>,
    /// Agents whose load was read.
    pub agents_checked: u64,
    /// Agents whose list of active conversations was read.
    pub agent_lists_checked: u64,
    /// Conversations acknowledged during the run.
    pub conversations_acknowledged: u64,
    /// Of those, read back.
    pub conversations_checked: u64,
    /// Answers during the run that the workload's model did not expect.
    pub unexpected_answers: u64,
    /// Invariant violations (unexpected answers included).
    pub violation_count: u64,
    /// The first of them, described.
    pub violations: Vec<String>,
}

/// Violations described in the report; the rest are only counted.
pub const MAX_VIOLATIONS: usize = 50;

impl Checks {
    /// Records a violation.
    pub fn violation(&mut self, what: String) {
        self.violations_counted(1, vec![what]);
    }

    /// Records `count` violations, of which `samples` are described.
    pub fn violations_counted(&mut self, count: u64, samples: Vec<String>) {
        self.violation_count += count;
        for what in samples {
            if self.violations.len() < MAX_VIOLATIONS {
                self.violations.push(what);
            }
        }
    }
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
    /// How the run was made.
    pub settings: Settings,
    /// Seconds the untimed setup took.
    pub setup_secs: f64,
    /// The baseline, with `--baseline`.
    pub baseline: Option<RunReport>,
    /// The target.
    pub run: RunReport,
    /// The target's throughput ÷ the baseline's.
    pub ratio_to_baseline: Option<f64>,
    /// The after-run checks.
    pub checks: Checks,
}

fn run_text(out: &mut String, title: &str, r: &RunReport, windows: bool) {
    let l = &r.latency_us;
    let _ = writeln!(
        out,
        "{title}: {} requests in {:.2} s = {:.0} req/s",
        r.requests, r.duration_secs, r.throughput_rps
    );
    let _ = writeln!(
        out,
        "  latency µs: p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  (mean {:.0})",
        l.p50, l.p90, l.p99, l.p99_9, l.max, l.mean
    );
    if let Some(late) = &r.send_lateness_us {
        let s = &r.service_latency_us;
        let _ = writeln!(
            out,
            "  of which sent late µs: p50 {}  p99 {}  max {}; answered after sending µs: p50 {}  p99 {}  max {}",
            late.p50, late.p99, late.max, s.p50, s.p99, s.max
        );
    }
    let codes: Vec<String> = r.answers.iter().map(|(c, n)| format!("{c}: {n}")).collect();
    let _ = writeln!(
        out,
        "  answers: {}; transport errors: {}",
        if codes.is_empty() {
            "none".into()
        } else {
            codes.join(", ")
        },
        r.transport_errors
    );
    for e in &r.transport_error_samples {
        let _ = writeln!(out, "    e.g. {e}");
    }
    if r.ops.len() > 1 {
        let _ = writeln!(out, "  by kind:");
        for (name, o) in &r.ops {
            let codes: Vec<String> = o.answers.iter().map(|(c, n)| format!("{c}: {n}")).collect();
            let errors = if o.transport_errors > 0 {
                format!(", {} errors", o.transport_errors)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "    {name:<15} {:>9}  mean {:>7.0} µs  ({}{errors})",
                o.requests,
                o.mean_latency_us,
                codes.join(", ")
            );
        }
    }
    if windows && r.windows.len() > 1 {
        let _ = writeln!(out, "  windows:");
        for (i, w) in r.windows.iter().enumerate() {
            let _ = writeln!(
                out,
                "    {:>3}  from {:>6.1} s  {:>9} requests  {:>9.0} req/s  mean {:>7.0} µs  max {:>8} µs",
                i + 1,
                w.start_secs,
                w.requests,
                w.throughput_rps,
                w.mean_latency_us,
                w.max_latency_us
            );
        }
    }
}

impl Report {
    /// The report as text for a person.
    pub fn text(&self) -> String {
        let s = &self.settings;
        let mut out = String::new();
        let rate = s
            .rate
            .map_or_else(|| "flat out".to_owned(), |r| format!("{r} req/s"));
        let _ = writeln!(
            out,
            "fenliu loadgen: workload {} against {}; {} shop(s) of {} agents, max load {}",
            s.workload, s.target, s.shops, s.agents_per_shop, s.max_load
        );
        let _ = writeln!(
            out,
            "  {} connections, {} thread(s), {rate}, {} x {} s, seed {}",
            s.connections, s.threads, s.windows, s.window_secs, s.seed
        );
        let _ = writeln!(out, "setup: {:.2} s", self.setup_secs);
        if let Some(b) = &self.baseline {
            run_text(
                &mut out,
                "baseline (actix-web JSON endpoint, 1 worker)",
                b,
                false,
            );
        }
        run_text(&mut out, "target", &self.run, true);
        if let Some(ratio) = self.ratio_to_baseline {
            let _ = writeln!(out, "target / baseline throughput: {ratio:.3}");
        }
        let c = &self.checks;
        let _ = writeln!(
            out,
            "checks: {} agents{}, {} agent lists, {} of {} acknowledged conversations read back; {} unexpected answers",
            c.agents_checked,
            if c.max_load_checked { " within max load" } else { " read" },
            c.agent_lists_checked,
            c.conversations_checked,
            c.conversations_acknowledged,
            c.unexpected_answers
        );
        for n in &c.notes {
            let _ = writeln!(out, "  note: {n}");
        }
        if c.violation_count == 0 {
            let _ = writeln!(out, "invariants: ok");
        } else {
            let _ = writeln!(out, "invariants: {} violation(s)", c.violation_count);
            for v in &c.violations {
                let _ = writeln!(out, "  {v}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_done_after_the_last_window_counts_in_the_last() {
        let mut stats = Stats::new(2);

        stats.record(OpKind::Inquiry, 0, 100, Ok(201));
        stats.record(OpKind::Inquiry, 5, 300, Ok(201));

        assert_eq!(stats.windows[0].requests, 1);
        assert_eq!(stats.windows[1].requests, 1);
        assert_eq!(stats.windows[1].max_us, 300);
    }

    #[test]
    fn merged_stats_add_answers_by_status_and_transport_errors() {
        let mut a = Stats::new(1);
        let mut b = Stats::new(1);
        a.record(OpKind::End, 0, 50, Ok(200));
        b.record(OpKind::End, 0, 70, Ok(200));
        b.record(OpKind::Transfer, 0, 90, Ok(409));
        b.record(OpKind::End, 0, 10_000, Err(&TransportError("reset".into())));

        a.merge(b);
        let report = RunReport::new(&a, Duration::from_secs(2), Duration::from_secs(2), false);

        assert_eq!(report.requests, 4);
        assert_eq!(report.throughput_rps, 2.0);
        assert_eq!(report.answers["200"], 2);
        assert_eq!(report.answers["409"], 1);
        assert_eq!(report.transport_errors, 1);
        assert_eq!(report.ops["end"].requests, 3);
        assert_eq!(report.ops["end"].transport_errors, 1);
        assert!(!report.ops.contains_key("inquiry"));
        assert_eq!(report.latency_us.max, 10_007, "3 significant digits");
    }

    #[test]
    fn a_paced_run_reports_how_late_requests_were_sent_and_the_service_time() {
        let mut a = Stats::new(1);
        let mut b = Stats::new(1);
        a.record(OpKind::Inquiry, 0, 1_500, Ok(201));
        a.record_split(1_000, 500);
        b.record(OpKind::Inquiry, 0, 300, Ok(201));
        b.record_split(0, 300);
        a.merge(b);

        let paced = RunReport::new(&a, Duration::from_secs(1), Duration::from_secs(1), true);
        let late = paced.send_lateness_us.as_ref().expect("paced");
        assert_eq!(late.max, 1_000);
        assert_eq!(paced.service_latency_us.max, 500);
        assert_eq!(paced.service_latency_us.p50, 300);
        assert_eq!(paced.latency_us.max, 1_500);
        let flat = RunReport::new(&a, Duration::from_secs(1), Duration::from_secs(1), false);
        assert!(flat.send_lateness_us.is_none());
    }
}
