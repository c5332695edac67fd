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
