//! `fenliu sim`, run as a user would: the report on stdout, the charts in a
//! folder, a bad scenario refused with its file and field, a recorded day
//! replayed under variants.

use std::path::PathBuf;
use std::process::Command;

fn fenliu_sim(args: &[&str]) -> std::process::Output {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    Command::new(env!("CARGO_BIN_EXE_fenliu"))
        .arg("sim")
        .args(args)
        .current_dir(root)
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap()
}

#[test]
fn sim_prints_json_with_one_entry_per_variant_and_writes_the_charts() {
    // Arrange
    let dir = std::env::temp_dir().join(format!("fenliu-sim-cli-{}", std::process::id()));
    let dir_arg = dir.to_string_lossy().into_owned();

    // Act
    let out = fenliu_sim(&[
        "examples/sim/shifts.toml",
        "--seed",
        "3",
        "--json",
        "--svg",
        &dir_arg,
    ]);

    // Assert
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["seed"], 3);
    let names: Vec<&str> = report["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["even", "least_saturation", "fair"]);
    assert!(report["variants"][0]["wait_estimate_mae_secs"].is_number());
    for chart in [
        "queue.svg",
        "saturation-A.svg",
        "saturation-B.svg",
        "waits.svg",
    ] {
        assert!(dir.join(chart).is_file(), "{chart}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sim_refuses_a_bad_scenario_naming_the_file_and_the_field() {
    // Arrange
    let file = std::env::temp_dir().join(format!("fenliu-sim-bad-{}.toml", std::process::id()));
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let good = std::fs::read_to_string(root.join("examples/sim/shifts.toml")).unwrap();
    std::fs::write(&file, good.replace("12:00-22:00", "12:00-25:00")).unwrap();

    // Act
    let out = fenliu_sim(&[&file.to_string_lossy()]);

    // Assert
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        r#"{}: agents[1].shifts[0]: "12:00-25:00": hours are 00..=24"#,
        file.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(out.stdout.is_empty());
    std::fs::remove_file(&file).unwrap();
}

/// A small recorded day: two agents, six buyers, one of them queued and
/// placed when a chat ends; answered as the export's JSON lines.
fn small_export() -> String {
    use fenliu_core::{
        AgentId, AgentStatus, BuyerId, Command, EndReason, Entry, Inquiry, MaxLoad, Reply, Shop,
        ShopId,
    };
    let t0 = 1_795_363_200_000 + 3_600_000;
    let mut shop = Shop::new(ShopId::parse("cli").unwrap());
    shop.keep_day_log();
    let mut rng = <rand::rngs::SmallRng as rand::SeedableRng>::seed_from_u64(1);
    let mut lines = Vec::new();
    let mut run = |shop: &mut Shop, cmd: Command, at: i64| {
        let (reply, fx) = shop.handle(cmd, at, &mut rng).unwrap();
        lines.extend(fx.facts.iter().map(|f| serde_json::to_string(f).unwrap()));
        reply
    };
    for a in ["a", "b"] {
        let agent = AgentId::parse(a).unwrap();
        let upsert = Command::UpsertAgent {
            agent: agent.clone(),
            display_name: None,
            weight: None,
            groups: None,
        };
        run(&mut shop, upsert, t0);
        run(
            &mut shop,
            Command::SetMaxLoad(agent.clone(), MaxLoad::new(2).unwrap()),
            t0,
        );
        run(
            &mut shop,
            Command::SetStatus(agent, AgentStatus::Online),
            t0,
        );
    }
    let mut ids = Vec::new();
    for i in 0..6i64 {
        let inquiry = Inquiry {
            buyer_id: BuyerId::parse(&format!("buyer{i}")).unwrap(),
            entry: Entry::DirectMessage,
            question: None,
            order_state: None,
            product_id: None,
            intent: None,
            priority: Default::default(),
        };
        if let Reply::Conversation { id, .. } =
            run(&mut shop, Command::Inquire(inquiry), t0 + i * 1000)
        {
            ids.push(id);
        }
    }
    for (i, id) in ids.iter().enumerate() {
        let at = t0 + 60_000 * (i as i64 + 1);
        run(&mut shop, Command::End(*id, EndReason::Agent), at);
    }
    lines.join("\n") + "\n"
}

#[test]
fn sim_replays_an_export_under_each_variant_beside_the_record() {
    // Arrange
    let dir = std::env::temp_dir().join(format!("fenliu-replay-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let export = dir.join("day.jsonl");
    std::fs::write(&export, small_export()).unwrap();
    let open = dir.join("open.json");
    std::fs::write(&open, r#"{"queue": {"enabled": false}}"#).unwrap();
    let same = dir.join("same.json");
    std::fs::write(&same, "{}").unwrap();
    let charts = dir.join("charts");
    let (export, open, same, charts_arg) = (
        export.to_string_lossy().into_owned(),
        open.to_string_lossy().into_owned(),
        same.to_string_lossy().into_owned(),
        charts.to_string_lossy().into_owned(),
    );

    // Act
    let out = fenliu_sim(&[
        "--replay",
        &export,
        "--variant",
        &same,
        "--variant",
        &open,
        "--json",
        "--svg",
        &charts_arg,
    ]);

    // Assert
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["recorded"]["name"], "recorded");
    assert_eq!(report["recorded"]["inquiries"], 6);
    assert_eq!(report["recorded"]["queued"], 2);
    let variants = report["variants"].as_array().unwrap();
    let names: Vec<&str> = variants
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["same", "open"]);
    assert_eq!(variants[0]["queued"], 2);
    assert_eq!(variants[1]["queued"], 0);
    assert_eq!(variants[1]["assigned_at_once"], 6);
    for chart in [
        "queue.svg",
        "saturation-a.svg",
        "saturation-b.svg",
        "waits.svg",
    ] {
        assert!(charts.join(chart).is_file(), "{chart}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sim_wants_a_scenario_or_a_replay_and_a_replay_wants_a_variant() {
    let out = fenliu_sim(&[]);
    assert!(!out.status.success());
    let out = fenliu_sim(&["--replay", "day.jsonl"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--variant"));
    let out = fenliu_sim(&[
        "examples/sim/shifts.toml",
        "--replay",
        "day.jsonl",
        "--variant",
        "v.json",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
}

#[test]
fn sim_refuses_an_export_line_naming_its_number() {
    let file = std::env::temp_dir().join(format!("fenliu-replay-bad-{}.jsonl", std::process::id()));
    let mut text = small_export();
    text.push_str("{\"at\": 5, \"kind\": \"teleport\"}\n");
    let lines = text.lines().count();
    std::fs::write(&file, text).unwrap();
    let variant = file.with_extension("json");
    std::fs::write(&variant, "{}").unwrap();
    let out = fenliu_sim(&[
        "--replay",
        &file.to_string_lossy(),
        "--variant",
        &variant.to_string_lossy(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("line {lines}: ")), "{stderr}");
    assert!(stderr.contains("teleport"), "{stderr}");
    std::fs::remove_file(&file).unwrap();
    std::fs::remove_file(&variant).unwrap();
}
