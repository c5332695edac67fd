//! `fenliu sim`, run as a user would: the report on stdout, the charts in a
//! folder, a bad scenario refused with its file and field.

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
