//! Short-hands shared by the modules of the API suite: a shop on a fresh
//! server, and the few calls almost every test makes to arrange its world.

use std::time::Duration;

use fenliu_node::NodeConfig;
use fenliu_store::MemoryStore;
use fenliu_suite::{spawn_app, spawn_app_on, Answer, ShopFixture, TestApp};
use serde_json::{json, Value};

/// How long a poll waits for a timer or a drain to show.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A fresh server and a shop on it, with a token per role.
pub struct TestShop {
    /// The server.
    pub app: TestApp,
    /// The shop and its tokens.
    pub s: ShopFixture,
}

impl TestShop {
    /// Starts a server and names the shop `shop`.
    pub fn start(shop: &str) -> Self {
        Self {
            app: spawn_app(),
            s: ShopFixture::new(shop),
        }
    }

    /// Starts a server that keeps only the newest `events` events of each shop.
    pub fn start_keeping(shop: &str, events: usize) -> Self {
        let node = NodeConfig {
            node_id: "test-node".into(),
            advertise_url: String::new(),
            shop_threads: 2,
            ..NodeConfig::default()
        };
        Self {
            app: spawn_app_on(node, MemoryStore::with_stream_len(events)),
            s: ShopFixture::new(shop),
        }
    }

    /// Starts a server that keeps a shop day's log `days` days (0: none).
    pub fn start_logging_days(shop: &str, days: u32) -> Self {
        let node = NodeConfig {
            node_id: "test-node".into(),
            advertise_url: String::new(),
            shop_threads: 2,
            day_log_days: days,
            ..NodeConfig::default()
        };
        Self {
            app: spawn_app_on(node, MemoryStore::new()),
            s: ShopFixture::new(shop),
        }
    }

    /// `/v1/shops/{shop}` + `rest`.
    pub fn path(&self, rest: &str) -> String {
        self.s.path(rest)
    }

    /// Creates (or updates) agent `id` with `body`, as the admin.
    pub async fn put_agent(&self, id: &str, body: Value) -> Value {
        let a = self
            .app
            .put(&self.path(&format!("/agents/{id}")), &self.s.admin, body)
            .await;
        assert_eq!(a.status, 200, "PUT agent {id}: {:?}", a.body);
        a.body
    }

    /// Creates agents with default settings.
    pub async fn agents(&self, ids: &[&str]) {
        for id in ids {
            self.put_agent(id, json!({})).await;
        }
    }

    /// Sets an agent's status, as the agent itself.
    pub async fn status(&self, id: &str, status: &str) -> Value {
        let a = self
            .app
            .put(
                &self.path(&format!("/agents/{id}/status")),
                &self.s.agent(id),
                json!({ "status": status }),
            )
            .await;
        assert_eq!(a.status, 200, "PUT status {id}: {:?}", a.body);
        a.body
    }

    /// Brings agents online.
    pub async fn online(&self, ids: &[&str]) {
        for id in ids {
            self.status(id, "online").await;
        }
    }

    /// Creates agents and brings them online.
    pub async fn online_agents(&self, ids: &[&str]) {
        self.agents(ids).await;
        self.online(ids).await;
    }

    /// Sets an agent's max load, as the agent itself.
    pub async fn max_load(&self, id: &str, max_load: u32) -> Value {
        let a = self
            .app
            .put(
                &self.path(&format!("/agents/{id}/max_load")),
                &self.s.agent(id),
                json!({ "max_load": max_load }),
            )
            .await;
        assert_eq!(a.status, 200, "PUT max_load {id}: {:?}", a.body);
        a.body
    }

    /// Replaces the members of a group, as the admin.
    pub async fn group(&self, id: &str, agents: &[&str]) {
        let a = self
            .app
            .put(
                &self.path(&format!("/groups/{id}")),
                &self.s.admin,
                json!({ "agents": agents }),
            )
            .await;
        assert_eq!(a.status, 200, "PUT group {id}: {:?}", a.body);
    }

    /// Replaces the routing settings, as the admin.
    pub async fn routing(&self, settings: Value) -> Value {
        let a = self
            .app
            .put(&self.path("/routing"), &self.s.admin, settings)
            .await;
        assert_eq!(a.status, 200, "PUT routing: {:?}", a.body);
        a.body
    }

