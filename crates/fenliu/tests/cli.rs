//! The `fenliu` command line, run as a user would. (This test also makes
//! `cargo test` build the binary that the cluster suites in `tests/` start.)

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn fenliu() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fenliu"))
}

#[test]
fn token_prints_a_three_part_jwt() {
    let out = fenliu()
        .args(["token", "--role", "admin", "--shop", "s1", "--sub", "boss"])
        .env("FENLIU_JWT_SECRET", "secret")
        .output()
        .unwrap();
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap();
    assert_eq!(token.trim().split('.').count(), 3, "{token}");
}

#[test]
fn token_without_a_secret_is_a_clear_error() {
    let out = fenliu()
        .args(["token", "--role", "admin", "--shop", "s1", "--sub", "boss"])
        .env_remove("FENLIU_JWT_SECRET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("FENLIU_JWT_SECRET"));
}

#[test]
fn a_wildcard_shop_is_only_for_services() {
    let out = fenliu()
        .args(["token", "--role", "admin", "--shop", "*", "--sub", "boss"])
        .env("FENLIU_JWT_SECRET", "secret")
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn serve_without_a_secret_refuses_to_start() {
    let out = fenliu()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("FENLIU_JWT_SECRET")
        .env_remove("FENLIU_REDIS_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--dev"));
}

#[test]
fn a_cluster_node_listening_everywhere_needs_an_advertise_url() {
    let out = fenliu()
        .args([
            "serve",
            "--listen",
            "0.0.0.0:0",
            "--redis-url",
            "redis://127.0.0.1:1/",
        ])
        .env("FENLIU_JWT_SECRET", "secret")
        .env_remove("FENLIU_ADVERTISE_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("FENLIU_ADVERTISE_URL"));
}

#[test]
fn a_passivation_delay_out_of_range_is_refused() {
    for secs in ["0", "86401", "soon"] {
        let out = fenliu()
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--passivate-after-secs",
                secs,
            ])
            .env("FENLIU_JWT_SECRET", "secret")
            .env_remove("FENLIU_REDIS_URL")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{secs}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--passivate-after-secs"), "{secs}: {err}");
    }
}

#[test]
fn text_logs_written_to_a_pipe_carry_no_colour_codes() {
    // Arrange: stderr is a pipe, not a terminal.
    let mut child = fenliu()
        .args(["serve", "--listen", "127.0.0.1:0", "--jwt-secret", "secret"])
        .env_remove("FENLIU_REDIS_URL")
        .env_remove("NO_COLOR")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());

    // Act: read the log until the node says it listens.
    let mut seen = String::new();
    for _ in 0..100 {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
        if line.contains("fenliu listening") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();

    // Assert
    assert!(seen.contains("fenliu listening"), "{seen}");
    assert!(!seen.contains('\u{1b}'), "{seen:?}");
}
