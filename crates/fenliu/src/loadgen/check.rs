//! The after-run checks: every agent within its max load (where the
//! workload's settings make that an invariant), each agent's list of active
//! conversations matching its load with no conversation listed twice, and
//! every acknowledged conversation read back, existing and in a state that
//! can follow what loadgen last saw of it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use indicatif::ProgressBar;
use serde::Deserialize;

use crate::loadgen::http::{Answer, Conn, Method, Target, TransportError};
use crate::loadgen::report::Checks;
use crate::loadgen::setup::World;
use crate::loadgen::workload::{Ack, Outcome, Seen, View};

/// Agent lists are read only up to this many agents in all (a list is a
/// request per agent).
const MAX_AGENT_LISTS: usize = 20_000;
/// Tries of a read that got no answer.
const TRIES: usize = 3;

#[derive(Deserialize)]
struct AgentView {
    agent_id: String,
    load: u64,
    max_load: u64,
}

#[derive(Deserialize)]
struct Agents {
    agents: Vec<AgentView>,
}

#[derive(Deserialize)]
struct AgentConversations {
    conversations: Vec<View>,
}

/// How the checks read the target.
pub struct Reader {
    /// The target.
    pub target: Arc<Target>,
    /// The token of the reads (a service's).
    pub auth: Bytes,
    /// Reads in flight at once.
    pub parallel: usize,
    /// Timeout of one read.
    pub timeout: Duration,
    /// Progress of the reads.
    pub progress: ProgressBar,
}

impl Reader {
    /// GETs `path_of(job)` for every job with `parallel` keep-alive
    /// connections, retrying reads that got no answer, and maps each answer
    /// with `judge` in the worker that read it.
    async fn read_all<O, P, J>(&self, jobs: usize, path_of: P, judge: J) -> Vec<(usize, O)>
    where
        O: Send + 'static,
        P: Fn(usize) -> String + Send + Sync + 'static,
        J: Fn(usize, Result<Answer, TransportError>) -> O + Send + Sync + 'static,
    {
        self.progress.inc_length(jobs as u64);
        let next = Arc::new(AtomicUsize::new(0));
        let (path_of, judge) = (Arc::new(path_of), Arc::new(judge));
        let mut tasks = Vec::new();
        for _ in 0..self.parallel.clamp(1, jobs.max(1)) {
            let (next, path_of, judge) = (next.clone(), path_of.clone(), judge.clone());
            let (target, timeout, progress) =
                (self.target.clone(), self.timeout, self.progress.clone());
            let auth = self.auth.clone();
            tasks.push(tokio::spawn(async move {
                let mut conn = Conn::new(target, timeout);
                let mut out = Vec::new();
                loop {
                    let job = next.fetch_add(1, Ordering::Relaxed);
                    if job >= jobs {
                        return out;
                    }
                    let path = path_of(job);
                    let mut answer = Err(TransportError("not sent".into()));
                    for _ in 0..TRIES {
                        answer = conn.send(Method::Get, &path, Some(&auth), None).await;
                        if answer.is_ok() {
                            break;
                        }
                    }
                    out.push((job, judge(job, answer)));
                    progress.inc(1);
                }
            }));
        }
        let mut all = Vec::with_capacity(jobs);
        for t in tasks {
            all.extend(t.await.expect("a check task panicked"));
        }
        all
    }
}

fn describe(path: &str, answer: &Answer) -> String {
    let body = String::from_utf8_lossy(&answer.body);
    let body: String = body.chars().take(200).collect();
    format!("GET {path} answered {}: {body}", answer.status)
}

/// Runs every check and reports what it found.
pub async fn check(
    world: &Arc<World>,
    reader: &Reader,
    outcomes: Vec<Outcome>,
    limit: usize,
) -> Checks {
    let mut checks = Checks {
        max_load_checked: world.max_load_holds(),
        ..Checks::default()
    };
    let mut acks: Vec<Ack> = Vec::new();
    for o in outcomes {
        checks.unexpected_answers += o.unexpected.count;
        let samples: Vec<String> = o
            .unexpected
            .samples
            .into_iter()
            .map(|s| format!("unexpected answer: {s}"))
            .collect();
        checks.violations_counted(o.unexpected.count, samples);
        acks.extend(o.acks);
    }
    checks.conversations_acknowledged = acks.len() as u64;
    if !checks.max_load_checked {
        checks.notes.push(
            "loads not checked against max loads: in no-queue mode the spec assigns beyond max load"
                .into(),
        );
    }

    let loads = check_agents(world, reader, &mut checks).await;
    if checks.max_load_checked {
        let total = world.shops.len() * world.agents.len();
        if total <= MAX_AGENT_LISTS {
            check_agent_lists(world, reader, &loads, &mut checks).await;
        } else {
            checks.notes.push(format!(
                "agent lists not read: {total} agents is more than {MAX_AGENT_LISTS}"
            ));
        }
    }
    check_conversations(world, reader, acks, limit, &mut checks).await;
    checks
}

