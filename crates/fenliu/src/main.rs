//! The `fenliu` binary: `fenliu serve` runs a node, `fenliu token` prints a
//! token, `fenliu loadgen` drives a node with generated traffic, `fenliu sim`
//! runs a what-if scenario. `main` only wires: telemetry, configuration,
//! build, run.

mod cli;
mod loadgen;
mod sim;
mod telemetry;

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use fenliu_api::auth::{Claims, JwtKeys, Role};
use fenliu_api::{AppConfig, Application};
use fenliu_node::NodeConfig;
use fenliu_store::{MemoryStore, RedisStore, ShopStore};

use crate::cli::{Cli, Cmd, ServeArgs, TokenArgs};

/// mimalloc: see docs/benchmarks.md for what it bought over the system allocator.
/// The `mimalloc` feature (on by default) is off only for heap profiling.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Serve(args) => {
            no_transparent_huge_pages();
            serve(args)
        }
        Cmd::Token(args) => token(args),
        Cmd::Loadgen(args) => loadgen::run(args),
        Cmd::Sim(args) => sim::run(args),
    }
}

/// Turns transparent huge pages off for the node. mimalloc asks for them
/// (`madvise(MADV_HUGEPAGE)`) on the regions it maps, so on a kernel that
/// grants them on request (Debian's default) a node whose heap grows faults
/// in, and zeroes, 2 MiB at a time: the kernel's page clearing was 18 % of
/// the node's CPU under the embedded workload, and turning it off bought
/// about 16 % more throughput and a p99 of 7 ms instead of 11
/// (docs/benchmarks.md). A failure (an old kernel) changes nothing else.
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory
    // of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    telemetry::init(args.log_format);
    let (secret, dev_tokens) = match (&args.jwt_secret, args.dev) {
        (Some(s), _) if !s.is_empty() => (s.clone(), false),
        (_, true) => (cli::random_secret(), true),
        _ => anyhow::bail!(
            "FENLIU_JWT_SECRET is not set: pass --jwt-secret or set FENLIU_JWT_SECRET, \
             or run with --dev to generate one for a local trial"
        ),
    };
    let clustered = args.redis_url.as_deref().is_some_and(|u| !u.is_empty());
    let unspecified = ["0.0.0.0:", "[::]:"]
        .iter()
        .any(|p| args.listen.starts_with(p));
    if clustered && args.advertise_url.is_none() && unspecified {
        anyhow::bail!(
            "FENLIU_LISTEN is {} but FENLIU_ADVERTISE_URL is not set: other nodes could not \
             reach this one; set FENLIU_ADVERTISE_URL to an address they can use",
            args.listen
        );
    }
    let config = AppConfig {
        listen: args.listen.clone(),
        jwt_secret: secret.clone(),
        node: NodeConfig {
            node_id: args.node_id.clone().unwrap_or_else(cli::default_node_id),
            advertise_url: args.advertise_url.clone().unwrap_or_default(),
            lease_ttl: std::time::Duration::from_millis(args.lease_ttl_ms.max(300)),
            passivate_after: std::time::Duration::from_secs(args.passivate_after_secs),
            day_log_days: args.day_log_days,
            ..NodeConfig::default()
        },
        workers: args.workers,
    };
    actix_web::rt::System::new().block_on(async move {
        let store: Arc<dyn ShopStore> = match &args.redis_url {
            Some(url) if !url.is_empty() => Arc::new(
                RedisStore::connect(url)
                    .await
                    .with_context(|| format!("cannot reach Redis at {url}"))?,
            ),
            _ => Arc::new(MemoryStore::new()),
        };
        let kind = store.kind();
        let app = Application::build(config, store)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        tracing::info!(
            port = app.port(),
            node_id = app.node().node_id(),
            store = kind,
            "fenliu listening"
        );
        if dev_tokens {
            print_dev_tokens(&secret, app.port());
        }
        app.run_until_stopped(cli::shutdown_signal()).await?;
        Ok(())
    })
}

fn print_dev_tokens(secret: &str, port: u16) {
    let keys = JwtKeys::new(secret.as_bytes());
    let exp = cli::now_secs() + 86_400;
    let make = |role: Role, sub: &str| {
        keys.issue(&Claims {
            sub: sub.into(),
            role,
            shop: "demo".into(),
            exp,
        })
    };
    println!("fenliu dev mode on http://127.0.0.1:{port} (shop \"demo\", tokens valid 24 h)");
    println!("FENLIU_JWT_SECRET={secret}");
    println!("ADMIN_TOKEN={}", make(Role::Admin, "admin"));
    println!("SERVICE_TOKEN={}", make(Role::Service, "im-gateway"));
    println!("AGENT_TOKEN={}  # agent a1", make(Role::Agent, "a1"));
}

fn token(args: TokenArgs) -> anyhow::Result<()> {
    let secret = args
        .jwt_secret
        .filter(|s| !s.is_empty())
        .context("FENLIU_JWT_SECRET is not set: pass --jwt-secret or set FENLIU_JWT_SECRET")?;
    if args.shop == "*" && args.role != Role::Service {
        anyhow::bail!("only service tokens may have --shop '*'");
    }
    let claims = Claims {
        sub: args.sub,
        role: args.role,
        shop: args.shop,
        exp: cli::now_secs() + args.ttl_secs,
    };
    println!("{}", JwtKeys::new(secret.as_bytes()).issue(&claims));
    Ok(())
}