    /// Posts an inquiry from `buyer` at `product_detail`, merged with `extra`.
    pub async fn inquire_with(&self, buyer: &str, extra: Value) -> Answer {
        let mut body = json!({"buyer_id": buyer, "entry": "product_detail"});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        self.app
            .post(&self.path("/inquiries"), &self.s.service, body)
            .await
    }

    /// Posts a plain inquiry from `buyer` and checks it was created.
    pub async fn inquire(&self, buyer: &str) -> Value {
        let a = self.inquire_with(buyer, json!({})).await;
        assert_eq!(a.status, 201, "inquiry of {buyer}: {:?}", a.body);
        a.body
    }

    /// A conversation, as the service sees it.
    pub async fn conversation(&self, id: &str) -> Value {
        let a = self
            .app
            .get(&self.path(&format!("/conversations/{id}")), &self.s.service)
            .await;
        assert_eq!(a.status, 200, "GET conversation {id}: {:?}", a.body);
        a.body
    }

    /// An agent, as the admin sees it.
    pub async fn agent(&self, id: &str) -> Value {
        let a = self
            .app
            .get(&self.path(&format!("/agents/{id}")), &self.s.admin)
            .await;
        assert_eq!(a.status, 200, "GET agent {id}: {:?}", a.body);
        a.body
    }

    /// Everything a GET can see of the shop (agents, groups, routing, the
    /// queue, conversation `c1`, the ranking), without what moves with the
    /// clock alone (waits, estimates, time online): to check that a refused
    /// request changed nothing.
    pub async fn state(&self, c1: &str) -> Value {
        let mut state = json!({
            "agents": self.app.get(&self.path("/agents"), &self.s.admin).await.body,
            "groups": self.app.get(&self.path("/groups"), &self.s.admin).await.body,
            "routing": self.app.get(&self.path("/routing"), &self.s.admin).await.body,
            "queue": self.queue().await,
            "c1": self.conversation(c1).await,
            "ranking": self.app.get(&self.path("/ranking"), &self.s.admin).await.body,
        });
        without_clock(&mut state);
        state
    }

    /// The queue, as the service sees it.
    pub async fn queue(&self) -> Value {
        let a = self.app.get(&self.path("/queue"), &self.s.service).await;
        assert_eq!(a.status, 200, "GET queue: {:?}", a.body);
        a.body
    }

    /// Posts to a conversation's sub-resource (`end`, `messages`, …) as the service.
    pub async fn act(&self, id: &str, what: &str, body: Value) -> Answer {
        self.app
            .post(
                &self.path(&format!("/conversations/{id}/{what}")),
                &self.s.service,
                body,
            )
            .await
    }

    /// Ends a conversation as the service.
    pub async fn end(&self, id: &str) -> Value {
        let a = self.act(id, "end", json!({})).await;
        assert_eq!(a.status, 200, "end {id}: {:?}", a.body);
        a.body
    }

    /// A message from `from` (`buyer` or `agent`), posted by the service.
    pub async fn message(&self, id: &str, from: &str) -> Answer {
        self.act(id, "messages", json!({ "from": from })).await
    }

    /// Polls a conversation until `check` holds.
    pub async fn eventually_conversation(&self, id: &str, check: impl Fn(&Value) -> bool) -> bool {
        let path = self.path(&format!("/conversations/{id}"));
        self.app
            .eventually(PATIENCE, || async {
                let a = self.app.get(&path, &self.s.service).await;
                a.status == 200 && check(&a.body)
            })
            .await
    }
}

/// The conversation id of an answer.
pub fn cid(v: &Value) -> String {
    v["conversation_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no conversation_id in {v}"))
        .to_owned()
}

/// Asserts the error body shape and code of an answer.
pub fn assert_error(a: &Answer, status: u16, code: &str) {
    assert_eq!(a.status.as_u16(), status, "{:?}", a.body);
    assert_eq!(a.code(), code, "{:?}", a.body);
    let message = a.body["error"]["message"].as_str().unwrap_or("");
    assert!(!message.is_empty(), "error without a message: {:?}", a.body);
}

/// Removes, at any depth, the fields that change with the clock alone.
fn without_clock(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for moving in ["waited_secs", "estimated_wait_secs", "online_secs_today"] {
                fields.remove(moving);
            }
            fields.values_mut().for_each(without_clock);
        }
        Value::Array(items) => items.iter_mut().for_each(without_clock),
        _ => {}
    }
}
