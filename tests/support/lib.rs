//! Support for the black-box suites in `tests/`: start a real server on a
//! free port and talk to it over HTTP, like a client would; [`cluster`]
//! starts several node processes on a private Redis.

pub mod cluster;

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fenliu_api::auth::{Claims, JwtKeys, Role};
use fenliu_api::{AppConfig, Application};
use fenliu_node::NodeConfig;
use fenliu_store::MemoryStore;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::oneshot;

/// The secret the test servers sign tokens with.
pub const SECRET: &str = "test-secret-for-fenliu";

/// A server running on its own actix system in its own thread.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// A client.
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

/// Starts a single node on the in-memory store, on a free port.
pub fn spawn_app() -> TestApp {
    spawn_app_with(NodeConfig {
        node_id: "test-node".into(),
        advertise_url: String::new(),
        shop_threads: 2,
        ..NodeConfig::default()
    })
}

/// Starts a single node with this node configuration.
pub fn spawn_app_with(node: NodeConfig) -> TestApp {
    spawn_app_on(node, MemoryStore::new())
}

/// Starts a single node on this in-memory store (say, one that keeps only
/// a few events per shop).
pub fn spawn_app_on(node: NodeConfig, store: MemoryStore) -> TestApp {
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let thread = thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let config = AppConfig {
                listen: "127.0.0.1:0".into(),
                jwt_secret: SECRET.into(),
                node,
                workers: 2,
            };
            let app = Application::build(config, Arc::new(store))
                .await
                .expect("app builds");
            port_tx.send(app.port()).expect("port sent");
            app.run_until_stopped(async {
                let _ = stop_rx.await;
            })
            .await
            .expect("server runs");
        });
    });
    let port = port_rx.recv().expect("server started");
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client"),
        stop: Some(stop_tx),
        thread: Some(thread),
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Seconds since the epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A token signed with [`SECRET`].
pub fn token(role: Role, shop: &str, sub: &str) -> String {
    JwtKeys::new(SECRET.as_bytes()).issue(&Claims {
        sub: sub.into(),
        role,
        shop: shop.into(),
        exp: now_secs() + 3600,
    })
}

/// A response: status and JSON body (`Value::Null` when empty or not JSON).
#[derive(Debug)]
pub struct Answer {
    /// Status.
    pub status: StatusCode,
    /// Body.
    pub body: Value,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    /// Reads a response: its status, headers and JSON body.
    pub async fn read(resp: reqwest::Response) -> Answer {
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            headers,
        }
    }

    /// The error code of an error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

impl TestApp {
    /// Sends a request with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.address, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        Answer::read(resp).await
    }

    /// Sends raw bytes as a body.
    pub async fn call_raw(&self, method: Method, path: &str, token: &str, body: Vec<u8>) -> Answer {
        let resp = self
            .client
            .request(method, format!("{}{}", self.address, path))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request sent");
        Answer::read(resp).await
    }

    /// GET.
    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// PUT with a JSON body.
    pub async fn put(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }

    /// Polls `check` until it returns true or `timeout` passes.
    pub async fn eventually<F, Fut>(&self, timeout: Duration, mut check: F) -> bool
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if check().await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }
}

/// A shop with tokens for each role, to keep tests short.
pub struct ShopFixture {
    /// Shop id.
    pub shop: String,
    /// Admin token.
    pub admin: String,
    /// Supervisor token.
    pub supervisor: String,
    /// Service token.
    pub service: String,
}

impl ShopFixture {
    /// Tokens for `shop`.
    pub fn new(shop: &str) -> Self {
        Self {
            shop: shop.into(),
            admin: token(Role::Admin, shop, "admin"),
            supervisor: token(Role::Supervisor, shop, "sup"),
            service: token(Role::Service, shop, "svc"),
        }
    }

    /// A token for agent `id`.
    pub fn agent(&self, id: &str) -> String {
        token(Role::Agent, &self.shop, id)
    }

    /// `/v1/shops/{shop}` + `rest`.
    pub fn path(&self, rest: &str) -> String {
        format!("/v1/shops/{}{}", self.shop, rest)
    }
}
