//! Command-line flags; every serve setting also reads a `FENLIU_*` variable.

use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand, ValueEnum};
use fenliu_api::auth::Role;
use rand::{RngCore, SeedableRng};

/// fenliu (分流): routes customer-service inquiries of online shops to agents.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run a node.
    Serve(ServeArgs),
    /// Print a signed token.
    Token(TokenArgs),
    /// Drive a node or a load balancer with generated traffic and report
    /// throughput, latency and the invariants checked afterwards.
    Loadgen(LoadgenArgs),
    /// What-if simulator: run a scenario's day through the routing core
    /// once per routing variant and compare the figures (docs/simulator.md).
    Sim(SimArgs),
}

/// `fenliu sim`: a scenario, or a recorded day replayed under variants.
#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// The scenario file (TOML, see docs/simulator.md).
    #[arg(required_unless_present = "replay", conflicts_with = "replay")]
    pub scenario: Option<std::path::PathBuf>,
    /// Replay a recorded day: an export's JSON lines (`GET /export`).
    #[arg(long, value_name = "EXPORT.jsonl", requires = "variant")]
    pub replay: Option<std::path::PathBuf>,
    /// A routing variant to replay the day under (the JSON of `PUT
    /// /routing`); repeat for several.
    #[arg(long, value_name = "ROUTING.json", requires = "replay")]
    pub variant: Vec<std::path::PathBuf>,
    /// Replaces the scenario's seed (a replay's: 0), which draws the core's
    /// random numbers.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also write SVG charts into this folder.
    #[arg(long, value_name = "DIR")]
    pub svg: Option<std::path::PathBuf>,
}

/// Log output format.
#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `fenliu serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "FENLIU_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// HS256 secret for tokens.
    #[arg(long, env = "FENLIU_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Redis URL; unset runs a single node on the embedded in-memory store.
    #[arg(long, env = "FENLIU_REDIS_URL")]
    pub redis_url: Option<String>,
    /// This node's id (default: hostname-pid).
    #[arg(long, env = "FENLIU_NODE_ID")]
    pub node_id: Option<String>,
    /// How other nodes reach this one.
    #[arg(long, env = "FENLIU_ADVERTISE_URL")]
    pub advertise_url: Option<String>,
    /// Shop lease time to live, in milliseconds.
    #[arg(long, env = "FENLIU_LEASE_TTL_MS", default_value_t = 10_000)]
    pub lease_ttl_ms: u64,
    /// Seconds a shop may sit idle before its actor lets its state go (the
    /// next request reloads it from the store).
    #[arg(
        long,
        env = "FENLIU_PASSIVATE_AFTER_SECS",
        default_value_t = 600,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub passivate_after_secs: u64,
    /// Days a shop day's log (`GET /export`) is kept after the day ends; 0
    /// keeps no log (on the embedded store it lives in the node's memory).
    #[arg(
        long,
        env = "FENLIU_DAY_LOG_DAYS",
        default_value_t = fenliu_store::codec::DAY_LOG_KEPT_DAYS,
        value_parser = clap::value_parser!(u32).range(0..=366)
    )]
    pub day_log_days: u32,
    /// Log format.
    #[arg(long, env = "FENLIU_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// HTTP worker threads.
    #[arg(long, env = "FENLIU_WORKERS", default_value_t = 2)]
    pub workers: usize,
    /// Local trial: generate a secret and print ready-to-use tokens.
    #[arg(long)]
    pub dev: bool,
}

/// `fenliu token`.
#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// Role: admin, supervisor, agent or service.
    #[arg(long, value_parser = parse_role)]
    pub role: Role,
    /// Shop id (`*` for a service of every shop).
    #[arg(long)]
    pub shop: String,
    /// Subject: the agent id for agents.
    #[arg(long)]
    pub sub: String,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    pub ttl_secs: u64,
    /// HS256 secret.
    #[arg(long, env = "FENLIU_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
}

fn parse_role(raw: &str) -> Result<Role, String> {
    match raw {
        "admin" => Ok(Role::Admin),
        "supervisor" => Ok(Role::Supervisor),
        "agent" => Ok(Role::Agent),
        "service" => Ok(Role::Service),
        other => Err(format!(
            "unknown role {other}: expected admin, supervisor, agent or service"
        )),
    }
}

/// Seconds since the epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A fresh 256-bit secret, hex encoded.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::StdRng::from_os_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `hostname-pid`.
pub fn default_node_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".into());
    format!("{host}-{}", std::process::id())
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// The traffic `fenliu loadgen` generates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum WorkloadKind {
    /// Every request a new buyer's inquiry; no-queue mode, recent contact off.
    Inquiries,
    /// Inquiries, each assigned one ended at once; reported in windows.
    Day,
    /// Many shops, agents coming and going, new and returning buyers,
    /// messages, transfers to groups, ends and cancels.
    Mix,
}

impl WorkloadKind {
    /// The name as given on the command line.
    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::Inquiries => "inquiries",
            WorkloadKind::Day => "day",
            WorkloadKind::Mix => "mix",
        }
    }
}

/// `fenliu loadgen`. Flags left out take the workload's defaults (see
/// docs/benchmarks.md).
#[derive(Debug, clap::Args)]
pub struct LoadgenArgs {
    /// Base URL of the node or load balancer to drive (plain HTTP).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub target: String,
    /// HS256 secret the target verifies tokens with.
    #[arg(long, env = "FENLIU_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// The traffic to generate.
    #[arg(long, value_enum, default_value_t = WorkloadKind::Mix)]
    pub workload: WorkloadKind,
    /// Shops to spread the load over [default: 1; mix: 10].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub shops: Option<u32>,
    /// Agents per shop [default: 200; mix: 20].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub agents: Option<u32>,
    /// Max load of every agent [default: 50; mix: 5].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub max_load: Option<u32>,
    /// Prefix of the shop ids (`<prefix>-1`, `<prefix>-2`, ...).
    #[arg(long, default_value = "loadgen")]
    pub shop_prefix: String,
    /// Keep-alive connections, one task each.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub connections: u32,
    /// Client threads (like wrk's -t).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub threads: u32,
    /// Length of the timed run in seconds (one window) [default: 10; day: 5
    /// windows of 4 s].
    #[arg(long, conflicts_with_all = ["windows", "window_secs"], value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub duration_secs: Option<u64>,
    /// Consecutive windows the run is reported in.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub windows: Option<u32>,
    /// Length of one window in seconds.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub window_secs: Option<u64>,
    /// Fixed rate in requests per second over all connections; absent: flat
    /// out.
    #[arg(long, value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// Seed of the generated traffic.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// First measure the cheapest actix-web JSON endpoint, started in this
    /// process, with the same connections, duration and request shape, and
    /// report the target's throughput as a ratio of it.
    #[arg(long)]
    pub baseline: bool,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// No progress bar (there is none anyway when stderr is not a terminal).
    #[arg(long)]
    pub no_progress: bool,
    /// Seconds before a request without an answer counts as a transport error.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub timeout_secs: u64,
    /// Check at most this many acknowledged conversations afterwards, evenly
    /// spread (0: every one).
    #[arg(long, default_value_t = 0)]
    pub check_limit: usize,
}

fn parse_rate(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 && r <= 10_000_000.0 => Ok(r),
        _ => Err(format!(
            "rate {raw} is not a number of requests per second between 0 and 10000000"
        )),
    }
}
