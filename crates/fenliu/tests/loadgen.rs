//! `fenliu loadgen` against a real `fenliu serve` on the embedded store: a
//! short mix at a modest fixed rate, and a very short inquiries run with the
//! baseline, each checking the target's invariants afterwards.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const SECRET: &str = "loadgen-smoke-secret";

/// A `fenliu serve` child process, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// `GET /readyz` answered 200.
fn ready(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let mut answer = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.1 200")
}

fn start_server() -> Server {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_fenliu"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--jwt-secret", SECRET])
        .env_remove("FENLIU_REDIS_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("fenliu serve starts");
    let server = Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ready(port) {
        assert!(
            Instant::now() < deadline,
            "fenliu serve not ready after 10 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

/// Runs `fenliu loadgen --json <args>` against the server; its exit status
/// and report.
fn loadgen(server: &Server, args: &str) -> (bool, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_fenliu"))
        .args([
            "loadgen",
            "--target",
            &server.url,
            "--json",
            "--no-progress",
        ])
        .args(args.split_whitespace())
        .env("FENLIU_JWT_SECRET", SECRET)
        .output()
        .expect("fenliu loadgen runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "loadgen printed no JSON report ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), report)
}

fn successes(run: &Value) -> u64 {
    run["answers"]
        .as_object()
        .expect("answers by status")
        .iter()
        .filter(|(code, _)| code.starts_with('2'))
        .map(|(_, n)| n.as_u64().unwrap())
        .sum()
}

#[test]
fn a_short_mix_keeps_every_agent_within_max_load_and_every_conversation() {
    let server = start_server();

    let (ok, report) = loadgen(
        &server,
        "--workload mix --duration-secs 2 --rate 250 --connections 4 --shops 3 --agents 4 --max-load 2",
    );

    let checks = &report["checks"];
    assert!(ok, "loadgen failed: {report:#}");
    assert_eq!(checks["violation_count"], 0, "{checks:#}");
    assert_eq!(checks["max_load_checked"], true);
    assert!(
        checks["agents_checked"].as_u64().unwrap() >= 12,
        "{checks:#}"
    );
    assert!(
        checks["conversations_checked"].as_u64().unwrap() > 0,
        "{checks:#}"
    );
    let run = &report["run"];
    assert!(successes(run) > 20, "{run:#}");
    for kind in ["inquiry", "agent_message", "end"] {
        assert!(
            run["ops"][kind]["requests"].as_u64().unwrap_or(0) > 0,
            "no {kind}: {run:#}"
        );
    }
    assert_eq!(run["transport_errors"], 0, "{run:#}");
    // One schedule at 250 requests/s over 2 s, whichever connection is free:
    // at most the 500 due, and not far fewer on a node this small.
    let requests = run["requests"].as_u64().unwrap();
    assert!(
        (350..=500).contains(&requests),
        "{requests} requests: {run:#}"
    );
    assert!(run["send_lateness_us"]["p50"].is_u64(), "{run:#}");
    assert!(
        run["service_latency_us"]["p99"].as_u64().unwrap() > 0,
        "{run:#}"
    );
}

#[test]
fn a_baseline_run_reports_the_target_as_a_ratio_of_it() {
    let server = start_server();

    let (ok, report) = loadgen(
        &server,
        "--workload inquiries --baseline --duration-secs 1 --connections 4 --agents 10",
    );

    assert!(ok, "loadgen failed: {report:#}");
    assert_eq!(
        report["checks"]["violation_count"], 0,
        "{:#}",
        report["checks"]
    );
    assert!(successes(&report["baseline"]) > 0, "{report:#}");
    assert!(successes(&report["run"]) > 0, "{report:#}");
    let ratio = report["ratio_to_baseline"].as_f64().expect("a ratio");
    assert!(ratio > 0.0, "{ratio}");
    let acknowledged = report["checks"]["conversations_acknowledged"]
        .as_u64()
        .unwrap();
    assert_eq!(
        report["checks"]["conversations_checked"].as_u64().unwrap(),
        acknowledged
    );
}
