//! Runs as a whole: one seed gives the same report byte for byte, and the
//! variants share their buyers (common random numbers).

use std::path::{Path, PathBuf};

use fenliu_sim::{simulate, Scenario};

fn shifts() -> Scenario {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/sim/shifts.toml");
    Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn one_seed_gives_byte_identical_text_and_json() {
    // Arrange
    let sc = shifts();

    // Act
    let first = simulate(&sc, 7, &mut || {}).report;
    let second = simulate(&sc, 7, &mut || {}).report;
    let other = simulate(&sc, 8, &mut || {}).report;

    // Assert
    assert_eq!(first.to_text(), second.to_text());
    assert_eq!(first.to_json(), second.to_json());
    assert_ne!(first.to_json(), other.to_json(), "the seed must matter");
}

#[test]
fn a_variant_figures_do_not_depend_on_the_other_variants() {
    // Arrange: the same variants in the other order, and the first beside
    // itself instead of the second.
    let sc = shifts();
    let mut swapped = sc.clone();
    swapped.variants.reverse();
    let mut with_other = sc.clone();
    with_other.variants[1] = with_other.variants[0].clone();
    with_other.variants[1].name = "even again".into();

    // Act
    let report = simulate(&sc, sc.seed, &mut || {}).report;
    let swapped = simulate(&swapped, sc.seed, &mut || {}).report;
    let with_other = simulate(&with_other, sc.seed, &mut || {}).report;

    // Assert
    let n = report.variants.len();
    for (i, v) in report.variants.iter().enumerate() {
        assert_eq!(
            v,
            &swapped.variants[n - 1 - i],
            "{} in the other order",
            v.name
        );
    }
    assert_eq!(report.variants[0], with_other.variants[0]);
    let mut again = with_other.variants[1].clone();
    again.name = "even".into();
    assert_eq!(
        again, report.variants[0],
        "the same settings give the same day"
    );
}

#[test]
fn every_variant_sees_the_same_first_visits() {
    // Arrange
    let sc = shifts();

    // Act
    let outcome = simulate(&sc, sc.seed, &mut || {});

    // Assert: inquiries differ between variants only by returns, which
    // follow each variant's ends.
    for v in &outcome.report.variants {
        assert_eq!(
            (v.inquiries - v.returns) as usize,
            outcome.report.buyers,
            "{}",
            v.name
        );
        assert!(
            v.returns > 0,
            "{}: the example has returning buyers",
            v.name
        );
    }
}

#[test]
fn charts_are_written_one_file_per_chart() {
    // Arrange
    let sc = shifts();
    let outcome = simulate(&sc, sc.seed, &mut || {});
    let dir = std::env::temp_dir().join(format!("fenliu-sim-charts-{}", std::process::id()));

    // Act
    let files = fenliu_sim::charts::write(&dir, &sc, &outcome).unwrap();

    // Assert
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "queue.svg",
            "saturation-A.svg",
            "saturation-B.svg",
            "waits.svg"
        ]
    );
    for file in &files {
        let svg = std::fs::read_to_string(file).unwrap();
        assert!(svg.starts_with("<svg"), "{}", file.display());
        for v in &sc.variants {
            assert!(svg.contains(&v.name), "{} names {}", file.display(), v.name);
        }
    }
    std::fs::remove_dir_all(Path::new(&dir)).unwrap();
}
