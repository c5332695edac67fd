//! The untimed setup of a run: the shops and agents the workload drives, the
//! tokens it signs for them, and the calls that staff the shops (agents
//! created, max load set, online) and put the workload's routing settings.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use fenliu_api::auth::{Claims, JwtKeys, Role};

use crate::cli::WorkloadKind;
use crate::loadgen::http::{Answer, Conn, Method, Target};

/// Groups of a mix shop (`g1`..`g4`, agents dealt round-robin; fewer when
/// the shop has fewer agents).
pub const MIX_GROUPS: u32 = 4;

/// Everything the workload's requests name: shops, agents, groups and the
/// tokens to send. Shared read-only by every connection.
pub struct World {
    /// The workload.
    pub kind: WorkloadKind,
    /// Shop ids.
    pub shops: Vec<String>,
    /// `/v1/shops/{shop}` of each shop.
    pub shop_paths: Vec<String>,
    /// Agent ids of every shop: `a1`..`aN`.
    pub agents: Vec<String>,
    /// Group ids of every shop (empty outside the mix).
    pub groups: Vec<String>,
    /// Every agent's max load.
    pub max_load: u32,
    /// Tag in every buyer id, so that two runs on one target never share a buyer.
    pub run_tag: String,
    /// `Authorization` header value (`Bearer …`) of a service token of every shop (`*`).
    pub service: Bytes,
    admins: Vec<Bytes>,
    /// Agent tokens, shop-major.
    agent_tokens: Vec<Bytes>,
}

impl World {
    /// Names the shops and agents of a run and signs their tokens, valid for
    /// `ttl` from now.
    pub fn new(
        kind: WorkloadKind,
        secret: &str,
        shop_prefix: &str,
        shops: u32,
        agents: u32,
        max_load: u32,
        ttl: Duration,
    ) -> anyhow::Result<World> {
        let keys = JwtKeys::new(secret.as_bytes());
        let exp = crate::cli::now_secs() + ttl.as_secs();
        let bearer = |role: Role, shop: &str, sub: &str| {
            let token = keys.issue(&Claims {
                sub: sub.to_owned(),
                role,
                shop: shop.to_owned(),
                exp,
            });
            Bytes::from(format!("Bearer {token}"))
        };
        let shops: Vec<String> = (1..=shops).map(|i| format!("{shop_prefix}-{i}")).collect();
        for shop in &shops {
            let valid = !shop.is_empty()
                && shop.len() <= 64
                && shop
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
            anyhow::ensure!(
                valid,
                "shop id {shop} is not valid: --shop-prefix may only hold letters, digits, '_', '.' and '-'"
            );
        }
        let agents: Vec<String> = (1..=agents).map(|i| format!("a{i}")).collect();
        let groups = match kind {
            WorkloadKind::Mix => (1..=MIX_GROUPS.min(agents.len() as u32))
                .map(|g| format!("g{g}"))
                .collect(),
            _ => Vec::new(),
        };
        let admins = shops
            .iter()
            .map(|s| bearer(Role::Admin, s, "loadgen-admin"))
            .collect();
        let agent_tokens = shops
            .iter()
            .flat_map(|s| agents.iter().map(|a| bearer(Role::Agent, s, a)))
            .collect();
        let run_tag = format!("{:x}", now_millis() % 0xff_ffff_ffff);
        Ok(World {
            kind,
            shop_paths: shops.iter().map(|s| format!("/v1/shops/{s}")).collect(),
            shops,
            agents,
            groups,
            max_load,
            run_tag,
            service: bearer(Role::Service, "*", "loadgen"),
            admins,
            agent_tokens,
        })
    }

    /// The admin token of a shop.
    pub fn admin(&self, shop: usize) -> &Bytes {
        &self.admins[shop]
    }

    /// The token of agent `agent` (an index into [`World::agents`]) of a shop.
    pub fn agent_token(&self, shop: usize, agent: usize) -> &Bytes {
        &self.agent_tokens[shop * self.agents.len() + agent]
    }

    /// The index of an agent id this run created (`a7` is 6).
    pub fn agent_index(&self, agent_id: &str) -> Option<usize> {
        let n: usize = agent_id.strip_prefix('a')?.parse().ok()?;
        (1..=self.agents.len()).contains(&n).then(|| n - 1)
    }

    /// Whether the workload's settings let no agent exceed its max load, so
    /// that the after-run check of loads is an invariant: not in no-queue
    /// mode, which assigns beyond max load by the spec.
    pub fn max_load_holds(&self) -> bool {
        self.kind != WorkloadKind::Inquiries
    }

