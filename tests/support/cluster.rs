//! Several `fenliu serve` processes sharing one private `redis-server`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fenliu_store::contract::{free_port, RedisSandbox};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::{Answer, SECRET};

/// The `fenliu` binary built by `cargo test` (next to the test executables).
pub fn fenliu_bin() -> PathBuf {
    if let Ok(p) = std::env::var("FENLIU_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir.join("fenliu");
    assert!(
        bin.exists(),
        "{} not found: run the suite with `cargo test --workspace`",
        bin.display()
    );
    bin
}

/// One node process.
pub struct NodeProc {
    /// Its id (`n1`, ...).
    pub id: String,
    /// Its port.
    pub port: u16,
    child: std::sync::Mutex<Option<Child>>,
    log: PathBuf,
}

impl NodeProc {
    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn pid(&self) -> Option<u32> {
        self.child.lock().unwrap().as_ref().map(Child::id)
    }

    fn signal(&self, sig: &str) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill").args([sig, &pid.to_string()]).status();
        }
    }

    /// `kill -9`.
    pub fn kill9(&self) {
        if let Some(mut c) = self.child.lock().unwrap().take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGSTOP: the process freezes, sockets stay open.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    /// SIGTERM, then waits for the exit status.
    pub fn terminate(&self) -> Option<std::process::ExitStatus> {
        self.signal("-TERM");
        let mut c = self.child.lock().unwrap().take()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = c.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        c.wait().ok()
    }

    /// The node's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        self.resume();
        self.kill9();
    }
}

/// A private Redis and several nodes.
pub struct Cluster {
    /// The Redis server.
    pub redis: RedisSandbox,
    /// The nodes.
    pub nodes: Vec<NodeProc>,
    /// A client.
    pub client: reqwest::Client,
    lease_ttl_ms: u64,
}

impl Cluster {
    /// Starts Redis and `n` nodes with this lease TTL, and waits until all are ready.
    pub async fn start(n: usize, lease_ttl_ms: u64) -> Cluster {
        let redis = RedisSandbox::start();
        let mut cluster = Cluster {
            redis,
            nodes: Vec::new(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("client"),
            lease_ttl_ms,
        };
        for i in 1..=n {
            let node = cluster.spawn_node(&format!("n{i}"));
            cluster.nodes.push(node);
        }
        for i in 0..n {
            assert!(
                cluster.wait_ready(i, Duration::from_secs(20)).await,
                "node {i} not ready"
            );
        }
        cluster
    }

    fn spawn_node(&self, id: &str) -> NodeProc {
        let port = free_port();
        let log = self.redis.dir.join(format!("{id}-{port}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(fenliu_bin())
            .arg("serve")
            .env("FENLIU_LISTEN", format!("127.0.0.1:{port}"))
            .env("FENLIU_JWT_SECRET", SECRET)
            .env("FENLIU_REDIS_URL", self.redis.url())
            .env("FENLIU_NODE_ID", id)
            .env("FENLIU_ADVERTISE_URL", format!("http://127.0.0.1:{port}"))
            .env("FENLIU_LEASE_TTL_MS", self.lease_ttl_ms.to_string())
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("fenliu starts");
        NodeProc {
            id: id.into(),
            port,
            child: std::sync::Mutex::new(Some(child)),
            log,
        }
    }

    /// Adds one more node.
    pub async fn add_node(&mut self, id: &str) -> usize {
        let node = self.spawn_node(id);
        self.nodes.push(node);
        let i = self.nodes.len() - 1;
        assert!(self.wait_ready(i, Duration::from_secs(20)).await);
        i
    }

    /// Polls `/readyz` of node `i`.
    pub async fn wait_ready(&self, i: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let url = format!("{}/readyz", self.nodes[i].url());
            if let Ok(r) = self.client.get(&url).send().await {
                if r.status() == StatusCode::OK {
                    return true;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// A request to node `i`.
    pub async fn call(
        &self,
        i: usize,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.nodes[i].url(), path))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        match req.send().await {
            Ok(resp) => Answer::read(resp).await,
            Err(e) => Answer {
                status: StatusCode::BAD_GATEWAY,
                body: serde_json::json!({"transport_error": e.to_string()}),
                headers: Default::default(),
            },
        }
    }

    /// Retries a call on node `i` while it answers 503 (ownership moving), up to `timeout`.
    pub async fn call_until_served(
        &self,
        i: usize,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        timeout: Duration,
    ) -> Answer {
        let deadline = Instant::now() + timeout;
        loop {
            let a = self
                .call(i, method.clone(), path, token, body.clone())
                .await;
            if a.status != StatusCode::SERVICE_UNAVAILABLE || Instant::now() > deadline {
                return a;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Index of the node with this id.
    pub fn index_of(&self, id: &str) -> usize {
        self.nodes
            .iter()
            .position(|n| n.id == id)
            .unwrap_or_else(|| panic!("no node {id}"))
    }
}