/// Reads every shop's agents: each of the run's agents exists and, where it
/// must, is within its max load. Answers the loads, shop-major.
async fn check_agents(
    world: &Arc<World>,
    reader: &Reader,
    checks: &mut Checks,
) -> Vec<Option<u64>> {
    let w = world.clone();
    let answers = reader
        .read_all(
            world.shops.len(),
            move |shop| format!("{}/agents", w.shop_paths[shop]),
            |_, answer| answer,
        )
        .await;
    let per_shop = world.agents.len();
    let mut loads = vec![None; world.shops.len() * per_shop];
    for (shop, answer) in answers {
        let path = format!("{}/agents", world.shop_paths[shop]);
        let answer = match answer {
            Ok(a) if a.status == 200 => a,
            Ok(a) => {
                checks.violation(describe(&path, &a));
                continue;
            }
            Err(e) => {
                checks.violation(format!("GET {path}: {e}"));
                continue;
            }
        };
        let Ok(list) = serde_json::from_slice::<Agents>(&answer.body) else {
            checks.violation(describe(&path, &answer));
            continue;
        };
        for a in list.agents {
            checks.agents_checked += 1;
            if checks.max_load_checked && a.load > a.max_load {
                checks.violation(format!(
                    "agent {} of shop {} has load {} over its max load {}",
                    a.agent_id, world.shops[shop], a.load, a.max_load
                ));
            }
            if let Some(i) = world.agent_index(&a.agent_id) {
                loads[shop * per_shop + i] = Some(a.load);
            }
        }
        for (i, agent) in world.agents.iter().enumerate() {
            if loads[shop * per_shop + i].is_none() {
                checks.violation(format!(
                    "agent {agent} of shop {} is missing",
                    world.shops[shop]
                ));
            }
        }
    }
    loads
}

/// Reads each agent's active conversations: as many as its load, each
/// active with that agent, none listed for two agents of a shop.
async fn check_agent_lists(
    world: &Arc<World>,
    reader: &Reader,
    loads: &[Option<u64>],
    checks: &mut Checks,
) {
    let per_shop = world.agents.len();
    let w = world.clone();
    let answers = reader
        .read_all(
            loads.len(),
            move |j| {
                format!(
                    "{}/agents/{}/conversations",
                    w.shop_paths[j / per_shop],
                    w.agents[j % per_shop]
                )
            },
            |_, answer| answer,
        )
        .await;
    let mut owner: HashMap<(usize, String), usize> = HashMap::new();
    for (j, answer) in answers {
        let (shop, agent) = (j / per_shop, j % per_shop);
        let path = format!(
            "{}/agents/{}/conversations",
            world.shop_paths[shop], world.agents[agent]
        );
        let list = match answer {
            Ok(a) if a.status == 200 => match serde_json::from_slice::<AgentConversations>(&a.body)
            {
                Ok(list) => list,
                Err(_) => {
                    checks.violation(describe(&path, &a));
                    continue;
                }
            },
            Ok(a) => {
                checks.violation(describe(&path, &a));
                continue;
            }
            Err(e) => {
                checks.violation(format!("GET {path}: {e}"));
                continue;
            }
        };
        checks.agent_lists_checked += 1;
        let name = &world.agents[agent];
        if let Some(load) = loads[j] {
            if list.conversations.len() as u64 != load {
                checks.violation(format!(
                    "agent {name} of shop {} has load {load} but lists {} active conversations",
                    world.shops[shop],
                    list.conversations.len()
                ));
            }
        }
        for c in list.conversations {
            if c.status != "active" || c.agent_id.as_deref() != Some(name.as_str()) {
                checks.violation(format!(
                    "agent {name} of shop {} lists conversation {} that is {} with {:?}",
                    world.shops[shop], c.conversation_id, c.status, c.agent_id
                ));
            }
            if let Some(other) = owner.insert((shop, c.conversation_id.clone()), agent) {
                checks.violation(format!(
                    "conversation {} of shop {} is active with two agents: {} and {name}",
                    c.conversation_id, world.shops[shop], world.agents[other]
                ));
            }
        }
    }
}

/// Reads back the acknowledged conversations (at most `limit`, evenly
/// spread; 0: all): each exists, in a state that can follow the last seen.
async fn check_conversations(
    world: &Arc<World>,
    reader: &Reader,
    acks: Vec<Ack>,
    limit: usize,
    checks: &mut Checks,
) {
    let step = if limit > 0 && acks.len() > limit {
        acks.len().div_ceil(limit)
    } else {
        1
    };
    let sample: Vec<Ack> = acks.into_iter().step_by(step).collect();
    if step > 1 {
        checks.notes.push(format!(
            "read back every {step}th acknowledged conversation (--check-limit {limit})"
        ));
    }
    checks.conversations_checked = sample.len() as u64;
    let sample = Arc::new(sample);
    let w = world.clone();
    let (paths, judged) = (sample.clone(), sample.clone());
    let w2 = world.clone();
    let path_of = move |i: usize| {
        let a = &paths[i];
        format!("{}/conversations/{}", w.shop_paths[a.shop as usize], a.id)
    };
    let judge = move |i: usize, answer: Result<Answer, TransportError>| -> Option<String> {
        let a = &judged[i];
        let shop = &w2.shops[a.shop as usize];
        let answer = match answer {
            Ok(answer) => answer,
            Err(e) => {
                return Some(format!(
                    "conversation {} of shop {shop} could not be read: {e}",
                    a.id
                ))
            }
        };
        if answer.status == 404 {
            return Some(format!(
                "acknowledged conversation {} of shop {shop} (last seen {}) is not found",
                a.id, a.seen
            ));
        }
        if answer.status != 200 {
            let path = format!("{}/conversations/{}", w2.shop_paths[a.shop as usize], a.id);
            return Some(describe(&path, &answer));
        }
        let now = serde_json::from_slice::<View>(&answer.body)
            .ok()
            .and_then(|v| Seen::of(&v));
        match now {
            None => Some(format!(
                "conversation {} of shop {shop}: unreadable answer",
                a.id
            )),
            Some(now) if !a.uncertain && !a.seen.may_become(&now) => Some(format!(
                "conversation {} of shop {shop} was last seen {} but is now {now}",
                a.id, a.seen
            )),
            Some(_) => None,
        }
    };
    let found = reader.read_all(sample.len(), path_of, judge).await;
    for (_, v) in found {
        if let Some(v) = v {
            checks.violation(v);
        }
    }
}