    /// The routing settings the workload puts (`PUT /routing`).
    pub fn routing(&self) -> serde_json::Value {
        match self.kind {
            // The cheapest decision the benchmark quotes: no queue, no recent
            // contact, the default strategy and target.
            WorkloadKind::Inquiries => serde_json::json!({
                "queue": {"enabled": false},
                "recent_contact": {"enabled": false},
            }),
            // Every assigned conversation is ended at once, so capacity never
            // runs out; the queue stays on so that loads are an invariant.
            WorkloadKind::Day => serde_json::json!({
                "queue": {"enabled": true},
                "recent_contact": {"enabled": false},
            }),
            // Settings under which the spec never lets an agent exceed its
            // max load: the queue on, recent contact within max load, and the
            // workload transfers to groups only (a transfer to a named agent
            // may overload it by the spec).
            WorkloadKind::Mix => {
                let group = |i: usize| self.groups.get(i).or(self.groups.first());
                serde_json::json!({
                    "strategy": "least_saturation",
                    "queue": {"enabled": true, "order": "fifo"},
                    "recent_contact": {"enabled": true, "window_secs": 259_200, "within_max_load": true},
                    "rules": [
                        {"when": {"entry": "order_detail", "order_state": "after_sale"},
                         "to": {"groups": [group(1)]}},
                        {"when": {"entry": "live"}, "to": {"groups": [group(0)]}},
                    ],
                    "overflow": "any_online",
                })
            }
        }
    }

    /// The body of `PUT /agents/{agent}` for the agent of this index.
    fn agent_body(&self, agent: usize) -> serde_json::Value {
        if self.groups.is_empty() {
            serde_json::json!({})
        } else {
            serde_json::json!({"groups": [self.groups[agent % self.groups.len()]]})
        }
    }
}

fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Sends one setup call and insists on a 2xx answer.
pub async fn expect_ok(
    conn: &mut Conn,
    method: Method,
    path: &str,
    auth: &Bytes,
    body: Option<&serde_json::Value>,
) -> anyhow::Result<Answer> {
    let bytes = body.map(|b| b.to_string());
    let answer = conn
        .send(
            method,
            path,
            Some(auth),
            bytes.as_deref().map(str::as_bytes),
        )
        .await
        .with_context(|| format!("{method} {path}"))?;
    if !(200..300).contains(&answer.status) {
        let hint = if answer.status == 401 {
            " (is --jwt-secret the target's secret?)"
        } else {
            ""
        };
        anyhow::bail!(
            "{method} {path} answered {}{hint}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
    }
    Ok(answer)
}

/// Checks that the target answers `/readyz` with 200.
pub async fn wait_ready(target: &Arc<Target>, timeout: Duration) -> anyhow::Result<()> {
    let mut conn = Conn::new(target.clone(), timeout);
    let answer = conn
        .send(Method::Get, "/readyz", None, None)
        .await
        .with_context(|| format!("cannot reach {}", target.url))?;
    anyhow::ensure!(
        answer.status == 200,
        "{} is not ready: /readyz answered {} {}",
        target.url,
        answer.status,
        String::from_utf8_lossy(&answer.body)
    );
    Ok(())
}

/// Puts each shop's routing settings, then creates its agents, sets their max
/// load and brings them online (each through its own token), with
/// `parallel` calls in flight. `done` counts the agents staffed.
pub async fn staff(
    world: &Arc<World>,
    target: &Arc<Target>,
    parallel: usize,
    timeout: Duration,
    done: Arc<AtomicUsize>,
) -> anyhow::Result<()> {
    let routing = world.routing();
    let mut conn = Conn::new(target.clone(), timeout);
    for shop in 0..world.shops.len() {
        let path = format!("{}/routing", world.shop_paths[shop]);
        expect_ok(
            &mut conn,
            Method::Put,
            &path,
            world.admin(shop),
            Some(&routing),
        )
        .await?;
    }
    let jobs = world.shops.len() * world.agents.len();
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..parallel.clamp(1, jobs.max(1)) {
        let (world, target, next, done) =
            (world.clone(), target.clone(), next.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::new(target, timeout);
            let max_load = serde_json::json!({"max_load": world.max_load});
            let online = serde_json::json!({"status": "online"});
            loop {
                let job = next.fetch_add(1, Ordering::Relaxed);
                if job >= jobs {
                    return Ok::<(), anyhow::Error>(());
                }
                let (shop, agent) = (job / world.agents.len(), job % world.agents.len());
                let path = format!("{}/agents/{}", world.shop_paths[shop], world.agents[agent]);
                let body = world.agent_body(agent);
                expect_ok(
                    &mut conn,
                    Method::Put,
                    &path,
                    world.admin(shop),
                    Some(&body),
                )
                .await?;
                let token = world.agent_token(shop, agent);
                let max_path = format!("{path}/max_load");
                expect_ok(&mut conn, Method::Put, &max_path, token, Some(&max_load)).await?;
                let status_path = format!("{path}/status");
                expect_ok(&mut conn, Method::Put, &status_path, token, Some(&online)).await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        task.await.context("a setup task panicked")??;
    }
    Ok(())
}
